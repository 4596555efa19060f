//! Hover, completion and quick fixes over a [`Workspace`]: the checker's and
//! the stdlib's knowledge at a position. Pure.

use std::path::Path;

use lsp_types::{
    CodeAction, CodeActionKind, CompletionItem, CompletionItemKind, Hover, HoverContents,
    MarkupContent, MarkupKind, Position, TextEdit, WorkspaceEdit,
};

use super::workspace::{Analysis, Workspace, offset, range};
use crate::check::{actions, kinds};
use crate::ir::{Kind, Program};
use crate::source::SourceFile;
use crate::syntax::ast;

/// The clause keywords of a policy.
const CLAUSES: [&str; 8] = [
    "on", "when", "then", "cooldown", "mode", "no_data", "window", "at_most",
];

/// The dotted name around `at` (`pvc.usage`, `namespace.labels.tier`): its
/// start and the text up to its end.
fn word_at(text: &str, at: usize) -> (usize, &str) {
    let is = |c: char| c.is_alphanumeric() || c == '_' || c == '.';
    let start = text[..at]
        .char_indices()
        .rev()
        .take_while(|(_, c)| is(*c))
        .last()
        .map_or(at, |(i, _)| i);
    let end = text[at..]
        .char_indices()
        .find(|(_, c)| !is(*c))
        .map_or(text.len(), |(i, _)| at + i);
    (start, &text[start..end])
}

fn markdown(value: String) -> Hover {
    Hover {
        contents: HoverContents::Markup(MarkupContent {
            kind: MarkupKind::Markdown,
            value,
        }),
        range: None,
    }
}

/// The comment lines right above an item: its docs.
fn docs_above(text: &str, start: usize) -> String {
    let mut lines: Vec<&str> = text[..start]
        .lines()
        .rev()
        .take_while(|l| l.trim_start().starts_with('#'))
        .map(|l| l.trim_start().trim_start_matches('#').trim())
        .collect();
    lines.reverse();
    lines.join("\n")
}

/// What the name or expression under the cursor is.
pub fn hover(ws: &Workspace, a: &Analysis, path: &Path, pos: Position) -> Option<Hover> {
    let text = ws.text(path)?;
    let at = offset(text, pos, ws.encoding);
    let (_, word) = word_at(text, at);
    let program = &a.compiled.checked.program;
    let segments: Vec<&str> = word.split('.').collect();
    if let [k, name] = segments[..]
        && let Some(kind) = Kind::from_name(k)
    {
        if let Some(m) = program
            .metrics
            .iter()
            .find(|m| m.kind == kind && m.name == name)
        {
            let file = a.compiled.sources.get(m.span.file);
            let docs = docs_above(&file.text, m.span.start as usize);
            return Some(markdown(format!(
                "```apr\nmetric {}.{} : {}\n```\n{}{}\nThe PromQL it sends:\n```promql\n{}\n```\njoined to {} objects by `{}`{}",
                m.kind,
                m.name,
                m.ty,
                docs,
                if docs.is_empty() { "" } else { "\n" },
                m.promql,
                m.kind,
                m.join.join("`, `"),
                if m.stdlib { " (stdlib)" } else { "" }
            )));
        }
        if let Some((_, ty)) = kinds::field(kind, name) {
            return Some(markdown(format!(
                "```apr\n{k}.{name} : {ty}\n```\na field of {k} objects"
            )));
        }
    }
    if let [k] = segments[..] {
        if let Some(kind) = Kind::from_name(k) {
            let fields: Vec<String> = kinds::fields(kind)
                .iter()
                .map(|(n, _, t)| format!("`{n}` {t}"))
                .collect();
            let metrics: Vec<String> = program
                .metrics
                .iter()
                .filter(|m| m.kind == kind)
                .map(|m| format!("`{}` {}", m.name, m.ty))
                .collect();
            // The stdlib file of the kind opens with its docs.
            let stdlib = format!("<stdlib/{k}.apr>");
            let docs = a
                .compiled
                .sources
                .ids()
                .map(|id| a.compiled.sources.get(id))
                .find(|f| f.name == stdlib)
                .map(|f| {
                    let head: Vec<&str> = f
                        .text
                        .lines()
                        .take_while(|l| l.starts_with('#'))
                        .map(|l| l.trim_start_matches('#').trim())
                        .collect();
                    format!("\n\n{}\n\n(`{stdlib}`)", head.join("\n"))
                })
                .unwrap_or_default();
            return Some(markdown(format!(
                "kind `{k}`{docs}\n\nfields: {}, `labels`, `annotations`\n\nmetrics: {}",
                fields.join(", "),
                if metrics.is_empty() {
                    "none".to_string()
                } else {
                    metrics.join(", ")
                }
            )));
        }
        if actions::NAMES.contains(&k) {
            return Some(markdown(format!("action {}", actions::signature(k))));
        }
        if let Some((l, file)) = find_let(a, k) {
            let value = file.text.get(l.value.span.range()).unwrap_or_default();
            // Its type as read where the cursor is (a let is typed where used).
            let ty = a
                .file_id(path)
                .and_then(|f| expr_type_at(program, f, at))
                .map(|t| format!("\n`{t}`"))
                .unwrap_or_default();
            return Some(markdown(format!("```apr\nlet {k} = {value}\n```{ty}")));
        }
    }
    let file = a.file_id(path)?;
    let ty = expr_type_at(program, file, at)?;
    Some(markdown(format!("`{ty}`")))
}

