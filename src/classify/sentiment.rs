//! Tone: lexicon valences with negation, intensifiers, contrast and emphasis, per sentence and
//! per clause, squashed to −1…1 and labelled with per-language thresholds.

use super::{Scan, SentenceScan};
use crate::analysis::{Evidence, Polarity, SentenceTone, Sentiment, Tone};
use crate::lexicon::{Cue, Modifier, Thresholds};
use crate::tokenize::TokenKind;

/// One sentiment-bearing word or phrase after all modifiers.
pub(crate) struct Item {
    /// Sentence index.
    pub sentence: usize,
    /// Word position of its first word in the sentence.
    pub pos: usize,
    /// Its final contribution to the sentence.
    pub value: f32,
    /// Its contribution to its own clause: before the contrast re-weighting, which is about
    /// the sentence as a whole ("rapide" in "livraison rapide mais…" is fully positive there).
    pub local: f32,
    pub evidence: Evidence,
}

/// Sentiment of a whole comment plus the items, for theme tones.
pub(crate) struct Scored {
    pub sentiment: Sentiment,
    pub items: Vec<Item>,
    /// Raw sum per sentence.
    pub sentence_raw: Vec<f32>,
}

/// −1…1 from a raw sum.
pub(crate) fn squash(raw: f32, alpha: f32) -> f32 {
    if raw == 0.0 { 0.0 } else { raw / (raw * raw + alpha).sqrt() }
}

pub(crate) fn label(score: f32, t: Thresholds) -> Polarity {
    if score > t.positive {
        Polarity::Positive
    } else if score < t.negative {
        Polarity::Negative
    } else {
        Polarity::Neutral
    }
}

/// Tone of a sentence or a theme's clauses (short spans: `span_thresholds`).
pub(crate) fn tone(raw: f32, scan: &Scan<'_>) -> Tone {
    let score = squash(raw, scan.res.scoring.alpha);
    Tone { label: label(score, scan.res.span_thresholds), score: round3(score) }
}

/// Damps the growth of a sum with the number of items in it (`length_exponent`), so that a
/// long review with many mild words does not outweigh a short, clear comment.
fn per_item(raw: f32, n: usize, scan: &Scan<'_>) -> f32 {
    if n <= 1 { raw } else { raw / (n as f32).powf(scan.res.scoring.length_exponent) }
}

pub(crate) fn round3(x: f32) -> f32 {
    (x * 1000.0).round() / 1000.0
}

pub(crate) fn score(scan: &Scan<'_>) -> Scored {
    let all_caps_text = is_shouting(scan.toks.text());
    let mut items = Vec::new();
    let mut sentence_raw = Vec::with_capacity(scan.sentences.len());
    let mut sentences = Vec::with_capacity(scan.sentences.len());
    let mut total = 0.0;
    for (si, s) in scan.sentences.iter().enumerate() {
        let first = items.len();
        sentence_items(scan, si, s, all_caps_text, &mut items);
        let mut raw: f32 = items[first..].iter().map(|i| i.value).sum();
        if raw != 0.0 && s.exclamations > 0 {
            raw += raw.signum() * scan.res.scoring.exclamation * s.exclamations.min(3) as f32;
        }
        let n = items.len() - first;
        sentence_raw.push(per_item(raw, n, scan));
        total += raw;
        let t = tone(per_item(raw, n, scan), scan);
        sentences.push(SentenceTone {
            start: s.span.0,
            end: s.span.1,
            label: t.label,
            score: t.score,
        });
    }
    let score = squash(per_item(total, items.len(), scan), scan.res.scoring.alpha);
    let t = Tone { label: label(score, scan.res.thresholds(scan.lang)), score: round3(score) };
    let evidence = items.iter().map(|i| i.evidence.clone()).collect();
    Scored {
        sentiment: Sentiment {
            label: t.label,
            score: t.score,
            evidence,
            sentences,
            model: None,
            lexicon: None,
        },
        items,
        sentence_raw,
    }
}

