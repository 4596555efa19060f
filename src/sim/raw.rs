//! Raw Prometheus series in a scenario (`series: 'metric{label="v"}'`),
//! evaluated through each binding's PromQL by the embedded evaluator
//! ([`crate::promql`]), so that the stdlib bindings run on kubelet,
//! kube-state-metrics and node_exporter series exactly as they do live.
//!
//! Every tick, each binding's query is evaluated at the tick's time over the
//! series and joined to objects by the binding's labels
//! ([`crate::engine::answers::Fetched`], as a live tick joins Prometheus's
//! answer). An `error` step of a raw series fails, at that tick, the
//! queries that read its metric name.
//!
//! Volume statistics follow the capacity the simulated world holds
//! ([`VolumeStats`]): a PVC's `kubelet_volume_stats_capacity_bytes` from
//! the scenario is used until the world first resizes the PVC; from then on
//! it is the world's capacity, and `…_available_bytes` is that capacity less
//! the bytes in use, which stay. A PVC that has some but not all of the
//! three series gets the missing ones, derived from its capacity in the
//! scenario.
//!
//! Pure: no I/O, times passed in.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use promql_parser::label::MatchOp;
use promql_parser::parser::{self, Expr};
use promql_parser::util::{ExprVisitor, walk_expr};

use crate::diagnostic::Diagnostic;
use crate::engine::answers::{Fetched, Series};
use crate::engine::{ObjectId, Time};
use crate::ir::{Kind, MetricId, Program};
use crate::promql::{self, EvalError, Evaluator, Labels, Store};
use crate::sim::scenario::{Scenario, SeriesTarget, codes};
use crate::sim::series::Point;

/// The kubelet's volume statistics, by the names the stdlib binds.
pub const CAPACITY: &str = "kubelet_volume_stats_capacity_bytes";
pub const AVAILABLE: &str = "kubelet_volume_stats_available_bytes";
pub const USED: &str = "kubelet_volume_stats_used_bytes";

/// The longest raw series selector.
const MAX_SELECTOR: usize = 8192;

/// A scenario's raw series and the bindings' queries over them.
#[derive(Clone, Debug)]
pub struct RawSeries {
    store: Store,
    lookback: Time,
    start: Time,
    step: Time,
    /// Per metric name: the steps at which a query reading it fails.
    errors: HashMap<String, BTreeSet<u64>>,
    queries: Vec<Query>,
}

/// One binding's query, parsed once.
#[derive(Clone, Debug)]
struct Query {
    metric: MetricId,
    expr: Expr,
    /// The metric names its selectors read.
    names: Vec<String>,
    join: Vec<String>,
}

/// A selector of a raw series entry: its labels, or why it is not one.
fn series_labels(selector: &str) -> Result<Labels, String> {
    // Bounded before promql-parser, which recurses: a series has no brackets
    // but its one pair of braces, and a name and labels fit in 8 KiB.
    if selector.len() > MAX_SELECTOR {
        return Err(format!("a raw series is at most {MAX_SELECTOR} bytes"));
    }
    if selector.contains(['(', ')', '[', ']']) {
        return Err("a raw series is one metric with its labels, `name{label=\"value\"}`".into());
    }
    let expr = parser::parse(selector).map_err(|e| format!("not a PromQL series: {e}"))?;
    let Expr::VectorSelector(vs) = expr else {
        return Err("a raw series is one metric with its labels, `name{label=\"value\"}`".into());
    };
    if vs.offset.is_some() || vs.at.is_some() || !vs.matchers.or_matchers.is_empty() {
        return Err("a raw series has no `offset`, `@` or `or` of matchers".into());
    }
    let mut labels = Labels::new();
    if let Some(name) = &vs.name {
        labels.insert(promql::NAME.to_string(), name.clone());
    }
    for m in &vs.matchers.matchers {
        if !matches!(m.op, MatchOp::Equal) {
            return Err(format!(
                "`{}` does not give the label's value: a raw series names each label with `=`",
                m
            ));
        }
        if m.value.is_empty() {
            continue;
        }
        if labels.insert(m.name.clone(), m.value.clone()).is_some() {
            return Err(format!("the label `{}` is given twice", m.name));
        }
    }
    if !labels.contains_key(promql::NAME) {
        return Err("a raw series needs a metric name".into());
    }
    Ok(labels)
}