/// A `let` of the workspace by name, and its file.
fn find_let<'a>(a: &'a Analysis, name: &str) -> Option<(&'a ast::Let, &'a SourceFile)> {
    a.compiled.files.iter().find_map(|(id, f)| {
        f.items.iter().find_map(|item| match item {
            ast::Item::Let(l) if l.name.name == name => Some((l, a.compiled.sources.get(*id))),
            _ => None,
        })
    })
}

/// The type of the smallest checked expression at `at` in `file`.
fn expr_type_at(program: &Program, file: crate::source::FileId, at: usize) -> Option<String> {
    program
        .policies
        .iter()
        .flat_map(|p| p.filter.iter().chain([&p.condition]))
        .flat_map(crate::ir::Expr::nodes)
        .filter(|e| {
            e.span.file == file && (e.span.start as usize) <= at && at <= e.span.end as usize
        })
        .min_by_key(|e| e.span.len())
        .map(|e| e.ty.to_string())
}

/// Completions at the cursor, from what comes before it on the line.
pub fn complete(ws: &Workspace, a: &Analysis, path: &Path, pos: Position) -> Vec<CompletionItem> {
    let Some(text) = ws.text(path) else {
        return Vec::new();
    };
    let at = offset(text, pos, ws.encoding);
    let line_start = text[..at].rfind('\n').map_or(0, |i| i + 1);
    let before = &text[line_start..at];
    let (word_start, word) = word_at(text, at);
    let word = &word[..at - word_start];
    let prefix = before[..before.len() - word.len()].trim_end();
    let item = |label: String, kind: CompletionItemKind, detail: Option<String>| CompletionItem {
        label,
        kind: Some(kind),
        detail,
        ..CompletionItem::default()
    };
    let reanalyzed = word
        .ends_with('.')
        .then(|| placeholder_analysis(ws, path, at));
    let a = reanalyzed.as_ref().unwrap_or(a);
    let program = &a.compiled.checked.program;
    // `pvc.labels.` → the label keys of the workspace's test fixtures.
    let segments: Vec<&str> = word.split('.').collect();
    let keyed = match segments[..] {
        [k, map @ ("labels" | "annotations"), partial]
            if Kind::from_name(k).is_some() || k == "namespace" =>
        {
            Some((k, map, partial))
        }
        // A PVC's StorageClass: `pvc.storageclass.labels.`.
        [
            "pvc",
            "storageclass",
            map @ ("labels" | "annotations"),
            partial,
        ] => Some(("storageclass", map, partial)),
        _ => None,
    };
    if let Some((k, map, partial)) = keyed {
        // A key that is not a name is written `pvc.labels["a/b"]`: the
        // edit replaces the dot and what follows it.
        let dot = at - partial.len() - 1;
        let file = SourceFile::new(path.display().to_string(), text);
        let span = crate::source::Span::new(crate::source::FileId(0), dot, at);
        return fixture_keys(a, k, map)
            .into_iter()
            .map(|key| {
                let mut i = item(
                    key.clone(),
                    CompletionItemKind::VALUE,
                    Some(format!("{map} key of {k} objects in tests")),
                );
                if !is_name(&key) {
                    i.filter_text = Some(format!(".{key}"));
                    i.text_edit = Some(lsp_types::CompletionTextEdit::Edit(TextEdit {
                        range: range(&file, span, ws.encoding),
                        new_text: format!("[{key:?}]"),
                    }));
                }
                i
            })
            .collect();
    }
    // `pvc.storageclass.`, `namespace.` → their fields.
    let other: Option<Vec<(&str, String)>> = match segments[..] {
        ["pvc", "storageclass", _] => Some(
            kinds::STORAGE_CLASS
                .iter()
                .map(|(n, _, t)| (*n, t.to_string()))
                .collect(),
        ),
        ["namespace", _] => Some(vec![("name", "string".to_string())]),
        _ => None,
    };
    if let Some(fields) = other {
        return fields
            .into_iter()
            .chain(["labels", "annotations"].map(|n| (n, "labels".to_string())))
            .map(|(n, t)| item(n.to_string(), CompletionItemKind::FIELD, Some(t)))
            .collect();
    }
    // `pvc.` → its fields and metrics (and nothing deeper: `pvc.name.`).
    if let [k, _] = segments[..]
        && let Some(kind) = Kind::from_name(k)
    {
        let mut out: Vec<CompletionItem> = kinds::fields(kind)
            .into_iter()
            .map(|(n, _, t)| {
                item(
                    n.to_string(),
                    CompletionItemKind::FIELD,
                    Some(t.to_string()),
                )
            })
            .collect();
        out.extend(["labels", "annotations"].map(|n| {
            item(
                n.to_string(),
                CompletionItemKind::FIELD,
                Some("labels".into()),
            )
        }));
        if kind == Kind::Pvc {
            out.push(item(
                "storageclass".into(),
                CompletionItemKind::FIELD,
                Some("its StorageClass".into()),
            ));
        }
        out.extend(program.metrics.iter().filter(|m| m.kind == kind).map(|m| {
            item(
                m.name.clone(),
                CompletionItemKind::VARIABLE,
                Some(format!("metric : {}", m.ty)),
            )
        }));
        return out;
    }
    // Deeper than these (`pvc.name.`), or a number: nothing to offer.
    if segments.len() > 1 {
        return Vec::new();
    }
    // `on ` → kinds.
    if prefix.ends_with("on")
        && (prefix.len() == 2
            || !prefix[..prefix.len() - 2].ends_with(|c: char| c.is_alphanumeric() || c == '_'))
    {
        return Kind::ALL
            .iter()
            .map(|k| item(k.name().to_string(), CompletionItemKind::CLASS, None))
            .collect();
    }
    // Inside an action's parentheses → its named arguments.
    if let Some(open) = before.rfind('(')
        && !before[open..].contains(')')
    {
        let name_end = before[..open].trim_end();
        let name_start = name_end
            .rfind(|c: char| !(c.is_alphanumeric() || c == '_'))
            .map_or(0, |i| i + 1);
        let action = &name_end[name_start..];
        if actions::NAMES.contains(&action) {
            return actions::named_args(action)
                .iter()
                .map(|n| {
                    item(
                        format!("{n} = "),
                        CompletionItemKind::PROPERTY,
                        Some(actions::signature(action)),
                    )
                })
                .collect();
        }
    }
    // After `then` or a comma in a `then` clause → actions.
    if prefix.ends_with("then") || (prefix.ends_with(',') && before.contains("then")) {
        return actions::NAMES
            .iter()
            .map(|n| {
                item(
                    n.to_string(),
                    CompletionItemKind::FUNCTION,
                    Some(actions::signature(n)),
                )
            })
            .collect();
    }
    // At the start of a line inside a policy → clause keywords.
    if prefix.is_empty() && inside_policy(text, at) {
        return CLAUSES
            .iter()
            .map(|k| item(k.to_string(), CompletionItemKind::KEYWORD, None))
            .collect();
    }
    // Elsewhere in an expression: kinds, lets and functions.
    let mut out: Vec<CompletionItem> = Kind::ALL
        .iter()
        .map(|k| item(k.name().to_string(), CompletionItemKind::CLASS, None))
        .collect();
    out.push(item("namespace".into(), CompletionItemKind::CLASS, None));
    for (_, f) in &a.compiled.files {
        for i in &f.items {
            if let ast::Item::Let(l) = i {
                out.push(item(
                    l.name.name.clone(),
                    CompletionItemKind::CONSTANT,
                    Some("let".into()),
                ));
            }
        }
    }
    out.extend(
        crate::ir::Func::ALL
            .iter()
            .map(|f| item(f.name().to_string(), CompletionItemKind::FUNCTION, None)),
    );
    out
}

