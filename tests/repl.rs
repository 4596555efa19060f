//! The REPL as users script it: the built binary, stdin piped (so no
//! prompts and no colour), over the postgres example.
//!
//! The script is `tests/data/repl/session.txt`; the snapshot is
//! `tests/snapshots/repl__session.snap`. Regenerate with
//! `INSTA_UPDATE=always cargo test --test repl` (or `cargo insta review`),
//! read the diff, commit the `.snap` file.

use std::io::Write;
use std::process::{Command, Output, Stdio};

fn repl(args: &[&str], script: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_autopilot"))
        .arg("repl")
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("COLUMNS", "100")
        .env("NO_COLOR", "1")
        .env_remove("XDG_STATE_HOME")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary runs");
    child
        .stdin
        .take()
        .expect("stdin is piped")
        .write_all(script.as_bytes())
        .expect("the script is written");
    child.wait_with_output().expect("the binary finishes")
}

#[test]
fn session() {
    let script = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/repl/session.txt"),
    )
    .expect("the script is there");
    let out = repl(
        &[
            "--scenario",
            "examples/postgres/scenario.yaml",
            "examples/postgres",
        ],
        &script,
    );
    assert!(out.status.success(), "{out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
    let stdout = String::from_utf8_lossy(&out.stdout);
    insta::with_settings!({ description => script.as_str(), omit_expression => true }, {
        insta::assert_snapshot!(stdout);
    });
}

#[test]
fn starts_at_the_time_given() {
    let out = repl(
        &[
            "--scenario",
            "examples/postgres/scenario.yaml",
            "--at",
            "30m",
            "examples/postgres",
        ],
        ":at\n",
    );
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "clock at 30m00s (step 1m00s, the scenario ends at 1h30m00s)\n\
         the world as the tick at 30m00s saw it, before its actions\n"
    );
}

