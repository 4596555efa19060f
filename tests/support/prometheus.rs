//! A real Prometheus scraping an exporter that the test serves itself.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::binaries::Binaries;
use super::process::{Process, free_port};

/// A `/metrics` endpoint in the text exposition format, whose body tests
/// set. The body is made of parts, one per test, so that tests running at
/// the same time do not replace each other's series.
#[derive(Clone)]
pub struct Exporter {
    pub addr: SocketAddr,
    parts: Arc<Mutex<BTreeMap<String, String>>>,
}

impl Exporter {
    /// Serves on a free loopback port from a background thread for the rest of the process.
    pub fn start() -> std::io::Result<Exporter> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let parts = Arc::new(Mutex::new(BTreeMap::<String, String>::new()));
        let served = parts.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let text: String = served
                    .lock()
                    .map(|p| p.values().map(String::as_str).collect())
                    .unwrap_or_default();
                let _ = answer(stream, &text);
            }
        });
        Ok(Exporter { addr, parts })
    }

    /// Sets the series of one part (a test's own; metric names must not be
    /// shared between parts).
    pub fn set(&self, part: &str, text: &str) {
        if let Ok(mut parts) = self.parts.lock() {
            parts.insert(part.to_string(), text.to_string());
        }
    }
}

fn answer(mut stream: TcpStream, body: &str) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    let mut request = Vec::new();
    let mut buf = [0u8; 1024];
    while !request.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut buf)?;
        if n == 0 {
            break;
        }
        request.extend_from_slice(&buf[..n]);
    }
    let (status, body) = if request.starts_with(b"GET /metrics") {
        ("200 OK", body)
    } else {
        ("404 Not Found", "not found\n")
    };
    write!(
        stream,
        "HTTP/1.1 {status}\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
}

/// Prometheus scraping the given targets every second.
pub struct PrometheusServer {
    process: Process,
    pub url: String,
}

impl PrometheusServer {
    /// Starts it with its config and data under `dir`. Call from the main thread.
    pub fn spawn(
        bins: &Binaries,
        targets: &[SocketAddr],
        dir: &Path,
    ) -> Result<PrometheusServer, String> {
        let targets: Vec<String> = targets.iter().map(|t| format!("\"{t}\"")).collect();
        let config = format!(
            "global: {{scrape_interval: 1s, evaluation_interval: 1s}}\n\
             scrape_configs:\n\
             - job_name: e2e\n  static_configs:\n  - targets: [{}]\n",
            targets.join(", ")
        );
        Self::start(bins, &config, &dir.join("prometheus-data"), dir, &[])
    }

    /// Serves the blocks under `data` (backfilled by promtool), scraping
    /// nothing, with a retention that keeps them and no compaction, so the
    /// blocks stay as they were written. Its config and log go in `dir`.
    pub fn over_blocks(
        bins: &Binaries,
        data: &Path,
        dir: &Path,
    ) -> Result<PrometheusServer, String> {
        let fixed = [
            "--storage.tsdb.retention.time=100y",
            "--storage.tsdb.min-block-duration=2h",
            "--storage.tsdb.max-block-duration=2h",
        ];
        Self::start(bins, "scrape_configs: []\n", data, dir, &fixed)
    }

    fn start(
        bins: &Binaries,
        config_text: &str,
        data: &Path,
        dir: &Path,
        extra: &[&str],
    ) -> Result<PrometheusServer, String> {
        let port = free_port().map_err(|e| format!("finding a port for Prometheus: {e}"))?;
        let config = dir.join("prometheus.yml");
        std::fs::write(&config, config_text)
            .map_err(|e| format!("writing {}: {e}", config.display()))?;
        let mut cmd = Command::new(&bins.prometheus);
        cmd.args([
            format!("--config.file={}", config.display()),
            format!("--storage.tsdb.path={}", data.display()),
            format!("--web.listen-address=127.0.0.1:{port}"),
            "--log.level=warn".into(),
        ])
        .args(extra);
        let process = Process::spawn("prometheus", cmd, &dir.join("prometheus.log"))?;
        Ok(PrometheusServer {
            process,
            url: format!("http://127.0.0.1:{port}"),
        })
    }

    /// Polls `/-/ready`, failing fast if Prometheus exits.
    pub async fn wait_ready(&mut self, timeout: Duration) -> Result<(), String> {
        let addr = self.url.trim_start_matches("http://").to_string();
        let deadline = Instant::now() + timeout;
        loop {
            self.process.check_running()?;
            let probe = addr.clone();
            let ready = tokio::task::spawn_blocking(move || http_status(&probe, "/-/ready"))
                .await
                .ok()
                .flatten();
            if ready == Some(200) {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "Prometheus was not ready after {timeout:?}; the end of its log:\n{}",
                    self.process.log_tail(20)
                ));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Its process id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.process.id()
    }

    pub fn stop(&mut self) {
        self.process.stop();
    }
}

/// The status code of a plain HTTP GET, or `None` if there was no answer.
fn http_status(addr: &str, path: &str) -> Option<u16> {
    let mut stream = TcpStream::connect(addr).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).ok()?;
    std::str::from_utf8(&head[9..12]).ok()?.parse().ok()
}
