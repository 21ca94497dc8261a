#!/usr/bin/env python3
"""Regenerate the PyTorch reference fixture for gradscope's non-finite activation policy.

Usage (a dev tool; the tests only read the JSON, CI has no torch):

    PYTHON=python-with-torch   # any Python 3 interpreter that can `import torch`
    $PYTHON scripts/gen_nan_fixtures.py

Writes crates/gradscope/tests/fixtures/nonfinite.json:

    {"torch": "<version>",
     "inputs": ["nan", "inf", "-inf", 0.0, 1.0, -1.0],
     "elementwise": [{"activation": "<gradscope text form>", "torch": "<module>",
                      "f64": {"f": [...], "df": [...]},
                      "f32": {"f": [...], "df": [...]}}, ...],
     "rowwise": [{"activation": "softmax" | "log_softmax", "torch": "<module>",
                  "rows": [{"x": [...],
                            "f64": {"y": [...], "grad_ones": [...], "grad_e0": [...]},
                            "f32": {...}}, ...]}]}

For each element-wise activation, `f` is the module's output at each input and `df` the
gradient that backward gives with upstream gradient 1 (autograd, `y.backward(ones)`).

For softmax and log-softmax (dim = 1, one row at a time), each row is evaluated with two
upstream gradients: all ones (`grad_ones`, the tensor backward) and e0 = (1, 0, ..., 0)
(`grad_e0`, i.e. d y0 / d x: for the two-logit row [x, 0] this is gradscope's scalar
derivative of the scalar view `softmax([x, 0])_0`).

Non-finite numbers are written as the strings "nan", "inf", "-inf" (JSON has no NaN);
finite ones with Python's shortest round-trip repr. f32 values are the f32 results widened
exactly to f64.

Each element-wise input is evaluated both alone and tiled to a 67-element tensor (so that
PyTorch's vectorized and scalar tail loops are both used); the script stops if they
disagree, since the fixture would then depend on the tensor's length.
"""

from __future__ import annotations

import json
import math
import os

import torch
import torch.nn as nn

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "crates", "gradscope", "tests", "fixtures", "nonfinite.json")

INPUTS = [math.nan, math.inf, -math.inf, 0.0, 1.0, -1.0]
TILE = 67


def prelu(weight: float):
    m = nn.PReLU(num_parameters=1, init=weight)
    # nn.PReLU stores `init` as float32; to_dtype() sets it again in the run's dtype.
    m.gradscope_init = weight
    return m


def rrelu_eval(lower: float, upper: float):
    m = nn.RReLU(lower=lower, upper=upper)
    m.eval()
    return m


# (gradscope text form, description of the torch module, module factory)
ELEMENTWISE = [
    ("identity", "nn.Identity()", lambda: nn.Identity()),
    ("sigmoid", "nn.Sigmoid()", lambda: nn.Sigmoid()),
    ("tanh", "nn.Tanh()", lambda: nn.Tanh()),
    ("relu", "nn.ReLU()", lambda: nn.ReLU()),
    ("leaky_relu", "nn.LeakyReLU(0.01)", lambda: nn.LeakyReLU(0.01)),
    ("leaky_relu(slope=0.2)", "nn.LeakyReLU(0.2)", lambda: nn.LeakyReLU(0.2)),
    ("prelu", "nn.PReLU(init=0.25)", lambda: prelu(0.25)),
    ("prelu(init=0.1)", "nn.PReLU(init=0.1)", lambda: prelu(0.1)),
    ("rrelu", "nn.RReLU(1/8, 1/3).eval()", lambda: rrelu_eval(0.125, 1.0 / 3.0)),
    ("elu", "nn.ELU(1.0)", lambda: nn.ELU(1.0)),
    ("elu(alpha=0.5)", "nn.ELU(0.5)", lambda: nn.ELU(0.5)),
    ("selu", "nn.SELU()", lambda: nn.SELU()),
    ("silu", "nn.SiLU()", lambda: nn.SiLU()),
    ("swish", "nn.SiLU() (swish with beta = 1)", lambda: nn.SiLU()),
    ("gelu", "nn.GELU(approximate='none')", lambda: nn.GELU(approximate="none")),
    ("gelu_tanh", "nn.GELU(approximate='tanh')", lambda: nn.GELU(approximate="tanh")),
    ("softplus", "nn.Softplus(1, 20)", lambda: nn.Softplus(beta=1.0, threshold=20.0)),
    (
        "softplus(beta=2, threshold=20)",
        "nn.Softplus(2, 20)",
        lambda: nn.Softplus(beta=2.0, threshold=20.0),
    ),
    ("softsign", "nn.Softsign()", lambda: nn.Softsign()),
    ("mish", "nn.Mish()", lambda: nn.Mish()),
    ("hard_sigmoid", "nn.Hardsigmoid()", lambda: nn.Hardsigmoid()),
    ("hard_swish", "nn.Hardswish()", lambda: nn.Hardswish()),
    ("hard_tanh", "nn.Hardtanh(-1, 1)", lambda: nn.Hardtanh(-1.0, 1.0)),
    ("hard_tanh(min=-2, max=0.5)", "nn.Hardtanh(-2, 0.5)", lambda: nn.Hardtanh(-2.0, 0.5)),
]

