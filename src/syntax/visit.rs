//! Visitors over the AST, in the style of syn's `visit` and `visit_mut`.
//!
//! [`Visit`] has one method per node type; each default method recurses into
//! the node's children through the free function of the same name
//! ([`visit_expr`], …), so an implementation overrides the nodes it cares
//! about and calls the free function to keep descending. [`visit_mut`] is the
//! same over `&mut` nodes. Every span of every node goes through
//! `visit_span`, so a visitor that only overrides it sees all of them.
//!
//! Both are made by one macro from one description of the tree: a node type
//! added to the AST needs a case here, once.

use crate::source::Span;
use crate::syntax::ast::*;

/// The trait and its walk functions, over `&` nodes or, with `mut`, `&mut`.
macro_rules! visitor {
    ($Trait:ident $($m:tt)?) => {
        /// Visits the AST; every default method recurses (see the module doc).
        pub trait $Trait {
            fn visit_file(&mut self, x: & $($m)? File) { visit_file(self, x) }
            fn visit_item(&mut self, x: & $($m)? Item) { visit_item(self, x) }
            fn visit_let(&mut self, x: & $($m)? Let) { visit_let(self, x) }
            fn visit_metric(&mut self, x: & $($m)? Metric) { visit_metric(self, x) }
            fn visit_policy(&mut self, x: & $($m)? Policy) { visit_policy(self, x) }
            fn visit_rule(&mut self, x: & $($m)? Rule) { visit_rule(self, x) }
            fn visit_test(&mut self, x: & $($m)? Test) { visit_test(self, x) }
            fn visit_test_stmt(&mut self, x: & $($m)? TestStmt) { visit_test_stmt(self, x) }
            fn visit_target(&mut self, x: & $($m)? Target) { visit_target(self, x) }
            fn visit_record(&mut self, x: & $($m)? Record) { visit_record(self, x) }
            fn visit_clause(&mut self, x: & $($m)? Clause) { visit_clause(self, x) }
            fn visit_when(&mut self, x: & $($m)? When) { visit_when(self, x) }
            fn visit_then(&mut self, x: & $($m)? Then) { visit_then(self, x) }
            fn visit_action(&mut self, x: & $($m)? Action) { visit_action(self, x) }
            fn visit_arg(&mut self, x: & $($m)? Arg) { visit_arg(self, x) }
            fn visit_expr(&mut self, x: & $($m)? Expr) { visit_expr(self, x) }
            fn visit_str(&mut self, x: & $($m)? Str) { visit_str(self, x) }
            fn visit_path(&mut self, x: & $($m)? Path) { visit_path(self, x) }
            fn visit_ident(&mut self, x: & $($m)? Ident) { visit_ident(self, x) }
            fn visit_span(&mut self, _: & $($m)? Span) {}
        }

        pub fn visit_file<V: $Trait + ?Sized>(v: &mut V, x: & $($m)? File) {
            v.visit_span(& $($m)? x.span);
            for item in & $($m)? x.items {
                v.visit_item(item);
            }
        }

        pub fn visit_item<V: $Trait + ?Sized>(v: &mut V, x: & $($m)? Item) {
            match x {
                Item::Let(x) => v.visit_let(x),
                Item::Metric(x) => v.visit_metric(x),
                Item::Policy(x) => v.visit_policy(x),
                Item::Rule(x) => v.visit_rule(x),
                Item::Test(x) => v.visit_test(x),
            }
        }

        pub fn visit_let<V: $Trait + ?Sized>(v: &mut V, x: & $($m)? Let) {
            v.visit_span(& $($m)? x.span);
            v.visit_ident(& $($m)? x.name);
            v.visit_expr(& $($m)? x.value);
        }

        pub fn visit_metric<V: $Trait + ?Sized>(v: &mut V, x: & $($m)? Metric) {
            v.visit_span(& $($m)? x.span);
            v.visit_ident(& $($m)? x.kind);
            v.visit_ident(& $($m)? x.name);
            v.visit_ident(& $($m)? x.ty);
            v.visit_span(& $($m)? x.promql.span);
            if let Some(by) = & $($m)? x.by {
                v.visit_span(& $($m)? by.span);
                for label in & $($m)? by.labels {
                    v.visit_ident(label);
                }
            }
        }

        pub fn visit_policy<V: $Trait + ?Sized>(v: &mut V, x: & $($m)? Policy) {
            v.visit_span(& $($m)? x.span);
            v.visit_ident(& $($m)? x.name);
            for clause in & $($m)? x.clauses {
                v.visit_clause(clause);
            }
        }

        pub fn visit_rule<V: $Trait + ?Sized>(v: &mut V, x: & $($m)? Rule) {
            v.visit_span(& $($m)? x.span);
            v.visit_when(& $($m)? x.when);
            v.visit_then(& $($m)? x.then);
        }

        pub fn visit_test<V: $Trait + ?Sized>(v: &mut V, x: & $($m)? Test) {
            v.visit_span(& $($m)? x.span);
            v.visit_str(& $($m)? x.name);
            for stmt in & $($m)? x.stmts {
                v.visit_test_stmt(stmt);
            }
        }

        pub fn visit_test_stmt<V: $Trait + ?Sized>(v: &mut V, x: & $($m)? TestStmt) {
            v.visit_span(& $($m)? x.span);
            match & $($m)? x.kind {
                TestStmtKind::Setting { name, value } => {
                    v.visit_ident(name);
                    v.visit_expr(value);
                }
                TestStmtKind::Object { kind, id, fields } => {
                    v.visit_ident(kind);
                    v.visit_str(id);
                    if let Some(r) = fields {
                        v.visit_record(r);
                    }
                }
                TestStmtKind::Series { target, values } => {
                    match target {
                        SeriesTarget::Metric { path, object } => {
                            v.visit_path(path);
                            v.visit_str(object);
                        }
                        SeriesTarget::Raw(q) => v.visit_span(& $($m)? q.span),
                    }
                    v.visit_str(values);
                }
                TestStmtKind::Decision { target, at, .. } => {
                    v.visit_target(target);
                    v.visit_expr(at);
                }
                TestStmtKind::Restart { at } => v.visit_expr(at),
                TestStmtKind::Change {
                    kind,
                    id,
                    at,
                    fields,
                    ..
                } => {
                    v.visit_ident(kind);
                    v.visit_str(id);
                    v.visit_expr(at);
                    if let Some(r) = fields {
                        v.visit_record(r);
                    }
                }
                TestStmtKind::Expect { target, what } => {
                    if let Some(t) = target {
                        v.visit_target(t);
                    }
                    match what {
                        Expectation::State { at, state } => {
                            v.visit_expr(at);
                            v.visit_ident(state);
                        }
                        Expectation::Action { at, action, to, result } => {
                            v.visit_expr(at);
                            v.visit_ident(action);
                            if let Some(to) = to {
                                v.visit_expr(to);
                            }
                            if let Some(result) = result {
                                v.visit_ident(result);
                            }
                        }
                        Expectation::NoAction { from, to } => {
                            v.visit_expr(from);
                            v.visit_expr(to);
                        }
                    }
                }
            }
        }

        pub fn visit_target<V: $Trait + ?Sized>(v: &mut V, x: & $($m)? Target) {
            v.visit_span(& $($m)? x.span);
            v.visit_ident(& $($m)? x.policy);
            v.visit_str(& $($m)? x.object);
        }

        pub fn visit_record<V: $Trait + ?Sized>(v: &mut V, x: & $($m)? Record) {
            v.visit_span(& $($m)? x.span);
            for field in & $($m)? x.fields {
                v.visit_span(& $($m)? field.span);
                v.visit_ident(& $($m)? field.name);
                match & $($m)? field.value {
                    FieldValue::Record(r) => v.visit_record(r),
                    FieldValue::Expr(e) => v.visit_expr(e),
                }
            }
        }

        pub fn visit_clause<V: $Trait + ?Sized>(v: &mut V, x: & $($m)? Clause) {
            v.visit_span(& $($m)? x.span);
            match & $($m)? x.kind {
                ClauseKind::On { kind, filter } => {
                    v.visit_ident(kind);
                    if let Some(e) = filter {
                        v.visit_expr(e);
                    }
                }
                ClauseKind::When(w) => v.visit_when(w),
                ClauseKind::Then(t) => v.visit_then(t),
                ClauseKind::Cooldown(e) => v.visit_expr(e),
                ClauseKind::Mode(id) | ClauseKind::NoData(id) => v.visit_ident(id),
                ClauseKind::Window(s) => v.visit_str(s),
                ClauseKind::AtMost { count, per } => {
                    v.visit_expr(count);
                    v.visit_expr(per);
                }
            }
        }

        pub fn visit_when<V: $Trait + ?Sized>(v: &mut V, x: & $($m)? When) {
            v.visit_span(& $($m)? x.span);
            v.visit_expr(& $($m)? x.condition);
            if let Some(hold) = & $($m)? x.hold {
                v.visit_expr(hold);
            }
        }

        pub fn visit_then<V: $Trait + ?Sized>(v: &mut V, x: & $($m)? Then) {
            v.visit_span(& $($m)? x.span);
            for action in & $($m)? x.actions {
                v.visit_action(action);
            }
        }

        pub fn visit_action<V: $Trait + ?Sized>(v: &mut V, x: & $($m)? Action) {
            v.visit_span(& $($m)? x.span);
            v.visit_ident(& $($m)? x.name);
            for arg in & $($m)? x.args {
                v.visit_arg(arg);
            }
        }

        pub fn visit_arg<V: $Trait + ?Sized>(v: &mut V, x: & $($m)? Arg) {
            v.visit_span(& $($m)? x.span);
            if let Some(name) = & $($m)? x.name {
                v.visit_ident(name);
            }
            if let Some((_, span)) = & $($m)? x.sign {
                v.visit_span(span);
            }
            v.visit_expr(& $($m)? x.value);
        }

        pub fn visit_expr<V: $Trait + ?Sized>(v: &mut V, x: & $($m)? Expr) {
            v.visit_span(& $($m)? x.span);
            match & $($m)? x.kind {
                ExprKind::Number(_) | ExprKind::Bool(_) | ExprKind::Error => {}
                ExprKind::Str(s) => v.visit_str(s),
                ExprKind::List(items) => {
                    for item in items {
                        v.visit_expr(item);
                    }
                }
                ExprKind::Call { name, args } => {
                    v.visit_ident(name);
                    for arg in args {
                        v.visit_expr(arg);
                    }
                }
                ExprKind::Path(p) => v.visit_path(p),
                ExprKind::Unary { expr, .. } | ExprKind::Paren(expr) => v.visit_expr(expr),
                ExprKind::Binary { lhs, rhs, .. } => {
                    v.visit_expr(lhs);
                    v.visit_expr(rhs);
                }
            }
        }

        pub fn visit_str<V: $Trait + ?Sized>(v: &mut V, x: & $($m)? Str) {
            v.visit_span(& $($m)? x.span);
            for part in & $($m)? x.parts {
                if let StrPart::Interp(e) = part {
                    v.visit_expr(e);
                }
            }
        }

        pub fn visit_path<V: $Trait + ?Sized>(v: &mut V, x: & $($m)? Path) {
            v.visit_span(& $($m)? x.span);
            for segment in & $($m)? x.segments {
                v.visit_span(& $($m)? segment.span);
            }
        }

        pub fn visit_ident<V: $Trait + ?Sized>(v: &mut V, x: & $($m)? Ident) {
            v.visit_span(& $($m)? x.span);
        }
    };
}

visitor!(Visit);

/// [`Visit`] over `&mut` nodes: the same methods and walk functions.
pub mod visit_mut {
    use super::*;

    visitor!(VisitMut mut);
}

pub use visit_mut::VisitMut;
