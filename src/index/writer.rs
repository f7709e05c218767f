//! Building and updating an index: one document per record id, committed every N documents so
//! that a killed run loses at most the uncommitted tail.
//!
//! Why this is safe under faults: tantivy publishes a commit by atomically replacing
//! `meta.json`, so an index opened after a crash sees exactly the last commit. An add to an
//! index that already held documents is a `delete_term(id)` followed by the new document in one
//! operation group, so re-running the same input after a crash (or re-indexing a changed
//! record) replaces instead of duplicating. (Into an index that was empty when opened, only an
//! id repeated within the run needs the delete.)

use std::fs;
use std::hash::BuildHasher;
use std::io::{self, BufRead};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustc_hash::{FxBuildHasher, FxHashSet};
use tantivy::directory::MmapDirectory;
use tantivy::indexer::UserOperation;
use tantivy::schema::Facet;
use tantivy::schema::OwnedValue;
use tantivy::time::{Date, Month, OffsetDateTime, format_description::well_known::Rfc3339};
use tantivy::{DateTime, Index, IndexWriter, TantivyDocument, Term};

use super::record::{IndexRecord, ThemeTree};
use super::schema::{self, Fields};
use super::{IndexError, analyzers};
use crate::analysis::{Lang, Outcome};
use crate::error::Error;
use crate::io::{Format, ReadOptions};
use crate::lexicon::Resources;
use crate::pipeline::Analyzer;
use crate::summary::Summary;

/// How to write.
#[derive(Debug, Clone)]
pub struct WriteOptions {
    /// Commit after this many added or deleted documents (at least 1).
    pub commit_every: usize,
    /// Memory for the indexing threads together, in bytes (tantivy needs ≥ 15 MB per thread).
    pub memory_budget: usize,
    /// Indexing threads (default: tantivy's choice).
    pub threads: Option<usize>,
    /// Delete every document first (the deletion becomes visible at the first commit).
    pub rebuild: bool,
}

impl Default for WriteOptions {
    fn default() -> Self {
        WriteOptions {
            commit_every: 50_000,
            memory_budget: 200 << 20,
            threads: None,
            rebuild: false,
        }
    }
}

/// Counts over an indexing run.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct IndexStats {
    /// Records read from the inputs.
    pub read: u64,
    /// Documents added (or replaced).
    pub indexed: u64,
    /// Of those, records analysed on the way in (raw input).
    pub analysed: u64,
    /// Records that could not be analysed or parsed (not indexed).
    pub errors: u64,
    /// Ids deleted (`--delete`).
    pub deleted: u64,
    /// Commits made.
    pub commits: u64,
    /// Documents in the index after the last commit.
    pub docs: u64,
}

/// Opens (or creates) the index in `dir` with verbatim's schema and registers its analysers.
pub(crate) fn open_index(dir: &Path, res: &Arc<Resources>, create: bool) -> Result<Index, Error> {
    let io_err = |source| Error::Io { path: dir.to_path_buf(), source };
    let expected = schema::build();
    let index = if create {
        fs::create_dir_all(dir).map_err(io_err)?;
        let directory = MmapDirectory::open(dir).map_err(|e| IndexError::open(dir, e))?;
        Index::open_or_create(directory, expected.clone()).map_err(|e| IndexError::open(dir, e))?
    } else {
        if !dir.join("meta.json").exists() {
            return Err(IndexError::NotAnIndex { path: dir.to_path_buf() }.into());
        }
        Index::open_in_dir(dir).map_err(|e| IndexError::open(dir, e))?
    };
    if index.schema() != expected {
        return Err(IndexError::Schema {
            message: format!(
                "{}: the index was built by another version of verbatim (its fields differ); \
                 delete the directory and index again",
                dir.display()
            ),
        }
        .into());
    }
    analyzers::register(&index, res);
    Ok(index)
}

/// Called after each commit with the counts so far.
type CommitHook = Box<dyn FnMut(&IndexStats) + Send>;

/// Writes documents into an index.
pub struct Indexer {
    index: Index,
    writer: IndexWriter,
    fields: Fields,
    tree: ThemeTree,
    commit_every: usize,
    pending: usize,
    stats: IndexStats,
    on_commit: Option<CommitHook>,
    /// Hashes of the ids added in this run, kept only when the index held no document at
    /// open: then an id not seen before in the run cannot be in the index, and its add skips
    /// the delete (applying deletes against ever larger segments is what slows big builds). A
    /// hash collision only costs a needless delete.
    fresh_ids: Option<FxHashSet<u64>>,
}

