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
            // The quote never closes: its row is one malformed record, and reading resumes on
            // the next line (defect 3: it used to swallow the rest of the file).
            ("b8", "malformed"),
            ("b9", "ok"),
        ]
        .map(|(a, b)| (a.to_string(), b.to_string()))
    );
    let b6 = &recs[5]["error"];
    assert_eq!(b6["field"], "channel");
    assert_eq!(b6["line"], 7);
    assert!(b6["file"].as_str().unwrap().ends_with("broken.csv"));
    assert_eq!(recs[1]["error"]["message"], "row has 5 fields, the header has 3");
    let (read, analysed, errors) = summary(&out);
    assert_eq!((read, analysed, errors), (9, 3, 6));
    let b8 = recs[7]["error"]["message"].as_str().unwrap();
    assert!(b8.contains("opened on line 9") && b8.contains("resumes on line 10"), "{b8}");
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
            "no column `verbatim` in the header (columns: id, text, channel;",
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

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn ids(records: &[serde_json::Value]) -> Vec<String> {
    records.iter().map(|r| r["id"].as_str().unwrap_or_default().to_string()).collect()
}

#[test]
fn defect_2_two_text_files_give_distinct_traceable_ids() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.txt");
    let b = dir.path().join("b.txt");
    std::fs::write(&a, "un\ndeux\n").unwrap();
    std::fs::write(&b, "trois\nquatre\ncinq\n").unwrap();
    let out =
        run(&["analyze", a.to_str().unwrap(), b.to_str().unwrap(), "--model", "lexicon"], b"");
    let got = ids(&jsonl(&out));
    let a = a.display().to_string();
    let b = b.display().to_string();
    assert_eq!(
        got,
        [format!("{a}:1"), format!("{a}:2"), format!("{b}:1"), format!("{b}:2"), format!("{b}:3")]
    );
    assert!(!stderr(&out).contains("ids repeated"), "{}", stderr(&out));
}

#[test]
fn defect_2_repeated_ids_are_counted_and_shown() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("jan.csv");
    let b = dir.path().join("feb.csv");
    std::fs::write(&a, "id,text\n1,un\n2,deux\n").unwrap();
    std::fs::write(&b, "id,text\n1,trois\n3,quatre\n").unwrap();
    let out =
        run(&["analyze", a.to_str().unwrap(), b.to_str().unwrap(), "--model", "lexicon"], b"");
    assert_eq!(jsonl(&out).len(), 4, "a repeated id is still analysed and written");
    let err = stderr(&out);
    assert!(
        err.contains(&format!("ids repeated: 1 (first: `1` again at {}:2)", b.display())),
        "{err}"
    );
}

#[test]
fn defect_3_a_stray_quote_in_a_big_csv_costs_one_row() {
    // The 1M-row case runs in scripts/reliability.sh; 100k rows here.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.csv");
    let mut body = String::from("id,text\n");
    for i in 0..100_000 {
        let q = if i == 2 { "\"" } else { "" };
        body.push_str(&format!("r{i},{q}Commentaire {i} sur la livraison\n"));
    }
    std::fs::write(&path, body).unwrap();
    let out =
        run(&["analyze", path.to_str().unwrap(), "--model", "lexicon", "-o", "/dev/null"], b"");
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(summary(&out), (100_000, 99_999, 1));
}

#[test]
fn defect_4_unreadable_inputs_are_fatal_and_never_records() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    for i in 0..20_000 {
        writeln!(
            e,
            "{{\"id\":\"g{i}\",\"text\":\"Le remboursement {i} est arrivé à temps, merci\"}}"
        )
        .unwrap();
    }
    let gz = e.finish().unwrap();
    let cut = dir.path().join("cut.jsonl.gz");
    std::fs::write(&cut, &gz[..gz.len() / 2]).unwrap();
    let out = run(&["analyze", cut.to_str().unwrap(), "--model", "lexicon"], b"");
    assert_eq!(out.status.code(), Some(2), "a truncated input is fatal");
    let recs = jsonl(&out);
    assert!(recs.len() > 1000, "what was read before the cut is written: {}", recs.len());
    assert!(recs.iter().all(|r| r.get("error").is_none()), "the cut is not a record");
    assert!(stderr(&out).contains("truncated"), "{}", stderr(&out));
    let (read, analysed, errors) = summary(&out);
    assert_eq!((read, errors), (recs.len() as u64, 0));
    assert_eq!(analysed, read);

    let fake = dir.path().join("fake.jsonl.gz");
    std::fs::write(&fake, "{\"id\":\"1\",\"text\":\"pas compressé\"}\n").unwrap();
    let out = run(&["analyze", fake.to_str().unwrap()], b"");
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    assert!(stderr(&out).contains("not gzip-compressed"), "{}", stderr(&out));

    let out = run(&["analyze", dir.path().to_str().unwrap()], b"");
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    assert!(stderr(&out).contains("is a directory"), "{}", stderr(&out));
}

