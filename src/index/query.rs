//! Query text → tantivy query.
//!
//! tantivy's grammar parses the text; this module turns the parsed tree into a query itself, so
//! that it can bound it and rewrite what tantivy gets wrong for this index:
//! - the text is checked against [`MAX_QUERY_BYTES`] and [`MAX_QUERY_DEPTH`] before tantivy's
//!   parser sees it: the grammar, the query tree and the scorers all recurse once per level of
//!   nesting, and a few kilobytes of `NOT NOT …` or `((((…` overflow the stack, which aborts
//!   the process (a web page passes user queries through);
//! - a bare word that is a stop word in either language is dropped. Each full-text field drops
//!   its own language's stop words, so without this "the refund" would need "the" in French
//!   comments (the word survives the French analyser and becomes a required French term);
//! - a prefix (`factu*`) is matched against the indexed terms unstemmed (see [`Cx::prefix`]):
//!   tantivy's grammar keeps the `*` in the word and the analyser stems what is left, so
//!   `factu*` looked for the stem of `factu`;
//! - `date:` values may be written as days (`2025-01-31`, `31/01/2025`): a day is the range
//!   from its midnight to the next, and `[A TO B]` includes all of day B;
//! - `field:[* TO *]` and `field:*` match every document with a value in the field (tantivy
//!   drops the first and supports the second on fast fields only);
//! - a clause of exclusions alone (`a AND NOT b` parses as `+a +(-b)`) matches nothing in
//!   tantivy: it becomes "everything except".

use std::collections::BTreeSet;

use tantivy::query::{
    AllQuery, BooleanQuery, BoostQuery, ConstScoreQuery, EmptyQuery, EnableScoring, ExistsQuery,
    Occur, PhrasePrefixQuery, PhraseQuery, Query, QueryParser, RegexQuery, TermSetQuery,
};
use tantivy::query_grammar::{self, Delimiter, UserInputAst, UserInputBound, UserInputLeaf};
use tantivy::schema::{Field, FieldType};
use tantivy::tokenizer::{TextAnalyzer, Tokenizer};
use tantivy::{Searcher, Term};

use super::IndexError;
use super::analyzers::{self, WordTokenizer};
use super::schema::{Fields, names};
use super::writer::parse_date;
use crate::analysis::Lang;
use crate::error::Error;
use crate::lexicon::Resources;
use crate::normalize;
use crate::tokenize::Stemmers;

/// Longest query accepted, in bytes (some 2,000 words). Longer texts are refused before
/// parsing: a flat query costs time in proportion to its length in every step after (it does
/// not nest, so it does not risk the stack).
pub const MAX_QUERY_BYTES: usize = 16 * 1024;

/// Deepest nesting accepted: each parenthesis and each unary operator (`NOT`, `-`, `+`) in
/// front of an operand adds a level (`facture` is 1 deep, `NOT (a OR -(b))` 5). Far beyond what
/// a person writes, and a quarter of what a 2 MiB thread (Rust's default for spawned threads)
/// survives: measured in a release build, a chain of `NOT`s, the costliest form (about 8 KiB of
/// stack a level), runs in 512 KiB at 64 levels and overflows 2 MiB at 256.
pub const MAX_QUERY_DEPTH: usize = 64;

/// Most index terms one prefix (`factu*`) may stand for, in one field. A prefix matching more
/// is refused with a message asking for more letters, rather than cut silently.
pub const MAX_PREFIX_TERMS: usize = 20_000;

/// What parsing needs besides the text.
pub(crate) struct Cx<'a> {
    pub parser: &'a QueryParser,
    pub res: &'a Resources,
    pub searcher: &'a Searcher,
    pub fields: &'a Fields,
    pub stemmers: &'a Stemmers,
    pub analyzers: &'a tantivy::tokenizer::TokenizerManager,
}

/// Parses a user query (see the module docs). A query whose words are all dropped (stop words,
/// punctuation) matches nothing.
pub(crate) fn parse(cx: &Cx, text: &str) -> Result<Box<dyn Query>, Error> {
    let bad = |message: String| IndexError::Query { query: text.to_string(), message };
    check_bounds(text).map_err(bad)?;
    let ast = query_grammar::parse_query(text)
        .map_err(|_| bad("syntax error (check quotes, brackets and field:value pairs)".into()))?;
    let query = cx.convert(ast).map_err(bad)?.unwrap_or_else(|| Box::new(EmptyQuery));
    // Some combinations fail only when tantivy prepares the search (a range on a field that is
    // not fast, in a JSON object): try now, so that they are query errors too.
    query
        .weight(EnableScoring::disabled_from_searcher(cx.searcher))
        .map_err(|e| bad(e.to_string()))?;
    Ok(query)
}

