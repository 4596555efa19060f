use std::collections::HashSet;

use promql_parser::label::MatchOp;
use promql_parser::parser::{Call, Expr};
use regex::Regex;

use super::eval::{Range, Run, Sample, Val, drop_name, unique};
use super::{EvalError, Labels, NAME};

pub(crate) fn call(run: &Run, c: &Call, t: i64) -> Result<Val, EvalError> {
    let name = c.func.name;
    let args: Vec<&Expr> = c.args.args.iter().map(|a| a.as_ref()).collect();
    let arg = |i: usize| {
        args.get(i)
            .copied()
            .ok_or_else(|| EvalError::Invalid(format!("{name}: missing argument {}", i + 1)))
    };
    let vector = |i: usize| run.eval_vector(arg(i)?, t);
    let scalar = |i: usize| run.eval_scalar(arg(i)?, t);
    let range = |i: usize| run.eval_range(arg(i)?, t);
    let string = |i: usize| match run.eval(arg(i)?, t)? {
        Val::String(s) => Ok(s),
        other => Err(EvalError::Invalid(format!(
            "{name}: expected a string, got a {}",
            other.kind()
        ))),
    };
    let out = match name {
        "time" => return Ok(Val::Scalar(t as f64 / 1000.0)),
        "pi" => return Ok(Val::Scalar(std::f64::consts::PI)),
        "scalar" => {
            let v = vector(0)?;
            return Ok(Val::Scalar(match v.as_slice() {
                [(_, x)] => *x,
                _ => f64::NAN,
            }));
        }
        "vector" => vec![(Labels::new(), scalar(0)?)],
        "abs" => map(vector(0)?, f64::abs),
        "ceil" => map(vector(0)?, f64::ceil),
        "floor" => map(vector(0)?, f64::floor),
        "sqrt" => map(vector(0)?, f64::sqrt),
        "exp" => map(vector(0)?, f64::exp),
        "ln" => map(vector(0)?, f64::ln),
        "log2" => map(vector(0)?, f64::log2),
        "log10" => map(vector(0)?, f64::log10),
        "sgn" => map(vector(0)?, sgn),
        "sin" => map(vector(0)?, f64::sin),
        "cos" => map(vector(0)?, f64::cos),
        "tan" => map(vector(0)?, f64::tan),
        "asin" => map(vector(0)?, f64::asin),
        "acos" => map(vector(0)?, f64::acos),
        "atan" => map(vector(0)?, f64::atan),
        "sinh" => map(vector(0)?, f64::sinh),
        "cosh" => map(vector(0)?, f64::cosh),
        "tanh" => map(vector(0)?, f64::tanh),
        "asinh" => map(vector(0)?, f64::asinh),
        "acosh" => map(vector(0)?, f64::acosh),
        "atanh" => map(vector(0)?, f64::atanh),
        "deg" => map(vector(0)?, |x| x * (180.0 / std::f64::consts::PI)),
        "rad" => map(vector(0)?, |x| x * (std::f64::consts::PI / 180.0)),
        "round" => {
            let v = vector(0)?;
            let to = if args.len() > 1 { scalar(1)? } else { 1.0 };
            let inv = 1.0 / to;
            map(v, |x| (x * inv + 0.5).floor() / inv)
        }
        "clamp" => {
            let v = vector(0)?;
            let (lo, hi) = (scalar(1)?, scalar(2)?);
            if hi < lo {
                Vec::new()
            } else {
                map(v, |x| go_max(lo, go_min(hi, x)))
            }
        }
        "clamp_min" => {
            let lo = scalar(1)?;
            map(vector(0)?, |x| go_max(lo, x))
        }
        "clamp_max" => {
            let hi = scalar(1)?;
            map(vector(0)?, |x| go_min(hi, x))
        }
        "timestamp" => timestamp(run, arg(0)?, t)?,
        "minute" | "hour" | "day_of_week" | "day_of_month" | "day_of_year" | "days_in_month"
        | "month" | "year" => {
            let v = if args.is_empty() {
                vec![(Labels::new(), t as f64 / 1000.0)]
            } else {
                vector(0)?
            };
            map(v, |secs| date_part(name, secs))
        }
        "absent" => {
            if vector(0)?.is_empty() {
                vec![(absent_labels(arg(0)?), 1.0)]
            } else {
                Vec::new()
            }
        }
        "absent_over_time" => {
            if range(0)?.series.is_empty() {
                vec![(absent_labels(arg(0)?), 1.0)]
            } else {
                Vec::new()
            }
        }
        "sort" => return Ok(Val::Vector(sorted(vector(0)?, false))),
        "sort_desc" => return Ok(Val::Vector(sorted(vector(0)?, true))),
        "label_replace" => {
            let v = vector(0)?;
            let (dst, repl, src, re) = (string(1)?, string(2)?, string(3)?, string(4)?);
            return unique(label_replace(v, &dst, &repl, &src, &re)?).map(Val::Vector);
        }
        "label_join" => {
            let v = vector(0)?;
            let (dst, sep) = (string(1)?, string(2)?);
            let mut srcs = Vec::new();
            for i in 3..args.len() {
                srcs.push(string(i)?);
            }
            return unique(label_join(v, &dst, &sep, &srcs)?).map(Val::Vector);
        }
        "histogram_quantile" => {
            let q = scalar(0)?;
            histogram_quantile(q, vector(1)?)?
        }
        "rate" => over_range(range(0)?, |r, p| extrapolated_rate(r, p, true, true)),
        "increase" => over_range(range(0)?, |r, p| extrapolated_rate(r, p, true, false)),
        "delta" => over_range(range(0)?, |r, p| extrapolated_rate(r, p, false, false)),
        "irate" => over_range(range(0)?, |_, p| instant_value(p, true)),
        "idelta" => over_range(range(0)?, |_, p| instant_value(p, false)),
        "deriv" => over_range(range(0)?, |_, p| {
            (p.len() >= 2).then(|| linear_regression(p, p[0].0).0)
        }),
        "predict_linear" => {
            let r = range(0)?;
            let d = scalar(1)?;
            over_range(r, |_, p| {
                (p.len() >= 2).then(|| {
                    let (slope, intercept) = linear_regression(p, t);
                    slope * d + intercept
                })
            })
        }
        "resets" => over_range(range(0)?, |_, p| {
            Some(p.windows(2).filter(|w| w[1].1 < w[0].1).count() as f64)
        }),
        "changes" => over_range(range(0)?, |_, p| {
            Some(
                p.windows(2)
                    .filter(|w| w[1].1 != w[0].1 && !(w[1].1.is_nan() && w[0].1.is_nan()))
                    .count() as f64,
            )
        }),
        "avg_over_time" => over_range(range(0)?, |_, p| Some(avg(p))),
        "sum_over_time" => over_range(range(0)?, |_, p| Some(kahan(p.iter().map(|s| s.1)))),
        "count_over_time" => over_range(range(0)?, |_, p| Some(p.len() as f64)),
        "min_over_time" => over_range(range(0)?, |_, p| {
            p.iter()
                .map(|s| s.1)
                .reduce(|m, x| if x < m || m.is_nan() { x } else { m })
        }),
        "max_over_time" => over_range(range(0)?, |_, p| {
            p.iter()
                .map(|s| s.1)
                .reduce(|m, x| if x > m || m.is_nan() { x } else { m })
        }),
        "stddev_over_time" => over_range(range(0)?, |_, p| Some(variance(p).sqrt())),
        "stdvar_over_time" => over_range(range(0)?, |_, p| Some(variance(p))),
        "present_over_time" => over_range(range(0)?, |_, _| Some(1.0)),
        "quantile_over_time" => {
            let q = scalar(0)?;
            over_range(range(1)?, |_, p| {
                Some(quantile(q, p.iter().map(|s| s.1).collect()))
            })
        }
        "mad_over_time" => over_range(range(0)?, |_, p| {
            let xs: Vec<f64> = p.iter().map(|s| s.1).collect();
            if xs.iter().any(|x| x.is_nan()) {
                return Some(f64::NAN);
            }
            let median = quantile(0.5, xs.clone());
            Some(quantile(
                0.5,
                xs.iter().map(|x| (x - median).abs()).collect(),
            ))
        }),
        "first_over_time" => {
            let r = range(0)?;
            return Ok(Val::Vector(
                r.series
                    .into_iter()
                    .filter_map(|(l, p)| p.first().map(|s| (l, s.1)))
                    .collect(),
            ));
        }
        "last_over_time" => {
            let r = range(0)?;
            return Ok(Val::Vector(
                r.series
                    .into_iter()
                    .filter_map(|(l, p)| p.last().map(|s| (l, s.1)))
                    .collect(),
            ));
        }
        other => return Err(EvalError::Unsupported(format!("function {other}"))),
    };
    unique(out).map(Val::Vector)
}

