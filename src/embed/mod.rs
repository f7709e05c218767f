//! Sentence encoder for the accurate tier (feature `onnx`): multilingual-e5-small through ONNX
//! Runtime.
//!
//! The graph (`e5-small.onnx`, built by `scripts/convert_e5.py`, see `models/README.md`) takes
//! `input_ids` and `attention_mask` (int64 `[batch, seq]`) and returns `embedding` (float32
//! `[batch, 384]`, mean pooling over the unmasked tokens, L2-normalised). [`Encoder`] tokenises
//! with the model's `tokenizer.json` (the `tokenizers` crate, no truncation), prepends `query: `,
//! pads batches with the `<pad>` id and runs the graph.
//!
//! The graph accepts at most [`MAX_TOKENS`] (512) tokens. A longer text (counted with `query: `,
//! `<s>` and `</s>`, see [`Encoder::token_count`]) is split into overlapping windows: its content
//! tokens (between the `<s>` and `</s>` the tokenizer's post-processor adds) are cut into runs of
//! at most 510 tokens starting every [`WINDOW_STRIDE`] (446) tokens, so that consecutive windows
//! share [`WINDOW_OVERLAP`] (64) tokens, and each run is framed with `<s>` and `</s>`. Every window
//! is embedded like a text of its own (all windows of all texts go into the same length-sorted
//! batches); the text's embedding is the mean of its windows' embeddings weighted by their numbers
//! of content tokens, L2-normalised. Only the first window starts with `query: ` (the prefix is
//! part of the text's tokens). A text of at most 512 tokens is one window, embedded as is.
//!
//! ONNX Runtime is a shared library opened at run time (`ort`'s `load-dynamic`): nothing is
//! downloaded at build time. [`Encoder::open`] looks for `libonnxruntime.so` beside the
//! executable, then in `${XDG_CACHE_HOME:-~/.cache}/verbatim/onnxruntime/` (where
//! `scripts/setup_onnxruntime.sh` puts it), then at `ORT_DYLIB_PATH`.
//!
//! ```no_run
//! use std::path::Path;
//! use verbatim::embed::Encoder;
//! let mut enc = Encoder::open(
//!     Path::new("e5-small.onnx"),
//!     Path::new("e5-small.tokenizer.json"),
//! )?;
//! let v = enc.embed(&["Livraison rapide", "Flight delayed again"])?;
//! assert_eq!(v.len(), 2);
//! # Ok::<(), verbatim::embed::EmbedError>(())
//! ```

use std::borrow::Cow;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use ndarray::Array2;
use ort::environment::Environment;
use ort::session::Session;
use ort::session::builder::SessionBuilder;
use ort::value::TensorRef;
use tokenizers::Tokenizer;

/// Dimension of an embedding.
pub const DIM: usize = 384;
/// Longest input the graph accepts, in tokens (including `<s>` and `</s>`). A longer text is
/// embedded as overlapping windows of at most this many tokens (see the [module docs](self)):
/// nothing is truncated.
pub const MAX_TOKENS: usize = 512;
/// Content tokens per window of a long text ([`MAX_TOKENS`] minus `<s>` and `</s>`).
pub const WINDOW_TOKENS: usize = MAX_TOKENS - 2;
/// Content tokens shared by two consecutive windows of a long text.
pub const WINDOW_OVERLAP: usize = 64;
/// Distance between the starts of two consecutive windows, in content tokens.
pub const WINDOW_STRIDE: usize = WINDOW_TOKENS - WINDOW_OVERLAP;
/// Prefix added before every text given to [`Encoder::embed`] (e5's prefix for queries and texts
/// to classify).
pub const QUERY_PREFIX: &str = "query: ";
/// Default number of texts per model run.
pub const DEFAULT_BATCH: usize = 32;
/// Most tokens (rows × longest row) in one model run, whatever the batch size. 4,096 rather
/// than 8,192 took the accurate tier's peak memory from 1.0 to 0.6 GB on long reviews, at the
/// same speed.
const MAX_BATCH_TOKENS: usize = 4096;
/// File name of the ONNX Runtime shared library.
pub const LIBRARY_NAME: &str = "libonnxruntime.so";
/// The command that installs the library.
pub const SETUP_COMMAND: &str = "bash scripts/setup_onnxruntime.sh";

