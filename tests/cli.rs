//! The command line on the shipped sample files.

use crate::util::{SAMPLE_ARGS, jsonl, run, summary};

#[test]
fn help_has_examples() {
    let out = run(&["analyze", "--help"], b"");
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(help.contains("Examples:") && help.contains("--text-column"), "{help}");
}

#[test]
fn sample_output_keeps_order_fields_and_offsets() {
    let out = run(SAMPLE_ARGS, b"");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let recs = jsonl(&out);
    let (read, analysed, errors) = summary(&out);
    assert_eq!(read as usize, recs.len());
    assert_eq!(read, analysed + errors);
    let input = std::fs::read_to_string(crate::util::repo("samples/comments.csv")).unwrap();
    let mut rdr = csv::Reader::from_reader(input.as_bytes());
    let ids: Vec<String> = rdr.records().map(|r| r.unwrap()[0].to_string()).collect();
    let out_ids: Vec<&str> = recs.iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(ids, out_ids, "output order = input order");
    for r in recs.iter().filter(|r| r.get("error").is_none()) {
        for key in ["id", "lang", "text", "sentiment", "themes", "mode", "churn"] {
            assert!(r.get(key).is_some(), "missing `{key}` in {r}");
        }
        let text = r["text"].as_str().unwrap();
        let mut spans: Vec<&serde_json::Value> =
            r["sentiment"]["evidence"].as_array().unwrap().iter().collect();
        for t in r["themes"].as_array().unwrap() {
            spans.extend(t["evidence"].as_array().unwrap());
        }
        spans.extend(r["mode"]["evidence"].as_array().unwrap());
        spans.extend(r["churn"]["evidence"].as_array().unwrap());
        for e in spans {
            let (s, en) =
                (e["start"].as_u64().unwrap() as usize, e["end"].as_u64().unwrap() as usize);
            assert_eq!(
                &text[s..en],
                e["text"].as_str().unwrap(),
                "evidence offsets slice the text"
            );
        }
    }
}

#[test]
fn csv_output_and_stdin_jsonl() {
    let input = br#"{"id": "a", "text": "Livraison rapide mais facture fausse"}
{"id": "b", "text": "Great app, thanks!"}
"#;
    let out = run(&["analyze", "-", "--output-format", "csv"], input);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let mut rdr = csv::Reader::from_reader(text.as_bytes());
    let headers = rdr.headers().unwrap().clone();
    assert_eq!(&headers[0], "id");
    let rows: Vec<csv::StringRecord> = rdr.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 2);
    let col = |name: &str| headers.iter().position(|h| h == name).unwrap();
    assert_eq!(&rows[0][col("lang")], "fr");
    assert_eq!(&rows[1][col("lang")], "en");
    assert!(rows[0][col("theme_sentiments")].contains("delivery:positive"), "{:?}", &rows[0]);
    assert!(rows[0][col("theme_sentiments")].contains("billing:negative"), "{:?}", &rows[0]);
}

#[test]
fn redaction_masks_pii_in_text_and_counts_it() {
    let input = "Appelez-moi au 06 12 34 56 78 ou écrivez à jean.dupont@example.com, IBAN FR76 3000 6000 0112 3456 7890 189\n";
    let out = run(&["analyze", "-", "--input-format", "text", "--redact"], input.as_bytes());
    let recs = jsonl(&out);
    let text = recs[0]["text"].as_str().unwrap();
    assert!(
        !text.contains("06 12") && !text.contains("jean.dupont") && !text.contains("3000 6000"),
        "{text}"
    );
    assert!(
        text.contains("[PHONE]") && text.contains("[EMAIL]") && text.contains("[IBAN]"),
        "{text}"
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("redacted: email 1, iban 1, phone 1"), "{err}");
}

#[test]
fn custom_taxonomy_replaces_default() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.toml");
    std::fs::write(
        &path,
        "version = 1\n[[theme]]\nid = \"parking\"\nlabel = { fr = \"Parking\", en = \"Parking\" }\ncues = { fr = [\"parking\", \"stationnement\"], en = [\"parking\"] }\n",
    )
    .unwrap();
    let out = run(
        &["analyze", "-", "--taxonomy", path.to_str().unwrap()],
        "Le parking est trop cher et la facture fausse\n".as_bytes(),
    );
    let recs = jsonl(&out);
    let ids: Vec<&str> =
        recs[0]["themes"].as_array().unwrap().iter().map(|t| t["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["parking"]);
}

#[test]
fn check_and_tokenize_commands() {
    let out = run(&["check"], b"");
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("themes:"));
    let out = run(&["tokenize", "L’appli plante"], b"");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["lang"], "fr");
    assert_eq!(v["tokens"][1]["key"], "appli");
    assert_eq!(v["tokens"][1]["start_offset"], 4);
}

#[test]
fn meta_columns_are_carried_and_reserved_names_refused() {
    let input = "id,text,segment\n1,Super service,pro\n2,Nul,\n";
    let out = run(
        &["analyze", "-", "--input-format", "csv", "--meta-column", "segment"],
        input.as_bytes(),
    );
    let recs = jsonl(&out);
    assert_eq!(recs[0]["meta"]["segment"], "pro");
    assert!(recs[1].get("meta").is_none(), "an empty value is left out");
    let out = run(
        &["analyze", "-", "--input-format", "csv", "--meta-column", "customer"],
        input.as_bytes(),
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--customer-column"));
}
