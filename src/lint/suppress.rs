//! Disable comments.
//!
//! - `# apr-lint-disable NAME[, NAME]...` on a line of its own disables the
//!   rules for the next line that holds code (and the comment lines before
//!   it): a diagnostic is suppressed when its primary span starts on that
//!   line. When that line starts a top-level item (a policy, a rule, a
//!   `let`, a `metric`), they are disabled for every line of the item
//!   ([`Directives::widen`]). At the end of a line of code it disables them
//!   for that line only.
//! - `# apr-lint-disable-file NAME[, NAME]...` anywhere disables them for the
//!   whole file.
//!
//! Names are separated by commas or spaces; ` -- ` starts a free-text reason.
//! A name that is no rule, or a misspelt directive, is itself a warning
//! (`unknown-rule`), so a typo never silently disables nothing.

use std::collections::{HashMap, HashSet};

use super::{Cx, RULES, by_name, rule};
use crate::diagnostic::{Diagnostic, did_you_mean};
use crate::source::{FileId, Span};
use crate::syntax::comments;

pub const DISABLE: &str = "apr-lint-disable";
pub const DISABLE_FILE: &str = "apr-lint-disable-file";

rule!(
    UNKNOWN_RULE = "unknown-rule",
    Warning,
    "a disable comment names no lint rule, or misspells the directive",
    unknown_rule
);

/// The disable comments of one file.
#[derive(Debug, Default)]
pub struct Directives {
    file: HashSet<String>,
    /// 1-based line → rules disabled on it.
    lines: HashMap<usize, HashSet<String>>,
    /// The same, from directives on lines of their own only: those that
    /// widen to the item the line starts.
    above: HashMap<usize, HashSet<String>>,
    /// Names that are no rule, and misspelt directives.
    problems: Vec<Problem>,
}

#[derive(Debug)]
enum Problem {
    UnknownRule { name: String, span: Span },
    NoNames { span: Span },
    UnknownDirective { word: String, span: Span },
}

impl Directives {
    /// Whether `rule` is disabled for a diagnostic starting on `line`.
    pub fn disables(&self, rule: &str, line: usize) -> bool {
        self.file.contains(rule) || self.lines.get(&line).is_some_and(|l| l.contains(rule))
    }

    /// Disables the rules of a directive above the first line of an item
    /// for all of its lines; `items` are the first and last lines (1-based)
    /// of the top-level items of the file.
    pub fn widen(&mut self, items: impl IntoIterator<Item = (usize, usize)>) {
        for (first, last) in items {
            let Some(names) = self.above.get(&first) else {
                continue;
            };
            for line in first + 1..=last {
                self.lines
                    .entry(line)
                    .or_default()
                    .extend(names.iter().cloned());
            }
        }
    }
}

/// Finds the disable comments of a file.
pub fn parse(file: FileId, text: &str) -> Directives {
    let comments = comments::comments(text);
    // Lines that hold only a comment (or nothing) do not take a directive.
    let lines = comments::Lines::new(text, &comments);
    let mut out = Directives::default();
    for c in &comments {
        let Some(d) = directive(&c.text, c.span.start) else {
            continue;
        };
        let at = |start: usize, len: usize| Span::new(file, start, start + len);
        let above = !c.trailing;
        let target = match d.word {
            DISABLE_FILE => None,
            DISABLE => {
                let line = lines.line_of(c.span.start);
                // The comment lines in between are covered too, so that a
                // directive can disable `unknown-rule` for the next one.
                Some(if c.trailing {
                    line..=line
                } else {
                    line + 1..=lines.next_code_line(line).unwrap_or(lines.count())
                })
            }
            other => {
                out.problems.push(Problem::UnknownDirective {
                    word: other.to_string(),
                    span: at(d.word_start, other.len()),
                });
                continue;
            }
        };
        if d.names.is_empty() {
            out.problems.push(Problem::NoNames {
                span: at(d.word_start, d.word.len()),
            });
        }
        for (name, start) in d.names {
            if by_name(name).is_none() {
                out.problems.push(Problem::UnknownRule {
                    name: name.to_string(),
                    span: at(start, name.len()),
                });
                continue;
            }
            match &target {
                None => {
                    out.file.insert(name.to_string());
                }
                Some(range) => {
                    for line in range.clone() {
                        out.lines.entry(line).or_default().insert(name.to_string());
                        if above {
                            out.above.entry(line).or_default().insert(name.to_string());
                        }
                    }
                }
            }
        }
    }
    out
}

/// A comment that starts `# apr-lint…`: its directive word and names, with
/// their byte offsets in the file.
struct Directive<'t> {
    word: &'t str,
    word_start: usize,
    names: Vec<(&'t str, usize)>,
}

fn directive(comment: &str, start: usize) -> Option<Directive<'_>> {
    let body = comment.strip_prefix('#')?;
    let trimmed = body.trim_start();
    if !trimmed.starts_with("apr-lint") {
        return None;
    }
    let word_start = start + 1 + (body.len() - trimmed.len());
    let word_len = trimmed.find(char::is_whitespace).unwrap_or(trimmed.len());
    let word = &trimmed[..word_len];
    let rest = &trimmed[word_len..];
    let rest = rest.split(" -- ").next().unwrap_or("");
    let mut names = Vec::new();
    let mut offset = word_start + word_len;
    for token in rest.split_inclusive([',', ' ', '\t']) {
        let name = token.trim_end_matches([',', ' ', '\t']);
        if !name.is_empty() {
            names.push((name, offset));
        }
        offset += token.len();
    }
    Some(Directive {
        word,
        word_start,
        names,
    })
}