#[test]
fn without_a_scenario_constants_still_evaluate() {
    let out = repl(&[], "1Gi + 512Mi\npvc.usage\n");
    assert!(out.status.success(), "{out:?}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.starts_with("1.5Gi  (bytes)\n"), "{stdout}");
    assert!(stdout.contains("there is no scenario"), "{stdout}");
}

#[test]
fn problems_at_start_give_exit_codes() {
    let out = repl(&["--scenario", "nonexistent.yaml"], "");
    assert_eq!(out.status.code(), Some(2));
    let out = repl(
        &[
            "--scenario",
            "examples/postgres/scenario.yaml",
            "--at",
            "1y",
        ],
        "",
    );
    assert_eq!(out.status.code(), Some(2));
    let out = repl(&["tests/data/repl/broken.apr"], "");
    assert_eq!(out.status.code(), Some(1));
}

/// Thousands of continuation lines: the input is scanned line by line, not
/// re-parsed after each one, and what comes out is what a short input gives.
#[test]
fn thousands_of_continuation_lines() {
    let mut script = String::from("(1 +\n");
    for _ in 0..5000 {
        script.push_str("  # a comment inside the brackets\n");
    }
    script.push_str("  2)\nlet x = (1 +\n");
    for _ in 0..40 {
        script.push_str("  1 +\n");
    }
    script.push_str("  1)\nx\n(1 +* 2\n)\n3 *\n\n  4\n");
    let out = repl(&["tests/data/repl/empty.apr"], &script);
    assert!(out.status.success(), "{out:?}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(
        lines[..3],
        ["3  (number)", "defined", "42  (number)"],
        "{stdout}"
    );
    assert!(stdout.contains("apr::parse::syntax"), "{stdout}");
    assert!(stdout.trim_end().ends_with("12  (number)"), "{stdout}");
}

/// Items typed one after another: each is parsed alone and joins the
/// program; a bad one leaves the session as it was.
#[test]
fn a_long_run_of_lets() {
    let mut script = String::new();
    for i in 0..1500 {
        script.push_str(&format!("let c{i} = {i}\n"));
    }
    script.push_str("let c0 = 5\nlet bad = nope\nc1499 + c1\nlet d = c7 * 2\nd\n");
    let out = repl(&["tests/data/repl/empty.apr"], &script);
    assert!(out.status.success(), "{out:?}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        stdout.lines().filter(|l| *l == "defined").count(),
        1501,
        "{stdout}"
    );
    assert!(stdout.contains("defined twice"), "{stdout}");
    assert!(stdout.contains("1500  (number)"), "{stdout}");
    assert!(stdout.trim_end().ends_with("14  (number)"), "{stdout}");
}

/// `:at T` shows the world as the tick at T saw it, before its actions: the
/// card rule resizes pg-data at 5m in `simulate`, and at 5m the REPL still
/// sees the 100Gi that the condition fired on.
#[test]
fn the_clock_shows_the_world_before_the_ticks_actions() {
    let out = repl(
        &[
            "--scenario",
            "examples/postgres/scenario.yaml",
            "--at",
            "5m",
            "examples/postgres",
        ],
        "pvc.usage > 50%\npvc.capacity\n:at\n",
    );
    assert!(out.status.success(), "{out:?}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let row = |name: &str| {
        stdout
            .lines()
            .filter(|l| l.starts_with(&format!("pvc/db/{name} ")))
            .map(|l| l.split_whitespace().nth(1).unwrap_or_default().to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(row("pg-data"), ["match", "100Gi"], "{stdout}");
    assert!(
        stdout.contains("the world as the tick at 5m00s saw it, before its actions"),
        "{stdout}"
    );
}

/// Over raw kubelet series, the REPL shows what the bindings' PromQL gives
/// at its clock: the tick at the clock, not the one before, and the volume
/// stats after the world's resize.
#[test]
fn raw_series_at_the_clock() {
    let out = repl(
        &[
            "--scenario",
            "tests/data/simulate/raw/volume_stats.yaml",
            "tests/data/simulate/raw/policies.apr",
        ],
        "pvc.usage\n:at 11m\npvc.usage > 80%\n:at 20m\npvc.usage\npvc.available\npvc.capacity\n",
    );
    assert!(out.status.success(), "{out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
    insta::assert_snapshot!(String::from_utf8_lossy(&out.stdout));
}

/// Nothing listens at port 1: each evaluation that reads a binding is one
/// clear error line, and the session goes on to the end of its input.
#[test]
fn an_unreachable_prometheus_is_an_error_per_evaluation() {
    let started = std::time::Instant::now();
    let out = repl(
        &["--prometheus", "http://127.0.0.1:1"],
        "pvc.usage\npvc.usage > 50%\n:at -1h\npvc.usage\n1 + 2\n",
    );
    assert!(out.status.success(), "{out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 5, "{stdout}");
    // One short line: the cause, not reqwest's text with the query URL.
    for i in [0, 1, 3] {
        assert_eq!(
            lines[i],
            "error: pvc.usage: Prometheus at http://127.0.0.1:1/api/v1/query is unreachable: \
             Connection refused (os error 111)",
            "{stdout}"
        );
    }
    assert!(lines[2].starts_with("clock at "), "{stdout}");
    assert_eq!(lines[4], "3  (number)");
    assert!(started.elapsed() < std::time::Duration::from_secs(20));
}

#[test]
fn live_flags_are_checked() {
    let out = repl(&["--kubeconfig", "nowhere"], "");
    assert_eq!(out.status.code(), Some(2));
    insta::assert_snapshot!(String::from_utf8_lossy(&out.stderr), @"error: `--kubeconfig` lists the objects of a live session: give `--prometheus URL`");
    let out = repl(&["--prometheus", "ftp://x"], "");
    assert_eq!(out.status.code(), Some(2));
    let out = repl(
        &["--prometheus", "http://127.0.0.1:1", "--at", "tomorrow"],
        "",
    );
    assert_eq!(out.status.code(), Some(2), "{out:?}");
}
