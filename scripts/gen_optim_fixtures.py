#!/usr/bin/env python3
"""Regenerate the PyTorch reference fixtures for gradscope's `optim` module.

Usage (a dev tool; tests only read the JSON, CI has no torch):

    python-with-torch scripts/gen_optim_fixtures.py

Writes, into crates/gradscope/tests/fixtures/:

    optim_sgd.json, optim_adam.json, optim_rmsprop.json, optim_adagrad.json
        fixed initial parameters, a fixed gradient sequence and a per-step learning-rate
        sequence shared by every case; per case the gradscope config (the serde/TOML shape,
        `kind` tag included), the parameter values after each step and the final optimizer
        state (PyTorch's buffer names, keyed "{index}.{buffer}").
    optim_schedules.json
        per case the gradscope schedule config, the base rate, the metrics (plateau) and the
        learning rate at t = 0 .. n (PyTorch `get_last_lr()` / `param_groups[0]["lr"]`).
    optim_clip.json
        gradients of three parameters and the results of clip_grad_norm_ (returned total
        norm and clipped gradients) and clip_grad_value_.

Everything is float64. Inputs (initial values, gradients, thresholds) are short decimals so
that every JSON parser reads them exactly; outputs are printed with Python's shortest
round-trip repr. The `l1` option is not a PyTorch feature: its cases add l1*sign(theta) to
the gradient by hand before calling the PyTorch optimizer, which is exactly gradscope's
definition. Optimizers run with foreach=False (the single-tensor reference loop).
"""

from __future__ import annotations

import json
import math
import os
import sys

import numpy as np
import torch

torch.set_default_dtype(torch.float64)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "crates", "gradscope", "tests", "fixtures")

# ---------------------------------------------------------------------------------------------
# Optimizers

PARAMS = [
    # name, shape, initial value (row-major); includes a 0.0 (sign = 0) and values near 0
    ("0.weight", [2, 2], [0.5, -1.25, 0.0, 0.03]),
    ("0.bias", [2], [-0.02, 2.0]),
]
STEPS = 5
LRS = [0.1, 0.1, 0.05, 0.05, 0.02]


def make_grads():
    rng = np.random.default_rng(20240601)
    out = []
    for t in range(STEPS):
        step = []
        for _, shape, _ in PARAMS:
            n = int(np.prod(shape))
            g = np.round(rng.normal(size=n) * 0.8, 3)
            step.append([float(x) for x in g])
        out.append(step)
    # a few structured entries: a zero gradient, a large one, a tiny one, a sign flip
    out[0][0][1] = 0.0
    out[1][1][0] = 4.5
    out[2][0][3] = 0.001
    out[3][0][2] = -out[2][0][2]
    return out


GRADS = make_grads()

OPTIMIZER_CASES = {
    "optim_sgd.json": [
        ("sgd_plain", {"kind": "sgd"}),
        ("sgd_momentum", {"kind": "sgd", "momentum": 0.9}),
        ("sgd_nesterov", {"kind": "sgd", "momentum": 0.9, "nesterov": True}),
        ("sgd_dampening", {"kind": "sgd", "momentum": 0.8, "dampening": 0.5}),
        ("sgd_weight_decay", {"kind": "sgd", "momentum": 0.9, "weight_decay": 0.01}),
        ("sgd_l1", {"kind": "sgd", "momentum": 0.5, "weight_decay": 0.001, "l1": 0.05}),
    ],
    "optim_adam.json": [
        ("adam", {"kind": "adam"}),
        ("adam_weight_decay", {"kind": "adam", "weight_decay": 0.1}),
        ("adam_amsgrad", {"kind": "adam", "beta1": 0.8, "beta2": 0.99, "amsgrad": True}),
        ("adam_low_beta1", {"kind": "adam", "beta1": 0.3, "beta2": 0.4, "eps": 1e-3}),
        ("adamw", {"kind": "adamw"}),
        ("adamw_amsgrad", {"kind": "adamw", "weight_decay": 0.5, "amsgrad": True}),
        ("adam_l1", {"kind": "adam", "weight_decay": 0.01, "l1": 0.02}),
    ],
    "optim_rmsprop.json": [
        ("rmsprop", {"kind": "rmsprop"}),
        ("rmsprop_centered", {"kind": "rmsprop", "centered": True}),
        ("rmsprop_momentum", {"kind": "rmsprop", "momentum": 0.9}),
        (
            "rmsprop_centered_momentum_wd",
            {"kind": "rmsprop", "alpha": 0.9, "centered": True, "momentum": 0.5, "weight_decay": 0.05},
        ),
    ],
    "optim_adagrad.json": [
        ("adagrad", {"kind": "adagrad"}),
        (
            "adagrad_lr_decay",
            {"kind": "adagrad", "lr_decay": 0.1, "initial_accumulator_value": 0.1, "weight_decay": 0.01},
        ),
        ("adagrad_l1", {"kind": "adagrad", "eps": 1e-6, "l1": 0.1}),
    ],
}


