//! The analyser: one comment in, one [`Outcome`] out; batches in parallel, in input order.
//!
//! This is the library's batch API. It knows nothing of files, flags or terminals, so the CLI,
//! the server and the Python binding all call the same thing.

use rayon::prelude::*;

use crate::analysis::{Analysis, Lang, Outcome, RedactionCount, Warning};
use crate::classify::{Scan, churn, mode, sentiment, themes};
use crate::detect::{self, Detected};
use crate::error::{ErrorKind, RecordError};
use crate::lexicon::Resources;
use crate::model::features::{self, Hashing, LexiconView, SparseVec};
use crate::redact::{PiiKind, Redactor};
use crate::summary::Summary;
use crate::tokenize;
use crate::verbatim::Verbatim;

/// Default limit on a comment's size: 1 MiB.
pub const DEFAULT_MAX_TEXT_BYTES: usize = 1 << 20;

/// How to analyse.
#[derive(Debug, Clone)]
pub struct Options {
    /// Force a language instead of detecting it.
    pub lang: Option<Lang>,
    /// Mask e-mail addresses, phone numbers, IBANs and card numbers before analysis.
    pub redact: bool,
    /// Texts longer than this (in bytes) become `text_too_long` errors.
    pub max_text_bytes: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options { lang: None, redact: false, max_text_bytes: DEFAULT_MAX_TEXT_BYTES }
    }
}

/// Analyses comments. Cheap to share across threads (`&Analyzer` is `Sync`).
pub struct Analyzer {
    res: Resources,
    opts: Options,
    redactor: Option<Redactor>,
}

impl Analyzer {
    /// An analyser over loaded resources.
    pub fn new(res: Resources, opts: Options) -> Analyzer {
        let redactor = opts.redact.then(Redactor::new);
        Analyzer { res, opts, redactor }
    }

    /// The resources in use.
    pub fn resources(&self) -> &Resources {
        &self.res
    }

    /// Mutable resources (threshold sweeps in evaluation).
    pub fn resources_mut(&mut self) -> &mut Resources {
        &mut self.res
    }

    /// Analyses one record.
    pub fn analyze(&self, v: &Verbatim) -> Outcome {
        match self.analyze_record(v) {
            Ok(a) => Outcome::Analysed(Box::new(a)),
            Err(error) => Outcome::Failed { id: v.id.clone(), error },
        }
    }

    /// Analyses records in parallel; the outcomes are in input order.
    pub fn analyze_batch(&self, items: &[Verbatim]) -> Vec<Outcome> {
        items.par_iter().map(|v| self.analyze(v)).collect()
    }

    fn analyze_record(&self, v: &Verbatim) -> Result<Analysis, RecordError> {
        self.analyze_inner(v, None).map(|(a, _)| a)
    }

    /// Analyses one record and also returns the features a learned head reads, hashed into
    /// `hashing`'s buckets (computed from the same tokens and scan, so nothing is redone).
    pub fn analyze_with_features(
        &self,
        v: &Verbatim,
        hashing: Hashing,
    ) -> Result<(Analysis, SparseVec), RecordError> {
        let (a, f) = self.analyze_inner(v, Some(hashing))?;
        Ok((a, f.unwrap_or_default()))
    }

    fn analyze_inner(
        &self,
        v: &Verbatim,
        hashing: Option<Hashing>,
    ) -> Result<(Analysis, Option<SparseVec>), RecordError> {
        let fail = |kind: ErrorKind, message: String| RecordError {
            kind,
            message,
            file: v.origin.file.clone(),
            line: v.origin.line,
            field: Some("text".into()),
        };
        if v.text.trim().is_empty() {
            return Err(fail(ErrorKind::EmptyText, "the text is empty".into()));
        }
        if v.text.len() > self.opts.max_text_bytes {
            return Err(fail(
                ErrorKind::TextTooLong,
                format!(
                    "the text is {} bytes, over the limit of {} (raise it with --max-text-bytes)",
                    v.text.len(),
                    self.opts.max_text_bytes
                ),
            ));
        }
        let (text, redactions) = self.redact(&v.text);
        let toks = tokenize::tokenize(&text);
        let mut warnings = Vec::new();
        let lang = match self.opts.lang {
            Some(l) => l,
            None => match detect::detect(&toks, &self.res) {
                Detected::Supported(l) => l,
                Detected::Other(code, name) => {
                    // Kept, not dropped: the analyst decides what to do with it.
                    warnings.push(Warning {
                        kind: "other_language",
                        message: format!(
                            "the text looks {name} ({code}); verbatim analyses French and English, so it was \
                             analysed as `und` with both lexicons (force a language with --lang)"
                        ),
                    });
                    Lang::Und
                }
            },
        };
        let scan = Scan::new(&toks, &self.res, lang);
        let scored = sentiment::score(&scan);
        let themes = themes::themes(&scan, &scored);
        let mode = mode::mode(&scan, &scored.sentiment);
        let churn = churn::churn(&scan, &scored.sentiment);
        let features = hashing.map(|h| {
            let view = LexiconView {
                sentiment: &scored.sentiment,
                themes: &themes,
                mode: &mode,
                churn_level: churn.level,
                churn_risk: churn.risk,
            };
            features::extract(&scan, &view, h)
        });
        drop(scan);
        drop(toks);
        let analysis = Analysis {
            id: v.id.clone(),
            lang,
            text,
            sentiment: scored.sentiment,
            themes,
            mode,
            churn,
            meta: v.meta.clone(),
            redactions,
            warnings,
        };
        Ok((analysis, features))
    }

    fn redact(&self, text: &str) -> (String, Vec<RedactionCount>) {
        let Some(r) = &self.redactor else { return (text.to_string(), Vec::new()) };
        let red = r.redact_with_spans(text);
        let counts = PiiKind::ALL
            .iter()
            .filter_map(|&kind| {
                let count = red.spans.iter().filter(|s| s.kind == kind).count();
                (count > 0).then_some(RedactionCount { kind, count })
            })
            .collect();
        (red.text, counts)
    }
}

impl Analyzer {
    /// Analyses a chunk of read items (records or read errors) in parallel, in order, counting
    /// each outcome into `summary`.
    pub fn analyze_items(&self, items: &[crate::io::Item], summary: &mut Summary) -> Vec<Outcome> {
        let out: Vec<Outcome> = items
            .par_iter()
            .map(|item| match item {
                Ok(v) => self.analyze(v),
                Err(b) => Outcome::Failed { id: b.id.clone(), error: b.error.clone() },
            })
            .collect();
        for o in &out {
            summary.count(o);
        }
        out
    }
}
