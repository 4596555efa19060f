//! The `ActionApproval` custom resource (`autopilot.rs/v1alpha1`, DESIGN.md
//! section 6): a request, created `pending` by the controller in the object's
//! namespace, for a policy's planned actions on one object. A person sets
//! `spec.decision` (`kubectl edit`, or `autopilot approve NAME`); the
//! controller runs the actions only if `spec.plan` is still what it plans.
//!
//! One (source, policy, object) has one approval: its name is
//! [`name_for`] of the three, so a new plan replaces the old request.

use std::collections::BTreeMap;

use kube::CustomResource;
use kube::api::{Api, ObjectMeta, Patch, PatchParams};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::engine::{ObjectId, Planned, Time};
use crate::ir::Fnv;
use crate::report::action::describe;

/// The label every object autopilot creates carries (`managed-by: autopilot`).
pub const MANAGED_BY: (&str, &str) = ("app.kubernetes.io/managed-by", "autopilot");
/// The label naming the policy source an approval belongs to (sanitised, see
/// [`source_label`]).
pub const SOURCE_LABEL: &str = "autopilot.rs/policy-source";

/// A request to carry out a policy's planned actions on one object.
// clippy takes the columns' shared `type_ = "string"` for repeated attributes.
#[allow(clippy::duplicated_attributes)]
#[derive(CustomResource, Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "autopilot.rs",
    version = "v1alpha1",
    kind = "ActionApproval",
    plural = "actionapprovals",
    shortname = "apa",
    namespaced,
    doc = "A request to carry out a policy's planned actions on one object; set spec.decision to approved or declined.",
    printcolumn(name = "Policy", type_ = "string", json_path = ".spec.policy"),
    printcolumn(name = "Object", type_ = "string", json_path = ".spec.object"),
    printcolumn(name = "Action", type_ = "string", json_path = ".spec.action"),
    printcolumn(name = "Decision", type_ = "string", json_path = ".spec.decision"),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[serde(rename_all = "camelCase")]
pub struct ActionApprovalSpec {
    /// The policy source: `configmap NS/NAME`, or `--policies`.
    pub source: String,
    /// The policy's display name.
    pub policy: String,
    /// The object, e.g. `pvc/db/data` or `node/worker-1`.
    pub object: String,
    /// The planned actions as people read them, e.g. `resize 100Gi → 200Gi`.
    pub action: String,
    /// The planned actions as JSON: what the controller compares before it acts.
    pub plan: String,
    /// When the request was made (RFC 3339).
    pub requested: String,
    /// `pending` until a person decides.
    #[serde(default)]
    pub decision: ApprovalDecision,
}

/// `spec.decision`. Not [`crate::engine::Decision`], which is only the two
/// answers: a request is pending until it has one ([`ApprovalDecision::answer`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ApprovalDecision {
    #[default]
    Pending,
    Approved,
    Declined,
}

impl ApprovalDecision {
    pub fn name(self) -> &'static str {
        match self {
            ApprovalDecision::Pending => "pending",
            ApprovalDecision::Approved => "approved",
            ApprovalDecision::Declined => "declined",
        }
    }

    /// The engine's answer, once there is one.
    pub fn answer(self) -> Option<crate::engine::Decision> {
        match self {
            ApprovalDecision::Pending => None,
            ApprovalDecision::Approved => Some(crate::engine::Decision::Approve),
            ApprovalDecision::Declined => Some(crate::engine::Decision::Decline),
        }
    }
}

impl std::fmt::Display for ApprovalDecision {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The longest object name Kubernetes allows where a name is also a label
/// (DNS-1123 label); approvals keep to it.
pub const MAX_NAME: usize = 63;
const PREFIX: &str = "autopilot-";

/// A stable hash of the parts, each length-prefixed so that no two lists of
/// parts hash the same bytes.
fn hash(parts: &[&str]) -> u64 {
    let mut h = Fnv::default();
    for part in parts {
        h.bytes(&(part.len() as u64).to_le_bytes());
        h.bytes(part.as_bytes());
    }
    h.finish()
}

/// `s` lowercased with every run of other characters than `[a-z0-9]` one `-`,
/// none at either end.
fn dns_words(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        let c = c.to_ascii_lowercase();
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            out.push(c);
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    while out.ends_with('-') {
        out.pop();
    }
    out
}

/// The approval's name for one (source, policy key, object): `autopilot-`,
/// the object's kind and as much of its name as fits, and 16 hex digits of a
/// stable hash of the three. A valid DNS-1123 label (at most 63 characters),
/// the same in every build, and distinct for distinct triples but for a
/// 64-bit hash collision.
pub fn name_for(source: &str, policy_key: &str, object: &ObjectId) -> String {
    let hex = format!("{:016x}", hash(&[source, policy_key, &object.to_string()]));
    let room = MAX_NAME - PREFIX.len() - 1 - hex.len();
    let mut readable = dns_words(&format!("{}-{}", object.kind, object.name));
    if readable.len() > room {
        readable.truncate(room);
        while readable.ends_with('-') {
            readable.pop();
        }
    }
    format!("{PREFIX}{readable}-{hex}")
}

/// A label value for `source` (at most 63 of `[A-Za-z0-9._-]`, alphanumeric
/// at both ends): the source with `/` as `_` when that is one and says the
/// source alone (only its last part, a ConfigMap key, may hold a `_`), else
/// as much of it as fits and a hash, so that distinct sources keep distinct
/// values.
pub fn source_label(source: &str) -> String {
    let plain = source.replace('/', "_");
    let alnum = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric());
    let value = plain.len() <= MAX_NAME
        && plain
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
        && alnum(plain.chars().next())
        && alnum(plain.chars().last());
    let mut parts = source.rsplit('/');
    let _key = parts.next();
    if value && parts.all(|p| !p.contains('_')) {
        return plain;
    }
    let hex = format!("{:016x}", hash(&[source]));
    let mut head: String = plain
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .skip_while(|c| !c.is_ascii_alphanumeric())
        .take(MAX_NAME - 1 - hex.len())
        .collect();
    while head.ends_with(|c: char| !c.is_ascii_alphanumeric()) {
        head.pop();
    }
    if head.is_empty() {
        hex
    } else {
        format!("{head}-{hex}")
    }
}

