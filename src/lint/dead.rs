//! Dead code: conditions decided before any object is seen, and `let`s and
//! metrics that nothing reads.

use super::{Cx, Policy, rule};
use crate::diagnostic::Diagnostic;
use crate::ir::{self, BinOp, ExprKind, Value};
use crate::source::Span;
use crate::syntax::ast;
use crate::syntax::visit::{self, Visit};

rule!(
    CONSTANT_CONDITION = "constant-condition",
    Warning,
    "a `when` or `where` condition, or a part of one, that is always true or always false",
    constant_condition
);

rule!(
    UNUSED_LET = "unused-let",
    Warning,
    "a `let` that no policy reads",
    unused_let
);

rule!(
    UNUSED_METRIC = "unused-metric",
    Warning,
    "a `metric` binding that no policy reads",
    unused_metric
);

/// What a condition is whatever the object: `Some(b)` when constants decide
/// it. Three-valued like the engine: `false and <no data>` is false, `true or
/// <no data>` is true, so both are decided.
fn truth(e: &ir::Expr) -> Option<bool> {
    match &e.kind {
        ExprKind::Const(Value::Bool(b)) => Some(*b),
        ExprKind::Not(x) => truth(x).map(|b| !b),
        ExprKind::Binary { op, lhs, rhs } => match op {
            BinOp::And | BinOp::Or => {
                let absorbing = *op == BinOp::Or;
                match (truth(lhs), truth(rhs)) {
                    (Some(a), _) | (_, Some(a)) if a == absorbing => Some(absorbing),
                    (Some(a), Some(b)) => Some(a && b || absorbing && (a || b)),
                    _ => None,
                }
            }
            // Nothing is in an empty list, even when the value is missing.
            BinOp::In => matches!(&rhs.kind, ExprKind::Const(Value::List(l)) if l.is_empty())
                .then_some(false),
            _ => None,
        },
        _ => None,
    }
}

/// The constant operand that decides `e`, for a secondary label.
fn decider(e: &ir::Expr, value: bool) -> Option<Span> {
    match &e.kind {
        ExprKind::Binary {
            op: op @ (BinOp::And | BinOp::Or),
            lhs,
            rhs,
        } => {
            let absorbing = *op == BinOp::Or;
            if value != absorbing {
                return None;
            }
            [lhs, rhs]
                .into_iter()
                .find(|x| truth(x) == Some(value))
                .map(|x| decider(x, value).unwrap_or(x.span))
        }
        ExprKind::Not(x) => decider(x, !value),
        _ => None,
    }
}

/// Where a condition comes from, for the words of the diagnostic.
#[derive(Clone, Copy, PartialEq)]
enum Clause {
    When,
    Where,
}

fn constant_condition(cx: &Cx) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for p in &cx.policies {
        if let Some(filter) = &p.ir.filter {
            find(cx, p, filter, Clause::Where, None, &mut out);
        }
        find(cx, p, &p.ir.condition, Clause::When, None, &mut out);
    }
    out
}

/// Reports the largest decided parts of a condition. `parent` is the `and`
/// or `or` that holds `e`, if any.
fn find(
    cx: &Cx,
    p: &Policy,
    e: &ir::Expr,
    clause: Clause,
    parent: Option<BinOp>,
    out: &mut Vec<Diagnostic>,
) {
    if let Some(value) = truth(e) {
        out.push(report(cx, p, e, value, clause, parent));
        return;
    }
    match &e.kind {
        ExprKind::Binary {
            op: op @ (BinOp::And | BinOp::Or),
            lhs,
            rhs,
        } => {
            find(cx, p, lhs, clause, Some(*op), out);
            find(cx, p, rhs, clause, Some(*op), out);
        }
        ExprKind::Not(x) => find(cx, p, x, clause, None, out),
        _ => {}
    }
}

fn report(
    cx: &Cx,
    p: &Policy,
    e: &ir::Expr,
    value: bool,
    clause: Clause,
    parent: Option<BinOp>,
) -> Diagnostic {
    let keyword = match clause {
        Clause::When => "when",
        Clause::Where => "where",
    };
    let title = p.title(cx.sources);
    let (message, help) = match (parent, clause, value) {
        (Some(op), _, _) => (
            format!("this part of the `{keyword}` condition is always {value}"),
            format!(
                "`x {} {value}` is just `x`: remove this part, or make it depend on the object",
                op.symbol()
            ),
        ),
        (None, Clause::When, true) => (
            "the `when` condition is always true".to_string(),
            format!(
                "{title} acts on every object it selects, once per cooldown; if that is meant, \
                 say so with `when true` and disable this rule for the line"
            ),
        ),
        (None, Clause::When, false) => (
            "the `when` condition is always false".to_string(),
            format!("{title} never acts; remove it, or fix the condition"),
        ),
        (None, Clause::Where, true) => (
            "the `where` filter is always true".to_string(),
            format!("{title} selects every object of its kind; remove `where …`"),
        ),
        (None, Clause::Where, false) => (
            "the `where` filter is always false".to_string(),
            format!("{title} selects no object and never acts"),
        ),
    };
    let mut d = CONSTANT_CONDITION
        .diag(e.span, message)
        .label(format!("always {value}"))
        .help(help);
    if let Some(at) = decider(e, value)
        && at != e.span
    {
        d = d.also(at, format!("always {value}, which decides it"));
    }
    d
}

