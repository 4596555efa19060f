//! Fuzzing the front end (parse + check) with proptest, on stable Rust.
//!
//! Inputs come from three generators: token-level mutations of a corpus of
//! valid programs, a grammar-directed generator of well-formed but mostly
//! ill-typed programs, and (less often) random bytes. Every input must
//! compile without panicking, within a time budget, and produce well-formed
//! diagnostics; files that parse must format idempotently (see
//! [`check_input`]).
//!
//! `cargo test --test fuzz` runs a few hundred cases per generator. A long
//! run loops until the time is up and prints figures:
//!
//! ```text
//! FUZZ_SECONDS=600 cargo test --release --test fuzz fuzz_timed -- --nocapture
//! ```
//!
//! Environment: `FUZZ_SEED` (u64, else random; printed), `FUZZ_CASE_MS`
//! (time budget per case), `FUZZ_HANG_SECS` (watchdog: a case running this
//! long aborts the run and prints the input), `FUZZ_LAST` (a path: each input
//! is written there before it runs, to recover it after a stack overflow).
//! Failures are shrunk and their seeds kept in `tests/fuzz.proptest-regressions`; the
//! minimal inputs of fixed bugs are in [`REGRESSIONS`].

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::Write as _;
use std::sync::{Mutex, Once, OnceLock};
use std::thread::ThreadId;
use std::time::{Duration, Instant};

use autopilot::compile::{Compiled, compile};
use autopilot::diagnostic::{Label, Style, render_all};
use autopilot::ir::{self, ExprKind, TemplatePart, Value};
use autopilot::source::{FileId, SourceMap, Span};
use autopilot::syntax::fmt::format_source;
use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::{
    Config, FileFailurePersistence, RngSeed, TestCaseError, TestError, TestRunner,
};

// ---------------------------------------------------------------- corpus

/// Valid programs: the examples of docs/language.md section 13, and snippets that
/// together use every clause, action, unit and string feature.
const CORPUS: &[&str] = &[
    "when pvc.usage > 50% for 5m then resize(+100%, max=400Gi)\n",
    r#"policy grow_postgres {
  on pvc where pvc.labels.app == "postgres" and namespace.labels.tier == "db"
  when pvc.usage > 80% or pvc.inodes_usage > 80% for 10m
  then resize(+50%, max = 1Ti, min_step = 10Gi), notify("oncall", "{pvc.name} grown")
  cooldown 1h
  at_most 3 per 1h
}
"#,
    r#"metric pvc.pg_write_latency : duration =
  `histogram_quantile(0.99, sum by (namespace, persistentvolumeclaim, le) (rate(pg_io_write_seconds_bucket[5m])))`

policy faster_disk_when_slow {
  on pvc where pvc.storage_class == "standard"
  when pvc.pg_write_latency > 20ms for 15m
  then set_class("fast-iops")
  mode approve
}
"#,
    r#"# Constants shared by the policies below.
let ceiling = 2Ti
let tiers = ["db", "cache"]
let busy = 85%

policy grow_with_lets {
  on pvc where namespace.labels.tier in tiers and pvc.labels["app.kubernetes.io/name"] != "scratch"
  when pvc.usage > busy or pvc.available < 10Gi for 10m
  then resize(+50Gi, max = ceiling, min_step = 10Gi, round = 1Gi)
  cooldown 30m
  mode dry_run
  no_data reset
  window "Mon-Fri 02:00-04:00 Europe/Berlin"
  at_most 5 per 1d
}
"#,
    r#"policy set_size {
  on pvc
  when pvc.capacity < 100Gi and pvc.storage_class == "standard"
  then resize(to = 200Gi, max = 1Ti), set_class("fast-iops")
  mode approve
  window "Fri-Mon 22:00-06:00"
}
"#,
    r#"metric pod.latency : duration =
  `histogram_quantile(0.99, sum by (namespace, pod, le) (rate(http_request_duration_seconds_bucket[5m])))`
  by (namespace, pod)

policy restart_crashy {
  on pod where pod.phase == "Running" and not (pod.owner in ["batch", "cron"])
  when pod.restarts > 5 or pod.latency >= 1500ms and pod.memory > 3.5Gi for 2m
  then evict(), event("CrashLooping", "{pod.name} restarted {pod.restarts} times"), annotate("autopilot.example.com/evicted", "at {pod.age}")
  cooldown 1h
  window "02:00-04:00 America/New_York"
}
"#,
    r#"metric deployment.queue_depth : number = `sum by (namespace, deployment) (queue_depth)`

policy scale_out {
  on deployment
  when deployment.queue_depth / max(deployment.replicas, 1) > 100 for 3m
  then scale(+2, min = 1, max = 20), label("autopilot/scaled", "yes")
  no_data hold
}

policy scale_in {
  on statefulset where statefulset.ready_replicas == statefulset.replicas
  when statefulset.replicas > 3 and statefulset.age > 1w
  then scale(-1, min = 3), notify("team-db", "scaled in {statefulset.name} in {namespace.name}")
  window "Sat,Sun"
}

policy pin { on deployment when deployment.replicas < 2 then scale(to = 2) mode enforce }
"#,
    r#"metric node.pressure : number = `max by (node) (node_pressure_seconds_total)` by (node)

when node.cpu > 90% and node.memory > 90% or node.pressure > 1_000 for 15m then cordon()

policy drain_notready {
  on node
  when not node.ready and node.labels["node.kubernetes.io/instance-type"] != "spot"
  then cordon(), event("NodeNotReady", "node {node.name} is not ready; {{see runbook}}")
  at_most 1 per 1h
  window "daily 22:00-06:00 UTC"
}
"#,
    r#"let step = 10Gi * 2 + 512Mi - 1_024Ki
let lag = 1h + 30m + 15s + 500ms
let decimal = 1k + 2M + 3G + 4T + 5P + 6E
let big = 1Ei + 1Pi + 1Ti
let ratio = 50% * 10Gi
let half = 100Gi / 2
let n = 400Gi / 100Gi
let days = 2d + 1w
when pvc.used + step > pvc.capacity * 0.9 or pvc.used / pvc.capacity > 0.95 or abs(pvc.inodes_usage - 50%) < 1% for lag
then resize(+25%, max = 4Ti, min_step = half), notify("storage", "{pvc.namespace}/{pvc.name}: \"{pvc.usage}\" used\n\tsee {{docs}} \\ ok")
"#,
    r#"policy labels_and_annotations {
  on pvc where pvc.annotations["autopilot.example.com/skip"] != "true" and pvc.labels.team >= "a" and namespace.annotations.owner == "db-team" and namespace.name not in ["kube-system"]
  when pvc.usage > 70% and pvc.phase == "Bound" and pvc.volume_attributes_class != "gold" and pvc.requested <= 1Pi and pvc.age > 1d
  then resize(+10%, max = 10Ti)
  no_data reset
  window "Mon,Wed,Fri 00:00-24:00"
}
"#,
    r#"let nothing = []
when pvc.storage_class in [] or -(-5%) > -pvc.usage and min(1m, 2m, 3m) < max(1h, 2h) for 0s then resize(+1Gi, max = 1Ti)
"#,
    r#"metric pvc.iops : number = `sum by (namespace, persistentvolumeclaim) (rate(disk_ops_total[1m]))` by (namespace, persistentvolumeclaim,)
policy trailing { # a comment
  when pvc.iops > 1000 # inline
  then resize(+1Ti, max = 8Ti, round = 1Gi,), notify("x", "y",)
  on pvc where pvc.name in ["a", "b",]
}
"#,
];

// ---------------------------------------------------------------- tokens

