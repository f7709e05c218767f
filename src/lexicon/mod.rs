//! The data verbatim decides with: lexicons, taxonomy, modes and churn cues, loaded from the
//! plain files in `lexicons/` (embedded at build time as the default), validated, and compiled
//! into one cue matcher per language.

mod config;
mod lint;
pub(crate) mod matcher;
mod pattern;
mod tsv;

use std::borrow::Cow;
use std::path::{Path, PathBuf};

use rustc_hash::{FxHashMap, FxHashSet};

pub use config::{Bilingual, ChurnLevels, ModeScoring, Scoring, Thresholds};
use config::{ChurnFile, FamiliesFile, ModesFile, SentimentConfig, TaxonomyFile};
pub use lint::DataWarning;
use lint::{CueSyntax, Repeats};
use matcher::{CueMatcher, Pattern, WordPat};

use crate::analysis::Lang;
use crate::error::Error;
use crate::tokenize::Stemmers;

/// The files of a lexicon set, relative to the lexicon directory, with their embedded defaults.
const FILES: &[(&str, &str)] = &[
    ("sentiment/fr.tsv", include_str!("../../lexicons/sentiment/fr.tsv")),
    ("sentiment/en.tsv", include_str!("../../lexicons/sentiment/en.tsv")),
    ("curated/sentiment_fr.tsv", include_str!("../../lexicons/curated/sentiment_fr.tsv")),
    ("curated/sentiment_en.tsv", include_str!("../../lexicons/curated/sentiment_en.tsv")),
    ("modifiers/fr.tsv", include_str!("../../lexicons/modifiers/fr.tsv")),
    ("modifiers/en.tsv", include_str!("../../lexicons/modifiers/en.tsv")),
    ("stopwords/fr.txt", include_str!("../../lexicons/stopwords/fr.txt")),
    ("stopwords/en.txt", include_str!("../../lexicons/stopwords/en.txt")),
    ("langid/fr.txt", include_str!("../../lexicons/langid/fr.txt")),
    ("langid/en.txt", include_str!("../../lexicons/langid/en.txt")),
    ("sentiment.toml", include_str!("../../lexicons/sentiment.toml")),
    ("taxonomy.toml", include_str!("../../lexicons/taxonomy.toml")),
    ("modes.toml", include_str!("../../lexicons/modes.toml")),
    ("churn.toml", include_str!("../../lexicons/churn.toml")),
    ("families.toml", include_str!("../../lexicons/families.toml")),
];

/// Where to load data from. The default is the embedded copy of `lexicons/`.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// A directory laid out like `lexicons/`: each file present there replaces the embedded one.
    pub dir: Option<PathBuf>,
    /// A taxonomy file replacing the default themes.
    pub taxonomy: Option<PathBuf>,
}

/// One data file in use: which of the lexicon files it is, and where it was read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataFile {
    /// Its name in the lexicon layout (`sentiment/fr.tsv`, `taxonomy.toml`…).
    pub name: &'static str,
    /// The file that replaced the embedded default, if one did.
    pub path: Option<PathBuf>,
}

impl std::fmt::Display for DataFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.path {
            Some(p) => write!(f, "{}", p.display()),
            None => write!(f, "lexicons/{}", self.name),
        }
    }
}

/// A loaded data file: its text and where it came from.
struct Source {
    /// How errors and warnings name it: the override path, or `lexicons/NAME`.
    name: String,
    file: DataFile,
    text: Cow<'static, str>,
}

fn source(name: &str, opts: &LoadOptions) -> Result<Source, Error> {
    let Some(&(name, default)) = FILES.iter().find(|(n, _)| *n == name) else {
        return Err(Error::data(format!("lexicons/{name}"), 0, "not a lexicon file"));
    };
    let override_path = if name == "taxonomy.toml" && opts.taxonomy.is_some() {
        opts.taxonomy.clone()
    } else {
        opts.dir.as_ref().map(|d| d.join(name)).filter(|p| p.exists())
    };
    let (text, path) = match override_path {
        Some(path) => (Cow::Owned(read_file(&path)?), Some(path)),
        None => (Cow::Borrowed(default), None),
    };
    let file = DataFile { name, path };
    Ok(Source { name: file.to_string(), file, text })
}

