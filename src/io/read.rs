//! Streaming readers. Each yields one [`Item`] per input record, in order: a [`Verbatim`] or a
//! [`BadRecord`] naming file, line and field, so that nothing read is ever silently dropped.
//! An input that cannot be read to its end (a truncated or corrupt gzip stream, a read error)
//! is not a record: the [`Reader`] stops and [`Reader::finish`] returns the error.

use std::borrow::Cow;
use std::collections::HashMap;
use std::path::Path;

use encoding_rs::Encoding;
use serde_json::value::RawValue;

use super::csv::CsvItems;
use super::lines::Lines;
use super::source::{Source, read_error};
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
    /// The format; from the file extension when `None`. Standard input is told by its first
    /// line: JSONL if it starts with `{`, CSV or TSV if it is a header naming the text column,
    /// else text.
    pub format: Option<Format>,
    /// Column names.
    pub columns: Columns,
    /// Lines (JSONL, text) and CSV rows longer than this many bytes are skipped with an error
    /// record; 0 means no limit.
    pub max_line_bytes: usize,
    /// The CSV delimiter (default: `,`, or `;` when the header has more of them; tab for TSV).
    pub delimiter: Option<u8>,
    /// The input's encoding when it is not UTF-8 (e.g. Windows-1252); a BOM overrides it.
    pub encoding: Option<&'static Encoding>,
}

impl ReadOptions {
    /// The longest line or CSV row kept, in bytes (`max_line_bytes` 0: no limit).
    pub fn line_limit(&self) -> usize {
        if self.max_line_bytes == 0 { usize::MAX - 1 } else { self.max_line_bytes }
    }
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
    inner: Box<dyn Iterator<Item = Result<Item, Error>> + Send>,
    error: Option<Error>,
    /// The format being read.
    pub format: Format,
}

impl Iterator for Reader {
    type Item = Item;
    fn next(&mut self) -> Option<Item> {
        if self.error.is_some() {
            return None;
        }
        match self.inner.next()? {
            Ok(item) => Some(item),
            Err(e) => {
                self.error = Some(e);
                None
            }
        }
    }
}

impl Reader {
    /// Ends the reading: `Err` when the input could not be read to its end (every record read
    /// before the failure has been yielded).
    pub fn finish(self) -> Result<(), Error> {
        self.error.map_or(Ok(()), Err)
    }
}

/// Opens `path` (`-` for standard input).
pub fn open(path: &Path, opts: &ReadOptions) -> Result<Reader, Error> {
    let source = Source::open(path, opts.encoding)?;
    from_source(source, opts)
}

/// A reader over an opened [`Source`] (which may have been peeked at).
pub fn from_source(mut source: Source, opts: &ReadOptions) -> Result<Reader, Error> {
    let path = source.path().to_path_buf();
    let max = opts.line_limit();
    let format = match opts.format.or_else(|| Format::from_path(&path)) {
        Some(f) => f,
        None if path.as_os_str() == "-" => sniff_format(&source.first_line(max)?, &opts.columns),
        None => {
            return Err(Error::Input {
                path,
                message: "cannot tell the format from the file name: use --input-format csv|tsv|jsonl|text".into(),
            });
        }
    };
    let name = path.display().to_string();
    let stdin = path.as_os_str() == "-";
    let inner: Box<dyn Iterator<Item = Result<Item, Error>> + Send> = match format {
        Format::Csv | Format::Tsv => {
            match CsvItems::new(source, opts.delimiter, format == Format::Tsv, &opts.columns, max)?
            {
                Some(items) => Box::new(items),
                None => Box::new(std::iter::empty()),
            }
        }
        Format::Jsonl | Format::Text => {
            let kind = match format {
                Format::Jsonl => LineKind::Json(opts.columns.clone()),
                _ => LineKind::Text,
            };
            Box::new(LineItems {
                lines: Lines::new(source, max),
                file: name,
                stdin,
                max,
                kind,
                done: false,
            })
        }
    };
    Ok(Reader { inner, error: None, format })
}

/// The format of standard input, from its first line.
fn sniff_format(first: &[u8], cols: &Columns) -> Format {
    let first = String::from_utf8_lossy(first);
    let first = first.trim_start();
    if first.starts_with('{') {
        return Format::Jsonl;
    }
    for (delim, format) in [('\t', Format::Tsv), (';', Format::Csv), (',', Format::Csv)] {
        let names_text =
            first.split(delim).map(|f| f.trim().trim_matches('"')).any(|f| f == cols.text);
        if first.contains(delim) && names_text {
            return format;
        }
    }
    Format::Text
}

