//! Building and updating an index: one document per record id, committed every N documents so
//! that a killed run loses at most the uncommitted tail.
//!
//! Why this is safe under faults: tantivy publishes a commit by atomically replacing
//! `meta.json`, so an index opened after a crash sees exactly the last commit. An add to an
//! index that already held documents is a `delete_term(id)` followed by the new document in one
//! operation group, so re-running the same input after a crash (or re-indexing a changed
//! record) replaces instead of duplicating. (Into an index that was empty when opened, only an
//! id repeated within the run needs the delete.) `--rebuild` writes a new index beside the old
//! one and swaps it in at the end (see `directory.rs`).
//!
//! Nothing is dropped silently: a record that is not indexed (not analysable, not parsable, an
//! empty id, a repeated id under `OnDuplicate::Error`) becomes an [`ErrorRecord`] passed to
//! the [`Indexer::on_error`] hook, and ids repeated within the run are counted with examples.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustc_hash::FxHashSet;
use serde::{Deserialize, Serialize};
use tantivy::collector::Count;
use tantivy::indexer::{NoMergePolicy, UserOperation};
use tantivy::query::TermQuery;
use tantivy::schema::{Facet, IndexRecordOption, OwnedValue};
use tantivy::time::{Date, Month, OffsetDateTime, format_description::well_known::Rfc3339};
use tantivy::{DateTime, Index, IndexReader, IndexWriter, ReloadPolicy, TantivyDocument, Term};

use super::directory::{Rebuild, UmaskDirectory};
use super::ids::{self, Place, Repeat, Seen, SeenIds};
use super::record::{IndexRecord, ThemeTree};
use super::schema::{self, Fields, names};
use super::{IndexError, analyzers};
use crate::analysis::{Lang, Outcome};
use crate::error::{Error, ErrorKind, RecordError};
use crate::io::{Format, Lines, ReadOptions, Source, default_id};
use crate::lexicon::Resources;
use crate::pipeline::Analyzer;
use crate::summary::Summary;

/// What to do with a record whose id was already indexed in the same run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum OnDuplicate {
    /// The later record replaces the earlier (as re-indexing an id in a later run does).
    #[default]
    Replace,
    /// The first record stays; later ones are skipped (counted in [`IndexStats::skipped`]).
    KeepFirst,
    /// The first record stays; later ones become error records (`duplicate_id`).
    Error,
}

/// How to write.
#[derive(Debug, Clone)]
pub struct WriteOptions {
    /// Commit after this many added or deleted documents (at least 1).
    pub commit_every: usize,
    /// Memory for the indexing threads together, in bytes (tantivy needs ≥ 15 MB per thread).
    pub memory_budget: usize,
    /// Indexing threads (default: tantivy's choice).
    pub threads: Option<usize>,
    /// Build a new index from scratch, beside the old one, which it replaces at
    /// [`Indexer::finish`] (the old one stays whole and searchable until then).
    pub rebuild: bool,
    /// Ids repeated within the run.
    pub on_duplicate: OnDuplicate,
}

impl Default for WriteOptions {
    fn default() -> Self {
        WriteOptions {
            commit_every: 50_000,
            memory_budget: 200 << 20,
            threads: None,
            rebuild: false,
            on_duplicate: OnDuplicate::default(),
        }
    }
}

/// Counts over an indexing run. Every record read is indexed, skipped or an error:
/// `read == indexed + skipped + errors`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct IndexStats {
    /// Records read from the inputs.
    pub read: u64,
    /// Documents added (or replaced).
    pub indexed: u64,
    /// Of those, records analysed on the way in (raw input).
    pub analysed: u64,
    /// Records not indexed: error records (not analysable, not parsable, empty or refused id).
    pub errors: u64,
    /// Error records by kind (`malformed`, `missing_field`, …).
    pub errors_by_kind: BTreeMap<String, u64>,
    /// Records skipped because their id was already indexed in this run
    /// ([`OnDuplicate::KeepFirst`]).
    pub skipped: u64,
    /// Records whose id was read before in this run (whatever the policy did with them).
    pub repeated: u64,
    /// Distinct ids read more than once in this run.
    pub repeated_ids: u64,
    /// The first few of them, with where they were read.
    pub repeats: Vec<Repeat>,
    /// Ids deleted (`--delete`) that were in the index.
    pub deleted: u64,
    /// Commits made.
    pub commits: u64,
    /// Documents in the index when the run started (0 for a rebuild).
    pub docs_before: u64,
    /// Documents in the index after the last commit.
    pub docs: u64,
    /// Ids indexed in this run that already had a document in the index (now replaced).
    pub replaced: u64,
    /// Things the run could not do that did not stop it.
    pub warnings: Vec<String>,
}