impl Indexer {
    /// Opens the index in `dir` for writing, creating it when absent. `res` gives the stop words
    /// and the taxonomy (theme parents for the facets).
    pub fn open(dir: &Path, res: Arc<Resources>, opts: &WriteOptions) -> Result<Indexer, Error> {
        if opts.commit_every == 0 {
            return Err(Error::Option("commit every 0 documents: give at least 1".into()));
        }
        let index = open_index(dir, &res, true)?;
        let fields = Fields::from_schema(&index.schema())?;
        let writer = match opts.threads {
            Some(n) => index.writer_with_num_threads(n.max(1), opts.memory_budget),
            None => index.writer(opts.memory_budget),
        }
        .map_err(|e| IndexError::open(dir, e))?;
        if opts.rebuild {
            writer.delete_all_documents()?;
        }
        let empty = opts.rebuild || index.reader()?.searcher().num_docs() == 0;
        Ok(Indexer {
            index,
            writer,
            fields,
            tree: ThemeTree::new(res.themes()),
            commit_every: opts.commit_every,
            pending: 0,
            stats: IndexStats::default(),
            on_commit: None,
            fresh_ids: empty.then(FxHashSet::default),
        })
    }

    /// Calls `f` after every commit (progress reporting).
    pub fn on_commit(&mut self, f: impl FnMut(&IndexStats) + Send + 'static) {
        self.on_commit = Some(Box::new(f));
    }

    /// Counts so far.
    pub fn stats(&self) -> &IndexStats {
        &self.stats
    }

    /// Adds a record, replacing any document with the same id.
    pub fn add(&mut self, rec: &IndexRecord) -> Result<(), Error> {
        let doc = self.document(rec);
        let first_in_fresh_index = self
            .fresh_ids
            .as_mut()
            .is_some_and(|seen| seen.insert(FxBuildHasher.hash_one(&rec.id)));
        if first_in_fresh_index {
            self.writer.add_document(doc)?;
        } else {
            let id = Term::from_field_text(self.fields.id, &rec.id);
            // One group: the delete applies to every earlier document with this id, never to
            // the new one, and no commit can fall between the two.
            self.writer.run([UserOperation::Delete(id), UserOperation::Add(doc)])?;
        }
        self.stats.indexed += 1;
        self.tick()
    }

    /// Deletes the document with this id, if any.
    pub fn delete(&mut self, id: &str) -> Result<(), Error> {
        self.writer.delete_term(Term::from_field_text(self.fields.id, id));
        self.stats.deleted += 1;
        self.tick()
    }

    fn tick(&mut self) -> Result<(), Error> {
        self.pending += 1;
        if self.pending >= self.commit_every { self.commit() } else { Ok(()) }
    }

    /// Makes everything added so far durable and visible to new searchers.
    pub fn commit(&mut self) -> Result<(), Error> {
        self.writer.commit()?;
        self.pending = 0;
        self.stats.commits += 1;
        if let Some(f) = &mut self.on_commit {
            f(&self.stats);
        }
        Ok(())
    }

    /// Commits, waits for background merges and returns the counts.
    pub fn finish(mut self) -> Result<IndexStats, Error> {
        self.commit()?;
        self.writer.wait_merging_threads()?;
        let reader = self.index.reader()?;
        self.stats.docs = reader.searcher().num_docs();
        Ok(self.stats)
    }

    fn document(&self, rec: &IndexRecord) -> TantivyDocument {
        let f = &self.fields;
        let mut doc = TantivyDocument::default();
        doc.add_text(f.id, &rec.id);
        doc.add_text(f.text, &rec.text);
        // `und` is searchable with both languages' analysers.
        if rec.lang != Lang::En {
            doc.add_text(f.text_fr, &rec.text);
        }
        if rec.lang != Lang::Fr {
            doc.add_text(f.text_en, &rec.text);
        }
        doc.add_text(f.lang, rec.lang.as_str());
        doc.add_text(f.sentiment, &rec.sentiment);
        doc.add_f64(f.sentiment_score, round4(rec.sentiment_score));
        doc.add_text(f.mode, &rec.mode);
        doc.add_text(f.churn, &rec.churn);
        doc.add_f64(f.churn_risk, round4(rec.churn_risk));
        let mut theme_terms: Vec<&str> = Vec::new();
        for id in &rec.themes {
            doc.add_text(f.themes, id);
            let path = self.tree.path(id);
            for &t in &path {
                if !theme_terms.contains(&t) {
                    theme_terms.push(t);
                }
            }
            doc.add_facet(f.facets, Facet::from_path(std::iter::once("theme").chain(path)));
        }
        for t in theme_terms {
            doc.add_text(f.theme, t);
        }
        doc.add_facet(f.facets, Facet::from_path(["sentiment", rec.sentiment.as_str()]));
        doc.add_facet(f.facets, Facet::from_path(["mode", rec.mode.as_str()]));
        doc.add_facet(f.facets, Facet::from_path(["churn", rec.churn.as_str()]));
        doc.add_facet(f.facets, Facet::from_path(["lang", rec.lang.as_str()]));
        let m = &rec.meta;
        if let Some(d) = &m.date {
            doc.add_text(f.date_text, d);
            if let Some(dt) = parse_date(d) {
                doc.add_date(f.date, dt);
            }
        }
        if let Some(c) = &m.customer {
            doc.add_text(f.customer, c);
        }
        if let Some(c) = &m.channel {
            doc.add_text(f.channel, c);
        }
        if let Some(s) = &m.score {
            doc.add_text(f.rating, s);
        }
        if !m.extra.is_empty() {
            let object =
                m.extra.iter().map(|(k, v)| (k.clone(), OwnedValue::Str(v.clone()))).collect();
            doc.add_object(f.meta, object);
        }
        doc
    }
}

