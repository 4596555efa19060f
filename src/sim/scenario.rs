//! Scenarios (docs/formats.md section 1): a simulated world in YAML, for `simulate`,
//! the REPL and test fixtures.
//!
//! ```yaml
//! start: 2026-01-01T00:00:00Z     # default
//! step: 1m                        # default 30s; ticks at 0, step, 2·step, … ≤ duration
//! duration: 30m
//! resize_delay: 2m                # default 0: how long a resize takes to finish
//! lookback: 5m                    # default, as Prometheus: how old a sample may be
//! objects:
//!   - {kind: storageclass, name: standard, allow_volume_expansion: true}
//!   - {kind: namespace, name: db, labels: {tier: db}}
//!   - {kind: pvc, namespace: db, name: pg-data, storage_class: standard, capacity: 100Gi}
//! namespaces:                     # the same as `kind: namespace` objects
//!   - {name: queue, labels: {tier: queue}}
//! series:
//!   - {metric: pvc.usage, object: pvc/db/pg-data, values: "40 45 52 55 60x5"}
//! approvals:
//!   - {at: 12m, policy: faster_disk_when_slow, object: pvc/db/pg-data, decision: approve}
//! restarts: [20m]                 # the controller restarts from its saved state
//! changes:                        # the world changing by itself; the tick at `at` sees it
//!   - {at: 20m, object: deployment/web/api, set: {ready_replicas: 3}}
//!   - {at: 25m, create: {kind: pod, namespace: web, name: api-7}}
//!   - {at: 30m, delete: pod/web/api-1}
//! ```
//!
//! Objects, by kind, with their defaults:
//!
//! | kind | fields |
//! |---|---|
//! | pvc | `storage_class`, `capacity` (status), `requested` (default: capacity), `phase` (Bound), `volume_attributes_class`, `resize_delay`, `access_modes` ([ReadWriteOnce]), `volume_mode` (Filesystem) |
//! | pod | `phase` (Running), `node`, `owner` |
//! | deployment, statefulset | `replicas` (1), `ready_replicas` (default: replicas), `available_replicas` (default: ready), `updated_replicas` (default: replicas) |
//! | node | `ready` (true), `unschedulable` (false) |
//! | storageclass | `allow_volume_expansion` (false, as in Kubernetes), `provisioner` |
//! | namespace | — |
//!
//! Every kind takes `name`, `labels` and `annotations`; namespaced kinds take
//! `namespace` (default `default`) and every object kind `age` (its age at
//! `start`). Sizes are quantities (`100Gi`, or a number of bytes); times are
//! durations with a unit (`30s`, `5m`, `2h`).
//!
//! `resize_delay` (top level, or per PVC to override it) is how long a
//! resize takes: the PVC's request grows at once, its status capacity when
//! the delay is over, and until then the PVC is "resizing" — a second resize
//! is skipped. 0 (the default) finishes a resize before the next tick.
//!
//! Loading is a pure function of the text. Every problem is reported, each
//! as a diagnostic on the YAML with its line and column; unknown fields are
//! errors. Metric names and policy names are checked against the compiled
//! policies later ([`crate::sim::ScenarioSource::new`], [`Scenario::check`]).
//!
//! YAML is read with `serde-saphyr`: `serde_yaml` is archived and
//! `serde_yml` is deprecated; `serde-saphyr` is maintained, pure Rust, built
//! to never panic on hostile input (STYLE.md: user input never panics), and
//! gives byte spans of values (`Spanned`), so errors point into the file.

use std::collections::{BTreeMap, BTreeSet};

use serde_saphyr::Spanned;

use crate::diagnostic::Diagnostic;
use crate::engine::object::Labels;
use crate::engine::{Approval, Fields, Namespace, ObjectId, Time};
use crate::ir::Program;
use crate::sim::series::{self, SeriesError};
use crate::source::{FileId, Span};

mod approvals;
mod budget;
mod changes;
mod objects;
mod scalars;
mod series_entries;
mod yaml;

pub use approvals::find_policy;
use scalars::labels;
use yaml::{RawScenario, S, yaml_error};
// The configuration file (`crate::config`) reads YAML the same way.
pub(crate) use yaml::{Scalar, budget_words, location_span};

