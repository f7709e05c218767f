//! The input record: one customer comment and what came with it.

use std::collections::BTreeMap;

use serde::Serialize;

/// One customer comment as read from the input, untouched.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Verbatim {
    /// The record's id (from the id column, or the line number when there is none).
    pub id: String,
    /// The comment, exactly as written by the customer.
    pub text: String,
    /// Optional metadata carried through to the output.
    pub meta: Meta,
    /// Where the record came from, for error messages.
    #[serde(skip)]
    pub origin: Origin,
}

/// Metadata columns the user named. Absent values are `None` and are not written.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Meta {
    /// Date of the comment, as written in the input.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date: Option<String>,
    /// A score column (NPS, CSAT, stars…), as written in the input.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub score: Option<String>,
    /// The channel (survey, e-mail, chat…).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
    /// The customer id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub customer: Option<String>,
    /// Any other columns the user named (`--meta-column segment`), by column name.
    #[serde(flatten)]
    pub extra: BTreeMap<String, String>,
}

impl Meta {
    /// True when no metadata is present (the `meta` object is then left out of the output).
    pub fn is_empty(&self) -> bool {
        self.date.is_none()
            && self.score.is_none()
            && self.channel.is_none()
            && self.customer.is_none()
            && self.extra.is_empty()
    }
}

/// Names the `meta` object already uses: an extra column may not take one of them.
pub const META_RESERVED: [&str; 4] = ["date", "score", "channel", "customer"];

/// File and line a record starts at.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Origin {
    /// The input file (`-` for standard input).
    pub file: String,
    /// 1-based line number.
    pub line: u64,
}

impl Verbatim {
    /// A record with only an id and a text, for library callers and tests.
    pub fn new(id: impl Into<String>, text: impl Into<String>) -> Self {
        Verbatim { id: id.into(), text: text.into(), ..Default::default() }
    }
}
