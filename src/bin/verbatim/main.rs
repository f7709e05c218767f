//! The `verbatim` command line: a thin shell. Each subcommand is one file of this folder
//! (as ruff's `commands/`): it parses its flags, calls the library and formats the output.
// Standard output goes through `outln!` (or an explicit writer), never `println!`, which panics
// on a closed pipe.
#![deny(clippy::print_stdout)]

use std::io;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// `println!` that returns the write error instead of panicking: a closed pipe
/// (`verbatim check | head -1`) then ends the run quietly with status 0 (see `main`).
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        writeln!(std::io::stdout().lock(), $($arg)*)?
    }};
}

mod analyze;
mod args;
mod check;
mod eval;
mod index;
mod model_args;
mod search;
mod tokenize;
mod train;

/// Analysis allocates many small strings per comment; mimalloc handles that pattern in about
/// half the time of the system allocator (measured with `perf` on the 100k bench corpus).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

pub(crate) const EXAMPLES: &str = "\
Examples:
  # Analyse the shipped sample (CSV with a `text` column) to JSONL on stdout
  verbatim analyze samples/comments.csv --date-column date --channel-column channel \\
      --customer-column customer --score-column score

  # A survey export whose comment column is `verbatim`, to CSV, with PII masked
  verbatim analyze export.csv --text-column verbatim --id-column resp_id --redact \\
      --output-format csv -o analysed.csv

  # JSONL from another program, one comment per line on stdin
  cat comments.jsonl | verbatim analyze - --input-format jsonl > out.jsonl

  # Your own themes instead of the default taxonomy
  verbatim analyze comments.csv --taxonomy my-themes.toml

  # The tone model: fast (default), accurate (after `bash scripts/setup_models.sh`), lexicon
  verbatim analyze comments.csv --model accurate -o out.jsonl

  # Train a head on your own labels (e.g. the service each e-mail belongs to), then use it
  verbatim train routed.csv --text-column body --label-column service --out models/service
  verbatim analyze new-mail.csv --text-column body --head models/service.onnx

  # A French Excel export (Windows-1252, `;`-separated: the delimiter is told from the header)
  verbatim analyze export.csv --encoding windows-1252 --text-column verbatim

  # Accuracy on a labelled public dataset (dev fold), and on your own labelled file
  verbatim eval --preset airline-en --fold dev
  verbatim eval labelled.csv --text-column comment --label-column tone

Every input record gives exactly one output record: an analysis, or an error record naming
file, line and field; the counts are printed on stderr and reconcile. Records without an id
column are named FILE:LINE.

Exit status:
  0  every input was read to its end (error records included)
  1  with --strict, when any record is an error record
  2  an input or the configuration could not be read (a missing file, a truncated .gz, a bad
     flag or lexicon); what was read before a failure is written, then the run stops
";

#[derive(Parser)]
#[command(name = "verbatim", version, about = "Text analytics for customer verbatims (French and English)",
    long_about = "Reads customer comments (surveys, e-mails, chats, reviews) and writes one enriched record per comment: \
language, tone (overall, per sentence, per theme), themes, mode of expression, churn risk, and the evidence spans behind every label.",
    after_long_help = EXAMPLES)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Analyse comments and write one JSONL (or CSV) record per input record
    #[command(after_long_help = EXAMPLES)]
    Analyze(analyze::AnalyzeArgs),
    /// Measure tone accuracy on a labelled file or a public dataset preset
    #[command(after_long_help = EXAMPLES)]
    Eval(eval::EvalArgs),
    /// Show how a text is tokenised: offsets, matching keys, stems, language
    Tokenize(tokenize::TokenizeArgs),
    /// Load and validate the lexicons and taxonomy, and print what is loaded
    Check(check::CheckArgs),
    /// Build or update a search index from analysed JSONL or raw comments
    #[command(after_long_help = index::EXAMPLES)]
    Index(index::IndexArgs),
    /// Search an index: words, phrases, boolean and field filters, facets, history, similar
    #[command(after_long_help = search::examples())]
    Search(search::SearchArgs),
    /// Train a learned head on labelled data and write it as ONNX
    #[command(after_long_help = EXAMPLES)]
    Train(train::TrainArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Analyze(a) => analyze::run(a),
        Command::Eval(e) => eval::run(e),
        Command::Train(t) => train::run(t),
        Command::Tokenize(t) => tokenize::run(t),
        Command::Check(d) => check::run(d),
        Command::Index(i) => index::run(i),
        Command::Search(s) => search::run(s),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            if is_broken_pipe(&e) {
                return ExitCode::SUCCESS;
            }
            eprintln!("verbatim: error: {}", error_chain(&e));
            ExitCode::from(2)
        }
    }
}

/// The error and its causes, leaving out a cause whose text the message already contains.
fn error_chain(e: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in e.chain() {
        let msg = cause.to_string();
        if !out.contains(&msg) {
            if !out.is_empty() {
                out.push_str(": ");
            }
            out.push_str(&msg);
        }
    }
    out
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<io::Error>().is_some_and(|io| io.kind() == io::ErrorKind::BrokenPipe)
    })
}
