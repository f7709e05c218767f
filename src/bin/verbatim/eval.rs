//! `verbatim eval`: tone (or a head's labels) against a labelled file or a public dataset.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Result, bail};
use clap::Args;

use verbatim::eval::{EvalReport, LabelledItem};
use verbatim::io::Format;
use verbatim::lexicon::Thresholds;
use verbatim::{Analyzer, Lang, Options, Outcome, Resources, Verbatim};

use crate::args::{DataArgs, LangArg, PresetArg, ReportFormat, progress_bar};
use crate::model_args::{self, ModelArgs};

#[derive(Args)]
pub(crate) struct EvalArgs {
    /// A labelled CSV/TSV/JSONL file (not needed with --preset)
    #[arg(value_name = "FILE", required_unless_present = "preset")]
    file: Option<PathBuf>,
    /// A public dataset from ../shared/data
    #[arg(long, value_enum)]
    preset: Option<PresetArg>,
    /// Fold of the preset: train, dev, test or all
    #[arg(long, default_value = "dev")]
    fold: String,
    /// Where the public datasets are
    #[arg(long, default_value = "../shared/data", env = "VERBATIM_DATA_DIR")]
    data_dir: PathBuf,
    /// Column with the text (labelled file)
    #[arg(long, default_value = "text")]
    text_column: String,
    /// Column with the gold label: positive, negative or neutral (labelled file)
    #[arg(long, default_value = "label")]
    label_column: String,
    /// Column with the language (labelled file; detected when absent)
    #[arg(long)]
    lang_column: Option<String>,
    /// Column with each row's fold (labelled file): only rows equal to --fold are scored
    #[arg(long)]
    fold_column: Option<String>,
    /// Score the predictions of the head with this name (from --head) instead of the tone
    #[arg(long, value_name = "HEAD")]
    predictions: Option<String>,
    /// Output format
    #[arg(long, value_enum, default_value = "table")]
    format: ReportFormat,
    /// Also print macro-F1 over a grid of label thresholds (use on dev, never on test)
    #[arg(long)]
    sweep: bool,
    /// Force the language instead of detecting it
    #[arg(long, value_enum, default_value = "auto")]
    lang: LangArg,
    #[command(flatten)]
    model: ModelArgs,
    #[command(flatten)]
    data: DataArgs,
}

pub(crate) fn run(args: EvalArgs) -> Result<ExitCode> {
    let res = args.data.load()?;
    let (dataset, items) = load_eval_items(&args)?;
    if items.is_empty() {
        bail!("no labelled items in {dataset} (fold {})", args.fold);
    }
    let analyzer = Analyzer::new(res, Options { lang: args.lang.lang(), ..Options::default() });
    let mut analyzer = args.model.attach(analyzer)?;
    let verbatims: Vec<Verbatim> =
        items.iter().map(|i| Verbatim::new(i.id.clone(), i.text.clone())).collect();
    let pb = progress_bar(args.format == ReportFormat::Json, "scored");
    let mut outcomes = Vec::with_capacity(verbatims.len());
    for chunk in verbatims.chunks(1024) {
        outcomes.extend(analyzer.analyze_batch(chunk));
        pb.inc(chunk.len() as u64);
    }
    pb.finish_and_clear();
    let scored: Vec<(Lang, f32, bool)> = outcomes
        .iter()
        .map(|o| match o {
            Outcome::Analysed(a) => (a.lang, a.sentiment.score, true),
            Outcome::Failed { .. } => (Lang::Und, 0.0, false),
        })
        .collect();
    let failed = scored.iter().filter(|s| !s.2).count();
    let (preds, langs): (Vec<String>, Vec<String>) = outcomes
        .iter()
        .map(|o| match (o, &args.predictions) {
            (Outcome::Analysed(a), None) => {
                (a.sentiment.label.as_str().to_string(), a.lang.as_str().to_string())
            }
            (Outcome::Analysed(a), Some(head)) => {
                let p = a.predictions.iter().find(|p| p.name == *head);
                (
                    p.map_or_else(|| "(none)".into(), |p| p.label.clone()),
                    a.lang.as_str().to_string(),
                )
            }
            (Outcome::Failed { .. }, _) => ("neutral".to_string(), "und".to_string()),
        })
        .unzip();
    if let Some(head) = &args.predictions
        && !analyzer.head_names().contains(head)
    {
        bail!("--predictions {head}: no head of that name (heads: {:?})", analyzer.head_names());
    }
    let report = EvalReport::build(&dataset, &args.fold, &items, &preds, &langs)?;
    let calibration = head_calibration(&items, &outcomes);
    match args.format {
        ReportFormat::Table => {
            outln!("{}", report.render_table());
            if let Some(c) = &calibration {
                outln!(
                    "model {}: polarity accuracy (negative vs positive items, P(pos) against P(neg)) {:.4}; ECE {:.4} ({} items)",
                    c.name,
                    c.polarity,
                    c.ece,
                    c.n
                );
            }
            if failed > 0 {
                outln!("{failed} item(s) could not be analysed and count as neutral predictions");
            }
        }
        ReportFormat::Json => {
            let mut json = report.to_json();
            if let (Some(c), Some(obj)) = (&calibration, json.as_object_mut()) {
                obj.insert(
                    "model".into(),
                    serde_json::json!({"name": c.name, "polarity_accuracy": c.polarity, "ece": c.ece, "n": c.n}),
                );
            }
            outln!("{}", serde_json::to_string_pretty(&json)?);
        }
    }
    if args.sweep {
        if args.model.model != model_args::ModelArg::Lexicon {
            bail!("--sweep tunes the lexicon thresholds: use it with --model lexicon");
        }
        sweep(analyzer.resources_mut(), &items, &scored)?;
    }
    Ok(ExitCode::SUCCESS)
}

