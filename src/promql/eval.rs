use std::time::{Duration, SystemTime};

use promql_parser::label::{MatchOp, Matcher};
use promql_parser::parser::{self, AtModifier, Expr, Offset, SubqueryExpr, VectorSelector};

use super::{EvalError, Labels, NAME, Store, Value, aggregate, binary, functions, is_stale};

/// The step of a subquery written without one, as promqltest uses.
const DEFAULT_SUBQUERY_STEP_MS: i64 = 60_000;
const DEFAULT_LOOKBACK_MS: i64 = 5 * 60_000;
/// The most steps one subquery may evaluate, Prometheus's limit on points
/// per series: a budget in steps, not in wall time.
const MAX_SUBQUERY_STEPS: i64 = 11_000;

pub(crate) type Sample = (Labels, f64);
pub(crate) type Series = (Labels, Vec<(i64, f64)>);

/// A range vector with the window it was selected over: functions such as
/// `rate` extrapolate to the window's bounds.
pub(crate) struct Range {
    pub series: Vec<Series>,
    /// Exclusive start of the window, in ms.
    pub start: i64,
    /// Inclusive end of the window, in ms.
    pub end: i64,
}

impl Range {
    pub fn seconds(&self) -> f64 {
        self.end.saturating_sub(self.start) as f64 / 1000.0
    }
}

/// A value during evaluation.
pub(crate) enum Val {
    Scalar(f64),
    Vector(Vec<Sample>),
    Range(Range),
    String(String),
}

impl Val {
    pub fn kind(&self) -> &'static str {
        match self {
            Val::Scalar(_) => "scalar",
            Val::Vector(_) => "instant vector",
            Val::Range(_) => "range vector",
            Val::String(_) => "string",
        }
    }
}

/// Evaluates PromQL over a [`Store`].
pub struct Evaluator<'a> {
    store: &'a Store,
    lookback_ms: i64,
}

impl<'a> Evaluator<'a> {
    pub fn new(store: &'a Store) -> Self {
        Self {
            store,
            lookback_ms: DEFAULT_LOOKBACK_MS,
        }
    }

    /// Sets the lookback window of instant selectors (default 5m).
    pub fn lookback(self, ms: i64) -> Self {
        Self {
            lookback_ms: ms,
            ..self
        }
    }

    /// Evaluates `expr` at `t_ms`.
    pub fn instant(&self, expr: &Expr, t_ms: i64) -> Result<Value, EvalError> {
        let run = Run {
            store: self.store,
            lookback_ms: self.lookback_ms,
            start_t: t_ms,
            end_t: t_ms,
        };
        Ok(match run.eval(expr, t_ms)? {
            Val::Scalar(v) => Value::Scalar(v),
            Val::Vector(v) => Value::Vector(v),
            Val::Range(r) => Value::Matrix(r.series),
            Val::String(s) => Value::String(s),
        })
    }

    /// Parses `text` and evaluates it at `t_ms`.
    pub fn query(&self, text: &str, t_ms: i64) -> Result<Value, EvalError> {
        let expr = parser::parse(text).map_err(EvalError::Parse)?;
        self.instant(&expr, t_ms)
    }

