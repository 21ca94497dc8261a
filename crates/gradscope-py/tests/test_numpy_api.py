"""The numpy-level API: the catalogue, the statistics, record ingestion and the Diagnosis.
Runs without torch (CI runs these)."""

import json
import math

import numpy as np
import pytest

import gradscope


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def test_catalogue_names_parse_and_print_back():
    names = gradscope.catalogue()
    assert "sigmoid" in names and "relu" in names and "tanh" in names
    for n in names:
        assert str(gradscope.Activation(n)) == n


def test_f_and_df_are_the_catalogues():
    x = np.linspace(-6, 6, 101)
    s = gradscope.Activation("sigmoid")
    np.testing.assert_allclose(s.f(x), sigmoid(x), rtol=1e-14)
    np.testing.assert_allclose(s.df(x), sigmoid(x) * (1 - sigmoid(x)), rtol=1e-12, atol=1e-300)
    r = gradscope.Activation("leaky_relu(0.1)")
    np.testing.assert_array_equal(r.df(np.array([-1.0, 0.0, 2.0])), [0.1, 0.1, 1.0])
    assert s.df(np.zeros((2, 3))).shape == (2, 3)


def test_facts():
    s = gradscope.Activation("sigmoid")
    assert s.range == (0.0, 1.0)
    assert s.max_abs_derivative == pytest.approx(0.25)
    assert s.saturation_threshold == pytest.approx(0.0025)
    assert s.range_end_epsilon == pytest.approx(0.02)
    assert gradscope.Activation("gelu").range_end_epsilon is None or gradscope.Activation("gelu").range[1] is None
    assert gradscope.Activation("softmax").is_rowwise


def test_bad_activation_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown activation `sigmoidd`"):
        gradscope.Activation("sigmoidd")


def test_activation_stats_follow_the_definitions():
    rng = np.random.default_rng(0)
    z = rng.normal(0, 6, size=(50, 8))
    a = sigmoid(z)
    s = gradscope.activation_stats("sigmoid", z, a)
    d = np.abs(sigmoid(z) * (1 - sigmoid(z)))
    assert s["saturated_fraction"] == pytest.approx(np.mean(d < 0.0025))
    assert s["mean_abs_derivative"] == pytest.approx(d.mean())
    assert s["mean_sq_derivative"] == pytest.approx((d**2).mean())
    assert s["act_mean"] == pytest.approx(a.mean())
    assert s["act_std"] == pytest.approx(a.std())
    assert s["range_end_fraction"] == pytest.approx(np.mean((a <= 0.02) | (a >= 0.98)))
    assert s["dead_fraction"] == 0.0
    # ReLU: two of four units are 0 for every row.
    a = np.maximum(rng.normal(size=(10, 4)), 0)
    a[:, 1] = 0
    a[:, 3] = 0
    s = gradscope.activation_stats("relu", None, a)
    assert s["dead_fraction"] == 0.5
    assert s["saturated_fraction"] is None


def test_weight_stats():
    rng = np.random.default_rng(1)
    w = rng.normal(0, 0.5, size=(30, 20))
    b = rng.normal(0, 0.1, size=30)
    s = gradscope.weight_stats(w, fan_in=20, bias=b)
    assert s["weight_norm"] == pytest.approx(np.linalg.norm(w))
    assert s["sigma_w"] == pytest.approx(w.std() * math.sqrt(20))
    assert s["sigma_b2"] == pytest.approx((b**2).mean())
    assert gradscope.weight_stats(w)["sigma_w"] is None


