#!/usr/bin/env bash
# End-to-end MNIST: `gradscope train bench/mnist-mlp.toml` against the plain PyTorch loop
# bench/mnist_pytorch.py (same data, network, optimizer, batch, epochs, per-epoch validation),
# run alternately ROUNDS times (default 3), each process under /usr/bin/time -v: wall time,
# user CPU and whole-process peak RSS, plus each side's own training time (gradscope: epoch 3's
# `elapsed_s` in metrics.jsonl; PyTorch: the script's `training_s`). Not run by CI (needs
# `scripts/fetch-data.sh mnist` and a python with torch).
#
# Usage: PYTHON=python-with-torch bench/mnist-compare.sh      ROUNDS=n, TORCH_THREADS=n
#        (default: the CPU count) pass through.
set -euo pipefail
cd "$(dirname "$0")/.."
python="${PYTHON:-python3}"
if ! "$python" -c 'import torch' 2>/dev/null; then
    echo "mnist-compare.sh: $python cannot import torch (set PYTHON=...)" >&2
    exit 2
fi
if [ ! -f data/mnist/train-images-idx3-ubyte ]; then
    echo "mnist-compare.sh: data/mnist missing: run scripts/fetch-data.sh mnist" >&2
    exit 2
fi
if [ ! -x /usr/bin/time ]; then
    echo "mnist-compare.sh: needs /usr/bin/time (GNU time) for the peak RSS" >&2
    exit 2
fi
cargo build --release -q -p gradscope-cli
bin="${CARGO_TARGET_DIR:-target}/release/gradscope"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
threads="${TORCH_THREADS:-$(nproc)}"
field() { sed -n "s/^[[:space:]]*$1: //p" "$2"; }
printf '%-9s %5s %8s %8s %9s %8s %s\n' side round wall_s user_s train_s rss_mb load1
for r in $(seq "${ROUNDS:-3}"); do
    load=$(cut -d' ' -f1 /proc/loadavg)
    /usr/bin/time -v -o "$tmp/g.time" "$bin" train bench/mnist-mlp.toml --out "$tmp/run" --force -q \
        > "$tmp/g.out"
    train=$("$python" -c 'import json,sys; print(round([json.loads(l) for l in open(sys.argv[1]) if "elapsed_s" in l][-1]["elapsed_s"], 2))' "$tmp/run/metrics.jsonl")
    printf '%-9s %5s %8s %8s %9s %8.0f %s\n' gradscope "$r" \
        "$(field 'Elapsed (wall clock) time (h:mm:ss or m:ss)' "$tmp/g.time")" \
        "$(field 'User time (seconds)' "$tmp/g.time")" "$train" \
        "$(( $(field 'Maximum resident set size (kbytes)' "$tmp/g.time") / 1024 ))" "$load"
    load=$(cut -d' ' -f1 /proc/loadavg)
    /usr/bin/time -v -o "$tmp/p.time" "$python" bench/mnist_pytorch.py --threads "$threads" > "$tmp/p.out"
    train=$(sed -n 's/^training_s \([0-9.]*\) .*/\1/p' "$tmp/p.out")
    printf '%-9s %5s %8s %8s %9s %8.0f %s\n' pytorch "$r" \
        "$(field 'Elapsed (wall clock) time (h:mm:ss or m:ss)' "$tmp/p.time")" \
        "$(field 'User time (seconds)' "$tmp/p.time")" "$train" \
        "$(( $(field 'Maximum resident set size (kbytes)' "$tmp/p.time") / 1024 ))" "$load"
done
echo "last runs' final metrics:"
grep -h '^final' "$tmp/p.out" | sed 's/^/  pytorch   /'
"$python" -c 'import json,sys; s=json.load(open(sys.argv[1])); print("  gradscope", {k: s.get(k) for k in ("train","val","test")})' "$tmp/run/summary.json"
