//! The typed program the engine runs: names resolved, units checked,
//! constants folded. Built by `check`; every node keeps its span.

use std::fmt;

use serde::Serialize;

use crate::source::Span;
use crate::syntax::ast::UnaryOp;

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

    /// The bindings some policy reads, each once, in binding order.
    pub fn read_metrics(&self) -> Vec<MetricId> {
        let mut read: Vec<MetricId> = self
            .policies
            .iter()
            .flat_map(|p| p.metrics.iter().copied())
            .collect();
        read.sort_unstable_by_key(|m| m.0);
        read.dedup();
        read
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
    /// Where `promql` is, inside the backticks.
    pub promql_span: Span,
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
    /// A PVC's StorageClass: `pvc.storageclass.labels.tier`.
    StorageClass,
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
    Clamp,
    Ceil,
    Floor,
    Round,
    /// `at_least(N, [c1, c2, ...])`: lowered to the arguments `N, c1, c2, ...`.
    AtLeast,
    Bytes,
    Percent,
    Duration,
    Number,
}

impl Func {
    pub const ALL: [Func; 12] = [
        Func::Min,
        Func::Max,
        Func::Abs,
        Func::Clamp,
        Func::Ceil,
        Func::Floor,
        Func::Round,
        Func::AtLeast,
        Func::Bytes,
        Func::Percent,
        Func::Duration,
        Func::Number,
    ];

    /// The name a function has in source.
    pub fn name(self) -> &'static str {
        match self {
            Func::Min => "min",
            Func::Max => "max",
            Func::Abs => "abs",
            Func::Clamp => "clamp",
            Func::Ceil => "ceil",
            Func::Floor => "floor",
            Func::Round => "round",
            Func::AtLeast => "at_least",
            Func::Bytes => "bytes",
            Func::Percent => "percent",
            Func::Duration => "duration",
            Func::Number => "number",
        }
    }

    pub fn from_name(name: &str) -> Option<Func> {
        Func::ALL.into_iter().find(|f| f.name() == name)
    }

    /// How a call is written, for help text.
    pub fn signature(self) -> &'static str {
        match self {
            Func::Min => "min(a, b, ...)",
            Func::Max => "max(a, b, ...)",
            Func::Abs => "abs(x)",
            Func::Clamp => "clamp(x, lo, hi)",
            Func::Ceil => "ceil(x)",
            Func::Floor => "floor(x)",
            Func::Round => "round(x)",
            Func::AtLeast => "at_least(2, [c1, c2, c3])",
            Func::Bytes => "bytes(pvc.annotations[\"limit\"])",
            Func::Percent => "percent(pvc.annotations.threshold)",
            Func::Duration => "duration(pvc.labels.grace)",
            Func::Number => "number(deployment.annotations.per_replica)",
        }
    }

    /// The type a conversion from a string gives.
    pub fn conversion(self) -> Option<Type> {
        match self {
            Func::Bytes => Some(Type::Bytes),
            Func::Percent => Some(Type::Percent),
            Func::Duration => Some(Type::Duration),
            Func::Number => Some(Type::Number),
            _ => None,
        }
    }
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
            Field::AccessModes => "access_modes",
            Field::VolumeMode => "volume_mode",
            Field::AvailableReplicas => "available_replicas",
            Field::UpdatedReplicas => "updated_replicas",
            Field::ClassName => "storageclass.name",
            Field::ClassProvisioner => "storageclass.provisioner",
            Field::ClassExpansion => "storageclass.allow_volume_expansion",
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
    /// `spec.accessModes`, a list: `"ReadOnlyMany" in pvc.access_modes`.
    AccessModes,
    /// `spec.volumeMode`: `Filesystem` or `Block`.
    VolumeMode,
    AvailableReplicas,
    UpdatedReplicas,
    /// `pvc.storageclass.name`: the class's name (`storage_class`).
    ClassName,
    ClassProvisioner,
    ClassExpansion,
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
    /// Constant arguments in place; a computed one holds a stand-in that
    /// the engine replaces with the value of its expression in `computed`.
    pub kind: ActionKind,
    pub computed: Vec<Computed>,
    pub span: Span,
}

/// An action argument computed per object at firing time:
/// `scale(to = ceil(deployment.http_rps / 100))`.
#[derive(Clone, Debug, PartialEq)]
pub struct Computed {
    pub slot: ArgSlot,
    pub expr: Expr,
}

/// Which argument of a resize or scale an expression computes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ArgSlot {
    Step,
    To,
    Max,
    MinStep,
    Round,
    Min,
}