    /// A range query: `expr` (a scalar or an instant vector) evaluated at
    /// every step from `start_ms` to `end_ms` inclusive, as Prometheus's
    /// engine does, assembled into series sorted by labels. A scalar
    /// becomes the series with no labels.
    pub fn range(
        &self,
        expr: &Expr,
        start_ms: i64,
        end_ms: i64,
        step_ms: i64,
    ) -> Result<Value, EvalError> {
        if step_ms <= 0 || end_ms < start_ms {
            return Err(EvalError::Invalid(
                "a range query needs a positive step and an end after its start".into(),
            ));
        }
        let steps = (end_ms - start_ms) / step_ms + 1;
        if steps > MAX_SUBQUERY_STEPS {
            return Err(EvalError::Invalid(format!(
                "a range query of {steps} steps exceeds the limit of {MAX_SUBQUERY_STEPS} points per series"
            )));
        }
        let run = Run {
            store: self.store,
            lookback_ms: self.lookback_ms,
            start_t: start_ms,
            end_t: end_ms,
        };
        let mut out: std::collections::BTreeMap<Labels, Vec<(i64, f64)>> = Default::default();
        for i in 0..steps {
            let t = start_ms + i * step_ms;
            match run.eval(expr, t)? {
                Val::Scalar(v) => out.entry(Labels::new()).or_default().push((t, v)),
                Val::Vector(v) => {
                    for (l, x) in v {
                        out.entry(l).or_default().push((t, x));
                    }
                }
                other => {
                    return Err(EvalError::Invalid(format!(
                        "a range query needs a scalar or an instant vector, got a {}",
                        other.kind()
                    )));
                }
            }
        }
        Ok(Value::Matrix(out.into_iter().collect()))
    }

    /// Parses `text` and runs it as a range query (see [`Evaluator::range`]).
    pub fn query_range(
        &self,
        text: &str,
        start_ms: i64,
        end_ms: i64,
        step_ms: i64,
    ) -> Result<Value, EvalError> {
        let expr = parser::parse(text).map_err(EvalError::Parse)?;
        self.range(&expr, start_ms, end_ms, step_ms)
    }
}

/// One query's evaluation: the store and the query's own start and end
/// (equal for an instant query), which `@ start()` and `@ end()` refer to.
pub(crate) struct Run<'a> {
    store: &'a Store,
    lookback_ms: i64,
    start_t: i64,
    end_t: i64,
}

