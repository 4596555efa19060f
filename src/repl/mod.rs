//! The REPL's backend: a [`Session`] takes one complete input and returns
//! the text to show. No terminal, no I/O besides `:load` reading files, so
//! it is tested directly; `src/cli/repl.rs` is the rustyline front-end.
//!
//! Expressions are evaluated per object of their kind in the scenario's
//! simulated world at the session's clock. The world at the clock is what
//! `simulate` would have made of it: the same [`Sim`] runs every tick up to
//! the clock, actions applied.

mod complete;
pub mod pending;

use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::Arc;

use crate::check::{self, Change, CheckedExpr};
use crate::compile::{self, Compiled};
use crate::diagnostic::{self, Diagnostic, Style, did_you_mean};
use crate::engine::eval::{self, Cx, Val};
use crate::engine::{MetricSource, Object, ObjectId, Phase, Sample, Time};
use crate::ir::{self, Kind, MetricId, Program, Type, Value};
use crate::report::{self, elapsed as offset};
use crate::sim::ScenarioSource;
use crate::sim::run::Sim;
use crate::sim::scenario::{self, Scenario};
use crate::syntax::{self, ast};

/// The name of the REPL's input in diagnostics.
pub const INPUT: &str = "<repl>";

/// The `:commands`, for `:help` and completion.
pub const COMMANDS: [(&str, &str); 8] = [
    (
        ":load FILE",
        "load policies from a file or directory (more files)",
    ),
    (":type EXPR", "show the type of an expression"),
    (
        ":explain EXPR",
        "show the typed expression and the PromQL of each binding it reads",
    ),
    (
        ":at [TIME]",
        "move the scenario clock to TIME after its start (rounded down to a step)",
    ),
    (
        ":policies",
        "list the policies and the state of each object at the clock",
    ),
    (":help", "this help"),
    (":quit", "leave (also Ctrl-D)"),
    (":q", "leave"),
];

/// Why a session could not start.
#[derive(Debug)]
pub enum StartError {
    /// The policies have errors (exit code 1); rendered diagnostics.
    Policies(String),
    /// The scenario cannot be loaded (exit code 2); rendered diagnostics.
    Scenario(String),
}

/// A scenario and its series, resolved against the program.
struct World {
    scenario: Scenario,
    source: ScenarioSource,
}

/// Everything loaded: the compiled files, the program, the scenario.
struct Built {
    /// The files' sources and trees; `checked` is as of the last load, the
    /// program since then is `program`.
    compiled: Compiled,
    /// What the files declared, to check typed items and expressions.
    checker: check::Incremental,
    program: Arc<Program>,
    world: Option<World>,
    /// Rendered warnings of the files.
    warnings: String,
}

/// One REPL session.
pub struct Session {
    /// User files, `(name, text)`: loaded ones and items typed at the prompt.
    files: Vec<(String, String)>,
    scenario_file: Option<(String, String)>,
    built: Built,
    /// Time after the scenario's start, milliseconds, a step multiple.
    clock: Time,
    /// The simulation run up to the clock; made when first needed.
    sim: Option<Sim>,
    style: Style,
    done: bool,
}

impl Session {
    /// Compiles `files` and loads the scenario `(name, text)`, if any.
    pub fn new(
        files: Vec<(String, String)>,
        scenario_file: Option<(String, String)>,
        style: Style,
    ) -> Result<Session, StartError> {
        let built = build(&files, scenario_file.as_ref(), style)?;
        Ok(Session {
            files,
            scenario_file,
            built,
            clock: 0,
            sim: None,
            style,
            done: false,
        })
    }

    /// Warnings of the loaded files, to show at start.
    pub fn warnings(&self) -> &str {
        &self.built.warnings
    }

    /// Whether `:quit` was given.
    pub fn is_done(&self) -> bool {
        self.done
    }

    /// What to show on a terminal before the first prompt.
    pub fn banner(&self) -> String {
        let policies = self.built.program.policies.len();
        let world = match &self.built.world {
            Some(w) => format!(
                "scenario {}, {} objects, clock at {}",
                self.scenario_file.as_ref().map_or("", |(n, _)| n.as_str()),
                w.scenario.objects.len(),
                offset(self.clock)
            ),
            None => "no scenario".into(),
        };
        format!("autopilot repl: {policies} policies, {world}. `:help` for help.\n")
    }

