//! What the words just before a number say it is (`lexicons/redact/context_words.tsv`).
//!
//! A bare `0612345678` is a phone number's shape, but after `client n°` it is a customer
//! number; a bare 14-digit Luhn-valid run is a card's shape, but after `SIRET` it is a
//! company's id. Only bare runs ask: grouped phone numbers and cards are masked whatever
//! precedes them.

use std::sync::LazyLock;

use rustc_hash::FxHashMap;

use crate::error::Error;
use crate::normalize;

/// The embedded word list and the name used in its error messages.
const FILE: &str = "lexicons/redact/context_words.tsv";
const TEXT: &str = include_str!("../../lexicons/redact/context_words.tsv");

/// Non-word characters allowed between two context words or before the number (`client : n° `,
/// `réf. : `). A longer gap means the word belongs to something else.
const MAX_GAP: usize = 5;

/// `number` words skipped between the reference word and the digits (`client numéro n° …`).
const MAX_NUMBER_WORDS: usize = 2;

/// What a context word says about the number after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Role {
    /// A customer, contract, claim, order… number: not a phone.
    Reference,
    /// "number" (`n°`, `numéro`, `no`): looked through to the word before.
    Number,
    /// SIRET, SIREN, VAT: a company's id, not a card.
    Company,
    /// A phone whatever the reference word in it says (`service client 0970809070`).
    Phone,
}

impl Role {
    fn parse(s: &str) -> Option<Role> {
        match s {
            "reference" => Some(Role::Reference),
            "number" => Some(Role::Number),
            "company" => Some(Role::Company),
            "phone" => Some(Role::Phone),
            _ => None,
        }
    }
}

/// Accent-folded, lower-case word or two-word phrase (one space between) → role.
#[derive(Debug, Default)]
pub(super) struct ContextWords {
    roles: FxHashMap<String, Role>,
}

/// The embedded list, parsed once. It is part of the binary and checked by a unit test, so a
/// parse failure is a build defect, like a constant regex that does not compile.
static WORDS: LazyLock<ContextWords> = LazyLock::new(|| {
    ContextWords::parse(FILE, TEXT).expect("the embedded context word list parses")
});

impl ContextWords {
    /// Parses `term<TAB>role` lines, a term being one word or two; `#` lines and blank lines
    /// are skipped.
    pub(super) fn parse(file: &str, text: &str) -> Result<ContextWords, Error> {
        let mut roles = FxHashMap::default();
        for (i, line) in text.lines().enumerate() {
            let line = line.trim_end_matches('\r');
            if line.trim().is_empty() || line.starts_with('#') {
                continue;
            }
            let bad = |message: String| Error::data(file, i + 1, message);
            let Some((term, role)) = line.split_once('\t') else {
                return Err(bad(format!("expected `term<TAB>role`, found {line:?}")));
            };
            let Some(role) = Role::parse(role.trim()) else {
                return Err(bad(format!(
                    "unknown role {role:?} (expected reference, number, company or phone)"
                )));
            };
            let words: Vec<&str> = term.split_whitespace().collect();
            let is_word = |w: &&str| w.chars().all(char::is_alphanumeric);
            if !(1..=2).contains(&words.len()) || !words.iter().all(is_word) {
                return Err(bad(format!("{term:?} is not one or two words of letters and digits")));
            }
            let key = words.iter().map(|w| normalize::fold(w)).collect::<Vec<_>>().join(" ");
            if roles.insert(key, role).is_some() {
                return Err(bad(format!("{term:?} is listed twice")));
            }
        }
        Ok(ContextWords { roles })
    }

    /// The role of the words that end just before `start`, looking through `number` words: the
    /// first other word decides, or the two-word phrase it ends if that is listed.
    /// When the text before `start` holds no decisive word, `label` (a metadata column's name,
    /// such as `customer` or `contrat_id`) is read as if it came before the text.
    pub(super) fn role_before(
        &self,
        text: &str,
        start: usize,
        label: Option<&str>,
    ) -> Option<Role> {
        // The number words, the deciding word and the one before it.
        let want = MAX_NUMBER_WORDS + 2;
        let mut words = Vec::with_capacity(want);
        let reached_start = words_before(&text[..start], want, &mut words);
        if let Some(label) = label.filter(|_| reached_start && words.len() < want) {
            words_before(label, want, &mut words);
        }
        let folded: Vec<String> = words.iter().map(|w| normalize::fold(w)).collect();
        let mut skipped = 0;
        for (i, word) in folded.iter().enumerate() {
            let role = self.roles.get(word).copied();
            if role == Some(Role::Number) {
                if skipped == MAX_NUMBER_WORDS {
                    return None;
                }
                skipped += 1;
                continue;
            }
            let phrase = folded.get(i + 1).and_then(|w| self.roles.get(&format!("{w} {word}")));
            return phrase.copied().or(role);
        }
        None
    }
}

