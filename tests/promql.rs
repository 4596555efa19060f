//! The PromQL evaluator against promqltest-format files: ours under
//! `tests/data/promql/` (one snapshot each; regenerate with
//! `INSTA_UPDATE=always cargo test --test promql`), and Prometheus's own
//! from the Go module cache (conformance, never copied into this repo).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use autopilot::promql::{EvalError, Evaluator, Labels, Store, Value, is_stale, stale_nan};

/// Prometheus's conformance cases this evaluator passes; raise it as it grows.
const PASSED_AT_LEAST: usize = 976;

/// Prometheus cases that disagree for a stated reason, reported apart from
/// passes and failures: (file, line of the eval, why).
const KNOWN_DIVERGENCES: &[(&str, usize, &str)] = &[
    // promql-parser turns the invalid byte \xff into a valid character, so
    // the label name is valid by the time it reaches the evaluator.
    ("functions.test", 523, "promql-parser decodes \\xff"),
    // promqltest runs with EnableDelayedNameRemoval; this evaluator drops
    // __name__ eagerly, as Prometheus 3 does by default.
    ("name_label_dropping.test", 59, "delayed name removal"),
    ("name_label_dropping.test", 64, "delayed name removal"),
    ("name_label_dropping.test", 69, "delayed name removal"),
    ("name_label_dropping.test", 74, "delayed name removal"),
    ("name_label_dropping.test", 89, "delayed name removal"),
    ("name_label_dropping.test", 115, "delayed name removal"),
    ("name_label_dropping.test", 119, "delayed name removal"),
    ("name_label_dropping.test", 123, "delayed name removal"),
];
/// The eval time that marks a case as a range query.
const RANGE_QUERY: i64 = i64::MIN;
const PROMETHEUS: &str = "github.com/prometheus/prometheus@v0.316.0/promql/promqltest/testdata";

/// How one eval case ended, a closed set.
#[derive(Debug, Clone, PartialEq)]
enum Outcome {
    Pass,
    Fail(String),
    Skip(String),
}

#[derive(Default)]
struct Expect {
    fail: bool,
    ordered: bool,
    scalar: Option<f64>,
    string: Option<String>,
    samples: Vec<(Labels, f64)>,
    /// A range query's (or `expect range vector`'s) start, end and step.
    range: Option<(i64, i64, i64)>,
    /// Expected series of a matrix result, a value (or `_`) per step.
    series: Vec<(Labels, Vec<Option<f64>>)>,
    skip: Option<String>,
    /// `expect fail msg: …`: the error's text, exactly.
    fail_msg: Option<String>,
    /// `expect fail regex: …`: a pattern the error's text matches.
    fail_regex: Option<String>,
}

struct Case {
    line: usize,
    expr: String,
    outcome: Outcome,
}

fn parse_duration(s: &str) -> Option<i64> {
    if let Ok(secs) = s.parse::<f64>() {
        return Some((secs * 1000.0) as i64);
    }
    let mut total = 0i64;
    let mut rest = s;
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !c.is_ascii_digit())?;
        let n: i64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let ms = match &rest[..unit_len] {
            "ms" => 1,
            "s" => 1000,
            "m" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            "w" => 604_800_000,
            "y" => 31_536_000_000,
            _ => return None,
        };
        total += n * ms;
        rest = &rest[unit_len..];
    }
    Some(total)
}

fn parse_number(s: &str) -> Option<f64> {
    match s {
        "Inf" | "+Inf" | "inf" | "+inf" => Some(f64::INFINITY),
        "-Inf" | "-inf" => Some(f64::NEG_INFINITY),
        "NaN" | "nan" => Some(f64::NAN),
        "stale" => Some(stale_nan()),
        _ => s.parse().ok(),
    }
}

