//! Data-driven suites over `tests/data/{parse,check}/{valid,invalid}/*`, one
//! snapshot per case in `tests/snapshots/`.
//!
//! A case is one `.apr` file, or a directory whose `.apr` files are checked
//! together (for problems across files). Every file starts with a `#` line
//! saying what it tests.
//!
//! - `invalid/` cases must give at least one error; the snapshot is the source
//!   and the diagnostics rendered without colour at width 100.
//! - `valid/` cases must give no diagnostic at all; the snapshot is the source
//!   and, for `parse/`, the AST as S-expressions (to pin precedence), for
//!   `check/`, what `autopilot explain` prints for each policy.
//!
//! Regenerate after a deliberate change, then read every changed snapshot:
//!
//!     INSTA_UPDATE=always cargo test --test check    # or: cargo insta review

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use autopilot::check;
use autopilot::compile::{Compiled, compile};
use autopilot::diagnostic::{Style, render_all};
use autopilot::report::explain;
use autopilot::syntax::ast::{self, ExprKind, Item, StrPart};

// ---------------------------------------------------------------- cases

/// The crate root, so that names in snapshots are the same on every machine.
fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// `tests/data/…`, relative to the crate root, with `/` separators.
fn display_name(path: &Path) -> String {
    let rel = path.strip_prefix(root()).unwrap_or(path);
    rel.components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

/// The `(name, text)` files of a case: the file, or the directory's `.apr` files, sorted.
fn case_files(path: &Path) -> Vec<(String, String)> {
    let paths: Vec<PathBuf> = if path.is_dir() {
        let mut found: Vec<PathBuf> = std::fs::read_dir(path)
            .expect("read case directory")
            .map(|e| e.expect("directory entry").path())
            .collect();
        found.sort();
        for p in &found {
            assert!(
                p.extension().is_some_and(|e| e == "apr"),
                "{}: a case directory holds only `.apr` files",
                display_name(p)
            );
        }
        found
    } else {
        assert!(
            path.extension().is_some_and(|e| e == "apr"),
            "{}: cases are `.apr` files or directories of them",
            display_name(path)
        );
        vec![path.to_path_buf()]
    };
    assert!(!paths.is_empty(), "{}: empty case", display_name(path));
    paths
        .iter()
        .map(|p| {
            let text = std::fs::read_to_string(p).expect("read case file");
            let name = display_name(p);
            assert!(
                text.trim_start_matches('\u{feff}').starts_with("# "),
                "{name}: the first line is a `# ` comment saying what the case tests"
            );
            (name, text)
        })
        .collect()
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Expect {
    Valid,
    Invalid,
}

fn expectation(path: &Path) -> Expect {
    let parent = path.parent().and_then(Path::file_name);
    match parent.and_then(|p| p.to_str()) {
        Some("valid") => Expect::Valid,
        Some("invalid") => Expect::Invalid,
        _ => panic!(
            "{}: cases live under `valid/` or `invalid/`",
            display_name(path)
        ),
    }
}

fn sources_block(files: &[(String, String)]) -> String {
    let mut out = String::new();
    for (name, text) in files {
        let _ = writeln!(out, "── {name} ──");
        out.push_str(text);
        if !text.ends_with('\n') {
            out.push('\n');
        }
    }
    out
}

fn rendered(c: &Compiled) -> String {
    render_all(&c.sources, &c.diagnostics, Style::PLAIN)
}

/// The snapshot of an invalid case: its sources, then every diagnostic.
fn invalid_snapshot(files: &[(String, String)], c: &Compiled, name: &str) -> String {
    assert!(
        c.has_errors(),
        "{name}: an invalid case must give at least one error, got:\n{}",
        rendered(c)
    );
    format!("{}── diagnostics ──\n{}", sources_block(files), rendered(c))
}

fn assert_clean(c: &Compiled, name: &str) {
    assert!(
        c.diagnostics.is_empty(),
        "{name}: a valid case must give no diagnostics, got:\n{}",
        rendered(c)
    );
}

// ---------------------------------------------------------------- suites

#[test]
fn parse() {
    insta::glob!("data/parse", "*/*", |path| {
        let files = case_files(path);
        let name = display_name(path);
        let c = compile(files.clone());
        let snapshot = match expectation(path) {
            Expect::Invalid => invalid_snapshot(&files, &c, &name),
            Expect::Valid => {
                assert_clean(&c, &name);
                let mut out = sources_block(&files);
                out.push_str("── ast ──\n");
                for (_, file) in c.user_files() {
                    for item in &file.items {
                        out.push_str(&sexp::item(item));
                    }
                }
                out
            }
        };
        insta::assert_snapshot!(snapshot);
    });
}

#[test]
fn check() {
    insta::glob!("data/check", "*/*", |path| {
        let files = case_files(path);
        let name = display_name(path);
        let c = compile(files.clone());
        let snapshot = match expectation(path) {
            Expect::Invalid => invalid_snapshot(&files, &c, &name),
            Expect::Valid => {
                assert_clean(&c, &name);
                let program = &c.checked.program;
                assert!(
                    !program.policies.is_empty(),
                    "{name}: a valid case has at least one policy"
                );
                let mut out = sources_block(&files);
                out.push_str("── explain ──\n");
                let explained: Vec<String> = program
                    .policies
                    .iter()
                    .map(|p| explain::explain(&c.sources, program, p))
                    .collect();
                out.push_str(&explained.join("\n"));
                out
            }
        };
        insta::assert_snapshot!(snapshot);
    });
}

// ---------------------------------------------------------------- generated inputs

/// Inputs too big to commit: built here, each with its own snapshot.
fn generated() -> Vec<(&'static str, String)> {
    let parens = 100;
    let nested = format!(
        "# {parens} nested parentheses\nlet x = {}1{}\n",
        "(".repeat(parens),
        ")".repeat(parens)
    );
    // Under the bracket limit, but a tree deeper than the expression limit:
    // `0 - 1 - 2 - …` nests to the left, one level per operator.
    let mut deep = String::from("# an expression tree 140 operators deep\nlet x =\n  0");
    for i in 1..=140 {
        if i % 20 == 0 {
            deep.push_str("\n ");
        }
        let _ = write!(deep, " - {i}");
    }
    deep.push('\n');
    // More operands than one expression may hold, one per line of 40.
    let terms: Vec<&str> = vec!["1"; 2100];
    let mut long = String::from("# an expression of 2100 terms\nlet total =\n");
    for (i, line) in terms.chunks(40).enumerate() {
        let sep = if i == 0 { "  " } else { "  + " };
        let _ = writeln!(long, "{sep}{}", line.join(" + "));
    }
    vec![
        ("too_deep_parens.apr", nested),
        ("too_deep_operators.apr", deep),
        ("too_long.apr", long),
    ]
}

/// For generated inputs the source is long: the snapshot shows each
/// diagnostic's location, code, message and help rather than the snippet.
fn brief(c: &Compiled) -> String {
    let mut out = String::new();
    for d in &c.diagnostics {
        let _ = writeln!(
            out,
            "{}: {} [{}]",
            c.sources.location(d.primary.span),
            d.message,
            d.code
        );
        if let Some(label) = &d.primary.message {
            let _ = writeln!(out, "  label: {label}");
        }
        if let Some(help) = &d.help {
            let _ = writeln!(out, "  help: {help}");
        }
    }
    out
}

#[test]
fn generated_inputs() {
    for (name, text) in generated() {
        let c = compile(vec![(name.to_string(), text)]);
        assert!(c.has_errors(), "{name}: expected an error");
        insta::assert_snapshot!(format!("generated__{name}"), brief(&c));
    }
}

// ---------------------------------------------------------------- coverage

/// The diagnostics of every invalid case, rendered, with the generated ones.
fn all_invalid_outputs() -> Vec<(String, String)> {
    let mut out = Vec::new();
    for suite in ["parse", "check"] {
        let dir = root().join("tests/data").join(suite).join("invalid");
        let mut cases: Vec<PathBuf> = std::fs::read_dir(&dir)
            .expect("read invalid cases")
            .map(|e| e.expect("directory entry").path())
            .collect();
        cases.sort();
        for case in cases {
            let c = compile(case_files(&case));
            out.push((display_name(&case), rendered(&c)));
        }
    }
    for (name, text) in generated() {
        let c = compile(vec![(name.to_string(), text)]);
        out.push((name.to_string(), rendered(&c)));
    }
    out
}

/// Every code the checker can produce shows up in some invalid case, so that
/// coverage cannot silently regress when a code is added.
#[test]
fn every_code_is_covered() {
    let outputs = all_invalid_outputs();
    let missing: BTreeSet<&str> = check::all_codes()
        .into_iter()
        .filter(|code| {
            // A code is followed by a line break in the rendering; match whole codes.
            let needle = format!("{code}\n");
            !outputs.iter().any(|(_, text)| text.contains(&needle))
        })
        .collect();
    assert!(
        missing.is_empty(),
        "no invalid case produces: {missing:?}; add a case under tests/data/*/invalid/"
    );
}

#[test]
fn suite_has_enough_cases() {
    let count = |suite: &str, which: &str| {
        std::fs::read_dir(root().join("tests/data").join(suite).join(which))
            .map(|d| d.count())
            .unwrap_or(0)
    };
    let invalid = count("parse", "invalid") + count("check", "invalid");
    let valid = count("check", "valid");
    assert!(invalid >= 40, "{invalid} invalid cases, want at least 40");
    assert!(valid >= 15, "{valid} valid check cases, want at least 15");
}

// ---------------------------------------------------------------- AST as S-expressions

mod sexp {
    use super::*;

    pub fn item(item: &Item) -> String {
        let mut out = String::new();
        match item {
            Item::Let(l) => {
                let _ = writeln!(out, "(let {} {})", l.name.name, expr(&l.value));
            }
            Item::Metric(m) => {
                let by = m.by.as_ref().map_or(String::new(), |b| {
                    let labels: Vec<&str> = b.labels.iter().map(|l| l.name.as_str()).collect();
                    format!(" (by {})", labels.join(" "))
                });
                let _ = writeln!(
                    out,
                    "(metric {}.{} {} {:?}{by})",
                    m.kind.name, m.name.name, m.ty.name, m.promql.text
                );
            }
            Item::Policy(p) => {
                let _ = writeln!(out, "(policy {}", p.name.name);
                for c in &p.clauses {
                    let _ = writeln!(out, "  {}", clause(&c.kind));
                }
                out.push_str(")\n");
            }
            Item::Rule(r) => {
                let _ = writeln!(out, "(rule\n  {}\n  {})", when(&r.when), then(&r.then));
            }
            // Test blocks have their own suite; here only their shape.
            Item::Test(t) => {
                let _ = writeln!(
                    out,
                    "(test {} ({} statements))",
                    string(&t.name),
                    t.stmts.len()
                );
            }
        }
        out
    }

    fn clause(c: &ast::ClauseKind) -> String {
        use ast::ClauseKind::*;
        match c {
            On { kind, filter: None } => format!("(on {})", kind.name),
            On {
                kind,
                filter: Some(f),
            } => format!("(on {} (where {}))", kind.name, expr(f)),
            When(w) => when(w),
            Then(t) => then(t),
            Cooldown(e) => format!("(cooldown {})", expr(e)),
            Mode(m) => format!("(mode {})", m.name),
            NoData(m) => format!("(no_data {})", m.name),
            Window(s) => format!("(window {})", string(s)),
            AtMost { count, per } => format!("(at_most {} (per {}))", expr(count), expr(per)),
        }
    }

    fn when(w: &ast::When) -> String {
        match &w.hold {
            Some(h) => format!("(when {} (for {}))", expr(&w.condition), expr(h)),
            None => format!("(when {})", expr(&w.condition)),
        }
    }

    fn then(t: &ast::Then) -> String {
        let actions: Vec<String> = t.actions.iter().map(action).collect();
        format!("(then {})", actions.join(" "))
    }

    fn action(a: &ast::Action) -> String {
        let mut parts = vec![a.name.name.clone()];
        for arg in &a.args {
            let sign = match arg.sign {
                Some((ast::Sign::Plus, _)) => "+",
                Some((ast::Sign::Minus, _)) => "-",
                None => "",
            };
            let value = format!("{sign}{}", expr(&arg.value));
            parts.push(match &arg.name {
                Some(n) => format!("({} = {value})", n.name),
                None => value,
            });
        }
        format!("({})", parts.join(" "))
    }

    fn string(s: &ast::Str) -> String {
        let mut out = String::from("\"");
        for part in &s.parts {
            match part {
                StrPart::Text(t) => {
                    let escaped = format!("{t:?}");
                    let inner = &escaped[1..escaped.len() - 1];
                    out.push_str(&inner.replace('{', "{{").replace('}', "}}"));
                }
                StrPart::Interp(e) => {
                    let _ = write!(out, "{{{}}}", expr(e));
                }
            }
        }
        out.push('"');
        out
    }

    pub fn expr(e: &ast::Expr) -> String {
        match &e.kind {
            ExprKind::Number(n) => {
                // A compound duration's text is the whole literal.
                let unit = n.unit.filter(|_| !n.compound).map_or("", |u| u.suffix());
                format!("{}{unit}", n.text)
            }
            ExprKind::Str(s) => string(s),
            ExprKind::Bool(b) => b.to_string(),
            ExprKind::List(items) => {
                let items: Vec<String> = items.iter().map(expr).collect();
                format!("[{}]", items.join(" "))
            }
            ExprKind::Call { name, args } => {
                let args: Vec<String> = args.iter().map(expr).collect();
                format!("(call {} {})", name.name, args.join(" "))
            }
            ExprKind::Path(p) => p.display(),
            ExprKind::Unary { op, expr: x } => {
                let op = match op {
                    ast::UnaryOp::Not => "not",
                    ast::UnaryOp::Neg => "neg",
                };
                format!("({op} {})", expr(x))
            }
            ExprKind::Binary { op, lhs, rhs } => {
                format!("({} {} {})", op.symbol(), expr(lhs), expr(rhs))
            }
            ExprKind::Paren(x) => expr(x),
            ExprKind::Error => "<error>".into(),
        }
    }
}

/// "did you mean" between two 250k-character names costs bytes × bytes: the
/// budget stops it, so the check ends at once with the generic help.
#[test]
fn long_names_check_quickly() {
    let a = "a".repeat(250_000);
    let b = format!("{}b", "a".repeat(249_999));
    let text = format!(
        "let {a} = 1\nmetric pvc.{a} : number = `up`\nlet x = {b} + 1\nwhen pvc.{b} > 1 then resize(+1Gi, max = 1Ti)\n"
    );
    let c = compile(vec![("long.apr".to_string(), text)]);
    let helps: Vec<&str> = c
        .diagnostics
        .iter()
        .filter_map(|d| d.help.as_deref())
        .collect();
    assert!(c.has_errors());
    assert!(
        helps.iter().all(|h| !h.contains("did you mean")),
        "no suggestion of a 250k name: {}",
        helps
            .iter()
            .map(|h| &h[..h.len().min(200)])
            .collect::<Vec<_>>()
            .join("\n")
    );
}

/// Every ```apr block of README.md and docs/ checks without errors, as
/// written: the examples users copy are the examples that work.
#[test]
fn doc_examples_check() {
    let mut docs = vec![root().join("README.md")];
    let mut dir: Vec<PathBuf> = std::fs::read_dir(root().join("docs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    dir.sort();
    docs.extend(dir);
    let mut checked = 0;
    for doc in docs {
        let text = std::fs::read_to_string(&doc).unwrap();
        let mut block: Option<(usize, String)> = None;
        for (i, line) in text.lines().enumerate() {
            let fence = line.trim_start();
            match &mut block {
                None if fence == "```apr" => block = Some((i + 1, String::new())),
                Some((start, body)) if fence.starts_with("```") => {
                    let name = format!("{}:{}", display_name(&doc), start);
                    let c = compile(vec![(name.clone(), std::mem::take(body))]);
                    assert!(!c.has_errors(), "{name}:\n{}", rendered(&c));
                    checked += 1;
                    block = None;
                }
                Some((_, body)) => {
                    // Blocks inside list items are indented like their item.
                    body.push_str(line.strip_prefix("  ").unwrap_or(line));
                    body.push('\n');
                }
                None => {}
            }
        }
        assert!(
            block.is_none(),
            "{}: an unclosed ```apr block",
            doc.display()
        );
    }
    assert!(checked >= 10, "only {checked} doc examples found");
}
