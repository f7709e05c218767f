//! Tone accuracy on the public labelled datasets in ../shared/data (never copied into the
//! repository). Floors are asserted on the `dev` folds, where the thresholds were chosen; the
//! `test` numbers in the README come from `verbatim eval --fold test`, run once per release.

use verbatim::eval::{EvalReport, Preset, load_preset};
use verbatim::{Analyzer, Options, Outcome, Resources, Verbatim};

use crate::util::shared_data;

fn macro_f1(preset: Preset, fold: &str) -> Option<(f64, usize)> {
    let data = shared_data()?;
    let items = load_preset(preset, &preset.default_path(&data), fold).expect("dataset loads");
    let analyzer = Analyzer::new(Resources::embedded().unwrap(), Options::default());
    let vs: Vec<Verbatim> =
        items.iter().map(|i| Verbatim::new(i.id.clone(), i.text.clone())).collect();
    let (preds, langs): (Vec<String>, Vec<String>) = analyzer
        .analyze_batch(&vs)
        .into_iter()
        .map(|o| match o {
            Outcome::Analysed(a) => {
                (a.sentiment.label.as_str().to_string(), a.lang.as_str().to_string())
            }
            Outcome::Failed { .. } => ("neutral".to_string(), "und".to_string()),
        })
        .unzip();
    let report = EvalReport::build(preset.name(), fold, &items, &preds, &langs).expect("report");
    println!("{}", report.render_table());
    Some((report.macro_f1_all(), items.len()))
}

#[test]
fn airline_dev_macro_f1_floor() {
    let Some((f1, n)) = macro_f1(Preset::AirlineEn, "dev") else { return };
    assert_eq!(n, 1494);
    assert!(f1 >= 0.55, "airline dev macro-F1 {f1:.3} under the 0.55 floor");
}

#[test]
fn insurance_fr_dev_macro_f1_floor() {
    let Some((f1, n)) = macro_f1(Preset::InsuranceFr, "dev") else { return };
    assert_eq!(n, 2418);
    assert!(f1 >= 0.55, "insurance-fr dev macro-F1 {f1:.3} under the 0.55 floor");
}
