//! Thresholds: comparisons that the range of a metric decides in advance.
//!
//! Only percent metrics known to be shares of a whole are read as 0–100%:
//! those of the standard library (`pvc.usage`, `pvc.inodes_usage`,
//! `node.cpu`, `node.memory`, `node.disk_usage`, each a used part of a
//! capacity), and user metrics whose query is a ratio `a / b` (or a positive
//! constant times one, `100 * a / b`) whose numerator takes no difference.
//! A user percent may as well be a deviation (`100 * (a - b) / b`), a
//! growth or a share of a request, which leave 0–100% by design.

use std::collections::HashSet;
use std::convert::Infallible;

use promql_parser::parser::token::{T_DIV, T_MUL, T_SUB};
use promql_parser::parser::{self, Expr};
use promql_parser::util::{ExprVisitor, walk_expr};

use super::{Cx, rule};
use crate::diagnostic::Diagnostic;
use crate::ir::{self, BinOp, ExprKind, Func, MetricId, Type, Value};

rule!(
    PERCENT_OUT_OF_RANGE = "percent-out-of-range",
    Warning,
    "a share-of-a-whole percent metric (stdlib, or a user `a / b`) compared with a threshold outside 0–100%",
    percent_out_of_range
);

fn percent_out_of_range(cx: &Cx) -> Vec<Diagnostic> {
    let shares: HashSet<MetricId> = (0..cx.program.metrics.len() as u32)
        .map(MetricId)
        .filter(|id| is_share(cx.program.metric(*id)))
        .collect();
    let cx = &Shares { cx, shares };
    let mut out = Vec::new();
    for p in &cx.cx.policies {
        for e in p.ir.filter.iter().chain([&p.ir.condition]) {
            out.extend(e.nodes().filter_map(|node| check(cx, p.ir.kind, node)));
        }
    }
    out
}

/// What the rule reads, with the metrics that are shares of a whole.
struct Shares<'a, 'b> {
    cx: &'b Cx<'a>,
    shares: HashSet<MetricId>,
}

/// A percent metric that stays in 0–100%: a standard one, or a user ratio.
fn is_share(m: &ir::Metric) -> bool {
    m.ty == Type::Percent && (m.stdlib || parser::parse(&m.promql).is_ok_and(|e| is_ratio(&e)))
}

/// `a / b`, `100 * a / b` or `a / b * 100`, parentheses aside, whose
/// numerator `a` takes no difference.
fn is_ratio(e: &Expr) -> bool {
    match e {
        Expr::Paren(p) => is_ratio(&p.expr),
        Expr::Binary(b) if b.op.id() == T_DIV => match strip(&b.lhs) {
            // `100 * a / b` parses as `(100 * a) / b`.
            Expr::Binary(m) if m.op.id() == T_MUL && positive(&m.lhs) => !takes_difference(&m.rhs),
            lhs => !takes_difference(lhs),
        },
        Expr::Binary(b) if b.op.id() == T_MUL => {
            positive(&b.lhs) && is_ratio(&b.rhs) || positive(&b.rhs) && is_ratio(&b.lhs)
        }
        _ => false,
    }
}

fn strip(e: &Expr) -> &Expr {
    match e {
        Expr::Paren(p) => strip(&p.expr),
        _ => e,
    }
}

fn positive(e: &Expr) -> bool {
    matches!(strip(e), Expr::NumberLiteral(n) if n.val > 0.0)
}

/// Functions whose value is a difference, so may be negative.
const DIFFERENCES: [&str; 4] = ["delta", "idelta", "deriv", "predict_linear"];

/// Whether `e` subtracts, negates (`-a`, `-1`) or takes a difference over
/// time anywhere.
fn takes_difference(e: &Expr) -> bool {
    struct Finds(bool);
    impl ExprVisitor for Finds {
        type Error = Infallible;
        fn pre_visit(&mut self, e: &Expr) -> Result<bool, Infallible> {
            self.0 |= match e {
                Expr::Binary(b) => b.op.id() == T_SUB,
                Expr::Unary(_) => true,
                Expr::NumberLiteral(n) => n.val < 0.0,
                Expr::Call(c) => DIFFERENCES.contains(&c.func.name),
                _ => false,
            };
            Ok(!self.0)
        }
    }
    let mut finds = Finds(false);
    let Ok(_) = walk_expr(&mut finds, e);
    finds.0
}

