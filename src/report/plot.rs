//! `simulate --plot FILE.svg`: what decided, over time.
//!
//! - **Comparisons**: every comparison a policy's condition makes on a
//!   metric or a field (`pvc.usage > 80%`, `pvc.available < 10% *
//!   pvc.capacity`, `deployment.ready_replicas < deployment.replicas`). The
//!   side that reads a metric (else the one that is not a constant) is the
//!   solid series; what it is compared with is dashed, a horizontal line
//!   for a constant and a series for a computed threshold. Comparisons of
//!   several policies on the same expression share a panel.
//! - **Quantities**: the capacity of a PVC that a policy resizes and the
//!   replicas of a workload that one scales, each in its own panel.
//! - Actions are vertical lines coloured by their result, on the panels of
//!   the policies that took them.
//!
//! A panel is drawn for an object when a policy's `where` selected it at a
//! tick (or the policy has none) and its series has data. Values are read
//! as the engine read them, before the tick's actions; axes are in the
//! values' units, times in wall-clock UTC, or in the zone of a policy's
//! window. The legend sits to the right of the data, each entry once.

use std::collections::{BTreeMap, BTreeSet};

use plotters::prelude::*;

use super::action::describe;
use crate::engine::{ActionResult, ObjectId, Time};
use crate::ir::{self, ActionKind, BinOp, Expr, ExprKind, Field, Kind, Program, Type, Value};
use crate::sim::run::{Probe, Run};
use crate::sim::scenario::Scenario;
use crate::source::SourceMap;

/// What is compared with what, in one policy's condition.
#[derive(Clone, Debug, PartialEq)]
pub struct Comparison {
    pub policy: usize,
    /// The side that reads a metric, else the one that is not constant.
    pub subject: Expr,
    /// `subject op threshold`.
    pub op: BinOp,
    pub threshold: Expr,
}

