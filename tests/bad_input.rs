//! Bad input: every input record gives exactly one output record, an analysis or an error
//! naming file, line and field; counts reconcile; the process never panics.

use crate::util::{jsonl, repo, run, summary};

fn error_kinds(records: &[serde_json::Value]) -> Vec<(String, String)> {
    records
        .iter()
        .map(|r| {
            let kind = r["error"]["kind"].as_str().unwrap_or("ok").to_string();
            (r["id"].as_str().unwrap_or_default().to_string(), kind)
        })
        .collect()
}

#[test]
fn broken_csv_gives_one_record_per_row() {
    let out = run(&["analyze", "tests/data/bad/broken.csv", "--channel-column", "channel"], b"");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let recs = jsonl(&out);
    let kinds = error_kinds(&recs);
    assert_eq!(
        kinds,
        [
            ("b1", "ok"),
            ("b2", "malformed"),
            ("b3", "empty_text"),
            ("b4", "empty_text"),
            ("b5", "invalid_utf8"),
            ("b6", "invalid_utf8"),
            ("b7", "ok"),
            // The unclosed quote swallows the rest of the file into one field, so the row is short.
            ("b8", "malformed"),
        ]
        .map(|(a, b)| (a.to_string(), b.to_string()))
    );
    let b6 = &recs[5]["error"];
    assert_eq!(b6["field"], "channel");
    assert_eq!(b6["line"], 7);
    assert!(b6["file"].as_str().unwrap().ends_with("broken.csv"));
    assert_eq!(recs[1]["error"]["message"], "row has 5 fields, the header has 3");
    let (read, analysed, errors) = summary(&out);
    assert_eq!((read, analysed, errors), (8, 2, 6));
    // Another language is kept, as `und`, with a warning that says so.
    assert_eq!(recs[6]["lang"], "und");
    assert_eq!(recs[6]["warnings"][0]["kind"], "other_language");
    assert!(String::from_utf8_lossy(&out.stderr).contains("warnings: other_language 1"));
}

#[test]
fn broken_jsonl_gives_one_record_per_line() {
    let out = run(&["analyze", "tests/data/bad/mixed.jsonl"], b"");
    assert!(out.status.success());
    let recs = jsonl(&out);
    let kinds: Vec<String> = error_kinds(&recs).into_iter().map(|k| k.1).collect();
    assert_eq!(
        kinds,
        [
            "ok",
            "malformed",
            "malformed",
            "missing_field",
            "malformed",
            "invalid_utf8",
            "empty_text",
            "ok",
            "missing_field"
        ]
    );
    // A numeric id is kept as text; a line that cannot be parsed is named by file:line.
    assert_eq!(recs[7]["id"], "8");
    assert!(recs[1]["id"].as_str().unwrap().ends_with("mixed.jsonl:2"));
    assert_eq!(recs[3]["error"]["field"], "text");
    assert_eq!(summary(&out), (9, 2, 7));
}

#[test]
fn invalid_utf8_text_lines_and_strict_exit_code() {
    let out = run(&["analyze", "tests/data/bad/lines.txt", "--strict"], b"");
    assert_eq!(out.status.code(), Some(1), "--strict exits 1 when a record failed");
    let kinds: Vec<String> = error_kinds(&jsonl(&out)).into_iter().map(|k| k.1).collect();
    assert_eq!(kinds, ["ok", "invalid_utf8", "ok"]);
    assert_eq!(summary(&out), (3, 2, 1));
}

