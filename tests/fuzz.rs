//! Fuzzing the front end (parse + check) with proptest, on stable Rust.
//!
//! Inputs come from three generators: token-level mutations of a corpus of
//! valid programs, a grammar-directed generator of well-formed but mostly
//! ill-typed programs, and (less often) random bytes. Every input must
//! compile without panicking, within a time budget, and produce well-formed
//! diagnostics; files that parse must format idempotently (see
//! [`check_input`]).
//!
//! `cargo test --test fuzz` runs a few hundred cases per generator. A long
//! run loops until the time is up and prints figures:
//!
//! ```text
//! FUZZ_SECONDS=600 cargo test --release --test fuzz fuzz_timed -- --nocapture
//! ```
//!
//! Environment: `FUZZ_SEED` (u64, else random; printed), `FUZZ_CASE_MS`
//! (time budget per case), `FUZZ_HANG_SECS` (watchdog: a case running this
//! long aborts the run and prints the input), `FUZZ_LAST` (a path: each input
//! is written there before it runs, to recover it after a stack overflow).
//! Failures are shrunk and their seeds kept in `tests/fuzz.proptest-regressions`; the
//! minimal inputs of fixed bugs are in [`REGRESSIONS`].

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::Write as _;
use std::sync::{Mutex, Once, OnceLock};
use std::thread::ThreadId;
use std::time::{Duration, Instant};

use autopilot::compile::{Compiled, compile};
use autopilot::diagnostic::{Label, Style, render_all};
use autopilot::ir::{self, ExprKind, TemplatePart, Value};
use autopilot::source::{FileId, SourceMap, Span};
use autopilot::syntax::fmt::format_source;
mod common;

use common::generators::*;
use proptest::prelude::*;
use proptest::test_runner::{
    Config, FileFailurePersistence, RngSeed, TestCaseError, TestError, TestRunner,
};

// ---------------------------------------------------------------- properties

/// What compiling an input gave; the order of the figures' columns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Outcome {
    ParseError = 0,
    CheckError = 1,
    Valid = 2,
}

fn case_budget() -> Duration {
    // A hang detector, not a speed goal (benches/scaling.rs holds the
    // bounds): a debug build is about ten times slower, and shares two cores
    // with the other tests; the largest regression case takes about 20 s there.
    let default = if cfg!(debug_assertions) {
        60_000
    } else {
        2_000
    };
    Duration::from_millis(env_u64("FUZZ_CASE_MS").unwrap_or(default))
}

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| v.parse().ok())
}

type Running = HashMap<ThreadId, (Instant, Vec<String>)>;

/// The case each thread is running, for the watchdog.
fn running() -> &'static Mutex<Running> {
    static RUNNING: OnceLock<Mutex<Running>> = OnceLock::new();
    RUNNING.get_or_init(|| {
        let hang = Duration::from_secs(env_u64("FUZZ_HANG_SECS").unwrap_or(60));
        std::thread::spawn(move || {
            loop {
                std::thread::sleep(Duration::from_millis(500));
                let map = running().lock().unwrap_or_else(|e| e.into_inner());
                if let Some((_, files)) = map.values().find(|(t, _)| t.elapsed() > hang) {
                    // Straight to stderr: the test harness would capture eprintln!.
                    let _ = writeln!(
                        std::io::stderr(),
                        "fuzz: a case has run for over {hang:?}; input:\n{files:#?}"
                    );
                    std::process::exit(101);
                }
            }
        });
        Mutex::new(HashMap::new())
    })
}

/// Prints each panic location once per thread: shrinking re-runs a failing case
/// hundreds of times, and proptest reports the message with the input.
fn quiet_panics() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let seen = Mutex::new(HashSet::new());
        std::panic::set_hook(Box::new(move |info| {
            let at = info.location().map(|l| l.to_string()).unwrap_or_default();
            let key = (std::thread::current().id(), at.clone());
            let new = seen.lock().unwrap_or_else(|e| e.into_inner()).insert(key);
            if new {
                let payload = info.payload();
                let msg = payload
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| payload.downcast_ref::<String>().cloned())
                    .unwrap_or_default();
                eprintln!("panic at {at}: {msg}");
            }
        }));
    });
}

