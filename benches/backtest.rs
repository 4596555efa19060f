//! `autopilot backtest` over a week at 1m of N PVCs (`BACKTEST_PVCS`,
//! default 1,000) against the real Prometheus, as the CLI composes it: the
//! window planned into chunks, one range query per binding per chunk, the
//! answers joined into timelines, the simulation over them.
//!
//! The history: raw kubelet volume stats (used, capacity, available) at a
//! 1m scrape interval, written as OpenMetrics and backfilled with promtool
//! once, cached under `~/.cache/autopilot/bench/backtest-v1-N/`. Every
//! tenth PVC fills from 50% to 100% over the week, so the policy resizes
//! it; the rest hold steady below the threshold.
//!
//! Prints the median of `BACKTEST_RUNS` runs (default 3) of: total wall,
//! query time (every range query's HTTP round trip and decoding, and the
//! join), engine time (timelines, the simulation and the summary), the
//! requests, the points fetched, the events, and the peak RSS of this
//! process and of Prometheus. The run must produce events.
//!
//! Needs Prometheus and promtool (`eval "$(scripts/test-env)"`).
//! Run: `cargo bench --bench backtest`.

#[allow(unused_imports)] // the e2e harness; the bench uses its Prometheus part
#[path = "../tests/support/mod.rs"]
mod support;

#[path = "common/openmetrics.rs"]
mod openmetrics;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use autopilot::cluster::prometheus::Prometheus;
use autopilot::cluster::{history, metrics};
use autopilot::config::PrometheusConfig;
use autopilot::engine::EventKind;
use autopilot::sim::series::{Point, Timeline};
use autopilot::sim::{self, ScenarioSource, scenario};
use support::prometheus::PrometheusServer;

/// 2026-01-05T00:00:00Z, in milliseconds.
const START: i64 = 1_767_571_200_000;
const MINUTE: i64 = 60_000;
/// A week of minutes: samples at 0 … STEPS, both ends included.
const STEPS: i64 = 7 * 24 * 60;
const GI: f64 = 1024.0 * 1024.0 * 1024.0;
const CAPACITY: f64 = 100.0 * GI;

const POLICY: &str = "when pvc.usage > 80% for 10m then resize(+50%, max = 1Ti)\n";

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The bytes in use of PVC `i` at minute `k`.
fn used(i: usize, k: i64) -> f64 {
    if i.is_multiple_of(10) {
        (0.5 + 0.5 * k as f64 / STEPS as f64) * CAPACITY
    } else {
        (20 + i % 50) as f64 / 100.0 * CAPACITY
    }
}

fn labels(i: usize) -> String {
    format!(
        "namespace=\"ns-{}\",persistentvolumeclaim=\"pvc-{i}\"",
        i % 50
    )
}

/// The cached TSDB of `pvcs` PVCs, generated and backfilled if missing.
fn tsdb(promtool: &Path, pvcs: usize) -> PathBuf {
    let home = std::env::var_os("HOME").map_or_else(std::env::temp_dir, PathBuf::from);
    let dir = home.join(format!(".cache/autopilot/bench/backtest-v1-{pvcs}"));
    let data = dir.join("data");
    if dir.join("complete").exists() {
        return data;
    }
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("the cache dir");
    let t = Instant::now();
    let om = dir.join("history.om");
    let mut w = openmetrics::Writer::create(&om).expect("the OpenMetrics file");
    for name in [
        "kubelet_volume_stats_used_bytes",
        "kubelet_volume_stats_capacity_bytes",
        "kubelet_volume_stats_available_bytes",
    ] {
        w.family(name).expect("write");
        for i in 0..pvcs {
            let l = labels(i);
            for k in 0..=STEPS {
                let u = used(i, k);
                let v = match name {
                    "kubelet_volume_stats_used_bytes" => u,
                    "kubelet_volume_stats_capacity_bytes" => CAPACITY,
                    _ => CAPACITY - u,
                };
                w.sample(name, &l, v, START + k * MINUTE).expect("write");
            }
        }
    }
    w.finish().expect("write");
    let size = std::fs::metadata(&om).map_or(0, |m| m.len());
    let written = t.elapsed();
    openmetrics::backfill(promtool, &om, &data, "168h").expect("the backfill");
    let _ = std::fs::remove_file(&om);
    std::fs::write(dir.join("complete"), "").expect("the marker");
    eprintln!(
        "backtest bench: generated {} MiB of OpenMetrics in {written:.1?}, backfilled in {:.1?} into {}",
        size >> 20,
        t.elapsed() - written,
        data.display()
    );
    data
}

/// `VmHWM` of a process's status, in MiB.
fn peak_rss_mib(pid: &str) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