/// What [`Indexer::add`] did with a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Added {
    /// Indexed (replacing any document with its id).
    Indexed,
    /// Skipped: its id was already indexed in this run ([`OnDuplicate::KeepFirst`]).
    Skipped,
    /// Not indexed: it became an error record.
    Rejected,
}

/// Where a record comes from, for its error record and for reports of repeated ids.
#[derive(Debug, Clone, Copy)]
pub struct At<'a> {
    /// The input file (`-` for standard input).
    pub file: &'a str,
    /// 1-based line where the record starts.
    pub line: u64,
    /// The input's name for the id (the CSV column, the JSONL field).
    pub id_field: &'a str,
}

/// A record that was not indexed, in the shape of `verbatim analyze`'s error records:
/// `{"id": …, "error": {"kind", "message", "file", "line", "field"?}}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ErrorRecord {
    /// The record's id when it could be read, else `file:line`.
    pub id: String,
    /// What went wrong.
    pub error: RecordError,
}

/// Opens (or creates) the index in `dir` with verbatim's schema and registers its analysers.
pub(crate) fn open_index(dir: &Path, res: &Arc<Resources>, create: bool) -> Result<Index, Error> {
    let io_err = |source| Error::Io { path: dir.to_path_buf(), source };
    let expected = schema::build();
    let index = if create {
        fs::create_dir_all(dir).map_err(io_err)?;
        let directory = UmaskDirectory::open(dir)?;
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
                 rebuild it with `verbatim index --rebuild`",
                dir.display()
            ),
        }
        .into());
    }
    analyzers::register(&index, res);
    Ok(index)
}

/// A reader that changes only when told to (no watcher thread).
fn manual_reader(index: &Index) -> Result<IndexReader, Error> {
    Ok(index.reader_builder().reload_policy(ReloadPolicy::Manual).try_into()?)
}

/// Called after each commit with the counts so far.
type CommitHook = Box<dyn FnMut(&IndexStats) + Send>;

/// Called with each error record; an error stops the run (the record could not be reported).
type ErrorHook = Box<dyn FnMut(&ErrorRecord) -> Result<(), Error> + Send>;

/// Writes documents into an index.
pub struct Indexer {
    index: Index,
    writer: IndexWriter,
    fields: Fields,
    tree: ThemeTree,
    commit_every: usize,
    on_duplicate: OnDuplicate,
    pending: usize,
    stats: IndexStats,
    on_commit: Option<CommitHook>,
    on_error: Option<ErrorHook>,
    /// The index held no document at open: then an id not seen before in the run cannot be
    /// in the index, and its add skips the delete (applying deletes against ever larger
    /// segments is what slows big builds).
    fresh: bool,
    /// The ids of this run.
    seen: SeenIds,
    /// The last commit, to tell whether an id to delete exists.
    lookup: IndexReader,
    /// Ids deleted in this run (hashes), so that deleting one twice counts once.
    deleted: FxHashSet<u64>,
    /// Ids deleted that existed: the segments holding them are merged at the end, so that
    /// their text leaves the files.
    erased: Vec<String>,
    rebuild: Option<Rebuild>,
}

