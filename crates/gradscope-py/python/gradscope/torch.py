"""gradscope.torch: diagnose a PyTorch model's gradients with gradscope's verdict engine.

    scope = gradscope.torch.watch(model, every=10)
    for x, y in loader:
        loss = loss_fn(model(x), y)
        opt.zero_grad(); loss.backward(); opt.step()
        scope.loss(loss)            # optional: the loss of the measured steps
    print(scope.diagnosis())        # verdict, explanation with the numbers, remedies
    scope.write("runs/mine")        # diagnostics.jsonl, diagnosis.json, report.html

or ``with gradscope.torch.watch(model) as scope: ...`` (the hooks are removed on exit).

What is seen. Forward hooks on the modules gradscope knows — Linear, Conv1d/2d/3d (kind
``linear``, σ_w from fan_in = in_channels/groups × kernel size), the normalization layers
(BatchNorm → ``batchnorm1d``; LayerNorm, GroupNorm, InstanceNorm, RMSNorm → ``layernorm``),
the activation modules of the catalogue (:func:`activation_spec`) and nn.RNN/LSTM/GRU (kind
``recurrent``: norms only; with ``unroll_recurrent=True`` also the gradient through time).
A step is a forward of the watched model in training mode with
gradients enabled; step 1 and every ``every``-th step are measured: the hooks then attach
tensor hooks for this one backward (∂L/∂output of each module, ∂L/∂input of a weight layer,
∂L/∂p of every parameter), so unmeasured steps cost one Python call per module. An
activation's ∂L/∂z is f'(z) ⊙ ∂L/∂a (exact for elementwise f). On the CPU (float32/float64
tensors) every statistic is computed in Rust over the tensor's buffer, without a copy, by the
library's own code (``ActivationStats``, the probe's), with f' from gradscope's catalogue for
the modules whose f' it defines as PyTorch does (all but PReLU, RReLU and subclasses; the
tests check each against PyTorch's). Elsewhere (a GPU, half precision, those modules) by torch
operations on the tensors' device, f'(z) from PyTorch's autograd of the module
(``derivative="torch"``) or from the catalogue (``derivative="catalogue"``); only scalars and
histogram counts then move to the CPU, once per measured step.

What is not seen. Functional activations inside a module's ``forward`` (``torch.sigmoid(x)``,
``F.relu(x)``) are not modules, so no hook sees them: the verdict is computed from the
activation modules alone (a model with none has nothing to diagnose). Make them visible by
using the module (``self.act = nn.ReLU()`` … ``self.act(x)``). Not seen either: attention's
softmax inside nn.MultiheadAttention, embeddings, and — unless ``unroll_recurrent=True``,
which runs nn.RNN/LSTM/GRU step by step on the measured steps (:mod:`gradscope._recurrent`)
— the gradient through time inside them (PyTorch's fused kernels do not expose ∂L/∂h_t).
The update ratio ‖ΔW‖/‖W‖ is measured when the next step starts (or at
``diagnosis()``, which should come after ``optimizer.step()``).
"""

from __future__ import annotations

import math
import time
from typing import Optional

import numpy as np
import torch
from torch import nn

from . import Activation, Recorder, _gradscope, _recurrent

__all__ = ["Scope", "watch", "activation_spec", "derivative", "layer_kind"]

_NORMS_BATCH = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d, nn.SyncBatchNorm)
_NORMS_LAYER = tuple(
    c
    for c in (
        nn.LayerNorm,
        nn.GroupNorm,
        nn.InstanceNorm1d,
        nn.InstanceNorm2d,
        nn.InstanceNorm3d,
        getattr(nn, "RMSNorm", None),
    )
    if c is not None
)
_WEIGHTED = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d)
_RECURRENT = (nn.RNN, nn.LSTM, nn.GRU)


