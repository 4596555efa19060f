//! Scenario loading over data files.
//!
//! `tests/data/scenario/*.yaml`: one snapshot per file, in `tests/snapshots/`:
//! the loaded scenario in brief, or its diagnostics rendered without colour
//! at a fixed width. Regenerate with `INSTA_UPDATE=always cargo test --test
//! scenario` (or `cargo insta review`), read the diff, commit the `.snap` files.

use std::fmt::Write;

use autopilot::diagnostic::{self, Style};
use autopilot::sim::scenario::{self, Scenario, SeriesTarget};
use autopilot::source::SourceMap;

fn brief(s: &Scenario) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "start {} step {}ms duration {}ms resize_delay {}ms ticks {}",
        s.start,
        s.step,
        s.duration,
        s.resize_delay,
        s.ticks().count()
    );
    for (name, c) in &s.classes {
        let _ = writeln!(
            out,
            "storageclass {name} expandable={}",
            c.allow_volume_expansion
        );
    }
    for (name, ns) in &s.namespaces {
        let _ = writeln!(out, "namespace {name} {:?}", ns.labels);
    }
    for o in &s.objects {
        let _ = writeln!(
            out,
            "{} labels={:?} created={:?} delay={:?}\n  {:?}",
            o.id, o.labels, o.created, o.resize_delay, o.fields
        );
        if let Some(at) = o.appears {
            let _ = writeln!(out, "  appears at {at}");
        }
    }
    for x in &s.series {
        let target = match &x.target {
            SeriesTarget::Binding { metric, object, .. } => format!("{metric} of {object}"),
            SeriesTarget::Raw { selector, .. } => format!("raw {selector}"),
        };
        let _ = writeln!(
            out,
            "series {}: {target}: {} samples",
            x.index,
            x.values.len()
        );
    }
    for a in &s.approvals {
        let _ = writeln!(out, "approval {:?}", a.approval);
    }
    for c in &s.changes {
        let _ = writeln!(out, "change at {}: {:?}", c.at, c.change);
    }
    out
}

#[test]
fn scenarios() {
    insta::glob!("data/scenario/*.yaml", |path| {
        let text = std::fs::read_to_string(path).expect("read data file");
        let mut sources = SourceMap::new();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let file = sources.add(name, text.clone());
        let out = match scenario::parse(file, &text) {
            Ok(s) => brief(&s),
            Err(diags) => diagnostic::render_all(&sources, &diags, Style::PLAIN),
        };
        insta::assert_snapshot!(out);
    });
}

/// An approval names an anonymous rule as a test block does: by the path as
/// given, with or without `./`, or by its end after a `/`.
#[test]
fn approvals_name_anonymous_rules_like_test_blocks() {
    let rule = "when pvc.usage > 50% then resize(+1Gi, max = 10Gi)\n";
    for (given, named) in [
        ("any_pvc.apr", "any_pvc.apr:1"),
        ("any_pvc.apr", "./any_pvc.apr:1"),
        ("./any_pvc.apr", "any_pvc.apr:1"),
        ("dir/./any_pvc.apr", "./dir/any_pvc.apr:1"),
        ("some/dir/any_pvc.apr", "any_pvc.apr:1"),
    ] {
        let mut c = autopilot::compile::compile(vec![(given.into(), rule.into())]);
        let yaml = format!(
            "duration: 10m\nobjects:\n  - {{kind: namespace, name: db}}\n  - {{kind: pvc, name: x, namespace: db, capacity: 1Gi}}\n\
             approvals:\n  - {{at: 1m, policy: {named:?}, object: pvc/db/x, decision: approve}}\n"
        );
        let file = c.sources.add("s.yaml", yaml.clone());
        let mut s = scenario::parse(file, &yaml).expect("the scenario loads");
        let diags = s.check(&c.checked.program);
        assert!(
            diags.is_empty(),
            "{given} / {named}: {}",
            diagnostic::render_all(&c.sources, &diags, Style::PLAIN)
        );
        assert_eq!(
            s.approvals[0].approval.policy, c.checked.program.policies[0].name,
            "{given} / {named}"
        );
    }
    // Not another rule's file.
    let mut c = autopilot::compile::compile(vec![("other.apr".into(), rule.into())]);
    let yaml = "duration: 10m\napprovals:\n  - {at: 1m, policy: \"./any_pvc.apr:1\", object: pvc/db/x, decision: approve}\n";
    let file = c.sources.add("s.yaml", yaml);
    if let Ok(mut s) = scenario::parse(file, yaml) {
        assert!(!s.check(&c.checked.program).is_empty());
    }
}

/// Ticks × objects × policies is bounded before a run starts.
#[test]
fn too_much_work_is_refused_up_front() {
    insta::assert_snapshot!(work_diagnostics(
        "when pvc.usage > 50% then resize(+1Gi, max = 10Gi)\n"
    ));
}

/// Found by the CLI fuzz: without policies the product was 0, and the
/// world still stepped 2,000 objects a million times.
#[test]
fn too_much_work_without_policies_is_refused_up_front() {
    insta::assert_snapshot!(work_diagnostics("let hot = 80%\n"));
}

/// A million ticks over 2,000 PVCs, checked against `policies`.
fn work_diagnostics(policies: &str) -> String {
    let mut c = autopilot::compile::compile(vec![("p.apr".into(), policies.into())]);
    let mut yaml =
        String::from("step: 1s\nduration: 1000000s\nobjects:\n  - {kind: namespace, name: db}\n");
    for i in 0..2000 {
        yaml.push_str(&format!(
            "  - {{kind: pvc, name: p{i}, namespace: db, capacity: 1Gi}}\n"
        ));
    }
    let file = c.sources.add("work.yaml", yaml.clone());
    let mut s = scenario::parse(file, &yaml).expect("the scenario loads");
    let diags = s.check(&c.checked.program);
    diagnostic::render_all(&c.sources, &diags, Style::PLAIN)
}