/// A wrong path is an error, not a silent fall-back to the embedded data: a typo in
/// `--lexicons` would otherwise run the defaults and `check` would say ok.
fn check_paths(opts: &LoadOptions) -> Result<(), Error> {
    let wrong = |path: &Path, message: &str| Error::Io {
        path: path.to_path_buf(),
        source: std::io::Error::new(std::io::ErrorKind::InvalidInput, message.to_string()),
    };
    if let Some(dir) = &opts.dir {
        let meta = std::fs::metadata(dir).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => {
                wrong(dir, "no such lexicon directory (expected a folder laid out like lexicons/)")
            }
            _ => Error::Io { path: dir.clone(), source: e },
        })?;
        if !meta.is_dir() {
            return Err(wrong(
                dir,
                "is a file, not a lexicon directory (expected a folder laid out like lexicons/; \
                 a taxonomy file goes to --taxonomy)",
            ));
        }
    }
    if let Some(file) = &opts.taxonomy {
        let meta = std::fs::metadata(file).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => wrong(file, "no such taxonomy file"),
            _ => Error::Io { path: file.clone(), source: e },
        })?;
        if meta.is_dir() {
            return Err(wrong(file, "is a directory, not a taxonomy file (a TOML file)"));
        }
    }
    Ok(())
}

/// Warnings about the lexicon directory itself: it replaces nothing, or holds files that are
/// not read (a misspelt name silently keeps the default).
fn dir_warnings(dir: &Path, used: &[DataFile], warnings: &mut Vec<DataWarning>) {
    if !used.iter().any(|f| f.path.as_ref() == Some(&dir.join(f.name))) {
        let names: Vec<&str> = FILES.iter().map(|(n, _)| *n).collect();
        warnings.push(DataWarning {
            file: dir.display().to_string(),
            line: 0,
            message: format!(
                "holds none of the lexicon files, so every built-in default is used (the \
                 names it is searched for: {})",
                names.join(", ")
            ),
        });
    }
    for name in unread_files(dir) {
        warnings.push(DataWarning {
            file: dir.join(&name).display().to_string(),
            line: 0,
            message: "not a lexicon file, not read (lexicons/README.md lists the file names)"
                .into(),
        });
    }
}

/// Data-looking files of `dir` (and of its lexicon subfolders) that are not lexicon files.
/// Documentation (`*.md`) and hidden files are fine.
fn unread_files(dir: &Path) -> Vec<String> {
    let mut folders: Vec<&str> = vec![""];
    for (name, _) in FILES {
        if let Some((folder, _)) = name.split_once('/')
            && !folders.contains(&folder)
        {
            folders.push(folder);
        }
    }
    let mut out = Vec::new();
    for folder in folders {
        let Ok(entries) = std::fs::read_dir(dir.join(folder)) else { continue };
        for entry in entries.flatten() {
            let file_name = entry.file_name().to_string_lossy().into_owned();
            let name =
                if folder.is_empty() { file_name.clone() } else { format!("{folder}/{file_name}") };
            let is_file = entry.file_type().is_ok_and(|t| t.is_file());
            if is_file
                && !file_name.starts_with('.')
                && !file_name.ends_with(".md")
                && !FILES.iter().any(|(n, _)| *n == name)
            {
                out.push(name);
            }
        }
    }
    out.sort();
    out
}

fn read_file(path: &Path) -> Result<String, Error> {
    let bytes =
        std::fs::read(path).map_err(|e| Error::Io { path: path.to_path_buf(), source: e })?;
    String::from_utf8(bytes).map_err(|e| {
        let line = bytes_line(e.as_bytes(), e.utf8_error().valid_up_to());
        Error::data(path.display().to_string(), line, "file is not valid UTF-8")
    })
}

fn bytes_line(bytes: &[u8], pos: usize) -> usize {
    bytes[..pos].iter().filter(|&&b| b == b'\n').count() + 1
}

/// What a cue means when it matches.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Cue {
    /// A word or phrase with a valence (−4…4).
    Sentiment(f32),
    /// A negator, intensifier or contrast word.
    Modifier(Modifier),
    /// Mentions theme `n` of the taxonomy.
    Theme(u16),
    /// Points to mode `n` with a weight.
    Mode(u8, f32),
    /// Points to churn reason `n` with a weight.
    Churn(u8, f32),
    /// A pattern of cue family `family` (`families.toml`); `pattern` indexes the patterns'
    /// texts as written, across languages.
    Family { family: u16, pattern: u32 },
}

/// Kinds of modifier words (see `lexicons/README.md`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Modifier {
    /// Negates the next `scope` words of the clause.
    Negator { scope: u8 },
    /// Negates only when a French `ne` opens it.
    NegatorAfterNe { scope: u8 },
    /// French `ne`: looks ahead `gap` words for its negator.
    Ne { gap: u8 },
    /// Multiplies the next sentiment word (intensifier > 1, diminisher < 1).
    Scale(f32),
    /// Re-weights the sentence around it: `after` for what follows.
    Contrast { after: f32 },
}

/// A theme of the taxonomy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Theme {
    /// Stable id.
    pub id: String,
    /// Parent id, for hierarchical facets.
    pub parent: Option<String>,
    /// Labels.
    pub label: Bilingual<String>,
    /// Descriptions.
    pub description: Bilingual<String>,
    /// Example comments.
    pub examples: Bilingual<Vec<String>>,
}

