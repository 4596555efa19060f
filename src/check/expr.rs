//! Expressions: names resolved, types and units checked, constants folded.

use super::{Checker, codes, kinds};
use crate::diagnostic::{Diagnostic, did_you_mean};
use crate::ir::{self, ExprKind, Field, Kind, MapKind, MetricId, Type, Value};
use crate::source::Span;
use crate::syntax::ast::{self, Dimension};

/// What an expression reads, gathered while lowering it.
#[derive(Default, Debug, Clone)]
pub struct Scope {
    /// Kinds named by paths, with where.
    pub kinds: Vec<(Kind, Span)>,
    pub metrics: Vec<MetricId>,
    /// Where `namespace.…` was read, if anywhere.
    pub namespace: Option<Span>,
}

impl Scope {
    fn absorb(&mut self, t: &Typed) {
        self.kinds.extend(t.kinds.iter().copied());
        for m in &t.metrics {
            if !self.metrics.contains(m) {
                self.metrics.push(*m);
            }
        }
        self.namespace = self.namespace.or(t.namespace);
    }
}

/// A checked `let`, with what it reads.
#[derive(Debug, Clone)]
pub struct Typed {
    pub expr: ir::Expr,
    pub kinds: Vec<(Kind, Span)>,
    pub metrics: Vec<MetricId>,
    pub namespace: Option<Span>,
    /// Depth of `expr`, which lets may make deeper than their source.
    pub depth: usize,
    /// Nodes of `expr`, which lets may make far more than their source.
    pub nodes: usize,
}

/// The depth and the number of nodes of an IR tree.
pub fn measure(e: &ir::Expr) -> (usize, usize) {
    e.children()
        .map(measure)
        .fold((1, 1), |(d, n), (cd, cn)| (d.max(cd + 1), n + cn))
}

/// Most work compared for "did you mean" in one check, in bytes × bytes
/// (one unit per pair of bytes of an unknown name and a candidate): unknown
/// names against user lets and metrics are quadratic in both their number
/// and their length, so past this the help is generic.
const MAX_SUGGEST: usize = 1 << 26;
/// Candidates whose length differs from the unknown name's by more than
/// this many bytes are not suggested, and cost nothing.
const MAX_LENGTH_GAP: usize = 16;
/// Most names listed in a help text.
const MAX_LISTED: usize = 24;

/// Most IR nodes that uses of lets may copy in one check: each use copies
/// the let's expression, so lets of lets grow exponentially.
const MAX_INLINED: usize = 1 << 20;

/// The user names (lets, metrics) that "did you mean" may compare with
/// `name`, within a check's budget of [`MAX_SUGGEST`] units, `spent` so far:
/// each candidate looked at costs one unit; those of a length far from
/// `name`'s are skipped, and the rest cost `name.len() × candidate.len()`
/// more each. Past the budget, none.
fn affordable<'c>(
    spent: &mut usize,
    name: &str,
    candidates: impl IntoIterator<Item = &'c str>,
) -> Vec<&'c str> {
    let mut near = Vec::new();
    for c in candidates {
        *spent = spent.saturating_add(1);
        if c.len().abs_diff(name.len()) <= MAX_LENGTH_GAP {
            *spent = spent.saturating_add(name.len().max(1).saturating_mul(c.len().max(1)));
            near.push(c);
        }
        if *spent > MAX_SUGGEST {
            return Vec::new();
        }
    }
    near
}

fn node(kind: ExprKind, ty: Type, span: Span) -> ir::Expr {
    ir::Expr { kind, ty, span }
}

/// How to write `n` in the unit of `ty`, for "write `50%`" help.
fn with_unit(text: &str, ty: &Type) -> Option<String> {
    match ty {
        Type::Percent => Some(format!("{text}%")),
        Type::Bytes => Some(format!("{text}Gi")),
        Type::Duration => Some(format!("{text}m")),
        _ => None,
    }
}

/// Deepest recursion while lowering, counting the lets an expression uses:
/// the parser bounds one expression, this bounds chains of lets too.
const MAX_DEPTH: usize = crate::syntax::parse::MAX_EXPR_DEPTH;

