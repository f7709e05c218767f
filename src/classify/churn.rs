//! Churn risk: cues of leaving, competitor offers, contestation, lost trust and anger, each
//! reason with a weight; risks combine as independent probabilities, 1 − Π(1 − w).

use super::Scan;
use crate::analysis::{Churn, ChurnLevel, Evidence, Sentiment};
use crate::lexicon::Cue;

/// Reason id used when a very negative tone contributes.
const TONE_REASON: &str = "very_negative_tone";

pub(crate) fn churn(scan: &Scan<'_>, sentiment: &Sentiment) -> Churn {
    let res = scan.res;
    let mut keep = 1.0f32;
    let mut reasons: Vec<(String, f32)> = Vec::new();
    let mut evidence: Vec<Evidence> = Vec::new();
    let mut seen = Vec::new();
    for s in &scan.sentences {
        for m in &s.matches {
            let Cue::Churn(r, w) = scan.cue(m) else { continue };
            // "je ne vais pas résilier" is no intent to leave.
            if s.negated[m.start] || seen.contains(&m.entry) {
                continue;
            }
            seen.push(m.entry);
            keep *= 1.0 - w;
            note(&mut reasons, &res.churn_reasons[r as usize].id, w);
            evidence.push(scan.evidence(s, m));
        }
    }
    if sentiment.score < res.churn_tone.threshold {
        keep *= 1.0 - res.churn_tone.weight;
        note(&mut reasons, TONE_REASON, res.churn_tone.weight);
    }
    let risk = super::sentiment::round3(1.0 - keep);
    let l = res.churn_levels;
    let level = if risk >= l.high {
        ChurnLevel::High
    } else if risk >= l.medium {
        ChurnLevel::Medium
    } else if risk >= l.low {
        ChurnLevel::Low
    } else {
        ChurnLevel::None
    };
    reasons.sort_by(|a, b| b.1.total_cmp(&a.1));
    Churn { risk, level, reasons: reasons.into_iter().map(|r| r.0).collect(), evidence }
}

fn note(reasons: &mut Vec<(String, f32)>, id: &str, w: f32) {
    match reasons.iter_mut().find(|r| r.0 == id) {
        Some(r) => r.1 = r.1.max(w),
        None => reasons.push((id.to_string(), w)),
    }
}
