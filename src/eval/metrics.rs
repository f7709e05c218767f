//! Confusion matrix and the scores derived from it (accuracy, per-class P/R/F1, macro-F1).
//!
//! Every ratio with a zero denominator is 0, never NaN: a class that is never predicted has
//! precision 0, as scikit-learn reports with `zero_division=0`.

use serde::Serialize;

/// Counts of (gold, predicted) label pairs. Rows are gold labels, columns predicted labels,
/// both in the order of [`Confusion::labels`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Confusion {
    labels: Vec<String>,
    counts: Vec<Vec<u64>>,
}

/// Precision, recall and F1 of one label.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClassScores {
    /// The label.
    pub label: String,
    /// Correct predictions of the label / all predictions of the label (0 if never predicted).
    pub precision: f64,
    /// Correct predictions of the label / gold items with the label (0 if none).
    pub recall: f64,
    /// Harmonic mean of precision and recall (0 if both are 0).
    pub f1: f64,
    /// Number of gold items with the label.
    pub support: u64,
}

impl Confusion {
    /// An empty matrix over `labels` (duplicates are ignored). More labels can appear later
    /// through [`Confusion::add`]; fixing them up front fixes the row and column order.
    pub fn new<I, S>(labels: I) -> Confusion
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let mut c = Confusion::default();
        for label in labels {
            c.index_of(&label.into());
        }
        c
    }

    /// Counts one item. Labels not seen before are added as a new row and column.
    pub fn add(&mut self, gold: &str, pred: &str) {
        let g = self.index_of(gold);
        let p = self.index_of(pred);
        self.counts[g][p] += 1;
    }

    /// The labels, in row/column order.
    pub fn labels(&self) -> &[String] {
        &self.labels
    }

    /// The matrix: `matrix()[gold][pred]`.
    pub fn matrix(&self) -> &[Vec<u64>] {
        &self.counts
    }

    /// How many items had gold label `gold` and were predicted `pred` (0 for unknown labels).
    pub fn count(&self, gold: &str, pred: &str) -> u64 {
        let find = |l: &str| self.labels.iter().position(|x| x == l);
        match (find(gold), find(pred)) {
            (Some(g), Some(p)) => self.counts[g][p],
            _ => 0,
        }
    }

    /// Number of items counted.
    pub fn total(&self) -> u64 {
        self.counts.iter().flatten().sum()
    }

    /// Number of items whose prediction equals the gold label.
    pub fn correct(&self) -> u64 {
        (0..self.labels.len()).map(|i| self.counts[i][i]).sum()
    }

    /// Correct / total; 0 for an empty matrix.
    pub fn accuracy(&self) -> f64 {
        ratio(self.correct(), self.total())
    }

    /// Scores of every label, in label order, including labels with no support.
    pub fn per_class(&self) -> Vec<ClassScores> {
        (0..self.labels.len()).map(|i| self.class_scores(i)).collect()
    }

    /// Unweighted mean of F1 over the labels that occur as gold *or* as prediction.
    ///
    /// Labels declared in [`Confusion::new`] but never seen are left out, which is what
    /// scikit-learn's `f1_score(average="macro")` does without an explicit `labels=`
    /// argument (it averages over the union of `y_true` and `y_pred`). A label that is only
    /// ever predicted counts with F1 0, so spurious predictions lower the score. 0 when empty.
    pub fn macro_f1(&self) -> f64 {
        let seen: Vec<f64> = (0..self.labels.len())
            .filter(|&i| self.support(i) > 0 || self.predicted(i) > 0)
            .map(|i| self.class_scores(i).f1)
            .collect();
        if seen.is_empty() { 0.0 } else { seen.iter().sum::<f64>() / seen.len() as f64 }
    }

    /// The JSON form `{labels, matrix, accuracy, macro_f1, per_class, n}`.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "labels": self.labels,
            "matrix": self.counts,
            "accuracy": self.accuracy(),
            "macro_f1": self.macro_f1(),
            "per_class": self.per_class(),
            "n": self.total(),
        })
    }

    fn index_of(&mut self, label: &str) -> usize {
        if let Some(i) = self.labels.iter().position(|l| l == label) {
            return i;
        }
        self.labels.push(label.to_owned());
        for row in &mut self.counts {
            row.push(0);
        }
        self.counts.push(vec![0; self.labels.len()]);
        self.labels.len() - 1
    }

    fn support(&self, i: usize) -> u64 {
        self.counts[i].iter().sum()
    }

    fn predicted(&self, i: usize) -> u64 {
        self.counts.iter().map(|row| row[i]).sum()
    }

    fn class_scores(&self, i: usize) -> ClassScores {
        let tp = self.counts[i][i];
        let support = self.support(i);
        let precision = ratio(tp, self.predicted(i));
        let recall = ratio(tp, support);
        let f1 = if precision + recall > 0.0 {
            2.0 * precision * recall / (precision + recall)
        } else {
            0.0
        };
        ClassScores { label: self.labels[i].clone(), precision, recall, f1, support }
    }
}

