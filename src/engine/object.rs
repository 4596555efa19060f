//! What the engine sees of the cluster at one tick: objects and namespaces.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::ir::Kind;

/// `pvc/db/pg-data`, or `node/worker-1` for cluster-scoped kinds.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ObjectId {
    pub kind: Kind,
    pub namespace: Option<String>,
    pub name: String,
}

impl ObjectId {
    pub fn new(kind: Kind, namespace: Option<&str>, name: &str) -> ObjectId {
        ObjectId {
            kind,
            namespace: namespace.map(String::from),
            name: name.to_string(),
        }
    }
}

impl fmt::Display for ObjectId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.namespace {
            Some(ns) => write!(f, "{}/{ns}/{}", self.kind, self.name),
            None => write!(f, "{}/{}", self.kind, self.name),
        }
    }
}

impl FromStr for ObjectId {
    type Err = String;

    fn from_str(s: &str) -> Result<ObjectId, String> {
        let parts: Vec<&str> = s.split('/').collect();
        let kind = parts
            .first()
            .and_then(|k| Kind::from_name(k))
            .ok_or_else(|| format!("`{s}`: an object id starts with a kind (pvc, pod, deployment, statefulset, node)"))?;
        match (kind.namespaced(), parts.as_slice()) {
            (true, [_, ns, name]) if !ns.is_empty() && !name.is_empty() => {
                Ok(ObjectId::new(kind, Some(ns), name))
            }
            (false, [_, name]) if !name.is_empty() => Ok(ObjectId::new(kind, None, name)),
            (true, _) => Err(format!("`{s}`: a {kind} id is `{kind}/NAMESPACE/NAME`")),
            (false, _) => Err(format!("`{s}`: a {kind} id is `{kind}/NAME`")),
        }
    }
}

impl TryFrom<String> for ObjectId {
    type Error = String;
    fn try_from(s: String) -> Result<ObjectId, String> {
        s.parse()
    }
}

impl From<ObjectId> for String {
    fn from(id: ObjectId) -> String {
        id.to_string()
    }
}

pub type Labels = BTreeMap<String, String>;

/// One object as the engine reads it. Fields that do not apply, or are not
/// known yet, are None and read as no-data.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Object {
    pub id: ObjectId,
    pub labels: Labels,
    pub annotations: Labels,
    /// Creation time, milliseconds since the Unix epoch.
    pub created: Option<i64>,
    pub fields: Fields,
    /// Changes whenever the object does (a `resourceVersion`), set by the
    /// caller; None when unknown, and the engine compares what it reads.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
}

impl Object {
    pub fn new(id: ObjectId) -> Object {
        Object {
            id,
            labels: Labels::new(),
            annotations: Labels::new(),
            created: None,
            fields: Fields::default(),
            version: None,
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Fields {
    // pvc
    /// status.capacity.storage, bytes.
    pub capacity: Option<u64>,
    /// spec.resources.requests.storage, bytes.
    pub requested: Option<u64>,
    pub storage_class: Option<String>,
    pub volume_attributes_class: Option<String>,
    /// Pending, Bound, Lost (pvc); Pending, Running, … (pod).
    pub phase: Option<String>,
    /// The StorageClass allows expansion (None when the class is unknown).
    pub expandable: Option<bool>,
    /// A resize was requested and has not finished.
    pub resizing: bool,
    /// spec.accessModes: `ReadWriteOnce`, `ReadOnlyMany`, …
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub access_modes: Vec<String>,
    /// spec.volumeMode: `Filesystem` or `Block`.
    pub volume_mode: Option<String>,
    /// The StorageClass's provisioner, labels and annotations.
    pub class_provisioner: Option<String>,
    #[serde(default, skip_serializing_if = "Labels::is_empty")]
    pub class_labels: Labels,
    #[serde(default, skip_serializing_if = "Labels::is_empty")]
    pub class_annotations: Labels,
    // pod
    pub node: Option<String>,
    pub owner: Option<String>,
    // deployment, statefulset
    pub replicas: Option<u32>,
    pub ready_replicas: Option<u32>,
    pub available_replicas: Option<u32>,
    pub updated_replicas: Option<u32>,
    // node
    pub ready: Option<bool>,
    pub unschedulable: Option<bool>,
}

/// Labels and annotations of a namespace.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Namespace {
    pub labels: Labels,
    pub annotations: Labels,
}

/// A metric value for one object at one tick.
#[derive(Clone, Debug, PartialEq)]
pub enum Sample {
    Value(f64),
    /// The query succeeded but has no (finite) value for this object.
    Missing,
    /// The query failed: Prometheus down, slow, or refused it.
    Error(String),
}

/// Metric values at the current tick. Prometheus answers one query per
/// binding per tick before the engine runs; a scenario reads its series.
pub trait MetricSource {
    fn sample(&self, metric: crate::ir::MetricId, object: &ObjectId, t: i64) -> Sample;
}

/// Everything the engine reads at one tick.
pub struct Snapshot<'a> {
    /// All objects, in any order; the engine orders them by id.
    pub objects: &'a [Object],
    pub namespaces: &'a BTreeMap<String, Namespace>,
    pub metrics: &'a dyn MetricSource,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip() {
        for s in [
            "pvc/db/pg-data",
            "node/worker-1",
            "statefulset/kafka/broker",
        ] {
            assert_eq!(s.parse::<ObjectId>().unwrap().to_string(), s);
        }
        assert!("pvc/pg-data".parse::<ObjectId>().is_err());
        assert!("node/a/b".parse::<ObjectId>().is_err());
        assert!("volume/a/b".parse::<ObjectId>().is_err());
    }
}
