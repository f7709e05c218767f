//! The index schema: which field holds what, and how each is indexed.
//!
//! The comment is stored once (`text`, not indexed) and indexed in the field of its language
//! (`text_fr` or `text_en`, each with its own analyser; `und` comments go into both), so that a
//! query word is stemmed the French way against French comments and the English way against
//! English ones. Labels are raw terms (exact filters such as `sentiment:negative`); `facets`
//! carries the same labels as hierarchical facets for counting (`/theme/order/delivery`,
//! `/sentiment/negative`, …).

use tantivy::schema::{
    DateOptions, DateTimePrecision, FAST, FacetOptions, Field, INDEXED, IndexRecordOption, STORED,
    STRING, Schema, TextFieldIndexing, TextOptions,
};

use super::IndexError;
use super::analyzers;

/// Field names, as users type them in queries.
pub mod names {
    /// The record id (exact).
    pub const ID: &str = "id";
    /// The original comment (stored only).
    pub const TEXT: &str = "text";
    /// French full text.
    pub const TEXT_FR: &str = "text_fr";
    /// English full text.
    pub const TEXT_EN: &str = "text_en";
    /// Customer id (exact).
    pub const CUSTOMER: &str = "customer";
    /// Comment date (range queries).
    pub const DATE: &str = "date";
    /// The date as written in the input (stored only).
    pub const DATE_TEXT: &str = "date_text";
    /// Channel (exact).
    pub const CHANNEL: &str = "channel";
    /// Language code: fr, en, und.
    pub const LANG: &str = "lang";
    /// Tone label.
    pub const SENTIMENT: &str = "sentiment";
    /// Tone score, −1 … 1.
    pub const SENTIMENT_SCORE: &str = "sentiment_score";
    /// Theme ids, each with its ancestors, so `theme:billing` also finds `payment` comments.
    pub const THEME: &str = "theme";
    /// The record's own theme ids, in order of mention (stored only).
    pub const THEMES: &str = "themes";
    /// Mode label.
    pub const MODE: &str = "mode";
    /// Churn level.
    pub const CHURN: &str = "churn";
    /// Churn risk, 0 … 1.
    pub const CHURN_RISK: &str = "churn_risk";
    /// The input's own score column (NPS, stars), as written (stored only).
    pub const RATING: &str = "rating";
    /// Hierarchical facets for counting.
    pub const FACETS: &str = "facets";
    /// The user's own metadata columns, as a JSON object (`meta.segment:pro`).
    pub const META: &str = "meta";
}

/// Handles of every field of the schema.
#[derive(Debug, Clone, Copy)]
pub struct Fields {
    /// See [`names::ID`].
    pub id: Field,
    /// See [`names::TEXT`].
    pub text: Field,
    /// See [`names::TEXT_FR`].
    pub text_fr: Field,
    /// See [`names::TEXT_EN`].
    pub text_en: Field,
    /// See [`names::CUSTOMER`].
    pub customer: Field,
    /// See [`names::DATE`].
    pub date: Field,
    /// See [`names::DATE_TEXT`].
    pub date_text: Field,
    /// See [`names::CHANNEL`].
    pub channel: Field,
    /// See [`names::LANG`].
    pub lang: Field,
    /// See [`names::SENTIMENT`].
    pub sentiment: Field,
    /// See [`names::SENTIMENT_SCORE`].
    pub sentiment_score: Field,
    /// See [`names::THEME`].
    pub theme: Field,
    /// See [`names::THEMES`].
    pub themes: Field,
    /// See [`names::MODE`].
    pub mode: Field,
    /// See [`names::CHURN`].
    pub churn: Field,
    /// See [`names::CHURN_RISK`].
    pub churn_risk: Field,
    /// See [`names::RATING`].
    pub rating: Field,
    /// See [`names::FACETS`].
    pub facets: Field,
    /// See [`names::META`].
    pub meta: Field,
}

fn full_text(analyzer: &str) -> TextOptions {
    TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer(analyzer)
            // Positions for phrase queries and highlighting.
            .set_index_option(IndexRecordOption::WithFreqsAndPositions),
    )
}

/// The schema of a verbatim index.
pub fn build() -> Schema {
    use names::*;
    let mut b = Schema::builder();
    b.add_text_field(ID, STRING | STORED);
    b.add_text_field(TEXT, STORED);
    b.add_text_field(TEXT_FR, full_text(analyzers::FR));
    b.add_text_field(TEXT_EN, full_text(analyzers::EN));
    b.add_text_field(CUSTOMER, STRING | STORED);
    // FAST: customer history sorts by date without loading documents.
    b.add_date_field(
        DATE,
        DateOptions::from(INDEXED).set_fast().set_precision(DateTimePrecision::Seconds),
    );
    b.add_text_field(DATE_TEXT, STORED);
    b.add_text_field(CHANNEL, STRING | STORED);
    b.add_text_field(LANG, STRING | STORED);
    b.add_text_field(SENTIMENT, STRING | STORED);
    b.add_f64_field(SENTIMENT_SCORE, INDEXED | STORED | FAST);
    b.add_text_field(THEME, STRING);
    b.add_text_field(THEMES, STORED);
    b.add_text_field(MODE, STRING | STORED);
    b.add_text_field(CHURN, STRING | STORED);
    b.add_f64_field(CHURN_RISK, INDEXED | STORED | FAST);
    b.add_text_field(RATING, STORED);
    b.add_facet_field(FACETS, FacetOptions::default());
    // Exact values (raw tokens), searchable as `meta.NAME:VALUE`, and stored for the hits.
    b.add_json_field(META, STRING | STORED);
    b.build()
}

impl Fields {
    /// Looks every field up in `schema`; an index built by another schema version fails here
    /// with a message that says to rebuild.
    pub fn from_schema(schema: &Schema) -> Result<Fields, IndexError> {
        use names::*;
        let get = |name: &str| {
            schema.get_field(name).map_err(|_| IndexError::Schema {
                message: format!(
                    "the index has no field `{name}`: it was built by another version of verbatim; \
                     rebuild it with `verbatim index --rebuild`"
                ),
            })
        };
        Ok(Fields {
            id: get(ID)?,
            text: get(TEXT)?,
            text_fr: get(TEXT_FR)?,
            text_en: get(TEXT_EN)?,
            customer: get(CUSTOMER)?,
            date: get(DATE)?,
            date_text: get(DATE_TEXT)?,
            channel: get(CHANNEL)?,
            lang: get(LANG)?,
            sentiment: get(SENTIMENT)?,
            sentiment_score: get(SENTIMENT_SCORE)?,
            theme: get(THEME)?,
            themes: get(THEMES)?,
            mode: get(MODE)?,
            churn: get(CHURN)?,
            churn_risk: get(CHURN_RISK)?,
            rating: get(RATING)?,
            facets: get(FACETS)?,
            meta: get(META)?,
        })
    }
}
