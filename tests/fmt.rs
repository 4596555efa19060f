//! The formatter over data files.
//!
//! - `tests/data/fmt/*.apr`: one snapshot of the formatted text per file, in
//!   `tests/snapshots/`. After a deliberate style change, regenerate with
//!   `INSTA_UPDATE=always cargo test --test fmt` (or `cargo insta review`),
//!   read the diff, commit the `.snap` files. A file `fmt` refuses only
//!   because an anonymous rule or a disable comment would move has the
//!   layout as its snapshot (`long_then.apr`, `messy_spacing.apr`).
//! - `tests/data/fmt/refused/*.apr`: files refused for such a move; one
//!   snapshot of the diagnostics each.
//! - Every `.apr` file of the repository that parses (`tests/data/**`,
//!   `examples/**`, `stdlib/**`, `editors/**`): formatting keeps the AST and
//!   the comments and is idempotent.
//! - Generated programs, spaced and commented at random: the same invariants,
//!   and the output does not depend on the spacing; any text at all is
//!   formatted or refused, never garbled.

use std::path::{Path, PathBuf};

use autopilot::source::FileId;
use autopilot::syntax::{self, fmt};
use proptest::prelude::*;

/// The formatted text; for a file refused only for a move (see
/// [`fmt::refused_only_for_moves`]), the layout the formatter would have written.
fn format(text: &str) -> String {
    fmt::format_source(FileId(0), text).unwrap_or_else(|diags| {
        if fmt::refused_only_for_moves(&diags) {
            return fmt::format(text, &syntax::parse(FileId(0), text).0);
        }
        let msgs: Vec<_> = diags.iter().map(|d| (d.code, &d.message)).collect();
        panic!("not formatted: {msgs:?}")
    })
}

#[test]
fn formatted() {
    insta::glob!("data/fmt/*.apr", |path| {
        let text = std::fs::read_to_string(path).expect("read data file");
        insta::assert_snapshot!(format(&text));
    });
}

/// `tests/data/fmt/refused/*.apr`: files `fmt` leaves alone because
/// formatting would change what they mean; one snapshot of the diagnostics.
#[test]
fn refused() {
    insta::glob!("data/fmt/refused/*.apr", |path| {
        let text = std::fs::read_to_string(path).expect("read data file");
        let mut sources = autopilot::source::SourceMap::new();
        let name = path.file_name().expect("a file name").to_string_lossy();
        let id = sources.add(name.as_ref(), text.as_str());
        let diags = fmt::format_source(id, &text).expect_err("refused");
        let style = autopilot::diagnostic::Style::PLAIN;
        insta::assert_snapshot!(autopilot::diagnostic::render_all(&sources, &diags, style));
    });
}

#[test]
fn an_anonymous_rule_that_keeps_its_line_is_formatted() {
    let text = "# a rule\n\nwhen   pvc.usage>90%   then resize( +10% ,max=1Ti )\n";
    assert_eq!(
        fmt::format_source(FileId(0), text).expect("formatted"),
        "# a rule\n\nwhen pvc.usage > 90% then resize(+10%, max = 1Ti)\n"
    );
}

#[test]
fn a_disable_comment_that_keeps_its_target_is_formatted() {
    let text = "policy p {\n  on pvc\n  # apr-lint-disable resize-without-min-step\n  when   pvc.usage>90%\n  then resize( +10% ,max=1Ti, )\n}\n";
    let out = fmt::format_source(FileId(0), text).expect("formatted");
    assert!(
        out.contains("# apr-lint-disable resize-without-min-step\n  when pvc.usage > 90%\n"),
        "{out}"
    );
}

fn apr_files(root: &Path) -> Vec<PathBuf> {
    walkdir::WalkDir::new(root)
        .into_iter()
        .filter_entry(|e| !matches!(e.file_name().to_str(), Some("node_modules" | "target")))
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .map(|e| e.into_path())
        .filter(|p| p.extension().is_some_and(|x| x == "apr"))
        .collect()
}

/// Why `text` breaks an invariant, if it does.
fn violation(text: &str) -> Option<String> {
    let (ast, diags) = syntax::parse(FileId(0), text);
    if !diags.is_empty() {
        return None;
    }
    // `format` rather than `format_source`, which would hide the details.
    let out = fmt::format(text, &ast);
    let (again, diags) = syntax::parse(FileId(0), &out);
    if !diags.is_empty() {
        return Some(format!(
            "output does not parse: {}\n{out}",
            diags[0].message
        ));
    }
    if !fmt::same_ast(&ast, &again) {
        return Some(format!("output has another AST:\n{out}"));
    }
    let texts = |t: &str| -> Vec<String> {
        syntax::comments::comments(t)
            .into_iter()
            .map(|c| c.text)
            .collect()
    };
    if texts(text) != texts(&out) {
        return Some(format!("comments changed:\n{out}"));
    }
    let twice = fmt::format(&out, &again);
    if twice != out {
        return Some(format!("not idempotent:\n{out}---\n{twice}"));
    }
    None
}