/// Errors of the encoder.
#[derive(Debug, thiserror::Error)]
pub enum EmbedError {
    /// `libonnxruntime.so` was found nowhere.
    #[error(
        "ONNX Runtime library `{LIBRARY_NAME}` not found (looked in: {}); install it with `{SETUP_COMMAND}` or set ORT_DYLIB_PATH to its path",
        searched.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
    )]
    LibraryNotFound {
        /// Every place looked at, in order.
        searched: Vec<PathBuf>,
    },
    /// The library exists but could not be loaded (wrong file, version older than 1.17, ...).
    #[error("cannot load ONNX Runtime from {}: {source} (reinstall it with `{SETUP_COMMAND}`)", path.display())]
    LibraryLoad {
        /// The library file.
        path: PathBuf,
        /// The loader's error.
        #[source]
        source: ort::LoadDynamicError,
    },
    /// The model or tokenizer file does not exist.
    #[error("{what} file not found: {} (see models/README.md to build it)", path.display())]
    FileNotFound {
        /// `model` or `tokenizer`.
        what: &'static str,
        /// The missing file.
        path: PathBuf,
    },
    /// The tokenizer file could not be read or configured.
    #[error("cannot load tokenizer {}: {message}", path.display())]
    Tokenizer {
        /// The tokenizer file.
        path: PathBuf,
        /// The `tokenizers` error.
        message: String,
    },
    /// The tokenizer has no `<s>` or `</s>` token (needed to frame the windows of long texts).
    #[error("tokenizer {} has no `{token}` token (needed to window texts longer than {MAX_TOKENS} tokens)", path.display())]
    MissingSpecialToken {
        /// The tokenizer file.
        path: PathBuf,
        /// The missing token.
        token: &'static str,
    },
    /// Tokenising a text failed.
    #[error("tokenisation failed: {0}")]
    Tokenize(String),
    /// An ONNX Runtime call failed (environment, session, run).
    #[error("ONNX Runtime: {0}")]
    Ort(#[from] ort::Error),
    /// The model's output is not what the encoder expects.
    #[error("unexpected model output: {0}")]
    Output(String),
}

/// Places where [`Encoder::open`] looks for the ONNX Runtime library, in order: beside the
/// executable, in `${XDG_CACHE_HOME:-$HOME/.cache}/verbatim/onnxruntime/`, then `ORT_DYLIB_PATH`.
pub fn library_candidates() -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Some(dir) = std::env::current_exe().ok().and_then(|e| e.parent().map(Path::to_path_buf))
    {
        out.push(dir.join(LIBRARY_NAME));
    }
    if let Some(cache) = cache_dir() {
        out.push(cache.join("verbatim").join("onnxruntime").join(LIBRARY_NAME));
    }
    if let Some(p) = std::env::var_os("ORT_DYLIB_PATH").filter(|p| !p.is_empty()) {
        out.push(PathBuf::from(p));
    }
    out
}

/// `$XDG_CACHE_HOME`, else `$HOME/.cache`.
fn cache_dir() -> Option<PathBuf> {
    std::env::var_os("XDG_CACHE_HOME").filter(|p| !p.is_empty()).map(PathBuf::from).or_else(|| {
        std::env::var_os("HOME").filter(|p| !p.is_empty()).map(|h| PathBuf::from(h).join(".cache"))
    })
}

/// The first existing library among [`library_candidates`].
pub fn find_library() -> Result<PathBuf, EmbedError> {
    let searched = library_candidates();
    match searched.iter().find(|p| p.is_file()) {
        Some(p) => Ok(p.clone()),
        None => Err(EmbedError::LibraryNotFound { searched }),
    }
}

/// ONNX Runtime allows one environment per process (`ort` refuses a second `build()`), so it is
/// created once and shared by every [`Encoder`].
static ENVIRONMENT: Mutex<Option<Environment>> = Mutex::new(None);

/// A session builder on the shared environment with `threads` intra-op threads (0: ONNX
/// Runtime's default, one per core). Every ONNX model of the crate is opened through it.
pub(crate) fn session_builder(threads: usize) -> Result<SessionBuilder, EmbedError> {
    let env = environment()?;
    let mut builder = Session::builder(&env)?;
    if threads > 0 {
        builder = builder.with_intra_threads(threads).map_err(ort::Error::from)?;
    }
    Ok(builder)
}

fn environment() -> Result<Environment, EmbedError> {
    let mut guard = ENVIRONMENT.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(env) = guard.as_ref() {
        return Ok(env.clone());
    }
    let path = find_library()?;
    let builder =
        ort::init_from(&path).map_err(|source| EmbedError::LibraryLoad { path, source })?;
    let env = builder.with_name("verbatim").build()?;
    *guard = Some(env.clone());
    Ok(env)
}

/// A multilingual-e5-small encoder: one ONNX Runtime session and its tokenizer.
pub struct Encoder {
    session: Session,
    tokenizer: Tokenizer,
    pad_id: i64,
    bos_id: u32,
    eos_id: u32,
    batch_size: usize,
}

impl std::fmt::Debug for Encoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Encoder")
            .field("pad_id", &self.pad_id)
            .field("batch_size", &self.batch_size)
            .finish_non_exhaustive()
    }
}

impl Encoder {
    /// Opens the model and its tokenizer with ONNX Runtime's default thread count (one per core).
    pub fn open(model: &Path, tokenizer: &Path) -> Result<Encoder, EmbedError> {
        Self::open_with_threads(model, tokenizer, 0)
    }

