//! The safety invariants of docs/semantics.md section 11, each pinned by a named test,
//! and the state machine's semantics, run through the pure engine.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use autopilot::engine::{
    ActionOutcome as Outcome, ActionResult, Approval, Decision, Engine, Event, EventKind, Failure,
    Fields, Intent, MetricSource, Namespace, Object, ObjectId, Phase, Planned, Sample, Snapshot,
    Time,
};
use autopilot::ir::{MetricId, Program};

const GI: u64 = 1 << 30;
const MIN: Time = 60_000;

fn program(src: &str) -> Arc<Program> {
    let c = autopilot::compile::compile(vec![("t.apr".into(), src.into())]);
    assert!(!c.has_errors(), "{:?}", c.diagnostics);
    Arc::new(c.checked.program)
}

/// Metric values per minute: `values[i]` is the sample at minute i; None is
/// missing; NaN stands for a failed query.
struct Minutes {
    program: Arc<Program>,
    series: HashMap<(String, ObjectId), Vec<Option<f64>>>,
}

impl MetricSource for Minutes {
    fn sample(&self, metric: MetricId, object: &ObjectId, t: Time) -> Sample {
        let name = self.program.metric(metric).qualified();
        let Some(values) = self.series.get(&(name, object.clone())) else {
            return Sample::Missing;
        };
        match values.get((t / MIN) as usize).copied().flatten() {
            Some(v) if v.is_nan() => Sample::Error("prometheus: connection refused".into()),
            Some(v) => Sample::Value(v),
            None => Sample::Missing,
        }
    }
}

fn pvc(name: &str, capacity: u64) -> Object {
    let mut o = Object::new(id(name));
    o.fields = Fields {
        capacity: Some(capacity),
        requested: Some(capacity),
        phase: Some("Bound".into()),
        expandable: Some(true),
        storage_class: Some("standard".into()),
        ..Fields::default()
    };
    o
}

fn id(name: &str) -> ObjectId {
    format!("pvc/db/{name}").parse().unwrap()
}

/// A tiny world: applies resizes to the objects, records everything.
struct Run {
    engine: Engine,
    objects: Vec<Object>,
    source: Minutes,
    approvals: Vec<Approval>,
    log: Vec<String>,
    /// What the executor answers; Applied by default.
    outcome: Box<dyn FnMut(&Intent) -> Outcome>,
}

impl Run {
    fn new(src: &str, objects: Vec<Object>, series: &[(&str, &str, Vec<Option<f64>>)]) -> Run {
        let program = program(src);
        let series = series
            .iter()
            .map(|(m, o, v)| ((m.to_string(), id(o)), v.clone()))
            .collect();
        Run {
            engine: Engine::new(Arc::clone(&program)),
            objects,
            source: Minutes { program, series },
            approvals: Vec::new(),
            log: Vec::new(),
            outcome: Box::new(|_| Outcome::Applied),
        }
    }

