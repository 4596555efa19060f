//! `changes:` entries: the world changing by itself over time. A field set
//! on an object (`{at, object, set: {…}}`), an object created
//! (`{at, create: {…}}`) or deleted (`{at, delete: ID}`). The tick at `at`
//! sees the change (DESIGN.md 5.1).

use std::collections::{BTreeMap, BTreeSet};

use serde_saphyr::Spanned;

use super::objects::{ACCESS_MODES, POD_PHASES, PVC_PHASES, VOLUME_MODES, allowed_fields};
use super::yaml::{RawChange, RawObject};
use super::{Change, ChangeSpec, Loader, ObjectSpec, Patch, StorageClass, codes, labels};
use crate::engine::{Namespace, ObjectId, Time};
use crate::ir::Kind;
use crate::source::Span;

/// The kinds a change may create: what the engine sees as objects.
const CREATABLE: &[&str] = &["pvc", "pod", "deployment", "statefulset", "node"];

/// What a change names before its object is resolved.
enum Pending<'r> {
    Set(&'r crate::sim::scenario::yaml::S, &'r Spanned<RawObject>),
    Create(ObjectId),
    Delete(&'r crate::sim::scenario::yaml::S),
}

impl Loader<'_> {
    /// Reads `changes:`. Objects that changes create join `objects`, marked
    /// with the time they appear; sets and deletes name objects of either.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn changes(
        &mut self,
        raw: &[Spanned<RawChange>],
        start: Time,
        duration: Time,
        seen: &mut BTreeMap<String, Span>,
        namespaces: &mut BTreeMap<String, (Namespace, Option<Span>)>,
        classes: &mut BTreeMap<String, StorageClass>,
        objects: &mut Vec<ObjectSpec>,
    ) -> Vec<ChangeSpec> {
        // Creations first, so that any change may name any object.
        let mut pending = Vec::new();
        for c in raw {
            let span = self.sspan(c);
            let Some(at) = self.change_time(c, span, duration) else {
                continue;
            };
            let r = &c.value;
            let given = [r.set.is_some(), r.create.is_some(), r.delete.is_some()];
            if given.iter().filter(|g| **g).count() != 1 {
                let message = if given.contains(&true) {
                    "a change does one thing: `set`, `create` or `delete`"
                } else {
                    "a change needs `set` (with `object`), `create` or `delete`"
                };
                self.error(codes::FIELD, span, message);
                self.last(
                    "",
                    Some(
                        "e.g. `{at: 20m, object: deployment/web/api, set: {ready_replicas: 3}}`, \
                         `{at: 25m, create: {kind: pod, namespace: web, name: api-7}}`, \
                         `{at: 30m, delete: pod/web/api-1}`"
                            .into(),
                    ),
                );
                continue;
            }
            if let Some(o) = &r.object
                && r.set.is_none()
            {
                let ospan = self.sspan(o);
                self.error(codes::FIELD, ospan, "`object` goes with `set`");
                self.last(
                    "not with create or delete",
                    Some(
                        "`create` gives the object itself; `delete` names it: `delete: pod/web/api-1`"
                            .into(),
                    ),
                );
                continue;
            }
            if let Some(set) = &r.set {
                let Some(object) =
                    self.required(r.object.as_ref(), "object", span, "a `set` change")
                else {
                    continue;
                };
                pending.push((at, span, Pending::Set(object, set)));
            } else if let Some(create) = &r.create {
                if let Some(id) =
                    self.create(create, start + at, seen, namespaces, classes, objects)
                {
                    pending.push((at, span, Pending::Create(id)));
                }
            } else if let Some(delete) = &r.delete {
                pending.push((at, span, Pending::Delete(delete)));
            }
        }
        let ids: BTreeSet<ObjectId> = objects.iter().map(|o| o.id.clone()).collect();
        let mut changes = Vec::new();
        for (at, span, p) in pending {
            let change = match p {
                Pending::Create(object) => Change::Create { object },
                Pending::Delete(o) => match self.object_ref(o, &ids) {
                    Some(object) => Change::Delete { object },
                    None => continue,
                },
                Pending::Set(o, set) => {
                    let Some(object) = self.object_ref(o, &ids) else {
                        continue;
                    };
                    match self.patches(object.kind, set) {
                        Some(patch) => Change::Set { object, patch },
                        None => continue,
                    }
                }
            };
            changes.push(ChangeSpec {
                at: start + at,
                span,
                change,
            });
        }
        // In time order; at the same time, in file order.
        changes.sort_by_key(|c| c.at);
        self.existence(&changes, objects, start);
        changes
    }

    /// `at`: required, within the scenario.
    fn change_time(&mut self, c: &Spanned<RawChange>, span: Span, duration: Time) -> Option<Time> {
        let at_s = self.required(c.value.at.as_ref(), "at", span, "a change")?;
        let at = self.duration(at_s, "at")?;
        if at > duration {
            self.value_error(
                at_s,
                format!(
                    "a change at {} is after the end of the scenario ({})",
                    at_s.value.0,
                    crate::ir::format_duration(duration as f64 / 1000.0)
                ),
                "changes are times from the start, within `duration`".into(),
            );
            return None;
        }
        Some(at)
    }

    /// An object a change creates: an object of `objects:` that appears at
    /// `at` (absolute), and was created then.
    fn create(
        &mut self,
        o: &Spanned<RawObject>,
        at: Time,
        seen: &mut BTreeMap<String, Span>,
        namespaces: &mut BTreeMap<String, (Namespace, Option<Span>)>,
        classes: &mut BTreeMap<String, StorageClass>,
        objects: &mut Vec<ObjectSpec>,
    ) -> Option<ObjectId> {
        if let Some(kind) = &o.value.kind
            && !CREATABLE.contains(&kind.value.0.as_str())
            && super::objects::OBJECT_KINDS.contains(&kind.value.0.as_str())
        {
            let span = self.sspan(kind);
            self.error(
                codes::VALUE,
                span,
                format!("a change cannot create a {}", kind.value.0),
            );
            self.last(
                "not created over time",
                Some(format!(
                    "declare it in `objects:`; changes create {}",
                    CREATABLE.join(", ")
                )),
            );
            return None;
        }
        if let Some(age) = &o.value.age {
            let span = self.sspan(age);
            self.error(
                codes::FIELD,
                span,
                "a created object's age counts from its creation",
            );
            self.last("no `age` here", Some("remove `age`".into()));
            return None;
        }
        let before = objects.len();
        self.object(o, at, seen, namespaces, classes, objects);
        let spec = objects.get_mut(before)?;
        spec.appears = Some(at);
        spec.created = Some(at);
        Some(spec.id.clone())
    }

    /// The fields a `set` gives, as patches; None when one is wrong.
    fn patches(&mut self, kind: Kind, set: &Spanned<RawObject>) -> Option<Vec<Patch>> {
        let raw = &set.value;
        let span = self.sspan(set);
        let mut ok = true;
        let fixed = [
            ("kind", raw.kind.as_ref()),
            ("name", raw.name.as_ref()),
            ("namespace", raw.namespace.as_ref()),
            ("age", raw.age.as_ref()),
        ];
        for (field, value) in fixed {
            if let Some(v) = value {
                let vspan = self.sspan(v);
                self.error(
                    codes::FIELD,
                    vspan,
                    format!("`set` cannot change an object's `{field}`"),
                );
                self.last(
                    "fixed for the object's life",
                    Some("delete the object and create another".into()),
                );
                ok = false;
            }
        }
        let kind_name = kind.name();
        let allowed: Vec<&str> = allowed_fields(kind_name)
            .iter()
            .copied()
            .filter(|f| !matches!(*f, "namespace" | "age"))
            .chain(["labels", "annotations"])
            .collect();
        for (field, value) in raw.optional() {
            if let Some(v) = value
                && !matches!(field, "namespace" | "age")
                && !allowed.contains(&field)
            {
                let vspan = self.sspan(v);
                self.error(
                    codes::FIELD,
                    vspan,
                    format!("`{field}` does not apply to a {kind_name}"),
                );
                self.last(
                    format!("not a field of a {kind_name}"),
                    Some(format!("fields of a {kind_name}: {}", allowed.join(", "))),
                );
                ok = false;
            }
        }
        if !ok || !self.labels_ok(&raw.labels, span) {
            return None;
        }
        let mut out = Vec::new();
        if !raw.labels.is_empty() {
            out.push(Patch::Labels(labels(&raw.labels)));
        }
        if !raw.annotations.is_empty() {
            out.push(Patch::Annotations(labels(&raw.annotations)));
        }
        let before = self.diags.len();
        let text = |s: &crate::sim::scenario::yaml::S| s.value.0.clone();
        if let Some(v) = &raw.storage_class {
            out.push(Patch::StorageClass(text(v)));
        }
        if let Some(v) = &raw.capacity {
            out.extend(self.bytes(v, "capacity").map(Patch::Capacity));
        }
        if let Some(v) = &raw.requested {
            out.extend(self.bytes(v, "requested").map(Patch::Requested));
        }
        if let Some(v) = &raw.volume_attributes_class {
            out.push(Patch::VolumeAttributesClass(text(v)));
        }
        if let Some(v) = &raw.resize_delay {
            out.extend(self.duration(v, "resize_delay").map(Patch::ResizeDelay));
        }
        if let Some(v) = &raw.phase {
            let phases = if kind == Kind::Pod {
                POD_PHASES
            } else {
                PVC_PHASES
            };
            out.extend(self.one_of(v, "phase", phases).map(Patch::Phase));
        }
        if let Some(modes) = &raw.access_modes {
            let modes: Vec<String> = modes
                .iter()
                .filter_map(|m| self.one_of(m, "access_modes", ACCESS_MODES))
                .collect();
            out.push(Patch::AccessModes(modes));
        }
        if let Some(v) = &raw.volume_mode {
            out.extend(
                self.one_of(v, "volume_mode", VOLUME_MODES)
                    .map(Patch::VolumeMode),
            );
        }
        if let Some(v) = &raw.node {
            out.push(Patch::Node(text(v)));
        }
        if let Some(v) = &raw.owner {
            out.push(Patch::Owner(text(v)));
        }
        let counts = [
            (
                &raw.replicas,
                "replicas",
                Patch::Replicas as fn(u32) -> Patch,
            ),
            (&raw.ready_replicas, "ready_replicas", Patch::ReadyReplicas),
            (
                &raw.available_replicas,
                "available_replicas",
                Patch::AvailableReplicas,
            ),
            (
                &raw.updated_replicas,
                "updated_replicas",
                Patch::UpdatedReplicas,
            ),
        ];
        for (value, field, patch) in counts {
            if let Some(v) = value {
                out.extend(self.count(v, field).map(patch));
            }
        }
        if let Some(v) = &raw.ready {
            out.extend(self.boolean(v, "ready").map(Patch::Ready));
        }
        if let Some(v) = &raw.unschedulable {
            out.extend(self.boolean(v, "unschedulable").map(Patch::Unschedulable));
        }
        if self.diags.len() > before {
            return None;
        }
        if out.is_empty() {
            self.error(codes::FIELD, span, "this `set` changes nothing");
            self.last(
                "no field",
                Some(format!(
                    "give the fields that change, e.g. `set: {{labels: {{tier: gold}}}}`; \
                     fields of a {kind_name}: {}",
                    allowed.join(", ")
                )),
            );
            return None;
        }
        Some(out)
    }

    /// A set or a delete names an object that exists at its time: created by
    /// then, and not deleted before.
    fn existence(&mut self, changes: &[ChangeSpec], objects: &[ObjectSpec], start: Time) {
        // None: exists; Some(Err(t)): created at t; Some(Ok(t)): deleted at t.
        let mut state: BTreeMap<&ObjectId, Result<Time, Time>> = objects
            .iter()
            .filter_map(|o| o.appears.map(|t| (&o.id, Err(t))))
            .collect();
        for c in changes {
            let (object, what) = match &c.change {
                Change::Create { object } => {
                    state.remove(object);
                    continue;
                }
                Change::Set { object, .. } => (object, "set"),
                Change::Delete { object } => (object, "delete"),
            };
            let when = |t: Time| crate::ir::format_duration((t - start) as f64 / 1000.0);
            let problem = match state.get(object) {
                None => None,
                Some(Err(created)) => Some(format!("it is created at {}", when(*created))),
                Some(Ok(deleted)) => Some(format!("it is deleted at {}", when(*deleted))),
            };
            if let Some(help) = problem {
                self.error(
                    codes::UNKNOWN_REFERENCE,
                    c.span,
                    format!("`{what}` at {}: `{object}` does not exist then", when(c.at)),
                );
                self.last("no such object at this time", Some(help));
                continue;
            }
            if matches!(c.change, Change::Delete { .. }) {
                state.insert(object, Ok(c.at));
            }
        }
    }
}
