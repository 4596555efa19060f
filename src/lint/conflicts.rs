//! Conflicts: two policies that may act on the same object at the same time,
//! with actions that undo or block each other.
//!
//! "May" is decided by a small prover over `where` and `when`: each is put in
//! disjunctive normal form over atoms such as `pvc.labels.app == "pg"` or
//! `pvc.usage > 80%`, and two policies are apart when every pair of their
//! conjunctions constrains one label, field or metric to nothing (`app ==
//! "a"` against `app == "b"`, `lag > 1000` against `lag < 100`). Anything the
//! prover does not understand may be true, so it errs towards a warning.
//! Beside it, [`intervals`](super::intervals) puts the numbers each
//! compared expression may take in a union of intervals (`cpu > 80% or cpu
//! < 10%` against `cpu >= 20% and cpu < 50%`, `replicas in [1, 2]` against
//! `replicas > 3`, `pod.cpu / 2` as one expression): two policies are also
//! apart when, for one expression, those sets do not meet.

use std::collections::BTreeSet;

use super::intervals::{self, Ranges};
use super::{Cx, Policy, rule};
use crate::diagnostic::Diagnostic;
use crate::ir::{self, ActionKind, BinOp, ExprKind, ResizeStep, ScaleStep, TemplatePart, Value};

rule!(
    CONFLICTING_ACTIONS = "conflicting-actions",
    Warning,
    "two policies that may select the same object at the same time, with actions that fight",
    conflicting_actions
);

fn conflicting_actions(cx: &Cx) -> Vec<Diagnostic> {
    let pairs = candidate_pairs(&cx.policies);
    if pairs.is_empty() {
        return Vec::new();
    }
    let scopes: Vec<Dnf> = cx.policies.iter().map(|p| scope(p.ir)).collect();
    let ranges: Vec<Ranges> = cx.policies.iter().map(|p| numbers(cx, p.ir)).collect();
    let mut out = Vec::new();
    for (i, j) in pairs {
        let (p, q) = (&cx.policies[i], &cx.policies[j]);
        if disjoint(&scopes[i], &scopes[j]) || ranges[i].apart(&ranges[j]) {
            continue;
        }
        if let Some(d) = conflict(cx, p, q) {
            out.push(d);
        }
    }
    out
}

/// The numbers a policy's filter and condition allow what they compare.
fn numbers(cx: &Cx, p: &ir::Policy) -> Ranges {
    let when = intervals::ranges(cx.program, p.kind, &p.condition);
    match &p.filter {
        Some(f) => intervals::ranges(cx.program, p.kind, f).and(when),
        None => when,
    }
}

/// The pairs of policies `(i, j)`, `i < j`, sorted by `j` then `i`, that
/// have actions which may fight: only those are given to the prover. The
/// actions are grouped by kind and by what they act on (the volume, the
/// replica count, one label key), then by the facts [`fight`] reads, so
/// that the pairs looked at are those of groups that fight, not all pairs
/// of policies (10,000 policies are 50 million pairs).
fn candidate_pairs(policies: &[Policy]) -> Vec<(usize, usize)> {
    use std::collections::BTreeMap;
    // (kind, what is acted on) → facts → (one such action, its policies).
    type Facts<'p> = BTreeMap<String, (&'p ActionKind, BTreeSet<usize>)>;
    let mut groups: BTreeMap<(String, String), Facts> = BTreeMap::new();
    for (n, p) in policies.iter().enumerate() {
        for a in &p.ir.actions {
            let Some((target, facts)) = key(&a.kind) else {
                continue;
            };
            groups
                .entry((p.ir.kind.to_string(), target))
                .or_default()
                .entry(facts)
                .or_insert_with(|| (&a.kind, BTreeSet::new()))
                .1
                .insert(n);
        }
    }
    let mut pairs = BTreeSet::new();
    for facts in groups.values() {
        let facts: Vec<_> = facts.values().collect();
        for (x, (a, ps)) in facts.iter().enumerate() {
            for (b, qs) in &facts[x..] {
                if fight(a, b).is_none() && fight(b, a).is_none() {
                    continue;
                }
                for &i in ps.iter() {
                    for &j in qs.iter() {
                        if i != j {
                            pairs.insert((i.max(j), i.min(j)));
                        }
                    }
                }
            }
        }
    }
    pairs.into_iter().map(|(j, i)| (i, j)).collect()
}

