//! Spans that are not words and must not be cut into words: URLs, e-mail addresses, HTML tags and
//! entities, @mentions, #hashtags and ASCII emoticons. They are found first; the text between them
//! goes through Unicode word segmentation.

use std::sync::LazyLock;

use regex::Regex;

use super::TokenKind;

/// One alternation, so the text is scanned once. Group names tell which kind matched; the order
/// matters where two could start at the same byte (a URL before an emoticon such as `:/`).
static SPECIAL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r"(?P<url>(?i:https?://|www\.)[^\s<>\x22«»]+[^\s<>\x22«».,;:!?)\]'’])",
        r"|(?P<email>[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,})",
        r"|(?P<markup></?[A-Za-z][A-Za-z0-9]*(?:\s[^<>]{0,200})?/?>)",
        r"|(?P<entity>&(?:[A-Za-z]{2,8}|#[0-9]{1,7}|#[xX][0-9A-Fa-f]{1,6});)",
        r"|(?P<mention>@[A-Za-z0-9_]{1,30})",
        r"|(?P<hashtag>#[\p{L}\p{N}_]{1,60})",
        r"|(?P<emoticon>(?:[:;=8][\-o^']?[)(\]\[DPpO/\\|*3]|<3|\^\^|\^_\^|:'\())(?:[\s.,!?]|$)",
    ))
    .expect("constant regex compiles")
});

/// A special span: byte range and kind. For emoticons the trailing delimiter is excluded.
pub(crate) struct Special {
    pub start: usize,
    pub end: usize,
    pub kind: TokenKind,
}

/// Finds the special spans of `text`, in order, non-overlapping.
pub(crate) fn find(text: &str) -> Vec<Special> {
    // Cheap guard: every pattern needs one of these bytes.
    if !text
        .bytes()
        .any(|b| matches!(b, b'@' | b'/' | b'.' | b'<' | b'&' | b'#' | b':' | b';' | b'=' | b'^'))
    {
        return Vec::new();
    }
    let mut out = Vec::new();
    for caps in SPECIAL.captures_iter(text) {
        let (m, kind) = if let Some(m) = caps.name("url") {
            (m, TokenKind::Url)
        } else if let Some(m) = caps.name("email") {
            (m, TokenKind::Email)
        } else if let Some(m) = caps.name("markup") {
            (m, TokenKind::Markup)
        } else if let Some(m) = caps.name("entity") {
            (m, TokenKind::Entity)
        } else if let Some(m) = caps.name("mention") {
            (m, TokenKind::Mention)
        } else if let Some(m) = caps.name("hashtag") {
            (m, TokenKind::Hashtag)
        } else if let Some(m) = caps.name("emoticon") {
            (m, TokenKind::Emoji)
        } else {
            continue;
        };
        // An emoticon must not be glued to a word on its left ("http:" or "10:30").
        if kind == TokenKind::Emoji
            && text[..m.start()].chars().next_back().is_some_and(|c| c.is_alphanumeric())
        {
            continue;
        }
        out.push(Special { start: m.start(), end: m.end(), kind });
    }
    out
}

/// Decodes the few HTML entities that matter for matching; others become a space.
pub(crate) fn decode_entity(entity: &str) -> &'static str {
    match entity {
        "&amp;" => "&",
        "&quot;" | "&#34;" => "\"",
        "&apos;" | "&#39;" | "&rsquo;" | "&lsquo;" => "'",
        "&lt;" => "<",
        "&gt;" => ">",
        "&hellip;" => "...",
        "&laquo;" | "&raquo;" => "\"",
        _ => " ",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Vec<(&str, TokenKind)> {
        find(text).into_iter().map(|s| (&text[s.start..s.end], s.kind)).collect()
    }

    #[test]
    fn finds_urls_emails_markup_entities() {
        assert_eq!(
            kinds(
                "voir https://exemple.fr/a?b=1. ou jean.dupont@example.com<br/>&amp; @united #fail :)"
            ),
            vec![
                ("https://exemple.fr/a?b=1", TokenKind::Url),
                ("jean.dupont@example.com", TokenKind::Email),
                ("<br/>", TokenKind::Markup),
                ("&amp;", TokenKind::Entity),
                ("@united", TokenKind::Mention),
                ("#fail", TokenKind::Hashtag),
                (":)", TokenKind::Emoji),
            ]
        );
    }

    #[test]
    fn no_emoticon_inside_times_or_words() {
        assert!(kinds("rendez-vous à 10:30 demain").is_empty());
        assert!(kinds("a < b et c > d").is_empty());
    }
}
