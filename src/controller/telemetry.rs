//! The controller's own series on `/metrics` (OpenMetrics text, through
//! prometheus-client), prefixed `autopilot_`. So far: ticks, and failed
//! queries per source and binding; issue 12 adds the rest.

use std::sync::{Arc, Mutex};

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;

/// The labels of a per-binding series.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct BindingLabels {
    /// `--policies` or `configmap NS/NAME`.
    pub source: String,
    /// `pvc.usage`.
    pub binding: String,
}

/// The series, and the registry that renders them; cheap to clone.
#[derive(Clone)]
pub struct Telemetry {
    registry: Arc<Mutex<Registry>>,
    pub ticks: Counter,
    pub query_errors: Family<BindingLabels, Counter>,
}

impl Default for Telemetry {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("autopilot");
        let ticks = Counter::default();
        // The encoder adds `_total` to a counter's name.
        registry.register("ticks", "Ticks of the controller loop", ticks.clone());
        let query_errors = Family::<BindingLabels, Counter>::default();
        registry.register(
            "query_errors",
            "Prometheus queries that failed, per policy source and binding",
            query_errors.clone(),
        );
        Telemetry {
            registry: Arc::new(Mutex::new(registry)),
            ticks,
            query_errors,
        }
    }
}

impl Telemetry {
    /// The OpenMetrics text of every series.
    pub fn render(&self) -> String {
        let mut out = String::new();
        if let Ok(registry) = self.registry.lock() {
            // Writing to a String cannot fail.
            let _ = prometheus_client::encoding::text::encode(&mut out, &registry);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_queries_are_counted_per_binding() {
        let t = Telemetry::default();
        t.ticks.inc();
        let labels = BindingLabels {
            source: "--policies".into(),
            binding: "pvc.usage".into(),
        };
        t.query_errors.get_or_create(&labels).inc();
        t.query_errors.get_or_create(&labels).inc();
        insta::assert_snapshot!(t.render());
    }
}
