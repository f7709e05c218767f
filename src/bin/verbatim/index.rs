//! `verbatim index`: build or update a search index from analysed JSONL or raw comments.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::Args;

use verbatim::Analyzer;

use crate::args::{DataArgs, InputArgs, progress_bar, set_threads};
use crate::model_args::ModelArgs;

pub(crate) const EXAMPLES: &str = "\
Examples:
  # Index the output of `verbatim analyze` (labels as they are)
  verbatim analyze samples/comments.csv --customer-column customer --date-column date -o out.jsonl
  verbatim index --index idx out.jsonl

  # Analyse raw comments on the way in (same reading options as `analyze`)
  verbatim index --index idx samples/comments.csv --date-column date --customer-column customer

  # Remove two records; start again from scratch
  verbatim index --index idx --delete s001 s002
  verbatim index --index idx --rebuild out.jsonl
";

#[derive(Args)]
pub(crate) struct IndexArgs {
    /// The index directory (created when absent)
    #[arg(long, value_name = "DIR", env = "VERBATIM_INDEX")]
    index: PathBuf,
    /// Inputs: JSONL from `verbatim analyze`, or raw CSV/TSV/JSONL/text to analyse (`-` for
    /// standard input, the default unless --delete is given)
    #[arg(value_name = "INPUT")]
    inputs: Vec<PathBuf>,
    /// Delete the records with these ids (before indexing the inputs, if any)
    #[arg(long, value_name = "ID", num_args = 1..)]
    delete: Vec<String>,
    /// Remove every document first, then index the inputs
    #[arg(long)]
    rebuild: bool,
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

pub(crate) fn run(args: IndexArgs) -> Result<ExitCode> {
    use std::sync::Arc;
    use verbatim::index::{Indexer, Ingest, WriteOptions};
    set_threads(args.threads)?;
    let res = Arc::new(args.data.load()?);
    let opts = WriteOptions {
        commit_every: args.commit_every,
        memory_budget: args.memory.saturating_mul(1 << 20),
        threads: args.threads,
        rebuild: args.rebuild,
    };
    let mut indexer = Indexer::open(&args.index, Arc::clone(&res), &opts)?;
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
    for id in &args.delete {
        indexer.delete(id)?;
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
    let analyzer = if Ingest::needs_analysis(&read, &inputs)? {
        args.model.attach(analyzer)?
    } else {
        analyzer
    };
    let ingest = Ingest { analyzer: &analyzer, read: &read, chunk: 4096 };
    let pb = progress.clone();
    ingest.run(&mut indexer, &inputs, &mut |n| pb.inc(n))?;
    let stats = indexer.finish()?;
    progress.finish_and_clear();
    if !args.quiet {
        eprintln!(
            "verbatim: {} records read, {} indexed ({} analysed on the way in), {} not indexed, \
             {} deleted, {} commits; the index holds {} documents",
            stats.read,
            stats.indexed,
            stats.analysed,
            stats.errors,
            stats.deleted,
            stats.commits,
            stats.docs
        );
    }
    Ok(ExitCode::SUCCESS)
}
