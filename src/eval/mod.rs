//! Evaluation of a classifier on labelled data (`verbatim eval`).
//!
//! [`presets`] loads the shared evaluation sets or a user's file into [`LabelledItem`]s; the
//! caller classifies them; [`EvalReport::build`] scores the predictions per language and
//! overall with the [`metrics`] of a [`Confusion`] matrix, and renders them as a table or JSON.

pub mod metrics;
pub mod presets;

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::PathBuf;

pub use metrics::{ClassScores, Confusion};
pub use presets::{
    DEFAULT_DATA_DIR, FOLDS, FileColumns, LabelledFile, LabelledItem, Preset, Unlabelled,
    load_labelled_file, load_labelled_fold, load_preset,
};

/// Why labelled data could not be loaded or scored.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EvalError {
    /// The data file does not exist. Tests match on this to skip when the shared data is absent.
    #[error(
        "labelled data not found at {path}: the evaluation sets are expected in the shared data \
         folder (default {DEFAULT_DATA_DIR}, see shared/data/README.md); pass the data folder \
         or the file path explicitly"
    )]
    DataMissing {
        /// The path that was tried.
        path: PathBuf,
    },
    /// The file exists but could not be read (permissions, truncated gzip, …).
    #[error("{path}: {source}")]
    Io {
        /// The file concerned.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A row is malformed: wrong number of fields, bad quoting, invalid UTF-8.
    #[error("{path}:{line}: {message}")]
    Csv {
        /// The file concerned.
        path: PathBuf,
        /// 1-based line where the bad record starts (0 if unknown).
        line: u64,
        /// The parser's description.
        message: String,
    },
    /// A required column is not in the header row.
    #[error("{path}: no column {column:?}; the header has {available:?}")]
    MissingColumn {
        /// The file concerned.
        path: PathBuf,
        /// The column that was asked for.
        column: String,
        /// The columns the header does have.
        available: Vec<String>,
    },
    /// A label field holds a value the preset does not know (e.g. 6 stars).
    #[error("{path}:{line}: unexpected label {value:?}")]
    BadLabel {
        /// The file concerned.
        path: PathBuf,
        /// 1-based line of the record.
        line: u64,
        /// The raw field.
        value: String,
    },
    /// No preset has this name.
    #[error("unknown dataset preset {name:?}; known presets: {known:?}")]
    UnknownPreset {
        /// The name given.
        name: String,
        /// The preset names.
        known: Vec<String>,
    },
    /// The fold is not one of [`FOLDS`].
    #[error("unknown fold {fold:?}; expected one of {FOLDS:?}")]
    UnknownFold {
        /// The fold given.
        fold: String,
    },
    /// Predictions (or predicted languages) do not line up one-to-one with the items.
    #[error("{what}: got {got} values for {expected} items")]
    LengthMismatch {
        /// Which argument is off (`predictions` or `predicted languages`).
        what: &'static str,
        /// Its length.
        got: usize,
        /// The number of items.
        expected: usize,
    },
}

/// Scores of one run of a classifier over one dataset fold.
#[derive(Debug, Clone, PartialEq)]
pub struct EvalReport {
    /// Dataset name (a preset name or a file name).
    pub dataset: String,
    /// Fold evaluated (`test`, `dev`, … or `all`).
    pub fold: String,
    /// One matrix per language (sorted), then `all`.
    pub groups: Vec<(String, Confusion)>,
    /// Binary sentiment over the items whose gold label is `negative` or `positive`; `None`
    /// when there are none (e.g. intent datasets). See [`EvalReport::build`].
    pub binary: Option<Confusion>,
}

/// Language group of items with neither a fixed nor a predicted language.
const UNDETERMINED: &str = "und";