/// Compiles one input and checks every property; returns what it was.
fn check_input(files: &[String]) -> Result<(Outcome, Vec<&'static str>), TestCaseError> {
    quiet_panics();
    if let Ok(path) = std::env::var("FUZZ_LAST") {
        let _ = std::fs::write(path, format!("{files:#?}"));
    }
    let me = std::thread::current().id();
    running()
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(me, (Instant::now(), files.to_vec()));
    let start = Instant::now();
    let result = check_compiled(files);
    let elapsed = start.elapsed();
    running()
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .remove(&me);
    let out = result?;
    prop_assert!(
        elapsed < case_budget(),
        "took {elapsed:?}, over the budget of {:?}",
        case_budget()
    );
    Ok(out)
}

fn check_compiled(files: &[String]) -> Result<(Outcome, Vec<&'static str>), TestCaseError> {
    let named = files
        .iter()
        .enumerate()
        .map(|(i, f)| (format!("f{i}.apr"), f.clone()))
        .collect();
    let c = compile(named);
    let known = autopilot::check::all_codes();
    for d in &c.diagnostics {
        prop_assert!(
            d.code.starts_with("apr::") && d.code.len() > 5,
            "bad code {:?}",
            d.code
        );
        prop_assert!(
            known.contains(&d.code),
            "code {} is not in all_codes()",
            d.code
        );
        prop_assert!(!d.message.is_empty(), "{}: empty message", d.code);
        prop_assert!(
            d.help.as_deref().is_some_and(|h| !h.trim().is_empty()),
            "{}: no help ({:?})",
            d.code,
            d.message
        );
        for label in std::iter::once(&d.primary).chain(&d.secondary) {
            check_label(&c.sources, label)
                .map_err(|e| TestCaseError::fail(format!("{} {:?}: {e}", d.code, d.message)))?;
        }
    }
    let rendered = render_all(&c.sources, &c.diagnostics, Style::PLAIN);
    prop_assert!(c.diagnostics.is_empty() || !rendered.is_empty());
    let codes: Vec<&'static str> = c.diagnostics.iter().map(|d| d.code).collect();
    let mut parsed = true;
    for (i, text) in files.iter().enumerate() {
        parsed &= check_fmt(FileId(i as u32), text)?;
    }
    let outcome = if !parsed {
        Outcome::ParseError
    } else if c.has_errors() {
        Outcome::CheckError
    } else {
        check_program(&c)?;
        Outcome::Valid
    };
    Ok((outcome, codes))
}

/// For a file that parses without errors: formatting keeps its meaning and
/// comments (`format_source` checks both) and is idempotent. False when the
/// file does not parse.
fn check_fmt(file: FileId, text: &str) -> Result<bool, TestCaseError> {
    let (_, diags) = autopilot::syntax::parse(file, text);
    if diags.iter().any(|d| d.is_error()) {
        return Ok(false);
    }
    let once = match format_source(file, text) {
        Ok(out) => out,
        // Refused only because an anonymous rule or a disable comment would
        // move (its name or target is a line): the layout passed every other
        // check, and must itself be stable.
        Err(diags) if autopilot::syntax::fmt::refused_only_for_moves(&diags) => {
            autopilot::syntax::fmt::format(text, &autopilot::syntax::parse(file, text).0)
        }
        Err(diags) => {
            let what: Vec<&str> = diags.iter().map(|d| d.message.as_str()).collect();
            return Err(TestCaseError::fail(format!(
                "fmt refused a clean file: {what:?}"
            )));
        }
    };
    match format_source(file, &once) {
        Ok(twice) => prop_assert_eq!(twice, once, "fmt is not idempotent"),
        Err(diags) => {
            let what: Vec<&str> = diags.iter().map(|d| d.message.as_str()).collect();
            return Err(TestCaseError::fail(format!(
                "fmt refused its own output: {what:?}"
            )));
        }
    }
    Ok(true)
}

