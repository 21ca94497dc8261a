#!/usr/bin/env bash
# Mutation testing of the modules where gradscope's claims live (docs/testing.md):
#
#   scripts/mutants.sh [SHARD] [OUT] [extra cargo-mutants arguments...]
#
# Mutates the diagnostics (probe, statistics, verdicts, predictions, recurrent measures and
# judges; not the prose of diagnostics/explain/), the theory, the optimizers and clipping, and
# the recurrent engine, and runs the integration tests of those areas against each mutant.
# SHARD is cargo-mutants' `k/N` over all of them, dealt round-robin so a shard spreads over
# every file (default 0/100, the sample docs/testing.md reports; `all` for every mutant —
# about 3400, days on two cores). OUT is where mutants.out/ goes (default target/mutants-out).
# Needs `cargo install --locked cargo-mutants`. Too slow for CI; run it before resolving an
# issue that touches these modules, and after adding tests.
set -euo pipefail
cd "$(dirname "$0")/.."
shard=${1:-0/100}
out=${2:-target/mutants-out}
shift $(( $# < 2 ? $# : 2 ))
sample=()
if [ "$shard" != all ]; then
  sample=(--shard "$shard" --sharding round-robin)
fi
src=crates/gradscope/src
exec nice -n 10 cargo mutants -p gradscope --profile mutants --no-times \
  --timeout 600 --build-timeout 1200 -o "$out" "${sample[@]}" \
  -f "$src/diagnostics/**/*.rs" -e "$src/diagnostics/explain/**" \
  -f "$src/theory/**/*.rs" -f "$src/optim/**/*.rs" -f "$src/recurrent/**/*.rs" \
  -C --test=all "$@" \
  -- -- diagnostics scope_values verdict_clauses recurrent optim train nonfinite theory \
  gradcheck --skip adding_problem
