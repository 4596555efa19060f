//! Timing: durations that the evaluation tick or the scrape interval make
//! mean something else than they say.

use std::convert::Infallible;

use promql_parser::label::MatchOp;
use promql_parser::parser::token::T_COUNT;
use promql_parser::parser::{self, Expr};
use promql_parser::util::{ExprVisitor, walk_expr};

use super::{Cx, rule};
use crate::diagnostic::Diagnostic;
use crate::ir::{self, ExprKind, Millis, NoData, format_duration};
use crate::source::Span;

/// The evaluation tick lint assumes, in seconds: the controller's default.
/// `autopilot run --interval` may change it; the help texts say so.
pub const TICK: f64 = 30.0;

/// Shortest range a per-second function gets: two samples at the 30s scrape
/// interval of kube-prometheus-stack.
const MIN_RATE_RANGE: f64 = 60.0;

rule!(
    FOR_BELOW_TICK = "for-below-tick",
    Warning,
    "a `for` shorter than the 30s evaluation tick, which acts like `for 30s`",
    for_below_tick
);

rule!(
    SHORT_RATE_RANGE = "short-rate-range",
    Warning,
    "rate() and friends over a range under 1m, which holds too few samples at a 30s scrape interval",
    short_rate_range
);

rule!(
    LONG_FOR_ON_ABSENT_METRIC = "long-for-on-absent-metric",
    Warning,
    "a `for` of 10m or more on a metric whose query has no series while nothing happens (absent, count, rate of an event counter)",
    long_for_on_absent_metric
);

/// A `for` this long or longer needs data on every tick for twice
/// Prometheus' 5m lookback, longer than a series that only appears when
/// something happens stays visible after its last sample.
const LONG_FOR: Millis = Millis(600_000);

/// PromQL functions whose result has no series for an object while what
/// they watch is there: `absent` is 1 or nothing.
const ABSENT: [&str; 2] = ["absent", "absent_over_time"];

/// Functions over a counter that have no series while the counter has none:
/// one narrowed to some values of a label (`code=~"5.."`,
/// `reason="OOMKilled"`) exists only once such an event happened.
const COUNTING: [&str; 4] = ["rate", "irate", "increase", "changes"];

/// Labels that say where a series comes from, not what happened: narrowing
/// a counter by them does not make it an event counter.
const WHERE_LABELS: [&str; 13] = [
    "__name__",
    "job",
    "instance",
    "cluster",
    "namespace",
    "node",
    "pod",
    "container",
    "service",
    "endpoint",
    "deployment",
    "statefulset",
    "persistentvolumeclaim",
];

fn for_below_tick(cx: &Cx) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for p in &cx.policies {
        if !(p.ir.hold > Millis::ZERO && p.ir.hold.secs() < TICK) {
            continue;
        }
        let Some(hold) = p.syntax.when().and_then(|w| w.hold.as_ref()) else {
            continue;
        };
        let written = cx.text(hold.span);
        let tick = format_duration(TICK);
        out.push(
            FOR_BELOW_TICK
                .diag(
                    hold.span,
                    format!("`for {written}` is shorter than the evaluation tick of {tick}"),
                )
                .label(format!("acts like `for {tick}`"))
                .help(format!(
                    "conditions are evaluated once per tick ({tick} by default; the controller's \
                     `--interval` may change it), so a condition is first seen to have held for \
                     {written} at the next tick, {tick} later. Write `for {tick}` to say what \
                     happens, or `for 0` to act on the first true tick"
                )),
        );
    }
    out
}

