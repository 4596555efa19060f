//! Approvals end to end: a policy in `mode approve` asks through an
//! ActionApproval, a person answers with `autopilot approve|decline`, and
//! the controller acts only on the plan that was approved.

use std::time::Duration;

use k8s_openapi::api::core::v1::PersistentVolumeClaim;
use kube::api::{Api, Patch, PatchParams};
use serde_json::json;

use autopilot::cluster::approval::{ActionApproval, ApprovalDecision};

use crate::fixtures;
use crate::run::{Controller, Start, as_deployed, exporter_text, has_event, take_turn, within_30s};
use crate::status::{autopilot, install_crd};
use crate::support::Env;
use crate::{BOTH, Case, TestResult, case};

pub fn cases() -> Vec<Case> {
    vec![case!(
        "approve",
        BOTH,
        an_approved_plan_runs_a_moved_one_is_asked_again_a_declined_one_holds
    )]
}

/// The request for `object`, if there is one.
async fn request_for(
    approvals: &Api<ActionApproval>,
    object: &str,
) -> TestResult<Option<ActionApproval>> {
    let list = approvals.list(&Default::default()).await?;
    Ok(list.items.into_iter().find(|a| a.spec.object == object))
}

fn name(a: &ActionApproval) -> String {
    a.metadata.name.clone().unwrap_or_default()
}

async fn an_approved_plan_runs_a_moved_one_is_asked_again_a_declined_one_holds(
    env: &Env,
) -> TestResult {
    let _turn = take_turn().await;
    let kube = env.kube()?;
    let client = &kube.admin;
    install_crd(client).await?;
    let dir = tempfile::tempdir()?;
    let service_account = as_deployed(env, dir.path()).await?;
    let ns = fixtures::namespace(client, "approve").await?;
    fixtures::storage_class(client, "approve-expand", Some(true)).await?;
    for pvc in ["data", "other"] {
        fixtures::bound_pvc(client, &ns, pvc, "approve-expand", "1Gi").await?;
    }
    let metric = "autopilot_e2e_approve_fill";
    let exporter = &env.prometheus()?.exporter;
    let fill = |data: f64, other: f64| {
        exporter_text(metric, &[(&ns, "data", data), (&ns, "other", other)])
    };
    exporter.set("approve", &fill(0.9, 0.9));
    let policy = format!(
        "metric pvc.approve_fill : percent = `{metric} * 100`\n\
         policy ask {{\n  on pvc where pvc.namespace == \"{ns}\"\n  when pvc.approve_fill > 50%\n  \
         then resize(+100%, max = 8Gi)\n  cooldown 1h\n  mode approve\n}}\n"
    );
    let c = Controller::start_with(
        env,
        None,
        Start {
            policy: Some(&policy),
            // As deployed: the ServiceAccount's rights suffice.
            args: &["--namespace", "autopilot-system"],
            kubeconfig: Some(&service_account),
            ..Start::default()
        },
    )?;
    let approvals: Api<ActionApproval> = Api::namespaced(client.clone(), &ns);
    let (data_id, other_id) = (format!("pvc/{ns}/data"), format!("pvc/{ns}/other"));
    within_30s(&c, "two pending requests", || async {
        let data = request_for(&approvals, &data_id).await?;
        let other = request_for(&approvals, &other_id).await?;
        Ok(data.is_some() && other.is_some())
    })
    .await?;
    let data = request_for(&approvals, &data_id)
        .await?
        .ok_or("no request")?;
    assert_eq!(data.spec.decision, ApprovalDecision::Pending);
    assert_eq!(data.spec.action, "resize 1Gi → 2Gi");
    assert_eq!(data.spec.policy, "ask");
    let owner = data.metadata.owner_references.clone().unwrap_or_default();
    assert_eq!(
        owner.first().map(|o| o.kind.as_str()),
        Some("PersistentVolumeClaim"),
        "owned by its claim"
    );
    assert!(has_event(client, &ns, "data", "ApprovalRequested").await?);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let pvc = fixtures::get_pvc(client, &ns, "data").await?;
    assert_eq!(fixtures::requested(&pvc), "1Gi", "nothing before approval");

    // The claim is grown by hand before the approval: the plan moved, so the
    // approval of the old one is not acted on and a new request replaces it.
    let pvcs: Api<PersistentVolumeClaim> = Api::namespaced(client.clone(), &ns);
    let grow = json!({"spec": {"resources": {"requests": {"storage": "2Gi"}}}});
    pvcs.patch("data", &PatchParams::default(), &Patch::Merge(&grow))
        .await?;
    fixtures::set_status(client, &ns, "data", "Bound", "2Gi").await?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let kubeconfig = &kube.kubeconfig;
    let out = autopilot(kubeconfig, &["approve", &name(&data), "-n", &ns])?;
    assert!(out.status.success(), "{out:?}");
    within_30s(&c, "the request replaced with the new plan", || async {
        let now = request_for(&approvals, &data_id).await?;
        Ok(now.is_some_and(|a| {
            a.spec.action == "resize 2Gi → 4Gi" && a.spec.decision == ApprovalDecision::Pending
        }))
    })
    .await?;
    let pvc = fixtures::get_pvc(client, &ns, "data").await?;
    assert_eq!(
        fixtures::requested(&pvc),
        "2Gi",
        "the stale approval did nothing"
    );

    // Approved as it stands: it runs, and the request is collected.
    let out = autopilot(kubeconfig, &["approve", &name(&data), "-n", &ns])?;
    assert!(out.status.success(), "{out:?}");
    within_30s(&c, "the approved resize, and its request gone", || async {
        let pvc = fixtures::get_pvc(client, &ns, "data").await?;
        let gone = request_for(&approvals, &data_id).await?.is_none();
        Ok(fixtures::requested(&pvc) == "4Gi" && gone)
    })
    .await?;

    // Declined: nothing, and the request stands until the condition clears.
    let other = request_for(&approvals, &other_id)
        .await?
        .ok_or("no request")?;
    let out = autopilot(kubeconfig, &["decline", &name(&other), "-n", &ns])?;
    assert!(out.status.success(), "{out:?}");
    tokio::time::sleep(Duration::from_secs(3)).await;
    let pvc = fixtures::get_pvc(client, &ns, "other").await?;
    assert_eq!(fixtures::requested(&pvc), "1Gi", "declined: no action");
    let still = request_for(&approvals, &other_id)
        .await?
        .ok_or("collected too early")?;
    assert_eq!(still.spec.decision, ApprovalDecision::Declined);
    exporter.set("approve", &fill(0.9, 0.1));
    within_30s(
        &c,
        "the declined request collected once the condition cleared",
        || async { Ok(request_for(&approvals, &other_id).await?.is_none()) },
    )
    .await?;
    let pvc = fixtures::get_pvc(client, &ns, "other").await?;
    assert_eq!(fixtures::requested(&pvc), "1Gi");
    c.stop()
}
