//! Fuzzing the built binary as users drive it: generated `.apr` files,
//! scenario YAML, test blocks and REPL input, including the hostile classes
//! of issue 9 (long names, nesting behind strings, huge numbers, control
//! characters, byte-order marks, series that expand without end).
//!
//! Every run of a command must exit 0, 1 or 2 (never a panic's 101, an
//! abort or a signal), print no panic message, finish within a wall-clock
//! bound and stay within an address-space cap set with `setrlimit`; `fmt`
//! leaves each file either as it was or formatted (a second `fmt --check`
//! passes).
//!
//! `cargo test --test cli_fuzz` runs a few dozen cases. A long run loops
//! until the time is up and prints figures:
//!
//! ```text
//! CLI_FUZZ_SECONDS=600 cargo test --release --test cli_fuzz cli_fuzz_timed -- --nocapture
//! ```
//!
//! `CLI_FUZZ_SEED` (u64) repeats a run; the seed is printed.

use std::io::{Read as _, Write as _};
use std::os::unix::process::{CommandExt as _, ExitStatusExt as _};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed, TestCaseError, TestError, TestRunner};

/// Address space a run may reserve. mimalloc reserves ahead, so this is
/// looser than resident memory, but a run that tries to hold gigabytes of
/// samples fails against it.
const MEMORY_CAP: u64 = 4 << 30;
/// CPU seconds a run may use; the wall-clock bound below is the real one.
const CPU_CAP_SECS: u64 = 60;
/// Wall-clock bound per run, loose enough for a debug build on a busy
/// machine, tight enough that a quadratic path at these sizes exceeds it.
const WALL_CAP: Duration = Duration::from_secs(45);

// ------------------------------------------------------------ generators

/// A name of a length chosen to cross the limits: Kubernetes's 63 and 253,
/// and far past them.
fn name() -> BoxedStrategy<String> {
    prop_oneof![
        4 => "[a-z][a-z0-9_]{0,12}",
        1 => (60usize..70).prop_map(|n| "n".repeat(n)),
        1 => (250usize..260).prop_map(|n| "n".repeat(n)),
        1 => Just("n".repeat(70_000)),
    ]
    .boxed()
}

/// Pieces of policy text, each a class of input that broke a tool once.
fn apr_piece() -> BoxedStrategy<String> {
    prop_oneof![
        4 => Just("when pvc.usage > 50% for 5m then resize(+100%, max = 400Gi)\n".to_string()),
        2 => name().prop_map(|n| format!(
            "policy {n} {{\n  on pvc\n  when pvc.usage > 80% for 1m\n  then resize(+50%, max = 1Ti), notify(\"oncall\", \"{{pvc.name}} grown\")\n}}\n"
        )),
        2 => Just("let hot = 80%\n".to_string()),
        1 => Just("# apr-lint-disable short-for\nwhen pvc.usage > 50% for 1s then resize(+1Gi, max = 2Gi)\n".to_string()),
        1 => Just("when pod.restarts > 3 then event(\"Restarts\", \"{node.name}\")\n".to_string()),
        1 => Just("when pvc.usage > 50% then resize(+50%, max = 8Ei)\n".to_string()),
        1 => Just("policy big { when pvc.usage > 50% then resize(+1Gi, max = 2Gi) at_most 1e20 per 1h }\n".to_string()),
        1 => Just("let a\n".to_string()),
        1 => Just("let x = 1e5\n".to_string()),
        1 => Just("metric pvc.x : number = `sum(up\n".to_string()),
        1 => (1usize..20_000).prop_map(|n| format!(
            "when pvc.usage > 1% then event(\"A\", \"{{pvc.\nname}}\") `{}\n", "(".repeat(n)
        )),
        1 => (1usize..5_000).prop_map(|n| format!("let deep = {}1{}\n", "(".repeat(n), ")".repeat(n))),
        1 => Just("\u{feff}let bom = 1\n".to_string()),
        1 => Just("let esc = \"\u{1b}[31mred\u{1b}[0m\u{7}\"\nlet esc = 2\n".to_string()),
        1 => (1usize..200_000).prop_map(|n| format!("let long = {}\n", "1 + ".repeat(n / 4).trim_end_matches(" + "))),
        1 => "[ -~\n]{0,80}",
    ]
    .boxed()
}

fn apr_file() -> BoxedStrategy<String> {
    prop::collection::vec(apr_piece(), 1..6)
        .prop_map(|parts| parts.join("\n"))
        .boxed()
}

