//! `test "…" { … }` blocks (docs/formats.md section 3): a small world, series and
//! expectations, run through the same engine and simulated world as
//! `simulate`.
//!
//! A test block is lowered to the scenario format, one YAML line per
//! statement, and loaded by [`crate::sim::scenario::parse`]: a test and a scenario
//! file mean exactly the same thing. A problem the loader finds is reported
//! at the test statement it came from.
//!
//! States are asserted as they are after the tick at the given time; an
//! action at a time is an action event of that tick.

use std::fmt::Write as _;
use std::sync::Arc;

use crate::diagnostic::{Diagnostic, did_you_mean};
use crate::engine::{ActionResult, Event, EventKind, ObjectId, PhaseName, Planned, Time};
use crate::ir::{ActionName, Kind, Program};
use crate::report::{self, action};
use crate::sim;
use crate::sim::ScenarioSource;
use crate::sim::scenario::{self, Scenario};
use crate::source::{FileId, SourceMap, Span};
use crate::syntax::ast::{
    self, ChangeOp, Dimension, Expectation, ExprKind, FieldValue, Record, SeriesTarget,
    TestStmtKind,
};

pub mod codes {
    pub const STATEMENT: &str = "apr::test::statement";
    pub const UNKNOWN_POLICY: &str = "apr::test::unknown_policy";
    pub const UNKNOWN_ACTION: &str = "apr::test::unknown_action";
    pub const TIME: &str = "apr::test::time";
    pub const PAST_THE_END: &str = "apr::test::past_the_end";
}

/// One test block, ready to run.
#[derive(Debug)]
pub struct Case {
    pub name: String,
    pub span: Span,
    pub scenario: Scenario,
    pub source: ScenarioSource,
    pub expects: Vec<Expect>,
}

#[derive(Debug, Clone)]
pub struct Expect {
    pub span: Span,
    /// The statement as written, for messages.
    pub text: String,
    pub what: What,
}

