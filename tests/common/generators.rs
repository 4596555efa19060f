//! The fuzz generators of programs, shared by the front-end fuzzing
//! (`tests/fuzz.rs`) and the simulation property test (`tests/sim_fuzz.rs`):
//! a corpus of valid programs and its token-level mutations, a
//! grammar-directed generator, and random input.

#![allow(dead_code)]

use std::sync::OnceLock;

use proptest::prelude::*;
use proptest::sample::Index;

// ---------------------------------------------------------------- corpus

/// Valid programs: the examples of docs/language.md section 13, and snippets that
/// together use every clause, action, unit and string feature.
pub const CORPUS: &[&str] = &[
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
pub fn tokenize(src: &str) -> Vec<String> {
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

pub fn tokens_of(snippet: usize) -> &'static [String] {
    static TOKENS: OnceLock<Vec<Vec<String>>> = OnceLock::new();
    &TOKENS.get_or_init(|| CORPUS.iter().map(|s| tokenize(s)).collect())[snippet]
}

pub fn lit(words: &'static [&'static str]) -> BoxedStrategy<String> {
    prop::sample::select(words).prop_map(String::from).boxed()
}

pub const KEYWORDS: &[&str] = &[
    "let", "metric", "policy", "when", "for", "then", "on", "where", "cooldown", "mode", "no_data",
    "window", "at_most", "per", "by", "test", "and", "or", "not", "in", "true", "false", "not in",
];

pub const PUNCT: &[&str] = &[
    ">", ">=", "<", "<=", "==", "!=", "+", "-", "*", "/", "=", ",", ".", ":", "{", "}", "(", ")",
    "[", "]", "%", "#", "`", "\"", "\\", "{{", "}}", "=>", "!", "&&", "||", ";", "@", "$", "'",
];