fn long_for_on_absent_metric(cx: &Cx) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for p in &cx.policies {
        if p.ir.hold < LONG_FOR {
            continue;
        }
        let Some(hold) = p.syntax.when().and_then(|w| w.hold.as_ref()) else {
            continue;
        };
        let mut read = Vec::new();
        undefaulted(&p.ir.condition, &mut read);
        let Some((m, func)) = read.into_iter().find_map(|id| {
            let m = cx.program.metric(id);
            let user = !m.stdlib;
            user.then(|| quiet_function(&m.promql).map(|f| (m, f)))?
        }) else {
            continue;
        };
        let written = cx.text(hold.span);
        let name = m.qualified();
        let when = if func.starts_with("absent") {
            "while what it watches is there"
        } else {
            "while nothing happens"
        };
        let clock = match p.ir.no_data {
            NoData::Reset => format!(
                "with `no_data reset` (the default) each such tick sends the `for` clock back \
                 to zero, so `for {written}` needs {written} of samples without a gap"
            ),
            NoData::Hold => format!(
                "with `no_data hold` the clock is kept through such ticks, so it goes stale: \
                 time without data counts towards `for {written}`, and the policy can fire \
                 on the first sample after a spell without data"
            ),
        };
        out.push(
            LONG_FOR_ON_ABSENT_METRIC
                .diag(
                    hold.span,
                    format!("`for {written}` on `{name}`, whose query has no series {when}"),
                )
                .label(format!("needs {written} of data"))
                .also(
                    call_span(cx, m, func),
                    format!("`{func}`: no series, so no data, {when}"),
                )
                .help(format!(
                    "a tick where `{name}` has no sample for the object is no data, not false; \
                     {clock}. Give the metric a default in the condition (`{name} ?? 0`), or \
                     use a `for` under {}",
                    format_duration(LONG_FOR.secs())
                )),
        );
    }
    out
}

/// The span of the first call of `func` in the query of `m`, else of the
/// whole binding.
fn call_span(cx: &Cx, m: &ir::Metric, func: &str) -> Span {
    let Some(query) = metric_syntax(cx, m) else {
        return m.span;
    };
    let text = &query.text;
    let ident = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let at = text
        .match_indices(func)
        .map(|(i, _)| i)
        .find(|&i| !text[..i].ends_with(ident) && !text[i + func.len()..].starts_with(ident));
    match at {
        Some(i) => {
            let start = query.span.start as usize + i;
            Span::new(query.span.file, start, start + func.len())
        }
        None => query.span,
    }
}

/// The query of a user binding, as written.
fn metric_syntax<'a>(cx: &Cx<'a>, m: &ir::Metric) -> Option<&'a crate::syntax::ast::Promql> {
    cx.files.iter().find_map(|(_, f)| {
        f.items.iter().find_map(|item| match item {
            crate::syntax::ast::Item::Metric(a) if a.span == m.span => Some(&a.promql),
            _ => None,
        })
    })
}

/// The metrics `e` reads without a `??` default for no data.
fn undefaulted(e: &ir::Expr, out: &mut Vec<ir::MetricId>) {
    match &e.kind {
        ExprKind::Metric(id) => out.push(*id),
        ExprKind::Binary {
            op: ir::BinOp::Coalesce,
            rhs,
            ..
        } => undefaulted(rhs, out),
        _ => e.children().for_each(|c| undefaulted(c, out)),
    }
}

/// What in the query has no series while nothing happens: `absent(…)`,
/// `count(…)` (of nothing is nothing, not 0), or a [`COUNTING`] function
/// over a counter narrowed to what happened.
fn quiet_function(promql: &str) -> Option<&'static str> {
    struct Finds(Option<&'static str>);
    impl ExprVisitor for Finds {
        type Error = Infallible;
        fn pre_visit(&mut self, e: &Expr) -> Result<bool, Infallible> {
            if self.0.is_none() {
                self.0 = match e {
                    Expr::Aggregate(a) if a.op.id() == T_COUNT => Some("count"),
                    Expr::Call(c) => ABSENT
                        .into_iter()
                        .find(|f| *f == c.func.name)
                        .or_else(|| {
                            let f = COUNTING.into_iter().find(|f| *f == c.func.name)?;
                            c.args
                                .args
                                .iter()
                                .any(|a| matches!(a.as_ref(), Expr::MatrixSelector(m) if narrowed(&m.vs)))
                                .then_some(f)
                        }),
                    _ => None,
                };
            }
            Ok(self.0.is_none())
        }
    }
    let expr = parser::parse(promql).ok()?;
    let mut finds = Finds(None);
    let Ok(_) = walk_expr(&mut finds, &expr);
    finds.0
}

