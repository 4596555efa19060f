//! The engines' state on the cluster ([`crate::cluster::state`]): read back
//! when a replica starts to lead, written when it changes.
//!
//! - **Read back**, per source, before its engine's first leading tick: every
//!   object's `autopilot.rs/state` and the `at_most` ConfigMap. An annotation
//!   that does not parse is dropped with a Warning Event `StateInvalid` (the
//!   object starts from normal, and the next write replaces the garbage);
//!   [`Engine::restore`] clamps the times (an action in flight comes back as
//!   a cooldown from now, never as a repeat).
//! - **Written** at the end of each tick, one merge patch per object whose
//!   state changed ([`Persist::flush`]): nothing when nothing changed. The
//!   patch carries the object's `uid` as its precondition (a claim recreated
//!   under the same name is never written) and sets only the annotation, so
//!   it cannot undo anyone else's change. A write of an action that patches
//!   its object itself carries the state in the same patch
//!   ([`crate::cluster::act::stamps`]); for the other actions the state that
//!   says the action is in flight is written before the action
//!   ([`Persist::write_now`]).
//!
//! Only the leader writes: each write checks the Lease first.

use std::collections::{BTreeMap, HashMap, HashSet};

use k8s_openapi::api::core::v1::ConfigMap;
use kube::Client;
use kube::api::{Api, Patch, PatchParams};
use serde_json::json;
use tokio::sync::watch;

use super::Live;
use super::objects::{Meta, View};
use super::sources::SourceId;
use super::telemetry::{Telemetry, Write};
use crate::cluster::act::{api_failure, dynamic, rbac_resource};
use crate::cluster::events::{Events, Note};
use crate::cluster::resize::{FIELD_MANAGER, Operation};
use crate::cluster::state::{
    self, AT_MOST_CONFIG_MAP, AT_MOST_KEY, AtMost, LastAction, ObjectState, PolicyState,
};
use crate::engine::saved::{SavedState, VERSION};
use crate::engine::{Engine, Event, EventKind, ObjectId, PhaseName, Time};
use crate::report::action;

/// The Warning Event reason of an annotation that does not parse.
pub const STATE_INVALID: &str = "StateInvalid";

/// When a (source, policy) state of an object began, and its last action:
/// what `autopilot status` shows beside the engine's state.
#[derive(Clone, Debug, Default)]
struct Notes {
    entered: Option<Time>,
    last: Option<LastAction>,
}

pub(super) struct Persist {
    client: Client,
    home: String,
    /// Values this replica wrote that the mirror has not shown yet.
    echo: HashMap<ObjectId, Option<String>>,
    /// By object, then (source, policy key).
    notes: HashMap<ObjectId, BTreeMap<(String, String), Notes>>,
    /// The `at_most` ConfigMap's value, as last read or written.
    at_most: Option<String>,
    /// Objects whose state write fails (said once until it works again).
    failing: HashSet<ObjectId>,
    /// Annotations already reported invalid (object, text).
    said_invalid: HashSet<(ObjectId, String)>,
    telemetry: Telemetry,
}

impl Persist {
    pub(super) fn new(client: Client, home: String, telemetry: Telemetry) -> Persist {
        Persist {
            client,
            home,
            echo: HashMap::new(),
            notes: HashMap::new(),
            at_most: None,
            failing: HashSet::new(),
            said_invalid: HashSet::new(),
            telemetry,
        }
    }

    /// Forgets everything but the client: a replica that starts to lead
    /// reads the state back from the cluster.
    pub(super) fn reset(&mut self) {
        self.echo.clear();
        self.notes.clear();
        self.at_most = None;
        self.failing.clear();
    }

    /// Restores the engines that have not read their state back yet.
    pub(super) async fn restore(
        &mut self,
        live: &mut BTreeMap<SourceId, Live>,
        view: &View,
        events: &Events,
        t: Time,
    ) {
        if live.values().all(|l| l.restored) {
            return;
        }
        let at_most = self.read_at_most().await;
        let mut states: Vec<(&ObjectId, ObjectState)> = Vec::new();
        for (object, meta) in view.objects.iter().zip(&view.meta) {
            let Some(text) = meta.state.as_deref() else {
                continue;
            };
            match ObjectState::parse(text) {
                Ok(s) => states.push((&object.id, s)),
                Err(e) => {
                    let key = (object.id.clone(), text.to_string());
                    if self.said_invalid.insert(key) {
                        tracing::warn!(object = %object.id, "{e}");
                        self.invalid(events, &object.id, &e.to_string()).await;
                    }
                }
            }
        }
        for (id, l) in live.iter_mut().filter(|(_, l)| !l.restored) {
            let source = id.to_string();
            let mut saved = at_most.saved_of(&source);
            for (object, s) in &states {
                saved.states.extend(s.saved_of(object, &source));
                for p in s.policies.iter().filter(|p| p.source == source) {
                    self.notes.entry((*object).clone()).or_default().insert(
                        (source.clone(), p.policy.clone()),
                        Notes {
                            entered: p.entered.map(|e| e.min(t)),
                            last: p.last.clone(),
                        },
                    );
                }
            }
            let n = saved.states.len();
            for s in &saved.states {
                tracing::debug!(source = %id, object = %s.object, policy = %s.policy, phase = ?s.phase, "restoring");
            }
            match l.engine.restore(&saved, t) {
                Ok(()) if n > 0 => tracing::info!(source = %id, states = n, "state restored"),
                Ok(()) => {}
                Err(e) => tracing::warn!(source = %id, "state not restored: {e}"),
            }
            l.restored = true;
        }
    }