/// A quoted string at the start of `s` (Go escapes), and the rest.
fn quoted(s: &str) -> Option<(String, &str)> {
    let q = s.chars().next()?;
    if q != '"' && q != '\'' && q != '`' {
        return None;
    }
    let mut out = String::new();
    let mut chars = s[1..].char_indices();
    while let Some((i, c)) = chars.next() {
        if c == q {
            return Some((out, &s[1 + i + 1..]));
        }
        if c == '\\' && q != '`' {
            let (_, e) = chars.next()?;
            match e {
                'n' => out.push('\n'),
                't' => out.push('\t'),
                'u' => {
                    let hex: String = (0..4).filter_map(|_| chars.next().map(|c| c.1)).collect();
                    out.push(char::from_u32(u32::from_str_radix(&hex, 16).ok()?)?);
                }
                other => out.push(other),
            }
        } else {
            out.push(c);
        }
    }
    None
}

/// `name{a="b", ...}` (either part optional) and the rest of the line.
fn parse_metric(s: &str) -> Option<(Labels, &str)> {
    let mut labels = Labels::new();
    let s = s.trim_start();
    let name_end = s
        .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
        .unwrap_or(s.len());
    if name_end > 0 {
        labels.insert("__name__".into(), s[..name_end].to_string());
    }
    let mut rest = &s[name_end..];
    if let Some(r) = rest.strip_prefix('{') {
        rest = r.trim_start();
        loop {
            if let Some(r) = rest.strip_prefix('}') {
                rest = r;
                break;
            }
            let (key, r) = if let Some((k, r)) = quoted(rest) {
                (k, r.trim_start())
            } else {
                let end = rest.find(|c: char| !(c.is_alphanumeric() || c == '_'))?;
                (rest[..end].to_string(), rest[end..].trim_start())
            };
            if let Some(r2) = r.strip_prefix('=') {
                let (v, r3) = quoted(r2.trim_start())?;
                labels.insert(key, v);
                rest = r3.trim_start();
            } else {
                labels.insert("__name__".into(), key);
                rest = r;
            }
            rest = rest.strip_prefix(',').unwrap_or(rest).trim_start();
        }
    }
    Some((labels, rest))
}

/// Expanding notation: `1+2x3`, `5x2`, `_`, `_x3`, `stale`, numbers.
fn expand(values: &str) -> Option<Vec<Option<f64>>> {
    let mut out = Vec::new();
    for tok in values.split_whitespace() {
        if tok == "_" {
            out.push(None);
            continue;
        }
        if let Some(n) = tok.strip_prefix("_x") {
            out.extend(std::iter::repeat_n(None, n.parse().ok()?));
            continue;
        }
        if let Some(v) = parse_number(tok) {
            out.push(Some(v));
            continue;
        }
        let x = tok.rfind('x')?;
        let times: usize = tok[x + 1..].parse().ok()?;
        let body = &tok[..x];
        let op = body
            .char_indices()
            .skip(1)
            .find(|&(i, c)| (c == '+' || c == '-') && !body[..i].ends_with(['e', 'E']))
            .map(|(i, _)| i);
        let (start, delta) = match op {
            Some(i) => (parse_number(&body[..i])?, parse_number(&body[i..])?),
            None => (parse_number(body)?, 0.0),
        };
        for j in 0..=times {
            out.push(Some(start + delta * j as f64));
        }
    }
    Some(out)
}

fn same(a: f64, b: f64) -> bool {
    if is_stale(a) || is_stale(b) {
        return is_stale(a) && is_stale(b);
    }
    if a.is_nan() && b.is_nan() || a == b {
        return true;
    }
    let min_normal = f64::MIN_POSITIVE;
    let abs_sum = a.abs() + b.abs();
    let diff = (a - b).abs();
    if a == 0.0 || b == 0.0 || abs_sum < min_normal {
        return diff < 1e-6 * min_normal;
    }
    diff / abs_sum.min(f64::MAX) < 1e-6
}

fn show_labels(l: &Labels) -> String {
    let name = l.get("__name__").cloned().unwrap_or_default();
    let rest: Vec<String> = l
        .iter()
        .filter(|(k, _)| *k != "__name__")
        .map(|(k, v)| format!("{k}={v:?}"))
        .collect();
    format!("{name}{{{}}}", rest.join(", "))
}

fn show_value(v: &Value) -> String {
    match v {
        Value::Scalar(x) => format!("scalar {x}"),
        Value::String(s) => format!("string {s:?}"),
        Value::Vector(v) => {
            let mut parts: Vec<String> = v
                .iter()
                .map(|(l, x)| format!("{} {x}", show_labels(l)))
                .collect();
            parts.sort();
            format!("[{}]", parts.join("; "))
        }
        Value::Matrix(m) => format!("matrix of {} series", m.len()),
    }
}

