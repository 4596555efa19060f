//! Kubernetes Events on the objects autopilot acts on: every action and every
//! refusal leaves one (ARCHITECTURE.md, invariants), through kube's `Recorder`, which
//! folds repeats into an event series instead of flooding the namespace.

use std::borrow::Cow;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use k8s_openapi::api::core::v1::{Event as CoreEvent, ObjectReference};
use kube::Client;
use kube::api::{Api, DeleteParams, ListParams};
use kube::runtime::events::{Event, EventType, Recorder, Reporter};

/// `reportingController` of every event autopilot writes.
pub const CONTROLLER: &str = "autopilot.rs/controller";

/// Event reasons, PascalCase as `kubectl describe` shows them.
pub mod reason {
    pub const VOLUME_RESIZED: &str = "VolumeResized";
    pub const RESIZE_SKIPPED: &str = "ResizeSkipped";
    pub const RESIZE_DECLINED: &str = "ResizeDeclined";
    pub const RESIZE_FAILED: &str = "ResizeFailed";
    pub const VOLUME_CLASS_CHANGED: &str = "VolumeClassChanged";
    pub const VOLUME_CLASS_NOT_CHANGED: &str = "VolumeClassNotChanged";
    pub const SCALED: &str = "Scaled";
    pub const SCALE_NOT_DONE: &str = "ScaleNotDone";
    pub const EVICTED: &str = "Evicted";
    pub const EVICTION_NOT_DONE: &str = "EvictionNotDone";
    pub const CORDONED: &str = "Cordoned";
    pub const CORDON_NOT_DONE: &str = "CordonNotDone";
    pub const ANNOTATED: &str = "Annotated";
    pub const ANNOTATE_NOT_DONE: &str = "AnnotateNotDone";
    pub const LABELLED: &str = "Labelled";
    pub const LABEL_NOT_DONE: &str = "LabelNotDone";
    pub const NOTIFIED: &str = "Notified";
    pub const NOTIFY_NOT_DONE: &str = "NotifyNotDone";
    pub const EVENT_NOT_DONE: &str = "EventNotDone";
    /// On a policy ConfigMap whose text fails to check.
    pub const POLICY_INVALID: &str = "PolicyInvalid";
    /// On a policy ConfigMap whose text was loaded.
    pub const POLICY_LOADED: &str = "PolicyLoaded";
}

/// The API server refuses notes over 1 kB.
const MAX_NOTE: usize = 1024;

/// One event to write: its severity, reason, action and human message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Note {
    pub warning: bool,
    /// Ours (see [`reason`]), or the one an `event(…)` action names.
    pub reason: Cow<'static, str>,
    pub action: &'static str,
    pub message: String,
}

/// Writes events as autopilot; cheap to clone.
#[derive(Clone)]
pub struct Events {
    client: Client,
    reporter: Reporter,
    recorder: Recorder,
    /// Writes sent (Events created or patched, series deleted), for
    /// `/metrics`; shared by every clone.
    writes: Arc<AtomicU64>,
}

impl Events {
    /// `instance` tells replicas apart (the pod name); `None` uses the controller name.
    pub fn new(client: Client, instance: Option<String>) -> Self {
        let reporter = Reporter {
            controller: CONTROLLER.into(),
            instance,
        };
        Events {
            recorder: Recorder::new(client.clone(), reporter.clone()),
            client,
            reporter,
            writes: Arc::default(),
        }
    }

    /// How many writes every clone has sent so far.
    pub fn writes(&self) -> u64 {
        self.writes.load(Ordering::Relaxed)
    }

    /// [`Events::publish`] as a new event, never folded into an earlier
    /// series (whose event [`Events::clear`] may have deleted).
    pub async fn publish_new(
        &self,
        regarding: &ObjectReference,
        note: &Note,
    ) -> Result<(), kube::Error> {
        let fresh = Events {
            recorder: Recorder::new(self.client.clone(), self.reporter.clone()),
            client: self.client.clone(),
            reporter: self.reporter.clone(),
            writes: Arc::clone(&self.writes),
        };
        fresh.publish(regarding, note).await
    }

    /// Deletes our Events of `reason` on `regarding`: a warning that no
    /// longer holds.
    pub async fn clear(
        &self,
        regarding: &ObjectReference,
        reason: &str,
    ) -> Result<(), kube::Error> {
        let namespace = regarding.namespace.as_deref().unwrap_or("default");
        let api: Api<CoreEvent> = Api::namespaced(self.client.clone(), namespace);
        let selector = format!(
            "involvedObject.kind={},involvedObject.name={},reason={reason}",
            regarding.kind.as_deref().unwrap_or_default(),
            regarding.name.as_deref().unwrap_or_default(),
        );
        self.writes.fetch_add(1, Ordering::Relaxed);
        api.delete_collection(
            &DeleteParams::default(),
            &ListParams::default().fields(&selector),
        )
        .await?;
        Ok(())
    }

    /// Writes `note` on the object `regarding` (in its namespace).
    pub async fn publish(
        &self,
        regarding: &ObjectReference,
        note: &Note,
    ) -> Result<(), kube::Error> {
        let event = Event {
            type_: if note.warning {
                EventType::Warning
            } else {
                EventType::Normal
            },
            reason: note.reason.to_string(),
            note: Some(truncate(&note.message, MAX_NOTE)),
            action: note.action.into(),
            secondary: None,
        };
        self.writes.fetch_add(1, Ordering::Relaxed);
        self.recorder.publish(&event, regarding).await
    }
}

fn truncate(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    let mut end = max - '…'.len_utf8();
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

#[cfg(test)]
mod tests {
    use super::truncate;

    #[test]
    fn notes_are_cut_on_a_char_boundary() {
        assert_eq!(truncate("short", 10), "short");
        let long = "é".repeat(600);
        let cut = truncate(&long, 1024);
        assert!(cut.len() <= 1024 && cut.ends_with('…'), "{}", cut.len());
    }
}
