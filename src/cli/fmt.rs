//! `autopilot fmt PATH... [--check|--diff]`: canonical formatting.

use std::path::PathBuf;

use super::Outcome;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Files or directories (searched recursively for `*.apr`).
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// Write nothing; exit 1 when a file is not formatted.
    #[arg(long, conflicts_with = "diff")]
    check: bool,
    /// Write nothing; print a unified diff of the changes.
    #[arg(long)]
    diff: bool,
}

pub fn run(_args: Args) -> Outcome {
    Outcome::Usage
}
