#!/usr/bin/env bash
# Speed benchmark: verbatim vs Python VADER on N real comments (airline tweets EN +
# insurance reviews FR, cycled and interleaved).
#
#   scripts/bench_vs_vader.sh [N]        # default N=100000
#
# Needs ../shared/data beside the repo (or VERBATIM_DATA_DIR). Builds verbatim in release
# (CARGO_TARGET_DIR, default ~/.cache/verbatim-target), keeps a Python venv with
# vaderSentiment==3.3.2 (+ vaderSentiment-fr when it installs) under
# ${XDG_CACHE_HOME:-~/.cache}/verbatim-bench-venv, and writes only under bench-out/.
set -euo pipefail

N="${1:-100000}"
case "$N" in
  ''|*[!0-9]*) echo "usage: $0 [N]   (N = number of comments, default 100000)" >&2; exit 2 ;;
esac

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"

DATA_DIR="${VERBATIM_DATA_DIR:-$REPO/../shared/data}"
for f in twitter-airline-sentiment/tweets.csv.gz insurance-reviews-fr/insurance_reviews_fr.tsv.gz; do
  if [ ! -f "$DATA_DIR/$f" ]; then
    echo "error: $DATA_DIR/$f is missing." >&2
    echo "The benchmark reads the shared data folder beside the repo (../shared/data)," >&2
    echo "or the folder named by VERBATIM_DATA_DIR. It is never copied into the repo." >&2
    exit 1
  fi
done

PYTHON="${PYTHON:-python3}"
if ! command -v "$PYTHON" >/dev/null 2>&1; then
  echo "error: $PYTHON not found (set PYTHON=/path/to/python3)" >&2
  exit 1
fi

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/verbatim-target}"
echo "== building verbatim (release, CARGO_TARGET_DIR=$CARGO_TARGET_DIR)" >&2
cargo build --release --locked >&2
BIN="$CARGO_TARGET_DIR/release/verbatim"
[ -x "$BIN" ] || { echo "error: $BIN not built" >&2; exit 1; }

VENV="${XDG_CACHE_HOME:-$HOME/.cache}/verbatim-bench-venv"
if [ ! -x "$VENV/bin/python" ]; then
  echo "== creating venv $VENV" >&2
  "$PYTHON" -m venv "$VENV"
fi
VPY="$VENV/bin/python"
if ! "$VPY" -c 'import vaderSentiment, importlib.metadata as m; assert m.version("vaderSentiment") == "3.3.2"' 2>/dev/null; then
  echo "== installing vaderSentiment==3.3.2 into $VENV" >&2
  "$VPY" -m pip install --quiet --disable-pip-version-check "vaderSentiment==3.3.2" >&2
fi
# vaderSentiment-fr is optional: try once, remember a failure so reruns don't retry.
if ! "$VPY" -c 'import vaderSentiment_fr.vaderSentiment' 2>/dev/null && [ ! -f "$VENV/.vader-fr-failed" ]; then
  echo "== trying to install vaderSentiment-fr (optional)" >&2
  if ! "$VPY" -m pip install --quiet --disable-pip-version-check vaderSentiment-fr >&2; then
    echo "   vaderSentiment-fr did not install; the FR-VADER row is skipped" >&2
    touch "$VENV/.vader-fr-failed"
  fi
fi

mkdir -p "$REPO/bench-out"
export BENCH_CMD="${BENCH_CMD:-scripts/bench_vs_vader.sh $N}"
exec "$VPY" "$REPO/scripts/bench_vs_vader.py" --n "$N" --bin "$BIN" --data-dir "$DATA_DIR" \
  --out-dir "$REPO/bench-out"
