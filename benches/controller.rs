//! One tick of the controller loop at 1k and 10k PVCs × 20 policies,
//! against a real Prometheus scraping generated kubelet volume stats.
//!
//! Prints, per size: the tick's wall and CPU time (the queries, the join,
//! the engine); the queries Prometheus received in one tick, read from its
//! own `prometheus_http_requests_total` (it must equal the distinct binding
//! queries, not grow with objects); and the heap held per object: the
//! projected `Object` in the watcher's mirror, and the engine's state.
//! The objects are real API JSON (a PVC as the API server returns it,
//! with `managedFields` and a last-applied annotation), projected as the
//! watcher projects them.
//!
//! Needs Prometheus (`eval "$(scripts/test-env)"`, as the e2e tests).
//! Run: `cargo bench --bench controller`.

#[allow(unused_imports)] // the e2e harness; the bench uses its Prometheus part
#[path = "../tests/support/mod.rs"]
mod support;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use autopilot::cluster::metrics::{self, Query};
use autopilot::cluster::prometheus::Prometheus;
use autopilot::controller::objects::pvc_object;
use autopilot::engine::{Engine, Namespace, Object, Snapshot};
use autopilot::ir::Program;
use k8s_openapi::api::core::v1::PersistentVolumeClaim;
use serde_json::json;
use support::prometheus::{Exporter, PrometheusServer};

#[path = "common/policies.rs"]
mod policies;
use policies::policies;

#[path = "common/counting.rs"]
mod counting;
use counting::LIVE;

fn live() -> isize {
    LIVE.load(Ordering::Relaxed)
}

const GI: u64 = 1 << 30;
const NAMESPACES: usize = 50;

fn name(i: usize) -> (String, String) {
    (format!("ns-{}", i % NAMESPACES), format!("data-{i}"))
}

/// A PVC as `kubectl get -o json` shows it.
fn pvc_json(i: usize) -> serde_json::Value {
    let (ns, name) = name(i);
    json!({
        "apiVersion": "v1", "kind": "PersistentVolumeClaim",
        "metadata": {
            "name": name, "namespace": ns, "uid": format!("0c6f-{i:08}"),
            "resourceVersion": format!("{}", 1000 + i),
            "creationTimestamp": "2026-01-01T00:00:00Z",
            "labels": {"app": format!("app{}", i % 3), "app.kubernetes.io/part-of": "bench"},
            "annotations": {
                "pv.kubernetes.io/bind-completed": "yes",
                "volume.kubernetes.io/storage-provisioner": "ebs.csi.aws.com",
                "kubectl.kubernetes.io/last-applied-configuration": "{\"apiVersion\":\"v1\",\"kind\":\"PersistentVolumeClaim\",\"metadata\":{\"annotations\":{},\"name\":\"data\"},\"spec\":{\"accessModes\":[\"ReadWriteOnce\"],\"resources\":{\"requests\":{\"storage\":\"100Gi\"}}}}"
            },
            "finalizers": ["kubernetes.io/pvc-protection"],
            "managedFields": [{"manager": "kubectl", "operation": "Apply", "apiVersion": "v1",
                "time": "2026-01-01T00:00:00Z", "fieldsType": "FieldsV1",
                "fieldsV1": {"f:spec": {"f:accessModes": {}, "f:resources": {"f:requests": {".": {}, "f:storage": {}}}}}}]
        },
        "spec": {
            "accessModes": ["ReadWriteOnce"], "storageClassName": "gp3", "volumeMode": "Filesystem",
            "volumeName": format!("pvc-0c6f-{i:08}"),
            "resources": {"requests": {"storage": "100Gi"}}
        },
        "status": {"phase": "Bound", "accessModes": ["ReadWriteOnce"], "capacity": {"storage": "100Gi"}}
    })
}

