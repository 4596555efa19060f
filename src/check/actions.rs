//! Actions: names, the kinds they apply to, arguments and their units.

use super::expr::Scope;
use super::{Checker, codes};
use crate::diagnostic::{Diagnostic, did_you_mean};
use crate::ir::{self, ActionKind, ArgSlot, ExprKind, Kind, Template, TemplatePart, Type};
use crate::source::Span;
use crate::syntax::ast::{self, Sign};

pub const NAMES: [&str; 9] = [
    "resize",
    "set_class",
    "scale",
    "evict",
    "cordon",
    "annotate",
    "label",
    "event",
    "notify",
];

/// The kinds an action applies to; None for every kind.
fn kinds_of(name: &str) -> Option<&'static [Kind]> {
    match name {
        "resize" | "set_class" => Some(&[Kind::Pvc]),
        "scale" => Some(&[Kind::Deployment, Kind::StatefulSet]),
        "evict" => Some(&[Kind::Pod]),
        "cordon" => Some(&[Kind::Node]),
        _ => None,
    }
}

/// The one kind an action implies, for kind inference.
pub fn only_kind(name: &str) -> Option<Kind> {
    match kinds_of(name) {
        Some([k]) => Some(*k),
        _ => None,
    }
}

/// Arguments sorted into positional and named.
struct Args<'a> {
    positional: Vec<&'a ast::Arg>,
    /// In the order written; an action takes a handful, so a list is faster
    /// than a map.
    named: Vec<(&'a str, &'a ast::Arg)>,
}

impl<'a> Args<'a> {
    fn named(&self, name: &str) -> Option<&'a ast::Arg> {
        self.named.iter().find(|(n, _)| *n == name).map(|(_, a)| *a)
    }
}

const MAX_BYTES: f64 = 9.2e18;