def torch_optimizer(cfg, params):
    kind = cfg["kind"]
    lr = LRS[0]
    wd = cfg.get("weight_decay", 0.0)
    if kind == "sgd":
        return torch.optim.SGD(
            params,
            lr=lr,
            momentum=cfg.get("momentum", 0.0),
            dampening=cfg.get("dampening", 0.0),
            nesterov=cfg.get("nesterov", False),
            weight_decay=wd,
            foreach=False,
        )
    if kind in ("adam", "adamw"):
        cls = torch.optim.Adam if kind == "adam" else torch.optim.AdamW
        if kind == "adamw" and "weight_decay" not in cfg:
            wd = 0.01
        return cls(
            params,
            lr=lr,
            betas=(cfg.get("beta1", 0.9), cfg.get("beta2", 0.999)),
            eps=cfg.get("eps", 1e-8),
            weight_decay=wd,
            amsgrad=cfg.get("amsgrad", False),
            foreach=False,
        )
    if kind == "rmsprop":
        return torch.optim.RMSprop(
            params,
            lr=lr,
            alpha=cfg.get("alpha", 0.99),
            eps=cfg.get("eps", 1e-8),
            weight_decay=wd,
            momentum=cfg.get("momentum", 0.0),
            centered=cfg.get("centered", False),
            foreach=False,
        )
    if kind == "adagrad":
        return torch.optim.Adagrad(
            params,
            lr=lr,
            lr_decay=cfg.get("lr_decay", 0.0),
            weight_decay=wd,
            initial_accumulator_value=cfg.get("initial_accumulator_value", 0.0),
            eps=cfg.get("eps", 1e-10),
            foreach=False,
        )
    raise ValueError(kind)


def run_optimizer(cfg):
    params = [torch.tensor(v, dtype=torch.float64).reshape(shape).requires_grad_() for _, shape, v in PARAMS]
    opt = torch_optimizer(cfg, params)
    l1 = cfg.get("l1", 0.0)
    values = []
    for t in range(STEPS):
        for group in opt.param_groups:
            group["lr"] = LRS[t]
        with torch.no_grad():
            for p, g in zip(params, GRADS[t]):
                grad = torch.tensor(g, dtype=torch.float64).reshape(p.shape)
                if l1 != 0.0:
                    grad = grad + l1 * torch.sign(p)
                p.grad = grad
        opt.step()
        values.append([p.detach().reshape(-1).tolist() for p in params])
    state = {}
    for i, p in enumerate(params):
        for key, buf in opt.state[p].items():
            if key == "step" or buf is None:
                continue
            state[f"{i}.{key}"] = buf.reshape(-1).tolist()
    return values, dict(sorted(state.items()))


def optimizer_fixture(cases):
    out_cases = []
    for name, cfg in cases:
        cfg = dict(cfg)
        cfg["lr"] = LRS[0]
        values, state = run_optimizer(cfg)
        out_cases.append({"name": name, "config": cfg, "values": values, "state": state})
    return {
        "about": "torch.optim reference trajectories; regenerate with scripts/gen_optim_fixtures.py",
        "torch": torch.__version__,
        "params": [{"name": n, "shape": s, "value": v} for n, s, v in PARAMS],
        "grads": GRADS,
        "lrs": LRS,
        "cases": out_cases,
    }


