//! Names, types and units: the AST of all files becomes one typed [`ir::Program`].
//!
//! Every problem becomes a [`Diagnostic`]; checking goes on after an error so
//! that one run reports everything. A policy with an error is left out of the
//! program, and never stops the others.

mod actions;
mod expr;
mod incremental;
mod keys;
pub mod kinds;
mod promql;
mod time;
mod window;

use std::collections::{HashMap, HashSet};

use crate::diagnostic::{Diagnostic, did_you_mean};
use crate::ir::{self, Kind, MetricId, Type};
use crate::source::{FileId, SourceMap, Span};
use crate::syntax::ast;

pub use actions::NAMES as ACTION_NAMES;
pub use incremental::{Added, Change, Incremental};
pub use window::parse_window;

/// Stable diagnostic codes of the checker.
pub mod codes {
    pub const UNKNOWN_NAME: &str = "apr::type::unknown_name";
    pub const UNKNOWN_KIND: &str = "apr::type::unknown_kind";
    pub const UNKNOWN_FIELD: &str = "apr::type::unknown_field";
    pub const UNKNOWN_TYPE: &str = "apr::type::unknown_type";
    pub const UNKNOWN_ACTION: &str = "apr::type::unknown_action";
    pub const UNKNOWN_FUNCTION: &str = "apr::type::unknown_function";
    pub const UNKNOWN_ARGUMENT: &str = "apr::type::unknown_argument";
    pub const MISSING_ARGUMENT: &str = "apr::type::missing_argument";
    pub const ARGUMENTS: &str = "apr::type::arguments";
    pub const MISMATCH: &str = "apr::type::mismatch";
    pub const OPERATOR: &str = "apr::type::operator";
    pub const EXPECTED: &str = "apr::type::expected";
    pub const NOT_CONSTANT: &str = "apr::type::not_constant";
    pub const RANGE: &str = "apr::type::range";
    pub const DURATION_RANGE: &str = "apr::type::duration_range";
    pub const SIGN: &str = "apr::type::sign";
    pub const SHRINK: &str = "apr::type::shrink";
    pub const ACTION_KIND: &str = "apr::type::action_kind";
    pub const KIND_MISMATCH: &str = "apr::type::kind_mismatch";
    pub const AMBIGUOUS_KIND: &str = "apr::type::ambiguous_kind";
    pub const NO_KIND: &str = "apr::type::no_kind";
    pub const NO_NAMESPACE: &str = "apr::type::no_namespace";
    pub const DUPLICATE: &str = "apr::type::duplicate";
    pub const DUPLICATE_CLAUSE: &str = "apr::type::duplicate_clause";
    pub const MISSING_CLAUSE: &str = "apr::type::missing_clause";
    pub const BAD_VALUE: &str = "apr::type::bad_value";
    pub const WINDOW: &str = "apr::type::window";
    pub const PROMQL: &str = "apr::type::promql";
    pub const JOIN_LABELS: &str = "apr::type::join_labels";
    pub const INTERPOLATION: &str = "apr::type::interpolation";
    pub const NOT_A_VALUE: &str = "apr::type::not_a_value";
    pub const CYCLE: &str = "apr::type::cycle";
    pub const NAME_FORMAT: &str = "apr::type::name_format";
}

/// The longest policy name: a Kubernetes object name's limit.
pub const MAX_POLICY_NAME: usize = 253;

/// Every diagnostic code that parse and check can produce.
pub fn all_codes() -> Vec<&'static str> {
    use crate::syntax::parse::codes as p;
    use codes::*;
    vec![
        p::SYNTAX,
        p::UNKNOWN_UNIT,
        p::BAD_ESCAPE,
        p::BAD_NUMBER,
        p::TOO_DEEP,
        p::TOO_LONG,
        UNKNOWN_NAME,
        UNKNOWN_KIND,
        UNKNOWN_FIELD,
        UNKNOWN_TYPE,
        UNKNOWN_ACTION,
        UNKNOWN_FUNCTION,
        UNKNOWN_ARGUMENT,
        MISSING_ARGUMENT,
        ARGUMENTS,
        MISMATCH,
        OPERATOR,
        EXPECTED,
        NOT_CONSTANT,
        RANGE,
        DURATION_RANGE,
        SIGN,
        SHRINK,
        ACTION_KIND,
        KIND_MISMATCH,
        AMBIGUOUS_KIND,
        NO_KIND,
        NO_NAMESPACE,
        DUPLICATE,
        DUPLICATE_CLAUSE,
        MISSING_CLAUSE,
        BAD_VALUE,
        WINDOW,
        PROMQL,
        JOIN_LABELS,
        INTERPOLATION,
        NOT_A_VALUE,
        CYCLE,
        NAME_FORMAT,
    ]
}

