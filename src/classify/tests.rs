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
    "livraison ",               // theme evidence compared with every earlier span
    "super ",                   // intensifiers looked for among all matches, per sentiment word
    "très bon ",                // the same, with an intensifier in reach each time
    "ne ",                      // each `ne` searched all matches for its closing negator
    "ne pas ",                  // the same, closed at once
    "mais ",                    // each contrast renumbered the rest of the sentence
    "pas ",                     // negators
    "je résilie ",              // churn cues, which carry tone
    "promis ",                  // a family pattern whose gap opens at every word and never closes
    "toujours pas de réponse ", // family patterns over churn cues, each checked for overlap
    "réglé problème ",          // overlapping family matches widening what they cover
    "Livraison rapide. ",       // clause tone filtered all items of the comment per sentence
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

    // A family pattern with a gap, opened at every word and closed by the next unit.
    let unit = "promis jamais ";
    let n = 1_000_000 / unit.len();
    let a = analyze(&unit.repeat(n));
    let fam = a.sentiment.evidence.iter().filter(|e| e.family.as_deref() == Some("unkept_promise"));
    assert_eq!(fam.count(), n);
    assert_eq!(a.sentiment.label, Polarity::Negative);
}

/// One example per family and language, written for these tests (not taken from the samples):
/// the family is named in the tone evidence and the comment gets the family's tone.
const FAMILY_EXAMPLES: &[(&str, &str, Polarity)] = &[
    ("waiting", "J'ai patienté plus de deux heures au téléphone.", Polarity::Negative),
    ("waiting", "Held for over an hour before anyone picked up.", Polarity::Negative),
    ("repeat_information", "À chaque appel il faut tout réexpliquer.", Polarity::Negative),
    (
        "repeat_information",
        "I had to explain my situation again to a third person.",
        Polarity::Negative,
    ),
    ("transfers", "On m'a baladé de service en service.", Polarity::Negative),
    ("transfers", "I was transferred five times.", Polarity::Negative),
    (
        "unkept_promise",
        "Le conseiller m'avait promis un avoir, je ne l'ai jamais vu.",
        Polarity::Negative,
    ),
    ("unkept_promise", "They promised a technician on Monday and nobody came.", Polarity::Negative),
    ("no_answer", "Toujours pas de nouvelles de mon dossier.", Polarity::Negative),
    ("no_answer", "Nobody ever replied to my letter.", Polarity::Negative),
    (
        "contestation",
        "Je conteste cette décision, je demande une contre-expertise.",
        Polarity::Negative,
    ),
    ("contestation", "I was wrongly charged for the cancellation.", Polarity::Negative),
    ("wrong_interlocutor", "Le vendeur ne connaissait rien au contrat.", Polarity::Negative),
    ("wrong_interlocutor", "The agent had no idea about my contract.", Polarity::Negative),
    ("hard_to_understand", "La grille tarifaire est totalement opaque.", Polarity::Negative),
    ("hard_to_understand", "Your pricing is hard to follow.", Polarity::Negative),
    ("admin_burden", "Que de paperasse pour un simple changement d'adresse.", Polarity::Negative),
    ("admin_burden", "So much paperwork just to add a driver.", Polarity::Negative),
    ("tedious_eservice", "Avec ce serveur vocal on tourne en rond.", Polarity::Negative),
    ("tedious_eservice", "The portal keeps logging me out.", Polarity::Negative),
    ("unwelcome_change", "Ils ont modifié mon forfait sans me prévenir.", Polarity::Negative),
    ("unwelcome_change", "My premium went up again this year.", Polarity::Negative),
    (
        "unfair_treatment",
        "La réduction promise n'a pas été appliquée, les nouveaux clients ont droit à tout.",
        Polarity::Negative,
    ),
    ("unfair_treatment", "The loyalty discount was never applied.", Polarity::Negative),
    ("landing_effect", "La bouilloire a fui dès la première utilisation.", Polarity::Negative),
    ("landing_effect", "The lamp stopped working after two days.", Polarity::Negative),
    ("quick_resolution", "Mon souci a été résolu en dix minutes.", Polarity::Positive),
    ("quick_resolution", "My issue was fixed on the first call.", Polarity::Positive),
    ("called_back", "La conseillère m'a rappelée dans l'heure.", Polarity::Positive),
    ("called_back", "They got back to me within the hour.", Polarity::Positive),
    ("beyond_the_job", "Le plombier a pris le temps de tout m'expliquer.", Polarity::Positive),
    ("beyond_the_job", "The courier went out of his way to find my flat.", Polarity::Positive),
    ("kept_promise", "Installation faite à la date prévue.", Polarity::Positive),
    ("kept_promise", "The fitter arrived bang on time.", Polarity::Positive),
    ("competent_staff", "Enfin une conseillère qui connaît son métier.", Polarity::Positive),
    ("competent_staff", "The mechanic knew exactly what was wrong.", Polarity::Positive),
];