/// The workspace analyzed with a name completing the dotted name that ends
/// at `at` (`pvc.` → `pvc.PLACEHOLDER`): a buffer being typed does not parse,
/// and a file that does not parse has no metrics or tests (rust-analyzer
/// completes with a dummy identifier too).
fn placeholder_analysis(ws: &Workspace, path: &Path, at: usize) -> Analysis {
    let mut ws = ws.clone();
    if let Some((v, text)) = ws.open.get(path).cloned() {
        let mut text = text;
        text.insert_str(at, PLACEHOLDER);
        ws.open.insert(path.to_path_buf(), (v, text));
    } else if let Some(text) = ws.disk.get_mut(path) {
        text.insert_str(at, PLACEHOLDER);
    }
    ws.analyze()
}

/// The name that completes a dotted name for [`placeholder_analysis`].
const PLACEHOLDER: &str = "autopilot_completion";

/// Whether `key` can be written after a dot (`pvc.labels.app`).
fn is_name(key: &str) -> bool {
    let mut chars = key.chars();
    chars.next().is_some_and(|c| c.is_alphabetic() || c == '_')
        && chars.all(|c| c.is_alphanumeric() || c == '_')
}

/// The keys of `map` (`labels` or `annotations`) of every `kind` object the
/// workspace's test blocks declare, create or set, sorted.
fn fixture_keys(a: &Analysis, kind: &str, map: &str) -> std::collections::BTreeSet<String> {
    let mut keys = std::collections::BTreeSet::new();
    for (_, file) in a.compiled.user_files() {
        for item in &file.items {
            let ast::Item::Test(t) = item else { continue };
            for stmt in &t.stmts {
                let (k, fields) = match &stmt.kind {
                    ast::TestStmtKind::Object { kind, fields, .. }
                    | ast::TestStmtKind::Change { kind, fields, .. } => (kind, fields),
                    _ => continue,
                };
                if k.name != kind {
                    continue;
                }
                for f in fields.iter().flat_map(|r| &r.fields) {
                    if f.name.name == map
                        && let ast::FieldValue::Record(r) = &f.value
                    {
                        keys.extend(r.fields.iter().map(|f| f.name.name.clone()));
                    }
                }
            }
        }
    }
    keys
}

