//! `--model` and `--head`: which learned heads the analyser calls.

use std::path::PathBuf;

use anyhow::Result;
#[cfg(not(feature = "onnx"))]
use anyhow::bail;
use clap::{Args, ValueEnum};

use verbatim::Analyzer;

/// The tone model used when `--model` is not given: the fast head when the build can run it.
#[cfg(feature = "onnx")]
const DEFAULT_MODEL: &str = "fast";
#[cfg(not(feature = "onnx"))]
const DEFAULT_MODEL: &str = "lexicon";

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ModelArg {
    /// Hashed n-grams and the lexicon's reading into a linear head (ONNX): about twenty thousand a second
    Fast,
    /// The fast features plus a multilingual-e5-small sentence embedding: tens a second, more
    /// accurate (encoder from `bash scripts/setup_models.sh`)
    Accurate,
    /// The lexicons and rules alone (no ONNX Runtime needed)
    Lexicon,
}

#[derive(Args, Clone)]
#[command(next_help_heading = "Model")]
pub(crate) struct ModelArgs {
    /// Which tone model decides the label (the evidence spans always come from the lexicons)
    #[arg(long, value_enum, default_value = DEFAULT_MODEL)]
    pub model: ModelArg,
    /// A head trained with `verbatim train` (FILE.onnx, its FILE.json card beside it); its
    /// labels go to `predictions`, or decide the tone if its task is `sentiment`. Repeatable
    #[arg(long, value_name = "FILE.onnx")]
    pub head: Vec<PathBuf>,
}

impl ModelArgs {
    /// Adds the chosen heads to `analyzer`.
    #[cfg(feature = "onnx")]
    pub fn attach(&self, mut analyzer: Analyzer) -> Result<Analyzer> {
        use anyhow::Context;
        use verbatim::model::scorer::{Scorer, Shipped};
        // The fast head is a gather and a sum: one thread is plenty, and leaves the cores to the
        // lexicon pass. The encoder wants them all.
        let shipped = match self.model {
            ModelArg::Fast => Some((Shipped::Fast, 1)),
            ModelArg::Accurate => Some((Shipped::Accurate, 0)),
            ModelArg::Lexicon => None,
        };
        if let Some((which, threads)) = shipped {
            let s = Scorer::shipped(which, threads).context(
                "cannot load the tone model (use --model lexicon to run without ONNX Runtime)",
            )?;
            analyzer = analyzer.with_head(Box::new(s))?;
        }
        for path in &self.head {
            let s = Scorer::open(path, 1)
                .with_context(|| format!("cannot load the head {}", path.display()))?;
            analyzer = analyzer.with_head(Box::new(s))?;
        }
        Ok(analyzer)
    }

    /// Adds the chosen heads to `analyzer`.
    #[cfg(not(feature = "onnx"))]
    pub fn attach(&self, analyzer: Analyzer) -> Result<Analyzer> {
        if self.model != ModelArg::Lexicon || !self.head.is_empty() {
            bail!(
                "this build has no ONNX Runtime support (built without the `onnx` feature): only \
                 --model lexicon is available"
            );
        }
        Ok(analyzer)
    }
}
