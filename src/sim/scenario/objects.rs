//! Objects, namespaces and storage classes of a scenario: names, labels,
//! fields per kind, and the references between them.

use std::collections::{BTreeMap, BTreeSet};

use serde_saphyr::Spanned;

use super::yaml::{RawObject, S, Scalar};
use super::{Loader, MAX_LABEL, MAX_NAME, ObjectSpec, StorageClass, codes, labels};
use crate::diagnostic::Diagnostic;
use crate::engine::{Fields, Namespace, ObjectId, Time};
use crate::ir::Kind;
use crate::source::Span;

/// What a kind takes besides name, labels and annotations.
pub(super) fn allowed_fields(kind: &str) -> &'static [&'static str] {
    match kind {
        "pvc" => &[
            "namespace",
            "age",
            "storage_class",
            "capacity",
            "requested",
            "volume_attributes_class",
            "resize_delay",
            "phase",
            "access_modes",
            "volume_mode",
        ],
        "pod" => &["namespace", "age", "phase", "node", "owner"],
        "deployment" | "statefulset" => &[
            "namespace",
            "age",
            "replicas",
            "ready_replicas",
            "available_replicas",
            "updated_replicas",
        ],
        "node" => &["age", "ready", "unschedulable"],
        "storageclass" => &["allow_volume_expansion", "provisioner"],
        _ => &[],
    }
}

/// A PVC's `status.phase`.
pub(super) const PVC_PHASES: &[&str] = &["Pending", "Bound", "Lost"];
/// A pod's `status.phase`.
pub(super) const POD_PHASES: &[&str] = &["Pending", "Running", "Succeeded", "Failed", "Unknown"];
/// A PVC's `spec.volumeMode`.
pub(super) const VOLUME_MODES: &[&str] = &["Filesystem", "Block"];

/// A PVC's `spec.accessModes`, as Kubernetes spells them.
pub(super) const ACCESS_MODES: &[&str] = &[
    "ReadWriteOnce",
    "ReadOnlyMany",
    "ReadWriteMany",
    "ReadWriteOncePod",
];

pub(super) const OBJECT_KINDS: [&str; 7] = [
    "pvc",
    "pod",
    "deployment",
    "statefulset",
    "node",
    "storageclass",
    "namespace",
];

impl RawObject {
    /// The optional fields, by name, for the per-kind check.
    pub(super) fn optional(&self) -> [(&'static str, Option<&S>); 19] {
        [
            ("namespace", self.namespace.as_ref()),
            ("age", self.age.as_ref()),
            ("storage_class", self.storage_class.as_ref()),
            ("capacity", self.capacity.as_ref()),
            ("requested", self.requested.as_ref()),
            (
                "volume_attributes_class",
                self.volume_attributes_class.as_ref(),
            ),
            ("resize_delay", self.resize_delay.as_ref()),
            ("phase", self.phase.as_ref()),
            ("node", self.node.as_ref()),
            ("owner", self.owner.as_ref()),
            ("replicas", self.replicas.as_ref()),
            ("ready_replicas", self.ready_replicas.as_ref()),
            ("available_replicas", self.available_replicas.as_ref()),
            ("updated_replicas", self.updated_replicas.as_ref()),
            // A list: its first item stands for it here.
            (
                "access_modes",
                self.access_modes.as_ref().and_then(|m| m.first()),
            ),
            ("volume_mode", self.volume_mode.as_ref()),
            ("provisioner", self.provisioner.as_ref()),
            ("ready", self.ready.as_ref()),
            ("unschedulable", self.unschedulable.as_ref()),
        ]
    }
}

impl Loader<'_> {
    /// Records a definition; a second one of the same id is an error.
    pub(super) fn define(
        &mut self,
        seen: &mut BTreeMap<String, Span>,
        id: String,
        span: Span,
    ) -> bool {
        if let Some(first) = seen.get(&id) {
            let first = *first;
            self.diags.push(
                Diagnostic::error(codes::DUPLICATE, span, format!("`{id}` is defined twice"))
                    .label("again")
                    .also(first, "first defined here"),
            );
            return false;
        }
        seen.insert(id, span);
        true
    }

