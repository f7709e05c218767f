//! `verbatim search`: query an index (words, phrases, boolean, field filters, facets,
//! a customer's history, similar records).

use std::io::{self, BufWriter, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::Args;

use crate::args::{DataArgs, ReportFormat};

/// The long help's end: examples, fields, bounds (from the library), exit status.
pub(crate) fn examples() -> String {
    use verbatim::index::{MAX_PREFIX_TERMS, MAX_QUERY_BYTES, MAX_QUERY_DEPTH};
    EXAMPLES
        .replace("{MAX_QUERY_BYTES}", &MAX_QUERY_BYTES.to_string())
        .replace("{MAX_QUERY_DEPTH}", &MAX_QUERY_DEPTH.to_string())
        .replace("{MAX_PREFIX_TERMS}", &MAX_PREFIX_TERMS.to_string())
}

const EXAMPLES: &str = "\
Examples:
  verbatim search --index idx 'facture erreur'
  verbatim search --index idx '\"service client\" AND NOT theme:delivery'
  verbatim search --index idx 'theme:billing sentiment:negative lang:fr date:[2025-01-01 TO 2025-03-31]'
  verbatim search --index idx --format json --limit 20 --offset 20 refund
  verbatim search --index idx --customer C5608        # one customer's records, oldest first
  verbatim search --index idx --like s001 lang:en     # records like s001, English only
  verbatim search --index idx 'factu* date:[* TO *]'  # a prefix; records with a date

Fields: id, customer, channel, lang (fr, en, und), sentiment (positive, negative, neutral),
sentiment_score, theme (an id also matches its sub-themes), mode, churn (none, low, medium,
high), churn_risk, date (2025-01-31, ranges [A TO B]), text_fr, text_en, meta.NAME. Words
without a field are searched in French and English. `word*` is a prefix: it matches the words
that start with it, accents and case aside (factu* finds facture, factures, facturation);
`field:*` and `field:[* TO *]` match the records that have a value in the field.

Bounds (the query may come from a web page): a query longer than {MAX_QUERY_BYTES} bytes, or
nested deeper than {MAX_QUERY_DEPTH} levels (each parenthesis and each NOT, - or + in front of
an operand is a level), is refused before it is parsed; a prefix standing for more than
{MAX_PREFIX_TERMS} words of the index is refused too. --limit and --offset count at most the
records of the index, whatever their value.

Exit status: 0 when the search ran (with --queries, also when some queries were refused: each
gets an error answer), 1 with --strict when a query of --queries was refused, 2 when the query,
the index or the configuration cannot be used.
";

#[derive(Args)]
pub(crate) struct SearchArgs {
    /// The index directory
    #[arg(long, value_name = "DIR", env = "VERBATIM_INDEX")]
    index: PathBuf,
    /// The query (several arguments are joined with spaces); empty: every record
    #[arg(value_name = "QUERY")]
    query: Vec<String>,
    /// Output format (default: table on a terminal, JSON otherwise)
    #[arg(long, value_enum)]
    format: Option<ReportFormat>,
    /// Hits to show (default 10; with --customer, all the customer's records)
    #[arg(long)]
    limit: Option<usize>,
    /// Hits to skip (paging)
    #[arg(long, default_value_t = 0)]
    offset: usize,
    /// List every record of this customer, oldest first (the query then filters)
    #[arg(long, value_name = "ID")]
    customer: Option<String>,
    /// Records similar to the record with this id (the query then filters)
    #[arg(long, value_name = "ID")]
    like: Option<String>,
    /// Run every query of FILE (one a line): one JSON answer a line on stdout
    /// (`{"query", "result"}`, or `{"query", "error": {"code", "message"}}` for a query that
    /// is refused, and the run goes on), latency percentiles of the answered ones on stderr
    #[arg(long, value_name = "FILE", conflicts_with = "query")]
    queries: Option<PathBuf>,
    /// With --queries: exit with status 1 when any query was refused
    #[arg(long, requires = "queries")]
    strict: bool,
    #[command(flatten)]
    data: DataArgs,
}

pub(crate) fn run(args: SearchArgs) -> Result<ExitCode> {
    use std::sync::Arc;
    use verbatim::index::search::terminal_safe;
    use verbatim::index::{SearchIndex, SearchRequest};
    let res = Arc::new(args.data.load()?);
    let index = SearchIndex::open(&args.index, res)?;
    let mut req = SearchRequest {
        query: args.query.join(" "),
        customer: args.customer.clone(),
        like: args.like.clone(),
        limit: args.limit.unwrap_or(10),
        offset: args.offset,
    };
    if args.customer.is_some() && args.limit.is_none() {
        // A history lists everything: count first, then ask for that many.
        let count = index.search(&SearchRequest { limit: 0, ..req.clone() })?;
        req.limit = count.total.saturating_sub(req.offset).max(1);
    }
    if let Some(file) = &args.queries {
        return search_batch(&index, req, file, args.strict);
    }
    let found = index.search(&req)?;
    let tty = io::stdout().is_terminal();
    let format = args.format.unwrap_or(if tty { ReportFormat::Table } else { ReportFormat::Json });
    let mut out = BufWriter::new(io::stdout().lock());
    match format {
        ReportFormat::Json => {
            serde_json::to_writer(&mut out, &found)?;
            writeln!(out)?;
        }
        ReportFormat::Table => {
            let colour = tty
                && std::env::var_os("NO_COLOR").is_none()
                && std::env::var("TERM").map_or(true, |t| t != "dumb");
            let (open, close) = if colour { ("\x1b[1m", "\x1b[0m") } else { ("[", "]") };
            let shown = found.hits.len();
            let history = args.customer.is_some() && args.like.is_none();
            writeln!(
                out,
                "{} records match{}",
                found.total,
                if shown > 0 {
                    format!(", showing {}-{}", found.offset + 1, found.offset + shown)
                } else {
                    String::new()
                }
            )?;
            // Ids, dates, customers and comments come from the input: escaped, so that none
            // can send control sequences to the terminal.
            let safe = |s: &str| terminal_safe(s).into_owned();
            for h in &found.hits {
                writeln!(
                    out,
                    "\n{:>7}  {}  {}  {}  {} {:+.2}  mode={}  churn={}  themes={}{}",
                    // A history is in date order: no relevance to show.
                    if history { "-".to_string() } else { format!("{:.3}", h.score) },
                    safe(&h.id),
                    safe(h.date.as_deref().unwrap_or("-")),
                    safe(&h.lang),
                    safe(&h.sentiment),
                    h.sentiment_score,
                    safe(&h.mode),
                    safe(&h.churn),
                    if h.themes.is_empty() { "-".to_string() } else { safe(&h.themes.join(",")) },
                    h.customer
                        .as_deref()
                        .map(|c| format!("  customer={}", safe(c)))
                        .unwrap_or_default(),
                )?;
                writeln!(out, "         {}", h.marked_snippet(open, close))?;
            }
            writeln!(out)?;
            for (name, counts) in [
                ("theme", &found.facets.theme),
                ("sentiment", &found.facets.sentiment),
                ("mode", &found.facets.mode),
                ("churn", &found.facets.churn),
                ("lang", &found.facets.lang),
            ] {
                let mut items: Vec<_> = counts.iter().collect();
                items.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
                let line: Vec<String> =
                    items.iter().map(|(k, v)| format!("{} {v}", terminal_safe(k))).collect();
                writeln!(
                    out,
                    "{name:>9}: {}",
                    if line.is_empty() { "-".into() } else { line.join(" · ") }
                )?;
            }
        }
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

/// Runs each query of `file` in turn; prints one JSON answer per line (an error answer for a
/// query that is refused) and the latency distribution of the answered queries (the search
/// itself: parsing, collecting, facets, snippets; not the printing).
fn search_batch(
    index: &verbatim::index::SearchIndex,
    template: verbatim::index::SearchRequest,
    file: &std::path::Path,
    strict: bool,
) -> Result<ExitCode> {
    use verbatim::index::IndexError;
    let text =
        std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
    let mut out = BufWriter::new(io::stdout().lock());
    let mut times = Vec::new();
    let mut refused = 0;
    for query in text.lines().filter(|l| !l.trim().is_empty()) {
        let req = verbatim::index::SearchRequest { query: query.to_string(), ..template.clone() };
        let start = std::time::Instant::now();
        let answer = match index.search(&req) {
            Ok(found) => {
                times.push(start.elapsed().as_secs_f64() * 1e3);
                serde_json::json!({"query": query, "result": found})
            }
            Err(verbatim::Error::Index(e @ IndexError::Query { .. })) => {
                refused += 1;
                serde_json::json!({"query": query, "error": {"code": "bad_query", "message": e.to_string()}})
            }
            Err(verbatim::Error::Index(e @ IndexError::UnknownId { .. })) => {
                refused += 1;
                serde_json::json!({"query": query, "error": {"code": "unknown_id", "message": e.to_string()}})
            }
            // The index itself fails: no later query would fare better.
            Err(e) => return Err(e.into()),
        };
        serde_json::to_writer(&mut out, &answer)?;
        writeln!(out)?;
    }
    out.flush()?;
    if times.is_empty() && refused == 0 {
        bail!("no query in {}", file.display());
    }
    let refused_note =
        if refused > 0 { format!(", {refused} refused (error answers)") } else { String::new() };
    times.sort_by(f64::total_cmp);
    if times.is_empty() {
        eprintln!("verbatim: 0 queries answered{refused_note}");
    } else {
        let pct = |p: f64| times[((times.len() - 1) as f64 * p).round() as usize];
        eprintln!(
            "verbatim: {} queries over {} documents: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms{refused_note}",
            times.len(),
            index.num_docs(),
            pct(0.5),
            pct(0.99),
            pct(1.0)
        );
    }
    Ok(if strict && refused > 0 { ExitCode::from(1) } else { ExitCode::SUCCESS })
}
