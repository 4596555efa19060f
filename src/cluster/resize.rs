//! The resize executor: carries out the engine's resize [`Intent`] on a
//! PersistentVolumeClaim. It does not plan.
//!
//! One call reads the claim and its StorageClass and checks, in order:
//!
//! 1. the precondition: the claim's size is still the `from` the engine planned
//!    from. If it is not, someone else resized it: a conflict, nothing is
//!    written, and the engine plans again on a later tick;
//! 2. [`plan::resize_blocker`], the rule the engine and the simulation use
//!    (`skipped` with its words);
//!
//! then writes the planned `to` with a precondition on the `resourceVersion`
//! and `uid` it read. A 409 Conflict (written in between) is a conflict too:
//! never re-planned here, never retried blind.
//! Every applied, skipped or failed resize leaves a Kubernetes Event.
//!
//! Errors follow kube-rs controller-rs: [`Error::Transient`] is worth retrying
//! with backoff (network, timeouts, 408, 429, 5xx, conflicts),
//! [`Error::Permanent`] needs something to change first (403, 404, 422, a
//! webhook's 400). [`Retry::of`] sorts status codes.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use k8s_openapi::api::core::v1::{ObjectReference, PersistentVolumeClaim};
use k8s_openapi::api::storage::v1::StorageClass;
use kube::api::{Api, Patch, PatchParams};
use kube::{Client, Resource};
use serde_json::json;

use super::events::{self, Events, Note};
use super::pvc::{BadQuantity, PvcView};
use super::quantity::format_bytes;
use crate::engine::plan::Blocker;
use crate::engine::{ActionOutcome, Failure, Intent, ObjectId, Planned, SkipReason};
use crate::ir::Kind;

/// The field manager of every write, so `managedFields` shows who changed what.
pub const FIELD_MANAGER: &str = "autopilot";

/// What carrying out one resize intent came to.
#[derive(Debug)]
pub enum Execution {
    /// `spec.resources.requests.storage` went from `from` to `to` bytes.
    Applied { from: u64, to: u64 },
    /// The claim may not be resized now; nothing was written.
    Skipped { blocker: Blocker },
    /// Not done; [`Error::is_transient`] says whether to try again. A conflict
    /// is transient: the engine plans again from what it reads next.
    Failed { error: Error },
}

impl Execution {
    /// The result name of docs/semantics.md section 8: applied, skipped, failed.
    pub fn name(&self) -> &'static str {
        match self {
            Execution::Applied { .. } => "applied",
            Execution::Skipped { .. } => "skipped",
            Execution::Failed { .. } => "failed",
        }
    }
}

impl fmt::Display for Execution {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Execution::Applied { from, to } => write!(
                f,
                "resized from {} to {}",
                format_bytes(*from),
                format_bytes(*to)
            ),
            Execution::Skipped { blocker } => write!(f, "resize skipped: {blocker}"),
            Execution::Failed { error } => write!(f, "resize failed: {error}"),
        }
    }
}

/// What the engine's [`crate::engine::Engine::finish`] is told.
/// A conflict is transient: the engine plans again on a later tick, after
/// its backoff.
impl From<&Execution> for ActionOutcome {
    fn from(e: &Execution) -> ActionOutcome {
        match e {
            Execution::Applied { .. } => ActionOutcome::Applied,
            Execution::Skipped { blocker } => {
                ActionOutcome::Skipped(SkipReason::Blocked(blocker.clone()))
            }
            Execution::Failed { error } if error.is_transient() => {
                ActionOutcome::Failed(Failure::transient(error.to_string()))
            }
            Execution::Failed { error } => {
                ActionOutcome::Failed(Failure::permanent(error.to_string()))
            }
        }
    }
}

