//! Objects the cases create, the way the real control plane would have left
//! them. No PV controller runs, so a "Bound" claim is bound by hand: a PV whose
//! claimRef names the claim, the claim's spec.volumeName, and both statuses
//! (phase Bound, capacity) written through the status subresource.

use std::time::{Duration, Instant};

use std::collections::BTreeMap;
use std::sync::Arc;

use autopilot::cluster::events::Events;
use autopilot::cluster::pvc::PvcView;
use autopilot::cluster::resize::ResizeExecutor;
use autopilot::engine::{Engine, Fields, Intent, MetricSource, Object, ObjectId, Sample, Snapshot};
use autopilot::ir::Kind;
use k8s_openapi::api::core::v1::{Namespace, PersistentVolume, PersistentVolumeClaim};
use k8s_openapi::api::events::v1::Event;
use k8s_openapi::api::storage::v1::StorageClass;
use kube::Client;
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::TestResult;

pub const GI: u64 = 1 << 30;

fn object<T: DeserializeOwned>(v: Value) -> TestResult<T> {
    Ok(serde_json::from_value(v)?)
}

pub async fn namespace(client: &Client, name: &str) -> TestResult<String> {
    let ns: Namespace = object(json!({"metadata": {"name": name}}))?;
    Api::<Namespace>::all(client.clone())
        .create(&PostParams::default(), &ns)
        .await?;
    Ok(name.to_string())
}

/// A StorageClass; `allow` is its allowVolumeExpansion (`None`: unset).
pub async fn storage_class(client: &Client, name: &str, allow: Option<bool>) -> TestResult {
    let mut sc = json!({"metadata": {"name": name}, "provisioner": "e2e.autopilot.rs/none"});
    if let Some(allow) = allow {
        sc["allowVolumeExpansion"] = json!(allow);
    }
    Api::<StorageClass>::all(client.clone())
        .create(&PostParams::default(), &object(sc)?)
        .await?;
    Ok(())
}

fn claim(name: &str, class: &str, size: &str, volume: Option<&str>) -> Value {
    let mut spec = json!({
        "accessModes": ["ReadWriteOnce"],
        "storageClassName": class,
        "resources": {"requests": {"storage": size}},
    });
    if let Some(volume) = volume {
        spec["volumeName"] = json!(volume);
    }
    json!({"metadata": {"name": name}, "spec": spec})
}

/// A claim that stays Pending: nothing provisions or binds it.
pub async fn pending_pvc(
    client: &Client,
    ns: &str,
    name: &str,
    class: &str,
    size: &str,
) -> TestResult<PersistentVolumeClaim> {
    let pvcs: Api<PersistentVolumeClaim> = Api::namespaced(client.clone(), ns);
    Ok(pvcs
        .create(
            &PostParams::default(),
            &object(claim(name, class, size, None))?,
        )
        .await?)
}

/// A claim bound to a PV of the same size, as if provisioned by `class`.
pub async fn bound_pvc(
    client: &Client,
    ns: &str,
    name: &str,
    class: &str,
    size: &str,
) -> TestResult<PersistentVolumeClaim> {
    let pv_name = format!("{ns}-{name}");
    let pv: PersistentVolume = object(json!({
        "metadata": {"name": pv_name},
        "spec": {
            "capacity": {"storage": size},
            "accessModes": ["ReadWriteOnce"],
            "persistentVolumeReclaimPolicy": "Delete",
            "storageClassName": class,
            "hostPath": {"path": format!("/tmp/{pv_name}")},
            "claimRef": {"namespace": ns, "name": name},
        },
    }))?;
    let pvs: Api<PersistentVolume> = Api::all(client.clone());
    pvs.create(&PostParams::default(), &pv).await?;
    pvs.patch_status(
        &pv_name,
        &PatchParams::default(),
        &Patch::Merge(json!({"status": {"phase": "Bound"}})),
    )
    .await?;

    let pvcs: Api<PersistentVolumeClaim> = Api::namespaced(client.clone(), ns);
    pvcs.create(
        &PostParams::default(),
        &object(claim(name, class, size, Some(&pv_name)))?,
    )
    .await?;
    let pvc = set_status(client, ns, name, "Bound", size).await?;
    // A class may be missing on purpose: then admission refuses growth.
    let class = Api::<StorageClass>::all(client.clone())
        .get_opt(class)
        .await?;
    if class.is_some_and(|c| c.allow_volume_expansion == Some(true)) {
        admission_allows_growth(client, ns, name, size).await?;
    }
    Ok(pvc)
}

