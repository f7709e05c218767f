//! The `verbatim` command line: parses flags, calls the library, formats output.

use std::io::{self, BufWriter, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::mpsc;
use std::thread;

use anyhow::{Context, Result, bail};
use clap::{Args, Parser, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use rayon::prelude::*;

use verbatim::eval::{EvalReport, LabelledItem, Preset};
use verbatim::io::{Columns, Format, OutputFormat, ReadOptions};
use verbatim::lexicon::Thresholds;
#[path = "verbatim/model_args.rs"]
mod model_args;
#[path = "verbatim/train.rs"]
mod train;

use model_args::ModelArgs;

use verbatim::{Analyzer, Lang, LoadOptions, Options, Outcome, Resources, Summary, Verbatim};

/// Analysis allocates many small strings per comment; mimalloc handles that pattern in about
/// half the time of the system allocator (measured with `perf` on the 100k bench corpus).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const EXAMPLES: &str = "\
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

  # Accuracy on a labelled public dataset (dev fold), and on your own labelled file
  verbatim eval --preset airline-en --fold dev
  verbatim eval labelled.csv --text-column comment --label-column tone
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
    Analyze(AnalyzeArgs),
    /// Measure tone accuracy on a labelled file or a public dataset preset
    #[command(after_long_help = EXAMPLES)]
    Eval(EvalArgs),
    /// Show how a text is tokenised: offsets, matching keys, stems, language
    Tokenize(TokenizeArgs),
    /// Load and validate the lexicons and taxonomy, and print what is loaded
    Check(DataArgs),
    /// Build or update a search index from analysed JSONL or raw comments
    #[command(after_long_help = INDEX_EXAMPLES)]
    Index(IndexArgs),
    /// Search an index: words, phrases, boolean and field filters, facets, history, similar
    #[command(after_long_help = SEARCH_EXAMPLES)]
    Search(SearchArgs),
    /// Train a learned head on labelled data and write it as ONNX
    #[command(after_long_help = EXAMPLES)]
    Train(train::TrainArgs),
}

#[derive(Args, Clone)]
#[command(next_help_heading = "Lexicons and taxonomy")]
struct DataArgs {
    /// A directory laid out like `lexicons/`; each file there replaces the embedded default
    #[arg(long, value_name = "DIR")]
    lexicons: Option<PathBuf>,
    /// A taxonomy file (TOML, see lexicons/taxonomy.toml) replacing the default themes
    #[arg(long, value_name = "FILE")]
    taxonomy: Option<PathBuf>,
}

impl DataArgs {
    fn load(&self) -> Result<Resources> {
        Ok(Resources::load(&LoadOptions {
            dir: self.lexicons.clone(),
            taxonomy: self.taxonomy.clone(),
        })?)
    }
}

#[derive(Args)]
struct AnalyzeArgs {
    /// Input files (`-` for standard input); CSV, TSV, JSONL or text, optionally .gz
    #[arg(value_name = "INPUT", default_value = "-")]
    inputs: Vec<PathBuf>,
    #[command(flatten)]
    input: InputArgs,
    /// Write here instead of standard output
    #[arg(short, long, value_name = "FILE", help_heading = "Output")]
    output: Option<PathBuf>,
    /// Output format
    #[arg(long, value_enum, default_value = "jsonl", help_heading = "Output")]
    output_format: OutFormat,
    /// Worker threads (default: all cores)
    #[arg(long, help_heading = "Run")]
    threads: Option<usize>,
    /// Records analysed per parallel chunk
    #[arg(long, default_value_t = 4096, hide = true)]
    chunk: usize,
    /// Exit with status 1 when any record could not be analysed
    #[arg(long, help_heading = "Run")]
    strict: bool,
    /// No progress bar and no summary on stderr
    #[arg(short, long, help_heading = "Run")]
    quiet: bool,
    #[command(flatten)]
    model: ModelArgs,
    #[command(flatten)]
    data: DataArgs,
}

#[derive(Args)]
struct EvalArgs {
    /// A labelled CSV/TSV/JSONL file (not needed with --preset)
    #[arg(value_name = "FILE", required_unless_present = "preset")]
    file: Option<PathBuf>,
    /// A public dataset from ../shared/data
    #[arg(long, value_enum)]
    preset: Option<PresetArg>,
    /// Fold of the preset: train, dev, test or all
    #[arg(long, default_value = "dev")]
    fold: String,
    /// Where the public datasets are
    #[arg(long, default_value = "../shared/data", env = "VERBATIM_DATA_DIR")]
    data_dir: PathBuf,
    /// Column with the text (labelled file)
    #[arg(long, default_value = "text")]
    text_column: String,
    /// Column with the gold label: positive, negative or neutral (labelled file)
    #[arg(long, default_value = "label")]
    label_column: String,
    /// Column with the language (labelled file; detected when absent)
    #[arg(long)]
    lang_column: Option<String>,
    /// Column with each row's fold (labelled file): only rows equal to --fold are scored
    #[arg(long)]
    fold_column: Option<String>,
    /// Score the predictions of the head with this name (from --head) instead of the tone
    #[arg(long, value_name = "HEAD")]
    predictions: Option<String>,
    /// Output format
    #[arg(long, value_enum, default_value = "table")]
    format: ReportFormat,
    /// Also print macro-F1 over a grid of label thresholds (use on dev, never on test)
    #[arg(long)]
    sweep: bool,
    /// Force the language instead of detecting it
    #[arg(long, value_enum, default_value = "auto")]
    lang: LangArg,
    #[command(flatten)]
    model: ModelArgs,
    #[command(flatten)]
    data: DataArgs,
}

#[derive(Args)]
struct TokenizeArgs {
    /// The text to tokenise
    text: String,
    /// Language for stems (default: detected)
    #[arg(long, value_enum, default_value = "auto")]
    lang: LangArg,
}

#[derive(Clone, Copy, ValueEnum)]
enum InFormat {
    Csv,
    Tsv,
    Jsonl,
    Text,
}

#[derive(Clone, Copy, ValueEnum)]
enum OutFormat {
    Jsonl,
    Csv,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ReportFormat {
    Table,
    Json,
}

#[derive(Clone, Copy, ValueEnum, PartialEq)]
enum LangArg {
    Auto,
    Fr,
    En,
}

impl LangArg {
    fn lang(self) -> Option<Lang> {
        match self {
            LangArg::Auto => None,
            LangArg::Fr => Some(Lang::Fr),
            LangArg::En => Some(Lang::En),
        }
    }
}

#[derive(Clone, Copy, ValueEnum)]
enum PresetArg {
    #[value(name = "insurance-fr")]
    InsuranceFr,
    #[value(name = "insurance-en-mt")]
    InsuranceEnMt,
    #[value(name = "airline-en")]
    AirlineEn,
}

impl PresetArg {
    fn preset(self) -> Preset {
        match self {
            PresetArg::InsuranceFr => Preset::InsuranceFr,
            PresetArg::InsuranceEnMt => Preset::InsuranceEnMt,
            PresetArg::AirlineEn => Preset::AirlineEn,
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Analyze(a) => analyze(a),
        Command::Eval(e) => eval(e),
        Command::Train(t) => train::run(t),
        Command::Tokenize(t) => tokenize(t),
        Command::Check(d) => check(d),
        Command::Index(i) => index(i),
        Command::Search(s) => search(s),
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

fn analyze(args: AnalyzeArgs) -> Result<ExitCode> {
    set_threads(args.threads)?;
    if args.chunk == 0 {
        bail!("--chunk must be at least 1");
    }
    let res = args.data.load()?;
    let analyzer = args.model.attach(Analyzer::new(res, args.input.options()))?;
    let read_opts = args.input.read_options()?;
    let out: Box<dyn Write + Send> = match &args.output {
        Some(p) => Box::new(
            std::fs::File::create(p).with_context(|| format!("cannot create {}", p.display()))?,
        ),
        None => Box::new(io::stdout()),
    };
    let format = match args.output_format {
        OutFormat::Jsonl => OutputFormat::Jsonl,
        OutFormat::Csv => OutputFormat::Csv,
    };
    // Three stages overlap: a reader thread fills chunks, this thread analyses and encodes
    // each chunk in parallel, a writer thread writes the bytes in order.
    let (chunk_tx, chunk_rx) = mpsc::sync_channel::<Result<Vec<verbatim::io::Item>>>(2);
    let (bytes_tx, bytes_rx) = mpsc::sync_channel::<Vec<u8>>(2);
    let inputs = args.inputs.clone();
    let chunk_size = args.chunk;
    let reader = thread::spawn(move || read_chunks(&inputs, &read_opts, chunk_size, &chunk_tx));
    let writer = thread::spawn(move || -> io::Result<()> {
        let mut out = BufWriter::with_capacity(1 << 16, out);
        if format == OutputFormat::Csv {
            out.write_all(&verbatim::io::csv_header())?;
        }
        for bytes in bytes_rx {
            out.write_all(&bytes)?;
        }
        out.flush()
    });
    let progress = progress_bar(args.quiet, "analysed");
    let mut summary = Summary::default();
    let mut failure = None;
    for chunk in chunk_rx {
        let chunk = match chunk {
            Ok(c) => c,
            Err(e) => {
                failure = Some(e);
                break;
            }
        };
        let outcomes = analyzer.analyze_items(&chunk, &mut summary);
        let encoded: Vec<Vec<u8>> = outcomes
            .par_iter()
            .map(|o| {
                let mut buf = Vec::with_capacity(1024);
                verbatim::io::encode_into(o, format, &mut buf).map(|_| buf)
            })
            .collect::<io::Result<_>>()?;
        progress.inc(chunk.len() as u64);
        if bytes_tx.send(encoded.concat()).is_err() {
            break; // the writer stopped: its error is reported below
        }
    }
    drop(bytes_tx);
    let read_result = reader.join().map_err(|_| anyhow::anyhow!("the reader thread panicked"))?;
    writer.join().map_err(|_| anyhow::anyhow!("the writer thread panicked"))??;
    progress.finish_and_clear();
    if let Some(e) = failure {
        return Err(e);
    }
    read_result?;
    if !args.quiet {
        eprintln!("verbatim: {summary}");
    }
    if !summary.reconciles() {
        bail!("internal error: counts do not reconcile ({summary})");
    }
    Ok(if args.strict && summary.errors > 0 { ExitCode::from(1) } else { ExitCode::SUCCESS })
}

/// Reads every input in turn and sends chunks of items; an input that cannot be opened ends
/// the run with its error.
fn read_chunks(
    inputs: &[PathBuf],
    opts: &ReadOptions,
    size: usize,
    tx: &mpsc::SyncSender<Result<Vec<verbatim::io::Item>>>,
) -> Result<()> {
    for input in inputs {
        let reader = match verbatim::io::open(input, opts) {
            Ok(r) => r,
            Err(e) => {
                let _ = tx.send(Err(e.into()));
                return Ok(());
            }
        };
        let mut chunk = Vec::with_capacity(size);
        for item in reader {
            chunk.push(item);
            if chunk.len() == size
                && tx.send(Ok(std::mem::replace(&mut chunk, Vec::with_capacity(size)))).is_err()
            {
                return Ok(());
            }
        }
        if !chunk.is_empty() && tx.send(Ok(chunk)).is_err() {
            return Ok(());
        }
    }
    Ok(())
}

/// Sizes the global worker pool (all cores when `None`).
fn set_threads(n: Option<usize>) -> Result<()> {
    if let Some(n) = n {
        rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build_global()
            .context("setting up threads")?;
    }
    Ok(())
}

/// A spinner counting records on stderr, hidden when quiet or when stderr is not a terminal.
fn progress_bar(quiet: bool, verb: &str) -> ProgressBar {
    if quiet || !io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let pb = ProgressBar::new_spinner();
    pb.set_draw_target(ProgressDrawTarget::stderr_with_hz(4));
    pb.set_style(
        ProgressStyle::with_template(&format!(
            "{{spinner}} {{human_pos}} records {verb} ({{per_sec}}, {{elapsed}})"
        ))
        .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    pb
}

fn eval(args: EvalArgs) -> Result<ExitCode> {
    let res = args.data.load()?;
    let (dataset, items) = load_eval_items(&args)?;
    if items.is_empty() {
        bail!("no labelled items in {dataset} (fold {})", args.fold);
    }
    let analyzer = Analyzer::new(res, Options { lang: args.lang.lang(), ..Options::default() });
    let mut analyzer = args.model.attach(analyzer)?;
    let verbatims: Vec<Verbatim> =
        items.iter().map(|i| Verbatim::new(i.id.clone(), i.text.clone())).collect();
    let pb = progress_bar(args.format == ReportFormat::Json, "scored");
    let mut outcomes = Vec::with_capacity(verbatims.len());
    for chunk in verbatims.chunks(1024) {
        outcomes.extend(analyzer.analyze_batch(chunk));
        pb.inc(chunk.len() as u64);
    }
    pb.finish_and_clear();
    let scored: Vec<(Lang, f32, bool)> = outcomes
        .iter()
        .map(|o| match o {
            Outcome::Analysed(a) => (a.lang, a.sentiment.score, true),
            Outcome::Failed { .. } => (Lang::Und, 0.0, false),
        })
        .collect();
    let failed = scored.iter().filter(|s| !s.2).count();
    let (preds, langs): (Vec<String>, Vec<String>) = outcomes
        .iter()
        .map(|o| match (o, &args.predictions) {
            (Outcome::Analysed(a), None) => {
                (a.sentiment.label.as_str().to_string(), a.lang.as_str().to_string())
            }
            (Outcome::Analysed(a), Some(head)) => {
                let p = a.predictions.iter().find(|p| p.name == *head);
                (
                    p.map_or_else(|| "(none)".into(), |p| p.label.clone()),
                    a.lang.as_str().to_string(),
                )
            }
            (Outcome::Failed { .. }, _) => ("neutral".to_string(), "und".to_string()),
        })
        .unzip();
    if let Some(head) = &args.predictions
        && !analyzer.head_names().contains(head)
    {
        bail!("--predictions {head}: no head of that name (heads: {:?})", analyzer.head_names());
    }
    let report = EvalReport::build(&dataset, &args.fold, &items, &preds, &langs)?;
    let calibration = head_calibration(&items, &outcomes);
    match args.format {
        ReportFormat::Table => {
            println!("{}", report.render_table());
            if let Some(c) = &calibration {
                println!(
                    "model {}: polarity accuracy (negative vs positive items, P(pos) against P(neg)) {:.4}; ECE {:.4} ({} items)",
                    c.name, c.polarity, c.ece, c.n
                );
            }
            if failed > 0 {
                println!("{failed} item(s) could not be analysed and count as neutral predictions");
            }
        }
        ReportFormat::Json => {
            let mut json = report.to_json();
            if let (Some(c), Some(obj)) = (&calibration, json.as_object_mut()) {
                obj.insert(
                    "model".into(),
                    serde_json::json!({"name": c.name, "polarity_accuracy": c.polarity, "ece": c.ece, "n": c.n}),
                );
            }
            println!("{}", serde_json::to_string_pretty(&json)?);
        }
    }
    if args.sweep {
        if args.model.model != model_args::ModelArg::Lexicon {
            bail!("--sweep tunes the lexicon thresholds: use it with --model lexicon");
        }
        sweep(analyzer.resources_mut(), &items, &scored)?;
    }
    Ok(ExitCode::SUCCESS)
}

struct Calibration {
    name: String,
    polarity: f64,
    ece: f64,
    n: usize,
}

/// Polarity accuracy and calibration of the head that decided the tone, when there was one.
fn head_calibration(items: &[LabelledItem], outcomes: &[Outcome]) -> Option<Calibration> {
    let labels: Vec<String> = verbatim::model::SENTIMENT_LABELS.map(String::from).to_vec();
    let mut probs = Vec::new();
    let mut gold = Vec::new();
    let mut name = None;
    for (item, o) in items.iter().zip(outcomes) {
        let Outcome::Analysed(a) = o else { continue };
        let (Some(m), Some(g)) = (&a.sentiment.model, labels.iter().position(|l| *l == item.gold))
        else {
            continue;
        };
        name.get_or_insert_with(|| m.name.clone());
        probs.push(
            labels.iter().map(|l| m.probs.get(l).copied().unwrap_or(0.0)).collect::<Vec<f32>>(),
        );
        gold.push(g);
    }
    let name = name?;
    Some(Calibration {
        name,
        polarity: verbatim::model::trainer::polarity_accuracy(&labels, &probs, &gold)?,
        ece: verbatim::model::linear::expected_calibration_error(&probs, &gold, 15),
        n: gold.len(),
    })
}

fn load_eval_items(args: &EvalArgs) -> Result<(String, Vec<LabelledItem>)> {
    if let Some(p) = args.preset {
        let preset = p.preset();
        let path = preset.default_path(&args.data_dir);
        let items = verbatim::eval::load_preset(preset, &path, &args.fold)?;
        return Ok((preset.name().to_string(), items));
    }
    let Some(file) = &args.file else { bail!("give a labelled FILE or --preset") };
    let delim = if Format::from_path(file) == Some(Format::Tsv) { b'\t' } else { b',' };
    let cols = verbatim::eval::FileColumns {
        text: &args.text_column,
        label: &args.label_column,
        lang: args.lang_column.as_deref(),
        id: None,
    };
    let fold = args.fold_column.as_deref().map(|c| (c, args.fold.as_str()));
    let items = verbatim::eval::load_labelled_fold(file, &cols, delim, fold)?;
    Ok((file.display().to_string(), items))
}

fn labels(res: &Resources, scored: &[(Lang, f32, bool)]) -> (Vec<String>, Vec<String>) {
    scored
        .iter()
        .map(|&(lang, score, _)| {
            let t = res.thresholds(lang);
            let label = if score > t.positive {
                "positive"
            } else if score < t.negative {
                "negative"
            } else {
                "neutral"
            };
            (label.to_string(), lang.as_str().to_string())
        })
        .unzip()
}

/// Prints the best thresholds by macro-F1 on these items. Meant for the dev fold.
fn sweep(res: &mut Resources, items: &[LabelledItem], scored: &[(Lang, f32, bool)]) -> Result<()> {
    let mut results = Vec::new();
    for p in 0..=20 {
        for n in 0..=16 {
            let t =
                Thresholds { positive: -0.1 + p as f32 * 0.05, negative: -0.6 + n as f32 * 0.05 };
            if t.negative > t.positive {
                continue;
            }
            for lang in [Lang::Fr, Lang::En, Lang::Und] {
                res.set_thresholds(lang, t);
            }
            let (preds, langs) = labels(res, scored);
            let report = EvalReport::build("sweep", "", items, &preds, &langs)?;
            results.push((report.macro_f1_all(), t));
        }
    }
    results.sort_by(|a, b| b.0.total_cmp(&a.0));
    println!("\nthreshold sweep (all languages together), best 40 by macro-F1:");
    println!("{:>9} {:>9} {:>9}", "positive", "negative", "macro-F1");
    for (f1, t) in results.iter().take(40) {
        println!("{:>9.2} {:>9.2} {:>9.4}", t.positive, t.negative, f1);
    }
    Ok(())
}

fn tokenize(args: TokenizeArgs) -> Result<ExitCode> {
    let res = Resources::embedded()?;
    let toks = verbatim::tokenize::tokenize(&args.text);
    let lang = match args.lang.lang() {
        Some(l) => l,
        None => match verbatim::detect::detect(&toks, &res) {
            verbatim::detect::Detected::Supported(l) => l,
            verbatim::detect::Detected::Other(..) => Lang::Und,
        },
    };
    let stemmers = verbatim::tokenize::Stemmers::default();
    let tokens: Vec<serde_json::Value> = toks
        .tokens()
        .iter()
        .enumerate()
        .map(|(i, t)| {
            serde_json::json!({
                "token": toks.surface(i),
                "key": toks.key(i),
                "stem": (t.kind == verbatim::tokenize::TokenKind::Word).then(|| stemmers.stem(lang, toks.surface(i))),
                "type": t.kind,
                "start_offset": t.start,
                "end_offset": t.end,
                "position": i,
                "stopword": res.is_stopword(lang, toks.key(i)),
            })
        })
        .collect();
    let sentences: Vec<_> = toks
        .sentences()
        .iter()
        .map(|s| serde_json::json!({"start": s.start, "end": s.end}))
        .collect();
    let out = serde_json::json!({"lang": lang, "tokens": tokens, "sentences": sentences});
    println!("{}", serde_json::to_string_pretty(&out)?);
    Ok(ExitCode::SUCCESS)
}

fn check(args: DataArgs) -> Result<ExitCode> {
    let res = args.load()?;
    println!("data files:");
    for s in res.sources() {
        println!("  {s}");
    }
    println!("themes: {}", res.themes().len());
    for lang in [Lang::Fr, Lang::En] {
        println!("cues compiled ({}): {}", lang.as_str(), res.cue_count(lang));
    }
    println!("ok");
    Ok(ExitCode::SUCCESS)
}

const INDEX_EXAMPLES: &str = "\
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

const SEARCH_EXAMPLES: &str = "\
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
struct IndexArgs {
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

/// How raw (not yet analysed) inputs are read and analysed.
#[derive(Args)]
#[command(next_help_heading = "Input")]
struct InputArgs {
    /// Input format (default: from the file extension)
    #[arg(long, value_enum)]
    input_format: Option<InFormat>,
    /// Column (CSV/TSV) or field (JSONL) holding the comment
    #[arg(long, default_value = "text")]
    text_column: String,
    /// Column or field holding the record id (line number when absent)
    #[arg(long, default_value = "id")]
    id_column: String,
    /// Column holding the comment's date
    #[arg(long)]
    date_column: Option<String>,
    /// Column holding a score (NPS, CSAT, stars)
    #[arg(long)]
    score_column: Option<String>,
    /// Column holding the channel
    #[arg(long)]
    channel_column: Option<String>,
    /// Column holding the customer id
    #[arg(long)]
    customer_column: Option<String>,
    /// Another column to carry into `meta` under its own name (repeat for several)
    #[arg(long, value_name = "COLUMN")]
    meta_column: Vec<String>,
    /// Language: detect per comment, or force one
    #[arg(long, value_enum, default_value = "auto")]
    lang: LangArg,
    /// Mask e-mail addresses, phone numbers, IBANs and card numbers (text and evidence)
    #[arg(long)]
    redact: bool,
    /// Comments longer than this many bytes become error records
    #[arg(long, default_value_t = verbatim::pipeline::DEFAULT_MAX_TEXT_BYTES)]
    max_text_bytes: usize,
}

impl InputArgs {
    fn options(&self) -> Options {
        Options { lang: self.lang.lang(), redact: self.redact, max_text_bytes: self.max_text_bytes }
    }

    fn read_options(&self) -> Result<ReadOptions> {
        if let Some(name) = self
            .meta_column
            .iter()
            .find(|c| verbatim::verbatim::META_RESERVED.contains(&c.as_str()))
        {
            bail!("--meta-column {name}: `{name}` has its own flag (--{name}-column)");
        }
        Ok(ReadOptions {
            format: self.input_format.map(|f| match f {
                InFormat::Csv => Format::Csv,
                InFormat::Tsv => Format::Tsv,
                InFormat::Jsonl => Format::Jsonl,
                InFormat::Text => Format::Text,
            }),
            columns: Columns {
                text: self.text_column.clone(),
                id: self.id_column.clone(),
                date: self.date_column.clone(),
                score: self.score_column.clone(),
                channel: self.channel_column.clone(),
                customer: self.customer_column.clone(),
                extra: self.meta_column.clone(),
            },
            max_line_bytes: self.max_text_bytes.saturating_mul(6).saturating_add(1 << 16),
        })
    }
}

#[derive(Args)]
struct SearchArgs {
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

fn index(args: IndexArgs) -> Result<ExitCode> {
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

fn search(args: SearchArgs) -> Result<ExitCode> {
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

/// The embeddings of `texts` by `encoder` (a file in the model directory), through its on-disk
/// cache (computed and stored when missing).
#[cfg(feature = "onnx")]
fn embeddings<'a>(encoder: &str, texts: impl Iterator<Item = &'a str>) -> Result<Vec<Vec<f32>>> {
    use verbatim::model::embedding_cache::EmbeddingCache;
    use verbatim::model::{ENCODER_TOKENIZER_FILE, encoder_dir};
    let texts: Vec<&str> = texts.collect();
    let dir = encoder_dir();
    let cache_path = dir.join("embeddings").join(format!("{encoder}.windowed.bin"));
    let mut cache = EmbeddingCache::open(&cache_path, verbatim::embed::DIM)
        .with_context(|| format!("opening the embedding cache {}", cache_path.display()))?;
    let mut missing: Vec<&str> = texts.iter().copied().filter(|t| cache.get(t).is_none()).collect();
    missing.sort_unstable();
    missing.dedup();
    if !missing.is_empty() {
        let mut enc =
            verbatim::embed::Encoder::open(&dir.join(encoder), &dir.join(ENCODER_TOKENIZER_FILE))?;
        // Entries of the cache written before long texts were windowed are still right for
        // texts that fit in one window.
        let old_path = dir.join("embeddings").join(format!("{encoder}.bin"));
        if old_path.is_file() {
            let old = EmbeddingCache::open(&old_path, verbatim::embed::DIM)?;
            let mut kept = Vec::with_capacity(missing.len());
            for t in missing {
                match old.get(t) {
                    Some(v) if enc.token_count(t)? <= verbatim::embed::MAX_TOKENS => {
                        cache.put(t, v)?
                    }
                    _ => kept.push(t),
                }
            }
            missing = kept;
        }
        if !missing.is_empty() {
            eprintln!(
                "embedding {} text(s) not in the cache {} (tens to hundreds a second)",
                missing.len(),
                cache_path.display()
            );
        }
        let pb = progress_bar(false, "embedded");
        for chunk in missing.chunks(256) {
            let vs = enc.embed(chunk)?;
            for (t, v) in chunk.iter().zip(&vs) {
                cache.put(t, v)?;
            }
            pb.inc(chunk.len() as u64);
        }
        cache.flush()?;
        pb.finish_and_clear();
    }
    texts
        .iter()
        .map(|t| cache.get(t).map(<[f32]>::to_vec).context("embedding missing from the cache"))
        .collect()
}
