//! Resizes: cooldowns that cloud volumes cannot keep up with, and steps that
//! are too small to help a small volume.

use super::{Cx, rule};
use crate::diagnostic::Diagnostic;
use crate::engine::plan::{self, ResizePlan};
use crate::ir::{self, ActionKind, ResizeStep, format_bytes, format_duration};
use crate::syntax::ast;

/// How often AWS EBS lets a volume be modified (size, type or IOPS): once per
/// six hours. pvc-autoresizer#296 is users hitting it.
const MODIFICATION_INTERVAL: f64 = 6.0 * 3600.0;

const GI: u64 = 1 << 30;
/// The small volume the help computes with.
const SMALL: u64 = 5 * GI;
/// The `min_step` the help suggests.
const SUGGESTED_MIN_STEP: u64 = 10 * GI;

rule!(
    SHORT_RESIZE_COOLDOWN = "short-resize-cooldown",
    Warning,
    "a policy that resizes volumes with a cooldown under 6h, the AWS EBS modification limit",
    short_resize_cooldown
);

rule!(
    RESIZE_WITHOUT_MIN_STEP = "resize-without-min-step",
    Warning,
    "a percent `resize` without `min_step`, which grows small volumes by little",
    resize_without_min_step
);

fn short_resize_cooldown(cx: &Cx) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let limit = format_duration(MODIFICATION_INTERVAL);
    for p in &cx.policies {
        if p.ir.cooldown.secs() >= MODIFICATION_INTERVAL {
            continue;
        }
        // A repeated `set_class` to the class the volume has is no change,
        // so only resizes are held to the limit.
        let Some(action) =
            p.ir.actions
                .iter()
                .find(|a| matches!(a.kind, ActionKind::Resize(_)))
        else {
            continue;
        };
        let cooldown = format_duration(p.ir.cooldown.secs());
        let why = format!(
            "AWS EBS allows one modification of a volume (a resize or a class change) every \
             {limit}; a second resize within that time fails at the cloud, and the PVC waits \
             with a failed resize until the {limit} are up (see pvc-autoresizer#296)"
        );
        let d = match p.syntax.clause("cooldown") {
            Some(ast::ClauseKind::Cooldown(e)) => SHORT_RESIZE_COOLDOWN
                .diag(
                    e.span,
                    format!("a cooldown of {cooldown} is shorter than a volume modification takes"),
                )
                .label(format!("under {limit}"))
                .also(action.span, "resizes the volume")
                .help(format!(
                    "{why}. Write `cooldown {limit}`; if your storage has no such limit (local \
                     or Ceph volumes, say), disable this rule for the line"
                )),
            _ => {
                let fix = match p.syntax {
                    super::Syntax::Block(_) => format!("Add `cooldown {limit}` to the policy"),
                    super::Syntax::Rule(_) => format!(
                        "A rule cannot set a cooldown: write it as a `policy` block with \
                         `cooldown {limit}`"
                    ),
                };
                SHORT_RESIZE_COOLDOWN
                    .diag(
                        action.span,
                        format!(
                            "`resize` with the default cooldown of {cooldown}, shorter than a \
                             volume modification takes"
                        ),
                    )
                    .label(format!("cooldown {cooldown}"))
                    .help(format!("{why}. {fix}"))
            }
        };
        out.push(d);
    }
    out
}

fn resize_without_min_step(cx: &Cx) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for p in &cx.policies {
        for a in &p.ir.actions {
            let ActionKind::Resize(r) = &a.kind else {
                continue;
            };
            let ResizeStep::Fraction(f) = r.step else {
                continue;
            };
            if r.min_step.is_some() {
                continue;
            }
            // A computed step holds a stand-in until it fires: the help
            // works an example percent instead.
            let computed = a.computed.iter().any(|c| c.slot == ir::ArgSlot::Step);
            let help = if computed {
                format!(
                    "the step is computed when the policy fires; at 10% {}",
                    example(r, EXAMPLE_FRACTION)
                )
            } else {
                example(r, f)
            };
            out.push(
                RESIZE_WITHOUT_MIN_STEP
                    .diag(
                        a.span,
                        "a percent step without `min_step` is small on small volumes",
                    )
                    .label("no `min_step`")
                    .help(help),
            );
        }
    }
    out
}

/// The percent a computed step is shown with.
const EXAMPLE_FRACTION: f64 = 0.1;

/// The step on a small volume, with and without the suggested `min_step`.
fn example(r: &ir::Resize, fraction: f64) -> String {
    let unbounded = ir::Resize {
        max: None,
        step: ResizeStep::Fraction(fraction),
        ..r.clone()
    };
    let grown = |r: &ir::Resize| match plan::resize(SMALL, r) {
        ResizePlan::Grow { to, .. } => to,
        ResizePlan::Declined { current, .. } => current,
    };
    let plain = grown(&unbounded);
    let floored = grown(&ir::Resize {
        min_step: Some(SUGGESTED_MIN_STEP),
        ..unbounded.clone()
    });
    let percent = format!("{}%", (fraction * 1e4).round() / 100.0);
    let small = format_bytes(SMALL as f64);
    format!(
        "on a {small} volume `+{percent}` adds {}, so it grows to {} (rounded up to a multiple \
         of {}): {} more room, and the next resize waits a whole cooldown. `min_step = {}` \
         makes it {}. Add a `min_step` that buys a useful amount of time",
        format_bytes(SMALL as f64 * fraction),
        format_bytes(plain as f64),
        format_bytes(r.round as f64),
        format_bytes(plain.saturating_sub(SMALL) as f64),
        format_bytes(SUGGESTED_MIN_STEP as f64),
        format_bytes(floored as f64),
    )
}