/// The planned actions as `spec.plan` holds them.
pub fn plan_json(planned: &[Planned]) -> String {
    serde_json::to_string(planned).unwrap_or_default()
}

/// The planned actions as `spec.action` says them: `resize 100Gi → 200Gi, label tier="gold"`.
pub fn plan_text(planned: &[Planned]) -> String {
    planned
        .iter()
        .map(|p| describe(p.action(), Some(p)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// What a new request says: everything but where it lives.
#[derive(Clone, Copy, Debug)]
pub struct Request<'a> {
    /// The policy source: `configmap NS/NAME`, or `--policies`.
    pub source: &'a str,
    /// [`crate::ir::Policy::key`]: part of the name.
    pub policy_key: &'a str,
    /// The policy's display name.
    pub policy: &'a str,
    pub object: &'a ObjectId,
    pub planned: &'a [Planned],
    /// When the request is made (milliseconds since the epoch).
    pub now: Time,
}

/// A pending approval named [`name_for`] in `namespace` (the object's, or the
/// controller's for a cluster-scoped object), labelled managed-by autopilot
/// and with its source.
pub fn new_request(namespace: &str, r: Request<'_>) -> ActionApproval {
    let labels = BTreeMap::from([
        (MANAGED_BY.0.to_string(), MANAGED_BY.1.to_string()),
        (SOURCE_LABEL.to_string(), source_label(r.source)),
    ]);
    let spec = ActionApprovalSpec {
        source: r.source.into(),
        policy: r.policy.into(),
        object: r.object.to_string(),
        action: plan_text(r.planned),
        plan: plan_json(r.planned),
        requested: rfc3339(r.now),
        decision: ApprovalDecision::Pending,
    };
    let mut approval = ActionApproval::new(&name_for(r.source, r.policy_key, r.object), spec);
    approval.metadata = ObjectMeta {
        namespace: Some(namespace.into()),
        labels: Some(labels),
        ..approval.metadata
    };
    approval
}

/// A time in milliseconds since the epoch as RFC 3339 (`2026-01-02T03:04:05Z`).
pub fn rfc3339(ms: Time) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| t.to_string())
        .unwrap_or_default()
}

/// The CRD, as `deploy/crd.yaml` holds it (`autopilot crd`).
pub fn crd_yaml() -> String {
    use kube::CustomResourceExt;
    let yaml = serde_saphyr::to_string(&ActionApproval::crd()).unwrap_or_default();
    format!("# Generated from src/cluster/approval.rs: autopilot crd > deploy/crd.yaml\n{yaml}")
}

/// Why a decision was not recorded.
#[derive(Debug, thiserror::Error)]
pub enum DecideError {
    #[error("no ActionApproval {namespace}/{name}")]
    NotFound { namespace: String, name: String },
    #[error("ActionApproval {namespace}/{name} is already {decision}")]
    Decided {
        namespace: String,
        name: String,
        decision: ApprovalDecision,
    },
    #[error(
        "ActionApproval {namespace}/{name} changed while it was being {verb}; try again",
        verb = decision.name()
    )]
    Conflict {
        namespace: String,
        name: String,
        decision: ApprovalDecision,
    },
    #[error("not allowed to {verb} ActionApproval {namespace}/{name}: {message}")]
    Forbidden {
        verb: &'static str,
        namespace: String,
        name: String,
        message: String,
    },
    #[error("the API server refused: {0}")]
    Refused(String),
    #[error("cannot reach the API server: {0}")]
    Unreachable(String),
}

impl DecideError {
    /// Whether the request may succeed when tried again unchanged.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            DecideError::Conflict { .. } | DecideError::Unreachable(_)
        )
    }
}