/// Splits source into tokens that keep whitespace, so that joining them
/// gives the source back.
fn tokenize(src: &str) -> Vec<String> {
    let mut out = Vec::new();
    let chars: Vec<char> = src.chars().collect();
    let mut i = 0;
    let take = |i: &mut usize, cond: &dyn Fn(char) -> bool| {
        let start = *i;
        while *i < chars.len() && cond(chars[*i]) {
            *i += 1;
        }
        chars[start..*i].iter().collect::<String>()
    };
    while i < chars.len() {
        let c = chars[i];
        let start = i;
        let tok = if c.is_whitespace() {
            take(&mut i, &|c| c.is_whitespace())
        } else if c == '#' {
            take(&mut i, &|c| c != '\n')
        } else if c == '"' || c == '`' {
            i += 1;
            while i < chars.len() && chars[i] != c && (c == '`' || chars[i] != '\n') {
                if chars[i] == '\\' && c == '"' {
                    i += 1;
                }
                i += 1;
            }
            i = (i + 1).min(chars.len());
            chars[start..i].iter().collect()
        } else if c.is_ascii_digit() {
            take(&mut i, &|c| c.is_ascii_alphanumeric() || "._%".contains(c))
        } else if c.is_ascii_alphabetic() || c == '_' {
            take(&mut i, &|c| c.is_ascii_alphanumeric() || c == '_')
        } else if i + 1 < chars.len()
            && ["==", "!=", ">=", "<="].contains(&&*format!("{c}{}", chars[i + 1]))
        {
            i += 2;
            chars[start..i].iter().collect()
        } else {
            i += 1;
            c.to_string()
        };
        out.push(tok);
    }
    out
}

fn tokens_of(snippet: usize) -> &'static [String] {
    static TOKENS: OnceLock<Vec<Vec<String>>> = OnceLock::new();
    &TOKENS.get_or_init(|| CORPUS.iter().map(|s| tokenize(s)).collect())[snippet]
}

fn lit(words: &'static [&'static str]) -> BoxedStrategy<String> {
    prop::sample::select(words).prop_map(String::from).boxed()
}

const KEYWORDS: &[&str] = &[
    "let", "metric", "policy", "when", "for", "then", "on", "where", "cooldown", "mode", "no_data",
    "window", "at_most", "per", "by", "test", "and", "or", "not", "in", "true", "false", "not in",
];

const PUNCT: &[&str] = &[
    ">", ">=", "<", "<=", "==", "!=", "+", "-", "*", "/", "=", ",", ".", ":", "{", "}", "(", ")",
    "[", "]", "%", "#", "`", "\"", "\\", "{{", "}}", "=>", "!", "&&", "||", ";", "@", "$", "'",
];

const NAMES: &[&str] = &[
    "pvc",
    "pod",
    "deployment",
    "statefulset",
    "node",
    "namespace",
    "usage",
    "capacity",
    "labels",
    "annotations",
    "name",
    "age",
    "phase",
    "replicas",
    "ready",
    "storage_class",
    "inodes_usage",
    "used",
    "available",
    "cpu",
    "memory",
    "restarts",
    "resize",
    "notify",
    "scale",
    "set_class",
    "evict",
    "cordon",
    "annotate",
    "label",
    "event",
    "min",
    "max",
    "abs",
    "to",
    "min_step",
    "round",
    "enforce",
    "dry_run",
    "approve",
    "hold",
    "reset",
    "percent",
    "bytes",
    "duration",
    "number",
    "string",
    "x",
    "_",
    "foo",
    "Pvc",
    "pvc.usage",
    "pvc.labels.app",
    "namespace.labels.tier",
    "pvc.labels[\"a.b/c\"]",
    "pod.owner",
];

const UNITS: &[&str] = &[
    "", "", "%", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei", "k", "M", "G", "T", "P", "E", "ms", "s", "m",
    "h", "d", "w", "GB", "min", "mins", "hours", "b", "KiB", "gi", "%%", "x", "_", "e5", "sec",
    "us", "ns", "Gi%",
];

const UNICODE: &[&str] = &[
    "é",
    "ß",
    "中文",
    "\u{3000}",
    "\u{2028}",
    "\u{feff}",
    "\u{200b}",
    "🚀",
    "\u{0}",
    "\r",
    "\r\n",
    "\t",
    "e\u{301}",
    "\u{10ffff}",
    "ǅ",
    "İ",
    "\u{85}",
    "\u{a0}",
];

/// PromQL, well-formed or not, for the inside of backticks.
const PROMQL: &[&str] = &[
    "kubelet_volume_stats_used_bytes",
    "sum by (namespace, persistentvolumeclaim) (x)",
    "100 * kubelet_volume_stats_used_bytes / kubelet_volume_stats_capacity_bytes",
    "rate(x[5m])",
    "x[5m]",
    "1",
    "\"str\"",
    "sum(x)",
    "sum(rate(x[5m])",
    "sum by (namespace) (x)",
    "topk(3, x)",
    "max by (node) (node_load1)",
    "x{a=\"b\", c=~\"d.*\"}",
    "x{",
    "x offset -5m",
    "x @ 1609746000",
    "histogram_quantile(0.99, sum by (le, namespace, pod) (rate(h_bucket[5m])))",
    "x[99999999999999999999y]",
    "x[0s]",
    "x[5m:1m]",
    "x\u{3000}",
    "x\u{2028}",
    "é",
    "x +",
    "+",
    "-x",
    "--x",
    "(x",
    "x)",
    "x ) (",
    "scalar(x)",
    "vector(1)",
    "label_replace(x, \"a\", \"$1\", \"b\", \"(.*)\")",
    "x and on (namespace) y",
    "x / ignoring (a) group_left y",
    "count_values(\"v\", x)",
    "quantile(0.5, x)",
    "absent(x)",
    "time()",
    "# comment\nx",
    "x # trailing",
    " ",
    "",
    "1e400",
    "0x1f",
    "Inf",
    "NaN",
    "x[5m] offset 1h",
    "sum without (pod) (x)",
    "{__name__=\"x\"}",
    "'single'",
    "`",
];

fn digits(n: usize, d: char) -> String {
    std::iter::repeat_n(d, n).collect()
}

fn number() -> BoxedStrategy<String> {
    prop_oneof![
        6 => "[0-9]{1,4}",
        3 => "[0-9]{1,3}\\.[0-9]{1,3}",
        2 => "[0-9]{1,2}(_[0-9]{3}){1,3}",
        1 => "[0-9]+_*\\.?_?[0-9]*",
        1 => (300usize..420).prop_map(|n| digits(n, '9')),
        1 => (300usize..420).prop_map(|n| format!("1{}", digits(n, '0'))),
        1 => (300usize..420).prop_map(|n| format!("0.{}1", digits(n, '0'))),
        1 => Just("18446744073709551616".to_string()),
    ]
    .boxed()
}

fn quantity() -> BoxedStrategy<String> {
    (number(), lit(UNITS)).prop_map(|(n, u)| n + &u).boxed()
}

