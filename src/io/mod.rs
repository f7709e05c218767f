//! Reading comments from CSV / TSV / JSONL / plain text, and writing outcomes as JSONL or CSV.
//!
//! Reading goes source → lines → records: [`Source`] gives the bytes of one input (gunzipped,
//! BOM removed, transcoded to UTF-8 when asked), `lines` numbers its physical lines, and the
//! format readers (`csv`, JSONL and text in `read`) turn them into records.

mod csv;
mod lines;
mod read;
mod source;
mod write;

pub(crate) use lines::Lines;
pub(crate) use read::default_id;
pub use read::{BadRecord, Columns, Format, Item, ReadOptions, Reader, from_source, open};
pub use source::Source;
pub use write::{CSV_COLUMNS, CsvLayout, OutputFormat, Writer, encode_into};
