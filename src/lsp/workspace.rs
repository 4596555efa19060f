//! The files of a workspace folder, open buffers in place of their files on
//! disk, and what the editor asks of them: diagnostics of `check` and
//! `lint` for every file (names are global across the folder, as `check` of
//! the folder has them), formatting, document symbols. Pure: the server
//! hands the texts in.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use lsp_types::{
    DiagnosticRelatedInformation, DiagnosticSeverity, DocumentSymbol, Location, NumberOrString,
    Position, Range, SymbolKind, TextEdit, Uri,
};

use crate::compile;
use crate::diagnostic::{Diagnostic, Severity};
use crate::lint;
use crate::source::{FileId, SourceFile, Span};
use crate::syntax::ast;

/// How positions count columns, as negotiated with the client.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Encoding {
    /// LSP's default.
    #[default]
    Utf16,
    Utf8,
}

/// The workspace as the checker saw it.
#[derive(Debug)]
pub struct Analysis {
    pub compiled: compile::Compiled,
    /// Check and lint diagnostics.
    pub diagnostics: Vec<Diagnostic>,
}

impl Analysis {
    /// The file of `path` in the analysis.
    pub fn file_id(&self, path: &Path) -> Option<FileId> {
        let name = path.display().to_string();
        self.compiled
            .sources
            .ids()
            .find(|id| self.compiled.sources.get(*id).name == name)
    }
}

/// A workspace: files by path.
#[derive(Clone, Debug, Default)]
pub struct Workspace {
    /// Every `.apr` file of the folder as read from disk.
    pub disk: BTreeMap<PathBuf, String>,
    /// Open buffers: their version and text.
    pub open: BTreeMap<PathBuf, (i32, String)>,
    pub encoding: Encoding,
}

impl Workspace {
    /// The text of `path`: its buffer if open, else the file as read.
    pub fn text(&self, path: &Path) -> Option<&str> {
        self.open
            .get(path)
            .map(|(_, t)| t.as_str())
            .or_else(|| self.disk.get(path).map(String::as_str))
    }

    /// Every file checked together, buffers in place of their files.
    fn files(&self) -> Vec<(String, String)> {
        let mut paths: Vec<&PathBuf> = self.disk.keys().chain(self.open.keys()).collect();
        paths.sort();
        paths.dedup();
        paths
            .into_iter()
            .filter_map(|p| Some((p.display().to_string(), self.text(p)?.to_string())))
            .collect()
    }

    /// Every file parsed, checked and linted together.
    pub fn analyze(&self) -> Analysis {
        let compiled = compile::compile(self.files());
        let mut diagnostics = compiled.diagnostics.clone();
        diagnostics.extend(lint::lint(&compiled));
        Analysis {
            compiled,
            diagnostics,
        }
    }

    /// The diagnostics of `check` and `lint` (disable comments applied) of
    /// every file, by path; a file with none has an empty list.
    pub fn diagnostics(&self, a: &Analysis) -> BTreeMap<PathBuf, Vec<lsp_types::Diagnostic>> {
        let c = &a.compiled;
        let mut out: BTreeMap<PathBuf, Vec<lsp_types::Diagnostic>> = c
            .user_files()
            .map(|(id, _)| (PathBuf::from(&c.sources.get(*id).name), Vec::new()))
            .collect();
        for d in &a.diagnostics {
            let file = c.sources.get(d.primary.span.file);
            if file.is_stdlib() {
                continue;
            }
            let path = PathBuf::from(&file.name);
            let converted = self.convert(&c.sources, d);
            out.entry(path).or_default().push(converted);
        }
        out
    }