/// A selector narrowed to some values of a label that is not where the
/// series comes from: `{code=~"5.."}`, not `{job="api"}` or `{container!=""}`.
fn narrowed(vs: &parser::VectorSelector) -> bool {
    vs.matchers.matchers.iter().any(|m| {
        let positive = match &m.op {
            MatchOp::Equal => !m.value.is_empty(),
            MatchOp::Re(_) => !matches!(m.value.as_str(), "" | ".*" | ".+"),
            MatchOp::NotEqual | MatchOp::NotRe(_) => false,
        };
        positive && !WHERE_LABELS.contains(&m.name.as_str())
    })
}

/// Functions that need two samples in their range to return anything.
const PER_SECOND: [&str; 6] = ["rate", "irate", "increase", "delta", "idelta", "deriv"];

/// `(function, range in seconds)` of every per-second call over a selector.
struct Ranges(Vec<(&'static str, f64)>);

impl ExprVisitor for Ranges {
    type Error = Infallible;

    fn pre_visit(&mut self, e: &Expr) -> Result<bool, Infallible> {
        if let Expr::Call(call) = e
            && PER_SECOND.contains(&call.func.name)
        {
            for arg in &call.args.args {
                let range = match arg.as_ref() {
                    Expr::MatrixSelector(m) => m.range,
                    Expr::Subquery(s) => s.range,
                    _ => continue,
                };
                self.0.push((call.func.name, range.as_secs_f64()));
            }
        }
        Ok(true)
    }
}

fn short_rate_range(cx: &Cx) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for m in &cx.program.metrics {
        if m.stdlib {
            continue;
        }
        let Some(query) = metric_syntax(cx, m) else {
            continue;
        };
        let Ok(expr) = parser::parse(&query.text) else {
            continue;
        };
        let mut ranges = Ranges(Vec::new());
        let Ok(_) = walk_expr(&mut ranges, &expr);
        let Some(&(func, secs)) = ranges.0.iter().find(|(_, s)| *s < MIN_RATE_RANGE) else {
            continue;
        };
        let range = format_duration(secs);
        let span = range_span(&query.text, secs, query.span);
        out.push(
            SHORT_RATE_RANGE
                .diag(
                    span,
                    format!("`{func}` over {range} sees too few samples to give a value"),
                )
                .label(format!("{range} range"))
                .help(format!(
                    "`{func}` needs two samples in its range; at the 30s scrape interval of \
                     kube-prometheus-stack a {range} range often holds one, and the metric reads \
                     as no data. Use at least four scrape intervals: `[2m]`"
                )),
        );
    }
    out
}

/// The span of the `[range]` in the query text that spells `secs`, else the
/// whole query.
fn range_span(text: &str, secs: f64, query: Span) -> Span {
    let mut from = 0;
    while let Some(open) = text[from..].find('[').map(|i| from + i) {
        let Some(close) = text[open..].find([']', ':']).map(|i| open + i) else {
            break;
        };
        let inner = text[open + 1..close].trim();
        let same = promql_parser::util::parse_duration(inner)
            .is_ok_and(|d| (d.as_secs_f64() - secs).abs() < 1e-9);
        if same {
            let start = query.start as usize + open + 1;
            return Span::new(query.file, start, start + (close - open - 1));
        }
        from = close;
    }
    query
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_with_no_series_while_nothing_happens() {
        let q = quiet_function;
        assert_eq!(q(r#"absent(up{job="x"})"#), Some("absent"));
        assert_eq!(q("absent_over_time(up[10m])"), Some("absent_over_time"));
        assert_eq!(
            q(r#"count by (namespace, pod) (kube_pod_status_phase{phase="Failed"} == 1)"#),
            Some("count")
        );
        assert_eq!(
            q(r#"sum by (namespace, deployment) (rate(http_requests_total{code=~"5.."}[5m]))"#),
            Some("rate")
        );
        assert_eq!(
            q(r#"increase(kube_pod_container_status_terminated_reason{reason="OOMKilled"}[1h])"#),
            Some("increase")
        );
    }

    #[test]
    fn counters_that_always_exist_have_series() {
        let q = quiet_function;
        assert_eq!(q("sum by (namespace, pod) (rate(x_total[5m]))"), None);
        assert_eq!(q(r#"rate(x_total{job="api", container!=""}[5m])"#), None);
        assert_eq!(q(r#"rate(x_total{code=~".*"}[5m])"#), None);
        assert_eq!(q("sum by (namespace, pod) (x)"), None);
        assert_eq!(q("not promql ("), None);
    }
}