/// Records `decision` on a pending approval: a JSON merge patch of
/// `spec.decision` carrying the `resourceVersion` read, so a request that
/// the controller replaced meanwhile is not decided blindly.
pub async fn decide(
    client: &kube::Client,
    namespace: &str,
    name: &str,
    decision: ApprovalDecision,
) -> Result<ActionApproval, DecideError> {
    let api: Api<ActionApproval> = Api::namespaced(client.clone(), namespace);
    let ids = || (namespace.to_string(), name.to_string());
    let error = |verb: &'static str, e: kube::Error| match e {
        kube::Error::Api(s) if s.code == 404 => {
            let (namespace, name) = ids();
            DecideError::NotFound { namespace, name }
        }
        kube::Error::Api(s) if s.code == 409 => {
            let (namespace, name) = ids();
            DecideError::Conflict {
                namespace,
                name,
                decision,
            }
        }
        kube::Error::Api(s) if s.code == 403 => {
            let (namespace, name) = ids();
            DecideError::Forbidden {
                verb,
                namespace,
                name,
                message: s.message,
            }
        }
        kube::Error::Api(s) => DecideError::Refused(s.message),
        other => DecideError::Unreachable(error_chain(&other)),
    };
    let current = api.get(name).await.map_err(|e| error("get", e))?;
    if current.spec.decision != ApprovalDecision::Pending {
        let (namespace, name) = ids();
        return Err(DecideError::Decided {
            namespace,
            name,
            decision: current.spec.decision,
        });
    }
    let patch = serde_json::json!({
        "metadata": {"resourceVersion": current.metadata.resource_version},
        "spec": {"decision": decision},
    });
    api.patch(name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .map_err(|e| error("patch", e))
}

/// An error and its sources on one line (`connection refused` is a source
/// several levels down a kube error).
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let more = s.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn valid_label(s: &str) -> bool {
        !s.is_empty()
            && s.len() <= MAX_NAME
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !s.starts_with('-')
            && !s.ends_with('-')
    }

    fn id(s: &str) -> ObjectId {
        s.parse().unwrap()
    }

    #[test]
    fn names_are_dns_labels_stable_and_distinct() {
        let long = format!("pvc/db/{}", "Data.Volume_".repeat(30));
        let cases = [
            ("files", "grow", "pvc/db/data"),
            ("files", "grow", "pvc/other/data"),
            ("files", "shrink", "pvc/db/data"),
            ("configmap/db/policies/grow.apr", "grow", "pvc/db/data"),
            ("files", "grow", "node/worker-1.example.com"),
            ("files", "grow", "statefulset/db/pg"),
            ("files", "line:12", "deployment/web/--front--"),
            ("files", "grow", &long),
        ];
        let names: Vec<String> = cases
            .iter()
            .map(|(s, p, o)| name_for(s, p, &id(o)))
            .collect();
        for n in &names {
            assert!(valid_label(n), "{n}");
        }
        let mut distinct = names.clone();
        distinct.sort();
        distinct.dedup();
        assert_eq!(distinct.len(), names.len(), "{names:#?}");
        let shown: Vec<String> = cases
            .iter()
            .zip(&names)
            .map(|((s, p, o), n)| format!("{s} | {p} | {o}\n  {n}"))
            .collect();
        // The names are part of the cluster's state: a change here orphans
        // every approval a running controller made.
        insta::assert_snapshot!(shown.join("\n"));
    }

    #[test]
    fn source_labels_are_label_values() {
        let long = format!("configmap/db/{}/grow.apr", "x".repeat(80));
        let shown: Vec<String> = [
            "files",
            "configmap/db/policies/grow.apr",
            "configmap/db/policies/_grow.apr",
            "configmap/db/policies/grö w.apr",
            long.as_str(),
            "/",
        ]
        .iter()
        .map(|s| {
            let l = source_label(s);
            assert!(l.len() <= MAX_NAME, "{l}");
            assert!(
                l.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b)),
                "{l}"
            );
            assert!(
                l.starts_with(|c: char| c.is_ascii_alphanumeric())
                    && l.ends_with(|c: char| c.is_ascii_alphanumeric()),
                "{l}"
            );
            format!("{s}\n  {l}")
        })
        .collect();
        insta::assert_snapshot!(shown.join("\n"));
    }

    #[test]
    fn a_request_is_pending_with_its_plan() {
        let object = id("pvc/db/data");
        let planned = [
            Planned::Resize {
                from: 100 << 30,
                to: 200 << 30,
            },
            Planned::Label {
                key: "tier".into(),
                value: "gold".into(),
            },
        ];
        let a = new_request(
            "db",
            Request {
                source: "configmap/db/policies/grow.apr",
                policy_key: "grow",
                policy: "grow",
                object: &object,
                planned: &planned,
                now: 1_767_225_600_000,
            },
        );
        let back: Vec<Planned> = serde_json::from_str(&a.spec.plan).unwrap();
        assert_eq!(back, planned);
        insta::assert_json_snapshot!(a);
        // A decision-less spec (as `kubectl apply` of a hand-written one) is pending.
        let spec: ActionApprovalSpec = serde_json::from_value(serde_json::json!({
            "source": "files", "policy": "p", "object": "pvc/a/b", "action": "", "plan": "[]",
            "requested": "",
        }))
        .unwrap();
        assert_eq!(spec.decision, ApprovalDecision::Pending);
        assert_eq!(spec.decision.answer(), None);
    }
}
