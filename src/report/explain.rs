//! `explain`: a policy's typed IR, its actions as source, and the exact
//! PromQL each binding it reads sends.

use std::fmt::Write as _;

use crate::ir::{self, ActionKind, Program, ResizeStep, ScaleStep, TemplatePart};
use crate::source::SourceMap;

/// One policy, as text.
pub fn explain(sources: &SourceMap, program: &Program, p: &ir::Policy) -> String {
    let show = |e: &ir::Expr| ir::show(program, p.kind, e);
    let mut out = String::new();
    let _ = writeln!(out, "policy {}  ({})", p.name, sources.location(p.span));
    let _ = writeln!(out, "  on        {}", p.kind);
    if let Some(f) = &p.filter {
        let _ = writeln!(out, "  where     {}", show(f));
    }
    let _ = writeln!(out, "  when      {}", show(&p.condition));
    let _ = writeln!(out, "  for       {}", p.hold);
    for (i, a) in p.actions.iter().enumerate() {
        let head = if i == 0 { "then" } else { "" };
        let _ = writeln!(out, "  {head:<9} {}", action(program, p.kind, a));
    }
    let _ = writeln!(out, "  cooldown  {}", p.cooldown);
    let mode = serde_json::to_value(p.mode).ok();
    let no_data = serde_json::to_value(p.no_data).ok();
    let word = |v: Option<serde_json::Value>| {
        v.and_then(|v| v.as_str().map(String::from))
            .unwrap_or_default()
    };
    let _ = writeln!(out, "  mode      {}", word(mode));
    let _ = writeln!(out, "  no_data   {}", word(no_data));
    if let Some(w) = &p.window {
        let _ = writeln!(out, "  window    {}", sources.text(w.span));
    }
    if let Some(a) = &p.at_most {
        let _ = writeln!(out, "  at_most   {} per {}", a.count, a.per);
    }
    if !p.metrics.is_empty() {
        let _ = writeln!(
            out,
            "  queries   (one per tick, joined on the labels in `by`)"
        );
    }
    for id in &p.metrics {
        let m = program.metric(*id);
        let _ = writeln!(
            out,
            "    {} : {}  by ({})  from {}",
            m.qualified(),
            m.ty,
            m.join.join(", "),
            sources.location(m.span)
        );
        for line in m.promql.lines() {
            let _ = writeln!(out, "      {line}");
        }
    }
    out
}

fn action(program: &Program, kind: ir::Kind, action: &ir::Action) -> String {
    let a = &action.kind;
    // A computed argument as its expression, a constant as its value.
    let computed = |slot: ir::ArgSlot| {
        action
            .computed
            .iter()
            .find(|c| c.slot == slot)
            .map(|c| ir::show(program, kind, &c.expr))
    };
    let bytes_in =
        |slot: ir::ArgSlot, b: u64| computed(slot).unwrap_or_else(|| ir::format_bytes(b as f64));
    let count_in = |slot: ir::ArgSlot, n: u32| computed(slot).unwrap_or_else(|| n.to_string());
    // A message as source: text escaped, placeholders as written.
    let template = |t: &ir::Template| {
        let mut s = String::from("\"");
        for part in &t.parts {
            match part {
                TemplatePart::Text(x) => {
                    for c in x.chars() {
                        match c {
                            '"' => s.push_str("\\\""),
                            '\\' => s.push_str("\\\\"),
                            '\n' => s.push_str("\\n"),
                            '\t' => s.push_str("\\t"),
                            '{' => s.push_str("{{"),
                            '}' => s.push_str("}}"),
                            c => s.push(c),
                        }
                    }
                }
                TemplatePart::Value(e) => {
                    let _ = write!(s, "{{{}}}", ir::show(program, kind, e));
                }
                TemplatePart::Did(d) => {
                    let _ = write!(s, "{{{}}}", d.name());
                }
            }
        }
        s.push('"');
        s
    };
    match a {
        ActionKind::Resize(r) => {
            let mut args = vec![match r.step {
                _ if computed(ir::ArgSlot::Step).is_some() => {
                    format!("+({})", computed(ir::ArgSlot::Step).unwrap_or_default())
                }
                ResizeStep::Fraction(f) => {
                    format!("+{}%", ir::format_quantity(&ir::Type::Number, f * 100.0))
                }
                ResizeStep::Bytes(b) => format!("+{}", bytes_in(ir::ArgSlot::Step, b)),
                ResizeStep::To(b) => format!("to = {}", bytes_in(ir::ArgSlot::To, b)),
            }];
            if let Some(m) = r.max {
                args.push(format!("max = {}", bytes_in(ir::ArgSlot::Max, m)));
            }
            if let Some(m) = r.min_step {
                args.push(format!("min_step = {}", bytes_in(ir::ArgSlot::MinStep, m)));
            }
            args.push(format!("round = {}", bytes_in(ir::ArgSlot::Round, r.round)));
            format!("resize({})", args.join(", "))
        }
        ActionKind::Scale(s) => {
            let mut args = vec![match s.step {
                ScaleStep::By(_) if computed(ir::ArgSlot::Step).is_some() => {
                    format!("+({})", computed(ir::ArgSlot::Step).unwrap_or_default())
                }
                ScaleStep::By(n) => format!("{n:+}"),
                ScaleStep::To(n) => format!("to = {}", count_in(ir::ArgSlot::To, n)),
            }];
            if let Some(m) = s.min {
                args.push(format!("min = {}", count_in(ir::ArgSlot::Min, m)));
            }
            if let Some(m) = s.max {
                args.push(format!("max = {}", count_in(ir::ArgSlot::Max, m)));
            }
            format!("scale({})", args.join(", "))
        }
        ActionKind::SetClass { class } => format!("set_class({class:?})"),
        ActionKind::Evict => "evict()".into(),
        ActionKind::Cordon => "cordon()".into(),
        ActionKind::Annotate { key, value } => format!("annotate({key:?}, {})", template(value)),
        ActionKind::Label { key, value } => format!("label({key:?}, {})", template(value)),
        ActionKind::Event { reason, message } => {
            format!("event({reason:?}, {})", template(message))
        }
        ActionKind::Notify { receiver, message } => {
            format!("notify({receiver:?}, {})", template(message))
        }
    }
}
