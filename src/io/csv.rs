//! CSV and TSV rows, read so that one bad row costs one record and never the rest of the file.
//!
//! The `csv` crate, given a stray quote at the start of a field, reads the rest of the file as
//! that one field. Here a row is first assembled from physical lines with the quoting rule of
//! `csv_core` (a quote opens a quoted field only at the start of a field; `""` inside is a
//! quote; a line end inside quotes belongs to the field), then split into fields by `csv_core`
//! itself. A quoted field still open at the end of the input, or longer than the line limit,
//! makes its row one `malformed` record that says where the quote opened; reading resumes on the
//! next physical line, so every later row is still read.

use std::collections::VecDeque;
use std::path::Path;

use super::lines::{Line, Lines};
use super::read::{Columns, Item, bad, default_id};
use super::source::{Source, looks_windows_1252, read_error};
use crate::error::{Error, ErrorKind};
use crate::verbatim::{Meta, Origin, Verbatim};

/// Quoting state at a point of a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum At {
    FieldStart,
    Unquoted,
    Quoted,
    /// A quote inside a quoted field: the field's end, or the first half of `""`.
    ClosingQuote,
}

/// Where the scan of a row stands.
#[derive(Debug, Clone, Copy)]
struct Scan {
    state: At,
    /// 0-based index of the current field.
    field: usize,
    /// The field whose quote is open, when `state` is `Quoted`.
    opened: usize,
    /// A quote closed a quoted field and text other than a delimiter followed it (`"a"b`):
    /// `csv_core` accepts it, but after a line end inside the quotes it means the quote that
    /// opened them was a stray one.
    bad_close: bool,
}

impl Scan {
    const START: Scan = Scan { state: At::FieldStart, field: 0, opened: 0, bad_close: false };

    fn feed(mut self, bytes: &[u8], delim: u8) -> Scan {
        let mut i = 0;
        while i < bytes.len() {
            let b = bytes[i];
            self.state = match self.state {
                At::FieldStart if b == b'"' => {
                    self.opened = self.field;
                    At::Quoted
                }
                At::FieldStart | At::Unquoted | At::ClosingQuote if b == delim => {
                    self.field += 1;
                    At::FieldStart
                }
                At::ClosingQuote if b == b'"' => At::Quoted,
                At::ClosingQuote => {
                    self.bad_close = true;
                    At::Unquoted
                }
                At::FieldStart | At::Unquoted => {
                    // Skip to the next delimiter: nothing else matters outside quotes.
                    match memchr::memchr(delim, &bytes[i..]) {
                        Some(j) => i += j - 1,
                        None => i = bytes.len() - 1,
                    }
                    At::Unquoted
                }
                At::Quoted if b == b'"' => At::ClosingQuote,
                At::Quoted => {
                    match memchr::memchr(b'"', &bytes[i..]) {
                        Some(j) => i += j - 1,
                        None => i = bytes.len() - 1,
                    }
                    At::Quoted
                }
            };
            i += 1;
        }
        self
    }
}

/// A row as assembled from lines, before it is split into fields.
enum RawRow {
    Row { line: u64, bytes: Vec<u8> },
    Bad(Box<super::read::BadRecord>),
}

/// Header positions of the columns the user named.
struct Layout {
    header_len: usize,
    text: usize,
    id: Option<usize>,
    meta: [Option<(usize, String)>; 4],
    extra: Vec<(usize, String)>,
}

pub(crate) struct CsvItems {
    lines: Lines<Source>,
    /// Lines read ahead for a quoted field that never closed: they are read again.
    pending: VecDeque<Line>,
    file: String,
    stdin: bool,
    delim: u8,
    max: usize,
    core: csv_core::Reader,
    layout: Layout,
    out: Vec<u8>,
    ends: Vec<usize>,
    done: bool,
}

