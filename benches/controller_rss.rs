//! `autopilot run` as a process, watching 1,000 and then 10,000 bound PVCs
//! on a real kube-apiserver (+ etcd), with a real Prometheus scraping
//! kubelet volume stats for every claim and three policies on `pvc`
//! (the card policy among them; a fifth of the claims are above its 80%).
//!
//! Prints, per size, measured on the release binary from the start of its
//! 3rd tick (`--interval 10s`) over the next 3:
//! - its resident memory, `VmRSS` and peak `VmHWM` from `/proc/PID/status`;
//! - API writes per tick in steady state, from its own `/metrics`
//!   (`autopilot_api_writes_total`, every `what` summed): it must be 0, and
//!   the bench exits 1 if it is not;
//! - CPU time per tick (`utime + stime` from `/proc/PID/stat`);
//!
//! beside pvc-autoresizer's at 10k PVCs (1.32 CPU-s per 10 s loop, 213 MiB).
//! Each size gets a fresh API server, so the figures of one do not carry the
//! other's state annotations. The claims are bound by hand, as
//! tests/e2e/fixtures.rs does (no PV controller runs), without the PVs: the
//! controller does not watch PVs.
//!
//! Run: `eval "$(scripts/test-env)"; export KUBE_APISERVER ETCD PROMETHEUS;
//! cargo bench --bench controller_rss` (about 2.5 minutes, mostly waiting for
//! ticks; the 10k claims take some 12 s to create, 32 requests in flight).
//! The binary is `CARGO_BIN_EXE_autopilot`, which cargo builds for the bench
//! in the release profile. `AUTOPILOT_BENCH_LOG=1` prints the controller's
//! log after each size.

#[allow(unused_imports)] // the e2e harness; the bench uses its servers
#[path = "../tests/support/mod.rs"]
mod support;

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use autopilot::cluster::prometheus::Prometheus;
use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::{Namespace, PersistentVolumeClaim};
use k8s_openapi::api::storage::v1::StorageClass;
use kube::Client;
use kube::api::{Api, Patch, PatchParams, PostParams};
use serde_json::json;
use support::cluster::Cluster;
use support::prometheus::{Exporter, PrometheusServer};

const GI: u64 = 1 << 30;
const NAMESPACES: usize = 10;
const CLASS: &str = "bench-ssd";
/// Creates in flight: the API server and etcd share 2 cores with us.
const IN_FLIGHT: usize = 32;
const INTERVAL: Duration = Duration::from_secs(10);
/// Ticks measured, from the start of the 3rd.
const TICKS: u64 = 3;

/// pvc-autoresizer at 10k PVCs: CPU seconds per 10 s loop, and RSS.
const PEER_CPU_S: f64 = 1.32;
const PEER_RSS_MIB: f64 = 213.0;

/// The card policy, one on inodes for one app, and an Event on namespaces
/// labelled `tier: db`.
const POLICIES: &str = r#"policy grow {
  on pvc
  when pvc.usage > 80% for 5m
  then resize(+50%, max = 1Ti)
}

policy inodes {
  on pvc where pvc.labels.app == "app0"
  when pvc.inodes_usage > 90% for 10m
  then resize(+10Gi, max = 1Ti)
  cooldown 1h
}

policy low_space {
  on pvc where namespace.labels.tier == "db"
  when pvc.available < 5Gi for 15m
  then event("LowSpace", "{pvc.name} has {pvc.available} left")
}
"#;

fn name(i: usize) -> (String, String) {
    (format!("bench-{}", i % NAMESPACES), format!("data-{i}"))
}

/// Used GiB of claim `i`'s 100: every fifth at 90, the rest 40 to 79.
fn used_gib(i: usize) -> u64 {
    if i.is_multiple_of(5) {
        90
    } else {
        40 + (i % 40) as u64
    }
}

/// kubelet volume stats for claims `0..n`: what the stdlib's bindings read.
fn exposition(n: usize) -> String {
    let metrics = [
        "kubelet_volume_stats_used_bytes",
        "kubelet_volume_stats_capacity_bytes",
        "kubelet_volume_stats_available_bytes",
        "kubelet_volume_stats_inodes_used",
        "kubelet_volume_stats_inodes",
    ];
    let mut out = String::with_capacity(n * metrics.len() * 110);
    for m in metrics {
        out.push_str(&format!("# TYPE {m} gauge\n"));
        for i in 0..n {
            let (ns, name) = name(i);
            let v = match m {
                "kubelet_volume_stats_used_bytes" => used_gib(i) * GI,
                "kubelet_volume_stats_capacity_bytes" => 100 * GI,
                "kubelet_volume_stats_available_bytes" => (100 - used_gib(i)) * GI,
                "kubelet_volume_stats_inodes_used" => 1000 + i as u64,
                _ => 1_000_000,
            };
            out.push_str(&format!(
                "{m}{{namespace=\"{ns}\",persistentvolumeclaim=\"{name}\"}} {v}\n"
            ));
        }
    }
    out
}

