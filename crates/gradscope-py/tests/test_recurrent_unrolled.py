"""The unrolled forward of nn.LSTM / nn.GRU / nn.RNN (gradscope._recurrent, used by
``watch(model, unroll_recurrent=True)``) against PyTorch's fused modules, and the through-time
gradients it records against the fused module split in two at step t; and the Recorder's
checks of recurrent records (no torch needed for that one)."""

import json

import pytest

from conftest import HAVE_TORCH, needs_torch

import gradscope

if HAVE_TORCH:
    import torch
    from torch import nn
    from torch.nn.utils.rnn import pack_padded_sequence

    import gradscope.torch as gt
    from gradscope import _recurrent

CASES = [
    ("lstm", {}),
    ("gru", {}),
    ("rnn", {}),
    ("rnn", {"nonlinearity": "relu"}),
    ("lstm", {"num_layers": 2, "batch_first": True}),
    ("gru", {"num_layers": 3, "bias": False}),
    ("rnn", {"num_layers": 2, "batch_first": True, "nonlinearity": "relu"}),
]


def make(cell, **kw):
    return {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}[cell](3, 8, **kw)


def scalar(out, state):
    """A loss that reaches every output and the final state."""
    h = state[0] if isinstance(state, tuple) else state
    loss = out.pow(2).sum() + 0.5 * h.sum()
    if isinstance(state, tuple):
        loss = loss + 0.25 * state[1].sum()
    return loss


@needs_torch
@pytest.mark.parametrize("cell,kw", CASES)
@pytest.mark.parametrize("given_state", [False, True])
def test_unrolled_forward_equals_the_fused_module(cell, kw, given_state):
    torch.manual_seed(0)
    m = make(cell, **kw)
    # Weights ×2: the gates leave their linear range.
    with torch.no_grad():
        for p in m.parameters():
            p.mul_(2)
    layers = kw.get("num_layers", 1)
    x = torch.randn(4, 7, 3) if kw.get("batch_first") else torch.randn(7, 4, 3)
    x.requires_grad_(True)
    hx = None
    if given_state:
        h0 = torch.randn(layers, 4, 8, requires_grad=True)
        hx = (h0, torch.randn(layers, 4, 8, requires_grad=True)) if cell == "lstm" else h0
    leaves = [x] + list(m.parameters()) + ([] if hx is None else list(hx) if cell == "lstm" else [hx])
    fused = m(x, hx)
    unrolled = _recurrent.run(m, x, hx)
    torch.testing.assert_close(unrolled[0], fused[0], rtol=1e-5, atol=1e-6)
    if cell == "lstm":
        torch.testing.assert_close(unrolled[1][0], fused[1][0], rtol=1e-5, atol=1e-6)
        torch.testing.assert_close(unrolled[1][1], fused[1][1], rtol=1e-5, atol=1e-6)
    else:
        torch.testing.assert_close(unrolled[1], fused[1], rtol=1e-5, atol=1e-6)
    g_fused = torch.autograd.grad(scalar(*fused), leaves)
    g_unrolled = torch.autograd.grad(scalar(*unrolled), leaves)
    for a, b in zip(g_unrolled, g_fused):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)


@needs_torch
@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
def test_double_precision(cell):
    torch.manual_seed(5)
    m = make(cell, num_layers=2).double()
    x = torch.randn(9, 3, 3, dtype=torch.float64, requires_grad=True)
    fused, unrolled = m(x), _recurrent.run(m, x)
    torch.testing.assert_close(unrolled[0], fused[0], rtol=1e-12, atol=1e-14)
    leaves = [x] + list(m.parameters())
    for a, b in zip(torch.autograd.grad(scalar(*unrolled), leaves),
                    torch.autograd.grad(scalar(*fused), leaves)):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-12)


@needs_torch
@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
def test_unbatched_input(cell):
    torch.manual_seed(1)
    m = make(cell)
    x = torch.randn(6, 3)
    fused, unrolled = m(x), _recurrent.run(m, x)
    torch.testing.assert_close(unrolled[0], fused[0], rtol=1e-5, atol=1e-6)
    assert unrolled[0].shape == fused[0].shape


if HAVE_TORCH:

    class ManyToOne(nn.Module):
        def __init__(self, cell, steps=12, **kw):
            super().__init__()
            self.rnn = make(cell, **kw)
            self.fc = nn.Linear(8, 1)

        def forward(self, x):
            out, _ = self.rnn(x)
            return self.fc(out[-1])

    class ManyToMany(ManyToOne):
        def forward(self, x):
            out, _ = self.rnn(x)
            return self.fc(out)


