//! The executors of every action but resize ([`super::resize`]) and notify
//! ([`super::notify`]), behind one entry point, [`Executor::execute`]: the
//! engine's [`Intent`] in, the [`ActionOutcome`] it is told back out.
//!
//! Each executor reads the object first and writes only if it is still the
//! one planned from. The write carries the `resourceVersion` it read (and
//! the `uid`, so an object recreated under the same name is never written by
//! mistake): a 409 Conflict is a transient failure, planned again on a later
//! tick, never retried blind. Every applied, skipped, declined or failed
//! action leaves an Event on the object.
//!
//! | action | reads | writes | not done when |
//! |---|---|---|---|
//! | `set_class` | the claim, the VolumeAttributesClass | `spec.volumeAttributesClassName` | not Bound (skipped); already in it, or the class does not exist (declined) |
//! | `scale` | the scale subresource | its `spec.replicas` | the replicas moved since the plan (transient) |
//! | `evict` | the pod | a policy/v1 Eviction with preconditions | a PodDisruptionBudget refuses (429: skipped) |
//! | `cordon` | the node | `spec.unschedulable` | already cordoned (declined) |
//! | `annotate`, `label` | the object | one key of `metadata.annotations`/`labels` | — |
//! | `event` | — | an Event with the policy's reason | — |

use std::borrow::Cow;
use std::fmt;

use jiff::Timestamp;
use k8s_openapi::api::core::v1::{Node, PersistentVolumeClaim, Pod};
use k8s_openapi::api::storage::v1::VolumeAttributesClass;
use kube::api::{
    Api, ApiResource, DeleteParams, DynamicObject, EvictParams, GroupVersionKind, Patch,
    PatchParams, PostParams, Preconditions,
};
use kube::{Client, Resource};
use serde_json::json;

use super::events::{Events, Note, reason};
use super::notify::Notifier;
use super::resize::{self, FIELD_MANAGER, Operation, ResizeExecutor, Retry};
use crate::engine::plan::Blocker;
use crate::engine::{ActionOutcome, DeclineReason, Failure, Intent, ObjectId, Planned, SkipReason};
use crate::ir::{ActionName, Kind};

/// Carries out intents on the cluster; cheap to clone.
#[derive(Clone)]
pub struct Executor {
    client: Client,
    events: Events,
    resizer: ResizeExecutor,
    notifier: Option<Notifier>,
}

impl Executor {
    pub fn new(client: Client, events: Events) -> Self {
        Executor {
            resizer: ResizeExecutor::new(client.clone(), events.clone()),
            client,
            events,
            notifier: None,
        }
    }

    /// Sends `notify` intents through `notifier` (the configuration's receivers).
    pub fn with_notifier(mut self, notifier: Notifier) -> Self {
        self.notifier = Some(notifier);
        self
    }

    /// Carries out `intent` at `at`, records an Event on its object, and says
    /// what came of it.
    pub async fn execute(&self, intent: &Intent, at: Timestamp) -> ActionOutcome {
        self.execute_stamped(intent, at, None).await
    }

    /// [`Executor::execute`], and where the action patches the object itself
    /// ([`stamps`]), the same patch sets the state annotation to `stamp`: the
    /// action and the state that says it is in flight land together or not
    /// at all.
    pub async fn execute_stamped(
        &self,
        intent: &Intent,
        at: Timestamp,
        stamp: Option<&str>,
    ) -> ActionOutcome {
        let object = &intent.object;
        let outcome = match &intent.planned {
            Planned::Resize { .. } => {
                return self.resizer.resize_stamped(intent, stamp).await.outcome();
            }
            Planned::Notify { .. } => match &self.notifier {
                Some(n) => n.execute(intent, at).await,
                None => ActionOutcome::Failed(Failure::permanent(
                    "no notify receivers are configured (--config)",
                )),
            },
            Planned::SetClass { class } => self.set_class(object, class, stamp).await,
            Planned::Scale { from, to } => self.scale(object, *from, *to).await,
            Planned::Evict => self.evict(object).await,
            Planned::Cordon => self.cordon(object, stamp).await,
            Planned::Annotate { key, value } => {
                self.set_key(object, Meta::Annotations, key, value, stamp)
                    .await
            }
            Planned::Label { key, value } => {
                self.set_key(object, Meta::Labels, key, value, stamp).await
            }
            Planned::Event {
                reason: why,
                message,
            } => self.event(intent, why, message).await,
        };
        if matches!(outcome, ActionOutcome::Applied) {
            crate::failpoint::hit(crate::failpoint::AFTER_ACTION_WRITE);
        }
        let action = intent.planned.action();
        match &outcome {
            ActionOutcome::Applied => tracing::info!(%object, "{} applied", action.name()),
            other => tracing::warn!(%object, "{}: {}", action.name(), describe(other)),
        }
        // The event action's Event is the action itself.
        let said = matches!(intent.planned, Planned::Event { .. })
            && matches!(outcome, ActionOutcome::Applied);
        if !said && let Some(regarding) = resize::reference(object) {
            let note = note(intent, &outcome);
            if let Err(e) = self.events.publish(&regarding, &note).await {
                tracing::warn!(%object, "could not record the event: {e}");
            }
        }
        outcome
    }

