//! A fast path for Unicode word segmentation on ASCII runs.
//!
//! Profiling showed UAX #29 segmentation (table lookups per character) as the largest single
//! cost of the pipeline. Most words, French ones included, are plain ASCII, and for ASCII the
//! UAX #29 word rules reduce to a few: letters, digits and `_` join; `:` `.` `'` join two
//! letters; `,` `;` `.` `'` join two digits; every other character stands alone. A property test
//! checks this against `unicode-segmentation` on random ASCII.

/// Segments an ASCII string without whitespace, calling `f(start, end)` for each segment.
pub(crate) fn segment(s: &str, mut f: impl FnMut(usize, usize)) {
    let b = s.as_bytes();
    let n = b.len();
    let mut i = 0;
    while i < n {
        if !is_word(b[i]) {
            f(i, i + 1);
            i += 1;
            continue;
        }
        let mut j = i + 1;
        while j < n {
            if is_word(b[j]) {
                j += 1;
            } else if j + 1 < n && joins(b[j - 1], b[j], b[j + 1]) {
                j += 2;
            } else {
                break;
            }
        }
        f(i, j);
        i = j;
    }
}

fn is_word(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

/// UAX #29 WB6/WB7 (letter mid letter) and WB11/WB12 (digit mid digit).
fn joins(before: u8, mid: u8, after: u8) -> bool {
    (before.is_ascii_alphabetic()
        && after.is_ascii_alphabetic()
        && matches!(mid, b':' | b'.' | b'\''))
        || (before.is_ascii_digit()
            && after.is_ascii_digit()
            && matches!(mid, b',' | b';' | b'.' | b'\''))
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use unicode_segmentation::UnicodeSegmentation;

    fn fast(s: &str) -> Vec<(usize, &str)> {
        let mut out = Vec::new();
        super::segment(s, |a, b| out.push((a, &s[a..b])));
        out
    }

    #[test]
    fn examples() {
        assert_eq!(
            fast("l'avion,3.5;don't_x"),
            [(0, "l'avion"), (7, ","), (8, "3.5"), (11, ";"), (12, "don't_x")]
        );
        assert_eq!(fast("a.1"), [(0, "a"), (1, "."), (2, "1")]);
        assert_eq!(fast("e.g."), [(0, "e.g"), (3, ".")]);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(5000))]
        #[test]
        fn same_as_uax29_on_ascii(s in "[a-zA-Z0-9_:.',;!?()\"@#&<>/-]{0,24}") {
            let reference: Vec<(usize, &str)> = s.split_word_bound_indices().collect();
            prop_assert_eq!(fast(&s), reference);
        }
    }
}
