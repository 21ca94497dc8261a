#!/usr/bin/env python3
"""Scaling curves: ms/step and peak memory of gradscope and PyTorch against one size at a time.

Usage: PYTHON=python-with-torch; $PYTHON bench/scaling.py [--out DIR] [--rounds N] [--quick]
       [--gradscope PATH] [--force]

Four sweeps around W1 (depth x (Linear width->width + tanh), batch; base 256 x 10 x 128) and W4
(LSTM, H, T, batch; base 128 x 100 x 32):
  width 64..2048 (MLP), depth 2..100 (MLP), batch 1..1024 (MLP), T 10..1000 (LSTM).
Every point runs `gradscope bench --json --mlp/--lstm SIZE` and `bench/pytorch_ref.py --json
--mlp/--lstm SIZE` in their own processes, one right after the other (interleaved, so both see
the same machine load); the peak resident memory of each process is read from os.wait4. The
steps per timed block shrink with the size (estimated from the FLOPs) to keep the sweep at a
few minutes. Writes DIR/scaling.csv and DIR/scaling.svg (ms/step, ratio gradscope / PyTorch and
peak RSS against each size, log x) and prints the crossovers (where the ratio crosses 1).
Run from anywhere; builds nothing (build `gradscope` in release first, or pass --gradscope).
"""
import argparse
import json
import math
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

MLP_BASE = (256, 10, 128)  # width, depth, batch (W1)
LSTM_BASE = (128, 100, 32)  # H, T, batch (W4)
SWEEPS = [
    ("width", "mlp", [64, 128, 256, 512, 1024, 2048]),
    ("depth", "mlp", [2, 5, 10, 20, 50, 100]),
    ("batch", "mlp", [1, 4, 16, 64, 256, 1024]),
    ("T", "lstm", [10, 30, 100, 300, 1000]),
]
QUICK = {"width": [64, 512], "depth": [2, 20], "batch": [1, 256], "T": [10, 100]}


def size_of(axis, kind, value):
    if kind == "mlp":
        w, d, b = MLP_BASE
        w, d, b = {"width": (value, d, b), "depth": (w, value, b), "batch": (w, d, value)}[axis]
        return (w, d, b), 2.0 * b * w * w * (3 * d - 1)
    h, t, b = LSTM_BASE
    h, t, b = {"T": (h, value, b)}[axis]
    return (h, t, b), 2.0 * b * h * 4 * h * 5 * t