/// Strings: interpolation, literal braces, escapes good and bad, unicode,
/// and now and then no closing quote.
fn string() -> BoxedStrategy<String> {
    let part = prop_oneof![
        4 => "[a-zA-Z0-9 _./:-]{0,12}",
        2 => lit(&[
            "{pvc.name}", "{pvc.usage}", "{pod.restarts}", "{namespace.name}", "{pvc.labels.app}",
            "{pvc.labels[\"a.b/c\"]}", "{x}", "{pvc}", "{pvc.nope}", "{pvc.labels}",
            "{namespace.labels.tier}", "{pod.name}", "{node.name}", "{tiers}", "{busy}",
            "{ pvc.name }", "{pvc.labels[\"{pvc.name}\"]}", "{1}", "{}",
        ]),
        2 => lit(&["{{", "}}", "{", "}", "{{{", "}}}"]),
        2 => lit(&["\\\"", "\\\\", "\\n", "\\t", "\\x", "\\u{41}", "\\é", "\\{", "\\", "\\\n"]),
        1 => lit(UNICODE),
        1 => lit(&["Mon-Fri", "02:00-04:00", "Europe/Berlin", "Sat,Sun", "daily", "25:00-04:00",
                   "Mon-Xyz", "UTC", "Europe/Berln", "Fri-Mon", "00:00-00:00", "9:5-1:1"]),
    ];
    (prop::collection::vec(part, 0..5), prop::bool::weighted(0.9))
        .prop_map(|(parts, closed)| {
            let body: String = parts.concat();
            if closed {
                format!("\"{body}\"")
            } else {
                format!("\"{body}")
            }
        })
        .boxed()
}

fn promql() -> BoxedStrategy<String> {
    let body = prop_oneof![
        4 => lit(PROMQL),
        2 => prop::collection::vec(lit(PROMQL), 1..4).prop_map(|v| v.join(" + ")),
        1 => (lit(PROMQL), 1usize..200).prop_map(|(q, n)| format!("{}{q}{}", "(".repeat(n), ")".repeat(n))),
        1 => (lit(PROMQL), 1usize..200).prop_map(|(q, n)| format!("{}{q}", "-".repeat(n))),
        1 => "[ -~\n]{0,40}",
    ];
    (body, prop::bool::weighted(0.9))
        .prop_map(|(q, closed)| {
            if closed {
                format!("`{q}`")
            } else {
                format!("`{q}")
            }
        })
        .boxed()
}

fn ident() -> BoxedStrategy<String> {
    prop_oneof![4 => lit(NAMES), 1 => "[a-z_][a-z0-9_]{0,8}", 1 => "[A-Za-z0-9_]{1,6}"].boxed()
}

/// One token to insert or replace with.
fn vocab() -> BoxedStrategy<String> {
    prop_oneof![
        3 => lit(KEYWORDS),
        3 => lit(PUNCT),
        3 => ident(),
        3 => quantity(),
        2 => string(),
        2 => promql(),
        1 => lit(UNICODE),
        1 => lit(&[" ", "\n", "\t", "# comment\n", "#", "\n\n"]),
    ]
    .boxed()
}

// ---------------------------------------------------------------- mutations

#[derive(Clone, Copy, Debug)]
enum Nest {
    Paren,
    OpenParen,
    Bracket,
    Call,
    Not,
    Neg,
    StringKey,
}

#[derive(Clone, Debug)]
enum Mutation {
    Delete(Index),
    DeleteRange(Index, usize),
    Duplicate(Index, usize),
    Swap(Index, Index),
    Insert(Index, String),
    Replace(Index, String),
    Nest(Index, Nest, usize),
    Splice(Index, usize, Index, usize),
    Truncate(Index),
    /// Replaces a token with another of its class: quantity, string,
    /// PromQL, name or operator (one candidate of each is drawn).
    Respell(Index, Box<[String; 5]>),
}

fn nest_depth() -> BoxedStrategy<usize> {
    prop_oneof![
        8 => 1usize..8,
        4 => 55usize..75,
        4 => 120usize..140,
        2 => 0usize..400,
        1 => 400usize..5000,
    ]
    .boxed()
}

fn mutation() -> BoxedStrategy<Mutation> {
    let nest = prop_oneof![
        Just(Nest::Paren),
        Just(Nest::OpenParen),
        Just(Nest::Bracket),
        Just(Nest::Call),
        Just(Nest::Not),
        Just(Nest::Neg),
        Just(Nest::StringKey),
    ];
    prop_oneof![
        3 => any::<Index>().prop_map(Mutation::Delete),
        1 => (any::<Index>(), 1usize..8).prop_map(|(i, n)| Mutation::DeleteRange(i, n)),
        2 => (any::<Index>(), 1usize..4).prop_map(|(i, n)| Mutation::Duplicate(i, n)),
        2 => (any::<Index>(), any::<Index>()).prop_map(|(i, j)| Mutation::Swap(i, j)),
        4 => (any::<Index>(), vocab()).prop_map(|(i, t)| Mutation::Insert(i, t)),
        4 => (any::<Index>(), vocab()).prop_map(|(i, t)| Mutation::Replace(i, t)),
        2 => (any::<Index>(), nest, nest_depth()).prop_map(|(i, k, n)| Mutation::Nest(i, k, n)),
        2 => (any::<Index>(), 0..CORPUS.len(), any::<Index>(), 1usize..20)
            .prop_map(|(i, s, j, n)| Mutation::Splice(i, s, j, n)),
        1 => any::<Index>().prop_map(Mutation::Truncate),
        8 => (any::<Index>(), quantity_g(), string_g(), promql(), ident(), lit(BINOPS))
            .prop_map(|(i, q, s, p, n, o)| Mutation::Respell(i, Box::new([q, s, p, n, o]))),
    ]
    .boxed()
}

fn apply(tokens: &mut Vec<String>, m: &Mutation) {
    let len = tokens.len();
    if len == 0 {
        if let Mutation::Insert(_, t) | Mutation::Replace(_, t) = m {
            tokens.push(t.clone());
        }
        return;
    }
    match m {
        Mutation::Delete(i) => {
            tokens.remove(i.index(len));
        }
        Mutation::DeleteRange(i, n) => {
            let at = i.index(len);
            tokens.drain(at..(at + n).min(len));
        }
        Mutation::Duplicate(i, n) => {
            let at = i.index(len);
            for _ in 0..*n {
                tokens.insert(at, tokens[at].clone());
            }
        }
        Mutation::Swap(i, j) => tokens.swap(i.index(len), j.index(len)),
        Mutation::Insert(i, t) => tokens.insert(i.index(len + 1), t.clone()),
        Mutation::Replace(i, t) => tokens[i.index(len)] = t.clone(),
        Mutation::Nest(i, kind, n) => {
            let at = i.index(len);
            let (open, close) = match kind {
                Nest::Paren => ("(", ")"),
                Nest::OpenParen => ("(", ""),
                Nest::Bracket => ("[", "]"),
                Nest::Call => ("abs(", ")"),
                Nest::Not => ("not ", ""),
                Nest::Neg => ("-", ""),
                Nest::StringKey => ("\"{pvc.labels[", "]}\""),
            };
            tokens[at] = format!("{}{}{}", open.repeat(*n), tokens[at], close.repeat(*n));
        }
        Mutation::Splice(i, s, j, n) => {
            let other = tokens_of(*s);
            let from = j.index(other.len());
            let piece = other[from..(from + n).min(other.len())].to_vec();
            let at = i.index(len + 1);
            tokens.splice(at..at, piece);
        }
        Mutation::Truncate(i) => tokens.truncate(i.index(len)),
        Mutation::Respell(i, with) => {
            let class = |t: &str| {
                let c = t.chars().next()?;
                Some(match c {
                    '0'..='9' => 0,
                    '"' => 1,
                    '`' => 2,
                    'a'..='z' | '_' if !KEYWORDS.contains(&t) => 3,
                    _ if BINOPS.contains(&t) => 4,
                    _ => return None,
                })
            };
            let spots: Vec<(usize, usize)> = tokens
                .iter()
                .enumerate()
                .filter_map(|(at, t)| Some((at, class(t)?)))
                .collect();
            if !spots.is_empty() {
                let (at, class) = spots[i.index(spots.len())];
                tokens[at] = with[class].clone();
            }
        }
    }
}

