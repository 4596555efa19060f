//! The `:commands`: their list and `:help`, the dispatch, and the ones with
//! more to them than a line: `:at` (the clock), `:explain` and `:policies`.

use std::fmt::Write as _;
use std::sync::Arc;

use super::Session;
use super::show::{table_rows, type_line};
use crate::check::CheckedExpr;
use crate::diagnostic::did_you_mean;
use crate::engine::{ObjectId, Phase, Time};
use crate::ir::{self, Kind, Type, Value};
use crate::report::{self, elapsed as offset};

/// The `:commands`, for `:help` and completion.
pub const COMMANDS: [(&str, &str); 8] = [
    (
        ":load FILE",
        "load policies from a file or directory (more files)",
    ),
    (":type EXPR", "show the type of an expression"),
    (
        ":explain EXPR",
        "show the typed expression and the PromQL of each binding it reads",
    ),
    (
        ":at [TIME]",
        "move the clock: scenario, TIME after its start (down to a step); live, `-1h`, RFC 3339, `now`",
    ),
    (
        ":policies",
        "list the policies and the state of each object at the clock",
    ),
    (":help", "this help"),
    (":quit", "leave (also Ctrl-D)"),
    (":q", "leave"),
];

impl Session {
    /// Moves the clock; the result says where it went.
    pub fn set_clock(&mut self, arg: &str) -> Result<String, String> {
        if self.live.is_some() {
            return self.set_live_clock(arg);
        }
        let Some(world) = &self.built.world else {
            return Err(
                "error: there is no scenario, so there is no clock; start with `--scenario FILE`\n"
                    .into(),
            );
        };
        let (step, duration) = (world.scenario.step, world.scenario.duration);
        let (_, c) = self.typed(arg)?;
        let secs = match (&c.expr.ty, ir::eval_const(&c.expr)) {
            (Type::Duration, Some(Value::Num(s))) => s,
            (ty, _) => {
                return Err(format!(
                    "error: `:at` takes a duration after the scenario's start, like `10m`, not a {ty}\n"
                ));
            }
        };
        let ms = (secs * 1000.0).round() as Time;
        if ms < 0 || ms > duration {
            return Err(format!(
                "error: the scenario runs from 0s to {}; `{}` is outside it\n",
                offset(duration),
                arg.trim()
            ));
        }
        let at = ms / step * step;
        self.clock = at;
        self.sim = None;
        let mut out = format!("clock at {}", offset(at));
        if at != ms {
            let _ = write!(
                out,
                " (rounded down to a multiple of the step, {})",
                offset(step)
            );
        }
        let _ = writeln!(out, "\n{}", view(at));
        Ok(out)
    }

    pub(super) fn command(&mut self, name: &str, arg: &str) -> String {
        match name {
            "help" | "h" | "?" => help(),
            "quit" | "q" | "exit" => {
                self.done = true;
                String::new()
            }
            "load" | "l" => self.load(arg),
            "type" | "t" => match self.typed(arg) {
                Ok((_, c)) => type_line(&c),
                Err(text) => text,
            },
            "explain" | "e" => match self.typed(arg) {
                Ok((_, c)) => self.explain(&c),
                Err(text) => text,
            },
            "at" if arg.is_empty() && self.live.is_some() => {
                format!("clock {}\n", self.live_clock())
            }
            "at" if arg.is_empty() => match &self.built.world {
                Some(w) => format!(
                    "clock at {} (step {}, the scenario ends at {})\n{}\n",
                    offset(self.clock),
                    offset(w.scenario.step),
                    offset(w.scenario.duration),
                    view(self.clock)
                ),
                None => "there is no scenario, so there is no clock\n".into(),
            },
            "at" => self.set_clock(arg).unwrap_or_else(|e| e),
            "policies" | "p" => self.policies(),
            _ => {
                let names = COMMANDS.iter().map(|(c, _)| {
                    let c = c.split(' ').next().unwrap_or(c);
                    &c[1..]
                });
                let help = did_you_mean(name, names)
                    .map(|h| format!(" ({h})"))
                    .unwrap_or_default();
                format!("error: unknown command `:{name}`{help}; `:help` lists the commands\n")
            }
        }
    }

