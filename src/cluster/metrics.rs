//! Live metric values for the engine: each tick, one instant query per
//! binding that some policy reads (never one per object), run concurrently
//! with a bound on how many are in flight, each answer joined to objects by
//! the binding's labels ([`Fetched`], in `engine::answers`: value, no data
//! and error kept apart).
//!
//! Label matchers from the configuration (`cluster="eu-1"`, one cluster's
//! series in a shared Thanos or Mimir) are put into every selector of every
//! query through promql-parser's AST, not by pasting strings.

use std::collections::HashMap;
use std::sync::Arc;

use jiff::Timestamp;
use promql_parser::label::{MatchOp, Matcher};
use promql_parser::parser::{self, Expr};

use super::prometheus::{Prometheus, Sample as PromSample};
pub use crate::engine::answers::{Fetched, Series};
use crate::ir::{MetricId, Program};

/// How many queries of one tick may be in flight at once, unless configured.
pub const DEFAULT_IN_FLIGHT: usize = 8;

/// A label matcher to inject, as the configuration writes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LabelMatcher {
    pub name: String,
    pub op: MatchKind,
    pub value: String,
}

/// The four matcher operators of PromQL.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MatchKind {
    Equal,
    NotEqual,
    Regex,
    NotRegex,
}

impl LabelMatcher {
    fn to_promql(&self) -> Result<Matcher, String> {
        let op = match self.op {
            MatchKind::Equal => MatchOp::Equal,
            MatchKind::NotEqual => MatchOp::NotEqual,
            MatchKind::Regex | MatchKind::NotRegex => {
                // Anchored, as Prometheus anchors every regex matcher.
                let re = regex::Regex::new(&format!("^(?:{})$", self.value))
                    .map_err(|e| format!("`{}` is not a regular expression: {e}", self.value))?;
                if self.op == MatchKind::Regex {
                    MatchOp::Re(re)
                } else {
                    MatchOp::NotRe(re)
                }
            }
        };
        Ok(Matcher::new(op, &self.name, &self.value))
    }
}

/// `promql` with `matchers` added to each of its selectors. A selector that
/// already matches one of the labels keeps its own matcher and gets the
/// injected one too: both must hold, so a query can only narrow.
pub fn inject(promql: &str, matchers: &[LabelMatcher]) -> Result<String, String> {
    if matchers.is_empty() {
        return Ok(promql.to_string());
    }
    let extra = matchers
        .iter()
        .map(LabelMatcher::to_promql)
        .collect::<Result<Vec<_>, _>>()?;
    let mut expr = parser::parse(promql)?;
    add_matchers(&mut expr, &extra);
    Ok(expr.to_string())
}

fn add_matchers(e: &mut Expr, extra: &[Matcher]) {
    let add = |vs: &mut parser::VectorSelector| {
        for m in extra {
            vs.matchers.matchers.push(m.clone());
            for or in &mut vs.matchers.or_matchers {
                or.push(m.clone());
            }
        }
    };
    match e {
        Expr::VectorSelector(vs) => add(vs),
        Expr::MatrixSelector(ms) => add(&mut ms.vs),
        Expr::Aggregate(a) => {
            add_matchers(&mut a.expr, extra);
            if let Some(p) = &mut a.param {
                add_matchers(p, extra);
            }
        }
        Expr::Unary(u) => add_matchers(&mut u.expr, extra),
        Expr::Binary(b) => {
            add_matchers(&mut b.lhs, extra);
            add_matchers(&mut b.rhs, extra);
        }
        Expr::Paren(p) => add_matchers(&mut p.expr, extra),
        Expr::Subquery(s) => add_matchers(&mut s.expr, extra),
        Expr::Call(c) => {
            for arg in &mut c.args.args {
                add_matchers(arg, extra);
            }
        }
        Expr::NumberLiteral(_) | Expr::StringLiteral(_) | Expr::Extension(_) => {}
    }
}