impl Run<'_> {
    pub fn eval(&self, expr: &Expr, t: i64) -> Result<Val, EvalError> {
        match expr {
            Expr::NumberLiteral(n) => Ok(Val::Scalar(n.val)),
            Expr::StringLiteral(s) => Ok(Val::String(s.val.clone())),
            Expr::Paren(p) => self.eval(&p.expr, t),
            Expr::Unary(u) => match self.eval(&u.expr, t)? {
                Val::Scalar(v) => Ok(Val::Scalar(-v)),
                Val::Vector(v) => unique(v.into_iter().map(|(l, x)| (drop_name(l), -x)).collect())
                    .map(Val::Vector),
                other => Err(EvalError::Invalid(format!(
                    "unary minus on a {}",
                    other.kind()
                ))),
            },
            Expr::VectorSelector(vs) => self.select_instant(vs, t).map(Val::Vector),
            Expr::MatrixSelector(ms) => self
                .select_range(&ms.vs, millis(&ms.range), t)
                .map(Val::Range),
            Expr::Subquery(sq) => self.subquery(sq, t).map(Val::Range),
            Expr::Call(c) => functions::call(self, c, t),
            Expr::Aggregate(a) => aggregate::eval(self, a, t),
            Expr::Binary(b) => binary::eval(self, b, t),
            Expr::Extension(_) => Err(EvalError::Unsupported("extension expressions".into())),
        }
    }

    pub fn eval_vector(&self, expr: &Expr, t: i64) -> Result<Vec<Sample>, EvalError> {
        match self.eval(expr, t)? {
            Val::Vector(v) => Ok(v),
            other => Err(EvalError::Invalid(format!(
                "expected an instant vector, got a {}",
                other.kind()
            ))),
        }
    }

    pub fn eval_scalar(&self, expr: &Expr, t: i64) -> Result<f64, EvalError> {
        match self.eval(expr, t)? {
            Val::Scalar(v) => Ok(v),
            other => Err(EvalError::Invalid(format!(
                "expected a scalar, got a {}",
                other.kind()
            ))),
        }
    }

    pub fn eval_range(&self, expr: &Expr, t: i64) -> Result<Range, EvalError> {
        match self.eval(expr, t)? {
            Val::Range(r) => Ok(r),
            other => Err(EvalError::Invalid(format!(
                "expected a range vector, got a {}",
                other.kind()
            ))),
        }
    }

    /// The time a selector or subquery reads at: `@` replaces `t`, then
    /// the offset moves it back.
    fn shifted(&self, at: &Option<AtModifier>, offset: &Option<Offset>, t: i64) -> i64 {
        let base = match at {
            None => t,
            Some(AtModifier::Start) => self.start_t,
            Some(AtModifier::End) => self.end_t,
            Some(AtModifier::At(st)) => system_millis(st),
        };
        let off = match offset {
            None => 0,
            Some(Offset::Pos(d)) => millis(d),
            Some(Offset::Neg(d)) => -millis(d),
        };
        base.saturating_sub(off)
    }

    fn matching<'s>(
        &'s self,
        vs: &'s VectorSelector,
    ) -> Result<impl Iterator<Item = &'s Series> + 's, EvalError> {
        if self
            .store
            .native_histograms()
            .iter()
            .any(|l| selects(vs, l))
        {
            return Err(EvalError::Unsupported("native histograms".into()));
        }
        let name = vs.name.clone().or_else(|| {
            vs.matchers
                .matchers
                .iter()
                .find(|m| m.name == NAME && m.op == MatchOp::Equal)
                .map(|m| m.value.clone())
        });
        let name = if vs.matchers.or_matchers.is_empty() {
            name
        } else {
            vs.name.clone()
        };
        Ok(self
            .store
            .candidates(name.as_deref())
            .filter(move |(labels, _)| selects(vs, labels)))
    }

    pub fn select_instant(&self, vs: &VectorSelector, t: i64) -> Result<Vec<Sample>, EvalError> {
        Ok(self
            .select_instant_with_time(vs, t)?
            .into_iter()
            .map(|(l, _, v)| (l, v))
            .collect())
    }

    /// The selected samples with their own timestamps (for `timestamp()`).
    pub fn select_instant_with_time(
        &self,
        vs: &VectorSelector,
        t: i64,
    ) -> Result<Vec<(Labels, i64, f64)>, EvalError> {
        let at = self.shifted(&vs.at, &vs.offset, t);
        let lo = at.saturating_sub(self.lookback_ms);
        let mut out = Vec::new();
        for (labels, samples) in self.matching(vs)? {
            let upto = samples.partition_point(|s| s.0 <= at);
            if upto == 0 {
                continue;
            }
            let (ts, v) = samples[upto - 1];
            if ts > lo && !is_stale(v) {
                out.push((labels.clone(), ts, v));
            }
        }
        Ok(out)
    }

    fn select_range(&self, vs: &VectorSelector, range: i64, t: i64) -> Result<Range, EvalError> {
        let end = self.shifted(&vs.at, &vs.offset, t);
        let start = end.saturating_sub(range);
        let mut series = Vec::new();
        for (labels, samples) in self.matching(vs)? {
            let from = samples.partition_point(|s| s.0 <= start);
            let to = samples.partition_point(|s| s.0 <= end);
            let points: Vec<(i64, f64)> = samples
                .get(from..to)
                .unwrap_or_default()
                .iter()
                .copied()
                .filter(|s| !is_stale(s.1))
                .collect();
            if !points.is_empty() {
                series.push((labels.clone(), points));
            }
        }
        Ok(Range { series, start, end })
    }

    /// `expr[range:step]`: the inner expression at every multiple of the step
    /// in (end - range, end].
    fn subquery(&self, sq: &SubqueryExpr, t: i64) -> Result<Range, EvalError> {
        let end = self.shifted(&sq.at, &sq.offset, t);
        let range = millis(&sq.range);
        let step = sq
            .step
            .as_ref()
            .map(millis)
            .unwrap_or(DEFAULT_SUBQUERY_STEP_MS);
        if step <= 0 {
            return Err(EvalError::Invalid("subquery step must be positive".into()));
        }
        let start = end.saturating_sub(range);
        if range / step > MAX_SUBQUERY_STEPS {
            return Err(EvalError::Invalid(format!(
                "subquery of {} steps exceeds the budget of {MAX_SUBQUERY_STEPS}",
                range / step
            )));
        }
        // Go's integer division truncates towards zero, as Rust's does.
        let mut ts = step.saturating_mul(start / step);
        if ts <= start {
            ts = ts.saturating_add(step);
        }
        let mut series: Vec<Series> = Vec::new();
        let mut index: std::collections::HashMap<Labels, usize> = Default::default();
        while ts <= end {
            match self.eval(&sq.expr, ts)? {
                Val::Vector(v) => {
                    for (l, x) in v {
                        let i = *index.entry(l.clone()).or_insert_with(|| {
                            series.push((l, Vec::new()));
                            series.len() - 1
                        });
                        if let Some(s) = series.get_mut(i) {
                            s.1.push((ts, x));
                        }
                    }
                }
                Val::Scalar(x) => {
                    let l = Labels::new();
                    let i = *index.entry(l.clone()).or_insert_with(|| {
                        series.push((l, Vec::new()));
                        series.len() - 1
                    });
                    if let Some(s) = series.get_mut(i) {
                        s.1.push((ts, x));
                    }
                }
                other => {
                    return Err(EvalError::Invalid(format!(
                        "subquery of a {}",
                        other.kind()
                    )));
                }
            }
            match ts.checked_add(step) {
                Some(next) => ts = next,
                None => break,
            }
        }
        Ok(Range { series, start, end })
    }
}

