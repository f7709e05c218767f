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
    let mut families_seen: Vec<u16> = Vec::new();
    for s in &scan.sentences {
        for m in &s.matches {
            if let Cue::Family { family, .. } = scan.cue(m) {
                let Some((r, w)) = family_churn(scan, s, m, family, &mut families_seen) else {
                    continue;
                };
                keep *= 1.0 - w;
                note(&mut reasons, &res.churn_reasons[usize::from(r)].id, w);
                evidence.push(scan.evidence(s, m));
                continue;
            }
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

/// The churn reason and weight a family match adds: once per family and comment, not when
/// negated ("pas d'attente"), and not where a churn cue of the same reason already covers the
/// same words ("toujours pas" in "toujours pas de réponse" would count twice).
fn family_churn(
    scan: &Scan<'_>,
    s: &super::SentenceScan,
    m: &crate::lexicon::matcher::Match,
    family: u16,
    seen: &mut Vec<u16>,
) -> Option<(u8, f32)> {
    let (r, w) = scan.res.families.get(usize::from(family))?.churn?;
    if w == 0.0 || s.negated[m.start] || seen.contains(&family) {
        return None;
    }
    let from = m.start.saturating_sub(scan.lex.matcher.longest());
    let near = super::starting_in(&s.matches, from..m.end);
    super::work(near.len());
    let overlaps =
        near.iter().any(|q| q.end > m.start && matches!(scan.cue(q), Cue::Churn(r2, _) if r2 == r));
    if overlaps {
        return None;
    }
    seen.push(family);
    Some((r, w))
}

fn note(reasons: &mut Vec<(String, f32)>, id: &str, w: f32) {
    match reasons.iter_mut().find(|r| r.0 == id) {
        Some(r) => r.1 = r.1.max(w),
        None => reasons.push((id.to_string(), w)),
    }
}
