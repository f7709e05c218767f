//! Searching an index: top-k with snippets, facet counts, customer history and "more like
//! this".
//!
//! A query word without a field is looked up in `text_fr` and `text_en`, each analysed with its
//! own analyser, so one query finds French and English comments; `text_fr:` / `text_en:` target
//! one language. The query text is rewritten before parsing (see `query.rs`).

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;
use std::path::Path;
use std::sync::Arc;

use serde::Serialize;
use tantivy::collector::{Count, FacetCollector, FacetCounts, MultiCollector, TopDocs};
use tantivy::query::{
    AllQuery, BooleanQuery, ConstScoreQuery, MoreLikeThisQuery, Occur, Query, QueryParser,
    TermQuery,
};
use tantivy::schema::{Facet, Field, IndexRecordOption, OwnedValue, Value};
use tantivy::snippet::{Snippet, SnippetGenerator};
use tantivy::{DateTime, DocAddress, IndexReader, Order, Searcher, TantivyDocument, Term};

use super::IndexError;
use super::query;
use super::schema::{Fields, names};
use super::writer::open_index;
use crate::analysis::Lang;
use crate::error::Error;
use crate::lexicon::Resources;

/// Longest snippet, in characters.
const SNIPPET_CHARS: usize = 200;

/// What to look for.
#[derive(Debug, Clone, Default)]
pub struct SearchRequest {
    /// Query text (may be empty: every document, or only the customer / like constraint).
    pub query: String,
    /// Only this customer's records, in date order (oldest first) instead of by score.
    pub customer: Option<String>,
    /// Records like the one with this id (the record itself left out); `query` then filters.
    pub like: Option<String>,
    /// Hits to return (0: only the total and the facets).
    pub limit: usize,
    /// Hits to skip (paging).
    pub offset: usize,
}

/// The answer.
#[derive(Debug, Clone, Serialize)]
pub struct SearchResults {
    /// Documents matching, in all.
    pub total: usize,
    /// Hits skipped.
    pub offset: usize,
    /// The page of hits.
    pub hits: Vec<Hit>,
    /// Counts over all matching documents (not only this page).
    pub facets: Facets,
}

/// One matching document and its stored labels.
#[derive(Debug, Clone, Serialize)]
pub struct Hit {
    /// Record id.
    pub id: String,
    /// Relevance (BM25; 0 in customer history, which is in date order).
    pub score: f32,
    /// The best passage, HTML-escaped, matched words in `<b>…</b>`.
    pub snippet: String,
    /// Language.
    pub lang: String,
    /// Tone label.
    pub sentiment: String,
    /// Tone score.
    pub sentiment_score: f64,
    /// Theme ids in order of mention.
    pub themes: Vec<String>,
    /// Mode.
    pub mode: String,
    /// Churn level.
    pub churn: String,
    /// Churn risk.
    pub churn_risk: f64,
    /// Date as written in the input.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date: Option<String>,
    /// Customer id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub customer: Option<String>,
    /// Channel.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
    /// The input's score column (NPS, stars), as written.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rating: Option<String>,
    /// The user's own metadata columns.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub meta: BTreeMap<String, String>,
    /// The snippet's plain text, for terminals.
    #[serde(skip)]
    pub fragment: String,
    /// Byte ranges of the matched words in `fragment`.
    #[serde(skip)]
    pub highlighted: Vec<Range<usize>>,
}

impl Hit {
    /// The snippet with matched words between `open` and `close` (for terminals).
    pub fn marked_snippet(&self, open: &str, close: &str) -> String {
        let mut out = String::with_capacity(self.fragment.len() + 16);
        let mut pos = 0;
        for r in &self.highlighted {
            if r.start < pos || r.end > self.fragment.len() {
                continue;
            }
            out.push_str(&self.fragment[pos..r.start]);
            out.push_str(open);
            out.push_str(&self.fragment[r.clone()]);
            out.push_str(close);
            pos = r.end;
        }
        out.push_str(&self.fragment[pos..]);
        out
    }
}

