//! Limits: actions whose reach nothing bounds, so that one bad metric can
//! take a workload to zero or evict everything at once.

use super::{Cx, Syntax, rule};
use crate::diagnostic::Diagnostic;
use crate::ir::{ActionKind, ScaleStep};

rule!(
    UNBOUNDED_SCALE = "unbounded-scale",
    Warning,
    "`scale` up without `max`, or down without `min`",
    unbounded_scale
);

rule!(
    UNBOUNDED_DISRUPTION = "unbounded-disruption",
    Warning,
    "`evict`, `cordon` or a scale-down without `at_most`, so one bad metric can hit every object at once",
    unbounded_disruption
);

fn unbounded_scale(cx: &Cx) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for p in &cx.policies {
        for a in &p.ir.actions {
            let ActionKind::Scale(s) = &a.kind else {
                continue;
            };
            let ScaleStep::By(n) = s.step else {
                continue;
            };
            let d = if n > 0 && s.max.is_none() {
                UNBOUNDED_SCALE
                    .diag(a.span, "a scale-up without `max` has no ceiling")
                    .label("no `max`")
                    .help(format!(
                        "while the condition holds, each firing adds {n} replica(s), once per \
                         cooldown, with no end: a stuck metric grows the workload until the \
                         cluster is full. Add a ceiling, e.g. `max = 10`"
                    ))
            } else if n < 0 && s.min.is_none() {
                UNBOUNDED_SCALE
                    .diag(a.span, "a scale-down without `min` can reach zero replicas")
                    .label("no `min`")
                    .help(
                        "while the condition holds, each firing removes replicas, once per \
                         cooldown, down to none: an outage. Add a floor, e.g. `min = 1`",
                    )
            } else {
                continue;
            };
            out.push(d);
        }
    }
    out
}

fn unbounded_disruption(cx: &Cx) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for p in &cx.policies {
        if p.ir.at_most.is_some() {
            continue;
        }
        let Some(a) = p.ir.actions.iter().find(|a| match &a.kind {
            ActionKind::Evict | ActionKind::Cordon => true,
            ActionKind::Scale(s) => matches!(s.step, ScaleStep::By(n) if n < 0),
            _ => false,
        }) else {
            continue;
        };
        let fix = match p.syntax {
            Syntax::Block(_) => "add a blast-radius limit, e.g. `at_most 1 per 10m`".to_string(),
            Syntax::Rule(_) => "a rule cannot limit itself: write it as a `policy` block with \
                                `at_most 1 per 10m`"
                .to_string(),
        };
        let what = format!("{}s", p.ir.kind);
        out.push(
            UNBOUNDED_DISRUPTION
                .diag(
                    a.span,
                    format!(
                        "`{}` with no `at_most` can act on every selected {} in one tick",
                        cx.text(a.span).split('(').next().unwrap_or("action"),
                        p.ir.kind
                    ),
                )
                .label("no blast-radius limit")
                .help(format!(
                    "when a metric goes wrong for all {what} at once (a bad exporter rollout, a \
                     relabelling), this policy disrupts all of them together; {fix}"
                )),
        );
    }
    out
}