pub mod codes {
    pub const YAML: &str = "apr::scenario::yaml";
    pub const FIELD: &str = "apr::scenario::field";
    pub const VALUE: &str = "apr::scenario::value";
    pub const DUPLICATE: &str = "apr::scenario::duplicate";
    pub const UNKNOWN_REFERENCE: &str = "apr::scenario::unknown_reference";
    pub const SERIES: &str = "apr::scenario::series";
    pub const UNSUPPORTED: &str = "apr::scenario::unsupported";
    pub const NO_SERIES: &str = "apr::scenario::no_series";
    pub const TOO_MUCH_WORK: &str = "apr::scenario::too_much_work";
    pub const TOO_MANY_SAMPLES: &str = "apr::scenario::too_many_samples";
}

/// The longest object name Kubernetes allows (a DNS subdomain).
pub const MAX_NAME: usize = 253;
/// The longest label value, or label key without its prefix, Kubernetes allows.
pub const MAX_LABEL: usize = 63;

/// 2026-01-01T00:00:00Z, the default `start`.
pub const DEFAULT_START: Time = 1_767_225_600_000;
/// The default `step`: 30s.
pub const DEFAULT_STEP: Time = 30_000;
/// Prometheus's default lookback delta, 5m.
pub const DEFAULT_LOOKBACK: Time = 300_000;
/// At most this many ticks in a scenario.
pub const MAX_TICKS: i64 = series::MAX_SAMPLES as i64;
/// At most this many samples in all the series of one scenario together
/// (16 bytes each once expanded: 160 MB), so that many long series are an
/// error and not an allocation.
pub const MAX_TOTAL_SAMPLES: u64 = 10_000_000;
/// At most this many object-policy evaluations (ticks × objects × policies)
/// in one run. 2,000 PVCs over a million ticks (2e9) was measured at about
/// 30 minutes, so this is a few minutes of engine time.
pub const MAX_WORK: u64 = 200_000_000;
/// Byte pairs "did you mean" may compare in one scenario, so that thousands
/// of unknown references cost a bounded time; past it, no suggestions.
pub const SUGGEST_BUDGET: u64 = 20_000_000;

/// A loaded scenario; times in milliseconds.
#[derive(Clone, Debug)]
pub struct Scenario {
    pub file: FileId,
    /// Milliseconds since the Unix epoch.
    pub start: Time,
    pub step: Time,
    pub duration: Time,
    /// Where `duration` is given (the file's start when it is not).
    pub duration_span: Span,
    /// The default time a resize takes.
    pub resize_delay: Time,
    /// How old the newest sample may be and still be read (Prometheus's
    /// lookback delta): more than zero.
    pub lookback: Time,
    /// Objects the engine sees (pvc, pod, deployment, statefulset, node), in file order.
    pub objects: Vec<ObjectSpec>,
    pub classes: BTreeMap<String, StorageClass>,
    /// Every namespace; `default` is always there.
    pub namespaces: BTreeMap<String, Namespace>,
    pub series: Vec<SeriesSpec>,
    pub approvals: Vec<ApprovalSpec>,
    /// When the controller restarts (absolute, sorted, no duplicates): the
    /// engine's saved state goes through its serialized form into a new
    /// engine before the tick at that time.
    pub restarts: Vec<Time>,
    /// The world changing by itself, in time order (file order at the same time).
    pub changes: Vec<ChangeSpec>,
}

/// One `changes:` entry.
#[derive(Clone, Debug)]
pub struct ChangeSpec {
    /// Milliseconds since the Unix epoch: the tick at (or first after) it sees it.
    pub at: Time,
    pub span: Span,
    pub change: Change,
}

#[derive(Clone, Debug)]
pub enum Change {
    /// Fields set; labels and annotations given are added or replaced.
    Set { object: ObjectId, patch: Vec<Patch> },
    /// The object (in [`Scenario::objects`], with `appears`) is created.
    Create { object: ObjectId },
    /// The object is deleted: gone from the engine's view and from actions.
    Delete { object: ObjectId },
}

/// One field a `set` change gives.
#[derive(Clone, Debug, PartialEq)]
pub enum Patch {
    Labels(Labels),
    Annotations(Labels),
    Capacity(u64),
    Requested(u64),
    StorageClass(String),
    VolumeAttributesClass(String),
    ResizeDelay(Time),
    Phase(String),
    AccessModes(Vec<String>),
    VolumeMode(String),
    Node(String),
    Owner(String),
    Replicas(u32),
    ReadyReplicas(u32),
    AvailableReplicas(u32),
    UpdatedReplicas(u32),
    Ready(bool),
    Unschedulable(bool),
}

