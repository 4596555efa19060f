//! The safety invariants (docs/semantics.md section 11) as a property of the
//! real simulation: every valid program that the fuzz generators produce is
//! simulated for a few ticks over a generated world (PVCs, pods, workloads,
//! nodes) and generated series (samples, gaps, staleness markers, failed
//! queries), through `sim::Sim` as `simulate` and `test` run it.
//!
//! Each run must not panic, and:
//! - a resize never shrinks a volume and never passes the policy's `max`;
//!   a scale stays within `min` and `max`;
//! - nothing is done where the condition is not true: before each tick, the
//!   condition of every policy is evaluated against what that tick will see
//!   (a clone of the world, advanced), and every action taken at the tick
//!   must be of a (policy, object) whose condition was true;
//! - at most one firing per (policy, object) per cooldown;
//! - the transitions of a (policy, object) chain (each starts where the last
//!   ended);
//! - restarts at random times change nothing: the timeline with them is the
//!   timeline without them (transitions and actions taken; a skip or an
//!   error, which a state says once, may be said again after a restart).
//!
//! The worlds change by themselves too (`changes:`): workloads degrade and
//! recover, pods fail, appear and are deleted.
//!
//! `SIM_FUZZ_CASES` sets the number of generated programs (default 2,000;
//! only valid ones are simulated, and the test asserts that enough were).

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::sync::Arc;

use autopilot::engine::eval::{self, Cx, Val};
use autopilot::engine::{ActionResult, Event, EventKind, ObjectId, PhaseName, Planned, Time};
use autopilot::ir::{self, ActionKind, Program, Type, Value};
use autopilot::sim::{self, Scenario, ScenarioSource, Sim};
use autopilot::source::SourceMap;
use common::generators::{CORPUS, grammar_input, mutated};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};

const TICKS: i64 = 60;
const GI: u64 = 1 << 30;

/// splitmix64: the world of a case from one seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

