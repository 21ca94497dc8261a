"""The cost of gradscope.torch's hooks on a small ResNet on the CPU: step time with
watch(model, every=10) against the same training without hooks.

    PYTHON=python-with-torch
    $PYTHON examples/hook_overhead.py [--steps 10] [--repeats 40] [--every 10]

Two copies of the model (same initial weights, same batch), one watched, train in
alternating runs of `steps` steps (a multiple of `every`, so each watched run holds the same
number of measured steps), `repeats` pairs, in alternating order. Prints the median step time
of each, the overhead as the median over the pairs of (watched / unwatched − 1) — each pair
ran within a second or two, so a change of the machine's load between pairs cancels — and the
1-minute load average before and after (other processes on the machine make the step time vary
more than the hooks do: compare runs at a load below the number of cores).
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


class Trainer:
    """The model, its optimizer and the batch; watched or not."""

    def __init__(self, every, watched):
        torch.manual_seed(0)
        self.model = resnet()
        self.opt = torch.optim.SGD(self.model.parameters(), lr=0.05, momentum=0.9)
        g = torch.Generator().manual_seed(1)
        self.x = torch.randn(32, 3, 32, 32, generator=g)
        self.y = torch.randint(0, 10, (32,), generator=g)
        self.scope = gt.watch(self.model, every=every) if watched else None
        self.times = {False: [], True: []}  # seconds of each step, by whether it was measured

    def run(self, steps):
        """Trains `steps` steps; the seconds per step."""
        t0 = time.perf_counter()
        for _ in range(steps):
            t = time.perf_counter()
            loss = nn.functional.cross_entropy(self.model(self.x), self.y)
            self.opt.zero_grad()
            loss.backward()
            self.opt.step()
            measured = self.scope is not None and self.scope._measuring
            if self.scope is not None:
                self.scope.loss(loss)
            self.times[measured].append(time.perf_counter() - t)
        return (time.perf_counter() - t0) / steps


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--repeats", type=int, default=40)
    p.add_argument("--every", type=int, default=10)
    a = p.parse_args()
    if a.steps % a.every:
        p.error("--steps must be a multiple of --every")
    torch.set_num_threads(1)
    load0 = os.getloadavg()[0]
    plain, watched = Trainer(a.every, False), Trainer(a.every, True)
    for t in (plain, watched):  # warm-up, not timed; the watched one measures step 1 here
        t.run(3)
    # Align both copies so that each timed run holds the same measured steps (and both are at
    # the same step: same weights, same work).
    align = (a.every - watched.scope.step % a.every) % a.every
    for t in (plain, watched):
        t.run(align)
        t.times = {False: [], True: []}
    base, hooked, ratios = [], [], []
    for r in range(a.repeats):
        if r % 2 == 0:
            b = plain.run(a.steps)
            h = watched.run(a.steps)
        else:
            h = watched.run(a.steps)
            b = plain.run(a.steps)
        base.append(b)
        hooked.append(h)
        ratios.append(h / b - 1)
    d = watched.scope.diagnosis()
    measured = len(watched.scope)
    watched.scope.remove()
    mb, mh = statistics.median(base), statistics.median(hooked)
    n = sum(q.numel() for q in plain.model.parameters())
    print(f"ResNet ({n} parameters), batch 32x3x32x32, 1 thread")
    print(f"without hooks: {1e3 * mb:.2f} ms/step (median of {a.repeats} runs of {a.steps} steps)")
    print(f"watch(every={a.every}): {1e3 * mh:.2f} ms/step ({measured} steps measured in all)")
    q = statistics.quantiles(ratios, n=4) if len(ratios) > 1 else ratios * 3
    print(
        f"overhead: {100 * statistics.median(ratios):+.1f}% (median over the pairs; "
        f"quartiles {100 * q[0]:+.1f}% .. {100 * q[2]:+.1f}%)"
    )
    # Per step, the lower quartile of each kind (the time of a step when the machine's other
    # processes interfere least): overhead at every=K from one measured and K − 1 unmeasured.
    lq = lambda v: statistics.quantiles(v, n=4)[0] if len(v) > 1 else v[0]  # noqa: E731
    b, u, m = lq(plain.times[False]), lq(watched.times[False]), lq(watched.times[True])
    est = ((a.every - 1) * u + m) / a.every / b - 1
    print(
        f"per step (lower quartile): unwatched {1e3 * b:.2f} ms, watched {1e3 * u:.2f} ms "
        f"unmeasured / {1e3 * m:.2f} ms measured -> overhead at every={a.every}: {100 * est:+.1f}%"
    )
    print(f"verdict: {d.verdict} ({d.headline})")
    print(f"load average (1 min): {load0:.2f} before, {os.getloadavg()[0]:.2f} after")


if __name__ == "__main__":
    main()
