//! `autopilot status`, `approve` and `decline` run as processes, as users run
//! them, against the real API server with deploy/crd.yaml applied.

use std::path::Path;
use std::process::{Command, Output};

use autopilot::cluster::approval::{self, ActionApproval, ApprovalDecision, Request};
use autopilot::cluster::state::ANNOTATION;
use autopilot::engine::{ObjectId, Planned};
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::PersistentVolumeClaim;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::Client;
use kube::api::{Api, Patch, PatchParams, PostParams};
use serde_json::{Value, json};

use crate::fixtures::{self, GI};
use crate::support::Env;
use crate::{Case, KUBE, TestResult, case};

pub fn cases() -> Vec<Case> {
    vec![case!(
        "status",
        KUBE,
        status_shows_states_and_approvals_and_approve_decides
    )]
}

const NS: &str = "status";
const SOURCE: &str = "configmap status/policies";
const MIN: i64 = 60_000;

/// deploy/crd.yaml applied, once it is Established.
pub async fn install_crd(client: &Client) -> TestResult {
    let docs = crate::deploy::manifests()?;
    let (_, crd) = docs
        .iter()
        .find(|(file, _)| file == "crd.yaml")
        .ok_or("deploy/crd.yaml holds no document")?;
    crate::deploy::apply(client, crd).await?;
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    fixtures::eventually("the ActionApproval CRD to be Established", || async {
        let Ok(crd) = crds.get("actionapprovals.autopilot.rs").await else {
            return false;
        };
        crd.status
            .and_then(|s| s.conditions)
            .into_iter()
            .flatten()
            .any(|c| c.type_ == "Established" && c.status == "True")
    })
    .await?;
    // Established, the resource's storage may still be starting (a 429).
    let approvals: Api<ActionApproval> = Api::all(client.clone());
    fixtures::eventually("ActionApprovals to be listed", || async {
        approvals.list(&Default::default()).await.is_ok()
    })
    .await
}

