//! Checking one more file against the files checked before, for the REPL:
//! what they declared (lets, metric bindings, policy names, the shared
//! budgets) is kept, so an item typed at the prompt costs its own size, not
//! the program's. The result is what [`check`](super::check) of all the
//! files would give; the tests hold it to that.
//!
//! Names are global and order does not matter, so in general a new file can
//! change what earlier items mean. It cannot when the earlier files are clean
//! (no unknown name waits for a definition) and the new file does not replace
//! a stdlib binding that earlier items may read; otherwise the whole program
//! is checked again.

use std::mem;

use super::{Checked, CheckedExpr, Checker, Env, Undo, check_whole, expr};
use crate::diagnostic::Diagnostic;
use crate::ir::{self, Kind};
use crate::source::{FileId, SourceMap};
use crate::syntax::ast;

/// The checked environment of the files so far.
#[derive(Default)]
pub struct Incremental {
    env: Env,
    /// Whether every file so far checked without errors.
    clean: bool,
}

/// What one more file does to the program.
#[derive(Debug)]
pub enum Change {
    /// Its policies and bindings, to append to the program (ids follow on).
    Append {
        policies: Vec<ir::Policy>,
        metrics: Vec<ir::Metric>,
    },
    /// The whole program again: the file changed what earlier items mean.
    Whole(ir::Program),
}

/// A file that checked without errors, and how to take it back.
pub struct Added {
    pub change: Change,
    /// Its diagnostics (no errors); for [`Change::Whole`], all the files'.
    pub diagnostics: Vec<Diagnostic>,
    revert: Revert,
}

enum Revert {
    Journal {
        journal: Vec<Undo>,
        inlined: usize,
        suggested: usize,
    },
    Env {
        env: Box<Env>,
        clean: bool,
    },
}

impl Added {
    /// Whether the program is unchanged (the file held only lets or tests).
    pub fn is_empty(&self) -> bool {
        matches!(&self.change, Change::Append { policies, metrics } if policies.is_empty() && metrics.is_empty())
    }
}

impl Incremental {
    /// Checks `files` whole, keeping what they declare.
    pub fn new(sources: &SourceMap, files: &[(FileId, &ast::File)]) -> (Incremental, Checked) {
        let (checked, env) = check_whole(sources, files);
        let clean = !checked.diagnostics.iter().any(Diagnostic::is_error);
        (Incremental { env, clean }, checked)
    }

    /// Checks `file` as the last of `earlier` (the files checked so far, in
    /// order) and keeps it when it has no errors. On errors, the diagnostics
    /// that a check of all the files would give, and nothing is kept.
    pub fn add(
        &mut self,
        sources: &SourceMap,
        earlier: &[(FileId, ast::File)],
        file: FileId,
        ast: &ast::File,
    ) -> Result<Added, Vec<Diagnostic>> {
        if self.needs_whole(sources, file, ast) {
            return self.add_whole(sources, earlier, file, ast);
        }
        let (inlined, suggested) = (self.env.inlined, self.env.suggested);
        let mut cx = Checker::new(sources, mem::take(&mut self.env));
        cx.journal = Some(Vec::new());
        let metrics_before = cx.env.metrics.len();
        cx.declare(&[(file, ast)]);
        let mut policies = Vec::new();
        cx.items(file, ast, &mut policies);
        let Checker {
            env,
            diags,
            journal,
            ..
        } = cx;
        self.env = env;
        let journal = journal.unwrap_or_default();
        let mut diagnostics = diags;
        diagnostics.sort_by_key(|d| d.primary.span);
        if diagnostics.iter().any(Diagnostic::is_error) {
            self.restore(journal, inlined, suggested);
            return Err(diagnostics);
        }
        let metrics = self.env.metrics[metrics_before..]
            .iter()
            .map(|m| m.ir.clone())
            .collect();
        // Keys as the whole check gives them: the file is new, so its
        // identical rules count from zero.
        let mut keyed = ir::Program {
            metrics: self.env.metrics.iter().map(|m| m.ir.clone()).collect(),
            policies,
        };
        super::keys::assign(sources, &mut keyed);
        let policies = keyed.policies;
        Ok(Added {
            change: Change::Append { policies, metrics },
            diagnostics,
            revert: Revert::Journal {
                journal,
                inlined,
                suggested,
            },
        })
    }

