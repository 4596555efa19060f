//! The simulated world: the objects of a scenario, changed by actions as a
//! Kubernetes API server and kubelet would change them.
//!
//! It is what `simulate` (and later `test` and the REPL) run the engine
//! against, in place of a cluster. Each tick it gives the engine its objects
//! ([`World::objects`]) and metric values ([`World::metrics`]); the engine's
//! intents come back through [`World::apply`], which re-checks what the API
//! server would refuse:
//!
//! - resize: [`plan::resize_blocker`] must find nothing (the PVC Bound, its
//!   StorageClass declared and allowing expansion, no earlier resize in
//!   progress), else it is `skipped` with the blocker's words; a resize
//!   that does not grow the volume is `declined`. The request grows at once,
//!   the status capacity after the PVC's `resize_delay` (default 0: before
//!   the next tick); until then the PVC is `resizing`.
//! - scale sets replicas; ready replicas follow at once.
//! - set_class sets the VolumeAttributesClass; annotate and label set
//!   metadata; cordon marks the node unschedulable; evict removes the pod.
//! - event and notify are recorded, in [`World::events`] and
//!   [`World::notifications`].
//!
//! Volume statistics follow the capacity: the simulated
//! `kubelet_volume_stats_capacity_bytes` of a PVC is its status capacity.
//! The stdlib bindings over the volume stats (`pvc.usage`, `pvc.used`,
//! `pvc.available`) are derived from one another through it: a scenario's
//! `pvc.usage` values are read against the PVC's capacity at the start, so
//! the bytes in use are kept when the volume grows and its usage drops, as
//! it would on a cluster.

use std::collections::BTreeMap;

use crate::engine::answers::Fetched;
use crate::engine::object::Labels;
use crate::engine::plan;
use crate::engine::{
    ActionOutcome, DeclineReason, Failure, Fields, MetricSource, Namespace, Object, ObjectId,
    Planned, Sample, SkipReason, Time,
};
use crate::ir::{Kind, MetricId, Program};
use crate::sim::ScenarioSource;
use crate::sim::scenario::{Change, ChangeSpec, Patch, Scenario, StorageClass};

/// An event or a notification that an action sent.
#[derive(Clone, Debug, PartialEq)]
pub struct Sent {
    pub time: Time,
    pub policy: String,
    pub object: ObjectId,
    /// The event's reason, or the notification's receiver.
    pub to: String,
    pub message: String,
}

/// Whether an object is in the cluster. Objects that are not are kept, to
/// be shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Presence {
    Present,
    /// A scenario change creates it later.
    NotYetCreated,
    /// An evicted pod: gone from the cluster.
    Evicted,
    /// A scenario change deleted it.
    Deleted,
}

/// One object of the world.
#[derive(Clone, Debug)]
pub struct SimObject {
    pub object: Object,
    pub presence: Presence,
    /// Status capacity at the start, the basis of `pvc.usage` values.
    initial_capacity: Option<u64>,
    resize_delay: Option<Time>,
    /// A resize in progress: capacity becomes `to` at `due`.
    pending: Option<(u64, Time)>,
}

/// The stdlib bindings over kubelet volume stats: `pvc.usage`, `pvc.used`,
/// `pvc.available`, each when the program has it.
pub(crate) fn volume_bindings(program: &Program) -> [Option<MetricId>; 3] {
    ["usage", "used", "available"].map(|name| {
        program
            .metrics
            .iter()
            .position(|m| m.stdlib && m.kind == Kind::Pvc && m.name == name)
            .map(|i| MetricId(i as u32))
    })
}

/// The stdlib bindings over kubelet volume stats.
#[derive(Clone, Copy, Debug, Default)]
struct VolumeBindings {
    usage: Option<MetricId>,
    used: Option<MetricId>,
    available: Option<MetricId>,
}

#[derive(Clone, Debug)]
pub struct World {
    objects: Vec<SimObject>,
    index: foldhash::HashMap<ObjectId, usize>,
    classes: BTreeMap<String, StorageClass>,
    namespaces: BTreeMap<String, Namespace>,
    resize_delay: Time,
    volume: VolumeBindings,
    /// The scenario's changes, in time order, and how many have happened.
    changes: Vec<ChangeSpec>,
    changed: usize,
    /// Kubernetes Events that `event()` actions created, in order.
    pub events: Vec<Sent>,
    /// Notifications that `notify()` actions sent, in order.
    pub notifications: Vec<Sent>,
    /// The objects as the engine sees them ([`World::refresh`]), built
    /// again only after the world changed (`stale`): most ticks change
    /// nothing, and a thousand PVCs cloned per tick were a third of a
    /// backtest's engine time.
    view: Vec<Object>,
    stale: bool,
}