def activation_spec(m: nn.Module) -> Optional[str]:
    """The catalogue text form of an activation module, or None when it is not one."""
    if isinstance(m, nn.Sigmoid):
        return "sigmoid"
    if isinstance(m, nn.Tanh):
        return "tanh"
    if isinstance(m, nn.ReLU):
        return "relu"
    if isinstance(m, nn.LeakyReLU):
        return f"leaky_relu({float(m.negative_slope)!r})"
    if isinstance(m, nn.PReLU):
        init = float(m.weight.detach().float().mean().cpu())
        return f"prelu(init={init!r}, channels={m.num_parameters})"
    if isinstance(m, nn.RReLU):
        return f"rrelu(lower={float(m.lower)!r}, upper={float(m.upper)!r})"
    if isinstance(m, nn.ELU):
        return f"elu(alpha={float(m.alpha)!r})"
    if isinstance(m, nn.SELU):
        return "selu"
    if isinstance(m, nn.GELU):
        return "gelu" if m.approximate == "none" else "gelu_tanh"
    if isinstance(m, nn.SiLU):
        return "silu"
    if isinstance(m, nn.Mish):
        return "mish"
    if isinstance(m, nn.Softplus):
        return f"softplus(beta={float(m.beta)!r}, threshold={float(m.threshold)!r})"
    if isinstance(m, nn.Softsign):
        return "softsign"
    if isinstance(m, nn.Hardtanh):  # ReLU6 is a Hardtanh(0, 6)
        return f"hard_tanh(min={float(m.min_val)!r}, max={float(m.max_val)!r})"
    if isinstance(m, nn.Hardsigmoid):
        return "hard_sigmoid"
    if isinstance(m, nn.Hardswish):
        return "hard_swish"
    if isinstance(m, nn.Softmax) and m.dim in (-1, None):
        return "softmax"
    if isinstance(m, nn.LogSoftmax) and m.dim in (-1, None):
        return "log_softmax"
    return None


def layer_kind(m: nn.Module) -> Optional[str]:
    """gradscope's layer kind for a module, or None when the scope does not watch it."""
    if isinstance(m, _WEIGHTED):
        return "linear"
    if isinstance(m, _NORMS_BATCH):
        return "batchnorm1d"
    if isinstance(m, _NORMS_LAYER):
        return "layernorm"
    if isinstance(m, _RECURRENT):
        return "recurrent"
    if activation_spec(m) is not None:
        return "activation"
    return None


def _describe(m: nn.Module, kind: str, spec: Optional[str]) -> str:
    if spec is not None:
        return f"activation({spec})"
    if isinstance(m, nn.Linear):
        return f"linear({m.in_features} -> {m.out_features})"
    if isinstance(m, (nn.Conv1d, nn.Conv2d, nn.Conv3d)):
        k = "x".join(str(v) for v in m.kernel_size)
        return f"{type(m).__name__.lower()}({m.in_channels} -> {m.out_channels}, k={k})"
    if isinstance(m, _RECURRENT):
        return f"{type(m).__name__.lower()}({m.input_size} -> {m.hidden_size} x {m.num_layers})"
    return type(m).__name__.lower()