/// The metric names an expression's selectors read (`None` for a selector
/// without a name, which may read anything).
fn names(expr: &Expr) -> Vec<Option<String>> {
    struct Names(Vec<Option<String>>);
    impl ExprVisitor for Names {
        type Error = ();
        fn pre_visit(&mut self, e: &Expr) -> Result<bool, ()> {
            let vs = match e {
                Expr::VectorSelector(vs) => vs,
                Expr::MatrixSelector(ms) => &ms.vs,
                _ => return Ok(true),
            };
            let name = vs.name.clone().or_else(|| {
                vs.matchers
                    .matchers
                    .iter()
                    .find(|m| m.name == promql::NAME && matches!(m.op, MatchOp::Equal))
                    .map(|m| m.value.clone())
            });
            self.0.push(name);
            Ok(true)
        }
    }
    let mut v = Names(Vec::new());
    let _ = walk_expr(&mut v, expr);
    v.0
}

impl RawSeries {
    /// The raw entries of `scenario` as series from its start, one sample
    /// per step; `None` when it has none. Every problem is reported.
    pub fn new(
        scenario: &Scenario,
        program: &Program,
        given: &dyn Fn(MetricId) -> bool,
    ) -> Result<Option<RawSeries>, Vec<Diagnostic>> {
        let mut diags = Vec::new();
        let mut store = Store::new();
        let mut errors: HashMap<String, BTreeSet<u64>> = HashMap::new();
        let mut seen: HashMap<Labels, crate::source::Span> = HashMap::new();
        let mut any = false;
        for entry in &scenario.series {
            let SeriesTarget::Raw { selector, span } = &entry.target else {
                continue;
            };
            any = true;
            let what = format!("series entry {}", entry.index);
            let labels = match series_labels(selector) {
                Ok(l) => l,
                Err(e) => {
                    diags.push(
                        Diagnostic::error(codes::VALUE, *span, format!("{what}: {e}"))
                            .label("not a series")
                            .help(
                                "write the series as Prometheus shows it, e.g. \
                                 `kubelet_volume_stats_used_bytes{namespace=\"db\",persistentvolumeclaim=\"pg-data\"}`",
                            ),
                    );
                    continue;
                }
            };
            if let Some(first) = seen.get(&labels) {
                diags.push(
                    Diagnostic::error(
                        codes::DUPLICATE,
                        entry.span,
                        format!("{what}: the series `{selector}` already has values"),
                    )
                    .label("again")
                    .also(*first, "first given here"),
                );
                continue;
            }
            seen.insert(labels.clone(), entry.span);
            let points = match entry.values.expand(None) {
                Ok(p) => p,
                Err(e) => {
                    diags.push(
                        entry
                            .values_at
                            .series_error(&e, format!("{what}, values of `{selector}`")),
                    );
                    continue;
                }
            };
            let mut samples = Vec::with_capacity(points.len());
            for (i, p) in points.iter().enumerate() {
                let t = scenario
                    .start
                    .saturating_add((i as i64).saturating_mul(scenario.step));
                match p {
                    Point::Value(v) => samples.push((t, *v)),
                    Point::Stale => samples.push((t, promql::stale_nan())),
                    Point::Missing => {}
                    Point::Error => {
                        errors
                            .entry(labels[promql::NAME].clone())
                            .or_default()
                            .insert(i as u64);
                    }
                }
            }
            store.add(labels, samples);
        }
        if !any {
            return Ok(None);
        }
        derive_volume_stats(&mut store, scenario);
        let mut queries = Vec::new();
        for (i, m) in program.metrics.iter().enumerate() {
            let metric = MetricId(i as u32);
            // Checked when the program was: it parses.
            let Ok(expr) = parser::parse(&m.promql) else {
                continue;
            };
            let names = names(&expr).into_iter().flatten().collect();
            queries.push(Query {
                metric,
                expr,
                names,
                join: m.join.clone(),
            });
        }
        let raw = RawSeries {
            store,
            lookback: scenario.lookback,
            start: scenario.start,
            step: scenario.step,
            errors,
            queries,
        };
        // A construct the evaluator lacks is said once per binding a policy
        // reads from these series, naming it.
        for m in program.read_metrics() {
            if given(m) {
                continue;
            }
            let Some(q) = raw.queries.iter().find(|q| q.metric == m) else {
                continue;
            };
            if let Err(EvalError::Unsupported(what)) =
                raw.evaluator(&raw.store).instant(&q.expr, raw.start)
            {
                let metric = program.metric(m);
                diags.push(
                    Diagnostic::error(
                        codes::UNSUPPORTED,
                        construct(&metric.promql, metric.promql_span, &what),
                        format!(
                            "`{}` cannot be simulated from raw series: its PromQL uses {what}, \
                             which autopilot's PromQL evaluator does not support (it works live)",
                            metric.qualified()
                        ),
                    )
                    .label(format!("{what}: not in the evaluator"))
                    .help(format!(
                        "give the binding's values in the scenario instead: \
                         `series: [{{metric: {}, object: {}/…, values: \"…\"}}]`",
                        metric.qualified(),
                        metric.kind
                    )),
                );
            }
        }
        if diags.is_empty() {
            Ok(Some(raw))
        } else {
            Err(diags)
        }
    }

