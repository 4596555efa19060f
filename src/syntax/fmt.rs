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
    Let, Metric, Path, Policy, Record, Rule, Segment, SeriesTarget, Sign, Str, StrPart, Target,
    Test, TestStmt, TestStmtKind, Then, UnaryOp, When,
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

/// The 1-based line of byte `offset`.
fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// Anonymous rules are named by their start line, so a rule the formatter
/// moves is renamed (tests, approvals and events use the name).
fn moved_rules<'a>(
    file: FileId,
    text: &'a str,
    ast: &'a File,
    out: &'a str,
    again: &'a File,
) -> impl Iterator<Item = Diagnostic> + 'a {
    let rules = |f: &'a File| {
        f.items.iter().filter_map(|i| match i {
            Item::Rule(r) => Some(r.span),
            _ => None,
        })
    };
    rules(ast).zip(rules(again)).filter_map(move |(a, b)| {
        let (from, to) = (
            line_of(text, a.start as usize),
            line_of(out, b.start as usize),
        );
        (from != to).then(|| {
            let (start, end) = (a.start as usize, a.end as usize);
            let first_line_end = text
                .get(start..)
                .and_then(|t| t.find('\n'))
                .map_or(end, |n| (start + n).min(end));
            Diagnostic::error(
                codes::MOVES_RULE,
                Span::new(file, start, first_line_end),
                format!(
                    "formatting would move this anonymous rule from line {from} to line {to}, \
                     which renames it (an anonymous rule is named FILE:LINE)"
                ),
            )
            .label("left unformatted")
            .help(
                "give the rule a name, `policy NAME { when … then … }`, or put it on the \
                 line where the formatter keeps it (one blank line between items)",
            )
        })
    })
}

/// What each `apr-lint-disable` comment applies to (see `lint::suppress`):
/// its comment and the code of its target line, spacing and trailing commas
/// aside (the formatter changes those, not what a rule reports on).
fn directive_targets(text: &str) -> Vec<(Comment, String)> {
    let comments = comments::comments(text);
    let lines = comments::Lines::new(text, &comments);
    // A line's code, without a trailing comment.
    let code = |line: usize| {
        let (start, written) = lines.line(line);
        let end = comments
            .iter()
            .find(|c| c.trailing && lines.line_of(c.span.start) == line)
            .map_or(start + written.len(), |c| c.span.start);
        canonical_code(&text[start..end])
    };
    comments
        .iter()
        .filter(|c| is_line_directive(&c.text))
        .map(|c| {
            let line = lines.line_of(c.span.start);
            let target = if c.trailing {
                Some(line)
            } else {
                lines.next_code_line(line)
            };
            (c.clone(), target.map(code).unwrap_or_default())
        })
        .collect()
}

fn is_line_directive(comment: &str) -> bool {
    comment
        .strip_prefix('#')
        .map(str::trim_start)
        .and_then(|b| b.strip_prefix("apr-lint-disable"))
        .is_some_and(|rest| !rest.starts_with('-'))
}

/// Code without whitespace and without commas before a closing bracket or
/// at the end.
fn canonical_code(code: &str) -> String {
    let mut out: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    while out.ends_with(',') {
        out.pop();
    }
    for close in [")", "]", "}"] {
        out = out.replace(&format!(",{close}"), close);
    }
    out
}

fn moved_directives(file: FileId, text: &str, out: &str) -> impl Iterator<Item = Diagnostic> {
    let before = directive_targets(text);
    let after = directive_targets(out);
    before
        .into_iter()
        .zip(after)
        .filter(|((_, a), (_, b))| a != b)
        .map(move |((c, _), _)| {
            Diagnostic::error(
                codes::MOVES_DIRECTIVE,
                Span::new(file, c.span.start, c.span.end),
                "formatting would change the line this disable comment applies to",
            )
            .label("left unformatted")
            .help(
                "put the comment on its own line directly above the line it disables \
                 (not inside an expression or between actions), or at the end of that line",
            )
        })
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

// ---------------------------------------------------------------- comments

/// A comment on its own line, and whether a blank line precedes it.
struct Note<'c> {
    comment: &'c Comment,
    blank_before: bool,
}

/// The comments that belong to one child of a block (an item or a clause).
#[derive(Default)]
struct Slot<'c> {
    /// Own-line comments before the child.
    leading: Vec<Note<'c>>,
    /// Comments inside the child's span.
    inner: Vec<&'c Comment>,
    /// The comment that ends the child's last line.
    trailing: Option<&'c Comment>,
    /// A blank line separates the child from what precedes it.
    blank_before: bool,
}

impl Slot<'_> {
    /// A blank line separates this child's first line (comment or code) from
    /// the previous child.
    fn gap_blank(&self) -> bool {
        self.leading
            .first()
            .map_or(self.blank_before, |n| n.blank_before)
    }
}

/// The comments of one block (the file, a policy body), attached to its
/// children; `dangling` are those after the last child.
struct Attached<'c> {
    slots: Vec<Slot<'c>>,
    dangling: Vec<Note<'c>>,
}