impl World {
    pub fn new(scenario: &Scenario, program: &Program) -> World {
        let objects: Vec<SimObject> = scenario
            .objects
            .iter()
            .map(|spec| SimObject {
                object: Object {
                    id: spec.id.clone(),
                    labels: spec.labels.clone(),
                    annotations: spec.annotations.clone(),
                    created: spec.created,
                    fields: spec.fields.clone(),
                    version: None,
                },
                presence: if spec.appears.is_some() {
                    Presence::NotYetCreated
                } else {
                    Presence::Present
                },
                initial_capacity: spec.fields.capacity,
                resize_delay: spec.resize_delay,
                pending: None,
            })
            .collect();
        let index = objects
            .iter()
            .enumerate()
            .map(|(i, o)| (o.object.id.clone(), i))
            .collect();
        let [usage, used, available] = volume_bindings(program);
        World {
            objects,
            index,
            classes: scenario.classes.clone(),
            namespaces: scenario.namespaces.clone(),
            resize_delay: scenario.resize_delay,
            volume: VolumeBindings {
                usage,
                used,
                available,
            },
            changes: scenario.changes.clone(),
            changed: 0,
            events: Vec::new(),
            notifications: Vec::new(),
            view: Vec::new(),
            stale: true,
        }
    }

    /// The scenario's changes due by `t` happen, in order: the tick at `t`
    /// sees them.
    pub fn change(&mut self, t: Time) {
        while let Some(c) = self.changes.get(self.changed)
            && c.at <= t
        {
            let c = c.clone();
            self.changed += 1;
            self.stale = true;
            let (Change::Set { object, .. }
            | Change::Create { object }
            | Change::Delete { object }) = &c.change;
            let Some(&i) = self.index.get(object) else {
                continue;
            };
            let o = &mut self.objects[i];
            match c.change {
                Change::Create { .. } => o.presence = Presence::Present,
                Change::Delete { .. } => {
                    o.presence = Presence::Deleted;
                    o.pending = None;
                }
                Change::Set { patch, .. } => {
                    for p in patch {
                        set_field(o, p);
                    }
                }
            }
        }
    }

    /// Finishes the resizes that are due by `t`.
    pub fn advance(&mut self, t: Time) {
        for o in &mut self.objects {
            if let Some((to, due)) = o.pending
                && due <= t
            {
                o.object.fields.capacity = Some(to);
                o.pending = None;
                self.stale = true;
            }
        }
    }

    /// The objects as the engine sees them now: only those in the cluster.
    pub fn objects(&self) -> Vec<Object> {
        if self.stale {
            self.build_view()
        } else {
            self.view.clone()
        }
    }

    /// [`World::objects`] without a copy: rebuilds the view if the world
    /// changed since, then [`World::view`] reads it.
    pub fn refresh(&mut self) {
        if self.stale {
            self.view = self.build_view();
            self.stale = false;
        }
    }

    /// The objects as of the last [`World::refresh`].
    pub fn view(&self) -> &[Object] {
        debug_assert!(!self.stale, "World::view before World::refresh");
        &self.view
    }

    fn build_view(&self) -> Vec<Object> {
        self.objects
            .iter()
            .filter(|o| o.presence == Presence::Present)
            .map(|o| {
                let mut object = o.object.clone();
                if object.id.kind == Kind::Pvc {
                    object.fields.expandable = self.allow_expansion(&object.fields);
                    object.fields.resizing = o.pending.is_some();
                    let class = object.fields.storage_class.as_ref();
                    if let Some(c) = class.and_then(|c| self.classes.get(c)) {
                        object.fields.class_provisioner = c.provisioner.clone();
                        object.fields.class_labels = c.labels.clone();
                        object.fields.class_annotations = c.annotations.clone();
                    }
                }
                object
            })
            .collect()
    }

    /// Every object, those not in the cluster included, in scenario order.
    pub fn all(&self) -> &[SimObject] {
        &self.objects
    }

    pub fn get(&self, id: &ObjectId) -> Option<&SimObject> {
        self.index.get(id).map(|&i| &self.objects[i])
    }

    pub fn namespaces(&self) -> &BTreeMap<String, Namespace> {
        &self.namespaces
    }

    /// The `allowVolumeExpansion` of the PVC's StorageClass; `None` when it
    /// has no class or the scenario does not declare it.
    fn allow_expansion(&self, f: &Fields) -> Option<bool> {
        f.storage_class
            .as_ref()
            .and_then(|c| self.classes.get(c))
            .map(|c| c.allow_volume_expansion)
    }

