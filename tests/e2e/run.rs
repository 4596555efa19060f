//! `autopilot run` started as a process, as users run it, against the real
//! API server and a real Prometheus scraping the test's exporter.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::authentication::v1::TokenRequest;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{ConfigMap, Node, PersistentVolumeClaim, Pod, ServiceAccount};
use k8s_openapi::api::rbac::v1::ClusterRole;
use k8s_openapi::api::storage::v1::VolumeAttributesClass;
use kube::Client;
use kube::api::{Api, Patch, PatchParams, PostParams};
use serde_json::{Value, json};

use crate::fixtures;
use crate::support::Env;
use crate::webhook::Webhook;
use crate::{BOTH, Case, TestResult, case};

pub fn cases() -> Vec<Case> {
    vec![
        case!("run", BOTH, the_card_policy_grows_a_live_volume_up_to_max),
        case!(
            "run",
            BOTH,
            a_policy_configmap_acts_in_its_namespace_and_keeps_its_last_good_text
        ),
        case!(
            "run",
            BOTH,
            prometheus_down_or_series_gone_writes_nothing_and_the_controller_stays_up
        ),
        case!(
            "run",
            BOTH,
            a_class_without_expansion_is_skipped_with_a_warning
        ),
        case!("run", BOTH, dry_run_writes_nothing_but_events),
        case!("run", BOTH, the_configured_label_matcher_reaches_prometheus),
        case!("run", BOTH, notify_reaches_its_receiver_through_500_and_429),
        case!("run", BOTH, two_replicas_one_acts_and_the_other_takes_over),
        case!(
            "run",
            BOTH,
            the_deployed_rbac_suffices_and_a_missing_rule_is_named
        ),
        case!("run", BOTH, every_action_runs_as_the_service_account),
    ]
}

/// Controllers see every namespace, and a policy ConfigMap of one case would
/// be loaded by another's controller: controller cases take turns.
static ONE_CONTROLLER: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// A case's turn: taken before it creates anything a controller would see.
pub type Turn = tokio::sync::MutexGuard<'static, ()>;

pub async fn take_turn() -> Turn {
    ONE_CONTROLLER.lock().await
}

/// How a case starts the controller.
#[derive(Default)]
pub struct Start<'a> {
    /// The `--policies` file, if any.
    pub policy: Option<&'a str>,
    /// `--config`'s text, if any.
    pub config: Option<&'a str>,
    /// In place of the test Prometheus.
    pub prometheus: Option<&'a str>,
    pub args: &'a [&'a str],
    /// Elect a leader (with `--identity` and `--namespace` in `args`)
    /// instead of `--no-leader-election`.
    pub elect: bool,
    /// In place of the admin's kubeconfig.
    pub kubeconfig: Option<&'a std::path::Path>,
    /// Environment variables of the process (`AUTOPILOT_FAILPOINT`).
    pub env: &'a [(&'a str, &'a str)],
}

/// The controller as a child process; stopped (SIGTERM, then SIGKILL) when
/// dropped, and its log kept for failure messages.
pub struct Controller {
    child: Child,
    log: PathBuf,
    _dir: tempfile::TempDir,
    _turn: Option<Turn>,
}

impl Controller {
    pub fn start(env: &Env, turn: Turn, policy: &str) -> TestResult<Controller> {
        let start = Start {
            policy: Some(policy),
            ..Start::default()
        };
        Controller::start_with(env, turn, start)
    }

