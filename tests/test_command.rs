//! `autopilot test` on the built binary: the examples' tests pass, failures
//! show the expected and the actual timeline, `--run`, `--junit`, and a run
//! with no test fails.

use std::process::Command;

fn autopilot(args: &[&str]) -> (String, i32) {
    let out = Command::new(env!("CARGO_BIN_EXE_autopilot"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("NO_COLOR", "1")
        .env("COLUMNS", "100")
        .output()
        .expect("the binary runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (text, out.status.code().unwrap_or(-1))
}

/// The semantics of docs/semantics.md that tests can pin down as data:
/// restarts, lookback and staleness, no data, failed queries.
#[test]
fn the_semantics_tests_pass() {
    let (out, code) = autopilot(&["test", "tests/data/semantics/"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("12 passed, 0 failed"), "{out}");
}

/// Each example is its own set of policies, tested as a user runs it:
/// `autopilot test examples/NAME`.
#[test]
fn the_examples_tests_pass() {
    let mut dirs: Vec<_> = std::fs::read_dir("examples")
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    let mut passed = 0;
    for dir in &dirs {
        let (out, code) = autopilot(&["test", &dir.to_string_lossy()]);
        assert_eq!(code, 0, "{}: {out}", dir.display());
        let summary = out.lines().last().unwrap_or_default();
        let n: usize = summary
            .split(' ')
            .next()
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("{}: no summary in {out}", dir.display()));
        assert!(
            summary.ends_with("passed, 0 failed"),
            "{}: {out}",
            dir.display()
        );
        passed += n;
    }
    assert_eq!((dirs.len(), passed), (7, 18));
}

/// `autopilot test NAME_test.apr` brings the policies beside it, as
/// promtool's test files name their rule files, and runs only that file's
/// tests: not a sibling's `test` blocks, and not another `_test.apr` file.
#[test]
fn a_test_file_loads_the_policies_beside_it() {
    let (out, code) = autopilot(&["test", "examples/postgres/policies_test.apr"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.ends_with("4 passed, 0 failed\n"), "{out}");

    let dir = std::env::temp_dir().join(format!("autopilot-beside-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let policies = std::fs::read_to_string("examples/postgres/policies.apr").unwrap();
    // A test block in the policies file, which fails if it runs.
    let failing = "\ntest \"not mine\" {\n  duration 1m\n  expect no action from 0s to 1m\n  expect grow_postgres \"db/x\" at 0s is pending\n}\n";
    std::fs::write(dir.join("policies.apr"), policies + failing).unwrap();
    std::fs::copy(
        "examples/postgres/policies_test.apr",
        dir.join("policies_test.apr"),
    )
    .unwrap();
    // Another test file, which does not check.
    std::fs::write(
        dir.join("other_test.apr"),
        "test \"x\" {\n  expect nosuch \"db/x\" at 0s is pending\n}\n",
    )
    .unwrap();
    let file = dir.join("policies_test.apr");
    let (out, code) = autopilot(&["test", file.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}");
    assert!(out.ends_with("4 passed, 0 failed\n"), "{out}");
    assert!(
        !out.contains("not mine") && !out.contains("nosuch"),
        "{out}"
    );
    // The folder runs every test in it.
    let (out, code) = autopilot(&["test", dir.to_str().unwrap()]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("nosuch"), "{out}");
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn a_failure_shows_expected_and_actual() {
    let (out, code) = autopilot(&["test", "tests/data/test/failing.apr"]);
    assert_eq!(code, 1);
    insta::assert_snapshot!(out);
}

#[test]
fn run_selects_by_name_and_junit_is_written() {
    let dir = std::env::temp_dir().join(format!("autopilot-junit-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let junit = dir.join("report.xml");
    let (out, code) = autopilot(&[
        "test",
        "examples/",
        "--run",
        "^a slow volume",
        "--junit",
        junit.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("1 passed, 0 failed"), "{out}");
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(
        xml.contains("tests=\"1\"") && xml.contains("failures=\"0\""),
        "{xml}"
    );
    assert!(xml.contains("a slow volume moves to the fast tier once approved"));
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn no_test_ran_is_a_failure() {
    let (out, code) = autopilot(&["test", "examples/", "--run", "nothing matches this"]);
    assert_eq!(code, 1);
    assert!(out.contains("no test ran"), "{out}");
    let (out, code) = autopilot(&["test", "examples/postgres/policies.apr"]);
    assert_eq!(code, 1, "{out}");
}

#[test]
fn a_bad_test_statement_is_a_diagnostic() {
    let dir = std::env::temp_dir().join(format!("autopilot-badtest-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("bad.apr");
    std::fs::write(
        &file,
        "when pvc.usage > 50% then resize(+1Gi, max = 2Gi)\n\ntest \"t\" {\n  expect grow \"db/x\" at 5m is pending\n}\n",
    )
    .unwrap();
    let (out, code) = autopilot(&["test", file.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(out.contains("apr::test::unknown_policy"), "{out}");
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn an_expectation_past_the_end_is_an_error() {
    let (out, code) = autopilot(&["test", "tests/data/test/past_the_end.apr"]);
    assert_eq!(code, 1, "{out}");
    insta::assert_snapshot!(out);
}

#[test]
fn an_unknown_action_is_an_error() {
    let (out, code) = autopilot(&["test", "tests/data/test/unknown_action.apr"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("apr::test::unknown_action"), "{out}");
    insta::assert_snapshot!(out);
}

#[test]
fn a_field_over_two_lines_blames_its_own_statement() {
    let (out, code) = autopilot(&["test", "tests/data/test/two_line_field.apr"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("1 passed, 0 failed"), "{out}");
    assert!(!out.contains("is not declared"), "{out}");
    insta::assert_snapshot!(out);
}
