//! The resize executor: grows a PersistentVolumeClaim's storage request.
//!
//! One call reads the claim and its StorageClass, decides (skip, plan with
//! [`plan::resize`], decline at the limit) and writes the new request with a
//! precondition on the `resourceVersion` and `uid` it read. A 409 Conflict means
//! someone wrote in between: it reads and plans again, a bounded number of times.
//! Every applied, skipped, declined or failed resize leaves a Kubernetes Event.
//!
//! Errors follow kube-rs controller-rs: [`Error::Transient`] is worth retrying
//! with backoff, [`Error::Permanent`] needs something to change first.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use k8s_openapi::api::core::v1::PersistentVolumeClaim;
use k8s_openapi::api::storage::v1::StorageClass;
use kube::api::{Api, Patch, PatchParams};
use kube::{Client, Resource};
use serde_json::json;

use super::events::{self, Events, Note};
use super::pvc::{BadQuantity, PvcView, SkipReason};
use super::quantity::format_bytes;
use crate::engine::plan::{self, ResizePlan};
use crate::ir::Resize;

/// The field manager of every write, so `managedFields` shows who changed what.
pub const FIELD_MANAGER: &str = "autopilot";

/// Reads and writes per call before a run of 409 Conflicts counts as a failure.
pub const DEFAULT_MAX_ATTEMPTS: u32 = 5;

/// What one resize came to.
#[derive(Debug)]
pub enum Outcome {
    /// `spec.resources.requests.storage` went from `from` to `to` bytes.
    Applied { from: u64, to: u64 },
    /// The claim may not be resized now; nothing was written.
    Skipped { reason: SkipReason },
    /// The resize was refused: at the policy's limit (nothing written) or by the API server.
    Declined { reason: DeclineReason },
    /// Something went wrong; see [`Error::is_transient`].
    Failed { error: Error },
}

impl Outcome {
    /// The result name of DESIGN.md section 5.1: applied, skipped, declined, failed.
    pub fn name(&self) -> &'static str {
        match self {
            Outcome::Applied { .. } => "applied",
            Outcome::Skipped { .. } => "skipped",
            Outcome::Declined { .. } => "declined",
            Outcome::Failed { .. } => "failed",
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outcome::Applied { from, to } => write!(
                f,
                "resized from {} to {}",
                format_bytes(*from),
                format_bytes(*to)
            ),
            Outcome::Skipped { reason } => write!(f, "resize skipped: {reason}"),
            Outcome::Declined { reason } => write!(f, "resize declined: {reason}"),
            Outcome::Failed { error } => write!(f, "resize failed: {error}"),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DeclineReason {
    /// The plan does not grow the claim: it is at the policy's `max` (or `to`).
    AtLimit { current: u64, limit: u64 },
    /// The API server refused the new request: validation (422 Invalid) or an
    /// admission plugin such as a LimitRange or a ResourceQuota (403 Forbidden).
    Refused {
        code: u16,
        reason: String,
        message: String,
    },
}

impl fmt::Display for DeclineReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DeclineReason::AtLimit { current, limit } => write!(
                f,
                "the claim is at {}, the policy's limit is {}",
                format_bytes(*current),
                format_bytes(*limit)
            ),
            DeclineReason::Refused {
                code,
                reason,
                message,
            } => write!(f, "the API server refused it ({code} {reason}): {message}"),
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

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Retry later with backoff: the server was unreachable or overloaded, or the
    /// claim kept changing under us.
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
    #[error(
        "PVC {namespace}/{name} changed between read and write {attempts} times in a row (409 Conflict)"
    )]
    Conflicts {
        namespace: String,
        name: String,
        attempts: u32,
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
    #[error("{op}: the API server answered {code} {reason}: {message}")]
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
}

/// What became of one write.
#[derive(Debug)]
pub enum WriteError {
    /// The claim changed since it was read (409): read it again.
    Conflict,
    /// The server refused the new size: validation or admission.
    Refused(DeclineReason),
    Failed(Error),
}

/// The outcome of [`ResizeExecutor::resize`], with how it got there.
#[derive(Debug)]
pub struct Report {
    pub outcome: Outcome,
    /// Reads of the claim: 1, plus one per 409 Conflict.
    pub attempts: u32,
    /// Set if the event about the outcome could not be written.
    pub event_error: Option<Error>,
}

/// Runs between the read and the write of each attempt, with the attempt number
/// (from 1) and the claim as read. A test seam: tests use it to interleave a
/// concurrent writer deterministically.
pub type BeforeWrite = Arc<
    dyn Fn(u32, PersistentVolumeClaim) -> Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync,