#[test]
fn huge_comments_analysed_up_to_the_limit_then_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.jsonl");
    let sentence = "Le conseiller était aimable mais la facture est fausse. ";
    let mut big = sentence.repeat(1_000_000 / sentence.len());
    big.push_str(&"!".repeat(1_000_000 - big.len()));
    assert_eq!(big.len(), 1_000_000);
    let over = "x".repeat((1 << 20) + 1);
    let body = format!(
        "{}\n{}\n",
        serde_json::json!({"id": "big", "text": big}),
        serde_json::json!({"id": "over", "text": over})
    );
    std::fs::write(&path, body).unwrap();
    let out = run(&["analyze", path.to_str().unwrap()], b"");
    let recs = jsonl(&out);
    assert_eq!(recs.len(), 2);
    assert_eq!(recs[0]["lang"], "fr");
    assert_eq!(recs[0]["text"].as_str().unwrap().len(), 1_000_000);
    assert_eq!(recs[1]["error"]["kind"], "text_too_long");
    assert_eq!(summary(&out), (2, 1, 1));
}

#[test]
fn bad_flags_and_files_give_clear_messages() {
    let cases: &[(&[&str], &str)] = &[
        (
            &["analyze", "tests/data/bad/broken.csv", "--text-column", "verbatim"],
            "no column `verbatim` in the header (columns: id, text, channel)",
        ),
        (
            &["analyze", "does-not-exist.csv"],
            "does-not-exist.csv: No such file or directory (os error 2)\n",
        ),
        (&["analyze", "rustfmt.toml"], "cannot tell the format from the file name"),
        (&["analyze", "-", "--output-format", "xml"], "invalid value 'xml'"),
        (&["analyze", "--lang", "de"], "invalid value 'de'"),
        (&["eval", "--preset", "airline-en", "--data-dir", "/nonexistent"], "not found"),
        (
            &["analyze", "--taxonomy", "tests/data/bad/taxonomy.toml"],
            "taxonomy.toml:6: cue `p*`: a prefix needs at least 3 letters",
        ),
        (
            &["analyze", "--taxonomy", "tests/data/bad/lines.txt"],
            "lines.txt:2: file is not valid UTF-8",
        ),
        (&["analyze", "--taxonomy", "no-such-taxonomy.toml"], "no-such-taxonomy.toml"),
    ];
    for (args, expected) in cases {
        let out = run(args, b"");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?} should exit 2, stderr: {err}");
        assert!(err.contains(expected), "{args:?}: expected `{expected}` in: {err}");
    }
}

#[test]
fn empty_input_is_fine() {
    let out = run(&["analyze", "-"], b"");
    assert!(out.status.success());
    assert!(out.stdout.is_empty());
    assert_eq!(summary(&out), (0, 0, 0));
    let _ = repo("");
}

/// `verbatim ARGS` with stdout and stderr as text.
fn run_text(args: &[&str]) -> (Option<i32>, String, String) {
    let out = run(args, b"");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    (out.status.code(), stdout, stderr)
}

#[test]
fn defect_10_missing_lexicons_dir_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("lexicnos");
    let missing = missing.to_str().unwrap();
    for cmd in ["check", "analyze"] {
        let (code, stdout, err) = run_text(&[cmd, "--lexicons", missing]);
        assert_eq!(code, Some(2), "{cmd}: {err}");
        assert!(err.contains(missing) && err.contains("no such lexicon directory"), "{err}");
        assert!(!stdout.contains("ok"), "{stdout}");
    }
}

