#!/usr/bin/env python3
"""Cross-check `gradscope grads` against PyTorch autograd (see docs/torch-check.md).

Usage (a dev tool; needs an interpreter that can import torch, numpy and safetensors):

    PYTHON=python-with-torch
    $PYTHON scripts/torch_check.py                 # gradscope in f64: 14 fixed + 80 random MLP
                                                   # + 48 random recurrent models
    $PYTHON scripts/torch_check.py --dtype f32     # gradscope in f32
    $PYTHON scripts/torch_check.py --models 1000 --seed 7 -q
    $PYTHON scripts/torch_check.py --models 0 --rec-models 1000 -q
    $PYTHON scripts/torch_check.py --models 0 --rec-models 0 \
        --write-fixtures crates/gradscope/tests/fixtures/torch

For every case the script builds the network in PyTorch float64 exactly as gradscope's
`MlpSpec::build` lays it out (nn.Sequential: Linear -> [BatchNorm1d | LayerNorm] ->
activation -> [Dropout] per hidden layer, width-keeping blocks wrapped as `Residual` modules
whose `block` is an nn.Sequential, output Linear, optional head activation), draws random
non-trivial weights (PReLU slopes, BatchNorm and LayerNorm affine parameters and BatchNorm's
running statistics included), and
writes into a temporary directory:

    <case>.toml                the gradscope config ([model] and [training].loss)
    <case>.weights.safetensors safetensors.torch.save_file(model.state_dict(), ...)
    <case>.batch.safetensors   x [N, input] (float64) and y (int64 class indices for
                               cross-entropy, float64 targets otherwise)

then runs `gradscope grads --dtype f64|f32 --mode train|eval` and compares every tensor of
its output with PyTorch: the loss, the output, every parameter's .grad, and dL/dz and dL/da of
every activation (retain_grad on the intermediate tensors). Names and shapes must match
exactly.

Recurrent cases (RecCase) are a module `RecNet` with attributes `rnn` (nn.RNN tanh/relu,
nn.LSTM, nn.GRU; 1 or 2 layers) and `fc` (the head, laid out as above), predicting from the
last step or every step; x is [N, T*I]. Besides the tensors above they compare dout.rnn
(out.grad of `out, _ = rnn(x)`), the total dL/dh_t of every layer and step (dh.l<k>, from the
module's parameters run step by step with torch.lstm_cell & co. so that every h_t is a graph
node) and the per-step norms grad_norm_h.l<k> and grad_norm_c.l<k> (LSTM: the part of dL/dc_t
arriving through c_(t+1)). One fixed case saves its weights from a user's module (`lstm`,
`linear`) and runs grads with --rename.

Metric per tensor: max over elements of |a - b| / max(|b|, RHO * max|b|, RHO * terms), b from
PyTorch float64, a from gradscope, RHO = 1e-6 (1e-2 for f32), and `terms` the sum of the
absolute values of the terms the element adds up (term_bounds); the last floor only matters
where those terms cancel, e.g. the exactly-zero gradient of a bias before a train-mode
BatchNorm, which is rounding noise in both programs. The final line reads e.g.

    torch_check: 88 models, max relative error 4.3e-11 (f64), all <= 1e-08

and the exit status is 1 if any tensor exceeds the tolerance (1e-8 for f64; 1e-3 for f32
unless PyTorch's own float32 result is at least half as far off), any name or shape differs,
or any run fails.

--write-fixtures DIR also saves the fixed cases into DIR as <case>.toml,
<case>.weights.safetensors, <case>.batch.safetensors and <case>.expected.safetensors (the
PyTorch results under gradscope's names, plus `terms.<name>`), and manifest.json (name, mode,
loss); the CLI test `crates/gradscope-cli/tests/cli/grads.rs` replays them without torch.
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from safetensors.numpy import load_file as load_numpy
from safetensors.torch import save_file
from torch import nn

torch.set_default_dtype(torch.float64)
ROOT = Path(__file__).resolve().parent.parent

# --------------------------------------------------------------------------------------------
# Activations: the gradscope text form and the PyTorch module.
# --------------------------------------------------------------------------------------------

# Every activation of the catalogue (`gradscope activations --format json`), base names.
CATALOGUE = [
    "sigmoid",
    "improved_sigmoid",
    "tanh",
    "softmax",
    "log_softmax",
    "relu",
    "leaky_relu",
    "prelu",
    "rrelu",
    "elu",
    "selu",
    "swish",
    "silu",
    "gelu",
    "gelu_tanh",
    "softplus",
    "softsign",
    "mish",
    "hard_sigmoid",
    "hard_swish",
    "hard_tanh",
    "identity",
]


class Swish(nn.Module):
    """x * sigmoid(beta * x)."""

    def __init__(self, beta: float):
        super().__init__()
        self.beta = beta

    def forward(self, x):
        return x * torch.sigmoid(self.beta * x)


class ImprovedSigmoid(nn.Module):
    """sigmoid(alpha * x) + beta * x."""

    def __init__(self, alpha: float, beta: float):
        super().__init__()
        self.alpha = alpha
        self.beta = beta

    def forward(self, x):
        return torch.sigmoid(self.alpha * x) + self.beta * x


class HardsigmoidExact(nn.Module):
    """clamp(x/6 + 1/2, 0, 1) with the exact derivative 1/6 on (-3, 3).

    nn.Hardsigmoid's CPU backward multiplies by the float32 constant 1.0f/6.0f even for
    float64 tensors (0.1666666716..., relative error 3.0e-8), so the reference uses this
    formula; `--torch-builtin` switches back to nn.Hardsigmoid to show the difference.
    """

    def forward(self, x):
        inside = (x > -3.0) & (x < 3.0)
        return torch.where(inside, x / 6.0 + 0.5, (x >= 3.0).to(x.dtype))


class GeluErfc(nn.Module):
    """x * Phi(x) = x/2 * erfc(-x/sqrt 2): nn.GELU()'s function, accurate in the left tail.

    nn.GELU() computes x/2 * (1 + erf(x/sqrt 2)), which cancels for x < -5: in float64 its
    forward and backward lose relative accuracy (about 1e-10 at x = -5.9, 5e-8 at -7, 3e-4 at
    -8, everything at -9), so the reference uses erfc; `--torch-builtin` switches back.
    """

    def forward(self, x):
        return 0.5 * x * torch.erfc(-x / math.sqrt(2.0))


# --torch-builtin: reference nn.Hardsigmoid and nn.GELU() themselves.
USE_TORCH_BUILTIN = False


class Residual(nn.Module):
    """x + block(x); state-dict names `<i>.block.<j>.weight`."""

    def __init__(self, layers):
        super().__init__()
        self.block = nn.Sequential(*layers)

    def forward(self, x):
        return x + self.block(x)


ACTIVATION_MODULES = (
    nn.Sigmoid,
    nn.Tanh,
    nn.Softmax,
    nn.LogSoftmax,
    nn.ReLU,
    nn.LeakyReLU,
    nn.PReLU,
    nn.RReLU,
    nn.ELU,
    nn.SELU,
    nn.SiLU,
    nn.GELU,
    nn.Softplus,
    nn.Softsign,
    nn.Mish,
    nn.Hardsigmoid,
    nn.Hardswish,
    nn.Hardtanh,
    nn.Identity,
    Swish,
    ImprovedSigmoid,
    HardsigmoidExact,
    GeluErfc,
)


@dataclass
class Act:
    name: str
    params: dict = field(default_factory=dict)

    def text(self) -> str:
        if not self.params:
            return self.name
        args = ", ".join(f"{k}={v!r}" for k, v in self.params.items())
        return f"{self.name}({args})"

    def short(self) -> str:
        if self.name == "prelu":
            return f"prelu(ch={self.params['channels']})"
        return self.name

    def module(self) -> nn.Module:
        p = self.params
        n = self.name
        if n == "sigmoid":
            return nn.Sigmoid()
        if n == "improved_sigmoid":
            return ImprovedSigmoid(p["alpha"], p["beta"])
        if n == "tanh":
            return nn.Tanh()
        if n == "softmax":
            return nn.Softmax(dim=1)
        if n == "log_softmax":
            return nn.LogSoftmax(dim=1)
        if n == "relu":
            return nn.ReLU()
        if n == "leaky_relu":
            return nn.LeakyReLU(p["slope"])
        if n == "prelu":
            return nn.PReLU(num_parameters=p["channels"], init=p["init"])
        if n == "rrelu":
            return nn.RReLU(p["lower"], p["upper"])
        if n == "elu":
            return nn.ELU(p["alpha"])
        if n == "selu":
            return nn.SELU()
        if n == "swish":
            return Swish(p["beta"])
        if n == "silu":
            return nn.SiLU()
        if n == "gelu":
            return nn.GELU() if USE_TORCH_BUILTIN else GeluErfc()
        if n == "gelu_tanh":
            return nn.GELU(approximate="tanh")
        if n == "softplus":
            return nn.Softplus(beta=p["beta"], threshold=p["threshold"])
        if n == "softsign":
            return nn.Softsign()
        if n == "mish":
            return nn.Mish()
        if n == "hard_sigmoid":
            return nn.Hardsigmoid() if USE_TORCH_BUILTIN else HardsigmoidExact()
        if n == "hard_swish":
            return nn.Hardswish()
        if n == "hard_tanh":
            return nn.Hardtanh(p["min"], p["max"])
        if n == "identity":
            return nn.Identity()
        raise ValueError(f"unknown activation {n}")


def rnd(rng: np.random.Generator, lo: float, hi: float, digits: int = 4) -> float:
    return round(float(rng.uniform(lo, hi)), digits)


def random_act(name: str, width: int, rng: np.random.Generator) -> Act:
    """The activation `name` with random (valid, non-default) parameters."""
    if name == "improved_sigmoid":
        return Act(name, {"alpha": rnd(rng, 0.5, 3.0), "beta": rnd(rng, 0.0, 0.3)})
    if name == "leaky_relu":
        return Act(name, {"slope": rnd(rng, 0.005, 0.3)})
    if name == "prelu":
        channels = int(rng.choice([1, width])) if width > 1 else 1
        return Act(name, {"init": rnd(rng, 0.05, 0.4), "channels": channels})
    if name == "rrelu":
        lower = rnd(rng, 0.05, 0.2)
        return Act(name, {"lower": lower, "upper": rnd(rng, 0.25, 0.5)})
    if name == "elu":
        return Act(name, {"alpha": rnd(rng, 0.2, 2.0)})
    if name == "swish":
        return Act(name, {"beta": rnd(rng, 0.3, 3.0)})
    if name == "softplus":
        # A small threshold exercises the linear branch (beta*x > threshold) too.
        return Act(name, {"beta": rnd(rng, 0.5, 3.0), "threshold": rnd(rng, 0.5, 4.0)})
    if name == "hard_tanh":
        return Act(name, {"min": rnd(rng, -2.0, -0.3), "max": rnd(rng, 0.3, 2.0)})
    return Act(name)


# --------------------------------------------------------------------------------------------
# Cases.
# --------------------------------------------------------------------------------------------


@dataclass
class Case:
    name: str
    input: int
    hidden: list
    output: int
    acts: list  # one Act per hidden layer
    head: Act
    loss: str  # cross_entropy | bce_with_logits | mse
    mode: str  # train | eval
    n: int
    seed: int
    norm: str = "none"  # none | batchnorm | layernorm
    bn_eps: float = 1e-5
    ln_eps: float = 1e-5
    ln_affine: bool = True
    residual: bool = False
    dropout: float = 0.0
    bias: bool = True
    y_layout: str = "default"  # default | column ([N,1] labels) | flat ([N] targets, output 1)
    wscale: float = 1.0  # scale of the random Linear weights and biases
    note: str = ""

    def toml(self) -> str:
        acts = ", ".join(f'"{a.text()}"' for a in self.acts)
        lines = [
            f"# torch_check case {self.name}" + (f": {self.note}" if self.note else ""),
            f"# run with: gradscope grads --mode {self.mode} --dtype f64 ...",
            'dtype = "f64"',
            "",
            "[model]",
            f"input = {self.input}",
            f"hidden = [{', '.join(str(h) for h in self.hidden)}]",
            f"output = {self.output}",
            f"activations = [{acts}]",
            f'head = "{self.head.text()}"',
            f'norm = "{self.norm}"',
            f"bn_eps = {self.bn_eps!r}",
        ]
        if self.norm == "layernorm":
            lines += [f"ln_eps = {self.ln_eps!r}", f"ln_affine = {str(self.ln_affine).lower()}"]
        lines += [
            f"dropout = {self.dropout!r}",
            f"residual = {str(self.residual).lower()}",
            f"bias = {str(self.bias).lower()}",
            "",
            "[training]",
            f'loss = "{self.loss}"',
            "",
        ]
        return "\n".join(lines)

    def norm_short(self) -> str:
        if self.norm == "batchnorm":
            return " bn"
        if self.norm == "layernorm":
            return " ln" if self.ln_affine else " ln-noaffine"
        return ""

    def describe(self) -> str:
        parts = []
        prev = self.input
        for h, a in zip(self.hidden, self.acts):
            inner = f"{h}" + self.norm_short() + f" {a.short()}"
            if self.dropout > 0:
                inner += f" drop{self.dropout}"
            parts.append(f"res[{inner}]" if self.residual and prev == h else f"[{inner}]")
            prev = h
        head = "" if self.head.name == "identity" else f" {self.head.short()}"
        bias = "" if self.bias else " nobias"
        return (
            f"{self.mode} N={self.n} {self.input} -> {' '.join(parts) or '(no hidden)'} -> "
            f"{self.output}{head}, {self.loss}{bias}"
        )


def needs_eval(case: Case) -> bool:
    return any(a.name == "rrelu" for a in case.acts + [case.head]) or case.dropout > 0


def fixture_cases() -> list:
    """Hand-picked small cases (also written by --write-fixtures)."""
    rng = np.random.default_rng(12345)
    cat_eval = [random_act(n, 3, rng) for n in CATALOGUE]
    cat_train = [random_act(n, 3, rng) for n in CATALOGUE if n != "rrelu"]
    return [
        Case(
            "catalogue_eval_residual",
            3, [3] * len(cat_eval), 3, cat_eval, Act("identity"),
            "cross_entropy", "eval", 5, 1, residual=True, wscale=0.4,
            note="every activation once, each in a residual block; eval (RReLU)",
        ),
        Case(
            "catalogue_train_batchnorm",
            4, [3] * len(cat_train), 2, cat_train, Act("identity"),
            "mse", "train", 5, 2, norm="batchnorm",
            note="every activation but RReLU after Linear -> BatchNorm1d (batch statistics)",
        ),
        Case(
            "batchnorm_eval_prelu",
            5, [4, 4, 3], 2,
            [Act("prelu", {"init": 0.2, "channels": 4}), Act("tanh"),
             Act("prelu", {"init": 0.1, "channels": 1})],
            Act("identity"), "bce_with_logits", "eval", 6, 3, norm="batchnorm", residual=True,
            bn_eps=1e-3, note="BatchNorm1d running statistics, per-channel and shared PReLU",
        ),
        Case(
            "cross_entropy_column_labels_nobias",
            4, [5, 3], 4, [Act("gelu"), Act("softplus", {"beta": 2.0, "threshold": 1.0})],
            Act("identity"), "cross_entropy", "train", 7, 4, bias=False, y_layout="column",
            note="labels of shape [N, 1] (int64), bias-free linear layers",
        ),
        Case(
            "mse_softmax_head",
            3, [4], 3, [Act("log_softmax")], Act("softmax"), "mse", "train", 4, 5,
            note="row-wise activations as hidden layer and head",
        ),
        Case(
            "logistic_flat_targets",
            6, [], 1, [], Act("identity"), "bce_with_logits", "train", 8, 6, y_layout="flat",
            note="no hidden layer; targets of shape [N] for one output",
        ),
        Case(
            "dropout_eval_residual",
            4, [4, 4], 3, [Act("gelu_tanh"), Act("rrelu", {"lower": 0.1, "upper": 0.3})],
            Act("sigmoid"), "mse", "eval", 5, 7, residual=True, dropout=0.4,
            note="Dropout(0.4) in eval mode inside residual blocks; sigmoid head",
        ),
        Case(
            "single_sample_train",
            3, [2], 2, [Act("elu", {"alpha": 0.7})], Act("identity"),
            "cross_entropy", "train", 1, 8, note="a batch of one sample",
        ),
        Case(
            "layernorm_train_residual",
            4, [5, 5, 5, 3], 3,
            [Act("tanh"), Act("gelu"), Act("hard_swish"), Act("sigmoid")], Act("identity"),
            "cross_entropy", "train", 6, 9, norm="layernorm", residual=True,
            note="Linear -> LayerNorm(eps=1e-5, affine) -> activation, residual blocks",
        ),
        Case(
            "layernorm_noaffine_single_sample",
            3, [4, 4], 2, [Act("relu"), Act("softplus", {"beta": 1.5, "threshold": 3.0})],
            Act("tanh"), "mse", "train", 1, 10, norm="layernorm", ln_eps=0.1,
            ln_affine=False, note="LayerNorm(eps=0.1, elementwise_affine=False) on one sample",
        ),
    ]


def random_case(i: int, rng: np.random.Generator) -> Case:
    depth = int(rng.integers(1, 5))
    mode = "train" if rng.random() < 0.6 else "eval"
    residual = bool(rng.random() < 0.4)
    width = int(rng.integers(1, 8))
    hidden = []
    for _ in range(depth):
        # Width-keeping layers (residual candidates) half of the time.
        hidden.append(width if (residual and rng.random() < 0.6) else int(rng.integers(1, 8)))
        width = hidden[-1]
    # Cycle the first activation through the catalogue so every one is covered; the others
    # are random.
    names = [CATALOGUE[i % len(CATALOGUE)]] + [
        CATALOGUE[int(rng.integers(len(CATALOGUE)))] for _ in range(depth - 1)
    ]
    acts = [random_act(n, h, rng) for n, h in zip(names, hidden)]
    loss = ["cross_entropy", "bce_with_logits", "mse"][int(rng.integers(3))]
    output = int(rng.integers(2, 6)) if loss == "cross_entropy" else int(rng.integers(1, 5))
    head = Act("identity")
    if loss == "mse" and rng.random() < 0.6:
        choices = [n for n in CATALOGUE if output >= 2 or n not in ("softmax", "log_softmax")]
        head = random_act(choices[int(rng.integers(len(choices)))], output, rng)
    r = rng.random()
    norm = "batchnorm" if r < 0.3 else ("layernorm" if r < 0.5 else "none")
    case = Case(
        f"random_{i:03d}",
        int(rng.integers(1, 8)), hidden, output, acts, head, loss, mode,
        n=int(rng.integers(1, 10)), seed=1000 + i, norm=norm,
        bn_eps=float(rng.choice([1e-5, 1e-3, 0.1])), residual=residual,
        bias=bool(rng.random() < 0.85),
    )
    if rng.random() < 0.25:
        case.dropout = rnd(rng, 0.1, 0.6, 2)  # only evaluated in eval mode
    if needs_eval(case):
        case.mode = "eval"
    if norm == "layernorm":
        case.ln_eps = case.bn_eps
        case.ln_affine = bool(rng.random() < 0.7)
    if case.mode == "train" and norm == "batchnorm" and case.n < 2:
        case.n = 2 + int(rng.integers(0, 6))
    if loss == "cross_entropy" and rng.random() < 0.25:
        case.y_layout = "column"
    if loss != "cross_entropy" and output == 1 and rng.random() < 0.5:
        case.y_layout = "flat"
    return case


# --------------------------------------------------------------------------------------------
# Recurrent cases: nn.RNN / nn.LSTM / nn.GRU (attribute `rnn`) and an MLP head (`fc`).
# --------------------------------------------------------------------------------------------


@dataclass
class RecCase:
    """A recurrent model as `[model.recurrent]` builds it: a PyTorch module with attributes
    `rnn` (nn.RNN/LSTM/GRU, num_layers = layers, batch_first=False) and `fc` (the head, an
    nn.Sequential laid out like an MLP case with input = hidden_size)."""

    name: str
    cell: str  # rnn | lstm | gru
    nonlinearity: str  # tanh | relu (rnn only)
    input: int  # features per step
    hidden_size: int
    layers: int
    predict: str  # last | every_step
    hidden: list  # the head's hidden widths ([] or [h])
    acts: list  # one Act per head hidden layer
    output: int
    loss: str
    n: int
    steps: int
    seed: int
    head: Act = field(default_factory=lambda: Act("identity"))
    # default | column ([rows, 1] labels) | flat ([rows] targets, output 1)
    # | nt ([N, T] labels, [N, T, out] targets; every_step) | nt_flat ([N, T], output 1)
    y_layout: str = "default"
    wscale: float = 2.0  # recurrent weights from U(-wscale/sqrt(H), wscale/sqrt(H))
    user_module: bool = False  # weights saved from a user's module (`lstm`, `linear`)
    note: str = ""
    mode: str = "train"

    @property
    def renames(self) -> list:
        return [f"{self.cell}.=rnn.", "linear.=fc.0."] if self.user_module else []

    def head_case(self) -> Case:
        return Case(f"{self.name}_head", self.hidden_size, self.hidden, self.output, self.acts,
                    self.head, self.loss, self.mode, self.n, self.seed)

    def rows(self) -> int:
        return self.n * self.steps if self.predict == "every_step" else self.n

    def toml(self) -> str:
        acts = ", ".join(f'"{a.text()}"' for a in self.acts)
        lines = [
            f"# torch_check case {self.name}" + (f": {self.note}" if self.note else ""),
            f"# run with: gradscope grads --mode {self.mode} --dtype f64 "
            + "".join(f"--rename {r} " for r in self.renames) + "...",
            'dtype = "f64"',
            "",
            "[model]",
            f"input = {self.input}",
            f"hidden = [{', '.join(str(h) for h in self.hidden)}]",
            f"output = {self.output}",
            f"activations = [{acts}]",
            f'head = "{self.head.text()}"',
            "",
            "[model.recurrent]",
            f'cell = "{self.cell}"',
            f"hidden = {self.hidden_size}",
            f"layers = {self.layers}",
        ]
        if self.cell == "rnn":
            lines.append(f'activation = "{self.nonlinearity}"')
        lines += [
            f'predict = "{self.predict}"',
            "",
            "[training]",
            f'loss = "{self.loss}"',
            "",
        ]
        return "\n".join(lines)

    def describe(self) -> str:
        cell = f"rnn-{self.nonlinearity}" if self.cell == "rnn" else self.cell
        layers = f" x{self.layers}" if self.layers > 1 else ""
        head = " ".join(f"[{h} {a.short()}]" for h, a in zip(self.hidden, self.acts))
        head = (head + " -> ") if head else ""
        act = "" if self.head.name == "identity" else f" {self.head.short()}"
        y = "" if self.y_layout == "default" else f" y:{self.y_layout}"
        user = ", user module + --rename" if self.user_module else ""
        return (
            f"N={self.n} T={self.steps} {cell}{layers}({self.input} -> {self.hidden_size}, "
            f"{self.predict}) -> {head}{self.output}{act}, {self.loss}{y}{user}"
        )


def recurrent_fixture_cases() -> list:
    """Hand-picked small recurrent cases (also written by --write-fixtures)."""
    return [
        RecCase(
            "rnn_tanh_last_cross_entropy", "rnn", "tanh", 3, 4, 1, "last", [], [], 3,
            "cross_entropy", 4, 7, 21,
            note="nn.RNN(tanh), many-to-one, Linear head on h_T",
        ),
        RecCase(
            "rnn_relu_two_layers_every_step_mse", "rnn", "relu", 2, 4, 2, "every_step", [3],
            [Act("tanh")], 2, "mse", 3, 6, 22, y_layout="nt",
            note="nn.RNN(relu, num_layers=2), many-to-many, targets [N, T, out]",
        ),
        RecCase(
            "gru_two_layers_every_step_cross_entropy", "gru", "tanh", 3, 5, 2, "every_step",
            [], [], 4, "cross_entropy", 3, 5, 23, y_layout="nt",
            note="nn.GRU(num_layers=2), many-to-many, labels [N, T]",
        ),
        RecCase(
            "lstm_user_module_renamed_bce", "lstm", "tanh", 2, 4, 2, "last", [], [], 2,
            "bce_with_logits", 3, 8, 24, user_module=True,
            note="nn.LSTM(num_layers=2) + nn.Linear saved from a module with attributes "
            "`lstm` and `linear`; loaded with --rename lstm.=rnn. --rename linear.=fc.0.",
        ),
    ]


def random_rec_case(i: int, rng: np.random.Generator) -> RecCase:
    cell, nonlin = [("rnn", "tanh"), ("rnn", "relu"), ("lstm", "tanh"), ("gru", "tanh")][i % 4]
    predict = "every_step" if rng.random() < 0.5 else "last"
    loss = ["cross_entropy", "bce_with_logits", "mse"][int(rng.integers(3))]
    output = int(rng.integers(2, 5)) if loss == "cross_entropy" else int(rng.integers(1, 4))
    hidden, acts = [], []
    if rng.random() < 0.5:
        hidden = [int(rng.integers(1, 7))]
        name = CATALOGUE[int(rng.integers(len(CATALOGUE)))]
        while name == "rrelu":  # random slopes in train mode
            name = CATALOGUE[int(rng.integers(len(CATALOGUE)))]
        acts = [random_act(name, hidden[0], rng)]
    head = Act("identity")
    if loss == "mse" and rng.random() < 0.3:
        head = Act(["tanh", "sigmoid", "softplus"][int(rng.integers(3))])
        if head.name == "softplus":
            head = random_act("softplus", output, rng)
    case = RecCase(
        f"random_rec_{i:03d}", cell, nonlin, int(rng.integers(1, 5)), int(rng.integers(1, 7)),
        int(rng.integers(1, 3)), predict, hidden, acts, output, loss,
        n=int(rng.integers(1, 6)), steps=int(rng.integers(1, 13)), seed=5000 + i, head=head,
        wscale=rnd(rng, 1.0, 2.5, 2),
    )
    r = rng.random()
    if loss == "cross_entropy":
        if predict == "every_step" and r < 0.4:
            case.y_layout = "nt"
        elif r > 0.75:
            case.y_layout = "column"
    elif predict == "every_step" and r < 0.4:
        case.y_layout = "nt_flat" if output == 1 and r < 0.2 else "nt"
    elif output == 1 and r > 0.6:
        case.y_layout = "flat"
    return case


# --------------------------------------------------------------------------------------------
# PyTorch side.
# --------------------------------------------------------------------------------------------


def build_torch(case: Case) -> nn.Sequential:
    layers = []
    prev = case.input
    for h, act in zip(case.hidden, case.acts):
        block = [nn.Linear(prev, h, bias=case.bias)]
        if case.norm == "batchnorm":
            block.append(nn.BatchNorm1d(h, eps=case.bn_eps, momentum=0.1))
        elif case.norm == "layernorm":
            block.append(nn.LayerNorm(h, eps=case.ln_eps, elementwise_affine=case.ln_affine))
        block.append(act.module())
        if case.dropout > 0:
            block.append(nn.Dropout(case.dropout))
        if case.residual and prev == h:
            layers.append(Residual(block))
        else:
            layers.extend(block)
        prev = h
    layers.append(nn.Linear(prev, case.output, bias=case.bias))
    if case.head.name != "identity":
        layers.append(case.head.module())
    return nn.Sequential(*layers)


def randomize(model: nn.Module, gen: torch.Generator, wscale: float = 1.0) -> None:
    """Random non-trivial weights, slopes, affine parameters and running statistics."""

    def u(shape, lo, hi):
        return lo + (hi - lo) * torch.rand(shape, generator=gen)

    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.Linear):
                fan_in = m.in_features
                scale = wscale * float(u((), 0.6, 2.2)) / math.sqrt(fan_in)
                m.weight.copy_(torch.randn(m.weight.shape, generator=gen) * scale)
                if m.bias is not None:
                    m.bias.copy_(torch.randn(m.bias.shape, generator=gen) * 0.5 * wscale)
            elif isinstance(m, nn.BatchNorm1d):
                c = m.num_features
                sign = torch.where(torch.rand(c, generator=gen) < 0.2, -1.0, 1.0)
                m.weight.copy_(u(c, 0.4, 2.0) * sign)
                m.bias.copy_(torch.randn(c, generator=gen) * 0.5)
                m.running_mean.copy_(torch.randn(c, generator=gen) * 0.7)
                m.running_var.copy_(u(c, 0.2, 3.0))
                m.num_batches_tracked.fill_(int(torch.randint(0, 1000, (), generator=gen)))
            elif isinstance(m, nn.LayerNorm) and m.weight is not None:
                c = m.weight.shape[0]
                sign = torch.where(torch.rand(c, generator=gen) < 0.2, -1.0, 1.0)
                m.weight.copy_(u(c, 0.4, 2.0) * sign)
                m.bias.copy_(torch.randn(c, generator=gen) * 0.5)
            elif isinstance(m, nn.PReLU):
                m.weight.copy_(u(m.weight.shape, -0.3, 0.8))


def record_forward(seq: nn.Sequential, x, steps: list, prefix: str = ""):
    """Forward through `seq`, appending (name, module, input, output, substeps) for every
    layer; activation inputs and outputs keep their gradients (retain_grad)."""
    h = x
    for j, m in enumerate(seq):
        name = f"{prefix}{j}"
        if isinstance(m, Residual):
            sub = []
            out = h + record_forward(m.block, h, sub, f"{name}.block.")
            steps.append((name, m, h, out, sub))
        else:
            if isinstance(m, ACTIVATION_MODULES):
                h.retain_grad()
            out = m(h)
            if isinstance(m, ACTIVATION_MODULES):
                out.retain_grad()
            steps.append((name, m, h, out, None))
        h = out
    return h


def activations(steps: list):
    """(name, z, a) of every activation, in forward order."""
    for name, m, inp, out, sub in steps:
        if sub is not None:
            yield from activations(sub)
        elif isinstance(m, ACTIVATION_MODULES):
            yield name, inp, out


def derivative_terms(m: nn.Module, z, a):
    """|f'(z)| of an element-wise activation, or the sum of the |terms| f'(z) is computed
    from where they can cancel (near a zero of f', or 1 - a^2 for a saturated tanh)."""
    zz = z.clone().requires_grad_(True)
    with torch.enable_grad():
        (fprime,) = torch.autograd.grad(m(zz).sum(), zz)
    terms = fprime.abs()
    s = torch.sigmoid
    if isinstance(m, nn.Sigmoid):  # a (1 - a)
        terms = a + a * a
    elif isinstance(m, nn.Tanh):  # 1 - a^2
        terms = 1.0 + a * a
    elif isinstance(m, ImprovedSigmoid):  # alpha s(alpha z)(1 - s(alpha z)) + beta
        q = s(m.alpha * z)
        terms = abs(m.alpha) * (q + q * q) + abs(m.beta)
    elif isinstance(m, (nn.SiLU, Swish)):  # s(bz) + bz s(bz)(1 - s(bz))
        b = m.beta if isinstance(m, Swish) else 1.0
        q = s(b * z)
        terms = q + (b * z).abs() * (q + q * q)
    elif isinstance(m, GeluErfc) or (isinstance(m, nn.GELU) and m.approximate == "none"):
        # Phi(z) + z phi(z)
        phi = torch.exp(-0.5 * z * z) / math.sqrt(2 * math.pi)
        terms = 0.5 * torch.erfc(-z / math.sqrt(2)) + z.abs() * phi
    elif isinstance(m, nn.GELU):  # (1 + t)/2 + z/2 (1 - t^2) k (1 + 3c z^2)
        k, c = math.sqrt(2 / math.pi), 0.044715
        t = torch.tanh(k * (z + c * z**3))
        terms = 0.5 * (1 + t) + 0.5 * z.abs() * (1 + t * t) * k * (1 + 3 * c * z * z)
    elif isinstance(m, nn.Mish):  # tanh(sp) + z s(z) (1 - tanh(sp)^2)
        t = torch.tanh(nn.functional.softplus(z))
        terms = t.abs() + z.abs() * s(z) * (1 + t * t)
    elif isinstance(m, nn.Hardswish):  # z/3 + 1/2 on (-3, 3): 0 at z = -3/2
        terms = torch.where((z > -3.0) & (z < 3.0), z.abs() / 3.0 + 0.5, fprime.abs())
    return torch.maximum(terms, fprime.abs())


def term_bounds(steps: list, bound, training: bool, bounds: dict):
    """Backward pass of the magnitudes of the terms: for every gradient, the sum of the
    absolute values of the terms it adds up (|J|^T |g| with the cancelling parts of
    BatchNorm and softmax taken apart). Where these terms cancel, e.g. the exactly-zero
    gradient of a bias before a train-mode BatchNorm, a result is rounding noise of size
    ~eps * bound in PyTorch and gradscope alike; rel_error's floor uses this scale.

    `bound` is the bound of the gradient at the output of `steps`; fills `bounds` (by result
    name) and returns the bound at the input.
    """
    for name, m, inp, out, sub in reversed(steps):
        inp = inp.detach()
        if sub is not None:
            bound = bound + term_bounds(sub, bound, training, bounds)
        elif isinstance(m, nn.Linear):
            bounds[f"grad.{name}.weight"] = bound.t() @ inp.abs()
            if m.bias is not None:
                bounds[f"grad.{name}.bias"] = bound.sum(0)
            bound = bound @ m.weight.detach().abs()
        elif isinstance(m, nn.BatchNorm1d):
            batch = training and inp.shape[0] > 1
            if batch:
                mean, var = inp.mean(0), inp.var(0, unbiased=False)
            else:
                mean, var = m.running_mean, m.running_var
            inv_std = 1.0 / torch.sqrt(var + m.eps)
            # |x - mean| may be pure cancellation (e.g. a constant column): its terms.
            xhat = (inp.abs() + mean.abs()) * inv_std
            bounds[f"grad.{name}.weight"] = (bound * xhat).sum(0)
            bounds[f"grad.{name}.bias"] = bound.sum(0)
            k = m.weight.detach().abs() * inv_std
            if batch:
                n = inp.shape[0]
                bound = k / n * (n * bound + bound.sum(0) + xhat * (bound * xhat).sum(0))
            else:
                bound = k * bound
        elif isinstance(m, nn.LayerNorm):
            # Per row: dx = r (g' - mean(g') - xhat mean(g' xhat)), g' = gamma g.
            mean = inp.mean(1, keepdim=True)
            inv_std = 1.0 / torch.sqrt(inp.var(1, unbiased=False, keepdim=True) + m.eps)
            xhat = (inp.abs() + mean.abs()) * inv_std
            if m.weight is not None:
                bounds[f"grad.{name}.weight"] = (bound * xhat).sum(0)
                bounds[f"grad.{name}.bias"] = bound.sum(0)
                bound = bound * m.weight.detach().abs()
            c = inp.shape[1]
            bound = inv_std / c * (
                c * bound + bound.sum(1, keepdim=True) + xhat * (bound * xhat).sum(1, keepdim=True)
            )
        elif isinstance(m, ACTIVATION_MODULES):
            bounds[f"da.{name}"] = bound
            a = out.detach()
            if isinstance(m, nn.Softmax):  # dz = a * (g - sum(a g))
                bound = a * (bound + (a * bound).sum(1, keepdim=True))
            elif isinstance(m, nn.LogSoftmax):  # dz = g - softmax * sum(g)
                bound = bound + a.exp() * bound.sum(1, keepdim=True)
            else:  # element-wise: dz = f'(z) g
                if isinstance(m, nn.PReLU):
                    t = bound * inp.abs() * (inp <= 0)
                    per_channel = m.weight.numel() > 1
                    bounds[f"grad.{name}.weight"] = t.sum(0) if per_channel else t.sum().reshape(1)
                bound = derivative_terms(m, inp, a) * bound
            bounds[f"dz.{name}"] = bound
        # Dropout is only checked in eval mode, where it is the identity.
    return bound


def make_batch(case: Case, gen: torch.Generator):
    x = torch.randn(case.n, case.input, generator=gen) * (0.5 + 2.5 * torch.rand((), generator=gen))
    if case.loss == "cross_entropy":
        y = torch.randint(0, case.output, (case.n,), generator=gen, dtype=torch.int64)
        y_file = y.view(case.n, 1) if case.y_layout == "column" else y
    elif case.loss == "bce_with_logits":
        y = torch.rand(case.n, case.output, generator=gen)
        hard = torch.rand((), generator=gen) < 0.5
        if hard:
            y = (y < 0.5).to(torch.float64)
        y_file = y.view(case.n) if case.y_layout == "flat" else y
    else:
        y = torch.randn(case.n, case.output, generator=gen)
        y_file = y.view(case.n) if case.y_layout == "flat" else y
    return x, y, y_file


def torch_reference(case: Case, model: nn.Sequential, x, y):
    """PyTorch's results (the names of gradscope's output) and their term bounds."""
    model.train(case.mode == "train")
    steps = []
    out = record_forward(model, x, steps)
    out.retain_grad()
    if case.loss == "cross_entropy":
        loss = nn.CrossEntropyLoss()(out, y)
    elif case.loss == "bce_with_logits":
        loss = nn.BCEWithLogitsLoss()(out, y)
    else:
        loss = nn.MSELoss()(out, y)
    loss.backward()
    expected = {"loss": loss.detach().clone(), "output": out.detach().clone()}
    for name, p in model.named_parameters():
        expected[f"grad.{name}"] = p.grad.detach().clone()
    for name, z, a in activations(steps):
        expected[f"dz.{name}"] = z.grad.detach().clone()
        expected[f"da.{name}"] = a.grad.detach().clone()
    o = out.detach()
    with torch.no_grad():
        bound = output_bound(case.loss, case.output, o, y)
        bounds = {}
        term_bounds(steps, bound, case.mode == "train", bounds)
    return expected, bounds


def output_bound(loss, width, o, y):
    """Bound of dL/doutput from the loss gradient's terms, e.g. (softmax + onehot)/N."""
    if loss == "cross_entropy":
        onehot = nn.functional.one_hot(y, width).to(o.dtype)
        return (torch.softmax(o, 1) + onehot) / o.shape[0]
    if loss == "bce_with_logits":
        return (torch.sigmoid(o) + y.abs()) / o.numel()
    return 2.0 * (o.abs() + y.abs()) / o.numel()


class RecNet(nn.Module):
    """What `[model.recurrent]` builds: `rnn` (batch_first=False) and the head `fc`; x is
    [N, T*I] (batch-first, time-major within a row), the output [N, out] (predict = last, the
    head on out[-1]) or [N*T, out] (every_step, rows in (sample, step) order)."""

    def __init__(self, case: RecCase):
        super().__init__()
        self.case = case
        if case.cell == "rnn":
            self.rnn = nn.RNN(case.input, case.hidden_size, num_layers=case.layers,
                              nonlinearity=case.nonlinearity)
        else:
            cls = nn.LSTM if case.cell == "lstm" else nn.GRU
            self.rnn = cls(case.input, case.hidden_size, num_layers=case.layers)
        self.fc = build_torch(case.head_case())

    def sequence(self, x):
        """[N, T*I] -> [T, N, I]."""
        c = self.case
        return x.view(x.shape[0], c.steps, c.input).transpose(0, 1)

    def features(self, out):
        """The head's input from the top layer's outputs [T, N, H]."""
        if self.case.predict == "last":
            return out[-1]
        return out.transpose(0, 1).reshape(-1, out.shape[-1])


class UserLSTM(nn.Module):
    """A user's many-to-one LSTM with its own attribute names (`lstm`, `linear`): its
    state_dict loads into gradscope with --rename lstm.=rnn. --rename linear.=fc.0."""

    def __init__(self, input_size, hidden_size, num_layers, output):
        super().__init__()
        self.lstm = nn.LSTM(input_size, hidden_size, num_layers=num_layers, batch_first=True)
        self.linear = nn.Linear(hidden_size, output)

    def forward(self, x):  # x [N, T, I]
        out, _ = self.lstm(x)
        return self.linear(out[:, -1])


def randomize_rnn(rnn: nn.Module, gen: torch.Generator, scale: float) -> None:
    """Every recurrent parameter from U(-scale/sqrt(H), scale/sqrt(H)): PyTorch's init times
    `scale`, so the gates leave their linear regime."""
    k = scale / math.sqrt(rnn.hidden_size)
    with torch.no_grad():
        for p in rnn.parameters():
            p.copy_((2.0 * torch.rand(p.shape, generator=gen) - 1.0) * k)


def unroll(rnn: nn.Module, cell: str, nonlinearity: str, xs):
    """Runs `rnn` step by step with its own parameters (torch.lstm_cell etc., PyTorch's cell
    kernels) so that every h_t is a node of the graph: returns the top layer's outputs
    [T, N, H] and, per layer, the list of h_t and the list of the c_t as they enter step t+1
    (aliases whose gradient is the part of dL/dc_t arriving through c_(t+1))."""
    steps, n = xs.shape[0], xs.shape[1]
    hsz = rnn.hidden_size
    inputs = [xs[t] for t in range(steps)]
    hs_layers, cs_layers = [], []
    for k in range(rnn.num_layers):
        w = [getattr(rnn, f"{a}_l{k}") for a in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
        h = xs.new_zeros(n, hsz)
        c = xs.new_zeros(n, hsz)
        hs, cs = [], []
        for t in range(steps):
            if cell == "lstm":
                h, c_new = torch.lstm_cell(inputs[t], (h, c), *w)
                c = c_new.clone()  # the alias carried to step t+1
                cs.append(c)
            elif cell == "gru":
                h = torch.gru_cell(inputs[t], h, *w)
            elif nonlinearity == "tanh":
                h = torch.rnn_tanh_cell(inputs[t], h, *w)
            else:
                h = torch.rnn_relu_cell(inputs[t], h, *w)
            hs.append(h)
        hs_layers.append(hs)
        cs_layers.append(cs)
        inputs = hs
    return torch.stack(inputs), hs_layers, cs_layers


def make_rec_batch(case: RecCase, gen: torch.Generator):
    """x [N, T*I]; y for the loss ([rows] labels or [rows, out] targets) and as stored."""
    n, t, rows, out = case.n, case.steps, case.rows(), case.output
    x = torch.randn(n, t * case.input, generator=gen) * (0.5 + 1.5 * torch.rand((), generator=gen))
    every = case.predict == "every_step"
    if case.loss == "cross_entropy":
        y = torch.randint(0, out, (rows,), generator=gen, dtype=torch.int64)
        shapes = {"default": [rows], "column": [rows, 1], "nt": [n, t]}
    else:
        y = torch.rand(rows, out, generator=gen) if case.loss == "bce_with_logits" else \
            torch.randn(rows, out, generator=gen)
        if case.loss == "bce_with_logits" and torch.rand((), generator=gen) < 0.5:
            y = (y < 0.5).to(torch.float64)
        shapes = {"default": [rows, out], "flat": [rows], "nt": [n, t, out], "nt_flat": [n, t]}
    assert every or case.y_layout not in ("nt", "nt_flat"), case.name
    return x, y, y.reshape(shapes[case.y_layout])


def loss_fn(name: str):
    return {"cross_entropy": nn.CrossEntropyLoss(), "bce_with_logits": nn.BCEWithLogitsLoss(),
            "mse": nn.MSELoss()}[name]


def rec_reference(case: RecCase, model: RecNet, x, y):
    """PyTorch's results for a recurrent case under gradscope's names, and the term bounds of
    the head's gradients and of dout.rnn (the recurrent parameters' gradients, dh and the
    norms get none: their floor is RHO * max|b|)."""
    model.train(True)
    model.zero_grad()
    xs = model.sequence(x)
    out, _ = model.rnn(xs)
    out.retain_grad()
    steps_rec = []
    logits = record_forward(model.fc, model.features(out), steps_rec, "fc.")
    loss = loss_fn(case.loss)(logits, y)
    loss.backward()
    expected = {"loss": loss.detach().clone(), "output": logits.detach().clone()}
    for name, p in model.named_parameters():
        expected[f"grad.{name}"] = p.grad.detach().clone()
    for name, z, a in activations(steps_rec):
        expected[f"dz.{name}"] = z.grad.detach().clone()
        expected[f"da.{name}"] = a.grad.detach().clone()
    expected["dout.rnn"] = out.grad.detach().clone()

    # Step by step with the same parameters: the total dL/dh_t of every layer and step.
    top, hs_layers, cs_layers = unroll(model.rnn, case.cell, case.nonlinearity, xs)
    loss2 = loss_fn(case.loss)(model.fc(model.features(top)), y)
    params = list(model.parameters())
    nodes = [h for hs in hs_layers for h in hs] + [c for cs in cs_layers for c in cs]
    grads = torch.autograd.grad(loss2, nodes + params, allow_unused=True)
    # The unrolled graph must be the module's: the same parameter gradients (checked in
    # float64; float32 rounding differs between the fused kernels and the cell functions).
    for (name, p), g in zip(model.named_parameters(), grads[len(nodes):]):
        if x.dtype != torch.float64:
            break
        err = rel_error(g.detach().numpy(), p.grad.detach().numpy())
        assert err <= 1e-10, f"{case.name}: unrolled {name} differs from nn.{case.cell}: {err:.1e}"
    gi = iter(grads[:len(nodes)])
    dh_all = [[next(gi) for _ in hs] for hs in hs_layers]
    dc_all = [[next(gi) for _ in cs] for cs in cs_layers]
    for k in range(case.layers):
        dh = torch.stack([g.detach() for g in dh_all[k]])
        expected[f"dh.l{k}"] = dh.clone()
        expected[f"grad_norm_h.l{k}"] = torch.linalg.vector_norm(dh.flatten(1), dim=1)
        if case.cell == "lstm":
            dc = [torch.zeros_like(dh[0]) if g is None else g.detach() for g in dc_all[k]]
            expected[f"grad_norm_c.l{k}"] = torch.linalg.vector_norm(
                torch.stack(dc).flatten(1), dim=1)
    o = logits.detach()
    with torch.no_grad():
        bound = output_bound(case.loss, case.output, o, y)
        bounds = {}
        at_input = term_bounds(steps_rec, bound, True, bounds)
        # The head's input bound is the bound of dL/dout at the steps the head reads.
        dout = torch.zeros_like(expected["dout.rnn"])
        if case.predict == "last":
            dout[-1] = at_input
        else:
            dout.copy_(at_input.view(case.n, case.steps, -1).transpose(0, 1))
        bounds["dout.rnn"] = dout
    return expected, bounds


def prepare_rec(case: RecCase, directory: Path, stem: str, torch32: bool = False):
    gen = torch.Generator().manual_seed(case.seed)
    model = RecNet(case)
    randomize_rnn(model.rnn, gen, case.wscale)
    randomize(model.fc, gen)
    x, y, y_file = make_rec_batch(case, gen)
    (directory / f"{stem}.toml").write_text(case.toml())
    state = {k: v.detach().clone().contiguous() for k, v in model.state_dict().items()}
    if case.user_module:
        # Saved from the user's own module: load our weights into it and check it computes
        # the same thing.
        user = UserLSTM(case.input, case.hidden_size, case.layers, case.output)
        user.load_state_dict({k.replace("rnn.", "lstm.").replace("fc.0.", "linear."): v
                              for k, v in state.items()})
        with torch.no_grad():
            a = user(x.view(case.n, case.steps, case.input))
            b = model.fc(model.features(model.rnn(model.sequence(x))[0]))
        assert torch.allclose(a, b, rtol=1e-13, atol=0), "UserLSTM differs from RecNet"
        state = {k: v.detach().clone().contiguous() for k, v in user.state_dict().items()}
    save_file(state, str(directory / f"{stem}.weights.safetensors"))
    save_file({"x": x.contiguous(), "y": y_file.contiguous()},
              str(directory / f"{stem}.batch.safetensors"))
    results32 = None
    if torch32:
        model32 = copy.deepcopy(model).float()
        y32 = y if case.loss == "cross_entropy" else y.float()
        results32, _ = rec_reference(case, model32, x.float(), y32)
    expected, bounds = rec_reference(case, model, x, y)
    return expected, bounds, results32


def prepare(case: Case, directory: Path, stem: str, torch32: bool = False):
    """Writes the config, weights and batch; returns the PyTorch results, their term bounds
    and (with `torch32`) PyTorch's own float32 results, for comparison."""
    if isinstance(case, RecCase):
        return prepare_rec(case, directory, stem, torch32)
    gen = torch.Generator().manual_seed(case.seed)
    model = build_torch(case)
    randomize(model, gen, case.wscale)
    x, y, y_file = make_batch(case, gen)
    (directory / f"{stem}.toml").write_text(case.toml())
    # The state dict before the forward (a train-mode BatchNorm forward moves the running
    # statistics).
    state = {k: v.detach().clone().contiguous() for k, v in model.state_dict().items()}
    save_file(state, str(directory / f"{stem}.weights.safetensors"))
    save_file(
        {"x": x.contiguous(), "y": y_file.contiguous()},
        str(directory / f"{stem}.batch.safetensors"),
    )
    results32 = None
    if torch32:
        model32 = copy.deepcopy(model).float()
        y32 = y if case.loss == "cross_entropy" else y.float()
        results32, _ = torch_reference(case, model32, x.float(), y32)
    expected, bounds = torch_reference(case, model, x, y)
    return expected, bounds, results32


# --------------------------------------------------------------------------------------------
# Comparison.
# --------------------------------------------------------------------------------------------


def rel_error(a: np.ndarray, b: np.ndarray, terms: np.ndarray | None = None) -> float:
    """max over elements of |a - b| / max(|b|, RHO * max|b|, RHO * terms, 1e-300).

    b is PyTorch's float64 result, a gradscope's. The floor RHO * max|b| keeps elements that
    are tiny compared with the rest of their tensor from dominating; for parameter gradients
    RHO * terms (the sum of the |terms| the gradient adds up, see term_scales) does the same
    for elements whose terms cancel, such as the exactly-zero gradient of a bias before a
    train-mode BatchNorm.
    """
    a = a.astype(np.float64)
    b = b.astype(np.float64)
    if a.size == 0:
        return 0.0
    if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
        return math.inf
    floor = np.maximum(np.abs(b), max(RHO * float(np.abs(b).max()), 1e-300))
    if terms is not None:
        floor = np.maximum(floor, RHO * terms)
    return float((np.abs(a - b) / floor).max())


# The floor's fraction: 1e-6 in f64; 1e-2 in f32, where rounding is 2^29 times coarser.
RHO = 1e-6


def find_binary(explicit: str | None, build: bool) -> Path:
    if explicit:
        return Path(explicit)
    exe = ROOT / "target" / "release" / "gradscope"
    if build or not exe.exists():
        print("torch_check: building target/release/gradscope ...", file=sys.stderr)
        subprocess.run(
            ["cargo", "build", "--release", "-q", "-p", "gradscope-cli"], cwd=ROOT, check=True
        )
    return exe


def run_case(case: Case, exe: Path, dtype: str, tmp: Path, fixture_dir: Path | None):
    """Returns (rows, error message or None); rows are (name, shape, max|ref|, rel error of
    gradscope, rel error of PyTorch float32 or None)."""
    cdir = tmp / case.name
    cdir.mkdir(parents=True, exist_ok=True)
    expected, terms, torch32 = prepare(case, cdir, case.name, torch32=dtype == "f32")
    out = cdir / f"{case.name}.grads.safetensors"
    cmd = [
        str(exe), "grads",
        "--model", str(cdir / f"{case.name}.toml"),
        "--weights", str(cdir / f"{case.name}.weights.safetensors"),
        "--batch", str(cdir / f"{case.name}.batch.safetensors"),
        "--out", str(out),
        "--dtype", dtype,
        "--mode", case.mode,
    ]
    for rule in getattr(case, "renames", []):
        cmd += ["--rename", rule]
    if fixture_dir is not None:
        for suffix in (".toml", ".weights.safetensors", ".batch.safetensors"):
            shutil.copy(cdir / f"{case.name}{suffix}", fixture_dir / f"{case.name}{suffix}")
        stored = {k: v.contiguous() for k, v in expected.items()}
        stored.update({f"terms.{k}": v.contiguous() for k, v in terms.items()})
        save_file(
            stored,
            str(fixture_dir / f"{case.name}.expected.safetensors"),
            # One key: the header's key order, hence the bytes, would vary with several.
            metadata={"torch_check": json.dumps(
                {"mode": case.mode, "loss": case.loss, "torch": torch.__version__},
                sort_keys=True)},
        )
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        return [], f"gradscope failed ({proc.returncode}): {proc.stderr.strip()}"
    got = load_numpy(str(out))
    rows = []
    problems = []
    missing = sorted(set(expected) - set(got))
    extra = sorted(set(got) - set(expected))
    if missing:
        problems.append(f"missing from gradscope's output: {missing}")
    if extra:
        problems.append(f"not in PyTorch's results: {extra}")
    for name, ref in expected.items():
        if name not in got:
            continue
        b = ref.numpy()
        a = got[name]
        if a.shape != b.shape:
            problems.append(f"{name}: shape {list(a.shape)}, PyTorch {list(b.shape)}")
            continue
        t = terms[name].numpy() if name in terms else None
        e32 = None if torch32 is None else rel_error(torch32[name].double().numpy(), b, t)
        rows.append((name, list(b.shape), float(np.abs(b).max()) if b.size else 0.0,
                     rel_error(a, b, t), e32))
    return rows, ("; ".join(problems) or None)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dtype", choices=["f64", "f32"], default="f64")
    ap.add_argument("--models", type=int, default=80, help="random models (besides the fixed cases)")
    ap.add_argument("--rec-models", type=int, default=48,
                    help="random recurrent models (besides the fixed cases)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--tol", type=float, help="tolerance (default 1e-8 for f64, 1e-3 for f32)")
    ap.add_argument("--bin", help="gradscope binary (default target/release/gradscope)")
    ap.add_argument("--build", action="store_true", help="run cargo build --release first")
    ap.add_argument("--keep", help="keep the generated files in this directory")
    ap.add_argument("--write-fixtures", metavar="DIR", help="save the fixed cases into DIR")
    ap.add_argument("--torch-builtin", action="store_true",
                    help="reference nn.Hardsigmoid and nn.GELU() as they are (in float64 the "
                    "first differentiates with a float32 1/6, the second loses accuracy below -5)")
    ap.add_argument("-q", "--quiet", action="store_true", help="one line per model")
    args = ap.parse_args()
    global USE_TORCH_BUILTIN, RHO
    USE_TORCH_BUILTIN = args.torch_builtin
    RHO = 1e-6 if args.dtype == "f64" else 1e-2
    tol = args.tol if args.tol is not None else (1e-8 if args.dtype == "f64" else 1e-3)
    exe = find_binary(args.bin, args.build)

    rng = np.random.default_rng(args.seed)
    fixed = fixture_cases() + recurrent_fixture_cases()
    cases = fixed + [random_case(i, rng) for i in range(args.models)]
    rec_rng = np.random.default_rng([args.seed, 1])
    cases += [random_rec_case(i, rec_rng) for i in range(args.rec_models)]
    covered = {a.name for c in cases for a in c.acts + [c.head]}
    missing_acts = sorted(set(CATALOGUE) - covered)
    if missing_acts:
        print(f"torch_check: activations not covered: {missing_acts}", file=sys.stderr)

    fixture_dir = Path(args.write_fixtures) if args.write_fixtures else None
    if fixture_dir is not None:
        fixture_dir.mkdir(parents=True, exist_ok=True)
    tmp = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="torch_check-"))
    tmp.mkdir(parents=True, exist_ok=True)
    # A private copy: a rebuild of target/release during the run cannot pull it away.
    private = tmp / "gradscope-bin"
    shutil.copy2(exe, private)
    exe = private
    worst = 0.0
    worst32 = 0.0
    # The recurrent cases alone: (models, worst error, worst PyTorch float32 error).
    rec = [0, 0.0, 0.0]
    n_excused = 0
    failures = []
    try:
        for k, case in enumerate(cases):
            fdir = fixture_dir if (fixture_dir is not None and k < len(fixed)) else None
            rows, problem = run_case(case, exe, args.dtype, tmp, fdir)
            case_worst = max((r[3] for r in rows), default=0.0)
            worst = max(worst, case_worst)
            if isinstance(case, RecCase):
                rec[0] += 1
                rec[1] = max(rec[1], case_worst)
            case32 = max((r[4] for r in rows if r[4] is not None), default=None)
            if case32 is not None:
                worst32 = max(worst32, case32)
                if isinstance(case, RecCase):
                    rec[2] = max(rec[2], case32)
            # f32: a tensor above the tolerance passes if PyTorch's own float32 result is
            # at least half as far off (the loss of precision is float32's, not gradscope's).
            over = [r for r in rows if r[3] > tol]
            excused = [r for r in over if r[4] is not None and r[3] <= 2.0 * r[4]]
            n_excused += len(excused)
            bad = problem is not None or not rows or len(over) > len(excused)
            if bad:
                failures.append(case.name)
            status = "FAIL" if bad else "ok"
            torch32 = "" if case32 is None else f" (PyTorch f32 {case32:.1e})"
            print(f"[{k + 1}/{len(cases)}] {case.name}: {case.describe()}  "
                  f"max rel err {case_worst:.1e}{torch32} {status}")
            if problem:
                print(f"    {problem}")
            if not args.quiet or bad or excused:
                width = max((len(r[0]) for r in rows), default=6)
                extra = "  PyTorch f32" if case32 is not None else ""
                print(f"    {'tensor':<{width}}  {'shape':<10}  {'max|ref|':>9}  rel err{extra}")
                for name, shape, scale, err, e32 in rows:
                    col = "" if e32 is None else f"  {e32:.1e}  "
                    flag = "  <-- above tolerance" if err > tol else ""
                    if err > tol and e32 is not None and err <= 2.0 * e32:
                        flag = "  <-- above tolerance, as PyTorch float32"
                    print(f"    {name:<{width}}  {str(shape):<10}  {scale:9.2e}  {err:.1e}"
                          f"{col}{flag}")
        if fixture_dir is not None:
            manifest = [
                {"name": c.name, "mode": c.mode, "loss": c.loss, "note": c.note,
                 "description": c.describe()}
                | ({"rename": c.renames} if getattr(c, "renames", []) else {})
                for c in fixed
            ]
            (fixture_dir / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
            for f in fixture_dir.iterdir():
                f.chmod(0o644)
            print(f"torch_check: wrote {len(fixed)} fixture cases to {fixture_dir}")
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)

    n = len(cases)
    if rec[0]:
        own32 = f", PyTorch's own float32 {rec[2]:.1e}" if args.dtype == "f32" else ""
        print(f"torch_check: {rec[0]} recurrent models (RNN/LSTM/GRU), max relative error "
              f"{rec[1]:.1e} ({args.dtype}){own32}")
    if args.dtype == "f32":
        print(f"torch_check: PyTorch's own float32 results, same metric: max relative error "
              f"{worst32:.1e}")
    if failures:
        print(f"torch_check: {n} models, max relative error {worst:.1e} ({args.dtype}), "
              f"{len(failures)} FAILED (tolerance {tol:g}): {', '.join(failures)}")
        return 1
    excuse = ""
    if n_excused:
        excuse = (f" but {n_excused} tensor(s) where PyTorch's own float32 is at least half as "
                  f"far off")
    print(f"torch_check: {n} models, max relative error {worst:.1e} ({args.dtype}), "
          f"all <= {tol:g}{excuse}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
