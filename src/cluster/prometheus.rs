//! A small Prometheus HTTP API client: instant queries (`/api/v1/query`) and
//! range queries (`/api/v1/query_range`, for `backtest`).
//!
//! Built from a URL ([`Prometheus::new`]) or from the configuration file's
//! `prometheus:` section ([`Prometheus::from_config`]): a bearer token or a
//! basic-auth password read from a file and read again when it changes
//! (`auth.rs`), extra headers (marked sensitive, so `Debug` hides them), a
//! private CA, insecure-skip-verify, the timeout.
//!
//! PEERS.md's lesson from KEDA #3065: a value, no data and an error are three
//! different answers. A query with no series is an empty list; a NaN or ±Inf
//! sample is a sample without a value; every failure is a typed error, never an
//! empty result.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use reqwest::Url;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde::Deserialize;

use crate::config::PrometheusConfig;

mod auth;

use auth::Credentials;

/// How long a query may take unless the caller says otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// One series of an instant query's answer.
#[derive(Clone, Debug, PartialEq)]
pub struct Sample {
    pub labels: BTreeMap<String, String>,
    /// Seconds since the epoch at which the value was evaluated.
    pub timestamp: f64,
    /// `None` when Prometheus answered NaN or ±Inf: no usable value.
    pub value: Option<f64>,
}

/// One series of a range query's answer.
#[derive(Clone, Debug, PartialEq)]
pub struct RangeSeries {
    pub labels: BTreeMap<String, String>,
    /// (seconds since the epoch, value); `None` for NaN or ±Inf.
    pub points: Vec<(f64, Option<f64>)>,
}

#[derive(Debug, thiserror::Error)]
pub enum PrometheusError {
    #[error("`{url}` is not a usable Prometheus URL: {reason}")]
    BadUrl { url: String, reason: String },
    #[error("cannot set up an HTTP client: {0}")]
    Client(#[source] reqwest::Error),
    #[error(
        "no Prometheus URL: give `--prometheus URL` or `prometheus.url` in the configuration file"
    )]
    NoUrl,
    /// The value is not shown: a header may carry a credential.
    #[error("the header `{name}` is not a valid HTTP header or its value is not")]
    BadHeader { name: String },
    #[error("cannot use the CA file {}: {reason}", path.display())]
    CaFile { path: PathBuf, reason: String },
    /// The token or password file; `reason` never holds the secret.
    #[error("cannot read the {what} {}: {reason}", path.display())]
    Credentials {
        what: &'static str,
        path: PathBuf,
        reason: String,
    },
    #[error("Prometheus at {url} is unreachable: {cause}")]
    Unreachable {
        url: String,
        /// The innermost cause ("Connection refused (os error 111)"):
        /// reqwest's own text repeats the whole query URL.
        cause: String,
        #[source]
        source: reqwest::Error,
    },
    #[error("Prometheus at {url} did not answer within {}ms", timeout.as_millis())]
    Timeout { url: String, timeout: Duration },
    #[error("Prometheus at {url} answered HTTP {status}: {body}")]
    BadStatus {
        url: String,
        status: u16,
        body: String,
    },
    /// Prometheus's own error body: `{"status":"error","errorType":…,"error":…}`.
    #[error("Prometheus refused the query ({error_type}): {error}")]
    Query { error_type: String, error: String },
    #[error("unreadable answer from Prometheus at {url}: {detail}")]
    Decode { url: String, detail: String },
}

impl PrometheusError {
    /// Worth trying again on the next tick (the query itself is not at fault).
    pub fn is_transient(&self) -> bool {
        match self {
            // A secret file comes back when the Secret is mounted or rotated.
            PrometheusError::Unreachable { .. }
            | PrometheusError::Timeout { .. }
            | PrometheusError::Credentials { .. } => true,
            PrometheusError::BadStatus { status, .. } => *status >= 500 || *status == 429,
            PrometheusError::Query { error_type, .. } => {
                matches!(error_type.as_str(), "timeout" | "canceled" | "unavailable")
            }
            _ => false,
        }
    }
}

/// A Prometheus server at a base URL (`http://prometheus:9090`, or a path
/// prefix such as `https://example/prometheus`).
#[derive(Clone, Debug)]
pub struct Prometheus {
    query_url: Url,
    http: reqwest::Client,
    timeout: Duration,
    credentials: Option<Arc<Credentials>>,
}

impl Prometheus {
    pub fn new(base: &str) -> Result<Self, PrometheusError> {
        Self::with_timeout(base, DEFAULT_TIMEOUT)
    }

