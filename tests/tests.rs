//! Integration tests, one binary. Index:
//! - `cli`: the command line end to end on real sample files (flags, formats, help).
//! - `bad_input`: broken CSV, invalid UTF-8, empty and huge texts, other languages, bad flags:
//!   one output record per input record, counts reconcile, never a panic.
//! - `golden`: the sample's full output against the committed golden file, and its agreement
//!   with the labels the team wrote.
//! - `datasets`: accuracy on the public labelled datasets in ../shared/data (skipped with a
//!   message when they are absent).
//! - `model` (default build): the learned heads: fast by default, evidence kept, a user-trained
//!   head, test-fold floors of the shipped heads.
//! - `redact`: `--redact` on French identifiers and on metadata columns, in the output and the
//!   index.
//! - `search`: `verbatim index` and `verbatim search` end to end (queries, filters, facets,
//!   paging, history, more-like-this, update/delete), the FR insurance reviews, and an indexer
//!   killed mid-run.

mod util;

mod bad_input;
mod cli;
mod datasets;
mod golden;
#[cfg(feature = "onnx")]
mod model;
mod redact;
mod search;
