//! Searching an index: top-k with snippets, facet counts, customer history and "more like
//! this".
//!
//! A query word without a field is looked up in `text_fr` and `text_en`, each analysed with its
//! own analyser, so one query finds French and English comments; `text_fr:` / `text_en:` target
//! one language. The query text is rewritten before parsing (see `query.rs`).

use std::borrow::Cow;
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
use tantivy::{DateTime, DocAddress, Index, IndexReader, Order, Searcher, TantivyDocument, Term};

use super::IndexError;
use super::query;
use super::schema::{Fields, names};
use super::writer::open_index;
use crate::analysis::Lang;
use crate::error::Error;
use crate::lexicon::Resources;
use crate::tokenize::Stemmers;

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
    /// The snippet with matched words between `open` and `close`, for terminals: control
    /// characters of the comment are shown escaped ([`terminal_safe`]), so that a comment
    /// cannot drive the terminal.
    pub fn marked_snippet(&self, open: &str, close: &str) -> String {
        let mut out = String::with_capacity(self.fragment.len() + 16);
        let mut pos = 0;
        for r in &self.highlighted {
            let (Some(before), Some(word)) =
                (self.fragment.get(pos..r.start), self.fragment.get(r.clone()))
            else {
                continue;
            };
            out.push_str(&terminal_safe(before));
            out.push_str(open);
            out.push_str(&terminal_safe(word));
            out.push_str(close);
            pos = r.end;
        }
        out.push_str(&terminal_safe(self.fragment.get(pos..).unwrap_or_default()));
        out
    }
}

