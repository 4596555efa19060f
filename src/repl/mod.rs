//! The REPL's backend: a [`Session`] takes one complete input and returns
//! the text to show. No terminal, no I/O besides `:load` reading files, so
//! it is tested directly; `src/cli/repl.rs` is the rustyline front-end.
//! Live (`--prometheus`), answers and cluster objects come through the
//! [`Live`] the front-end hands in (`live.rs`).
//!
//! Expressions are evaluated per object of their kind in the scenario's
//! simulated world at the session's clock. The world at the clock is what
//! the tick at the clock saw, before its actions: the same [`Sim`] runs
//! every tick before the clock, actions applied, then the world moves to
//! the clock (resizes due finish, the scenario's changes happen). So a
//! condition that fired at 3m in `simulate` is true at `:at 3m`.

mod commands;
mod complete;
mod live;
mod load;
pub mod pending;
mod show;

use std::sync::Arc;

use crate::diagnostic::Style;
use crate::engine::Time;
use crate::ir::Kind;
use crate::report::elapsed as offset;
use crate::sim::run::Sim;
use crate::syntax::{self, ast};
use load::{Built, build};

pub use commands::COMMANDS;
pub use live::{Listed, Live, named_objects, parse_at, show_time};

/// The name of the REPL's input in diagnostics.
pub const INPUT: &str = "<repl>";

/// Why a session could not start.
#[derive(Debug)]
pub enum StartError {
    /// The policies have errors (exit code 1); rendered diagnostics.
    Policies(String),
    /// The scenario cannot be loaded (exit code 2); rendered diagnostics.
    Scenario(String),
}

/// One REPL session.
pub struct Session {
    /// User files, `(name, text)`: loaded ones and items typed at the prompt.
    files: Vec<(String, String)>,
    scenario_file: Option<(String, String)>,
    built: Built,
    /// Time after the scenario's start, milliseconds, a step multiple.
    clock: Time,
    /// The simulation run up to the clock; made when first needed.
    sim: Option<Sim>,
    style: Style,
    done: bool,
    /// The live Prometheus (and cluster) expressions read, if any.
    live: Option<Box<dyn Live>>,
    /// The live clock: `None` is now, at each evaluation.
    live_at: Option<jiff::Timestamp>,
}

impl Session {
    /// Compiles `files` and loads the scenario `(name, text)`, if any.
    pub fn new(
        files: Vec<(String, String)>,
        scenario_file: Option<(String, String)>,
        style: Style,
    ) -> Result<Session, StartError> {
        let built = build(&files, scenario_file.as_ref(), style)?;
        Ok(Session {
            files,
            scenario_file,
            built,
            clock: 0,
            sim: None,
            style,
            done: false,
            live: None,
            live_at: None,
        })
    }

    /// Evaluates expressions against `live` (Prometheus, and the cluster's
    /// objects when it has them) rather than the scenario's series.
    pub fn with_live(mut self, live: Box<dyn Live>) -> Session {
        self.live = Some(live);
        self
    }

    /// The prompt of a terminal: the source of the answers, when live.
    pub fn prompt(&self) -> String {
        match &self.live {
            Some(live) => format!("live {}> ", live.source()),
            None => "apr> ".into(),
        }
    }

    /// Warnings of the loaded files, to show at start.
    pub fn warnings(&self) -> &str {
        &self.built.warnings
    }

    /// Whether `:quit` was given.
    pub fn is_done(&self) -> bool {
        self.done
    }

    /// What to show on a terminal before the first prompt.
    pub fn banner(&self) -> String {
        let policies = self.built.program.policies.len();
        if let Some(live) = &self.live {
            let objects = match &self.scenario_file {
                _ if live.has_cluster() => "objects from the cluster".into(),
                Some((name, _)) => format!("objects of scenario {name}"),
                None => "objects those the answers name".into(),
            };
            return format!(
                "autopilot repl: {policies} policies, live: {}, {objects}, clock {}. `:help` for help.\n",
                live.source(),
                self.live_clock()
            );
        }
        let world = match &self.built.world {
            Some(w) => format!(
                "scenario {}, {} objects, clock at {}",
                self.scenario_file.as_ref().map_or("", |(n, _)| n.as_str()),
                w.scenario.objects.len(),
                offset(self.clock)
            ),
            None => "no scenario".into(),
        };
        format!("autopilot repl: {policies} policies, {world}. `:help` for help.\n")
    }

    /// Evaluates one complete input: a `:command`, an expression or items.
    pub fn eval_line(&mut self, input: &str) -> String {
        let trimmed = input.trim();
        if trimmed.is_empty() || is_only_comments(trimmed) {
            return String::new();
        }
        if let Some(command) = trimmed.strip_prefix(':') {
            let (name, arg) = command
                .split_once(char::is_whitespace)
                .map_or((command, ""), |(n, a)| (n, a.trim()));
            return self.command(name, arg);
        }
        if syntax::parse::starts_item(input) {
            return self.define(input);
        }
        match self.typed(input) {
            Ok((_, c)) => self.show(&c),
            Err(text) => text,
        }
    }

    // ------------------------------------------------------------ the clock

    fn start(&self) -> Time {
        self.built.world.as_ref().map_or(0, |w| w.scenario.start)
    }

    fn now(&self) -> Time {
        self.start() + self.clock
    }

    /// Runs the simulation up to the clock, once per clock and program.
    fn ensure_sim(&mut self) {
        if self.sim.is_some() {
            return;
        }
        let Some(world) = &self.built.world else {
            return;
        };
        let now = self.now();
        let mut sim = Sim::new(Arc::clone(&self.built.program), &world.scenario, &[]);
        for t in world.scenario.ticks().take_while(|t| *t < now) {
            sim.tick(t, &world.source);
        }
        // The world as the tick at the clock sees it, before it acts.
        sim.observe(now, &world.source);
        self.sim = Some(sim);
    }

    /// Candidates for the word before `pos`: see [`complete`].
    pub fn complete(&self, line: &str, pos: usize) -> (usize, Vec<String>) {
        complete::complete(self, line, pos)
    }

    fn let_names(&self) -> Vec<String> {
        let mut out = Vec::new();
        for (_, file) in &self.built.compiled.files {
            for item in &file.items {
                if let ast::Item::Let(l) = item {
                    out.push(l.name.name.clone());
                }
            }
        }
        out
    }

    fn metric_names(&self, kind: Kind) -> Vec<String> {
        self.built
            .program
            .metrics
            .iter()
            .filter(|m| m.kind == kind)
            .map(|m| m.name.clone())
            .collect()
    }
}

fn is_only_comments(text: &str) -> bool {
    text.lines()
        .all(|l| l.trim().is_empty() || l.trim_start().starts_with('#'))
}

#[cfg(test)]
mod tests;