    /// `timeout` bounds each query: connecting, Prometheus's evaluation and the answer.
    pub fn with_timeout(base: &str, timeout: Duration) -> Result<Self, PrometheusError> {
        let query_url = query_url(base)?;
        let http = client(timeout).build().map_err(PrometheusError::Client)?;
        Ok(Prometheus {
            query_url,
            http,
            timeout,
            credentials: None,
        })
    }

    /// From the configuration's `prometheus:` section (its URL, or the
    /// `--prometheus` flag's through [`PrometheusConfig::with_url`]). The
    /// CA file is read now; the token or password file at each query.
    pub fn from_config(config: &PrometheusConfig) -> Result<Self, PrometheusError> {
        let base = config.url.as_deref().ok_or(PrometheusError::NoUrl)?;
        let query_url = query_url(base)?;
        let mut headers = HeaderMap::new();
        for (name, value) in &config.headers {
            let bad = || PrometheusError::BadHeader { name: name.clone() };
            let name = HeaderName::from_bytes(name.as_bytes()).map_err(|_| bad())?;
            let mut value = HeaderValue::from_str(value.expose()).map_err(|_| bad())?;
            value.set_sensitive(true);
            headers.insert(name, value);
        }
        let mut builder = client(config.timeout).default_headers(headers);
        if let Some(path) = &config.ca_file {
            builder = builder.tls_certs_merge(ca_certificates(path)?);
        }
        if config.insecure_skip_verify {
            builder = builder.tls_danger_accept_invalid_certs(true);
        }
        Ok(Prometheus {
            query_url,
            http: builder.build().map_err(PrometheusError::Client)?,
            timeout: config.timeout,
            credentials: config.auth.as_ref().map(|a| Arc::new(Credentials::new(a))),
        })
    }

    /// Evaluates `promql` at `at` (Prometheus's "now" when `None`).
    pub async fn query(
        &self,
        promql: &str,
        at: Option<Timestamp>,
    ) -> Result<Vec<Sample>, PrometheusError> {
        let mut params = vec![
            ("query", promql.to_string()),
            ("timeout", format!("{}ms", self.timeout.as_millis())),
        ];
        if let Some(at) = at {
            params.push(("time", unix_seconds(at)));
        }
        let (status, body) = self.get(&self.query_url, &params).await?;
        parse_answer(self.query_url.as_str(), status, &body)
    }

    /// Evaluates `promql` at `start`, `start + step`, … ≤ `end`. The caller
    /// aligns `start` and keeps to Prometheus's 11,000 points per series
    /// (`cluster::history::plan`).
    pub async fn query_range(
        &self,
        promql: &str,
        start: Timestamp,
        end: Timestamp,
        step: Duration,
    ) -> Result<Vec<RangeSeries>, PrometheusError> {
        let url = self.range_url();
        let params = [
            ("query", promql.to_string()),
            ("start", unix_seconds(start)),
            ("end", unix_seconds(end)),
            ("step", format!("{}", step.as_secs_f64())),
            ("timeout", format!("{}ms", self.timeout.as_millis())),
        ];
        let (status, body) = self.get(&url, &params).await?;
        parse_range_answer(url.as_str(), status, &body)
    }

    fn range_url(&self) -> Url {
        let mut url = self.query_url.clone();
        let path = format!("{}_range", url.path());
        url.set_path(&path);
        url
    }

    async fn get(
        &self,
        url: &Url,
        params: &[(&str, String)],
    ) -> Result<(u16, String), PrometheusError> {
        let mut request = self.http.get(url.clone()).query(params);
        if let Some(credentials) = &self.credentials {
            request = credentials.apply(request)?;
        }
        let sent = request.send().await;
        let response = sent.map_err(|e| self.transport_error(url, e))?;
        let status = response.status();
        let body = response
            .text()
            .await
            .map_err(|e| self.transport_error(url, e))?;
        Ok((status.as_u16(), body))
    }

    fn transport_error(&self, url: &Url, e: reqwest::Error) -> PrometheusError {
        let url = url.to_string();
        if e.is_timeout() {
            PrometheusError::Timeout {
                url,
                timeout: self.timeout,
            }
        } else {
            let mut cause: &dyn std::error::Error = &e;
            while let Some(inner) = cause.source() {
                cause = inner;
            }
            let cause = cause.to_string();
            PrometheusError::Unreachable {
                url,
                cause,
                source: e.without_url(),
            }
        }
    }
}