impl CsvItems {
    /// Reads the header of `source`. `delim` is the user's `--delimiter`; without it, a CSV
    /// header with more `;` than `,` is read as semicolon-separated (French Excel).
    pub(crate) fn new(
        source: Source,
        delim: Option<u8>,
        tsv: bool,
        cols: &Columns,
        max: usize,
    ) -> Result<Option<CsvItems>, Error> {
        let path = source.path().to_path_buf();
        let mut lines = Lines::new(source, max);
        let mut pending = VecDeque::new();
        let first = loop {
            match lines.next_line().map_err(|e| read_error(&path, lines.number(), e))? {
                None => return Ok(None),
                Some(l) if l.is_blank() => continue,
                Some(l) => break l,
            }
        };
        let delim =
            delim.unwrap_or_else(|| if tsv { b'\t' } else { sniff_delimiter(&first.bytes) });
        pending.push_back(first);
        let mut items = CsvItems {
            lines,
            pending,
            file: path.display().to_string(),
            stdin: path.as_os_str() == "-",
            delim,
            max,
            core: csv_core::ReaderBuilder::new().delimiter(delim).build(),
            layout: Layout {
                header_len: 0,
                text: 0,
                id: None,
                meta: Default::default(),
                extra: Vec::new(),
            },
            out: Vec::new(),
            ends: Vec::new(),
            done: false,
        };
        let header = match items.next_raw()? {
            Some(RawRow::Row { bytes, .. }) => bytes,
            Some(RawRow::Bad(b)) => {
                return Err(Error::Input {
                    path,
                    message: format!("cannot read the header row: {}", b.error.message),
                });
            }
            None => return Ok(None),
        };
        items.split(&header).map_err(|m| Error::Input { path: path.clone(), message: m })?;
        let names: Vec<String> = (0..items.ends.len())
            .map(|i| String::from_utf8_lossy(items.field(i)).trim().to_string())
            .collect();
        items.layout =
            layout(&names, cols, delim).map_err(|m| Error::Input { path, message: m })?;
        Ok(Some(items))
    }

    fn next_physical(&mut self) -> Result<Option<Line>, Error> {
        if let Some(l) = self.pending.pop_front() {
            return Ok(Some(l));
        }
        let path = Path::new(&self.file);
        self.lines.next_line().map_err(|e| read_error(path, self.lines.number(), e))
    }

    /// The next row's bytes (line ends inside quotes included, the row's own line end not).
    fn next_raw(&mut self) -> Result<Option<RawRow>, Error> {
        let first = loop {
            match self.next_physical()? {
                None => return Ok(None),
                Some(l) if l.bytes.is_empty() && !l.too_long => continue,
                Some(l) => break l,
            }
        };
        if first.too_long {
            return Ok(Some(self.too_long(first.number)));
        }
        let mut scan = Scan::START.feed(&first.bytes, self.delim);
        if scan.state != At::Quoted {
            return Ok(Some(RawRow::Row { line: first.number, bytes: first.bytes }));
        }
        scan.bad_close = false;
        let start = first.number;
        let mut bytes = first.bytes.clone();
        bytes.extend_from_slice(first.end.bytes());
        let mut read_ahead: Vec<Line> = Vec::new();
        loop {
            let Some(line) = self.next_physical()? else {
                self.put_back(read_ahead);
                let why = "is still open at the end of the input";
                return Ok(Some(self.unclosed(&first.bytes, start, scan.opened, why)));
            };
            if line.too_long || bytes.len() + line.bytes.len() > self.max {
                read_ahead.push(line);
                self.put_back(read_ahead);
                let why = format!("runs over {} bytes without closing", self.max);
                return Ok(Some(self.unclosed(&first.bytes, start, scan.opened, &why)));
            }
            scan = scan.feed(&line.bytes, self.delim);
            if scan.bad_close {
                let why = format!(
                    "is closed on line {} by a quote that text follows, so it was a stray quote",
                    line.number
                );
                read_ahead.push(line);
                self.put_back(read_ahead);
                return Ok(Some(self.unclosed(&first.bytes, start, scan.opened, &why)));
            }
            bytes.extend_from_slice(&line.bytes);
            if scan.state != At::Quoted {
                return Ok(Some(RawRow::Row { line: start, bytes }));
            }
            bytes.extend_from_slice(line.end.bytes());
            read_ahead.push(line);
        }
    }