#[test]
fn each_family_names_itself_in_the_evidence_and_gives_its_tone() {
    let res = crate::lexicon::tests::shared();
    for &(family, text, label) in FAMILY_EXAMPLES {
        let a = analyze(text);
        let ev = a.sentiment.evidence.iter().find(|e| e.family.as_deref() == Some(family));
        let ev =
            ev.unwrap_or_else(|| panic!("{text:?}: no {family} in {:?}", a.sentiment.evidence));
        assert_eq!(&text[ev.start..ev.end], ev.text);
        assert!(!ev.negated && ev.cue.is_some(), "{text:?}: {ev:?}");
        assert_eq!(a.sentiment.label, label, "{text:?}: {:?}", a.sentiment);
    }
    // Every family of the shipped file has its examples, in both languages.
    for f in &res.families {
        let n = FAMILY_EXAMPLES.iter().filter(|(id, _, _)| *id == f.id).count();
        assert_eq!(n, 2, "family {} has {n} examples", f.id);
    }
}

#[test]
fn a_negated_family_is_not_its_irritant() {
    // "pas d'attente" is no waiting irritant: negated, it turns mildly positive.
    let a = analyze("Pas trop d'attente, c'était bien.");
    let ev = a.sentiment.evidence.iter().find(|e| e.family.is_some()).expect("family matched");
    assert!(ev.negated && ev.weight > Some(0.0), "{ev:?}");
    assert!(a.sentiment.score > 0.0, "{:?}", a.sentiment);
    assert!(
        analyze("I didn't have to wait for hours, great").sentiment.label == Polarity::Positive
    );
    // Praise negated is blame, and a negated irritant feeds no churn.
    assert_eq!(tone("Personne ne m'a rappelée dans l'heure."), Polarity::Negative);
    assert_eq!(tone("The parcel was not on time."), Polarity::Negative);
    let c = analyze("Je ne conteste pas la décision de l'expert.").churn;
    assert!(!c.reasons.iter().any(|r| r == "contestation"), "{c:?}");
}

#[test]
fn a_family_covers_the_words_it_matched() {
    // "problème" alone is negative; inside the praise it is not read again.
    let a = analyze("Problème résolu dès le premier appel");
    assert_eq!(a.sentiment.label, Polarity::Positive, "{:?}", a.sentiment.evidence);
    assert!(a.sentiment.evidence.iter().all(|e| e.family.is_some()), "{:?}", a.sentiment.evidence);
    // The negator inside "toujours pas de réponse" is part of the pattern: it negates nothing
    // after it.
    let a = analyze("Still no reply and awful service");
    assert!(a.sentiment.evidence.iter().all(|e| !e.negated), "{:?}", a.sentiment.evidence);
}

#[test]
fn families_feed_churn_once_and_not_twice_with_a_churn_cue() {
    let c = analyze("Un rappel promis, jamais eu. Un avoir promis, jamais vu.").churn;
    let trust = c.evidence.iter().filter(|e| e.family.as_deref() == Some("unkept_promise")).count();
    assert_eq!(trust, 1, "{c:?}");
    assert_eq!(c.reasons[0], "lost_trust");
    // "toujours pas" is a repeated_contact churn cue: the no_answer family over the same words
    // does not count it again.
    let c = analyze("Toujours pas de réponse.").churn;
    assert_eq!(c.evidence.len(), 1, "{c:?}");
}