impl Indexer {
    /// Opens the index in `dir` for writing, creating it when absent. `res` gives the stop words
    /// and the taxonomy (theme parents for the facets).
    pub fn open(dir: &Path, res: Arc<Resources>, opts: &WriteOptions) -> Result<Indexer, Error> {
        if opts.commit_every == 0 {
            return Err(Error::Option("commit every 0 documents: give at least 1".into()));
        }
        let rebuild = if opts.rebuild { Some(Rebuild::start(dir)?) } else { None };
        let path = rebuild.as_ref().map_or(dir, Rebuild::dir);
        let index = open_index(path, &res, true)?;
        let fields = Fields::from_schema(&index.schema())?;
        let writer = match opts.threads {
            Some(n) => index.writer_with_num_threads(n.max(1), opts.memory_budget),
            None => index.writer(opts.memory_budget),
        }
        .map_err(|e| IndexError::open(dir, e))?;
        let lookup = manual_reader(&index)?;
        let docs_before = lookup.searcher().num_docs();
        Ok(Indexer {
            index,
            writer,
            fields,
            tree: ThemeTree::new(res.themes()),
            commit_every: opts.commit_every,
            on_duplicate: opts.on_duplicate,
            pending: 0,
            stats: IndexStats { docs_before, ..IndexStats::default() },
            on_commit: None,
            on_error: None,
            fresh: docs_before == 0,
            seen: SeenIds::default(),
            lookup,
            deleted: FxHashSet::default(),
            erased: Vec::new(),
            rebuild,
        })
    }

    /// Calls `f` after every commit (progress reporting).
    pub fn on_commit(&mut self, f: impl FnMut(&IndexStats) + Send + 'static) {
        self.on_commit = Some(Box::new(f));
    }

    /// Calls `f` with every record that is not indexed; an `Err` from `f` stops the run.
    pub fn on_error(&mut self, f: impl FnMut(&ErrorRecord) -> Result<(), Error> + Send + 'static) {
        self.on_error = Some(Box::new(f));
    }

    /// Counts so far.
    pub fn stats(&self) -> &IndexStats {
        &self.stats
    }

    /// Adds a record, replacing any document with the same id (see [`Indexer::add_at`]).
    pub fn add(&mut self, rec: &IndexRecord) -> Result<Added, Error> {
        self.add_at(rec, None)
    }

    /// Adds a record read at `at`, replacing any document with the same id. A record with an
    /// empty id is an error record (`missing_field`), never a document; an id already indexed
    /// in this run is counted and handled as [`WriteOptions::on_duplicate`] says.
    pub fn add_at(&mut self, rec: &IndexRecord, at: Option<&At>) -> Result<Added, Error> {
        let error = |kind, message: String| RecordError {
            kind,
            message,
            file: at.map(|a| a.file.to_string()).unwrap_or_default(),
            line: at.map_or(0, |a| a.line),
            field: Some(at.map_or(names::ID, |a| a.id_field).to_string()),
        };
        if rec.id.trim().is_empty() {
            let id = at.map(|a| format!("{}:{}", a.file, a.line)).unwrap_or_default();
            let message = "the id is empty: an index holds one document per id".to_string();
            self.reject(&id, error(ErrorKind::MissingField, message))?;
            return Ok(Added::Rejected);
        }
        let key = ids::key(&rec.id);
        let place = at.map(|a| Place { file: a.file, line: a.line });
        let first = match self.seen.see(key, &rec.id, place) {
            Seen::First => true,
            Seen::Again { .. } if self.on_duplicate == OnDuplicate::Replace => false,
            Seen::Again { .. } if self.on_duplicate == OnDuplicate::KeepFirst => {
                self.stats.skipped += 1;
                return Ok(Added::Skipped);
            }
            Seen::Again { first } => {
                let from = if first.is_empty() { String::new() } else { format!(" from {first}") };
                let message = format!("id `{}` was already indexed in this run{from}", rec.id);
                self.reject(&rec.id, error(ErrorKind::DuplicateId, message))?;
                return Ok(Added::Rejected);
            }
        };
        self.deleted.remove(&key);
        let doc = self.document(rec);
        if self.fresh && first {
            self.writer.add_document(doc)?;
        } else {
            let id = Term::from_field_text(self.fields.id, &rec.id);
            // One group: the delete applies to every earlier document with this id, never to
            // the new one, and no commit can fall between the two.
            self.writer.run([UserOperation::Delete(id), UserOperation::Add(doc)])?;
        }
        self.stats.indexed += 1;
        self.tick()?;
        Ok(Added::Indexed)
    }

