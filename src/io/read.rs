//! Streaming readers. Each yields one [`Item`] per input record, in order: a [`Verbatim`] or a
//! [`BadRecord`] naming file, line and field, so that nothing read is ever silently dropped.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use crate::error::{Error, ErrorKind, RecordError};
use crate::verbatim::{Meta, Origin, Verbatim};

/// Input formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Comma-separated values with a header row.
    Csv,
    /// Tab-separated values with a header row (quoted like CSV).
    Tsv,
    /// One JSON object per line.
    Jsonl,
    /// One comment per line.
    Text,
}

impl Format {
    /// Parses `csv`, `tsv`, `jsonl` (or `ndjson`, `json`) and `text` (or `txt`).
    pub fn parse(s: &str) -> Option<Format> {
        match s.to_ascii_lowercase().as_str() {
            "csv" => Some(Format::Csv),
            "tsv" | "tab" => Some(Format::Tsv),
            "jsonl" | "ndjson" | "json" => Some(Format::Jsonl),
            "text" | "txt" => Some(Format::Text),
            _ => None,
        }
    }

    /// The format a file name implies (`.csv`, `.tsv`, `.jsonl`, `.txt`, optionally `.gz`).
    pub fn from_path(path: &Path) -> Option<Format> {
        let name = path.file_name()?.to_str()?.to_ascii_lowercase();
        let name = name.strip_suffix(".gz").unwrap_or(&name);
        let ext = name.rsplit_once('.')?.1;
        Format::parse(ext)
    }
}

/// Names of the input columns (CSV/TSV) or fields (JSONL).
#[derive(Debug, Clone)]
pub struct Columns {
    /// The comment text (default `text`).
    pub text: String,
    /// The record id (default `id`; the line number when absent).
    pub id: String,
    /// Optional date column.
    pub date: Option<String>,
    /// Optional score column (NPS, CSAT, stars).
    pub score: Option<String>,
    /// Optional channel column.
    pub channel: Option<String>,
    /// Optional customer id column.
    pub customer: Option<String>,
    /// Other columns to carry into `meta` under their own names (segment, product, agent…).
    pub extra: Vec<String>,
}

impl Default for Columns {
    fn default() -> Self {
        Columns {
            text: "text".into(),
            id: "id".into(),
            date: None,
            score: None,
            channel: None,
            customer: None,
            extra: Vec::new(),
        }
    }
}

/// How to read an input.
#[derive(Debug, Clone, Default)]
pub struct ReadOptions {
    /// The format; from the file extension when `None` (standard input: JSONL if the first
    /// character is `{`, else text).
    pub format: Option<Format>,
    /// Column names.
    pub columns: Columns,
    /// Lines longer than this many bytes are skipped with an error (JSONL and text).
    pub max_line_bytes: usize,
}

/// A record that could not be read.
#[derive(Debug, Clone, PartialEq)]
pub struct BadRecord {
    /// The record's id when it could be read, else `file:line`.
    pub id: String,
    /// What went wrong.
    pub error: RecordError,
}

/// One input record.
pub type Item = Result<Verbatim, BadRecord>;

/// A streaming reader over one input.
pub struct Reader {
    inner: Box<dyn Iterator<Item = Item> + Send>,
    /// The format being read.
    pub format: Format,
}

impl Iterator for Reader {
    type Item = Item;
    fn next(&mut self) -> Option<Item> {
        self.inner.next()
    }
}