    fn put_back(&mut self, lines: Vec<Line>) {
        for l in lines.into_iter().rev() {
            self.pending.push_front(l);
        }
    }

    /// The malformed record for a row whose quote never closed properly. Its id is read from
    /// the row's first line when it comes before the open quote.
    fn unclosed(&mut self, first_line: &[u8], line: u64, field: usize, why: &str) -> RawRow {
        let message = format!(
            "unclosed quote: the quoted field {} opened on line {line} {why}; this row is \
             skipped and reading resumes on line {}",
            field + 1,
            line + 1
        );
        let mut b = bad(&self.file, line, ErrorKind::Malformed, None, message);
        let closed = [first_line, b"\""].concat();
        if let (Some(i), Ok(())) = (self.layout.id, self.split(&closed))
            && i < self.ends.len()
            && let Ok(id) = std::str::from_utf8(self.field(i))
            && !id.trim().is_empty()
        {
            b.id = id.to_string();
        }
        RawRow::Bad(Box::new(b))
    }

    fn too_long(&self, line: u64) -> RawRow {
        let message = format!("row is longer than {} bytes", self.max);
        RawRow::Bad(Box::new(bad(&self.file, line, ErrorKind::TextTooLong, None, message)))
    }

    /// Splits one row into `self.out` / `self.ends` with `csv_core`.
    fn split(&mut self, row: &[u8]) -> Result<(), String> {
        let mut input = Vec::with_capacity(row.len() + 1);
        input.extend_from_slice(row);
        input.push(b'\n');
        self.out.clear();
        self.out.resize(input.len(), 0);
        self.ends.clear();
        self.ends.resize(memchr::memchr_iter(self.delim, row).count() + 2, 0);
        let (res, nin, _, nend) = self.core.read_record(&input, &mut self.out, &mut self.ends);
        self.ends.truncate(nend);
        if res != csv_core::ReadRecordResult::Record || nin != input.len() {
            self.core.reset();
            return Err("the row could not be split into fields".into());
        }
        Ok(())
    }

    fn field(&self, i: usize) -> &[u8] {
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        &self.out[start..self.ends[i]]
    }

    fn text_field(
        &self,
        i: usize,
        name: &str,
        line: u64,
    ) -> Result<String, super::read::BadRecord> {
        let raw = self.field(i);
        std::str::from_utf8(raw).map(str::to_string).map_err(|e| {
            let hint = if looks_windows_1252(raw) {
                " (it reads as Windows-1252, the encoding of Excel exports: try --encoding windows-1252)"
            } else {
                ""
            };
            bad(
                &self.file,
                line,
                ErrorKind::InvalidUtf8,
                Some(name),
                format!("field `{name}` is not valid UTF-8 (at byte {}){hint}", e.valid_up_to()),
            )
        })
    }