    pub(super) fn name_ok(&mut self, name: &str, span: Span) -> bool {
        let len = name.chars().count();
        if len > MAX_NAME {
            self.error(
                codes::VALUE,
                span,
                format!("a name of {len} characters is too long"),
            );
            self.last(
                format!("more than {MAX_NAME} characters"),
                Some(format!(
                    "Kubernetes names are at most {MAX_NAME} characters"
                )),
            );
            return false;
        }
        if name.is_empty() || name.contains(['/', ' ', '\t', '\n']) {
            self.error(codes::VALUE, span, format!("`{name}` is not a valid name"));
            self.last(
                "not a name",
                Some("names are non-empty, without `/` or spaces, e.g. `pg-data`".into()),
            );
            return false;
        }
        true
    }

    /// Label keys and values within Kubernetes' limits: a value and a key's
    /// name at most 63 characters, a key's `prefix/` at most 253.
    pub(super) fn labels_ok(&mut self, labels: &BTreeMap<String, Scalar>, span: Span) -> bool {
        let mut ok = true;
        for (key, value) in labels {
            let (prefix, name) = key.rsplit_once('/').unwrap_or(("", key));
            let count = |s: &str| s.chars().count();
            let long = if count(prefix) > MAX_NAME {
                Some(("the prefix of a label key", count(prefix), MAX_NAME))
            } else if count(name) > MAX_LABEL {
                Some(("a label key", count(name), MAX_LABEL))
            } else if count(&value.0) > MAX_LABEL {
                Some(("a label value", count(&value.0), MAX_LABEL))
            } else {
                None
            };
            if let Some((what, len, max)) = long {
                self.error(
                    codes::VALUE,
                    span,
                    format!("{what} of {len} characters is too long"),
                );
                self.last(
                    format!("more than {max} characters"),
                    Some(format!(
                        "Kubernetes label keys and values are at most {MAX_LABEL} characters \
                         (a key's `prefix/` at most {MAX_NAME})"
                    )),
                );
                ok = false;
            }
        }
        ok
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn object(
        &mut self,
        o: &Spanned<RawObject>,
        start: Time,
        seen: &mut BTreeMap<String, Span>,
        namespaces: &mut BTreeMap<String, (Namespace, Option<Span>)>,
        classes: &mut BTreeMap<String, StorageClass>,
        objects: &mut Vec<ObjectSpec>,
    ) {
        let span = self.sspan(o);
        let raw = &o.value;
        let Some(kind_s) = self.required(raw.kind.as_ref(), "kind", span, "an object") else {
            return;
        };
        let kind = kind_s.value.0.as_str();
        let kind_span = self.sspan(kind_s);
        if !OBJECT_KINDS.contains(&kind) {
            self.error(codes::VALUE, kind_span, format!("unknown kind `{kind}`"));
            let help = self
                .suggest(kind, OBJECT_KINDS)
                .unwrap_or_else(|| format!("kinds: {}", OBJECT_KINDS.join(", ")));
            self.last("not a kind", Some(help));
            return;
        }
        let what = format!("a {kind}");
        let Some(name_s) = self.required(raw.name.as_ref(), "name", span, &what) else {
            return;
        };
        let name = name_s.value.0.clone();
        let name_span = self.sspan(name_s);
        let allowed = allowed_fields(kind);
        let mut misplaced = false;
        for (field, value) in raw.optional() {
            if let Some(v) = value
                && !allowed.contains(&field)
            {
                let vspan = self.sspan(v);
                let help = if field == "namespace" {
                    format!("a {kind} is cluster-scoped: remove `namespace`")
                } else if allowed.is_empty() {
                    format!("a {kind} takes only `name`, `labels` and `annotations`")
                } else {
                    format!("fields of a {kind}: {}", allowed.join(", "))
                };
                self.error(
                    codes::FIELD,
                    vspan,
                    format!("`{field}` does not apply to a {kind}"),
                );
                self.last(format!("not a field of a {kind}"), Some(help));
                misplaced = true;
            }
        }
        if !self.name_ok(&name, name_span) || !self.labels_ok(&raw.labels, span) || misplaced {
            return;
        }
        match kind {
            "namespace" => {
                if self.define(seen, format!("namespace/{name}"), name_span) {
                    let ns = Namespace {
                        labels: labels(&raw.labels),
                        annotations: labels(&raw.annotations),
                    };
                    namespaces.insert(name, (ns, Some(name_span)));
                }
            }
            "storageclass" => {
                let allow = raw
                    .allow_volume_expansion
                    .as_ref()
                    .and_then(|v| self.boolean(v, "allow_volume_expansion"))
                    .unwrap_or(false);
                if self.define(seen, format!("storageclass/{name}"), name_span) {
                    classes.insert(
                        name.clone(),
                        StorageClass {
                            name,
                            allow_volume_expansion: allow,
                            provisioner: raw.provisioner.as_ref().map(|p| p.value.0.clone()),
                            labels: labels(&raw.labels),
                            annotations: labels(&raw.annotations),
                            span: name_span,
                        },
                    );
                }
            }
            _ => {
                let Some(k) = Kind::from_name(kind) else {
                    return;
                };
                let namespace = if k.namespaced() {
                    match &raw.namespace {
                        Some(ns) => {
                            let nspan = self.sspan(ns);
                            if !self.name_ok(&ns.value.0, nspan) {
                                return;
                            }
                            Some(ns.value.0.as_str())
                        }
                        None => Some("default"),
                    }
                } else {
                    None
                };
                let id = ObjectId::new(k, namespace, &name);
                if !self.define(seen, id.to_string(), name_span) {
                    return;
                }
                let created = raw
                    .age
                    .as_ref()
                    .and_then(|a| self.duration(a, "age"))
                    .map(|age| start - age);
                let fields = self.fields(k, raw, span);
                let resize_delay = raw
                    .resize_delay
                    .as_ref()
                    .and_then(|d| self.duration(d, "resize_delay"));
                objects.push(ObjectSpec {
                    id,
                    span: name_span,
                    labels: labels(&raw.labels),
                    annotations: labels(&raw.annotations),
                    created,
                    fields,
                    resize_delay,
                    appears: None,
                });
            }
        }
    }

    pub(super) fn fields(&mut self, kind: Kind, raw: &RawObject, span: Span) -> Fields {
        let mut f = Fields::default();
        let text = |s: &Option<S>| s.as_ref().map(|s| s.value.0.clone());
        match kind {
            Kind::Pvc => {
                f.phase = Some(
                    raw.phase
                        .as_ref()
                        .and_then(|p| self.one_of(p, "phase", PVC_PHASES))
                        .unwrap_or_else(|| "Bound".into()),
                );
                f.storage_class = text(&raw.storage_class);
                f.access_modes = match &raw.access_modes {
                    None => vec!["ReadWriteOnce".into()],
                    Some(modes) => modes
                        .iter()
                        .filter_map(|m| self.one_of(m, "access_modes", ACCESS_MODES))
                        .collect(),
                };
                f.volume_mode = Some(
                    raw.volume_mode
                        .as_ref()
                        .and_then(|m| self.one_of(m, "volume_mode", VOLUME_MODES))
                        .unwrap_or_else(|| "Filesystem".into()),
                );
                f.volume_attributes_class = text(&raw.volume_attributes_class);
                f.capacity = raw
                    .capacity
                    .as_ref()
                    .and_then(|c| self.bytes(c, "capacity"));
                f.requested = raw
                    .requested
                    .as_ref()
                    .and_then(|c| self.bytes(c, "requested"))
                    .or(f.capacity);
                if f.phase.as_deref() == Some("Bound")
                    && f.capacity.is_none()
                    && raw.capacity.is_none()
                {
                    self.error(codes::FIELD, span, "a Bound pvc needs `capacity`");
                    self.last("no `capacity`", Some("e.g. `capacity: 100Gi`".into()));
                }
            }
            Kind::Pod => {
                f.phase = Some(
                    raw.phase
                        .as_ref()
                        .and_then(|p| self.one_of(p, "phase", POD_PHASES))
                        .unwrap_or_else(|| "Running".into()),
                );
                f.node = text(&raw.node);
                f.owner = text(&raw.owner);
            }
            Kind::Deployment | Kind::StatefulSet => {
                let replicas = raw
                    .replicas
                    .as_ref()
                    .and_then(|r| self.count(r, "replicas"))
                    .unwrap_or(1);
                f.replicas = Some(replicas);
                let mut count = |s: &Option<S>, field: &str, default: u32| {
                    Some(
                        s.as_ref()
                            .and_then(|r| self.count(r, field))
                            .unwrap_or(default),
                    )
                };
                f.ready_replicas = count(&raw.ready_replicas, "ready_replicas", replicas);
                let ready = f.ready_replicas.unwrap_or(replicas);
                f.available_replicas = count(&raw.available_replicas, "available_replicas", ready);
                f.updated_replicas = count(&raw.updated_replicas, "updated_replicas", replicas);
            }
            Kind::Node => {
                f.ready = Some(
                    raw.ready
                        .as_ref()
                        .and_then(|r| self.boolean(r, "ready"))
                        .unwrap_or(true),
                );
                f.unschedulable = Some(
                    raw.unschedulable
                        .as_ref()
                        .and_then(|r| self.boolean(r, "unschedulable"))
                        .unwrap_or(false),
                );
            }
        }
        f
    }

    /// Storage classes that PVCs name must be declared. (Namespaces exist
    /// implicitly: a scenario lists them only to give them labels.)
    pub(super) fn references<'r>(
        &mut self,
        raw: impl IntoIterator<Item = &'r Spanned<RawObject>>,
        classes: &BTreeMap<String, StorageClass>,
    ) {
        for r in raw {
            let o = &r.value;
            if let Some(class) = &o.storage_class
                && !classes.contains_key(&class.value.0)
                && o.kind.as_ref().is_some_and(|k| k.value.0 == "pvc")
            {
                let span = self.sspan(class);
                let name = &class.value.0;
                self.error(
                    codes::UNKNOWN_REFERENCE,
                    span,
                    format!("unknown StorageClass `{name}`"),
                );
                let help = self.suggest(name, classes.keys().map(String::as_str)).unwrap_or_else(
                    || {
                        format!(
                            "declare it: `- {{kind: storageclass, name: {name}, allow_volume_expansion: true}}`"
                        )
                    },
                );
                self.last("not declared", Some(help));
            }
        }
    }

