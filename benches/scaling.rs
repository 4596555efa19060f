//! Scaling: for each class of input that once grew quadratically (issue 9),
//! the built binary runs at size n and 2n, and the ratio of the times is
//! printed. Near 2 is linear; 4 is quadratic.
//!
//! Run: `cargo bench --bench scaling` (prints a table; asserts nothing, as
//! timings belong in benches, not tests). `SCALING_RUNS` sets the runs per
//! size (the fastest counts; default 3).

use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// One input class: its name, a base size, and how to lay out a case of
/// size n in a directory and run it (the arguments and the stdin).
struct Class {
    name: &'static str,
    base: usize,
    make: fn(&Path, usize) -> (Vec<String>, String),
}

const POLICY: &str = "when pvc.usage > 50% for 5m then resize(+100%, max = 400Gi)\n";

fn write(dir: &Path, name: &str, text: &str) {
    std::fs::write(dir.join(name), text).expect("write a bench input");
}

fn args(words: &[&str]) -> Vec<String> {
    words.iter().map(|w| w.to_string()).collect()
}

/// A scenario over `n` PVCs, each with a series, plus `unknown` series that
/// name objects the scenario lacks (each asks for a "did you mean").
fn scenario(n: usize, unknown: usize, minutes: usize) -> String {
    let mut out = format!(
        "step: 1m\nduration: {minutes}m\nobjects:\n  - {{kind: storageclass, name: standard, allow_volume_expansion: true}}\n  - {{kind: namespace, name: db}}\n"
    );
    for i in 0..n {
        out.push_str(&format!(
            "  - {{kind: pvc, namespace: db, name: data-{i}, storage_class: standard, capacity: 100Gi}}\n"
        ));
    }
    out.push_str("series:\n");
    for i in 0..n {
        out.push_str(&format!(
            "  - {{metric: pvc.used, object: pvc/db/data-{i}, values: \"40Gi+1Gix{minutes}\"}}\n"
        ));
    }
    for i in 0..unknown {
        out.push_str(&format!(
            "  - {{metric: pvc.used, object: pvc/db/missing-{i}, values: \"1x{minutes}\"}}\n"
        ));
    }
    out
}

fn long_names(dir: &Path, n: usize) -> (Vec<String>, String) {
    // Two long names that differ at the end: the unknown one asks for a
    // "did you mean" against the defined one.
    let name = "a".repeat(n);
    let text = format!("let {name}x = 1\nlet other = {name}y\n");
    write(dir, "names.apr", &text);
    (args(&["check", "names.apr"]), String::new())
}

fn many_objects(dir: &Path, n: usize) -> (Vec<String>, String) {
    write(dir, "policies.apr", POLICY);
    write(dir, "scenario.yaml", &scenario(n, 0, 30));
    (
        args(&["simulate", "policies.apr", "--scenario", "scenario.yaml"]),
        String::new(),
    )
}

fn many_series(dir: &Path, n: usize) -> (Vec<String>, String) {
    write(dir, "policies.apr", POLICY);
    write(dir, "scenario.yaml", &scenario(10, n, 5));
    (
        args(&["simulate", "policies.apr", "--scenario", "scenario.yaml"]),
        String::new(),
    )
}

fn repl_open_input(dir: &Path, n: usize) -> (Vec<String>, String) {
    write(dir, "policies.apr", POLICY);
    let input = "policy open {\n".to_string() + &"  # still open\n".repeat(n) + "}\n";
    (args(&["repl", "policies.apr"]), input)
}

fn repl_lets(dir: &Path, n: usize) -> (Vec<String>, String) {
    write(dir, "policies.apr", POLICY);
    let input: String = (0..n).map(|i| format!("let l{i} = {i}\n")).collect();
    (args(&["repl", "policies.apr"]), input)
}

fn lint_policies(dir: &Path, n: usize) -> (Vec<String>, String) {
    let mut text = String::with_capacity(n * 200);
    for i in 0..n {
        text.push_str(&format!(
            "policy grow_{i} {{\n  on pvc where pvc.labels.app == \"app{i}\"\n  when pvc.usage > 80% for 10m\n  then resize(+50%, max = 2Ti, min_step = 10Gi)\n  cooldown 1h\n}}\n\n"
        ));
    }
    write(dir, "many.apr", &text);
    (args(&["lint", "many.apr"]), String::new())
}

const CLASSES: &[Class] = &[
    Class {
        name: "long names (check, bytes per name)",
        base: 100_000,
        make: long_names,
    },
    Class {
        name: "many objects (simulate, PVCs x 30 ticks)",
        base: 2_000,
        make: many_objects,
    },
    Class {
        name: "many series on unknown objects (simulate)",
        base: 2_000,
        make: many_series,
    },
    Class {
        name: "long incomplete REPL input (lines)",
        base: 4_000,
        make: repl_open_input,
    },
    Class {
        name: "many REPL items (lets)",
        base: 2_000,
        make: repl_lets,
    },
    Class {
        name: "lint of many policies",
        base: 5_000,
        make: lint_policies,
    },
];

/// The fastest of `runs` runs of one case, and its exit code.
fn time(class: &Class, n: usize, runs: usize) -> (Duration, Option<i32>) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let (args, stdin) = (class.make)(dir.path(), n);
    let mut best = Duration::MAX;
    let mut code = None;
    for _ in 0..runs {
        let start = Instant::now();
        let mut child = Command::new(env!("CARGO_BIN_EXE_autopilot"))
            .args(&args)
            .current_dir(dir.path())
            .env("NO_COLOR", "1")
            .env("HOME", dir.path())
            .env_remove("XDG_STATE_HOME")
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("the binary starts");
        let mut input = child.stdin.take().expect("stdin is piped");
        let text = stdin.clone();
        let writer = std::thread::spawn(move || {
            let _ = input.write_all(text.as_bytes());
        });
        let status = child.wait().expect("the binary finishes");
        let _ = writer.join();
        best = best.min(start.elapsed());
        code = status.code();
    }
    (best, code)
}

fn main() {
    // `cargo bench` passes `--bench`; a filter picks classes by name.
    let filter: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let runs = std::env::var("SCALING_RUNS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3);
    println!(
        "{:<44} {:>9} {:>10} {:>10} {:>6}  exit",
        "class", "n", "t(n)", "t(2n)", "ratio"
    );
    for class in CLASSES {
        if !filter.is_empty() && !filter.iter().any(|f| class.name.contains(f.as_str())) {
            continue;
        }
        let (one, code_one) = time(class, class.base, runs);
        let (two, code_two) = time(class, class.base * 2, runs);
        println!(
            "{:<44} {:>9} {:>10.1?} {:>10.1?} {:>6.2}  {:?}/{:?}",
            class.name,
            class.base,
            one,
            two,
            two.as_secs_f64() / one.as_secs_f64().max(1e-9),
            code_one,
            code_two,
        );
    }
}
