//! What the resize executor needs to know about a PersistentVolumeClaim, read
//! from the claim and its StorageClass, and whether it may be resized now
//! (asked of [`plan::resize_blocker`], as the engine and the simulation ask it).

use k8s_openapi::api::core::v1::PersistentVolumeClaim;
use k8s_openapi::api::storage::v1::StorageClass;
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;

use super::quantity::{self, QuantityError};
use crate::engine::plan::{self, Blocker};

/// The pre-GA annotation that older claims still carry instead of `spec.storageClassName`.
const BETA_CLASS_ANNOTATION: &str = "volume.beta.kubernetes.io/storage-class";

/// A claim as the executor sees it. Sizes are whole bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PvcView {
    pub namespace: String,
    pub name: String,
    pub uid: Option<String>,
    pub resource_version: Option<String>,
    /// `status.phase`; `None` before the server has set it.
    pub phase: Option<String>,
    /// `status.capacity.storage`: what the volume has.
    pub capacity: Option<u64>,
    /// `spec.resources.requests.storage`: what was asked for.
    pub requested: Option<u64>,
    pub storage_class: Option<String>,
    /// The class's `allowVolumeExpansion`; `None` when the class was not found.
    pub allow_expansion: Option<bool>,
    /// Why a previous resize is still going on, if it is.
    pub resize_in_progress: Option<String>,
}

/// A size field of the claim that does not parse.
#[derive(Debug, thiserror::Error)]
#[error("{field} of PVC {namespace}/{name}: {source}")]
pub struct BadQuantity {
    pub namespace: String,
    pub name: String,
    pub field: &'static str,
    #[source]
    pub source: QuantityError,
}

impl PvcView {
    /// Reads the view from a claim and its StorageClass (`None` if it was not found).
    pub fn new(
        pvc: &PersistentVolumeClaim,
        class: Option<&StorageClass>,
    ) -> Result<Self, BadQuantity> {
        let namespace = pvc.metadata.namespace.clone().unwrap_or_default();
        let name = pvc.metadata.name.clone().unwrap_or_default();
        let bytes = |field: &'static str, q: Option<&Quantity>| {
            q.map(|q| quantity::parse_bytes(&q.0))
                .transpose()
                .map_err(|source| BadQuantity {
                    namespace: namespace.clone(),
                    name: name.clone(),
                    field,
                    source,
                })
        };
        let status = pvc.status.as_ref();
        let capacity = bytes(
            "status.capacity.storage",
            status
                .and_then(|s| s.capacity.as_ref())
                .and_then(|c| c.get("storage")),
        )?;
        let requested = bytes(
            "spec.resources.requests.storage",
            pvc.spec
                .as_ref()
                .and_then(|s| s.resources.as_ref())
                .and_then(|r| r.requests.as_ref())
                .and_then(|r| r.get("storage")),
        )?;
        let phase = status.and_then(|s| s.phase.clone());
        let resize_in_progress = resize_in_progress(pvc, capacity, requested);
        Ok(PvcView {
            uid: pvc.metadata.uid.clone(),
            resource_version: pvc.metadata.resource_version.clone(),
            storage_class: storage_class_name(pvc),
            allow_expansion: class.map(|c| c.allow_volume_expansion.unwrap_or(false)),
            namespace,
            name,
            phase,
            capacity,
            requested,
            resize_in_progress,
        })
    }

    /// docs/semantics.md section 7: the larger of status capacity and request.
    pub fn current(&self) -> u64 {
        plan::current_size(self.capacity, self.requested)
    }

    /// What decides whether the claim may be resized now.
    pub fn facts(&self) -> plan::PvcFacts<'_> {
        plan::PvcFacts {
            phase: self.phase.as_deref(),
            storage_class: self.storage_class.as_deref(),
            allow_expansion: self.allow_expansion,
            resizing: self.resize_in_progress.is_some(),
            resize_detail: self.resize_in_progress.as_deref(),
            size_known: self.capacity.is_some() || self.requested.is_some(),
        }
    }

    /// Why this claim must not be resized now, if it must not.
    pub fn blocker(&self) -> Option<Blocker> {
        plan::resize_blocker(&self.facts())
    }
}

/// `spec.storageClassName`, or the beta annotation older claims carry. An empty
/// name means "no class" to the API server.
pub fn storage_class_name(pvc: &PersistentVolumeClaim) -> Option<String> {
    pvc.spec
        .as_ref()
        .and_then(|s| s.storage_class_name.clone())
        .or_else(|| {
            pvc.metadata
                .annotations
                .as_ref()
                .and_then(|a| a.get(BETA_CLASS_ANNOTATION).cloned())
        })
        .filter(|c| !c.is_empty())
}

/// Conditions the resizer and the kubelet set while they work.
const RESIZE_CONDITIONS: [&str; 4] = [
    "Resizing",
    "FileSystemResizePending",
    "ControllerResizeError",
    "NodeResizeError",
];

/// `status.allocatedResourceStatuses.storage` values that mean "not finished".
const RESIZE_STATUSES: [&str; 5] = [
    "ControllerResizeInProgress",
    "ControllerResizeInfeasible",
    "NodeResizePending",
    "NodeResizeInProgress",
    "NodeResizeInfeasible",
];

