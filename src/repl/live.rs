//! The REPL against a live Prometheus: what the session needs from the
//! outside world ([`Live`], which the CLI implements with HTTP and a kube
//! client), the live clock (`:at`), and the objects an expression is
//! evaluated for. No I/O here: the session asks [`Live`].
//!
//! Objects, in this order: the cluster as it is now (`--kubeconfig`); else
//! the scenario's (`--scenario`); else the objects the answers name through
//! the join labels of the bindings the expression reads, which the output
//! says (an object no series names is then not shown at all).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Arc;

use jiff::{SignedDuration, Timestamp};

use super::Session;
use super::show::{show_condition, show_table};
use crate::check::CheckedExpr;
use crate::cluster::metrics::Fetched;
use crate::engine::eval::{self, Cx, Val};
use crate::engine::{Namespace, Object, ObjectId};
use crate::ir::{self, Kind, MetricId, Program, Type};

/// What a live session reads from outside.
pub trait Live {
    /// Where the answers come from, for the banner and each result:
    /// Prometheus's URL.
    fn source(&self) -> String;
    /// The time now.
    fn now(&self) -> Timestamp;
    /// The answers of the queries of `metrics` at `at`, one query per
    /// binding; a failed query is an error of its binding.
    fn fetch(&mut self, program: &Program, metrics: &[MetricId], at: Timestamp) -> Fetched;
    /// Whether [`Live::objects`] asks a cluster.
    fn has_cluster(&self) -> bool;
    /// The objects of `kind` in the cluster now, and its namespaces (for
    /// `namespace.labels…`); `None` when there is no cluster to ask.
    fn objects(&mut self, kind: Kind) -> Option<Result<Listed, String>>;
}

/// A cluster's objects of one kind and its namespaces.
pub type Listed = (Vec<Object>, BTreeMap<String, Namespace>);

impl Session {
    /// The live clock as `:at` and the banner show it.
    pub(super) fn live_clock(&self) -> String {
        match self.live_at {
            Some(at) => format!("at {}", show_time(at)),
            None => "now (each evaluation queries again)".into(),
        }
    }

    /// `:at TIME` when live.
    pub(super) fn set_live_clock(&mut self, arg: &str) -> Result<String, String> {
        let Some(live) = &self.live else {
            return Err("error: not live\n".into());
        };
        let now = live.now();
        let at = parse_at(arg, now).map_err(|e| format!("error: {e}\n"))?;
        self.live_at = (arg.trim() != "now").then_some(at);
        Ok(format!("clock {}\n", self.live_clock()))
    }

    /// An expression about `kind` evaluated on the answers of a live
    /// Prometheus at the live clock.
    pub(super) fn show_live(&mut self, kind: Kind, c: &CheckedExpr) -> String {
        let program = Arc::clone(&self.built.program);
        let scenario = self.scenario_objects(kind);
        let Some(live) = self.live.as_mut() else {
            return String::new();
        };
        let at = self.live_at.unwrap_or_else(|| live.now());
        let fetched = live.fetch(&program, &c.metrics, at);
        let source = live.source();
        let bindings: Vec<String> = c
            .metrics
            .iter()
            .map(|m| program.metric(*m))
            .filter(|m| m.kind == kind)
            .map(|m| format!("`{}`", m.qualified()))
            .collect();
        let mut failed: Vec<String> = fetched
            .failures()
            .map(|(m, e)| format!("error: {}: {e}\n", program.metric(m).qualified()))
            .collect();
        failed.sort();
        let (objects, namespaces, from) = match live.objects(kind) {
            Some(Ok((objects, namespaces))) => (objects, namespaces, "the cluster now".to_string()),
            Some(Err(e)) => {
                return format!("error: cannot list the {kind} objects of the cluster: {e}\n");
            }
            None => match scenario {
                Some((objects, namespaces)) => (objects, namespaces, "the scenario".to_string()),
                None if bindings.is_empty() => {
                    return format!(
                        "error: `{}` reads no metric binding of {kind}, so no answer names the \
                         objects to evaluate it for\n  help: give --kubeconfig FILE or --scenario FILE \
                         for the objects\n",
                        ir::show(&program, kind, &c.expr)
                    );
                }
                None => (
                    named_objects(&program, &fetched, &c.metrics, kind),
                    BTreeMap::new(),
                    format!("those the series of {} name", bindings.join(", ")),
                ),
            },
        };
        let when = format!("at {} (live: {source}; objects: {from})", show_time(at));
        if objects.is_empty() {
            if !failed.is_empty() {
                return failed.concat();
            }
            let mut out = format!("no data: no {kind} objects {when}");
            if from.starts_with("those") {
                let _ = write!(out, "; {} had no series then", bindings.join(", "));
            }
            out.push('\n');
            return out;
        }
        let t = at.as_millisecond();
        let rows: Vec<(ObjectId, Val)> = objects
            .iter()
            .map(|o| {
                let namespace = o.id.namespace.as_ref().and_then(|n| namespaces.get(n));
                let cx = Cx {
                    program: &program,
                    object: o,
                    namespace,
                    metrics: &fetched,
                    t,
                    cache: None,
                };
                (o.id.clone(), eval::eval(&c.expr, &cx))
            })
            .collect();
        if c.expr.ty == Type::Bool {
            show_condition(&rows, &when)
        } else {
            show_table(kind, &c.expr.ty, &rows, &when)
        }
    }