/// Attaches the comments of a block to its children. `start` is where the
/// block's content begins; between children and comments there is only
/// whitespace, whose blank lines are noted.
fn attach<'c>(
    text: &str,
    start: usize,
    children: &[Span],
    comments: &[&'c Comment],
) -> Attached<'c> {
    let mut a = Attacher {
        text,
        slots: children.iter().map(|_| Slot::default()).collect(),
        pending: Vec::new(),
        last_end: start,
        first: true,
        after_child: false,
    };
    let mut next = 0;
    for &c in comments {
        while next < children.len() && children[next].start as usize <= c.span.start {
            a.child(next, children[next]);
            next += 1;
        }
        let inside = next > 0 && c.span.start < children[next - 1].end as usize;
        if inside {
            a.slots[next - 1].inner.push(c);
        } else if a.after_child && !a.gap(c.span.start).contains('\n') {
            a.slots[next - 1].trailing = Some(c);
            a.after_child = false;
            a.last_end = c.span.end;
        } else {
            let blank_before = a.blank_until(c.span.start);
            a.pending.push(Note {
                comment: c,
                blank_before,
            });
            a.last_end = c.span.end;
            a.first = false;
            a.after_child = false;
        }
    }
    while next < children.len() {
        a.child(next, children[next]);
        next += 1;
    }
    Attached {
        slots: a.slots,
        dangling: a.pending,
    }
}

struct Attacher<'t, 'c> {
    text: &'t str,
    slots: Vec<Slot<'c>>,
    /// Own-line comments not yet given to a child.
    pending: Vec<Note<'c>>,
    /// End of the last child or comment seen.
    last_end: usize,
    /// Nothing seen yet in this block.
    first: bool,
    /// The last thing seen was a child, not a comment.
    after_child: bool,
}

impl<'c> Attacher<'_, 'c> {
    fn gap(&self, to: usize) -> &str {
        self.text.get(self.last_end..to).unwrap_or("")
    }

    fn blank_until(&self, to: usize) -> bool {
        !self.first && self.gap(to).matches('\n').count() >= 2
    }

    fn child(&mut self, i: usize, span: Span) {
        self.slots[i].blank_before = self.blank_until(span.start as usize);
        self.slots[i].leading = std::mem::take(&mut self.pending);
        self.last_end = span.end as usize;
        self.first = false;
        self.after_child = true;
    }
}

// ---------------------------------------------------------------- layout

struct Formatter<'t> {
    text: &'t str,
    /// Output lines without their newline; a line may hold a multi-line query.
    lines: Vec<String>,
}

