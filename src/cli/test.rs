//! `autopilot test PATH... [--run REGEX] [--junit FILE]`: runs `test` blocks.
//!
//! Exit 0 when every test passed, 1 when one failed, a policy or a test does
//! not check, or no test ran; 2 for usage and I/O errors.

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::Arc;

use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};

use super::Exit;
use crate::compile;
use crate::diagnostic;
use crate::sim::testing;
use crate::source::FileId;
use crate::syntax::ast;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Files or directories: the policies and their `test` blocks. A
    /// `NAME_test.apr` file brings the other `.apr` files of its folder.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// Only the tests whose name matches this regular expression.
    #[arg(long, value_name = "REGEX")]
    run: Option<String>,
    /// Also write the results as JUnit XML.
    #[arg(long, value_name = "FILE")]
    junit: Option<PathBuf>,
}

pub fn run(args: Args) -> Exit {
    let filter = match args.run.as_deref().map(regex::Regex::new).transpose() {
        Ok(f) => f,
        Err(e) => {
            eprintln!("error: --run: {e}");
            return Exit::Usage;
        }
    };
    let junit = match args.junit.as_deref().map(super::OutputFile::open) {
        Some(None) => return Exit::Usage,
        Some(Some(file)) => Some(file),
        None => None,
    };
    // A `NAME_test.apr` brings the policies beside it; only the tests of
    // the paths given run.
    let (files, given) = match compile::read_tests(&args.paths) {
        Ok(read) => read,
        Err(e) => {
            eprintln!("error: {e}");
            return Exit::Usage;
        }
    };
    let given: HashSet<String> = files[..given].iter().map(|f| f.name.clone()).collect();
    let mut c = compile::compile(files.into_iter().map(compile::Loaded::into_named).collect());
    if c.has_errors() {
        super::report(&c);
        return Exit::Problems;
    }
    let program = Arc::new(std::mem::take(&mut c.checked.program));
    let ours: Vec<(FileId, ast::File)> = std::mem::take(&mut c.files)
        .into_iter()
        .filter(|(id, _)| given.contains(&c.sources.get(*id).name))
        .collect();
    let (cases, diags) = testing::collect(&mut c.sources, &ours, &program);
    if !diags.is_empty() {
        eprint!(
            "{}",
            diagnostic::render_all(&c.sources, &diags, super::style())
        );
    }
    let selected: Vec<&testing::Case> = cases
        .iter()
        .filter(|t| filter.as_ref().is_none_or(|f| f.is_match(&t.name)))
        .collect();
    let mut suite = TestSuite::new("autopilot");
    let mut failed = 0;
    for case in &selected {
        let started = std::time::Instant::now();
        let outcome = testing::run(&program, case);
        let location = c.sources.location(case.span);
        if outcome.passed() {
            outln!("ok      {}  ({location})", outcome.name);
        } else {
            failed += 1;
            outln!("FAILED  {}  ({location})", outcome.name);
            for f in &outcome.failures {
                outln!("  {f}");
            }
            outln!("  actual timeline:");
            for line in outcome.timeline.lines() {
                outln!("    {line}");
            }
        }
        let status = if outcome.passed() {
            TestCaseStatus::success()
        } else {
            let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
            s.set_message(outcome.failures.join("\n"));
            s.set_description(outcome.timeline.clone());
            s
        };
        let mut tc = TestCase::new(outcome.name.clone(), status);
        tc.set_classname(location);
        tc.set_time(started.elapsed());
        suite.add_test_case(tc);
    }
    let ran = selected.len();
    outln!();
    outln!("{} passed, {failed} failed", ran - failed);
    if let Some(file) = junit {
        let mut report = Report::new("autopilot test");
        report.add_test_suite(suite);
        let xml = match report.to_string() {
            Ok(xml) => xml,
            Err(e) => {
                eprintln!("error: junit: {e}");
                return Exit::Usage;
            }
        };
        if !file.write(xml.as_bytes()) {
            return Exit::Usage;
        }
    }
    if ran == 0 {
        eprintln!(
            "error: no test ran{}",
            if args.run.is_some() {
                " (none matches --run)"
            } else {
                ""
            }
        );
        return Exit::Problems;
    }
    if failed > 0 || !diags.is_empty() {
        Exit::Problems
    } else {
        Exit::Ok
    }
}
