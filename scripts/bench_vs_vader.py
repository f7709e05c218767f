#!/usr/bin/env python3
"""Speed benchmark: verbatim vs Python VADER on N real customer comments.

Usually run through scripts/bench_vs_vader.sh, which builds verbatim and prepares a venv
with vaderSentiment==3.3.2 (and vaderSentiment-fr when it installs). Directly:

    python scripts/bench_vs_vader.py --n 100000 --bin PATH/TO/verbatim

The corpus cycles through ALL rows of the airline tweets (EN, column `text`) and of the
insurance reviews (FR, column `text_fr`), interleaved in proportion to their sizes so each
pass over the two files yields every row once; labels are not used. It is written to
bench-out/corpus.jsonl. Then, in the same session:

  * verbatim analyze (all cores, then --threads 1): wall clock of the whole process (reads
    the JSONL, analyses, writes JSONL), best of 3;
  * VADER polarity_scores on every text, one process, time around the loop only (import and
    analyser construction reported separately as load time), best of 3;
  * the same with multiprocessing.Pool(P) (P = 2 by default: a 2-core comparison);
  * vaderSentiment-fr on the FR subset only, when installed.

Peak RSS comes from `/usr/bin/time -v` when present, else from os.wait4 on the child.
Results are printed as a markdown table and written to bench-out/bench_vs_vader.json.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import json
import os
import platform
import re
import resource
import shlex
import shutil
import subprocess
import sys
import time
import warnings
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
AIRLINE = "twitter-airline-sentiment/tweets.csv.gz"
INSURANCE = "insurance-reviews-fr/insurance_reviews_fr.tsv.gz"
GNU_TIME = "/usr/bin/time"
# fuzzywuzzy (a vaderSentiment-fr dependency) warns at import; polarity_scores never uses it
warnings.filterwarnings("ignore", message=".*python-Levenshtein.*")


# --------------------------------------------------------------------------------------
# corpus


def read_column(path: Path, column: str, delimiter: str) -> list[str]:
    csv.field_size_limit(sys.maxsize)
    with gzip.open(path, "rt", encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f, delimiter=delimiter)
        if column not in (reader.fieldnames or []):
            sys.exit(f"error: {path} has no column {column!r} (columns: {reader.fieldnames})")
        return [row[column] for row in reader]


def build_corpus(data_dir: Path, n: int, out: Path) -> tuple[list[int], dict]:
    en_all = read_column(data_dir / AIRLINE, "text", ",")
    fr_all = read_column(data_dir / INSURANCE, "text_fr", "\t")
    en = [t for t in en_all if t.strip()]
    fr = [t for t in fr_all if t.strip()]
    # One pass = every row of both files, merged so the FR/EN mix is even along the pass
    # (Bresenham-style); the corpus repeats passes until it has n comments.
    one_pass: list[tuple[str, str]] = []
    i = j = 0
    while i < len(en) or j < len(fr):
        # take EN when it is behind its share of the pass so far
        if j >= len(fr) or (i < len(en) and i * len(fr) <= j * len(en)):
            one_pass.append(("en", en[i]))
            i += 1
        else:
            one_pass.append(("fr", fr[j]))
            j += 1
    n_chars = n_bytes = 0
    fr_ids: list[int] = []
    with out.open("w", encoding="utf-8") as f:
        for k in range(n):
            lang, text = one_pass[k % len(one_pass)]
            if lang == "fr":
                fr_ids.append(k)
            n_chars += len(text)
            n_bytes += len(text.encode("utf-8"))
            f.write(json.dumps({"id": f"c{k + 1:07d}", "text": text}, ensure_ascii=False))
            f.write("\n")
    n_fr = len(fr_ids)
    return fr_ids, {
        "path": str(out.relative_to(REPO)) if out.is_relative_to(REPO) else str(out),
        "comments": n,
        "rows_per_pass": len(one_pass),
        "passes": round(n / len(one_pass), 3),
        "source_rows": {"airline_en": len(en_all), "insurance_fr": len(fr_all)},
        "source_rows_empty_text_skipped": {
            "airline_en": len(en_all) - len(en),
            "insurance_fr": len(fr_all) - len(fr),
        },
        "share_fr": n_fr / n,
        "share_en": 1 - n_fr / n,
        "comments_fr": n_fr,
        "text_mb": n_bytes / 1e6,
        "file_mb": out.stat().st_size / 1e6,
        "mean_chars": n_chars / n,
    }


# --------------------------------------------------------------------------------------
# running children with wall time and peak RSS


def run_measured(cmd: list[str], log_stem: Path, cwd: Path) -> dict:
    """Runs cmd; returns wall seconds, peak RSS (MB) and the child's stdout path."""
    out_path = log_stem.with_suffix(".stdout")
    err_path = log_stem.with_suffix(".stderr")
    use_gnu_time = os.access(GNU_TIME, os.X_OK)
    time_path = log_stem.with_suffix(".time")
    full = [GNU_TIME, "-v", "-o", str(time_path), *cmd] if use_gnu_time else cmd
    with out_path.open("wb") as out, err_path.open("wb") as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(full, stdout=out, stderr=err, cwd=cwd)
        _, status, rusage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        sys.stderr.write(err_path.read_text(errors="replace")[-3000:])
        sys.exit(f"error: command failed ({proc.returncode}): {shlex.join(cmd)}")
    if use_gnu_time:
        m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", time_path.read_text())
        rss_kb = int(m.group(1)) if m else rusage.ru_maxrss
        rss_source = "/usr/bin/time -v"
    else:
        rss_kb = rusage.ru_maxrss  # kB on Linux; includes the child's waited-for children
        rss_source = "os.wait4 rusage"
    return {"wall_s": wall, "rss_mb": rss_kb / 1024, "rss_source": rss_source,
            "stdout": out_path}