#[test]
fn defect_10_lexicons_path_is_a_file() {
    let (code, _, err) = run_text(&["check", "--lexicons", "lexicons/taxonomy.toml"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("lexicons/taxonomy.toml: is a file, not a lexicon directory"), "{err}");
    assert!(err.contains("--taxonomy"), "the message points to the right flag: {err}");
}

#[test]
fn taxonomy_path_must_be_a_file() {
    let (code, _, err) = run_text(&["check", "--taxonomy", "lexicons"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("lexicons: is a directory, not a taxonomy file"), "{err}");
    let (code, _, err) = run_text(&["check", "--taxonomy", "no-such-taxonomy.toml"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("no-such-taxonomy.toml: no such taxonomy file"), "{err}");
}

#[test]
fn defect_10_lexicons_dir_without_lexicon_files_warns() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("taxonomie.toml"), "version = 1\n").unwrap();
    let path = dir.path().to_str().unwrap();
    let (code, stdout, _) = run_text(&["check", "--lexicons", path]);
    assert_eq!(code, Some(0), "warnings alone do not fail: {stdout}");
    assert!(
        stdout.contains(&format!("warning: {path}: holds none of the lexicon files")),
        "{stdout}"
    );
    assert!(stdout.contains("taxonomie.toml: not a lexicon file, not read"), "{stdout}");
    assert!(stdout.contains("replaced: 0 of 14 files"), "{stdout}");
    let taxonomy = stdout.lines().find(|l| l.trim_start().starts_with("taxonomy.toml"));
    assert!(taxonomy.is_some_and(|l| l.ends_with(" built-in")), "{stdout}");
    let (code, _, _) = run_text(&["check", "--lexicons", path, "--strict"]);
    assert_eq!(code, Some(1), "--strict fails on warnings");
}

/// A lexicon directory with one curated French file holding `tsv`.
fn lexicon_dir_with_curated_fr(tsv: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("curated")).unwrap();
    std::fs::write(dir.path().join("curated/sentiment_fr.tsv"), tsv).unwrap();
    dir
}

#[test]
fn defect_16_regex_like_cue_warns() {
    let dir = lexicon_dir_with_curated_fr("# test\nprix|tarif\t-1.5\ncorrect\t1\n");
    let path = dir.path().to_str().unwrap();
    let (code, stdout, _) = run_text(&["check", "--lexicons", path]);
    assert_eq!(code, Some(0), "{stdout}");
    let file = dir.path().join("curated/sentiment_fr.tsv");
    let want = format!("warning: {}:2: cue `prix|tarif` contains `|`", file.display());
    assert!(stdout.contains(&want), "{stdout}");
    assert!(stdout.contains("matched as `prix tarif`"), "{stdout}");
    assert!(stdout.contains("curated/sentiment_fr.tsv  ") && stdout.contains("replaced: 1 of 14"));
    assert_eq!(run_text(&["check", "--lexicons", path, "--strict"]).0, Some(1));
    // The analysis commands say how many warnings there are, in one line, and run.
    let out =
        run(&["analyze", "-", "--input-format", "text", "--lexicons", path], b"Prix correct\n");
    assert!(out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    let note: Vec<&str> = err.lines().filter(|l| l.contains("warning")).collect();
    assert_eq!(note.len(), 1, "{err}");
    assert!(
        note[0].contains("1 warning:") && note[0].contains("verbatim check --lexicons"),
        "{err}"
    );
}

#[test]
fn defect_16_regex_like_theme_cue_warns() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.toml");
    std::fs::write(
        &path,
        "version = 1\n[[theme]]\nid = \"price\"\nlabel = { fr = \"Prix\", en = \"Price\" }\n\
         cues = { fr = [\"prix\",\n \"(re)facturation\",\n \"Prix\"], en = [\"price\"] }\n",
    )
    .unwrap();
    let (code, stdout, _) = run_text(&["check", "--taxonomy", path.to_str().unwrap()]);
    assert_eq!(code, Some(0), "{stdout}");
    let file = path.display();
    assert!(
        stdout.contains(&format!("warning: {file}:6: theme `price` (fr): cue `(re)facturation`")),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!(
            "warning: {file}:7: theme `price` (fr): cue `Prix` repeats line 5 (`prix`"
        )),
        "{stdout}"
    );
}

#[test]
fn defect_16_duplicate_tsv_term_warns() {
    let dir =
        lexicon_dir_with_curated_fr("# test\nrésilier\t-2\nbon\t1\nRésilier\t-1\nresilier\t-1\n");
    let (code, stdout, _) = run_text(&["check", "--lexicons", dir.path().to_str().unwrap()]);
    assert_eq!(code, Some(0), "{stdout}");
    let file = dir.path().join("curated/sentiment_fr.tsv");
    for (line, text) in [(4, "Résilier"), (5, "resilier")] {
        let want =
            format!("warning: {}:{line}: term `{text}` repeats line 2 (`résilier`", file.display());
        assert!(stdout.contains(&want), "{want} in\n{stdout}");
    }
    assert!(stdout.contains("ok, with 2 warnings"), "{stdout}");
}

