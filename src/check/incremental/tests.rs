//! Incremental checking against the whole-program check, over generated
//! sequences of items typed one at a time, kept as the REPL keeps them
//! (an item with errors is dropped) and sometimes taken back.

use proptest::prelude::*;

use super::*;
use crate::source::Span;
use crate::{stdlib, syntax};

/// One generated item, from a small pool of names so that they collide.
fn item() -> impl Strategy<Value = String> {
    let n = 0..4usize;
    prop_oneof![
        (n.clone(), let_value())
            .prop_map(|(a, v)| format!("let l{a} = {}", v.replace('@', &a.to_string()))),
        (
            n.clone(),
            prop_oneof![Just("bytes"), Just("percent"), Just("bites")]
        )
            .prop_map(|(a, ty)| format!(
                "metric pvc.m{a} : {ty} = `kubelet_volume_stats_used_bytes`"
            )),
        prop_oneof![
            Just("metric pvc.used : bytes = `kubelet_volume_stats_capacity_bytes`".to_string()),
            Just("metric pvc.usage : bytes = `kubelet_volume_stats_used_bytes`".to_string()),
            Just("metric pvc.capacity : bytes = `kubelet_volume_stats_used_bytes`".to_string()),
            Just("metric pvc.m9 : bytes = `up{`".to_string()),
        ],
        (n.clone(), n.clone(), condition()).prop_map(|(a, b, c)| format!(
            "policy p{a} {{\n  when {} for 5m\n  then resize(+10%, max = 1Ti)\n}}",
            c.replace('@', &b.to_string())
        )),
        (n.clone(), condition()).prop_map(|(b, c)| format!(
            "when {} then resize(+50%, max = 2Ti)",
            c.replace('@', &b.to_string())
        )),
        n.clone()
            .prop_map(|a| format!("policy p{a} {{\n  when pvc.usage > 80%\n}}")),
        (n.clone(), n).prop_map(|(a, b)| format!(
            "policy p{a} {{\n  on pod\n  when pvc.m{b} > 1Gi\n  then evict()\n}}"
        )),
    ]
}

/// A `let` value; `@` stands for a name index.
fn let_value() -> impl Strategy<Value = &'static str> {
    prop_oneof![
        Just("80%"),
        Just("l@ + 10%"),
        Just("pvc.usage"),
        Just("pvc.m@"),
        Just("pvc.used / pvc.capacity"),
        Just("nothing@"),
        Just("pvc.usage > l@"),
        Just("1Gi + 5m"),
    ]
}

/// A condition; `@` stands for a name index.
fn condition() -> impl Strategy<Value = &'static str> {
    prop_oneof![
        Just("pvc.usage > 80%"),
        Just("pvc.usage > l@"),
        Just("l@"),
        Just("pvc.m@ > 10Gi"),
        Just("pvc.used > 10Gi and pod.cpu > 1"),
        Just("pvc.usage > nothing@"),
    ]
}

/// A step: one or two items in one input, and whether to take it back.
fn step() -> impl Strategy<Value = (Vec<String>, bool)> {
    (
        prop::collection::vec(item(), 1..3),
        prop::bool::weighted(0.15),
    )
}

/// What both checks are compared on: the diagnostics (code, place,
/// message; the help's "did you mean" may pick among equals), the
/// program, the lets with their typed values, the unused names.
#[derive(Debug, PartialEq)]
struct Seen {
    diagnostics: Vec<(&'static str, Span, String)>,
    policies: String,
    metrics: String,
    lets: Vec<(String, String)>,
    unused: Vec<(String, Span)>,
}

fn diagnostics(diags: &[Diagnostic]) -> Vec<(&'static str, Span, String)> {
    diags
        .iter()
        .map(|d| (d.code, d.primary.span, d.message.clone()))
        .collect()
}

fn lets(env: &Env) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = env
        .lets
        .iter()
        .map(|(name, entry)| {
            let value = match &entry.state {
                super::super::env::LetState::Done(v) => {
                    format!("{:?}", v.as_ref().map(|t| &t.expr))
                }
                _ => "unchecked".to_string(),
            };
            (name.clone(), value)
        })
        .collect();
    out.sort();
    out
}

fn seen(diags: &[Diagnostic], program: &ir::Program, env: &Env) -> Seen {
    Seen {
        diagnostics: diagnostics(diags),
        policies: format!("{:?}", program.policies),
        metrics: format!("{:?}", program.metrics),
        lets: lets(env),
        unused: env.unused(),
    }
}