impl ArgSlot {
    /// The argument as the language names it.
    pub fn name(self) -> &'static str {
        match self {
            ArgSlot::Step => "step",
            ArgSlot::To => "to",
            ArgSlot::Max => "max",
            ArgSlot::MinStep => "min_step",
            ArgSlot::Round => "round",
            ArgSlot::Min => "min",
        }
    }
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
    /// `{resize.to}`: what an earlier action of the same `then` list did.
    Did(Did),
}

/// What an action did, as a message names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Did {
    ResizeFrom,
    ResizeTo,
    ScaleFrom,
    ScaleTo,
}

impl Did {
    pub const ALL: [Did; 4] = [Did::ResizeFrom, Did::ResizeTo, Did::ScaleFrom, Did::ScaleTo];

    /// `resize.to`, as written inside `{…}`.
    pub fn name(self) -> &'static str {
        match self {
            Did::ResizeFrom => "resize.from",
            Did::ResizeTo => "resize.to",
            Did::ScaleFrom => "scale.from",
            Did::ScaleTo => "scale.to",
        }
    }

    pub fn action(self) -> ActionName {
        match self {
            Did::ResizeFrom | Did::ResizeTo => ActionName::Resize,
            Did::ScaleFrom | Did::ScaleTo => ActionName::Scale,
        }
    }
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
        // A default has the type of what it stands in for.
        BinOp::Coalesce => (l == r).then(|| l.clone()),
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
        // Both sides have a value: the default is not needed.
        BinOp::Coalesce => l.clone(),
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
            let values: Option<Vec<Value>> = args.iter().map(eval_const).collect();
            call(*func, &values?).ok().flatten()
        }
        ExprKind::List(items) => items
            .iter()
            .map(eval_const)
            .collect::<Option<_>>()
            .map(Value::List),
        ExprKind::Metric(_) | ExprKind::Field(_) | ExprKind::Label { .. } => None,
    }
}

/// A function applied to values that all have data: `Ok(None)` is no data
/// (a conversion of `""`), `Err` says why there is no value.
pub fn call(func: Func, args: &[Value]) -> Result<Option<Value>, String> {
    let num = |i: usize| args.get(i).and_then(Value::as_num).ok_or("not a number");
    let out = |v: f64| Ok(v.is_finite().then_some(Value::Num(v)));
    match func {
        Func::Min | Func::Max => {
            let nums: Option<Vec<f64>> = args.iter().map(Value::as_num).collect();
            let pick = if func == Func::Min {
                f64::min
            } else {
                f64::max
            };
            nums.and_then(|n| n.into_iter().reduce(pick))
                .map_or(Ok(None), out)
        }
        Func::Abs => out(num(0)?.abs()),
        Func::Clamp => {
            let (x, lo, hi) = (num(0)?, num(1)?, num(2)?);
            if lo > hi {
                return Err(format!(
                    "clamp's low bound {lo} is above its high bound {hi}"
                ));
            }
            out(x.clamp(lo, hi))
        }
        Func::Ceil => out(num(0)?.ceil()),
        Func::Floor => out(num(0)?.floor()),
        // Ties round away from zero, as f64::round does.
        Func::Round => out(num(0)?.round()),
        Func::AtLeast => {
            let n = num(0)?;
            let yes = args[1..]
                .iter()
                .filter(|a| a.as_bool() == Some(true))
                .count();
            Ok(Some(Value::Bool(yes as f64 >= n)))
        }
        Func::Bytes | Func::Percent | Func::Duration | Func::Number => {
            let text = args.first().and_then(Value::as_str).ok_or("not a string")?;
            convert(func, text).map(|v| v.map(Value::Num))
        }
    }
}

