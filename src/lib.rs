//! # verbatim
//!
//! Text analytics for customer verbatims, the free-text comments customers write in surveys,
//! e-mails, complaints, chats and reviews, in French and English. For each comment: language,
//! tone (overall, per sentence, per theme), themes from an editable taxonomy, mode of expression,
//! churn risk, and the evidence (byte spans) behind every label.
//!
//! The modules follow the pipeline:
//! [`io`] (read) → [`normalize`] → [`tokenize`] → [`detect`] → classify (with [`lexicon`]) →
//! [`io`] (write). [`pipeline::Analyzer`] ties them together and is the batch API.
//!
//! ```
//! use verbatim::{Analyzer, Options, Resources, Verbatim, Outcome};
//! let analyzer = Analyzer::new(Resources::embedded()?, Options::default());
//! let Outcome::Analysed(a) = analyzer.analyze(&Verbatim::new("1", "Livraison rapide mais facture fausse"))
//! else { panic!("analysed") };
//! assert_eq!(a.lang.as_str(), "fr");
//! # Ok::<(), verbatim::Error>(())
//! ```
#![warn(missing_docs)]

pub mod analysis;
mod classify;
pub mod detect;
#[cfg(feature = "onnx")]
pub mod embed;
pub mod error;
pub mod eval;
pub mod index;
pub mod io;
pub mod lexicon;
pub mod model;
pub mod normalize;
pub mod pipeline;
pub mod redact;
pub mod summary;
pub mod tokenize;
pub mod verbatim;

pub use analysis::{Analysis, Lang, Outcome, Polarity};
pub use error::{Error, ErrorKind, RecordError};
pub use lexicon::{LoadOptions, Resources};
pub use pipeline::{Analyzer, Options};
pub use summary::Summary;
pub use verbatim::{Meta, Verbatim};
