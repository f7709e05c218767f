//! What one indexed document holds, built either from an [`Analysis`] (raw input analysed on
//! the way in) or from a JSONL record written by `verbatim analyze`.
//!
//! The JSONL side reads only the fields the index needs and ignores the rest, so records from a
//! newer `analyze` with extra fields still index.

use std::collections::{BTreeMap, HashMap};

use serde::Deserialize;

use crate::analysis::{Analysis, Lang};
use crate::lexicon::Theme;
use crate::verbatim::Meta;

/// The indexed view of one analysed comment.
#[derive(Debug, Clone, PartialEq)]
pub struct IndexRecord {
    /// Record id: unique in the index (re-indexing it replaces the old document).
    pub id: String,
    /// The comment as analysed.
    pub text: String,
    /// Language.
    pub lang: Lang,
    /// Tone label (positive, negative, neutral).
    pub sentiment: String,
    /// Tone score, −1 … 1.
    pub sentiment_score: f32,
    /// Theme ids in order of mention.
    pub themes: Vec<String>,
    /// Mode label.
    pub mode: String,
    /// Churn level (none, low, medium, high).
    pub churn: String,
    /// Churn risk, 0 … 1.
    pub churn_risk: f32,
    /// Date, score, channel and customer as given in the input.
    pub meta: Meta,
}

impl IndexRecord {
    /// The indexed view of an analysis.
    pub fn from_analysis(a: &Analysis) -> IndexRecord {
        IndexRecord {
            id: a.id.clone(),
            text: a.text.clone(),
            lang: a.lang,
            sentiment: a.sentiment.label.as_str().to_string(),
            sentiment_score: a.sentiment.score,
            themes: a.themes.iter().map(|t| t.id.clone()).collect(),
            mode: a.mode.label.clone(),
            churn: a.churn.level.as_str().to_string(),
            churn_risk: a.churn.risk,
            meta: a.meta.clone(),
        }
    }

    /// Parses one line of `verbatim analyze` output. Error records (`{"id", "error"}`) and
    /// lines that are not analysed records give `Err` with the reason.
    pub fn from_json_line(line: &str) -> Result<IndexRecord, String> {
        let r: JsonRecord = serde_json::from_str(line).map_err(|e| {
            if line.contains("\"error\"") {
                "an error record of `verbatim analyze` (nothing to index)".to_string()
            } else {
                format!("not an analysed record: {e}")
            }
        })?;
        let lang = Lang::parse(&r.lang).unwrap_or(Lang::Und);
        Ok(IndexRecord {
            id: r.id,
            text: r.text,
            lang,
            sentiment: r.sentiment.label,
            sentiment_score: r.sentiment.score,
            themes: r.themes.into_iter().map(|t| t.id).collect(),
            mode: r.mode.label,
            churn: r.churn.level,
            churn_risk: r.churn.risk,
            meta: Meta {
                date: r.meta.date,
                score: r.meta.score.map(scalar_text),
                channel: r.meta.channel,
                customer: r.meta.customer,
                extra: r.meta.extra.into_iter().map(|(k, v)| (k, scalar_text(v))).collect(),
            },
        })
    }

    /// True when `line` looks like a `verbatim analyze` record (analysed or error record),
    /// as opposed to raw comments in JSONL.
    pub fn looks_analysed(line: &str) -> bool {
        #[derive(Deserialize)]
        struct Probe {
            sentiment: Option<serde::de::IgnoredAny>,
            error: Option<serde::de::IgnoredAny>,
            lang: Option<serde::de::IgnoredAny>,
        }
        match serde_json::from_str::<Probe>(line) {
            Ok(p) => (p.sentiment.is_some() && p.lang.is_some()) || p.error.is_some(),
            Err(_) => false,
        }
    }
}

#[derive(Deserialize)]
struct JsonRecord {
    id: String,
    lang: String,
    text: String,
    sentiment: JsonTone,
    #[serde(default)]
    themes: Vec<JsonTheme>,
    mode: JsonMode,
    churn: JsonChurn,
    #[serde(default)]
    meta: JsonMeta,
}