#[derive(Debug, Clone)]
pub enum What {
    State {
        policy: String,
        object: ObjectId,
        at: Time,
        state: PhaseName,
    },
    Action {
        policy: String,
        object: ObjectId,
        at: Time,
        action: ActionName,
        to: Option<To>,
        result: ActionResult,
    },
    NoAction {
        target: Option<(String, ObjectId)>,
        from: Time,
        to: Time,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub enum To {
    Bytes(u64),
    Count(u32),
    Name(String),
}

/// How one test went.
#[derive(Debug)]
pub struct CaseResult {
    pub name: String,
    /// Unmet expectations, as messages.
    pub failures: Vec<String>,
    /// The actual timeline, for a failure report.
    pub timeline: String,
}

impl CaseResult {
    pub fn passed(&self) -> bool {
        self.failures.is_empty()
    }
}

/// Lowers every test block of the user's files. Lowering errors are
/// diagnostics; the other tests still run.
pub fn collect(
    sources: &mut SourceMap,
    files: &[(FileId, ast::File)],
    program: &Program,
) -> (Vec<Case>, Vec<Diagnostic>) {
    let mut cases = Vec::new();
    let mut diags = Vec::new();
    for (id, file) in files {
        if sources.get(*id).is_stdlib() {
            continue;
        }
        for item in &file.items {
            if let ast::Item::Test(t) = item {
                match lower(sources, t, program) {
                    Ok(case) => cases.push(case),
                    Err(d) => diags.extend(d),
                }
            }
        }
    }
    (cases, diags)
}

/// One line of generated YAML and the statement it stands for.
struct Lines {
    yaml: String,
    spans: Vec<Span>,
}

impl Lines {
    fn push(&mut self, line: String, span: Span) {
        self.yaml.push_str(&line);
        self.yaml.push('\n');
        self.spans.push(span);
    }
}

fn lower(
    sources: &mut SourceMap,
    t: &ast::Test,
    program: &Program,
) -> Result<Case, Vec<Diagnostic>> {
    let name = t.name.as_plain().unwrap_or_default();
    let text = |span: Span| sources.text(span).to_string();
    let mut errors = Vec::new();
    let mut settings = Lines {
        yaml: String::new(),
        spans: Vec::new(),
    };
    let mut objects = Lines {
        yaml: "objects:\n".into(),
        spans: Vec::new(),
    };
    let mut series = Lines {
        yaml: "series:\n".into(),
        spans: Vec::new(),
    };
    let mut approvals = Lines {
        yaml: "approvals:\n".into(),
        spans: Vec::new(),
    };
    let mut restarts = Lines {
        yaml: "restarts:\n".into(),
        spans: Vec::new(),
    };
    let mut changes = Lines {
        yaml: "changes:\n".into(),
        spans: Vec::new(),
    };
    let mut expects = Vec::new();
    let mut has_duration = false;
    // Namespaces objects live in; declared ones need no line of their own.
    let mut declared: Vec<String> = Vec::new();
    let mut used: Vec<(String, Span)> = Vec::new();
    let mut last_time: Time = 0;
    for stmt in &t.stmts {
        let span = stmt.span;
        match &stmt.kind {
            TestStmtKind::Setting { name, value } => {
                has_duration |= name.name == "duration";
                let v = match &value.kind {
                    ExprKind::Str(s) => json(&s.as_plain().unwrap_or_default()),
                    _ => one_line(&text(value.span)),
                };
                settings.push(format!("{}: {v}", name.name), span);
            }
            TestStmtKind::Object { kind, id, fields } => {
                let id = id.as_plain().unwrap_or_default();
                let (ns, obj) = match id.split_once('/') {
                    Some((ns, n)) => (Some(ns), n),
                    None => (None, id.as_str()),
                };
                let mut line = format!("  - {{kind: {}, name: {}", json(&kind.name), json(obj));
                if kind.name == "namespace" {
                    declared.push(obj.to_string());
                }
                if let Some(ns) = ns {
                    let _ = write!(line, ", namespace: {}", json(ns));
                    used.push((ns.to_string(), span));
                }
                if let Some(r) = fields {
                    for (k, v) in record(sources, r) {
                        let _ = write!(line, ", {k}: {v}");
                    }
                }
                line.push('}');
                objects.push(line, span);
            }
            TestStmtKind::Series { target, values } => {
                let values = json(&values.as_plain().unwrap_or_default());
                let line = match target {
                    SeriesTarget::Metric { path, object } => {
                        let metric = path.display();
                        let kind = path.segments[0].name.clone();
                        let object = object.as_plain().unwrap_or_default();
                        format!(
                            "  - {{metric: {}, object: {}, values: {values}}}",
                            json(&metric),
                            json(&format!("{kind}/{object}"))
                        )
                    }
                    SeriesTarget::Raw(q) => {
                        format!("  - {{series: {}, values: {values}}}", json(&q.text))
                    }
                };
                series.push(line, span);
            }
            TestStmtKind::Decision {
                approve,
                target,
                at,
            } => {
                let Some((policy, object)) = resolve(program, target, &mut errors) else {
                    continue;
                };
                let Some(at_ms) = time(at, &mut errors) else {
                    continue;
                };
                last_time = last_time.max(at_ms);
                let decision = if *approve { "approve" } else { "decline" };
                approvals.push(
                    format!(
                        "  - {{at: {}, policy: {}, object: {}, decision: {decision}}}",
                        json(&format!("{}s", at_ms as f64 / 1000.0)),
                        json(&policy),
                        json(&object.to_string())
                    ),
                    span,
                );
            }
            TestStmtKind::Restart { at } => {
                let Some(at_ms) = time(at, &mut errors) else {
                    continue;
                };
                last_time = last_time.max(at_ms);
                let at = json(&format!("{}s", at_ms as f64 / 1000.0));
                restarts.push(format!("  - {at}"), span);
            }
            TestStmtKind::Change {
                op,
                kind,
                id,
                at,
                fields,
            } => {
                let Some(at_ms) = time(at, &mut errors) else {
                    continue;
                };
                last_time = last_time.max(at_ms);
                let at = json(&format!("{}s", at_ms as f64 / 1000.0));
                let id = id.as_plain().unwrap_or_default();
                let object = json(&format!("{}/{id}", kind.name));
                let add_fields = |line: &mut String, sources: &SourceMap| {
                    if let Some(r) = fields {
                        for (k, v) in record(sources, r) {
                            let _ = write!(line, ", {k}: {v}");
                        }
                    }
                };
                let line = match op {
                    ChangeOp::Delete => format!("  - {{at: {at}, delete: {object}}}"),
                    ChangeOp::Set => {
                        let mut fields = String::new();
                        add_fields(&mut fields, sources);
                        let fields = fields.trim_start_matches(", ");
                        format!("  - {{at: {at}, object: {object}, set: {{{fields}}}}}")
                    }
                    ChangeOp::Create => {
                        let (ns, name) = match id.split_once('/') {
                            Some((ns, n)) => (Some(ns), n),
                            None => (None, id.as_str()),
                        };
                        let mut line = format!(
                            "  - {{at: {at}, create: {{kind: {}, name: {}",
                            json(&kind.name),
                            json(name)
                        );
                        if let Some(ns) = ns {
                            let _ = write!(line, ", namespace: {}", json(ns));
                        }
                        add_fields(&mut line, sources);
                        line.push_str("}}");
                        line
                    }
                };
                changes.push(line, span);
            }
            TestStmtKind::Expect { target, what } => {
                let resolved = match target {
                    Some(t) => match resolve(program, t, &mut errors) {
                        Some(r) => Some(r),
                        None => continue,
                    },
                    None => None,
                };
                let what = match (what, resolved) {
                    (Expectation::NoAction { from, to }, target) => {
                        let (Some(from), Some(to)) =
                            (time(from, &mut errors), time(to, &mut errors))
                        else {
                            continue;
                        };
                        last_time = last_time.max(to);
                        What::NoAction { target, from, to }
                    }
                    (Expectation::State { at, state }, Some((policy, object))) => {
                        let Some(at) = time(at, &mut errors) else {
                            continue;
                        };
                        last_time = last_time.max(at);
                        // The grammar admits only the names of phases.
                        let Some(state) = PhaseName::parse(&state.name) else {
                            continue;
                        };
                        What::State {
                            policy,
                            object,
                            at,
                            state,
                        }
                    }
                    (
                        Expectation::Action {
                            at,
                            action,
                            to,
                            result,
                        },
                        Some((policy, object)),
                    ) => {
                        let Some(at) = time(at, &mut errors) else {
                            continue;
                        };
                        last_time = last_time.max(at);
                        let Some(name) = ActionName::parse(&action.name) else {
                            let names = ActionName::ALL.map(ActionName::name);
                            errors.push(
                                Diagnostic::error(
                                    codes::UNKNOWN_ACTION,
                                    action.span,
                                    format!("unknown action `{}`", action.name),
                                )
                                .label("not an action")
                                .help(
                                    did_you_mean(&action.name, names).unwrap_or_else(|| {
                                        format!("the actions are {}", names.join(", "))
                                    }),
                                ),
                            );
                            continue;
                        };
                        let to = match to {
                            None => None,
                            Some(e) => match to_value(e) {
                                Some(v) => Some(v),
                                None => {
                                    errors.push(
                                        Diagnostic::error(codes::STATEMENT, e.span, "`to` is a size, a replica count or a class name")
                                            .label("not a value to compare")
                                            .help("e.g. `resize to 200Gi`, `scale to 3`, `set_class to \"fast\"`"),
                                    );
                                    continue;
                                }
                            },
                        };
                        What::Action {
                            policy,
                            object,
                            at,
                            action: name,
                            to,
                            // The grammar admits only the names of results.
                            result: result
                                .as_ref()
                                .and_then(|r| ActionResult::parse(&r.name))
                                .unwrap_or(ActionResult::Applied),
                        }
                    }
                    (_, None) => {
                        errors.push(
                            Diagnostic::error(
                                codes::STATEMENT,
                                span,
                                "this expectation needs a policy and an object",
                            )
                            .label("whose state or action?")
                            .help("write `expect POLICY \"NAMESPACE/NAME\" at 5m …`"),
                        );
                        continue;
                    }
                };
                expects.push(Expect {
                    span,
                    text: text(span),
                    what,
                });
            }
        }
    }
    for (ns, span) in used {
        if !declared.contains(&ns) {
            objects.push(
                format!("  - {{kind: namespace, name: {}}}", json(&ns)),
                span,
            );
            declared.push(ns);
        }
    }
    if !has_duration {
        // Long enough for every time the test names.
        settings.push(
            format!("duration: {}s", last_time.saturating_add(999) / 1000),
            t.span,
        );
    }
    // Sections in order; a section's header line stands for the whole test.
    let mut lines = Lines {
        yaml: String::new(),
        spans: Vec::new(),
    };
    for (line, span) in settings.yaml.lines().zip(&settings.spans) {
        lines.push(line.to_string(), *span);
    }
    for part in [objects, series, approvals, restarts, changes] {
        if part.spans.is_empty() {
            continue;
        }
        let mut it = part.yaml.lines();
        if let Some(header) = it.next() {
            lines.push(header.to_string(), t.span);
        }
        for (line, span) in it.zip(&part.spans) {
            lines.push(line.to_string(), *span);
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let file = sources.add(format!("<test {name}>"), lines.yaml.clone());
    let remap = |diags: Vec<Diagnostic>, sources: &SourceMap| -> Vec<Diagnostic> {
        diags
            .into_iter()
            .map(|mut d| {
                let generated = sources.get(file);
                let (line, _) = generated.line_col(d.primary.span.start as usize);
                let span = lines.spans.get(line - 1).copied().unwrap_or(t.span);
                d.message = format!("in test \"{name}\": {}", d.message);
                d.primary.span = span;
                d.secondary.clear();
                d
            })
            .collect()
    };
    let mut scenario = match scenario::parse(file, &lines.yaml) {
        Ok(s) => s,
        Err(d) => return Err(remap(d, sources)),
    };
    let checked = scenario.check(program);
    if !checked.is_empty() {
        return Err(remap(checked, sources));
    }
    let late = past_the_end(&expects, scenario.duration, &name);
    if !late.is_empty() {
        return Err(late);
    }
    let source = ScenarioSource::new(&scenario, program).map_err(|d| remap(d, sources))?;
    Ok(Case {
        name,
        span: t.span,
        scenario,
        source,
        expects,
    })
}

/// Expectations at a time after the test's last tick: the run never gets
/// there, so they would pass without meaning anything.
fn past_the_end(expects: &[Expect], duration: Time, name: &str) -> Vec<Diagnostic> {
    let fmt = |t: Time| crate::ir::format_duration(t as f64 / 1000.0);
    expects
        .iter()
        .filter_map(|e| {
            let at = match &e.what {
                What::State { at, .. } | What::Action { at, .. } => *at,
                What::NoAction { to, .. } => *to,
            };
            (at > duration).then(|| {
                Diagnostic::error(
                    codes::PAST_THE_END,
                    e.span,
                    format!(
                        "in test \"{name}\": this expectation is at {}, but the test ends at {}",
                        fmt(at),
                        fmt(duration)
                    ),
                )
                .label("after the last tick")
                .help(format!(
                    "raise `duration` to at least {}, or move the expectation to {} or earlier",
                    fmt(at),
                    fmt(duration)
                ))
            })
        })
        .collect()
}

/// Source text of a value on one line: the lowering is one YAML line per
/// statement, and a value written over two lines would shift every later
/// line onto the wrong statement.
fn one_line(text: &str) -> String {
    if !text.contains(['\n', '\r']) {
        return text.to_string();
    }
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A YAML (and JSON) string literal.
fn json(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_default()
}

/// Record fields as YAML flow values.
fn record(sources: &SourceMap, r: &Record) -> Vec<(String, String)> {
    r.fields
        .iter()
        .map(|f| {
            let v = match &f.value {
                FieldValue::Record(inner) => {
                    let inner: Vec<String> = record(sources, inner)
                        .into_iter()
                        .map(|(k, v)| format!("{}: {v}", json(&k)))
                        .collect();
                    format!("{{{}}}", inner.join(", "))
                }
                FieldValue::Expr(e) => match &e.kind {
                    ExprKind::Str(s) => json(&s.as_plain().unwrap_or_default()),
                    _ => one_line(sources.text(e.span)),
                },
            };
            (f.name.name.clone(), v)
        })
        .collect()
}

/// The policy and object of a target; the object's kind is the policy's.
fn resolve(
    program: &Program,
    t: &ast::Target,
    errors: &mut Vec<Diagnostic>,
) -> Option<(String, ObjectId)> {
    let Some(policy) = scenario::find_policy(program, &t.policy.name) else {
        let names: Vec<&str> = program.policies.iter().map(|p| p.name.as_str()).collect();
        errors.push(
            Diagnostic::error(
                codes::UNKNOWN_POLICY,
                t.policy.span,
                format!("no policy `{}` checked without errors", t.policy.name),
            )
            .label("unknown policy")
            .help(
                did_you_mean(&t.policy.name, names.iter().copied()).unwrap_or_else(|| {
                    "name a policy of the files given; an anonymous rule is named \"FILE:LINE\""
                        .into()
                }),
            ),
        );
        return None;
    };
    let object = t.object.as_plain().unwrap_or_default();
    let id = format!("{}/{object}", policy.kind);
    match id.parse::<ObjectId>() {
        Ok(id) => Some((policy.name.clone(), id)),
        Err(e) => {
            let shape = if policy.kind == Kind::Node {
                "NAME"
            } else {
                "NAMESPACE/NAME"
            };
            errors.push(
                Diagnostic::error(codes::STATEMENT, t.object.span, e)
                    .label("not an object of the policy's kind")
                    .help(format!(
                        "policy `{}` is on {}: write \"{shape}\"",
                        policy.name, policy.kind
                    )),
            );
            None
        }
    }
}

/// A time from the start of the test: a literal duration.
fn time(e: &ast::Expr, errors: &mut Vec<Diagnostic>) -> Option<Time> {
    match &e.kind {
        ExprKind::Number(n) if n.unit.is_none() && n.value == 0.0 => Some(0),
        ExprKind::Number(n) if n.unit.is_some_and(|u| u.dimension() == Dimension::Duration) => n
            .unit
            .map(|u| (n.value * u.factor() * 1000.0).round() as Time),
        _ => {
            errors.push(
                Diagnostic::error(
                    codes::TIME,
                    e.span,
                    "a time in a test is a duration from its start",
                )
                .label("not a duration")
                .help("e.g. `at 5m`, `from 0s to 10m`"),
            );
            None
        }
    }
}

fn to_value(e: &ast::Expr) -> Option<To> {
    match &e.kind {
        ExprKind::Number(n) => match n.unit.map(|u| u.dimension()) {
            Some(Dimension::Bytes) => n
                .unit
                .map(|u| To::Bytes((n.value * u.factor()).ceil() as u64)),
            None if n.value.fract() == 0.0 && n.value >= 0.0 => Some(To::Count(n.value as u32)),
            _ => None,
        },
        ExprKind::Str(s) => s.as_plain().map(To::Name),
        _ => None,
    }
}

// ---------------------------------------------------------------- running

/// Runs one test against the program.
pub fn run(program: &Arc<Program>, case: &Case) -> CaseResult {
    let run = sim::run(Arc::clone(program), &case.scenario, &case.source, &[]);
    let start = case.scenario.start;
    let mut failures = Vec::new();
    for e in &case.expects {
        if let Err(found) = check(&e.what, &run.events, start) {
            failures.push(format!("unmet: {}\n  found: {found}", e.text));
        }
    }
    let timeline = report::text::simulation(&case.scenario, &run, program.policies.len());
    CaseResult {
        name: case.name.clone(),
        failures,
        timeline,
    }
}

fn matches_to(p: &Planned, to: &To) -> bool {
    match (p, to) {
        (Planned::Resize { to: got, .. }, To::Bytes(want)) => got == want,
        (Planned::Scale { to: got, .. }, To::Count(want)) => got == want,
        (Planned::SetClass { class }, To::Name(want)) => class == want,
        _ => false,
    }
}

/// Whether the timeline meets one expectation; what it shows instead if not.
fn check(what: &What, events: &[Event], start: Time) -> Result<(), String> {
    let ago = |t: Time| crate::ir::format_duration((t - start) as f64 / 1000.0);
    match what {
        What::State {
            policy,
            object,
            at,
            state,
        } => {
            let mut now = PhaseName::Normal;
            for e in events
                .iter()
                .filter(|e| e.time <= start + at && &e.policy == policy && &e.object == object)
            {
                if let EventKind::Transition { to, .. } = e.kind {
                    now = to;
                }
            }
            if now == *state {
                Ok(())
            } else {
                Err(format!("{now} at {}", ago(start + at)))
            }
        }
        What::Action {
            policy,
            object,
            at,
            action,
            to,
            result,
        } => {
            let here: Vec<&Event> = events
                .iter()
                .filter(|e| e.time == start + at && &e.policy == policy && &e.object == object)
                .filter(|e| e.kind.as_action().is_some())
                .collect();
            let hit = here.iter().filter_map(|e| e.kind.as_action()).any(|a| {
                a.action == *action
                    && a.result == *result
                    && to
                        .as_ref()
                        .is_none_or(|to| a.planned.is_some_and(|p| matches_to(p, to)))
            });
            if hit {
                return Ok(());
            }
            if here.is_empty() {
                let when: Vec<String> = events
                    .iter()
                    .filter(|e| {
                        &e.policy == policy && &e.object == object && e.kind.as_action().is_some()
                    })
                    .map(|e| format!("{} at {}", action::inline(&e.kind), ago(e.time)))
                    .collect();
                return Err(if when.is_empty() {
                    "no action at all".into()
                } else {
                    format!("no action then; actions: {}", when.join("; "))
                });
            }
            Err(here
                .iter()
                .map(|e| action::inline(&e.kind))
                .collect::<Vec<_>>()
                .join("; "))
        }
        What::NoAction { target, from, to } => {
            let acted: Vec<String> = events
                .iter()
                .filter(|e| e.time >= start + from && e.time <= start + to)
                .filter(|e| {
                    target
                        .as_ref()
                        .is_none_or(|(p, o)| &e.policy == p && &e.object == o)
                })
                .filter(|e| {
                    matches!(
                        e.kind,
                        EventKind::Action {
                            result: ActionResult::Applied | ActionResult::DryRun,
                            ..
                        }
                    )
                })
                .map(|e| {
                    format!(
                        "{} {} {} at {}",
                        e.policy,
                        e.object,
                        action::inline(&e.kind),
                        ago(e.time)
                    )
                })
                .collect();
            if acted.is_empty() {
                Ok(())
            } else {
                Err(acted.join("; "))
            }
        }
    }
}
