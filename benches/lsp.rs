//! The language server's latency: from a one-character `didChange` to the
//! `publishDiagnostics` of that file, for a workspace of 100 and of 1,000
//! policies (10 files), through the real server loop over an in-memory
//! connection. The figure includes the debounce (`lsp::DEBOUNCE`, edits
//! must pause that long first); the work after it is printed apart.
//!
//! `cargo bench --bench lsp`

use std::time::{Duration, Instant};

use lsp_server::{Connection, Message, Notification};
use serde_json::json;

fn policies(file: usize, n: usize) -> String {
    let mut out = String::new();
    for i in 0..n {
        out.push_str(&format!(
            "policy grow_{file}_{i} {{\n  on pvc where pvc.labels.app == \"app{i}\"\n  when pvc.usage > 80% for 10m\n  then resize(+50%, max = 1Ti, min_step = 10Gi)\n  cooldown 6h\n}}\n\n"
        ));
    }
    out
}

fn main() {
    for total in [100, 1000] {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let root = dir.path().canonicalize().expect("it exists");
        let per = total / 10;
        for f in 0..10 {
            std::fs::write(root.join(format!("p{f}.apr")), policies(f, per)).expect("written");
        }
        let (server, client) = Connection::memory();
        let thread = std::thread::spawn(move || autopilot::lsp::serve(&server));
        let root_uri = url::Url::from_file_path(&root).expect("a path").to_string();
        let request = |id: i32, method: &str, params: serde_json::Value| {
            Message::Request(lsp_server::Request::new(id.into(), method.into(), params))
        };
        let notify = |method: &str, params: serde_json::Value| {
            Message::Notification(Notification::new(method.into(), params))
        };
        client
            .sender
            .send(request(
                1,
                "initialize",
                json!({"capabilities": {}, "rootUri": root_uri}),
            ))
            .expect("sent");
        let _ = client.receiver.recv();
        client
            .sender
            .send(notify("initialized", json!({})))
            .expect("sent");
        let uri = format!("{root_uri}/p0.apr");
        let mut text = policies(0, per);
        client
            .sender
            .send(notify(
                "textDocument/didOpen",
                json!({"textDocument": {"uri": uri, "languageId": "apr", "version": 1, "text": text}}),
            ))
            .expect("sent");
        let wait = |client: &Connection| loop {
            match client.receiver.recv_timeout(Duration::from_secs(60)) {
                Ok(Message::Notification(n))
                    if n.method == "textDocument/publishDiagnostics"
                        && n.params["uri"] == uri.as_str() =>
                {
                    return;
                }
                Ok(_) => {}
                Err(e) => panic!("no diagnostics: {e}"),
            }
        };
        wait(&client);
        let mut times = Vec::new();
        for version in 2..22 {
            // One character: `80%` becomes `81%` and back.
            text = if version % 2 == 0 {
                text.replacen("80%", "81%", 1)
            } else {
                text.replacen("81%", "80%", 1)
            };
            let started = Instant::now();
            client
                .sender
                .send(notify(
                    "textDocument/didChange",
                    json!({"textDocument": {"uri": uri, "version": version},
                           "contentChanges": [{"text": text}]}),
                ))
                .expect("sent");
            wait(&client);
            times.push(started.elapsed());
        }
        times.sort();
        let median = times[times.len() / 2];
        let debounce = autopilot::lsp::DEBOUNCE;
        println!(
            "lsp didChange → publishDiagnostics, {total} policies: median {:.1} ms (debounce {} ms + work {:.1} ms), max {:.1} ms over {} edits",
            median.as_secs_f64() * 1e3,
            debounce.as_millis(),
            median.saturating_sub(debounce).as_secs_f64() * 1e3,
            times.last().copied().unwrap_or_default().as_secs_f64() * 1e3,
            times.len()
        );
        client
            .sender
            .send(request(99, "shutdown", json!(null)))
            .expect("sent");
        client
            .sender
            .send(notify("exit", json!(null)))
            .expect("sent");
        let _ = thread.join();
    }
}
