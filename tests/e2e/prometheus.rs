//! The Prometheus client against a real Prometheus scraping the test's exporter.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
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
        case!(
            "prometheus",
            NOTHING,
            a_configured_client_sends_headers_and_rotated_tokens
        ),
        case!("prometheus", NOTHING, a_configured_client_sends_basic_auth),
        case!(
            "prometheus",
            NOTHING,
            errors_of_a_configured_client_hold_no_secret
        ),
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

/// The request headers a [`recording_server`] saw, one map per request,
/// names in lower case.
type Seen = Arc<Mutex<Vec<BTreeMap<String, String>>>>;

/// A loopback HTTP server that records each request's headers and answers
/// every one with an empty vector.
fn recording_server() -> TestResult<(String, Seen)> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let url = format!("http://{}", listener.local_addr()?);
    let seen: Seen = Arc::default();
    let log = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut headers = BTreeMap::new();
            let mut reader = BufReader::new(&stream);
            let mut line = String::new();
            while reader.read_line(&mut line).is_ok_and(|n| n > 0) && line != "\r\n" {
                if let Some((name, value)) = line.split_once(':') {
                    headers.insert(name.to_ascii_lowercase(), value.trim().to_string());
                }
                line.clear();
            }
            log.lock().unwrap().push(headers);
            let body = r#"{"status":"success","data":{"resultType":"vector","result":[]}}"#;
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\
                 Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    Ok((url, seen))
}

fn configured(yaml: &str) -> TestResult<Prometheus> {
    let file = autopilot::source::FileId(0);
    let config = autopilot::config::parse(file, yaml).map_err(|d| format!("{d:?}"))?;
    Ok(Prometheus::from_config(&config.prometheus)?)
}

fn last(seen: &Seen, header: &str) -> Option<String> {
    seen.lock().unwrap().last()?.get(header).cloned()
}

/// Through the configuration file: extra headers on every query, and the
/// bearer token read again when its file is rotated.
async fn a_configured_client_sends_headers_and_rotated_tokens(_: &Env) -> TestResult {
    let (url, seen) = recording_server()?;
    let dir = tempfile::tempdir()?;
    let token = dir.path().join("token");
    std::fs::write(&token, "first-token\n")?;
    let p = configured(&format!(
        "prometheus:\n  url: {url}\n  bearer_token_file: {}\n  \
         headers: {{X-Scope-OrgID: team-a}}\n",
        token.display()
    ))?;

    assert_eq!(p.query("up", None).await?, vec![]);
    assert_eq!(
        last(&seen, "authorization").as_deref(),
        Some("Bearer first-token")
    );
    assert_eq!(last(&seen, "x-scope-orgid").as_deref(), Some("team-a"));

    // A rotation (a new file in place, as a Secret volume does): the next query has it.
    let next = dir.path().join("token.new");
    std::fs::write(&next, "second-token\n")?;
    std::fs::rename(&next, &token)?;
    p.query("up", None).await?;
    assert_eq!(
        last(&seen, "authorization").as_deref(),
        Some("Bearer second-token")
    );
    assert_eq!(last(&seen, "x-scope-orgid").as_deref(), Some("team-a"));
    assert_eq!(seen.lock().unwrap().len(), 2);
    Ok(())
}

async fn a_configured_client_sends_basic_auth(_: &Env) -> TestResult {
    let (url, seen) = recording_server()?;
    let dir = tempfile::tempdir()?;
    let password = dir.path().join("password");
    std::fs::write(&password, "hunter2\n")?;
    let p = configured(&format!(
        "prometheus:\n  url: {url}\n  \
         basic_auth: {{username: autopilot, password_file: {}}}\n",
        password.display()
    ))?;
    p.query("up", None).await?;
    // base64("autopilot:hunter2")
    assert_eq!(
        last(&seen, "authorization").as_deref(),
        Some("Basic YXV0b3BpbG90Omh1bnRlcjI=")
    );
    assert_eq!(last(&seen, "x-scope-orgid"), None);
    Ok(())
}

/// A missing token file is an error naming the file; no request goes out
/// without it. An unreachable server's error names the server. Neither,
/// nor the client's `Debug`, holds the token or a header's value.
async fn errors_of_a_configured_client_hold_no_secret(_: &Env) -> TestResult {
    let (url, seen) = recording_server()?;
    let dir = tempfile::tempdir()?;
    let token = dir.path().join("token");
    std::fs::write(&token, "s3cr3t-token")?;
    let yaml = |url: &str| {
        format!(
            "prometheus:\n  url: {url}\n  bearer_token_file: {}\n  timeout: 2s\n  \
             headers: {{X-Api-Key: s3cr3t-key}}\n",
            token.display()
        )
    };
    let p = configured(&yaml(&url))?;
    p.query("up", None).await?;
    let secrets = ["s3cr3t-token", "s3cr3t-key"];
    let clean = |text: String| {
        for secret in secrets {
            assert!(!text.contains(secret), "{text}");
        }
    };
    clean(format!("{p:?}"));

    std::fs::remove_file(&token)?;
    match p.query("up", None).await {
        Err(e @ PrometheusError::Credentials { .. }) => {
            let text = e.to_string();
            assert!(text.contains(&token.display().to_string()), "{text}");
            assert!(e.is_transient());
            clean(format!("{text} {e:?}"));
        }
        other => panic!("expected an unreadable token file, got {other:?}"),
    }
    assert_eq!(
        seen.lock().unwrap().len(),
        1,
        "no request without the token"
    );

    std::fs::write(&token, "s3cr3t-token")?;
    let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let p = configured(&yaml(&format!("http://127.0.0.1:{port}")))?;
    match p.query("up", None).await {
        Err(e @ PrometheusError::Unreachable { .. }) => clean(format!("{e} {e:?}")),
        other => panic!("expected unreachable, got {other:?}"),
    }
    Ok(())
}