#[test]
fn defect_7_bom_in_a_file_and_on_stdin() {
    let out = run(&["analyze", "tests/data/bad/bom.jsonl", "--model", "lexicon"], b"");
    assert_eq!(ids(&jsonl(&out)), ["j1", "j2"]);
    assert_eq!(summary(&out), (2, 2, 0));
    let bytes = std::fs::read(repo("tests/data/bad/bom.jsonl")).unwrap();
    let out = run(&["analyze", "-", "--model", "lexicon"], &bytes);
    assert_eq!(ids(&jsonl(&out)), ["j1", "j2"], "stdin with a BOM is still JSONL");
}

#[test]
fn defect_9_french_excel_export() {
    let args = [
        "analyze",
        "tests/data/bad/excel-fr.csv",
        "--text-column",
        "verbatim",
        "--model",
        "lexicon",
    ];
    let out = run(&args, b"");
    let recs = jsonl(&out);
    assert_eq!(
        error_kinds(&recs),
        [("x1", "invalid_utf8"), ("x2", "invalid_utf8")]
            .map(|(a, b)| (a.to_string(), b.to_string()))
    );
    let msg = recs[0]["error"]["message"].as_str().unwrap();
    assert!(msg.contains("--encoding windows-1252"), "{msg}");
    let out =
        run(&[&args[..], &["--encoding", "windows-1252", "--date-column", "date"]].concat(), b"");
    let recs = jsonl(&out);
    assert_eq!(recs[0]["text"], "Très déçue par le délai de remboursement");
    assert_eq!(
        recs[1]["text"], "Conseillère très aimable; dossier réglé vite",
        "a quoted `;` stays"
    );
    assert_eq!(recs[1]["meta"]["date"], "04/02/2025");
    assert_eq!(summary(&out), (2, 2, 0));
}

#[test]
fn defect_15_crlf_csv_error_lines() {
    let out = run(&["analyze", "tests/data/bad/crlf.csv", "--model", "lexicon"], b"");
    let recs = jsonl(&out);
    assert_eq!(recs[1]["text"], "deux\r\nlignes");
    assert_eq!(recs[2]["error"]["line"], 5, "c3 starts on line 5 of the file");
}

#[test]
fn defect_16_output_over_an_input_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("in.txt");
    std::fs::write(&path, "Très bon accueil\n").unwrap();
    let p = path.to_str().unwrap();
    let out = run(&["analyze", p, "-o", p], b"");
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("also an input"), "{}", stderr(&out));
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        "Très bon accueil\n",
        "the input is intact"
    );
    // A missing input: the output is not created.
    let o = dir.path().join("out.jsonl");
    let out = run(&["analyze", p, "missing.csv", "-o", o.to_str().unwrap()], b"");
    assert_eq!(out.status.code(), Some(2));
    assert!(!o.exists());
}

#[test]
fn defect_16_stdin_csv_and_gzip_are_told() {
    let out = run(
        &["analyze", "-", "--model", "lexicon"],
        b"id,text\nk1,Merci pour tout\nk2,Colis perdu\n",
    );
    assert_eq!(ids(&jsonl(&out)), ["k1", "k2"], "stdin CSV read as CSV, not as lines of text");
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut e, b"{\"id\":\"z1\",\"text\":\"ok\"}\n").unwrap();
    let out = run(&["analyze", "-", "--model", "lexicon"], &e.finish().unwrap());
    assert_eq!(ids(&jsonl(&out)), ["z1"]);
}

