//! `autopilot lsp` driven over stdio as an editor drives it: the built
//! binary, framed JSON-RPC on its stdin and stdout. Paths are redacted to
//! `file:///WS/…`.
//!
//! - `features`: one case per file of `tests/data/lsp/features/FEATURE/`,
//!   the request the folder names sent at the file's `‸` (removed first),
//!   the answer snapshot-tested; one server for every case, each case its
//!   own buffer, closed after it.
//! - `random_edits_and_requests`: a property test through `lsp::serve`
//!   in-process (an in-memory connection): random edits interleaved with
//!   random requests; the server never stops, answers every request once,
//!   and publishes for the final text what a fresh server publishes.
//! - `scripted_session`: initialize on a workspace folder, open a file with
//!   errors, edit it, format, requests it does not know or cannot read,
//!   shut down.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::{Value, json};

struct Client {
    child: Child,
    stdin: Option<ChildStdin>,
    incoming: mpsc::Receiver<Value>,
    next_id: i64,
    root: String,
}

impl Client {
    fn start(root: &Path) -> Client {
        let mut child = Command::new(env!("CARGO_BIN_EXE_autopilot"))
            .arg("lsp")
            .env("AUTOPILOT_CACHE_DIR", root.join(".cache"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the binary runs");
        let stdout = child.stdout.take().expect("stdout is piped");
        let (tx, incoming) = mpsc::channel();
        std::thread::spawn(move || {
            let mut r = BufReader::new(stdout);
            loop {
                let mut len = None;
                loop {
                    let mut line = String::new();
                    if r.read_line(&mut line).unwrap_or(0) == 0 {
                        return;
                    }
                    let line = line.trim_end();
                    if line.is_empty() {
                        break;
                    }
                    if let Some(n) = line.strip_prefix("Content-Length: ") {
                        len = n.parse::<usize>().ok();
                    }
                }
                let mut body = vec![0; len.expect("a Content-Length header")];
                if r.read_exact(&mut body).is_err() {
                    return;
                }
                let v: Value = serde_json::from_slice(&body).expect("the server writes JSON");
                if tx.send(v).is_err() {
                    return;
                }
            }
        });
        Client {
            stdin: child.stdin.take(),
            child,
            incoming,
            next_id: 1,
            root: url::Url::from_file_path(root).unwrap().to_string(),
        }
    }

    fn uri(&self, name: &str) -> String {
        format!("{}/{name}", self.root)
    }

    fn write(&mut self, v: &Value) {
        let body = serde_json::to_string(v).unwrap();
        let stdin = self.stdin.as_mut().expect("stdin is open");
        write!(stdin, "Content-Length: {}\r\n\r\n{body}", body.len()).unwrap();
        stdin.flush().unwrap();
    }

    fn notify(&mut self, method: &str, params: Value) {
        self.write(&json!({"jsonrpc": "2.0", "method": method, "params": params}));
    }

    /// Sends a request; returns its response (notifications before it are kept back).
    fn request(&mut self, method: &str, params: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        self.write(&json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}));
        loop {
            let v = self.recv();
            if v.get("id") == Some(&json!(id)) {
                return v;
            }
        }
    }

    fn recv(&self) -> Value {
        self.incoming
            .recv_timeout(Duration::from_secs(30))
            .expect("the server answers within 30s")
    }

    /// The next diagnostics published for `name`.
    fn diagnostics_of(&self, name: &str) -> Value {
        let uri = self.uri(name);
        loop {
            let v = self.recv();
            if v["method"] == "textDocument/publishDiagnostics" && v["params"]["uri"] == uri {
                return v["params"].clone();
            }
        }
    }

    fn redact_line(&self, v: &Value) -> String {
        serde_json::to_string(v)
            .unwrap()
            .replace(&self.root, "file:///WS")
    }

    fn redact(&self, v: &Value) -> String {
        serde_json::to_string_pretty(v)
            .unwrap()
            .replace(&self.root, "file:///WS")
            .replace(env!("CARGO_PKG_VERSION"), "VERSION")
    }
}

fn workspace() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().canonicalize().unwrap();
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/lsp/workspace");
    for e in std::fs::read_dir(&data).unwrap() {
        let p = e.unwrap().path();
        std::fs::copy(&p, root.join(p.file_name().unwrap())).unwrap();
    }
    (dir, root)
}

fn initialize(c: &mut Client, root: &Path) -> Value {
    let root_uri = url::Url::from_file_path(root).unwrap().to_string();
    let r = c.request(
        "initialize",
        json!({"processId": null, "rootUri": root_uri, "capabilities": {},
               "workspaceFolders": [{"uri": root_uri, "name": "ws"}]}),
    );
    c.notify("initialized", json!({}));
    r
}