    async fn set_class(
        &self,
        object: &ObjectId,
        class: &str,
        stamp: Option<&str>,
    ) -> ActionOutcome {
        let Some(namespace) = wants(object, Kind::Pvc) else {
            return wrong_kind(ActionName::SetClass, object);
        };
        let pvcs: Api<PersistentVolumeClaim> = Api::namespaced(self.client.clone(), namespace);
        let op = Operation {
            verb: "get",
            resource: "persistentvolumeclaims",
            namespace: Some(namespace.into()),
        };
        let pvc = match read(&pvcs, &object.name, &op, object).await {
            Ok(pvc) => pvc,
            Err(outcome) => return outcome,
        };
        let phase = pvc.status.as_ref().and_then(|s| s.phase.clone());
        if phase.as_deref() != Some("Bound") {
            return ActionOutcome::Skipped(SkipReason::Blocked(Blocker::NotBound { phase }));
        }
        let current = pvc
            .spec
            .as_ref()
            .and_then(|s| s.volume_attributes_class_name.as_deref());
        if current == Some(class) {
            return ActionOutcome::Declined(DeclineReason::AlreadyInClass {
                class: class.into(),
            });
        }
        let classes: Api<VolumeAttributesClass> = Api::all(self.client.clone());
        let op = Operation {
            verb: "get",
            resource: "volumeattributesclasses.storage.k8s.io",
            namespace: None,
        };
        match classes.get_opt(class).await {
            Ok(Some(_)) => {}
            Ok(None) => {
                return ActionOutcome::Declined(DeclineReason::Rejected(format!(
                    "VolumeAttributesClass \"{class}\" does not exist"
                )));
            }
            Err(e) => return ActionOutcome::Failed(api_failure(&op, object, &e)),
        }
        let patch = json!({
            "metadata": stamped(precondition(&pvc.metadata), stamp),
            "spec": {"volumeAttributesClassName": class},
        });
        let op = Operation {
            verb: "patch",
            ..op_of(object, "persistentvolumeclaims")
        };
        merge(&pvcs, &object.name, &patch, &op, object).await
    }

    async fn scale(&self, object: &ObjectId, from: u32, to: u32) -> ActionOutcome {
        if !matches!(object.kind, Kind::Deployment | Kind::StatefulSet) {
            return wrong_kind(ActionName::Scale, object);
        }
        let api = self.dynamic(object);
        let resource = match object.kind {
            Kind::StatefulSet => "statefulsets.apps/scale",
            _ => "deployments.apps/scale",
        };
        let op = Operation {
            verb: "get",
            ..op_of(object, resource)
        };
        let mut scale = match api.get_scale(&object.name).await {
            Ok(scale) => scale,
            Err(e) => return ActionOutcome::Failed(api_failure(&op, object, &e)),
        };
        let now = scale.spec.as_ref().and_then(|s| s.replicas).unwrap_or(0);
        if i64::from(now) != i64::from(from) {
            return ActionOutcome::Failed(Failure::transient(format!(
                "{object} has {now} replicas now, not the {from} the scale was planned from; \
                 nothing was written, it is planned again"
            )));
        }
        // The scale as read, its resourceVersion the precondition.
        scale.spec.get_or_insert_default().replicas = Some(i32::try_from(to).unwrap_or(i32::MAX));
        scale.status = None;
        let op = Operation {
            verb: "update",
            ..op
        };
        match api
            .replace_scale(&object.name, &post_params(), &scale)
            .await
        {
            Ok(_) => ActionOutcome::Applied,
            Err(e) => ActionOutcome::Failed(api_failure(&op, object, &e)),
        }
    }

