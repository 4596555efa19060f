//! Runs policies over a scenario's simulated world, tick by tick: the loop
//! behind `autopilot simulate` (and, later, `test` and the REPL).
//!
//! Each tick t = start, start + step, … ≤ start + duration:
//! 1. resizes that are due finish ([`World::advance`]);
//! 2. the engine evaluates every policy against the world's objects and
//!    metric values;
//! 3. each intent is carried out by the world, and its outcome goes back to
//!    the engine.
//!
//! Pure: no I/O, no clock.

use std::collections::HashMap;
use std::sync::Arc;

use crate::engine::{Engine, Event, MetricSource, ObjectId, Snapshot, Time};
use crate::ir::{MetricId, Program};
use crate::metrics::ScenarioSource;
use crate::scenario::Scenario;
use crate::world::World;

/// Samples of one metric for one object, one per tick, as the engine saw them.
#[derive(Clone, Debug)]
pub struct Trace {
    pub metric: MetricId,
    pub object: ObjectId,
    /// (tick time, value); None for no data or an error.
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

/// Runs the program over the scenario; records `traces` of (metric, object).
pub fn run(
    program: Arc<Program>,
    scenario: &Scenario,
    source: &ScenarioSource,
    traces: &[(MetricId, ObjectId)],
) -> Run {
    let mut engine = Engine::new(Arc::clone(&program));
    let mut world = World::new(scenario, &program);
    let approvals = scenario.approvals();
    let order: HashMap<&str, usize> = program
        .policies
        .iter()
        .enumerate()
        .map(|(i, p)| (p.name.as_str(), i))
        .collect();
    let mut events = Vec::new();
    let mut traces: Vec<Trace> = traces
        .iter()
        .map(|(metric, object)| Trace {
            metric: *metric,
            object: object.clone(),
            samples: Vec::new(),
        })
        .collect();
    for t in scenario.ticks() {
        world.advance(t);
        let objects = world.objects();
        let (tick_events, intents) = {
            let metrics = world.metrics(source);
            for trace in &mut traces {
                let value = match metrics.sample(trace.metric, &trace.object, t) {
                    crate::engine::Sample::Value(v) if v.is_finite() => Some(v),
                    _ => None,
                };
                trace.samples.push((t, value));
            }
            let snapshot = Snapshot {
                objects: &objects,
                namespaces: world.namespaces(),
                metrics: &metrics,
            };
            engine.tick(t, &snapshot, &approvals)
        };
        let mut tick = tick_events;
        for intent in &intents {
            let outcome = world.apply(t, &intent.policy, &intent.object, &intent.planned);
            tick.extend(engine.finish(t, intent, outcome));
        }
        // What happened to one (policy, object) in a tick reads together:
        // policies in source order, objects by id, as the engine went.
        tick.sort_by_key(|e| (order.get(e.policy.as_str()).copied(), e.object.clone()));
        events.extend(tick);
    }
    Run {
        events,
        world,
        traces,
    }
}
