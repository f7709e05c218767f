//! Query text → tantivy query.
//!
//! tantivy's grammar and parser do the work; this module rewrites the parsed tree first:
//! - a bare word that is a stop word in either language is dropped. Each full-text field drops
//!   its own language's stop words, so without this "the refund" would need "the" in French
//!   comments (the word survives the French analyser and becomes a required French term);
//! - `date:` values may be written as days (`2025-01-31`, `31/01/2025`): a day is the range
//!   from its midnight to the next, and `[A TO B]` includes all of day B;
//! - a clause of exclusions alone (`a AND NOT b` parses as `+a +(-b)`) matches nothing in
//!   tantivy: it becomes "everything except".

use tantivy::query::{Occur, Query, QueryParser};
use tantivy::query_grammar::{self, Delimiter, UserInputAst, UserInputBound, UserInputLeaf};

use super::IndexError;
use super::schema::names;
use super::writer::parse_date;
use crate::analysis::Lang;
use crate::error::Error;
use crate::lexicon::Resources;
use crate::normalize;

/// Parses a user query: dates in `date:` filters may be written `2025-01-31`, and bare
/// words that are stop words in either language are dropped (see the module docs).
pub(crate) fn parse(
    parser: &QueryParser,
    res: &Resources,
    text: &str,
) -> Result<Box<dyn Query>, Error> {
    let bad = |message: String| IndexError::Query { query: text.to_string(), message };
    let ast = query_grammar::parse_query(text)
        .map_err(|_| bad("syntax error (check quotes, brackets and field:value pairs)".into()))?;
    let ast = rewrite(res, ast).map_err(bad)?.unwrap_or(UserInputAst::Clause(Vec::new()));
    Ok(parser.build_query_from_user_input_ast(ast).map_err(|e| bad(e.to_string()))?)
}

/// Rewrites the query tree; `None` when a node is removed.
fn rewrite(res: &Resources, ast: UserInputAst) -> Result<Option<UserInputAst>, String> {
    Ok(match ast {
        UserInputAst::Clause(clauses) => {
            let mut kept = Vec::with_capacity(clauses.len());
            for (occur, sub) in clauses {
                if let Some(sub) = rewrite(res, sub)? {
                    kept.push((occur, sub));
                }
            }
            if kept.is_empty() {
                return Ok(None);
            }
            // `a AND NOT b` parses as `+a +(-b)`, and a clause of exclusions alone matches
            // nothing: make it "everything except".
            if kept.iter().all(|(o, _)| *o == Some(Occur::MustNot)) {
                kept.push((Some(Occur::Must), UserInputAst::Leaf(Box::new(UserInputLeaf::All))));
            }
            Some(UserInputAst::Clause(kept))
        }
        UserInputAst::Boost(sub, boost) => {
            rewrite(res, *sub)?.map(|s| UserInputAst::Boost(Box::new(s), boost))
        }
        UserInputAst::Leaf(leaf) => {
            rewrite_leaf(res, *leaf)?.map(|l| UserInputAst::Leaf(Box::new(l)))
        }
    })
}

fn rewrite_leaf(res: &Resources, leaf: UserInputLeaf) -> Result<Option<UserInputLeaf>, String> {
    Ok(Some(match leaf {
        UserInputLeaf::Literal(lit) if lit.field_name.as_deref() == Some(names::DATE) => {
            // `date:2025-01-31` means that whole day.
            let (from, to) = day_bounds(&lit.phrase)?;
            UserInputLeaf::Range {
                field: lit.field_name,
                lower: UserInputBound::Inclusive(from),
                upper: UserInputBound::Exclusive(to),
            }
        }
        UserInputLeaf::Literal(lit)
            if lit.field_name.is_none()
                && lit.delimiter == Delimiter::None
                && !lit.prefix
                && res.is_stopword(Lang::Und, &normalize::fold(&lit.phrase)) =>
        {
            return Ok(None);
        }
        UserInputLeaf::Range { field, lower, upper } if field.as_deref() == Some(names::DATE) => {
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
            UserInputLeaf::Range { field, lower, upper }
        }
        other => other,
    }))
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
}