    async fn evict(&self, object: &ObjectId) -> ActionOutcome {
        let Some(namespace) = wants(object, Kind::Pod) else {
            return wrong_kind(ActionName::Evict, object);
        };
        let pods: Api<Pod> = Api::namespaced(self.client.clone(), namespace);
        let op = Operation {
            verb: "get",
            ..op_of(object, "pods")
        };
        let pod = match read(&pods, &object.name, &op, object).await {
            Ok(pod) => pod,
            Err(outcome) => return outcome,
        };
        // The pod read, not one recreated under its name since (a
        // StatefulSet's pods keep their names).
        let params = EvictParams {
            delete_options: Some(DeleteParams {
                preconditions: Some(Preconditions {
                    uid: pod.metadata.uid.clone(),
                    resource_version: pod.metadata.resource_version.clone(),
                }),
                ..DeleteParams::default()
            }),
            post_options: post_params(),
        };
        let op = Operation {
            verb: "create",
            ..op_of(object, "pods/eviction")
        };
        match pods.evict(&object.name, &params).await {
            Ok(_) => ActionOutcome::Applied,
            Err(kube::Error::Api(status)) if status.code == 429 => {
                ActionOutcome::Skipped(SkipReason::DisruptionBudget {
                    message: status.message.clone(),
                })
            }
            Err(e) => ActionOutcome::Failed(api_failure(&op, object, &e)),
        }
    }

    async fn cordon(&self, object: &ObjectId, stamp: Option<&str>) -> ActionOutcome {
        if object.kind != Kind::Node {
            return wrong_kind(ActionName::Cordon, object);
        }
        let nodes: Api<Node> = Api::all(self.client.clone());
        let op = Operation {
            verb: "get",
            ..op_of(object, "nodes")
        };
        let node = match read(&nodes, &object.name, &op, object).await {
            Ok(node) => node,
            Err(outcome) => return outcome,
        };
        if node.spec.as_ref().and_then(|s| s.unschedulable) == Some(true) {
            return ActionOutcome::Declined(DeclineReason::AlreadyCordoned);
        }
        let patch = json!({
            "metadata": stamped(precondition(&node.metadata), stamp),
            "spec": {"unschedulable": true},
        });
        let op = Operation {
            verb: "patch",
            ..op
        };
        merge(&nodes, &object.name, &patch, &op, object).await
    }

    async fn set_key(
        &self,
        object: &ObjectId,
        meta: Meta,
        key: &str,
        value: &str,
        stamp: Option<&str>,
    ) -> ActionOutcome {
        let (resource, _, _) = api_resource(object.kind);
        let api = self.dynamic(object);
        let op = Operation {
            verb: "get",
            ..op_of(object, resource)
        };
        let found = match read(&api, &object.name, &op, object).await {
            Ok(found) => found,
            Err(outcome) => return outcome,
        };
        let mut metadata = stamped(precondition(&found.metadata), stamp);
        match metadata.get_mut(meta.field()) {
            Some(serde_json::Value::Object(map)) => {
                map.insert(key.into(), value.into());
            }
            _ => metadata[meta.field()] = json!({ key: value }),
        }
        let op = Operation {
            verb: "patch",
            ..op
        };
        merge(
            &api,
            &object.name,
            &json!({ "metadata": metadata }),
            &op,
            object,
        )
        .await
    }

    /// The API of `object`'s kind, in its namespace.
    fn dynamic(&self, object: &ObjectId) -> Api<DynamicObject> {
        dynamic(&self.client, object)
    }

    async fn event(&self, intent: &Intent, why: &str, message: &str) -> ActionOutcome {
        let object = &intent.object;
        let Some(regarding) = resize::reference(object) else {
            return wrong_kind(ActionName::Event, object);
        };
        let note = Note {
            warning: false,
            reason: Cow::Owned(why.to_string()),
            action: "Event",
            message: format!("policy {}: {message}", intent.policy),
        };
        let op = Operation {
            verb: "create",
            resource: "events.events.k8s.io",
            namespace: object.namespace.clone(),
        };
        match self.events.publish(&regarding, &note).await {
            Ok(()) => ActionOutcome::Applied,
            Err(e) => ActionOutcome::Failed(api_failure(&op, object, &e)),
        }
    }
}

