"""The gradient through time of nn.LSTM / nn.GRU / nn.RNN: an unrolled forward with hooks.

PyTorch runs a whole sequence of ``nn.LSTM`` in one fused kernel, so ∂L/∂h_t for t < T is never
a tensor a hook could see. ``gradscope.torch.watch(model, unroll_recurrent=True)`` replaces the
recurrent modules' forward, on the *measured* steps only, by a Python loop over the time steps
with the module's own parameters (``weight_ih_l{k}``, ``weight_hh_l{k}``, ``bias_ih_l{k}``,
``bias_hh_l{k}``; gate blocks i, f, g, o for the LSTM, r, z, n for the GRU) through PyTorch's
own cell functions (``torch.lstm_cell``, ``gru_cell``, ``rnn_tanh_cell``, ``rnn_relu_cell``,
what nn.LSTMCell & co. call) — the same model up to f32 rounding — and puts a tensor hook on
every h_t (and on the LSTM's c_t where step t + 1 reads it). Unmeasured steps run the fused
kernel unchanged. The gates are recomputed once per layer from its input and h_{t−1}.

From those hooks and the forward's gate values it builds, per module, the library's
``RecurrentRecord`` with the definitions of gradscope's own probe
(crates/gradscope/src/diagnostics/recurrent/measure.rs):

- ``grad_norms[t]`` = ‖∂L/∂h_t‖, the *total* gradient reaching h_t (from the layers above at
  step t, from step t + 1, and from h_n at t = T), Frobenius norm over the batch;
- ``cell_grad_norms[t]`` (LSTM) = ‖∂L/∂c_t‖ *arriving from later steps*: the gradient through
  c_{t+1} = f⊙c_t + i⊙g (and through c_n at t = T), not the part through h_t = o⊙tanh(c_t) —
  0 at t = T unless c_n is used;
- ``first_to_last``, ``per_step_factor``, ``underflow_steps`` and the cell's over
  t = 1..T−1 by the same rule as the probe (:func:`decay`);
- per gate: mean value, mean |f'| (σ' = y(1 − y), tanh' = 1 − y², ReLU' = [a > 0]) and the
  share below 1% of max |f'|, split by the sign of the pre-activation;
- σ_max(W_hh) (whole), and per gate block ρ and σ_max (LSTM, GRU); ρ(W_hh), γ = max |f'|, 1/γ
  and the Jacobian product ‖J_{t+1}ᵀ⋯J_Tᵀ v‖ on the probe's fixed unit vector (RNN);
- ``source``: ``last_step`` for the top layer when no gradient from outside reaches its
  outputs before step T (a many-to-one model: the profile is the decay through time),
  ``every_step`` otherwise and for the lower layers of a stack.

Not known to the hooks, so left out: ``forget_bias`` (an LSTM's bias does not say how much of
it was added at initialization; the remedies then suggest ``forget_bias = 1`` as for a model
without one) and ``truncate`` (PyTorch modules have no truncated BPTT).

A non-finite number (a diverged step) is recorded as None, which the library reads as NaN.

Cost: a measured step makes T cell calls per layer from Python instead of one fused kernel,
backpropagates through a graph of T steps with 2T tensor hooks, and computes the gate
statistics and W_hh's spectra (docs/pytorch.md has the measured times: about 8 fused steps
per measured step at H = 32, 4–5 at H = 128).

Covered: unidirectional layers, any ``num_layers`` (dropout between layers is applied as the
module does, with different random draws), ``batch_first``, unbatched input, given initial
states, ``bias=False``. Refused with an error naming the module: ``bidirectional=True``,
``proj_size > 0``, and a ``PackedSequence`` input.
"""

from __future__ import annotations

import functools
import math
from typing import Optional

import torch
from torch import nn
from torch.nn import functional as F
from torch.nn.utils.rnn import PackedSequence

from . import Activation

__all__ = ["cell_kind", "check_supported", "check_model", "run", "decay", "install", "uninstall", "records"]

_GATES = {"lstm": ("i", "f", "g", "o"), "gru": ("r", "z", "n"), "rnn": ("h",)}
_GATE_ACT = {"lstm": ("sigmoid", "sigmoid", "tanh", "sigmoid"),
             "gru": ("sigmoid", "sigmoid", "tanh")}


