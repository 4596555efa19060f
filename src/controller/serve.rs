//! `--listen`: the probes a Deployment points at, and `/metrics`.
//! `/healthz` answers 200 while the process serves; `/readyz` answers 200
//! once every watcher has listed and the policies are loaded, 503 before (it
//! does not depend on leadership, so a standby replica stays Ready);
//! `/metrics` is [`Telemetry`] as OpenMetrics text. Anything else is 404.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;

use super::telemetry::Telemetry;

/// What the probes and `/metrics` report; cheap to clone.
#[derive(Clone, Default)]
pub struct Health {
    ready: Arc<AtomicBool>,
    pub telemetry: Telemetry,
}

impl Health {
    pub fn set_ready(&self, ready: bool) {
        self.ready.store(ready, Ordering::Relaxed);
    }

    pub fn ready(&self) -> bool {
        self.ready.load(Ordering::Relaxed)
    }
}

/// Binds `addr` (`127.0.0.1:0` picks a free port) and serves the probes on
/// the current runtime; the address bound, or why not.
pub async fn serve(addr: &str, health: Health) -> std::io::Result<SocketAddr> {
    let listener = TcpListener::bind(addr).await?;
    let bound = listener.local_addr()?;
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let health = health.clone();
            tokio::spawn(async move {
                let service = service_fn(move |req| {
                    let health = health.clone();
                    async move { Ok::<_, Infallible>(route(&req, &health)) }
                });
                let conn = http1::Builder::new()
                    .timer(TokioTimer::new())
                    .header_read_timeout(Duration::from_secs(5))
                    .serve_connection(TokioIo::new(stream), service);
                if let Err(e) = conn.await {
                    tracing::debug!("probe connection: {e}");
                }
            });
        }
    });
    Ok(bound)
}

/// OpenMetrics 1.0, as prometheus-client writes it.
const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

fn route(req: &Request<Incoming>, health: &Health) -> Response<Full<Bytes>> {
    if (req.method(), req.uri().path()) == (&Method::GET, "/metrics") {
        let mut response = Response::new(Full::new(Bytes::from(health.telemetry.render())));
        if let Ok(value) = hyper::header::HeaderValue::from_str(OPENMETRICS) {
            response
                .headers_mut()
                .insert(hyper::header::CONTENT_TYPE, value);
        }
        return response;
    }
    let (status, body) = match (req.method(), req.uri().path()) {
        (&Method::GET, "/healthz") => (StatusCode::OK, "ok\n"),
        (&Method::GET, "/readyz") if health.ready() => (StatusCode::OK, "ok\n"),
        (&Method::GET, "/readyz") => (
            StatusCode::SERVICE_UNAVAILABLE,
            "not ready: the watches have not listed, or the policies are not loaded yet\n",
        ),
        _ => (StatusCode::NOT_FOUND, "not found\n"),
    };
    let mut response = Response::new(Full::new(Bytes::from_static(body.as_bytes())));
    *response.status_mut() = status;
    response
}
