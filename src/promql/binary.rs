use std::collections::{HashMap, HashSet};

use promql_parser::parser::{BinModifier, BinaryExpr, LabelModifier, VectorMatchCardinality};

use super::eval::{Run, Sample, Val, by_modifier, drop_name};
use super::{EvalError, Labels};

/// The binary operators, a closed set.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Op {
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    Pow,
    Atan2,
    Eq,
    Ne,
    Gt,
    Lt,
    Ge,
    Le,
    And,
    Or,
    Unless,
}

impl Op {
    fn parse(s: &str) -> Result<Op, EvalError> {
        Ok(match s.to_lowercase().as_str() {
            "+" => Op::Add,
            "-" => Op::Sub,
            "*" => Op::Mul,
            "/" => Op::Div,
            "%" => Op::Mod,
            "^" => Op::Pow,
            "atan2" => Op::Atan2,
            "==" => Op::Eq,
            "!=" => Op::Ne,
            ">" => Op::Gt,
            "<" => Op::Lt,
            ">=" => Op::Ge,
            "<=" => Op::Le,
            "and" => Op::And,
            "or" => Op::Or,
            "unless" => Op::Unless,
            other => return Err(EvalError::Unsupported(format!("binary operator {other}"))),
        })
    }

    fn is_comparison(self) -> bool {
        matches!(self, Op::Eq | Op::Ne | Op::Gt | Op::Lt | Op::Ge | Op::Le)
    }

    fn is_set(self) -> bool {
        matches!(self, Op::And | Op::Or | Op::Unless)
    }

    /// The value and whether a filtering comparison keeps it.
    fn apply(self, l: f64, r: f64) -> (f64, bool) {
        let cmp = |keep: bool| (l, keep);
        match self {
            Op::Add => (l + r, true),
            Op::Sub => (l - r, true),
            Op::Mul => (l * r, true),
            Op::Div => (l / r, true),
            Op::Mod => (l % r, true),
            Op::Pow => (l.powf(r), true),
            Op::Atan2 => (l.atan2(r), true),
            Op::Eq => cmp(l == r),
            Op::Ne => cmp(l != r),
            Op::Gt => cmp(l > r),
            Op::Lt => cmp(l < r),
            Op::Ge => cmp(l >= r),
            Op::Le => cmp(l <= r),
            Op::And | Op::Or | Op::Unless => (l, true),
        }
    }
}

pub(crate) fn eval(run: &Run, b: &BinaryExpr, t: i64) -> Result<Val, EvalError> {
    let op = Op::parse(&b.op.to_string())?;
    let default = BinModifier::default();
    let m = b.modifier.as_ref().unwrap_or(&default);
    if m.fill_values.lhs.is_some() || m.fill_values.rhs.is_some() {
        return Err(EvalError::Unsupported("fill modifiers".into()));
    }
    let lhs = run.eval(&b.lhs, t)?;
    let rhs = run.eval(&b.rhs, t)?;
    let bool_ = m.return_bool;
    match (lhs, rhs) {
        (Val::Scalar(l), Val::Scalar(r)) => {
            let (v, keep) = op.apply(l, r);
            Ok(Val::Scalar(if op.is_comparison() {
                f64::from(u8::from(keep))
            } else {
                v
            }))
        }
        (Val::Vector(l), Val::Scalar(r)) => Ok(Val::Vector(vector_scalar(op, l, r, false, bool_))),
        (Val::Scalar(l), Val::Vector(r)) => Ok(Val::Vector(vector_scalar(op, r, l, true, bool_))),
        (Val::Vector(l), Val::Vector(r)) => {
            if op.is_set() {
                Ok(Val::Vector(set_op(op, l, r, &m.matching)))
            } else {
                vector_vector(op, l, r, m).map(Val::Vector)
            }
        }
        (l, r) => Err(EvalError::Invalid(format!(
            "binary operator between a {} and a {}",
            l.kind(),
            r.kind()
        ))),
    }
}

fn vector_scalar(op: Op, v: Vec<Sample>, s: f64, swap: bool, bool_: bool) -> Vec<Sample> {
    let mut out = Vec::with_capacity(v.len());
    for (l, x) in v {
        let (lv, rv) = if swap { (s, x) } else { (x, s) };
        let (mut value, keep) = op.apply(lv, rv);
        // The vector's value survives a filter even when it is on the right.
        if op.is_comparison() && swap {
            value = rv;
        }
        if bool_ {
            value = f64::from(u8::from(keep));
        } else if !keep {
            continue;
        }
        let l = if bool_ || !op.is_comparison() {
            drop_name(l)
        } else {
            l
        };
        out.push((l, value));
    }
    out
}

