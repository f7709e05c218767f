#!/usr/bin/env bash
# Reliability cases of the README, at full size (the test suite runs smaller versions):
#
#   scripts/reliability.sh [ROWS]        # default 1000000
#
# 1. A CSV of ROWS comments whose third comment starts with a stray `"`: every other row must
#    still be read (ROWS read, ROWS-1 analysed, 1 error); prints the counts, wall time and peak
#    RSS of `verbatim analyze` (/usr/bin/time).
# 2. Two text files without ids (2 and 3 lines) indexed together: the index must hold 5
#    documents (ids are FILE:LINE).
# Writes only under bench-out/reliability/. Exits 1 when a count is wrong.
set -euo pipefail
ROWS="${1:-1000000}"
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/verbatim-target}"
cargo build --release --locked >&2
BIN="$CARGO_TARGET_DIR/release/verbatim"
[ -x /usr/bin/time ] || { echo "error: /usr/bin/time is needed (Debian package 'time')" >&2; exit 1; }
W=bench-out/reliability
rm -rf "$W" && mkdir -p "$W"
fail=0

echo "== 1. stray quote in a CSV of $ROWS rows"
python3 - "$ROWS" "$W/stray.csv" <<'PY'
import csv, sys
rows, path = int(sys.argv[1]), sys.argv[2]
texts = ["Livraison rapide, merci", "Facture fausse, deuxième appel", "Great service, thanks",
         "Toujours pas de remboursement après trois semaines", "Conseiller aimable mais lent"]
with open(path, "w", encoding="utf-8", newline="") as f:
    w = csv.writer(f, lineterminator="\n")
    w.writerow(["id", "text"])
    for i in range(rows):
        text = f"{texts[i % len(texts)]} ({i})"
        if i == 2:  # the stray quote: written by hand, unbalanced
            f.write(f'r{i},"{text}\n')
        else:
            w.writerow([f"r{i}", text])
PY
ls -l "$W/stray.csv" | awk '{printf "input: %.0f MB\n", $5 / 1e6}'
/usr/bin/time -f '%e %M' -o "$W/time.txt" "$BIN" analyze "$W/stray.csv" --model lexicon -o /dev/null 2> "$W/stderr.txt"
read -r wall kb < "$W/time.txt"
summary=$(grep 'records read' "$W/stderr.txt")
echo "$summary"
echo "wall ${wall} s, peak RSS $((kb / 1024)) MB"
want="$ROWS records read, $((ROWS - 1)) analysed, 1 errors"
case "$summary" in
  *"$want"*) echo "ok: $want" ;;
  *) echo "FAIL: expected '$want'"; fail=1 ;;
esac

echo "== 2. two text files without ids, indexed together"
printf 'Colis arrivé en retard\nService client injoignable\n' > "$W/a.txt"
printf 'Très satisfaite\nFacture fausse\nJe vais résilier\n' > "$W/b.txt"
"$BIN" index --index "$W/idx" "$W/a.txt" "$W/b.txt" --model lexicon 2>&1 | tail -n 1
docs=$("$BIN" search --index "$W/idx" --format json --limit 0 | python3 -c 'import json,sys; print(json.load(sys.stdin)["total"])')
echo "the index holds $docs documents"
if [ "$docs" = 5 ]; then echo "ok: 5 documents"; else echo "FAIL: expected 5"; fail=1; fi
exit $fail
