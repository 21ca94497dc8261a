"""Worked example: a stack of transformer blocks (self-attention + GELU MLP, residual
connections) classifying the embedded 8×8 digits read as 8 tokens of 8 pixels: pre-LN
LayerNorm, no LayerNorm, and no LayerNorm with a linear learning-rate warm-up. Each is watched
over its whole training (every 10 steps); prints its verdict, its final training loss and its
test accuracy.

    PYTHON=python-with-torch
    $PYTHON examples/transformer_block.py [--epochs 5] [--blocks 8] [--lr 0.01] [--warmup 200]
"""

import argparse

import torch
from torch import nn

from _digits import digits, report, train


class Block(nn.Module):
    def __init__(self, d, heads, norm):
        super().__init__()
        self.n1 = nn.LayerNorm(d) if norm else nn.Identity()
        self.attn = nn.MultiheadAttention(d, heads, batch_first=True)
        self.n2 = nn.LayerNorm(d) if norm else nn.Identity()
        self.fc1, self.act, self.fc2 = nn.Linear(d, 4 * d), nn.GELU(), nn.Linear(4 * d, d)

    def forward(self, x):
        h = self.n1(x)
        x = x + self.attn(h, h, h, need_weights=False)[0]
        return x + self.fc2(self.act(self.fc1(self.n2(x))))


class Net(nn.Module):
    def __init__(self, blocks, norm, d=32, heads=4):
        super().__init__()
        self.embed = nn.Linear(8, d)
        self.pos = nn.Parameter(torch.randn(8, d) * 0.1)
        self.blocks = nn.Sequential(*[Block(d, heads, norm) for _ in range(blocks)])
        self.out = nn.Linear(d, 10)

    def forward(self, x):
        return self.out(self.blocks(self.embed(x) + self.pos).mean(1))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--blocks", type=int, default=8)
    p.add_argument("--lr", type=float, default=0.01)
    p.add_argument("--warmup", type=int, default=200)
    a = p.parse_args()
    torch.set_num_threads(1)
    data = digits()
    for norm, warmup in ((True, 0), (False, 0), (False, a.warmup)):
        torch.manual_seed(0)
        d, loss, acc = train(
            Net(a.blocks, norm), data, a.epochs, lr=a.lr, opt="adam", shape=(8, 8),
            watch_steps=None, every=10, warmup=warmup,
        )
        name = ("pre-LN LayerNorm" if norm else "no LayerNorm") + (f", {warmup}-step warm-up" if warmup else "")
        report(f"transformer {a.blocks} blocks (d=32, 4 heads), {name}, Adam lr {a.lr}", d, loss, acc)


if __name__ == "__main__":
    main()
