//! `verbatim search`: query an index (words, phrases, boolean, field filters, facets,
//! a customer's history, similar records).

use std::io::{self, BufWriter, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::Args;

use crate::args::{DataArgs, ReportFormat};

pub(crate) const EXAMPLES: &str = "\
Examples:
  verbatim search --index idx 'facture erreur'
  verbatim search --index idx '\"service client\" AND NOT theme:delivery'
  verbatim search --index idx 'theme:billing sentiment:negative lang:fr date:[2025-01-01 TO 2025-03-31]'
  verbatim search --index idx --format json --limit 20 --offset 20 refund
  verbatim search --index idx --customer C5608        # one customer's records, oldest first
  verbatim search --index idx --like s001 lang:en     # records like s001, English only

Fields: id, customer, channel, lang (fr, en, und), sentiment (positive, negative, neutral),
sentiment_score, theme (an id also matches its sub-themes), mode, churn (none, low, medium,
high), churn_risk, date (2025-01-31, ranges [A TO B]), text_fr, text_en. Words without a field
are searched in French and English.
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
    /// Run every query of FILE (one a line): one JSON answer a line on stdout, latency
    /// percentiles on stderr
    #[arg(long, value_name = "FILE", conflicts_with = "query")]
    queries: Option<PathBuf>,
    #[command(flatten)]
    data: DataArgs,
}

pub(crate) fn run(args: SearchArgs) -> Result<ExitCode> {
    use std::sync::Arc;
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
        return search_batch(&index, req, file);
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
            for h in &found.hits {
                writeln!(
                    out,
                    "\n{:>7}  {}  {}  {}  {} {:+.2}  mode={}  churn={}  themes={}{}",
                    // A history is in date order: no relevance to show.
                    if history { "-".to_string() } else { format!("{:.3}", h.score) },
                    h.id,
                    h.date.as_deref().unwrap_or("-"),
                    h.lang,
                    h.sentiment,
                    h.sentiment_score,
                    h.mode,
                    h.churn,
                    if h.themes.is_empty() { "-".to_string() } else { h.themes.join(",") },
                    h.customer.as_deref().map(|c| format!("  customer={c}")).unwrap_or_default(),
                )?;
                writeln!(out, "         {}", h.marked_snippet(open, close).replace('\n', " "))?;
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
                let line: Vec<String> = items.iter().map(|(k, v)| format!("{k} {v}")).collect();
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

/// Runs each query of `file` in turn; prints one JSON answer per line and the latency
/// distribution (the search itself: parsing, collecting, facets, snippets; not the printing).
fn search_batch(
    index: &verbatim::index::SearchIndex,
    template: verbatim::index::SearchRequest,
    file: &std::path::Path,
) -> Result<ExitCode> {
    let text =
        std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
    let mut out = BufWriter::new(io::stdout().lock());
    let mut times = Vec::new();
    for query in text.lines().filter(|l| !l.trim().is_empty()) {
        let req = verbatim::index::SearchRequest { query: query.to_string(), ..template.clone() };
        let start = std::time::Instant::now();
        let found = index.search(&req)?;
        times.push(start.elapsed().as_secs_f64() * 1e3);
        serde_json::to_writer(&mut out, &serde_json::json!({"query": query, "result": found}))?;
        writeln!(out)?;
    }
    out.flush()?;
    if times.is_empty() {
        bail!("no query in {}", file.display());
    }
    times.sort_by(f64::total_cmp);
    let pct = |p: f64| times[((times.len() - 1) as f64 * p).round() as usize];
    eprintln!(
        "verbatim: {} queries over {} documents: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        times.len(),
        index.num_docs(),
        pct(0.5),
        pct(0.99),
        pct(1.0)
    );
    Ok(ExitCode::SUCCESS)
}
