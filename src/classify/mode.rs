//! Mode of expression: cue weights per mode, plus the question mark and the tone, as set in
//! `modes.toml`; the highest score wins, ties going to the mode listed first.

use super::Scan;
use crate::analysis::{Evidence, ModeHit, Sentiment};
use crate::lexicon::Cue;

pub(crate) fn mode(scan: &Scan<'_>, sentiment: &Sentiment) -> ModeHit {
    let res = scan.res;
    let n = res.modes.len();
    let mut score = vec![0.0f32; n];
    let mut evidence: Vec<Vec<Evidence>> = vec![Vec::new(); n];
    let mut seen = Vec::new();
    for s in &scan.sentences {
        for m in &s.matches {
            let Cue::Mode(i, w) = scan.cue(m) else { continue };
            // A negated cue says the opposite ("je ne recommande pas"); a cue counts once.
            if s.negated[m.start] || seen.contains(&m.entry) {
                continue;
            }
            seen.push(m.entry);
            score[i as usize] += w;
            evidence[i as usize].push(scan.evidence(s, m));
        }
    }
    let sc = &res.mode_scoring;
    let idx = |id: &str| res.modes.iter().position(|m| m == id);
    let tone = sentiment.score;
    let mut add = |id: &str, x: f32| {
        if let Some(i) = idx(id) {
            score[i] += x;
        }
    };
    if scan.sentences.iter().any(|s| s.question) {
        add("question", sc.question_mark);
    }
    add("complaint", sc.negative_tone * (-tone).max(0.0));
    add("compliment", sc.positive_tone * tone.max(0.0));
    if sentiment.label != crate::analysis::Polarity::Neutral {
        add("opinion", sc.opinion_base);
    }
    add("information", sc.information_base);
    let mut best = 0;
    for i in 1..n {
        if score[i] > score[best] {
            best = i;
        }
    }
    ModeHit {
        label: res.modes[best].clone(),
        score: super::sentiment::round3(score[best]),
        evidence: std::mem::take(&mut evidence[best]),
    }
}
