use proptest::prelude::*;

use super::*;

fn keys(text: &str) -> Vec<String> {
    let t = tokenize(text);
    (0..t.tokens().len()).map(|i| t.key(i).to_string()).collect()
}

fn sentences(text: &str) -> Vec<&str> {
    let t = tokenize(text);
    t.sentences().iter().map(|s| &text[s.start..s.end]).collect()
}

#[test]
fn french_elision_and_apostrophes() {
    assert_eq!(keys("J’adore l'appli"), ["j'", "adore", "l'", "appli"]);
    assert_eq!(keys("jusqu’à aujourd'hui"), ["jusqu'", "a", "aujourd'hui"]);
    assert_eq!(keys("n'"), ["n'"]);
    assert_eq!(keys("l’ avion"), ["l'", "avion"]);
    assert_eq!(keys("Tom' s"), ["tom", "'", "s"]);
    let t = tokenize("L’Assurance");
    assert_eq!(t.surface(0), "L’");
    assert_eq!(t.surface(1), "Assurance");
    assert_eq!(t.tokens()[1].kind, TokenKind::Word);
}

#[test]
fn guillemets_ellipsis_and_hyphens() {
    assert_eq!(keys("«top»"), ["«", "top", "»"]);
    assert_eq!(keys("« nul » …"), ["«", "nul", "»", "..."]);
    assert_eq!(keys("est-ce que"), ["est", "-", "ce", "que"]);
}

#[test]
fn special_spans_are_single_tokens() {
    let t =
        tokenize("Écrivez à sav@exemple.fr ou https://exemple.fr/aide 😡 :( <br>merci &amp; #fail");
    let kinds: Vec<TokenKind> = t.tokens().iter().map(|t| t.kind).collect();
    assert!(kinds.contains(&TokenKind::Email));
    assert!(kinds.contains(&TokenKind::Url));
    assert!(kinds.contains(&TokenKind::Markup));
    assert!(kinds.contains(&TokenKind::Entity));
    assert_eq!(kinds.iter().filter(|k| **k == TokenKind::Emoji).count(), 2);
    let hashtag = t.tokens().iter().position(|t| t.kind == TokenKind::Hashtag).unwrap();
    assert_eq!(t.key(hashtag), "fail");
}

#[test]
fn sentence_split() {
    assert_eq!(
        sentences("Livraison rapide. Mais facture fausse !!! Pourquoi ?\nMerci"),
        ["Livraison rapide.", "Mais facture fausse !!!", "Pourquoi ?", "Merci"]
    );
    assert_eq!(sentences("Bof... vraiment bof"), ["Bof...", "vraiment bof"]);
    assert_eq!(sentences("Top<br>Nul"), ["Top<br>", "Nul"]);
    assert!(sentences("").is_empty());
    assert!(sentences("   \n ").is_empty());
}

#[test]
fn stems_share_across_accents() {
    let s = Stemmers::default();
    let a = s.stem(Lang::Fr, "résiliation");
    assert_eq!(s.stem(Lang::Fr, "RÉSILIATION"), a);
    assert_eq!(s.stem(Lang::En, "Delayed"), s.stem(Lang::En, "delay"));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn offsets_are_on_char_boundaries_and_ordered(text in "\\PC{0,80}") {
        let t = tokenize(&text);
        let mut last = 0;
        for tok in t.tokens() {
            prop_assert!(tok.start < tok.end, "empty token");
            prop_assert!(tok.start >= last, "tokens overlap or go backwards");
            prop_assert!(text.is_char_boundary(tok.start) && text.is_char_boundary(tok.end));
            last = tok.end;
        }
        prop_assert!(t.tokens().len() <= text.len());
        // Sentences partition the tokens.
        let mut next = 0;
        for s in t.sentences() {
            prop_assert_eq!(s.tokens.start, next);
            next = s.tokens.end;
        }
        prop_assert_eq!(next, t.tokens().len());
    }

    #[test]
    fn mixed_customer_text_never_panics(
        parts in proptest::collection::vec(prop_oneof![
            Just("l’"), Just("qu'"), Just("« "), Just(" »"), Just("…"), Just("..."), Just("😡"),
            Just("https://x.fr/a"), Just("a@b.fr"), Just("<br>"), Just("&amp;"), Just(":)"),
            Just("é"), Just("e\u{301}"), Just(" "), Just("\n"), Just("mais"), Just("?"), Just("@u"),
            Just("#t"), Just("'"), Just("’")
        ], 0..30)
    ) {
        let text: String = parts.concat();
        let t = tokenize(&text);
        for i in 0..t.tokens().len() {
            let _ = t.key(i);
            prop_assert!(!t.surface(i).is_empty());
        }
    }

    #[test]
    fn keys_are_idempotent(text in "\\PC{0,40}") {
        let once = normalize::fold(&text);
        prop_assert_eq!(normalize::fold(&once), once.clone());
    }
}