    fn convert(&self, sources: &crate::source::SourceMap, d: &Diagnostic) -> lsp_types::Diagnostic {
        let file = sources.get(d.primary.span.file);
        let mut message = d.message.clone();
        if let Some(label) = &d.primary.message
            && !label.is_empty()
        {
            message.push_str(&format!(" ({label})"));
        }
        if let Some(help) = &d.help {
            message.push_str(&format!("\nhelp: {help}"));
        }
        let related: Vec<DiagnosticRelatedInformation> = d
            .secondary
            .iter()
            .filter_map(|l| {
                let f = sources.get(l.span.file);
                let uri = uri_of(Path::new(&f.name))?;
                Some(DiagnosticRelatedInformation {
                    location: Location {
                        uri,
                        range: range(f, l.span, self.encoding),
                    },
                    message: l.message.clone().unwrap_or_default(),
                })
            })
            .collect();
        lsp_types::Diagnostic {
            range: range(file, d.primary.span, self.encoding),
            severity: Some(match d.severity {
                Severity::Error => DiagnosticSeverity::ERROR,
                Severity::Warning => DiagnosticSeverity::WARNING,
                Severity::Advice => DiagnosticSeverity::INFORMATION,
            }),
            code: Some(NumberOrString::String(d.code.to_string())),
            source: Some("autopilot".into()),
            message,
            related_information: (!related.is_empty()).then_some(related),
            ..Default::default()
        }
    }

    /// `fmt` of the file as one edit of the whole text; no edits when it is
    /// already formatted, does not parse, or `fmt` refuses it.
    pub fn format(&self, path: &Path) -> Vec<TextEdit> {
        let Some(text) = self.text(path) else {
            return Vec::new();
        };
        match crate::syntax::fmt::format_source(FileId(0), text) {
            Ok(out) if out != text => {
                let file = SourceFile::new(path.display().to_string(), text);
                let whole = Span::new(FileId(0), 0, text.len());
                vec![TextEdit {
                    range: range(&file, whole, self.encoding),
                    new_text: out,
                }]
            }
            _ => Vec::new(),
        }
    }

