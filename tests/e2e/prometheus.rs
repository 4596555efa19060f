//! The Prometheus client against a real Prometheus scraping the test's exporter.

use std::net::TcpListener;
use std::time::{Duration, Instant};

use autopilot::cluster::metrics::{self, LabelMatcher, MatchKind};
use autopilot::cluster::prometheus::{Prometheus, PrometheusError, Sample};
use autopilot::engine::{MetricSource, ObjectId, Sample as Value};
use autopilot::ir::{Kind, MetricId};

use crate::support::Env;
use crate::{Case, NOTHING, PROMETHEUS, TestResult, case};

pub fn cases() -> Vec<Case> {
    vec![
        case!(
            "prometheus",
            PROMETHEUS,
            instant_query_returns_the_exported_value
        ),
        case!(
            "prometheus",
            PROMETHEUS,
            a_bad_query_is_prometheus_own_error
        ),
        case!(
            "prometheus",
            PROMETHEUS,
            live_metrics_join_answers_to_objects_in_one_cluster
        ),
        case!(
            "prometheus",
            NOTHING,
            live_metrics_fail_per_binding_when_unreachable
        ),
        case!("prometheus", NOTHING, an_unreachable_server_is_an_error),
        case!("prometheus", NOTHING, a_silent_server_times_out),
    ]
}