fn series_values() -> BoxedStrategy<String> {
    prop_oneof![
        3 => Just("60Gi+5Gix30".to_string()),
        1 => Just("1e308 -1e308 1e308".to_string()),
        1 => Just("1+0x100000000".to_string()),
        1 => Just("_x3 1 stale".to_string()),
        1 => "[0-9x+_ ]{0,20}",
    ]
    .boxed()
}

/// A scenario: PVCs with names of every length, series on them and on
/// objects that do not exist, and hostile step, duration and start values.
fn scenario() -> BoxedStrategy<String> {
    (
        prop_oneof![Just("1m"), Just("1s"), Just("0s"), Just("1ms")],
        prop_oneof![Just("30m"), Just("1000000m"), Just("4m")],
        prop_oneof![
            Just(String::new()),
            Just("start: 9999-12-31T00:00:00Z\n".to_string()),
            Just("start: 2026-01-01T00:00:00Z\n".to_string()),
        ],
        prop::collection::vec((name(), series_values(), any::<bool>()), 1..5),
        // Few extra objects, or so many that a long duration crosses the
        // work bound: the band between is legal and may run for minutes
        // (`scenario::MAX_WORK`), past this fuzz's wall-clock cap.
        prop_oneof![0usize..20, 2_500usize..3_000],
    )
        .prop_map(|(step, duration, start, pvcs, extra)| {
            let mut out = format!("{start}step: {step}\nduration: {duration}\nobjects:\n");
            out.push_str("  - {kind: storageclass, name: standard, allow_volume_expansion: true}\n");
            out.push_str("  - {kind: namespace, name: db}\n");
            for (n, _, _) in &pvcs {
                out.push_str(&format!(
                    "  - {{kind: pvc, namespace: db, name: {n}, storage_class: standard, capacity: 100Gi}}\n"
                ));
            }
            for i in 0..extra {
                out.push_str(&format!(
                    "  - {{kind: pvc, namespace: db, name: extra-{i}, storage_class: standard, capacity: 10Gi}}\n"
                ));
            }
            out.push_str("series:\n");
            for (n, values, known) in &pvcs {
                let object = if *known { n.clone() } else { format!("{n}-missing") };
                out.push_str(&format!(
                    "  - {{metric: pvc.used, object: pvc/db/{object}, values: \"{values}\"}}\n"
                ));
            }
            out
        })
        .boxed()
}

/// A `_test.apr` file, with expectations inside and past its end.
fn test_file() -> BoxedStrategy<String> {
    (
        prop_oneof![Just("4m"), Just("40m")],
        prop_oneof![Just("3m"), Just("60m"), Just("5m")],
        name(),
        // The world changing: good, at the end, past it, or of nothing.
        prop_oneof![
            Just(String::new()),
            name().prop_map(|o| format!("  set pvc \"db/{o}\" at 2m {{ capacity = 150Gi }}\n")),
            Just("  create pod \"db/p\" at 1m { phase = \"Failed\" }\n  delete pod \"db/p\" at 3m\n".to_string()),
            Just("  delete pod \"db/nothing\" at 90m\n".to_string()),
            Just("  set pvc \"db/x\" at 1m { }\n".to_string()),
        ],
    )
        .prop_map(|(duration, at, object, change)| {
            format!(
                "test \"generated\" {{\n  step 1m\n  duration {duration}\n  storageclass \"standard\" {{ allow_volume_expansion = true }}\n  pvc \"db/{object}\" {{ storage_class = \"standard\",\n    capacity = 100Gi }}\n  series pvc.used \"db/{object}\" = \"60Gi+5Gix40\"\n{change}  expect \"policies.apr:1\" \"db/{object}\" at {at} is pending\n  expect no action from 0s to {at}\n}}\n"
            )
        })
        .boxed()
}

fn repl_input() -> BoxedStrategy<String> {
    prop_oneof![
        2 => prop::collection::vec(
            prop_oneof![
                Just("pvc.usage".to_string()),
                Just("pvc.usage > 50%".to_string()),
                Just(":at 3m".to_string()),
                Just(":policies".to_string()),
                Just(":type pvc.capacity * 2".to_string()),
                Just(":load nowhere.apr".to_string()),
                Just("let x = ".to_string()),
                Just("\"open string".to_string()),
                name().prop_map(|n| format!("let {n} = 1")),
            ],
            1..20,
        )
        .prop_map(|lines| lines.join("\n") + "\n"),
        1 => (1usize..3_000).prop_map(|n| "policy p {\n".to_string() + &"  # still open\n".repeat(n)),
        1 => (1usize..1_500).prop_map(|n| (0..n).map(|i| format!("let l{i} = {i}\n")).collect()),
    ]
    .boxed()
}