fn check(cx: &Shares, kind: ir::Kind, e: &ir::Expr) -> Option<Diagnostic> {
    let ExprKind::Binary { op, lhs, rhs } = &e.kind else {
        return None;
    };
    // Put the metric on the left: `120% < m` is `m > 120%`.
    let (op, metric, threshold) = match (&lhs.kind, &rhs.kind) {
        (_, ExprKind::Const(Value::Num(c))) if is_percentage(cx, lhs) => (*op, lhs, (*c, rhs)),
        (ExprKind::Const(Value::Num(c)), _) if is_percentage(cx, rhs) => {
            (op.mirrored()?, rhs, (*c, lhs))
        }
        _ => return None,
    };
    let (c, constant) = threshold;
    if (0.0..=100.0).contains(&c) {
        return None;
    }
    let above = c > 100.0;
    let always = match op {
        BinOp::Gt | BinOp::Ge => !above,
        BinOp::Lt | BinOp::Le => above,
        BinOp::Eq => false,
        BinOp::Ne => true,
        _ => return None,
    };
    let name = ir::show(cx.cx.program, kind, metric);
    let verdict = if always {
        "is true whenever there is data"
    } else {
        "is never true"
    };
    let written = cx.cx.text(constant.span);
    let value = ir::format_quantity(&Type::Percent, c);
    let label = if written == value {
        format!("{value} is outside 0–100%")
    } else {
        format!("`{written}` is {value}, outside 0–100%")
    };
    Some(
        PERCENT_OUT_OF_RANGE
            .diag(
                e.span,
                format!("`{name}` is a percentage from 0% to 100%: this comparison {verdict}"),
            )
            .label(label)
            .help(format!(
                "`{name}` is a share of a whole (a standard metric, or a query `a / b`); write \
                 a threshold between 0% and 100% (`95%`, not `{value}`). If it can pass 100% \
                 (CPU as a share of its request), disable this rule for the line"
            )),
    )
}

/// A share-of-a-whole metric, or the min/max of them: a value from 0% to
/// 100%.
fn is_percentage(cx: &Shares, e: &ir::Expr) -> bool {
    if e.ty != Type::Percent {
        return false;
    }
    match &e.kind {
        ExprKind::Metric(id) => cx.shares.contains(id),
        ExprKind::Call {
            func: Func::Min | Func::Max,
            args,
        } => args.iter().all(|a| is_percentage(cx, a)),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ratio(q: &str) -> bool {
        is_ratio(&parser::parse(q).expect(q))
    }

    #[test]
    fn ratios_of_what_is_not_a_difference() {
        assert!(ratio("a / b"));
        assert!(ratio("100 * used / capacity"));
        assert!(ratio("(sum by (pod) (a) / sum by (pod) (b)) * 100"));
        assert!(ratio("100 * sum by (ns) (rate(a[5m])) / sum by (ns) (b)"));
        assert!(ratio("(a + b) / c"));
        assert!(ratio("a / (b - c)"));
    }

    #[test]
    fn differences_and_others_are_not_ratios() {
        assert!(!ratio("100 * (a - b) / b"));
        assert!(!ratio("(a - b) / b"));
        assert!(!ratio("sum(a - b) / sum(b)"));
        assert!(!ratio("-a / b"));
        assert!(!ratio("delta(a[5m]) / b"));
        assert!(!ratio("100 * (1 - a / b)"));
        assert!(!ratio("a / b - 1"));
        assert!(!ratio("a"));
        assert!(!ratio("a * b / c * d"));
        assert!(!ratio("-100 * a / b"));
    }
}