    /// Evaluates one complete input: a `:command`, an expression or items.
    pub fn eval_line(&mut self, input: &str) -> String {
        let trimmed = input.trim();
        if trimmed.is_empty() || is_only_comments(trimmed) {
            return String::new();
        }
        if let Some(command) = trimmed.strip_prefix(':') {
            let (name, arg) = command
                .split_once(char::is_whitespace)
                .map_or((command, ""), |(n, a)| (n, a.trim()));
            return self.command(name, arg);
        }
        if syntax::parse::starts_item(input) {
            return self.define(input);
        }
        match self.typed(input) {
            Ok((_, c)) => self.show(&c),
            Err(text) => text,
        }
    }

    /// Moves the clock; the result says where it went.
    pub fn set_clock(&mut self, arg: &str) -> Result<String, String> {
        let Some(world) = &self.built.world else {
            return Err(
                "error: there is no scenario, so there is no clock; start with `--scenario FILE`\n"
                    .into(),
            );
        };
        let (step, duration) = (world.scenario.step, world.scenario.duration);
        let (_, c) = self.typed(arg)?;
        let secs = match (&c.expr.ty, ir::eval_const(&c.expr)) {
            (Type::Duration, Some(Value::Num(s))) => s,
            (ty, _) => {
                return Err(format!(
                    "error: `:at` takes a duration after the scenario's start, like `10m`, not a {ty}\n"
                ));
            }
        };
        let ms = (secs * 1000.0).round() as Time;
        if ms < 0 || ms > duration {
            return Err(format!(
                "error: the scenario runs from 0s to {}; `{}` is outside it\n",
                offset(duration),
                arg.trim()
            ));
        }
        let at = ms / step * step;
        self.clock = at;
        self.sim = None;
        let mut out = format!("clock at {}", offset(at));
        if at != ms {
            let _ = write!(
                out,
                " (rounded down to a multiple of the step, {})",
                offset(step)
            );
        }
        out.push('\n');
        Ok(out)
    }

    fn command(&mut self, name: &str, arg: &str) -> String {
        match name {
            "help" | "h" | "?" => help(),
            "quit" | "q" | "exit" => {
                self.done = true;
                String::new()
            }
            "load" | "l" => self.load(arg),
            "type" | "t" => match self.typed(arg) {
                Ok((_, c)) => type_line(&c),
                Err(text) => text,
            },
            "explain" | "e" => match self.typed(arg) {
                Ok((_, c)) => self.explain(&c),
                Err(text) => text,
            },
            "at" if arg.is_empty() => match &self.built.world {
                Some(w) => format!(
                    "clock at {} (step {}, the scenario ends at {})\n",
                    offset(self.clock),
                    offset(w.scenario.step),
                    offset(w.scenario.duration)
                ),
                None => "there is no scenario, so there is no clock\n".into(),
            },
            "at" => self.set_clock(arg).unwrap_or_else(|e| e),
            "policies" | "p" => self.policies(),
            _ => {
                let names = COMMANDS.iter().map(|(c, _)| {
                    let c = c.split(' ').next().unwrap_or(c);
                    &c[1..]
                });
                let help = did_you_mean(name, names)
                    .map(|h| format!(" ({h})"))
                    .unwrap_or_default();
                format!("error: unknown command `:{name}`{help}; `:help` lists the commands\n")
            }
        }
    }

    // ------------------------------------------------------------ loading

    fn load(&mut self, arg: &str) -> String {
        if arg.is_empty() {
            return "error: `:load` needs a file or directory, e.g. `:load policies/`\n".into();
        }
        let new = match compile::read_paths(&[PathBuf::from(arg)]) {
            Ok(files) => files,
            Err(e) => return format!("error: {e}\n"),
        };
        let mut files = self.files.clone();
        let mut added = 0;
        for (name, text) in new.into_iter().map(compile::Loaded::into_named) {
            if files.iter().any(|(n, _)| *n == name) {
                continue;
            }
            files.push((name, text));
            added += 1;
        }
        if added == 0 {
            return format!("{arg}: already loaded\n");
        }
        let before = self.built.program.policies.len();
        match self.rebuild(files) {
            Ok(warnings) => format!(
                "{warnings}loaded {added} file(s): {} policies now ({} new)\n",
                self.built.program.policies.len(),
                self.built.program.policies.len().saturating_sub(before)
            ),
            Err(text) => format!("{text}not loaded: {arg} has problems\n"),
        }
    }