/// [`ContextWords::role_before`] with the embedded list.
pub(super) fn role_before(text: &str, start: usize, label: Option<&str>) -> Option<Role> {
    WORDS.role_before(text, start, label)
}

/// Pushes the words at the end of `s`, last first, until `out` holds `want` words. Stops early
/// at a gap of more than [`MAX_GAP`] non-word characters; returns true when it reached the
/// start of `s` without such a gap (so words before `s` may still count).
fn words_before<'s>(s: &'s str, want: usize, out: &mut Vec<&'s str>) -> bool {
    let mut end = s.len();
    while out.len() < want {
        let before = &s[..end];
        let word_end = before.trim_end_matches(|c: char| !c.is_alphanumeric()).len();
        if before[word_end..].chars().count() > MAX_GAP {
            return false;
        }
        if word_end == 0 {
            return true;
        }
        let word_start = before[..word_end].trim_end_matches(char::is_alphanumeric).len();
        out.push(&s[word_start..word_end]);
        end = word_start;
    }
    // Enough words; whether more text comes before does not matter.
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn role(text: &str) -> Option<Role> {
        role_before(text, text.len(), None)
    }

    #[test]
    fn embedded_list_parses_and_its_header_counts_its_entries() {
        let parsed = ContextWords::parse(FILE, TEXT);
        assert!(parsed.is_ok(), "{parsed:?}");
        let entries = TEXT.lines().filter(|l| !l.is_empty() && !l.starts_with('#')).count();
        assert!(TEXT.contains(&format!("# entries: {entries}\n")), "header count is stale");
    }

    #[test]
    fn reference_words_through_number_words() {
        assert_eq!(role("client n° "), Some(Role::Reference));
        assert_eq!(role("Numéro de CLIENT : "), Some(Role::Reference));
        assert_eq!(role("réf. "), Some(Role::Reference));
        assert_eq!(role("my policy no. "), Some(Role::Reference));
        assert_eq!(role("order #"), Some(Role::Reference));
        assert_eq!(role("n° SIRET "), Some(Role::Company));
    }

    #[test]
    fn a_listed_phrase_overrides_its_last_word() {
        // Seen in the insurance reviews: the customer service's number is a phone.
        assert_eq!(role("j'appelle le service client "), Some(Role::Phone));
        assert_eq!(role("le Service Clients au "), None);
        assert_eq!(role("pour le SERVICE CLIENTS : "), Some(Role::Phone));
        assert_eq!(role("mon numéro client "), Some(Role::Reference));
    }

    #[test]
    fn phone_words_and_far_words_are_not_references() {
        assert_eq!(role("mon n° "), None);
        assert_eq!(role("n° de portable "), None);
        assert_eq!(role("appelez le "), None);
        // The word is too far from the number to be its label.
        assert_eq!(role("client .......... "), None);
        // Three number words: the reference word is out of reach.
        assert_eq!(role("client n° no num "), None);
        assert_eq!(role(""), None);
    }

    #[test]
    fn a_column_name_counts_as_the_word_before() {
        assert_eq!(role_before("0612345678", 0, Some("customer")), Some(Role::Reference));
        assert_eq!(role_before("0612345678", 0, Some("contrat_id")), Some(Role::Reference));
        assert_eq!(role_before("0612345678", 0, Some("telephone")), None);
        // A decisive word in the value itself wins over the column name.
        assert_eq!(role_before("tel 0612345678", 4, Some("customer")), None);
    }

    #[test]
    fn bad_lines_are_clear_errors() {
        let err = |text: &str| ContextWords::parse("t.tsv", text).err().map(|e| e.to_string());
        let msg = err("# h\nclient\n").unwrap_or_default();
        assert!(
            msg.contains("t.tsv") && msg.contains('2') && msg.contains("term<TAB>role"),
            "{msg}"
        );
        assert!(err("client\tmobile\n").unwrap_or_default().contains("unknown role"));
        assert!(err("n°\tnumber\n").unwrap_or_default().contains("not one or two words"));
        assert!(err("a b c\tphone\n").unwrap_or_default().contains("not one or two words"));
        assert!(err("ref\treference\nréf\treference\n").unwrap_or_default().contains("twice"));
    }
}
