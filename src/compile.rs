//! The front half of the pipeline in one call: stdlib + files → parse → check.

use std::path::{Path, PathBuf};

use crate::check::{self, Checked};
use crate::diagnostic::Diagnostic;
use crate::source::{FileId, SourceMap};
use crate::stdlib;
use crate::syntax::{self, ast};

/// Everything the front end knows about a set of files.
#[derive(Debug)]
pub struct Compiled {
    pub sources: SourceMap,
    /// Parsed files, stdlib first; a file with a syntax error is empty.
    pub files: Vec<(FileId, ast::File)>,
    pub checked: Checked,
    /// Parse and check diagnostics, in file order.
    pub diagnostics: Vec<Diagnostic>,
}

impl Compiled {
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }

    /// Files the user gave, without the stdlib.
    pub fn user_files(&self) -> impl Iterator<Item = &(FileId, ast::File)> {
        self.files
            .iter()
            .filter(|(id, _)| !self.sources.get(*id).is_stdlib())
    }
}

/// Parses and checks `(name, text)` files together with the stdlib.
pub fn compile(files: Vec<(String, String)>) -> Compiled {
    compile_with(files, check::check)
}

/// [`compile`], keeping the checked environment for items added one at a
/// time (the REPL).
pub fn compile_incremental(files: Vec<(String, String)>) -> (Compiled, check::Incremental) {
    let mut kept = check::Incremental::default();
    let compiled = compile_with(files, |sources, refs| {
        let (incremental, checked) = check::Incremental::new(sources, refs);
        kept = incremental;
        checked
    });
    (compiled, kept)
}

fn compile_with(
    files: Vec<(String, String)>,
    check: impl FnOnce(&SourceMap, &[(FileId, &ast::File)]) -> Checked,
) -> Compiled {
    let mut sources = SourceMap::new();
    let mut ids = stdlib::load(&mut sources);
    for (name, text) in files {
        ids.push(sources.add(name, text));
    }
    let mut diagnostics = Vec::new();
    let mut parsed = Vec::new();
    for id in ids {
        let (ast, diags) = syntax::parse(id, &sources.get(id).text);
        diagnostics.extend(diags);
        parsed.push((id, ast));
    }
    let refs: Vec<(FileId, &ast::File)> = parsed.iter().map(|(id, f)| (*id, f)).collect();
    let checked = check(&sources, &refs);
    diagnostics.extend(checked.diagnostics.iter().cloned());
    diagnostics.sort_by_key(|d| d.primary.span);
    Compiled {
        sources,
        files: parsed,
        checked,
        diagnostics,
    }
}

/// An I/O problem with a path the user gave (exit code 2).
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: no `.apr` files found", .0.display())]
    Empty(PathBuf),
    #[error("{}: symlink loop; not read", .0.display())]
    Loop(PathBuf),
}

/// A file as read: the path it came from (the one to write back to, which
/// may not be UTF-8), the name shown in diagnostics, and its text.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub path: PathBuf,
    pub name: String,
    pub text: String,
}

impl Loaded {
    /// `(name, text)`, as `compile` takes it.
    pub fn into_named(self) -> (String, String) {
        (self.name, self.text)
    }
}

/// Reads files and directories (recursively, `*.apr`, sorted, symlinks
/// followed) in the order given. A file given twice (`a.apr a.apr`, `dir
/// dir/a.apr`) is read once, where it first appears. A directory that cannot
/// be listed, a symlink loop and a dangling `*.apr` symlink are errors, not
/// skipped. A UTF-8 byte-order
/// mark is dropped.
pub fn read_paths(paths: &[PathBuf]) -> Result<Vec<Loaded>, LoadError> {
    let mut out = Vec::new();
    read_into(paths, &mut std::collections::HashSet::new(), &mut out)?;
    Ok(out)
}

