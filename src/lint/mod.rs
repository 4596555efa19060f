//! Lint: rules about policies that check but probably do not do what their
//! author meant.
//!
//! Each rule has a kebab-case name, a severity, a one-line description and a
//! function from the compiled files to diagnostics coded `apr::lint::NAME`.
//! Rules live in one module per family; [`RULES`] is the registry. Most rules
//! read the typed IR of the policies that checked (with their syntax, for
//! spans); a few read the syntax of every parsed file, so they run on
//! policies with errors too. `# apr-lint-disable NAME` comments suppress a
//! rule for one line, the item that line starts, or a file ([`suppress`]).
//!
//! Lint does no I/O; the CLI prints the check diagnostics and these together.

mod conflicts;
mod dead;
mod intervals;
mod limits;
mod modes;
mod naming;
mod resize;
mod suppress;
mod thresholds;
mod timing;

use std::collections::HashMap;

use crate::compile::Compiled;
use crate::diagnostic::{Diagnostic, Severity};
use crate::ir;
use crate::source::{FileId, SourceMap, Span};
use crate::syntax::ast;

pub use suppress::{DISABLE, DISABLE_FILE};
pub use timing::TICK;

/// One lint rule.
#[derive(Debug)]
pub struct Rule {
    /// kebab-case, as written in `# apr-lint-disable NAME`.
    pub name: &'static str,
    /// `apr::lint::NAME`.
    pub code: &'static str,
    pub severity: Severity,
    /// One line, for `autopilot lint --list`.
    pub description: &'static str,
    check: fn(&Cx) -> Vec<Diagnostic>,
}

impl Rule {
    /// A diagnostic of this rule, with its code and severity.
    pub fn diag(&self, span: Span, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            severity: self.severity,
            ..Diagnostic::warning(self.code, span, message)
        }
    }
}

/// Declares a rule: its code is `apr::lint::` followed by its name.
macro_rules! rule {
    ($id:ident = $name:literal, $severity:ident, $description:literal, $check:path) => {
        pub const $id: $crate::lint::Rule = $crate::lint::Rule {
            name: $name,
            code: concat!("apr::lint::", $name),
            severity: $crate::diagnostic::Severity::$severity,
            description: $description,
            check: $check,
        };
    };
}
use rule;

/// Every rule, by family.
pub static RULES: &[Rule] = &[
    timing::FOR_BELOW_TICK,
    timing::SHORT_RATE_RANGE,
    timing::LONG_FOR_ON_ABSENT_METRIC,
    thresholds::PERCENT_OUT_OF_RANGE,
    dead::CONSTANT_CONDITION,
    dead::UNUSED_LET,
    dead::UNUSED_METRIC,
    conflicts::CONFLICTING_ACTIONS,
    modes::DRY_RUN_IN_ENFORCING_FILE,
    resize::SHORT_RESIZE_COOLDOWN,
    resize::RESIZE_WITHOUT_MIN_STEP,
    limits::UNBOUNDED_SCALE,
    limits::UNBOUNDED_DISRUPTION,
    naming::RECEIVER_TYPO,
    naming::DUPLICATE_EVENT_REASON,
    suppress::UNKNOWN_RULE,
];

/// The rule of this name.
pub fn by_name(name: &str) -> Option<&'static Rule> {
    RULES.iter().find(|r| r.name == name)
}

/// Runs every rule over the user files of `c`; returns the diagnostics that
/// no disable comment suppresses, in source order. Check diagnostics are not
/// included: they are in `c.diagnostics`.
pub fn lint(c: &Compiled) -> Vec<Diagnostic> {
    let cx = Cx::new(c);
    let mut out: Vec<Diagnostic> = RULES
        .iter()
        .flat_map(|rule| (rule.check)(&cx))
        .filter(|d| !cx.suppressed(d))
        .collect();
    out.sort_by_key(|d| d.primary.span);
    out
}

// ---------------------------------------------------------------- what rules read

/// What a rule reads: the user files, their syntax and the checked program.
pub struct Cx<'a> {
    pub sources: &'a SourceMap,
    pub program: &'a ir::Program,
    /// User files, stdlib left out; a file with a syntax error is empty.
    pub files: Vec<(FileId, &'a ast::File)>,
    /// The user policies that checked, each with its syntax.
    pub policies: Vec<Policy<'a>>,
    /// `let`s and metrics no policy reads, from the checker.
    pub unused: &'a [(String, Span)],
    /// Parse or check found errors (some policies are missing from the IR).
    pub has_errors: bool,
    directives: HashMap<FileId, suppress::Directives>,
}

/// A checked policy and the syntax it came from.
#[derive(Clone, Copy)]
pub struct Policy<'a> {
    pub ir: &'a ir::Policy,
    pub syntax: Syntax<'a>,
}

