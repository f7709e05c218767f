#!/usr/bin/env bash
# Index benchmark: analyse and index N synthetic comments (default 1,000,000) made from the
# sample's vocabulary, then run 200 queries against the index.
#
#   scripts/bench_index.sh [N]
#
# Reports indexing throughput (records/s, analysis included), index size on disk, peak RSS of
# the indexer, and query latency p50/p99 (search + facets + snippets of the top 10, measured
# inside the process, so without start-up). Builds verbatim in release (CARGO_TARGET_DIR,
# default ~/.cache/verbatim-target) and writes only under bench-out/index/.
set -euo pipefail

N="${1:-1000000}"
case "$N" in
  ''|*[!0-9]*) echo "usage: $0 [N]   (N = number of comments, default 1000000)" >&2; exit 2 ;;
esac

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
OUT="$REPO/bench-out/index"
mkdir -p "$OUT"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/verbatim-target}"
cargo build --release --quiet
BIN="$CARGO_TARGET_DIR/release/verbatim"

CSV="$OUT/comments-$N.csv"
if [ ! -f "$CSV" ]; then
  python3 scripts/gen_comments.py "$N" "$CSV" --queries "$OUT/queries.txt"
fi
[ -f "$OUT/queries.txt" ] || python3 scripts/gen_comments.py 10 "$OUT/tmp.csv" --queries "$OUT/queries.txt"

IDX="$OUT/idx"
rm -rf "$IDX"
# Peak RSS and wall time of the indexer, without relying on GNU time being installed.
python3 - "$BIN" "$IDX" "$CSV" > "$OUT/index-run.txt" <<'EOF'
import resource, subprocess, sys, time
bin_, idx, csv = sys.argv[1:]
t = time.perf_counter()
subprocess.run([bin_, "index", "--index", idx, csv, "--date-column", "date", "--channel-column",
                "channel", "--customer-column", "customer", "--score-column", "score",
                "--commit-every", "200000", "--quiet"], check=True)
wall = time.perf_counter() - t
rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # KiB on Linux
print(f"{wall:.3f} {rss}")
EOF
read -r WALL RSS_KB < "$OUT/index-run.txt"
SIZE=$(du -sb "$IDX" | cut -f1)
DOCS=$("$BIN" search --index "$IDX" --format json --limit 0 | python3 -c 'import json,sys; print(json.load(sys.stdin)["total"])')
"$BIN" search --index "$IDX" --queries "$OUT/queries.txt" > "$OUT/answers.jsonl" 2> "$OUT/search.txt"

python3 - "$N" "$DOCS" "$WALL" "$RSS_KB" "$SIZE" "$OUT/search.txt" "$CSV" <<'EOF'
import csv, re, sys
n, docs, wall, rss, size, search, path = sys.argv[1:]
text_bytes = sum(len(r["text"].encode()) for r in csv.DictReader(open(path, encoding="utf-8")))
n, docs, wall, rss, size = int(n), int(docs), float(wall), int(rss), int(size)
lat = open(search).read().strip()
m = re.search(r"p50 ([\d.]+) ms, p99 ([\d.]+) ms", lat)
print(f"comments generated : {n:,}")
print(f"documents indexed  : {docs:,}")
print(f"index (analyse+index) : {wall:.1f} s, {docs / wall:,.0f} docs/s, {text_bytes / 1e6 / wall:.1f} MB/s of text ({text_bytes / 1e6:,.0f} MB)")
print(f"index size on disk : {size / 2**20:,.1f} MiB ({size / docs:,.0f} bytes/doc)")
print(f"indexer peak RSS   : {rss / 1024:,.0f} MiB")
print(f"query latency      : p50 {m.group(1)} ms, p99 {m.group(2)} ms" if m else lat)
EOF
