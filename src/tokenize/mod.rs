//! Tokenisation: words, punctuation and special spans with byte offsets into the untouched
//! original, their accent-folded matching keys, and sentence boundaries.
//!
//! Offsets are never modified after a token is made: every evidence span, highlight and API
//! offset comes from them, so they always slice the text the user gave us.

mod ascii;
mod elision;
mod special;

use std::ops::Range;

use rust_stemmers::{Algorithm, Stemmer};
use serde::Serialize;
use unicode_segmentation::UnicodeSegmentation;

use crate::analysis::Lang;
use crate::normalize;

/// What a token is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TokenKind {
    /// A word (letters, possibly with digits, inner apostrophes or dots).
    Word,
    /// A number (no letters).
    Number,
    /// A French elided clitic such as `l'`, `qu'`.
    Clitic,
    /// An emoji or an ASCII emoticon.
    Emoji,
    /// Punctuation or a symbol.
    Punct,
    /// A URL.
    Url,
    /// An e-mail address.
    Email,
    /// An HTML tag.
    Markup,
    /// An HTML entity such as `&amp;`.
    Entity,
    /// A social-media @mention.
    Mention,
    /// A #hashtag (matched on the word after `#`).
    Hashtag,
}

impl TokenKind {
    /// Words, clitics, numbers, emoji and hashtags take part in lexicon matching.
    pub fn is_matchable(self) -> bool {
        matches!(
            self,
            TokenKind::Word
                | TokenKind::Number
                | TokenKind::Clitic
                | TokenKind::Emoji
                | TokenKind::Hashtag
        )
    }
}

/// One token: a byte range of the original text, a kind and the range of its key in
/// [`Tokens::key`]'s arena.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    /// Byte offset of the first byte in the original text.
    pub start: usize,
    /// Byte offset one past the last byte.
    pub end: usize,
    /// What the token is.
    pub kind: TokenKind,
    key: Range<u32>,
}

/// A sentence: its byte range and the range of its tokens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sentence {
    /// Byte offset of the sentence's first token.
    pub start: usize,
    /// Byte offset one past its last token.
    pub end: usize,
    /// Indices into [`Tokens::tokens`].
    pub tokens: Range<usize>,
}

/// A tokenised comment.
#[derive(Debug, Clone)]
pub struct Tokens<'a> {
    text: &'a str,
    tokens: Vec<Token>,
    sentences: Vec<Sentence>,
    keys: String,
}

impl<'a> Tokens<'a> {
    /// The original text.
    pub fn text(&self) -> &'a str {
        self.text
    }

    /// All tokens in order.
    pub fn tokens(&self) -> &[Token] {
        &self.tokens
    }

    /// The sentences in order; together they cover every token.
    pub fn sentences(&self) -> &[Sentence] {
        &self.sentences
    }

    /// The accent-folded, lower-cased matching key of token `i`.
    pub fn key(&self, i: usize) -> &str {
        let r = &self.tokens[i].key;
        &self.keys[r.start as usize..r.end as usize]
    }

    /// The original text of token `i`.
    pub fn surface(&self, i: usize) -> &'a str {
        let t = &self.tokens[i];
        &self.text[t.start..t.end]
    }
}

/// Tokenises `text`. Never fails: any string, however broken, yields tokens on char boundaries.
pub fn tokenize(text: &str) -> Tokens<'_> {
    let mut b = Builder {
        text,
        tokens: Vec::new(),
        sentences: Vec::new(),
        keys: String::new(),
        sent_start: 0,
    };
    let mut pos = 0;
    for sp in special::find(text) {
        b.segment(pos, sp.start);
        b.special(sp.start, sp.end, sp.kind);
        pos = sp.end;
    }
    b.segment(pos, text.len());
    b.close_sentence();
    Tokens { text, tokens: b.tokens, sentences: b.sentences, keys: b.keys }
}

struct Builder<'a> {
    text: &'a str,
    tokens: Vec<Token>,
    sentences: Vec<Sentence>,
    keys: String,
    sent_start: usize,
}