def best_of(runs: int, fn) -> tuple[dict, list[dict]]:
    results = [fn(r) for r in range(runs)]
    return min(results, key=lambda r: r["time_s"]), results


# --------------------------------------------------------------------------------------
# worker modes (run as children so each gets its own RSS measurement)


def load_texts(corpus: Path, lang_filter: str | None) -> list[str]:
    texts = [json.loads(line)["text"] for line in corpus.open(encoding="utf-8")]
    if lang_filter:
        keep = set(json.loads(Path(lang_filter).read_text())["fr_ids"])
        texts = [t for k, t in enumerate(texts) if k in keep]
    return texts


_SIA = None


def _pool_init(fr: bool) -> None:
    global _SIA
    _SIA = make_analyzer(fr)


def _pool_score(text: str) -> dict:
    return _SIA.polarity_scores(text)


def _pool_rss(_: int) -> tuple[int, int]:
    time.sleep(0.2)  # so each worker takes one of these tasks
    return os.getpid(), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def make_analyzer(fr: bool):
    if fr:
        from vaderSentiment_fr.vaderSentiment import SentimentIntensityAnalyzer
    else:
        from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer
    return SentimentIntensityAnalyzer()


def worker(args) -> None:
    texts = load_texts(Path(args.corpus), args.fr_ids)
    n_bytes = sum(len(t.encode("utf-8")) for t in texts)
    res: dict = {"comments": len(texts), "text_mb": n_bytes / 1e6}
    if args.procs == 1:
        t0 = time.perf_counter()
        sia = make_analyzer(args.fr)
        res["load_s"] = time.perf_counter() - t0
        checksum = 0.0
        t0 = time.perf_counter()
        for t in texts:
            checksum += sia.polarity_scores(t)["compound"]
        res["loop_s"] = time.perf_counter() - t0
    else:
        import multiprocessing as mp

        ctx = mp.get_context("fork")
        t0 = time.perf_counter()
        pool = ctx.Pool(args.procs, initializer=_pool_init, initargs=(args.fr,))
        pool.map(_pool_score, ["warm up"] * args.procs * 4, chunksize=1)  # workers ready
        res["load_s"] = time.perf_counter() - t0
        chunk = max(1, min(2000, len(texts) // (args.procs * 16)))
        t0 = time.perf_counter()
        scores = pool.map(_pool_score, texts, chunksize=chunk)
        res["loop_s"] = time.perf_counter() - t0
        checksum = sum(s["compound"] for s in scores)
        res["chunksize"] = chunk
        worker_rss = dict(pool.map(_pool_rss, range(args.procs * 2), chunksize=1))
        pool.close()
        pool.join()
        res["worker_rss_mb"] = sorted(v / 1024 for v in worker_rss.values())
        res["parent_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    res["checksum_compound"] = checksum
    print(json.dumps(res))


# --------------------------------------------------------------------------------------
# the benchmark


def machine() -> dict:
    model = "?"
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
        m = re.search(r"^Model name:\s*(.+)$", out, re.M)
        model = m.group(1).strip() if m else model
    except (OSError, subprocess.CalledProcessError):
        model = platform.processor() or model
    mem_gib = None
    try:
        m = re.search(r"MemTotal:\s+(\d+) kB", Path("/proc/meminfo").read_text())
        mem_gib = int(m.group(1)) / 1024 / 1024 if m else None
    except OSError:
        pass
    try:
        load = os.getloadavg()
    except OSError:
        load = None
    return {"cpu_model": model, "nproc": os.cpu_count(),
            "mem_total_gib": round(mem_gib, 1) if mem_gib else None,
            "loadavg_at_start": load, "python": platform.python_version(),
            "os": platform.platform()}


def git_rev() -> str:
    try:
        rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO,
                             capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=REPO, capture_output=True, text=True).stdout.strip()
        return rev + ("-dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "?"


def have_module(name: str) -> bool:
    try:
        __import__(name)
        return True
    except Exception:  # noqa: BLE001 - any failure means "not usable"
        return False


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=100_000, help="number of comments")
    ap.add_argument("--bin", help="verbatim binary (default: target dir release build)")
    ap.add_argument("--data-dir", default=os.environ.get("VERBATIM_DATA_DIR",
                                                         str(REPO.parent / "shared/data")))
    ap.add_argument("--out-dir", default=str(REPO / "bench-out"))
    ap.add_argument("--runs", type=int, default=3, help="best of this many runs")
    ap.add_argument("--procs", type=int, default=2, help="VADER multiprocessing pool size")
    ap.add_argument("--skip-vader-fr", action="store_true")
    # internal: worker mode
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--corpus", help=argparse.SUPPRESS)
    ap.add_argument("--fr", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--fr-ids", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        worker(args)
        return

    data_dir = Path(args.data_dir)
    for rel in (AIRLINE, INSURANCE):
        if not (data_dir / rel).is_file():
            sys.exit(f"error: {data_dir / rel} is missing; the benchmark needs the shared data "
                     "folder beside the repo (../shared/data) or VERBATIM_DATA_DIR")
    binary = Path(args.bin or Path(os.environ.get(
        "CARGO_TARGET_DIR", Path.home() / ".cache/verbatim-target")) / "release/verbatim")
    if not os.access(binary, os.X_OK):
        sys.exit(f"error: verbatim binary {binary} not found; build it or use "
                 "scripts/bench_vs_vader.sh")
    out_dir = Path(args.out_dir)
    logs = out_dir / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    corpus_path = out_dir / "corpus.jsonl"
    host = machine()
    command = os.environ.get("BENCH_CMD") or shlex.join([sys.executable, *sys.argv])

    # ---- corpus
    t0 = time.perf_counter()
    fr_ids, corpus = build_corpus(data_dir, args.n, corpus_path)
    print(f"corpus: {corpus['comments']} comments, {corpus['file_mb']:.1f} MB JSONL "
          f"({corpus['text_mb']:.1f} MB of text), FR {corpus['share_fr']:.1%} / "
          f"EN {corpus['share_en']:.1%}, mean {corpus['mean_chars']:.0f} chars; "
          f"{corpus['rows_per_pass']} rows per pass × {corpus['passes']} passes "
          f"(built in {time.perf_counter() - t0:.1f}s) -> {corpus['path']}", flush=True)
    n = corpus["comments"]
    text_mb = corpus["text_mb"]
    rel_corpus = os.path.relpath(corpus_path, REPO)
    rel_out = os.path.relpath(out_dir / "verbatim.jsonl", REPO)
    rows: list[dict] = []

    # ---- verbatim
    def verbatim_run(threads: int | None):
        cmd = [str(binary), "analyze", rel_corpus, "-q", "-o", rel_out]
        if threads:
            cmd += ["--threads", str(threads)]
        shown = shlex.join(["verbatim", *cmd[1:]])

        def one(r: int) -> dict:
            m = run_measured(cmd, logs / f"verbatim-t{threads or 'all'}-{r}", REPO)
            lines = errors = 0
            with (REPO / rel_out).open(encoding="utf-8") as f:
                for line in f:
                    lines += 1
                    if '"error"' in line and "error" in json.loads(line):
                        errors += 1
            if lines != n:
                sys.exit(f"error: {shown} wrote {lines} lines, expected {n}")
            m.update(time_s=m["wall_s"], output_lines=lines, error_records=errors)
            print(f"  {shown}: run {r + 1} {m['wall_s']:.2f}s, {m['rss_mb']:.0f} MB, "
                  f"{lines} lines, {errors} error records", flush=True)
            return m

        best, runs = best_of(args.runs, one)
        return shown, best, runs

    for threads in (None, 1):
        shown, best, runs = verbatim_run(threads)
        rows.append({
            "tool": "verbatim", "threads": threads or host["nproc"],
            "what": "whole process: read JSONL, analyse, write JSONL",
            "time_s": best["time_s"], "comments_per_s": n / best["time_s"],
            "mb_per_s": text_mb / best["time_s"],
            "peak_rss_mb": max(r["rss_mb"] for r in runs),
            "rss_source": best["rss_source"], "runs_s": [r["time_s"] for r in runs],
            "command": shown, "comments": n, "error_records": best["error_records"],
        })

    # ---- VADER (children of this script in worker mode)
    fr_ids_path = logs / "fr_ids.json"  # corpus positions of the FR comments

    def vader_run(label: str, procs: int, fr: bool):
        cmd = [sys.executable, str(Path(__file__).resolve()), "--worker",
               "--corpus", str(corpus_path), "--procs", str(procs)]
        if fr:
            cmd += ["--fr", "--fr-ids", str(fr_ids_path)]

        def one(r: int) -> dict:
            m = run_measured(cmd, logs / f"{label}-{r}", REPO)
            res = json.loads(m["stdout"].read_text().strip().splitlines()[-1])
            m.update(res)
            m["time_s"] = res["loop_s"]
            if procs > 1:
                # parent + each worker's own peak (fork shares pages, so this overstates)
                m["rss_mb"] = res["parent_rss_mb"] + sum(res["worker_rss_mb"])
            print(f"  {label}: run {r + 1} loop {res['loop_s']:.2f}s, load "
                  f"{res['load_s']:.2f}s, process {m['wall_s']:.2f}s, "
                  f"{m['rss_mb']:.0f} MB", flush=True)
            return m

        best, runs = best_of(args.runs, one)
        return best, runs

    vader_version = _pkg_version("vaderSentiment")
    for procs in (1, args.procs):
        label = f"vader-p{procs}"
        best, runs = vader_run(label, procs, fr=False)
        rows.append({
            "tool": f"VADER {vader_version} (Python)", "threads": procs,
            "what": ("polarity_scores loop only" if procs == 1 else
                     f"multiprocessing.Pool({procs}).map, loop only"),
            "time_s": best["loop_s"], "comments_per_s": best["comments"] / best["loop_s"],
            "mb_per_s": best["text_mb"] / best["loop_s"],
            "peak_rss_mb": max(r["rss_mb"] for r in runs),
            "rss_source": (best["rss_source"] if procs == 1 else
                           "parent + workers, getrusage RUSAGE_SELF each"),
            "load_s": best["load_s"], "process_wall_s": best["wall_s"],
            "runs_s": [r["loop_s"] for r in runs], "comments": best["comments"],
            "command": shlex.join(["python", "scripts/bench_vs_vader.py", "--worker",
                                   "--corpus", rel_corpus, "--procs", str(procs)]),
        })

    if not args.skip_vader_fr and have_module("vaderSentiment_fr.vaderSentiment"):
        fr_ids_path.write_text(json.dumps({"fr_ids": fr_ids}))
        best, runs = vader_run("vader-fr-p1", 1, fr=True)
        rows.append({
            "tool": f"vaderSentiment-fr {_pkg_version('vaderSentiment-fr')} (FR subset)",
            "threads": 1, "what": "polarity_scores loop only, FR comments only",
            "time_s": best["loop_s"], "comments_per_s": best["comments"] / best["loop_s"],
            "mb_per_s": best["text_mb"] / best["loop_s"],
            "peak_rss_mb": max(r["rss_mb"] for r in runs), "rss_source": best["rss_source"],
            "load_s": best["load_s"], "process_wall_s": best["wall_s"],
            "runs_s": [r["loop_s"] for r in runs], "comments": best["comments"],
            "command": "python scripts/bench_vs_vader.py --worker --fr (FR subset)",
        })
    else:
        print("  vaderSentiment-fr not installed: FR VADER row skipped", flush=True)

    # ---- report
    def rate(tool_prefix: str, threads: int) -> float | None:
        for r in rows:
            if r["tool"].startswith(tool_prefix) and r["threads"] == threads:
                return r["comments_per_s"]
        return None

    v_all, v_1 = rate("verbatim", host["nproc"]), rate("verbatim", 1)
    p_n, p_1 = rate("VADER", args.procs), rate("VADER", 1)
    ratios = {
        f"verbatim({host['nproc']} threads)/VADER({args.procs} processes)":
            v_all / p_n if v_all and p_n else None,
        "verbatim(1 thread)/VADER(1 process)": v_1 / p_1 if v_1 and p_1 else None,
    }
    host["loadavg_at_end"] = os.getloadavg()
    verbatim_version = subprocess.run([str(binary), "--version"], capture_output=True,
                                      text=True).stdout.strip()
    lines = [
        f"### verbatim vs VADER — {n:,} comments ({corpus['text_mb']:.1f} MB of text, "
        f"FR {corpus['share_fr']:.0%} / EN {corpus['share_en']:.0%}, "
        f"mean {corpus['mean_chars']:.0f} chars)",
        "",
        "| tool | threads | comments/s | MB/s | peak RSS MB |",
        "|---|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(f"| {r['tool']} | {r['threads']} | {r['comments_per_s']:,.0f} | "
                     f"{r['mb_per_s']:.2f} | {r['peak_rss_mb']:.0f} |")
    lines.append("")
    for k, v in ratios.items():
        lines.append(f"- **{k}**: {v:.1f}×" if v else f"- {k}: n/a")
    vader_rows = [r for r in rows if "load_s" in r]
    lines.append("- VADER load time (import + SentimentIntensityAnalyzer()): " + ", ".join(
        f"{r['tool']} ×{r['threads']}: {r['load_s']:.2f}s" for r in vader_rows))
    lines += [
        "- verbatim: wall clock of the whole process (start, lexicon load, JSONL read, "
        "analysis, JSONL write); VADER: the polarity_scores loop only (texts preloaded in "
        "memory, nothing written). Best of "
        f"{args.runs}. MB/s counts UTF-8 bytes of comment text. VADER ×{args.procs} RSS is "
        "the sum of parent and worker peaks (forked pages counted twice).",
        f"- machine: {host['cpu_model']}, nproc {host['nproc']}, "
        f"{host['mem_total_gib']} GiB RAM, load average (1/5/15 min) at start "
        f"{' / '.join(f'{x:.2f}' for x in host['loadavg_at_start'] or [])}, at end "
        f"{' / '.join(f'{x:.2f}' for x in host['loadavg_at_end'])}; "
        f"{verbatim_version} (git {git_rev()}), Python {host['python']}",
        f"- command: `{command}`",
    ]
    report = "\n".join(lines)
    print()
    print(report)
    result = {
        "command": command, "machine": host, "verbatim_version": verbatim_version,
        "git": git_rev(), "runs": args.runs, "corpus": corpus,
        "results": rows, "ratios": ratios, "markdown": report,
        "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    (out_dir / "bench_vs_vader.json").write_text(json.dumps(result, indent=2, default=str))
    print(f"\nwrote {os.path.relpath(out_dir / 'bench_vs_vader.json', REPO)}")


def _pkg_version(name: str) -> str:
    try:
        from importlib.metadata import version
        return version(name)
    except Exception:  # noqa: BLE001
        return "?"


if __name__ == "__main__":
    main()