/// What an action acts on, and the facts about it that [`fight`] reads:
/// two actions fight only if they act on the same thing, and whether they
/// do depends on those facts alone. None for actions that fight nothing.
fn key(a: &ActionKind) -> Option<(String, String)> {
    use ActionKind::*;
    let plain_or_template = |t: &ir::Template| match plain(t) {
        Some(v) => format!("plain {v:?}"),
        None => "template".to_string(),
    };
    Some(match a {
        Resize(r) => match &r.step {
            ResizeStep::To(s) => ("volume".into(), format!("to {s}")),
            _ => ("volume".into(), "step".into()),
        },
        SetClass { class } => ("volume".into(), format!("class {class:?}")),
        Scale(s) => match &s.step {
            ScaleStep::By(m) => ("scale".into(), format!("by {}", m.signum())),
            ScaleStep::To(n) => ("scale".into(), format!("to {n}")),
        },
        Label { key, value } => (format!("label {key:?}"), plain_or_template(value)),
        Annotate { key, value } => (format!("annotation {key:?}"), plain_or_template(value)),
        _ => return None,
    })
}

/// The first pair of fighting actions of `p` and `q`, reported at `q`'s.
fn conflict(cx: &Cx, p: &Policy, q: &Policy) -> Option<Diagnostic> {
    for b in &q.ir.actions {
        for a in &p.ir.actions {
            let Some(why) = fight(&a.kind, &b.kind) else {
                continue;
            };
            let theirs = cx.text(a.span);
            let title = p.title(cx.sources);
            return Some(
                CONFLICTING_ACTIONS
                    .diag(
                        b.span,
                        format!("`{}` fights `{theirs}` of {title}", cx.text(b.span)),
                    )
                    .label(why.to_string())
                    .also(a.span, "the other action")
                    .help(format!(
                        "both policies may select the same {} while both conditions hold \
                         ({why}). Make the `where` filters exclusive (e.g. different \
                         `labels.app`), or the conditions (e.g. `> 80%` and `< 50%`)",
                        q.ir.kind
                    )),
            );
        }
    }
    None
}

/// Why two actions on one object undo or block each other.
fn fight(a: &ActionKind, b: &ActionKind) -> Option<&'static str> {
    use ActionKind::*;
    match (a, b) {
        (Resize(_), SetClass { .. }) | (SetClass { .. }, Resize(_)) => {
            Some("both modify the volume, and AWS EBS allows one modification per 6h")
        }
        (SetClass { class: x }, SetClass { class: y }) if x != y => {
            Some("the volume would flip between two classes")
        }
        (Resize(x), Resize(y)) => match (&x.step, &y.step) {
            (ResizeStep::To(s), ResizeStep::To(t)) if s != t => Some("two different target sizes"),
            (ResizeStep::To(_), ResizeStep::To(_)) => None,
            (ResizeStep::To(_), _) | (_, ResizeStep::To(_)) => {
                Some("one sets a size, the other grows by a step")
            }
            _ => None,
        },
        (Scale(x), Scale(y)) => match (&x.step, &y.step) {
            (ScaleStep::By(m), ScaleStep::By(n)) if m.signum() != n.signum() => {
                Some("one scales up, the other down")
            }
            (ScaleStep::To(m), ScaleStep::To(n)) if m != n => Some("two different replica counts"),
            (ScaleStep::To(_), ScaleStep::By(_)) | (ScaleStep::By(_), ScaleStep::To(_)) => {
                Some("one sets a replica count, the other scales by a step")
            }
            _ => None,
        },
        (Label { key: k, value: v }, Label { key: l, value: w })
        | (Annotate { key: k, value: v }, Annotate { key: l, value: w })
            if k == l && plain(v).zip(plain(w)).is_some_and(|(v, w)| v != w) =>
        {
            Some("the same key set to two values")
        }
        _ => None,
    }
}

fn plain(t: &ir::Template) -> Option<String> {
    t.parts
        .iter()
        .map(|p| match p {
            TemplatePart::Text(s) => Some(s.as_str()),
            TemplatePart::Value(_) | TemplatePart::Did(_) => None,
        })
        .collect()
}

// ---------------------------------------------------------------- the prover

/// What an atom constrains: something read from the object.
#[derive(Clone, Debug, PartialEq)]
enum Term {
    Field(ir::Field),
    Label(ir::Scope, ir::MapKind, String),
    Metric(ir::MetricId),
}

