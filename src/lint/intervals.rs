//! Intervals: the numbers a condition allows each expression it compares.
//!
//! For a condition such as `deployment.cpu > 80% or deployment.cpu < 10%`,
//! [`ranges`] gives, per compared expression (keyed by its printed form, so
//! `pod.cpu / 2` in two policies is one key), a union of intervals that holds
//! the expression's value whenever the condition is true. `and` intersects,
//! `or` unites, `not` is pushed down to the comparisons and complements them.
//! What is not understood allows anything, so the sets only ever grow: two
//! conditions whose sets for one expression do not meet cannot hold at once.
//!
//! A comparison holds only when both sides have a value (a missing or
//! non-finite sample is no data, never false), so `not (x > 80%)` does allow
//! exactly `x <= 80%`.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use crate::ir::{self, BinOp, ExprKind, Value};

/// An end of an interval: a value and whether it is included; None for
/// infinity (minus at the low end, plus at the high end).
pub type End = Option<(f64, bool)>;

/// The numbers between two ends.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Interval {
    pub lo: End,
    pub hi: End,
}

impl Interval {
    fn point(v: f64) -> Interval {
        Interval {
            lo: Some((v, true)),
            hi: Some((v, true)),
        }
    }

    fn is_empty(&self) -> bool {
        match (self.lo, self.hi) {
            (Some((l, lc)), Some((h, hc))) => l > h || l == h && !(lc && hc),
            _ => false,
        }
    }

    fn intersect(&self, other: &Interval) -> Interval {
        Interval {
            lo: max_by(self.lo, other.lo, cmp_lo),
            hi: max_by(self.hi, other.hi, |a, b| cmp_hi(b, a)),
        }
    }
}

/// Low ends in order: the one that lets in more numbers first.
fn cmp_lo(a: End, b: End) -> Ordering {
    match (a, b) {
        (None, None) => Ordering::Equal,
        (None, _) => Ordering::Less,
        (_, None) => Ordering::Greater,
        (Some((x, xc)), Some((y, yc))) => x.total_cmp(&y).then(yc.cmp(&xc)),
    }
}

/// High ends in order: the one that lets in fewer numbers first.
fn cmp_hi(a: End, b: End) -> Ordering {
    match (a, b) {
        (None, None) => Ordering::Equal,
        (None, _) => Ordering::Greater,
        (_, None) => Ordering::Less,
        (Some((x, xc)), Some((y, yc))) => x.total_cmp(&y).then(xc.cmp(&yc)),
    }
}

fn max_by(a: End, b: End, cmp: impl Fn(End, End) -> Ordering) -> End {
    if cmp(a, b) == Ordering::Less { b } else { a }
}

/// The other side of an end: `(v, included)` becomes `(v, excluded)`.
fn flip(e: End) -> End {
    e.map(|(v, c)| (v, !c))
}

/// A union of intervals, sorted, apart and none empty.
#[derive(Clone, Debug, PartialEq)]
pub struct Set(Vec<Interval>);

impl Set {
    #[cfg(test)]
    fn all() -> Set {
        Set(vec![Interval { lo: None, hi: None }])
    }

    #[cfg(test)]
    fn none() -> Set {
        Set(Vec::new())
    }