impl Checker<'_> {
    pub(super) fn expr(&mut self, e: &ast::Expr, scope: &mut Scope) -> Option<ir::Expr> {
        if self.depth >= MAX_DEPTH {
            self.error(
                Diagnostic::error(
                    crate::syntax::parse::codes::TOO_DEEP,
                    e.span,
                    format!(
                        "expression nests deeper than {MAX_DEPTH} levels, counting the lets it uses"
                    ),
                )
                .label("too deep")
                .help("use fewer lets defined through other lets"),
            );
            return None;
        }
        self.depth += 1;
        let lowered = self.lower(e, scope);
        self.depth -= 1;
        lowered
    }

    fn lower(&mut self, e: &ast::Expr, scope: &mut Scope) -> Option<ir::Expr> {
        let span = e.span;
        match &e.kind {
            ast::ExprKind::Error => None,
            ast::ExprKind::Number(n) => {
                let (ty, value) = match n.unit {
                    None => (Type::Number, n.value),
                    Some(u) => match u.dimension() {
                        Dimension::Percent => (Type::Percent, n.value),
                        Dimension::Bytes => (Type::Bytes, n.value * u.factor()),
                        Dimension::Duration => (Type::Duration, n.value * u.factor()),
                    },
                };
                if !value.is_finite() {
                    self.error(
                        Diagnostic::error(codes::RANGE, span, "this quantity is too large")
                            .label("too large")
                            .help("quantities must fit in a 64-bit float"),
                    );
                    return None;
                }
                Some(node(ExprKind::Const(Value::Num(value)), ty, span))
            }
            ast::ExprKind::Bool(b) => {
                Some(node(ExprKind::Const(Value::Bool(*b)), Type::Bool, span))
            }
            ast::ExprKind::Str(s) => match s.as_plain() {
                Some(text) => Some(node(ExprKind::Const(Value::Str(text)), Type::String, span)),
                None => {
                    self.error(
                        Diagnostic::error(
                            codes::INTERPOLATION,
                            s.span,
                            "interpolation works only in action messages",
                        )
                        .label("`{…}` in a plain string")
                        .help("compare with a literal string; write `{{` for a literal brace"),
                    );
                    None
                }
            },
            ast::ExprKind::Paren(inner) => self.expr(inner, scope),
            ast::ExprKind::List(items) => self.list(items, span, scope),
            ast::ExprKind::Path(p) => self.path(p, scope),
            ast::ExprKind::Call { name, args } => self.call(name, args, span, scope),
            ast::ExprKind::Unary { op, expr } => {
                let inner = self.expr(expr, scope)?;
                let fits = match op {
                    ast::UnaryOp::Not => inner.ty == Type::Bool,
                    ast::UnaryOp::Neg => inner.ty.is_quantity(),
                };
                if !fits {
                    let what = match op {
                        ast::UnaryOp::Not => "`not` needs a bool",
                        ast::UnaryOp::Neg => "`-` needs a number or quantity",
                    };
                    let help = match op {
                        ast::UnaryOp::Not => {
                            "`not` negates a condition, e.g. `not (pvc.usage > 80%)`"
                        }
                        ast::UnaryOp::Neg => "`-` negates a number, percent, size or duration",
                    };
                    self.error(
                        Diagnostic::error(
                            codes::OPERATOR,
                            span,
                            format!("{what}, not {}", a(&inner.ty)),
                        )
                        .label(a(&inner.ty))
                        .help(help),
                    );
                    return None;
                }
                let ty = inner.ty.clone();
                let kind = match op {
                    ast::UnaryOp::Not => ExprKind::Not(Box::new(inner)),
                    ast::UnaryOp::Neg => ExprKind::Neg(Box::new(inner)),
                };
                fold(node(kind, ty, span))
            }
            ast::ExprKind::Binary { op, lhs, rhs } => self.binary(*op, lhs, rhs, span, scope),
        }
    }

    fn list(&mut self, items: &[ast::Expr], span: Span, scope: &mut Scope) -> Option<ir::Expr> {
        let lowered: Vec<Option<ir::Expr>> = items.iter().map(|i| self.expr(i, scope)).collect();
        let lowered: Vec<ir::Expr> = lowered.into_iter().collect::<Option<_>>()?;
        let elem = lowered.first().map_or(Type::String, |e| e.ty.clone());
        for item in lowered.iter().skip(1) {
            if item.ty != elem {
                self.error(
                    Diagnostic::error(
                        codes::MISMATCH,
                        item.span,
                        format!(
                            "a list holds one type: this is {}, the first is {}",
                            a(&item.ty),
                            a(&elem)
                        ),
                    )
                    .label(a(&item.ty))
                    .also(lowered[0].span, a(&elem))
                    .help("make all items the same type"),
                );
                return None;
            }
        }
        fold(node(
            ExprKind::List(lowered),
            Type::List(Box::new(elem)),
            span,
        ))
    }

    fn call(
        &mut self,
        name: &ast::Ident,
        args: &[ast::Expr],
        span: Span,
        scope: &mut Scope,
    ) -> Option<ir::Expr> {
        let Some(func) = ir::Func::from_name(&name.name) else {
            let other = name.name.as_str();
            let actions = super::actions::NAMES;
            let names = ir::Func::ALL.map(ir::Func::name);
            let help = if actions.contains(&other) {
                format!("`{other}` is an action: it belongs after `then`")
            } else {
                did_you_mean(other, names)
                    .unwrap_or_else(|| format!("the functions are {}", names.join(", ")))
            };
            self.error(
                Diagnostic::error(
                    codes::UNKNOWN_FUNCTION,
                    name.span,
                    format!("unknown function `{other}`"),
                )
                .label("not a function")
                .help(help),
            );
            return None;
        };
        use ir::Func::*;
        let (lo, hi, want) = match func {
            Min | Max => (2, usize::MAX, "two or more arguments"),
            Clamp => (3, 3, "three arguments"),
            AtLeast => (2, 2, "two arguments"),
            _ => (1, 1, "one argument"),
        };
        if args.len() < lo || args.len() > hi {
            self.error(
                Diagnostic::error(
                    codes::ARGUMENTS,
                    span,
                    format!("`{}` takes {want}, not {}", name.name, args.len()),
                )
                .label(format!("{} argument(s)", args.len()))
                .help(format!("e.g. `{}`", func.signature())),
            );
            return None;
        }
        if func == AtLeast {
            return self.at_least(args, span, scope);
        }
        let lowered: Vec<Option<ir::Expr>> = args.iter().map(|a| self.expr(a, scope)).collect();
        let lowered: Vec<ir::Expr> = lowered.into_iter().collect::<Option<_>>()?;
        let ty = match func.conversion() {
            Some(ty) => {
                let arg = &lowered[0];
                if arg.ty != Type::String {
                    self.error(
                        Diagnostic::error(
                            codes::MISMATCH,
                            arg.span,
                            format!("`{}` converts a string; this is {}", name.name, a(&arg.ty)),
                        )
                        .label(a(&arg.ty))
                        .help(format!("e.g. `{}`", func.signature())),
                    );
                    return None;
                }
                // A constant that does not convert is a mistake in the policy.
                let why = match &arg.kind {
                    ExprKind::Const(Value::Str(text)) => match ir::convert(func, text) {
                        Ok(Some(_)) => None,
                        Ok(None) => Some("an empty string has no value".to_string()),
                        Err(why) => Some(why),
                    },
                    _ => None,
                };
                if let Some(why) = why {
                    self.error(
                        Diagnostic::error(codes::CONVERSION, arg.span, why)
                            .label("does not convert")
                            .help(format!("write the quantity itself: {}", example(&ty))),
                    );
                    return None;
                }
                ty
            }
            None => {
                let ty = lowered[0].ty.clone();
                let rounding = matches!(func, Ceil | Floor | Round);
                for arg in &lowered {
                    let fits = if rounding {
                        matches!(arg.ty, Type::Number | Type::Percent)
                    } else {
                        arg.ty.is_quantity() && arg.ty == ty
                    };
                    if !fits {
                        let (msg, help) = if rounding {
                            (
                                format!(
                                    "`{}` rounds a number or a percent; this is {}",
                                    name.name,
                                    a(&arg.ty)
                                ),
                                "round a ratio: `ceil(pvc.used / 10Gi)`, or a percent",
                            )
                        } else {
                            (
                                format!(
                                    "`{}` needs arguments of one quantity type; this is {}",
                                    name.name,
                                    a(&arg.ty)
                                ),
                                "give numbers, percents, bytes or durations, all of one type",
                            )
                        };
                        self.error(
                            Diagnostic::error(codes::MISMATCH, arg.span, msg)
                                .label(a(&arg.ty))
                                .help(help),
                        );
                        return None;
                    }
                }
                ty
            }
        };
        let folded = fold(node(
            ExprKind::Call {
                func,
                args: lowered,
            },
            ty,
            span,
        ));
        if folded.is_none() {
            self.error(
                Diagnostic::error(codes::RANGE, span, "this constant has no value")
                    .label("out of range")
                    .help("check the constants"),
            );
        }
        folded
    }

    /// `at_least(N, [c1, c2, ...])`, lowered to the arguments `N, c1, c2, ...`.
    fn at_least(&mut self, args: &[ast::Expr], span: Span, scope: &mut Scope) -> Option<ir::Expr> {
        let n = self.expr(&args[0], scope);
        let ast::ExprKind::List(items) = &args[1].kind else {
            self.error(
                Diagnostic::error(
                    codes::ARGUMENTS,
                    args[1].span,
                    "`at_least` takes a list of conditions in brackets",
                )
                .label("not a list")
                .help(
                    "e.g. `at_least(2, [pvc.usage > 80%, pvc.inodes_usage > 80%, pvc.age > 1h])`",
                ),
            );
            return None;
        };
        let conditions: Vec<Option<ir::Expr>> = items.iter().map(|i| self.expr(i, scope)).collect();
        let n = n?;
        let whole = match &n.kind {
            ExprKind::Const(Value::Num(v)) if n.ty == Type::Number => {
                (v.fract() == 0.0 && *v >= 0.0).then_some(*v)
            }
            _ => None,
        };
        let Some(whole) = whole else {
            self.error(
                Diagnostic::error(
                    codes::ARGUMENTS,
                    n.span,
                    "`at_least` counts with a constant whole number",
                )
                .label("not a constant whole number")
                .help("e.g. `at_least(2, [c1, c2, c3])`"),
            );
            return None;
        };
        let conditions: Vec<ir::Expr> = conditions.into_iter().collect::<Option<_>>()?;
        for c in &conditions {
            if c.ty != Type::Bool {
                self.error(
                    Diagnostic::error(
                        codes::MISMATCH,
                        c.span,
                        format!("`at_least` counts conditions; this is {}", a(&c.ty)),
                    )
                    .label(a(&c.ty))
                    .help("compare it: `pvc.usage > 80%`"),
                );
                return None;
            }
        }
        if whole as usize > conditions.len() {
            self.error(
                Diagnostic::warning(
                    codes::RANGE,
                    n.span,
                    format!(
                        "at least {whole} of {} conditions can never be true",
                        conditions.len()
                    ),
                )
                .label("more than the conditions")
                .help("count no more than the conditions in the list"),
            );
        }
        let mut lowered = vec![n];
        lowered.extend(conditions);
        fold(node(
            ExprKind::Call {
                func: ir::Func::AtLeast,
                args: lowered,
            },
            Type::Bool,
            span,
        ))
    }

    fn binary(
        &mut self,
        op: ast::BinaryOp,
        lhs: &ast::Expr,
        rhs: &ast::Expr,
        span: Span,
        scope: &mut Scope,
    ) -> Option<ir::Expr> {
        let l = self.expr(lhs, scope);
        let r = if matches!(op, ast::BinaryOp::In | ast::BinaryOp::NotIn)
            && matches!(&rhs.kind, ast::ExprKind::List(items) if items.is_empty())
        {
            l.as_ref().map(|l| {
                node(
                    ExprKind::Const(Value::List(Vec::new())),
                    Type::List(Box::new(l.ty.clone())),
                    rhs.span,
                )
            })
        } else {
            self.expr(rhs, scope)
        };
        let (l, r) = (l?, r?);
        let bin = op;
        let ty = match ir::result_type(bin, &l.ty, &r.ty) {
            Some(ty) => ty,
            None => {
                self.type_error(op, lhs, &l, rhs, &r);
                return None;
            }
        };
        let folded = fold(node(
            ExprKind::Binary {
                op: bin,
                lhs: Box::new(l),
                rhs: Box::new(r),
            },
            ty,
            span,
        ));
        if folded.is_none() {
            self.error(
                Diagnostic::error(codes::RANGE, span, "this constant has no value")
                    .label("division by zero, or out of range")
                    .help("check the constants"),
            );
        }
        folded
    }

    fn type_error(
        &mut self,
        op: ast::BinaryOp,
        lhs: &ast::Expr,
        l: &ir::Expr,
        rhs: &ast::Expr,
        r: &ir::Expr,
    ) {
        let sym = op.symbol();
        // A bare number where a quantity is expected: suggest the unit.
        let unit_help = |bare: &ast::Expr, other: &ir::Expr| match &bare.kind {
            ast::ExprKind::Number(n) if n.unit.is_none() => with_unit(&n.text, &other.ty)
                .map(|w| format!("the other side is {}; write `{w}`", a(&other.ty))),
            _ => None,
        };
        let help = unit_help(rhs, l)
            .or_else(|| unit_help(lhs, r))
            .unwrap_or_else(|| match op {
                ast::BinaryOp::And | ast::BinaryOp::Or => format!("`{sym}` joins two conditions"),
                ast::BinaryOp::In | ast::BinaryOp::NotIn => {
                    format!(
                        "`{sym}` tests membership in a list of the same type: `x in [\"a\", \"b\"]`"
                    )
                }
                ast::BinaryOp::Add | ast::BinaryOp::Sub
                    if matches!(
                        (&l.ty, &r.ty),
                        (Type::Bytes, Type::Percent) | (Type::Percent, Type::Bytes)
                    ) =>
                {
                    format!("a percent of a size is a product: `pvc.used {sym} 10% * pvc.capacity`")
                }
                ast::BinaryOp::Coalesce => {
                    "`??` gives a default of the same type: `bytes(pvc.annotations[\"limit\"]) ?? 100Gi`"
                        .into()
                }
                ast::BinaryOp::Mul => {
                    "multiply a quantity by a number, or bytes by a percent".into()
                }
                ast::BinaryOp::Div => {
                    "divide a quantity by a number, or two of the same quantity".into()
                }
                _ => "both sides need the same type and unit".into(),
            });
        let code = if op.is_comparison() {
            codes::MISMATCH
        } else {
            codes::OPERATOR
        };
        self.error(
            Diagnostic::error(
                code,
                rhs.span,
                format!("cannot apply `{sym}` to {} and {}", l.ty, r.ty),
            )
            .label(a(&r.ty))
            .also(lhs.span, a(&l.ty))
            .help(help),
        );
    }

    fn path(&mut self, p: &ast::Path, scope: &mut Scope) -> Option<ir::Expr> {
        let root = &p.segments[0];
        let span = p.span;
        if let Some(kind) = Kind::from_name(&root.name) {
            scope.kinds.push((kind, span));
            return self.object_path(kind, p, scope);
        }
        if root.name == "namespace" {
            scope.namespace = Some(span);
            return self.namespace_path(p);
        }
        if let Some(value) = self.let_value(&root.name) {
            if let Some(entry) = self.env.lets.get_mut(&root.name)
                && !entry.used
            {
                entry.used = true;
                self.record(|| super::Undo::LetUsed(root.name.clone()));
            }
            let typed = value?;
            if p.segments.len() > 1 {
                self.error(
                    Diagnostic::error(
                        codes::NOT_A_VALUE,
                        p.segments[1].span,
                        format!("`{}` is a `let`, it has no fields", root.name),
                    )
                    .label("no field here")
                    .help(format!("use `{}` alone", root.name)),
                );
                return None;
            }
            if self.depth + typed.depth > MAX_DEPTH {
                self.error(
                    Diagnostic::error(
                        crate::syntax::parse::codes::TOO_DEEP,
                        span,
                        format!(
                            "with `{}`, the expression nests deeper than {MAX_DEPTH} levels",
                            root.name
                        ),
                    )
                    .label("too deep")
                    .help("use fewer lets defined through other lets"),
                );
                return None;
            }
            let before = self.env.inlined;
            self.env.inlined = before.saturating_add(typed.nodes);
            if self.env.inlined > MAX_INLINED {
                if before <= MAX_INLINED {
                    self.error(
                        Diagnostic::error(
                            crate::syntax::parse::codes::TOO_LONG,
                            span,
                            format!("lets expand to more than {MAX_INLINED} terms"),
                        )
                        .label(format!("`{}` has {} terms", root.name, typed.nodes))
                        .help("each use of a let copies its expression; use lets of lets less"),
                    );
                }
                return None;
            }
            scope.absorb(&typed);
            let mut e = typed.expr;
            e.span = span;
            return Some(e);
        }
        // `usage` for `pvc.usage`: a metric or field written without its kind.
        let mut kinds: Vec<Kind> = Kind::ALL
            .into_iter()
            .filter(|&k| {
                self.env.metric_index.contains_key(&(k, root.name.clone()))
                    || kinds::field(k, &root.name).is_some()
            })
            .collect();
        // Prefer the kind the expression already reads: `pvc.name`, not `pod.name`.
        if kinds
            .iter()
            .any(|k| scope.kinds.iter().any(|(s, _)| s == k))
        {
            kinds.retain(|k| scope.kinds.iter().any(|(s, _)| s == k));
        }
        kinds.truncate(3);
        let qualified: Vec<String> = kinds
            .iter()
            .map(|k| format!("`{k}.{}`", root.name))
            .collect();
        let guess = if !qualified.is_empty() && p.segments.len() == 1 {
            Some(format!("did you mean {}?", qualified.join(" or ")))
        } else {
            let mut candidates = affordable(
                &mut self.env.suggested,
                &root.name,
                self.env.lets.keys().map(String::as_str),
            );
            candidates.extend(Kind::ALL.map(Kind::name));
            candidates.push("namespace");
            did_you_mean(&root.name, candidates)
        };
        let help = guess.unwrap_or_else(|| {
            "paths start with a kind (`pvc.usage`), `namespace`, or a `let` name".into()
        });
        self.error(
            Diagnostic::error(
                codes::UNKNOWN_NAME,
                root.span,
                format!("unknown name `{}`", root.name),
            )
            .label("not defined")
            .help(help),
        );
        None
    }

    fn object_path(&mut self, kind: Kind, p: &ast::Path, scope: &mut Scope) -> Option<ir::Expr> {
        let segs = &p.segments;
        let Some(second) = segs.get(1) else {
            self.error(
                Diagnostic::error(
                    codes::NOT_A_VALUE,
                    p.span,
                    format!("`{kind}` alone is not a value"),
                )
                .label("an object, not a value")
                .help(format!("name a field or metric, e.g. `{kind}.name`")),
            );
            return None;
        };
        if let Some(map) = map_kind(&second.name) {
            return self.label_path(ir::Scope::Object, map, p);
        }
        if kind == Kind::Pvc && second.name == "storageclass" && !second.quoted {
            return self.class_path(p);
        }
        if segs.len() > 2 {
            self.error(
                Diagnostic::error(
                    codes::NOT_A_VALUE,
                    segs[2].span,
                    format!("`{kind}.{}` has no fields", second.name),
                )
                .label("nothing to select")
                .help("only `labels` and `annotations` take a key"),
            );
            return None;
        }
        if let Some((field, ty)) = kinds::field(kind, &second.name) {
            return Some(node(ExprKind::Field(field), ty, p.span));
        }
        if let Some(&id) = self.env.metric_index.get(&(kind, second.name.clone())) {
            if !scope.metrics.contains(&id) {
                scope.metrics.push(id);
            }
            let ty = self.env.metrics[id.0 as usize].ir.ty.clone();
            return Some(node(ExprKind::Metric(id), ty, p.span));
        }
        if self
            .env
            .broken_metrics
            .contains(&(kind, second.name.clone()))
        {
            // Its binding was reported; the use is not unknown.
            return None;
        }
        let mut candidates: Vec<String> = kinds::fields(kind)
            .iter()
            .map(|(n, _, _)| n.to_string())
            .collect();
        candidates.extend(["labels".to_string(), "annotations".to_string()]);
        let near = affordable(
            &mut self.env.suggested,
            &second.name,
            self.env
                .metric_index
                .keys()
                .filter(|(k, _)| *k == kind)
                .map(|(_, n)| n.as_str()),
        );
        candidates.extend(near.into_iter().map(str::to_string));
        candidates.sort();
        let help = did_you_mean(&second.name, candidates.iter().map(String::as_str))
            .map(|h| {
                h.replace('`', "")
                    .replace("did you mean ", &format!("did you mean `{kind}."))
                    .replace('?', "`?")
            })
            .unwrap_or_else(|| {
                if candidates.len() > MAX_LISTED {
                    candidates.truncate(MAX_LISTED);
                    candidates.push("…".into());
                }
                format!(
                    "{kind} has: {}; a label is read as `{kind}.labels.{}`",
                    candidates.join(", "),
                    second.name
                )
            });
        self.error(
            Diagnostic::error(
                codes::UNKNOWN_FIELD,
                second.span,
                format!("{kind} has no field or metric `{}`", second.name),
            )
            .label("unknown")
            .help(help),
        );
        None
    }

    /// `pvc.storageclass.provisioner`, `pvc.storageclass.labels.tier`.
    fn class_path(&mut self, p: &ast::Path) -> Option<ir::Expr> {
        let segs = &p.segments;
        let names: Vec<&str> = kinds::STORAGE_CLASS.iter().map(|(n, _, _)| *n).collect();
        let Some(third) = segs.get(2) else {
            self.error(
                Diagnostic::error(
                    codes::NOT_A_VALUE,
                    p.span,
                    "`pvc.storageclass` alone is not a value",
                )
                .label("an object, not a value")
                .help(format!(
                    "name one of its fields: {}, labels, annotations",
                    names.join(", ")
                )),
            );
            return None;
        };
        if let Some(map) = map_kind(&third.name) {
            // Read as the path `storageclass.labels.KEY`.
            let inner = ast::Path {
                segments: segs[1..].to_vec(),
                span: p.span,
            };
            let mut e = self.label_path(ir::Scope::StorageClass, map, &inner)?;
            e.span = p.span;
            return Some(e);
        }
        match kinds::STORAGE_CLASS
            .iter()
            .find(|(n, _, _)| *n == third.name)
        {
            Some((_, field, ty)) if segs.len() == 3 => {
                Some(node(ExprKind::Field(*field), ty.clone(), p.span))
            }
            Some(_) => {
                self.error(
                    Diagnostic::error(
                        codes::NOT_A_VALUE,
                        segs[3].span,
                        format!("`pvc.storageclass.{}` has no fields", third.name),
                    )
                    .label("nothing to select")
                    .help("only `labels` and `annotations` take a key"),
                );
                None
            }
            None => {
                let mut candidates = names.clone();
                candidates.extend(["labels", "annotations"]);
                let help = did_you_mean(&third.name, candidates.iter().copied())
                    .unwrap_or_else(|| format!("a StorageClass has: {}", candidates.join(", ")));
                self.error(
                    Diagnostic::error(
                        codes::UNKNOWN_FIELD,
                        third.span,
                        format!("a StorageClass has no field `{}`", third.name),
                    )
                    .label("unknown")
                    .help(help),
                );
                None
            }
        }
    }

    fn namespace_path(&mut self, p: &ast::Path) -> Option<ir::Expr> {
        let segs = &p.segments;
        match segs.get(1).map(|s| s.name.as_str()) {
            Some("name") if segs.len() == 2 => Some(node(
                ExprKind::Field(Field::NamespaceName),
                Type::String,
                p.span,
            )),
            Some(m) if map_kind(m).is_some() => {
                self.label_path(ir::Scope::Namespace, map_kind(m)?, p)
            }
            _ => {
                let at = segs.get(1).map_or(p.span, |s| s.span);
                // `namespace.tier` is most likely the label `tier`.
                let help = match segs.get(1) {
                    Some(s) if segs.len() == 2 && !s.quoted => {
                        format!("did you mean the label `namespace.labels.{}`?", s.name)
                    }
                    _ => "e.g. `namespace.labels.tier`".into(),
                };
                self.error(
                    Diagnostic::error(
                        codes::UNKNOWN_FIELD,
                        at,
                        "a namespace has `name`, `labels` and `annotations`",
                    )
                    .label("not a namespace field")
                    .help(help),
                );
                None
            }
        }
    }

    fn label_path(&mut self, of: ir::Scope, map: MapKind, p: &ast::Path) -> Option<ir::Expr> {
        let segs = &p.segments;
        let which = &segs[1].name;
        match segs.get(2) {
            Some(key) if segs.len() == 3 => Some(node(
                ExprKind::Label {
                    of,
                    map,
                    key: key.name.clone(),
                },
                Type::String,
                p.span,
            )),
            Some(first) if segs.len() > 3 => {
                let key: Vec<&str> = segs[2..].iter().map(|s| s.name.as_str()).collect();
                let whole = first.span.to(segs[segs.len() - 1].span);
                self.error(
                    Diagnostic::error(codes::NOT_A_VALUE, whole, "a label key is one name")
                        .label(format!("read as {} keys", key.len()))
                        .help(format!(
                            "for keys with dots, quote them: `{}[\"{}\"]`",
                            segs[..2]
                                .iter()
                                .map(|s| s.name.as_str())
                                .collect::<Vec<_>>()
                                .join("."),
                            key.join(".")
                        )),
                );
                None
            }
            _ => {
                self.error(
                    Diagnostic::error(codes::NOT_A_VALUE, p.span, format!("`{which}` needs a key"))
                        .label("a map, not a value")
                        .help(format!(
                            "e.g. `.{which}.app` or `.{which}[\"app.kubernetes.io/name\"]`"
                        )),
                );
                None
            }
        }
    }

    // ------------------------------------------------------------ helpers for clauses

    /// A boolean condition.
    pub(super) fn condition(
        &mut self,
        e: &ast::Expr,
        scope: &mut Scope,
        what: &str,
    ) -> Option<ir::Expr> {
        let x = self.expr(e, scope)?;
        if x.ty != Type::Bool {
            self.error(
                Diagnostic::error(
                    codes::EXPECTED,
                    e.span,
                    format!("{what} needs a condition, not {}", a(&x.ty)),
                )
                .label(a(&x.ty))
                .help("compare it, e.g. `pvc.usage > 80%`"),
            );
            return None;
        }
        Some(x)
    }

    /// A constant of one of the given types, e.g. an action argument.
    pub(super) fn constant(
        &mut self,
        e: &ast::Expr,
        types: &[Type],
        what: &str,
    ) -> Option<(Type, Value)> {
        let mut scope = Scope::default();
        let x = self.expr(e, &mut scope)?;
        let ExprKind::Const(value) = x.kind else {
            self.error(
                Diagnostic::error(
                    codes::NOT_CONSTANT,
                    e.span,
                    format!("{what} must be a constant"),
                )
                .label("depends on the object")
                .help("write a literal such as `5m` or `400Gi`, or a `let` of one"),
            );
            return None;
        };
        if !types.contains(&x.ty) {
            self.expected(e, &x.ty, types, what);
            return None;
        }
        Some((x.ty, value))
    }

    /// An argument of one of the given types over the subject: a constant
    /// (folded), or an expression the engine computes at firing time.
    pub(super) fn typed(
        &mut self,
        e: &ast::Expr,
        types: &[Type],
        what: &str,
        scope: &mut Scope,
    ) -> Option<ir::Expr> {
        let x = self.expr(e, scope)?;
        if !types.contains(&x.ty) {
            self.expected(e, &x.ty, types, what);
            return None;
        }
        Some(x)
    }

    fn expected(&mut self, e: &ast::Expr, ty: &Type, types: &[Type], what: &str) {
        {
            let names: Vec<String> = types.iter().map(a).collect();
            let examples: Vec<&str> = types.iter().map(example).collect();
            let bare = match &e.kind {
                ast::ExprKind::Number(n) if n.unit.is_none() => {
                    types.iter().find_map(|t| with_unit(&n.text, t))
                }
                _ => None,
            };
            let help = match bare {
                Some(w) => format!("give it a unit: `{w}`"),
                None => format!("write {}", examples.join(" or ")),
            };
            self.error(
                Diagnostic::error(
                    codes::EXPECTED,
                    e.span,
                    format!("{what} must be {}, not {}", names.join(" or "), a(ty)),
                )
                .label(a(ty))
                .help(help),
            );
        }
    }

    /// A constant duration of zero or more, in seconds.
    pub(super) fn duration(&mut self, e: &ast::Expr, what: &str) -> Option<f64> {
        let (_, v) = self.constant(e, &[Type::Duration], what)?;
        let secs = v.as_num()?;
        if secs < 0.0 {
            self.error(
                Diagnostic::error(codes::RANGE, e.span, format!("{what} cannot be negative"))
                    .label("negative")
                    .help("use a duration of zero or more"),
            );
            return None;
        }
        Some(secs)
    }
}

