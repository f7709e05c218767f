//! The sample's full output against the committed golden file, and its agreement with the
//! labels the team wrote in `samples/expected.csv`.
//!
//! The golden files pin every field of every record: any change in behaviour shows up as a
//! diff to review. `sample.jsonl` is the lexicon-only output (`--model lexicon`, the same in
//! every build); `sample-fast.jsonl` the default output with the fast head (feature `onnx`).
//! After an intended change, regenerate them with
//! `UPDATE_GOLDEN=1 cargo test --release --test integration golden` and review the diff.

use std::collections::{BTreeMap, BTreeSet};

use crate::util::{SAMPLE_ARGS, jsonl, repo, run};

fn sample_output(extra: &[&str]) -> Vec<serde_json::Value> {
    let args: Vec<&str> = SAMPLE_ARGS.iter().chain(extra).copied().collect();
    let out = run(&args, b"");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    jsonl(&out)
}

#[test]
fn sample_matches_golden_file() {
    matches_golden(&sample_output(&["--model", "lexicon"]), "tests/golden/sample.jsonl");
}

#[cfg(feature = "onnx")]
#[test]
fn sample_with_the_fast_head_matches_golden_file() {
    matches_golden(&sample_output(&[]), "tests/golden/sample-fast.jsonl");
}

fn matches_golden(got: &[serde_json::Value], file: &str) {
    let text: String = got.iter().map(|v| format!("{v}\n")).collect();
    let path = repo(file);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, &text).unwrap();
        return;
    }
    let want = std::fs::read_to_string(&path)
        .unwrap_or_else(|_| panic!("{file} exists (UPDATE_GOLDEN=1 makes it)"));
    for (i, (g, w)) in text.lines().zip(want.lines()).enumerate() {
        assert_eq!(
            g,
            w,
            "record {} differs from {file}; if intended, regenerate (see module docs)",
            i + 1
        );
    }
    assert_eq!(
        text.lines().count(),
        want.lines().count(),
        "record count differs from the golden file"
    );
}

/// Agreement with the team's labels. These are regression floors set a little under what the
/// current version measures (printed with `--nocapture`), not targets: raise them as it improves.
#[test]
fn sample_agrees_with_team_labels() {
    let got = sample_output(&[]);
    let expected = std::fs::read_to_string(repo("samples/expected.csv")).unwrap();
    let mut rdr = csv::Reader::from_reader(expected.as_bytes());
    let want: BTreeMap<String, csv::StringRecord> =
        rdr.records().map(|r| r.unwrap()).map(|r| (r[0].to_string(), r)).collect();
    let (mut n, mut lang, mut tone, mut mode, mut churn_ok, mut high, mut high_found) =
        (0, 0, 0, 0, 0, 0, 0);
    let (mut tp, mut fp, mut fneg) = (0, 0, 0);
    for r in got.iter().filter(|r| r.get("error").is_none()) {
        let Some(w) = want.get(r["id"].as_str().unwrap()) else { continue };
        n += 1;
        lang += usize::from(r["lang"] == w[1]);
        tone += usize::from(r["sentiment"]["label"] == w[2]);
        mode += usize::from(r["mode"]["label"] == w[4]);
        let level = r["churn"]["level"].as_str().unwrap();
        churn_ok += usize::from(level == &w[5]);
        if &w[5] == "high" {
            high += 1;
            high_found += usize::from(level == "high" || level == "medium");
        }
        let gold: BTreeSet<&str> = w[3].split(';').filter(|s| !s.is_empty()).collect();
        let pred: BTreeSet<&str> =
            r["themes"].as_array().unwrap().iter().map(|t| t["id"].as_str().unwrap()).collect();
        tp += gold.intersection(&pred).count();
        fp += pred.difference(&gold).count();
        fneg += gold.difference(&pred).count();
    }
    let pct = |a: usize, b: usize| 100.0 * a as f64 / b.max(1) as f64;
    let theme_p = pct(tp, tp + fp);
    let theme_r = pct(tp, tp + fneg);
    println!(
        "sample agreement over {n} records: lang {:.1}%, tone {:.1}%, mode {:.1}%, churn level {:.1}%, \
         high churn found {:.1}%, themes precision {theme_p:.1}% recall {theme_r:.1}%",
        pct(lang, n),
        pct(tone, n),
        pct(mode, n),
        pct(churn_ok, n),
        pct(high_found, high)
    );
    assert!(n >= 300, "expected labels for the whole sample, got {n}");
    // Measured when these floors were set: lang 99.7, tone 67.5 with the lexicons alone and
    // 72.5 with the fast head (the default build), mode 61.6, high churn 92.6, themes P 73.3 /
    // R 61.8 (%).
    assert!(pct(lang, n) >= 99.0);
    assert!(pct(tone, n) >= if cfg!(feature = "onnx") { 70.0 } else { 65.0 });
    assert!(pct(mode, n) >= 58.0);
    assert!(pct(high_found, high) >= 90.0);
    assert!(theme_p >= 70.0 && theme_r >= 58.0);
}