impl Theme {
    /// The label in `lang` (French for `und`).
    pub fn label_in(&self, lang: Lang) -> &str {
        match lang {
            Lang::En => &self.label.en,
            _ => &self.label.fr,
        }
    }
}

/// A churn reason.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ChurnReason {
    pub id: String,
}

/// A cue family of `families.toml`: an implicit irritant or an implicit praise.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Family {
    pub id: String,
    /// Valence one match carries into the tone (signed by the family's polarity).
    pub valence: f32,
    /// The churn reason (index in `churn_reasons`) it feeds, with its weight.
    pub churn: Option<(u8, f32)>,
}

/// Everything the analyser needs, loaded and compiled. Build once, share across threads.
pub struct Resources {
    pub(crate) scoring: Scoring,
    thresholds: [Thresholds; 3],
    pub(crate) span_thresholds: Thresholds,
    pub(crate) themes: Vec<Theme>,
    pub(crate) modes: Vec<String>,
    pub(crate) mode_scoring: ModeScoring,
    /// Valence per mode (indexed like `modes`) carried by mode cues into the tone.
    pub(crate) mode_valence: Vec<f32>,
    pub(crate) churn_reasons: Vec<ChurnReason>,
    /// Valence per churn reason (indexed like `churn_reasons`) carried into the tone.
    pub(crate) churn_valence: Vec<f32>,
    pub(crate) churn_levels: ChurnLevels,
    pub(crate) churn_tone: config::ChurnTone,
    pub(crate) families: Vec<Family>,
    /// Each family pattern as written in the file (indexed by `Cue::Family::pattern`).
    pub(crate) family_patterns: Vec<String>,
    langs: [LangLexicon; 3],
    langid: [FxHashSet<String>; 2],
    stopwords: [FxHashSet<String>; 2],
    pub(crate) stemmers: Stemmers,
    sources: Vec<DataFile>,
    warnings: Vec<DataWarning>,
}

/// The compiled cues of one language.
pub(crate) struct LangLexicon {
    pub matcher: CueMatcher<Cue>,
    /// Valence by Snowball stem, for words not listed as such.
    pub stems: FxHashMap<String, f32>,
}

fn lang_index(lang: Lang) -> usize {
    match lang {
        Lang::Fr => 0,
        Lang::En => 1,
        Lang::Und => 2,
    }
}

impl Resources {
    /// The embedded default lexicons and taxonomy.
    pub fn embedded() -> Result<Resources, Error> {
        Resources::load(&LoadOptions::default())
    }

