//! The analyser: one comment in, one [`Outcome`] out; batches in parallel, in input order.
//!
//! This is the library's batch API. It knows nothing of files, flags or terminals, so the CLI,
//! the server and the Python binding all call the same thing.

use rayon::prelude::*;

use std::collections::BTreeMap;
use std::sync::Mutex;

use crate::analysis::{
    Analysis, HeadOutput, Lang, Outcome, Polarity, RedactionCount, Tone, Warning,
};
use crate::classify::{Scan, churn, mode, sentiment, themes};
use crate::detect::{self, Detected};
use crate::error::{ErrorKind, RecordError};
use crate::lexicon::Resources;
use crate::model::features::{self, Hashing, LexiconView, SparseVec};
use crate::model::head::HeadCard;
use crate::model::linear::argmax;
use crate::model::{Head, HeadFailure};
use crate::redact::{PiiKind, PiiSpan, Redactor};
use crate::summary::Summary;
use crate::tokenize;
use crate::verbatim::{Meta, Origin, Verbatim};

/// Default limit on a comment's size: 1 MiB.
pub const DEFAULT_MAX_TEXT_BYTES: usize = 1 << 20;

/// How to analyse.
#[derive(Debug, Clone)]
pub struct Options {
    /// Force a language instead of detecting it.
    pub lang: Option<Lang>,
    /// Mask e-mail addresses, phone numbers, IBANs, RIBs, NIRs and card numbers in the text
    /// before analysis.
    pub redact: bool,
    /// Mask the same kinds in the metadata values (date, score, channel, customer, extra
    /// columns), which go to the output and the index as they are. The CLI's `--redact` sets
    /// both: a customer column is often an e-mail address.
    pub redact_meta: bool,
    /// Texts longer than this (in bytes) become `text_too_long` errors.
    pub max_text_bytes: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            lang: None,
            redact: false,
            redact_meta: false,
            max_text_bytes: DEFAULT_MAX_TEXT_BYTES,
        }
    }
}

/// Analyses comments. Cheap to share across threads (`&Analyzer` is `Sync`).
pub struct Analyzer {
    res: Resources,
    opts: Options,
    redactor: Option<Redactor>,
    /// Learned heads, called once per batch. A sentiment head decides the tone label; the
    /// others add `predictions`.
    heads: Vec<Mutex<Box<dyn Head>>>,
}

impl Analyzer {
    /// An analyser over loaded resources.
    pub fn new(res: Resources, opts: Options) -> Analyzer {
        let redactor = (opts.redact || opts.redact_meta).then(Redactor::new);
        Analyzer { res, opts, redactor, heads: Vec::new() }
    }

    /// Adds a learned head. Heads run in the order added; the first `sentiment` head decides the
    /// tone. All heads read one feature pass, so they must share their hashing width.
    pub fn with_head(mut self, head: Box<dyn Head>) -> Result<Analyzer, HeadFailure> {
        if let Some(want) = self.hashing() {
            let card = head.card();
            if card.hashing() != want {
                return Err(HeadFailure {
                    head: card.name.clone(),
                    message: format!(
                        "it hashes features into 2^{} buckets, the heads before it into 2^{}: \
                         retrain it with `verbatim train --bits {}`",
                        card.hash_bits,
                        want.bits(),
                        want.bits()
                    ),
                });
            }
        }
        self.heads.push(Mutex::new(head));
        Ok(self)
    }

    /// Names of the heads in use.
    pub fn head_names(&self) -> Vec<String> {
        self.heads.iter().map(|h| lock(h).card().name.clone()).collect()
    }

    /// Names of the heads whose labels go to `predictions` (every head but the first
    /// `sentiment` head, which decides the tone).
    pub fn prediction_heads(&self) -> Vec<String> {
        let mut tone_decided = false;
        let mut names = Vec::new();
        for h in &self.heads {
            let h = lock(h);
            let card = h.card();
            if card.task == "sentiment" && !tone_decided {
                tone_decided = true;
            } else {
                names.push(card.name.clone());
            }
        }
        names
    }

    /// The resources in use.
    pub fn resources(&self) -> &Resources {
        &self.res
    }

    /// Mutable resources (threshold sweeps in evaluation).
    pub fn resources_mut(&mut self) -> &mut Resources {
        &mut self.res
    }

