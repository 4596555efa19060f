//! Diagnostics as plain data, rendered in one place.
//!
//! Every pass returns `Vec<Diagnostic>`; the CLI renders them with miette
//! (graphical, colour or not) or as JSON. A future language server reads
//! the same data.

use std::fmt;

use miette::{
    GraphicalReportHandler, GraphicalTheme, LabeledSpan, MietteError, MietteSpanContents,
    SourceCode, SourceSpan, SpanContents,
};
use serde::Serialize;

use crate::source::{SourceFile, SourceMap, Span};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
    Advice,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Label {
    pub span: Span,
    pub message: Option<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Diagnostic {
    /// Stable code: `apr::parse::…`, `apr::type::…`, `apr::lint::…`.
    pub code: &'static str,
    pub severity: Severity,
    pub message: String,
    pub primary: Label,
    pub secondary: Vec<Label>,
    pub help: Option<String>,
}

impl Diagnostic {
    pub fn error(code: &'static str, span: Span, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            code,
            severity: Severity::Error,
            message: message.into(),
            primary: Label {
                span,
                message: None,
            },
            secondary: Vec::new(),
            help: None,
        }
    }

    pub fn warning(code: &'static str, span: Span, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(code, span, message)
        }
    }

    /// Text shown under the caret of the primary span.
    pub fn label(mut self, message: impl Into<String>) -> Diagnostic {
        self.primary.message = Some(message.into());
        self
    }

    pub fn also(mut self, span: Span, message: impl Into<String>) -> Diagnostic {
        self.secondary.push(Label {
            span,
            message: Some(message.into()),
        });
        self
    }

    /// Help under the snippet; an empty one is dropped, never shown as `help:`.
    pub fn help(mut self, help: impl Into<String>) -> Diagnostic {
        let help = help.into();
        if !help.trim().is_empty() {
            self.help = Some(help);
        }
        self
    }

    pub fn help_opt(mut self, help: Option<String>) -> Diagnostic {
        self.help = help.filter(|h| !h.trim().is_empty()).or(self.help);
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// "did you mean `x`?" for the closest candidate, if any is close enough.
pub fn did_you_mean<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<String> {
    closest(name, candidates).map(|c| format!("did you mean `{c}`?"))
}

pub fn closest<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(name, c), c))
        .filter(|(score, c)| *score >= 0.8 || c.starts_with(name) && !name.is_empty())
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

// ---------------------------------------------------------------- rendering

/// A file as miette reads it. miette finds the lines around a span by
/// scanning the text from its start; this starts it a line above the
/// context, through the file's line index, so that drawing a diagnostic
/// costs its context, not the file (5,000 diagnostics in a 400 KB file took
/// 8 s). Columns are counted in characters, as in JSON output (miette
/// counts bytes). Lines that are very long or hold control characters are
/// drawn from a [`View`] instead.
#[derive(Debug)]
struct Source<'a> {
    file: &'a SourceFile,
    view: Option<View>,
}

/// The lines around a diagnostic's labels as they are safe to print: a
/// line longer than [`LONG_LINE`] bytes is cut to a window around its
/// label, and control characters are written as escapes (`\u{1b}`), so a
/// policy cannot send escape sequences to the terminal.
#[derive(Debug)]
struct View {
    text: String,
    /// 0-based line of the file where `text` starts.
    first_line: usize,
    /// (file offset, view offset) at every character kept, in order.
    anchors: Vec<(usize, usize)>,
}

/// Lines longer than this, in bytes, are shown as a window.
const LONG_LINE: usize = 400;
/// Characters shown before and after a label's start in a long line.
const BEFORE: usize = 100;
const AFTER: usize = 200;

/// Whether `c` must not reach a terminal as it is.
fn is_control(c: char) -> bool {
    (c.is_control() && c != '\t' && c != '\n') || c == '\u{7f}'
}

/// `text` with control characters written as `\u{…}`.
pub fn escape_controls(text: &str) -> String {
    if !text.chars().any(is_control) {
        return text.to_string();
    }
    text.chars()
        .map(|c| {
            if is_control(c) {
                format!("\\u{{{:x}}}", c as u32)
            } else {
                c.to_string()
            }
        })
        .collect()
}

