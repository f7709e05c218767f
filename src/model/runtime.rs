//! Runs a linear head written by [`linear_head_onnx`](super::onnx_graph::linear_head_onnx)
//! through ONNX Runtime (feature `onnx`).
//!
//! The library is found and opened like the sentence encoder's ([`crate::embed`]): one shared
//! ONNX Runtime environment per process.
//!
//! ```no_run
//! use std::path::Path;
//! use verbatim::model::runtime::OnnxHead;
//! let mut head = OnnxHead::open(Path::new("tone.onnx"), 1)?;
//! let (ids, values): (&[u32], &[f32]) = (&[3, 17, 42], &[1.0, 0.5, 2.0]);
//! let probs = head.probs(&[(ids, values)])?;
//! assert_eq!(probs.len(), head.n_classes());
//! # Ok::<(), verbatim::model::runtime::HeadError>(())
//! ```

use std::path::{Path, PathBuf};

use ndarray::Array2;
use ort::session::Session;
use ort::value::{TensorElementType, TensorRef};

use super::onnx_graph::{META_N_CLASSES, META_N_FEATURES};
use crate::embed::EmbedError;

/// Errors of [`OnnxHead`].
#[derive(Debug, thiserror::Error)]
pub enum HeadError {
    /// The model file does not exist.
    #[error("head model file not found: {}", path.display())]
    FileNotFound {
        /// The missing file.
        path: PathBuf,
    },
    /// ONNX Runtime could not be found or loaded (see [`EmbedError::LibraryNotFound`]).
    #[error(transparent)]
    Runtime(#[from] EmbedError),
    /// An ONNX Runtime call failed (session creation, run).
    #[error("ONNX Runtime: {0}")]
    Ort(#[from] ort::Error),
    /// The file is a valid ONNX model but not a linear head.
    #[error("{} is not a linear head model: {reason}", path.display())]
    WrongModel {
        /// The model file.
        path: PathBuf,
        /// What is missing or mismatched.
        reason: String,
    },
    /// A row has different numbers of ids and values.
    #[error("row {row}: {ids} feature ids but {values} values")]
    RowLength {
        /// Index of the row in the batch.
        row: usize,
        /// Number of ids.
        ids: usize,
        /// Number of values.
        values: usize,
    },
    /// A feature id is not a row of the weight matrix.
    #[error("row {row}: feature id {id} is out of range (the head has {n_features} features)")]
    FeatureOutOfRange {
        /// Index of the row in the batch.
        row: usize,
        /// The offending id.
        id: u32,
        /// Number of features of the head.
        n_features: usize,
    },
    /// The model's output is not what the head expects.
    #[error("unexpected head output: {0}")]
    Output(String),
}

/// A linear head: one ONNX Runtime session over a model with inputs `ids` (int64) and `values`
/// (float32), both `[batch, width]`, and output `probs` (float32 `[batch, n_classes]`).
pub struct OnnxHead {
    session: Session,
    n_classes: usize,
    /// From the model's metadata when it has it, to check ids before ONNX Runtime does.
    n_features: Option<usize>,
}

impl std::fmt::Debug for OnnxHead {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OnnxHead")
            .field("n_classes", &self.n_classes)
            .field("n_features", &self.n_features)
            .finish_non_exhaustive()
    }
}

fn builder(threads: usize) -> Result<ort::session::builder::SessionBuilder, HeadError> {
    Ok(crate::embed::session_builder(threads)?)
}

impl OnnxHead {
    /// Opens the head with `threads` intra-op threads (0: ONNX Runtime's default, one per core).
    pub fn open(path: &Path, threads: usize) -> Result<OnnxHead, HeadError> {
        if !path.is_file() {
            return Err(HeadError::FileNotFound { path: path.to_path_buf() });
        }
        let session = builder(threads)?.commit_from_file(path)?;
        Self::from_session(session, path)
    }

