//! pest pairs to AST nodes, with spans, depth and size caps.

use super::*;

pub(super) struct Builder<'t> {
    pub(super) file: FileId,
    pub(super) text: &'t str,
    /// Where in `text` the pairs' input starts: items are parsed one by one.
    pub(super) offset: usize,
    /// To cut trailing comments out of spans.
    pub(super) comments: Vec<Comment>,
    pub(super) diags: RefCell<Vec<Diagnostic>>,
}

/// An expression and the depth of its tree.
pub(super) type Sized = (Expr, usize);

impl<'t> Builder<'t> {
    pub(super) fn new(file: FileId, text: &'t str) -> Builder<'t> {
        Builder {
            file,
            text,
            offset: 0,
            comments: comments::comments(text),
            diags: RefCell::new(Vec::new()),
        }
    }

    /// The pair's span up to its last token. Pest leaves the whitespace and
    /// comments it skipped before a trailing optional part that matched
    /// nothing (`when x` + `for`?) inside the pair; labels must not cover them.
    pub(super) fn span(&self, pair: &Pair<Rule>) -> Span {
        let s = pair.as_span();
        let start = self.offset + s.start();
        let end = comments::trim_trivia(self.text, &self.comments, start, self.offset + s.end());
        Span::new(self.file, start, end)
    }

    /// The span of an atomic token, whose trailing whitespace is content.
    pub(super) fn token_span(&self, pair: &Pair<Rule>) -> Span {
        let s = pair.as_span();
        Span::new(self.file, self.offset + s.start(), self.offset + s.end())
    }

    pub(super) fn error(&self, d: Diagnostic) {
        self.diags.borrow_mut().push(d);
    }

    /// Children of a pair without the keyword tokens.
    pub(super) fn children<'i>(pair: Pair<'i, Rule>) -> impl Iterator<Item = Pair<'i, Rule>> {
        pair.into_inner().filter(|p| !is_keyword(p.as_rule()))
    }

    pub(super) fn item(&self, pair: Pair<Rule>) -> Item {
        let span = self.span(&pair);
        match pair.as_rule() {
            Rule::let_item => {
                let mut it = Self::children(pair);
                let name = self.ident(it.next().expect("let name"));
                let value = self.expr(it.next().expect("let value"));
                Item::Let(Let { name, value, span })
            }
            Rule::metric_item => {
                let mut it = Self::children(pair);
                let kind = self.ident(it.next().expect("metric kind"));
                let name = self.ident(it.next().expect("metric name"));
                let ty = self.ident(it.next().expect("metric type"));
                let promql = self.promql(it.next().expect("metric promql"));
                let by = it.next().map(|p| By {
                    span: self.span(&p),
                    labels: Self::children(p).map(|l| self.ident(l)).collect(),
                });
                Item::Metric(Metric {
                    kind,
                    name,
                    ty,
                    promql,
                    by,
                    span,
                })
            }
            Rule::policy_item => {
                let mut it = Self::children(pair);
                let name = self.ident(it.next().expect("policy name"));
                let clauses = it.map(|c| self.clause(c)).collect();
                Item::Policy(Policy {
                    name,
                    clauses,
                    span,
                })
            }
            Rule::rule_item => {
                let mut it = pair.into_inner();
                let when = self.when(it.next().expect("rule when"));
                let then = self.then(it.next().expect("rule then"));
                Item::Rule(ast::Rule { when, then, span })
            }
            Rule::test_item => Item::Test(self.test(pair, span)),
            other => unreachable!("grammar gives no item {other:?}"),
        }
    }

    pub(super) fn test(&self, pair: Pair<Rule>, span: Span) -> ast::Test {
        let mut it = Self::children(pair);
        let name = self.string(it.next().expect("test name"));
        let stmts = it.map(|p| self.test_stmt(p)).collect();
        ast::Test { name, stmts, span }
    }

    pub(super) fn test_stmt(&self, pair: Pair<Rule>) -> ast::TestStmt {
        use ast::TestStmtKind as K;
        let span = self.span(&pair);
        let rule = pair.as_rule();
        let mut it = pair.into_inner();
        let kind = match rule {
            Rule::t_setting => {
                let name = self.ident(it.next().expect("setting word"));
                K::Setting {
                    name,
                    value: self.expr(it.next().expect("setting value")),
                }
            }
            Rule::t_object => K::Object {
                kind: self.ident(it.next().expect("object kind")),
                id: self.string(it.next().expect("object id")),
                fields: it.next().map(|r| self.record(r)),
            },
            Rule::t_series => {
                it.next(); // `series`
                let first = it.next().expect("series target");
                let target = if first.as_rule() == Rule::promql {
                    ast::SeriesTarget::Raw(self.promql(first))
                } else {
                    ast::SeriesTarget::Metric {
                        path: self.path(first),
                        object: self.string(it.next().expect("series object")),
                    }
                };
                K::Series {
                    target,
                    values: self.string(it.next().expect("series values")),
                }
            }
            Rule::t_restart => {
                it.next(); // `restart`
                it.next(); // `at`
                K::Restart {
                    at: self.expr(it.next().expect("restart time")),
                }
            }
            Rule::t_change => {
                let op = match it.next().expect("change word").as_rule() {
                    Rule::kw_set => ast::ChangeOp::Set,
                    Rule::kw_create => ast::ChangeOp::Create,
                    _ => ast::ChangeOp::Delete,
                };
                let kind = self.ident(it.next().expect("change kind"));
                let id = self.string(it.next().expect("change object"));
                it.next(); // `at`
                let at = self.expr(it.next().expect("change time"));
                K::Change {
                    op,
                    kind,
                    id,
                    at,
                    fields: it.next().map(|r| self.record(r)),
                }
            }
            Rule::t_decision => {
                let word = it.next().expect("decision word");
                let approve = word.as_rule() == Rule::kw_approve;
                let target = self.target(it.next().expect("decision target"));
                it.next(); // `at`
                K::Decision {
                    approve,
                    target,
                    at: self.expr(it.next().expect("decision time")),
                }
            }
            Rule::t_expect => {
                it.next(); // `expect`
                let mut next = it.next().expect("expectation");
                let target = if next.as_rule() == Rule::target {
                    let t = self.target(next);
                    next = it.next().expect("expectation after target");
                    Some(t)
                } else {
                    None
                };
                K::Expect {
                    target,
                    what: self.expectation(next),
                }
            }
            other => unreachable!("grammar gives no test statement {other:?}"),
        };
        ast::TestStmt { kind, span }
    }

    pub(super) fn target(&self, pair: Pair<Rule>) -> ast::Target {
        let span = self.span(&pair);
        let mut it = pair.into_inner();
        let first = it.next().expect("target policy");
        let (policy, quoted) = if first.as_rule() == Rule::string {
            let s = self.string(first);
            let name = s.as_plain().unwrap_or_default();
            (ast::Ident { name, span: s.span }, true)
        } else {
            (self.ident(first), false)
        };
        ast::Target {
            policy,
            quoted,
            object: self.string(it.next().expect("target object")),
            span,
        }
    }

    pub(super) fn expectation(&self, pair: Pair<Rule>) -> ast::Expectation {
        let rule = pair.as_rule();
        let mut it = pair.into_inner().filter(|p| {
            !matches!(
                p.as_rule(),
                Rule::kw_at
                    | Rule::kw_is
                    | Rule::kw_to
                    | Rule::kw_no
                    | Rule::kw_action
                    | Rule::kw_from
            )
        });
        if rule == Rule::expect_none {
            let from = self.expr(it.next().expect("from"));
            let to = self.expr(it.next().expect("to"));
            return ast::Expectation::NoAction { from, to };
        }
        let at = self.expr(it.next().expect("expectation time"));
        let what = it.next().expect("expectation body");
        let mut parts = what
            .clone()
            .into_inner()
            .filter(|p| !matches!(p.as_rule(), Rule::kw_is | Rule::kw_to));
        if what.as_rule() == Rule::expect_state {
            let state = self.ident(parts.next().expect("state"));
            return ast::Expectation::State { at, state };
        }
        let action = self.ident(parts.next().expect("action"));
        let mut to = None;
        let mut result = None;
        for p in parts {
            match p.as_rule() {
                Rule::result_name => result = Some(self.ident(p)),
                _ => to = Some(self.expr(p)),
            }
        }
        ast::Expectation::Action {
            at,
            action,
            to,
            result,
        }
    }

    pub(super) fn record(&self, pair: Pair<Rule>) -> ast::Record {
        let span = self.span(&pair);
        let fields = pair
            .into_inner()
            .map(|f| {
                let fspan = self.span(&f);
                let mut it = f.into_inner();
                let key = it.next().expect("field name");
                let name = if key.as_rule() == Rule::string {
                    let s = self.string(key);
                    ast::Ident {
                        name: s.as_plain().unwrap_or_default(),
                        span: s.span,
                    }
                } else {
                    self.ident(key)
                };
                let v = it.next().expect("field value");
                let value = if v.as_rule() == Rule::record {
                    ast::FieldValue::Record(self.record(v))
                } else {
                    ast::FieldValue::Expr(self.expr(v))
                };
                ast::RecordField {
                    name,
                    value,
                    span: fspan,
                }
            })
            .collect();
        ast::Record { fields, span }
    }

    pub(super) fn clause(&self, pair: Pair<Rule>) -> Clause {
        let span = self.span(&pair);
        let rule = pair.as_rule();
        let kind = match rule {
            Rule::when_clause => ClauseKind::When(self.when(pair)),
            Rule::then_clause => ClauseKind::Then(self.then(pair)),
            _ => {
                let mut it = Self::children(pair);
                let mut next = || it.next().expect("grammar guarantees the clause's parts");
                match rule {
                    Rule::on_clause => {
                        let kind = self.ident(next());
                        let filter = it.next().map(|p| self.expr(p));
                        ClauseKind::On { kind, filter }
                    }
                    Rule::cooldown_clause => ClauseKind::Cooldown(self.expr(next())),
                    Rule::mode_clause => ClauseKind::Mode(self.ident(next())),
                    Rule::no_data_clause => ClauseKind::NoData(self.ident(next())),
                    Rule::window_clause => ClauseKind::Window(self.string(next())),
                    Rule::at_most_clause => {
                        let count = self.expr(next());
                        let per = self.expr(next());
                        ClauseKind::AtMost { count, per }
                    }
                    other => unreachable!("grammar gives no clause {other:?}"),
                }
            }
        };
        Clause { kind, span }
    }

    pub(super) fn when(&self, pair: Pair<Rule>) -> When {
        let span = self.span(&pair);
        let mut it = Self::children(pair);
        let condition = self.expr(it.next().expect("when condition"));
        let hold = it.next().map(|p| self.expr(p));
        When {
            condition,
            hold,
            span,
        }
    }

    pub(super) fn then(&self, pair: Pair<Rule>) -> Then {
        let span = self.span(&pair);
        let actions = Self::children(pair).map(|a| self.action(a)).collect();
        Then { actions, span }
    }

    pub(super) fn action(&self, pair: Pair<Rule>) -> Action {
        let span = self.span(&pair);
        let mut it = pair.into_inner();
        let name = self.ident(it.next().expect("action name"));
        let args = it.map(|a| self.arg(a)).collect();
        Action { name, args, span }
    }

    pub(super) fn arg(&self, pair: Pair<Rule>) -> Arg {
        let span = self.span(&pair);
        let mut name = None;
        let mut sign = None;
        let mut value = None;
        for p in pair.into_inner() {
            match p.as_rule() {
                Rule::ident => name = Some(self.ident(p)),
                Rule::signed => {
                    let mut it = p.into_inner();
                    let s = it.next().expect("sign");
                    let which = if s.as_str() == "+" {
                        Sign::Plus
                    } else {
                        Sign::Minus
                    };
                    sign = Some((which, self.span(&s)));
                    value = Some(self.expr(it.next().expect("signed value")));
                }
                _ => value = Some(self.expr(p)),
            }
        }
        Arg {
            name,
            sign,
            value: value.expect("grammar guarantees an argument value"),
            span,
        }
    }

    pub(super) fn ident(&self, pair: Pair<Rule>) -> Ident {
        Ident {
            name: pair.as_str().to_string(),
            span: self.span(&pair),
        }
    }

    pub(super) fn promql(&self, pair: Pair<Rule>) -> Promql {
        let text = pair.into_inner().next().expect("promql text");
        Promql {
            text: text.as_str().to_string(),
            span: self.token_span(&text),
        }
    }

    // ------------------------------------------------------------ expressions

    pub(super) fn expr(&self, pair: Pair<Rule>) -> Expr {
        self.sized(pair).0
    }

    pub(super) fn sized(&self, pair: Pair<Rule>) -> Sized {
        let span = self.span(&pair);
        // Every term and every prefix operator takes a character, so a
        // short expression is within both limits without counting.
        let short = pair.as_str().len() <= MAX_EXPR_DEPTH.min(MAX_EXPR_TERMS);
        if !short && pair.clone().into_inner().count() > MAX_EXPR_TERMS {
            self.error(
                Diagnostic::error(
                    codes::TOO_LONG,
                    span,
                    format!("expression has more than {MAX_EXPR_TERMS} terms"),
                )
                .label("too long")
                .help("split the expression with `let` constants"),
            );
            return (error_expr(span), 0);
        }
        if !short && prefix_depth(&pair) > MAX_EXPR_DEPTH {
            self.error(
                Diagnostic::error(
                    codes::TOO_DEEP,
                    span,
                    format!("expression nests deeper than {MAX_EXPR_DEPTH} levels"),
                )
                .label("too deep")
                .help("split the expression with `let` constants"),
            );
            return (error_expr(span), 0);
        }
        PRATT
            .map_primary(|p| self.primary(p))
            .map_prefix(|op, (rhs, depth)| {
                let op_span = self.span(&op);
                let op = match op.as_rule() {
                    Rule::op_not => UnaryOp::Not,
                    _ => UnaryOp::Neg,
                };
                let span = op_span.to(rhs.span);
                self.deepen(
                    Expr {
                        kind: ExprKind::Unary {
                            op,
                            expr: Box::new(rhs),
                        },
                        span,
                    },
                    depth,
                )
            })
            .map_infix(|(lhs, ld), op, (rhs, rd)| {
                let op = binary_op(op.as_rule());
                let span = lhs.span.to(rhs.span);
                self.deepen(
                    Expr {
                        kind: ExprKind::Binary {
                            op,
                            lhs: Box::new(lhs),
                            rhs: Box::new(rhs),
                        },
                        span,
                    },
                    ld.max(rd),
                )
            })
            .parse(pair.into_inner())
    }

    /// Wraps a node one level above children of depth `depth`; past the cap
    /// the subtree becomes an error node so that no tree grows without bound.
    pub(super) fn deepen(&self, expr: Expr, depth: usize) -> Sized {
        if depth < MAX_EXPR_DEPTH {
            return (expr, depth + 1);
        }
        if depth == MAX_EXPR_DEPTH {
            self.error(
                Diagnostic::error(
                    codes::TOO_DEEP,
                    expr.span,
                    format!("expression nests deeper than {MAX_EXPR_DEPTH} levels"),
                )
                .label("too deep")
                .help("split the expression with `let` constants"),
            );
        }
        (error_expr(expr.span), MAX_EXPR_DEPTH + 1)
    }

    pub(super) fn primary(&self, pair: Pair<Rule>) -> Sized {
        let span = self.span(&pair);
        let leaf = |kind| (Expr { kind, span }, 1);
        match pair.as_rule() {
            Rule::quantity => leaf(self.quantity(pair)),
            Rule::string => leaf(ExprKind::Str(self.string(pair))),
            Rule::boolean => leaf(ExprKind::Bool(pair.as_str() == "true")),
            Rule::path => leaf(ExprKind::Path(self.path(pair))),
            Rule::paren => {
                let (inner, depth) = self.sized(pair.into_inner().next().expect("paren expr"));
                self.deepen(
                    Expr {
                        kind: ExprKind::Paren(Box::new(inner)),
                        span,
                    },
                    depth,
                )
            }
            Rule::list => {
                let (items, depth) = self.sized_all(pair.into_inner());
                self.deepen(
                    Expr {
                        kind: ExprKind::List(items),
                        span,
                    },
                    depth,
                )
            }
            Rule::call => {
                let mut it = pair.into_inner();
                let name = self.ident(it.next().expect("call name"));
                let (args, depth) = self.sized_all(it);
                self.deepen(
                    Expr {
                        kind: ExprKind::Call { name, args },
                        span,
                    },
                    depth,
                )
            }
            other => unreachable!("grammar gives no primary {other:?}"),
        }
    }

    pub(super) fn sized_all<'i>(
        &self,
        pairs: impl Iterator<Item = Pair<'i, Rule>>,
    ) -> (Vec<Expr>, usize) {
        let mut depth = 0;
        let items = pairs
            .map(|p| {
                let (e, d) = self.sized(p);
                depth = depth.max(d);
                e
            })
            .collect();
        (items, depth)
    }

    pub(super) fn quantity(&self, pair: Pair<Rule>) -> ExprKind {
        let mut it = pair.into_inner();
        let digits = it.next().expect("quantity number");
        let text = digits.as_str().to_string();
        let value = if text.contains('_') {
            text.replace('_', "").parse::<f64>()
        } else {
            text.parse::<f64>()
        }
        .unwrap_or(f64::INFINITY);
        if !value.is_finite() {
            self.error(
                Diagnostic::error(codes::BAD_NUMBER, self.span(&digits), "number is too large")
                    .label("too large")
                    .help("numbers must fit in a 64-bit float"),
            );
            return ExprKind::Error;
        }
        let unit = match it.next() {
            None => None,
            Some(u) if u.as_rule() == Rule::unit => Unit::from_suffix(u.as_str()),
            Some(tail) if tail.as_rule() == Rule::duration_tail => {
                let whole = format!("{text}{}", tail.as_str());
                return match crate::ir::parse_duration(&whole) {
                    Ok(value) => ExprKind::Number(Number {
                        text: whole,
                        value,
                        unit: Some(Unit::Seconds),
                        compound: true,
                    }),
                    Err(e) => {
                        let span = self.span(&digits).to(self.span(&tail));
                        self.error(
                            Diagnostic::error(
                                codes::BAD_NUMBER,
                                span,
                                format!("`{whole}` is not a duration"),
                            )
                            .label("not a duration")
                            .help(e.text()),
                        );
                        ExprKind::Error
                    }
                };
            }
            Some(bad) => {
                self.error(unknown_unit(bad.as_str(), self.span(&bad)));
                return ExprKind::Error;
            }
        };
        ExprKind::Number(Number {
            text,
            value,
            unit,
            compound: false,
        })
    }

    pub(super) fn path(&self, pair: Pair<Rule>) -> Path {
        let span = self.span(&pair);
        let segments = pair
            .into_inner()
            .map(|p| {
                let span = self.span(&p);
                match p.as_rule() {
                    Rule::ident => Segment {
                        name: p.as_str().to_string(),
                        quoted: false,
                        span,
                    },
                    _ => {
                        let inner = p.into_inner().next().expect("segment body");
                        if inner.as_rule() == Rule::string {
                            let s = self.string(inner);
                            let name = s.as_plain().unwrap_or_else(|| {
                                self.error(
                                    Diagnostic::error(
                                        codes::SYNTAX,
                                        s.span,
                                        "a label key cannot interpolate",
                                    )
                                    .label("interpolation in a key")
                                    .help("write the key literally, `{{` for a brace"),
                                );
                                String::new()
                            });
                            Segment {
                                name,
                                quoted: true,
                                span,
                            }
                        } else {
                            // `.name`: point at the name, not the dot.
                            Segment {
                                name: inner.as_str().to_string(),
                                quoted: false,
                                span: self.span(&inner),
                            }
                        }
                    }
                }
            })
            .collect();
        Path { segments, span }
    }

    pub(super) fn string(&self, pair: Pair<Rule>) -> Str {
        let span = self.span(&pair);
        let mut parts: Vec<StrPart> = Vec::new();
        let mut text = String::new();
        for p in pair.into_inner() {
            match p.as_rule() {
                Rule::str_text => text.push_str(p.as_str()),
                Rule::str_brace => text.push(p.as_str().chars().next().unwrap_or('{')),
                Rule::str_escape => match &p.as_str()[1..] {
                    "\"" => text.push('"'),
                    "\\" => text.push('\\'),
                    "n" => text.push('\n'),
                    "t" => text.push('\t'),
                    other => {
                        self.error(
                            Diagnostic::error(
                                codes::BAD_ESCAPE,
                                self.token_span(&p),
                                format!("unknown escape `\\{other}`"),
                            )
                            .label("unknown escape")
                            .help("strings know `\\\"`, `\\\\`, `\\n` and `\\t`"),
                        );
                    }
                },
                Rule::interp => {
                    if !text.is_empty() {
                        parts.push(StrPart::Text(std::mem::take(&mut text)));
                    }
                    let e = p.into_inner().next().expect("interpolated expression");
                    parts.push(StrPart::Interp(self.expr(e)));
                }
                other => unreachable!("grammar gives no string part {other:?}"),
            }
        }
        if !text.is_empty() || parts.is_empty() {
            parts.push(StrPart::Text(text));
        }
        Str { parts, span }
    }
}

