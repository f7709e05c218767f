#!/usr/bin/env bash
# The test command of the README: format check, lints, all tests, benches compile.
# Reuses a target directory outside the clone so repeated runs are incremental.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/verbatim-target}"
export CARGO_TERM_COLOR=never
step() { printf '\n==> %s\n' "$*"; }

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy (deny warnings)"
cargo clippy --locked --all-targets -- -D warnings

step "benches compile"
cargo bench --locked --no-run

step "cargo test (unit, integration, doc)"
if [ ! -d ../shared/data ]; then
  echo "note: ../shared/data is absent: dataset tests will print SKIPPED"
fi
cargo test --locked --release