/// `/api/v1/query` under `base`, which must be http or https.
fn query_url(base: &str) -> Result<Url, PrometheusError> {
    let bad = |reason: String| PrometheusError::BadUrl {
        url: base.into(),
        reason,
    };
    let mut url = Url::parse(base).map_err(|e| bad(e.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(bad("the scheme must be http or https".into()));
    }
    if !url.path().ends_with('/') {
        let path = format!("{}/", url.path());
        url.set_path(&path);
    }
    url.join("api/v1/query").map_err(|e| bad(e.to_string()))
}

fn client(timeout: Duration) -> reqwest::ClientBuilder {
    ensure_crypto_provider();
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(5)))
}

/// The PEM certificates of a CA file, trusted besides the system's.
fn ca_certificates(path: &std::path::Path) -> Result<Vec<reqwest::Certificate>, PrometheusError> {
    let bad = |reason: String| PrometheusError::CaFile {
        path: path.to_path_buf(),
        reason,
    };
    let pem = std::fs::read(path).map_err(|e| bad(e.to_string()))?;
    let certs = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| bad(e.to_string()))?;
    if certs.is_empty() {
        return Err(bad("no PEM certificate in it".into()));
    }
    Ok(certs)
}

/// reqwest's rustls needs a process-wide crypto provider; kube uses ring, so
/// this installs ring unless the program already chose one.
pub(crate) fn ensure_crypto_provider() {
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        // Losing a race to another thread installing one is fine.
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
}

fn unix_seconds(t: Timestamp) -> String {
    let ms = t.as_millisecond();
    format!("{}.{:03}", ms.div_euclid(1000), ms.rem_euclid(1000))
}

#[derive(Deserialize)]
struct Answer<'a> {
    status: String,
    #[serde(default, borrow)]
    data: Option<Data<'a>>,
    #[serde(default, rename = "errorType")]
    error_type: Option<String>,
    #[serde(default)]
    error: Option<String>,
}

#[derive(Deserialize)]
struct Data<'a> {
    #[serde(rename = "resultType")]
    result_type: String,
    /// Kept as the body's text and decoded once its type is known: 10,000
    /// series are never built as a `serde_json::Value` tree first, and a
    /// range answer of hundreds of megabytes is not copied.
    #[serde(borrow)]
    result: &'a serde_json::value::RawValue,
}

#[derive(Deserialize)]
struct VectorItem {
    #[serde(default)]
    metric: BTreeMap<String, String>,
    value: (f64, String),
}

/// The `data` of an answer, or the typed error it is.
fn parse_data<'a>(url: &str, status: u16, body: &'a str) -> Result<Data<'a>, PrometheusError> {
    let decode = |detail: String| PrometheusError::Decode {
        url: url.into(),
        detail,
    };
    let answer: Answer = match serde_json::from_str(body) {
        Ok(answer) => answer,
        Err(_) if !(200..300).contains(&status) => {
            return Err(PrometheusError::BadStatus {
                url: url.into(),
                status,
                body: shorten(body),
            });
        }
        Err(e) => return Err(decode(e.to_string())),
    };
    if answer.status != "success" {
        return Err(PrometheusError::Query {
            error_type: answer.error_type.unwrap_or_else(|| "unknown".into()),
            error: answer.error.unwrap_or_default(),
        });
    }
    if !(200..300).contains(&status) {
        return Err(PrometheusError::BadStatus {
            url: url.into(),
            status,
            body: shorten(body),
        });
    }
    answer
        .data
        .ok_or_else(|| decode("no `data` in a successful answer".into()))
}

/// Turns an HTTP answer of `/api/v1/query` into samples or a typed error.
fn parse_answer(url: &str, status: u16, body: &str) -> Result<Vec<Sample>, PrometheusError> {
    let decode = |detail: String| PrometheusError::Decode {
        url: url.into(),
        detail,
    };
    let data = parse_data(url, status, body)?;
    match data.result_type.as_str() {
        "vector" => {
            let items: Vec<VectorItem> =
                serde_json::from_str(data.result.get()).map_err(|e| decode(e.to_string()))?;
            Ok(items
                .into_iter()
                .map(|item| sample(item.metric, item.value))
                .collect())
        }
        "scalar" => {
            let value: (f64, String) =
                serde_json::from_str(data.result.get()).map_err(|e| decode(e.to_string()))?;
            Ok(vec![sample(BTreeMap::new(), value)])
        }
        other => Err(decode(format!(
            "an instant query gave a {other}, expected a vector or a scalar"
        ))),
    }
}