    /// Counts a record that is not indexed and passes it to the [`Indexer::on_error`] hook.
    pub fn reject(&mut self, id: &str, error: RecordError) -> Result<(), Error> {
        self.stats.errors += 1;
        *self.stats.errors_by_kind.entry(error.kind.as_str().to_string()).or_default() += 1;
        match &mut self.on_error {
            Some(f) => f(&ErrorRecord { id: id.to_string(), error }),
            None => Ok(()),
        }
    }

    /// Deletes the document with this id; `true` when there was one (in the last commit or
    /// added in this run, and not already deleted in this run). At [`Indexer::finish`], the
    /// segments that held deleted documents are merged, so that their text is no longer in
    /// the index files (tantivy only marks a document deleted until its segment is merged).
    pub fn delete(&mut self, id: &str) -> Result<bool, Error> {
        let key = ids::key(id);
        let term = Term::from_field_text(self.fields.id, id);
        let existed = !self.deleted.contains(&key)
            && (self.seen.contains(key)
                || self
                    .lookup
                    .searcher()
                    .search(&TermQuery::new(term.clone(), IndexRecordOption::Basic), &Count)?
                    > 0);
        self.writer.delete_term(term);
        if existed {
            self.deleted.insert(key);
            self.erased.push(id.to_string());
            self.stats.deleted += 1;
        }
        self.tick()?;
        Ok(existed)
    }

    fn tick(&mut self) -> Result<(), Error> {
        self.pending += 1;
        if self.pending >= self.commit_every { self.commit() } else { Ok(()) }
    }

    /// Makes everything added so far durable and visible to new searchers.
    pub fn commit(&mut self) -> Result<(), Error> {
        self.writer.commit()?;
        self.lookup.reload()?;
        self.pending = 0;
        self.stats.commits += 1;
        if let Some(f) = &mut self.on_commit {
            f(&self.stats);
        }
        Ok(())
    }