/// The query of one binding, as it is sent.
#[derive(Clone, Debug, PartialEq)]
pub struct Query {
    pub metric: MetricId,
    /// `pvc.usage`, for logs and `/metrics`.
    pub binding: String,
    pub promql: String,
}

/// One query per binding that a policy of `program` reads, in binding order,
/// with `matchers` injected. An error names the binding.
pub fn queries(program: &Program, matchers: &[LabelMatcher]) -> Result<Vec<Query>, String> {
    program
        .read_metrics()
        .into_iter()
        .map(|id| {
            let m = program.metric(id);
            let promql = inject(&m.promql, matchers)
                .map_err(|e| format!("{}: cannot add the label matchers: {e}", m.qualified()))?;
            Ok(Query {
                metric: id,
                binding: m.qualified(),
                promql,
            })
        })
        .collect()
}

/// Runs every query at `at`, at most `in_flight` at once, and joins the
/// answers. Each query has the client's timeout; a failed query fails its
/// binding only.
pub async fn fetch(
    prometheus: &Prometheus,
    program: &Program,
    queries: &[Query],
    at: Timestamp,
    in_flight: usize,
) -> Fetched {
    fetch_all(prometheus, &[(program, queries)], at, in_flight)
        .await
        .pop()
        .unwrap_or_default()
}

/// The PromQL texts of `sources`' queries, each once, in first-use order.
pub fn distinct<'a>(sources: &[(&Program, &'a [Query])]) -> Vec<&'a str> {
    let mut seen = std::collections::HashSet::new();
    sources
        .iter()
        .flat_map(|(_, qs)| qs.iter())
        .map(|q| q.promql.as_str())
        .filter(|p| seen.insert(*p))
        .collect()
}

/// [`fetch`] for several programs (one per policy source) at once: a query
/// that two sources share is sent once, and its answer joined for each.
pub async fn fetch_all(
    prometheus: &Prometheus,
    sources: &[(&Program, &[Query])],
    at: Timestamp,
    in_flight: usize,
) -> Vec<Fetched> {
    let texts = distinct(sources);
    let mut answers: HashMap<&str, Result<Vec<PromSample>, String>> = HashMap::new();
    let mut took: HashMap<&str, std::time::Duration> = HashMap::new();
    let mut running = tokio::task::JoinSet::new();
    let mut next = texts.iter().enumerate();
    let in_flight = in_flight.max(1);
    let start = |set: &mut tokio::task::JoinSet<_>, (i, promql): (usize, &&str)| {
        let p = prometheus.clone();
        let promql = Arc::<str>::from(*promql);
        set.spawn(async move {
            let started = std::time::Instant::now();
            let answer = p.query(&promql, Some(at)).await.map_err(|e| e.to_string());
            (i, answer, started.elapsed())
        });
    };
    for q in next.by_ref().take(in_flight) {
        start(&mut running, q);
    }
    while let Some(done) = running.join_next().await {
        if let Some(q) = next.next() {
            start(&mut running, q);
        }
        if let Ok((i, answer, duration)) = done {
            answers.insert(texts[i], answer);
            took.insert(texts[i], duration);
        }
    }
    sources
        .iter()
        .map(|(program, queries)| {
            let mut fetched = Fetched::default();
            for q in *queries {
                // A query task that died (a bug in the client, not an answer)
                // fails its binding: never no data, never a value.
                let answer = answers
                    .get(q.promql.as_str())
                    .cloned()
                    .unwrap_or_else(|| Err("the query did not finish".into()));
                let answer = answer.map(|series| {
                    series
                        .into_iter()
                        .map(|s| Series {
                            labels: s.labels,
                            value: s.value,
                        })
                        .collect()
                });
                fetched.add(q.metric, &program.metric(q.metric).join, answer);
                if let Some(d) = took.get(q.promql.as_str()) {
                    fetched.took.insert(q.metric, *d);
                }
            }
            fetched
        })
        .collect()
}

#[cfg(test)]
mod tests;