/// Whether `at` is inside the braces of a `policy … { … }`.
fn inside_policy(text: &str, at: usize) -> bool {
    let before = &text[..at];
    let Some(p) = before.rfind("policy ") else {
        return false;
    };
    let opens = before[p..].matches('{').count();
    let closes = before[p..].matches('}').count();
    opens > closes
}

/// Quick fixes: every diagnostic whose help names a concrete replacement
/// ("did you mean `x`?", "write `50%`") and whose primary span overlaps
/// `range` becomes an edit of that span.
pub fn quick_fixes(
    ws: &Workspace,
    a: &Analysis,
    path: &Path,
    want: lsp_types::Range,
) -> Vec<CodeAction> {
    let Some(uri) = super::workspace::uri_of(path) else {
        return Vec::new();
    };
    let Some(file_id) = a.file_id(path) else {
        return Vec::new();
    };
    let file = a.compiled.sources.get(file_id);
    let mut out = Vec::new();
    for d in &a.diagnostics {
        if d.primary.span.file != file_id {
            continue;
        }
        let Some(replacement) = d.help.as_deref().and_then(replacement) else {
            continue;
        };
        let r = range(file, d.primary.span, ws.encoding);
        if r.end < want.start || want.end < r.start {
            continue;
        }
        let edit = lsp_types::TextDocumentEdit {
            text_document: lsp_types::OptionalVersionedTextDocumentIdentifier {
                uri: uri.clone(),
                version: ws.open.get(path).map(|(v, _)| *v),
            },
            edits: vec![lsp_types::OneOf::Left(TextEdit {
                range: r,
                new_text: replacement.to_string(),
            })],
        };
        out.push(CodeAction {
            title: format!("Replace with `{replacement}`"),
            kind: Some(CodeActionKind::QUICKFIX),
            diagnostics: None,
            edit: Some(WorkspaceEdit {
                document_changes: Some(lsp_types::DocumentChanges::Edits(vec![edit])),
                ..WorkspaceEdit::default()
            }),
            is_preferred: Some(true),
            ..CodeAction::default()
        });
    }
    out
}

