//! Evaluation of IR expressions for one object at one tick.
//!
//! A value, no-data or an error: never confuse the last two with false. A
//! comparison with a missing value is no-data; `and`/`or` follow Kleene's
//! three-valued logic, so `false and <no data>` is still false.

use crate::engine::object::{MetricSource, Namespace, Object, Sample};
use crate::engine::{Planned, Time};
use crate::ir::{self, BinOp, ExprKind, Field, MapKind, MetricId, Program, Scope, Type, Value};

/// The outcome of evaluating an expression.
#[derive(Clone, Debug, PartialEq)]
pub enum Val {
    Value(Value),
    NoData,
    Error(String),
}

impl Val {
    fn num(v: f64) -> Val {
        Val::Value(Value::Num(v))
    }
}

/// What an expression can read.
pub struct Cx<'a> {
    pub program: &'a Program,
    pub object: &'a Object,
    pub namespace: Option<&'a Namespace>,
    pub metrics: &'a dyn MetricSource,
    pub t: Time,
    /// Optional per-tick cache of metric samples for this object.
    pub cache: Option<&'a dyn Fn(MetricId) -> Sample>,
}

impl Cx<'_> {
    fn metric(&self, id: MetricId) -> Val {
        let sample = match self.cache {
            Some(f) => f(id),
            None => self.metrics.sample(id, &self.object.id, self.t),
        };
        match sample {
            Sample::Value(v) if v.is_finite() => Val::num(v),
            Sample::Value(_) | Sample::Missing => Val::NoData,
            Sample::Error(e) => Val::Error(format!("{}: {e}", self.program.metric(id).qualified())),
        }
    }

    fn field(&self, field: Field) -> Val {
        let f = &self.object.fields;
        let id = &self.object.id;
        let text = |s: Option<&String>| Val::Value(Value::Str(s.cloned().unwrap_or_default()));
        let num = |n: Option<f64>| n.map_or(Val::NoData, Val::num);
        let flag = |b: Option<bool>| b.map_or(Val::NoData, |b| Val::Value(Value::Bool(b)));
        match field {
            Field::Name => Val::Value(Value::Str(id.name.clone())),
            Field::Namespace | Field::NamespaceName => text(id.namespace.as_ref()),
            Field::Age => num(self.object.created.map(|c| (self.t - c) as f64 / 1000.0)),
            Field::Capacity => num(f.capacity.map(|b| b as f64)),
            Field::Requested => num(f.requested.map(|b| b as f64)),
            Field::StorageClass => text(f.storage_class.as_ref()),
            Field::VolumeAttributesClass => text(f.volume_attributes_class.as_ref()),
            Field::Phase => text(f.phase.as_ref()),
            Field::Node => text(f.node.as_ref()),
            Field::Owner => text(f.owner.as_ref()),
            Field::Replicas => num(f.replicas.map(f64::from)),
            Field::ReadyReplicas => num(f.ready_replicas.map(f64::from)),
            Field::Ready => flag(f.ready),
            Field::Unschedulable => flag(f.unschedulable),
            Field::AccessModes => Val::Value(Value::List(
                f.access_modes.iter().cloned().map(Value::Str).collect(),
            )),
            Field::VolumeMode => text(f.volume_mode.as_ref()),
            Field::AvailableReplicas => num(f.available_replicas.map(f64::from)),
            Field::UpdatedReplicas => num(f.updated_replicas.map(f64::from)),
            Field::ClassName => text(f.storage_class.as_ref()),
            Field::ClassProvisioner => text(f.class_provisioner.as_ref()),
            Field::ClassExpansion => flag(f.expandable),
        }
    }

    fn label(&self, of: Scope, map: MapKind, key: &str) -> Val {
        let empty = Default::default();
        let maps = match of {
            Scope::Object => Some((&self.object.labels, &self.object.annotations)),
            Scope::Namespace => self.namespace.map(|n| (&n.labels, &n.annotations)),
            Scope::StorageClass => Some((
                &self.object.fields.class_labels,
                &self.object.fields.class_annotations,
            )),
        };
        let (labels, annotations) = maps.unwrap_or((&empty, &empty));
        let m = match map {
            MapKind::Labels => labels,
            MapKind::Annotations => annotations,
        };
        // An absent label reads as "", as label selectors treat it.
        Val::Value(Value::Str(m.get(key).cloned().unwrap_or_default()))
    }
}