impl Formatter<'_> {
    fn line(&mut self, indent: usize, s: &str) {
        self.lines.push(format!("{:indent$}{s}", ""));
    }

    fn blank(&mut self) {
        if self.lines.last().is_some_and(|l| !l.is_empty()) {
            self.lines.push(String::new());
        }
    }

    fn trailing(&mut self, comment: Option<&Comment>) {
        if let (Some(c), Some(last)) = (comment, self.lines.last_mut()) {
            last.push(' ');
            last.push_str(&c.text);
        }
    }

    /// Own-line comments, then those moved out of the child, then the child.
    fn before(&mut self, indent: usize, slot: &Slot, moved: &[&Comment]) {
        for (k, note) in slot.leading.iter().enumerate() {
            if k > 0 && note.blank_before {
                self.blank();
            }
            self.line(indent, &note.comment.text);
        }
        if !slot.leading.is_empty() && slot.blank_before {
            self.blank();
        }
        for c in moved {
            self.line(indent, &c.text);
        }
    }

    fn dangling(&mut self, indent: usize, notes: &[Note]) {
        for note in notes {
            if note.blank_before {
                self.blank();
            }
            self.line(indent, &note.comment.text);
        }
    }

    fn file(&mut self, file: &File, comments: &[&Comment]) {
        let spans: Vec<Span> = file.items.iter().map(Item::span).collect();
        let attached = attach(self.text, 0, &spans, comments);
        let mut prev: Option<&Item> = None;
        for (item, slot) in file.items.iter().zip(&attached.slots) {
            if let Some(prev) = prev {
                let lets = matches!((prev, item), (Item::Let(_), Item::Let(_)));
                if !lets || slot.gap_blank() {
                    self.blank();
                }
            }
            self.item(item, slot);
            prev = Some(item);
        }
        self.dangling(0, &attached.dangling);
    }

    fn item(&mut self, item: &Item, slot: &Slot) {
        match item {
            Item::Let(x) => {
                self.before(0, slot, &slot.inner);
                self.let_item(x);
            }
            Item::Metric(x) => {
                self.before(0, slot, &slot.inner);
                self.metric(x);
            }
            Item::Rule(x) => {
                self.before(0, slot, &slot.inner);
                self.rule(x);
            }
            Item::Test(x) => {
                let open = open_brace(self.text, x.name.span.end as usize, x.span.end as usize);
                let (moved, body): (Vec<&Comment>, Vec<&Comment>) = slot
                    .inner
                    .iter()
                    .copied()
                    .partition(|c| c.span.start < open);
                self.before(0, slot, &moved);
                self.test(x, open, &body);
            }
            Item::Policy(x) => {
                let open = open_brace(self.text, x.name.span.end as usize, x.span.end as usize);
                let (moved, body): (Vec<&Comment>, Vec<&Comment>) = slot
                    .inner
                    .iter()
                    .copied()
                    .partition(|c| c.span.start < open);
                self.before(0, slot, &moved);
                self.policy(x, open, &body);
            }
        }
        self.trailing(slot.trailing);
    }

    fn let_item(&mut self, x: &Let) {
        let line = format!("let {} = {}", x.name.name, self.expr(&x.value));
        self.line(0, &line);
    }

    fn metric(&mut self, m: &Metric) {
        let head = format!("metric {}.{} : {} =", m.kind.name, m.name.name, m.ty.name);
        let mut query = format!("`{}`", m.promql.text);
        if let Some(by) = &m.by {
            query.push_str(&format!(" by ({})", idents(&by.labels)));
        }
        let own_line = if m.promql.text.contains('\n') {
            let between = self
                .text
                .get(m.ty.span.end as usize..m.promql.span.start as usize);
            between.is_some_and(|s| s.contains('\n'))
        } else {
            width(&head) + 1 + width(&query) > WIDTH
        };
        if own_line {
            self.line(0, &head);
            self.line(INDENT, &query);
        } else {
            self.line(0, &format!("{head} {query}"));
        }
    }

    fn rule(&mut self, r: &Rule) {
        let head = format!("{} then", self.when(&r.when));
        self.then(0, &head, &r.then);
    }

    fn policy(&mut self, p: &Policy, open: usize, comments: &[&Comment]) {
        let spans: Vec<Span> = p.clauses.iter().map(|c| c.span).collect();
        let head = format!("policy {}", p.name.name);
        self.block(&head, open, comments, &spans, &mut |f, i| {
            f.clause(&p.clauses[i])
        });
    }

    fn test(&mut self, t: &Test, open: usize, comments: &[&Comment]) {
        let spans: Vec<Span> = t.stmts.iter().map(|s| s.span).collect();
        let head = format!("test {}", self.string(&t.name));
        self.block(&head, open, comments, &spans, &mut |f, i| {
            let line = f.test_stmt(&t.stmts[i]);
            f.line(INDENT, &line);
        });
    }

    /// `HEAD { … }` with one child per line, comments kept with the children.
    fn block(
        &mut self,
        head: &str,
        open: usize,
        comments: &[&Comment],
        spans: &[Span],
        child: &mut dyn FnMut(&mut Self, usize),
    ) {
        let first_child = spans.first().map_or(usize::MAX, |s| s.start as usize);
        let header = comments.first().copied().filter(|c| {
            let gap = self.text.get(open + 1..c.span.start).unwrap_or("\n");
            c.span.start < first_child && !gap.contains('\n')
        });
        let (start, rest) = match header {
            Some(c) => (c.span.end, &comments[1..]),
            None => (open + 1, comments),
        };
        let attached = attach(self.text, start, spans, rest);
        if spans.is_empty() && attached.dangling.is_empty() && header.is_none() {
            self.line(0, &format!("{head} {{}}"));
            return;
        }
        self.line(0, &format!("{head} {{"));
        self.trailing(header);
        for (i, slot) in attached.slots.iter().enumerate() {
            if i > 0 && slot.leading.first().is_some_and(|n| n.blank_before) {
                self.blank();
            }
            self.before(INDENT, slot, &slot.inner);
            child(self, i);
            self.trailing(slot.trailing);
        }
        self.dangling(INDENT, &attached.dangling);
        self.line(0, "}");
    }

    fn test_stmt(&self, s: &TestStmt) -> String {
        match &s.kind {
            TestStmtKind::Setting { name, value } => format!("{} {}", name.name, self.expr(value)),
            TestStmtKind::Object { kind, id, fields } => match fields {
                Some(r) => format!("{} {} {}", kind.name, self.string(id), self.record(r)),
                None => format!("{} {}", kind.name, self.string(id)),
            },
            TestStmtKind::Series { target, values } => {
                let target = match target {
                    SeriesTarget::Metric { path: p, object } => {
                        format!("{} {}", path(p), self.string(object))
                    }
                    SeriesTarget::Raw(q) => format!("`{}`", q.text),
                };
                format!("series {target} = {}", self.string(values))
            }
            TestStmtKind::Decision {
                approve,
                target,
                at,
            } => {
                let word = if *approve { "approve" } else { "decline" };
                format!("{word} {} at {}", self.target(target), self.expr(at))
            }
            TestStmtKind::Expect { target, what } => {
                let mut line = String::from("expect");
                if let Some(t) = target {
                    line.push(' ');
                    line.push_str(&self.target(t));
                }
                match what {
                    Expectation::State { at, state } => {
                        line.push_str(&format!(" at {} is {}", self.expr(at), state.name));
                    }
                    Expectation::Action {
                        at,
                        action,
                        to,
                        result,
                    } => {
                        line.push_str(&format!(" at {} {}", self.expr(at), action.name));
                        if let Some(to) = to {
                            line.push_str(&format!(" to {}", self.expr(to)));
                        }
                        if let Some(r) = result {
                            line.push_str(&format!(" {}", r.name));
                        }
                    }
                    Expectation::NoAction { from, to } => {
                        line.push_str(&format!(
                            " no action from {} to {}",
                            self.expr(from),
                            self.expr(to)
                        ));
                    }
                }
                line
            }
        }
    }

    fn target(&self, t: &Target) -> String {
        let policy = if t.quoted {
            self.string(&Str {
                parts: vec![StrPart::Text(t.policy.name.clone())],
                span: t.policy.span,
            })
        } else {
            t.policy.name.clone()
        };
        format!("{policy} {}", self.string(&t.object))
    }

    fn record(&self, r: &Record) -> String {
        if r.fields.is_empty() {
            return "{}".into();
        }
        let fields: Vec<String> = r
            .fields
            .iter()
            .map(|f| {
                let value = match &f.value {
                    FieldValue::Record(r) => self.record(r),
                    FieldValue::Expr(e) => self.expr(e),
                };
                let plain = f
                    .name
                    .name
                    .starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
                    && f.name
                        .name
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
                let key = if plain {
                    f.name.name.clone()
                } else {
                    self.string(&Str {
                        parts: vec![StrPart::Text(f.name.name.clone())],
                        span: f.name.span,
                    })
                };
                format!("{key} = {value}")
            })
            .collect();
        format!("{{ {} }}", fields.join(", "))
    }

    fn clause(&mut self, c: &Clause) {
        let line = match &c.kind {
            ClauseKind::Then(t) => return self.then(INDENT, "then", t),
            ClauseKind::On { kind, filter } => match filter {
                Some(e) => format!("on {} where {}", kind.name, self.expr(e)),
                None => format!("on {}", kind.name),
            },
            ClauseKind::When(w) => self.when(w),
            ClauseKind::Cooldown(e) => format!("cooldown {}", self.expr(e)),
            ClauseKind::Mode(m) => format!("mode {}", m.name),
            ClauseKind::NoData(m) => format!("no_data {}", m.name),
            ClauseKind::Window(s) => format!("window {}", self.string(s)),
            ClauseKind::AtMost { count, per } => {
                format!("at_most {} per {}", self.expr(count), self.expr(per))
            }
        };
        self.line(INDENT, &line);
    }

    fn when(&self, w: &When) -> String {
        let condition = self.expr(&w.condition);
        match &w.hold {
            Some(d) => format!("when {condition} for {}", self.expr(d)),
            None => format!("when {condition}"),
        }
    }

    /// `HEAD a(), b()`, or wrapped after each comma when too wide.
    fn then(&mut self, indent: usize, head: &str, t: &Then) {
        let actions: Vec<String> = t.actions.iter().map(|a| self.action(a)).collect();
        let one = format!("{head} {}", actions.join(", "));
        if actions.len() < 2 || indent + width(&one) <= WIDTH {
            self.line(indent, &one);
            return;
        }
        let last = actions.len() - 1;
        for (k, action) in actions.iter().enumerate() {
            let comma = if k < last { "," } else { "" };
            if k == 0 {
                self.line(indent, &format!("{head} {action}{comma}"));
            } else {
                self.line(indent + CONTINUATION, &format!("{action}{comma}"));
            }
        }
    }

    // ------------------------------------------------------------ expressions

    fn action(&self, a: &Action) -> String {
        let args: Vec<String> = a.args.iter().map(|x| self.arg(x)).collect();
        format!("{}({})", a.name.name, args.join(", "))
    }

    fn arg(&self, a: &Arg) -> String {
        let mut out = String::new();
        if let Some(name) = &a.name {
            out.push_str(&name.name);
            out.push_str(" = ");
        }
        match a.sign {
            Some((Sign::Plus, _)) => out.push('+'),
            Some((Sign::Minus, _)) => out.push('-'),
            None => {}
        }
        self.write_expr(&mut out, &a.value);
        out
    }

    fn expr(&self, e: &Expr) -> String {
        let mut out = String::new();
        self.write_expr(&mut out, e);
        out
    }

    /// Prints the tree as written: the parser built it from this very token
    /// sequence, so it parses back to the same tree without added parentheses.
    fn write_expr(&self, out: &mut String, e: &Expr) {
        match &e.kind {
            ExprKind::Number(n) => {
                out.push_str(&n.text);
                if let Some(u) = n.unit {
                    out.push_str(u.suffix());
                }
            }
            ExprKind::Str(s) => out.push_str(&self.string(s)),
            ExprKind::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            ExprKind::List(items) => {
                out.push('[');
                self.write_list(out, items);
                out.push(']');
            }
            ExprKind::Call { name, args } => {
                out.push_str(&name.name);
                out.push('(');
                self.write_list(out, args);
                out.push(')');
            }
            ExprKind::Path(p) => out.push_str(&path(p)),
            ExprKind::Unary { op, expr } => {
                out.push_str(match op {
                    UnaryOp::Not => "not ",
                    UnaryOp::Neg => "-",
                });
                self.write_expr(out, expr);
            }
            ExprKind::Binary { op, lhs, rhs } => {
                self.write_expr(out, lhs);
                out.push(' ');
                out.push_str(op.symbol());
                out.push(' ');
                self.write_expr(out, rhs);
            }
            ExprKind::Paren(inner) => {
                out.push('(');
                self.write_expr(out, inner);
                out.push(')');
            }
            ExprKind::Error => out.push_str(self.text.get(e.span.range()).unwrap_or("")),
        }
    }

    fn write_list(&self, out: &mut String, items: &[Expr]) {
        for (i, item) in items.iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            self.write_expr(out, item);
        }
    }

    fn string(&self, s: &Str) -> String {
        let mut out = String::from('"');
        for part in &s.parts {
            match part {
                StrPart::Text(t) => escape_into(&mut out, t),
                StrPart::Interp(p) => {
                    out.push('{');
                    out.push_str(&path(p));
                    out.push('}');
                }
            }
        }
        out.push('"');
        out
    }
}

