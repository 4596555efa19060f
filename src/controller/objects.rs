//! What the controller keeps of the cluster: one watcher per kind, each
//! object projected into the engine's compact [`Object`] as it arrives (the
//! full API object is dropped at once), in a mirror that swaps a relist in
//! whole, as kube's reflector store does (`Init`, `InitApply`…, `InitDone`).
//!
//! Watch errors back off (kube's default backoff) and are logged once, not in
//! a loop; the mirror keeps serving its last good state meanwhile.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use futures::StreamExt;
use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::core::v1::{Namespace as K8sNamespace, Node, PersistentVolumeClaim, Pod};
use k8s_openapi::api::storage::v1::{StorageClass, VolumeAttributesClass};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher::{self, Event};
use kube::{Api, Client, Resource};

use crate::cluster::pvc::PvcView;
use crate::cluster::state::ANNOTATION;
use crate::engine::{Fields, Namespace, Object, ObjectId};
use crate::ir::Kind;

/// Annotations never kept: large, and nothing a policy reads (the state
/// annotation is kept apart, in [`Meta`]).
const DROPPED_ANNOTATIONS: &[&str] = &["kubectl.kubernetes.io/last-applied-configuration"];

/// One kind's objects by key, with relists swapped in whole.
#[derive(Debug)]
pub(super) struct Mirror<T> {
    pub(super) live: HashMap<String, T>,
    /// A relist in progress: it replaces `live` when done.
    relist: Option<HashMap<String, T>>,
    pub(super) synced: bool,
    /// Keys deleted since the last [`Mirror::take_deleted`].
    deleted: Vec<String>,
}

impl<T> Default for Mirror<T> {
    fn default() -> Self {
        Mirror {
            live: HashMap::new(),
            relist: None,
            synced: false,
            deleted: Vec::new(),
        }
    }
}

impl<T> Mirror<T> {
    fn apply(&mut self, event: Event<(String, Option<T>)>) {
        match event {
            Event::Init => self.relist = Some(HashMap::new()),
            Event::InitApply((key, value)) => {
                if let (Some(buffer), Some(value)) = (&mut self.relist, value) {
                    buffer.insert(key, value);
                }
            }
            Event::InitDone => {
                if let Some(fresh) = self.relist.take() {
                    let gone: Vec<String> = self
                        .live
                        .keys()
                        .filter(|k| !fresh.contains_key(*k))
                        .cloned()
                        .collect();
                    self.deleted.extend(gone);
                    self.live = fresh;
                }
                self.synced = true;
            }
            Event::Apply((key, Some(value))) => {
                self.live.insert(key, value);
            }
            // An object that no longer projects (a bad quantity) is gone.
            Event::Apply((key, None)) | Event::Delete((key, _)) => {
                if self.live.remove(&key).is_some() {
                    self.deleted.push(key);
                }
            }
        }
    }
}

/// What the controller keeps of an object beside what the engine reads: its
/// uid (the precondition of a state write) and its state annotation, which
/// the engine never sees (writing it is not a change of the object).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Meta {
    pub uid: Option<Arc<str>>,
    /// The [`ANNOTATION`]'s value.
    pub state: Option<Arc<str>>,
}

/// An object of a kind policies act on, as mirrored.
#[derive(Clone, Debug)]
pub(super) struct Subject {
    object: Object,
    meta: Meta,
}

impl Subject {
    fn of(meta: &ObjectMeta, object: Option<Object>) -> Option<Subject> {
        let state = meta
            .annotations
            .as_ref()
            .and_then(|a| a.get(ANNOTATION))
            .map(|s| Arc::from(s.as_str()));
        Some(Subject {
            object: object?,
            meta: Meta {
                uid: meta.uid.as_deref().map(Arc::from),
                state,
            },
        })
    }
}

/// The mirrors of every kind the controller watches.
#[derive(Clone, Default)]
pub struct Objects {
    /// The kinds policies act on, in [`Kind::ALL`] order ([`slot`]).
    subjects: [Arc<Mutex<Mirror<Subject>>>; 5],
    /// StorageClass name → what policies read of it.
    classes: Arc<Mutex<Mirror<Class>>>,
    /// VolumeAttributesClass names, counted; `set_class` reads the class it
    /// names from the API server when it acts, never from a cache.
    attribute_classes: Arc<Mutex<Mirror<()>>>,
    namespaces: Arc<Mutex<Mirror<Namespace>>>,
}