#[test]
fn defect_16_lone_cr_line_ends() {
    let out = run(&["analyze", "tests/data/bad/lone-cr.txt", "--model", "lexicon"], b"");
    assert_eq!(summary(&out), (3, 3, 0));
    let recs = jsonl(&out);
    assert_eq!(recs[1]["text"], "Service client injoignable");
}

#[test]
fn defect_16_numeric_ids_keep_their_digits() {
    let out = run(&["analyze", "tests/data/bad/numeric-ids.jsonl", "--model", "lexicon"], b"");
    assert_eq!(ids(&jsonl(&out)), ["12345678901234567890", "1.5e3"]);
}

#[test]
fn defect_12_csv_output_has_every_column() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("in.csv");
    std::fs::write(&path, "id,date,customer,channel,score,segment,text\nq1,2025-03-01,C1,email,2,pro,Facture fausse\n").unwrap();
    let args = [
        "analyze",
        path.to_str().unwrap(),
        "--date-column",
        "date",
        "--customer-column",
        "customer",
        "--channel-column",
        "channel",
        "--score-column",
        "score",
        "--meta-column",
        "segment",
        "--output-format",
        "csv",
        "--model",
        "lexicon",
    ];
    let out = run(&args, b"");
    let mut rdr = csv::Reader::from_reader(out.stdout.as_slice());
    let header: Vec<String> = rdr.headers().unwrap().iter().map(String::from).collect();
    let first = rdr.records().next().unwrap().unwrap();
    let at = |c: &str| {
        let i = header
            .iter()
            .position(|h| h == c)
            .unwrap_or_else(|| panic!("no column {c} in {header:?}"));
        first[i].to_string()
    };
    assert_eq!(
        [
            at("date"),
            at("customer"),
            at("channel"),
            at("score"),
            at("meta.segment"),
            at("warnings")
        ],
        ["2025-03-01", "C1", "email", "2", "pro", ""]
    );
}