/// Evaluates an expression for the object of `cx`.
pub fn eval(e: &ir::Expr, cx: &Cx) -> Val {
    match &e.kind {
        ExprKind::Const(v) => Val::Value(v.clone()),
        ExprKind::Metric(id) => cx.metric(*id),
        ExprKind::Field(f) => cx.field(*f),
        ExprKind::Label { of, map, key } => cx.label(*of, *map, key),
        ExprKind::Not(x) => match eval(x, cx) {
            Val::Value(Value::Bool(b)) => Val::Value(Value::Bool(!b)),
            other => other,
        },
        ExprKind::Neg(x) => match eval(x, cx) {
            Val::Value(Value::Num(n)) => Val::num(-n),
            other => other,
        },
        ExprKind::Binary {
            op: BinOp::And,
            lhs,
            rhs,
        } => kleene(lhs, rhs, cx, false),
        ExprKind::Binary {
            op: BinOp::Or,
            lhs,
            rhs,
        } => kleene(lhs, rhs, cx, true),
        // A default for no data, never for an error.
        ExprKind::Binary {
            op: BinOp::Coalesce,
            lhs,
            rhs,
        } => match eval(lhs, cx) {
            Val::NoData => eval(rhs, cx),
            other => other,
        },
        ExprKind::Binary { op, lhs, rhs } => {
            if let Some(b) = compare_text(*op, lhs, rhs, cx) {
                return Val::Value(Value::Bool(b));
            }
            let (l, r) = (eval(lhs, cx), eval(rhs, cx));
            let (l, r) = match (l, r) {
                (Val::Error(e), _) | (_, Val::Error(e)) => return Val::Error(e),
                (Val::NoData, _) | (_, Val::NoData) => return Val::NoData,
                (Val::Value(l), Val::Value(r)) => (l, r),
            };
            match ir::apply(*op, &lhs.ty, &l, &rhs.ty, &r) {
                Some(v) => Val::Value(v),
                None => Val::Error(format!(
                    "`{}` has no value (division by zero?)",
                    ir::show(cx.program, cx.object.id.kind, e)
                )),
            }
        }
        ExprKind::Call {
            func: ir::Func::AtLeast,
            args,
        } => at_least(args, cx),
        ExprKind::Call { func, args } => {
            let mut values = Vec::with_capacity(args.len());
            for a in args {
                match eval(a, cx) {
                    Val::Value(v) => values.push(v),
                    other => return other,
                }
            }
            match ir::call(*func, &values) {
                Ok(Some(v)) => Val::Value(v),
                Ok(None) => Val::NoData,
                // A conversion's error names what it read: the annotation and its text.
                Err(why) => Val::Error(format!(
                    "{}: {why}",
                    ir::show(cx.program, cx.object.id.kind, &args[0])
                )),
            }
        }
        ExprKind::List(items) => {
            let mut out = Vec::with_capacity(items.len());
            for i in items {
                match eval(i, cx) {
                    Val::Value(v) => out.push(v),
                    other => return other,
                }
            }
            Val::Value(Value::List(out))
        }
    }
}

/// A string-valued expression read without copying, where that is possible.
fn text<'a>(e: &'a ir::Expr, cx: &'a Cx) -> Option<&'a str> {
    let f = &cx.object.fields;
    let opt = |s: &'a Option<String>| Some(s.as_deref().unwrap_or(""));
    match &e.kind {
        ExprKind::Const(Value::Str(s)) => Some(s),
        ExprKind::Label { of, map, key } => {
            let maps = match of {
                Scope::Object => Some((&cx.object.labels, &cx.object.annotations)),
                Scope::Namespace => cx.namespace.map(|n| (&n.labels, &n.annotations)),
                Scope::StorageClass => Some((&f.class_labels, &f.class_annotations)),
            };
            let Some((labels, annotations)) = maps else {
                return Some("");
            };
            let m = match map {
                MapKind::Labels => labels,
                MapKind::Annotations => annotations,
            };
            Some(m.get(key).map_or("", String::as_str))
        }
        ExprKind::Field(Field::Name) => Some(&cx.object.id.name),
        ExprKind::Field(Field::Namespace | Field::NamespaceName) => opt(&cx.object.id.namespace),
        ExprKind::Field(Field::StorageClass | Field::ClassName) => opt(&f.storage_class),
        ExprKind::Field(Field::VolumeMode) => opt(&f.volume_mode),
        ExprKind::Field(Field::ClassProvisioner) => opt(&f.class_provisioner),
        ExprKind::Field(Field::VolumeAttributesClass) => opt(&f.volume_attributes_class),
        ExprKind::Field(Field::Phase) => opt(&f.phase),
        ExprKind::Field(Field::Node) => opt(&f.node),
        ExprKind::Field(Field::Owner) => opt(&f.owner),
        _ => None,
    }
}