#[test]
fn scripted_session() {
    let (_dir, root) = workspace();
    let mut c = Client::start(&root);
    let mut log = String::new();
    let mut step = |title: &str, v: &Value, c: &Client| {
        log.push_str(&format!("### {title}\n{}\n", c.redact(v)));
    };
    let init = initialize(&mut c, &root);
    step("initialize", &init["result"]["capabilities"], &c);

    // A type error and a misspelled let, in an open buffer: the other file
    // of the folder defines `nearly_full`.
    let broken = "policy grow {\n  when pvc.usage > 50 for 5m\n  then resize(+50%, max = 1Ti)\n}\n\nwhen pvc.usage > nearly_ful then resize(+10%, max = 1Ti)\n";
    let uri = c.uri("grow.apr");
    c.notify(
        "textDocument/didOpen",
        json!({"textDocument": {"uri": uri, "languageId": "apr", "version": 1, "text": broken}}),
    );
    let d = c.diagnostics_of("grow.apr");
    step("didOpen with errors: diagnostics", &d, &c);

    // Quick fixes for the two "did you mean"s: `50` → `50%`, `nearly_ful` → `nearly_full`.
    let q = c.request(
        "textDocument/codeAction",
        json!({"textDocument": {"uri": uri},
               "range": {"start": {"line": 1, "character": 0}, "end": {"line": 5, "character": 40}},
               "context": {"diagnostics": []}}),
    );
    step("codeAction: quick fixes", &q["result"], &c);

    let fixed = "policy grow {\n  when pvc.usage > nearly_full for 5m\n      then resize(+50%, max = 1Ti)\n}\n";
    c.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": uri, "version": 2}, "contentChanges": [{"text": fixed}]}),
    );
    let d = c.diagnostics_of("grow.apr");
    step("didChange fixing them: diagnostics", &d, &c);

    let f = c.request(
        "textDocument/formatting",
        json!({"textDocument": {"uri": uri}, "options": {"tabSize": 2, "insertSpaces": true}}),
    );
    step("formatting", &f, &c);

    let hover = |c: &mut Client, line: u32, character: u32| {
        let uri = c.uri("grow.apr");
        c.request(
            "textDocument/hover",
            json!({"textDocument": {"uri": uri}, "position": {"line": line, "character": character}}),
        )["result"]
            .clone()
    };
    let h = hover(&mut c, 1, 10);
    step("hover on the stdlib binding pvc.usage", &h, &c);
    let h = hover(&mut c, 1, 24);
    step("hover on a let of another file", &h, &c);
    let h = hover(&mut c, 2, 13);
    step("hover on an action", &h, &c);
    let h = hover(&mut c, 99, 99);
    step("hover past the end", &h, &c);

    let at = |c: &Client, line: u32, character: u32| json!({"textDocument": {"uri": c.uri("grow.apr")}, "position": {"line": line, "character": character}});
    let d = c.request("textDocument/definition", at(&c, 1, 24));
    step("definition of a let in another file", &d["result"], &c);
    let d = c.request("textDocument/definition", at(&c, 1, 10));
    step(
        "definition of a stdlib binding: its read-only copy",
        &d["result"],
        &c,
    );
    let stdlib = root.join(format!(
        ".cache/stdlib-{}/pvc.apr",
        env!("CARGO_PKG_VERSION")
    ));
    let copy = std::fs::read_to_string(&stdlib).expect("the stdlib copy is written");
    assert!(copy.contains("metric pvc.usage"), "{copy}");
    assert!(std::fs::metadata(&stdlib).unwrap().permissions().readonly());
    let mut params = at(&c, 1, 24);
    params["context"] = json!({"includeDeclaration": true});
    let r = c.request("textDocument/references", params);
    step("references of the let", &r["result"], &c);

    // Completion in context, in a second buffer.
    let partial = "policy p {\n  on \n  when pvc. > 1\n  then resize(\n  \n}\n";
    let other = c.uri("partial.apr");
    c.notify(
        "textDocument/didOpen",
        json!({"textDocument": {"uri": other, "languageId": "apr", "version": 1, "text": partial}}),
    );
    for (what, line, character) in [
        ("after `on`", 1, 5),
        ("after `pvc.`", 2, 11),
        ("inside `resize(`", 3, 14),
        ("a clause keyword", 4, 2),
    ] {
        let r = c.request(
            "textDocument/completion",
            json!({"textDocument": {"uri": other}, "position": {"line": line, "character": character}}),
        );
        let labels: Vec<&str> = r["result"]
            .as_array()
            .map(|a| a.iter().filter_map(|i| i["label"].as_str()).collect())
            .unwrap_or_default();
        step(&format!("completion {what}"), &json!(labels), &c);
    }

    let s = c.request(
        "textDocument/documentSymbol",
        json!({"textDocument": {"uri": uri}}),
    );
    step("documentSymbol", &s, &c);

    let u = c.request("workspace/unknownThing", json!({}));
    step("an unknown method", &u, &c);
    let bad = c.request("textDocument/formatting", json!({"nope": 1}));
    step("params that cannot be read", &bad, &c);

    let sd = c.request("shutdown", json!(null));
    step("shutdown", &sd, &c);
    c.notify("exit", json!(null));
    let status = c.child.wait().unwrap();
    assert!(status.success(), "exit 0 after exit: {status}");
    insta::assert_snapshot!(log);
}