    fn convert(&self, line: u64) -> Item {
        let n = self.ends.len();
        let l = &self.layout;
        if n != l.header_len {
            let mut b = bad(
                &self.file,
                line,
                ErrorKind::Malformed,
                None,
                format!("row has {n} fields, the header has {}", l.header_len),
            );
            if let Some(Ok(id)) = l.id.filter(|&i| i < n).map(|i| self.text_field(i, "id", line))
                && !id.trim().is_empty()
            {
                b.id = id;
            }
            return Err(b);
        }
        let id = match l.id {
            Some(i) => Some(self.text_field(i, "id", line)?).filter(|s| !s.trim().is_empty()),
            None => None,
        }
        .unwrap_or_else(|| default_id(&self.file, self.stdin, line));
        let with_id = |mut b: super::read::BadRecord| {
            b.id = id.clone();
            b
        };
        let text = self.text_field(l.text, "text", line).map_err(with_id)?;
        let mut values: [Option<String>; 4] = Default::default();
        for (v, m) in values.iter_mut().zip(&l.meta) {
            if let Some((i, name)) = m {
                *v = Some(self.text_field(*i, name, line).map_err(with_id)?)
                    .filter(|s| !s.trim().is_empty());
            }
        }
        let [date, score, channel, customer] = values;
        let mut extra = std::collections::BTreeMap::new();
        for (i, name) in &l.extra {
            let v = self.text_field(*i, name, line).map_err(with_id)?;
            if !v.trim().is_empty() {
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
    type Item = Result<Item, Error>;
    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let row = match self.next_raw() {
            Ok(Some(r)) => r,
            Ok(None) => {
                self.done = true;
                return None;
            }
            Err(e) => {
                self.done = true;
                return Some(Err(e));
            }
        };
        Some(Ok(match row {
            RawRow::Bad(b) => Err(*b),
            RawRow::Row { line, bytes } => match self.split(&bytes) {
                Ok(()) => self.convert(line),
                Err(m) => Err(bad(&self.file, line, ErrorKind::Malformed, None, m)),
            },
        }))
    }
}

/// `;` when the header line has more semicolons than commas outside quotes, else `,`.
fn sniff_delimiter(header: &[u8]) -> u8 {
    let mut quoted = false;
    let (mut commas, mut semis) = (0, 0);
    for &b in header {
        match b {
            b'"' => quoted = !quoted,
            b',' if !quoted => commas += 1,
            b';' if !quoted => semis += 1,
            _ => {}
        }
    }
    if semis > commas { b';' } else { b',' }
}

fn layout(names: &[String], cols: &Columns, delim: u8) -> Result<Layout, String> {
    let find = |c: &str| names.iter().position(|n| n == c);
    let missing = |c: &str| {
        let shown = if delim == b'\t' { "tab".to_string() } else { format!("`{}`", delim as char) };
        format!(
            "no column `{c}` in the header (columns: {}; read with the delimiter {shown}, set \
             another with --delimiter)",
            names.join(", ")
        )
    };
    let text = find(&cols.text).ok_or_else(|| {
        format!("{}; name the text column with --text-column", missing(&cols.text))
    })?;
    let mut meta: [Option<(usize, String)>; 4] = Default::default();
    for (slot, name) in
        meta.iter_mut().zip([&cols.date, &cols.score, &cols.channel, &cols.customer])
    {
        if let Some(name) = name {
            *slot = Some((find(name).ok_or_else(|| missing(name))?, name.clone()));
        }
    }
    let extra = cols
        .extra
        .iter()
        .map(|name| find(name).map(|i| (i, name.clone())).ok_or_else(|| missing(name)))
        .collect::<Result<_, _>>()?;
    Ok(Layout { header_len: names.len(), text, id: find(&cols.id), meta, extra })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_quote_scan_follows_csv_core() {
        let d = b',';
        assert_eq!(Scan::START.feed(b"a,\"b", d).state, At::Quoted);
        assert_eq!(Scan::START.feed(b"a,\"b\"", d).state, At::ClosingQuote);
        assert_eq!(Scan::START.feed(b"a,\"b\"\"c", d).state, At::Quoted);
        assert_eq!(
            Scan::START.feed(b"a,b\"c", d).state,
            At::Unquoted,
            "a quote inside an unquoted field is text"
        );
        let s = Scan::START.feed(b"1,2,\"x", d);
        assert_eq!((s.field, s.opened), (2, 2));
    }

    #[test]
    fn semicolons_are_told_from_the_header() {
        assert_eq!(sniff_delimiter(b"id;texte;date"), b';');
        assert_eq!(sniff_delimiter(b"id,text,\"a;b;c\""), b',');
    }
}