/// The labels two samples are matched on.
fn signature(l: &Labels, matching: &Option<LabelModifier>) -> Labels {
    matching
        .as_ref()
        .map_or_else(|| drop_name(l.clone()), |m| by_modifier(l, m))
}

fn set_op(op: Op, l: Vec<Sample>, r: Vec<Sample>, matching: &Option<LabelModifier>) -> Vec<Sample> {
    let rsigs: HashSet<Labels> = r.iter().map(|s| signature(&s.0, matching)).collect();
    match op {
        Op::And => l
            .into_iter()
            .filter(|s| rsigs.contains(&signature(&s.0, matching)))
            .collect(),
        Op::Unless => l
            .into_iter()
            .filter(|s| !rsigs.contains(&signature(&s.0, matching)))
            .collect(),
        _ => {
            let lsigs: HashSet<Labels> = l.iter().map(|s| signature(&s.0, matching)).collect();
            let mut out = l;
            out.extend(
                r.into_iter()
                    .filter(|s| !lsigs.contains(&signature(&s.0, matching))),
            );
            out
        }
    }
}

fn show(l: &Labels) -> String {
    let inner: Vec<String> = l.iter().map(|(k, v)| format!("{k}={v:?}")).collect();
    format!("{{{}}}", inner.join(", "))
}

fn vector_vector(
    op: Op,
    lhs: Vec<Sample>,
    rhs: Vec<Sample>,
    m: &BinModifier,
) -> Result<Vec<Sample>, EvalError> {
    let (include, swap) = match &m.card {
        VectorMatchCardinality::OneToOne => (None, false),
        VectorMatchCardinality::ManyToOne(ls) => (Some(ls), false),
        VectorMatchCardinality::OneToMany(ls) => (Some(ls), true),
        VectorMatchCardinality::ManyToMany => {
            return Err(EvalError::Invalid(
                "many-to-many matching is only for set operators".into(),
            ));
        }
    };
    let (many, one) = if swap { (rhs, lhs) } else { (lhs, rhs) };
    let mut ones: HashMap<Labels, &Sample> = HashMap::new();
    for s in &one {
        let sig = signature(&s.0, &m.matching);
        if let Some(prev) = ones.insert(sig.clone(), s) {
            let side = if swap { "left" } else { "right" };
            // Prometheus's text, the two series in order so it is stable.
            let (a, b) = (show(&prev.0), show(&s.0));
            let (a, b) = if a > b { (b, a) } else { (a, b) };
            return Err(EvalError::Invalid(format!(
                "found duplicate series for the match group {} on the {side} hand-side of the operation: [{a}, {b}];many-to-many matching not allowed: matching labels must be unique on one side",
                show(&sig)
            )));
        }
    }
    let mut out = Vec::new();
    let mut seen: HashMap<Labels, ()> = HashMap::new();
    for (ml, mv) in &many {
        let sig = signature(ml, &m.matching);
        let Some((ol, ov)) = ones.get(&sig).copied() else {
            continue;
        };
        let (lv, rv) = if swap { (*ov, *mv) } else { (*mv, *ov) };
        let mut labels = if op.is_comparison() && !m.return_bool {
            ml.clone()
        } else {
            drop_name(ml.clone())
        };
        match (&m.card, &m.matching) {
            (VectorMatchCardinality::OneToOne, Some(LabelModifier::Include(ls))) => {
                labels.retain(|k, _| ls.labels.contains(k));
            }
            (VectorMatchCardinality::OneToOne, Some(LabelModifier::Exclude(ls))) => {
                labels.retain(|k, _| !ls.labels.contains(k));
            }
            _ => {}
        }
        if let Some(inc) = include {
            for n in &inc.labels {
                match ol.get(n) {
                    Some(v) if !v.is_empty() => {
                        labels.insert(n.clone(), v.clone());
                    }
                    _ => {
                        labels.remove(n);
                    }
                }
            }
        }
        // Prometheus rejects ambiguous matches before a comparison filters.
        let key = if include.is_some() {
            labels.clone()
        } else {
            sig.clone()
        };
        if seen.insert(key, ()).is_some() {
            return Err(EvalError::Invalid(if include.is_some() {
                "multiple matches for labels: grouping labels must ensure unique matches".into()
            } else {
                format!(
                    "multiple matches for labels: many-to-one matching must be explicit (group_left/group_right): {}",
                    show(&sig)
                )
            }));
        }
        let (mut value, keep) = op.apply(lv, rv);
        if m.return_bool {
            value = f64::from(u8::from(keep));
        } else if !keep {
            continue;
        }
        out.push((labels, value));
    }
    Ok(out)
}
