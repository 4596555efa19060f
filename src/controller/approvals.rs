//! Approvals (DESIGN.md section 6): a policy in `mode approve` asks through
//! an [`ActionApproval`] in the object's namespace (the controller's, for a
//! node) instead of acting.
//!
//! - **Requested** when the engine says `awaiting_approval`: created, or
//!   replaced when the plan moved (same name per source, policy and object,
//!   so there is one request at a time), `pending`, owned by the object
//!   (deleting the object deletes its request, where a garbage collector
//!   runs), with a Normal Event `ApprovalRequested` on the object.
//! - **Decided** by a person (`spec.decision`, or `autopilot approve|decline
//!   NAME`): the engine reads each decision from the tick it is first seen,
//!   with the plan that was approved. An approval of a plan that no longer
//!   matches is not acted on; the engine asks again and the request is
//!   replaced. `declined` holds until the condition clears.
//! - **Collected** once done: when the (policy, object) is neither awaiting
//!   approval nor declined by its approver any more (it acted, or the
//!   condition cleared), or its policy is gone.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use kube::api::{Api, DeleteParams, Patch, PatchParams};
use kube::{Client, ResourceExt};
use tokio::sync::watch;

use super::Live;
use super::objects::{self, Meta, Mirror};
use super::sources::SourceId;
use super::telemetry::{Telemetry, Write};
use crate::cluster::approval::{self, ActionApproval, ActionApprovalSpec, MANAGED_BY, Request};
use crate::cluster::events::{Events, Note};
use crate::cluster::resize::{self, FIELD_MANAGER};
use crate::engine::{
    ActionResult, Approval, Engine, Event, EventKind, ObjectId, Phase, Planned, Time,
};

/// The Normal Event on an object whose action awaits approval.
pub const APPROVAL_REQUESTED: &str = "ApprovalRequested";

/// One ActionApproval as mirrored.
#[derive(Clone, Debug)]
pub(super) struct Seen {
    namespace: String,
    name: String,
    spec: ActionApprovalSpec,
}

pub(super) struct Approvals {
    client: Client,
    home: String,
    mirror: Arc<Mutex<Mirror<Seen>>>,
    /// When each decision was first seen, by (namespace/name, requested).
    decided: HashMap<(String, String), Time>,
    telemetry: Telemetry,
    dry_run: bool,
}

impl Approvals {
    /// Watches the ActionApprovals autopilot manages, in every namespace.
    /// A cluster without the CRD is logged by the watcher (backed off); the
    /// rest of the controller runs, and `mode approve` policies wait.
    pub(super) fn watch(client: &Client, home: &str, telemetry: Telemetry, dry_run: bool) -> Self {
        let mirror = Arc::new(Mutex::new(Mirror::default()));
        let selector = format!("{}={}", MANAGED_BY.0, MANAGED_BY.1);
        objects::spawn(
            Api::<ActionApproval>::all(client.clone()),
            objects::config().labels(&selector),
            "actionapproval",
            |a| {
                let namespace = a.namespace().unwrap_or_default();
                let name = a.name_any();
                let key = format!("{namespace}/{name}");
                let seen = Seen {
                    namespace,
                    name,
                    spec: a.spec.clone(),
                };
                (key, Some(seen))
            },
            Arc::clone(&mirror),
        );
        Approvals {
            client: client.clone(),
            home: home.to_string(),
            mirror,
            decided: HashMap::new(),
            telemetry,
            dry_run,
        }
    }

    fn seen(&self) -> Vec<Seen> {
        self.mirror
            .lock()
            .map(|m| m.live.values().cloned().collect())
            .unwrap_or_default()
    }

    /// The decisions the engine of `source` reads at `t`.
    pub(super) fn decisions(&mut self, source: &SourceId, t: Time) -> Vec<Approval> {
        let source = source.to_string();
        let mut out = Vec::new();
        for s in self.seen() {
            if s.spec.source != source {
                continue;
            }
            let (Some(decision), Ok(object)) =
                (s.spec.decision.answer(), s.spec.object.parse::<ObjectId>())
            else {
                continue;
            };
            let key = (
                format!("{}/{}", s.namespace, s.name),
                s.spec.requested.clone(),
            );
            let at = *self.decided.entry(key).or_insert(t);
            // A plan that does not read back never matches: asked again.
            let plan = serde_json::from_str::<Vec<Planned>>(&s.spec.plan).unwrap_or_default();
            out.push(Approval {
                policy: s.spec.policy.clone(),
                object,
                decision,
                at,
                plan: Some(plan),
            });
        }
        out
    }

