#!/usr/bin/env bash
# Fetch the ONNX Runtime shared library used by the `onnx` feature (crate `ort`, `load-dynamic`).
# It comes from the PyPI wheel `onnxruntime` (the only reachable source; Debian has no package):
# `pip download --no-deps`, then `onnxruntime/capi/libonnxruntime.so*` is extracted into
#   ${XDG_CACHE_HOME:-$HOME/.cache}/verbatim/onnxruntime/
# where `verbatim::embed` looks for it (after the executable's directory, before ORT_DYLIB_PATH).
# Idempotent: does nothing when the library is already there. Usage:
#   bash scripts/setup_onnxruntime.sh            # version 1.32.0
#   ORT_VERSION=1.31.1 bash scripts/setup_onnxruntime.sh
#   bash scripts/setup_onnxruntime.sh --force    # fetch again
set -euo pipefail

ORT_VERSION="${ORT_VERSION:-1.32.0}"
DEST="${XDG_CACHE_HOME:-$HOME/.cache}/verbatim/onnxruntime"
FORCE=0
[ "${1:-}" = "--force" ] && FORCE=1

if [ "$FORCE" = 0 ] && [ -f "$DEST/libonnxruntime.so" ] && [ -f "$DEST/VERSION" ] \
  && [ "$(cat "$DEST/VERSION")" = "$ORT_VERSION" ]; then
  echo "ONNX Runtime $ORT_VERSION already in $DEST (use --force to fetch again)"
  exit 0
fi

PY="${PYTHON:-python3}"
command -v "$PY" >/dev/null || { echo "error: $PY not found (needed for 'pip download')" >&2; exit 1; }
"$PY" -m pip --version >/dev/null 2>&1 || { echo "error: pip is not available for $PY" >&2; exit 1; }

TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT

echo "Downloading the onnxruntime==$ORT_VERSION wheel from PyPI..."
"$PY" -m pip download --quiet --no-deps --only-binary=:all: "onnxruntime==$ORT_VERSION" -d "$TMP" \
  || { echo "error: 'pip download onnxruntime==$ORT_VERSION' failed (network, or no wheel for this platform)" >&2; exit 1; }
WHEEL="$(ls "$TMP"/onnxruntime-*.whl 2>/dev/null | head -n1)"
[ -n "$WHEEL" ] || { echo "error: no onnxruntime wheel in $TMP" >&2; exit 1; }

mkdir -p "$TMP/x"
# A wheel is a zip; use Python's zipfile so that `unzip` is not required.
"$PY" - "$WHEEL" "$TMP/x" <<'PYEOF'
import os, sys, zipfile
wheel, out = sys.argv[1], sys.argv[2]
n = 0
with zipfile.ZipFile(wheel) as z:
    for name in z.namelist():
        base = os.path.basename(name)
        if name.startswith("onnxruntime/capi/") and base.startswith("libonnxruntime.so"):
            with z.open(name) as src, open(os.path.join(out, base), "wb") as dst:
                dst.write(src.read())
            n += 1
if n == 0:
    sys.exit("error: the wheel has no onnxruntime/capi/libonnxruntime.so* (wheels older than 1.19 do not)")
PYEOF

mkdir -p "$DEST"
for f in "$TMP"/x/libonnxruntime.so*; do
  install -m 0644 "$f" "$DEST/$(basename "$f")"
done
# `ort` opens `libonnxruntime.so`; the wheel may ship only a versioned name.
if [ ! -e "$DEST/libonnxruntime.so" ]; then
  ln -sf "$(basename "$(ls "$DEST"/libonnxruntime.so.* | head -n1)")" "$DEST/libonnxruntime.so"
fi
echo "$ORT_VERSION" > "$DEST/VERSION"
echo "ONNX Runtime $ORT_VERSION installed in $DEST:"
ls -l "$DEST"