    async fn invalid(&self, events: &Events, object: &ObjectId, why: &str) {
        let Some(regarding) = crate::cluster::resize::reference(object) else {
            return;
        };
        let note = Note {
            warning: true,
            reason: STATE_INVALID.into(),
            action: "Restore",
            message: why.to_string(),
        };
        if let Err(e) = events.publish(&regarding, &note).await {
            tracing::warn!(%object, "could not record the event: {e}");
        }
    }

    /// The `at_most` history on the cluster (empty when there is none yet,
    /// or when it cannot be read: said in the log).
    async fn read_at_most(&mut self) -> AtMost {
        let api: Api<ConfigMap> = Api::namespaced(self.client.clone(), &self.home);
        let text = match api.get_opt(AT_MOST_CONFIG_MAP).await {
            Ok(map) => map
                .and_then(|m| m.data)
                .and_then(|mut d| d.remove(AT_MOST_KEY)),
            Err(e) => {
                tracing::warn!(
                    "cannot read the at_most history (ConfigMap {}/{AT_MOST_CONFIG_MAP}); \
                     budgets start empty: {e}",
                    self.home
                );
                None
            }
        };
        let Some(text) = text else {
            return AtMost {
                v: VERSION,
                ..AtMost::default()
            };
        };
        match AtMost::parse(&text) {
            Ok(a) => {
                self.at_most = Some(text);
                a
            }
            Err(e) => {
                tracing::warn!(
                    "ConfigMap {}/{AT_MOST_CONFIG_MAP}: {e}; budgets start empty",
                    self.home
                );
                AtMost {
                    v: VERSION,
                    ..AtMost::default()
                }
            }
        }
    }

    /// Takes note of what an engine said: when states began, the last action.
    pub(super) fn note(&mut self, source: &SourceId, engine: &Engine, e: &Event) {
        let Some(key) = engine
            .program()
            .policies
            .iter()
            .find(|p| p.name == e.policy)
            .map(|p| p.key.clone())
        else {
            return;
        };
        let notes = self
            .notes
            .entry(e.object.clone())
            .or_default()
            .entry((source.to_string(), key))
            .or_default();
        match &e.kind {
            EventKind::Transition { to, .. } if *to == PhaseName::Normal => {
                *notes = Notes::default();
            }
            EventKind::Transition { .. } => notes.entered = Some(e.time),
            EventKind::Action {
                action: name,
                planned,
                result,
                ..
            } => {
                notes.last = Some(LastAction {
                    action: action::describe(*name, planned.as_ref()),
                    result: *result,
                    at: e.time,
                });
            }
            EventKind::Error { .. } => {}
        }
    }

    /// The annotation `object` should hold now, over every source.
    pub(super) fn render(
        &self,
        live: &BTreeMap<SourceId, Live>,
        object: &ObjectId,
    ) -> Option<String> {
        let mut policies = Vec::new();
        for (id, l) in live {
            let states = l.engine.saved_of(object);
            self.extend(&mut policies, id, l, object, states);
        }
        (!policies.is_empty()).then(|| {
            ObjectState {
                v: VERSION,
                policies,
            }
            .render()
        })
    }

    fn extend(
        &self,
        out: &mut Vec<PolicyState>,
        id: &SourceId,
        live: &Live,
        object: &ObjectId,
        states: Vec<SavedState>,
    ) {
        let source = id.to_string();
        let notes = self.notes.get(object);
        for s in states {
            let name = live
                .program
                .policies
                .iter()
                .find(|p| p.key == s.policy)
                .map(|p| p.name.clone())
                .unwrap_or_default();
            let n = notes
                .and_then(|n| n.get(&(source.clone(), s.policy.clone())))
                .cloned()
                .unwrap_or_default();
            out.push(PolicyState {
                source: source.clone(),
                policy: s.policy,
                name,
                phase: s.phase,
                entered: n.entered,
                backoff: s.backoff,
                held: s.held,
                last: n.last,
            });
        }
    }

    /// What this replica knows `object`'s annotation to hold.
    fn current<'a>(&'a mut self, object: &ObjectId, meta: &'a Meta) -> Option<&'a str> {
        let on_cluster = meta.state.as_deref();
        match self.echo.get(object) {
            // The mirror shows our write: it is the truth again.
            Some(ours) if ours.as_deref() == on_cluster => {
                self.echo.remove(object);
                on_cluster
            }
            Some(_) => self.echo.get(object).and_then(|v| v.as_deref()),
            None => on_cluster,
        }
    }

