#!/usr/bin/env bash
# Sets everything up and runs the main job on the shipped sample: fetches ONNX Runtime (the
# PyPI wheel's shared library, for the default fast tone model), builds verbatim in release mode,
# analyses samples/comments.csv to out/sample.jsonl and prints the first record.
# (The accurate tier's encoder is built separately: bash scripts/setup_models.sh.)
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/verbatim-target}"
bash scripts/setup_onnxruntime.sh
cargo build --release --locked
bin="$CARGO_TARGET_DIR/release/verbatim"
mkdir -p out
"$bin" analyze samples/comments.csv \
  --date-column date --channel-column channel --customer-column customer --score-column score \
  -o out/sample.jsonl
echo "wrote out/sample.jsonl; first record:"
head -n 1 out/sample.jsonl
echo "binary: $bin (try: $bin analyze --help)"
