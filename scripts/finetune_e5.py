#!/usr/bin/env python3
"""Fine-tune the top layers of the FR+EN multilingual-e5-small encoder for tone (3 classes).

An experiment kept reproducible, not a shipped model: its result did not beat the frozen encoder
inside the accurate head (numbers below and in models/README.md), so no tuned layers are committed.

The frozen lower layers are run once (ONNX Runtime, the same int8 encoder verbatim runs) and their
hidden states cached; only the top K transformer layers plus a linear classifier on the pooled,
L2-normalised output are trained (JAX, CPU). `--k-max 12` caches the embedding layer's output
instead, so that `--k 12` tunes the whole encoder but its word embeddings (31 min per epoch over
the FR train fold alone on 2 cores; use its own `--work` directory; `--out` and the conversion
were exercised with the top layers only). `--out` writes the tuned layers as float16 with
reference embeddings; `scripts/convert_e5.py --prune --int8 --tuned FILE` builds the encoder with
them (e5-small-fren-NAME-int8.onnx for a file named e5-top-NAME.npz) and checks it against that
reference, and `verbatim train --tier accurate --encoder e5-small-fren-NAME-int8.onnx` trains a
head on it.

Subcommands:
  extract  run the frozen layers over the train/dev folds, cache hidden states (fp16, 2.5 GB in
           ~/.cache/verbatim/finetune; texts cut at 256 tokens; 7 min on 2 cores)
  train    train the top K layers, report dev macro-F1 per set, optionally write the .npz

Venv: scripts/requirements-finetune.txt; the encoder from scripts/setup_models.sh.
Data: ../shared/data (insurance-reviews-fr text_fr + text_en_mt, stars 1-2/3/4-5;
twitter-airline-sentiment). Train on `train`, choose settings on `dev`; `test` is never read.

Measured on dev (2026-11-23, 2-core AMD EPYC), macro-F1 insurance-fr / insurance-en-mt / airline-en:
  train --k 3 --epochs 2 --lr 1e-4 (AdamW, batch 32, warmup + cosine, class-balanced
  cross-entropy over the three train folds at once; 16 min per epoch), its own linear classifier:
    0.681 / 0.674 / 0.785 (epoch 1: 0.668 / 0.665 / 0.783)
  train --k 1 --epochs 1 --lr 5e-5:  0.663 / 0.662 / 0.754
  frozen encoder, logistic regression on the embedding: 0.666 / - / 0.769
  accurate head (n-grams + embedding, verbatim train --tier accurate) on the tuned encoder,
  embedding scale 5 / 15 / 30: FR 0.675 / 0.676 / 0.670, airline 0.793 / 0.792 / 0.795;
  on the frozen encoder (shipped): FR 0.684, airline 0.791. The tuned embedding is better on the
  train rows it was tuned on than on new text, so the head leans on it and FR loses.
  Late fusion of the fast head and the tuned classifier (weighted log-probabilities, weight
  chosen on dev): at best FR 0.692 (fast weight 0.8) or airline 0.800 (weight 0.4), not both.
  Whole encoder: extract --k-max 12 --work ~/.cache/verbatim/finetune-full (25 s), then
  train --k-max 12 --k 12 --sets insurance-fr --epochs 2 --lr 5e-5 --work (same dir), 59 min:
  FR 0.687 after epoch 1, 0.676 after epoch 2 (overfits); EN-MT 0.674 / 0.659 with no English
  in training. The fast head alone has FR dev 0.688.
"""
import argparse
import csv
import gzip
import os
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
DATA = os.path.join(os.path.dirname(REPO), "shared", "data")
CACHE = os.path.join(os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")), "verbatim")
MODEL_DIR = os.environ.get("VERBATIM_MODEL_DIR", os.path.join(CACHE, "models"))
LABELS = ["negative", "neutral", "positive"]
SETS = ["insurance-fr", "insurance-en-mt", "airline-en"]
NL = 12


def load_set(name, fold):
    csv.field_size_limit(1 << 24)
    texts, labels = [], []
    if name.startswith("insurance"):
        col = "text_fr" if name == "insurance-fr" else "text_en_mt"
        path = os.path.join(DATA, "insurance-reviews-fr", "insurance_reviews_fr.tsv.gz")
        with gzip.open(path, "rt", encoding="utf-8", newline="") as f:
            for row in csv.DictReader(f, delimiter="\t", quotechar='"'):
                if row["fold"] != fold or not row["stars"] or not row[col]:
                    continue
                s = int(float(row["stars"]))
                texts.append(row[col])
                labels.append(0 if s <= 2 else (1 if s == 3 else 2))
    else:
        path = os.path.join(DATA, "twitter-airline-sentiment", "tweets.csv.gz")
        with gzip.open(path, "rt", encoding="utf-8", newline="") as f:
            for row in csv.DictReader(f):
                if row["fold"] != fold or not row["text"]:
                    continue
                texts.append(row["text"])
                labels.append(LABELS.index(row["airline_sentiment"]))
    return texts, np.array(labels, np.int32)


def import_convert_e5():
    """scripts/convert_e5.py, for its padding and check sentences."""
    sys.path.insert(0, HERE)
    import convert_e5
    return convert_e5


def cut_layer(k):
    """Name of the hidden state that enters the first tuned layer (of the top k)."""
    return "emb_ln" if k == NL else f"l{NL - k - 1}_ln2"


def extract(args):
    import onnx
    import onnxruntime as ort
    from tokenizers import Tokenizer
    convert_e5 = import_convert_e5()
    os.makedirs(args.work, exist_ok=True)
    src = os.path.join(MODEL_DIR, "e5-small-fren-int8.onnx")
    cut = cut_layer(args.k_max)
    sub = os.path.join(args.work, f"lower-{cut}.onnx")
    if not os.path.exists(sub):
        onnx.utils.extract_model(src, sub, ["input_ids", "attention_mask"], [cut])
    so = ort.SessionOptions()
    so.intra_op_num_threads = args.threads
    sess = ort.InferenceSession(sub, so, providers=["CPUExecutionProvider"])
    tok = Tokenizer.from_file(os.path.join(MODEL_DIR, "e5-small-fren.tokenizer.json"))
    eos = tok.token_to_id("</s>")
    for name in SETS:
        for fold in ("train", "dev"):
            out = os.path.join(args.work, f"{name}.{fold}.npz")
            if os.path.exists(out):
                continue
            texts, labels = load_set(name, fold)
            ids = [e.ids for e in tok.encode_batch(["query: " + t for t in texts])]
            ids = [i if len(i) <= args.max_len else i[:args.max_len - 1] + [eos] for i in ids]
            lens = np.array([len(i) for i in ids], np.int64)
            order = np.argsort(lens, kind="stable")
            offs = np.zeros(len(ids) + 1, np.int64)
            offs[1:] = np.cumsum(lens)
            hid = np.zeros((offs[-1], 384), np.float16)
            t0, done = time.time(), 0
            for s in range(0, len(order), 64):
                rows = order[s:s + 64]
                x, m = convert_e5.pad([ids[j] for j in rows])
                h = sess.run([cut], {"input_ids": x, "attention_mask": m})[0]
                for r, j in enumerate(rows):
                    hid[offs[j]:offs[j + 1]] = h[r, :lens[j]]
                done += len(rows)
                if s % 1280 == 0:
                    print(f"  {name}.{fold}: {done}/{len(ids)} {time.time() - t0:.0f}s", flush=True)
            np.savez(out, hid=hid, offs=offs, labels=labels)
            print(f"{name}.{fold}: {len(ids)} texts, {offs[-1]} tokens, {time.time() - t0:.0f}s",
                  flush=True)


# ------------------------------------------------------------------------------------------------
# The model: K post-LN BERT layers (as convert_e5.build_onnx), masked mean, L2, scale, linear
# ------------------------------------------------------------------------------------------------
PARTS = ["q", "k", "v", "ao", "fi", "fo"]


def load_layers(layers):
    import onnx
    from onnx import numpy_helper
    g = onnx.load(os.path.join(MODEL_DIR, "e5-small-fren.onnx")).graph
    inits = {i.name: i for i in g.initializer}
    out = []
    for li in layers:
        p = {}
        for part in PARTS:
            p[f"{part}.w"] = numpy_helper.to_array(inits[f"l{li}.{part}.wT"]).astype(np.float32)
            p[f"{part}.b"] = numpy_helper.to_array(inits[f"l{li}.{part}.b"]).astype(np.float32)
        for ln in ("aln", "oln"):
            p[f"{ln}.w"] = numpy_helper.to_array(inits[f"l{li}.{ln}.w"]).astype(np.float32)
            p[f"{ln}.b"] = numpy_helper.to_array(inits[f"l{li}.{ln}.b"]).astype(np.float32)
        out.append(p)
    return out


def make_fns(scale):
    import jax
    import jax.numpy as jnp

    def embed(params, x, mask):
        x = run_layers(params["layers"], x, mask)
        s = (x * mask[..., None]).sum(1) / mask.sum(1, keepdims=True)
        return s / jnp.maximum(jnp.linalg.norm(s, axis=-1, keepdims=True), 1e-6)

    def logits(params, x, mask):
        return embed(params, x, mask) * scale @ params["W"] + params["b"]

    def loss(params, x, mask, y, w):
        lp = jax.nn.log_softmax(logits(params, x, mask), -1)
        nll = -jnp.take_along_axis(lp, y[:, None], 1)[:, 0]
        return (nll * w).sum() / w.sum()

    return jax.jit(embed), jax.jit(logits), jax.jit(jax.value_and_grad(loss))


def bucket(n):
    for b in (16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512):
        if n <= b:
            return b
    return n


class Set:
    def __init__(self, hid, offs, labels):
        self.hid, self.offs, self.labels = hid, offs, labels
        self.lens = np.diff(self.offs)

    @classmethod
    def load(cls, path):
        z = np.load(path)
        return cls(z["hid"], z["offs"], z["labels"])

    @classmethod
    def join(cls, sets):
        offs = [np.zeros(1, np.int64)]
        for s in sets:
            offs.append(s.offs[1:] + offs[-1][-1])
        return cls(np.concatenate([s.hid for s in sets]), np.concatenate(offs),
                   np.concatenate([s.labels for s in sets]))

    def batch(self, rows):
        L = bucket(int(self.lens[rows].max()))
        x = np.zeros((len(rows), L, 384), np.float32)
        m = np.zeros((len(rows), L), np.float32)
        for r, j in enumerate(rows):
            n = self.lens[j]
            x[r, :n] = self.hid[self.offs[j]:self.offs[j + 1]]
            m[r, :n] = 1
        return x, m


def macro_f1(y, p, c=3):
    f = []
    for k in range(c):
        tp = np.sum((p == k) & (y == k))
        fp = np.sum((p == k) & (y != k))
        fn = np.sum((p != k) & (y == k))
        f.append(0 if tp == 0 else 2 * tp / (2 * tp + fp + fn))
    return float(np.mean(f)), float(np.mean(y == p))


def batches_by_length(lens, size, rng):
    """Shuffled batches of similar lengths (less padding): sort within random chunks."""
    idx = rng.permutation(len(lens))
    chunks = [idx[i:i + size * 50] for i in range(0, len(idx), size * 50)]
    out = []
    for c in chunks:
        c = c[np.argsort(lens[c], kind="stable")]
        out += [c[i:i + size] for i in range(0, len(c), size)]
    rng.shuffle(out)
    return out


def predict(logits_fn, params, s, size=64):
    order = np.argsort(s.lens, kind="stable")
    P = np.zeros((len(s.lens), 3), np.float32)
    for i in range(0, len(order), size):
        rows = order[i:i + size]
        x, m = s.batch(rows)
        P[rows] = np.asarray(logits_fn(params, x, m))
    return P


def train(args):
    import jax
    import jax.numpy as jnp
    import optax
    k_max = args.k_max
    sets = {n: {f: Set.load(os.path.join(args.work, f"{n}.{f}.npz")) for f in ("train", "dev")}
            for n in SETS}
    # Layers below the tuned ones but above the cache point are run frozen once, here.
    frozen_layers = list(range(NL - k_max, NL - args.k))
    tuned_layers = list(range(NL - args.k, NL))
    embed_fn, logits_fn, grad_fn = make_fns(args.scale)
    if frozen_layers:
        fz = {"layers": [{kk: jnp.asarray(v) for kk, v in p.items()}
                         for p in load_layers(frozen_layers)]}

        f_layers = jax.jit(lambda params, x, m: run_layers(params["layers"], x, m))
        for n in SETS:
            for f in ("train", "dev"):
                s = sets[n][f]
                order = np.argsort(s.lens, kind="stable")
                out = np.zeros_like(s.hid)
                for i in range(0, len(order), 64):
                    rows = order[i:i + 64]
                    x, m = s.batch(rows)
                    y = np.asarray(f_layers(fz, x, m))
                    for r, j in enumerate(rows):
                        out[s.offs[j]:s.offs[j + 1]] = y[r, :s.lens[j]]
                s.hid = out
        print(f"frozen layers {frozen_layers} applied", flush=True)

    layers = [{kk: jnp.asarray(v) for kk, v in p.items()} for p in load_layers(tuned_layers)]
    rng = np.random.default_rng(args.seed)
    params = {"layers": layers, "W": jnp.zeros((384, 3)), "b": jnp.zeros(3)}
    # Class-balanced weights within each set; the sets' examples count equally.
    tr = [sets[n]["train"] for n in SETS if n in args.sets]
    weights = []
    for s in tr:
        cnt = np.bincount(s.labels, minlength=3).astype(np.float64)
        weights.append((len(s.labels) / (3 * cnt))[s.labels])
    joined, weights = Set.join(tr), np.concatenate(weights).astype(np.float32)
    lens = joined.lens
    steps_per_epoch = (len(lens) + args.batch - 1) // args.batch
    total = steps_per_epoch * args.epochs
    sched_l = optax.warmup_cosine_decay_schedule(0.0, args.lr, max(1, total // 20), total, args.lr * 0.05)
    sched_h = optax.warmup_cosine_decay_schedule(0.0, args.lr_head, max(1, total // 20), total, args.lr_head * 0.05)
    opt = optax.multi_transform(
        {"l": optax.adamw(sched_l, weight_decay=0.01), "h": optax.adamw(sched_h, weight_decay=0.0)},
        {"layers": jax.tree_util.tree_map(lambda _: "l", params["layers"]), "W": "h", "b": "h"})
    state = opt.init(params)

    @jax.jit
    def step(params, state, x, m, y, w):
        l, g = grad_fn(params, x, m, y, w)
        upd, state = opt.update(g, state, params)
        return optax.apply_updates(params, upd), state, l

    def evaluate(tag):
        res = {}
        for n in SETS:
            P = predict(logits_fn, params, sets[n]["dev"])
            res[n] = macro_f1(sets[n]["dev"].labels, P.argmax(1))
        print(f"[{tag}] dev " + "  ".join(f"{n} F1 {f:.4f} acc {a:.4f}" for n, (f, a) in res.items()),
              flush=True)
        return res

    t0 = time.time()
    for ep in range(args.epochs):
        batches = batches_by_length(lens, args.batch, rng)
        run = 0.0
        for bi, b in enumerate(batches):
            x, m = joined.batch(b)
            y, w = joined.labels[b], weights[b]
            params, state, l = step(params, state, x, m, y, w)
            run = 0.98 * run + 0.02 * float(l) if bi else float(l)
            if bi % 200 == 0:
                print(f"  epoch {ep} step {bi}/{len(batches)} loss {run:.4f} {time.time() - t0:.0f}s",
                      flush=True)
        evaluate(f"epoch {ep + 1}")
    if args.out:
        write_npz(args, params, tuned_layers, frozen_layers, embed_fn)


def write_npz(args, params, tuned_layers, frozen_layers, embed_fn):
    """The tuned layers as float16 (matrices as `lN.q.wT` = [in, out], like the graph's
    initializers), the classifier, and reference embeddings of convert_e5's check sentences, which
    the converted encoder must reproduce (cosine >= 0.99)."""
    import jax.numpy as jnp
    import onnxruntime as ort
    from tokenizers import Tokenizer
    convert_e5 = import_convert_e5()
    arrays = {}
    for li, p in zip(tuned_layers, params["layers"]):
        for kk, v in p.items():
            key = f"l{li}.{kk}T" if kk.split(".")[0] in PARTS and kk.endswith(".w") else f"l{li}.{kk}"
            arrays[key] = np.asarray(v, np.float16)
    # The reference is computed from the float16 weights that are shipped.
    layers16 = [{kk: jnp.asarray(np.asarray(v, np.float16).astype(np.float32)) for kk, v in p.items()}
                for p in params["layers"]]
    texts = convert_e5.FR + convert_e5.EN
    tok = Tokenizer.from_file(os.path.join(MODEL_DIR, "e5-small-fren.tokenizer.json"))
    ids, mask = convert_e5.pad([e.ids for e in tok.encode_batch(["query: " + t for t in texts])])
    sess = ort.InferenceSession(os.path.join(args.work, f"lower-{cut_layer(args.k_max)}.onnx"),
                                providers=["CPUExecutionProvider"])
    h = sess.run(None, {"input_ids": ids, "attention_mask": mask})[0]
    m = mask.astype(np.float32)
    stack = {"layers": [{kk: jnp.asarray(v) for kk, v in p.items()} for p in load_layers(frozen_layers)]
             + layers16}
    ref = np.asarray(embed_fn(stack, h, m))
    np.savez(args.out, **arrays, W=np.asarray(params["W"]), b=np.asarray(params["b"]),
             ref_texts=np.array(texts), ref_embedding=ref)
    print(f"wrote {args.out} ({os.path.getsize(args.out) / 1e6:.1f} MB)")


def run_layers(layers, x, mask):
    """The layers in turn over hidden states `x` [B, S, H], padding masked out of attention."""
    bias = ((1.0 - mask) * -1e9)[:, None, None, :]
    for p in layers:
        x = _layer(p, x, bias)
    return x


def _layer(p, x, bias, eps=1e-12):
    import jax
    import jax.numpy as jnp

    def ln(x, w, b):
        mu = x.mean(-1, keepdims=True)
        var = ((x - mu) ** 2).mean(-1, keepdims=True)
        return (x - mu) / jnp.sqrt(var + eps) * w + b
    B, S, H = x.shape
    nh, hd = 12, H // 12

    def heads(t):
        return t.reshape(B, S, nh, hd).transpose(0, 2, 1, 3)
    q = heads(x @ p["q.w"] + p["q.b"])
    k = heads(x @ p["k.w"] + p["k.b"])
    v = heads(x @ p["v.w"] + p["v.b"])
    sc = (q @ k.transpose(0, 1, 3, 2)) / np.sqrt(hd) + bias
    ctx = (jax.nn.softmax(sc, -1) @ v).transpose(0, 2, 1, 3).reshape(B, S, H)
    x = ln(x + ctx @ p["ao.w"] + p["ao.b"], p["aln.w"], p["aln.b"])
    h = x @ p["fi.w"] + p["fi.b"]
    h = 0.5 * h * (1.0 + jax.scipy.special.erf(h / np.sqrt(2.0)))
    return ln(x + h @ p["fo.w"] + p["fo.b"], p["oln.w"], p["oln.b"])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    e = sub.add_parser("extract")
    e.add_argument("--k-max", type=int, default=3)
    e.add_argument("--max-len", type=int, default=256)
    e.add_argument("--threads", type=int, default=2)
    t = sub.add_parser("train")
    t.add_argument("--k-max", type=int, default=3)
    t.add_argument("--k", type=int, default=2)
    t.add_argument("--epochs", type=int, default=2)
    t.add_argument("--batch", type=int, default=32)
    t.add_argument("--lr", type=float, default=5e-5)
    t.add_argument("--lr-head", type=float, default=3e-3)
    t.add_argument("--scale", type=float, default=15.0)
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--sets", nargs="+", default=SETS)
    t.add_argument("--out")
    for p in (e, t):
        p.add_argument("--work", default=os.path.join(CACHE, "finetune"))
    args = ap.parse_args()
    if not os.path.isdir(DATA):
        sys.exit(f"finetune_e5: {DATA} not found (the labelled data must sit beside the repo)")
    {"extract": extract, "train": train}[args.cmd](args)


if __name__ == "__main__":
    main()
