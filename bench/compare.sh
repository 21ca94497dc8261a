#!/usr/bin/env bash
# Runs `gradscope bench` and the PyTorch eager reference (bench/pytorch_ref.py) on the same
# machine, one after the other, twice each (interleaved), and prints the ratios
# gradscope ms/step ÷ PyTorch ms/step (below 1.0 = gradscope is faster).
#
# Usage: bench/compare.sh [W1,W2,...]      PYTHON=python-with-torch overrides the interpreter
#                                          (default: python3).
# ROUNDS=n (default 2) interleaved rounds. BASELINE=path/to/an/older/gradscope adds that binary to
# every round (before/after a change, on the same machine in the same run) and a column of its
# ratios; build it first, e.g. `git worktree add /tmp/old REV && cargo build --release` there.
set -euo pipefail
cd "$(dirname "$0")/.."
only="${1:-W1,W2,W3,W4,W5,W6,W7}"
python="${PYTHON:-python3}"
if ! "$python" -c 'import torch' 2>/dev/null; then
    echo "compare.sh: $python cannot import torch (pip install torch, or set PYTHON=...)" >&2
    exit 2
fi
cargo build --release -q -p gradscope-cli
bin="${CARGO_TARGET_DIR:-target}/release/gradscope"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for _ in $(seq "${ROUNDS:-2}"); do
    "$bin" bench --json --only "$only" >> "$tmp/gradscope.jsonl"
    "$python" bench/pytorch_ref.py --json --only "$only" >> "$tmp/pytorch.jsonl"
    if [ -n "${BASELINE:-}" ]; then
        "$BASELINE" bench --json --only "$only" >> "$tmp/baseline.jsonl"
    fi
done
"$python" - "$tmp" <<'PY'
import json, sys, platform, os
d = sys.argv[1]
def best(path):
    out = {}
    for line in open(path):
        r = json.loads(line)
        w = r["workload"]
        if w not in out or r["ms_per_step"] < out[w]["ms_per_step"]:
            out[w] = r
    return out
g, p = best(f"{d}/gradscope.jsonl"), best(f"{d}/pytorch.jsonl")
print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores; "
      f"PyTorch {next(iter(p.values()))['version']} ({next(iter(p.values()))['threads']} threads)")
b = best(f"{d}/baseline.jsonl") if os.path.exists(f"{d}/baseline.jsonl") else None
extra = f" {'baseline ms':>12} {'ratio':>7}" if b else ""
print(f"{'workload':8} {'gradscope ms':>13} {'PyTorch ms':>11} {'ratio':>7}{extra}  description")
for w in g:
    r = g[w]["ms_per_step"] / p[w]["ms_per_step"]
    extra = ""
    if b and w in b:
        extra = f" {b[w]['ms_per_step']:12.3f} {b[w]['ms_per_step'] / p[w]['ms_per_step']:7.2f}"
    print(f"{w:8} {g[w]['ms_per_step']:13.3f} {p[w]['ms_per_step']:11.3f} {r:7.2f}{extra}  {g[w]['description']}")
PY
