#!/usr/bin/env python3
"""Synthetic customer comments for benchmarks, made from the sample's vocabulary.

    scripts/gen_comments.py N OUT.csv [--seed S] [--queries QUERIES.txt]

Reads samples/comments.csv, splits its comments into French and English (a crude stop-word
vote, enough here), learns a word-bigram chain per language, and writes N comments that walk
those chains (8-60 words, sentences of 4-20), with ids g0..gN-1, dates over 2023-2025, the
sample's channels and 50,000 customers. The text is nonsense but has the sample's words, word
frequencies and accents, which is what indexing speed and index size depend on.

With --queries, also writes 200 queries drawn from the same vocabulary (words, two-word
conjunctions, phrases, OR, field filters, date ranges) for latency measurements.
Standard library only; deterministic for a given seed.
"""

import argparse
import csv
import random
import re
import sys
from pathlib import Path

FR_HINTS = {"le", "la", "les", "de", "des", "je", "est", "pas", "et", "un", "une", "mon", "ma",
            "vous", "votre", "pour", "que", "qui", "avec", "sur", "au", "du", "mais", "très"}
EN_HINTS = {"the", "and", "is", "my", "i", "you", "your", "not", "was", "for", "to", "of",
            "with", "it", "on", "but", "very", "have", "this", "that", "a"}
WORD = re.compile(r"[\w'’-]+|[.,!?;:]", re.UNICODE)


def lang_of(text):
    words = [w.lower() for w in WORD.findall(text)]
    fr = sum(w in FR_HINTS for w in words)
    en = sum(w in EN_HINTS for w in words)
    return "fr" if fr >= en else "en"


def chains(texts):
    """Bigram successor lists (with repeats, so choice() follows the sample's frequencies)."""
    nxt, starts = {}, []
    for t in texts:
        words = WORD.findall(t)
        if not words:
            continue
        starts.append(words[0])
        for a, b in zip(words, words[1:]):
            nxt.setdefault(a, []).append(b)
            if a in ".!?" and b not in ".!?":
                starts.append(b)
    return nxt, starts


def comment(rng, nxt, starts):
    n = rng.randint(8, 60)
    out, w, since = [], rng.choice(starts), 0
    for _ in range(n):
        out.append(w)
        since += 1
        follow = nxt.get(w)
        if not follow or (since > 20 and w not in ".!?"):
            out.append(".")
            w, since = rng.choice(starts), 0
        else:
            w = rng.choice(follow)
            if w in ".!?":
                since = 0
    text = ""
    for tok in out:
        text += tok if (tok in ".,!?;:" or not text) else " " + tok
    return text


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("n", type=int)
    ap.add_argument("out")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--queries")
    ap.add_argument("--sample", default=str(Path(__file__).resolve().parent.parent / "samples/comments.csv"))
    args = ap.parse_args()
    rng = random.Random(args.seed)

    with open(args.sample, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    by_lang = {"fr": [], "en": []}
    for r in rows:
        if r["text"].strip():
            by_lang[lang_of(r["text"])].append(r["text"])
    models = {lang: chains(texts) for lang, texts in by_lang.items()}
    channels = sorted({r["channel"] for r in rows if r["channel"]}) or ["email"]
    langs = ["fr", "en"]
    weights = [len(by_lang["fr"]), len(by_lang["en"])]

    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    with open(args.out, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["id", "date", "channel", "customer", "score", "text"])
        for i in range(args.n):
            lang = rng.choices(langs, weights)[0]
            nxt, starts = models[lang]
            date = f"{rng.randint(2023, 2025)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
            score = str(rng.randint(0, 10)) if rng.random() < 0.3 else ""
            w.writerow([f"g{i}", date, rng.choice(channels), f"C{rng.randrange(50000)}", score,
                        comment(rng, nxt, starts)])

    if args.queries:
        vocab = {lang: [w for w, f in m[0].items() if len(w) > 3 and w.isalpha() and len(f) >= 2]
                 for lang, m in models.items()}
        filters = ["sentiment:negative", "lang:fr", "lang:en", "theme:billing", "theme:delivery",
                   "churn:high", "mode:question", "date:[2024-01-01 TO 2024-06-30]"]
        with open(args.queries, "w", encoding="utf-8") as f:
            for i in range(200):
                lang = rng.choice(langs)
                v = vocab[lang]
                a, b = rng.choice(v), rng.choice(v)
                kind = i % 5
                if kind == 0:
                    q = a
                elif kind == 1:
                    q = f"{a} {b}"
                elif kind == 2:
                    follow = [x for x in models[lang][0].get(a, []) if x.isalpha()]
                    q = f'"{a} {rng.choice(follow)}"' if follow else a
                elif kind == 3:
                    q = f"{a} OR {b}"
                else:
                    q = f"{a} {rng.choice(filters)}"
                f.write(q + "\n")
    print(f"wrote {args.n} comments to {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
