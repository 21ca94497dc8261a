#!/usr/bin/env bash
# The cost of building a program that embeds gradscope without optimization
# (docs/library.md, "Build settings"): crates/gradscope/examples/diagnose_mlp.rs as the
# main.rs of a new crate outside the workspace, depending on gradscope by path, built with
# four profile settings; prints the best wall and user CPU time of 5 runs of each binary.
#
#   scripts/embed_timing.sh            # crate in a temporary directory
#   CARGO_TARGET_DIR=... scripts/embed_timing.sh
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
dir="$(mktemp -d)"
trap 'rm -rf "$dir"' EXIT
mkdir -p "$dir/src"
cp "$repo/crates/gradscope/examples/diagnose_mlp.rs" "$dir/src/main.rs"
cp "$repo/Cargo.lock" "$dir/Cargo.lock"
target="${CARGO_TARGET_DIR:-$dir/target}"
export CARGO_TARGET_DIR="$target"
cd "$dir"

head="[package]
name = \"embedder\"
version = \"0.1.0\"
edition = \"2021\"

[dependencies]
gradscope = { path = \"$repo/crates/gradscope\" }
"

run() { # label, cargo build flag, extra Cargo.toml lines
    printf '%s\n%s' "$head" "$3" > Cargo.toml
    cargo build --quiet $2
    local bin="$target/debug/embedder"
    [ "$2" = "--release" ] && bin="$target/release/embedder"
    local best_w=1e9 best_u=1e9 w u
    for _ in 1 2 3 4 5; do
        read -r w u < <({ /usr/bin/time -f "%e %U" "$bin" > /dev/null; } 2>&1)
        best_w=$(awk -v a="$best_w" -v b="$w" 'BEGIN { print (b < a) ? b : a }')
        best_u=$(awk -v a="$best_u" -v b="$u" 'BEGIN { print (b < a) ? b : a }')
    done
    printf '%-58s wall %6.2f s   user %6.2f s\n' "$1" "$best_w" "$best_u"
}

run "cargo build, nothing added" "" ""
run "cargo build, [profile.dev.package.\"*\"] opt-level = 3" "" '
[profile.dev.package."*"]
opt-level = 3
'
run "cargo build, [profile.dev] opt-level = 1" "" '
[profile.dev]
opt-level = 1
'
run "cargo build, both" "" '
[profile.dev]
opt-level = 1

[profile.dev.package."*"]
opt-level = 3
'
run "cargo build --release, nothing added" "--release" ""