/// Facet counts over all matching documents. Theme keys are paths (`order`, `order/delivery`):
/// a comment about a sub-theme also counts for its parent.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Facets {
    /// By theme (hierarchical).
    pub theme: BTreeMap<String, u64>,
    /// By tone label.
    pub sentiment: BTreeMap<String, u64>,
    /// By mode.
    pub mode: BTreeMap<String, u64>,
    /// By churn level.
    pub churn: BTreeMap<String, u64>,
    /// By language.
    pub lang: BTreeMap<String, u64>,
}

/// A searchable index.
pub struct SearchIndex {
    reader: IndexReader,
    fields: Fields,
    parser: QueryParser,
    res: Arc<Resources>,
}

impl SearchIndex {
    /// Opens the index in `dir`. `res` must hold the stop words the index was built with.
    pub fn open(dir: &Path, res: Arc<Resources>) -> Result<SearchIndex, Error> {
        let index = open_index(dir, &res, false)?;
        let fields = Fields::from_schema(&index.schema())?;
        let reader = index.reader()?;
        let mut parser = QueryParser::for_index(&index, vec![fields.text_fr, fields.text_en]);
        // Analysts narrowing down comments expect every word to count ("facture erreur").
        parser.set_conjunction_by_default();
        Ok(SearchIndex { reader, fields, parser, res })
    }