/// An `f32` score as the `f64` with the same 4 decimals (plain widening shows float noise:
/// 0.18 becomes 0.18000000715255737 in the JSON).
fn round4(x: f32) -> f64 {
    (f64::from(x) * 1e4).round() / 1e4
}

/// Parses the dates customers' exports carry: ISO `2025-01-31`, RFC 3339
/// `2025-01-31T10:00:00Z`, ISO with a space before the time, and French `31/01/2025`. Anything
/// else is kept as text only (the document is still indexed, without a date).
pub fn parse_date(s: &str) -> Option<DateTime> {
    let s = s.trim();
    if let Ok(dt) = OffsetDateTime::parse(s, &Rfc3339) {
        return Some(DateTime::from_utc(dt));
    }
    let day = s.get(..10)?;
    let (y, m, d) = if day.as_bytes().get(4) == Some(&b'-') {
        (day.get(..4)?, day.get(5..7)?, day.get(8..10)?)
    } else if day.as_bytes().get(2) == Some(&b'/') {
        (day.get(6..10)?, day.get(3..5)?, day.get(..2)?)
    } else {
        return None;
    };
    let month = Month::try_from(m.parse::<u8>().ok()?).ok()?;
    let date = Date::from_calendar_date(y.parse().ok()?, month, d.parse().ok()?).ok()?;
    Some(DateTime::from_utc(date.midnight().assume_utc()))
}

/// Where input records come from and how raw ones are read.
pub struct Ingest<'a> {
    /// Analyses raw records (comments not yet analysed).
    pub analyzer: &'a Analyzer,
    /// How to read raw inputs (format, columns).
    pub read: &'a ReadOptions,
    /// Records analysed per parallel chunk.
    pub chunk: usize,
}

impl Ingest<'_> {
    /// Indexes every input in turn: JSONL written by `verbatim analyze` is indexed as it is,
    /// anything else is read with [`crate::io::open`] and analysed on the way in.
    pub fn run(
        &self,
        indexer: &mut Indexer,
        inputs: &[PathBuf],
        progress: &mut dyn FnMut(u64),
    ) -> Result<(), Error> {
        for input in inputs {
            if is_analysed(self.read, input)? {
                self.run_analysed(indexer, input, progress)?;
            } else {
                self.run_raw(indexer, input, progress)?;
            }
        }
        Ok(())
    }

    /// Whether any of `inputs` holds comments to analyse (not JSONL from `verbatim analyze`): a
    /// run over analysed records alone needs no tone model.
    pub fn needs_analysis(read: &ReadOptions, inputs: &[PathBuf]) -> Result<bool, Error> {
        for input in inputs {
            if !is_analysed(read, input)? {
                return Ok(true);
            }
        }
        Ok(false)
    }

    fn run_analysed(
        &self,
        indexer: &mut Indexer,
        input: &Path,
        progress: &mut dyn FnMut(u64),
    ) -> Result<(), Error> {
        let io_err = |source| Error::Io { path: input.to_path_buf(), source };
        let mut lines = open_lines(input)?;
        let mut line = String::new();
        let mut bytes = Vec::new();
        loop {
            bytes.clear();
            if lines.read_until(b'\n', &mut bytes).map_err(io_err)? == 0 {
                break;
            }
            line.clear();
            // A line that is not UTF-8 is a bad record, not the end of the run.
            line.push_str(&String::from_utf8_lossy(&bytes));
            if line.trim().is_empty() {
                continue;
            }
            indexer.stats.read += 1;
            match IndexRecord::from_json_line(&line) {
                Ok(rec) => indexer.add(&rec)?,
                Err(_) => indexer.stats.errors += 1,
            }
            progress(1);
        }
        Ok(())
    }

    fn run_raw(
        &self,
        indexer: &mut Indexer,
        input: &Path,
        progress: &mut dyn FnMut(u64),
    ) -> Result<(), Error> {
        let reader = crate::io::open(input, self.read)?;
        let chunk = self.chunk.max(1);
        let mut items = Vec::with_capacity(chunk);
        let mut summary = Summary::default();
        let mut flush = |items: &mut Vec<crate::io::Item>, indexer: &mut Indexer| {
            let outcomes = self.analyzer.analyze_items(items, &mut summary);
            for o in &outcomes {
                indexer.stats.read += 1;
                match o {
                    Outcome::Analysed(a) => {
                        indexer.stats.analysed += 1;
                        indexer.add(&IndexRecord::from_analysis(a))?;
                    }
                    Outcome::Failed { .. } => indexer.stats.errors += 1,
                }
            }
            progress(items.len() as u64);
            items.clear();
            Ok::<(), Error>(())
        };
        let mut reader = reader;
        for item in &mut reader {
            items.push(item);
            if items.len() == chunk {
                flush(&mut items, indexer)?;
            }
        }
        flush(&mut items, indexer)?;
        reader.finish()
    }
}