fn check_span(sources: &SourceMap, span: Span) -> Result<(), String> {
    if !sources.ids().any(|id| id == span.file) {
        return Err(format!("span {span:?} in unknown file {:?}", span.file));
    }
    let text = &sources.get(span.file).text;
    let (s, e) = (span.start as usize, span.end as usize);
    if s > e || e > text.len() {
        return Err(format!(
            "span {s}..{e} outside a text of {} bytes",
            text.len()
        ));
    }
    if !text.is_char_boundary(s) || !text.is_char_boundary(e) {
        return Err(format!("span {s}..{e} not on char boundaries of {text:?}"));
    }
    Ok(())
}

fn check_label(sources: &SourceMap, label: &Label) -> Result<(), String> {
    check_span(sources, label.span)
}

/// For programs without errors: `explain` and the IR display, the IR's
/// spans are in the text, and its numbers are finite.
fn check_program(c: &Compiled) -> Result<(), TestCaseError> {
    let program = &c.checked.program;
    let mut bad = None;
    for p in &program.policies {
        check_span(&c.sources, p.span).map_err(TestCaseError::fail)?;
        let explained = autopilot::report::explain::explain(&c.sources, program, p);
        prop_assert!(explained.contains(&p.name));
        let mut exprs: Vec<&ir::Expr> = vec![&p.condition];
        exprs.extend(&p.filter);
        for a in &p.actions {
            if let ir::ActionKind::Annotate { value: t, .. }
            | ir::ActionKind::Label { value: t, .. }
            | ir::ActionKind::Event { message: t, .. }
            | ir::ActionKind::Notify { message: t, .. } = &a.kind
            {
                for part in &t.parts {
                    if let TemplatePart::Value(e) = part {
                        exprs.push(e);
                    }
                }
            }
        }
        for e in exprs {
            let shown = ir::show(program, p.kind, e);
            prop_assert!(!shown.is_empty());
            for x in e.nodes() {
                if bad.is_none() {
                    if let Err(msg) = check_span(&c.sources, x.span) {
                        bad = Some(msg);
                    } else if let ExprKind::Const(Value::Num(n)) = &x.kind
                        && !n.is_finite()
                    {
                        bad = Some(format!("constant {n} in `{shown}`"));
                    }
                }
            }
        }
        for n in [p.hold, p.cooldown] {
            prop_assert!(n <= ir::Millis::MAX, "{}: duration {n}", p.name);
        }
    }
    match bad {
        Some(msg) => Err(TestCaseError::fail(msg)),
        None => Ok(()),
    }
}

// ---------------------------------------------------------------- quick runs

/// Failing seeds go to `tests/fuzz.proptest-regressions`, replayed before new cases.
fn persistence() -> Option<Box<dyn proptest::test_runner::FailurePersistence>> {
    Some(Box::new(FileFailurePersistence::WithSource(
        "proptest-regressions",
    )))
}

fn quick_config() -> ProptestConfig {
    ProptestConfig {
        cases: 256,
        failure_persistence: persistence(),
        max_shrink_time: 60_000,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(quick_config())]

    #[test]
    fn mutated_corpus(files in mutated()) {
        check_input(&files)?;
    }

    #[test]
    fn grammar_directed(files in grammar_input()) {
        check_input(&files)?;
    }

    #[test]
    fn random_bytes(files in random_input()) {
        check_input(&files)?;
    }
}

