//! Lint over data files, and the `lint` command on the built binary.
//!
//! - `tests/data/lint/NAME.apr`, one per rule: the rule firing, and disabled
//!   for a line with `# apr-lint-disable NAME`. `NAME.file.apr` beside it
//!   disables it for the whole file. `NAME.CASE.apr` holds more cases of
//!   the rule (`conflicting-actions.exclusive.apr`: where it stays silent);
//!   `NAME.item.apr` disables it for whole items, with the comment on the
//!   line before a policy whose diagnostic is on a later line.
//!   One snapshot per file in
//!   `tests/snapshots/`: the check and lint diagnostics, rendered without
//!   colour at 100 columns. After a deliberate change, regenerate with
//!   `INSTA_UPDATE=always cargo test --test lint` (or `cargo insta review`),
//!   read the diff, commit the `.snap` files.
//! - Every registered rule has both files, fires in the first, and each
//!   disable comment takes away a diagnostic of its rule (so coverage cannot
//!   regress and a directive cannot silently stop working).

use std::path::{Path, PathBuf};
use std::process::Command;

use autopilot::compile::{Compiled, compile};
use autopilot::diagnostic::{self, Diagnostic, Style};
use autopilot::lint::{self, RULES};

/// The names of the files in `tests/data/lint`.
fn data_files() -> Vec<String> {
    std::fs::read_dir(data(""))
        .expect("tests/data/lint")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect()
}

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/lint")
        .join(name)
}

fn lint_text(name: &str, text: &str) -> (Compiled, Vec<Diagnostic>) {
    let c = compile(vec![(name.to_string(), text.to_string())]);
    let mut diags = c.diagnostics.clone();
    diags.extend(lint::lint(&c));
    diags.sort_by_key(|d| d.primary.span);
    (c, diags)
}

#[test]
fn rules() {
    insta::glob!("data/lint/*.apr", |path| {
        let text = std::fs::read_to_string(path).expect("read data file");
        let name = path.file_name().unwrap().to_string_lossy();
        let (c, diags) = lint_text(&name, &text);
        let out = if diags.is_empty() {
            "no diagnostics\n".to_string()
        } else {
            diagnostic::render_all(&c.sources, &diags, Style::PLAIN)
        };
        insta::assert_snapshot!(out);
    });
}

/// How many diagnostics of `rule` the text gives.
fn count(name: &str, text: &str, code: &str) -> usize {
    let (_, diags) = lint_text(name, text);
    assert!(
        !diags.iter().any(Diagnostic::is_error),
        "{name} does not check: {:?}",
        diags.iter().map(|d| &d.message).collect::<Vec<_>>()
    );
    diags.iter().filter(|d| d.code == code).count()
}