def split_gradients(rnn, fc, x, y, t):
    """‖∂L/∂h_t‖ and ‖∂L/∂c_t‖ (from later steps) of the many-to-one loss by the fused module
    run in two pieces: steps 1..t, then t+1..T from (h_t, c_t) made leaves."""
    with torch.no_grad():
        _, state = rnn(x[:t])
    if isinstance(state, tuple):
        h, c = (s.clone().requires_grad_(True) for s in state)
        out, _ = rnn(x[t:], (h, c))
        (gh, gc) = torch.autograd.grad(nn.functional.mse_loss(fc(out[-1]), y), (h, c))
        return gh.double().norm().item(), gc.double().norm().item()
    h = state.clone().requires_grad_(True)
    out, _ = rnn(x[t:], h)
    (gh,) = torch.autograd.grad(nn.functional.mse_loss(fc(out[-1]), y), (h,))
    return gh.double().norm().item(), None


@needs_torch
@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
def test_recorded_gradient_through_time_is_the_fused_modules(cell):
    torch.manual_seed(2)
    steps = 12
    model = ManyToOne(cell)
    x, y = torch.randn(steps, 5, 3), torch.randn(5, 1)
    scope = gt.watch(model, every=1, histograms=False, unroll_recurrent=True)
    loss = nn.functional.mse_loss(model(x), y)
    loss.backward()
    rec = json.loads(scope.records_jsonl())
    scope.remove()
    [r] = rec["recurrent"]
    assert (r["path"], r["cell"], r["predict"], r["index"]) == ("rnn", cell, "last", 0)
    [lay] = r["layers"]
    assert lay["source"] == "last_step" and lay["steps"] == steps and lay["hidden"] == 8
    for t in range(1, steps):  # h_t after step t is the state handed to step t + 1
        gh, gc = split_gradients(model.rnn, model.fc, x, y, t)
        assert lay["grad_norms"][t - 1] == pytest.approx(gh, rel=1e-5), t
        if cell == "lstm":
            assert lay["cell_grad_norms"][t - 1] == pytest.approx(gc, rel=1e-5), t
    if cell == "lstm":
        assert lay["cell_grad_norms"][-1] == 0.0
        assert [g["gate"] for g in lay["gates"]] == list("ifgo")
        assert [b["block"] for b in lay["blocks"]] == list("ifgo")
    if cell == "rnn":
        assert lay["gamma"] == 1.0 and lay["jacobian_norms"][-1] == 1.0
        assert lay["spectral_radius"] > 0
    g = lay["grad_norms"]
    assert lay["first_to_last"] == pytest.approx(g[0] / g[-1])
    assert lay["per_step_factor"] == pytest.approx((g[0] / g[-1]) ** (1 / (steps - 1)))


@needs_torch
def test_many_to_many_and_stacks_are_every_step():
    torch.manual_seed(3)
    model = ManyToMany("lstm", num_layers=2)
    scope = gt.watch(model, every=1, histograms=False, unroll_recurrent=True)
    out = model(torch.randn(9, 4, 3))
    out.pow(2).mean().backward()
    [r] = json.loads(scope.records_jsonl())["recurrent"]
    assert r["predict"] == "every_step" and r["name"] == "lstm(3 -> 8, layers=2, every_step)"
    assert [l["source"] for l in r["layers"]] == ["every_step", "every_step"]
    d = scope.diagnosis()
    assert d.verdict in ("vanishing", "exploding", "healthy")
    # Judged through time only: the repr shows no per-layer factor.
    assert repr(d) == f"<gradscope.Diagnosis {d.verdict} (through time) over 1 measured steps>"
    scope.remove()


@needs_torch
def test_watch_unrolls_only_measured_steps_and_restores_the_module():
    torch.manual_seed(4)
    model = ManyToOne("lstm")
    plain = ManyToOne("lstm")
    plain.load_state_dict(model.state_dict())
    x = torch.randn(12, 5, 3)
    calls = []
    real_run = _recurrent.run

    def counting_run(*a, **k):
        calls.append(1)
        return real_run(*a, **k)

    _recurrent.run = counting_run
    try:
        with gt.watch(model, every=3, histograms=False, unroll_recurrent=True) as scope:
            assert "forward" in model.rnn.__dict__
            for step in range(1, 7):
                out = model(x)
                ref = plain(x)
                if step in (1, 3, 6):  # measured: unrolled, equal within f32 rounding
                    torch.testing.assert_close(out, ref, rtol=1e-5, atol=1e-6)
                else:  # the fused kernel itself
                    assert torch.equal(out, ref)
                out.sum().backward()
                model.zero_grad()
    finally:
        _recurrent.run = real_run
    assert len(calls) == 3
    assert "forward" not in model.rnn.__dict__
    recs = [json.loads(l) for l in scope.records_jsonl().splitlines()]
    assert [r["step"] for r in recs] == [1, 3, 6]
    assert all(len(r["recurrent"]) == 1 for r in recs)
    # Not measured in eval mode or without gradients: the fused kernel runs.
    model.eval()
    with gt.watch(model, every=1, unroll_recurrent=True):
        assert torch.equal(model(x), plain.eval()(x))