#[test]
fn a_client_that_disconnects_stops_the_server() {
    let (_dir, root) = workspace();
    let mut c = Client::start(&root);
    initialize(&mut c, &root);
    // Mid-session, without shutdown: stdin closes.
    c.notify(
        "textDocument/didOpen",
        json!({"textDocument": {"uri": c.uri("grow.apr"), "languageId": "apr", "version": 1, "text": "policy {"}}),
    );
    c.stdin = None;
    let status = c.child.wait().unwrap();
    assert!(status.success(), "{status}");
    let mut err = String::new();
    c.child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert!(!err.contains("panicked"), "{err}");
}

/// The cursor marker of a feature case.
const MARKER: char = '‸';

/// The text without its marker, and the marker's position (0:0 without one).
fn cursor(marked: &str) -> (String, Value) {
    let at = marked.find(MARKER).unwrap_or(0);
    let before = &marked[..at];
    let line = before.matches('\n').count();
    let start = before.rfind('\n').map_or(0, |i| i + 1);
    let character = before[start..].encode_utf16().count();
    (
        marked.replacen(MARKER, "", 1),
        json!({"line": line, "character": character}),
    )
}

/// The request a feature folder names, its parameters at `pos`.
fn feature_request(feature: &str, uri: &str, pos: &Value) -> (&'static str, Value) {
    let doc = json!({"uri": uri});
    let at = json!({"textDocument": doc, "position": pos});
    match feature {
        "hover" => ("textDocument/hover", at),
        "completion" => ("textDocument/completion", at),
        "definition" => ("textDocument/definition", at),
        "references" => {
            let mut p = at;
            p["context"] = json!({"includeDeclaration": true});
            ("textDocument/references", p)
        }
        "quick_fix" => (
            "textDocument/codeAction",
            json!({"textDocument": doc, "range": {"start": pos, "end": pos},
                   "context": {"diagnostics": []}}),
        ),
        "document_symbol" => ("textDocument/documentSymbol", json!({"textDocument": doc})),
        "formatting" => (
            "textDocument/formatting",
            json!({"textDocument": doc, "options": {"tabSize": 2, "insertSpaces": true}}),
        ),
        other => panic!("tests/data/lsp/features/{other}: no request is named so"),
    }
}

/// An answer as a reviewer reads it: hover as its markdown, completion as
/// one item a line, the rest as JSON.
fn render_answer(c: &Client, feature: &str, result: &Value) -> String {
    match (feature, result) {
        ("hover", Value::Object(h)) => {
            let value = h["contents"]["value"].as_str().unwrap_or_default();
            format!("{value}\n")
        }
        ("completion", Value::Array(items)) => items
            .iter()
            .map(|i| format!("{}\n", c.redact_line(i)))
            .collect(),
        _ => format!("{}\n", c.redact(result)),
    }
}

#[test]
fn features() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().canonicalize().unwrap();
    let mut c = Client::start(&root);
    initialize(&mut c, &root);
    insta::glob!("data/lsp/features", "*/*.apr", |path| {
        let feature = path
            .parent()
            .unwrap()
            .file_name()
            .unwrap()
            .to_str()
            .unwrap();
        let case = path.file_name().unwrap().to_str().unwrap();
        let marked = std::fs::read_to_string(path).unwrap();
        let (text, pos) = cursor(&marked);
        let uri = c.uri(&format!("{feature}/{case}"));
        c.notify(
            "textDocument/didOpen",
            json!({"textDocument": {"uri": uri, "languageId": "apr", "version": 1, "text": text}}),
        );
        let (method, params) = feature_request(feature, &uri, &pos);
        let answer = c.request(method, params);
        c.notify(
            "textDocument/didClose",
            json!({"textDocument": {"uri": uri}}),
        );
        assert!(answer.get("error").is_none(), "{case}: {answer}");
        let out = format!(
            "{marked}── {method} at {}:{} ──\n{}",
            pos["line"],
            pos["character"],
            render_answer(&c, feature, &answer["result"])
        );
        insta::assert_snapshot!(out);
    });
    c.request("shutdown", json!(null));
    c.notify("exit", json!(null));
    assert!(c.child.wait().unwrap().success());
}