    /// Analyses one record. With learned heads, prefer [`Analyzer::analyze_batch`]: heads run
    /// once per batch.
    pub fn analyze(&self, v: &Verbatim) -> Outcome {
        self.analyze_batch(std::slice::from_ref(v)).pop().unwrap_or_else(|| Outcome::Failed {
            id: v.id.clone(),
            error: RecordError {
                kind: ErrorKind::Model,
                message: "no outcome".into(),
                file: v.origin.file.clone(),
                line: v.origin.line,
                field: None,
            },
        })
    }

    /// Analyses records in parallel; the outcomes are in input order.
    pub fn analyze_batch(&self, items: &[Verbatim]) -> Vec<Outcome> {
        let hashing = self.hashing();
        let done: Vec<Done> = items.par_iter().map(|v| self.analyze_inner(v, hashing)).collect();
        self.finish(done, items.iter().map(|v| (v.id.as_str(), &v.origin)).collect())
    }

    /// The hashing the heads read (all heads of an analyser share one feature pass).
    fn hashing(&self) -> Option<Hashing> {
        self.heads.first().map(|h| lock(h).card().hashing())
    }

    /// Runs the heads over the analysed records of a batch and turns results into outcomes.
    fn finish(&self, done: Vec<Done>, origins: Vec<(&str, &Origin)>) -> Vec<Outcome> {
        let mut done = done;
        if !self.heads.is_empty() {
            let failure = self.run_heads(&mut done).err();
            if let Some(f) = failure {
                for (d, (_, origin)) in done.iter_mut().zip(&origins) {
                    if d.is_ok() {
                        *d = Err(RecordError {
                            kind: ErrorKind::Model,
                            message: f.to_string(),
                            file: origin.file.clone(),
                            line: origin.line,
                            field: Some("text".into()),
                        });
                    }
                }
            }
        }
        done.into_iter()
            .zip(origins)
            .map(|(d, (id, _))| match d {
                Ok((a, _)) => Outcome::Analysed(Box::new(a)),
                Err(error) => Outcome::Failed { id: id.to_string(), error },
            })
            .collect()
    }

    fn run_heads(&self, done: &mut [Done]) -> Result<(), HeadFailure> {
        let ok: Vec<usize> = (0..done.len()).filter(|&i| done[i].is_ok()).collect();
        if ok.is_empty() {
            return Ok(());
        }
        let mut sentiment_decided = false;
        for (k, head) in self.heads.iter().enumerate() {
            let mut head = lock(head);
            // Each head gets its own rows (the accurate tier appends the embedding in place): a
            // copy, except for the last head, which takes them.
            let last = k + 1 == self.heads.len();
            let mut rows = Vec::with_capacity(ok.len());
            for &i in &ok {
                if let Ok((_, f)) = &mut done[i] {
                    rows.push(if last { f.take() } else { f.clone() }.unwrap_or_default());
                }
            }
            let texts: Vec<&str> = ok
                .iter()
                .filter_map(|&i| done[i].as_ref().ok().map(|(a, _)| a.text.as_str()))
                .collect();
            let probs = head.probs(&mut rows, &texts)?;
            let card = head.card();
            let decides = card.task == "sentiment" && !sentiment_decided;
            sentiment_decided |= decides;
            for (&i, p) in ok.iter().zip(&probs) {
                if let Ok((a, _)) = &mut done[i] {
                    let out = head_output(card, p);
                    if decides {
                        apply_sentiment(a, out);
                    } else {
                        a.predictions.push(out);
                    }
                }
            }
        }
        Ok(())
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
        let mut masked = BTreeMap::new();
        let text = self.redact_text(&v.text, &mut masked);
        let meta = self.redact_meta(&v.meta, &mut masked);
        let redactions =
            masked.into_iter().map(|(kind, count)| RedactionCount { kind, count }).collect();
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
            predictions: Vec::new(),
            meta,
            redactions,
            warnings,
        };
        Ok((analysis, features))
    }

    /// The text, masked with `--redact`; what was masked is added to `masked`.
    fn redact_text(&self, text: &str, masked: &mut BTreeMap<PiiKind, usize>) -> String {
        match &self.redactor {
            Some(r) if self.opts.redact => {
                let red = r.redact_with_spans(text);
                count_spans(&red.spans, masked);
                red.text
            }
            _ => text.to_string(),
        }
    }

    /// The metadata, each value masked with [`Options::redact_meta`] under its column's name.
    fn redact_meta(&self, meta: &Meta, masked: &mut BTreeMap<PiiKind, usize>) -> Meta {
        let Some(r) = self.redactor.filter(|_| self.opts.redact_meta) else { return meta.clone() };
        let mut mask = |value: &str, field: &str| {
            let red = r.redact_field(value, field);
            count_spans(&red.spans, masked);
            red.text
        };
        Meta {
            date: meta.date.as_deref().map(|v| mask(v, "date")),
            score: meta.score.as_deref().map(|v| mask(v, "score")),
            channel: meta.channel.as_deref().map(|v| mask(v, "channel")),
            customer: meta.customer.as_deref().map(|v| mask(v, "customer")),
            extra: meta.extra.iter().map(|(k, v)| (k.clone(), mask(v, k))).collect(),
        }
    }
}

