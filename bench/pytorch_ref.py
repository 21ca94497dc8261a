#!/usr/bin/env python3
"""PyTorch eager reference for `gradscope bench`: the same workloads, timed the same way.

Usage: python bench/pytorch_ref.py [--json] [--steps N] [--warmup N] [--only W1,W2,...]
       python bench/pytorch_ref.py [--json] ... [--mlp WIDTHxDEPTHxBATCH] [--lstm HxTxBATCH]

--mlp and --lstm run W1's and W4's kind of workload at the given size instead of --only (as
`gradscope bench --mlp/--lstm` does; bench/scaling.py sweeps them).

Each workload is one training step: zero grads, forward, loss, backward, plain SGD update,
in float32, with torch.set_num_threads(os.cpu_count()). Reports the median ms/step over
repeated timed blocks and GFLOP/s (2 FLOPs per multiply-add of the matrix products only,
as gradscope counts: for the MLPs W1, W2 forward + the two backward products, the first
layer's input gradient excluded; for the recurrent W3, W4 the input and the recurrent
product of every step, forward and two backward products each; for W5, W6 forward, the weight
gradients and the input gradients of all but the first layer; for W7 per step the input
product (forward, weight gradient: the one-hot input needs no gradient) and the recurrent
product (forward and both backward products) of the GRU's 3 gates, and the head over all
T*B rows (forward and both backward products)).

W5 and W6 use SGD with momentum 0.9 on one synthetic batch of MNIST's shape (pixels uniform in
[0, 1), labels 0-9); W6 adds the hooks of `HookScope` (per-layer statistics at every step, the
PyTorch counterpart of gradscope's probe with `[diagnostics] every = 1`).
"""
import argparse
import json
import os
import statistics
import sys
import time

import warnings

import torch
import torch.nn as nn

# W6's hook on the first layer fires with no input gradient (x needs none): expected.
warnings.filterwarnings("ignore", message="Full backward hook is firing")


def mlp_workload(depth, width, batch):
    layers = []
    for _ in range(depth):
        layers += [nn.Linear(width, width), nn.Tanh()]
    model = nn.Sequential(*layers)
    x = torch.randn(batch, width)
    y = torch.randint(0, width, (batch,))
    loss_fn = nn.CrossEntropyLoss()
    opt = torch.optim.SGD(model.parameters(), lr=0.01)

    def step():
        opt.zero_grad(set_to_none=False)
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()

    # forward: depth GEMMs; backward: weight grads (depth) + input grads (depth - 1)
    flops = 2.0 * batch * width * width * (3 * depth - 1)
    return step, flops


def rnn_workload(cell, steps_t, width, batch):
    if cell == "rnn":
        rnn = nn.RNN(width, width, nonlinearity="tanh", batch_first=False)
    else:
        rnn = nn.LSTM(width, width, batch_first=False)
    head = nn.Linear(width, 1)
    x = torch.randn(steps_t, batch, width)
    y = torch.randn(batch, 1)
    params = list(rnn.parameters()) + list(head.parameters())
    opt = torch.optim.SGD(params, lr=0.01)
    loss_fn = nn.MSELoss()

    def step():
        opt.zero_grad(set_to_none=False)
        out, _ = rnn(x)
        loss = loss_fn(head(out[-1]), y)
        loss.backward()
        opt.step()

    gates = 1 if cell == "rnn" else 4
    # per step: input product (forward, dW_ih; x needs no grad) + recurrent (forward, dW_hh, dh)
    flops = 2.0 * batch * width * gates * width * 5 * steps_t
    return step, flops


