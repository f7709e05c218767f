//! The bytes of one input, ready to split into records: a file or standard input, gunzipped
//! when it is gzip (told by its magic bytes, not its name), a leading byte-order mark removed,
//! and transcoded to UTF-8 when it is UTF-16 (by its BOM) or the user named another encoding
//! (Windows-1252 is what Excel writes for French CSV exports).
//!
//! UTF-8 input is passed through untouched, so that an invalid byte is still reported as an
//! `invalid_utf8` record naming its field instead of being silently replaced.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Cursor, Read};
use std::path::{Path, PathBuf};

use encoding_rs::{Encoding, UTF_8, UTF_16BE, UTF_16LE};

use crate::error::Error;

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

type Bytes = Box<dyn BufRead + Send>;

/// An opened input.
pub struct Source {
    path: PathBuf,
    inner: Bytes,
    /// The encoding the bytes were transcoded from (UTF-8: untouched).
    encoding: &'static Encoding,
}

impl Source {
    /// Opens `path` (`-` for standard input). `encoding` is the user's `--encoding`; a BOM in
    /// the input overrides it.
    pub fn open(path: &Path, encoding: Option<&'static Encoding>) -> Result<Source, Error> {
        let fail = |message: String| Error::Input { path: path.to_path_buf(), message };
        let io_err = |e| Error::Io { path: path.to_path_buf(), source: e };
        let raw: Box<dyn Read + Send> = if path.as_os_str() == "-" {
            Box::new(io::stdin())
        } else {
            if path.is_dir() {
                return Err(fail("is a directory: give the files inside it".into()));
            }
            Box::new(File::open(path).map_err(io_err)?)
        };
        let buffered: Bytes = Box::new(BufReader::with_capacity(1 << 16, raw));
        let (head, rest) = peek(buffered, 2).map_err(io_err)?;
        let gzip = head == GZIP_MAGIC;
        let rest = put_back(head.clone(), rest);
        let bytes: Bytes = if gzip {
            Box::new(BufReader::with_capacity(1 << 16, flate2::read::MultiGzDecoder::new(rest)))
        } else if path.to_string_lossy().ends_with(".gz") && !head.is_empty() {
            return Err(fail(
                "the name ends in .gz but the file is not gzip-compressed (rename it, or \
                 compress it)"
                    .into(),
            ));
        } else {
            rest
        };
        let (head, rest) = peek(bytes, 3).map_err(|e| read_error(path, 0, e))?;
        let (bom, encoding) = match head.as_slice() {
            [0xef, 0xbb, 0xbf, ..] => (3, UTF_8),
            [0xff, 0xfe, ..] => (2, UTF_16LE),
            [0xfe, 0xff, ..] => (2, UTF_16BE),
            _ => (0, encoding.unwrap_or(UTF_8)),
        };
        let rest = put_back(head[bom.min(head.len())..].to_vec(), rest);
        let inner: Bytes = if encoding == UTF_8 {
            rest
        } else {
            let decoder = encoding_rs_io::DecodeReaderBytesBuilder::new()
                .encoding(Some(encoding))
                .build(rest);
            Box::new(BufReader::with_capacity(1 << 16, decoder))
        };
        Ok(Source { path: path.to_path_buf(), inner, encoding })
    }

    /// The input's path as given (`-` for standard input).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The encoding the input was read in.
    pub fn encoding(&self) -> &'static Encoding {
        self.encoding
    }

    /// The first line that is not blank, whole (up to `max` bytes), without its line end; the
    /// bytes stay in the source, so reading starts again from the beginning. Standard input
    /// cannot be read twice: this is how its format is told.
    pub fn first_line(&mut self, max: usize) -> Result<Vec<u8>, Error> {
        let mut seen = Vec::new();
        let mut line = Vec::new();
        loop {
            line.clear();
            let n = (&mut self.inner)
                .take(max as u64 + 1)
                .read_until(b'\n', &mut line)
                .map_err(|e| read_error(&self.path, 0, e))?;
            seen.extend_from_slice(&line);
            let done = n == 0 || !line.iter().all(u8::is_ascii_whitespace) || seen.len() > max;
            if done {
                break;
            }
        }
        let old = std::mem::replace(&mut self.inner, Box::new(io::empty()));
        let first = String::from_utf8_lossy(&line);
        let first = first.split(['\r', '\n']).next().unwrap_or_default().as_bytes().to_vec();
        self.inner = Box::new(Cursor::new(seen).chain(old));
        Ok(first)
    }
}

impl Read for Source {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.read(buf)
    }
}

impl BufRead for Source {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        self.inner.fill_buf()
    }
    fn consume(&mut self, amt: usize) {
        self.inner.consume(amt)
    }
}

