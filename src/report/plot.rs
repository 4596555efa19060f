//! `simulate --plot FILE.svg`: each condition's metric against its
//! threshold over time, with the actions as markers.
//!
//! A threshold is a comparison of a metric with a constant in a policy's
//! condition (`pvc.usage > 80%`, `20ms < pvc.pg_write_latency`). One panel per
//! (metric, object) that has data; every policy's thresholds on that metric
//! are dashed lines, and the actions of those policies on the object are
//! vertical lines coloured by their result.

use std::collections::BTreeSet;

use plotters::prelude::*;

use super::action::describe;
use super::text::since;
use crate::engine::{ActionResult, ObjectId};
use crate::ir::{self, BinOp, Expr, ExprKind, MetricId, Program, Value};
use crate::sim::run::{Run, Trace};
use crate::sim::scenario::Scenario;

/// `metric op value` in a policy's condition.
#[derive(Clone, Debug, PartialEq)]
pub struct Threshold {
    pub policy: usize,
    pub metric: MetricId,
    pub op: BinOp,
    /// In the metric's base unit.
    pub value: f64,
}

/// Every metric-versus-constant comparison of every policy's condition.
pub fn thresholds(program: &Program) -> Vec<Threshold> {
    let mut out = Vec::new();
    for (i, p) in program.policies.iter().enumerate() {
        for e in p.condition.nodes() {
            if let Some((metric, op, value)) = threshold(e) {
                out.push(Threshold {
                    policy: i,
                    metric,
                    op,
                    value,
                });
            }
        }
    }
    out
}

/// `metric op value` or `value op metric`, as `metric op value`.
fn threshold(e: &Expr) -> Option<(MetricId, BinOp, f64)> {
    let ExprKind::Binary { op, lhs, rhs } = &e.kind else {
        return None;
    };
    let flipped = flip(*op)?;
    let num = |e: &Expr| match ir::eval_const(e) {
        Some(Value::Num(v)) => Some(v),
        _ => None,
    };
    match (&lhs.kind, &rhs.kind) {
        (ExprKind::Metric(m), _) => Some((*m, *op, num(rhs)?)),
        (_, ExprKind::Metric(m)) => Some((*m, flipped, num(lhs)?)),
        _ => None,
    }
}

/// The comparison with its sides swapped; None for operators that are not
/// comparisons.
fn flip(op: BinOp) -> Option<BinOp> {
    Some(match op {
        BinOp::Gt => BinOp::Lt,
        BinOp::Ge => BinOp::Le,
        BinOp::Lt => BinOp::Gt,
        BinOp::Le => BinOp::Ge,
        BinOp::Eq => BinOp::Eq,
        BinOp::Ne => BinOp::Ne,
        _ => return None,
    })
}

/// The (metric, object) pairs to trace: each metric with a threshold, for
/// every object of its kind.
pub fn traces(program: &Program, scenario: &Scenario) -> Vec<(MetricId, ObjectId)> {
    let metrics: BTreeSet<MetricId> = thresholds(program).iter().map(|t| t.metric).collect();
    let mut out = Vec::new();
    for m in metrics {
        let kind = program.metric(m).kind;
        for o in scenario.objects.iter().filter(|o| o.id.kind == kind) {
            out.push((m, o.id.clone()));
        }
    }
    out
}

fn result_color(r: ActionResult) -> RGBColor {
    match r {
        ActionResult::Applied => RGBColor(0x2c, 0xa0, 0x2c),
        ActionResult::DryRun => RGBColor(0x1f, 0x77, 0xb4),
        ActionResult::AwaitingApproval => RGBColor(0xff, 0x7f, 0x0e),
        ActionResult::Declined | ActionResult::Skipped | ActionResult::Failed => {
            RGBColor(0xd6, 0x27, 0x28)
        }
    }
}

const SERIES: RGBColor = RGBColor(0x33, 0x33, 0x99);
const LIMIT: RGBColor = RGBColor(0x99, 0x33, 0x33);
const WIDTH: u32 = 960;
const PANEL: u32 = 300;

/// The plot as SVG text.
pub fn svg(program: &Program, scenario: &Scenario, run: &Run) -> String {
    let all = thresholds(program);
    let panels: Vec<&Trace> = run
        .traces
        .iter()
        .filter(|t| t.samples.iter().any(|s| s.1.is_some()))
        .collect();
    let mut out = String::new();
    let height = PANEL * panels.len().max(1) as u32;
    {
        let root = SVGBackend::with_string(&mut out, (WIDTH, height)).into_drawing_area();
        let _ = root.fill(&WHITE);
        if panels.is_empty() {
            let _ = root.draw_text(
                "no metric compared with a threshold has data in this scenario",
                &("sans-serif", 16).into_text_style(&root),
                (20, 20),
            );
        }
        let areas = root.split_evenly((panels.len().max(1), 1));
        for (area, trace) in areas.iter().zip(&panels) {
            let limits: Vec<&Threshold> = all.iter().filter(|t| t.metric == trace.metric).collect();
            // A panel that fails to draw leaves a blank; the others still draw.
            let _ = panel(program, scenario, run, area, trace, &limits);
        }
        let _ = root.present();
    }
    out
}

/// The most a value may be from zero on the y axis: the axis, its padding
/// and its width stay finite, where a range that overflows to infinity made
/// the mesh loop forever.
const Y_LIMIT: f64 = f64::MAX / 16.0;

