//! ONNX writer for linear classification heads over sparse features.
//!
//! A head scores a text from its sparse features, a list of `(feature id, value)` pairs:
//! `logits = Σ W[id] · value + b`, `probs = softmax(logits / temperature)`. [`linear_head_onnx`]
//! writes that as an ONNX model (opset 17, IR version 8) that ONNX Runtime runs in batches:
//!
//! - inputs `ids` (int64) and `values` (float32), both `[batch, width]`, one row per text, padded
//!   with id 0 and value 0.0 (a zero value adds nothing, whatever row 0 of `W` holds);
//! - outputs `logits` and `probs` (float32 `[batch, n_classes]`).
//!
//! The protobuf is encoded by hand (a few dozen lines) rather than through a protobuf crate: the
//! model uses a handful of messages, all written once, never read back. Field numbers are those
//! of `onnx.proto` (onnx 1.23). Weights are stored as little-endian `raw_data`, 4 bytes each.
//!
//! The model also carries the metadata entries [`META_N_FEATURES`] and [`META_N_CLASSES`], so that
//! a runtime can reject out-of-range feature ids with a clear error instead of ONNX Runtime's
//! `Gather` message.
//!
//! ```
//! use verbatim::model::onnx_graph::{LinearGraph, linear_head_onnx};
//! let (weights, bias) = (vec![0.5f32; 4 * 2], vec![0.0f32, 0.1]);
//! let bytes = linear_head_onnx(&LinearGraph {
//!     n_features: 4,
//!     n_classes: 2,
//!     weights: &weights,
//!     bias: &bias,
//!     temperature: 1.0,
//!     doc: "toy head",
//! });
//! assert!(bytes.len() > weights.len() * 4);
//! ```

/// ONNX IR version written in the model (ONNX 1.10+, ONNX Runtime 1.10+).
pub const IR_VERSION: i64 = 8;
/// Version of the default operator set (`ai.onnx`) the graph uses.
pub const OPSET: i64 = 17;
/// `producer_name` of the model.
pub const PRODUCER: &str = "verbatim";
/// Metadata key holding the number of features (rows of `W`), in decimal.
pub const META_N_FEATURES: &str = "verbatim.n_features";
/// Metadata key holding the number of classes, in decimal.
pub const META_N_CLASSES: &str = "verbatim.n_classes";

/// Weights of a linear head: `weights` is row-major `[n_features][n_classes]`.
#[derive(Debug, Clone, Copy)]
pub struct LinearGraph<'a> {
    /// Number of features, the rows of `weights`; valid ids are `0..n_features`.
    pub n_features: usize,
    /// Number of classes, the columns of `weights` and the length of `bias`.
    pub n_classes: usize,
    /// Row-major `[n_features][n_classes]`.
    pub weights: &'a [f32],
    /// One bias per class.
    pub bias: &'a [f32],
    /// Softmax temperature (logits are divided by it before the softmax); positive and finite.
    pub temperature: f32,
    /// Free text stored as the graph's `doc_string` (what the head is, how it was trained).
    pub doc: &'a str,
}

/// `TensorProto.DataType` values.
const FLOAT: i64 = 1;
const INT64: i64 = 7;
/// `AttributeProto.AttributeType.INT`.
const ATTR_INT: i64 = 2;

/// Protobuf wire types.
const VARINT: u32 = 0;
const LEN: u32 = 2;