    fn explain(&self, c: &CheckedExpr) -> String {
        let kind = match self.kind_of(c) {
            Ok(k) => k,
            Err(text) => return text,
        };
        let program = &self.built.program;
        let shown = ir::show(program, kind.unwrap_or(Kind::Pvc), &c.expr);
        let mut out = format!("{shown} : {}\n", c.expr.ty);
        if c.metrics.is_empty() {
            out.push_str("reads no metric binding: no PromQL is sent\n");
        }
        for id in &c.metrics {
            let m = program.metric(*id);
            let _ = writeln!(
                out,
                "{} : {}  by ({})  from {}",
                m.qualified(),
                m.ty,
                m.join.join(", "),
                self.built.compiled.sources.location(m.span)
            );
            for line in m.promql.lines() {
                let _ = writeln!(out, "  {line}");
            }
        }
        out
    }

    fn policies(&mut self) -> String {
        let program = Arc::clone(&self.built.program);
        if program.policies.is_empty() {
            return "no policies loaded; `:load FILE` loads some\n".into();
        }
        self.ensure_sim();
        let mut out = String::new();
        if self.sim.is_none() {
            out.push_str("(no scenario: states need one; `--scenario FILE`)\n");
        }
        for p in &program.policies {
            let mode = match p.mode {
                ir::Mode::Enforce => "enforce",
                ir::Mode::DryRun => "dry_run",
                ir::Mode::Approve => "approve",
            };
            let _ = writeln!(out, "{}  (on {}, for {}, {mode})", p.name, p.kind, p.hold);
            let Some(sim) = &self.sim else { continue };
            let mut ids: Vec<ObjectId> = sim
                .world
                .objects()
                .into_iter()
                .filter(|o| o.id.kind == p.kind)
                .map(|o| o.id)
                .collect();
            ids.sort();
            let start = self.start();
            let cells: Vec<[String; 3]> = ids
                .into_iter()
                .map(|id| {
                    let state = match sim.engine.phase(&p.name, &id) {
                        Phase::Pending { since } => {
                            format!("pending since {}", offset(since - start))
                        }
                        Phase::AwaitingApproval { since } => {
                            format!("awaiting_approval since {}", offset(since - start))
                        }
                        Phase::Cooldown { until } => {
                            format!("cooldown until {}", offset(until - start))
                        }
                        phase => phase.name().to_string(),
                    };
                    let last = sim
                        .events
                        .iter()
                        .rev()
                        .filter(|e| e.policy == p.name && e.object == id)
                        .find_map(|e| report::action::last(&e.kind, e.time - start))
                        .unwrap_or_default();
                    [format!("  {id}"), state, last]
                })
                .collect();
            if cells.is_empty() {
                let _ = writeln!(out, "  no {} objects in the scenario", p.kind);
            } else {
                out.push_str(&table_rows(&cells));
            }
        }
        if self.sim.is_some() {
            let _ = writeln!(out, "states {}", before(self.clock));
        }
        out
    }
}

/// Which view of the world the clock shows.
fn view(at: Time) -> String {
    format!(
        "the world as the tick at {} saw it, before its actions",
        offset(at)
    )
}

fn before(at: Time) -> String {
    format!("before the tick at {}", offset(at))
}

fn help() -> String {
    let mut out = String::from(
        "Type an expression to evaluate it for every object of its kind at the clock:\n  \
         pvc.usage            a table: object, value, unit\n  \
         pvc.usage > 50%      a condition: which objects match, which do not, which have no data\n  \
         50% * 10Gi           no object: evaluated once\n\
         `let`, `metric`, `policy` and `when … then …` typed here join the loaded policies.\n\
         Input continues on the next line while it is incomplete (an open bracket, a trailing operator).\n\n\
         Commands:\n",
    );
    for (c, what) in COMMANDS.iter().filter(|(c, _)| *c != ":q") {
        let _ = writeln!(out, "  {c:<15} {what}");
    }
    out.push_str(
        "\nThe clock starts at the scenario's start (or `--at TIME`); `:at` rounds down to a \
         multiple of the scenario's step.\n\
         Without `--scenario` or `--prometheus` only expressions without objects evaluate.\n\
         Live (`--prometheus URL`): each evaluation sends one instant query per binding the \
         expression reads, at the clock (now, unless `:at` names a time; a relative time is \
         resolved when `:at` is given). The objects are the cluster's (`--kubeconfig`), else \
         the scenario's, else those the answers name by the binding's join labels.\n\
         History is kept in $XDG_STATE_HOME/autopilot/history, or ~/.autopilot_history when \
         XDG_STATE_HOME is not set. Tab completes kinds, fields, metrics, actions and commands.\n",
    );
    out
}