    fn tick(&mut self, minute: i64) -> Vec<Event> {
        let t = minute * MIN;
        let namespaces = BTreeMap::from([("db".to_string(), Namespace::default())]);
        let snap = Snapshot {
            objects: &self.objects,
            namespaces: &namespaces,
            metrics: &self.source,
        };
        let (mut events, intents) = self.engine.tick(t, &snap, &self.approvals);
        for intent in intents {
            let outcome = (self.outcome)(&intent);
            if outcome == Outcome::Applied
                && let Planned::Resize { to, .. } = intent.planned
                && let Some(o) = self.objects.iter_mut().find(|o| o.id == intent.object)
            {
                o.fields.requested = Some(to);
                o.fields.capacity = Some(to);
            }
            events.extend(
                self.engine
                    .finish(t, &intent, outcome)
                    .expect("a fresh intent"),
            );
        }
        for e in &events {
            self.log.push(describe(minute, e));
        }
        events
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

    fn capacity(&self, name: &str) -> u64 {
        let o = self.objects.iter().find(|o| o.id == id(name)).unwrap();
        o.fields.capacity.unwrap()
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
    let mut values = usage(&[60.0; 10]);
    for v in &mut values[2..7] {
        *v = None;
    }
    let hold = CARD.replace("cooldown 10m", "cooldown 10m no_data hold");
    let mut r = Run::new(
        &hold,
        vec![pvc("a", 100 * GI)],
        &[("pvc.usage", "a", values.clone())],
    );
    r.run(0..10);
    // The clock started at 0 is kept through the gap; it fires when data returns at 7.
    assert!(
        r.saw("  7m grow pvc/db/a pending -> firing"),
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
    r.run(0..10);
    assert!(
        r.saw("  2m grow pvc/db/a pending -> normal"),
        "{:#?}",
        r.log
    );
    assert!(
        r.saw("  7m grow pvc/db/a normal -> pending"),
        "{:#?}",
        r.log
    );
    assert!(r.actions().is_empty(), "{:#?}", r.log);
}

#[test]
fn no_data_reset_sends_pending_to_normal() {
    let src = "policy grow { on pvc when pvc.usage > 50% for 5m then resize(+100%, max = 400Gi) no_data reset }";
    let mut values = usage(&[60.0; 10]);
    values[2] = None;
    let mut r = Run::new(src, vec![pvc("a", 100 * GI)], &[("pvc.usage", "a", values)]);
    r.run(0..10);
    assert!(r.saw("  2m grow pvc/db/a pending -> normal"));
    assert!(
        r.saw("  8m grow pvc/db/a pending -> firing"),
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
    r.approvals.push(Approval {
        policy: "grow".into(),
        object: id("a"),
        decision: Decision::Approve,
        at: 3 * MIN,
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
    r.approvals.push(Approval {
        policy: "grow".into(),
        object: id("a"),
        decision: Decision::Decline,
        at: MIN,
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

#[test]
fn skipped_while_not_bound_then_acts_when_bound() {
    let mut o = pvc("a", 100 * GI);
    o.fields.phase = Some("Pending".into());
    let src = "policy grow { on pvc when pvc.usage > 50% then resize(+10Gi, max = 1Ti) }";
    let mut r = Run::new(src, vec![o], &[("pvc.usage", "a", usage(&[60.0; 6]))]);
    r.run(0..3);
    let skipped: Vec<_> = r.log.iter().filter(|l| l.contains("Skipped")).collect();
    assert_eq!(skipped.len(), 1);
    assert!(skipped[0].contains("not Bound"));
    r.objects[0].fields.phase = Some("Bound".into());
    r.run(3..4);
    assert_eq!(r.capacity("a"), 110 * GI);
}

#[test]
fn a_failed_action_is_tried_again() {
    let src = "policy grow { on pvc when pvc.usage > 50% then resize(+10Gi, max = 1Ti) }";
    let mut r = Run::new(
        src,
        vec![pvc("a", 100 * GI)],
        &[("pvc.usage", "a", usage(&[60.0; 3]))],
    );
    let mut calls = 0;
    r.outcome = Box::new(move |_| {
        calls += 1;
        if calls == 1 {
            Outcome::Failed(Failure::transient("connection reset"))
        } else {
            Outcome::Applied
        }
    });
    r.run(0..2);
    assert!(r.log.iter().any(|l| l.contains("Failed connection reset")));
    assert_eq!(r.capacity("a"), 110 * GI);
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
    let mut r = Run::new(
        CARD,
        vec![pvc("a", 100 * GI)],
        &[("pvc.usage", "a", usage(&[99.0; 200]))],
    );
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
    let minutes: Vec<i64> = r
        .actions()
        .iter()
        .map(|l| l.trim_start().split('m').next().unwrap().parse().unwrap())
        .collect();
    assert_eq!(minutes, [0, 10, 20, 30, 40, 50]);
}

#[test]
fn invariant_restart_keeps_the_for_clock() {
    let values = usage(&[60.0; 10]);
    let mut a = Run::new(
        CARD,
        vec![pvc("a", 100 * GI)],
        &[("pvc.usage", "a", values.clone())],
    );
    a.run(0..3);
    let saved = a.engine.save();
    assert_eq!(saved.states[0].phase, Phase::Pending { since: 0 });
    // A new controller restores the saved state and goes on.
    let mut b = Run::new(
        CARD,
        vec![pvc("a", 100 * GI)],
        &[("pvc.usage", "a", values)],
    );
    b.engine.restore(&saved, 3 * MIN).unwrap();
    b.run(3..10);
    assert_eq!(
        b.log[0], "  5m grow pvc/db/a pending -> firing",
        "{:#?}",
        b.log
    );
}

#[test]
fn invariant_restart_keeps_the_cooldown() {
    let values = usage(&[99.0; 30]);
    let mut a = Run::new(
        CARD,
        vec![pvc("a", 100 * GI)],
        &[("pvc.usage", "a", values.clone())],
    );
    a.run(0..7);
    assert_eq!(a.actions().len(), 1);
    let saved = a.engine.save();
    let mut b = Run::new(
        CARD,
        vec![pvc("a", 200 * GI)],
        &[("pvc.usage", "a", values)],
    );
    b.engine.restore(&saved, 7 * MIN).unwrap();
    b.run(7..15);
    assert!(
        b.actions().is_empty(),
        "cooldown until 15m survives: {:#?}",
        b.log
    );
}

#[test]
fn invariant_restart_never_repeats_an_action_in_flight() {
    let values = usage(&[99.0; 30]);
    let mut a = Run::new(
        CARD,
        vec![pvc("a", 100 * GI)],
        &[("pvc.usage", "a", values.clone())],
    );
    // Crash between the write and its result: the state says acting.
    let t = 5 * MIN;
    a.run(0..5);
    let namespaces = BTreeMap::new();
    let snap = Snapshot {
        objects: &a.objects,
        namespaces: &namespaces,
        metrics: &a.source,
    };
    let (_, intents) = a.engine.tick(t, &snap, &[]);
    assert_eq!(intents.len(), 1);
    let saved = a.engine.save();
    assert!(matches!(saved.states[0].phase, Phase::Acting { .. }));
    let mut b = Run::new(
        CARD,
        vec![pvc("a", 200 * GI)],
        &[("pvc.usage", "a", values)],
    );
    b.engine.restore(&saved, t).unwrap();
    b.run(5..15);
    assert!(
        b.actions().is_empty(),
        "the in-flight action is not repeated: {:#?}",
        b.log
    );
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
        r.engine.phase("p", &id("a")),
        Phase::Normal,
        "true and no-data is no-data"
    );
    let _ = ActionResult::Applied;
}