    /// Loads and validates every data file, with the overrides in `opts`.
    pub fn load(opts: &LoadOptions) -> Result<Resources, Error> {
        check_paths(opts)?;
        let get = |name: &str| source(name, opts);
        let sent_src = get("sentiment.toml")?;
        let sent: SentimentConfig = config::parse(&sent_src.name, &sent_src.text)?;
        let thresholds = thresholds(&sent_src.name, &sent)?;
        let tax_src = get("taxonomy.toml")?;
        let tax: TaxonomyFile = config::parse(&tax_src.name, &tax_src.text)?;
        let modes_src = get("modes.toml")?;
        let modes: ModesFile = config::parse(&modes_src.name, &modes_src.text)?;
        let churn_src = get("churn.toml")?;
        let churn: ChurnFile = config::parse(&churn_src.name, &churn_src.text)?;
        let fam_src = get("families.toml")?;
        let fam: FamiliesFile = config::parse(&fam_src.name, &fam_src.text)?;
        check_version(&fam_src.name, fam.version)?;
        check_version(&sent_src.name, sent.version)?;
        check_version(&tax_src.name, tax.version)?;
        check_version(&modes_src.name, modes.version)?;
        check_version(&churn_src.name, churn.version)?;
        let themes = validate_taxonomy(&tax_src, &tax)?;
        validate_modes(&modes_src, &modes)?;
        validate_churn(&churn_src, &churn)?;
        if let Some(unknown) =
            sent.mode_valence.keys().find(|k| !modes.modes.iter().any(|m| m.id.get_ref() == *k))
        {
            return Err(Error::data(
                &sent_src.name,
                0,
                format!("[mode_valence]: unknown mode `{unknown}`"),
            ));
        }

        let stemmers = Stemmers::default();
        let mut sources = vec![
            sent_src.file.clone(),
            tax_src.file.clone(),
            modes_src.file.clone(),
            churn_src.file.clone(),
            fam_src.file.clone(),
        ];
        let mut warnings = Vec::new();
        let families = {
            let mut found = Found { sources: &mut Vec::new(), warnings: &mut warnings, lint: true };
            compile_families(&fam_src, &fam, &churn, &mut found)?
        };
        let toml_cues = (&tax_src, &tax, &modes_src, &modes, &churn_src, &churn);
        let build = |langs: &[Lang], found: &mut Found| -> Result<LangLexicon, Error> {
            let mut b = LexiconBuilder::default();
            for &lang in langs {
                b.add_lang(lang, &get, found)?;
                b.add_toml_cues(lang, toml_cues, found)?;
                for (pat, cue) in &families.cues[lang_index(lang)] {
                    b.matcher.add(pat.clone(), *cue);
                }
            }
            // `und` compiles both languages, French first: English overrides shared words.
            let stem_lang = if langs.len() == 1 { langs[0] } else { Lang::Und };
            Ok(b.finish(stem_lang, &stemmers))
        };
        let mut found = Found { sources: &mut sources, warnings: &mut warnings, lint: true };
        let fr = build(&[Lang::Fr], &mut found)?;
        let en = build(&[Lang::En], &mut found)?;
        // The same files again: their sources and warnings are already noted.
        let (mut again, mut said) = (Vec::new(), Vec::new());
        let mut found = Found { sources: &mut again, warnings: &mut said, lint: false };
        let und = build(&[Lang::Fr, Lang::En], &mut found)?;
        let langs = [fr, en, und];

        let mut word_set = |name: &str| -> Result<FxHashSet<String>, Error> {
            let s = get(name)?;
            let lines = tsv::lines(&s.name, &s.text, 1)?;
            let set = lines.iter().map(|l| matcher::fold_term(l.cols[0])).collect();
            sources.push(s.file);
            Ok(set)
        };
        let langid = [word_set("langid/fr.txt")?, word_set("langid/en.txt")?];
        let stopwords = [word_set("stopwords/fr.txt")?, word_set("stopwords/en.txt")?];
        if let Some(dir) = &opts.dir {
            dir_warnings(dir, &sources, &mut warnings);
        }
        // By file, then line: each language's pass adds its own cues of the same TOML file.
        warnings.sort_by(|a, b| (&a.file, a.line).cmp(&(&b.file, b.line)));
        Ok(Resources {
            scoring: sent.scoring,
            thresholds,
            span_thresholds: sent.span_thresholds,
            themes,
            modes: modes.modes.iter().map(|m| m.id.get_ref().clone()).collect(),
            mode_valence: modes
                .modes
                .iter()
                .map(|m| sent.mode_valence.get(m.id.get_ref()).copied().unwrap_or(0.0))
                .collect(),
            mode_scoring: modes.scoring,
            churn_valence: churn
                .reasons
                .iter()
                .map(|r| sent.churn_valence.get(r.id.get_ref()).copied().unwrap_or(0.0))
                .collect(),
            churn_reasons: churn
                .reasons
                .iter()
                .map(|r| ChurnReason { id: r.id.get_ref().clone() })
                .collect(),
            churn_levels: churn.levels,
            churn_tone: churn.tone,
            families: families.families,
            family_patterns: families.texts,
            langs,
            langid,
            stopwords,
            stemmers,
            sources,
            warnings,
        })
    }

    pub(crate) fn lexicon(&self, lang: Lang) -> &LangLexicon {
        &self.langs[lang_index(lang)]
    }

    /// Label thresholds for `lang`.
    pub fn thresholds(&self, lang: Lang) -> Thresholds {
        self.thresholds[lang_index(lang)]
    }

    /// Replaces the label thresholds of `lang` (used by `eval --sweep`).
    pub fn set_thresholds(&mut self, lang: Lang, t: Thresholds) {
        self.thresholds[lang_index(lang)] = t;
    }

    /// Is `key` (accent-folded) a French (`Fr`) or English (`En`) function word?
    pub(crate) fn is_function_word(&self, lang: Lang, key: &str) -> bool {
        match lang {
            Lang::Fr => self.langid[0].contains(key),
            Lang::En => self.langid[1].contains(key),
            Lang::Und => false,
        }
    }

    /// Does `lang`'s lexicon have a cue starting with the word `key` (accent-folded)?
    pub(crate) fn knows_word(&self, lang: Lang, key: &str) -> bool {
        self.langs[lang_index(lang)].matcher.starts_with_word(key)
    }

    /// Is `key` (accent-folded) a stop word of `lang`?
    pub fn is_stopword(&self, lang: Lang, key: &str) -> bool {
        match lang {
            Lang::Fr => self.stopwords[0].contains(key),
            Lang::En => self.stopwords[1].contains(key),
            Lang::Und => self.stopwords[0].contains(key) || self.stopwords[1].contains(key),
        }
    }

    /// The taxonomy's themes.
    pub fn themes(&self) -> &[Theme] {
        &self.themes
    }

    /// The data files in use, each embedded or read from an override path.
    pub fn sources(&self) -> &[DataFile] {
        &self.sources
    }

    /// What in the data files loads but looks like a mistake (a cue written like a regular
    /// expression, a repeated term), by file and line. None of it stops a run.
    pub fn warnings(&self) -> &[DataWarning] {
        &self.warnings
    }

