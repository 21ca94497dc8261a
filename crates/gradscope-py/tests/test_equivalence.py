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


# -- the LSTM on the adding problem: the gradient through time ------------------------------

# The through-time fields of a layer record (RecurrentLayerRecord) compared number by number:
# within f32 rounding (TT_SCALARS, and every step's norm), exactly (TT_EXACT).
TT_SCALARS = ["first_to_last", "per_step_factor", "cell_first_to_last", "cell_per_step_factor",
              "jacobian_factor", "sigma_max", "spectral_radius", "gamma", "pascanu_threshold"]
TT_EXACT = ["layer", "steps", "hidden", "source", "window_start", "underflow_steps",
            "gate_source", "truncation_not_applied"]
TT_SERIES = ["grad_norms", "cell_grad_norms", "jacobian_norms"]
GATE_FIELDS = ["mean", "mean_abs_derivative", "saturated_fraction", "saturated_low",
               "saturated_high"]


def adding_batch(rng, n, steps):
    """An adding-problem batch as gradscope lays sequences out: row i is [value, marker] for
    t = 1..T (time-major within the row); the target is the sum of the two marked values."""
    v = rng.uniform(size=(n, steps)).astype(np.float32)
    m = np.zeros((n, steps), np.float32)
    for i in range(n):
        m[i, rng.choice(steps, 2, replace=False)] = 1.0
    x = np.stack([v, m], axis=2).reshape(n, steps * 2)
    return x, (v * m).sum(1, keepdims=True).astype(np.float32)


if HAVE_TORCH:

    class AddingNet(nn.Module):
        """gradscope's `[model.recurrent]` model in PyTorch: rnn (nn.LSTM, nn.GRU or a tanh
        nn.RNN), head fc, many-to-one."""

        def __init__(self, cell, hidden, steps):
            super().__init__()
            self.steps = steps
            self.rnn = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}[cell](2, hidden)
            self.fc = nn.Sequential(nn.Linear(hidden, 1))

        def forward(self, x):  # x [N, T·2] -> [T, N, 2]
            out, _ = self.rnn(x.view(x.shape[0], self.steps, 2).transpose(0, 1))
            return self.fc(out[-1])


def rel_diff(a, b):
    return abs(a - b) / max(abs(a), abs(b), 1e-300)


# (cell, T, hidden, extra [model.recurrent] keys, verdict both sides give). The LSTM at T = 100
# with forget bias 1 is the case: the gradient reaching h_1 is ~1e-7 of h_T's —
# vanishing through time. With forget bias 3 (the remedy gradscope names) the forget gate
# keeps the memory and both sides judge it healthy. The GRU (T = 50: 3e-10) and the tanh RNN
# (T = 100: 3e-26), both with PyTorch's init, check the same path for the other cells.
RECURRENT_CASES = {
    "lstm-adding-t100-forget-bias-1": ("lstm", 100, 32, "forget_bias = 1.0", "vanishing"),
    "lstm-adding-t100-forget-bias-3": ("lstm", 100, 32, "forget_bias = 3.0", "healthy"),
    "gru-adding-t50": ("gru", 50, 32, "", "vanishing"),
    "rnn-tanh-adding-t100": ("rnn", 100, 32, 'activation = "tanh"', "vanishing"),
}


