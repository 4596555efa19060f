//! What `autopilot status` reads: the leader's Lease, the state annotations
//! of every object a policy can act on, and the ActionApprovals, as plain
//! data ([`Status`]) that [`crate::report::status`] renders.
//!
//! It runs as the user, not as the controller: it lists (metadata only) PVCs,
//! pods, deployments, statefulsets and nodes in every namespace, lists
//! ActionApprovals in every namespace, and gets the Lease `autopilot` in the
//! controller's namespace.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{Node, PersistentVolumeClaim, Pod};
use kube::Client;
use kube::api::{Api, ListParams, ObjectList, PartialObjectMeta};

use super::approval::{self, ActionApproval, ActionApprovalSpec, error_chain};
use super::state::{ANNOTATION, ObjectState, PolicyState};
use crate::engine::state::Phase;
use crate::engine::{ObjectId, Time};
use crate::ir::Kind;

/// The Lease the replicas elect a leader on.
pub const LEASE: &str = "autopilot";

/// The Lease as read.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Leader {
    pub holder: Option<String>,
    /// When the holder last renewed (milliseconds since the epoch).
    pub renewed: Option<Time>,
    /// How long a renewal holds.
    pub duration_ms: Option<Time>,
}

impl Leader {
    /// The holder, if its Lease has not expired at `now`.
    pub fn current(&self, now: Time) -> Option<&str> {
        let holder = self.holder.as_deref().filter(|h| !h.is_empty())?;
        match (self.renewed, self.duration_ms) {
            (Some(renewed), Some(d)) if renewed.saturating_add(d) < now => None,
            (None, _) => None,
            _ => Some(holder),
        }
    }
}

/// One object that is not normal under one policy.
#[derive(Clone, Debug, PartialEq)]
pub struct ObjectRow {
    pub object: ObjectId,
    pub state: PolicyState,
    /// The ActionApproval of this (source, policy, object), if there is one.
    pub approval: Option<String>,
}

/// One policy and its objects that are not normal, by object.
#[derive(Clone, Debug, PartialEq)]
pub struct PolicyGroup {
    pub source: String,
    /// The display name (the key when the state has none).
    pub policy: String,
    pub objects: Vec<ObjectRow>,
}

/// An object whose state annotation was not read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InvalidState {
    pub object: ObjectId,
    pub error: String,
}

/// One ActionApproval.
#[derive(Clone, Debug, PartialEq)]
pub struct ApprovalRow {
    pub namespace: String,
    pub name: String,
    pub spec: ActionApprovalSpec,
    /// Its creation time (milliseconds since the epoch).
    pub created: Option<Time>,
}

/// Everything `autopilot status` shows.
#[derive(Clone, Debug, PartialEq)]
pub struct Status {
    /// The controller's namespace, where the Lease is.
    pub namespace: String,
    /// None: no Lease.
    pub leader: Option<Leader>,
    /// By source, then policy name.
    pub policies: Vec<PolicyGroup>,
    /// By object.
    pub invalid: Vec<InvalidState>,
    /// By namespace, then name.
    pub approvals: Vec<ApprovalRow>,
}

impl Status {
    /// Groups the objects' state annotations by policy (dropping normal
    /// states), and links each row to its approval. Pure: the lists in, in
    /// any order.
    pub fn build(
        namespace: &str,
        leader: Option<Leader>,
        annotations: impl IntoIterator<Item = (ObjectId, String)>,
        mut approvals: Vec<ApprovalRow>,
    ) -> Status {
        approvals.sort_by(|a, b| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)));
        let names: std::collections::BTreeSet<&str> =
            approvals.iter().map(|a| a.name.as_str()).collect();
        let mut groups: BTreeMap<(String, String), Vec<ObjectRow>> = BTreeMap::new();
        let mut invalid = Vec::new();
        for (object, text) in annotations {
            let parsed = match ObjectState::parse(&text) {
                Ok(parsed) => parsed,
                Err(e) => {
                    invalid.push(InvalidState {
                        object,
                        error: e.to_string(),
                    });
                    continue;
                }
            };
            for state in parsed.policies {
                if state.phase == Phase::Normal {
                    continue;
                }
                let name = approval::name_for(&state.source, &state.policy, &object);
                let display = if state.name.is_empty() {
                    state.policy.clone()
                } else {
                    state.name.clone()
                };
                groups
                    .entry((state.source.clone(), display))
                    .or_default()
                    .push(ObjectRow {
                        object: object.clone(),
                        approval: names.contains(name.as_str()).then_some(name),
                        state,
                    });
            }
        }
        invalid.sort_by(|a, b| a.object.cmp(&b.object));
        let policies = groups
            .into_iter()
            .map(|((source, policy), mut objects)| {
                objects.sort_by(|a, b| a.object.cmp(&b.object));
                PolicyGroup {
                    source,
                    policy,
                    objects,
                }
            })
            .collect();
        Status {
            namespace: namespace.into(),
            leader,
            policies,
            invalid,
            approvals,
        }
    }

    /// The approval named `name`.
    pub fn approval(&self, name: &str) -> Option<&ApprovalRow> {
        self.approvals.iter().find(|a| a.name == name)
    }
}

