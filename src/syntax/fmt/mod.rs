//! The canonical formatter: an AST and the comments of its source in,
//! canonical text out.
//!
//! Architecture invariants, pinned by `tests/fmt.rs` over every data file:
//! - the output parses to the same AST, spans aside ([`same_ast`]);
//! - formatting is idempotent: `format(format(x)) == format(x)`;
//! - every comment is kept, in its order, with its text as written (trailing
//!   whitespace trimmed).
//!
//! [`format_source`] checks all three on every run and refuses to return
//! text that breaks one, so `autopilot fmt` can never corrupt a file. It also
//! refuses when the text would mean something else though its AST is the
//! same: an anonymous rule is named `FILE:LINE`, so one that would move to
//! another line is refused (`apr::fmt::moves_rule`), and so is an
//! `apr-lint-disable` comment whose target line would change
//! (`apr::fmt::moves_directive`).
//!
//! The style, decided by the AST, the source's comments and its blank lines
//! only (never by the source's spacing or line breaks, with the one exception
//! of multi-line PromQL):
//! - Items are separated by exactly one blank line, except that consecutive
//!   `let` items stay together when no blank line separated them in the
//!   source (a comment between them does not count as a separation).
//! - `policy NAME {`, then each clause on its own line indented 2 spaces, in
//!   the order written, then `}`. A policy with no clauses and no comments is
//!   `policy NAME {}`. Blank lines between clauses are removed, except one
//!   before a comment block that had one.
//! - `then` with several actions goes on one line if that line fits in
//!   [`WIDTH`] columns, else the first action stays after `then` and each
//!   further action gets its own line, indented 4 more, commas at line ends.
//!   The same holds for an anonymous rule, which is otherwise one line:
//!   `when EXPR [for D] then ACTIONS`. Comments do not count towards width.
//! - Expressions are never reflowed or re-parenthesised: parentheses are kept
//!   exactly as written; binary operators get single spaces; `not x`, `-x`;
//!   `f(a, b)`, `[a, b]`, `max = 400Gi`, `+100%`. Numbers keep their digits
//!   and underscores. Strings are re-escaped canonically (`\"`, `\\`, `\n`,
//!   `\t`, `{{`, `}}`); interpolations are `{path}`.
//! - ``metric K.N : T = `QUERY` by (a, b)``. A one-line query goes on the
//!   `metric` line when that line fits in [`WIDTH`] columns, else on the next
//!   line indented 2. A query that spans lines is kept byte for byte, so its
//!   continuation lines are aligned relative to its first line: it stays on
//!   the line where the source put it (after `=`, or on the next line).
//! - Comments: a comment on its own line goes before the item or clause that
//!   follows it, at that item's or clause's indentation; a trailing comment
//!   stays at the end of the (last) line of the item or clause it follows, one
//!   space before `#`; a comment right after `policy NAME {` stays there;
//!   comments before a policy's `}` stay inside the block; comments at the end
//!   of the file stay at the end. A comment inside an item or clause (in a
//!   multi-line expression, between actions) moves before that item or clause.
//!   Blank lines around comments are kept, one at most, except at the start of
//!   a file or block.
//! - The text ends with exactly one newline; a file with no items and no
//!   comments formats to the empty string.

use super::ast::{
    Action, Arg, Clause, ClauseKind, Expectation, Expr, ExprKind, FieldValue, File, Ident, Item,
    Let, Metric, Path, Policy, Record, Rule, SeriesTarget, Sign, Str, StrPart, Target, Test,
    TestStmt, TestStmtKind, Then, UnaryOp, When,
};
use super::comments::{self, Comment};
use crate::diagnostic::Diagnostic;
use crate::source::{FileId, Span};

/// Lines longer than this are wrapped where the style allows.
pub const WIDTH: usize = 100;
/// Indentation of clauses in a policy block.
const INDENT: usize = 2;
/// Extra indentation of the actions after the first when `then` wraps.
const CONTINUATION: usize = 4;

pub mod codes {
    /// The formatter's output failed its own check: a formatter bug.
    pub const UNSTABLE: &str = "apr::fmt::unstable";
    /// Formatting would move an anonymous rule to another line, and its
    /// name is its `FILE:LINE`.
    pub const MOVES_RULE: &str = "apr::fmt::moves_rule";
    /// Formatting would change the line an `apr-lint-disable` comment
    /// applies to.
    pub const MOVES_DIRECTIVE: &str = "apr::fmt::moves_directive";
}

/// Whether `format_source` refused only because an anonymous rule or a
/// disable comment would move: the layout passed every other check, so it is
/// the text [`format`] gives.
pub fn refused_only_for_moves(diags: &[Diagnostic]) -> bool {
    let moves = [codes::MOVES_RULE, codes::MOVES_DIRECTIVE];
    !diags.is_empty() && diags.iter().all(|d| moves.contains(&d.code))
}

/// Parses `text` and formats it. A file with parse errors is not formatted:
/// its diagnostics are returned instead.
pub fn format_source(file: FileId, text: &str) -> Result<String, Vec<Diagnostic>> {
    let (ast, diags) = super::parse(file, text);
    if diags.iter().any(Diagnostic::is_error) {
        return Err(diags);
    }
    let out = format(text, &ast);
    let (again, diags) = super::parse(file, &out);
    let kept = comment_texts(text) == comment_texts(&out);
    if !diags.is_empty() || !kept || !same_ast(&ast, &again) {
        let d = Diagnostic::error(
            codes::UNSTABLE,
            Span::new(file, 0, 0),
            "formatting would change the meaning of this file or lose a comment",
        )
        .label("left unformatted")
        .help("this is a bug in the formatter; please report it with this file");
        return Err(vec![d]);
    }
    let moved: Vec<Diagnostic> = moved_rules(file, text, &ast, &out, &again)
        .chain(moved_directives(file, text, &out))
        .collect();
    if !moved.is_empty() {
        return Err(moved);
    }
    Ok(out)
}

/// Formats a file parsed from `text` without errors. (With parse errors the
/// output keeps the source text of error nodes and may not parse.)
pub fn format(text: &str, file: &File) -> String {
    let comments = comments::comments(text);
    let comments: Vec<&Comment> = comments.iter().collect();
    let mut f = Formatter {
        text,
        lines: Vec::new(),
    };
    f.file(file, &comments);
    let mut out = f.lines.join("\n");
    if !out.is_empty() {
        out.push('\n');
    }
    out
}

fn comment_texts(text: &str) -> Vec<String> {
    comments::comments(text)
        .into_iter()
        .map(|c| c.text)
        .collect()
}

mod attach;
mod compare;
mod layout;
mod moves;
#[cfg(test)]
mod tests;

use attach::*;
pub use compare::{same_ast, strip_spans};
pub use layout::path;
use layout::*;
use moves::*;
