//! The controller's own series on `/metrics` (OpenMetrics text, through
//! prometheus-client), prefixed `autopilot_` (DESIGN section 6): ticks and
//! their duration, query durations and errors per binding, actions by
//! policy and result, policies loaded and failing, objects watched per kind,
//! writes to the API server, and whether this replica leads.

use std::sync::{Arc, Mutex};

use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::{Family, MetricConstructor};
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// The labels of a per-binding series.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct BindingLabels {
    /// `--policies` or `configmap NS/NAME`.
    pub source: String,
    /// `pvc.usage`.
    pub binding: String,
}

/// The labels of `actions_total`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ActionLabels {
    pub source: String,
    pub policy: String,
    /// `resize`, `notify`, …
    pub action: String,
    /// `applied`, `dry_run`, `declined`, `skipped`, `failed`, …
    pub result: String,
}

/// `policies{state}`: `loaded` (policies running) or `failing` (sources
/// whose current text does not check).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StateLabels {
    pub state: String,
}

/// `objects{kind}`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct KindLabels {
    pub kind: String,
}

/// `api_writes_total{what}`: what a write to the API server was for.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct WriteLabels {
    pub what: Write,
}

#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
pub enum Write {
    /// An action's own write (resize, scale, evict, …).
    Action,
    /// The state annotation of an object, or the `at_most` ConfigMap.
    State,
    /// An ActionApproval created, replaced or deleted.
    Approval,
    /// A Kubernetes Event.
    Event,
}

impl Write {
    pub fn name(self) -> &'static str {
        match self {
            Write::Action => "action",
            Write::State => "state",
            Write::Approval => "approval",
            Write::Event => "event",
        }
    }
}

impl EncodeLabelValue for Write {
    fn encode(
        &self,
        encoder: &mut prometheus_client::encoding::LabelValueEncoder,
    ) -> Result<(), std::fmt::Error> {
        std::fmt::Write::write_str(encoder, self.name())
    }
}

/// Histogram buckets in seconds: 1 ms to about 33 s.
#[derive(Clone)]
pub struct Seconds;

impl MetricConstructor<Histogram> for Seconds {
    fn new_metric(&self) -> Histogram {
        seconds()
    }
}

fn seconds() -> Histogram {
    Histogram::new(exponential_buckets(0.001, 2.0, 16))
}

/// The series, and the registry that renders them; cheap to clone.
#[derive(Clone)]
pub struct Telemetry {
    registry: Arc<Mutex<Registry>>,
    pub ticks: Counter,
    pub tick_duration: Histogram,
    pub query_duration: Family<BindingLabels, Histogram, Seconds>,
    pub query_errors: Family<BindingLabels, Counter>,
    pub actions: Family<ActionLabels, Counter>,
    pub policies: Family<StateLabels, Gauge>,
    pub objects: Family<KindLabels, Gauge>,
    pub api_writes: Family<WriteLabels, Counter>,
    /// 1 while this replica holds the Lease (or runs without election).
    pub leader: Gauge,
}

impl Default for Telemetry {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("autopilot");
        let t = Telemetry {
            registry: Arc::new(Mutex::new(Registry::default())),
            ticks: Counter::default(),
            tick_duration: seconds(),
            query_duration: Family::new_with_constructor(Seconds),
            query_errors: Family::default(),
            actions: Family::default(),
            policies: Family::default(),
            objects: Family::default(),
            api_writes: Family::default(),
            leader: Gauge::default(),
        };
        // The encoder adds `_total` to a counter's name.
        registry.register("ticks", "Ticks of the controller loop", t.ticks.clone());
        registry.register(
            "tick_duration_seconds",
            "How long a tick took: the queries, the engines, the actions",
            t.tick_duration.clone(),
        );
        registry.register(
            "query_duration_seconds",
            "How long a binding's Prometheus query took, per policy source and binding",
            t.query_duration.clone(),
        );
        registry.register(
            "query_errors",
            "Prometheus queries that failed, per policy source and binding",
            t.query_errors.clone(),
        );
        registry.register(
            "actions",
            "Actions by policy, action and result",
            t.actions.clone(),
        );
        registry.register(
            "policies",
            "Policies loaded (state=loaded), and policy sources whose text does not check \
             (state=failing)",
            t.policies.clone(),
        );
        registry.register("objects", "Objects watched, per kind", t.objects.clone());
        registry.register(
            "api_writes",
            "Writes to the API server, by what they were for (action, state, approval, event)",
            t.api_writes.clone(),
        );
        registry.register(
            "leader",
            "1 while this replica leads and writes, 0 on standby",
            t.leader.clone(),
        );
        Telemetry {
            registry: Arc::new(Mutex::new(registry)),
            ..t
        }
    }
}

impl Telemetry {
    /// Counts one write to the API server.
    pub fn wrote(&self, what: Write) {
        self.api_writes.get_or_create(&WriteLabels { what }).inc();
    }

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
    fn every_series_renders_with_its_labels() {
        let t = Telemetry::default();
        t.ticks.inc();
        t.tick_duration.observe(0.012);
        let binding = BindingLabels {
            source: "--policies".into(),
            binding: "pvc.usage".into(),
        };
        t.query_errors.get_or_create(&binding).inc();
        t.query_errors.get_or_create(&binding).inc();
        t.query_duration.get_or_create(&binding).observe(0.2);
        let action = ActionLabels {
            source: "--policies".into(),
            policy: "grow".into(),
            action: "resize".into(),
            result: "applied".into(),
        };
        t.actions.get_or_create(&action).inc();
        let loaded = StateLabels {
            state: "loaded".into(),
        };
        t.policies.get_or_create(&loaded).set(3);
        let pvc = KindLabels { kind: "pvc".into() };
        t.objects.get_or_create(&pvc).set(10);
        t.api_writes
            .get_or_create(&WriteLabels { what: Write::State })
            .inc();
        t.leader.set(1);
        insta::assert_snapshot!(t.render());
    }
}