    /// Number of cues compiled for `lang`.
    pub fn cue_count(&self, lang: Lang) -> usize {
        self.langs[lang_index(lang)].matcher.len()
    }
}

fn check_version(file: &str, v: u32) -> Result<(), Error> {
    if v != 1 {
        return Err(Error::data(
            file,
            0,
            format!("unsupported version {v} (this build reads version 1)"),
        ));
    }
    Ok(())
}

fn thresholds(file: &str, s: &SentimentConfig) -> Result<[Thresholds; 3], Error> {
    let get = |code: &str| -> Result<Thresholds, Error> {
        let t = s
            .thresholds
            .get(code)
            .copied()
            .ok_or_else(|| Error::data(file, 0, format!("missing [thresholds.{code}]")))?;
        if t.negative > t.positive {
            return Err(Error::data(
                file,
                0,
                format!("[thresholds.{code}]: negative must be <= positive"),
            ));
        }
        Ok(t)
    };
    Ok([get("fr")?, get("en")?, get("und")?])
}

fn cue_error(src: &Source, span: std::ops::Range<usize>, message: String) -> Error {
    Error::data(&src.name, config::line_of(&src.text, span.start), message)
}

fn validate_taxonomy(src: &Source, tax: &TaxonomyFile) -> Result<Vec<Theme>, Error> {
    let mut seen = FxHashSet::default();
    for t in &tax.themes {
        let id = t.id.get_ref();
        if !is_id(id) {
            return Err(cue_error(
                src,
                t.id.span(),
                format!("theme id `{id}` must be snake_case (a-z, 0-9, _)"),
            ));
        }
        if !seen.insert(id.clone()) {
            return Err(cue_error(src, t.id.span(), format!("duplicate theme id `{id}`")));
        }
        if t.cues.fr.is_empty() && t.cues.en.is_empty() {
            return Err(cue_error(src, t.id.span(), format!("theme `{id}` has no cues")));
        }
    }
    for t in &tax.themes {
        if let Some(p) = &t.parent {
            if !seen.contains(p.get_ref()) {
                return Err(cue_error(
                    src,
                    p.span(),
                    format!("unknown parent theme `{}`", p.get_ref()),
                ));
            }
            // Walk up: a cycle would loop forever in facet paths.
            let mut cur = Some(p.get_ref().clone());
            let mut steps = 0;
            while let Some(c) = cur {
                if c == *t.id.get_ref() || steps > tax.themes.len() {
                    return Err(cue_error(
                        src,
                        p.span(),
                        format!("theme `{}` is its own ancestor", t.id.get_ref()),
                    ));
                }
                cur = tax
                    .themes
                    .iter()
                    .find(|x| *x.id.get_ref() == c)
                    .and_then(|x| x.parent.as_ref().map(|p| p.get_ref().clone()));
                steps += 1;
            }
        }
    }
    if tax.themes.is_empty() {
        return Err(Error::data(&src.name, 0, "the taxonomy defines no [[theme]]"));
    }
    Ok(tax
        .themes
        .iter()
        .map(|t| Theme {
            id: t.id.get_ref().clone(),
            parent: t.parent.as_ref().map(|p| p.get_ref().clone()),
            label: t.label.clone(),
            description: t.description.clone(),
            examples: t.examples.clone(),
        })
        .collect())
}

fn validate_modes(src: &Source, modes: &ModesFile) -> Result<(), Error> {
    let mut seen = FxHashSet::default();
    for m in &modes.modes {
        if !is_id(m.id.get_ref()) || !seen.insert(m.id.get_ref().clone()) {
            return Err(cue_error(
                src,
                m.id.span(),
                format!("mode id `{}` is invalid or repeated", m.id.get_ref()),
            ));
        }
    }
    if modes.modes.is_empty() || modes.modes.len() > 250 {
        return Err(Error::data(&src.name, 0, "between 1 and 250 [[mode]] entries are needed"));
    }
    Ok(())
}

fn validate_churn(src: &Source, churn: &ChurnFile) -> Result<(), Error> {
    let l = churn.levels;
    if !(0.0 < l.low && l.low <= l.medium && l.medium <= l.high && l.high <= 1.0) {
        return Err(Error::data(
            &src.name,
            0,
            "[levels] must satisfy 0 < low <= medium <= high <= 1",
        ));
    }
    let mut seen = FxHashSet::default();
    for r in &churn.reasons {
        if !is_id(r.id.get_ref()) || !seen.insert(r.id.get_ref().clone()) {
            return Err(cue_error(
                src,
                r.id.span(),
                format!("reason id `{}` is invalid or repeated", r.id.get_ref()),
            ));
        }
        if !(0.0..=1.0).contains(&r.weight) {
            return Err(cue_error(
                src,
                r.id.span(),
                format!("reason `{}`: weight must be in [0, 1]", r.id.get_ref()),
            ));
        }
    }
    if churn.reasons.len() > 250 {
        return Err(Error::data(&src.name, 0, "at most 250 [[reason]] entries"));
    }
    Ok(())
}

