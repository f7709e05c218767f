#!/usr/bin/env python3
"""Validate a linear head written by the Rust writer (`verbatim::model::onnx_graph`).

Usage:
    check_onnx_head.py MODEL.onnx

Checks, in order: `onnx.checker.check_model(full_check=True)` (which includes strict shape
inference), the interface (inputs `ids` int64 and `values` float32 [batch, width], outputs
`logits` and `probs` float32 [batch, n_classes], opset 17), then runs the model with onnxruntime
on random ragged rows padded with id 0 / value 0.0 and compares `logits` and `probs` with numpy
(sum of W[id] * value + b; softmax of logits * inv_temperature). Exits non-zero on any failure.

The Python packages are those of the models venv (onnx, onnxruntime, numpy):

    ~/.cache/verbatim/venv/bin/python scripts/check_onnx_head.py MODEL.onnx

To get a file to check, have the Rust test `write_test_head` write one (a random head, 1000
features, 4 classes, temperature 1.5; the test does nothing without the variable):

    VERBATIM_WRITE_TEST_HEAD=/tmp/head.onnx cargo test --release --lib write_test_head
    ~/.cache/verbatim/venv/bin/python scripts/check_onnx_head.py /tmp/head.onnx
"""

import sys

import numpy as np
import onnx
import onnxruntime as ort
from onnx import numpy_helper, shape_inference

TOLERANCE = 1e-5


def fail(message):
    sys.exit(f"FAIL: {message}")


def dims(value_info):
    return [d.dim_param or d.dim_value for d in value_info.type.tensor_type.shape.dim]


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    path = sys.argv[1]
    model = onnx.load(path)
    onnx.checker.check_model(model, full_check=True)
    inferred = shape_inference.infer_shapes(model, check_type=True, strict_mode=True)
    print(f"checker and shape inference: ok ({len(inferred.graph.value_info)} inferred values)")

    graph = model.graph
    opsets = {o.domain: o.version for o in model.opset_import}
    if model.ir_version != 8 or opsets.get("", opsets.get("ai.onnx")) != 17:
        fail(f"ir_version {model.ir_version}, opsets {opsets}: expected 8 and ai.onnx 17")
    if model.producer_name != "verbatim":
        fail(f"producer_name {model.producer_name!r}")
    init = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    w, b, inv_t = init["W"], init["b"], float(init["inv_temperature"])
    n_features, n_classes = w.shape
    if w.dtype != np.float32 or b.shape != (n_classes,) or init["inv_temperature"].shape != ():
        fail(f"initializers: W {w.dtype} {w.shape}, b {b.shape}")

    inputs = {i.name: i for i in graph.input}
    outputs = {o.name: o for o in graph.output}
    f32, i64 = onnx.TensorProto.FLOAT, onnx.TensorProto.INT64
    for name, elem, shape in [
        ("ids", i64, ["batch", "width"]),
        ("values", f32, ["batch", "width"]),
    ]:
        vi = inputs.get(name)
        if vi is None or vi.type.tensor_type.elem_type != elem or dims(vi) != shape:
            fail(f"input {name}: {vi}")
    for name in ["logits", "probs"]:
        vi = outputs.get(name)
        if vi is None or vi.type.tensor_type.elem_type != f32 or dims(vi) != ["batch", n_classes]:
            fail(f"output {name}: {vi}")
    meta = {p.key: p.value for p in model.metadata_props}
    if meta.get("verbatim.n_features") != str(n_features):
        fail(f"metadata {meta} vs {n_features} features")
    print(
        f"interface: ok ({n_features} features, {n_classes} classes, temperature "
        f"{1 / inv_t:.4g}, doc {graph.doc_string!r})"
    )

    rng = np.random.default_rng(17)
    lengths = [0, 1, 5, 40, 3, 17, 1, 64]
    width = max(lengths)
    ids = np.zeros((len(lengths), width), dtype=np.int64)
    values = np.zeros((len(lengths), width), dtype=np.float32)
    for r, n in enumerate(lengths):
        ids[r, :n] = rng.integers(0, n_features, n)
        values[r, :n] = rng.uniform(-2, 2, n)
    ids[2, 0] = n_features - 1  # the last row of W is reachable

    session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    logits, probs = session.run(["logits", "probs"], {"ids": ids, "values": values})

    want_logits = np.zeros((len(lengths), n_classes))
    for r, n in enumerate(lengths):
        for c in range(n):  # unpadded: the padding convention is what is tested
            want_logits[r] += w[ids[r, c]].astype(np.float64) * float(values[r, c])
    want_logits += b
    scaled = want_logits * inv_t
    e = np.exp(scaled - scaled.max(axis=1, keepdims=True))
    want_probs = e / e.sum(axis=1, keepdims=True)

    if logits.shape != (len(lengths), n_classes) or probs.shape != logits.shape:
        fail(f"output shapes {logits.shape} {probs.shape}")
    d_logits = float(np.abs(logits - want_logits).max())
    d_probs = float(np.abs(probs - want_probs).max())
    # Logits are sums of up to 64 products: compare them relative to their scale.
    scale = max(1.0, float(np.abs(want_logits).max()))
    print(f"onnxruntime vs numpy: max |logits diff| {d_logits:.2e}, max |probs diff| {d_probs:.2e}")
    if d_logits > TOLERANCE * scale or d_probs > TOLERANCE:
        fail("onnxruntime and numpy disagree")
    print(f"OK {path}")


if __name__ == "__main__":
    main()
