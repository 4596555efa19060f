//! Metric values from a scenario's `series:`: one sample per step from the
//! scenario's start, for a binding and an object.
//!
//! Raw Prometheus series (`series: 'metric{…}'`) need PromQL evaluation,
//! which comes later: a scenario that has one is refused, naming the entry,
//! never silently ignored.

use std::collections::HashMap;

use crate::diagnostic::{Diagnostic, did_you_mean};
use crate::engine::{MetricSource, ObjectId, Sample, Time};
use crate::ir::{MetricId, Program};
use crate::sim::scenario::{Scenario, SeriesTarget, codes};

/// Samples of bindings for objects, by tick.
#[derive(Clone, Debug, Default)]
pub struct ScenarioSource {
    start: Time,
    step: Time,
    series: HashMap<(MetricId, ObjectId), Vec<Option<f64>>>,
}

impl ScenarioSource {
    /// Resolves each entry's binding in the program and expands its values
    /// in the binding's unit. Every problem is reported.
    pub fn new(scenario: &Scenario, program: &Program) -> Result<ScenarioSource, Vec<Diagnostic>> {
        let mut diags = Vec::new();
        let mut series = HashMap::new();
        let names: Vec<String> = program.metrics.iter().map(|m| m.qualified()).collect();
        for entry in &scenario.series {
            let what = format!("series entry {}", entry.index);
            match &entry.target {
                SeriesTarget::Raw { selector, span } => {
                    diags.push(
                        Diagnostic::error(
                            codes::UNSUPPORTED,
                            *span,
                            format!(
                                "{what} (`{selector}`) is a raw Prometheus series; simulating \
                                 those needs PromQL evaluation, which is not there yet"
                            ),
                        )
                        .label("raw series")
                        .help(
                            "give the values of the binding the policies read instead, e.g. \
                             `metric: pvc.used`, `object: pvc/db/pg-data`, `values: \"40Gi+1Gix30\"`",
                        ),
                    );
                }
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
                        Ok(values) => {
                            series.insert((id, object.clone()), values);
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
        if diags.is_empty() {
            Ok(ScenarioSource {
                start: scenario.start,
                step: scenario.step,
                series,
            })
        } else {
            Err(diags)
        }
    }

    /// Whether the scenario gives values of `metric` for `object`.
    pub fn has(&self, metric: MetricId, object: &ObjectId) -> bool {
        self.series.contains_key(&(metric, object.clone()))
    }

    /// The sample at tick time `t`: missing before the start, between
    /// ticks' samples (`_`, `stale`), and after the last sample.
    pub fn at(&self, metric: MetricId, object: &ObjectId, t: Time) -> Sample {
        let Some(values) = self.series.get(&(metric, object.clone())) else {
            return Sample::Missing;
        };
        if t < self.start || self.step <= 0 {
            return Sample::Missing;
        }
        let i = ((t - self.start) / self.step) as usize;
        match values.get(i) {
            Some(Some(v)) => Sample::Value(*v),
            _ => Sample::Missing,
        }
    }
}

impl MetricSource for ScenarioSource {
    fn sample(&self, metric: MetricId, object: &ObjectId, t: Time) -> Sample {
        self.at(metric, object, t)
    }
}