/// Opens `path` (`-` for standard input).
pub fn open(path: &Path, opts: &ReadOptions) -> Result<Reader, Error> {
    let name = path.display().to_string();
    let io_err = |e| Error::Io { path: path.to_path_buf(), source: e };
    let mut buf = open_bytes(path)?;
    let format = match opts.format.or_else(|| Format::from_path(path)) {
        Some(f) => f,
        None if name == "-" => {
            let head = buf.fill_buf().map_err(io_err)?;
            let first = head.iter().find(|b| !b.is_ascii_whitespace());
            if first == Some(&b'{') { Format::Jsonl } else { Format::Text }
        }
        None => {
            return Err(Error::Input {
                path: path.to_path_buf(),
                message: "cannot tell the format from the file name: use --input-format csv|tsv|jsonl|text".into(),
            });
        }
    };
    let max = if opts.max_line_bytes == 0 { usize::MAX } else { opts.max_line_bytes };
    let inner: Box<dyn Iterator<Item = Item> + Send> = match format {
        Format::Csv | Format::Tsv => {
            let delim = if format == Format::Csv { b',' } else { b'\t' };
            Box::new(CsvItems::new(buf, delim, path, &opts.columns)?)
        }
        Format::Jsonl => Box::new(LineItems {
            r: buf,
            file: name,
            line: 0,
            max,
            kind: LineKind::Json(opts.columns.clone()),
            done: false,
        }),
        Format::Text => Box::new(LineItems {
            r: buf,
            file: name,
            line: 0,
            max,
            kind: LineKind::Text,
            done: false,
        }),
    };
    Ok(Reader { inner, format })
}

/// The bytes of `path` (`-` for standard input), gunzipped when the name ends in `.gz`.
pub(crate) fn open_bytes(path: &Path) -> Result<BufReader<Box<dyn Read + Send>>, Error> {
    let raw: Box<dyn Read + Send> = if path.as_os_str() == "-" {
        Box::new(io::stdin())
    } else {
        Box::new(File::open(path).map_err(|e| Error::Io { path: path.to_path_buf(), source: e })?)
    };
    let raw: Box<dyn Read + Send> = if path.to_string_lossy().ends_with(".gz") {
        Box::new(flate2::read::MultiGzDecoder::new(raw))
    } else {
        raw
    };
    Ok(BufReader::with_capacity(1 << 16, raw))
}

fn bad(file: &str, line: u64, kind: ErrorKind, field: Option<&str>, message: String) -> BadRecord {
    BadRecord {
        id: format!("{file}:{line}"),
        error: RecordError {
            kind,
            message,
            file: file.to_string(),
            line,
            field: field.map(str::to_string),
        },
    }
}

struct CsvItems {
    rdr: csv::Reader<BufReader<Box<dyn Read + Send>>>,
    file: String,
    header_len: usize,
    text: usize,
    id: Option<usize>,
    meta: [Option<(usize, String)>; 4],
    extra: Vec<(usize, String)>,
    record: csv::ByteRecord,
    done: bool,
}

