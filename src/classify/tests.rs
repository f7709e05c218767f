//! Behaviour of the classifiers on hand-written cases: negation scope, idioms, contrast,
//! per-theme tone, modes and churn. Each case is one rule from `lexicons/README.md`.

use crate::analysis::{Analysis, ChurnLevel, Lang, Outcome, Polarity};
use crate::pipeline::{Analyzer, Options};
use crate::verbatim::Verbatim;

fn analyze(text: &str) -> Analysis {
    static ANALYZER: std::sync::LazyLock<Analyzer> = std::sync::LazyLock::new(|| {
        Analyzer::new(crate::lexicon::Resources::embedded().expect("lexicons"), Options::default())
    });
    match ANALYZER.analyze(&Verbatim::new("t", text)) {
        Outcome::Analysed(a) => *a,
        Outcome::Failed { error, .. } => panic!("{text:?} failed: {error}"),
    }
}

fn tone(text: &str) -> Polarity {
    analyze(text).sentiment.label
}

fn theme_tone(text: &str, theme: &str) -> Polarity {
    let a = analyze(text);
    a.themes
        .iter()
        .find(|t| t.id == theme)
        .unwrap_or_else(|| panic!("no theme {theme} in {text:?}: {:?}", a.themes))
        .sentiment
        .label
}

#[test]
fn french_negation_scopes() {
    assert_eq!(tone("Je suis satisfait"), Polarity::Positive);
    assert_eq!(tone("Je ne suis pas satisfait"), Polarity::Negative);
    assert_eq!(
        tone("Je n'aime pas cette appli"),
        Polarity::Negative,
        "ne … pas negates the verb between"
    );
    assert_eq!(tone("Conseiller jamais aimable"), Polarity::Negative);
    assert_eq!(tone("Je ne suis plus satisfait"), Polarity::Negative, "ne … plus");
    assert_eq!(
        tone("Plus rapide que prévu, parfait"),
        Polarity::Positive,
        "plus without ne is no negation"
    );
    assert_eq!(tone("Rien de positif dans ce service"), Polarity::Negative);
}

#[test]
fn negation_stops_at_clause_boundaries() {
    let a = analyze("Pas de retard, conseiller très aimable");
    let aimable =
        a.sentiment.evidence.iter().find(|e| e.text == "aimable").expect("aimable matched");
    assert!(!aimable.negated, "the comma ends the scope of pas");
}

#[test]
fn french_idioms_beat_word_by_word_negation() {
    assert_eq!(tone("Franchement pas mal du tout"), Polarity::Positive);
    assert_eq!(tone("Le service n'est pas terrible"), Polarity::Negative);
    let a = analyze("Aucun souci, tout est réglé");
    let idiom =
        a.sentiment.evidence.iter().find(|e| e.text == "Aucun souci").expect("idiom matched");
    assert!(idiom.weight > Some(0.0) && !idiom.negated, "aucun inside the idiom negates nothing");
}

#[test]
fn english_negation_and_idioms() {
    assert_eq!(tone("The staff were helpful"), Polarity::Positive);
    assert_eq!(tone("The staff were not helpful"), Polarity::Negative);
    assert_eq!(tone("Never friendly, never on time"), Polarity::Negative);
    assert_eq!(tone("No problem, thanks a lot"), Polarity::Positive);
    assert_eq!(tone("Not bad at all"), Polarity::Positive);
}

#[test]
fn contrast_splits_theme_tones() {
    let text = "Livraison rapide mais facture fausse";
    assert_eq!(theme_tone(text, "delivery"), Polarity::Positive);
    assert_eq!(theme_tone(text, "billing"), Polarity::Negative);
    let text = "Great price but the delivery was late";
    assert_eq!(theme_tone(text, "price"), Polarity::Positive);
    assert_eq!(theme_tone(text, "delivery"), Polarity::Negative);
    assert_eq!(tone(text), Polarity::Negative, "what follows `but` weighs more");
}

#[test]
fn evidence_points_at_the_words() {
    let text = "L’appli plante sans arrêt, c'est inadmissible";
    let a = analyze(text);
    assert_eq!(a.lang, Lang::Fr);
    for e in &a.sentiment.evidence {
        assert_eq!(&text[e.start..e.end], e.text);
    }
    assert!(a.sentiment.evidence.iter().any(|e| e.text == "inadmissible"));
    assert!(a.themes.iter().any(|t| t.id == "website_app"), "{:?}", a.themes);
}

#[test]
fn modes() {
    let mode = |t: &str| analyze(t).mode.label;
    assert_eq!(mode("Est-ce que je peux changer ma date de prélèvement ?"), "question");
    assert_eq!(mode("How do I update my billing address?"), "question");
    assert_eq!(mode("Il faudrait proposer le paiement en trois fois"), "suggestion");
    assert_eq!(mode("It would be nice to have a dark mode in the app"), "suggestion");
    assert_eq!(mode("C'est inadmissible, je veux être remboursé immédiatement"), "complaint");
    assert_eq!(mode("Bravo et merci à toute l'équipe, je recommande"), "compliment");
    assert_eq!(mode("Le site ne fonctionne plus depuis ce matin"), "incident");
}