/// Encodes `v` as a base-128 varint. Negative values take 10 bytes (two's complement), as
/// protobuf requires for int64 fields.
fn varint(out: &mut Vec<u8>, v: u64) {
    let mut v = v;
    while v >= 0x80 {
        out.push((v as u8 & 0x7f) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn tag(out: &mut Vec<u8>, field: u32, wire: u32) {
    varint(out, u64::from(field << 3 | wire));
}

fn int_field(out: &mut Vec<u8>, field: u32, v: i64) {
    tag(out, field, VARINT);
    varint(out, v as u64);
}

fn bytes_field(out: &mut Vec<u8>, field: u32, bytes: &[u8]) {
    tag(out, field, LEN);
    varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

fn str_field(out: &mut Vec<u8>, field: u32, s: &str) {
    bytes_field(out, field, s.as_bytes());
}

/// Packed repeated int64. `onnx.proto` is proto2 and does not mark `dims` or `ints` packed, but
/// parsers must accept packed encoding for any repeated scalar field, and it is shorter.
fn packed_ints_field(out: &mut Vec<u8>, field: u32, vs: &[i64]) {
    let mut body = Vec::with_capacity(vs.len() * 2);
    for &v in vs {
        varint(&mut body, v as u64);
    }
    bytes_field(out, field, &body);
}

/// A nested message: its length must precede it, so it is built apart first.
fn message_field(out: &mut Vec<u8>, field: u32, build: impl FnOnce(&mut Vec<u8>)) {
    let mut body = Vec::new();
    build(&mut body);
    bytes_field(out, field, &body);
}

/// `TensorProto` with little-endian `raw_data`.
fn tensor(out: &mut Vec<u8>, name: &str, data_type: i64, dims: &[i64], raw: &[u8]) {
    // A scalar has no dims; an empty packed field would still be valid but is noise.
    if !dims.is_empty() {
        packed_ints_field(out, 1, dims);
    }
    int_field(out, 2, data_type);
    str_field(out, 8, name);
    bytes_field(out, 9, raw);
}

fn f32_le(vs: &[f32]) -> Vec<u8> {
    vs.iter().flat_map(|v| v.to_le_bytes()).collect()
}

fn i64_le(vs: &[i64]) -> Vec<u8> {
    vs.iter().flat_map(|v| v.to_le_bytes()).collect()
}

/// One dimension of a `TensorShapeProto`.
enum Dim<'a> {
    Fixed(i64),
    Symbol(&'a str),
}

/// `ValueInfoProto` of a tensor.
fn value_info(out: &mut Vec<u8>, name: &str, elem_type: i64, dims: &[Dim<'_>]) {
    str_field(out, 1, name);
    message_field(out, 2, |ty| {
        message_field(ty, 1, |tensor_type| {
            int_field(tensor_type, 1, elem_type);
            message_field(tensor_type, 2, |shape| {
                for d in dims {
                    message_field(shape, 1, |dim| match d {
                        Dim::Fixed(v) => int_field(dim, 1, *v),
                        Dim::Symbol(s) => str_field(dim, 2, s),
                    });
                }
            });
        });
    });
}

/// `GraphProto.node`: a `NodeProto` in the default domain, with int attributes only (all this
/// graph needs). The node is named after its output, which is unique in the graph.
fn node(graph: &mut Vec<u8>, op: &str, inputs: &[&str], output: &str, attrs: &[(&str, i64)]) {
    message_field(graph, 1, |out| {
        for i in inputs {
            str_field(out, 1, i);
        }
        str_field(out, 2, output);
        str_field(out, 3, output);
        str_field(out, 4, op);
        for (name, v) in attrs {
            message_field(out, 5, |a| {
                str_field(a, 1, name);
                int_field(a, 3, *v);
                int_field(a, 20, ATTR_INT);
            });
        }
    });
}

fn metadata(out: &mut Vec<u8>, key: &str, value: &str) {
    message_field(out, 14, |e| {
        str_field(e, 1, key);
        str_field(e, 2, value);
    });
}

fn dim(n: usize) -> i64 {
    i64::try_from(n).expect("tensor dimension fits in i64")
}

/// Serialises the head as an ONNX model (`ModelProto` bytes, ready to write to a `.onnx` file).
///
/// # Panics
///
/// When the shapes disagree (`weights.len() != n_features * n_classes`,
/// `bias.len() != n_classes`), when `n_features` or `n_classes` is 0, or when `temperature` is
/// not positive and finite: these are bugs of the caller, not conditions of the data.
pub fn linear_head_onnx(g: &LinearGraph<'_>) -> Vec<u8> {
    assert!(g.n_features > 0 && g.n_classes > 0, "a head needs at least one feature and one class");
    assert_eq!(
        Some(g.weights.len()),
        g.n_features.checked_mul(g.n_classes),
        "weights must be [n_features][n_classes]"
    );
    assert_eq!(g.bias.len(), g.n_classes, "bias must have n_classes entries");
    assert!(
        g.temperature.is_finite() && g.temperature > 0.0,
        "temperature must be positive and finite, got {}",
        g.temperature
    );
    let (nf, nc) = (dim(g.n_features), dim(g.n_classes));

    let mut model = Vec::with_capacity(g.weights.len() * 4 + 2048);
    int_field(&mut model, 1, IR_VERSION);
    str_field(&mut model, 2, PRODUCER);
    str_field(&mut model, 3, env!("CARGO_PKG_VERSION"));
    message_field(&mut model, 7, |graph| {
        // Gather picks the W row of each id; the values weight them; the sum over the row's
        // positions is the sparse dot product. Pads (value 0) vanish in the product.
        node(graph, "Gather", &["W", "ids"], "rows", &[("axis", 0)]);
        node(graph, "Unsqueeze", &["values", "axes_2"], "values_3d", &[]);
        node(graph, "Mul", &["rows", "values_3d"], "weighted", &[]);
        node(graph, "ReduceSum", &["weighted", "axes_1"], "summed", &[("keepdims", 0)]);
        node(graph, "Add", &["summed", "b"], "logits", &[]);
        node(graph, "Mul", &["logits", "inv_temperature"], "scaled", &[]);
        node(graph, "Softmax", &["scaled"], "probs", &[("axis", -1)]);
        str_field(graph, 2, "linear_head");
        message_field(graph, 5, |t| tensor(t, "W", FLOAT, &[nf, nc], &f32_le(g.weights)));
        message_field(graph, 5, |t| tensor(t, "b", FLOAT, &[nc], &f32_le(g.bias)));
        message_field(graph, 5, |t| {
            tensor(t, "inv_temperature", FLOAT, &[], &f32_le(&[1.0 / g.temperature]))
        });
        message_field(graph, 5, |t| tensor(t, "axes_2", INT64, &[1], &i64_le(&[2])));
        message_field(graph, 5, |t| tensor(t, "axes_1", INT64, &[1], &i64_le(&[1])));
        if !g.doc.is_empty() {
            str_field(graph, 10, g.doc);
        }
        let batch_width = [Dim::Symbol("batch"), Dim::Symbol("width")];
        message_field(graph, 11, |v| value_info(v, "ids", INT64, &batch_width));
        message_field(graph, 11, |v| value_info(v, "values", FLOAT, &batch_width));
        let batch_classes = [Dim::Symbol("batch"), Dim::Fixed(nc)];
        message_field(graph, 12, |v| value_info(v, "logits", FLOAT, &batch_classes));
        message_field(graph, 12, |v| value_info(v, "probs", FLOAT, &batch_classes));
    });
    // Default domain (`ai.onnx`): the empty domain string is omitted.
    message_field(&mut model, 8, |o| int_field(o, 2, OPSET));
    metadata(&mut model, META_N_FEATURES, &g.n_features.to_string());
    metadata(&mut model, META_N_CLASSES, &g.n_classes.to_string());
    model
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Knuth's MMIX LCG: enough randomness for test weights without a dependency.
    pub(crate) struct Lcg(pub(crate) u64);

    impl Lcg {
        pub(crate) fn next_u32(&mut self) -> u32 {
            self.0 = self
                .0
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (self.0 >> 32) as u32
        }

        /// Uniform in [-1, 1).
        pub(crate) fn next_f32(&mut self) -> f32 {
            (self.next_u32() >> 8) as f32 / (1u32 << 23) as f32 - 1.0
        }
    }

    fn enc(v: u64) -> Vec<u8> {
        let mut out = Vec::new();
        varint(&mut out, v);
        out
    }

    #[test]
    fn varints() {
        assert_eq!(enc(0), [0x00]);
        assert_eq!(enc(1), [0x01]);
        assert_eq!(enc(127), [0x7f]);
        assert_eq!(enc(128), [0x80, 0x01]);
        assert_eq!(enc(300), [0xac, 0x02]);
        assert_eq!(enc(16_384), [0x80, 0x80, 0x01]);
        assert_eq!(enc(u64::MAX), [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]);
        // int64 -1 (Softmax axis) is ten bytes, not a zigzag.
        let mut out = Vec::new();
        int_field(&mut out, 3, -1);
        assert_eq!(out, [0x18, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]);
    }

    #[test]
    fn fields() {
        let mut out = Vec::new();
        str_field(&mut out, 2, "ab");
        assert_eq!(out, [0x12, 0x02, b'a', b'b']);
        out.clear();
        packed_ints_field(&mut out, 1, &[3, 300]);
        assert_eq!(out, [0x0a, 0x03, 0x03, 0xac, 0x02]);
        out.clear();
        // Field numbers above 15 take a two-byte tag: AttributeProto.type = 20.
        int_field(&mut out, 20, ATTR_INT);
        assert_eq!(out, [0xa0, 0x01, 0x02]);
        out.clear();
        message_field(&mut out, 7, |m| int_field(m, 1, 5));
        assert_eq!(out, [0x3a, 0x02, 0x08, 0x05]);
    }

    fn head(n_features: usize, n_classes: usize, doc: &str) -> Vec<u8> {
        let weights: Vec<f32> = (0..n_features * n_classes).map(|i| i as f32 * 0.25).collect();
        let bias = vec![0.5f32; n_classes];
        linear_head_onnx(&LinearGraph {
            n_features,
            n_classes,
            weights: &weights,
            bias: &bias,
            temperature: 2.0,
            doc,
        })
    }

    fn contains(hay: &[u8], needle: &[u8]) -> bool {
        hay.windows(needle.len()).any(|w| w == needle)
    }

    #[test]
    fn model_structure() {
        let m = head(3, 2, "tiny head");
        // ir_version = 8, then producer_name = "verbatim".
        assert_eq!(&m[..2], [0x08, 0x08]);
        assert_eq!(&m[2..12], b"\x12\x08verbatim");
        // opset_import { version: 17 }.
        assert!(contains(&m, &[0x42, 0x02, 0x10, 0x11]));
        for s in ["Gather", "Unsqueeze", "ReduceSum", "Softmax", "ids", "values", "probs", "logits"]
        {
            assert!(contains(&m, s.as_bytes()), "{s}");
        }
        // graph.doc_string (field 10).
        assert!(contains(&m, b"\x52\x09tiny head"));
        // W: dims [3, 2], FLOAT, name, raw_data of 24 bytes starting with 0.0, 0.25.
        let mut w = vec![0x0a, 0x02, 0x03, 0x02, 0x10, 0x01, 0x42, 0x01, b'W', 0x4a, 24];
        w.extend(f32_le(&[0.0, 0.25]));
        assert!(contains(&m, &w));
        // inv_temperature = 1/2, a scalar (no dims).
        let mut t = b"\x10\x01\x42\x0finv_temperature\x4a\x04".to_vec();
        t.extend(0.5f32.to_le_bytes());
        assert!(contains(&m, &t));
        // Symbolic batch dimension, fixed class dimension.
        assert!(contains(&m, b"\x0a\x07\x12\x05batch"));
        assert!(contains(&m, &[0x0a, 0x02, 0x08, 0x02]));
        assert!(contains(&m, b"verbatim.n_features\x12\x013"));
        // Empty doc: no doc_string field.
        assert!(!contains(&head(3, 2, ""), b"\x52\x00"));
        assert_eq!(m, head(3, 2, "tiny head"), "deterministic");
    }

    /// Splits a message into its `(field number, payload)` fields (the payload of a varint field
    /// is the varint's bytes, that of a length-delimited field is what follows the length);
    /// panics when the bytes are not a well-formed protobuf message.
    fn fields_of(msg: &[u8]) -> Vec<(u64, &[u8])> {
        fn read_varint(msg: &[u8], i: &mut usize) -> u64 {
            let (mut v, mut shift) = (0u64, 0);
            loop {
                let byte = msg[*i];
                *i += 1;
                v |= u64::from(byte & 0x7f) << shift;
                if byte < 0x80 {
                    return v;
                }
                shift += 7;
            }
        }
        let (mut out, mut i) = (Vec::new(), 0);
        while i < msg.len() {
            let tag = read_varint(msg, &mut i);
            let start = match tag & 7 {
                0 => {
                    let start = i;
                    read_varint(msg, &mut i);
                    start
                }
                2 => {
                    let len = read_varint(msg, &mut i) as usize;
                    i += len;
                    assert!(i <= msg.len(), "field {} overruns its message", tag >> 3);
                    i - len
                }
                w => panic!("unexpected wire type {w} for field {}", tag >> 3),
            };
            out.push((tag >> 3, &msg[start..i]));
        }
        out
    }

    #[test]
    fn model_is_well_formed_protobuf() {
        let m = head(5, 3, "doc");
        let top = fields_of(&m);
        let numbers: Vec<u64> = top.iter().map(|f| f.0).collect();
        assert_eq!(numbers, [1, 2, 3, 7, 8, 14, 14]);
        let graph = top[3].1;
        let count = |n: u64| fields_of(graph).iter().filter(|f| f.0 == n).count();
        // 7 nodes, 5 initializers, 2 inputs, 2 outputs, a name and a doc_string.
        assert_eq!(
            [count(1), count(5), count(11), count(12), count(2), count(10)],
            [7, 5, 2, 2, 1, 1]
        );
        // Every nested message parses too, down to the shape dimensions.
        let nested = |msg: &[u8], field: u64| -> Vec<Vec<u8>> {
            fields_of(msg).into_iter().filter(|f| f.0 == field).map(|f| f.1.to_vec()).collect()
        };
        for node in nested(graph, 1) {
            assert_eq!(nested(&node, 4).len(), 1, "op_type");
            for attr in nested(&node, 5) {
                fields_of(&attr);
            }
        }
        for tensor in nested(graph, 5) {
            fields_of(&tensor);
        }
        let mut dims = 0;
        for info in [nested(graph, 11), nested(graph, 12)].concat() {
            for ty in nested(&info, 2) {
                for tensor_type in nested(&ty, 1) {
                    for shape in nested(&tensor_type, 2) {
                        dims += nested(&shape, 1).len();
                    }
                }
            }
        }
        assert_eq!(dims, 4 * 2, "4 values of rank 2");
        // The Softmax node, byte for byte: inputs, output, name, op_type, attribute axis = -1.
        let mut softmax =
            b"\x0a\x35\x0a\x06scaled\x12\x05probs\x1a\x05probs\x22\x07Softmax".to_vec();
        softmax.extend(b"\x2a\x14\x0a\x04axis\x18");
        softmax.extend([0xff; 9]);
        softmax.extend([0x01, 0xa0, 0x01, 0x02]);
        assert!(contains(graph, &softmax));
    }

    #[test]
    fn size_grows_with_weights() {
        let base = head(10, 3, "").len();
        // Each extra feature adds n_classes × 4 bytes of raw_data, plus at most a few bytes of
        // longer varints (dims, lengths of the tensor, graph and metadata).
        for (nf, nc) in [(11, 3), (100, 3), (1000, 3), (1000, 7)] {
            let len = head(nf, nc, "").len();
            let raw = (nf * nc - 10 * 3) * 4 + (nc - 3) * 4;
            assert!(len >= base + raw && len <= base + raw + 24, "{nf}x{nc}: {len} vs {base}");
        }
    }

    #[test]
    #[should_panic(expected = "weights must be")]
    fn shape_mismatch_panics() {
        linear_head_onnx(&LinearGraph {
            n_features: 3,
            n_classes: 2,
            weights: &[0.0; 5],
            bias: &[0.0; 2],
            temperature: 1.0,
            doc: "",
        });
    }

    /// Writes a random head (1000 features, 4 classes, temperature 1.5) to the file named by
    /// `$VERBATIM_WRITE_TEST_HEAD`, for `scripts/check_onnx_head.py`; a no-op when it is unset.
    #[test]
    fn write_test_head() {
        let Some(path) = std::env::var_os("VERBATIM_WRITE_TEST_HEAD").filter(|p| !p.is_empty())
        else {
            return;
        };
        let (n_features, n_classes) = (1000, 4);
        let mut rng = Lcg(42);
        let weights: Vec<f32> = (0..n_features * n_classes).map(|_| rng.next_f32() * 3.0).collect();
        let bias: Vec<f32> = (0..n_classes).map(|_| rng.next_f32()).collect();
        let bytes = linear_head_onnx(&LinearGraph {
            n_features,
            n_classes,
            weights: &weights,
            bias: &bias,
            temperature: 1.5,
            doc: "random test head (scripts/check_onnx_head.py)",
        });
        std::fs::write(&path, bytes).expect("write $VERBATIM_WRITE_TEST_HEAD");
        eprintln!("wrote {}", std::path::Path::new(&path).display());
    }
}
