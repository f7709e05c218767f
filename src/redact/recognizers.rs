//! One recogniser per kind of PII. Each returns candidate `(start, end)` byte ranges; the caller
//! ([`super::Redactor::find`]) resolves overlaps between kinds.
//!
//! Regexes only find *shapes*; anything with a checksum (IBAN mod-97, card Luhn) is validated in
//! code, because a shape alone masks too many order numbers and too few real numbers. The
//! French NIR and RIB are in [`super::french`].

use std::sync::LazyLock;

use regex::Regex;

use super::context::{Role, role_before};
use super::scan::{
    Range, Run, glued_after, glued_before, is_group_sep, is_group_sep_or_dot, next_char,
    number_starts,
};

// ---------------------------------------------------------------- e-mail

/// Unicode letters are allowed in the local part: with an ASCII-only class,
/// `rené.dupont@orange.fr` would be masked from `.dupont` on and leak the first name.
static EMAIL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"[\p{L}\p{N}_%+\-][\p{L}\p{N}._%+\-]*@[\p{L}\p{N}\-]+(?:\.[\p{L}\p{N}\-]+)*\.\p{L}{2,}",
    )
    .expect("constant e-mail pattern compiles")
});

/// E-mail addresses (no validation beyond the shape: there is no checksum to run).
pub(super) fn emails(text: &str) -> Vec<Range> {
    EMAIL.find_iter(text).map(|m| (m.start(), m.end())).collect()
}

// ---------------------------------------------------------------- phone

/// Phone shapes. `S` in the comments is one optional separator (space, dot, dash, no-break
/// space), `R` a required one. Slashes only separate the five pairs of a French number
/// (`06/12/34/56/78`): a date (`12/03/2025`) has three groups, not five. Every pattern needs at
/// least 10 digits except the generic international one (8-15, counted in code).
static PHONES: LazyLock<[Regex; 4]> = LazyLock::new(|| {
    const S: &str = r"[ .\-\u{a0}\u{202f}]?";
    const R: &str = r"[ .\-\u{a0}\u{202f}]";
    // An ASCII word boundary: a Unicode `\b` sends the regex engine to its slow path on any
    // accented comment (it was half the redactor's time). `phones` rejects a match glued to a
    // non-ASCII letter in code.
    const B: &str = r"(?-u:\b)";
    // Alternatives of one shape share a regex: each regex is one more pass over every comment.
    let patterns = [
        // French national: ten digits starting 0[1-9], in any grouping (`06 12 34 56 78`,
        // `0892 020 423`, `0 980 980 880`), separators optional, or in slash-separated pairs.
        // Must stay first: see [`FR_NATIONAL`].
        format!(r"(?:0{S}[1-9](?:{S}[0-9]){{8}}|0[1-9](?:/[0-9]{{2}}){{4}}){B}"),
        // French international: +33 6…, 0033 6…, +33 (0)6…, and `33 6 12 34 56 78` without
        // `+` or `00`, whose separators are then required so that an 11-digit reference
        // starting 33 is not taken for a phone.
        format!(
            r"(?:(?:\+|00)33{S}(?:\(0\){S})?[1-9](?:{S}[0-9]{{2}}){{4}}|33{R}(?:\(0\){S})?[1-9](?:{R}[0-9]{{2}}){{4}}){B}"
        ),
        // North American: (555) 010-0199, 555-010-0199, 1-800-433-7300, +1 555 010 0199.
        // Without `+1` the groups need separators, so that a 10-digit order number is not
        // taken for a phone.
        format!(
            r"(?:\+1{S}\(?[0-9]{{3}}\)?{S}[0-9]{{3}}{S}[0-9]{{4}}|(?:1[ .\-])?(?:\([0-9]{{3}}\){S}|[2-9][0-9]{{2}}[ .\-])[0-9]{{3}}[ .\-][0-9]{{4}}){B}"
        ),
        // Generic international: +CC then groups; the digit count is checked in code.
        format!(r"\+[1-9][0-9]{{0,3}}(?:{S}(?:\([0-9]{{1,4}}\)|[0-9]{{1,5}}))+{B}"),
    ];
    patterns.map(|p| Regex::new(&p).expect("constant phone pattern compiles"))
});