>;

#[derive(Clone)]
pub struct ResizeExecutor {
    client: Client,
    events: Events,
    max_attempts: u32,
    before_write: Option<BeforeWrite>,
}

impl ResizeExecutor {
    pub fn new(client: Client, events: Events) -> Self {
        ResizeExecutor {
            client,
            events,
            max_attempts: DEFAULT_MAX_ATTEMPTS,
            before_write: None,
        }
    }

    pub fn with_max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts.max(1);
        self
    }

    pub fn with_before_write(mut self, hook: BeforeWrite) -> Self {
        self.before_write = Some(hook);
        self
    }

    /// Resizes the claim `namespace/name` as `action` says, and records an event.
    pub async fn resize(&self, namespace: &str, name: &str, action: &Resize) -> Report {
        let (outcome, pvc, attempts) = self.run(namespace, name, action).await;
        let event_error = match &pvc {
            Some(pvc) => self.record(pvc, &outcome).await.err(),
            None => None,
        };
        match &outcome {
            Outcome::Applied { .. } => tracing::info!(%namespace, %name, attempts, "{outcome}"),
            _ => tracing::warn!(%namespace, %name, attempts, "{outcome}"),
        }
        if let Some(e) = &event_error {
            tracing::warn!(%namespace, %name, "could not record the event: {e}");
        }
        Report {
            outcome,
            attempts,
            event_error,
        }
    }

    /// The outcome, the claim as last read (for the event) and the number of reads.
    async fn run(
        &self,
        namespace: &str,
        name: &str,
        action: &Resize,
    ) -> (Outcome, Option<PersistentVolumeClaim>, u32) {
        let pvcs: Api<PersistentVolumeClaim> = Api::namespaced(self.client.clone(), namespace);
        let mut last = None;
        for attempt in 1..=self.max_attempts {
            let pvc = match pvcs.get_opt(name).await {
                Ok(Some(pvc)) => pvc,
                Ok(None) => {
                    let error = PermanentError::NotFound {
                        namespace: namespace.into(),
                        name: name.into(),
                    };
                    return (failed(error.into()), None, attempt);
                }
                Err(e) => {
                    return (
                        failed(api_error(Operation::pvc("get", namespace), e)),
                        last,
                        attempt,
                    );
                }
            };
            let view = match self.view(&pvc).await {
                Ok(view) => view,
                Err(error) => return (failed(error), Some(pvc), attempt),
            };
            let outcome = match decide(&view, action) {
                Decision::Done(outcome) => outcome,
                Decision::Grow { from, to } => {
                    if let Some(hook) = &self.before_write {
                        hook(attempt, pvc.clone()).await;
                    }
                    match write_request(&pvcs, &view, to).await {
                        Ok(_) => Outcome::Applied { from, to },
                        Err(WriteError::Conflict) => {
                            last = Some(pvc);
                            continue;
                        }
                        Err(WriteError::Refused(reason)) => Outcome::Declined { reason },
                        Err(WriteError::Failed(error)) => failed(error),
                    }
                }
            };
            return (outcome, Some(pvc), attempt);
        }
        let error = TransientError::Conflicts {
            namespace: namespace.into(),
            name: name.into(),
            attempts: self.max_attempts,
        };
        (failed(error.into()), last, self.max_attempts)
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

    async fn record(&self, pvc: &PersistentVolumeClaim, outcome: &Outcome) -> Result<(), Error> {
        let note = Note {
            warning: !matches!(outcome, Outcome::Applied { .. }),
            reason: match outcome {
                Outcome::Applied { .. } => events::reason::VOLUME_RESIZED,
                Outcome::Skipped { .. } => events::reason::RESIZE_SKIPPED,
                Outcome::Declined { .. } => events::reason::RESIZE_DECLINED,
                Outcome::Failed { .. } => events::reason::RESIZE_FAILED,
            },
            action: "Resize",
            message: outcome.to_string(),
        };
        let op = Operation {
            verb: "create",
            resource: "events.events.k8s.io",
            namespace: pvc.meta().namespace.clone(),
        };
        self.events
            .publish(&pvc.object_ref(&()), &note)
            .await
            .map_err(|e| api_error(op, e))
    }
}

enum Decision {
    Done(Outcome),
    Grow { from: u64, to: u64 },
}