/// A corpus snippet with token mutations applied; sometimes split into two
/// files at a token boundary, so that diagnostics can span files.
fn mutated() -> BoxedStrategy<Vec<String>> {
    (
        0..CORPUS.len(),
        prop_oneof![
            4 => prop::collection::vec(mutation(), 1..2),
            2 => prop::collection::vec(mutation(), 2..4),
            1 => prop::collection::vec(mutation(), 4..8),
        ],
        prop::option::weighted(0.15, (0..CORPUS.len(), any::<Index>())),
    )
        .prop_map(|(snippet, ms, split)| {
            let mut tokens = tokens_of(snippet).to_vec();
            for m in &ms {
                apply(&mut tokens, m);
            }
            match split {
                None => vec![tokens.concat()],
                Some((other, at)) => {
                    // A second file: another snippet, or the rest of this one.
                    let at = at.index(tokens.len() + 1);
                    let rest = tokens.split_off(at).concat();
                    let second = if rest.trim().is_empty() {
                        CORPUS[other].to_string()
                    } else {
                        rest
                    };
                    vec![tokens.concat(), second]
                }
            }
        })
        .boxed()
}

fn random_input() -> BoxedStrategy<Vec<String>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..300)
            .prop_map(|b| String::from_utf8_lossy(&b).into_owned()),
        "[ -~\n\t]{0,300}",
        ".{0,100}",
        prop::collection::vec(vocab(), 0..40).prop_map(|v| v.join(" ")),
    ]
    .prop_map(|s| vec![s])
    .boxed()
}

// ---------------------------------------------------------------- grammar-directed

/// A quantity that lexes: mostly a known unit, now and then anything.
fn quantity_g() -> BoxedStrategy<String> {
    let unit = lit(&[
        "", "", "", "%", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei", "k", "M", "G", "T", "P", "E", "ms",
        "s", "m", "h", "d", "w",
    ]);
    let num = prop_oneof![6 => "[0-9]{1,3}", 2 => "[0-9]\\.[0-9]{1,2}", 1 => "[0-9]{1,2}_000"];
    prop_oneof![40 => (num, unit).prop_map(|(n, u)| n + &u), 1 => quantity()].boxed()
}

/// A string that lexes: closed, with known escapes, mostly.
fn string_g() -> BoxedStrategy<String> {
    let part = prop_oneof![
        4 => "[a-zA-Z0-9 _./:-]{0,12}",
        2 => lit(&[
            "{pvc.name}", "{pvc.usage}", "{pod.restarts}", "{namespace.name}", "{pvc.labels.app}",
            "{pvc.labels[\"a.b/c\"]}", "{x}", "{pvc}", "{pvc.nope}", "{pvc.labels}", "{l0}",
            "{namespace.labels.tier}", "{pod.name}", "{node.name}", "{pvc.capacity}",
        ]),
        1 => lit(&["{{", "}}", "\\\"", "\\\\", "\\n", "\\t", "é", "中"]),
        1 => lit(&[
            "Mon-Fri", "02:00-04:00", "Europe/Berlin", "Sat,Sun", "daily", "25:00-04:00",
            "Mon-Xyz", "UTC", "Europe/Berln", "Fri-Mon", "00:00-00:00", " ", "CrashLoop",
            "autopilot.io/key", "Bad Key!",
        ]),
    ];
    prop_oneof![
        40 => prop::collection::vec(part, 0..5).prop_map(|p| format!("\"{}\"", p.concat())),
        1 => string(),
    ]
    .boxed()
}

/// A flat expression of thousands of terms.
fn long_expr() -> BoxedStrategy<String> {
    (
        1000usize..5000,
        lit(&["1", "pvc.usage", "true", "-1"]),
        lit(&[" + ", " or ", " * "]),
    )
        .prop_map(|(n, term, op)| vec![term; n].join(&op))
        .boxed()
}

const PATHS: &[&str] = &[
    "pvc.usage",
    "pvc.capacity",
    "pvc.used",
    "pvc.available",
    "pvc.inodes_usage",
    "pvc.name",
    "pvc.namespace",
    "pvc.storage_class",
    "pvc.age",
    "pvc.labels.app",
    "pvc.labels[\"app.kubernetes.io/name\"]",
    "pvc.annotations.x",
    "namespace.labels.tier",
    "namespace.name",
    "pod.cpu",
    "pod.memory",
    "pod.restarts",
    "pod.phase",
    "node.ready",
    "node.cpu",
    "deployment.replicas",
    "statefulset.ready_replicas",
    "pvc",
    "pvc.nope",
    "pvc.labels",
    "pvc.labels.a.b",
    "namespace",
    "namespace.nope",
    "pvc.usage.x",
    "l0",
    "l1",
    "l2",
    "l3",
    "x",
    "usage",
    "l0.x",
];

const BINOPS: &[&str] = &[
    "or", "and", "==", "!=", ">", ">=", "<", "<=", "in", "not in", "+", "-", "*", "/",
];

/// Random well-formed expressions: they parse, and mostly fail to type.
fn expr() -> BoxedStrategy<String> {
    let leaf = prop_oneof![
        4 => lit(PATHS),
        4 => quantity_g(),
        1 => string_g(),
        1 => lit(&["true", "false", "[]"]),
    ];
    leaf.prop_recursive(6, 48, 4, |inner| {
        prop_oneof![
            4 => (inner.clone(), lit(BINOPS), inner.clone(), any::<bool>())
                .prop_map(|(a, op, b, paren)| if paren { format!("({a} {op} {b})") } else { format!("{a} {op} {b}") }),
            1 => inner.clone().prop_map(|a| format!("not {a}")),
            1 => inner.clone().prop_map(|a| format!("-{a}")),
            1 => inner.clone().prop_map(|a| format!("({a})")),
            1 => prop::collection::vec(inner.clone(), 0..4).prop_map(|v| format!("[{}]", v.join(", "))),
            1 => (lit(&["min", "max", "abs", "foo", "resize"]), prop::collection::vec(inner, 0..4))
                .prop_map(|(f, v)| format!("{f}({})", v.join(", "))),
        ]
    })
    .boxed()
}

/// An expression, now and then wrapped in many layers.
fn deep_expr() -> BoxedStrategy<String> {
    (
        expr(),
        prop::option::weighted(
            0.08,
            (0usize..7, prop_oneof![4 => 1usize..60, 1 => nest_depth()]),
        ),
    )
        .prop_map(|(e, wrap)| match wrap {
            None => e,
            Some((kind, n)) => {
                let (open, close) = [
                    ("(", ")"),
                    ("[", "]"),
                    ("not ", ""),
                    ("-", ""),
                    ("abs(", ")"),
                    ("not -", ""),
                    ("(pvc.used + ", ")"),
                ][kind];
                format!("{}{e}{}", open.repeat(n), close.repeat(n))
            }
        })
        .boxed()
}

fn action() -> BoxedStrategy<String> {
    let arg = (
        prop::option::weighted(
            0.4,
            lit(&["max", "min", "to", "min_step", "round", "foo", "key"]),
        ),
        lit(&["", "", "+", "-"]),
        prop_oneof![3 => quantity_g(), 2 => string_g(), 1 => deep_expr()],
    )
        .prop_map(|(name, sign, value)| match name {
            Some(n) => format!("{n} = {sign}{value}"),
            None => format!("{sign}{value}"),
        });
    (
        lit(&[
            "resize",
            "scale",
            "set_class",
            "evict",
            "cordon",
            "annotate",
            "label",
            "event",
            "notify",
            "reboot",
            "max",
        ]),
        prop::collection::vec(arg, 0..5),
    )
        .prop_map(|(name, args)| format!("{name}({})", args.join(", ")))
        .boxed()
}

