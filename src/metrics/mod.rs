//! Metric values: the [`MetricSource`] the engine reads, and the sources
//! behind it — a scenario's series (offline) and a Prometheus server over HTTP.

pub mod prometheus;
pub mod scenario;
pub mod series;

pub use crate::engine::{MetricSource, Sample};
pub use scenario::ScenarioSource;