/// The values an atom allows its term.
#[derive(Clone, Debug, PartialEq)]
enum Allowed {
    /// One of these (strings and bools as text).
    Only(BTreeSet<String>),
    /// Anything but these.
    Except(BTreeSet<String>),
    /// A number between two ends.
    Range { lo: Bound, hi: Bound },
}

/// An end of a range: the value and whether it is included; None for none.
type Bound = Option<(f64, bool)>;

type Atom = (Term, Allowed);
/// A disjunction of conjunctions; `vec![vec![]]` is "anything".
type Dnf = Vec<Vec<Atom>>;

/// More conjunctions than this and the prover gives up (says "anything").
const MAX_CONJUNCTIONS: usize = 64;

fn anything() -> Dnf {
    vec![vec![]]
}

/// Where a policy can act: its filter and its condition together.
fn scope(p: &ir::Policy) -> Dnf {
    let when = dnf(&p.condition, false);
    match &p.filter {
        Some(f) => and(dnf(f, false), when),
        None => when,
    }
}

fn and(a: Dnf, b: Dnf) -> Dnf {
    if a.len() * b.len() > MAX_CONJUNCTIONS {
        return anything();
    }
    let mut out = Vec::new();
    for x in &a {
        for y in &b {
            out.push(x.iter().chain(y).cloned().collect());
        }
    }
    out
}

fn or(mut a: Dnf, b: Dnf) -> Dnf {
    if a.len() + b.len() > MAX_CONJUNCTIONS {
        return anything();
    }
    a.extend(b);
    a
}

/// `e` (or `not e` when `negated`) in disjunctive normal form.
fn dnf(e: &ir::Expr, negated: bool) -> Dnf {
    match &e.kind {
        ExprKind::Const(Value::Bool(b)) => {
            if *b != negated {
                anything()
            } else {
                Vec::new()
            }
        }
        ExprKind::Not(x) => dnf(x, !negated),
        ExprKind::Binary { op, lhs, rhs } => match (op, negated) {
            (BinOp::And, false) | (BinOp::Or, true) => and(dnf(lhs, negated), dnf(rhs, negated)),
            (BinOp::Or, false) | (BinOp::And, true) => or(dnf(lhs, negated), dnf(rhs, negated)),
            _ => atom(*op, lhs, rhs, negated).map_or_else(anything, |a| vec![vec![a]]),
        },
        ExprKind::Field(f) if e.ty == ir::Type::Bool => {
            vec![vec![(Term::Field(*f), only([(!negated).to_string()]))]]
        }
        _ => anything(),
    }
}

fn only<const N: usize>(values: [String; N]) -> Allowed {
    Allowed::Only(values.into_iter().collect())
}

fn term(e: &ir::Expr) -> Option<Term> {
    match &e.kind {
        ExprKind::Field(f) => Some(Term::Field(*f)),
        ExprKind::Label { of, map, key } => Some(Term::Label(*of, *map, key.clone())),
        ExprKind::Metric(id) => Some(Term::Metric(*id)),
        _ => None,
    }
}

