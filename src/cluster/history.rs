//! Metric history for `backtest`: the window cut into range queries that
//! Prometheus accepts ([`plan`], pure), one range query per binding per chunk
//! with a bound on those in flight ([`fetch`]), and the answers joined to
//! objects by the binding's labels, as a live tick joins them
//! ([`crate::engine::answers`]), into one timeline per binding and object.
//!
//! Prometheus refuses a range query when `(end - start) / step > 11000`
//! (`web/api/v1/api.go`), so a chunk holds at most 11,001 points; the next
//! chunk starts one step after the previous one's end. The start is aligned
//! up to a multiple of the step, as Grafana does, so that each point is the
//! instant query a live tick at that time would have sent.
//!
//! Chunks are also cut so that one answer holds at most about
//! [`POINTS_PER_QUERY`] points, counting a series per object of the kind
//! the bindings read ([`steps_for`]): at 1,000 PVCs a week at 1m is eleven
//! answers of ~21 MB of JSON rather than one of 215 MB, each well inside a
//! query's timeout, and the answers in flight bound the memory both sides
//! hold.
//!
//! A chunk that fails fails the whole history: nothing partial is returned.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;

use super::metrics::Query;
use super::prometheus::{Prometheus, RangeSeries};
use crate::engine::answers::{Series, key_of};
use crate::engine::{ObjectId, Time};
use crate::ir::{MetricId, Program};
use crate::sim::series::Point;

/// Prometheus's limit: `(end - start) / step` may be at most this.
pub const MAX_STEPS: i64 = 11_000;

/// The most points (series × evaluation points) one range answer should
/// hold: about 21 MB of JSON.
pub const POINTS_PER_QUERY: usize = 1_000_000;

/// Steps per chunk for answers of `series` series: within
/// [`POINTS_PER_QUERY`] and [`MAX_STEPS`], and at least one.
pub fn steps_for(series: usize) -> i64 {
    let points = (POINTS_PER_QUERY / series.max(1)) as i64;
    (points - 1).clamp(1, MAX_STEPS)
}

/// One range query's time range, in milliseconds since the epoch; both ends
/// are evaluation points.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Chunk {
    pub start: Time,
    pub end: Time,
}

/// The evaluation points of a window and its chunks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Window {
    /// `from` aligned up to the step.
    pub start: Time,
    pub step: Time,
    /// The last point, at or before `to`.
    pub end: Time,
    pub chunks: Vec<Chunk>,
}

impl Window {
    /// How many evaluation points the window holds.
    pub fn points(&self) -> usize {
        ((self.end - self.start) / self.step + 1) as usize
    }
}

/// Why a window cannot be planned.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    #[error("the step must be at least 1ms")]
    Step,
    #[error("the window is empty: no multiple of the step lies between its start and its end")]
    Empty,
}

/// `value` rounded up to a multiple of `step`.
pub fn align_up(value: Time, step: Time) -> Time {
    let rem = value.rem_euclid(step);
    if rem == 0 { value } else { value - rem + step }
}

/// The points `from` (aligned up) … ≤ `to` (inclusive), in chunks of at most
/// `max_steps` steps (clamped to 1 ..= [`MAX_STEPS`]).
pub fn plan(from: Time, to: Time, step: Time, max_steps: i64) -> Result<Window, PlanError> {
    if step <= 0 {
        return Err(PlanError::Step);
    }
    let start = align_up(from, step);
    if start > to {
        return Err(PlanError::Empty);
    }
    let end = start + (to - start) / step * step;
    let max_steps = max_steps.clamp(1, MAX_STEPS);
    let mut chunks = Vec::new();
    let mut at = start;
    while at <= end {
        let last = at.saturating_add(max_steps.saturating_mul(step)).min(end);
        chunks.push(Chunk {
            start: at,
            end: last,
        });
        at = last + step;
    }
    Ok(Window {
        start,
        step,
        end,
        chunks,
    })
}

