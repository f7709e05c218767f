//! Language identification, restricted to French and English.
//!
//! Customer comments are short, and trigram detectors guess wildly on a few words ("ok merci"
//! comes out English). So the first signal is function words: frequent words that exist in only
//! one of the two languages (`lexicons/langid/`), plus French elided clitics. `whatlang` is asked
//! only when those disagree or are missing, restricted to the two languages, and, on longer texts
//! with almost no function words of either, without restriction to recognise another language.

use whatlang::{Detector, Lang as WLang};

use crate::analysis::Lang;
use crate::lexicon::Resources;
use crate::tokenize::{TokenKind, Tokens};

/// Result of language identification.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Detected {
    /// French, English, or `Und` when the text is too short to tell.
    Supported(Lang),
    /// Another language, with its ISO 639-3 code and English name.
    Other(&'static str, &'static str),
}

/// Identifies the language of a tokenised comment.
pub fn detect(tokens: &Tokens<'_>, res: &Resources) -> Detected {
    let (mut fr, mut en, mut words) = (0usize, 0usize, 0usize);
    for (i, t) in tokens.tokens().iter().enumerate() {
        match t.kind {
            TokenKind::Clitic => {
                fr += 1;
                words += 1;
            }
            TokenKind::Word | TokenKind::Hashtag => {
                words += 1;
                let key = tokens.key(i);
                fr += usize::from(res.is_function_word(Lang::Fr, key));
                en += usize::from(res.is_function_word(Lang::En, key));
            }
            _ => {}
        }
    }
    if words == 0 {
        return Detected::Supported(Lang::Und);
    }
    let hits = fr + en;
    if fr > 0 && fr >= 2 * en {
        return Detected::Supported(Lang::Fr);
    }
    if en > 0 && en >= 2 * fr {
        return Detected::Supported(Lang::En);
    }
    // Few or mixed function words: which language's lexicons know more of the words?
    let (lex_fr, lex_en) = lexicon_hits(tokens, res);
    // Long text that neither the function words nor the lexicons recognise: another language?
    if words >= 8
        && (hits + lex_fr.max(lex_en)) * 4 < words
        && let Some(info) = whatlang::detect(tokens.text())
        && info.is_reliable()
        && !matches!(info.lang(), WLang::Fra | WLang::Eng)
    {
        return Detected::Other(info.lang().code(), info.lang().eng_name());
    }
    if lex_fr != lex_en && hits == 0 {
        return Detected::Supported(if lex_fr > lex_en { Lang::Fr } else { Lang::En });
    }
    trigram_fallback(tokens.text())
}

/// Words known to only one language's cue lexicons.
fn lexicon_hits(tokens: &Tokens<'_>, res: &Resources) -> (usize, usize) {
    let (mut fr, mut en) = (0, 0);
    for (i, t) in tokens.tokens().iter().enumerate() {
        if t.kind != TokenKind::Word {
            continue;
        }
        let key = tokens.key(i);
        let (in_fr, in_en) = (res.knows_word(Lang::Fr, key), res.knows_word(Lang::En, key));
        fr += usize::from(in_fr && !in_en);
        en += usize::from(in_en && !in_fr);
    }
    (fr, en)
}

fn trigram_fallback(text: &str) -> Detected {
    let letters = text.chars().filter(|c| c.is_alphabetic()).count();
    if letters < 12 {
        return Detected::Supported(Lang::Und);
    }
    let detector = Detector::with_allowlist(vec![WLang::Fra, WLang::Eng]);
    match detector.detect(text) {
        Some(info) if info.confidence() >= 0.3 => Detected::Supported(match info.lang() {
            WLang::Fra => Lang::Fr,
            _ => Lang::En,
        }),
        _ => Detected::Supported(Lang::Und),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tokenize::tokenize;

    fn lang(text: &str) -> Detected {
        let res = crate::lexicon::tests::shared();
        detect(&tokenize(text), res)
    }

    #[test]
    fn short_customer_text() {
        assert_eq!(lang("ok merci"), Detected::Supported(Lang::Fr));
        assert_eq!(lang("Je suis très déçu"), Detected::Supported(Lang::Fr));
        assert_eq!(lang("l’appli plante"), Detected::Supported(Lang::Fr));
        assert_eq!(lang("thanks for the help"), Detected::Supported(Lang::En));
        assert_eq!(lang("My flight was delayed again"), Detected::Supported(Lang::En));
        assert_eq!(lang("👍"), Detected::Supported(Lang::Und));
        assert_eq!(lang("Awesome!"), Detected::Supported(Lang::En));
        assert_eq!(lang("Nul."), Detected::Supported(Lang::Fr));
        assert_eq!(
            lang("@united Your website deserves a new design"),
            Detected::Supported(Lang::En)
        );
        assert_eq!(lang(""), Detected::Supported(Lang::Und));
    }

    #[test]
    fn other_languages_are_recognised() {
        let d = lang(
            "Der Kundenservice war überhaupt nicht hilfreich und die Lieferung kam viel zu spät an.",
        );
        assert!(matches!(d, Detected::Other("deu", _)), "{d:?}");
        let d = lang(
            "El servicio al cliente fue muy malo y el paquete llegó tarde, nunca más compro aquí.",
        );
        assert!(matches!(d, Detected::Other("spa", _)), "{d:?}");
    }
}