/// Reads up to `n` bytes (fewer only at the end of the input) and returns them apart from the
/// rest, so that magic bytes can be looked at and then put back, or dropped.
fn peek(mut r: Bytes, n: usize) -> io::Result<(Vec<u8>, Bytes)> {
    let mut head = Vec::with_capacity(n);
    (&mut r).take(n as u64).read_to_end(&mut head)?;
    Ok((head, r))
}

fn put_back(head: Vec<u8>, rest: Bytes) -> Bytes {
    Box::new(Cursor::new(head).chain(rest))
}

/// A read failure in the middle of an input: fatal, since what follows cannot be trusted.
pub(crate) fn read_error(path: &Path, line: u64, e: io::Error) -> Error {
    let at = if line == 0 { "at the start".to_string() } else { format!("after line {line}") };
    let message = match e.kind() {
        io::ErrorKind::UnexpectedEof => {
            format!("the compressed stream is truncated {at}: the file is incomplete")
        }
        io::ErrorKind::InvalidInput | io::ErrorKind::InvalidData => {
            format!("the compressed stream is corrupt {at} ({e})")
        }
        _ => format!("read error {at}: {e}"),
    };
    Error::Input { path: path.to_path_buf(), message }
}

/// Whether bytes that are not valid UTF-8 read as Windows-1252, the encoding of most French
/// Excel exports (five byte values are undefined there).
pub(crate) fn looks_windows_1252(bytes: &[u8]) -> bool {
    !bytes.iter().any(|b| matches!(b, 0x81 | 0x8d | 0x8f | 0x90 | 0x9d))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_all(bytes: &[u8], name: &str, enc: Option<&'static Encoding>) -> Result<String, Error> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        let mut s = Source::open(&path, enc)?;
        let mut out = Vec::new();
        s.read_to_end(&mut out).map_err(|e| read_error(&path, 0, e))?;
        Ok(String::from_utf8(out).unwrap())
    }

    fn gz(bytes: &[u8]) -> Vec<u8> {
        use std::io::Write;
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(bytes).unwrap();
        e.finish().unwrap()
    }

    #[test]
    fn boms_are_removed_and_utf16_transcoded() {
        assert_eq!(read_all(b"\xef\xbb\xbfid\n", "a.txt", None).unwrap(), "id\n");
        let le: Vec<u8> = [0xff, 0xfe]
            .into_iter()
            .chain("été\n".encode_utf16().flat_map(u16::to_le_bytes))
            .collect();
        assert_eq!(read_all(&le, "a.txt", None).unwrap(), "été\n");
        let be: Vec<u8> = [0xfe, 0xff]
            .into_iter()
            .chain("été\n".encode_utf16().flat_map(u16::to_be_bytes))
            .collect();
        assert_eq!(read_all(&be, "a.txt", None).unwrap(), "été\n");
    }

    #[test]
    fn windows_1252_on_request() {
        let s = read_all(b"caf\xe9 \x80\n", "a.csv", Some(encoding_rs::WINDOWS_1252)).unwrap();
        assert_eq!(s, "café €\n");
        assert!(looks_windows_1252(b"caf\xe9"));
        assert!(!looks_windows_1252(b"\x81"));
    }

    #[test]
    fn gzip_is_told_by_its_magic_bytes() {
        assert_eq!(read_all(&gz(b"\xef\xbb\xbfok\n"), "a.txt", None).unwrap(), "ok\n");
        assert_eq!(read_all(&gz(b"ok\n"), "a.txt.gz", None).unwrap(), "ok\n");
        let err = read_all(b"{\"id\":1}\n", "a.jsonl.gz", None).unwrap_err();
        assert!(err.to_string().contains("not gzip-compressed"), "{err}");
        let full = gz(&b"une ligne assez longue\n".repeat(2000));
        let err = read_all(&full[..full.len() / 2], "a.txt.gz", None).unwrap_err();
        assert!(err.to_string().contains("truncated"), "{err}");
    }

    #[test]
    fn a_directory_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let err = Source::open(dir.path(), None).err().unwrap();
        assert!(err.to_string().contains("is a directory"), "{err}");
    }

    #[test]
    fn first_line_is_whole_and_stays() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.jsonl");
        let long = format!("{{\"t\":\"{}\"}}", "x".repeat(20_000));
        std::fs::write(&path, format!("\n  \n{long}\r\nnext\n")).unwrap();
        let mut s = Source::open(&path, None).unwrap();
        assert_eq!(s.first_line(1 << 20).unwrap(), long.as_bytes());
        let mut all = String::new();
        s.read_to_string(&mut all).unwrap();
        assert_eq!(all, format!("\n  \n{long}\r\nnext\n"));
    }
}