impl Checker<'_> {
    pub(super) fn actions(
        &mut self,
        then: &ast::Then,
        kind: Kind,
        scope: &mut Scope,
    ) -> Option<Vec<ir::Action>> {
        let mut out = Vec::new();
        let mut ok = true;
        for a in &then.actions {
            match self.action(a, kind, scope, &out) {
                Some(x) => out.push(x),
                None => ok = false,
            }
        }
        ok.then_some(out)
    }

    fn action(
        &mut self,
        a: &ast::Action,
        kind: Kind,
        scope: &mut Scope,
        earlier: &[ir::Action],
    ) -> Option<ir::Action> {
        let name = a.name.name.as_str();
        let mut computed = Vec::new();
        if !NAMES.contains(&name) {
            let help = did_you_mean(name, NAMES)
                .unwrap_or_else(|| format!("actions are {}", NAMES.join(", ")));
            self.error(
                Diagnostic::error(
                    codes::UNKNOWN_ACTION,
                    a.name.span,
                    format!("unknown action `{name}`"),
                )
                .label("not an action")
                .help(help),
            );
            return None;
        }
        if let Some(kinds) = kinds_of(name)
            && !kinds.contains(&kind)
        {
            {
                let names: Vec<&str> = kinds.iter().map(|k| k.name()).collect();
                self.error(
                    Diagnostic::error(
                        codes::ACTION_KIND,
                        a.name.span,
                        format!("`{name}` acts on {}, not on {kind}", names.join(" and ")),
                    )
                    .label(format!("not for a {kind}"))
                    .help(format!(
                        "a {kind} policy can use: {}",
                        actions_for(kind).join(", ")
                    )),
                );
                return None;
            }
        }
        let kind = match name {
            "resize" => {
                ActionKind::Resize(self.resize(a, &mut Computing::new(scope, &mut computed))?)
            }
            "scale" => ActionKind::Scale(self.scale(a, &mut Computing::new(scope, &mut computed))?),
            "set_class" => {
                let args = self.args(a, &["class"], &[])?;
                let class = self.string(a, &args, 0, "class")?;
                ActionKind::SetClass { class }
            }
            "evict" | "cordon" => {
                self.args(a, &[], &[])?;
                if name == "evict" {
                    ActionKind::Evict
                } else {
                    ActionKind::Cordon
                }
            }
            "annotate" | "label" => {
                let args = self.args(a, &["key", "value"], &[])?;
                let key = self.string(a, &args, 0, "key")?;
                self.check_key(&key, args.positional[0].span)?;
                let value = self.template(a, &args, 1, "value", scope, earlier)?;
                if name == "label" {
                    ActionKind::Label { key, value }
                } else {
                    ActionKind::Annotate { key, value }
                }
            }
            "event" => {
                let args = self.args(a, &["reason", "message"], &[])?;
                let reason = self.string(a, &args, 0, "reason")?;
                if !is_pascal(&reason) {
                    self.error(
                        Diagnostic::error(
                            codes::NAME_FORMAT,
                            args.positional[0].span,
                            "an event reason is PascalCase",
                        )
                        .label("not PascalCase")
                        .help(
                            "e.g. `\"VolumeAlmostFull\"`: letters and digits, starting upper-case",
                        ),
                    );
                    return None;
                }
                let message = self.template(a, &args, 1, "message", scope, earlier)?;
                ActionKind::Event { reason, message }
            }
            _ => {
                let args = self.args(a, &["receiver", "message"], &[])?;
                let receiver = self.string(a, &args, 0, "receiver")?;
                let message = self.template(a, &args, 1, "message", scope, earlier)?;
                ActionKind::Notify { receiver, message }
            }
        };
        Some(ir::Action {
            kind,
            computed: computed
                .into_iter()
                .map(|(slot, expr)| ir::Computed { slot, expr })
                .collect(),
            span: a.span,
        })
    }

    /// Sorts arguments; `positional` names the positional slots (all required
    /// unless the action checks otherwise), `named` the allowed names.
    fn args<'a>(
        &mut self,
        a: &'a ast::Action,
        positional: &[&str],
        named: &[&str],
    ) -> Option<Args<'a>> {
        let mut out = Args {
            positional: Vec::new(),
            named: Vec::new(),
        };
        let mut ok = true;
        let name = &a.name.name;
        for arg in &a.args {
            match &arg.name {
                None => {
                    if !out.named.is_empty() {
                        self.error(
                            Diagnostic::error(
                                codes::ARGUMENTS,
                                arg.span,
                                "positional argument after a named one",
                            )
                            .label("positional")
                            .help("put positional arguments first"),
                        );
                        ok = false;
                    }
                    out.positional.push(arg);
                }
                Some(n) => {
                    if !named.contains(&n.name.as_str()) {
                        let help =
                            did_you_mean(&n.name, named.iter().copied()).unwrap_or_else(|| {
                                if named.is_empty() {
                                    format!("`{name}` takes no named arguments")
                                } else {
                                    format!("`{name}` takes {}", named.join(", "))
                                }
                            });
                        self.error(
                            Diagnostic::error(
                                codes::UNKNOWN_ARGUMENT,
                                n.span,
                                format!("`{name}` has no argument `{}`", n.name),
                            )
                            .label("unknown argument")
                            .help(help),
                        );
                        ok = false;
                    } else if let Some(prev) = out.named(&n.name) {
                        self.error(
                            Diagnostic::error(
                                codes::ARGUMENTS,
                                n.span,
                                format!("`{}` is given twice", n.name),
                            )
                            .label("second time")
                            .also(prev.span, "first time")
                            .help("give each argument once"),
                        );
                        ok = false;
                    } else {
                        out.named.push((&n.name, arg));
                    }
                }
            }
        }
        let required = if name == "resize" || name == "scale" {
            0
        } else {
            positional.len()
        };
        if out.positional.len() > positional.len() {
            let extra = out.positional[positional.len()];
            self.error(
                Diagnostic::error(
                    codes::ARGUMENTS,
                    extra.span,
                    format!(
                        "`{name}` takes {} positional argument(s), not {}",
                        positional.len(),
                        out.positional.len()
                    ),
                )
                .label("one too many")
                .help(signature(name)),
            );
            ok = false;
        } else if out.positional.len() < required {
            let missing = positional[out.positional.len()];
            self.error(
                Diagnostic::error(
                    codes::MISSING_ARGUMENT,
                    a.span,
                    format!("`{name}` needs a {missing}"),
                )
                .label(format!("no {missing}"))
                .help(signature(name)),
            );
            ok = false;
        }
        ok.then_some(out)
    }

    fn string(&mut self, a: &ast::Action, args: &Args, i: usize, what: &str) -> Option<String> {
        let arg = args.positional[i];
        self.no_sign(arg)?;
        let (_, v) = self.constant(
            &arg.value,
            &[Type::String],
            &format!("the {what} of `{}`", a.name.name),
        )?;
        let text = v.as_str()?.to_string();
        if text.is_empty() {
            self.error(
                Diagnostic::error(codes::RANGE, arg.span, format!("the {what} is empty"))
                    .label("empty")
                    .help(signature(&a.name.name)),
            );
            return None;
        }
        Some(text)
    }

    fn template(
        &mut self,
        a: &ast::Action,
        args: &Args,
        i: usize,
        what: &str,
        scope: &mut Scope,
        earlier: &[ir::Action],
    ) -> Option<Template> {
        let arg = args.positional[i];
        self.no_sign(arg)?;
        let ast::ExprKind::Str(s) = &arg.value.kind else {
            self.error(
                Diagnostic::error(
                    codes::EXPECTED,
                    arg.span,
                    format!("the {what} of `{}` is a string", a.name.name),
                )
                .label("not a string")
                .help("write a string; `{pvc.name}` inside it inserts a value"),
            );
            return None;
        };
        let mut parts = Vec::new();
        let mut ok = true;
        for part in &s.parts {
            match part {
                ast::StrPart::Text(t) => parts.push(TemplatePart::Text(t.clone())),
                ast::StrPart::Interp(e) => {
                    let p = e;
                    match did_named(e) {
                        Some(Ok(did)) => {
                            match self.did(did, e.span, earlier) {
                                Some(d) => parts.push(TemplatePart::Did(d)),
                                None => ok = false,
                            }
                            continue;
                        }
                        Some(Err(text)) => {
                            let names = ir::Did::ALL.map(ir::Did::name);
                            let help = did_you_mean(&text, names).unwrap_or_else(|| {
                                format!("what an action did is {}", names.join(", "))
                            });
                            self.error(
                                Diagnostic::error(
                                    codes::INTERPOLATION,
                                    e.span,
                                    format!("`{text}` is not something an action did"),
                                )
                                .label("not an action's result")
                                .help(help),
                            );
                            ok = false;
                            continue;
                        }
                        None => {}
                    }
                    match self.expr(e, scope) {
                        Some(x) if matches!(x.ty, Type::List(_)) => {
                            self.error(
                                Diagnostic::error(
                                    codes::INTERPOLATION,
                                    p.span,
                                    "a list cannot be interpolated",
                                )
                                .label("a list")
                                .help("interpolate a single value"),
                            );
                            ok = false;
                        }
                        Some(x) => parts.push(TemplatePart::Value(x)),
                        None => ok = false,
                    }
                }
            }
        }
        ok.then_some(Template { parts })
    }

    /// `{resize.to}` needs a resize earlier in the same `then` list.
    fn did(&mut self, did: ir::Did, span: Span, earlier: &[ir::Action]) -> Option<ir::Did> {
        let action = did.action();
        if earlier.iter().any(|a| a.kind.action() == action) {
            return Some(did);
        }
        let name = action.name();
        self.error(
            Diagnostic::error(
                codes::INTERPOLATION,
                span,
                format!("`{{{}}}` names a `{name}` that this `then` list has not done", did.name()),
            )
            .label(format!("no `{name}` before this action"))
            .help(format!(
                "put the `{name}(…)` first in the list: `then {name}(…), notify(\"oncall\", \"… {{{}}}\")`",
                did.name()
            )),
        );
        None
    }

    fn no_sign(&mut self, arg: &ast::Arg) -> Option<()> {
        if let Some((_, span)) = arg.sign {
            self.error(
                Diagnostic::error(codes::SIGN, span, "this argument takes no sign")
                    .label("unexpected sign")
                    .help("only steps like `+50%` or `-1` are signed"),
            );
            return None;
        }
        Some(())
    }

    /// A size argument: a positive constant, or an expression computed at
    /// firing time (a stand-in of 1 byte until then).
    fn bytes(
        &mut self,
        arg: &ast::Arg,
        what: &str,
        slot: ArgSlot,
        c: &mut Computing,
    ) -> Option<u64> {
        self.no_sign(arg)?;
        let x = self.typed(&arg.value, &[Type::Bytes], what, c.scope)?;
        match x.kind {
            ExprKind::Const(v) => self.positive_bytes(v.as_num()?, arg.span, what),
            _ => {
                c.push(slot, x);
                Some(1)
            }
        }
    }

    fn positive_bytes(&mut self, v: f64, span: Span, what: &str) -> Option<u64> {
        if v > MAX_BYTES {
            self.error(
                Diagnostic::error(codes::RANGE, span, format!("{what} is too large"))
                    .label("too large")
                    .help(format!(
                        "at most {} bytes, just under 8Ei; e.g. `400Gi`",
                        MAX_BYTES as u64
                    )),
            );
            return None;
        }
        if v <= 0.0 {
            self.error(
                Diagnostic::error(
                    codes::RANGE,
                    span,
                    format!("{what} must be more than zero bytes"),
                )
                .label("out of range")
                .help("e.g. `400Gi`"),
            );
            return None;
        }
        Some(v.ceil() as u64)
    }

    fn resize(&mut self, a: &ast::Action, c: &mut Computing) -> Option<ir::Resize> {
        let args = self.args(a, &["step"], named_args("resize"))?;
        let to = args.named("to");
        let step = match (args.positional.first(), to) {
            (Some(step), Some(to)) => {
                self.error(
                    Diagnostic::error(codes::ARGUMENTS, to.span, "give a step or `to =`, not both")
                        .label("second target")
                        .also(step.span, "a step")
                        .help("`resize(+50%, max = 1Ti)` grows by a step; `resize(to = 200Gi)` sets a size"),
                );
                return None;
            }
            (None, None) => {
                self.error(
                    Diagnostic::error(codes::MISSING_ARGUMENT, a.span, "`resize` needs a step or `to =`")
                        .label("no size")
                        .help("`resize(+50%, max = 1Ti)` grows by a step; `resize(to = 200Gi)` sets a size"),
                );
                return None;
            }
            (None, Some(to)) => ir::ResizeStep::To(self.bytes(to, "`to`", ArgSlot::To, c)?),
            (Some(step), None) => self.resize_step(step, c)?,
        };
        let max = match args.named("max") {
            Some(m) => Some(self.bytes(m, "`max`", ArgSlot::Max, c)?),
            None => None,
        };
        if max.is_none() && !matches!(step, ir::ResizeStep::To(_)) {
            self.error(
                Diagnostic::error(
                    codes::MISSING_ARGUMENT,
                    a.span,
                    "a relative `resize` needs `max`",
                )
                .label("no ceiling")
                .help("add a ceiling, e.g. `max = 400Gi`: a volume never grows past it"),
            );
            return None;
        }
        if let (ir::ResizeStep::To(to), Some(max)) = (&step, max)
            && *to > max
            && !c.has(ArgSlot::To)
            && !c.has(ArgSlot::Max)
        {
            {
                self.error(
                    Diagnostic::error(codes::RANGE, a.span, "`to` is larger than `max`")
                        .label("never reachable")
                        .help("raise `max` or lower `to`"),
                );
                return None;
            }
        }
        let min_step = match args.named("min_step") {
            Some(m) => Some(self.bytes(m, "`min_step`", ArgSlot::MinStep, c)?),
            None => None,
        };
        let round = match args.named("round") {
            Some(r) => self.bytes(r, "`round`", ArgSlot::Round, c)?,
            None => ir::DEFAULT_ROUND,
        };
        Some(ir::Resize {
            step,
            max,
            min_step,
            round,
        })
    }

    fn resize_step(&mut self, step: &ast::Arg, c: &mut Computing) -> Option<ir::ResizeStep> {
        let x = self.typed(
            &step.value,
            &[Type::Percent, Type::Bytes],
            "the step of `resize`",
            c.scope,
        )?;
        let ty = x.ty.clone();
        let v = match &x.kind {
            ExprKind::Const(v) => v.as_num(),
            _ => None,
        };
        match step.sign {
            Some((Sign::Minus, span)) => {
                self.error(
                    Diagnostic::error(codes::SHRINK, span, "a volume is never shrunk")
                        .label("a negative step")
                        .help("Kubernetes cannot shrink a PVC; grow with `+50%`"),
                );
                return None;
            }
            None => {
                self.error(
                    Diagnostic::error(codes::SIGN, step.span, "a resize step is signed")
                        .label("no sign")
                        .help(format!(
                            "write `+{}` to grow by a step, or `to = …` for a size",
                            self.sources.text(step.value.span)
                        )),
                );
                return None;
            }
            Some((Sign::Plus, _)) => {}
        }
        let Some(v) = v else {
            // Computed: the engine checks the range at firing time.
            c.push(ArgSlot::Step, x);
            return Some(if ty == Type::Percent {
                ir::ResizeStep::Fraction(0.0)
            } else {
                ir::ResizeStep::Bytes(1)
            });
        };
        if ty == Type::Percent {
            if v <= 0.0 || v > 10_000.0 {
                self.error(
                    Diagnostic::error(
                        codes::RANGE,
                        step.span,
                        "a resize step is more than 0% and at most 10000%",
                    )
                    .label("out of range")
                    .help("e.g. `+50%`"),
                );
                return None;
            }
            Some(ir::ResizeStep::Fraction(v / 100.0))
        } else {
            Some(ir::ResizeStep::Bytes(
                self.positive_bytes(v, step.span, "the step")?,
            ))
        }
    }

    fn scale(&mut self, a: &ast::Action, c: &mut Computing) -> Option<ir::Scale> {
        let args = self.args(a, &["step"], named_args("scale"))?;
        // A replica count: Some(constant), or None when it is computed at
        // firing time (pushed to `c`, negated for a `-` step).
        let count = |cx: &mut Self,
                     c: &mut Computing,
                     arg: &ast::Arg,
                     what: &str,
                     slot: ArgSlot|
         -> Option<Option<f64>> {
            let x = cx.typed(&arg.value, &[Type::Number], what, c.scope)?;
            let n = match &x.kind {
                ExprKind::Const(v) => v.as_num()?,
                _ => {
                    let x = match arg.sign {
                        Some((Sign::Minus, _)) => ir::Expr {
                            ty: x.ty.clone(),
                            span: x.span,
                            kind: ExprKind::Neg(Box::new(x)),
                        },
                        _ => x,
                    };
                    c.push(slot, x);
                    return Some(None);
                }
            };
            if n.fract() != 0.0 || n.abs() > 1e6 {
                cx.error(
                    Diagnostic::error(
                        codes::RANGE,
                        arg.span,
                        format!("{what} is a whole number of replicas"),
                    )
                    .label("not a replica count")
                    .help("e.g. `scale(+1, max = 10)`"),
                );
                return None;
            }
            Some(Some(n))
        };
        let to = args.named("to");
        let step = match (args.positional.first(), to) {
            (None, Some(to)) => {
                self.no_sign(to)?;
                let n = count(self, c, to, "`to`", ArgSlot::To)?.unwrap_or(0.0);
                if n < 0.0 {
                    self.error(
                        Diagnostic::error(codes::RANGE, to.span, "`to` cannot be negative")
                            .label("negative")
                            .help("e.g. `scale(to = 3)`"),
                    );
                    return None;
                }
                ir::ScaleStep::To(n as u32)
            }
            (Some(step), None) => {
                // A computed step stands in as 1 with its sign, which lints read.
                let n = count(self, c, step, "the step", ArgSlot::Step)?.unwrap_or(1.0);
                match step.sign {
                    Some((Sign::Plus, _)) => ir::ScaleStep::By(n as i64),
                    Some((Sign::Minus, _)) => ir::ScaleStep::By(-(n as i64)),
                    None => {
                        self.error(
                            Diagnostic::error(codes::SIGN, step.span, "a scale step is signed")
                                .label("no sign")
                                .help(format!(
                                    "write `+{0}` or `-{0}` for a step, or `to = {0}` for a count",
                                    self.sources.text(step.value.span)
                                )),
                        );
                        return None;
                    }
                }
            }
            (Some(step), Some(to)) => {
                self.error(
                    Diagnostic::error(codes::ARGUMENTS, to.span, "give a step or `to =`, not both")
                        .label("second target")
                        .also(step.span, "a step")
                        .help("`scale(+1, max = 10)` or `scale(to = 3)`"),
                );
                return None;
            }
            (None, None) => {
                self.error(
                    Diagnostic::error(
                        codes::MISSING_ARGUMENT,
                        a.span,
                        "`scale` needs a step or `to =`",
                    )
                    .label("no count")
                    .help("`scale(+1, max = 10)` or `scale(to = 3)`"),
                );
                return None;
            }
        };
        let mut bound = |name: &str| -> Option<Option<u32>> {
            match args.named(name) {
                None => Some(None),
                Some(arg) => {
                    self.no_sign(arg)?;
                    let slot = if name == "min" {
                        ArgSlot::Min
                    } else {
                        ArgSlot::Max
                    };
                    let Some(n) = count(self, c, arg, &format!("`{name}`"), slot)? else {
                        return Some(Some(0));
                    };
                    if n < 0.0 {
                        self.error(
                            Diagnostic::error(
                                codes::RANGE,
                                arg.span,
                                format!("`{name}` cannot be negative"),
                            )
                            .label("negative")
                            .help("replica counts are zero or more"),
                        );
                        return None;
                    }
                    Some(Some(n as u32))
                }
            }
        };
        let min = bound("min")?;
        let max = bound("max")?;
        if let (Some(lo), Some(hi)) = (min, max)
            && lo > hi
            && !c.has(ArgSlot::Min)
            && !c.has(ArgSlot::Max)
        {
            {
                self.error(
                    Diagnostic::error(
                        codes::RANGE,
                        a.span,
                        format!("`min = {lo}` is above `max = {hi}`"),
                    )
                    .label("empty range")
                    .help("make `min` at most `max`"),
                );
                return None;
            }
        }
        Some(ir::Scale { step, min, max })
    }

    fn check_key(&mut self, key: &str, span: Span) -> Option<()> {
        let (prefix, name) = key.rsplit_once('/').unwrap_or(("", key));
        let name_ok = !name.is_empty()
            && name.len() <= 63
            && name.starts_with(|c: char| c.is_ascii_alphanumeric())
            && name.ends_with(|c: char| c.is_ascii_alphanumeric())
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
        let prefix_ok = prefix.len() <= 253
            && prefix
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "-.".contains(c))
            && (prefix.is_empty() || !prefix.starts_with(['-', '.']));
        if name_ok && prefix_ok && !(key.contains('/') && prefix.is_empty()) {
            return Some(());
        }
        self.error(
            Diagnostic::error(codes::NAME_FORMAT, span, format!("`{key}` is not a valid Kubernetes key"))
                .label("invalid key")
                .help("keys are `[prefix/]name`: a DNS prefix, and a name of at most 63 letters, digits, `-`, `_`, `.`"),
        );
        None
    }
}

