//! A fault-injecting HTTP proxy for the fault matrix: in front of Prometheus
//! (plain HTTP) or of the API server (TLS on both sides, its own
//! certificate), it passes requests through, or answers the ones that match
//! a [`Fault`] the case set, for as many requests as the fault says. It can
//! also go down (every connection closed at once, open ones cut) and cut the
//! open watches, and it keeps what it saw for the case to count.

use std::convert::Infallible;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, BodyStream, Full, StreamBody};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response};
use hyper_util::rt::TokioIo;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use serde_json::{Value, json};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::TestResult;

type BoxError = Box<dyn std::error::Error + Send + Sync>;
type Body = UnsyncBoxBody<Bytes, BoxError>;

/// What the proxy answers to a request a [`Fault`] matches.
#[derive(Clone, Debug)]
pub enum Answer {
    /// A Kubernetes `Status` with this code, and `Retry-After` in seconds.
    Status { code: u16, retry_after: Option<u32> },
    /// This code and body, as they are.
    Raw { code: u16, body: String },
    /// Passed through, after a pause.
    Slow(Duration),
    /// A watch that opens and sends one ERROR event, 410 Expired, as an API
    /// server whose watch cache has moved past the resourceVersion asked for.
    WatchExpired,
}

impl Answer {
    pub fn status(code: u16) -> Answer {
        Answer::Status {
            code,
            retry_after: None,
        }
    }
}

/// Which requests get an [`Answer`], and for how many of them.
#[derive(Clone, Debug)]
pub struct Fault {
    pub method: Option<Method>,
    /// How the path ends (`/persistentvolumeclaims/data`).
    pub path: String,
    /// Something the query holds (`watch=true`).
    pub query: Option<String>,
    /// Something the body holds (`"storage"`: a resize, not a state write).
    pub body: Option<String>,
    /// How many matching requests are answered; the rest pass.
    pub times: usize,
    pub answer: Answer,
}

impl Fault {
    /// Every request to a path ending in `path`, until cleared.
    pub fn on(path: &str, answer: Answer) -> Fault {
        Fault {
            method: None,
            path: path.into(),
            query: None,
            body: None,
            times: usize::MAX,
            answer,
        }
    }

    fn matches(&self, method: &Method, path: &str, query: &str, body: &str) -> bool {
        self.times > 0
            && self.method.as_ref().is_none_or(|m| m == method)
            && path.ends_with(&self.path)
            && self.query.as_deref().is_none_or(|q| query.contains(q))
            && self.body.as_deref().is_none_or(|b| body.contains(b))
    }
}

/// One request the proxy saw, and the code it injected, if it did.
#[derive(Clone, Debug)]
pub struct Seen {
    pub method: Method,
    pub path: String,
    pub query: String,
    pub body: String,
    pub injected: Option<u16>,
}

impl Seen {
    pub fn is_watch(&self) -> bool {
        self.query.contains("watch=true") || self.query.contains("watch=1")
    }
}

struct Shared {
    upstream: String,
    http: reqwest::Client,
    faults: Mutex<Vec<Fault>>,
    seen: Mutex<Vec<Seen>>,
    down: AtomicBool,
    /// Bumped to close every open connection.
    cut_all: watch::Sender<u64>,
    /// Bumped to end every open watch.
    cut_watches: watch::Sender<u64>,
}

pub struct FaultProxy {
    pub url: String,
    shared: Arc<Shared>,
    accept: tokio::task::JoinHandle<()>,
    /// The proxy's own CA, for a client's kubeconfig (TLS only).
    ca_pem: Option<String>,
}

impl FaultProxy {
    /// Plain HTTP in front of `upstream` (Prometheus).
    pub async fn http(upstream: &str) -> TestResult<FaultProxy> {
        let http = reqwest::Client::builder().no_proxy().build()?;
        FaultProxy::start(upstream, http, None).await
    }

