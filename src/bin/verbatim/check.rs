//! `verbatim check`: load and validate the lexicons and the taxonomy, print what is loaded and
//! what looks wrong in it.

use std::process::ExitCode;

use anyhow::Result;
use clap::Args;

use verbatim::{Lang, Resources};

use crate::args::DataArgs;

#[derive(Args)]
pub(crate) struct CheckArgs {
    #[command(flatten)]
    data: DataArgs,
    /// Exit with status 1 when there is any warning (for CI)
    #[arg(long)]
    strict: bool,
}

pub(crate) fn run(args: CheckArgs) -> Result<ExitCode> {
    // Errors stop here with status 2; warnings are listed below.
    let res = Resources::load(&args.data.options())?;
    print_sources(&res, args.data.overrides())?;
    outln!("themes: {}", res.themes().len());
    for lang in [Lang::Fr, Lang::En] {
        outln!("cues compiled ({}): {}", lang.as_str(), res.cue_count(lang));
    }
    for w in res.warnings() {
        outln!("warning: {w}");
    }
    let n = res.warnings().len();
    if n == 0 {
        outln!("ok");
        return Ok(ExitCode::SUCCESS);
    }
    outln!("ok, with {n} warning{}", if n == 1 { "" } else { "s" });
    Ok(if args.strict { ExitCode::from(1) } else { ExitCode::SUCCESS })
}

/// Each data file with where it comes from, so that a file meant to replace a default and
/// misnamed shows up as `built-in`.
fn print_sources(res: &Resources, overrides: bool) -> Result<()> {
    outln!("data files:");
    let width = res.sources().iter().map(|f| f.name.len()).max().unwrap_or(0);
    for f in res.sources() {
        let from = match &f.path {
            Some(p) => p.display().to_string(),
            None => "built-in".to_string(),
        };
        outln!("  {:width$}  {from}", f.name);
    }
    if overrides {
        let replaced = res.sources().iter().filter(|f| f.path.is_some()).count();
        outln!(
            "replaced: {replaced} of {} files; the others are the built-in defaults",
            res.sources().len()
        );
    }
    Ok(())
}