def cell_kind(m: nn.Module) -> Optional[str]:
    """``lstm``, ``gru`` or ``rnn`` for nn.LSTM / nn.GRU / nn.RNN (and subclasses), else None."""
    if isinstance(m, nn.LSTM):
        return "lstm"
    if isinstance(m, nn.GRU):
        return "gru"
    if isinstance(m, nn.RNN):
        return "rnn"
    return None


def _rnn_activation(m: nn.Module) -> str:
    return "relu" if getattr(m, "nonlinearity", "tanh") == "relu" else "tanh"


def check_supported(path: str, m: nn.Module) -> None:
    """Raises ValueError naming ``path`` when the unrolled forward does not cover module ``m``."""
    problems = []
    if getattr(m, "bidirectional", False):
        problems.append("bidirectional=True")
    if getattr(m, "proj_size", 0):
        problems.append(f"proj_size={m.proj_size}")
    if problems:
        raise ValueError(
            f"gradscope.torch: unroll_recurrent: module `{path}` ({type(m).__name__}) has "
            f"{' and '.join(problems)}; the unrolled forward covers unidirectional layers "
            "without proj_size only. Watch the model without unroll_recurrent (the module's "
            "norms are still recorded, not its gradient through time)."
        )


def check_model(model: nn.Module) -> None:
    """:func:`check_supported` for every recurrent module of ``model``."""
    for path, m in model.named_modules():
        if cell_kind(m) is not None:
            check_supported(path or type(m).__name__.lower(), m)


class _Tap:
    """What one unrolled forward of one module keeps for the record: per layer the gate values
    (detached), ‖∂L/∂h_t‖ and ‖∂L/∂c_t‖ from the hooks, W_hh; and whether gradient from outside
    reached the top layer's outputs before step T."""

    def __init__(self, path: str, module: nn.Module, index: int, handles: list):
        self.path = path
        self.module = module
        self.index = index
        self.handles = handles
        self.layers = []
        self.outside_early = None  # a bool tensor, set by the hook on the output

    def new_layer(self, steps: int, w_hh: torch.Tensor):
        lay = {"h": [None] * steps, "c": [None] * steps, "gates": (), "pre": None,
               "w_hh": w_hh.detach().double().clone()}
        self.layers.append(lay)
        return lay

    def hook(self, tensor: torch.Tensor, store: list, t: int):
        if not tensor.requires_grad:
            return

        def h(g):
            store[t] = torch.linalg.vector_norm(g.detach(), dtype=torch.float64)

        self.handles.append(tensor.register_hook(h))

    def hook_output(self, out: torch.Tensor):
        if not out.requires_grad:
            return

        def h(g):
            self.outside_early = (g.detach()[:-1] != 0).any()

        self.handles.append(out.register_hook(h))


def _gates(kind, act, x, h_prev, w_ih, w_hh, b_ih, b_hh):
    """Every gate at every step, recomputed from the layer's input x_t and h_{t−1} (both
    [T, B, ·]) with the cell's equations in the model's precision, then in f64 as the probe
    reads them: a tuple of [T, B, H] tensors (LSTM i, f, g, o; GRU r, z, n; RNN h) and the
    RNN's pre-activation (for ReLU's derivative)."""
    gi = F.linear(x, w_ih, b_ih)
    gh = F.linear(h_prev, w_hh, b_hh)
    if kind == "lstm":
        ai, af, ag, ao = (gi + gh).chunk(4, -1)
        gates = (torch.sigmoid(ai), torch.sigmoid(af), torch.tanh(ag), torch.sigmoid(ao))
        return tuple(g.double() for g in gates), None
    if kind == "gru":
        ir, iz, i_n = gi.chunk(3, -1)
        hr, hz, h_n = gh.chunk(3, -1)
        r = torch.sigmoid(ir + hr)
        gates = (r, torch.sigmoid(iz + hz), torch.tanh(i_n + r * h_n))
        return tuple(g.double() for g in gates), None
    a = gi + gh
    return ((torch.relu(a) if act == "relu" else torch.tanh(a)).double(),), a.double()