// ------------------------------------------------ random edit sequences

/// What a random session does: edit the buffer, or ask something of it.
#[derive(Clone, Debug)]
enum Step {
    Insert {
        at: (u32, u32),
        text: String,
    },
    Delete {
        at: (u32, u32),
        chars: usize,
    },
    Ask {
        method: &'static str,
        at: (u32, u32),
    },
}

const ASK: [&str; 7] = [
    "textDocument/hover",
    "textDocument/completion",
    "textDocument/definition",
    "textDocument/references",
    "textDocument/formatting",
    "textDocument/documentSymbol",
    "textDocument/codeAction",
];

const VALID: &str = "# A valid file the edits start from.\nlet nearly_full = 80%\n\nmetric pvc.reads : number = `rate(pvc_reads_total[5m])`\n\npolicy grow {\n  on pvc where pvc.labels.app == \"pg\"\n  when pvc.usage > nearly_full for 5m\n  then resize(+50%, max = 1Ti)\n}\n\ntest \"grows\" {\n  pvc \"db/a\" { capacity = 100Gi, labels = { app = \"pg\" } }\n  series pvc.usage \"db/a\" = \"90x10\"\n  expect grow \"db/a\" at 5m resize to 150Gi applied\n}\n";

fn step() -> impl proptest::strategy::Strategy<Value = Step> {
    use proptest::prelude::*;
    // Past the end of lines and of the file too.
    let at = (0u32..20, 0u32..70);
    let chars = prop::sample::select(vec![
        'a', 'z', '_', '.', ' ', '\n', '{', '}', '(', ')', '[', ']', '"', '`', '#', '%', '=', '>',
        '0', '5', '€', '😀', 'é', '‸',
    ]);
    let words = prop::sample::select(vec![
        "policy ",
        "when ",
        "then ",
        "on ",
        "pvc.",
        "labels.",
        "resize(",
        "test \"t\" {",
        "let ",
        "metric ",
        "}\n",
    ]);
    let text = prop_oneof![
        prop::collection::vec(chars, 1..4).prop_map(|c| c.into_iter().collect::<String>()),
        words.prop_map(str::to_string),
    ];
    prop_oneof![
        3 => (at.clone(), text).prop_map(|(at, text)| Step::Insert { at, text }),
        2 => (at.clone(), 1usize..12).prop_map(|(at, chars)| Step::Delete { at, chars }),
        3 => (at, prop::sample::select(ASK.to_vec())).prop_map(|(at, method)| Step::Ask { method, at }),
    ]
}

/// A position as a byte offset, clamped as the server clamps it (UTF-16 columns).
fn byte_offset(text: &str, (line, character): (u32, u32)) -> usize {
    let mut start = 0;
    for _ in 0..line {
        match text[start..].find('\n') {
            Some(i) => start += i + 1,
            None => return text.len(),
        }
    }
    let end = text[start..].find('\n').map_or(text.len(), |i| start + i);
    let mut units = 0;
    for (i, c) in text[start..end].char_indices() {
        if units >= character {
            return start + i;
        }
        units += c.len_utf16() as u32;
    }
    end
}

fn apply(text: &mut String, step: &Step) {
    match step {
        Step::Insert { at, text: t } => {
            let i = byte_offset(text, *at);
            text.insert_str(i, t);
        }
        Step::Delete { at, chars } => {
            let i = byte_offset(text, *at);
            let end = text[i..]
                .char_indices()
                .nth(*chars)
                .map_or(text.len(), |(j, _)| i + j);
            text.replace_range(i..end, "");
        }
        Step::Ask { .. } => {}
    }
}

/// One server in-process over an in-memory connection, as `autopilot lsp`
/// runs it.
struct InProcess {
    client: lsp_server::Connection,
    thread: std::thread::JoinHandle<Result<(), autopilot::lsp::LspError>>,
}

const PROP_URI: &str = "file:///autopilot-lsp-prop/p.apr";