/// Adds one to `masked` per span, by kind.
fn count_spans(spans: &[PiiSpan], masked: &mut BTreeMap<PiiKind, usize>) {
    for s in spans {
        *masked.entry(s.kind).or_default() += 1;
    }
}

type Done = Result<(Analysis, Option<SparseVec>), RecordError>;

fn lock(h: &Mutex<Box<dyn Head>>) -> std::sync::MutexGuard<'_, Box<dyn Head>> {
    // A head that panicked mid-batch left no half-written state we read: keep using it.
    h.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn head_output(card: &HeadCard, p: &[f32]) -> HeadOutput {
    let (arg, top) = argmax(p);
    HeadOutput {
        name: card.name.clone(),
        label: card.labels.get(arg).cloned().unwrap_or_default(),
        probability: round3(top),
        probs: card.labels.iter().cloned().zip(p.iter().map(|&x| round3(x))).collect(),
    }
}

/// Probabilities are written to three decimals: more would be noise, and it keeps records short.
fn round3(x: f32) -> f32 {
    (x * 1000.0).round() / 1000.0
}

/// The head decides the tone; the lexicon's reading is kept beside it.
fn apply_sentiment(a: &mut Analysis, out: HeadOutput) {
    let p = |l: &str| out.probs.get(l).copied().unwrap_or(0.0);
    let label = [Polarity::Negative, Polarity::Neutral, Polarity::Positive]
        .into_iter()
        .find(|l| l.as_str() == out.label);
    let Some(label) = label else {
        a.predictions.push(out);
        return;
    };
    let s = &mut a.sentiment;
    s.lexicon = Some(Tone { label: s.label, score: s.score });
    s.label = label;
    s.score = round3(p("positive") - p("negative"));
    s.model = Some(out);
}

