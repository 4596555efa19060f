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
    let checked = check::check(&sources, &refs);
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
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{0}: no `.apr` files found")]
    Empty(PathBuf),
}

/// Reads files and directories (recursively, `*.apr`, sorted) into `(name, text)`.
pub fn read_paths(paths: &[PathBuf]) -> Result<Vec<(String, String)>, LoadError> {
    let mut out = Vec::new();
    for path in paths {
        let io = |source| LoadError::Io {
            path: path.clone(),
            source,
        };
        let meta = std::fs::metadata(path).map_err(io)?;
        if meta.is_dir() {
            let before = out.len();
            let mut found: Vec<PathBuf> = walkdir::WalkDir::new(path)
                .sort_by_file_name()
                .into_iter()
                .filter_map(Result::ok)
                .filter(|e| e.file_type().is_file() && is_apr(e.path()))
                .map(|e| e.into_path())
                .collect();
            found.sort();
            for file in found {
                out.push(read_one(&file)?);
            }
            if out.len() == before {
                return Err(LoadError::Empty(path.clone()));
            }
        } else {
            out.push(read_one(path)?);
        }
    }
    Ok(out)
}

fn is_apr(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == "apr")
}

fn read_one(path: &Path) -> Result<(String, String), LoadError> {
    let text = std::fs::read_to_string(path).map_err(|source| LoadError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    Ok((path.display().to_string(), text))
}
