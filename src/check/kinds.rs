//! What each kind of object offers: fields read from the cluster object.

use crate::ir::{Field, Kind, Type};

type Entry = (&'static str, Field, Type);

/// Every kind has these.
const COMMON: &[Entry] = &[
    ("name", Field::Name, Type::String),
    ("age", Field::Age, Type::Duration),
];
const NAMESPACED: &[Entry] = &[("namespace", Field::Namespace, Type::String)];
const PVC: &[Entry] = &[
    ("capacity", Field::Capacity, Type::Bytes),
    ("requested", Field::Requested, Type::Bytes),
    ("storage_class", Field::StorageClass, Type::String),
    (
        "volume_attributes_class",
        Field::VolumeAttributesClass,
        Type::String,
    ),
    ("phase", Field::Phase, Type::String),
    // A list of strings: see `typed`.
    ("access_modes", Field::AccessModes, Type::String),
    ("volume_mode", Field::VolumeMode, Type::String),
];
const POD: &[Entry] = &[
    ("phase", Field::Phase, Type::String),
    ("node", Field::Node, Type::String),
    ("owner", Field::Owner, Type::String),
];
const WORKLOAD: &[Entry] = &[
    ("replicas", Field::Replicas, Type::Number),
    ("ready_replicas", Field::ReadyReplicas, Type::Number),
    ("available_replicas", Field::AvailableReplicas, Type::Number),
    ("updated_replicas", Field::UpdatedReplicas, Type::Number),
];

/// `pvc.storageclass.NAME`, besides `labels` and `annotations`.
pub const STORAGE_CLASS: &[Entry] = &[
    ("name", Field::ClassName, Type::String),
    ("provisioner", Field::ClassProvisioner, Type::String),
    ("allow_volume_expansion", Field::ClassExpansion, Type::Bool),
];
const NODE: &[Entry] = &[
    ("ready", Field::Ready, Type::Bool),
    ("unschedulable", Field::Unschedulable, Type::Bool),
];

/// The fields of a kind, in order, besides `labels` and `annotations`. A
/// table, not a list built per call: the checker looks fields up per path.
fn table(kind: Kind) -> impl Iterator<Item = &'static Entry> {
    let namespaced: &[Entry] = if kind.namespaced() { NAMESPACED } else { &[] };
    let own = match kind {
        Kind::Pvc => PVC,
        Kind::Pod => POD,
        Kind::Deployment | Kind::StatefulSet => WORKLOAD,
        Kind::Node => NODE,
    };
    COMMON.iter().chain(namespaced).chain(own)
}

/// The fields of a kind, besides `labels` and `annotations`.
pub fn fields(kind: Kind) -> Vec<(&'static str, Field, Type)> {
    table(kind)
        .map(|(n, f, t)| (*n, *f, typed(*f, t)))
        .collect()
}

pub fn field(kind: Kind, name: &str) -> Option<(Field, Type)> {
    table(kind)
        .find(|(n, _, _)| *n == name)
        .map(|(_, f, t)| (*f, typed(*f, t)))
}

/// A table entry's type; a list cannot be written in a `const`.
fn typed(field: Field, ty: &Type) -> Type {
    match field {
        Field::AccessModes => Type::List(Box::new(Type::String)),
        _ => ty.clone(),
    }
}