# ---------------------------------------------------------------------------------------------
# Schedules


def dummy_opt(base_lr):
    p = torch.zeros(1, requires_grad=True)
    return torch.optim.SGD([p], lr=base_lr)


def record(opt, sched, n, metrics=None):
    lrs = [opt.param_groups[0]["lr"]]
    for t in range(n):
        opt.step()
        if metrics is None:
            sched.step()
        else:
            sched.step(metrics[t])
        lrs.append(float(opt.param_groups[0]["lr"]))
    return lrs


def schedule_cases():
    S = torch.optim.lr_scheduler
    cases = []

    def add(name, base_lr, config, build, n, metrics=None):
        opt = dummy_opt(base_lr)
        sched = build(opt)
        lrs = record(opt, sched, n, metrics) if sched is not None else [base_lr] * (n + 1)
        case = {"name": name, "base_lr": base_lr, "config": config, "lrs": lrs}
        if metrics is not None:
            case["metrics"] = metrics
        cases.append(case)

    add("constant", 0.1, {"kind": "constant"}, lambda o: None, 4)
    add("step", 0.1, {"kind": "step", "step_size": 3, "gamma": 0.5}, lambda o: S.StepLR(o, 3, gamma=0.5), 12)
    add("step_default_gamma", 1.0, {"kind": "step", "step_size": 2}, lambda o: S.StepLR(o, 2), 7)
    add("exponential", 0.1, {"kind": "exponential", "gamma": 0.9}, lambda o: S.ExponentialLR(o, 0.9), 10)
    add(
        "cosine",
        0.1,
        {"kind": "cosine", "t_max": 5, "eta_min": 0.001},
        lambda o: S.CosineAnnealingLR(o, T_max=5, eta_min=0.001),
        14,
    )
    add("cosine_zero_floor", 0.05, {"kind": "cosine", "t_max": 4}, lambda o: S.CosineAnnealingLR(o, T_max=4), 9)
    add(
        "warmup_constant",
        0.2,
        {"kind": "constant", "warmup": {"warmup_steps": 4, "start_factor": 0.25}},
        lambda o: S.LinearLR(o, start_factor=0.25, end_factor=1.0, total_iters=4),
        7,
    )
    add(
        "warmup_cosine",
        0.1,
        {"kind": "cosine", "t_max": 6, "warmup": {"warmup_steps": 3, "start_factor": 0.1}},
        lambda o: S.SequentialLR(
            o,
            [S.LinearLR(o, start_factor=0.1, total_iters=3), S.CosineAnnealingLR(o, T_max=6)],
            milestones=[3],
        ),
        12,
    )
    add(
        "warmup_step",
        0.4,
        {"kind": "step", "step_size": 2, "gamma": 0.5, "warmup": {"warmup_steps": 2, "start_factor": 0.5}},
        lambda o: S.SequentialLR(
            o,
            [S.LinearLR(o, start_factor=0.5, total_iters=2), S.StepLR(o, 2, gamma=0.5)],
            milestones=[2],
        ),
        9,
    )
    # a loss that improves, stalls, improves a little (below the relative threshold), stalls
    m1 = [1.0, 0.8, 0.7, 0.7, 0.71, 0.69995, 0.7, 0.6, 0.6, 0.6, 0.61, 0.6, 0.6, 0.6, 0.5, 0.5, 0.5, 0.5]
    add(
        "plateau_min_rel",
        0.1,
        {"kind": "reduce_on_plateau", "factor": 0.5, "patience": 2},
        lambda o: S.ReduceLROnPlateau(o, factor=0.5, patience=2),
        len(m1),
        m1,
    )
    # an accuracy, absolute threshold, cool-down and a floor that stops the reductions
    m2 = [0.5, 0.6, 0.605, 0.6, 0.61, 0.62, 0.62, 0.62, 0.62, 0.62, 0.62, 0.62, 0.62, 0.62, 0.62, 0.62]
    add(
        "plateau_max_abs_cooldown",
        0.1,
        {
            "kind": "reduce_on_plateau",
            "mode": "max",
            "factor": 0.2,
            "patience": 1,
            "threshold": 0.01,
            "threshold_mode": "abs",
            "cooldown": 2,
            "min_lr": 0.001,
        },
        lambda o: S.ReduceLROnPlateau(
            o, mode="max", factor=0.2, patience=1, threshold=0.01, threshold_mode="abs", cooldown=2, min_lr=0.001
        ),
        len(m2),
        m2,
    )
    # default patience (10) with a NaN-free constant metric; eps stops tiny reductions
    m3 = [1.0] * 30
    add(
        "plateau_defaults_eps",
        1e-6,
        {"kind": "reduce_on_plateau", "eps": 1e-7},
        lambda o: S.ReduceLROnPlateau(o, eps=1e-7),
        len(m3),
        m3,
    )
    return cases