/// The bytes of `path` (`-` for standard input): gunzipped, BOM removed (see [`Source`]).
/// The id of a record without one: the file and the line, unique across the inputs of a run and
/// traceable (standard input: the line alone).
pub(crate) fn default_id(file: &str, stdin: bool, line: u64) -> String {
    if stdin { line.to_string() } else { format!("{file}:{line}") }
}

pub(crate) fn bad(
    file: &str,
    line: u64,
    kind: ErrorKind,
    field: Option<&str>,
    message: String,
) -> BadRecord {
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

enum LineKind {
    Json(Columns),
    Text,
}

struct LineItems<R> {
    lines: Lines<R>,
    file: String,
    stdin: bool,
    max: usize,
    kind: LineKind,
    done: bool,
}

impl<R: std::io::BufRead> LineItems<R> {
    fn item(&self, line: u64, bytes: &[u8]) -> Item {
        let text = match std::str::from_utf8(bytes) {
            Ok(s) => s,
            Err(e) => {
                let field = if matches!(self.kind, LineKind::Text) { Some("text") } else { None };
                let hint = if super::source::looks_windows_1252(bytes) {
                    " (it reads as Windows-1252: try --encoding windows-1252)"
                } else {
                    ""
                };
                return Err(bad(
                    &self.file,
                    line,
                    ErrorKind::InvalidUtf8,
                    field,
                    format!("line is not valid UTF-8 (at byte {}){hint}", e.valid_up_to()),
                ));
            }
        };
        let origin = Origin { file: self.file.clone(), line };
        let id = default_id(&self.file, self.stdin, line);
        match &self.kind {
            LineKind::Text => {
                Ok(Verbatim { id, text: text.to_string(), meta: Meta::default(), origin })
            }
            LineKind::Json(cols) => json_record(text, cols, origin, id),
        }
    }
}

impl<R: std::io::BufRead> Iterator for LineItems<R> {
    type Item = Result<Item, Error>;
    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        loop {
            let line = match self.lines.next_line() {
                Ok(Some(l)) => l,
                Ok(None) => {
                    self.done = true;
                    return None;
                }
                Err(e) => {
                    self.done = true;
                    return Some(Err(read_error(Path::new(&self.file), self.lines.number(), e)));
                }
            };
            if line.is_blank() {
                continue;
            }
            if line.too_long {
                return Some(Ok(Err(bad(
                    &self.file,
                    line.number,
                    ErrorKind::TextTooLong,
                    None,
                    format!("line is longer than {} bytes", self.max),
                ))));
            }
            return Some(Ok(self.item(line.number, &line.bytes)));
        }
    }
}

