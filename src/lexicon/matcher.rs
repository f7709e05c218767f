//! Multi-word cue matching over a comment's tokens.
//!
//! Every cue of every kind (sentiment words, modifiers, theme, mode and churn cues) goes into one
//! [`CueMatcher`], so a comment's tokens are looked up once. A cue is a sequence of word patterns,
//! each an exact accent-folded key or a prefix (`factur*`). Candidates are found by the first
//! word (a hash lookup, plus one lookup per possible prefix length), then the rest of the
//! sequence is compared.

use rustc_hash::{FxHashMap, FxHashSet};

use crate::normalize;
use crate::tokenize::{self, Tokens};

/// One word of a cue.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum WordPat {
    Exact(String),
    Prefix(String),
}

impl WordPat {
    fn matches(&self, key: &str) -> bool {
        match self {
            WordPat::Exact(w) => w == key,
            WordPat::Prefix(p) => key.starts_with(p.as_str()),
        }
    }
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
            let last = words.pop().map(|w| match w {
                WordPat::Exact(s) | WordPat::Prefix(s) => s,
            });
            let last = last.unwrap_or_default();
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
        let words: Vec<String> = self
            .0
            .iter()
            .map(|w| match w {
                WordPat::Exact(s) => s.clone(),
                WordPat::Prefix(s) => format!("{s}*"),
            })
            .collect();
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

/// The compiled set of cues. `P` is the payload each entry carries.
#[derive(Debug, Clone)]
pub(crate) struct CueMatcher<P> {
    entries: Vec<(Pattern, P)>,
    exact: FxHashMap<String, Vec<u32>>,
    prefix: FxHashMap<String, Vec<u32>>,
    prefix_lens: Vec<usize>,
    /// The first three characters of every prefix cue: most words have none, and this one
    /// lookup spares them a lookup per prefix length.
    prefix_heads: FxHashSet<String>,
    /// Words in the longest entry: a match ending at word `p` starts after `p - longest`.
    longest: usize,
}

impl<P> Default for CueMatcher<P> {
    fn default() -> Self {
        CueMatcher {
            entries: Vec::new(),
            exact: FxHashMap::default(),
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
        let id = self.entries.len() as u32;
        match &pattern.0[0] {
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
        }
        self.longest = self.longest.max(pattern.0.len());
        self.entries.push((pattern, payload));
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
            let key = keys[start];
            if let Some(ids) = self.exact.get(key) {
                self.extend_at(ids, keys, start, out);
            }
            let head_end = key.char_indices().nth(3).map_or(key.len(), |(i, _)| i);
            if self.prefix_lens.is_empty() || !self.prefix_heads.contains(&key[..head_end]) {
                continue;
            }
            for &n in &self.prefix_lens {
                let Some((cut, _)) = key.char_indices().nth(n - 1) else { break };
                let cut = cut + key[cut..].chars().next().map_or(0, char::len_utf8);
                if let Some(ids) = self.prefix.get(&key[..cut]) {
                    self.extend_at(ids, keys, start, out);
                }
            }
        }
    }

    fn extend_at(&self, ids: &[u32], keys: &[&str], start: usize, out: &mut Vec<Match>) {
        for &id in ids {
            let words = &self.entries[id as usize].0.0;
            let end = start + words.len();
            if end <= keys.len() && words.iter().zip(&keys[start..end]).all(|(w, k)| w.matches(k)) {
                out.push(Match { entry: id, start, end });
            }
        }
    }
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
