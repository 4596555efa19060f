//! Configuration loading (`autopilot run --config FILE`) over data files.
//!
//! `tests/data/config/*.yaml`: one snapshot per file, in `tests/snapshots/`:
//! the loaded configuration field by field (secret values shown: they are
//! fixtures), or its diagnostics rendered without colour at a fixed width.
//! Regenerate with `cargo insta test --test config` and `cargo insta
//! review`, read the diff, commit the `.snap` files.

use std::fmt::Write;

use autopilot::config::{self, Config};
use autopilot::diagnostic::{self, Style};
use autopilot::source::SourceMap;

fn brief(c: &Config) -> String {
    let mut out = String::new();
    let p = &c.prometheus;
    let _ = writeln!(out, "prometheus {:?}", p.url);
    let _ = writeln!(out, "  timeout {:?}", p.timeout);
    let _ = writeln!(out, "  auth {:?}", p.auth);
    let _ = writeln!(out, "  ca_file {:?}", p.ca_file);
    let _ = writeln!(out, "  insecure_skip_verify {}", p.insecure_skip_verify);
    for (name, value) in &p.headers {
        let _ = writeln!(out, "  header {name}: {}", value.expose());
    }
    for m in &p.matchers {
        let _ = writeln!(out, "  matcher {} {:?} {:?}", m.name, m.op, m.value);
    }
    let _ = writeln!(out, "  max_in_flight {}", p.max_in_flight);
    for (name, r) in &c.notify {
        let _ = writeln!(out, "notify {name} {} {}", r.format.name(), r.url.expose());
        for (h, value) in &r.headers {
            let _ = writeln!(out, "  header {h}: {}", value.expose());
        }
    }
    out
}

#[test]
fn configs() {
    insta::glob!("data/config/*.yaml", |path| {
        let text = std::fs::read_to_string(path).expect("read data file");
        let mut sources = SourceMap::new();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let file = sources.add(name, text.clone());
        let out = match config::parse(file, &text) {
            Ok(c) => brief(&c),
            Err(diags) => diagnostic::render_all(&sources, &diags, Style::PLAIN),
        };
        insta::assert_snapshot!(out);
    });
}

/// Every code is shown by some snapshot.
#[test]
fn every_code_has_a_snapshot() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/snapshots");
    let mut shown = String::new();
    for entry in std::fs::read_dir(dir).expect("snapshots") {
        let path = entry.expect("entry").path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if name.starts_with("config__configs@") {
            shown.push_str(&std::fs::read_to_string(&path).expect("read snapshot"));
        }
    }
    for code in config::codes::ALL {
        assert!(shown.contains(code), "no snapshot shows {code}");
    }
}

/// The example at the top of docs/config.md loads.
#[test]
fn the_documented_example_loads() {
    let doc = include_str!("../docs/config.md");
    let start = doc.find("```yaml\n").expect("a yaml block") + "```yaml\n".len();
    let len = doc[start..].find("```").expect("the block ends");
    let yaml = &doc[start..start + len];
    let c = config::parse(autopilot::source::FileId(0), yaml)
        .unwrap_or_else(|d| panic!("docs/config.md's example: {d:?}"));
    assert_eq!(c.prometheus.matchers.len(), 2);
    assert_eq!(c.notify.len(), 2);
}

proptest::proptest! {
    /// No text panics the loader: it gives a configuration or diagnostics.
    #[test]
    fn any_text_loads_or_is_diagnosed(text in "(prometheus:\n  |notify:\n  |[a-z_]{1,12}: |\\{|\\}|\\[|\\]|'|\"|=~|!=|=|\\\\|\n|[ -~]{0,8}|é){0,24}") {
        let file = autopilot::source::FileId(0);
        if let Err(diags) = config::parse(file, &text) {
            proptest::prop_assert!(!diags.is_empty());
        }
    }

    /// Nor does any matcher.
    #[test]
    fn any_matcher_loads_or_is_diagnosed(m in "[a-z_=~!\"'`\\\\()|.*+?é ]{0,16}") {
        let yaml = format!("prometheus:\n  matchers: ['{}']\n", m.replace('\'', "''"));
        let file = autopilot::source::FileId(0);
        if let Err(diags) = config::parse(file, &yaml) {
            proptest::prop_assert!(!diags.is_empty());
        }
    }
}