/// Whether `e`, from running a parsed user query, is the query's fault rather than the index's
/// (tantivy reports some such errors only when it scores a segment).
pub(crate) fn is_query_fault(e: &tantivy::TantivyError) -> bool {
    use tantivy::TantivyError::{FieldNotFound, InvalidArgument, SchemaError};
    matches!(e, FieldNotFound(_) | InvalidArgument(_) | SchemaError(_))
}

/// Refuses a text longer than [`MAX_QUERY_BYTES`] or nested deeper than [`MAX_QUERY_DEPTH`].
pub(crate) fn check_bounds(text: &str) -> Result<(), String> {
    let depth = nesting_depth(text);
    if depth > MAX_QUERY_DEPTH {
        return Err(format!(
            "the query nests {depth} levels deep (parentheses and NOT/-/+ operators); at most \
             {MAX_QUERY_DEPTH} are accepted"
        ));
    }
    if text.len() > MAX_QUERY_BYTES {
        return Err(format!(
            "the query is {} bytes long; at most {MAX_QUERY_BYTES} are accepted",
            text.len()
        ));
    }
    Ok(())
}

/// The nesting depth of `text`, counted on the raw text: `(` opens a level, `)` closes it, and
/// `NOT`, `-` or `+` in front of an operand each add one for that operand (a chain `NOT NOT x`
/// nests as deeply as `((x))`). Quotes are not skipped: a parenthesis or `NOT` inside a phrase
/// counts too, which only errs on the safe side, whereas reading quotes differently from
/// tantivy's grammar (an apostrophe inside a word, an unclosed quote) could hide nesting.
fn nesting_depth(text: &str) -> usize {
    // Depth of the enclosing group, and the depths to go back to at each `)`.
    let mut depth = 0usize;
    let mut open: Vec<usize> = Vec::new();
    // Unary operators read since the last operand.
    let mut unary = 0usize;
    let mut max = 0usize;
    let mut chars = text.char_indices().peekable();
    let word_ends = |rest: &str| rest.chars().next().is_none_or(|c| c.is_whitespace() || c == '(');
    while let Some((i, c)) = chars.next() {
        match c {
            c if c.is_whitespace() => {}
            '(' => {
                open.push(depth);
                depth += unary + 1;
                unary = 0;
                max = max.max(depth);
            }
            ')' => {
                depth = open.pop().unwrap_or(0);
                unary = 0;
            }
            '-' | '+' => unary += 1,
            'N' if text[i..].starts_with("NOT") && word_ends(&text[i + 3..]) => {
                unary += 1;
                chars.nth(1);
            }
            _ => {
                max = max.max(depth + unary + 1);
                unary = 0;
                // The rest of the operand, up to a space or a parenthesis (`\(` is escaped).
                let mut escaped = c == '\\';
                while let Some(&(_, c)) = chars.peek() {
                    if !escaped && (c.is_whitespace() || c == '(' || c == ')') {
                        break;
                    }
                    escaped = !escaped && c == '\\';
                    chars.next();
                }
            }
        }
    }
    max.max(depth + unary)
}

