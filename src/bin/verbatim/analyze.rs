//! `verbatim analyze`: read comments, analyse them, write one record per input record.

use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::mpsc;
use std::thread;

use anyhow::{Context, Result, bail};
use clap::Args;
use rayon::prelude::*;

use verbatim::io::{CsvLayout, OutputFormat, ReadOptions};
use verbatim::{Analyzer, Summary};

use crate::args::{DataArgs, InputArgs, OutFormat, progress_bar, set_threads};
use crate::model_args::ModelArgs;

#[derive(Args)]
pub(crate) struct AnalyzeArgs {
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

pub(crate) fn run(args: AnalyzeArgs) -> Result<ExitCode> {
    set_threads(args.threads)?;
    if args.chunk == 0 {
        bail!("--chunk must be at least 1");
    }
    let res = args.data.load()?;
    let analyzer = args.model.attach(Analyzer::new(res, args.input.options()))?;
    let read_opts = args.input.read_options()?;
    // Every input must open before the output is created: a typo in an input name must not
    // truncate an earlier output, and writing over an input would destroy it while reading.
    check_inputs(&args.inputs, args.output.as_deref())?;
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
    let layout =
        CsvLayout { meta: read_opts.columns.extra.clone(), heads: analyzer.prediction_heads() };
    let header = (format == OutputFormat::Csv).then(|| layout.header());
    // Three stages overlap: a reader thread fills chunks, this thread analyses and encodes
    // each chunk in parallel, a writer thread writes the bytes in order.
    let (chunk_tx, chunk_rx) = mpsc::sync_channel::<Vec<verbatim::io::Item>>(2);
    let (bytes_tx, bytes_rx) = mpsc::sync_channel::<Vec<u8>>(2);
    let inputs = args.inputs.clone();
    let chunk_size = args.chunk;
    let reader = thread::spawn(move || read_chunks(&inputs, &read_opts, chunk_size, &chunk_tx));
    let writer = thread::spawn(move || -> io::Result<()> {
        let mut out = BufWriter::with_capacity(1 << 16, out);
        if let Some(h) = header {
            out.write_all(&h)?;
        }
        for bytes in bytes_rx {
            out.write_all(&bytes)?;
        }
        out.flush()
    });
    let progress = progress_bar(args.quiet, "analysed");
    let mut summary = Summary::default();
    for chunk in chunk_rx {
        let outcomes = analyzer.analyze_items(&chunk, &mut summary);
        let encoded: Vec<Vec<u8>> = outcomes
            .par_iter()
            .map(|o| {
                let mut buf = Vec::with_capacity(1024);
                verbatim::io::encode_into(o, format, &layout, &mut buf).map(|_| buf)
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
    if !args.quiet {
        eprintln!("verbatim: {summary}");
    }
    // What was read before a fatal read error has been written; the error comes after the
    // summary so that the counts of what was done are on record.
    read_result?;
    if !summary.reconciles() {
        bail!("internal error: counts do not reconcile ({summary})");
    }
    Ok(if args.strict && summary.errors > 0 { ExitCode::from(1) } else { ExitCode::SUCCESS })
}

/// Refuses inputs that cannot be opened, and an output that is one of the inputs.
fn check_inputs(inputs: &[PathBuf], output: Option<&Path>) -> Result<()> {
    use std::os::unix::fs::MetadataExt;
    let out_id = output.and_then(|p| std::fs::metadata(p).ok()).map(|m| (m.dev(), m.ino()));
    for input in inputs.iter().filter(|p| p.as_os_str() != "-") {
        let meta = std::fs::metadata(input).with_context(|| format!("{}", input.display()))?;
        if meta.is_dir() {
            bail!("{}: is a directory: give the files inside it", input.display());
        }
        std::fs::File::open(input).with_context(|| format!("{}", input.display()))?;
        if out_id == Some((meta.dev(), meta.ino())) {
            bail!(
                "{}: the output file is also an input: writing it would destroy what is being read \
                 (choose another -o)",
                input.display()
            );
        }
    }
    Ok(())
}

/// Reads every input in turn and sends chunks of items. An input that cannot be opened, or
/// that fails part-way (a truncated gzip stream), ends the run with its error once the records
/// read before it have been sent.
fn read_chunks(
    inputs: &[PathBuf],
    opts: &ReadOptions,
    size: usize,
    tx: &mpsc::SyncSender<Vec<verbatim::io::Item>>,
) -> Result<()> {
    for input in inputs {
        let mut reader = verbatim::io::open(input, opts)?;
        let mut chunk = Vec::with_capacity(size);
        for item in &mut reader {
            chunk.push(item);
            if chunk.len() == size
                && tx.send(std::mem::replace(&mut chunk, Vec::with_capacity(size))).is_err()
            {
                return Ok(());
            }
        }
        if !chunk.is_empty() && tx.send(chunk).is_err() {
            return Ok(());
        }
        reader.finish()?;
    }
    Ok(())
}