#[derive(Debug, Clone)]
struct Case {
    policies: String,
    scenario: String,
    test: String,
    repl: String,
    command: usize,
}

fn case() -> BoxedStrategy<Case> {
    (
        apr_file(),
        scenario(),
        test_file(),
        repl_input(),
        0..COMMANDS.len(),
    )
        .prop_map(|(policies, scenario, test, repl, command)| Case {
            policies,
            scenario,
            test,
            repl,
            command,
        })
        .boxed()
}

// -------------------------------------------------------------- running

/// The command lines a case is run through, relative to its directory.
const COMMANDS: &[&[&str]] = &[
    &["check", "policies.apr"],
    &["check", "--format", "json", "policies.apr", "policies.apr"],
    &["lint", "--deny", "warnings", "."],
    &["fmt", "policies.apr"],
    &["fmt", "--diff", "policies.apr"],
    &["explain", "policies.apr"],
    &[
        "simulate",
        "policies.apr",
        "--scenario",
        "scenario.yaml",
        "--plot",
        "out.svg",
    ],
    &[
        "simulate",
        "policies.apr",
        "--scenario",
        "scenario.yaml",
        "--format",
        "json",
    ],
    &["test", ".", "--junit", "junit.xml"],
    &["repl", "--scenario", "scenario.yaml", "policies.apr"],
];

struct Run {
    code: Option<i32>,
    signal: Option<i32>,
    stderr: String,
    elapsed: Duration,
}

fn run_capped(dir: &Path, args: &[&str], stdin: &str) -> Run {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_autopilot"));
    cmd.args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env("COLUMNS", "100")
        .env_remove("XDG_STATE_HOME")
        .env("HOME", dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    // SAFETY: setrlimit is async-signal-safe; nothing else runs in the child
    // between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            let set = |resource, value: u64| {
                let limit = libc::rlimit {
                    rlim_cur: value,
                    rlim_max: value,
                };
                if libc::setrlimit(resource, &limit) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            };
            set(libc::RLIMIT_AS, MEMORY_CAP)?;
            set(libc::RLIMIT_CPU, CPU_CAP_SECS)?;
            set(libc::RLIMIT_CORE, 0)
        });
    }
    let start = Instant::now();
    let mut child = cmd.spawn().expect("the binary starts");
    let mut input = child.stdin.take().expect("stdin is piped");
    let stdin = stdin.to_string();
    let writer = std::thread::spawn(move || {
        let _ = input.write_all(stdin.as_bytes());
    });
    let mut err = child.stderr.take().expect("stderr is piped");
    let reader = std::thread::spawn(move || {
        let mut text = Vec::new();
        let _ = err.read_to_end(&mut text);
        text
    });
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait on the child") {
            break status;
        }
        if start.elapsed() > WALL_CAP {
            let _ = child.kill();
            break child.wait().expect("wait on the killed child");
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let elapsed = start.elapsed();
    let _ = writer.join();
    let stderr = reader.join().unwrap_or_default();
    Run {
        code: status.code(),
        signal: status.signal(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
        elapsed,
    }
}

fn check_case(case: &Case) -> Result<(), TestCaseError> {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let write = |name: &str, text: &str| std::fs::write(dir.path().join(name), text);
    write("policies.apr", &case.policies).expect("write policies");
    write("scenario.yaml", &case.scenario).expect("write scenario");
    write("policies_test.apr", &case.test).expect("write test");
    let args = COMMANDS[case.command];
    let stdin = if args[0] == "repl" {
        case.repl.as_str()
    } else {
        ""
    };
    let run = run_capped(dir.path(), args, stdin);
    let what = || {
        let skip = run.stderr.chars().count().saturating_sub(600);
        let tail: String = run.stderr.chars().skip(skip).collect();
        format!(
            "autopilot {} (code {:?}, signal {:?}, {:.1?}); stderr ends:\n{tail}",
            args.join(" "),
            run.code,
            run.signal,
            run.elapsed
        )
    };
    prop_assert!(run.elapsed < WALL_CAP, "over the time bound: {}", what());
    prop_assert!(
        matches!(run.code, Some(0..=2)),
        "exit code is not 0, 1 or 2: {}",
        what()
    );
    prop_assert!(!run.stderr.contains("panicked"), "a panic: {}", what());
    if args == ["fmt", "policies.apr"] {
        let after = std::fs::read_to_string(dir.path().join("policies.apr"));
        let after = after.map_err(|e| TestCaseError::fail(format!("fmt lost the file: {e}")))?;
        if after != case.policies {
            let again = run_capped(dir.path(), &["fmt", "--check", "policies.apr"], "");
            prop_assert_eq!(again.code, Some(0), "fmt's output is not formatted");
        }
    }
    Ok(())
}

fn config(cases: u32) -> Config {
    Config {
        cases,
        failure_persistence: None,
        max_shrink_iters: 64,
        ..Config::default()
    }
}

fn seed() -> u64 {
    std::env::var("CLI_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos());
            nanos as u64
        })
}

