//! `--redact` end to end: French identifiers in the text, and metadata columns in the output
//! and the index.

use std::path::Path;

use serde_json::Value;

use crate::util::{jsonl, run};

/// A CSV whose customer column is an e-mail address for one record, a customer number for
/// another, with a phone in an extra column and French identifiers in the comments.
const CSV: &str = "\
id,text,customer,contact,date
r1,\"Remboursement toujours pas reçu, mon n° de sécu est 1 84 12 75 123 456 40\",jean.dupont@example.com,06/12/34/56/78,2025-03-12
r2,\"Virement à faire sur le RIB 30006 00001 12345678901 89, dossier 0612345678\",0123456789,33 6 12 34 56 78,2025-03-13
";

const COLUMNS: &[&str] =
    &["--customer-column", "customer", "--meta-column", "contact", "--date-column", "date"];

fn write_csv(dir: &Path) -> String {
    let path = dir.join("comments.csv");
    std::fs::write(&path, CSV).unwrap();
    path.to_str().unwrap().to_string()
}

fn analyze(csv: &str, redact: bool) -> (Vec<Value>, String) {
    let mut args = vec!["analyze", csv];
    args.extend_from_slice(COLUMNS);
    if redact {
        args.push("--redact");
    }
    let out = run(&args, b"");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    (jsonl(&out), String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn defect_13_meta_email_masked() {
    let tmp = tempfile::tempdir().unwrap();
    let csv = write_csv(tmp.path());

    // Without --redact the metadata is carried as written: the check below can fail.
    let (plain, _) = analyze(&csv, false);
    assert_eq!(plain[0]["meta"]["customer"], "jean.dupont@example.com");

    let (recs, stderr) = analyze(&csv, true);
    assert_eq!(recs.len(), 2);
    let (r1, r2) = (&recs[0], &recs[1]);
    assert_eq!(r1["meta"]["customer"], "[EMAIL]", "{r1}");
    assert_eq!(r1["meta"]["contact"], "[PHONE]", "{r1}");
    assert_eq!(r2["meta"]["contact"], "[PHONE]", "{r2}");
    // A customer number in the customer column is not a phone; dates pass unchanged.
    assert_eq!(r2["meta"]["customer"], "0123456789", "{r2}");
    assert_eq!(r1["meta"]["date"], "2025-03-12", "{r1}");
    for r in &recs {
        let line = r.to_string();
        assert!(!line.contains('@') && !line.contains("12 34 56"), "PII left in {line}");
    }

    // French identifiers in the text, and a reference number left as it is.
    assert!(r1["text"].as_str().unwrap().ends_with("sécu est [NIR]"), "{r1}");
    let t2 = r2["text"].as_str().unwrap();
    assert!(t2.contains("le RIB [RIB], dossier 0612345678"), "{t2}");

    // Text and meta masks are counted together, per record and in the run summary.
    let kinds = |r: &Value| -> Vec<(String, u64)> {
        r["redactions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| (c["kind"].as_str().unwrap().to_string(), c["count"].as_u64().unwrap()))
            .collect()
    };
    let pair = |k: &str, n: u64| (k.to_string(), n);
    assert_eq!(kinds(r1), [pair("email", 1), pair("phone", 1), pair("nir", 1)]);
    assert_eq!(kinds(r2), [pair("phone", 1), pair("rib", 1)]);
    assert!(stderr.contains("redacted: email 1, nir 1, phone 2, rib 1"), "{stderr}");
}

#[test]
fn defect_13_meta_email_not_indexed() {
    let tmp = tempfile::tempdir().unwrap();
    let csv = write_csv(tmp.path());
    let idx = tmp.path().join("idx");
    let mut args = vec!["index", "--index", idx.to_str().unwrap(), "--quiet", &csv, "--redact"];
    args.extend_from_slice(COLUMNS);
    let out = run(&args, b"");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    let search = |extra: &[&str]| -> Value {
        let mut all = vec!["search", "--index", idx.to_str().unwrap(), "--format", "json"];
        all.extend_from_slice(extra);
        let out = run(&all, b"");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let all = search(&["--limit", "10"]);
    assert_eq!(all["total"], 2, "{all}");
    let stored = all.to_string();
    assert!(!stored.contains('@') && !stored.contains("12 34 56"), "PII in the index: {stored}");
    assert_eq!(search(&["--customer", "jean.dupont@example.com"])["total"], 0);
}