#[derive(Deserialize)]
struct MatrixItem {
    #[serde(default)]
    metric: BTreeMap<String, String>,
    #[serde(default)]
    values: Vec<RangePoint>,
}

/// One `[t, "v"]` of a range answer, its value parsed as it is read: a week
/// at 1m over 1,000 PVCs is ten million points, each no longer a `String`.
struct RangePoint(f64, Option<f64>);

impl<'de> Deserialize<'de> for RangePoint {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let (t, Value(v)) = Deserialize::deserialize(d)?;
        Ok(RangePoint(t, v))
    }
}

/// A sample's value, read from its text without keeping the text.
struct Value(Option<f64>);

impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Text;
        impl serde::de::Visitor<'_> for Text {
            type Value = Option<f64>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a sample value as a string")
            }
            fn visit_str<E>(self, v: &str) -> Result<Option<f64>, E> {
                Ok(finite(v))
            }
        }
        d.deserialize_str(Text).map(Value)
    }
}

/// Turns an HTTP answer of `/api/v1/query_range` into series or a typed error.
fn parse_range_answer(
    url: &str,
    status: u16,
    body: &str,
) -> Result<Vec<RangeSeries>, PrometheusError> {
    let decode = |detail: String| PrometheusError::Decode {
        url: url.into(),
        detail,
    };
    let data = parse_data(url, status, body)?;
    match data.result_type.as_str() {
        "matrix" => {
            let items: Vec<MatrixItem> =
                serde_json::from_str(data.result.get()).map_err(|e| decode(e.to_string()))?;
            Ok(items
                .into_iter()
                .map(|item| RangeSeries {
                    labels: item.metric,
                    points: item.values.into_iter().map(|p| (p.0, p.1)).collect(),
                })
                .collect())
        }
        other => Err(decode(format!(
            "a range query gave a {other}, expected a matrix"
        ))),
    }
}

fn finite(value: &str) -> Option<f64> {
    value.parse::<f64>().ok().filter(|v| v.is_finite())
}

fn sample(labels: BTreeMap<String, String>, (timestamp, value): (f64, String)) -> Sample {
    Sample {
        labels,
        timestamp,
        value: finite(&value),
    }
}

