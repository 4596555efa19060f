//! `autopilot repl [--scenario FILE] [--at TIME] [POLICIES...]`: the
//! rustyline front-end of [`crate::repl::Session`].
//!
//! On a terminal: line editing, history, tab completion, and multi-line
//! input through a `Validator` that asks the parser whether the input is
//! complete. Piped: lines from stdin, assembled with the same completeness
//! check, no prompts and no colour.
//!
//! Exit codes: 0, 1 the policies have errors, 2 a file or the scenario
//! cannot be loaded, or `--at` is wrong.

use std::cell::RefCell;
use std::io::{BufRead, IsTerminal};
use std::path::PathBuf;
use std::rc::Rc;

use rustyline::completion::Completer;
use rustyline::error::ReadlineError;
use rustyline::highlight::Highlighter;
use rustyline::hint::Hinter;
use rustyline::history::FileHistory;
use rustyline::validate::{ValidationContext, ValidationResult, Validator};
use rustyline::{Context, Editor, Helper};

use super::Exit;
use crate::compile;
use crate::repl::pending::Pending;
use crate::repl::{Session, StartError};
use crate::syntax::parse::is_incomplete;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Policy files or directories to load (searched recursively for `*.apr`).
    paths: Vec<PathBuf>,
    /// The scenario whose simulated world expressions read (YAML, docs/formats.md).
    #[arg(long, value_name = "FILE")]
    scenario: Option<PathBuf>,
    /// Start the clock this long after the scenario's start, e.g. `10m`.
    #[arg(long, value_name = "TIME", requires = "scenario")]
    at: Option<String>,
}

pub fn run(args: Args) -> Exit {
    let files = if args.paths.is_empty() {
        Vec::new()
    } else {
        match compile::read_paths(&args.paths) {
            Ok(files) => files.into_iter().map(compile::Loaded::into_named).collect(),
            Err(e) => {
                eprintln!("error: {e}");
                return Exit::Usage;
            }
        }
    };
    let scenario = match &args.scenario {
        None => None,
        Some(path) => match std::fs::read_to_string(path) {
            Ok(text) => Some((path.display().to_string(), text)),
            Err(e) => {
                eprintln!("error: {}: {e}", path.display());
                return Exit::Usage;
            }
        },
    };
    let interactive = std::io::stdin().is_terminal() && std::io::stdout().is_terminal();
    let mut style = super::style();
    style.color = interactive && std::env::var_os("NO_COLOR").is_none();
    let mut session = match Session::new(files, scenario, style) {
        Ok(s) => s,
        Err(StartError::Policies(text)) => {
            eprint!("{text}");
            return Exit::Problems;
        }
        Err(StartError::Scenario(text)) => {
            eprint!("{text}");
            return Exit::Usage;
        }
    };
    eprint!("{}", session.warnings());
    if let Some(at) = &args.at
        && let Err(text) = session.set_clock(at)
    {
        eprint!("{text}");
        return Exit::Usage;
    }
    if interactive {
        interactive_loop(session)
    } else {
        piped(&mut session)
    }
}

/// Lines from stdin; an input ends where the parser says it is complete.
fn piped(session: &mut Session) -> Exit {
    let stdin = std::io::stdin();
    let mut input = String::new();
    // Scanned line by line, so that the parser is asked only where the
    // input may be complete (crate::repl::pending).
    let mut pending = Pending::default();
    for line in stdin.lock().lines() {
        let Ok(line) = line else {
            eprintln!("error: stdin is not UTF-8 text");
            return Exit::Usage;
        };
        input.push_str(&line);
        pending.push(&line);
        if pending.surely_incomplete() || is_incomplete(&input) {
            input.push('\n');
            continue;
        }
        out!("{}", session.eval_line(&input));
        input.clear();
        pending = Pending::default();
        if session.is_done() {
            return Exit::Ok;
        }
    }
    // Input that ends while still incomplete is evaluated, to show its error.
    if !input.trim().is_empty() {
        out!("{}", session.eval_line(&input));
    }
    Exit::Ok
}

fn interactive_loop(session: Session) -> Exit {
    outln!("{}", session.banner().trim_end());
    let session = Rc::new(RefCell::new(session));
    let mut editor: Editor<ReplHelper, FileHistory> = match Editor::new() {
        Ok(e) => e,
        Err(e) => {
            eprintln!("error: cannot start the line editor: {e}");
            return Exit::Usage;
        }
    };
    editor.set_helper(Some(ReplHelper {
        session: Rc::clone(&session),
    }));
    let history = history_path();
    if let Some(path) = &history {
        let _ = editor.load_history(path);
    }
    loop {
        match editor.readline("apr> ") {
            Ok(line) => {
                if !line.trim().is_empty() {
                    let _ = editor.add_history_entry(line.as_str());
                }
                let out = session.borrow_mut().eval_line(&line);
                out!("{out}");
                super::flush_stdout();
                if session.borrow().is_done() {
                    break;
                }
            }
            Err(ReadlineError::Interrupted) => continue,
            Err(ReadlineError::Eof) => break,
            Err(e) => {
                eprintln!("error: {e}");
                break;
            }
        }
    }
    if let Some(path) = &history {
        if let Some(dir) = path.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        let _ = editor.save_history(path);
    }
    Exit::Ok
}

/// `$XDG_STATE_HOME/autopilot/history`, else `~/.autopilot_history`.
fn history_path() -> Option<PathBuf> {
    if let Some(state) = std::env::var_os("XDG_STATE_HOME").filter(|s| !s.is_empty()) {
        return Some(PathBuf::from(state).join("autopilot").join("history"));
    }
    std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".autopilot_history"))
}

/// Completion and multi-line input, both answered by the backend.
struct ReplHelper {
    session: Rc<RefCell<Session>>,
}

impl Completer for ReplHelper {
    type Candidate = String;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        _: &Context<'_>,
    ) -> rustyline::Result<(usize, Vec<String>)> {
        Ok(self.session.borrow().complete(line, pos))
    }
}

impl Hinter for ReplHelper {
    type Hint = String;
}

impl Highlighter for ReplHelper {}

impl Validator for ReplHelper {
    fn validate(&self, ctx: &mut ValidationContext) -> rustyline::Result<ValidationResult> {
        let input = ctx.input();
        if !input.trim_start().starts_with(':')
            && (Pending::of(input).surely_incomplete() || is_incomplete(input))
        {
            Ok(ValidationResult::Incomplete)
        } else {
            Ok(ValidationResult::Valid(None))
        }
    }
}

impl Helper for ReplHelper {}
