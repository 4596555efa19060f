//! `autopilot lint PATH... [--deny warnings] [--format json]`: check, then
//! the lint rules; `autopilot lint --list` shows the rules.
//!
//! Exit codes: 1 when check finds errors, or (with `--deny warnings`) when
//! anything warns; advice never fails. 2 for usage and I/O errors.

use std::path::PathBuf;

use clap::ValueEnum;

use super::{Exit, Format};
use crate::diagnostic::{self, Diagnostic, Severity};
use crate::lint::{self, RULES};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Files or directories (searched recursively for `*.apr`).
    #[arg(required_unless_present = "list")]
    paths: Vec<PathBuf>,
    /// Fail (exit 1) on warnings too.
    #[arg(long, short = 'D', value_enum, value_name = "LEVEL")]
    deny: Option<Deny>,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    format: Format,
    /// Print the rules with their severity and description, and exit.
    #[arg(long, alias = "rules", conflicts_with = "paths")]
    list: bool,
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
enum Deny {
    Warnings,
}

pub fn run(args: Args) -> Exit {
    if args.list {
        list(args.format);
        return Exit::Ok;
    }
    let Some(c) = super::load(&args.paths) else {
        return Exit::Usage;
    };
    let mut diags: Vec<Diagnostic> = c.diagnostics.clone();
    diags.extend(lint::lint(&c));
    diags.sort_by_key(|d| d.primary.span);
    let count = |s: Severity| diags.iter().filter(|d| d.severity == s).count();
    let (errors, warnings, advice) = (
        count(Severity::Error),
        count(Severity::Warning),
        count(Severity::Advice),
    );
    let files = c.user_files().count();
    let policies = c.checked.program.policies.len();
    let failed = errors > 0 || args.deny == Some(Deny::Warnings) && warnings > 0;
    match args.format {
        Format::Json => {
            let json: Vec<_> = diags
                .iter()
                .map(|d| diagnostic::to_json(&c.sources, d))
                .collect();
            let out = serde_json::json!({
                "files": files,
                "policies": policies,
                "errors": errors,
                "warnings": warnings,
                "advice": advice,
                "diagnostics": json,
            });
            outln!("{}", serde_json::to_string_pretty(&out).unwrap_or_default());
        }
        Format::Text => {
            eprint!(
                "{}",
                diagnostic::render_all(&c.sources, &diags, super::style())
            );
            let found = format!(
                "{errors} error(s), {warnings} warning(s), {advice} advice in {files} file(s)"
            );
            if failed {
                eprintln!("{found}");
            } else if errors + warnings + advice == 0 {
                eprintln!(
                    "ok: {files} file(s), {policies} polic{}",
                    if policies == 1 { "y" } else { "ies" }
                );
            } else {
                eprintln!("ok: {found}");
            }
        }
    }
    if failed { Exit::Problems } else { Exit::Ok }
}

fn severity_name(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Advice => "advice",
    }
}

fn list(format: Format) {
    match format {
        Format::Json => {
            let rules: Vec<_> = RULES
                .iter()
                .map(|r| {
                    serde_json::json!({
                        "name": r.name,
                        "code": r.code,
                        "severity": r.severity,
                        "description": r.description,
                    })
                })
                .collect();
            outln!(
                "{}",
                serde_json::to_string_pretty(&rules).unwrap_or_default()
            );
        }
        Format::Text => {
            let width = super::column_width(RULES.iter().map(|r| r.name.len()));
            for r in RULES {
                outln!(
                    "{:width$}  {:7}  {}",
                    r.name,
                    severity_name(r.severity),
                    r.description
                );
            }
            outln!();
            outln!(
                "Disable a rule for the next line (or the whole item after it) with `# {} NAME`, or for a file with `# {} NAME`.",
                lint::DISABLE,
                lint::DISABLE_FILE
            );
        }
    }
}
