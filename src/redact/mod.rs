//! PII redaction for French and English comments (`verbatim analyze --redact`).
//!
//! Six kinds are recognised: e-mail addresses, phone numbers, IBANs, French RIBs (bank account
//! numbers), French NIRs (social security numbers) and payment-card numbers.
//! Each recogniser lives in a private module (`recognizers`, `french`); this module merges their
//! candidates and replaces them with a fixed mask such as `[PHONE]`.
//!
//! # Overlaps
//!
//! When candidates of different kinds overlap, the kind with the stronger evidence wins:
//! **e-mail > IBAN > RIB > NIR > card > phone**.
//! - An e-mail needs an `@` and a domain, and a number glued to it (`0612345678@free.fr`) is
//!   its local part: masking the digits as a phone would leak the domain.
//! - An IBAN passes a country-length table *and* a mod-97 check; its digit groups often look
//!   like a card or a phone. A French IBAN holds a RIB, so the longer IBAN comes first.
//! - A RIB and a NIR have a fixed layout and a mod-97 key (1 random number in 97 passes).
//! - A card passes Luhn (1 random number in 10 does); a phone number only has a shape.
//!
//! Within one kind, the earlier candidate wins, then the longer one.
//!
//! # Judgement calls
//!
//! - A digit run with no separators is a phone only when it has the French national shape
//!   (`0612345678`, exactly 10 digits starting `0[1-9]`) and does not follow a reference word
//!   (`client n° 0612345678`, `dossier 0612345678`: the list is
//!   `lexicons/redact/context_words.tsv`). A bare US number (`9148445695`) is indistinguishable
//!   from a booking reference and is left alone. Grouped numbers (`06 12 34 56 78`,
//!   `06/12/34/56/78`, `33 6 12 34 56 78`) are phones whatever precedes them.
//! - Other long runs, such as order numbers, are left alone, unless they have 13-19 digits and
//!   pass Luhn, in which case they are masked as a card: with a 1-in-10 chance for a random
//!   number, over-masking an order number is the price of never leaking a card number written
//!   without spaces. Grouped digits are a card only in a card's grouping (4-4-4-4, 4-6-5…), so a
//!   SIRET written `732 829 320 00074` (Luhn-valid by construction) is left alone, and so is a
//!   bare 14-digit run after `SIRET`/`SIREN`: a company's id is not personal data.
//! - A NIR or RIB may be written whole or with separators between its groups only
//!   (`1 84 12 75 123 456 40`, `30006 00001 12345678901 89`); the key is always checked, so the
//!   issue-style `1 84 12 75 123 456 78` with a wrong key is not masked.
//! - Dates (`12/03/2025`), years and amounts (`1 250,00 €`, `+1 250 000 €`) are not phones:
//!   commas are never phone separators, slashes only between the five pairs of a French number,
//!   and a currency or `%` sign after the digits rejects the match.
//! - French short numbers (`3949`) and toll-free `0 800 …` written in irregular groups are not
//!   recognised.
//! - Metadata values ([`Redactor::redact_field`]) go through the same recognisers, the column's
//!   name standing for the word before the value: a `customer` column holding `0612345678` is
//!   a customer number, a `telephone` column holding it is a phone.
//!
//! Offsets are byte offsets into the original text and always fall on `char` boundaries.

mod context;
mod french;
mod recognizers;
mod scan;

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde::Serialize;

/// A kind of personal data the redactor recognises.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PiiKind {
    /// An e-mail address.
    Email,
    /// A phone number (French, North-American or `+`-international).
    Phone,
    /// An IBAN that passes the ISO 13616 mod-97 check.
    Iban,
    /// A French RIB (bank, branch, account, key) whose key checks.
    Rib,
    /// A French NIR (social security number, 13 digits and a 2-digit key) whose key checks.
    Nir,
    /// A payment-card number that passes the Luhn check.
    Card,
}

impl PiiKind {
    /// Every kind, in declaration order.
    pub const ALL: [PiiKind; 6] =
        [PiiKind::Email, PiiKind::Phone, PiiKind::Iban, PiiKind::Rib, PiiKind::Nir, PiiKind::Card];

