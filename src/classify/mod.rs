//! Classification: from tokens and cue matches to tone, themes, mode and churn risk.
//!
//! A [`Scan`] is built once per comment: for each sentence, the cue matches, the clause of each
//! word and which words are negated. Each classifier then reads the scan; none re-tokenises or
//! re-matches.

pub(crate) mod churn;
pub(crate) mod mode;
pub(crate) mod sentiment;
pub(crate) mod themes;

use crate::analysis::{Evidence, Lang};
use crate::lexicon::matcher::{Match, sentence_keys};
use crate::lexicon::{Cue, LangLexicon, Modifier, Resources};
use crate::tokenize::{TokenKind, Tokens};

/// One sentence, scanned.
pub(crate) struct SentenceScan {
    /// Token indices of the matchable words.
    pub idx: Vec<usize>,
    /// Every cue match, positions in `idx`.
    pub matches: Vec<Match>,
    /// Clause number of each word (commas, semicolons and contrast words split clauses).
    pub clause: Vec<u16>,
    /// Whether each word is in a negation's scope.
    pub negated: Vec<bool>,
    /// The first contrast word: its position and the weight of what follows.
    pub contrast: Option<(usize, f32)>,
    /// Does the sentence end with a question mark?
    pub question: bool,
    /// Number of `!` in the sentence.
    pub exclamations: usize,
    /// Byte range of the sentence.
    pub span: (usize, usize),
}

/// A comment, scanned.
pub(crate) struct Scan<'a> {
    pub toks: &'a Tokens<'a>,
    pub lex: &'a LangLexicon,
    pub res: &'a Resources,
    pub lang: Lang,
    pub sentences: Vec<SentenceScan>,
}

