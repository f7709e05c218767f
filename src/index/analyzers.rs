//! The index's text analysers, one per language, built from the crate's own stages so that the
//! index sees the words the analyser sees:
//!
//! [`WordTokenizer`] (verbatim's tokeniser: UAX #29 words, French elision split, URLs and e-mails
//! kept whole, offsets into the untouched text) → [`StopWords`] (the crate's lists, which keep
//! negations: `pas`, `jamais`, `not` stay searchable) → [`SnowballStem`] (rust-stemmers on the
//! lower-cased accented word, then accent folding, exactly [`Stemmers::stem`]).
//!
//! The order matters: French Snowball depends on accents, so folding before stemming would give
//! `resili` for `résilier` but `résili` for `résiliation`; stemming first and folding after maps
//! résiliation / résilier / résilié / resilier to one term.

use std::sync::Arc;

use tantivy::Index;
use tantivy::tokenizer::{TextAnalyzer, Token, TokenFilter, TokenStream, Tokenizer};

use crate::analysis::Lang;
use crate::lexicon::Resources;
use crate::normalize;
use crate::tokenize::{self, Stemmers, TokenKind};

/// Name under which the French analyser is registered.
pub const FR: &str = "verbatim_fr";
/// Name under which the English analyser is registered.
pub const EN: &str = "verbatim_en";

/// Registers the French and English analysers on `index`. Must be called on every opened
/// index: tantivy stores analyser names in the schema, not the analysers themselves.
pub fn register(index: &Index, res: &Arc<Resources>) {
    let stemmers = Arc::new(Stemmers::default());
    index.tokenizers().register(FR, analyzer(Lang::Fr, res, &stemmers));
    index.tokenizers().register(EN, analyzer(Lang::En, res, &stemmers));
}

/// The analyser of one language.
pub fn analyzer(lang: Lang, res: &Arc<Resources>, stemmers: &Arc<Stemmers>) -> TextAnalyzer {
    TextAnalyzer::builder(WordTokenizer::default())
        .filter(StopWords { res: Arc::clone(res), lang })
        .filter(SnowballStem { stemmers: Arc::clone(stemmers), lang })
        .build()
}

/// Splits text with [`tokenize::tokenize`] and emits words, numbers, hashtags and emoji,
/// lower-cased (NFC, plain apostrophes), with their original byte offsets. Elided clitics
/// (`l'`, `qu'`) are dropped without taking a position, so "l'assurance auto" and
/// "assurance auto" are the same phrase.
#[derive(Clone, Default)]
pub struct WordTokenizer {
    tokens: Vec<Token>,
}

impl Tokenizer for WordTokenizer {
    type TokenStream<'a> = VecTokenStream<'a>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> VecTokenStream<'a> {
        self.tokens.clear();
        let toks = tokenize::tokenize(text);
        let mut position = 0;
        for t in toks.tokens() {
            let surface = &text[t.start..t.end];
            let word = match t.kind {
                TokenKind::Word | TokenKind::Number | TokenKind::Emoji => surface,
                // The key is the word after `#`: `#résiliation` finds `résiliation`.
                TokenKind::Hashtag => surface.get(1..).unwrap_or(surface),
                _ => continue,
            };
            self.tokens.push(Token {
                offset_from: t.start,
                offset_to: t.end,
                position,
                text: normalize::lower(word),
                position_length: 1,
            });
            position += 1;
        }
        VecTokenStream { tokens: &mut self.tokens, next: 0 }
    }
}

/// A token stream over a buffer the tokenizer owns (reused between documents).
pub struct VecTokenStream<'a> {
    tokens: &'a mut Vec<Token>,
    next: usize,
}

impl TokenStream for VecTokenStream<'_> {
    fn advance(&mut self) -> bool {
        if self.next < self.tokens.len() {
            self.next += 1;
            true
        } else {
            false
        }
    }

    fn token(&self) -> &Token {
        &self.tokens[self.next - 1]
    }

    fn token_mut(&mut self) -> &mut Token {
        &mut self.tokens[self.next - 1]
    }
}

/// Removes the stop words of one language, using the crate's lists ([`Resources::is_stopword`]
/// on the accent-folded form). Removed words keep their position gap, so phrase queries
/// analysed the same way still line up.
#[derive(Clone)]
pub struct StopWords {
    res: Arc<Resources>,
    lang: Lang,
}

impl TokenFilter for StopWords {
    type Tokenizer<T: Tokenizer> = StopWordsFilter<T>;

    fn transform<T: Tokenizer>(self, tokenizer: T) -> StopWordsFilter<T> {
        StopWordsFilter { inner: tokenizer, filter: self, key: String::new() }
    }
}

/// [`StopWords`] applied to a tokenizer.
#[derive(Clone)]
pub struct StopWordsFilter<T> {
    inner: T,
    filter: StopWords,
    key: String,
}

impl<T: Tokenizer> Tokenizer for StopWordsFilter<T> {
    type TokenStream<'a> = StopWordsStream<'a, T::TokenStream<'a>>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> Self::TokenStream<'a> {
        StopWordsStream {
            tail: self.inner.token_stream(text),
            filter: &self.filter,
            key: &mut self.key,
        }
    }
}