    /// Opens a model held in memory (the head embedded in the binary); `name` stands for its
    /// path in error messages.
    pub fn from_bytes(bytes: &[u8], name: &Path, threads: usize) -> Result<OnnxHead, HeadError> {
        let session = builder(threads)?.commit_from_memory(bytes)?;
        Self::from_session(session, name)
    }

    fn from_session(session: Session, path: &Path) -> Result<OnnxHead, HeadError> {
        let wrong = |reason: String| HeadError::WrongModel { path: path.to_path_buf(), reason };

        for (name, ty) in
            [("ids", TensorElementType::Int64), ("values", TensorElementType::Float32)]
        {
            match session.inputs().iter().find(|i| i.name() == name) {
                Some(i) if i.dtype().tensor_type() == Some(ty) => {}
                Some(i) => {
                    return Err(wrong(format!(
                        "input `{name}` is {:?}, expected {ty:?}",
                        i.dtype()
                    )));
                }
                None => {
                    let names: Vec<&str> = session.inputs().iter().map(|i| i.name()).collect();
                    return Err(wrong(format!("no input `{name}` (inputs: {names:?})")));
                }
            }
        }
        let Some(probs) = session.outputs().iter().find(|o| o.name() == "probs") else {
            let names: Vec<&str> = session.outputs().iter().map(|o| o.name()).collect();
            return Err(wrong(format!("no output `probs` (outputs: {names:?})")));
        };
        if probs.dtype().tensor_type() != Some(TensorElementType::Float32) {
            return Err(wrong(format!("output `probs` is {:?}, expected Float32", probs.dtype())));
        }
        // The class count is the static last dimension of `probs`; a model with a symbolic one
        // must say it in its metadata.
        let meta = session.metadata()?;
        let meta_usize = |key: &str| meta.custom(key).and_then(|v| v.trim().parse::<usize>().ok());
        let from_shape = match probs.dtype().tensor_shape().map(|s| &s[..]) {
            Some([_, c]) => usize::try_from(*c).ok().filter(|&c| c > 0),
            _ => None,
        };
        let Some(n_classes) = from_shape.or_else(|| meta_usize(META_N_CLASSES)) else {
            return Err(wrong(format!(
                "output `probs` has shape {:?}, expected [batch, n_classes] with a fixed n_classes",
                probs.dtype().tensor_shape()
            )));
        };
        let n_features = meta_usize(META_N_FEATURES);
        drop(meta);
        Ok(OnnxHead { session, n_classes, n_features })
    }

    /// Number of classes, the length of each row of [`OnnxHead::probs`].
    pub fn n_classes(&self) -> usize {
        self.n_classes
    }

