//! Policies and rules: their clauses picked out ([`Parts`]) and checked,
//! the subject kind inferred, and the whole lowered to an [`ir::Policy`].

use super::env::Undo;
use super::{Checker, MAX_POLICY_NAME, actions, codes, expr, window};
use crate::diagnostic::{Diagnostic, did_you_mean};
use crate::ir::{self, Kind, Type};
use crate::source::{FileId, Span};
use crate::syntax::ast;

impl Checker<'_> {
    pub(super) fn policy(&mut self, p: &ast::Policy) -> Option<ir::Policy> {
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

    pub(super) fn rule(&mut self, file: FileId, r: &ast::Rule) -> Option<ir::Policy> {
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
