//! One action as the reports say it: what was planned, how it went, why.
//!
//! The one rendering of [`Planned`] for people: the `simulate` timeline, the
//! plot's legend, a failed test's "found" and the REPL's `:policies` all
//! call [`describe`].

use std::fmt::Write as _;

use crate::engine::{EventKind, Planned, Time};
use crate::ir::{ActionName, format_bytes};

/// An action as a line says it: `resize 100Gi → 200Gi`, `notify oncall "…"`;
/// only its name when it was not planned (skipped before its arguments were).
pub fn describe(action: ActionName, p: Option<&Planned>) -> String {
    let bytes = |b: u64| format_bytes(b as f64);
    let Some(p) = p else {
        return action.name().into();
    };
    match p {
        Planned::Resize { from, to } if from == to => format!("resize at {}", bytes(*from)),
        Planned::Resize { from, to } => format!("resize {} → {}", bytes(*from), bytes(*to)),
        Planned::Scale { from, to } if from == to => format!("scale at {from}"),
        Planned::Scale { from, to } => format!("scale {from} → {to}"),
        Planned::SetClass { class } => format!("set_class {class}"),
        Planned::Evict => "evict".into(),
        Planned::Cordon => "cordon".into(),
        Planned::Annotate { key, value } if value.is_empty() => format!("annotate {key}"),
        Planned::Annotate { key, value } => format!("annotate {key}={value:?}"),
        Planned::Label { key, value } if value.is_empty() => format!("label {key}"),
        Planned::Label { key, value } => format!("label {key}={value:?}"),
        Planned::Event { reason, message } if message.is_empty() => format!("event {reason}"),
        Planned::Event { reason, message } => format!("event {reason} {message:?}"),
        Planned::Notify { receiver, message } if message.is_empty() => {
            format!("notify {receiver}")
        }
        Planned::Notify { receiver, message } => format!("notify {receiver} {message:?}"),
    }
}

/// An event in a timeline row: `normal → pending`,
/// `resize 100Gi → 200Gi  applied`, `resize  skipped: REASON`, `error: …`.
pub fn timeline(kind: &EventKind) -> String {
    match kind {
        EventKind::Transition { from, to } => format!("{from} → {to}"),
        EventKind::Action {
            action,
            planned,
            result,
            reason,
        } => {
            let mut s = format!("{}  {}", describe(*action, planned.as_ref()), result.name());
            if let Some(r) = reason {
                let _ = write!(s, ": {r}");
            }
            s
        }
        EventKind::Error { message } => format!("error: {message}"),
    }
}

/// An event inside a sentence, as a failed test's "found" lists them:
/// `resize 100Gi → 200Gi applied`, `resize skipped (REASON)`.
pub fn inline(kind: &EventKind) -> String {
    let Some(a) = kind.as_action() else {
        return timeline(kind);
    };
    let mut s = format!("{} {}", describe(a.action, a.planned), a.result.name());
    if let Some(r) = a.reason {
        let _ = write!(s, " ({r})");
    }
    s
}

