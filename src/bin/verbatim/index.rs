//! `verbatim index`: build or update a search index from analysed JSONL or raw comments.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, Mutex, PoisonError};

use anyhow::{Context, Result, bail};
use clap::{Args, ValueEnum};

use verbatim::Analyzer;
use verbatim::index::{ErrorRecord, IndexStats, OnDuplicate};

use crate::args::{DataArgs, InputArgs, progress_bar, set_threads};
use crate::model_args::ModelArgs;

pub(crate) const EXAMPLES: &str = "\
Examples:
  # Index the output of `verbatim analyze` (labels as they are)
  verbatim analyze samples/comments.csv --customer-column customer --date-column date -o out.jsonl
  verbatim index --index idx out.jsonl

  # Analyse raw comments on the way in (same reading options as `analyze`); keep the records
  # that could not be indexed, and fail if there are any
  verbatim index --index idx samples/comments.csv --date-column date --errors not-indexed.jsonl --strict

  # Remove two records (their text leaves the index files); start again from scratch
  verbatim index --index idx --delete s001 s002
  verbatim index --index idx --rebuild out.jsonl

Ids: an index holds one document per id, so indexing an id again replaces its document (that
is how a record is updated). Ids repeated within one run are counted and reported with their
first examples; --on-duplicate says which record wins. A record with an empty id is not
indexed (an error record). When the index grows by fewer documents than were indexed, a
warning says why (ids replaced, deleted).

Exit status: 0 when every input was read (records not indexed included: they are reported),
1 with --strict when any record was not indexed, 2 when an input or the configuration could
not be read.
";

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum DuplicateArg {
    /// The later record replaces the earlier
    Replace,
    /// The first record stays, later ones are skipped (counted)
    KeepFirst,
    /// The first record stays, later ones are error records (`duplicate_id`)
    Error,
}

#[derive(Args)]
pub(crate) struct IndexArgs {
    /// The index directory (created when absent)
    #[arg(long, value_name = "DIR", env = "VERBATIM_INDEX")]
    index: PathBuf,
    /// Inputs: JSONL from `verbatim analyze`, or raw CSV/TSV/JSONL/text to analyse (`-` for
    /// standard input, the default unless --delete is given)
    #[arg(value_name = "INPUT")]
    inputs: Vec<PathBuf>,
    /// Delete the records with these ids (before indexing the inputs, if any). Only ids in the
    /// index are counted; the segments that held them are then merged, so that their text
    /// leaves the index files
    #[arg(long, value_name = "ID", num_args = 1..)]
    delete: Vec<String>,
    /// Build a new index from the inputs, beside the old one (DIR.rebuilding), and replace the
    /// old one with it at the end: until then the old index stays whole and searchable, and a
    /// killed rebuild leaves it as it was
    #[arg(long)]
    rebuild: bool,
    /// An id read again within this run: the later record replaces the earlier, or the first
    /// is kept and later ones skipped, or later ones become error records
    #[arg(long, value_enum, default_value = "replace", value_name = "WHAT")]
    on_duplicate: DuplicateArg,
    /// Write every record not indexed to FILE as JSONL error records, in the shape of
    /// `verbatim analyze`'s (`{"id", "error": {"kind", "message", "file", "line", "field"}}`);
    /// without it the first few are printed on stderr
    #[arg(long, value_name = "FILE")]
    errors: Option<PathBuf>,
    /// Exit with status 1 when any record was not indexed (an error record)
    #[arg(long)]
    strict: bool,
    /// Commit (make durable) after this many documents
    #[arg(long, default_value_t = 50_000, value_name = "N")]
    commit_every: usize,
    /// Memory for the indexing threads, in MiB
    #[arg(long, default_value_t = 200, value_name = "MIB")]
    memory: usize,
    /// Indexing threads (default: tantivy's choice)
    #[arg(long)]
    threads: Option<usize>,
    /// No progress and no summary on stderr
    #[arg(short, long)]
    quiet: bool,
    #[command(flatten)]
    read: InputArgs,
    #[command(flatten)]
    model: ModelArgs,
    #[command(flatten)]
    data: DataArgs,
}

