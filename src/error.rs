//! Errors of the library: one enum for whole-run failures ([`Error`]) and one record-level
//! error ([`RecordError`]) that becomes an error record in the output instead of stopping the run.

use std::path::PathBuf;

use serde::Serialize;

/// A failure that stops a run: bad configuration, unreadable lexicon, I/O on the output.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A data file (lexicon, taxonomy, TOML configuration) is malformed.
    #[error("{file}:{line}: {message}")]
    Data {
        /// The file, or the name of the embedded default.
        file: String,
        /// 1-based line number (0 when the file as a whole is wrong).
        line: usize,
        /// What is wrong and how to fix it.
        message: String,
    },
    /// An input or output file could not be opened, read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file concerned (`-` for standard input or output).
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The input as a whole cannot be read (e.g. a CSV header without the text column).
    #[error("{path}: {message}")]
    Input {
        /// The input file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// An option has a value the library cannot use.
    #[error("invalid option: {0}")]
    Option(String),
    /// Evaluation data could not be loaded.
    #[error(transparent)]
    Eval(#[from] crate::eval::EvalError),
    /// The full-text index could not be built, opened or searched.
    #[error(transparent)]
    Index(#[from] crate::index::IndexError),
}

impl Error {
    pub(crate) fn data(file: impl Into<String>, line: usize, message: impl Into<String>) -> Self {
        Error::Data { file: file.into(), line, message: message.into() }
    }
}

/// What went wrong with one input record. Serialised as the `error` object of an error record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RecordError {
    /// Stable machine-readable kind, snake_case.
    pub kind: ErrorKind,
    /// Human-readable explanation.
    pub message: String,
    /// The input file (`-` for standard input).
    pub file: String,
    /// 1-based line in the input where the record starts.
    pub line: u64,
    /// The field concerned, when one is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

/// The kinds of record-level errors. The serialised names are stable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ErrorKind {
    /// A CSV row or JSON line cannot be parsed.
    Malformed,
    /// A field is not valid UTF-8.
    InvalidUtf8,
    /// The text field is missing from the record.
    MissingField,
    /// The text is empty or only whitespace.
    EmptyText,
    /// The text is longer than the configured limit.
    TextTooLong,
    /// A learned head failed on the batch the record was in.
    Model,
    /// The record's id was already indexed in the same run (`index --on-duplicate error`).
    DuplicateId,
}

impl ErrorKind {
    /// The stable snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Malformed => "malformed",
            ErrorKind::InvalidUtf8 => "invalid_utf8",
            ErrorKind::MissingField => "missing_field",
            ErrorKind::EmptyText => "empty_text",
            ErrorKind::TextTooLong => "text_too_long",
            ErrorKind::Model => "model_error",
            ErrorKind::DuplicateId => "duplicate_id",
        }
    }

    /// The kind whose [`ErrorKind::as_str`] name is `name`.
    pub fn from_name(name: &str) -> Option<ErrorKind> {
        use ErrorKind::*;
        [Malformed, InvalidUtf8, MissingField, EmptyText, TextTooLong, Model, DuplicateId]
            .into_iter()
            .find(|k| k.as_str() == name)
    }
}

impl std::fmt::Display for RecordError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}: {}", self.file, self.line, self.message)?;
        if let Some(field) = &self.field {
            write!(f, " (field `{field}`)")?;
        }
        Ok(())
    }
}

/// Library result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
