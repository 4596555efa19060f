//! `autopilot run`: flags, logging, the cluster client and Prometheus, then
//! [`crate::controller::run`] until SIGTERM or Ctrl-C.

use std::path::PathBuf;
use std::time::Duration;

use clap::ValueEnum;

use super::Exit;
use super::prometheus_args::PrometheusArgs;
use crate::cluster::client::{self, ClientSource};
use crate::controller::{self, Options};

#[derive(Clone, Copy, Debug, Default, ValueEnum, PartialEq, Eq)]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Policy files or folders, cluster-wide; read again when they change.
    #[arg(long = "policies", value_name = "DIR")]
    policies: Vec<PathBuf>,
    /// The kubeconfig (default: $KUBECONFIG, ~/.kube/config, else in-cluster).
    #[arg(long, value_name = "FILE")]
    kubeconfig: Option<PathBuf>,
    /// A context of the kubeconfig.
    #[arg(long, value_name = "NAME", requires = "kubeconfig")]
    context: Option<String>,
    #[command(flatten)]
    prometheus: PrometheusArgs,
    /// The controller's own namespace.
    #[arg(long, value_name = "NS", default_value = "autopilot-system")]
    namespace: String,
    /// Time between ticks: `30s`, `1m`; at least 1s.
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = interval)]
    interval: Duration,
    /// Where /metrics, /healthz and /readyz are served.
    #[arg(long, value_name = "ADDR", default_value = "0.0.0.0:8080")]
    listen: String,
    /// Record every action as dry_run; write nothing but Events.
    #[arg(long)]
    dry_run: bool,
    /// Run without electing a leader: this must be the only replica.
    #[arg(long)]
    no_leader_election: bool,
    /// This replica's name on the Lease and on Events (default: $POD_NAME,
    /// else the host name with a random suffix).
    #[arg(long, value_name = "NAME")]
    identity: Option<String>,
    /// Log lines as text or JSON.
    #[arg(long, value_enum, default_value_t)]
    log_format: LogFormat,
}

fn interval(text: &str) -> Result<Duration, String> {
    let d: jiff::SignedDuration = text
        .parse()
        .map_err(|e| format!("`{text}` is not a duration such as `30s` or `1m`: {e}"))?;
    let d = Duration::try_from(d).map_err(|_| format!("`{text}` is negative"))?;
    if d < Duration::from_secs(1) {
        return Err(format!("`{text}` is below the shortest interval, 1s"));
    }
    Ok(d)
}

/// `--identity`, else `POD_NAME`, else the host name with a random suffix
/// (a restarted pod keeps its name, so it takes its Lease back at once).
fn identity(flag: Option<String>) -> String {
    if let Some(name) = flag.or_else(|| std::env::var("POD_NAME").ok())
        && !name.is_empty()
    {
        return name;
    }
    let host = std::fs::read_to_string("/etc/hostname")
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "autopilot".into());
    let suffix = {
        use std::hash::{BuildHasher, Hasher};
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u32(std::process::id());
        h.finish() as u32
    };
    format!("{host}-{suffix:08x}")
}

pub fn run(args: Args) -> Exit {
    init_logs(args.log_format);
    let Some(config) = args.prometheus.read_config() else {
        return Exit::Usage;
    };
    let Some(prometheus) = args.prometheus.client(&config) else {
        return Exit::Usage;
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return Exit::Usage;
        }
    };
    let source = match args.kubeconfig.clone() {
        Some(path) => ClientSource::Kubeconfig {
            path,
            context: args.context.clone(),
        },
        None => ClientSource::Infer,
    };
    let options = Options {
        policies: args.policies.clone(),
        namespace: args.namespace.clone(),
        interval: args.interval,
        listen: args.listen.clone(),
        dry_run: args.dry_run,
        in_flight: config.prometheus.max_in_flight,
        matchers: config.prometheus.matchers.clone(),
        receivers: config.notify.clone(),
        identity: identity(args.identity.clone()),
        leader_election: !args.no_leader_election,
    };
    tracing::info!(
        namespace = %args.namespace,
        interval_ms = args.interval.as_millis() as u64,
        dry_run = args.dry_run,
        listen = %args.listen,
        "starting"
    );
    runtime.block_on(async move {
        let client = match client::connect(&source).await {
            Ok(c) => c,
            Err(e) => {
                eprintln!("error: {e}");
                return Exit::Usage;
            }
        };
        match controller::run(client, prometheus, options, shutdown()).await {
            Ok(()) => Exit::Ok,
            Err(e) => {
                eprintln!("error: {e}");
                Exit::Usage
            }
        }
    })
}

/// SIGTERM (what Kubernetes sends) or Ctrl-C.
async fn shutdown() {
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = term => {}
        _ = tokio::signal::ctrl_c() => {}
    }
    tracing::info!("shutting down: the tick in progress finishes");
}

/// The default log filter. kube's client logs every failed request (35
/// lines in a 12 s outage of the API server in a test); the controller says each
/// failure once, when it starts and when it ends, so kube's are left out
/// unless `AUTOPILOT_LOG` asks for them.
const DEFAULT_LOGS: &str = "info,kube_client=off";

fn init_logs(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("AUTOPILOT_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(DEFAULT_LOGS));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}
