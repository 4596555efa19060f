//! Hostile output and input for the built binary: stdout that cannot be
//! written, names far past Kubernetes' limits, axis ranges that overflow, and
//! output files that cannot be written. Each must end with exit 0, 1 or 2 and
//! one clear line, never a panic (exit 101) or a hang.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

fn autopilot() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_autopilot"));
    cmd.current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("NO_COLOR", "1")
        .env("COLUMNS", "100")
        .stdin(Stdio::null());
    cmd
}

/// A fresh directory for one test's files.
fn scratch(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("autopilot-hostile-{}-{test}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create a scratch directory");
    dir
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write a scratch file");
    path.to_string_lossy().into_owned()
}

fn code(out: &Output) -> i32 {
    out.status.code().expect("exited, not killed by a signal")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Waits for the child at most `limit`; kills it and fails the test past that.
fn wait_at_most(mut child: Child, limit: Duration) -> Output {
    let start = Instant::now();
    loop {
        if child.try_wait().expect("poll the child").is_some() {
            return child.wait_with_output().expect("collect the output");
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("still running after {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

const GROW: &str = "policy grow {\n  when pvc.used > 50Gi\n  then resize(+10Gi, max = 1Ti)\n}\n";

fn scenario(objects: &str, series: &str) -> String {
    format!(
        "duration: 3m\nstep: 1m\nobjects:\n  - {{kind: storageclass, name: standard, allow_volume_expansion: true}}\n{objects}series:\n{series}"
    )
}

fn pvc(name: &str) -> String {
    format!("  - {{kind: pvc, name: {name}, storage_class: standard, capacity: 100Gi}}\n")
}

fn used(name: &str, values: &str) -> String {
    format!("  - {{metric: pvc.used, object: pvc/default/{name}, values: \"{values}\"}}\n")
}

/// Writes `s.yaml`: one PVC named `name` with `pvc.used` following `values`.
fn one_pvc(dir: &Path, name: &str, values: &str) -> String {
    write(dir, "s.yaml", &scenario(&pvc(name), &used(name, values)))
}

/// Many policies, so that `explain` writes far more than a pipe holds.
fn many_policies(n: usize) -> String {
    (0..n)
        .map(|i| {
            format!(
                "policy grow_{i} {{\n  when pvc.usage > 80%\n  then resize(+50%, max = 1Ti)\n}}\n"
            )
        })
        .collect()
}

// ------------------------------------------------------------ stdout

/// Every command that prints, with what it needs.
fn printing_commands(dir: &Path) -> Vec<Vec<String>> {
    let policies = write(dir, "p.apr", GROW);
    let scen = one_pvc(dir, "data", "90Gix3");
    let unformatted = write(dir, "u.apr", "let   a = 1\n");
    let s = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    vec![
        s(&["lint", "--list"]),
        s(&["explain", &policies]),
        s(&["check", "--format", "json", &policies]),
        s(&["simulate", &policies, "--scenario", &scen]),
        s(&[
            "simulate",
            &policies,
            "--scenario",
            &scen,
            "--format",
            "json",
        ]),
        s(&["test", "tests/data/test/failing.apr"]),
        s(&["fmt", "--diff", &unformatted]),
    ]
}

#[test]
fn a_full_disk_on_stdout_is_exit_2_with_one_line() {
    let dir = scratch("full");
    for args in printing_commands(&dir) {
        let full = std::fs::File::create("/dev/full").expect("open /dev/full");
        let out = autopilot()
            .args(&args)
            .stdout(full)
            .output()
            .expect("run the binary");
        let err = stderr(&out);
        assert_eq!(code(&out), 2, "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(
            err.starts_with("error: writing to standard output: "),
            "{args:?}: {err}"
        );
    }
}

#[test]
fn a_closed_pipe_on_stdout_is_a_quiet_exit_0() {
    let dir = scratch("pipe");
    let big = write(&dir, "many.apr", &many_policies(300));
    let mut commands = printing_commands(&dir);
    commands.push(vec!["explain".into(), big]);
    for args in commands {
        let mut child = autopilot()
            .args(&args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run the binary");
        // The read end closes before the child has compiled anything.
        drop(child.stdout.take());
        let out = wait_at_most(child, Duration::from_secs(60));
        let err = stderr(&out);
        assert!(!err.contains("panicked"), "{args:?}: {err}");
        assert!(
            !err.contains("writing to standard output"),
            "{args:?}: {err}"
        );
        let expected = if args[0] == "test" { [0, 1] } else { [0, 0] };
        assert!(
            expected.contains(&code(&out)),
            "{args:?}: {}: {err}",
            code(&out)
        );
    }
}

// ------------------------------------------------------------ long names

#[test]
fn an_object_name_of_65536_characters_is_a_diagnostic_not_a_panic() {
    let dir = scratch("long-object");
    let name = "a".repeat(65_536);
    let policies = write(&dir, "p.apr", GROW);
    let scen = one_pvc(&dir, &name, "90Gix3");
    let out = autopilot()
        .args(["simulate", &policies, "--scenario", &scen])
        .output()
        .expect("run the binary");
    let err = stderr(&out);
    assert_eq!(code(&out), 2, "{}", &err[..err.len().min(2000)]);
    assert!(!err.contains("panicked"));
    assert!(err.contains("apr::scenario::value"));
    assert!(err.contains("a name of 65536 characters is too long"));
    assert!(err.contains("Kubernetes names are at most 253 characters"));
}

#[test]
fn a_policy_name_of_65536_characters_is_a_check_error_not_a_panic() {
    let dir = scratch("long-policy");
    let policy = GROW.replace("grow", &"g".repeat(65_536));
    let policies = write(&dir, "p.apr", &policy);
    let scen = one_pvc(&dir, "data", "90Gix3");
    for args in [
        vec!["check", policies.as_str()],
        vec!["simulate", policies.as_str(), "--scenario", scen.as_str()],
        vec!["test", policies.as_str()],
    ] {
        let out = autopilot().args(&args).output().expect("run the binary");
        let err = stderr(&out);
        assert_eq!(code(&out), 1, "{args:?}");
        assert!(!err.contains("panicked"), "{args:?}");
        assert!(err.contains("apr::type::name_format"), "{args:?}");
        assert!(err.contains("a policy name of 65536 characters is too long"));
    }
}

/// Columns pad to at most 64 characters: a long name overflows its own
/// column instead of pushing every other row out.
#[test]
fn timeline_columns_pad_to_at_most_64() {
    let dir = scratch("pad");
    let long = "l".repeat(253);
    let policy = GROW.replace("grow", &"g".repeat(253));
    let policies = write(&dir, "p.apr", &format!("{policy}{GROW}"));
    let objects = format!("{}{}", pvc(&long), pvc("data"));
    let series = format!("{}{}", used(&long, "90Gix3"), used("data", "90Gix3"));
    let scen = write(&dir, "s.yaml", &scenario(&objects, &series));
    let out = autopilot()
        .args(["simulate", &policies, "--scenario", &scen])
        .output()
        .expect("run the binary");
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let text = stdout(&out);
    let row = text
        .lines()
        .find(|l| l.contains(" grow ") && l.contains("pvc/default/data ") && l.contains("resize"))
        .unwrap_or_else(|| panic!("no resize of data by grow in:\n{text}"));
    // `  0m00s  ` + policy padded to 64 + `  ` + object padded to 64 + `  `.
    let object_at = 2 + 5 + 2 + 64 + 2;
    assert_eq!(row.find("pvc/default/data"), Some(object_at), "{row}");
    assert_eq!(&row[object_at + 64..object_at + 66], "  ", "{row}");
    assert_ne!(&row[object_at + 66..object_at + 67], " ", "{row}");
    let end = text
        .lines()
        .find(|l| l.starts_with("  pvc/default/data "))
        .unwrap_or_else(|| panic!("no end state of data in:\n{text}"));
    assert_eq!(&end[2 + 64..2 + 66], "  ", "{end}");
    assert_ne!(&end[2 + 66..2 + 67], " ", "{end}");
}

// ------------------------------------------------------------ plot

#[test]
fn plot_of_an_overflowing_range_ends() {
    let dir = scratch("plot-range");
    let policies = write(&dir, "p.apr", GROW);
    let scen = one_pvc(&dir, "data", "1e308 -1e308 1e308 -1e308");
    let svg = dir.join("out.svg");
    let child = autopilot()
        .args(["simulate", &policies, "--scenario", &scen, "--plot"])
        .arg(&svg)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run the binary");
    let out = wait_at_most(child, Duration::from_secs(60));
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let text = std::fs::read_to_string(&svg).expect("the plot was written");
    assert!(text.starts_with("<svg"), "{}", &text[..text.len().min(200)]);
}

// ------------------------------------------------------------ output files

/// Paths that cannot be written: a missing directory, and a directory.
fn unwritable(dir: &Path) -> Vec<PathBuf> {
    vec![dir.join("missing").join("out"), dir.to_path_buf()]
}

#[test]
fn an_unwritable_plot_fails_before_the_simulation() {
    let dir = scratch("plot-path");
    let policies = write(&dir, "p.apr", GROW);
    let scen = one_pvc(&dir, "data", "90Gix3");
    for path in unwritable(&dir) {
        let out = autopilot()
            .args(["simulate", &policies, "--scenario", &scen, "--plot"])
            .arg(&path)
            .output()
            .expect("run the binary");
        let err = stderr(&out);
        assert_eq!(code(&out), 2, "{path:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{path:?}: {err}");
        assert!(err.starts_with("error: "), "{err}");
        assert!(err.contains(&*path.to_string_lossy()), "{err}");
        assert_eq!(stdout(&out), "", "nothing simulated for {path:?}");
    }
}

#[test]
fn an_unwritable_junit_fails_before_the_tests() {
    let dir = scratch("junit-path");
    for path in unwritable(&dir) {
        let out = autopilot()
            .args(["test", "tests/data/test/failing.apr", "--junit"])
            .arg(&path)
            .output()
            .expect("run the binary");
        let err = stderr(&out);
        assert_eq!(code(&out), 2, "{path:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{path:?}: {err}");
        assert!(err.contains(&*path.to_string_lossy()), "{err}");
        assert_eq!(stdout(&out), "", "no test ran for {path:?}");
    }
}

#[test]
fn a_plot_path_is_not_left_behind_when_the_policies_do_not_check() {
    let dir = scratch("plot-left");
    let policies = write(&dir, "p.apr", "policy broken {\n  when pvc.nope > 1\n}\n");
    let scen = one_pvc(&dir, "data", "90Gix3");
    let svg = dir.join("out.svg");
    let out = autopilot()
        .args(["simulate", &policies, "--scenario", &scen, "--plot"])
        .arg(&svg)
        .output()
        .expect("run the binary");
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert!(!svg.exists(), "an empty plot was left behind");
}

/// The REPL's tables pad to at most 64 characters too.
#[test]
fn repl_table_columns_pad_to_at_most_64() {
    use std::io::Write as _;
    let dir = scratch("repl-pad");
    let long = "l".repeat(253);
    let policies = write(&dir, "p.apr", GROW);
    let objects = format!("{}{}", pvc(&long), pvc("data"));
    let series = format!("{}{}", used(&long, "90Gix3"), used("data", "90Gix3"));
    let scen = write(&dir, "s.yaml", &scenario(&objects, &series));
    let mut child = autopilot()
        .args(["repl", "--scenario", &scen, &policies])
        .env_remove("XDG_STATE_HOME")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run the binary");
    child
        .stdin
        .take()
        .expect("stdin is piped")
        .write_all(b"pvc.capacity\n")
        .expect("write the script");
    let out = wait_at_most(child, Duration::from_secs(60));
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let text = stdout(&out);
    let row = text
        .lines()
        .find(|l| l.starts_with("pvc/default/data "))
        .unwrap_or_else(|| panic!("no row for data in:\n{text}"));
    assert_eq!(&row[64..66], "  ", "{row}");
    assert_ne!(&row[66..67], " ", "{row}");
}