/// What checking found: the program of the good policies, and all diagnostics.
#[derive(Debug, Default)]
pub struct Checked {
    pub program: ir::Program,
    pub diagnostics: Vec<Diagnostic>,
    /// `let`s and metrics that no policy reads (for lint).
    pub unused: Vec<(String, Span)>,
}

/// Checks all files together: names are global across them.
pub fn check(sources: &SourceMap, files: &[(FileId, &ast::File)]) -> Checked {
    check_whole(sources, files).0
}

/// [`check`], keeping what the files declared for [`Incremental`].
fn check_whole(sources: &SourceMap, files: &[(FileId, &ast::File)]) -> (Checked, Env) {
    let mut cx = Checker::new(sources, Env::default());
    cx.declare(files);
    let items: usize = files.iter().map(|(_, f)| f.items.len()).sum();
    let mut policies = Vec::with_capacity(items);
    cx.env.names.reserve(items);
    for (file, ast) in files {
        cx.items(*file, ast, &mut policies);
    }
    let unused = cx.env.unused();
    let mut program = ir::Program {
        metrics: cx.env.metrics.iter().map(|m| m.ir.clone()).collect(),
        policies,
    };
    keys::assign(sources, &mut program);
    let mut diagnostics = cx.diags;
    diagnostics.sort_by_key(|d| d.primary.span);
    let checked = Checked {
        program,
        diagnostics,
        unused,
    };
    (checked, cx.env)
}

/// A lone expression checked against the loaded files, with what it reads.
#[derive(Debug, Clone)]
pub struct CheckedExpr {
    pub expr: ir::Expr,
    /// Kinds named by paths, with where (in order, repeats kept).
    pub kinds: Vec<(Kind, Span)>,
    /// Bindings it reads; ids as in the program.
    pub metrics: Vec<MetricId>,
    /// Where `namespace.…` was read, if anywhere.
    pub namespace: Option<Span>,
}

struct MetricEntry {
    ir: ir::Metric,
    /// The name in the `metric` item, for "first bound here".
    name_span: Span,
    used: bool,
}

struct LetEntry {
    /// The name in the `let` item, for "first defined here".
    name_span: Span,
    state: LetState,
    used: bool,
}

enum LetState {
    /// Declared; the value is [`Checker::pending`]`[i]`. Every `let` item is
    /// checked by the checker that declared it, so none outlives it.
    Unchecked(usize),
    InProgress,
    Done(Option<expr::Typed>),
}

/// What the items checked so far declared: the names later items may use,
/// and the budgets they share. [`Incremental`] keeps it between items.
#[derive(Default)]
struct Env {
    metrics: Vec<MetricEntry>,
    metric_index: HashMap<(Kind, String), MetricId>,
    /// Bindings that failed to check: their uses are not reported again.
    broken_metrics: HashSet<(Kind, String)>,
    lets: HashMap<String, LetEntry>,
    /// Policy names, for "defined twice".
    names: HashMap<String, Span>,
    /// IR nodes copied by uses of lets so far.
    inlined: usize,
    /// User names looked through for "did you mean" so far.
    suggested: usize,
}

/// One change to an [`Env`], recorded so that it can be taken back.
enum Undo {
    Let(String),
    LetUsed(String),
    Metric((Kind, String)),
    Replaced {
        id: MetricId,
        ir: Box<ir::Metric>,
        name_span: Span,
    },
    Broken((Kind, String)),
    MetricUsed(MetricId),
    Name(String),
}