    /// `let`, `metric`, `policy` or rules typed at the prompt join the program.
    fn define(&mut self, input: &str) -> String {
        let before = self.built.program.policies.len();
        match self.add_item(input) {
            Ok(warnings) => {
                let now = self.built.program.policies.len();
                let mut out = warnings;
                if now > before {
                    let _ = writeln!(out, "{} policy(ies) added", now - before);
                } else {
                    out.push_str("defined\n");
                }
                out
            }
            Err(text) => text,
        }
    }

    /// Adds one typed item to the program without parsing or checking the
    /// earlier ones again: their trees are kept (a [`SourceMap`] only grows,
    /// so their file ids stay) and so is what they declared
    /// ([`check::Incremental`]); the new item alone is parsed and checked.
    /// On problems the session stays as it was.
    ///
    /// [`SourceMap`]: crate::source::SourceMap
    fn add_item(&mut self, input: &str) -> Result<String, String> {
        let style = self.style;
        let render = |c: &Compiled, d: &[Diagnostic]| diagnostic::render_all(&c.sources, d, style);
        let Built {
            compiled: c,
            checker,
            program,
            world,
            warnings,
        } = &mut self.built;
        let id = c.sources.add(INPUT, input.to_string());
        let (ast, parse_diags) = syntax::parse(id, input);
        if parse_diags.iter().any(Diagnostic::is_error) {
            let mut all: Vec<Diagnostic> = c.diagnostics.clone();
            all.extend(parse_diags);
            all.sort_by_key(|d| d.primary.span);
            return Err(render(c, &all));
        }
        // What `compile` of all the files would give: the earlier files'
        // diagnostics (none are errors), the new parse ones and the check's.
        let added = match checker.add(&c.sources, &c.files, id, &ast) {
            Ok(added) => added,
            Err(check_diags) => {
                let mut all = c.diagnostics.clone();
                all.extend(parse_diags);
                all.extend(check_diags);
                all.sort_by_key(|d| d.primary.span);
                return Err(render(c, &all));
            }
        };
        let mut diagnostics: Vec<Diagnostic> = match added.change {
            Change::Append { .. } => c.diagnostics.clone(),
            Change::Whole(_) => c
                .diagnostics
                .iter()
                .filter(|d| d.code.starts_with("apr::parse::"))
                .cloned()
                .collect(),
        };
        diagnostics.extend(parse_diags);
        diagnostics.extend(added.diagnostics.iter().cloned());
        diagnostics.sort_by_key(|d| d.primary.span);
        if !added.is_empty() {
            // The simulation holds the program; without it the program is
            // changed in place rather than copied.
            self.sim = None;
            let before = extend(program, &added.change);
            if let Some(sf) = &self.scenario_file {
                match load_world(c, program, sf) {
                    Ok(w) => *world = Some(w),
                    Err(diags) => {
                        before.restore(program);
                        checker.revert(added);
                        return Err(render(c, &diags));
                    }
                }
            }
        }
        c.files.push((id, ast));
        c.diagnostics = diagnostics;
        *warnings = render(c, &c.diagnostics);
        self.files.push((INPUT.to_string(), input.to_string()));
        Ok(warnings.clone())
    }

    /// Rebuilds from `files`; on problems the session stays as it was.
    fn rebuild(&mut self, files: Vec<(String, String)>) -> Result<String, String> {
        match build(&files, self.scenario_file.as_ref(), self.style) {
            Ok(built) => {
                let warnings = built.warnings.clone();
                self.built = built;
                self.files = files;
                self.sim = None;
                Ok(warnings)
            }
            Err(StartError::Policies(text) | StartError::Scenario(text)) => Err(text),
        }
    }

    // ------------------------------------------------------------ checking

