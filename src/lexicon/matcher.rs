//! Multi-word cue matching over a comment's tokens.
//!
//! Every cue of every kind (sentiment words, modifiers, theme, mode and churn cues) goes into one
//! [`CueMatcher`], so a comment's tokens are looked up once. A cue is a sequence of word patterns,
//! each an exact accent-folded key or a prefix (`factur*`); cues of the pattern syntax
//! (`super::pattern`) add word classes, number tokens and gaps. Candidates are found by the
//! first word (a hash lookup, plus one lookup per possible prefix length), then the rest of the
//! sequence is compared; a sequence with a gap is run as a small set of states whose work per
//! start position is bounded by the sequence's length (no backtracking).

use rustc_hash::{FxHashMap, FxHashSet};

use crate::normalize;
use crate::tokenize::{self, Tokens};

/// One word of a cue.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum WordPat {
    Exact(String),
    Prefix(String),
    /// A word class of the pattern syntax (`<duration>`): any of these words, made by
    /// [`WordPat::any_of`] (exact words first and sorted, for a binary search).
    AnyOf(Vec<WordPat>),
    /// `<digits>`: a number token.
    Digits,
    /// `...`: 0 to n words of any kind (never first or last in a pattern).
    Gap(u8),
}

impl WordPat {
    /// Plain words are compared inline: they are most of the entries, in the hot loop.
    #[inline]
    fn matches(&self, key: &str) -> bool {
        match self {
            WordPat::Exact(w) => w == key,
            WordPat::Prefix(p) => key.starts_with(p.as_str()),
            other => other.matches_pattern_word(key),
        }
    }

    #[inline(never)]
    fn matches_pattern_word(&self, key: &str) -> bool {
        match self {
            WordPat::Exact(w) => w == key,
            WordPat::Prefix(p) => key.starts_with(p.as_str()),
            WordPat::AnyOf(ws) => {
                let exact = ws.partition_point(|w| matches!(w, WordPat::Exact(_)));
                let found = ws[..exact].binary_search_by(|w| match w {
                    WordPat::Exact(x) => x.as_str().cmp(key),
                    _ => std::cmp::Ordering::Less,
                });
                found.is_ok() || ws[exact..].iter().any(|w| w.matches(key))
            }
            WordPat::Digits => is_number(key),
            WordPat::Gap(_) => true,
        }
    }

    fn display(&self) -> String {
        match self {
            WordPat::Exact(s) => s.clone(),
            WordPat::Prefix(s) => format!("{s}*"),
            WordPat::AnyOf(ws) => {
                let ws: Vec<String> = ws.iter().map(WordPat::display).collect();
                format!("({})", ws.join("|"))
            }
            WordPat::Digits => "<digits>".into(),
            WordPat::Gap(n) if *n == super::pattern::GAP_MAX => "…".into(),
            WordPat::Gap(n) => format!("…{n}"),
        }
    }
}

impl WordPat {
    /// A class of these words (nested classes flattened, repeats dropped), or the one word.
    pub(crate) fn any_of(members: Vec<WordPat>) -> WordPat {
        let mut flat: Vec<WordPat> = Vec::with_capacity(members.len());
        for m in members {
            match m {
                WordPat::AnyOf(inner) => flat.extend(inner),
                m => flat.push(m),
            }
        }
        // Exact words first, in order, so that `matches` can search them.
        flat.sort_by(|a, b| match (a, b) {
            (WordPat::Exact(x), WordPat::Exact(y)) => x.cmp(y),
            (WordPat::Exact(_), _) => std::cmp::Ordering::Less,
            (_, WordPat::Exact(_)) => std::cmp::Ordering::Greater,
            _ => std::cmp::Ordering::Equal,
        });
        flat.dedup();
        if flat.len() == 1 {
            return flat.remove(0);
        }
        WordPat::AnyOf(flat)
    }
}

/// A number token as the tokenizer keys it: digits, possibly with a decimal separator.
fn is_number(key: &str) -> bool {
    key.starts_with(|c: char| c.is_ascii_digit())
        && key.chars().all(|c| c.is_ascii_digit() || c == ',' || c == '.')
}

/// A cue's words, parsed from the text a reviewer wrote.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct Pattern(pub Vec<WordPat>);

