//! Kubernetes Events on the objects autopilot acts on: every action and every
//! refusal leaves one (ARCHITECTURE.md, invariants), through kube's `Recorder`, which
//! folds repeats into an event series instead of flooding the namespace.

use k8s_openapi::api::core::v1::ObjectReference;
use kube::Client;
use kube::runtime::events::{Event, EventType, Recorder, Reporter};

/// `reportingController` of every event autopilot writes.
pub const CONTROLLER: &str = "autopilot.rs/controller";

/// Event reasons, PascalCase as `kubectl describe` shows them.
pub mod reason {
    pub const VOLUME_RESIZED: &str = "VolumeResized";
    pub const RESIZE_SKIPPED: &str = "ResizeSkipped";
    pub const RESIZE_DECLINED: &str = "ResizeDeclined";
    pub const RESIZE_FAILED: &str = "ResizeFailed";
}

/// The API server refuses notes over 1 kB.
const MAX_NOTE: usize = 1024;

/// One event to write: its severity, reason, action and human message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Note {
    pub warning: bool,
    pub reason: &'static str,
    pub action: &'static str,
    pub message: String,
}

/// Writes events as autopilot; cheap to clone.
#[derive(Clone)]
pub struct Events {
    recorder: Recorder,
}

impl Events {
    /// `instance` tells replicas apart (the pod name); `None` uses the controller name.
    pub fn new(client: Client, instance: Option<String>) -> Self {
        let reporter = Reporter {
            controller: CONTROLLER.into(),
            instance,
        };
        Events {
            recorder: Recorder::new(client, reporter),
        }
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
            reason: note.reason.into(),
            note: Some(truncate(&note.message, MAX_NOTE)),
            action: note.action.into(),
            secondary: None,
        };
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