def steps_for(flops):
    """Steps per timed block: about 0.05 s of work at ~50 GFLOP/s, between 1 and 50."""
    step_s = flops / 50e9 + 2e-4
    steps = max(1, min(50, round(0.05 / step_s)))
    return steps, max(1, steps // 5)


def run_rss(cmd):
    """Runs cmd, returns (stdout, peak RSS in MB) from os.wait4 of that one process."""
    r, w = os.pipe()
    e_r, e_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.dup2(w, 1)
        os.dup2(e_w, 2)
        os.close(r)
        os.close(e_r)
        try:
            os.execvp(cmd[0], cmd)
        finally:
            os._exit(127)
    os.close(w)
    os.close(e_w)
    with os.fdopen(r) as f:
        out = f.read()
    with os.fdopen(e_r) as f:
        err = f.read()
    _, status, usage = os.wait4(pid, 0)
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        sys.exit(f"scaling.py: {' '.join(cmd)} failed ({code}):\n{err}")
    rec = json.loads(out.strip().splitlines()[-1])
    return rec["ms_per_step"], usage.ru_maxrss / 1024.0  # Linux: KiB


def crossovers(xs, ratios):
    """x values (log-interpolated) where the ratio crosses 1."""
    out = []
    for (x0, r0), (x1, r1) in zip(zip(xs, ratios), zip(xs[1:], ratios[1:])):
        if (r0 - 1) * (r1 - 1) < 0:
            f = math.log(r0) / (math.log(r0) - math.log(r1))
            out.append(math.exp(math.log(x0) + f * (math.log(x1) - math.log(x0))))
    return out


# --- plain SVG -------------------------------------------------------------------------------
COLORS = {"gradscope": "#d62728", "pytorch": "#1f77b4", "ratio": "#2ca02c"}


def panel(x0, y0, w, h, xs, series, title, ylabel, logy, ref=None):
    """One chart at (x0, y0) of size w x h: log x; series = [(name, ys, color)]."""
    parts = []
    allys = [y for _, ys, _ in series for y in ys] + ([ref] if ref else [])
    lo, hi = min(allys), max(allys)
    if logy:
        lo, hi = math.log10(lo), math.log10(hi)
    pad = (hi - lo) * 0.08 or 0.5
    lo, hi = lo - pad, hi + pad
    lx0, lx1 = math.log10(xs[0]), math.log10(xs[-1])

    def px(x):
        return x0 + (math.log10(x) - lx0) / (lx1 - lx0) * w

    def py(y):
        v = math.log10(y) if logy else y
        return y0 + h - (v - lo) / (hi - lo) * h

    parts.append(f'<rect x="{x0}" y="{y0}" width="{w}" height="{h}" fill="none" stroke="#888"/>')
    parts.append(f'<text x="{x0 + w / 2}" y="{y0 - 8}" text-anchor="middle" font-size="13">{title}</text>')
    parts.append(f'<text x="{x0 - 42}" y="{y0 + h / 2}" font-size="11" text-anchor="middle" '
                 f'transform="rotate(-90 {x0 - 42} {y0 + h / 2})">{ylabel}</text>')
    for x in xs:
        parts.append(f'<line x1="{px(x):.1f}" y1="{y0 + h}" x2="{px(x):.1f}" y2="{y0 + h + 4}" stroke="#888"/>')
        parts.append(f'<text x="{px(x):.1f}" y="{y0 + h + 16}" font-size="10" text-anchor="middle">{x}</text>')
    if logy:
        ticks = [10 ** k for k in range(math.floor(lo), math.ceil(hi) + 1) if lo <= k <= hi]
    else:
        step = 10 ** math.floor(math.log10(max(hi - lo, 1e-9))) / 2
        ticks = [k * step for k in range(math.ceil(lo / step), math.floor(hi / step) + 1)]
    for t in ticks:
        parts.append(f'<line x1="{x0}" y1="{py(t):.1f}" x2="{x0 + w}" y2="{py(t):.1f}" stroke="#eee"/>')
        parts.append(f'<text x="{x0 - 4}" y="{py(t) + 3:.1f}" font-size="10" text-anchor="end">{t:g}</text>')
    if ref is not None:
        parts.append(f'<line x1="{x0}" y1="{py(ref):.1f}" x2="{x0 + w}" y2="{py(ref):.1f}" '
                     f'stroke="#444" stroke-dasharray="4 3"/>')
    for name, ys, color in series:
        pts = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in zip(xs, ys))
        parts.append(f'<polyline points="{pts}" fill="none" stroke="{color}" stroke-width="2"/>')
        for x, y in zip(xs, ys):
            parts.append(f'<circle cx="{px(x):.1f}" cy="{py(y):.1f}" r="3" fill="{color}"/>')
    return parts