    /// The scenario's objects of `kind` (as at the clock) and namespaces.
    fn scenario_objects(
        &mut self,
        kind: Kind,
    ) -> Option<(Vec<Object>, BTreeMap<String, Namespace>)> {
        self.built.world.as_ref()?;
        self.ensure_sim();
        let sim = self.sim.as_ref()?;
        let mut objects: Vec<Object> = sim
            .world
            .objects()
            .into_iter()
            .filter(|o| o.id.kind == kind)
            .collect();
        objects.sort_by(|a, b| a.id.cmp(&b.id));
        Some((objects, sim.world.namespaces().clone()))
    }
}

/// The objects of `kind` that the answers of `metrics` name, each once,
/// sorted. Bindings of another kind name none.
pub fn named_objects(
    program: &Program,
    fetched: &Fetched,
    metrics: &[MetricId],
    kind: Kind,
) -> Vec<Object> {
    let mut ids: Vec<ObjectId> = metrics
        .iter()
        .filter(|m| program.metric(**m).kind == kind)
        .flat_map(|m| fetched.named(*m))
        .map(|(namespace, name)| ObjectId::new(kind, namespace.as_deref(), &name))
        .collect();
    ids.sort();
    ids.dedup();
    ids.into_iter().map(Object::new).collect()
}

/// The time `:at` names, given the time `now`:
/// - `now`;
/// - an RFC 3339 time, `2026-12-03T16:00:00Z` (an offset is required);
/// - Unix seconds, as Prometheus's API takes them, `1764777600` or `1764777600.5`;
/// - relative to now, as Grafana writes it: `now-1h`, or `-1h`, `-1h30m`, `-90s`
///   (Prometheus duration units `ms s m h d w y`).
///
/// A relative time is resolved once, when `:at` is given: later evaluations
/// read the same instant. A time after `now` is an error (Prometheus would
/// answer for it, but with nothing yet scraped).
pub fn parse_at(arg: &str, now: Timestamp) -> Result<Timestamp, String> {
    let arg = arg.trim();
    let relative = arg
        .strip_prefix("now")
        .map(str::trim_start)
        .or_else(|| arg.starts_with('-').then_some(arg));
    let at = if let Some(rest) = relative {
        if rest.is_empty() {
            return Ok(now);
        }
        let Some(duration) = rest.strip_prefix('-').and_then(|d| duration(d.trim())) else {
            return Err(format!(
                "`{arg}` is not a time before now; write it like `-1h`, `now-30m` or `-1h30m`"
            ));
        };
        now.checked_sub(duration)
            .map_err(|_| format!("`{arg}` is too far back"))?
    } else if !arg.is_empty() && arg.chars().all(|c| c.is_ascii_digit() || c == '.') {
        unix(arg).ok_or_else(|| format!("`{arg}` is not a Unix time in seconds"))?
    } else {
        arg.parse::<Timestamp>().map_err(|_| {
            format!(
                "`{arg}` is not a time: write an RFC 3339 time (`2026-12-03T16:00:00Z`), \
                 Unix seconds, `now`, or a time before now (`-1h`, `now-30m`)"
            )
        })?
    };
    if at > now {
        return Err(format!(
            "`{arg}` is in the future ({}); Prometheus has no samples there yet",
            show_time(at)
        ));
    }
    Ok(at)
}