fn is_pascal(s: &str) -> bool {
    s.starts_with(|c: char| c.is_ascii_uppercase())
        && s.chars().all(|c| c.is_ascii_alphanumeric())
        && s.len() <= 128
}

fn actions_for(kind: Kind) -> Vec<&'static str> {
    NAMES
        .iter()
        .copied()
        .filter(|n| kinds_of(n).is_none_or(|ks| ks.contains(&kind)))
        .collect()
}

/// The named arguments an action takes.
pub fn named_args(name: &str) -> &'static [&'static str] {
    match name {
        "resize" => &["to", "max", "min_step", "round"],
        "scale" => &["to", "min", "max"],
        _ => &[],
    }
}

/// An action's signature, as help and hover show it.
pub fn signature(name: &str) -> String {
    match name {
        "resize" => {
            "`resize(+50%, max = 1Ti, min_step = 10Gi, round = 1Gi)` or `resize(to = 200Gi)`"
        }
        "scale" => "`scale(+1, min = 1, max = 10)` or `scale(to = 3)`",
        "set_class" => "`set_class(\"fast-iops\")`",
        "evict" => "`evict()` takes no arguments",
        "cordon" => "`cordon()` takes no arguments",
        "annotate" => "`annotate(\"key\", \"value\")`",
        "label" => "`label(\"key\", \"value\")`",
        "event" => "`event(\"Reason\", \"message\")`",
        _ => "`notify(\"receiver\", \"message\")`",
    }
    .to_string()
}