impl Pattern {
    /// Parses a cue with the same tokenizer as comments, so both split alike (elision, hyphens,
    /// apostrophes). Errors are messages for the caller to place in a file and line.
    pub fn parse(cue: &str) -> Result<Pattern, String> {
        let trimmed = cue.trim();
        if trimmed.is_empty() {
            return Err("empty cue".into());
        }
        let star = trimmed.ends_with('*');
        let body = trimmed.trim_end_matches('*');
        if body.contains('*') {
            return Err(format!("cue `{cue}`: `*` is only allowed at the end of the last word"));
        }
        let toks = tokenize::tokenize(body);
        let mut words: Vec<WordPat> = (0..toks.tokens().len())
            .filter(|&i| toks.tokens()[i].kind.is_matchable())
            .map(|i| WordPat::Exact(toks.key(i).to_string()))
            .collect();
        if words.is_empty() {
            // Emoticons such as ":-(" are symbols, not words: such a cue is kept whole and
            // matches when the tokenizer recognises the same emoticon as one token.
            if trimmed.contains(char::is_whitespace) || star {
                return Err(format!("cue `{cue}` has no word in it"));
            }
            return Ok(Pattern(vec![WordPat::Exact(normalize::fold(trimmed))]));
        }
        if star {
            if body.ends_with(|c: char| !c.is_alphanumeric()) {
                return Err(format!("cue `{cue}`: `*` must follow a letter"));
            }
            let last = match words.pop() {
                Some(WordPat::Exact(s)) => s,
                _ => String::new(),
            };
            if last.chars().count() < 3 {
                return Err(format!("cue `{cue}`: a prefix needs at least 3 letters before `*`"));
            }
            words.push(WordPat::Prefix(last));
        }
        Ok(Pattern(words))
    }

    /// Does the cue end with a prefix word (`factur*`)?
    pub fn has_prefix(&self) -> bool {
        matches!(self.0.last(), Some(WordPat::Prefix(_)))
    }

    /// The cue as a reviewer would write it back (folded).
    pub fn display(&self) -> String {
        let words: Vec<String> = self.0.iter().map(WordPat::display).collect();
        let mut out = words.join(" ");
        // Keep elided clitics glued as written: "l' avion" reads better as "l'avion".
        while let Some(i) = out.find("' ") {
            out.remove(i + 1);
        }
        out
    }
}

/// A match of entry `entry` over matchable-token positions `start..end` of one sentence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Match {
    pub entry: u32,
    pub start: usize,
    pub end: usize,
}

/// A pattern with a gap, compiled for [`run_gapped`]: each step is one word, `None` being a
/// word a gap may skip.
type Steps = Box<[Option<WordPat>]>;

/// The compiled set of cues. `P` is the payload each entry carries.
#[derive(Debug, Clone)]
pub(crate) struct CueMatcher<P> {
    entries: Vec<(Pattern, P)>,
    /// Per entry, its steps when it has a gap (then its matches vary in length).
    gapped: Vec<Option<Steps>>,
    exact: FxHashMap<String, Vec<u32>>,
    /// Entries whose first word is `<digits>` (or a class holding it).
    digits: Vec<u32>,
    /// Some entry is found under several first words (a class): its matches are deduplicated.
    multi: bool,
    prefix: FxHashMap<String, Vec<u32>>,
    prefix_lens: Vec<usize>,
    /// The first three characters of every prefix cue: most words have none, and this one
    /// lookup spares them a lookup per prefix length.
    prefix_heads: FxHashSet<String>,
    /// Words in the longest entry without a gap: such a match ending at word `p` starts after
    /// `p - longest`. Entries with a gap are not counted: they are family cues, and only
    /// modifiers (never gapped) are looked up by where they end.
    longest: usize,
}

impl<P> Default for CueMatcher<P> {
    fn default() -> Self {
        CueMatcher {
            entries: Vec::new(),
            gapped: Vec::new(),
            exact: FxHashMap::default(),
            digits: Vec::new(),
            multi: false,
            prefix: FxHashMap::default(),
            prefix_lens: Vec::new(),
            prefix_heads: FxHashSet::default(),
            longest: 0,
        }
    }
}

impl<P> CueMatcher<P> {
    /// Adds an entry.
    pub fn add(&mut self, pattern: Pattern, payload: P) {
        let gapped = pattern.0.iter().any(|w| matches!(w, WordPat::Gap(_)));
        // The index holds ids with a flag for gapped entries, so that the hot loop tells them
        // apart without reading another array.
        let id = self.entries.len() as u32 | if gapped { GAPPED } else { 0 };
        match &pattern.0[0] {
            WordPat::AnyOf(ws) => {
                self.multi = true;
                for w in ws {
                    self.index(w, id);
                }
            }
            w => self.index(w, id),
        }
        if gapped {
            self.gapped.push(Some(steps(&pattern)));
        } else {
            self.gapped.push(None);
            self.longest = self.longest.max(pattern.0.len());
        }
        self.entries.push((pattern, payload));
    }

