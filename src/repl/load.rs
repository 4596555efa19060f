//! Loading: the files and the scenario built into a program and a world,
//! `:load` of more files, and items typed at the prompt checked on their own
//! and added to the program.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::Arc;

use super::{INPUT, Session, StartError};
use crate::check::{self, Change};
use crate::compile::{self, Compiled};
use crate::diagnostic::{self, Diagnostic, Style};
use crate::ir::Program;
use crate::sim::ScenarioSource;
use crate::sim::scenario::{self, Scenario};
use crate::syntax;

/// A scenario and its series, resolved against the program.
pub(super) struct World {
    pub(super) scenario: Scenario,
    pub(super) source: ScenarioSource,
}

/// Everything loaded: the compiled files, the program, the scenario.
pub(super) struct Built {
    /// The files' sources and trees; `checked` is as of the last load, the
    /// program since then is `program`.
    pub(super) compiled: Compiled,
    /// What the files declared, to check typed items and expressions.
    pub(super) checker: check::Incremental,
    pub(super) program: Arc<Program>,
    pub(super) world: Option<World>,
    /// Rendered warnings of the files.
    pub(super) warnings: String,
}

impl Session {
    pub(super) fn load(&mut self, arg: &str) -> String {
        if arg.is_empty() {
            return "error: `:load` needs a file or directory, e.g. `:load policies/`\n".into();
        }
        let new = match compile::read_paths(&[PathBuf::from(arg)]) {
            Ok(files) => files,
            Err(e) => return format!("error: {e}\n"),
        };
        let mut files = self.files.clone();
        let mut added = 0;
        for (name, text) in new.into_iter().map(compile::Loaded::into_named) {
            if files.iter().any(|(n, _)| *n == name) {
                continue;
            }
            files.push((name, text));
            added += 1;
        }
        if added == 0 {
            return format!("{arg}: already loaded\n");
        }
        let before = self.built.program.policies.len();
        match self.rebuild(files) {
            Ok(warnings) => format!(
                "{warnings}loaded {added} file(s): {} policies now ({} new)\n",
                self.built.program.policies.len(),
                self.built.program.policies.len().saturating_sub(before)
            ),
            Err(text) => format!("{text}not loaded: {arg} has problems\n"),
        }
    }

    /// `let`, `metric`, `policy` or rules typed at the prompt join the program.
    pub(super) fn define(&mut self, input: &str) -> String {
        let before = self.built.program.policies.len();
        match self.add_item(input) {
            Ok(warnings) => {
                let now = self.built.program.policies.len();
                let mut out = warnings;
                if now > before {
                    let _ = writeln!(out, "{} policy(ies) added", now - before);
                } else {
                    out.push_str("defined\n");
                }
                out
            }
            Err(text) => text,
        }
    }

    /// Adds one typed item to the program without parsing or checking the
    /// earlier ones again: their trees are kept (a [`SourceMap`] only grows,
    /// so their file ids stay) and so is what they declared
    /// ([`check::Incremental`]); the new item alone is parsed and checked.
    /// On problems the session stays as it was.
    ///
    /// [`SourceMap`]: crate::source::SourceMap
    fn add_item(&mut self, input: &str) -> Result<String, String> {
        let style = self.style;
        let render = |c: &Compiled, d: &[Diagnostic]| diagnostic::render_all(&c.sources, d, style);
        let Built {
            compiled: c,
            checker,
            program,
            world,
            warnings,
        } = &mut self.built;
        let id = c.sources.add(INPUT, input.to_string());
        let (ast, parse_diags) = syntax::parse(id, input);
        if parse_diags.iter().any(Diagnostic::is_error) {
            let mut all: Vec<Diagnostic> = c.diagnostics.clone();
            all.extend(parse_diags);
            all.sort_by_key(|d| d.primary.span);
            return Err(render(c, &all));
        }
        // What `compile` of all the files would give: the earlier files'
        // diagnostics (none are errors), the new parse ones and the check's.
        let added = match checker.add(&c.sources, &c.files, id, &ast) {
            Ok(added) => added,
            Err(check_diags) => {
                let mut all = c.diagnostics.clone();
                all.extend(parse_diags);
                all.extend(check_diags);
                all.sort_by_key(|d| d.primary.span);
                return Err(render(c, &all));
            }
        };
        let mut diagnostics: Vec<Diagnostic> = match added.change {
            Change::Append { .. } => c.diagnostics.clone(),
            Change::Whole(_) => c
                .diagnostics
                .iter()
                .filter(|d| d.code.starts_with("apr::parse::"))
                .cloned()
                .collect(),
        };
        diagnostics.extend(parse_diags);
        diagnostics.extend(added.diagnostics.iter().cloned());
        diagnostics.sort_by_key(|d| d.primary.span);
        if !added.is_empty() {
            // The simulation holds the program; without it the program is
            // changed in place rather than copied.
            self.sim = None;
            let before = extend(program, &added.change);
            if let Some(sf) = &self.scenario_file {
                match load_world(c, program, sf) {
                    Ok(w) => *world = Some(w),
                    Err(diags) => {
                        before.restore(program);
                        checker.revert(added);
                        return Err(render(c, &diags));
                    }
                }
            }
        }
        c.files.push((id, ast));
        c.diagnostics = diagnostics;
        *warnings = render(c, &c.diagnostics);
        self.files.push((INPUT.to_string(), input.to_string()));
        Ok(warnings.clone())
    }