    /// Policies, rules, lets, metrics and tests of the file, with the
    /// clauses of a policy as its children. Empty when it does not parse.
    pub fn symbols(&self, path: &Path) -> Vec<DocumentSymbol> {
        let Some(text) = self.text(path) else {
            return Vec::new();
        };
        let (ast, _) = crate::syntax::parse(FileId(0), text);
        let file = SourceFile::new(path.display().to_string(), text);
        let at = |span: Span| range(&file, span, self.encoding);
        let snippet = |span: Span| -> String {
            let s = text.get(span.range()).unwrap_or_default();
            let line = s.lines().next().unwrap_or_default().trim();
            line.chars().take(60).collect()
        };
        #[allow(deprecated)]
        let symbol = |name: String,
                      detail: Option<String>,
                      kind: SymbolKind,
                      span: Span,
                      name_span: Span,
                      children: Option<Vec<DocumentSymbol>>| DocumentSymbol {
            name: if name.is_empty() { "_".into() } else { name },
            detail,
            kind,
            tags: None,
            deprecated: None,
            range: at(span),
            selection_range: at(name_span),
            children,
        };
        // A clause as a child: its first line, the whole clause its range.
        let clauses = |spans: Vec<Span>| -> Vec<DocumentSymbol> {
            spans
                .into_iter()
                .map(|span| symbol(snippet(span), None, SymbolKind::FIELD, span, span, None))
                .collect()
        };
        ast.items
            .iter()
            .map(|item| match item {
                ast::Item::Let(l) => symbol(
                    l.name.name.clone(),
                    Some("let".into()),
                    SymbolKind::CONSTANT,
                    l.span,
                    l.name.span,
                    None,
                ),
                ast::Item::Metric(m) => symbol(
                    format!("{}.{}", m.kind.name, m.name.name),
                    Some(format!("metric : {}", m.ty.name)),
                    SymbolKind::PROPERTY,
                    m.span,
                    m.name.span,
                    None,
                ),
                ast::Item::Policy(p) => symbol(
                    p.name.name.clone(),
                    Some("policy".into()),
                    SymbolKind::FUNCTION,
                    p.span,
                    p.name.span,
                    Some(clauses(p.clauses.iter().map(|c| c.span).collect())),
                ),
                ast::Item::Rule(r) => {
                    let (line, _) = file.line_col(r.span.start as usize);
                    symbol(
                        format!("{}:{line}", file_name(path)),
                        Some(snippet(r.span)),
                        SymbolKind::FUNCTION,
                        r.span,
                        r.when.span,
                        None,
                    )
                }
                // A test's statements are its clauses.
                ast::Item::Test(t) => symbol(
                    t.name.as_plain().unwrap_or_else(|| snippet(t.name.span)),
                    Some("test".into()),
                    SymbolKind::METHOD,
                    t.span,
                    t.name.span,
                    Some(clauses(t.stmts.iter().map(|s| s.span).collect())),
                ),
            })
            .collect()
    }
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// A span as an LSP range in `encoding`.
pub fn range(file: &SourceFile, span: Span, encoding: Encoding) -> Range {
    Range {
        start: position(&file.text, span.start as usize, encoding),
        end: position(&file.text, span.end as usize, encoding),
    }
}

/// A byte offset as a 0-based line and column (UTF-16 code units or bytes).
pub fn position(text: &str, offset: usize, encoding: Encoding) -> Position {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count();
    let start = before.rfind('\n').map_or(0, |i| i + 1);
    let col = match encoding {
        Encoding::Utf16 => before[start..].encode_utf16().count(),
        Encoding::Utf8 => offset - start,
    };
    Position::new(line as u32, col as u32)
}

/// An LSP position as a byte offset in `text`, clamped to the text (a
/// position past the end of a line is its end, past the last line the end).
pub fn offset(text: &str, pos: Position, encoding: Encoding) -> usize {
    let mut start = 0;
    for _ in 0..pos.line {
        match text[start..].find('\n') {
            Some(i) => start += i + 1,
            None => return text.len(),
        }
    }
    let line_end = text[start..].find('\n').map_or(text.len(), |i| start + i);
    let line = &text[start..line_end];
    let mut units = 0u32;
    for (i, c) in line.char_indices() {
        if units >= pos.character {
            return start + i;
        }
        units += match encoding {
            Encoding::Utf16 => c.len_utf16() as u32,
            Encoding::Utf8 => c.len_utf8() as u32,
        };
    }
    line_end
}

/// The `file:` URI of a path.
pub fn uri_of(path: &Path) -> Option<Uri> {
    let url = url::Url::from_file_path(path).ok()?;
    url.as_str().parse().ok()
}

/// The path of a `file:` URI.
pub fn path_of(uri: &Uri) -> Option<PathBuf> {
    url::Url::parse(uri.as_str()).ok()?.to_file_path().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_count_utf16_units_or_bytes() {
        let text = "a\n€x😀y\n";
        // `y` is after one 3-byte char, `x`, and a 4-byte (2-unit) char.
        let y = text.find('y').unwrap();
        assert_eq!(position(text, y, Encoding::Utf16), Position::new(1, 4));
        assert_eq!(position(text, y, Encoding::Utf8), Position::new(1, 8));
        assert_eq!(offset(text, Position::new(1, 4), Encoding::Utf16), y);
        assert_eq!(offset(text, Position::new(1, 8), Encoding::Utf8), y);
        // Past the end of a line, and past the last line: clamped.
        assert_eq!(offset(text, Position::new(0, 99), Encoding::Utf16), 1);
        assert_eq!(
            offset(text, Position::new(99, 0), Encoding::Utf16),
            text.len()
        );
        // Inside a character: its start.
        assert_eq!(position(text, y - 1, Encoding::Utf16), Position::new(1, 2));
    }

    #[test]
    fn uris_and_paths() {
        let p = Path::new("/tmp/a dir/p.apr");
        let uri = uri_of(p).unwrap();
        assert_eq!(uri.as_str(), "file:///tmp/a%20dir/p.apr");
        assert_eq!(path_of(&uri).unwrap(), p);
    }
}