type Result<T = (), E = String> = std::result::Result<T, E>;

/// Retries a request a few times: a loaded API server may answer 429 or
/// time out. A 409 on create means an earlier try got through.
async fn retried<T, F, Fut>(what: &str, mut call: F) -> Result<Option<T>>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, kube::Error>>,
{
    let mut last = String::new();
    for attempt in 0..5 {
        match call().await {
            Ok(v) => return Ok(Some(v)),
            Err(kube::Error::Api(s)) if s.code == 409 => return Ok(None),
            Err(e) => last = e.to_string(),
        }
        tokio::time::sleep(Duration::from_millis(200 << attempt)).await;
    }
    Err(format!("{what}: {last}"))
}

fn object<T: serde::de::DeserializeOwned>(v: serde_json::Value) -> T {
    serde_json::from_value(v).expect("a valid object")
}

/// The namespaces (every other one `tier: db`) and the StorageClass.
async fn setup(client: &Client) -> Result {
    let post = PostParams::default();
    let namespaces: Api<Namespace> = Api::all(client.clone());
    for i in 0..NAMESPACES {
        let mut ns = json!({"metadata": {"name": format!("bench-{i}")}});
        if i % 2 == 0 {
            ns["metadata"]["labels"] = json!({"tier": "db"});
        }
        let ns: Namespace = object(ns);
        retried("a namespace", || namespaces.create(&post, &ns)).await?;
    }
    let sc: StorageClass = object(json!({
        "metadata": {"name": CLASS},
        "provisioner": "ebs.csi.aws.com",
        "allowVolumeExpansion": true,
    }));
    let classes: Api<StorageClass> = Api::all(client.clone());
    retried("the StorageClass", || classes.create(&post, &sc)).await?;
    Ok(())
}

/// Claim `i`, bound: created with its volume, then its status written Bound
/// with its capacity, as the PV controller would.
async fn bound_pvc(client: Client, i: usize) -> Result {
    let (ns, name) = name(i);
    let (post, params) = (PostParams::default(), PatchParams::default());
    let pvcs: Api<PersistentVolumeClaim> = Api::namespaced(client, &ns);
    let pvc: PersistentVolumeClaim = object(json!({
        "metadata": {"name": name, "labels": {"app": format!("app{}", i % 3)}},
        "spec": {
            "accessModes": ["ReadWriteOnce"],
            "storageClassName": CLASS,
            "volumeName": format!("pv-{ns}-{name}"),
            "resources": {"requests": {"storage": "100Gi"}},
        },
    }));
    retried("a PVC", || pvcs.create(&post, &pvc)).await?;
    let status = Patch::Merge(json!({"status": {
        "phase": "Bound",
        "accessModes": ["ReadWriteOnce"],
        "capacity": {"storage": "100Gi"},
    }}));
    retried("a PVC's status", || {
        pvcs.patch_status(&name, &params, &status)
    })
    .await?;
    Ok(())
}

async fn create_pvcs(client: &Client, n: usize) -> Result {
    futures::stream::iter(0..n)
        .map(|i| bound_pvc(client.clone(), i))
        .buffer_unordered(IN_FLIGHT)
        .try_collect::<()>()
        .await
}

/// The release binary: cargo's for the bench, else beside the bench under
/// the target directory.
fn binary() -> Result<PathBuf> {
    if let Some(p) = option_env!("CARGO_BIN_EXE_autopilot") {
        return Ok(PathBuf::from(p));
    }
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    // target/release/deps/controller_rss-HASH → target/release/autopilot
    let p = exe
        .parent()
        .and_then(Path::parent)
        .map(|d| d.join("autopilot"))
        .ok_or("no target directory")?;
    if p.is_file() {
        Ok(p)
    } else {
        Err(format!(
            "{} is missing: run `cargo build --release --bin autopilot`",
            p.display()
        ))
    }
}

/// `autopilot run`, dying with the bench (`PR_SET_PDEATHSIG`).
struct Controller {
    child: Child,
    log: PathBuf,
}

