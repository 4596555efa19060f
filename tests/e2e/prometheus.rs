//! The Prometheus client against a real Prometheus scraping the test's exporter.

use std::net::TcpListener;
use std::time::{Duration, Instant};

use autopilot::cluster::prometheus::{Prometheus, PrometheusError, Sample};

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