/// Waits until the API server's PersistentVolumeClaimResize admission plugin,
/// which reads StorageClasses from an informer cache, lets the claim grow: a
/// dry-run write of one more GiB, which persists nothing.
async fn admission_allows_growth(client: &Client, ns: &str, name: &str, size: &str) -> TestResult {
    let pvcs: Api<PersistentVolumeClaim> = Api::namespaced(client.clone(), ns);
    let bigger = autopilot::cluster::quantity::parse_bytes(size)? + GI;
    let patch = json!({"spec": {"resources": {"requests": {
        "storage": autopilot::cluster::quantity::format_bytes(bigger)
    }}}});
    let params = PatchParams {
        dry_run: true,
        ..PatchParams::default()
    };
    eventually("admission to see the StorageClass", || async {
        pvcs.patch(name, &params, &Patch::Merge(&patch))
            .await
            .is_ok()
    })
    .await
}

/// A Deployment `name` of `replicas` (its pods never run: no kubelet).
pub async fn deployment(client: &Client, ns: &str, name: &str, replicas: i32) -> TestResult {
    let deploy: k8s_openapi::api::apps::v1::Deployment = serde_json::from_value(json!({
        "metadata": {"name": name},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "c", "image": "registry.invalid/none"}]}
            }
        }
    }))?;
    Api::namespaced(client.clone(), ns)
        .create(&PostParams::default(), &deploy)
        .await?;
    Ok(())
}

/// Writes the claim's status as the PV controller / resizer would.
pub async fn set_status(
    client: &Client,
    ns: &str,
    name: &str,
    phase: &str,
    capacity: &str,
) -> TestResult<PersistentVolumeClaim> {
    let pvcs: Api<PersistentVolumeClaim> = Api::namespaced(client.clone(), ns);
    let status = json!({"status": {
        "phase": phase,
        "accessModes": ["ReadWriteOnce"],
        "capacity": {"storage": capacity},
    }});
    Ok(pvcs
        .patch_status(name, &PatchParams::default(), &Patch::Merge(status))
        .await?)
}

pub async fn get_pvc(client: &Client, ns: &str, name: &str) -> TestResult<PersistentVolumeClaim> {
    Ok(Api::<PersistentVolumeClaim>::namespaced(client.clone(), ns)
        .get(name)
        .await?)
}

/// `spec.resources.requests.storage` as the server stores it.
pub fn requested(pvc: &PersistentVolumeClaim) -> String {
    pvc.spec
        .as_ref()
        .and_then(|s| s.resources.as_ref())
        .and_then(|r| r.requests.as_ref())
        .and_then(|r| r.get("storage"))
        .map(|q| q.0.clone())
        .unwrap_or_default()
}

pub fn resource_version(pvc: &PersistentVolumeClaim) -> String {
    pvc.metadata.resource_version.clone().unwrap_or_default()
}

/// The claim's spec, labels and annotations but the controller's state
/// annotation: what an action would change.
pub fn apart_from_state(pvc: &PersistentVolumeClaim) -> serde_json::Value {
    let mut annotations = pvc.metadata.annotations.clone().unwrap_or_default();
    annotations.remove(STATE);
    serde_json::json!({
        "spec": pvc.spec,
        "labels": pvc.metadata.labels,
        "annotations": annotations,
    })
}

/// The claim's `autopilot.rs/state`, parsed.
pub fn state_of(pvc: &PersistentVolumeClaim) -> Option<serde_json::Value> {
    let text = pvc.metadata.annotations.as_ref()?.get(STATE)?;
    serde_json::from_str(text).ok()
}

/// The controller's state annotation.
pub const STATE: &str = "autopilot.rs/state";

/// Events (events.k8s.io/v1) about the object `name` in `ns`.
pub async fn events_about(client: &Client, ns: &str, name: &str) -> TestResult<Vec<Event>> {
    let events: Api<Event> = Api::namespaced(client.clone(), ns);
    let list = events.list(&ListParams::default()).await?;
    Ok(list
        .items
        .into_iter()
        .filter(|e| e.regarding.as_ref().and_then(|r| r.name.as_deref()) == Some(name))
        .collect())
}