/// kubelet volume stats for `n` claims: the series the stdlib reads.
fn exposition(n: usize) -> String {
    let mut out = String::with_capacity(n * 6 * 110);
    let metrics = [
        "kubelet_volume_stats_used_bytes",
        "kubelet_volume_stats_capacity_bytes",
        "kubelet_volume_stats_available_bytes",
        "kubelet_volume_stats_inodes_used",
        "kubelet_volume_stats_inodes",
    ];
    for m in metrics {
        out.push_str(&format!("# TYPE {m} gauge\n"));
        for i in 0..n {
            let (ns, name) = name(i);
            let used = (40 + i % 55) as u64 * GI;
            let v = match m {
                "kubelet_volume_stats_used_bytes" => used,
                "kubelet_volume_stats_capacity_bytes" => 100 * GI,
                "kubelet_volume_stats_available_bytes" => 100 * GI - used,
                "kubelet_volume_stats_inodes_used" => 1000 + i as u64,
                _ => 1_000_000,
            };
            out.push_str(&format!(
                "{m}{{namespace=\"{ns}\",persistentvolumeclaim=\"{name}\"}} {v}\n"
            ));
        }
    }
    out
}

/// Queries Prometheus has answered on `/api/v1/query` so far, from its own
/// `/metrics` (it does not scrape itself here).
async fn answered(base: &str) -> f64 {
    let text = match reqwest::get(format!("{base}/metrics")).await {
        Ok(r) => r.text().await.unwrap_or_default(),
        Err(_) => return f64::NAN,
    };
    text.lines()
        .filter(|l| {
            l.starts_with("prometheus_http_requests_total{")
                && l.contains("handler=\"/api/v1/query\"")
        })
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// CPU seconds this process has used (user + system).
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit(')').next().unwrap_or_default();
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // Fields 14 and 15 of stat(5), counted from the state (field 3) here.
    (ticks(11) + ticks(12)) / 100.0
}

/// What one tick of the loop reads.
struct Tick<'a> {
    prometheus: &'a Prometheus,
    program: &'a Arc<Program>,
    queries: &'a [Query],
    mirror: &'a HashMap<String, Object>,
    namespaces: &'a BTreeMap<String, Namespace>,
}

impl Tick<'_> {
    /// As the controller's loop: the view, the queries, the engine; the
    /// wall time of each phase.
    async fn run(&self, engine: &mut Engine, t: i64) -> [Duration; 3] {
        let start = Instant::now();
        let objects: Vec<Object> = self.mirror.values().cloned().collect();
        let viewed = start.elapsed();
        let asked = [(self.program.as_ref(), self.queries)];
        let at = jiff::Timestamp::now();
        let fetched =
            metrics::fetch_all(self.prometheus, &asked, at, metrics::DEFAULT_IN_FLIGHT).await;
        let queried = start.elapsed() - viewed;
        let snapshot = Snapshot {
            objects: &objects,
            namespaces: self.namespaces,
            metrics: &fetched[0],
        };
        engine.tick(t, &snapshot, &[]);
        [viewed, queried, start.elapsed() - viewed - queried]
    }
}

struct Figures {
    tick_ms: f64,
    /// The view, the queries (Prometheus's time included), the engine.
    split_ms: [f64; 3],
    cpu_ms: f64,
    queries: f64,
    distinct: usize,
    mirror_bytes: f64,
    engine_bytes: f64,
}