#[derive(Deserialize)]
struct JsonTone {
    label: String,
    score: f32,
}

#[derive(Deserialize)]
struct JsonTheme {
    id: String,
}

#[derive(Deserialize)]
struct JsonMode {
    label: String,
}

#[derive(Deserialize)]
struct JsonChurn {
    risk: f32,
    level: String,
}

#[derive(Deserialize, Default)]
struct JsonMeta {
    date: Option<String>,
    // A score may have been written as a number by another tool.
    score: Option<serde_json::Value>,
    channel: Option<String>,
    customer: Option<String>,
    /// The user's own metadata columns (`--meta-column`).
    #[serde(flatten)]
    extra: BTreeMap<String, serde_json::Value>,
}

/// A JSON value as text: strings as they are, numbers and the rest as JSON.
fn scalar_text(v: serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s,
        other => other.to_string(),
    }
}

/// Theme ids and their parents, from the taxonomy, for hierarchical facets.
#[derive(Debug, Clone, Default)]
pub struct ThemeTree {
    parent: HashMap<String, String>,
}

/// Deeper than this is a cycle in the taxonomy (or a taxonomy nobody can read).
const MAX_DEPTH: usize = 8;

impl ThemeTree {
    /// The tree of a taxonomy.
    pub fn new(themes: &[Theme]) -> ThemeTree {
        let parent = themes
            .iter()
            .filter_map(|t| t.parent.as_ref().map(|p| (t.id.clone(), p.clone())))
            .collect();
        ThemeTree { parent }
    }

    /// The path from the root theme down to `id` (`["order", "delivery"]`). An id the
    /// taxonomy does not know (records analysed with another taxonomy) is a root.
    pub fn path<'a>(&'a self, id: &'a str) -> Vec<&'a str> {
        let mut path = vec![id];
        let mut cur = id;
        while let Some(p) = self.parent.get(cur) {
            if path.len() >= MAX_DEPTH || path.contains(&p.as_str()) {
                break;
            }
            path.push(p);
            cur = p;
        }
        path.reverse();
        path
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Analyzer, Options, Outcome, Resources, Verbatim};

    #[test]
    fn json_line_round_trips_the_analysis() {
        let analyzer = Analyzer::new(Resources::embedded().unwrap(), Options::default());
        let mut v = Verbatim::new("r1", "Facture fausse, je vais résilier !");
        v.meta.customer = Some("C1".into());
        v.meta.date = Some("2025-02-03".into());
        let Outcome::Analysed(a) = analyzer.analyze(&v) else { panic!("analysed") };
        let line = serde_json::to_string(&a).unwrap();
        assert!(IndexRecord::looks_analysed(&line));
        let from_json = IndexRecord::from_json_line(&line).unwrap();
        let direct = IndexRecord::from_analysis(&a);
        assert_eq!(from_json.id, direct.id);
        assert_eq!(from_json.themes, direct.themes);
        assert_eq!(from_json.churn, direct.churn);
        assert_eq!(from_json.meta, direct.meta);
        assert!((from_json.sentiment_score - direct.sentiment_score).abs() < 1e-6);
    }

    #[test]
    fn raw_jsonl_is_not_taken_for_analysed_records() {
        assert!(!IndexRecord::looks_analysed(r#"{"id":"1","text":"bonjour","lang":"fr"}"#));
        assert!(IndexRecord::looks_analysed(r#"{"id":"1","error":{"kind":"empty_text"}}"#));
        assert!(IndexRecord::from_json_line(r#"{"id":"1","error":{}}"#).is_err());
    }

    #[test]
    fn theme_paths_follow_parents_and_survive_cycles() {
        let res = Resources::embedded().unwrap();
        let tree = ThemeTree::new(res.themes());
        assert_eq!(tree.path("delivery"), ["order", "delivery"]);
        assert_eq!(tree.path("unknown_theme"), ["unknown_theme"]);
        let mut looped = ThemeTree::default();
        looped.parent.insert("a".into(), "b".into());
        looped.parent.insert("b".into(), "a".into());
        assert_eq!(looped.path("a"), ["b", "a"]);
    }
}
