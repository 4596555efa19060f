//! The safety invariants of docs/semantics.md section 11, each pinned by a named test,
//! and the state machine's semantics, run through the real simulation
//! (`sim::Sim`, as `simulate` and `test` run it): each test's world is
//! written as a scenario. What only an executor can do (fail, or die with an
//! action in flight) is pinned in the engine's own tests (src/engine/tests.rs);
//! tests/sim_fuzz.rs holds the same invariants over generated programs.

use std::fmt::Write as _;
use std::sync::Arc;

use autopilot::engine::{Event, EventKind, ObjectId, Phase, Planned, Time};
use autopilot::ir::Program;
use autopilot::sim::{self, ScenarioSource, Sim};
use autopilot::source::SourceMap;

const GI: u64 = 1 << 30;
const MIN: Time = 60_000;

fn program(src: &str) -> Arc<Program> {
    let c = autopilot::compile::compile(vec![("t.apr".into(), src.into())]);
    assert!(!c.has_errors(), "{:?}", c.diagnostics);
    Arc::new(c.checked.program)
}

/// A PVC in namespace `db`, Bound, of the expandable class `standard`.
struct Pvc {
    name: &'static str,
    capacity: u64,
}

fn pvc(name: &'static str, capacity: u64) -> Pvc {
    Pvc { name, capacity }
}

fn id(name: &str) -> ObjectId {
    format!("pvc/db/{name}").parse().unwrap()
}

/// An approver's decision at a minute.
struct Decision {
    policy: &'static str,
    object: &'static str,
    approve: bool,
    minute: i64,
}

/// A world of PVCs and per-minute series, as a scenario: `values[i]` is the
/// sample at minute i; None is no sample; NaN is a failed query (`error`).
struct Run {
    program: Arc<Program>,
    objects: Vec<Pvc>,
    series: Vec<(String, String, Vec<Option<f64>>)>,
    approvals: Vec<Decision>,
    restarts: Vec<i64>,
    /// `changes:` entries, as YAML flow maps.
    changes: Vec<String>,
    sim: Option<(Sim, ScenarioSource, Time)>,
    log: Vec<String>,
}

impl Run {
    fn new(src: &str, objects: Vec<Pvc>, series: &[(&str, &str, Vec<Option<f64>>)]) -> Run {
        Run {
            program: program(src),
            objects,
            series: series
                .iter()
                .map(|(m, o, v)| (m.to_string(), o.to_string(), v.clone()))
                .collect(),
            approvals: Vec::new(),
            restarts: Vec::new(),
            changes: Vec::new(),
            sim: None,
            log: Vec::new(),
        }
    }

    /// The scenario of the world, for 10 hours of one-minute ticks.
    fn yaml(&self) -> String {
        let mut y = String::from("step: 1m\nduration: 600m\nobjects:\n");
        y += "  - {kind: storageclass, name: standard, allow_volume_expansion: true}\n";
        for o in &self.objects {
            let _ = writeln!(
                y,
                "  - {{kind: pvc, namespace: db, name: {}, storage_class: standard, capacity: {}}}",
                o.name, o.capacity
            );
        }
        y += "series:\n";
        for (metric, object, values) in &self.series {
            let values: Vec<String> = values
                .iter()
                .map(|v| match v {
                    None => "_".into(),
                    Some(v) if v.is_nan() => "error".into(),
                    Some(v) => v.to_string(),
                })
                .collect();
            let _ = writeln!(
                y,
                "  - {{metric: {metric}, object: pvc/db/{object}, values: \"{}\"}}",
                values.join(" ")
            );
        }
        y += "approvals:\n";
        for a in &self.approvals {
            let decision = if a.approve { "approve" } else { "decline" };
            let _ = writeln!(
                y,
                "  - {{at: {}m, policy: {}, object: pvc/db/{}, decision: {decision}}}",
                a.minute, a.policy, a.object
            );
        }
        let restarts: Vec<String> = self.restarts.iter().map(|m| format!("{m}m")).collect();
        let _ = writeln!(y, "restarts: [{}]", restarts.join(", "));
        if !self.changes.is_empty() {
            y += "changes:\n";
            for c in &self.changes {
                let _ = writeln!(y, "  - {c}");
            }
        }
        y
    }