    /// Documents in the index.
    pub fn num_docs(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    /// Runs a search.
    pub fn search(&self, req: &SearchRequest) -> Result<SearchResults, Error> {
        let searcher = self.reader.searcher();
        let f = &self.fields;
        let user = if req.query.trim().is_empty() { None } else { Some(self.parse(&req.query)?) };
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        // The query whose words the snippets highlight.
        let mut highlight: Option<Box<dyn Query>> = None;
        if let Some(c) = &req.customer {
            clauses.push((Occur::Must, term_query(f.customer, c)));
        }
        if let Some(id) = &req.like {
            let mlt = self.like_query(&searcher, id)?;
            highlight = Some(mlt.box_clone());
            clauses.push((Occur::Must, mlt));
            clauses.push((Occur::MustNot, term_query(f.id, id)));
        }
        if let Some(q) = user {
            if req.like.is_some() || req.customer.is_some() {
                // A filter there: the order comes from the similarity or the date.
                clauses.push((Occur::Must, Box::new(ConstScoreQuery::new(q.box_clone(), 0.0))));
            } else {
                clauses.push((Occur::Must, q.box_clone()));
            }
            highlight.get_or_insert(q);
        }
        let query: Box<dyn Query> = if clauses.is_empty() {
            Box::new(AllQuery)
        } else if clauses.len() == 1 && clauses[0].0 == Occur::Must {
            clauses.remove(0).1
        } else {
            Box::new(BooleanQuery::new(clauses))
        };

        let mut multi = MultiCollector::new();
        let count = multi.add_collector(Count);
        let by_date = req.customer.is_some() && req.like.is_none();
        let (top_score, top_date) =
            match (req.limit, by_date) {
                (0, _) => (None, None),
                (n, false) => (
                    Some(multi.add_collector(
                        TopDocs::with_limit(n).and_offset(req.offset).order_by_score(),
                    )),
                    None,
                ),
                (n, true) => (
                    None,
                    Some(
                        multi.add_collector(
                            TopDocs::with_limit(n)
                                .and_offset(req.offset)
                                .order_by_fast_field::<DateTime>(names::DATE, Order::Asc),
                        ),
                    ),
                ),
            };
        let mut top_facets = FacetCollector::for_field(names::FACETS);
        for dim in ["/theme", "/sentiment", "/mode", "/churn", "/lang"] {
            top_facets.add_facet(dim);
        }
        let top_facets = multi.add_collector(top_facets);
        // Sub-theme counts: one collector per level, since tantivy counts only the direct
        // children of the facets a collector is given, and forbids nesting them.
        let levels: Vec<_> = theme_parents_by_level(&searcher)?
            .into_values()
            .map(|parents| {
                let mut c = FacetCollector::for_field(names::FACETS);
                for p in parents {
                    c.add_facet(p);
                }
                multi.add_collector(c)
            })
            .collect();

        let mut fruits = searcher.search(&*query, &multi)?;
        let total = count.extract(&mut fruits);
        let docs: Vec<(f32, DocAddress)> = match (top_score, top_date) {
            (Some(h), _) => h.extract(&mut fruits),
            (_, Some(h)) => h.extract(&mut fruits).into_iter().map(|(_, a)| (0.0, a)).collect(),
            _ => Vec::new(),
        };
        let mut facets = Facets::default();
        let top = top_facets.extract(&mut fruits);
        for (dim, map) in [
            ("/theme", &mut facets.theme),
            ("/sentiment", &mut facets.sentiment),
            ("/mode", &mut facets.mode),
            ("/churn", &mut facets.churn),
            ("/lang", &mut facets.lang),
        ] {
            collect_children(&top, dim, map);
        }
        for level in levels {
            let counts = level.extract(&mut fruits);
            collect_children(&counts, "/theme", &mut facets.theme);
        }

        let snippets = Snippets::new(&searcher, highlight.as_deref(), f)?;
        let hits = docs
            .into_iter()
            .map(|(score, addr)| self.hit(&searcher, &snippets, score, addr))
            .collect::<Result<_, Error>>()?;
        Ok(SearchResults { total, offset: req.offset, hits, facets })
    }

    fn parse(&self, text: &str) -> Result<Box<dyn Query>, Error> {
        query::parse(&self.parser, &self.res, text)
    }

    /// The "more like this" query for the record `id`, analysed in its own language.
    fn like_query(&self, searcher: &Searcher, id: &str) -> Result<Box<dyn Query>, Error> {
        let f = &self.fields;
        let found =
            searcher.search(&*term_query(f.id, id), &TopDocs::with_limit(1).order_by_score())?;
        let Some(&(_, addr)) = found.first() else {
            return Err(IndexError::UnknownId { id: id.to_string() }.into());
        };
        let doc: TantivyDocument = searcher.doc(addr)?;
        let text = str_field(&doc, f.text).unwrap_or_default();
        let lang = str_field(&doc, f.lang).and_then(|l| Lang::parse(&l)).unwrap_or(Lang::Und);
        let mut fields: Vec<(Field, Vec<OwnedValue>)> = Vec::new();
        if lang != Lang::En {
            fields.push((f.text_fr, vec![OwnedValue::Str(text.clone())]));
        }
        if lang != Lang::Fr {
            fields.push((f.text_en, vec![OwnedValue::Str(text)]));
        }
        Ok(Box::new(
            MoreLikeThisQuery::builder()
                // Comments are short: a word said once is already a signal.
                .with_min_doc_frequency(1)
                .with_min_term_frequency(1)
                .with_max_query_terms(25)
                .with_min_word_length(2)
                .with_boost_factor(1.0)
                .with_document_fields(fields),
        ))
    }

    fn hit(
        &self,
        searcher: &Searcher,
        snippets: &Snippets,
        score: f32,
        addr: DocAddress,
    ) -> Result<Hit, Error> {
        let f = &self.fields;
        let doc: TantivyDocument = searcher.doc(addr)?;
        let text = str_field(&doc, f.text).unwrap_or_default();
        let lang = str_field(&doc, f.lang).unwrap_or_default();
        let snippet = snippets.best(&lang, &text);
        let (fragment, highlighted, html) = match snippet {
            Some(s) => (s.fragment().to_string(), s.highlighted().to_vec(), s.to_html()),
            None => {
                // Filters only: the start of the comment.
                let head = head(&text, SNIPPET_CHARS);
                (head.clone(), Vec::new(), html_escape(&head))
            }
        };
        Ok(Hit {
            id: str_field(&doc, f.id).unwrap_or_default(),
            score,
            snippet: html,
            lang,
            sentiment: str_field(&doc, f.sentiment).unwrap_or_default(),
            sentiment_score: f64_field(&doc, f.sentiment_score),
            themes: doc.get_all(f.themes).filter_map(|v| v.as_str().map(str::to_string)).collect(),
            mode: str_field(&doc, f.mode).unwrap_or_default(),
            churn: str_field(&doc, f.churn).unwrap_or_default(),
            churn_risk: f64_field(&doc, f.churn_risk),
            date: str_field(&doc, f.date_text),
            customer: str_field(&doc, f.customer),
            channel: str_field(&doc, f.channel),
            rating: str_field(&doc, f.rating),
            meta: meta_field(&doc, f.meta),
            fragment,
            highlighted,
        })
    }
}

/// Snippet generators for the two full-text fields.
struct Snippets {
    fr: Option<SnippetGenerator>,
    en: Option<SnippetGenerator>,
}

impl Snippets {
    fn new(searcher: &Searcher, query: Option<&dyn Query>, f: &Fields) -> Result<Snippets, Error> {
        let Some(q) = query else { return Ok(Snippets { fr: None, en: None }) };
        let make = |field| -> Result<SnippetGenerator, Error> {
            let mut g = SnippetGenerator::create(searcher, q, field)?;
            g.set_max_num_chars(SNIPPET_CHARS);
            Ok(g)
        };
        Ok(Snippets { fr: Some(make(f.text_fr)?), en: Some(make(f.text_en)?) })
    }