impl CsvItems {
    fn new(
        buf: BufReader<Box<dyn Read + Send>>,
        delim: u8,
        path: &Path,
        cols: &Columns,
    ) -> Result<Self, Error> {
        let mut rdr = csv::ReaderBuilder::new().delimiter(delim).flexible(true).from_reader(buf);
        let input_err = |message: String| Error::Input { path: PathBuf::from(path), message };
        let headers = rdr
            .byte_headers()
            .map_err(|e| input_err(format!("cannot read the header row: {e}")))?
            .clone();
        let names: Vec<String> = headers
            .iter()
            .map(|h| String::from_utf8_lossy(h).trim_start_matches('\u{feff}').trim().to_string())
            .collect();
        let find = |c: &str| names.iter().position(|n| n == c);
        let text = find(&cols.text).ok_or_else(|| {
            input_err(format!(
                "no column `{}` in the header (columns: {}); name the text column with --text-column",
                cols.text,
                names.join(", ")
            ))
        })?;
        let mut meta: [Option<(usize, String)>; 4] = Default::default();
        for (slot, name) in
            meta.iter_mut().zip([&cols.date, &cols.score, &cols.channel, &cols.customer])
        {
            if let Some(name) = name {
                let i = find(name).ok_or_else(|| {
                    input_err(format!(
                        "no column `{name}` in the header (columns: {})",
                        names.join(", ")
                    ))
                })?;
                *slot = Some((i, name.clone()));
            }
        }
        let extra = cols
            .extra
            .iter()
            .map(|name| {
                find(name).map(|i| (i, name.clone())).ok_or_else(|| {
                    input_err(format!(
                        "no column `{name}` in the header (columns: {})",
                        names.join(", ")
                    ))
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(CsvItems {
            rdr,
            extra,
            file: path.display().to_string(),
            header_len: names.len(),
            text,
            id: find(&cols.id),
            meta,
            record: csv::ByteRecord::new(),
            done: false,
        })
    }

    fn field(&self, i: usize, name: &str, line: u64) -> Result<Option<String>, BadRecord> {
        let Some(raw) = self.record.get(i) else { return Ok(None) };
        match std::str::from_utf8(raw) {
            Ok(s) => Ok(Some(s.to_string())),
            Err(e) => Err(bad(
                &self.file,
                line,
                ErrorKind::InvalidUtf8,
                Some(name),
                format!("field `{name}` is not valid UTF-8 (at byte {})", e.valid_up_to()),
            )),
        }
    }

    fn convert(&self, line: u64) -> Item {
        let n = self.record.len();
        if n != self.header_len {
            let mut b = bad(
                &self.file,
                line,
                ErrorKind::Malformed,
                None,
                format!("row has {n} fields, the header has {}", self.header_len),
            );
            if let Some(Ok(Some(id))) = self.id.map(|i| self.field(i, "id", line)) {
                b.id = id;
            }
            return Err(b);
        }
        let id = match self.id {
            Some(i) => self.field(i, "id", line)?.unwrap_or_default(),
            None => line.to_string(),
        };
        let with_id = |mut b: BadRecord| {
            if !id.is_empty() {
                b.id = id.clone();
            }
            b
        };
        let text = self.field(self.text, "text", line).map_err(with_id)?.unwrap_or_default();
        let mut values: [Option<String>; 4] = Default::default();
        for (v, m) in values.iter_mut().zip(&self.meta) {
            if let Some((i, name)) = m {
                *v = self.field(*i, name, line).map_err(with_id)?.filter(|s| !s.trim().is_empty());
            }
        }
        let [date, score, channel, customer] = values;
        let mut extra = std::collections::BTreeMap::new();
        for (i, name) in &self.extra {
            if let Some(v) =
                self.field(*i, name, line).map_err(with_id)?.filter(|s| !s.trim().is_empty())
            {
                extra.insert(name.clone(), v);
            }
        }
        Ok(Verbatim {
            id,
            text,
            meta: Meta { date, score, channel, customer, extra },
            origin: Origin { file: self.file.clone(), line },
        })
    }
}

impl Iterator for CsvItems {
    type Item = Item;
    fn next(&mut self) -> Option<Item> {
        if self.done {
            return None;
        }
        let line = self.rdr.position().line() + 1;
        match self.rdr.read_byte_record(&mut self.record) {
            Ok(false) => {
                self.done = true;
                None
            }
            Ok(true) => {
                let line = self.record.position().map_or(line, |p| p.line());
                Some(self.convert(line))
            }
            Err(e) => {
                // I/O errors end the stream; parse errors are per record and reading goes on.
                if matches!(e.kind(), csv::ErrorKind::Io(_)) {
                    self.done = true;
                }
                let line = e.position().map_or(line, |p| p.line());
                Some(Err(bad(
                    &self.file,
                    line,
                    ErrorKind::Malformed,
                    None,
                    format!("unreadable CSV row: {e}"),
                )))
            }
        }
    }
}

enum LineKind {
    Json(Columns),
    Text,
}

struct LineItems<R> {
    r: R,
    file: String,
    line: u64,
    max: usize,
    kind: LineKind,
    done: bool,
}

impl<R: BufRead> LineItems<R> {
    /// Reads one line of at most `max` bytes; a longer line is consumed and reported.
    fn read_line(&mut self, buf: &mut Vec<u8>) -> io::Result<(usize, bool)> {
        buf.clear();
        let n = (&mut self.r).take(self.max as u64 + 1).read_until(b'\n', buf)?;
        if buf.len() <= self.max || buf.last() == Some(&b'\n') {
            return Ok((n, false));
        }
        // Too long: skip to the end of the line without keeping it.
        let mut skipped = Vec::new();
        loop {
            skipped.clear();
            let m = (&mut self.r).take(1 << 20).read_until(b'\n', &mut skipped)?;
            if m == 0 || skipped.last() == Some(&b'\n') {
                break;
            }
        }
        buf.clear();
        Ok((n, true))
    }

    fn item(&self, bytes: &[u8]) -> Item {
        let line = self.line;
        let text = match std::str::from_utf8(bytes) {
            Ok(s) => s.trim_end_matches(['\n', '\r']),
            Err(e) => {
                let field = if matches!(self.kind, LineKind::Text) { Some("text") } else { None };
                return Err(bad(
                    &self.file,
                    line,
                    ErrorKind::InvalidUtf8,
                    field,
                    format!("line is not valid UTF-8 (at byte {})", e.valid_up_to()),
                ));
            }
        };
        let origin = Origin { file: self.file.clone(), line };
        match &self.kind {
            LineKind::Text => Ok(Verbatim {
                id: line.to_string(),
                text: text.to_string(),
                meta: Meta::default(),
                origin,
            }),
            LineKind::Json(cols) => json_record(text, cols, origin),
        }
    }
}

impl<R: BufRead> Iterator for LineItems<R> {
    type Item = Item;
    fn next(&mut self) -> Option<Item> {
        if self.done {
            return None;
        }
        let mut buf = Vec::new();
        loop {
            self.line += 1;
            match self.read_line(&mut buf) {
                Ok((0, _)) => return None,
                Ok((_, true)) => {
                    return Some(Err(bad(
                        &self.file,
                        self.line,
                        ErrorKind::TextTooLong,
                        None,
                        format!("line is longer than {} bytes", self.max),
                    )));
                }
                Ok(_) if buf.iter().all(u8::is_ascii_whitespace) => continue,
                Ok(_) => return Some(self.item(&buf)),
                Err(e) => {
                    // An I/O error (or a broken gzip stream) ends this input after one report.
                    self.done = true;
                    return Some(Err(bad(
                        &self.file,
                        self.line,
                        ErrorKind::Malformed,
                        None,
                        format!("read error: {e}"),
                    )));
                }
            }
        }
    }
}

fn json_record(line: &str, cols: &Columns, origin: Origin) -> Item {
    let fail = |kind, field: Option<&str>, message: String, id: Option<String>| BadRecord {
        id: id.unwrap_or_else(|| format!("{}:{}", origin.file, origin.line)),
        error: RecordError {
            kind,
            message,
            file: origin.file.clone(),
            line: origin.line,
            field: field.map(str::to_string),
        },
    };
    let obj: Map<String, Value> = match serde_json::from_str(line) {
        Ok(Value::Object(o)) => o,
        Ok(_) => {
            return Err(fail(ErrorKind::Malformed, None, "line is not a JSON object".into(), None));
        }
        Err(e) => return Err(fail(ErrorKind::Malformed, None, format!("invalid JSON: {e}"), None)),
    };
    let scalar = |name: &str| -> Option<String> {
        match obj.get(name)? {
            Value::String(s) => Some(s.clone()),
            Value::Null => None,
            v @ (Value::Number(_) | Value::Bool(_)) => Some(v.to_string()),
            v => Some(v.to_string()),
        }
    };
    let id = scalar(&cols.id).unwrap_or_else(|| origin.line.to_string());
    let text = match obj.get(&cols.text) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => {
            return Err(fail(
                ErrorKind::MissingField,
                Some(&cols.text),
                format!("no field `{}` (name the text field with --text-column)", cols.text),
                Some(id),
            ));
        }
        Some(_) => {
            return Err(fail(
                ErrorKind::Malformed,
                Some(&cols.text),
                format!("field `{}` is not a string", cols.text),
                Some(id),
            ));
        }
    };
    let meta_of = |c: &Option<String>| c.as_deref().and_then(scalar);
    Ok(Verbatim {
        id,
        text,
        meta: Meta {
            date: meta_of(&cols.date),
            score: meta_of(&cols.score),
            channel: meta_of(&cols.channel),
            customer: meta_of(&cols.customer),
            extra: cols.extra.iter().filter_map(|c| scalar(c).map(|v| (c.clone(), v))).collect(),
        },
        origin,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn items(format: Format, data: &'static [u8], cols: Columns) -> Vec<Item> {
        let dir = tempfile::tempdir().unwrap();
        let ext = match format {
            Format::Csv => "csv",
            Format::Tsv => "tsv",
            Format::Jsonl => "jsonl",
            Format::Text => "txt",
        };
        let path = dir.path().join(format!("in.{ext}"));
        std::fs::write(&path, data).unwrap();
        open(&path, &ReadOptions { format: None, columns: cols, max_line_bytes: 64 })
            .unwrap()
            .collect()
    }

    #[test]
    fn format_from_extension() {
        assert_eq!(Format::from_path(Path::new("a/b.CSV")), Some(Format::Csv));
        assert_eq!(Format::from_path(Path::new("x.tsv.gz")), Some(Format::Tsv));
        assert_eq!(Format::from_path(Path::new("x.ndjson")), Some(Format::Jsonl));
        assert_eq!(Format::from_path(Path::new("x.toml")), None);
        assert_eq!(Format::from_path(Path::new("noext")), None);
    }

    #[test]
    fn csv_columns_meta_and_bom() {
        let cols =
            Columns { text: "verbatim".into(), date: Some("d".into()), ..Columns::default() };
        let got = items(
            Format::Csv,
            b"\xef\xbb\xbfid,verbatim,d\n7,\"Bonjour, \"\"cher\"\" client\",2025-01-02\n",
            cols,
        );
        let v = got[0].as_ref().unwrap();
        assert_eq!(v.id, "7");
        assert_eq!(v.text, "Bonjour, \"cher\" client");
        assert_eq!(v.meta.date.as_deref(), Some("2025-01-02"));
        assert_eq!(v.origin.line, 2);
    }

    #[test]
    fn jsonl_ids_types_and_long_lines() {
        let got = items(
            Format::Jsonl,
            b"{\"id\": 3, \"text\": \"ok\"}\n{\"text\": \"no id\"}\n{\"id\": \"x\", \"text\": \"this line is far longer than the sixty-four bytes allowed here\"}\n{\"id\": \"y\", \"text\": [1]}\n",
            Columns::default(),
        );
        assert_eq!(got[0].as_ref().unwrap().id, "3");
        assert_eq!(got[1].as_ref().unwrap().id, "2", "no id: the line number");
        assert_eq!(got[2].as_ref().unwrap_err().error.kind, ErrorKind::TextTooLong);
        let bad = got[3].as_ref().unwrap_err();
        assert_eq!(
            (bad.id.as_str(), bad.error.kind, bad.error.field.as_deref()),
            ("y", ErrorKind::Malformed, Some("text"))
        );
    }

    #[test]
    fn text_lines_skip_blanks_and_keep_line_numbers() {
        let got = items(Format::Text, b"un\r\n\n  \ndeux\n", Columns::default());
        let ids: Vec<(String, String)> =
            got.into_iter().map(|i| i.unwrap()).map(|v| (v.id, v.text)).collect();
        assert_eq!(ids, [("1".into(), "un".into()), ("4".into(), "deux".into())]);
    }
}
