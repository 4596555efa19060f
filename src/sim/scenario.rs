//! Scenarios (docs/formats.md section 1): a simulated world in YAML, for `simulate`,
//! the REPL and test fixtures.
//!
//! ```yaml
//! start: 2026-01-01T00:00:00Z     # default
//! step: 1m                        # default 30s; ticks at 0, step, 2·step, … ≤ duration
//! duration: 30m
//! resize_delay: 2m                # default 0: how long a resize takes to finish
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
//! ```
//!
//! Objects, by kind, with their defaults:
//!
//! | kind | fields |
//! |---|---|
//! | pvc | `storage_class`, `capacity` (status), `requested` (default: capacity), `phase` (Bound), `volume_attributes_class`, `resize_delay` |
//! | pod | `phase` (Running), `node`, `owner` |
//! | deployment, statefulset | `replicas` (1), `ready_replicas` (default: replicas) |
//! | node | `ready` (true), `unschedulable` (false) |
//! | storageclass | `allow_volume_expansion` (false, as in Kubernetes) |
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
use std::fmt;

use serde::Deserialize;
use serde::de::{self, Visitor};
use serde_saphyr::{MessageFormatter, Spanned};

use crate::diagnostic::{Diagnostic, did_you_mean};
use crate::engine::object::Labels;
use crate::engine::{Approval, Decision, Fields, Namespace, ObjectId, Time};
use crate::ir::{Kind, Program};
use crate::sim::series::{self, SeriesError};
use crate::source::{FileId, Span};
use crate::syntax::ast::{Dimension, Unit};

pub mod codes {
    pub const YAML: &str = "apr::scenario::yaml";
    pub const FIELD: &str = "apr::scenario::field";
    pub const VALUE: &str = "apr::scenario::value";
    pub const DUPLICATE: &str = "apr::scenario::duplicate";
    pub const UNKNOWN_REFERENCE: &str = "apr::scenario::unknown_reference";
    pub const SERIES: &str = "apr::scenario::series";
    pub const UNSUPPORTED: &str = "apr::scenario::unsupported";
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
    /// Objects the engine sees (pvc, pod, deployment, statefulset, node), in file order.
    pub objects: Vec<ObjectSpec>,
    pub classes: BTreeMap<String, StorageClass>,
    /// Every namespace; `default` is always there.
    pub namespaces: BTreeMap<String, Namespace>,
    pub series: Vec<SeriesSpec>,
    pub approvals: Vec<ApprovalSpec>,
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
}

#[derive(Clone, Debug)]
pub struct StorageClass {
    pub name: String,
    pub allow_volume_expansion: bool,
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

/// `a/./b` and `./a` as `a/b` and `a`: the same file, however it is typed.
fn normalise(path: &str) -> String {
    let mut s = path;
    while let Some(rest) = s.strip_prefix("./") {
        s = rest;
    }
    let mut out = s.to_string();
    while out.contains("/./") {
        out = out.replace("/./", "/");
    }
    out
}

/// The policy a test block or a scenario approval names. A named policy by
/// its name; an anonymous rule (`FILE:LINE`) by its path as given on the
/// command line, with or without `./`, or by the end of that path after a
/// `/` (`"policies.apr:4"`) when exactly one rule ends so, so that a test
/// does not depend on the directory it is run from.
pub fn find_policy<'p>(program: &'p Program, name: &str) -> Option<&'p crate::ir::Policy> {
    if let Some(p) = program.policy(name) {
        return Some(p);
    }
    let want = normalise(name);
    let suffix = format!("/{want}");
    let mut exact = None;
    let mut by_suffix = Vec::new();
    for p in program.policies.iter().filter(|p| p.anonymous) {
        let have = normalise(&p.name);
        if have == want {
            exact = Some(p);
            break;
        }
        if have.ends_with(&suffix) && by_suffix.len() < 2 {
            by_suffix.push(p);
        }
    }
    exact.or(match by_suffix.as_slice() {
        [p] => Some(*p),
        _ => None,
    })
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
    pub fn check(&mut self, program: &Program) -> Vec<Diagnostic> {
        let names: Vec<&str> = program.policies.iter().map(|p| p.name.as_str()).collect();
        let mut out = Vec::new();
        let ticks = (self.duration / self.step.max(1)) as u64 + 1;
        let objects = self.objects.len() as u64;
        let policies = program.policies.len() as u64;
        // The world steps every object on every tick, so a run without
        // policies still costs a tick per object: count at least one.
        let work = ticks
            .saturating_mul(objects)
            .saturating_mul(policies.max(1));
        if work > MAX_WORK {
            let product = if policies == 0 {
                format!("{ticks} ticks × {objects} objects (and no policy) is {work} object-ticks")
            } else {
                format!(
                    "{ticks} ticks × {objects} objects × {policies} policies is {work} evaluations"
                )
            };
            out.push(
                Diagnostic::error(
                    codes::TOO_MUCH_WORK,
                    self.duration_span,
                    format!("{product}, more than the {MAX_WORK} a run may do"),
                )
                .label("this many ticks")
                .help(format!(
                    "a run is bounded to {MAX_WORK} object-policy-ticks (a few minutes): \
                     make `step` longer, `duration` shorter, or give fewer objects or policies"
                )),
            );
        }
        for a in &mut self.approvals {
            if let Some(p) = find_policy(program, &a.approval.policy) {
                a.approval.policy.clone_from(&p.name);
            }
            let Some(policy) = program.policy(&a.approval.policy) else {
                out.push(
                    Diagnostic::error(
                        codes::UNKNOWN_REFERENCE,
                        a.policy_span,
                        format!("unknown policy `{}`", a.approval.policy),
                    )
                    .label("no policy of this name")
                    .help_opt(did_you_mean(&a.approval.policy, names.iter().copied()))
                    .help_opt(
                        (names.is_empty()).then(|| "the policies given define no policy".into()),
                    ),
                );
                continue;
            };
            if policy.kind != a.approval.object.kind {
                out.push(
                    Diagnostic::error(
                        codes::UNKNOWN_REFERENCE,
                        a.span,
                        format!(
                            "policy `{}` is about {} objects, but `{}` is a {}",
                            policy.name, policy.kind, a.approval.object, a.approval.object.kind
                        ),
                    )
                    .label("never approved"),
                );
            }
        }
        out
    }
}

