#!/usr/bin/env bash
# Speed of the three tone models end to end (`verbatim analyze`: read JSONL, analyse every facet,
# write JSONL), on the same corpus as scripts/bench_vs_vader.sh (bench-out/corpus.jsonl: real
# airline tweets and insurance reviews, 70 % French; built by that script when absent).
#
#   scripts/bench_models.sh [N] [N_ACCURATE]    # defaults 100000 and 5000
#
# lexicon and fast run on the first N comments with 2 threads and with 1, best of 3; accurate
# (tens of comments a second) on the first N_ACCURATE of the same comments, once, 2 threads.
# Prints comments/s and peak RSS (/usr/bin/time) per run and writes bench-out/bench_models.tsv.
set -euo pipefail
N="${1:-100000}"
NACC="${2:-5000}"
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/verbatim-target}"
cargo build --release --locked >&2
BIN="$CARGO_TARGET_DIR/release/verbatim"
CORPUS=bench-out/corpus.jsonl
if [ ! -f "$CORPUS" ] || [ "$(wc -l < "$CORPUS")" -lt "$N" ]; then
  echo "== building $CORPUS with scripts/bench_vs_vader.sh $N (also times VADER)" >&2
  bash scripts/bench_vs_vader.sh "$N" >&2
fi
[ -x /usr/bin/time ] || { echo "error: /usr/bin/time is needed (Debian package 'time')" >&2; exit 1; }
head -n "$N" "$CORPUS" > bench-out/models-in.jsonl
head -n "$NACC" "$CORPUS" > bench-out/models-acc-in.jsonl

OUT=bench-out/bench_models.tsv
printf 'model\tthreads\tcomments\tbest_wall_s\tcomments_per_s\tpeak_rss_mb\n' > "$OUT"
run() { # model threads input n rounds
  local model=$1 threads=$2 input=$3 n=$4 rounds=$5 best="" rss=0
  for _ in $(seq "$rounds"); do
    /usr/bin/time -f '%e %M' -o bench-out/time.txt \
      "$BIN" analyze "$input" --model "$model" --threads "$threads" -q -o /dev/null
    read -r wall kb < bench-out/time.txt
    if [ -z "$best" ] || awk "BEGIN{exit !($wall < $best)}"; then best=$wall; fi
    [ "$kb" -gt "$rss" ] && rss=$kb
  done
  local rate mb
  rate=$(awk "BEGIN{printf \"%.0f\", $n / $best}")
  mb=$(awk "BEGIN{printf \"%.0f\", $rss / 1024}")
  printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$model" "$threads" "$n" "$best" "$rate" "$mb" | tee -a "$OUT"
}
run lexicon 2 bench-out/models-in.jsonl "$N" 3
run lexicon 1 bench-out/models-in.jsonl "$N" 3
run fast 2 bench-out/models-in.jsonl "$N" 3
run fast 1 bench-out/models-in.jsonl "$N" 3
run accurate 2 bench-out/models-acc-in.jsonl "$NACC" 1
echo "machine: $(nproc) cores, $(awk '/MemTotal/{printf "%.1f GiB", $2/1048576}' /proc/meminfo), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); git $(git rev-parse --short HEAD)"
