"""gradscope.torch: the hooks, the module mapping and f' against the catalogue. Skipped
without torch."""

import json

import numpy as np
import pytest

from conftest import HAVE_TORCH, needs_torch

pytestmark = needs_torch

if HAVE_TORCH:
    import torch
    from torch import nn

    import gradscope
    import gradscope.torch as gt

    MODULES = [
        nn.Sigmoid(), nn.Tanh(), nn.ReLU(), nn.LeakyReLU(0.1), nn.PReLU(), nn.RReLU(),
        nn.ELU(alpha=0.7), nn.SELU(), nn.GELU(), nn.GELU(approximate="tanh"), nn.SiLU(),
        nn.Mish(), nn.Softplus(beta=2.0), nn.Softsign(), nn.Hardtanh(), nn.ReLU6(),
        nn.Hardsigmoid(), nn.Hardswish(),
    ]
else:
    MODULES = []


@pytest.mark.parametrize("m", MODULES, ids=lambda m: type(m).__name__)
def test_module_maps_to_the_catalogue_and_torch_derivative_matches(m):
    spec = gt.activation_spec(m)
    act = gradscope.Activation(spec)
    m.eval()
    x = torch.linspace(-8, 8, 1601, dtype=torch.float64)
    x = x[(x - x.round()).abs() > 1e-9]  # off the kinks, where one-sided limits may differ
    m = m.double()
    a = m(x).detach()
    d = gt.derivative(m, x.clone(), a)  # what the scope uses
    np.testing.assert_allclose(act.f(x.numpy()), a.numpy(), rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(act.df(x.numpy()), d.numpy(), rtol=1e-6, atol=1e-9)


def mlp(act, depth=8, width=64, d_in=16, init=None, seed=0):
    torch.manual_seed(seed)
    layers = []
    for i in range(depth):
        lin = nn.Linear(d_in if i == 0 else width, width)
        if init:
            init(lin.weight)
            nn.init.zeros_(lin.bias)
        layers += [lin, act()]
    return nn.Sequential(*layers, nn.Linear(width, 2))


def train(model, scope, steps=20, lr=0.05):
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    g = torch.Generator().manual_seed(1)
    x = torch.randn(128, model[0].in_features, generator=g)
    y = (x[:, 0] > 0).long()
    for _ in range(steps):
        loss = nn.functional.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        scope.loss(loss)


def test_deep_sigmoid_vanishes_and_relu_he_is_healthy(tmp_path):
    model = mlp(nn.Sigmoid)
    with gt.watch(model, every=5) as scope:
        train(model, scope)
        d = scope.diagnosis()
    assert d.verdict == "vanishing"
    assert d.measured_steps == [1, 5, 10, 15, 20]
    assert d.remedies and "relu" in d.remedies[0]
    model = mlp(nn.ReLU, depth=10, init=lambda w: nn.init.kaiming_normal_(w, nonlinearity="relu"))
    with gt.watch(model, every=5) as scope:
        train(model, scope, lr=0.01)
        d = scope.diagnosis()
    assert d.verdict == "healthy", d.explain()
    scope.write(tmp_path / "out")
    j = json.loads((tmp_path / "out" / "diagnosis.json").read_text())
    assert j["verdict"]["flow"] == "healthy"


def test_an_eval_forward_after_a_measured_step_adds_no_layers():
    model = mlp(nn.Tanh, depth=2)
    scope = gt.watch(model, every=1)
    x = torch.randn(8, 16)
    model(x).pow(2).mean().backward()
    model.eval()
    with torch.no_grad():
        model(x)
    model.train()
    rec = json.loads(scope.records_jsonl().splitlines()[0])
    assert [l["path"] for l in rec["layers"]] == ["0", "1", "2", "3", "4"]


def test_hooks_are_removed_and_eval_steps_do_not_count():
    model = mlp(nn.Tanh, depth=3)
    scope = gt.watch(model, every=2)
    with torch.no_grad():
        model(torch.randn(4, 16))
    assert scope.step == 0
    train(model, scope, steps=4)
    assert scope.step == 4 and len(scope) == 3  # steps 1, 2, 4
    scope.remove()
    train(model, scope, steps=2)
    assert scope.step == 4
    assert all(not m._forward_hooks for m in model.modules())


@pytest.mark.parametrize("rust", [True, False], ids=["rust", "torch-ops"])
def test_catalogue_derivative_gives_the_same_records(rust, monkeypatch):
    monkeypatch.setattr(gt, "_RUST", rust)
    recs = []
    for how in ("torch", "catalogue"):
        model = mlp(nn.GELU, depth=4)
        scope = gt.watch(model, every=1, derivative=how)
        train(model, scope, steps=2)
        recs.append([json.loads(line) for line in scope.records_jsonl().splitlines()])
    for ra, rb in zip(*recs):
        for la, lb in zip(ra["layers"], rb["layers"]):
            for k in ("grad_in_norm", "mean_abs_derivative", "saturated_fraction"):
                if la.get(k) is not None:
                    assert la[k] == pytest.approx(lb[k], rel=1e-5), k


def test_conv_net_with_inplace_relu_and_batchnorm():
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(inplace=True),
        nn.Conv2d(8, 8, 3, padding=1), nn.ReLU(inplace=True),
        nn.Flatten(), nn.Linear(8 * 8 * 8, 10),
    )
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    w = model[0].weight.detach().double().clone()  # step 1 sees the initial weights
    x, y = torch.randn(16, 1, 8, 8), torch.randint(0, 10, (16,))
    with gt.watch(model, every=1) as scope:
        for _ in range(3):
            loss = nn.functional.cross_entropy(model(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
        rec = json.loads(scope.records_jsonl().splitlines()[0])
    kinds = [(l["path"], l["kind"]) for l in rec["layers"]]
    assert kinds == [("0", "linear"), ("1", "batchnorm1d"), ("2", "activation"),
                     ("3", "linear"), ("4", "activation"), ("6", "linear")]
    conv = rec["layers"][0]
    assert conv["name"] == "conv2d(1 -> 8, k=3x3)"
    assert conv["sigma_w"] == pytest.approx(float(w.std(unbiased=False) * 9**0.5), rel=1e-6)
    relu = rec["layers"][2]
    # ∂L/∂z of the in-place ReLU = relu'(z) ⊙ ∂L/∂a: at most ‖∂L/∂a‖.
    assert 0 < relu["grad_in_norm"] <= relu["grad_out_norm"]
    assert rec["layers"][1]["weight_norm"] > 0 and "sigma_w" not in rec["layers"][1]
    assert 0 <= relu["dead_fraction"] <= 1


def test_functional_activations_are_not_seen():
    class F(nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.b = nn.Linear(4, 4), nn.Linear(4, 2)

        def forward(self, x):
            return self.b(torch.sigmoid(self.a(x)))

    model = F()
    scope = gt.watch(model, every=1)
    loss = model(torch.randn(8, 4)).sum()
    loss.backward()
    with pytest.raises(ValueError, match="no hidden activation layers"):
        scope.diagnosis()


def test_quantiles_selection_matches_the_sort():
    # The CPU fast path (kthvalue) against numpy's sort at the same ranks, and the sort path
    # (taken when a value is not finite) ignoring NaN/inf.
    g = torch.Generator().manual_seed(3)
    ps = np.array(gt.QUANTILES)
    for n in (1, 2, 7, 1000, 1 << 14):
        x = torch.randn(n, generator=g)
        srt = np.sort(x.numpy())
        want = srt[np.floor(ps * (n - 1) + 0.5).astype(int)]
        assert np.array_equal(gt._quantiles(x).numpy(), want)
    x = torch.randn(1000, generator=g)
    x[::10] = float("nan")
    x[5] = float("inf")
    fin = np.sort(x.numpy()[np.isfinite(x.numpy())])
    want = fin[np.floor(ps * (len(fin) - 1) + 0.5).astype(int)]
    assert np.array_equal(gt._quantiles(x).numpy(), want)
    assert torch.isinf(gt._quantiles(torch.full((4,), float("nan")))).all()


def _records(model, x, y, rust, monkeypatch, steps=2):
    monkeypatch.setattr(gt, "_RUST", rust)
    torch.manual_seed(0)
    m = model()
    opt = torch.optim.SGD(m.parameters(), lr=0.01)
    scope = gt.watch(m, every=1)
    for _ in range(steps):
        loss = nn.functional.cross_entropy(m(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        scope.loss(loss)
    scope.remove()
    return [json.loads(line) for line in scope.records_jsonl().splitlines()]


# By name: the parameters are built when the module is collected, with or without torch.
@pytest.mark.parametrize("dtype_name", ["float64", "float32"], ids=["f64", "f32"])
def test_rust_path_records_what_the_torch_ops_record(dtype_name, monkeypatch):
    dtype = getattr(torch, dtype_name)
    # On the CPU the statistics come from Rust over the tensors' buffers; on a GPU (and with
    # _RUST = False) from torch operations. Same fields, same values: in f64 to rounding; in
    # f32 within the torch ops' float32 accumulation (Rust sums in f64). Outputs larger than
    # SAMPLE_LIMIT exercise the strided sample of the quantiles and histograms.
    def model():
        return nn.Sequential(
            nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(inplace=True),
            nn.Conv2d(8, 8, 3, padding=1), nn.Tanh(), nn.Conv2d(8, 8, 3, padding=1),
            nn.LeakyReLU(0.1, inplace=True), nn.Conv2d(8, 8, 3, padding=1), nn.GELU(),
            nn.Flatten(), nn.Linear(8 * 16 * 16, 32), nn.Sigmoid(), nn.Linear(32, 32),
            nn.ELU(inplace=True), nn.Linear(32, 10), nn.Softmax(dim=-1),
        ).to(dtype)

    g = torch.Generator().manual_seed(5)
    x = torch.randn(16, 3, 16, 16, generator=g, dtype=dtype)
    y = torch.randint(0, 10, (16,), generator=g)
    fast = _records(model, x, y, True, monkeypatch)
    slow = _records(model, x, y, False, monkeypatch)
    rel = 1e-9 if dtype == torch.float64 else 1e-3  # torch sums f32 in f32: ~2e-4 off here
    compared = 0
    for rf, rs in zip(fast, slow):
        assert rf["grad_norm"] == pytest.approx(rs["grad_norm"], rel=rel)
        assert rf["input_q0"] == pytest.approx(rs["input_q0"], rel=rel)
        for lf, ls in zip(rf["layers"], rs["layers"]):
            assert sorted(lf) == sorted(ls), lf["path"]
            for k, vs in ls.items():
                vf = lf[k]
                if k in ("act_hist", "grad_hist"):
                    assert vf["edges"] == pytest.approx(vs["edges"], rel=rel, abs=1e-12)
                    total = sum(vs["counts"]) + vs["below"] + vs["above"]
                    assert sum(vf["counts"]) + vf["below"] + vf["above"] == total
                    moved = sum(abs(a - b) for a, b in zip(vf["counts"], vs["counts"]))
                    assert moved <= max(2, total // 500), (lf["path"], k, vf, vs)
                elif k == "act_quantiles":
                    for p in vs:
                        assert vf[p] == pytest.approx(vs[p], rel=rel, abs=1e-7), (lf["path"], p)
                elif k.endswith("_fraction"):
                    assert vf == pytest.approx(vs, abs=1e-3), (lf["path"], k)
                elif isinstance(vs, float):
                    assert vf == pytest.approx(vs, rel=rel, abs=1e-300), (lf["path"], k)
                    compared += 1
                else:
                    assert vf == vs, (lf["path"], k)
    assert compared > 100
