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

/// Writes outcomes in one format.
pub struct Writer<W: Write> {
    inner: Inner<W>,
}

enum Inner<W: Write> {
    Jsonl(W),
    Csv(Box<csv::Writer<W>>),
}

impl<W: Write> Writer<W> {
    /// A writer; the CSV header is written with the first record.
    pub fn new(out: W, format: OutputFormat) -> io::Result<Self> {
        Ok(Writer {
            inner: match format {
                OutputFormat::Jsonl => Inner::Jsonl(out),
                OutputFormat::Csv => {
                    let mut w = csv::Writer::from_writer(out);
                    w.write_record(CSV_COLUMNS).map_err(io::Error::other)?;
                    Inner::Csv(Box::new(w))
                }
            },
        })
    }

    /// Writes one outcome.
    pub fn write(&mut self, o: &Outcome) -> io::Result<()> {
        match &mut self.inner {
            Inner::Jsonl(w) => {
                serde_json::to_writer(&mut *w, o).map_err(io::Error::other)?;
                w.write_all(b"\n")
            }
            Inner::Csv(w) => w.write_record(csv_row(o)).map_err(io::Error::other),
        }
    }

    /// Flushes the output.
    pub fn flush(&mut self) -> io::Result<()> {
        match &mut self.inner {
            Inner::Jsonl(w) => w.flush(),
            Inner::Csv(w) => w.flush(),
        }
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
