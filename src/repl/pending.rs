//! Multi-line input without re-parsing it after every line.
//!
//! Whether input is complete is the parser's call
//! ([`crate::syntax::parse::is_incomplete`]), and that parses all of it: over
//! 8,000 continuation lines, asking after each one is quadratic. A
//! [`Pending`] scans each line once, keeping its state across lines, and
//! answers "surely incomplete" while a bracket is open or the last line ends
//! in an operator; only otherwise does the caller ask the parser. A syntax
//! error inside an open bracket is then shown when the bracket closes (or
//! the input ends), not at the line that has it.
//!
//! The scan is conservative: where it is unsure (a string, an
//! interpolation or PromQL open at the end of a line, a closing bracket it did not see open, brackets
//! nested near the parser's limit) it says "ask the parser".

use crate::syntax::parse::MAX_NESTING;

#[derive(Clone, Copy, Debug, PartialEq)]
enum Frame {
    /// Code, or a `{…}` interpolation in a string, with its open brackets.
    Code { open: usize, interpolation: bool },
    /// A `"` string's text.
    Str,
    /// Backtick PromQL.
    Promql,
}

/// The scanner state of the input so far.
#[derive(Clone, Debug)]
pub struct Pending {
    stack: Vec<Frame>,
    /// Whether the last line with code ends in a binary operator or `=`.
    trailing_operator: bool,
    /// Something the scan does not follow; the parser decides.
    unsure: bool,
    /// Whether the input is a `:command` (never continued by the scan).
    command: bool,
    /// Whether no line with text was seen yet.
    empty: bool,
}

impl Default for Pending {
    fn default() -> Self {
        Pending {
            stack: vec![Frame::Code {
                open: 0,
                interpolation: false,
            }],
            trailing_operator: false,
            unsure: false,
            command: false,
            empty: true,
        }
    }
}

impl Pending {
    /// The state of `text` scanned at once (lines split at `\n`).
    pub fn of(text: &str) -> Pending {
        let mut p = Pending::default();
        for line in text.split('\n') {
            p.push(line);
        }
        p
    }

    /// Scans one more line (without its line break).
    pub fn push(&mut self, line: &str) {
        if self.empty {
            let t = line.trim_start();
            if t.is_empty() || t.starts_with('#') {
                return;
            }
            self.empty = false;
            self.command = t.starts_with(':');
        }
        if self.unsure || self.command {
            return;
        }
        let mut last_code: Option<char> = None;
        let mut word_end = String::new();
        let mut chars = line.chars();
        while let Some(c) = chars.next() {
            let Some(top) = self.stack.last_mut() else {
                self.unsure = true;
                return;
            };
            match top {
                Frame::Str => match c {
                    '\\' => {
                        chars.next();
                    }
                    '"' => {
                        self.stack.pop();
                        last_code = Some('"');
                    }
                    '{' => self.stack.push(Frame::Code {
                        open: 0,
                        interpolation: true,
                    }),
                    _ => {}
                },
                Frame::Promql => {
                    if c == '`' {
                        self.stack.pop();
                        last_code = Some('`');
                    }
                }
                Frame::Code {
                    open,
                    interpolation,
                } => {
                    match c {
                        '#' if !*interpolation => break,
                        '"' => self.stack.push(Frame::Str),
                        '`' => self.stack.push(Frame::Promql),
                        '(' | '[' | '{' => *open += 1,
                        ')' | ']' | '}' => {
                            if *open > 0 {
                                *open -= 1;
                            } else if c == '}' && *interpolation {
                                self.stack.pop();
                            } else {
                                self.unsure = true;
                                return;
                            }
                        }
                        _ => {}
                    }
                    if !c.is_whitespace() {
                        last_code = Some(c);
                        if c.is_alphanumeric() || c == '_' {
                            word_end.push(c);
                        } else {
                            word_end.clear();
                        }
                    }
                }
            }
        }
        if let Some(c) = last_code {
            let word_op = matches!(word_end.as_str(), "and" | "or" | "not")
                && last_code.is_some_and(char::is_alphabetic);
            self.trailing_operator =
                word_op || matches!(c, '+' | '-' | '*' | '/' | ',' | '=' | '<' | '>');
        }
        // At a line's end, open text has no sure answer.
        if self
            .stack
            .iter()
            .any(|f| matches!(f, Frame::Str | Frame::Promql))
        {
            self.unsure = true;
        }
    }

    /// Whether the input so far surely continues on the next line: a bracket
    /// is open, or the last line ends in an operator. When this is false,
    /// ask the parser.
    pub fn surely_incomplete(&self) -> bool {
        if self.unsure || self.command || self.empty {
            return false;
        }
        let depth: usize = self
            .stack
            .iter()
            .map(|f| match f {
                Frame::Code { open, .. } => *open + 1,
                _ => 1,
            })
            .sum();
        if depth >= MAX_NESTING {
            return false;
        }
        depth > 1 || self.trailing_operator
    }
}

#[cfg(test)]
mod tests {
    use super::Pending;
    use crate::syntax::parse::is_incomplete;

    /// Whenever the scan says "surely incomplete", so does the parser (on
    /// input without syntax errors).
    #[test]
    fn agrees_with_the_parser() {
        for text in [
            "(1 +",
            "(1 +\n 2",
            "(1 +\n 2)",
            "1 +",
            "1 +\n2",
            "let a =",
            "let a =\n 3",
            "\"a {(1 +",
            "1 ==",
            "max(1,",
            "max(1,\n 2)",
            "pvc.usage > 50% and",
            "pvc.usage > 50% and\n pvc.usage < 90%",
            "policy p {",
            "# only a comment",
            ":load x",
            "`up{a=\"(\"}`",
            "1 # (",
        ] {
            let p = Pending::of(text);
            if p.surely_incomplete() {
                assert!(is_incomplete(text), "{text:?}: the scan says incomplete");
            }
        }
        assert!(Pending::of("(1 +\n 2").surely_incomplete());
        assert!(Pending::of("let a =").surely_incomplete());
        assert!(!Pending::of("(1 +\n 2)").surely_incomplete());
        assert!(!Pending::of("1 # (").surely_incomplete());
        assert!(!Pending::of("`up{a=\"(\"}`").surely_incomplete());
    }
}