fn text(v: &Value) -> Option<String> {
    match v {
        Value::Str(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// A comparison of a term with a constant, as an atom.
fn atom(op: BinOp, lhs: &ir::Expr, rhs: &ir::Expr, negated: bool) -> Option<Atom> {
    let (op, t, v) = match (term(lhs), &rhs.kind, term(rhs), &lhs.kind) {
        (Some(t), ExprKind::Const(v), _, _) => (op, t, v),
        (_, _, Some(t), ExprKind::Const(v)) => (op.mirrored()?, t, v),
        _ => return None,
    };
    let op = if negated { negate(op)? } else { op };
    let allowed = match (op, v) {
        (BinOp::Eq, Value::Num(n)) => Allowed::Range {
            lo: Some((*n, true)),
            hi: Some((*n, true)),
        },
        (BinOp::Gt | BinOp::Ge, Value::Num(n)) => Allowed::Range {
            lo: Some((*n, op == BinOp::Ge)),
            hi: None,
        },
        (BinOp::Lt | BinOp::Le, Value::Num(n)) => Allowed::Range {
            lo: None,
            hi: Some((*n, op == BinOp::Le)),
        },
        (BinOp::Eq, v) => only([text(v)?]),
        (BinOp::Ne, v) => Allowed::Except([text(v)?].into_iter().collect()),
        (BinOp::In | BinOp::NotIn, Value::List(items)) => {
            let set = items.iter().map(text).collect::<Option<BTreeSet<_>>>()?;
            if op == BinOp::In {
                Allowed::Only(set)
            } else {
                Allowed::Except(set)
            }
        }
        _ => return None,
    };
    Some((t, allowed))
}

/// `not (t op c)` as `t op' c`: true exactly when the comparison has a value
/// and is false, which is all that matters for "both hold at once".
fn negate(op: BinOp) -> Option<BinOp> {
    Some(match op {
        BinOp::Gt => BinOp::Le,
        BinOp::Ge => BinOp::Lt,
        BinOp::Lt => BinOp::Ge,
        BinOp::Le => BinOp::Gt,
        BinOp::Eq => BinOp::Ne,
        BinOp::Ne => BinOp::Eq,
        BinOp::In => BinOp::NotIn,
        BinOp::NotIn => BinOp::In,
        _ => return None,
    })
}

/// No object satisfies both: every pair of conjunctions contradicts.
fn disjoint(a: &Dnf, b: &Dnf) -> bool {
    a.iter()
        .all(|x| b.iter().all(|y| unsatisfiable(x.iter().chain(y))))
}

fn unsatisfiable<'a>(atoms: impl Iterator<Item = &'a Atom> + Clone) -> bool {
    atoms.clone().any(|(t, _)| {
        let on_t = atoms.clone().filter(|(u, _)| u == t).map(|(_, a)| a);
        empty(on_t)
    })
}

/// Whether the constraints on one term leave no value.
fn empty<'a>(constraints: impl Iterator<Item = &'a Allowed>) -> bool {
    let mut only: Option<BTreeSet<String>> = None;
    let mut except = BTreeSet::new();
    let (mut lo, mut hi): (Bound, Bound) = (None, None);
    for c in constraints {
        match c {
            Allowed::Only(s) => {
                only = Some(match only {
                    Some(o) => o.intersection(s).cloned().collect(),
                    None => s.clone(),
                })
            }
            Allowed::Except(s) => except.extend(s.iter().cloned()),
            Allowed::Range { lo: l, hi: h } => {
                if let Some(l) = *l
                    && lo.is_none_or(|cur| l.0 > cur.0 || l.0 == cur.0 && !l.1)
                {
                    lo = Some(l);
                }
                if let Some(h) = *h
                    && hi.is_none_or(|cur| h.0 < cur.0 || h.0 == cur.0 && !h.1)
                {
                    hi = Some(h);
                }
            }
        }
    }
    let no_text = only.is_some_and(|o| o.iter().all(|v| except.contains(v)));
    let no_number = match (lo, hi) {
        (Some((l, lc)), Some((h, hc))) => l > h || l == h && !(lc && hc),
        _ => false,
    };
    no_text || no_number
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range(lo: Bound, hi: Bound) -> Allowed {
        Allowed::Range { lo, hi }
    }

    fn set(items: &[&str]) -> BTreeSet<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn empty_sets_and_ranges() {
        let a = Allowed::Only(set(&["pg"]));
        let b = Allowed::Only(set(&["kafka"]));
        assert!(empty([&a, &b].into_iter()));
        assert!(!empty([&a, &a].into_iter()));
        assert!(empty([&a, &Allowed::Except(set(&["pg"]))].into_iter()));
        assert!(!empty([&a, &Allowed::Except(set(&["x"]))].into_iter()));
        assert!(!empty([&Allowed::Except(set(&["x"]))].into_iter()));
        let gt_1000 = range(Some((1000.0, false)), None);
        let lt_100 = range(None, Some((100.0, false)));
        let le_1000 = range(None, Some((1000.0, true)));
        let ge_1000 = range(Some((1000.0, true)), None);
        assert!(empty([&gt_1000, &lt_100].into_iter()));
        assert!(empty([&gt_1000, &le_1000].into_iter()));
        assert!(!empty([&ge_1000, &le_1000].into_iter()));
        assert!(!empty([&gt_1000].into_iter()));
    }

    #[test]
    fn conjunctions_contradict_on_one_term() {
        let app = |v: &str| {
            (
                Term::Label(ir::Scope::Object, ir::MapKind::Labels, "app".into()),
                Allowed::Only(set(&[v])),
            )
        };
        let a: Dnf = vec![vec![app("pg")], vec![app("redis")]];
        let b: Dnf = vec![vec![app("kafka")]];
        assert!(disjoint(&a, &b));
        assert!(!disjoint(&a, &vec![vec![app("redis")]]));
        assert!(!disjoint(&a, &anything()));
        // An unsatisfiable scope is apart from everything.
        assert!(disjoint(&Vec::new(), &anything()));
    }
}