impl Cx<'_> {
    /// The query of a parsed tree; `None` when nothing is left of it (stop words only).
    fn convert(&self, ast: UserInputAst) -> Result<Option<Box<dyn Query>>, String> {
        match ast {
            UserInputAst::Clause(clauses) => {
                let mut kept: Vec<(Occur, Box<dyn Query>)> = Vec::with_capacity(clauses.len());
                for (occur, sub) in clauses {
                    if let Some(q) = self.convert(sub)? {
                        // Analysts narrowing down comments expect every word to count.
                        kept.push((occur.unwrap_or(Occur::Must), q));
                    }
                }
                if kept.is_empty() {
                    return Ok(None);
                }
                // `a AND NOT b` parses as `+a +(-b)`, and a clause of exclusions alone matches
                // nothing: make it "everything except".
                if kept.iter().all(|(o, _)| *o == Occur::MustNot) {
                    kept.push((Occur::Must, Box::new(AllQuery)));
                }
                if kept.len() == 1 && kept[0].0 != Occur::MustNot {
                    return Ok(kept.pop().map(|(_, q)| q));
                }
                Ok(Some(Box::new(BooleanQuery::new(kept))))
            }
            UserInputAst::Boost(sub, boost) => {
                let boost = boost.into_inner() as f32;
                if !boost.is_finite() {
                    return Err("a boost (`^N`) must be a finite number".into());
                }
                Ok(self.convert(*sub)?.map(|q| Box::new(BoostQuery::new(q, boost)) as _))
            }
            UserInputAst::Leaf(leaf) => self.leaf(*leaf),
        }
    }

    fn leaf(&self, leaf: UserInputLeaf) -> Result<Option<Box<dyn Query>>, String> {
        match leaf {
            UserInputLeaf::Literal(lit) if lit.field_name.as_deref() == Some(names::DATE) => {
                // `date:2025-01-31` means that whole day.
                let (from, to) = day_bounds(&lit.phrase)?;
                self.tantivy(UserInputLeaf::Range {
                    field: lit.field_name,
                    lower: UserInputBound::Inclusive(from),
                    upper: UserInputBound::Exclusive(to),
                })
            }
            UserInputLeaf::Literal(lit) if lit.prefix || prefix_word(&lit) => {
                let text = if lit.prefix {
                    lit.phrase.as_str()
                } else {
                    &lit.phrase[..lit.phrase.len() - 1]
                };
                self.prefix(lit.field_name.as_deref(), text.trim_end_matches('*')).map(Some)
            }
            UserInputLeaf::Literal(lit)
                if lit.field_name.is_none()
                    && lit.delimiter == Delimiter::None
                    && self.res.is_stopword(Lang::Und, &normalize::fold(&lit.phrase)) =>
            {
                Ok(None)
            }
            UserInputLeaf::Range {
                field: Some(field),
                lower: UserInputBound::Unbounded,
                upper: UserInputBound::Unbounded,
            } => self.exists(&field).map(Some),
            UserInputLeaf::Exists { field } => self.exists(&field).map(Some),
            UserInputLeaf::Range { field, lower, upper }
                if field.as_deref() == Some(names::DATE) =>
            {
                let lower = match lower {
                    UserInputBound::Inclusive(s) => UserInputBound::Inclusive(day_bounds(&s)?.0),
                    UserInputBound::Exclusive(s) => UserInputBound::Inclusive(day_bounds(&s)?.1),
                    UserInputBound::Unbounded => UserInputBound::Unbounded,
                };
                let upper = match upper {
                    UserInputBound::Inclusive(s) => UserInputBound::Exclusive(day_bounds(&s)?.1),
                    UserInputBound::Exclusive(s) => UserInputBound::Exclusive(day_bounds(&s)?.0),
                    UserInputBound::Unbounded => UserInputBound::Unbounded,
                };
                self.tantivy(UserInputLeaf::Range { field, lower, upper })
            }
            other => self.tantivy(other),
        }
    }

    /// tantivy's query for one leaf; `None` when the analyser leaves no term of it.
    fn tantivy(&self, leaf: UserInputLeaf) -> Result<Option<Box<dyn Query>>, String> {
        // Lenient, for the first error: the strict call reports the last one, which for a
        // leaf that failed is "Only excluding terms given" instead of what failed.
        let (q, errors) =
            self.parser.build_query_from_user_input_ast_lenient(UserInputAst::Leaf(Box::new(leaf)));
        if let Some(e) = errors.first() {
            return Err(e.to_string());
        }
        Ok((!q.is::<EmptyQuery>()).then_some(q))
    }

    /// Documents with a value in `name` (`field:*`, `field:[* TO *]`).
    fn exists(&self, name: &str) -> Result<Box<dyn Query>, String> {
        let (field, path) = self.field(name)?;
        let entry = self.searcher.schema().get_field_entry(field);
        if entry.is_fast() {
            return Ok(Box::new(ExistsQuery::new(name.to_string(), false)));
        }
        match entry.field_type() {
            FieldType::Str(_) if entry.is_indexed() => RegexQuery::from_pattern(".*", field)
                .map(|q| Box::new(q) as _)
                .map_err(|e| e.to_string()),
            FieldType::JsonObject(_) if entry.is_indexed() => {
                let mut base = Term::from_field_json_path(field, path, false);
                if path.is_empty() {
                    base.truncate_value_bytes(0); // any path
                } else {
                    base.append_type_and_str("");
                }
                self.expand(name, &base).map(term_set)
            }
            _ => Err(format!("`{name}` cannot be searched")),
        }
    }

    /// The query for a prefix: `factu*` in full text, `C51*` in an exact field. `text` is what
    /// precedes the `*`.
    ///
    /// In full text, the indexed terms are accent-folded stems, so the prefix is lower-cased
    /// and accent-folded like them but not stemmed (the stem of a fragment is no prefix of
    /// anything: `factu*` looked for the stem of `factu`), and it matches every term that
    /// starts with it. A stem may also be shorter than the prefix typed (`facture*`: facture
    /// and factures are indexed as `factur`; `deliver*`: delivered is `deliv`), so the stem of
    /// the prefix itself matches too. Several words (`"service cli"*`, `e-fact*`) make a phrase
    /// whose last word is the prefix.
    fn prefix(&self, field: Option<&str>, text: &str) -> Result<Box<dyn Query>, String> {
        let f = self.fields;
        let targets = match field {
            None => vec![(f.text_fr, "", Some(Lang::Fr)), (f.text_en, "", Some(Lang::En))],
            Some(name) => {
                let (field, path) = self.field(name)?;
                let entry = self.searcher.schema().get_field_entry(field);
                let lang = [(f.text_fr, Lang::Fr), (f.text_en, Lang::En)]
                    .into_iter()
                    .find_map(|(t, l)| (t == field).then_some(l));
                match entry.field_type() {
                    FieldType::Str(_) | FieldType::JsonObject(_) if entry.is_indexed() => {}
                    _ => {
                        return Err(format!(
                            "`{name}:…*`: a prefix applies to text and label fields, not to \
                             `{name}`"
                        ));
                    }
                }
                vec![(field, path, lang)]
            }
        };
        let mut any: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        for (field, path, lang) in targets {
            let q = match lang {
                Some(lang) => self.text_prefix(field, lang, text)?,
                None => {
                    let mut base = if path.is_empty() {
                        Term::from_field_text(field, text)
                    } else {
                        Term::from_field_json_path(field, path, false)
                    };
                    if !path.is_empty() {
                        base.append_type_and_str(text);
                    }
                    Some(term_set(self.expand(text, &base)?))
                }
            };
            any.extend(q.map(|q| (Occur::Should, q)));
        }
        Ok(match any.len() {
            0 => Box::new(EmptyQuery),
            1 => any.remove(0).1,
            _ => Box::new(BooleanQuery::new(any)),
        })
    }

    /// A prefix in one full-text field (see [`Cx::prefix`]); `None` when `text` holds no word.
    fn text_prefix(
        &self,
        field: Field,
        lang: Lang,
        text: &str,
    ) -> Result<Option<Box<dyn Query>>, String> {
        let mut words = WordTokenizer::default();
        let mut stream = words.token_stream(text);
        let mut last = None;
        while let Some(t) = tantivy::tokenizer::TokenStream::next(&mut stream) {
            last = Some(t.clone());
        }
        let Some(last) = last else { return Ok(None) };
        let alphabetic = last.text.chars().any(char::is_alphabetic);
        let (folded, stem) = if alphabetic {
            (normalize::fold(&last.text), Some(self.stemmers.stem(lang, &last.text)))
        } else {
            (last.text.clone(), None)
        };
        let lead = self.lead_terms(field, lang, &text[..last.offset_from]);
        let stem_term = stem.filter(|s| *s != folded).map(|s| Term::from_field_text(field, &s));
        if lead.is_empty() {
            let mut terms = self.expand(&folded, &Term::from_field_text(field, &folded))?;
            terms.extend(stem_term);
            return Ok(Some(term_set(terms)));
        }
        let mut phrase = lead.clone();
        phrase.push((last.position, Term::from_field_text(field, &folded)));
        let mut prefix = PhrasePrefixQuery::new_with_offset(phrase);
        prefix.set_max_expansions(MAX_PREFIX_TERMS as u32);
        let mut any: Vec<(Occur, Box<dyn Query>)> = vec![(Occur::Should, Box::new(prefix))];
        if let Some(t) = stem_term {
            let mut phrase = lead;
            phrase.push((last.position, t));
            any.push((Occur::Should, Box::new(PhraseQuery::new_with_offset(phrase))));
        }
        Ok(Some(Box::new(BooleanQuery::new(any))))
    }

    /// The analysed terms of `text` with their positions (stop words dropped, words stemmed).
    fn lead_terms(&self, field: Field, lang: Lang, text: &str) -> Vec<(usize, Term)> {
        let name = if lang == Lang::En { analyzers::EN } else { analyzers::FR };
        let Some(mut analyzer): Option<TextAnalyzer> = self.analyzers.get(name) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        let mut stream = analyzer.token_stream(text);
        while let Some(t) = tantivy::tokenizer::TokenStream::next(&mut stream) {
            out.push((t.position, Term::from_field_text(field, &t.text)));
        }
        out
    }

    /// Every term of the field of `base` that starts with `base`'s value, over all segments.
    fn expand(&self, what: &str, base: &Term) -> Result<BTreeSet<Term>, String> {
        let prefix = base.serialized_value_bytes();
        let mut terms = BTreeSet::new();
        for segment in self.searcher.segment_readers() {
            let inverted = segment.inverted_index(base.field()).map_err(|e| e.to_string())?;
            let mut stream =
                inverted.terms().range().ge(prefix).into_stream().map_err(|e| e.to_string())?;
            while stream.advance() {
                let key = stream.key();
                if !key.starts_with(prefix) {
                    break;
                }
                let mut term = base.clone();
                term.set_bytes(key);
                terms.insert(term);
                if terms.len() > MAX_PREFIX_TERMS {
                    return Err(format!(
                        "`{what}*` stands for more than {MAX_PREFIX_TERMS} words of the index: \
                         give more letters"
                    ));
                }
            }
        }
        Ok(terms)
    }

    /// The field named `name` (`meta.segment`: the `meta` field and the path `segment`).
    fn field<'n>(&self, name: &'n str) -> Result<(Field, &'n str), String> {
        self.searcher.schema().find_field(name).ok_or_else(|| format!("no field `{name}`"))
    }
}