    fn evaluator<'a>(&self, store: &'a Store) -> Evaluator<'a> {
        Evaluator::new(store).lookback(self.lookback)
    }

    /// The series as loaded, before the world changes any.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Whether a binding's query reads any of the series.
    pub fn reads(&self, metric: MetricId) -> bool {
        self.queries
            .iter()
            .find(|q| q.metric == metric)
            .is_some_and(|q| q.names.iter().any(|n| self.store.has_name(n)))
    }

    /// Every binding evaluated at `t` over `store` (the world's copy),
    /// joined to objects.
    pub fn answers(&self, store: &Store, t: Time) -> Fetched {
        let mut fetched = Fetched::default();
        let step = if t >= self.start && self.step > 0 {
            Some(((t - self.start) / self.step) as u64)
        } else {
            None
        };
        let ev = self.evaluator(store);
        for q in &self.queries {
            let failed = step.is_some_and(|i| {
                q.names
                    .iter()
                    .any(|n| self.errors.get(n).is_some_and(|e| e.contains(&i)))
            });
            let answer = if failed {
                Err(super::source::QUERY_FAILED.to_string())
            } else {
                match ev.instant(&q.expr, t) {
                    Ok(promql::Value::Vector(v)) => Ok(v
                        .into_iter()
                        .map(|(labels, v)| Series {
                            labels,
                            value: v.is_finite().then_some(v),
                        })
                        .collect()),
                    // A binding is an instant vector (checked); anything
                    // else names no object.
                    Ok(_) => Ok(Vec::new()),
                    Err(e) => Err(format!("PromQL evaluation failed: {e}")),
                }
            };
            fetched.add(q.metric, &q.join, answer);
        }
        fetched
    }
}

/// Where in a binding's PromQL the construct an evaluator error names is:
/// the last word of `what` (`aggregation limitk`: `limitk`) found whole in
/// the text, else the whole query.
fn construct(text: &str, span: crate::source::Span, what: &str) -> crate::source::Span {
    let word_char = |c: char| c.is_alphanumeric() || c == '_';
    let found = what.split(|c: char| !word_char(c)).rev().find_map(|w| {
        if w.len() < 2 {
            return None;
        }
        text.match_indices(w)
            .map(|(i, _)| i)
            .find(|&i| {
                let before = text[..i].chars().next_back().is_none_or(|c| !word_char(c));
                let after = text[i + w.len()..]
                    .chars()
                    .next()
                    .is_none_or(|c| !word_char(c));
                before && after
            })
            .map(|i| (i, w.len()))
    });
    match found {
        Some((i, len)) => crate::source::Span::new(
            span.file,
            span.start as usize + i,
            span.start as usize + i + len,
        ),
        None => span,
    }
}

/// The join labels of a PVC's series.
fn pvc_key(labels: &Labels) -> Option<(String, String)> {
    let [ns, name] = Kind::Pvc.default_join() else {
        return None;
    };
    Some((labels.get(*ns)?.clone(), labels.get(*name)?.clone()))
}

/// Adds the volume stats a PVC lacks: with its capacity in the scenario, a
/// `used` series gives `capacity` and `available` at the same times, and an
/// `available` series gives `used` and `capacity`.
fn derive_volume_stats(store: &mut Store, scenario: &Scenario) {
    let capacities: HashMap<(String, String), f64> = scenario
        .objects
        .iter()
        .filter(|o| o.id.kind == Kind::Pvc)
        .filter_map(|o| {
            let c = o.fields.capacity? as f64;
            Some(((o.id.namespace.clone()?, o.id.name.clone()), c))
        })
        .collect();
    type Given = [Option<(Labels, Vec<(i64, f64)>)>; 3];
    let mut have: HashMap<(String, String), Given> = HashMap::new();
    for (i, name) in [CAPACITY, AVAILABLE, USED].into_iter().enumerate() {
        for (labels, samples) in store.named(name) {
            if let Some(key) = pvc_key(labels) {
                have.entry(key).or_default()[i] = Some((labels.clone(), samples.to_vec()));
            }
        }
    }
    for (key, [cap, avail, used]) in have {
        let Some(&c) = capacities.get(&key) else {
            continue;
        };
        let renamed = |labels: &Labels, name: &str| {
            let mut l = labels.clone();
            l.insert(promql::NAME.into(), name.into());
            l
        };
        let map = |samples: &[(i64, f64)], f: &dyn Fn(f64) -> f64| -> Vec<(i64, f64)> {
            samples
                .iter()
                .map(|&(t, v)| (t, if promql::is_stale(v) { v } else { f(v) }))
                .collect()
        };
        match (cap, avail, used) {
            (None, None, Some((l, s))) => {
                store.add(renamed(&l, CAPACITY), map(&s, &|_| c));
                store.add(renamed(&l, AVAILABLE), map(&s, &|u| c - u));
            }
            (Some(_), None, Some((l, s))) => {
                store.add(renamed(&l, AVAILABLE), map(&s, &|u| c - u));
            }
            (None, Some((l, s)), None) => {
                store.add(renamed(&l, CAPACITY), map(&s, &|_| c));
                store.add(renamed(&l, USED), map(&s, &|a| c - a));
            }
            (None, Some(_), Some((l, s))) => {
                store.add(renamed(&l, CAPACITY), map(&s, &|_| c));
            }
            _ => {}
        }
    }
}

