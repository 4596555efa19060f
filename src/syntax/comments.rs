//! Comments, found again in the source text.
//!
//! The grammar skips `#` comments, so they are not in the AST; `fmt` needs
//! them back, and `parse` uses them to keep trailing comments out of spans.
//! The scan knows just enough of the lexical grammar to not mistake a `#`
//! inside a `"..."` string (including strings nested in `{path}`
//! interpolations, `"{pvc.labels["a#b"]}"`) or a backtick PromQL query for a
//! comment. It never fails: on malformed input it finds what it can.

use std::ops::Range;

/// One `# ...` comment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Comment {
    /// From the `#` to the last non-blank character of the line.
    pub span: Range<usize>,
    /// The comment as written, `#` included, trailing whitespace trimmed.
    pub text: String,
    /// Code precedes the comment on its line.
    pub trailing: bool,
}

/// What the scanner is inside of.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// A `"..."` string.
    Str,
    /// A `{path}` interpolation inside a string: code until the `}`.
    Interp,
}

/// Every comment of `text`, in order.
pub fn comments(text: &str) -> Vec<Comment> {
    if !text.contains('#') {
        return Vec::new();
    }
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    // Empty stack: top-level code. Nesting is explicit, so deep input cannot
    // overflow the call stack.
    let mut stack: Vec<Mode> = Vec::new();
    let mut line_has_code = false;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'\n' {
            line_has_code = false;
            // A string ends at its line's end (an open one is a parse error;
            // the scan goes on as code). An interpolation may span lines.
            if stack.last() == Some(&Mode::Str) {
                stack.clear();
            }
            i += 1;
            continue;
        }
        match stack.last() {
            Some(Mode::Str) => match b {
                b'\\' => i += 1,
                b'"' => {
                    stack.pop();
                }
                b'{' if bytes.get(i + 1) == Some(&b'{') => i += 1,
                b'{' => stack.push(Mode::Interp),
                _ => {}
            },
            None | Some(Mode::Interp) => match b {
                b'#' => {
                    let end = text[i..].find('\n').map_or(text.len(), |n| i + n);
                    let body = text[i..end].trim_end();
                    out.push(Comment {
                        span: i..i + body.len(),
                        text: body.to_string(),
                        trailing: line_has_code,
                    });
                    i = end;
                    continue;
                }
                b'"' => stack.push(Mode::Str),
                b'`' => {
                    // PromQL may span lines; it ends at the next backtick.
                    let close = text[i + 1..].find('`').map_or(text.len(), |n| i + 1 + n);
                    // The closing backtick is code on the line it ends.
                    line_has_code = true;
                    i = close + 1;
                    continue;
                }
                b'}' if stack.last() == Some(&Mode::Interp) => {
                    stack.pop();
                }
                _ => {}
            },
        }
        if !matches!(b, b' ' | b'\t' | b'\r') {
            line_has_code = true;
        }
        i += 1;
    }
    out
}

/// The end of the last token in `text[start..end]`: trailing whitespace and
/// comments cut off. `comments` are those of `text`, in order.
pub fn trim_trivia(text: &str, comments: &[Comment], start: usize, mut end: usize) -> usize {
    loop {
        let kept = text[start..end].trim_end_matches([' ', '\t', '\r', '\n']);
        end = start + kept.len();
        // Comments do not overlap, so their ends are sorted too.
        match comments.binary_search_by_key(&end, |c| c.span.end) {
            Ok(k) if comments[k].span.start >= start => end = comments[k].span.start,
            _ => return end,
        }
    }
}

/// A file's lines as disable comments see them: which line an offset is on,
/// and the next line that holds code. `lint::suppress` decides with it what
/// a directive disables, and `fmt` whether formatting would change that.
pub struct Lines<'t> {
    starts: Vec<usize>,
    /// Lines holding only a comment.
    comment_lines: std::collections::HashSet<usize>,
    lines: Vec<&'t str>,
}

impl<'t> Lines<'t> {
    pub fn new(text: &'t str, comments: &[Comment]) -> Lines<'t> {
        let starts: Vec<usize> = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        let line_of = |offset: usize| starts.partition_point(|&s| s <= offset);
        let comment_lines = comments
            .iter()
            .filter(|c| !c.trailing)
            .map(|c| line_of(c.span.start))
            .collect();
        Lines {
            comment_lines,
            lines: text.split('\n').collect(),
            starts,
        }
    }

    /// The 1-based line of a byte offset.
    pub fn line_of(&self, offset: usize) -> usize {
        self.starts.partition_point(|&s| s <= offset)
    }

    /// How many lines the file has.
    pub fn count(&self) -> usize {
        self.lines.len()
    }

    /// The text of a 1-based line and its byte offset.
    pub fn line(&self, line: usize) -> (usize, &'t str) {
        (self.starts[line - 1], self.lines[line - 1])
    }

    /// The first line after `after` that is neither blank nor only a comment.
    pub fn next_code_line(&self, after: usize) -> Option<usize> {
        (after + 1..=self.lines.len())
            .find(|&l| !self.comment_lines.contains(&l) && !self.lines[l - 1].trim().is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(text: &str) -> Vec<(String, bool)> {
        comments(text)
            .into_iter()
            .map(|c| {
                assert_eq!(&text[c.span.clone()], c.text);
                (c.text, c.trailing)
            })
            .collect()
    }

    fn own(s: &str) -> (String, bool) {
        (s.to_string(), false)
    }

    fn trailing(s: &str) -> (String, bool) {
        (s.to_string(), true)
    }

    #[test]
    fn own_line_and_trailing() {
        let text = "# head  \nlet a = 1 # one\n  #indented\t\r\nlet b = 2#tight\n#";
        assert_eq!(
            texts(text),
            [
                own("# head"),
                trailing("# one"),
                own("#indented"),
                trailing("#tight"),
                own("#"),
            ]
        );
    }

    #[test]
    fn hash_in_strings_is_not_a_comment() {
        let text = r#"let a = "x # y \" # z \\" # real
let b = "{{ # }} {pvc.labels["a#b"]} # still string" # two
"#;
        assert_eq!(texts(text), [trailing("# real"), trailing("# two")]);
    }

    #[test]
    fn hash_in_promql_is_not_a_comment() {
        let text = "metric a.b : number = `x # not\n # not either\n` by (a) # yes\n# last";
        assert_eq!(texts(text), [trailing("# yes"), own("# last")]);
    }

    #[test]
    fn comment_inside_an_interpolation() {
        // `{ ... }` in a string is code: whitespace and comments may appear.
        let text = "let a = \"{ pvc.name # inside\n}\" # after";
        assert_eq!(texts(text), [trailing("# inside"), trailing("# after")]);
    }

    #[test]
    fn unterminated_strings_end_at_the_line() {
        let text = "let a = \"open # in string\n# comment\nlet b = `open # in query";
        assert_eq!(texts(text), [own("# comment")]);
    }

    #[test]
    fn trailing_after_a_multi_line_query() {
        let text = "metric a.b : number = `x\n y` # after\n";
        assert_eq!(texts(text), [trailing("# after")]);
    }

    #[test]
    fn trims_whitespace_and_comments() {
        let text = "when x   # a\n  # b\n\nthen";
        let cs = comments(text);
        assert_eq!(trim_trivia(text, &cs, 0, text.len() - 4), 6);
        assert_eq!(trim_trivia(text, &cs, 0, 6), 6);
        assert_eq!(trim_trivia(text, &cs, 5, 5), 5);
        // A comment that starts before `start` is not cut.
        assert_eq!(trim_trivia(text, &cs, 10, 12), 12);
    }
}