/// A scenario's YAML for a generated world, with series for every binding
/// the program's policies read, for every object of the binding's kind.
fn scenario_yaml(program: &Program, seed: u64) -> String {
    let mut rng = Rng(seed);
    // The vocabulary of the corpus: its labels, classes and tiers.
    let mut y = format!("step: 1m\nduration: {TICKS}m\nobjects:\n");
    y += "  - {kind: storageclass, name: standard, allow_volume_expansion: true}\n";
    y += "  - {kind: storageclass, name: fast-iops, allow_volume_expansion: true}\n";
    y += "  - {kind: storageclass, name: fixed, allow_volume_expansion: false}\n";
    y += "  - {kind: namespace, name: db, labels: {tier: db}}\n";
    let mut ids: Vec<(ir::Kind, String)> = Vec::new();
    let ns = |rng: &mut Rng| ["db", "db", "web"][rng.below(3) as usize];
    let app = |rng: &mut Rng| ["postgres", "postgres", "kafka", "web"][rng.below(4) as usize];
    for i in 0..1 + rng.below(3) {
        let n = ns(&mut rng);
        let class = ["standard", "standard", "fast-iops", "fixed"][rng.below(4) as usize];
        let cap = [1 + rng.below(99), 100 + rng.below(400)][rng.below(2) as usize];
        let phase = if rng.chance(10) {
            format!("phase: Pending, requested: {cap}Gi")
        } else {
            format!("capacity: {cap}Gi")
        };
        let _ = writeln!(
            y,
            "  - {{kind: pvc, namespace: {n}, name: p{i}, storage_class: {class}, {phase}, age: {}h, labels: {{app: {}}}}}",
            rng.below(72),
            app(&mut rng)
        );
        ids.push((ir::Kind::Pvc, format!("pvc/{n}/p{i}")));
    }
    for i in 0..rng.below(3) {
        let n = ns(&mut rng);
        let phase = ["Running", "Pending", "Failed"][rng.below(3) as usize];
        let _ = writeln!(
            y,
            "  - {{kind: pod, namespace: {n}, name: pod{i}, phase: {phase}, node: n0, labels: {{app: {}}}}}",
            app(&mut rng)
        );
        ids.push((ir::Kind::Pod, format!("pod/{n}/pod{i}")));
    }
    for (kind, word) in [
        (ir::Kind::Deployment, "deployment"),
        (ir::Kind::StatefulSet, "statefulset"),
    ] {
        for i in 0..rng.below(3) {
            let (n, r) = (ns(&mut rng), rng.below(6));
            let _ = writeln!(
                y,
                "  - {{kind: {word}, namespace: {n}, name: w{i}, replicas: {r}, ready_replicas: {r}}}"
            );
            ids.push((kind, format!("{word}/{n}/w{i}")));
        }
    }
    for i in 0..rng.below(2) {
        let _ = writeln!(
            y,
            "  - {{kind: node, name: n{i}, unschedulable: {}}}",
            rng.chance(20)
        );
        ids.push((ir::Kind::Node, format!("node/n{i}")));
    }
    // The world changing by itself: workloads degrade and recover, pods
    // fail, come and go, volumes grow from outside.
    let mut changes = String::new();
    let pods = ids.iter().filter(|(k, _)| *k == ir::Kind::Pod).count();
    for i in 0..rng.below(4) {
        // Sets and creations in the first half, deletions in the second, so
        // that nothing is set after it is gone.
        let at = rng.below(TICKS as u64 / 2);
        let Some((kind, id)) = ids.get(rng.below(ids.len() as u64) as usize).cloned() else {
            break;
        };
        let set = match kind {
            ir::Kind::Deployment | ir::Kind::StatefulSet => {
                format!("ready_replicas: {}", rng.below(6))
            }
            ir::Kind::Pod => ["phase: Failed", "phase: Running"][rng.below(2) as usize].into(),
            ir::Kind::Pvc => format!("labels: {{app: {}}}", app(&mut rng)),
            ir::Kind::Node => format!("unschedulable: {}", rng.chance(50)),
        };
        let _ = writeln!(changes, "  - {{at: {at}m, object: {id}, set: {{{set}}}}}");
        if i == 0 && rng.chance(50) {
            let n = ns(&mut rng);
            let _ = writeln!(
                changes,
                "  - {{at: {at}m, create: {{kind: pod, namespace: {n}, name: late{pods}, phase: Failed, labels: {{app: {}}}}}}}",
                app(&mut rng)
            );
        }
        if kind == ir::Kind::Pod && rng.chance(30) {
            let later = TICKS as u64 / 2 + rng.below(TICKS as u64 / 2);
            let _ = writeln!(changes, "  - {{at: {later}m, delete: {id}}}");
            break;
        }
    }
    if !changes.is_empty() {
        y += "changes:\n";
        y += &changes;
    }
    let read: BTreeSet<u32> = program
        .policies
        .iter()
        .flat_map(|p| p.metrics.iter().map(|m| m.0))
        .collect();
    let mut series = String::new();
    for m in read {
        let metric = program.metric(ir::MetricId(m));
        for (kind, id) in &ids {
            if *kind != metric.kind || rng.chance(10) {
                continue;
            }
            // Sticky values, so that a `for` can be met: each step keeps
            // the last value, or sometimes draws another.
            let mut last = value(&mut rng, &metric.ty);
            let values: Vec<String> = (0..=TICKS)
                .map(|_| match rng.below(40) {
                    0 => "_".into(),
                    1 => "stale".into(),
                    2 => "error".into(),
                    3..=6 => {
                        last = value(&mut rng, &metric.ty);
                        last.clone()
                    }
                    _ => last.clone(),
                })
                .collect();
            let _ = writeln!(
                series,
                "  - {{metric: {}, object: {id}, values: \"{}\"}}",
                metric.qualified(),
                values.join(" ")
            );
        }
    }
    if !series.is_empty() {
        y += "series:\n";
        y += &series;
    }
    y
}

/// A sample in the binding's base unit.
/// Half the time high, where thresholds are.
fn value(rng: &mut Rng, ty: &Type) -> String {
    let high = rng.chance(50);
    match ty {
        Type::Percent if high => (75 + rng.below(26)).to_string(),
        Type::Percent => rng.below(101).to_string(),
        Type::Bytes if high => (rng.below(20) * GI / 2).to_string(),
        Type::Bytes => (rng.below(600) * GI / 2).to_string(),
        Type::Duration => format!(
            "{}",
            rng.below(if high { 100 } else { 5000 }) as f64 / 1000.0
        ),
        _ if high => (500 + rng.below(2000)).to_string(),
        _ => rng.below(60).to_string(),
    }
}