def run(m: nn.Module, input, hx=None, tap: Optional[_Tap] = None):
    """The forward of nn.LSTM / nn.GRU / nn.RNN ``m`` step by step with its own parameters:
    the same result as ``m(input, hx)`` up to f32 rounding, with every h_t (and the LSTM's c_t)
    a separate tensor. With ``tap``, hooks on them record ‖∂L/∂h_t‖ and ‖∂L/∂c_t‖ in it."""
    kind = cell_kind(m)
    if kind is None:
        raise TypeError(f"gradscope.torch: not a recurrent module: {type(m).__name__}")
    name = tap.path if tap is not None else type(m).__name__
    if isinstance(input, PackedSequence):
        raise ValueError(
            f"gradscope.torch: unroll_recurrent: module `{name}` ({type(m).__name__}) was called "
            "with a PackedSequence; the unrolled forward needs a padded tensor (time steps of "
            "a padded sequence then count as steps). Pass a padded batch, or watch without "
            "unroll_recurrent."
        )
    check_supported(name, m)
    batched = input.dim() == 3
    x = input if batched else input.unsqueeze(1)
    if batched and m.batch_first:
        x = x.transpose(0, 1)
    steps, batch = x.shape[0], x.shape[1]
    n_layers, hidden = m.num_layers, m.hidden_size
    lstm = kind == "lstm"
    zeros = x.new_zeros(n_layers, batch, hidden)
    if hx is None:
        h0, c0 = zeros, (zeros if lstm else None)
    elif lstm:
        h0, c0 = hx
        if not batched:
            h0, c0 = h0.unsqueeze(1), c0.unsqueeze(1)
    else:
        h0, c0 = (hx if batched else hx.unsqueeze(1)), None
    act = _rnn_activation(m) if kind == "rnn" else None
    layer_in = x
    h_last, c_last = [], []
    for k in range(n_layers):
        w_ih = getattr(m, f"weight_ih_l{k}")
        w_hh = getattr(m, f"weight_hh_l{k}")
        b_ih = getattr(m, f"bias_ih_l{k}") if m.bias else None
        b_hh = getattr(m, f"bias_hh_l{k}") if m.bias else None
        lay = tap.new_layer(steps, w_hh) if tap is not None else None
        h = h0[k]
        c = c0[k] if lstm else None
        hs = []
        for t in range(steps):
            # PyTorch's own cell functions (what nn.LSTMCell / GRUCell / RNNCell call).
            if lstm:
                h, c_t = torch.lstm_cell(layer_in[t], (h, c), w_ih, w_hh, b_ih, b_hh)
                # The view is what step t + 1 (and c_n) read: its gradient is ∂L/∂c_t arriving
                # from later steps, without the part through h_t = o⊙tanh(c_t).
                c = c_t.view_as(c_t) if lay is not None else c_t
            elif kind == "gru":
                h = torch.gru_cell(layer_in[t], h, w_ih, w_hh, b_ih, b_hh)
            elif act == "relu":
                h = torch.rnn_relu_cell(layer_in[t], h, w_ih, w_hh, b_ih, b_hh)
            else:
                h = torch.rnn_tanh_cell(layer_in[t], h, w_ih, w_hh, b_ih, b_hh)
            if lay is not None:
                tap.hook(h, lay["h"], t)
                if lstm:
                    tap.hook(c, lay["c"], t)
            hs.append(h)
        if lay is not None:
            with torch.no_grad():
                h_prev = torch.stack([h0[k]] + hs[:-1]).detach()
                lay["gates"], lay["pre"] = _gates(kind, act, layer_in.detach(), h_prev,
                                                  w_ih, w_hh, b_ih, b_hh)
        out = torch.stack(hs)
        h_last.append(hs[-1])
        if lstm:
            c_last.append(c)
        if k + 1 < n_layers and m.dropout > 0 and m.training:
            layer_in = F.dropout(out, m.dropout, True)
        else:
            layer_in = out
    if tap is not None:
        tap.hook_output(layer_in)
    out = layer_in
    h_n = torch.stack(h_last)
    c_n = torch.stack(c_last) if lstm else None
    if not batched:
        out, h_n = out.squeeze(1), h_n.squeeze(1)
        c_n = c_n.squeeze(1) if lstm else None
    elif m.batch_first:
        out = out.transpose(0, 1)
    return (out, (h_n, c_n)) if lstm else (out, h_n)


# -- the record -----------------------------------------------------------------------------


def decay(norms, start, end):
    """(‖first‖/‖last‖, geometric-mean factor per step over the non-zero tail, leading exact
    zeros) over ``norms[start:end]`` — the probe's ``recurrent::decay``, rule for rule."""
    end = min(end, len(norms))
    if end < start + 2:
        return None, None, 0
    last = norms[end - 1]
    if not (last > 0 and math.isfinite(last)):
        return None, None, 0

    def ok(v):
        return v > 0 and math.isfinite(v)

    p = end - 1
    while p > start and ok(norms[p - 1]):
        p -= 1
    leading = sum(1 for v in norms[start:p] if v == 0.0)
    factor = (norms[p] / last) ** (1.0 / (end - 1 - p)) if p < end - 1 else None
    first = norms[start]
    return (first / last if math.isfinite(first) else None), factor, leading