/// The replacement a help names: `did you mean `x`?` or `write `x``.
fn replacement(help: &str) -> Option<&str> {
    for lead in ["did you mean `", "write `"] {
        if let Some(i) = help.find(lead) {
            let rest = &help[i + lead.len()..];
            let end = rest.find('`')?;
            return Some(&rest[..end]);
        }
    }
    None
}

/// A name the checker resolves, which definition and references follow.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Symbol {
    Let(String),
    Metric(Kind, String),
    Policy(String),
}

/// Where a symbol is written: its span, what it names, and whether it is
/// the definition.
type Occurrence = (crate::source::Span, Symbol, bool);

/// The occurrences of lets, metrics and policies in one file, resolved as
/// the checker resolves a path (`check/expr.rs`): a kind's field before a
/// metric of that kind, `namespace.…` never a let, a let by its name.
struct Occurrences<'a> {
    program: &'a Program,
    lets: &'a std::collections::BTreeSet<&'a str>,
    out: Vec<Occurrence>,
}

impl crate::syntax::visit::Visit for Occurrences<'_> {
    fn visit_let(&mut self, x: &ast::Let) {
        self.out
            .push((x.name.span, Symbol::Let(x.name.name.clone()), true));
        crate::syntax::visit::visit_let(self, x);
    }

    fn visit_metric(&mut self, x: &ast::Metric) {
        if let Some(kind) = Kind::from_name(&x.kind.name) {
            let span = crate::source::Span::new(
                x.kind.span.file,
                x.kind.span.start as usize,
                x.name.span.end as usize,
            );
            self.out
                .push((span, Symbol::Metric(kind, x.name.name.clone()), true));
        }
    }

    fn visit_policy(&mut self, x: &ast::Policy) {
        self.out
            .push((x.name.span, Symbol::Policy(x.name.name.clone()), true));
        crate::syntax::visit::visit_policy(self, x);
    }

    fn visit_target(&mut self, x: &ast::Target) {
        if !x.quoted {
            self.out
                .push((x.policy.span, Symbol::Policy(x.policy.name.clone()), false));
        }
    }

    fn visit_path(&mut self, p: &ast::Path) {
        let [root, rest @ ..] = &p.segments[..] else {
            return;
        };
        if let Some(kind) = Kind::from_name(&root.name) {
            if let [second] = rest
                && !second.quoted
                && kinds::field(kind, &second.name).is_none()
                && self
                    .program
                    .metrics
                    .iter()
                    .any(|m| m.kind == kind && m.name == second.name)
            {
                let span = crate::source::Span::new(
                    root.span.file,
                    root.span.start as usize,
                    second.span.end as usize,
                );
                self.out
                    .push((span, Symbol::Metric(kind, second.name.clone()), false));
            }
        } else if root.name != "namespace" && self.lets.contains(root.name.as_str()) {
            self.out
                .push((root.span, Symbol::Let(root.name.clone()), false));
        }
    }
}

/// Every occurrence of a let, metric or policy in the workspace's files
/// (the stdlib's included), in file order.
fn occurrences(a: &Analysis) -> Vec<Occurrence> {
    use crate::syntax::visit::Visit;
    let lets: std::collections::BTreeSet<&str> = a
        .compiled
        .files
        .iter()
        .flat_map(|(_, f)| &f.items)
        .filter_map(|i| match i {
            ast::Item::Let(l) => Some(l.name.name.as_str()),
            _ => None,
        })
        .collect();
    let mut v = Occurrences {
        program: &a.compiled.checked.program,
        lets: &lets,
        out: Vec::new(),
    };
    for (_, f) in &a.compiled.files {
        v.visit_file(f);
    }
    v.out
}

/// The symbol written at `at` in `path`, when the file parses.
fn symbol_at(all: &[Occurrence], a: &Analysis, path: &Path, at: usize) -> Option<Symbol> {
    let file = a.file_id(path)?;
    all.iter()
        .filter(|(span, _, _)| {
            span.file == file && span.start as usize <= at && at <= span.end as usize
        })
        .min_by_key(|(span, _, _)| span.len())
        .map(|(_, s, _)| s.clone())
}