impl Builder<'_> {
    /// Word-segments `text[from..to]`: whitespace runs end sentences at line breaks; each run
    /// between them goes through the ASCII fast path or full UAX #29 segmentation. Word
    /// boundaries never cross whitespace, so segmenting runs one by one gives the same words.
    fn segment(&mut self, from: usize, to: usize) {
        let text = self.text;
        let mut pos = from;
        while pos < to {
            let rest = &text[pos..to];
            let ws = rest.find(|c: char| !c.is_whitespace()).unwrap_or(rest.len());
            if rest[..ws].contains('\n') {
                self.close_sentence();
            }
            pos += ws;
            let rest = &text[pos..to];
            let run = rest.find(char::is_whitespace).unwrap_or(rest.len());
            if run > 0 {
                self.run(pos, &rest[..run]);
            }
            pos += run;
        }
    }

    fn run(&mut self, start: usize, run: &str) {
        if run.is_ascii() {
            ascii::segment(run, |a, b| self.classify(start + a, &run[a..b]));
        } else {
            for (off, seg) in run.split_word_bound_indices() {
                self.classify(start + off, seg);
            }
        }
    }

    fn classify(&mut self, start: usize, seg: &str) {
        if seg.chars().any(char::is_alphabetic) {
            self.word(start, seg);
        } else if seg.chars().any(char::is_numeric) {
            self.push(start, start + seg.len(), TokenKind::Number, seg);
        } else if seg.chars().any(is_pictographic) {
            self.push(start, start + seg.len(), TokenKind::Emoji, seg);
        } else if seg.chars().any(|c| !c.is_whitespace()) {
            self.punct(start, seg);
        }
    }

    fn word(&mut self, start: usize, seg: &str) {
        if let Some(cut) = elision::split(seg) {
            self.push(start, start + cut, TokenKind::Clitic, &seg[..cut]);
            self.push(start + cut, start + seg.len(), TokenKind::Word, &seg[cut..]);
        } else {
            self.push(start, start + seg.len(), TokenKind::Word, seg);
        }
    }

    fn punct(&mut self, start: usize, seg: &str) {
        // "l' avion" or a cue written "n'": the apostrophe that Unicode segmentation left on
        // its own still closes the clitic before it.
        if seg.chars().all(normalize::is_apostrophe)
            && let Some(prev) = self.tokens.last_mut()
            && prev.kind == TokenKind::Word
            && prev.end == start
            && elision::is_clitic(&self.text[prev.start..prev.end])
        {
            prev.kind = TokenKind::Clitic;
            prev.end = start + seg.len();
            self.keys.push('\'');
            prev.key.end += 1;
            return;
        }
        self.push(start, start + seg.len(), TokenKind::Punct, seg);
        if seg.chars().any(|c| matches!(c, '.' | '!' | '?' | '…' | '¡' | '¿' | '。')) {
            self.close_sentence_after_terminators();
        }
    }

    fn special(&mut self, start: usize, end: usize, kind: TokenKind) {
        let slice = &self.text[start..end];
        match kind {
            TokenKind::Hashtag => self.push(start, end, kind, &slice[1..]),
            TokenKind::Entity => {
                let decoded = special::decode_entity(slice);
                self.push(start, end, kind, decoded);
            }
            TokenKind::Markup => {
                // Block-level tags end a sentence, like a line break.
                let lower = slice.to_ascii_lowercase();
                self.push(start, end, kind, "");
                if ["<br", "<p", "</p", "<div", "</div", "<li", "</li"]
                    .iter()
                    .any(|t| lower.starts_with(t))
                {
                    self.close_sentence();
                }
            }
            _ => self.push(start, end, kind, slice),
        }
    }

    fn push(&mut self, start: usize, end: usize, kind: TokenKind, key_src: &str) {
        let k0 = self.keys.len() as u32;
        normalize::fold_into(key_src, &mut self.keys);
        let k1 = self.keys.len() as u32;
        self.tokens.push(Token { start, end, kind, key: k0..k1 });
    }

    /// Terminators can run ("?!", "...") and be followed by closing quotes: the sentence ends
    /// at the next token that is not one of those, so mark it and let `push` decide.
    fn close_sentence_after_terminators(&mut self) {
        // Tokens are pushed one at a time, so close here; a following "!" or "»" would start a
        // one-punctuation sentence, which `close_sentence` folds back into this one.
        self.close_sentence();
    }

    fn close_sentence(&mut self) {
        let end = self.tokens.len();
        if end == self.sent_start {
            return;
        }
        let only_punct = self.tokens[self.sent_start..end]
            .iter()
            .all(|t| matches!(t.kind, TokenKind::Punct | TokenKind::Markup));
        if only_punct && let Some(last) = self.sentences.last_mut() {
            // "?!" or "» ." after a finished sentence belongs to it.
            last.tokens.end = end;
            last.end = self.tokens[end - 1].end;
            self.sent_start = end;
            return;
        }
        self.sentences.push(Sentence {
            start: self.tokens[self.sent_start].start,
            end: self.tokens[end - 1].end,
            tokens: self.sent_start..end,
        });
        self.sent_start = end;
    }
}

/// Emoji and pictographs (the ranges customers use; not every Extended_Pictographic code point).
fn is_pictographic(c: char) -> bool {
    matches!(c as u32,
        0x1F000..=0x1FAFF | 0x2600..=0x27BF | 0x2B00..=0x2BFF | 0x2190..=0x21FF | 0x2300..=0x23FF | 0x3030 | 0x303D)
}

/// Snowball stemmers for the two languages, built once.
pub struct Stemmers {
    fr: Stemmer,
    en: Stemmer,
}

impl Default for Stemmers {
    fn default() -> Self {
        Stemmers { fr: Stemmer::create(Algorithm::French), en: Stemmer::create(Algorithm::English) }
    }
}

impl Stemmers {
    /// The accent-folded Snowball stem of a word. The stemmer sees the lower-cased, accented
    /// form (Snowball French depends on accents), and the stem is folded afterwards, so that
    /// `résiliation`, `résilier` and `resilier` share a stem. `Und` uses the French stemmer.
    pub fn stem(&self, lang: Lang, word: &str) -> String {
        let lower = normalize::lower(word);
        let stemmer = if lang == Lang::En { &self.en } else { &self.fr };
        normalize::fold(&stemmer.stem(&lower))
    }
}

#[cfg(test)]
mod tests;
