#!/usr/bin/env bash
# Mutation testing of the modules where gradscope's claims live (docs/testing.md):
#
#   scripts/mutants.sh GROUP [SHARD] [OUT]
#
# GROUP is one of clip, diagnostics, recurrent, theory; SHARD is cargo-mutants' `k/N` (the
# sample docs/testing.md reports: clip 0/4, diagnostics 0/10, recurrent 0/20, theory 0/25;
# `all` for every mutant of the group); OUT is where mutants.out/ goes (default
# target/mutants/GROUP). Too slow for every CI run (about a minute per mutant on two cores);
# run it before resolving an issue that touches these modules, and after adding tests.
# Extra arguments after OUT are passed to cargo-mutants (e.g. --iterate, --in-diff FILE).
set -euo pipefail
cd "$(dirname "$0")/.."
group=${1:?usage: scripts/mutants.sh clip|diagnostics|recurrent|theory [k/N|all] [OUT]}
out=${3:-target/mutants/$group}
case $group in
  clip) shard=${2:-0/4} ;;
  diagnostics) shard=${2:-0/10} ;;
  recurrent) shard=${2:-0/20} ;;
  theory) shard=${2:-0/25} ;;
  *) echo "unknown group $group" >&2; exit 2 ;;
esac
shift $(( $# < 3 ? $# : 3 ))
sample=()
if [ "$shard" != all ]; then
  # Round-robin: mutant i goes to shard i mod N, so a shard is spread evenly over the files.
  sample=(--shard "$shard" --sharding round-robin)
fi
# Build and run only the integration-test binary `all` (-C applies to the build too), one
# job, and pass the test modules that exercise the group as libtest filters.
common=(-p gradscope -j 1 --timeout 300 --build-timeout 900 -C --test=all --no-times -o "$out")
# diagnostics/explain.rs and the sentence builders of diagnostics/recurrent.rs are prose:
# their mutants change wording, which the tests pin only where a sentence states a number.
prose='diagnostics/recurrent\.rs:.*(in (explain|flow_sentence|blocks_sentence|gates_when|pct)$|replace (explain|flow_sentence|blocks_sentence|gates_when|pct) -> )'
case $group in
  clip)
    args=(-f crates/gradscope/src/optim/clip.rs "$@"
      -- -- optim:: train:: nonfinite:: --skip recurrent_train) ;;
  diagnostics)
    args=(-f 'crates/gradscope/src/diagnostics/*.rs'
      -e crates/gradscope/src/diagnostics/explain.rs
      -e crates/gradscope/src/diagnostics/recurrent.rs "$@"
      -- -- diagnostics scope_values verdict_clauses) ;;
  recurrent)
    # The library's unit tests (recurrent::…) too; the T = 100 adding problem (20 s, an
    # end-to-end learning test) is skipped.
    args=(-f 'crates/gradscope/src/recurrent/*.rs'
      -f crates/gradscope/src/diagnostics/recurrent.rs -E "$prose" -C --lib "$@"
      -- -- recurrent gradcheck --skip adding_problem) ;;
  theory)
    args=(-f 'crates/gradscope/src/theory/*.rs' "$@" -- -- theory) ;;
esac
exec nice -n 10 cargo mutants "${common[@]}" "${sample[@]}" "${args[@]}"