/// The last action on an object, `at` after the start, as the REPL's
/// `:policies` shows it: `last: resize 100Gi → 200Gi applied at 5m00s`.
/// None for an event that is not an action.
pub fn last(kind: &EventKind, at: Time) -> Option<String> {
    let a = kind.as_action()?;
    let mut s = format!(
        "last: {} {} at {}",
        describe(a.action, a.planned),
        a.result.name(),
        super::elapsed(at)
    );
    if let Some(r) = a.reason {
        let _ = write!(s, " ({r})");
    }
    Some(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::plan::Blocker;
    use crate::engine::{ActionResult, PhaseName, Reason, SkipReason};

    const GI: u64 = 1 << 30;

    fn planned() -> Vec<Planned> {
        let s = String::from;
        vec![
            Planned::Resize {
                from: 100 * GI,
                to: 200 * GI,
            },
            Planned::Resize {
                from: 3 * GI / 2,
                to: 3 * GI / 2,
            },
            Planned::Scale { from: 2, to: 3 },
            Planned::Scale { from: 4, to: 4 },
            Planned::SetClass { class: s("fast") },
            Planned::Evict,
            Planned::Cordon,
            Planned::Annotate {
                key: s("example.com/why"),
                value: String::new(),
            },
            Planned::Annotate {
                key: s("example.com/why"),
                value: s("disk \"full\""),
            },
            Planned::Label {
                key: s("tier"),
                value: String::new(),
            },
            Planned::Label {
                key: s("tier"),
                value: s("hot"),
            },
            Planned::Event {
                reason: s("DiskFull"),
                message: String::new(),
            },
            Planned::Event {
                reason: s("DiskFull"),
                message: s("at 91%\nstill growing"),
            },
            Planned::Notify {
                receiver: s("oncall"),
                message: String::new(),
            },
            Planned::Notify {
                receiver: s("oncall"),
                message: s("pg-data is at 91%"),
            },
        ]
    }

    #[test]
    fn every_action() {
        let mut lines: Vec<String> = vec![
            describe(ActionName::Resize, None),
            describe(ActionName::Scale, None),
        ];
        lines.extend(planned().iter().map(|p| describe(p.action(), Some(p))));
        insta::assert_snapshot!(lines.join("\n"), @r#"
        resize
        scale
        resize 100Gi → 200Gi
        resize at 1.5Gi
        scale 2 → 3
        scale at 4
        set_class fast
        evict
        cordon
        annotate example.com/why
        annotate example.com/why="disk \"full\""
        label tier
        label tier="hot"
        event DiskFull
        event DiskFull "at 91%\nstill growing"
        notify oncall
        notify oncall "pg-data is at 91%"
        "#);
    }

    /// Each way to render an event, for each result with and without a reason.
    #[test]
    fn events_in_each_form() {
        let resize = Planned::Resize {
            from: 100 * GI,
            to: 200 * GI,
        };
        let mut kinds = vec![
            EventKind::Transition {
                from: PhaseName::Normal,
                to: PhaseName::Pending,
            },
            EventKind::Error {
                message: "query failed: timeout".into(),
            },
        ];
        for result in [
            ActionResult::Applied,
            ActionResult::DryRun,
            ActionResult::AwaitingApproval,
            ActionResult::Declined,
            ActionResult::Skipped,
            ActionResult::Failed,
        ] {
            kinds.push(EventKind::Action {
                action: ActionName::Resize,
                planned: Some(resize.clone()),
                result,
                reason: None,
            });
        }
        kinds.push(EventKind::Action {
            action: ActionName::Resize,
            planned: None,
            result: ActionResult::Skipped,
            reason: Some(Reason::Skip(SkipReason::Blocked(
                Blocker::ExpansionNotAllowed {
                    class: "archive".into(),
                },
            ))),
        });
        let mut out = String::new();
        for k in &kinds {
            let _ = writeln!(out, "timeline  {}", timeline(k));
            let _ = writeln!(out, "inline    {}", inline(k));
            let last = last(k, 300_000).unwrap_or_else(|| "(not an action)".into());
            let _ = writeln!(out, "last      {last}");
        }
        insta::assert_snapshot!(out, @r#"
        timeline  normal → pending
        inline    normal → pending
        last      (not an action)
        timeline  error: query failed: timeout
        inline    error: query failed: timeout
        last      (not an action)
        timeline  resize 100Gi → 200Gi  applied
        inline    resize 100Gi → 200Gi applied
        last      last: resize 100Gi → 200Gi applied at 5m00s
        timeline  resize 100Gi → 200Gi  dry_run
        inline    resize 100Gi → 200Gi dry_run
        last      last: resize 100Gi → 200Gi dry_run at 5m00s
        timeline  resize 100Gi → 200Gi  awaiting_approval
        inline    resize 100Gi → 200Gi awaiting_approval
        last      last: resize 100Gi → 200Gi awaiting_approval at 5m00s
        timeline  resize 100Gi → 200Gi  declined
        inline    resize 100Gi → 200Gi declined
        last      last: resize 100Gi → 200Gi declined at 5m00s
        timeline  resize 100Gi → 200Gi  skipped
        inline    resize 100Gi → 200Gi skipped
        last      last: resize 100Gi → 200Gi skipped at 5m00s
        timeline  resize 100Gi → 200Gi  failed
        inline    resize 100Gi → 200Gi failed
        last      last: resize 100Gi → 200Gi failed at 5m00s
        timeline  resize  skipped: StorageClass `archive` does not allow volume expansion
        inline    resize skipped (StorageClass `archive` does not allow volume expansion)
        last      last: resize skipped at 5m00s (StorageClass `archive` does not allow volume expansion)
        "#);
    }
}
