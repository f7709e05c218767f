//! The TOML data files: scoring parameters, taxonomy, modes and churn reasons.
//!
//! Parsed with serde; every cue keeps its position so that a bad cue is reported with its file
//! and line, like a compiler error.

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

use crate::error::Error;

/// Text in both languages.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bilingual<T> {
    /// French.
    #[serde(default)]
    pub fr: T,
    /// English.
    #[serde(default)]
    pub en: T,
}

/// `sentiment.toml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SentimentConfig {
    /// Format version (1).
    pub version: u32,
    /// How word valences combine.
    pub scoring: Scoring,
    /// Label thresholds per language (`fr`, `en`, `und`), for whole comments.
    pub thresholds: BTreeMap<String, Thresholds>,
    /// Label thresholds for sentences and theme clauses: short spans, where one clear word decides.
    pub span_thresholds: Thresholds,
    /// Valence carried by each matched cue of a mode (by mode id), times the cue's weight.
    #[serde(default)]
    pub mode_valence: BTreeMap<String, f32>,
    /// Valence carried by each matched cue of a churn reason (by reason id).
    #[serde(default)]
    pub churn_valence: BTreeMap<String, f32>,
}

/// Scoring parameters (see `lexicons/sentiment.toml` for what each does).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scoring {
    /// Multiplier applied to a negated positive valence (negative: it flips and damps).
    pub negation_factor: f32,
    /// Multiplier applied to a negated negative valence ("never received the cancellation
    /// notice" is no praise): usually much smaller in size.
    pub negation_factor_negative: f32,
    /// Weight of sentiment before a contrast word in the same sentence.
    pub contrast_before: f32,
    /// Normalisation constant: score = s / sqrt(s² + alpha).
    pub alpha: f32,
    /// A sum of n sentiment items is divided by n^length_exponent before squashing.
    pub length_exponent: f32,
    /// Added per `!` (up to 3) in the direction of the sentence's sum.
    pub exclamation: f32,
    /// Multiplier for an all-capitals word in a text that is not all capitals.
    pub caps: f32,
    /// How many words back an intensifier or diminisher reaches.
    pub modifier_window: usize,
    /// Look words up by Snowball stem when the exact form is not in the lexicon.
    pub stem_fallback: bool,
    /// Weight of a stem-fallback match relative to an exact match.
    pub stem_weight: f32,
}

/// Score thresholds: above `positive` is positive, below `negative` is negative.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Thresholds {
    /// Lower bound of positive.
    pub positive: f32,
    /// Upper bound of negative.
    pub negative: f32,
}

/// `taxonomy.toml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaxonomyFile {
    /// Format version (1).
    pub version: u32,
    /// The themes.
    #[serde(rename = "theme", default)]
    pub themes: Vec<ThemeDef>,
}

/// One theme of the taxonomy.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ThemeDef {
    /// Stable id.
    pub id: Spanned<String>,
    /// Parent theme id, for hierarchical facets.
    #[serde(default)]
    pub parent: Option<Spanned<String>>,
    /// Display labels.
    pub label: Bilingual<String>,
    /// One-sentence descriptions.
    #[serde(default)]
    pub description: Bilingual<String>,
    /// Cues per language.
    pub cues: Bilingual<Vec<Spanned<String>>>,
    /// Example comments (for people, and later zero-shot matching).
    #[serde(default)]
    pub examples: Bilingual<Vec<String>>,
}

/// `modes.toml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModesFile {
    /// Format version (1).
    pub version: u32,
    /// How cues and tone combine.
    pub scoring: ModeScoring,
    /// The modes, in tie-break order.
    #[serde(rename = "mode")]
    pub modes: Vec<ModeDef>,
}

/// Mode scoring weights.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModeScoring {
    /// Added to `question` when a sentence ends with `?`.
    pub question_mark: f32,
    /// complaint += negative_tone × max(0, −tone).
    pub negative_tone: f32,
    /// compliment += positive_tone × max(0, tone).
    pub positive_tone: f32,
    /// opinion gets this when the tone is not neutral.
    pub opinion_base: f32,
    /// information always gets this.
    pub information_base: f32,
}