    fn sim(&mut self) -> &mut (Sim, ScenarioSource, Time) {
        if self.sim.is_none() {
            let yaml = self.yaml();
            let mut sources = SourceMap::default();
            let file = sources.add("invariants.yaml", yaml.clone());
            let mut scenario =
                sim::scenario::parse(file, &yaml).unwrap_or_else(|d| panic!("{yaml}\n{d:#?}"));
            let diags = scenario.check(&self.program);
            assert!(diags.is_empty(), "{yaml}\n{diags:#?}");
            let source = ScenarioSource::new(&scenario, &self.program)
                .unwrap_or_else(|d| panic!("{yaml}\n{d:#?}"));
            let start = scenario.start;
            let sim = Sim::new(Arc::clone(&self.program), &scenario, &[]);
            self.sim = Some((sim, source, start));
        }
        self.sim.as_mut().expect("just made")
    }

    fn tick(&mut self, minute: i64) {
        let (sim, source, start) = self.sim();
        let before = sim.events.len();
        let start = *start;
        sim.tick(start + minute * MIN, source);
        let lines: Vec<String> = sim.events[before..]
            .iter()
            .map(|e| describe((e.time - start) / MIN, e))
            .collect();
        self.log.extend(lines);
    }

    fn run(&mut self, minutes: std::ops::Range<i64>) {
        for m in minutes {
            self.tick(m);
        }
    }

    /// The timeline has this line.
    fn saw(&self, line: &str) -> bool {
        self.log.iter().any(|l| l == line)
    }

    fn actions(&self) -> Vec<&String> {
        self.log.iter().filter(|l| l.contains(" action ")).collect()
    }

    /// The minutes at which actions were logged.
    fn action_minutes(&self) -> Vec<i64> {
        self.actions()
            .iter()
            .map(|l| l.trim_start().split('m').next().unwrap().parse().unwrap())
            .collect()
    }

    fn capacity(&mut self, name: &str) -> u64 {
        let (sim, _, _) = self.sim();
        let o = sim.world.get(&id(name)).expect("an object of the world");
        o.object.fields.capacity.unwrap()
    }

    fn phase(&mut self, policy: &str, name: &str) -> Phase {
        let (sim, _, _) = self.sim();
        sim.engine.phase(policy, &id(name))
    }
}

fn describe(minute: i64, e: &Event) -> String {
    let what = match &e.kind {
        EventKind::Transition { from, to } => format!("{from} -> {to}"),
        EventKind::Action {
            action,
            planned,
            result,
            reason,
        } => {
            let planned = match planned {
                Some(Planned::Resize { from, to }) => {
                    format!("resize {}Gi -> {}Gi", from / GI, to / GI)
                }
                Some(other) => format!("{other:?}"),
                None => action.to_string(),
            };
            let reason = reason.as_ref().map(ToString::to_string);
            format!("action {planned} {result:?} {}", reason.unwrap_or_default())
        }
        EventKind::Error { message } => format!("error {message}"),
    };
    format!("{minute:>3}m {} {} {what}", e.policy, e.object)
}

fn usage(values: &[f64]) -> Vec<Option<f64>> {
    values.iter().map(|v| Some(*v)).collect()
}

const CARD: &str = "policy grow { on pvc when pvc.usage > 50% for 5m then resize(+100%, max = 400Gi) cooldown 10m }";

// ---------------------------------------------------------------- semantics

#[test]
fn for_clock_runs_from_first_true_tick() {
    let mut r = Run::new(
        CARD,
        vec![pvc("a", 100 * GI)],
        &[("pvc.usage", "a", usage(&[60.0; 8]))],
    );
    r.run(0..8);
    assert_eq!(
        r.log,
        [
            "  0m grow pvc/db/a normal -> pending",
            "  5m grow pvc/db/a pending -> firing",
            "  5m grow pvc/db/a firing -> acting",
            "  5m grow pvc/db/a action resize 100Gi -> 200Gi Applied ",
            "  5m grow pvc/db/a acting -> cooldown",
        ]
    );
}