/// RFC 3339, to the second unless the time has milliseconds.
pub fn rfc3339(t: Time) -> String {
    Timestamp::from_millisecond(t)
        .map(|t| t.to_string())
        .unwrap_or_else(|_| format!("{t}ms"))
}

/// A failed range query: which binding, which chunk, why.
#[derive(Debug, thiserror::Error)]
#[error(
    "the history of `{binding}` could not be fetched: chunk {index} of {count} ({} … {}): {reason}",
    rfc3339(chunk.start),
    rfc3339(chunk.end)
)]
pub struct FetchError {
    pub binding: String,
    /// 1-based.
    pub index: usize,
    pub count: usize,
    pub chunk: Chunk,
    pub reason: String,
}

/// What a binding's history gave for one object: one point per step of the
/// window.
pub type Timelines = HashMap<(MetricId, ObjectId), Vec<Point>>;

/// The history of every binding a program reads.
#[derive(Clone, Debug, Default)]
pub struct History {
    pub series: Timelines,
    /// Per binding: steps at which two or more series named one object
    /// (read as errors, as a live tick reads them), by object.
    pub duplicates: HashMap<(MetricId, ObjectId), usize>,
    /// Per binding: series whose labels lack a join label.
    pub unjoined: HashMap<MetricId, usize>,
    /// Time spent waiting for Prometheus, summed over the queries.
    pub query_time: Duration,
    /// Range queries sent.
    pub requests: usize,
}

/// One range query per binding per chunk, at most `in_flight` at once;
/// `progress` is called once per finished query. The first failure stops
/// everything and is the answer.
pub async fn fetch(
    prometheus: &Prometheus,
    program: &Program,
    queries: &[Query],
    window: &Window,
    in_flight: usize,
    progress: &mut dyn FnMut(),
) -> Result<History, FetchError> {
    let jobs: Vec<(usize, usize)> = (0..window.chunks.len())
        .flat_map(|c| (0..queries.len()).map(move |q| (c, q)))
        .collect();
    let step = Duration::from_millis(window.step as u64);
    let mut history = History::default();
    let mut running = tokio::task::JoinSet::new();
    let mut next = jobs.into_iter();
    let start = |set: &mut tokio::task::JoinSet<_>, (c, q): (usize, usize)| {
        let p = prometheus.clone();
        let promql = Arc::<str>::from(queries[q].promql.as_str());
        let chunk = window.chunks[c];
        set.spawn(async move {
            let started = std::time::Instant::now();
            let answer = match (
                Timestamp::from_millisecond(chunk.start),
                Timestamp::from_millisecond(chunk.end),
            ) {
                (Ok(s), Ok(e)) => p
                    .query_range(&promql, s, e, step)
                    .await
                    .map_err(|e| e.to_string()),
                _ => Err("the time is out of range".into()),
            };
            (c, q, answer, started.elapsed())
        });
    };
    for job in next.by_ref().take(in_flight.max(1)) {
        start(&mut running, job);
    }
    while let Some(done) = running.join_next().await {
        let (c, q, answer, took) = match done {
            Ok(done) => done,
            Err(e) => {
                running.abort_all();
                return Err(FetchError {
                    binding: "?".into(),
                    index: 0,
                    count: window.chunks.len(),
                    chunk: Chunk {
                        start: window.start,
                        end: window.end,
                    },
                    reason: format!("a query task died: {e}"),
                });
            }
        };
        history.query_time += took;
        history.requests += 1;
        progress();
        let query = &queries[q];
        match answer {
            Ok(series) => {
                let join = &program.metric(query.metric).join;
                let kind = program.metric(query.metric).kind;
                history.join(query.metric, kind, join, window, series);
            }
            Err(reason) => {
                running.abort_all();
                return Err(FetchError {
                    binding: query.binding.clone(),
                    index: c + 1,
                    count: window.chunks.len(),
                    chunk: window.chunks[c],
                    reason,
                });
            }
        }
        if let Some(job) = next.next() {
            start(&mut running, job);
        }
    }
    Ok(history)
}

