//! Physical lines of an input, numbered as an editor numbers them: `\n`, `\r\n` and a lone
//! `\r` (old Mac exports) each end a line, and a line longer than the limit is consumed
//! without being kept, so that one runaway line costs neither memory nor the rest of the file.

use std::io::{self, BufRead};

/// How a line ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum End {
    Lf,
    CrLf,
    Cr,
    /// The last line of an input without a line end.
    Eof,
}

impl End {
    pub(crate) fn bytes(self) -> &'static [u8] {
        match self {
            End::Lf => b"\n",
            End::CrLf => b"\r\n",
            End::Cr => b"\r",
            End::Eof => b"",
        }
    }
}

/// One physical line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Line {
    /// 1-based line number.
    pub number: u64,
    /// The bytes without the line end (empty when `too_long`).
    pub bytes: Vec<u8>,
    pub end: End,
    /// The line was longer than the limit; its bytes were dropped.
    pub too_long: bool,
    /// Only ASCII whitespace (however long).
    blank: bool,
}

impl Line {
    pub(crate) fn is_blank(&self) -> bool {
        self.blank
    }
}

/// Splits a byte stream into [`Line`]s.
pub(crate) struct Lines<R> {
    r: R,
    number: u64,
    max: usize,
}

impl<R: BufRead> Lines<R> {
    /// Lines of at most `max` bytes (line end excluded).
    pub(crate) fn new(r: R, max: usize) -> Self {
        Lines { r, number: 0, max }
    }

    /// The number of the last line returned.
    pub(crate) fn number(&self) -> u64 {
        self.number
    }

    /// The next line, `None` at the end of the input.
    pub(crate) fn next_line(&mut self) -> io::Result<Option<Line>> {
        let mut bytes = Vec::new();
        let mut too_long = false;
        let mut blank = true;
        let mut any = false;
        let end = loop {
            let avail = self.r.fill_buf()?;
            if avail.is_empty() {
                if !any {
                    return Ok(None);
                }
                break End::Eof;
            }
            any = true;
            let (take, end) = match memchr::memchr2(b'\n', b'\r', avail) {
                Some(i) => (i, Some(avail[i])),
                None => (avail.len(), None),
            };
            blank = blank && avail[..take].iter().all(u8::is_ascii_whitespace);
            if !too_long && bytes.len() + take <= self.max {
                bytes.extend_from_slice(&avail[..take]);
            } else {
                too_long = true;
                bytes = Vec::new();
            }
            match end {
                None => self.r.consume(take),
                Some(b'\n') => {
                    self.r.consume(take + 1);
                    break End::Lf;
                }
                Some(_) => {
                    self.r.consume(take + 1);
                    let next = self.r.fill_buf()?;
                    if next.first() == Some(&b'\n') {
                        self.r.consume(1);
                        break End::CrLf;
                    }
                    break End::Cr;
                }
            }
        };
        self.number += 1;
        Ok(Some(Line { number: self.number, bytes, end, too_long, blank }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(input: &[u8], max: usize) -> Vec<(u64, String, End, bool)> {
        let mut l = Lines::new(io::BufReader::with_capacity(4, input), max);
        let mut out = Vec::new();
        while let Some(line) = l.next_line().unwrap() {
            out.push((
                line.number,
                String::from_utf8(line.bytes).unwrap(),
                line.end,
                line.too_long,
            ));
        }
        out
    }

    #[test]
    fn every_line_end_counts_once() {
        let got = lines(b"a\r\nbb\rc\n\nd", 100);
        let want = [
            (1, "a", End::CrLf),
            (2, "bb", End::Cr),
            (3, "c", End::Lf),
            (4, "", End::Lf),
            (5, "d", End::Eof),
        ];
        assert_eq!(got.len(), want.len());
        for (g, w) in got.iter().zip(want) {
            assert_eq!((g.0, g.1.as_str(), g.2, g.3), (w.0, w.1, w.2, false));
        }
    }

    #[test]
    fn long_lines_are_dropped_and_reading_goes_on() {
        let got = lines(b"short\nthis one is too long\r\nok", 8);
        assert_eq!(got[1], (2, String::new(), End::CrLf, true));
        assert_eq!(got[2].1, "ok");
        assert!(!lines(b"12345678\n", 8)[0].3, "exactly the limit is fine");
        assert!(lines(b"", 8).is_empty());
    }
}
