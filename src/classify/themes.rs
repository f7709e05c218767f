//! Themes: taxonomy cues found in the comment, each with the tone of the clauses that mention it.

use super::Scan;
use super::sentiment::{Scored, clause_raw, tone};
use crate::analysis::ThemeHit;
use crate::lexicon::Cue;

pub(crate) fn themes(scan: &Scan<'_>, scored: &Scored) -> Vec<ThemeHit> {
    // theme index -> (first byte offset, raw tone sum, evidence)
    let mut found: Vec<(u16, usize, f32, Vec<crate::analysis::Evidence>)> = Vec::new();
    for (si, s) in scan.sentences.iter().enumerate() {
        let mut per_theme: Vec<(u16, Vec<usize>)> = Vec::new();
        for m in &s.matches {
            let Cue::Theme(t) = scan.cue(m) else { continue };
            let ev = scan.evidence(s, m);
            match found.iter_mut().find(|f| f.0 == t) {
                Some(f) => {
                    // One span is enough evidence per word; overlapping cues (livr*, livraison)
                    // repeat it. Spans come in order of start, so a repeat can only be among the
                    // last ones, those with the same start (comparing with all was quadratic).
                    let repeat = f.3.iter().rev().take_while(|e| e.start == ev.start).any(|e| {
                        super::work(1);
                        e.end == ev.end
                    });
                    if !repeat {
                        f.3.push(ev);
                    }
                }
                None => found.push((t, ev.start, 0.0, vec![ev])),
            }
            match per_theme.iter_mut().find(|p| p.0 == t) {
                Some(p) => p.1.push(m.start),
                None => per_theme.push((t, vec![m.start])),
            }
        }
        for (t, positions) in per_theme {
            let raw = clause_raw(scan, scored, si, &positions);
            if let Some(f) = found.iter_mut().find(|f| f.0 == t) {
                f.2 += raw;
            }
        }
    }
    found.sort_by_key(|f| f.1);
    found
        .into_iter()
        .map(|(t, _, raw, evidence)| {
            let theme = &scan.res.themes[t as usize];
            ThemeHit {
                id: theme.id.clone(),
                label: theme.label_in(scan.lang).to_string(),
                sentiment: tone(raw, scan),
                evidence,
            }
        })
        .collect()
}