    /// Parses and checks `text` as an expression; errors come rendered.
    fn typed(&mut self, text: &str) -> Result<(ast::Expr, CheckedExpr), String> {
        if text.trim().is_empty() {
            return Err("error: expected an expression, e.g. `pvc.usage > 80%`\n".into());
        }
        let Built {
            compiled: c,
            checker,
            ..
        } = &mut self.built;
        let file = c.sources.add(INPUT, text.to_string());
        let checked = syntax::parse::parse_expr(file, text)
            .and_then(|e| checker.check_expr(&c.sources, &e).map(|x| (e, x)));
        checked.map_err(|diags| self.render(&diags))
    }

    fn render(&self, diags: &[Diagnostic]) -> String {
        if diags.is_empty() {
            return "error: the expression uses a definition that has errors\n".into();
        }
        diagnostic::render_all(&self.built.compiled.sources, diags, self.style)
    }

    /// The one kind the expression is about; None for constants.
    fn kind_of(&self, c: &CheckedExpr) -> Result<Option<Kind>, String> {
        let mut kinds: Vec<(Kind, _)> = Vec::new();
        for &(k, s) in &c.kinds {
            if !kinds.iter().any(|(u, _)| *u == k) {
                kinds.push((k, s));
            }
        }
        match kinds.as_slice() {
            [] => match c.namespace {
                Some(span) => Err(self.render(&[Diagnostic::error(
                    check::codes::NO_KIND,
                    span,
                    "`namespace.…` is the namespace of an object, and no object is named",
                )
                .label("whose namespace?")
                .help("read it along with a kind, e.g. `pvc.name == \"x\" and namespace.labels.tier == \"db\"`")])),
                None => Ok(None),
            },
            [(k, _)] => Ok(Some(*k)),
            [(a, sa), (b, sb), ..] => Err(self.render(&[Diagnostic::error(
                check::codes::AMBIGUOUS_KIND,
                *sb,
                format!("the expression reads both {a} and {b}"),
            )
            .label(format!("a {b}"))
            .also(*sa, format!("a {a}"))
            .help("an expression is evaluated per object of one kind; split it")])),
        }
    }

    // ------------------------------------------------------------ showing

    fn show(&mut self, c: &CheckedExpr) -> String {
        let kind = match self.kind_of(c) {
            Ok(k) => k,
            Err(text) => return text,
        };
        let Some(kind) = kind else {
            return self.show_constant(c);
        };
        if self.built.world.is_none() {
            return format!(
                "error: `{}` reads {kind} objects, and there is no scenario to read them from\n  \
                 help: start with `autopilot repl --scenario FILE`; a live Prometheus is not supported yet\n",
                ir::show(&self.built.program, kind, &c.expr)
            );
        }
        let rows = self.evaluate(kind, &c.expr);
        if c.expr.ty == Type::Bool {
            self.show_condition(kind, &rows)
        } else {
            self.show_table(kind, &c.expr.ty, &rows)
        }
    }

    fn show_constant(&self, c: &CheckedExpr) -> String {
        let object = Object::new(ObjectId::new(Kind::Pvc, Some("default"), ""));
        let cx = Cx {
            program: &self.built.program,
            object: &object,
            namespace: None,
            metrics: &NoMetrics,
            t: self.now(),
            cache: None,
        };
        let v = eval::eval(&c.expr, &cx);
        match v {
            Val::Error(e) => format!("error: {e}\n"),
            v => format!("{}  ({})\n", show_val(&c.expr.ty, &v), c.expr.ty),
        }
    }

    /// The expression for every object of `kind` at the clock, by id.
    fn evaluate(&mut self, kind: Kind, expr: &ir::Expr) -> Vec<(ObjectId, Val)> {
        let t = self.now();
        self.ensure_sim();
        let (Some(world), Some(sim)) = (&self.built.world, &self.sim) else {
            return Vec::new();
        };
        let mut objects: Vec<Object> = sim
            .world
            .objects()
            .into_iter()
            .filter(|o| o.id.kind == kind)
            .collect();
        objects.sort_by(|a, b| a.id.cmp(&b.id));
        let metrics = sim.world.metrics(&world.source);
        objects
            .iter()
            .map(|o| {
                let namespace =
                    o.id.namespace
                        .as_ref()
                        .and_then(|n| sim.world.namespaces().get(n));
                let cx = Cx {
                    program: &self.built.program,
                    object: o,
                    namespace,
                    metrics: &metrics,
                    t,
                    cache: None,
                };
                (o.id.clone(), eval::eval(expr, &cx))
            })
            .collect()
    }