impl View {
    /// A view of `file`'s lines around `offsets` (label starts), or None
    /// when those lines can be shown as they are.
    fn around(file: &SourceFile, offsets: &[usize]) -> Option<View> {
        let text = &file.text;
        let line_of = |o: usize| file.line_start(o, 0).0;
        let first = offsets.iter().map(|&o| line_of(o)).min()?.saturating_sub(1);
        let last = offsets.iter().map(|&o| line_of(o)).max()? + 1;
        let start = file.line_starts_at(first);
        let end = file.line_starts_at(last + 1);
        // Only the lines miette shows (a line either side of each label)
        // are looked at, so that two labels far apart cost no more.
        let shown = |o: usize| {
            let line = line_of(o);
            let from = file.line_starts_at(line.saturating_sub(1));
            &text[from..file.line_starts_at(line + 2)]
        };
        let needed = offsets.iter().any(|&o| {
            let lines = shown(o);
            lines.split('\n').any(|l| l.len() > LONG_LINE)
                || lines.chars().any(|c| is_control(c) && c != '\r')
        });
        if !needed || file.has_lone_cr() {
            return None;
        }
        let region = &text[start..end];
        let mut view = View {
            text: String::new(),
            first_line: first,
            anchors: Vec::new(),
        };
        let mut line_start = start;
        for line in region.split_inclusive('\n') {
            let line_end = line_start + line.len();
            let focus = offsets
                .iter()
                .filter(|&&o| o >= line_start && o < line_end.max(line_start + 1))
                .min()
                .map_or(0, |&o| {
                    // A span is on character boundaries, but drawing must not panic if not.
                    text.get(line_start..o.min(line_end))
                        .map_or(0, |s| s.chars().count())
                });
            view.line(line, line_start, focus);
            line_start = line_end;
        }
        view.anchors.push((end, view.text.len()));
        Some(view)
    }

    fn line(&mut self, line: &str, at: usize, focus: usize) {
        let long = line.len() > LONG_LINE;
        let from = if long {
            focus.saturating_sub(BEFORE)
        } else {
            0
        };
        let to = if long { focus + AFTER } else { usize::MAX };
        let mut cut = false;
        for (n, (i, c)) in line.char_indices().enumerate() {
            let keep = (n >= from && n < to) || c == '\n' || (c == '\r' && line[i..] == *"\r\n");
            if !keep {
                if !cut {
                    self.anchors.push((at + i, self.text.len()));
                    self.text.push('…');
                    cut = true;
                }
                continue;
            }
            cut = false;
            self.anchors.push((at + i, self.text.len()));
            if is_control(c) && c != '\r' {
                self.text.push_str(&format!("\\u{{{:x}}}", c as u32));
            } else {
                self.text.push(c);
            }
        }
    }

    /// Where a file offset is drawn: offsets in a cut part go to its `…`.
    fn to_view(&self, offset: usize) -> usize {
        let i = self.anchors.partition_point(|a| a.0 <= offset);
        self.anchors.get(i.wrapping_sub(1)).map_or(0, |a| a.1)
    }

    fn to_file(&self, offset: usize) -> usize {
        let i = self.anchors.partition_point(|a| a.1 <= offset);
        self.anchors.get(i.wrapping_sub(1)).map_or(0, |a| a.0)
    }
}

impl SourceCode for Source<'_> {
    fn read_span<'a>(
        &'a self,
        span: &SourceSpan,
        before: usize,
        after: usize,
    ) -> Result<Box<dyn SpanContents<'a> + 'a>, MietteError> {
        let file = self.file;
        if let Some(view) = &self.view {
            let found = view.text.read_span(span, before, after)?;
            let at = view.to_file(found.span().offset());
            let column = file.line_col(at).1 - 1;
            return Ok(Box::new(MietteSpanContents::new_named(
                file.name.clone(),
                found.data(),
                *found.span(),
                found.line() + view.first_line,
                column,
                found.line_count() + view.first_line,
            )));
        }
        // miette also breaks lines at a lone `\r`, which the index does not.
        let (line, start) = if span.offset() > file.text.len() || file.has_lone_cr() {
            (0, 0)
        } else {
            file.line_start(span.offset(), before + 1)
        };
        let inner = SourceSpan::new((span.offset() - start).into(), span.len());
        let found = file.text[start..].read_span(&inner, before, after)?;
        let offset = found.span().offset() + start;
        Ok(Box::new(MietteSpanContents::new_named(
            file.name.clone(),
            found.data(),
            SourceSpan::new(offset.into(), found.span().len()),
            found.line() + line,
            file.line_col(offset).1 - 1,
            found.line_count() + line,
        )))
    }
}

