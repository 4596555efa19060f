//! Metric values from a scenario's `series:`: one point per step from the
//! scenario's start, for a binding and an object, read as Prometheus reads
//! a series (the lookback, staleness markers: [`Timeline`]).
//!
//! Raw Prometheus series (`series: 'metric{…}'`) are evaluated through the
//! bindings' PromQL ([`RawSeries`]); a binding's own values for an object,
//! when given, are what the object reads.

use std::collections::HashMap;

use crate::diagnostic::{Diagnostic, did_you_mean};
use crate::engine::{MetricSource, ObjectId, Sample, Time};
use crate::ir::{self, ExprKind, MetricId, Program};
use crate::sim::raw::RawSeries;
use crate::sim::scenario::{Scenario, SeriesTarget, codes};
use crate::sim::series::{Read, Timeline};

/// Samples of bindings for objects, by tick.
#[derive(Clone, Debug, Default)]
pub struct ScenarioSource {
    start: Time,
    step: Time,
    /// The lookback in steps (at least 1): a sample this many steps old is
    /// out of the window.
    lookback: u64,
    /// By binding, then object: a lookup borrows the object's id.
    series: HashMap<MetricId, foldhash::HashMap<ObjectId, Timeline>>,
    /// The raw series, when the scenario has any.
    raw: Option<RawSeries>,
    /// What an `error` point means: the scenario says so, or (a backtest's
    /// history) several series of the answer named the object.
    failed: &'static str,
}

impl ScenarioSource {
    /// Resolves each entry's binding in the program and expands its values
    /// in the binding's unit. Every problem is reported.
    pub fn new(scenario: &Scenario, program: &Program) -> Result<ScenarioSource, Vec<Diagnostic>> {
        let mut diags = Vec::new();
        let mut series: HashMap<MetricId, foldhash::HashMap<ObjectId, Timeline>> = HashMap::new();
        let names: Vec<String> = program.metrics.iter().map(|m| m.qualified()).collect();
        for entry in &scenario.series {
            let what = format!("series entry {}", entry.index);
            match &entry.target {
                SeriesTarget::Raw { .. } => {}
                SeriesTarget::Binding {
                    metric,
                    metric_span,
                    object,
                } => {
                    let Some(pos) = names.iter().position(|n| n == metric) else {
                        diags.push(
                            Diagnostic::error(
                                codes::UNKNOWN_REFERENCE,
                                *metric_span,
                                format!("{what}: unknown metric `{metric}`"),
                            )
                            .label("no binding of this name")
                            .help_opt(did_you_mean(metric, names.iter().map(String::as_str))),
                        );
                        continue;
                    };
                    let id = MetricId(pos as u32);
                    match entry.values.expand(Some(&program.metric(id).ty)) {
                        Ok(points) => {
                            series
                                .entry(id)
                                .or_default()
                                .insert(object.clone(), Timeline::new(points));
                        }
                        Err(e) => diags.push(
                            entry
                                .values_at
                                .series_error(&e, format!("{what}, values of `{metric}`")),
                        ),
                    }
                }
            }
        }
        let given = |m: MetricId| series.contains_key(&m);
        let raw = match RawSeries::new(scenario, program, &given) {
            Ok(raw) => raw,
            Err(d) => {
                diags.extend(d);
                None
            }
        };
        if diags.is_empty() {
            Ok(ScenarioSource {
                start: scenario.start,
                step: scenario.step,
                lookback: lookback_steps(scenario.lookback, scenario.step),
                series,
                raw,
                failed: QUERY_FAILED,
            })
        } else {
            Err(diags)
        }
    }