    /// Class probabilities of each row, one `(ids, values)` list per text: row-major
    /// `[rows.len()][n_classes]`. All rows go through one run, padded to the longest row.
    pub fn probs(&mut self, rows: &[(&[u32], &[f32])]) -> Result<Vec<f32>, HeadError> {
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        for (row, (ids, values)) in rows.iter().enumerate() {
            if ids.len() != values.len() {
                return Err(HeadError::RowLength { row, ids: ids.len(), values: values.len() });
            }
            if let Some(n_features) = self.n_features
                && let Some(&id) = ids.iter().find(|&&id| id as usize >= n_features)
            {
                return Err(HeadError::FeatureOutOfRange { row, id, n_features });
            }
        }
        // A width of 0 would make a zero-sized tensor; one pad column gives the same sums.
        let width = rows.iter().map(|(ids, _)| ids.len()).max().unwrap_or(0).max(1);
        let mut ids = Array2::<i64>::zeros((rows.len(), width));
        let mut values = Array2::<f32>::zeros((rows.len(), width));
        for (r, (row_ids, row_values)) in rows.iter().enumerate() {
            for (c, (&id, &v)) in row_ids.iter().zip(row_values.iter()).enumerate() {
                ids[[r, c]] = i64::from(id);
                values[[r, c]] = v;
            }
        }
        let outputs = self.session.run(ort::inputs![
            "ids" => TensorRef::from_array_view(&ids)?,
            "values" => TensorRef::from_array_view(&values)?,
        ])?;
        let Some(probs) = outputs.get("probs") else {
            return Err(HeadError::Output("the run returned no `probs`".into()));
        };
        let probs = probs.try_extract_array::<f32>()?;
        if probs.shape() != [rows.len(), self.n_classes] {
            return Err(HeadError::Output(format!(
                "`probs` has shape {:?}, expected [{}, {}]",
                probs.shape(),
                rows.len(),
                self.n_classes
            )));
        }
        Ok(probs.iter().copied().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::onnx_graph::tests::Lcg;
    use crate::model::onnx_graph::{LinearGraph, linear_head_onnx};

    /// `true` (and a note on stderr) when ONNX Runtime's library is absent.
    fn skip(test: &str) -> bool {
        match crate::embed::find_library() {
            Ok(_) => false,
            Err(e) => {
                eprintln!("SKIPPED {test}: {e}");
                true
            }
        }
    }

    struct Head {
        n_features: usize,
        n_classes: usize,
        weights: Vec<f32>,
        bias: Vec<f32>,
        temperature: f32,
    }

    fn random_head(rng: &mut Lcg, n_features: usize, n_classes: usize) -> Head {
        let weights = (0..n_features * n_classes).map(|_| rng.next_f32() * 3.0).collect();
        let bias = (0..n_classes).map(|_| rng.next_f32()).collect();
        Head { n_features, n_classes, weights, bias, temperature: 1.5 }
    }

    fn write(head: &Head, dir: &Path) -> PathBuf {
        let bytes = linear_head_onnx(&LinearGraph {
            n_features: head.n_features,
            n_classes: head.n_classes,
            weights: &head.weights,
            bias: &head.bias,
            temperature: head.temperature,
            doc: "runtime test head",
        });
        let path = dir.join("head.onnx");
        std::fs::write(&path, bytes).expect("write model");
        path
    }

    /// The head computed in f64: Σ W[id]·value + b, / temperature, softmax.
    fn reference(head: &Head, ids: &[u32], values: &[f32]) -> Vec<f32> {
        let c = head.n_classes;
        let mut logits: Vec<f64> = head.bias.iter().map(|&b| f64::from(b)).collect();
        for (&id, &v) in ids.iter().zip(values) {
            for (k, l) in logits.iter_mut().enumerate() {
                *l += f64::from(head.weights[id as usize * c + k]) * f64::from(v);
            }
        }
        let t = f64::from(head.temperature);
        let max = logits.iter().fold(f64::MIN, |m, &l| m.max(l / t));
        let exps: Vec<f64> = logits.iter().map(|&l| (l / t - max).exp()).collect();
        let sum: f64 = exps.iter().sum();
        exps.iter().map(|e| (e / sum) as f32).collect()
    }

    #[test]
    fn probs_match_rust_reference() {
        if skip("probs_match_rust_reference") {
            return;
        }
        let mut rng = Lcg(0x5eed_1234);
        let head = random_head(&mut rng, 1000, 3);
        let dir = tempfile::tempdir().expect("tempdir");
        let path = write(&head, dir.path());
        let mut onnx = OnnxHead::open(&path, 1).expect("open head");
        assert_eq!(onnx.n_classes(), 3);
        assert!(onnx.probs(&[]).expect("empty batch").is_empty());

        // Ragged rows, including an empty one, repeated ids and the largest id.
        let mut rows: Vec<(Vec<u32>, Vec<f32>)> =
            vec![(vec![], vec![]), (vec![0], vec![1.0]), (vec![999, 5, 5], vec![0.5, 2.0, -1.0])];
        for len in [1, 7, 40, 3] {
            let ids = (0..len).map(|_| rng.next_u32() % 1000).collect();
            let values = (0..len).map(|_| rng.next_f32() + 1.0).collect();
            rows.push((ids, values));
        }
        let batch: Vec<(&[u32], &[f32])> =
            rows.iter().map(|(i, v)| (i.as_slice(), v.as_slice())).collect();
        let got = onnx.probs(&batch).expect("probs");
        assert_eq!(got.len(), rows.len() * 3);
        let mut max_diff = 0f32;
        for (r, (ids, values)) in rows.iter().enumerate() {
            let want = reference(&head, ids, values);
            let row = &got[r * 3..r * 3 + 3];
            assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-5, "row {r} sums to 1");
            for (g, w) in row.iter().zip(&want) {
                max_diff = max_diff.max((g - w).abs());
                assert!((g - w).abs() < 1e-5, "row {r}: onnx {row:?} vs rust {want:?}");
            }
            // Padding is neutral: alone in its batch (no padding), the row gives the same.
            let single = onnx.probs(&[(ids, values)]).expect("single row");
            for (s, g) in single.iter().zip(row) {
                assert!((s - g).abs() < 1e-6, "row {r}: single {single:?} vs batched {row:?}");
            }
        }
        eprintln!("max |onnx - rust| = {max_diff:.1e}");
    }

    #[test]
    fn input_errors_are_typed() {
        if skip("input_errors_are_typed") {
            return;
        }
        let head = random_head(&mut Lcg(7), 10, 2);
        let dir = tempfile::tempdir().expect("tempdir");
        let mut onnx = OnnxHead::open(&write(&head, dir.path()), 0).expect("open head");
        let (ids, values): (&[u32], &[f32]) = (&[1, 2], &[1.0]);
        match onnx.probs(&[(&[], &[]), (ids, values)]) {
            Err(HeadError::RowLength { row: 1, ids: 2, values: 1 }) => {}
            other => panic!("expected RowLength, got {other:?}"),
        }
        let (ids, values): (&[u32], &[f32]) = (&[3, 10], &[1.0, 1.0]);
        match onnx.probs(&[(ids, values)]) {
            Err(HeadError::FeatureOutOfRange { row: 0, id: 10, n_features: 10 }) => {}
            other => panic!("expected FeatureOutOfRange, got {other:?}"),
        }
    }

    #[test]
    fn open_errors_are_typed() {
        match OnnxHead::open(Path::new("/nonexistent/head.onnx"), 1) {
            Err(HeadError::FileNotFound { .. }) => {}
            other => panic!("expected FileNotFound, got {other:?}"),
        }
        if skip("open_errors_are_typed (wrong model)") {
            return;
        }
        // A valid ONNX model that is not a head: a head whose `ids` input is renamed `tok`.
        let head = random_head(&mut Lcg(3), 4, 2);
        let bytes = linear_head_onnx(&LinearGraph {
            n_features: 4,
            n_classes: 2,
            weights: &head.weights,
            bias: &head.bias,
            temperature: 1.0,
            doc: "",
        });
        let renamed = rename_all(&bytes, b"\x03ids", b"\x03tok");
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("other.onnx");
        std::fs::write(&path, renamed).expect("write");
        match OnnxHead::open(&path, 1) {
            Err(e @ HeadError::WrongModel { .. }) => {
                assert!(e.to_string().contains("no input `ids`"), "{e}");
            }
            other => panic!("expected WrongModel, got {other:?}"),
        }
    }

    /// Replaces every occurrence of `from` by `to` (same length, so lengths stay valid).
    fn rename_all(bytes: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
        assert_eq!(from.len(), to.len());
        let mut out = bytes.to_vec();
        let mut i = 0;
        while i + from.len() <= out.len() {
            if &out[i..i + from.len()] == from {
                out[i..i + from.len()].copy_from_slice(to);
                i += from.len();
            } else {
                i += 1;
            }
        }
        out
    }
}