impl Controller {
    fn spawn(bin: &Path, kubeconfig: &Path, prometheus: &str, dir: &Path) -> Result<Controller> {
        let policies = dir.join("policies");
        std::fs::create_dir_all(&policies).map_err(|e| e.to_string())?;
        std::fs::write(policies.join("bench.apr"), POLICIES).map_err(|e| e.to_string())?;
        let log = dir.join("autopilot.log");
        let err = std::fs::File::create(&log).map_err(|e| e.to_string())?;
        let mut cmd = Command::new(bin);
        cmd.arg("run")
            .arg("--no-leader-election")
            .args(["--interval", "10s", "--listen", "127.0.0.1:0"])
            .arg("--kubeconfig")
            .arg(kubeconfig)
            .args(["--prometheus", prometheus])
            .arg("--policies")
            .arg(&policies)
            .env("AUTOPILOT_LOG", "info,kube_client=off")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(err);
        // SAFETY: prctl is async-signal-safe and touches no memory of the parent.
        unsafe {
            cmd.pre_exec(|| {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = cmd
            .spawn()
            .map_err(|e| format!("starting {}: {e}", bin.display()))?;
        Ok(Controller { child, log })
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn check_running(&mut self) -> Result {
        match self.child.try_wait() {
            Ok(None) => Ok(()),
            Ok(Some(status)) => Err(format!("autopilot exited ({status}):\n{}", self.log())),
            Err(e) => Err(e.to_string()),
        }
    }

    /// The probes' address, once logged.
    async fn probes(&mut self) -> Result<String> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            self.check_running()?;
            let log = self.log();
            if let Some(addr) = log
                .lines()
                .find_map(|l| l.split("probes listening on ").nth(1))
            {
                return Ok(addr.split_whitespace().next().unwrap_or_default().into());
            }
            if Instant::now() > deadline {
                return Err(format!("the probes never listened:\n{log}"));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// SIGTERM, then SIGKILL after 10 s.
    fn stop(mut self) {
        // SAFETY: a signal to our own child, not yet reaped.
        unsafe {
            libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM);
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        while matches!(self.child.try_wait(), Ok(None)) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What `/metrics` and `/proc` say at one moment.
#[derive(Clone, Copy, Debug)]
struct Sample {
    ticks: f64,
    writes: f64,
    pvcs: f64,
    cpu_s: f64,
    rss_mib: f64,
    hwm_mib: f64,
}

async fn sample(http: &reqwest::Client, probes: &str, pid: u32) -> Result<Sample> {
    let text = http
        .get(format!("http://{probes}/metrics"))
        .send()
        .await
        .and_then(|r| r.error_for_status())
        .map_err(|e| format!("/metrics: {e}"))?
        .text()
        .await
        .map_err(|e| format!("/metrics: {e}"))?;
    let value = |l: &str| l.rsplit(' ').next().and_then(|v| v.parse::<f64>().ok());
    let sum = |prefix: &str| -> f64 {
        text.lines()
            .filter(|l| l.starts_with(prefix))
            .filter_map(value)
            .sum()
    };
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let kib = |key: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
            .unwrap_or(f64::NAN)
    };
    Ok(Sample {
        ticks: sum("autopilot_ticks_total "),
        writes: sum("autopilot_api_writes_total"),
        pvcs: sum("autopilot_objects{kind=\"pvc\"}"),
        cpu_s: cpu_seconds(pid),
        rss_mib: kib("VmRSS:") / 1024.0,
        hwm_mib: kib("VmHWM:") / 1024.0,
    })
}

/// utime + stime of `pid`, in seconds.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after = stat.rsplit(')').next().unwrap_or_default();
    let fields: Vec<&str> = after.split_whitespace().collect();
    let field = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(f64::NAN)
    };
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    // Fields 14 and 15 of proc_pid_stat(5), counted from the state (field 3).
    (field(11) + field(12)) / hz
}

struct Figures {
    created_s: f64,
    ready_s: f64,
    at: Sample,
    ticks: f64,
    writes_per_tick: f64,
    cpu_per_tick: f64,
    first_writes: f64,
}

/// Waits until Prometheus holds the series of `n` claims.
async fn scraped(prometheus: &Prometheus, n: usize) -> Result {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let got = prometheus
            .query("count(kubelet_volume_stats_inodes)", None)
            .await
            .ok();
        if got.and_then(|s| s.first().and_then(|s| s.value)) == Some(n as f64) {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(format!("Prometheus never held the series of {n} claims"));
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// One size: a fresh API server with `n` bound claims, the controller
/// started on it, measured, stopped.
async fn measure(
    bins: &support::binaries::Binaries,
    bin: &Path,
    prom: (&PrometheusServer, &Exporter, &Prometheus),
    n: usize,
) -> Result<Figures> {
    let dir = tempfile::Builder::new()
        .prefix("autopilot-bench-")
        .tempdir()
        .map_err(|e| e.to_string())?;
    let mut cluster = Cluster::spawn(bins, dir.path())?;
    let client = cluster.wait_ready(Duration::from_secs(120)).await?;
    let (server, exporter, prometheus) = prom;
    exporter.set("bench", &exposition(n));

    let start = Instant::now();
    setup(&client).await?;
    create_pvcs(&client, n).await?;
    let created_s = start.elapsed().as_secs_f64();
    scraped(prometheus, n).await?;

    let start = Instant::now();
    let mut c = Controller::spawn(bin, &cluster.kubeconfig, &server.url, dir.path())?;
    let pid = c.child.id();
    let result = async {
        let probes = c.probes().await?;
        let http = reqwest::Client::new();
        let deadline = start + Duration::from_secs(180);
        loop {
            c.check_running()?;
            let ready = http.get(format!("http://{probes}/readyz")).send().await;
            if ready.is_ok_and(|r| r.status() == 200) {
                break;
            }
            if Instant::now() > deadline {
                return Err(format!("/readyz was never 200:\n{}", c.log()));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let ready_s = start.elapsed().as_secs_f64();
        // The counter moves when a tick starts: sample between ticks.
        loop {
            c.check_running()?;
            if sample(&http, &probes, pid).await?.ticks >= 3.0 {
                break;
            }
            if Instant::now() > deadline {
                return Err(format!("3 ticks never ran:\n{}", c.log()));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        tokio::time::sleep(INTERVAL / 2).await;
        let at = sample(&http, &probes, pid).await?;
        tokio::time::sleep(INTERVAL * TICKS as u32).await;
        c.check_running()?;
        let end = sample(&http, &probes, pid).await?;
        let ticks = end.ticks - at.ticks;
        if at.pvcs != n as f64 {
            return Err(format!("the controller watched {} PVCs, not {n}", at.pvcs));
        }
        Ok(Figures {
            created_s,
            ready_s,
            at,
            ticks,
            writes_per_tick: (end.writes - at.writes) / ticks,
            cpu_per_tick: (end.cpu_s - at.cpu_s) / ticks,
            first_writes: at.writes,
        })
    }
    .await;
    if result.is_err() || std::env::var_os("AUTOPILOT_BENCH_LOG").is_some() {
        eprintln!("the controller's log:\n{}", c.log());
    }
    c.stop();
    cluster.stop();
    result
}

fn fail(e: impl std::fmt::Display) -> ! {
    eprintln!("controller_rss bench: {e}");
    std::process::exit(2);
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` would run us too.
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let c = autopilot::compile::compile(vec![("bench.apr".into(), POLICIES.into())]);
    if c.has_errors() {
        fail(format!("the policies do not check: {:?}", c.diagnostics));
    }
    let bins = support::binaries::locate().unwrap_or_else(|e| fail(e));
    let bin = binary().unwrap_or_else(|e| fail(e));
    let dir = tempfile::tempdir().unwrap_or_else(|e| fail(e));
    let exporter = Exporter::start().unwrap_or_else(|e| fail(e));
    let mut server =
        PrometheusServer::spawn(&bins, &[exporter.addr], dir.path()).unwrap_or_else(|e| fail(e));
    let rt = tokio::runtime::Runtime::new().unwrap_or_else(|e| fail(e));
    let busy = rt.block_on(async {
        server.wait_ready(Duration::from_secs(60)).await?;
        let prometheus = Prometheus::new(&server.url).map_err(|e| e.to_string())?;
        let _ = rustls::crypto::ring::default_provider().install_default();
        let prom = (&server, &exporter, &prometheus);
        println!(
            "autopilot run ({}), --interval 10s, 3 policies on pvc; \
             measured from the 3rd tick over {TICKS}",
            bin.display()
        );
        let mut busy = false;
        for n in [1_000, 10_000] {
            let f = measure(&bins, &bin, prom, n).await?;
            println!(
                "{n:>6} PVCs: RSS {:.1} MiB (peak {:.1} MiB); {:.2} API writes per tick \
                 in steady state ({} in the first ticks); {:.3} CPU-s per tick \
                 ({:.0} ticks); ready {:.1} s after start; {n} claims created in {:.0} s",
                f.at.rss_mib,
                f.at.hwm_mib,
                f.writes_per_tick,
                f.first_writes,
                f.cpu_per_tick,
                f.ticks,
                f.ready_s,
                f.created_s,
            );
            if f.writes_per_tick != 0.0 {
                eprintln!(
                    "controller_rss bench: {:.2} API writes per tick at {n} PVCs in steady \
                     state; there must be none",
                    f.writes_per_tick
                );
                busy = true;
            }
        }
        println!(
            "pvc-autoresizer at 10k PVCs: RSS {PEER_RSS_MIB:.0} MiB; \
             {PEER_CPU_S:.2} CPU-s per 10 s loop"
        );
        Ok::<bool, String>(busy)
    });
    server.stop();
    match busy {
        Ok(false) => {}
        Ok(true) => std::process::exit(1),
        Err(e) => fail(e),
    }
}