    /// Takes back `added`, the last file added (when what follows from it,
    /// such as the scenario, does not hold).
    pub fn revert(&mut self, added: Added) {
        match added.revert {
            Revert::Journal {
                journal,
                inlined,
                suggested,
            } => self.restore(journal, inlined, suggested),
            Revert::Env { env, clean } => {
                self.env = *env;
                self.clean = clean;
            }
        }
    }

    /// Checks one expression against the files (their `let`s and
    /// `metric`s); nothing is kept. Budgets count from zero, as for a check
    /// of its own.
    pub fn check_expr(
        &mut self,
        sources: &SourceMap,
        e: &ast::Expr,
    ) -> Result<CheckedExpr, Vec<Diagnostic>> {
        let (inlined, suggested) = (self.env.inlined, self.env.suggested);
        let mut cx = Checker::new(sources, mem::take(&mut self.env));
        cx.journal = Some(Vec::new());
        (cx.env.inlined, cx.env.suggested) = (0, 0);
        let mut scope = expr::Scope::default();
        let lowered = cx.expr(e, &mut scope);
        let Checker {
            env,
            mut diags,
            journal,
            ..
        } = cx;
        self.env = env;
        self.restore(journal.unwrap_or_default(), inlined, suggested);
        diags.sort_by_key(|d| d.primary.span);
        match lowered {
            Some(expr) if !diags.iter().any(Diagnostic::is_error) => Ok(CheckedExpr {
                expr,
                kinds: scope.kinds,
                metrics: scope.metrics,
                namespace: scope.namespace,
            }),
            _ => Err(diags),
        }
    }

    /// `let`s and metrics that no policy reads (for lint), in source order.
    pub fn unused(&self) -> Vec<(String, crate::source::Span)> {
        self.env.unused()
    }

    fn restore(&mut self, journal: Vec<Undo>, inlined: usize, suggested: usize) {
        self.env.revert(journal);
        (self.env.inlined, self.env.suggested) = (inlined, suggested);
    }

    /// Whether `file` may change what earlier items mean: after an error
    /// (an unknown name may be the one it defines), for a stdlib file
    /// (declared before the user's), and for a binding that replaces a
    /// stdlib one (earlier items read the replacement).
    fn needs_whole(&self, sources: &SourceMap, file: FileId, ast: &ast::File) -> bool {
        !self.clean
            || sources.get(file).is_stdlib()
            || ast.items.iter().any(|item| match item {
                ast::Item::Metric(m) => Kind::from_name(&m.kind.name).is_some_and(|kind| {
                    self.env
                        .metric_index
                        .get(&(kind, m.name.name.clone()))
                        .is_some_and(|id| self.env.metrics[id.0 as usize].ir.stdlib)
                }),
                _ => false,
            })
    }

    fn add_whole(
        &mut self,
        sources: &SourceMap,
        earlier: &[(FileId, ast::File)],
        file: FileId,
        ast: &ast::File,
    ) -> Result<Added, Vec<Diagnostic>> {
        let mut refs: Vec<(FileId, &ast::File)> = earlier.iter().map(|(i, f)| (*i, f)).collect();
        refs.push((file, ast));
        let (checked, env) = check_whole(sources, &refs);
        if checked.diagnostics.iter().any(Diagnostic::is_error) {
            return Err(checked.diagnostics);
        }
        let before = mem::replace(&mut self.env, env);
        let clean = mem::replace(&mut self.clean, true);
        Ok(Added {
            change: Change::Whole(checked.program),
            diagnostics: checked.diagnostics,
            revert: Revert::Env {
                env: Box::new(before),
                clean,
            },
        })
    }
}

#[cfg(test)]
mod tests;