    /// The snake_case name, as serialised.
    pub fn as_str(self) -> &'static str {
        match self {
            PiiKind::Email => "email",
            PiiKind::Phone => "phone",
            PiiKind::Iban => "iban",
            PiiKind::Rib => "rib",
            PiiKind::Nir => "nir",
            PiiKind::Card => "card",
        }
    }

    /// The text that replaces a span of this kind.
    pub fn mask(self) -> &'static str {
        match self {
            PiiKind::Email => "[EMAIL]",
            PiiKind::Phone => "[PHONE]",
            PiiKind::Iban => "[IBAN]",
            PiiKind::Rib => "[RIB]",
            PiiKind::Nir => "[NIR]",
            PiiKind::Card => "[CARD]",
        }
    }

    /// Rank when spans overlap: lower wins (see the module docs for why).
    fn precedence(self) -> u8 {
        match self {
            PiiKind::Email => 0,
            PiiKind::Iban => 1,
            PiiKind::Rib => 2,
            PiiKind::Nir => 3,
            PiiKind::Card => 4,
            PiiKind::Phone => 5,
        }
    }
}

/// One piece of PII found in a text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PiiSpan {
    /// What was found.
    pub kind: PiiKind,
    /// Byte offset of the first byte, into the original text.
    pub start: usize,
    /// Byte offset just past the last byte, into the original text.
    pub end: usize,
}

/// A redacted text and what was removed from it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Redacted {
    /// The text with every span replaced by its kind's [`PiiKind::mask`].
    pub text: String,
    /// The spans, as byte offsets into the *original* text, sorted and non-overlapping.
    pub spans: Vec<PiiSpan>,
}

/// Finds and masks PII. Cheap to create: the regexes are compiled once per process.
#[derive(Debug, Clone, Copy, Default)]
pub struct Redactor {
    // Private so that recognisers can gain configuration without breaking callers.
    _private: (),
}

impl Redactor {
    /// A redactor with every recogniser enabled.
    pub fn new() -> Redactor {
        Redactor { _private: () }
    }

    /// All PII spans in `text`, sorted by offset and non-overlapping.
    pub fn find(&self, text: &str) -> Vec<PiiSpan> {
        find(text, None)
    }

    /// `text` with every span masked; borrowed unchanged when nothing was found.
    pub fn redact<'t>(&self, text: &'t str) -> Cow<'t, str> {
        let spans = self.find(text);
        if spans.is_empty() { Cow::Borrowed(text) } else { Cow::Owned(apply(text, &spans)) }
    }

    /// The masked text together with the spans that were masked.
    pub fn redact_with_spans(&self, text: &str) -> Redacted {
        let spans = self.find(text);
        Redacted { text: apply(text, &spans), spans }
    }

    /// A metadata value masked like a comment, the column's `field` name standing for the word
    /// before the value: in a `customer` or `contrat` column a bare `0612345678` is a reference
    /// and stays, in a `telephone` column it is a phone. An e-mail is masked in any column.
    pub fn redact_field(&self, value: &str, field: &str) -> Redacted {
        let spans = find(value, Some(field));
        Redacted { text: apply(value, &spans), spans }
    }
}

/// The spans of every recogniser, `label` being the metadata column's name if any.
fn find(text: &str, label: Option<&str>) -> Vec<PiiSpan> {
    let candidates = [
        (PiiKind::Email, recognizers::emails(text)),
        (PiiKind::Iban, recognizers::ibans(text)),
        (PiiKind::Rib, french::ribs(text)),
        (PiiKind::Nir, french::nirs(text)),
        (PiiKind::Card, recognizers::cards(text, label)),
        (PiiKind::Phone, recognizers::phones(text, label)),
    ];
    let mut all: Vec<PiiSpan> = candidates
        .into_iter()
        .flat_map(|(kind, ranges)| {
            ranges.into_iter().map(move |(start, end)| PiiSpan { kind, start, end })
        })
        .collect();
    all.sort_by_key(|s| (s.kind.precedence(), s.start, std::cmp::Reverse(s.end)));
    resolve_overlaps(all)
}

/// Keeps spans in the given (precedence) order, dropping any that overlaps one already kept,
/// and returns the kept ones sorted by offset. The map is keyed by start so each overlap
/// test only looks at the two neighbours: O(n log n) even on pathological input.
fn resolve_overlaps(by_precedence: Vec<PiiSpan>) -> Vec<PiiSpan> {
    let mut kept: BTreeMap<usize, PiiSpan> = BTreeMap::new();
    for span in by_precedence {
        let before = kept.range(..=span.start).next_back().map(|(_, s)| s.end > span.start);
        let after = kept.range(span.start..).next().map(|(_, s)| s.start < span.end);
        if before != Some(true) && after != Some(true) {
            kept.insert(span.start, span);
        }
    }
    kept.into_values().collect()
}

