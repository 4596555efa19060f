//! Naming: receivers and event reasons, which the controller and
//! `kubectl get events` match by exact name.
//!
//! Reads the syntax, so it runs on policies that did not check too.

use std::collections::BTreeMap;

use super::{Cx, rule};
use crate::diagnostic::Diagnostic;
use crate::source::Span;
use crate::syntax::ast;

rule!(
    RECEIVER_TYPO = "receiver-typo",
    Warning,
    "a `notify` receiver used once whose name is close to another receiver's",
    receiver_typo
);

rule!(
    DUPLICATE_EVENT_REASON = "duplicate-event-reason",
    Advice,
    "two policies emit events with the same reason, so events do not tell which one acted",
    duplicate_event_reason
);

/// The first argument of every `name(...)` action of the user files, when it
/// is a plain string, with its span and the policy's title.
fn first_args(cx: &Cx, name: &str) -> Vec<(String, Span, String)> {
    let mut out = Vec::new();
    for (_, s) in cx.syntax() {
        for a in s.actions().iter().filter(|a| a.name.name == name) {
            let Some(arg) = a.args.first().filter(|arg| arg.name.is_none()) else {
                continue;
            };
            if let ast::ExprKind::Str(text) = &arg.value.kind
                && let Some(plain) = text.as_plain()
            {
                out.push((plain, arg.value.span, s.title(cx.sources)));
            }
        }
    }
    out
}

fn receiver_typo(cx: &Cx) -> Vec<Diagnostic> {
    let uses = first_args(cx, "notify");
    let mut count: BTreeMap<&str, (usize, Span)> = BTreeMap::new();
    for (name, span, _) in &uses {
        count.entry(name).or_insert((0, *span)).0 += 1;
    }
    let mut out = Vec::new();
    for (name, span, _) in &uses {
        if count[name.as_str()].0 > 1 {
            continue;
        }
        // A name used once that looks like one used more often, or earlier.
        let others = count
            .iter()
            .filter(|(other, (n, first))| *other != name && (*n > 1 || first < span))
            .map(|(other, _)| *other);
        let Some(like) = others.into_iter().find(|other| typo(name, other)) else {
            continue;
        };
        out.push(
            RECEIVER_TYPO
                .diag(
                    *span,
                    format!("receiver `{name}` is used once; `{like}` is used elsewhere"),
                )
                .label("only use of this receiver")
                .also(count[like].1, format!("`{like}`"))
                .help(format!(
                    "did you mean `{like}`? Receivers are looked up by exact name in the \
                     controller's configuration; an unknown one fails at run time"
                )),
        );
    }
    out
}

/// Whether two names differ by a typo: only in case and separators
/// (`on-call`, `oncall`), or by one letter left out, doubled or swapped.
/// A changed letter is not a typo: `team-a` and `team-b` are two teams.
fn typo(a: &str, b: &str) -> bool {
    let norm = |s: &str| -> String {
        s.chars()
            .filter(|c| !matches!(c, '-' | '_' | '.'))
            .flat_map(char::to_lowercase)
            .collect()
    };
    let (x, y) = (norm(a), norm(b));
    if x == y {
        return true;
    }
    if x.len().min(y.len()) < 4 || strsim::damerau_levenshtein(&x, &y) != 1 {
        return false;
    }
    let sorted = |s: &str| {
        let mut v: Vec<char> = s.chars().collect();
        v.sort_unstable();
        v
    };
    x.len() != y.len() || sorted(&x) == sorted(&y)
}

fn duplicate_event_reason(cx: &Cx) -> Vec<Diagnostic> {
    let mut first: BTreeMap<String, (Span, String)> = BTreeMap::new();
    let mut out = Vec::new();
    for (reason, span, title) in first_args(cx, "event") {
        match first.get(&reason) {
            Some((prev, prev_title)) if *prev_title != title => out.push(
                DUPLICATE_EVENT_REASON
                    .diag(
                        span,
                        format!("{prev_title} also emits events with reason `{reason}`"),
                    )
                    .label("same reason")
                    .also(*prev, "first used here")
                    .help(format!(
                        "`kubectl get events --field-selector reason={reason}` shows both \
                         policies' events mixed; give each policy its own reason"
                    )),
            ),
            Some(_) => {}
            None => {
                first.insert(reason, (span, title));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::typo;

    #[test]
    fn typos_and_different_names() {
        assert!(typo("oncall", "on-call"));
        assert!(typo("on_call", "On-Call"));
        assert!(typo("oncal", "oncall"));
        assert!(typo("onclal", "oncall"));
        assert!(typo("pagerduty", "pagreduty"));
        assert!(!typo("team-a", "team-b"));
        assert!(!typo("db", "dba"));
        assert!(!typo("security", "oncall"));
    }
}
