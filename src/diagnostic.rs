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
/// 8 s). What miette gets to see is the same, so the drawing is too.
#[derive(Debug)]
struct Source<'a>(&'a SourceFile);

impl SourceCode for Source<'_> {
    fn read_span<'a>(
        &'a self,
        span: &SourceSpan,
        before: usize,
        after: usize,
    ) -> Result<Box<dyn SpanContents<'a> + 'a>, MietteError> {
        let file = self.0;
        // miette also breaks lines at a lone `\r`, which the index does not.
        let (line, start) = if span.offset() > file.text.len() || file.has_lone_cr() {
            (0, 0)
        } else {
            file.line_start(span.offset(), before + 1)
        };
        let inner = SourceSpan::new((span.offset() - start).into(), span.len());
        let found = file.text[start..].read_span(&inner, before, after)?;
        Ok(Box::new(MietteSpanContents::new_named(
            file.name.clone(),
            found.data(),
            SourceSpan::new((found.span().offset() + start).into(), found.span().len()),
            found.line() + line,
            found.column(),
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

fn labeled(label: &Label, primary: bool) -> LabeledSpan {
    let span = (label.span.start as usize, label.span.len());
    if primary {
        LabeledSpan::new_primary_with_span(label.message.clone(), span)
    } else {
        LabeledSpan::new_with_span(label.message.clone(), span)
    }
}

fn report<'a>(sources: &'a SourceMap, d: &Diagnostic) -> Report<'a> {
    let file = sources.get(d.primary.span.file);
    let mut labels = vec![labeled(&d.primary, true)];
    let mut related = Vec::new();
    for label in &d.secondary {
        if label.span.file == d.primary.span.file {
            labels.push(labeled(label, false));
        } else {
            let other = sources.get(label.span.file);
            related.push(Report {
                code: "",
                severity: miette::Severity::Advice,
                message: label.message.clone().unwrap_or_default(),
                help: None,
                source: Source(other),
                labels: vec![labeled(label, true)],
                related: Vec::new(),
            });
        }
    }
    Report {
        code: d.code,
        severity: miette_severity(d.severity),
        message: d.message.clone(),
        help: d.help.clone().filter(|h| !h.trim().is_empty()),
        source: Source(file),
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
            d.message,
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