/// Error records printed on stderr when they are not written to a file.
const SHOWN: usize = 5;

/// Where error records go: all to the `--errors` file, or the first few kept for stderr.
struct ErrorSink {
    file: Option<(PathBuf, BufWriter<File>)>,
    shown: Vec<ErrorRecord>,
}

impl ErrorSink {
    fn take(&mut self, e: &ErrorRecord) -> Result<(), verbatim::Error> {
        match &mut self.file {
            Some((path, out)) => {
                let io_err = |source| verbatim::Error::Io { path: path.clone(), source };
                serde_json::to_writer(&mut *out, e).map_err(|e| io_err(e.into()))?;
                out.write_all(b"\n").map_err(io_err)
            }
            None => {
                if self.shown.len() < SHOWN {
                    self.shown.push(e.clone());
                }
                Ok(())
            }
        }
    }
}

pub(crate) fn run(args: IndexArgs) -> Result<ExitCode> {
    use verbatim::index::{Indexer, Ingest, Plan, WriteOptions};
    set_threads(args.threads)?;
    if args.delete.iter().any(|id| id.trim().is_empty()) {
        bail!("--delete: an empty id names no record (no document has an empty id)");
    }
    let res = Arc::new(args.data.load()?);
    let opts = WriteOptions {
        commit_every: args.commit_every,
        memory_budget: args.memory.saturating_mul(1 << 20),
        threads: args.threads,
        rebuild: args.rebuild,
        on_duplicate: match args.on_duplicate {
            DuplicateArg::Replace => OnDuplicate::Replace,
            DuplicateArg::KeepFirst => OnDuplicate::KeepFirst,
            DuplicateArg::Error => OnDuplicate::Error,
        },
    };
    let file = match &args.errors {
        Some(p) => {
            let f = File::create(p).with_context(|| format!("cannot create {}", p.display()))?;
            Some((p.clone(), BufWriter::new(f)))
        }
        None => None,
    };
    let sink = Arc::new(Mutex::new(ErrorSink { file, shown: Vec::new() }));
    let mut indexer = Indexer::open(&args.index, Arc::clone(&res), &opts)?;
    let to_sink = Arc::clone(&sink);
    indexer.on_error(move |e| to_sink.lock().unwrap_or_else(PoisonError::into_inner).take(e));
    let progress = progress_bar(args.quiet, "indexed");
    if !args.quiet {
        // One line per commit: what a killed run has made durable.
        let pb = progress.clone();
        indexer.on_commit(move |s| {
            pb.suspend(|| {
                eprintln!("verbatim: commit {}: {} records indexed", s.commits, s.indexed)
            })
        });
    }
    let mut absent = Vec::new();
    let mut asked = std::collections::HashSet::new();
    for id in args.delete.iter().filter(|id| asked.insert(id.as_str())) {
        if !indexer.delete(id)? {
            absent.push(id.as_str());
        }
    }
    let inputs = if args.inputs.is_empty() && args.delete.is_empty() {
        vec![PathBuf::from("-")]
    } else {
        args.inputs.clone()
    };
    // A second load: the analyser owns its resources, the index analysers share theirs.
    let analyzer = Analyzer::new(args.data.load()?, args.read.options());
    let read = args.read.read_options()?;
    // Analysed JSONL is indexed as it is: the tone model is loaded only for raw comments.
    let plan = Plan::new(&read, &inputs)?;
    let analyzer = if plan.needs_analysis() { args.model.attach(analyzer)? } else { analyzer };
    let ingest = Ingest { analyzer: &analyzer, read: &read, chunk: 4096 };
    let pb = progress.clone();
    ingest.run(&mut indexer, plan, &mut |n| pb.inc(n))?;
    let stats = indexer.finish()?;
    progress.finish_and_clear();
    let mut sink = sink.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some((path, out)) = &mut sink.file {
        out.flush().with_context(|| format!("cannot write {}", path.display()))?;
    }
    if stats.read != stats.indexed + stats.skipped + stats.errors {
        bail!("internal error: counts do not reconcile ({stats:?})");
    }
    if !args.quiet {
        report(&stats, &args, &absent, &sink.shown);
    }
    Ok(if args.strict && stats.errors > 0 { ExitCode::from(1) } else { ExitCode::SUCCESS })
}