    fn show_table(&self, kind: Kind, ty: &Type, rows: &[(ObjectId, Val)]) -> String {
        if rows.is_empty() {
            return format!("no {kind} objects in the scenario\n");
        }
        let cells: Vec<[String; 3]> = rows
            .iter()
            .map(|(id, v)| {
                let unit = match v {
                    Val::Value(_) => ty.to_string(),
                    _ => String::new(),
                };
                [id.to_string(), show_val(ty, v), unit]
            })
            .collect();
        let mut out = table(["object", "value", "unit"], &cells);
        let _ = writeln!(out, "{} {kind} at {}", rows.len(), offset(self.clock));
        out
    }

    fn show_condition(&self, kind: Kind, rows: &[(ObjectId, Val)]) -> String {
        if rows.is_empty() {
            return format!("no {kind} objects in the scenario\n");
        }
        let group = |v: &Val| match v {
            Val::Value(Value::Bool(true)) => 0,
            Val::Value(_) => 1,
            Val::NoData => 2,
            Val::Error(_) => 3,
        };
        let mut sorted: Vec<&(ObjectId, Val)> = rows.iter().collect();
        sorted.sort_by_key(|(id, v)| (group(v), id.clone()));
        let cells: Vec<[String; 2]> = sorted
            .iter()
            .map(|(id, v)| {
                let result = match v {
                    Val::Value(Value::Bool(true)) => "match".to_string(),
                    Val::Value(_) => "no match".to_string(),
                    Val::NoData => "no data".to_string(),
                    Val::Error(e) => format!("error: {e}"),
                };
                [id.to_string(), result]
            })
            .collect();
        let mut out = table(["object", "condition"], &cells);
        let count = |g| rows.iter().filter(|(_, v)| group(v) == g).count();
        let _ = writeln!(
            out,
            "{} match, {} no match, {} no data, {} errors at {}",
            count(0),
            count(1),
            count(2),
            count(3),
            offset(self.clock)
        );
        out
    }

    fn explain(&self, c: &CheckedExpr) -> String {
        let kind = match self.kind_of(c) {
            Ok(k) => k,
            Err(text) => return text,
        };
        let program = &self.built.program;
        let shown = ir::show(program, kind.unwrap_or(Kind::Pvc), &c.expr);
        let mut out = format!("{shown} : {}\n", c.expr.ty);
        if c.metrics.is_empty() {
            out.push_str("reads no metric binding: no PromQL is sent\n");
        }
        for id in &c.metrics {
            let m = program.metric(*id);
            let _ = writeln!(
                out,
                "{} : {}  by ({})  from {}",
                m.qualified(),
                m.ty,
                m.join.join(", "),
                self.built.compiled.sources.location(m.span)
            );
            for line in m.promql.lines() {
                let _ = writeln!(out, "  {line}");
            }
        }
        out
    }

