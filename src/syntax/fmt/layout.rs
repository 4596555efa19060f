//! The layout: items, clauses, expressions and strings to lines.

use super::*;

pub(super) struct Formatter<'t> {
    pub(super) text: &'t str,
    /// Output lines without their newline; a line may hold a multi-line query.
    pub(super) lines: Vec<String>,
}

impl Formatter<'_> {
    pub(super) fn line(&mut self, indent: usize, s: &str) {
        self.lines.push(format!("{:indent$}{s}", ""));
    }

    pub(super) fn blank(&mut self) {
        if self.lines.last().is_some_and(|l| !l.is_empty()) {
            self.lines.push(String::new());
        }
    }

    pub(super) fn trailing(&mut self, comment: Option<&Comment>) {
        if let (Some(c), Some(last)) = (comment, self.lines.last_mut()) {
            last.push(' ');
            last.push_str(&c.text);
        }
    }

    /// Own-line comments, then those moved out of the child, then the child.
    pub(super) fn before(&mut self, indent: usize, slot: &Slot, moved: &[&Comment]) {
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

    pub(super) fn dangling(&mut self, indent: usize, notes: &[Note]) {
        for note in notes {
            if note.blank_before {
                self.blank();
            }
            self.line(indent, &note.comment.text);
        }
    }

    pub(super) fn file(&mut self, file: &File, comments: &[&Comment]) {
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

    pub(super) fn item(&mut self, item: &Item, slot: &Slot) {
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

    pub(super) fn let_item(&mut self, x: &Let) {
        let line = format!("let {} = {}", x.name.name, self.expr(&x.value));
        self.line(0, &line);
    }

    pub(super) fn metric(&mut self, m: &Metric) {
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

    pub(super) fn rule(&mut self, r: &Rule) {
        let head = format!("{} then", self.when(&r.when));
        self.then(0, &head, &r.then);
    }

    pub(super) fn policy(&mut self, p: &Policy, open: usize, comments: &[&Comment]) {
        let spans: Vec<Span> = p.clauses.iter().map(|c| c.span).collect();
        let head = format!("policy {}", p.name.name);
        self.block(&head, open, comments, &spans, &mut |f, i| {
            f.clause(&p.clauses[i])
        });
    }

    pub(super) fn test(&mut self, t: &Test, open: usize, comments: &[&Comment]) {
        let spans: Vec<Span> = t.stmts.iter().map(|s| s.span).collect();
        let head = format!("test {}", self.string(&t.name));
        self.block(&head, open, comments, &spans, &mut |f, i| {
            let line = f.test_stmt(&t.stmts[i]);
            f.line(INDENT, &line);
        });
    }

    /// `HEAD { … }` with one child per line, comments kept with the children.
    pub(super) fn block(
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

    pub(super) fn test_stmt(&self, s: &TestStmt) -> String {
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
            TestStmtKind::Restart { at } => format!("restart at {}", self.expr(at)),
            TestStmtKind::Change {
                op,
                kind,
                id,
                at,
                fields,
            } => {
                let mut line = format!(
                    "{} {} {} at {}",
                    op.word(),
                    kind.name,
                    self.string(id),
                    self.expr(at)
                );
                if let Some(r) = fields {
                    line.push(' ');
                    line.push_str(&self.record(r));
                }
                line
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

    pub(super) fn target(&self, t: &Target) -> String {
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

    pub(super) fn record(&self, r: &Record) -> String {
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

    pub(super) fn clause(&mut self, c: &Clause) {
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

    pub(super) fn when(&self, w: &When) -> String {
        let condition = self.expr(&w.condition);
        match &w.hold {
            Some(d) => format!("when {condition} for {}", self.expr(d)),
            None => format!("when {condition}"),
        }
    }

    /// `HEAD a(), b()`, or wrapped after each comma when too wide.
    pub(super) fn then(&mut self, indent: usize, head: &str, t: &Then) {
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

    pub(super) fn action(&self, a: &Action) -> String {
        let args: Vec<String> = a.args.iter().map(|x| self.arg(x)).collect();
        format!("{}({})", a.name.name, args.join(", "))
    }

    pub(super) fn arg(&self, a: &Arg) -> String {
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

    pub(super) fn expr(&self, e: &Expr) -> String {
        let mut out = String::new();
        self.write_expr(&mut out, e);
        out
    }

    /// Prints the tree as written: the parser built it from this very token
    /// sequence, so it parses back to the same tree without added parentheses.
    pub(super) fn write_expr(&self, out: &mut String, e: &Expr) {
        match &e.kind {
            ExprKind::Number(n) => {
                out.push_str(&n.text);
                if let Some(u) = n.unit.filter(|_| !n.compound) {
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

    pub(super) fn write_list(&self, out: &mut String, items: &[Expr]) {
        for (i, item) in items.iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            self.write_expr(out, item);
        }
    }

    pub(super) fn string(&self, s: &Str) -> String {
        let mut out = String::from('"');
        for part in &s.parts {
            match part {
                StrPart::Text(t) => escape_into(&mut out, t),
                StrPart::Interp(e) => {
                    out.push('{');
                    self.write_expr(&mut out, e);
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
pub(super) fn escape_into(out: &mut String, text: &str) {
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

pub(super) fn idents(ids: &[Ident]) -> String {
    ids.iter()
        .map(|i| i.name.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Columns of the first line of `s`.
pub(super) fn width(s: &str) -> usize {
    s.split('\n').next().unwrap_or("").chars().count()
}

/// The offset of a policy's `{`: the first one after its name that is not in
/// a comment (only whitespace and comments come between).
/// The `{` of a block, between its name and its end, skipping comments.
pub(super) fn open_brace(text: &str, from: usize, end: usize) -> usize {
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
