//! The output record: what verbatim concluded about one comment, and why.
//!
//! Field names are part of the product's contract (later tooling reads them): change them only
//! with a version bump of the output.

use serde::Serialize;

use crate::error::RecordError;
use crate::redact::PiiKind;
use crate::verbatim::Meta;

/// A language verbatim analyses, or `und` when it cannot tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    /// French.
    Fr,
    /// English.
    En,
    /// Undetermined: too short to tell, or another language (see the record's warnings).
    /// Analysed with both languages' lexicons.
    Und,
}

impl Lang {
    /// ISO 639-1 code, or `und`.
    pub fn as_str(self) -> &'static str {
        match self {
            Lang::Fr => "fr",
            Lang::En => "en",
            Lang::Und => "und",
        }
    }

    /// Parses `fr`, `en` or `und`.
    pub fn parse(s: &str) -> Option<Lang> {
        match s.trim().to_ascii_lowercase().as_str() {
            "fr" | "fra" | "fre" | "french" => Some(Lang::Fr),
            "en" | "eng" | "english" => Some(Lang::En),
            "und" => Some(Lang::Und),
            _ => None,
        }
    }
}

/// The three tones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Polarity {
    /// Satisfied, praising.
    Positive,
    /// Dissatisfied, complaining.
    Negative,
    /// Neither, or both in balance.
    Neutral,
}

impl Polarity {
    /// The serialised name.
    pub fn as_str(self) -> &'static str {
        match self {
            Polarity::Positive => "positive",
            Polarity::Negative => "negative",
            Polarity::Neutral => "neutral",
        }
    }
}

/// A span of the output text that triggered a label.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Evidence {
    /// Byte offset of the first byte in `text`.
    pub start: usize,
    /// Byte offset one past the last byte in `text`.
    pub end: usize,
    /// The matched text, as written.
    pub text: String,
    /// The lexicon entry that matched, when it differs from the text (accents, prefix cue).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cue: Option<String>,
    /// The contribution of this span to the label's score, when the label is scored.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub weight: Option<f32>,
    /// True when a negation in scope flipped this span's contribution.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub negated: bool,
    /// The cue family (`lexicons/families.toml`) whose pattern matched: an implicit irritant
    /// or praise such as `waiting` or `called_back`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub family: Option<String>,
}

/// Tone of a span of text.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Tone {
    /// positive, negative or neutral.
    pub label: Polarity,
    /// −1 (very negative) … +1 (very positive).
    pub score: f32,
}

/// Tone of one sentence.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SentenceTone {
    /// Byte offset of the sentence's start.
    pub start: usize,
    /// Byte offset one past the sentence's end.
    pub end: usize,
    /// positive, negative or neutral.
    pub label: Polarity,
    /// −1 … +1.
    pub score: f32,
}

/// Overall tone of the comment, with the words that made it and the per-sentence tones.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Sentiment {
    /// positive, negative or neutral.
    pub label: Polarity,
    /// −1 … +1.
    pub score: f32,
    /// The sentiment-bearing spans and their contributions (from the lexicons, whichever
    /// decided the label).
    pub evidence: Vec<Evidence>,
    /// One entry per sentence (lexicon tones).
    pub sentences: Vec<SentenceTone>,
    /// The learned head that decided `label`, with its calibrated probabilities; `score` is
    /// then P(positive) − P(negative). Absent with `--model lexicon`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<HeadOutput>,
    /// The lexicon's own reading when a head decided `label`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lexicon: Option<Tone>,
}

/// What a learned head said about one comment.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HeadOutput {
    /// The head's name (`sentiment-fast`, or the name given to `verbatim train`).
    pub name: String,
    /// The most probable label.
    pub label: String,
    /// Its probability.
    pub probability: f32,
    /// Every label's calibrated probability, by label.
    pub probs: std::collections::BTreeMap<String, f32>,
}

/// One theme the comment talks about.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ThemeHit {
    /// Theme id from the taxonomy.
    pub id: String,
    /// Label in the comment's language.
    pub label: String,
    /// The tone of the clauses that mention the theme.
    pub sentiment: Tone,
    /// The cue spans that mention the theme.
    pub evidence: Vec<Evidence>,
}

/// The mode of expression.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModeHit {
    /// question, suggestion, complaint, compliment, incident, opinion or information.
    pub label: String,
    /// The decision score of the chosen mode (sum of cue weights and tone terms).
    pub score: f32,
    /// The cue spans for the chosen mode (may be empty when tone alone decided).
    pub evidence: Vec<Evidence>,
}

/// Churn risk levels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ChurnLevel {
    /// No sign of leaving.
    None,
    /// Mild signs.
    Low,
    /// Clear signs.
    Medium,
    /// Explicit intent to leave.
    High,
}

impl ChurnLevel {
    /// The serialised name.
    pub fn as_str(self) -> &'static str {
        match self {
            ChurnLevel::None => "none",
            ChurnLevel::Low => "low",
            ChurnLevel::Medium => "medium",
            ChurnLevel::High => "high",
        }
    }
}

/// Churn risk and its reasons.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Churn {
    /// 0 … 1.
    pub risk: f32,
    /// none, low, medium or high.
    pub level: ChurnLevel,
    /// Reason ids, strongest first (intent_to_leave, competitor, contestation…).
    pub reasons: Vec<String>,
    /// The cue spans behind the reasons.
    pub evidence: Vec<Evidence>,
}

/// Counts of PII masked in one record.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RedactionCount {
    /// What was masked.
    pub kind: PiiKind,
    /// How many times.
    pub count: usize,
}

/// The analysis of one comment.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Analysis {
    /// The record's id.
    pub id: String,
    /// Detected (or forced) language.
    pub lang: Lang,
    /// The comment as written (PII masked with `--redact`); every offset points into it.
    pub text: String,
    /// Overall tone, per sentence, with evidence.
    pub sentiment: Sentiment,
    /// Themes, in order of first mention.
    pub themes: Vec<ThemeHit>,
    /// Mode of expression.
    pub mode: ModeHit,
    /// Churn risk.
    pub churn: Churn,
    /// Labels from the user's own heads (`verbatim train` on their themes or services).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub predictions: Vec<HeadOutput>,
    /// Metadata carried from the input.
    #[serde(skip_serializing_if = "Meta::is_empty")]
    pub meta: Meta,
    /// PII masked in this record, when `--redact` is on.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub redactions: Vec<RedactionCount>,
    /// Things the reader should know about this record (e.g. it is in another language).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<Warning>,
}

/// A note attached to an analysed record.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Warning {
    /// Stable machine-readable kind, snake_case (`other_language`).
    pub kind: &'static str,
    /// Human-readable explanation.
    pub message: String,
}

/// One output record: an analysis or an error naming file, line and field.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Outcome {
    /// The record was analysed.
    Analysed(Box<Analysis>),
    /// The record could not be analysed.
    Failed {
        /// The record's id when it could be read, else `file:line`.
        id: String,
        /// What went wrong.
        error: RecordError,
    },
}