    /// Warnings for a run that would be silent: a binding that a policy
    /// reads, over objects of the scenario, with no series for any of them.
    /// Every tick would read no data, and the simulation would say nothing
    /// happened. The PVC volume stats of the stdlib count as given when any
    /// one of them is (the world derives the others).
    pub fn silent(&self, scenario: &Scenario, program: &Program) -> Vec<Diagnostic> {
        let volume = crate::sim::world::volume_bindings(program);
        let given = |m: MetricId| {
            let derived = volume.contains(&Some(m));
            self.raw.as_ref().is_some_and(|r| r.reads(m))
                || self
                    .series
                    .keys()
                    .any(|g| *g == m || (derived && volume.contains(&Some(*g))))
        };
        let mut said = Vec::new();
        let mut diags = Vec::new();
        for policy in &program.policies {
            if !scenario.objects.iter().any(|o| o.id.kind == policy.kind) {
                continue;
            }
            for &m in &policy.metrics {
                if said.contains(&m) || given(m) {
                    continue;
                }
                said.push(m);
                let metric = program.metric(m);
                let name = metric.qualified();
                let span = first_read(policy, m).unwrap_or(policy.span);
                let origin = if metric.stdlib {
                    "the stdlib's"
                } else {
                    "your"
                };
                diags.push(
                    Diagnostic::warning(
                        codes::NO_SERIES,
                        span,
                        format!(
                            "`{name}` has no series in the scenario: policy `{}` reads no data on \
                             every tick, so nothing it does can be seen",
                            policy.name
                        ),
                    )
                    .label(format!("{origin} binding, with no values"))
                    .help(format!(
                        "give its values: `series: [{{metric: {name}, object: {}/…, values: \"…\"}}]`",
                        policy.kind
                    )),
                );
            }
        }
        diags
    }

    /// The raw series, when the scenario has any.
    pub fn raw(&self) -> Option<&RawSeries> {
        self.raw.as_ref()
    }

    /// Whether the scenario gives values of `metric` for `object`.
    pub fn has(&self, metric: MetricId, object: &ObjectId) -> bool {
        self.series
            .get(&metric)
            .is_some_and(|by| by.contains_key(object))
    }

    /// What an instant query at `t` reads: the newest sample of the last
    /// lookback, nothing before the start or after a staleness marker, a
    /// failure at an `error` step.
    pub fn at(&self, metric: MetricId, object: &ObjectId, t: Time) -> Sample {
        let Some(timeline) = self.series.get(&metric).and_then(|by| by.get(object)) else {
            return Sample::Missing;
        };
        if t < self.start || self.step <= 0 {
            return Sample::Missing;
        }
        let i = ((t - self.start) / self.step) as u64;
        match timeline.read(i, self.lookback) {
            Read::Value(v) => Sample::Value(v),
            Read::NoData => Sample::Missing,
            Read::Failed => Sample::Error(self.failed.into()),
        }
    }

    /// Timelines given directly (a backtest's history: each point an
    /// evaluated value at its step), read with `lookback` as [`Self::new`]
    /// reads a scenario's.
    pub fn from_timelines(
        start: Time,
        step: Time,
        lookback: Time,
        series: HashMap<(MetricId, ObjectId), Timeline>,
    ) -> ScenarioSource {
        ScenarioSource {
            start,
            step,
            lookback: lookback_steps(lookback, step),
            series: series
                .into_iter()
                .fold(HashMap::new(), |mut by, ((m, o), t)| {
                    by.entry(m).or_default().insert(o, t);
                    by
                }),
            raw: None,
            failed: SERIES_COLLIDE,
        }
    }
}

/// What a query reads at an `error` step of a scenario's series.
pub const QUERY_FAILED: &str = "the query failed (`error` in the scenario's series)";

/// What a backtest reads where two series of a range answer name one object
/// at a step, as a live tick says it.
pub const SERIES_COLLIDE: &str = "several series name this object at this step; a binding must \
     give one per object (aggregate it by its join labels, e.g. `max by (…) (…)`)";

/// A lookback in whole steps, at least one: with 1m steps, 5m is 5 (the
/// sample 5m old is out, as Prometheus's window is left-open), and 90s is 2.
fn lookback_steps(lookback: Time, step: Time) -> u64 {
    if step <= 0 {
        return 1;
    }
    (lookback.max(1) as u64).div_ceil(step as u64).max(1)
}

/// Where a policy first reads a binding in its filter or its condition.
fn first_read(policy: &ir::Policy, m: MetricId) -> Option<crate::source::Span> {
    policy
        .filter
        .iter()
        .chain([&policy.condition])
        .flat_map(ir::Expr::nodes)
        .find_map(|e| matches!(e.kind, ExprKind::Metric(id) if id == m).then_some(e.span))
}

impl MetricSource for ScenarioSource {
    fn sample(&self, metric: MetricId, object: &ObjectId, t: Time) -> Sample {
        self.at(metric, object, t)
    }
}