fn compare(got: &Value, e: &Expect) -> Result<(), String> {
    if let Some(s) = &e.string {
        return match got {
            Value::String(g) if g == s => Ok(()),
            _ => Err(format!("expected string {s:?}")),
        };
    }
    if let Some(x) = e.scalar {
        return match got {
            Value::Scalar(g) if same(*g, x) => Ok(()),
            _ => Err(format!("expected scalar {x}")),
        };
    }
    let Value::Vector(v) = got else {
        return Err("expected an instant vector".into());
    };
    if v.len() != e.samples.len() {
        return Err(format!(
            "expected {} samples, got {}",
            e.samples.len(),
            v.len()
        ));
    }
    if e.ordered {
        for ((gl, gv), (el, ev)) in v.iter().zip(&e.samples) {
            if gl != el || !same(*gv, *ev) {
                return Err(format!("expected {} {ev} in order", show_labels(el)));
            }
        }
        return Ok(());
    }
    let got: BTreeMap<&Labels, f64> = v.iter().map(|(l, x)| (l, *x)).collect();
    for (el, ev) in &e.samples {
        match got.get(el) {
            Some(g) if same(*g, *ev) => {}
            Some(g) => return Err(format!("expected {} {ev}, got {g}", show_labels(el))),
            None => return Err(format!("expected {} {ev}, missing", show_labels(el))),
        }
    }
    Ok(())
}

/// A matrix against the expected series, as promqltest compares them: the
/// same series, and in each the same points at `start + i * step`.
fn compare_matrix(got: &[(Labels, Vec<(i64, f64)>)], e: &Expect) -> Result<(), String> {
    let (start, end, step) = e.range.unwrap_or_default();
    let expected: BTreeMap<&Labels, &Vec<Option<f64>>> =
        e.series.iter().map(|(l, v)| (l, v)).collect();
    for (l, points) in got {
        let Some(vals) = expected.get(l) else {
            return Err(format!("unexpected series {}", show_labels(l)));
        };
        let want: Vec<(i64, f64)> = vals
            .iter()
            .enumerate()
            .filter_map(|(i, v)| v.map(|v| (start + i as i64 * step, v)))
            .collect();
        if want.last().is_some_and(|p| p.0 > end) {
            return Err(format!(
                "more points expected than steps for {}",
                show_labels(l)
            ));
        }
        let agree = want.len() == points.len()
            && want
                .iter()
                .zip(points)
                .all(|(w, g)| w.0 == g.0 && same(g.1, w.1));
        if !agree {
            return Err(format!(
                "{} expected {want:?}, got {points:?}",
                show_labels(l)
            ));
        }
    }
    let seen: Vec<&Labels> = got.iter().map(|(l, _)| l).collect();
    match expected.keys().find(|l| !seen.contains(l)) {
        Some(l) => Err(format!("expected series {} missing", show_labels(l))),
        None => Ok(()),
    }
}

/// An expected line's series and values, expanded.
fn expected_series(def: &str) -> Option<(Labels, Vec<Option<f64>>)> {
    parse_metric(def).and_then(|(l, rest)| expand(rest).map(|v| (l, v)))
}

/// `from <t> to <t> step <d>` (the words after `range` or `range vector`).
fn parse_span(words: &[&str]) -> Option<(i64, i64, i64)> {
    match words {
        ["from", from, "to", to, "step", step, ..] => Some((
            parse_duration(from)?,
            parse_duration(to)?,
            parse_duration(step)?,
        )),
        _ => None,
    }
}

