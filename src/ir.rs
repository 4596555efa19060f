//! The typed program the engine runs: names resolved, units checked,
//! constants folded. Built by `check`; every node keeps its span.

use std::fmt;

use serde::Serialize;

use crate::source::Span;

#[derive(Clone, Debug, Default)]
pub struct Program {
    pub metrics: Vec<Metric>,
    /// Only the policies that checked without errors.
    pub policies: Vec<Policy>,
}

impl Program {
    pub fn metric(&self, id: MetricId) -> &Metric {
        &self.metrics[id.0 as usize]
    }

    pub fn policy(&self, name: &str) -> Option<&Policy> {
        self.policies.iter().find(|p| p.name == name)
    }
}

/// The kinds of object a policy can be about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Pvc,
    Pod,
    Deployment,
    StatefulSet,
    Node,
}

impl Kind {
    pub const ALL: [Kind; 5] = [
        Kind::Pvc,
        Kind::Pod,
        Kind::Deployment,
        Kind::StatefulSet,
        Kind::Node,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Kind::Pvc => "pvc",
            Kind::Pod => "pod",
            Kind::Deployment => "deployment",
            Kind::StatefulSet => "statefulset",
            Kind::Node => "node",
        }
    }

    pub fn from_name(name: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.name() == name)
    }

    pub fn namespaced(self) -> bool {
        self != Kind::Node
    }

    /// The Prometheus labels that name an object of this kind.
    pub fn default_join(self) -> &'static [&'static str] {
        match self {
            Kind::Pvc => &["namespace", "persistentvolumeclaim"],
            Kind::Pod => &["namespace", "pod"],
            Kind::Deployment => &["namespace", "deployment"],
            Kind::StatefulSet => &["namespace", "statefulset"],
            Kind::Node => &["node"],
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Type {
    Bool,
    Number,
    Percent,
    Bytes,
    Duration,
    String,
    List(Box<Type>),
}

impl Type {
    pub fn is_quantity(&self) -> bool {
        matches!(
            self,
            Type::Number | Type::Percent | Type::Bytes | Type::Duration
        )
    }
}

impl fmt::Display for Type {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Type::Bool => f.write_str("bool"),
            Type::Number => f.write_str("number"),
            Type::Percent => f.write_str("percent"),
            Type::Bytes => f.write_str("bytes"),
            Type::Duration => f.write_str("duration"),
            Type::String => f.write_str("string"),
            Type::List(t) => write!(f, "list of {t}"),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct MetricId(pub u32);

/// A PromQL-backed binding: one query per tick, joined to objects by labels.
#[derive(Clone, Debug)]
pub struct Metric {
    pub kind: Kind,
    pub name: String,
    pub ty: Type,
    /// Sent as written (trimmed).
    pub promql: String,
    /// Result labels that name the object: `[namespace, name]`, or `[name]`.
    pub join: Vec<String>,
    pub span: Span,
    pub stdlib: bool,
}

impl Metric {
    pub fn qualified(&self) -> String {
        format!("{}.{}", self.kind, self.name)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    Enforce,
    DryRun,
    Approve,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NoData {
    Hold,
    Reset,
}

#[derive(Clone, Debug)]
pub struct Policy {
    pub name: String,
    /// Written as `when … then …` outside a block; named FILE:LINE.
    pub anonymous: bool,
    /// What the engine keeps state by, across reloads and restarts: the name
    /// of a named policy; for an anonymous rule, its file, a hash of its
    /// content ([`fingerprint`]) and its place among identical rules of that
    /// file, so that lines inserted above it do not move it.
    pub key: String,
    pub span: Span,
    pub kind: Kind,
    pub filter: Option<Expr>,
    pub condition: Expr,
    /// `for`.
    pub hold: Millis,
    pub actions: Vec<Action>,
    /// Default 5m ([`DEFAULT_COOLDOWN`]).
    pub cooldown: Millis,
    pub mode: Mode,
    pub no_data: NoData,
    pub window: Option<Window>,
    pub at_most: Option<AtMost>,
    /// Bindings the policy reads, in first-use order.
    pub metrics: Vec<MetricId>,
}

pub const DEFAULT_COOLDOWN: Millis = Millis(300_000);

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct AtMost {
    pub count: u32,
    pub per: Millis,
}

/// A duration of the program (`for`, `cooldown`, `at_most … per`), in whole
/// milliseconds. The checker keeps every one at or below [`Millis::MAX`], so
/// `Time + Millis` fits an `i64` with room to spare; the engine still adds
/// with saturation ([`Millis::after`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Millis(pub u64);

impl Millis {
    pub const ZERO: Millis = Millis(0);
    /// Ten years (of 365 days): the longest duration a program may hold.
    pub const MAX: Millis = Millis(10 * 365 * 86_400_000);

    /// Seconds, as the language writes durations, rounded to the millisecond;
    /// None when negative, not finite or past [`Millis::MAX`].
    pub fn from_secs(secs: f64) -> Option<Millis> {
        let ms = (secs * 1000.0).round();
        (ms.is_finite() && ms >= 0.0 && ms <= Millis::MAX.0 as f64).then_some(Millis(ms as u64))
    }

    pub fn secs(self) -> f64 {
        self.0 as f64 / 1000.0
    }

    /// Milliseconds as the engine's signed time, saturating.
    pub fn as_i64(self) -> i64 {
        i64::try_from(self.0).unwrap_or(i64::MAX)
    }

    /// `t + self`, saturating: a long duration never wraps into the past.
    pub fn after(self, t: i64) -> i64 {
        t.saturating_add(self.as_i64())
    }

    /// `t - self`, saturating.
    pub fn before(self, t: i64) -> i64 {
        t.saturating_sub(self.as_i64())
    }
}

impl fmt::Display for Millis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&format_duration(self.secs()))
    }
}

/// `window "Mon-Fri 02:00-04:00 Europe/Berlin"`: when actions may start.
#[derive(Clone, Debug, PartialEq)]
pub struct Window {
    /// Monday first.
    pub days: [bool; 7],
    /// Minutes after local midnight; `end` may be less than `start` (over midnight).
    pub start: u32,
    pub end: u32,
    /// IANA zone name; `UTC` when none was written.
    pub zone: String,
    pub span: Span,
}

// ---------------------------------------------------------------- expressions

#[derive(Clone, Debug, PartialEq)]
pub struct Expr {
    pub kind: ExprKind,
    pub ty: Type,
    pub span: Span,
}

impl Expr {
    /// The direct sub-expressions, left to right.
    pub fn children(&self) -> impl DoubleEndedIterator<Item = &Expr> {
        let (boxed, many): ([Option<&Expr>; 2], &[Expr]) = match &self.kind {
            ExprKind::Not(x) | ExprKind::Neg(x) => ([Some(x), None], &[]),
            ExprKind::Binary { lhs, rhs, .. } => ([Some(lhs), Some(rhs)], &[]),
            ExprKind::Call { args, .. } | ExprKind::List(args) => ([None, None], args),
            ExprKind::Const(_)
            | ExprKind::Metric(_)
            | ExprKind::Field(_)
            | ExprKind::Label { .. } => ([None, None], &[]),
        };
        boxed.into_iter().flatten().chain(many)
    }

    /// Every node of the expression, itself first: parents before their
    /// children, left to right (pre-order).
    pub fn nodes(&self) -> impl Iterator<Item = &Expr> {
        let mut stack = vec![self];
        std::iter::from_fn(move || {
            let e = stack.pop()?;
            stack.extend(e.children().rev());
            Some(e)
        })
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum ExprKind {
    Const(Value),
    Metric(MetricId),
    Field(Field),
    /// A label or annotation of the subject or of its namespace.
    Label {
        of: Scope,
        map: MapKind,
        key: String,
    },
    Not(Box<Expr>),
    Neg(Box<Expr>),
    Binary {
        op: BinOp,
        lhs: Box<Expr>,
        rhs: Box<Expr>,
    },
    Call {
        func: Func,
        args: Vec<Expr>,
    },
    List(Vec<Expr>),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Scope {
    Object,
    Namespace,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MapKind {
    Labels,
    Annotations,
}

/// Binary operators: the same in the IR as in the syntax.
pub use crate::syntax::ast::BinaryOp as BinOp;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Func {
    Min,
    Max,
    Abs,
}

impl Field {
    /// The name a field has in source.
    pub fn source_name(self) -> &'static str {
        match self {
            Field::Name | Field::NamespaceName => "name",
            Field::Namespace => "namespace",
            Field::Age => "age",
            Field::Capacity => "capacity",
            Field::Requested => "requested",
            Field::StorageClass => "storage_class",
            Field::VolumeAttributesClass => "volume_attributes_class",
            Field::Phase => "phase",
            Field::Node => "node",
            Field::Owner => "owner",
            Field::Replicas => "replicas",
            Field::ReadyReplicas => "ready_replicas",
            Field::Ready => "ready",
            Field::Unschedulable => "unschedulable",
        }
    }
}

/// Fields read from the object itself (not from Prometheus).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Field {
    Name,
    Namespace,
    Age,
    Capacity,
    Requested,
    StorageClass,
    VolumeAttributesClass,
    Phase,
    Node,
    Owner,
    Replicas,
    ReadyReplicas,
    Ready,
    Unschedulable,
    /// `namespace.name`: the name of the subject's namespace.
    NamespaceName,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Value {
    Bool(bool),
    /// In the type's base unit: percent points, bytes, seconds.
    Num(f64),
    Str(String),
    List(Vec<Value>),
}

impl Value {
    pub fn as_num(&self) -> Option<f64> {
        match self {
            Value::Num(n) => Some(*n),
            _ => None,
        }
    }
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }
}

// ---------------------------------------------------------------- actions

#[derive(Clone, Debug, PartialEq)]
pub struct Action {
    pub kind: ActionKind,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub enum ActionKind {
    Resize(Resize),
    SetClass { class: String },
    Scale(Scale),
    Evict,
    Cordon,
    Annotate { key: String, value: Template },
    Label { key: String, value: Template },
    Event { reason: String, message: Template },
    Notify { receiver: String, message: Template },
}

impl ActionKind {
    pub fn action(&self) -> ActionName {
        match self {
            ActionKind::Resize(_) => ActionName::Resize,
            ActionKind::SetClass { .. } => ActionName::SetClass,
            ActionKind::Scale(_) => ActionName::Scale,
            ActionKind::Evict => ActionName::Evict,
            ActionKind::Cordon => ActionName::Cordon,
            ActionKind::Annotate { .. } => ActionName::Annotate,
            ActionKind::Label { .. } => ActionName::Label,
            ActionKind::Event { .. } => ActionName::Event,
            ActionKind::Notify { .. } => ActionName::Notify,
        }
    }

    pub fn name(&self) -> &'static str {
        self.action().name()
    }
}

/// The actions of the language, by name: one closed set for the checker,
/// the engine, the world, tests and reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ActionName {
    Resize,
    SetClass,
    Scale,
    Evict,
    Cordon,
    Annotate,
    Label,
    Event,
    Notify,
}

impl ActionName {
    pub const ALL: [ActionName; 9] = [
        ActionName::Resize,
        ActionName::SetClass,
        ActionName::Scale,
        ActionName::Evict,
        ActionName::Cordon,
        ActionName::Annotate,
        ActionName::Label,
        ActionName::Event,
        ActionName::Notify,
    ];

    /// The name as the language writes it: `resize`, `set_class`, …
    pub fn name(self) -> &'static str {
        match self {
            ActionName::Resize => "resize",
            ActionName::SetClass => "set_class",
            ActionName::Scale => "scale",
            ActionName::Evict => "evict",
            ActionName::Cordon => "cordon",
            ActionName::Annotate => "annotate",
            ActionName::Label => "label",
            ActionName::Event => "event",
            ActionName::Notify => "notify",
        }
    }

    pub fn parse(name: &str) -> Option<ActionName> {
        ActionName::ALL.into_iter().find(|a| a.name() == name)
    }
}

impl fmt::Display for ActionName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Default rounding of a resize: whole GiB.
pub const DEFAULT_ROUND: u64 = 1 << 30;

#[derive(Clone, Debug, PartialEq)]
pub struct Resize {
    pub step: ResizeStep,
    pub max: Option<u64>,
    pub min_step: Option<u64>,
    pub round: u64,
}

#[derive(Clone, Debug, PartialEq)]
pub enum ResizeStep {
    /// `+50%`: a fraction of the current size (0.5).
    Fraction(f64),
    /// `+10Gi`.
    Bytes(u64),
    /// `to = 200Gi`.
    To(u64),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Scale {
    pub step: ScaleStep,
    pub min: Option<u32>,
    pub max: Option<u32>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum ScaleStep {
    By(i64),
    To(u32),
}

/// A message with `{path}` placeholders, evaluated per object.
#[derive(Clone, Debug, PartialEq)]
pub struct Template {
    pub parts: Vec<TemplatePart>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum TemplatePart {
    Text(String),
    Value(Expr),
}

impl Template {
    pub fn plain(text: impl Into<String>) -> Template {
        Template {
            parts: vec![TemplatePart::Text(text.into())],
        }
    }
}

// ---------------------------------------------------------------- typing and arithmetic
//
// One place for the rules of types and units, shared by the checker's
// constant folding and the engine's evaluation.

/// The type of `lhs op rhs`, or None when the operator does not apply.
pub fn result_type(op: BinOp, l: &Type, r: &Type) -> Option<Type> {
    use Type::*;
    match op {
        BinOp::And | BinOp::Or => (*l == Bool && *r == Bool).then_some(Bool),
        BinOp::Eq | BinOp::Ne => (l == r && !matches!(l, List(_))).then_some(Bool),
        BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => {
            (l == r && (l.is_quantity() || *l == String)).then_some(Bool)
        }
        BinOp::In | BinOp::NotIn => matches!(r, List(elem) if **elem == *l).then_some(Bool),
        BinOp::Add | BinOp::Sub => (l == r && l.is_quantity()).then(|| l.clone()),
        BinOp::Mul => match (l, r) {
            (Number, t) | (t, Number) if t.is_quantity() => Some(t.clone()),
            (Percent, t) | (t, Percent) if matches!(t, Bytes | Duration) => Some(t.clone()),
            _ => None,
        },
        BinOp::Div => match (l, r) {
            (t, Number) if t.is_quantity() => Some(t.clone()),
            (a, b) if a == b && a.is_quantity() => Some(Number),
            _ => None,
        },
    }
}

/// `lhs op rhs` on values of the given types. None for no value (x / 0, NaN).
pub fn apply(op: BinOp, lt: &Type, l: &Value, rt: &Type, r: &Value) -> Option<Value> {
    let num = |v: f64| v.is_finite().then_some(Value::Num(v));
    // A percent times another quantity scales it: 50% * 10Gi = 5Gi.
    let scale = |t: &Type, v: f64| if *t == Type::Percent { v / 100.0 } else { v };
    Some(match op {
        BinOp::And => Value::Bool(l.as_bool()? && r.as_bool()?),
        BinOp::Or => Value::Bool(l.as_bool()? || r.as_bool()?),
        BinOp::Eq => Value::Bool(l == r),
        BinOp::Ne => Value::Bool(l != r),
        BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => {
            let ord = match (l, r) {
                (Value::Num(a), Value::Num(b)) => a.partial_cmp(b)?,
                (Value::Str(a), Value::Str(b)) => a.cmp(b),
                _ => return None,
            };
            Value::Bool(match op {
                BinOp::Lt => ord.is_lt(),
                BinOp::Le => ord.is_le(),
                BinOp::Gt => ord.is_gt(),
                _ => ord.is_ge(),
            })
        }
        BinOp::In | BinOp::NotIn => {
            let Value::List(items) = r else { return None };
            Value::Bool(items.contains(l) == (op == BinOp::In))
        }
        BinOp::Add => num(l.as_num()? + r.as_num()?)?,
        BinOp::Sub => num(l.as_num()? - r.as_num()?)?,
        BinOp::Mul => {
            let (a, b) = (l.as_num()?, r.as_num()?);
            // Only a percent times bytes or a duration scales: 50% * 2 = 100%.
            if lt == rt || *lt == Type::Number || *rt == Type::Number {
                num(a * b)?
            } else {
                num(scale(lt, a) * scale(rt, b))?
            }
        }
        BinOp::Div => {
            let (a, b) = (l.as_num()?, r.as_num()?);
            if b == 0.0 {
                return None;
            }
            num(a / b)?
        }
    })
}

/// Evaluates an expression built only of constants.
pub fn eval_const(e: &Expr) -> Option<Value> {
    match &e.kind {
        ExprKind::Const(v) => Some(v.clone()),
        ExprKind::Not(x) => Some(Value::Bool(!eval_const(x)?.as_bool()?)),
        ExprKind::Neg(x) => Some(Value::Num(-eval_const(x)?.as_num()?)),
        ExprKind::Binary { op, lhs, rhs } => {
            apply(*op, &lhs.ty, &eval_const(lhs)?, &rhs.ty, &eval_const(rhs)?)
        }
        ExprKind::Call { func, args } => {
            let nums: Option<Vec<f64>> = args.iter().map(|a| eval_const(a)?.as_num()).collect();
            call(*func, &nums?).map(Value::Num)
        }
        ExprKind::List(items) => items
            .iter()
            .map(eval_const)
            .collect::<Option<_>>()
            .map(Value::List),
        ExprKind::Metric(_) | ExprKind::Field(_) | ExprKind::Label { .. } => None,
    }
}

/// `min`, `max`, `abs` over numbers in one unit.
pub fn call(func: Func, args: &[f64]) -> Option<f64> {
    match func {
        Func::Min => args.iter().copied().reduce(f64::min),
        Func::Max => args.iter().copied().reduce(f64::max),
        Func::Abs => args.first().map(|x| x.abs()),
    }
}

// ---------------------------------------------------------------- showing IR

/// A value as source text: `50%`, `"db"`, `["a", "b"]`.
pub fn show_value(ty: &Type, v: &Value) -> String {
    match (ty, v) {
        (_, Value::Bool(b)) => b.to_string(),
        (_, Value::Str(s)) => format!("{s:?}"),
        (Type::List(elem), Value::List(items)) => {
            let items: Vec<String> = items.iter().map(|i| show_value(elem, i)).collect();
            format!("[{}]", items.join(", "))
        }
        (_, Value::List(_)) => "[..]".into(),
        (ty, Value::Num(n)) => format_quantity(ty, *n),
    }
}

/// An IR expression as source text, with metrics and fields by name.
pub fn show(program: &Program, kind: Kind, e: &Expr) -> String {
    show_prec(program, kind, e, 0)
}

fn show_prec(program: &Program, kind: Kind, e: &Expr, outer: u8) -> String {
    match &e.kind {
        ExprKind::Const(v) => show_value(&e.ty, v),
        ExprKind::Metric(id) => program.metric(*id).qualified(),
        ExprKind::Field(Field::NamespaceName) => "namespace.name".into(),
        ExprKind::Field(f) => format!("{kind}.{}", f.source_name()),
        ExprKind::Label { of, map, key } => {
            let root = match of {
                Scope::Object => kind.name(),
                Scope::Namespace => "namespace",
            };
            let map = match map {
                MapKind::Labels => "labels",
                MapKind::Annotations => "annotations",
            };
            let plain = key
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
                && key.starts_with(|c: char| c.is_ascii_lowercase() || c == '_');
            if plain {
                format!("{root}.{map}.{key}")
            } else {
                format!("{root}.{map}[{key:?}]")
            }
        }
        ExprKind::Not(x) => wrap(format!("not {}", show_prec(program, kind, x, 3)), 3, outer),
        ExprKind::Neg(x) => format!("-{}", show_prec(program, kind, x, 7)),
        ExprKind::Binary { op, lhs, rhs } => {
            let p = op.precedence();
            let text = format!(
                "{} {} {}",
                show_prec(program, kind, lhs, p),
                op.symbol(),
                show_prec(program, kind, rhs, p + 1)
            );
            wrap(text, p, outer)
        }
        ExprKind::Call { func, args } => {
            let args: Vec<String> = args.iter().map(|a| show(program, kind, a)).collect();
            format!(
                "{}({})",
                format!("{func:?}").to_lowercase(),
                args.join(", ")
            )
        }
        ExprKind::List(items) => {
            let items: Vec<String> = items.iter().map(|a| show(program, kind, a)).collect();
            format!("[{}]", items.join(", "))
        }
    }
}

fn wrap(text: String, inner: u8, outer: u8) -> String {
    if inner < outer {
        format!("({text})")
    } else {
        text
    }
}

// ---------------------------------------------------------------- display

/// A quantity in its type's unit, as a user would write it: `50%`, `200Gi`, `5m`.
pub fn format_quantity(ty: &Type, v: f64) -> String {
    match ty {
        Type::Percent => format!("{}%", trim_float(v)),
        Type::Bytes => format_bytes(v),
        Type::Duration => format_duration(v),
        _ => trim_float(v),
    }
}

fn trim_float(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{v:.0}")
    } else {
        let s = format!("{v:.3}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

pub fn format_bytes(v: f64) -> String {
    const UNITS: [(&str, f64); 6] = [
        ("Ei", 1152921504606846976.0),
        ("Pi", 1125899906842624.0),
        ("Ti", 1099511627776.0),
        ("Gi", 1073741824.0),
        ("Mi", 1048576.0),
        ("Ki", 1024.0),
    ];
    for (suffix, size) in UNITS {
        if v.abs() >= size && (v / size).fract() == 0.0 {
            return format!("{}{suffix}", trim_float(v / size));
        }
    }
    for (suffix, size) in UNITS {
        if v.abs() >= size {
            return format!("{}{suffix}", trim_float(v / size));
        }
    }
    trim_float(v)
}

pub fn format_duration(secs: f64) -> String {
    const UNITS: [(&str, f64); 5] = [
        ("w", 604800.0),
        ("d", 86400.0),
        ("h", 3600.0),
        ("m", 60.0),
        ("s", 1.0),
    ];
    if secs == 0.0 {
        return "0s".into();
    }
    for (suffix, size) in UNITS {
        if secs.abs() >= size && (secs / size).fract() == 0.0 {
            return format!("{}{suffix}", trim_float(secs / size));
        }
    }
    if secs.abs() < 1.0 {
        return format!("{}ms", trim_float(secs * 1000.0));
    }
    format!("{}s", trim_float(secs))
}

// ---------------------------------------------------------------- fingerprints

/// FNV-1a, 64 bits: stable across builds and platforms, unlike std's hasher,
/// so a fingerprint may be saved and compared after a restart.
#[derive(Clone, Copy, Debug)]
pub struct Fnv(u64);

impl Default for Fnv {
    fn default() -> Fnv {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
}

impl Fnv {
    pub fn bytes(&mut self, b: &[u8]) {
        for &x in b {
            self.0 ^= u64::from(x);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }
    fn u64(&mut self, v: u64) {
        self.bytes(&v.to_le_bytes());
    }
    fn str(&mut self, s: &str) {
        self.u64(s.len() as u64);
        self.bytes(s.as_bytes());
    }
    fn tag(&mut self, t: u8) {
        self.bytes(&[t]);
    }
    pub fn finish(self) -> u64 {
        self.0
    }
}

/// What a policy does, without spans or its name: kind, filter, condition,
/// `for`, actions and every clause. Equal fingerprints mean the same policy.
pub fn fingerprint(program: &Program, p: &Policy) -> u64 {
    let mut h = Fnv::default();
    h.str(p.kind.name());
    match &p.filter {
        Some(f) => {
            h.tag(1);
            expr_print(program, &mut h, f);
        }
        None => h.tag(0),
    }
    expr_print(program, &mut h, &p.condition);
    h.u64(p.hold.0);
    h.u64(p.actions.len() as u64);
    for a in &p.actions {
        action_print(program, &mut h, &a.kind);
    }
    h.u64(p.cooldown.0);
    h.tag(p.mode as u8);
    h.tag(p.no_data as u8);
    match &p.window {
        Some(w) => {
            h.tag(1);
            for d in w.days {
                h.tag(d as u8);
            }
            h.u64(u64::from(w.start));
            h.u64(u64::from(w.end));
            h.str(&w.zone);
        }
        None => h.tag(0),
    }
    match p.at_most {
        Some(a) => {
            h.tag(1);
            h.u64(u64::from(a.count));
            h.u64(a.per.0);
        }
        None => h.tag(0),
    }
    h.finish()
}

fn value_print(h: &mut Fnv, v: &Value) {
    match v {
        Value::Bool(b) => {
            h.tag(0);
            h.tag(*b as u8);
        }
        Value::Num(n) => {
            h.tag(1);
            h.u64(n.to_bits());
        }
        Value::Str(s) => {
            h.tag(2);
            h.str(s);
        }
        Value::List(items) => {
            h.tag(3);
            h.u64(items.len() as u64);
            items.iter().for_each(|i| value_print(h, i));
        }
    }
}

fn expr_print(program: &Program, h: &mut Fnv, e: &Expr) {
    h.str(&e.ty.to_string());
    match &e.kind {
        ExprKind::Const(v) => {
            h.tag(0);
            value_print(h, v);
        }
        ExprKind::Metric(id) => {
            // By what it reads, not by its place among the bindings.
            let m = program.metric(*id);
            h.tag(1);
            h.str(&m.qualified());
            h.str(&m.promql);
        }
        ExprKind::Field(f) => {
            h.tag(2);
            h.str(&format!("{f:?}"));
        }
        ExprKind::Label { of, map, key } => {
            h.tag(3);
            h.tag(*of as u8);
            h.tag(*map as u8);
            h.str(key);
        }
        ExprKind::Not(x) => {
            h.tag(4);
            expr_print(program, h, x);
        }
        ExprKind::Neg(x) => {
            h.tag(5);
            expr_print(program, h, x);
        }
        ExprKind::Binary { op, lhs, rhs } => {
            h.tag(6);
            h.str(op.symbol());
            expr_print(program, h, lhs);
            expr_print(program, h, rhs);
        }
        ExprKind::Call { func, args } => {
            h.tag(7);
            h.tag(*func as u8);
            h.u64(args.len() as u64);
            args.iter().for_each(|a| expr_print(program, h, a));
        }
        ExprKind::List(items) => {
            h.tag(8);
            h.u64(items.len() as u64);
            items.iter().for_each(|a| expr_print(program, h, a));
        }
    }
}

fn template_print(program: &Program, h: &mut Fnv, t: &Template) {
    h.u64(t.parts.len() as u64);
    for part in &t.parts {
        match part {
            TemplatePart::Text(s) => {
                h.tag(0);
                h.str(s);
            }
            TemplatePart::Value(e) => {
                h.tag(1);
                expr_print(program, h, e);
            }
        }
    }
}

fn action_print(program: &Program, h: &mut Fnv, a: &ActionKind) {
    h.str(a.name());
    let opt = |h: &mut Fnv, v: Option<u64>| match v {
        Some(v) => {
            h.tag(1);
            h.u64(v);
        }
        None => h.tag(0),
    };
    match a {
        ActionKind::Resize(r) => {
            match r.step {
                ResizeStep::Fraction(f) => {
                    h.tag(0);
                    h.u64(f.to_bits());
                }
                ResizeStep::Bytes(b) => {
                    h.tag(1);
                    h.u64(b);
                }
                ResizeStep::To(b) => {
                    h.tag(2);
                    h.u64(b);
                }
            }
            opt(h, r.max);
            opt(h, r.min_step);
            h.u64(r.round);
        }
        ActionKind::Scale(s) => {
            match s.step {
                ScaleStep::By(n) => {
                    h.tag(0);
                    h.u64(n as u64);
                }
                ScaleStep::To(n) => {
                    h.tag(1);
                    h.u64(u64::from(n));
                }
            }
            opt(h, s.min.map(u64::from));
            opt(h, s.max.map(u64::from));
        }
        ActionKind::SetClass { class } => h.str(class),
        ActionKind::Evict | ActionKind::Cordon => {}
        ActionKind::Annotate { key, value } | ActionKind::Label { key, value } => {
            h.str(key);
            template_print(program, h, value);
        }
        ActionKind::Event { reason, message } => {
            h.str(reason);
            template_print(program, h, message);
        }
        ActionKind::Notify { receiver, message } => {
            h.str(receiver);
            template_print(program, h, message);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities_read_like_source() {
        assert_eq!(format_bytes(400.0 * 1073741824.0), "400Gi");
        assert_eq!(format_bytes(1099511627776.0), "1Ti");
        assert_eq!(format_bytes(1.5 * 1073741824.0), "1536Mi");
        assert_eq!(format_duration(300.0), "5m");
        assert_eq!(format_duration(0.02), "20ms");
        assert_eq!(format_duration(90.0), "90s");
        assert_eq!(format_quantity(&Type::Percent, 50.0), "50%");
        assert_eq!(Millis(300_000).to_string(), "5m");
    }

    #[test]
    fn action_names_round_trip() {
        for a in ActionName::ALL {
            assert_eq!(ActionName::parse(a.name()), Some(a));
        }
        assert_eq!(ActionName::parse("resise"), None);
    }

    #[test]
    fn millis_are_bounded_and_saturate() {
        assert_eq!(Millis::from_secs(1.5), Some(Millis(1500)));
        assert_eq!(Millis::from_secs(-1.0), None);
        assert_eq!(Millis::from_secs(f64::INFINITY), None);
        assert_eq!(Millis::from_secs(1e20 * 86_400.0), None);
        assert_eq!(Millis::from_secs(Millis::MAX.secs()), Some(Millis::MAX));
        assert_eq!(Millis::MAX.after(i64::MAX - 5), i64::MAX);
        assert_eq!(Millis(u64::MAX).after(0), i64::MAX);
        assert_eq!(Millis::MAX.before(i64::MIN + 5), i64::MIN);
    }
}
