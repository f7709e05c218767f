//! Learned heads: linear classifiers over [`features`], trained here ([`linear`]), run through
//! ONNX Runtime.
//!
//! The lexicons explain, the heads decide: a head reads the lexicon's own verdicts among its
//! features, and the output keeps the lexicon's evidence spans beside the head's calibrated
//! probabilities.

pub mod embedding_cache;
pub mod features;
pub mod head;
pub mod linear;
pub mod onnx_graph;
#[cfg(feature = "onnx")]
pub mod runtime;
#[cfg(feature = "onnx")]
pub mod scorer;
pub mod trainer;

use rayon::prelude::*;

use crate::error::RecordError;
use crate::eval::LabelledItem;
use crate::pipeline::Analyzer;
use crate::verbatim::Verbatim;
use features::{Hashing, SparseVec};

/// Features of labelled items, in order; items that cannot be analysed (empty text) become
/// errors in place.
pub fn featurize(
    analyzer: &Analyzer,
    items: &[LabelledItem],
    hashing: Hashing,
) -> Vec<Result<SparseVec, RecordError>> {
    items
        .par_iter()
        .map(|it| {
            let v = Verbatim { id: it.id.clone(), text: it.text.clone(), ..Default::default() };
            analyzer.analyze_with_features(&v, hashing).map(|(_, f)| f)
        })
        .collect()
}

/// The labels of a tone head, in the shipped heads' output order.
pub const SENTIMENT_LABELS: [&str; 3] = ["negative", "neutral", "positive"];

/// Where the encoder built by `scripts/setup_models.sh` lives: `$VERBATIM_MODEL_DIR`, else
/// `${XDG_CACHE_HOME:-~/.cache}/verbatim/models`.
pub fn encoder_dir() -> std::path::PathBuf {
    if let Some(d) = std::env::var_os("VERBATIM_MODEL_DIR") {
        return d.into();
    }
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .map(std::path::PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| std::path::PathBuf::from(h).join(".cache")))
        .unwrap_or_else(|| std::path::PathBuf::from(".cache"));
    cache.join("verbatim").join("models")
}

/// File name of the accurate tier's encoder (int8, FR+EN vocabulary) in [`encoder_dir`].
pub const ENCODER_FILE: &str = "e5-small-fren-int8.onnx";
/// File name of its tokenizer.
pub const ENCODER_TOKENIZER_FILE: &str = "e5-small-fren.tokenizer.json";

/// A learned head the analyser calls on batches of comments. Implemented by the ONNX
/// [`scorer::Scorer`] (feature `onnx`) and by [`InMemoryHead`] (a head just trained, or a test).
pub trait Head: Send {
    /// The head's card: name, task, labels, hashing.
    fn card(&self) -> &head::HeadCard;

    /// Class probabilities, in the card's label order, of each row; `texts[i]` is the text of
    /// `rows[i]` (the accurate tier embeds it).
    fn probs(
        &mut self,
        rows: &mut [SparseVec],
        texts: &[&str],
    ) -> Result<Vec<Vec<f32>>, HeadFailure>;
}

/// A head failed on a batch (the records of the batch become error records).
#[derive(Debug, Clone, thiserror::Error)]
#[error("model {head}: {message}")]
pub struct HeadFailure {
    /// The head's name.
    pub head: String,
    /// What went wrong.
    pub message: String,
}

/// A trained [`linear::LinearModel`] scored in Rust, without ONNX Runtime.
#[derive(Debug, Clone)]
pub struct InMemoryHead {
    /// Its card.
    pub card: head::HeadCard,
    /// Its weights.
    pub model: linear::LinearModel,
}

impl Head for InMemoryHead {
    fn card(&self) -> &head::HeadCard {
        &self.card
    }

    fn probs(
        &mut self,
        rows: &mut [SparseVec],
        _texts: &[&str],
    ) -> Result<Vec<Vec<f32>>, HeadFailure> {
        if self.card.encoder.is_some() {
            return Err(HeadFailure {
                head: self.card.name.clone(),
                message: "an accurate head needs the encoder: open it through ONNX Runtime".into(),
            });
        }
        Ok(rows.iter().map(|r| self.model.probs(r)).collect())
    }
}

#[cfg(feature = "onnx")]
impl Head for scorer::Scorer {
    fn card(&self) -> &head::HeadCard {
        scorer::Scorer::card(self)
    }

    fn probs(
        &mut self,
        rows: &mut [SparseVec],
        texts: &[&str],
    ) -> Result<Vec<Vec<f32>>, HeadFailure> {
        scorer::Scorer::probs(self, rows, texts)
            .map_err(|e| HeadFailure { head: self.card().name.clone(), message: e.to_string() })
    }
}