fn then() -> BoxedStrategy<String> {
    prop::collection::vec(action(), 1..4)
        .prop_map(|v| format!("then {}", v.join(", ")))
        .boxed()
}

fn when() -> BoxedStrategy<String> {
    (
        deep_expr(),
        prop::option::weighted(0.5, prop_oneof![quantity_g(), expr()]),
    )
        .prop_map(|(c, hold)| match hold {
            Some(h) => format!("when {c} for {h}"),
            None => format!("when {c}"),
        })
        .boxed()
}

fn clause() -> BoxedStrategy<String> {
    let kind = lit(&[
        "pvc",
        "pod",
        "deployment",
        "statefulset",
        "node",
        "pvcs",
        "namespace",
    ]);
    prop_oneof![
        2 => (kind, prop::option::of(deep_expr())).prop_map(|(k, f)| match f {
            Some(f) => format!("on {k} where {f}"),
            None => format!("on {k}"),
        }),
        3 => when(),
        3 => then(),
        1 => prop_oneof![quantity_g(), expr()].prop_map(|e| format!("cooldown {e}")),
        1 => lit(&["enforce", "dry_run", "approve", "enforced", "x"]).prop_map(|m| format!("mode {m}")),
        1 => lit(&["hold", "reset", "keep"]).prop_map(|m| format!("no_data {m}")),
        1 => string_g().prop_map(|s| format!("window {s}")),
        1 => (prop_oneof![quantity_g(), expr()], prop_oneof![quantity_g(), expr()])
            .prop_map(|(n, per)| format!("at_most {n} per {per}")),
    ]
    .boxed()
}

fn item() -> BoxedStrategy<String> {
    let name = lit(&["p", "q", "grow", "p"]);
    prop_oneof![
        3 => (name, prop::collection::vec(clause(), 0..7), any::<bool>()).prop_map(|(n, mut cs, sep)| {
            // Mostly with both required clauses.
            if sep {
                cs.push("when pvc.usage > 80%".into());
                cs.push("then resize(+10%, max = 1Ti)".into());
            }
            format!("policy {n} {{\n  {}\n}}", cs.join("\n  "))
        }),
        2 => (when(), then()).prop_map(|(w, t)| format!("{w} {t}")),
        2 => (lit(&["l0", "l1", "l2", "l3", "pvc"]), deep_expr()).prop_map(|(n, e)| format!("let {n} = {e}")),
        1 => prop::option::weighted(0.05, long_expr()).prop_map(|e| format!("let l4 = {}", e.unwrap_or_else(|| "1".into()))),
        1 => (
            lit(&["pvc", "pod", "node", "deployment", "statefulset", "nope"]),
            lit(&["usage", "x", "capacity", "labels", "lat"]),
            lit(&["percent", "bytes", "duration", "number", "string"]),
            promql(),
            prop::option::weighted(0.3, prop::collection::vec(ident(), 1..4)),
        )
            .prop_map(|(k, n, t, q, by)| match by {
                Some(by) => format!("metric {k}.{n} : {t} = {q} by ({})", by.join(", ")),
                None => format!("metric {k}.{n} : {t} = {q}"),
            }),
    ]
    .boxed()
}

/// A web of `let`s referring to each other, in any order, used by a rule.
fn let_web() -> BoxedStrategy<Vec<String>> {
    let op = prop_oneof![
        6 => Just("+"),
        2 => Just("-"),
        1 => prop::sample::select(&["*", "/", "and", ">", "min", "in"][..]),
    ];
    let n = 2usize..60;
    let web = n
        .prop_flat_map(move |n| {
            let refs = prop::collection::vec((0..n, op.clone()), 1..4);
            (
                Just(n),
                prop::collection::vec(refs, n),
                lit(&["pvc.usage", "pvc.used", "1", "5%", "pvc.labels.a"]),
            )
        })
        .prop_map(|(n, refs, base)| {
            let mut out = format!("let c{} = {base}\n", n);
            for (i, rs) in refs.iter().enumerate() {
                let mut e = String::new();
                for (k, (r, op)) in rs.iter().enumerate() {
                    // Mostly refer to a later let, so that lets nest.
                    let target = if r % 5 == 0 {
                        *r
                    } else {
                        (i + 1 + r % 3).min(n)
                    };
                    e = match (k, *op) {
                        (0, _) => format!("c{target}"),
                        (_, "min") => format!("min({e}, c{target})"),
                        (_, "in") => format!("{e} in [c{target}]"),
                        (_, op) => format!("{e} {op} c{target}"),
                    };
                }
                out += &format!("let c{i} = {e}\n");
            }
            out += "when c0 > 1% then resize(+1%, max = 1Gi)\n";
            vec![out]
        });
    // A long chain `c0 = c1`, `c1 = c2`, …, written in either order.
    // Shorter in debug builds, which are ten times slower.
    let longest = if cfg!(debug_assertions) {
        5_000
    } else {
        20_000
    };
    let chain = (1000usize..longest, any::<bool>(), lit(&["", "-", "not "]))
        .prop_map(|(n, forward, wrap)| vec![let_chain(n, &wrap, forward)]);
    prop_oneof![6 => web, 1 => chain].boxed()
}

fn grammar_input() -> BoxedStrategy<Vec<String>> {
    prop_oneof![
        5 => prop::collection::vec(prop::collection::vec(item(), 0..6).prop_map(|v| v.join("\n")), 1..3),
        1 => let_web(),
    ]
    .boxed()
}

/// Inputs of all generators, each named for the figures.
fn any_input() -> BoxedStrategy<(&'static str, Vec<String>)> {
    prop_oneof![
        6 => mutated().prop_map(|f| ("mutated corpus", f)),
        3 => grammar_input().prop_map(|f| ("grammar-directed", f)),
        1 => random_input().prop_map(|f| ("random", f)),
    ]
    .boxed()
}

// ---------------------------------------------------------------- properties

/// What compiling an input gave; the order of the figures' columns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Outcome {
    ParseError = 0,
    CheckError = 1,
    Valid = 2,
}

fn case_budget() -> Duration {
    // A hang detector, not a speed goal (benches/scaling.rs holds the
    // bounds): a debug build is about ten times slower, and shares two cores
    // with the other tests; the largest regression case takes about 20 s there.
    let default = if cfg!(debug_assertions) {
        60_000
    } else {
        2_000
    };
    Duration::from_millis(env_u64("FUZZ_CASE_MS").unwrap_or(default))
}

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| v.parse().ok())
}

type Running = HashMap<ThreadId, (Instant, Vec<String>)>;

/// The case each thread is running, for the watchdog.
fn running() -> &'static Mutex<Running> {
    static RUNNING: OnceLock<Mutex<Running>> = OnceLock::new();
    RUNNING.get_or_init(|| {
        let hang = Duration::from_secs(env_u64("FUZZ_HANG_SECS").unwrap_or(60));
        std::thread::spawn(move || {
            loop {
                std::thread::sleep(Duration::from_millis(500));
                let map = running().lock().unwrap_or_else(|e| e.into_inner());
                if let Some((_, files)) = map.values().find(|(t, _)| t.elapsed() > hang) {
                    // Straight to stderr: the test harness would capture eprintln!.
                    let _ = writeln!(
                        std::io::stderr(),
                        "fuzz: a case has run for over {hang:?}; input:\n{files:#?}"
                    );
                    std::process::exit(101);
                }
            }
        });
        Mutex::new(HashMap::new())
    })
}

