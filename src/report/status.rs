//! `autopilot status`: the leader, per policy the objects that are not
//! normal, the objects whose state could not be read, and the
//! ActionApprovals, as `kubectl get` would show them (aligned columns,
//! ages such as `5m` or `2h`), or as one JSON document.

use serde_json::{Value, json};

use super::column_width;
use crate::cluster::approval::rfc3339;
use crate::cluster::state::PolicyState;
use crate::cluster::status::{ObjectRow, Status};
use crate::engine::Time;
use crate::engine::state::Phase;

/// An age as kubectl shows it (`45s`, `5m30s`, `2h`, `3d4h`, `400d`).
pub fn age(ms: Time) -> String {
    if ms < 0 {
        return "0s".into();
    }
    let s = ms / 1000;
    let (m, h, d) = (s / 60, s / 3600, s / 86400);
    let with = |big: i64, unit: &str, small: i64, small_unit: &str| {
        if small == 0 {
            format!("{big}{unit}")
        } else {
            format!("{big}{unit}{small}{small_unit}")
        }
    };
    if s < 120 {
        format!("{s}s")
    } else if m < 10 {
        with(m, "m", s % 60, "s")
    } else if h < 3 {
        format!("{m}m")
    } else if h < 8 {
        with(h, "h", m % 60, "m")
    } else if h < 48 {
        format!("{h}h")
    } else if d < 8 {
        with(d, "d", h % 24, "h")
    } else if d < 365 * 2 {
        format!("{d}d")
    } else if d < 365 * 8 {
        with(d / 365, "y", d % 365, "d")
    } else {
        format!("{}y", d / 365)
    }
}

/// A phase with what it waits for: `pending`, `cooldown (2m left)`,
/// `declined by approver`.
fn state_text(phase: &Phase, now: Time) -> String {
    match phase {
        Phase::Cooldown { until } => format!("cooldown ({} left)", age(until - now)),
        Phase::Declined { by_approver: true } => "declined by approver".into(),
        Phase::Acting { left, .. } => format!("acting ({left} left)"),
        other => phase_name(other).into(),
    }
}

fn phase_name(phase: &Phase) -> &'static str {
    match phase {
        Phase::Normal => "normal",
        Phase::Pending { .. } => "pending",
        Phase::Firing => "firing",
        Phase::AwaitingApproval { .. } => "awaiting_approval",
        Phase::Acting { .. } => "acting",
        Phase::Cooldown { .. } => "cooldown",
        Phase::Declined { .. } => "declined",
    }
}

/// When the phase began: `entered`, else the time the phase itself holds.
fn since(state: &PolicyState) -> Option<Time> {
    state.entered.or(match state.phase {
        Phase::Pending { since } | Phase::AwaitingApproval { since } => Some(since),
        _ => None,
    })
}

