//! Every executor of `autopilot::cluster::act` against the real API server:
//! what it writes, the preconditions it carries, and the outcome and Event
//! of each refusal.

use autopilot::cluster::act::Executor;
use autopilot::cluster::events::Events;
use autopilot::engine::{
    ActionOutcome, DeclineReason, FailureClass, Intent, IntentId, ObjectId, Planned, SkipReason,
};
use autopilot::ir::Kind;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Node, PersistentVolumeClaim, Pod, ServiceAccount};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::api::storage::v1::VolumeAttributesClass;
use kube::Client;
use kube::api::{Api, Patch, PatchParams, PostParams};
use serde_json::json;

use crate::fixtures;
use crate::support::Env;
use crate::{Case, KUBE, TestResult, case};

pub fn cases() -> Vec<Case> {
    vec![
        case!(
            "actions",
            KUBE,
            set_class_moves_a_bound_claim_to_an_existing_class_only
        ),
        case!(
            "actions",
            KUBE,
            scale_writes_the_scale_subresource_from_the_planned_count
        ),
        case!(
            "actions",
            KUBE,
            evict_is_skipped_while_a_disruption_budget_refuses
        ),
        case!(
            "actions",
            KUBE,
            cordon_annotate_label_and_event_write_what_they_name
        ),
    ]
}

fn executor(client: &Client) -> Executor {
    Executor::new(
        client.clone(),
        Events::new(client.clone(), Some("e2e".into())),
    )
}

fn intent(kind: Kind, ns: Option<&str>, name: &str, planned: Planned) -> Intent {
    Intent {
        id: IntentId(1),
        policy: "e2e".into(),
        object: ObjectId::new(kind, ns, name),
        planned,
    }
}

async fn run(client: &Client, intent: &Intent) -> ActionOutcome {
    executor(client)
        .execute(intent, jiff::Timestamp::now())
        .await
}

fn transient(o: &ActionOutcome) -> bool {
    matches!(o, ActionOutcome::Failed(f) if f.class == FailureClass::Transient)
}

/// The `default` ServiceAccount that a controller-manager would create: the
/// ServiceAccount admission plugin refuses pods without it.
async fn service_account(client: &Client, ns: &str) -> TestResult {
    let sa: ServiceAccount = serde_json::from_value(json!({"metadata": {"name": "default"}}))?;
    Api::<ServiceAccount>::namespaced(client.clone(), ns)
        .create(&PostParams::default(), &sa)
        .await?;
    Ok(())
}