ROWWISE = [
    ("softmax", "nn.Softmax(dim=1)", lambda: nn.Softmax(dim=1)),
    ("log_softmax", "nn.LogSoftmax(dim=1)", lambda: nn.LogSoftmax(dim=1)),
]

# The two-logit rows [x, 0] of the scalar view, then rows mixing non-finite values.
ROWS = [[x, 0.0] for x in INPUTS] + [
    [1.0, 0.0, -1.0],
    [math.nan, 1.0, 0.0],
    [math.inf, 1.0, 0.0],
    [-math.inf, 1.0, 0.0],
    [math.inf, math.inf, 0.0],
    [-math.inf, -math.inf],
    [math.inf, -math.inf, 1.0],
]


def enc(v: float):
    if math.isnan(v):
        return "nan"
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    return float(v)


def same(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == b


def to_dtype(module, dtype):
    module = module.to(dtype)
    if hasattr(module, "gradscope_init"):
        with torch.no_grad():
            module.weight.fill_(module.gradscope_init)
    return module


def elementwise_values(factory, dtype, xs):
    module = to_dtype(factory(), dtype)
    x = torch.tensor(xs, dtype=dtype, requires_grad=True)
    y = module(x)
    y.backward(torch.ones_like(y))
    return [float(v) for v in y.detach()], [float(v) for v in x.grad]


def elementwise_case(name, desc, factory):
    case = {"activation": name, "torch": desc}
    for dtype, key in [(torch.float64, "f64"), (torch.float32, "f32")]:
        f, df = elementwise_values(factory, dtype, INPUTS)
        # Each input alone and tiled: PyTorch's scalar loop and its vectorized loop. Where
        # they disagree, both answers are recorded under "paths_differ".
        differ = []
        for i, x in enumerate(INPUTS):
            seen = [(f[i], df[i])]
            for xs in ([x], [x] * TILE):
                f1, df1 = elementwise_values(factory, dtype, xs)
                for a, b in zip(f1, df1):
                    if not any(same(a, p) and same(b, q) for p, q in seen):
                        seen.append((a, b))
            if len(seen) > 1:
                differ.append(
                    {"input": enc(x), "f": [enc(p) for p, _ in seen], "df": [enc(q) for _, q in seen]}
                )
        case[key] = {"f": [enc(v) for v in f], "df": [enc(v) for v in df]}
        if differ:
            case[key]["paths_differ"] = differ
    return case


def row_values(factory, dtype, row, upstream):
    module = to_dtype(factory(), dtype)
    x = torch.tensor([row], dtype=dtype, requires_grad=True)
    y = module(x)
    y.backward(torch.tensor([upstream], dtype=dtype))
    return [float(v) for v in y.detach()[0]], [float(v) for v in x.grad[0]]


def rowwise_case(name, desc, factory):
    rows = []
    for row in ROWS:
        r = {"x": [enc(v) for v in row]}
        for dtype, key in [(torch.float64, "f64"), (torch.float32, "f32")]:
            ones = [1.0] * len(row)
            e0 = [1.0] + [0.0] * (len(row) - 1)
            y, g1 = row_values(factory, dtype, row, ones)
            _, ge0 = row_values(factory, dtype, row, e0)
            r[key] = {
                "y": [enc(v) for v in y],
                "grad_ones": [enc(v) for v in g1],
                "grad_e0": [enc(v) for v in ge0],
            }
        rows.append(r)
    return {"activation": name, "torch": desc, "rows": rows}


def main():
    torch.set_num_threads(1)
    fixture = {
        "torch": torch.__version__,
        "inputs": [enc(v) for v in INPUTS],
        "elementwise": [elementwise_case(*c) for c in ELEMENTWISE],
        "rowwise": [rowwise_case(*c) for c in ROWWISE],
    }
    lines = ["{"]
    lines.append(f'"torch":{json.dumps(fixture["torch"])},')
    lines.append(f'"inputs":{json.dumps(fixture["inputs"], allow_nan=False)},')
    lines.append('"elementwise":[')
    for i, c in enumerate(fixture["elementwise"]):
        sep = "," if i + 1 < len(fixture["elementwise"]) else ""
        lines.append(json.dumps(c, separators=(",", ":"), allow_nan=False) + sep)
    lines.append("],")
    lines.append('"rowwise":[')
    for i, c in enumerate(fixture["rowwise"]):
        sep = "," if i + 1 < len(fixture["rowwise"]) else ""
        lines.append(json.dumps(c, separators=(",", ":"), allow_nan=False) + sep)
    lines.append("]")
    lines.append("}")
    with open(OUT, "w") as fh:
        fh.write("\n".join(lines) + "\n")
    print(f"wrote {os.path.relpath(OUT, ROOT)}")


if __name__ == "__main__":
    main()