/// How deep `not` and `-` nest in one flat expression. The Pratt parser
/// recurses once per level before the tree can be capped, so this is
/// measured first: `-` ends at the next operator, `not` at `and` or `or`.
pub(super) fn prefix_depth(pair: &Pair<Rule>) -> usize {
    let mut open: Vec<Rule> = Vec::new();
    let mut deepest = 0;
    for p in pair.clone().into_inner() {
        match p.as_rule() {
            Rule::op_not | Rule::op_neg => {
                open.push(p.as_rule());
                deepest = deepest.max(open.len());
            }
            Rule::op_or | Rule::op_and => open.clear(),
            r if is_infix(r) => {
                while open.last() == Some(&Rule::op_neg) {
                    open.pop();
                }
            }
            _ => {}
        }
    }
    deepest
}

pub(super) fn is_infix(rule: Rule) -> bool {
    use Rule::*;
    matches!(
        rule,
        op_or
            | op_and
            | op_in
            | op_not_in
            | op_eq
            | op_ne
            | op_ge
            | op_le
            | op_gt
            | op_lt
            | op_add
            | op_sub
            | op_mul
            | op_div
            | op_coalesce
    )
}

pub(super) fn is_keyword(rule: Rule) -> bool {
    use Rule::*;
    matches!(
        rule,
        kw_let
            | kw_metric
            | kw_policy
            | kw_when
            | kw_for
            | kw_then
            | kw_on
            | kw_where
            | kw_cooldown
            | kw_mode
            | kw_no_data
            | kw_window
            | kw_at_most
            | kw_per
            | kw_by
            | kw_test
    )
}