/// (policy, object) pairs whose condition (and filter) is true at `t` in
/// `world`, as the tick at `t` will see it.
fn true_at(
    program: &Program,
    world: &sim::World,
    source: &ScenarioSource,
    t: Time,
) -> BTreeSet<(String, ObjectId)> {
    let mut world = world.clone();
    world.change(t);
    world.advance(t);
    let objects = world.objects();
    let metrics = world.metrics(source, None);
    let mut out = BTreeSet::new();
    for p in &program.policies {
        for o in objects.iter().filter(|o| o.id.kind == p.kind) {
            let namespace =
                o.id.namespace
                    .as_ref()
                    .and_then(|n| world.namespaces().get(n));
            let cx = Cx {
                program,
                object: o,
                namespace,
                metrics: &metrics,
                t,
                cache: None,
            };
            let yes = |e: &ir::Expr| eval::eval(e, &cx) == Val::Value(Value::Bool(true));
            if p.filter.as_ref().is_none_or(yes) && yes(&p.condition) {
                out.insert((p.name.clone(), o.id.clone()));
            }
        }
    }
    out
}

fn taken(result: ActionResult) -> bool {
    matches!(result, ActionResult::Applied | ActionResult::DryRun)
}

/// Runs the program over the scenario, checking at each tick that what was
/// done had a true condition; returns the timeline.
fn run_checked(
    program: &Arc<Program>,
    scenario: &Scenario,
    source: &ScenarioSource,
) -> Result<Vec<Event>, TestCaseError> {
    let mut sim = Sim::new(Arc::clone(program), scenario, &[]);
    for t in scenario.ticks() {
        let allowed = true_at(program, &sim.world, source, t);
        let before = sim.events.len();
        sim.tick(t, source);
        for e in &sim.events[before..] {
            if let EventKind::Action { result, .. } = &e.kind
                && taken(*result)
            {
                prop_assert!(
                    allowed.contains(&(e.policy.clone(), e.object.clone())),
                    "acted at {} on {} by {} without a true condition: {e:?}",
                    t - scenario.start,
                    e.object,
                    e.policy
                );
            }
        }
    }
    Ok(sim.events)
}

