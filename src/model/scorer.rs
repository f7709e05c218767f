//! A head ready to score comments: its card, its ONNX session and, for the accurate tier, the
//! sentence encoder whose embedding it reads.

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use rayon::prelude::*;

use super::features::SparseVec;
use super::head::{CardError, HeadCard};
use super::runtime::{HeadError, OnnxHead};
use super::{ENCODER_TOKENIZER_FILE, encoder_dir};
use crate::embed::{EmbedError, Encoder};

/// The fast sentiment head shipped in the binary (`models/sentiment-fast.*`).
const FAST_ONNX: &[u8] = include_bytes!("../../models/sentiment-fast.onnx");
const FAST_CARD: &str = include_str!("../../models/sentiment-fast.json");
/// The accurate sentiment head shipped in the binary; its encoder is installed by
/// `scripts/setup_models.sh`.
const ACCURATE_ONNX: &[u8] = include_bytes!("../../models/sentiment-accurate.onnx");
const ACCURATE_CARD: &str = include_str!("../../models/sentiment-accurate.json");

/// Most rows in one ONNX Runtime call.
const MAX_RUN_ROWS: usize = 1024;
/// Most padded cells (rows × longest row) in one call: 256k ids and values, about 3 MB in.
const MAX_RUN_CELLS: usize = 1 << 18;

/// Why a model could not be loaded or run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ModelError {
    /// The card is missing or invalid.
    #[error(transparent)]
    Card(#[from] CardError),
    /// The head's graph failed.
    #[error(transparent)]
    Head(#[from] HeadError),
    /// The encoder failed (missing files: run `bash scripts/setup_models.sh`).
    #[error(
        "sentence encoder: {0} (the accurate tier's encoder is built by `bash scripts/setup_models.sh`)"
    )]
    Encoder(#[from] EmbedError),
}

/// A loaded head.
pub struct Scorer {
    card: HeadCard,
    /// One session per worker thread for a fast head, so that its runs go in parallel (a
    /// session runs one call at a time); one for an accurate head, bound by its encoder.
    heads: Vec<Mutex<OnnxHead>>,
    encoder: Option<Encoder>,
}

impl std::fmt::Debug for Scorer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scorer").field("card", &self.card.name).finish_non_exhaustive()
    }
}

/// The shipped heads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shipped {
    /// `sentiment-fast`.
    Fast,
    /// `sentiment-accurate`.
    Accurate,
}

impl Scorer {
    /// A head shipped in the binary, run with `threads` ONNX Runtime threads (0: default).
    pub fn shipped(which: Shipped, threads: usize) -> Result<Scorer, ModelError> {
        let (onnx, card, name) = match which {
            Shipped::Fast => (FAST_ONNX, FAST_CARD, "models/sentiment-fast.json"),
            Shipped::Accurate => (ACCURATE_ONNX, ACCURATE_CARD, "models/sentiment-accurate.json"),
        };
        let card = HeadCard::parse(card, Path::new(name))?;
        let path = Path::new(name).with_extension("onnx");
        let heads = sessions(&card, || OnnxHead::from_bytes(onnx, &path, threads))?;
        Self::assemble(card, heads, &encoder_dir(), threads)
    }

    /// A head trained with `verbatim train`: `path` is its `.onnx`, the card sits beside it.
    /// An accurate head's encoder is looked for in [`encoder_dir`].
    pub fn open(path: &Path, threads: usize) -> Result<Scorer, ModelError> {
        let card = HeadCard::read_beside(path)?;
        let heads = sessions(&card, || OnnxHead::open(path, threads))?;
        Self::assemble(card, heads, &encoder_dir(), threads)
    }