/// Why the status was not read.
#[derive(Debug, thiserror::Error)]
pub enum StatusError {
    #[error("not allowed to {what}: {message}")]
    Forbidden { what: String, message: String },
    #[error(
        "the API server does not serve ActionApprovals: apply the CRD first (kubectl apply -f deploy/crd.yaml)"
    )]
    NoCrd,
    #[error("cannot {what}: {message}")]
    Refused { what: String, message: String },
    #[error("cannot reach the API server: {0}")]
    Unreachable(String),
}

fn status_error(what: &str, e: kube::Error) -> StatusError {
    match e {
        kube::Error::Api(s) if s.code == 403 => StatusError::Forbidden {
            what: what.into(),
            message: s.message,
        },
        kube::Error::Api(s) => StatusError::Refused {
            what: what.into(),
            message: s.message,
        },
        other => StatusError::Unreachable(error_chain(&other)),
    }
}

fn millis(t: &k8s_openapi::jiff::Timestamp) -> Time {
    t.as_millisecond()
}

/// Reads the Lease in `namespace`, every object's state annotation and every
/// ActionApproval.
pub async fn read(client: &Client, namespace: &str) -> Result<Status, StatusError> {
    let leases: Api<Lease> = Api::namespaced(client.clone(), namespace);
    let leader = leases
        .get_opt(LEASE)
        .await
        .map_err(|e| status_error(&format!("get the Lease {namespace}/{LEASE}"), e))?
        .and_then(|l| l.spec)
        .map(|s| Leader {
            holder: s.holder_identity,
            renewed: s.renew_time.or(s.acquire_time).map(|t| millis(&t.0)),
            duration_ms: s.lease_duration_seconds.map(|d| Time::from(d) * 1000),
        });
    let mut annotations = Vec::new();
    annotated::<PersistentVolumeClaim>(client, Kind::Pvc, &mut annotations).await?;
    annotated::<Pod>(client, Kind::Pod, &mut annotations).await?;
    annotated::<Deployment>(client, Kind::Deployment, &mut annotations).await?;
    annotated::<StatefulSet>(client, Kind::StatefulSet, &mut annotations).await?;
    annotated::<Node>(client, Kind::Node, &mut annotations).await?;
    let approvals = Api::<ActionApproval>::all(client.clone())
        .list(&ListParams::default())
        .await
        .map_err(|e| match e {
            kube::Error::Api(s) if s.code == 404 => StatusError::NoCrd,
            e => status_error("list actionapprovals", e),
        })?
        .items
        .into_iter()
        .map(|a| ApprovalRow {
            namespace: a.metadata.namespace.unwrap_or_default(),
            name: a.metadata.name.unwrap_or_default(),
            created: a.metadata.creation_timestamp.map(|t| millis(&t.0)),
            spec: a.spec,
        })
        .collect();
    Ok(Status::build(namespace, leader, annotations, approvals))
}

/// The state annotations of every object of kind `K`, listed as metadata
/// only, a page at a time.
async fn annotated<K>(
    client: &Client,
    kind: Kind,
    out: &mut Vec<(ObjectId, String)>,
) -> Result<(), StatusError>
where
    K: kube::Resource<DynamicType = ()> + Clone + serde::de::DeserializeOwned + std::fmt::Debug,
{
    let api: Api<K> = Api::all(client.clone());
    let plural = K::plural(&()).into_owned();
    let mut params = ListParams::default().limit(500);
    loop {
        let page: ObjectList<PartialObjectMeta<K>> = api
            .list_metadata(&params)
            .await
            .map_err(|e| status_error(&format!("list {plural}"), e))?;
        for item in page.items {
            let meta = item.metadata;
            let Some(text) = meta.annotations.and_then(|mut a| a.remove(ANNOTATION)) else {
                continue;
            };
            let name = meta.name.unwrap_or_default();
            let ns = if kind.namespaced() {
                meta.namespace.as_deref()
            } else {
                None
            };
            out.push((ObjectId::new(kind, ns, &name), text));
        }
        match page.metadata.continue_ {
            Some(next) if !next.is_empty() => params = params.continue_token(&next),
            _ => return Ok(()),
        }
    }
}
