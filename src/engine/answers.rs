//! What each binding's query answered at one tick, joined to objects by the
//! binding's labels: the [`MetricSource`] that a live tick (`run`, the REPL
//! against Prometheus), a backtest and a simulation of raw series all read.
//! Pure: the answers come in as data.
//!
//! Per binding and per object, three different answers stay three
//! ([`Sample`]): a value; no data (no series for the object, or NaN/±Inf);
//! an error (the query failed, or two series name the same object). An
//! error of one binding is that binding's only.

use std::collections::{BTreeMap, HashMap};

use crate::engine::{MetricSource, ObjectId, Sample, Time};
use crate::ir::MetricId;

/// One series of an instant answer: its labels and its value (`None` for
/// NaN or ±Inf, as the client reads them).
#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    pub labels: BTreeMap<String, String>,
    pub value: Option<f64>,
}

/// An answer's entries by namespace (`""` when the join labels name no
/// namespace) and name, so that a lookup borrows the object's id.
/// foldhash: looked up per object per tick; iterated only to be sorted.
type ByObject = foldhash::HashMap<String, foldhash::HashMap<String, Entry>>;

/// What one binding's query gave this tick.
#[derive(Clone, Debug)]
enum Answer {
    Failed(String),
    Series {
        /// The join labels, for messages.
        join: Vec<String>,
        values: ByObject,
    },
}

/// The series of one object in an answer.
#[derive(Clone, Copy, Debug)]
enum Entry {
    /// One series: its value, None for NaN or ±Inf.
    One(Option<f64>),
    /// Several series name the object: which to believe is not ours to say.
    Many(usize),
}

/// The answers of one tick, as the engine reads them.
#[derive(Clone, Debug, Default)]
pub struct Fetched {
    answers: HashMap<MetricId, Answer>,
    /// Per binding: series whose labels lack a join label (they name no
    /// object), for logs.
    pub unjoined: HashMap<MetricId, usize>,
    /// Per binding: how long its query took (shared queries: the one run).
    pub took: HashMap<MetricId, std::time::Duration>,
}

impl Fetched {
    /// Joins one binding's answer (or failure) to objects by `join`.
    pub fn add(&mut self, metric: MetricId, join: &[String], answer: Result<Vec<Series>, String>) {
        let series = match answer {
            Ok(series) => series,
            Err(e) => {
                self.answers.insert(metric, Answer::Failed(e));
                return;
            }
        };
        let mut values: ByObject = ByObject::default();
        let mut unjoined = 0;
        for mut s in series {
            let Some((namespace, name)) = key_of(join, &mut s) else {
                unjoined += 1;
                continue;
            };
            let value = s.value.filter(|v| v.is_finite());
            values
                .entry(namespace.unwrap_or_default())
                .or_default()
                .entry(name)
                .and_modify(|e| {
                    *e = match *e {
                        Entry::One(_) => Entry::Many(2),
                        Entry::Many(n) => Entry::Many(n + 1),
                    }
                })
                .or_insert(Entry::One(value));
        }
        if unjoined > 0 {
            self.unjoined.insert(metric, unjoined);
        }
        self.answers.insert(
            metric,
            Answer::Series {
                join: join.to_vec(),
                values,
            },
        );
    }
}

impl Fetched {
    /// The objects `metric`'s answer names by its join labels, as
    /// `(namespace, name)` (no namespace for cluster-scoped kinds), sorted;
    /// none when it failed or was not queried. The REPL infers the objects
    /// to show from them when it has no other list.
    pub fn named(&self, metric: MetricId) -> Vec<(Option<String>, String)> {
        let Some(Answer::Series { join, values }) = self.answers.get(&metric) else {
            return Vec::new();
        };
        let mut out: Vec<(Option<String>, String)> = values
            .iter()
            .flat_map(|(namespace, names)| {
                let namespace = (join.len() >= 2).then(|| namespace.clone());
                names.keys().map(move |n| (namespace.clone(), n.clone()))
            })
            .collect();
        out.sort();
        out
    }

    /// The bindings whose query failed this tick, with the error.
    pub fn failures(&self) -> impl Iterator<Item = (MetricId, &str)> {
        self.answers.iter().filter_map(|(m, a)| match a {
            Answer::Failed(e) => Some((*m, e.as_str())),
            Answer::Series { .. } => None,
        })
    }
}

