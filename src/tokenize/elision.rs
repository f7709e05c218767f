//! French elision: `l'avion`, `qu’il`, `jusqu'à` are two words, the elided clitic and the word.
//!
//! Unicode word segmentation keeps `l'avion` as one word (the apostrophe is a mid-word
//! character), which would hide `avion` from every lexicon. The clitics are a closed grammatical
//! class, so they are listed here rather than in a data file.

use crate::normalize::is_apostrophe;

/// Elided forms, accent-folded, without the apostrophe.
const CLITICS: [&str; 15] = [
    "l", "j", "d", "n", "s", "c", "m", "t", "qu", "jusqu", "lorsqu", "puisqu", "quoiqu", "presqu",
    "quelqu",
];

/// Is `head` (without apostrophe) an elided clitic such as `l`, `qu`?
pub(crate) fn is_clitic(head: &str) -> bool {
    head.len() <= 6 && CLITICS.iter().any(|c| head.eq_ignore_ascii_case(c))
}

/// If `word` starts with an elided clitic followed by a letter, the byte length of the clitic
/// including its apostrophe.
pub(crate) fn split(word: &str) -> Option<usize> {
    let (pos, apostrophe) = word.char_indices().find(|&(_, c)| is_apostrophe(c))?;
    let head = &word[..pos];
    if !is_clitic(head) {
        return None;
    }
    let cut = pos + apostrophe.len_utf8();
    word[cut..].chars().next().filter(|c| c.is_alphabetic()).map(|_| cut)
}

#[cfg(test)]
mod tests {
    use super::split;

    #[test]
    fn splits_french_clitics() {
        assert_eq!(split("l'avion"), Some(2));
        assert_eq!(split("L’Assurance"), Some(4)); // ’ is three bytes
        assert_eq!(split("jusqu'à"), Some(6));
        assert_eq!(split("qu'il"), Some(3));
    }

    #[test]
    fn leaves_other_words_alone() {
        assert_eq!(split("aujourd'hui"), None);
        assert_eq!(split("don't"), None);
        assert_eq!(split("l'"), None);
        assert_eq!(split("l'2"), None);
        assert_eq!(split("avion"), None);
    }
}