/// The one event about `name` with `reason`; fails if there is none or several.
pub async fn event(client: &Client, ns: &str, name: &str, reason: &str) -> TestResult<Event> {
    let all = events_about(client, ns, name).await?;
    let mut matching: Vec<Event> = all
        .iter()
        .filter(|e| e.reason.as_deref() == Some(reason))
        .cloned()
        .collect();
    match matching.len() {
        1 => Ok(matching.remove(0)),
        n => Err(format!(
            "expected one {reason} event about {ns}/{name}, found {n}; all: {:?}",
            all.iter()
                .map(|e| (e.reason.clone(), e.note.clone()))
                .collect::<Vec<_>>()
        )
        .into()),
    }
}

/// A policy that holds for every claim: it doubles, up to 400Gi.
pub const DOUBLE: &str =
    "policy double { on pvc when pvc.requested > 0Gi then resize(+100%, max = 400Gi) }";

/// The engine with `DOUBLE`, and what it reads of a claim: its sizes as the
/// API server has them now, and the rest as a store a little behind would
/// (Bound, its class allowing expansion, no resize going on), so that what the
/// executor finds is its own check, not the engine's.
pub struct Planner {
    pub engine: Engine,
}

struct NoMetrics;

impl MetricSource for NoMetrics {
    fn sample(&self, _: autopilot::ir::MetricId, _: &ObjectId, _: i64) -> Sample {
        Sample::Missing
    }
}

impl Planner {
    pub fn new() -> TestResult<Planner> {
        let c = autopilot::compile::compile(vec![("double.apr".into(), DOUBLE.into())]);
        if c.has_errors() {
            return Err(format!("{:?}", c.diagnostics).into());
        }
        Ok(Planner {
            engine: Engine::new(Arc::new(c.checked.program)),
        })
    }

    /// The engine's intents at `t` for the claim as it is now.
    pub async fn plan(
        &mut self,
        client: &Client,
        ns: &str,
        name: &str,
        t: i64,
    ) -> TestResult<Vec<Intent>> {
        let pvc = get_pvc(client, ns, name).await?;
        let view = PvcView::new(&pvc, None)?;
        let mut object = Object::new(ObjectId::new(Kind::Pvc, Some(ns), name));
        object.fields = Fields {
            capacity: view.capacity,
            requested: view.requested,
            storage_class: view.storage_class.clone(),
            phase: Some("Bound".into()),
            expandable: Some(true),
            resizing: false,
            ..Fields::default()
        };
        let namespaces = BTreeMap::new();
        let snap = Snapshot {
            objects: std::slice::from_ref(&object),
            namespaces: &namespaces,
            metrics: &NoMetrics,
        };
        let (_, intents) = self.engine.tick(t, &snap, &[]);
        Ok(intents)
    }

    /// The one intent the engine has for the claim at `t`.
    pub async fn intent(
        &mut self,
        client: &Client,
        ns: &str,
        name: &str,
        t: i64,
    ) -> TestResult<Intent> {
        let mut intents = self.plan(client, ns, name, t).await?;
        match intents.len() {
            1 => Ok(intents.remove(0)),
            n => Err(format!("expected one intent for {ns}/{name}, got {n}: {intents:?}").into()),
        }
    }
}

/// The engine's intent for the claim as it is now, from a fresh engine.
pub async fn intent_for(client: &Client, ns: &str, name: &str) -> TestResult<Intent> {
    Planner::new()?.intent(client, ns, name, 0).await
}

pub fn executor(client: &Client) -> ResizeExecutor {
    ResizeExecutor::new(
        client.clone(),
        Events::new(client.clone(), Some("e2e".into())),
    )
}

/// Retries `check` until it passes: RBAC and admission read informer caches
/// that trail a write by a few milliseconds.
pub async fn eventually<F, Fut>(what: &str, mut check: F) -> TestResult
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(10);
    while !check().await {
        if Instant::now() > deadline {
            return Err(format!("timed out waiting for {what}").into());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(())
}