#[test]
fn every_file_round_trips() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut checked = 0;
    let mut failures = Vec::new();
    for dir in ["tests/data", "examples", "stdlib", "editors"] {
        for path in apr_files(&root.join(dir)) {
            let text = std::fs::read_to_string(&path).expect("read .apr file");
            if syntax::parse(FileId(0), &text).1.is_empty() {
                checked += 1;
            }
            if let Some(why) = violation(&text) {
                failures.push(format!("{}: {why}", path.display()));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    let fmt_files = apr_files(&root.join("tests/data/fmt")).len();
    assert!(checked >= fmt_files, "only {checked} files parsed");
}

// ---------------------------------------------------------------- generated

/// A program as tokens; the text puts a separator between every two.
type Tokens = Vec<String>;

fn toks(parts: &[&str]) -> Tokens {
    parts.iter().map(|s| s.to_string()).collect()
}

fn join(parts: Vec<Tokens>) -> Tokens {
    parts.into_iter().flatten().collect()
}

fn comma_separated(items: Vec<Tokens>) -> Tokens {
    let mut out = Vec::new();
    for (i, item) in items.into_iter().enumerate() {
        if i > 0 {
            out.push(",".to_string());
        }
        out.extend(item);
    }
    out
}

fn leaf() -> impl Strategy<Value = Tokens> {
    prop::sample::select(vec![
        "1",
        "1_000",
        "2.5",
        "50%",
        "400Gi",
        "5m",
        "20ms",
        "1k",
        "true",
        "x",
        "pvc.usage",
        "pvc.labels.in",
        r#"pvc.labels["app.kubernetes.io/name"]"#,
        r#""plain""#,
        r#""{pvc.name} at {pvc.usage}, {{literal}} \"q\" \\ \n \t # no""#,
        r#""{ pvc.labels["k"] }""#,
    ])
    .prop_map(|s| vec![s.to_string()])
}

fn expr() -> impl Strategy<Value = Tokens> {
    leaf().prop_recursive(4, 24, 3, |inner| {
        let op = prop::sample::select(vec![
            "or", "and", "==", "!=", "<", "<=", ">", ">=", "in", "not in", "+", "-", "*", "/",
        ]);
        prop_oneof![
            (inner.clone(), op, inner.clone()).prop_map(|(l, op, r)| {
                let op: Tokens = op.split(' ').map(String::from).collect();
                join(vec![l, op, r])
            }),
            (prop::sample::select(vec!["not", "-"]), inner.clone())
                .prop_map(|(op, e)| join(vec![toks(&[op]), e])),
            inner
                .clone()
                .prop_map(|e| join(vec![toks(&["("]), e, toks(&[")"])])),
            prop::collection::vec(inner.clone(), 0..3).prop_map(|items| join(vec![
                toks(&["["]),
                comma_separated(items),
                toks(&["]"])
            ])),
            (
                prop::sample::select(vec!["min", "max", "abs"]),
                prop::collection::vec(inner, 0..3)
            )
                .prop_map(|(f, args)| join(vec![
                    toks(&[f, "("]),
                    comma_separated(args),
                    toks(&[")"])
                ])),
        ]
    })
}

fn action() -> impl Strategy<Value = Tokens> {
    let arg = (
        prop::option::of(prop::sample::select(vec!["max", "to", "min_step"])),
        prop::option::of(prop::sample::select(vec!["+", "-"])),
        expr(),
    )
        .prop_map(|(name, sign, value)| {
            let mut out = Vec::new();
            if let Some(name) = name {
                out.extend(toks(&[name, "="]));
            }
            out.extend(sign.map(String::from));
            out.extend(value);
            out
        });
    (
        prop::sample::select(vec!["resize", "notify", "scale"]),
        prop::collection::vec(arg, 0..4),
    )
        .prop_map(|(name, args)| {
            join(vec![
                toks(&[name, "("]),
                comma_separated(args),
                toks(&[")"]),
            ])
        })
}

fn then() -> impl Strategy<Value = Tokens> {
    prop::collection::vec(action(), 1..4)
        .prop_map(|actions| join(vec![toks(&["then"]), comma_separated(actions)]))
}

fn when() -> impl Strategy<Value = Tokens> {
    (expr(), prop::option::of(expr())).prop_map(|(cond, hold)| {
        let mut out = join(vec![toks(&["when"]), cond]);
        if let Some(hold) = hold {
            out.push("for".to_string());
            out.extend(hold);
        }
        out
    })
}

fn clause() -> impl Strategy<Value = Tokens> {
    prop_oneof![
        (prop::option::of(expr())).prop_map(|filter| match filter {
            Some(e) => join(vec![toks(&["on", "pvc", "where"]), e]),
            None => toks(&["on", "pvc"]),
        }),
        when(),
        then(),
        expr().prop_map(|e| join(vec![toks(&["cooldown"]), e])),
        Just(toks(&["mode", "approve"])),
        Just(toks(&["no_data", "reset"])),
        Just(toks(&["window", r#""Mon-Fri 02:00-04:00 UTC""#])),
        (expr(), expr()).prop_map(|(n, d)| join(vec![toks(&["at_most"]), n, toks(&["per"]), d])),
    ]
}

fn item() -> impl Strategy<Value = Tokens> {
    prop_oneof![
        expr().prop_map(|e| join(vec![toks(&["let", "a", "="]), e])),
        (
            prop::sample::select(vec!["`up`", "`sum by (a) (rate(x[5m])) # no`", "`x`"]),
            any::<bool>()
        )
            .prop_map(|(q, by)| {
                let mut out = toks(&["metric", "pvc", ".", "m", ":", "number", "=", q]);
                if by {
                    out.extend(toks(&["by", "(", "a", ",", "b", ")"]));
                }
                out
            }),
        prop::collection::vec(clause(), 0..5).prop_map(|cs| join(vec![
            toks(&["policy", "p", "{"]),
            join(cs),
            toks(&["}"])
        ])),
        (when(), then()).prop_map(|(w, t)| join(vec![w, t])),
    ]
}

fn program() -> impl Strategy<Value = Tokens> {
    prop::collection::vec(item(), 0..5).prop_map(join)
}

fn spread(tokens: &Tokens, seps: &[&str]) -> String {
    let mut out = String::new();
    for (i, t) in tokens.iter().enumerate() {
        // `pvc . m` is not a metric name: only the metric's dot is glued.
        if i > 0 && t != "." && tokens[i - 1] != "." {
            out.push_str(seps[i % seps.len()]);
        }
        out.push_str(t);
    }
    out
}

const SPACES: [&str; 5] = [" ", "  ", "\n", "\t", " \n    "];
const WITH_COMMENTS: [&str; 7] = [
    " ",
    "\n",
    " # c\n",
    "\n# own\n",
    "\n\n",
    "\n\n# after blank\n\n",
    "# tight\n",
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn spacing_does_not_matter(
        tokens in program(),
        a in prop::collection::vec(prop::sample::select(SPACES.to_vec()), 1..16),
        b in prop::collection::vec(prop::sample::select(SPACES.to_vec()), 1..16),
    ) {
        let (x, y) = (spread(&tokens, &a), spread(&tokens, &b));
        prop_assert_eq!(violation(&x), None);
        prop_assert_eq!(format(&x), format(&y));
    }

    #[test]
    fn comments_anywhere_are_kept(
        tokens in program(),
        seps in prop::collection::vec(prop::sample::select(WITH_COMMENTS.to_vec()), 1..24),
    ) {
        let text = spread(&tokens, &seps);
        prop_assert_eq!(violation(&text), None);
        let result = fmt::format_source(FileId(0), &text);
        prop_assert!(result.as_ref().err().is_none_or(|d| fmt::refused_only_for_moves(d)), "{result:?}");
    }

    /// Any text: an error or a stable result, never a panic, never output
    /// that fails the formatter's own check.
    #[test]
    fn any_text_is_formatted_or_refused(text in r#"(let a = |when |then |policy p \{|\}|f\(|\)|[a-z]+|[0-9]+%?|"[^"\n]{0,4}"|`[^`]{0,6}`|#[^\n]{0,3}|[ \n]+|[-+*/.,=<>{}\[\]\\"`])*"#) {
        if let Err(diags) = fmt::format_source(FileId(0), &text) {
            prop_assert!(diags.iter().all(|d| d.code != fmt::codes::UNSTABLE), "{text:?}");
        }
    }
}
