//! Source text to AST: pest pairs in, spans on every node, diagnostics out.
//!
//! Parsing never panics and never recurses without bound: the bracket depth
//! is checked before pest runs, and expression trees are capped while they
//! are built.

use std::cell::RefCell;
use std::sync::{LazyLock, Mutex};

use pest::Parser as _;
use pest::error::{ErrorVariant, InputLocation};
use pest::iterators::Pair;
use pest::pratt_parser::{Assoc, Op, PrattParser};

use super::ast::{
    self, Action, Arg, BinaryOp, By, Clause, ClauseKind, Expr, ExprKind, File, Ident, Item, Let,
    Metric, Number, Path, Policy, Promql, Segment, Sign, Str, StrPart, Then, UnaryOp, Unit, When,
};
use super::comments::{self, Comment};
use crate::diagnostic::Diagnostic;
use crate::source::{FileId, Span};

#[derive(pest_derive::Parser)]
#[grammar = "../grammar/apr.pest"]
struct Grammar;

pub use self::Rule as GrammarRule;

/// Deepest nesting of `(`, `[` and `{` a file may have.
pub const MAX_NESTING: usize = 64;
/// Deepest expression tree (operators, calls, lists) a file may have.
pub const MAX_EXPR_DEPTH: usize = 128;
/// Most operands and operators in one flat expression.
pub const MAX_EXPR_TERMS: usize = 4096;

pub mod codes {
    pub const SYNTAX: &str = "apr::parse::syntax";
    pub const UNKNOWN_UNIT: &str = "apr::parse::unknown_unit";
    pub const BAD_ESCAPE: &str = "apr::parse::bad_escape";
    pub const BAD_NUMBER: &str = "apr::parse::bad_number";
    pub const TOO_DEEP: &str = "apr::parse::too_deep";
    pub const TOO_LONG: &str = "apr::parse::too_long";
}

static PRATT: LazyLock<PrattParser<Rule>> = LazyLock::new(|| {
    PrattParser::new()
        .op(Op::infix(Rule::op_or, Assoc::Left))
        .op(Op::infix(Rule::op_and, Assoc::Left))
        .op(Op::prefix(Rule::op_not))
        .op(Op::infix(Rule::op_eq, Assoc::Left)
            | Op::infix(Rule::op_ne, Assoc::Left)
            | Op::infix(Rule::op_lt, Assoc::Left)
            | Op::infix(Rule::op_le, Assoc::Left)
            | Op::infix(Rule::op_gt, Assoc::Left)
            | Op::infix(Rule::op_ge, Assoc::Left)
            | Op::infix(Rule::op_in, Assoc::Left)
            | Op::infix(Rule::op_not_in, Assoc::Left))
        .op(Op::infix(Rule::op_coalesce, Assoc::Left))
        .op(Op::infix(Rule::op_add, Assoc::Left) | Op::infix(Rule::op_sub, Assoc::Left))
        .op(Op::infix(Rule::op_mul, Assoc::Left) | Op::infix(Rule::op_div, Assoc::Left))
        .op(Op::prefix(Rule::op_neg))
});

/// Parses one file. With errors, the file holds what could be parsed.
pub fn parse(file: FileId, text: &str) -> (File, Vec<Diagnostic>) {
    let span = Span::new(file, 0, text.len());
    let empty = || File {
        items: Vec::new(),
        span,
    };
    if let Some(d) = too_deep(file, text) {
        return (empty(), vec![d]);
    }
    let mut builder = Builder::new(file, text);
    // A byte-order mark is no part of the program; editors on Windows write one.
    let bom = if text.starts_with('\u{feff}') { 3 } else { 0 };
    builder.offset = bom;
    let mut items = Vec::new();
    loop {
        let rest = &text[builder.offset..];
        let chunk = match Grammar::parse(Rule::chunk, rest) {
            Ok(mut pairs) => pairs.next().expect("pest returns the chunk rule"),
            Err(chunk_error) => {
                // The whole file fails at the same place; its error names
                // what `file` expected there, from the file's start.
                let body = &text[bom..];
                let d = match Grammar::parse(Rule::file, body) {
                    Err(e) => shifted(syntax_error(file, body, e), bom),
                    // Not reached (`chunk` is `file` item by item), but an
                    // error in the item is still the right thing to show.
                    Ok(_) => {
                        let mut d = syntax_error(file, rest, chunk_error);
                        let at = |p: u32| builder.offset + p as usize;
                        let span = d.primary.span;
                        d.primary.span = Span::new(file, at(span.start), at(span.end));
                        d
                    }
                };
                return (empty(), vec![d]);
            }
        };
        let item = chunk
            .into_inner()
            .next()
            .expect("a chunk holds an item or EOI");
        if item.as_rule() == Rule::EOI {
            break;
        }
        let end = item.as_span().end();
        items.push(builder.item(item));
        builder.offset += end;
    }
    (File { items, span }, builder.diags.into_inner())
}

/// `d` with its spans moved `by` bytes on, for an error found in a suffix.
fn shifted(mut d: Diagnostic, by: usize) -> Diagnostic {
    let by = by as u32;
    for label in std::iter::once(&mut d.primary).chain(&mut d.secondary) {
        label.span.start += by;
        label.span.end += by;
    }
    d
}

/// Parses a lone expression (the REPL's input). Errors as [`parse`] gives them.
pub fn parse_expr(file: FileId, text: &str) -> Result<Expr, Vec<Diagnostic>> {
    if let Some(d) = too_deep(file, text) {
        return Err(vec![d]);
    }
    match Grammar::parse(Rule::repl_expr, text) {
        Ok(mut pairs) => {
            let builder = Builder::new(file, text);
            let root = pairs.next().expect("pest returns the repl_expr rule");
            let inner = root.into_inner().next().expect("repl_expr holds an expr");
            let expr = builder.expr(inner);
            let diags = builder.diags.into_inner();
            if diags.iter().any(Diagnostic::is_error) {
                Err(diags)
            } else {
                Ok(expr)
            }
        }
        Err(e) => Err(vec![syntax_error(file, text, e)]),
    }
}

/// Whether `text` starts with an item (`let`, `metric`, `policy`, a `when`
/// rule, `test`) rather than an expression.
pub fn starts_item(text: &str) -> bool {
    let first = text
        .trim_start()
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .next()
        .unwrap_or("");
    matches!(first, "let" | "metric" | "policy" | "when" | "test")
}

/// Whether more lines could complete `text`: it fails to parse only at its
/// end (`pvc.usage >`, an open bracket or backtick). A string left open is
/// complete, and an error: strings end on their line.
pub fn is_incomplete(text: &str) -> bool {
    let only_comments = text
        .lines()
        .all(|l| l.trim().is_empty() || l.trim_start().starts_with('#'));
    if only_comments || too_deep_at(text).is_some() || open_string(text) {
        return false;
    }
    let rule = if starts_item(text) {
        Rule::file
    } else {
        Rule::repl_expr
    };
    match Grammar::parse(rule, text) {
        Ok(_) => false,
        Err(e) => {
            let pos = match e.location {
                InputLocation::Pos(p) => p,
                InputLocation::Span((s, _)) => s,
            };
            pos >= text.trim_end().len()
        }
    }
}

/// Whether the text ends inside a `"` string's text (outside PromQL,
/// comments and `{…}`), where no further line can close it.
mod build;
mod errors;
mod scan;
#[cfg(test)]
mod tests;

use build::*;
use errors::*;
pub use scan::nesting_depths;
use scan::*;