#[test]
fn false_resets_the_for_clock() {
    let mut values = vec![60.0; 12];
    values[3] = 40.0;
    let mut r = Run::new(
        CARD,
        vec![pvc("a", 100 * GI)],
        &[("pvc.usage", "a", usage(&values))],
    );
    r.run(0..12);
    // Pending from 0, back to normal at 3, pending from 4, fires at 9.
    assert!(r.saw("  3m grow pvc/db/a pending -> normal"));
    assert!(r.saw("  9m grow pvc/db/a pending -> firing"));
    assert_eq!(r.actions().len(), 1);
}

#[test]
fn no_for_fires_on_the_first_true_tick() {
    let src = "policy now { on pvc when pvc.usage > 50% then resize(+10Gi, max = 1Ti) }";
    let mut r = Run::new(
        src,
        vec![pvc("a", 100 * GI)],
        &[("pvc.usage", "a", usage(&[60.0]))],
    );
    r.run(0..1);
    assert_eq!(r.log[0], "  0m now pvc/db/a normal -> firing");
    assert_eq!(r.capacity("a"), 110 * GI);
}

#[test]
fn no_data_hold_keeps_the_clock_but_cannot_fire() {
    // A sample at 0, then none until 11: from 5 it is out of the 5m
    // lookback, and the query has no data.
    let mut values = usage(&[60.0; 20]);
    for v in &mut values[1..11] {
        *v = None;
    }
    let hold = CARD.replace("cooldown 10m", "cooldown 10m no_data hold");
    let mut r = Run::new(
        &hold,
        vec![pvc("a", 100 * GI)],
        &[("pvc.usage", "a", values.clone())],
    );
    r.run(0..20);
    // The clock started at 0 is kept through the gap; it fires when data returns at 11.
    assert!(
        r.saw(" 11m grow pvc/db/a pending -> firing"),
        "{:#?}",
        r.log
    );
    // The default, `reset`: the gap sends it back to normal, and the clock
    // starts again when data returns.
    let mut r = Run::new(
        CARD,
        vec![pvc("a", 100 * GI)],
        &[("pvc.usage", "a", values)],
    );
    r.run(0..20);
    assert!(
        r.saw("  5m grow pvc/db/a pending -> normal"),
        "{:#?}",
        r.log
    );
    assert!(
        r.saw(" 11m grow pvc/db/a normal -> pending"),
        "{:#?}",
        r.log
    );
    assert!(
        r.saw(" 16m grow pvc/db/a pending -> firing"),
        "{:#?}",
        r.log
    );
}

#[test]
fn no_data_reset_sends_pending_to_normal() {
    // A gap within the lookback is not no data; a longer one is.
    let src = "policy grow { on pvc when pvc.usage > 50% for 5m then resize(+100%, max = 400Gi) no_data reset }";
    let mut values = usage(&[60.0; 16]);
    values[2] = None;
    let mut r = Run::new(
        src,
        vec![pvc("a", 100 * GI)],
        &[("pvc.usage", "a", values.clone())],
    );
    r.run(0..8);
    assert!(
        r.saw("  5m grow pvc/db/a pending -> firing"),
        "{:#?}",
        r.log
    );
    for v in &mut values[1..7] {
        *v = None;
    }
    let mut r = Run::new(src, vec![pvc("a", 100 * GI)], &[("pvc.usage", "a", values)]);
    r.run(0..16);
    assert!(
        r.saw("  5m grow pvc/db/a pending -> normal"),
        "{:#?}",
        r.log
    );
    assert!(
        r.saw("  7m grow pvc/db/a normal -> pending"),
        "{:#?}",
        r.log
    );
    assert!(
        r.saw(" 12m grow pvc/db/a pending -> firing"),
        "{:#?}",
        r.log
    );
}