impl Serialize for Confusion {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.to_json().serialize(serializer)
    }
}

/// `num / den`, or 0 when `den` is 0.
fn ratio(num: u64, den: u64) -> f64 {
    if den == 0 { 0.0 } else { num as f64 / den as f64 }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    /// Rows = gold, cols = predicted, labels [neg, neu, pos]:
    /// ```text
    ///        neg neu pos | support
    ///   neg   5   2   1  |   8
    ///   neu   1   3   2  |   6
    ///   pos   0   1   4  |   5
    ///   pred  6   6   7     n = 19, correct = 12
    /// ```
    /// neg: P 5/6, R 5/8, F1 = 2·(5/6)(5/8)/((5/6)+(5/8)) = 10/14 = 0.714285…
    /// neu: P 3/6, R 3/6, F1 = 0.5
    /// pos: P 4/7, R 4/5, F1 = 2·(4/7)(4/5)/((4/7)+(4/5)) = 8/12 = 0.666…
    /// macro-F1 = (10/14 + 1/2 + 2/3) / 3 = 0.626984…
    fn three_by_three() -> Confusion {
        let mut c = Confusion::new(["neg", "neu", "pos"]);
        let rows = [("neg", [5, 2, 1]), ("neu", [1, 3, 2]), ("pos", [0, 1, 4])];
        for (gold, counts) in rows {
            for (pred, n) in ["neg", "neu", "pos"].iter().zip(counts) {
                (0..n).for_each(|_| c.add(gold, pred));
            }
        }
        c
    }

    #[test]
    fn hand_computed_three_by_three() {
        let c = three_by_three();
        assert_eq!(c.total(), 19);
        assert!(close(c.accuracy(), 12.0 / 19.0));
        let pc = c.per_class();
        assert!(close(pc[0].precision, 5.0 / 6.0) && close(pc[0].recall, 5.0 / 8.0));
        assert!(close(pc[0].f1, 10.0 / 14.0));
        assert!(close(pc[1].f1, 0.5));
        assert!(close(pc[2].precision, 4.0 / 7.0) && close(pc[2].f1, 8.0 / 12.0));
        assert_eq!(pc.iter().map(|s| s.support).collect::<Vec<_>>(), [8, 6, 5]);
        assert!(close(c.macro_f1(), (10.0 / 14.0 + 0.5 + 2.0 / 3.0) / 3.0));
        assert_eq!(c.count("neu", "pos"), 2);
    }

    #[test]
    fn empty_matrix_scores_zero() {
        let c = Confusion::new(["a", "b"]);
        assert_eq!(c.total(), 0);
        assert_eq!(c.accuracy(), 0.0);
        assert_eq!(c.macro_f1(), 0.0);
        assert!(c.per_class().iter().all(|s| s.precision == 0.0 && s.f1 == 0.0));
        assert_eq!(Confusion::default().per_class(), vec![]);
    }

    #[test]
    fn never_predicted_class_has_zero_precision_not_nan() {
        let mut c = Confusion::new(["neg", "pos"]);
        c.add("neg", "pos");
        c.add("pos", "pos");
        let neg = &c.per_class()[0];
        assert_eq!((neg.precision, neg.recall, neg.f1, neg.support), (0.0, 0.0, 0.0, 1));
        // Macro over both labels: (0 + F1(pos) = 2·0.5·1/1.5 = 2/3) / 2.
        assert!(close(c.macro_f1(), 1.0 / 3.0));
    }

    #[test]
    fn unknown_labels_are_added_and_unseen_labels_skip_macro() {
        let mut c = Confusion::new(["neg", "neu", "pos"]);
        c.add("pos", "mixed");
        c.add("pos", "pos");
        assert_eq!(c.labels(), ["neg", "neu", "pos", "mixed"]);
        assert_eq!(c.matrix().len(), 4);
        assert!(c.matrix().iter().all(|row| row.len() == 4));
        // Seen: pos (P 1, R 0.5, F1 2/3) and mixed (F1 0); neg and neu never occur.
        assert!(close(c.macro_f1(), 1.0 / 3.0));
    }

    #[test]
    fn json_form_has_the_documented_keys() {
        let v = serde_json::to_value(three_by_three()).unwrap_or_default();
        assert_eq!(v["n"], 19);
        assert_eq!(v["labels"][2], "pos");
        assert_eq!(v["matrix"][0][1], 2);
        assert_eq!(v["per_class"][1]["support"], 6);
        assert!(v["macro_f1"].as_f64().is_some_and(|f| close(f, 0.626984126984127)));
    }
}