    /// Commits, waits for background merges, merges away the deleted documents' text, swaps a
    /// rebuilt index in, and returns the counts. Dropping an `Indexer` without `finish` keeps
    /// what was committed (and, for a rebuild, the old index).
    pub fn finish(mut self) -> Result<IndexStats, Error> {
        self.commit()?;
        let Indexer { index, writer, fields, mut stats, seen, erased, rebuild, lookup, .. } = self;
        drop(lookup);
        writer.wait_merging_threads()?;
        if !erased.is_empty() {
            erase(&index, &fields, &erased)?;
        }
        stats.docs = manual_reader(&index)?.searcher().num_docs();
        stats.repeated = seen.repeated_records;
        stats.repeated_ids = seen.repeated_ids;
        stats.repeats = seen.examples.clone();
        // Each distinct id indexed adds a document unless it had one already.
        let expected = (stats.docs_before + seen.len() as u64).saturating_sub(stats.deleted);
        stats.replaced = expected.saturating_sub(stats.docs);
        drop(index);
        if let Some(r) = rebuild {
            stats.warnings.extend(r.swap()?);
        }
        Ok(stats)
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

/// Merges the segments that hold deleted documents of `ids`, then removes the files no
/// longer used: tantivy marks a deleted document in a bitset and keeps its stored text and
/// terms until its segment is merged, which "erases records" must not rely on. Only those
/// segments are rewritten (a term lookup per id and segment finds them); a segment holding
/// nothing else disappears.
fn erase(index: &Index, fields: &Fields, ids: &[String]) -> Result<(), Error> {
    let holding = {
        let reader = manual_reader(index)?;
        let searcher = reader.searcher();
        let mut holding = Vec::new();
        for segment in searcher.segment_readers() {
            if !segment.has_deletes() {
                continue;
            }
            let inverted = segment.inverted_index(fields.id)?;
            let mut holds = false;
            for id in ids {
                let found =
                    inverted.terms().get(id.as_bytes()).map_err(tantivy::TantivyError::from)?;
                holds |= found.is_some();
            }
            if holds {
                holding.push(segment.segment_id());
            }
        }
        holding
    };
    // The run's writer is gone (its merges done); this one only merges, so the least memory.
    let mut writer: IndexWriter<TantivyDocument> =
        index.writer_with_num_threads(1, MIN_WRITER_MEMORY)?;
    writer.set_merge_policy(Box::new(NoMergePolicy));
    if !holding.is_empty() {
        writer.merge(&holding).wait()?;
    }
    writer.garbage_collect_files().wait()?;
    writer.wait_merging_threads()?;
    Ok(())
}

/// The least memory tantivy accepts for one indexing thread.
const MIN_WRITER_MEMORY: usize = 15_000_000;

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

/// The inputs of an index run, each told apart on its whole first line: JSONL written by
/// `verbatim analyze` (indexed as it is) or comments to analyse on the way in. Standard input
/// cannot be read twice, so its opened source is kept, first line and all, for the run.
pub struct Plan {
    inputs: Vec<Planned>,
}

struct Planned {
    path: PathBuf,
    analysed: bool,
    /// Standard input, opened and peeked at.
    stdin: Option<Source>,
}

impl Plan {
    /// Opens each input once to read its first line (files are closed again; they are
    /// reopened when their turn comes, so that many inputs do not hold many descriptors).
    pub fn new(read: &ReadOptions, inputs: &[PathBuf]) -> Result<Plan, Error> {
        let mut planned = Vec::with_capacity(inputs.len());
        for path in inputs {
            let format = read.format.or_else(|| Format::from_path(path));
            if !matches!(format, Some(Format::Jsonl) | None) {
                planned.push(Planned { path: path.clone(), analysed: false, stdin: None });
                continue;
            }
            let mut source = Source::open(path, read.encoding)?;
            let first = source.first_line(read.line_limit())?;
            let analysed = IndexRecord::looks_analysed(&String::from_utf8_lossy(&first));
            let stdin = (path.as_os_str() == "-").then_some(source);
            planned.push(Planned { path: path.clone(), analysed, stdin });
        }
        Ok(Plan { inputs: planned })
    }

    /// Whether any input holds comments to analyse: a run over analysed records alone needs
    /// no tone model.
    pub fn needs_analysis(&self) -> bool {
        self.inputs.iter().any(|p| !p.analysed)
    }
}

impl Ingest<'_> {
    /// Indexes every input of `plan` in turn: JSONL written by `verbatim analyze` is indexed as
    /// it is, anything else is read with [`crate::io::from_source`] and analysed on the way in.
    pub fn run(
        &self,
        indexer: &mut Indexer,
        plan: Plan,
        progress: &mut dyn FnMut(u64),
    ) -> Result<(), Error> {
        for input in plan.inputs {
            let source = match input.stdin {
                Some(source) => source,
                None => Source::open(&input.path, self.read.encoding)?,
            };
            if input.analysed {
                self.run_analysed(indexer, source, progress)?;
            } else {
                self.run_raw(indexer, source, progress)?;
            }
        }
        Ok(())
    }

    fn run_analysed(
        &self,
        indexer: &mut Indexer,
        source: Source,
        progress: &mut dyn FnMut(u64),
    ) -> Result<(), Error> {
        let path = source.path().to_path_buf();
        let file = path.display().to_string();
        let max = self.read.line_limit();
        let mut lines = Lines::new(source, max);
        while let Some(line) =
            lines.next_line().map_err(|e| Error::Io { path: path.clone(), source: e })?
        {
            if line.is_blank() {
                continue;
            }
            indexer.stats.read += 1;
            if line.too_long {
                let error = RecordError {
                    kind: ErrorKind::TextTooLong,
                    message: format!("line is longer than {max} bytes"),
                    file: file.clone(),
                    line: line.number,
                    field: None,
                };
                let id = default_id(&file, path.as_os_str() == "-", line.number);
                indexer.reject(&id, error)?;
                progress(1);
                continue;
            }
            // A line that is not UTF-8 is a bad record, not the end of the run.
            let text = String::from_utf8_lossy(&line.bytes);
            match IndexRecord::from_json_line(&text) {
                Ok(rec) => {
                    let at = At { file: &file, line: line.number, id_field: names::ID };
                    indexer.add_at(&rec, Some(&at))?;
                }
                Err(reason) => {
                    let e = unindexable_line(&text, reason, &file, line.number);
                    indexer.reject(&e.id, e.error)?;
                }
            }
            progress(1);
        }
        Ok(())
    }

    fn run_raw(
        &self,
        indexer: &mut Indexer,
        source: Source,
        progress: &mut dyn FnMut(u64),
    ) -> Result<(), Error> {
        let reader = crate::io::from_source(source, self.read)?;
        let chunk = self.chunk.max(1);
        let mut items = Vec::with_capacity(chunk);
        let mut summary = Summary::default();
        let id_field = self.read.columns.id.as_str();
        let mut flush = |items: &mut Vec<crate::io::Item>, indexer: &mut Indexer| {
            let outcomes = self.analyzer.analyze_items(items, &mut summary);
            for (o, item) in outcomes.into_iter().zip(items.iter()) {
                indexer.stats.read += 1;
                match o {
                    Outcome::Analysed(a) => {
                        let at = item.as_ref().ok().map(|v| At {
                            file: &v.origin.file,
                            line: v.origin.line,
                            id_field,
                        });
                        if indexer.add_at(&IndexRecord::from_analysis(&a), at.as_ref())?
                            == Added::Indexed
                        {
                            indexer.stats.analysed += 1;
                        }
                    }
                    Outcome::Failed { id, error } => indexer.reject(&id, error)?,
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

/// The error record of a JSONL line that is not an analysed record. An error record of
/// `verbatim analyze` keeps its id and kind, and its message says where the comment was.
fn unindexable_line(line: &str, reason: String, file: &str, line_no: u64) -> ErrorRecord {
    #[derive(Deserialize)]
    struct Probe {
        id: Option<serde_json::Value>,
        error: Option<ProbeError>,
    }
    #[derive(Deserialize)]
    struct ProbeError {
        kind: Option<String>,
        message: Option<String>,
        file: Option<String>,
        line: Option<u64>,
    }
    let probe = serde_json::from_str::<Probe>(line).ok();
    let id = match probe.as_ref().and_then(|p| p.id.as_ref()) {
        Some(serde_json::Value::String(s)) if !s.trim().is_empty() => s.clone(),
        Some(v) if !v.is_string() && !v.is_null() => v.to_string(),
        _ => format!("{file}:{line_no}"),
    };
    let (kind, message) = match probe.and_then(|p| p.error) {
        Some(e) => {
            let kind = e.kind.as_deref().and_then(ErrorKind::from_name);
            let from = match (e.file, e.line) {
                (Some(f), Some(l)) => format!(" at {f}:{l}"),
                _ => String::new(),
            };
            let message = format!(
                "an error record of `verbatim analyze`{from}: {}",
                e.message.unwrap_or_default()
            );
            (kind.unwrap_or(ErrorKind::Malformed), message)
        }
        None => (ErrorKind::Malformed, reason),
    };
    let error = RecordError { kind, message, file: file.to_string(), line: line_no, field: None };
    ErrorRecord { id, error }
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

    /// A hook collecting error records.
    fn collect(w: &mut Indexer) -> Arc<std::sync::Mutex<Vec<ErrorRecord>>> {
        let errors = Arc::new(std::sync::Mutex::new(Vec::new()));
        let sink = Arc::clone(&errors);
        w.on_error(move |e| {
            sink.lock().unwrap().push(e.clone());
            Ok(())
        });
        errors
    }

    fn at<'a>(file: &'a str, line: u64) -> At<'a> {
        At { file, line, id_field: "ref" }
    }

    /// The stored text of the document with this id.
    fn text_of(dir: &Path, id: &str) -> Option<String> {
        use tantivy::schema::Value;
        let res = Arc::new(Resources::embedded().unwrap());
        let index = open_index(dir, &res, false).unwrap();
        let f = Fields::from_schema(&index.schema()).unwrap();
        let searcher = manual_reader(&index).unwrap().searcher();
        let q = TermQuery::new(Term::from_field_text(f.id, id), IndexRecordOption::Basic);
        let top = searcher
            .search(&q, &tantivy::collector::TopDocs::with_limit(2).order_by_score())
            .unwrap();
        assert!(top.len() <= 1, "{id} is one document");
        let doc: TantivyDocument = searcher.doc(top.first()?.1).unwrap();
        doc.get_first(f.text).and_then(|v| v.as_str()).map(str::to_string)
    }

    #[test]
    fn defect_2_repeated_ids_are_counted() {
        let res = Arc::new(Resources::embedded().unwrap());
        for policy in [OnDuplicate::Replace, OnDuplicate::KeepFirst, OnDuplicate::Error] {
            let dir = tempfile::tempdir().unwrap();
            let opts = WriteOptions { on_duplicate: policy, commit_every: 2, ..Default::default() };
            let mut w = Indexer::open(dir.path(), Arc::clone(&res), &opts).unwrap();
            let errors = collect(&mut w);
            let mut added = Vec::new();
            for (id, text, file, line) in [
                ("a", "premier", "x.csv", 3),
                ("b", "autre", "x.csv", 4),
                ("a", "second", "y.csv", 7),
                ("c", "encore", "y.csv", 8),
                ("a", "troisième", "y.csv", 9),
            ] {
                added.push(w.add_at(&record(id, text), Some(&at(file, line))).unwrap());
            }
            let s = w.finish().unwrap();
            assert_eq!(
                (s.repeated, s.repeated_ids, s.docs, s.docs_before),
                (2, 1, 3, 0),
                "{policy:?}"
            );
            assert_eq!(
                s.repeats,
                [Repeat { id: "a".into(), first: "x.csv:3".into(), again: "y.csv:7".into() }]
            );
            let (again, text) = match policy {
                OnDuplicate::Replace => (Added::Indexed, "troisième"),
                OnDuplicate::KeepFirst => (Added::Skipped, "premier"),
                OnDuplicate::Error => (Added::Rejected, "premier"),
            };
            assert_eq!([added[2], added[4]], [again, again], "{policy:?}");
            assert_eq!(text_of(dir.path(), "a").as_deref(), Some(text), "{policy:?}");
            assert_eq!(s.read, 0, "counted by Ingest, not here");
            assert_eq!(s.indexed + s.skipped + s.errors, 5, "every record accounted for");
            let errors = errors.lock().unwrap();
            if policy == OnDuplicate::Error {
                assert_eq!(errors.len(), 2);
                let e = &errors[0];
                assert_eq!((e.id.as_str(), e.error.kind), ("a", ErrorKind::DuplicateId));
                assert_eq!((e.error.file.as_str(), e.error.line), ("y.csv", 7));
                assert_eq!(e.error.field.as_deref(), Some("ref"));
                assert!(e.error.message.contains("x.csv:3"), "{}", e.error.message);
                assert_eq!(s.errors_by_kind.get("duplicate_id"), Some(&2));
            } else {
                assert!(errors.is_empty());
            }
        }
    }

    #[test]
    fn defect_2_growth_is_explained_by_replaced_ids() {
        let dir = tempfile::tempdir().unwrap();
        let res = Arc::new(Resources::embedded().unwrap());
        let opts = WriteOptions::default();
        let mut w = Indexer::open(dir.path(), Arc::clone(&res), &opts).unwrap();
        for id in ["a", "b", "c"] {
            w.add(&record(id, "premier")).unwrap();
        }
        w.finish().unwrap();
        // A second export holding two of the same ids and a new one.
        let mut w = Indexer::open(dir.path(), Arc::clone(&res), &opts).unwrap();
        for id in ["b", "c", "d"] {
            w.add(&record(id, "second")).unwrap();
        }
        let s = w.finish().unwrap();
        assert_eq!((s.docs_before, s.indexed, s.docs, s.replaced), (3, 3, 4, 2));
    }

    #[test]
    fn defect_2_empty_id_is_an_error_record() {
        let dir = tempfile::tempdir().unwrap();
        let res = Arc::new(Resources::embedded().unwrap());
        let mut w = Indexer::open(dir.path(), res, &WriteOptions::default()).unwrap();
        let errors = collect(&mut w);
        assert_eq!(w.add_at(&record("", "vide"), Some(&at("e.csv", 2))).unwrap(), Added::Rejected);
        assert_eq!(
            w.add_at(&record("  ", "blanc"), Some(&at("e.csv", 3))).unwrap(),
            Added::Rejected
        );
        assert_eq!(w.add(&record("", "sans origine")).unwrap(), Added::Rejected);
        assert_eq!(w.add(&record("k", "plein")).unwrap(), Added::Indexed);
        let s = w.finish().unwrap();
        assert_eq!((s.docs, s.indexed, s.errors), (1, 1, 3));
        assert_eq!(s.errors_by_kind.get("missing_field"), Some(&3));
        let errors = errors.lock().unwrap();
        let e = &errors[0];
        assert_eq!(e.id, "e.csv:2", "an empty id is reported by its place");
        assert_eq!(e.error.kind, ErrorKind::MissingField);
        assert_eq!(e.error.field.as_deref(), Some("ref"));
        assert_eq!(errors[2].error.field.as_deref(), Some("id"));
        let json = serde_json::to_value(e).unwrap();
        assert_eq!(json["error"]["kind"], "missing_field", "the shape of analyze's error records");
        assert_eq!(json["error"]["line"], 2);
    }

    #[test]
    fn defect_8_delete_counts_only_existing_ids() {
        let dir = tempfile::tempdir().unwrap();
        let res = Arc::new(Resources::embedded().unwrap());
        let opts = WriteOptions::default();
        let mut w = Indexer::open(dir.path(), Arc::clone(&res), &opts).unwrap();
        w.add(&record("k6", "texte")).unwrap();
        w.add(&record("k7", "texte")).unwrap();
        w.finish().unwrap();
        let mut w = Indexer::open(dir.path(), Arc::clone(&res), &opts).unwrap();
        let deleted: Vec<bool> =
            ["nope1", "nope2", "", "k6", "k6"].iter().map(|id| w.delete(id).unwrap()).collect();
        assert_eq!(deleted, [false, false, false, true, false], "k6 twice counts once");
        // Added in this run, not committed yet: deleting it counts.
        w.add(&record("k8", "nouveau")).unwrap();
        assert!(w.delete("k8").unwrap());
        let s = w.finish().unwrap();
        assert_eq!((s.deleted, s.docs), (2, 1));
    }

    #[test]
    fn defect_8_deleted_text_is_gone_from_the_files() {
        use tantivy::directory::FileSlice;
        use tantivy::directory::footer::Footer;
        use tantivy::schema::document::Document;
        // Long and unique, so that neither compression nor another comment can hide or fake it.
        const SECRET: &str = "Quixotic zephyr wombats juggle seventeen fluorescent kumquats \
                              near Xylophone Lane, flat 4729B";
        let dir = tempfile::tempdir().unwrap();
        let res = Arc::new(Resources::embedded().unwrap());
        let opts = WriteOptions::default();
        let mut w = Indexer::open(dir.path(), Arc::clone(&res), &opts).unwrap();
        for i in 0..50 {
            w.add(&record(&format!("k{i}"), "Livraison en retard, colis abîmé")).unwrap();
        }
        w.add(&record("gdpr", SECRET)).unwrap();
        w.finish().unwrap();
        let files = |dir: &Path| -> Vec<PathBuf> {
            fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect()
        };
        let stores_holding = |dir: &Path| -> usize {
            let mut n = 0;
            for path in files(dir).into_iter().filter(|p| p.extension() == Some("store".as_ref())) {
                // Every file ends with the directory's footer (version, checksum).
                let (_, body) = Footer::extract_footer(FileSlice::open(&path).unwrap()).unwrap();
                let store = tantivy::store::StoreReader::open(body, 1).unwrap();
                // Every document stored, deleted ones included.
                for doc in store.iter::<TantivyDocument>(None) {
                    let doc = doc.unwrap();
                    n += usize::from(doc.to_json(&schema::build()).contains("Quixotic zephyr"));
                }
            }
            n
        };
        assert_eq!(stores_holding(dir.path()), 1, "the test must see the text before");
        let mut w = Indexer::open(dir.path(), Arc::clone(&res), &opts).unwrap();
        assert!(w.delete("gdpr").unwrap());
        w.finish().unwrap();
        assert_eq!(stores_holding(dir.path()), 0, "the deleted text is still in a store file");
        for path in files(dir.path()) {
            let bytes = fs::read(&path).unwrap();
            for needle in ["Xylophone", "kumquats", "gdpr"] {
                assert!(
                    memchr::memmem::find(&bytes, needle.as_bytes()).is_none(),
                    "{needle} in {}",
                    path.display()
                );
            }
        }
        assert_eq!(count(dir.path()), 50);
        assert_eq!(text_of(dir.path(), "k3").as_deref(), Some("Livraison en retard, colis abîmé"));
    }
}