/// Rows of cells as aligned columns, three spaces apart, no trailing blanks.
fn table(rows: &[Vec<String>]) -> String {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|c| {
            column_width(
                rows.iter()
                    .filter_map(|r| r.get(c))
                    .map(|s| s.chars().count()),
            )
        })
        .collect();
    let mut out = String::new();
    for row in rows {
        let mut line = String::new();
        for (c, cell) in row.iter().enumerate() {
            if c > 0 {
                line.push_str("   ");
            }
            line.push_str(cell);
            let pad = widths[c].saturating_sub(cell.chars().count());
            line.extend(std::iter::repeat_n(' ', pad));
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

fn ago(t: Option<Time>, now: Time) -> String {
    t.map(|t| age(now - t)).unwrap_or_else(|| "-".into())
}

fn leader_line(status: &Status, now: Time) -> String {
    let lease = format!("Lease {}/autopilot", status.namespace);
    match &status.leader {
        None => format!("no leader (no {lease})"),
        Some(l) => match (l.current(now), l.holder.as_deref()) {
            (Some(holder), _) => {
                format!("leader: {holder} (renewed {} ago)", ago(l.renewed, now))
            }
            (None, Some(holder)) if !holder.is_empty() => format!(
                "no leader ({holder}'s {lease} expired; renewed {} ago)",
                ago(l.renewed, now)
            ),
            _ => format!("no leader ({lease} is free)"),
        },
    }
}

fn object_cells(row: &ObjectRow, now: Time) -> Vec<String> {
    let s = &row.state;
    let (last, result, at) = match &s.last {
        Some(l) => (
            l.action.clone(),
            l.result.name().to_string(),
            age(now - l.at),
        ),
        None => ("-".into(), "-".into(), "-".into()),
    };
    vec![
        row.object.to_string(),
        state_text(&s.phase, now),
        ago(since(s), now),
        last,
        result,
        at,
        row.approval.clone().unwrap_or_else(|| "-".into()),
    ]
}

/// The text of `autopilot status` at `now`.
pub fn text(status: &Status, now: Time) -> String {
    let mut out = leader_line(status, now);
    out.push('\n');
    if status.policies.is_empty() && status.invalid.is_empty() {
        out.push_str("\nall objects normal\n");
    }
    for group in &status.policies {
        out.push_str(&format!("\npolicy {} ({})\n", group.policy, group.source));
        let mut rows = vec![
            [
                "OBJECT",
                "STATE",
                "SINCE",
                "LAST ACTION",
                "RESULT",
                "AT",
                "APPROVAL",
            ]
            .map(String::from)
            .to_vec(),
        ];
        rows.extend(group.objects.iter().map(|r| object_cells(r, now)));
        out.push_str(&table(&rows));
    }
    if !status.invalid.is_empty() {
        out.push_str("\ninvalid state\n");
        let mut rows = vec![vec!["OBJECT".to_string(), "ERROR".to_string()]];
        rows.extend(
            status
                .invalid
                .iter()
                .map(|i| vec![i.object.to_string(), i.error.clone()]),
        );
        out.push_str(&table(&rows));
    }
    if !status.approvals.is_empty() {
        out.push_str("\napprovals\n");
        let mut rows = vec![
            [
                "NAMESPACE",
                "NAME",
                "POLICY",
                "OBJECT",
                "ACTION",
                "DECISION",
                "AGE",
            ]
            .map(String::from)
            .to_vec(),
        ];
        rows.extend(status.approvals.iter().map(|a| {
            vec![
                a.namespace.clone(),
                a.name.clone(),
                a.spec.policy.clone(),
                a.spec.object.clone(),
                a.spec.action.clone(),
                a.spec.decision.name().into(),
                ago(a.created, now),
            ]
        }));
        out.push_str(&table(&rows));
    }
    out
}

fn time(t: Option<Time>) -> Value {
    t.map_or(Value::Null, |t| Value::String(rfc3339(t)))
}

/// `autopilot status --format json` (docs/status.md): times as RFC 3339.
pub fn json(status: &Status, now: Time) -> Value {
    let leader = status.leader.as_ref().map_or(Value::Null, |l| {
        json!({
            "holder": l.holder,
            "renewed": time(l.renewed),
            "durationSeconds": l.duration_ms.map(|d| d / 1000),
            "current": l.current(now).is_some(),
        })
    });
    let policies: Vec<Value> = status
        .policies
        .iter()
        .map(|g| {
            let objects: Vec<Value> = g
                .objects
                .iter()
                .map(|r| {
                    let s = &r.state;
                    json!({
                        "object": r.object.to_string(),
                        "state": phase_name(&s.phase),
                        "since": time(since(s)),
                        "until": match s.phase {
                            Phase::Cooldown { until } => time(Some(until)),
                            _ => Value::Null,
                        },
                        "last": s.last.as_ref().map(|l| json!({
                            "action": l.action,
                            "result": l.result.name(),
                            "at": time(Some(l.at)),
                        })),
                        "approval": r.approval,
                    })
                })
                .collect();
            json!({
                "source": g.source,
                "policy": g.policy,
                "objects": objects,
            })
        })
        .collect();
    let invalid: Vec<Value> = status
        .invalid
        .iter()
        .map(|i| json!({"object": i.object.to_string(), "error": i.error}))
        .collect();
    let approvals: Vec<Value> = status
        .approvals
        .iter()
        .map(|a| {
            json!({
                "namespace": a.namespace,
                "name": a.name,
                "source": a.spec.source,
                "policy": a.spec.policy,
                "object": a.spec.object,
                "action": a.spec.action,
                "decision": a.spec.decision.name(),
                "requested": a.spec.requested,
                "created": time(a.created),
            })
        })
        .collect();
    json!({
        "namespace": status.namespace,
        "leader": leader,
        "policies": policies,
        "invalid": invalid,
        "approvals": approvals,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::approval::{ActionApprovalSpec, ApprovalDecision, name_for};
    use crate::cluster::status::{ApprovalRow, Leader};

    const NOW: Time = 1_767_225_600_000;
    const MIN: Time = 60_000;

    #[test]
    fn ages_read_as_kubectl_shows_them() {
        let shown: Vec<String> = [
            -5_000,
            0,
            45_000,
            119_000,
            2 * MIN,
            5 * MIN + 30_000,
            10 * MIN,
            179 * MIN,
            3 * 60 * MIN,
            7 * 60 * MIN + 59 * MIN,
            8 * 60 * MIN,
            47 * 60 * MIN,
            48 * 60 * MIN,
            (3 * 24 + 4) * 60 * MIN,
            8 * 24 * 60 * MIN,
            729 * 24 * 60 * MIN,
            (3 * 365 + 20) * 24 * 60 * MIN,
            9 * 365 * 24 * 60 * MIN,
        ]
        .iter()
        .map(|&ms| age(ms))
        .collect();
        assert_eq!(
            shown.join(" "),
            "0s 0s 45s 119s 2m 5m30s 10m 179m 3h 7h59m 8h 47h 2d 3d4h 8d 729d 3y20d 9y"
        );
    }

    fn annotation(states: &str) -> String {
        format!(r#"{{"v":1,"policies":[{states}]}}"#)
    }

    fn sample() -> Status {
        let cm = "configmap/db/policies/grow.apr";
        let data: crate::engine::ObjectId = "pvc/db/data".parse().unwrap();
        let pending = name_for(cm, "grow", &data);
        let annotations = vec![
            (
                "pvc/db/logs".parse().unwrap(),
                annotation(&format!(
                    r#"{{"source":"{cm}","policy":"grow","name":"grow","state":"cooldown","until":{},"entered":{},"last":{{"action":"resize 10Gi → 20Gi","result":"applied","at":{}}}}}"#,
                    NOW + 4 * MIN,
                    NOW - MIN,
                    NOW - MIN
                )),
            ),
            (
                data.clone(),
                annotation(&format!(
                    r#"{{"source":"{cm}","policy":"grow","name":"grow","state":"awaiting_approval","since":{}}},{{"source":"files","policy":"line:3","state":"pending","since":{}}}"#,
                    NOW - 5 * MIN,
                    NOW - 2 * 3_600_000
                )),
            ),
            (
                "node/worker-1".parse().unwrap(),
                annotation(
                    r#"{"source":"files","policy":"drain","name":"drain","state":"normal"}"#,
                ),
            ),
            (
                "statefulset/db/pg".parse().unwrap(),
                "{not json".to_string(),
            ),
        ];
        let spec = |decision| ActionApprovalSpec {
            source: cm.into(),
            policy: "grow".into(),
            object: data.to_string(),
            action: "resize 100Gi → 200Gi".into(),
            plan: "[]".into(),
            requested: rfc3339(NOW - 5 * MIN),
            decision,
        };
        let approvals = vec![
            ApprovalRow {
                namespace: "web".into(),
                name: "autopilot-pvc-cache-0123456789abcdef".into(),
                spec: spec(ApprovalDecision::Declined),
                created: Some(NOW - 3 * 86_400_000),
            },
            ApprovalRow {
                namespace: "db".into(),
                name: pending,
                spec: spec(ApprovalDecision::Pending),
                created: Some(NOW - 5 * MIN),
            },
        ];
        let leader = Leader {
            holder: Some("autopilot-7d9f-abcde".into()),
            renewed: Some(NOW - 3_000),
            duration_ms: Some(15_000),
        };
        Status::build("autopilot-system", Some(leader), annotations, approvals)
    }

    #[test]
    fn the_text_groups_objects_by_policy() {
        insta::assert_snapshot!(text(&sample(), NOW));
    }

    #[test]
    fn the_json_holds_the_same() {
        insta::assert_json_snapshot!(json(&sample(), NOW));
    }

    #[test]
    fn no_lease_an_expired_one_and_nothing_to_show() {
        let mut lines = Vec::new();
        let expired = Leader {
            holder: Some("old".into()),
            renewed: Some(NOW - 20_000),
            duration_ms: Some(15_000),
        };
        let free = Leader::default();
        for leader in [None, Some(expired), Some(free)] {
            let status = Status::build("autopilot-system", leader, Vec::new(), Vec::new());
            lines.push(text(&status, NOW));
        }
        insta::assert_snapshot!(lines.join("--\n"));
    }
}
