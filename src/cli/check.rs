//! `autopilot check PATH...`: parse and type-check, every diagnostic of every file.

use std::path::PathBuf;

use super::{Exit, Format};
use crate::diagnostic;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Files or directories (searched recursively for `*.apr`).
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    format: Format,
}

pub fn run(args: Args) -> Exit {
    let Some(c) = super::load(&args.paths) else {
        return Exit::Usage;
    };
    let errors = c.diagnostics.iter().filter(|d| d.is_error()).count();
    let warnings = c.diagnostics.len() - errors;
    let files = c.user_files().count();
    match args.format {
        Format::Json => {
            let diags: Vec<_> = c
                .diagnostics
                .iter()
                .map(|d| diagnostic::to_json(&c.sources, d))
                .collect();
            let out = serde_json::json!({
                "files": files,
                "policies": c.checked.program.policies.len(),
                "errors": errors,
                "warnings": warnings,
                "diagnostics": diags,
            });
            outln!("{}", serde_json::to_string_pretty(&out).unwrap_or_default());
        }
        Format::Text => {
            super::report(&c);
            let policies = c.checked.program.policies.len();
            if errors == 0 {
                eprintln!(
                    "ok: {files} file(s), {policies} polic{}",
                    if policies == 1 { "y" } else { "ies" }
                );
            } else {
                eprintln!("{errors} error(s) in {files} file(s)");
            }
        }
    }
    if errors > 0 { Exit::Problems } else { Exit::Ok }
}