pub(super) fn error_expr(span: Span) -> Expr {
    Expr {
        kind: ExprKind::Error,
        span,
    }
}

pub(super) fn binary_op(rule: Rule) -> BinaryOp {
    match rule {
        Rule::op_or => BinaryOp::Or,
        Rule::op_and => BinaryOp::And,
        Rule::op_eq => BinaryOp::Eq,
        Rule::op_ne => BinaryOp::Ne,
        Rule::op_lt => BinaryOp::Lt,
        Rule::op_le => BinaryOp::Le,
        Rule::op_gt => BinaryOp::Gt,
        Rule::op_ge => BinaryOp::Ge,
        Rule::op_in => BinaryOp::In,
        Rule::op_not_in => BinaryOp::NotIn,
        Rule::op_add => BinaryOp::Add,
        Rule::op_sub => BinaryOp::Sub,
        Rule::op_mul => BinaryOp::Mul,
        Rule::op_coalesce => BinaryOp::Coalesce,
        _ => BinaryOp::Div,
    }
}

pub(super) fn unknown_unit(written: &str, span: Span) -> Diagnostic {
    let suffixes = Unit::ALL.map(|u| u.suffix());
    let guess = match written {
        "min" | "mins" | "minute" | "minutes" => Some("m"),
        "sec" | "secs" | "second" | "seconds" => Some("s"),
        "hr" | "hrs" | "hour" | "hours" => Some("h"),
        "day" | "days" => Some("d"),
        "KB" | "KiB" | "kb" | "Kb" => Some("Ki"),
        "MB" | "MiB" | "mb" => Some("Mi"),
        "GB" | "GiB" | "gb" | "g" => Some("Gi"),
        "TB" | "TiB" | "tb" => Some("Ti"),
        "PB" | "PiB" => Some("Pi"),
        _ => crate::diagnostic::closest(written, suffixes.iter().copied()),
    };
    let units = "units: % | Ki Mi Gi Ti Pi Ei | k M G T P E | ms s m h d w";
    let help = match guess {
        Some(g) => format!("did you mean `{g}`? {units}"),
        None => units.to_string(),
    };
    Diagnostic::error(
        codes::UNKNOWN_UNIT,
        span,
        format!("unknown unit `{written}`"),
    )
    .label("not a unit")
    .help(help)
}