    /// The snippet from the generator of the comment's language (both for `und`), if any
    /// query word is in it.
    fn best(&self, lang: &str, text: &str) -> Option<Snippet> {
        let order = match lang {
            "en" => [&self.en, &None],
            "fr" => [&self.fr, &None],
            _ => [&self.fr, &self.en],
        };
        order
            .into_iter()
            .flatten()
            .map(|g| g.snippet(text))
            .find(|s| !s.is_empty() && !s.highlighted().is_empty())
    }
}

fn term_query(field: Field, value: &str) -> Box<dyn Query> {
    Box::new(TermQuery::new(Term::from_field_text(field, value), IndexRecordOption::Basic))
}

fn str_field(doc: &TantivyDocument, field: Field) -> Option<String> {
    doc.get_first(field).and_then(|v| v.as_str().map(str::to_string))
}

fn f64_field(doc: &TantivyDocument, field: Field) -> f64 {
    doc.get_first(field).and_then(|v| v.as_f64()).unwrap_or(0.0)
}

/// The first `max` characters of `text`, with an ellipsis when cut.
fn head(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_string(),
    }
}

/// The stored `meta` object as name → text.
fn meta_field(doc: &TantivyDocument, field: Field) -> BTreeMap<String, String> {
    let Some(object) = doc.get_first(field).and_then(|v| v.as_object()) else {
        return BTreeMap::new();
    };
    object.filter_map(|(k, v)| v.as_str().map(|s| (k.to_string(), s.to_string()))).collect()
}

fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Adds the direct children of `parent` in `counts` to `out`, keyed by their path below the
/// dimension (`/theme/order/delivery` → `order/delivery`).
fn collect_children(counts: &FacetCounts, parent: &str, out: &mut BTreeMap<String, u64>) {
    for (facet, n) in counts.get(parent) {
        let path = facet.to_path();
        if path.len() >= 2 {
            out.insert(path[1..].join("/"), n);
        }
    }
}