@pytest.mark.parametrize("case", sorted(RECURRENT_CASES))
def test_recurrent_adding_same_through_time_records_and_verdict(case, tmp_path):
    cell, steps, hidden, extra, flow = RECURRENT_CASES[case]
    config = tmp_path / "net.toml"
    config.write_text(
        f"""seed = 0
dtype = "f32"
[data]
source = "adding"
n = 200
seq_len = {steps}
[model]
output = 1
[model.recurrent]
cell = "{cell}"
hidden = {hidden}
{extra}
[training]
loss = "mse"
batch_size = 32
max_steps = 3
optimizer = {{ kind = "adam", lr = 0.001 }}
"""
    )
    cli = gradscope_cli()
    run = tmp_path / "run"
    subprocess.run([cli, "train", str(config), "--out", str(run), "--quiet"], check=True)
    weights = read_safetensors(run / "model.safetensors")
    x, y = adding_batch(np.random.default_rng(3), 32, steps)
    write_safetensors(tmp_path / "b.safetensors", {"x": x, "y": y})
    subprocess.run(
        [cli, "grads", "--model", str(config), "--weights", str(run / "model.safetensors"),
         "--batch", str(tmp_path / "b.safetensors"), "--out", str(tmp_path / "g.safetensors"),
         "--records", str(tmp_path / "r.jsonl")],
        check=True,
    )
    theirs = json.loads((tmp_path / "r.jsonl").read_text())

    model = AddingNet(cell, hidden, steps)
    model.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in weights.items()}, strict=True)
    scope = gt.watch(model, every=1, histograms=False, unroll_recurrent=True)
    loss = nn.functional.mse_loss(model(torch.from_numpy(x)), torch.from_numpy(y))
    loss.backward()
    scope.loss(loss)
    ours = json.loads(scope.records_jsonl())

    assert ours["loss"] == pytest.approx(theirs["loss"], rel=1e-5)
    assert ours["grad_norm"] == pytest.approx(theirs["grad_norm"], rel=1e-4)
    assert [(l["path"], l["kind"]) for l in ours["layers"]] == [
        (l["path"], l["kind"]) for l in theirs["layers"]
    ]
    [mine], [ref] = ours["recurrent"], theirs["recurrent"]
    for k in ("index", "path", "name", "cell", "activation", "predict", "truncate"):
        assert mine.get(k) == ref.get(k), k
    # forget_bias is what gradscope added at initialization: not in the weights, so not known
    # to the hooks (the LSTM's remedies then differ: forget_bias = 1 rather than b + 2).
    assert "forget_bias" not in mine
    [ml], [rl] = mine["layers"], ref["layers"]
    assert sorted(ml) == sorted(rl)  # the same fields are present
    for k in TT_EXACT:
        assert ml.get(k) == rl.get(k), k
    worst = {}

    def close(key, a, b, tol):
        worst[key] = max(worst.get(key, 0.0), rel_diff(a, b))
        assert a == pytest.approx(b, rel=tol, abs=1e-300), key

    # f32 on both sides, in different orders of summation: each step's gradient differs by a
    # few ulps, and the difference is carried back through the T steps (measured: ≤ 4e-7).
    for k in TT_SERIES:
        if k in rl:
            assert len(ml[k]) == len(rl[k]) == steps, k
            for a, b in zip(ml[k], rl[k]):
                close(k, a, b, 1e-5)
    if cell == "lstm":
        assert ml["cell_grad_norms"][-1] == rl["cell_grad_norms"][-1] == 0.0
    for k in TT_SCALARS:
        if k in rl:
            close(k, ml[k], rl[k], 1e-5)
    assert [g["gate"] for g in ml["gates"]] == [g["gate"] for g in rl["gates"]]
    n = steps * x.shape[0] * hidden
    for a, b in zip(ml["gates"], rl["gates"]):
        assert a["activation"] == b["activation"]
        for k in GATE_FIELDS:
            if k.startswith("saturated"):  # counts: a value within rounding of the threshold
                worst["gate saturated (abs)"] = max(worst.get("gate saturated (abs)", 0.0),
                                                    abs(a[k] - b[k]))
                assert a[k] == pytest.approx(b[k], abs=2.0 / n), (a["gate"], k)
            else:
                close("gate " + k, a[k], b[k], 1e-5)
    assert [b["block"] for b in ml.get("blocks", [])] == [b["block"] for b in rl.get("blocks", [])]
    for a, b in zip(ml.get("blocks", []), rl.get("blocks", [])):
        close("block spectral_radius", a["spectral_radius"], b["spectral_radius"], 1e-9)
        close("block sigma_max", a["sigma_max"], b["sigma_max"], 1e-9)
    print(f"\n{case}: max relative differences", {k: f"{v:.1e}" for k, v in worst.items()})

    a, b = gradscope.Recorder(every=1), gradscope.Recorder(every=1)
    a.add_jsonl(scope.records_jsonl())
    b.add_jsonl((tmp_path / "r.jsonl").read_text())
    da, db = a.diagnosis("torch"), b.diagnosis("gradscope")
    va = json.loads(da.to_json())["verdict"]["recurrent"][0]
    vb = json.loads(db.to_json())["verdict"]["recurrent"][0]
    assert va["flow"] == vb["flow"] == da.verdict == db.verdict == scope.diagnosis().verdict
    va, vb = va["layers"][0], vb["layers"][0]
    print(f"{case}: verdict {da.verdict} / {db.verdict}, first_to_last "
          f"{va['first_to_last']:.3e} / {vb['first_to_last']:.3e}, per step "
          f"{va['per_step_factor']:.4f} / {vb['per_step_factor']:.4f}")
    assert da.verdict == flow
    assert va["measure"] == vb["measure"] == "gradient"
    assert va["first_to_last"] == pytest.approx(vb["first_to_last"], rel=1e-5)
    assert va["per_step_factor"] == pytest.approx(vb["per_step_factor"], rel=1e-5)
