//! A trained head on disk: the ONNX graph (`NAME.onnx`) and its card (`NAME.json`), which says
//! what the graph's inputs mean (feature version, hashing, embedding) and what its outputs are
//! (labels), and records how it was trained and scored.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::features::{FEATURE_VERSION, Hashing};
use super::linear::LinearModel;
use super::onnx_graph::{LinearGraph, linear_head_onnx};

/// The card format this build reads and writes.
pub const CARD_FORMAT: &str = "verbatim-head/1";

/// What a head needs besides its ONNX graph.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HeadCard {
    /// Always [`CARD_FORMAT`].
    pub format: String,
    /// The head's name (`sentiment-fast`).
    pub name: String,
    /// What it labels (`sentiment`).
    pub task: String,
    /// `fast` (lexicon and n-gram features) or `accurate` (adds the sentence embedding).
    pub tier: String,
    /// Output classes, in the graph's order.
    pub labels: Vec<String>,
    /// [`FEATURE_VERSION`] at training time.
    pub feature_version: u32,
    /// log2 of the hashed feature buckets.
    pub hash_bits: u32,
    /// Factor applied to the embedding before the head (accurate tier only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub embed_scale: Option<f32>,
    /// The encoder file the embedding comes from (accurate tier only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encoder: Option<String>,
    /// Softmax temperature fitted on dev (already inside the graph; kept for the record).
    pub temperature: f32,
    /// Free-form record of the training run: data, settings, command, dev scores.
    #[serde(default)]
    pub training: serde_json::Value,
}

/// Why a head could not be written or read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CardError {
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The card is not valid JSON for [`HeadCard`].
    #[error("{path}: not a head card: {source}")]
    Json {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: serde_json::Error,
    },
    /// The card is readable but cannot be used by this build.
    #[error("{path}: {reason}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
}

impl HeadCard {
    /// Parses and validates a card.
    pub fn parse(json: &str, path: &Path) -> Result<HeadCard, CardError> {
        let card: HeadCard = serde_json::from_str(json)
            .map_err(|source| CardError::Json { path: path.into(), source })?;
        card.validate(path)?;
        Ok(card)
    }

    /// Reads the card beside `onnx` (same name, `.json`).
    pub fn read_beside(onnx: &Path) -> Result<HeadCard, CardError> {
        let path = onnx.with_extension("json");
        let json = std::fs::read_to_string(&path)
            .map_err(|source| CardError::Io { path: path.clone(), source })?;
        HeadCard::parse(&json, &path)
    }

    fn validate(&self, path: &Path) -> Result<(), CardError> {
        let invalid = |reason: String| CardError::Invalid { path: path.into(), reason };
        if self.format != CARD_FORMAT {
            return Err(invalid(format!(
                "format {:?}, this build reads {CARD_FORMAT:?}",
                self.format
            )));
        }
        if self.feature_version != FEATURE_VERSION {
            return Err(invalid(format!(
                "trained on feature version {}, this build computes version {FEATURE_VERSION}: retrain it with `verbatim train`",
                self.feature_version
            )));
        }
        if Hashing::new(self.hash_bits).is_none() {
            return Err(invalid(format!("hash_bits {} is outside 10..=24", self.hash_bits)));
        }
        if self.labels.len() < 2 {
            return Err(invalid("a head needs at least two labels".into()));
        }
        match (self.tier.as_str(), &self.encoder) {
            ("fast", None) | ("accurate", Some(_)) => Ok(()),
            ("accurate", None) => Err(invalid("an accurate head must name its encoder".into())),
            (t, _) => {
                Err(invalid(format!("tier {t:?}: expected fast, or accurate with an encoder")))
            }
        }
    }

    /// The hashing the head was trained with (validated on load).
    pub fn hashing(&self) -> Hashing {
        Hashing::new(self.hash_bits).unwrap_or(Hashing::new(18).expect("18 is a valid width"))
    }
}

/// Writes `model` as `stem.onnx` and `card` as `stem.json`; returns the two paths.
pub fn save(
    model: &LinearModel,
    card: &HeadCard,
    stem: &Path,
) -> Result<(PathBuf, PathBuf), CardError> {
    let onnx = stem.with_extension("onnx");
    let json = stem.with_extension("json");
    let doc = format!("verbatim {} head ({} tier): labels {:?}", card.task, card.tier, card.labels);
    let bytes = linear_head_onnx(&LinearGraph {
        n_features: model.n_features,
        n_classes: model.n_classes(),
        weights: &model.weights,
        bias: &model.bias,
        temperature: model.temperature,
        doc: &doc,
    });
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| CardError::Io { path, source }
    };
    std::fs::write(&onnx, bytes).map_err(io(&onnx))?;
    let mut text = serde_json::to_string_pretty(card)
        .map_err(|source| CardError::Json { path: json.clone(), source })?;
    text.push('\n');
    std::fs::write(&json, text).map_err(io(&json))?;
    Ok((onnx, json))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn card() -> HeadCard {
        HeadCard {
            format: CARD_FORMAT.into(),
            name: "t".into(),
            task: "sentiment".into(),
            tier: "fast".into(),
            labels: vec!["negative".into(), "positive".into()],
            feature_version: FEATURE_VERSION,
            hash_bits: 12,
            embed_scale: None,
            encoder: None,
            temperature: 1.0,
            training: serde_json::Value::Null,
        }
    }

    #[test]
    fn a_card_round_trips_and_bad_cards_say_why() {
        let p = Path::new("h.json");
        let json = serde_json::to_string(&card()).unwrap();
        assert_eq!(HeadCard::parse(&json, p).unwrap(), card());
        let old = HeadCard { feature_version: FEATURE_VERSION + 1, ..card() };
        let err = HeadCard::parse(&serde_json::to_string(&old).unwrap(), p).unwrap_err();
        assert!(err.to_string().contains("retrain"), "{err}");
        let acc = HeadCard { tier: "accurate".into(), ..card() };
        assert!(HeadCard::parse(&serde_json::to_string(&acc).unwrap(), p).is_err());
        assert!(matches!(HeadCard::parse("{", p), Err(CardError::Json { .. })));
    }

    #[test]
    fn save_writes_both_files() {
        let dir = tempfile::tempdir().unwrap();
        let m = LinearModel {
            n_features: 4,
            labels: vec!["negative".into(), "positive".into()],
            weights: vec![0.0; 8],
            bias: vec![0.0; 2],
            temperature: 1.0,
        };
        let (onnx, json) = save(&m, &card(), &dir.path().join("h")).unwrap();
        assert!(std::fs::metadata(onnx).unwrap().len() > 32);
        assert_eq!(HeadCard::read_beside(&dir.path().join("h.onnx")).unwrap(), card());
        assert!(json.ends_with("h.json"));
    }
}