/// One object as it is at `start`.
#[derive(Clone, Debug)]
pub struct ObjectSpec {
    pub id: ObjectId,
    pub span: Span,
    pub labels: Labels,
    pub annotations: Labels,
    /// Milliseconds since the Unix epoch.
    pub created: Option<Time>,
    /// Initial state; `expandable` and `resizing` are the world's to set.
    pub fields: Fields,
    /// How long a resize of this PVC takes, if not the scenario's default.
    pub resize_delay: Option<Time>,
    /// When a change creates it (milliseconds since the epoch); None: there
    /// from the start.
    pub appears: Option<Time>,
}

#[derive(Clone, Debug)]
pub struct StorageClass {
    pub name: String,
    pub allow_volume_expansion: bool,
    pub provisioner: Option<String>,
    pub labels: crate::engine::object::Labels,
    pub annotations: crate::engine::object::Labels,
    pub span: Span,
}

/// One `series:` entry.
#[derive(Clone, Debug)]
pub struct SeriesSpec {
    /// 1-based position in `series:`, for messages.
    pub index: usize,
    pub span: Span,
    pub target: SeriesTarget,
    pub values: series::Series,
    pub values_at: TextAt,
}

#[derive(Clone, Debug)]
pub enum SeriesTarget {
    /// `metric: pvc.usage` and `object: pvc/db/pg-data`: a binding's values.
    Binding {
        metric: String,
        metric_span: Span,
        object: ObjectId,
    },
    /// `series: 'kubelet_volume_stats_used_bytes{…}'`: a raw Prometheus series.
    Raw { selector: String, span: Span },
}

/// Where a string value sits in the file, to point at a byte inside it.
#[derive(Clone, Copy, Debug)]
pub struct TextAt {
    /// The whole scalar, quotes included.
    pub span: Span,
    /// Where byte 0 of the value is, when the file holds it verbatim
    /// (plain or simply quoted); None for escapes and block scalars.
    pub base: Option<u32>,
}

impl TextAt {
    /// The span of bytes `offset..offset + len` of the value.
    pub fn at(&self, offset: usize, len: usize) -> Span {
        match self.base {
            Some(base) => Span {
                file: self.span.file,
                start: base + offset as u32,
                end: base + (offset + len) as u32,
            },
            None => self.span,
        }
    }

    /// A diagnostic for a series error inside the value.
    pub fn series_error(&self, e: &SeriesError, what: String) -> Diagnostic {
        let span = self.at(e.offset, e.len);
        let mut message = format!("{what}: {}", e.message);
        if self.base.is_none() {
            message.push_str(&format!(" (at byte {} of the values)", e.offset));
        }
        Diagnostic::error(codes::SERIES, span, message)
            .label(short_label(&e.message))
            .help_opt(e.help.clone())
    }
}

fn short_label(message: &str) -> String {
    message
        .split([';', ','])
        .next()
        .unwrap_or(message)
        .to_string()
}

#[derive(Clone, Debug)]
pub struct ApprovalSpec {
    pub approval: Approval,
    pub span: Span,
    pub policy_span: Span,
}

impl Scenario {
    /// Tick times, milliseconds since the epoch: start, start + step, … ≤ start + duration.
    pub fn ticks(&self) -> impl Iterator<Item = Time> + '_ {
        let n = self.duration / self.step;
        (0..=n).map(move |i| self.start + i * self.step)
    }

    /// The approvals as the engine takes them.
    pub fn approvals(&self) -> Vec<Approval> {
        self.approvals.iter().map(|a| a.approval.clone()).collect()
    }

    pub fn object(&self, id: &ObjectId) -> Option<&ObjectSpec> {
        self.objects.iter().find(|o| &o.id == id)
    }

    /// Checks names that only the compiled policies know: approvals name
    /// policies. A name is resolved as a test block resolves it
    /// ([`find_policy`]) and replaced by the policy's own name.
    /// Checks what only the compiled policies know: the work a run would do,
    /// and the policies approvals name.
    pub fn check(&mut self, program: &Program) -> Vec<Diagnostic> {
        let mut out = Vec::new();
        self.work_bound(program, &mut out);
        self.check_approvals(program, &mut out);
        out
    }
}