    /// Creates or replaces a request for each (policy, object) that `said`
    /// is awaiting approval.
    pub(super) async fn request(
        &mut self,
        source: &SourceId,
        engine: &Engine,
        said: &[Event],
        meta: &HashMap<&ObjectId, &Meta>,
        events: &Events,
        leading: &watch::Receiver<bool>,
    ) {
        let mut asks: BTreeMap<(&str, &ObjectId), (Time, Vec<Planned>)> = BTreeMap::new();
        for e in said {
            if let EventKind::Action {
                planned: Some(p),
                result: ActionResult::AwaitingApproval,
                ..
            } = &e.kind
            {
                let ask = asks
                    .entry((e.policy.as_str(), &e.object))
                    .or_insert((e.time, Vec::new()));
                ask.1.push(p.clone());
            }
        }
        let source_text = source.to_string();
        for ((policy, object), (t, planned)) in asks {
            let Some(key) = engine
                .program()
                .policies
                .iter()
                .find(|p| p.name == policy)
                .map(|p| p.key.as_str())
            else {
                continue;
            };
            let namespace = object
                .namespace
                .clone()
                .unwrap_or_else(|| self.home.clone());
            let mut request = approval::new_request(
                &namespace,
                Request {
                    source: &source_text,
                    policy_key: key,
                    policy,
                    object,
                    planned: &planned,
                    now: t,
                },
            );
            let name = request.name_any();
            if self.dry_run {
                tracing::info!(%object, %policy, "dry run: would request approval {namespace}/{name}");
                continue;
            }
            if let Some(owner) = owner(object, meta.get(object).copied()) {
                request.metadata.owner_references = Some(vec![owner]);
            }
            if !*leading.borrow() {
                return;
            }
            let api: Api<ActionApproval> = Api::namespaced(self.client.clone(), &namespace);
            let params = PatchParams::apply(FIELD_MANAGER).force();
            self.telemetry.wrote(Write::Approval);
            let text = approval::plan_text(&planned);
            match api.patch(&name, &params, &Patch::Apply(&request)).await {
                Ok(_) => {
                    tracing::info!(%object, %policy, "approval requested: {namespace}/{name} ({text})");
                    let note = Note {
                        warning: false,
                        reason: APPROVAL_REQUESTED.into(),
                        action: "Request",
                        message: format!(
                            "policy {policy}: {text} awaits approval: autopilot approve {name} -n {namespace}"
                        ),
                    };
                    if let Some(regarding) = resize::reference(object)
                        && let Err(e) = events.publish(&regarding, &note).await
                    {
                        tracing::warn!(%object, "could not record the event: {e}");
                    }
                }
                Err(kube::Error::Api(s)) if s.code == 404 => tracing::error!(
                    %object,
                    %policy,
                    "cannot request approval: the ActionApproval CRD is not installed \
                     (kubectl apply -f deploy/crd.yaml); the policy waits"
                ),
                Err(e) => tracing::warn!(
                    %object,
                    %policy,
                    "cannot request approval {namespace}/{name}; asked again when the plan \
                     changes or the controller restarts: {e}"
                ),
            }
        }
    }

    /// Deletes the requests that are done: their (policy, object) no longer
    /// awaits approval nor stands declined by its approver, or the policy
    /// is gone. Sources not restored yet are left alone.
    pub(super) async fn collect(
        &mut self,
        live: &BTreeMap<SourceId, Live>,
        leading: &watch::Receiver<bool>,
    ) {
        let by_source: HashMap<String, &Live> =
            live.iter().map(|(id, l)| (id.to_string(), l)).collect();
        for s in self.seen() {
            let done = match by_source.get(&s.spec.source) {
                Some(l) if !l.restored => continue,
                Some(l) => {
                    let known = l.program.policies.iter().any(|p| p.name == s.spec.policy);
                    match s.spec.object.parse::<ObjectId>() {
                        Ok(object) if known => !matches!(
                            l.engine.phase(&s.spec.policy, &object),
                            Phase::AwaitingApproval { .. } | Phase::Declined { by_approver: true }
                        ),
                        _ => true,
                    }
                }
                // Sources come and go with ConfigMaps; one that is not
                // loaded (yet) keeps its requests.
                None => continue,
            };
            if !done || !*leading.borrow() {
                continue;
            }
            let api: Api<ActionApproval> = Api::namespaced(self.client.clone(), &s.namespace);
            self.telemetry.wrote(Write::Approval);
            match api.delete(&s.name, &DeleteParams::default()).await {
                Ok(_) => {
                    tracing::info!(policy = %s.spec.policy, object = %s.spec.object,
                        "approval {}/{} done ({}): deleted", s.namespace, s.name, s.spec.decision);
                    self.decided
                        .retain(|(name, _), _| *name != format!("{}/{}", s.namespace, s.name));
                    if let Ok(mut m) = self.mirror.lock() {
                        m.live.remove(&format!("{}/{}", s.namespace, s.name));
                    }
                }
                Err(kube::Error::Api(e)) if e.code == 404 => {}
                Err(e) => tracing::warn!(
                    "approval {}/{} is done but could not be deleted: {e}",
                    s.namespace,
                    s.name
                ),
            }
        }
    }
}

/// The object as the owner of its request, when its uid is known.
fn owner(object: &ObjectId, meta: Option<&Meta>) -> Option<OwnerReference> {
    let uid = meta?.uid.as_deref()?;
    let (api_version, kind) = resize::type_of(object.kind);
    Some(OwnerReference {
        api_version: api_version.into(),
        kind: kind.into(),
        name: object.name.clone(),
        uid: uid.into(),
        ..OwnerReference::default()
    })
}
