//! The pre-scan: bracket nesting, strings, interpolations, PromQL and
//! comments read exactly as the grammar reads them, before pest runs, so
//! that nesting is bounded without recursion.

use super::*;

pub(super) fn open_string(text: &str) -> bool {
    Scan::run(text).open_string
}

/// The error for brackets nested past [`MAX_NESTING`], if they are.
pub(super) fn too_deep(file: FileId, text: &str) -> Option<Diagnostic> {
    let at = too_deep_at(text)?;
    let d = Diagnostic::error(
        codes::TOO_DEEP,
        Span::new(file, at, at + 1),
        format!("brackets nest deeper than {MAX_NESTING} levels"),
    )
    .label("too deep")
    .help("split the expression with `let` constants");
    Some(d)
}

/// Where bracket nesting first exceeds [`MAX_NESTING`]. Keeps pest's
/// recursion bounded.
pub(super) fn too_deep_at(text: &str) -> Option<usize> {
    Scan::run(text).too_deep
}

/// The deepest bracket nesting the pre-scan sees, and the deepest nesting
/// pest's parse tree has (None when `file` does not parse). For tests: the
/// first must never be below the second.
#[doc(hidden)]
pub fn nesting_depths(text: &str) -> (usize, Option<usize>) {
    let seen = Scan::run(text).max;
    if seen > MAX_NESTING {
        return (seen, None);
    }
    let tree = Grammar::parse(Rule::file, text).ok().map(|pairs| {
        let mut open: Vec<usize> = Vec::new();
        let mut deepest = 0;
        for p in pairs.flatten() {
            let span = p.as_span();
            while open.last().is_some_and(|&end| end <= span.start()) {
                open.pop();
            }
            let bracket = match p.as_rule() {
                Rule::paren
                | Rule::list
                | Rule::call
                | Rule::action
                | Rule::by_clause
                | Rule::policy_item
                | Rule::test_item
                | Rule::record
                | Rule::interp => true,
                Rule::segment => span.as_str().starts_with('['),
                _ => false,
            };
            if bracket {
                open.push(span.end());
                deepest = deepest.max(open.len());
            }
        }
        deepest
    });
    (seen, tree)
}

/// What the nesting pre-scan saw: brackets as the grammar nests them.
#[derive(Debug, Default)]
pub(super) struct Nesting {
    /// Where nesting first exceeds [`MAX_NESTING`].
    too_deep: Option<usize>,
    /// The deepest nesting seen (up to the first excess).
    max: usize,
    /// The text ends inside a `"` string's text (not inside `{…}`).
    open_string: bool,
}

/// Walks `text` as the grammar tokenizes it, counting `(`, `[` and `{`,
/// including the `{` of an interpolation and the `[` of a quoted segment
/// inside strings (pest recurses through those too). Strings, PromQL and
/// comments begin and end exactly where `grammar/apr.pest` has them: an
/// interpolation may span lines and hold comments, an escape takes any
/// character. Where the grammar would fail (a string broken by a newline),
/// scanning goes on as code, which can only count more brackets than pest
/// reaches: pest stops at the first failure. Every byte looked at is ASCII,
/// and no byte of a multi-byte character is, so a byte scan suffices.
pub(super) struct Scan<'a> {
    bytes: &'a [u8],
    i: usize,
    depth: usize,
    seen: Nesting,
}

/// A string ended: closed, or broken where the grammar fails.
pub(super) enum StrEnd {
    Closed,
    Broken,
}

impl Scan<'_> {
    fn run(text: &str) -> Nesting {
        let mut scan = Scan {
            bytes: text.as_bytes(),
            i: 0,
            depth: 0,
            seen: Nesting::default(),
        };
        if let Err(at) = scan.code() {
            scan.seen.too_deep = Some(at);
        }
        scan.seen
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.i).copied()
    }

    fn open(&mut self) -> Result<(), usize> {
        self.depth += 1;
        self.seen.max = self.seen.max.max(self.depth);
        if self.depth > MAX_NESTING {
            return Err(self.i);
        }
        self.i += 1;
        Ok(())
    }

    fn comment(&mut self) {
        while let Some(b) = self.peek() {
            if b == b'\n' {
                break;
            }
            self.i += 1;
        }
    }

    fn code(&mut self) -> Result<(), usize> {
        while let Some(b) = self.peek() {
            match b {
                b'#' => self.comment(),
                b'"' => {
                    self.string()?;
                }
                b'`' => match self.bytes[self.i + 1..].iter().position(|&b| b == b'`') {
                    Some(n) => self.i += n + 2,
                    // Unterminated: the grammar fails here and reads no further.
                    None => self.i = self.bytes.len(),
                },
                b'(' | b'[' | b'{' => self.open()?,
                b')' | b']' | b'}' => {
                    self.depth = self.depth.saturating_sub(1);
                    self.i += 1;
                }
                _ => self.i += 1,
            }
        }
        Ok(())
    }

    /// A string from its opening `"`: `str_text`, `str_escape`, `str_brace`, `interp`.
    fn string(&mut self) -> Result<StrEnd, usize> {
        self.i += 1;
        loop {
            let Some(b) = self.peek() else {
                self.seen.open_string = true;
                return Ok(StrEnd::Broken);
            };
            match b {
                b'"' => {
                    self.i += 1;
                    return Ok(StrEnd::Closed);
                }
                b'\\' => {
                    if self.i + 1 >= self.bytes.len() {
                        self.i = self.bytes.len();
                        self.seen.open_string = true;
                        return Ok(StrEnd::Broken);
                    }
                    self.i += 2;
                }
                b'\n' => return Ok(StrEnd::Broken),
                b'{' if self.bytes.get(self.i + 1) == Some(&b'{') => self.i += 2,
                b'{' => {
                    if let StrEnd::Broken = self.interp()? {
                        return Ok(StrEnd::Broken);
                    }
                }
                _ => self.i += 1,
            }
        }
    }

    /// `{ expr }`: an interpolation holds any expression, over lines and
    /// with comments, strings (and their interpolations) inside. It ends at
    /// the `}` that closes it; a closing bracket that does not match, a
    /// PromQL query or the end of the text is where the grammar fails.
    fn interp(&mut self) -> Result<StrEnd, usize> {
        let inside = self.depth + 1;
        self.open()?;
        loop {
            let Some(b) = self.peek() else {
                return Ok(StrEnd::Broken);
            };
            match b {
                b'#' => self.comment(),
                b'"' => {
                    if let StrEnd::Broken = self.string()? {
                        return Ok(StrEnd::Broken);
                    }
                }
                b'`' => return Ok(StrEnd::Broken),
                b'(' | b'[' | b'{' => self.open()?,
                b')' | b']' | b'}' if self.depth == inside => {
                    if b != b'}' {
                        return Ok(StrEnd::Broken);
                    }
                    self.i += 1;
                    self.depth -= 1;
                    return Ok(StrEnd::Closed);
                }
                b')' | b']' | b'}' => {
                    self.depth -= 1;
                    self.i += 1;
                }
                _ => self.i += 1,
            }
        }
    }
}