#[test]
fn dry_run_records_and_changes_nothing() {
    let src =
        "policy grow { on pvc when pvc.usage > 50% then resize(+100%, max = 400Gi) mode dry_run }";
    let mut r = Run::new(
        src,
        vec![pvc("a", 100 * GI)],
        &[("pvc.usage", "a", usage(&[60.0; 3]))],
    );
    r.run(0..3);
    assert_eq!(r.capacity("a"), 100 * GI);
    assert_eq!(r.actions().len(), 1);
    assert!(r.actions()[0].contains("DryRun"));
}

#[test]
fn approve_waits_for_a_decision() {
    let src =
        "policy grow { on pvc when pvc.usage > 50% then resize(+100%, max = 400Gi) mode approve }";
    let mut r = Run::new(
        src,
        vec![pvc("a", 100 * GI)],
        &[("pvc.usage", "a", usage(&[60.0; 6]))],
    );
    r.approvals.push(Decision {
        policy: "grow",
        object: "a",
        approve: true,
        minute: 3,
    });
    r.run(0..6);
    assert!(r.saw("  0m grow pvc/db/a firing -> awaiting_approval"));
    assert!(
        r.saw("  3m grow pvc/db/a action resize 100Gi -> 200Gi Applied "),
        "{:#?}",
        r.log
    );
    assert_eq!(r.capacity("a"), 200 * GI);
}

#[test]
fn a_declined_approval_is_final_until_the_condition_clears() {
    let src =
        "policy grow { on pvc when pvc.usage > 50% then resize(+100%, max = 400Gi) mode approve }";
    let mut r = Run::new(
        src,
        vec![pvc("a", 100 * GI)],
        &[("pvc.usage", "a", usage(&[60.0; 6]))],
    );
    r.approvals.push(Decision {
        policy: "grow",
        object: "a",
        approve: false,
        minute: 1,
    });
    r.run(0..6);
    assert!(r.saw("  1m grow pvc/db/a awaiting_approval -> declined"));
    assert_eq!(
        r.log
            .iter()
            .filter(|l| l.contains("awaiting_approval"))
            .count(),
        2,
        "asked once, declined once, not asked again: {:#?}",
        r.log
    );
    assert_eq!(r.capacity("a"), 100 * GI);
}

#[test]
fn window_holds_actions_outside_it() {
    // The tests' clock starts at the Unix epoch, a Thursday, 00:00 UTC; the window opens at 00:03.
    let src = "policy grow { on pvc when pvc.usage > 50% then resize(+10Gi, max = 1Ti) window \"Thu 00:03-01:00 UTC\" }";
    let mut r = Run::new(
        src,
        vec![pvc("a", 100 * GI)],
        &[("pvc.usage", "a", usage(&[60.0; 5]))],
    );
    r.run(0..1);
    // t=0 is 1970-01-01, a Thursday too, 00:00: outside.
    assert!(
        r.log.iter().any(|l| l.contains("Skipped outside window")),
        "{:#?}",
        r.log
    );
    r.run(1..3);
    assert_eq!(r.actions().len(), 1, "the reason is said once");
    r.run(3..4);
    assert_eq!(r.capacity("a"), 110 * GI);
}

#[test]
fn at_most_limits_across_objects_in_a_stable_order() {
    let src = "policy grow { on pvc when pvc.usage > 50% then resize(+10Gi, max = 1Ti) at_most 2 per 1h }";
    let names = ["c", "a", "d", "b"];
    let objects = names.iter().map(|n| pvc(n, 100 * GI)).collect();
    let series: Vec<_> = names
        .iter()
        .map(|n| ("pvc.usage", *n, usage(&[60.0; 3])))
        .collect();
    let mut r = Run::new(src, objects, &series);
    r.run(0..1);
    assert_eq!(r.capacity("a"), 110 * GI);
    assert_eq!(r.capacity("b"), 110 * GI);
    assert_eq!(
        r.capacity("c"),
        100 * GI,
        "ordered by object id: a and b go first"
    );
    assert_eq!(r.capacity("d"), 100 * GI);
}