pub fn autopilot(kubeconfig: &Path, args: &[&str]) -> TestResult<Output> {
    Ok(Command::new(env!("CARGO_BIN_EXE_autopilot"))
        .args(args)
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .env("NO_COLOR", "1")
        .output()?)
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn now() -> i64 {
    jiff::Timestamp::now().as_millisecond()
}

async fn annotated_pvc(client: &Client, name: &str, state: &str) -> TestResult {
    fixtures::pending_pvc(client, NS, name, "standard", "10Gi").await?;
    let patch = json!({"metadata": {"annotations": {ANNOTATION: state}}});
    Api::<PersistentVolumeClaim>::namespaced(client.clone(), NS)
        .patch(name, &PatchParams::default(), &Patch::Merge(patch))
        .await?;
    Ok(())
}

async fn request(client: &Client, object: &str, planned: &[Planned]) -> TestResult<String> {
    let object: ObjectId = object.parse()?;
    let a = approval::new_request(
        NS,
        Request {
            source: SOURCE,
            policy_key: "grow",
            policy: "grow",
            object: &object,
            planned,
            now: now(),
        },
    );
    let a = Api::<ActionApproval>::namespaced(client.clone(), NS)
        .create(&PostParams::default(), &a)
        .await?;
    Ok(a.metadata.name.unwrap_or_default())
}

/// The parts of the text about this case's namespace (other cases' objects
/// may be listed too), with ages redacted and columns joined by two spaces
/// (their widths follow the ages).
fn ours(text: &str) -> String {
    let age = regex::Regex::new(r"\b\d+[smhdy](\d+[smhd])?\b").expect("regex");
    let gap = regex::Regex::new(r" {2,}").expect("regex");
    let mut kept = Vec::new();
    for section in text.split("\n\n") {
        let mut lines = section.lines();
        let Some(head) = lines.next() else { continue };
        let keep_all = head.starts_with("leader") || head.starts_with("no leader");
        let policy = head.starts_with("policy ") && head.contains("(configmap status/");
        let listing = head == "invalid state" || head == "approvals";
        if keep_all || policy {
            kept.push(section.to_string());
        } else if listing {
            let rows: Vec<&str> = lines
                .enumerate()
                .filter(|(i, l)| *i == 0 || l.contains("/status/") || l.starts_with("status "))
                .map(|(_, l)| l)
                .collect();
            kept.push(format!("{head}\n{}", rows.join("\n")));
        }
    }
    let text = kept.join("\n\n");
    let text = age.replace_all(&text, "<age>");
    gap.replace_all(&text, "  ").trim_end().to_string()
}

async fn status_shows_states_and_approvals_and_approve_decides(env: &Env) -> TestResult {
    let kube = env.kube()?;
    let client = &kube.admin;
    let kubeconfig = &kube.kubeconfig;
    install_crd(client).await?;
    fixtures::namespace(client, NS).await?;
    let t = now();

    // No Lease yet: no leader, and no object of ours to show.
    let out = autopilot(kubeconfig, &["status", "--namespace", NS])?;
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).starts_with("no leader (no Lease status/autopilot)\n"),
        "{}",
        stdout(&out)
    );

    let lease: Lease = serde_json::from_value(json!({
        "metadata": {"name": "autopilot"},
        "spec": {
            "holderIdentity": "autopilot-e2e-0",
            "leaseDurationSeconds": 3600,
            "acquireTime": jiff::Timestamp::now().to_string(),
            "renewTime": jiff::Timestamp::now().to_string(),
        },
    }))?;
    Api::<Lease>::namespaced(client.clone(), NS)
        .create(&PostParams::default(), &lease)
        .await?;

    let waiting = format!(
        r#"{{"v":1,"policies":[{{"source":"{SOURCE}","policy":"grow","name":"grow","state":"awaiting_approval","since":{}}}]}}"#,
        t - 20 * MIN
    );
    let cooling = format!(
        r#"{{"v":1,"policies":[{{"source":"{SOURCE}","policy":"grow","name":"grow","state":"cooldown","until":{},"entered":{},"last":{{"action":"resize 10Gi → 20Gi","result":"applied","at":{}}}}}]}}"#,
        t + 30 * MIN,
        t - 30 * MIN,
        t - 30 * MIN
    );
    annotated_pvc(client, "data", &waiting).await?;
    annotated_pvc(client, "logs", &cooling).await?;
    annotated_pvc(client, "broken", "{not json").await?;
    let resize = [Planned::Resize {
        from: 10 * GI,
        to: 20 * GI,
    }];
    let pending = request(client, "pvc/status/data", &resize).await?;
    let other = request(client, "pvc/status/logs", &resize).await?;

    let out = autopilot(kubeconfig, &["status", "--namespace", NS])?;
    assert!(out.status.success(), "{}", stderr(&out));
    insta::assert_snapshot!(ours(&stdout(&out)));

    let out = autopilot(
        kubeconfig,
        &["status", "--namespace", NS, "--format", "json"],
    )?;
    assert!(out.status.success(), "{}", stderr(&out));
    let doc: Value = serde_json::from_slice(&out.stdout)?;
    assert_eq!(doc["leader"]["holder"], "autopilot-e2e-0");
    assert_eq!(doc["leader"]["current"], true);
    let group = doc["policies"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|g| g["source"] == SOURCE)
        .ok_or("no policy group for the case's source")?;
    assert_eq!(group["policy"], "grow");
    let objects = group["objects"].as_array().ok_or("objects")?;
    assert_eq!(objects.len(), 2, "{group}");
    assert_eq!(objects[0]["object"], "pvc/status/data");
    assert_eq!(objects[0]["state"], "awaiting_approval");
    assert_eq!(objects[0]["approval"], pending.as_str());
    assert_eq!(objects[1]["object"], "pvc/status/logs");
    assert_eq!(objects[1]["state"], "cooldown");
    assert_eq!(objects[1]["last"]["result"], "applied");
    assert!(
        doc["invalid"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|i| i["object"] == "pvc/status/broken"),
        "{doc}"
    );
    let ours_json: Vec<&Value> = doc["approvals"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|a| a["namespace"] == NS)
        .collect();
    assert_eq!(ours_json.len(), 2, "{doc}");
    assert!(ours_json.iter().all(|a| a["decision"] == "pending"));

    // approve, decline, and what they refuse.
    let approvals: Api<ActionApproval> = Api::namespaced(client.clone(), NS);
    let out = autopilot(kubeconfig, &["approve", &pending, "-n", NS])?;
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        format!("approved ActionApproval {NS}/{pending}: resize 10Gi → 20Gi on pvc/status/data\n")
    );
    assert_eq!(
        approvals.get(&pending).await?.spec.decision,
        ApprovalDecision::Approved
    );
    let out = autopilot(kubeconfig, &["decline", &other, "--namespace", NS])?;
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        approvals.get(&other).await?.spec.decision,
        ApprovalDecision::Declined
    );
    let out = autopilot(kubeconfig, &["decline", &pending, "-n", NS])?;
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out),
        format!("error: ActionApproval {NS}/{pending} is already approved\n")
    );
    assert_eq!(
        approvals.get(&pending).await?.spec.decision,
        ApprovalDecision::Approved
    );
    // The kubeconfig's context has no namespace: `default`.
    let out = autopilot(kubeconfig, &["approve", &pending])?;
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out),
        format!("error: no ActionApproval default/{pending}\n")
    );

    // An API server that is not there: one line, exit 2, no panic.
    let dir = tempfile::tempdir()?;
    let port = crate::support::process::free_port()?;
    let gone = dir.path().join("gone.kubeconfig");
    std::fs::write(
        &gone,
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: gone\n  cluster: {{server: 'http://127.0.0.1:{port}'}}\nusers:\n- name: u\n  user: {{token: x}}\ncontexts:\n- name: gone\n  context: {{cluster: gone, user: u}}\ncurrent-context: gone\n"
        ),
    )?;
    for args in [&["approve", "x"][..], &["status"][..]] {
        let out = autopilot(&gone, args)?;
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        let err = stderr(&out);
        assert!(
            err.starts_with("error: cannot reach the API server") && err.lines().count() == 1,
            "{args:?}: {err}"
        );
    }
    Ok(())
}