struct Figures {
    wall: Duration,
    query: Duration,
    /// Of `query`: in the range queries (HTTP and decoding), summed.
    in_requests: Duration,
    engine: Duration,
    requests: usize,
    points: usize,
    events: usize,
    resizes: usize,
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` would run us too.
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let bins = support::binaries::locate_or_exit("backtest");
    let pvcs = env_usize("BACKTEST_PVCS", 1_000);
    let runs = env_usize("BACKTEST_RUNS", 3).max(1);
    let data = tsdb(&bins.promtool, pvcs);

    let mut c = autopilot::compile::compile(vec![("bench.apr".into(), POLICY.into())]);
    assert!(!c.has_errors(), "{:?}", c.diagnostics);
    let mut text = String::from(
        "objects:\n  - {kind: storageclass, name: standard, allow_volume_expansion: true}\n",
    );
    for i in 0..pvcs {
        text.push_str(&format!(
            "  - {{kind: pvc, namespace: ns-{}, name: pvc-{i}, storage_class: standard, capacity: 100Gi}}\n",
            i % 50
        ));
    }
    let file = c.sources.add("bench-scenario.yaml", text.clone());
    let program = Arc::new(c.checked.program);
    let window = history::plan(
        START,
        START + STEPS * MINUTE,
        MINUTE,
        history::steps_for(pvcs),
    )
    .expect("the window");
    let frame = scenario::Frame {
        start: window.start,
        step: window.step,
        duration: window.end - window.start,
        lookback: window.step,
    };
    let mut scenario = scenario::parse_framed(file, &text, frame).expect("the scenario");
    assert!(scenario.check(&program).is_empty(), "the scenario checks");
    let queries = metrics::queries(&program, &[]).expect("the queries");

    let scratch = tempfile::tempdir().expect("a scratch dir");
    let mut server =
        PrometheusServer::over_blocks(&bins, &data, scratch.path()).expect("Prometheus");
    let rt = tokio::runtime::Runtime::new().expect("a runtime");
    let config = PrometheusConfig::default().with_url(Some(server.url.clone()));
    let prometheus = Prometheus::from_config(&config).expect("a client");
    rt.block_on(async {
        server
            .wait_ready(Duration::from_secs(120))
            .await
            .expect("Prometheus ready");
        // Ready once the blocks answer for every PVC.
        let at = jiff::Timestamp::from_millisecond(START + 60 * MINUTE).expect("a time");
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let got = prometheus
                .query("count(kubelet_volume_stats_used_bytes)", Some(at))
                .await;
            let count = got.ok().and_then(|s| s.first().and_then(|s| s.value));
            if count == Some(pvcs as f64) {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "the blocks never answered: {count:?}"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    });
    println!(
        "backtest, {pvcs} PVCs, a week at 1m ({} points, {} chunk(s) × {} binding(s)), real Prometheus at {}",
        window.points(),
        window.chunks.len(),
        queries.len(),
        server.url
    );

    let mut figures = Vec::new();
    for r in 1..=runs {
        let started = Instant::now();
        let fetched = rt
            .block_on(history::fetch(
                &prometheus,
                &program,
                &queries,
                &window,
                config.max_in_flight,
                &mut || {},
            ))
            .expect("the history");
        let query = started.elapsed();
        let engine_started = Instant::now();
        let timelines: HashMap<_, _> = fetched
            .series
            .iter()
            .map(|(k, v)| (k.clone(), Timeline::new(v.clone())))
            .collect();
        let source =
            ScenarioSource::from_timelines(window.start, window.step, window.step, timelines);
        let run = sim::run(Arc::clone(&program), &scenario, &source, &[]);
        let summary = autopilot::report::backtest::summary(&program, &run.events, window.start);
        let engine = engine_started.elapsed();
        std::hint::black_box(&summary);
        let points = fetched
            .series
            .values()
            .map(|v| v.iter().filter(|p| matches!(p, Point::Value(_))).count())
            .sum();
        let resizes = run
            .events
            .iter()
            .filter(|e| matches!(e.kind, EventKind::Action { .. }))
            .count();
        let f = Figures {
            wall: started.elapsed(),
            query,
            in_requests: fetched.query_time,
            engine,
            requests: fetched.requests,
            points,
            events: run.events.len(),
            resizes,
        };
        assert!(
            f.events > 0 && f.resizes > 0,
            "the backtest produced no actions"
        );
        println!(
            "  run {r}: wall {:.2?} (query {:.2?}, requests {:.2?} summed over those in flight; engine {:.2?}); \
             {} requests, {} points, {} events ({} actions)",
            f.wall, f.query, f.in_requests, f.engine, f.requests, f.points, f.events, f.resizes
        );
        figures.push(f);
    }
    let prom_rss = server.pid().map_or(0.0, |p| peak_rss_mib(&p.to_string()));
    server.stop();
    let last = figures.last().expect("a run");
    println!(
        "median of {runs}: wall {:.2?}, query {:.2?} (requests {:.2?} summed over those in flight), engine {:.2?}; {} requests, {} points fetched, \
         {} events ({} actions); peak RSS {:.0} MiB (this process), {:.0} MiB (Prometheus)",
        median(figures.iter().map(|f| f.wall).collect()),
        median(figures.iter().map(|f| f.query).collect()),
        median(figures.iter().map(|f| f.in_requests).collect()),
        median(figures.iter().map(|f| f.engine).collect()),
        last.requests,
        last.points,
        last.events,
        last.resizes,
        peak_rss_mib("self"),
        prom_rss
    );
}