/// Theme facets that have children, grouped by depth (`/theme/order` is depth 2), read from the
/// facet dictionaries: the taxonomy the index was built with, whatever file that was.
fn theme_parents_by_level(searcher: &Searcher) -> Result<BTreeMap<usize, BTreeSet<Facet>>, Error> {
    let mut levels: BTreeMap<usize, BTreeSet<Facet>> = BTreeMap::new();
    let mut facet = Facet::root();
    for seg in searcher.segment_readers() {
        let reader = seg.facet_reader(names::FACETS)?;
        for ord in 0..reader.num_facets() as u64 {
            reader.facet_from_ord(ord, &mut facet)?;
            let path = facet.to_path();
            if path.len() >= 3 && path[0] == "theme" {
                let parent = &path[..path.len() - 1];
                levels.entry(parent.len()).or_default().insert(Facet::from_path(parent));
            }
        }
    }
    Ok(levels)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index::{IndexRecord, Indexer, WriteOptions};
    use crate::{Analyzer, Options, Outcome, Verbatim};

    /// An index of a few French and English comments in a temporary directory.
    fn small_index() -> (tempfile::TempDir, SearchIndex) {
        let dir = tempfile::tempdir().unwrap();
        let res = Arc::new(Resources::embedded().unwrap());
        let analyzer = Analyzer::new(Resources::embedded().unwrap(), Options::default());
        let mut w = Indexer::open(dir.path(), Arc::clone(&res), &WriteOptions::default()).unwrap();
        for (id, text, date) in [
            ("f1", "Ma facture est fausse, je veux résilier mon contrat.", "2025-01-10"),
            ("f2", "Livraison rapide, colis bien emballé, merci !", "2025-02-10"),
            ("e1", "The refund was never paid and the invoice is wrong.", "2025-01-31"),
            ("e2", "Delivery was quick, thank you.", "31/03/2025"),
        ] {
            let mut v = Verbatim::new(id, text);
            v.meta.date = Some(date.into());
            let Outcome::Analysed(a) = analyzer.analyze(&v) else { panic!("{id} analysed") };
            w.add(&IndexRecord::from_analysis(&a)).unwrap();
        }
        w.finish().unwrap();
        let index = SearchIndex::open(dir.path(), res).unwrap();
        (dir, index)
    }

    fn hits(index: &SearchIndex, query: &str) -> Vec<String> {
        let req = SearchRequest { query: query.into(), limit: 10, ..Default::default() };
        let mut ids: Vec<String> =
            index.search(&req).unwrap().hits.into_iter().map(|h| h.id).collect();
        ids.sort();
        ids
    }

    #[test]
    fn queries_cross_languages_and_skip_foreign_stop_words() {
        let (_dir, index) = small_index();
        assert_eq!(hits(&index, "résiliation"), ["f1"]);
        assert_eq!(hits(&index, "the refund"), ["e1"], "`the` must not be required in French");
        assert_eq!(hits(&index, "livraison OR delivery"), ["e2", "f2"]);
        assert_eq!(hits(&index, "text_en:deliveries"), ["e2"], "English stems on text_en");
        assert_eq!(hits(&index, "NOT lang:fr"), ["e1", "e2"]);
        assert_eq!(hits(&index, "facture AND NOT lang:en"), ["f1"]);
    }

    #[test]
    fn date_filters_take_days_and_inclusive_ranges() {
        let (_dir, index) = small_index();
        assert_eq!(hits(&index, "date:2025-01-31"), ["e1"]);
        assert_eq!(hits(&index, "date:[2025-01-01 TO 2025-01-31]"), ["e1", "f1"]);
        assert_eq!(hits(&index, "date:{2025-01-10 TO 2025-03-31]"), ["e1", "e2", "f2"]);
        let bad = SearchRequest { query: "date:yesterday".into(), ..Default::default() };
        assert!(matches!(index.search(&bad), Err(Error::Index(IndexError::Query { .. }))));
    }

    #[test]
    fn head_cuts_on_characters() {
        assert_eq!(head("été", 2), "ét…");
        assert_eq!(head("abc", 5), "abc");
    }
}