/// One mode.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModeDef {
    /// question, suggestion, complaint, compliment, incident, opinion or information.
    pub id: Spanned<String>,
    /// What the mode means (for people reading the file).
    #[serde(default, rename = "description")]
    pub _description: Bilingual<String>,
    /// `[cue, weight]` pairs per language.
    #[serde(default)]
    pub cues: Bilingual<Vec<Spanned<(String, f32)>>>,
}

/// `churn.toml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChurnFile {
    /// Format version (1).
    pub version: u32,
    /// Level thresholds.
    pub levels: ChurnLevels,
    /// The contribution of a very negative tone.
    pub tone: ChurnTone,
    /// The reasons.
    #[serde(rename = "reason")]
    pub reasons: Vec<ChurnReasonDef>,
}

/// Risk thresholds of the levels.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChurnLevels {
    /// Risk at or above which the level is low.
    pub low: f32,
    /// … medium.
    pub medium: f32,
    /// … high.
    pub high: f32,
}

/// Tone contribution to churn risk.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChurnTone {
    /// Tone score below which it counts.
    pub threshold: f32,
    /// Its contribution.
    pub weight: f32,
}

/// One churn reason.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChurnReasonDef {
    /// Reason id.
    pub id: Spanned<String>,
    /// Contribution of one matching cue (0..1).
    pub weight: f32,
    /// What the reason means (for people reading the file).
    #[serde(default, rename = "description")]
    pub _description: Bilingual<String>,
    /// Cues per language.
    pub cues: Bilingual<Vec<Spanned<String>>>,
}

/// `families.toml`: cue families (implicit irritants and implicit praise), in the pattern syntax.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FamiliesFile {
    /// Format version (1).
    pub version: u32,
    /// How the cues are written: `pattern` (the pattern syntax) or `plain` (plain cues).
    pub syntax: Spanned<String>,
    /// Word classes per language: name → an alternative of single words.
    #[serde(default)]
    pub classes: Bilingual<BTreeMap<String, Spanned<String>>>,
    /// The families.
    #[serde(rename = "family", default)]
    pub families: Vec<FamilyDef>,
}

/// One cue family.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FamilyDef {
    /// Stable id, named in the evidence.
    pub id: Spanned<String>,
    /// `negative` (an irritant) or `positive` (praise).
    pub polarity: Spanned<String>,
    /// Size of the valence one match carries into the tone (0 < weight <= 4).
    pub weight: f32,
    /// The churn reason it feeds, if any, and with what weight.
    #[serde(default)]
    pub churn: Option<FamilyChurn>,
    /// Where the family comes from (for people reviewing the file).
    pub provenance: String,
    /// What the family means (for people reading the file).
    #[serde(default, rename = "description")]
    pub _description: Bilingual<String>,
    /// Patterns per language.
    pub patterns: Bilingual<Vec<Spanned<String>>>,
}

/// The churn contribution of a family.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FamilyChurn {
    /// A reason id of `churn.toml`.
    pub reason: Spanned<String>,
    /// Contribution of a match (0..1), as a reason's weight.
    pub weight: f32,
}

/// 1-based line of byte offset `pos` in `src`.
pub(crate) fn line_of(src: &str, pos: usize) -> usize {
    src.as_bytes()[..pos.min(src.len())].iter().filter(|&&b| b == b'\n').count() + 1
}

/// Parses a TOML data file into `T`, turning syntax and schema errors into [`Error::Data`] with
/// the line of the problem.
pub(crate) fn parse<T: for<'de> Deserialize<'de>>(file: &str, src: &str) -> Result<T, Error> {
    toml::from_str(src).map_err(|e| {
        let line = e.span().map_or(0, |s| line_of(src, s.start));
        Error::data(file, line, e.message().to_string())
    })
}
