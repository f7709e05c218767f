//! Run counts that must reconcile: records read = analysed + errors.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

use crate::analysis::Outcome;

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
}

impl Summary {
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
        Ok(())
    }
}
