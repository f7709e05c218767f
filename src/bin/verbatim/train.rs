//! `verbatim train`: train a head on labelled data, calibrate it on dev, write it as ONNX.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Result, bail};
use clap::Args;

use verbatim::eval::{LabelledItem, Preset, Unlabelled};
use verbatim::model::features::{FEATURE_VERSION, Hashing, fnv1a};
use verbatim::model::head::{CARD_FORMAT, HeadCard};
use verbatim::model::linear::TrainConfig;
use verbatim::model::trainer::{self, Encoded};
use verbatim::{Analyzer, Options};

use crate::args::{DataArgs, PresetArg};

#[derive(Args)]
pub(crate) struct TrainArgs {
    /// Your labelled CSV/TSV file (one label per row); 10 % of it, chosen by a hash of the
    /// text, is held out to calibrate and score the head
    #[arg(value_name = "FILE", required_unless_present = "preset")]
    file: Option<PathBuf>,
    /// Column with the text (FILE)
    #[arg(long, default_value = "text")]
    text_column: String,
    /// Column with the label (FILE): your themes, services, modes…
    #[arg(long, default_value = "label")]
    label_column: String,
    /// Column holding each row's fold (FILE): rows `train` train, rows `dev` calibrate and are
    /// scored, other rows (`test`) are left alone. Without it, the hash split above
    #[arg(long)]
    fold_column: Option<String>,
    /// What the head labels, recorded in its card; `sentiment` makes it decide the tone
    /// (labels negative/neutral/positive). Default: the label column's name
    #[arg(long)]
    task: Option<String>,
    /// Public dataset(s) to train on (their train fold; dev calibrates and is scored)
    #[arg(long, value_enum)]
    preset: Vec<PresetArg>,
    /// Where the public datasets are
    #[arg(long, default_value = "../shared/data", env = "VERBATIM_DATA_DIR")]
    data_dir: PathBuf,
    /// log2 of the number of hashed feature buckets (10 to 24)
    #[arg(long, default_value_t = 18, value_parser = clap::value_parser!(u32).range(10..=24))]
    bits: u32,
    /// Passes over the training data (at least 1)
    #[arg(long, default_value_t = 8, value_parser = at_least_one)]
    epochs: usize,
    /// AdaGrad learning rate (a finite number > 0)
    #[arg(long, allow_negative_numbers = true, default_value_t = 0.02, value_parser = positive)]
    lr: f32,
    /// L2 penalty (a finite number >= 0)
    #[arg(long, allow_negative_numbers = true, default_value_t = 1e-3, value_parser = non_negative)]
    l2: f32,
    /// Do not weight classes by inverse frequency
    #[arg(long)]
    unbalanced: bool,
    /// Which tier: fast (hashed n-grams and lexicon features) or accurate (adds the e5 sentence
    /// embedding; needs the `onnx` build and the encoder from scripts/setup_models.sh)
    #[arg(long, value_enum, default_value = "fast")]
    tier: Tier,
    /// Scale of the embedding features (accurate tier; a finite number > 0)
    #[arg(long, allow_negative_numbers = true, default_value_t = 1.0, value_parser = positive)]
    embed_scale: f32,
    /// Encoder file in the model directory (accurate tier): the e5 encoder that
    /// scripts/setup_models.sh builds, or another one there (e.g. with top layers tuned by
    /// scripts/finetune_e5.py); recorded in the head's card
    #[arg(long, value_name = "FILE", default_value = verbatim::model::ENCODER_FILE)]
    encoder: String,
    /// Write the head as OUT.onnx and its card as OUT.json
    #[arg(long, short, value_name = "OUT")]
    out: Option<PathBuf>,
    /// Name recorded in the card (default: the file name of --out)
    #[arg(long)]
    name: Option<String>,
    /// Tune per-class decision offsets for macro-F1 on dev (folded into the bias)
    #[arg(long)]
    tune_offsets: bool,
    /// Train over a grid of settings and print dev scores (no model written)
    #[arg(long)]
    sweep: bool,
    #[command(flatten)]
    data: DataArgs,
}