#[test]
fn declined_at_max_is_said_once() {
    let mut r = Run::new(
        CARD,
        vec![pvc("a", 400 * GI)],
        &[("pvc.usage", "a", usage(&[60.0; 20]))],
    );
    r.run(0..20);
    let declined: Vec<_> = r.log.iter().filter(|l| l.contains("Declined")).collect();
    assert_eq!(declined.len(), 1, "{:#?}", r.log);
    assert!(declined[0].contains("at max"));
}

// ---------------------------------------------------------------- invariants

#[test]
fn invariant_never_shrink() {
    // Grown by hand past max: the policy declines, never shrinks.
    let mut r = Run::new(
        CARD,
        vec![pvc("a", 500 * GI)],
        &[("pvc.usage", "a", usage(&[99.0; 30]))],
    );
    r.run(0..30);
    assert_eq!(r.capacity("a"), 500 * GI);
}

#[test]
fn invariant_never_exceed_max() {
    // The volume keeps filling faster than it grows.
    let used: Vec<Option<f64>> = (0..200)
        .map(|m| Some((99 + 5 * m) as f64 * GI as f64))
        .collect();
    let mut r = Run::new(CARD, vec![pvc("a", 100 * GI)], &[("pvc.used", "a", used)]);
    r.run(0..200);
    assert_eq!(
        r.capacity("a"),
        400 * GI,
        "100 -> 200 -> 400, then declined"
    );
}

#[test]
fn invariant_never_act_on_missing_metrics() {
    let mut r = Run::new(
        CARD,
        vec![pvc("a", 100 * GI)],
        &[("pvc.usage", "a", vec![None; 30])],
    );
    r.run(0..30);
    assert!(r.log.is_empty(), "{:#?}", r.log);
    // And a pvc with no series at all.
    let mut r = Run::new(CARD, vec![pvc("b", 100 * GI)], &[]);
    r.run(0..30);
    assert!(r.log.is_empty());
}

#[test]
fn invariant_never_act_on_failed_metrics() {
    let mut r = Run::new(
        CARD,
        vec![pvc("a", 100 * GI)],
        &[("pvc.usage", "a", usage(&[f64::NAN; 30]))],
    );
    r.run(0..30);
    assert_eq!(r.capacity("a"), 100 * GI);
    let errors: Vec<_> = r.log.iter().filter(|l| l.contains("error")).collect();
    assert_eq!(errors.len(), 1, "the error is reported once: {:#?}", r.log);
    assert!(r.actions().is_empty());
}

#[test]
fn invariant_a_failed_query_keeps_the_state() {
    let mut values = usage(&[60.0; 12]);
    for v in &mut values[2..8] {
        *v = Some(f64::NAN);
    }
    let mut r = Run::new(
        CARD,
        vec![pvc("a", 100 * GI)],
        &[("pvc.usage", "a", values)],
    );
    r.run(0..12);
    // Pending from 0 survives the errors; firing as soon as data returns at 8.
    assert!(
        r.saw("  8m grow pvc/db/a pending -> firing"),
        "{:#?}",
        r.log
    );
}

#[test]
fn invariant_at_most_one_action_per_object_per_cooldown() {
    let src =
        "policy grow { on pvc when pvc.usage > 50% then resize(+1Gi, max = 1Ti) cooldown 10m }";
    let mut r = Run::new(
        src,
        vec![pvc("a", 100 * GI)],
        &[("pvc.usage", "a", usage(&[99.0; 60]))],
    );
    r.run(0..60);
    let minutes = r.action_minutes();
    assert_eq!(minutes, [0, 10, 20, 30, 40, 50]);
}

