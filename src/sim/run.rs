//! Runs policies over a scenario's simulated world, tick by tick: the loop
//! behind `autopilot simulate` (and, later, `test` and the REPL).
//!
//! Each tick t = start, start + step, … ≤ start + duration:
//! 0. at a scenario's restart, the engine is replaced by a new one restored
//!    from the old one's saved state, through its JSON form, as the
//!    controller's state annotation carries it;
//! 1. the scenario's changes due by t happen ([`World::change`]), and
//!    resizes that are due finish ([`World::advance`]);
//! 2. the engine evaluates every policy against the world's objects and
//!    metric values;
//! 3. each intent is carried out by the world, and its outcome goes back to
//!    the engine.
//!
//! Pure: no I/O, no clock.

use std::collections::HashMap;
use std::sync::Arc;

use crate::engine::answers::Fetched;
use crate::engine::eval::{self, Cx, Val};
use crate::engine::{Engine, Event, Object, ObjectId, Snapshot, Time};
use crate::ir::{self, Program, Value};
use crate::sim::ScenarioSource;
use crate::sim::raw::VolumeStats;
use crate::sim::scenario::Scenario;
use crate::sim::world::{World, WorldMetrics};

/// An expression to record for one object at every tick (`--plot`).
#[derive(Clone, Debug, PartialEq)]
pub struct Probe {
    pub expr: ir::Expr,
    pub object: ObjectId,
}

/// A probe's values, one per tick, as the engine saw them: before the
/// tick's actions.
#[derive(Clone, Debug)]
pub struct Trace {
    pub object: ObjectId,
    /// (tick time, value); None for no data, an error, or the object not in
    /// the cluster. A condition reads 1 for true and 0 for false.
    pub samples: Vec<(Time, Option<f64>)>,
}

/// What a run did.
#[derive(Debug)]
pub struct Run {
    /// Every event, in order.
    pub events: Vec<Event>,
    /// The world at the end.
    pub world: World,
    /// The traces asked for, in the order asked.
    pub traces: Vec<Trace>,
}

/// Runs the program over the scenario; records a trace of each probe.
pub fn run(
    program: Arc<Program>,
    scenario: &Scenario,
    source: &ScenarioSource,
    traces: &[Probe],
) -> Run {
    let mut sim = Sim::new(program, scenario, traces);
    for t in scenario.ticks() {
        sim.tick(t, source);
    }
    Run {
        events: sim.events,
        world: sim.world,
        traces: sim.traces,
    }
}

/// A run in progress, one tick at a time: the REPL stops at its clock.
pub struct Sim {
    pub engine: Engine,
    pub world: World,
    /// Every event so far, in order.
    pub events: Vec<Event>,
    pub traces: Vec<Trace>,
    probes: Vec<Probe>,
    approvals: Vec<crate::engine::Approval>,
    restarts: Vec<Time>,
    program: Arc<Program>,
    order: HashMap<String, usize>,
    /// The scenario's raw series as the world keeps them (volume stats
    /// following its capacity), once a tick has read them.
    volume: Option<VolumeStats>,
    /// The bindings' answers over the raw series at the last tick.
    answers: Option<Fetched>,
}

impl Sim {
    pub fn new(program: Arc<Program>, scenario: &Scenario, traces: &[Probe]) -> Sim {
        let order = program
            .policies
            .iter()
            .enumerate()
            .map(|(i, p)| (p.name.clone(), i))
            .collect();
        Sim {
            world: World::new(scenario, &program),
            engine: Engine::new(Arc::clone(&program)),
            events: Vec::new(),
            traces: traces
                .iter()
                .map(|p| Trace {
                    object: p.object.clone(),
                    samples: Vec::new(),
                })
                .collect(),
            probes: traces.to_vec(),
            approvals: scenario.approvals(),
            restarts: scenario.restarts.clone(),
            program,
            order,
            volume: None,
            answers: None,
        }
    }

    /// The world as the tick at `t` sees it, before the engine: resizes due
    /// by `t` finished, and the bindings' answers over the raw series at `t`
    /// (the REPL looks at its clock this way).
    pub fn observe(&mut self, t: Time, source: &ScenarioSource) {
        self.world.advance(t);
        if let Some(raw) = source.raw() {
            let volume = self.volume.get_or_insert_with(|| VolumeStats::new(raw));
            volume.follow(t, &self.world.resized());
            self.answers = Some(raw.answers(&volume.store, t));
        }
    }

    /// Metric values as the last tick (or [`Sim::observe`]) read them.
    pub fn metrics<'a>(&'a self, source: &'a ScenarioSource) -> WorldMetrics<'a> {
        self.world.metrics(source, self.answers.as_ref())
    }

    /// Runs the tick at `t`: the world advances, the engine evaluates, the
    /// world carries out the intents.
    pub fn tick(&mut self, t: Time, source: &ScenarioSource) {
        // Restarts at or before `t` (and after the last tick) come first.
        while let Some(&at) = self.restarts.first()
            && at <= t
        {
            self.restarts.remove(0);
            self.restart(at);
        }
        self.world.change(t);
        self.observe(t, source);
        self.world.refresh();
        let world = &mut self.world;
        let objects = world.view();
        let (tick_events, intents) = {
            let metrics = world.metrics(source, self.answers.as_ref());
            if !self.probes.is_empty() {
                let by_id: HashMap<&ObjectId, &Object> =
                    objects.iter().map(|o| (&o.id, o)).collect();
                for (probe, trace) in self.probes.iter().zip(&mut self.traces) {
                    let value = by_id.get(&probe.object).and_then(|o| {
                        let namespace =
                            o.id.namespace
                                .as_ref()
                                .and_then(|n| world.namespaces().get(n));
                        let cx = Cx {
                            program: &self.program,
                            object: o,
                            namespace,
                            metrics: &metrics,
                            t,
                            cache: None,
                        };
                        match eval::eval(&probe.expr, &cx) {
                            Val::Value(Value::Num(v)) if v.is_finite() => Some(v),
                            Val::Value(Value::Bool(b)) => Some(f64::from(u8::from(b))),
                            _ => None,
                        }
                    });
                    trace.samples.push((t, value));
                }
            }
            let snapshot = Snapshot {
                objects,
                namespaces: world.namespaces(),
                metrics: &metrics,
            };
            self.engine.tick(t, &snapshot, &self.approvals)
        };
        let mut tick = tick_events;
        for intent in &intents {
            let outcome = world.apply(t, &intent.policy, &intent.object, &intent.planned);
            // The intent is this tick's, of this engine: never stale.
            tick.extend(self.engine.finish(t, intent, outcome).unwrap_or_default());
        }
        // What happened to one (policy, object) in a tick reads together:
        // policies in source order, objects by id, as the engine went.
        let order = &self.order;
        tick.sort_by_key(|e| (order.get(e.policy.as_str()).copied(), e.object.clone()));
        self.events.extend(tick);
    }

    /// The controller restarts at `t`: what it saved is all the new engine
    /// knows. Saved state goes through JSON, as it does on the cluster.
    fn restart(&mut self, t: Time) {
        let program = Arc::clone(&self.program);
        let json = serde_json::to_string(&self.engine.save()).expect("saved state serializes");
        let saved = serde_json::from_str(&json).expect("saved state reads back");
        let mut engine = Engine::new(program);
        // Saved by an engine of the same version and program: never refused.
        let _ = engine.restore(&saved, t);
        self.engine = engine;
    }
}