# ---------------------------------------------------------------------------------------------
# Clipping

CLIP_PARAMS = [
    ("0.weight", [2, 3], [0.3, -1.2, 0.05, 2.5, 0.0, -0.7]),
    ("0.bias", [3], [0.1, -0.25, 0.4]),
    ("1.weight", [1, 3], [-3.0, 0.6, 1.5]),
]


def clip_fixture():
    def grads():
        ps = []
        for _, shape, g in CLIP_PARAMS:
            p = torch.zeros(shape, requires_grad=True)
            p.grad = torch.tensor(g).reshape(shape)
            ps.append(p)
        return ps

    def flat(ps):
        return [p.grad.reshape(-1).tolist() for p in ps]

    total = math.sqrt(sum(x * x for _, _, g in CLIP_PARAMS for x in g))
    cases = []
    for name, max_norm in [("norm_clips", 1.0), ("norm_no_clip", 100.0), ("norm_within_eps", round(total, 7) + 5e-7)]:
        ps = grads()
        norm = torch.nn.utils.clip_grad_norm_(ps, max_norm, foreach=False)
        cases.append({"name": name, "kind": "norm", "max_norm": max_norm, "total_norm": float(norm), "grads": flat(ps)})
    ps = grads()
    norms = [float(torch.nn.utils.clip_grad_norm_([p], 1.0, foreach=False)) for p in ps]
    cases.append({"name": "per_param_norm", "kind": "per_param_norm", "max_norm": 1.0, "param_norms": norms, "grads": flat(ps)})
    ps = grads()
    torch.nn.utils.clip_grad_value_(ps, 0.5, foreach=False)
    cases.append({"name": "value", "kind": "value", "clip_value": 0.5, "grads": flat(ps)})
    return {
        "about": "torch.nn.utils.clip_grad_norm_ / clip_grad_value_ references; regenerate with scripts/gen_optim_fixtures.py",
        "torch": torch.__version__,
        "params": [{"name": n, "shape": s, "grad": g} for n, s, g in CLIP_PARAMS],
        "cases": cases,
    }


# ---------------------------------------------------------------------------------------------


def dump(obj, path):
    """Compact JSON, one case per line (small files, readable diffs)."""
    head = {k: v for k, v in obj.items() if k != "cases"}
    lines = ["{"]
    for k, v in head.items():
        lines.append(f"{json.dumps(k)}:{json.dumps(v, separators=(',', ':'), allow_nan=False)},")
    lines.append('"cases":[')
    cases = obj["cases"]
    for i, c in enumerate(cases):
        sep = "," if i + 1 < len(cases) else ""
        lines.append(json.dumps(c, separators=(",", ":"), allow_nan=False) + sep)
    lines.append("]}")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    print(f"wrote {os.path.relpath(path, ROOT)} ({os.path.getsize(path)} bytes)")


def main():
    os.makedirs(OUT, exist_ok=True)
    for fname, cases in OPTIMIZER_CASES.items():
        dump(optimizer_fixture(cases), os.path.join(OUT, fname))
    dump(
        {
            "about": "torch.optim.lr_scheduler references (lr at t = 0..n); regenerate with scripts/gen_optim_fixtures.py",
            "torch": torch.__version__,
            "cases": schedule_cases(),
        },
        os.path.join(OUT, "optim_schedules.json"),
    )
    dump(clip_fixture(), os.path.join(OUT, "optim_clip.json"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