/// Every ordered comparison of quantities in every policy's condition
/// that is not between two constants.
pub fn comparisons(program: &Program) -> Vec<Comparison> {
    let mut out = Vec::new();
    for (i, p) in program.policies.iter().enumerate() {
        for e in p.condition.nodes() {
            let ExprKind::Binary { op, lhs, rhs } = &e.kind else {
                continue;
            };
            // Ordered comparisons: what `==` compares is not a threshold.
            let Some(flipped) = op
                .mirrored()
                .filter(|_| !matches!(op, BinOp::Eq | BinOp::Ne))
            else {
                continue;
            };
            if !lhs.ty.is_quantity() || !rhs.ty.is_quantity() {
                continue;
            }
            let (l, r) = (reads(lhs), reads(rhs));
            let (subject, op, threshold) = match (l, r) {
                (Reads::Nothing, Reads::Nothing) => continue,
                (Reads::Metric, _) | (Reads::Field, Reads::Field | Reads::Nothing) => {
                    (lhs, *op, rhs)
                }
                _ => (rhs, flipped, lhs),
            };
            out.push(Comparison {
                policy: i,
                subject: (**subject).clone(),
                op,
                threshold: (**threshold).clone(),
            });
        }
    }
    out
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Reads {
    Nothing,
    Field,
    Metric,
}

fn reads(e: &Expr) -> Reads {
    e.nodes()
        .map(|n| match n.kind {
            ExprKind::Metric(_) => Reads::Metric,
            ExprKind::Field(_) | ExprKind::Label { .. } => Reads::Field,
            _ => Reads::Nothing,
        })
        .max()
        .unwrap_or(Reads::Nothing)
}

/// A line of a panel: a probe's series, or a constant.
#[derive(Clone, Debug, PartialEq)]
enum Line {
    Probe(usize),
    Const(f64),
}

/// A threshold line of a comparison panel.
#[derive(Clone, Debug)]
struct Limit {
    label: String,
    line: Line,
}

#[derive(Clone, Debug)]
struct Panel {
    title: String,
    object: ObjectId,
    ty: Type,
    /// The solid series.
    subject: usize,
    limits: Vec<Limit>,
    /// The policies whose actions on the object are marked.
    policies: BTreeSet<usize>,
    /// The filter probes of those policies (None: no `where`).
    filters: Vec<Option<usize>>,
}

/// What to record during the run, and how to draw it.
#[derive(Clone, Debug, Default)]
pub struct Plan {
    /// Recorded per tick by the run: `run.traces[i]` is `probes[i]`.
    pub probes: Vec<Probe>,
    panels: Vec<Panel>,
    /// Per policy, the zone its window is in.
    zones: Vec<Option<String>>,
}

impl Plan {
    /// Each panel that may be drawn (before those without data or never
    /// selected are left out): its title, and its thresholds.
    pub fn outline(&self) -> Vec<String> {
        self.panels
            .iter()
            .map(|p| {
                let limits: Vec<String> = p
                    .limits
                    .iter()
                    .map(|l| match l.line {
                        Line::Const(v) => format!("{} (constant {v})", l.label),
                        Line::Probe(_) => format!("{} (a series)", l.label),
                    })
                    .collect();
                format!("{} [{}]", p.title, limits.join("; "))
            })
            .collect()
    }

    fn probe(
        &mut self,
        index: &mut BTreeMap<(String, ObjectId), usize>,
        key: String,
        e: &Expr,
        object: &ObjectId,
    ) -> usize {
        *index.entry((key, object.clone())).or_insert_with(|| {
            self.probes.push(Probe {
                expr: e.clone(),
                object: object.clone(),
            });
            self.probes.len() - 1
        })
    }
}

/// The text of an expression as written, on one line.
fn text(sources: &SourceMap, e: &Expr) -> String {
    sources
        .text(e.span)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// The plan for a scenario: comparisons per object, then quantities.
pub fn plan(sources: &SourceMap, program: &Program, scenario: &Scenario) -> Plan {
    let mut plan = Plan {
        zones: program
            .policies
            .iter()
            .map(|p| p.window.as_ref().map(|w| w.zone.clone()))
            .collect(),
        ..Plan::default()
    };
    let mut index = BTreeMap::new();
    let all = comparisons(program);
    for o in &scenario.objects {
        let kind = o.id.kind;
        let filter = |plan: &mut Plan, index: &mut _, i: usize| {
            program.policies[i].filter.as_ref().map(|f| {
                let key = format!("where#{i}");
                plan.probe(index, key, f, &o.id)
            })
        };
        // Comparisons, grouped by what is compared, in policy order.
        let mut groups: Vec<(String, Vec<&Comparison>)> = Vec::new();
        for c in all
            .iter()
            .filter(|c| program.policies[c.policy].kind == kind)
        {
            let key = text(sources, &c.subject);
            match groups.iter_mut().find(|(k, _)| *k == key) {
                Some((_, g)) => g.push(c),
                None => groups.push((key, vec![c])),
            }
        }
        for (key, group) in groups {
            let subject = plan.probe(&mut index, key.clone(), &group[0].subject, &o.id);
            let mut limits = Vec::new();
            let mut policies = BTreeSet::new();
            let mut filters = Vec::new();
            for c in &group {
                let threshold = text(sources, &c.threshold);
                let line = match ir::eval_const(&c.threshold) {
                    Some(Value::Num(v)) => Line::Const(v),
                    _ => {
                        Line::Probe(plan.probe(&mut index, threshold.clone(), &c.threshold, &o.id))
                    }
                };
                let policy = &program.policies[c.policy].name;
                let label = format!("{policy}: {} {threshold}", c.op.symbol());
                if !limits.iter().any(|l: &Limit| l.label == label) {
                    limits.push(Limit { label, line });
                }
                if policies.insert(c.policy) {
                    filters.push(filter(&mut plan, &mut index, c.policy));
                }
            }
            plan.panels.push(Panel {
                title: format!("{key} of {}", o.id),
                object: o.id.clone(),
                ty: group[0].subject.ty.clone(),
                subject,
                limits,
                policies,
                filters,
            });
        }
        // The quantity that policies' actions change.
        let (field, name) = match kind {
            Kind::Pvc => (Field::Capacity, "capacity"),
            Kind::Deployment | Kind::StatefulSet => (Field::Replicas, "replicas"),
            _ => continue,
        };
        let changing: Vec<usize> = program
            .policies
            .iter()
            .enumerate()
            .filter(|(_, p)| p.kind == kind)
            .filter(|(_, p)| {
                p.actions.iter().any(|a| {
                    matches!(
                        (&a.kind, field),
                        (ActionKind::Resize(_), Field::Capacity)
                            | (ActionKind::Scale(_), Field::Replicas)
                    )
                })
            })
            .map(|(i, _)| i)
            .collect();
        if changing.is_empty() {
            continue;
        }
        let ty = if field == Field::Capacity {
            Type::Bytes
        } else {
            Type::Number
        };
        let e = Expr {
            kind: ExprKind::Field(field),
            ty: ty.clone(),
            span: program.policies[changing[0]].span,
        };
        let subject = plan.probe(&mut index, format!("field {name}"), &e, &o.id);
        let filters = changing
            .iter()
            .map(|&i| filter(&mut plan, &mut index, i))
            .collect();
        plan.panels.push(Panel {
            title: format!("{kind}.{name} of {}", o.id),
            object: o.id.clone(),
            ty,
            subject,
            limits: Vec::new(),
            policies: changing.into_iter().collect(),
            filters,
        });
    }
    plan
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
/// Threshold colours, one per limit of a panel in turn.
const LIMITS: [RGBColor; 4] = [
    RGBColor(0x99, 0x33, 0x33),
    RGBColor(0x99, 0x66, 0x00),
    RGBColor(0x66, 0x33, 0x99),
    RGBColor(0x33, 0x77, 0x77),
];
const WIDTH: u32 = 1100;
const LEGEND: u32 = 300;
const PANEL: u32 = 300;

/// The plot as SVG text.
pub fn svg(program: &Program, scenario: &Scenario, plan: &Plan, run: &Run) -> String {
    let has_data = |i: usize| {
        run.traces
            .get(i)
            .is_some_and(|t| t.samples.iter().any(|s| s.1.is_some()))
    };
    // Selected at some tick by a policy's `where` (or by one without).
    let selected = |i: usize| {
        run.traces
            .get(i)
            .is_some_and(|t| t.samples.iter().any(|s| s.1 == Some(1.0)))
    };
    let panels: Vec<&Panel> = plan
        .panels
        .iter()
        .filter(|p| has_data(p.subject))
        .filter(|p| p.filters.iter().any(|f| f.is_none_or(selected)))
        .collect();
    let mut out = String::new();
    let height = PANEL * panels.len().max(1) as u32;
    {
        let root = SVGBackend::with_string(&mut out, (WIDTH, height)).into_drawing_area();
        let _ = root.fill(&WHITE);
        if panels.is_empty() {
            let _ = root.draw_text(
                "no condition compares a metric or a field with data in this scenario",
                &("sans-serif", 16).into_text_style(&root),
                (20, 20),
            );
        }
        let areas = root.split_evenly((panels.len().max(1), 1));
        for (area, p) in areas.iter().zip(&panels) {
            // A panel that fails to draw leaves a blank; the others still draw.
            let _ = panel(program, scenario, plan, run, area, p);
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

/// The unit a y axis is drawn in, chosen from its largest value: values
/// are divided by the factor, so that the axis picks round numbers in it
/// (`20Gi`, `40Gi`, not `18.63Gi`). Bytes in binary units; others as they are.
fn axis_unit(ty: &Type, largest: f64) -> (f64, &'static str) {
    const UNITS: [(&str, f64); 5] = [
        ("Pi", 1125899906842624.0),
        ("Ti", 1099511627776.0),
        ("Gi", 1073741824.0),
        ("Mi", 1048576.0),
        ("Ki", 1024.0),
    ];
    match ty {
        Type::Bytes => UNITS
            .iter()
            .find(|(_, f)| largest.abs() >= *f)
            .map_or((1.0, ""), |(s, f)| (*f, *s)),
        _ => (1.0, ""),
    }
}

/// An axis label: `v` already divided by the axis unit's factor.
fn axis_label(ty: &Type, v: f64, suffix: &str) -> String {
    let short = |x: f64| {
        let s = format!("{x:.2}");
        let s = s.trim_end_matches('0').trim_end_matches('.');
        if s == "-0" {
            "0".to_string()
        } else {
            s.to_string()
        }
    };
    match ty {
        Type::Bytes if v == 0.0 => "0".into(),
        Type::Bytes => format!("{}{suffix}", short(v)),
        Type::Percent => format!("{}%", short(v)),
        Type::Duration => ir::format_duration(v),
        _ => short(v),
    }
}

/// A time on the x axis: wall-clock in `zone`, with the date when the run
/// spans more than a day.
fn clock(t: Time, zone: &jiff::tz::TimeZone, long: bool) -> String {
    match jiff::Timestamp::from_millisecond(t) {
        Ok(ts) => {
            let z = zone.to_datetime(ts);
            if long {
                z.strftime("%m-%d %H:%M").to_string()
            } else {
                z.strftime("%H:%M").to_string()
            }
        }
        Err(_) => String::new(),
    }
}

type Area<'a, 'b> = DrawingArea<SVGBackend<'a>, plotters::coord::Shift>;

/// One legend entry: its text, colour, and whether it is a dashed line, a
/// solid one or an action's mark.
struct Entry {
    label: String,
    color: RGBColor,
    mark: Mark,
}

#[derive(Clone, Copy, PartialEq)]
enum Mark {
    Solid,
    Dashed,
    Action,
}

fn panel(
    program: &Program,
    scenario: &Scenario,
    plan: &Plan,
    run: &Run,
    area: &Area,
    p: &Panel,
) -> Result<(), Box<dyn std::error::Error>> {
    let (data, legend) = area.split_horizontally(WIDTH - LEGEND);
    let samples = |i: usize| run.traces.get(i).map_or(&[][..], |t| &t.samples[..]);
    // Minutes, so that ticks fall on round minutes.
    let x = |t: i64| (t - scenario.start) as f64 / 60_000.0;
    let x_end = (scenario.duration as f64 / 60_000.0).max(1.0 / 60.0);
    let mut values: Vec<f64> = samples(p.subject).iter().filter_map(|s| s.1).collect();
    for l in &p.limits {
        match l.line {
            Line::Const(v) => values.push(v),
            Line::Probe(i) => values.extend(samples(i).iter().filter_map(|s| s.1)),
        }
    }
    let (lo, hi) = y_range(values.into_iter());
    let (factor, suffix) = axis_unit(&p.ty, lo.abs().max(hi.abs()));
    let (lo, hi) = (lo / factor, hi / factor);
    let pad = ((hi - lo) * 0.1).max(hi.abs() * 0.05).max(1e-9);
    let y0 = if lo >= 0.0 { 0.0 } else { lo - pad };
    let y1 = hi + pad;
    // `y_range` keeps this finite; an infinite axis would never end its mesh.
    if !(y1 - y0).is_finite() {
        return Err(format!("the y axis {y0}..{y1} is not finite").into());
    }
    let zone_name = p
        .policies
        .iter()
        .find_map(|&i| plan.zones.get(i).cloned().flatten())
        .unwrap_or_else(|| "UTC".into());
    let zone = jiff::tz::TimeZone::get(&zone_name).unwrap_or(jiff::tz::TimeZone::UTC);
    let long = scenario.duration > 86_400_000;
    let mut chart = ChartBuilder::on(&data)
        .caption(&p.title, ("sans-serif", 16))
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(80)
        .build_cartesian_2d(0f64..x_end, y0..y1)?;
    let fmt_x = |v: &f64| clock(scenario.start + (*v * 60_000.0).round() as i64, &zone, long);
    let fmt_y = |v: &f64| axis_label(&p.ty, *v, suffix);
    chart
        .configure_mesh()
        .x_label_formatter(&fmt_x)
        .y_label_formatter(&fmt_y)
        .x_labels(10)
        .y_labels(6)
        .x_desc(format!("time ({zone_name})"))
        .light_line_style(WHITE.mix(0.0))
        .draw()?;
    let mut entries: Vec<Entry> = Vec::new();
    // A series, broken where there is no data.
    let draw = |chart: &mut ChartContext<_, _>,
                points: &[(Time, Option<f64>)],
                color: RGBColor,
                dashed: bool|
     -> Result<(), Box<dyn std::error::Error>> {
        for part in points.split(|s| s.1.is_none()) {
            let pts: Vec<(f64, f64)> = part
                .iter()
                .filter_map(|(t, v)| {
                    v.filter(|v| v.is_finite())
                        .map(|v| (x(*t), (v / factor).clamp(-Y_LIMIT, Y_LIMIT)))
                })
                .collect();
            if pts.is_empty() {
                continue;
            }
            if dashed {
                chart.draw_series(DashedLineSeries::new(pts, 6, 4, color.stroke_width(1)))?;
            } else {
                chart.draw_series(LineSeries::new(pts, color.stroke_width(2)))?;
            }
        }
        Ok(())
    };
    draw(&mut chart, samples(p.subject), SERIES, false)?;
    entries.push(Entry {
        label: p.title.split(" of ").next().unwrap_or("").to_string(),
        color: SERIES,
        mark: Mark::Solid,
    });
    for (n, l) in p.limits.iter().enumerate() {
        let color = LIMITS[n % LIMITS.len()];
        match l.line {
            Line::Const(v) => {
                let v = v / factor;
                chart.draw_series(DashedLineSeries::new(
                    [(0.0, v), (x_end, v)],
                    6,
                    4,
                    color.stroke_width(1),
                ))?;
            }
            Line::Probe(i) => draw(&mut chart, samples(i), color, true)?,
        }
        entries.push(Entry {
            label: l.label.clone(),
            color,
            mark: Mark::Dashed,
        });
    }
    let names: BTreeSet<&str> = p
        .policies
        .iter()
        .map(|&i| program.policies[i].name.as_str())
        .collect();
    for e in &run.events {
        let Some(a) = e.kind.as_action() else {
            continue;
        };
        if e.object != p.object || !names.contains(e.policy.as_str()) {
            continue;
        }
        let color = result_color(a.result);
        let at = x(e.time);
        chart.draw_series(LineSeries::new([(at, y0), (at, y1)], color.stroke_width(2)))?;
        let name = describe(a.action, a.planned);
        let verb = name.split(' ').next().unwrap_or("").to_string();
        let label = format!("{verb} {}", a.result.name());
        if !entries.iter().any(|x| x.label == label) {
            entries.push(Entry {
                label,
                color,
                mark: Mark::Action,
            });
        }
    }
    draw_legend(&legend, &entries)?;
    Ok(())
}

/// The legend, beside the data: one line per entry.
fn draw_legend(area: &Area, entries: &[Entry]) -> Result<(), Box<dyn std::error::Error>> {
    let style = ("sans-serif", 12).into_font();
    for (n, e) in entries.iter().enumerate() {
        let y = 40 + 18 * n as i32;
        if y > PANEL as i32 - 20 {
            area.draw_text(
                &format!("… and {} more", entries.len() - n),
                &style.color(&BLACK),
                (8, y - 6),
            )?;
            break;
        }
        match e.mark {
            Mark::Solid => area.draw(&PathElement::new(
                [(8, y), (28, y)],
                e.color.stroke_width(2),
            ))?,
            Mark::Dashed => {
                for dx in [8, 16, 24] {
                    area.draw(&PathElement::new(
                        [(dx, y), (dx + 5, y)],
                        e.color.stroke_width(1),
                    ))?;
                }
            }
            Mark::Action => area.draw(&PathElement::new(
                [(18, y - 6), (18, y + 6)],
                e.color.stroke_width(2),
            ))?,
        }
        let label: String = if e.label.chars().count() > 40 {
            e.label.chars().take(39).chain(['…']).collect()
        } else {
            e.label.clone()
        };
        area.draw_text(&label, &style.color(&BLACK), (36, y - 6))?;
    }
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

    #[test]
    fn axes_are_in_one_unit() {
        let gi = 1073741824.0;
        assert_eq!(axis_unit(&Type::Bytes, 60.0 * gi), (gi, "Gi"));
        assert_eq!(
            axis_unit(&Type::Bytes, 2.0 * 1024.0 * gi),
            (1024.0 * gi, "Ti")
        );
        assert_eq!(axis_unit(&Type::Bytes, 100.0), (1.0, ""));
        assert_eq!(axis_unit(&Type::Percent, 1e6), (1.0, ""));
        let labels: Vec<String> = [0.0, 20.0, 40.0, 12.5]
            .iter()
            .map(|v| axis_label(&Type::Bytes, *v, "Gi"))
            .collect();
        assert_eq!(labels, ["0", "20Gi", "40Gi", "12.5Gi"]);
        assert_eq!(axis_label(&Type::Percent, 87.5, ""), "87.5%");
        assert_eq!(axis_label(&Type::Duration, 90.0, ""), "1m30s");
        assert_eq!(axis_label(&Type::Number, 2.0 / 3.0, ""), "0.67");
    }

    #[test]
    fn clock_is_wall_clock_in_the_zone() {
        // 2026-01-01T00:00:00Z.
        let t = 1_767_225_600_000;
        let berlin = jiff::tz::TimeZone::get("Europe/Berlin").unwrap();
        assert_eq!(clock(t, &jiff::tz::TimeZone::UTC, false), "00:00");
        assert_eq!(clock(t, &berlin, false), "01:00");
        assert_eq!(clock(t + 90 * 60_000, &berlin, true), "01-01 02:30");
    }
}