impl Env {
    /// `let`s and metrics that no policy reads, in source order.
    fn unused(&self) -> Vec<(String, Span)> {
        let mut unused = Vec::new();
        for (name, entry) in &self.lets {
            if !entry.used {
                unused.push((format!("let {name}"), entry.name_span));
            }
        }
        for m in &self.metrics {
            if !m.used && !m.ir.stdlib {
                unused.push((format!("metric {}", m.ir.qualified()), m.ir.span));
            }
        }
        unused.sort_by_key(|(_, span)| *span);
        unused
    }

    /// Takes back `journal`, newest first.
    fn revert(&mut self, journal: Vec<Undo>) {
        for undo in journal.into_iter().rev() {
            match undo {
                Undo::Let(name) => {
                    self.lets.remove(&name);
                }
                Undo::LetUsed(name) => {
                    if let Some(entry) = self.lets.get_mut(&name) {
                        entry.used = false;
                    }
                }
                Undo::Metric(key) => {
                    self.metric_index.remove(&key);
                    self.metrics.pop();
                }
                Undo::Replaced { id, ir, name_span } => {
                    if let Some(entry) = self.metrics.get_mut(id.0 as usize) {
                        entry.ir = *ir;
                        entry.name_span = name_span;
                    }
                }
                Undo::Broken(key) => {
                    self.broken_metrics.remove(&key);
                }
                Undo::MetricUsed(id) => {
                    if let Some(entry) = self.metrics.get_mut(id.0 as usize) {
                        entry.used = false;
                    }
                }
                Undo::Name(name) => {
                    self.names.remove(&name);
                }
            }
        }
    }
}

struct Checker<'a> {
    sources: &'a SourceMap,
    diags: Vec<Diagnostic>,
    env: Env,
    /// Values of the `let`s this checker declared, by [`LetState::Unchecked`].
    pending: Vec<&'a ast::Expr>,
    /// Expressions being lowered, one inside another, across lets.
    depth: usize,
    /// Changes to `env`, when they may have to be taken back.
    journal: Option<Vec<Undo>>,
}