#[test]
fn corpus_is_valid() {
    for (i, src) in CORPUS.iter().enumerate() {
        assert_eq!(
            tokenize(src).concat(),
            *src,
            "snippet {i} tokenizes losslessly"
        );
        let c = compile(vec![(format!("corpus{i}.apr"), src.to_string())]);
        let text = render_all(&c.sources, &c.diagnostics, Style::PLAIN);
        assert!(c.diagnostics.is_empty(), "snippet {i}:\n{text}");
        assert!(
            !c.checked.program.policies.is_empty(),
            "snippet {i} has policies"
        );
        check_input(&[src.to_string()]).unwrap();
    }
}

/// Inputs that once broke a property; each names the bug it found.
const REGRESSIONS: &[(&str, &str)] = &[
    (
        "empty list outside `in []` sliced [1..]",
        "when [] then resize()",
    ),
    ("empty list in a let", "let l0 = (-[] or pvc.usage)"),
    (
        "window words placed by their unescaped offsets: a span inside `é`",
        "policy p { when pvc.usage > 1% then resize(+1%, max = 1Gi) window \"\\\\éé x\" }",
    ),
    (
        "PromQL error located inside a multi-byte space",
        "metric pvc.usage : percent = `x\u{3000}`",
    ),
];

/// Regression inputs too big to write out.
fn generated_regressions() -> Vec<(&'static str, String)> {
    vec![
        (
            "checking a let recursed once per let of a chain: stack overflow",
            let_chain(5_000, "", true),
        ),
        (
            "lets checked in order built IR trees of unbounded depth: stack overflow",
            let_chain(20_000, "-", false),
        ),
        (
            "each use of a let copied its IR: 2^40 nodes from 40 lets",
            let_doubling(40),
        ),
        (
            "the Pratt parser recursed once per prefix `-`: stack overflow",
            format!("let l0 = {}1", "-".repeat(4000)),
        ),
        (
            "`not` nests around comparisons: `not x == not x == …`",
            format!("let l0 = {}true", "not true == ".repeat(1360)),
        ),
        (
            "PromQL nested 10,000 deep",
            format!(
                "metric pvc.x : bytes = `{}x{}`",
                "(".repeat(10_000),
                ")".repeat(10_000)
            ),
        ),
        (
            "PromQL of 20,000 terms",
            format!("metric pvc.x : bytes = `{}x`", "x + ".repeat(20_000)),
        ),
        (
            "PromQL with 20,000 unary minus",
            format!("metric pvc.x : bytes = `{}x`", "-".repeat(20_000)),
        ),
        (
            "PromQL just under the length limit: 4,000 terms",
            format!("metric pvc.x : bytes = `{}x`", "x+".repeat(4_000)),
        ),
        (
            "PromQL just under the length limit: 8,000 unary minus",
            format!("metric pvc.x : bytes = `{}x`", "-".repeat(8_000)),
        ),
        (
            "locating a PromQL error parsed every prefix: 24 s for 4 KB",
            format!("metric pvc.x : bytes = `{}+`", "x + ".repeat(1000)),
        ),
        (
            "locating a PromQL error whose good prefix is short",
            format!("metric pvc.x : bytes = `x {}`", "y ".repeat(2000)),
        ),
        (
            "\"did you mean\" compared 5,000 unknown names with 5,000 lets",
            (0..5000).map(|i| format!("let a{i} = zz{i}\n")).collect(),
        ),
        (
            "3,000 unknown fields against 3,000 metrics: \"did you mean\", and drawing \
             each diagnostic from the start of a 230 KB file",
            (0..3000)
                .map(|i| {
                    format!(
                        "metric pvc.m{i} : number = `x`\n\
                         when pvc.q{i} > 1 then resize(+1%, max = 1Gi)\n"
                    )
                })
                .collect(),
        ),
        (
            "a number that fits a float, times its unit, did not: infinite bytes",
            format!(
                "when pvc.used > {}Ei for {}w then resize(+1%, max = 1Gi)",
                "9".repeat(300),
                "9".repeat(300)
            ),
        ),
    ]
}