/// One API call, named as RBAC names the permission it needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Operation {
    pub verb: &'static str,
    /// `persistentvolumeclaims`, `storageclasses.storage.k8s.io`, `events.events.k8s.io`.
    pub resource: &'static str,
    /// `None` for cluster-scoped resources.
    pub namespace: Option<String>,
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.verb, self.resource)?;
        match &self.namespace {
            Some(ns) => write!(f, " in namespace {ns}"),
            None => f.write_str(" (cluster-wide)"),
        }
    }
}

impl Operation {
    fn pvc(verb: &'static str, namespace: &str) -> Self {
        Operation {
            verb,
            resource: "persistentvolumeclaims",
            namespace: Some(namespace.into()),
        }
    }
}

/// Whether a failed call is worth making again, by its HTTP status code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Retry {
    /// The server was busy or failing, or the call timed out: back off and retry.
    Transient,
    /// The object changed since it was read (409): read and plan again.
    Conflict,
    /// Retrying does not help until something changes (a permission, the object).
    Permanent,
}

impl Retry {
    pub fn of(code: u16) -> Retry {
        match code {
            409 => Retry::Conflict,
            408 | 429 | 500..=599 => Retry::Transient,
            _ => Retry::Permanent,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Retry::Transient => "transient",
            Retry::Conflict => "conflict",
            Retry::Permanent => "permanent",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Retry later with backoff: the server was unreachable or overloaded, or
    /// the claim changed since it was planned.
    #[error(transparent)]
    Transient(#[from] TransientError),
    /// Retrying does not help until something changes: a permission, the object.
    #[error(transparent)]
    Permanent(#[from] PermanentError),
}

impl Error {
    pub fn is_transient(&self) -> bool {
        matches!(self, Error::Transient(_))
    }

    /// The claim was not what the engine planned from, or changed before the write.
    pub fn is_conflict(&self) -> bool {
        matches!(self, Error::Transient(TransientError::Conflict { .. }))
    }
}

/// How a claim was found to differ from what was planned or read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Conflict {
    /// Its size is no longer the one the engine planned from.
    SizeChanged { planned: u64, found: u64 },
    /// It was written between the executor's read and its patch (409 Conflict).
    Written,
}

impl fmt::Display for Conflict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Conflict::SizeChanged { planned, found } => write!(
                f,
                "is {} now, not the {} the resize was planned from",
                format_bytes(*found),
                format_bytes(*planned)
            ),
            Conflict::Written => f.write_str("changed between read and write (409 Conflict)"),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TransientError {
    #[error("{op}: the API server could not be reached: {source}")]
    Unreachable {
        op: Operation,
        #[source]
        source: kube::Error,
    },
    #[error("{op}: the API server answered {code} {reason}: {message}")]
    Server {
        op: Operation,
        code: u16,
        reason: String,
        message: String,
    },
    #[error("PVC {namespace}/{name} {conflict}; nothing was written, it is planned again")]
    Conflict {
        namespace: String,
        name: String,
        conflict: Conflict,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum PermanentError {
    #[error("missing permission: {op} (the API server said: {message})")]
    Forbidden { op: Operation, message: String },
    #[error("PVC {namespace}/{name} not found")]
    NotFound { namespace: String, name: String },
    #[error(transparent)]
    BadQuantity(#[from] BadQuantity),
    /// Validation (422), an admission plugin (a LimitRange, a ResourceQuota, a
    /// class without expansion: 403) or a webhook (400) refused the request.
    #[error("{op}: the API server refused it ({code} {reason}): {message}")]
    Rejected {
        op: Operation,
        code: u16,
        reason: String,
        message: String,
    },
    #[error("{op}: {source}")]
    Client {
        op: Operation,
        #[source]
        source: kube::Error,
    },
    /// Not an intent this executor carries out: not a resize, not of a PVC, or
    /// not a growth (a volume is never shrunk).
    #[error("{object}: not a resize this executor carries out ({why})")]
    NotAResize { object: String, why: &'static str },
}

/// The outcome of [`ResizeExecutor::resize`], and whether its event was written.
#[derive(Debug)]
pub struct Report {
    pub execution: Execution,
    /// Set if the event about the execution could not be written.
    pub event_error: Option<Error>,
}

impl Report {
    /// What to report to the engine.
    pub fn outcome(&self) -> ActionOutcome {
        ActionOutcome::from(&self.execution)
    }
}

/// Runs between the read and the write, with the claim as read. A test seam:
/// tests use it to interleave a concurrent writer deterministically.
pub type BeforeWrite =
    Arc<dyn Fn(PersistentVolumeClaim) -> Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync>;

#[derive(Clone)]
pub struct ResizeExecutor {
    client: Client,
    events: Events,
    before_write: Option<BeforeWrite>,
}

/// A resize intent taken apart: the claim and the planned sizes.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Target<'a> {
    namespace: &'a str,
    name: &'a str,
    from: u64,
    to: u64,
}

impl ResizeExecutor {
    pub fn new(client: Client, events: Events) -> Self {
        ResizeExecutor {
            client,
            events,
            before_write: None,
        }
    }

    pub fn with_before_write(mut self, hook: BeforeWrite) -> Self {
        self.before_write = Some(hook);
        self
    }

    /// Carries out `intent` (a resize of a PVC from the planned `from` to
    /// `to`), and records an event on the claim.
    pub async fn resize(&self, intent: &Intent) -> Report {
        self.resize_stamped(intent, None).await
    }

    /// [`ResizeExecutor::resize`], the patch also setting the state
    /// annotation to `stamp` (see [`super::act::Executor::execute_stamped`]).
    pub async fn resize_stamped(&self, intent: &Intent, stamp: Option<&str>) -> Report {
        let (execution, pvc) = match target(&intent.object, &intent.planned) {
            Ok(target) => self.run(&target, stamp).await,
            Err(error) => (Execution::Failed { error }, None),
        };
        let regarding = match &pvc {
            Some(pvc) => Some(pvc.object_ref(&())),
            None => reference(&intent.object),
        };
        let event_error = match &regarding {
            Some(regarding) => self.record(regarding, &execution).await.err(),
            None => None,
        };
        let object = &intent.object;
        match &execution {
            Execution::Applied { .. } => tracing::info!(%object, "{execution}"),
            _ => tracing::warn!(%object, "{execution}"),
        }
        if let Some(e) = &event_error {
            tracing::warn!(%object, "could not record the event: {e}");
        }
        Report {
            execution,
            event_error,
        }
    }

    /// The execution, and the claim as read (for the event).
    async fn run(
        &self,
        target: &Target<'_>,
        stamp: Option<&str>,
    ) -> (Execution, Option<PersistentVolumeClaim>) {
        let (namespace, name) = (target.namespace, target.name);
        let failed = |error: Error| Execution::Failed { error };
        let pvcs: Api<PersistentVolumeClaim> = Api::namespaced(self.client.clone(), namespace);
        let pvc = match pvcs.get_opt(name).await {
            Ok(Some(pvc)) => pvc,
            Ok(None) => {
                let error = PermanentError::NotFound {
                    namespace: namespace.into(),
                    name: name.into(),
                };
                return (failed(error.into()), None);
            }
            Err(e) => return (failed(api_error(Operation::pvc("get", namespace), e)), None),
        };
        let view = match self.view(&pvc).await {
            Ok(view) => view,
            Err(error) => return (failed(error), Some(pvc)),
        };
        if let Some(execution) = check(&view, target) {
            return (execution, Some(pvc));
        }
        if let Some(hook) = &self.before_write {
            hook(pvc.clone()).await;
        }
        let execution = match write_request(&pvcs, &view, target.to, stamp).await {
            Ok(_) => {
                crate::failpoint::hit(crate::failpoint::AFTER_ACTION_WRITE);
                Execution::Applied {
                    from: target.from,
                    to: target.to,
                }
            }
            Err(error) => failed(error),
        };
        (execution, Some(pvc))
    }

    async fn view(&self, pvc: &PersistentVolumeClaim) -> Result<PvcView, Error> {
        let class = match super::pvc::storage_class_name(pvc) {
            Some(class) => {
                let classes: Api<StorageClass> = Api::all(self.client.clone());
                let op = Operation {
                    verb: "get",
                    resource: "storageclasses.storage.k8s.io",
                    namespace: None,
                };
                classes
                    .get_opt(&class)
                    .await
                    .map_err(|e| api_error(op, e))?
            }
            None => None,
        };
        PvcView::new(pvc, class.as_ref()).map_err(|e| PermanentError::from(e).into())
    }

    async fn record(
        &self,
        regarding: &ObjectReference,
        execution: &Execution,
    ) -> Result<(), Error> {
        let note = Note {
            warning: !matches!(execution, Execution::Applied { .. }),
            reason: match execution {
                Execution::Applied { .. } => events::reason::VOLUME_RESIZED,
                Execution::Skipped { .. } => events::reason::RESIZE_SKIPPED,
                Execution::Failed { .. } => events::reason::RESIZE_FAILED,
            }
            .into(),
            action: "Resize",
            message: execution.to_string(),
        };
        let op = Operation {
            verb: "create",
            resource: "events.events.k8s.io",
            namespace: regarding.namespace.clone(),
        };
        self.events
            .publish(regarding, &note)
            .await
            .map_err(|e| api_error(op, e))
    }
}

/// The claim and sizes of a resize intent, or why it is not one.
fn target<'a>(object: &'a ObjectId, planned: &Planned) -> Result<Target<'a>, Error> {
    let not = |why| {
        Error::from(PermanentError::NotAResize {
            object: object.to_string(),
            why,
        })
    };
    let Planned::Resize { from, to } = *planned else {
        return Err(not("the action is not a resize"));
    };
    let (Kind::Pvc, Some(namespace)) = (object.kind, object.namespace.as_deref()) else {
        return Err(not("the object is not a PersistentVolumeClaim"));
    };
    if to <= from {
        return Err(not("the planned size does not grow the volume"));
    }
    Ok(Target {
        namespace,
        name: &object.name,
        from,
        to,
    })
}

/// What stops the write, if anything: the precondition first (the claim's
/// size is still the planned `from`), then the blockers.
fn check(view: &PvcView, target: &Target) -> Option<Execution> {
    let found = view.current();
    if found != target.from {
        let error = TransientError::Conflict {
            namespace: view.namespace.clone(),
            name: view.name.clone(),
            conflict: Conflict::SizeChanged {
                planned: target.from,
                found,
            },
        };
        return Some(Execution::Failed {
            error: error.into(),
        });
    }
    view.blocker().map(|blocker| Execution::Skipped { blocker })
}

/// The `apiVersion` and `kind` of objects of `kind`.
pub fn type_of(kind: Kind) -> (&'static str, &'static str) {
    match kind {
        Kind::Pvc => ("v1", "PersistentVolumeClaim"),
        Kind::Pod => ("v1", "Pod"),
        Kind::Deployment => ("apps/v1", "Deployment"),
        Kind::StatefulSet => ("apps/v1", "StatefulSet"),
        Kind::Node => ("v1", "Node"),
    }
}

/// An event's `regarding` for an object named by its id (a claim that could
/// not be read, a pod just evicted, any object an action is about).
pub fn reference(object: &ObjectId) -> Option<ObjectReference> {
    let (api_version, kind) = type_of(object.kind);
    Some(ObjectReference {
        api_version: Some(api_version.into()),
        kind: Some(kind.into()),
        namespace: object.namespace.clone(),
        name: Some(object.name.clone()),
        ..ObjectReference::default()
    })
}

/// Sets `spec.resources.requests.storage` of the claim `pvc` describes to
/// `bytes`, only if the claim is still the one read: a JSON merge patch that
/// carries `metadata.resourceVersion` is an optimistic-concurrency
/// precondition (409 Conflict when the claim changed since). It carries
/// `metadata.uid` too, which the server refuses to change (422), so even a
/// claim recreated under the same name is never written by mistake.
pub async fn write_request(
    pvcs: &Api<PersistentVolumeClaim>,
    pvc: &PvcView,
    bytes: u64,
    stamp: Option<&str>,
) -> Result<PersistentVolumeClaim, Error> {
    let metadata = json!({"resourceVersion": pvc.resource_version, "uid": pvc.uid});
    let patch = json!({
        "metadata": super::act::stamped(metadata, stamp),
        "spec": {"resources": {"requests": {"storage": format_bytes(bytes)}}},
    });
    let params = PatchParams {
        field_manager: Some(FIELD_MANAGER.into()),
        ..PatchParams::default()
    };
    let op = Operation::pvc("patch", &pvc.namespace);
    pvcs.patch(&pvc.name, &params, &Patch::Merge(&patch))
        .await
        .map_err(|e| write_error(op, pvc, e))
}

/// A failed patch of the claim `pvc`: 409 and 404 are about that claim.
fn write_error(op: Operation, pvc: &PvcView, error: kube::Error) -> Error {
    match &error {
        kube::Error::Api(status) if status.code == 409 => TransientError::Conflict {
            namespace: pvc.namespace.clone(),
            name: pvc.name.clone(),
            conflict: Conflict::Written,
        }
        .into(),
        kube::Error::Api(status) if status.code == 404 => PermanentError::NotFound {
            namespace: pvc.namespace.clone(),
            name: pvc.name.clone(),
        }
        .into(),
        _ => api_error(op, error),
    }
}

/// RBAC's denial reads `… is forbidden: User "alice" cannot patch resource …`;
/// admission plugins (quota, LimitRange, expansion) also answer 403, but theirs
/// is a refusal of the request, not a missing permission.
pub(crate) fn is_rbac_denial(message: &str) -> bool {
    message.contains("\" cannot ")
}

/// Sorts a failed API call into transient and permanent ([`Retry::of`]).
fn api_error(op: Operation, error: kube::Error) -> Error {
    match error {
        kube::Error::Api(status) => {
            let (code, reason, message) =
                (status.code, status.reason.clone(), status.message.clone());
            match Retry::of(code) {
                _ if code == 403 && is_rbac_denial(&message) => {
                    PermanentError::Forbidden { op, message }.into()
                }
                Retry::Transient | Retry::Conflict => TransientError::Server {
                    op,
                    code,
                    reason,
                    message,
                }
                .into(),
                Retry::Permanent => PermanentError::Rejected {
                    op,
                    code,
                    reason,
                    message,
                }
                .into(),
            }
        }
        e @ (kube::Error::HyperError(_) | kube::Error::Service(_) | kube::Error::ReadEvents(_)) => {
            TransientError::Unreachable { op, source: e }.into()
        }
        e => PermanentError::Client { op, source: e }.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const GI: u64 = 1 << 30;

    fn status(code: u16, reason: &str, message: &str) -> kube::Error {
        kube::Error::Api(Box::new(kube::core::Status {
            code,
            reason: reason.into(),
            message: message.into(),
            ..Default::default()
        }))
    }

    fn view(capacity: &str, request: &str, allow: Option<bool>) -> PvcView {
        let pvc: PersistentVolumeClaim = serde_json::from_value(json!({
            "metadata": {"name": "data", "namespace": "db", "resourceVersion": "7", "uid": "u1"},
            "spec": {"storageClassName": "fast", "resources": {"requests": {"storage": request}}},
            "status": {"phase": "Bound", "capacity": {"storage": capacity}}
        }))
        .expect("a PVC");
        let class: Option<StorageClass> = allow.map(|allow| {
            serde_json::from_value(json!({
                "metadata": {"name": "fast"}, "provisioner": "x", "allowVolumeExpansion": allow
            }))
            .expect("a StorageClass")
        });
        PvcView::new(&pvc, class.as_ref()).expect("a view")
    }

    #[test]
    fn status_codes_sort_by_retry() {
        let cases = [
            (400, Retry::Permanent),
            (401, Retry::Permanent),
            (403, Retry::Permanent),
            (404, Retry::Permanent),
            (408, Retry::Transient),
            (409, Retry::Conflict),
            (410, Retry::Permanent),
            (422, Retry::Permanent),
            (429, Retry::Transient),
            (500, Retry::Transient),
            (502, Retry::Transient),
            (503, Retry::Transient),
            (504, Retry::Transient),
        ];
        for (code, want) in cases {
            assert_eq!(Retry::of(code), want, "{code}");
        }
    }

    #[test]
    fn api_errors_sort_into_transient_and_permanent() {
        let op = || Operation::pvc("patch", "db");
        let cases = [
            (
                403,
                r#"User "bob" cannot patch resource "persistentvolumeclaims""#,
                false,
            ),
            (
                403,
                "maximum storage usage per PersistentVolumeClaim is 15Gi",
                false,
            ),
            (404, "not found", false),
            (422, "field can not be less than previous value", false),
            (400, "admission webhook denied the request", false),
            (429, "too many requests", true),
            (500, "etcdserver: request timed out", true),
            (503, "unavailable", true),
            (504, "timeout", true),
        ];
        for (code, message, transient) in cases {
            let e = api_error(op(), status(code, "Reason", message));
            assert_eq!(e.is_transient(), transient, "{code}: {e}");
        }
        let e = api_error(op(), status(422, "Invalid", "spec: Forbidden"));
        assert_eq!(
            e.to_string(),
            "patch persistentvolumeclaims in namespace db: the API server refused it (422 Invalid): spec: Forbidden"
        );
    }

    #[test]
    fn a_409_on_the_write_is_a_conflict_and_a_404_names_the_claim() {
        let v = view("10Gi", "10Gi", Some(true));
        let op = || Operation::pvc("patch", "db");
        let e = write_error(
            op(),
            &v,
            status(409, "Conflict", "the object has been modified"),
        );
        assert!(e.is_transient() && e.is_conflict(), "{e}");
        assert_eq!(
            e.to_string(),
            "PVC db/data changed between read and write (409 Conflict); nothing was written, it is planned again"
        );
        let e = write_error(op(), &v, status(404, "NotFound", "gone"));
        assert!(!e.is_transient());
        assert_eq!(e.to_string(), "PVC db/data not found");
        let e = write_error(op(), &v, status(503, "ServiceUnavailable", "busy"));
        assert!(e.is_transient() && !e.is_conflict(), "{e}");
    }

    #[test]
    fn rbac_denials_are_told_from_admission_refusals() {
        assert!(is_rbac_denial(
            r#"persistentvolumeclaims "data" is forbidden: User "bob" cannot patch resource "persistentvolumeclaims" in API group "" in the namespace "db""#
        ));
        assert!(!is_rbac_denial(
            r#"persistentvolumeclaims "data" is forbidden: maximum storage usage per PersistentVolumeClaim is 15Gi, but request is 20Gi"#
        ));
        assert!(!is_rbac_denial(
            "only dynamically provisioned pvc can be resized and the storageclass that provisions the pvc must support resize"
        ));
        let e = api_error(
            Operation::pvc("patch", "db"),
            status(
                403,
                "Forbidden",
                r#"User "bob" cannot patch resource "persistentvolumeclaims""#,
            ),
        );
        assert!(matches!(
            e,
            Error::Permanent(PermanentError::Forbidden { .. })
        ));
        assert!(
            e.to_string()
                .starts_with("missing permission: patch persistentvolumeclaims in namespace db"),
            "{e}"
        );
    }

    #[test]
    fn the_planned_from_is_a_precondition() {
        let t = |from: u64, to: u64| Target {
            namespace: "db",
            name: "data",
            from,
            to,
        };
        // As planned: go.
        assert!(check(&view("10Gi", "10Gi", Some(true)), &t(10 * GI, 20 * GI)).is_none());
        // Grown by someone else since (the request or the capacity): a conflict.
        for v in [
            view("10Gi", "15Gi", Some(true)),
            view("15Gi", "10Gi", Some(true)),
        ] {
            match check(&v, &t(10 * GI, 20 * GI)) {
                Some(Execution::Failed { error }) => {
                    assert!(error.is_conflict() && error.is_transient());
                    assert_eq!(
                        error.to_string(),
                        "PVC db/data is 15Gi now, not the 10Gi the resize was planned from; nothing was written, it is planned again"
                    );
                }
                other => panic!("expected a conflict, got {other:?}"),
            }
        }
        // The precondition holds but a blocker stands: skipped, in its words.
        match check(&view("10Gi", "10Gi", Some(false)), &t(10 * GI, 20 * GI)) {
            Some(e @ Execution::Skipped { .. }) => assert_eq!(
                e.to_string(),
                "resize skipped: StorageClass `fast` does not allow volume expansion"
            ),
            other => panic!("expected skipped, got {other:?}"),
        }
        match check(&view("10Gi", "10Gi", None), &t(10 * GI, 20 * GI)) {
            Some(Execution::Skipped { blocker }) => {
                assert_eq!(blocker.text(), "StorageClass `fast` not found")
            }
            other => panic!("expected skipped, got {other:?}"),
        }
    }

    #[test]
    fn only_a_growing_resize_of_a_pvc_is_carried_out() {
        let pvc: ObjectId = "pvc/db/data".parse().unwrap();
        let grow = Planned::Resize {
            from: 10 * GI,
            to: 20 * GI,
        };
        assert_eq!(
            target(&pvc, &grow).ok(),
            Some(Target {
                namespace: "db",
                name: "data",
                from: 10 * GI,
                to: 20 * GI
            })
        );
        let shrink = Planned::Resize {
            from: 20 * GI,
            to: 10 * GI,
        };
        let node: ObjectId = "node/n1".parse().unwrap();
        for (object, planned, why) in [
            (&pvc, &shrink, "the planned size does not grow the volume"),
            (&pvc, &Planned::Evict, "the action is not a resize"),
            (&node, &grow, "the object is not a PersistentVolumeClaim"),
        ] {
            let e = target(object, planned).expect_err(why);
            assert!(!e.is_transient());
            assert!(e.to_string().ends_with(&format!("({why})")), "{e}");
        }
    }

    #[test]
    fn executions_read_as_sentences_and_convert_to_outcomes() {
        let applied = Execution::Applied {
            from: 10 * GI,
            to: 20 * GI,
        };
        assert_eq!(applied.to_string(), "resized from 10Gi to 20Gi");
        assert_eq!(ActionOutcome::from(&applied), ActionOutcome::Applied);
        let skipped = Execution::Skipped {
            blocker: Blocker::ResizeInProgress { detail: None },
        };
        assert_eq!(skipped.name(), "skipped");
        assert_eq!(
            ActionOutcome::from(&skipped),
            ActionOutcome::Skipped(SkipReason::Blocked(Blocker::ResizeInProgress {
                detail: None
            }))
        );
        let failed = Execution::Failed {
            error: PermanentError::NotFound {
                namespace: "db".into(),
                name: "data".into(),
            }
            .into(),
        };
        assert_eq!(failed.to_string(), "resize failed: PVC db/data not found");
        assert_eq!(
            ActionOutcome::from(&failed),
            ActionOutcome::Failed(Failure::permanent("PVC db/data not found"))
        );
    }
}