/// The world's copy of the raw series, with the volume stats of the PVCs it
/// resized following its capacity.
#[derive(Clone, Debug)]
pub struct VolumeStats {
    pub store: Store,
    /// Samples at or before this time are already rewritten where needed.
    done: Time,
}

impl VolumeStats {
    pub fn new(raw: &RawSeries) -> VolumeStats {
        VolumeStats {
            store: raw.store.clone(),
            done: Time::MIN,
        }
    }

    /// Rewrites the samples after the last call and up to `t` of each PVC in
    /// `resized` (its id, its capacity in the scenario and the world's now):
    /// capacity is the world's, the bytes in use stay, so available is the
    /// capacity less them.
    pub fn follow(&mut self, t: Time, resized: &[(&ObjectId, f64, f64)]) {
        let from = self.done;
        self.done = t;
        if resized.is_empty() {
            return;
        }
        let wanted: HashMap<(String, String), (f64, f64)> = resized
            .iter()
            .filter_map(|(id, c0, c)| Some(((id.namespace.clone()?, id.name.clone()), (*c0, *c))))
            .collect();
        let in_window = |ts: i64| ts > from && ts <= t;
        // The bytes in use at each sample time, per PVC (used, else the
        // scenario's capacity less available).
        let mut used: HashMap<(String, String), BTreeMap<i64, f64>> = HashMap::new();
        for (labels, samples) in self.store.named(USED) {
            if let Some(key) = pvc_key(labels).filter(|k| wanted.contains_key(k)) {
                let u = used.entry(key).or_default();
                u.extend(samples.iter().filter(|s| in_window(s.0)).copied());
            }
        }
        self.store.rewrite(CAPACITY, |labels, samples| {
            if let Some((_, c)) = pvc_key(labels).and_then(|k| wanted.get(&k)) {
                for s in samples.iter_mut().filter(|s| in_window(s.0)) {
                    if !promql::is_stale(s.1) {
                        s.1 = *c;
                    }
                }
            }
        });
        self.store.rewrite(AVAILABLE, |labels, samples| {
            let Some(key) = pvc_key(labels) else {
                return;
            };
            let Some(&(c0, c)) = wanted.get(&key) else {
                return;
            };
            let used = used.get(&key);
            for s in samples.iter_mut().filter(|s| in_window(s.0)) {
                if promql::is_stale(s.1) {
                    continue;
                }
                let u = used
                    .and_then(|u| u.get(&s.0).copied())
                    .filter(|u| !promql::is_stale(*u))
                    .unwrap_or(c0 - s.1);
                s.1 = c - u;
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_raw_series_is_a_name_with_equal_matchers() {
        let l = series_labels(r#"up{job="a", instance="b"}"#).unwrap();
        assert_eq!(l.len(), 3);
        assert_eq!(l["__name__"], "up");
        assert!(series_labels(r#"{__name__="up"}"#).is_ok());
        for bad in [
            r#"up{job=~"a"}"#,
            "rate(up[5m])",
            "up offset 5m",
            r#"{job="a"}"#,
            "up{",
            r#"up{job="a", job="b"}"#,
            &"(".repeat(100_000),
            &format!("up{{a=\"{}\"}}", "x".repeat(10_000)),
        ] {
            assert!(series_labels(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn names_of_selectors() {
        let e =
            parser::parse("100 * a / b + rate(c[5m]) + {__name__=\"d\"} + {job=\"x\"}").unwrap();
        let got = names(&e);
        assert_eq!(
            got,
            vec![
                Some("a".into()),
                Some("b".into()),
                Some("c".into()),
                Some("d".into()),
                None
            ]
        );
    }
}