struct Calibration {
    name: String,
    polarity: f64,
    ece: f64,
    n: usize,
}

/// Polarity accuracy and calibration of the head that decided the tone, when there was one.
fn head_calibration(items: &[LabelledItem], outcomes: &[Outcome]) -> Option<Calibration> {
    let labels: Vec<String> = verbatim::model::SENTIMENT_LABELS.map(String::from).to_vec();
    let mut probs = Vec::new();
    let mut gold = Vec::new();
    let mut name = None;
    for (item, o) in items.iter().zip(outcomes) {
        let Outcome::Analysed(a) = o else { continue };
        let (Some(m), Some(g)) = (&a.sentiment.model, labels.iter().position(|l| *l == item.gold))
        else {
            continue;
        };
        name.get_or_insert_with(|| m.name.clone());
        probs.push(
            labels.iter().map(|l| m.probs.get(l).copied().unwrap_or(0.0)).collect::<Vec<f32>>(),
        );
        gold.push(g);
    }
    let name = name?;
    Some(Calibration {
        name,
        polarity: verbatim::model::trainer::polarity_accuracy(&labels, &probs, &gold)?,
        ece: verbatim::model::linear::expected_calibration_error(&probs, &gold, 15),
        n: gold.len(),
    })
}

fn load_eval_items(args: &EvalArgs) -> Result<(String, Vec<LabelledItem>)> {
    if let Some(p) = args.preset {
        let preset = p.preset();
        let path = preset.default_path(&args.data_dir);
        let items = verbatim::eval::load_preset(preset, &path, &args.fold)?;
        return Ok((preset.name().to_string(), items));
    }
    let Some(file) = &args.file else { bail!("give a labelled FILE or --preset") };
    let delim = if Format::from_path(file) == Some(Format::Tsv) { b'\t' } else { b',' };
    let cols = verbatim::eval::FileColumns {
        text: &args.text_column,
        label: &args.label_column,
        lang: args.lang_column.as_deref(),
        id: None,
    };
    let fold = args.fold_column.as_deref().map(|c| (c, args.fold.as_str()));
    let loaded = verbatim::eval::load_labelled_fold(file, &cols, delim, fold)?;
    if loaded.unlabelled.count > 0 {
        eprintln!("verbatim: warning: {}: {}", file.display(), loaded.unlabelled);
    }
    Ok((file.display().to_string(), loaded.items))
}

fn labels(res: &Resources, scored: &[(Lang, f32, bool)]) -> (Vec<String>, Vec<String>) {
    scored
        .iter()
        .map(|&(lang, score, _)| {
            let t = res.thresholds(lang);
            let label = if score > t.positive {
                "positive"
            } else if score < t.negative {
                "negative"
            } else {
                "neutral"
            };
            (label.to_string(), lang.as_str().to_string())
        })
        .unzip()
}

/// Prints the best thresholds by macro-F1 on these items. Meant for the dev fold.
fn sweep(res: &mut Resources, items: &[LabelledItem], scored: &[(Lang, f32, bool)]) -> Result<()> {
    let mut results = Vec::new();
    for p in 0..=20 {
        for n in 0..=16 {
            let t =
                Thresholds { positive: -0.1 + p as f32 * 0.05, negative: -0.6 + n as f32 * 0.05 };
            if t.negative > t.positive {
                continue;
            }
            for lang in [Lang::Fr, Lang::En, Lang::Und] {
                res.set_thresholds(lang, t);
            }
            let (preds, langs) = labels(res, scored);
            let report = EvalReport::build("sweep", "", items, &preds, &langs)?;
            results.push((report.macro_f1_all(), t));
        }
    }
    results.sort_by(|a, b| b.0.total_cmp(&a.0));
    outln!("\nthreshold sweep (all languages together), best 40 by macro-F1:");
    outln!("{:>9} {:>9} {:>9}", "positive", "negative", "macro-F1");
    for (f1, t) in results.iter().take(40) {
        outln!("{:>9.2} {:>9.2} {:>9.4}", t.positive, t.negative, f1);
    }
    Ok(())
}