fn run_case(store: &Store, at: i64, expr: &str, e: &Expect) -> Outcome {
    if let Some(why) = &e.skip {
        return Outcome::Skip(why.clone());
    }
    let ev = Evaluator::new(store);
    let result = match e.range {
        Some((start, end, step)) if at == RANGE_QUERY => ev.query_range(expr, start, end, step),
        // `expect range vector` evaluates the instant query at its end.
        Some((_, end, _)) => ev.query(expr, end),
        None => ev.query(expr, at),
    };
    if let (Ok(Value::Matrix(m)), false, true) = (&result, e.fail, e.range.is_some()) {
        return match compare_matrix(m, e) {
            Ok(()) => Outcome::Pass,
            Err(why) => Outcome::Fail(why),
        };
    }
    match result {
        Err(EvalError::Unsupported(what)) => Outcome::Skip(format!("unsupported: {what}")),
        Err(err) if e.fail => fail_text(&err, e),
        Err(EvalError::Parse(msg)) => Outcome::Skip(format!("promql-parser: {msg}")),
        Err(err) => Outcome::Fail(format!("error: {err}")),
        Ok(v) if e.fail => Outcome::Fail(format!("expected an error, got {}", show_value(&v))),
        Ok(Value::Matrix(_)) => Outcome::Skip("range vector result".into()),
        Ok(v) => match compare(&v, e) {
            // As promqltest: not for strings, range vectors, ordered
            // results, or expressions that read the query's own range.
            Ok(())
                if at == RANGE_QUERY
                    || e.range.is_some()
                    || e.ordered
                    || e.string.is_some()
                    || ["start()", "end()", "range()", "step()"]
                        .iter()
                        .any(|f| expr.contains(f)) =>
            {
                Outcome::Pass
            }
            Ok(()) => as_range(&ev, expr, at, e),
            Err(why) => Outcome::Fail(format!("{why}; got {}", show_value(&v))),
        },
    }
}

/// An expected error: its text as `expect fail msg:` or `regex:` names it.
/// The evaluator's own prefix (`invalid: `) is not Prometheus's.
fn fail_text(err: &EvalError, e: &Expect) -> Outcome {
    let text = match err {
        EvalError::Parse(m) | EvalError::Unsupported(m) | EvalError::Invalid(m) => m.as_str(),
    };
    // promql-parser rejects some constructs Prometheus parses (the
    // `smoothed` modifier): that is a construct it lacks, not a wrong text.
    if let EvalError::Parse(_) = err
        && (e.fail_msg.is_some() || e.fail_regex.is_some())
    {
        return Outcome::Skip(format!("promql-parser: {text}"));
    }
    if let Some(msg) = &e.fail_msg
        && text != msg
    {
        return Outcome::Fail(format!("expected the error {msg:?}, got {text:?}"));
    }
    if let Some(re) = &e.fail_regex {
        match regex::Regex::new(re) {
            Ok(r) if r.is_match(text) => {}
            Ok(_) => {
                return Outcome::Fail(format!("expected an error matching {re:?}, got {text:?}"));
            }
            Err(_) => return Outcome::Skip(format!("regex {re:?}")),
        }
    }
    Outcome::Pass
}

/// promqltest runs an instant case again as a range query from a minute
/// before to a minute after, one minute apart, and compares the step at the
/// instant with the same expectation.
fn as_range(ev: &Evaluator, expr: &str, at: i64, e: &Expect) -> Outcome {
    let got = match ev.query_range(expr, at - 60_000, at + 60_000, 60_000) {
        Ok(Value::Matrix(m)) => m,
        Ok(v) => return Outcome::Fail(format!("as a range query: got {}", show_value(&v))),
        Err(err) => return Outcome::Fail(format!("as a range query: error: {err}")),
    };
    let at_instant: Vec<(Labels, f64)> = got
        .into_iter()
        .filter_map(|(l, points)| points.iter().find(|p| p.0 == at).map(|p| (l, p.1)))
        .collect();
    let v = match (e.scalar, at_instant.first()) {
        (Some(_), Some((_, x))) => Value::Scalar(*x),
        _ => Value::Vector(at_instant),
    };
    match compare(&v, e) {
        Ok(()) => Outcome::Pass,
        Err(why) => Outcome::Fail(format!("as a range query: {why}; got {}", show_value(&v))),
    }
}