def chain(factor, depth=8, act="sigmoid", sigma_w=1.0):
    """Records of a Linear → activation chain whose ‖∂L/∂z‖ changes by `factor` per layer
    towards the input."""
    layers = []
    g = 1e-2
    grads = [g * factor ** (depth - 1 - i) for i in range(depth)]
    for i in range(depth):
        layers.append({"kind": "linear", "path": str(2 * i), "weight_norm": 8.0,
                       "sigma_w": sigma_w, "sigma_b2": 0.0, "grad_out_norm": grads[i]})
        layers.append({"kind": "activation", "path": str(2 * i + 1), "activation": act,
                       "grad_in_norm": grads[i], "grad_out_norm": grads[i] * 2,
                       "saturated_fraction": 0.0, "dead_fraction": 0.0,
                       "act_mean": 0.5, "act_std": 0.2})
    layers.append({"kind": "linear", "path": str(2 * depth), "grad_out_norm": 0.1})
    return layers


@pytest.mark.parametrize("factor,flow", [(0.25, "vanishing"), (1.0, "healthy"), (4.0, "exploding")])
def test_recorder_judges_records(factor, flow):
    rec = gradscope.Recorder(every=1)
    for step in (1, 2, 3):
        rec.add_step(step, 1.0, 0.1, chain(factor))
        rec.add_loss(step, 1.0)
    d = rec.diagnosis("test chain")
    assert d.verdict == flow
    assert d.per_layer_factor == pytest.approx(factor, rel=1e-9)
    assert d.measured_steps == [1, 2, 3]
    text = d.explain()
    assert text.startswith(f"Verdict: {flow}") and str(d) == text
    if flow != "healthy":
        assert d.remedies, "a vanishing or exploding verdict has remedies"
        # Each remedy also in PyTorch's terms, printed under it.
        assert len(d.remedies_pytorch) == len(d.remedies)
        assert all(t.startswith("in PyTorch: ") for t in d.remedies_pytorch)
        assert f"→ {d.remedies_pytorch[0]}." in text
        assert f"{factor:.3}".rstrip("0").rstrip(".") in text or "×" in text
    j = json.loads(d.to_json())
    assert j["verdict"]["flow"] == flow and j["config"] == "test chain"


def test_html_and_write_and_read_back(tmp_path):
    rec = gradscope.Recorder(every=1)
    rec.add_step(1, math.nan, 0.1, chain(0.25))
    d = rec.diagnosis()
    html = d._repr_html_()
    assert html.startswith("<div") and "vanishing" in html and "<table>" in html
    assert "<code>in PyTorch: " in html
    d.to_html(tmp_path / "d.html")
    assert "<!DOCTYPE html>" in (tmp_path / "d.html").read_text()
    out = tmp_path / "run"
    rec.write(out)
    assert {p.name for p in out.iterdir()} == {"diagnostics.jsonl", "diagnosis.json", "report.html"}
    line = json.loads((out / "diagnostics.jsonl").read_text().splitlines()[0])
    assert line["schema_version"] >= 3 and line["loss"] is None
    assert [l["depth"] for l in line["layers"] if "depth" in l] == list(range(1, 9))
    back = gradscope.read_dir(out)
    assert back.verdict == "vanishing"
    assert back.to_json() == d.to_json()
    # The records read back judge the same.
    again = gradscope.Recorder(every=1)
    again.add_jsonl((out / "diagnostics.jsonl").read_text())
    assert again.diagnosis().to_json() == d.to_json()


def test_bad_records_are_clear_errors():
    rec = gradscope.Recorder()
    with pytest.raises(ValueError, match="field `grad_in_nrm`: unknown field"):
        rec.add_step(1, 0.0, 0.0, [{"kind": "activation", "path": "3", "grad_in_nrm": 1.0}])
    with pytest.raises(ValueError, match="unknown layer kind `conv`"):
        rec.add_step(1, 0.0, 0.0, [{"kind": "conv"}])
    with pytest.raises(ValueError, match="unknown activation"):
        rec.add_step(1, 0.0, 0.0, [{"kind": "activation", "activation": "sigmoidd"}])
    with pytest.raises(ValueError, match="no step was measured"):
        rec.diagnosis()
    with pytest.raises(ValueError, match="every must be >= 1"):
        gradscope.Recorder(every=0)