/// What a PVC's policies read of its StorageClass: `pvc.storageclass.*`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Class {
    pub expandable: bool,
    pub provisioner: String,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
}

impl Class {
    pub fn of(c: &StorageClass) -> Class {
        Class {
            expandable: c.allow_volume_expansion.unwrap_or(false),
            provisioner: c.provisioner.clone(),
            labels: c.metadata.labels.clone().unwrap_or_default(),
            annotations: kept_annotations(c.metadata.annotations.as_ref()),
        }
    }
}

/// What one tick sees.
pub struct View {
    pub objects: Vec<Object>,
    /// Each object's [`Meta`], in the order of `objects`.
    pub meta: Vec<Meta>,
    pub namespaces: BTreeMap<String, Namespace>,
    /// Objects deleted since the last view: the engine forgets them.
    pub deleted: Vec<ObjectId>,
}

impl Objects {
    /// Starts one watcher task per kind on the current runtime.
    pub fn watch(client: &Client) -> Objects {
        let objects = Objects::default();
        let subject = |kind: Kind| Arc::clone(&objects.subjects[slot(kind)]);
        spawn(
            Api::<PersistentVolumeClaim>::all(client.clone()),
            config(),
            "pvc",
            |pvc| {
                let o = Subject::of(&pvc.metadata, pvc_object(pvc));
                (key(Kind::Pvc, &pvc.metadata), o)
            },
            subject(Kind::Pvc),
        );
        spawn(
            Api::<Pod>::all(client.clone()),
            config(),
            "pod",
            |pod| {
                let o = Subject::of(&pod.metadata, Some(pod_object(pod)));
                (key(Kind::Pod, &pod.metadata), o)
            },
            subject(Kind::Pod),
        );
        spawn(
            Api::<Deployment>::all(client.clone()),
            config(),
            "deployment",
            |d| {
                let o = Subject::of(&d.metadata, Some(deployment_object(d)));
                (key(Kind::Deployment, &d.metadata), o)
            },
            subject(Kind::Deployment),
        );
        spawn(
            Api::<StatefulSet>::all(client.clone()),
            config(),
            "statefulset",
            |s| {
                let o = Subject::of(&s.metadata, Some(statefulset_object(s)));
                (key(Kind::StatefulSet, &s.metadata), o)
            },
            subject(Kind::StatefulSet),
        );
        spawn(
            Api::<Node>::all(client.clone()),
            config(),
            "node",
            |n| {
                let o = Subject::of(&n.metadata, Some(node_object(n)));
                (key(Kind::Node, &n.metadata), o)
            },
            subject(Kind::Node),
        );
        spawn(
            Api::<StorageClass>::all(client.clone()),
            config(),
            "storageclass",
            |c| {
                let name = c.metadata.name.clone().unwrap_or_default();
                (name, Some(Class::of(c)))
            },
            Arc::clone(&objects.classes),
        );
        spawn(
            Api::<VolumeAttributesClass>::all(client.clone()),
            config(),
            "volumeattributesclass",
            |c| (c.metadata.name.clone().unwrap_or_default(), Some(())),
            Arc::clone(&objects.attribute_classes),
        );
        spawn(
            Api::<K8sNamespace>::all(client.clone()),
            config(),
            "namespace",
            |ns| {
                let name = ns.metadata.name.clone().unwrap_or_default();
                (name, Some(namespace_of(ns)))
            },
            Arc::clone(&objects.namespaces),
        );
        objects
    }

    /// Whether every watcher has listed once.
    pub fn synced(&self) -> bool {
        let subjects = self
            .subjects
            .iter()
            .all(|m| m.lock().map(|m| m.synced).unwrap_or(false));
        let classes = self.classes.lock().map(|m| m.synced).unwrap_or(false);
        let attribute_classes = self
            .attribute_classes
            .lock()
            .map(|m| m.synced)
            .unwrap_or(false);
        let namespaces = self.namespaces.lock().map(|m| m.synced).unwrap_or(false);
        subjects && classes && attribute_classes && namespaces
    }