/// A type with its article, for messages: `a percent`, `bytes`, `a list of strings`.
pub(super) fn a(ty: &Type) -> String {
    fn plural(ty: &Type) -> String {
        match ty {
            Type::Bytes => "bytes".into(),
            Type::List(t) => format!("lists of {}", plural(t)),
            t => format!("{t}s"),
        }
    }
    match ty {
        Type::Bytes => "bytes".into(),
        Type::List(t) => format!("a list of {}", plural(t)),
        t => format!("a {t}"),
    }
}

/// A literal of a type, for help text.
fn example(ty: &Type) -> &'static str {
    match ty {
        Type::Bool => "`true`",
        Type::Number => "a number like `3`",
        Type::Percent => "a percent like `50%`",
        Type::Bytes => "a size like `400Gi`",
        Type::Duration => "a duration like `5m`",
        Type::String => "a string like `\"fast-iops\"`",
        Type::List(_) => "a list like `[\"a\", \"b\"]`",
    }
}

fn map_kind(name: &str) -> Option<MapKind> {
    match name {
        "labels" => Some(MapKind::Labels),
        "annotations" => Some(MapKind::Annotations),
        _ => None,
    }
}

/// Folds an expression whose operands are all constants. None when the
/// constant has no value (division by zero).
fn fold(e: ir::Expr) -> Option<ir::Expr> {
    // A constant always has data, so its default is never used.
    if let ExprKind::Binary {
        op: ir::BinOp::Coalesce,
        lhs,
        ..
    } = &e.kind
        && is_const(lhs)
    {
        return Some(ir::Expr {
            span: e.span,
            ..(**lhs).clone()
        });
    }
    let all_const = match &e.kind {
        ExprKind::Not(x) | ExprKind::Neg(x) => is_const(x),
        ExprKind::Binary { lhs, rhs, .. } => is_const(lhs) && is_const(rhs),
        ExprKind::Call { args, .. } | ExprKind::List(args) => args.iter().all(is_const),
        _ => false,
    };
    if !all_const {
        return Some(e);
    }
    let value = ir::eval_const(&e)?;
    Some(ir::Expr {
        kind: ExprKind::Const(value),
        ty: e.ty,
        span: e.span,
    })
}

fn is_const(e: &ir::Expr) -> bool {
    matches!(e.kind, ExprKind::Const(_))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestion_budget_counts_bytes_compared() {
        let long = "a".repeat(250_000);
        let mut spent = 0;
        // Same length: compared, so its cost is bytes × bytes, past the budget.
        assert!(affordable(&mut spent, &long, [long.as_str()]).is_empty());
        assert!(spent > MAX_SUGGEST);
        // A length far from the name's costs one unit and is skipped.
        let mut spent = 0;
        assert!(affordable(&mut spent, &long, ["usage"]).is_empty());
        assert_eq!(spent, 1);
        let mut spent = 0;
        assert_eq!(affordable(&mut spent, "usag", ["usage"]), ["usage"]);
        assert_eq!(spent, 1 + 4 * 5);
    }
}