/// The index in [`PHONES`] of the French national shape, the only one a bare digit run can
/// take: `0612345678` after `client n°` or in a `customer` column is a customer number.
const FR_NATIONAL: usize = 0;

/// Phone numbers of every shape in [`PHONES`]; candidates of different shapes may overlap.
/// `label` names the metadata column the text comes from, if any (see [`role_before`]).
pub(super) fn phones(text: &str, label: Option<&str>) -> Vec<Range> {
    let mut out = Vec::new();
    for (shape, re) in PHONES.iter().enumerate() {
        let mut pos = 0;
        while let Some(m) = re.find_at(text, pos) {
            let (start, end) = (m.start(), m.end());
            if glued_before(text, start) {
                // Retry one character further: a shorter match may start inside this one.
                pos = next_char(text, start);
                continue;
            }
            pos = end;
            if glued_after(text, end)
                || shape == FR_NATIONAL && is_bare_reference(text, start, end, label)
            {
                continue;
            }
            let kept = trim_international(&text[start..end]).map(|len| start + len);
            if let Some(end) = kept.filter(|&end| !followed_by_unit(text, end)) {
                out.push((start, end));
            }
        }
    }
    out
}

/// A run of ten digits without separators after a reference word (`client n° 0123456789`,
/// `dossier 0612345678`). Customers write their phone number in pairs far more often than
/// their file number, and reference numbers are never grouped, so a grouped number stays a
/// phone whatever precedes it.
fn is_bare_reference(text: &str, start: usize, end: usize, label: Option<&str>) -> bool {
    text[start..end].bytes().all(|b| b.is_ascii_digit())
        && role_before(text, start, label) == Some(Role::Reference)
}

/// `+1 250 000 €`, `+15 000 000 %`: a currency or percent sign after the digits makes them an
/// amount, whatever their grouping.
fn followed_by_unit(text: &str, end: usize) -> bool {
    let rest = text[end..].trim_start_matches([' ', '\u{a0}', '\u{202f}']);
    rest.starts_with(['€', '$', '£', '%'])
}

/// ITU-T E.164 numbers have at most 15 digits. A `+` match longer than that probably ran
/// into a following number: keep the longest prefix, ending on a digit group, with 8 to 15
/// digits. The minimum is 8, not E.164's 7, because `+1 250 000` in a comment is far more
/// often a sum than a phone in the few countries with 7-digit numbers. Matches without `+`
/// pass unchanged. Returns the kept length in bytes.
fn trim_international(m: &str) -> Option<usize> {
    if !m.starts_with('+') {
        return Some(m.len());
    }
    let mut digits = 0;
    let mut best = None;
    let mut chars = m.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if c.is_ascii_digit() {
            digits += 1;
            let group_ends = chars.peek().is_none_or(|&(_, n)| !n.is_ascii_digit());
            if group_ends && (8..=15).contains(&digits) {
                best = Some(i + 1);
            }
        }
    }
    best
}

// ---------------------------------------------------------------- IBAN

