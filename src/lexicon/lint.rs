//! Warnings about data that loads but is probably not what its author meant: a cue written like
//! a regular expression (`prix|tarif`), the same term twice in one file, the same cue twice in
//! one list. `verbatim check` prints them; they never stop a run.

use std::fmt;

use rustc_hash::FxHashMap;

use super::matcher::{Pattern, WordPat};

/// Something in a data file that loads but is probably a mistake.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataWarning {
    /// The file (override path, or the name of the embedded default).
    pub file: String,
    /// 1-based line number (0 when the warning is about the file or directory as a whole).
    pub line: usize,
    /// What looks wrong and what to do about it.
    pub message: String,
}

impl fmt::Display for DataWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}: {}", self.file, self.message)
        } else {
            write!(f, "{}:{}: {}", self.file, self.line, self.message)
        }
    }
}

/// How a cue is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CueSyntax {
    /// Plain words, with a trailing `*` as the only wildcard (`lexicons/README.md`): every
    /// file but those that declare `syntax = "pattern"`.
    Plain,
    /// A cue of a file that declares `syntax = "pattern"` (`families.toml`): its operators are
    /// meant, so they are not warned about.
    Pattern,
}

/// Characters that mean something in a regular expression but are not words to the tokenizer:
/// in a plain cue they are dropped, so `prix|tarif` silently becomes the phrase "prix tarif".
const REGEX_CHARS: &[char] = &['|', '(', ')', '[', ']', '{', '}', '?', '+', '\\', '^', '$'];

/// Why `cue` (parsed as `pattern`) looks like a regular expression, if it does.
///
/// A cue with no word in it is an emoticon (`:-(`, `(:`), matched whole: its brackets are meant.
/// `*` other than at the end is already an error of [`Pattern::parse`].
pub(crate) fn regex_like(cue: &str, pattern: &Pattern, syntax: CueSyntax) -> Option<String> {
    if syntax == CueSyntax::Pattern || !has_word(pattern) {
        return None;
    }
    let mut found: Vec<char> = cue.chars().filter(|c| REGEX_CHARS.contains(c)).collect();
    if found.is_empty() {
        return None;
    }
    found.dedup();
    let chars: Vec<String> = found.iter().map(|c| format!("`{c}`")).collect();
    Some(format!(
        "cue `{cue}` contains {}: cues are plain words, not regular expressions, so it is \
         matched as `{}` (write one cue per alternative; a trailing `*` is the only wildcard)",
        chars.join(" "),
        pattern.display()
    ))
}

fn has_word(pattern: &Pattern) -> bool {
    pattern.0.iter().any(|w| match w {
        WordPat::Exact(s) | WordPat::Prefix(s) => s.chars().any(char::is_alphanumeric),
        WordPat::AnyOf(_) | WordPat::Digits | WordPat::Gap(_) => true,
    })
}

/// Finds entries of one file or list that read the same once parsed (case, accents, hyphens
/// and apostrophes folded): `résilier` and `Resilier` are one key.
#[derive(Default)]
pub(crate) struct Repeats {
    first: FxHashMap<Pattern, (usize, String)>,
}

impl Repeats {
    /// Notes `pattern` written as `text` on `line`; returns the line and text of its first
    /// occurrence when it was seen before.
    pub fn repeat_of(
        &mut self,
        pattern: &Pattern,
        text: &str,
        line: usize,
    ) -> Option<(usize, &str)> {
        if self.first.contains_key(pattern) {
            return self.first.get(pattern).map(|(l, t)| (*l, t.as_str()));
        }
        self.first.insert(pattern.clone(), (line, text.to_string()));
        None
    }
}

/// "line n" for the first occurrence of a repeated entry, with how it was written there when
/// that differs from `text` (then only folding makes them one).
pub(crate) fn first_occurrence(text: &str, first: (usize, &str)) -> String {
    if first.1 == text {
        format!("line {}", first.0)
    } else {
        format!(
            "line {} (`{}`: the same once case, accents and hyphens are folded)",
            first.0, first.1
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn warn(cue: &str) -> Option<String> {
        regex_like(cue, &Pattern::parse(cue).unwrap(), CueSyntax::Plain)
    }

    #[test]
    fn regex_characters_in_word_cues_warn_and_emoticons_do_not() {
        let w = warn("prix|tarif").expect("warns");
        assert!(w.contains("`|`") && w.contains("matched as `prix tarif`"), "{w}");
        assert!(warn("(re)facturation").unwrap().contains("`(` `)`"));
        assert!(warn("pourquoi ?").is_some());
        assert!(warn("remboursement").is_none());
        assert!(warn("factur*").is_none());
        assert!(warn("j'adore").is_none());
        assert!(warn(":-(").is_none(), "an emoticon is matched whole");
        assert!(warn(":)").is_none());
    }

    #[test]
    fn a_cue_marked_as_pattern_is_not_warned_about() {
        let cue = "prix|tarif";
        let pat = Pattern::parse(cue).unwrap();
        assert!(regex_like(cue, &pat, CueSyntax::Pattern).is_none());
    }

    #[test]
    fn repeats_are_found_after_folding() {
        let mut r = Repeats::default();
        assert_eq!(r.repeat_of(&Pattern::parse("résilier").unwrap(), "résilier", 3), None);
        assert_eq!(r.repeat_of(&Pattern::parse("est ce que").unwrap(), "est ce que", 4), None);
        assert_eq!(
            r.repeat_of(&Pattern::parse("Resilier").unwrap(), "Resilier", 9),
            Some((3, "résilier"))
        );
        assert_eq!(
            r.repeat_of(&Pattern::parse("est-ce que").unwrap(), "est-ce que", 10),
            Some((4, "est ce que"))
        );
        assert_eq!(first_occurrence("a", (3, "a")), "line 3");
        assert!(first_occurrence("A", (3, "a")).starts_with("line 3 (`a`: the same once"));
    }
}
