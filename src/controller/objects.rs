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
use k8s_openapi::api::core::v1::{Namespace as K8sNamespace, PersistentVolumeClaim};
use k8s_openapi::api::storage::v1::StorageClass;
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher::{self, Event};
use kube::{Api, Client, Resource};

use crate::cluster::pvc::PvcView;
use crate::engine::{Fields, Namespace, Object, ObjectId};
use crate::ir::Kind;

/// Annotations never kept: large, and nothing a policy reads.
const DROPPED_ANNOTATIONS: &[&str] = &["kubectl.kubernetes.io/last-applied-configuration"];

/// One kind's objects by key, with relists swapped in whole.
#[derive(Debug)]
struct Mirror<T> {
    live: HashMap<String, T>,
    /// A relist in progress: it replaces `live` when done.
    relist: Option<HashMap<String, T>>,
    synced: bool,
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

/// The mirrors of every kind the controller watches.
#[derive(Clone, Default)]
pub struct Objects {
    pvcs: Arc<Mutex<Mirror<Object>>>,
    /// StorageClass name → `allowVolumeExpansion`.
    classes: Arc<Mutex<Mirror<bool>>>,
    namespaces: Arc<Mutex<Mirror<Namespace>>>,
}

/// What one tick sees.
pub struct View {
    pub objects: Vec<Object>,
    pub namespaces: BTreeMap<String, Namespace>,
    /// Objects deleted since the last view: the engine forgets them.
    pub deleted: Vec<ObjectId>,
}

impl Objects {
    /// Starts one watcher task per kind on the current runtime.
    pub fn watch(client: &Client) -> Objects {
        let objects = Objects::default();
        spawn(
            Api::<PersistentVolumeClaim>::all(client.clone()),
            "pvc",
            |pvc| (pvc_key(pvc), pvc_object(pvc)),
            Arc::clone(&objects.pvcs),
        );
        spawn(
            Api::<StorageClass>::all(client.clone()),
            "storageclass",
            |c| {
                let name = c.metadata.name.clone().unwrap_or_default();
                (name, Some(c.allow_volume_expansion.unwrap_or(false)))
            },
            Arc::clone(&objects.classes),
        );
        spawn(
            Api::<K8sNamespace>::all(client.clone()),
            "namespace",
            |ns| {
                let name = ns.metadata.name.clone().unwrap_or_default();
                let namespace = Namespace {
                    labels: ns.metadata.labels.clone().unwrap_or_default(),
                    annotations: kept_annotations(ns.metadata.annotations.as_ref()),
                };
                (name, Some(namespace))
            },
            Arc::clone(&objects.namespaces),
        );
        objects
    }

    /// Whether every watcher has listed once.
    pub fn synced(&self) -> bool {
        let pvcs = self.pvcs.lock().map(|m| m.synced).unwrap_or(false);
        let classes = self.classes.lock().map(|m| m.synced).unwrap_or(false);
        let namespaces = self.namespaces.lock().map(|m| m.synced).unwrap_or(false);
        pvcs && classes && namespaces
    }

    /// How many objects each kind holds, for logs and `/metrics`.
    pub fn counts(&self) -> Vec<(&'static str, usize)> {
        vec![
            ("pvc", self.pvcs.lock().map(|m| m.live.len()).unwrap_or(0)),
            (
                "storageclass",
                self.classes.lock().map(|m| m.live.len()).unwrap_or(0),
            ),
            (
                "namespace",
                self.namespaces.lock().map(|m| m.live.len()).unwrap_or(0),
            ),
        ]
    }

    /// The objects as they are now, PVCs with their class's expansion.
    pub fn view(&self) -> View {
        let classes: HashMap<String, bool> = self
            .classes
            .lock()
            .map(|m| m.live.clone())
            .unwrap_or_default();
        let (objects, deleted) = match self.pvcs.lock() {
            Ok(mut m) => {
                let deleted = std::mem::take(&mut m.deleted);
                let objects: Vec<Object> = m
                    .live
                    .values()
                    .map(|o| {
                        let mut o = o.clone();
                        o.fields.expandable = o
                            .fields
                            .storage_class
                            .as_ref()
                            .and_then(|c| classes.get(c).copied());
                        o
                    })
                    .collect();
                (objects, deleted)
            }
            Err(_) => (Vec::new(), Vec::new()),
        };
        let namespaces = self
            .namespaces
            .lock()
            .map(|m| m.live.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default();
        View {
            objects,
            namespaces,
            deleted: deleted.iter().filter_map(|k| k.parse().ok()).collect(),
        }
    }
}

/// Runs a watcher of `api`, projecting each object with `project` into the
/// mirror. Errors back off and are logged when they start and when they end.
fn spawn<K, T>(
    api: Api<K>,
    kind: &'static str,
    project: fn(&K) -> (String, Option<T>),
    mirror: Arc<Mutex<Mirror<T>>>,
) where
    K: Resource + Clone + std::fmt::Debug + serde::de::DeserializeOwned + Send + Sync + 'static,
    T: Send + 'static,
{
    // Relists come from the watch cache; small pages keep the list spike small.
    let config = watcher::Config::default().any_semantic().page_size(50);
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

fn pvc_key(pvc: &PersistentVolumeClaim) -> String {
    let ns = pvc.metadata.namespace.as_deref().unwrap_or_default();
    let name = pvc.metadata.name.as_deref().unwrap_or_default();
    ObjectId::new(Kind::Pvc, Some(ns), name).to_string()
}

fn kept_annotations(a: Option<&BTreeMap<String, String>>) -> BTreeMap<String, String> {
    let mut a = a.cloned().unwrap_or_default();
    for k in DROPPED_ANNOTATIONS {
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
    let meta = &pvc.metadata;
    let mut o = Object::new(ObjectId::new(Kind::Pvc, Some(&view.namespace), &view.name));
    o.labels = meta.labels.clone().unwrap_or_default();
    o.annotations = kept_annotations(meta.annotations.as_ref());
    o.created = meta
        .creation_timestamp
        .as_ref()
        .map(|t| t.0.as_millisecond());
    o.version = view.resource_version.clone();
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
        ..Fields::default()
    };
    Some(o)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn applied(m: &Mirror<u32>) -> Vec<(String, u32)> {
        let mut v: Vec<(String, u32)> = m.live.iter().map(|(k, v)| (k.clone(), *v)).collect();
        v.sort();
        v
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