/// `let d0 = d1 + d1`, `let d1 = d2 + d2`, …: each let doubles the one below.
fn let_doubling(n: usize) -> String {
    let mut out = format!("let d{n} = pvc.usage\n");
    for i in (0..n).rev() {
        out += &format!("let d{i} = d{} + d{}\n", i + 1, i + 1);
    }
    out + "when d0 > 1% then resize(+1%, max = 1Gi)\n"
}

#[test]
fn regressions() {
    let generated = generated_regressions();
    let all = REGRESSIONS
        .iter()
        .map(|(bug, src)| (*bug, src.to_string()))
        .chain(generated);
    for (bug, src) in all {
        if let Err(e) = check_input(&[src]) {
            panic!("{bug}: {e}");
        }
    }
}

// ---------------------------------------------------------------- long run

#[derive(Default)]
struct Figures {
    cases: u64,
    /// Cases by generator, then by outcome.
    outcomes: BTreeMap<&'static str, [u64; 3]>,
    codes: BTreeMap<&'static str, u64>,
}

/// Loops over fresh runners until `FUZZ_SECONDS` have passed; a no-op
/// without it.
#[test]
fn fuzz_timed() {
    let Some(secs) = env_u64("FUZZ_SECONDS") else {
        return;
    };
    let seed = env_u64("FUZZ_SEED").unwrap_or_else(|| {
        use std::hash::{BuildHasher, RandomState};
        RandomState::new().hash_one(Instant::now())
    });
    println!("fuzz: seed {seed} (FUZZ_SEED={seed} repeats this run), {secs} s");
    let figures = RefCell::new(Figures::default());
    let start = Instant::now();
    let deadline = start + Duration::from_secs(secs);
    let strategy = any_input();
    let mut round = 0u64;
    while Instant::now() < deadline {
        let config = Config {
            cases: 200,
            rng_seed: RngSeed::Fixed(seed.wrapping_add(round)),
            failure_persistence: persistence(),
            source_file: Some(file!()),
            test_name: Some("fuzz_timed"),
            max_shrink_time: 120_000,
            ..Config::default()
        };
        let mut runner = TestRunner::new(config);
        let result = runner.run(&strategy, |(generator, files)| {
            let (outcome, codes) = check_input(&files)?;
            let mut f = figures.borrow_mut();
            f.cases += 1;
            f.outcomes.entry(generator).or_default()[outcome as usize] += 1;
            for code in codes {
                *f.codes.entry(code).or_default() += 1;
            }
            Ok(())
        });
        if let Err(e) = result {
            print_figures(&figures.borrow(), start.elapsed());
            match e {
                TestError::Fail(why, files) => {
                    panic!(
                        "round {round} (seed {}) failed: {why}\ninput: {files:#?}",
                        seed.wrapping_add(round)
                    )
                }
                TestError::Abort(why) => panic!("round {round} aborted: {why}"),
            }
        }
        round += 1;
    }
    print_figures(&figures.borrow(), start.elapsed());
}

fn print_figures(f: &Figures, elapsed: Duration) {
    let secs = elapsed.as_secs_f64();
    println!(
        "fuzz: {} cases in {secs:.1} s, {:.0} cases/s",
        f.cases,
        f.cases as f64 / secs
    );
    let pct = |n: u64, of: u64| 100.0 * n as f64 / of.max(1) as f64;
    let mut total = [0u64; 3];
    println!(
        "  {:<18} {:>8} {:>16} {:>16} {:>16}",
        "generator", "cases", "parse errors", "check errors", "valid"
    );
    for (generator, o) in &f.outcomes {
        let n: u64 = o.iter().sum();
        println!(
            "  {generator:<18} {n:>8} {:>8} ({:>4.1}%) {:>8} ({:>4.1}%) {:>8} ({:>4.1}%)",
            o[0],
            pct(o[0], n),
            o[1],
            pct(o[1], n),
            o[2],
            pct(o[2], n)
        );
        for k in 0..3 {
            total[k] += o[k];
        }
    }
    let n = f.cases;
    println!(
        "  {:<18} {n:>8} {:>8} ({:>4.1}%) {:>8} ({:>4.1}%) {:>8} ({:>4.1}%)",
        "all",
        total[0],
        pct(total[0], n),
        total[1],
        pct(total[1], n),
        total[2],
        pct(total[2], n)
    );
    println!(
        "  parsed cleanly: {} ({:.1}%)",
        total[1] + total[2],
        pct(total[1] + total[2], n)
    );
    println!("  distinct diagnostic codes seen: {}", f.codes.len());
    for (code, n) in &f.codes {
        println!("    {code:<36} {n}");
    }
    let unseen: Vec<&str> = autopilot::check::all_codes()
        .into_iter()
        .filter(|c| !f.codes.contains_key(c))
        .collect();
    println!("  codes never seen: {unseen:?}");
}