fn unix(arg: &str) -> Option<Timestamp> {
    let secs: f64 = arg.parse().ok()?;
    if !secs.is_finite() || secs > 1e13 {
        return None;
    }
    Timestamp::from_millisecond((secs * 1000.0).round() as i64).ok()
}

/// A Prometheus duration: `1h30m`, `90s`, `500ms`; None if it is not one or
/// is zero.
fn duration(text: &str) -> Option<SignedDuration> {
    let mut rest = text;
    let mut ms: i64 = 0;
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !c.is_ascii_digit())?;
        if digits == 0 {
            return None;
        }
        let n: i64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let unit: i64 = match &rest[..unit_len] {
            "ms" => 1,
            "s" => 1_000,
            "m" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            "w" => 7 * 86_400_000,
            "y" => 365 * 86_400_000,
            _ => return None,
        };
        rest = &rest[unit_len..];
        ms = ms.checked_add(n.checked_mul(unit)?)?;
    }
    (ms > 0).then(|| SignedDuration::from_millis(ms))
}

/// A time as results show it: RFC 3339 in UTC, to the second (or the
/// millisecond when it has one).
pub fn show_time(t: Timestamp) -> String {
    if t.subsec_millisecond() == 0 {
        format!("{t:.0}")
    } else {
        format!("{t:.3}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> Timestamp {
        "2026-12-03T16:00:00Z".parse().unwrap()
    }

    fn at(arg: &str) -> Result<String, String> {
        parse_at(arg, now()).map(show_time)
    }

    #[test]
    fn at_takes_what_a_prometheus_user_writes() {
        let ok = [
            ("now", "2026-12-03T16:00:00Z"),
            ("-1h", "2026-12-03T15:00:00Z"),
            ("now-1h", "2026-12-03T15:00:00Z"),
            ("now - 30m", "2026-12-03T15:30:00Z"),
            ("-1h30m", "2026-12-03T14:30:00Z"),
            ("-1d", "2026-12-02T16:00:00Z"),
            ("-500ms", "2026-12-03T15:59:59.500Z"),
            ("2026-12-03T15:20:00Z", "2026-12-03T15:20:00Z"),
            ("2026-12-03T16:20:00+01:00", "2026-12-03T15:20:00Z"),
            ("1764777600", "2025-12-03T16:00:00Z"),
            ("1764777600.25", "2025-12-03T16:00:00.250Z"),
        ];
        for (arg, want) in ok {
            assert_eq!(at(arg).as_deref(), Ok(want), "{arg}");
        }
    }

    #[test]
    fn at_refuses_what_is_not_a_past_time() {
        for arg in [
            "",
            "1h",
            "-",
            "-1x",
            "-h",
            "now+1h",
            "-0s",
            "2026-12-03",
            "2026-12-03T15:00:00",
            "2027-01-01T00:00:00Z",
            "-9999999999y",
            "1.2.3",
        ] {
            let e = at(arg).expect_err(arg);
            assert!(!e.contains('\n'), "{arg}: one line: {e}");
        }
        insta::assert_snapshot!(at("2027-01-01T00:00:00Z").unwrap_err(), @"`2027-01-01T00:00:00Z` is in the future (2027-01-01T00:00:00Z); Prometheus has no samples there yet");
        insta::assert_snapshot!(at("-1x").unwrap_err(), @"`-1x` is not a time before now; write it like `-1h`, `now-30m` or `-1h30m`");
    }
}