/// Runs `cases` cases from `seed`; a failure is the shrunk case, described.
fn run_cases(cases: u32, seed: u64) -> Result<(), String> {
    let mut runner = TestRunner::new(Config {
        rng_seed: RngSeed::Fixed(seed),
        ..config(cases)
    });
    runner
        .run(&case(), |c| check_case(&c))
        .map_err(|e| match e {
            TestError::Fail(why, case) => {
                // Cases hold names of 70,000 characters: show the start of each.
                let text = format!("{case:#?}");
                let shown: String = text.chars().take(4_000).collect();
                format!("{why}\nminimal case (first 4,000 characters): {shown}")
            }
            TestError::Abort(why) => format!("aborted: {why}"),
        })
}

#[test]
fn cli_fuzz() {
    let seed = seed();
    eprintln!("CLI_FUZZ_SEED={seed}");
    if let Err(e) = run_cases(40, seed) {
        panic!("CLI_FUZZ_SEED={seed}: {e}");
    }
}

/// Every hostile class once, so that each is run on every CI build and not
/// only when the generator happens to pick it.
#[test]
fn cli_fuzz_classes() {
    let deep_string = format!(
        "when pvc.usage > 1% then event(\"A\", \"{{pvc.\nname}}\") `{}\n",
        "(".repeat(10_000)
    );
    let long_name = "n".repeat(65_536);
    let plain = "when pvc.usage > 50% for 5m then resize(+100%, max = 400Gi)\n".to_string();
    let scenario = |values: &str, object: &str| {
        format!(
            "step: 1m\nduration: 30m\nobjects:\n  - {{kind: storageclass, name: standard, allow_volume_expansion: true}}\n  - {{kind: namespace, name: db}}\n  - {{kind: pvc, namespace: db, name: {object}, storage_class: standard, capacity: 100Gi}}\nseries:\n  - {{metric: pvc.used, object: pvc/db/{object}, values: \"{values}\"}}\n"
        )
    };
    // Many series, each just under the per-series cap: 4.95 GB once.
    let mut heavy =
        "step: 1m\nduration: 30m\nobjects:\n  - {kind: namespace, name: db}\n".to_string();
    for i in 0..500 {
        heavy.push_str(&format!(
            "  - {{kind: pvc, namespace: db, name: b{i}, capacity: 1Gi}}\n"
        ));
    }
    heavy.push_str("series:\n");
    for i in 0..500 {
        heavy.push_str(&format!(
            "  - {{metric: pvc.used, object: pvc/db/b{i}, values: \"1+0x999999\"}}\n"
        ));
    }
    let cases = [
        (plain.clone(), heavy),
        (deep_string.clone(), scenario("60Gi+5Gix30", "a")),
        (plain.clone(), scenario("60Gi+5Gix30", &long_name)),
        (plain.clone(), scenario("1e308 -1e308 1e308", "a")),
        (plain.clone(), scenario("1+0x100000000", "a")),
    ];
    let test = test_file();
    let mut runner = TestRunner::new(config(1));
    let test = test.new_tree(&mut runner).expect("a test file").current();
    let mut failures = Vec::new();
    for (policies, scenario) in cases {
        for command in 0..COMMANDS.len() {
            let case = Case {
                policies: policies.clone(),
                scenario: scenario.clone(),
                test: test.clone(),
                repl: "pvc.usage\n:at 3m\n".into(),
                command,
            };
            if let Err(e) = check_case(&case) {
                failures.push(e.to_string());
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// Loops over fresh runners until `CLI_FUZZ_SECONDS` have passed; a no-op
/// without it.
#[test]
fn cli_fuzz_timed() {
    let Some(seconds) = std::env::var("CLI_FUZZ_SECONDS")
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
    else {
        return;
    };
    let start = Instant::now();
    let mut seed = seed();
    eprintln!("CLI_FUZZ_SEED={seed}, {seconds} s");
    let mut batches = 0u64;
    while start.elapsed() < Duration::from_secs(seconds) {
        if let Err(e) = run_cases(16, seed) {
            panic!("CLI_FUZZ_SEED={seed}: {e}");
        }
        batches += 1;
        seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1);
    }
    eprintln!(
        "cli fuzz: {} cases in {:.0?}, no failure",
        batches * 16,
        start.elapsed()
    );
}