/// Runs `verbatim ARGS` with its standard output a pipe whose reading end is already closed.
fn run_into_closed_pipe(args: &[&str]) -> std::process::Output {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    std::process::Command::new(env!("CARGO_BIN_EXE_verbatim"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdin(std::process::Stdio::null())
        .stdout(writer)
        .stderr(std::process::Stdio::piped())
        .output()
        .unwrap()
}

#[test]
fn defect_11_a_closed_pipe_ends_quietly() {
    let dir = tempfile::tempdir().unwrap();
    let labelled = dir.path().join("gold.csv");
    std::fs::write(&labelled, "text,label\nTrès bien,positive\nNul,negative\n").unwrap();
    let cases: &[&[&str]] = &[
        &["tokenize", "Livraison rapide mais facture fausse"],
        &["check"],
        &["eval", labelled.to_str().unwrap(), "--model", "lexicon"],
        &["analyze", "samples/comments.csv", "--model", "lexicon", "-q"],
    ];
    for args in cases {
        let out = run_into_closed_pipe(args);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
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
    assert!(stdout.contains("replaced: 0 of 15 files"), "{stdout}");
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
    assert!(stdout.contains("curated/sentiment_fr.tsv  ") && stdout.contains("replaced: 1 of 15"));
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

/// A lexicon directory holding only `families.toml` with `text`.
fn lexicon_dir_with_families(text: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("families.toml"), text).unwrap();
    dir
}

const FAMILIES_HEAD: &str = "version = 1\nsyntax = \"pattern\"\n\
    [classes.fr]\nduration = \"(minutes|heures)\"\n\
    [[family]]\nid = \"waiting\"\npolarity = \"negative\"\nweight = 1.5\n\
    provenance = \"test\"\n";

#[test]
fn a_broken_pattern_file_is_an_error_naming_file_line_family_and_place() {
    let cases = [
        (
            "patterns.fr = [\"trop d'attente\",\n  \"attente <durée>\"]\n",
            11,
            "character 9: unknown class `<durée>`",
        ),
        ("patterns.fr = [\"(trop d'attente\"]\n", 10, "character 1: unbalanced parenthesis"),
        ("patterns.fr = [\"(trop|) d'attente\"]\n", 10, "character 7: empty alternative"),
        ("patterns.fr = [\"... attente\"]\n", 10, "character 1: a gap `...` at the start"),
        ("patterns.fr = [\"attente ...\"]\n", 10, "character 9: a gap `...` at the end"),
        (
            "patterns.en = [\"wait <duration>\"]\n",
            10,
            "unknown class `<duration>` (defined here: digits)",
        ),
    ];
    for (patterns, line, message) in cases {
        let dir = lexicon_dir_with_families(&format!("{FAMILIES_HEAD}{patterns}"));
        let (code, stdout, stderr) =
            run_text(&["check", "--lexicons", dir.path().to_str().unwrap()]);
        assert_eq!(code, Some(2), "{patterns}: {stdout}{stderr}");
        let file = dir.path().join("families.toml");
        let want = format!("{}:{line}: family `waiting` (", file.display());
        assert!(stderr.contains(&want) && stderr.contains(message), "{patterns}: {stderr}");
    }
    // A class that does not parse is named with its own line.
    let bad_class = FAMILIES_HEAD.replace("(minutes|heures)", "(minutes|heures");
    let dir = lexicon_dir_with_families(&format!("{bad_class}patterns.fr = [\"attente\"]\n"));
    let (code, _, stderr) = run_text(&["check", "--lexicons", dir.path().to_str().unwrap()]);
    assert_eq!(code, Some(2));
    assert!(
        stderr.contains("families.toml:4: [classes.fr] `duration`: character 1: unbalanced"),
        "{stderr}"
    );
    // An unknown churn reason or syntax is an error too.
    let bad = FAMILIES_HEAD
        .replace("weight = 1.5\n", "weight = 1.5\nchurn = { reason = \"bored\", weight = 0.2 }\n");
    let dir = lexicon_dir_with_families(&format!("{bad}patterns.fr = [\"attente\"]\n"));
    let (code, _, stderr) = run_text(&["check", "--lexicons", dir.path().to_str().unwrap()]);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("unknown churn reason `bored`"), "{stderr}");
    let bad = FAMILIES_HEAD.replace("\"pattern\"", "\"regex\"");
    let dir = lexicon_dir_with_families(&format!("{bad}patterns.fr = [\"attente\"]\n"));
    let (_, _, stderr) = run_text(&["check", "--lexicons", dir.path().to_str().unwrap()]);
    assert!(
        stderr.contains("families.toml:2: syntax `regex`: expected `pattern` or `plain`"),
        "{stderr}"
    );
}

#[test]
fn pattern_cues_are_not_warned_about_and_plain_ones_still_are() {
    // The same cue is meant in a pattern file and looks like a mistake in a plain one.
    let text = format!("{FAMILIES_HEAD}patterns.fr = [\"(trop|beaucoup) d'attente\"]\n");
    let dir = lexicon_dir_with_families(&text);
    let (code, stdout, _) =
        run_text(&["check", "--lexicons", dir.path().to_str().unwrap(), "--strict"]);
    assert_eq!(code, Some(0), "{stdout}");
    assert!(stdout.contains("families.toml  ") && !stdout.contains("warning"), "{stdout}");
    let plain = text
        .replace("\"pattern\"", "\"plain\"")
        .replace("[classes.fr]\nduration = \"(minutes|heures)\"\n", "");
    let dir = lexicon_dir_with_families(&plain);
    let (code, stdout, _) = run_text(&["check", "--lexicons", dir.path().to_str().unwrap()]);
    assert_eq!(code, Some(0), "{stdout}");
    assert!(
        stdout.contains("family `waiting` (fr): cue `(trop|beaucoup) d'attente` contains"),
        "{stdout}"
    );
    // And the pattern is what `analyze` matches, named in the evidence.
    let dir = lexicon_dir_with_families(&text);
    let out = run(
        &[
            "analyze",
            "-",
            "--input-format",
            "text",
            "--model",
            "lexicon",
            "--lexicons",
            dir.path().to_str().unwrap(),
        ],
        b"Beaucoup d'attente au guichet\n",
    );
    let rec = &jsonl(&out)[0];
    let ev = &rec["sentiment"]["evidence"][0];
    assert_eq!(ev["family"], "waiting", "{rec}");
    assert_eq!(ev["cue"], "(trop|beaucoup) d'attente");
    assert_eq!(rec["sentiment"]["label"], "negative");
}
