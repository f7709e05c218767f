//! Loading labelled data: the shared evaluation sets by name ([`Preset`]) and a user's own
//! CSV/TSV file ([`load_labelled_file`]). Both return [`LabelledItem`]s; a user's file also
//! counts the rows it leaves out for want of a label.
//!
//! The shared sets are never copied into the repository (see `shared/data/README.md`); they
//! are read from a data folder, `../shared/data` by default.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use super::EvalError;

/// Where the shared data folder is expected, relative to the working directory.
pub const DEFAULT_DATA_DIR: &str = "../shared/data";

/// The folds a preset can be restricted to; `all` means every labelled row.
pub const FOLDS: [&str; 4] = ["train", "dev", "test", "all"];

/// One labelled text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelledItem {
    /// Row id from the data (`ins-00003`, a tweet id) or the 1-based record number.
    pub id: String,
    /// The text to classify.
    pub text: String,
    /// The gold label (`negative`, `neutral`, `positive` for the sentiment presets).
    pub gold: String,
    /// The language when the data fixes it; `None` lets the caller use a detected language.
    pub lang: Option<String>,
}

/// A named evaluation set from the shared data folder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Preset {
    /// Insurance reviews, French original text, sentiment from stars.
    InsuranceFr,
    /// The same insurance reviews, English machine translation (`text_en_mt`).
    InsuranceEnMt,
    /// Twitter US airline tweets, 3-class sentiment.
    AirlineEn,
}

impl Preset {
    /// Every preset.
    pub const ALL: [Preset; 3] = [Preset::InsuranceFr, Preset::InsuranceEnMt, Preset::AirlineEn];

    /// The name used on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Preset::InsuranceFr => "insurance-fr",
            Preset::InsuranceEnMt => "insurance-en-mt",
            Preset::AirlineEn => "airline-en",
        }
    }

    /// The preset called `name`, if any.
    pub fn from_name(name: &str) -> Option<Preset> {
        Preset::ALL.into_iter().find(|p| p.name() == name)
    }

    /// The language of every text in the preset.
    pub fn lang(self) -> &'static str {
        match self {
            Preset::InsuranceFr => "fr",
            Preset::InsuranceEnMt | Preset::AirlineEn => "en",
        }
    }

    /// The data file inside `data_dir` (usually [`DEFAULT_DATA_DIR`]).
    pub fn default_path(self, data_dir: &Path) -> PathBuf {
        match self {
            Preset::InsuranceFr | Preset::InsuranceEnMt => {
                data_dir.join("insurance-reviews-fr/insurance_reviews_fr.tsv.gz")
            }
            Preset::AirlineEn => data_dir.join("twitter-airline-sentiment/tweets.csv.gz"),
        }
    }

    /// Column names: (text, fold, id), and the field separator.
    fn layout(self) -> (&'static str, &'static str, &'static str, u8) {
        match self {
            Preset::InsuranceFr => ("text_fr", "fold", "id", b'\t'),
            Preset::InsuranceEnMt => ("text_en_mt", "fold", "id", b'\t'),
            Preset::AirlineEn => ("text", "fold", "tweet_id", b','),
        }
    }

    /// The gold label of a row from its raw label field; `Ok(None)` skips the row.
    fn label(self, raw: &str) -> Result<Option<&'static str>, ()> {
        match self {
            // Stars are empty on unlabelled rows: those are not evaluated.
            Preset::InsuranceFr | Preset::InsuranceEnMt => match raw.trim() {
                "" => Ok(None),
                "1" | "2" => Ok(Some("negative")),
                "3" => Ok(Some("neutral")),
                "4" | "5" => Ok(Some("positive")),
                _ => Err(()),
            },
            Preset::AirlineEn => match raw.trim() {
                "negative" => Ok(Some("negative")),
                "neutral" => Ok(Some("neutral")),
                "positive" => Ok(Some("positive")),
                _ => Err(()),
            },
        }
    }

    fn label_column(self) -> &'static str {
        match self {
            Preset::InsuranceFr | Preset::InsuranceEnMt => "stars",
            Preset::AirlineEn => "airline_sentiment",
        }
    }
}