/// Prints each panic location once per thread: shrinking re-runs a failing case
/// hundreds of times, and proptest reports the message with the input.
fn quiet_panics() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let seen = Mutex::new(HashSet::new());
        std::panic::set_hook(Box::new(move |info| {
            let at = info.location().map(|l| l.to_string()).unwrap_or_default();
            let key = (std::thread::current().id(), at.clone());
            let new = seen.lock().unwrap_or_else(|e| e.into_inner()).insert(key);
            if new {
                let payload = info.payload();
                let msg = payload
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| payload.downcast_ref::<String>().cloned())
                    .unwrap_or_default();
                eprintln!("panic at {at}: {msg}");
            }
        }));
    });
}

/// Compiles one input and checks every property; returns what it was.
fn check_input(files: &[String]) -> Result<(Outcome, Vec<&'static str>), TestCaseError> {
    quiet_panics();
    if let Ok(path) = std::env::var("FUZZ_LAST") {
        let _ = std::fs::write(path, format!("{files:#?}"));
    }
    let me = std::thread::current().id();
    running()
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(me, (Instant::now(), files.to_vec()));
    let start = Instant::now();
    let result = check_compiled(files);
    let elapsed = start.elapsed();
    running()
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .remove(&me);
    let out = result?;
    prop_assert!(
        elapsed < case_budget(),
        "took {elapsed:?}, over the budget of {:?}",
        case_budget()
    );
    Ok(out)
}

fn check_compiled(files: &[String]) -> Result<(Outcome, Vec<&'static str>), TestCaseError> {
    let named = files
        .iter()
        .enumerate()
        .map(|(i, f)| (format!("f{i}.apr"), f.clone()))
        .collect();
    let c = compile(named);
    let known = autopilot::check::all_codes();
    for d in &c.diagnostics {
        prop_assert!(
            d.code.starts_with("apr::") && d.code.len() > 5,
            "bad code {:?}",
            d.code
        );
        prop_assert!(
            known.contains(&d.code),
            "code {} is not in all_codes()",
            d.code
        );
        prop_assert!(!d.message.is_empty(), "{}: empty message", d.code);
        prop_assert!(
            d.help.as_deref().is_some_and(|h| !h.trim().is_empty()),
            "{}: no help ({:?})",
            d.code,
            d.message
        );
        for label in std::iter::once(&d.primary).chain(&d.secondary) {
            check_label(&c.sources, label)
                .map_err(|e| TestCaseError::fail(format!("{} {:?}: {e}", d.code, d.message)))?;
        }
    }
    let rendered = render_all(&c.sources, &c.diagnostics, Style::PLAIN);
    prop_assert!(c.diagnostics.is_empty() || !rendered.is_empty());
    let codes: Vec<&'static str> = c.diagnostics.iter().map(|d| d.code).collect();
    let mut parsed = true;
    for (i, text) in files.iter().enumerate() {
        parsed &= check_fmt(FileId(i as u32), text)?;
    }
    let outcome = if !parsed {
        Outcome::ParseError
    } else if c.has_errors() {
        Outcome::CheckError
    } else {
        check_program(&c)?;
        Outcome::Valid
    };
    Ok((outcome, codes))
}

/// For a file that parses without errors: formatting keeps its meaning and
/// comments (`format_source` checks both) and is idempotent. False when the
/// file does not parse.
fn check_fmt(file: FileId, text: &str) -> Result<bool, TestCaseError> {
    let (_, diags) = autopilot::syntax::parse(file, text);
    if diags.iter().any(|d| d.is_error()) {
        return Ok(false);
    }
    let once = match format_source(file, text) {
        Ok(out) => out,
        // Refused only because an anonymous rule or a disable comment would
        // move (its name or target is a line): the layout passed every other
        // check, and must itself be stable.
        Err(diags) if autopilot::syntax::fmt::refused_only_for_moves(&diags) => {
            autopilot::syntax::fmt::format(text, &autopilot::syntax::parse(file, text).0)
        }
        Err(diags) => {
            let what: Vec<&str> = diags.iter().map(|d| d.message.as_str()).collect();
            return Err(TestCaseError::fail(format!(
                "fmt refused a clean file: {what:?}"
            )));
        }
    };
    match format_source(file, &once) {
        Ok(twice) => prop_assert_eq!(twice, once, "fmt is not idempotent"),
        Err(diags) => {
            let what: Vec<&str> = diags.iter().map(|d| d.message.as_str()).collect();
            return Err(TestCaseError::fail(format!(
                "fmt refused its own output: {what:?}"
            )));
        }
    }
    Ok(true)
}

fn check_span(sources: &SourceMap, span: Span) -> Result<(), String> {
    if !sources.ids().any(|id| id == span.file) {
        return Err(format!("span {span:?} in unknown file {:?}", span.file));
    }
    let text = &sources.get(span.file).text;
    let (s, e) = (span.start as usize, span.end as usize);
    if s > e || e > text.len() {
        return Err(format!(
            "span {s}..{e} outside a text of {} bytes",
            text.len()
        ));
    }
    if !text.is_char_boundary(s) || !text.is_char_boundary(e) {
        return Err(format!("span {s}..{e} not on char boundaries of {text:?}"));
    }
    Ok(())
}

fn check_label(sources: &SourceMap, label: &Label) -> Result<(), String> {
    check_span(sources, label.span)
}

/// For programs without errors: `explain` and the IR display, the IR's
/// spans are in the text, and its numbers are finite.
fn check_program(c: &Compiled) -> Result<(), TestCaseError> {
    let program = &c.checked.program;
    let mut bad = None;
    for p in &program.policies {
        check_span(&c.sources, p.span).map_err(TestCaseError::fail)?;
        let explained = autopilot::report::explain::explain(&c.sources, program, p);
        prop_assert!(explained.contains(&p.name));
        let mut exprs: Vec<&ir::Expr> = vec![&p.condition];
        exprs.extend(&p.filter);
        for a in &p.actions {
            if let ir::ActionKind::Annotate { value: t, .. }
            | ir::ActionKind::Label { value: t, .. }
            | ir::ActionKind::Event { message: t, .. }
            | ir::ActionKind::Notify { message: t, .. } = &a.kind
            {
                for part in &t.parts {
                    if let TemplatePart::Value(e) = part {
                        exprs.push(e);
                    }
                }
            }
        }
        for e in exprs {
            let shown = ir::show(program, p.kind, e);
            prop_assert!(!shown.is_empty());
            walk(e, &mut |x| {
                if bad.is_none() {
                    if let Err(msg) = check_span(&c.sources, x.span) {
                        bad = Some(msg);
                    } else if let ExprKind::Const(Value::Num(n)) = &x.kind
                        && !n.is_finite()
                    {
                        bad = Some(format!("constant {n} in `{shown}`"));
                    }
                }
            });
        }
        for n in [p.hold, p.cooldown] {
            prop_assert!(n <= ir::Millis::MAX, "{}: duration {n}", p.name);
        }
    }
    match bad {
        Some(msg) => Err(TestCaseError::fail(msg)),
        None => Ok(()),
    }
}

fn walk<'a>(e: &'a ir::Expr, f: &mut impl FnMut(&'a ir::Expr)) {
    f(e);
    match &e.kind {
        ExprKind::Not(x) | ExprKind::Neg(x) => walk(x, f),
        ExprKind::Binary { lhs, rhs, .. } => {
            walk(lhs, f);
            walk(rhs, f);
        }
        ExprKind::Call { args: xs, .. } | ExprKind::List(xs) => xs.iter().for_each(|x| walk(x, f)),
        _ => {}
    }
}

// ---------------------------------------------------------------- quick runs

/// Failing seeds go to `tests/fuzz.proptest-regressions`, replayed before new cases.
fn persistence() -> Option<Box<dyn proptest::test_runner::FailurePersistence>> {
    Some(Box::new(FileFailurePersistence::WithSource(
        "proptest-regressions",
    )))
}