    /// How many objects each kind holds, for logs and `/metrics`.
    pub fn counts(&self) -> Vec<(&'static str, usize)> {
        let mut counts: Vec<(&'static str, usize)> = Kind::ALL
            .iter()
            .map(|k| {
                let m = &self.subjects[slot(*k)];
                (k.name(), m.lock().map(|m| m.live.len()).unwrap_or(0))
            })
            .collect();
        counts.extend([
            (
                "storageclass",
                self.classes.lock().map(|m| m.live.len()).unwrap_or(0),
            ),
            (
                "volumeattributesclass",
                self.attribute_classes
                    .lock()
                    .map(|m| m.live.len())
                    .unwrap_or(0),
            ),
            (
                "namespace",
                self.namespaces.lock().map(|m| m.live.len()).unwrap_or(0),
            ),
        ]);
        counts
    }

    /// The objects deleted since the last view or call, without a view (a
    /// standby replica forgets them without copying every object).
    pub fn take_deleted(&self) -> Vec<ObjectId> {
        let mut deleted = Vec::new();
        for mirror in &self.subjects {
            if let Ok(mut m) = mirror.lock() {
                deleted.append(&mut m.deleted);
            }
        }
        deleted.iter().filter_map(|k| k.parse().ok()).collect()
    }

    /// The objects as they are now, PVCs with their class's expansion.
    pub fn view(&self) -> View {
        let classes = self.classes.lock();
        let classes = classes.as_ref().map(|m| &m.live).ok();
        let mut objects = Vec::new();
        let mut meta = Vec::new();
        let mut deleted = Vec::new();
        for (kind, mirror) in Kind::ALL.iter().zip(&self.subjects) {
            let Ok(mut m) = mirror.lock() else { continue };
            deleted.append(&mut m.deleted);
            meta.extend(m.live.values().map(|s| s.meta.clone()));
            objects.extend(m.live.values().map(|s| {
                let mut o = s.object.clone();
                if *kind == Kind::Pvc {
                    let class = o
                        .fields
                        .storage_class
                        .as_ref()
                        .and_then(|c| classes?.get(c));
                    o.fields.expandable = class.map(|c| c.expandable);
                    if let Some(c) = class {
                        o.fields.class_provisioner = Some(c.provisioner.clone());
                        o.fields.class_labels = c.labels.clone();
                        o.fields.class_annotations = c.annotations.clone();
                    }
                }
                o
            }));
        }
        let namespaces = self
            .namespaces
            .lock()
            .map(|m| m.live.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default();
        View {
            objects,
            meta,
            namespaces,
            deleted: deleted.iter().filter_map(|k| k.parse().ok()).collect(),
        }
    }
}

/// How every watcher lists: in small pages, which keeps the list spike
/// small, and consistent (the default semantic), never `resourceVersion=0`:
/// a replica that starts to lead reads its state back from this list, and a
/// list from a lagging watch cache may miss a state written just before.
/// Since Kubernetes 1.31 a consistent list is served from the watch cache
/// once it has caught up, so it stays cheap.
pub(super) fn config() -> watcher::Config {
    watcher::Config::default().page_size(50)
}

/// Runs a watcher of `api`, projecting each object with `project` into the
/// mirror. Errors back off and are logged when they start and when they end.
pub(super) fn spawn<K, T>(
    api: Api<K>,
    config: watcher::Config,
    kind: &'static str,
    project: fn(&K) -> (String, Option<T>),
    mirror: Arc<Mutex<Mirror<T>>>,
) where
    K: Resource + Clone + std::fmt::Debug + serde::de::DeserializeOwned + Send + Sync + 'static,
    T: Send + 'static,
{
    tokio::spawn(async move {
        let mut stream = watcher::watcher(api, config).default_backoff().boxed();
        let mut failing = false;
        while let Some(event) = stream.next().await {
            match event {
                Ok(event) => {
                    if failing {
                        tracing::info!(kind, "watch recovered");
                        failing = false;
                    }
                    let event = map_event(event, project);
                    if let Ok(mut m) = mirror.lock() {
                        m.apply(event);
                    }
                }
                Err(e) => {
                    if !failing {
                        tracing::warn!(kind, "watch failed, retrying with backoff: {e}");
                        failing = true;
                    }
                }
            }
        }
    });
}

/// A watcher event of `K` as one of projections; the full object goes here.
fn map_event<K, T>(
    event: Event<K>,
    project: fn(&K) -> (String, Option<T>),
) -> Event<(String, Option<T>)> {
    match event {
        Event::Apply(k) => Event::Apply(project(&k)),
        Event::Delete(k) => Event::Delete(project(&k)),
        Event::Init => Event::Init,
        Event::InitApply(k) => Event::InitApply(project(&k)),
        Event::InitDone => Event::InitDone,
    }
}

/// Where `kind`'s mirror is in [`Objects::subjects`].
fn slot(kind: Kind) -> usize {
    Kind::ALL.iter().position(|k| *k == kind).unwrap_or(0)
}

fn id(kind: Kind, meta: &ObjectMeta) -> ObjectId {
    let name = meta.name.as_deref().unwrap_or_default();
    let namespace = (kind != Kind::Node).then(|| meta.namespace.as_deref().unwrap_or_default());
    ObjectId::new(kind, namespace, name)
}

fn key(kind: Kind, meta: &ObjectMeta) -> String {
    id(kind, meta).to_string()
}

/// What every kind keeps of its metadata.
fn object(kind: Kind, meta: &ObjectMeta) -> Object {
    let mut o = Object::new(id(kind, meta));
    o.labels = meta.labels.clone().unwrap_or_default();
    o.annotations = kept_annotations(meta.annotations.as_ref());
    o.created = meta
        .creation_timestamp
        .as_ref()
        .map(|t| t.0.as_millisecond());
    // No `resourceVersion`: the engine compares what it reads instead, so a
    // write of the state annotation (or a status change nothing reads) does
    // not count as a change of the object.
    o
}

/// A pod: its phase, node, and controlling owner as `Kind/name`
/// (`StatefulSet/pg`, `ReplicaSet/web-7d9f…`).
pub fn pod_object(pod: &Pod) -> Object {
    let mut o = object(Kind::Pod, &pod.metadata);
    o.fields.phase = pod.status.as_ref().and_then(|s| s.phase.clone());
    o.fields.node = pod.spec.as_ref().and_then(|s| s.node_name.clone());
    o.fields.owner = pod
        .metadata
        .owner_references
        .iter()
        .flatten()
        .find(|r| r.controller == Some(true))
        .map(|r| format!("{}/{}", r.kind, r.name));
    o
}

/// A deployment or statefulset: `spec.replicas` (1 when unset, as the API
/// server defaults it) and `status.readyReplicas`, `availableReplicas` and
/// `updatedReplicas` (0 when unset: the workload controller omits them
/// while they are 0).
pub fn workload_object(
    kind: Kind,
    meta: &ObjectMeta,
    replicas: Option<i32>,
    [ready, available, updated]: [Option<i32>; 3],
) -> Object {
    let mut o = object(kind, meta);
    let count = |n: Option<i32>| Some(u32::try_from(n.unwrap_or(0)).unwrap_or(0));
    o.fields.replicas = count(Some(replicas.unwrap_or(1)));
    o.fields.ready_replicas = count(ready);
    o.fields.available_replicas = count(available);
    o.fields.updated_replicas = count(updated);
    o
}

pub fn deployment_object(d: &Deployment) -> Object {
    let s = d.status.as_ref();
    workload_object(
        Kind::Deployment,
        &d.metadata,
        d.spec.replicas,
        [
            s.and_then(|s| s.ready_replicas),
            s.and_then(|s| s.available_replicas),
            s.and_then(|s| s.updated_replicas),
        ],
    )
}

pub fn statefulset_object(d: &StatefulSet) -> Object {
    let s = d.status.as_ref();
    workload_object(
        Kind::StatefulSet,
        &d.metadata,
        d.spec.replicas,
        [
            s.and_then(|s| s.ready_replicas),
            s.and_then(|s| s.available_replicas),
            s.and_then(|s| s.updated_replicas),
        ],
    )
}

/// A namespace's labels and the annotations kept.
pub fn namespace_of(ns: &K8sNamespace) -> Namespace {
    Namespace {
        labels: ns.metadata.labels.clone().unwrap_or_default(),
        annotations: kept_annotations(ns.metadata.annotations.as_ref()),
    }
}

/// A node: its `Ready` condition (unknown without one) and `spec.unschedulable`.
pub fn node_object(node: &Node) -> Object {
    let mut o = object(Kind::Node, &node.metadata);
    o.fields.ready = node
        .status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .and_then(|cs| cs.iter().find(|c| c.type_ == "Ready"))
        .and_then(|c| match c.status.as_str() {
            "True" => Some(true),
            "False" => Some(false),
            _ => None,
        });
    o.fields.unschedulable = Some(
        node.spec
            .as_ref()
            .and_then(|s| s.unschedulable)
            .unwrap_or(false),
    );
    o
}

fn kept_annotations(a: Option<&BTreeMap<String, String>>) -> BTreeMap<String, String> {
    let mut a = a.cloned().unwrap_or_default();
    for k in DROPPED_ANNOTATIONS.iter().chain([&ANNOTATION]) {
        a.remove(*k);
    }
    a
}

/// A claim as the engine sees it; None (logged) when a size does not parse.
pub fn pvc_object(pvc: &PersistentVolumeClaim) -> Option<Object> {
    let view = match PvcView::new(pvc, None) {
        Ok(view) => view,
        Err(e) => {
            tracing::warn!("{e}; the claim is left out until it is fixed");
            return None;
        }
    };
    let mut o = object(Kind::Pvc, &pvc.metadata);
    o.fields = Fields {
        capacity: view.capacity,
        requested: view.requested,
        storage_class: view.storage_class.clone(),
        volume_attributes_class: pvc
            .spec
            .as_ref()
            .and_then(|s| s.volume_attributes_class_name.clone()),
        phase: view.phase.clone(),
        expandable: None,
        resizing: view.resize_in_progress.is_some(),
        access_modes: pvc
            .spec
            .as_ref()
            .and_then(|s| s.access_modes.clone())
            .unwrap_or_default(),
        volume_mode: pvc.spec.as_ref().and_then(|s| s.volume_mode.clone()),
        ..Fields::default()
    };
    Some(o)
}

/// The cluster as it is now, listed once (not watched): what `backtest
/// --kubeconfig` and `repl --kubeconfig` read.
#[derive(Clone, Debug, Default)]
pub struct Listing {
    /// Every object of the kinds policies act on, sorted by id.
    pub objects: Vec<Object>,
    pub classes: BTreeMap<String, Class>,
    pub namespaces: BTreeMap<String, Namespace>,
}

impl Listing {
    /// The listing as scenario YAML (docs/formats.md) for a run from `start`
    /// (milliseconds): every object as it is now, there from the start (the
    /// history says what it held), aged at `start`; one created after
    /// `start` has no `age` there (no data). A PVC's class that is not in
    /// the cluster is declared without expansion, as the controller reads
    /// it. Pure.
    pub fn scenario(&self, start: i64) -> serde_json::Value {
        use serde_json::{Map, Value, json};
        let seconds = |ms: i64| format!("{}s", ms / 1000);
        let mut classes: BTreeMap<String, Value> = self
            .classes
            .iter()
            .map(|(name, c)| {
                let mut v = json!({
                    "kind": "storageclass",
                    "name": name,
                    "allow_volume_expansion": c.expandable,
                });
                if !c.provisioner.is_empty() {
                    v["provisioner"] = c.provisioner.clone().into();
                }
                put_labels(&mut v, &c.labels, &c.annotations);
                (name.clone(), v)
            })
            .collect();
        let mut objects = Vec::new();
        for o in &self.objects {
            let mut v = json!({ "kind": o.id.kind.name(), "name": o.id.name });
            let m = v.as_object_mut().expect("an object");
            if let Some(ns) = &o.id.namespace {
                m.insert("namespace".into(), ns.clone().into());
            }
            if let Some(created) = o.created.filter(|c| *c <= start) {
                m.insert("age".into(), seconds(start - created).into());
            }
            let f = &o.fields;
            let mut put = |k: &str, v: Option<Value>| {
                if let Some(v) = v {
                    m.insert(k.into(), v);
                }
            };
            put("storage_class", f.storage_class.clone().map(Value::from));
            put(
                "capacity",
                f.capacity.map(|b| crate::quantity::format_bytes(b).into()),
            );
            put(
                "requested",
                f.requested.map(|b| crate::quantity::format_bytes(b).into()),
            );
            put(
                "volume_attributes_class",
                f.volume_attributes_class.clone().map(Value::from),
            );
            put("phase", f.phase.clone().map(Value::from));
            put(
                "access_modes",
                (!f.access_modes.is_empty()).then(|| json!(f.access_modes)),
            );
            put("volume_mode", f.volume_mode.clone().map(Value::from));
            put("node", f.node.clone().map(Value::from));
            put("owner", f.owner.clone().map(Value::from));
            put("replicas", f.replicas.map(Value::from));
            put("ready_replicas", f.ready_replicas.map(Value::from));
            put("available_replicas", f.available_replicas.map(Value::from));
            put("updated_replicas", f.updated_replicas.map(Value::from));
            put("ready", f.ready.map(Value::from));
            put("unschedulable", f.unschedulable.map(Value::from));
            put_labels(&mut v, &o.labels, &o.annotations);
            if let Some(class) = &f.storage_class {
                classes.entry(class.clone()).or_insert_with(|| {
                    json!({"kind": "storageclass", "name": class, "allow_volume_expansion": false})
                });
            }
            objects.push(v);
        }
        let namespaces: Vec<Value> = self
            .namespaces
            .iter()
            .filter(|(_, n)| !n.labels.is_empty() || !n.annotations.is_empty())
            .map(|(name, n)| {
                let mut v = json!({ "name": name });
                put_labels(&mut v, &n.labels, &n.annotations);
                v
            })
            .collect();
        let mut out = Map::new();
        out.insert(
            "objects".into(),
            classes.into_values().chain(objects).collect(),
        );
        if !namespaces.is_empty() {
            out.insert("namespaces".into(), namespaces.into());
        }
        Value::Object(out)
    }
}

/// Adds `labels` and `annotations` to a scenario entry when there are any.
fn put_labels(
    v: &mut serde_json::Value,
    labels: &BTreeMap<String, String>,
    annotations: &BTreeMap<String, String>,
) {
    let m = v.as_object_mut().expect("an object");
    if !labels.is_empty() {
        m.insert("labels".into(), serde_json::json!(labels));
    }
    if !annotations.is_empty() {
        m.insert("annotations".into(), serde_json::json!(annotations));
    }
}

/// The objects of `kind` in the cluster, projected as `run` projects them,
/// sorted by id.
pub async fn list(client: &Client, kind: Kind) -> Result<Vec<Object>, String> {
    let mut objects = match kind {
        Kind::Pvc => all::<PersistentVolumeClaim, _>(client, pvc_object).await?,
        Kind::Pod => all::<Pod, _>(client, |p| Some(pod_object(p))).await?,
        Kind::Node => all::<Node, _>(client, |n| Some(node_object(n))).await?,
        Kind::Deployment => all::<Deployment, _>(client, |d| Some(deployment_object(d))).await?,
        Kind::StatefulSet => all::<StatefulSet, _>(client, |s| Some(statefulset_object(s))).await?,
    };
    objects.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(objects)
}

/// Every object, storage class and namespace of the cluster.
pub async fn list_all(client: &Client) -> Result<Listing, String> {
    let mut objects = Vec::new();
    for kind in Kind::ALL {
        objects.extend(list(client, kind).await?);
    }
    let named = |m: &ObjectMeta| m.name.clone().unwrap_or_default();
    let classes = all::<StorageClass, _>(client, |c| Some((named(&c.metadata), Class::of(c))))
        .await?
        .into_iter()
        .collect();
    Ok(Listing {
        objects,
        classes,
        namespaces: namespaces(client).await?,
    })
}

/// The cluster's namespaces, by name, projected as `run` projects them.
pub async fn namespaces(client: &Client) -> Result<BTreeMap<String, Namespace>, String> {
    let named = |m: &ObjectMeta| m.name.clone().unwrap_or_default();
    Ok(
        all::<K8sNamespace, _>(client, |n| Some((named(&n.metadata), namespace_of(n))))
            .await?
            .into_iter()
            .collect(),
    )
}

/// Every object of one Kubernetes type, listed and projected.
async fn all<K, T>(client: &Client, project: impl Fn(&K) -> Option<T>) -> Result<Vec<T>, String>
where
    K: Resource + Clone + serde::de::DeserializeOwned + std::fmt::Debug,
    K::DynamicType: Default,
{
    let list = Api::<K>::all(client.clone())
        .list(&kube::api::ListParams::default())
        .await
        .map_err(|e| crate::cluster::approval::error_chain(&e))?;
    Ok(list.items.iter().filter_map(project).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn applied(m: &Mirror<u32>) -> Vec<(String, u32)> {
        let mut v: Vec<(String, u32)> = m.live.iter().map(|(k, v)| (k.clone(), *v)).collect();
        v.sort();
        v
    }

    /// Real API JSON of each kind, as the projection sees it.
    #[test]
    fn each_kind_projects_what_policies_read_and_nothing_else() {
        let pod: Pod = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "pg-0", "namespace": "db", "resourceVersion": "41",
                "creationTimestamp": "2026-01-01T00:00:00Z", "labels": {"app": "pg"},
                "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{…}", "team": "data"},
                "ownerReferences": [
                    {"apiVersion": "v1", "kind": "ConfigMap", "name": "x", "uid": "1"},
                    {"apiVersion": "apps/v1", "kind": "StatefulSet", "name": "pg", "uid": "2", "controller": true}]},
            "spec": {"nodeName": "n1", "containers": [{"name": "pg", "image": "postgres"}]},
            "status": {"phase": "Running"}
        }))
        .unwrap();
        let bare_pod: Pod = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "pending", "namespace": "db"}
        }))
        .unwrap();
        let sts: StatefulSet = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "pg", "namespace": "db"},
            "spec": {"replicas": 3, "serviceName": "pg", "selector": {}, "template": {}},
            "status": {"replicas": 3, "readyReplicas": 2}
        }))
        .unwrap();
        let deploy: Deployment = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "web", "namespace": "app"},
            "spec": {"selector": {}, "template": {}}
        }))
        .unwrap();
        let node = |conditions: serde_json::Value, unschedulable: bool| -> Node {
            serde_json::from_value(serde_json::json!({
                "metadata": {"name": "n1"},
                "spec": {"unschedulable": unschedulable},
                "status": {"conditions": conditions}
            }))
            .unwrap()
        };
        let ready = node(
            serde_json::json!([{"type": "MemoryPressure", "status": "False"}, {"type": "Ready", "status": "True"}]),
            true,
        );
        let unknown = node(
            serde_json::json!([{"type": "Ready", "status": "Unknown"}]),
            false,
        );
        let objects = [
            pod_object(&pod),
            pod_object(&bare_pod),
            statefulset_object(&sts),
            deployment_object(&deploy),
            node_object(&ready),
            node_object(&unknown),
        ];
        insta::assert_json_snapshot!(objects);
    }

    #[test]
    fn a_claim_projects_its_modes_and_its_class() {
        let pvc: PersistentVolumeClaim = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "data", "namespace": "db"},
            "spec": {
                "accessModes": ["ReadWriteOnce", "ReadOnlyMany"],
                "volumeMode": "Block",
                "storageClassName": "fast",
                "resources": {"requests": {"storage": "10Gi"}}
            },
            "status": {"phase": "Bound", "capacity": {"storage": "10Gi"}}
        }))
        .unwrap();
        let o = pvc_object(&pvc).unwrap();
        assert_eq!(o.fields.access_modes, ["ReadWriteOnce", "ReadOnlyMany"]);
        assert_eq!(o.fields.volume_mode.as_deref(), Some("Block"));
        let class: StorageClass = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "fast", "labels": {"tier": "fast"},
                "annotations": {"autopilot.rs/max-size": "2Ti"}},
            "provisioner": "ebs.csi.aws.com",
            "allowVolumeExpansion": true
        }))
        .unwrap();
        assert_eq!(
            Class::of(&class),
            Class {
                expandable: true,
                provisioner: "ebs.csi.aws.com".into(),
                labels: [("tier".to_string(), "fast".to_string())].into(),
                annotations: [("autopilot.rs/max-size".to_string(), "2Ti".to_string())].into(),
            }
        );
    }

    /// The listing as a scenario: every kind with its fields, a class the
    /// cluster lacks declared, an object younger than the start without
    /// `age`; and the YAML loads, over a frame, as the same objects.
    #[test]
    fn a_listing_is_a_scenario_that_loads_as_the_same_objects() {
        let from_json =
            |v: serde_json::Value| -> PersistentVolumeClaim { serde_json::from_value(v).unwrap() };
        let pvc = |name: &str, class: &str, created: &str| {
            from_json(serde_json::json!({
                "metadata": {"name": name, "namespace": "db", "labels": {"app": "pg"},
                    "creationTimestamp": created},
                "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": class,
                    "resources": {"requests": {"storage": "12Gi"}}},
                "status": {"phase": "Bound", "capacity": {"storage": "10Gi"}}
            }))
        };
        let start = jiff::Timestamp::from_second(1_767_225_600).unwrap();
        let old = pvc("old", "fast", "2025-12-31T00:00:00Z");
        let young = pvc("young", "gone", "2026-01-02T00:00:00Z");
        let deploy: Deployment = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "api", "namespace": "web"},
            "spec": {"replicas": 3, "selector": {}, "template": {}},
            "status": {"readyReplicas": 2}
        }))
        .unwrap();
        let node: Node = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "n1"},
            "spec": {"unschedulable": true},
            "status": {"conditions": [{"type": "Ready", "status": "True"}]}
        }))
        .unwrap();
        let pod: Pod = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "pg-0", "namespace": "db"},
            "spec": {"nodeName": "n1", "containers": []},
            "status": {"phase": "Running"}
        }))
        .unwrap();
        let listing = Listing {
            objects: vec![
                pvc_object(&old).unwrap(),
                pvc_object(&young).unwrap(),
                deployment_object(&deploy),
                node_object(&node),
                pod_object(&pod),
            ],
            classes: [(
                "fast".to_string(),
                Class {
                    expandable: true,
                    provisioner: "ebs.csi.aws.com".into(),
                    labels: [("tier".to_string(), "fast".to_string())].into(),
                    annotations: BTreeMap::new(),
                },
            )]
            .into(),
            namespaces: [
                (
                    "db".to_string(),
                    Namespace {
                        labels: [("team".to_string(), "data".to_string())].into(),
                        annotations: BTreeMap::new(),
                    },
                ),
                ("web".to_string(), Namespace::default()),
            ]
            .into(),
        };
        let yaml = serde_saphyr::to_string(&listing.scenario(start.as_millisecond())).unwrap();
        insta::assert_snapshot!(yaml);

        let mut sources = crate::source::SourceMap::new();
        let file = sources.add("<cluster>", yaml.clone());
        let frame = crate::sim::scenario::Frame {
            start: start.as_millisecond(),
            step: 60_000,
            duration: 3_600_000,
            lookback: 60_000,
        };
        let s = crate::sim::scenario::parse_framed(file, &yaml, frame).unwrap();
        assert_eq!(s.start, frame.start);
        assert_eq!(s.duration, frame.duration);
        let ids: Vec<String> = s.objects.iter().map(|o| o.id.to_string()).collect();
        let wanted: Vec<String> = listing.objects.iter().map(|o| o.id.to_string()).collect();
        assert_eq!(ids, wanted);
        let old = s.object(&listing.objects[0].id).unwrap();
        assert_eq!(old.fields.capacity, Some(10 << 30));
        assert_eq!(old.fields.requested, Some(12 << 30));
        assert_eq!(old.created, Some(start.as_millisecond() - 86_400_000));
        assert_eq!(s.object(&listing.objects[1].id).unwrap().created, None);
        assert!(s.classes["fast"].allow_volume_expansion);
        assert!(!s.classes["gone"].allow_volume_expansion);
        assert_eq!(s.namespaces["db"].labels["team"], "data");
    }

    #[test]
    fn a_relist_swaps_in_whole_and_reports_what_went() {
        let mut m = Mirror::<u32>::default();
        let kv = |k: &str, v: u32| (k.to_string(), Some(v));
        m.apply(Event::Init);
        m.apply(Event::InitApply(kv("a", 1)));
        m.apply(Event::InitApply(kv("b", 2)));
        assert!(
            m.live.is_empty() && !m.synced,
            "nothing until the list is done"
        );
        m.apply(Event::InitDone);
        assert!(m.synced);
        assert_eq!(applied(&m), [("a".into(), 1), ("b".into(), 2)]);
        m.apply(Event::Apply(kv("a", 3)));
        m.apply(Event::Delete(kv("b", 2)));
        assert_eq!(applied(&m), [("a".into(), 3)]);
        assert_eq!(std::mem::take(&mut m.deleted), ["b"]);
        // A relist that lacks `a`: it is reported deleted once the list is in.
        m.apply(Event::Init);
        m.apply(Event::InitApply(kv("c", 4)));
        assert_eq!(
            applied(&m),
            [("a".into(), 3)],
            "the old state serves meanwhile"
        );
        m.apply(Event::InitDone);
        assert_eq!(applied(&m), [("c".into(), 4)]);
        assert_eq!(m.deleted, ["a"]);
        // An object that stops projecting is gone.
        m.apply(Event::Apply(("c".into(), None)));
        assert!(m.live.is_empty());
    }
}