    /// TLS in front of the API server of the admin kubeconfig `kubeconfig`,
    /// with a certificate of a CA of its own; upstream, TLS trusting the
    /// cluster's CA. Credentials pass through.
    pub async fn https(kubeconfig: &Path) -> TestResult<FaultProxy> {
        let config = read_kubeconfig(kubeconfig)?;
        let cluster = &config["clusters"][0]["cluster"];
        let server = cluster["server"].as_str().ok_or("no server")?;
        let ca = cluster["certificate-authority"]
            .as_str()
            .ok_or("no certificate-authority")?;
        let certs = reqwest::Certificate::from_pem_bundle(&std::fs::read(ca)?)?;
        ensure_crypto_provider();
        let http = reqwest::Client::builder()
            .no_proxy()
            .tls_certs_merge(certs)
            .build()?;
        let pki = crate::support::certs::generate()?;
        let cert = CertificateDer::from_pem_slice(pki.server_cert.as_bytes())?;
        let key = PrivateKeyDer::from_pem_slice(pki.server_key.as_bytes())?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut tls = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_single_cert(vec![cert], key)?;
        tls.alpn_protocols = vec![b"http/1.1".to_vec()];
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(tls));
        let mut proxy = FaultProxy::start(server, http, Some(acceptor)).await?;
        proxy.ca_pem = Some(pki.ca_cert);
        Ok(proxy)
    }

    async fn start(
        upstream: &str,
        http: reqwest::Client,
        tls: Option<tokio_rustls::TlsAcceptor>,
    ) -> TestResult<FaultProxy> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let scheme = if tls.is_some() { "https" } else { "http" };
        let url = format!("{scheme}://{}", listener.local_addr()?);
        let shared = Arc::new(Shared {
            upstream: upstream.trim_end_matches('/').to_string(),
            http,
            faults: Mutex::new(Vec::new()),
            seen: Mutex::new(Vec::new()),
            down: AtomicBool::new(false),
            cut_all: watch::channel(0).0,
            cut_watches: watch::channel(0).0,
        });
        let serving = shared.clone();
        let accept = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                if serving.down.load(Ordering::SeqCst) {
                    drop(stream);
                    continue;
                }
                let (shared, tls) = (serving.clone(), tls.clone());
                tokio::spawn(async move {
                    match tls {
                        Some(tls) => {
                            if let Ok(stream) = tls.accept(stream).await {
                                serve(stream, shared).await;
                            }
                        }
                        None => serve(stream, shared).await,
                    }
                });
            }
        });
        Ok(FaultProxy {
            url,
            shared,
            accept,
            ca_pem: None,
        })
    }

    /// Adds a fault; the first fault that matches a request answers it.
    pub fn inject(&self, fault: Fault) {
        lock(&self.shared.faults).push(fault);
    }

    /// Every fault gone: everything passes again.
    pub fn clear(&self) {
        lock(&self.shared.faults).clear();
    }

    /// Down: every connection is closed at once, and the open ones are cut.
    pub fn set_down(&self, down: bool) {
        self.shared.down.store(down, Ordering::SeqCst);
        if down {
            self.shared.cut_all.send_modify(|n| *n += 1);
        }
    }

    /// Ends every open watch, as an API server that restarts its watch cache.
    pub fn cut_watches(&self) {
        self.shared.cut_watches.send_modify(|n| *n += 1);
    }

    pub fn seen(&self) -> Vec<Seen> {
        lock(&self.shared.seen).clone()
    }

    /// A copy of the admin kubeconfig `admin` that reaches the API server
    /// through this proxy, trusting its CA; written under `dir`.
    pub fn kubeconfig(&self, admin: &Path, dir: &Path) -> TestResult<PathBuf> {
        let ca = dir.join("fault-proxy-ca.crt");
        std::fs::write(&ca, self.ca_pem.as_deref().ok_or("not a TLS proxy")?)?;
        let mut config = read_kubeconfig(admin)?;
        let cluster = &mut config["clusters"][0]["cluster"];
        cluster["server"] = json!(self.url);
        cluster["certificate-authority"] = json!(ca.display().to_string());
        let path = dir.join("fault-proxy.kubeconfig");
        std::fs::write(&path, serde_json::to_string_pretty(&config)?)?;
        Ok(path)
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.accept.abort();
        self.shared.cut_all.send_modify(|n| *n += 1);
    }
}

fn read_kubeconfig(path: &Path) -> TestResult<Value> {
    Ok(serde_saphyr::from_str(&std::fs::read_to_string(path)?)?)
}

fn ensure_crypto_provider() {
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// One connection, HTTP/1.1, until it ends or the proxy cuts it.
async fn serve<S>(stream: S, shared: Arc<Shared>)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let mut cut = shared.cut_all.subscribe();
    let service = service_fn(move |req| {
        let shared = shared.clone();
        async move { Ok::<_, Infallible>(answer(req, &shared).await) }
    });
    let conn = http1::Builder::new().serve_connection(TokioIo::new(stream), service);
    tokio::select! {
        _ = conn => {}
        _ = cut.changed() => {}
    }
}

