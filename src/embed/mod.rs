//! Sentence encoder for the accurate tier (feature `onnx`): multilingual-e5-small through ONNX
//! Runtime.
//!
//! The graph (`e5-small.onnx`, built by `scripts/convert_e5.py`, see `models/README.md`) takes
//! `input_ids` and `attention_mask` (int64 `[batch, seq]`) and returns `embedding` (float32
//! `[batch, 384]`, mean pooling over the unmasked tokens, L2-normalised). [`Encoder`] tokenises
//! with the model's `tokenizer.json` (the `tokenizers` crate), prepends `query: `, truncates to
//! 512 tokens, pads batches with the `<pad>` id and runs the graph.
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

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use ndarray::Array2;
use ort::environment::Environment;
use ort::session::Session;
use ort::value::TensorRef;
use tokenizers::{Tokenizer, TruncationParams};

/// Dimension of an embedding.
pub const DIM: usize = 384;
/// Longest input the graph accepts, in tokens (including `<s>` and `</s>`). Longer texts are
/// truncated (their tail is ignored).
pub const MAX_TOKENS: usize = 512;
/// Prefix added before every text given to [`Encoder::embed`] (e5's prefix for queries and texts
/// to classify).
pub const QUERY_PREFIX: &str = "query: ";
/// Default number of texts per model run.
pub const DEFAULT_BATCH: usize = 32;
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

pub(crate) fn environment() -> Result<Environment, EmbedError> {
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
        // Truncation counts the `<s>` and `</s>` added by the post-processor.
        tok.with_truncation(Some(TruncationParams {
            max_length: MAX_TOKENS,
            ..Default::default()
        }))
        .map_err(tok_err)?;
        tok.with_padding(None);
        let pad_id = tok.token_to_id("<pad>").unwrap_or(1);

        let env = environment()?;
        let mut builder = Session::builder(&env)?;
        if threads > 0 {
            builder = builder.with_intra_threads(threads).map_err(ort::Error::from)?;
        }
        let session = builder.commit_from_file(model)?;
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
            batch_size: DEFAULT_BATCH,
        })
    }

    /// Sets the number of texts per model run (at least 1).
    pub fn with_batch_size(mut self, batch_size: usize) -> Self {
        self.batch_size = batch_size.max(1);
        self
    }

    /// Embeds `texts` (each prefixed with `query: `, truncated to [`MAX_TOKENS`] tokens): one
    /// L2-normalised vector per text, in the order given. Texts are grouped by token length into
    /// batches of at most the batch size, padded to the longest text of each batch.
    pub fn embed(&mut self, texts: &[&str]) -> Result<Vec<[f32; DIM]>, EmbedError> {
        if texts.is_empty() {
            return Ok(Vec::new());
        }
        let inputs: Vec<String> = texts.iter().map(|t| format!("{QUERY_PREFIX}{t}")).collect();
        let encodings = self
            .tokenizer
            .encode_batch_fast(inputs, true)
            .map_err(|e| EmbedError::Tokenize(e.to_string()))?;
        // Sort by length so that each batch pads little; results are put back in order.
        let mut order: Vec<usize> = (0..encodings.len()).collect();
        order.sort_by_key(|&i| encodings[i].get_ids().len());
        let mut out = vec![[0f32; DIM]; texts.len()];
        for chunk in order.chunks(self.batch_size) {
            let seq = chunk.iter().map(|&i| encodings[i].get_ids().len()).max().unwrap_or(0).max(1);
            let mut ids = Array2::<i64>::from_elem((chunk.len(), seq), self.pad_id);
            let mut mask = Array2::<i64>::zeros((chunk.len(), seq));
            for (row, &i) in chunk.iter().enumerate() {
                for (col, &id) in encodings[i].get_ids().iter().enumerate() {
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

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
        // Longer than 512 tokens: truncated, not an error.
        let long = "Le remboursement n'est jamais arrivé malgré mes relances. ".repeat(200);
        let ids = enc.tokenizer.encode(format!("{QUERY_PREFIX}{long}"), true).expect("encode");
        assert_eq!(ids.get_ids().len(), MAX_TOKENS);
        assert_eq!(ids.get_ids().last(), Some(&2), "ends with </s>");
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