    fn assemble(
        card: HeadCard,
        heads: Vec<OnnxHead>,
        dir: &Path,
        threads: usize,
    ) -> Result<Scorer, ModelError> {
        let n_classes = heads.first().map_or(0, OnnxHead::n_classes);
        if n_classes != card.labels.len() {
            return Err(ModelError::Card(CardError::Invalid {
                path: PathBuf::from(&card.name),
                reason: format!(
                    "the card lists {} labels, the graph has {} outputs",
                    card.labels.len(),
                    n_classes
                ),
            }));
        }
        let encoder = match &card.encoder {
            Some(file) => Some(Encoder::open_with_threads(
                &dir.join(file),
                &dir.join(ENCODER_TOKENIZER_FILE),
                threads,
            )?),
            None => None,
        };
        let heads = heads.into_iter().map(Mutex::new).collect();
        Ok(Scorer { card, heads, encoder })
    }

    /// The head's card.
    pub fn card(&self) -> &HeadCard {
        &self.card
    }

    /// Class probabilities (in the card's label order) of each row; `texts[i]` is the text of
    /// `rows[i]`, read by the accurate tier's encoder.
    pub fn probs(
        &mut self,
        rows: &mut [SparseVec],
        texts: &[&str],
    ) -> Result<Vec<Vec<f32>>, ModelError> {
        if let Some(enc) = self.encoder.as_mut() {
            let scale = self.card.embed_scale.unwrap_or(1.0);
            let embs = enc.embed(texts)?;
            for (row, e) in rows.iter_mut().zip(&embs) {
                row.push_embedding(e, scale);
            }
        }
        // Runs of similar-length rows (see `runs`), scored in parallel.
        let c = self.card.labels.len();
        let mut order: Vec<usize> = (0..rows.len()).collect();
        order.sort_by_key(|&i| rows[i].len());
        let runs = runs(&order, rows);
        let rows = &*rows;
        let flats: Vec<Result<Vec<f32>, HeadError>> = runs
            .par_iter()
            .map(|run| {
                let pairs: Vec<(&[u32], &[f32])> = order[run.clone()]
                    .iter()
                    .map(|&i| (rows[i].ids.as_slice(), rows[i].values.as_slice()))
                    .collect();
                let slot = rayon::current_thread_index().unwrap_or(0) % self.heads.len();
                let mut head = self.heads[slot].lock().unwrap_or_else(PoisonError::into_inner);
                head.probs(&pairs)
            })
            .collect();
        let mut out = vec![Vec::new(); rows.len()];
        for (run, flat) in runs.into_iter().zip(flats) {
            for (&i, p) in order[run].iter().zip(flat?.chunks_exact(c)) {
                out[i] = p.to_vec();
            }
        }
        Ok(out)
    }
}

/// Most sessions of one head: each holds its weights and buffers (about 10 MB for the shipped
/// fast head), and a batch has only a handful of runs to share out.
const MAX_SESSIONS: usize = 8;

/// The sessions of a head: one per worker thread (up to [`MAX_SESSIONS`]) for a fast head, one
/// for an accurate head.
fn sessions(
    card: &HeadCard,
    open: impl Fn() -> Result<OnnxHead, HeadError>,
) -> Result<Vec<OnnxHead>, HeadError> {
    let n = if card.encoder.is_some() { 1 } else { rayon::current_num_threads().min(MAX_SESSIONS) };
    (0..n).map(|_| open()).collect()
}

/// ONNX Runtime takes a rectangle: rows are padded to the longest of their run. Comments range
/// from ten features to tens of thousands, so runs are cut from the rows sorted by length
/// (`order`) and capped in rows and cells; one long review does not pad four thousand tweets.
fn runs(order: &[usize], rows: &[SparseVec]) -> Vec<Range<usize>> {
    let mut runs = Vec::new();
    let mut start = 0;
    while start < order.len() {
        let mut end = start + 1;
        while end < order.len()
            && end - start < MAX_RUN_ROWS
            && (end - start + 1) * rows[order[end]].len().max(1) <= MAX_RUN_CELLS
        {
            end += 1;
        }
        runs.push(start..end);
        start = end;
    }
    runs
}
