use std::collections::HashMap;

use promql_parser::parser::{AggregateExpr, LabelModifier};

use super::eval::{Run, Sample, Val, by_modifier};
use super::functions::{go_max, go_min, kahan_inc, mean, quantile};
use super::{EvalError, Labels, NAME};

/// The output labels of the group a sample falls in.
fn group_labels(l: &Labels, modifier: &Option<LabelModifier>) -> Labels {
    modifier
        .as_ref()
        .map_or_else(Labels::new, |m| by_modifier(l, m))
}

/// Samples grouped by their output labels, in first-seen order.
fn groups(v: Vec<Sample>, modifier: &Option<LabelModifier>) -> Vec<(Labels, Vec<Sample>)> {
    let mut out: Vec<(Labels, Vec<Sample>)> = Vec::new();
    let mut index: HashMap<Labels, usize> = HashMap::new();
    for s in v {
        let g = group_labels(&s.0, modifier);
        let i = *index.entry(g.clone()).or_insert_with(|| {
            out.push((g, Vec::new()));
            out.len() - 1
        });
        if let Some(group) = out.get_mut(i) {
            group.1.push(s);
        }
    }
    out
}

pub(crate) fn eval(run: &Run, a: &AggregateExpr, t: i64) -> Result<Val, EvalError> {
    let op = a.op.to_string().to_lowercase();
    let param = |what: &str| {
        a.param
            .as_deref()
            .ok_or_else(|| EvalError::Invalid(format!("{op}: missing {what}")))
    };
    let v = run.eval_vector(&a.expr, t)?;
    let m = &a.modifier;
    let reduce = |f: &dyn Fn(&[f64]) -> f64| -> Vec<Sample> {
        groups(v.clone(), m)
            .into_iter()
            .map(|(g, ss)| {
                let xs: Vec<f64> = ss.iter().map(|s| s.1).collect();
                (g, f(&xs))
            })
            .collect()
    };
    let out = match op.as_str() {
        "sum" => reduce(&|xs| sum(xs)),
        "avg" => reduce(&|xs| mean(xs.iter().copied())),
        "count" => reduce(&|xs| xs.len() as f64),
        "group" => reduce(&|_| 1.0),
        "min" => reduce(&|xs| fold_nan(xs, |m, x| if x < m { x } else { m })),
        "max" => reduce(&|xs| fold_nan(xs, |m, x| if x > m { x } else { m })),
        "stddev" => reduce(&|xs| variance(xs).sqrt()),
        "stdvar" => reduce(&|xs| variance(xs)),
        "quantile" => {
            let q = run.eval_scalar(param("quantile")?, t)?;
            reduce(&|xs| quantile(q, xs.to_vec()))
        }
        "topk" | "bottomk" => {
            let k = run.eval_scalar(param("k")?, t)?;
            return Ok(Val::Vector(top(v, m, k, op == "topk")?));
        }
        "count_values" => {
            let label = match run.eval(param("label")?, t)? {
                Val::String(s) => s,
                other => {
                    return Err(EvalError::Invalid(format!(
                        "count_values: expected a string label, got a {}",
                        other.kind()
                    )));
                }
            };
            count_values(v, m, &label)
        }
        other => return Err(EvalError::Unsupported(format!("aggregation {other}"))),
    };
    Ok(Val::Vector(out))
}

fn sum(xs: &[f64]) -> f64 {
    let (mut s, mut c) = (0.0, 0.0);
    for &x in xs {
        (s, c) = kahan_inc(x, s, c);
    }
    if s.is_infinite() { s } else { s + c }
}

/// min/max: a NaN is replaced by any later number.
fn fold_nan(xs: &[f64], pick: impl Fn(f64, f64) -> f64) -> f64 {
    let mut acc = f64::NAN;
    for (i, &x) in xs.iter().enumerate() {
        acc = if i == 0 || acc.is_nan() {
            x
        } else {
            pick(acc, x)
        };
    }
    let _ = (go_max, go_min);
    acc
}

fn variance(xs: &[f64]) -> f64 {
    let (mut n, mut mean, mut cm, mut aux, mut ca) = (0.0, 0.0, 0.0, 0.0, 0.0);
    for &x in xs {
        n += 1.0;
        let delta = x - (mean + cm);
        (mean, cm) = kahan_inc(delta / n, mean, cm);
        (aux, ca) = kahan_inc(delta * (x - (mean + cm)), aux, ca);
    }
    (aux + ca) / n
}

fn top(
    v: Vec<Sample>,
    m: &Option<LabelModifier>,
    k: f64,
    largest: bool,
) -> Result<Vec<Sample>, EvalError> {
    if k.is_nan() {
        return Err(EvalError::Invalid("Parameter value is NaN".into()));
    }
    if k < 1.0 {
        return Ok(Vec::new());
    }
    let k = if k >= usize::MAX as f64 {
        usize::MAX
    } else {
        k as usize
    };
    let mut out = Vec::new();
    for (_, mut ss) in groups(v, m) {
        // NaN ranks below every number, for topk and bottomk alike.
        ss.sort_by(|a, b| match (a.1.is_nan(), b.1.is_nan()) {
            (true, true) => std::cmp::Ordering::Equal,
            (true, false) => std::cmp::Ordering::Greater,
            (false, true) => std::cmp::Ordering::Less,
            _ if largest => b.1.total_cmp(&a.1),
            _ => a.1.total_cmp(&b.1),
        });
        ss.truncate(k);
        out.extend(ss);
    }
    Ok(out)
}

/// Go's strconv.FormatFloat(f, 'f', -1, 64), as count_values labels use.
pub(crate) fn format_float(x: f64) -> String {
    if x.is_nan() {
        "NaN".into()
    } else if x == f64::INFINITY {
        "+Inf".into()
    } else if x == f64::NEG_INFINITY {
        "-Inf".into()
    } else {
        format!("{x}")
    }
}

fn count_values(v: Vec<Sample>, m: &Option<LabelModifier>, label: &str) -> Vec<Sample> {
    let mut out: Vec<Sample> = Vec::new();
    let mut index: HashMap<Labels, usize> = HashMap::new();
    for (l, x) in v {
        let mut g = group_labels(&l, m);
        g.remove(NAME);
        g.insert(label.to_string(), format_float(x));
        let i = *index.entry(g.clone()).or_insert_with(|| {
            out.push((g, 0.0));
            out.len() - 1
        });
        if let Some(s) = out.get_mut(i) {
            s.1 += 1.0;
        }
    }
    out
}