/// Runs every instant eval in a promqltest file.
fn run_file(text: &str) -> Vec<Case> {
    let lines: Vec<&str> = text
        .lines()
        .map(|l| {
            let l = l.trim();
            if l.starts_with('#') { "" } else { l }
        })
        .collect();
    let mut store = Store::new();
    let mut start_timestamps = false;
    let mut cases = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        i += 1;
        if line.is_empty() {
            continue;
        }
        let words: Vec<&str> = line.split_whitespace().collect();
        let cmd = words.first().copied().unwrap_or("");
        if cmd == "clear" {
            store = Store::new();
            start_timestamps = false;
            continue;
        }
        if cmd == "load" || cmd == "load_with_nhcb" {
            let interval = words
                .get(1)
                .and_then(|d| parse_duration(d))
                .unwrap_or(60_000);
            while i < lines.len() && !lines[i].is_empty() {
                let def = lines[i];
                i += 1;
                let Some((labels, values)) = parse_metric(def) else {
                    continue;
                };
                if values.contains("{{") {
                    store.add_native_histogram(labels);
                    continue;
                }
                if values.trim_start().starts_with('@') {
                    start_timestamps = true;
                    continue;
                }
                // load_with_nhcb also loads classic buckets as one native histogram.
                let base = labels.get("__name__").and_then(|name| {
                    ["_bucket", "_count", "_sum"]
                        .iter()
                        .find_map(|s| name.strip_suffix(s))
                });
                if let (true, Some(base)) = (cmd == "load_with_nhcb", base) {
                    let mut h = labels.clone();
                    h.insert("__name__".into(), base.to_string());
                    h.remove("le");
                    store.add_native_histogram(h);
                }
                let Some(vals) = expand(values) else { continue };
                let samples = vals
                    .into_iter()
                    .enumerate()
                    .filter_map(|(j, v)| v.map(|v| (j as i64 * interval, v)))
                    .collect();
                store.add(labels, samples);
            }
            continue;
        }
        if !cmd.starts_with("eval") {
            while i < lines.len() && !lines[i].is_empty() {
                i += 1;
            }
            continue;
        }
        let start_line = i;
        let mut e = Expect::default();
        let modifier = cmd.strip_prefix("eval_").unwrap_or("");
        e.fail = modifier == "fail";
        e.ordered = modifier == "ordered";
        let (at, expr) = if words.get(1) == Some(&"instant") && words.get(2) == Some(&"at") {
            let at = words.get(3).and_then(|d| parse_duration(d));
            let expr = line
                .splitn(5, char::is_whitespace)
                .nth(4)
                .unwrap_or("")
                .trim()
                .to_string();
            (at, expr)
        } else if let (Some(&"range"), Some(span)) =
            (words.get(1), parse_span(&words[2.min(words.len())..]))
        {
            e.range = Some(span);
            let expr = line
                .splitn(9, char::is_whitespace)
                .nth(8)
                .unwrap_or("")
                .trim()
                .to_string();
            (Some(RANGE_QUERY), expr)
        } else {
            e.skip = Some("eval line".into());
            (Some(0), line.to_string())
        };
        while i < lines.len() && !lines[i].is_empty() {
            let def = lines[i];
            i += 1;
            if def.starts_with("expected_fail") {
                continue;
            }
            if let Some(s) = def.strip_prefix("expect string") {
                e.string = quoted(s.trim()).map(|(s, _)| s);
                continue;
            }
            if let Some(rest) = def.strip_prefix("expect range vector") {
                let words: Vec<&str> = rest.split_whitespace().collect();
                match parse_span(&words) {
                    Some(span) => e.range = Some(span),
                    None => {
                        e.skip.get_or_insert(format!("expected line {def:?}"));
                    }
                }
                continue;
            }
            if let Some(msg) = def.strip_prefix("expect fail msg:") {
                e.fail = true;
                e.fail_msg = Some(msg.trim().to_string());
                continue;
            }
            if let Some(re) = def.strip_prefix("expect fail regex:") {
                e.fail = true;
                e.fail_regex = Some(re.trim().to_string());
                continue;
            }
            if let Some(kind) = def.strip_prefix("expect ") {
                match kind.split_whitespace().next().unwrap_or("") {
                    "fail" => e.fail = true,
                    "ordered" => e.ordered = true,
                    _ => {}
                }
                continue;
            }
            if def.contains("{{") {
                e.skip = Some("native histograms".into());
                continue;
            }
            if let Some(x) = parse_number(def) {
                e.scalar = Some(x);
                continue;
            }
            match expected_series(def) {
                Some(series) if e.range.is_some() => e.series.push(series),
                Some((l, v)) if v.len() == 1 => match v[0] {
                    Some(x) => e.samples.push((l, x)),
                    None => {
                        e.skip.get_or_insert(format!("expected line {def:?}"));
                    }
                },
                // The first reason (a range query, say) is the one to report.
                _ => {
                    e.skip.get_or_insert(format!("expected line {def:?}"));
                }
            }
        }
        if start_timestamps {
            e.skip = Some("start timestamps (@st)".into());
        }
        let outcome = match at {
            Some(at) => run_case(&store, at, &expr, &e),
            None => Outcome::Skip("eval time".into()),
        };
        cases.push(Case {
            line: start_line,
            expr,
            outcome,
        });
    }
    cases
}