async fn pod(client: &Client, ns: &str, name: &str) -> TestResult<Pod> {
    let pod: Pod = serde_json::from_value(json!({
        "metadata": {"name": name, "labels": {"app": name}},
        "spec": {
            "automountServiceAccountToken": false,
            "containers": [{"name": "c", "image": "registry.invalid/none"}]
        }
    }))?;
    let pods: Api<Pod> = Api::namespaced(client.clone(), ns);
    // The admission plugin reads ServiceAccounts from an informer cache.
    fixtures::eventually("the pod to be admitted", || async {
        pods.create(&PostParams::default(), &pod).await.is_ok()
    })
    .await?;
    // Running and Ready, as a kubelet would report it: the eviction API
    // ignores budgets for a Pending pod.
    let status = json!({"status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}});
    Ok(pods
        .patch_status(name, &PatchParams::default(), &Patch::Merge(status))
        .await?)
}

fn class_of(pvc: &PersistentVolumeClaim) -> Option<String> {
    pvc.spec
        .as_ref()
        .and_then(|s| s.volume_attributes_class_name.clone())
}

async fn set_class_moves_a_bound_claim_to_an_existing_class_only(env: &Env) -> TestResult {
    let client = &env.kube()?.admin;
    let ns = fixtures::namespace(client, "act-class").await?;
    fixtures::storage_class(client, "act-class-sc", Some(true)).await?;
    let vac: VolumeAttributesClass = serde_json::from_value(json!({
        "metadata": {"name": "act-class-fast"},
        "driverName": "e2e.autopilot.rs/none",
        "parameters": {"iops": "16000"}
    }))?;
    Api::<VolumeAttributesClass>::all(client.clone())
        .create(&PostParams::default(), &vac)
        .await?;
    fixtures::bound_pvc(client, &ns, "data", "act-class-sc", "1Gi").await?;
    fixtures::pending_pvc(client, &ns, "waiting", "act-class-sc", "1Gi").await?;
    let set = |name: &str, class: &str| {
        let planned = Planned::SetClass {
            class: class.into(),
        };
        intent(Kind::Pvc, Some(&ns), name, planned)
    };

    // A class that does not exist is declined, and nothing is written.
    let before = fixtures::get_pvc(client, &ns, "data").await?;
    let missing = run(client, &set("data", "act-class-missing")).await;
    assert!(
        matches!(&missing, ActionOutcome::Declined(DeclineReason::Rejected(m)) if m.contains("does not exist")),
        "{missing:?}"
    );
    let after = fixtures::get_pvc(client, &ns, "data").await?;
    assert_eq!(
        fixtures::resource_version(&after),
        fixtures::resource_version(&before)
    );
    fixtures::event(client, &ns, "data", "VolumeClassNotChanged").await?;

    // An existing one is written.
    let applied = run(client, &set("data", "act-class-fast")).await;
    assert_eq!(applied, ActionOutcome::Applied);
    let pvc = fixtures::get_pvc(client, &ns, "data").await?;
    assert_eq!(class_of(&pvc).as_deref(), Some("act-class-fast"));
    fixtures::event(client, &ns, "data", "VolumeClassChanged").await?;

    // Again: already in it.
    let again = run(client, &set("data", "act-class-fast")).await;
    assert!(
        matches!(
            again,
            ActionOutcome::Declined(DeclineReason::AlreadyInClass { .. })
        ),
        "{again:?}"
    );

    // Only a Bound claim: a Pending one is skipped.
    let pending = run(client, &set("waiting", "act-class-fast")).await;
    assert!(
        matches!(pending, ActionOutcome::Skipped(SkipReason::Blocked(_))),
        "{pending:?}"
    );
    let waiting = fixtures::get_pvc(client, &ns, "waiting").await?;
    assert_eq!(class_of(&waiting), None);
    Ok(())
}

async fn scale_writes_the_scale_subresource_from_the_planned_count(env: &Env) -> TestResult {
    let client = &env.kube()?.admin;
    let ns = fixtures::namespace(client, "act-scale").await?;
    fixtures::deployment(client, &ns, "web", 2).await?;
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), &ns);
    let scale = |from, to| {
        intent(
            Kind::Deployment,
            Some(&ns),
            "web",
            Planned::Scale { from, to },
        )
    };
    let replicas = || async {
        let d = deployments.get("web").await?;
        TestResult::Ok(d.spec.replicas)
    };

    // Planned from 3, but it has 2: someone else scaled it; nothing written.
    let stale = run(client, &scale(3, 5)).await;
    assert!(transient(&stale), "{stale:?}");
    assert_eq!(replicas().await?, Some(2));

    assert_eq!(run(client, &scale(2, 4)).await, ActionOutcome::Applied);
    assert_eq!(replicas().await?, Some(4));
    fixtures::event(client, &ns, "web", "Scaled").await?;

    // A workload that does not exist: permanent, not retried.
    let gone = intent(
        Kind::Deployment,
        Some(&ns),
        "nope",
        Planned::Scale { from: 1, to: 2 },
    );
    let outcome = run(client, &gone).await;
    assert!(
        matches!(&outcome, ActionOutcome::Failed(f) if f.class == FailureClass::Permanent),
        "{outcome:?}"
    );
    Ok(())
}