impl<'a> Scan<'a> {
    pub fn new(toks: &'a Tokens<'a>, res: &'a Resources, lang: Lang) -> Scan<'a> {
        let lex = res.lexicon(lang);
        let sentences = toks.sentences().iter().map(|s| scan_sentence(toks, lex, s)).collect();
        Scan { toks, lex, res, lang, sentences }
    }

    /// The cue behind a match.
    pub fn cue(&self, m: &Match) -> Cue {
        self.lex.matcher.entry(m.entry).1
    }

    /// Evidence for match `m` of sentence `s`.
    pub fn evidence(&self, s: &SentenceScan, m: &Match) -> Evidence {
        let start = self.toks.tokens()[s.idx[m.start]].start;
        let end = self.toks.tokens()[s.idx[m.end - 1]].end;
        let text = &self.toks.text()[start..end];
        // Matching already made the words equal up to case and accents; only a prefix cue
        // (`factur*`) tells the reader something the text does not.
        let (pattern, payload) = self.lex.matcher.entry(m.entry);
        let (cue, family) = match *payload {
            // A family pattern shows as written in the file, with the family's name.
            Cue::Family { family, pattern } => (
                self.res.family_patterns.get(pattern as usize).cloned(),
                self.res.families.get(usize::from(family)).map(|f| f.id.clone()),
            ),
            _ => (pattern.has_prefix().then(|| pattern.display()), None),
        };
        Evidence { start, end, text: text.to_string(), cue, weight: None, negated: false, family }
    }
}

fn scan_sentence(
    toks: &Tokens<'_>,
    lex: &LangLexicon,
    s: &crate::tokenize::Sentence,
) -> SentenceScan {
    let (idx, keys) = sentence_keys(toks, s.tokens.clone());
    let mut matches = Vec::new();
    lex.matcher.find_all(&keys, &mut matches);

    // Clause boundaries from punctuation: a boundary before word position p.
    let mut clause = vec![0u16; idx.len()];
    let mut c = 0u16;
    let mut p = 0;
    let mut question = false;
    let mut exclamations = 0;
    for i in s.tokens.clone() {
        let t = &toks.tokens()[i];
        if p < idx.len() && idx[p] == i {
            clause[p] = c;
            p += 1;
        } else if t.kind == TokenKind::Punct {
            let k = toks.key(i);
            if k.contains([',', ';', ':', '(', ')']) {
                c = c.saturating_add(1);
            }
            if k.contains('?') {
                question = true;
            } else if k.contains('.') {
                question = false;
            }
            exclamations += k.matches('!').count();
        }
    }
    let contrast = split_at_contrasts(lex, &matches, &mut clause);
    let covered = sentiment_cover(lex, &matches, idx.len());
    let negated = negation_scopes(lex, &matches, &clause, &covered);
    SentenceScan {
        idx,
        matches,
        clause,
        negated,
        contrast,
        question,
        exclamations,
        span: (s.start, s.end),
    }
}

/// Contrast words start a new clause too: each one adds 1 to the clause number of every word
/// from its own on. Returns the first contrast word: its position and the weight after it.
///
/// One pass with a running count of the contrasts seen (matches come in order of start): a
/// loop over the rest of the sentence per contrast word was quadratic in "mais mais mais…".
fn split_at_contrasts(
    lex: &LangLexicon,
    matches: &[Match],
    clause: &mut [u16],
) -> Option<(usize, f32)> {
    let contrast_after = |m: &Match| match lex.matcher.entry(m.entry).1 {
        Cue::Modifier(Modifier::Contrast { after }) => Some(after),
        _ => None,
    };
    let mut starts = matches.iter().filter(|m| contrast_after(m).is_some()).map(|m| m.start);
    let first = matches.iter().find_map(|m| contrast_after(m).map(|after| (m.start, after)))?;
    let mut next = starts.next();
    let mut seen = 0u32;
    for (p, c) in clause.iter_mut().enumerate().skip(first.0) {
        while next.is_some_and(|start| start <= p) {
            seen += 1;
            next = starts.next();
        }
        work(1);
        // Saturating one step at a time, as `u16::saturating_add(1)` repeated `seen` times.
        *c = (u32::from(*c) + seen).min(u32::from(u16::MAX)) as u16;
    }
    Some(first)
}

/// Positions inside a multi-word sentiment phrase ("pas terrible", "no problem") or family
/// pattern ("toujours pas de réponse", "no reply"): a negator there is part of the idiom, not a
/// negation.
fn sentiment_cover(lex: &LangLexicon, matches: &[Match], n: usize) -> Vec<bool> {
    let mut covered = vec![false; n];
    for m in matches {
        if m.end - m.start > 1
            && matches!(lex.matcher.entry(m.entry).1, Cue::Sentiment(_) | Cue::Family { .. })
        {
            covered[m.start..m.end].iter_mut().for_each(|c| *c = true);
        }
    }
    covered
}

fn negation_scopes(
    lex: &LangLexicon,
    matches: &[Match],
    clause: &[u16],
    covered: &[bool],
) -> Vec<bool> {
    let n = clause.len();
    let mut negated = vec![false; n];
    let mark = |from: usize, to: usize, cl: u16, negated: &mut Vec<bool>| {
        for p in from..to.min(n) {
            work(1);
            if clause[p] != cl {
                break;
            }
            negated[p] = true;
        }
    };
    let modifier = |m: &Match| match lex.matcher.entry(m.entry).1 {
        Cue::Modifier(md) if !covered[m.start] => Some(md),
        _ => None,
    };
    for m in matches {
        match modifier(m) {
            Some(Modifier::Negator { scope }) => {
                mark(m.end, m.end + scope as usize, clause[m.start], &mut negated)
            }
            Some(Modifier::Ne { gap }) => {
                // French "ne … pas": the words between ne and its negator are negated, then the
                // negator's own scope follows. "ne … que" has no negator and negates nothing.
                // Matches are in order of start: only those starting within the gap are looked
                // at (searching all of them per `ne` was quadratic in "ne ne ne…").
                let window = starting_in(matches, m.end..m.end + gap as usize + 1);
                work(window.len());
                let closing = window.iter().find(|q| {
                    clause[q.start] == clause[m.start]
                        && matches!(
                            modifier(q),
                            Some(Modifier::Negator { .. } | Modifier::NegatorAfterNe { .. })
                        )
                });
                if let Some(q) = closing {
                    mark(m.end, q.start, clause[m.start], &mut negated);
                    if let Some(Modifier::NegatorAfterNe { scope }) = modifier(q) {
                        mark(q.end, q.end + scope as usize, clause[q.start], &mut negated);
                    }
                }
            }
            _ => {}
        }
    }
    negated
}

/// The matches (in order of start, as [`CueMatcher::find_all`] gives them) that start in `range`.
///
/// [`CueMatcher::find_all`]: crate::lexicon::matcher::CueMatcher::find_all
pub(crate) fn starting_in(matches: &[Match], range: std::ops::Range<usize>) -> &[Match] {
    let lo = matches.partition_point(|m| m.start < range.start);
    let hi = lo + matches[lo..].partition_point(|m| m.start < range.end);
    &matches[lo..hi]
}

#[cfg(test)]
thread_local! {
    /// Elements visited by the per-sentence loops, counted in tests only: the tests of
    /// `tests.rs` check that this work grows linearly with the text (no timing involved).
    pub(crate) static WORK: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// Counts `n` visited elements (tests only; nothing in a normal build).
#[inline(always)]
pub(crate) fn work(n: usize) {
    #[cfg(test)]
    WORK.with(|w| w.set(w.get() + n));
    #[cfg(not(test))]
    let _ = n;
}

#[cfg(test)]
mod tests;