/// Which map of `metadata` a write sets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Meta {
    Annotations,
    Labels,
}

impl Meta {
    fn field(self) -> &'static str {
        match self {
            Meta::Annotations => "annotations",
            Meta::Labels => "labels",
        }
    }
}

/// The API of `object`'s kind, in its namespace.
pub fn dynamic(client: &Client, object: &ObjectId) -> Api<DynamicObject> {
    let (_, gvk, plural) = api_resource(object.kind);
    let ar = ApiResource::from_gvk_with_plural(&gvk, plural);
    match &object.namespace {
        Some(ns) => Api::namespaced_with(client.clone(), ns, &ar),
        None => Api::all_with(client.clone(), &ar),
    }
}

/// The RBAC resource of `kind` (`persistentvolumeclaims`, `deployments.apps`).
pub fn rbac_resource(kind: Kind) -> &'static str {
    api_resource(kind).0
}

/// The RBAC resource, group-version-kind and plural of `kind`.
fn api_resource(kind: Kind) -> (&'static str, GroupVersionKind, &'static str) {
    match kind {
        Kind::Pvc => (
            "persistentvolumeclaims",
            GroupVersionKind::gvk("", "v1", "PersistentVolumeClaim"),
            "persistentvolumeclaims",
        ),
        Kind::Pod => ("pods", GroupVersionKind::gvk("", "v1", "Pod"), "pods"),
        Kind::Deployment => (
            "deployments.apps",
            GroupVersionKind::gvk("apps", "v1", "Deployment"),
            "deployments",
        ),
        Kind::StatefulSet => (
            "statefulsets.apps",
            GroupVersionKind::gvk("apps", "v1", "StatefulSet"),
            "statefulsets",
        ),
        Kind::Node => ("nodes", GroupVersionKind::gvk("", "v1", "Node"), "nodes"),
    }
}

/// The namespace of `object` when it is of `kind`.
fn wants(object: &ObjectId, kind: Kind) -> Option<&str> {
    (object.kind == kind)
        .then_some(object.namespace.as_deref())
        .flatten()
}

fn wrong_kind(action: ActionName, object: &ObjectId) -> ActionOutcome {
    ActionOutcome::Failed(Failure::permanent(format!(
        "{} does not apply to {object}",
        action.name()
    )))
}

fn op_of(object: &ObjectId, resource: &'static str) -> Operation {
    Operation {
        verb: "get",
        resource,
        namespace: object.namespace.clone(),
    }
}

fn post_params() -> PostParams {
    PostParams {
        field_manager: Some(FIELD_MANAGER.into()),
        ..PostParams::default()
    }
}

/// `metadata` of a merge patch that applies only to the object as read: the
/// server answers 409 when the `resourceVersion` moved, 422 when the `uid`
/// differs.
fn precondition(
    meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta,
) -> serde_json::Value {
    json!({"resourceVersion": meta.resource_version, "uid": meta.uid})
}

/// Whether an action patches its object itself, so that the state
/// annotation can ride in the same patch ([`Executor::execute_stamped`]);
/// for the others the controller writes the state before it acts.
pub fn stamps(action: ActionName) -> bool {
    matches!(
        action,
        ActionName::Resize
            | ActionName::SetClass
            | ActionName::Cordon
            | ActionName::Annotate
            | ActionName::Label
    )
}

/// `metadata` of a patch, with the state annotation set to `stamp`.
pub fn stamped(mut metadata: serde_json::Value, stamp: Option<&str>) -> serde_json::Value {
    if let Some(stamp) = stamp {
        metadata["annotations"] = json!({ super::state::ANNOTATION: stamp });
    }
    metadata
}

/// Reads `name`; a missing object or a failed read is the outcome.
async fn read<K>(
    api: &Api<K>,
    name: &str,
    op: &Operation,
    object: &ObjectId,
) -> Result<K, ActionOutcome>
where
    K: Resource + Clone + serde::de::DeserializeOwned + fmt::Debug,
{
    match api.get_opt(name).await {
        Ok(Some(k)) => Ok(k),
        Ok(None) => Err(ActionOutcome::Failed(Failure::permanent(format!(
            "{object} not found"
        )))),
        Err(e) => Err(ActionOutcome::Failed(api_failure(op, object, &e))),
    }
}

