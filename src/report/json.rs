//! `simulate --format json`: `{"events": […], "objects": […]}`, as docs/formats.md
//! section 5 fixes it.

use serde::Serialize;

use crate::engine::object::Labels;
use crate::engine::{ActionResult, Event, EventKind, Planned};
use crate::ir::format_bytes;
use crate::sim::Run;
use crate::sim::scenario::Scenario;
use crate::sim::world::{Presence, SimObject};

#[derive(Serialize)]
struct JsonReport<'a> {
    events: Vec<JsonEvent<'a>>,
    objects: Vec<JsonObject>,
}

/// One event as docs/formats.md has it.
#[derive(Serialize)]
struct JsonEvent<'a> {
    /// Seconds from the start.
    t: i64,
    policy: &'a str,
    object: String,
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    from: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    to: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    action: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    result: Option<ActionResult>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    detail: Option<Detail<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<&'a str>,
}

#[derive(Serialize)]
#[serde(untagged)]
enum Detail<'a> {
    Resize {
        from: String,
        to: String,
        from_bytes: u64,
        to_bytes: u64,
    },
    Scale {
        from: u32,
        to: u32,
    },
    SetClass {
        class: &'a str,
    },
    Metadata {
        key: &'a str,
        value: &'a str,
    },
    Event {
        reason: &'a str,
        message: &'a str,
    },
    Notify {
        receiver: &'a str,
        message: &'a str,
    },
}

fn detail(p: &Planned) -> Option<Detail<'_>> {
    Some(match p {
        Planned::Resize { from, to } => Detail::Resize {
            from: format_bytes(*from as f64),
            to: format_bytes(*to as f64),
            from_bytes: *from,
            to_bytes: *to,
        },
        Planned::Scale { from, to } => Detail::Scale {
            from: *from,
            to: *to,
        },
        Planned::SetClass { class } => Detail::SetClass { class },
        Planned::Annotate { key, value } | Planned::Label { key, value } => {
            Detail::Metadata { key, value }
        }
        Planned::Event { reason, message } => Detail::Event { reason, message },
        Planned::Notify { receiver, message } => Detail::Notify { receiver, message },
        Planned::Evict | Planned::Cordon => return None,
    })
}

fn json_event<'a>(scenario: &Scenario, e: &'a Event) -> JsonEvent<'a> {
    let mut j = JsonEvent {
        t: (e.time - scenario.start) / 1000,
        policy: &e.policy,
        object: e.object.to_string(),
        kind: "transition",
        from: None,
        to: None,
        action: None,
        result: None,
        reason: None,
        detail: None,
        message: None,
    };
    match &e.kind {
        EventKind::Transition { from, to } => {
            j.from = Some(from.name());
            j.to = Some(to.name());
        }
        EventKind::Action {
            action,
            planned,
            result,
            reason,
        } => {
            j.kind = "action";
            j.action = Some(action.name());
            j.result = Some(*result);
            j.reason = reason.as_ref().map(ToString::to_string);
            j.detail = planned.as_ref().and_then(detail);
        }
        EventKind::Error { message } => {
            j.kind = "error";
            j.message = Some(message);
        }
    }
    j
}

/// Each object's final state: the fields that matter for its kind.
#[derive(Serialize)]
struct JsonObject {
    object: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    capacity_bytes: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    requested_bytes: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    storage_class: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    volume_attributes_class: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    phase: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    replicas: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ready_replicas: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ready: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    unschedulable: Option<bool>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    evicted: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    deleted: bool,
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    labels: Labels,
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    annotations: Labels,
}

fn json_object(o: &SimObject) -> JsonObject {
    let f = o.object.fields.clone();
    JsonObject {
        object: o.object.id.to_string(),
        capacity_bytes: f.capacity,
        requested_bytes: f.requested,
        storage_class: f.storage_class,
        volume_attributes_class: f.volume_attributes_class,
        phase: f.phase,
        replicas: f.replicas,
        ready_replicas: f.ready_replicas,
        ready: f.ready,
        unschedulable: f.unschedulable,
        evicted: o.presence == Presence::Evicted,
        deleted: o.presence == Presence::Deleted,
        labels: o.object.labels.clone(),
        annotations: o.object.annotations.clone(),
    }
}

/// `{"events": […], "objects": […]}`, docs/formats.md section 5.
pub fn simulation(scenario: &Scenario, run: &Run) -> String {
    let report = JsonReport {
        events: run.events.iter().map(|e| json_event(scenario, e)).collect(),
        objects: run.world.all().iter().map(json_object).collect(),
    };
    serde_json::to_string_pretty(&report).unwrap_or_default()
}
