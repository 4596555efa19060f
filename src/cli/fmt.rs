//! `autopilot fmt PATH... [--check|--diff]`: canonical formatting.
//!
//! A file with syntax errors is reported and left alone; so is a file the
//! formatter could not reproduce exactly (it never writes a changed program).

use std::path::PathBuf;

use super::Outcome;
use crate::compile;
use crate::diagnostic;
use crate::source::SourceMap;
use crate::syntax::fmt;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Files or directories (searched recursively for `*.apr`).
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// Write nothing; exit 1 when a file is not formatted.
    #[arg(long, conflicts_with = "diff")]
    check: bool,
    /// Write nothing; print a unified diff of the changes; exit 1 if any.
    #[arg(long)]
    diff: bool,
}

pub fn run(args: Args) -> Outcome {
    let files = match compile::read_paths(&args.paths) {
        Ok(files) => files,
        Err(e) => {
            eprintln!("error: {e}");
            return Outcome::Usage;
        }
    };
    let mut sources = SourceMap::new();
    let mut problems = false;
    let mut unformatted = Vec::new();
    for (name, text) in files {
        let id = sources.add(&name, text.as_str());
        let formatted = match fmt::format_source(id, &text) {
            Ok(f) => f,
            Err(diags) => {
                eprint!(
                    "{}",
                    diagnostic::render_all(&sources, &diags, super::style())
                );
                problems = true;
                continue;
            }
        };
        if formatted == text {
            continue;
        }
        if args.diff {
            let diff = similar::TextDiff::from_lines(&text, &formatted);
            print!(
                "{}",
                diff.unified_diff().context_radius(3).header(&name, &name)
            );
            unformatted.push(name);
        } else if args.check {
            println!("{name}");
            unformatted.push(name);
        } else if let Err(e) = std::fs::write(&name, formatted) {
            eprintln!("error: {name}: {e}");
            return Outcome::Usage;
        }
    }
    if (args.check || args.diff) && !unformatted.is_empty() {
        eprintln!("{} file(s) not formatted", unformatted.len());
        return Outcome::Problems;
    }
    if problems {
        Outcome::Problems
    } else {
        Outcome::Ok
    }
}
