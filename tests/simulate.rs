//! `autopilot simulate` on the built binary.
//!
//! - Every `examples/*/scenario.yaml` with the policies of its folder: the
//!   text timeline and the JSON report, one snapshot each.
//! - `tests/data/simulate/*.yaml` with `tests/data/simulate/policies.apr`:
//!   exit code, stdout and stderr in one snapshot.
//! - `tests/data/simulate/raw/*.yaml`, raw Prometheus series through the
//!   bindings' PromQL, with the `.apr` file of the same name beside it, else
//!   that folder's `policies.apr`: the same.
//!
//! Snapshots live in `tests/snapshots/`. Regenerate with `INSTA_UPDATE=always
//! cargo test --test simulate` (or `cargo insta review`), read the diff,
//! commit the `.snap` files.

use std::path::Path;
use std::process::Command;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Runs the binary from the repository root: (exit code, stdout, stderr).
fn autopilot(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_autopilot"))
        .args(args)
        .current_dir(root())
        .env("NO_COLOR", "1")
        .env("COLUMNS", "100")
        .output()
        .expect("run autopilot");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn relative(path: &Path) -> String {
    path.strip_prefix(root())
        .unwrap_or(path)
        .display()
        .to_string()
}

fn example(path: &Path, format: &str) -> String {
    let scenario = relative(path);
    let dir = relative(path.parent().expect("example folder"));
    let (code, stdout, stderr) = autopilot(&[
        "simulate",
        &dir,
        "--scenario",
        &scenario,
        "--format",
        format,
    ]);
    assert_eq!(code, 0, "{scenario}: {stderr}");
    stdout
}

#[test]
fn examples_text() {
    insta::glob!("../examples", "*/scenario.yaml", |path| {
        insta::assert_snapshot!(example(path, "text"));
    });
}

#[test]
fn examples_json() {
    insta::glob!("../examples", "*/scenario.yaml", |path| {
        let out = example(path, "json");
        let report: serde_json::Value = serde_json::from_str(&out).expect("one JSON object");
        for e in report["events"].as_array().expect("events") {
            assert!(e["t"].is_i64() && e["policy"].is_string() && e["object"].is_string());
            match e["type"].as_str() {
                Some("transition") => assert!(e["from"].is_string() && e["to"].is_string()),
                Some("action") => {
                    let result = e["result"].as_str().unwrap_or_default();
                    assert!(
                        [
                            "applied",
                            "dry_run",
                            "awaiting_approval",
                            "declined",
                            "skipped",
                            "failed"
                        ]
                        .contains(&result),
                        "{e}"
                    );
                    assert!(e["action"].is_string());
                }
                Some("error") => assert!(e["message"].is_string()),
                other => panic!("event type {other:?}"),
            }
        }
        assert!(report["objects"].as_array().is_some_and(|o| !o.is_empty()));
        insta::assert_snapshot!(out);
    });
}

/// The resize event of docs/formats.md section 5, field for field.
#[test]
fn resize_event_is_as_designed() {
    let out = example(&root().join("examples/postgres/scenario.yaml"), "json");
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    let resize = report["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "resize" && e["result"] == "applied")
        .expect("a resize");
    assert_eq!(
        resize,
        &serde_json::json!({
            "t": 300, "policy": "examples/postgres/policies.apr:4", "object": "pvc/db/pg-data",
            "type": "action", "action": "resize", "result": "applied",
            "detail": {"from": "100Gi", "to": "200Gi",
                       "from_bytes": 107374182400u64, "to_bytes": 214748364800u64}
        })
    );
    let keys: Vec<&String> = resize.as_object().unwrap().keys().collect();
    assert!(out.contains(r#""t": 300,"#), "t comes first: {keys:?}");
}

#[test]
fn data() {
    insta::glob!("data/simulate/*.yaml", |path| {
        let scenario = relative(path);
        let (code, stdout, stderr) = autopilot(&[
            "simulate",
            "tests/data/simulate/policies.apr",
            "--scenario",
            &scenario,
        ]);
        insta::assert_snapshot!(format!(
            "exit {code}\n--- stdout\n{stdout}--- stderr\n{stderr}"
        ));
    });
}

#[test]
fn raw_series() {
    insta::glob!("data/simulate/raw/*.yaml", |path| {
        let scenario = relative(path);
        let own = path.with_extension("apr");
        let policies = if own.exists() {
            relative(&own)
        } else {
            "tests/data/simulate/raw/policies.apr".to_string()
        };
        let (code, stdout, stderr) = autopilot(&["simulate", &policies, "--scenario", &scenario]);
        insta::assert_snapshot!(format!(
            "exit {code}\n--- stdout\n{stdout}--- stderr\n{stderr}"
        ));
    });
}

#[test]
fn policy_errors_exit_1() {
    let dir = std::env::temp_dir().join(format!("autopilot-sim-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("bad.apr");
    std::fs::write(&bad, "when pvc.usage > 50 then resize(+1Gi, max = 2Gi)\n").unwrap();
    let (code, stdout, _) = autopilot(&[
        "simulate",
        bad.to_str().unwrap(),
        "--scenario",
        "examples/postgres/scenario.yaml",
    ]);
    assert_eq!(code, 1);
    assert!(stdout.is_empty());
    let (code, _, stderr) = autopilot(&[
        "simulate",
        "examples/postgres",
        "--scenario",
        dir.join("missing.yaml").to_str().unwrap(),
    ]);
    assert_eq!(code, 2);
    assert!(stderr.contains("missing.yaml"), "{stderr}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn plot_draws_every_traced_panel() {
    let dir = std::env::temp_dir().join(format!("autopilot-plot-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let svg = dir.join("pg.svg");
    let (code, _, stderr) = autopilot(&[
        "simulate",
        "examples/postgres",
        "--scenario",
        "examples/postgres/scenario.yaml",
        "--plot",
        svg.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{stderr}");
    let text = std::fs::read_to_string(&svg).unwrap();
    assert!(text.starts_with("<svg"));
    for caption in [
        "pvc.usage of pvc/db/pg-data",
        "pvc.usage of pvc/db/pg-archive",
        "pvc.inodes_usage of pvc/db/pg-data",
        "grow_postgres: &gt; 80%",
        "pvc.capacity of pvc/db/pg-data",
        "resize applied",
        "resize declined",
        "resize skipped",
    ] {
        assert!(text.contains(caption), "no {caption:?} in the plot");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
