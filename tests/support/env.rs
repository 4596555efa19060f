//! The environment of one e2e test binary: the servers, a runtime to talk to
//! them, and a temporary directory, all torn down by [`Env::stop`] or on drop.

use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use kube::Client;

use super::binaries;
use super::cluster::{self, Cluster};
use super::prometheus::{Exporter, PrometheusServer};

/// Which servers the selected tests need.
#[derive(Clone, Copy, Debug)]
pub struct Needs {
    pub cluster: bool,
    pub prometheus: bool,
}

/// A ready API server.
pub struct Kube {
    /// `system:masters`.
    pub admin: Client,
    pub kubeconfig: PathBuf,
}

/// A ready Prometheus, scraping `exporter` every second.
pub struct Prom {
    pub url: String,
    pub exporter: Exporter,
}

pub struct Env {
    pub rt: tokio::runtime::Runtime,
    kube: Result<Kube, String>,
    prometheus: Result<Prom, String>,
    servers: Mutex<(Option<Cluster>, Option<PrometheusServer>)>,
    dir: Mutex<Option<tempfile::TempDir>>,
}

/// Temporary directories are named `autopilot-e2e-<pid>-<random>`.
const DIR_PREFIX: &str = "autopilot-e2e-";

/// Removes what runs killed without unwinding (SIGKILL) left behind: the
/// directories of processes that no longer exist.
fn remove_stale_dirs() {
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(rest) = name.to_str().and_then(|n| n.strip_prefix(DIR_PREFIX)) else {
            continue;
        };
        let pid = rest.split('-').next().unwrap_or_default();
        if pid.parse::<u32>().is_ok() && !std::path::Path::new("/proc").join(pid).exists() {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

const NOT_NEEDED: &str = "not started: no selected test needed it";

impl Env {
    /// Starts what `needs` asks for. Must run on the main thread (see
    /// [`super::process`]). Never panics: a part that failed to start holds
    /// the reason, and every test that uses it fails with it.
    pub fn start(needs: Needs) -> Env {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a tokio runtime");
        let mut env = Env {
            rt,
            kube: Err(NOT_NEEDED.into()),
            prometheus: Err(NOT_NEEDED.into()),
            servers: Mutex::new((None, None)),
            dir: Mutex::new(None),
        };
        if !(needs.cluster || needs.prometheus) {
            return env;
        }
        let started = Instant::now();
        if let Err(e) = env.start_servers(needs) {
            let e = format!("e2e environment: {e}");
            if needs.cluster {
                env.kube = Err(e.clone());
            }
            if needs.prometheus {
                env.prometheus = Err(e);
            }
        }
        eprintln!(
            "e2e environment up in {:.1}s",
            started.elapsed().as_secs_f64()
        );
        env
    }

    fn start_servers(&mut self, needs: Needs) -> Result<(), String> {
        let bins = binaries::locate()?;
        remove_stale_dirs();
        let dir = tempfile::Builder::new()
            .prefix(&format!("{DIR_PREFIX}{}-", std::process::id()))
            .tempdir()
            .map_err(|e| format!("creating a temporary directory: {e}"))?;
        let path = dir.path().to_path_buf();
        *self.dir.lock().unwrap_or_else(|p| p.into_inner()) = Some(dir);

        // Spawn everything first so the servers start in parallel, then wait.
        let mut cluster = needs
            .cluster
            .then(|| Cluster::spawn(&bins, &path))
            .transpose()?;
        let exporter = Exporter::start().map_err(|e| format!("starting the test exporter: {e}"))?;
        let mut prometheus = needs
            .prometheus
            .then(|| PrometheusServer::spawn(&bins, &[exporter.addr], &path))
            .transpose()?;

        let (kube, prom) = self.rt.block_on(async {
            let kube = async {
                match cluster.as_mut() {
                    Some(c) => Some(c.wait_ready(Duration::from_secs(120)).await),
                    None => None,
                }
            };
            let prom = async {
                match prometheus.as_mut() {
                    Some(p) => Some(p.wait_ready(Duration::from_secs(60)).await),
                    None => None,
                }
            };
            tokio::join!(kube, prom)
        });
        if let (Some(result), Some(c)) = (kube, &cluster) {
            self.kube = result.map(|admin| Kube {
                admin,
                kubeconfig: c.kubeconfig.clone(),
            });
        }
        if let (Some(result), Some(p)) = (prom, &prometheus) {
            self.prometheus = result.map(|()| Prom {
                url: p.url.clone(),
                exporter,
            });
        }
        *self.servers.lock().unwrap_or_else(|p| p.into_inner()) = (cluster, prometheus);
        Ok(())
    }

    pub fn kube(&self) -> Result<&Kube, String> {
        self.kube.as_ref().map_err(Clone::clone)
    }

    pub fn prometheus(&self) -> Result<&Prom, String> {
        self.prometheus.as_ref().map_err(Clone::clone)
    }

    /// A client as the user of a kubeconfig context ([`cluster::LIMITED`]).
    pub async fn client_as(&self, context: &str) -> Result<Client, String> {
        let kubeconfig = self.kube()?.kubeconfig.clone();
        let source = autopilot::cluster::client::ClientSource::Kubeconfig {
            path: kubeconfig,
            context: Some(context.into()),
        };
        autopilot::cluster::client::connect(&source)
            .await
            .map_err(|e| e.to_string())
    }

    /// Stops the servers (the API server before etcd) and removes the
    /// temporary directory, unless AUTOPILOT_E2E_KEEP is set. Idempotent.
    pub fn stop(&self) {
        let (cluster, prometheus) =
            std::mem::take(&mut *self.servers.lock().unwrap_or_else(|p| p.into_inner()));
        if let Some(mut c) = cluster {
            c.stop();
        }
        if let Some(mut p) = prometheus {
            p.stop();
        }
        let dir = self.dir.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(dir) = dir
            && std::env::var_os("AUTOPILOT_E2E_KEEP").is_some()
        {
            eprintln!("e2e: kept {}", dir.keep().display());
        }
    }
}

impl Drop for Env {
    fn drop(&mut self) {
        self.stop();
    }
}

pub use cluster::{LIMITED, LIMITED_USER};