/// [`read_paths`], and then for each `NAME_test.apr` file given, the policies
/// beside it: the other `.apr` files of its folder that are not `_test.apr`
/// files themselves, as promtool's test files name their rule files. Returns
/// the files and how many of them (the first ones) came from `paths`.
pub fn read_tests(paths: &[PathBuf]) -> Result<(Vec<Loaded>, usize), LoadError> {
    let mut out = Vec::new();
    let mut seen = std::collections::HashSet::new();
    read_into(paths, &mut seen, &mut out)?;
    let given = out.len();
    for path in paths.iter().filter(|p| is_test_file(p) && p.is_file()) {
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        let io = |source| LoadError::Io {
            path: dir.to_path_buf(),
            source,
        };
        let mut beside = Vec::new();
        for entry in std::fs::read_dir(dir).map_err(io)? {
            let entry = entry.map_err(io)?;
            let file = entry.path();
            if is_apr(&file) && !is_test_file(&file) && file.is_file() {
                beside.push(file);
            }
        }
        beside.sort();
        for file in beside {
            read_new(&file, &mut seen, &mut out)?;
        }
    }
    Ok((out, given))
}

/// `NAME_test.apr`.
fn is_test_file(path: &Path) -> bool {
    path.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.ends_with("_test.apr"))
}

fn read_into(
    paths: &[PathBuf],
    seen: &mut std::collections::HashSet<PathBuf>,
    out: &mut Vec<Loaded>,
) -> Result<(), LoadError> {
    for path in paths {
        let io = |source| LoadError::Io {
            path: path.clone(),
            source,
        };
        let meta = std::fs::metadata(path).map_err(io)?;
        if meta.is_dir() {
            let mut found = Vec::new();
            for entry in walkdir::WalkDir::new(path).follow_links(true) {
                let entry = match entry {
                    Ok(entry) => entry,
                    Err(e) if is_stray_link(&e) => continue,
                    Err(e) => return Err(walk_error(e)),
                };
                if entry.file_type().is_file() && is_apr(entry.path()) {
                    found.push(entry.into_path());
                }
            }
            if found.is_empty() {
                return Err(LoadError::Empty(path.clone()));
            }
            found.sort();
            for file in found {
                read_new(&file, seen, out)?;
            }
        } else {
            read_new(path, seen, out)?;
        }
    }
    Ok(())
}

/// A dangling symlink that is not a policy file, such as an editor's lock
/// file `.#a.apr`, is not the user's to read; a dangling `a.apr` is.
fn is_stray_link(e: &walkdir::Error) -> bool {
    let Some(path) = e.path() else { return false };
    let hidden = path
        .file_name()
        .is_some_and(|n| n.as_encoded_bytes().starts_with(b"."));
    e.loop_ancestor().is_none()
        && path.symlink_metadata().is_ok_and(|m| m.is_symlink())
        && std::fs::metadata(path).is_err()
        && (hidden || !is_apr(path))
}

fn walk_error(e: walkdir::Error) -> LoadError {
    let path = e.path().map(Path::to_path_buf).unwrap_or_default();
    if e.loop_ancestor().is_some() {
        return LoadError::Loop(path);
    }
    let source = e
        .into_io_error()
        .unwrap_or_else(|| std::io::Error::other("cannot list"));
    LoadError::Io { path, source }
}

fn is_apr(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == "apr")
}

fn read_new(
    path: &Path,
    seen: &mut std::collections::HashSet<PathBuf>,
    out: &mut Vec<Loaded>,
) -> Result<(), LoadError> {
    let io = |source| LoadError::Io {
        path: path.to_path_buf(),
        source,
    };
    let canonical = std::fs::canonicalize(path).map_err(io)?;
    if !seen.insert(canonical) {
        return Ok(());
    }
    let mut text = std::fs::read_to_string(path).map_err(io)?;
    if text.starts_with('\u{FEFF}') {
        text.drain(..'\u{FEFF}'.len_utf8());
    }
    out.push(Loaded {
        path: path.to_path_buf(),
        name: path.display().to_string(),
        text,
    });
    Ok(())
}