/// One JSONL record. Fields are kept as raw JSON until needed, so that a numeric id keeps its
/// digits as written (`12345678901234567890`, `1.5e3`) instead of going through a float.
fn json_record(line: &str, cols: &Columns, origin: Origin, default_id: String) -> Item {
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
    let obj: HashMap<Cow<'_, str>, &RawValue> = match serde_json::from_str(line) {
        Ok(o) => o,
        Err(e) if e.classify() == serde_json::error::Category::Data => {
            return Err(fail(ErrorKind::Malformed, None, "line is not a JSON object".into(), None));
        }
        Err(e) => return Err(fail(ErrorKind::Malformed, None, format!("invalid JSON: {e}"), None)),
    };
    let scalar = |name: &str| -> Option<String> {
        let raw = obj.get(name)?.get();
        match raw.as_bytes().first() {
            Some(b'"') => serde_json::from_str::<String>(raw).ok(),
            _ if raw == "null" => None,
            _ => Some(raw.to_string()),
        }
    };
    let id = scalar(&cols.id).filter(|s| !s.trim().is_empty()).unwrap_or(default_id);
    let text = match obj.get(cols.text.as_str()).map(|r| r.get()) {
        Some(raw) if raw.starts_with('"') => match serde_json::from_str::<String>(raw) {
            Ok(s) => s,
            Err(e) => {
                let m = format!("field `{}` is not a valid JSON string: {e}", cols.text);
                return Err(fail(ErrorKind::Malformed, Some(&cols.text), m, Some(id)));
            }
        },
        Some("null") | None => {
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

    fn read(path: &Path, cols: Columns, max: usize) -> (Vec<Item>, Result<(), Error>) {
        let opts = ReadOptions { columns: cols, max_line_bytes: max, ..ReadOptions::default() };
        let mut r = open(path, &opts).unwrap();
        let items: Vec<Item> = r.by_ref().collect();
        (items, r.finish())
    }

    fn items_in(name: &str, data: &[u8], cols: Columns) -> Vec<Item> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(name);
        std::fs::write(&path, data).unwrap();
        let (items, end) = read(&path, cols, 64);
        end.unwrap();
        items
    }

    fn items(format: Format, data: &[u8], cols: Columns) -> Vec<Item> {
        let ext = match format {
            Format::Csv => "csv",
            Format::Tsv => "tsv",
            Format::Jsonl => "jsonl",
            Format::Text => "txt",
        };
        items_in(&format!("in.{ext}"), data, cols)
    }

    fn texts(items: &[Item]) -> Vec<String> {
        items
            .iter()
            .map(|i| match i {
                Ok(v) => v.text.clone(),
                Err(b) => format!("<{}@{}>", b.error.kind.as_str(), b.error.line),
            })
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
        assert!(got[1].as_ref().unwrap().id.ends_with("in.jsonl:2"), "no id: file and line");
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
        let lines: Vec<(u64, String)> =
            got.into_iter().map(|i| i.unwrap()).map(|v| (v.origin.line, v.text)).collect();
        assert_eq!(lines, [(1, "un".into()), (4, "deux".into())]);
    }

    #[test]
    fn defect_2_ids_without_an_id_column_name_the_file_and_line() {
        let got = items(Format::Text, b"un\ndeux\n", Columns::default());
        let ids: Vec<String> = got.into_iter().map(|i| i.unwrap().id).collect();
        assert!(ids[0].ends_with("in.txt:1") && ids[1].ends_with("in.txt:2"), "{ids:?}");
        // An empty id cell gets the same traceable id, so empty ids never collide.
        let got = items(Format::Csv, b"id,text\n,un\n  ,deux\n", Columns::default());
        let ids: Vec<String> = got.into_iter().map(|i| i.unwrap().id).collect();
        assert!(ids[0].ends_with("in.csv:2") && ids[1].ends_with("in.csv:3"), "{ids:?}");
    }

    #[test]
    fn defect_3_a_stray_quote_costs_one_row() {
        let data = b"id,text\n1,un\n2,\"guillemet jamais ferm\xc3\xa9\n3,trois\n4,\"deux\nlignes\"\n5,cinq\n";
        let got = items(Format::Csv, data, Columns::default());
        assert_eq!(texts(&got), ["un", "<malformed@3>", "trois", "deux\nlignes", "cinq"]);
        let msg = &got[1].as_ref().unwrap_err().error.message;
        assert!(msg.contains("opened on line 3") && msg.contains("resumes on line 4"), "{msg}");
        assert_eq!(got[1].as_ref().unwrap_err().id, "2", "the row's id is kept when readable");
    }

    #[test]
    fn defect_3_a_quoted_field_is_capped_at_the_line_limit() {
        let mut data = b"id,text\n1,\"open".to_vec();
        for i in 0..20 {
            data.extend_from_slice(format!("\n{},row {i}", i + 2).as_bytes());
        }
        data.extend_from_slice(b"\"\n");
        let got = items(Format::Csv, &data, Columns::default());
        // The quote would close at the very end; past 64 bytes it is given up, and the rows
        // it held are read again as rows.
        assert!(matches!(&got[0], Err(b) if b.error.message.contains("runs over 64 bytes")));
        assert_eq!(got.iter().filter(|i| i.is_ok()).count(), 20, "{:?}", texts(&got));
    }

    #[test]
    fn defect_7_a_bom_is_stripped_in_every_format() {
        let bom = "\u{feff}";
        assert_eq!(
            texts(&items(
                Format::Jsonl,
                format!("{bom}{{\"text\":\"a\"}}\n").as_bytes(),
                Columns::default()
            )),
            ["a"]
        );
        assert_eq!(
            texts(&items(Format::Text, format!("{bom}a\n").as_bytes(), Columns::default())),
            ["a"]
        );
        assert_eq!(
            texts(&items(Format::Csv, format!("{bom}text\na\n").as_bytes(), Columns::default())),
            ["a"]
        );
        let utf16: Vec<u8> = [0xff, 0xfe]
            .into_iter()
            .chain("text\nété\n".encode_utf16().flat_map(u16::to_le_bytes))
            .collect();
        assert_eq!(texts(&items(Format::Csv, &utf16, Columns::default())), ["été"]);
    }

    #[test]
    fn defect_9_french_excel_exports() {
        let data = b"id;verbatim;date\n1;Tr\xe8s d\xe9\xe7u;01/02/2025\n";
        let cols = Columns { text: "verbatim".into(), ..Columns::default() };
        let got = items(Format::Csv, data, cols.clone());
        let err = &got[0].as_ref().unwrap_err().error;
        assert_eq!(err.kind, ErrorKind::InvalidUtf8);
        assert!(err.message.contains("--encoding windows-1252"), "a hint: {}", err.message);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("export.csv");
        std::fs::write(&path, data).unwrap();
        let opts = ReadOptions {
            columns: cols,
            encoding: Some(encoding_rs::WINDOWS_1252),
            ..ReadOptions::default()
        };
        let got: Vec<Item> = open(&path, &opts).unwrap().collect();
        assert_eq!(texts(&got), ["Très déçu"]);
    }

    #[test]
    fn defect_15_line_numbers_in_crlf_csv() {
        let got =
            items(Format::Csv, b"id,text\r\n1,un\r\n2,\"a\r\nb\"\r\n3,x,y\r\n", Columns::default());
        assert_eq!(got[0].as_ref().unwrap().origin.line, 2);
        assert_eq!(got[1].as_ref().unwrap().origin.line, 3);
        assert_eq!(got[1].as_ref().unwrap().text, "a\r\nb");
        assert_eq!(got[2].as_ref().unwrap_err().error.line, 5);
    }

    #[test]
    fn defect_16_lone_cr_ends_lines() {
        assert_eq!(
            texts(&items(Format::Text, b"un\rdeux\rtrois", Columns::default())),
            ["un", "deux", "trois"]
        );
        let got = items(Format::Jsonl, b"{\"text\":\"a\"}\r{\"text\":\"b\"}\r", Columns::default());
        assert_eq!(texts(&got), ["a", "b"]);
        assert_eq!(got[1].as_ref().unwrap().origin.line, 2);
    }

    #[test]
    fn defect_16_numeric_ids_keep_their_digits() {
        let got = items(
            Format::Jsonl,
            b"{\"id\":12345678901234567890,\"text\":\"a\"}\n{\"id\":1.5e3,\"text\":\"b\"}\n{\"id\":9007199254740993,\"text\":\"c\"}\n",
            Columns::default(),
        );
        let ids: Vec<String> = got.into_iter().map(|i| i.unwrap().id).collect();
        assert_eq!(ids, ["12345678901234567890", "1.5e3", "9007199254740993"]);
    }

    #[test]
    fn defect_4_a_truncated_gzip_is_fatal_after_its_records() {
        use std::io::Write;
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        for i in 0..5000 {
            writeln!(
                e,
                "{{\"id\":{i},\"text\":\"commentaire numéro {i} assez long pour remplir\"}}"
            )
            .unwrap();
        }
        let gz = e.finish().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cut.jsonl.gz");
        std::fs::write(&path, &gz[..gz.len() / 2]).unwrap();
        let (items, end) = read(&path, Columns::default(), 1 << 20);
        assert!(
            !items.is_empty() && items.iter().all(Result::is_ok),
            "records before the cut are read"
        );
        assert!(end.unwrap_err().to_string().contains("truncated"));
    }

    #[test]
    fn standard_input_format_is_told_from_its_first_line() {
        let cols = Columns::default();
        assert_eq!(sniff_format(b"{\"text\":1}", &cols), Format::Jsonl);
        assert_eq!(sniff_format(b"id,text,date", &cols), Format::Csv);
        assert_eq!(sniff_format(b"id;\"text\"", &cols), Format::Csv);
        assert_eq!(sniff_format(b"id\ttext", &cols), Format::Tsv);
        assert_eq!(sniff_format(b"Bonjour, le texte est arrive", &cols), Format::Text);
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        fn read_bytes(name: &str, data: &[u8], max: usize) -> Vec<Item> {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join(name);
            std::fs::write(&path, data).unwrap();
            let opts = ReadOptions { max_line_bytes: max, ..ReadOptions::default() };
            let mut r = open(&path, &opts).unwrap();
            let items: Vec<Item> = r.by_ref().collect();
            r.finish().unwrap();
            items
        }

        /// Non-blank physical lines, split the way an editor splits them.
        fn non_blank_lines(data: &[u8]) -> usize {
            let mut n = 0;
            let mut cur = Vec::new();
            let mut i = 0;
            while i <= data.len() {
                let b = data.get(i).copied();
                if matches!(b, None | Some(b'\n') | Some(b'\r')) {
                    if b == Some(b'\r') && data.get(i + 1) == Some(&b'\n') {
                        i += 1;
                    }
                    if !cur.iter().all(u8::is_ascii_whitespace) {
                        n += 1;
                    }
                    cur.clear();
                } else if let Some(b) = b {
                    cur.push(b);
                }
                i += 1;
            }
            n
        }

        fn field() -> impl Strategy<Value = String> {
            proptest::string::string_regex("[a-zé,;\"\\n\r ]{0,12}").unwrap()
        }

        proptest! {
            #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

            #[test]
            fn well_formed_csv_reads_back_exactly(
                rows in proptest::collection::vec((field(), field()), 0..20),
                crlf in any::<bool>(),
                bom in any::<bool>(),
            ) {
                let term = if crlf { csv::Terminator::CRLF } else { csv::Terminator::Any(b'\n') };
                let mut w = csv::WriterBuilder::new().terminator(term).from_writer(Vec::new());
                w.write_record(["id", "text"]).unwrap();
                for (i, (_, text)) in rows.iter().enumerate() {
                    w.write_record([format!("r{i}"), text.clone()]).unwrap();
                }
                let mut data = if bom { b"\xef\xbb\xbf".to_vec() } else { Vec::new() };
                data.extend(w.into_inner().unwrap());
                let got = read_bytes("p.csv", &data, 1 << 16);
                prop_assert_eq!(got.len(), rows.len());
                for (i, (item, (_, text))) in got.iter().zip(&rows).enumerate() {
                    let v = item.as_ref().map_err(|b| TestCaseError::fail(format!("{b:?}")))?;
                    prop_assert_eq!(&v.id, &format!("r{i}"));
                    prop_assert_eq!(&v.text, text);
                }
            }

            #[test]
            fn one_stray_quote_costs_exactly_one_row(
                rows in proptest::collection::vec("[a-z ]{1,10}", 1..30),
                at in any::<prop::sample::Index>(),
            ) {
                let stray = at.index(rows.len());
                let mut data = String::from("id,text\n");
                for (i, t) in rows.iter().enumerate() {
                    let q = if i == stray { "\"" } else { "" };
                    data.push_str(&format!("r{i},{q}{t}\n"));
                }
                let got = read_bytes("p.csv", data.as_bytes(), 1 << 16);
                prop_assert_eq!(got.len(), rows.len());
                let bad: Vec<usize> = got.iter().enumerate().filter(|(_, i)| i.is_err()).map(|(k, _)| k).collect();
                prop_assert_eq!(bad, vec![stray]);
            }

            #[test]
            fn any_bytes_in_csv_never_panic(
                body in proptest::collection::vec(prop::sample::select(b"ab\",\n\r\xff\xef\xbb\xbf;".to_vec()), 0..300),
                max in 8usize..64,
            ) {
                let mut data = b"id,text\n".to_vec();
                data.extend(&body);
                let got = read_bytes("p.csv", &data, max);
                prop_assert!(got.len() <= non_blank_lines(&data));
            }

            #[test]
            fn every_jsonl_and_text_line_is_one_record(
                body in proptest::collection::vec(prop::sample::select(b"{}\"ab:, \n\r\t\xff\xc3\xa9".to_vec()), 0..300),
                max in 1usize..64,
            ) {
                let expected = non_blank_lines(&body);
                prop_assert_eq!(read_bytes("p.jsonl", &body, max).len(), expected);
                prop_assert_eq!(read_bytes("p.txt", &body, max).len(), expected);
            }
        }
    }
}