impl FromStr for Preset {
    type Err = EvalError;

    fn from_str(name: &str) -> Result<Preset, EvalError> {
        Preset::from_name(name).ok_or_else(|| EvalError::UnknownPreset {
            name: name.to_owned(),
            known: Preset::ALL.iter().map(|p| p.name().to_owned()).collect(),
        })
    }
}

/// The labelled rows of `preset` read from `path` (see [`Preset::default_path`]), restricted
/// to `fold` (`train`, `dev`, `test` or `all`). Rows without a label are skipped.
pub fn load_preset(
    preset: Preset,
    path: &Path,
    fold: &str,
) -> Result<Vec<LabelledItem>, EvalError> {
    if !FOLDS.contains(&fold) {
        return Err(EvalError::UnknownFold { fold: fold.to_owned() });
    }
    let (text_col, fold_col, id_col, delimiter) = preset.layout();
    let mut table = Table::open(path, delimiter)?;
    let cols = table.columns(&[text_col, preset.label_column(), fold_col, id_col])?;
    let mut items = Vec::new();
    while let Some((line, record)) = table.next_record()? {
        let field = |i: usize| record.get(cols[i]).unwrap_or("");
        if fold != "all" && field(2) != fold {
            continue;
        }
        let raw = field(1);
        let gold = preset.label(raw).map_err(|()| EvalError::BadLabel {
            path: path.into(),
            line,
            value: raw.into(),
        })?;
        if let Some(gold) = gold {
            items.push(LabelledItem {
                id: field(3).to_owned(),
                text: field(0).to_owned(),
                gold: gold.to_owned(),
                lang: Some(preset.lang().to_owned()),
            });
        }
    }
    Ok(items)
}

/// The labelled rows of a user's file, and the rows skipped for want of a label.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelledFile {
    /// The rows with a label.
    pub items: Vec<LabelledItem>,
    /// The rows with an empty label, which were left out.
    pub unlabelled: Unlabelled,
}

/// Rows left out because their label is empty: how many, and where the first ones are.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Unlabelled {
    /// Number of rows.
    pub count: usize,
    /// 1-based lines where the first [`Unlabelled::SHOWN`] of them start.
    pub first_lines: Vec<u64>,
}

impl Unlabelled {
    /// How many line numbers are kept.
    pub const SHOWN: usize = 5;

    fn note(&mut self, line: u64) {
        self.count += 1;
        if self.first_lines.len() < Self::SHOWN {
            self.first_lines.push(line);
        }
    }

    /// Adds the rows left out of another load of the same file (another fold), keeping the
    /// lowest line numbers.
    pub fn merge(&mut self, other: &Unlabelled) {
        self.count += other.count;
        self.first_lines.extend(&other.first_lines);
        self.first_lines.sort_unstable();
        self.first_lines.truncate(Self::SHOWN);
    }
}

impl std::fmt::Display for Unlabelled {
    /// `N rows without a label were skipped (line numbers of the first few: 3, 8)`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let lines: Vec<String> = self.first_lines.iter().map(u64::to_string).collect();
        let (rows, were) = if self.count == 1 { ("row", "was") } else { ("rows", "were") };
        write!(f, "{} {rows} without a label {were} skipped", self.count)?;
        if !lines.is_empty() {
            let few = if self.count == 1 { "line" } else { "line numbers of the first few" };
            write!(f, " ({few}: {})", lines.join(", "))?;
        }
        Ok(())
    }
}

/// The rows of a user's CSV/TSV file (gzip-compressed when the name ends in `.gz`), with a
/// header row. Labels are taken as written (trimmed); rows with an empty label are left out
/// and counted in [`LabelledFile::unlabelled`]. Without `id_col`, the id is the 1-based
/// record number. An empty language field gives `lang: None`.
pub fn load_labelled_file(
    path: &Path,
    text_col: &str,
    label_col: &str,
    lang_col: Option<&str>,
    id_col: Option<&str>,
    delimiter: u8,
) -> Result<LabelledFile, EvalError> {
    load_labelled_fold(
        path,
        &FileColumns { text: text_col, label: label_col, lang: lang_col, id: id_col },
        delimiter,
        None,
    )
}