/// `==`, `!=`, `in` and `not in` on strings, without allocating: the hot
/// path of `where` selectors.
fn compare_text(op: BinOp, lhs: &ir::Expr, rhs: &ir::Expr, cx: &Cx) -> Option<bool> {
    match op {
        BinOp::Eq | BinOp::Ne if lhs.ty == Type::String => {
            let equal = text(lhs, cx)? == text(rhs, cx)?;
            Some(equal == (op == BinOp::Eq))
        }
        BinOp::In | BinOp::NotIn if lhs.ty == Type::String => {
            let ExprKind::Const(Value::List(items)) = &rhs.kind else {
                return None;
            };
            let l = text(lhs, cx)?;
            let found = items.iter().any(|i| i.as_str() == Some(l));
            Some(found == (op == BinOp::In))
        }
        _ => None,
    }
}

/// `and` (short-circuits on false) or `or` (on true), three-valued.
fn kleene(lhs: &ir::Expr, rhs: &ir::Expr, cx: &Cx, decisive: bool) -> Val {
    let l = eval(lhs, cx);
    if l == Val::Value(Value::Bool(decisive)) {
        return l;
    }
    let r = eval(rhs, cx);
    if r == Val::Value(Value::Bool(decisive)) {
        return r;
    }
    match (l, r) {
        (Val::Error(e), _) | (_, Val::Error(e)) => Val::Error(e),
        (Val::NoData, _) | (_, Val::NoData) => Val::NoData,
        _ => Val::Value(Value::Bool(!decisive)),
    }
}

/// At least N of the conditions are true, three-valued like `and`/`or`: no
/// data (or an error) only when the answer depends on it.
fn at_least(args: &[ir::Expr], cx: &Cx) -> Val {
    let Some(Value::Num(n)) = args.first().and_then(|n| match &n.kind {
        ExprKind::Const(v) => Some(v.clone()),
        _ => None,
    }) else {
        return Val::Error("at_least needs a constant count".into());
    };
    let (mut yes, mut unknown, mut error) = (0.0, 0.0, None);
    for c in &args[1..] {
        match eval(c, cx) {
            Val::Value(Value::Bool(true)) => yes += 1.0,
            Val::Value(_) => {}
            Val::NoData => unknown += 1.0,
            Val::Error(e) => {
                unknown += 1.0;
                error.get_or_insert(e);
            }
        }
    }
    if yes >= n {
        Val::Value(Value::Bool(true))
    } else if yes + unknown < n {
        Val::Value(Value::Bool(false))
    } else {
        error.map_or(Val::NoData, Val::Error)
    }
}

/// A value as a message shows it: `81.5%`, `200Gi`, `5m`, `db`.
pub fn display(ty: &Type, v: &Val) -> String {
    match v {
        Val::Value(Value::Str(s)) => s.clone(),
        Val::Value(Value::Num(n)) => ir::format_quantity(ty, round3(*n)),
        Val::Value(v) => ir::show_value(ty, v),
        Val::NoData => "<no data>".into(),
        Val::Error(_) => "<error>".into(),
    }
}

fn round3(v: f64) -> f64 {
    if v.abs() >= 1e12 {
        v
    } else {
        (v * 1000.0).round() / 1000.0
    }
}

/// Renders an action message, `{pvc.name}` replaced by values and
/// `{resize.to}` by what an earlier action of the firing does.
pub fn render(t: &ir::Template, cx: &Cx, done: &[Planned]) -> String {
    let mut out = String::new();
    for part in &t.parts {
        match part {
            ir::TemplatePart::Text(s) => out.push_str(s),
            ir::TemplatePart::Value(e) => out.push_str(&display(&e.ty, &eval(e, cx))),
            ir::TemplatePart::Did(d) => out.push_str(&did(*d, done)),
        }
    }
    out
}

fn did(d: ir::Did, done: &[Planned]) -> String {
    use ir::Did::*;
    let found = done.iter().find_map(|p| match (d, p) {
        (ResizeFrom, Planned::Resize { from, .. }) => Some(ir::format_bytes(*from as f64)),
        (ResizeTo, Planned::Resize { to, .. }) => Some(ir::format_bytes(*to as f64)),
        (ScaleFrom, Planned::Scale { from, .. }) => Some(from.to_string()),
        (ScaleTo, Planned::Scale { to, .. }) => Some(to.to_string()),
        _ => None,
    });
    // The checker requires the action earlier in the list, so it is there.
    found.unwrap_or_else(|| "<no data>".into())
}
