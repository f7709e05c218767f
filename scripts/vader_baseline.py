#!/usr/bin/env python3
"""Reference baseline: VADER with its standard thresholds on the shared sentiment sets.

    scripts/vader_baseline.py [--fold dev|test|train|all]     (default: dev)

compound >= 0.05 -> positive, <= -0.05 -> negative, else neutral; nothing is tuned.

  * airline-en: twitter-airline-sentiment/tweets.csv.gz, column `text`, gold
    `airline_sentiment`, scored with vaderSentiment (English);
  * insurance-fr: insurance-reviews-fr/insurance_reviews_fr.tsv.gz, column `text_fr`,
    scored with vaderSentiment-fr when it is installed (else said so and skipped);
  * insurance-en-mt: the same rows' English machine translation `text_en_mt`, scored with
    vaderSentiment (English), for reference.

Insurance gold from stars: 1-2 negative, 3 neutral, 4-5 positive; rows without stars are
skipped. Rows are restricted to the `fold` column's value (as `verbatim eval --preset`).
Prints accuracy and macro-F1 (3 classes) per dataset, plus per-class F1 and binary
accuracy (negative vs positive gold only); writes bench-out/vader_baseline_<fold>.json.

Needs vaderSentiment (scripts/bench_vs_vader.sh prepares a venv with it under
${XDG_CACHE_HOME:-~/.cache}/verbatim-bench-venv); this script re-runs itself with that
venv's Python when the current one lacks the package.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import json
import os
import sys
import time
import warnings
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
LABELS = ("negative", "neutral", "positive")
VENV = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "verbatim-bench-venv"
warnings.filterwarnings("ignore", message=".*python-Levenshtein.*")


def ensure_vader() -> None:
    try:
        import vaderSentiment.vaderSentiment  # noqa: F401
    except ImportError:
        venv_py = VENV / "bin/python"
        in_venv = Path(sys.prefix).resolve() == VENV.resolve()
        if venv_py.exists() and not in_venv and not os.environ.get("VADER_BASELINE_REEXEC"):
            os.environ["VADER_BASELINE_REEXEC"] = "1"
            os.execv(str(venv_py), [str(venv_py), __file__, *sys.argv[1:]])
        sys.exit("error: vaderSentiment is not installed. Run scripts/bench_vs_vader.sh once "
                 f"(it creates {VENV}), or `pip install vaderSentiment==3.3.2`.")


def star_label(raw: str) -> str | None:
    raw = raw.strip()
    if not raw:
        return None
    return {"1": "negative", "2": "negative", "3": "neutral",
            "4": "positive", "5": "positive"}[raw]


def load(path: Path, delimiter: str, text_col: str, label_col: str, fold: str,
         to_label) -> list[tuple[str, str]]:
    csv.field_size_limit(sys.maxsize)
    rows = []
    with gzip.open(path, "rt", encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f, delimiter=delimiter):
            if fold != "all" and row["fold"] != fold:
                continue
            gold = to_label(row[label_col])
            if gold is not None:
                rows.append((row[text_col], gold))
    return rows


def vader_label(compound: float) -> str:
    if compound >= 0.05:
        return "positive"
    if compound <= -0.05:
        return "negative"
    return "neutral"


def metrics(gold: list[str], pred: list[str]) -> dict:
    n = len(gold)
    per_class = {}
    for c in LABELS:
        tp = sum(1 for g, p in zip(gold, pred) if g == c and p == c)
        fp = sum(1 for g, p in zip(gold, pred) if g != c and p == c)
        fn = sum(1 for g, p in zip(gold, pred) if g == c and p != c)
        prec = tp / (tp + fp) if tp + fp else 0.0
        rec = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
        per_class[c] = {"precision": prec, "recall": rec, "f1": f1,
                        "support": sum(1 for g in gold if g == c)}
    polar = [(g, p) for g, p in zip(gold, pred) if g != "neutral"]
    # binary: gold negative vs positive; a neutral prediction counts as wrong
    binary = sum(1 for g, p in polar if g == p) / len(polar) if polar else None
    confusion = {g: {p: sum(1 for a, b in zip(gold, pred) if a == g and b == p)
                     for p in LABELS} for g in LABELS}
    return {
        "n": n,
        "accuracy": sum(1 for g, p in zip(gold, pred) if g == p) / n if n else 0.0,
        "macro_f1": sum(v["f1"] for v in per_class.values()) / len(LABELS),
        "binary_accuracy": binary,
        "per_class": per_class,
        "confusion": confusion,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--fold", default="dev", choices=["dev", "test", "train", "all"])
    ap.add_argument("--data-dir", default=os.environ.get("VERBATIM_DATA_DIR",
                                                         str(REPO.parent / "shared/data")))
    ap.add_argument("--out-dir", default=str(REPO / "bench-out"))
    args = ap.parse_args()
    data = Path(args.data_dir)
    airline = data / "twitter-airline-sentiment/tweets.csv.gz"
    insurance = data / "insurance-reviews-fr/insurance_reviews_fr.tsv.gz"
    for p in (airline, insurance):
        if not p.is_file():
            sys.exit(f"error: {p} is missing; the baseline reads the shared data folder beside "
                     "the repo (../shared/data) or VERBATIM_DATA_DIR")
    ensure_vader()
    from importlib.metadata import version

    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer as VaderEn
    try:
        from vaderSentiment_fr.vaderSentiment import SentimentIntensityAnalyzer as VaderFr
        fr_version = version("vaderSentiment-fr")
    except ImportError:
        VaderFr, fr_version = None, None

    en = VaderEn()
    sets = [
        ("airline-en", "en", f"vaderSentiment {version('vaderSentiment')}",
         lambda: load(airline, ",", "text", "airline_sentiment", args.fold,
                      lambda s: s.strip() or None), en),
        ("insurance-fr", "fr",
         f"vaderSentiment-fr {fr_version}" if VaderFr else "vaderSentiment-fr (not installed)",
         lambda: load(insurance, "\t", "text_fr", "stars", args.fold, star_label),
         VaderFr() if VaderFr else None),
        ("insurance-en-mt", "en", f"vaderSentiment {version('vaderSentiment')}",
         lambda: load(insurance, "\t", "text_en_mt", "stars", args.fold, star_label), en),
    ]
    results = []
    for name, lang, tool, loader, sia in sets:
        if sia is None:
            print(f"{name}: skipped, vaderSentiment-fr is not installed "
                  "(pip install vaderSentiment-fr)", file=sys.stderr)
            results.append({"dataset": name, "lang": lang, "tool": tool, "skipped": True})
            continue
        rows = loader()
        t0 = time.perf_counter()
        pred = [vader_label(sia.polarity_scores(text)["compound"]) for text, _ in rows]
        secs = time.perf_counter() - t0
        m = metrics([g for _, g in rows], pred)
        m.update(dataset=name, lang=lang, tool=tool, seconds=secs,
                 pred_distribution={c: pred.count(c) for c in LABELS})
        results.append(m)

    lines = [
        f"### VADER baseline, standard thresholds (±0.05), fold `{args.fold}`",
        "",
        "| dataset | lang | tool | n | accuracy | macro-F1 | F1 neg / neu / pos "
        "| binary acc (neg vs pos) |",
        "|---|---|---|---:|---:|---:|---|---:|",
    ]
    for r in results:
        if r.get("skipped"):
            lines.append(f"| {r['dataset']} | {r['lang']} | {r['tool']} | – | – | – | – | – |")
            continue
        f1s = " / ".join(f"{r['per_class'][c]['f1']:.3f}" for c in LABELS)
        lines.append(f"| {r['dataset']} | {r['lang']} | {r['tool']} | {r['n']:,} | "
                     f"{r['accuracy']:.3f} | {r['macro_f1']:.3f} | {f1s} | "
                     f"{r['binary_accuracy']:.3f} |")
    lines += ["", "Gold: airline `airline_sentiment`; insurance stars 1-2 negative, 3 neutral, "
              "4-5 positive (rows without stars skipped). Predictions: compound ≥ 0.05 positive, "
              "≤ −0.05 negative, else neutral; no tuning. Binary accuracy counts a neutral "
              "prediction on a polar gold row as wrong.",
              f"- command: `scripts/vader_baseline.py --fold {args.fold}`"]
    report = "\n".join(lines)
    print(report)
    out_dir = Path(args.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    out = out_dir / f"vader_baseline_{args.fold}.json"
    out.write_text(json.dumps({"fold": args.fold, "results": results, "markdown": report},
                              indent=2))
    print(f"\nwrote {os.path.relpath(out, REPO)}")


if __name__ == "__main__":
    main()