    /// Opens the model with `threads` intra-op threads (0: ONNX Runtime's default, one per core).
    pub fn open_with_threads(
        model: &Path,
        tokenizer: &Path,
        threads: usize,
    ) -> Result<Encoder, EmbedError> {
        if !model.is_file() {
            return Err(EmbedError::FileNotFound { what: "model", path: model.to_path_buf() });
        }
        if !tokenizer.is_file() {
            return Err(EmbedError::FileNotFound {
                what: "tokenizer",
                path: tokenizer.to_path_buf(),
            });
        }
        let tok_err = |e: tokenizers::Error| EmbedError::Tokenizer {
            path: tokenizer.to_path_buf(),
            message: e.to_string(),
        };
        let mut tok = Tokenizer::from_file(tokenizer).map_err(tok_err)?;
        // No truncation: texts longer than MAX_TOKENS are windowed by `embed`.
        tok.with_truncation(None).map_err(tok_err)?;
        tok.with_padding(None);
        let pad_id = tok.token_to_id("<pad>").unwrap_or(1);
        let special = |token: &'static str| {
            tok.token_to_id(token).ok_or_else(|| EmbedError::MissingSpecialToken {
                path: tokenizer.to_path_buf(),
                token,
            })
        };
        let (bos_id, eos_id) = (special("<s>")?, special("</s>")?);
        // Windows are cut between the `<s>` and `</s>` the post-processor puts around a text:
        // check that it does.
        let probe = tok.encode_fast(format!("{QUERY_PREFIX}ok"), true).map_err(tok_err)?;
        if content_ids(probe.get_ids(), bos_id, eos_id).is_none() {
            return Err(EmbedError::Tokenizer {
                path: tokenizer.to_path_buf(),
                message: format!(
                    "its post-processor does not frame a text with `<s>` (id {bos_id}) and `</s>` (id {eos_id}): got ids {:?}",
                    probe.get_ids()
                ),
            });
        }

