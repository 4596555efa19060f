//! `autopilot fmt PATH... [--check|--diff]`: canonical formatting.
//!
//! A file with syntax errors is reported and left alone; so is a file the
//! formatter could not reproduce exactly (it never writes a changed program).
//! A file is written atomically: the new text goes to a temporary file in the
//! same directory, which then replaces the original by rename, so a failed
//! write leaves the original intact. A file or directory without write
//! permission is not written (rename would bypass the file's own mode). A
//! failure does not stop the other files; every one is reported at the end.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::Exit;
use crate::compile;
use crate::diagnostic;
use crate::source::SourceMap;
use crate::syntax::fmt;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Files or directories (searched recursively for `*.apr`).
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// Write nothing; exit 1 when a file is not formatted.
    #[arg(long, conflicts_with = "diff")]
    check: bool,
    /// Write nothing; print a unified diff of the changes; exit 1 if any.
    #[arg(long)]
    diff: bool,
}

pub fn run(args: Args) -> Exit {
    let files = match compile::read_paths(&args.paths) {
        Ok(files) => files,
        Err(e) => {
            eprintln!("error: {e}");
            return Exit::Usage;
        }
    };
    let mut sources = SourceMap::new();
    let mut problems = false;
    let mut unformatted = Vec::new();
    let mut failed = Vec::new();
    for compile::Loaded { path, name, text } in files {
        let id = sources.add(&name, text.as_str());
        let formatted = match fmt::format_source(id, &text) {
            Ok(f) => f,
            Err(diags) => {
                eprint!(
                    "{}",
                    diagnostic::render_all(&sources, &diags, super::style())
                );
                problems = true;
                continue;
            }
        };
        if formatted == text {
            continue;
        }
        if args.diff {
            let diff = similar::TextDiff::from_lines(&text, &formatted);
            super::out!(
                "{}",
                diff.unified_diff().context_radius(3).header(&name, &name)
            );
            unformatted.push(name);
        } else if args.check {
            super::outln!("{name}");
            unformatted.push(name);
        } else if let Err(reason) = write_atomic(&path, &text, &formatted) {
            failed.push(format!("error: {name}: {reason}"));
        }
    }
    for line in &failed {
        eprintln!("{line}");
    }
    if !failed.is_empty() {
        return Exit::Usage;
    }
    if (args.check || args.diff) && !unformatted.is_empty() {
        eprintln!("{} file(s) not formatted", unformatted.len());
        return Exit::Problems;
    }
    if problems { Exit::Problems } else { Exit::Ok }
}

/// Replaces the file at `path`, which held `before`, with `after`; on any
/// failure the file is as it was. Through a symlink the target is written,
/// so the link stays a link.
fn write_atomic(path: &Path, before: &str, after: &str) -> Result<(), String> {
    let target = std::fs::canonicalize(path).map_err(|e| e.to_string())?;
    let meta = std::fs::metadata(&target).map_err(|e| e.to_string())?;
    if meta.permissions().readonly() {
        return Err("file is read-only; not written".into());
    }
    let dir = match target.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let dir_meta = std::fs::metadata(dir).map_err(|e| e.to_string())?;
    if dir_meta.permissions().readonly() {
        return Err("directory is read-only; not written".into());
    }
    let mut tmp = tempfile::NamedTempFile::new_in(dir)
        .map_err(|e| format!("cannot create a temporary file beside it: {e}"))?;
    tmp.write_all(after.as_bytes())
        .and_then(|()| tmp.as_file().sync_all())
        .map_err(|e| format!("cannot write: {e}"))?;
    std::fs::set_permissions(tmp.path(), meta.permissions())
        .map_err(|e| format!("cannot copy permissions: {e}"))?;
    // Someone may have saved the file while we formatted it.
    match std::fs::read(&target) {
        Ok(now) if now == before.as_bytes() || strip_bom(&now) == before.as_bytes() => {}
        Ok(_) => return Err("file changed while formatting; not written".into()),
        Err(e) => return Err(e.to_string()),
    }
    tmp.persist(&target)
        .map_err(|e| format!("cannot replace the file: {}", e.error))?;
    Ok(())
}

fn strip_bom(bytes: &[u8]) -> &[u8] {
    bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes)
}
