//! Metric values: the [`MetricSource`] the engine reads, and the sources
//! behind it — series of a scenario (offline) and, later, Prometheus.

pub mod scenario;
pub mod series;

pub use crate::engine::{MetricSource, Sample};
pub use scenario::ScenarioSource;
