"""Worked example: a small CNN on the embedded 8×8 digits, sigmoid with PyTorch's default init
against ReLU with He init (the remedy gradscope names). Prints each variant's verdict over its
first 20 steps and its test accuracy after training.

    PYTHON=python-with-torch
    $PYTHON examples/digits_cnn.py [--epochs 5]
"""

import argparse

import torch
from torch import nn

from _digits import digits, report, train


def cnn(act, he, depth=6, width=16):
    layers, c = [], 1
    for _ in range(depth):
        conv = nn.Conv2d(c, width, 3, padding=1)
        if he:
            nn.init.kaiming_normal_(conv.weight, nonlinearity="relu")
            nn.init.zeros_(conv.bias)
        layers += [conv, act()]
        c = width
    return nn.Sequential(*layers, nn.Flatten(), nn.Linear(width * 64, 10))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--epochs", type=int, default=5)
    a = p.parse_args()
    torch.set_num_threads(1)
    data = digits()
    for name, act, he in [("sigmoid, default init", nn.Sigmoid, False), ("relu, He init", nn.ReLU, True)]:
        torch.manual_seed(0)
        d, loss, acc = train(cnn(act, he), data, a.epochs, lr=0.05, shape=(1, 8, 8))
        report(f"CNN 6 x Conv2d(16, 3x3) + {name}", d, loss, acc)


if __name__ == "__main__":
    main()