#[test]
fn invariant_a_flapping_selection_keeps_the_cooldown() {
    // Resized at 0m, cooldown 30m. The PVC's label takes it out of the
    // policy's selection at 5m and back at 6m: no second resize before 30m.
    let src = "policy grow { on pvc where pvc.labels.app == \"pg\" \
               when pvc.usage > 50% then resize(+1Gi, max = 1Ti) cooldown 30m }";
    let mut r = Run::new(
        src,
        vec![pvc("a", 100 * GI)],
        &[("pvc.usage", "a", usage(&[99.0; 40]))],
    );
    r.changes = [(0, "pg"), (5, "other"), (6, "pg")]
        .iter()
        .map(|(m, app)| format!("{{at: {m}m, object: pvc/db/a, set: {{labels: {{app: {app}}}}}}}"))
        .collect();
    r.run(0..40);
    let minutes = r.action_minutes();
    assert_eq!(minutes, [0, 30], "{:#?}", r.log);
}

#[test]
fn invariant_restart_keeps_the_for_clock() {
    // The controller restarts at 3m, while pending since 0: it fires at 5m.
    let mut r = Run::new(
        CARD,
        vec![pvc("a", 100 * GI)],
        &[("pvc.usage", "a", usage(&[60.0; 10]))],
    );
    r.restarts = vec![3];
    r.run(0..10);
    assert!(
        r.saw("  5m grow pvc/db/a pending -> firing"),
        "{:#?}",
        r.log
    );
    assert_eq!(r.actions().len(), 1, "{:#?}", r.log);
}

#[test]
fn invariant_restart_keeps_the_cooldown() {
    // Resized at 5m, cooldown 10m; restarts at 7m and 12m change nothing:
    // the next action waits for 15m and the `for` after it.
    let used: Vec<Option<f64>> = (0..30)
        .map(|m| Some((99 + 5 * m) as f64 * GI as f64))
        .collect();
    let mut r = Run::new(CARD, vec![pvc("a", 100 * GI)], &[("pvc.used", "a", used)]);
    r.restarts = vec![7, 12];
    r.run(0..21);
    let minutes: Vec<&str> = r
        .actions()
        .iter()
        .map(|l| l.trim_start().split('m').next().unwrap())
        .collect();
    assert_eq!(minutes, ["5", "20"], "{:#?}", r.log);
}

#[test]
fn invariant_one_bad_policy_never_stops_the_others() {
    // At check time: a policy with an error is left out, the others run.
    let c = autopilot::compile::compile(vec![(
        "t.apr".into(),
        "policy bad { on pvc when pvc.usge > 1% then resize(+1Gi, max = 2Gi) }\n\
         policy good { on pvc when pvc.usage > 50% then resize(+1Gi, max = 1Ti) }"
            .into(),
    )]);
    assert!(c.has_errors());
    let names: Vec<&str> = c
        .checked
        .program
        .policies
        .iter()
        .map(|p| p.name.as_str())
        .collect();
    assert_eq!(names, ["good"]);
    // At run time: a policy whose condition errors does not stop another.
    let src = "policy broken { on pvc when pvc.used / (pvc.capacity - pvc.capacity) > 1 then resize(+1Gi, max = 1Ti) }\n\
               policy grow { on pvc when pvc.usage > 50% then resize(+1Gi, max = 1Ti) }";
    let mut r = Run::new(
        src,
        vec![pvc("a", 100 * GI)],
        &[
            ("pvc.usage", "a", usage(&[60.0])),
            ("pvc.used", "a", usage(&[1.0])),
        ],
    );
    r.run(0..1);
    assert!(
        r.log
            .iter()
            .any(|l| l.contains("broken") && l.contains("error")),
        "{:#?}",
        r.log
    );
    assert_eq!(r.capacity("a"), 101 * GI);
}

#[test]
fn kleene_false_and_no_data_is_false() {
    let src = "policy p { on pvc when pvc.usage > 50% and pvc.inodes_usage > 50% then resize(+1Gi, max = 1Ti) }";
    let mut r = Run::new(
        src,
        vec![pvc("a", 100 * GI)],
        &[("pvc.usage", "a", usage(&[60.0, 40.0]))],
    );
    r.tick(0);
    assert_eq!(
        r.phase("p", "a"),
        Phase::Normal,
        "true and no-data is no-data"
    );
}