/// The stream of [`StopWordsFilter`].
pub struct StopWordsStream<'a, S> {
    tail: S,
    filter: &'a StopWords,
    key: &'a mut String,
}

impl<S: TokenStream> TokenStream for StopWordsStream<'_, S> {
    fn advance(&mut self) -> bool {
        while self.tail.advance() {
            let text = &self.tail.token().text;
            let key: &str = if text.is_ascii() {
                text // already lower-cased, so already folded
            } else {
                self.key.clear();
                normalize::fold_into(text, self.key);
                self.key
            };
            if !self.filter.res.is_stopword(self.filter.lang, key) {
                return true;
            }
        }
        false
    }

    fn token(&self) -> &Token {
        self.tail.token()
    }

    fn token_mut(&mut self) -> &mut Token {
        self.tail.token_mut()
    }
}

/// Replaces each token by its accent-folded Snowball stem ([`Stemmers::stem`]).
#[derive(Clone)]
pub struct SnowballStem {
    stemmers: Arc<Stemmers>,
    lang: Lang,
}

impl TokenFilter for SnowballStem {
    type Tokenizer<T: Tokenizer> = SnowballStemFilter<T>;

    fn transform<T: Tokenizer>(self, tokenizer: T) -> SnowballStemFilter<T> {
        SnowballStemFilter { inner: tokenizer, filter: self }
    }
}

/// [`SnowballStem`] applied to a tokenizer.
#[derive(Clone)]
pub struct SnowballStemFilter<T> {
    inner: T,
    filter: SnowballStem,
}

impl<T: Tokenizer> Tokenizer for SnowballStemFilter<T> {
    type TokenStream<'a> = SnowballStemStream<'a, T::TokenStream<'a>>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> Self::TokenStream<'a> {
        SnowballStemStream { tail: self.inner.token_stream(text), filter: &self.filter }
    }
}

/// The stream of [`SnowballStemFilter`].
pub struct SnowballStemStream<'a, S> {
    tail: S,
    filter: &'a SnowballStem,
}

impl<S: TokenStream> TokenStream for SnowballStemStream<'_, S> {
    fn advance(&mut self) -> bool {
        if !self.tail.advance() {
            return false;
        }
        let token = self.tail.token_mut();
        // Numbers and emoji have no stem; the stemmer would leave them alone anyway, but this
        // saves the allocation on order numbers and amounts.
        if token.text.chars().any(char::is_alphabetic) {
            token.text = self.filter.stemmers.stem(self.filter.lang, &token.text);
        }
        true
    }

    fn token(&self) -> &Token {
        self.tail.token()
    }

    fn token_mut(&mut self) -> &mut Token {
        self.tail.token_mut()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (term, start, end, position) of each token `lang`'s analyser emits for `text`.
    fn analyse(lang: Lang, text: &str) -> Vec<(String, usize, usize, usize)> {
        let res = Arc::new(Resources::embedded().expect("embedded resources load"));
        let mut a = analyzer(lang, &res, &Arc::new(Stemmers::default()));
        let mut out = Vec::new();
        let mut stream = a.token_stream(text);
        while let Some(t) = stream.next() {
            out.push((t.text.clone(), t.offset_from, t.offset_to, t.position));
        }
        out
    }

    fn terms(lang: Lang, text: &str) -> Vec<String> {
        analyse(lang, text).into_iter().map(|t| t.0).collect()
    }

    #[test]
    fn french_elision_accents_and_stems_meet() {
        let a = terms(Lang::Fr, "Résiliation");
        let b = terms(Lang::Fr, "je veux RÉSILIER");
        let c = terms(Lang::Fr, "resilier l'assurance");
        assert_eq!(a.len(), 1, "one term for one word: {a:?}");
        assert!(b.contains(&a[0]), "résilier and résiliation should share a stem: {a:?} {b:?}");
        assert!(c.contains(&a[0]), "unaccented resilier should stem like résilier: {c:?}");
        assert!(c.iter().all(|t| !t.contains('\'')), "clitic l' should be split off: {c:?}");
    }

    #[test]
    fn stop_words_go_but_negations_stay() {
        let t = terms(Lang::Fr, "je ne suis pas du tout satisfait");
        assert!(!t.contains(&"je".to_string()), "je is a stop word: {t:?}");
        assert!(t.contains(&"pas".to_string()), "negations must stay searchable: {t:?}");
        let t = terms(Lang::En, "the refund was not paid");
        assert!(!t.contains(&"the".to_string()), "the is a stop word: {t:?}");
        assert!(t.contains(&"not".to_string()), "negations must stay searchable: {t:?}");
    }

    #[test]
    fn offsets_point_into_the_original_and_clitics_take_no_position() {
        let text = "L’assurance auto";
        let toks = analyse(Lang::Fr, text);
        assert_eq!(&text[toks[0].1..toks[0].2], "assurance");
        assert_eq!(toks[0].3 + 1, toks[1].3, "clitic must not leave a position gap: {toks:?}");
    }

    #[test]
    fn english_stems_and_hashtags() {
        assert_eq!(terms(Lang::En, "#refunds"), terms(Lang::En, "refund"));
        assert_eq!(terms(Lang::En, "charged"), terms(Lang::En, "charging"));
    }
}