/// A path as the language writes it: `pvc.labels["app.kubernetes.io/name"]`,
/// with a quoted key escaped like any string (unlike `Path::display`, which
/// uses Rust's `{:?}`).
pub fn path(p: &Path) -> String {
    let mut out = String::new();
    for (i, seg) in p.segments.iter().enumerate() {
        if seg.quoted {
            out.push_str("[\"");
            escape_into(&mut out, &seg.name);
            out.push_str("\"]");
        } else {
            if i > 0 {
                out.push('.');
            }
            out.push_str(&seg.name);
        }
    }
    out
}

/// String text, escaped so that it reads back as the same text: the escapes
/// the language knows, and braces doubled so they are not interpolations.
fn escape_into(out: &mut String, text: &str) {
    for ch in text.chars() {
        match ch {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '{' => out.push_str("{{"),
            '}' => out.push_str("}}"),
            c => out.push(c),
        }
    }
}

fn idents(ids: &[Ident]) -> String {
    ids.iter()
        .map(|i| i.name.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Columns of the first line of `s`.
fn width(s: &str) -> usize {
    s.split('\n').next().unwrap_or("").chars().count()
}

/// The offset of a policy's `{`: the first one after its name that is not in
/// a comment (only whitespace and comments come between).
/// The `{` of a block, between its name and its end, skipping comments.
fn open_brace(text: &str, from: usize, end: usize) -> usize {
    let bytes = text.as_bytes();
    let end = end.min(bytes.len());
    let mut i = from;
    while i < end {
        match bytes[i] {
            b'{' => return i,
            b'#' => {
                let line = bytes[i..end].iter().position(|&b| b == b'\n');
                i += line.unwrap_or(end - i);
            }
            _ => i += 1,
        }
    }
    end
}

// ---------------------------------------------------------------- comparing

/// The two files have the same syntax tree, wherever their nodes are.
pub fn same_ast(a: &File, b: &File) -> bool {
    let (mut a, mut b) = (a.clone(), b.clone());
    strip_spans(&mut a);
    strip_spans(&mut b);
    a == b
}

/// Sets every span in the tree to `Span::default()`. A node type added
/// without a case here keeps its spans and makes [`same_ast`] fail, never
/// wrongly pass.
pub fn strip_spans(file: &mut File) {
    file.span = Span::default();
    for item in &mut file.items {
        match item {
            Item::Let(x) => {
                x.span = Span::default();
                strip_ident(&mut x.name);
                strip_expr(&mut x.value);
            }
            Item::Metric(x) => {
                x.span = Span::default();
                x.promql.span = Span::default();
                for id in [&mut x.kind, &mut x.name, &mut x.ty] {
                    strip_ident(id);
                }
                if let Some(by) = &mut x.by {
                    by.span = Span::default();
                    by.labels.iter_mut().for_each(strip_ident);
                }
            }
            Item::Policy(x) => {
                x.span = Span::default();
                strip_ident(&mut x.name);
                x.clauses.iter_mut().for_each(strip_clause);
            }
            Item::Rule(x) => {
                x.span = Span::default();
                strip_when(&mut x.when);
                strip_then(&mut x.then);
            }
            Item::Test(x) => {
                x.span = Span::default();
                strip_str(&mut x.name);
                x.stmts.iter_mut().for_each(strip_test_stmt);
            }
        }
    }
}

fn strip_test_stmt(s: &mut TestStmt) {
    s.span = Span::default();
    match &mut s.kind {
        TestStmtKind::Setting { name, value } => {
            strip_ident(name);
            strip_expr(value);
        }
        TestStmtKind::Object { kind, id, fields } => {
            strip_ident(kind);
            strip_str(id);
            fields.iter_mut().for_each(strip_record);
        }
        TestStmtKind::Series { target, values } => {
            match target {
                SeriesTarget::Metric { path, object } => {
                    strip_path(path);
                    strip_str(object);
                }
                SeriesTarget::Raw(q) => q.span = Span::default(),
            }
            strip_str(values);
        }
        TestStmtKind::Decision { target, at, .. } => {
            strip_target(target);
            strip_expr(at);
        }
        TestStmtKind::Expect { target, what } => {
            target.iter_mut().for_each(strip_target);
            match what {
                Expectation::State { at, state } => {
                    strip_expr(at);
                    strip_ident(state);
                }
                Expectation::Action {
                    at,
                    action,
                    to,
                    result,
                } => {
                    strip_expr(at);
                    strip_ident(action);
                    to.iter_mut().for_each(strip_expr);
                    result.iter_mut().for_each(strip_ident);
                }
                Expectation::NoAction { from, to } => {
                    strip_expr(from);
                    strip_expr(to);
                }
            }
        }
    }
}

fn strip_target(t: &mut Target) {
    t.span = Span::default();
    strip_ident(&mut t.policy);
    strip_str(&mut t.object);
}

fn strip_record(r: &mut Record) {
    r.span = Span::default();
    for f in &mut r.fields {
        f.span = Span::default();
        strip_ident(&mut f.name);
        match &mut f.value {
            FieldValue::Record(r) => strip_record(r),
            FieldValue::Expr(e) => strip_expr(e),
        }
    }
}

fn strip_ident(id: &mut Ident) {
    id.span = Span::default();
}

fn strip_clause(c: &mut Clause) {
    c.span = Span::default();
    match &mut c.kind {
        ClauseKind::On { kind, filter } => {
            strip_ident(kind);
            filter.iter_mut().for_each(strip_expr);
        }
        ClauseKind::When(w) => strip_when(w),
        ClauseKind::Then(t) => strip_then(t),
        ClauseKind::Cooldown(e) => strip_expr(e),
        ClauseKind::Mode(id) | ClauseKind::NoData(id) => strip_ident(id),
        ClauseKind::Window(s) => strip_str(s),
        ClauseKind::AtMost { count, per } => {
            strip_expr(count);
            strip_expr(per);
        }
    }
}

fn strip_when(w: &mut When) {
    w.span = Span::default();
    strip_expr(&mut w.condition);
    w.hold.iter_mut().for_each(strip_expr);
}

fn strip_then(t: &mut Then) {
    t.span = Span::default();
    for a in &mut t.actions {
        a.span = Span::default();
        strip_ident(&mut a.name);
        for arg in &mut a.args {
            arg.span = Span::default();
            arg.name.iter_mut().for_each(strip_ident);
            if let Some((_, span)) = &mut arg.sign {
                *span = Span::default();
            }
            strip_expr(&mut arg.value);
        }
    }
}

fn strip_expr(e: &mut Expr) {
    e.span = Span::default();
    match &mut e.kind {
        ExprKind::Number(_) | ExprKind::Bool(_) | ExprKind::Error => {}
        ExprKind::Str(s) => strip_str(s),
        ExprKind::List(items) => items.iter_mut().for_each(strip_expr),
        ExprKind::Call { name, args } => {
            strip_ident(name);
            args.iter_mut().for_each(strip_expr);
        }
        ExprKind::Path(p) => strip_path(p),
        ExprKind::Unary { expr, .. } | ExprKind::Paren(expr) => strip_expr(expr),
        ExprKind::Binary { lhs, rhs, .. } => {
            strip_expr(lhs);
            strip_expr(rhs);
        }
    }
}

fn strip_str(s: &mut Str) {
    s.span = Span::default();
    for part in &mut s.parts {
        if let StrPart::Interp(p) = part {
            strip_path(p);
        }
    }
}

fn strip_path(p: &mut Path) {
    p.span = Span::default();
    p.segments
        .iter_mut()
        .for_each(|s: &mut Segment| s.span = Span::default());
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `format_source`, or the layout when it was refused only because an
    /// anonymous rule or a disable comment would move (these tests pin the
    /// layout; the refusals have their own).
    fn layout(input: &str) -> String {
        format_source(FileId(0), input).unwrap_or_else(|d| {
            assert!(refused_only_for_moves(&d), "{d:#?}");
            format(input, &crate::syntax::parse(FileId(0), input).0)
        })
    }

    /// Formats `input`, compares with `expected`, and checks the invariants.
    #[track_caller]
    fn check(input: &str, expected: &str) {
        let out = layout(input);
        assert_eq!(
            out, expected,
            "\n--- got ---\n{out}--- want ---\n{expected}"
        );
        let again = format_source(FileId(0), &out).unwrap_or_else(|d| panic!("{d:#?}"));
        assert_eq!(again, out, "not idempotent");
    }

    #[test]
    fn empty_and_blank_files() {
        check("", "");
        check("  \n\n\t\n", "");
        check("# only\n\n\n#  comments   \n", "# only\n\n#  comments\n");
    }

    #[test]
    fn messy_spacing() {
        check(
            "when pvc.usage>50% for 5m then resize(+100%,max=400Gi)",
            "when pvc.usage > 50% for 5m then resize(+100%, max = 400Gi)\n",
        );
        check(
            "let   x=not(a)and-b*[1,2 ,]!=f( 1_000 ,2.5 )\n\n\n\nlet y=a not in[ \"a\" ]",
            "let x = not (a) and -b * [1, 2] != f(1_000, 2.5)\n\nlet y = a not in [\"a\"]\n",
        );
        check(
            "policy   p{on pvc where pvc.labels[\"app.kubernetes.io/name\"]==\"pg\" when x then a()}",
            "policy p {\n  on pvc where pvc.labels[\"app.kubernetes.io/name\"] == \"pg\"\n  when x\n  then a()\n}\n",
        );
    }

    #[test]
    fn every_clause_in_written_order() {
        check(
            "policy p {\n  at_most 3 per 1h\n  window \"Mon-Fri 02:00-04:00 Europe/Berlin\"\n\n\n  no_data reset\n  mode   dry_run\n  cooldown 1h\n  then evict()\n  when pod.restarts > 5 for 10m\n  on pod\n}\n",
            "policy p {\n  at_most 3 per 1h\n  window \"Mon-Fri 02:00-04:00 Europe/Berlin\"\n  no_data reset\n  mode dry_run\n  cooldown 1h\n  then evict()\n  when pod.restarts > 5 for 10m\n  on pod\n}\n",
        );
        check("policy empty {   }", "policy empty {}\n");
    }

    #[test]
    fn lets_stay_together_only_if_adjacent() {
        check(
            "let a = 1\nlet b = 2\n\n\nlet c = 3\n# about d\nlet d = 4\nmetric a.b : number = `x`\nlet e = 5\nlet f = 6",
            "let a = 1\nlet b = 2\n\nlet c = 3\n# about d\nlet d = 4\n\nmetric a.b : number = `x`\n\nlet e = 5\nlet f = 6\n",
        );
    }

    #[test]
    fn strings_are_escaped_canonically() {
        check(
            r#"when x then notify("a \"q\" \\ {{x}} } {pvc.name}	tab\n", "{ pvc.labels["a\"b{{"] }")"#,
            "when x then notify(\"a \\\"q\\\" \\\\ {{x}} }} {pvc.name}\\ttab\\n\", \"{pvc.labels[\"a\\\"b{{\"]}\")\n",
        );
        check(r#"let e = """#, "let e = \"\"\n");
    }

    #[test]
    fn path_keys_use_the_language_escapes() {
        // Rust's `{:?}` would write `\u{1}` and `\r`; the language has neither.
        check(
            "let k = a.labels[\"x\u{1}\ry\"]\n",
            "let k = a.labels[\"x\u{1}\ry\"]\n",
        );
    }

    #[test]
    fn signs_and_named_args() {
        check(
            "when x then scale(-1,min=+2,max = - 3, to=--4)",
            "when x then scale(-1, min = +2, max = -3, to = --4)\n",
        );
    }

    #[test]
    fn long_then_wraps_after_each_comma() {
        let long =
            "notify(\"oncall\", \"{pvc.name} in {pvc.namespace} was grown because it was full\")";
        check(
            &format!(
                "policy p {{ when x then resize(+50%, max = 1Ti), {long}, event(\"Grown\", \"y\") }}"
            ),
            &format!(
                "policy p {{\n  when x\n  then resize(+50%, max = 1Ti),\n      {long},\n      event(\"Grown\", \"y\")\n}}\n"
            ),
        );
        check(
            &format!("when pvc.usage > 90% then resize(+50%, max = 1Ti), {long}"),
            &format!("when pvc.usage > 90% then resize(+50%, max = 1Ti),\n    {long}\n"),
        );
        // One action never wraps, however long.
        let one = format!("when x then {}", long.repeat(2).replace(")notify(", ", "));
        check(&one, &format!("{one}\n"));
    }

    #[test]
    fn then_exactly_at_the_width_stays_on_one_line() {
        let pad = "x".repeat(100 - "  then a(), b(\"\")".len());
        let line = format!("  then a(), b(\"{pad}\")");
        assert_eq!(line.len(), WIDTH);
        check(
            &format!("policy p {{\n{line}\n}}\n"),
            &format!("policy p {{\n{line}\n}}\n"),
        );
        let pad = format!("{pad}y");
        check(
            &format!("policy p {{\n  then a(), b(\"{pad}\")\n}}\n"),
            &format!("policy p {{\n  then a(),\n      b(\"{pad}\")\n}}\n"),
        );
    }

    #[test]
    fn metric_query_placement() {
        check(
            "metric pvc.x:duration=\n     `up` by(namespace,persistentvolumeclaim,)",
            "metric pvc.x : duration = `up` by (namespace, persistentvolumeclaim)\n",
        );
        let q = "histogram_quantile(0.99, sum by (namespace, persistentvolumeclaim, le) (rate(pg_io_write_seconds_bucket[5m])))";
        let want = format!("metric pvc.pg_write_latency : duration =\n  `{q}`\n");
        check(
            &format!("metric pvc.pg_write_latency : duration = `{q}`"),
            &want,
        );
        check(
            &format!("metric pvc.pg_write_latency : duration =\n`{q}`"),
            &want,
        );
    }

    #[test]
    fn multi_line_query_keeps_its_line_and_bytes() {
        let same = "metric pvc.x : number = `sum(\n      rate(x[5m])   \n  )` by (a, b) # end\n";
        check(same, same);
        check(
            "metric pvc.x : number =\n        `sum(\n      rate(x[5m])   \n  )`",
            "metric pvc.x : number =\n  `sum(\n      rate(x[5m])   \n  )`\n",
        );
        // `#` inside a query is not a comment.
        let hash = "metric pvc.x : number = `a # b\n`\n";
        check(hash, hash);
    }

    #[test]
    fn own_line_and_trailing_comments() {
        check(
            "# file header\n\n# about a\nlet a = 1   # trailing a   \n\n\n# about p\n\n\npolicy p { # header\n  # before on\n  on pvc # on\n\n  # after blank\n  when x # when\n  then a() # then\n  # last in block\n} # after policy\n# end of file\n",
            "# file header\n\n# about a\nlet a = 1 # trailing a\n\n# about p\n\npolicy p { # header\n  # before on\n  on pvc # on\n\n  # after blank\n  when x # when\n  then a() # then\n  # last in block\n} # after policy\n# end of file\n",
        );
    }

    #[test]
    fn comments_inside_nodes_move_before_them() {
        check(
            "policy # name\n p # brace\n{\n  when a > 1 # one\n    and b < 2 # two\n  then resize(+1%, # arg\n    max = 2Gi), # between\n    notify(\"x\", \"y\")\n}\nwhen a # cond\nthen b() # end\n",
            "# name\n# brace\npolicy p {\n  # one\n  when a > 1 and b < 2 # two\n  # arg\n  # between\n  then resize(+1%, max = 2Gi), notify(\"x\", \"y\")\n}\n\n# cond\nwhen a then b() # end\n",
        );
    }

    #[test]
    fn comment_in_an_interpolation_is_kept() {
        check(
            "when x then notify(\"a\", \"{ pvc.name # who\n}\")\n",
            "# who\nwhen x then notify(\"a\", \"{pvc.name}\")\n",
        );
    }

    #[test]
    fn comment_on_a_clause_line_after_the_brace() {
        check(
            "policy p { when x # on when\n then y() }",
            "policy p {\n  when x # on when\n  then y()\n}\n",
        );
        check("policy p { # just this\n}", "policy p { # just this\n}\n");
        check("policy p {\n\n  # todo\n\n}", "policy p {\n  # todo\n}\n");
    }

    #[test]
    fn blank_lines_between_clauses_go_but_not_before_comments() {
        check(
            "policy p {\n\n  when x\n\n  then y()\n\n  # c\n\n  mode approve\n\n}",
            "policy p {\n  when x\n  then y()\n\n  # c\n\n  mode approve\n}\n",
        );
    }

    #[test]
    fn parentheses_are_kept_as_written() {
        check(
            "let a = ((1 + 2)) * (3)\nlet b = not (x or y) and (not z)",
            "let a = ((1 + 2)) * (3)\nlet b = not (x or y) and (not z)\n",
        );
    }

    #[test]
    fn crlf_input() {
        check(
            "let a = 1 # c\r\n\r\nlet b = 2\r\n",
            "let a = 1 # c\n\nlet b = 2\n",
        );
    }

    #[test]
    fn parse_errors_are_returned_not_formatted() {
        let diags = format_source(FileId(3), "policy p { when }").unwrap_err();
        assert_eq!(diags[0].code, crate::syntax::parse::codes::SYNTAX);
        assert_eq!(diags[0].primary.span.file, FileId(3));
    }

    #[test]
    fn same_ast_ignores_spans_only() {
        let parse = |t: &str| crate::syntax::parse(FileId(0), t).0;
        assert!(same_ast(
            &parse("let a = 1+2"),
            &parse("\n\nlet  a =\n 1 + 2 # c")
        ));
        assert!(!same_ast(
            &parse("let a = 1 + 2"),
            &parse("let a = (1 + 2)")
        ));
        assert!(!same_ast(&parse("let a = 1_0"), &parse("let a = 10")));
    }

    #[test]
    fn design_examples() {
        let text = "when pvc.usage > 50% for 5m then resize(+100%, max=400Gi)\n\npolicy grow_postgres {\n  on pvc where pvc.labels.app == \"postgres\" and namespace.labels.tier == \"db\"\n  when pvc.usage > 80% or pvc.inodes_usage > 80% for 10m\n  then resize(+50%, max = 1Ti, min_step = 10Gi), notify(\"oncall\", \"{pvc.name} grown\")\n  cooldown 1h\n  at_most 3 per 1h\n}\n\nmetric pvc.pg_write_latency : duration =\n  `histogram_quantile(0.99, sum by (namespace, persistentvolumeclaim, le) (rate(pg_io_write_seconds_bucket[5m])))`\n\npolicy faster_disk_when_slow {\n  on pvc where pvc.storage_class == \"standard\"\n  when pvc.pg_write_latency > 20ms for 15m\n  then set_class(\"fast-iops\")\n  mode approve\n}\n";
        check(text, &text.replace("max=400Gi", "max = 400Gi"));
    }
}
