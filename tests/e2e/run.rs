//! `autopilot run` started as a process, as users run it, against the real
//! API server and a real Prometheus scraping the test's exporter.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::fixtures;
use crate::support::Env;
use crate::{BOTH, Case, TestResult, case};

pub fn cases() -> Vec<Case> {
    vec![case!(
        "run",
        BOTH,
        the_card_policy_grows_a_live_volume_up_to_max
    )]
}

/// The controller as a child process; stopped (SIGTERM, then SIGKILL) when
/// dropped, and its log kept for failure messages.
struct Controller {
    child: Child,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl Controller {
    fn start(env: &Env, policy: &str) -> TestResult<Controller> {
        let kube = env.kube()?;
        let prom = env.prometheus()?;
        let dir = tempfile::tempdir()?;
        let policies = dir.path().join("policies");
        std::fs::create_dir(&policies)?;
        std::fs::write(policies.join("policy.apr"), policy)?;
        let log = dir.path().join("autopilot.log");
        let child = Command::new(env!("CARGO_BIN_EXE_autopilot"))
            .args(["run", "--policies"])
            .arg(&policies)
            .arg("--kubeconfig")
            .arg(&kube.kubeconfig)
            .args(["--prometheus", &prom.url, "--interval", "1s"])
            .arg("--no-leader-election")
            .env("AUTOPILOT_LOG", "info")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log)?)
            .spawn()?;
        Ok(Controller {
            child,
            log,
            _dir: dir,
        })
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// SIGTERM, as Kubernetes stops a pod: it must exit 0 within 10 s.
    fn stop(mut self) -> TestResult {
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
async fn within_30s<F, Fut>(c: &Controller, what: &str, mut check: F) -> TestResult
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
    let c = Controller::start(env, &policy)?;

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
