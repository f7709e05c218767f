//! Shared pieces of the recognisers: token boundaries and digit-group runs.

/// A byte range `start..end` into the scanned text.
pub(super) type Range = (usize, usize);

/// Separators accepted inside an IBAN. French typography puts a (narrow) no-break space
/// between digit groups, so those count like a plain space.
pub(super) fn is_group_sep(c: char) -> bool {
    matches!(c, ' ' | '-' | '\u{a0}' | '\u{202f}')
}

/// Separators accepted inside a card, NIR or RIB: those of an IBAN and the dot
/// (`4970.1012.3456.7893`). These kinds check where the groups fall, so a sentence's full stop
/// cannot join two unrelated numbers into one.
pub(super) fn is_group_sep_or_dot(c: char) -> bool {
    c == '.' || is_group_sep(c)
}

/// Byte offsets (and bytes) of the ASCII digits that start a token: the character before is
/// not alphanumeric, `_` or `+` (see [`glued_before`]). A byte loop rather than a regex
/// `\b[0-9]`: a Unicode word boundary sends the regex engine to its slow path on accented
/// text, and this runs for every comment.
pub(super) fn number_starts(text: &str) -> impl Iterator<Item = (usize, u8)> + '_ {
    let bytes = text.as_bytes();
    bytes.iter().enumerate().filter_map(move |(i, &b)| {
        let after_digit =
            i.checked_sub(1).and_then(|p| bytes.get(p)).is_some_and(u8::is_ascii_digit);
        // A digit byte is always a char boundary, so `glued_before` may slice there.
        let starts = b.is_ascii_digit()
            && !after_digit
            && !glued_before(text, i)
            && !text[..i].ends_with('_');
        starts.then_some((i, b))
    })
}

/// True when the character just before `start` would glue the match to a longer token.
pub(super) fn glued_before(text: &str, start: usize) -> bool {
    text[..start].chars().next_back().is_some_and(|c| c.is_alphanumeric() || c == '+')
}

/// True when the character at `end` would glue the match to a longer token.
pub(super) fn glued_after(text: &str, end: usize) -> bool {
    text[end..].chars().next().is_some_and(char::is_alphanumeric)
}

/// The byte offset of the character after the one at `i`.
pub(super) fn next_char(text: &str, i: usize) -> usize {
    text[i..].chars().next().map_or(text.len(), |c| i + c.len_utf8())
}

/// A run of ASCII alphanumerics with at most one separator between them, as written in
/// `FR76 3000 6000 …` or `4970-1000-0000-0001`.
pub(super) struct Run {
    /// Upper-cased alphanumerics, separators removed.
    pub(super) chars: Vec<char>,
    /// `ends[i]` is the byte offset just after `chars[i]`.
    pub(super) ends: Vec<usize>,
}

impl Run {
    /// Collects at most `max` characters accepted by `ok` from `start`, with single
    /// characters accepted by `sep` between them.
    pub(super) fn scan(
        text: &str,
        start: usize,
        max: usize,
        ok: fn(char) -> bool,
        sep: fn(char) -> bool,
    ) -> Run {
        let mut run = Run { chars: Vec::new(), ends: Vec::new() };
        let mut after_sep = false;
        for (i, c) in text[start..].char_indices() {
            if ok(c) {
                run.chars.push(c.to_ascii_uppercase());
                run.ends.push(start + i + c.len_utf8());
                after_sep = false;
                if run.chars.len() == max {
                    break;
                }
            } else if sep(c) && !after_sep && !run.chars.is_empty() {
                after_sep = true;
            } else {
                break;
            }
        }
        run
    }

    /// True when the run can stop after `n` characters: the next character is not glued to it.
    pub(super) fn boundary_after(&self, text: &str, n: usize) -> bool {
        !glued_after(text, self.ends[n - 1])
    }

    /// True when a separator stands between `chars[i - 1]` and `chars[i]`. The accepted
    /// characters are ASCII (one byte), so a gap between their ends is a separator.
    pub(super) fn sep_before(&self, i: usize) -> bool {
        i > 0 && i < self.ends.len() && self.ends[i] - 1 != self.ends[i - 1]
    }

    /// The group lengths of the first `n` characters, groups being split by separators.
    pub(super) fn groups(&self, n: usize) -> Vec<usize> {
        let mut groups = vec![0];
        for i in 0..n.min(self.chars.len()) {
            if self.sep_before(i) {
                groups.push(0);
            }
            if let Some(last) = groups.last_mut() {
                *last += 1;
            }
        }
        groups
    }

    /// True when every separator among the first `n` characters falls just before one of
    /// the offsets in `allowed` (0-based character positions).
    pub(super) fn seps_only_at(&self, n: usize, allowed: &[usize]) -> bool {
        (1..n.min(self.chars.len())).all(|i| !self.sep_before(i) || allowed.contains(&i))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn digits(text: &str) -> Run {
        Run::scan(text, 0, 19, |c| c.is_ascii_digit(), is_group_sep_or_dot)
    }

    #[test]
    fn groups_follow_separators() {
        let run = digits("4970.1012.3456.7893 fin");
        assert_eq!(run.chars.len(), 16);
        assert_eq!(run.groups(16), [4, 4, 4, 4]);
        assert_eq!(run.groups(13), [4, 4, 4, 1]);
        assert_eq!(digits("3782 822463 10005").groups(15), [4, 6, 5]);
        assert_eq!(digits("4111111111111111").groups(16), [16]);
    }

    #[test]
    fn separators_at_allowed_positions_only() {
        let run = digits("1 84 12");
        assert!(run.seps_only_at(5, &[1, 3]));
        assert!(!run.seps_only_at(5, &[1]));
        assert!(digits("18412").seps_only_at(5, &[]));
    }

    #[test]
    fn number_starts_are_digits_at_a_token_start() {
        let starts: Vec<usize> = number_starts("é12 x3 +4 _5 (6) 78.9").map(|(i, _)| i).collect();
        // `é12` is one token; `x3`, `+4`, `_5` are glued; `(6`, `78` and `.9` start numbers.
        assert_eq!(starts, [15, 18, 21]);
    }

    #[test]
    fn two_separators_end_the_run() {
        assert_eq!(digits("1234. 5678").chars.len(), 4);
        assert_eq!(digits("12-34").chars.len(), 4);
    }
}
