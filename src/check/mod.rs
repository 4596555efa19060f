//! Names, types and units: the AST of all files becomes one typed [`ir::Program`].
//!
//! Every problem becomes a [`Diagnostic`]; checking goes on after an error so
//! that one run reports everything. A policy with an error is left out of the
//! program, and never stops the others.

pub mod actions;
pub mod codes;
mod declare;
mod env;
mod expr;
mod incremental;
mod keys;
pub mod kinds;
mod policy;
mod promql;
mod time;
mod window;

use crate::diagnostic::Diagnostic;
use crate::ir::{self, Kind, MetricId};
use crate::source::{FileId, SourceMap, Span};
use crate::syntax::ast;
use env::{Env, Undo};

pub use actions::NAMES as ACTION_NAMES;
pub use codes::all_codes;
pub use incremental::{Added, Change, Incremental};
pub use window::parse_window;

/// The longest policy name: a Kubernetes object name's limit.
pub const MAX_POLICY_NAME: usize = 253;

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

struct Checker<'a> {
    sources: &'a SourceMap,
    diags: Vec<Diagnostic>,
    env: Env,
    /// Values of the `let`s this checker declared, by
    /// [`LetState::Unchecked`](env::LetState::Unchecked).
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
}