class HookScope:
    """Per-layer gradient statistics at every step, computed from forward and full-backward
    hooks, as close to gradscope's probe as plain PyTorch gets:

    - every module (Linear and ReLU): ||dL/d(output)|| and max |dL/d(output)|, and
      ||dL/d(input)|| and its max where PyTorch has it (not for the first layer: x needs no
      gradient), from `register_full_backward_hook`;
    - every Linear: ||W||, sigma_w = std(W) * sqrt(fan_in), sigma_b^2 = mean(b^2), ||dL/dW||,
      max |dL/dW|, and after the optimizer step the update ratio ||W_new - W_old|| / ||W_old||
      (W_old copied before the step);
    - every ReLU (from a forward hook keeping its input z and output a): mean and population
      std of a, its 2/25/50/75/98% quantiles, the share of a within 0.02 of the range's end 0,
      mean |f'(z)| and mean f'(z)^2, the saturated share (f'(z) < 0.1 max |f'|), the dead share
      (units zero over the whole batch), a 24-bin histogram of a over [min, max] and a 24-bin
      histogram of log10 |dL/dz| over [1e-14, 1e2];
    - the mean square of the batch, q0 = mean(x^2).

    All of it is gathered into one list of Python floats per step (`finish`), as gradscope's
    probe produces one record of f64 values."""

    def __init__(self, model, bins=24):
        self.bins = bins
        self.linears = [m for m in model if isinstance(m, nn.Linear)]
        self.relus = [m for m in model if isinstance(m, nn.ReLU)]
        self.before = [torch.empty_like(m.weight) for m in self.linears]
        self.grad_stats = []
        self.z, self.a, self.dz = {}, {}, {}
        for m in model:
            m.register_full_backward_hook(self._backward_hook)
        for m in self.relus:
            m.register_forward_hook(self._forward_hook)

    def _forward_hook(self, module, inputs, output):
        self.z[module] = inputs[0].detach()
        self.a[module] = output.detach()

    def _backward_hook(self, module, grad_input, grad_output):
        g = grad_output[0]
        self.grad_stats += [g.norm(), g.abs().max()]
        if grad_input[0] is not None:
            gi = grad_input[0]
            self.grad_stats += [gi.norm(), gi.abs().max()]
            if module in self.z:
                self.dz[module] = gi

    def measure(self, x):
        """After backward, before the optimizer step."""
        s = self.grad_stats
        s.append(x.pow(2).mean())
        with torch.no_grad():
            for m, before in zip(self.linears, self.before):
                w = m.weight
                before.copy_(w)
                s += [w.norm(), w.std(unbiased=False) * w.shape[1] ** 0.5, m.bias.pow(2).mean()]
                s += [w.grad.norm(), w.grad.abs().max()]
            q = torch.tensor([0.02, 0.25, 0.5, 0.75, 0.98])
            for m in self.relus:
                z, a, dz = self.z[m], self.a[m], self.dz[m]
                s += [a.mean(), a.std(unbiased=False)]
                s += list(torch.quantile(a.flatten(), q))
                s.append((a <= 0.02).float().mean())
                d = (z > 0).float()
                s += [d.mean(), d.pow(2).mean(), (d < 0.1).float().mean()]
                s.append(1.0 - (a != 0).any(0).float().mean())
                s.append(torch.histc(a, self.bins, a.min().item(), a.max().item()).sum())
                s.append(torch.histc(dz.abs().log10(), self.bins, -14.0, 2.0).sum())

    def finish(self):
        """After the optimizer step: update ratios, then every statistic as a Python float."""
        s = self.grad_stats
        with torch.no_grad():
            for m, before in zip(self.linears, self.before):
                s.append((m.weight - before).norm() / before.norm())
        values = torch.stack([torch.as_tensor(v, dtype=torch.float32) for v in s]).tolist()
        self.grad_stats = []
        return values