    pub fn of(intervals: impl IntoIterator<Item = Interval>) -> Set {
        let mut v: Vec<Interval> = intervals.into_iter().filter(|i| !i.is_empty()).collect();
        v.sort_by(|a, b| cmp_lo(a.lo, b.lo));
        let mut out: Vec<Interval> = Vec::with_capacity(v.len());
        for i in v {
            match out.last_mut() {
                Some(last) if touches(last.hi, i.lo) => {
                    if cmp_hi(last.hi, i.hi) == Ordering::Less {
                        last.hi = i.hi;
                    }
                }
                _ => out.push(i),
            }
        }
        Set(out)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    #[cfg(test)]
    fn intervals(&self) -> &[Interval] {
        &self.0
    }

    pub fn union(&self, other: &Set) -> Set {
        Set::of(self.0.iter().chain(&other.0).copied())
    }

    /// In one pass over both (sorted and apart), so that two long `in`
    /// lists cost their lengths, not their product.
    pub fn intersect(&self, other: &Set) -> Set {
        let (a, b) = (&self.0, &other.0);
        let (mut i, mut j) = (0, 0);
        let mut out = Vec::new();
        while i < a.len() && j < b.len() {
            let both = a[i].intersect(&b[j]);
            if !both.is_empty() {
                out.push(both);
            }
            // The one that ends first meets nothing further in the other.
            if cmp_hi(a[i].hi, b[j].hi) == Ordering::Less {
                i += 1;
            } else {
                j += 1;
            }
        }
        Set(out)
    }

    pub fn complement(&self) -> Set {
        let mut out = Vec::new();
        let mut from: End = None;
        for i in &self.0 {
            if i.lo.is_some() {
                out.push(Interval {
                    lo: from,
                    hi: flip(i.lo),
                });
            }
            match i.hi {
                Some(_) => from = flip(i.hi),
                None => return Set::of(out),
            }
        }
        out.push(Interval { lo: from, hi: None });
        Set::of(out)
    }
}

/// Whether an interval ending at `hi` and one starting at `lo` (no earlier)
/// leave no number between them, so that they make one interval.
fn touches(hi: End, lo: End) -> bool {
    match (hi, lo) {
        (None, _) | (_, None) => true,
        (Some((h, hc)), Some((l, lc))) => l < h || l == h && (hc || lc),
    }
}

/// The numbers `x op c` allows `x`; None for an operator that compares no
/// number with `c`.
fn compared(op: BinOp, c: &Value) -> Option<Set> {
    let n = |v: &Value| v.as_num();
    Some(match op {
        BinOp::Lt | BinOp::Le => Set::of([Interval {
            lo: None,
            hi: Some((n(c)?, op == BinOp::Le)),
        }]),
        BinOp::Gt | BinOp::Ge => Set::of([Interval {
            lo: Some((n(c)?, op == BinOp::Ge)),
            hi: None,
        }]),
        BinOp::Eq => Set::of([Interval::point(n(c)?)]),
        BinOp::Ne => Set::of([Interval::point(n(c)?)]).complement(),
        BinOp::In | BinOp::NotIn => {
            let Value::List(items) = c else {
                return None;
            };
            let points = items
                .iter()
                .map(|v| n(v).map(Interval::point))
                .collect::<Option<Vec<_>>>()?;
            let set = Set::of(points);
            if op == BinOp::In {
                set
            } else {
                set.complement()
            }
        }
        _ => return None,
    })
}

/// Per compared expression, by its printed form, the numbers a condition
/// allows it; an expression left out may be anything.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Ranges(BTreeMap<String, Set>);

impl Ranges {
    pub fn anything() -> Ranges {
        Ranges::default()
    }

    fn one(key: String, set: Set) -> Ranges {
        Ranges([(key, set)].into_iter().collect())
    }

    /// Both hold: each expression is in both sets.
    pub fn and(mut self, other: Ranges) -> Ranges {
        for (k, s) in other.0 {
            let s = match self.0.get(&k) {
                Some(mine) => mine.intersect(&s),
                None => s,
            };
            self.0.insert(k, s);
        }
        self
    }

    /// Either holds: an expression is in one set or the other; one that
    /// either leaves free is free.
    pub fn or(self, other: Ranges) -> Ranges {
        Ranges(
            self.0
                .into_iter()
                .filter_map(|(k, s)| other.0.get(&k).map(|t| (k, s.union(t))))
                .collect(),
        )
    }