/// Runs `first` (one file) and then `steps`, comparing every step.
fn run(first: &[String], steps: &[(Vec<String>, bool)]) -> Result<(), TestCaseError> {
    let mut sources = SourceMap::new();
    let mut files: Vec<(FileId, ast::File)> = stdlib::load(&mut sources)
        .into_iter()
        .map(|id| (id, syntax::parse(id, &sources.get(id).text).0))
        .collect();
    let text = first.join("\n") + "\n";
    let id = sources.add("first.apr", text.clone());
    let (ast, _) = syntax::parse(id, &text);
    files.push((id, ast));
    let refs: Vec<(FileId, &ast::File)> = files.iter().map(|(i, f)| (*i, f)).collect();
    let (mut inc, checked) = Incremental::new(&sources, &refs);
    let mut program = checked.program;
    // The diagnostics of the kept files: a whole re-check replaces them.
    let mut kept = checked.diagnostics;
    for (items, take_back) in steps {
        let text = items.join("\n") + "\n";
        let id = sources.add("<repl>", text.clone());
        let (ast, parse) = syntax::parse(id, &text);
        prop_assert!(parse.is_empty(), "{text}: {parse:?}");
        let mut refs: Vec<(FileId, &ast::File)> = files.iter().map(|(i, f)| (*i, f)).collect();
        refs.push((id, &ast));
        let (whole, whole_env) = check_whole(&sources, &refs);
        match inc.add(&sources, &files, id, &ast) {
            Err(diags) => {
                prop_assert!(whole.diagnostics.iter().any(Diagnostic::is_error));
                prop_assert_eq!(diagnostics(&diags), diagnostics(&whole.diagnostics));
            }
            Ok(added) if *take_back => inc.revert(added),
            Ok(added) => {
                match added.change {
                    Change::Append { policies, metrics } => {
                        program.policies.extend(policies);
                        program.metrics.extend(metrics);
                        kept.extend(added.diagnostics);
                    }
                    Change::Whole(p) => {
                        program = p;
                        kept = added.diagnostics;
                    }
                }
                prop_assert_eq!(
                    seen(&kept, &program, &inc.env),
                    seen(&whole.diagnostics, &whole.program, &whole_env),
                    "after {}",
                    text
                );
                files.push((id, ast));
            }
        }
    }
    // What was kept is what a whole check of the kept files gives.
    let refs: Vec<(FileId, &ast::File)> = files.iter().map(|(i, f)| (*i, f)).collect();
    let (whole, whole_env) = check_whole(&sources, &refs);
    prop_assert_eq!(lets(&inc.env), lets(&whole_env));
    prop_assert_eq!(format!("{:?}", program), format!("{:?}", whole.program));
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn incremental_is_the_whole_check(
        first in prop::collection::vec(item(), 0..4),
        steps in prop::collection::vec(step(), 1..12),
    ) {
        run(&first, &steps)?;
    }
}

fn items(texts: &[&str]) -> Vec<(Vec<String>, bool)> {
    texts.iter().map(|t| (vec![t.to_string()], false)).collect()
}

#[test]
fn a_binding_that_replaces_the_stdlib_one_rechecks_earlier_policies() {
    // The earlier policy read `pvc.used` as bytes; now it is a percent.
    let steps = items(&[
        "when pvc.used > 10Gi then resize(+10%, max = 1Ti)",
        "metric pvc.used : percent = `kubelet_volume_stats_used_bytes`",
    ]);
    run(&[], &steps).expect("the same as the whole check");
}

#[test]
fn an_error_is_not_kept_and_a_take_back_forgets_the_item() {
    let mut steps = items(&["let a = 80%", "let a = 90%", "let b = nothing"]);
    steps.push((
        vec!["policy p { when pvc.usage > a then resize(+1%, max = 1Ti) }".into()],
        true,
    ));
    steps.extend(items(&[
        "policy p { when pvc.usage > a then resize(+1%, max = 1Ti) }",
        "policy p { when pvc.usage > a then resize(+2%, max = 1Ti) }",
    ]));
    run(&[], &steps).expect("the same as the whole check");
}

#[test]
fn after_a_file_with_errors_the_whole_program_is_checked() {
    // `x` is unknown in the first file until the step defines it.
    let first = ["when pvc.usage > x then resize(+10%, max = 1Ti)".to_string()];
    run(&first, &items(&["let x = 80%"])).expect("the same as the whole check");
}