/// The families of `families.toml`, validated, with each language's compiled cues.
struct CompiledFamilies {
    families: Vec<Family>,
    texts: Vec<String>,
    /// French and English cues (indexed like `lang_index`).
    cues: [Vec<(Pattern, Cue)>; 2],
}

fn compile_families(
    src: &Source,
    file: &FamiliesFile,
    churn: &ChurnFile,
    found: &mut Found<'_>,
) -> Result<CompiledFamilies, Error> {
    let syntax = match file.syntax.get_ref().as_str() {
        "pattern" => CueSyntax::Pattern,
        "plain" => CueSyntax::Plain,
        other => {
            return Err(cue_error(
                src,
                file.syntax.span(),
                format!("syntax `{other}`: expected `pattern` or `plain`"),
            ));
        }
    };
    let mut out =
        CompiledFamilies { families: Vec::new(), texts: Vec::new(), cues: [vec![], vec![]] };
    let mut seen = FxHashSet::default();
    for f in &file.families {
        out.families.push(validate_family(src, f, churn, &mut seen)?);
        if f.patterns.fr.is_empty() && f.patterns.en.is_empty() {
            let message = format!("family `{}` has no patterns", f.id.get_ref());
            return Err(cue_error(src, f.id.span(), message));
        }
    }
    for (li, lang) in [Lang::Fr, Lang::En].into_iter().enumerate() {
        let code = lang.as_str();
        let defs = if lang == Lang::En { &file.classes.en } else { &file.classes.fr };
        let mut classes = pattern::Classes::default();
        // In the order of the file: a class may use those defined above it.
        let mut defs: Vec<_> = defs.iter().collect();
        defs.sort_by_key(|(_, def)| def.span().start);
        for (name, def) in defs {
            classes.define(name, def.get_ref()).map_err(|e| {
                cue_error(src, def.span(), format!("[classes.{code}] `{name}`: {e}"))
            })?;
        }
        for (fi, f) in file.families.iter().enumerate() {
            let list = format!("family `{}` ({code})", f.id.get_ref());
            let mut lint = ListLint::new(src, found);
            lint.syntax = syntax;
            let pats = if lang == Lang::En { &f.patterns.en } else { &f.patterns.fr };
            for p in pats {
                let text = p.get_ref();
                let variants = match syntax {
                    CueSyntax::Pattern => pattern::parse(text, &classes).map_err(|e| {
                        cue_error(src, p.span(), format!("{list}, pattern `{text}`: {e}"))
                    })?,
                    CueSyntax::Plain => vec![
                        Pattern::parse(text)
                            .map_err(|m| cue_error(src, p.span(), format!("{list}: {m}")))?,
                    ],
                };
                lint.cues(&list, text, &variants, p.span().start, "it adds nothing");
                let cue = Cue::Family { family: fi as u16, pattern: out.texts.len() as u32 };
                out.texts.push(text.clone());
                out.cues[li].extend(variants.into_iter().map(|v| (v, cue)));
            }
        }
    }
    Ok(out)
}

fn validate_family(
    src: &Source,
    f: &config::FamilyDef,
    churn: &ChurnFile,
    seen: &mut FxHashSet<String>,
) -> Result<Family, Error> {
    let id = f.id.get_ref();
    let fail = |span: std::ops::Range<usize>, m: String| Err(cue_error(src, span, m));
    if !is_id(id) || !seen.insert(id.clone()) {
        return fail(f.id.span(), format!("family id `{id}` is invalid or repeated"));
    }
    if seen.len() > usize::from(u16::MAX) {
        return fail(f.id.span(), "too many families".into());
    }
    let sign = match f.polarity.get_ref().as_str() {
        "negative" => -1.0,
        "positive" => 1.0,
        other => {
            return fail(
                f.polarity.span(),
                format!("family `{id}`: polarity `{other}`: expected `negative` or `positive`"),
            );
        }
    };
    if !(f.weight > 0.0 && f.weight <= 4.0) {
        return fail(f.id.span(), format!("family `{id}`: weight must be in (0, 4]"));
    }
    if f.provenance.trim().is_empty() {
        return fail(
            f.id.span(),
            format!("family `{id}`: provenance is empty (say where it comes from)"),
        );
    }
    let link = match &f.churn {
        None => None,
        Some(c) => {
            let reason = c.reason.get_ref();
            let Some(r) = churn.reasons.iter().position(|x| x.id.get_ref() == reason) else {
                return fail(
                    c.reason.span(),
                    format!("family `{id}`: unknown churn reason `{reason}` (see churn.toml)"),
                );
            };
            if !(0.0..=1.0).contains(&c.weight) {
                return fail(
                    c.reason.span(),
                    format!("family `{id}`: churn weight must be in [0, 1]"),
                );
            }
            Some((r as u8, c.weight))
        }
    };
    Ok(Family { id: id.clone(), valence: sign * f.weight, churn: link })
}

