//! `autopilot repl --prometheus URL` as users script it: the built binary,
//! stdin piped, against the real Prometheus scraping the test's exporter.
//! Regenerate the snapshot with `INSTA_UPDATE=always cargo test --test e2e -- repl`.

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use autopilot::cluster::prometheus::Prometheus;

use crate::support::Env;
use crate::{BOTH, Case, PROMETHEUS, TestResult, case, fixtures};

pub fn cases() -> Vec<Case> {
    vec![
        case!("repl", PROMETHEUS, a_live_session_reads_prometheus),
        case!("repl", BOTH, with_a_kubeconfig_the_objects_are_the_clusters),
    ]
}

fn repl(url: &str, more: &[String], script: &str) -> TestResult<(String, String)> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_autopilot"))
        .args(["repl", "--prometheus", url])
        .args(more)
        .env("COLUMNS", "100")
        .env("NO_COLOR", "1")
        .env_remove("XDG_STATE_HOME")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    child
        .stdin
        .take()
        .ok_or("stdin is piped")?
        .write_all(script.as_bytes())?;
    let out = child.wait_with_output()?;
    if !out.status.success() {
        return Err(format!("repl failed: {out:?}").into());
    }
    Ok((
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    ))
}

async fn a_live_session_reads_prometheus(env: &Env) -> TestResult {
    let prom = env.prometheus()?;
    // Before the series exists: `:at` this time has no data.
    let before = jiff::Timestamp::now() - jiff::SignedDuration::from_secs(1);
    prom.exporter.set(
        "repl",
        "# TYPE autopilot_e2e_repl_fill gauge\n\
         autopilot_e2e_repl_fill{namespace=\"db\",persistentvolumeclaim=\"full\"} 0.75\n\
         autopilot_e2e_repl_fill{namespace=\"db\",persistentvolumeclaim=\"low\"} 0.25\n",
    );
    let p = Prometheus::with_timeout(&prom.url, Duration::from_secs(5))?;
    let deadline = Instant::now() + Duration::from_secs(30);
    while p.query("autopilot_e2e_repl_fill", None).await?.len() < 2 {
        if Instant::now() > deadline {
            return Err("no sample of autopilot_e2e_repl_fill after 30s".into());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let script = format!(
        "metric pvc.fill : percent = `100 * autopilot_e2e_repl_fill`\n\
         pvc.fill\n\
         pvc.fill > 50%\n\
         pvc.nope\n\
         :at {before:.0}\n\
         pvc.fill\n\
         :at now\n\
         pvc.fill > 50%\n"
    );
    let url = prom.url.clone();
    let (stdout, stderr) = tokio::task::spawn_blocking(move || repl(&url, &[], &script)).await??;
    assert_eq!(stderr, "");
    let times = regex::Regex::new(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z")?;
    let redacted = times
        .replace_all(&stdout, "[TIME]")
        .replace(&prom.url, "[URL]");
    insta::assert_snapshot!("live_session", redacted);
    Ok(())
}

/// Objects from the cluster: a claim without a series is listed too (no
/// data), and its fields and its namespace's labels come from the API server. The cluster is shared,
/// so only this test's namespace is kept.
async fn with_a_kubeconfig_the_objects_are_the_clusters(env: &Env) -> TestResult {
    const NS: &str = "repl-live";
    let prom = env.prometheus()?;
    let kube = env.kube()?;
    let client = &kube.admin;
    fixtures::namespace(client, NS).await?;
    fixtures::storage_class(client, "repl-live", Some(true)).await?;
    fixtures::bound_pvc(client, NS, "full", "repl-live", "10Gi").await?;
    fixtures::pending_pvc(client, NS, "quiet", "repl-live", "1Gi").await?;
    prom.exporter.set(
        "repl-kube",
        "# TYPE autopilot_e2e_repl_kube gauge\n\
         autopilot_e2e_repl_kube{namespace=\"repl-live\",persistentvolumeclaim=\"full\"} 0.9\n",
    );
    let p = Prometheus::with_timeout(&prom.url, Duration::from_secs(5))?;
    let deadline = Instant::now() + Duration::from_secs(30);
    while p.query("autopilot_e2e_repl_kube", None).await?.is_empty() {
        if Instant::now() > deadline {
            return Err("no sample of autopilot_e2e_repl_kube after 30s".into());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let script = "metric pvc.kfill : percent = `100 * autopilot_e2e_repl_kube`\n\
                  pvc.kfill > 50%\n\
                  pvc.capacity\n\
                  pvc.kfill > 50% and namespace.labels[\"kubernetes.io/metadata.name\"] == \"repl-live\"\n";
    let url = prom.url.clone();
    let more = vec![
        "--kubeconfig".to_string(),
        kube.kubeconfig.display().to_string(),
    ];
    let (stdout, stderr) = tokio::task::spawn_blocking(move || repl(&url, &more, script)).await??;
    assert_eq!(stderr, "");
    assert!(stdout.contains("objects: the cluster now"), "{stdout}");
    // Column widths follow the other tests' objects too: one gap.
    let gap = regex::Regex::new(r"  +")?;
    let kept: Vec<String> = stdout
        .lines()
        .filter(|l| l.starts_with("pvc/repl-live/") || *l == "defined")
        .map(|l| gap.replace_all(l, "  ").into_owned())
        .collect();
    insta::assert_snapshot!("kubeconfig_session", kept.join("\n"));
    Ok(())
}