/// Country code and total IBAN length from the ISO 13616 registry (SWIFT, 2024). A known
/// country must have exactly this length; that rejects most accidental mod-97 passes.
const IBAN_LENGTHS: &[(&str, usize)] = &[
    ("AD", 24),
    ("AE", 23),
    ("AL", 28),
    ("AT", 20),
    ("AZ", 28),
    ("BA", 20),
    ("BE", 16),
    ("BG", 22),
    ("BH", 22),
    ("BR", 29),
    ("BY", 28),
    ("CH", 21),
    ("CR", 22),
    ("CY", 28),
    ("CZ", 24),
    ("DE", 22),
    ("DK", 18),
    ("DO", 28),
    ("EE", 20),
    ("EG", 29),
    ("ES", 24),
    ("FI", 18),
    ("FO", 18),
    ("FR", 27),
    ("GB", 22),
    ("GE", 22),
    ("GI", 23),
    ("GL", 18),
    ("GR", 27),
    ("GT", 28),
    ("HR", 21),
    ("HU", 28),
    ("IE", 22),
    ("IL", 23),
    ("IQ", 23),
    ("IS", 26),
    ("IT", 27),
    ("JO", 30),
    ("KW", 30),
    ("KZ", 20),
    ("LB", 28),
    ("LC", 32),
    ("LI", 21),
    ("LT", 20),
    ("LU", 20),
    ("LV", 21),
    ("MC", 27),
    ("MD", 24),
    ("ME", 22),
    ("MK", 19),
    ("MR", 27),
    ("MT", 31),
    ("MU", 30),
    ("NL", 18),
    ("NO", 15),
    ("PK", 24),
    ("PL", 28),
    ("PS", 29),
    ("PT", 25),
    ("QA", 29),
    ("RO", 24),
    ("RS", 22),
    ("SA", 24),
    ("SC", 31),
    ("SE", 24),
    ("SI", 19),
    ("SK", 24),
    ("SM", 27),
    ("ST", 25),
    ("SV", 28),
    ("TL", 23),
    ("TN", 24),
    ("TR", 26),
    ("UA", 29),
    ("VA", 22),
    ("VG", 24),
    ("XK", 20),
];

/// Where an IBAN may start: two letters and two check digits at a word start.
/// The boundary is ASCII for speed (see [`PHONES`]); `ibans` rejects a start glued to a
/// non-ASCII letter.
static IBAN_START: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?-u:\b)[A-Za-z]{2}[0-9]{2}").expect("constant IBAN pattern compiles")
});

/// IBANs of any country, with or without spaces, that pass the ISO 13616 mod-97 check.
pub(super) fn ibans(text: &str) -> Vec<Range> {
    let mut out = Vec::new();
    let mut pos = 0;
    while let Some(m) = IBAN_START.find_at(text, pos) {
        pos = m.end();
        if text[..m.start()].chars().next_back().is_some_and(char::is_alphanumeric) {
            continue;
        }
        let run = Run::scan(text, m.start(), 34, |c| c.is_ascii_alphanumeric(), is_group_sep);
        // The match is two ASCII letters then two digits, so slicing at 2 is on a boundary.
        let (country, _) = m.as_str().split_at(2);
        let known =
            IBAN_LENGTHS.iter().find(|(c, _)| c.eq_ignore_ascii_case(country)).map(|&(_, n)| n);
        // Unknown country codes are only accepted when written in capitals, so that a word
        // such as `to12…` does not start an IBAN.
        let lengths = match known {
            Some(n) => n..=n,
            None if country.chars().all(|c| c.is_ascii_uppercase()) => 15..=34,
            None => continue,
        };
        let found = lengths
            .rev()
            .filter(|&n| n <= run.chars.len() && run.boundary_after(text, n))
            .find(|&n| iban_checksum_ok(&run.chars[..n]));
        if let Some(n) = found {
            out.push((m.start(), run.ends[n - 1]));
            pos = run.ends[n - 1];
        }
    }
    out
}

/// ISO 13616 check: move the first four characters to the end, read letters as 10..35,
/// and the number must be 1 modulo 97. Computed digit by digit so it never overflows.
pub(super) fn iban_checksum_ok(chars: &[char]) -> bool {
    if chars.len() < 5 {
        return false;
    }
    let mut rem: u32 = 0;
    for &c in chars[4..].iter().chain(&chars[..4]) {
        let Some(v) = c.to_digit(36) else { return false };
        rem = if v < 10 { (rem * 10 + v) % 97 } else { (rem * 100 + v) % 97 };
    }
    rem == 1
}

// ---------------------------------------------------------------- payment card

/// A SIRET (a company's id: SIREN 9 digits + NIC 5) is Luhn-valid by construction.
const SIRET_LEN: usize = 14;

