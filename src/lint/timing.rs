//! Timing: durations that the evaluation tick or the scrape interval make
//! mean something else than they say.

use std::convert::Infallible;

use promql_parser::parser::{self, Expr};
use promql_parser::util::{ExprVisitor, walk_expr};

use super::{Cx, rule};
use crate::diagnostic::Diagnostic;
use crate::ir::format_duration;
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

fn for_below_tick(cx: &Cx) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for p in &cx.policies {
        if !(p.ir.hold > crate::ir::Millis::ZERO && p.ir.hold.secs() < TICK) {
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
        let Some(query) = cx.files.iter().find_map(|(_, f)| {
            f.items.iter().find_map(|item| match item {
                crate::syntax::ast::Item::Metric(a) if a.span == m.span => Some(&a.promql),
                _ => None,
            })
        }) else {
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