/// A `policy NAME { … }` block or an anonymous `when … then …` rule.
#[derive(Clone, Copy, Debug)]
pub enum Syntax<'a> {
    Block(&'a ast::Policy),
    Rule(&'a ast::Rule),
}

impl<'a> Cx<'a> {
    fn new(c: &'a Compiled) -> Cx<'a> {
        let files: Vec<(FileId, &ast::File)> = c.user_files().map(|(id, f)| (*id, f)).collect();
        let mut by_span: HashMap<Span, Syntax> = HashMap::new();
        for (_, file) in &files {
            for item in &file.items {
                match item {
                    ast::Item::Policy(p) => by_span.insert(p.span, Syntax::Block(p)),
                    ast::Item::Rule(r) => by_span.insert(r.span, Syntax::Rule(r)),
                    _ => None,
                };
            }
        }
        let policies = c
            .checked
            .program
            .policies
            .iter()
            .filter_map(|p| by_span.get(&p.span).map(|&syntax| Policy { ir: p, syntax }))
            .collect();
        let directives = files
            .iter()
            .map(|(id, file)| {
                let source = c.sources.get(*id);
                let mut directives = suppress::parse(*id, &source.text);
                directives.widen(file.items.iter().map(|item| {
                    let span = item.span();
                    let last = span.end.saturating_sub(1).max(span.start);
                    (
                        source.line_col(span.start as usize).0,
                        source.line_col(last as usize).0,
                    )
                }));
                (*id, directives)
            })
            .collect();
        Cx {
            sources: &c.sources,
            program: &c.checked.program,
            files,
            policies,
            unused: &c.checked.unused,
            has_errors: c.has_errors(),
            directives,
        }
    }

    /// Every policy and rule of the user files, whether it checked or not.
    pub fn syntax(&self) -> impl Iterator<Item = (FileId, Syntax<'a>)> + '_ {
        self.files.iter().flat_map(|(id, file)| {
            file.items.iter().filter_map(move |item| match item {
                ast::Item::Policy(p) => Some((*id, Syntax::Block(p))),
                ast::Item::Rule(r) => Some((*id, Syntax::Rule(r))),
                _ => None,
            })
        })
    }

    /// The source text of a span.
    pub fn text(&self, span: Span) -> &'a str {
        self.sources.text(span)
    }

    fn suppressed(&self, d: &Diagnostic) -> bool {
        let Some(name) = d.code.strip_prefix("apr::lint::") else {
            return false;
        };
        let span = d.primary.span;
        let (line, _) = self.sources.get(span.file).line_col(span.start as usize);
        self.directives
            .get(&span.file)
            .is_some_and(|ds| ds.disables(name, line))
    }
}

impl<'a> Syntax<'a> {
    pub fn span(self) -> Span {
        match self {
            Syntax::Block(p) => p.span,
            Syntax::Rule(r) => r.span,
        }
    }

    /// The clause of this keyword; rules have only `when` and `then`.
    pub fn clause(self, keyword: &str) -> Option<&'a ast::ClauseKind> {
        match self {
            Syntax::Block(p) => p
                .clauses
                .iter()
                .map(|c| &c.kind)
                .find(|k| k.keyword() == keyword),
            Syntax::Rule(_) => None,
        }
    }

    /// The span of the clause of this keyword.
    pub fn clause_span(self, keyword: &str) -> Option<Span> {
        match self {
            Syntax::Block(p) => p
                .clauses
                .iter()
                .find(|c| c.kind.keyword() == keyword)
                .map(|c| c.span),
            Syntax::Rule(_) => None,
        }
    }

    pub fn when(self) -> Option<&'a ast::When> {
        match self {
            Syntax::Rule(r) => Some(&r.when),
            Syntax::Block(_) => match self.clause("when")? {
                ast::ClauseKind::When(w) => Some(w),
                _ => None,
            },
        }
    }

    /// The actions, as written.
    pub fn actions(self) -> &'a [ast::Action] {
        let then = match self {
            Syntax::Rule(r) => Some(&r.then),
            Syntax::Block(_) => match self.clause("then") {
                Some(ast::ClauseKind::Then(t)) => Some(t),
                _ => None,
            },
        };
        then.map_or(&[], |t| &t.actions)
    }

    /// Where to point at the policy as a whole: its name, or a rule's start.
    pub fn head(self) -> Span {
        match self {
            Syntax::Block(p) => p.name.span,
            Syntax::Rule(r) => Span {
                end: r.span.start + 4,
                ..r.span
            },
        }
    }

    /// `policy `grow`` or `the rule at FILE:LINE`.
    pub fn title(self, sources: &SourceMap) -> String {
        match self {
            Syntax::Block(p) => format!("policy `{}`", p.name.name),
            Syntax::Rule(r) => {
                let file = sources.get(r.span.file);
                let (line, _) = file.line_col(r.span.start as usize);
                format!("the rule at {}:{line}", file.name)
            }
        }
    }
}

impl Policy<'_> {
    pub fn title(&self, sources: &SourceMap) -> String {
        self.syntax.title(sources)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_kebab_case_unique_and_coded() {
        let mut seen = std::collections::HashSet::new();
        for r in RULES {
            assert!(seen.insert(r.name), "{} registered twice", r.name);
            assert!(
                r.name
                    .split('-')
                    .all(|w| !w.is_empty() && w.chars().all(|c| c.is_ascii_lowercase())),
                "{} is not kebab-case",
                r.name
            );
            assert_eq!(r.code, format!("apr::lint::{}", r.name));
            assert!(!r.description.is_empty() && !r.description.contains('\n'));
            assert_ne!(
                r.severity,
                Severity::Error,
                "lint rules do not fail a check"
            );
        }
    }
}