pub const NAMES: &[&str] = &[
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

pub const UNITS: &[&str] = &[
    "", "", "%", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei", "k", "M", "G", "T", "P", "E", "ms", "s", "m",
    "h", "d", "w", "GB", "min", "mins", "hours", "b", "KiB", "gi", "%%", "x", "_", "e5", "sec",
    "us", "ns", "Gi%",
];

pub const UNICODE: &[&str] = &[
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
pub const PROMQL: &[&str] = &[
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

pub fn digits(n: usize, d: char) -> String {
    std::iter::repeat_n(d, n).collect()
}

pub fn number() -> BoxedStrategy<String> {
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

pub fn quantity() -> BoxedStrategy<String> {
    (number(), lit(UNITS)).prop_map(|(n, u)| n + &u).boxed()
}

/// Strings: interpolation, literal braces, escapes good and bad, unicode,
/// and now and then no closing quote.
pub fn string() -> BoxedStrategy<String> {
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

pub fn promql() -> BoxedStrategy<String> {
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

pub fn ident() -> BoxedStrategy<String> {
    prop_oneof![4 => lit(NAMES), 1 => "[a-z_][a-z0-9_]{0,8}", 1 => "[A-Za-z0-9_]{1,6}"].boxed()
}

/// One token to insert or replace with.
pub fn vocab() -> BoxedStrategy<String> {
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
pub enum Nest {
    Paren,
    OpenParen,
    Bracket,
    Call,
    Not,
    Neg,
    StringKey,
}

#[derive(Clone, Debug)]
pub enum Mutation {
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

pub fn nest_depth() -> BoxedStrategy<usize> {
    prop_oneof![
        8 => 1usize..8,
        4 => 55usize..75,
        4 => 120usize..140,
        2 => 0usize..400,
        1 => 400usize..5000,
    ]
    .boxed()
}

pub fn mutation() -> BoxedStrategy<Mutation> {
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

pub fn apply(tokens: &mut Vec<String>, m: &Mutation) {
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
pub fn mutated() -> BoxedStrategy<Vec<String>> {
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

pub fn random_input() -> BoxedStrategy<Vec<String>> {
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
pub fn quantity_g() -> BoxedStrategy<String> {
    let unit = lit(&[
        "", "", "", "%", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei", "k", "M", "G", "T", "P", "E", "ms",
        "s", "m", "h", "d", "w",
    ]);
    let num = prop_oneof![6 => "[0-9]{1,3}", 2 => "[0-9]\\.[0-9]{1,2}", 1 => "[0-9]{1,2}_000"];
    // Compound durations, in order and out of it: `1h30m`, `1h41m00s`, `30m1h`.
    let compound = lit(&[
        "1h30m", "2m30s", "1d12h", "1h41m00s", "1s500ms", "1w2d", "30m1h", "1h1h", "1.5h30m",
        "1h30", "1m30x",
    ]);
    prop_oneof![40 => (num, unit).prop_map(|(n, u)| n + &u), 3 => compound, 1 => quantity()].boxed()
}

/// A string that lexes: closed, with known escapes, mostly.
pub fn string_g() -> BoxedStrategy<String> {
    let part = prop_oneof![
        4 => "[a-zA-Z0-9 _./:-]{0,12}",
        2 => lit(&[
            "{pvc.name}", "{pvc.usage}", "{pod.restarts}", "{namespace.name}", "{pvc.labels.app}",
            "{pvc.labels[\"a.b/c\"]}", "{x}", "{pvc}", "{pvc.nope}", "{pvc.labels}", "{l0}",
            "{namespace.labels.tier}", "{pod.name}", "{node.name}", "{pvc.capacity}",
            "{100% - pvc.inodes_usage}", "{pvc.capacity * 2}", "{resize.to}", "{resize.from}",
            "{scale.to}", "{resize.too}", "{bytes(pvc.annotations[\"l\"]) ?? 1Gi}", "{pvc.access_modes}",
            "{pvc.storageclass.provisioner}", "{1 +}", "{(}",
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
pub fn long_expr() -> BoxedStrategy<String> {
    (
        1000usize..5000,
        lit(&["1", "pvc.usage", "true", "-1"]),
        lit(&[" + ", " or ", " * "]),
    )
        .prop_map(|(n, term, op)| vec![term; n].join(&op))
        .boxed()
}

pub const PATHS: &[&str] = &[
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
    "deployment.available_replicas",
    "statefulset.updated_replicas",
    "pvc.access_modes",
    "pvc.volume_mode",
    "pvc.storageclass.name",
    "pvc.storageclass.provisioner",
    "pvc.storageclass.allow_volume_expansion",
    "pvc.storageclass.labels.tier",
    "pvc.storageclass",
    "pvc.storageclass.nope",
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

pub const BINOPS: &[&str] = &[
    "or", "and", "==", "!=", ">", ">=", "<", "<=", "in", "not in", "+", "-", "*", "/", "??",
];

/// Random well-formed expressions: they parse, and mostly fail to type.
pub fn expr() -> BoxedStrategy<String> {
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
            2 => (
                lit(&[
                    "min", "max", "abs", "clamp", "ceil", "floor", "round", "at_least", "bytes",
                    "percent", "duration", "number", "foo", "resize",
                ]),
                prop::collection::vec(inner.clone(), 0..4),
            )
                .prop_map(|(f, v)| format!("{f}({})", v.join(", "))),
            1 => (lit(&["0", "1", "2", "x", "1.5"]), prop::collection::vec(inner, 0..4))
                .prop_map(|(n, v)| format!("at_least({n}, [{}])", v.join(", "))),
        ]
    })
    .boxed()
}

/// An expression, now and then wrapped in many layers.
pub fn deep_expr() -> BoxedStrategy<String> {
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

pub fn action() -> BoxedStrategy<String> {
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

pub fn then() -> BoxedStrategy<String> {
    prop::collection::vec(action(), 1..4)
        .prop_map(|v| format!("then {}", v.join(", ")))
        .boxed()
}

pub fn when() -> BoxedStrategy<String> {
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

pub fn clause() -> BoxedStrategy<String> {
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

pub fn item() -> BoxedStrategy<String> {
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
pub fn let_web() -> BoxedStrategy<Vec<String>> {
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

pub fn grammar_input() -> BoxedStrategy<Vec<String>> {
    prop_oneof![
        5 => prop::collection::vec(prop::collection::vec(item(), 0..6).prop_map(|v| v.join("\n")), 1..3),
        1 => let_web(),
    ]
    .boxed()
}

/// Inputs of all generators, each named for the figures.
pub fn any_input() -> BoxedStrategy<(&'static str, Vec<String>)> {
    prop_oneof![
        6 => mutated().prop_map(|f| ("mutated corpus", f)),
        3 => grammar_input().prop_map(|f| ("grammar-directed", f)),
        1 => random_input().prop_map(|f| ("random", f)),
    ]
    .boxed()
}

/// `let c0 = WRAP c1`, `let c1 = WRAP c2`, …, `let cN = pvc.usage`, used by a rule.
pub fn let_chain(n: usize, wrap: &str, forward: bool) -> String {
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