    pub(super) fn object_ref(&mut self, o: &S, ids: &BTreeSet<ObjectId>) -> Option<ObjectId> {
        let span = self.sspan(o);
        let text = &o.value.0;
        let id: ObjectId = match text.parse() {
            Ok(id) => id,
            Err(e) => {
                self.error(codes::VALUE, span, format!("not an object id: {e}"));
                self.last("not an id", None);
                return None;
            }
        };
        let longest = id
            .namespace
            .iter()
            .chain([&id.name])
            .map(|n| n.chars().count())
            .max();
        if let Some(len) = longest.filter(|&len| len > MAX_NAME) {
            // No object has such a name; say so without echoing it.
            self.error(
                codes::VALUE,
                span,
                format!("an object id with a name of {len} characters is too long"),
            );
            self.last(
                format!("more than {MAX_NAME} characters"),
                Some(format!(
                    "Kubernetes names are at most {MAX_NAME} characters"
                )),
            );
            return None;
        }
        if !ids.contains(&id) {
            self.error(
                codes::UNKNOWN_REFERENCE,
                span,
                format!("`{id}` is not an object of the scenario"),
            );
            let names = self
                .object_names
                .take()
                .unwrap_or_else(|| ids.iter().map(ToString::to_string).collect());
            let help = self.suggest(text, names.iter().map(String::as_str));
            self.object_names = Some(names);
            self.last("unknown object", help);
            return None;
        }
        Some(id)
    }
}