fn decide(view: &PvcView, action: &Resize) -> Decision {
    if let Some(reason) = view.skip_reason() {
        return Decision::Done(Outcome::Skipped { reason });
    }
    match plan::resize(view.current(), action) {
        ResizePlan::Grow { from, to } => Decision::Grow { from, to },
        ResizePlan::Declined { current, limit } => Decision::Done(Outcome::Declined {
            reason: DeclineReason::AtLimit { current, limit },
        }),
    }
}

fn failed(error: Error) -> Outcome {
    Outcome::Failed { error }
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
) -> Result<PersistentVolumeClaim, WriteError> {
    let patch = json!({
        "metadata": {"resourceVersion": pvc.resource_version, "uid": pvc.uid},
        "spec": {"resources": {"requests": {"storage": format_bytes(bytes)}}},
    });
    let params = PatchParams {
        field_manager: Some(FIELD_MANAGER.into()),
        ..PatchParams::default()
    };
    let op = Operation::pvc("patch", &pvc.namespace);
    match pvcs.patch(&pvc.name, &params, &Patch::Merge(&patch)).await {
        Ok(written) => Ok(written),
        Err(kube::Error::Api(status)) => match status.code {
            409 => Err(WriteError::Conflict),
            404 => Err(WriteError::Failed(
                PermanentError::NotFound {
                    namespace: pvc.namespace.clone(),
                    name: pvc.name.clone(),
                }
                .into(),
            )),
            422 => Err(WriteError::Refused(refused(&status))),
            403 if !is_rbac_denial(&status.message) => Err(WriteError::Refused(refused(&status))),
            _ => Err(WriteError::Failed(api_error(op, kube::Error::Api(status)))),
        },
        Err(e) => Err(WriteError::Failed(api_error(op, e))),
    }
}

fn refused(status: &kube::core::Status) -> DeclineReason {
    DeclineReason::Refused {
        code: status.code,
        reason: status.reason.clone(),
        message: status.message.clone(),
    }
}

/// RBAC's denial reads `… is forbidden: User "alice" cannot patch resource …`;
/// admission plugins (quota, LimitRange, expansion) also answer 403, but theirs
/// is a refusal of the request, not a missing permission.
fn is_rbac_denial(message: &str) -> bool {
    message.contains("\" cannot ")
}

/// Sorts a failed API call into transient and permanent.
fn api_error(op: Operation, error: kube::Error) -> Error {
    match error {
        kube::Error::Api(status) => {
            let (code, reason, message) =
                (status.code, status.reason.clone(), status.message.clone());
            match code {
                403 if is_rbac_denial(&message) => PermanentError::Forbidden { op, message }.into(),
                408 | 429 | 500 | 502 | 503 | 504 => TransientError::Server {
                    op,
                    code,
                    reason,
                    message,
                }
                .into(),
                _ => PermanentError::Rejected {
                    op,
                    code,
                    reason,
                    message,
                }
                .into(),
            }
        }
        e @ (kube::Error::HyperError(_) | kube::Error::Service(_)) => {
            TransientError::Unreachable { op, source: e }.into()
        }
        e => PermanentError::Client { op, source: e }.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
    }

    #[test]
    fn errors_name_the_permission_and_sort_by_retry() {
        let status = kube::core::Status {
            code: 403,
            reason: "Forbidden".into(),
            message: r#"User "bob" cannot patch resource "persistentvolumeclaims""#.into(),
            ..Default::default()
        };
        let e = api_error(
            Operation::pvc("patch", "db"),
            kube::Error::Api(Box::new(status)),
        );
        assert!(!e.is_transient());
        assert!(
            e.to_string()
                .starts_with("missing permission: patch persistentvolumeclaims in namespace db"),
            "{e}"
        );
        let status = kube::core::Status {
            code: 503,
            reason: "ServiceUnavailable".into(),
            ..Default::default()
        };
        let e = api_error(
            Operation::pvc("get", "db"),
            kube::Error::Api(Box::new(status)),
        );
        assert!(e.is_transient());
    }

    #[test]
    fn outcomes_read_as_sentences() {
        const GI: u64 = 1 << 30;
        let applied = Outcome::Applied {
            from: 10 * GI,
            to: 20 * GI,
        };
        assert_eq!(applied.to_string(), "resized from 10Gi to 20Gi");
        let declined = Outcome::Declined {
            reason: DeclineReason::AtLimit {
                current: 400 * GI,
                limit: 400 * GI,
            },
        };
        assert_eq!(
            declined.to_string(),
            "resize declined: the claim is at 400Gi, the policy's limit is 400Gi"
        );
        assert_eq!(declined.name(), "declined");
    }
}
