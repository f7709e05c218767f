use std::sync::LazyLock;

use super::*;

static SHARED: LazyLock<Resources> =
    LazyLock::new(|| Resources::embedded().expect("embedded lexicons load"));

/// The embedded resources, loaded once for all unit tests.
pub(crate) fn shared() -> &'static Resources {
    &SHARED
}

#[test]
fn embedded_resources_load_and_are_not_empty() {
    let r = shared();
    assert!(r.cue_count(Lang::Fr) > 5000, "fr cues: {}", r.cue_count(Lang::Fr));
    assert!(r.cue_count(Lang::En) > 5000, "en cues: {}", r.cue_count(Lang::En));
    assert!(r.themes().len() >= 15);
    assert!(r.themes().iter().any(|t| t.id == "billing"));
    assert!(r.is_stopword(Lang::Fr, "le"));
    assert!(!r.is_stopword(Lang::Fr, "pas"), "negations must not be stop words");
}

fn load_taxonomy(src: &str) -> Result<Resources, Error> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("taxo.toml");
    std::fs::write(&path, src).unwrap();
    Resources::load(&LoadOptions { dir: None, taxonomy: Some(path) })
}

#[test]
fn bad_taxonomy_names_the_line() {
    let ok = "version = 1\n[[theme]]\nid = \"a\"\nlabel = { fr = \"A\", en = \"A\" }\ncues = { fr = [\"prix\"], en = [\"price\"] }\n";
    assert!(load_taxonomy(ok).is_ok());
    let syntax = ok.replace("cues = {", "cues = {{");
    let err = load_taxonomy(&syntax).err().unwrap().to_string();
    assert!(err.contains("taxo.toml:5:"), "{err}");
    let bad_cue = ok.replace("[\"price\"]", "[\"price\",\n \"p*\"]");
    let err = load_taxonomy(&bad_cue).err().unwrap().to_string();
    assert!(err.contains("taxo.toml:6:") && err.contains("3 letters"), "{err}");
    let bad_parent = ok.replace("id = \"a\"\n", "id = \"a\"\nparent = \"zz\"\n");
    let err = load_taxonomy(&bad_parent).err().unwrap().to_string();
    assert!(err.contains("taxo.toml:4:") && err.contains("unknown parent"), "{err}");
    let unknown = ok.replace("id = \"a\"\n", "id = \"a\"\ncolour = 1\n");
    let err = load_taxonomy(&unknown).err().unwrap().to_string();
    assert!(err.contains("taxo.toml:4:") && err.contains("colour"), "{err}");
}

#[test]
fn lexicon_dir_override_replaces_one_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("curated")).unwrap();
    std::fs::write(dir.path().join("curated/sentiment_fr.tsv"), "# test\nbidule\tnope\n").unwrap();
    let err = Resources::load(&LoadOptions { dir: Some(dir.path().into()), taxonomy: None })
        .err()
        .unwrap()
        .to_string();
    assert!(err.ends_with("sentiment_fr.tsv:2: column 2 must be a number, found `nope`"), "{err}");
}