/// Card numbers: 13-19 digits, Luhn-valid, written whole or grouped as cards are printed
/// (see [`card_grouping`]) with single spaces, dashes or dots. A bare 14-digit run after
/// `SIRET` (or a `siret` column) is a SIRET; grouped `732 829 320 00074`, it fails the grouping.
pub(super) fn cards(text: &str, label: Option<&str>) -> Vec<Range> {
    let mut out = Vec::new();
    let mut pos = 0;
    for (start, first) in number_starts(text) {
        // No card range begins with 0, which also keeps `0033 …` and `06 …` phones out.
        if start < pos || first == b'0' {
            continue;
        }
        let run = Run::scan(text, start, 19, |c| c.is_ascii_digit(), is_group_sep_or_dot);
        let found = (13..=run.chars.len())
            .rev()
            .filter(|&n| run.boundary_after(text, n) && card_grouping(&run.groups(n)))
            .find(|&n| luhn_ok(&run.chars[..n]));
        let Some(n) = found else {
            // Scanning resumes at the next word start, which may be this run's next group:
            // `le 3 4970 1012 3456 7893` holds a card after the `3`.
            continue;
        };
        pos = run.ends[n - 1];
        let siret = n == SIRET_LEN && role_before(text, start, label) == Some(Role::Company);
        if !siret {
            out.push((start, pos));
        }
    }
    out
}

/// The groupings cards are printed in: whole, fours with a shorter last group (Visa,
/// Mastercard, 19-digit Maestro), 4-6-5 (Amex) and 4-6-4 (Diners). Anything else (a SIRET's
/// 3-3-3-5, an amount's thousands) is not a card however its digits add up.
fn card_grouping(groups: &[usize]) -> bool {
    match groups {
        [_] | [4, 6, 4] | [4, 6, 5] => true,
        [init @ .., last] => {
            init.len() >= 3 && init.iter().all(|&g| g == 4) && (1..=4).contains(last)
        }
        [] => false,
    }
}

/// Luhn (mod 10) check over ASCII digits.
pub(super) fn luhn_ok(digits: &[char]) -> bool {
    let mut sum = 0;
    for (i, d) in digits.iter().rev().enumerate() {
        let Some(mut v) = d.to_digit(10) else { return false };
        if i % 2 == 1 {
            v *= 2;
            if v > 9 {
                v -= 9;
            }
        }
        sum += v;
    }
    !digits.is_empty() && sum % 10 == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chars(s: &str) -> Vec<char> {
        s.chars().filter(|c| !c.is_whitespace()).collect()
    }

    #[test]
    fn luhn_known_values() {
        assert!(luhn_ok(&chars("4111111111111111")));
        assert!(luhn_ok(&chars("378282246310005")));
        assert!(!luhn_ok(&chars("4111111111111112")));
        assert!(!luhn_ok(&[]));
    }

    #[test]
    fn iban_checksum_known_values() {
        assert!(iban_checksum_ok(&chars("FR76 3000 6000 0112 3456 7890 189")));
        assert!(iban_checksum_ok(&chars("GB82 WEST 1234 5698 7654 32")));
        assert!(!iban_checksum_ok(&chars("FR76 3000 6000 0112 3456 7890 188")));
        assert!(!iban_checksum_ok(&chars("FR7")));
    }

    #[test]
    fn international_trim_keeps_e164_length() {
        // 11 digits, nothing to trim.
        assert_eq!(trim_international("+44 20 7946 0958"), Some(16));
        // 17 digits: the last group is dropped.
        assert_eq!(trim_international("+44 20 7946 0958 12345"), Some(16));
        // Too short to be a phone number.
        assert_eq!(trim_international("+49 12 345"), None);
    }

    #[test]
    fn card_groupings() {
        assert!(card_grouping(&[16]) && card_grouping(&[4, 4, 4, 4]) && card_grouping(&[4, 6, 5]));
        assert!(card_grouping(&[4, 4, 4, 1]) && card_grouping(&[4, 4, 4, 4, 3]));
        assert!(!card_grouping(&[3, 3, 3, 5]) && !card_grouping(&[4, 4, 6]));
        assert!(!card_grouping(&[2, 4, 4, 4, 4]) && !card_grouping(&[]));
    }

    #[test]
    fn iban_lengths_table_is_consistent() {
        for (c, n) in IBAN_LENGTHS {
            assert!(c.len() == 2 && (15..=34).contains(n), "{c} {n}");
        }
    }
}