/// Replaces each (sorted, non-overlapping) span by its mask.
fn apply(text: &str, spans: &[PiiSpan]) -> String {
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for span in spans {
        out.push_str(&text[last..span.start]);
        out.push_str(span.kind.mask());
        last = span.end;
    }
    out.push_str(&text[last..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The (kind, matched text) pairs found in `text`, in order.
    fn found(text: &str) -> Vec<(PiiKind, &str)> {
        Redactor::new().find(text).into_iter().map(|s| (s.kind, &text[s.start..s.end])).collect()
    }

    /// Asserts that `text` contains exactly one span, of `kind`, covering `expected`.
    fn assert_one(text: &str, kind: PiiKind, expected: &str) {
        assert_eq!(found(text), vec![(kind, expected)], "in {text:?}");
    }

    /// Asserts that nothing in `text` is taken for PII.
    fn assert_none(text: &str) {
        assert_eq!(found(text), vec![], "false positive in {text:?}");
    }

    #[test]
    fn constant_patterns_compile() {
        // Forces every LazyLock regex, so a bad pattern fails here and not in production.
        assert!(Redactor::new().find("x@y.fr +33 6 12 34 56 78 FR76 4111").len() >= 2);
    }

    #[test]
    fn kind_names_and_masks() {
        let names: Vec<_> = PiiKind::ALL.iter().map(|k| k.as_str()).collect();
        assert_eq!(names, ["email", "phone", "iban", "rib", "nir", "card"]);
        assert_eq!(PiiKind::Card.mask(), "[CARD]");
        assert_eq!(serde_json::to_string(&PiiKind::Iban).ok().as_deref(), Some("\"iban\""));
    }

    #[test]
    fn fr_phone_national_shapes() {
        let t = "Appelez-moi au 06 12 34 56 78 svp";
        assert_one(t, PiiKind::Phone, "06 12 34 56 78");
        assert_one("mon numéro : 0612345678.", PiiKind::Phone, "0612345678");
        assert_one("tel 01.45.67.89.10 ou rien", PiiKind::Phone, "01.45.67.89.10");
        assert_one("tel 07-12-34-56-78", PiiKind::Phone, "07-12-34-56-78");
        assert_one("le 0892 020 423 ne répond pas", PiiKind::Phone, "0892 020 423");
        assert_one("au 0 980 980 880,", PiiKind::Phone, "0 980 980 880");
    }

    #[test]
    fn fr_phone_international_shapes() {
        assert_one("joignable au +33 6 12 34 56 78.", PiiKind::Phone, "+33 6 12 34 56 78");
        assert_one("(+33612345678)", PiiKind::Phone, "+33612345678");
        assert_one("depuis l'étranger 0033 6 12 34 56 78", PiiKind::Phone, "0033 6 12 34 56 78");
        assert_one("au +33 (0)6 12 34 56 78 merci", PiiKind::Phone, "+33 (0)6 12 34 56 78");
    }

    #[test]
    fn en_phone_shapes() {
        assert_one("call (555) 010-0199 now", PiiKind::Phone, "(555) 010-0199");
        assert_one("call 555-010-0199.", PiiKind::Phone, "555-010-0199");
        assert_one("call 1-800-433-7300 and see", PiiKind::Phone, "1-800-433-7300");
        assert_one("is (631)891-5722", PiiKind::Phone, "(631)891-5722");
        assert_one("call +1 555 010 0199", PiiKind::Phone, "+1 555 010 0199");
        assert_one("UK office +44 20 7946 0958, ask", PiiKind::Phone, "+44 20 7946 0958");
    }

    #[test]
    fn dates_amounts_years_are_not_phones() {
        assert_none("sinistre déclaré le 12/03/2025 à 14h");
        assert_none("remboursement de 1 250,00 € sur 12 mois");
        assert_none("client depuis 2016, résilié en 2021");
        assert_none("le 12.03.2025 puis le 2025-03-12");
        assert_none("une hausse de +1 250 000 € cette année");
        assert_none("I paid $1,250.00 on 2/24/2015 11:35");
    }

    #[test]
    fn order_numbers_without_phone_shape_are_kept() {
        assert_none("commande n° 123456789012 toujours pas livrée");
        assert_none("ref 1234061234567890");
        // A bare 10-digit run is only a phone in the French 0X shape: US numbers need
        // separators (`9148445695` could as well be a booking reference).
        assert_none("booking 9148445695 lost");
        assert_none("dossier 4111 1111 1111 1112");
    }

    #[test]
    fn defect_13_nir_with_key_is_masked() {
        assert_one("mon n° de sécu 1 84 12 75 123 456 40.", PiiKind::Nir, "1 84 12 75 123 456 40");
        assert_one("NIR 184127512345640 merci", PiiKind::Nir, "184127512345640");
        assert_one("sécu : 1.84.12.75.123.456.40", PiiKind::Nir, "1.84.12.75.123.456.40");
        assert_one("INSEE 2 55 08 14 168 025 38", PiiKind::Nir, "2 55 08 14 168 025 38");
        assert_one("provisoire 7 84 05 12 345 678 73", PiiKind::Nir, "7 84 05 12 345 678 73");
        assert_eq!(Redactor::new().redact("sécu 1 84 12 75 123 456 40 svp"), "sécu [NIR] svp");
    }

    #[test]
    fn defect_13_nir_with_a_wrong_key_or_layout_is_not_masked() {
        // The issue's own example: its key should be 40.
        assert_none("1 84 12 75 123 456 78");
        assert_none("184127512345641");
        // Separators inside a group: not a NIR's layout.
        assert_none("18 41 27 51 23 45 640");
    }

    #[test]
    fn defect_13_corsica_nir() {
        assert_one("né à Ajaccio : 2 90 05 2A 004 123 52", PiiKind::Nir, "2 90 05 2A 004 123 52");
        assert_one("Bastia 181122b03312306", PiiKind::Nir, "181122b03312306");
        assert_none("2 90 05 2A 004 123 51");
        assert_none("2 90 05 2C 004 123 52");
    }

    #[test]
    fn defect_13_rib_with_key() {
        let t = "mon RIB : 30006 00001 12345678901 89, merci";
        assert_one(t, PiiKind::Rib, "30006 00001 12345678901 89");
        assert_one("rib 30006000011234567890189.", PiiKind::Rib, "30006000011234567890189");
        assert_one("RIB 10278 08000 00012345K01 21", PiiKind::Rib, "10278 08000 00012345K01 21");
        assert_none("RIB 30006 00001 12345678901 88");
        assert_eq!(Redactor::new().redact(t), "mon RIB : [RIB], merci");
    }

    #[test]
    fn defect_13_phone_with_slashes() {
        assert_one("joignable au 06/12/34/56/78 le soir", PiiKind::Phone, "06/12/34/56/78");
        assert_one("fixe: 01/45/67/89/10.", PiiKind::Phone, "01/45/67/89/10");
        assert_one("06.12.34.56.78 ou", PiiKind::Phone, "06.12.34.56.78");
        assert_one("06-12-34-56-78 ou", PiiKind::Phone, "06-12-34-56-78");
        // Dates keep their slashes.
        assert_none("le 06/12/2024 puis le 01/02/03");
    }

    #[test]
    fn defect_13_phone_33_without_plus() {
        assert_one("mon portable 33 6 12 34 56 78", PiiKind::Phone, "33 6 12 34 56 78");
        assert_one("(33 (0)6 12 34 56 78)", PiiKind::Phone, "33 (0)6 12 34 56 78");
        assert_one("au +33 6 12 34 56 78", PiiKind::Phone, "+33 6 12 34 56 78");
        assert_one("au 0033 6 12 34 56 78", PiiKind::Phone, "0033 6 12 34 56 78");
        // Without separators, 33 and nine digits could be anything.
        assert_none("réf 33612345678");
    }

    #[test]
    fn defect_13_card_with_dots() {
        assert_one("carte 4970.1012.3456.7893 bloquée", PiiKind::Card, "4970.1012.3456.7893");
        assert_none("carte 4970.1012.3456.7892");
        // A card after a short number: the scan resumes at the card's first group.
        assert_one("le 3 4970 1012 3456 7893", PiiKind::Card, "4970 1012 3456 7893");
    }

    #[test]
    fn defect_13_customer_number_not_a_phone() {
        assert_none("client n° 0123456789, toujours pas remboursé");
        assert_none("numéro de client : 0612345678");
        assert_none("dossier 0612345678 en attente");
        assert_none("my policy no. 0612345678 was cancelled");
        assert_none("sinistre 2025123456 déclaré en mars");
        assert_none("client n° 1234567890");
        // A phone word, or a grouped number, is still a phone.
        assert_one("mon n° 0612345678", PiiKind::Phone, "0612345678");
        assert_one("dossier 06 12 34 56 78", PiiKind::Phone, "06 12 34 56 78");
        assert_one("client, rappelez le 0612345678", PiiKind::Phone, "0612345678");
        // From the insurance reviews: the customer service's line is still a phone.
        assert_one("j'appelle le service client 0970809070", PiiKind::Phone, "0970809070");
    }

    #[test]
    fn defect_13_siret_not_a_card() {
        // 732 829 320 00074 is Luhn-valid, like every SIRET.
        assert!(recognizers::luhn_ok(&"73282932000074".chars().collect::<Vec<_>>()));
        assert_none("SIRET 732 829 320 00074, société de courtage");
        assert_none("notre courtier (siret : 73282932000074)");
        assert_none("n° SIRET 73282932000074");
        // Without the word, a bare Luhn-valid run could be a card and is masked.
        assert_one("carte 73282932000074", PiiKind::Card, "73282932000074");
    }

    #[test]
    fn defect_13_meta_values_use_the_column_name() {
        let r = Redactor::new();
        assert_eq!(r.redact_field("jean.dupont@example.com", "customer").text, "[EMAIL]");
        assert_eq!(r.redact_field("0612345678", "customer").text, "0612345678");
        assert_eq!(r.redact_field("0612345678", "telephone").text, "[PHONE]");
        assert_eq!(r.redact_field("06 12 34 56 78", "customer").text, "[PHONE]");
        assert_eq!(r.redact_field("2025-05-25", "date").text, "2025-05-25");
    }

    #[test]
    fn emails_fr_and_en() {
        assert_one("écrivez à jean.dupont@orange.fr.", PiiKind::Email, "jean.dupont@orange.fr");
        assert_one("mail: rené.dupont@laposte.net", PiiKind::Email, "rené.dupont@laposte.net");
        assert_one(
            "<john.smith+air@example.co.uk>",
            PiiKind::Email,
            "john.smith+air@example.co.uk",
        );
        assert_none("rendez-vous @ 10h chez nous");
    }

    #[test]
    fn email_beats_phone_in_its_local_part() {
        assert_one("0612345678@free.fr", PiiKind::Email, "0612345678@free.fr");
    }

    #[test]
    fn iban_fr_valid_with_and_without_spaces() {
        let t = "mon IBAN FR76 3000 6000 0112 3456 7890 189 MERCI";
        assert_one(t, PiiKind::Iban, "FR76 3000 6000 0112 3456 7890 189");
        assert_one("FR7630006000011234567890189", PiiKind::Iban, "FR7630006000011234567890189");
        assert_one(
            "rib: fr76 3000 6000 0112 3456 7890 189",
            PiiKind::Iban,
            "fr76 3000 6000 0112 3456 7890 189",
        );
    }

    #[test]
    fn iban_with_one_digit_changed_is_not_masked() {
        assert_none("FR76 3000 6000 0112 3456 7890 188");
        assert_none("FR76 3000 6000 0112 3456 7891 189");
    }

    #[test]
    fn iban_other_countries() {
        assert_one(
            "IBAN GB82 WEST 1234 5698 7654 32.",
            PiiKind::Iban,
            "GB82 WEST 1234 5698 7654 32",
        );
        assert_one("DE89370400440532013000", PiiKind::Iban, "DE89370400440532013000");
        assert_one("BE68 5390 0754 7034", PiiKind::Iban, "BE68 5390 0754 7034");
    }

    #[test]
    fn cards_luhn_valid_are_masked() {
        assert_one("carte 4111 1111 1111 1111 expirée", PiiKind::Card, "4111 1111 1111 1111");
        assert_one("card 5555-5555-5555-4444", PiiKind::Card, "5555-5555-5555-4444");
        assert_one("amex 3782 822463 10005", PiiKind::Card, "3782 822463 10005");
        assert_one("4111111111111111", PiiKind::Card, "4111111111111111");
    }

    #[test]
    fn cards_luhn_invalid_are_not_masked() {
        assert_none("carte 4111 1111 1111 1112");
        assert_none("card 1234 5678 9012 3456");
    }

    #[test]
    fn card_followed_by_more_digits_keeps_the_valid_prefix() {
        assert_one("4111 1111 1111 1111 2222", PiiKind::Card, "4111 1111 1111 1111");
    }

    #[test]
    fn several_pii_in_one_comment() {
        let t = "Contact: a.b@c.fr, 06 12 34 56 78, IBAN FR76 3000 6000 0112 3456 7890 189, \
                 carte 4111 1111 1111 1111.";
        let kinds: Vec<_> = found(t).into_iter().map(|(k, _)| k).collect();
        assert_eq!(kinds, [PiiKind::Email, PiiKind::Phone, PiiKind::Iban, PiiKind::Card]);
        let r = Redactor::new().redact(t);
        assert_eq!(
            r,
            "Contact: [EMAIL], [PHONE], IBAN [IBAN], \
                       carte [CARD]."
        );
    }

    #[test]
    fn unicode_around_pii_keeps_char_boundaries() {
        let t = "Évidemment — écrivez à zoé@exemple.fr ☺ ou 📞06 12 34 56 78😀 fin";
        let r = Redactor::new().redact_with_spans(t);
        assert_eq!(r.text, "Évidemment — écrivez à [EMAIL] ☺ ou 📞[PHONE]😀 fin");
        for s in &r.spans {
            assert!(t.is_char_boundary(s.start) && t.is_char_boundary(s.end), "{s:?}");
        }
        assert_eq!(&t[r.spans[1].start..r.spans[1].end], "06 12 34 56 78");
    }

    #[test]
    fn numbers_glued_to_accented_letters_are_not_pii() {
        // The regexes' word boundaries are ASCII; the Unicode ones are checked in code.
        assert_none("réf0612345678é");
        assert_none("ref 06 12 34 56 78é");
        assert_none("éFR76 3000 6000 0112 3456 7890 189");
        assert_one(
            "é FR76 3000 6000 0112 3456 7890 189",
            PiiKind::Iban,
            "FR76 3000 6000 0112 3456 7890 189",
        );
    }

    #[test]
    fn no_break_spaces_count_as_separators() {
        let t = "tél.\u{a0}06\u{202f}12\u{202f}34\u{202f}56\u{202f}78";
        assert_eq!(found(t).len(), 1);
        assert_eq!(found(t)[0].0, PiiKind::Phone);
    }

    #[test]
    fn redact_borrows_when_nothing_found() {
        let t = "Très bon service, rien à signaler.";
        assert!(matches!(Redactor::new().redact(t), Cow::Borrowed(_)));
        assert!(matches!(Redactor::new().redact("06 12 34 56 78"), Cow::Owned(_)));
    }

    #[test]
    fn overlap_resolution_prefers_precedence_then_position() {
        let span = |kind, start, end| PiiSpan { kind, start, end };
        let kept = resolve_overlaps(vec![
            span(PiiKind::Iban, 5, 20),
            span(PiiKind::Card, 10, 25),
            span(PiiKind::Phone, 0, 6),
            span(PiiKind::Phone, 20, 30),
        ]);
        assert_eq!(kept, vec![span(PiiKind::Iban, 5, 20), span(PiiKind::Phone, 20, 30)]);
    }

    fn check_invariants(text: &str) -> Result<(), TestCaseError> {
        let r = Redactor::new().redact_with_spans(text);
        let mut last_end = 0;
        for s in &r.spans {
            prop_assert!(s.start < s.end && s.end <= text.len());
            prop_assert!(text.is_char_boundary(s.start) && text.is_char_boundary(s.end));
            prop_assert!(s.start >= last_end, "overlap or unsorted: {:?}", r.spans);
            last_end = s.end;
        }
        prop_assert_eq!(Redactor::new().redact(text), r.text.as_str());
        Ok(())
    }

    proptest! {
        #[test]
        fn never_panics_on_arbitrary_text(text in any::<String>()) {
            check_invariants(&text)?;
        }

        #[test]
        fn never_panics_on_digit_heavy_text(text in "[0-9 .+()@a-zA-Zé€\u{a0}\u{202f}/-]{0,80}") {
            check_invariants(&text)?;
        }
    }
}