def _probe_vector(n: int):
    """The probe's fixed ±1/√n pattern (xorshift64 from 0x9E3779B97F4A7C15; bit 0 picks the
    sign), so the Jacobian product starts from the same vector."""
    s = 1.0 / math.sqrt(max(n, 1))
    mask = (1 << 64) - 1
    state = 0x9E3779B97F4A7C15
    out = []
    for _ in range(n):
        state ^= (state << 13) & mask
        state ^= state >> 7
        state ^= (state << 17) & mask
        out.append(s if state & 1 == 0 else -s)
    return out


def _jacobian_transport(derivs: torch.Tensor, w_hh: torch.Tensor):
    """‖J_{t+1}ᵀ⋯J_Tᵀ v‖ for every t (J_t = diag(f'(a_t))·W_hh; ``derivs`` [T, B, H] in f64)
    and the geometric-mean factor per step, as the probe's ``jacobian_transport``."""
    steps, b, h = derivs.shape
    v = torch.tensor(_probe_vector(b * h), dtype=torch.float64, device=derivs.device).view(b, h)
    norms = [0.0] * steps
    norms[-1] = 1.0
    log_norm, dead = 0.0, False
    for t in range(steps - 1, 0, -1):
        if not dead:
            v = (v * derivs[t]) @ w_hh
            n = float(torch.linalg.vector_norm(v))
            if n > 0 and math.isfinite(n):
                log_norm += math.log(n)
                v = v / n
            else:
                dead = True
        norms[t - 1] = 0.0 if dead else math.exp(log_norm)
    factor = 0.0 if dead else math.exp(log_norm / (steps - 1))
    return norms, factor


@functools.lru_cache(maxsize=None)
def _facts(act: str) -> Activation:
    """The catalogue's facts of an activation (computed once: building them samples f')."""
    return Activation(act)


def _gate_stats(name: str, act: str, y: torch.Tensor, pre: Optional[torch.Tensor]):
    """One gate's statistics over every step, sample and unit, as the probe's GateAcc: |f'|
    from the gate value y (sigmoid, tanh; y in f64 as the probe reads it) or from the
    pre-activation (ReLU). Returns the record and |f'| (the RNN's Jacobian needs it)."""
    if act == "sigmoid":  # y in [0, 1]: y(1 − y) >= 0
        d, neg = y * (1 - y), y < 0.5
    elif act == "tanh":  # |y| <= 1: 1 − y² >= 0
        d, neg = 1 - y * y, y < 0
    else:  # relu, from a
        d, neg = (pre > 0).double(), pre < 0
    n = max(y.numel(), 1)
    sat = d < _facts(act).saturation_threshold
    total, low, mean, mean_d = torch.stack(
        [sat.sum().double(), (sat & neg).sum().double(), y.sum(), d.sum()]
    ).tolist()
    return {
        "gate": name,
        "activation": act,
        "mean": mean / n,
        "mean_abs_derivative": mean_d / n,
        "saturated_fraction": total / n,
        "saturated_low": low / n,
        "saturated_high": (total - low) / n,
    }, d


def _spectral_radius(w: torch.Tensor) -> float:
    """ρ(W) = max |λ| (NaN for a non-finite W, as the probe)."""
    if not bool(torch.isfinite(w).all()):
        return math.nan
    return float(torch.linalg.eigvals(w).abs().max())


def _sigma_max(w: torch.Tensor) -> float:
    """σ_max(W) = ‖W‖₂ (NaN for a non-finite W, as the probe)."""
    if not bool(torch.isfinite(w).all()):
        return math.nan
    return float(torch.linalg.matrix_norm(w, ord=2))


def _norms(store, steps):
    got = [(t, v) for t, v in enumerate(store) if v is not None]
    out = [0.0] * steps
    if got:
        vals = torch.stack([v.to(got[0][1].device) for _, v in got]).cpu().tolist()
        for (t, _), v in zip(got, vals):
            out[t] = v
    return out


