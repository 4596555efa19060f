//! Comparing ASTs spans aside, so `format_source` can prove it kept the program.

use super::*;

/// The two files have the same syntax tree, wherever their nodes are.
pub fn same_ast(a: &File, b: &File) -> bool {
    let (mut a, mut b) = (a.clone(), b.clone());
    strip_spans(&mut a);
    strip_spans(&mut b);
    a == b
}

/// Sets every span in the tree to `Span::default()`. A node type added
/// without a case here keeps its spans and makes [`same_ast`] fail, never
/// wrongly pass.
pub fn strip_spans(file: &mut File) {
    file.span = Span::default();
    for item in &mut file.items {
        match item {
            Item::Let(x) => {
                x.span = Span::default();
                strip_ident(&mut x.name);
                strip_expr(&mut x.value);
            }
            Item::Metric(x) => {
                x.span = Span::default();
                x.promql.span = Span::default();
                for id in [&mut x.kind, &mut x.name, &mut x.ty] {
                    strip_ident(id);
                }
                if let Some(by) = &mut x.by {
                    by.span = Span::default();
                    by.labels.iter_mut().for_each(strip_ident);
                }
            }
            Item::Policy(x) => {
                x.span = Span::default();
                strip_ident(&mut x.name);
                x.clauses.iter_mut().for_each(strip_clause);
            }
            Item::Rule(x) => {
                x.span = Span::default();
                strip_when(&mut x.when);
                strip_then(&mut x.then);
            }
            Item::Test(x) => {
                x.span = Span::default();
                strip_str(&mut x.name);
                x.stmts.iter_mut().for_each(strip_test_stmt);
            }
        }
    }
}

pub(super) fn strip_test_stmt(s: &mut TestStmt) {
    s.span = Span::default();
    match &mut s.kind {
        TestStmtKind::Setting { name, value } => {
            strip_ident(name);
            strip_expr(value);
        }
        TestStmtKind::Object { kind, id, fields } => {
            strip_ident(kind);
            strip_str(id);
            fields.iter_mut().for_each(strip_record);
        }
        TestStmtKind::Series { target, values } => {
            match target {
                SeriesTarget::Metric { path, object } => {
                    strip_path(path);
                    strip_str(object);
                }
                SeriesTarget::Raw(q) => q.span = Span::default(),
            }
            strip_str(values);
        }
        TestStmtKind::Decision { target, at, .. } => {
            strip_target(target);
            strip_expr(at);
        }
        TestStmtKind::Restart { at } => strip_expr(at),
        TestStmtKind::Expect { target, what } => {
            target.iter_mut().for_each(strip_target);
            match what {
                Expectation::State { at, state } => {
                    strip_expr(at);
                    strip_ident(state);
                }
                Expectation::Action {
                    at,
                    action,
                    to,
                    result,
                } => {
                    strip_expr(at);
                    strip_ident(action);
                    to.iter_mut().for_each(strip_expr);
                    result.iter_mut().for_each(strip_ident);
                }
                Expectation::NoAction { from, to } => {
                    strip_expr(from);
                    strip_expr(to);
                }
            }
        }
    }
}

pub(super) fn strip_target(t: &mut Target) {
    t.span = Span::default();
    strip_ident(&mut t.policy);
    strip_str(&mut t.object);
}

pub(super) fn strip_record(r: &mut Record) {
    r.span = Span::default();
    for f in &mut r.fields {
        f.span = Span::default();
        strip_ident(&mut f.name);
        match &mut f.value {
            FieldValue::Record(r) => strip_record(r),
            FieldValue::Expr(e) => strip_expr(e),
        }
    }
}

pub(super) fn strip_ident(id: &mut Ident) {
    id.span = Span::default();
}

pub(super) fn strip_clause(c: &mut Clause) {
    c.span = Span::default();
    match &mut c.kind {
        ClauseKind::On { kind, filter } => {
            strip_ident(kind);
            filter.iter_mut().for_each(strip_expr);
        }
        ClauseKind::When(w) => strip_when(w),
        ClauseKind::Then(t) => strip_then(t),
        ClauseKind::Cooldown(e) => strip_expr(e),
        ClauseKind::Mode(id) | ClauseKind::NoData(id) => strip_ident(id),
        ClauseKind::Window(s) => strip_str(s),
        ClauseKind::AtMost { count, per } => {
            strip_expr(count);
            strip_expr(per);
        }
    }
}

pub(super) fn strip_when(w: &mut When) {
    w.span = Span::default();
    strip_expr(&mut w.condition);
    w.hold.iter_mut().for_each(strip_expr);
}

pub(super) fn strip_then(t: &mut Then) {
    t.span = Span::default();
    for a in &mut t.actions {
        a.span = Span::default();
        strip_ident(&mut a.name);
        for arg in &mut a.args {
            arg.span = Span::default();
            arg.name.iter_mut().for_each(strip_ident);
            if let Some((_, span)) = &mut arg.sign {
                *span = Span::default();
            }
            strip_expr(&mut arg.value);
        }
    }
}

pub(super) fn strip_expr(e: &mut Expr) {
    e.span = Span::default();
    match &mut e.kind {
        ExprKind::Number(_) | ExprKind::Bool(_) | ExprKind::Error => {}
        ExprKind::Str(s) => strip_str(s),
        ExprKind::List(items) => items.iter_mut().for_each(strip_expr),
        ExprKind::Call { name, args } => {
            strip_ident(name);
            args.iter_mut().for_each(strip_expr);
        }
        ExprKind::Path(p) => strip_path(p),
        ExprKind::Unary { expr, .. } | ExprKind::Paren(expr) => strip_expr(expr),
        ExprKind::Binary { lhs, rhs, .. } => {
            strip_expr(lhs);
            strip_expr(rhs);
        }
    }
}

pub(super) fn strip_str(s: &mut Str) {
    s.span = Span::default();
    for part in &mut s.parts {
        if let StrPart::Interp(p) = part {
            strip_path(p);
        }
    }
}

pub(super) fn strip_path(p: &mut Path) {
    p.span = Span::default();
    p.segments
        .iter_mut()
        .for_each(|s: &mut Segment| s.span = Span::default());
}
