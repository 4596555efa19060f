//! What each kind of object offers: fields read from the cluster object.

use crate::ir::{Field, Kind, Type};

/// The fields of a kind, besides `labels` and `annotations`.
pub fn fields(kind: Kind) -> Vec<(&'static str, Field, Type)> {
    let mut out = vec![
        ("name", Field::Name, Type::String),
        ("age", Field::Age, Type::Duration),
    ];
    if kind.namespaced() {
        out.push(("namespace", Field::Namespace, Type::String));
    }
    match kind {
        Kind::Pvc => out.extend([
            ("capacity", Field::Capacity, Type::Bytes),
            ("requested", Field::Requested, Type::Bytes),
            ("storage_class", Field::StorageClass, Type::String),
            (
                "volume_attributes_class",
                Field::VolumeAttributesClass,
                Type::String,
            ),
            ("phase", Field::Phase, Type::String),
        ]),
        Kind::Pod => out.extend([
            ("phase", Field::Phase, Type::String),
            ("node", Field::Node, Type::String),
            ("owner", Field::Owner, Type::String),
        ]),
        Kind::Deployment | Kind::StatefulSet => out.extend([
            ("replicas", Field::Replicas, Type::Number),
            ("ready_replicas", Field::ReadyReplicas, Type::Number),
        ]),
        Kind::Node => out.extend([
            ("ready", Field::Ready, Type::Bool),
            ("unschedulable", Field::Unschedulable, Type::Bool),
        ]),
    }
    out
}

pub fn field(kind: Kind, name: &str) -> Option<(Field, Type)> {
    fields(kind)
        .into_iter()
        .find(|(n, _, _)| *n == name)
        .map(|(_, f, t)| (f, t))
}
