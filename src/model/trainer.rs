//! From labelled items to a trained, calibrated head and its scores.
//!
//! The caller (the CLI's `verbatim train`, a notebook through the Python binding) chooses the
//! data; this module turns items into feature rows with the same analyser that runs at
//! inference, trains on the train rows, fits the temperature on the dev rows and scores dev.

use super::features::{Hashing, SparseVec};
use super::linear::{self, LinearModel, TrainConfig};
use crate::eval::{EvalError, EvalReport, LabelledItem};
use crate::pipeline::Analyzer;

/// Labelled items turned into feature rows. Items the analyser rejects (an empty text) have no
/// row: `row_of[i]` is `None` for them.
#[derive(Debug, Clone, Default)]
pub struct Encoded {
    /// One row per analysable item.
    pub rows: Vec<SparseVec>,
    /// Gold class index of each row.
    pub gold: Vec<usize>,
    /// For each input item, its row.
    pub row_of: Vec<Option<usize>>,
}

impl Encoded {
    /// Encodes `items` whose gold labels are among `labels`; items with another label are
    /// an error, not silently dropped.
    pub fn new(
        analyzer: &Analyzer,
        items: &[LabelledItem],
        labels: &[String],
        hashing: Hashing,
    ) -> Result<Encoded, TrainError> {
        let feats = super::featurize(analyzer, items, hashing);
        let mut enc = Encoded::default();
        for (item, f) in items.iter().zip(feats) {
            let Some(g) = labels.iter().position(|l| *l == item.gold) else {
                return Err(TrainError::UnknownLabel {
                    id: item.id.clone(),
                    label: item.gold.clone(),
                });
            };
            match f {
                Ok(row) => {
                    enc.row_of.push(Some(enc.rows.len()));
                    enc.rows.push(row);
                    enc.gold.push(g);
                }
                Err(_) => enc.row_of.push(None),
            }
        }
        Ok(enc)
    }

    /// Appends another encoded set (training on several datasets at once).
    pub fn extend(&mut self, other: &Encoded) {
        let base = self.rows.len();
        self.rows.extend(other.rows.iter().cloned());
        self.gold.extend(&other.gold);
        self.row_of.extend(other.row_of.iter().map(|r| r.map(|i| i + base)));
    }
}

/// Why training could not run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TrainError {
    /// An item's label is not one of the head's labels.
    #[error("item {id}: label {label:?} is not one of the head's labels")]
    UnknownLabel {
        /// The item.
        id: String,
        /// Its label.
        label: String,
    },
    /// Fewer than two labels, or no training rows.
    #[error("not enough data to train: {0}")]
    NotEnoughData(String),
    /// A training setting is out of range (NaN learning rate, zero epochs…).
    #[error("invalid training setting: {0}")]
    Config(String),
    /// Scoring failed.
    #[error(transparent)]
    Eval(#[from] EvalError),
}

/// Trains on `train`, fits the temperature on `dev` (when it has rows).
pub fn fit(
    train: &Encoded,
    dev: &Encoded,
    labels: &[String],
    n_features: usize,
    cfg: &TrainConfig,
) -> Result<LinearModel, TrainError> {
    if let Some(problem) = cfg.problem() {
        return Err(TrainError::Config(problem));
    }
    if labels.len() < 2 {
        return Err(TrainError::NotEnoughData(format!(
            "{} label(s); a head needs two",
            labels.len()
        )));
    }
    if train.rows.is_empty() {
        return Err(TrainError::NotEnoughData("no training rows".into()));
    }
    let mut m = linear::train(&train.rows, &train.gold, labels.to_vec(), n_features, cfg);
    if !dev.rows.is_empty() {
        m.temperature = linear::fit_temperature(&m, &dev.rows, &dev.gold);
    }
    Ok(m)
}

/// The predicted label of every item (`neutral`-like fallback `fallback` for items without a
/// row), with the probabilities of the rows.
pub fn predict(model: &LinearModel, enc: &Encoded, fallback: &str) -> (Vec<String>, Vec<Vec<f32>>) {
    let probs: Vec<Vec<f32>> = enc.rows.iter().map(|x| model.probs(x)).collect();
    let preds = enc
        .row_of
        .iter()
        .map(|r| match r {
            Some(i) => model.labels[linear::argmax(&probs[*i]).0].clone(),
            None => fallback.to_string(),
        })
        .collect();
    (preds, probs)
}

