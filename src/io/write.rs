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

/// The flattened CSV columns that every run has, in order. A run's own columns (its
/// `--meta-column`s and the labels of its heads) come between `score` and `warnings`: see
/// [`CsvLayout`].
pub const CSV_COLUMNS: [&str; 19] = [
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
    "date",
    "customer",
    "channel",
    "score",
    "warnings",
    "error_kind",
    "error_message",
    "text",
];

/// Where the run's own columns go: after `score`.
const RUN_COLUMNS_AT: usize = 15;

/// The CSV columns of one run: the fixed ones, plus one per `--meta-column` (`meta.NAME`) and
/// two per head that adds predictions (`NAME`, `NAME.probability`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CsvLayout {
    /// The `--meta-column` names, in order.
    pub meta: Vec<String>,
    /// The names of the heads whose labels go to `predictions`.
    pub heads: Vec<String>,
}

impl CsvLayout {
    /// Every column name, in order.
    pub fn columns(&self) -> Vec<String> {
        let mut cols: Vec<String> =
            CSV_COLUMNS[..RUN_COLUMNS_AT].iter().map(|c| c.to_string()).collect();
        cols.extend(self.meta.iter().map(|m| format!("meta.{m}")));
        for h in &self.heads {
            cols.push(h.clone());
            cols.push(format!("{h}.probability"));
        }
        cols.extend(CSV_COLUMNS[RUN_COLUMNS_AT..].iter().map(|c| c.to_string()));
        cols
    }

    /// The CSV header line (write it once before the rows).
    pub fn header(&self) -> Vec<u8> {
        let mut buf = Vec::new();
        // Writing to a Vec cannot fail.
        let _ = csv_line(&self.columns(), &mut buf);
        buf
    }

    fn row(&self, o: &Outcome) -> Vec<String> {
        let width = CSV_COLUMNS.len() + self.meta.len() + 2 * self.heads.len();
        let mut row = Vec::with_capacity(width);
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
                let m = &a.meta;
                row.extend([
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
                ]);
                for v in [&m.date, &m.customer, &m.channel, &m.score] {
                    row.push(v.clone().unwrap_or_default());
                }
                for name in &self.meta {
                    row.push(m.extra.get(name).cloned().unwrap_or_default());
                }
                for h in &self.heads {
                    match a.predictions.iter().find(|p| p.name == *h) {
                        Some(p) => row.extend([p.label.clone(), p.probability.to_string()]),
                        None => row.extend([String::new(), String::new()]),
                    }
                }
                let warnings: Vec<&str> = a.warnings.iter().map(|w| w.kind).collect();
                row.extend([warnings.join(";"), String::new(), String::new(), a.text.clone()]);
            }
            Outcome::Failed { id, error } => {
                row.push(id.clone());
                row.resize(width - 4, String::new());
                row.extend([
                    String::new(),
                    error.kind.as_str().into(),
                    error.to_string(),
                    String::new(),
                ]);
            }
        }
        row
    }
}

/// Appends the encoding of one outcome (one line, newline included) to `buf`. Encoding is
/// separate from writing so that callers can encode in parallel and write in order.
pub fn encode_into(
    o: &Outcome,
    format: OutputFormat,
    layout: &CsvLayout,
    buf: &mut Vec<u8>,
) -> io::Result<()> {
    match format {
        OutputFormat::Jsonl => {
            serde_json::to_writer(&mut *buf, o).map_err(io::Error::other)?;
            buf.push(b'\n');
            Ok(())
        }
        OutputFormat::Csv => csv_line(&layout.row(o), buf),
    }
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
    layout: CsvLayout,
    buf: Vec<u8>,
}

impl<W: Write> Writer<W> {
    /// A writer; for CSV the header is written at once.
    pub fn new(mut out: W, format: OutputFormat, layout: CsvLayout) -> io::Result<Self> {
        if format == OutputFormat::Csv {
            out.write_all(&layout.header())?;
        }
        Ok(Writer { out, format, layout, buf: Vec::new() })
    }

    /// Writes one outcome.
    pub fn write(&mut self, o: &Outcome) -> io::Result<()> {
        self.buf.clear();
        encode_into(o, self.format, &self.layout, &mut self.buf)?;
        self.out.write_all(&self.buf)
    }

    /// Flushes the output.
    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Analyzer, Options, Resources, Verbatim};

    #[test]
    fn defect_12_csv_keeps_meta_heads_and_warnings() {
        let analyzer = Analyzer::new(Resources::embedded().unwrap(), Options::default());
        let mut v = Verbatim::new("r1", "Facture fausse, je vais résilier !");
        v.meta.date = Some("2025-02-03".into());
        v.meta.customer = Some("C1".into());
        v.meta.channel = Some("email".into());
        v.meta.score = Some("2".into());
        v.meta.extra.insert("segment".into(), "pro".into());
        let o = analyzer.analyze(&v);
        let layout = CsvLayout { meta: vec!["segment".into()], heads: vec!["service".into()] };
        let mut buf = layout.header();
        encode_into(&o, OutputFormat::Csv, &layout, &mut buf).unwrap();
        let failed = analyzer.analyze(&Verbatim::new("r2", " "));
        encode_into(&failed, OutputFormat::Csv, &layout, &mut buf).unwrap();
        let mut rdr = csv::Reader::from_reader(buf.as_slice());
        let header: Vec<String> = rdr.headers().unwrap().iter().map(String::from).collect();
        let rows: Vec<csv::StringRecord> = rdr.records().map(Result::unwrap).collect();
        let col = |row: &csv::StringRecord, name: &str| {
            row[header.iter().position(|h| h == name).unwrap_or_else(|| panic!("no {name}"))]
                .to_string()
        };
        assert_eq!(header.len(), layout.columns().len());
        assert_eq!(col(&rows[0], "date"), "2025-02-03");
        assert_eq!(col(&rows[0], "customer"), "C1");
        assert_eq!(col(&rows[0], "channel"), "email");
        assert_eq!(col(&rows[0], "score"), "2");
        assert_eq!(col(&rows[0], "meta.segment"), "pro");
        assert_eq!(
            col(&rows[0], "service"),
            "",
            "no such head ran: empty, but the column is there"
        );
        assert_eq!(col(&rows[1], "id"), "r2");
        assert_eq!(col(&rows[1], "error_kind"), "empty_text");
        assert_eq!(rows[1].len(), header.len());
    }
}
