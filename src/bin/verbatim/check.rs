//! `verbatim check`: load and validate the lexicons and the taxonomy.

use std::process::ExitCode;

use anyhow::Result;

use verbatim::Lang;

use crate::args::DataArgs;

pub(crate) fn run(args: DataArgs) -> Result<ExitCode> {
    let res = args.load()?;
    println!("data files:");
    for s in res.sources() {
        println!("  {s}");
    }
    println!("themes: {}", res.themes().len());
    for lang in [Lang::Fr, Lang::En] {
        println!("cues compiled ({}): {}", lang.as_str(), res.cue_count(lang));
    }
    println!("ok");
    Ok(ExitCode::SUCCESS)
}