/// The summary on stderr: counts, records not indexed, repeated ids, and why the index grew
/// by fewer documents than were indexed.
fn report(s: &IndexStats, args: &IndexArgs, absent: &[&str], shown: &[ErrorRecord]) {
    let kinds: Vec<String> = s.errors_by_kind.iter().map(|(k, n)| format!("{n} {k}")).collect();
    eprintln!(
        "verbatim: {} records read, {} indexed ({} analysed on the way in), {} not indexed{}, \
         {} skipped, {} deleted, {} commits; the index holds {} documents",
        s.read,
        s.indexed,
        s.analysed,
        s.errors,
        if kinds.is_empty() { String::new() } else { format!(" ({})", kinds.join(", ")) },
        s.skipped,
        s.deleted,
        s.commits,
        s.docs
    );
    if !absent.is_empty() {
        eprintln!(
            "verbatim: {} of the ids to delete were not in the index: {}",
            absent.len(),
            examples(absent.iter().map(|id| format!("`{id}`")), absent.len())
        );
    }
    if args.errors.is_none() && !shown.is_empty() {
        for e in shown {
            let place = format!("{}:{}", e.error.file, e.error.line);
            let id = if e.id == place { String::new() } else { format!(", id `{}`", e.id) };
            eprintln!("verbatim: not indexed: {} [{}{id}]", e.error, e.error.kind.as_str());
        }
        if s.errors > shown.len() as u64 {
            eprintln!(
                "verbatim: … and {} more; --errors FILE writes them all",
                s.errors - shown.len() as u64
            );
        }
    }
    if s.repeated_ids > 0 {
        let first = s.repeats.iter().map(|r| match r.first.is_empty() {
            true => format!("`{}` (again at {})", r.id, r.again),
            false => format!("`{}` ({}, {})", r.id, r.first, r.again),
        });
        let what = match args.on_duplicate {
            DuplicateArg::Replace => "the last record of each was indexed",
            DuplicateArg::KeepFirst => "the first record of each was indexed, later ones skipped",
            DuplicateArg::Error => "the first record of each was indexed, later ones are errors",
        };
        eprintln!(
            "verbatim: {} ids repeated within this run, in {} more records (first: {}); {what}",
            s.repeated_ids,
            s.repeated,
            examples(first, s.repeated_ids as usize)
        );
    }
    let grew = i128::from(s.docs) - i128::from(s.docs_before);
    if grew + i128::from(s.deleted) < i128::from(s.indexed) {
        let mut why = Vec::new();
        if args.on_duplicate == DuplicateArg::Replace && s.repeated > 0 {
            why.push(format!("{} replaced a record read earlier in this run", s.repeated));
        }
        if s.replaced > 0 {
            why.push(format!("{} replaced documents already in the index", s.replaced));
        }
        if s.deleted > 0 {
            why.push(format!("{} were deleted", s.deleted));
        }
        eprintln!(
            "verbatim: warning: the index grew by {grew} documents for {} records indexed: {} \
             (an id holds one document: indexing it again replaces it)",
            s.indexed,
            why.join(", ")
        );
    }
    for w in &s.warnings {
        eprintln!("verbatim: warning: {w}");
    }
}

/// `items` joined with commas, with an ellipsis when there are more than shown.
fn examples(items: impl Iterator<Item = String>, total: usize) -> String {
    let shown: Vec<String> = items.take(SHOWN).collect();
    let more = if total > shown.len() { ", …" } else { "" };
    format!("{}{more}", shown.join(", "))
}