impl Analyzer {
    /// Analyses a chunk of read items (records or read errors) in parallel, in order, counting
    /// each outcome into `summary`.
    pub fn analyze_items(&self, items: &[crate::io::Item], summary: &mut Summary) -> Vec<Outcome> {
        let hashing = self.hashing();
        let done: Vec<Done> = items
            .par_iter()
            .map(|item| match item {
                Ok(v) => self.analyze_inner(v, hashing),
                Err(b) => Err(b.error.clone()),
            })
            .collect();
        let no_origin = Origin::default();
        let origins = items
            .iter()
            .map(|item| match item {
                Ok(v) => (v.id.as_str(), &v.origin),
                Err(b) => (b.id.as_str(), &no_origin),
            })
            .collect();
        let out = self.finish(done, origins);
        for (o, item) in out.iter().zip(items) {
            match item {
                Ok(v) => summary.count_at(o, &v.origin),
                Err(b) => {
                    summary.count_at(o, &Origin { file: b.error.file.clone(), line: b.error.line })
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::features::FEATURE_VERSION;
    use crate::model::head::CARD_FORMAT;
    use crate::model::{InMemoryHead, linear::LinearModel};

    /// A head whose answer is fixed by its bias: it ignores the text.
    fn fixed_head(name: &str, task: &str, labels: &[&str], bias: &[f32]) -> Box<dyn Head> {
        let hashing = Hashing::new(10).unwrap();
        let c = labels.len();
        Box::new(InMemoryHead {
            card: HeadCard {
                format: CARD_FORMAT.into(),
                name: name.into(),
                task: task.into(),
                tier: "fast".into(),
                labels: labels.iter().map(|l| l.to_string()).collect(),
                feature_version: FEATURE_VERSION,
                hash_bits: hashing.bits(),
                embed_scale: None,
                encoder: None,
                temperature: 1.0,
                training: serde_json::Value::Null,
            },
            model: LinearModel {
                n_features: hashing.n_features(),
                labels: labels.iter().map(|l| l.to_string()).collect(),
                weights: vec![0.0; hashing.n_features() * c],
                bias: bias.to_vec(),
                temperature: 1.0,
            },
        })
    }

    fn analyzer() -> Analyzer {
        Analyzer::new(Resources::embedded().unwrap(), Options::default())
    }

    #[test]
    fn a_sentiment_head_decides_and_the_lexicon_reading_is_kept() {
        let a = analyzer()
            .with_head(fixed_head(
                "s",
                "sentiment",
                &["negative", "neutral", "positive"],
                &[3.0, 0.0, 0.0],
            ))
            .unwrap();
        let out = a.analyze(&Verbatim::new("1", "Service excellent, je recommande !"));
        let Outcome::Analysed(r) = out else { panic!("{out:?}") };
        assert_eq!(r.sentiment.label, Polarity::Negative);
        let lex = r.sentiment.lexicon.as_ref().expect("lexicon reading kept");
        assert_eq!(lex.label, Polarity::Positive);
        assert!(!r.sentiment.evidence.is_empty(), "evidence still comes from the lexicon");
        let m = r.sentiment.model.as_ref().unwrap();
        assert_eq!((m.name.as_str(), m.label.as_str()), ("s", "negative"));
        assert!((m.probs.values().sum::<f32>() - 1.0).abs() < 0.01);
        assert!(r.sentiment.score < -0.8);
    }

    #[test]
    fn other_heads_add_predictions_and_errors_stay_in_place() {
        let a = analyzer()
            .with_head(fixed_head("route", "service", &["billing", "claims"], &[0.0, 2.0]))
            .unwrap();
        let items = vec![
            Verbatim::new("1", "Facture fausse"),
            Verbatim::new("2", "  "),
            Verbatim::new("3", "ok"),
        ];
        let out = a.analyze_batch(&items);
        assert_eq!(out.len(), 3);
        let Outcome::Analysed(r) = &out[0] else { panic!() };
        assert_eq!(r.predictions.len(), 1);
        assert_eq!(r.predictions[0].label, "claims");
        assert!(r.sentiment.model.is_none());
        assert!(matches!(&out[1], Outcome::Failed { id, .. } if id == "2"));
        assert!(matches!(&out[2], Outcome::Analysed(_)));
    }

    #[test]
    fn a_failing_head_turns_its_batch_into_error_records() {
        let good = fixed_head("acc", "sentiment", &["negative", "positive"], &[0.0, 0.0]);
        // An in-memory head cannot run the encoder an accurate head needs: it fails.
        let mut card = good.card().clone();
        card.encoder = Some("e5.onnx".into());
        let model = LinearModel {
            n_features: 1,
            labels: vec![],
            weights: vec![],
            bias: vec![],
            temperature: 1.0,
        };
        let a = analyzer().with_head(Box::new(InMemoryHead { card, model })).unwrap();
        let out = a.analyze_batch(&[Verbatim::new("1", "bien"), Verbatim::new("2", "")]);
        match &out[0] {
            Outcome::Failed { error, .. } => assert_eq!(error.kind, ErrorKind::Model),
            o => panic!("{o:?}"),
        }
        assert!(
            matches!(&out[1], Outcome::Failed { error, .. } if error.kind == ErrorKind::EmptyText)
        );
    }

    #[test]
    fn heads_with_another_hashing_width_are_refused() {
        let a = analyzer()
            .with_head(fixed_head("s", "sentiment", &["negative", "positive"], &[0.0, 0.0]))
            .unwrap();
        let narrow = Hashing::new(12).unwrap();
        let mut card = fixed_head("t", "theme", &["a", "b"], &[0.0, 0.0]).card().clone();
        card.hash_bits = narrow.bits();
        let model = LinearModel {
            n_features: narrow.n_features(),
            labels: card.labels.clone(),
            weights: vec![0.0; narrow.n_features() * 2],
            bias: vec![0.0; 2],
            temperature: 1.0,
        };
        let err = a.with_head(Box::new(InMemoryHead { card, model })).err().expect("refused");
        assert!(err.to_string().contains("--bits 10"), "{err}");
    }
}
