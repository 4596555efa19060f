//! Thresholds: comparisons that the range of a metric decides in advance.

use super::{Cx, rule};
use crate::diagnostic::Diagnostic;
use crate::ir::{self, BinOp, ExprKind, Func, Type, Value};

rule!(
    PERCENT_OUT_OF_RANGE = "percent-out-of-range",
    Warning,
    "a percent metric compared with a threshold outside 0–100%, which decides the comparison",
    percent_out_of_range
);

fn percent_out_of_range(cx: &Cx) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for p in &cx.policies {
        for e in p.ir.filter.iter().chain([&p.ir.condition]) {
            out.extend(e.nodes().filter_map(|node| check(cx, p.ir.kind, node)));
        }
    }
    out
}

fn check(cx: &Cx, kind: ir::Kind, e: &ir::Expr) -> Option<Diagnostic> {
    let ExprKind::Binary { op, lhs, rhs } = &e.kind else {
        return None;
    };
    // Put the metric on the left: `120% < m` is `m > 120%`.
    let (op, metric, threshold) = match (&lhs.kind, &rhs.kind) {
        (_, ExprKind::Const(Value::Num(c))) if is_percentage(cx, lhs) => (*op, lhs, (*c, rhs)),
        (ExprKind::Const(Value::Num(c)), _) if is_percentage(cx, rhs) => {
            (flip(*op)?, rhs, (*c, lhs))
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
    let name = ir::show(cx.program, kind, metric);
    let verdict = if always {
        "is true whenever there is data"
    } else {
        "is never true"
    };
    let written = cx.text(constant.span);
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
                "percent metrics such as `{name}` are shares of a whole; write a threshold \
                 between 0% and 100% (`95%`, not `{value}`). If your own metric can pass \
                 100% (CPU as a share of its request), disable this rule for the line"
            )),
    )
}

/// A percent metric, or the min/max of them: a value from 0% to 100%.
fn is_percentage(cx: &Cx, e: &ir::Expr) -> bool {
    if e.ty != Type::Percent {
        return false;
    }
    match &e.kind {
        ExprKind::Metric(id) => cx.program.metric(*id).ty == Type::Percent,
        ExprKind::Call {
            func: Func::Min | Func::Max,
            args,
        } => args.iter().all(|a| is_percentage(cx, a)),
        _ => false,
    }
}

/// `c op m` as `m op' c`.
fn flip(op: BinOp) -> Option<BinOp> {
    Some(match op {
        BinOp::Gt => BinOp::Lt,
        BinOp::Ge => BinOp::Le,
        BinOp::Lt => BinOp::Gt,
        BinOp::Le => BinOp::Ge,
        BinOp::Eq | BinOp::Ne => op,
        _ => return None,
    })
}