fn is_id(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// The TOML files whose cues go into every language's matcher, with their sources for errors.
type TomlCues<'a> =
    (&'a Source, &'a TaxonomyFile, &'a Source, &'a ModesFile, &'a Source, &'a ChurnFile);

/// Warnings about the entries of one list: a TSV file, or one theme's, mode's or reason's cues
/// in one language.
struct ListLint<'a> {
    src: &'a Source,
    /// How the list's cues are written: operators of the pattern syntax are not warned about.
    syntax: CueSyntax,
    repeats: Repeats,
    warnings: &'a mut Vec<DataWarning>,
    /// Off for a second pass over the same files.
    active: bool,
}

impl<'a> ListLint<'a> {
    fn new(src: &'a Source, found: &'a mut Found<'_>) -> ListLint<'a> {
        let active = found.lint;
        let syntax = CueSyntax::Plain;
        ListLint { src, syntax, repeats: Repeats::default(), warnings: found.warnings, active }
    }

    /// A cue that stands for several word sequences (a pattern): warned about once, for the
    /// first of them that repeats an earlier cue of the list.
    fn cues(&mut self, list: &str, text: &str, pats: &[Pattern], pos: usize, effect: &str) {
        let before = self.warnings.len();
        for pat in pats {
            self.cue(list, text, pat, pos, effect);
            if self.warnings.len() > before {
                break;
            }
        }
    }

    fn warn(&mut self, line: usize, message: String) {
        self.warnings.push(DataWarning { file: self.src.name.clone(), line, message });
    }

    /// A TSV term on `line`; `effect` says what a repeat does.
    fn term(&mut self, text: &str, pat: &Pattern, line: usize, effect: &str) {
        if !self.active {
            return;
        }
        if let Some(m) = lint::regex_like(text, pat, self.syntax) {
            self.warn(line, m);
        }
        if let Some(first) = self.repeats.repeat_of(pat, text, line) {
            let first = lint::first_occurrence(text, first);
            self.warn(line, format!("term `{text}` repeats {first}: {effect}"));
        }
    }

    /// A TOML cue of `list` at byte offset `pos`; `effect` says what a repeat does. Lines are
    /// counted only for a warning (counting them for every cue would be quadratic in the file).
    fn cue(&mut self, list: &str, text: &str, pat: &Pattern, pos: usize, effect: &str) {
        if !self.active {
            return;
        }
        let line_of = |pos| config::line_of(&self.src.text, pos);
        if let Some(m) = lint::regex_like(text, pat, self.syntax) {
            let line = line_of(pos);
            self.warn(line, format!("{list}: {m}"));
        }
        if let Some((first_pos, first_text)) = self.repeats.repeat_of(pat, text, pos) {
            let first = lint::first_occurrence(text, (line_of(first_pos), first_text));
            let message =
                format!("{list}: cue `{text}` repeats {first} in the same list: {effect}");
            let line = line_of(pos);
            self.warn(line, message);
        }
    }
}

/// What loading notes on the way: the files read and the warnings about them.
struct Found<'a> {
    sources: &'a mut Vec<DataFile>,
    warnings: &'a mut Vec<DataWarning>,
    /// Look for warnings (not on a second pass over the same files).
    lint: bool,
}

/// Collects one language's cues before compiling them.
#[derive(Default)]
struct LexiconBuilder {
    matcher: CueMatcher<Cue>,
    /// Sentiment valence by pattern: later files override earlier ones.
    sentiment: FxHashMap<Pattern, f32>,
    sentiment_order: Vec<Pattern>,
}

impl LexiconBuilder {
    fn add_lang(
        &mut self,
        lang: Lang,
        get: &dyn Fn(&str) -> Result<Source, Error>,
        found: &mut Found<'_>,
    ) -> Result<(), Error> {
        let code = lang.as_str();
        for name in [format!("sentiment/{code}.tsv"), format!("curated/sentiment_{code}.tsv")] {
            let src = get(&name)?;
            let mut lint = ListLint::new(&src, found);
            for line in tsv::lines(&src.name, &src.text, 2)? {
                let v = tsv::number(&src.name, &line, 1, (-4.0, 4.0))?;
                let pat = Pattern::parse(line.cols[0])
                    .map_err(|m| Error::data(&src.name, line.number, m))?;
                lint.term(line.cols[0], &pat, line.number, "the later line's valence is used");
                if self.sentiment.insert(pat.clone(), v).is_none() {
                    self.sentiment_order.push(pat);
                }
            }
            found.sources.push(src.file);
        }
        let src = get(&format!("modifiers/{code}.tsv"))?;
        let mut lint = ListLint::new(&src, found);
        for line in tsv::lines(&src.name, &src.text, 3)? {
            let m = parse_modifier(&src.name, &line)?;
            let pat =
                Pattern::parse(line.cols[0]).map_err(|m| Error::data(&src.name, line.number, m))?;
            lint.term(line.cols[0], &pat, line.number, "both entries apply");
            self.matcher.add(pat, Cue::Modifier(m));
        }
        found.sources.push(src.file);
        Ok(())
    }

