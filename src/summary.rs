//! Run counts that must reconcile: records read = analysed + errors.

use std::collections::BTreeMap;
use std::fmt;
use std::hash::BuildHasher;

use rustc_hash::{FxBuildHasher, FxHashSet};
use serde::Serialize;

use crate::analysis::Outcome;
use crate::verbatim::Origin;

/// Repeated ids kept as examples in a summary.
const REPEAT_EXAMPLES: usize = 5;

/// Counts over a run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// Records read from the input (including those that failed to parse).
    pub read: u64,
    /// Records analysed.
    pub analysed: u64,
    /// Error records written.
    pub errors: u64,
    /// Errors by kind.
    pub errors_by_kind: BTreeMap<String, u64>,
    /// Masked PII by kind (with `--redact`).
    pub redacted: BTreeMap<String, u64>,
    /// Analysed records by language.
    pub languages: BTreeMap<String, u64>,
    /// Analysed records with warnings, by warning kind.
    pub warnings: BTreeMap<String, u64>,
    /// Records whose id an earlier record of the run already had.
    pub repeated_ids: u64,
    /// The first few of them: the id and where it appeared again (`file:line`).
    pub repeated_examples: Vec<(String, String)>,
    /// Hashes of the ids seen: 8 bytes per distinct id, so memory does not hold the ids. A
    /// collision (about 1 in 10^7 for ten million ids) would count one repeat too many.
    #[serde(skip)]
    seen_ids: FxHashSet<u64>,
}

impl Summary {
    /// Counts one outcome and checks its id against the run's earlier ones; `origin` says
    /// where the record was read (for the examples of repeated ids).
    pub fn count_at(&mut self, o: &Outcome, origin: &Origin) {
        let id = match o {
            Outcome::Analysed(a) => &a.id,
            Outcome::Failed { id, .. } => id,
        };
        if !self.seen_ids.insert(FxBuildHasher.hash_one(id)) {
            self.repeated_ids += 1;
            if self.repeated_examples.len() < REPEAT_EXAMPLES {
                self.repeated_examples
                    .push((id.clone(), format!("{}:{}", origin.file, origin.line)));
            }
        }
        self.count(o);
    }

    /// Counts one outcome.
    pub fn count(&mut self, o: &Outcome) {
        self.read += 1;
        match o {
            Outcome::Analysed(a) => {
                self.analysed += 1;
                *self.languages.entry(a.lang.as_str().to_string()).or_default() += 1;
                for w in &a.warnings {
                    *self.warnings.entry(w.kind.to_string()).or_default() += 1;
                }
                for r in &a.redactions {
                    *self.redacted.entry(r.kind.as_str().to_string()).or_default() +=
                        r.count as u64;
                }
            }
            Outcome::Failed { error, .. } => {
                self.errors += 1;
                *self.errors_by_kind.entry(error.kind.as_str().to_string()).or_default() += 1;
            }
        }
    }

    /// True when every record read is accounted for.
    pub fn reconciles(&self) -> bool {
        self.read == self.analysed + self.errors
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} records read, {} analysed, {} errors",
            self.read, self.analysed, self.errors
        )?;
        let list = |m: &BTreeMap<String, u64>| {
            m.iter().map(|(k, v)| format!("{k} {v}")).collect::<Vec<_>>().join(", ")
        };
        if !self.errors_by_kind.is_empty() {
            write!(f, " ({})", list(&self.errors_by_kind))?;
        }
        if !self.languages.is_empty() {
            write!(f, "; languages: {}", list(&self.languages))?;
        }
        if !self.warnings.is_empty() {
            write!(f, "; warnings: {}", list(&self.warnings))?;
        }
        if !self.redacted.is_empty() {
            write!(f, "; redacted: {}", list(&self.redacted))?;
        }
        if self.repeated_ids > 0 {
            let examples: Vec<String> = self
                .repeated_examples
                .iter()
                .map(|(id, at)| format!("`{id}` again at {at}"))
                .collect();
            write!(f, "; ids repeated: {} (first: {})", self.repeated_ids, examples.join(", "))?;
        }
        Ok(())
    }
}