impl EvalReport {
    /// Scores `preds[i]` against `items[i].gold`.
    ///
    /// Items are grouped by `items[i].lang` when the dataset fixes it, else by `pred_langs[i]`
    /// (which may be empty when every item has a language; missing values group as `und`).
    /// All groups share the gold labels, sorted, as their first rows and columns.
    ///
    /// The binary matrix keeps only items with gold `negative` or `positive` (1-2 vs 4-5
    /// stars) and compares the predicted label as is: a `neutral` prediction for them is
    /// counted as wrong (it gets its own column), because a classifier that hedges on clear
    /// cases should not score better than one that commits.
    pub fn build(
        dataset: &str,
        fold: &str,
        items: &[LabelledItem],
        preds: &[String],
        pred_langs: &[String],
    ) -> Result<EvalReport, EvalError> {
        check_len("predictions", preds.len(), items.len(), false)?;
        check_len("predicted languages", pred_langs.len(), items.len(), true)?;
        let gold_labels: BTreeSet<&str> = items.iter().map(|i| i.gold.as_str()).collect();
        let langs: Vec<String> = items
            .iter()
            .enumerate()
            .map(|(i, item)| {
                let lang = item.lang.as_deref().or(pred_langs.get(i).map(String::as_str));
                lang.filter(|l| !l.is_empty()).unwrap_or(UNDETERMINED).to_lowercase()
            })
            .collect();
        let group_names: BTreeSet<&str> = langs.iter().map(String::as_str).collect();
        let mut groups: Vec<(String, Confusion)> = group_names
            .into_iter()
            .chain(["all"])
            .map(|g| (g.to_owned(), Confusion::new(gold_labels.iter().copied())))
            .collect();
        let mut binary = Confusion::new(["negative", "positive"]);
        for ((item, pred), lang) in items.iter().zip(preds).zip(&langs) {
            for (name, confusion) in &mut groups {
                if name == lang || name == "all" {
                    confusion.add(&item.gold, pred);
                }
            }
            if matches!(item.gold.as_str(), "negative" | "positive") {
                binary.add(&item.gold, pred);
            }
        }
        let binary = (binary.total() > 0).then_some(binary);
        Ok(EvalReport { dataset: dataset.to_owned(), fold: fold.to_owned(), groups, binary })
    }

    /// Macro-F1 of the `all` group (0 when there is none).
    pub fn macro_f1_all(&self) -> f64 {
        self.groups.iter().find(|(g, _)| g == "all").map_or(0.0, |(_, c)| c.macro_f1())
    }

    /// A human-readable report: per group, n, accuracy, macro-F1, a per-class table and the
    /// confusion matrix; then binary accuracy.
    pub fn render_table(&self) -> String {
        let mut out = format!("dataset {}  fold {}\n", self.dataset, self.fold);
        for (name, c) in &self.groups {
            let _ = writeln!(
                out,
                "\n== {name}  n={}  accuracy={:.3}  macro-F1={:.3}",
                c.total(),
                c.accuracy(),
                c.macro_f1()
            );
            render_class_table(&mut out, c);
            render_matrix(&mut out, c);
        }
        if let Some(b) = &self.binary {
            let _ = writeln!(
                out,
                "\n== binary (gold negative/positive; any other prediction is wrong)  n={}  accuracy={:.3}",
                b.total(),
                b.accuracy()
            );
            render_matrix(&mut out, b);
        }
        out
    }

    /// `{dataset, fold, groups: {<lang>|all: <confusion JSON>}, binary: <confusion JSON>|null}`
    /// where a confusion JSON is `{labels, matrix, accuracy, macro_f1, per_class, n}`.
    pub fn to_json(&self) -> serde_json::Value {
        let groups: serde_json::Map<String, serde_json::Value> =
            self.groups.iter().map(|(name, c)| (name.clone(), c.to_json())).collect();
        serde_json::json!({
            "dataset": self.dataset,
            "fold": self.fold,
            "groups": groups,
            "binary": self.binary.as_ref().map(Confusion::to_json),
        })
    }
}

/// `got` must equal `expected` (or be 0 when `optional`).
fn check_len(
    what: &'static str,
    got: usize,
    expected: usize,
    optional: bool,
) -> Result<(), EvalError> {
    if got == expected || (optional && got == 0) {
        Ok(())
    } else {
        Err(EvalError::LengthMismatch { what, got, expected })
    }
}

/// Width of the label column: the longest label, at least as wide as the headings.
fn label_width(c: &Confusion) -> usize {
    c.labels().iter().map(|l| l.chars().count()).max().unwrap_or(0).max(9)
}

