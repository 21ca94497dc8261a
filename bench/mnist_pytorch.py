#!/usr/bin/env python3
"""Plain PyTorch twin of `gradscope train bench/mnist-mlp.toml`, for end-to-end timing.

Usage: PYTHON=python-with-torch; $PYTHON bench/mnist_pytorch.py [--data data/mnist] [--epochs 3]
       [--threads N]

What it does, as the config does:
- reads the raw IDX files of data/mnist (scripts/fetch-data.sh mnist): the 60 000 training
  images and labels and the 10 000 test images, pixels / 255;
- splits the training files 90% / 10% into train and validation (a seeded shuffle; not the
  same permutation as gradscope's generator, the same sizes: 54 000 and 6 000);
- standardizes each pixel with the mean and population std of the training split (a pixel with
  std 0 is only centred);
- 784 -> 256 -> 256 -> 10 with ReLU, weights U[-1/sqrt(fan_in), 1/sqrt(fan_in)] (PyTorch's
  default, gradscope's `standard`), biases 0 (gradscope's default `init_bias`);
- softmax cross-entropy, SGD lr 0.01 momentum 0.9, batch 64 reshuffled every epoch (the last
  batch partial), 3 epochs; each epoch's train loss/accuracy are the running means of the
  batches' own forward passes (gradscope's `train_eval = "running"`) and the validation split
  is evaluated in full;
- after the last epoch a full evaluation of train, validation and test (as `summary.json`).
Prints one line per epoch, the final metrics, and the wall time of the training loop and of
the whole script (`time` of the process gives the latter plus interpreter start-up).
What gradscope does on top and this script does not: checkpoints every epoch, metrics.jsonl
and the diagnostics probe at its default interval (every 100 steps).
"""
import argparse
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn


def read_idx(path, magic, dims):
    with open(path, "rb") as f:
        data = f.read()
    head = np.frombuffer(data[: 4 * (1 + dims)], dtype=">u4")
    if head[0] != magic:
        sys.exit(f"{path}: expected IDX magic {magic:#010x}, found {head[0]:#010x}")
    shape = tuple(int(n) for n in head[1:])
    body = np.frombuffer(data[4 * (1 + dims):], dtype=np.uint8)
    if body.size != int(np.prod(shape)):
        sys.exit(f"{path}: header says {shape}, file holds {body.size} values")
    return body.reshape(shape)


def load(data, stem):
    x = read_idx(os.path.join(data, f"{stem}-images-idx3-ubyte"), 0x803, 3)
    y = read_idx(os.path.join(data, f"{stem}-labels-idx1-ubyte"), 0x801, 1)
    x = torch.from_numpy(x.reshape(len(x), -1).astype(np.float32) / 255.0)
    return x, torch.from_numpy(y.astype(np.int64))


def evaluate(model, loss_fn, x, y, batch=1024):
    model.eval()
    total, correct = 0.0, 0
    with torch.no_grad():
        for i in range(0, len(x), batch):
            out = model(x[i:i + batch])
            total += loss_fn(out, y[i:i + batch]).item() * len(out)
            correct += (out.argmax(1) == y[i:i + batch]).sum().item()
    model.train()
    return total / len(x), correct / len(x)


def main():
    t_start = time.perf_counter()
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=os.path.join(os.path.dirname(__file__), "..", "data", "mnist"))
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1,
                    help="torch.set_num_threads (default: the CPU count, as gradscope uses)")
    args = ap.parse_args()
    if args.epochs < 1:
        sys.exit("--epochs must be >= 1")
    for stem in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
                 "t10k-labels-idx1-ubyte"):
        if not os.path.exists(os.path.join(args.data, stem)):
            sys.exit(f"{os.path.join(args.data, stem)} missing: run scripts/fetch-data.sh mnist")
    torch.manual_seed(args.seed)
    if args.threads < 1:
        sys.exit("--threads must be >= 1")
    torch.set_num_threads(args.threads)
    x_all, y_all = load(args.data, "train")
    x_test, y_test = load(args.data, "t10k")
    perm = torch.randperm(len(x_all))
    n_train = round(0.9 * len(x_all))
    x_tr, y_tr = x_all[perm[:n_train]], y_all[perm[:n_train]]
    x_val, y_val = x_all[perm[n_train:]], y_all[perm[n_train:]]
    mean = x_tr.mean(0)
    std = x_tr.std(0, unbiased=False)
    std[std == 0] = 1.0
    x_tr, x_val, x_test = [(x - mean) / std for x in (x_tr, x_val, x_test)]

    sizes = [784, 256, 256, 10]
    layers = []
    for i, (a, b) in enumerate(zip(sizes, sizes[1:])):
        lin = nn.Linear(a, b)
        nn.init.uniform_(lin.weight, -1 / a ** 0.5, 1 / a ** 0.5)
        nn.init.zeros_(lin.bias)
        layers.append(lin)
        if i < len(sizes) - 2:
            layers.append(nn.ReLU())
    model = nn.Sequential(*layers)
    loss_fn = nn.CrossEntropyLoss()
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    batch = 64

    t_train = time.perf_counter()
    for epoch in range(1, args.epochs + 1):
        order = torch.randperm(len(x_tr))
        total, correct = 0.0, 0
        for i in range(0, len(order), batch):
            idx = order[i:i + batch]
            xb, yb = x_tr[idx], y_tr[idx]
            opt.zero_grad(set_to_none=False)
            out = model(xb)
            loss = loss_fn(out, yb)
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
            correct += (out.argmax(1) == yb).sum().item()
        val_loss, val_acc = evaluate(model, loss_fn, x_val, y_val)
        print(f"epoch {epoch}: train_loss {total / len(x_tr):.4f} train_accuracy "
              f"{correct / len(x_tr):.4f} val_loss {val_loss:.4f} val_accuracy {val_acc:.4f} "
              f"elapsed_s {time.perf_counter() - t_train:.2f}", flush=True)
    for name, x, y in (("train", x_tr, y_tr), ("val", x_val, y_val), ("test", x_test, y_test)):
        loss, acc = evaluate(model, loss_fn, x, y)
        print(f"final {name}: loss {loss:.4f} accuracy {acc:.4f}")
    now = time.perf_counter()
    print(f"training_s {now - t_train:.2f} total_s {now - t_start:.2f}")


if __name__ == "__main__":
    main()
