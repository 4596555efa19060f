//! Modes: `dry_run` and `approve` used in ways that look like leftovers.
//!
//! Reads the syntax, so it runs on policies that did not check too.

use std::collections::HashMap;

use super::{Cx, Syntax, rule};
use crate::diagnostic::Diagnostic;
use crate::source::{FileId, Span};
use crate::syntax::ast;

rule!(
    DRY_RUN_IN_ENFORCING_FILE = "dry-run-in-enforcing-file",
    Warning,
    "`mode dry_run` in a file whose other policies enforce: likely left on after a trial",
    dry_run_in_enforcing_file
);

/// The mode a policy is written with: `enforce` unless a `mode` clause says
/// otherwise; anonymous rules always enforce.
fn mode(s: Syntax<'_>) -> Option<(&str, Option<Span>)> {
    match s.clause("mode") {
        Some(ast::ClauseKind::Mode(m)) => Some((m.name.as_str(), s.clause_span("mode"))),
        Some(_) => None,
        None => Some(("enforce", None)),
    }
}

fn dry_run_in_enforcing_file(cx: &Cx) -> Vec<Diagnostic> {
    let mut by_file: HashMap<FileId, Vec<Syntax>> = HashMap::new();
    for (file, s) in cx.syntax() {
        by_file.entry(file).or_default().push(s);
    }
    let mut out = Vec::new();
    for (_, policies) in by_file {
        let Some(enforcing) = policies
            .iter()
            .find(|s| mode(**s).is_some_and(|(m, _)| m == "enforce"))
        else {
            continue;
        };
        for s in &policies {
            let Some(("dry_run", Some(span))) = mode(*s) else {
                continue;
            };
            out.push(
                DRY_RUN_IN_ENFORCING_FILE
                    .diag(
                        span,
                        format!("{} only pretends to act", s.title(cx.sources)),
                    )
                    .label("dry run")
                    .also(
                        enforcing.head(),
                        format!("{} in the same file acts", enforcing.title(cx.sources)),
                    )
                    .help(
                        "a file of policies is usually rolled out as a whole, so a dry run next \
                         to enforcing policies is often a trial that was never switched over. \
                         Remove `mode dry_run` to enforce, use `mode approve` to have a person \
                         confirm each action, or move the dry-run policies to a file of their own",
                    ),
            );
        }
    }
    out
}
