//! `autopilot simulate POLICIES --scenario FILE`: runs the policies over a
//! scenario's simulated world and prints what happened.
//!
//! Exit codes: 0 ran, 1 the policies have errors, 2 the scenario cannot be
//! loaded (or a file cannot be read or written).

use std::path::PathBuf;
use std::sync::Arc;

use super::{Exit, Format};
use crate::diagnostic;
use crate::report;
use crate::sim::scenario;
use crate::sim::{self, ScenarioSource};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Policy files or directories (searched recursively for `*.apr`).
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// The scenario: objects, metric series and approvals (YAML, docs/formats.md).
    #[arg(long, value_name = "FILE")]
    scenario: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    format: Format,
    /// Also draw each condition's metric against its threshold, with the
    /// actions, as SVG.
    #[arg(long, value_name = "FILE.svg")]
    plot: Option<PathBuf>,
}

pub fn run(args: Args) -> Exit {
    let plot = match args.plot.as_deref().map(super::OutputFile::open) {
        Some(None) => return Exit::Usage,
        Some(Some(file)) => Some(file),
        None => None,
    };
    let Some(mut c) = super::load(&args.paths) else {
        return Exit::Usage;
    };
    if !c.diagnostics.is_empty() {
        super::report(&c);
    }
    if c.has_errors() {
        return Exit::Problems;
    }
    let Some((file, text)) = super::read_scenario(&mut c, &args.scenario) else {
        return Exit::Usage;
    };
    let program = Arc::new(std::mem::take(&mut c.checked.program));
    let loaded = scenario::parse(file, &text).and_then(|mut s| {
        let mut diags = s.check(&program);
        match ScenarioSource::new(&s, &program) {
            Ok(source) if diags.is_empty() => Ok((s, source)),
            Ok(_) => Err(diags),
            Err(more) => {
                diags.extend(more);
                diags.sort_by_key(|d| d.primary.span);
                Err(diags)
            }
        }
    });
    let (scenario, source) = match loaded {
        Ok(x) => x,
        Err(diags) => {
            eprint!(
                "{}",
                diagnostic::render_all(&c.sources, &diags, super::style())
            );
            eprintln!(
                "error: {}: {} problem(s) in the scenario",
                args.scenario.display(),
                diags.len()
            );
            return Exit::Usage;
        }
    };
    let silent = source.silent(&scenario, &program);
    if !silent.is_empty() {
        eprint!(
            "{}",
            diagnostic::render_all(&c.sources, &silent, super::style())
        );
    }
    let plan = match &args.plot {
        Some(_) => report::plot::plan(&c.sources, &program, &scenario),
        None => report::plot::Plan::default(),
    };
    let run = sim::run(Arc::clone(&program), &scenario, &source, &plan.probes);
    match args.format {
        Format::Text => out!(
            "{}",
            report::text::simulation(&scenario, &run, program.policies.len())
        ),
        Format::Json => outln!("{}", report::json::simulation(&scenario, &run)),
    }
    if let Some(file) = plot {
        let svg = report::plot::svg(&program, &scenario, &plan, &run);
        if !file.write(svg.as_bytes()) {
            return Exit::Usage;
        }
    }
    Exit::Ok
}
