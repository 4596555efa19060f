//! Expressions: parsed and checked against the program, evaluated for every
//! object of their kind at the clock, and shown as a table (a value per
//! object) or as which objects a condition matches.

use std::fmt::Write as _;

use super::load::Built;
use super::{INPUT, Session};
use crate::check::{self, CheckedExpr};
use crate::diagnostic::{self, Diagnostic};
use crate::engine::eval::{self, Cx, Val};
use crate::engine::{MetricSource, Object, ObjectId, Sample, Time};
use crate::ir::{self, Kind, MetricId, Type, Value};
use crate::report::{self, elapsed as offset};
use crate::syntax::{self, ast};

impl Session {
    /// Parses and checks `text` as an expression; errors come rendered.
    pub(super) fn typed(&mut self, text: &str) -> Result<(ast::Expr, CheckedExpr), String> {
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
    pub(super) fn kind_of(&self, c: &CheckedExpr) -> Result<Option<Kind>, String> {
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

    pub(super) fn show(&mut self, c: &CheckedExpr) -> String {
        let kind = match self.kind_of(c) {
            Ok(k) => k,
            Err(text) => return text,
        };
        let Some(kind) = kind else {
            return self.show_constant(c);
        };
        if self.live.is_some() {
            return self.show_live(kind, c);
        }
        if self.built.world.is_none() {
            return format!(
                "error: `{}` reads {kind} objects, and there is no scenario to read them from\n  \
                 help: start with `autopilot repl --scenario FILE`, or `--prometheus URL` to read a live Prometheus\n",
                ir::show(&self.built.program, kind, &c.expr)
            );
        }
        let rows = self.evaluate(kind, &c.expr);
        let when = format!("at {}", offset(self.clock));
        let none = format!("no {kind} objects in the scenario\n");
        if rows.is_empty() {
            none
        } else if c.expr.ty == Type::Bool {
            show_condition(&rows, &when)
        } else {
            show_table(kind, &c.expr.ty, &rows, &when)
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
        let metrics = sim.metrics(&world.source);
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
}

/// A value per object; `when` ends the count line.
pub(super) fn show_table(kind: Kind, ty: &Type, rows: &[(ObjectId, Val)], when: &str) -> String {
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
    let _ = writeln!(out, "{} {kind} {when}", rows.len());
    out
}

/// Which objects match; `when` ends the count line.
pub(super) fn show_condition(rows: &[(ObjectId, Val)], when: &str) -> String {
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
        "{} match, {} no match, {} no data, {} errors {when}",
        count(0),
        count(1),
        count(2),
        count(3),
    );
    out
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

fn table<const N: usize>(header: [&str; N], rows: &[[String; N]]) -> String {
    let mut all: Vec<[String; N]> = vec![header.map(String::from)];
    all.extend(rows.iter().cloned());
    table_rows(&all)
}

pub(super) fn table_rows<const N: usize>(rows: &[[String; N]]) -> String {
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

pub(super) fn type_line(c: &CheckedExpr) -> String {
    let mut kinds: Vec<Kind> = c.kinds.iter().map(|(k, _)| *k).collect();
    kinds.dedup();
    match kinds.as_slice() {
        [k] => format!("{}  (one per {k})\n", c.expr.ty),
        _ => format!("{}\n", c.expr.ty),
    }
}