def svg(rows, title):
    axes = [a for a, _, _ in SWEEPS if any(r["axis"] == a for r in rows)]
    pw, ph, mx, my = 230, 150, 75, 55
    width = mx + len(axes) * (pw + mx)
    height = 70 + 3 * (ph + my) + 20
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'font-family="sans-serif">', f'<rect width="100%" height="100%" fill="white"/>',
             f'<text x="{width / 2}" y="20" text-anchor="middle" font-size="15">{title}</text>',
             f'<text x="{mx}" y="40" font-size="12" fill="{COLORS["gradscope"]}">— gradscope</text>',
             f'<text x="{mx + 110}" y="40" font-size="12" fill="{COLORS["pytorch"]}">— PyTorch</text>',
             f'<text x="{mx + 200}" y="40" font-size="12" fill="{COLORS["ratio"]}">— ratio gradscope / PyTorch '
             f'(below 1: gradscope faster / smaller)</text>']
    for i, axis in enumerate(axes):
        pts = [r for r in rows if r["axis"] == axis]
        kind = pts[0]["kind"]
        base = "x".join(map(str, MLP_BASE if kind == "mlp" else LSTM_BASE))
        label = (f"MLP {axis} (base WxDxB {base})" if kind == "mlp"
                 else f"LSTM {axis} (base HxTxB {base})")
        xs = [r["value"] for r in pts]
        x0 = mx + i * (pw + mx)
        g = [r["gradscope_ms"] for r in pts]
        p = [r["pytorch_ms"] for r in pts]
        parts += panel(x0, 75, pw, ph, xs, [("gradscope", g, COLORS["gradscope"]),
                                            ("pytorch", p, COLORS["pytorch"])],
                       label, "ms/step", True)
        parts += panel(x0, 75 + ph + my, pw, ph, xs,
                       [("ratio", [a / b for a, b in zip(g, p)], COLORS["ratio"])],
                       f"time ratio vs {axis}", "ratio (time)", False, ref=1.0)
        parts += panel(x0, 75 + 2 * (ph + my), pw, ph, xs,
                       [("gradscope", [r["gradscope_rss_mb"] for r in pts], COLORS["gradscope"]),
                        ("pytorch", [r["pytorch_rss_mb"] for r in pts], COLORS["pytorch"])],
                       f"peak RSS vs {axis}", "peak RSS (MB)", True)
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def write_atomic(path, text, force):
    if os.path.exists(path) and not force:
        sys.exit(f"scaling.py: {path} exists (pass --force to replace it)")
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="scaling-out", help="directory for scaling.csv and scaling.svg")
    ap.add_argument("--rounds", type=int, default=1, help="runs of each side per point (best kept)")
    ap.add_argument("--quick", action="store_true", help="two points per axis (a smoke test)")
    ap.add_argument("--gradscope", default=None,
                    help="the gradscope binary (default: $CARGO_TARGET_DIR or target, release)")
    ap.add_argument("--force", action="store_true", help="replace existing output files")
    args = ap.parse_args()
    if args.rounds < 1:
        sys.exit("--rounds must be >= 1")
    gs = args.gradscope or os.path.join(os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target")),
                                        "release", "gradscope")
    if not os.access(gs, os.X_OK):
        sys.exit(f"scaling.py: no gradscope binary at {gs} (cargo build --release -p gradscope-cli, "
                 "or --gradscope PATH)")
    ref = os.path.join(ROOT, "bench", "pytorch_ref.py")
    os.makedirs(args.out, exist_ok=True)
    rows = []
    for axis, kind, values in SWEEPS:
        for value in QUICK[axis] if args.quick else values:
            size, flops = size_of(axis, kind, value)
            steps, warmup = steps_for(flops)
            spec = "x".join(map(str, size))
            common = ["--json", f"--{kind}", spec, "--steps", str(steps), "--warmup", str(warmup)]
            best = {}
            for _ in range(args.rounds):
                for side, cmd in (("gradscope", [gs, "bench"] + common),
                                  ("pytorch", [sys.executable, ref] + common)):
                    ms, rss = run_rss(cmd)
                    old = best.get(side)
                    best[side] = (min(ms, old[0]), max(rss, old[1])) if old else (ms, rss)
            row = {"axis": axis, "kind": kind, "value": value, "size": spec, "steps": steps,
                   "gradscope_ms": best["gradscope"][0], "pytorch_ms": best["pytorch"][0],
                   "ratio": best["gradscope"][0] / best["pytorch"][0],
                   "gradscope_rss_mb": best["gradscope"][1], "pytorch_rss_mb": best["pytorch"][1],
                   "gradscope_gflops": flops / best["gradscope"][0] / 1e6,
                   "pytorch_gflops": flops / best["pytorch"][0] / 1e6}
            rows.append(row)
            print(f"{axis:5} {kind:4} {spec:>14}  gradscope {row['gradscope_ms']:9.3f} ms "
                  f"({row['gradscope_rss_mb']:6.0f} MB)  PyTorch {row['pytorch_ms']:9.3f} ms "
                  f"({row['pytorch_rss_mb']:6.0f} MB)  ratio {row['ratio']:5.2f}", flush=True)
    fields = list(rows[0])
    lines = [",".join(fields)] + [",".join(f"{r[k]:.4g}" if isinstance(r[k], float) else str(r[k])
                                           for k in fields) for r in rows]
    write_atomic(os.path.join(args.out, "scaling.csv"), "\n".join(lines) + "\n", args.force)
    load = os.getloadavg()[0]
    write_atomic(os.path.join(args.out, "scaling.svg"),
                 svg(rows, f"gradscope vs PyTorch eager, f32, {os.cpu_count()} threads "
                           f"(load average at the end {load:.1f})"), args.force)
    for axis, _, _ in SWEEPS:
        pts = [r for r in rows if r["axis"] == axis]
        if not pts:
            continue
        xs = [r["value"] for r in pts]
        c = crossovers(xs, [r["ratio"] for r in pts])
        m = crossovers(xs, [r["gradscope_rss_mb"] / r["pytorch_rss_mb"] for r in pts])
        print(f"{axis}: time ratio crosses 1 at {', '.join(f'{x:.3g}' for x in c) or 'none'}; "
              f"peak-RSS ratio crosses 1 at {', '.join(f'{x:.3g}' for x in m) or 'none'}")
    print(f"wrote {args.out}/scaling.csv and {args.out}/scaling.svg")


if __name__ == "__main__":
    main()