    fn policies(&mut self) -> String {
        let program = Arc::clone(&self.built.program);
        if program.policies.is_empty() {
            return "no policies loaded; `:load FILE` loads some\n".into();
        }
        self.ensure_sim();
        let mut out = String::new();
        if self.sim.is_none() {
            out.push_str("(no scenario: states need one; `--scenario FILE`)\n");
        }
        for p in &program.policies {
            let mode = match p.mode {
                ir::Mode::Enforce => "enforce",
                ir::Mode::DryRun => "dry_run",
                ir::Mode::Approve => "approve",
            };
            let _ = writeln!(out, "{}  (on {}, for {}, {mode})", p.name, p.kind, p.hold);
            let Some(sim) = &self.sim else { continue };
            let mut ids: Vec<ObjectId> = sim
                .world
                .objects()
                .into_iter()
                .filter(|o| o.id.kind == p.kind)
                .map(|o| o.id)
                .collect();
            ids.sort();
            let start = self.start();
            let cells: Vec<[String; 3]> = ids
                .into_iter()
                .map(|id| {
                    let state = match sim.engine.phase(&p.name, &id) {
                        Phase::Pending { since } => {
                            format!("pending since {}", offset(since - start))
                        }
                        Phase::AwaitingApproval { since } => {
                            format!("awaiting_approval since {}", offset(since - start))
                        }
                        Phase::Cooldown { until } => {
                            format!("cooldown until {}", offset(until - start))
                        }
                        phase => phase.name().to_string(),
                    };
                    let last = sim
                        .events
                        .iter()
                        .rev()
                        .filter(|e| e.policy == p.name && e.object == id)
                        .find_map(|e| report::action::last(&e.kind, e.time - start))
                        .unwrap_or_default();
                    [format!("  {id}"), state, last]
                })
                .collect();
            if cells.is_empty() {
                let _ = writeln!(out, "  no {} objects in the scenario", p.kind);
            } else {
                out.push_str(&table_rows(&cells));
            }
        }
        if self.sim.is_some() {
            let _ = writeln!(out, "states at {}", offset(self.clock));
        }
        out
    }

    // ------------------------------------------------------------ the clock

    fn start(&self) -> Time {
        self.built.world.as_ref().map_or(0, |w| w.scenario.start)
    }

    fn now(&self) -> Time {
        self.start() + self.clock
    }

    /// Runs the simulation up to the clock, once per clock and program.
    fn ensure_sim(&mut self) {
        if self.sim.is_some() {
            return;
        }
        let Some(world) = &self.built.world else {
            return;
        };
        let now = self.now();
        let mut sim = Sim::new(Arc::clone(&self.built.program), &world.scenario, &[]);
        for t in world.scenario.ticks().take_while(|t| *t <= now) {
            sim.tick(t, &world.source);
        }
        self.sim = Some(sim);
    }

    /// Candidates for the word before `pos`: see [`complete`].
    pub fn complete(&self, line: &str, pos: usize) -> (usize, Vec<String>) {
        complete::complete(self, line, pos)
    }

    fn let_names(&self) -> Vec<String> {
        let mut out = Vec::new();
        for (_, file) in &self.built.compiled.files {
            for item in &file.items {
                if let ast::Item::Let(l) = item {
                    out.push(l.name.name.clone());
                }
            }
        }
        out
    }

    fn metric_names(&self, kind: Kind) -> Vec<String> {
        self.built
            .program
            .metrics
            .iter()
            .filter(|m| m.kind == kind)
            .map(|m| m.name.clone())
            .collect()
    }
}

/// The scenario `(name, text)` loaded against `program`.
fn load_world(
    compiled: &mut Compiled,
    program: &Program,
    (name, text): &(String, String),
) -> Result<World, Vec<Diagnostic>> {
    let file = compiled.sources.add(name.clone(), text.clone());
    scenario::parse(file, text).and_then(|mut s| {
        let mut diags = s.check(program);
        match ScenarioSource::new(&s, program) {
            Ok(source) if diags.is_empty() => Ok(World {
                scenario: s,
                source,
            }),
            Ok(_) => Err(diags),
            Err(more) => {
                diags.extend(more);
                diags.sort_by_key(|d| d.primary.span);
                Err(diags)
            }
        }
    })
}

fn build(
    files: &[(String, String)],
    scenario_file: Option<&(String, String)>,
    style: Style,
) -> Result<Built, StartError> {
    let (mut compiled, checker) = compile::compile_incremental(files.to_vec());
    let render = |c: &Compiled, d: &[Diagnostic]| diagnostic::render_all(&c.sources, d, style);
    if compiled.has_errors() {
        return Err(StartError::Policies(render(
            &compiled,
            &compiled.diagnostics,
        )));
    }
    let warnings = render(&compiled, &compiled.diagnostics);
    let program = Arc::new(std::mem::take(&mut compiled.checked.program));
    let world = match scenario_file {
        None => None,
        Some(sf) => match load_world(&mut compiled, &program, sf) {
            Ok(w) => Some(w),
            Err(diags) => return Err(StartError::Scenario(render(&compiled, &diags))),
        },
    };
    Ok(Built {
        compiled,
        checker,
        program,
        world,
        warnings,
    })
}

