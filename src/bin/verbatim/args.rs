//! Flags shared by several subcommands: lexicons, input reading, formats, threads, progress.

use std::io::{self, IsTerminal};
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use verbatim::eval::Preset;
use verbatim::io::{Columns, Format, ReadOptions};
use verbatim::{Lang, LoadOptions, Options, Resources};

#[derive(Args, Clone)]
#[command(next_help_heading = "Lexicons and taxonomy")]
pub(crate) struct DataArgs {
    /// A directory laid out like `lexicons/`; each file there replaces the embedded default
    #[arg(long, value_name = "DIR")]
    lexicons: Option<PathBuf>,
    /// A taxonomy file (TOML, see lexicons/taxonomy.toml) replacing the default themes
    #[arg(long, value_name = "FILE")]
    taxonomy: Option<PathBuf>,
}

impl DataArgs {
    /// Loads the data. Warnings about it (see `verbatim check`) are summed up in one line on
    /// stderr: the analysis commands do not list them.
    pub(crate) fn load(&self) -> Result<Resources> {
        let res = Resources::load(&self.options())?;
        let n = res.warnings().len();
        if n > 0 {
            eprintln!(
                "verbatim: warning: the lexicons have {n} warning{}: `verbatim check{}` lists them",
                if n == 1 { "" } else { "s" },
                self.flags()
            );
        }
        Ok(res)
    }

    pub(crate) fn options(&self) -> LoadOptions {
        LoadOptions { dir: self.lexicons.clone(), taxonomy: self.taxonomy.clone() }
    }

    /// Does any flag replace built-in data?
    pub(crate) fn overrides(&self) -> bool {
        self.lexicons.is_some() || self.taxonomy.is_some()
    }

    /// The flags as given, to repeat them in a hint.
    fn flags(&self) -> String {
        let mut out = String::new();
        if let Some(d) = &self.lexicons {
            out.push_str(&format!(" --lexicons {}", d.display()));
        }
        if let Some(t) = &self.taxonomy {
            out.push_str(&format!(" --taxonomy {}", t.display()));
        }
        out
    }
}

#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum InFormat {
    Csv,
    Tsv,
    Jsonl,
    Text,
}

#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum OutFormat {
    Jsonl,
    Csv,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ReportFormat {
    Table,
    Json,
}

#[derive(Clone, Copy, ValueEnum, PartialEq)]
pub(crate) enum LangArg {
    Auto,
    Fr,
    En,
}

impl LangArg {
    pub(crate) fn lang(self) -> Option<Lang> {
        match self {
            LangArg::Auto => None,
            LangArg::Fr => Some(Lang::Fr),
            LangArg::En => Some(Lang::En),
        }
    }
}

#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum PresetArg {
    #[value(name = "insurance-fr")]
    InsuranceFr,
    #[value(name = "insurance-en-mt")]
    InsuranceEnMt,
    #[value(name = "airline-en")]
    AirlineEn,
}

impl PresetArg {
    pub(crate) fn preset(self) -> Preset {
        match self {
            PresetArg::InsuranceFr => Preset::InsuranceFr,
            PresetArg::InsuranceEnMt => Preset::InsuranceEnMt,
            PresetArg::AirlineEn => Preset::AirlineEn,
        }
    }
}

#[derive(Args)]
#[command(next_help_heading = "Input")]
pub(crate) struct InputArgs {
    /// Input format (default: from the file extension)
    #[arg(long, value_enum)]
    input_format: Option<InFormat>,
    /// Column (CSV/TSV) or field (JSONL) holding the comment
    #[arg(long, default_value = "text")]
    text_column: String,
    /// Column or field holding the record id (when absent or empty: FILE:LINE, or the line
    /// number on standard input)
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
    /// Mask e-mail addresses, phone numbers, IBANs, RIBs, NIRs and card numbers, in the text
    /// (and so the evidence) and in the metadata columns (output and index)
    #[arg(long)]
    redact: bool,
    /// Comments longer than this many bytes become error records
    #[arg(long, default_value_t = verbatim::pipeline::DEFAULT_MAX_TEXT_BYTES)]
    max_text_bytes: usize,
    /// CSV field delimiter: one character, or `tab` (default: `,`, or `;` when the header
    /// holds more `;` than `,`, as in French Excel exports)
    #[arg(long, value_name = "CHAR", value_parser = parse_delimiter)]
    delimiter: Option<u8>,
    /// Encoding of the input when it is not UTF-8: windows-1252 (Excel's, for French),
    /// iso-8859-1, iso-8859-15, utf-16le… (any WHATWG label); a byte-order mark overrides it
    #[arg(long, value_name = "LABEL", value_parser = parse_encoding)]
    encoding: Option<&'static encoding_rs::Encoding>,
}

fn parse_delimiter(s: &str) -> Result<u8, String> {
    match s {
        "tab" | "\\t" | "\t" => Ok(b'\t'),
        _ if s.len() == 1 && s != "\"" && s != "\n" && s != "\r" => Ok(s.as_bytes()[0]),
        _ => Err("give one ASCII character other than a quote or a line end, or `tab`".into()),
    }
}

fn parse_encoding(s: &str) -> Result<&'static encoding_rs::Encoding, String> {
    encoding_rs::Encoding::for_label(s.as_bytes()).ok_or_else(|| {
        format!("unknown encoding `{s}` (try windows-1252, iso-8859-1, utf-8, utf-16le)")
    })
}

impl InputArgs {
    pub(crate) fn options(&self) -> Options {
        Options {
            lang: self.lang.lang(),
            redact: self.redact,
            redact_meta: self.redact,
            max_text_bytes: self.max_text_bytes,
        }
    }

    pub(crate) fn read_options(&self) -> Result<ReadOptions> {
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
            delimiter: self.delimiter,
            encoding: self.encoding,
        })
    }
}

/// Sizes the global worker pool (all cores when `None`).
pub(crate) fn set_threads(n: Option<usize>) -> Result<()> {
    if let Some(n) = n {
        rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build_global()
            .context("setting up threads")?;
    }
    Ok(())
}

/// A spinner counting records on stderr, hidden when quiet or when stderr is not a terminal.
pub(crate) fn progress_bar(quiet: bool, verb: &str) -> ProgressBar {
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
