//! The `autopilot` command line: one file per command.
//!
//! Exit codes: 0 ok, 1 policy problems, 2 usage or I/O error.
//!
//! Every command writes to stdout through [`out!`] and [`outln!`]: a closed
//! pipe (`| head -1`) ends the program quietly with 0, any other write error
//! (a full disk) with one line and 2, never with a panic as `println!` would.

/// Writes to stdout like `print!`; a failed write ends the program (see [`write_stdout`]).
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::cli::write_stdout(format_args!($($arg)*))
    };
}

/// Writes to stdout like `println!`; a failed write ends the program (see [`write_stdout`]).
macro_rules! outln {
    () => {
        $crate::cli::write_stdout(format_args!("\n"))
    };
    ($($arg:tt)*) => {{
        $crate::cli::write_stdout(format_args!($($arg)*));
        $crate::cli::write_stdout(format_args!("\n"));
    }};
}

// A path for modules outside the textual scope (`crate::cli::outln!`).
#[allow(unused_imports)]
pub(crate) use {out, outln};

mod approve;
mod backtest;
mod check;
mod cluster_args;
mod explain;
mod fmt;
mod lint;
mod lsp;
mod prometheus_args;
mod repl;
mod run;
mod simulate;
mod status;
mod test;

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

use crate::cluster::approval::ApprovalDecision;
use crate::compile::{self, Compiled};
use crate::diagnostic::{self, Style};
// For `lint`'s rule table.
use crate::report::column_width;

#[derive(Parser, Debug)]
#[command(
    name = "autopilot",
    version,
    about = "Typed policies that keep stateful applications on Kubernetes healthy"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Parse and type-check policy files; report every problem.
    Check(check::Args),
    /// Check, then lint: rules for policies that check but probably misbehave.
    Lint(lint::Args),
    /// Format policy files canonically (in place by default).
    Fmt(fmt::Args),
    /// Show the typed program and the exact PromQL each binding sends.
    Explain(explain::Args),
    /// Run policies over a scenario's simulated world and show what they do.
    Simulate(simulate::Args),
    /// Run the `test` blocks of policy files.
    Test(test::Args),
    /// Run policies over Prometheus's history and show what they would have done.
    Backtest(backtest::Args),
    /// Evaluate expressions and conditions against a scenario or a live Prometheus, interactively.
    Repl(repl::Args),
    /// Run the controller: enforce the policies on a cluster.
    Run(run::Args),
    /// Show what the controller is doing: its leader, objects not normal, approvals.
    Status(status::Args),
    /// Approve a pending ActionApproval: the controller runs its actions.
    Approve(approve::Args),
    /// Decline a pending ActionApproval: nothing runs until the condition clears.
    Decline(approve::Args),
    /// Print the ActionApproval CRD (what deploy/crd.yaml holds).
    Crd,
    /// The language server, over stdio (editors start it).
    Lsp(lsp::Args),
}

#[derive(Clone, Copy, Debug, Default, ValueEnum, PartialEq, Eq)]
pub enum Format {
    #[default]
    Text,
    Json,
}

/// The outcome of a command, as an exit code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    Ok,
    Problems,
    Usage,
}

impl From<Exit> for ExitCode {
    fn from(o: Exit) -> ExitCode {
        ExitCode::from(match o {
            Exit::Ok => 0,
            Exit::Problems => 1,
            Exit::Usage => 2,
        })
    }
}

/// A scenario file, added to the compiled sources so that its diagnostics
/// render with the policies': its id and text; `None` once the error is printed.
fn read_scenario(
    c: &mut crate::compile::Compiled,
    path: &std::path::Path,
) -> Option<(crate::source::FileId, String)> {
    match std::fs::read_to_string(path) {
        Ok(text) => Some((
            c.sources.add(path.display().to_string(), text.clone()),
            text,
        )),
        Err(e) => {
            eprintln!("error: {}: {e}", path.display());
            None
        }
    }
}