/// A finite number: NaN or infinity would train a head of NaN weights without a word.
fn finite(s: &str) -> Result<f32, String> {
    let x: f32 = s.trim().parse().map_err(|_| format!("`{s}` is not a number"))?;
    if x.is_finite() { Ok(x) } else { Err(format!("{s} is not a finite number")) }
}

fn positive(s: &str) -> Result<f32, String> {
    let x = finite(s)?;
    if x > 0.0 { Ok(x) } else { Err(format!("{s} must be above 0")) }
}

fn non_negative(s: &str) -> Result<f32, String> {
    let x = finite(s)?;
    if x >= 0.0 { Ok(x) } else { Err(format!("{s} must be 0 or more")) }
}

/// Zero epochs would write an untrained head, its scores those of the bias alone.
fn at_least_one(s: &str) -> Result<usize, String> {
    match s.trim().parse::<usize>() {
        Ok(n) if n >= 1 => Ok(n),
        Ok(_) => Err("at least one pass is needed".into()),
        Err(_) => Err(format!("`{s}` is not a whole number")),
    }
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Tier {
    Fast,
    Accurate,
}

struct Set {
    name: String,
    train: Vec<LabelledItem>,
    dev: Vec<LabelledItem>,
    enc_train: Encoded,
    enc_dev: Encoded,
}

pub(crate) fn run(args: TrainArgs) -> Result<ExitCode> {
    let Some(hashing) = Hashing::new(args.bits) else { bail!("--bits must be in 10..=24") };
    if args.preset.is_empty() && args.file.is_none() {
        bail!("give a labelled FILE or at least one --preset");
    }
    let user = args.file.as_ref().map(|f| user_split(&args, f)).transpose()?;
    let user = user.map(|(train, dev, unlabelled)| {
        if unlabelled.count > 0 {
            eprintln!("verbatim: warning: {}", unlabelled_in(&args, &unlabelled));
        }
        (train, dev)
    });
    let labels: Vec<String> = match &user {
        Some((train, dev)) if args.preset.is_empty() => {
            let mut l: Vec<String> = train.iter().chain(dev).map(|i| i.gold.clone()).collect();
            l.sort();
            l.dedup();
            l
        }
        _ => verbatim::model::SENTIMENT_LABELS.map(String::from).to_vec(),
    };
    let mut sets = Vec::new();
    if let (Some((train, dev)), Some(file)) = (user, &args.file) {
        let analyzer = Analyzer::new(args.data.load()?, Options::default());
        let name =
            file.file_name().map_or_else(|| "file".into(), |n| n.to_string_lossy().into_owned());
        eprintln!("{name}: {} train, {} held out; labels {labels:?}", train.len(), dev.len());
        let set = encode_set(&analyzer, name, train, dev, &labels, hashing)?;
        report_unused(&set);
        sets.push(set);
    }
    for p in &args.preset {
        let preset = p.preset();
        let path = preset.default_path(&args.data_dir);
        let train = verbatim::eval::load_preset(preset, &path, "train")?;
        let dev = verbatim::eval::load_preset(preset, &path, "dev")?;
        eprintln!("{}: {} train, {} dev", preset.name(), train.len(), dev.len());
        let analyzer = analyzer_for(&args, preset)?;
        sets.push(encode_set(&analyzer, preset.name().into(), train, dev, &labels, hashing)?);
    }
    if args.tier == Tier::Accurate {
        add_embeddings(&args, &mut sets)?;
    }
    let mut all_train = Encoded::default();
    let mut all_dev = Encoded::default();
    for s in &sets {
        all_train.extend(&s.enc_train);
        all_dev.extend(&s.enc_dev);
    }
    let base = TrainConfig {
        epochs: args.epochs,
        learning_rate: args.lr,
        l2: args.l2,
        balanced: !args.unbalanced,
        ..TrainConfig::default()
    };
    let grid: Vec<TrainConfig> = if args.sweep {
        let mut g = Vec::new();
        for &epochs in &[4, 8, 12] {
            for &l2 in &[1e-5, 1e-4, 1e-3] {
                for &lr in &[0.02, 0.05] {
                    g.push(TrainConfig { epochs, l2, learning_rate: lr, ..base });
                }
            }
        }
        g
    } else {
        vec![base]
    };
    let sweeping = grid.len() > 1;
    for cfg in grid {
        let mut model = trainer::fit(&all_train, &all_dev, &labels, hashing.n_features(), &cfg)?;
        let offsets = if args.tune_offsets {
            let devs: Vec<&Encoded> = sets.iter().map(|s| &s.enc_dev).collect();
            let o = trainer::tune_offsets(&model, &devs);
            trainer::apply_offsets(&mut model, &o);
            Some(o)
        } else {
            None
        };
        let mut dev_scores = serde_json::Map::new();
        let mut line = format!(
            "offsets {offsets:?} epochs {:>2} lr {:<5} l2 {:<7} T {:.2}",
            cfg.epochs, cfg.learning_rate, cfg.l2, model.temperature
        );
        for s in &sets {
            let sc = trainer::score(&model, &s.name, "dev", &s.dev, &s.enc_dev)?;
            line.push_str(&format!(
                " | {} F1 {:.4} acc {:.4} pol {:.4} ece {:.3}",
                s.name,
                sc.report.macro_f1_all(),
                sc.report.groups.last().map_or(0.0, |g| g.1.accuracy()),
                sc.polarity.unwrap_or(0.0),
                sc.ece
            ));
            dev_scores.insert(
                s.name.clone(),
                serde_json::json!({
                    "macro_f1": round4(sc.report.macro_f1_all()),
                    "accuracy": round4(sc.report.groups.last().map_or(0.0, |g| g.1.accuracy())),
                    "polarity_accuracy": sc.polarity.map(round4),
                    "ece": round4(sc.ece),
                    "n": s.dev.len(),
                }),
            );
        }
        outln!("{line}");
        if sweeping {
            continue;
        }
        if let Some(out) = &args.out {
            let record = training_record(&sets, &cfg, dev_scores, offsets);
            let card = card(&args, &labels, &model, hashing, record);
            let (onnx, json) = verbatim::model::head::save(&model, &card, out)?;
            outln!("wrote {} and {}", onnx.display(), json.display());
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn round4(x: f64) -> f64 {
    (x * 1e4).round() / 1e4
}

/// How the head was trained, for its card.
fn training_record(
    sets: &[Set],
    cfg: &TrainConfig,
    dev_scores: serde_json::Map<String, serde_json::Value>,
    offsets: Option<Vec<f32>>,
) -> serde_json::Value {
    let data: Vec<serde_json::Value> = sets
        .iter()
        .map(|s| serde_json::json!({"dataset": s.name, "train": s.train.len(), "dev": s.dev.len()}))
        .collect();
    let command: Vec<String> = std::env::args().skip(1).collect();
    serde_json::json!({
        "command": format!("verbatim {}", command.join(" ")),
        "data": data,
        "epochs": cfg.epochs,
        "learning_rate": short(cfg.learning_rate),
        "l2": short(cfg.l2),
        "balanced_classes": cfg.balanced,
        "seed": cfg.seed,
        "decision_offsets": offsets.map(|o| o.into_iter().map(short).collect::<Vec<_>>()),
        "dev_scores": dev_scores,
    })
}

/// An f32 as the f64 its shortest decimal form denotes (0.02, not 0.019999999552965164).
fn short(x: f32) -> f64 {
    x.to_string().parse().unwrap_or(f64::from(x))
}

fn card(
    args: &TrainArgs,
    labels: &[String],
    model: &verbatim::model::linear::LinearModel,
    hashing: Hashing,
    training: serde_json::Value,
) -> HeadCard {
    let name = args.name.clone().unwrap_or_else(|| {
        args.out
            .as_ref()
            .and_then(|p| p.file_name())
            .map_or_else(|| "head".into(), |n| n.to_string_lossy().into_owned())
    });
    let accurate = args.tier == Tier::Accurate;
    let task = args.task.clone().unwrap_or_else(|| {
        if args.file.is_some() && args.preset.is_empty() {
            args.label_column.clone()
        } else {
            "sentiment".into()
        }
    });
    HeadCard {
        format: CARD_FORMAT.into(),
        name,
        task,
        tier: if accurate { "accurate" } else { "fast" }.into(),
        labels: labels.to_vec(),
        feature_version: FEATURE_VERSION,
        hash_bits: hashing.bits(),
        embed_scale: accurate.then_some(args.embed_scale),
        encoder: accurate.then(|| args.encoder.clone()),
        temperature: model.temperature,
        training,
    }
}

/// "FILE: N rows without a label were skipped (…)".
fn unlabelled_in(args: &TrainArgs, u: &Unlabelled) -> String {
    let file = args.file.as_ref().map_or_else(String::new, |f| f.display().to_string());
    format!("{file}: {u}")
}

/// Rows whose text the analyser rejects (empty) get no feature row: say how many, so that the
/// counts printed before reconcile.
fn report_unused(set: &Set) {
    let skipped = |e: &Encoded| e.row_of.iter().filter(|r| r.is_none()).count();
    let n = skipped(&set.enc_train) + skipped(&set.enc_dev);
    if n > 0 {
        eprintln!(
            "verbatim: warning: {}: {n} labelled row(s) with an empty text were skipped",
            set.name
        );
    }
}

/// The user's file split into train and held-out rows by a hash of the text (stable across
/// runs and row orders; duplicates land on the same side), and the rows without a label.
fn user_split(
    args: &TrainArgs,
    file: &std::path::Path,
) -> Result<(Vec<LabelledItem>, Vec<LabelledItem>, Unlabelled)> {
    let delim = if verbatim::io::Format::from_path(file) == Some(verbatim::io::Format::Tsv) {
        b'\t'
    } else {
        b','
    };
    let cols = verbatim::eval::FileColumns {
        text: &args.text_column,
        label: &args.label_column,
        lang: None,
        id: None,
    };
    if let Some(fc) = &args.fold_column {
        let train = verbatim::eval::load_labelled_fold(file, &cols, delim, Some((fc, "train")))?;
        let dev = verbatim::eval::load_labelled_fold(file, &cols, delim, Some((fc, "dev")))?;
        if train.items.is_empty() {
            bail!("{}: no labelled row has {fc} = train", file.display());
        }
        let mut unlabelled = train.unlabelled;
        unlabelled.merge(&dev.unlabelled);
        return Ok((train.items, dev.items, unlabelled));
    }
    let loaded = verbatim::eval::load_labelled_fold(file, &cols, delim, None)?;
    let items = loaded.items;
    if items.len() < 10 {
        bail!("{}: {} labelled rows; a head needs at least 10", file.display(), items.len());
    }
    let (dev, train): (Vec<LabelledItem>, Vec<LabelledItem>) =
        items.into_iter().partition(|i| fnv1a(i.text.as_bytes()).is_multiple_of(10));
    Ok((train, dev, loaded.unlabelled))
}

/// Feature rows of one dataset's train and dev items.
fn encode_set(
    analyzer: &Analyzer,
    name: String,
    train: Vec<LabelledItem>,
    dev: Vec<LabelledItem>,
    labels: &[String],
    hashing: Hashing,
) -> Result<Set> {
    let enc_train = Encoded::new(analyzer, &train, labels, hashing)?;
    let enc_dev = Encoded::new(analyzer, &dev, labels, hashing)?;
    Ok(Set { name, train, dev, enc_train, enc_dev })
}

fn analyzer_for(args: &TrainArgs, preset: Preset) -> Result<Analyzer> {
    let res = args.data.load()?;
    Ok(Analyzer::new(
        res,
        Options { lang: verbatim::Lang::parse(preset.lang()), ..Options::default() },
    ))
}

/// Appends the sentence embedding (× `--embed-scale`) to every feature row of every set: one
/// pass through the embedding cache for all of them (it is read whole from disk).
#[cfg(feature = "onnx")]
fn add_embeddings(args: &TrainArgs, sets: &mut [Set]) -> Result<()> {
    use anyhow::Context as _;
    let texts = sets.iter().flat_map(|s| s.train.iter().chain(&s.dev)).map(|i| i.text.as_str());
    let mut embs = embeddings(&args.encoder, texts)?.into_iter();
    for s in sets.iter_mut() {
        for enc in [&mut s.enc_train, &mut s.enc_dev] {
            for row in &enc.row_of {
                let e = embs.next().context("one embedding per text")?;
                if let Some(r) = row {
                    enc.rows[*r].push_embedding(&e, args.embed_scale);
                }
            }
        }
    }
    Ok(())
}

#[cfg(not(feature = "onnx"))]
fn add_embeddings(_: &TrainArgs, _: &mut [Set]) -> Result<()> {
    bail!("the accurate tier needs a build with the `onnx` feature")
}

/// The embeddings of `texts` by `encoder` (a file in the model directory), through its on-disk
/// cache (computed and stored when missing).
#[cfg(feature = "onnx")]
fn embeddings<'a>(encoder: &str, texts: impl Iterator<Item = &'a str>) -> Result<Vec<Vec<f32>>> {
    use crate::args::progress_bar;
    use anyhow::Context;
    use verbatim::model::embedding_cache::EmbeddingCache;
    use verbatim::model::{ENCODER_TOKENIZER_FILE, encoder_dir};
    let texts: Vec<&str> = texts.collect();
    let dir = encoder_dir();
    let cache_path = dir.join("embeddings").join(format!("{encoder}.windowed.bin"));
    let mut cache = EmbeddingCache::open(&cache_path, verbatim::embed::DIM)
        .with_context(|| format!("opening the embedding cache {}", cache_path.display()))?;
    let mut missing: Vec<&str> = texts.iter().copied().filter(|t| cache.get(t).is_none()).collect();
    missing.sort_unstable();
    missing.dedup();
    if !missing.is_empty() {
        let mut enc =
            verbatim::embed::Encoder::open(&dir.join(encoder), &dir.join(ENCODER_TOKENIZER_FILE))?;
        // Entries of the cache written before long texts were windowed are still right for
        // texts that fit in one window.
        let old_path = dir.join("embeddings").join(format!("{encoder}.bin"));
        if old_path.is_file() {
            let old = EmbeddingCache::open(&old_path, verbatim::embed::DIM)?;
            let mut kept = Vec::with_capacity(missing.len());
            for t in missing {
                match old.get(t) {
                    Some(v) if enc.token_count(t)? <= verbatim::embed::MAX_TOKENS => {
                        cache.put(t, v)?
                    }
                    _ => kept.push(t),
                }
            }
            missing = kept;
        }
        if !missing.is_empty() {
            eprintln!(
                "embedding {} text(s) not in the cache {} (tens to hundreds a second)",
                missing.len(),
                cache_path.display()
            );
        }
        let pb = progress_bar(false, "embedded");
        for chunk in missing.chunks(256) {
            let vs = enc.embed(chunk)?;
            for (t, v) in chunk.iter().zip(&vs) {
                cache.put(t, v)?;
            }
            pb.inc(chunk.len() as u64);
        }
        cache.flush()?;
        pb.finish_and_clear();
    }
    texts
        .iter()
        .map(|t| cache.get(t).map(<[f32]>::to_vec).context("embedding missing from the cache"))
        .collect()
}