def derivative(m: nn.Module, z: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
    """f'(z) of activation module ``m`` (a = f(z) its output), on z's device: PyTorch's own
    backward formula for sigmoid (a(1 − a)), tanh (1 − a²), ReLU and LeakyReLU (from the sign
    of z), autograd of the module's forward for the others (RReLU at its mean slope). The
    tests check every mapped module against gradscope's catalogue."""
    z = z.detach()
    if type(m) is nn.Sigmoid:
        return a * (1 - a)
    if type(m) is nn.Tanh:
        return 1 - a * a
    if type(m) is nn.ReLU:
        return (z > 0).to(z.dtype)
    if type(m) is nn.LeakyReLU:
        one, slope = z.new_tensor(1.0), z.new_tensor(float(m.negative_slope))  # in z's dtype
        return torch.where(z > 0, one, slope)
    with torch.enable_grad():
        zz = z.requires_grad_(True)
        x = zz.clone() if getattr(m, "inplace", False) else zz  # in-place f: not into the leaf
        if isinstance(m, nn.RReLU):  # its training forward draws slopes: use the mean
            out = torch.nn.functional.rrelu(x, m.lower, m.upper, training=False)
        else:
            out = m.forward(x)
        (d,) = torch.autograd.grad(out, zz, torch.ones_like(out))
    return d


def _first_tensor(x):
    if isinstance(x, torch.Tensor):
        return x
    if isinstance(x, (tuple, list)) and x:
        return _first_tensor(x[0])
    return None


# Quantiles and histograms of a tensor with more values than this are those of a strided
# sample of about this many values (x[::stride]): an exact quantile sorts the tensor (~100 ms
# for 2^19 values on one core), a histogram costs ~10 passes over it. Norms, maxima, means and
# fractions always use every value.
SAMPLE_LIMIT = 1 << 14


def _sample(flat):
    n = flat.numel()
    return flat if n <= SAMPLE_LIMIT else flat[:: -(-n // SAMPLE_LIMIT)]


QUANTILES = (0.02, 0.25, 0.5, 0.75, 0.98)


def _quantiles(sample):
    """The QUANTILES of the finite values of `sample` (the value at rank
    floor(p·(n_finite − 1) + 0.5)), +inf when none is finite. On the CPU, when every value is
    finite, five kthvalue selections (O(n) each, ~4x faster than the sort for 2^14 values);
    otherwise a sort with the non-finite values moved to the end (no host sync on a GPU)."""
    ps = torch.tensor(QUANTILES, dtype=torch.float64, device=sample.device)
    n = sample.numel()
    if sample.device.type == "cpu" and n > 0 and bool(torch.isfinite(sample).all()):
        ranks = [int(math.floor(p * (n - 1) + 0.5)) for p in QUANTILES]
        return torch.stack([sample.kthvalue(r + 1).values for r in ranks])
    fin = torch.isfinite(sample)
    srt = torch.where(fin, sample, sample.new_tensor(math.inf)).sort().values
    nfin = fin.sum().double()
    return srt[torch.floor(ps * (nfin - 1).clamp(min=0) + 0.5).long()]


def _absmax(x):
    lo, hi = torch.aminmax(x)
    return torch.maximum(lo.abs(), hi.abs())


# Modules whose f' gradscope's catalogue defines as PyTorch computes it (the tests check each
# against ``derivative``): on the CPU their statistics come from the catalogue in Rust. Not
# PReLU (learned slopes), RReLU (random slopes), nor subclasses (their forward may differ).
_CATALOGUE_F = {
    nn.Sigmoid, nn.Tanh, nn.ReLU, nn.LeakyReLU, nn.ELU, nn.SELU, nn.GELU, nn.SiLU, nn.Mish,
    nn.Softplus, nn.Softsign, nn.Hardtanh, nn.ReLU6, nn.Hardsigmoid, nn.Hardswish,
    nn.Softmax, nn.LogSoftmax,
}


# False: every statistic by torch operations, as on a GPU (the tests compare the two paths).
_RUST = True


def _cpu_floats(t):
    """The values of a CPU float32/float64 tensor as a flat NumPy array sharing its memory
    (no copy when contiguous), or None for any other tensor (GPU, half precision, …)."""
    if not _RUST or t is None or t.device.type != "cpu" or t.dtype not in (torch.float32, torch.float64):
        return None
    t = t.detach()
    if t.is_neg():
        t = t.resolve_neg()
    return t.contiguous().view(-1).numpy()


def _sum(xs):
    """Σ of numbers and 0-d tensors: a float when all are numbers, else a float64 tensor."""
    tensors = [x for x in xs if isinstance(x, torch.Tensor)]
    if not tensors:
        return float(sum(xs))
    dev = tensors[0].device
    return torch.stack([torch.as_tensor(x, dtype=torch.float64).to(dev) for x in xs]).sum()


def _max(xs):
    """max of numbers and 0-d tensors (NaN when one is NaN), as :func:`_sum`."""
    tensors = [x for x in xs if isinstance(x, torch.Tensor)]
    if not tensors:
        return math.nan if any(math.isnan(x) for x in xs) else float(max(xs))
    dev = tensors[0].device
    return torch.stack([torch.as_tensor(x, dtype=torch.float64).to(dev) for x in xs]).max()


def _sqrt(x):
    return x.sqrt() if isinstance(x, torch.Tensor) else math.sqrt(x)


def _to_host(items):
    """Moves tensors to the CPU with one transfer per device: {key: float or list}."""
    by_device = {}
    for key, v in items:
        by_device.setdefault(v.device, []).append((key, v))
    out = {}
    for group in by_device.values():
        flat = torch.cat([v.detach().double().reshape(-1) for _, v in group]).cpu().tolist()
        i = 0
        for key, v in group:
            n = v.numel()
            out[key] = flat[i] if v.dim() == 0 else flat[i:i + n]
            i += n
    return out


def _measured(step: int, every: int) -> bool:
    return step == 1 or step % every == 0


class _Watched:
    """One watched module and what the scope knows of it."""

    def __init__(self, path: str, module: nn.Module, kind: str):
        self.path = path
        self.module = module
        self.kind = kind
        self.spec = activation_spec(module) if kind == "activation" else None
        self.facts = Activation(self.spec) if self.spec is not None else None
        self.name = _describe(module, kind, self.spec)
        self.inplace = bool(getattr(module, "inplace", False))
        # f' from the output a: for tanh and the sigmoid (1 − a², a(1 − a)), ReLU (a > 0 iff
        # z > 0) and an in-place LeakyReLU with slope ≥ 0 (the same); autograd keeps a.
        t = type(module)
        self.catalogue_f = t in _CATALOGUE_F
        self.from_output = t in (nn.Sigmoid, nn.Tanh)
        self.src_is_output = t in (nn.Sigmoid, nn.Tanh, nn.ReLU) or (
            t is nn.LeakyReLU and self.inplace and float(module.negative_slope) >= 0
        )


class Scope:
    """Hooks on a model's modules that record gradscope's per-layer measurements every
    ``every`` steps (and step 1); :meth:`diagnosis` judges them."""

    def __init__(
        self,
        model: nn.Module,
        every: int = 10,
        histograms: bool = True,
        bins: int = 24,
        derivative: str = "torch",
        name: Optional[str] = None,
        unroll_recurrent: bool = False,
    ):
        if every < 1:
            raise ValueError("every must be >= 1")
        if derivative not in ("torch", "catalogue"):
            raise ValueError("derivative must be 'torch' or 'catalogue'")
        if unroll_recurrent:
            _recurrent.check_model(model)  # before any hook is registered
        self.model = model
        self.every = int(every)
        self.histograms = histograms
        self.bins = int(bins)
        self.derivative = derivative
        self.name = name or type(model).__name__
        self.step = 0
        self._recorder = Recorder(self.every)
        self._measuring = False
        self._pending = None
        self._handles = []
        self._grad_handles = []
        self._last_time = time.perf_counter()
        self.watched = []
        for path, m in model.named_modules():
            kind = layer_kind(m)
            if kind is None:
                continue
            w = _Watched(path or type(m).__name__.lower(), m, kind)
            self.watched.append(w)
            if w.inplace and w.facts is not None:
                self._handles.append(m.register_forward_pre_hook(self._pre_hook(w)))
            self._handles.append(m.register_forward_hook(self._hook(w)))
        self._handles.insert(0, model.register_forward_pre_hook(self._root_pre))
        self._unrolled = _recurrent.install(self) if unroll_recurrent else []

    # -- the step -------------------------------------------------------------------------

    def _root_pre(self, module, args):
        if not (module.training and torch.is_grad_enabled()):
            self._measuring = False  # an eval forward adds nothing to a measured step's record
            return
        self._finalize()
        self.step += 1
        self._measuring = _measured(self.step, self.every)
        if not self._measuring:
            return
        x = _first_tensor(args)
        p = {"step": self.step, "entries": [], "params": {}, "backward": False,
             "loss": None, "batch_size": None, "input_q0": None}
        if x is not None:
            p["batch_size"] = int(x.shape[0]) if x.dim() > 0 else None
            xn = _cpu_floats(x)
            if xn is not None:  # mean x², from ‖x‖ in one pass
                p["input_q0"] = _gradscope.norm_max(xn)[0] ** 2 / max(xn.size, 1)
            elif x.is_floating_point():
                p["input_q0"] = x.detach().double().pow(2).mean()
        for prm in self.model.parameters():
            if prm.requires_grad:
                self._grad_handles.append(prm.register_hook(self._param_hook(prm, p)))
        self._pending = p

    def _param_hook(self, prm, p):
        def hook(g):
            gn = _cpu_floats(g)
            if gn is not None:
                n, m = _gradscope.norm_max(gn)
                p["params"][id(prm)] = (n * n, m)
            else:
                g = g.detach()
                p["params"][id(prm)] = (
                    torch.linalg.vector_norm(g).double().square(),
                    _absmax(g).double(),
                )
            p["backward"] = True

        return hook

    def _pre_hook(self, w: _Watched):
        # An in-place activation overwrites z: keep f'(z) where it needs z alone (ReLU,
        # LeakyReLU: one comparison), else a copy of z.
        from_z = type(w.module) in (nn.ReLU, nn.LeakyReLU) and self.derivative == "torch"

        def hook(module, args):
            if self._measuring and self._pending is not None:
                x = _first_tensor(args)
                if x is not None and not (w.src_is_output and self._in_rust(w, x)):
                    kept = ("d", derivative(module, x, None)) if from_z else ("z", x.detach().clone())
                    self._pending.setdefault("inplace_z", {})[id(w)] = kept

        return hook

    def _hook(self, w: _Watched):
        def hook(module, args, output):
            if not self._measuring or self._pending is None:
                return
            e = {"w": w, "t": {}}
            self._pending["entries"].append(e)
            x = _first_tensor(args)
            y = _first_tensor(output)
            if w.kind == "activation":
                z, d = x, None
                if w.inplace:
                    kind, v = self._pending.get("inplace_z", {}).pop(id(w), (None, None))
                    z, d = (v, None) if kind == "z" else (None, v)
                self._measure_activation(e, w, z, y, d)
            else:
                self._measure_weighted(e, w, x, y)

        return hook

    def loss(self, loss) -> None:
        """Records the batch loss of the step just run (read only on measured steps)."""
        p = self._pending
        if p is not None and p["step"] == self.step:
            p["loss"] = loss.detach() if isinstance(loss, torch.Tensor) else float(loss)

    # -- measurements, on the tensors' device ---------------------------------------------

    def _measure_weighted(self, e, w: _Watched, x, y):
        t = e["t"]
        m = w.module
        if x is not None and x.requires_grad:
            self._grad_slot(x)["targets"].append((t, "grad_in"))
        if y is not None and y.requires_grad:
            self._grad_slot(y)["targets"].append((t, "grad_out"))
        weight = getattr(m, "weight", None) if w.kind != "recurrent" else None
        if w.kind == "recurrent":
            params = [p for p in m.parameters()]
            sq = sum(p.detach().double().pow(2).sum() for p in params)
            t["weight_norm"] = sq.sqrt()
            e["params"] = params
            return
        if not isinstance(weight, torch.Tensor):
            return
        e["params"] = [weight]
        e["before"] = weight.detach().clone()
        b = getattr(m, "bias", None) if w.kind == "linear" else None
        wn, bn = _cpu_floats(weight), _cpu_floats(b)
        if wn is not None and (b is None or (bn is not None and b.dtype == weight.dtype)):
            fan_in = weight[0].numel() if w.kind == "linear" else None
            norm, sigma_w, sigma_b2 = _gradscope.measure_weight(wn, fan_in, bn)
            t["weight_norm"] = norm
            if w.kind == "linear":
                t["sigma_w"], t["sigma_b2"] = sigma_w, sigma_b2
            return
        w64 = weight.detach().double()
        s, q, n = w64.sum(), w64.pow(2).sum(), w64.numel()
        t["weight_norm"] = q.sqrt()
        if w.kind == "linear":
            fan_in = weight[0].numel()
            var = (q / n - (s / n) ** 2).clamp(min=0.0)
            t["sigma_w"] = (var * fan_in).sqrt()
            b = getattr(m, "bias", None)
            t["sigma_b2"] = b.detach().double().pow(2).mean() if b is not None else w64.new_zeros(())

    def _grad_slot(self, tensor):
        """The one gradient hook of this version of ``tensor`` on the measured step, shared by
        the modules that read it (one module's output is the next one's input): ``targets``,
        the (t, key) to fill with ‖g‖ and max |g|, and ``act``, the Rust hook of the
        activation whose output it is (which gives them with ∂L/∂z)."""
        slots = self._pending.setdefault("grad_slots", {})
        key = (id(tensor), tensor._version)  # an in-place op makes a new version
        slot = slots.get(key)
        if slot is None:
            slot = slots[key] = {"tensor": tensor, "targets": [], "act": None}
            self._grad_handles.append(tensor.register_hook(self._slot_hook(slot)))
        return slot

    def _slot_hook(self, slot):
        def hook(g):
            if slot["act"] is not None:
                norm, mx = slot["act"](g)
            else:
                gn = _cpu_floats(g)
                if gn is not None:
                    norm, mx = _gradscope.norm_max(gn)
                else:
                    g = g.detach()
                    norm, mx = torch.linalg.vector_norm(g).double(), _absmax(g)
            for t, key in slot["targets"]:
                t[key + "_norm"], t[key + "_max"] = norm, mx

        return hook

    def _derivative(self, w: _Watched, z, a):
        if self.derivative == "catalogue":
            d = w.facts.df(z.detach().double().cpu().numpy())
            return torch.from_numpy(d).to(device=z.device, dtype=z.dtype)
        return derivative(w.module, z, a)

    def _in_rust(self, w: _Watched, a) -> bool:
        """Whether activation ``w``'s statistics of output ``a`` are computed in Rust: a CPU
        float32/float64 tensor, f' the catalogue's."""
        return (
            _RUST
            and (w.catalogue_f or self.derivative == "catalogue")
            and a.device.type == "cpu"
            and a.dtype in (torch.float32, torch.float64)
        )

    def _measure_activation(self, e, w: _Watched, z, a, d=None):
        if d is None and self._in_rust(w, a):
            src = None if w.facts.is_rowwise else (a if w.src_is_output else z)
            if src is None or src.dtype == a.dtype:
                return self._measure_activation_rust(e, w, src, a)
        t = e["t"]
        facts = w.facts
        flat = a.detach().reshape(-1)
        n = max(flat.numel(), 1)
        mean = flat.sum().double() / n
        t["act_mean"] = mean
        t["act_std"] = torch.linalg.vector_norm(flat - mean.to(flat.dtype)).double() / math.sqrt(n)
        sample = _sample(flat)
        t["act_quantiles"] = _quantiles(sample)
        eps = facts.range_end_epsilon
        if eps is not None:
            lo, hi = facts.range
            if lo is not None and hi is not None:
                near = (flat <= lo + eps) | (flat >= hi - eps)
            elif lo is not None:
                near = flat <= lo + eps
            else:
                near = flat >= hi - eps
            t["range_end_fraction"] = near.sum().double() / n
        rows = a.shape[0] if a.dim() > 1 else 1
        # amax(|a|) != 0 rather than (a != 0).any(): the same (NaN counts as alive) without a
        # boolean tensor of a's size, ~6x faster on the CPU.
        alive = a.detach().reshape(rows, -1).abs().amax(dim=0) != 0
        t["dead_fraction"] = 1.0 - alive.sum().double() / max(alive.numel(), 1)
        if d is None and z is not None and not facts.is_rowwise:
            d = self._derivative(w, z, a.detach())
        if d is not None:
            d = d.reshape(-1)
            t["mean_abs_derivative"] = torch.linalg.vector_norm(d, 1).double() / n
            t["mean_sq_derivative"] = torch.linalg.vector_norm(d).double().square() / n
            sat = d.abs() < facts.saturation_threshold  # one comparison, not two and an &
            t["saturated_fraction"] = sat.sum().double() / n
        if self.histograms:
            e["act_hist"] = self._linear_hist(sample, flat)
        if a.requires_grad:
            self._grad_handles.append(a.register_hook(self._act_grad_hook(e, d)))

    def _measure_activation_rust(self, e, w: _Watched, src, a):
        """The CPU path of :meth:`_measure_activation`: every statistic in one Rust call
        over a's buffer (no copy), the library's ``ActivationStats::measure_sampled``, which
        gradscope's probe measures with; f' from ``src`` (z, or a itself)."""
        rows = a.shape[0] if a.dim() > 1 else 1
        cols = a.numel() // rows if rows else 0
        s = _gradscope.measure_activation(
            w.facts, _cpu_floats(a), cols, _cpu_floats(src), SAMPLE_LIMIT,
            self.bins if self.histograms else None,
        )
        hist = s.pop("act_hist", None)
        e["t"].update(s)
        if hist is not None:
            e["act_hist"] = ("done", hist)
        if a.requires_grad:
            self._grad_slot(a)["act"] = self._act_grad_hook_rust(e, w, src)

    def _act_grad_hook_rust(self, e, w: _Watched, src):
        def hook(g):
            dt = src.dtype if src is not None else g.dtype
            if g.device.type != "cpu" or dt not in (torch.float32, torch.float64) or g.dtype != dt:
                g = g.detach().to("cpu", dt if dt in (torch.float32, torch.float64) else torch.float64)
            (gn, gm), gin, hist = _gradscope.activation_grad(
                w.facts, _cpu_floats(g), _cpu_floats(src), w.from_output, SAMPLE_LIMIT,
                self.bins if self.histograms else None,
            )
            t = e["t"]
            t["grad_out_norm"], t["grad_out_max"] = gn, gm
            if gin is not None:
                t["grad_in_norm"], t["grad_in_max"] = gin
            if hist is not None:
                e["grad_hist"] = ("done", hist)
            return gn, gm

        return hook

    def _act_grad_hook(self, e, d):
        def hook(g):
            g = g.detach()
            t = e["t"]
            t["grad_out_norm"] = torch.linalg.vector_norm(g).double()
            t["grad_out_max"] = _absmax(g)
            if d is not None:
                gin = g.reshape(-1) * d
                t["grad_in_norm"] = torch.linalg.vector_norm(gin).double()
                t["grad_in_max"] = _absmax(gin)
                if self.histograms:
                    e["grad_hist"] = self._log_hist(_sample(gin))

        return hook

    def _linear_hist(self, x, span):
        """The histogram of `x` (a tensor or its strided sample) over `bins` equal bins between
        the finite extremes of `span` (the whole tensor), non-finite values of `x` above — the
        library's definition (`ActivationStats::measure_sampled`)."""
        bins = self.bins
        lo, hi = torch.aminmax(span)
        if not bool(torch.isfinite(lo) & torch.isfinite(hi)):  # the range of the finite ones
            fin = span[torch.isfinite(span)]
            lo, hi = (torch.aminmax(fin) if fin.numel() else (fin.new_tensor(0.0), fin.new_tensor(1.0)))
            keep = torch.isfinite(x)
            nonfin = (~keep).sum()
            x = x[keep]
        else:
            nonfin = torch.zeros((), dtype=torch.long, device=x.device)
        lo, hi = lo.double(), hi.double()
        hi = torch.where(hi <= lo, lo + 1.0, hi)
        k = ((x - lo.to(x.dtype)) * (bins / (hi - lo)).to(x.dtype)).long().clamp_(0, bins - 1)
        counts = torch.bincount(k, minlength=bins)
        return ("linear", lo, hi, counts, nonfin)

    def _log_hist(self, g):
        bins, lo, hi = self.bins, -14.0, 2.0
        # Bin index floor((log10|g| − lo)/(hi − lo)·bins): below 10^lo (and NaN) → -1,
        # at or above 10^hi → bins.
        a = g.abs().float()
        k = ((a.log10() - lo) * (bins / (hi - lo))).floor_()
        k = torch.nan_to_num_(k, nan=-1.0, posinf=float(bins), neginf=-1.0).clamp_(-1, bins).long()
        counts = torch.bincount(k + 1, minlength=bins + 2)
        return ("log", counts[1:-1], counts[0], counts[-1])

    # -- to the recorder ------------------------------------------------------------------

    def _finalize(self):
        p, self._pending = self._pending, None
        self._measuring = False
        for h in self._grad_handles:
            h.remove()
        self._grad_handles = []
        if p is None or not p["backward"]:
            return
        # Gather every device scalar in one transfer per device.
        scalars = []
        for e in p["entries"]:
            for k, v in e["t"].items():
                if isinstance(v, torch.Tensor):  # else already a number (from Rust)
                    scalars.append((e["t"], k, v))
            params = e.get("params")
            if params:
                got = [p["params"][id(q)] for q in params if id(q) in p["params"]]
                if got:
                    e["t"]["weight_grad_norm"] = _sqrt(_sum([g[0] for g in got]))
                    e["t"]["weight_grad_max"] = _max([g[1] for g in got])
                    for k in ("weight_grad_norm", "weight_grad_max"):
                        if isinstance(e["t"][k], torch.Tensor):
                            scalars.append((e["t"], k, e["t"][k]))
            if "before" in e:
                now = e["w"].module.weight.detach()
                bn, nn_ = _cpu_floats(e["before"]), _cpu_floats(now)
                if bn is not None and nn_ is not None and now.dtype == e["before"].dtype:
                    e["t"]["update_ratio"] = _gradscope.update_ratio(bn, nn_)
                else:
                    wb = e["before"].double()
                    now = now.double()
                    wn = wb.pow(2).sum()
                    r = torch.where(wn > 0, (now - wb).pow(2).sum().div(wn).sqrt(),
                                    wn.new_tensor(math.nan))
                    e["t"]["update_ratio"] = r
                    scalars.append((e["t"], "update_ratio", r))
        gsq = [v[0] for v in p["params"].values()]
        extra = {}
        if gsq:
            extra["grad_norm"] = _sqrt(_sum(gsq))
        if isinstance(p["loss"], torch.Tensor):
            extra["loss"] = p["loss"].double()
        if p["input_q0"] is not None:
            extra["input_q0"] = p["input_q0"]
        on_device = [(k, v) for k, v in extra.items() if isinstance(v, torch.Tensor)]
        host = _to_host([((id(t), k), v) for (t, k, v) in scalars] + on_device)
        extra_host = {k: host[k] if isinstance(v, torch.Tensor) else v for k, v in extra.items()}
        layers = []
        for e in p["entries"]:
            w, t = e["w"], e["t"]
            rec = {"kind": w.kind, "path": w.path, "name": w.name}
            if w.spec is not None:
                rec["activation"] = w.spec
            for k, v in t.items():
                if isinstance(v, torch.Tensor):
                    v = host[(id(t), k)]
                if k == "act_quantiles":
                    rec[k] = None if v is None else tuple(float(q) for q in v)
                else:
                    rec[k] = float(v)
            rec.setdefault("grad_out_norm", 0.0)
            rec.setdefault("grad_out_max", 0.0)
            if "act_hist" in e and e["act_hist"][0] == "done":
                rec["act_hist"] = e["act_hist"][1]
            elif "act_hist" in e:
                _, lo, hi, counts, nonfin = e["act_hist"]
                lo, hi = float(lo), float(hi)
                edges = [lo + (hi - lo) * i / self.bins for i in range(self.bins + 1)]
                rec["act_hist"] = (edges, counts.cpu().tolist(), 0, int(nonfin))
            if "grad_hist" in e and e["grad_hist"][0] == "done":
                rec["grad_hist"] = e["grad_hist"][1]
            elif "grad_hist" in e:
                _, counts, below, above = e["grad_hist"]
                edges = [10.0 ** (-14.0 + 16.0 * i / self.bins) for i in range(self.bins + 1)]
                rec["grad_hist"] = (edges, counts.cpu().tolist(), int(below), int(above))
            layers.append(rec)
        loss = extra_host.get("loss", p["loss"] if isinstance(p["loss"], float) else math.nan)
        if not math.isnan(loss):
            self._recorder.add_loss(p["step"], loss)
        self._recorder.add_step(
            p["step"],
            loss,
            extra_host.get("grad_norm", 0.0),
            layers,
            batch_size=p["batch_size"],
            input_q0=extra_host.get("input_q0"),
            recurrent=_recurrent.records(p) or None,
        )
        now = time.perf_counter()
        self._recorder.add_time(now - self._last_time)
        self._last_time = now

    # -- results ----------------------------------------------------------------------------

    def diagnosis(self):
        """The diagnosis of the steps measured so far (call it after ``optimizer.step()``)."""
        self._finalize()
        return self._recorder.diagnosis(self.name)

    def write(self, directory) -> "object":
        """Writes diagnostics.jsonl, diagnosis.json and report.html into ``directory``;
        returns the diagnosis. ``gradscope report DIR`` renders the full report with charts."""
        self._finalize()
        return self._recorder.write(str(directory), self.name)

    def records_jsonl(self) -> str:
        """The measured records as diagnostics.jsonl text."""
        self._finalize()
        return self._recorder.records_jsonl()

    def remove(self) -> None:
        """Removes every hook (the records are kept)."""
        self._finalize()
        for h in self._handles:
            h.remove()
        self._handles = []
        _recurrent.uninstall(self._unrolled)
        self._unrolled = []

    close = remove

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()
        return False

    def __len__(self):
        return len(self._recorder) + (1 if self._pending and self._pending["backward"] else 0)


def watch(model: nn.Module, every: int = 10, **kwargs) -> Scope:
    """Watches ``model``: hooks that measure step 1 and every ``every``-th training step.
    Keyword arguments: ``histograms`` (True), ``bins`` (24), ``derivative`` ("torch" or
    "catalogue"), ``name`` (the model's class name), ``unroll_recurrent`` (False; True runs
    nn.RNN/LSTM/GRU step by step on measured steps to record the gradient through time, see
    :mod:`gradscope._recurrent`). Usable as a context manager."""
    return Scope(model, every=every, **kwargs)