fn quick_config() -> ProptestConfig {
    ProptestConfig {
        cases: 256,
        failure_persistence: persistence(),
        max_shrink_time: 60_000,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(quick_config())]

    #[test]
    fn mutated_corpus(files in mutated()) {
        check_input(&files)?;
    }

    #[test]
    fn grammar_directed(files in grammar_input()) {
        check_input(&files)?;
    }

    #[test]
    fn random_bytes(files in random_input()) {
        check_input(&files)?;
    }
}

#[test]
fn corpus_is_valid() {
    for (i, src) in CORPUS.iter().enumerate() {
        assert_eq!(
            tokenize(src).concat(),
            *src,
            "snippet {i} tokenizes losslessly"
        );
        let c = compile(vec![(format!("corpus{i}.apr"), src.to_string())]);
        let text = render_all(&c.sources, &c.diagnostics, Style::PLAIN);
        assert!(c.diagnostics.is_empty(), "snippet {i}:\n{text}");
        assert!(
            !c.checked.program.policies.is_empty(),
            "snippet {i} has policies"
        );
        check_input(&[src.to_string()]).unwrap();
    }
}

/// Inputs that once broke a property; each names the bug it found.
const REGRESSIONS: &[(&str, &str)] = &[
    (
        "empty list outside `in []` sliced [1..]",
        "when [] then resize()",
    ),
    ("empty list in a let", "let l0 = (-[] or pvc.usage)"),
    (
        "window words placed by their unescaped offsets: a span inside `é`",
        "policy p { when pvc.usage > 1% then resize(+1%, max = 1Gi) window \"\\\\éé x\" }",
    ),
    (
        "PromQL error located inside a multi-byte space",
        "metric pvc.usage : percent = `x\u{3000}`",
    ),
];

/// `let c0 = WRAP c1`, `let c1 = WRAP c2`, …, `let cN = pvc.usage`, used by a rule.
fn let_chain(n: usize, wrap: &str, forward: bool) -> String {
    let mut lets: Vec<String> = (0..n)
        .map(|i| format!("let c{i} = {wrap}c{}\n", i + 1))
        .collect();
    lets.push(format!("let c{n} = pvc.usage\n"));
    if !forward {
        lets.reverse();
    }
    lets.push("when c0 > 1% then resize(+1%, max = 1Gi)\n".into());
    lets.concat()
}

/// Regression inputs too big to write out.
fn generated_regressions() -> Vec<(&'static str, String)> {
    vec![
        (
            "checking a let recursed once per let of a chain: stack overflow",
            let_chain(5_000, "", true),
        ),
        (
            "lets checked in order built IR trees of unbounded depth: stack overflow",
            let_chain(20_000, "-", false),
        ),
        (
            "each use of a let copied its IR: 2^40 nodes from 40 lets",
            let_doubling(40),
        ),
        (
            "the Pratt parser recursed once per prefix `-`: stack overflow",
            format!("let l0 = {}1", "-".repeat(4000)),
        ),
        (
            "`not` nests around comparisons: `not x == not x == …`",
            format!("let l0 = {}true", "not true == ".repeat(1360)),
        ),
        (
            "PromQL nested 10,000 deep",
            format!(
                "metric pvc.x : bytes = `{}x{}`",
                "(".repeat(10_000),
                ")".repeat(10_000)
            ),
        ),
        (
            "PromQL of 20,000 terms",
            format!("metric pvc.x : bytes = `{}x`", "x + ".repeat(20_000)),
        ),
        (
            "PromQL with 20,000 unary minus",
            format!("metric pvc.x : bytes = `{}x`", "-".repeat(20_000)),
        ),
        (
            "PromQL just under the length limit: 4,000 terms",
            format!("metric pvc.x : bytes = `{}x`", "x+".repeat(4_000)),
        ),
        (
            "PromQL just under the length limit: 8,000 unary minus",
            format!("metric pvc.x : bytes = `{}x`", "-".repeat(8_000)),
        ),
        (
            "locating a PromQL error parsed every prefix: 24 s for 4 KB",
            format!("metric pvc.x : bytes = `{}+`", "x + ".repeat(1000)),
        ),
        (
            "locating a PromQL error whose good prefix is short",
            format!("metric pvc.x : bytes = `x {}`", "y ".repeat(2000)),
        ),
        (
            "\"did you mean\" compared 5,000 unknown names with 5,000 lets",
            (0..5000).map(|i| format!("let a{i} = zz{i}\n")).collect(),
        ),
        (
            "3,000 unknown fields against 3,000 metrics: \"did you mean\", and drawing \
             each diagnostic from the start of a 230 KB file",
            (0..3000)
                .map(|i| {
                    format!(
                        "metric pvc.m{i} : number = `x`\n\
                         when pvc.q{i} > 1 then resize(+1%, max = 1Gi)\n"
                    )
                })
                .collect(),
        ),
        (
            "a number that fits a float, times its unit, did not: infinite bytes",
            format!(
                "when pvc.used > {}Ei for {}w then resize(+1%, max = 1Gi)",
                "9".repeat(300),
                "9".repeat(300)
            ),
        ),
    ]
}

/// `let d0 = d1 + d1`, `let d1 = d2 + d2`, …: each let doubles the one below.
fn let_doubling(n: usize) -> String {
    let mut out = format!("let d{n} = pvc.usage\n");
    for i in (0..n).rev() {
        out += &format!("let d{i} = d{} + d{}\n", i + 1, i + 1);
    }
    out + "when d0 > 1% then resize(+1%, max = 1Gi)\n"
}

#[test]
fn regressions() {
    let generated = generated_regressions();
    let all = REGRESSIONS
        .iter()
        .map(|(bug, src)| (*bug, src.to_string()))
        .chain(generated);
    for (bug, src) in all {
        if let Err(e) = check_input(&[src]) {
            panic!("{bug}: {e}");
        }
    }
}

// ---------------------------------------------------------------- long run

#[derive(Default)]
struct Figures {
    cases: u64,
    /// Cases by generator, then by outcome.
    outcomes: BTreeMap<&'static str, [u64; 3]>,
    codes: BTreeMap<&'static str, u64>,
}

/// Loops over fresh runners until `FUZZ_SECONDS` have passed; a no-op
/// without it.
#[test]
fn fuzz_timed() {
    let Some(secs) = env_u64("FUZZ_SECONDS") else {
        return;
    };
    let seed = env_u64("FUZZ_SEED").unwrap_or_else(|| {
        use std::hash::{BuildHasher, RandomState};
        RandomState::new().hash_one(Instant::now())
    });
    println!("fuzz: seed {seed} (FUZZ_SEED={seed} repeats this run), {secs} s");
    let figures = RefCell::new(Figures::default());
    let start = Instant::now();
    let deadline = start + Duration::from_secs(secs);
    let strategy = any_input();
    let mut round = 0u64;
    while Instant::now() < deadline {
        let config = Config {
            cases: 200,
            rng_seed: RngSeed::Fixed(seed.wrapping_add(round)),
            failure_persistence: persistence(),
            source_file: Some(file!()),
            test_name: Some("fuzz_timed"),
            max_shrink_time: 120_000,
            ..Config::default()
        };
        let mut runner = TestRunner::new(config);
        let result = runner.run(&strategy, |(generator, files)| {
            let (outcome, codes) = check_input(&files)?;
            let mut f = figures.borrow_mut();
            f.cases += 1;
            f.outcomes.entry(generator).or_default()[outcome as usize] += 1;
            for code in codes {
                *f.codes.entry(code).or_default() += 1;
            }
            Ok(())
        });
        if let Err(e) = result {
            print_figures(&figures.borrow(), start.elapsed());
            match e {
                TestError::Fail(why, files) => {
                    panic!(
                        "round {round} (seed {}) failed: {why}\ninput: {files:#?}",
                        seed.wrapping_add(round)
                    )
                }
                TestError::Abort(why) => panic!("round {round} aborted: {why}"),
            }
        }
        round += 1;
    }
    print_figures(&figures.borrow(), start.elapsed());
}