/// Column names of a user's labelled file.
#[derive(Debug, Clone, Copy)]
pub struct FileColumns<'a> {
    /// The text.
    pub text: &'a str,
    /// The gold label.
    pub label: &'a str,
    /// The language, when the file has one.
    pub lang: Option<&'a str>,
    /// The row id, when the file has one.
    pub id: Option<&'a str>,
}

/// Like [`load_labelled_file`], keeping only the rows whose `fold.0` column equals `fold.1`
/// (files that carry their own train/dev/test split). Unlabelled rows are counted in their
/// fold only.
pub fn load_labelled_fold(
    path: &Path,
    c: &FileColumns<'_>,
    delimiter: u8,
    fold: Option<(&str, &str)>,
) -> Result<LabelledFile, EvalError> {
    let (text_col, label_col, lang_col, id_col) = (c.text, c.label, c.lang, c.id);
    let mut table = Table::open(path, delimiter)?;
    let cols = table.columns(&[text_col, label_col])?;
    let fold_idx = fold.map(|(col, _)| table.columns(&[col])).transpose()?.map(|v| v[0]);
    let lang = lang_col.map(|c| table.columns(&[c])).transpose()?.map(|v| v[0]);
    let id = id_col.map(|c| table.columns(&[c])).transpose()?.map(|v| v[0]);
    let mut items = Vec::new();
    let mut unlabelled = Unlabelled::default();
    let mut n = 0u64;
    while let Some((line, record)) = table.next_record()? {
        n += 1;
        let field = |i: usize| record.get(i).unwrap_or("").trim();
        if let (Some(i), Some((_, want))) = (fold_idx, fold)
            && field(i) != want
        {
            continue;
        }
        let gold = field(cols[1]);
        if gold.is_empty() {
            unlabelled.note(line);
            continue;
        }
        items.push(LabelledItem {
            id: id.map_or_else(|| n.to_string(), |i| field(i).to_owned()),
            text: record.get(cols[0]).unwrap_or("").to_owned(),
            gold: gold.to_owned(),
            lang: lang.map(|i| field(i).to_lowercase()).filter(|l| !l.is_empty()),
        });
    }
    Ok(LabelledFile { items, unlabelled })
}

/// A CSV/TSV reader that remembers its path for error messages.
struct Table {
    path: PathBuf,
    reader: csv::Reader<Box<dyn Read>>,
    record: csv::StringRecord,
}

impl Table {
    fn open(path: &Path, delimiter: u8) -> Result<Table, EvalError> {
        let file = File::open(path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => EvalError::DataMissing { path: path.into() },
            _ => EvalError::Io { path: path.into(), source: e },
        })?;
        let input: Box<dyn Read> = if path.extension().is_some_and(|e| e == "gz") {
            // Multi-member aware: `cat a.gz b.gz` files are valid gzip too.
            Box::new(flate2::read::MultiGzDecoder::new(std::io::BufReader::new(file)))
        } else {
            Box::new(file)
        };
        // `flexible(false)`: a row with the wrong number of fields means the quoting is off,
        // and silently shifted columns would corrupt the evaluation.
        let reader =
            csv::ReaderBuilder::new().delimiter(delimiter).flexible(false).from_reader(input);
        Ok(Table { path: path.into(), reader, record: csv::StringRecord::new() })
    }

    /// Indices of `names` in the header row.
    fn columns(&mut self, names: &[&str]) -> Result<Vec<usize>, EvalError> {
        let headers = self.reader.headers().map_err(|e| csv_error(&self.path, e))?.clone();
        names
            .iter()
            .map(|name| {
                headers.iter().position(|h| h.trim() == *name).ok_or_else(|| {
                    EvalError::MissingColumn {
                        path: self.path.clone(),
                        column: (*name).to_owned(),
                        available: headers.iter().map(str::to_owned).collect(),
                    }
                })
            })
            .collect()
    }

    /// The next record and the line it starts on, or `None` at the end.
    fn next_record(&mut self) -> Result<Option<(u64, &csv::StringRecord)>, EvalError> {
        match self.reader.read_record(&mut self.record) {
            Ok(true) => {
                let line = self.record.position().map_or(0, csv::Position::line);
                Ok(Some((line, &self.record)))
            }
            Ok(false) => Ok(None),
            Err(e) => Err(csv_error(&self.path, e)),
        }
    }
}