/// The text with every disable comment of `rule` made inert.
fn without_directives(text: &str, rule: &str) -> String {
    text.lines()
        .map(|line| {
            let directive = line.contains(lint::DISABLE) && line.contains(rule);
            if directive {
                line.replace(lint::DISABLE, "was-disabled")
            } else {
                line.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn every_rule_fires_and_is_disabled_in_its_data_files() {
    for rule in RULES {
        let fires = format!("{}.apr", rule.name);
        let whole = format!("{}.file.apr", rule.name);
        let read = |f: &str| {
            std::fs::read_to_string(data(f))
                .unwrap_or_else(|_| panic!("rule {} needs tests/data/lint/{f}", rule.name))
        };
        let (text, file_text) = (read(&fires), read(&whole));

        // Fires, and a line directive takes away at least one diagnostic.
        let line = format!("# {} {}", lint::DISABLE, rule.name);
        assert!(text.contains(&line), "{fires} has no `{line}`");
        let with = count(&fires, &text, rule.code);
        let without = count(&fires, &without_directives(&text, rule.name), rule.code);
        assert!(with > 0, "{} does not fire in {fires}", rule.name);
        assert!(
            without > with,
            "the line directive in {fires} suppresses nothing ({with} with, {without} without)"
        );

        // The file directive takes away all of them.
        let file = format!("# {} {}", lint::DISABLE_FILE, rule.name);
        assert!(file_text.contains(&file), "{whole} has no `{file}`");
        assert_eq!(count(&whole, &file_text, rule.code), 0, "{whole}");
        let inert = without_directives(&file_text, rule.name);
        assert!(
            count(&whole, &inert, rule.code) > 0,
            "{} does not fire in {whole} without its directive",
            rule.name
        );
    }
}

/// `NAME.item.apr`: every disable comment of NAME sits on the line before
/// an item (a policy or rule) whose diagnostic of NAME is on a later line;
/// each takes away one, and a policy with no comment still fires.
#[test]
fn a_directive_before_an_item_covers_the_whole_item() {
    let mut seen = 0;
    for name in data_files() {
        let Some(rule) = name.strip_suffix(".item.apr").and_then(lint::by_name) else {
            continue;
        };
        seen += 1;
        let text = std::fs::read_to_string(data(&name)).expect("read");
        let line = format!("# {} {}", lint::DISABLE, rule.name);
        let lines: Vec<&str> = text.lines().collect();
        let directives: Vec<usize> = (0..lines.len())
            .filter(|&i| lines[i].starts_with(&line))
            .collect();
        assert!(!directives.is_empty(), "{name} has no `{line}`");
        for &i in &directives {
            let next = lines.get(i + 1).copied().unwrap_or("");
            assert!(
                next.starts_with("policy ") || next.starts_with("when "),
                "{name}:{}: the directive is not before an item",
                i + 1
            );
        }
        let (_, diags) = lint_text(&name, &without_directives(&text, rule.name));
        let lines_hit: Vec<usize> = diags
            .iter()
            .filter(|d| d.code == rule.code)
            .map(|d| text[..d.primary.span.start as usize].lines().count())
            .collect();
        for &i in &directives {
            // 1-based: the item starts on line i + 2; its diagnostic is later.
            assert!(
                lines_hit.iter().any(|&l| l > i + 2),
                "{name}: no diagnostic of {} below line {} without the directive",
                rule.name,
                i + 2
            );
        }
        let with = count(&name, &text, rule.code);
        let without = count(&name, &without_directives(&text, rule.name), rule.code);
        assert!(with > 0, "{name}: the uncommented item should still fire");
        assert_eq!(without - with, directives.len(), "{name}");
    }
    assert!(seen > 0, "no tests/data/lint/NAME.item.apr");
}

/// The rule a data file is about: `NAME.apr`, `NAME.file.apr`, or a case
/// `NAME.CASE.apr` (`conflicting-actions.exclusive.apr`). None for a name
/// of another shape.
fn rule_of(file: &str) -> Option<&str> {
    let stem = file.strip_suffix(".apr")?;
    match stem.split_once('.') {
        None => Some(stem),
        Some((rule, case))
            if !case.is_empty()
                && case
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-') =>
        {
            Some(rule)
        }
        Some(_) => None,
    }
}

#[test]
fn data_file_names_say_their_rule() {
    assert_eq!(rule_of("unused-let.apr"), Some("unused-let"));
    assert_eq!(rule_of("unused-let.file.apr"), Some("unused-let"));
    assert_eq!(
        rule_of("conflicting-actions.exclusive.apr"),
        Some("conflicting-actions")
    );
    assert_eq!(rule_of("unused-let.a.b.apr"), None);
    assert_eq!(rule_of("unused-let..apr"), None);
    assert_eq!(rule_of("unused-let.txt"), None);
}

#[test]
fn every_data_file_belongs_to_a_rule() {
    for name in data_files() {
        assert!(
            rule_of(&name).is_some_and(|r| lint::by_name(r).is_some()),
            "tests/data/lint/{name} names no rule"
        );
    }
}

// ---------------------------------------------------------------- the command
//
// Transcripts of typical command lines are snapshots in `tests/cli.rs`; these
// are the exit codes and outputs checked by value.

fn autopilot(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_autopilot"))
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .expect("run autopilot");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn path(name: &str) -> String {
    data(name).display().to_string()
}

#[test]
fn advice_never_fails() {
    let file = path("duplicate-event-reason.apr");
    let (code, _, err) = autopilot(&["lint", "--deny", "warnings", &file]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("1 advice"), "{err}");
}

#[test]
fn check_errors_fail_and_are_shown() {
    let dir = std::env::temp_dir().join(format!("autopilot-lint-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("bad.apr");
    std::fs::write(
        &file,
        "when pvc.usage > 50 for 10s then notify(\"oncall\", \"x\")\nlet unused = 1\n",
    )
    .unwrap();
    let (code, _, err) = autopilot(&["lint", &file.display().to_string()]);
    std::fs::remove_dir_all(&dir).ok();
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("apr::type::mismatch"), "{err}");
    assert!(err.contains("apr::lint::unused-let"), "{err}");
}

#[test]
fn missing_paths_are_usage_errors() {
    let (code, _, err) = autopilot(&["lint", "/no/such/file.apr"]);
    assert_eq!(code, 2, "{err}");
    let (code, _, _) = autopilot(&["lint"]);
    assert_eq!(code, 2);
}

#[test]
fn list_shows_every_rule() {
    for flag in ["--list", "--rules"] {
        let (code, out, _) = autopilot(&["lint", flag]);
        assert_eq!(code, 0);
        for r in RULES {
            let row = out
                .lines()
                .find(|l| l.split_whitespace().next() == Some(r.name))
                .unwrap_or_else(|| panic!("{} not listed:\n{out}", r.name));
            assert!(row.contains(r.description), "{row}");
        }
    }
    let (code, out, _) = autopilot(&["lint", "--list", "--format", "json"]);
    assert_eq!(code, 0);
    let json: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert_eq!(json.as_array().map(Vec::len), Some(RULES.len()));
}

// ---------------------------------------------------------------- robustness

/// Every `.apr` file of the repository lints without panicking.
#[test]
fn every_repository_file_lints() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for dir in ["examples", "tests/data", "stdlib", "editors"] {
        for entry in walkdir::WalkDir::new(root.join(dir))
            .into_iter()
            .filter_entry(|e| e.file_name() != "node_modules")
            .filter_map(Result::ok)
        {
            let p = entry.path();
            if p.extension().is_some_and(|x| x == "apr") {
                let text = std::fs::read_to_string(p).expect("read");
                lint_text(&p.display().to_string(), &text);
            }
        }
    }
}

proptest::proptest! {
    /// Text made of the language's pieces, disable comments included: lint
    /// returns, whatever it finds.
    #[test]
    fn any_text_lints(pieces in proptest::collection::vec(proptest::sample::select(vec![
        "policy p { ", "}", "on pvc", " where ", "when ", "then ", "pvc.usage", " > ", " < ",
        "120%", "true", " or ", " and ", "not ", "for 10s", "for 1m", "resize(+10%, max = 1Ti)",
        "set_class(\"a\")", "scale(-1)", "evict()", "cordon()", "notify(\"oncall\", \"x\")",
        "notify(\"on-call\", \"x\")", "event(\"Full\", \"x\")", "cooldown 1h", "mode dry_run",
        "let a = 5%", "metric pvc.m : percent = `rate(x_total[10s])`", "\n",
        "# apr-lint-disable ", "# apr-lint-disable-file ", "unused-let", ", ", "nope", "#",
        "pvc.labels.app == \"a\"", "pvc.labels.app in []", "at_most 1 per 1h", "\"",
    ]), 0..40)) {
        let text: String = pieces.concat();
        lint_text("fuzz.apr", &text);
    }
}

/// Many policies that act on the same kind but cannot fight: the conflict
/// rule groups actions by what they act on, so the pairs it proves are
/// only those that may fight, not all 12 million pairs here; and a pair
/// that does fight, among them, is still found.
#[test]
fn many_policies_lint_in_linear_time() {
    let mut text = String::new();
    for i in 0..5_000 {
        text.push_str(&format!(
            "policy grow_{i} {{\n  on pvc where pvc.labels.app == \"app{i}\"\n  when pvc.usage > 85%\n  then resize(+50%, max = 2Ti, min_step = 10Gi)\n  cooldown 6h\n}}\n\n\
             policy scale_{i} {{\n  on deployment where deployment.labels.app == \"web{i}\"\n  when deployment.ready_replicas < 1\n  then scale(+1, max = 10)\n}}\n\n"
        ));
    }
    let (_, clean) = lint_text("many.apr", &text);
    assert!(clean.is_empty(), "{:?}", clean.first().map(|d| &d.message));
    text.push_str(
        "policy shrink {\n  on deployment where deployment.labels.app == \"web7\"\n  when deployment.replicas > 5\n  then scale(-1, min = 2)\n}\n",
    );
    let (_, one) = lint_text("many.apr", &text);
    let conflicts: Vec<&str> = one
        .iter()
        .filter(|d| d.code == "apr::lint::conflicting-actions")
        .map(|d| d.message.as_str())
        .collect();
    assert_eq!(
        conflicts,
        ["`scale(-1, min = 2)` fights `scale(+1, max = 10)` of policy `scale_7`"]
    );
}
