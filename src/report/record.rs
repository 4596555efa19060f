//! `backtest --record FILE`: what a backtest fetched, as a scenario that
//! `simulate` replays offline to the same timeline. Pure.
//!
//! The series are written in binding form (`metric: pvc.usage`, `object:
//! pvc/db/x`), one point per step from the start: a range query answers
//! with evaluated values, not the raw samples behind them, so the binding's
//! values are what can be replayed faithfully. The lookback is one step, as
//! the backtest reads its history: a step without a point is no data.

use std::collections::HashMap;

use serde_json::{Map, Value};

use crate::engine::{ObjectId, Time};
use crate::ir::{MetricId, Program};
use crate::sim::series::Point;

/// Points in promtool's expanding notation, runs folded: `5x3` is four 5s,
/// `_x3` three missing steps, `error` a step that reads as an error.
pub fn values(points: &[Point]) -> String {
    let mut terms: Vec<String> = Vec::new();
    let mut i = 0;
    while i < points.len() {
        let p = points[i];
        let run = points[i..]
            .iter()
            .take_while(|q| same(**q, p))
            .count()
            .max(1);
        terms.push(match (p, run) {
            (Point::Value(v), 1) => format!("{v}"),
            (Point::Value(v), n) => format!("{v}x{}", n - 1),
            (Point::Missing, 1) => "_".into(),
            (Point::Missing, n) => format!("_x{n}"),
            (Point::Stale, 1) => "stale".into(),
            (Point::Stale, n) => format!("stalex{n}"),
            (Point::Error, 1) => "error".into(),
            (Point::Error, n) => format!("errorx{n}"),
        });
        i += run;
    }
    terms.join(" ")
}

fn same(a: Point, b: Point) -> bool {
    match (a, b) {
        (Point::Value(x), Point::Value(y)) => x.to_bits() == y.to_bits(),
        (Point::Missing, Point::Missing)
        | (Point::Stale, Point::Stale)
        | (Point::Error, Point::Error) => true,
        _ => false,
    }
}

/// The window of a recording.
#[derive(Clone, Copy, Debug)]
pub struct Span {
    /// RFC 3339 is written; milliseconds since the epoch here.
    pub start: Time,
    pub step: Time,
    pub duration: Time,
}

/// The scenario YAML: `scenario` (the YAML of `--scenario`, as a value,
/// or an empty map) with its start, step, duration, lookback and series
/// replaced by the history's.
pub fn scenario(
    mut scenario: Value,
    span: Span,
    program: &Program,
    series: &HashMap<(MetricId, ObjectId), Vec<Point>>,
) -> String {
    if !scenario.is_object() {
        scenario = Value::Object(Map::new());
    }
    let map = scenario.as_object_mut().expect("an object");
    map.insert(
        "start".into(),
        crate::cluster::history::rfc3339(span.start).into(),
    );
    map.insert("step".into(), seconds(span.step).into());
    map.insert("duration".into(), seconds(span.duration).into());
    map.insert("lookback".into(), seconds(span.step).into());
    let mut keys: Vec<&(MetricId, ObjectId)> = series.keys().collect();
    keys.sort_by(|a, b| (a.0.0, &a.1.to_string()).cmp(&(b.0.0, &b.1.to_string())));
    let entries: Vec<Value> = keys
        .into_iter()
        .map(|key| {
            let mut e = Map::new();
            e.insert("metric".into(), program.metric(key.0).qualified().into());
            e.insert("object".into(), key.1.to_string().into());
            e.insert("values".into(), values(&series[key]).into());
            Value::Object(e)
        })
        .collect();
    map.insert("series".into(), Value::Array(entries));
    let yaml = serde_saphyr::to_string(&scenario).unwrap_or_default();
    format!(
        "# Recorded by `autopilot backtest --record`: replay with `autopilot simulate`.\n\
         # Values are the bindings' evaluated values, one per step (binding form).\n{yaml}"
    )
}

fn seconds(ms: Time) -> String {
    if ms % 1000 == 0 {
        format!("{}s", ms / 1000)
    } else {
        format!("{ms}ms")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Point::{Error, Missing, Value as V};

    #[test]
    fn runs_fold_in_promtool_notation() {
        let points = [
            V(1.0),
            V(1.0),
            V(1.0),
            V(2.5),
            Missing,
            Missing,
            V(107374182400.0),
            Missing,
            Error,
            V(-3.0),
        ];
        let text = values(&points);
        insta::assert_snapshot!(text, @"1x2 2.5 _x2 107374182400 _ error -3");
        let back = crate::sim::series::values(&text, None).unwrap();
        assert_eq!(back, points);
    }
}