fn render_class_table(out: &mut String, c: &Confusion) {
    let w = label_width(c);
    let _ = writeln!(out, "{:<w$}  precision  recall     f1  support", "label");
    for s in c.per_class() {
        let _ = writeln!(
            out,
            "{:<w$}  {:>9.3}  {:>6.3}  {:>5.3}  {:>7}",
            s.label, s.precision, s.recall, s.f1, s.support
        );
    }
}

fn render_matrix(out: &mut String, c: &Confusion) {
    let w = label_width(c);
    let cw = c.labels().iter().map(|l| l.chars().count()).max().unwrap_or(0).max(6);
    let _ = write!(out, "{:<w$}", "gold\\pred");
    for l in c.labels() {
        let _ = write!(out, "  {l:>cw$}");
    }
    out.push('\n');
    for (l, row) in c.labels().iter().zip(c.matrix()) {
        let _ = write!(out, "{l:<w$}");
        for n in row {
            let _ = write!(out, "  {n:>cw$}");
        }
        out.push('\n');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(gold: &str, lang: Option<&str>) -> LabelledItem {
        LabelledItem {
            id: String::new(),
            text: String::new(),
            gold: gold.into(),
            lang: lang.map(Into::into),
        }
    }

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    /// Four items, two languages (one fixed by the data, one predicted).
    fn report() -> EvalReport {
        let items = [
            item("negative", Some("fr")),
            item("positive", Some("fr")),
            item("neutral", None),
            item("positive", None),
        ];
        let preds = strings(&["negative", "neutral", "neutral", "positive"]);
        let langs = strings(&["en", "en", "en", "EN"]);
        EvalReport::build("toy", "test", &items, &preds, &langs).expect("lengths match")
    }

    #[test]
    fn groups_by_fixed_then_predicted_language() {
        let r = report();
        let names: Vec<_> = r.groups.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["en", "fr", "all"]);
        assert_eq!(r.groups[0].1.total(), 2);
        assert_eq!(r.groups[1].1.total(), 2);
        assert_eq!(r.groups[2].1.total(), 4);
        assert_eq!(r.groups[2].1.labels(), ["negative", "neutral", "positive"]);
    }

    #[test]
    fn binary_counts_neutral_prediction_as_wrong() {
        let b = report().binary.expect("gold has negative and positive");
        // Gold neg/pos items: neg→neg ✓, pos→neutral ✗, pos→pos ✓.
        assert_eq!(b.total(), 3);
        assert!((b.accuracy() - 2.0 / 3.0).abs() < 1e-9);
        assert_eq!(b.count("positive", "neutral"), 1);
    }

    #[test]
    fn no_binary_without_sentiment_labels() {
        let items = [item("billing", Some("en"))];
        let r = EvalReport::build("intents", "all", &items, &strings(&["billing"]), &[]);
        assert_eq!(r.expect("lengths match").binary, None);
    }

    #[test]
    fn length_mismatch_is_an_error() {
        let items = [item("a", None)];
        let r = EvalReport::build("x", "all", &items, &[], &[]);
        assert!(matches!(r, Err(EvalError::LengthMismatch { got: 0, expected: 1, .. })));
        let r = EvalReport::build("x", "all", &items, &strings(&["a"]), &strings(&["en", "fr"]));
        assert!(matches!(r, Err(EvalError::LengthMismatch { got: 2, .. })));
    }

    #[test]
    fn missing_languages_group_as_undetermined() {
        let items = [item("a", None)];
        let r = EvalReport::build("x", "all", &items, &strings(&["a"]), &[]).expect("ok");
        assert_eq!(r.groups[0].0, UNDETERMINED);
    }

    #[test]
    fn table_shows_every_part() {
        let t = report().render_table();
        for needle in
            ["dataset toy  fold test", "== fr  n=2", "== all  n=4", "macro-F1=", "gold\\pred"]
        {
            assert!(t.contains(needle), "missing {needle:?} in\n{t}");
        }
        assert!(t.contains("== binary"), "{t}");
        assert!(t.lines().any(|l| l.starts_with("positive") && l.ends_with("      1")), "{t}");
    }

    #[test]
    fn json_shape() {
        let v = report().to_json();
        assert_eq!(v["dataset"], "toy");
        assert_eq!(v["groups"]["all"]["n"], 4);
        assert_eq!(v["groups"]["fr"]["labels"][0], "negative");
        assert_eq!(v["binary"]["n"], 3);
    }
}