    /// `turn` is None for a second controller of the same case.
    pub fn start_with(
        env: &Env,
        turn: impl Into<Option<Turn>>,
        start: Start<'_>,
    ) -> TestResult<Controller> {
        let kube = env.kube()?;
        let prom = env.prometheus()?;
        let dir = tempfile::tempdir()?;
        let log = dir.path().join("autopilot.log");
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_autopilot"));
        cmd.arg("run");
        if let Some(policy) = start.policy {
            let policies = dir.path().join("policies");
            std::fs::create_dir(&policies)?;
            std::fs::write(policies.join("policy.apr"), policy)?;
            cmd.arg("--policies").arg(&policies);
        }
        if let Some(config) = start.config {
            let path = dir.path().join("autopilot.yaml");
            std::fs::write(&path, config)?;
            cmd.arg("--config").arg(&path);
        }
        if !start.elect {
            cmd.arg("--no-leader-election");
        }
        cmd.arg("--kubeconfig")
            .arg(start.kubeconfig.unwrap_or(&kube.kubeconfig))
            .args(["--prometheus", start.prometheus.unwrap_or(&prom.url)])
            .args(["--interval", "1s", "--listen", "127.0.0.1:0"])
            .args(start.args)
            .env("AUTOPILOT_LOG", "info,kube_client=off")
            .envs(start.env.iter().copied())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log)?);
        Ok(Controller {
            child: cmd.spawn()?,
            log,
            _dir: dir,
            _turn: turn.into(),
        })
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The probes' address, once the controller has logged it.
    pub async fn probes(&self) -> TestResult<String> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let log = self.log();
            let found = log
                .lines()
                .find_map(|l| l.split("probes listening on ").nth(1));
            if let Some(addr) = found {
                return Ok(addr.trim().to_string());
            }
            if Instant::now() > deadline {
                return Err(format!("the probes never listened:\n{log}").into());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits up to 30 s for the process to end by itself (a failpoint).
    pub async fn exited(&mut self) -> TestResult {
        let deadline = Instant::now() + Duration::from_secs(30);
        while self.child.try_wait()?.is_none() {
            if Instant::now() > deadline {
                return Err(format!("still running after 30 s:\n{}", self.log()).into());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Ok(())
    }

    /// SIGKILL: no release of the Lease, no last words.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM, as Kubernetes stops a pod: it must exit 0 within 10 s.
    pub fn stop(mut self) -> TestResult {
        let pid = self.child.id().to_string();
        Command::new("kill").args(["-TERM", &pid]).status()?;
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(status) = self.child.try_wait()? {
                if !status.success() {
                    return Err(format!("exited with {status}:\n{}", self.log()).into());
                }
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(format!("still running 10s after SIGTERM:\n{}", self.log()).into());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Controller {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Polls `check` for up to 30 s (a start, a list, a `for` and a tick).
pub async fn within_30s<F, Fut>(c: &Controller, what: &str, mut check: F) -> TestResult
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = TestResult<bool>>,
{
    let deadline = Instant::now() + Duration::from_secs(30);
    while !check().await? {
        if Instant::now() > deadline {
            return Err(format!(
                "timed out waiting for {what}; the controller said:\n{}",
                c.log()
            )
            .into());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Ok(())
}

/// docs/semantics.md's card policy, in seconds: above 50% for 2s, the
/// request doubles; the test plays the CSI resizer; at 4Gi it is declined,
/// said once. A PVC below the threshold is never written.
async fn the_card_policy_grows_a_live_volume_up_to_max(env: &Env) -> TestResult {
    let turn = take_turn().await;
    let client = &env.kube()?.admin;
    let ns = fixtures::namespace(client, "run-card").await?;
    fixtures::storage_class(client, "run-card-expand", Some(true)).await?;
    fixtures::bound_pvc(client, &ns, "data", "run-card-expand", "1Gi").await?;
    let low = fixtures::bound_pvc(client, &ns, "low", "run-card-expand", "1Gi").await?;
    env.prometheus()?.exporter.set(
        "run-card",
        &format!(
            "# TYPE autopilot_e2e_run_fill gauge\n\
             autopilot_e2e_run_fill{{namespace=\"{ns}\",persistentvolumeclaim=\"data\"}} 0.9\n\
             autopilot_e2e_run_fill{{namespace=\"{ns}\",persistentvolumeclaim=\"low\"}} 0.1\n"
        ),
    );
    let policy = format!(
        "metric pvc.run_fill : percent = `autopilot_e2e_run_fill * 100`\n\
         policy grow {{\n  on pvc where pvc.namespace == \"{ns}\"\n  when pvc.run_fill > 50% for 2s\n  \
         then resize(+100%, max = 4Gi)\n  cooldown 2s\n}}\n"
    );
    let c = Controller::start(env, turn, &policy)?;

    let request = |name: &'static str| {
        let (client, ns) = (client.clone(), ns.clone());
        async move {
            let pvc = fixtures::get_pvc(&client, &ns, name).await?;
            TestResult::Ok(fixtures::requested(&pvc))
        }
    };
    within_30s(&c, "the request to double to 2Gi", || async {
        Ok(request("data").await? == "2Gi")
    })
    .await?;
    within_30s(&c, "a VolumeResized event", || async {
        let events = fixtures::events_about(client, &ns, "data").await?;
        Ok(events
            .iter()
            .any(|e| e.reason.as_deref() == Some("VolumeResized")))
    })
    .await?;

    // The CSI resizer's part: the volume has grown. The next resize goes to max.
    fixtures::set_status(client, &ns, "data", "Bound", "2Gi").await?;
    within_30s(&c, "the request to reach max, 4Gi", || async {
        Ok(request("data").await? == "4Gi")
    })
    .await?;
    fixtures::set_status(client, &ns, "data", "Bound", "4Gi").await?;
    within_30s(&c, "a ResizeDeclined event at max", || async {
        let events = fixtures::events_about(client, &ns, "data").await?;
        Ok(events
            .iter()
            .any(|e| e.reason.as_deref() == Some("ResizeDeclined")))
    })
    .await?;
    // Said once: a few more ticks add no second decline.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let declines: Vec<_> = fixtures::events_about(client, &ns, "data")
        .await?
        .into_iter()
        .filter(|e| e.reason.as_deref() == Some("ResizeDeclined"))
        .collect();
    assert_eq!(declines.len(), 1, "{declines:?}");
    assert_eq!(
        declines[0].series.as_ref().map_or(1, |s| s.count),
        1,
        "a decline is said once, not every tick"
    );
    assert_eq!(request("data").await?, "4Gi", "never past max");

    // /metrics counts what happened.
    let (_, metrics) = http_get_body(&c.probes().await?, "/metrics")?;
    let series = |prefix: &str| {
        metrics
            .lines()
            .find(|l| l.starts_with(prefix))
            .and_then(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
    };
    let action = |result: &str| {
        series(&format!(
            "autopilot_actions_total{{source=\"--policies\",policy=\"grow\",action=\"resize\",result=\"{result}\"}}"
        ))
    };
    assert_eq!(action("applied"), Some(2.0), "{metrics}");
    assert_eq!(action("declined"), Some(1.0), "{metrics}");
    assert_eq!(
        series("autopilot_policies{state=\"loaded\"}"),
        Some(1.0),
        "{metrics}"
    );
    assert_eq!(series("autopilot_leader "), Some(1.0), "{metrics}");
    assert!(
        series("autopilot_objects{kind=\"pvc\"}").is_some_and(|n| n >= 2.0),
        "{metrics}"
    );
    assert!(
        metrics.contains("autopilot_query_duration_seconds_count{"),
        "{metrics}"
    );
    assert!(
        series("autopilot_tick_duration_seconds_count").is_some_and(|n| n >= 1.0),
        "{metrics}"
    );

    // Below the threshold: never written.
    let now = fixtures::get_pvc(client, &ns, "low").await?;
    assert_eq!(
        fixtures::resource_version(&now),
        fixtures::resource_version(&low),
        "a PVC below the threshold is not written"
    );
    assert_eq!(fixtures::requested(&now), "1Gi");
    c.stop()
}

/// The status code of `GET path` on `addr`.
pub fn http_get(addr: &str, path: &str) -> TestResult<u16> {
    Ok(http_get_body(addr, path)?.0)
}

/// The status code and body of `GET path` on `addr`.
fn http_get_body(addr: &str, path: &str) -> TestResult<(u16, String)> {
    let mut stream = TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer)?;
    let code = answer
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| format!("not an HTTP answer: {answer:?}"))?;
    let body = answer
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    Ok((code, body))
}

/// A TCP proxy in front of Prometheus that the test can cut: while down, a
/// connection is closed at once, as a Prometheus that stopped.
struct Proxy {
    url: String,
    up: Arc<AtomicBool>,
}

impl Proxy {
    fn start(target: &str) -> TestResult<Proxy> {
        let target = target
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_string();
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let url = format!("http://{}", listener.local_addr()?);
        let up = Arc::new(AtomicBool::new(true));
        let serving = up.clone();
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                if !serving.load(Ordering::SeqCst) {
                    drop(client);
                    continue;
                }
                let Ok(server) = TcpStream::connect(&target) else {
                    continue;
                };
                let pipe = |mut from: TcpStream, mut to: TcpStream| {
                    std::thread::spawn(move || {
                        let _ = std::io::copy(&mut from, &mut to);
                        let _ = to.shutdown(std::net::Shutdown::Write);
                    });
                };
                if let (Ok(c), Ok(s)) = (client.try_clone(), server.try_clone()) {
                    pipe(c, server);
                    pipe(s, client);
                }
            }
        });
        Ok(Proxy { url, up })
    }

    fn set_up(&self, up: bool) {
        self.up.store(up, Ordering::SeqCst);
    }
}

pub fn exporter_text(metric: &str, series: &[(&str, &str, f64)]) -> String {
    let mut text = format!("# TYPE {metric} gauge\n");
    for (labels_ns, pvc, v) in series {
        text.push_str(&format!(
            "{metric}{{namespace=\"{labels_ns}\",persistentvolumeclaim=\"{pvc}\"}} {v}\n"
        ));
    }
    text
}

pub async fn annotation(
    client: &Client,
    ns: &str,
    name: &str,
    key: &str,
) -> TestResult<Option<String>> {
    let pvc = fixtures::get_pvc(client, ns, name).await?;
    Ok(pvc.metadata.annotations.and_then(|a| a.get(key).cloned()))
}

pub async fn put_config_map(
    client: &Client,
    ns: &str,
    name: &str,
    key: &str,
    text: &str,
) -> TestResult {
    let cm: ConfigMap = serde_json::from_value(json!({
        "metadata": {"name": name, "labels": {"autopilot.rs/policy": "true"}},
        "data": {key: text}
    }))?;
    let api: Api<ConfigMap> = Api::namespaced(client.clone(), ns);
    if api.get_opt(name).await?.is_some() {
        let patch = json!({"data": {key: text}});
        api.patch(name, &PatchParams::default(), &Patch::Merge(&patch))
            .await?;
    } else {
        api.create(&PostParams::default(), &cm).await?;
    }
    Ok(())
}

pub async fn has_event(client: &Client, ns: &str, name: &str, reason: &str) -> TestResult<bool> {
    let events = fixtures::events_about(client, ns, name).await?;
    Ok(events.iter().any(|e| e.reason.as_deref() == Some(reason)))
}

/// A ConfigMap policy acts, in its namespace only; a text that fails to
/// check keeps the last good one acting and puts a Warning on the
/// ConfigMap; a fix clears it. A ConfigMap elsewhere may not act on nodes.
async fn a_policy_configmap_acts_in_its_namespace_and_keeps_its_last_good_text(
    env: &Env,
) -> TestResult {
    let turn = take_turn().await;
    let client = &env.kube()?.admin;
    let ns = fixtures::namespace(client, "run-cm").await?;
    let other = fixtures::namespace(client, "run-cm-other").await?;
    fixtures::pending_pvc(client, &ns, "first", "none", "1Gi").await?;
    fixtures::pending_pvc(client, &other, "theirs", "none", "1Gi").await?;
    let marks = |value: &str| {
        format!(
            "policy mark {{\n  on pvc\n  when pvc.requested > 0Gi\n  \
             then annotate(\"autopilot.rs/mark\", \"{value}\")\n}}\n"
        )
    };
    // Another team's ConfigMap, no namespace filter: it may only touch `other`.
    let reach = "policy reach {\n  on pvc\n  when pvc.requested > 0Gi\n  \
                 then annotate(\"autopilot.rs/reach\", \"yes\")\n}\n";
    put_config_map(client, &ns, "policies", "mark.apr", &marks("v1")).await?;
    put_config_map(client, &other, "policies", "reach.apr", reach).await?;
    let nodes = "policy drain {\n  on node\n  when node.ready == false\n  then cordon()\n}\n";
    put_config_map(client, &other, "nodes", "drain.apr", nodes).await?;
    let c = Controller::start_with(env, turn, Start::default())?;

    within_30s(&c, "the ConfigMap's policy to act", || async {
        Ok(annotation(client, &ns, "first", "autopilot.rs/mark").await? == Some("v1".into()))
    })
    .await?;
    within_30s(
        &c,
        "the other team's policy to act in its namespace",
        || async {
            Ok(
                annotation(client, &other, "theirs", "autopilot.rs/reach").await?
                    == Some("yes".into()),
            )
        },
    )
    .await?;
    within_30s(
        &c,
        "a PolicyInvalid event on the node ConfigMap",
        || async { has_event(client, &other, "nodes", "PolicyInvalid").await },
    )
    .await?;
    let invalid = fixtures::event(client, &other, "nodes", "PolicyInvalid").await?;
    let note = invalid.note.unwrap_or_default();
    assert!(note.contains("apr::source::authority"), "{note}");

    // A text that does not check: the last good version keeps acting.
    put_config_map(
        client,
        &ns,
        "policies",
        "mark.apr",
        "policy mark { on pvc when",
    )
    .await?;
    within_30s(
        &c,
        "a PolicyInvalid event on the broken ConfigMap",
        || async { has_event(client, &ns, "policies", "PolicyInvalid").await },
    )
    .await?;
    fixtures::pending_pvc(client, &ns, "second", "none", "1Gi").await?;
    within_30s(
        &c,
        "the last good version to act on a new claim",
        || async {
            Ok(annotation(client, &ns, "second", "autopilot.rs/mark").await? == Some("v1".into()))
        },
    )
    .await?;

    // The fix: the warning goes, the new text acts.
    put_config_map(client, &ns, "policies", "mark.apr", &marks("v2")).await?;
    within_30s(&c, "the PolicyInvalid event to be cleared", || async {
        Ok(!has_event(client, &ns, "policies", "PolicyInvalid").await?)
    })
    .await?;
    fixtures::pending_pvc(client, &ns, "third", "none", "1Gi").await?;
    within_30s(&c, "the fixed version to act", || async {
        Ok(annotation(client, &ns, "third", "autopilot.rs/mark").await? == Some("v2".into()))
    })
    .await?;
    for name in ["first", "second", "third"] {
        let reached = annotation(client, &ns, name, "autopilot.rs/reach").await?;
        assert_eq!(
            reached, None,
            "another namespace's policy touched {ns}/{name}"
        );
    }
    let pvcs: Api<PersistentVolumeClaim> = Api::namespaced(client.clone(), &ns);
    assert_eq!(pvcs.list(&Default::default()).await?.items.len(), 3);
    // Later cases' controllers would load them.
    for (namespace, name) in [(&ns, "policies"), (&other, "policies"), (&other, "nodes")] {
        Api::<ConfigMap>::namespaced(client.clone(), namespace)
            .delete(name, &Default::default())
            .await?;
    }
    c.stop()
}

/// Prometheus stopped (a proxy cut), then a series gone: no write; the
/// controller stays up and healthy, and the failure is logged once.
async fn prometheus_down_or_series_gone_writes_nothing_and_the_controller_stays_up(
    env: &Env,
) -> TestResult {
    let turn = take_turn().await;
    let client = &env.kube()?.admin;
    let prom = env.prometheus()?;
    let ns = fixtures::namespace(client, "run-down").await?;
    fixtures::storage_class(client, "run-down-expand", Some(true)).await?;
    let data = fixtures::bound_pvc(client, &ns, "data", "run-down-expand", "1Gi").await?;
    let metric = "autopilot_e2e_down_fill";
    prom.exporter.set("run-down", &exporter_text(metric, &[]));
    let policy = format!(
        "metric pvc.down_fill : percent = `{metric} * 100`\n\
         policy grow {{\n  on pvc where pvc.namespace == \"{ns}\"\n  when pvc.down_fill > 50% for 1s\n  \
         then resize(+100%, max = 4Gi)\n}}\n"
    );
    let proxy = Proxy::start(&prom.url)?;
    proxy.set_up(false);
    let c = Controller::start_with(
        env,
        turn,
        Start {
            policy: Some(&policy),
            prometheus: Some(&proxy.url),
            ..Start::default()
        },
    )?;
    let probes = c.probes().await?;
    within_30s(&c, "the query failure to be logged", || async {
        Ok(c.log().contains("the query failed"))
    })
    .await?;
    // Some ticks with Prometheus down, while the series says full.
    prom.exporter
        .set("run-down", &exporter_text(metric, &[(&ns, "data", 0.9)]));
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(http_get(&probes, "/healthz")?, 200);
    assert_eq!(http_get(&probes, "/readyz")?, 200);
    assert_eq!(http_get(&probes, "/nope")?, 404);
    // Said once, but counted every time.
    let (code, metrics) = http_get_body(&probes, "/metrics")?;
    assert_eq!(code, 200);
    let failed: f64 = metrics
        .lines()
        .find(|l| {
            l.starts_with("autopilot_query_errors_total{")
                && l.contains("binding=\"pvc.down_fill\"")
        })
        .and_then(|l| l.rsplit(' ').next()?.parse().ok())
        .ok_or_else(|| format!("no query error series in:\n{metrics}"))?;
    assert!(
        failed >= 2.0,
        "every failed query is counted: {failed}\n{metrics}"
    );
    let log = c.log();
    assert_eq!(
        log.matches("the query failed").count(),
        1,
        "a failure is said once:\n{log}"
    );
    let now = fixtures::get_pvc(client, &ns, "data").await?;
    assert_eq!(
        fixtures::resource_version(&now),
        fixtures::resource_version(&data),
        "nothing is written while Prometheus is down"
    );

    // Up again, but the series is gone: no data, no write.
    prom.exporter.set("run-down", &exporter_text(metric, &[]));
    tokio::time::sleep(Duration::from_secs(2)).await;
    proxy.set_up(true);
    within_30s(&c, "the recovery to be logged", || async {
        Ok(c.log().contains("the query answers again"))
    })
    .await?;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let now = fixtures::get_pvc(client, &ns, "data").await?;
    assert_eq!(fixtures::requested(&now), "1Gi", "no data writes nothing");
    assert_eq!(http_get(&probes, "/healthz")?, 200);
    c.stop()
}

/// A StorageClass without expansion: no write, and a Warning Event.
async fn a_class_without_expansion_is_skipped_with_a_warning(env: &Env) -> TestResult {
    let turn = take_turn().await;
    let client = &env.kube()?.admin;
    let ns = fixtures::namespace(client, "run-fixed").await?;
    fixtures::storage_class(client, "run-fixed-class", Some(false)).await?;
    let data = fixtures::bound_pvc(client, &ns, "data", "run-fixed-class", "1Gi").await?;
    let policy = format!(
        "policy grow {{\n  on pvc where pvc.namespace == \"{ns}\"\n  when pvc.requested > 0Gi\n  \
         then resize(+100%, max = 4Gi)\n}}\n"
    );
    let c = Controller::start(env, turn, &policy)?;
    within_30s(&c, "a ResizeSkipped Warning", || async {
        let events = fixtures::events_about(client, &ns, "data").await?;
        Ok(events.iter().any(|e| {
            e.reason.as_deref() == Some("ResizeSkipped") && e.type_.as_deref() == Some("Warning")
        }))
    })
    .await?;
    let now = fixtures::get_pvc(client, &ns, "data").await?;
    assert_eq!(
        fixtures::apart_from_state(&now),
        fixtures::apart_from_state(&data)
    );
    c.stop()
}

/// `--dry-run`: Events that say what would have happened, and no write.
async fn dry_run_writes_nothing_but_events(env: &Env) -> TestResult {
    let turn = take_turn().await;
    let client = &env.kube()?.admin;
    let ns = fixtures::namespace(client, "run-dry").await?;
    fixtures::storage_class(client, "run-dry-expand", Some(true)).await?;
    let data = fixtures::bound_pvc(client, &ns, "data", "run-dry-expand", "1Gi").await?;
    let policy = format!(
        "policy grow {{\n  on pvc where pvc.namespace == \"{ns}\"\n  when pvc.requested > 0Gi\n  \
         then resize(+100%, max = 4Gi), annotate(\"autopilot.rs/seen\", \"yes\")\n}}\n"
    );
    let c = Controller::start_with(
        env,
        turn,
        Start {
            policy: Some(&policy),
            args: &["--dry-run"],
            ..Start::default()
        },
    )?;
    within_30s(&c, "a DryRun event", || async {
        has_event(client, &ns, "data", "DryRun").await
    })
    .await?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let events = fixtures::events_about(client, &ns, "data").await?;
    let notes: Vec<String> = events.iter().filter_map(|e| e.note.clone()).collect();
    assert!(
        notes.iter().any(|n| n.contains("would resize")),
        "{notes:?}"
    );
    let now = fixtures::get_pvc(client, &ns, "data").await?;
    assert_eq!(
        fixtures::apart_from_state(&now),
        fixtures::apart_from_state(&data),
        "a dry run writes nothing but Events and state"
    );
    let state = fixtures::state_of(&now).ok_or("no state annotation")?;
    assert_eq!(
        state["policies"][0]["state"], "cooldown",
        "a dry run starts the cooldown: {state}"
    );
    c.stop()
}

/// Two clusters' series in one Prometheus: with `cluster="eu-1"` injected
/// the query sees one series per claim; without, two would name it (an
/// error, no action). So a resize proves the matcher reached Prometheus.
async fn the_configured_label_matcher_reaches_prometheus(env: &Env) -> TestResult {
    let turn = take_turn().await;
    let client = &env.kube()?.admin;
    let prom = env.prometheus()?;
    let ns = fixtures::namespace(client, "run-match").await?;
    fixtures::storage_class(client, "run-match-expand", Some(true)).await?;
    fixtures::bound_pvc(client, &ns, "data", "run-match-expand", "1Gi").await?;
    let metric = "autopilot_e2e_match_fill";
    prom.exporter.set(
        "run-match",
        &format!(
            "# TYPE {metric} gauge\n\
             {metric}{{cluster=\"eu-1\",namespace=\"{ns}\",persistentvolumeclaim=\"data\"}} 0.9\n\
             {metric}{{cluster=\"us-1\",namespace=\"{ns}\",persistentvolumeclaim=\"data\"}} 0.1\n"
        ),
    );
    let policy = format!(
        "metric pvc.match_fill : percent = `{metric} * 100`\n\
         policy grow {{\n  on pvc where pvc.namespace == \"{ns}\"\n  when pvc.match_fill > 50%\n  \
         then resize(+100%, max = 4Gi)\n}}\n"
    );
    let config = "prometheus:\n  matchers: ['cluster=\"eu-1\"']\n";
    let c = Controller::start_with(
        env,
        turn,
        Start {
            policy: Some(&policy),
            config: Some(config),
            ..Start::default()
        },
    )?;
    within_30s(&c, "the eu-1 series to grow the claim", || async {
        let pvc = fixtures::get_pvc(client, &ns, "data").await?;
        Ok(fixtures::requested(&pvc) == "2Gi")
    })
    .await?;
    c.stop()
}

/// `notify` through `autopilot run` to a receiver of the configuration that
/// answers 500, then 429 with Retry-After, then 200.
async fn notify_reaches_its_receiver_through_500_and_429(env: &Env) -> TestResult {
    let turn = take_turn().await;
    let client = &env.kube()?.admin;
    let ns = fixtures::namespace(client, "run-notify").await?;
    fixtures::pending_pvc(client, &ns, "data", "none", "1Gi").await?;
    let hook = Webhook::start(&[(500, None), (429, Some(1))])?;
    let policy = format!(
        "policy tell {{\n  on pvc where pvc.namespace == \"{ns}\"\n  when pvc.requested > 0Gi\n  \
         then notify(\"oncall\", \"{{pvc.name}} needs a look\")\n}}\n"
    );
    let secret_path = "/hooks/T000/SECRET-TOKEN";
    let config = format!(
        "notify:\n  oncall: {{url: \"http://{}{secret_path}\", format: slack}}\n",
        hook.addr
    );
    let c = Controller::start_with(
        env,
        turn,
        Start {
            policy: Some(&policy),
            config: Some(&config),
            ..Start::default()
        },
    )?;
    within_30s(&c, "a Notified event", || async {
        has_event(client, &ns, "data", "Notified").await
    })
    .await?;
    let bodies = hook.bodies();
    assert_eq!(bodies.len(), 3, "500 and 429 are retried: {bodies:?}");
    for body in &bodies {
        let v: serde_json::Value = serde_json::from_str(body)?;
        assert_eq!(v, json!({"text": "data needs a look"}));
    }
    let log = c.log();
    assert!(
        !log.contains("SECRET-TOKEN"),
        "the webhook URL is a secret:\n{log}"
    );
    c.stop()
}

/// The Lease's holder in `ns`.
async fn holder(client: &Client, ns: &str) -> TestResult<Option<String>> {
    let leases: Api<Lease> = Api::namespaced(client.clone(), ns);
    Ok(leases
        .get_opt("autopilot")
        .await?
        .and_then(|l| l.spec)
        .and_then(|s| s.holder_identity))
}

/// The reporting instances of `reason` Events about `name`.
async fn reporters(client: &Client, ns: &str, name: &str, reason: &str) -> TestResult<Vec<String>> {
    let events = fixtures::events_about(client, ns, name).await?;
    Ok(events
        .into_iter()
        .filter(|e| e.reason.as_deref() == Some(reason))
        .map(|e| e.reporting_instance.unwrap_or_default())
        .collect())
}

/// Two replicas on one Lease: only the holder acts; killed, the other takes
/// over within the Lease's 15 s and acts on the next trigger.
async fn two_replicas_one_acts_and_the_other_takes_over(env: &Env) -> TestResult {
    let turn = take_turn().await;
    let client = &env.kube()?.admin;
    let ns = fixtures::namespace(client, "run-lease").await?;
    fixtures::pending_pvc(client, &ns, "first", "none", "1Gi").await?;
    let policy = format!(
        "policy mark {{\n  on pvc where pvc.namespace == \"{ns}\"\n  when pvc.requested > 0Gi\n  \
         then annotate(\"autopilot.rs/mark\", \"yes\")\n}}\n"
    );
    let replica = |identity: &'static str| Start {
        policy: Some(&policy),
        elect: true,
        args: match identity {
            "a" => &["--namespace", "run-lease", "--identity", "a"],
            _ => &["--namespace", "run-lease", "--identity", "b"],
        },
        ..Start::default()
    };
    // The case keeps its turn: `a` is killed while `b` still runs.
    let _turn = turn;
    let a = Controller::start_with(env, None, replica("a"))?;
    within_30s(&a, "replica a to hold the Lease", || async {
        Ok(holder(client, &ns).await?.as_deref() == Some("a"))
    })
    .await?;
    let b = Controller::start_with(env, None, replica("b"))?;
    within_30s(&a, "the leader to act", || async {
        Ok(annotation(client, &ns, "first", "autopilot.rs/mark").await? == Some("yes".into()))
    })
    .await?;
    // A few ticks of both: the standby writes nothing.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(reporters(client, &ns, "first", "Annotated").await?, ["a"]);
    assert_eq!(holder(client, &ns).await?.as_deref(), Some("a"));

    a.kill();
    let killed = Instant::now();
    fixtures::pending_pvc(client, &ns, "second", "none", "1Gi").await?;
    within_30s(&b, "replica b to take the Lease", || async {
        Ok(holder(client, &ns).await?.as_deref() == Some("b"))
    })
    .await?;
    within_30s(&b, "the new leader to act", || async {
        Ok(annotation(client, &ns, "second", "autopilot.rs/mark").await? == Some("yes".into()))
    })
    .await?;
    let took = killed.elapsed();
    assert!(
        took < Duration::from_secs(15 + 2 + 2),
        "failover took {took:?}: past the Lease's 15 s and two ticks"
    );
    assert_eq!(reporters(client, &ns, "second", "Annotated").await?, ["b"]);
    // The new leader read the old one's cooldown on "first" from its state
    // annotation: no second write for that firing.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        reporters(client, &ns, "first", "Annotated").await?,
        ["a"],
        "the new leader acted again where the old one had\n{}",
        b.log()
    );
    eprintln!("failover took {took:?}");
    b.stop()
}

/// `deploy/`'s namespace, ServiceAccount, RBAC and CRD applied, and a
/// kubeconfig for that ServiceAccount in `dir`: the controller runs with the
/// rights it is deployed with (its `--namespace` is then `autopilot-system`).
pub async fn as_deployed(env: &Env, dir: &std::path::Path) -> TestResult<PathBuf> {
    let client = &env.kube()?.admin;
    for (file, doc) in crate::deploy::manifests()? {
        if ["namespace.yaml", "serviceaccount.yaml", "rbac.yaml"].contains(&file.as_str()) {
            crate::deploy::apply(client, &doc).await?;
        }
    }
    crate::status::install_crd(client).await?;
    service_account_kubeconfig(env, dir).await
}

/// A kubeconfig for the `autopilot` ServiceAccount of `deploy/`, with a
/// token from the TokenRequest API, beside the admin's.
async fn service_account_kubeconfig(env: &Env, dir: &std::path::Path) -> TestResult<PathBuf> {
    let kube = env.kube()?;
    let accounts: Api<ServiceAccount> = Api::namespaced(kube.admin.clone(), "autopilot-system");
    let request: TokenRequest = serde_json::from_value(json!({
        "spec": {"audiences": [], "expirationSeconds": 3600}
    }))?;
    let answer: TokenRequest = accounts
        .create_subresource("token", "autopilot", &PostParams::default(), &request)
        .await?;
    let token = answer
        .status
        .map(|s| s.token)
        .ok_or("no token in the answer")?;
    let admin: Value = serde_saphyr::from_str(&std::fs::read_to_string(&kube.kubeconfig)?)?;
    let config = json!({
        "apiVersion": "v1", "kind": "Config",
        "clusters": admin["clusters"],
        "users": [{"name": "autopilot", "user": {"token": token}}],
        "contexts": [{"name": "autopilot", "context": {"cluster": "e2e", "user": "autopilot"}}],
        "current-context": "autopilot",
    });
    let path = dir.join("autopilot-sa.kubeconfig");
    std::fs::write(&path, serde_json::to_string_pretty(&config)?)?;
    Ok(path)
}

/// The controller as the ServiceAccount of `deploy/`, not as admin: the
/// rights there suffice to watch, elect, resize and record; with `patch` on
/// claims taken away, the log names the missing permission.
async fn the_deployed_rbac_suffices_and_a_missing_rule_is_named(env: &Env) -> TestResult {
    let turn = take_turn().await;
    let client = &env.kube()?.admin;
    let prom = env.prometheus()?;
    for (file, doc) in crate::deploy::manifests()? {
        if ["namespace.yaml", "serviceaccount.yaml", "rbac.yaml"].contains(&file.as_str()) {
            crate::deploy::apply(client, &doc).await?;
        }
    }
    let dir = tempfile::tempdir()?;
    let kubeconfig = service_account_kubeconfig(env, dir.path()).await?;
    let ns = fixtures::namespace(client, "run-rbac").await?;
    fixtures::storage_class(client, "run-rbac-expand", Some(true)).await?;
    fixtures::bound_pvc(client, &ns, "data", "run-rbac-expand", "1Gi").await?;
    let metric = "autopilot_e2e_rbac_fill";
    prom.exporter
        .set("run-rbac", &exporter_text(metric, &[(&ns, "data", 0.9)]));
    let policy = format!(
        "metric pvc.rbac_fill : percent = `{metric} * 100`\n\
         policy grow {{\n  on pvc where pvc.namespace == \"{ns}\"\n  when pvc.rbac_fill > 50%\n  \
         then resize(+100%, max = 4Gi)\n  cooldown 2s\n}}\n"
    );
    let c = Controller::start_with(
        env,
        turn,
        Start {
            policy: Some(&policy),
            elect: true,
            args: &["--namespace", "autopilot-system", "--identity", "rbac"],
            kubeconfig: Some(&kubeconfig),
            ..Start::default()
        },
    )?;
    within_30s(
        &c,
        "the request to double as the ServiceAccount",
        || async {
            let pvc = fixtures::get_pvc(client, &ns, "data").await?;
            Ok(fixtures::requested(&pvc) == "2Gi")
        },
    )
    .await?;
    within_30s(&c, "a VolumeResized event", || async {
        has_event(client, &ns, "data", "VolumeResized").await
    })
    .await?;
    assert_eq!(
        holder(client, "autopilot-system").await?.as_deref(),
        Some("rbac")
    );

    // Take `patch` on claims away; the next resize is refused, and said so.
    let roles: Api<ClusterRole> = Api::all(client.clone());
    let mut role = roles.get("autopilot").await?;
    for rule in role.rules.iter_mut().flatten() {
        let claims = rule
            .resources
            .iter()
            .flatten()
            .any(|r| r == "persistentvolumeclaims");
        if claims {
            rule.verbs.retain(|v| v != "patch");
        }
    }
    roles
        .replace("autopilot", &PostParams::default(), &role)
        .await?;
    fixtures::set_status(client, &ns, "data", "Bound", "2Gi").await?;
    let wanted = format!("missing permission: patch persistentvolumeclaims in namespace {ns}");
    within_30s(&c, "the missing permission to be named", || async {
        Ok(c.log().contains(&wanted))
    })
    .await?;
    let pvc = fixtures::get_pvc(client, &ns, "data").await?;
    assert_eq!(
        fixtures::requested(&pvc),
        "2Gi",
        "nothing was written without the right"
    );
    // Put the rule back for the other cases.
    for (file, doc) in crate::deploy::manifests()? {
        if file == "rbac.yaml" {
            crate::deploy::apply(client, &doc).await?;
        }
    }
    c.stop()
}

/// One of each action that writes to the cluster, by the controller running
/// as the ServiceAccount of `deploy/`: resize, set_class, annotate, label
/// and event on a claim, scale on a deployment, evict on a pod, cordon on a
/// node.
async fn every_action_runs_as_the_service_account(env: &Env) -> TestResult {
    let turn = take_turn().await;
    let client = &env.kube()?.admin;
    let dir = tempfile::tempdir()?;
    let kubeconfig = as_deployed(env, dir.path()).await?;
    let ns = fixtures::namespace(client, "run-every").await?;
    fixtures::storage_class(client, "run-every-expand", Some(true)).await?;
    fixtures::bound_pvc(client, &ns, "data", "run-every-expand", "1Gi").await?;
    let vac: VolumeAttributesClass = serde_json::from_value(json!({
        "metadata": {"name": "run-every-fast"},
        "driverName": "e2e.autopilot.rs/none",
        "parameters": {"iops": "16000"}
    }))?;
    Api::<VolumeAttributesClass>::all(client.clone())
        .create(&PostParams::default(), &vac)
        .await?;
    fixtures::deployment(client, &ns, "web", 1).await?;
    let sa: ServiceAccount = serde_json::from_value(json!({"metadata": {"name": "default"}}))?;
    Api::<ServiceAccount>::namespaced(client.clone(), &ns)
        .create(&PostParams::default(), &sa)
        .await?;
    let pod: Pod = serde_json::from_value(json!({
        "metadata": {"name": "worker"},
        "spec": {
            "automountServiceAccountToken": false,
            "containers": [{"name": "c", "image": "registry.invalid/none"}]
        }
    }))?;
    let pods: Api<Pod> = Api::namespaced(client.clone(), &ns);
    fixtures::eventually("the pod to be admitted", || async {
        pods.create(&PostParams::default(), &pod).await.is_ok()
    })
    .await?;
    let status = json!({"status": {"phase": "Running"}});
    pods.patch_status("worker", &PatchParams::default(), &Patch::Merge(status))
        .await?;
    let node_name = format!("{ns}-node");
    let node: Node = serde_json::from_value(json!({"metadata": {"name": node_name}}))?;
    let nodes: Api<Node> = Api::all(client.clone());
    nodes.create(&PostParams::default(), &node).await?;
    let policy = format!(
        "policy claims {{\n  on pvc where pvc.namespace == \"{ns}\"\n  when pvc.requested > 0Gi\n  \
         then resize(+100%, max = 2Gi), set_class(\"run-every-fast\"), \
         annotate(\"autopilot.rs/seen\", \"yes\"), label(\"seen\", \"yes\"), \
         event(\"Checked\", \"seen\")\n  cooldown 1h\n}}\n\
         policy web {{\n  on deployment where deployment.namespace == \"{ns}\"\n  \
         when deployment.replicas < 2\n  then scale(to = 2, max = 3)\n  cooldown 1h\n}}\n\
         policy worker {{\n  on pod where pod.namespace == \"{ns}\"\n  when pod.phase == \"Running\"\n  \
         then evict()\n  cooldown 1h\n}}\n\
         policy drain {{\n  on node where node.name == \"{node_name}\"\n  \
         when node.unschedulable == false\n  then cordon()\n  cooldown 1h\n}}\n"
    );
    let c = Controller::start_with(
        env,
        turn,
        Start {
            policy: Some(&policy),
            args: &["--namespace", "autopilot-system"],
            kubeconfig: Some(&kubeconfig),
            ..Start::default()
        },
    )?;
    within_30s(&c, "every action carried out", || async {
        let pvc = fixtures::get_pvc(client, &ns, "data").await?;
        let claim = fixtures::requested(&pvc) == "2Gi"
            && pvc
                .spec
                .as_ref()
                .and_then(|s| s.volume_attributes_class_name.as_deref())
                == Some("run-every-fast")
            && pvc
                .metadata
                .labels
                .as_ref()
                .and_then(|l| l.get("seen"))
                .map(String::as_str)
                == Some("yes")
            && pvc
                .metadata
                .annotations
                .as_ref()
                .and_then(|a| a.get("autopilot.rs/seen"))
                .map(String::as_str)
                == Some("yes");
        let web = Api::<Deployment>::namespaced(client.clone(), &ns)
            .get("web")
            .await?;
        let scaled = web.spec.replicas == Some(2);
        let evicted = pods.get_opt("worker").await?.is_none();
        let cordoned = nodes
            .get(&node_name)
            .await?
            .spec
            .and_then(|s| s.unschedulable)
            == Some(true);
        let event = has_event(client, &ns, "data", "Checked").await?;
        Ok(claim && scaled && evicted && cordoned && event)
    })
    .await?;
    assert!(!c.log().contains("missing permission"), "{}", c.log());
    c.stop()
}