fn shorten(body: &str) -> String {
    const MAX: usize = 300;
    let body = body.trim();
    match body.char_indices().nth(MAX) {
        Some((end, _)) => format!("{}…", &body[..end]),
        None => body.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const URL: &str = "http://p/api/v1/query";

    #[test]
    fn vectors_with_nan_and_inf_as_no_value() {
        let body = r#"{"status":"success","data":{"resultType":"vector","result":[
            {"metric":{"persistentvolumeclaim":"a"},"value":[1700000000.5,"0.75"]},
            {"metric":{"persistentvolumeclaim":"b"},"value":[1700000000.5,"NaN"]},
            {"metric":{"persistentvolumeclaim":"c"},"value":[1700000000.5,"+Inf"]},
            {"metric":{"persistentvolumeclaim":"d"},"value":[1700000000.5,"-Inf"]}]}}"#;
        let samples = parse_answer(URL, 200, body).unwrap();
        let values: Vec<_> = samples.iter().map(|s| s.value).collect();
        assert_eq!(values, [Some(0.75), None, None, None]);
        assert_eq!(samples[0].labels["persistentvolumeclaim"], "a");
        assert_eq!(samples[0].timestamp, 1700000000.5);
    }

    #[test]
    fn no_series_is_empty_not_zero() {
        let body = r#"{"status":"success","data":{"resultType":"vector","result":[]}}"#;
        assert_eq!(parse_answer(URL, 200, body).unwrap(), vec![]);
    }

    #[test]
    fn scalars_are_one_unlabelled_sample() {
        let body = r#"{"status":"success","data":{"resultType":"scalar","result":[1.5,"42"]}}"#;
        let samples = parse_answer(URL, 200, body).unwrap();
        assert_eq!(samples.len(), 1);
        assert_eq!(samples[0].value, Some(42.0));
        assert!(samples[0].labels.is_empty());
    }

    #[test]
    fn errors_are_typed() {
        let body = r#"{"status":"error","errorType":"bad_data","error":"parse error at char 4"}"#;
        let e = parse_answer(URL, 400, body).unwrap_err();
        assert_eq!(
            e.to_string(),
            "Prometheus refused the query (bad_data): parse error at char 4"
        );
        assert!(!e.is_transient());
        let body = r#"{"status":"error","errorType":"timeout","error":"query timed out"}"#;
        assert!(parse_answer(URL, 503, body).unwrap_err().is_transient());

        let e = parse_answer(URL, 502, "<html>bad gateway</html>").unwrap_err();
        assert!(
            matches!(e, PrometheusError::BadStatus { status: 502, .. }),
            "{e}"
        );
        assert!(e.is_transient());

        let e = parse_answer(URL, 200, "not json").unwrap_err();
        assert!(matches!(e, PrometheusError::Decode { .. }), "{e}");
        let body = r#"{"status":"success","data":{"resultType":"matrix","result":[]}}"#;
        assert!(matches!(
            parse_answer(URL, 200, body),
            Err(PrometheusError::Decode { .. })
        ));
    }

    #[test]
    fn urls_keep_their_path_prefix() {
        let p = Prometheus::new("http://example:9090/prom").unwrap();
        assert_eq!(
            p.query_url.as_str(),
            "http://example:9090/prom/api/v1/query"
        );
        let p = Prometheus::new("http://example:9090").unwrap();
        assert_eq!(p.query_url.as_str(), "http://example:9090/api/v1/query");
        assert!(matches!(
            Prometheus::new("ftp://x"),
            Err(PrometheusError::BadUrl { .. })
        ));
        assert!(matches!(
            Prometheus::new("not a url"),
            Err(PrometheusError::BadUrl { .. })
        ));
    }

    #[test]
    fn from_config_needs_a_url_and_a_readable_ca() {
        use crate::config::{PrometheusConfig, Secret};
        let mut c = PrometheusConfig::default();
        assert!(matches!(
            Prometheus::from_config(&c),
            Err(PrometheusError::NoUrl)
        ));
        c = c.with_url(Some("http://example:9090".into()));
        c.headers = vec![("X-Scope-OrgID".into(), Secret::new("t3nant"))];
        let p = Prometheus::from_config(&c).unwrap();
        assert!(!format!("{p:?}").contains("t3nant"), "{p:?}");

        let dir = tempfile::tempdir().unwrap();
        c.ca_file = Some(dir.path().join("missing.pem"));
        let e = Prometheus::from_config(&c).unwrap_err();
        assert!(matches!(e, PrometheusError::CaFile { .. }), "{e}");
        let garbage = dir.path().join("garbage.pem");
        std::fs::write(&garbage, "not a certificate").unwrap();
        c.ca_file = Some(garbage);
        let e = Prometheus::from_config(&c).unwrap_err();
        assert!(e.to_string().contains("garbage.pem"), "{e}");
    }

    #[test]
    fn matrices_with_nan_and_inf_as_points_without_a_value() {
        let url = "http://p/api/v1/query_range";
        let body = r#"{"status":"success","data":{"resultType":"matrix","result":[
            {"metric":{"persistentvolumeclaim":"a"},"values":[[60,"1"],[120,"NaN"],[180,"+Inf"],[240,"2.5"]]},
            {"metric":{"persistentvolumeclaim":"b"},"values":[]}]}}"#;
        let series = parse_range_answer(url, 200, body).unwrap();
        assert_eq!(series.len(), 2);
        assert_eq!(series[0].labels["persistentvolumeclaim"], "a");
        assert_eq!(
            series[0].points,
            [
                (60.0, Some(1.0)),
                (120.0, None),
                (180.0, None),
                (240.0, Some(2.5))
            ]
        );
        assert!(series[1].points.is_empty());
        let body = r#"{"status":"error","errorType":"bad_data","error":"exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)"}"#;
        let e = parse_range_answer(url, 400, body).unwrap_err();
        assert!(matches!(e, PrometheusError::Query { .. }), "{e}");
        let body = r#"{"status":"success","data":{"resultType":"vector","result":[]}}"#;
        assert!(matches!(
            parse_range_answer(url, 200, body),
            Err(PrometheusError::Decode { .. })
        ));
        let p = Prometheus::new("http://example:9090/prom").unwrap();
        assert_eq!(
            p.range_url().as_str(),
            "http://example:9090/prom/api/v1/query_range"
        );
    }

    #[test]
    fn times_are_unix_seconds_with_millis() {
        let t: Timestamp = "2026-01-01T00:00:00.25Z".parse().unwrap();
        assert_eq!(unix_seconds(t), "1767225600.250");
    }
}