    fn add_toml_cues(
        &mut self,
        lang: Lang,
        files: TomlCues<'_>,
        found: &mut Found<'_>,
    ) -> Result<(), Error> {
        let (tax_src, tax, modes_src, modes, churn_src, churn) = files;
        let pick = |b: &Bilingual<Vec<toml::Spanned<String>>>| -> Vec<toml::Spanned<String>> {
            if lang == Lang::En { b.en.clone() } else { b.fr.clone() }
        };
        let code = lang.as_str();
        for (i, t) in tax.themes.iter().enumerate() {
            let mut lint = ListLint::new(tax_src, found);
            let list = format!("theme `{}` ({code})", t.id.get_ref());
            for cue in pick(&t.cues) {
                let pat =
                    Pattern::parse(cue.get_ref()).map_err(|m| cue_error(tax_src, cue.span(), m))?;
                lint.cue(&list, cue.get_ref(), &pat, cue.span().start, "it adds nothing");
                self.matcher.add(pat, Cue::Theme(i as u16));
            }
        }
        for (i, m) in modes.modes.iter().enumerate() {
            let mut lint = ListLint::new(modes_src, found);
            let list = format!("mode `{}` ({code})", m.id.get_ref());
            let cues = if lang == Lang::En { &m.cues.en } else { &m.cues.fr };
            for cue in cues {
                let (text, w) = cue.get_ref();
                let pat =
                    Pattern::parse(text).map_err(|msg| cue_error(modes_src, cue.span(), msg))?;
                lint.cue(&list, text, &pat, cue.span().start, "its weight counts twice");
                self.matcher.add(pat, Cue::Mode(i as u8, *w));
            }
        }
        for (i, r) in churn.reasons.iter().enumerate() {
            let mut lint = ListLint::new(churn_src, found);
            let list = format!("reason `{}` ({code})", r.id.get_ref());
            for cue in pick(&r.cues) {
                let pat = Pattern::parse(cue.get_ref())
                    .map_err(|m| cue_error(churn_src, cue.span(), m))?;
                lint.cue(&list, cue.get_ref(), &pat, cue.span().start, "it counts twice");
                self.matcher.add(pat, Cue::Churn(i as u8, r.weight));
            }
        }
        Ok(())
    }

    fn finish(mut self, lang: Lang, stemmers: &Stemmers) -> LangLexicon {
        let mut by_stem: FxHashMap<String, (f32, u32)> = FxHashMap::default();
        for pat in &self.sentiment_order {
            let v = self.sentiment[pat];
            if let [WordPat::Exact(w)] = pat.0.as_slice()
                && w.chars().count() >= 4
                && w.chars().all(char::is_alphabetic)
            {
                let e = by_stem.entry(stemmers.stem(lang, w)).or_insert((0.0, 0));
                e.0 += v;
                e.1 += 1;
            }
            self.matcher.add(pat.clone(), Cue::Sentiment(v));
        }
        let stems = by_stem.into_iter().map(|(k, (sum, n))| (k, sum / n as f32)).collect();
        LangLexicon { matcher: self.matcher, stems }
    }
}

fn parse_modifier(file: &str, line: &tsv::Line<'_>) -> Result<Modifier, Error> {
    let kind = line.cols[1];
    let scope =
        |max: f32| -> Result<u8, Error> { Ok(tsv::number(file, line, 2, (1.0, max))? as u8) };
    Ok(match kind {
        "negator" => Modifier::Negator { scope: scope(8.0)? },
        "negator_after_ne" => Modifier::NegatorAfterNe { scope: scope(8.0)? },
        "ne" => Modifier::Ne { gap: scope(8.0)? },
        "intensifier" => Modifier::Scale(tsv::number(file, line, 2, (1.0, 3.0))?),
        "diminisher" => Modifier::Scale(tsv::number(file, line, 2, (0.0, 1.0))?),
        "contrast" => Modifier::Contrast { after: tsv::number(file, line, 2, (0.0, 4.0))? },
        other => {
            return Err(Error::data(
                file,
                line.number,
                format!(
                    "unknown modifier kind `{other}` (negator, negator_after_ne, ne, intensifier, diminisher, contrast)"
                ),
            ));
        }
    })
}

#[cfg(test)]
pub(crate) mod tests;