#[test]
fn churn_intent_and_its_negation() {
    let churn = |t: &str| analyze(t).churn;
    let c = churn("Je résilie mon contrat dès demain, je vais chez un concurrent");
    assert_eq!(c.level, ChurnLevel::High);
    assert_eq!(c.reasons[0], "intent_to_leave");
    assert!(!c.evidence.is_empty());
    assert_eq!(
        churn("Je ne vais pas résilier, le conseiller a tout réglé").level,
        ChurnLevel::None
    );
    assert!(
        churn("I'm cancelling my account and switching to another bank").level
            >= ChurnLevel::Medium
    );
    assert_eq!(
        churn("I switched from my old bank to you last year and love it").level,
        ChurnLevel::None
    );
}

/// Elements visited by the per-sentence loops (see `super::work`) to classify `text`, on this
/// thread: the pipeline's batch API may run on another.
fn work_on(text: &str) -> usize {
    let res = crate::lexicon::tests::shared();
    let toks = crate::tokenize::tokenize(text);
    super::WORK.with(|w| w.set(0));
    let scan = super::Scan::new(&toks, res, Lang::Fr);
    let scored = super::sentiment::score(&scan);
    let themes = super::themes::themes(&scan, &scored);
    let _ = super::mode::mode(&scan, &scored.sentiment);
    let _ = super::churn::churn(&scan, &scored.sentiment);
    assert!(!themes.is_empty() || !scored.items.is_empty() || !scan.sentences.is_empty());
    super::WORK.with(|w| w.get())
}

/// Texts made of one unit repeated, each a way the per-sentence loops used to go quadratic:
/// for every cue hit they looked at every other hit of the sentence (or of the comment).
const REPEATED: &[&str] = &[
    "livraison ",         // theme evidence compared with every earlier span
    "super ",             // intensifiers looked for among all matches, per sentiment word
    "très bon ",          // the same, with an intensifier in reach each time
    "ne ",                // each `ne` searched all matches for its closing negator
    "ne pas ",            // the same, closed at once
    "mais ",              // each contrast renumbered the rest of the sentence
    "pas ",               // negators
    "je résilie ",        // churn cues, which carry tone
    "Livraison rapide. ", // clause tone filtered all items of the comment per sentence
    "le conseiller est très aimable mais la livraison est pas rapide et je ne suis jamais \
     satisfait du prix ", // one long sentence with no punctuation
];

#[test]
fn defect_16_repeated_cue_is_linear() {
    // Four times the text must cost about four times the work, not sixteen.
    for unit in REPEATED {
        let small = work_on(&unit.repeat(500));
        let large = work_on(&unit.repeat(2000));
        assert!(
            large <= 5 * small.max(1),
            "{unit:?}: {small} visits for 500 repetitions, {large} for 2000"
        );
    }
}

#[test]
fn defect_16_one_mb_of_one_cue_is_analysed() {
    let unit = "livraison ";
    let n = 1_000_000 / unit.len();
    let a = analyze(&unit.repeat(n));
    assert_eq!(a.lang, Lang::Fr);
    let delivery = a.themes.iter().find(|t| t.id == "delivery").expect("delivery theme");
    assert_eq!(delivery.evidence.len(), n, "one evidence span per word, none repeated");
    assert!(delivery.evidence.windows(2).all(|w| w[0].start < w[1].start));
    assert!(delivery.evidence.iter().all(|e| e.text == "livraison"));

    // Every `bon` is scaled by the one `très` just before it, never by an earlier one.
    let unit = "très bon ";
    let n = 1_000_000 / unit.len();
    let a = analyze(&unit.repeat(n));
    let bon: Vec<_> = a.sentiment.evidence.iter().filter(|e| e.text == "bon").collect();
    assert_eq!(bon.len(), n);
    assert!(bon.iter().all(|e| e.weight == bon[0].weight && !e.negated), "{:?}", bon[0]);
    let once = analyze("très bon");
    assert_eq!(bon[0].weight, once.sentiment.evidence[0].weight);
    assert_eq!(a.sentiment.label, Polarity::Positive);

    // Each `ne … pas` negates the word between: "je ne suis pas content" many times over.
    let unit = "je ne suis pas content, ";
    let n = 1_000_000 / unit.len();
    let a = analyze(&unit.repeat(n));
    let content: Vec<_> = a.sentiment.evidence.iter().filter(|e| e.text == "content").collect();
    assert_eq!(content.len(), n);
    assert!(content.iter().all(|e| e.negated));
    assert_eq!(a.sentiment.label, Polarity::Negative);
}