    /// Files entry `id` under its first word `w`.
    fn index(&mut self, w: &WordPat, id: u32) {
        match w {
            WordPat::Exact(w) => self.exact.entry(w.clone()).or_default().push(id),
            WordPat::Prefix(p) => {
                let n = p.chars().count();
                if !self.prefix_lens.contains(&n) {
                    self.prefix_lens.push(n);
                    self.prefix_lens.sort_unstable();
                }
                self.prefix_heads.insert(p.chars().take(3).collect());
                self.prefix.entry(p.clone()).or_default().push(id);
            }
            WordPat::Digits => self.digits.push(id),
            // Nested classes are flattened and gaps never come first (`pattern::parse`).
            WordPat::AnyOf(ws) => ws.iter().for_each(|w| self.index(w, id)),
            WordPat::Gap(_) => {}
        }
    }

    /// Words in the longest entry.
    pub fn longest(&self) -> usize {
        self.longest
    }

    /// The entry with id `id`.
    pub fn entry(&self, id: u32) -> &(Pattern, P) {
        &self.entries[id as usize]
    }

    /// Does an entry start with exactly this word?
    pub fn starts_with_word(&self, key: &str) -> bool {
        self.exact.contains_key(key)
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Every match over `keys` (the matchable tokens of one sentence), in order of start.
    pub fn find_all(&self, keys: &[&str], out: &mut Vec<Match>) {
        for start in 0..keys.len() {
            let first = out.len();
            self.find_at(keys, start, out);
            if self.multi && out.len() > first + 1 {
                dedup_entries(out, first);
            }
        }
    }

    fn find_at(&self, keys: &[&str], start: usize, out: &mut Vec<Match>) {
        let key = keys[start];
        if let Some(ids) = self.exact.get(key) {
            self.extend_at(ids, keys, start, out);
        }
        if !self.digits.is_empty() && is_number(key) {
            self.extend_at(&self.digits, keys, start, out);
        }
        let head_end = key.char_indices().nth(3).map_or(key.len(), |(i, _)| i);
        if self.prefix_lens.is_empty() || !self.prefix_heads.contains(&key[..head_end]) {
            return;
        }
        for &n in &self.prefix_lens {
            let Some((cut, _)) = key.char_indices().nth(n - 1) else { break };
            let cut = cut + key[cut..].chars().next().map_or(0, char::len_utf8);
            if let Some(ids) = self.prefix.get(&key[..cut]) {
                self.extend_at(ids, keys, start, out);
            }
        }
    }

    fn extend_at(&self, ids: &[u32], keys: &[&str], start: usize, out: &mut Vec<Match>) {
        for &id in ids {
            if id & GAPPED != 0 {
                let id = id & !GAPPED;
                let steps = self.gapped[id as usize].as_deref().unwrap_or_default();
                if let Some(end) = run_gapped(steps, keys, start) {
                    out.push(Match { entry: id, start, end });
                }
                continue;
            }
            // The first word was matched by the index: the rest is compared.
            let words = &self.entries[id as usize].0.0;
            let end = start + words.len();
            if end <= keys.len()
                && words[1..].iter().zip(&keys[start + 1..end]).all(|(w, k)| w.matches(k))
            {
                out.push(Match { entry: id, start, end });
            }
        }
    }
}

/// Removes the repeats of an entry among `out[from..]` (one start position), keeping the first:
/// an entry filed under several words of a class can be found twice for one word.
fn dedup_entries(out: &mut Vec<Match>, from: usize) {
    let mut i = from + 1;
    while i < out.len() {
        if out[from..i].iter().any(|m| m.entry == out[i].entry) {
            out.remove(i);
        } else {
            i += 1;
        }
    }
}

/// The flag of a gapped entry's id in the index (ids stay below it: `add` is not called 2^31
/// times).
const GAPPED: u32 = 1 << 31;

/// A gapped pattern's steps: its words, and `n` skippable words for a gap of `n`.
fn steps(pattern: &Pattern) -> Steps {
    let mut out = Vec::new();
    for w in &pattern.0 {
        match w {
            WordPat::Gap(n) => out.extend(std::iter::repeat_n(None, usize::from(*n))),
            w => out.push(Some(w.clone())),
        }
    }
    out.into_boxed_slice()
}

/// The end of the shortest match of `steps` at `start`, if any; the first step (never
/// skippable) was matched by the index.
///
/// The state is the set of steps reached (bit i: step i is next), widened over the skippable
/// words of gaps. Each word read moves every state one step on, so at most `steps.len()` words
/// are read, each costing a comparison per word step reached: the work per start position is
/// bounded by the pattern, whatever the text (`pattern::MAX_STEPS` keeps the set in 64 bits).
fn run_gapped(steps: &[Option<WordPat>], keys: &[&str], start: usize) -> Option<usize> {
    let n = steps.len();
    let accept = 1u64 << n;
    let mut skip = 0u64;
    for (i, s) in steps.iter().enumerate() {
        if s.is_none() {
            skip |= 1 << i;
        }
    }
    // A skippable step can be passed over without reading a word: its successor is reached.
    let widen = |mut set: u64| {
        loop {
            let more = set | ((set & skip) << 1);
            if more == set {
                return set;
            }
            set = more;
        }
    };
    let mut set = widen(1 << 1);
    let mut p = start + 1;
    while set != 0 {
        if set & accept != 0 {
            return Some(p);
        }
        let key = keys.get(p)?;
        #[cfg(test)]
        READS.with(|r| r.set(r.get() + 1));
        // Skippable steps take any word; word steps only theirs.
        let mut next = (set & skip) << 1;
        let mut words = set & !skip & (accept - 1);
        while words != 0 {
            let i = words.trailing_zeros() as usize;
            words &= words - 1;
            if steps[i].as_ref().is_some_and(|w| w.matches(key)) {
                next |= 1 << (i + 1);
            }
        }
        set = widen(next);
        p += 1;
    }
    None
}

#[cfg(test)]
thread_local! {
    /// Words read by [`run_gapped`], counted in tests only (the bound is checked without timing).
    static READS: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// Folds a term the way keys are folded (for lookups outside the tokenizer).
pub(crate) fn fold_term(term: &str) -> String {
    normalize::fold(term)
}

/// Matchable token indices of a sentence and their keys.
pub(crate) fn sentence_keys<'t>(
    toks: &'t Tokens<'_>,
    range: std::ops::Range<usize>,
) -> (Vec<usize>, Vec<&'t str>) {
    let idx: Vec<usize> = range.filter(|&i| toks.tokens()[i].kind.is_matchable()).collect();
    let keys = idx.iter().map(|&i| toks.key(i)).collect();
    (idx, keys)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matcher(cues: &[&str]) -> CueMatcher<usize> {
        let mut m = CueMatcher::default();
        for (i, c) in cues.iter().enumerate() {
            m.add(Pattern::parse(c).unwrap(), i);
        }
        m
    }

    fn found(m: &CueMatcher<usize>, text: &str) -> Vec<(usize, usize, usize)> {
        let toks = tokenize::tokenize(text);
        let (_, keys) = sentence_keys(&toks, 0..toks.tokens().len());
        let mut out = Vec::new();
        m.find_all(&keys, &mut out);
        out.iter().map(|mm| (m.entry(mm.entry).1, mm.start, mm.end)).collect()
    }

    #[test]
    fn exact_phrase_and_prefix() {
        let m = matcher(&["pas terrible", "terrible", "factur*", "est-ce que", "j'adore"]);
        assert_eq!(found(&m, "Pas terrible"), [(0, 0, 2), (1, 1, 2)]);
        assert_eq!(found(&m, "la facturation"), [(2, 1, 2)]);
        assert_eq!(found(&m, "Est ce que"), [(3, 0, 3)]);
        assert_eq!(found(&m, "J’ADORE"), [(4, 0, 2)]);
        assert_eq!(found(&m, "fac"), []);
    }

    #[test]
    fn accent_insensitive() {
        let m = matcher(&["résilier", "resil*"]);
        assert_eq!(found(&m, "RESILIER"), [(0, 0, 1), (1, 0, 1)]);
    }

    /// A matcher over cues of the pattern syntax, with a duration and a number class.
    fn patterns(cues: &[&str]) -> CueMatcher<usize> {
        let mut classes = super::super::pattern::Classes::default();
        classes.define("duration", "(minute*|heure*|jours|semaines)").unwrap();
        classes.define("number", "(<digits>|deux|trois|cinq)").unwrap();
        let mut m = CueMatcher::default();
        for (i, c) in cues.iter().enumerate() {
            for p in super::super::pattern::parse(c, &classes).unwrap() {
                m.add(p, i);
            }
        }
        m
    }

    #[test]
    fn alternatives_and_optional_words() {
        let m = patterns(&["(pas de|aucune) réponse", "rappelé (le jour)? même"]);
        assert_eq!(found(&m, "toujours pas de réponse"), [(0, 1, 4)]);
        assert_eq!(found(&m, "aucune réponse"), [(0, 0, 2)]);
        assert_eq!(found(&m, "pas réponse"), []);
        assert_eq!(found(&m, "rappelé le jour même"), [(1, 0, 4)]);
        assert_eq!(found(&m, "rappelé même"), [(1, 0, 2)]);
        assert_eq!(found(&m, "rappelé le même"), []);
    }

    #[test]
    fn classes_and_digits() {
        let m = patterns(&["<number> <duration> d'attente", "<digits> fois"]);
        assert_eq!(found(&m, "2 heures d'attente"), [(0, 0, 4)]);
        assert_eq!(found(&m, "trois semaines d'attente"), [(0, 0, 4)]);
        assert_eq!(found(&m, "cinq minutes d'attente"), [(0, 0, 4)]);
        assert_eq!(found(&m, "quelques heures d'attente"), []);
        assert_eq!(found(&m, "appelé 12 fois"), [(1, 1, 3)]);
        assert_eq!(found(&m, "appelé douze fois"), []);
        // `heure*` and `heures` would both file the entry under one word: found once.
        let m = patterns(&["(heure*|heures) perdues"]);
        assert_eq!(found(&m, "heures perdues"), [(0, 0, 2)]);
    }

    #[test]
    fn a_gap_spans_zero_to_eight_words_and_the_shortest_match_is_kept() {
        let m = patterns(&["promis ... jamais"]);
        assert_eq!(found(&m, "promis jamais"), [(0, 0, 2)]);
        assert_eq!(found(&m, "on m'a promis un rappel que je n'ai jamais eu"), [(0, 3, 11)]);
        let eight = "promis a b c d e f g h jamais";
        assert_eq!(found(&m, eight), [(0, 0, 10)]);
        assert_eq!(found(&m, "promis a b c d e f g h i jamais"), [], "nine words is too far");
        assert_eq!(found(&m, "promis jamais jamais"), [(0, 0, 2)]);
        // Two gaps: the second `b` after a failed first one still matches.
        let m = patterns(&["a ... b ... c"]);
        // `c` is 9 words after the first `b`, 1 after the second, which is 8 after `a`.
        assert_eq!(found(&m, "a b x x x x x x x b x c"), [(0, 0, 12)]);
        assert_eq!(found(&m, "a b x x x x x x x x b x c"), []);
    }

    #[test]
    fn a_gap_does_not_make_matching_quadratic() {
        // Every `promis` opens a gap that never closes: each start reads at most the pattern's
        // steps, so the words read grow with the text, not its square.
        let m = patterns(&["promis ... jamais ... eu"]);
        let steps = super::steps(&m.entry(0).0).len();
        assert_eq!(steps, 19);
        let reads = |n: usize| {
            let text = "promis ".repeat(n);
            let toks = tokenize::tokenize(&text);
            let (_, keys) = sentence_keys(&toks, 0..toks.tokens().len());
            READS.with(|r| r.set(0));
            let mut out = Vec::new();
            m.find_all(&keys, &mut out);
            assert!(out.is_empty());
            READS.with(|r| r.get())
        };
        let (small, large) = (reads(5_000), reads(20_000));
        assert!(small <= steps * 5_000 && large <= steps * 20_000, "{small} {large}");
        assert!(large <= 5 * small, "{small} words read for 5,000 repeats, {large} for 20,000");
    }

    #[test]
    fn gapped_entries_leave_longest_to_fixed_ones() {
        let m = patterns(&["promis ... jamais", "tout réexpliquer"]);
        assert_eq!(m.longest(), 2);
    }

    #[test]
    fn bad_cues_are_rejected_with_a_reason() {
        assert!(Pattern::parse("").is_err());
        assert!(Pattern::parse("fa*").is_err());
        assert!(Pattern::parse("f*ct").is_err());
        assert!(Pattern::parse("... ...").is_err());
        assert_eq!(Pattern::parse(":-(").unwrap().display(), ":-(");
        assert_eq!(Pattern::parse("l'avion").unwrap().display(), "l'avion");
        assert_eq!(Pattern::parse("factur*").unwrap().display(), "factur*");
    }
}
