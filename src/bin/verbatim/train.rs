//! `verbatim train`: train a head on labelled data, calibrate it on dev, write it as ONNX.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Result, bail};
use clap::Args;

use verbatim::eval::{LabelledItem, Preset};
use verbatim::model::features::Hashing;
use verbatim::model::linear::TrainConfig;
use verbatim::model::trainer::{self, Encoded};
use verbatim::{Analyzer, Options};

use super::{DataArgs, PresetArg};

#[derive(Args)]
pub(crate) struct TrainArgs {
    /// Public dataset(s) to train on (their train fold; dev calibrates and is scored)
    #[arg(long, value_enum)]
    preset: Vec<PresetArg>,
    /// Where the public datasets are
    #[arg(long, default_value = "../shared/data", env = "VERBATIM_DATA_DIR")]
    data_dir: PathBuf,
    /// log2 of the number of hashed feature buckets
    #[arg(long, default_value_t = 18)]
    bits: u32,
    /// Passes over the training data
    #[arg(long, default_value_t = 8)]
    epochs: usize,
    /// AdaGrad learning rate
    #[arg(long, default_value_t = 0.2)]
    lr: f32,
    /// L2 penalty
    #[arg(long, default_value_t = 1e-5)]
    l2: f32,
    /// Do not weight classes by inverse frequency
    #[arg(long)]
    unbalanced: bool,
    /// Which tier: fast (hashed n-grams and lexicon features) or accurate (adds the e5 sentence
    /// embedding; needs the `onnx` build and the encoder from scripts/setup_models.sh)
    #[arg(long, value_enum, default_value = "fast")]
    tier: Tier,
    /// Scale of the embedding features (accurate tier)
    #[arg(long, default_value_t = 1.0)]
    embed_scale: f32,
    /// Train over a grid of settings and print dev scores (no model written)
    #[arg(long)]
    sweep: bool,
    #[command(flatten)]
    data: DataArgs,
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
    if args.preset.is_empty() {
        bail!("give at least one --preset");
    }
    let labels: Vec<String> = ["negative", "neutral", "positive"].map(String::from).to_vec();
    let mut sets = Vec::new();
    for p in &args.preset {
        let preset = p.preset();
        let path = preset.default_path(&args.data_dir);
        let train = verbatim::eval::load_preset(preset, &path, "train")?;
        let dev = verbatim::eval::load_preset(preset, &path, "dev")?;
        let analyzer = analyzer_for(&args, preset)?;
        let mut enc_train = Encoded::new(&analyzer, &train, &labels, hashing)?;
        let mut enc_dev = Encoded::new(&analyzer, &dev, &labels, hashing)?;
        if args.tier == Tier::Accurate {
            add_embeddings(&train, &mut enc_train, args.embed_scale)?;
            add_embeddings(&dev, &mut enc_dev, args.embed_scale)?;
        }
        eprintln!("{}: {} train, {} dev", preset.name(), train.len(), dev.len());
        sets.push(Set { name: preset.name().into(), train, dev, enc_train, enc_dev });
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
    for cfg in grid {
        let model = trainer::fit(&all_train, &all_dev, &labels, hashing.n_features(), &cfg)?;
        let mut line = format!(
            "epochs {:>2} lr {:<5} l2 {:<7} T {:.2}",
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
        }
        println!("{line}");
        let _ = &sets.iter().map(|s| s.train.len()).sum::<usize>();
    }
    Ok(ExitCode::SUCCESS)
}

fn analyzer_for(args: &TrainArgs, preset: Preset) -> Result<Analyzer> {
    let res = args.data.load()?;
    Ok(Analyzer::new(
        res,
        Options { lang: verbatim::Lang::parse(preset.lang()), ..Options::default() },
    ))
}

#[cfg(feature = "onnx")]
fn add_embeddings(items: &[LabelledItem], enc: &mut Encoded, scale: f32) -> Result<()> {
    let embs = super::embeddings(items.iter().map(|i| i.text.as_str()))?;
    for (i, row) in enc.row_of.iter().enumerate() {
        if let Some(r) = row {
            let v: Vec<f32> = embs[i].iter().map(|x| x * scale).collect();
            enc.rows[*r].push_embedding(&v);
        }
    }
    Ok(())
}

#[cfg(not(feature = "onnx"))]
fn add_embeddings(_: &[LabelledItem], _: &mut Encoded, _: f32) -> Result<()> {
    bail!("the accurate tier needs a build with the `onnx` feature")
}
