//! Refusals for text whose AST is the same but whose meaning moves: an
//! anonymous rule (named `FILE:LINE`) or a disable comment's target line.

use super::*;

/// The 1-based line of byte `offset`.
pub(super) fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// Anonymous rules are named by their start line, so a rule the formatter
/// moves is renamed (tests, approvals and events use the name).
pub(super) fn moved_rules<'a>(
    file: FileId,
    text: &'a str,
    ast: &'a File,
    out: &'a str,
    again: &'a File,
) -> impl Iterator<Item = Diagnostic> + 'a {
    let rules = |f: &'a File| {
        f.items.iter().filter_map(|i| match i {
            Item::Rule(r) => Some(r.span),
            _ => None,
        })
    };
    rules(ast).zip(rules(again)).filter_map(move |(a, b)| {
        let (from, to) = (
            line_of(text, a.start as usize),
            line_of(out, b.start as usize),
        );
        (from != to).then(|| {
            let (start, end) = (a.start as usize, a.end as usize);
            let first_line_end = text
                .get(start..)
                .and_then(|t| t.find('\n'))
                .map_or(end, |n| (start + n).min(end));
            Diagnostic::error(
                codes::MOVES_RULE,
                Span::new(file, start, first_line_end),
                format!(
                    "formatting would move this anonymous rule from line {from} to line {to}, \
                     which renames it (an anonymous rule is named FILE:LINE)"
                ),
            )
            .label("left unformatted")
            .help(
                "give the rule a name, `policy NAME { when … then … }`, or put it on the \
                 line where the formatter keeps it (one blank line between items)",
            )
        })
    })
}

/// What each `apr-lint-disable` comment applies to (see `lint::suppress`):
/// its comment and the code of its target line, spacing and trailing commas
/// aside (the formatter changes those, not what a rule reports on).
pub(super) fn directive_targets(text: &str) -> Vec<(Comment, String)> {
    let comments = comments::comments(text);
    let lines = comments::Lines::new(text, &comments);
    // A line's code, without a trailing comment.
    let code = |line: usize| {
        let (start, written) = lines.line(line);
        let end = comments
            .iter()
            .find(|c| c.trailing && lines.line_of(c.span.start) == line)
            .map_or(start + written.len(), |c| c.span.start);
        canonical_code(&text[start..end])
    };
    comments
        .iter()
        .filter(|c| is_line_directive(&c.text))
        .map(|c| {
            let line = lines.line_of(c.span.start);
            let target = if c.trailing {
                Some(line)
            } else {
                lines.next_code_line(line)
            };
            (c.clone(), target.map(code).unwrap_or_default())
        })
        .collect()
}

pub(super) fn is_line_directive(comment: &str) -> bool {
    comment
        .strip_prefix('#')
        .map(str::trim_start)
        .and_then(|b| b.strip_prefix("apr-lint-disable"))
        .is_some_and(|rest| !rest.starts_with('-'))
}

/// Code without whitespace and without commas before a closing bracket or
/// at the end.
pub(super) fn canonical_code(code: &str) -> String {
    let mut out: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    while out.ends_with(',') {
        out.pop();
    }
    for close in [")", "]", "}"] {
        out = out.replace(&format!(",{close}"), close);
    }
    out
}

pub(super) fn moved_directives(
    file: FileId,
    text: &str,
    out: &str,
) -> impl Iterator<Item = Diagnostic> {
    let before = directive_targets(text);
    let after = directive_targets(out);
    before
        .into_iter()
        .zip(after)
        .filter(|((_, a), (_, b))| a != b)
        .map(move |((c, _), _)| {
            Diagnostic::error(
                codes::MOVES_DIRECTIVE,
                Span::new(file, c.span.start, c.span.end),
                "formatting would change the line this disable comment applies to",
            )
            .label("left unformatted")
            .help(
                "put the comment on its own line directly above the line it disables \
                 (not inside an expression or between actions), or at the end of that line",
            )
        })
}