async fn evict_is_skipped_while_a_disruption_budget_refuses(env: &Env) -> TestResult {
    let client = &env.kube()?.admin;
    let ns = fixtures::namespace(client, "act-evict").await?;
    service_account(client, &ns).await?;
    pod(client, &ns, "free").await?;
    pod(client, &ns, "guarded").await?;
    // No disruption controller runs, so the budget's status never allows a
    // disruption: the eviction API answers 429.
    let pdb: PodDisruptionBudget = serde_json::from_value(json!({
        "metadata": {"name": "guard"},
        "spec": {"minAvailable": 1, "selector": {"matchLabels": {"app": "guarded"}}}
    }))?;
    Api::<PodDisruptionBudget>::namespaced(client.clone(), &ns)
        .create(&PostParams::default(), &pdb)
        .await?;
    let pods: Api<Pod> = Api::namespaced(client.clone(), &ns);

    let guarded = run(
        client,
        &intent(Kind::Pod, Some(&ns), "guarded", Planned::Evict),
    )
    .await;
    assert!(
        matches!(
            guarded,
            ActionOutcome::Skipped(SkipReason::DisruptionBudget { .. })
        ),
        "{guarded:?}"
    );
    assert!(pods.get_opt("guarded").await?.is_some(), "still there");
    fixtures::event(client, &ns, "guarded", "EvictionNotDone").await?;

    let free = run(
        client,
        &intent(Kind::Pod, Some(&ns), "free", Planned::Evict),
    )
    .await;
    assert_eq!(free, ActionOutcome::Applied);
    fixtures::eventually("the evicted pod to go", || async {
        matches!(pods.get_opt("free").await, Ok(None))
    })
    .await?;
    fixtures::event(client, &ns, "free", "Evicted").await?;
    Ok(())
}

async fn cordon_annotate_label_and_event_write_what_they_name(env: &Env) -> TestResult {
    let client = &env.kube()?.admin;
    let ns = fixtures::namespace(client, "act-meta").await?;
    let node_name = "act-meta-node";
    let node: Node = serde_json::from_value(json!({"metadata": {"name": node_name}}))?;
    let nodes: Api<Node> = Api::all(client.clone());
    nodes.create(&PostParams::default(), &node).await?;

    let cordon = intent(Kind::Node, None, node_name, Planned::Cordon);
    assert_eq!(run(client, &cordon).await, ActionOutcome::Applied);
    let n = nodes.get(node_name).await?;
    assert_eq!(n.spec.and_then(|s| s.unschedulable), Some(true));
    let again = run(client, &cordon).await;
    assert_eq!(
        again,
        ActionOutcome::Declined(DeclineReason::AlreadyCordoned)
    );
    // A node's events live in `default`.
    fixtures::event(client, "default", node_name, "Cordoned").await?;

    fixtures::storage_class(client, "act-meta-sc", Some(true)).await?;
    fixtures::bound_pvc(client, &ns, "data", "act-meta-sc", "1Gi").await?;
    let annotate = Planned::Annotate {
        key: "autopilot.rs/checked".into(),
        value: "yes".into(),
    };
    let label = Planned::Label {
        key: "tier".into(),
        value: "hot".into(),
    };
    let at = |p: Planned| intent(Kind::Pvc, Some(&ns), "data", p);
    assert_eq!(run(client, &at(annotate)).await, ActionOutcome::Applied);
    assert_eq!(run(client, &at(label)).await, ActionOutcome::Applied);
    let pvc = fixtures::get_pvc(client, &ns, "data").await?;
    let annotations = pvc.metadata.annotations.clone().unwrap_or_default();
    let labels = pvc.metadata.labels.clone().unwrap_or_default();
    assert_eq!(
        annotations.get("autopilot.rs/checked").map(String::as_str),
        Some("yes")
    );
    assert_eq!(labels.get("tier").map(String::as_str), Some("hot"));
    assert_eq!(fixtures::requested(&pvc), "1Gi", "nothing else changed");
    fixtures::event(client, &ns, "data", "Annotated").await?;
    fixtures::event(client, &ns, "data", "Labelled").await?;

    let event = Planned::Event {
        reason: "BackupDue".into(),
        message: "data is due a backup".into(),
    };
    assert_eq!(run(client, &at(event)).await, ActionOutcome::Applied);
    let e = fixtures::event(client, &ns, "data", "BackupDue").await?;
    assert_eq!(e.note.as_deref(), Some("policy e2e: data is due a backup"));
    Ok(())
}