/// A small runtime for a command that talks to a server; `None` once the
/// reason it cannot start is printed.
fn runtime() -> Option<tokio::runtime::Runtime> {
    match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => Some(rt),
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            None
        }
    }
}

pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    let outcome = match cli.command {
        Command::Check(args) => check::run(args),
        Command::Lint(args) => lint::run(args),
        Command::Fmt(args) => fmt::run(args),
        Command::Explain(args) => explain::run(args),
        Command::Simulate(args) => simulate::run(args),
        Command::Test(args) => test::run(args),
        Command::Backtest(args) => backtest::run(args),
        Command::Repl(args) => repl::run(args),
        Command::Lsp(args) => lsp::run(args),
        Command::Run(args) => run::run(args),
        Command::Status(args) => status::run(args),
        Command::Approve(args) => approve::run(args, ApprovalDecision::Approved),
        Command::Decline(args) => approve::run(args, ApprovalDecision::Declined),
        Command::Crd => {
            out!("{}", crate::cluster::approval::crd_yaml());
            Exit::Ok
        }
    };
    flush_stdout();
    outcome.into()
}

/// An output file (`--plot`, `--junit`) opened before the work, so that a
/// path that cannot be written fails at once rather than after the run.
/// An existing file keeps its content until [`OutputFile::write`]; a file
/// this created and never wrote is removed.
pub(crate) struct OutputFile {
    path: PathBuf,
    file: Option<std::fs::File>,
    created: bool,
}

impl OutputFile {
    /// Opens `path` for writing, or prints one line and gives None.
    pub(crate) fn open(path: &Path) -> Option<OutputFile> {
        let created = !path.exists();
        match std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
        {
            Ok(file) => Some(OutputFile {
                path: path.to_path_buf(),
                file: Some(file),
                created,
            }),
            Err(e) => {
                eprintln!("error: {}: {e}", path.display());
                None
            }
        }
    }

    /// Replaces the file's content; on failure prints one line and gives false.
    pub(crate) fn write(mut self, bytes: &[u8]) -> bool {
        let Some(mut file) = self.file.take() else {
            return false;
        };
        let written = file
            .set_len(0)
            .and_then(|()| file.write_all(bytes))
            .and_then(|()| file.flush());
        match written {
            Ok(()) => {
                self.created = false;
                true
            }
            Err(e) => {
                eprintln!("error: {}: {e}", self.path.display());
                false
            }
        }
    }
}

impl Drop for OutputFile {
    fn drop(&mut self) {
        if self.created {
            drop(self.file.take());
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// Writes to a locked stdout; on failure the program ends through [`stdout_failed`].
pub(crate) fn write_stdout(args: std::fmt::Arguments<'_>) {
    if let Err(e) = std::io::stdout().lock().write_fmt(args) {
        stdout_failed(&e);
    }
}

/// Flushes stdout; on failure the program ends through [`stdout_failed`].
pub(crate) fn flush_stdout() {
    if let Err(e) = std::io::stdout().lock().flush() {
        stdout_failed(&e);
    }
}

/// A reader that went away (`| head -1`) is a quiet success; anything else
/// (a full disk) is exit 2 with one line.
pub(crate) fn stdout_failed(e: &std::io::Error) -> ! {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        std::process::exit(0);
    }
    eprintln!("error: writing to standard output: {e}");
    std::process::exit(2);
}

/// How diagnostics are drawn on this terminal.
pub fn style() -> Style {
    let color = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let width = std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(100);
    Style { color, width }
}

/// Reads and compiles the paths; I/O errors are reported and give None.
pub fn load(paths: &[PathBuf]) -> Option<Compiled> {
    match compile::read_paths(paths) {
        Ok(files) => Some(compile::compile(
            files.into_iter().map(compile::Loaded::into_named).collect(),
        )),
        Err(e) => {
            eprintln!("error: {e}");
            None
        }
    }
}

/// Prints diagnostics to stderr for people.
pub fn report(c: &Compiled) {
    eprint!(
        "{}",
        diagnostic::render_all(&c.sources, &c.diagnostics, style())
    );
}