fn print_figures(f: &Figures, elapsed: Duration) {
    let secs = elapsed.as_secs_f64();
    println!(
        "fuzz: {} cases in {secs:.1} s, {:.0} cases/s",
        f.cases,
        f.cases as f64 / secs
    );
    let pct = |n: u64, of: u64| 100.0 * n as f64 / of.max(1) as f64;
    let mut total = [0u64; 3];
    println!(
        "  {:<18} {:>8} {:>16} {:>16} {:>16}",
        "generator", "cases", "parse errors", "check errors", "valid"
    );
    for (generator, o) in &f.outcomes {
        let n: u64 = o.iter().sum();
        println!(
            "  {generator:<18} {n:>8} {:>8} ({:>4.1}%) {:>8} ({:>4.1}%) {:>8} ({:>4.1}%)",
            o[0],
            pct(o[0], n),
            o[1],
            pct(o[1], n),
            o[2],
            pct(o[2], n)
        );
        for k in 0..3 {
            total[k] += o[k];
        }
    }
    let n = f.cases;
    println!(
        "  {:<18} {n:>8} {:>8} ({:>4.1}%) {:>8} ({:>4.1}%) {:>8} ({:>4.1}%)",
        "all",
        total[0],
        pct(total[0], n),
        total[1],
        pct(total[1], n),
        total[2],
        pct(total[2], n)
    );
    println!(
        "  parsed cleanly: {} ({:.1}%)",
        total[1] + total[2],
        pct(total[1] + total[2], n)
    );
    println!("  distinct diagnostic codes seen: {}", f.codes.len());
    for (code, n) in &f.codes {
        println!("    {code:<36} {n}");
    }
    let unseen: Vec<&str> = autopilot::check::all_codes()
        .into_iter()
        .filter(|c| !f.codes.contains_key(c))
        .collect();
    println!("  codes never seen: {unseen:?}");
}

// ---------------------------------------------------------------- nesting pre-scan

/// Trivia between tokens: spaces, line breaks and comments holding the
/// characters that begin strings, PromQL and brackets.
fn trivia() -> BoxedStrategy<String> {
    lit(&["", " ", "\n", "\t\n  ", " # ( [ { \" ` \\\n", "#\"{\n"])
}

/// A string whose parts are what the grammar tells apart: text holding
/// brackets, backticks and `#`, escapes (one before a line break), literal
/// braces, and interpolations whose `{…}` spans lines and holds comments,
/// with quoted segments that are strings again.
fn scan_string() -> BoxedStrategy<String> {
    let leaf = Just("\"x\"".to_string()).boxed();
    leaf.prop_recursive(3, 24, 4, |inner| {
        let path = prop_oneof![
            lit(&["pvc.name", "a", "pvc.labels.app"]),
            inner.prop_map(|s| format!("pvc.labels[{s}]")),
        ];
        let part = prop_oneof![
            3 => lit(&["(", "[", "{{", "}}", "}", "`", "#", ")", "]", " x ", "é"]),
            2 => lit(&["\\\"", "\\\\", "\\\n", "\\n", "\\`", "\\{"]),
            3 => (trivia(), path, trivia()).prop_map(|(a, p, b)| format!("{{{a}{p}{b}}}")),
        ];
        prop::collection::vec(part, 0..5).prop_map(|parts| format!("\"{}\"", parts.concat()))
    })
    .boxed()
}

/// Expressions nesting brackets around strings, with trivia between tokens.
fn scan_expr() -> BoxedStrategy<String> {
    let leaf = prop_oneof![2 => scan_string(), 1 => lit(&["1", "pvc.usage", "true"])];
    leaf.prop_recursive(6, 48, 3, |e| {
        prop_oneof![
            (trivia(), e.clone()).prop_map(|(t, e)| format!("({t}{e})")),
            (e.clone(), trivia(), e.clone()).prop_map(|(a, t, b)| format!("[{a},{t}{b}]")),
            e.clone().prop_map(|e| format!("max({e})")),
            (e.clone(), trivia(), e).prop_map(|(a, t, b)| format!("{a} +{t}{b}")),
        ]
    })
    .boxed()
}

/// Files mixing lets, PromQL in backticks (holding quotes, brackets, `#`
/// and line breaks), comments, and now and then a stray quote, backtick,
/// brace or bracket that breaks the file.
fn scan_file() -> BoxedStrategy<String> {
    let piece = prop_oneof![
        6 => (scan_expr(), trivia()).prop_map(|(e, t)| format!("let a = {e}{t}\n")),
        2 => lit(&["( \" # {", "\"{ a\n", "x\n}", ")]", "", "a\n\"\n\""])
            .prop_map(|q| format!("metric pvc.m : bytes = `{q}`\n")),
        2 => lit(&["# \" ` ( {\n", "#\n"]),
        1 => lit(&["\"", "`", "{", "(", "\"{", "\"{\n", "\\"]),
    ];
    prop::collection::vec(piece, 1..6)
        .prop_map(|v| v.concat())
        .boxed()
}

/// Runs `f` on a thread with a small stack: the nesting pre-scan keeps
/// pest's recursion to [`MAX_NESTING`] levels, which fit easily, while
/// brackets it missed (10,000 here) overflow it. An overflow aborts the
/// whole test binary, which fails the test as surely as an error.
fn on_small_stack<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    std::thread::Builder::new()
        .stack_size(1 << 20)
        .spawn(f)
        .expect("spawn a parser thread")
        .join()
        .expect("the parser does not panic")
}

proptest! {
    #![proptest_config(quick_config())]

    /// The pre-scan sees every bracket pest nests (it may see more, where
    /// the grammar fails), so brackets appended after any generated text
    /// are caught before pest runs.
    #[test]
    fn nesting_prescan_agrees_with_grammar(text in scan_file()) {
        use autopilot::syntax::parse::{self, MAX_NESTING, codes, nesting_depths};
        let (seen, tree) = nesting_depths(&text);
        if let Some(tree) = tree {
            prop_assert!(seen >= tree, "pre-scan saw {seen} levels, the grammar nests {tree}");
        }
        let n = 10_000;
        let deep = format!("{text}\nlet zz = {}1{}\n", "(".repeat(n), ")".repeat(n));
        let parsed = tree.is_some() && seen <= MAX_NESTING;
        let codes = on_small_stack(move || {
            let _ = parse::is_incomplete(&deep);
            let (_, diags) = parse::parse(FileId(0), &deep);
            diags.iter().map(|d| d.code).collect::<Vec<_>>()
        });
        if parsed {
            prop_assert_eq!(codes, vec![codes::TOO_DEEP]);
        }
    }
}

/// Nesting right at the limit parses on the small stack the property uses.
#[test]
fn nesting_at_the_limit_fits_a_small_stack() {
    use autopilot::syntax::parse::{self, MAX_NESTING};
    let n = MAX_NESTING - 4;
    let s = format!(
        "{}\"{{pvc.labels[\"x\"]}}\"{}",
        "(".repeat(n),
        ")".repeat(n)
    );
    let text = format!("policy p {{ when max({s}) > 1 then resize(+1%, max = 1Gi) }}\n");
    let diags = on_small_stack(move || parse::parse(FileId(0), &text).1);
    assert!(diags.is_empty(), "{diags:?}");
}