/// A diagnostic bound to its sources, in the shape miette renders.
#[derive(Debug)]
struct Report<'a> {
    code: &'static str,
    severity: miette::Severity,
    message: String,
    help: Option<String>,
    source: Source<'a>,
    labels: Vec<LabeledSpan>,
    related: Vec<Report<'a>>,
}

impl fmt::Display for Report<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Report<'_> {}

impl miette::Diagnostic for Report<'_> {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        (!self.code.is_empty()).then(|| Box::new(self.code) as Box<dyn fmt::Display>)
    }
    fn severity(&self) -> Option<miette::Severity> {
        Some(self.severity)
    }
    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }
    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        Some(&self.source)
    }
    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        Some(Box::new(self.labels.iter().cloned()))
    }
    fn related<'a>(&'a self) -> Option<Box<dyn Iterator<Item = &'a dyn miette::Diagnostic> + 'a>> {
        if self.related.is_empty() {
            return None;
        }
        Some(Box::new(
            self.related.iter().map(|r| r as &dyn miette::Diagnostic),
        ))
    }
}

fn miette_severity(s: Severity) -> miette::Severity {
    match s {
        Severity::Error => miette::Severity::Error,
        Severity::Warning => miette::Severity::Warning,
        Severity::Advice => miette::Severity::Advice,
    }
}

fn labeled(label: &Label, primary: bool, view: Option<&View>) -> LabeledSpan {
    let (start, end) = (label.span.start as usize, label.span.end as usize);
    let (start, end) = match view {
        Some(v) => (v.to_view(start), v.to_view(end)),
        None => (start, end),
    };
    let message = label.message.as_deref().map(escape_controls);
    let span = (start, end.saturating_sub(start));
    if primary {
        LabeledSpan::new_primary_with_span(message, span)
    } else {
        LabeledSpan::new_with_span(message, span)
    }
}

fn report<'a>(sources: &'a SourceMap, d: &Diagnostic) -> Report<'a> {
    let file = sources.get(d.primary.span.file);
    let here: Vec<&Label> = std::iter::once(&d.primary)
        .chain(
            d.secondary
                .iter()
                .filter(|l| l.span.file == d.primary.span.file),
        )
        .collect();
    let starts: Vec<usize> = here.iter().map(|l| l.span.start as usize).collect();
    let view = View::around(file, &starts);
    let labels = here
        .iter()
        .enumerate()
        .map(|(i, l)| labeled(l, i == 0, view.as_ref()))
        .collect();
    let related = d
        .secondary
        .iter()
        .filter(|l| l.span.file != d.primary.span.file)
        .map(|label| {
            let other = sources.get(label.span.file);
            let view = View::around(other, &[label.span.start as usize]);
            Report {
                code: "",
                severity: miette::Severity::Advice,
                message: escape_controls(label.message.as_deref().unwrap_or_default()),
                help: None,
                labels: vec![labeled(label, true, view.as_ref())],
                source: Source { file: other, view },
                related: Vec::new(),
            }
        })
        .collect();
    Report {
        code: d.code,
        severity: miette_severity(d.severity),
        message: escape_controls(&d.message),
        help: d
            .help
            .as_deref()
            .filter(|h| !h.trim().is_empty())
            .map(escape_controls),
        source: Source { file, view },
        labels,
        related,
    }
}

/// How diagnostics are drawn for people.
#[derive(Clone, Copy, Debug)]
pub struct Style {
    pub color: bool,
    pub width: usize,
}

impl Style {
    /// No colour, fixed width: what snapshot tests use.
    pub const PLAIN: Style = Style {
        color: false,
        width: 100,
    };
}

