//! A head ready to score comments: its card, its ONNX session and, for the accurate tier, the
//! sentence encoder whose embedding it reads.

use std::path::{Path, PathBuf};

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
    head: OnnxHead,
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
        let head = OnnxHead::from_bytes(onnx, &Path::new(name).with_extension("onnx"), threads)?;
        Self::assemble(card, head, &encoder_dir(), threads)
    }

    /// A head trained with `verbatim train`: `path` is its `.onnx`, the card sits beside it.
    /// An accurate head's encoder is looked for in [`encoder_dir`].
    pub fn open(path: &Path, threads: usize) -> Result<Scorer, ModelError> {
        let card = HeadCard::read_beside(path)?;
        let head = OnnxHead::open(path, threads)?;
        Self::assemble(card, head, &encoder_dir(), threads)
    }

    fn assemble(
        card: HeadCard,
        head: OnnxHead,
        dir: &Path,
        threads: usize,
    ) -> Result<Scorer, ModelError> {
        if head.n_classes() != card.labels.len() {
            return Err(ModelError::Card(CardError::Invalid {
                path: PathBuf::from(&card.name),
                reason: format!(
                    "the card lists {} labels, the graph has {} outputs",
                    card.labels.len(),
                    head.n_classes()
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
        Ok(Scorer { card, head, encoder })
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
                let v: Vec<f32> = e.iter().map(|x| x * scale).collect();
                row.push_embedding(&v);
            }
        }
        // ONNX Runtime takes a rectangle: rows are padded to the longest of their run. Comments
        // range from ten features to tens of thousands, so runs are cut from the rows sorted by
        // length and capped in cells; one long review no longer pads four thousand tweets.
        let c = self.card.labels.len();
        let mut order: Vec<usize> = (0..rows.len()).collect();
        order.sort_by_key(|&i| rows[i].len());
        let mut out = vec![Vec::new(); rows.len()];
        let mut start = 0;
        while start < order.len() {
            let mut end = start + 1;
            while end < order.len()
                && end - start < MAX_RUN_ROWS
                && (end - start + 1) * rows[order[end]].len().max(1) <= MAX_RUN_CELLS
            {
                end += 1;
            }
            let pairs: Vec<(&[u32], &[f32])> = order[start..end]
                .iter()
                .map(|&i| (rows[i].ids.as_slice(), rows[i].values.as_slice()))
                .collect();
            let flat = self.head.probs(&pairs)?;
            for (&i, p) in order[start..end].iter().zip(flat.chunks_exact(c)) {
                out[i] = p.to_vec();
            }
            start = end;
        }
        Ok(out)
    }
}