// ---------------------------------------------------------------- raw YAML

/// Any YAML scalar, as its text exactly as written: `100Gi`, `30`, `2.10`,
/// `n` (a name here, not YAML 1.1's false).
#[derive(Clone, Debug, PartialEq)]
struct Scalar(String);

impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Scalar, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Scalar;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a number, a string or a boolean")
            }
            fn visit_str<E>(self, v: &str) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_string<E>(self, v: String) -> Result<Scalar, E> {
                Ok(Scalar(v))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_f64<E>(self, v: f64) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_bool<E>(self, v: bool) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
        }
        d.deserialize_string(V)
    }
}

type S = Spanned<Scalar>;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScenario {
    start: Option<S>,
    step: Option<S>,
    duration: Option<S>,
    resize_delay: Option<S>,
    #[serde(default)]
    objects: Vec<Spanned<RawObject>>,
    #[serde(default)]
    namespaces: Vec<Spanned<RawNamespace>>,
    #[serde(default)]
    series: Vec<Spanned<RawSeries>>,
    #[serde(default)]
    approvals: Vec<Spanned<RawApproval>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawObject {
    kind: Option<S>,
    name: Option<S>,
    namespace: Option<S>,
    #[serde(default)]
    labels: BTreeMap<String, Scalar>,
    #[serde(default)]
    annotations: BTreeMap<String, Scalar>,
    age: Option<S>,
    // pvc
    storage_class: Option<S>,
    capacity: Option<S>,
    requested: Option<S>,
    volume_attributes_class: Option<S>,
    resize_delay: Option<S>,
    // pvc, pod
    phase: Option<S>,
    // pod
    node: Option<S>,
    owner: Option<S>,
    // deployment, statefulset
    replicas: Option<S>,
    ready_replicas: Option<S>,
    // node
    ready: Option<S>,
    unschedulable: Option<S>,
    // storageclass
    allow_volume_expansion: Option<S>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawNamespace {
    name: Option<S>,
    #[serde(default)]
    labels: BTreeMap<String, Scalar>,
    #[serde(default)]
    annotations: BTreeMap<String, Scalar>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSeries {
    metric: Option<S>,
    object: Option<S>,
    series: Option<S>,
    values: Option<S>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawApproval {
    at: Option<S>,
    policy: Option<S>,
    object: Option<S>,
    decision: Option<S>,
}

// ---------------------------------------------------------------- loading

/// Reads a scenario; every problem is a diagnostic on `file`.
pub fn parse(file: FileId, text: &str) -> Result<Scenario, Vec<Diagnostic>> {
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
    let scenario = l.scenario(raw);
    if l.diags.is_empty() {
        Ok(scenario)
    } else {
        l.diags.sort_by_key(|d| d.primary.span);
        Err(l.diags)
    }
}

fn yaml_error(file: FileId, text: &str, e: &serde_saphyr::Error) -> Diagnostic {
    let message = match e.without_snippet() {
        serde_saphyr::Error::Budget { breach, .. } => budget_words(breach),
        other => serde_saphyr::DefaultMessageFormatter
            .format_message(other)
            .into_owned(),
    };
    let span = e
        .location()
        .map_or(Span::new(file, 0, 0), |l| location_span(file, text, &l));
    let d = Diagnostic::error(codes::YAML, span, message).label("here");
    match e.without_snippet() {
        serde_saphyr::Error::Budget { .. } => d.help(
            "a scenario is read within limits that keep hostile YAML cheap: \
             write the entries out instead of repeating them through aliases, or split the file",
        ),
        _ => d,
    }
}

/// A YAML budget breach in words (the library's own text is its debug form).
fn budget_words(breach: &serde_saphyr::budget::BudgetBreach) -> String {
    use serde_saphyr::budget::BudgetBreach as B;
    let what = match breach {
        B::Events { events } => format!("{events} parser events"),
        B::Aliases { aliases } => format!("{aliases} aliases (`*name`)"),
        B::Anchors { anchors } => format!("{anchors} anchors (`&name`)"),
        B::Depth { depth } => format!("nesting {depth} deep"),
        B::InclusionDepth { depth } => format!("includes nested {depth} deep"),
        B::Documents { documents } => format!("{documents} documents"),
        B::Nodes { nodes } => format!("{nodes} nodes"),
        B::ScalarBytes { total_scalar_bytes } => {
            format!("{total_scalar_bytes} bytes of scalar values")
        }
        B::MergeKeys { merge_keys } => format!("{merge_keys} merge keys (`<<`)"),
        B::AliasAnchorRatio { aliases, anchors } => format!(
            "{aliases} aliases for {anchors} anchor(s), which would expand the document many times over"
        ),
        B::SequenceUnbalanced => {
            return "the YAML structure is unbalanced (a closing bracket without an opening one)"
                .into();
        }
        B::InputBytes { input_bytes } => format!("{input_bytes} bytes of input"),
        _ => return "the YAML is too large or too deeply nested to read safely".into(),
    };
    format!("the YAML is over a safety limit: {what}")
}

/// A byte span from a serde-saphyr location (line and column when the
/// byte offset is not known).
fn location_span(file: FileId, text: &str, l: &serde_saphyr::Location) -> Span {
    let span = l.span();
    if let Some(start) = span.byte_offset() {
        let start = (start as usize).min(text.len());
        let len = span.byte_len().unwrap_or(0) as usize;
        return Span::new(file, start, (start + len).min(text.len()));
    }
    if l.line() == 0 {
        return Span::new(file, 0, 0);
    }
    let line_start: usize = text
        .split_inclusive('\n')
        .take(l.line() as usize - 1)
        .map(str::len)
        .sum();
    let col: usize = text[line_start..]
        .chars()
        .take(l.column().saturating_sub(1) as usize)
        .map(char::len_utf8)
        .sum();
    let start = (line_start + col).min(text.len());
    Span::new(file, start, start)
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

/// What a kind takes besides name, labels and annotations.
fn allowed_fields(kind: &str) -> &'static [&'static str] {
    match kind {
        "pvc" => &[
            "namespace",
            "age",
            "storage_class",
            "capacity",
            "requested",
            "volume_attributes_class",
            "resize_delay",
            "phase",
        ],
        "pod" => &["namespace", "age", "phase", "node", "owner"],
        "deployment" | "statefulset" => &["namespace", "age", "replicas", "ready_replicas"],
        "node" => &["age", "ready", "unschedulable"],
        "storageclass" => &["allow_volume_expansion"],
        _ => &[],
    }
}

const OBJECT_KINDS: [&str; 7] = [
    "pvc",
    "pod",
    "deployment",
    "statefulset",
    "node",
    "storageclass",
    "namespace",
];

impl RawObject {
    /// The optional fields, by name, for the per-kind check.
    fn optional(&self) -> [(&'static str, Option<&S>); 14] {
        [
            ("namespace", self.namespace.as_ref()),
            ("age", self.age.as_ref()),
            ("storage_class", self.storage_class.as_ref()),
            ("capacity", self.capacity.as_ref()),
            ("requested", self.requested.as_ref()),
            (
                "volume_attributes_class",
                self.volume_attributes_class.as_ref(),
            ),
            ("resize_delay", self.resize_delay.as_ref()),
            ("phase", self.phase.as_ref()),
            ("node", self.node.as_ref()),
            ("owner", self.owner.as_ref()),
            ("replicas", self.replicas.as_ref()),
            ("ready_replicas", self.ready_replicas.as_ref()),
            ("ready", self.ready.as_ref()),
            ("unschedulable", self.unschedulable.as_ref()),
        ]
    }
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

    fn scenario(&mut self, raw: RawScenario) -> Scenario {
        let whole = Span::new(self.file, 0, 0);
        let start = match &raw.start {
            None => DEFAULT_START,
            Some(s) => self.timestamp(s).unwrap_or(DEFAULT_START),
        };
        let step = match &raw.step {
            None => DEFAULT_STEP,
            Some(s) => self.step(s).unwrap_or(DEFAULT_STEP),
        };
        let duration = match &raw.duration {
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
        namespaces
            .entry("default".into())
            .or_insert_with(|| (Namespace::default(), None));
        self.references(&objects, &raw.objects, &namespaces, &classes);

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
            objects,
            classes,
            namespaces: namespaces.into_iter().map(|(k, (v, _))| (k, v)).collect(),
            series,
            approvals,
        }
    }

    /// Records a definition; a second one of the same id is an error.
    fn define(&mut self, seen: &mut BTreeMap<String, Span>, id: String, span: Span) -> bool {
        if let Some(first) = seen.get(&id) {
            let first = *first;
            self.diags.push(
                Diagnostic::error(codes::DUPLICATE, span, format!("`{id}` is defined twice"))
                    .label("again")
                    .also(first, "first defined here"),
            );
            return false;
        }
        seen.insert(id, span);
        true
    }

    fn name_ok(&mut self, name: &str, span: Span) -> bool {
        let len = name.chars().count();
        if len > MAX_NAME {
            self.error(
                codes::VALUE,
                span,
                format!("a name of {len} characters is too long"),
            );
            self.last(
                format!("more than {MAX_NAME} characters"),
                Some(format!(
                    "Kubernetes names are at most {MAX_NAME} characters"
                )),
            );
            return false;
        }
        if name.is_empty() || name.contains(['/', ' ', '\t', '\n']) {
            self.error(codes::VALUE, span, format!("`{name}` is not a valid name"));
            self.last(
                "not a name",
                Some("names are non-empty, without `/` or spaces, e.g. `pg-data`".into()),
            );
            return false;
        }
        true
    }

    /// Label keys and values within Kubernetes' limits: a value and a key's
    /// name at most 63 characters, a key's `prefix/` at most 253.
    fn labels_ok(&mut self, labels: &BTreeMap<String, Scalar>, span: Span) -> bool {
        let mut ok = true;
        for (key, value) in labels {
            let (prefix, name) = key.rsplit_once('/').unwrap_or(("", key));
            let count = |s: &str| s.chars().count();
            let long = if count(prefix) > MAX_NAME {
                Some(("the prefix of a label key", count(prefix), MAX_NAME))
            } else if count(name) > MAX_LABEL {
                Some(("a label key", count(name), MAX_LABEL))
            } else if count(&value.0) > MAX_LABEL {
                Some(("a label value", count(&value.0), MAX_LABEL))
            } else {
                None
            };
            if let Some((what, len, max)) = long {
                self.error(
                    codes::VALUE,
                    span,
                    format!("{what} of {len} characters is too long"),
                );
                self.last(
                    format!("more than {max} characters"),
                    Some(format!(
                        "Kubernetes label keys and values are at most {MAX_LABEL} characters \
                         (a key's `prefix/` at most {MAX_NAME})"
                    )),
                );
                ok = false;
            }
        }
        ok
    }

    #[allow(clippy::too_many_arguments)]
    fn object(
        &mut self,
        o: &Spanned<RawObject>,
        start: Time,
        seen: &mut BTreeMap<String, Span>,
        namespaces: &mut BTreeMap<String, (Namespace, Option<Span>)>,
        classes: &mut BTreeMap<String, StorageClass>,
        objects: &mut Vec<ObjectSpec>,
    ) {
        let span = self.sspan(o);
        let raw = &o.value;
        let Some(kind_s) = self.required(raw.kind.as_ref(), "kind", span, "an object") else {
            return;
        };
        let kind = kind_s.value.0.as_str();
        let kind_span = self.sspan(kind_s);
        if !OBJECT_KINDS.contains(&kind) {
            self.error(codes::VALUE, kind_span, format!("unknown kind `{kind}`"));
            let help = self
                .suggest(kind, OBJECT_KINDS)
                .unwrap_or_else(|| format!("kinds: {}", OBJECT_KINDS.join(", ")));
            self.last("not a kind", Some(help));
            return;
        }
        let what = format!("a {kind}");
        let Some(name_s) = self.required(raw.name.as_ref(), "name", span, &what) else {
            return;
        };
        let name = name_s.value.0.clone();
        let name_span = self.sspan(name_s);
        let allowed = allowed_fields(kind);
        let mut misplaced = false;
        for (field, value) in raw.optional() {
            if let Some(v) = value
                && !allowed.contains(&field)
            {
                let vspan = self.sspan(v);
                let help = if field == "namespace" {
                    format!("a {kind} is cluster-scoped: remove `namespace`")
                } else if allowed.is_empty() {
                    format!("a {kind} takes only `name`, `labels` and `annotations`")
                } else {
                    format!("fields of a {kind}: {}", allowed.join(", "))
                };
                self.error(
                    codes::FIELD,
                    vspan,
                    format!("`{field}` does not apply to a {kind}"),
                );
                self.last(format!("not a field of a {kind}"), Some(help));
                misplaced = true;
            }
        }
        if !self.name_ok(&name, name_span) || !self.labels_ok(&raw.labels, span) || misplaced {
            return;
        }
        match kind {
            "namespace" => {
                if self.define(seen, format!("namespace/{name}"), name_span) {
                    let ns = Namespace {
                        labels: labels(&raw.labels),
                        annotations: labels(&raw.annotations),
                    };
                    namespaces.insert(name, (ns, Some(name_span)));
                }
            }
            "storageclass" => {
                let allow = raw
                    .allow_volume_expansion
                    .as_ref()
                    .and_then(|v| self.boolean(v, "allow_volume_expansion"))
                    .unwrap_or(false);
                if self.define(seen, format!("storageclass/{name}"), name_span) {
                    classes.insert(
                        name.clone(),
                        StorageClass {
                            name,
                            allow_volume_expansion: allow,
                            span: name_span,
                        },
                    );
                }
            }
            _ => {
                let Some(k) = Kind::from_name(kind) else {
                    return;
                };
                let namespace = if k.namespaced() {
                    match &raw.namespace {
                        Some(ns) => {
                            let nspan = self.sspan(ns);
                            if !self.name_ok(&ns.value.0, nspan) {
                                return;
                            }
                            Some(ns.value.0.as_str())
                        }
                        None => Some("default"),
                    }
                } else {
                    None
                };
                let id = ObjectId::new(k, namespace, &name);
                if !self.define(seen, id.to_string(), name_span) {
                    return;
                }
                let created = raw
                    .age
                    .as_ref()
                    .and_then(|a| self.duration(a, "age"))
                    .map(|age| start - age);
                let fields = self.fields(k, raw, span);
                let resize_delay = raw
                    .resize_delay
                    .as_ref()
                    .and_then(|d| self.duration(d, "resize_delay"));
                objects.push(ObjectSpec {
                    id,
                    span: name_span,
                    labels: labels(&raw.labels),
                    annotations: labels(&raw.annotations),
                    created,
                    fields,
                    resize_delay,
                });
            }
        }
    }

    fn fields(&mut self, kind: Kind, raw: &RawObject, span: Span) -> Fields {
        let mut f = Fields::default();
        let text = |s: &Option<S>| s.as_ref().map(|s| s.value.0.clone());
        match kind {
            Kind::Pvc => {
                f.phase = Some(
                    raw.phase
                        .as_ref()
                        .and_then(|p| self.one_of(p, "phase", &["Pending", "Bound", "Lost"]))
                        .unwrap_or_else(|| "Bound".into()),
                );
                f.storage_class = text(&raw.storage_class);
                f.volume_attributes_class = text(&raw.volume_attributes_class);
                f.capacity = raw
                    .capacity
                    .as_ref()
                    .and_then(|c| self.bytes(c, "capacity"));
                f.requested = raw
                    .requested
                    .as_ref()
                    .and_then(|c| self.bytes(c, "requested"))
                    .or(f.capacity);
                if f.phase.as_deref() == Some("Bound")
                    && f.capacity.is_none()
                    && raw.capacity.is_none()
                {
                    self.error(codes::FIELD, span, "a Bound pvc needs `capacity`");
                    self.last("no `capacity`", Some("e.g. `capacity: 100Gi`".into()));
                }
            }
            Kind::Pod => {
                f.phase = Some(
                    raw.phase
                        .as_ref()
                        .and_then(|p| {
                            self.one_of(
                                p,
                                "phase",
                                &["Pending", "Running", "Succeeded", "Failed", "Unknown"],
                            )
                        })
                        .unwrap_or_else(|| "Running".into()),
                );
                f.node = text(&raw.node);
                f.owner = text(&raw.owner);
            }
            Kind::Deployment | Kind::StatefulSet => {
                let replicas = raw
                    .replicas
                    .as_ref()
                    .and_then(|r| self.count(r, "replicas"))
                    .unwrap_or(1);
                f.replicas = Some(replicas);
                f.ready_replicas = Some(
                    raw.ready_replicas
                        .as_ref()
                        .and_then(|r| self.count(r, "ready_replicas"))
                        .unwrap_or(replicas),
                );
            }
            Kind::Node => {
                f.ready = Some(
                    raw.ready
                        .as_ref()
                        .and_then(|r| self.boolean(r, "ready"))
                        .unwrap_or(true),
                );
                f.unschedulable = Some(
                    raw.unschedulable
                        .as_ref()
                        .and_then(|r| self.boolean(r, "unschedulable"))
                        .unwrap_or(false),
                );
            }
        }
        f
    }

    /// Namespaces and storage classes that objects name must be declared.
    fn references(
        &mut self,
        objects: &[ObjectSpec],
        raw: &[Spanned<RawObject>],
        namespaces: &BTreeMap<String, (Namespace, Option<Span>)>,
        classes: &BTreeMap<String, StorageClass>,
    ) {
        for r in raw {
            let o = &r.value;
            if let Some(ns) = &o.namespace
                && !namespaces.contains_key(&ns.value.0)
                // A too-long name has its own diagnostic (`name_ok`).
                && ns.value.0.chars().count() <= MAX_NAME
                && allowed_fields(o.kind.as_ref().map_or("", |k| k.value.0.as_str()))
                    .contains(&"namespace")
            {
                let span = self.sspan(ns);
                let name = &ns.value.0;
                self.error(
                    codes::UNKNOWN_REFERENCE,
                    span,
                    format!("namespace `{name}` is not declared"),
                );
                let help = self
                    .suggest(name, namespaces.keys().map(String::as_str))
                    .unwrap_or_else(|| {
                        format!("declare it: `namespaces: [{{name: {name}, labels: {{}}}}]`")
                    });
                self.last("unknown namespace", Some(help));
            }
            if let Some(class) = &o.storage_class
                && !classes.contains_key(&class.value.0)
                && o.kind.as_ref().is_some_and(|k| k.value.0 == "pvc")
            {
                let span = self.sspan(class);
                let name = &class.value.0;
                self.error(
                    codes::UNKNOWN_REFERENCE,
                    span,
                    format!("unknown StorageClass `{name}`"),
                );
                let help = self.suggest(name, classes.keys().map(String::as_str)).unwrap_or_else(
                    || {
                        format!(
                            "declare it: `- {{kind: storageclass, name: {name}, allow_volume_expansion: true}}`"
                        )
                    },
                );
                self.last("not declared", Some(help));
            }
        }
        let _ = objects;
    }

    fn series(
        &mut self,
        index: usize,
        s: &Spanned<RawSeries>,
        ids: &BTreeSet<ObjectId>,
        bound: &mut BTreeMap<(String, ObjectId), Span>,
    ) -> Option<SeriesSpec> {
        let span = self.sspan(s);
        let raw = &s.value;
        let what = format!("series entry {index}");
        let values = self.required(raw.values.as_ref(), "values", span, &what)?;
        let values_at = self.text_at(values);
        let parsed = match series::parse(&values.value.0) {
            Ok(p) if self.samples.saturating_add(p.len()) > MAX_TOTAL_SAMPLES => {
                let before = self.samples;
                self.samples = u64::MAX;
                if before != u64::MAX {
                    self.error(
                        codes::TOO_MANY_SAMPLES,
                        values_at.span,
                        format!(
                            "{what} brings the scenario past {MAX_TOTAL_SAMPLES} samples in all \
                             (it has {} samples, after {before} before it)",
                            p.len()
                        ),
                    );
                    self.last(
                        "too many samples",
                        Some(format!(
                            "the series of a scenario hold at most {MAX_TOTAL_SAMPLES} samples \
                             together: make `step` longer or the series shorter"
                        )),
                    );
                }
                None
            }
            Ok(p) => {
                self.samples += p.len();
                Some(p)
            }
            Err(e) => {
                self.diags
                    .push(values_at.series_error(&e, format!("{what}, values")));
                None
            }
        };
        let target = match (&raw.metric, &raw.object, &raw.series) {
            (Some(m), Some(o), None) => {
                let metric = m.value.0.clone();
                let metric_span = self.sspan(m);
                let object = self.object_ref(o, ids)?;
                match metric.split_once('.') {
                    Some((kind, _)) if Kind::from_name(kind).is_some() => {
                        if kind != object.kind.name() {
                            self.error(
                                codes::VALUE,
                                self.sspan(o),
                                format!(
                                    "`{metric}` is a metric of {kind} objects, but `{object}` is a {}",
                                    object.kind
                                ),
                            );
                            self.last(format!("not a {kind}"), None);
                            return None;
                        }
                    }
                    _ => {
                        self.error(
                            codes::VALUE,
                            metric_span,
                            format!("`{metric}` is not a metric binding name"),
                        );
                        self.last(
                            "not KIND.NAME",
                            Some("a binding is named KIND.NAME, e.g. `pvc.usage`".into()),
                        );
                        return None;
                    }
                }
                let key = (metric.clone(), object.clone());
                if let Some(first) = bound.get(&key) {
                    self.diags.push(
                        Diagnostic::error(
                            codes::DUPLICATE,
                            span,
                            format!("{what}: `{metric}` of `{object}` already has values"),
                        )
                        .label("again")
                        .also(*first, "first given here"),
                    );
                    return None;
                }
                bound.insert(key, span);
                SeriesTarget::Binding {
                    metric,
                    metric_span,
                    object,
                }
            }
            (None, None, Some(sel)) => SeriesTarget::Raw {
                selector: sel.value.0.clone(),
                span: self.sspan(sel),
            },
            (m, o, sel) => {
                let message = match (m, o, sel) {
                    (Some(_), None, None) => format!("{what} has `metric` but no `object`"),
                    (None, Some(_), None) => format!("{what} has `object` but no `metric`"),
                    (None, None, None) => format!("{what} has neither `metric` nor `series`"),
                    _ => format!("{what} has both `metric`/`object` and `series`"),
                };
                self.error(codes::FIELD, span, message);
                self.last(
                    "",
                    Some(
                        "give a binding's values (`metric: pvc.usage`, `object: pvc/db/pg-data`) \
                         or a raw series (`series: 'metric{label=\"value\"}'`)"
                            .into(),
                    ),
                );
                return None;
            }
        };
        Some(SeriesSpec {
            index,
            span,
            target,
            values: parsed?,
            values_at,
        })
    }

    fn object_ref(&mut self, o: &S, ids: &BTreeSet<ObjectId>) -> Option<ObjectId> {
        let span = self.sspan(o);
        let text = &o.value.0;
        let id: ObjectId = match text.parse() {
            Ok(id) => id,
            Err(e) => {
                self.error(codes::VALUE, span, format!("not an object id: {e}"));
                self.last("not an id", None);
                return None;
            }
        };
        let longest = id
            .namespace
            .iter()
            .chain([&id.name])
            .map(|n| n.chars().count())
            .max();
        if let Some(len) = longest.filter(|&len| len > MAX_NAME) {
            // No object has such a name; say so without echoing it.
            self.error(
                codes::VALUE,
                span,
                format!("an object id with a name of {len} characters is too long"),
            );
            self.last(
                format!("more than {MAX_NAME} characters"),
                Some(format!(
                    "Kubernetes names are at most {MAX_NAME} characters"
                )),
            );
            return None;
        }
        if !ids.contains(&id) {
            self.error(
                codes::UNKNOWN_REFERENCE,
                span,
                format!("`{id}` is not an object of the scenario"),
            );
            let names = self
                .object_names
                .take()
                .unwrap_or_else(|| ids.iter().map(ToString::to_string).collect());
            let help = self.suggest(text, names.iter().map(String::as_str));
            self.object_names = Some(names);
            self.last("unknown object", help);
            return None;
        }
        Some(id)
    }

    /// "Did you mean", within what is left of the scenario's budget of byte
    /// pairs compared; past it, a word that suggestions stopped.
    fn suggest<'c>(
        &mut self,
        name: &str,
        candidates: impl IntoIterator<Item = &'c str>,
    ) -> Option<String> {
        let mut best: Option<(f64, &str)> = None;
        for c in candidates {
            let cost = (name.len().max(1) as u64).saturating_mul(c.len().max(1) as u64);
            if cost > self.suggest_left {
                self.suggest_left = 0;
                return Some(format!(
                    "no suggestion: this scenario's budget of {SUGGEST_BUDGET} bytes compared \
                     for \"did you mean\" is spent"
                ));
            }
            self.suggest_left -= cost;
            // As [`crate::diagnostic::closest`] chooses.
            let score = strsim::jaro_winkler(name, c);
            if (score >= 0.8 || c.starts_with(name) && !name.is_empty())
                && best.is_none_or(|(b, _)| score >= b)
            {
                best = Some((score, c));
            }
        }
        best.map(|(_, c)| format!("did you mean `{c}`?"))
    }

    fn approval(
        &mut self,
        a: &Spanned<RawApproval>,
        start: Time,
        duration: Time,
        ids: &BTreeSet<ObjectId>,
    ) -> Option<ApprovalSpec> {
        let span = self.sspan(a);
        let raw = &a.value;
        let at = self.required(raw.at.as_ref(), "at", span, "an approval");
        let policy = self.required(raw.policy.as_ref(), "policy", span, "an approval");
        let object = self.required(raw.object.as_ref(), "object", span, "an approval");
        let decision = self.required(raw.decision.as_ref(), "decision", span, "an approval");
        let (at_s, policy, object, decision) = (at?, policy?, object?, decision?);
        let at = self.duration(at_s, "at")?;
        if at > duration {
            let s = self.sspan(at_s);
            self.error(
                codes::VALUE,
                s,
                format!(
                    "`at: {}` is after the end of the scenario ({})",
                    at_s.value.0,
                    crate::ir::format_duration(duration as f64 / 1000.0)
                ),
            );
            self.last("never reached", None);
        }
        let object = self.object_ref(object, ids)?;
        let decision = match decision.value.0.as_str() {
            "approve" => Decision::Approve,
            "decline" => Decision::Decline,
            other => {
                let s = self.sspan(decision);
                self.error(codes::VALUE, s, format!("unknown decision `{other}`"));
                self.last("not a decision", Some("`approve` or `decline`".into()));
                return None;
            }
        };
        Some(ApprovalSpec {
            approval: Approval {
                policy: policy.value.0.clone(),
                object,
                decision,
                at: start + at,
            },
            span,
            policy_span: self.sspan(policy),
        })
    }

    // ------------------------------------------------------------ scalars

    fn text_at(&self, s: &S) -> TextAt {
        let span = self.sspan(s);
        let written = self.text.get(span.range()).unwrap_or("");
        let value = &s.value.0;
        let quoted = (written.starts_with('"') || written.starts_with('\''))
            && written.get(1..written.len().saturating_sub(1)) == Some(value.as_str());
        let base = if written == value {
            Some(span.start)
        } else if quoted {
            Some(span.start + 1)
        } else {
            None
        };
        TextAt { span, base }
    }

    fn value_error(&mut self, s: &S, message: String, help: String) {
        let span = self.sspan(s);
        self.error(codes::VALUE, span, message);
        self.last("here", Some(help));
    }

    fn timestamp(&mut self, s: &S) -> Option<Time> {
        const FIRST: &str = "1970-01-01T00:00:00Z";
        const LAST: &str = "9999-01-01T00:00:00Z";
        let text = s.value.0.trim();
        let in_range = |ts: &jiff::Timestamp| {
            FIRST.parse::<jiff::Timestamp>().is_ok_and(|f| *ts >= f)
                && LAST.parse::<jiff::Timestamp>().is_ok_and(|l| *ts < l)
        };
        // A well-formed time whose year is out of range parses with another year.
        let shaped = || {
            text.get(..4)
                .is_some_and(|y| y.bytes().all(|b| b.is_ascii_digit()))
                && text
                    .get(4..)
                    .is_some_and(|rest| format!("2000{rest}").parse::<jiff::Timestamp>().is_ok())
        };
        match text.parse::<jiff::Timestamp>() {
            Ok(ts) if in_range(&ts) => Some(ts.as_millisecond()),
            Ok(_) => {
                self.out_of_range(s, FIRST, LAST);
                None
            }
            Err(_) if shaped() => {
                self.out_of_range(s, FIRST, LAST);
                None
            }
            Err(_) => {
                self.value_error(
                    s,
                    format!("`start: {}` is not an RFC 3339 time", s.value.0),
                    "e.g. `start: 2026-01-01T00:00:00Z`".into(),
                );
                None
            }
        }
    }

    fn out_of_range(&mut self, s: &S, first: &str, last: &str) {
        self.value_error(
            s,
            format!(
                "`start: {}` is outside the supported range of times",
                s.value.0
            ),
            format!("a scenario starts at or after {first} and before {last}"),
        );
    }

    fn step(&mut self, s: &S) -> Option<Time> {
        let step = self.duration(s, "step")?;
        if step < 1000 || step % 1000 != 0 {
            self.value_error(
                s,
                format!("`step: {}` is not a whole number of seconds", s.value.0),
                "ticks are at least a second apart, e.g. `step: 30s`".into(),
            );
            return None;
        }
        Some(step)
    }

    /// A duration with a unit (`30s`, `5m`), or `0`; milliseconds.
    fn duration(&mut self, s: &S, field: &str) -> Option<Time> {
        let text = s.value.0.trim();
        match quantity(text) {
            Some((0.0, None)) => Some(0),
            Some((v, Some(u))) if u.dimension() == Dimension::Duration && v >= 0.0 => {
                let ms = (v * u.factor() * 1000.0).round();
                (ms < 1e15).then_some(ms as Time).or_else(|| {
                    self.value_error(s, format!("`{field}: {text}` is too long"), String::new());
                    None
                })
            }
            _ => {
                self.value_error(
                    s,
                    format!("`{field}: {text}` is not a duration"),
                    "a duration has a unit: `30s`, `5m`, `2h`, `1d`".into(),
                );
                None
            }
        }
    }

    /// A size (`100Gi`, `500M`, or a number of bytes).
    fn bytes(&mut self, s: &S, field: &str) -> Option<u64> {
        let text = s.value.0.trim();
        match quantity(text) {
            Some((v, None)) if v >= 0.0 && v.fract() == 0.0 && v < 1.8e19 => Some(v as u64),
            Some((v, Some(u))) if u.dimension() == Dimension::Bytes && v >= 0.0 => {
                let b = (v * u.factor()).ceil();
                if b < 1.8e19 {
                    return Some(b as u64);
                }
                self.value_error(s, format!("`{field}: {text}` is too large"), String::new());
                None
            }
            _ => {
                self.value_error(
                    s,
                    format!("`{field}: {text}` is not a size"),
                    "e.g. `100Gi`, `500M`, or a whole number of bytes".into(),
                );
                None
            }
        }
    }

    fn count(&mut self, s: &S, field: &str) -> Option<u32> {
        match s.value.0.trim().parse::<u32>() {
            Ok(n) => Some(n),
            Err(_) => {
                self.value_error(
                    s,
                    format!("`{field}: {}` is not a whole number", s.value.0),
                    "e.g. `3`".into(),
                );
                None
            }
        }
    }

    fn boolean(&mut self, s: &S, field: &str) -> Option<bool> {
        match s.value.0.as_str() {
            "true" => Some(true),
            "false" => Some(false),
            other => {
                self.value_error(
                    s,
                    format!("`{field}: {other}` is not true or false"),
                    "`true` or `false`".into(),
                );
                None
            }
        }
    }

    fn one_of(&mut self, s: &S, field: &str, options: &[&str]) -> Option<String> {
        let v = s.value.0.as_str();
        if options.contains(&v) {
            return Some(v.to_string());
        }
        let guess = options
            .iter()
            .find(|o| o.eq_ignore_ascii_case(v))
            .map(|o| format!("did you mean `{o}`?"))
            .or_else(|| did_you_mean(v, options.iter().copied()));
        let span = self.sspan(s);
        self.error(
            codes::VALUE,
            span,
            format!("`{field}: {v}` is not a {field}"),
        );
        self.last(
            format!("one of {}", options.join(", ")),
            guess.or_else(|| Some(format!("one of {}", options.join(", ")))),
        );
        None
    }
}

/// `100Gi` → (100, Gi); `30` → (30, None).
fn quantity(text: &str) -> Option<(f64, Option<Unit>)> {
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '_'))
        .unwrap_or(text.len());
    let (num, unit) = text.split_at(split);
    if !num.chars().any(|c| c.is_ascii_digit()) {
        return None;
    }
    let value = num.replace('_', "").parse::<f64>().ok()?;
    if unit.is_empty() {
        return Some((value, None));
    }
    Some((value, Some(Unit::from_suffix(unit)?)))
}

fn labels(map: &BTreeMap<String, Scalar>) -> Labels {
    map.iter().map(|(k, v)| (k.clone(), v.0.clone())).collect()
}

#[cfg(test)]
mod tests;
