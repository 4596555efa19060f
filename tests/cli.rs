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

case!(no_command, 2, []);

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
