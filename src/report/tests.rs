//! One small simulation rendered every way the reports render it: the text
//! report, the JSON report, the plot's thresholds and SVG, `explain`.
//! Snapshots in `src/report/snapshots/`; regenerate with `cargo insta test
//! --lib -- report` and read the diff.

use std::sync::Arc;

use crate::compile::compile;
use crate::ir::Program;
use crate::sim::scenario::{self, Scenario};
use crate::sim::{self, Run, ScenarioSource};
use crate::source::SourceMap;

use super::{MAX_COLUMN, column_width, elapsed};

/// A volume that fills (resized, then refused at its max), a class without
/// expansion (skipped), a message, an event and an annotation.
const POLICIES: &str = r#"
policy grow {
  on pvc
  when pvc.usage > 80% for 2m
  then resize(+50%, max = 150Gi), notify("oncall", "{pvc.name} grown"),
       event("VolumeGrown", "{pvc.name} was at {pvc.usage}"),
       annotate("autopilot.rs/grown", "yes")
  cooldown 3m
}

policy slow_writes {
  on pvc
  when 20ms < pvc.write_latency
  then set_class("fast")
  mode approve
}

metric pvc.write_latency : duration = `pg_write_latency_seconds`
"#;

const SCENARIO: &str = r#"
step: 1m
duration: 12m
objects:
  - {kind: storageclass, name: standard, allow_volume_expansion: true}
  - {kind: storageclass, name: archive}
  - {kind: pvc, name: data, storage_class: standard, capacity: 100Gi}
  - {kind: pvc, name: archive, storage_class: archive, capacity: 50Gi}
series:
  - {metric: pvc.used, object: pvc/default/data, values: "85Gi+1Gix12"}
  - {metric: pvc.usage, object: pvc/default/archive, values: "90x12"}
  - {metric: pvc.write_latency, object: pvc/default/data, values: "5ms 5ms 30msx10"}
approvals:
  - {at: 6m, policy: slow_writes, object: pvc/default/data, decision: approve}
"#;

struct Fixture {
    sources: SourceMap,
    program: Arc<Program>,
    scenario: Scenario,
    plan: super::plot::Plan,
    run: Run,
}

fn fixture() -> Fixture {
    let mut c = compile(vec![("policies.apr".into(), POLICIES.into())]);
    assert!(!c.has_errors(), "{:#?}", c.diagnostics);
    let program = Arc::new(std::mem::take(&mut c.checked.program));
    let file = c
        .sources
        .add("scenario.yaml".to_string(), SCENARIO.to_string());
    let mut scenario = scenario::parse(file, SCENARIO).unwrap_or_else(|d| panic!("{d:#?}"));
    let problems = scenario.check(&program);
    assert!(problems.is_empty(), "{problems:#?}");
    let source = ScenarioSource::new(&scenario, &program).unwrap_or_else(|d| panic!("{d:#?}"));
    let plan = super::plot::plan(&c.sources, &program, &scenario);
    let run = sim::run(Arc::clone(&program), &scenario, &source, &plan.probes);
    Fixture {
        sources: c.sources,
        program,
        scenario,
        plan,
        run,
    }
}

#[test]
fn text_report() {
    let f = fixture();
    let policies = f.program.policies.len();
    insta::assert_snapshot!(super::text::simulation(&f.scenario, &f.run, policies));
}

#[test]
fn json_report() {
    let f = fixture();
    let json = super::json::simulation(&f.scenario, &f.run);
    let parsed: serde_json::Value = serde_json::from_str(&json).expect("the report is JSON");
    assert!(parsed["events"].is_array() && parsed["objects"].is_array());
    insta::assert_snapshot!(json);
}

#[test]
fn explain_each_policy() {
    let f = fixture();
    let all: Vec<String> = f
        .program
        .policies
        .iter()
        .map(|p| super::explain::explain(&f.sources, &f.program, p))
        .collect();
    insta::assert_snapshot!(all.join("\n"));
}

