//! `backtest`: the summary per policy (objects that would have acted,
//! actions by result, the largest growth), the assumptions a backtest makes,
//! as text after simulate's timeline and as a `backtest` key beside
//! simulate's JSON. Pure.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use serde::Serialize;

use crate::engine::{ActionResult, Event, Planned, Time};
use crate::ir::{Program, format_bytes};

/// What the backtest ran over, for the assumptions.
#[derive(Clone, Debug)]
pub struct Window {
    /// RFC 3339, the aligned start and the last point.
    pub from: String,
    pub to: String,
    pub step: Time,
    pub points: usize,
    /// 1-based count of range queries per binding.
    pub chunks: usize,
    /// Where the objects came from: `the scenario x.yaml`, `the cluster`.
    pub objects_from: String,
}

/// One policy's summary.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct PolicySummary {
    pub policy: String,
    /// Objects with an action that was applied, dry_run or awaiting approval.
    pub would_have_acted: Vec<String>,
    /// Actions by result name.
    pub actions: BTreeMap<&'static str, usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub largest_growth: Option<Growth>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Growth {
    pub object: String,
    /// Seconds from the start.
    pub t: i64,
    pub from: String,
    pub to: String,
    pub from_bytes: u64,
    pub to_bytes: u64,
}

fn acted(r: ActionResult) -> bool {
    matches!(
        r,
        ActionResult::Applied | ActionResult::DryRun | ActionResult::AwaitingApproval
    )
}

/// The summary of every policy of `program`, in source order.
pub fn summary(program: &Program, events: &[Event], start: Time) -> Vec<PolicySummary> {
    program
        .policies
        .iter()
        .map(|p| {
            let mut s = PolicySummary {
                policy: p.name.clone(),
                ..PolicySummary::default()
            };
            let mut objects = BTreeSet::new();
            for e in events.iter().filter(|e| e.policy == p.name) {
                let Some(a) = e.kind.as_action() else {
                    continue;
                };
                *s.actions.entry(a.result.name()).or_default() += 1;
                if !acted(a.result) {
                    continue;
                }
                objects.insert(e.object.to_string());
                if let Some(Planned::Resize { from, to }) = a.planned {
                    let growth = to.saturating_sub(*from);
                    let larger = s
                        .largest_growth
                        .as_ref()
                        .is_none_or(|g| growth > g.to_bytes - g.from_bytes);
                    if larger {
                        s.largest_growth = Some(Growth {
                            object: e.object.to_string(),
                            t: (e.time - start) / 1000,
                            from: format_bytes(*from as f64),
                            to: format_bytes(*to as f64),
                            from_bytes: *from,
                            to_bytes: *to,
                        });
                    }
                }
            }
            s.would_have_acted = objects.into_iter().collect();
            s
        })
        .collect()
}

/// What a backtest takes for granted, in words.
pub fn assumptions(w: &Window) -> Vec<String> {
    vec![
        format!(
            "objects as they are now ({}), not as they were during the window",
            w.objects_from
        ),
        "a resize lowers usage as the bytes in use stay: the simulated world, not the \
         history, gives the volume stats after a resize"
            .into(),
        format!(
            "one tick per step of {}: each tick reads the range query's point at that time \
             (the instant query a live tick would have sent)",
            super::elapsed(w.step)
        ),
        format!(
            "the window {} … {} ({} points, {} range quer{} per binding)",
            w.from,
            w.to,
            w.points,
            w.chunks,
            if w.chunks == 1 { "y" } else { "ies" }
        ),
    ]
}

/// The summary and the assumptions, after the timeline.
pub fn text(summary: &[PolicySummary], window: &Window) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "\nsummary:");
    for s in summary {
        let actions = if s.actions.is_empty() {
            "no actions".to_string()
        } else {
            s.actions
                .iter()
                .map(|(r, n)| format!("{n} {r}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let _ = writeln!(
            out,
            "  {}: {} object(s) would have acted; {actions}",
            s.policy,
            s.would_have_acted.len()
        );
        if let Some(g) = &s.largest_growth {
            let _ = writeln!(
                out,
                "    largest growth: {} {} -> {} at {}",
                g.object,
                g.from,
                g.to,
                super::elapsed(g.t * 1000)
            );
        }
    }
    let _ = writeln!(out, "\nassumptions:");
    for a in assumptions(window) {
        let _ = writeln!(out, "  - {a}");
    }
    out
}

#[derive(Serialize)]
struct JsonBacktest<'a> {
    from: &'a str,
    to: &'a str,
    step_seconds: i64,
    points: usize,
    chunks: usize,
    summary: &'a [PolicySummary],
    assumptions: Vec<String>,
}

/// simulate's JSON (`{"events", "objects"}`) with a `backtest` key added.
pub fn json(simulation: &str, summary: &[PolicySummary], window: &Window) -> String {
    let extra = JsonBacktest {
        from: &window.from,
        to: &window.to,
        step_seconds: window.step / 1000,
        points: window.points,
        chunks: window.chunks,
        summary,
        assumptions: assumptions(window),
    };
    let mut value: serde_json::Value = serde_json::from_str(simulation).unwrap_or_default();
    if let serde_json::Value::Object(map) = &mut value {
        map.insert(
            "backtest".into(),
            serde_json::to_value(extra).unwrap_or_default(),
        );
    }
    serde_json::to_string_pretty(&value).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{EventKind, ObjectId};
    use crate::ir::{ActionName, Kind};

    fn action(t: Time, object: &str, from: u64, to: u64, result: ActionResult) -> Event {
        Event {
            time: t,
            policy: "grow".into(),
            object: ObjectId::new(Kind::Pvc, Some("db"), object),
            kind: EventKind::Action {
                action: ActionName::Resize,
                planned: Some(Planned::Resize { from, to }),
                result,
                reason: None,
            },
        }
    }

    #[test]
    fn the_summary_counts_results_and_finds_the_largest_growth() {
        let c = crate::compile::compile(vec![(
            "t.apr".into(),
            "policy grow {\n  on pvc\n  when pvc.usage > 80% for 5m\n  then resize(+50%, max = 2Ti)\n}\n"
                .into(),
        )]);
        assert!(!c.has_errors());
        let program = c.checked.program;
        let gi = 1 << 30;
        let events = [
            action(60_000, "a", 10 * gi, 15 * gi, ActionResult::Applied),
            action(120_000, "b", 100 * gi, 150 * gi, ActionResult::Applied),
            action(180_000, "c", 100 * gi, 150 * gi, ActionResult::Skipped),
            action(240_000, "a", 15 * gi, 22 * gi, ActionResult::Applied),
        ];
        let s = summary(&program, &events, 0);
        let w = Window {
            from: "2026-01-05T00:00:00Z".into(),
            to: "2026-01-12T00:00:00Z".into(),
            step: 60_000,
            points: 10_081,
            chunks: 1,
            objects_from: "the scenario s.yaml".into(),
        };
        insta::assert_snapshot!(text(&s, &w));
    }
}