/// Where an action's computed arguments go, and the scope their paths
/// and metrics are read in (the policy's, so their metrics are queried).
pub(super) struct Computing<'s, 'v> {
    scope: &'s mut Scope,
    out: &'v mut Vec<(ArgSlot, ir::Expr)>,
}

impl<'s, 'v> Computing<'s, 'v> {
    fn new(scope: &'s mut Scope, out: &'v mut Vec<(ArgSlot, ir::Expr)>) -> Self {
        Computing { scope, out }
    }

    fn push(&mut self, slot: ArgSlot, e: ir::Expr) {
        self.out.push((slot, e));
    }

    fn has(&self, slot: ArgSlot) -> bool {
        self.out.iter().any(|(s, _)| *s == slot)
    }
}

/// `resize.to` and its kin, when an interpolation is exactly one of them;
/// `Err` with the text for `resize.too`.
fn did_named(e: &ast::Expr) -> Option<Result<ir::Did, String>> {
    let ast::ExprKind::Path(p) = &e.kind else {
        return None;
    };
    let [root, field] = p.segments.as_slice() else {
        return None;
    };
    if root.quoted || !matches!(root.name.as_str(), "resize" | "scale") {
        return None;
    }
    let text = format!("{}.{}", root.name, field.name);
    Some(
        ir::Did::ALL
            .into_iter()
            .find(|d| d.name() == text && !field.quoted)
            .ok_or(text),
    )
}