        // Without ONNX Runtime's arena and memory patterns, buffers are freed after each run
        // instead of kept at the high-water mark of the longest batch (-170 MB, same speed).
        let session = session_builder(threads)?
            .with_memory_pattern(false)
            .map_err(ort::Error::from)?
            .with_execution_providers([ort::ep::CPU::default().with_arena_allocator(false).build()])
            .map_err(ort::Error::from)?
            .commit_from_file(model)?;
        let names: Vec<&str> = session.inputs().iter().map(|i| i.name()).collect();
        for want in ["input_ids", "attention_mask"] {
            if !names.contains(&want) {
                return Err(EmbedError::Output(format!(
                    "the model has no input `{want}` (inputs: {names:?})"
                )));
            }
        }
        if !session.outputs().iter().any(|o| o.name() == "embedding") {
            return Err(EmbedError::Output("the model has no output `embedding`".into()));
        }
        Ok(Encoder {
            session,
            tokenizer: tok,
            pad_id: i64::from(pad_id),
            bos_id,
            eos_id,
            batch_size: DEFAULT_BATCH,
        })
    }

    /// Sets the number of texts per model run (at least 1).
    pub fn with_batch_size(mut self, batch_size: usize) -> Self {
        self.batch_size = batch_size.max(1);
        self
    }

    /// Number of tokens [`embed`](Self::embed) sees for `text` before windowing: `query: `, the
    /// text and the `<s>` and `</s>` around them. Above [`MAX_TOKENS`], the text is windowed.
    pub fn token_count(&self, text: &str) -> Result<usize, EmbedError> {
        let encoding = self
            .tokenizer
            .encode_fast(format!("{QUERY_PREFIX}{text}"), true)
            .map_err(|e| EmbedError::Tokenize(e.to_string()))?;
        Ok(encoding.len())
    }

    /// Embeds `texts` (each prefixed with `query: `): one L2-normalised vector per text, in the
    /// order given. A text longer than [`MAX_TOKENS`] tokens is embedded as overlapping windows
    /// whose embeddings are averaged (weighted by their content tokens) and L2-normalised (see the
    /// [module docs](self)); a shorter one is one model input. The inputs (texts and windows) are
    /// grouped by token length into batches of at most the batch size, padded to the longest
    /// input of each batch.
    pub fn embed(&mut self, texts: &[&str]) -> Result<Vec<[f32; DIM]>, EmbedError> {
        if texts.is_empty() {
            return Ok(Vec::new());
        }
        let inputs: Vec<String> = texts.iter().map(|t| format!("{QUERY_PREFIX}{t}")).collect();
        let encodings = self
            .tokenizer
            .encode_batch_fast(inputs, true)
            .map_err(|e| EmbedError::Tokenize(e.to_string()))?;
        // The model inputs, each text's windows in a row: `spans[i]` indexes text i's windows in
        // `windows`, `weights` holds each window's number of content tokens (multi-window texts).
        let mut windows: Vec<Cow<'_, [u32]>> = Vec::with_capacity(encodings.len());
        let mut weights: Vec<usize> = Vec::with_capacity(encodings.len());
        let mut spans: Vec<Range<usize>> = Vec::with_capacity(encodings.len());
        for (i, encoding) in encodings.iter().enumerate() {
            let ids = encoding.get_ids();
            let first = windows.len();
            if ids.len() <= MAX_TOKENS {
                windows.push(Cow::Borrowed(ids));
                weights.push(ids.len().saturating_sub(2));
            } else {
                let content = content_ids(ids, self.bos_id, self.eos_id).ok_or_else(|| {
                    EmbedError::Tokenize(format!(
                        "text {i}: the tokenizer did not frame it with `<s>` and `</s>`"
                    ))
                })?;
                for run in window_ranges(content.len()) {
                    let mut w = Vec::with_capacity(run.len() + 2);
                    w.push(self.bos_id);
                    w.extend_from_slice(&content[run.clone()]);
                    w.push(self.eos_id);
                    windows.push(Cow::Owned(w));
                    weights.push(run.len());
                }
            }
            spans.push(first..windows.len());
        }
        let embeddings = self.embed_ids(&windows)?;

        let mut out = vec![[0f32; DIM]; texts.len()];
        for (i, span) in spans.into_iter().enumerate() {
            if span.len() == 1 {
                // One window: the model's output as is.
                out[i] = embeddings[span.start];
                continue;
            }
            let mut sum = [0f64; DIM];
            for w in span {
                let weight = weights[w] as f64;
                for (s, v) in sum.iter_mut().zip(&embeddings[w]) {
                    *s += weight * f64::from(*v);
                }
            }
            let norm = sum.iter().map(|s| s * s).sum::<f64>().sqrt();
            if !(norm > 0.0 && norm.is_finite()) {
                return Err(EmbedError::Output(format!(
                    "text {i}: the weighted mean of its windows' embeddings has norm {norm}"
                )));
            }
            for (o, s) in out[i].iter_mut().zip(&sum) {
                *o = (s / norm) as f32;
            }
        }
        Ok(out)
    }

    /// Runs the graph on token-id sequences (each at most [`MAX_TOKENS`] long, special tokens
    /// included): one embedding per sequence, in the order given. Sequences are sorted by length
    /// (stable) and cut into batches of at most the batch size, each padded to its longest.
    fn embed_ids<S: AsRef<[u32]>>(&mut self, seqs: &[S]) -> Result<Vec<[f32; DIM]>, EmbedError> {
        // Sort by length so that each batch pads little; results are put back in order.
        let mut order: Vec<usize> = (0..seqs.len()).collect();
        order.sort_by_key(|&i| seqs[i].as_ref().len());
        let mut out = vec![[0f32; DIM]; seqs.len()];
        // Batches are also capped in tokens: attention holds batch × heads × seq² floats, so 32
        // windows of 512 tokens would take 400 MB per layer output where 32 tweets take 1 MB.
        let mut batches = Vec::new();
        let mut start = 0;
        while start < order.len() {
            let mut end = start + 1;
            while end < order.len()
                && end - start < self.batch_size
                && (end - start + 1) * seqs[order[end]].as_ref().len() <= MAX_BATCH_TOKENS
            {
                end += 1;
            }
            batches.push(&order[start..end]);
            start = end;
        }
        for chunk in batches {
            let seq = chunk.iter().map(|&i| seqs[i].as_ref().len()).max().unwrap_or(0).max(1);
            let mut ids = Array2::<i64>::from_elem((chunk.len(), seq), self.pad_id);
            let mut mask = Array2::<i64>::zeros((chunk.len(), seq));
            for (row, &i) in chunk.iter().enumerate() {
                for (col, &id) in seqs[i].as_ref().iter().enumerate() {
                    ids[[row, col]] = i64::from(id);
                    mask[[row, col]] = 1;
                }
            }
            let outputs = self.session.run(ort::inputs![
                "input_ids" => TensorRef::from_array_view(&ids)?,
                "attention_mask" => TensorRef::from_array_view(&mask)?,
            ])?;
            let emb = outputs["embedding"].try_extract_array::<f32>()?;
            if emb.shape() != [chunk.len(), DIM] {
                return Err(EmbedError::Output(format!(
                    "`embedding` has shape {:?}, expected [{}, {DIM}]",
                    emb.shape(),
                    chunk.len()
                )));
            }
            for (row, &i) in chunk.iter().enumerate() {
                for (d, v) in out[i].iter_mut().enumerate() {
                    *v = emb[[row, d]];
                }
            }
        }
        Ok(out)
    }
}

/// The content ids of a post-processed encoding: what lies between its leading `<s>` and its
/// trailing `</s>`, or `None` when it is not framed by them.
fn content_ids(ids: &[u32], bos_id: u32, eos_id: u32) -> Option<&[u32]> {
    match ids {
        [first, content @ .., last] if *first == bos_id && *last == eos_id => Some(content),
        _ => None,
    }
}