/// Polls until the query has a series: the first scrape lands a few seconds
/// after Prometheus is ready, even at a 1 s scrape interval.
async fn first_samples(p: &Prometheus, query: &str) -> TestResult<Vec<Sample>> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let samples = p.query(query, None).await?;
        if !samples.is_empty() {
            return Ok(samples);
        }
        if Instant::now() > deadline {
            return Err(format!("no sample of `{query}` after 30s").into());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn instant_query_returns_the_exported_value(env: &Env) -> TestResult {
    let prom = env.prometheus()?;
    prom.exporter.set(
        "instant",
        "# TYPE autopilot_e2e_used_ratio gauge\n\
         autopilot_e2e_used_ratio{namespace=\"db\",persistentvolumeclaim=\"data\"} 0.625\n\
         autopilot_e2e_broken NaN\n",
    );
    let p = Prometheus::with_timeout(&prom.url, Duration::from_secs(5))?;

    let samples = first_samples(&p, "autopilot_e2e_used_ratio").await?;
    assert_eq!(samples.len(), 1, "{samples:?}");
    assert_eq!(samples[0].value, Some(0.625));
    assert_eq!(samples[0].labels["persistentvolumeclaim"], "data");
    assert_eq!(samples[0].labels["job"], "e2e");

    // Arithmetic happens in Prometheus; the answer is a vector without __name__.
    let samples = p.query("autopilot_e2e_used_ratio * 100", None).await?;
    assert_eq!(samples[0].value, Some(62.5));
    assert!(!samples[0].labels.contains_key("__name__"));

    // NaN is a series without a value; nothing at all is an empty answer.
    let samples = first_samples(&p, "autopilot_e2e_broken").await?;
    assert_eq!(samples[0].value, None);
    assert_eq!(p.query("autopilot_e2e_never_exported", None).await?, vec![]);

    // A scalar, evaluated at a given time.
    let at = jiff::Timestamp::now();
    let samples = p.query("scalar(vector(7))", Some(at)).await?;
    assert_eq!(samples[0].value, Some(7.0));
    assert!((samples[0].timestamp - at.as_millisecond() as f64 / 1000.0).abs() < 0.001);
    Ok(())
}

async fn a_bad_query_is_prometheus_own_error(env: &Env) -> TestResult {
    let p = Prometheus::new(&env.prometheus()?.url)?;
    match p.query("sum(", None).await {
        Err(e @ PrometheusError::Query { .. }) => {
            assert!(!e.is_transient());
            assert!(
                e.to_string()
                    .starts_with("Prometheus refused the query (bad_data):"),
                "{e}"
            );
        }
        other => panic!("expected a bad_data error, got {other:?}"),
    }
    Ok(())
}

async fn an_unreachable_server_is_an_error(_: &Env) -> TestResult {
    let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let p = Prometheus::with_timeout(&format!("http://127.0.0.1:{port}"), Duration::from_secs(2))?;
    match p.query("up", None).await {
        Err(e @ PrometheusError::Unreachable { .. }) => assert!(e.is_transient()),
        other => panic!("expected unreachable, got {other:?}"),
    }
    Ok(())
}

async fn a_silent_server_times_out(_: &Env) -> TestResult {
    // Accepts connections (the kernel's backlog does) but never answers.
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let url = format!("http://{}", listener.local_addr()?);
    let p = Prometheus::with_timeout(&url, Duration::from_millis(300))?;
    let started = Instant::now();
    match p.query("up", None).await {
        Err(e @ PrometheusError::Timeout { .. }) => {
            assert!(e.is_transient());
            assert!(
                e.to_string().ends_with("did not answer within 300ms"),
                "{e}"
            );
        }
        other => panic!("expected a timeout, got {other:?}"),
    }
    assert!(started.elapsed() < Duration::from_secs(5));
    drop(listener);
    Ok(())
}

const TWO_CLUSTERS: &str = "metric pvc.fill : percent = `autopilot_e2e_fill * 100`\n\
     policy grow { on pvc when pvc.fill > 50% then resize(+1Gi, max = 1Ti) }\n";

fn fill_program() -> TestResult<autopilot::ir::Program> {
    let c = autopilot::compile::compile(vec![("t.apr".into(), TWO_CLUSTERS.into())]);
    if c.has_errors() {
        return Err(format!("{:?}", c.diagnostics).into());
    }
    Ok(c.checked.program)
}

fn fill_id(program: &autopilot::ir::Program) -> MetricId {
    let i = program
        .metrics
        .iter()
        .position(|m| m.qualified() == "pvc.fill");
    MetricId(i.expect("pvc.fill is bound") as u32)
}

/// Two clusters' series in one Prometheus: without a matcher the binding
/// names each PVC twice (an error for it, never a guess); with
/// `cluster="a"` each object gets its cluster's value, and NaN is no data.
async fn live_metrics_join_answers_to_objects_in_one_cluster(env: &Env) -> TestResult {
    let prom = env.prometheus()?;
    prom.exporter.set(
        "two-clusters",
        "# TYPE autopilot_e2e_fill gauge\n\
         autopilot_e2e_fill{cluster=\"a\",namespace=\"db\",persistentvolumeclaim=\"data\"} 0.9\n\
         autopilot_e2e_fill{cluster=\"b\",namespace=\"db\",persistentvolumeclaim=\"data\"} 0.1\n\
         autopilot_e2e_fill{cluster=\"a\",namespace=\"db\",persistentvolumeclaim=\"nan\"} NaN\n",
    );
    let p = Prometheus::with_timeout(&prom.url, Duration::from_secs(5))?;
    first_samples(&p, "autopilot_e2e_fill").await?;
    let program = fill_program()?;
    let fill = fill_id(&program);
    let data = ObjectId::new(Kind::Pvc, Some("db"), "data");
    let nan = ObjectId::new(Kind::Pvc, Some("db"), "nan");

    let plain = metrics::queries(&program, &[])?;
    assert_eq!(plain.len(), 1, "one query per binding: {plain:?}");
    let f = metrics::fetch(&p, &program, &plain, jiff::Timestamp::now(), 4).await;
    match f.sample(fill, &data, 0) {
        Value::Error(e) => assert!(e.starts_with("2 series name this object"), "{e}"),
        other => panic!("two clusters' series for one PVC must be an error: {other:?}"),
    }

    let a = [LabelMatcher {
        name: "cluster".into(),
        op: MatchKind::Equal,
        value: "a".into(),
    }];
    let scoped = metrics::queries(&program, &a)?;
    assert_eq!(scoped[0].promql, r#"autopilot_e2e_fill{cluster="a"} * 100"#);
    let f = metrics::fetch(&p, &program, &scoped, jiff::Timestamp::now(), 4).await;
    match f.sample(fill, &data, 0) {
        Value::Value(v) => assert!((v - 90.0).abs() < 1e-9, "{v}"),
        other => panic!("expected cluster a's 90%: {other:?}"),
    }
    assert_eq!(f.sample(fill, &nan, 0), Value::Missing, "NaN is no data");
    let elsewhere = ObjectId::new(Kind::Pvc, Some("web"), "data");
    assert_eq!(f.sample(fill, &elsewhere, 0), Value::Missing);
    Ok(())
}

/// Prometheus down: every binding is an error (not no data), quickly.
async fn live_metrics_fail_per_binding_when_unreachable(_: &Env) -> TestResult {
    let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let p = Prometheus::with_timeout(&format!("http://127.0.0.1:{port}"), Duration::from_secs(2))?;
    let program = fill_program()?;
    let qs = metrics::queries(&program, &[])?;
    let started = Instant::now();
    let f = metrics::fetch(&p, &program, &qs, jiff::Timestamp::now(), 4).await;
    let data = ObjectId::new(Kind::Pvc, Some("db"), "data");
    match f.sample(fill_id(&program), &data, 0) {
        Value::Error(e) => assert!(e.contains("unreachable"), "{e}"),
        other => panic!("expected an error: {other:?}"),
    }
    assert!(started.elapsed() < Duration::from_secs(5));
    Ok(())
}
