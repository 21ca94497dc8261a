"""Shared by the worked examples: the embedded 8×8 digits as numpy/torch tensors, a training
loop whose first steps are watched by gradscope, and the test accuracy.

The digits are the file the Rust library embeds (crates/gradscope/data/digits.csv.gz: 1797
rows of 64 pixel counts 0..16 and the digit), read here with gzip + numpy.
"""

import gzip
import os

import numpy as np
import torch
from torch import nn

import gradscope.torch as gt

HERE = os.path.dirname(os.path.abspath(__file__))
DIGITS = os.path.join(HERE, "..", "..", "gradscope", "data", "digits.csv.gz")


def digits(seed=0, test=360):
    """(x_train, y_train, x_test, y_test): pixels scaled to [0, 1], a seeded shuffle, the last
    `test` samples held out."""
    with gzip.open(DIGITS, "rt") as f:
        a = np.loadtxt(f, delimiter=",", dtype=np.float32)
    order = np.random.default_rng(seed).permutation(len(a))
    x = torch.from_numpy(a[order, :64] / 16.0)
    y = torch.from_numpy(a[order, 64].astype(np.int64))
    return x[:-test], y[:-test], x[-test:], y[-test:]


def train(
    model, data, epochs, lr, batch=32, watch_steps=20, every=5, opt="sgd", shape=None, seed=0, warmup=0
):
    """Trains `model` for `epochs` on `data`; gradscope watches the first `watch_steps` steps
    (every `every`-th, step 1 included), so the verdict is the network's at initialisation, or
    the whole training when `watch_steps` is None. `warmup` > 0: the learning rate rises
    linearly over that many steps. Returns (diagnosis, final training loss = mean over the
    last epoch, test accuracy)."""
    xtr, ytr, xte, yte = data
    if shape is not None:
        xtr, xte = xtr.reshape(-1, *shape), xte.reshape(-1, *shape)
    g = torch.Generator().manual_seed(seed)
    o = (torch.optim.Adam if opt == "adam" else torch.optim.SGD)(model.parameters(), lr=lr)
    sched = None
    if warmup:
        sched = torch.optim.lr_scheduler.LambdaLR(o, lambda t: min(1.0, (t + 1) / warmup))
    scope = gt.watch(model, every=every)
    d, step, last = None, 0, []
    for _ in range(epochs):
        model.train()
        perm = torch.randperm(len(xtr), generator=g)
        last = []
        for i in range(0, len(xtr), batch):
            idx = perm[i : i + batch]
            loss = nn.functional.cross_entropy(model(xtr[idx]), ytr[idx])
            o.zero_grad()
            loss.backward()
            o.step()
            if sched is not None:
                sched.step()
            last.append(loss.item())
            step += 1
            if scope is not None:
                scope.loss(loss)
                if step == watch_steps:
                    d = scope.diagnosis()
                    scope.remove()
                    scope = None
    if scope is not None:
        d = scope.diagnosis()
        scope.remove()
    model.eval()
    with torch.no_grad():
        acc = (model(xte).argmax(1) == yte).float().mean().item()
    return d, sum(last) / len(last), acc


def report(name, d, loss, acc):
    """One block per variant: the verdict, its numbers, the first remedy, the outcome."""
    print(f"== {name}")
    print(f"   verdict: {d.verdict}  problems: {', '.join(d.problems) or '-'}")
    print(f"   {d.headline}")
    if d.remedies:
        print(f"   first remedy: {d.remedies[0][:150]}")
    print(f"   after training: loss {loss:.4f}, test accuracy {acc:.3f}")
