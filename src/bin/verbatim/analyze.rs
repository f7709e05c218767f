//! `verbatim analyze`: read comments, analyse them, write one record per input record.

use std::io::{self, BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::mpsc;
use std::thread;

use anyhow::{Context, Result, bail};
use clap::Args;
use rayon::prelude::*;

use verbatim::io::{OutputFormat, ReadOptions};
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