/// A span as a location: a stdlib file's in its read-only copy under
/// `stdlib_dir` (see [`stdlib_copy`]).
fn location(
    ws: &Workspace,
    a: &Analysis,
    span: crate::source::Span,
    stdlib_dir: Option<&Path>,
) -> Option<lsp_types::Location> {
    let file = a.compiled.sources.get(span.file);
    let target = if file.is_stdlib() {
        stdlib_copy(stdlib_dir?, &file.name, &file.text)?
    } else {
        std::path::PathBuf::from(&file.name)
    };
    Some(lsp_types::Location {
        uri: super::workspace::uri_of(&target)?,
        range: range(file, span, ws.encoding),
    })
}

/// Where the name at the cursor is defined: a `let`, a metric binding (a
/// stdlib one in its read-only copy), a policy (from a test). In a buffer
/// that does not parse, the dotted word at the cursor is looked up by name.
pub fn definition(
    ws: &Workspace,
    a: &Analysis,
    path: &Path,
    pos: Position,
    stdlib_dir: Option<&Path>,
) -> Option<lsp_types::Location> {
    let text = ws.text(path)?;
    let at = offset(text, pos, ws.encoding);
    let all = occurrences(a);
    let span = match symbol_at(&all, a, path, at) {
        Some(symbol) => all
            .iter()
            .find(|(_, s, def)| *def && *s == symbol)
            .map(|(span, _, _)| *span)?,
        None => definition_span(a, word_at(text, at).1)?,
    };
    location(ws, a, span, stdlib_dir)
}

/// The span that defines `word`: a metric's name, a let's name, a policy's name.
fn definition_span(a: &Analysis, word: &str) -> Option<crate::source::Span> {
    occurrences(a)
        .into_iter()
        .find(|(_, s, def)| {
            *def && match s {
                Symbol::Let(n) | Symbol::Policy(n) => n == word,
                Symbol::Metric(k, n) => format!("{k}.{n}") == word,
            }
        })
        .map(|(span, _, _)| span)
}

/// Every use of the let, metric or policy at the cursor, as the checker
/// resolves names (a field of the same name, a word in a comment or in
/// PromQL, is not one), and its definition when `declaration`.
pub fn references(
    ws: &Workspace,
    a: &Analysis,
    path: &Path,
    pos: Position,
    declaration: bool,
    stdlib_dir: Option<&Path>,
) -> Vec<lsp_types::Location> {
    let Some(text) = ws.text(path) else {
        return Vec::new();
    };
    let at = offset(text, pos, ws.encoding);
    let all = occurrences(a);
    let Some(symbol) = symbol_at(&all, a, path, at) else {
        return Vec::new();
    };
    all.iter()
        .filter(|(_, s, def)| *s == symbol && (declaration || !def))
        .filter_map(|(span, _, _)| location(ws, a, *span, stdlib_dir))
        .collect()
}

/// A stdlib file (`<stdlib/pvc.apr>`) written once, read-only, under `dir`
/// (the cache directory of this version), for an editor to open.
pub fn stdlib_copy(dir: &Path, name: &str, text: &str) -> Option<std::path::PathBuf> {
    let file = name.trim_start_matches("<stdlib/").trim_end_matches('>');
    let path = dir.join(file);
    if std::fs::read_to_string(&path).ok().as_deref() != Some(text) {
        std::fs::create_dir_all(dir).ok()?;
        let _ = std::fs::remove_file(&path);
        std::fs::write(&path, text).ok()?;
        let mut perms = std::fs::metadata(&path).ok()?.permissions();
        perms.set_readonly(true);
        let _ = std::fs::set_permissions(&path, perms);
    }
    Some(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replacements_named_by_help() {
        assert_eq!(
            replacement("did you mean `nearly_full`?"),
            Some("nearly_full")
        );
        assert_eq!(
            replacement("the other side is a percent; write `50%`"),
            Some("50%")
        );
        assert_eq!(replacement("add a `min_step`"), None);
    }

    #[test]
    fn words_at_the_cursor() {
        let t = "when pvc.usage > 5";
        assert_eq!(word_at(t, 7), (5, "pvc.usage"));
        assert_eq!(word_at(t, 14), (5, "pvc.usage"));
        assert_eq!(word_at(t, 15), (15, ""));
    }
}
