//! The evaluator side by side with promtool 3.16 on `pvc.usage`: the same
//! kubelet series (N PVCs, one day at 30s) written as a `promtool test
//! rules` file whose expected samples are this evaluator's results, so
//! promtool also confirms them. promtool's fixed startup, measured on a
//! trivial file, is subtracted; its figures include loading the series.
//! Run: `eval "$(scripts/test-env --print)"; cargo bench --bench
//! promtool_ratio` (`PROMTOOL_RATIO_PVCS`, default 1,000). At 10,000 PVCs
//! promtool refuses the file (its engine's sample limit), and says so.

use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use autopilot::promql::{Evaluator, Labels, Value};
use promql_parser::parser;

#[path = "common/kubelet.rs"]
mod kubelet;
use kubelet::{DAY_MS, POINTS, PVC_USAGE, pvc, store};

const HOUR_MS: i64 = 3_600_000;

fn labels_text(l: &Labels) -> String {
    let name = l.get("__name__").cloned().unwrap_or_default();
    let rest: Vec<String> = l
        .iter()
        .filter(|(k, _)| *k != "__name__")
        .map(|(k, v)| format!("{k}={v:?}"))
        .collect();
    format!("{name}{{{}}}", rest.join(","))
}

/// A promtool test file: the series, and `pvc.usage` expected at `times`.
fn rules_file(pvcs: usize, times: &[i64], results: &[Value]) -> String {
    let mut s = String::from("tests:\n  - interval: 30s\n    input_series:\n");
    for i in 0..pvcs {
        for (l, first, growth) in pvc(i) {
            let _ = writeln!(
                s,
                "      - series: '{}'\n        values: '{first}+{growth}x{POINTS}'",
                labels_text(&l)
            );
        }
    }
    s.push_str("    promql_expr_test:\n");
    for (t, v) in times.iter().zip(results) {
        let _ = writeln!(
            s,
            "      - expr: {PVC_USAGE}\n        eval_time: {}s\n        exp_samples:",
            t / 1000
        );
        if let Value::Vector(v) = v {
            for (l, x) in v {
                let _ = writeln!(
                    s,
                    "          - labels: '{}'\n            value: {x:e}",
                    labels_text(l)
                );
            }
        }
    }
    s
}

/// The quickest of three runs of `promtool test rules file`, or what it
/// said when it failed.
fn promtool(bin: &str, file: &Path) -> Result<Duration, String> {
    let mut best = Duration::MAX;
    for _ in 0..3 {
        let t = Instant::now();
        let out = Command::new(bin)
            .args(["test", "rules"])
            .arg(file)
            .output()
            .expect("promtool runs");
        let took = t.elapsed();
        if !out.status.success() {
            let said = format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            return Err(said.chars().take(2000).collect());
        }
        best = best.min(took);
    }
    Ok(best)
}

/// The quickest of five evaluations at `times`, and their results.
fn ours(ev: &Evaluator, times: &[i64]) -> (Duration, Vec<Value>) {
    let expr = parser::parse(PVC_USAGE).expect("pvc.usage parses");
    let mut best = Duration::MAX;
    let mut results = Vec::new();
    for _ in 0..5 {
        let t = Instant::now();
        results = times
            .iter()
            .map(|&at| ev.instant(&expr, at).expect("pvc.usage evaluates"))
            .collect();
        best = best.min(t.elapsed());
    }
    (best, results)
}

fn main() {
    let Ok(bin) = std::env::var("PROMTOOL") else {
        eprintln!("PROMTOOL is not set: run eval \"$(scripts/test-env --print)\" first");
        std::process::exit(2);
    };
    let pvcs: usize = std::env::var("PROMTOOL_RATIO_PVCS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(1_000);
    let dir = std::env::temp_dir().join(format!("promtool-ratio-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temporary directory");
    let t = Instant::now();
    let store = store(pvcs);
    let load = t.elapsed();
    let ev = Evaluator::new(&store);

    let trivial = dir.join("trivial.yml");
    let trivial_text = "tests:\n  - input_series:\n      - series: 'x'\n        values: '1'\n    promql_expr_test:\n      - expr: x\n        eval_time: 0s\n        exp_samples:\n          - labels: 'x'\n            value: 1\n";
    std::fs::write(&trivial, trivial_text).expect("write");
    let startup = promtool(&bin, &trivial).expect("promtool passes a trivial file");
    println!(
        "{pvcs} PVCs, 1 day at 30s ({} samples); our store built in {load:?}; promtool startup {startup:?}",
        pvcs as i64 * 2 * (POINTS + 1)
    );
    let day: Vec<i64> = (1..=24).map(|h| h * HOUR_MS).collect();
    for (what, times) in [("1 instant", vec![DAY_MS]), ("24 instants (hourly)", day)] {
        let (our, results) = ours(&ev, &times);
        let file = dir.join("pvc_usage.yml");
        std::fs::write(&file, rules_file(pvcs, &times, &results)).expect("write");
        let theirs = match promtool(&bin, &file) {
            Ok(took) => took.saturating_sub(startup),
            // Its engine's sample limit: it cannot evaluate this at all.
            Err(said) if said.contains("too many samples") => {
                let why = said.split("err: ").nth(1).and_then(|w| w.lines().next());
                println!(
                    "{what:22} ours {our:>12.3?}   promtool refuses: {}",
                    why.unwrap_or(&said)
                );
                continue;
            }
            Err(said) => panic!("promtool disagrees on {}:\n{said}", file.display()),
        };
        println!(
            "{what:22} ours {our:>12.3?}   promtool {theirs:>12.3?} (incl. loading)   ratio {:.0}x",
            theirs.as_secs_f64() / our.as_secs_f64().max(1e-9)
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