#[test]
fn our_files() {
    insta::glob!("data/promql/*.test", |path| {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        let mut report = String::new();
        for c in run_file(&text) {
            let verdict = match &c.outcome {
                Outcome::Pass => "PASS".to_string(),
                Outcome::Fail(why) => format!("FAIL: {why}"),
                Outcome::Skip(why) => format!("SKIP: {why}"),
            };
            let _ = writeln!(report, "line {}: {}\n  {verdict}", c.line, c.expr);
        }
        insta::assert_snapshot!(report);
    });
}

/// `PROMQL_TESTDATA` as scripts/test-env prints it, else the Go module
/// cache's copy of the module.
fn prometheus_testdata() -> PathBuf {
    if let Some(dir) = std::env::var_os("PROMQL_TESTDATA").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    let cache = std::env::var("GOMODCACHE")
        .ok()
        .filter(|s| !s.is_empty())
        .or_else(|| {
            std::process::Command::new("go")
                .args(["env", "GOMODCACHE"])
                .output()
                .ok()
                .and_then(|o| String::from_utf8(o.stdout).ok())
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
        })
        .unwrap_or_else(|| format!("{}/go/pkg/mod", std::env::var("HOME").unwrap_or_default()));
    Path::new(&cache).join(PROMETHEUS)
}

#[test]
fn prometheus_conformance() {
    let dir = prometheus_testdata();
    let Ok(entries) = std::fs::read_dir(&dir) else {
        panic!(
            "Prometheus's promqltest files are missing at {}: run scripts/test-env to fetch the Go module",
            dir.display()
        );
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "test"))
        .collect();
    files.sort();
    let (mut passed, mut failed, mut skipped, mut divergent) = (0, 0, 0, 0);
    let mut failures = Vec::new();
    let mut reasons: BTreeMap<String, usize> = BTreeMap::new();
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap_or_default();
        let name = f
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default();
        let (mut p, mut fl, mut s, mut d) = (0, 0, 0, 0);
        for c in run_file(&text) {
            let known = KNOWN_DIVERGENCES
                .iter()
                .find(|k| k.0 == name && k.1 == c.line);
            match c.outcome {
                Outcome::Fail(why) if known.is_some() => {
                    d += 1;
                    let reason = known.map(|k| k.2).unwrap_or_default();
                    println!(
                        "divergent ({reason}) {name}:{}: {}\n    {why}",
                        c.line, c.expr
                    );
                }
                Outcome::Pass => p += 1,
                Outcome::Fail(why) => {
                    fl += 1;
                    failures.push(format!("{name}:{}: {}\n    {why}", c.line, c.expr));
                }
                Outcome::Skip(why) => {
                    s += 1;
                    // Group reasons by their kind, not their detail.
                    let kind = why.split('"').next().unwrap_or_default();
                    *reasons.entry(kind.chars().take(60).collect()).or_insert(0) += 1;
                }
            }
        }
        println!("{name:32} passed {p:4}  failed {fl:4}  skipped {s:4}  divergent {d}");
        divergent += d;
        passed += p;
        failed += fl;
        skipped += s;
    }
    let rate = 100.0 * passed as f64 / (passed + failed + divergent).max(1) as f64;
    println!(
        "overall: passed {passed}, failed {failed}, skipped {skipped}, known divergences {divergent}, pass rate {rate:.1}%"
    );
    let mut by_count: Vec<(&String, &usize)> = reasons.iter().collect();
    by_count.sort_by(|a, b| b.1.cmp(a.1));
    for (why, n) in by_count.iter().take(15) {
        println!("skipped {n:5}  {why}");
    }
    let shown: Vec<&String> = failures.iter().take(20).collect();
    assert!(
        failures.is_empty(),
        "{} supported cases disagree with Prometheus; the first:\n{}",
        failures.len(),
        shown
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert!(
        passed >= PASSED_AT_LEAST,
        "only {passed} conformance cases passed, below the floor {PASSED_AT_LEAST}"
    );
}