// ---------------------------------------------------------------- loading

/// Reads a scenario; every problem is a diagnostic on `file`.
pub fn parse(file: FileId, text: &str) -> Result<Scenario, Vec<Diagnostic>> {
    load(file, text, None)
}

/// The times a scenario runs over when something else fixes them: a
/// backtest's window. Milliseconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Frame {
    pub start: Time,
    pub step: Time,
    pub duration: Time,
    pub lookback: Time,
}

/// Reads a scenario that runs over `frame`: the file's own `start`, `step`,
/// `duration` and `lookback` are not read (none is needed), and its relative
/// times (`age`, approvals, changes, restarts) count from the frame's start.
pub fn parse_framed(file: FileId, text: &str, frame: Frame) -> Result<Scenario, Vec<Diagnostic>> {
    load(file, text, Some(frame))
}

fn load(file: FileId, text: &str, frame: Option<Frame>) -> Result<Scenario, Vec<Diagnostic>> {
    let raw: RawScenario = match serde_saphyr::from_str(text) {
        Ok(raw) => raw,
        Err(e) => return Err(vec![yaml_error(file, text, &e)]),
    };
    let mut l = Loader {
        file,
        text,
        diags: Vec::new(),
        suggest_left: SUGGEST_BUDGET,
        samples: 0,
        object_names: None,
    };
    let scenario = l.scenario(raw, frame);
    if l.diags.is_empty() {
        Ok(scenario)
    } else {
        l.diags.sort_by_key(|d| d.primary.span);
        Err(l.diags)
    }
}

struct Loader<'a> {
    file: FileId,
    text: &'a str,
    diags: Vec<Diagnostic>,
    /// What is left of [`SUGGEST_BUDGET`].
    suggest_left: u64,
    /// Samples of the series so far, against [`MAX_TOTAL_SAMPLES`].
    samples: u64,
    /// The objects' ids as text, for suggestions; built once.
    object_names: Option<Vec<String>>,
}

