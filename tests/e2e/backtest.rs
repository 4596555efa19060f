//! `autopilot backtest` against a real Prometheus holding a week of history,
//! backfilled with `promtool tsdb create-blocks-from openmetrics`, and the
//! same history simulated offline through autopilot's PromQL evaluator.
//!
//! The history: kubelet volume stats of 20 PVCs at 5m for a week: one
//! filling linearly, one flapping around the threshold, one with a scrape
//! gap longer than the lookback, one whose series stop midway (deleted), and
//! sixteen steady. Backtest (Prometheus 3.16 evaluating the stdlib's
//! `pvc.usage` per step) and simulate (raw series through the evaluator)
//! must give the identical timeline.

use std::fmt::Write as _;
use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use crate::support::Env;
use crate::support::prometheus::PrometheusServer;
use crate::{Case, KUBE, NOTHING, TestResult, case, fixtures, openmetrics};

pub fn cases() -> Vec<Case> {
    vec![
        case!(
            "backtest",
            NOTHING,
            backtest_equals_simulate_over_a_week_of_history
        ),
        case!("backtest", NOTHING, a_chunk_failing_halfway_is_an_error),
        case!(
            "backtest",
            KUBE,
            objects_from_the_cluster_give_the_scenarios_timeline
        ),
    ]
}

/// 2026-01-05T00:00:00Z.
const START: i64 = 1_767_571_200;
const STEP: i64 = 300;
const STEPS: i64 = 7 * 24 * 12;
const GI: f64 = 1024.0 * 1024.0 * 1024.0;

const POLICIES: &str = "\
policy grow {
  when pvc.usage > 80% for 30m
  then resize(+50%, max = 1Ti)
  cooldown 6h
}
";

/// The bytes in use of PVC `i` at step `k`, or None for no sample.
fn used(i: usize, k: i64) -> Option<f64> {
    match i {
        // Filling linearly from 50Gi to 100Gi of 100Gi over the week.
        0 => Some((50.0 + 50.0 * k as f64 / STEPS as f64) * GI),
        // Flapping around 80%: 81Gi for 5 steps, 79Gi for 5.
        1 => Some(if (k / 5) % 2 == 0 { 81.0 } else { 79.0 } * GI),
        // 85% with a 2h scrape gap on day 2.
        2 => (!(2 * 288..2 * 288 + 24).contains(&k)).then_some(85.0 * GI),
        // 90% until day 3, then gone (the PVC was deleted).
        3 => (k < 3 * 288).then_some(90.0 * GI),
        _ => Some((20.0 + i as f64) * GI),
    }
}

fn labels(ns: &str, i: usize) -> String {
    format!("namespace=\"{ns}\",persistentvolumeclaim=\"pvc-{i:02}\"")
}