/// A `promtool test rules` file, the parts the oracle files use.
#[derive(serde::Deserialize)]
struct RulesTest {
    tests: Vec<RulesGroup>,
}

#[derive(serde::Deserialize)]
struct RulesGroup {
    interval: Option<String>,
    input_series: Vec<InputSeries>,
    promql_expr_test: Vec<ExprTest>,
}

#[derive(serde::Deserialize)]
struct InputSeries {
    series: String,
    values: String,
}

#[derive(serde::Deserialize)]
struct ExprTest {
    expr: String,
    eval_time: String,
    exp_samples: Option<Vec<ExpSample>>,
}

#[derive(serde::Deserialize)]
struct ExpSample {
    labels: String,
    value: f64,
}

fn oracle_files() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/promql/oracle");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    files.retain(|p| p.extension().is_some_and(|x| x == "yml"));
    files.sort();
    assert!(!files.is_empty(), "no oracle files in {}", dir.display());
    files
}

/// Every promtool oracle file, evaluated by this evaluator: the expected
/// samples (which `promtool_confirms_oracle_files` checks against the real
/// promtool) must come out.
#[test]
fn oracle_files_with_our_evaluator() {
    let mut failures = Vec::new();
    for f in oracle_files() {
        let text = std::fs::read_to_string(&f).unwrap_or_default();
        let file: RulesTest =
            serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        for g in &file.tests {
            let interval = g
                .interval
                .as_deref()
                .and_then(parse_duration)
                .unwrap_or(60_000);
            let mut store = Store::new();
            for s in &g.input_series {
                let labels = parse_metric(&s.series).map(|(l, _)| l);
                let vals = expand(&s.values);
                let (Some(labels), Some(vals)) = (labels, vals) else {
                    panic!("{}: cannot read series {:?}", f.display(), s.series);
                };
                let samples = vals
                    .into_iter()
                    .enumerate()
                    .filter_map(|(j, v)| v.map(|v| (j as i64 * interval, v)))
                    .collect();
                store.add(labels, samples);
            }
            for t in &g.promql_expr_test {
                let at = parse_duration(&t.eval_time).unwrap_or_default();
                let e = Expect {
                    samples: t
                        .exp_samples
                        .iter()
                        .flatten()
                        .filter_map(|s| parse_metric(&s.labels).map(|(l, _)| (l, s.value)))
                        .collect(),
                    ..Expect::default()
                };
                let name = f.file_name().unwrap_or_default().to_string_lossy();
                match run_case(&store, at, &t.expr, &e) {
                    Outcome::Pass => {}
                    other => {
                        failures.push(format!("{name}: {} at {}: {other:?}", t.expr, t.eval_time))
                    }
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The real promtool (3.16, from scripts/test-env) passes every oracle file.
#[test]
fn promtool_confirms_oracle_files() {
    let Some(promtool) = std::env::var_os("PROMTOOL").filter(|p| !p.is_empty()) else {
        panic!(
            "PROMTOOL is not set: run the tests through scripts/test (or eval \"$(scripts/test-env --print)\")"
        );
    };
    for f in oracle_files() {
        let out = std::process::Command::new(&promtool)
            .arg("test")
            .arg("rules")
            .arg(&f)
            .output()
            .unwrap_or_else(|e| panic!("running {}: {e}", Path::new(&promtool).display()));
        assert!(
            out.status.success(),
            "promtool disagrees with {}:\n{}{}",
            f.display(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
