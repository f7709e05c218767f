//! Output writers: JSONL (one object per record, the reference format) and a flattened CSV.

use std::io::{self, Write};

use crate::analysis::Outcome;

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputFormat {
    /// One JSON object per line: the full record with evidence.
    Jsonl,
    /// One row per record, labels flattened, without evidence spans.
    Csv,
}

/// The flattened CSV columns, in order.
pub const CSV_COLUMNS: [&str; 14] = [
    "id",
    "lang",
    "sentiment",
    "sentiment_score",
    "themes",
    "theme_sentiments",
    "mode",
    "churn_risk",
    "churn_level",
    "churn_reasons",
    "evidence",
    "error_kind",
    "error_message",
    "text",
];

/// Appends the encoding of one outcome (one line, newline included) to `buf`. Encoding is
/// separate from writing so that callers can encode in parallel and write in order.
pub fn encode_into(o: &Outcome, format: OutputFormat, buf: &mut Vec<u8>) -> io::Result<()> {
    match format {
        OutputFormat::Jsonl => {
            serde_json::to_writer(&mut *buf, o).map_err(io::Error::other)?;
            buf.push(b'\n');
            Ok(())
        }
        OutputFormat::Csv => csv_line(&csv_row(o), buf),
    }
}

/// The CSV header line (write it once before the rows).
pub fn csv_header() -> Vec<u8> {
    let mut buf = Vec::new();
    // Writing to a Vec cannot fail.
    let _ = csv_line(&CSV_COLUMNS.map(String::from), &mut buf);
    buf
}

fn csv_line(fields: &[String], buf: &mut Vec<u8>) -> io::Result<()> {
    let mut w = csv::WriterBuilder::new().has_headers(false).buffer_capacity(1024).from_writer(buf);
    w.write_record(fields).map_err(io::Error::other)?;
    w.flush()
}

/// Writes outcomes in one format to a `Write`.
pub struct Writer<W: Write> {
    out: W,
    format: OutputFormat,
    buf: Vec<u8>,
}

impl<W: Write> Writer<W> {
    /// A writer; for CSV the header is written at once.
    pub fn new(mut out: W, format: OutputFormat) -> io::Result<Self> {
        if format == OutputFormat::Csv {
            out.write_all(&csv_header())?;
        }
        Ok(Writer { out, format, buf: Vec::new() })
    }

    /// Writes one outcome.
    pub fn write(&mut self, o: &Outcome) -> io::Result<()> {
        self.buf.clear();
        encode_into(o, self.format, &mut self.buf)?;
        self.out.write_all(&self.buf)
    }

    /// Flushes the output.
    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

fn csv_row(o: &Outcome) -> Vec<String> {
    match o {
        Outcome::Analysed(a) => {
            let themes: Vec<&str> = a.themes.iter().map(|t| t.id.as_str()).collect();
            let tones: Vec<String> = a
                .themes
                .iter()
                .map(|t| format!("{}:{}", t.id, t.sentiment.label.as_str()))
                .collect();
            let evidence: Vec<&str> =
                a.sentiment.evidence.iter().map(|e| e.text.as_str()).collect();
            vec![
                a.id.clone(),
                a.lang.as_str().into(),
                a.sentiment.label.as_str().into(),
                a.sentiment.score.to_string(),
                themes.join(";"),
                tones.join(";"),
                a.mode.label.clone(),
                a.churn.risk.to_string(),
                a.churn.level.as_str().into(),
                a.churn.reasons.join(";"),
                evidence.join(";"),
                String::new(),
                String::new(),
                a.text.clone(),
            ]
        }
        Outcome::Failed { id, error } => {
            let mut row = vec![String::new(); CSV_COLUMNS.len()];
            row[0] = id.clone();
            row[11] = error.kind.as_str().into();
            row[12] = error.to_string();
            row
        }
    }
}
