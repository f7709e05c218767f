//! Full-text index and search over analysed comments (tantivy).
//!
//! One document per record id, holding the original text, its labels (language, tone, themes,
//! mode, churn) and metadata (customer, date, channel). The pieces, one concern per file:
//! - [`schema`]: the fields and how each is indexed;
//! - [`analyzers`]: the French and English text analysers, built from the crate's tokeniser,
//!   stop words and Snowball stems so the index sees the words the analyser sees;
//! - [`record`]: the indexed view of a record, from an analysis or from `verbatim analyze` JSONL;
//! - [`writer`]: building and updating an index, safe to kill at any point;
//! - [`ids`]: the ids of one indexing run, to report repeated ones;
//! - `directory`: index files readable per the umask, `--rebuild` built aside and swapped in;
//! - `query`: query text to tantivy query (stop words across languages, dates as days);
//! - [`search`]: queries, snippets, facet counts, customer history, "more like this".
//!
//! ```
//! use std::sync::Arc;
//! use verbatim::index::{IndexRecord, Indexer, SearchIndex, SearchRequest, WriteOptions};
//! use verbatim::{Analyzer, Options, Outcome, Resources, Verbatim};
//!
//! let dir = tempfile::tempdir().unwrap();
//! let res = Arc::new(Resources::embedded()?);
//! let analyzer = Analyzer::new(Resources::embedded()?, Options::default());
//! let mut indexer = Indexer::open(dir.path(), Arc::clone(&res), &WriteOptions::default())?;
//! for (id, text) in [("1", "Facture erronée, je veux résilier"), ("2", "Great delivery, thanks")] {
//!     if let Outcome::Analysed(a) = analyzer.analyze(&Verbatim::new(id, text)) {
//!         indexer.add(&IndexRecord::from_analysis(&a))?;
//!     }
//! }
//! indexer.finish()?;
//! let index = SearchIndex::open(dir.path(), res)?;
//! let found = index.search(&SearchRequest { query: "résiliation".into(), limit: 10, ..Default::default() })?;
//! assert_eq!(found.total, 1);
//! assert_eq!(found.hits[0].id, "1");
//! # Ok::<(), verbatim::Error>(())
//! ```

pub mod analyzers;
mod directory;
pub mod ids;
mod query;
pub mod record;
pub mod schema;
pub mod search;
pub mod writer;

use std::path::{Path, PathBuf};

pub use ids::{Place, Repeat};
pub use query::{MAX_PREFIX_TERMS, MAX_QUERY_BYTES, MAX_QUERY_DEPTH};
pub use record::{IndexRecord, ThemeTree};
pub use search::{Facets, Hit, SearchIndex, SearchRequest, SearchResults};
pub use writer::{
    Added, At, ErrorRecord, IndexStats, Indexer, Ingest, OnDuplicate, Plan, WriteOptions,
};

/// What can go wrong with an index.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IndexError {
    /// The index could not be opened or created.
    #[error("{path}: cannot open the index: {source}")]
    Open {
        /// The index directory.
        path: PathBuf,
        /// Why.
        #[source]
        source: tantivy::TantivyError,
    },
    /// Another writer holds the index.
    #[error("{path}: another `verbatim index` is writing to this index ({message})")]
    Busy {
        /// The index directory.
        path: PathBuf,
        /// tantivy's words.
        message: String,
    },
    /// The directory holds no index.
    #[error("{path}: no index here (build one with `verbatim index --index {path} INPUT`)")]
    NotAnIndex {
        /// The directory.
        path: PathBuf,
    },
    /// The index was built with another schema.
    #[error("{message}")]
    Schema {
        /// What differs and what to do.
        message: String,
    },
    /// The query cannot be parsed or refers to something the index does not have.
    #[error("bad query `{query}`: {message}")]
    Query {
        /// The query as given.
        query: String,
        /// What is wrong.
        message: String,
    },
    /// `--like ID` names a record that is not in the index.
    #[error("no record with id `{id}` in the index")]
    UnknownId {
        /// The id.
        id: String,
    },
    /// Reading or writing the index failed.
    #[error("index: {0}")]
    Tantivy(#[from] tantivy::TantivyError),
}

impl IndexError {
    fn open(path: &Path, source: impl Into<tantivy::TantivyError>) -> IndexError {
        IndexError::Open { path: path.to_path_buf(), source: source.into() }
    }
}

impl From<tantivy::TantivyError> for crate::Error {
    fn from(e: tantivy::TantivyError) -> Self {
        crate::Error::Index(IndexError::Tantivy(e))
    }
}