    /// Rebuilds from `files`; on problems the session stays as it was.
    fn rebuild(&mut self, files: Vec<(String, String)>) -> Result<String, String> {
        match build(&files, self.scenario_file.as_ref(), self.style) {
            Ok(built) => {
                let warnings = built.warnings.clone();
                self.built = built;
                self.files = files;
                self.sim = None;
                Ok(warnings)
            }
            Err(StartError::Policies(text) | StartError::Scenario(text)) => Err(text),
        }
    }
}

/// The scenario `(name, text)` loaded against `program`.
fn load_world(
    compiled: &mut Compiled,
    program: &Program,
    (name, text): &(String, String),
) -> Result<World, Vec<Diagnostic>> {
    let file = compiled.sources.add(name.clone(), text.clone());
    scenario::parse(file, text).and_then(|mut s| {
        let mut diags = s.check(program);
        match ScenarioSource::new(&s, program) {
            Ok(source) if diags.is_empty() => Ok(World {
                scenario: s,
                source,
            }),
            Ok(_) => Err(diags),
            Err(more) => {
                diags.extend(more);
                diags.sort_by_key(|d| d.primary.span);
                Err(diags)
            }
        }
    })
}

pub(super) fn build(
    files: &[(String, String)],
    scenario_file: Option<&(String, String)>,
    style: Style,
) -> Result<Built, StartError> {
    let (mut compiled, checker) = compile::compile_incremental(files.to_vec());
    let render = |c: &Compiled, d: &[Diagnostic]| diagnostic::render_all(&c.sources, d, style);
    if compiled.has_errors() {
        return Err(StartError::Policies(render(
            &compiled,
            &compiled.diagnostics,
        )));
    }
    let warnings = render(&compiled, &compiled.diagnostics);
    let program = Arc::new(std::mem::take(&mut compiled.checked.program));
    let world = match scenario_file {
        None => None,
        Some(sf) => match load_world(&mut compiled, &program, sf) {
            Ok(w) => Some(w),
            Err(diags) => return Err(StartError::Scenario(render(&compiled, &diags))),
        },
    };
    Ok(Built {
        compiled,
        checker,
        program,
        world,
        warnings,
    })
}

/// The program before [`extend`], to go back to.
enum Before {
    Lengths { policies: usize, metrics: usize },
    Program(Arc<Program>),
}

impl Before {
    fn restore(self, program: &mut Arc<Program>) {
        match self {
            Before::Lengths { policies, metrics } => {
                let p = Arc::make_mut(program);
                p.policies.truncate(policies);
                p.metrics.truncate(metrics);
            }
            Before::Program(before) => *program = before,
        }
    }
}

/// Applies `change` to `program`, in place when no one else holds it.
fn extend(program: &mut Arc<Program>, change: &Change) -> Before {
    match change {
        Change::Append { policies, metrics } => {
            let p = Arc::make_mut(program);
            let before = Before::Lengths {
                policies: p.policies.len(),
                metrics: p.metrics.len(),
            };
            p.policies.extend(policies.iter().cloned());
            p.metrics.extend(metrics.iter().cloned());
            before
        }
        Change::Whole(whole) => {
            Before::Program(std::mem::replace(program, Arc::new(whole.clone())))
        }
    }
}