#[test]
fn shipped_lexicons_have_no_warnings() {
    let (code, stdout, _) = run_text(&["check", "--strict"]);
    assert_eq!(code, Some(0), "{stdout}");
    assert!(!stdout.contains("warning"), "{stdout}");
    assert!(stdout.lines().last() == Some("ok"), "{stdout}");
}

/// A labelled CSV of `n` rows (two labels), with an empty label on the rows of `unlabelled`
/// (0-based row numbers).
fn labelled_csv(dir: &tempfile::TempDir, n: usize, unlabelled: &[usize]) -> String {
    let mut csv = String::from("text,label\n");
    for i in 0..n {
        let label = if unlabelled.contains(&i) {
            ""
        } else if i % 2 == 0 {
            "billing"
        } else {
            "delivery"
        };
        let text = if i % 2 == 0 { "facture fausse" } else { "colis en retard" };
        csv.push_str(&format!("{text} {i},{label}\n"));
    }
    let path = dir.path().join("labelled.csv");
    std::fs::write(&path, csv).unwrap();
    path.to_str().unwrap().to_string()
}

#[test]
fn defect_16_train_rejects_nan_lr() {
    let dir = tempfile::tempdir().unwrap();
    let file = labelled_csv(&dir, 20, &[]);
    for (flag, value) in [
        ("--lr", "NaN"),
        ("--lr", "inf"),
        ("--lr", "0"),
        ("--lr", "-0.1"),
        ("--l2", "NaN"),
        ("--l2", "-1"),
        ("--embed-scale", "NaN"),
        ("--embed-scale", "0"),
        ("--bits", "30"),
    ] {
        let (code, _, err) = run_text(&["train", &file, flag, value]);
        assert_eq!(code, Some(2), "{flag} {value}: {err}");
        assert!(!err.contains("unexpected argument"), "a negative value is read: {err}");
        assert!(err.contains(flag) && err.contains("invalid value"), "{flag} {value}: {err}");
    }
}

#[test]
fn defect_16_train_rejects_zero_epochs() {
    let dir = tempfile::tempdir().unwrap();
    let file = labelled_csv(&dir, 20, &[]);
    let (code, _, err) = run_text(&["train", &file, "--epochs", "0"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("--epochs") && err.contains("at least one pass"), "{err}");
}

#[test]
fn defect_16_train_counts_empty_labels() {
    let dir = tempfile::tempdir().unwrap();
    let file = labelled_csv(&dir, 30, &[1, 4, 5, 9, 12, 20, 21]);
    let (code, _, err) = run_text(&["train", &file, "--epochs", "1", "--bits", "10"]);
    assert_eq!(code, Some(0), "{err}");
    // Row i is on line i + 2 (after the header).
    let want =
        "7 rows without a label were skipped (line numbers of the first few: 3, 6, 7, 11, 14)";
    assert!(err.contains(&format!("{file}: {want}")), "{err}");
    let (train, held_out) = err
        .lines()
        .find_map(|l| {
            let rest = l.strip_prefix("labelled.csv: ")?;
            let nums: Vec<usize> =
                rest.split(|c: char| !c.is_ascii_digit()).filter_map(|s| s.parse().ok()).collect();
            Some((nums[0], nums[1]))
        })
        .unwrap_or_else(|| panic!("no split line in {err}"));
    assert_eq!(train + held_out + 7, 30, "every row is accounted for: {err}");
}

#[test]
fn eval_counts_empty_labels() {
    let dir = tempfile::tempdir().unwrap();
    let file = labelled_csv(&dir, 12, &[0, 11]);
    let (code, _, err) = run_text(&["eval", &file, "--model", "lexicon"]);
    assert_eq!(code, Some(0), "{err}");
    let want = "2 rows without a label were skipped (line numbers of the first few: 2, 13)";
    assert!(err.contains(want), "{err}");
}