async fn measure(
    base: &str,
    prometheus: &Prometheus,
    exporter: &Exporter,
    program: &Arc<Program>,
    queries: &[Query],
    n: usize,
) -> Figures {
    exporter.set("bench", &exposition(n));
    // Wait until Prometheus holds every series.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let q = "count(kubelet_volume_stats_inodes)";
        let got = prometheus.query(q, None).await.ok();
        let count = got.and_then(|s| s.first().and_then(|s| s.value));
        if count == Some(n as f64) || Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }

    let before = live();
    let mut mirror: HashMap<String, Object> = HashMap::with_capacity(n);
    for i in 0..n {
        let pvc: PersistentVolumeClaim = serde_json::from_value(pvc_json(i)).expect("a PVC");
        let object = pvc_object(&pvc).expect("it projects");
        mirror.insert(object.id.to_string(), object);
    }
    let mirror_bytes = (live() - before) as f64 / n as f64;

    let mut namespaces = BTreeMap::new();
    for i in 0..NAMESPACES {
        let mut ns = Namespace::default();
        if i % 2 == 0 {
            ns.labels.insert("tier".into(), "db".into());
        }
        namespaces.insert(format!("ns-{i}"), ns);
    }
    let mut engine = Engine::new(Arc::clone(program));
    let distinct = metrics::distinct(&[(program.as_ref(), queries)]).len();
    let cx = Tick {
        prometheus,
        program,
        queries,
        mirror: &mirror,
        namespaces: &namespaces,
    };
    // The first tick fills the engine's states (most pairs go pending).
    let engine_before = live();
    cx.run(&mut engine, 0).await;
    let engine_bytes = (live() - engine_before) as f64 / n as f64;

    let rounds = 5;
    let mut wall = Duration::ZERO;
    let mut cpu = 0.0;
    let mut queries_seen = 0.0;
    let mut split = [Duration::ZERO; 3];
    for r in 1..=rounds {
        let q0 = answered(base).await;
        let (c0, w0) = (cpu_seconds(), Instant::now());
        let phases = cx.run(&mut engine, r * 30_000).await;
        wall += w0.elapsed();
        for (sum, p) in split.iter_mut().zip(phases) {
            *sum += p;
        }
        cpu += cpu_seconds() - c0;
        queries_seen += answered(base).await - q0;
    }
    Figures {
        tick_ms: wall.as_secs_f64() * 1000.0 / rounds as f64,
        split_ms: split.map(|d| d.as_secs_f64() * 1000.0 / rounds as f64),
        cpu_ms: cpu * 1000.0 / rounds as f64,
        queries: queries_seen / rounds as f64,
        distinct,
        mirror_bytes,
        engine_bytes: engine_bytes.max(0.0),
    }
}

fn rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` would run us too.
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let bins = support::binaries::locate_or_exit("controller");
    let dir = tempfile::tempdir().expect("a scratch dir");
    let exporter = Exporter::start().expect("the exporter");
    let mut server =
        PrometheusServer::spawn(&bins, &[exporter.addr], dir.path()).expect("Prometheus");
    let rt = tokio::runtime::Runtime::new().expect("a runtime");
    rt.block_on(async {
        server
            .wait_ready(Duration::from_secs(60))
            .await
            .expect("Prometheus ready");
        let prometheus = Prometheus::new(&server.url).expect("a client");
        let c = autopilot::compile::compile(vec![("bench.apr".into(), policies())]);
        assert!(!c.has_errors(), "{:?}", c.diagnostics);
        let program = Arc::new(c.checked.program);
        let queries = metrics::queries(&program, &[]).expect("queries");
        println!(
            "controller tick, 20 policies, {} bindings, real Prometheus at {}",
            queries.len(),
            server.url
        );
        for n in [1_000, 10_000] {
            let f = measure(&server.url, &prometheus, &exporter, &program, &queries, n).await;
            println!(
                "{n:>6} PVCs: tick {:>7.1} ms wall (view {:.1}, queries {:.1}, engine {:.1}), \
                 {:>6.1} ms CPU; {:.1} queries per tick ({} distinct binding queries); \
                 heap per object: {:.0} B projected, {:.0} B engine state; RSS {:.0} MiB",
                f.tick_ms,
                f.split_ms[0],
                f.split_ms[1],
                f.split_ms[2],
                f.cpu_ms,
                f.queries,
                f.distinct,
                f.mirror_bytes,
                f.engine_bytes,
                rss_mib()
            );
        }
    });
    server.stop();
}
