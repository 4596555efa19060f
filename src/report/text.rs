//! The `simulate` text report: the timeline, the objects at the end and what
//! was sent. A failed test prints the same report as its actual timeline.

use std::fmt::Write as _;

use super::{action, column_width, elapsed};
use crate::engine::Time;
use crate::ir::{Kind, format_bytes, format_duration};
use crate::sim::Run;
use crate::sim::scenario::Scenario;
use crate::sim::world::{Presence, SimObject};

/// Time since the scenario's start: `7m00s`, `1h02m30s`, `2d03h00m00s`.
pub fn since(scenario: &Scenario, t: Time) -> String {
    elapsed(t - scenario.start)
}

/// The timeline, then the objects at the end and what was sent.
pub fn simulation(scenario: &Scenario, run: &Run, policies: usize) -> String {
    let mut out = String::new();
    let ticks = scenario.ticks().count();
    let _ = writeln!(
        out,
        "{policies} polic{}, {} object(s), {ticks} tick(s) of {} from {}",
        if policies == 1 { "y" } else { "ies" },
        scenario.objects.len(),
        format_duration(scenario.step as f64 / 1000.0),
        jiff::Timestamp::from_millisecond(scenario.start)
            .map(|t| t.to_string())
            .unwrap_or_default(),
    );
    out.push('\n');
    if run.events.is_empty() {
        out.push_str("  nothing happened\n");
    }
    let rows: Vec<[String; 3]> = run
        .events
        .iter()
        .map(|e| {
            [
                since(scenario, e.time),
                e.policy.clone(),
                e.object.to_string(),
            ]
        })
        .collect();
    let width = |i: usize| column_width(rows.iter().map(|r| r[i].chars().count()));
    let (wt, wp, wo) = (width(0), width(1), width(2));
    for (row, e) in rows.iter().zip(&run.events) {
        let _ = writeln!(
            out,
            "  {:>wt$}  {:<wp$}  {:<wo$}  {}",
            row[0],
            row[1],
            row[2],
            action::timeline(&e.kind)
        );
    }
    out.push_str("\nobjects at the end\n");
    let objects: Vec<(String, String)> = run
        .world
        .all()
        .iter()
        .map(|o| (o.object.id.to_string(), object_state(o)))
        .collect();
    let wid = column_width(objects.iter().map(|o| o.0.chars().count()));
    for (id, state) in &objects {
        let _ = writeln!(out, "  {id:<wid$}  {state}");
    }
    for (title, list) in [
        ("events sent", &run.world.events),
        ("notifications sent", &run.world.notifications),
    ] {
        if list.is_empty() {
            continue;
        }
        let _ = writeln!(out, "\n{title}");
        for s in list {
            let _ = writeln!(
                out,
                "  {:>wt$}  {}  {:?}  ({}, {})",
                since(scenario, s.time),
                s.to,
                s.message,
                s.object,
                s.policy
            );
        }
    }
    out
}

/// An object's final state: the fields that matter for its kind.
fn object_state(o: &SimObject) -> String {
    let f = &o.object.fields;
    let bytes = |b: Option<u64>| b.map_or("?".into(), |b| format_bytes(b as f64));
    let mut parts: Vec<String> = Vec::new();
    match o.presence {
        Presence::Present | Presence::Evicted => {}
        Presence::NotYetCreated => return "not yet created".into(),
        Presence::Deleted => return "deleted".into(),
    }
    match o.object.id.kind {
        Kind::Pvc => {
            if f.capacity.is_some() {
                parts.push(format!("capacity {}", bytes(f.capacity)));
            }
            if f.requested != f.capacity {
                parts.push(format!("requested {}", bytes(f.requested)));
            }
            if let Some(p) = &f.phase
                && p != "Bound"
            {
                parts.push(p.clone());
            }
            if let Some(c) = &f.volume_attributes_class {
                parts.push(format!("class {c}"));
            }
        }
        Kind::Pod => {
            if o.presence == Presence::Evicted {
                parts.push("evicted".into());
            } else if let Some(p) = &f.phase {
                parts.push(p.clone());
            }
        }
        Kind::Deployment | Kind::StatefulSet => {
            parts.push(format!(
                "replicas {} (ready {})",
                f.replicas.unwrap_or(0),
                f.ready_replicas.unwrap_or(0)
            ));
        }
        Kind::Node => {
            if f.ready == Some(false) {
                parts.push("not ready".into());
            }
            if f.unschedulable == Some(true) {
                parts.push("cordoned".into());
            }
            if parts.is_empty() {
                parts.push("ready".into());
            }
        }
    }
    for (what, map) in [
        ("labels", &o.object.labels),
        ("annotations", &o.object.annotations),
    ] {
        if !map.is_empty() {
            let kv: Vec<String> = map.iter().map(|(k, v)| format!("{k}={v}")).collect();
            parts.push(format!("{what} {}", kv.join(",")));
        }
    }
    parts.join("  ")
}