/// `s` made safe to print on a terminal: line breaks and tabs become spaces, and other control
/// characters (C0, DEL, C1: escape sequences start there) and the bidirectional overrides
/// (which reorder what is shown) are written as `\x1b`, `\u{202e}`. Comments come from
/// customers: printed as they are, a comment holding `ESC [2J` would clear the screen.
pub fn terminal_safe(s: &str) -> Cow<'_, str> {
    let unsafe_char =
        |c: char| c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}');
    if !s.chars().any(unsafe_char) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\n' | '\r' | '\t' => out.push(' '),
            c if (c as u32) < 0x100 && unsafe_char(c) => {
                out.push_str(&format!("\\x{:02x}", c as u32))
            }
            c if unsafe_char(c) => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
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
    index: Index,
    reader: IndexReader,
    fields: Fields,
    parser: QueryParser,
    res: Arc<Resources>,
    stemmers: Stemmers,
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
        Ok(SearchIndex { index, reader, fields, parser, res, stemmers: Stemmers::default() })
    }

    /// Documents in the index.
    pub fn num_docs(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    /// Runs a search. A query longer than [`MAX_QUERY_BYTES`](super::MAX_QUERY_BYTES) or nested deeper than
    /// [`MAX_QUERY_DEPTH`](super::MAX_QUERY_DEPTH) is refused ([`IndexError::Query`]); `limit` and `offset` count at
    /// most the documents in the index, whatever their value.
    pub fn search(&self, req: &SearchRequest) -> Result<SearchResults, Error> {
        let searcher = self.reader.searcher();
        let f = &self.fields;
        let user = if req.query.trim().is_empty() {
            None
        } else {
            Some(self.parse(&searcher, &req.query)?)
        };
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
        // The top-k collectors allocate `limit + offset` slots up front: never more than there
        // are documents (a page past the end is empty either way).
        let docs = usize::try_from(searcher.num_docs()).unwrap_or(usize::MAX);
        let offset = req.offset.min(docs);
        let limit = if offset == docs { 0 } else { req.limit.min(docs) };
        let (top_score, top_date) = match (limit, by_date) {
            (0, _) => (None, None),
            (n, false) => (
                Some(
                    multi.add_collector(TopDocs::with_limit(n).and_offset(offset).order_by_score()),
                ),
                None,
            ),
            (n, true) => (
                None,
                Some(
                    multi.add_collector(
                        TopDocs::with_limit(n)
                            .and_offset(offset)
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

        let mut fruits = searcher.search(&*query, &multi).map_err(|e| {
            if query::is_query_fault(&e) && !req.query.trim().is_empty() {
                Error::from(IndexError::Query { query: req.query.clone(), message: e.to_string() })
            } else {
                e.into()
            }
        })?;
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

    fn parse(&self, searcher: &Searcher, text: &str) -> Result<Box<dyn Query>, Error> {
        let cx = query::Cx {
            parser: &self.parser,
            res: &self.res,
            searcher,
            fields: &self.fields,
            stemmers: &self.stemmers,
            analyzers: self.index.tokenizers(),
        };
        query::parse(&cx, text)
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
    use crate::index::schema;
    use crate::index::{IndexRecord, Indexer, MAX_QUERY_BYTES, MAX_QUERY_DEPTH, WriteOptions};
    use crate::{Analyzer, Options, Outcome, Verbatim};
    use proptest::prelude::*;

    /// One test document: id, language, text, date, customer.
    type Doc<'a> = (&'a str, Lang, &'a str, Option<&'a str>, Option<&'a str>);

    /// An index of `docs` in a temporary directory.
    fn index_of(docs: &[Doc]) -> (tempfile::TempDir, SearchIndex) {
        let dir = tempfile::tempdir().unwrap();
        let res = Arc::new(Resources::embedded().unwrap());
        let mut w = Indexer::open(dir.path(), Arc::clone(&res), &WriteOptions::default()).unwrap();
        for &(id, lang, text, date, customer) in docs {
            let opts = Options { lang: Some(lang), ..Options::default() };
            let analyzer = Analyzer::new(Resources::embedded().unwrap(), opts);
            let mut v = Verbatim::new(id, text);
            v.meta.date = date.map(str::to_string);
            v.meta.customer = customer.map(str::to_string);
            let Outcome::Analysed(a) = analyzer.analyze(&v) else { panic!("{id} analysed") };
            w.add(&IndexRecord::from_analysis(&a)).unwrap();
        }
        w.finish().unwrap();
        let index = SearchIndex::open(dir.path(), res).unwrap();
        (dir, index)
    }

    /// A few French and English comments.
    fn small_index() -> (tempfile::TempDir, SearchIndex) {
        index_of(&[
            (
                "f1",
                Lang::Fr,
                "Ma facture est fausse, je veux résilier mon contrat.",
                Some("2025-01-10"),
                Some("C1"),
            ),
            (
                "f2",
                Lang::Fr,
                "Livraison rapide, colis bien emballé, merci !",
                Some("2025-02-10"),
                None,
            ),
            (
                "e1",
                Lang::En,
                "The refund was never paid and the invoice is wrong.",
                Some("2025-01-31"),
                Some("C1"),
            ),
            ("e2", Lang::En, "Delivery was quick, thank you.", Some("31/03/2025"), None),
        ])
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

    fn is_query_error(r: &Result<SearchResults, Error>) -> bool {
        matches!(r, Err(Error::Index(IndexError::Query { .. })))
    }

    #[test]
    fn defect_1_deep_nesting_is_refused() {
        let (_dir, index) = small_index();
        let search = |q: String| index.search(&SearchRequest { query: q, ..Default::default() });
        // The issue's queries: 4 KB of NOT, 10,000 parentheses; and other forms of nesting.
        for q in [
            format!("{}facture", "NOT ".repeat(1000)),
            format!("{}facture{}", "(".repeat(10_000), ")".repeat(10_000)),
            "(".repeat(10_000),
            format!("{}facture", "-".repeat(1000)),
            format!("{}facture{}", "NOT (".repeat(500), ")".repeat(500)),
            format!("{}facture{}", "a OR -(".repeat(500), ")".repeat(500)),
            format!("theme:{}billing{}", "(".repeat(200), ")".repeat(200)),
            format!("\"{}\"", "(".repeat(200)),
        ] {
            let r = search(q.clone());
            assert!(is_query_error(&r), "{:.40}…: {:?}", q, r.map(|r| r.total));
            let message = r.err().map(|e| e.to_string()).unwrap_or_default();
            assert!(message.contains("levels deep"), "{message:.200}");
        }
        let long = "facture ".repeat(MAX_QUERY_BYTES / 8 + 1);
        let r = search(long);
        assert!(is_query_error(&r) && r.err().unwrap().to_string().contains("bytes long"));
        // At the bound, every form runs (in this test's thread, which has 2 MiB of stack).
        let d = MAX_QUERY_DEPTH - 1;
        for q in [
            format!("{}facture", "NOT ".repeat(d)),
            format!("{}facture{}", "(".repeat(d), ")".repeat(d)),
            format!("{}facture{}", "NOT (".repeat(d / 2), ")".repeat(d / 2)),
            format!("{}facture{}", "a OR -(".repeat(d / 2), ")".repeat(d / 2)),
        ] {
            assert!(search(q.clone()).is_ok(), "{q}");
        }
        let flat = "facture OR ".repeat(MAX_QUERY_BYTES / 11 - 1) + "facture";
        assert_eq!(search(flat).unwrap().total, 1, "a long flat query within the bound runs");
    }

    #[test]
    fn defect_1_huge_offset_and_limit_are_clamped() {
        let (_dir, index) = small_index();
        for customer in [None, Some("C1".to_string())] {
            let req = |limit, offset| SearchRequest {
                customer: customer.clone(),
                limit,
                offset,
                ..Default::default()
            };
            let all = if customer.is_some() { 2 } else { 4 };
            let r = index.search(&req(usize::MAX, 0)).unwrap();
            assert_eq!((r.total, r.hits.len()), (all, all), "{customer:?}");
            for offset in [1_000_000_000_000, usize::MAX, all] {
                let r = index.search(&req(10, offset)).unwrap();
                assert_eq!((r.total, r.hits.len(), r.offset), (all, 0, offset), "{customer:?}");
                let r = index.search(&req(usize::MAX, offset)).unwrap();
                assert_eq!(r.hits.len(), 0);
            }
            let r = index.search(&req(usize::MAX, 1)).unwrap();
            assert_eq!(r.hits.len(), all - 1, "{customer:?}");
        }
    }

    #[test]
    fn defect_14_prefix_is_not_stemmed() {
        let (_dir, index) = index_of(&[
            ("fac1", Lang::Fr, "Ma facture est fausse.", None, None),
            ("fac2", Lang::Fr, "Deux factures pour le même mois.", None, None),
            ("fac3", Lang::Fr, "La facturation est incompréhensible.", None, None),
            ("fact", Lang::Fr, "Un fait, rien qu'un fait.", None, None),
            ("res1", Lang::Fr, "Je veux résilier.", None, None),
            ("res2", Lang::Fr, "Demande de resiliation envoyée.", None, None),
            ("rem1", Lang::Fr, "Le remboursement tarde.", None, None),
            ("rem2", Lang::Fr, "Ils doivent me rembourser.", None, None),
            ("del1", Lang::En, "The parcel was delivered late.", None, None),
            ("del2", Lang::En, "Delivery was quick.", None, None),
            ("del3", Lang::En, "They never deliver on time.", None, None),
            ("ref1", Lang::En, "No refund yet.", None, None),
            ("ref2", Lang::En, "I was refunded twice.", None, None),
        ]);
        let hits = |q: &str| hits(&index, q);
        let facture = ["fac1", "fac2", "fac3"];
        assert_eq!(hits("fact*"), ["fac1", "fac2", "fac3"], "fait is not a prefix match");
        assert_eq!(hits("factu*"), facture);
        assert_eq!(hits("factur*"), facture);
        assert_eq!(hits("FACTU*"), facture, "lower-cased");
        // `facture` and `factures` are indexed as the stem `factur`: shorter than the prefix.
        assert!(hits("facture*").starts_with(&["fac1".to_string(), "fac2".to_string()]));
        assert_eq!(hits("factures*"), hits("facture*"));
        assert_eq!(hits("résil*"), ["res1", "res2"], "accent-folded");
        assert_eq!(hits("resili*"), ["res1", "res2"]);
        assert_eq!(hits("rembours*"), ["rem1", "rem2"]);
        assert_eq!(hits("deliver*"), ["del1", "del2", "del3"], "delivered is indexed as deliv");
        assert_eq!(hits("refund*"), ["ref1", "ref2"]);
        assert_eq!(hits("text_en:deliver*"), ["del1", "del2", "del3"]);
        assert!(hits("text_fr:deliver*").is_empty(), "English words are not in text_fr");
        assert!(hits("zzz*").is_empty(), "a prefix matching nothing matches nothing");
        assert_eq!(hits("factu* AND NOT mois"), ["fac1", "fac3"]);
        assert_eq!(hits("\"facturation est incomp\"*"), ["fac3"], "a phrase ending in a prefix");
        assert!(hits("\"incompréhensible factu\"*").is_empty(), "in that order");
        assert_eq!(hits("\"remboursement tar\"*"), ["rem1"]);
        assert_eq!(hits("\"remboursements tarde\"*"), ["rem1"], "the prefix's own stem");
        assert_eq!(hits("\"le rembours\"*"), ["rem1", "rem2"], "a stop word does not count");
        // Exact fields: the prefix as typed.
        assert_eq!(hits("id:fac*"), ["fac1", "fac2", "fac3", "fact"]);
        assert!(hits("id:FAC*").is_empty(), "ids are exact");
        // The snippet highlights the words the prefix matched.
        let found =
            index.search(&SearchRequest { query: "factu*".into(), limit: 1, ..Default::default() });
        assert!(found.unwrap().hits[0].snippet.contains("<b>"), "prefix matches are highlighted");
        let bad = index.search(&SearchRequest { query: "date:2025*".into(), ..Default::default() });
        assert!(is_query_error(&bad));
    }

    #[test]
    fn defect_14_date_open_range() {
        let (_dir, index) = index_of(&[
            ("d1", Lang::Fr, "Facture reçue.", Some("2025-01-10"), Some("C1")),
            ("d2", Lang::En, "Invoice received.", Some("31/03/2025"), None),
            ("n1", Lang::Fr, "Facture sans date.", None, None),
            ("n2", Lang::Fr, "Facture à une date illisible.", Some("le 3 mars"), None),
        ]);
        assert_eq!(hits(&index, "date:[* TO *]"), ["d1", "d2"]);
        assert_eq!(hits(&index, "date:*"), ["d1", "d2"]);
        assert_eq!(hits(&index, "NOT date:[* TO *]"), ["n1", "n2"]);
        assert_eq!(hits(&index, "date:[2025-02-01 TO *]"), ["d2"]);
        assert_eq!(hits(&index, "customer:*"), ["d1"], "exists on a field that is not fast");
        assert_eq!(hits(&index, "customer:[* TO *]"), ["d1"]);
        assert_eq!(hits(&index, "sentiment_score:[* TO *]").len(), 4);
    }

    /// Random query texts: words (stop words, operators as words, unicode, punctuation), field
    /// filters on every field, phrases, ranges, sets, prefixes, boosts, nested groups and
    /// operators, and deep nesting around the bound.
    fn fuzz_query() -> impl Strategy<Value = String> {
        use prop::sample::select;
        let fields =
            schema::build().fields().map(|(_, e)| e.name().to_string()).collect::<Vec<_>>();
        let field =
            select([fields, vec!["meta.segment".into(), "nope".into(), "".into()]].concat());
        let word = prop_oneof![
            12 => select(vec![
                "facture", "résiliation", "refund", "delivery", "le", "the", "pas", "NOT", "AND",
                "OR", "TO", "IN", "*", "fact*", "factu*", "deliver*", "a*", "é*", "*x", "fr",
                "negative", "billing", "C1", "f1", "2025-01-10", "31/03/2025", "0.5", "-1",
                "1e999", "", "\\", "\"", "'", "l'assurance", "pro", "\\*", "**",
            ])
            .prop_map(String::from),
            4 => "[a-zà-ÿ]{1,6}\\*?",
            1 => "\\PC{0,6}",
            1 => "[-+!^~*:\\\\\"'()\\[\\]{}<>=/ ]{1,4}",
        ];
        let bound = select(vec![
            "*",
            "2025-01-01",
            "31/01/2025",
            "2025-01-31T10:00:00Z",
            "0.5",
            "-1",
            "abc",
            "",
            "é",
            "1e999",
            "NaN",
            "fac",
        ]);
        let leaf = prop_oneof![
            4 => word.clone(),
            3 => (field.clone(), word.clone()).prop_map(|(f, w)| format!("{f}:{w}")),
            1 => (field.clone(), word.clone(), word.clone())
                .prop_map(|(f, a, b)| format!("{f}:\"{a} {b}\"")),
            1 => (word.clone(), word.clone(), select(vec!["", "*", "~2"]))
                .prop_map(|(a, b, s)| format!("\"{a} {b}\"{s}")),
            2 => (field.clone(), bound.clone(), bound.clone(), select(vec!["[", "{"]), select(vec!["]", "}"]))
                .prop_map(|(f, a, b, o, c)| format!("{f}:{o}{a} TO {b}{c}")),
            1 => field.clone().prop_map(|f| format!("{f}:*")),
            1 => (field.clone(), word.clone(), word.clone())
                .prop_map(|(f, a, b)| format!("{f}: IN [{a} {b}]")),
            1 => (field.clone(), select(vec![">", "<", ">=", "<="]), bound)
                .prop_map(|(f, op, b)| format!("{f}:{op}{b}")),
            1 => (word.clone(), select(vec!["^2", "^0", "^-1", "^1e999", "^abc", "~1", "~"]))
                .prop_map(|(w, s)| format!("{w}{s}")),
            1 => field.clone().prop_map(|f| format!("{f}:/fac.*/")),
        ];
        let tree = leaf.prop_recursive(6, 48, 4, move |inner| {
            let op = select(vec![" ", " AND ", " OR ", " && ", " || ", ""]);
            prop_oneof![
                prop::collection::vec((inner.clone(), op), 1..4)
                    .prop_map(|v| v.into_iter().map(|(q, op)| q + op).collect::<String>()),
                inner.clone().prop_map(|q| format!("({q})")),
                (select(vec!["NOT ", "-", "+", "NOT -", "--", "+-"]), inner.clone())
                    .prop_map(|(op, q)| format!("{op}{q}")),
                (field.clone(), inner).prop_map(|(f, q)| format!("{f}:({q})")),
            ]
        });
        let deep = (
            0usize..(MAX_QUERY_DEPTH * 2),
            select(vec!["(", "NOT ", "-", "+", "NOT (", "a OR -(", "theme:(", "\"("]),
            tree.clone(),
            any::<bool>(),
        )
            .prop_map(|(n, open, q, close)| {
                let closing =
                    if close { ")".repeat(n * open.matches('(').count()) } else { String::new() };
                format!("{}{q}{closing}", open.repeat(n))
            });
        prop_oneof![
            6 => tree,
            2 => deep,
            1 => "\\PC{0,64}",
            1 => "[()\"'\\\\:*+\\-^~ NOTANDOR\\[\\]{}a-z]{0,64}",
        ]
    }

    fn fuzz_count() -> impl Strategy<Value = usize> {
        prop_oneof![
            4 => 0usize..6,
            1 => Just(usize::MAX),
            1 => Just(usize::MAX - 1),
            1 => Just(1usize << 40),
            1 => any::<usize>(),
        ]
    }

    /// The query path on random input: every call returns hits or a query error (or "no such
    /// record" for `like`), never panics; a stack overflow would abort the test binary.
    #[test]
    fn fuzz_query_path_never_panics_nor_aborts() {
        let (_dir, index) = small_index();
        let id =
            || prop::option::weighted(0.15, prop::sample::select(vec!["C1", "f1", "nope", ""]));
        let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
            cases: 4000,
            failure_persistence: None,
            ..ProptestConfig::default()
        });
        let input = (fuzz_query(), fuzz_count(), fuzz_count(), id(), id());
        runner
            .run(&input, |(query, limit, offset, customer, like)| {
                let req = SearchRequest {
                    query: query.clone(),
                    customer: customer.map(str::to_string),
                    like: like.map(str::to_string),
                    limit,
                    offset,
                };
                match index.search(&req) {
                    Ok(found) => {
                        prop_assert!(found.hits.len() <= found.total.min(limit));
                    }
                    Err(Error::Index(IndexError::Query { .. })) => {}
                    Err(Error::Index(IndexError::UnknownId { .. })) if req.like.is_some() => {}
                    Err(e) => prop_assert!(false, "{req:?}: {e}"),
                }
                Ok(())
            })
            .unwrap();
    }

    #[test]
    fn terminal_safe_escapes_control_characters() {
        assert_eq!(terminal_safe("plain é"), "plain é");
        assert_eq!(terminal_safe("a\x1b[2Jb\x07c\u{9b}d\x7f"), "a\\x1b[2Jb\\x07c\\x9bd\\x7f");
        assert_eq!(terminal_safe("two\nlines\tand\r"), "two lines and ");
        assert_eq!(terminal_safe("abc\u{202e}def"), "abc\\u{202e}def");
        let hit = Hit {
            id: "x".into(),
            score: 1.0,
            snippet: String::new(),
            lang: "fr".into(),
            sentiment: String::new(),
            sentiment_score: 0.0,
            themes: Vec::new(),
            mode: String::new(),
            churn: String::new(),
            churn_risk: 0.0,
            date: None,
            customer: None,
            channel: None,
            rating: None,
            meta: BTreeMap::new(),
            fragment: "\x1b[31mfacture\x1b[0m fausse".into(),
            highlighted: std::iter::once(5..12).collect(),
        };
        assert_eq!(hit.marked_snippet("[", "]"), "\\x1b[31m[facture]\\x1b[0m fausse");
    }
}