impl History {
    /// Joins one range answer of `metric` to objects by `join`: each point at
    /// its step; a step that two series of one object both have is an error.
    pub fn join(
        &mut self,
        metric: MetricId,
        kind: crate::ir::Kind,
        join: &[String],
        window: &Window,
        answer: Vec<RangeSeries>,
    ) {
        let points = window.points();
        // Per object: which steps some series of this answer already gave.
        let mut seen: HashMap<ObjectId, Vec<bool>> = HashMap::new();
        for range in answer {
            let mut s = Series {
                labels: range.labels,
                value: None,
            };
            let Some((namespace, name)) = key_of(join, &mut s) else {
                *self.unjoined.entry(metric).or_default() += 1;
                continue;
            };
            let id = ObjectId::new(kind, namespace.as_deref(), &name);
            let timeline = self
                .series
                .entry((metric, id.clone()))
                .or_insert_with(|| vec![Point::Missing; points]);
            let seen = seen
                .entry(id.clone())
                .or_insert_with(|| vec![false; points]);
            for (t, value) in range.points {
                let at = (t * 1000.0).round() as Time - window.start;
                if at < 0 || at % window.step != 0 {
                    continue;
                }
                let i = (at / window.step) as usize;
                if i >= points {
                    continue;
                }
                if seen[i] {
                    timeline[i] = Point::Error;
                    *self.duplicates.entry((metric, id.clone())).or_default() += 1;
                } else {
                    seen[i] = true;
                    timeline[i] = value.map_or(Point::Missing, Point::Value);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::Kind;
    use std::collections::BTreeMap;

    const MIN: Time = 60_000;

    #[test]
    fn eleven_thousand_and_one_points_are_one_chunk() {
        let w = plan(0, MAX_STEPS * MIN, MIN, MAX_STEPS).unwrap();
        assert_eq!(w.points(), 11_001);
        assert_eq!(
            w.chunks,
            [Chunk {
                start: 0,
                end: MAX_STEPS * MIN
            }]
        );
    }

    #[test]
    fn eleven_thousand_and_two_points_are_two_chunks() {
        let w = plan(0, (MAX_STEPS + 1) * MIN, MIN, MAX_STEPS).unwrap();
        assert_eq!(w.points(), 11_002);
        assert_eq!(
            w.chunks,
            [
                Chunk {
                    start: 0,
                    end: MAX_STEPS * MIN
                },
                Chunk {
                    start: (MAX_STEPS + 1) * MIN,
                    end: (MAX_STEPS + 1) * MIN
                }
            ]
        );
        for c in &w.chunks {
            assert!((c.end - c.start) / MIN <= MAX_STEPS);
        }
    }

    #[test]
    fn the_start_aligns_up_and_the_end_is_inclusive() {
        let w = plan(7_000, 3 * MIN, MIN, MAX_STEPS).unwrap();
        assert_eq!((w.start, w.end), (MIN, 3 * MIN));
        assert_eq!(w.points(), 3);
        let w = plan(MIN, 3 * MIN + 59_999, MIN, MAX_STEPS).unwrap();
        assert_eq!((w.start, w.end, w.points()), (MIN, 3 * MIN, 3));
        assert_eq!(align_up(-1, MIN), 0);
        assert_eq!(align_up(0, MIN), 0);
        assert_eq!(plan(7_000, 59_000, MIN, MAX_STEPS), Err(PlanError::Empty));
        assert_eq!(plan(0, MIN, 0, MAX_STEPS), Err(PlanError::Step));
    }

    #[test]
    fn a_week_at_thirty_seconds_is_two_chunks() {
        let week = 7 * 24 * 60 * MIN;
        let w = plan(0, week, 30_000, MAX_STEPS).unwrap();
        assert_eq!(w.points(), 20_161);
        assert_eq!(w.chunks.len(), 2);
        assert_eq!(w.chunks[1].start, w.chunks[0].end + 30_000);
        assert_eq!(w.chunks[1].end, week);
    }

    #[test]
    fn a_thousand_series_cut_a_week_at_one_minute_into_eleven_answers() {
        assert_eq!(steps_for(0), MAX_STEPS);
        assert_eq!(steps_for(20), MAX_STEPS);
        assert_eq!(steps_for(1_000), 999);
        assert_eq!(steps_for(2_000_000), 1);
        let week = 7 * 24 * 60 * MIN;
        let w = plan(0, week, MIN, steps_for(1_000)).unwrap();
        assert_eq!(w.points(), 10_081);
        assert_eq!(w.chunks.len(), 11);
        let mut points = 0;
        for (a, b) in w.chunks.iter().zip(&w.chunks[1..]) {
            assert_eq!(b.start, a.end + MIN);
        }
        for c in &w.chunks {
            let n = ((c.end - c.start) / MIN + 1) as usize;
            assert!(n * 1_000 <= POINTS_PER_QUERY);
            points += n;
        }
        assert_eq!(points, w.points());
        assert_eq!(w.chunks[10].end, week);
        // A bound past Prometheus's own is Prometheus's.
        assert_eq!(plan(0, week, MIN, i64::MAX).unwrap().chunks.len(), 1);
    }

    fn range(labels: &[(&str, &str)], points: &[(f64, Option<f64>)]) -> RangeSeries {
        RangeSeries {
            labels: labels
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<BTreeMap<_, _>>(),
            points: points.to_vec(),
        }
    }

    #[test]
    fn series_join_to_objects_by_their_labels_step_by_step() {
        let w = plan(0, 3 * MIN, MIN, MAX_STEPS).unwrap();
        let join = ["namespace".to_string(), "persistentvolumeclaim".to_string()];
        let m = MetricId(0);
        let mut h = History::default();
        let a = [("namespace", "db"), ("persistentvolumeclaim", "a")];
        let b = [("namespace", "db"), ("persistentvolumeclaim", "b")];
        h.join(
            m,
            Kind::Pvc,
            &join,
            &w,
            vec![
                range(&a, &[(0.0, Some(1.0)), (120.0, None), (180.0, Some(3.0))]),
                range(&b, &[(60.0, Some(5.0))]),
                // b again, with another label: two series name b at 60s.
                range(
                    &[
                        ("namespace", "db"),
                        ("persistentvolumeclaim", "b"),
                        ("node", "n2"),
                    ],
                    &[(60.0, Some(6.0)), (120.0, Some(7.0))],
                ),
                range(&[("persistentvolumeclaim", "c")], &[(0.0, Some(1.0))]),
            ],
        );
        let pvc = |n: &str| (m, ObjectId::new(Kind::Pvc, Some("db"), n));
        use Point::{Error, Missing, Value};
        assert_eq!(
            h.series[&pvc("a")],
            [Value(1.0), Missing, Missing, Value(3.0)]
        );
        assert_eq!(h.series[&pvc("b")], [Missing, Error, Value(7.0), Missing]);
        assert_eq!(h.duplicates[&pvc("b")], 1);
        assert_eq!(h.unjoined[&m], 1);
        assert_eq!(h.series.len(), 2);
        // Read as the backtest reads it: the collision says what happened.
        let timelines = h
            .series
            .into_iter()
            .map(|(k, v)| (k, crate::sim::series::Timeline::new(v)))
            .collect();
        let source = crate::sim::ScenarioSource::from_timelines(0, MIN, 5 * MIN, timelines);
        let b = ObjectId::new(Kind::Pvc, Some("db"), "b");
        assert_eq!(
            source.at(m, &b, MIN),
            crate::engine::object::Sample::Error(crate::sim::source::SERIES_COLLIDE.into())
        );
        assert_eq!(
            source.at(m, &b, 2 * MIN),
            crate::engine::object::Sample::Value(7.0)
        );
    }
}