/// A JSON merge patch of `name`.
async fn merge<K>(
    api: &Api<K>,
    name: &str,
    patch: &serde_json::Value,
    op: &Operation,
    object: &ObjectId,
) -> ActionOutcome
where
    K: Resource + Clone + serde::de::DeserializeOwned + fmt::Debug,
{
    let params = PatchParams {
        field_manager: Some(FIELD_MANAGER.into()),
        ..PatchParams::default()
    };
    match api.patch(name, &params, &Patch::Merge(patch)).await {
        Ok(_) => ActionOutcome::Applied,
        Err(e) => ActionOutcome::Failed(api_failure(op, object, &e)),
    }
}

/// A failed call, sorted as [`Retry::of`] sorts status codes: a conflict and
/// a busy or unreachable server are transient, the rest permanent.
pub fn api_failure(op: &Operation, object: &ObjectId, error: &kube::Error) -> Failure {
    match error {
        kube::Error::Api(status) => {
            let (code, why, message) = (status.code, &status.reason, &status.message);
            match Retry::of(code) {
                Retry::Conflict => Failure::transient(format!(
                    "{object} changed between read and write (409 Conflict); nothing was \
                     written, it is planned again"
                )),
                Retry::Transient => Failure::transient(format!(
                    "{op}: the API server answered {code} {why}: {message}"
                )),
                Retry::Permanent if code == 404 => {
                    Failure::permanent(format!("{object} not found"))
                }
                Retry::Permanent if code == 403 && resize::is_rbac_denial(message) => {
                    Failure::permanent(format!(
                        "missing permission: {op} (the API server said: {message})"
                    ))
                }
                Retry::Permanent => Failure::permanent(format!(
                    "{op}: the API server refused it ({code} {why}): {message}"
                )),
            }
        }
        kube::Error::HyperError(_) | kube::Error::Service(_) | kube::Error::ReadEvents(_) => {
            Failure::transient(format!(
                "{op}: the API server could not be reached: {error}"
            ))
        }
        other => Failure::permanent(format!("{op}: {other}")),
    }
}

fn describe(outcome: &ActionOutcome) -> String {
    match outcome {
        ActionOutcome::Applied => "applied".into(),
        ActionOutcome::Skipped(why) => format!("skipped: {why}"),
        ActionOutcome::Declined(why) => format!("declined: {why}"),
        ActionOutcome::Failed(f) => format!("failed ({}): {f}", f.class.name()),
    }
}

/// The Event an outcome leaves on the object.
fn note(intent: &Intent, outcome: &ActionOutcome) -> Note {
    let (done, not_done, action) = match intent.planned.action() {
        ActionName::SetClass => (
            reason::VOLUME_CLASS_CHANGED,
            reason::VOLUME_CLASS_NOT_CHANGED,
            "SetClass",
        ),
        ActionName::Scale => (reason::SCALED, reason::SCALE_NOT_DONE, "Scale"),
        ActionName::Evict => (reason::EVICTED, reason::EVICTION_NOT_DONE, "Evict"),
        ActionName::Cordon => (reason::CORDONED, reason::CORDON_NOT_DONE, "Cordon"),
        ActionName::Annotate => (reason::ANNOTATED, reason::ANNOTATE_NOT_DONE, "Annotate"),
        ActionName::Label => (reason::LABELLED, reason::LABEL_NOT_DONE, "Label"),
        ActionName::Notify => (reason::NOTIFIED, reason::NOTIFY_NOT_DONE, "Notify"),
        ActionName::Event => (reason::EVENT_NOT_DONE, reason::EVENT_NOT_DONE, "Event"),
        ActionName::Resize => (reason::VOLUME_RESIZED, reason::RESIZE_FAILED, "Resize"),
    };
    let applied = matches!(outcome, ActionOutcome::Applied);
    let what = crate::report::action::describe(intent.planned.action(), Some(&intent.planned));
    Note {
        warning: !applied,
        reason: Cow::Borrowed(if applied { done } else { not_done }),
        action,
        message: match outcome {
            ActionOutcome::Applied => format!("policy {}: {what}", intent.policy),
            other => format!("policy {}: {what}: {}", intent.policy, describe(other)),
        },
    }
}