// ---------------------------------------------------------------- nesting pre-scan

/// Trivia between tokens: spaces, line breaks and comments holding the
/// characters that begin strings, PromQL and brackets.
fn trivia() -> BoxedStrategy<String> {
    lit(&["", " ", "\n", "\t\n  ", " # ( [ { \" ` \\\n", "#\"{\n"])
}

/// A string whose parts are what the grammar tells apart: text holding
/// brackets, backticks and `#`, escapes (one before a line break), literal
/// braces, and interpolations whose `{…}` spans lines and holds comments,
/// with quoted segments that are strings again.
fn scan_string() -> BoxedStrategy<String> {
    let leaf = Just("\"x\"".to_string()).boxed();
    leaf.prop_recursive(3, 24, 4, |inner| {
        // An interpolation holds any expression: paths, numbers, brackets,
        // strings with their own interpolations.
        let path = prop_oneof![
            lit(&[
                "pvc.name",
                "a",
                "pvc.labels.app",
                "1",
                "100% - pvc.usage",
                "-e"
            ]),
            inner.clone().prop_map(|s| format!("pvc.labels[{s}]")),
            inner.clone().prop_map(|s| format!("max(({s}), [1, (2)])")),
            inner.prop_map(|s| format!("{s} ?? \"d\"")),
        ];
        let part = prop_oneof![
            3 => lit(&["(", "[", "{{", "}}", "}", "`", "#", ")", "]", " x ", "é"]),
            2 => lit(&["\\\"", "\\\\", "\\\n", "\\n", "\\`", "\\{"]),
            3 => (trivia(), path, trivia()).prop_map(|(a, p, b)| format!("{{{a}{p}{b}}}")),
        ];
        prop::collection::vec(part, 0..5).prop_map(|parts| format!("\"{}\"", parts.concat()))
    })
    .boxed()
}

/// Expressions nesting brackets around strings, with trivia between tokens.
fn scan_expr() -> BoxedStrategy<String> {
    let leaf = prop_oneof![2 => scan_string(), 1 => lit(&["1", "pvc.usage", "true"])];
    leaf.prop_recursive(6, 48, 3, |e| {
        prop_oneof![
            (trivia(), e.clone()).prop_map(|(t, e)| format!("({t}{e})")),
            (e.clone(), trivia(), e.clone()).prop_map(|(a, t, b)| format!("[{a},{t}{b}]")),
            e.clone().prop_map(|e| format!("max({e})")),
            (e.clone(), trivia(), e).prop_map(|(a, t, b)| format!("{a} +{t}{b}")),
        ]
    })
    .boxed()
}

/// Files mixing lets, PromQL in backticks (holding quotes, brackets, `#`
/// and line breaks), comments, and now and then a stray quote, backtick,
/// brace or bracket that breaks the file.
fn scan_file() -> BoxedStrategy<String> {
    let piece = prop_oneof![
        6 => (scan_expr(), trivia()).prop_map(|(e, t)| format!("let a = {e}{t}\n")),
        2 => lit(&["( \" # {", "\"{ a\n", "x\n}", ")]", "", "a\n\"\n\""])
            .prop_map(|q| format!("metric pvc.m : bytes = `{q}`\n")),
        2 => lit(&["# \" ` ( {\n", "#\n"]),
        1 => lit(&["\"", "`", "{", "(", "\"{", "\"{\n", "\\"]),
    ];
    prop::collection::vec(piece, 1..6)
        .prop_map(|v| v.concat())
        .boxed()
}