    /// No value satisfies both: some expression is allowed nothing.
    pub fn apart(&self, other: &Ranges) -> bool {
        let empty = |r: &Ranges| r.0.values().any(Set::is_empty);
        empty(self)
            || empty(other)
            || self
                .0
                .iter()
                .any(|(k, s)| other.0.get(k).is_some_and(|t| s.intersect(t).is_empty()))
    }
}

/// The numbers condition `e` allows each expression it compares with a
/// constant; `kind` is the kind of the policy, for printing.
pub fn ranges(program: &ir::Program, kind: ir::Kind, e: &ir::Expr) -> Ranges {
    walk(program, kind, e, false)
}

fn walk(program: &ir::Program, kind: ir::Kind, e: &ir::Expr, negated: bool) -> Ranges {
    match &e.kind {
        ExprKind::Not(x) => walk(program, kind, x, !negated),
        ExprKind::Binary { op, lhs, rhs } => match (op, negated) {
            (BinOp::And, false) | (BinOp::Or, true) => {
                walk(program, kind, lhs, negated).and(walk(program, kind, rhs, negated))
            }
            (BinOp::Or, false) | (BinOp::And, true) => {
                walk(program, kind, lhs, negated).or(walk(program, kind, rhs, negated))
            }
            _ => comparison(program, kind, *op, lhs, rhs, negated).unwrap_or_default(),
        },
        _ => Ranges::anything(),
    }
}

/// `x op c` or `c op x` as what it allows `x`, complemented when negated.
fn comparison(
    program: &ir::Program,
    kind: ir::Kind,
    op: BinOp,
    lhs: &ir::Expr,
    rhs: &ir::Expr,
    negated: bool,
) -> Option<Ranges> {
    let (op, x, c) = match (&lhs.kind, &rhs.kind) {
        (ExprKind::Const(_), ExprKind::Const(_)) => return None,
        (_, ExprKind::Const(c)) => (op, lhs, c),
        (ExprKind::Const(c), _) => (op.mirrored()?, rhs, c),
        _ => return None,
    };
    let set = compared(op, c)?;
    let set = if negated { set.complement() } else { set };
    Some(Ranges::one(ir::show(program, kind, x), set))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lt(v: f64) -> Set {
        compared(BinOp::Lt, &Value::Num(v)).unwrap()
    }
    fn le(v: f64) -> Set {
        compared(BinOp::Le, &Value::Num(v)).unwrap()
    }
    fn gt(v: f64) -> Set {
        compared(BinOp::Gt, &Value::Num(v)).unwrap()
    }
    fn ge(v: f64) -> Set {
        compared(BinOp::Ge, &Value::Num(v)).unwrap()
    }
    fn eq(v: f64) -> Set {
        compared(BinOp::Eq, &Value::Num(v)).unwrap()
    }
    fn list(op: BinOp, vs: &[f64]) -> Set {
        let items = vs.iter().map(|v| Value::Num(*v)).collect();
        compared(op, &Value::List(items)).unwrap()
    }

    #[test]
    fn open_and_closed_ends_meet_only_when_one_is_closed() {
        assert!(gt(80.0).intersect(&lt(50.0)).is_empty());
        assert!(gt(80.0).intersect(&le(80.0)).is_empty());
        assert!(ge(80.0).intersect(&lt(80.0)).is_empty());
        assert_eq!(ge(80.0).intersect(&le(80.0)), eq(80.0));
        assert!(!gt(50.0).intersect(&lt(80.0)).is_empty());
    }

    #[test]
    fn unions_merge_what_touches_and_keep_gaps() {
        assert_eq!(lt(10.0).union(&ge(10.0)), Set::all());
        assert_eq!(le(10.0).union(&gt(10.0)), Set::all());
        let gap = lt(10.0).union(&gt(10.0));
        assert_eq!(gap.intervals().len(), 2);
        assert_eq!(gap, eq(10.0).complement());
        let two = lt(10.0).union(&gt(80.0));
        assert!(two.intersect(&ge(20.0).intersect(&lt(50.0))).is_empty());
        assert!(!two.intersect(&lt(50.0)).is_empty());
        assert_eq!(lt(10.0).union(&lt(20.0)), lt(20.0));
    }

    #[test]
    fn complements_flip_the_ends() {
        assert_eq!(gt(80.0).complement(), le(80.0));
        assert_eq!(le(80.0).complement(), gt(80.0));
        assert_eq!(Set::all().complement(), Set::none());
        assert_eq!(Set::none().complement(), Set::all());
        let band = gt(20.0).intersect(&le(50.0));
        assert_eq!(band.complement(), le(20.0).union(&gt(50.0)));
        assert_eq!(band.complement().complement(), band);
    }

    #[test]
    fn long_lists_intersect_in_linear_time() {
        let evens: Vec<f64> = (0..100_000).map(|n| f64::from(n) * 2.0).collect();
        let odds: Vec<f64> = evens.iter().map(|n| n + 1.0).collect();
        let (a, b) = (list(BinOp::In, &evens), list(BinOp::In, &odds));
        assert!(a.intersect(&b).is_empty());
        assert_eq!(a.intersect(&a), a);
        assert_eq!(a.intersect(&b.complement()), a);
    }

    #[test]
    fn lists_are_points() {
        let some = list(BinOp::In, &[1.0, 2.0, 3.0]);
        assert!(some.intersect(&gt(3.0)).is_empty());
        assert!(!some.intersect(&ge(3.0)).is_empty());
        let others = list(BinOp::NotIn, &[1.0, 2.0]);
        assert!(others.intersect(&list(BinOp::In, &[1.0, 2.0])).is_empty());
        assert!(!others.intersect(&eq(1.5)).is_empty());
        assert!(compared(BinOp::In, &Value::List(vec![Value::Str("a".into())])).is_none());
    }

    #[test]
    fn ranges_combine_by_expression() {
        let cpu = |s: Set| Ranges::one("deployment.cpu".into(), s);
        let lag = |s: Set| Ranges::one("statefulset.lag".into(), s);
        assert!(cpu(gt(80.0)).apart(&cpu(lt(50.0))));
        assert!(!cpu(gt(50.0)).apart(&cpu(lt(80.0))));
        // Another expression says nothing of this one.
        assert!(!cpu(gt(80.0)).apart(&lag(lt(50.0))));
        // `or` keeps only what both sides constrain.
        let either = cpu(gt(80.0)).or(lag(gt(1.0)));
        assert_eq!(either, Ranges::anything());
        assert!(!either.apart(&cpu(lt(50.0))));
        let both = cpu(gt(80.0)).and(lag(gt(1.0)));
        assert!(both.apart(&cpu(lt(50.0))));
        assert!(both.apart(&lag(le(1.0))));
        // A condition that allows nothing is apart from anything.
        assert!(cpu(gt(80.0)).and(cpu(lt(50.0))).apart(&Ranges::anything()));
    }
}
