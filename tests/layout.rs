//! The layout's boundaries, held by CI: the library never depends on the
//! command line. Everything under `src/` but `src/cli/` and `src/main.rs` is
//! the library; the CLI parses flags, calls the library and prints, so a
//! rendering that a library module needs lives in `src/report/`.
//!
//! This is `grep -rn "cli::" src --include=*.rs | grep -v "^src/cli/\|^src/main.rs"`
//! as a test, which also catches `use crate::{cli, …}`.

use std::path::{Path, PathBuf};

/// Every `.rs` file under `dir`, in a stable order.
fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|x| x == "rs") {
            out.push(path);
        }
    }
}

/// The library's files: `src/**/*.rs` but the CLI's.
fn library() -> Vec<(String, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    sources(&root.join("src"), &mut files);
    files
        .into_iter()
        .map(|p| {
            let name = p
                .strip_prefix(root)
                .unwrap_or(&p)
                .to_string_lossy()
                .replace('\\', "/");
            let text = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{name}: {e}"));
            (name, text)
        })
        .filter(|(name, _)| !name.starts_with("src/cli/") && name != "src/main.rs")
        .collect()
}

/// The lines of `text` that name the CLI module: a path through it
/// (`crate::cli::x`, `super::cli::x`, a doc's `cli::repl`) or an import of it
/// (`use crate::cli;`, `use crate::{cli, …}`).
fn naming_the_cli(text: &str) -> Vec<(usize, &str)> {
    let imports_cli = |line: &str| {
        let line = line.trim_start();
        line.starts_with("use ")
            && line
                .split(|c: char| !(c.is_alphanumeric() || c == '_'))
                .any(|word| word == "cli")
    };
    text.lines()
        .enumerate()
        .filter(|(_, line)| line.contains("cli::") || imports_cli(line))
        .map(|(i, line)| (i + 1, line))
        .collect()
}

#[test]
fn the_library_never_depends_on_the_cli() {
    let files = library();
    assert!(
        files.iter().any(|(name, _)| name == "src/lib.rs"),
        "the walk found the library"
    );
    let mut found = Vec::new();
    for (name, text) in &files {
        for (line, text) in naming_the_cli(text) {
            found.push(format!("{name}:{line}: {}", text.trim()));
        }
    }
    assert!(
        found.is_empty(),
        "library code names the CLI; move what it needs into the library \
         (renderings go to src/report/):\n{}",
        found.join("\n")
    );
}

#[test]
fn the_check_sees_each_way_of_naming_the_cli() {
    let hits = |text: &str| naming_the_cli(text).len();
    assert_eq!(
        hits("let t = crate::cli::simulate::text_report(&s, &r, 1);"),
        1
    );
    assert_eq!(hits("use crate::cli;"), 1);
    assert_eq!(hits("use crate::{cli, report};"), 1);
    assert_eq!(hits("    use super::cli::MAX_COLUMN;"), 1);
    assert_eq!(hits("//! `cli::repl` is the front-end"), 1);
    assert_eq!(hits("use crate::report::column_width;"), 0);
    assert_eq!(hits("let client = kube_client(); // a clinic"), 0);
    assert_eq!(hits("pub mod cli;"), 0);
}