async fn answer(req: Request<Incoming>, shared: &Shared) -> Response<Body> {
    let (parts, body) = req.into_parts();
    let body = body
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let path = parts.uri.path().to_string();
    let query = parts.uri.query().unwrap_or_default().to_string();
    let text = String::from_utf8_lossy(&body).into_owned();
    let fault = {
        let mut faults = lock(&shared.faults);
        faults
            .iter_mut()
            .find(|f| f.matches(&parts.method, &path, &query, &text))
            .map(|f| {
                f.times -= 1;
                f.answer.clone()
            })
    };
    let injected = match &fault {
        Some(Answer::Status { code, .. } | Answer::Raw { code, .. }) => Some(*code),
        Some(Answer::WatchExpired) => Some(410),
        Some(Answer::Slow(_)) | None => None,
    };
    let seen = Seen {
        method: parts.method.clone(),
        path,
        query,
        body: text,
        injected,
    };
    let watch = seen.is_watch();
    // Kept before the answer: a client that gives up on a slow one is seen.
    lock(&shared.seen).push(seen);
    match fault {
        Some(Answer::Status { code, retry_after }) => status(code, retry_after),
        Some(Answer::Raw { code, body }) => full(code, "application/json", body),
        Some(Answer::WatchExpired) => {
            let event = json!({"type": "ERROR", "object": status_json(410)});
            full(200, "application/json", format!("{event}\n"))
        }
        Some(Answer::Slow(pause)) => {
            tokio::time::sleep(pause).await;
            forward(shared, &parts, body, watch).await
        }
        None => forward(shared, &parts, body, watch).await,
    }
}

/// The request sent on upstream, and its answer streamed back; a watch's
/// answer ends when the proxy cuts the watches.
async fn forward(
    shared: &Shared,
    parts: &hyper::http::request::Parts,
    body: Bytes,
    watch: bool,
) -> Response<Body> {
    let target = match parts.uri.path_and_query() {
        Some(pq) => format!("{}{pq}", shared.upstream),
        None => shared.upstream.clone(),
    };
    let mut headers = parts.headers.clone();
    for hop in HOP_BY_HOP {
        headers.remove(*hop);
    }
    let sent = shared
        .http
        .request(parts.method.clone(), target)
        .headers(headers)
        .body(body)
        .send()
        .await;
    let upstream = match sent {
        Ok(r) => r,
        Err(e) => return full(502, "text/plain", format!("fault proxy: upstream: {e}")),
    };
    let mut response: Response<reqwest::Body> = upstream.into();
    for hop in HOP_BY_HOP {
        response.headers_mut().remove(*hop);
    }
    response.map(|body| {
        if watch {
            let mut cut = shared.cut_watches.subscribe();
            let frames = BodyStream::new(body).take_until(async move {
                let _ = cut.changed().await;
            });
            StreamBody::new(frames.map(|f| f.map_err(BoxError::from))).boxed_unsync()
        } else {
            body.map_err(BoxError::from).boxed_unsync()
        }
    })
}

const HOP_BY_HOP: &[&str] = &[
    "host",
    "connection",
    "keep-alive",
    "transfer-encoding",
    "content-length",
    "upgrade",
    "te",
    "trailer",
    "proxy-connection",
];

fn full(code: u16, content_type: &str, body: String) -> Response<Body> {
    let mut response = Response::new(
        Full::new(Bytes::from(body))
            .map_err(|never| match never {})
            .boxed_unsync(),
    );
    *response.status_mut() = hyper::StatusCode::from_u16(code).unwrap_or_default();
    if let Ok(value) = content_type.parse() {
        response
            .headers_mut()
            .insert(hyper::header::CONTENT_TYPE, value);
    }
    response
}

/// A Kubernetes `Status` as the API server writes it for `code`.
fn status_json(code: u16) -> Value {
    let reason = match code {
        403 => "Forbidden",
        409 => "Conflict",
        410 => "Expired",
        422 => "Invalid",
        429 => "TooManyRequests",
        500 => "InternalError",
        503 => "ServiceUnavailable",
        _ => "Unknown",
    };
    json!({
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": format!("injected by the e2e fault proxy: {code} {reason}"),
        "reason": reason,
        "code": code,
    })
}

fn status(code: u16, retry_after: Option<u32>) -> Response<Body> {
    let mut response = full(code, "application/json", status_json(code).to_string());
    if let Some(seconds) = retry_after
        && let Ok(value) = seconds.to_string().parse()
    {
        response
            .headers_mut()
            .insert(hyper::header::RETRY_AFTER, value);
    }
    response
}
