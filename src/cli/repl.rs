//! `autopilot repl [--scenario FILE] [--at TIME] [--prometheus URL]
//! [--config FILE] [--kubeconfig FILE] [POLICIES...]`: the rustyline
//! front-end of [`crate::repl::Session`], and, live, the [`Live`] it reads:
//! instant queries on a small tokio runtime, objects listed from the cluster.
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
use super::prometheus_args::PrometheusArgs;
use crate::cluster::client::{self, ClientSource};
use crate::cluster::metrics::{self, Fetched, LabelMatcher, Query};
use crate::cluster::prometheus::Prometheus;
use crate::compile;
use crate::ir::{Kind, MetricId, Program};
use crate::repl::Live;
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
    /// Start the clock this long after the scenario's start, e.g. `10m`;
    /// live, at this time (`-1h`, `now-30m`, RFC 3339, Unix seconds).
    #[arg(long, value_name = "TIME")]
    at: Option<String>,
    #[command(flatten)]
    prometheus: PrometheusArgs,
    /// Live: the objects are the cluster's, listed with this kubeconfig.
    #[arg(long, value_name = "FILE")]
    kubeconfig: Option<PathBuf>,
    /// A context of the kubeconfig.
    #[arg(long, value_name = "NAME", requires = "kubeconfig")]
    context: Option<String>,
}

impl Args {
    fn is_live(&self) -> bool {
        self.prometheus.prometheus.is_some() || self.prometheus.config.is_some()
    }
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
    if args.at.is_some() && args.scenario.is_none() && !args.is_live() {
        eprintln!("error: `--at` needs `--scenario FILE` or `--prometheus URL`");
        return Exit::Usage;
    }
    if args.kubeconfig.is_some() && !args.is_live() {
        eprintln!(
            "error: `--kubeconfig` lists the objects of a live session: give `--prometheus URL`"
        );
        return Exit::Usage;
    }
    let live = if args.is_live() {
        match PromLive::new(&args) {
            Some(live) => Some(live),
            None => return Exit::Usage,
        }
    } else {
        None
    };
    let session = match Session::new(files, scenario, style) {
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
    let mut session = match live {
        Some(live) => session.with_live(Box::new(live)),
        None => session,
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
    let prompt = session.prompt();
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
        match editor.readline(&prompt) {
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

/// The live Prometheus, and the cluster when `--kubeconfig` is given.
struct PromLive {
    prometheus: Prometheus,
    url: String,
    matchers: Vec<LabelMatcher>,
    in_flight: usize,
    kube: Option<kube::Client>,
    runtime: tokio::runtime::Runtime,
}

impl PromLive {
    /// `None` once the problem is printed.
    fn new(args: &Args) -> Option<PromLive> {
        let config = args.prometheus.read_config()?;
        let prometheus = args.prometheus.client(&config)?;
        let url = config
            .prometheus
            .clone()
            .with_url(args.prometheus.prometheus.clone())
            .url
            .unwrap_or_default();
        let runtime = super::runtime()?;
        let kube = match &args.kubeconfig {
            None => None,
            Some(path) => {
                let source = ClientSource::Kubeconfig {
                    path: path.clone(),
                    context: args.context.clone(),
                };
                match runtime.block_on(client::connect(&source)) {
                    Ok(c) => Some(c),
                    Err(e) => {
                        eprintln!("error: {}", crate::cluster::approval::error_chain(&e));
                        return None;
                    }
                }
            }
        };
        Some(PromLive {
            prometheus,
            url,
            matchers: config.prometheus.matchers.clone(),
            in_flight: config.prometheus.max_in_flight,
            kube,
            runtime,
        })
    }
}

impl Live for PromLive {
    fn source(&self) -> String {
        self.url.clone()
    }

    fn now(&self) -> jiff::Timestamp {
        jiff::Timestamp::now()
    }

    fn fetch(&mut self, program: &Program, metrics: &[MetricId], at: jiff::Timestamp) -> Fetched {
        let mut fetched = Fetched::default();
        let mut queries = Vec::new();
        for id in metrics {
            let m = program.metric(*id);
            match metrics::inject(&m.promql, &self.matchers) {
                Ok(promql) => queries.push(Query {
                    metric: *id,
                    binding: m.qualified(),
                    promql,
                }),
                Err(e) => fetched.add(
                    *id,
                    &m.join,
                    Err(format!("cannot add the label matchers: {e}")),
                ),
            }
        }
        let answers = self.runtime.block_on(metrics::fetch(
            &self.prometheus,
            program,
            &queries,
            at,
            self.in_flight,
        ));
        // The bindings that failed before a query are kept.
        let mut all = answers;
        for (id, e) in fetched.failures() {
            all.add(id, &program.metric(id).join, Err(e.to_string()));
        }
        all
    }

    fn has_cluster(&self) -> bool {
        self.kube.is_some()
    }

    fn objects(&mut self, kind: Kind) -> Option<Result<crate::repl::Listed, String>> {
        let client = self.kube.clone()?;
        use crate::controller::objects::{list, namespaces};
        Some(self.runtime.block_on(async {
            let objects = list(&client, kind).await?;
            Ok((objects, namespaces(&client).await?))
        }))
    }
}
