//! The syntax tree of one `.apr` file. Every node has a span.

use crate::source::Span;

#[derive(Clone, Debug, PartialEq)]
pub struct File {
    pub items: Vec<Item>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Item {
    Let(Let),
    Metric(Metric),
    Policy(Policy),
    Rule(Rule),
    Test(Test),
}

impl Item {
    pub fn span(&self) -> Span {
        match self {
            Item::Let(x) => x.span,
            Item::Metric(x) => x.span,
            Item::Policy(x) => x.span,
            Item::Rule(x) => x.span,
            Item::Test(x) => x.span,
        }
    }
}

/// `test "name" { ... }`: a world, series and expectations (docs/formats.md section 3).
#[derive(Clone, Debug, PartialEq)]
pub struct Test {
    pub name: Str,
    pub stmts: Vec<TestStmt>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct TestStmt {
    pub kind: TestStmtKind,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub enum TestStmtKind {
    /// `start "2026-01-01T00:00:00Z"`, `step 1m`, `duration 30m`, `lookback 5m`.
    Setting { name: Ident, value: Expr },
    /// `pvc "db/pg-data" { capacity = 100Gi }`, `namespace "db" { … }`.
    Object {
        kind: Ident,
        id: Str,
        fields: Option<Record>,
    },
    /// `series pvc.usage "db/pg-data" = "40 45 60x5"`, or a raw series in backticks.
    Series { target: SeriesTarget, values: Str },
    /// `approve POLICY "OBJECT" at 12m`, `decline …`.
    Decision {
        approve: bool,
        target: Target,
        at: Expr,
    },
    /// `restart at 20m`: the controller restarts from its saved state.
    Restart { at: Expr },
    /// `set deployment "web/api" at 20m { ready_replicas = 3 }`,
    /// `create pod "web/api-7" at 25m { … }`, `delete pod "web/api-1" at 30m`:
    /// the world changing by itself.
    Change {
        op: ChangeOp,
        kind: Ident,
        id: Str,
        at: Expr,
        fields: Option<Record>,
    },
    /// `expect [POLICY "OBJECT"] …`.
    Expect {
        target: Option<Target>,
        what: Expectation,
    },
}

/// What a test's change statement does to an object.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChangeOp {
    Set,
    Create,
    Delete,
}

impl ChangeOp {
    pub fn word(self) -> &'static str {
        match self {
            ChangeOp::Set => "set",
            ChangeOp::Create => "create",
            ChangeOp::Delete => "delete",
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum SeriesTarget {
    Metric { path: Path, object: Str },
    Raw(Promql),
}

/// A policy (a name, or a quoted `FILE:LINE`) and an object.
#[derive(Clone, Debug, PartialEq)]
pub struct Target {
    pub policy: Ident,
    /// The policy was written as a string.
    pub quoted: bool,
    pub object: Str,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Expectation {
    /// `at 3m is pending`
    State { at: Expr, state: Ident },
    /// `at 7m resize to 200Gi applied`
    Action {
        at: Expr,
        action: Ident,
        to: Option<Expr>,
        result: Option<Ident>,
    },
    /// `no action from 0s to 5m`
    NoAction { from: Expr, to: Expr },
}

/// `{ name = value, labels = { app = "pg" } }`
#[derive(Clone, Debug, PartialEq)]
pub struct Record {
    pub fields: Vec<RecordField>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct RecordField {
    pub name: Ident,
    pub value: FieldValue,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub enum FieldValue {
    Record(Record),
    Expr(Expr),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ident {
    pub name: String,
    pub span: Span,
}

/// `let NAME = EXPR`
#[derive(Clone, Debug, PartialEq)]
pub struct Let {
    pub name: Ident,
    pub value: Expr,
    pub span: Span,
}

/// `metric KIND.NAME : TYPE = \`PROMQL\` [by (LABEL, ...)]`
#[derive(Clone, Debug, PartialEq)]
pub struct Metric {
    pub kind: Ident,
    pub name: Ident,
    pub ty: Ident,
    pub promql: Promql,
    pub by: Option<By>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct By {
    pub labels: Vec<Ident>,
    pub span: Span,
}

/// PromQL between backticks; the span covers the text inside them.
#[derive(Clone, Debug, PartialEq)]
pub struct Promql {
    pub text: String,
    pub span: Span,
}

/// `policy NAME { CLAUSE... }`
#[derive(Clone, Debug, PartialEq)]
pub struct Policy {
    pub name: Ident,
    pub clauses: Vec<Clause>,
    pub span: Span,
}

/// `when ... then ...` outside a policy block.
#[derive(Clone, Debug, PartialEq)]
pub struct Rule {
    pub when: When,
    pub then: Then,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Clause {
    pub kind: ClauseKind,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub enum ClauseKind {
    On { kind: Ident, filter: Option<Expr> },
    When(When),
    Then(Then),
    Cooldown(Expr),
    Mode(Ident),
    NoData(Ident),
    Window(Str),
    AtMost { count: Expr, per: Expr },
}

impl ClauseKind {
    /// The keyword that starts the clause.
    pub fn keyword(&self) -> &'static str {
        match self {
            ClauseKind::On { .. } => "on",
            ClauseKind::When(_) => "when",
            ClauseKind::Then(_) => "then",
            ClauseKind::Cooldown(_) => "cooldown",
            ClauseKind::Mode(_) => "mode",
            ClauseKind::NoData(_) => "no_data",
            ClauseKind::Window(_) => "window",
            ClauseKind::AtMost { .. } => "at_most",
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct When {
    pub condition: Expr,
    pub hold: Option<Expr>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Then {
    pub actions: Vec<Action>,
    pub span: Span,
}

/// `resize(+100%, max = 400Gi)`
#[derive(Clone, Debug, PartialEq)]
pub struct Action {
    pub name: Ident,
    pub args: Vec<Arg>,
    pub span: Span,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sign {
    Plus,
    Minus,
}

/// An action argument: `+100%`, `max = 400Gi`, `"oncall"`.
#[derive(Clone, Debug, PartialEq)]
pub struct Arg {
    pub name: Option<Ident>,
    pub sign: Option<(Sign, Span)>,
    pub value: Expr,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Expr {
    pub kind: ExprKind,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub enum ExprKind {
    Number(Number),
    Str(Str),
    Bool(bool),
    List(Vec<Expr>),
    Call {
        name: Ident,
        args: Vec<Expr>,
    },
    Path(Path),
    Unary {
        op: UnaryOp,
        expr: Box<Expr>,
    },
    Binary {
        op: BinaryOp,
        lhs: Box<Expr>,
        rhs: Box<Expr>,
    },
    Paren(Box<Expr>),
    /// Stands where the parser already reported an error.
    Error,
}

/// A number with an optional unit, as written: `1_000`, `50%`, `400Gi`, `5m`.
#[derive(Clone, Debug, PartialEq)]
pub struct Number {
    /// The digits as written (underscores kept), for `fmt`.
    pub text: String,
    pub value: f64,
    pub unit: Option<Unit>,
    /// A compound duration (`1h30m`): `text` is the whole literal, `value`
    /// is in seconds and `unit` is seconds.
    pub compound: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Unit {
    Percent,
    Ki,
    Mi,
    Gi,
    Ti,
    Pi,
    Ei,
    K,
    M,
    G,
    T,
    P,
    E,
    Millis,
    Seconds,
    Minutes,
    Hours,
    Days,
    Weeks,
}

/// What a unit measures.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Dimension {
    Percent,
    Bytes,
    Duration,
}

impl Unit {
    pub const ALL: [Unit; 19] = [
        Unit::Percent,
        Unit::Ki,
        Unit::Mi,
        Unit::Gi,
        Unit::Ti,
        Unit::Pi,
        Unit::Ei,
        Unit::K,
        Unit::M,
        Unit::G,
        Unit::T,
        Unit::P,
        Unit::E,
        Unit::Millis,
        Unit::Seconds,
        Unit::Minutes,
        Unit::Hours,
        Unit::Days,
        Unit::Weeks,
    ];

    pub fn suffix(self) -> &'static str {
        match self {
            Unit::Percent => "%",
            Unit::Ki => "Ki",
            Unit::Mi => "Mi",
            Unit::Gi => "Gi",
            Unit::Ti => "Ti",
            Unit::Pi => "Pi",
            Unit::Ei => "Ei",
            Unit::K => "k",
            Unit::M => "M",
            Unit::G => "G",
            Unit::T => "T",
            Unit::P => "P",
            Unit::E => "E",
            Unit::Millis => "ms",
            Unit::Seconds => "s",
            Unit::Minutes => "m",
            Unit::Hours => "h",
            Unit::Days => "d",
            Unit::Weeks => "w",
        }
    }

    pub fn from_suffix(s: &str) -> Option<Unit> {
        Unit::ALL.into_iter().find(|u| u.suffix() == s)
    }

    pub fn dimension(self) -> Dimension {
        match self {
            Unit::Percent => Dimension::Percent,
            Unit::Millis
            | Unit::Seconds
            | Unit::Minutes
            | Unit::Hours
            | Unit::Days
            | Unit::Weeks => Dimension::Duration,
            _ => Dimension::Bytes,
        }
    }

    /// Factor to the base unit: a fraction for percent, bytes, seconds.
    pub fn factor(self) -> f64 {
        const KI: f64 = 1024.0;
        match self {
            Unit::Percent => 0.01,
            Unit::Ki => KI,
            Unit::Mi => KI * KI,
            Unit::Gi => KI * KI * KI,
            Unit::Ti => KI * KI * KI * KI,
            Unit::Pi => KI * KI * KI * KI * KI,
            Unit::Ei => KI * KI * KI * KI * KI * KI,
            Unit::K => 1e3,
            Unit::M => 1e6,
            Unit::G => 1e9,
            Unit::T => 1e12,
            Unit::P => 1e15,
            Unit::E => 1e18,
            Unit::Millis => 1e-3,
            Unit::Seconds => 1.0,
            Unit::Minutes => 60.0,
            Unit::Hours => 3600.0,
            Unit::Days => 86400.0,
            Unit::Weeks => 7.0 * 86400.0,
        }
    }
}

/// `pvc.usage`, `pvc.labels.app`, `pvc.labels["app.kubernetes.io/name"]`.
#[derive(Clone, Debug, PartialEq)]
pub struct Path {
    pub segments: Vec<Segment>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Segment {
    pub name: String,
    /// Written as `["..."]` rather than `.name`.
    pub quoted: bool,
    pub span: Span,
}

impl Path {
    /// The path as written, `pvc.labels["a/b"]`.
    pub fn display(&self) -> String {
        let mut out = String::new();
        for (i, seg) in self.segments.iter().enumerate() {
            if seg.quoted {
                out.push_str(&format!("[{:?}]", seg.name));
            } else {
                if i > 0 {
                    out.push('.');
                }
                out.push_str(&seg.name);
            }
        }
        out
    }
}

/// A string literal: text and `{path}` interpolations.
#[derive(Clone, Debug, PartialEq)]
pub struct Str {
    pub parts: Vec<StrPart>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub enum StrPart {
    Text(String),
    Interp(Expr),
}

impl Str {
    /// The literal text, if the string has no interpolation.
    pub fn as_plain(&self) -> Option<String> {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                StrPart::Text(t) => out.push_str(t),
                StrPart::Interp(_) => return None,
            }
        }
        Some(out)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnaryOp {
    Not,
    Neg,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BinaryOp {
    Or,
    And,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    In,
    NotIn,
    Add,
    Sub,
    Mul,
    Div,
    /// `a ?? b`: `b` where `a` has no data.
    Coalesce,
}

impl BinaryOp {
    /// The comparison with its sides swapped (`c < x` is `x > c`); None for
    /// an operator that is not a comparison.
    pub fn mirrored(self) -> Option<BinaryOp> {
        Some(match self {
            BinaryOp::Gt => BinaryOp::Lt,
            BinaryOp::Ge => BinaryOp::Le,
            BinaryOp::Lt => BinaryOp::Gt,
            BinaryOp::Le => BinaryOp::Ge,
            BinaryOp::Eq | BinaryOp::Ne => self,
            _ => return None,
        })
    }

    pub fn symbol(self) -> &'static str {
        match self {
            BinaryOp::Or => "or",
            BinaryOp::And => "and",
            BinaryOp::Eq => "==",
            BinaryOp::Ne => "!=",
            BinaryOp::Lt => "<",
            BinaryOp::Le => "<=",
            BinaryOp::Gt => ">",
            BinaryOp::Ge => ">=",
            BinaryOp::In => "in",
            BinaryOp::NotIn => "not in",
            BinaryOp::Add => "+",
            BinaryOp::Sub => "-",
            BinaryOp::Mul => "*",
            BinaryOp::Div => "/",
            BinaryOp::Coalesce => "??",
        }
    }

    /// Binding strength; higher binds tighter. Matches the Pratt table in `parse`.
    pub fn precedence(self) -> u8 {
        match self {
            BinaryOp::Or => 1,
            BinaryOp::And => 2,
            BinaryOp::Eq
            | BinaryOp::Ne
            | BinaryOp::Lt
            | BinaryOp::Le
            | BinaryOp::Gt
            | BinaryOp::Ge
            | BinaryOp::In
            | BinaryOp::NotIn => 4,
            BinaryOp::Coalesce => 5,
            BinaryOp::Add | BinaryOp::Sub => 6,
            BinaryOp::Mul | BinaryOp::Div => 7,
        }
    }

    pub fn is_comparison(self) -> bool {
        self.precedence() == 4
    }
}

impl UnaryOp {
    /// `not` binds looser than comparisons, `-` tighter than `*`.
    pub fn precedence(self) -> u8 {
        match self {
            UnaryOp::Not => 3,
            UnaryOp::Neg => 8,
        }
    }
}
