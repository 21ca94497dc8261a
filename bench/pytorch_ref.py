#!/usr/bin/env python3
"""PyTorch eager reference for `gradscope bench`: the same workloads, timed the same way.

Usage: python bench/pytorch_ref.py [--json] [--steps N] [--warmup N] [--only W1,W2,...]

Each workload is one training step: zero grads, forward, loss, backward, plain SGD update,
in float32, with torch.set_num_threads(os.cpu_count()). Reports the median ms/step over
repeated timed blocks and GFLOP/s (2 FLOPs per multiply-add of the matrix products only,
as gradscope counts: for the MLPs W1, W2 forward + the two backward products, the first
layer's input gradient excluded; for the recurrent W3, W4 the input and the recurrent
product of every step, forward and two backward products each).
"""
import argparse
import json
import os
import statistics
import sys
import time

import torch
import torch.nn as nn


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
    # per time step: input and recurrent products, forward and two backward products each
    flops = 2.0 * batch * width * gates * width * 2 * 3 * steps_t
    return step, flops


WORKLOADS = {
    "W1": ("10 x (Linear 256->256 + tanh), batch 128, CE, SGD, f32", lambda: mlp_workload(10, 256, 128)),
    "W2": ("50 x (Linear 64->64 + tanh), batch 32, CE, SGD, f32", lambda: mlp_workload(50, 64, 32)),
    "W3": ("RNN tanh T=100, 128->128, batch 32, MSE head, SGD, f32", lambda: rnn_workload("rnn", 100, 128, 32)),
    "W4": ("LSTM T=100, 128->128, batch 32, MSE head, SGD, f32", lambda: rnn_workload("lstm", 100, 128, 32)),
}


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


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--json", action="store_true", help="print one JSON object per workload")
    ap.add_argument("--steps", type=int, default=50, help="steps per timed block")
    ap.add_argument("--warmup", type=int, default=10)
    ap.add_argument("--only", default="W1,W2,W3,W4", help="comma-separated workloads")
    args = ap.parse_args()
    torch.manual_seed(0)
    threads = os.cpu_count() or 1
    torch.set_num_threads(threads)
    for name in args.only.split(","):
        name = name.strip()
        if name not in WORKLOADS:
            sys.exit(f"unknown workload {name}; valid: {', '.join(WORKLOADS)}")
        desc, make = WORKLOADS[name]
        step, flops = make()
        ms = time_workload(step, args.steps, args.warmup)
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
