//! Normalisation of one token's text into the forms verbatim matches on.
//!
//! The comment itself is never rewritten: every offset refers to the untouched original. Instead
//! each token's slice is normalised on its own, into two forms:
//! - [`lower`]: Unicode NFC, lower-cased, typographic apostrophes made plain (`’` → `'`). This is
//!   what the Snowball stemmer sees (stems depend on accents).
//! - [`fold_into`]: the matching key: [`lower`] with accents removed and ligatures expanded
//!   (`Résiliée` → `resiliee`, `œuvre` → `oeuvre`), so that customers who type without accents
//!   match the same lexicon entries.

use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

/// Apostrophe-like characters customers type, all treated as `'`.
const APOSTROPHES: [char; 5] = ['\u{2019}', '\u{2018}', '\u{02BC}', '\u{0060}', '\u{00B4}'];

/// True for any apostrophe variant, including the plain one.
pub fn is_apostrophe(c: char) -> bool {
    c == '\'' || APOSTROPHES.contains(&c)
}

/// NFC, lower case, plain apostrophes.
pub fn lower(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.nfc() {
        if is_apostrophe(c) {
            out.push('\'');
        } else {
            out.extend(c.to_lowercase());
        }
    }
    out
}

/// Appends the accent-folded matching key of `s` to `out`.
pub fn fold_into(s: &str, out: &mut String) {
    if s.is_ascii() {
        // The common case: no decomposition needed.
        out.extend(s.bytes().map(|b| b.to_ascii_lowercase() as char));
        return;
    }
    for c in s.nfd() {
        if is_combining_mark(c) || c == '\u{FE0F}' || c == '\u{FE0E}' {
            continue; // accents and emoji variation selectors
        }
        match c {
            c if is_apostrophe(c) => out.push('\''),
            'œ' | 'Œ' => out.push_str("oe"),
            'æ' | 'Æ' => out.push_str("ae"),
            'ß' => out.push_str("ss"),
            '…' => out.push_str("..."),
            'ø' | 'Ø' => out.push('o'),
            'ł' | 'Ł' => out.push('l'),
            'đ' | 'Đ' => out.push('d'),
            c => out.extend(c.to_lowercase()),
        }
    }
}

/// The accent-folded matching key of `s`.
pub fn fold(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    fold_into(s, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_accents_case_ligatures_and_apostrophes() {
        assert_eq!(fold("Résiliée"), "resiliee");
        assert_eq!(fold("ŒUVRE"), "oeuvre");
        assert_eq!(fold("aujourd’hui"), "aujourd'hui");
        assert_eq!(fold("CAFÉ"), "cafe");
        // NFD input folds like NFC input.
        assert_eq!(fold("re\u{301}silie\u{301}"), "resilie");
        assert_eq!(fold("👍\u{FE0F}"), "👍");
    }

    #[test]
    fn lower_keeps_accents_and_composes() {
        assert_eq!(lower("RÉSILIER"), "résilier");
        assert_eq!(lower("re\u{301}silier"), "résilier");
        assert_eq!(lower("J’ADORE"), "j'adore");
    }

    #[test]
    fn fold_is_idempotent_on_examples() {
        for s in ["Élodie", "ÇA VA", "naïve", "ß", "déçu…", "Ｆｕｌｌ"] {
            let once = fold(s);
            assert_eq!(fold(&once), once, "fold not idempotent on {s:?}");
        }
    }
}
