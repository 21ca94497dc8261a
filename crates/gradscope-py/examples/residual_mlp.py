"""Worked example: a deep plain MLP (20 hidden layers of width 64, tanh, PyTorch's default
init) against the same layers with residual connections (x + tanh(Wx + b)), on the embedded
8×8 digits. Prints each variant's verdict over its first 20 steps and its test accuracy.

    PYTHON=python-with-torch
    $PYTHON examples/residual_mlp.py [--epochs 5] [--depth 20]
"""

import argparse

import torch
from torch import nn

from _digits import digits, report, train


class Layer(nn.Module):
    def __init__(self, width, residual):
        super().__init__()
        self.lin = nn.Linear(width, width)
        self.act = nn.Tanh()
        self.residual = residual

    def forward(self, x):
        y = self.act(self.lin(x))
        return x + y if self.residual else y


def mlp(depth, residual, width=64):
    return nn.Sequential(
        nn.Linear(64, width), *[Layer(width, residual) for _ in range(depth)], nn.Linear(width, 10)
    )


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--depth", type=int, default=20)
    a = p.parse_args()
    torch.set_num_threads(1)
    data = digits()
    for residual in (False, True):
        torch.manual_seed(0)
        d, loss, acc = train(mlp(a.depth, residual), data, a.epochs, lr=0.05)
        name = "residual" if residual else "plain"
        report(f"MLP {a.depth} x (Linear(64) + Tanh), {name}", d, loss, acc)


if __name__ == "__main__":
    main()