    /// Metric values as the engine reads them at a tick: the scenario's
    /// series, with PVC volume stats following the simulated capacity.
    ///
    /// `answers` are this tick's answers of the bindings over the scenario's
    /// raw series ([`crate::sim::raw`]), read where the scenario gives no
    /// values of the binding for the object.
    pub fn metrics<'a>(
        &'a self,
        series: &'a ScenarioSource,
        answers: Option<&'a Fetched>,
    ) -> WorldMetrics<'a> {
        WorldMetrics {
            world: self,
            series,
            answers,
        }
    }

    /// The PVCs whose capacity the world changed: their id, their capacity
    /// at the start, and now.
    pub fn resized(&self) -> Vec<(&ObjectId, f64, f64)> {
        self.objects
            .iter()
            .filter(|o| o.presence == Presence::Present)
            .filter_map(|o| {
                let (c0, c) = (o.initial_capacity?, o.object.fields.capacity?);
                (c0 != c).then_some((&o.object.id, c0 as f64, c as f64))
            })
            .collect()
    }

    /// Carries out one action at `t`, as the API server would.
    pub fn apply(
        &mut self,
        t: Time,
        policy: &str,
        id: &ObjectId,
        planned: &Planned,
    ) -> ActionOutcome {
        let Some(&i) = self.index.get(id) else {
            return ActionOutcome::Failed(Failure::permanent(format!("{id} not found")));
        };
        let gone = match self.objects[i].presence {
            Presence::Present => None,
            Presence::NotYetCreated => Some("not yet created"),
            Presence::Evicted => Some("evicted"),
            Presence::Deleted => Some("deleted"),
        };
        if let Some(why) = gone {
            return ActionOutcome::Failed(Failure::permanent(format!("{id} not found ({why})")));
        }
        // An action on an object in the cluster may change what the engine sees.
        self.stale = true;
        let allow_expansion = self.allow_expansion(&self.objects[i].object.fields);
        let default_delay = self.resize_delay;
        let o = &mut self.objects[i];
        let kind = o.object.id.kind;
        let wrong_kind = |action: &str| {
            ActionOutcome::Failed(Failure::permanent(format!(
                "{action} does not apply to a {kind}"
            )))
        };
        match planned {
            Planned::Resize { to, .. } => {
                if kind != Kind::Pvc {
                    return wrong_kind("resize");
                }
                resize(o, t, *to, allow_expansion, default_delay)
            }
            Planned::SetClass { class } => {
                if kind != Kind::Pvc {
                    return wrong_kind("set_class");
                }
                let f = &mut o.object.fields;
                if f.volume_attributes_class.as_deref() == Some(class.as_str()) {
                    return ActionOutcome::Declined(DeclineReason::AlreadyInClass {
                        class: class.clone(),
                    });
                }
                f.volume_attributes_class = Some(class.clone());
                ActionOutcome::Applied
            }
            Planned::Scale { to, .. } => {
                if !matches!(kind, Kind::Deployment | Kind::StatefulSet) {
                    return wrong_kind("scale");
                }
                // The simulated rollout is instant: all new, ready and available.
                let f = &mut o.object.fields;
                f.replicas = Some(*to);
                f.ready_replicas = Some(*to);
                f.available_replicas = Some(*to);
                f.updated_replicas = Some(*to);
                ActionOutcome::Applied
            }
            Planned::Evict => {
                if kind != Kind::Pod {
                    return wrong_kind("evict");
                }
                o.presence = Presence::Evicted;
                ActionOutcome::Applied
            }
            Planned::Cordon => {
                if kind != Kind::Node {
                    return wrong_kind("cordon");
                }
                o.object.fields.unschedulable = Some(true);
                ActionOutcome::Applied
            }
            Planned::Annotate { key, value } => {
                set(&mut o.object.annotations, key, value);
                ActionOutcome::Applied
            }
            Planned::Label { key, value } => {
                set(&mut o.object.labels, key, value);
                ActionOutcome::Applied
            }
            Planned::Event { reason, message } => {
                let sent = sent(t, policy, id, reason, message);
                self.events.push(sent);
                ActionOutcome::Applied
            }
            Planned::Notify { receiver, message } => {
                let sent = sent(t, policy, id, receiver, message);
                self.notifications.push(sent);
                ActionOutcome::Applied
            }
        }
    }

    /// A volume stat of a PVC derived from the others and the capacity, or
    /// None when `metric` is not one (or there is nothing to derive from).
    fn volume_stat(
        &self,
        series: &ScenarioSource,
        metric: MetricId,
        id: &ObjectId,
        t: Time,
    ) -> Option<Sample> {
        let v = self.volume;
        let which = [v.usage, v.used, v.available]
            .iter()
            .position(|m| *m == Some(metric))?;
        let o = self.get(id)?;
        let (c0, c) = (o.initial_capacity? as f64, o.object.fields.capacity? as f64);
        if c0 == c && series.has(metric, id) {
            return None;
        }
        let given = |m: Option<MetricId>| m.filter(|m| series.has(*m, id));
        let used = if let Some(m) = given(v.used) {
            series.at(m, id, t)
        } else if let Some(m) = given(v.usage) {
            scale(series.at(m, id, t), |u| u / 100.0 * c0)
        } else if let Some(m) = given(v.available) {
            scale(series.at(m, id, t), |a| c0 - a)
        } else {
            return None;
        };
        Some(match which {
            0 if c > 0.0 => scale(used, |u| u / c * 100.0),
            0 => Sample::Missing,
            1 => used,
            _ => scale(used, |u| c - u),
        })
    }
}