fn unused_let(cx: &Cx) -> Vec<Diagnostic> {
    cx.unused
        .iter()
        .filter_map(|(what, span)| {
            let name = what.strip_prefix("let ")?;
            Some(
                UNUSED_LET
                    .diag(*span, format!("`{name}` is never read"))
                    .label("unused")
                    .help(format!(
                        "remove `let {name}`, or use it. Lets are shared across files: lint the \
                         files of a policy set together, or a `let` read only by another file \
                         looks unused"
                    )),
            )
        })
        .collect()
}

fn unused_metric(cx: &Cx) -> Vec<Diagnostic> {
    cx.unused
        .iter()
        .filter_map(|(what, span)| {
            let name = what.strip_prefix("metric ")?;
            // The checker counts reads of policies that checked; with errors
            // about, a read in a broken policy still counts as a use.
            if cx.has_errors && mentioned(cx, name) {
                return None;
            }
            Some(
                UNUSED_METRIC
                    .diag(
                        name_span(cx, *span).unwrap_or(*span),
                        format!("metric `{name}` is never read"),
                    )
                    .label("unused binding")
                    .help(
                        "nothing reads this binding, yet it reads as if a policy depended on it; \
                         remove it, or use it in a condition. Bindings are shared across files: \
                         lint the files of a policy set together",
                    ),
            )
        })
        .collect()
}

/// `KIND.NAME` of the `metric` item at `span`.
fn name_span(cx: &Cx, span: Span) -> Option<Span> {
    cx.files.iter().find_map(|(_, f)| {
        f.items.iter().find_map(|item| match item {
            ast::Item::Metric(m) if m.span == span => Some(m.kind.span.to(m.name.span)),
            _ => None,
        })
    })
}

/// Whether a path in the user files names `kind.name`.
fn mentioned(cx: &Cx, qualified: &str) -> bool {
    let Some((kind, name)) = qualified.split_once('.') else {
        return false;
    };
    let mut reads = Reads {
        kind,
        name,
        found: false,
    };
    for (_, file) in &cx.files {
        reads.visit_file(file);
    }
    reads.found
}

/// Finds a path `kind.name…` where a policy reads: lets, filters,
/// conditions and action arguments.
struct Reads<'q> {
    kind: &'q str,
    name: &'q str,
    found: bool,
}

impl Visit for Reads<'_> {
    fn visit_item(&mut self, item: &ast::Item) {
        // A series in a test block feeds a metric; it does not read it.
        if !matches!(item, ast::Item::Metric(_) | ast::Item::Test(_)) {
            visit::visit_item(self, item);
        }
    }

    fn visit_clause(&mut self, c: &ast::Clause) {
        if matches!(
            c.kind,
            ast::ClauseKind::On { .. } | ast::ClauseKind::When(_) | ast::ClauseKind::Then(_)
        ) {
            visit::visit_clause(self, c);
        }
    }

    fn visit_when(&mut self, w: &ast::When) {
        self.visit_expr(&w.condition);
    }

    fn visit_path(&mut self, path: &ast::Path) {
        let segs = &path.segments;
        self.found |= segs.len() >= 2
            && (segs[0].name.as_str(), segs[1].name.as_str()) == (self.kind, self.name);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::{Expr, Type};
    use crate::source::FileId;

    fn span(n: u32) -> Span {
        Span {
            file: FileId(0),
            start: n,
            end: n + 1,
        }
    }

    fn c(b: bool, at: u32) -> Expr {
        Expr {
            kind: ExprKind::Const(Value::Bool(b)),
            ty: Type::Bool,
            span: span(at),
        }
    }

    fn unknown(at: u32) -> Expr {
        Expr {
            kind: ExprKind::Metric(ir::MetricId(0)),
            ty: Type::Bool,
            span: span(at),
        }
    }

    fn bin(op: BinOp, l: Expr, r: Expr) -> Expr {
        Expr {
            kind: ExprKind::Binary {
                op,
                lhs: Box::new(l),
                rhs: Box::new(r),
            },
            ty: Type::Bool,
            span: span(100),
        }
    }

    #[test]
    fn three_valued_truth() {
        assert_eq!(truth(&bin(BinOp::Or, unknown(0), c(true, 1))), Some(true));
        assert_eq!(
            truth(&bin(BinOp::And, c(false, 0), unknown(1))),
            Some(false)
        );
        assert_eq!(truth(&bin(BinOp::And, unknown(0), c(true, 1))), None);
        assert_eq!(truth(&bin(BinOp::Or, unknown(0), c(false, 1))), None);
        assert_eq!(
            truth(&bin(BinOp::Or, c(false, 0), c(false, 1))),
            Some(false)
        );
        assert_eq!(truth(&bin(BinOp::And, c(true, 0), c(true, 1))), Some(true));
        let not = Expr {
            kind: ExprKind::Not(Box::new(bin(BinOp::And, unknown(0), c(false, 7)))),
            ty: Type::Bool,
            span: span(200),
        };
        assert_eq!(truth(&not), Some(true));
        assert_eq!(decider(&not, true), Some(span(7)));
    }
}