fn resize_in_progress(
    pvc: &PersistentVolumeClaim,
    capacity: Option<u64>,
    requested: Option<u64>,
) -> Option<String> {
    let status = pvc.status.as_ref();
    if let Some(state) = status
        .and_then(|s| s.allocated_resource_statuses.as_ref())
        .and_then(|a| a.get("storage"))
        .filter(|state| RESIZE_STATUSES.contains(&state.as_str()))
    {
        return Some(format!(
            "status.allocatedResourceStatuses.storage is {state}"
        ));
    }
    if let Some(c) = status
        .and_then(|s| s.conditions.as_ref())
        .into_iter()
        .flatten()
        .find(|c| c.status == "True" && RESIZE_CONDITIONS.contains(&c.type_.as_str()))
    {
        return Some(match &c.message {
            Some(m) if !m.is_empty() => format!("condition {}: {m}", c.type_),
            _ => format!("condition {}", c.type_),
        });
    }
    match (capacity, requested) {
        (Some(c), Some(r)) if c < r => Some(format!(
            "status.capacity {} is below the request {}",
            quantity::format_bytes(c),
            quantity::format_bytes(r)
        )),
        (None, Some(_)) if status.and_then(|s| s.phase.as_deref()) == Some("Bound") => {
            Some("the bound claim reports no status.capacity yet".into())
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const GI: u64 = 1 << 30;

    fn pvc(v: serde_json::Value) -> PersistentVolumeClaim {
        serde_json::from_value(v).expect("a PVC")
    }

    fn class(allow: Option<bool>) -> StorageClass {
        serde_json::from_value(json!({
            "metadata": {"name": "fast"}, "provisioner": "x", "allowVolumeExpansion": allow
        }))
        .expect("a StorageClass")
    }

    fn bound(capacity: &str, request: &str) -> PersistentVolumeClaim {
        pvc(json!({
            "metadata": {"name": "data", "namespace": "db", "resourceVersion": "7", "uid": "u1"},
            "spec": {"storageClassName": "fast", "resources": {"requests": {"storage": request}}},
            "status": {"phase": "Bound", "capacity": {"storage": capacity}}
        }))
    }

    #[test]
    fn current_is_the_larger_of_capacity_and_request() {
        let v = PvcView::new(&bound("12Gi", "10Gi"), Some(&class(Some(true)))).unwrap();
        assert_eq!((v.capacity, v.requested), (Some(12 * GI), Some(10 * GI)));
        assert_eq!(v.current(), 12 * GI);
        assert_eq!(v.blocker(), None);
        assert_eq!(v.resource_version.as_deref(), Some("7"));
    }

    #[test]
    fn skips_say_why() {
        let ok = Some(class(Some(true)));
        let mut pending = bound("10Gi", "10Gi");
        pending.status.as_mut().unwrap().phase = Some("Pending".into());
        let cases: Vec<(PersistentVolumeClaim, Option<StorageClass>, &str)> = vec![
            (pending, ok.clone(), "the PVC is not Bound (phase Pending)"),
            (
                bound("10Gi", "10Gi"),
                Some(class(None)),
                "StorageClass `fast` does not allow volume expansion",
            ),
            (
                bound("10Gi", "10Gi"),
                Some(class(Some(false))),
                "StorageClass `fast` does not allow volume expansion",
            ),
            (bound("10Gi", "10Gi"), None, "StorageClass `fast` not found"),
            (
                bound("10Gi", "20Gi"),
                ok.clone(),
                "a resize is still in progress (status.capacity 10Gi is below the request 20Gi)",
            ),
        ];
        for (p, c, want) in cases {
            let got = PvcView::new(&p, c.as_ref()).unwrap().blocker();
            let text = got.map(|r| r.text()).unwrap_or_default();
            assert_eq!(text, want);
        }
    }

    #[test]
    fn resize_in_progress_from_status() {
        let mut p = bound("10Gi", "10Gi");
        let s = p.status.as_mut().unwrap();
        s.allocated_resource_statuses =
            Some([("storage".into(), "NodeResizePending".into())].into());
        let v = PvcView::new(&p, Some(&class(Some(true)))).unwrap();
        assert_eq!(
            v.blocker(),
            Some(Blocker::ResizeInProgress {
                detail: Some(
                    "status.allocatedResourceStatuses.storage is NodeResizePending".into()
                )
            })
        );

        let mut p = bound("10Gi", "10Gi");
        p.status.as_mut().unwrap().conditions =
            Some(vec![serde_json::from_value(json!({
            "type": "FileSystemResizePending", "status": "True", "message": "waiting for a pod"
        }))
        .unwrap()]);
        let v = PvcView::new(&p, Some(&class(Some(true)))).unwrap();
        assert_eq!(
            v.resize_in_progress.as_deref(),
            Some("condition FileSystemResizePending: waiting for a pod")
        );
    }

    #[test]
    fn class_from_the_beta_annotation_and_empty_means_none() {
        let p = pvc(json!({
            "metadata": {"name": "a", "annotations": {BETA_CLASS_ANNOTATION: "old"}},
            "spec": {}
        }));
        assert_eq!(storage_class_name(&p).as_deref(), Some("old"));
        let p = pvc(json!({"metadata": {"name": "a"}, "spec": {"storageClassName": ""}}));
        assert_eq!(storage_class_name(&p), None);
    }

    #[test]
    fn a_bad_quantity_is_an_error_naming_the_field() {
        let err = PvcView::new(&bound("lots", "10Gi"), None).unwrap_err();
        assert_eq!(
            err.to_string(),
            "status.capacity.storage of PVC db/data: `lots` is not a Kubernetes quantity"
        );
    }
}