def _record(tap: _Tap) -> dict:
    m = tap.module
    kind = cell_kind(m)
    act = _rnn_activation(m) if kind == "rnn" else None
    n_layers = len(tap.layers)
    early = tap.outside_early
    predict = "every_step" if early is not None and bool(early) else "last"
    layers = []
    for k, lay in enumerate(tap.layers):
        steps = len(lay["h"])
        hidden = m.hidden_size
        source = "last_step" if k + 1 == n_layers and predict == "last" else "every_step"
        grad_norms = _norms(lay["h"], steps)
        ftl, factor, underflow = decay(grad_norms, 0, steps)
        rec = {
            "layer": k + 1,
            "steps": steps,
            "hidden": hidden,
            "source": source,
            "grad_norms": grad_norms,
            "window_start": 1,
            "first_to_last": ftl,
            "per_step_factor": factor,
            "underflow_steps": underflow,
        }
        if kind == "lstm":
            cell = _norms(lay["c"], steps)
            rec["cell_grad_norms"] = cell
            cr, cf, _ = decay(cell, 0, steps - 1) if steps >= 1 else (None, None, 0)
            rec["cell_first_to_last"], rec["cell_per_step_factor"] = cr, cf
        names = _GATES[kind]
        acts = _GATE_ACT.get(kind, (act,))
        gates, derivs = [], None
        if steps > 0:
            for g, (gname, gact) in enumerate(zip(names, acts)):
                y, pre = lay["gates"][g], lay["pre"]
                stats, d = _gate_stats(gname, gact, y, pre)
                gates.append(stats)
                if kind == "rnn":
                    derivs = d
            rec["gate_source"] = "input"
        rec["gates"] = gates
        w = lay["w_hh"]
        rec["sigma_max"] = _sigma_max(w)
        if kind == "rnn":
            rec["spectral_radius"] = _spectral_radius(w)
            gamma = _facts(act).max_abs_derivative
            rec["gamma"] = gamma
            rec["pascanu_threshold"] = 1.0 / gamma if gamma > 0 else None
            if derivs is not None and steps > 1:
                norms, f = _jacobian_transport(derivs, w)
                rec["jacobian_norms"] = norms
                rec["jacobian_factor"] = f if math.isfinite(f) else None
        else:
            rec["blocks"] = [
                {"block": b,
                 "spectral_radius": _spectral_radius(w[i * hidden:(i + 1) * hidden]),
                 "sigma_max": _sigma_max(w[i * hidden:(i + 1) * hidden])}
                for i, b in enumerate(names)
            ]
        layers.append(rec)
    name = f"{kind}({m.input_size} -> {m.hidden_size}"
    if kind == "rnn":
        name += f", {act}"
    if n_layers > 1:
        name += f", layers={n_layers}"
    name += f", {predict})"
    return {
        "index": tap.index,
        "path": tap.path,
        "name": name,
        "cell": kind,
        "activation": act,
        "predict": predict,
        "layers": layers,
    }


def _json_safe(v):
    """Non-finite floats as None (JSON has no NaN; the library reads None back as NaN)."""
    if isinstance(v, float):
        return v if math.isfinite(v) else None
    if isinstance(v, dict):
        return {k: _json_safe(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_json_safe(x) for x in v]
    return v


def records(pending: dict) -> list:
    """The through-time records of a measured step's unrolled modules (empty when none ran)."""
    return [_json_safe(_record(tap)) for tap in pending.get("recurrent", ())]


# -- the scope's side -------------------------------------------------------------------------


def install(scope) -> list:
    """Replaces the forward of every recurrent module ``scope`` watches by one that unrolls on
    the scope's measured steps and calls the module's own forward on the others. Refuses
    (ValueError naming the module) what :func:`run` does not cover, before any change.
    Returns what :func:`uninstall` needs."""
    mods = [w for w in scope.watched if w.kind == "recurrent" and cell_kind(w.module)]
    for w in mods:
        check_supported(w.path, w.module)
    installed = []
    for w in mods:
        m = w.module
        had = "forward" in m.__dict__
        previous = m.__dict__.get("forward")
        original = m.forward

        def forward(input, hx=None, _w=w, _original=original):
            p = scope._pending
            if not (scope._measuring and p is not None and torch.is_grad_enabled()):
                return _original(input, hx)
            tap = _Tap(_w.path, _w.module, len(p["entries"]), scope._grad_handles)
            p.setdefault("recurrent", []).append(tap)
            return run(_w.module, input, hx, tap)

        m.forward = forward
        installed.append((m, had, previous))
    return installed


def uninstall(installed: list) -> None:
    """Gives the modules their own forward back."""
    for m, had, previous in installed:
        if had:
            m.forward = previous
        else:
            m.__dict__.pop("forward", None)