/// Runs `f` on a thread with a small stack: the nesting pre-scan keeps
/// pest's recursion to [`MAX_NESTING`] levels, which fit easily, while
/// brackets it missed (10,000 here) overflow it. An overflow aborts the
/// whole test binary, which fails the test as surely as an error.
fn on_small_stack<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    std::thread::Builder::new()
        .stack_size(1 << 20)
        .spawn(f)
        .expect("spawn a parser thread")
        .join()
        .expect("the parser does not panic")
}

proptest! {
    #![proptest_config(quick_config())]

    /// The pre-scan sees every bracket pest nests (it may see more, where
    /// the grammar fails), so brackets appended after any generated text
    /// are caught before pest runs.
    #[test]
    fn nesting_prescan_agrees_with_grammar(text in scan_file()) {
        use autopilot::syntax::parse::{self, MAX_NESTING, codes, nesting_depths};
        let (seen, tree) = nesting_depths(&text);
        if let Some(tree) = tree {
            prop_assert!(seen >= tree, "pre-scan saw {seen} levels, the grammar nests {tree}");
        }
        let n = 10_000;
        let deep = format!("{text}\nlet zz = {}1{}\n", "(".repeat(n), ")".repeat(n));
        let parsed = tree.is_some() && seen <= MAX_NESTING;
        let codes = on_small_stack(move || {
            let _ = parse::is_incomplete(&deep);
            let (_, diags) = parse::parse(FileId(0), &deep);
            diags.iter().map(|d| d.code).collect::<Vec<_>>()
        });
        if parsed {
            prop_assert_eq!(codes, vec![codes::TOO_DEEP]);
        }
    }
}

/// An interpolation of an expression other than a path (`"{1}"`) ends at
/// its `}`: the pre-scan once read the rest of the line as a string, missed
/// the brackets after it, and let pest recurse past the limit (the long fuzz
/// run found it through `fmt`, whose output then failed to parse).
#[test]
fn brackets_after_an_interpolated_expression_are_counted() {
    use autopilot::syntax::parse::{self, codes, nesting_depths};
    for interp in [
        "{1}",
        "{100% - pvc.usage}",
        "{-e}",
        "{max((1), [2])}",
        "{\"{1}\" ?? 2}",
    ] {
        let text = format!("when a then resize(\"{interp}\"), resize(((((x)))))\n");
        let (seen, tree) = nesting_depths(&text);
        assert_eq!((seen, tree), (5, Some(5)), "{text}");
        let n = 10_000;
        let deep = format!(
            "when a then event(\"r\", \"{interp}\"), resize({}1{})\n",
            "(".repeat(n),
            ")".repeat(n)
        );
        let codes = on_small_stack(move || {
            let (_, diags) = parse::parse(FileId(0), &deep);
            diags.iter().map(|d| d.code).collect::<Vec<_>>()
        });
        assert_eq!(codes, vec![codes::TOO_DEEP], "{interp}");
    }
}

/// Nesting right at the limit parses on the small stack the property uses.
#[test]
fn nesting_at_the_limit_fits_a_small_stack() {
    use autopilot::syntax::parse::{self, MAX_NESTING};
    let n = MAX_NESTING - 4;
    let s = format!(
        "{}\"{{pvc.labels[\"x\"]}}\"{}",
        "(".repeat(n),
        ")".repeat(n)
    );
    let text = format!("policy p {{ when max({s}) > 1 then resize(+1%, max = 1Gi) }}\n");
    let diags = on_small_stack(move || parse::parse(FileId(0), &text).1);
    assert!(diags.is_empty(), "{diags:?}");
}