impl<'a> Checker<'a> {
    fn new(sources: &'a SourceMap, env: Env) -> Checker<'a> {
        Checker {
            sources,
            diags: Vec::new(),
            env,
            pending: Vec::new(),
            depth: 0,
            journal: None,
        }
    }

    fn record(&mut self, undo: impl FnOnce() -> Undo) {
        if let Some(journal) = &mut self.journal {
            journal.push(undo());
        }
    }

    /// Checks the items of one file in order; its policies go to `out`.
    fn items(&mut self, file: FileId, ast: &ast::File, out: &mut Vec<ir::Policy>) {
        for item in &ast.items {
            let policy = match item {
                ast::Item::Policy(p) => self.policy(p),
                ast::Item::Rule(r) => self.rule(file, r),
                ast::Item::Let(l) => {
                    self.let_value(&l.name.name);
                    None
                }
                ast::Item::Metric(_) | ast::Item::Test(_) => None,
            };
            out.extend(policy);
        }
    }

    fn error(&mut self, d: Diagnostic) {
        self.diags.push(d);
    }

    fn is_stdlib(&self, span: Span) -> bool {
        self.sources.get(span.file).is_stdlib()
    }

    /// Collects `let`s and `metric`s of all files, so that order does not matter.
    fn declare(&mut self, files: &[(FileId, &'a ast::File)]) {
        // Stdlib first, so that a user binding of the same name replaces it.
        let mut ordered: Vec<&(FileId, &ast::File)> = files.iter().collect();
        ordered.sort_by_key(|(id, _)| !self.sources.get(*id).is_stdlib());
        for (_, file) in ordered {
            for item in &file.items {
                match item {
                    ast::Item::Let(l) => self.declare_let(l),
                    ast::Item::Metric(m) => self.declare_metric(m),
                    _ => {}
                }
            }
        }
    }

    fn declare_let(&mut self, l: &'a ast::Let) {
        if let Some(prev) = self.env.lets.get(&l.name.name) {
            let d = Diagnostic::error(
                codes::DUPLICATE,
                l.name.span,
                format!("`{}` is defined twice", l.name.name),
            )
            .label("second definition")
            .also(prev.name_span, "first defined here")
            .help("give each `let` its own name; lets are shared by all files checked together");
            self.error(d);
            return;
        }
        if Kind::from_name(&l.name.name).is_some() || l.name.name == "namespace" {
            self.error(
                Diagnostic::error(
                    codes::DUPLICATE,
                    l.name.span,
                    format!("`{}` is a kind and cannot be a `let` name", l.name.name),
                )
                .label("reserved for the kind")
                .help("choose another name"),
            );
            return;
        }
        self.env.lets.insert(
            l.name.name.clone(),
            LetEntry {
                name_span: l.name.span,
                state: LetState::Unchecked(self.pending.len()),
                used: false,
            },
        );
        self.pending.push(&l.value);
        self.record(|| Undo::Let(l.name.name.clone()));
    }

    fn declare_metric(&mut self, m: &ast::Metric) {
        let Some(kind) = self.kind(&m.kind) else {
            return;
        };
        let key = (kind, m.name.name.clone());
        if !self.declare_checked_metric(kind, m) {
            self.record(|| Undo::Broken(key.clone()));
            self.env.broken_metrics.insert(key);
        }
    }

    /// Declares one binding of a known kind; false when it has an error.
    fn declare_checked_metric(&mut self, kind: Kind, m: &ast::Metric) -> bool {
        if kinds::field(kind, &m.name.name).is_some()
            || m.name.name == "labels"
            || m.name.name == "annotations"
        {
            self.error(
                Diagnostic::error(
                    codes::DUPLICATE,
                    m.name.span,
                    format!("`{kind}.{}` is a field of the object", m.name.name),
                )
                .label("field name")
                .help("choose another name for the metric"),
            );
            return false;
        }
        let ty = match m.ty.name.as_str() {
            "percent" => Type::Percent,
            "bytes" => Type::Bytes,
            "duration" => Type::Duration,
            "number" => Type::Number,
            other => {
                let help = did_you_mean(other, ["percent", "bytes", "duration", "number"])
                    .unwrap_or_else(|| "a metric is a percent, bytes, duration or number".into());
                self.error(
                    Diagnostic::error(
                        codes::UNKNOWN_TYPE,
                        m.ty.span,
                        format!("unknown metric type `{other}`"),
                    )
                    .label("not a metric type")
                    .help(help),
                );
                return false;
            }
        };
        let join: Vec<String> = match &m.by {
            None => kind.default_join().iter().map(|s| s.to_string()).collect(),
            Some(by) => {
                let want = if kind.namespaced() { 2 } else { 1 };
                if by.labels.len() != want {
                    let shape = if kind.namespaced() {
                        "two labels, the namespace and the name: `by (namespace, persistentvolumeclaim)`"
                    } else {
                        "one label, the name: `by (node)`"
                    };
                    self.error(
                        Diagnostic::error(
                            codes::JOIN_LABELS,
                            by.span,
                            format!("`by` for a {kind} binding names {want} label(s)"),
                        )
                        .label(format!("{} label(s) here", by.labels.len()))
                        .help(format!("{kind} is joined by {shape}")),
                    );
                    return false;
                }
                by.labels.iter().map(|l| l.name.clone()).collect()
            }
        };
        let stdlib = self.is_stdlib(m.span);
        if let Err(d) = promql::check_query(&m.promql.text, m.promql.span, &join) {
            self.error(*d);
            return false;
        }
        let key = (kind, m.name.name.clone());
        let metric = ir::Metric {
            kind,
            name: m.name.name.clone(),
            ty,
            promql: m.promql.text.trim().to_string(),
            join,
            span: m.span,
            stdlib,
        };
        if let Some(&id) = self.env.metric_index.get(&key) {
            let prev = &mut self.env.metrics[id.0 as usize];
            if prev.ir.stdlib && !stdlib {
                // A user binding replaces the stdlib one of the same name.
                let ir = Box::new(std::mem::replace(&mut prev.ir, metric));
                let name_span = std::mem::replace(&mut prev.name_span, m.name.span);
                self.record(|| Undo::Replaced { id, ir, name_span });
                return true;
            }
            let prev = &self.env.metrics[id.0 as usize];
            let d = Diagnostic::error(
                codes::DUPLICATE,
                m.name.span,
                format!("metric `{kind}.{}` is bound twice", m.name.name),
            )
            .label("second binding")
            .also(prev.name_span, "first bound here")
            .help("bind each metric once across all files checked together");
            self.error(d);
            // The first binding stands; uses are fine.
            return true;
        }
        let id = MetricId(self.env.metrics.len() as u32);
        self.env.metrics.push(MetricEntry {
            ir: metric,
            name_span: m.name.span,
            used: false,
        });
        self.record(|| Undo::Metric(key.clone()));
        self.env.metric_index.insert(key, id);
        true
    }

    fn kind(&mut self, ident: &ast::Ident) -> Option<Kind> {
        let kind = Kind::from_name(&ident.name);
        if kind.is_none() {
            let help = did_you_mean(&ident.name, Kind::ALL.map(Kind::name))
                .unwrap_or_else(|| "kinds are pvc, pod, deployment, statefulset and node".into());
            self.error(
                Diagnostic::error(
                    codes::UNKNOWN_KIND,
                    ident.span,
                    format!("unknown kind `{}`", ident.name),
                )
                .label("not a kind")
                .help(help),
            );
        }
        kind
    }

    /// A `let`'s typed value, checked once, on first use.
    fn let_value(&mut self, name: &str) -> Option<Option<expr::Typed>> {
        let entry = self.env.lets.get_mut(name)?;
        let pending = match &entry.state {
            LetState::Done(v) => return Some(v.clone()),
            LetState::InProgress => {
                let span = entry.name_span;
                self.error(
                    Diagnostic::error(
                        codes::CYCLE,
                        span,
                        format!("`{name}` is defined in terms of itself"),
                    )
                    .label("defined through itself")
                    .help("a `let` may use other lets, but not in a cycle"),
                );
                return Some(None);
            }
            LetState::Unchecked(i) => *i,
        };
        entry.state = LetState::InProgress;
        let Some(value_ast) = self.pending.get(pending).copied() else {
            return Some(None);
        };
        let mut scope = expr::Scope::default();
        let value = self.expr(value_ast, &mut scope).map(|e| {
            let (depth, nodes) = expr::measure(&e);
            expr::Typed {
                depth,
                nodes,
                expr: e,
                kinds: scope.kinds,
                metrics: scope.metrics,
                namespace: scope.namespace,
            }
        });
        if let Some(entry) = self.env.lets.get_mut(name) {
            entry.state = LetState::Done(value.clone());
        }
        Some(value)
    }

    // ------------------------------------------------------------ policies

    fn policy(&mut self, p: &ast::Policy) -> Option<ir::Policy> {
        let len = p.name.name.chars().count();
        if len > MAX_POLICY_NAME {
            // The name goes into Kubernetes events and annotations.
            self.error(
                Diagnostic::error(
                    codes::NAME_FORMAT,
                    p.name.span,
                    format!("a policy name of {len} characters is too long"),
                )
                .label(format!("more than {MAX_POLICY_NAME} characters"))
                .help(format!(
                    "policy names are at most {MAX_POLICY_NAME} characters, as Kubernetes names are"
                )),
            );
        }
        let mut duplicate = false;
        if let Some(&prev) = self.env.names.get(&p.name.name) {
            self.error(
                Diagnostic::error(
                    codes::DUPLICATE,
                    p.name.span,
                    format!("policy `{}` is defined twice", p.name.name),
                )
                .label("second definition")
                .also(prev, "first defined here")
                .help("policy names are unique across all files checked together"),
            );
            duplicate = true;
        } else {
            self.env.names.insert(p.name.name.clone(), p.name.span);
            self.record(|| Undo::Name(p.name.name.clone()));
        }
        let mut parts = Parts::default();
        let mut ok = true;
        // Which clause keywords were seen, and where: a policy has a handful.
        let mut seen: Vec<(&'static str, Span)> = Vec::new();
        let find = |seen: &[(&str, Span)], keyword: &str| {
            seen.iter().find(|(k, _)| *k == keyword).map(|(_, s)| *s)
        };
        for clause in &p.clauses {
            let keyword = clause.kind.keyword();
            if let Some(prev) = find(&seen, keyword) {
                self.error(
                    Diagnostic::error(
                        codes::DUPLICATE_CLAUSE,
                        clause.span,
                        format!("`{keyword}` appears twice in policy `{}`", p.name.name),
                    )
                    .label("second clause")
                    .also(prev, "first here")
                    .help(match keyword {
                        "when" => "join the conditions with `and` or `or`",
                        "then" => "list all actions in one `then`, separated by commas",
                        _ => "keep one of them",
                    }),
                );
                ok = false;
                continue;
            }
            seen.push((keyword, clause.span));
            parts.add(&clause.kind);
        }
        for (keyword, what) in [("when", "a condition"), ("then", "actions")] {
            if find(&seen, keyword).is_none() {
                self.error(
                    Diagnostic::error(
                        codes::MISSING_CLAUSE,
                        p.name.span,
                        format!("policy `{}` has no `{keyword}` clause", p.name.name),
                    )
                    .label(format!("needs {what}"))
                    .help(match keyword {
                        "when" => "add a condition, e.g. `when pvc.usage > 80% for 10m`",
                        _ => "add an action, e.g. `then resize(+50%, max = 1Ti)`",
                    }),
                );
                ok = false;
            }
        }
        if !ok {
            return None;
        }
        let policy = self.lower_policy(p.name.name.clone(), false, p.span, &parts);
        policy.filter(|_| !duplicate)
    }

    fn rule(&mut self, file: FileId, r: &ast::Rule) -> Option<ir::Policy> {
        let source = self.sources.get(file);
        let (line, _) = source.line_col(r.span.start as usize);
        let name = format!("{}:{line}", source.name);
        let parts = Parts {
            when: Some(&r.when),
            then: Some(&r.then),
            ..Parts::default()
        };
        self.lower_policy(name, true, r.span, &parts)
    }

    fn lower_policy(
        &mut self,
        name: String,
        anonymous: bool,
        span: Span,
        parts: &Parts,
    ) -> Option<ir::Policy> {
        let errors_before = self.diags.len();
        let (when, then) = (parts.when?, parts.then?);
        let mut scope = expr::Scope::default();
        let filter = parts
            .filter
            .and_then(|f| self.condition(f, &mut scope, "`where`"));
        let condition = self.condition(&when.condition, &mut scope, "`when`");
        let hold = match &when.hold {
            Some(e) => self.millis(e, "`for`"),
            None => Some(ir::Millis::ZERO),
        };
        let kind = self.policy_kind(parts.on, &scope, then, span);
        if kind == Some(Kind::Node)
            && let Some(ns) = scope.namespace
        {
            {
                self.error(
                    Diagnostic::error(codes::NO_NAMESPACE, ns, "nodes have no namespace")
                        .label("a node policy cannot read its namespace")
                        .help("`namespace.…` works for namespaced kinds: pvc, pod, deployment, statefulset"),
                );
            }
        }
        let read_before_actions = scope.kinds.len();
        let actions = kind.and_then(|kind| self.actions(then, kind, &mut scope));
        // Paths in action messages (`{node.name}` in a pod rule) are read
        // from the subject too: another kind there is the same mistake.
        if let Some(kind) = kind {
            let mut seen: Vec<Kind> = Vec::new();
            for &(k, s) in &scope.kinds[read_before_actions.min(scope.kinds.len())..] {
                if k == kind || seen.contains(&k) {
                    continue;
                }
                seen.push(k);
                let mut d = Diagnostic::error(
                    codes::KIND_MISMATCH,
                    s,
                    format!("the policy is on {kind}, but this reads a {k}"),
                )
                .label(format!("a {k}"))
                .help(if kind == Kind::Node {
                    "a policy reads only its own object, in messages too: use `node.…` paths"
                        .to_string()
                } else {
                    format!(
                        "a policy reads only its own object, in messages too: use `{kind}.…` \
                         paths (or `namespace.…` for its namespace)"
                    )
                });
                if let Some(on) = parts.on {
                    d = d.also(on.span, format!("the policy is on {kind}"));
                }
                self.error(d);
            }
        }
        let cooldown = match parts.cooldown {
            Some(e) => self.millis(e, "`cooldown`"),
            None => Some(ir::DEFAULT_COOLDOWN),
        };
        let mode = match parts.mode {
            None => Some(ir::Mode::Enforce),
            Some(m) => self.choice(
                m,
                "mode",
                &[
                    ("enforce", ir::Mode::Enforce),
                    ("dry_run", ir::Mode::DryRun),
                    ("approve", ir::Mode::Approve),
                ],
            ),
        };
        let no_data = match parts.no_data {
            None => Some(ir::NoData::Reset),
            Some(m) => self.choice(
                m,
                "no_data",
                &[("hold", ir::NoData::Hold), ("reset", ir::NoData::Reset)],
            ),
        };
        let window = parts.window.and_then(|w| self.window(w));
        let at_most = parts
            .at_most
            .and_then(|(count, per)| self.at_most(count, per));
        if self.diags[errors_before..].iter().any(|d| d.is_error()) {
            return None;
        }
        for &id in &scope.metrics {
            let entry = &mut self.env.metrics[id.0 as usize];
            if !entry.used {
                entry.used = true;
                self.record(|| Undo::MetricUsed(id));
            }
        }
        Some(ir::Policy {
            key: name.clone(),
            name,
            anonymous,
            span,
            kind: kind?,
            filter,
            condition: condition?,
            hold: hold?,
            actions: actions?,
            cooldown: cooldown?,
            mode: mode?,
            no_data: no_data?,
            window,
            at_most,
            metrics: scope.metrics,
        })
    }

    /// The subject kind: `on`, else inferred from the paths, else from the actions.
    fn policy_kind(
        &mut self,
        on: Option<&ast::Ident>,
        scope: &expr::Scope,
        then: &ast::Then,
        span: Span,
    ) -> Option<Kind> {
        let mut used: Vec<(Kind, Span)> = Vec::new();
        for &(k, s) in &scope.kinds {
            if !used.iter().any(|(u, _)| *u == k) {
                used.push((k, s));
            }
        }
        if let Some(on) = on {
            let kind = self.kind(on)?;
            for &(k, s) in &used {
                if k != kind {
                    self.error(
                        Diagnostic::error(
                            codes::KIND_MISMATCH,
                            s,
                            format!("the policy is on {kind}, but this reads a {k}"),
                        )
                        .label(format!("a {k}"))
                        .also(on.span, format!("the policy is on {kind}"))
                        .help(format!(
                            "a policy reads only its own object: use `{kind}.…` paths"
                        )),
                    );
                }
            }
            return Some(kind);
        }
        match used.as_slice() {
            [(k, _)] => Some(*k),
            [(a, sa), (b, sb), ..] => {
                self.error(
                    Diagnostic::error(
                        codes::AMBIGUOUS_KIND,
                        *sb,
                        format!("the policy reads both {a} and {b}"),
                    )
                    .label(format!("a {b}"))
                    .also(*sa, format!("a {a}"))
                    .help("a policy is about one kind of object; split it, or add `on KIND`"),
                );
                None
            }
            [] => {
                let candidates: Vec<Kind> = then
                    .actions
                    .iter()
                    .filter_map(|a| actions::only_kind(&a.name.name))
                    .collect();
                match candidates.first() {
                    Some(&k) if candidates.iter().all(|&c| c == k) => Some(k),
                    _ => {
                        self.error(
                            Diagnostic::error(
                                codes::NO_KIND,
                                span,
                                "cannot tell which kind of object this policy is about",
                            )
                            .label("no `pvc.…`, `pod.…` or other object in the condition")
                            .help("add `on pvc` (or another kind) to a policy block"),
                        );
                        None
                    }
                }
            }
        }
    }

    fn choice<T: Copy>(
        &mut self,
        ident: &ast::Ident,
        clause: &str,
        options: &[(&str, T)],
    ) -> Option<T> {
        if let Some((_, v)) = options.iter().find(|(n, _)| *n == ident.name) {
            return Some(*v);
        }
        let names: Vec<&str> = options.iter().map(|(n, _)| *n).collect();
        let help = did_you_mean(&ident.name, names.iter().copied())
            .unwrap_or_else(|| format!("`{clause}` is one of {}", names.join(", ")));
        self.error(
            Diagnostic::error(
                codes::BAD_VALUE,
                ident.span,
                format!("unknown {clause} `{}`", ident.name),
            )
            .label(format!("not a {clause}"))
            .help(help),
        );
        None
    }

    fn window(&mut self, s: &ast::Str) -> Option<ir::Window> {
        let Some(text) = s.as_plain() else {
            self.error(
                Diagnostic::error(codes::INTERPOLATION, s.span, "a window cannot interpolate")
                    .label("interpolation")
                    .help("write the window literally, e.g. \"Mon-Fri 02:00-04:00 Europe/Berlin\""),
            );
            return None;
        };
        // Offsets in the text are offsets in the source only without escapes.
        let raw = self.sources.text(s.span);
        let exact = raw.strip_prefix('"').and_then(|r| r.strip_suffix('"')) == Some(&*text);
        window::parse_window(&text, s.span)
            .map_err(|mut d| {
                if !exact {
                    d.primary.span = s.span;
                }
                self.error(*d)
            })
            .ok()
    }

    fn at_most(&mut self, count: &ast::Expr, per: &ast::Expr) -> Option<ir::AtMost> {
        let n = self.constant(count, &[Type::Number], "the `at_most` count");
        let per_span = per.span;
        let per = self.millis(per, "`per`");
        let (_, n) = n?;
        let n = n.as_num()?;
        if n > u32::MAX as f64 {
            self.error(
                Diagnostic::error(codes::RANGE, count.span, "the `at_most` count is too large")
                    .label("too large")
                    .help(format!(
                        "at most {} actions per window; e.g. `at_most 3 per 1h`",
                        u32::MAX
                    )),
            );
            return None;
        }
        if n < 1.0 || n.fract() != 0.0 {
            self.error(
                Diagnostic::error(
                    codes::RANGE,
                    count.span,
                    "`at_most` takes a whole number of at least 1",
                )
                .label("not a count")
                .help("e.g. `at_most 3 per 1h`"),
            );
            return None;
        }
        let per = per?;
        if per == ir::Millis::ZERO {
            self.error(
                Diagnostic::error(codes::RANGE, per_span, "`per` must be a positive duration")
                    .label("not positive")
                    .help("e.g. `at_most 3 per 1h`"),
            );
            return None;
        }
        Some(ir::AtMost {
            count: n as u32,
            per,
        })
    }
}

/// The clauses of one policy, picked out of the list.
#[derive(Default)]
struct Parts<'a> {
    on: Option<&'a ast::Ident>,
    filter: Option<&'a ast::Expr>,
    when: Option<&'a ast::When>,
    then: Option<&'a ast::Then>,
    cooldown: Option<&'a ast::Expr>,
    mode: Option<&'a ast::Ident>,
    no_data: Option<&'a ast::Ident>,
    window: Option<&'a ast::Str>,
    at_most: Option<(&'a ast::Expr, &'a ast::Expr)>,
}

impl<'a> Parts<'a> {
    fn add(&mut self, clause: &'a ast::ClauseKind) {
        match clause {
            ast::ClauseKind::On { kind, filter } => {
                self.on = Some(kind);
                self.filter = filter.as_ref();
            }
            ast::ClauseKind::When(w) => self.when = Some(w),
            ast::ClauseKind::Then(t) => self.then = Some(t),
            ast::ClauseKind::Cooldown(e) => self.cooldown = Some(e),
            ast::ClauseKind::Mode(m) => self.mode = Some(m),
            ast::ClauseKind::NoData(m) => self.no_data = Some(m),
            ast::ClauseKind::Window(w) => self.window = Some(w),
            ast::ClauseKind::AtMost { count, per } => self.at_most = Some((count, per)),
        }
    }
}