fn unknown_rule(cx: &Cx) -> Vec<Diagnostic> {
    let mut problems: Vec<&Problem> = cx.directives.values().flat_map(|d| &d.problems).collect();
    problems.sort_by_key(|p| match p {
        Problem::UnknownRule { span, .. }
        | Problem::NoNames { span }
        | Problem::UnknownDirective { span, .. } => *span,
    });
    let names = || RULES.iter().map(|r| r.name);
    problems
        .into_iter()
        .map(|p| match p {
            Problem::UnknownRule { name, span } => {
                let help = did_you_mean(name, names()).unwrap_or_else(|| {
                    "`autopilot lint --list` shows the rules".to_string()
                });
                UNKNOWN_RULE
                    .diag(*span, format!("no lint rule is named `{name}`"))
                    .label("unknown rule")
                    .help(help)
            }
            Problem::NoNames { span } => UNKNOWN_RULE
                .diag(*span, "this disable comment names no rule")
                .label("disables nothing")
                .help(format!(
                    "name the rules: `# {DISABLE} for-below-tick`; `autopilot lint --list` shows them"
                )),
            Problem::UnknownDirective { word, span } => {
                let help = did_you_mean(word, [DISABLE, DISABLE_FILE]).unwrap_or_else(|| {
                    format!("the directives are `{DISABLE}` and `{DISABLE_FILE}`")
                });
                UNKNOWN_RULE
                    .diag(*span, format!("unknown lint directive `{word}`"))
                    .label("not a directive")
                    .help(help)
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(d: &Directives) -> Vec<(usize, Vec<&str>)> {
        let mut out: Vec<(usize, Vec<&str>)> = d
            .lines
            .iter()
            .map(|(l, names)| {
                let mut names: Vec<&str> = names.iter().map(String::as_str).collect();
                names.sort();
                (*l, names)
            })
            .collect();
        out.sort();
        out
    }

    #[test]
    fn a_directive_covers_the_next_line_of_code() {
        let text = "# apr-lint-disable for-below-tick, constant-condition\n\n# other\nwhen x\n";
        let d = parse(FileId(0), text);
        let both = || vec!["constant-condition", "for-below-tick"];
        assert_eq!(lines(&d), [(2, both()), (3, both()), (4, both())]);
        assert!(d.disables("for-below-tick", 4));
        assert!(!d.disables("for-below-tick", 5) && !d.disables("unused-let", 4));
        assert!(d.problems.is_empty());
    }

    #[test]
    fn stacked_directives_reach_the_same_line() {
        let text = "# apr-lint-disable unused-let\n# apr-lint-disable unused-metric\nlet a = 1\n";
        let d = parse(FileId(0), text);
        assert_eq!(
            lines(&d),
            [
                (2, vec!["unused-let"]),
                (3, vec!["unused-let", "unused-metric"])
            ]
        );
    }

    #[test]
    fn trailing_directive_covers_its_own_line() {
        let text = "let a = 1 # apr-lint-disable unused-let -- kept for later\nlet b = 2\n";
        let d = parse(FileId(0), text);
        assert_eq!(lines(&d), [(1, vec!["unused-let"])]);
        assert!(d.problems.is_empty(), "{:?}", d.problems);
    }

    #[test]
    fn file_directives_and_spaces() {
        let text = "let a = 1\n#apr-lint-disable-file unused-let unused-metric\n";
        let d = parse(FileId(0), text);
        assert!(d.disables("unused-let", 1) && d.disables("unused-metric", 99));
        assert!(lines(&d).is_empty());
    }

    #[test]
    fn problems_point_at_the_name() {
        let text = "# apr-lint-disable unused-lett, unused-let\n# apr-lint-disabel x\n# apr-lint-disable\nlet a = 1";
        let d = parse(FileId(0), text);
        let spans: Vec<&str> = d
            .problems
            .iter()
            .map(|p| match p {
                Problem::UnknownRule { span, .. }
                | Problem::NoNames { span }
                | Problem::UnknownDirective { span, .. } => &text[span.range()],
            })
            .collect();
        assert_eq!(
            spans,
            ["unused-lett", "apr-lint-disabel", "apr-lint-disable"]
        );
        // The good name still counts; the directive on the last comment
        // line reaches the `let`.
        assert!(d.disables("unused-let", 4));
    }

    #[test]
    fn a_directive_above_an_item_covers_all_of_it() {
        let text = "# apr-lint-disable unbounded-disruption\npolicy p {\n  on pod\n  when pod.restarts > 1\n  then evict()\n}\nwhen pod.restarts > 1 then evict()\n";
        let mut d = parse(FileId(0), text);
        d.widen([(2, 6), (7, 7)]);
        assert!((2..=6).all(|l| d.disables("unbounded-disruption", l)));
        assert!(!d.disables("unbounded-disruption", 7));
        assert!(!d.disables("unused-let", 4));
    }

    #[test]
    fn a_trailing_directive_or_one_inside_an_item_does_not_widen() {
        let text = "policy p { # apr-lint-disable unused-let\n  # apr-lint-disable for-below-tick\n  when pod.restarts > 1 for 1s\n  then evict()\n}\n";
        let mut d = parse(FileId(0), text);
        d.widen([(1, 5)]);
        assert!(d.disables("unused-let", 1) && !d.disables("unused-let", 2));
        assert!(d.disables("for-below-tick", 3) && !d.disables("for-below-tick", 4));
    }

    #[test]
    fn hash_in_strings_is_no_directive() {
        let text = "let a = \"# apr-lint-disable x\"\n";
        let d = parse(FileId(0), text);
        assert!(d.problems.is_empty() && lines(&d).is_empty());
    }
}