@needs_torch
@pytest.mark.parametrize("kw,words", [
    ({"bidirectional": True}, "bidirectional=True"),
    ({"proj_size": 4}, "proj_size=4"),
])
def test_refuses_what_it_does_not_cover(kw, words):
    model = nn.Sequential(nn.LSTM(3, 8, **kw))
    with pytest.raises(ValueError, match=f"module `0` \\(LSTM\\) has {words}"):
        gt.watch(model, unroll_recurrent=True)
    assert "forward" not in model[0].__dict__
    assert not model._forward_pre_hooks and not model[0]._forward_hooks  # nothing left behind
    gt.watch(model).remove()  # without the option: watched, norms only


@needs_torch
def test_refuses_a_packed_sequence_naming_the_module():
    class Packed(nn.Module):
        def __init__(self):
            super().__init__()
            self.enc = nn.LSTM(3, 8)

        def forward(self, x, lengths):
            out, _ = self.enc(pack_padded_sequence(x, lengths))
            return out.data.sum()

    model = Packed()
    scope = gt.watch(model, unroll_recurrent=True)
    with pytest.raises(ValueError, match="module `enc` \\(LSTM\\) was called with a PackedSequence"):
        model(torch.randn(5, 2, 3), torch.tensor([5, 3]))
    scope.remove()


@needs_torch
@pytest.mark.parametrize("cell", ["lstm", "rnn"])
def test_a_diverged_step_is_recorded_not_raised(cell):
    torch.manual_seed(6)
    model = ManyToOne(cell)
    with torch.no_grad():
        model.rnn.weight_hh_l0[0, 0] = float("nan")
    scope = gt.watch(model, every=1, histograms=False, unroll_recurrent=True)
    model(torch.randn(12, 5, 3)).sum().backward()
    [r] = json.loads(scope.records_jsonl())["recurrent"]
    lay = r["layers"][0]
    assert lay["sigma_max"] is None and lay["grad_norms"][0] is None  # NaN, written as null
    assert scope.diagnosis().verdict in ("vanishing", "exploding", "healthy")
    scope.remove()


def test_recorder_checks_recurrent_records():  # no torch needed
    rec = gradscope.Recorder(every=1)
    good = {"index": 0, "path": "rnn", "name": "lstm(2 -> 4, last)", "cell": "lstm",
            "predict": "last", "layers": [{
                "layer": 1, "steps": 3, "hidden": 4, "source": "last_step",
                "grad_norms": [0.01, 0.1, 1.0], "window_start": 1, "first_to_last": 0.01,
                "per_step_factor": 0.1, "underflow_steps": 0, "gates": [], "sigma_max": 1.0}]}
    rec.add_step(1, 1.0, 1.0, [{"kind": "linear", "path": "fc"}], recurrent=[good])
    assert json.loads(rec.records_jsonl())["recurrent"][0]["layers"][0]["grad_norms"] == [0.01, 0.1, 1.0]
    bad = json.loads(json.dumps(good))
    bad["layers"][0]["grad_norm"] = [1.0]
    with pytest.raises(ValueError, match=r"recurrent record 0: unknown field\(s\) layers\[0\]\.grad_norm"):
        rec.add_step(2, 1.0, 1.0, [], recurrent=[bad])
    nan = json.loads(json.dumps(good))
    nan["layers"][0]["grad_norms"][0] = float("nan")
    with pytest.raises(ValueError, match="recurrent record 0: .*give a non-finite number as None"):
        rec.add_step(2, 1.0, 1.0, [], recurrent=[nan])
    nan["layers"][0]["grad_norms"][0] = None
    rec.add_step(2, 1.0, 1.0, [], recurrent=[nan])
    assert json.loads(rec.records_jsonl().splitlines()[1])["recurrent"][0]["layers"][0]["grad_norms"][0] is None
    missing = json.loads(json.dumps(good))
    del missing["layers"][0]["sigma_max"]
    with pytest.raises(ValueError, match="recurrent record 0: missing field `sigma_max`"):
        rec.add_step(3, 1.0, 1.0, [], recurrent=[missing])
    assert len(rec) == 2