/// Scores of a head on one labelled set.
#[derive(Debug, Clone)]
pub struct HeadScores {
    /// Confusion matrices and the 3-class scores.
    pub report: EvalReport,
    /// Expected calibration error of the top class (15 bins).
    pub ece: f64,
    /// Polarity accuracy over the items whose gold label is `negative` or `positive`, deciding
    /// between those two only (P(positive) against P(negative)): the usual binary task. `None`
    /// when the head has no such labels.
    pub polarity: Option<f64>,
}

/// Scores a model on encoded labelled items.
pub fn score(
    model: &LinearModel,
    dataset: &str,
    fold: &str,
    items: &[LabelledItem],
    enc: &Encoded,
) -> Result<HeadScores, TrainError> {
    let fallback =
        if model.labels.iter().any(|l| l == "neutral") { "neutral" } else { &model.labels[0] };
    let (preds, probs) = predict(model, enc, fallback);
    let report = EvalReport::build(dataset, fold, items, &preds, &[])?;
    let ece = linear::expected_calibration_error(&probs, &enc.gold, 15);
    let polarity = polarity_accuracy(&model.labels, &probs, &enc.gold);
    Ok(HeadScores { report, ece, polarity })
}

/// See [`HeadScores::polarity`].
pub fn polarity_accuracy(labels: &[String], probs: &[Vec<f32>], gold: &[usize]) -> Option<f64> {
    let neg = labels.iter().position(|l| l == "negative")?;
    let pos = labels.iter().position(|l| l == "positive")?;
    let (mut n, mut right) = (0usize, 0usize);
    for (p, &g) in probs.iter().zip(gold) {
        if g == neg || g == pos {
            n += 1;
            let said = if p[pos] > p[neg] { pos } else { neg };
            right += usize::from(said == g);
        }
    }
    (n > 0).then(|| right as f64 / n as f64)
}

/// Macro-F1 of argmax(logits / T + offsets) against `gold`.
fn macro_f1_with(logits: &[Vec<f32>], gold: &[usize], offsets: &[f32], t: f32) -> f64 {
    let c = offsets.len();
    let mut tp = vec![0usize; c];
    let mut fp = vec![0usize; c];
    let mut fnn = vec![0usize; c];
    for (z, &g) in logits.iter().zip(gold) {
        let scored: Vec<f32> = z.iter().zip(offsets).map(|(v, o)| v / t + o).collect();
        let p = linear::argmax(&scored).0;
        if p == g {
            tp[g] += 1;
        } else {
            fp[p] += 1;
            fnn[g] += 1;
        }
    }
    let f1: f64 = (0..c)
        .map(|k| {
            let d = 2 * tp[k] + fp[k] + fnn[k];
            if d == 0 { 0.0 } else { 2.0 * tp[k] as f64 / d as f64 }
        })
        .sum();
    f1 / c as f64
}

/// Per-class offsets added to the calibrated log-odds that maximise the mean dev macro-F1 over
/// `devs` (one encoded set per dataset, so that a large set does not decide alone).
/// Coordinate ascent over a grid; the offsets are folded into the bias by [`apply_offsets`].
pub fn tune_offsets(model: &LinearModel, devs: &[&Encoded]) -> Vec<f32> {
    let c = model.n_classes();
    let sets: Vec<(Vec<Vec<f32>>, &[usize])> = devs
        .iter()
        .map(|e| {
            let logits = e
                .rows
                .iter()
                .map(|x| {
                    let mut z = vec![0f32; c];
                    model.logits(x, &mut z);
                    z
                })
                .collect();
            (logits, e.gold.as_slice())
        })
        .collect();
    let objective = |o: &[f32]| -> f64 {
        sets.iter().map(|(l, g)| macro_f1_with(l, g, o, model.temperature)).sum::<f64>()
            / sets.len().max(1) as f64
    };
    let mut offsets = vec![0f32; c];
    let mut best = objective(&offsets);
    for _ in 0..3 {
        for k in 0..c {
            for step in -10..=10 {
                let mut o = offsets.clone();
                o[k] = step as f32 * 0.1;
                let v = objective(&o);
                if v > best + 1e-9 {
                    best = v;
                    offsets = o;
                }
            }
        }
    }
    offsets
}

/// Folds decision offsets (in units of calibrated log-odds) into the bias.
pub fn apply_offsets(model: &mut LinearModel, offsets: &[f32]) {
    for (b, o) in model.bias.iter_mut().zip(offsets) {
        *b += o * model.temperature;
    }
}