fn map(v: Vec<Sample>, f: impl Fn(f64) -> f64) -> Vec<Sample> {
    v.into_iter().map(|(l, x)| (drop_name(l), f(x))).collect()
}

fn over_range(r: Range, f: impl Fn(&Range, &[(i64, f64)]) -> Option<f64>) -> Vec<Sample> {
    let mut out = Vec::new();
    for (l, p) in &r.series {
        if let Some(x) = f(&r, p) {
            out.push((drop_name(l.clone()), x));
        }
    }
    out
}

/// A part of the UTC date at `secs` seconds since the epoch, as Go's
/// time package computes it.
fn date_part(part: &str, secs: f64) -> f64 {
    let secs = secs as i64;
    let days = secs.div_euclid(86_400);
    let of_day = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let month_days = [
        31,
        if leap { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    let before: i64 = month_days.iter().take((m - 1) as usize).sum();
    (match part {
        "minute" => of_day / 60 % 60,
        "hour" => of_day / 3600,
        // 1970-01-01 was a Thursday; Sunday is 0.
        "day_of_week" => (days + 4).rem_euclid(7),
        "day_of_month" => d,
        "day_of_year" => before + d,
        "days_in_month" => month_days.get((m - 1) as usize).copied().unwrap_or(30),
        "month" => m,
        _ => y,
    }) as f64
}

/// Howard Hinnant's days-to-civil algorithm: (year, month 1-12, day 1-31).
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

fn sgn(x: f64) -> f64 {
    if x > 0.0 {
        1.0
    } else if x < 0.0 {
        -1.0
    } else {
        x
    }
}

/// Go's math.Max: NaN wins.
pub(crate) fn go_max(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else {
        a.max(b)
    }
}

/// Go's math.Min: NaN wins.
pub(crate) fn go_min(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else {
        a.min(b)
    }
}

fn timestamp(run: &Run, arg: &Expr, t: i64) -> Result<Vec<Sample>, EvalError> {
    let mut inner = arg;
    while let Expr::Paren(p) = inner {
        inner = &p.expr;
    }
    if let Expr::VectorSelector(vs) = inner {
        return Ok(run
            .select_instant_with_time(vs, t)?
            .into_iter()
            .map(|(l, ts, _)| (drop_name(l), ts as f64 / 1000.0))
            .collect());
    }
    Ok(map(run.eval_vector(arg, t)?, |_| t as f64 / 1000.0))
}

/// The labels `absent` reports: the selector's equality matchers, except
/// a label matched more than once.
fn absent_labels(arg: &Expr) -> Labels {
    let vs = match arg {
        Expr::VectorSelector(vs) => vs,
        Expr::MatrixSelector(ms) => &ms.vs,
        _ => return Labels::new(),
    };
    let mut out = Labels::new();
    let mut has = HashSet::new();
    for m in &vs.matchers.matchers {
        if matches!(m.name.as_str(), NAME | "__type__" | "__unit__") {
            continue;
        }
        if m.op == MatchOp::Equal && !has.contains(&m.name) {
            out.insert(m.name.clone(), m.value.clone());
            has.insert(m.name.clone());
        } else {
            out.remove(&m.name);
        }
    }
    out
}

fn sorted(mut v: Vec<Sample>, desc: bool) -> Vec<Sample> {
    v.sort_by(|a, b| {
        let (x, y) = (a.1, b.1);
        match (x.is_nan(), y.is_nan()) {
            (true, true) => std::cmp::Ordering::Equal,
            (true, false) => std::cmp::Ordering::Greater,
            (false, true) => std::cmp::Ordering::Less,
            _ if desc => y.total_cmp(&x),
            _ => x.total_cmp(&y),
        }
    });
    v
}

/// A label name must be valid UTF-8 (the parser turns invalid bytes into
/// U+FFFD) and not empty.
fn valid_label_name(s: &str) -> bool {
    !s.is_empty() && !s.contains('\u{FFFD}')
}

fn label_replace(
    v: Vec<Sample>,
    dst: &str,
    repl: &str,
    src: &str,
    re: &str,
) -> Result<Vec<Sample>, EvalError> {
    let re = Regex::new(&format!("^(?s:{re})$")).map_err(|e| {
        EvalError::Invalid(format!(
            "invalid regular expression in label_replace(): {e}"
        ))
    })?;
    if !valid_label_name(dst) {
        return Err(EvalError::Invalid(format!(
            "invalid destination label name in label_replace(): {dst}"
        )));
    }
    let mut out = Vec::with_capacity(v.len());
    for (mut l, x) in v {
        let value = l.get(src).cloned().unwrap_or_default();
        if let Some(caps) = re.captures(&value) {
            let mut res = String::new();
            caps.expand(repl, &mut res);
            if res.is_empty() {
                l.remove(dst);
            } else {
                l.insert(dst.to_string(), res);
            }
        }
        out.push((l, x));
    }
    Ok(out)
}

fn label_join(
    v: Vec<Sample>,
    dst: &str,
    sep: &str,
    srcs: &[String],
) -> Result<Vec<Sample>, EvalError> {
    if !valid_label_name(dst) {
        return Err(EvalError::Invalid(format!(
            "invalid destination label name in label_join(): {dst}"
        )));
    }
    Ok(v.into_iter()
        .map(|(mut l, x)| {
            let joined: Vec<String> = srcs
                .iter()
                .map(|s| l.get(s).cloned().unwrap_or_default())
                .collect();
            let joined = joined.join(sep);
            if joined.is_empty() {
                l.remove(dst);
            } else {
                l.insert(dst.to_string(), joined);
            }
            (l, x)
        })
        .collect())
}

/// Prometheus's `extrapolatedRate` for float samples.
fn extrapolated_rate(r: &Range, p: &[(i64, f64)], is_counter: bool, is_rate: bool) -> Option<f64> {
    if p.len() < 2 {
        return None;
    }
    let (first, last) = (p[0], p[p.len() - 1]);
    let mut result = last.1 - first.1;
    if is_counter {
        for w in p.windows(2) {
            if w[1].1 < w[0].1 {
                result += w[0].1;
            }
        }
    }
    let mut to_start = first.0.saturating_sub(r.start) as f64 / 1000.0;
    let mut to_end = r.end.saturating_sub(last.0) as f64 / 1000.0;
    let sampled = (last.0 - first.0) as f64 / 1000.0;
    let avg = sampled / (p.len() - 1) as f64;
    let threshold = avg * 1.1;
    if to_start >= threshold {
        to_start = avg / 2.0;
    }
    if is_counter {
        let mut to_zero = to_start;
        if result > 0.0 && first.1 >= 0.0 {
            to_zero = sampled * (first.1 / result);
        }
        if to_zero < to_start {
            to_start = to_zero;
        }
    }
    if to_end >= threshold {
        to_end = avg / 2.0;
    }
    let mut factor = (sampled + to_start + to_end) / sampled;
    if is_rate {
        factor /= r.seconds();
    }
    Some(result * factor)
}

/// Prometheus's `instantValue` (irate, idelta) for float samples.
fn instant_value(p: &[(i64, f64)], is_rate: bool) -> Option<f64> {
    let [.., a, b] = p else {
        return None;
    };
    let interval = b.0 - a.0;
    if interval == 0 {
        return None;
    }
    let mut v = b.1;
    if !is_rate || b.1 >= a.1 || b.1.is_nan() || a.1.is_nan() {
        v = b.1 - a.1;
    }
    if is_rate {
        v /= interval as f64 / 1000.0;
    }
    Some(v)
}

pub(crate) fn kahan_inc(inc: f64, sum: f64, c: f64) -> (f64, f64) {
    let t = sum + inc;
    let c = if t.is_infinite() {
        0.0
    } else if sum.abs() >= inc.abs() {
        c + ((sum - t) + inc)
    } else {
        c + ((inc - t) + sum)
    };
    (t, c)
}

fn kahan(xs: impl Iterator<Item = f64>) -> f64 {
    let (mut s, mut c) = (0.0, 0.0);
    for x in xs {
        (s, c) = kahan_inc(x, s, c);
    }
    if s.is_infinite() { s } else { s + c }
}

/// The mean as Prometheus computes it: a direct Kahan sum, switching to an
/// incremental mean when the sum overflows.
pub(crate) fn avg(p: &[(i64, f64)]) -> f64 {
    mean(p.iter().map(|s| s.1))
}

pub(crate) fn mean(xs: impl Iterator<Item = f64> + Clone) -> f64 {
    let (mut s, mut c, mut n) = (0.0, 0.0, 0.0);
    let mut incremental = false;
    let (mut m, mut mc) = (0.0, 0.0);
    for x in xs {
        n += 1.0;
        if !incremental {
            let (ns, nc) = kahan_inc(x, s, c);
            if !ns.is_infinite() || x.is_infinite() {
                (s, c) = (ns, nc);
                continue;
            }
            incremental = true;
            m = s / (n - 1.0);
            mc = c / (n - 1.0);
        }
        let q = (n - 1.0) / n;
        m *= q;
        mc *= q;
        (m, mc) = kahan_inc(x / n, m, mc);
    }
    if incremental {
        m + mc
    } else if s.is_infinite() {
        s
    } else {
        (s + c) / n
    }
}

fn variance(p: &[(i64, f64)]) -> f64 {
    let (mut n, mut mean, mut cm, mut aux, mut ca) = (0.0, 0.0, 0.0, 0.0, 0.0);
    for &(_, x) in p {
        n += 1.0;
        let delta = x - (mean + cm);
        (mean, cm) = kahan_inc(delta / n, mean, cm);
        (aux, ca) = kahan_inc(delta * (x - (mean + cm)), aux, ca);
    }
    (aux + ca) / n
}

fn linear_regression(p: &[(i64, f64)], intercept_t: i64) -> (f64, f64) {
    let init = p[0].1;
    let mut const_y = true;
    let (mut n, mut sx, mut cx, mut sy, mut cy) = (0.0, 0.0, 0.0, 0.0, 0.0);
    let (mut sxy, mut cxy, mut sx2, mut cx2) = (0.0, 0.0, 0.0, 0.0);
    for (i, &(ts, y)) in p.iter().enumerate() {
        if const_y && i > 0 && y != init {
            const_y = false;
        }
        n += 1.0;
        let x = (ts - intercept_t) as f64 / 1e3;
        (sx, cx) = kahan_inc(x, sx, cx);
        (sy, cy) = kahan_inc(y, sy, cy);
        (sxy, cxy) = kahan_inc(x * y, sxy, cxy);
        (sx2, cx2) = kahan_inc(x * x, sx2, cx2);
    }
    if const_y {
        if init.is_infinite() {
            return (f64::NAN, f64::NAN);
        }
        return (0.0, init);
    }
    let (sx, sy, sxy, sx2) = (sx + cx, sy + cy, sxy + cxy, sx2 + cx2);
    let cov = sxy - sx * sy / n;
    let var = sx2 - sx * sx / n;
    let slope = cov / var;
    (slope, sy / n - slope * sx / n)
}

/// Prometheus's `quantile`: linear interpolation between the closest ranks.
pub(crate) fn quantile(q: f64, mut xs: Vec<f64>) -> f64 {
    if xs.is_empty() || q.is_nan() {
        return f64::NAN;
    }
    if q < 0.0 {
        return f64::NEG_INFINITY;
    }
    if q > 1.0 {
        return f64::INFINITY;
    }
    xs.sort_by(|a, b| match (a.is_nan(), b.is_nan()) {
        (true, true) => std::cmp::Ordering::Equal,
        (true, false) => std::cmp::Ordering::Less,
        (false, true) => std::cmp::Ordering::Greater,
        _ => a.total_cmp(b),
    });
    let n = xs.len() as f64;
    let rank = q * (n - 1.0);
    let lower = rank.floor().max(0.0);
    let upper = (lower + 1.0).min(n - 1.0);
    let w = rank - rank.floor();
    let at = |i: f64| xs.get(i as usize).copied().unwrap_or(f64::NAN);
    if w == 0.0 {
        return at(lower);
    }
    at(lower) * (1.0 - w) + at(upper) * w
}

fn histogram_quantile(q: f64, v: Vec<Sample>) -> Result<Vec<Sample>, EvalError> {
    let mut groups: Vec<(Labels, Vec<(f64, f64)>)> = Vec::new();
    let mut index = std::collections::HashMap::new();
    let mut names: std::collections::HashMap<Labels, Option<String>> = Default::default();
    for (mut l, x) in v {
        let Some(le) = l.remove("le") else { continue };
        // A NaN bound is malformed: Prometheus ignores the bucket.
        let Some(upper) = parse_float(&le).filter(|u| !u.is_nan()) else {
            continue;
        };
        let name = l.get(NAME).cloned();
        let l = drop_name(l);
        // Two histograms whose labels differ only in their name collide.
        if names.entry(l.clone()).or_insert_with(|| name.clone()) != &name {
            return Err(EvalError::Invalid(
                "vector cannot contain metrics with the same labelset".into(),
            ));
        }
        let i = *index.entry(l.clone()).or_insert_with(|| {
            groups.push((l, Vec::new()));
            groups.len() - 1
        });
        if let Some(g) = groups.get_mut(i) {
            g.1.push((upper, x));
        }
    }
    Ok(groups
        .into_iter()
        .map(|(l, b)| (l, bucket_quantile(q, b)))
        .collect())
}

fn parse_float(s: &str) -> Option<f64> {
    match s.trim() {
        "+Inf" | "Inf" | "+inf" | "inf" => Some(f64::INFINITY),
        "-Inf" | "-inf" => Some(f64::NEG_INFINITY),
        "NaN" => Some(f64::NAN),
        t => t.parse().ok(),
    }
}

/// Prometheus's `BucketQuantile` over classic (`le`) buckets.
fn bucket_quantile(q: f64, mut b: Vec<(f64, f64)>) -> f64 {
    if q.is_nan() {
        return f64::NAN;
    }
    if q < 0.0 {
        return f64::NEG_INFINITY;
    }
    if q > 1.0 {
        return f64::INFINITY;
    }
    b.sort_by(|x, y| x.0.total_cmp(&y.0));
    match b.last() {
        Some(l) if l.0 == f64::INFINITY => {}
        _ => return f64::NAN,
    }
    let mut merged: Vec<(f64, f64)> = Vec::with_capacity(b.len());
    for (ub, c) in b {
        match merged.last_mut() {
            Some(last) if last.0 == ub => last.1 += c,
            _ => merged.push((ub, c)),
        }
    }
    let mut b = merged;
    let mut prev = b[0].1;
    for bucket in b.iter_mut().skip(1) {
        let curr = bucket.1;
        if curr == prev {
            continue;
        }
        if almost_equal(prev, curr, 1e-12) || curr < prev {
            bucket.1 = prev;
            continue;
        }
        prev = curr;
    }
    if b.len() < 2 {
        return f64::NAN;
    }
    let observations = b[b.len() - 1].1;
    if observations == 0.0 {
        return f64::NAN;
    }
    let mut rank = q * observations;
    let i = b[..b.len() - 1].partition_point(|x| x.1 < rank);
    if i == b.len() - 1 {
        return b[b.len() - 2].0;
    }
    if i == 0 && b[0].0 <= 0.0 {
        return b[0].0;
    }
    let (mut start, end, mut count) = (0.0, b[i].0, b[i].1);
    if i > 0 {
        start = b[i - 1].0;
        count -= b[i - 1].1;
        rank -= b[i - 1].1;
    }
    start + (end - start) * (rank / count)
}

/// Prometheus's `almost.Equal`.
pub fn almost_equal(a: f64, b: f64, eps: f64) -> bool {
    if super::is_stale(a) || super::is_stale(b) {
        return super::is_stale(a) && super::is_stale(b);
    }
    if a.is_nan() && b.is_nan() {
        return true;
    }
    if a == b {
        return true;
    }
    let min_normal = f64::MIN_POSITIVE;
    let abs_sum = a.abs() + b.abs();
    let diff = (a - b).abs();
    if a == 0.0 || b == 0.0 || abs_sum < min_normal {
        return diff < eps * min_normal;
    }
    diff / abs_sum.min(f64::MAX) < eps
}