/// The object a series names by the join labels: `[namespace, name]`, or
/// `[name]` for cluster-scoped kinds. The labels are taken out of the series.
pub(crate) fn key_of(join: &[String], s: &mut Series) -> Option<(Option<String>, String)> {
    if join.len() >= 2 {
        let (namespace, name) = (&join[0], &join[1]);
        if !s.labels.contains_key(namespace) || !s.labels.contains_key(name) {
            return None;
        }
        Some((s.labels.remove(namespace), s.labels.remove(name)?))
    } else {
        Some((None, s.labels.remove(join.first()?)?))
    }
}

impl MetricSource for Fetched {
    fn sample(&self, metric: MetricId, object: &ObjectId, _t: Time) -> Sample {
        match self.answers.get(&metric) {
            // Not queried this tick: no policy reads it.
            None => Sample::Missing,
            Some(Answer::Failed(e)) => Sample::Error(e.clone()),
            Some(Answer::Series { join, values }) => {
                let namespace = if join.len() >= 2 {
                    object.namespace.as_deref().unwrap_or_default()
                } else {
                    ""
                };
                let entry = values
                    .get(namespace)
                    .and_then(|names| names.get(object.name.as_str()));
                match entry {
                    None | Some(Entry::One(None)) => Sample::Missing,
                    Some(Entry::One(Some(v))) => Sample::Value(*v),
                    Some(Entry::Many(n)) => Sample::Error(format!(
                        "{n} series name this object; a binding must give one per object \
                         (aggregate it, e.g. `max by ({}) (…)`)",
                        join.join(", ")
                    )),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::Kind;

    fn series(labels: &[(&str, &str)], value: Option<f64>) -> Series {
        Series {
            labels: labels
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<BTreeMap<_, _>>(),
            value,
        }
    }

    fn pvc(ns: &str, name: &str) -> ObjectId {
        ObjectId::new(Kind::Pvc, Some(ns), name)
    }

    #[test]
    fn answers_join_to_objects_by_their_labels() {
        let join = ["namespace".to_string(), "persistentvolumeclaim".to_string()];
        let usage = MetricId(0);
        let mut f = Fetched::default();
        f.add(
            usage,
            &join,
            Ok(vec![
                series(
                    &[("namespace", "db"), ("persistentvolumeclaim", "a")],
                    Some(81.5),
                ),
                series(
                    &[("namespace", "db"), ("persistentvolumeclaim", "nan")],
                    None,
                ),
                series(
                    &[("namespace", "web"), ("persistentvolumeclaim", "a")],
                    Some(10.0),
                ),
                series(
                    &[("namespace", "db"), ("persistentvolumeclaim", "twice")],
                    Some(1.0),
                ),
                series(
                    &[("namespace", "db"), ("persistentvolumeclaim", "twice")],
                    Some(2.0),
                ),
                series(&[("persistentvolumeclaim", "no-namespace")], Some(3.0)),
            ]),
        );
        let at = |o: &ObjectId| f.sample(usage, o, 0);
        assert_eq!(at(&pvc("db", "a")), Sample::Value(81.5));
        assert_eq!(at(&pvc("web", "a")), Sample::Value(10.0));
        assert_eq!(at(&pvc("db", "nan")), Sample::Missing, "NaN is no data");
        assert_eq!(at(&pvc("db", "absent")), Sample::Missing);
        match at(&pvc("db", "twice")) {
            Sample::Error(e) => assert!(e.starts_with("2 series name this object"), "{e}"),
            other => panic!("two series for one object must be an error: {other:?}"),
        }
        assert_eq!(f.unjoined.get(&usage), Some(&1));
        // A binding not queried this tick reads as no data.
        assert_eq!(f.sample(MetricId(7), &pvc("db", "a"), 0), Sample::Missing);
    }

    #[test]
    fn a_failed_query_is_an_error_for_its_binding_only() {
        let join = ["node".to_string()];
        let mut f = Fetched::default();
        f.add(
            MetricId(0),
            &join,
            Err("Prometheus at x is unreachable".into()),
        );
        f.add(
            MetricId(1),
            &join,
            Ok(vec![series(&[("node", "n1")], Some(0.5))]),
        );
        let node = ObjectId::new(Kind::Node, None, "n1");
        assert_eq!(
            f.sample(MetricId(0), &node, 0),
            Sample::Error("Prometheus at x is unreachable".into())
        );
        assert_eq!(f.sample(MetricId(1), &node, 0), Sample::Value(0.5));
    }
}