/// The smallest and largest finite values, each within ±[`Y_LIMIT`]; (0, 0)
/// when there are none. Infinite and NaN values are skipped.
fn y_range(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (lo, hi) = values
        .filter(|v| v.is_finite())
        .map(|v| v.clamp(-Y_LIMIT, Y_LIMIT))
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        });
    if lo > hi { (0.0, 0.0) } else { (lo, hi) }
}

type Area<'a, 'b> = DrawingArea<SVGBackend<'a>, plotters::coord::Shift>;

fn panel(
    program: &Program,
    scenario: &Scenario,
    run: &Run,
    area: &Area,
    trace: &Trace,
    limits: &[&Threshold],
) -> Result<(), Box<dyn std::error::Error>> {
    let metric = program.metric(trace.metric);
    let ty = metric.ty.clone();
    // Minutes, so that ticks fall on round minutes.
    let x = |t: i64| (t - scenario.start) as f64 / 60_000.0;
    let x_end = (scenario.duration as f64 / 60_000.0).max(1.0 / 60.0);
    let values = trace
        .samples
        .iter()
        .filter_map(|s| s.1)
        .chain(limits.iter().map(|l| l.value));
    let (lo, hi) = y_range(values);
    let pad = ((hi - lo) * 0.1).max(hi.abs() * 0.05).max(1e-9);
    let y0 = if lo >= 0.0 { 0.0 } else { lo - pad };
    // Room above the data for the legend.
    let y1 = hi + pad.max((hi - y0) * 0.55);
    // `y_range` keeps this finite; an infinite axis would never end its mesh.
    if !(y1 - y0).is_finite() {
        return Err(format!("the y axis {y0}..{y1} is not finite").into());
    }
    let mut chart = ChartBuilder::on(area)
        .caption(
            format!("{} of {}", metric.qualified(), trace.object),
            ("sans-serif", 16),
        )
        .margin(12)
        .margin_right(40)
        .x_label_area_size(30)
        .y_label_area_size(80)
        .build_cartesian_2d(0f64..x_end, y0..y1)?;
    let fmt_x = |v: &f64| since(scenario, scenario.start + (*v * 60_000.0).round() as i64);
    let fmt_y = |v: &f64| ir::format_quantity(&ty, *v);
    chart
        .configure_mesh()
        .x_label_formatter(&fmt_x)
        .y_label_formatter(&fmt_y)
        .x_labels(10)
        .y_labels(6)
        .light_line_style(WHITE.mix(0.0))
        .draw()?;
    // The series, broken where there is no data.
    let mut first = true;
    for run_ in trace.samples.split(|s| s.1.is_none()) {
        if run_.is_empty() {
            continue;
        }
        let points: Vec<(f64, f64)> = run_
            .iter()
            .filter_map(|(t, v)| v.filter(|v| v.is_finite()).map(|v| (x(*t), v)))
            .collect();
        let s = chart.draw_series(LineSeries::new(points, SERIES.stroke_width(2)))?;
        if first {
            s.label(metric.qualified())
                .legend(|(x, y)| PathElement::new([(x, y), (x + 16, y)], SERIES.stroke_width(2)));
            first = false;
        }
    }
    for l in limits {
        let policy = &program.policies[l.policy].name;
        let label = format!(
            "{policy}: {} {}",
            l.op.symbol(),
            ir::format_quantity(&ty, l.value)
        );
        chart
            .draw_series(DashedLineSeries::new(
                [(0.0, l.value), (x_end, l.value)],
                6,
                4,
                LIMIT.stroke_width(1),
            ))?
            .label(label)
            .legend(|(x, y)| PathElement::new([(x, y), (x + 16, y)], LIMIT.stroke_width(1)));
    }
    let policies: BTreeSet<&str> = limits
        .iter()
        .map(|l| program.policies[l.policy].name.as_str())
        .collect();
    let mut shown = BTreeSet::new();
    for e in &run.events {
        let Some(a) = e.kind.as_action() else {
            continue;
        };
        if e.object != trace.object || !policies.contains(e.policy.as_str()) {
            continue;
        }
        let color = result_color(a.result);
        let at = x(e.time);
        let s = chart.draw_series(LineSeries::new([(at, y0), (at, y1)], color.stroke_width(2)))?;
        let name = describe(a.action, a.planned);
        let verb = name.split(' ').next().unwrap_or("").to_string();
        let key = format!("{verb} {}", a.result.name());
        if shown.insert(key.clone()) {
            s.label(key).legend(move |(x, y)| {
                PathElement::new([(x + 8, y - 6), (x + 8, y + 6)], color.stroke_width(2))
            });
        }
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.3))
        .label_font(("sans-serif", 12))
        .draw()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn y_range_stays_finite() {
        let (lo, hi) = y_range([1e308, -1e308, f64::NAN, f64::INFINITY].into_iter());
        assert_eq!((lo, hi), (-Y_LIMIT, Y_LIMIT));
        assert!((hi - lo).is_finite());
        assert_eq!(y_range(std::iter::empty()), (0.0, 0.0));
        assert_eq!(y_range([f64::NEG_INFINITY].into_iter()), (0.0, 0.0));
        assert_eq!(y_range([3.0, 1.0].into_iter()), (1.0, 3.0));
    }
}