/// Splits csv errors into I/O failures (e.g. a truncated gzip stream) and malformed rows.
fn csv_error(path: &Path, e: csv::Error) -> EvalError {
    let line = e.position().map_or(0, csv::Position::line);
    let message = e.to_string();
    match e.into_kind() {
        csv::ErrorKind::Io(source) => EvalError::Io { path: path.into(), source },
        _ => EvalError::Csv { path: path.into(), line, message },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;
    use std::io::Write;

    /// The shared data folder: `VERBATIM_DATA_DIR`, else `../shared/data` next to the crate.
    fn data_dir() -> Option<PathBuf> {
        let dir = std::env::var_os("VERBATIM_DATA_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join(DEFAULT_DATA_DIR));
        if dir.is_dir() {
            Some(dir)
        } else {
            eprintln!(
                "skipped: shared data not found at {} (set VERBATIM_DATA_DIR)",
                dir.display()
            );
            None
        }
    }

    /// Loads a preset fold, or `None` (with a message) when the data is absent.
    fn load(preset: Preset, fold: &str) -> Option<Vec<LabelledItem>> {
        let path = preset.default_path(&data_dir()?);
        match load_preset(preset, &path, fold) {
            Ok(items) => Some(items),
            Err(e @ EvalError::DataMissing { .. }) => {
                eprintln!("skipped: {e}");
                None
            }
            Err(e) => panic!("loading {} {fold}: {e}", preset.name()),
        }
    }

    fn label_counts(items: &[LabelledItem]) -> BTreeMap<&str, usize> {
        let mut counts = BTreeMap::new();
        for item in items {
            *counts.entry(item.gold.as_str()).or_insert(0) += 1;
        }
        counts
    }

    /// A temporary file name unique to this test process.
    fn temp_path(name: &str) -> PathBuf {
        std::env::temp_dir().join(format!("verbatim-eval-{}-{name}", std::process::id()))
    }

    #[test]
    fn names_round_trip() {
        for p in Preset::ALL {
            assert_eq!(Preset::from_name(p.name()), Some(p));
            assert_eq!(p.name().parse::<Preset>().ok(), Some(p));
        }
        assert!(matches!("imdb".parse::<Preset>(), Err(EvalError::UnknownPreset { .. })));
    }

    #[test]
    fn default_paths() {
        let dir = Path::new(DEFAULT_DATA_DIR);
        assert!(
            Preset::AirlineEn
                .default_path(dir)
                .ends_with("twitter-airline-sentiment/tweets.csv.gz")
        );
        assert_eq!(Preset::InsuranceFr.default_path(dir), Preset::InsuranceEnMt.default_path(dir));
    }

    #[test]
    fn missing_dataset_is_reported_as_such() {
        let err = load_preset(Preset::AirlineEn, Path::new("/nonexistent/tweets.csv.gz"), "test");
        let Err(e @ EvalError::DataMissing { .. }) = err else { panic!("expected DataMissing") };
        assert!(e.to_string().contains("/nonexistent/tweets.csv.gz"));
    }

    #[test]
    fn unknown_fold_is_rejected() {
        let err = load_preset(Preset::AirlineEn, Path::new("x"), "validation");
        assert!(matches!(err, Err(EvalError::UnknownFold { .. })));
    }

    #[test]
    fn insurance_test_fold_counts() {
        let Some(items) = load(Preset::InsuranceFr, "test") else { return };
        assert_eq!(items.len(), 4798);
        let counts = label_counts(&items);
        assert_eq!(counts["negative"], 1475 + 720);
        assert_eq!(counts["neutral"], 658);
        assert_eq!(counts["positive"], 988 + 957);
        assert_eq!(items[0].lang.as_deref(), Some("fr"));
        assert!(items.iter().all(|i| i.id.starts_with("ins-")));
    }

    #[test]
    fn insurance_en_mt_dev_fold() {
        let Some(items) = load(Preset::InsuranceEnMt, "dev") else { return };
        assert_eq!(items.len(), 2418);
        assert_eq!(items[0].lang.as_deref(), Some("en"));
    }

    #[test]
    fn airline_test_fold_counts() {
        let Some(items) = load(Preset::AirlineEn, "test") else { return };
        assert_eq!(items.len(), 2901);
        let counts = label_counts(&items);
        assert_eq!((counts["negative"], counts["neutral"], counts["positive"]), (1822, 619, 460));
    }

    #[test]
    fn user_file_with_quotes_newlines_and_gzip() {
        let path = temp_path("user.tsv.gz");
        let tsv = "id\tlang\ttexte\tlabel\n\
                   a1\tFR\t\"Très bien,\nmerci\"\tpositive\n\
                   a2\t\tbad\tnegative\n\
                   a3\ten\tno label\t\n";
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(tsv.as_bytes()).expect("in-memory write");
        std::fs::write(&path, gz.finish().expect("in-memory gzip")).expect("temp file");
        let items = load_labelled_file(&path, "texte", "label", Some("lang"), Some("id"), b'\t');
        std::fs::remove_file(&path).ok();
        let file = items.expect("valid file loads");
        assert_eq!(file.unlabelled.count, 1);
        assert_eq!(file.unlabelled.first_lines, [5], "a3 starts on line 5 (a1's text spans two)");
        let items = file.items;
        assert_eq!(items.len(), 2);
        assert_eq!(items[0].text, "Très bien,\nmerci");
        assert_eq!(items[0].lang.as_deref(), Some("fr"));
        assert_eq!((items[1].id.as_str(), items[1].lang.as_deref()), ("a2", None));
    }

    #[test]
    fn unlabelled_rows_are_described_and_merged() {
        let mut u = Unlabelled::default();
        for line in [9, 4, 30, 31, 32, 33] {
            u.note(line);
        }
        let mut other = Unlabelled::default();
        other.note(2);
        u.merge(&other);
        assert_eq!(u.count, 7);
        assert_eq!(u.first_lines, [2, 4, 9, 30, 31]);
        assert_eq!(
            u.to_string(),
            "7 rows without a label were skipped (line numbers of the first few: 2, 4, 9, 30, 31)"
        );
        assert_eq!(other.to_string(), "1 row without a label was skipped (line: 2)");
    }

    #[test]
    fn user_file_errors_name_the_problem() {
        let path = temp_path("bad.csv");
        std::fs::write(&path, "text,label\nok,positive\ntoo,many,fields\n").expect("temp file");
        let missing = load_labelled_file(&path, "comment", "label", None, None, b',');
        let ragged = load_labelled_file(&path, "text", "label", None, None, b',');
        std::fs::remove_file(&path).ok();
        match missing {
            Err(EvalError::MissingColumn { column, available, .. }) => {
                assert_eq!(column, "comment");
                assert_eq!(available, ["text", "label"]);
            }
            other => panic!("expected MissingColumn, got {other:?}"),
        }
        assert!(matches!(ragged, Err(EvalError::Csv { line: 3, .. })), "{ragged:?}");
    }

    #[test]
    fn bad_star_value_is_a_bad_label() {
        let path = temp_path("ins.tsv");
        let head = "id\tfold\tstars\tinsurer\tproduct\tdate_publication\ttext_fr\ttext_en_mt\n";
        std::fs::write(&path, format!("{head}ins-1\ttest\t6\tX\tauto\t01/01/2020\tbof\tmeh\n"))
            .expect("temp file");
        let err = load_preset(Preset::InsuranceFr, &path, "test");
        std::fs::remove_file(&path).ok();
        assert!(matches!(err, Err(EvalError::BadLabel { line: 2, ref value, .. }) if value == "6"));
    }
}
