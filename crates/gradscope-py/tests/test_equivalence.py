"""Equivalence: the same network in gradscope (TOML, trained a few steps by `gradscope train`,
weights exported to model.safetensors) and in PyTorch (those weights loaded with
load_state_dict) gives the same per-layer records on the same batch — gradscope's own probe
(`gradscope grads --records`) against gradscope.torch's hooks — within f32 rounding, and the
same verdict. Needs torch and the `gradscope` command (GRADSCOPE=path or on PATH)."""

import json
import struct
import subprocess

import numpy as np
import pytest

from conftest import HAVE_TORCH, gradscope_cli, needs_torch

pytestmark = [
    needs_torch,
    pytest.mark.skipif(
        gradscope_cli() is None,
        reason="the gradscope command is not found: set GRADSCOPE=path/to/gradscope",
    ),
]

if HAVE_TORCH:
    import torch
    from torch import nn

    import gradscope
    import gradscope.torch as gt

_DT = {"F32": np.float32, "F64": np.float64, "I64": np.int64}


def read_safetensors(path):
    """A safetensors file as {name: numpy array} (the format: u64 header size, JSON header,
    raw little-endian data)."""
    raw = open(path, "rb").read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + n])
    data = raw[8 + n :]
    out = {}
    for name, h in header.items():
        if name == "__metadata__":
            continue
        a, b = h["data_offsets"]
        out[name] = np.frombuffer(data[a:b], dtype=_DT[h["dtype"]]).reshape(h["shape"])
    return out


def write_safetensors(path, tensors):
    header, blobs, off = {}, [], 0
    for name, arr in tensors.items():
        arr = np.ascontiguousarray(arr)
        dt = {np.dtype(np.float32): "F32", np.dtype(np.int64): "I64"}[arr.dtype]
        b = arr.tobytes()
        header[name] = {"dtype": dt, "shape": list(arr.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


# activation, init, hidden layers, learning rate, verdict, precision of the compared pass.
# The tanh network is chaotic (σ_w² = 9): the two sides' f32 roundings (different summation
# orders) grow layer by layer, to 4e-5 of the loss at depth 30, so it is compared in f64
# (`gradscope grads --dtype f64`, `model.double()`).
CASES = {
    "sigmoid-deep": ("sigmoid", "standard", 10, 0.05, "vanishing", "f32"),
    "relu-he": ("relu", "kaiming_normal", 20, 0.05, "healthy", "f32"),
    "tanh-sigma-w2-9": ("tanh", "kaiming_normal(gain=3)", 30, 0.001, "exploding", "f64"),
}

FIELDS = [
    "grad_in_norm", "grad_in_max", "grad_out_norm", "grad_out_max", "weight_norm",
    "weight_grad_norm", "weight_grad_max", "sigma_w", "sigma_b2", "act_mean", "act_std",
    "mean_abs_derivative", "mean_sq_derivative", "saturated_fraction", "dead_fraction",
    "range_end_fraction", "update_ratio",
]


def torch_mlp(act, depth, width=64, d_in=64, d_out=10):
    layers = []
    for i in range(depth):
        layers += [nn.Linear(d_in if i == 0 else width, width), act()]
    return nn.Sequential(*layers, nn.Linear(width, d_out))


@pytest.mark.parametrize("case", sorted(CASES))
def test_same_records_and_verdict(case, tmp_path):
    act, init, depth, lr, flow, dtype = CASES[case]
    config = tmp_path / "net.toml"
    config.write_text(
        f"""seed = 7
dtype = "f32"
[data]
source = "digits"
standardize = true
[model]
hidden = [{", ".join(["64"] * depth)}]
activation = "{act}"
init = "{init}"
[training]
loss = "cross_entropy"
batch_size = 32
max_steps = 3
optimizer = {{ kind = "sgd", lr = {lr} }}
"""
    )
    cli = gradscope_cli()
    run = tmp_path / "run"
    subprocess.run([cli, "train", str(config), "--out", str(run), "--quiet"], check=True)
    weights = read_safetensors(run / "model.safetensors")

    rng = np.random.default_rng(3)
    x = rng.normal(size=(64, 64)).astype(np.float32)
    y = rng.integers(0, 10, size=64).astype(np.int64)
    write_safetensors(tmp_path / "b.safetensors", {"x": x, "y": y})
    subprocess.run(
        [cli, "grads", "--model", str(config), "--weights", str(run / "model.safetensors"),
         "--batch", str(tmp_path / "b.safetensors"), "--out", str(tmp_path / "g.safetensors"),
         "--records", str(tmp_path / "r.jsonl"), "--dtype", dtype],
        check=True,
    )
    theirs = json.loads((tmp_path / "r.jsonl").read_text())

    model = torch_mlp({"sigmoid": nn.Sigmoid, "relu": nn.ReLU, "tanh": nn.Tanh}[act], depth)
    model.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in weights.items()})
    xt = torch.from_numpy(x)
    if dtype == "f64":
        model, xt = model.double(), xt.double()
    scope = gt.watch(model, every=1, histograms=False)
    loss = nn.functional.cross_entropy(model(xt), torch.from_numpy(y))
    loss.backward()
    scope.loss(loss)
    ours = json.loads(scope.records_jsonl())

    assert ours["loss"] == pytest.approx(theirs["loss"], rel=1e-5)
    assert ours["grad_norm"] == pytest.approx(theirs["grad_norm"], rel=1e-4)
    assert ours["batch_size"] == theirs["batch_size"]
    assert ours["input_q0"] == pytest.approx(theirs["input_q0"], rel=1e-6)
    assert [(l["path"], l["kind"], l.get("depth")) for l in ours["layers"]] == [
        (l["path"], l["kind"], l.get("depth")) for l in theirs["layers"]
    ]
    compared = 0
    for mine, ref in zip(ours["layers"], theirs["layers"]):
        for k in FIELDS:
            if ref.get(k) is None:
                assert mine.get(k) is None, (mine["path"], k)
                continue
            # f32 rounding: the forward and backward run in f32 on both sides, in different
            # orders of summation; fractions are counts of units on either side of a
            # threshold, where a value within rounding of it may fall either way.
            tol = 2.0 / x.size if k.endswith("_fraction") else 1e-4
            assert mine[k] == pytest.approx(ref[k], rel=tol, abs=1e-12 + (tol if k.endswith("_fraction") else 0)), (mine["path"], k)
            compared += 1
        # A quantile is one element of the layer's output: two values within rounding of
        # each other may swap ranks.
        if ref.get("act_quantiles"):
            for p in ("p02", "p25", "p50", "p75", "p98"):
                assert mine["act_quantiles"][p] == pytest.approx(ref["act_quantiles"][p], rel=1e-4, abs=1e-5)
    assert compared > 10 * depth

    a, b = gradscope.Recorder(every=1), gradscope.Recorder(every=1)
    a.add_jsonl(scope.records_jsonl())
    b.add_jsonl((tmp_path / "r.jsonl").read_text())
    da, db = a.diagnosis("torch"), b.diagnosis("gradscope")
    assert da.verdict == db.verdict == flow
    assert da.per_layer_factor == pytest.approx(db.per_layer_factor, rel=1e-4)
