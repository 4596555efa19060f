//! The built `autopilot` binary, run as a user would: arguments in, exit code,
//! stdout and stderr out, one snapshot per command line.
//!
//! Paths are relative to the crate root, so output is the same everywhere.
//! Regenerate: `INSTA_UPDATE=always cargo test --test cli` (or `cargo insta review`).

use std::process::{Command, Output};

fn autopilot(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_autopilot"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("NO_COLOR", "1")
        .env("COLUMNS", "100")
        .output()
        .expect("run the autopilot binary")
}

fn code(out: &Output) -> i32 {
    out.status.code().expect("exited, not killed by a signal")
}

fn command_line(args: &[&str]) -> String {
    std::iter::once("autopilot")
        .chain(args.iter().copied())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The command line, exit code, stdout and stderr, as one text.
fn transcript(args: &[&str], out: &Output) -> String {
    format!(
        "$ {}\nexit code: {}\n── stdout ──\n{}── stderr ──\n{}",
        command_line(args),
        code(out),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    )
}

/// Runs the command, checks its exit code and snapshots the transcript.
macro_rules! case {
    ($name:ident, $code:expr, [$($arg:expr),* $(,)?]) => {
        #[test]
        fn $name() {
            let args = [$($arg),*];
            let out = autopilot(&args);
            assert_eq!(code(&out), $code, "{}", transcript(&args, &out));
            insta::assert_snapshot!(transcript(&args, &out));
        }
    };
}

// ---------------------------------------------------------------- check

case!(
    check_valid_file,
    0,
    ["check", "tests/data/check/valid/design_card.apr"]
);

case!(
    check_valid_directory,
    0,
    ["check", "tests/data/check/valid/shared_across_files"]
);

case!(
    check_invalid_file,
    1,
    ["check", "tests/data/check/invalid/resize_without_max.apr"]
);

case!(
    check_several_paths_reports_every_file,
    1,
    [
        "check",
        "tests/data/check/valid/design_card.apr",
        "tests/data/check/invalid/unknown_field_typo.apr",
        "tests/data/parse/invalid/unit_min.apr",
    ]
);

case!(
    check_missing_path,
    2,
    ["check", "tests/data/check/valid/no_such_file.apr"]
);

case!(
    check_bad_flag,
    2,
    ["check", "--colour", "tests/data/check/valid"]
);

case!(check_without_paths, 2, ["check"]);

case!(
    check_bad_format,
    2,
    [
        "check",
        "--format",
        "yaml",
        "tests/data/check/valid/design_card.apr"
    ]
);

// ---------------------------------------------------------------- lint

case!(lint_list, 0, ["lint", "--list"]);

case!(
    lint_warnings_pass,
    0,
    ["lint", "tests/data/lint/for-below-tick.apr"]
);

case!(
    lint_deny_warnings,
    1,
    [
        "lint",
        "--deny",
        "warnings",
        "tests/data/lint/for-below-tick.apr"
    ]
);

case!(
    lint_disabled_for_the_file,
    0,
    [
        "lint",
        "--deny",
        "warnings",
        "tests/data/lint/for-below-tick.file.apr"
    ]
);

case!(
    lint_json,
    0,
    ["lint", "--format", "json", "tests/data/lint/unused-let.apr"]
);

case!(lint_without_paths, 2, ["lint"]);

case!(no_command, 2, []);

// ---------------------------------------------------------------- run
// What `run` refuses before it connects to anything.

case!(
    run_config_with_errors,
    2,
    [
        "run",
        "--policies",
        "examples/postgres",
        "--no-leader-election",
        "--config",
        "tests/data/config/errors_both_auths.yaml",
    ]
);

case!(
    run_without_prometheus,
    2,
    [
        "run",
        "--policies",
        "examples/postgres",
        "--no-leader-election",
        "--config",
        "tests/data/config/empty.yaml",
    ]
);

case!(
    run_missing_config,
    2,
    [
        "run",
        "--policies",
        "examples/postgres",
        "--no-leader-election",
        "--config",
        "tests/data/config/no_such_file.yaml",
    ]
);

// ---------------------------------------------------------------- backtest
// What `backtest` refuses before it fetches any history.

case!(
    backtest_without_objects,
    2,
    [
        "backtest",
        "examples/postgres",
        "--prometheus",
        "http://127.0.0.1:9",
    ]
);

case!(
    backtest_with_both_object_sources,
    2,
    [
        "backtest",
        "examples/postgres",
        "--prometheus",
        "http://127.0.0.1:9",
        "--scenario",
        "examples/postgres/scenario.yaml",
        "--kubeconfig",
        "tests/data/config/no_such_file.yaml",
    ]
);

case!(
    backtest_missing_kubeconfig,
    2,
    [
        "backtest",
        "examples/postgres",
        "--prometheus",
        "http://127.0.0.1:9",
        "--kubeconfig",
        "tests/data/config/no_such_file.yaml",
    ]
);

/// `--format json` prints one JSON document; it is parsed, then snapshotted.
#[test]
fn check_json() {
    let args = [
        "check",
        "--format",
        "json",
        "tests/data/check/invalid/duplicate_policy_across_files",
        "tests/data/check/invalid/percent_without_unit.apr",
    ];
    let out = autopilot(&args);
    assert_eq!(code(&out), 1, "{}", transcript(&args, &out));
    assert!(out.stderr.is_empty(), "{}", transcript(&args, &out));
    let json: serde_json::Value =
        serde_json::from_slice(&out.stdout).expect("stdout is one JSON document");
    insta::with_settings!({ description => command_line(&args) }, {
        insta::assert_json_snapshot!(json);
    });
}

#[test]
fn check_json_clean() {
    let args = [
        "check",
        "--format",
        "json",
        "tests/data/check/valid/design_examples.apr",
    ];
    let out = autopilot(&args);
    assert_eq!(code(&out), 0, "{}", transcript(&args, &out));
    let json: serde_json::Value =
        serde_json::from_slice(&out.stdout).expect("stdout is one JSON document");
    insta::with_settings!({ description => command_line(&args) }, {
        insta::assert_json_snapshot!(json);
    });
}

// ---------------------------------------------------------------- explain

case!(
    explain_valid_file,
    0,
    ["explain", "tests/data/check/valid/design_examples.apr"]
);

case!(
    explain_one_policy,
    0,
    [
        "explain",
        "tests/data/check/valid/design_examples.apr",
        "--policy",
        "faster_disk_when_slow"
    ]
);

case!(
    explain_unknown_policy,
    2,
    [
        "explain",
        "tests/data/check/valid/design_examples.apr",
        "--policy",
        "nope"
    ]
);

case!(
    explain_invalid_file,
    1,
    ["explain", "tests/data/check/invalid/scale_on_pvc.apr"]
);

case!(
    explain_missing_path,
    2,
    ["explain", "tests/data/check/valid/no_such_file.apr"]
);

// ------------------------------------------------ files: fmt writes, path reading

/// A program that checks clean and that `fmt` changes.
const MESSY: &str =
    "let   limit=400Gi\n\nwhen   pvc.usage>50%   for   5m then resize( +100% ,max=limit )\n";

fn run_in(dir: &std::path::Path, args: &[&std::ffi::OsStr]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_autopilot"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env("COLUMNS", "100")
        .output()
        .expect("run the autopilot binary")
}

fn os(s: &str) -> &std::ffi::OsStr {
    std::ffi::OsStr::new(s)
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn set_mode(path: &std::path::Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

#[test]
fn fmt_writes_in_place_and_keeps_the_mode() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("tempdir");
    let a = dir.path().join("a.apr");
    std::fs::write(&a, MESSY).expect("write");
    set_mode(&a, 0o640);
    let out = run_in(dir.path(), &[os("fmt"), os("a.apr")]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_ne!(std::fs::read_to_string(&a).expect("read"), MESSY);
    let mode = std::fs::metadata(&a).expect("stat").permissions().mode();
    assert_eq!(mode & 0o777, 0o640);
    let names: Vec<_> = std::fs::read_dir(dir.path()).expect("ls").collect();
    assert_eq!(names.len(), 1, "no temporary file is left behind");
}

#[test]
fn fmt_leaves_a_read_only_file_and_reports_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let a = dir.path().join("a.apr");
    std::fs::write(&a, MESSY).expect("write");
    set_mode(&a, 0o444);
    let out = run_in(dir.path(), &[os("fmt"), os("a.apr")]);
    assert_eq!(code(&out), 2);
    assert_eq!(
        stderr(&out),
        "error: a.apr: file is read-only; not written\n"
    );
    assert_eq!(std::fs::read_to_string(&a).expect("read"), MESSY);
}

#[test]
fn fmt_leaves_a_file_in_a_read_only_directory_and_reports_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sub = dir.path().join("ro");
    std::fs::create_dir(&sub).expect("mkdir");
    let a = sub.join("a.apr");
    std::fs::write(&a, MESSY).expect("write");
    set_mode(&sub, 0o555);
    let out = run_in(dir.path(), &[os("fmt"), os("ro")]);
    set_mode(&sub, 0o755);
    assert_eq!(code(&out), 2);
    assert_eq!(
        stderr(&out),
        "error: ro/a.apr: directory is read-only; not written\n"
    );
    assert_eq!(std::fs::read_to_string(&a).expect("read"), MESSY);
    assert_eq!(std::fs::read_dir(&sub).expect("ls").count(), 1);
}

#[test]
fn fmt_formats_the_others_and_reports_every_failure() {
    let dir = tempfile::tempdir().expect("tempdir");
    for name in ["a.apr", "b.apr", "c.apr"] {
        std::fs::write(dir.path().join(name), MESSY).expect("write");
    }
    set_mode(&dir.path().join("a.apr"), 0o444);
    set_mode(&dir.path().join("c.apr"), 0o400);
    let out = run_in(dir.path(), &[os("fmt"), os(".")]);
    assert_eq!(code(&out), 2);
    assert_eq!(
        stderr(&out),
        "error: ./a.apr: file is read-only; not written\n\
         error: ./c.apr: file is read-only; not written\n"
    );
    let read = |n: &str| std::fs::read_to_string(dir.path().join(n)).expect("read");
    assert_eq!(read("a.apr"), MESSY);
    assert_ne!(read("b.apr"), MESSY, "b.apr is formatted");
    assert_eq!(read("c.apr"), MESSY);
}

#[test]
fn fmt_writes_a_non_utf8_name_to_that_name() {
    use std::os::unix::ffi::OsStrExt;
    let dir = tempfile::tempdir().expect("tempdir");
    let name = std::ffi::OsStr::from_bytes(b"b\xff.apr");
    std::fs::write(dir.path().join(name), MESSY).expect("write");
    let out = run_in(dir.path(), &[os("fmt"), name]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let formatted = std::fs::read_to_string(dir.path().join(name)).expect("read");
    assert_ne!(formatted, MESSY);
    assert!(!dir.path().join("b\u{FFFD}.apr").exists());
    assert_eq!(std::fs::read_dir(dir.path()).expect("ls").count(), 1);
    // The same through a directory walk.
    std::fs::write(dir.path().join(name), MESSY).expect("write");
    let out = run_in(dir.path(), &[os("fmt"), os(".")]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(
        std::fs::read_to_string(dir.path().join(name)).expect("read"),
        formatted
    );
    assert!(!dir.path().join("b\u{FFFD}.apr").exists());
}

#[test]
fn fmt_through_a_symlink_writes_the_target_and_keeps_the_link() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("real.apr"), MESSY).expect("write");
    std::fs::create_dir(dir.path().join("d")).expect("mkdir");
    std::os::unix::fs::symlink("../real.apr", dir.path().join("d/link.apr")).expect("ln");
    let out = run_in(dir.path(), &[os("fmt"), os("d")]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let link = dir.path().join("d/link.apr");
    assert!(link.symlink_metadata().expect("lstat").is_symlink());
    assert_ne!(
        std::fs::read_to_string(dir.path().join("real.apr")).expect("read"),
        MESSY
    );
}

#[test]
fn check_follows_symlinks_in_directories() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(dir.path().join("elsewhere")).expect("mkdir");
    std::fs::write(dir.path().join("elsewhere/a.apr"), MESSY).expect("write");
    std::fs::create_dir(dir.path().join("d")).expect("mkdir");
    std::os::unix::fs::symlink("../elsewhere", dir.path().join("d/sub")).expect("ln");
    let out = run_in(dir.path(), &[os("check"), os("d")]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(stderr(&out).contains("1 file(s)"), "{}", stderr(&out));
}

#[test]
fn check_a_symlink_loop_is_an_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir(dir.path().join("d")).expect("mkdir");
    std::fs::write(dir.path().join("d/a.apr"), MESSY).expect("write");
    std::os::unix::fs::symlink("..", dir.path().join("d/up")).expect("ln");
    let out = run_in(dir.path().join("d").as_path(), &[os("check"), os(".")]);
    assert_eq!(code(&out), 2);
    assert!(stderr(&out).contains("symlink loop"), "{}", stderr(&out));
}

#[test]
fn check_an_unreadable_subdirectory_is_an_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(dir.path().join("d/locked")).expect("mkdir");
    std::fs::write(dir.path().join("d/a.apr"), MESSY).expect("write");
    std::fs::write(dir.path().join("d/locked/b.apr"), "# empty\n").expect("write");
    // Root reads a mode-000 directory; a dangling `*.apr` link it cannot.
    std::os::unix::fs::symlink("gone.apr", dir.path().join("d/dangling.apr")).expect("ln");
    let out = run_in(dir.path(), &[os("check"), os("d")]);
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(stderr(&out).contains("d/dangling.apr"), "{}", stderr(&out));
    std::fs::remove_file(dir.path().join("d/dangling.apr")).expect("rm");
    // An editor's dangling lock link is not a policy file.
    std::os::unix::fs::symlink("root@host.1", dir.path().join("d/.#a.apr")).expect("ln");
    let out = run_in(dir.path(), &[os("check"), os("d")]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    if is_root() {
        println!("note: running as root, which reads a mode-000 directory; not checked");
        return;
    }
    set_mode(&dir.path().join("d/locked"), 0o000);
    let out = run_in(dir.path(), &[os("check"), os("d")]);
    set_mode(&dir.path().join("d/locked"), 0o755);
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(stderr(&out).contains("d/locked"), "{}", stderr(&out));
}

#[test]
fn check_reads_a_file_given_twice_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir(dir.path().join("d")).expect("mkdir");
    std::fs::write(dir.path().join("d/a.apr"), MESSY).expect("write");
    for args in [
        ["check", "d/a.apr", "d/a.apr"],
        ["check", "d", "d/a.apr"],
        ["check", "d/a.apr", "./d"],
    ] {
        let args: Vec<_> = args.iter().map(|a| os(a)).collect();
        let out = run_in(dir.path(), &args);
        assert_eq!(code(&out), 0, "{}", stderr(&out));
        assert!(
            stderr(&out).contains("1 file(s)"),
            "{args:?}: {}",
            stderr(&out)
        );
    }
}

#[test]
fn a_byte_order_mark_is_skipped() {
    let dir = tempfile::tempdir().expect("tempdir");
    let a = dir.path().join("a.apr");
    std::fs::write(&a, format!("\u{FEFF}{MESSY}")).expect("write");
    let out = run_in(dir.path(), &[os("check"), os("a.apr")]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let out = run_in(dir.path(), &[os("fmt"), os("a.apr")]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let text = std::fs::read_to_string(&a).expect("read");
    assert!(text.starts_with("let limit"), "{text:?}");
}