fn scale(s: Sample, f: impl Fn(f64) -> f64) -> Sample {
    match s {
        Sample::Value(v) => Sample::Value(f(v)),
        other => other,
    }
}

fn resize(
    o: &mut SimObject,
    t: Time,
    to: u64,
    allow_expansion: Option<bool>,
    default_delay: Time,
) -> ActionOutcome {
    let f = &mut o.object.fields;
    let facts = plan::PvcFacts {
        allow_expansion,
        resizing: o.pending.is_some(),
        ..plan::PvcFacts::of(f)
    };
    if let Some(blocker) = plan::resize_blocker(&facts) {
        return ActionOutcome::Skipped(SkipReason::Blocked(blocker));
    }
    let current = f.capacity.unwrap_or(0).max(f.requested.unwrap_or(0));
    if to < current {
        return ActionOutcome::Declined(DeclineReason::Shrink { to, current });
    }
    if to == current {
        return ActionOutcome::Declined(DeclineReason::AlreadySize { size: to });
    }
    f.requested = Some(to);
    let delay = o.resize_delay.unwrap_or(default_delay);
    if delay == 0 {
        f.capacity = Some(to);
    } else {
        o.pending = Some((to, t + delay));
    }
    ActionOutcome::Applied
}

/// A field a scenario change sets, as the object's owner would.
fn set_field(o: &mut SimObject, p: Patch) {
    let f = &mut o.object.fields;
    match p {
        Patch::Labels(l) => o.object.labels.extend(l),
        Patch::Annotations(a) => o.object.annotations.extend(a),
        Patch::Capacity(b) => f.capacity = Some(b),
        Patch::Requested(b) => f.requested = Some(b),
        Patch::StorageClass(c) => f.storage_class = Some(c),
        Patch::VolumeAttributesClass(c) => f.volume_attributes_class = Some(c),
        Patch::ResizeDelay(d) => o.resize_delay = Some(d),
        Patch::Phase(p) => f.phase = Some(p),
        Patch::AccessModes(m) => f.access_modes = m,
        Patch::VolumeMode(m) => f.volume_mode = Some(m),
        Patch::Node(n) => f.node = Some(n),
        Patch::Owner(n) => f.owner = Some(n),
        Patch::Replicas(n) => f.replicas = Some(n),
        Patch::ReadyReplicas(n) => f.ready_replicas = Some(n),
        Patch::AvailableReplicas(n) => f.available_replicas = Some(n),
        Patch::UpdatedReplicas(n) => f.updated_replicas = Some(n),
        Patch::Ready(b) => f.ready = Some(b),
        Patch::Unschedulable(b) => f.unschedulable = Some(b),
    }
}

fn set(map: &mut Labels, key: &str, value: &str) {
    map.insert(key.to_string(), value.to_string());
}

fn sent(t: Time, policy: &str, id: &ObjectId, to: &str, message: &str) -> Sent {
    Sent {
        time: t,
        policy: policy.to_string(),
        object: id.clone(),
        to: to.to_string(),
        message: message.to_string(),
    }
}

/// The metric source of one tick: see [`World::metrics`].
pub struct WorldMetrics<'a> {
    world: &'a World,
    series: &'a ScenarioSource,
    answers: Option<&'a Fetched>,
}

impl MetricSource for WorldMetrics<'_> {
    fn sample(&self, metric: MetricId, object: &ObjectId, t: Time) -> Sample {
        if let Some(s) = self.world.volume_stat(self.series, metric, object, t) {
            return s;
        }
        match self.answers {
            Some(answers) if !self.series.has(metric, object) => answers.sample(metric, object, t),
            _ => self.series.at(metric, object, t),
        }
    }
}

#[cfg(test)]
mod tests;