def mnist_workload(probe):
    sizes = [784, 256, 256, 10]
    layers = []
    for i, (a, b) in enumerate(zip(sizes, sizes[1:])):
        layers.append(nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers.append(nn.ReLU())
    model = nn.Sequential(*layers)
    batch = 64
    x = torch.rand(batch, sizes[0])
    y = torch.randint(0, sizes[-1], (batch,))
    loss_fn = nn.CrossEntropyLoss()
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    scope = HookScope(model) if probe else None

    def step():
        opt.zero_grad(set_to_none=False)
        loss = loss_fn(model(x), y)
        loss.backward()
        if scope:
            scope.measure(x)
        opt.step()
        if scope:
            scope.finish()

    prods = [2.0 * batch * a * b for a, b in zip(sizes, sizes[1:])]
    flops = 2 * sum(prods) + sum(prods[1:])
    return step, flops


def char_gru_workload(steps_t=100, batch=32, hidden=256, vocab=65):
    rnn = nn.GRU(vocab, hidden, batch_first=False)
    head = nn.Linear(hidden, vocab)
    chars = torch.randint(0, vocab, (steps_t + 1, batch))
    x = nn.functional.one_hot(chars[:-1], vocab).float()  # [T, B, V]
    y = chars[1:].reshape(-1)
    params = list(rnn.parameters()) + list(head.parameters())
    opt = torch.optim.SGD(params, lr=0.01)
    loss_fn = nn.CrossEntropyLoss()

    def step():
        opt.zero_grad(set_to_none=False)
        out, _ = rnn(x)
        loss = loss_fn(head(out.reshape(-1, hidden)), y)
        loss.backward()
        opt.step()

    flops = steps_t * (2.0 * batch * vocab * 3 * hidden * 2 + 2.0 * batch * hidden * 3 * hidden * 3)
    flops += 3 * 2.0 * batch * steps_t * hidden * vocab
    return step, flops


WORKLOADS = {
    "W1": ("10 x (Linear 256->256 + tanh), batch 128, CE, SGD, f32", lambda: mlp_workload(10, 256, 128)),
    "W2": ("50 x (Linear 64->64 + tanh), batch 32, CE, SGD, f32", lambda: mlp_workload(50, 64, 32)),
    "W3": ("RNN tanh T=100, 128->128, batch 32, MSE head, SGD, f32", lambda: rnn_workload("rnn", 100, 128, 32)),
    "W4": ("LSTM T=100, 128->128, batch 32, MSE head, SGD, f32", lambda: rnn_workload("lstm", 100, 128, 32)),
    "W5": ("MNIST-shaped MLP 784->256->256->10 ReLU, batch 64, CE, SGD momentum 0.9, f32",
           lambda: mnist_workload(False)),
    "W6": ("W5 with per-layer hooks computing the probe's statistics every step, f32",
           lambda: mnist_workload(True)),
    "W7": ("char GRU one-hot 65 -> H=256, T=100, batch 32, Linear head every step, CE, SGD, f32",
           char_gru_workload),
}


# Steps per block and warm-up steps are divided by this (rounded up), as `gradscope bench` does.
SLOW = {"W7": 10}


def time_workload(step, steps, warmup, repeats=5):
    for _ in range(warmup):
        step()
    blocks = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(steps):
            step()
        blocks.append((time.perf_counter() - t0) / steps)
    return statistics.median(blocks) * 1e3


def parse_size(flag, form, text):
    parts = text.strip().lower().split("x")
    if len(parts) != 3:
        sys.exit(f"--{flag} {text!r}: expected {form}, three integers joined by `x` (e.g. 256x10x128)")
    out = []
    for part, name in zip(parts, form.split("x")):
        try:
            n = int(part)
        except ValueError:
            n = 0
        if n < 1:
            sys.exit(f"--{flag} {text!r}: {name} must be an integer >= 1, got {part!r}")
        out.append(n)
    return out


def sized_workloads(args):
    """The workloads of --mlp and --lstm: (name, description, make)."""
    out = []
    if args.mlp:
        w, d, b = parse_size("mlp", "WIDTHxDEPTHxBATCH", args.mlp)
        out.append(("mlp", f"{d} x (Linear {w}->{w} + tanh), batch {b}, CE, SGD, f32",
                    lambda: mlp_workload(d, w, b)))
    if args.lstm:
        h, t, b = parse_size("lstm", "HxTxBATCH", args.lstm)
        out.append(("lstm", f"LSTM T={t}, {h}->{h}, batch {b}, MSE head, SGD, f32",
                    lambda: rnn_workload("lstm", t, h, b)))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--json", action="store_true", help="print one JSON object per workload")
    ap.add_argument("--steps", type=int, default=50, help="steps per timed block")
    ap.add_argument("--warmup", type=int, default=10)
    ap.add_argument("--only", default=None, help="comma-separated workloads (default: all)")
    ap.add_argument("--mlp", metavar="WIDTHxDEPTHxBATCH",
                    help="instead of --only: depth x (Linear width->width + tanh), batch")
    ap.add_argument("--lstm", metavar="HxTxBATCH", help="instead of --only: LSTM, H units, T steps, batch")
    args = ap.parse_args()
    if args.steps < 1:
        sys.exit(f"--steps must be >= 1, got {args.steps}")
    chosen = sized_workloads(args)
    if chosen and args.only is not None:
        sys.exit("--mlp/--lstm cannot be used with --only")
    if not chosen:
        for name in (args.only or ",".join(WORKLOADS)).split(","):
            name = name.strip()
            if name not in WORKLOADS:
                sys.exit(f"unknown workload {name}; valid: {', '.join(WORKLOADS)}")
            chosen.append((name,) + WORKLOADS[name])
    torch.manual_seed(0)
    threads = os.cpu_count() or 1
    torch.set_num_threads(threads)
    for name, desc, make in chosen:
        step, flops = make()
        slow = SLOW.get(name, 1)
        ms = time_workload(step, -(-args.steps // slow), -(-args.warmup // slow))
        rec = {
            "workload": name,
            "framework": "pytorch",
            "version": torch.__version__,
            "threads": threads,
            "ms_per_step": ms,
            "gflops": flops / (ms * 1e-3) / 1e9,
            "description": desc,
        }
        if args.json:
            print(json.dumps(rec))
        else:
            print(f"{name}  {ms:8.3f} ms/step  {rec['gflops']:7.2f} GFLOP/s  ({desc})")


if __name__ == "__main__":
    main()