    /// Writes `object`'s annotation if it does not hold `value` yet (the
    /// state before an action that does not patch its object).
    pub(super) async fn write_now(
        &mut self,
        object: &ObjectId,
        meta: &Meta,
        value: Option<&str>,
        leading: &watch::Receiver<bool>,
    ) -> bool {
        if self.current(object, meta) == value {
            return true;
        }
        self.write(object, meta, value, leading).await
    }

    /// An action's own patch carried `value` ([`crate::cluster::act::stamps`]).
    pub(super) fn stamped(&mut self, object: &ObjectId, value: Option<&str>) {
        self.echo.insert(object.clone(), value.map(String::from));
    }

    /// Writes every object's annotation that differs from the engines'
    /// state, and the `at_most` history if it changed; returns the writes.
    pub(super) async fn flush(
        &mut self,
        live: &BTreeMap<SourceId, Live>,
        view: &View,
        leading: &watch::Receiver<bool>,
    ) -> usize {
        let mut desired: BTreeMap<ObjectId, Vec<PolicyState>> = BTreeMap::new();
        let mut at_most = AtMost {
            v: VERSION,
            ..AtMost::default()
        };
        for (id, l) in live {
            let saved = l.engine.save();
            if !saved.at_most.is_empty() {
                at_most.sources.insert(id.to_string(), saved.at_most);
            }
            let mut by_object: BTreeMap<ObjectId, Vec<SavedState>> = BTreeMap::new();
            for s in saved.states {
                by_object.entry(s.object.clone()).or_default().push(s);
            }
            for (object, states) in by_object {
                let out = desired.entry(object.clone()).or_default();
                self.extend(out, id, l, &object, states);
            }
        }
        let mut writes = 0;
        for (object, meta) in view.objects.iter().zip(&view.meta) {
            let id = &object.id;
            let want = desired.remove(id).map(|policies| {
                ObjectState {
                    v: VERSION,
                    policies,
                }
                .render()
            });
            if meta.state.is_none() && want.is_none() && !self.echo.contains_key(id) {
                continue;
            }
            if self.current(id, meta) == want.as_deref() {
                continue;
            }
            if !*leading.borrow() {
                return writes;
            }
            if self.write(id, meta, want.as_deref(), leading).await {
                writes += 1;
            }
        }
        // Notes of objects that are gone or normal again.
        if !self.notes.is_empty() {
            let live_ids: HashSet<&ObjectId> = view.objects.iter().map(|o| &o.id).collect();
            self.notes.retain(|id, _| live_ids.contains(id));
        }
        let text =
            (!at_most.sources.is_empty() || self.at_most.is_some()).then(|| at_most.render());
        if let Some(text) = text
            && self.at_most.as_deref() != Some(text.as_str())
            && *leading.borrow()
            && self.write_at_most(&text).await
        {
            writes += 1;
        }
        writes
    }

    async fn write(
        &mut self,
        object: &ObjectId,
        meta: &Meta,
        value: Option<&str>,
        leading: &watch::Receiver<bool>,
    ) -> bool {
        if !*leading.borrow() {
            return false;
        }
        let api = dynamic(&self.client, object);
        let patch = json!({
            "metadata": {
                "uid": meta.uid.as_deref(),
                "annotations": { state::ANNOTATION: value },
            }
        });
        let params = PatchParams {
            field_manager: Some(FIELD_MANAGER.into()),
            ..PatchParams::default()
        };
        self.telemetry.wrote(Write::State);
        match api
            .patch(&object.name, &params, &Patch::Merge(&patch))
            .await
        {
            Ok(_) => {
                if self.failing.remove(object) {
                    tracing::info!(%object, "the state is written again");
                }
                self.echo.insert(object.clone(), value.map(String::from));
                true
            }
            Err(kube::Error::Api(s)) if s.code == 404 => false,
            Err(e) => {
                let op = Operation {
                    verb: "patch",
                    resource: rbac_resource(object.kind),
                    namespace: object.namespace.clone(),
                };
                if self.failing.insert(object.clone()) {
                    tracing::warn!(
                        %object,
                        "the state annotation could not be written; retried next tick (said \
                         once): {}",
                        api_failure(&op, object, &e)
                    );
                }
                false
            }
        }
    }

    async fn write_at_most(&mut self, text: &str) -> bool {
        let api: Api<ConfigMap> = Api::namespaced(self.client.clone(), &self.home);
        let map = json!({
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {
                "name": AT_MOST_CONFIG_MAP,
                "labels": {"app.kubernetes.io/managed-by": "autopilot"},
            },
            "data": { AT_MOST_KEY: text },
        });
        // Server-side apply creates it the first time, patches it after.
        let params = PatchParams::apply(FIELD_MANAGER).force();
        self.telemetry.wrote(Write::State);
        match api
            .patch(AT_MOST_CONFIG_MAP, &params, &Patch::Apply(&map))
            .await
        {
            Ok(_) => {
                self.at_most = Some(text.to_string());
                true
            }
            Err(e) => {
                tracing::warn!(
                    "the at_most history could not be written to ConfigMap {}/{AT_MOST_CONFIG_MAP}; \
                     retried next tick: {e}",
                    self.home
                );
                false
            }
        }
    }
}