/// Writes the history of 20 PVCs in namespace `ns`, the scenario and the
/// policies into `dir`, backfills the history and starts Prometheus on it.
async fn history(dir: &Path, ns: &str) -> TestResult<PrometheusServer> {
    let bins = crate::support::binaries::locate()?;
    // The history, in OpenMetrics, and the same samples as raw series of a
    // scenario.
    let om = dir.join("history.om");
    let mut w = openmetrics::Writer::create(&om)?;
    let mut scenario = format!(
        "start: 2026-01-05T00:00:00Z\nstep: 5m\nduration: {}m\nobjects:\n  - {{kind: storageclass, name: standard, allow_volume_expansion: true}}\n",
        (STEPS - 1) * 5
    );
    for i in 0..20 {
        let _ = writeln!(
            scenario,
            "  - {{kind: pvc, namespace: {ns}, name: pvc-{i:02}, storage_class: standard, capacity: 100Gi}}"
        );
    }
    scenario.push_str("series:\n");
    for (name, f) in [
        ("kubelet_volume_stats_used_bytes", 0),
        ("kubelet_volume_stats_capacity_bytes", 1),
        ("kubelet_volume_stats_available_bytes", 2),
    ] {
        w.family(name)?;
        for i in 0..20 {
            let mut values = Vec::new();
            for k in 0..STEPS {
                let v = used(i, k).map(|u| match f {
                    0 => u,
                    1 => 100.0 * GI,
                    _ => 100.0 * GI - u,
                });
                match v {
                    Some(v) => {
                        w.sample(name, &labels(ns, i), v, (START + k * STEP) * 1000)?;
                        values.push(format!("{v}"));
                    }
                    None => values.push("_".into()),
                }
            }
            let _ = writeln!(
                scenario,
                "  - series: '{name}{{{}}}'\n    values: \"{}\"",
                labels(ns, i),
                values.join(" ")
            );
        }
    }
    w.finish()?;
    std::fs::write(dir.join("scenario.yaml"), &scenario)?;
    std::fs::write(dir.join("policies.apr"), POLICIES)?;
    let data = dir.join("data");
    openmetrics::backfill(&bins.promtool, &om, &data, "168h")?;
    let mut prom = PrometheusServer::over_blocks(&bins, &data, dir)?;
    prom.wait_ready(Duration::from_secs(60)).await?;
    let client = autopilot::cluster::prometheus::Prometheus::new(&prom.url)?;
    // Ready once the blocks answer.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let at = jiff::Timestamp::from_second(START + 3600)?;
        if let Ok(s) = client
            .query("kubelet_volume_stats_used_bytes", Some(at))
            .await
            && s.len() == 20
        {
            break;
        }
        if std::time::Instant::now() > deadline {
            return Err("the backfilled blocks never answered".into());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Ok(prom)
}

fn autopilot(dir: &Path, args: &[&str]) -> TestResult<Output> {
    Ok(Command::new(env!("CARGO_BIN_EXE_autopilot"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .output()?)
}

async fn backtest_equals_simulate_over_a_week_of_history(_: &Env) -> TestResult {
    let dir = tempfile::tempdir()?;
    let dir = dir.path();
    let mut prom = history(dir, "db").await?;
    let url = prom.url.clone();
    let run = |args: &[&str]| autopilot(dir, args);
    let to = jiff::Timestamp::from_second(START + (STEPS - 1) * STEP)?.to_string();
    let backtest = run(&[
        "backtest",
        "policies.apr",
        "--prometheus",
        &url,
        "--scenario",
        "scenario.yaml",
        "--from",
        "2026-01-05T00:00:00Z",
        "--to",
        &to,
        "--step",
        "5m",
        "--format",
        "json",
    ])?;
    let simulate = run(&[
        "simulate",
        "policies.apr",
        "--scenario",
        "scenario.yaml",
        "--format",
        "json",
    ])?;
    // On a terminal (util-linux `script` gives it one) stderr draws the
    // progress bar; through a pipe, as above, it does not.
    let tty = Command::new("script")
        .args(["-qec"])
        .arg(format!(
            "{} backtest policies.apr --prometheus {url} --scenario scenario.yaml \
             --from 2026-01-05T00:00:00Z --to {to} --step 5m > /dev/null",
            env!("CARGO_BIN_EXE_autopilot")
        ))
        .arg("/dev/null")
        .current_dir(dir)
        .output()?;
    prom.stop();
    let drawn = String::from_utf8_lossy(&tty.stdout);
    assert!(tty.status.success(), "{drawn}");
    assert!(
        drawn.contains("fetching history") && drawn.contains("1/1 range queries"),
        "the bar on a terminal: {drawn}"
    );
    assert!(
        !String::from_utf8_lossy(&backtest.stderr).contains("fetching history"),
        "no bar through a pipe"
    );
    for (what, out) in [("backtest", &backtest), ("simulate", &simulate)] {
        if !out.status.success() {
            return Err(format!("{what}: {}", String::from_utf8_lossy(&out.stderr)).into());
        }
    }
    let b: serde_json::Value = serde_json::from_slice(&backtest.stdout)?;
    let s: serde_json::Value = serde_json::from_slice(&simulate.stdout)?;
    let events = |v: &serde_json::Value| v["events"].as_array().cloned().unwrap_or_default();
    let (be, se) = (events(&b), events(&s));
    assert!(!be.is_empty(), "the backtest did something");
    assert_eq!(be, se, "backtest and simulate give the same timeline");
    assert_eq!(b["objects"], s["objects"]);
    // What happened, in words: the filling PVC crosses 80% (80Gi) at 60% of
    // the week (past 80Gi at step 1210) and grows when that has held for
    // 30m; the flapping one never holds for 30m; the gap and the deleted PVC
    // grow at 30m.
    let resizes: Vec<(String, i64)> = be
        .iter()
        .filter(|e| e["type"] == "action" && e["action"] == "resize" && e["result"] == "applied")
        .map(|e| {
            (
                e["object"].as_str().unwrap_or_default().to_string(),
                e["t"].as_i64().unwrap_or_default(),
            )
        })
        .collect();
    let first = |o: &str| resizes.iter().find(|(x, _)| x == o).map(|(_, t)| *t);
    assert_eq!(
        first("pvc/db/pvc-00"),
        Some((1210 + 6) * STEP),
        "{resizes:?}"
    );
    assert_eq!(first("pvc/db/pvc-01"), None, "{resizes:?}");
    assert_eq!(first("pvc/db/pvc-02"), Some(6 * STEP), "{resizes:?}");
    assert_eq!(first("pvc/db/pvc-03"), Some(6 * STEP), "{resizes:?}");
    assert!(
        !resizes.iter().any(|(o, _)| o.as_str() >= "pvc/db/pvc-04"),
        "{resizes:?}"
    );
    Ok(())
}

/// At a 30s step the week is two chunks. Prometheus answers the first and
/// fails the second (through the fault proxy): the backtest fails naming the
/// binding and the chunk, and prints no timeline or summary as complete.
async fn a_chunk_failing_halfway_is_an_error(_: &Env) -> TestResult {
    let dir = tempfile::tempdir()?;
    let dir = dir.path();
    let mut prom = history(dir, "db").await?;
    let url = prom.url.clone();
    let proxy = crate::fault_proxy::FaultProxy::http(&url).await?;
    // Chunk 2 starts 11,001 steps of 30s after the start.
    let second = START + 11_001 * 30;
    let mut fault = crate::fault_proxy::Fault::on(
        "/api/v1/query_range",
        crate::fault_proxy::Answer::status(503),
    );
    fault.query = Some(format!("start={second}.000"));
    proxy.inject(fault);
    let to = jiff::Timestamp::from_second(START + (STEPS - 1) * STEP)?.to_string();
    let out = autopilot(
        dir,
        &[
            "backtest",
            "policies.apr",
            "--prometheus",
            &proxy.url,
            "--scenario",
            "scenario.yaml",
            "--from",
            "2026-01-05T00:00:00Z",
            "--to",
            &to,
            "--step",
            "30s",
            "--format",
            "json",
        ],
    )?;
    prom.stop();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        out.stdout.is_empty(),
        "nothing on stdout: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(stderr.contains("chunk 2 of 2"), "{stderr}");
    assert!(stderr.contains("pvc.usage"), "{stderr}");
    let seen = proxy.seen();
    assert!(
        seen.iter()
            .any(|s| s.query.contains(&format!("start={}.000", START))),
        "the first chunk was asked: {seen:?}"
    );
    Ok(())
}

/// `--kubeconfig` instead of `--scenario`: the same 20 PVCs, bound in the
/// real API server, give the timeline the scenario gives. The cluster is
/// shared with other cases, so only this namespace's events are compared.
async fn objects_from_the_cluster_give_the_scenarios_timeline(env: &Env) -> TestResult {
    const NS: &str = "backtest-kube";
    let kube = env.kube()?;
    let client = &kube.admin;
    fixtures::namespace(client, NS).await?;
    fixtures::storage_class(client, NS, Some(true)).await?;
    for i in 0..20 {
        fixtures::bound_pvc(client, NS, &format!("pvc-{i:02}"), NS, "100Gi").await?;
    }
    let dir = tempfile::tempdir()?;
    let dir = dir.path();
    let mut prom = history(dir, NS).await?;
    let url = prom.url.clone();
    let to = jiff::Timestamp::from_second(START + (STEPS - 1) * STEP)?.to_string();
    let kubeconfig = kube.kubeconfig.display().to_string();
    let args = |objects: [&str; 2]| {
        let mut a = vec![
            "backtest",
            "policies.apr",
            "--prometheus",
            &url,
            "--from",
            "2026-01-05T00:00:00Z",
            "--to",
            &to,
            "--step",
            "5m",
            "--format",
            "json",
        ];
        a.extend(objects);
        a.into_iter().map(String::from).collect::<Vec<_>>()
    };
    let run = |a: Vec<String>| {
        let a: Vec<&str> = a.iter().map(String::as_str).collect();
        autopilot(dir, &a)
    };
    let cluster = run(args(["--kubeconfig", &kubeconfig]))?;
    let scenario = run(args(["--scenario", "scenario.yaml"]))?;
    prom.stop();
    for (what, out) in [("--kubeconfig", &cluster), ("--scenario", &scenario)] {
        if !out.status.success() {
            return Err(format!("{what}: {}", String::from_utf8_lossy(&out.stderr)).into());
        }
    }
    let c: serde_json::Value = serde_json::from_slice(&cluster.stdout)?;
    let s: serde_json::Value = serde_json::from_slice(&scenario.stdout)?;
    let prefix = format!("pvc/{NS}/");
    let ours = |v: &serde_json::Value| -> Vec<serde_json::Value> {
        let events = v["events"].as_array().cloned().unwrap_or_default();
        events
            .into_iter()
            .filter(|e| e["object"].as_str().is_some_and(|o| o.starts_with(&prefix)))
            .collect()
    };
    let (ce, se) = (ours(&c), ours(&s));
    assert!(
        ce.iter().any(|e| e["action"] == "resize"),
        "the cluster's PVCs were resized: {ce:?}"
    );
    assert_eq!(ce, se, "the cluster's objects give the scenario's timeline");
    let assumptions = c["backtest"]["assumptions"].to_string();
    assert!(
        assumptions.contains("objects as they are now (the cluster ("),
        "{assumptions}"
    );
    Ok(())
}