/// A string read as a quantity: `""` is no data, text that does not parse
/// is an error that shows it.
pub fn convert(func: Func, text: &str) -> Result<Option<f64>, String> {
    let s = text.trim();
    if s.is_empty() {
        return Ok(None);
    }
    let bad = |what: &str| format!("`{text}` is not {what}");
    let plain = |s: &str| {
        s.replace('_', "")
            .parse::<f64>()
            .ok()
            .filter(|v| v.is_finite() && !s.starts_with(['+', '.']) && !s.ends_with('.'))
    };
    match func {
        Func::Bytes => crate::quantity::parse_bytes(s)
            .map(|b| Some(b as f64))
            .map_err(|_| bad("a size (e.g. `100Gi`, `500G`)")),
        Func::Percent => s
            .strip_suffix('%')
            .and_then(|n| plain(n.trim_end()))
            .map(Some)
            .ok_or_else(|| bad("a percent (e.g. `10%`)")),
        Func::Duration => parse_duration(s)
            .map(Some)
            .map_err(|_| bad("a duration (e.g. `1h30m`)")),
        _ => plain(s).map(Some).ok_or_else(|| bad("a number")),
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
                Scope::StorageClass => "pvc.storageclass",
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
        ExprKind::Not(x) => {
            let p = UnaryOp::Not.precedence();
            wrap(format!("not {}", show_prec(program, kind, x, p)), p, outer)
        }
        ExprKind::Neg(x) => format!(
            "-{}",
            show_prec(program, kind, x, UnaryOp::Neg.precedence())
        ),
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
            match (func, args.split_first()) {
                (Func::AtLeast, Some((n, conditions))) => {
                    format!("at_least({n}, [{}])", conditions.join(", "))
                }
                _ => format!("{}({})", func.name(), args.join(", ")),
            }
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

/// A quantity in its type's unit, humanised as a user would write it:
/// `87.5%`, `212.5Gi`, `500G`, `1h30m`. It parses back as the same type.
pub fn format_quantity(ty: &Type, v: f64) -> String {
    match ty {
        Type::Percent => format!("{}%", trim_float(v)),
        Type::Bytes => format_bytes(v),
        Type::Duration => format_duration(v),
        _ => trim_float(v),
    }
}

/// At most two decimals, trailing zeros dropped.
fn trim_float(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{v:.0}")
    } else if v.abs() >= 1e15 {
        format!("{v}")
    } else {
        let s = format!("{v:.2}");
        let s = s.trim_end_matches('0').trim_end_matches('.');
        if s == "-0" { "0".into() } else { s.to_string() }
    }
}

const BINARY: [(&str, f64); 6] = [
    ("Ei", 1152921504606846976.0),
    ("Pi", 1125899906842624.0),
    ("Ti", 1099511627776.0),
    ("Gi", 1073741824.0),
    ("Mi", 1048576.0),
    ("Ki", 1024.0),
];

const DECIMAL: [(&str, f64); 6] = [
    ("E", 1e18),
    ("P", 1e15),
    ("T", 1e12),
    ("G", 1e9),
    ("M", 1e6),
    ("k", 1e3),
];

/// `v` in the largest unit of `units` it reaches, and whether two decimals
/// say it exactly.
fn in_largest(v: f64, units: &[(&'static str, f64)]) -> Option<(f64, &'static str, bool)> {
    let (suffix, size) = units.iter().find(|(_, size)| v.abs() >= *size)?;
    let x = v / size;
    let exact = ((x * 100.0).round() / 100.0) * size == v;
    Some((x, suffix, exact))
}

/// A size, humanised: the largest unit it reaches, at most two decimals.
/// Binary units where two decimals say it exactly (`1.5Gi`), else decimal
/// ones where they do (`500G`, as the user wrote it), else binary, rounded.
pub fn format_bytes(v: f64) -> String {
    let binary = in_largest(v, &BINARY);
    let decimal = in_largest(v, &DECIMAL);
    let (x, suffix) = match (binary, decimal) {
        (Some((x, s, true)), _) => (x, s),
        (_, Some((x, s, true))) => (x, s),
        (Some((x, s, false)), _) => (x, s),
        (None, _) => return trim_float(v),
    };
    format!("{}{suffix}", trim_float(x))
}

/// A duration, humanised as a compound, largest unit first (`1h30m`,
/// `1d12h`, `2m30s`); under a second in milliseconds (`20ms`).
pub fn format_duration(secs: f64) -> String {
    if secs == 0.0 || !secs.is_finite() {
        return "0s".into();
    }
    if secs < 0.0 {
        return format!("-{}", format_duration(-secs));
    }
    if secs < 1.0 {
        return format!("{}ms", trim_float(secs * 1000.0));
    }
    let mut ms = (secs * 1000.0).round().min(u64::MAX as f64) as u64;
    // Weeks only for whole weeks: `2w`, but `10d` rather than `1w3d`.
    const WEEK: u64 = 604_800_000;
    if ms.is_multiple_of(WEEK) {
        return format!("{}w", ms / WEEK);
    }
    let mut out = String::new();
    for (suffix, size) in [
        ("d", 86_400_000),
        ("h", 3_600_000),
        ("m", 60_000),
        ("s", 1000),
        ("ms", 1),
    ] {
        if ms >= size {
            out.push_str(&format!("{}{suffix}", ms / size));
            ms %= size;
        }
    }
    out
}

/// Why a duration's text does not parse.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DurationError {
    /// Not a number with a duration unit at all.
    Syntax,
    /// `1m1h`, `1h1h`: the parts of a compound go largest unit first, each once.
    Order,
    /// `1.5h30m`: the parts of a compound are whole numbers.
    Fraction,
}

impl DurationError {
    pub fn text(self) -> &'static str {
        match self {
            DurationError::Syntax => "a duration is a number with a unit: `30s`, `5m`, `1h30m`",
            DurationError::Order => {
                "the parts of a duration go largest unit first, each once: `1h30m`"
            }
            DurationError::Fraction => {
                "the parts of a compound duration are whole numbers: `1h30m`"
            }
        }
    }
}

const DURATION_UNITS: [(&str, f64); 7] = [
    ("w", 604800.0),
    ("d", 86400.0),
    ("h", 3600.0),
    ("ms", 0.001),
    ("m", 60.0),
    ("s", 1.0),
    ("", 0.0),
];

/// Rank of a duration unit, largest first (`ms` after `s`).
fn duration_rank(unit: &str) -> usize {
    ["w", "d", "h", "m", "s", "ms"]
        .iter()
        .position(|u| *u == unit)
        .unwrap_or(usize::MAX)
}

/// A duration as the language, scenarios and test blocks write it, in
/// seconds: `30s`, `1.5h`, and compounds as Prometheus writes them, largest
/// unit first and each once (`1h30m`, `1d12h`, `2m30s`, and `1h41m00s` as
/// timelines print). Underscores between digits are allowed, as in numbers.
pub fn parse_duration(text: &str) -> Result<f64, DurationError> {
    let mut rest = text;
    let mut total = 0.0;
    let mut parts = 0;
    let mut last_rank = None;
    let mut fractional = false;
    while !rest.is_empty() {
        let end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '_'))
            .ok_or(DurationError::Syntax)?;
        let (digits, tail) = rest.split_at(end);
        if !digits.starts_with(|c: char| c.is_ascii_digit()) {
            return Err(DurationError::Syntax);
        }
        let value: f64 = digits
            .replace('_', "")
            .parse()
            .map_err(|_| DurationError::Syntax)?;
        let (unit, factor) = DURATION_UNITS
            .iter()
            .find(|(u, _)| !u.is_empty() && tail.starts_with(u))
            .ok_or(DurationError::Syntax)?;
        let rank = duration_rank(unit);
        if last_rank.is_some_and(|r| rank <= r) {
            return Err(DurationError::Order);
        }
        last_rank = Some(rank);
        fractional |= digits.contains('.');
        total += value * factor;
        parts += 1;
        rest = &tail[unit.len()..];
    }
    if parts == 0 {
        return Err(DurationError::Syntax);
    }
    if parts > 1 && fractional {
        return Err(DurationError::Fraction);
    }
    if !total.is_finite() {
        return Err(DurationError::Syntax);
    }
    Ok(total)
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
            TemplatePart::Did(d) => {
                h.tag(2);
                h.str(d.name());
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
        assert_eq!(format_bytes(1.5 * 1073741824.0), "1.5Gi");
        assert_eq!(format_bytes(212.5 * 1073741824.0), "212.5Gi");
        assert_eq!(format_bytes(500e9), "500G");
        assert_eq!(format_bytes(440e9), "440G");
        assert_eq!(format_bytes(2000.0), "2k");
        assert_eq!(format_bytes(512.0), "512");
        assert_eq!(format_bytes(100.0 * 1073741824.0 + 1.0), "100Gi");
        assert_eq!(format_duration(300.0), "5m");
        assert_eq!(format_duration(0.02), "20ms");
        assert_eq!(format_duration(90.0), "1m30s");
        assert_eq!(format_duration(5400.0), "1h30m");
        assert_eq!(format_duration(1.5 * 86400.0), "1d12h");
        assert_eq!(format_duration(2.25), "2s250ms");
        assert_eq!(format_quantity(&Type::Percent, 87.5), "87.5%");
        assert_eq!(format_quantity(&Type::Percent, 100.0 / 3.0), "33.33%");
        assert_eq!(format_quantity(&Type::Percent, 50.0), "50%");
        assert_eq!(Millis(300_000).to_string(), "5m");
    }

    #[test]
    fn durations_parse_as_written_and_as_printed() {
        assert_eq!(parse_duration("30s"), Ok(30.0));
        assert_eq!(parse_duration("1.5h"), Ok(5400.0));
        assert_eq!(parse_duration("1h30m"), Ok(5400.0));
        assert_eq!(parse_duration("1d12h"), Ok(129_600.0));
        assert_eq!(parse_duration("2m30s"), Ok(150.0));
        assert_eq!(parse_duration("1h41m00s"), Ok(6060.0));
        assert_eq!(parse_duration("1s500ms"), Ok(1.5));
        assert_eq!(parse_duration("1_000ms"), Ok(1.0));
        assert_eq!(parse_duration("1m1h"), Err(DurationError::Order));
        assert_eq!(parse_duration("1h1h"), Err(DurationError::Order));
        assert_eq!(parse_duration("1ms1s"), Err(DurationError::Order));
        assert_eq!(parse_duration("1.5h30m"), Err(DurationError::Fraction));
        for bad in ["", "h", "30", "30x", "1h30", "-5m", "1 h"] {
            assert_eq!(parse_duration(bad), Err(DurationError::Syntax), "{bad}");
        }
        for secs in [
            0.02,
            1.0,
            90.0,
            5400.0,
            6060.0,
            129_600.0,
            2.25,
            3650.0 * 86400.0,
        ] {
            assert_eq!(parse_duration(&format_duration(secs)), Ok(secs), "{secs}");
        }
        let shown: Vec<String> = [
            5400.0,
            90.0,
            2.25,
            0.25,
            1_209_600.0,
            3650.0 * 86400.0,
            648_000.0,
        ]
        .map(format_duration)
        .into();
        assert_eq!(
            shown,
            ["1h30m", "1m30s", "2s250ms", "250ms", "2w", "3650d", "7d12h"]
        );
    }

    #[test]
    fn conversions_read_strings_and_show_bad_text() {
        assert_eq!(convert(Func::Bytes, "100Gi"), Ok(Some(107_374_182_400.0)));
        assert_eq!(convert(Func::Bytes, " 500G "), Ok(Some(500e9)));
        assert_eq!(convert(Func::Percent, "10%"), Ok(Some(10.0)));
        assert_eq!(convert(Func::Percent, "12.5 %"), Ok(Some(12.5)));
        assert_eq!(convert(Func::Duration, "1h30m"), Ok(Some(5400.0)));
        assert_eq!(convert(Func::Number, "-3.5"), Ok(Some(-3.5)));
        for f in [Func::Bytes, Func::Percent, Func::Duration, Func::Number] {
            assert_eq!(convert(f, ""), Ok(None), "{f:?}");
            assert_eq!(convert(f, "  "), Ok(None), "{f:?}");
        }
        assert_eq!(
            convert(Func::Bytes, "lots"),
            Err("`lots` is not a size (e.g. `100Gi`, `500G`)".into())
        );
        assert_eq!(
            convert(Func::Percent, "10"),
            Err("`10` is not a percent (e.g. `10%`)".into())
        );
        assert_eq!(
            convert(Func::Number, "NaN"),
            Err("`NaN` is not a number".into())
        );
        assert_eq!(
            convert(Func::Number, "inf"),
            Err("`inf` is not a number".into())
        );
        assert_eq!(
            convert(Func::Duration, "5"),
            Err("`5` is not a duration (e.g. `1h30m`)".into())
        );
    }

    #[test]
    fn functions_round_clamp_and_count() {
        let n = |v: f64| Value::Num(v);
        let b = Value::Bool;
        let one = |f: Func, v: f64| call(f, &[n(v)]).unwrap().unwrap();
        assert_eq!(one(Func::Ceil, 12.4), n(13.0));
        assert_eq!(one(Func::Floor, -12.4), n(-13.0));
        assert_eq!(one(Func::Round, 2.5), n(3.0));
        assert_eq!(one(Func::Round, -2.5), n(-3.0));
        assert_eq!(
            call(Func::Clamp, &[n(12.0), n(1.0), n(10.0)]),
            Ok(Some(n(10.0)))
        );
        assert_eq!(
            call(Func::Clamp, &[n(0.0), n(1.0), n(10.0)]),
            Ok(Some(n(1.0)))
        );
        assert!(call(Func::Clamp, &[n(0.0), n(10.0), n(1.0)]).is_err());
        let count = [n(2.0), b(true), b(false), b(true)];
        assert_eq!(call(Func::AtLeast, &count), Ok(Some(b(true))));
        assert_eq!(call(Func::AtLeast, &count[..3]), Ok(Some(b(false))));
        for f in Func::ALL {
            assert_eq!(Func::from_name(f.name()), Some(f));
        }
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
