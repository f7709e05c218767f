//! Spans that are not words and must not be cut into words: URLs, e-mail addresses, HTML tags and
//! entities, @mentions, #hashtags and ASCII emoticons. They are found first; the text between them
//! goes through Unicode word segmentation.

use std::sync::LazyLock;

use regex::Regex;

use super::TokenKind;

/// A cheap test on the whole text: can the pattern match at all?
type Trigger = fn(&str) -> bool;

/// One pattern per kind, each with a cheap byte test that must pass before it runs. A single
/// alternation of all of them defeats the regex crate's lazy DFA (Unicode classes blow up its
/// cache) and falls back to a much slower engine; small patterns stay on the fast path.
/// The order is the priority where two start at the same byte (a URL before an emoticon `:/`).
static PATTERNS: LazyLock<Vec<(Regex, TokenKind, Trigger)>> = LazyLock::new(|| {
    let table: [(&str, TokenKind, Trigger); 7] = [
        (
            r"(?i:https?://|www\.)[^\s<>\x22«»]+[^\s<>\x22«».,;:!?)\]'’]",
            TokenKind::Url,
            |t| t.contains("://") || t.contains("www.") || t.contains("WWW."),
        ),
        (
            r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}",
            TokenKind::Email,
            |t| t.contains('@'),
        ),
        (r"</?[A-Za-z][A-Za-z0-9]*(?:\s[^<>]{0,200})?/?>", TokenKind::Markup, |t| t.contains('<')),
        (r"&(?:[A-Za-z]{2,8}|#[0-9]{1,7}|#[xX][0-9A-Fa-f]{1,6});", TokenKind::Entity, |t| {
            t.contains('&')
        }),
        (r"@[A-Za-z0-9_]{1,30}", TokenKind::Mention, |t| t.contains('@')),
        (r"#[\p{L}\p{N}_]{1,60}", TokenKind::Hashtag, |t| t.contains('#')),
        (
            r"(?:[:;=8][\-o^']?[)(\]\[DPpO/\\|*3]|<3|\^\^|\^_\^|:'\()(?:[\s.,!?]|$)",
            TokenKind::Emoji,
            |t| t.bytes().any(|b| matches!(b, b':' | b';' | b'=' | b'8' | b'<' | b'^')),
        ),
    ];
    table
        .into_iter()
        .map(|(p, k, f)| (Regex::new(p).expect("constant regex compiles"), k, f))
        .collect()
});

/// A special span: byte range and kind. For emoticons the trailing delimiter is excluded.
pub(crate) struct Special {
    pub start: usize,
    pub end: usize,
    pub kind: TokenKind,
}

/// Finds the special spans of `text`, in order, non-overlapping.
pub(crate) fn find(text: &str) -> Vec<Special> {
    let mut found: Vec<(usize, usize, Special)> = Vec::new();
    for (priority, (re, kind, trigger)) in PATTERNS.iter().enumerate() {
        if !trigger(text) {
            continue;
        }
        for m in re.find_iter(text) {
            let (start, mut end) = (m.start(), m.end());
            if *kind == TokenKind::Emoji {
                // The emoticon pattern includes the delimiter that follows it.
                let s = m.as_str();
                if s.len() > 2 && s.ends_with(|c: char| c.is_whitespace() || ".,!?".contains(c)) {
                    end -= s.chars().next_back().map_or(0, char::len_utf8);
                }
                // An emoticon must not be glued to a word on its left ("http:" or "10:30").
                if text[..start].chars().next_back().is_some_and(|c| c.is_alphanumeric()) {
                    continue;
                }
            }
            found.push((start, priority, Special { start, end, kind: *kind }));
        }
    }
    found.sort_by_key(|f| (f.0, f.1));
    let mut out: Vec<Special> = Vec::with_capacity(found.len());
    for (_, _, sp) in found {
        if out.last().is_none_or(|last| sp.start >= last.end) {
            out.push(sp);
        }
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
