//! `verbatim tokenize`: how a text is tokenised (offsets, keys, stems, stop words, language).

use std::process::ExitCode;

use anyhow::Result;
use clap::Args;

use verbatim::{Lang, Resources};

use crate::args::LangArg;

#[derive(Args)]
pub(crate) struct TokenizeArgs {
    /// The text to tokenise
    text: String,
    /// Language for stems (default: detected)
    #[arg(long, value_enum, default_value = "auto")]
    lang: LangArg,
}

pub(crate) fn run(args: TokenizeArgs) -> Result<ExitCode> {
    let res = Resources::embedded()?;
    let toks = verbatim::tokenize::tokenize(&args.text);
    let lang = match args.lang.lang() {
        Some(l) => l,
        None => match verbatim::detect::detect(&toks, &res) {
            verbatim::detect::Detected::Supported(l) => l,
            verbatim::detect::Detected::Other(..) => Lang::Und,
        },
    };
    let stemmers = verbatim::tokenize::Stemmers::default();
    let tokens: Vec<serde_json::Value> = toks
        .tokens()
        .iter()
        .enumerate()
        .map(|(i, t)| {
            serde_json::json!({
                "token": toks.surface(i),
                "key": toks.key(i),
                "stem": (t.kind == verbatim::tokenize::TokenKind::Word).then(|| stemmers.stem(lang, toks.surface(i))),
                "type": t.kind,
                "start_offset": t.start,
                "end_offset": t.end,
                "position": i,
                "stopword": res.is_stopword(lang, toks.key(i)),
            })
        })
        .collect();
    let sentences: Vec<_> = toks
        .sentences()
        .iter()
        .map(|s| serde_json::json!({"start": s.start, "end": s.end}))
        .collect();
    let out = serde_json::json!({"lang": lang, "tokens": tokens, "sentences": sentences});
    outln!("{}", serde_json::to_string_pretty(&out)?);
    Ok(ExitCode::SUCCESS)
}