fn sentence_items(
    scan: &Scan<'_>,
    si: usize,
    s: &SentenceScan,
    caps_text: bool,
    out: &mut Vec<Item>,
) {
    let sc = &scan.res.scoring;
    let mut taken = vec![false; s.idx.len()];
    let mut chosen: Vec<(usize, usize, f32, Option<u32>)> = Vec::new();
    family_cues(scan, s, &mut taken, &mut chosen);
    let mut by_len: Vec<_> = s
        .matches
        .iter()
        .filter_map(|m| match scan.cue(m) {
            Cue::Sentiment(v) => Some((m, v)),
            _ => None,
        })
        .collect();
    // Longest first; at equal span the entry added last wins (curated files load after the
    // general lexicon, so `rapide*` from the curated list beats the general `rapide`).
    by_len.sort_by_key(|(m, _)| {
        (std::cmp::Reverse(m.end - m.start), m.start, std::cmp::Reverse(m.entry))
    });
    for (m, v) in by_len {
        if taken[m.start..m.end].iter().any(|&t| t) {
            continue;
        }
        taken[m.start..m.end].iter_mut().for_each(|t| *t = true);
        chosen.push((m.start, m.end, v, Some(m.entry)));
    }
    mode_cues(scan, s, &mut taken, &mut chosen);
    if sc.stem_fallback {
        stem_fallback(scan, s, &taken, &mut chosen);
    }
    chosen.sort_by_key(|c| c.0);
    for (start, end, v, entry) in chosen {
        let mut value = v * scale_before(scan, s, start);
        let tok0 = &scan.toks.tokens()[s.idx[start]];
        if !caps_text && end - start == 1 && is_shouting(scan.toks.surface(s.idx[start])) {
            value *= sc.caps;
        }
        let negated = s.negated[start];
        if negated {
            value *= if value > 0.0 { sc.negation_factor } else { sc.negation_factor_negative };
        }
        let local = value;
        if let Some((c, after)) = s.contrast {
            value *= if start > c { after } else { sc.contrast_before };
        }
        let mut ev = match entry {
            Some(e) => scan.evidence(s, &crate::lexicon::matcher::Match { entry: e, start, end }),
            None => Evidence {
                start: tok0.start,
                end: tok0.end,
                text: scan.toks.surface(s.idx[start]).to_string(),
                cue: None,
                weight: None,
                negated: false,
                family: None,
            },
        };
        ev.weight = Some(round3(value));
        ev.negated = negated;
        out.push(Item { sentence: si, pos: start, value, local, evidence: ev });
    }
}

/// Family patterns (`families.toml`) go first: "réglé le problème en cinq minutes" is praise
/// although "problème" alone is negative, so the words a family covers are not read again.
/// Longest first where they overlap, as sentiment entries.
fn family_cues(
    scan: &Scan<'_>,
    s: &SentenceScan,
    taken: &mut [bool],
    chosen: &mut Vec<(usize, usize, f32, Option<u32>)>,
) {
    let mut found: Vec<(&crate::lexicon::matcher::Match, f32, u16)> = s
        .matches
        .iter()
        .filter_map(|m| match scan.cue(m) {
            Cue::Family { family, .. } => {
                scan.res.families.get(usize::from(family)).map(|f| (m, f.valence, family))
            }
            _ => None,
        })
        .collect();
    if found.is_empty() {
        return;
    }
    found.sort_by_key(|(m, _, _)| (std::cmp::Reverse(m.end - m.start), m.start, m.entry));
    // The family that took each word: a shorter match of the same family that overlaps one
    // ("problème résolu" beside "résolu dès le premier appel") widens what it covers.
    let mut owner: Vec<Option<u16>> = vec![None; taken.len()];
    for (m, v, family) in found {
        super::work(m.end - m.start);
        let family = Some(family);
        if taken[m.start..m.end].iter().any(|&t| t) {
            if owner[m.start..m.end].contains(&family) {
                for p in m.start..m.end {
                    taken[p] = true;
                    owner[p] = owner[p].or(family);
                }
            }
            continue;
        }
        taken[m.start..m.end].iter_mut().for_each(|t| *t = true);
        owner[m.start..m.end].iter_mut().for_each(|o| *o = family);
        chosen.push((m.start, m.end, v, Some(m.entry)));
    }
}

