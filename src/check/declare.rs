//! Declarations: the `let`s and `metric` bindings of all files, collected
//! before any policy is checked, and a `let`'s value checked on first use.

use super::env::{LetEntry, LetState, MetricEntry, Undo};
use super::{Checker, codes, expr, kinds, promql};
use crate::diagnostic::{Diagnostic, did_you_mean};
use crate::ir::{self, Kind, MetricId, Type};
use crate::source::FileId;
use crate::syntax::ast;

impl<'a> Checker<'a> {
    /// Collects `let`s and `metric`s of all files, so that order does not matter.
    pub(super) fn declare(&mut self, files: &[(FileId, &'a ast::File)]) {
        // Stdlib first, so that a user binding of the same name replaces it.
        let mut ordered: Vec<&(FileId, &ast::File)> = files.iter().collect();
        ordered.sort_by_key(|(id, _)| !self.sources.get(*id).is_stdlib());
        for (_, file) in ordered {
            for item in &file.items {
                match item {
                    ast::Item::Let(l) => self.declare_let(l),
                    ast::Item::Metric(m) => self.declare_metric(m),
                    _ => {}
                }
            }
        }
    }

    fn declare_let(&mut self, l: &'a ast::Let) {
        if let Some(prev) = self.env.lets.get(&l.name.name) {
            let d = Diagnostic::error(
                codes::DUPLICATE,
                l.name.span,
                format!("`{}` is defined twice", l.name.name),
            )
            .label("second definition")
            .also(prev.name_span, "first defined here")
            .help("give each `let` its own name; lets are shared by all files checked together");
            self.error(d);
            return;
        }
        if Kind::from_name(&l.name.name).is_some() || l.name.name == "namespace" {
            self.error(
                Diagnostic::error(
                    codes::DUPLICATE,
                    l.name.span,
                    format!("`{}` is a kind and cannot be a `let` name", l.name.name),
                )
                .label("reserved for the kind")
                .help("choose another name"),
            );
            return;
        }
        self.env.lets.insert(
            l.name.name.clone(),
            LetEntry {
                name_span: l.name.span,
                state: LetState::Unchecked(self.pending.len()),
                used: false,
            },
        );
        self.pending.push(&l.value);
        self.record(|| Undo::Let(l.name.name.clone()));
    }

    fn declare_metric(&mut self, m: &ast::Metric) {
        let Some(kind) = self.kind(&m.kind) else {
            return;
        };
        let key = (kind, m.name.name.clone());
        if !self.declare_checked_metric(kind, m) {
            self.record(|| Undo::Broken(key.clone()));
            self.env.broken_metrics.insert(key);
        }
    }

    /// Declares one binding of a known kind; false when it has an error.
    fn declare_checked_metric(&mut self, kind: Kind, m: &ast::Metric) -> bool {
        if kinds::field(kind, &m.name.name).is_some()
            || m.name.name == "labels"
            || m.name.name == "annotations"
        {
            self.error(
                Diagnostic::error(
                    codes::DUPLICATE,
                    m.name.span,
                    format!("`{kind}.{}` is a field of the object", m.name.name),
                )
                .label("field name")
                .help("choose another name for the metric"),
            );
            return false;
        }
        let ty = match m.ty.name.as_str() {
            "percent" => Type::Percent,
            "bytes" => Type::Bytes,
            "duration" => Type::Duration,
            "number" => Type::Number,
            other => {
                let help = did_you_mean(other, ["percent", "bytes", "duration", "number"])
                    .unwrap_or_else(|| "a metric is a percent, bytes, duration or number".into());
                self.error(
                    Diagnostic::error(
                        codes::UNKNOWN_TYPE,
                        m.ty.span,
                        format!("unknown metric type `{other}`"),
                    )
                    .label("not a metric type")
                    .help(help),
                );
                return false;
            }
        };
        let join: Vec<String> = match &m.by {
            None => kind.default_join().iter().map(|s| s.to_string()).collect(),
            Some(by) => {
                let want = if kind.namespaced() { 2 } else { 1 };
                if by.labels.len() != want {
                    let shape = if kind.namespaced() {
                        "two labels, the namespace and the name: `by (namespace, persistentvolumeclaim)`"
                    } else {
                        "one label, the name: `by (node)`"
                    };
                    self.error(
                        Diagnostic::error(
                            codes::JOIN_LABELS,
                            by.span,
                            format!("`by` for a {kind} binding names {want} label(s)"),
                        )
                        .label(format!("{} label(s) here", by.labels.len()))
                        .help(format!("{kind} is joined by {shape}")),
                    );
                    return false;
                }
                by.labels.iter().map(|l| l.name.clone()).collect()
            }
        };
        let stdlib = self.is_stdlib(m.span);
        if let Err(d) = promql::check_query(&m.promql.text, m.promql.span, &join) {
            self.error(*d);
            return false;
        }
        let key = (kind, m.name.name.clone());
        let text = &m.promql.text;
        let lead = text.len() - text.trim_start().len();
        let promql_span = crate::source::Span::new(
            m.promql.span.file,
            m.promql.span.start as usize + lead,
            m.promql.span.start as usize + lead + text.trim().len(),
        );
        let metric = ir::Metric {
            kind,
            name: m.name.name.clone(),
            ty,
            promql: text.trim().to_string(),
            promql_span,
            join,
            span: m.span,
            stdlib,
        };
        if let Some(&id) = self.env.metric_index.get(&key) {
            let prev = &mut self.env.metrics[id.0 as usize];
            if prev.ir.stdlib && !stdlib {
                // A user binding replaces the stdlib one of the same name.
                let ir = Box::new(std::mem::replace(&mut prev.ir, metric));
                let name_span = std::mem::replace(&mut prev.name_span, m.name.span);
                self.record(|| Undo::Replaced { id, ir, name_span });
                return true;
            }
            let prev = &self.env.metrics[id.0 as usize];
            let d = Diagnostic::error(
                codes::DUPLICATE,
                m.name.span,
                format!("metric `{kind}.{}` is bound twice", m.name.name),
            )
            .label("second binding")
            .also(prev.name_span, "first bound here")
            .help("bind each metric once across all files checked together");
            self.error(d);
            // The first binding stands; uses are fine.
            return true;
        }
        let id = MetricId(self.env.metrics.len() as u32);
        self.env.metrics.push(MetricEntry {
            ir: metric,
            name_span: m.name.span,
            used: false,
        });
        self.record(|| Undo::Metric(key.clone()));
        self.env.metric_index.insert(key, id);
        true
    }

    pub(super) fn kind(&mut self, ident: &ast::Ident) -> Option<Kind> {
        let kind = Kind::from_name(&ident.name);
        if kind.is_none() {
            let help = did_you_mean(&ident.name, Kind::ALL.map(Kind::name))
                .unwrap_or_else(|| "kinds are pvc, pod, deployment, statefulset and node".into());
            self.error(
                Diagnostic::error(
                    codes::UNKNOWN_KIND,
                    ident.span,
                    format!("unknown kind `{}`", ident.name),
                )
                .label("not a kind")
                .help(help),
            );
        }
        kind
    }

    /// A `let`'s typed value, checked once, on first use.
    pub(super) fn let_value(&mut self, name: &str) -> Option<Option<expr::Typed>> {
        let entry = self.env.lets.get_mut(name)?;
        let pending = match &entry.state {
            LetState::Done(v) => return Some(v.clone()),
            LetState::InProgress => {
                let span = entry.name_span;
                self.error(
                    Diagnostic::error(
                        codes::CYCLE,
                        span,
                        format!("`{name}` is defined in terms of itself"),
                    )
                    .label("defined through itself")
                    .help("a `let` may use other lets, but not in a cycle"),
                );
                return Some(None);
            }
            LetState::Unchecked(i) => *i,
        };
        entry.state = LetState::InProgress;
        let Some(value_ast) = self.pending.get(pending).copied() else {
            return Some(None);
        };
        let mut scope = expr::Scope::default();
        let value = self.expr(value_ast, &mut scope).map(|e| {
            let (depth, nodes) = expr::measure(&e);
            expr::Typed {
                depth,
                nodes,
                expr: e,
                kinds: scope.kinds,
                metrics: scope.metrics,
                namespace: scope.namespace,
            }
        });
        if let Some(entry) = self.env.lets.get_mut(name) {
            entry.state = LetState::Done(value.clone());
        }
        Some(value)
    }
}