fn selects(vs: &VectorSelector, labels: &Labels) -> bool {
    let get = |n: &str| labels.get(n).map(String::as_str).unwrap_or("");
    if vs.name.as_ref().is_some_and(|name| get(NAME) != name) {
        return false;
    }
    let all = |ms: &[Matcher]| ms.iter().all(|m| m.is_match(get(&m.name)));
    if vs.matchers.or_matchers.is_empty() {
        all(&vs.matchers.matchers)
    } else {
        vs.matchers.or_matchers.iter().any(|g| all(g))
    }
}

pub(crate) fn millis(d: &Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

fn system_millis(st: &SystemTime) -> i64 {
    match st.duration_since(SystemTime::UNIX_EPOCH) {
        Ok(d) => millis(&d),
        Err(e) => -millis(&e.duration()),
    }
}

/// The labels `by (…)` keeps, or those `without (…)` leaves (with
/// `__name__` dropped), as aggregations and vector matching read them.
pub(crate) fn by_modifier(l: &Labels, m: &promql_parser::parser::LabelModifier) -> Labels {
    use promql_parser::parser::LabelModifier;
    match m {
        LabelModifier::Include(ls) => ls
            .labels
            .iter()
            .filter_map(|n| l.get(n).map(|v| (n.clone(), v.clone())))
            .collect(),
        LabelModifier::Exclude(ls) => {
            let mut out = drop_name(l.clone());
            for n in &ls.labels {
                out.remove(n);
            }
            out
        }
    }
}

/// Drops `__name__` and the other reserved metadata labels, as most
/// functions and operators do.
pub(crate) fn drop_name(mut l: Labels) -> Labels {
    l.remove(NAME);
    l.remove("__type__");
    l.remove("__unit__");
    l
}

/// A vector must not hold two samples with the same labels, which dropping
/// the metric name can cause.
pub(crate) fn unique(v: Vec<Sample>) -> Result<Vec<Sample>, EvalError> {
    let mut seen = std::collections::HashSet::new();
    for (l, _) in &v {
        if !seen.insert(l) {
            return Err(EvalError::Invalid(
                "vector cannot contain metrics with the same labelset".into(),
            ));
        }
    }
    Ok(v)
}