/// A buffered line reader over a file (`.gz` decompressed) or standard input.
fn open_lines(path: &Path) -> Result<Box<dyn BufRead>, Error> {
    Ok(Box::new(crate::io::open_bytes(path)?))
}

/// Whether `input` is JSONL written by `verbatim analyze` (decided on its first line).
fn is_analysed(read: &ReadOptions, input: &Path) -> Result<bool, Error> {
    let format = read.format.or_else(|| Format::from_path(input));
    if !matches!(format, Some(Format::Jsonl) | None) {
        return Ok(false);
    }
    if input.as_os_str() == "-" {
        // Standard input cannot be read twice: peek into its own buffer (8 KiB), which the
        // raw reader then reads from the start. A first line longer than that is decided on
        // the fields seen so far.
        let stdin = io::stdin();
        let mut lock = stdin.lock();
        let head = lock.fill_buf().map_err(|e| Error::Io { path: input.into(), source: e })?;
        let head = String::from_utf8_lossy(head);
        let first = head.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
        return Ok(IndexRecord::looks_analysed(first)
            || (first.starts_with('{') && first.contains("\"sentiment\":{\"label\"")));
    }
    let mut lines = open_lines(input)?;
    let mut line = String::new();
    loop {
        line.clear();
        let n = lines
            .read_line(&mut line)
            .map_err(|e| Error::Io { path: input.to_path_buf(), source: e })?;
        if n == 0 {
            return Ok(false);
        }
        if !line.trim().is_empty() {
            return Ok(IndexRecord::looks_analysed(&line));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(id: &str, text: &str) -> IndexRecord {
        IndexRecord {
            id: id.into(),
            text: text.into(),
            lang: Lang::Fr,
            sentiment: "neutral".into(),
            sentiment_score: 0.0,
            themes: vec!["delivery".into()],
            mode: "opinion".into(),
            churn: "none".into(),
            churn_risk: 0.0,
            meta: Default::default(),
        }
    }

    fn count(dir: &Path) -> u64 {
        let res = Arc::new(Resources::embedded().unwrap());
        open_index(dir, &res, false).unwrap().reader().unwrap().searcher().num_docs()
    }

    #[test]
    fn an_id_is_one_document_in_a_fresh_index_and_across_runs() {
        let dir = tempfile::tempdir().unwrap();
        let res = Arc::new(Resources::embedded().unwrap());
        let opts = WriteOptions { commit_every: 2, ..WriteOptions::default() };
        let mut w = Indexer::open(dir.path(), Arc::clone(&res), &opts).unwrap();
        // Repeated within the first run, across a commit: the last one wins.
        w.add(&record("a", "premier")).unwrap();
        w.add(&record("b", "autre")).unwrap();
        w.add(&record("a", "second")).unwrap();
        assert_eq!(w.finish().unwrap().docs, 2);
        // A second run over a non-empty index replaces and deletes.
        let mut w = Indexer::open(dir.path(), Arc::clone(&res), &opts).unwrap();
        w.add(&record("b", "encore")).unwrap();
        w.delete("a").unwrap();
        w.finish().unwrap();
        assert_eq!(count(dir.path()), 1);
        let rebuild = WriteOptions { rebuild: true, ..opts };
        Indexer::open(dir.path(), res, &rebuild).unwrap().finish().unwrap();
        assert_eq!(count(dir.path()), 0);
    }

    #[test]
    fn dates_in_the_formats_exports_use() {
        let iso = parse_date("2025-01-31").expect("ISO date");
        assert_eq!(parse_date("31/01/2025"), Some(iso));
        assert_eq!(parse_date("2025-01-31 14:00"), Some(iso));
        assert!(parse_date("2025-01-31T10:00:00Z").is_some());
        assert_eq!(parse_date("31 janvier"), None);
        assert_eq!(parse_date("2025-13-01"), None);
        assert_eq!(parse_date("é"), None);
    }
}