/// Whether `lit` is a word ending in an unescaped `*` (`factu*`), tantivy's grammar keeping the
/// `*` in the word.
fn prefix_word(lit: &tantivy::query_grammar::UserInputLiteral) -> bool {
    lit.delimiter == Delimiter::None
        && lit.phrase.len() > 1
        && lit.phrase.ends_with('*')
        && !lit.phrase.ends_with("\\*")
}

/// Documents holding any of `terms` (constant score: a prefix says nothing about relevance).
fn term_set(terms: BTreeSet<Term>) -> Box<dyn Query> {
    if terms.is_empty() {
        return Box::new(EmptyQuery);
    }
    Box::new(ConstScoreQuery::new(Box::new(TermSetQuery::new(terms)), 1.0))
}

/// Start and end (exclusive) of the day `s` as RFC 3339, or `s` itself when it already is.
fn day_bounds(s: &str) -> Result<(String, String), String> {
    let bad =
        || format!("`{s}` is not a date: write 2025-01-31, 31/01/2025 or 2025-01-31T10:00:00Z");
    let start = parse_date(s).ok_or_else(bad)?;
    let has_time = s.contains('T');
    let start_utc = start.into_utc();
    let end_utc = if has_time { start_utc } else { start_utc + tantivy::time::Duration::DAY };
    let fmt = |d: tantivy::time::OffsetDateTime| {
        d.format(&tantivy::time::format_description::well_known::Rfc3339).map_err(|_| bad())
    };
    Ok((fmt(start_utc)?, fmt(end_utc)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn day_bounds_cover_the_whole_day() {
        let (a, b) = day_bounds("2025-03-31").unwrap();
        assert_eq!(a, "2025-03-31T00:00:00Z");
        assert_eq!(b, "2025-04-01T00:00:00Z");
        assert_eq!(day_bounds("31/03/2025").unwrap().0, a);
        assert!(day_bounds("soon").is_err());
    }

    #[test]
    fn nesting_counts_parentheses_and_unary_operators() {
        assert_eq!(nesting_depth("facture"), 1);
        assert_eq!(nesting_depth("a b c OR d AND e"), 1);
        assert_eq!(nesting_depth("NOT a"), 2);
        assert_eq!(nesting_depth("-a +b"), 2);
        assert_eq!(nesting_depth("NOT NOT NOT a"), 4);
        assert_eq!(nesting_depth("((a))"), 3);
        assert_eq!(nesting_depth("NOT (a OR -(b))"), 5);
        assert_eq!(nesting_depth("e-mail NOTE NOTHING"), 1, "inner hyphens and NOT… words");
        assert_eq!(nesting_depth("date:[2025-01-01 TO *] \"a b\"~2"), 1);
        assert_eq!(nesting_depth("\"((a\""), 3, "quotes are not skipped");
        assert_eq!(nesting_depth("theme:(billing OR price)"), 2);
        assert_eq!(nesting_depth("a\\(\\(\\("), 1, "escaped");
        assert_eq!(nesting_depth(&"(".repeat(500)), 500, "unbalanced still counts");
        assert_eq!(nesting_depth(&"NOT ".repeat(1000)), 1000);
        assert_eq!(nesting_depth(&"-".repeat(70)), 70);
    }
}