/// Mode and churn cues carry tone too: a reported incident ("site is down", "ne fonctionne
/// plus") or an intent to leave is a bad experience even without an opinion word. Only where no
/// sentiment entry already matched.
fn mode_cues(
    scan: &Scan<'_>,
    s: &SentenceScan,
    taken: &mut [bool],
    chosen: &mut Vec<(usize, usize, f32, Option<u32>)>,
) {
    for m in &s.matches {
        let v = match scan.cue(m) {
            Cue::Mode(i, w) => scan.res.mode_valence[i as usize] * w,
            Cue::Churn(r, _) => scan.res.churn_valence[r as usize],
            _ => continue,
        };
        if v == 0.0 || taken[m.start..m.end].iter().any(|&t| t) {
            continue;
        }
        taken[m.start..m.end].iter_mut().for_each(|t| *t = true);
        chosen.push((m.start, m.end, v, Some(m.entry)));
    }
}

/// Words not in the lexicon are looked up by Snowball stem ("remboursements" → "rembours").
fn stem_fallback(
    scan: &Scan<'_>,
    s: &SentenceScan,
    taken: &[bool],
    chosen: &mut Vec<(usize, usize, f32, Option<u32>)>,
) {
    let weight = scan.res.scoring.stem_weight;
    for (p, &ti) in s.idx.iter().enumerate() {
        if taken[p] || scan.toks.tokens()[ti].kind != TokenKind::Word {
            continue;
        }
        let key = scan.toks.key(ti);
        if key.len() < 4 || scan.res.is_stopword(scan.lang, key) {
            continue;
        }
        let stem = scan.res.stemmers.stem(scan.lang, scan.toks.surface(ti));
        if let Some(&v) = scan.lex.stems.get(&stem) {
            chosen.push((p, p + 1, v * weight, None));
        }
    }
}

/// Product of the intensifiers and diminishers just before word position `pos`.
fn scale_before(scan: &Scan<'_>, s: &SentenceScan, pos: usize) -> f32 {
    let window = scan.res.scoring.modifier_window;
    // Only matches that can end in `pos - window + 1 ..= pos` are looked at, in their order (so
    // that the product is the same to the last bit); looking at every match of the sentence for
    // every sentiment word was quadratic in "très bon très bon…".
    let longest = scan.lex.matcher.longest();
    let from = (pos + 1).saturating_sub(window.saturating_add(longest));
    let near = super::starting_in(&s.matches, from..pos);
    super::work(near.len());
    let mut f = 1.0;
    for m in near {
        if m.end <= pos
            && m.end + window > pos
            && s.clause[m.start] == s.clause[pos]
            && let Cue::Modifier(Modifier::Scale(x)) = scan.cue(m)
        {
            f *= x;
        }
    }
    f
}

/// At least two letters, all upper case.
fn is_shouting(s: &str) -> bool {
    let mut letters = 0;
    for c in s.chars().filter(|c| c.is_alphabetic()) {
        if !c.is_uppercase() {
            return false;
        }
        letters += 1;
    }
    letters >= 2
}

/// Tone of the clauses of sentence `si` that contain one of `positions`; falls back to the
/// sentence when those clauses carry no sentiment.
pub(crate) fn clause_raw(scan: &Scan<'_>, scored: &Scored, si: usize, positions: &[usize]) -> f32 {
    let s = &scan.sentences[si];
    let mut clauses: Vec<u16> = positions.iter().map(|&p| s.clause[p]).collect();
    clauses.sort_unstable();
    clauses.dedup();
    // Items are in sentence order: this sentence's are one run of them. Filtering all items
    // of the comment, for each theme of each sentence, was quadratic in the sentences.
    let lo = scored.items.partition_point(|i| i.sentence < si);
    let hi = lo + scored.items[lo..].partition_point(|i| i.sentence <= si);
    let items = &scored.items[lo..hi];
    super::work(items.len());
    let (raw, n) = items
        .iter()
        .filter(|i| clauses.binary_search(&s.clause[i.pos]).is_ok())
        .fold((0.0, 0), |(sum, n), i| (sum + i.local, n + 1));
    if raw == 0.0 { scored.sentence_raw[si] } else { per_item(raw, n, scan) }
}