/// The program before [`extend`], to go back to.
enum Before {
    Lengths { policies: usize, metrics: usize },
    Program(Arc<Program>),
}

impl Before {
    fn restore(self, program: &mut Arc<Program>) {
        match self {
            Before::Lengths { policies, metrics } => {
                let p = Arc::make_mut(program);
                p.policies.truncate(policies);
                p.metrics.truncate(metrics);
            }
            Before::Program(before) => *program = before,
        }
    }
}

/// Applies `change` to `program`, in place when no one else holds it.
fn extend(program: &mut Arc<Program>, change: &Change) -> Before {
    match change {
        Change::Append { policies, metrics } => {
            let p = Arc::make_mut(program);
            let before = Before::Lengths {
                policies: p.policies.len(),
                metrics: p.metrics.len(),
            };
            p.policies.extend(policies.iter().cloned());
            p.metrics.extend(metrics.iter().cloned());
            before
        }
        Change::Whole(whole) => {
            Before::Program(std::mem::replace(program, Arc::new(whole.clone())))
        }
    }
}

/// Metrics when there is no scenario: constants read none.
struct NoMetrics;

impl MetricSource for NoMetrics {
    fn sample(&self, _: MetricId, _: &ObjectId, _: Time) -> Sample {
        Sample::Missing
    }
}

fn show_val(ty: &Type, v: &Val) -> String {
    match v {
        Val::Error(e) => format!("error: {e}"),
        Val::Value(Value::Str(s)) => format!("{s:?}"),
        v => eval::display(ty, v),
    }
}

fn type_line(c: &CheckedExpr) -> String {
    let mut kinds: Vec<Kind> = c.kinds.iter().map(|(k, _)| *k).collect();
    kinds.dedup();
    match kinds.as_slice() {
        [k] => format!("{}  (one per {k})\n", c.expr.ty),
        _ => format!("{}\n", c.expr.ty),
    }
}

fn is_only_comments(text: &str) -> bool {
    text.lines()
        .all(|l| l.trim().is_empty() || l.trim_start().starts_with('#'))
}

fn table<const N: usize>(header: [&str; N], rows: &[[String; N]]) -> String {
    let mut all: Vec<[String; N]> = vec![header.map(String::from)];
    all.extend(rows.iter().cloned());
    table_rows(&all)
}

fn table_rows<const N: usize>(rows: &[[String; N]]) -> String {
    let mut widths = [0usize; N];
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in rows {
        let mut line = String::new();
        for (i, cell) in row.iter().enumerate() {
            if i + 1 == N {
                line.push_str(cell);
            } else {
                // A long cell overflows its column; `{:w$}` panics past u16.
                let _ = write!(line, "{cell:<w$}  ", w = widths[i].min(report::MAX_COLUMN));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

fn help() -> String {
    let mut out = String::from(
        "Type an expression to evaluate it for every object of its kind at the clock:\n  \
         pvc.usage            a table: object, value, unit\n  \
         pvc.usage > 50%      a condition: which objects match, which do not, which have no data\n  \
         50% * 10Gi           no object: evaluated once\n\
         `let`, `metric`, `policy` and `when … then …` typed here join the loaded policies.\n\
         Input continues on the next line while it is incomplete (an open bracket, a trailing operator).\n\n\
         Commands:\n",
    );
    for (c, what) in COMMANDS.iter().filter(|(c, _)| *c != ":q") {
        let _ = writeln!(out, "  {c:<15} {what}");
    }
    out.push_str(
        "\nThe clock starts at the scenario's start (or `--at TIME`); `:at` rounds down to a \
         multiple of the scenario's step.\n\
         Without `--scenario` only expressions without objects evaluate; reading a live \
         Prometheus is future work.\n\
         History is kept in $XDG_STATE_HOME/autopilot/history, or ~/.autopilot_history when \
         XDG_STATE_HOME is not set. Tab completes kinds, fields, metrics, actions and commands.\n",
    );
    out
}

#[cfg(test)]
mod tests;
