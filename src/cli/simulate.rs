//! `autopilot simulate POLICIES --scenario FILE`: runs the policies over a
//! scenario's simulated world and prints what happened.
//!
//! Exit codes: 0 ran, 1 the policies have errors, 2 the scenario cannot be
//! loaded (or a file cannot be read or written).

use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::Arc;

use serde::Serialize;

use super::{Format, Outcome};
use crate::diagnostic;
use crate::engine::{ActionResult, Event, EventKind, Planned, Time};
use crate::ir::{Kind, format_bytes};
use crate::sim::ScenarioSource;
use crate::sim::scenario::{self, Scenario};
use crate::sim::{self, Run};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Policy files or directories (searched recursively for `*.apr`).
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// The scenario: objects, metric series and approvals (YAML, docs/formats.md).
    #[arg(long, value_name = "FILE")]
    scenario: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    format: Format,
    /// Also draw each condition's metric against its threshold, with the
    /// actions, as SVG.
    #[arg(long, value_name = "FILE.svg")]
    plot: Option<PathBuf>,
}

pub fn run(args: Args) -> Outcome {
    let plot = match args.plot.as_deref().map(super::OutputFile::open) {
        Some(None) => return Outcome::Usage,
        Some(Some(file)) => Some(file),
        None => None,
    };
    let Some(mut c) = super::load(&args.paths) else {
        return Outcome::Usage;
    };
    if !c.diagnostics.is_empty() {
        super::report(&c);
    }
    if c.has_errors() {
        return Outcome::Problems;
    }
    let text = match std::fs::read_to_string(&args.scenario) {
        Ok(text) => text,
        Err(e) => {
            eprintln!("error: {}: {e}", args.scenario.display());
            return Outcome::Usage;
        }
    };
    let file = c
        .sources
        .add(args.scenario.display().to_string(), text.clone());
    let program = Arc::new(std::mem::take(&mut c.checked.program));
    let loaded = scenario::parse(file, &text).and_then(|mut s| {
        let mut diags = s.check(&program);
        match ScenarioSource::new(&s, &program) {
            Ok(source) if diags.is_empty() => Ok((s, source)),
            Ok(_) => Err(diags),
            Err(more) => {
                diags.extend(more);
                diags.sort_by_key(|d| d.primary.span);
                Err(diags)
            }
        }
    });
    let (scenario, source) = match loaded {
        Ok(x) => x,
        Err(diags) => {
            eprint!(
                "{}",
                diagnostic::render_all(&c.sources, &diags, super::style())
            );
            eprintln!(
                "error: {}: {} problem(s) in the scenario",
                args.scenario.display(),
                diags.len()
            );
            return Outcome::Usage;
        }
    };
    let traces = match &args.plot {
        Some(_) => super::plot::traces(&program, &scenario),
        None => Vec::new(),
    };
    let run = sim::run(Arc::clone(&program), &scenario, &source, &traces);
    match args.format {
        Format::Text => out!("{}", text_report(&scenario, &run, program.policies.len())),
        Format::Json => outln!("{}", json_report(&scenario, &run)),
    }
    if let Some(file) = plot {
        let svg = super::plot::svg(&program, &scenario, &run);
        if !file.write(svg.as_bytes()) {
            return Outcome::Usage;
        }
    }
    Outcome::Ok
}

// ---------------------------------------------------------------- text

/// Time since the start: `7m00s`, `1h02m30s`, `2d03h00m00s`.
pub fn since(scenario: &Scenario, t: Time) -> String {
    let s = (t - scenario.start) / 1000;
    let (d, h, m, s) = (s / 86400, s / 3600 % 24, s / 60 % 60, s % 60);
    if d > 0 {
        format!("{d}d{h:02}h{m:02}m{s:02}s")
    } else if h > 0 {
        format!("{h}h{m:02}m{s:02}s")
    } else {
        format!("{m}m{s:02}s")
    }
}

