"""What ``watch(model, unroll_recurrent=True)`` costs: an LSTM on the adding problem (the model
of the equivalence test, nn.LSTM(2, H) + Linear(H, 1), T steps, batch 32, one thread), one SGD
step (forward, backward, update) timed in each of these set-ups, median over alternating runs:

  fused              the model alone (PyTorch's fused LSTM kernel)
  unrolled, no hooks gradscope._recurrent.run in place of the module's forward, every step
  watch every=1      norms only: every step measured, the fused kernel
  unrolled every=1   every step measured and unrolled: the cost of one measured step
  unrolled every=K   the option as used: one step in K unrolled, the others fused

    PYTHON=python-with-torch
    $PYTHON examples/recurrent_overhead.py --steps 20 --repeats 5 --every 10
"""

import argparse
import statistics
import time

import torch
from torch import nn

import gradscope.torch as gt
from gradscope import _recurrent


class Net(nn.Module):
    def __init__(self, hidden):
        super().__init__()
        self.rnn = nn.LSTM(2, hidden)
        self.fc = nn.Linear(hidden, 1)

    def forward(self, x):
        out, _ = self.rnn(x)
        return self.fc(out[-1])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=20, help="timed SGD steps per run")
    ap.add_argument("--repeats", type=int, default=5, help="runs of each set-up (alternating)")
    ap.add_argument("--every", type=int, default=10)
    ap.add_argument("--seq-len", type=int, default=100)
    ap.add_argument("--hidden", type=int, default=32)
    ap.add_argument("--batch", type=int, default=32)
    args = ap.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    model = Net(args.hidden)
    opt = torch.optim.SGD(model.parameters(), lr=1e-3)
    x = torch.rand(args.seq_len, args.batch, 2)
    y = torch.rand(args.batch, 1)

    def steps(n):
        t0 = time.perf_counter()
        for _ in range(n):
            loss = nn.functional.mse_loss(model(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
        return (time.perf_counter() - t0) / n * 1e3

    def fused():
        return steps(args.steps)

    def unrolled_no_hooks():
        model.rnn.forward = lambda inp, hx=None: _recurrent.run(model.rnn, inp, hx)
        try:
            return steps(args.steps)
        finally:
            del model.rnn.forward

    def watched(every, unroll):
        def run():
            with gt.watch(model, every=every, histograms=False, unroll_recurrent=unroll) as scope:
                ms = steps(args.steps)
                scope.records_jsonl()  # the last measured step's record is built here
            return ms
        return run

    setups = {
        "fused": fused,
        "unrolled, no hooks": unrolled_no_hooks,
        "watch every=1": watched(1, False),
        "unrolled every=1": watched(1, True),
        f"unrolled every={args.every}": watched(args.every, True),
    }
    steps(3)  # warm-up
    times = {k: [] for k in setups}
    for _ in range(args.repeats):
        for k, f in setups.items():
            times[k].append(f())
    base = statistics.median(times["fused"])
    print(f"LSTM(2 -> {args.hidden}), T = {args.seq_len}, batch {args.batch}, one thread; "
          f"ms per SGD step, median of {args.repeats} runs of {args.steps} steps")
    for k, v in times.items():
        m = statistics.median(v)
        print(f"  {k:22s} {m:8.2f} ms   x{m / base:.2f}")


if __name__ == "__main__":
    main()