/// The windows over `n` content tokens: ranges of at most [`WINDOW_TOKENS`] tokens starting every
/// [`WINDOW_STRIDE`] tokens, the last one ending at `n`. One range `0..n` when `n` fits in one
/// window.
fn window_ranges(n: usize) -> Vec<Range<usize>> {
    let mut out = Vec::with_capacity(n.saturating_sub(WINDOW_OVERLAP).div_ceil(WINDOW_STRIDE));
    let mut start = 0;
    loop {
        let end = (start + WINDOW_TOKENS).min(n);
        out.push(start..end);
        if end >= n {
            return out;
        }
        start += WINDOW_STRIDE;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The tokenizer as configured before windowing: truncating at 512 tokens.
    fn truncating(enc: &Encoder) -> Tokenizer {
        let mut tok = enc.tokenizer.clone();
        tok.with_truncation(Some(TruncationParams {
            max_length: MAX_TOKENS,
            ..Default::default()
        }))
        .expect("truncation");
        tok
    }
    use std::time::Instant;
    use tokenizers::TruncationParams;

    fn models_dir() -> Option<PathBuf> {
        cache_dir().map(|c| c.join("verbatim").join("models"))
    }

    /// The fp32 encoder with `threads` threads, or `None` (and a note on stderr) when the model,
    /// tokenizer or ONNX Runtime library is absent.
    fn encoder(test: &str, threads: usize) -> Option<Encoder> {
        encoder_file(test, "e5-small.onnx", threads)
    }

    fn encoder_file(test: &str, file: &str, threads: usize) -> Option<Encoder> {
        let dir = models_dir()?;
        let (model, tok) = (dir.join(file), dir.join("e5-small.tokenizer.json"));
        if !model.is_file() || !tok.is_file() {
            eprintln!(
                "SKIPPED {test}: {} or {} is absent (build them with scripts/convert_e5.py, see models/README.md)",
                model.display(),
                tok.display()
            );
            return None;
        }
        match Encoder::open_with_threads(&model, &tok, threads) {
            Ok(e) => Some(e),
            Err(e @ EmbedError::LibraryNotFound { .. }) => {
                eprintln!("SKIPPED {test}: {e}");
                None
            }
            Err(e) => panic!("opening the encoder failed: {e}"),
        }
    }

    fn cosine(a: &[f32], b: &[f32]) -> f64 {
        let dot: f64 = a.iter().zip(b).map(|(x, y)| f64::from(*x) * f64::from(*y)).sum();
        let na: f64 = a.iter().map(|x| f64::from(*x).powi(2)).sum::<f64>().sqrt();
        let nb: f64 = b.iter().map(|x| f64::from(*x).powi(2)).sum::<f64>().sqrt();
        dot / (na * nb)
    }

    #[derive(serde::Deserialize)]
    struct Reference {
        sentences: Vec<String>,
        embeddings: Vec<Vec<f32>>,
    }

    fn reference() -> Reference {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/e5_reference.json");
        let text = std::fs::read_to_string(&path).expect("tests/data/e5_reference.json");
        serde_json::from_str(&text).expect("reference JSON")
    }

    #[test]
    fn embed_matches_python_onnxruntime() {
        let Some(mut enc) = encoder("embed_matches_python_onnxruntime", 0) else { return };
        let r = reference();
        assert_eq!(r.sentences.len(), r.embeddings.len());
        let texts: Vec<&str> = r.sentences.iter().map(String::as_str).collect();
        // One padded batch, then one text per run: both must match the unpadded Python reference.
        let batched = enc.embed(&texts).expect("embed");
        let single: Vec<[f32; DIM]> =
            texts.iter().map(|t| enc.embed(&[t]).expect("embed")[0]).collect();
        let mut min = f64::MAX;
        for (i, s) in texts.iter().enumerate() {
            let (cb, cs) =
                (cosine(&batched[i], &r.embeddings[i]), cosine(&single[i], &r.embeddings[i]));
            let diff = batched[i]
                .iter()
                .zip(&r.embeddings[i])
                .map(|(a, b)| (a - b).abs())
                .fold(0f32, f32::max);
            eprintln!("cosine batched {cb:.9} single {cs:.9} max|diff| {diff:.1e}  {s}");
            assert!(
                cb >= 0.999 && cs >= 0.999,
                "sentence {i} {s:?}: cosine {cb} (batched) {cs} (single)"
            );
            let norm = batched[i].iter().map(|x| x * x).sum::<f32>().sqrt();
            assert!((norm - 1.0).abs() < 1e-3, "norm {norm}");
            min = min.min(cb).min(cs);
        }
        eprintln!("min cosine to the Python reference: {min:.9}");
    }

    #[test]
    fn embed_edge_cases() {
        let Some(mut enc) = encoder("embed_edge_cases", 0) else { return };
        assert!(enc.embed(&[]).expect("empty").is_empty());
        // Longer than 512 tokens: windowed, not an error.
        let long = "Le remboursement n'est jamais arrivé malgré mes relances. ".repeat(200);
        let ids = enc.tokenizer.encode(format!("{QUERY_PREFIX}{long}"), true).expect("encode");
        assert!(ids.get_ids().len() > MAX_TOKENS, "not truncated");
        assert_eq!(ids.get_ids().first(), Some(&enc.bos_id), "starts with <s>");
        assert_eq!(ids.get_ids().last(), Some(&enc.eos_id), "ends with </s>");
        assert_eq!(enc.token_count(&long).expect("count"), ids.get_ids().len());
        assert_eq!((enc.bos_id, enc.eos_id), (0, 2));
        // `query: ` and the special tokens are counted.
        let prefix = enc.tokenizer.encode(QUERY_PREFIX, false).expect("encode").len();
        assert!(prefix > 0);
        assert_eq!(enc.token_count("").expect("count"), prefix + 2);
        let v = enc.embed(&["", long.as_str(), "ok"]).expect("embed");
        assert_eq!(v.len(), 3);
        for e in &v {
            let norm = e.iter().map(|x| x * x).sum::<f32>().sqrt();
            assert!((norm - 1.0).abs() < 1e-3, "norm {norm}");
        }
        // Similar meanings are closer than unrelated ones.
        let w = enc
            .embed(&[
                "Je veux résilier mon contrat",
                "I want to cancel my contract",
                "Le repas était délicieux",
            ])
            .expect("embed");
        assert!(cosine(&w[0], &w[1]) > cosine(&w[0], &w[2]));
    }

    #[test]
    fn window_ranges_cover_with_overlap() {
        assert_eq!(WINDOW_TOKENS, 510);
        assert_eq!(WINDOW_STRIDE, 446);
        assert_eq!(window_ranges(0), vec![0..0]);
        assert_eq!(window_ranges(510), vec![0..510]);
        assert_eq!(window_ranges(511), vec![0..510, 446..511]);
        assert_eq!(window_ranges(956), vec![0..510, 446..956]);
        assert_eq!(window_ranges(957), vec![0..510, 446..956, 892..957]);
        for n in 511..3000 {
            let w = window_ranges(n);
            assert_eq!(w.first().map(|r| r.start), Some(0));
            assert_eq!(w.last().map(|r| r.end), Some(n));
            for r in &w {
                assert!(!r.is_empty() && r.len() <= WINDOW_TOKENS, "{n}: {r:?}");
            }
            for pair in w.windows(2) {
                assert_eq!(pair[1].start, pair[0].start + WINDOW_STRIDE, "{n}");
                assert_eq!(pair[0].end - pair[1].start, WINDOW_OVERLAP, "{n}");
            }
            assert!(w.len() < 2 || w[w.len() - 2].end < n, "{n}: a useless last window");
        }
        assert_eq!(content_ids(&[0, 5, 6, 2], 0, 2), Some(&[5u32, 6][..]));
        assert_eq!(content_ids(&[0, 2], 0, 2), Some(&[][..]));
        assert_eq!(content_ids(&[5, 6, 2], 0, 2), None);
        assert_eq!(content_ids(&[0], 0, 2), None);
    }

    /// About 3,000 words of French whose topic drifts: delivery, then billing, then customer
    /// service, then leaving. Each quarter cycles through its own sentences.
    fn long_french_text() -> String {
        let topics: [&[&str]; 4] = [
            &[
                "La livraison de ma commande a pris trois semaines au lieu des cinq jours annoncés sur le site.",
                "Le colis est arrivé abîmé, le carton était déchiré et deux articles manquaient.",
                "Le livreur n'a même pas sonné, il a laissé un avis de passage alors que j'étais chez moi.",
            ],
            &[
                "Ma facture du mois dernier comportait des frais que je n'avais jamais acceptés.",
                "Le prélèvement a été effectué deux fois et personne ne veut reconnaître l'erreur.",
                "J'attends toujours le remboursement promis il y a plus de deux mois.",
            ],
            &[
                "Le service client ne répond pas au téléphone, j'ai attendu quarante minutes avant de raccrocher.",
                "Les conseillers se renvoient la balle et chacun me donne une information différente.",
                "J'ai écrit quatre courriels sans jamais recevoir autre chose qu'une réponse automatique.",
            ],
            &[
                "Je suis client depuis dix ans et je n'ai jamais été aussi déçu par une entreprise.",
                "Si rien n'est réglé d'ici la fin du mois, je résilierai mon abonnement pour un concurrent.",
                "Je déconseille vivement cette enseigne à tous mes proches et à mes collègues.",
            ],
        ];
        let mut words: Vec<&str> = Vec::new();
        for sentences in topics {
            let quarter_end = words.len() + 750;
            for s in sentences.iter().cycle() {
                if words.len() >= quarter_end {
                    break;
                }
                words.extend(s.split_whitespace());
            }
        }
        words.join(" ")
    }

    fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
        a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0f32, f32::max)
    }

    #[test]
    fn embed_windows_long_texts() {
        let Some(mut enc) = encoder("embed_windows_long_texts", 0) else { return };
        let long = long_french_text();
        let n_words = long.split_whitespace().count();
        let head: String = long.split_whitespace().take(300).collect::<Vec<_>>().join(" ");
        let count = enc.token_count(&long).expect("count");
        eprintln!("{n_words} words, {count} tokens");
        assert!((3000..3100).contains(&n_words), "{n_words} words");
        assert!(count > MAX_TOKENS, "{count} tokens");
        assert!(enc.token_count(&head).expect("count") <= MAX_TOKENS);

        let v = enc.embed(&[long.as_str(), head.as_str()]).expect("embed");
        assert_eq!(v.len(), 2);
        let norm = v[0].iter().map(|x| f64::from(*x).powi(2)).sum::<f64>().sqrt();
        assert!((norm - 1.0).abs() < 1e-4, "norm {norm}");

        // What the encoder returned before windowing: the text truncated to 512 tokens by the
        // tokenizer (the old configuration), embedded alone.
        let old_tok = truncating(&enc);
        let old_ids = old_tok.encode(format!("{QUERY_PREFIX}{long}"), true).expect("encode");
        let full_ids = enc.tokenizer.encode(format!("{QUERY_PREFIX}{long}"), true).expect("encode");
        assert_eq!(full_ids.get_ids().len(), count);
        let old_ids = old_ids.get_ids();
        assert_eq!(old_ids.len(), MAX_TOKENS);
        // The old input is the first window.
        let content = content_ids(full_ids.get_ids(), enc.bos_id, enc.eos_id).expect("framed");
        assert_eq!(old_ids[0], enc.bos_id);
        assert_eq!(old_ids[MAX_TOKENS - 1], enc.eos_id);
        assert_eq!(&old_ids[1..MAX_TOKENS - 1], &content[..WINDOW_TOKENS]);
        let truncated = enc.embed_ids(&[old_ids]).expect("embed ids")[0];

        // The windowed embedding is the content-weighted mean of the windows, recomputed here.
        let ranges = window_ranges(content.len());
        assert_eq!(ranges.len(), 1 + (content.len() - WINDOW_TOKENS).div_ceil(WINDOW_STRIDE));
        let windows: Vec<Vec<u32>> = ranges
            .iter()
            .map(|r| {
                let mut w = vec![enc.bos_id];
                w.extend_from_slice(&content[r.clone()]);
                w.push(enc.eos_id);
                w
            })
            .collect();
        assert_eq!(windows[0], old_ids);
        let per_window = enc.embed_ids(&windows).expect("embed windows");
        let mut mean = [0f64; DIM];
        for (r, e) in ranges.iter().zip(&per_window) {
            for (m, x) in mean.iter_mut().zip(e) {
                *m += r.len() as f64 * f64::from(*x);
            }
        }
        let mnorm = mean.iter().map(|m| m * m).sum::<f64>().sqrt();
        let manual: Vec<f32> = mean.iter().map(|m| (m / mnorm) as f32).collect();
        let d_manual = max_abs_diff(&v[0], &manual);

        let (c_head, c_trunc) = (cosine(&v[0], &v[1]), cosine(&v[0], &truncated));
        let d_trunc = max_abs_diff(&v[0], &truncated);
        let c_trunc_head = cosine(&truncated, &v[1]);
        let c_last = cosine(&v[0], &per_window[per_window.len() - 1]);
        let c_trunc_last = cosine(&truncated, &per_window[per_window.len() - 1]);
        eprintln!(
            "{} windows; cosine to first 300 words {c_head:.4} (truncated: {c_trunc_head:.4}); \
             to the truncated embedding {c_trunc:.4} (max|diff| {d_trunc:.1e}); to the last window \
             {c_last:.4} (truncated: {c_trunc_last:.4}); max|diff| to the manual mean {d_manual:.1e}",
            windows.len()
        );
        assert!(c_head > 0.8, "cosine to the first 300 words {c_head}");
        assert!(d_manual < 1e-6, "windowed vs manual weighted mean: {d_manual}");
        assert!(d_trunc > 1e-2 && c_trunc < 0.99, "same as truncated: {c_trunc} {d_trunc}");
        // The tail is no longer ignored: the text is closer to its last window than the
        // truncated embedding was.
        assert!(c_last > c_trunc_last, "{c_last} vs {c_trunc_last}");
    }

    #[test]
    fn embed_short_texts_unchanged_by_windowing() {
        let Some(mut enc) = encoder("embed_short_texts_unchanged_by_windowing", 0) else {
            return;
        };
        let long = long_french_text();
        let short = [
            "ok merci",
            "Vol retardé encore une fois",
            "Great service, thanks!",
            "Je veux résilier mon contrat",
        ];
        let alone: Vec<[f32; DIM]> =
            short.iter().map(|t| enc.embed(&[t]).expect("embed")[0]).collect();
        let together = enc.embed(&short).expect("embed");
        // The path before windowing: the tokenizer truncating at 512 tokens, every encoding one
        // model input. Short texts must come out bit-identical.
        let old_tok = truncating(&enc);
        let inputs: Vec<String> = short.iter().map(|t| format!("{QUERY_PREFIX}{t}")).collect();
        let old_enc = old_tok.encode_batch_fast(inputs, true).expect("encode");
        let old_ids: Vec<&[u32]> = old_enc.iter().map(|e| e.get_ids()).collect();
        let old = enc.embed_ids(&old_ids).expect("embed ids");
        assert_eq!(old, together, "short texts differ from the pre-windowing path");
        let mixed_texts = [short[0], long.as_str(), short[1], short[2], long.as_str(), short[3]];
        let mixed = enc.embed(&mixed_texts).expect("embed");
        let long_alone = enc.embed(&[long.as_str()]).expect("embed")[0];
        let mixed_short = [mixed[0], mixed[2], mixed[3], mixed[5]];
        let mut worst = (0f32, 0f32);
        for i in 0..short.len() {
            let (da, dt) = (
                max_abs_diff(&mixed_short[i], &alone[i]),
                max_abs_diff(&mixed_short[i], &together[i]),
            );
            eprintln!("{:?}: max|diff| to alone {da:.1e}, to the short batch {dt:.1e}", short[i]);
            worst = (worst.0.max(da), worst.1.max(dt));
        }
        let dl = max_abs_diff(&mixed[1], &long_alone).max(max_abs_diff(&mixed[4], &long_alone));
        eprintln!("long text in the mixed batch vs alone: max|diff| {dl:.1e}");
        assert!(worst.0 < 1e-6 && worst.1 < 1e-6, "short texts changed: {worst:?}");
        assert!(dl < 1e-6, "long text changed by batching: {dl}");
    }

    #[test]
    fn open_errors_are_typed() {
        let missing = Path::new("/nonexistent/e5.onnx");
        match Encoder::open(missing, missing) {
            Err(EmbedError::FileNotFound { what: "model", .. }) => {}
            other => panic!("expected FileNotFound, got {other:?}"),
        }
        let msg =
            EmbedError::LibraryNotFound { searched: vec![PathBuf::from("/x/libonnxruntime.so")] }
                .to_string();
        assert!(msg.contains(SETUP_COMMAND) && msg.contains("/x/libonnxruntime.so"), "{msg}");
    }

    /// Throughput from Rust: `cargo test --release --features onnx embed_speed -- --ignored --nocapture`.
    #[test]
    #[ignore = "timing; run explicitly"]
    fn embed_speed() {
        let short = [
            "ok merci",
            "Vol retardé encore une fois",
            "Great service, thanks!",
            "Je veux résilier mon contrat",
            "@airline where is my bag??",
            "Conseiller très aimable",
            "Flight cancelled, no refund",
            "Application lente",
        ];
        let review = "Bonjour, cela fait trois semaines que j'attends le remboursement de mon sinistre. Votre conseiller m'avait promis un rappel sous 48 heures, personne ne m'a recontacté. Je vais résilier.";
        let review_en = "I have been a customer for ten years and this is the first time I am this disappointed: the claim took two months, the call centre kept transferring me and nobody could tell me anything.";
        eprintln!(
            "review lengths: {} and {} chars",
            review.chars().count(),
            review_en.chars().count()
        );
        for (file, threads) in [
            ("e5-small.onnx", 1),
            ("e5-small.onnx", 2),
            ("e5-small-int8.onnx", 1),
            ("e5-small-int8.onnx", 2),
        ] {
            let Some(enc) = encoder_file("embed_speed", file, threads) else { return };
            let mut enc = enc.with_batch_size(32);
            for (label, base) in [("short", short.to_vec()), ("~200-char", vec![review, review_en])]
            {
                let texts: Vec<&str> = base.iter().copied().cycle().take(128).collect();
                enc.embed(&texts[..32]).expect("warm-up");
                let mut rates = Vec::new();
                for _ in 0..3 {
                    let t = Instant::now();
                    enc.embed(&texts).expect("embed");
                    rates.push(texts.len() as f64 / t.elapsed().as_secs_f64());
                }
                rates.sort_by(f64::total_cmp);
                eprintln!(
                    "{file} threads {threads} {label:>9}: best {:.1} sentences/s, median {:.1} (batch 32, 128 texts, tokenisation included)",
                    rates[2], rates[1]
                );
            }
        }
    }
}
