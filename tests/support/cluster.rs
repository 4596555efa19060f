//! etcd + kube-apiserver on free loopback ports, with per-run credentials.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use autopilot::cluster::client::{ClientSource, connect};
use kube::Client;

use super::binaries::Binaries;
use super::certs;
use super::process::{Process, free_port, random_hex};

/// The kubeconfig contexts the harness writes.
pub const ADMIN: &str = "admin";
/// A user with no RBAC rights at all (only `system:authenticated`).
pub const LIMITED: &str = "limited";
pub const LIMITED_USER: &str = "e2e-limited";

/// The running servers. Fields drop in order: the API server stops before etcd.
pub struct Cluster {
    apiserver: Process,
    etcd: Process,
    pub url: String,
    pub kubeconfig: PathBuf,
}

impl Cluster {
    /// Writes credentials and a kubeconfig under `dir` and starts both servers
    /// (the API server retries etcd until it answers). Call from the main thread.
    pub fn spawn(bins: &Binaries, dir: &Path) -> Result<Cluster, String> {
        let write = |name: &str, text: &str| -> Result<PathBuf, String> {
            let path = dir.join(name);
            std::fs::write(&path, text).map_err(|e| format!("writing {}: {e}", path.display()))?;
            Ok(path)
        };
        let pki = certs::generate().map_err(|e| format!("generating certificates: {e}"))?;
        let ca = write("ca.crt", &pki.ca_cert)?;
        let cert = write("server.crt", &pki.server_cert)?;
        let key = write("server.key", &pki.server_key)?;
        let sa_key = write("sa.key", &pki.sa_private_key)?;
        let sa_pub = write("sa.pub", &pki.sa_public_key)?;
        let (admin_token, limited_token) = (random_hex(), random_hex());
        let tokens = write(
            "tokens.csv",
            &format!(
                "{admin_token},admin,admin-uid,system:masters\n{limited_token},{LIMITED_USER},limited-uid\n"
            ),
        )?;

        let port = |what: &str| free_port().map_err(|e| format!("finding a port for {what}: {e}"));
        let (client_port, peer_port, api_port) =
            (port("etcd")?, port("etcd peers")?, port("kube-apiserver")?);
        let etcd_url = format!("http://127.0.0.1:{client_port}");
        let peer_url = format!("http://127.0.0.1:{peer_port}");
        let mut etcd = Command::new(&bins.etcd);
        etcd.args([
            "--name=e2e",
            &format!("--data-dir={}", dir.join("etcd-data").display()),
            &format!("--listen-client-urls={etcd_url}"),
            &format!("--advertise-client-urls={etcd_url}"),
            &format!("--listen-peer-urls={peer_url}"),
            &format!("--initial-advertise-peer-urls={peer_url}"),
            &format!("--initial-cluster=e2e={peer_url}"),
            "--initial-cluster-state=new",
            "--unsafe-no-fsync",
            "--log-level=warn",
        ]);
        let etcd = Process::spawn("etcd", etcd, &dir.join("etcd.log"))?;

        let flag = |name: &str, path: &Path| format!("--{name}={}", path.display());
        let mut apiserver = Command::new(&bins.kube_apiserver);
        apiserver.args([
            format!("--etcd-servers={etcd_url}"),
            "--bind-address=127.0.0.1".into(),
            "--advertise-address=127.0.0.1".into(),
            format!("--secure-port={api_port}"),
            flag("tls-cert-file", &cert),
            flag("tls-private-key-file", &key),
            flag("client-ca-file", &ca),
            flag("service-account-key-file", &sa_pub),
            flag("service-account-signing-key-file", &sa_key),
            "--service-account-issuer=https://kubernetes.default.svc".into(),
            flag("token-auth-file", &tokens),
            "--authorization-mode=RBAC".into(),
            "--service-cluster-ip-range=10.0.0.0/24".into(),
            // No controller manager runs, so there is no one to reconcile the
            // `kubernetes` Service endpoints with.
            "--endpoint-reconciler-type=none".into(),
            flag("cert-dir", &dir.join("certs")),
            "--profiling=false".into(),
            "-v=1".into(),
        ]);
        let apiserver =
            Process::spawn("kube-apiserver", apiserver, &dir.join("kube-apiserver.log"))?;

        let url = format!("https://127.0.0.1:{api_port}");
        let kubeconfig = write(
            "kubeconfig",
            &format!(
                "apiVersion: v1
kind: Config
clusters:
- name: e2e
  cluster:
    server: {url}
    certificate-authority: {ca}
users:
- name: {ADMIN}
  user:
    token: {admin_token}
- name: {LIMITED}
  user:
    token: {limited_token}
contexts:
- name: {ADMIN}
  context: {{cluster: e2e, user: {ADMIN}}}
- name: {LIMITED}
  context: {{cluster: e2e, user: {LIMITED}}}
current-context: {ADMIN}
",
                ca = ca.display()
            ),
        )?;
        Ok(Cluster {
            apiserver,
            etcd,
            url,
            kubeconfig,
        })
    }

    /// A client for one of the kubeconfig's contexts ([`ADMIN`], [`LIMITED`]).
    pub async fn client(&self, context: &str) -> Result<Client, String> {
        let source = ClientSource::Kubeconfig {
            path: self.kubeconfig.clone(),
            context: Some(context.into()),
        };
        connect(&source).await.map_err(|e| format!("{e}: {:?}", e))
    }

    /// Polls `/readyz` until it answers `ok`, failing fast if a server exits.
    pub async fn wait_ready(&mut self, timeout: Duration) -> Result<Client, String> {
        let client = self.client(ADMIN).await?;
        let deadline = Instant::now() + timeout;
        let mut last;
        loop {
            self.etcd.check_running()?;
            self.apiserver.check_running()?;
            let request = http::Request::get("/readyz")
                .body(Vec::new())
                .map_err(|e| e.to_string())?;
            match client.request_text(request).await {
                Ok(body) if body.trim() == "ok" => return Ok(client),
                Ok(body) => last = body,
                Err(e) => last = e.to_string(),
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "kube-apiserver was not ready after {timeout:?}: {last}\nthe end of its log:\n{}",
                    self.apiserver.log_tail(20)
                ));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub fn stop(&mut self) {
        self.apiserver.stop();
        self.etcd.stop();
    }
}
