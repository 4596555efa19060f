//! `autopilot explain PATH [--policy NAME]`: the typed IR of each policy and
//! the exact PromQL each binding it reads sends.

use std::path::PathBuf;

use super::Exit;
use crate::ir;
use crate::report::explain::explain;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// A file or directory of policies.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// Only this policy.
    #[arg(long)]
    policy: Option<String>,
}

pub fn run(args: Args) -> Exit {
    let Some(c) = super::load(&args.paths) else {
        return Exit::Usage;
    };
    if c.has_errors() {
        super::report(&c);
        return Exit::Problems;
    }
    let program = &c.checked.program;
    let policies: Vec<&ir::Policy> = program
        .policies
        .iter()
        .filter(|p| args.policy.as_ref().is_none_or(|n| &p.name == n))
        .collect();
    if policies.is_empty() {
        match &args.policy {
            Some(name) => eprintln!("error: no policy named `{name}`"),
            None => eprintln!("error: no policies in the given files"),
        }
        return Exit::Usage;
    }
    let mut out = String::new();
    for p in policies {
        out.push_str(&explain(&c.sources, program, p));
        out.push('\n');
    }
    out!("{out}");
    Exit::Ok
}