/// The invariants over a whole timeline.
fn check_timeline(program: &Program, events: &[Event]) -> Result<(), TestCaseError> {
    let mut phase: BTreeMap<(&str, &ObjectId), PhaseName> = BTreeMap::new();
    let mut fired: BTreeMap<(&str, &ObjectId), Time> = BTreeMap::new();
    for e in events {
        let key = (e.policy.as_str(), &e.object);
        let policy = program.policy(&e.policy).expect("events name policies");
        match &e.kind {
            EventKind::Transition { from, to } => {
                let now = phase.get(&key).copied().unwrap_or(PhaseName::Normal);
                prop_assert_eq!(now, *from, "transitions chain: {:?}", e);
                phase.insert(key, *to);
            }
            EventKind::Action {
                planned: Some(planned),
                result,
                ..
            } if taken(*result) => {
                if let Some(&last) = fired.get(&key)
                    && last != e.time
                {
                    prop_assert!(
                        e.time >= policy.cooldown.after(last),
                        "two firings within a cooldown: {last} and {e:?}"
                    );
                }
                fired.insert(key, e.time);
                match planned {
                    Planned::Resize { from, to } => {
                        prop_assert!(to > from, "a resize shrinks or stays: {e:?}");
                        let max = policy.actions.iter().find_map(|a| match &a.kind {
                            ActionKind::Resize(r) => r.max,
                            _ => None,
                        });
                        prop_assert!(max.is_none_or(|m| *to <= m), "past max: {e:?}");
                    }
                    Planned::Scale { to, .. } => {
                        for a in &policy.actions {
                            if let ActionKind::Scale(s) = &a.kind {
                                prop_assert!(s.min.is_none_or(|m| *to >= m), "below min: {e:?}");
                                prop_assert!(s.max.is_none_or(|m| *to <= m), "above max: {e:?}");
                            }
                        }
                    }
                    _ => {}
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// What a restart must not change: transitions, and actions other than a
/// skip (which a state says once, and may say again after a restart).
fn essential(events: &[Event]) -> Vec<&Event> {
    events
        .iter()
        .filter(|e| match &e.kind {
            EventKind::Transition { .. } => true,
            EventKind::Action { result, .. } => *result != ActionResult::Skipped,
            EventKind::Error { .. } => false,
        })
        .collect()
}

/// Simulates one program; the number of actions it took, or None when it
/// does not check.
fn simulate(files: &[String], seed: u64) -> Result<Option<usize>, TestCaseError> {
    let named: Vec<(String, String)> = files
        .iter()
        .enumerate()
        .map(|(i, f)| (format!("f{i}.apr"), f.clone()))
        .collect();
    let c = autopilot::compile::compile(named);
    if c.has_errors() || c.checked.program.policies.is_empty() {
        return Ok(None);
    }
    let program = Arc::new(c.checked.program);
    let yaml = scenario_yaml(&program, seed);
    let mut sources = SourceMap::default();
    let file = sources.add("fuzz.yaml", yaml.clone());
    let mut scenario = sim::scenario::parse(file, &yaml)
        .map_err(|d| TestCaseError::fail(format!("{yaml}\n{d:#?}")))?;
    let diags = scenario.check(&program);
    prop_assert!(diags.is_empty(), "{yaml}\n{diags:#?}");
    let source = ScenarioSource::new(&scenario, &program)
        .map_err(|d| TestCaseError::fail(format!("{yaml}\n{d:#?}")))?;
    let events = run_checked(&program, &scenario, &source)?;
    check_timeline(&program, &events)?;
    let mut rng = Rng(seed ^ 0x5eed);
    scenario.restarts = (0..1 + rng.below(3))
        .map(|_| scenario.start + rng.below(TICKS as u64 * 60) as Time * 1000)
        .collect();
    scenario.restarts.sort_unstable();
    let restarted = sim::run(Arc::clone(&program), &scenario, &source, &[]);
    let (want, got) = (essential(&events), essential(&restarted.events));
    if want != got {
        let at = want
            .iter()
            .zip(&got)
            .position(|(a, b)| a != b)
            .unwrap_or(want.len().min(got.len()));
        return Err(TestCaseError::fail(format!(
            "restarts at {:?} changed the timeline at event {at}:\n without: {:?}\n with:    {:?}\n{yaml}",
            scenario.restarts,
            want.get(at),
            got.get(at)
        )));
    }
    let actions = events
        .iter()
        .filter(|e| matches!(e.kind, EventKind::Action { result, .. } if taken(result)))
        .count();
    if std::env::var_os("SIM_FUZZ_SHOW").is_some() {
        let results: Vec<String> = events
            .iter()
            .filter_map(|e| match &e.kind {
                EventKind::Action { result, reason, .. } => Some(format!("{result:?} {reason:?}")),
                _ => None,
            })
            .collect();
        eprintln!("{files:?}\n{yaml}\n{} events; {results:?}\n", events.len());
    }
    Ok(Some(actions))
}

fn programs() -> BoxedStrategy<Vec<String>> {
    prop_oneof![
        3 => prop::sample::select(CORPUS).prop_map(|s| vec![s.to_string()]),
        3 => mutated(),
        2 => grammar_input(),
    ]
    .boxed()
}

#[test]
fn valid_programs_simulate_safely() {
    let cases: u32 = std::env::var("SIM_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000);
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    let simulated = std::cell::Cell::new(0u32);
    let acted = std::cell::Cell::new(0usize);
    let result = runner.run(&(programs(), any::<u64>()), |(files, seed)| {
        if let Some(actions) = simulate(&files, seed)? {
            simulated.set(simulated.get() + 1);
            acted.set(acted.get() + actions);
        }
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    let (simulated, acted) = (simulated.get(), acted.get());
    println!("{simulated} of {cases} programs were valid and simulated; {acted} actions taken");
    assert!(
        simulated >= cases / 5,
        "only {simulated} of {cases} generated programs were valid: the property says little"
    );
    assert!(
        acted >= simulated as usize,
        "too few actions ({acted}) to say much"
    );
}
