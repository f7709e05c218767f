//! French identifiers with a mod-97 key: the NIR (social security number) and the RIB (bank
//! account). Both have a fixed layout, so separators are only accepted between their groups,
//! and the key must match: a random number of the right length passes 1 time in 97.

use super::scan::{Range, Run, is_group_sep_or_dot, number_starts};

// ---------------------------------------------------------------- NIR

/// Sex (1), year (2), month (2), department (2), commune (3), order (3), key (2).
const NIR_LEN: usize = 15;
/// Character positions where a separator may stand: between the groups above.
const NIR_SEPS: [usize; 6] = [1, 3, 5, 7, 10, 13];

/// The first digit, the sex: 1 and 2 are men and women; 3 and 4 are also issued (persons born
/// abroad, in older numbers), 7 and 8 are temporary numbers.
const NIR_FIRST: &[u8] = b"123478";

/// NIRs (`1 84 12 75 123 456 40`, `184127512345640`, Corsica `2 90 05 2A 004 123 52`) whose
/// key checks.
pub(super) fn nirs(text: &str) -> Vec<Range> {
    fixed_layout(text, NIR_LEN, &NIR_SEPS, NIR_FIRST, nir_ok)
}

/// Identifiers of `len` ASCII letters or digits starting with one of the `first` digits at a
/// token start, with separators only before the positions in `seps`, that `valid` accepts.
fn fixed_layout(
    text: &str,
    len: usize,
    seps: &[usize],
    first: &[u8],
    valid: fn(&[char]) -> bool,
) -> Vec<Range> {
    let mut out = Vec::new();
    let mut pos = 0;
    for (start, digit) in number_starts(text) {
        if start < pos || !first.contains(&digit) {
            continue;
        }
        let run = Run::scan(text, start, len, |c| c.is_ascii_alphanumeric(), is_group_sep_or_dot);
        let found = run.chars.len() == len
            && run.boundary_after(text, len)
            && run.seps_only_at(len, seps)
            && valid(&run.chars);
        if found {
            pos = run.ends[len - 1];
            out.push((start, pos));
        }
    }
    out
}

/// The key is 97 minus the first 13 digits modulo 97, Corsica's `2A` and `2B` read as 19 and
/// 18 (INSEE). Letters anywhere else, or a malformed department, reject the number.
pub(super) fn nir_ok(chars: &[char]) -> bool {
    if chars.len() != NIR_LEN || !matches!(chars[0], '1' | '2' | '3' | '4' | '7' | '8') {
        return false;
    }
    let mut rem: u64 = 0;
    for (i, &c) in chars[..13].iter().enumerate() {
        let v = match (i, c) {
            (5, '2') if matches!(chars[6], 'A' | 'B') => 1,
            (6, 'A') if chars[5] == '2' => 9,
            (6, 'B') if chars[5] == '2' => 8,
            (_, c) => match c.to_digit(10) {
                Some(d) => u64::from(d),
                None => return false,
            },
        };
        rem = (rem * 10 + v) % 97;
    }
    two_digits(chars[13], chars[14]) == Some(97 - rem)
}

fn two_digits(a: char, b: char) -> Option<u64> {
    Some(u64::from(a.to_digit(10)? * 10 + b.to_digit(10)?))
}

// ---------------------------------------------------------------- RIB

/// Bank (5 digits), branch (5 digits), account (11 letters or digits), key (2 digits).
const RIB_LEN: usize = 23;
const RIB_SEPS: [usize; 3] = [5, 10, 21];

/// RIBs (`30006 00001 12345678901 89`, with or without spaces) whose key checks.
pub(super) fn ribs(text: &str) -> Vec<Range> {
    fixed_layout(text, RIB_LEN, &RIB_SEPS, b"0123456789", rib_ok)
}

/// Letters of a RIB account number read as digits (French banking standard): A-I are 1-9,
/// J-R are 1-9 again, S-Z are 2-9.
const RIB_LETTERS: &[u8; 26] = b"12345678912345678923456789";