/// Renders one diagnostic with a source snippet, file:line:col, code and help.
pub fn render(sources: &SourceMap, d: &Diagnostic, style: Style) -> String {
    let theme = if style.color {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    let handler = GraphicalReportHandler::new_themed(theme)
        .with_width(style.width)
        .with_links(false);
    let mut out = String::new();
    if handler
        .render_report(&mut out, &report(sources, d))
        .is_err()
    {
        out = format!(
            "{}: {} [{}]\n",
            sources.location(d.primary.span),
            escape_controls(&d.message),
            d.code
        );
    }
    out
}

pub fn render_all(sources: &SourceMap, diags: &[Diagnostic], style: Style) -> String {
    diags.iter().map(|d| render(sources, d, style)).collect()
}

// ---------------------------------------------------------------- json

#[derive(Serialize)]
pub struct JsonLabel {
    pub file: String,
    pub line: usize,
    pub column: usize,
    pub end_line: usize,
    pub end_column: usize,
    pub message: Option<String>,
}

#[derive(Serialize)]
pub struct JsonDiagnostic {
    pub code: &'static str,
    pub severity: Severity,
    pub message: String,
    pub file: String,
    pub line: usize,
    pub column: usize,
    pub help: Option<String>,
    pub labels: Vec<JsonLabel>,
}

fn json_label(sources: &SourceMap, l: &Label) -> JsonLabel {
    let file = sources.get(l.span.file);
    let (line, column) = file.line_col(l.span.start as usize);
    let (end_line, end_column) = file.line_col(l.span.end as usize);
    JsonLabel {
        file: file.name.clone(),
        line,
        column,
        end_line,
        end_column,
        message: l.message.clone(),
    }
}

pub fn to_json(sources: &SourceMap, d: &Diagnostic) -> JsonDiagnostic {
    let primary = json_label(sources, &d.primary);
    JsonDiagnostic {
        code: d.code,
        severity: d.severity,
        message: d.message.clone(),
        file: primary.file.clone(),
        line: primary.line,
        column: primary.column,
        help: d.help.clone().filter(|h| !h.trim().is_empty()),
        labels: std::iter::once(primary)
            .chain(d.secondary.iter().map(|l| json_label(sources, l)))
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(text: &str, start: usize, end: usize) -> (SourceMap, Diagnostic) {
        let mut sources = SourceMap::new();
        let file = sources.add("f.apr", text);
        let d = Diagnostic::error("apr::test", Span::new(file, start, end), "bad")
            .label("here")
            .help("fix it");
        (sources, d)
    }

    /// The `file:line:col` miette prints in the snippet header.
    fn header(out: &str) -> &str {
        let at = out.find("[f.apr:").expect("a location header") + 1;
        &out[at..at + out[at..].find(']').expect("header end")]
    }

    #[test]
    fn columns_count_characters_as_json_does() {
        let text = "let a = \"ééé→\" + x\n";
        let at = text.find('x').expect("x");
        let (sources, d) = one(text, at, at + 1);
        let out = render(&sources, &d, Style::PLAIN);
        let json = to_json(&sources, &d);
        assert_eq!(json.column, 18);
        assert_eq!(header(&out), format!("f.apr:1:{}", json.column), "{out}");
    }

    #[test]
    fn a_long_line_is_shown_as_a_window() {
        let text = format!(
            "# long\nlet a = {}y + zz{}\nlet b = 1\n",
            "x + ".repeat(250_000),
            " + x".repeat(250_000)
        );
        let at = text.find("zz").expect("zz");
        let (sources, d) = one(&text, at, at + 2);
        let out = render(&sources, &d, Style::PLAIN);
        assert!(
            out.len() < 3_000,
            "{} bytes:\n{}",
            out.len(),
            &out[..3_000.min(out.len())]
        );
        assert!(out.contains("y + zz + x"), "{out}");
        assert!(out.contains('…'), "{out}");
        let col = text[..at].lines().last().expect("line").chars().count() + 1;
        assert_eq!(header(&out), format!("f.apr:2:{col}"), "{out}");
        assert!(out.contains("let b = 1"), "the next line is shown: {out}");
    }

    #[test]
    fn control_characters_are_escaped() {
        let text = "let a = \"\u{1b}[2J\u{9b}\u{7}\" + x\n";
        let at = text.find('x').expect("x");
        let (sources, mut d) = one(text, at, at + 1);
        d.message = "bad \u{1b}]0;title\u{7}".into();
        let out = render(&sources, &d, Style::PLAIN);
        assert!(!out.chars().any(is_control_shown), "{out:?}");
        assert!(out.contains("\\u{1b}[2J\\u{9b}\\u{7}"), "{out}");
        assert!(out.contains("bad \\u{1b}]0;title\\u{7}"), "{out}");
        let col = text[..at].chars().count() + 1;
        assert_eq!(header(&out), format!("f.apr:1:{col}"), "{out}");
    }

    fn is_control_shown(c: char) -> bool {
        is_control(c) && c != '\r'
    }

    #[test]
    fn empty_help_is_never_shown() {
        let (sources, d) = one("let a = x\n", 8, 9);
        let d = d.help("").help_opt(Some(" ".into()));
        assert_eq!(d.help.as_deref(), Some("fix it"));
        let mut d = d;
        d.help = Some(String::new());
        let out = render(&sources, &d, Style::PLAIN);
        assert!(!out.contains("help:"), "{out}");
        assert_eq!(to_json(&sources, &d).help, None);
    }
}