#[test]
fn plot_thresholds_traces_and_legend() {
    let f = fixture();
    let mut out = f.plan.outline();
    for (p, t) in f.plan.probes.iter().zip(&f.run.traces) {
        let with_data = t.samples.iter().filter(|s| s.1.is_some()).count();
        out.push(format!(
            "trace      {} of {}: {with_data} of {} samples",
            f.sources.text(p.expr.span).lines().next().unwrap_or(""),
            t.object,
            t.samples.len()
        ));
    }
    let svg = super::plot::svg(&f.program, &f.scenario, &f.plan, &f.run);
    // The legend names each action with its result, once per panel.
    for key in [
        "resize applied",
        "resize declined",
        "resize skipped",
        "set_class awaiting_approval",
        "set_class applied",
        "grow: &gt; 80%",
        "slow_writes: &gt; 20ms",
        "pvc.capacity of pvc/default/data",
        "time (UTC)",
    ] {
        out.push(format!("svg has {key:?}: {}", svg.contains(key)));
    }
    insta::assert_snapshot!(out.join("\n"));
}

/// A computed threshold is drawn as a series, a scaled workload's replicas
/// get their own panel, a policy's window puts the times in its zone, and
/// an object no policy selects has no panel.
#[test]
fn plot_computed_thresholds_replicas_and_zones() {
    let policies = r#"
metric deployment.rps : number = `sum by (namespace, deployment) (rate(http_requests_total[2m]))`

policy busy {
  on deployment where deployment.labels.app == "web"
  when deployment.rps > 100 * deployment.replicas
  then scale(+1, max = 5)
  cooldown 1m
  window "Mon-Sun 00:00-23:59 Europe/Berlin"
}
"#;
    let yaml = r#"
step: 1m
duration: 6m
objects:
  - {kind: deployment, name: web, replicas: 1, labels: {app: web}}
  - {kind: deployment, name: batch, replicas: 1}
series:
  - {metric: deployment.rps, object: deployment/default/web, values: "150 250 350 50x3"}
  - {metric: deployment.rps, object: deployment/default/batch, values: "900x6"}
"#;
    let mut c = compile(vec![("p.apr".into(), policies.into())]);
    assert!(!c.has_errors(), "{:#?}", c.diagnostics);
    let program = Arc::new(std::mem::take(&mut c.checked.program));
    let file = c.sources.add("s.yaml".to_string(), yaml.to_string());
    let scenario = scenario::parse(file, yaml).unwrap_or_else(|d| panic!("{d:#?}"));
    let source = ScenarioSource::new(&scenario, &program).unwrap_or_else(|d| panic!("{d:#?}"));
    let plan = super::plot::plan(&c.sources, &program, &scenario);
    let run = sim::run(Arc::clone(&program), &scenario, &source, &plan.probes);
    let mut out = plan.outline();
    for (p, t) in plan.probes.iter().zip(&run.traces) {
        let values: Vec<String> = t
            .samples
            .iter()
            .map(|s| s.1.map_or("_".into(), |v| v.to_string()))
            .collect();
        out.push(format!(
            "{} of {}: {}",
            c.sources.text(p.expr.span).lines().next().unwrap_or(""),
            t.object,
            values.join(" ")
        ));
    }
    let svg = super::plot::svg(&program, &scenario, &plan, &run);
    for key in [
        "deployment.rps of deployment/default/web",
        "deployment.replicas of deployment/default/web",
        "busy: &gt; 100 * deployment.replicas",
        "time (Europe/Berlin)",
        "01:00",
        "scale applied",
    ] {
        out.push(format!("svg has {key:?}: {}", svg.contains(key)));
    }
    out.push(format!(
        "svg has batch: {}",
        svg.contains("of deployment/default/batch")
    ));
    insta::assert_snapshot!(out.join("\n"));
}

#[test]
fn elapsed_times() {
    let cases = [
        0,
        999,
        1_000,
        59_000,
        60_000,
        420_000,
        3_600_000,
        3_750_000,
        86_400_000,
        185_400_000,
    ];
    let lines: Vec<String> = cases
        .iter()
        .map(|ms| format!("{ms:>9} ms  {}", elapsed(*ms)))
        .collect();
    insta::assert_snapshot!(lines.join("\n"), @"
            0 ms  0m00s
          999 ms  0m00s
         1000 ms  0m01s
        59000 ms  0m59s
        60000 ms  1m00s
       420000 ms  7m00s
      3600000 ms  1h00m00s
      3750000 ms  1h02m30s
     86400000 ms  1d00h00m00s
    185400000 ms  2d03h30m00s
    ");
}

#[test]
fn column_width_is_capped() {
    assert_eq!(column_width([]), 0);
    assert_eq!(column_width([3, 7, 5]), 7);
    assert_eq!(column_width([10, 500]), MAX_COLUMN);
}