/// The key is `97 - (89 × bank + 15 × branch + 3 × account) mod 97`; bank, branch and key
/// must be digits, the account may hold letters.
pub(super) fn rib_ok(chars: &[char]) -> bool {
    if chars.len() != RIB_LEN {
        return false;
    }
    let number = |part: &[char], letters: bool| -> Option<u64> {
        part.iter().try_fold(0u64, |acc, &c| {
            let d = match c.to_digit(10) {
                Some(d) => u64::from(d),
                None if letters && c.is_ascii_uppercase() => {
                    let idx = usize::from(c as u8 - b'A');
                    u64::from(RIB_LETTERS.get(idx)? - b'0')
                }
                None => return None,
            };
            Some(acc * 10 + d)
        })
    };
    let (Some(bank), Some(branch), Some(account), Some(key)) = (
        number(&chars[..5], false),
        number(&chars[5..10], false),
        number(&chars[10..21], true),
        two_digits(chars[21], chars[22]),
    ) else {
        return false;
    };
    // 89 × 99,999 + 15 × 99,999 + 3 × 99,999,999,999 is far below u64::MAX.
    97 - (89 * bank + 15 * branch + 3 * account) % 97 == key
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chars(s: &str) -> Vec<char> {
        s.chars().filter(|c| !c.is_whitespace()).collect()
    }

    /// The NIR key computed independently of [`nir_ok`], as INSEE states it.
    fn nir_key(first13: &str) -> u64 {
        let n: u64 = first13.replace("2A", "19").replace("2B", "18").parse().unwrap_or(0);
        97 - n % 97
    }

    #[test]
    fn nir_keys() {
        // INSEE's published example, then a man born in Paris and two Corsicans.
        assert!(nir_ok(&chars("2 55 08 14 168 025 38")));
        assert!(nir_ok(&chars("1 84 12 75 123 456 40")));
        assert!(nir_ok(&chars("2 90 05 2A 004 123 52")));
        assert!(nir_ok(&chars("1 81 12 2B 033 123 06")));
        assert_eq!(nir_key("290052A004123"), 52);
        assert_eq!(nir_key("181122B033123"), 6);
        // One digit off, a wrong key, letters out of place.
        assert!(!nir_ok(&chars("1 84 12 75 123 456 78")));
        assert!(!nir_ok(&chars("1 84 12 75 123 457 40")));
        assert!(!nir_ok(&chars("1 84 12 2C 123 456 40")));
        assert!(!nir_ok(&chars("1 84 12 A2 123 456 40")));
        assert!(!nir_ok(&chars("1 84 12 75")));
        // A valid key but no such first digit.
        assert!(!nir_ok(&chars("5 84 12 75 123 456 34")));
    }

    #[test]
    fn nir_key_rejects_99_numbers_in_100() {
        // One key in 100 fits each 13-digit prefix, so 100,000 consecutive 15-digit numbers
        // hold 1,000 passes.
        let base = 184_127_512_300_000u64;
        let passed = (0..100_000u64)
            .filter(|i| nir_ok(&(base + i).to_string().chars().collect::<Vec<_>>()))
            .count();
        assert_eq!(passed, 1000);
    }

    #[test]
    fn rib_keys() {
        // The RIB inside the IBAN FR76 3000 6000 0112 3456 7890 189.
        assert!(rib_ok(&chars("30006 00001 12345678901 89")));
        // An account with a letter: K reads as 2.
        assert!(rib_ok(&chars("10278 08000 00012345K01 21")));
        assert!(!rib_ok(&chars("30006 00001 12345678901 88")));
        assert!(!rib_ok(&chars("3000A 00001 12345678901 89")));
        assert!(!rib_ok(&chars("30006 00001 1234567890")));
    }

    #[test]
    fn rib_letters_follow_the_standard_table() {
        let read = |c: char| RIB_LETTERS[usize::from(c as u8 - b'A')] - b'0';
        assert_eq!([read('A'), read('J'), read('I'), read('R')], [1, 1, 9, 9]);
        assert_eq!([read('B'), read('K'), read('S'), read('Z')], [2, 2, 2, 9]);
    }
}