/// An action as a line says it: `resize 100Gi → 200Gi`, `notify oncall "…"`.
pub fn describe(p: &Planned) -> String {
    let bytes = |b: u64| format_bytes(b as f64);
    match p {
        // A stand-in for an action that was not planned (skipped) has no sizes.
        Planned::Resize { from: 0, to: 0 } => "resize".into(),
        Planned::Resize { from, to } if from == to => format!("resize at {}", bytes(*from)),
        Planned::Resize { from, to } => format!("resize {} → {}", bytes(*from), bytes(*to)),
        Planned::Scale { from: 0, to: 0 } => "scale".into(),
        Planned::Scale { from, to } if from == to => format!("scale at {from}"),
        Planned::Scale { from, to } => format!("scale {from} → {to}"),
        Planned::SetClass { class } => format!("set_class {class}"),
        Planned::Evict => "evict".into(),
        Planned::Cordon => "cordon".into(),
        Planned::Annotate { key, value } if value.is_empty() => format!("annotate {key}"),
        Planned::Annotate { key, value } => format!("annotate {key}={value:?}"),
        Planned::Label { key, value } if value.is_empty() => format!("label {key}"),
        Planned::Label { key, value } => format!("label {key}={value:?}"),
        Planned::Event { reason, message } if message.is_empty() => format!("event {reason}"),
        Planned::Event { reason, message } => format!("event {reason} {message:?}"),
        Planned::Notify { receiver, message } if message.is_empty() => {
            format!("notify {receiver}")
        }
        Planned::Notify { receiver, message } => format!("notify {receiver} {message:?}"),
    }
}

fn what_happened(kind: &EventKind) -> String {
    match kind {
        EventKind::Transition { from, to } => format!("{from} → {to}"),
        EventKind::Action {
            planned,
            result,
            reason,
        } => {
            let mut s = format!("{}  {}", describe(planned), result.name());
            if let Some(r) = reason {
                let _ = write!(s, ": {r}");
            }
            s
        }
        EventKind::Error { message } => format!("error: {message}"),
    }
}

/// The timeline, then the objects at the end and what was sent.
pub fn text_report(scenario: &Scenario, run: &Run, policies: usize) -> String {
    let mut out = String::new();
    let ticks = scenario.ticks().count();
    let _ = writeln!(
        out,
        "{policies} polic{}, {} object(s), {ticks} tick(s) of {} from {}",
        if policies == 1 { "y" } else { "ies" },
        scenario.objects.len(),
        crate::ir::format_duration(scenario.step as f64 / 1000.0),
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
    let width = |i: usize| super::column_width(rows.iter().map(|r| r[i].chars().count()));
    let (wt, wp, wo) = (width(0), width(1), width(2));
    for (row, e) in rows.iter().zip(&run.events) {
        let _ = writeln!(
            out,
            "  {:>wt$}  {:<wp$}  {:<wo$}  {}",
            row[0],
            row[1],
            row[2],
            what_happened(&e.kind)
        );
    }
    out.push_str("\nobjects at the end\n");
    let objects: Vec<(String, String)> = run
        .world
        .all()
        .iter()
        .map(|o| (o.object.id.to_string(), object_state(o)))
        .collect();
    let wid = super::column_width(objects.iter().map(|o| o.0.chars().count()));
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

fn object_state(o: &crate::sim::world::SimObject) -> String {
    let f = &o.object.fields;
    let bytes = |b: Option<u64>| b.map_or("?".into(), |b| format_bytes(b as f64));
    let mut parts: Vec<String> = Vec::new();
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
            if o.evicted {
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

// ---------------------------------------------------------------- json

#[derive(Serialize)]
struct JsonReport<'a> {
    events: Vec<JsonEvent<'a>>,
    objects: Vec<JsonObject>,
}

/// One event as docs/formats.md section 5 has it.
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
    reason: Option<&'a str>,
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
        Planned::Resize { from: 0, to: 0 } | Planned::Scale { from: 0, to: 0 } => return None,
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
            j.from = Some(from);
            j.to = Some(to);
        }
        EventKind::Action {
            planned,
            result,
            reason,
        } => {
            j.kind = "action";
            j.action = Some(planned.name());
            j.result = Some(*result);
            j.reason = reason.as_deref();
            j.detail = detail(planned);
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
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    labels: crate::engine::object::Labels,
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    annotations: crate::engine::object::Labels,
}

fn json_object(o: &crate::sim::world::SimObject) -> JsonObject {
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
        evicted: o.evicted,
        labels: o.object.labels.clone(),
        annotations: o.object.annotations.clone(),
    }
}

/// `{"events": […], "objects": […]}`, docs/formats.md section 5.
pub fn json_report(scenario: &Scenario, run: &Run) -> String {
    let report = JsonReport {
        events: run.events.iter().map(|e| json_event(scenario, e)).collect(),
        objects: run.world.all().iter().map(json_object).collect(),
    };
    serde_json::to_string_pretty(&report).unwrap_or_default()
}
