//! What the items checked so far declared ([`Env`]): metric bindings, lets
//! and policy names, and the journal of [`Undo`]s that takes changes back.

use std::collections::{HashMap, HashSet};

use super::expr;
use crate::ir::{self, Kind, MetricId};
use crate::source::Span;

pub(super) struct MetricEntry {
    pub(super) ir: ir::Metric,
    /// The name in the `metric` item, for "first bound here".
    pub(super) name_span: Span,
    pub(super) used: bool,
}

pub(super) struct LetEntry {
    /// The name in the `let` item, for "first defined here".
    pub(super) name_span: Span,
    pub(super) state: LetState,
    pub(super) used: bool,
}

pub(super) enum LetState {
    /// Declared; the value is [`Checker::pending`](super::Checker::pending)`[i]`.
    /// Every `let` item is checked by the checker that declared it, so none
    /// outlives it.
    Unchecked(usize),
    InProgress,
    Done(Option<expr::Typed>),
}

/// What the items checked so far declared: the names later items may use,
/// and the budgets they share. [`Incremental`](super::Incremental) keeps it
/// between items.
#[derive(Default)]
pub(super) struct Env {
    pub(super) metrics: Vec<MetricEntry>,
    pub(super) metric_index: HashMap<(Kind, String), MetricId>,
    /// Bindings that failed to check: their uses are not reported again.
    pub(super) broken_metrics: HashSet<(Kind, String)>,
    pub(super) lets: HashMap<String, LetEntry>,
    /// Policy names, for "defined twice".
    pub(super) names: HashMap<String, Span>,
    /// IR nodes copied by uses of lets so far.
    pub(super) inlined: usize,
    /// User names looked through for "did you mean" so far.
    pub(super) suggested: usize,
}

/// One change to an [`Env`], recorded so that it can be taken back.
pub(super) enum Undo {
    Let(String),
    LetUsed(String),
    Metric((Kind, String)),
    Replaced {
        id: MetricId,
        ir: Box<ir::Metric>,
        name_span: Span,
    },
    Broken((Kind, String)),
    MetricUsed(MetricId),
    Name(String),
}

impl Env {
    /// `let`s and metrics that no policy reads, in source order.
    pub(super) fn unused(&self) -> Vec<(String, Span)> {
        let mut unused = Vec::new();
        for (name, entry) in &self.lets {
            if !entry.used {
                unused.push((format!("let {name}"), entry.name_span));
            }
        }
        for m in &self.metrics {
            if !m.used && !m.ir.stdlib {
                unused.push((format!("metric {}", m.ir.qualified()), m.ir.span));
            }
        }
        unused.sort_by_key(|(_, span)| *span);
        unused
    }

    /// Takes back `journal`, newest first.
    pub(super) fn revert(&mut self, journal: Vec<Undo>) {
        for undo in journal.into_iter().rev() {
            match undo {
                Undo::Let(name) => {
                    self.lets.remove(&name);
                }
                Undo::LetUsed(name) => {
                    if let Some(entry) = self.lets.get_mut(&name) {
                        entry.used = false;
                    }
                }
                Undo::Metric(key) => {
                    self.metric_index.remove(&key);
                    self.metrics.pop();
                }
                Undo::Replaced { id, ir, name_span } => {
                    if let Some(entry) = self.metrics.get_mut(id.0 as usize) {
                        entry.ir = *ir;
                        entry.name_span = name_span;
                    }
                }
                Undo::Broken(key) => {
                    self.broken_metrics.remove(&key);
                }
                Undo::MetricUsed(id) => {
                    if let Some(entry) = self.metrics.get_mut(id.0 as usize) {
                        entry.used = false;
                    }
                }
                Undo::Name(name) => {
                    self.names.remove(&name);
                }
            }
        }
    }
}
