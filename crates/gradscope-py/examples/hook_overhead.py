"""The cost of gradscope.torch's hooks on a small ResNet on the CPU: step time with
watch(model, every=10) against the same training without hooks.

    PYTHON=python-with-torch
    $PYTHON examples/hook_overhead.py [--steps 100] [--repeats 5] [--every 10]

Prints the median step time of each, over `repeats` alternating runs of `steps` steps, the
overhead in percent, and the 1-minute load average before and after (other processes on the
machine make the step time vary more than the hooks do: compare runs at a load below the
number of cores).
"""

import argparse
import os
import statistics
import time

import torch
from torch import nn

import gradscope.torch as gt


class Block(nn.Module):
    def __init__(self, c_in, c_out, stride):
        super().__init__()
        self.c1 = nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False)
        self.b1 = nn.BatchNorm2d(c_out)
        self.r1 = nn.ReLU(inplace=True)
        self.c2 = nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False)
        self.b2 = nn.BatchNorm2d(c_out)
        self.r2 = nn.ReLU(inplace=True)
        self.skip = (
            nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride, bias=False), nn.BatchNorm2d(c_out))
            if stride != 1 or c_in != c_out
            else nn.Identity()
        )

    def forward(self, x):
        return self.r2(self.b2(self.c2(self.r1(self.b1(self.c1(x))))) + self.skip(x))


def resnet(width=16, blocks=(2, 2, 2), classes=10):
    layers = [nn.Conv2d(3, width, 3, 1, 1, bias=False), nn.BatchNorm2d(width), nn.ReLU(inplace=True)]
    c = width
    for i, n in enumerate(blocks):
        for j in range(n):
            out = width * 2**i
            layers.append(Block(c, out, 2 if (j == 0 and i > 0) else 1))
            c = out
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(c, classes)]
    return nn.Sequential(*layers)


def run(steps, every, watched):
    torch.manual_seed(0)
    model = resnet()
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    g = torch.Generator().manual_seed(1)
    x = torch.randn(32, 3, 32, 32, generator=g)
    y = torch.randint(0, 10, (32,), generator=g)
    scope = gt.watch(model, every=every) if watched else None
    for _ in range(3):  # warm-up, not timed
        loss = nn.functional.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    t0 = time.perf_counter()
    for _ in range(steps):
        loss = nn.functional.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if scope is not None:
            scope.loss(loss)
    dt = (time.perf_counter() - t0) / steps
    if scope is not None:
        d = scope.diagnosis()
        scope.remove()
        return dt, d
    return dt, None


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--steps", type=int, default=100)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--every", type=int, default=10)
    a = p.parse_args()
    torch.set_num_threads(1)
    load0 = os.getloadavg()[0]
    base, hooked = [], []
    d = None
    for _ in range(a.repeats):
        base.append(run(a.steps, a.every, False)[0])
        dt, d = run(a.steps, a.every, True)
        hooked.append(dt)
    mb, mh = statistics.median(base), statistics.median(hooked)
    print(f"ResNet ({sum(p.numel() for p in resnet().parameters())} parameters), batch 32x3x32x32, 1 thread")
    print(f"without hooks: {1e3 * mb:.2f} ms/step (median of {a.repeats} x {a.steps} steps)")
    print(f"watch(every={a.every}): {1e3 * mh:.2f} ms/step")
    print(f"overhead: {100 * (mh / mb - 1):+.1f}%")
    print(f"verdict: {d.verdict} ({d.headline})")
    print(f"load average (1 min): {load0:.2f} before, {os.getloadavg()[0]:.2f} after")


if __name__ == "__main__":
    main()