impl InProcess {
    fn start(text: &str) -> InProcess {
        let (server, client) = lsp_server::Connection::memory();
        let thread = std::thread::spawn(move || autopilot::lsp::serve(&server));
        let s = InProcess { client, thread };
        s.request(0, "initialize", json!({"capabilities": {}}));
        match s.recv() {
            lsp_server::Message::Response(r) => assert!(r.response_result.is_ok(), "{r:?}"),
            other => panic!("initialize answered {other:?}"),
        }
        s.notify("initialized", json!({}));
        s.notify(
            "textDocument/didOpen",
            json!({"textDocument": {"uri": PROP_URI, "languageId": "apr", "version": 1, "text": text}}),
        );
        s
    }

    fn request(&self, id: i32, method: &str, params: Value) {
        let r = lsp_server::Request::new(id.into(), method.into(), params);
        self.client
            .sender
            .send(r.into())
            .expect("the server is running");
    }

    fn notify(&self, method: &str, params: Value) {
        let n = lsp_server::Notification::new(method.into(), params);
        self.client
            .sender
            .send(n.into())
            .expect("the server is running");
    }

    fn recv(&self) -> lsp_server::Message {
        self.client
            .receiver
            .recv_timeout(Duration::from_secs(30))
            .expect("the server answers (it did not stop)")
    }

    /// Shuts down once the diagnostics of `version` are published; returns
    /// them and every response's id.
    fn finish(self, version: i32) -> (Value, Vec<lsp_server::RequestId>) {
        self.request(i32::MAX, "shutdown", json!(null));
        let (mut diagnostics, mut ids, mut shut) = (None, Vec::new(), false);
        while diagnostics.is_none() || !shut {
            match self.recv() {
                lsp_server::Message::Response(r) => {
                    assert!(r.response_result.is_ok(), "{r:?}");
                    shut |= r.id == i32::MAX.into();
                    ids.push(r.id);
                }
                lsp_server::Message::Notification(n)
                    if n.method == "textDocument/publishDiagnostics"
                        && n.params["version"] == json!(version) =>
                {
                    diagnostics = Some(n.params["diagnostics"].clone());
                }
                _ => {}
            }
        }
        self.notify("exit", json!(null));
        let stopped = self.thread.join().expect("the server does not panic");
        assert!(stopped.is_ok(), "{stopped:?}");
        (diagnostics.unwrap_or_default(), ids)
    }
}

proptest::proptest! {
    #![proptest_config(proptest::test_runner::Config { cases: 32, ..Default::default() })]

    /// Random edits (multi-byte characters, braces, quotes, backticks, at
    /// positions past the end) interleaved with random requests: the server
    /// never stops, answers each request once, and after the last edit
    /// publishes what a fresh server that opens the final text publishes.
    #[test]
    fn random_edits_and_requests(steps in proptest::collection::vec(step(), 1..24)) {
        let mut text = VALID.to_string();
        let mut texts = Vec::new();
        for s in &steps {
            apply(&mut text, s);
            texts.push(text.clone());
        }
        // The fresh server works while the edited one does.
        let fresh = {
            let text = text.clone();
            std::thread::spawn(move || InProcess::start(&text).finish(1).0)
        };
        let server = InProcess::start(VALID);
        let (mut version, mut asked) = (1, Vec::new());
        for (s, text) in steps.iter().zip(&texts) {
            match s {
                Step::Ask { method, at: (line, character) } => {
                    let id = asked.len() as i32 + 1;
                    let pos = json!({"line": line, "character": character});
                    let doc = json!({"uri": PROP_URI});
                    let params = json!({
                        "textDocument": doc, "position": pos,
                        "range": {"start": pos, "end": pos},
                        "context": {"includeDeclaration": true, "diagnostics": [], "triggerKind": 1},
                        "options": {"tabSize": 2, "insertSpaces": true},
                    });
                    server.request(id, method, params);
                    asked.push(lsp_server::RequestId::from(id));
                }
                _ => {
                    version += 1;
                    server.notify(
                        "textDocument/didChange",
                        json!({"textDocument": {"uri": PROP_URI, "version": version},
                               "contentChanges": [{"text": text}]}),
                    );
                }
            }
        }
        let (diagnostics, mut ids) = server.finish(version);
        asked.push(i32::MAX.into());
        ids.sort_by_key(|id| id.to_string());
        asked.sort_by_key(|id| id.to_string());
        proptest::prop_assert_eq!(ids, asked, "each request answered once");
        let fresh = fresh.join().expect("the fresh server does not panic");
        proptest::prop_assert_eq!(diagnostics, fresh, "final text:\n{}", text);
    }
}
