#!/usr/bin/env bash
# The Python package's done-criterion, on this machine: a fresh virtualenv, the wheel built
# from this checkout, torch from PyPI, and the 10-line training loop of
# crates/gradscope-py/examples/quickstart.py — it must print a verdict with its explanation
# and remedies, and write report.html.
#
#   bash scripts/fresh-venv-check.sh [WORKDIR]       (needs python3 with venv, cargo, network)
#
# WORKDIR (kept) holds the venv, the wheel and the loop's output; without it a temporary
# directory is used and its venv (~5 GB with torch) removed at the end.
#
# Not part of .ci/run: installing torch downloads ~2 GB from PyPI.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ $# -ge 1 ]; then
    WORK=$1
else
    # A temporary directory: the virtualenv (~5 GB with torch) is removed at the end.
    WORK=$(mktemp -d)
    trap 'rm -rf "$WORK/venv"' EXIT
fi
mkdir -p "$WORK"
echo "== fresh virtualenv in $WORK/venv"
python3 -m venv "$WORK/venv"
PY="$WORK/venv/bin/python"
"$PY" -m pip install -q maturin
echo "== building the wheel (release)"
(cd crates/gradscope-py && "$WORK/venv/bin/maturin" build --release -q -i "$PY" --out "$WORK/dist")
echo "== installing the wheel and torch"
"$PY" -m pip install -q "$WORK"/dist/gradscope-*.whl torch
"$PY" -m pip list 2>/dev/null | grep -i -E '^(gradscope|numpy|torch) '
echo "== the 10-line loop (examples/quickstart.py)"
cp crates/gradscope-py/examples/quickstart.py "$WORK/"
(cd "$WORK" && "$PY" quickstart.py | tee quickstart.out)
grep -q '^Verdict: ' "$WORK/quickstart.out"
grep -q '^Remedies:' "$WORK/quickstart.out"
test -s "$WORK/runs/quickstart/report.html"
echo "== ok: verdict, remedies and $WORK/runs/quickstart/report.html"