impl Loader<'_> {
    fn span(&self, l: &serde_saphyr::Location) -> Span {
        location_span(self.file, self.text, l)
    }

    fn sspan<T>(&self, s: &Spanned<T>) -> Span {
        self.span(&s.referenced)
    }

    fn error(&mut self, code: &'static str, span: Span, message: impl Into<String>) -> usize {
        self.diags.push(Diagnostic::error(code, span, message));
        self.diags.len() - 1
    }

    /// Adds a label and help to the last diagnostic.
    fn last(&mut self, label: impl Into<String>, help: Option<String>) {
        let label = label.into();
        if let Some(mut d) = self.diags.pop() {
            if !label.is_empty() {
                d = d.label(label);
            }
            self.diags.push(d.help_opt(help));
        }
    }

    /// A required field, or an error at the entry.
    fn required<'s>(
        &mut self,
        field: Option<&'s S>,
        name: &str,
        entry: Span,
        what: &str,
    ) -> Option<&'s S> {
        if field.is_none() {
            self.error(codes::FIELD, entry, format!("{what} needs `{name}`"));
            self.last(format!("no `{name}`"), None);
        }
        field
    }

    fn scenario(&mut self, mut raw: RawScenario, frame: Option<Frame>) -> Scenario {
        let whole = Span::new(self.file, 0, 0);
        if frame.is_some() {
            // The frame's times replace these; they are not read.
            (raw.start, raw.step, raw.duration, raw.lookback) = (None, None, None, None);
        }
        let start = match &raw.start {
            None => DEFAULT_START,
            Some(s) => self.timestamp(s).unwrap_or(DEFAULT_START),
        };
        let step = match &raw.step {
            None => DEFAULT_STEP,
            Some(s) => self.step(s).unwrap_or(DEFAULT_STEP),
        };
        let duration = match &raw.duration {
            None if frame.is_some() => 0,
            None => {
                self.error(
                    codes::FIELD,
                    whole,
                    "a scenario needs `duration`, how long it runs",
                );
                self.last("", Some("e.g. `duration: 30m`".into()));
                0
            }
            Some(s) => self.duration(s, "duration").unwrap_or(0),
        };
        if let Some(d) = &raw.duration
            && duration / step > MAX_TICKS
        {
            let span = self.sspan(d);
            self.error(
                codes::VALUE,
                span,
                format!("more than {MAX_TICKS} ticks: make `step` longer or `duration` shorter"),
            );
        }
        let resize_delay = match &raw.resize_delay {
            None => 0,
            Some(s) => self.duration(s, "resize_delay").unwrap_or(0),
        };
        let lookback = match &raw.lookback {
            None => DEFAULT_LOOKBACK,
            Some(s) => match self.duration(s, "lookback") {
                Some(0) => {
                    self.value_error(
                        s,
                        "`lookback: 0` would read no sample at all".into(),
                        "Prometheus's default is `lookback: 5m`".into(),
                    );
                    DEFAULT_LOOKBACK
                }
                l => l.unwrap_or(DEFAULT_LOOKBACK),
            },
        };
        let (start, step, duration, lookback) = match frame {
            Some(f) => (f.start, f.step, f.duration, f.lookback),
            None => (start, step, duration, lookback),
        };

        let mut namespaces: BTreeMap<String, (Namespace, Option<Span>)> = BTreeMap::new();
        let mut classes = BTreeMap::new();
        let mut objects = Vec::new();
        let mut seen: BTreeMap<String, Span> = BTreeMap::new();
        for ns in &raw.namespaces {
            let span = self.sspan(ns);
            let Some(name) = self.required(ns.value.name.as_ref(), "name", span, "a namespace")
            else {
                continue;
            };
            let (name, name_span) = (name.value.0.clone(), self.sspan(name));
            if !self.name_ok(&name, name_span) {
                continue;
            }
            let ns = Namespace {
                labels: labels(&ns.value.labels),
                annotations: labels(&ns.value.annotations),
            };
            self.define(&mut seen, format!("namespace/{name}"), name_span);
            namespaces.insert(name, (ns, Some(name_span)));
        }
        for o in &raw.objects {
            self.object(
                o,
                start,
                &mut seen,
                &mut namespaces,
                &mut classes,
                &mut objects,
            );
        }
        let changes = self.changes(
            &raw.changes,
            start,
            duration,
            &mut seen,
            &mut namespaces,
            &mut classes,
            &mut objects,
        );
        // An object's namespace exists without being listed.
        let named = objects.iter().filter_map(|o| o.id.namespace.clone());
        for ns in named.chain(["default".to_string()]) {
            namespaces
                .entry(ns)
                .or_insert_with(|| (Namespace::default(), None));
        }
        let created = raw.changes.iter().filter_map(|c| c.value.create.as_ref());
        self.references(raw.objects.iter().chain(created), &classes);

        let ids: BTreeSet<ObjectId> = objects.iter().map(|o: &ObjectSpec| o.id.clone()).collect();
        let mut series = Vec::new();
        let mut bound: BTreeMap<(String, ObjectId), Span> = BTreeMap::new();
        for (i, s) in raw.series.iter().enumerate() {
            if let Some(s) = self.series(i + 1, s, &ids, &mut bound) {
                series.push(s);
            }
        }
        let mut approvals = Vec::new();
        for a in &raw.approvals {
            if let Some(a) = self.approval(a, start, duration, &ids) {
                approvals.push(a);
            }
        }
        let mut restarts = Vec::new();
        for r in &raw.restarts {
            let Some(at) = self.duration(r, "restarts") else {
                continue;
            };
            if at > duration {
                self.value_error(
                    r,
                    format!(
                        "a restart at {} is after the end of the scenario ({})",
                        r.value.0,
                        crate::ir::format_duration(duration as f64 / 1000.0)
                    ),
                    "restarts are times from the start, within `duration`".into(),
                );
                continue;
            }
            restarts.push(start + at);
        }
        restarts.sort_unstable();
        restarts.dedup();
        let duration_span = raw
            .duration
            .as_ref()
            .map_or(Span::new(self.file, 0, 0), |d| self.sspan(d));
        Scenario {
            file: self.file,
            start,
            step,
            duration,
            duration_span,
            resize_delay,
            lookback,
            objects,
            classes,
            namespaces: namespaces.into_iter().map(|(k, (v, _))| (k, v)).collect(),
            series,
            approvals,
            restarts,
            changes,
        }
    }
}

#[cfg(test)]
mod tests;
