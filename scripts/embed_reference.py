#!/usr/bin/env python3
"""Reference embeddings for the Rust encoder test (`verbatim::embed`, feature `onnx`).

Runs Python onnxruntime on the same ONNX graph and tokenizer as the Rust side
(`~/.cache/verbatim/models/e5-small.onnx` + `e5-small.tokenizer.json`, built by
`scripts/convert_e5.py`), one sentence at a time (no padding), prefix `query: `, truncation to
512 tokens, and writes `tests/data/e5_reference.json`: model file name, sentences, 384 floats each
rounded to 6 decimals. The Rust test requires cosine >= 0.999 to these vectors.

    ~/.cache/verbatim/venv/bin/python scripts/embed_reference.py [--model PATH] [--tokenizer PATH]
"""
import argparse
import json
import os
from pathlib import Path

import numpy as np
import onnxruntime as ort
from tokenizers import Tokenizer

SENTENCES = [
    "Livraison rapide mais la facture est fausse, je veux être remboursé.",
    "Je vais résilier mon contrat, le service client ne répond jamais !",
    "Très satisfaite de mon conseiller, merci pour votre réactivité.",
    "ok merci",
    "L’application plante à chaque mise à jour… c’est insupportable 😡",
    "The flight was delayed three hours and nobody told us anything.",
    "Great service, friendly staff, I will definitely fly with you again!",
    "I want to cancel my subscription, the price went up again.",
    "@airline lost my bag in Paris, still waiting for news #fail",
    "Honestly not bad, but the website is slow and the checkout keeps failing.",
]


def main() -> None:
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "verbatim" / "models"
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", type=Path, default=cache / "e5-small.onnx")
    ap.add_argument("--tokenizer", type=Path, default=cache / "e5-small.tokenizer.json")
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parent.parent / "tests/data/e5_reference.json")
    args = ap.parse_args()

    tok = Tokenizer.from_file(str(args.tokenizer))
    tok.enable_truncation(max_length=512)
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    sess = ort.InferenceSession(str(args.model), opts, providers=["CPUExecutionProvider"])

    embeddings = []
    for s in SENTENCES:
        enc = tok.encode("query: " + s)
        ids = np.array([enc.ids], dtype=np.int64)
        mask = np.array([enc.attention_mask], dtype=np.int64)
        (emb,) = sess.run(["embedding"], {"input_ids": ids, "attention_mask": mask})
        embeddings.append([round(float(x), 6) for x in emb[0]])

    out = {
        "model": args.model.name,
        "tokenizer": args.tokenizer.name,
        "prefix": "query: ",
        "onnxruntime": ort.__version__,
        "generator": "scripts/embed_reference.py",
        "sentences": SENTENCES,
        "embeddings": embeddings,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, ensure_ascii=False, separators=(",", ":")) + "\n", encoding="utf-8")
    print(f"wrote {len(SENTENCES)} x {len(embeddings[0])} to {args.out}")


if __name__ == "__main__":
    main()
