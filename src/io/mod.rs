//! Reading comments from CSV / TSV / JSONL / plain text, and writing outcomes as JSONL or CSV.

mod read;
mod write;

pub(crate) use read::open_bytes;
pub use read::{BadRecord, Columns, Format, Item, ReadOptions, Reader, open};
pub use write::{CSV_COLUMNS, OutputFormat, Writer, csv_header, encode_into};
