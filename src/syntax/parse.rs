//! Source text to AST: pest pairs in, spans on every node, diagnostics out.
//!
//! Parsing never panics and never recurses without bound: the bracket depth
//! is checked before pest runs, and expression trees are capped while they
//! are built.

use std::cell::RefCell;
use std::sync::{LazyLock, Mutex};

use pest::Parser as _;
use pest::error::{ErrorVariant, InputLocation};
use pest::iterators::Pair;
use pest::pratt_parser::{Assoc, Op, PrattParser};

use super::ast::{
    self, Action, Arg, BinaryOp, By, Clause, ClauseKind, Expr, ExprKind, File, Ident, Item, Let,
    Metric, Number, Path, Policy, Promql, Segment, Sign, Str, StrPart, Then, UnaryOp, Unit, When,
};
use super::comments::{self, Comment};
use crate::diagnostic::Diagnostic;
use crate::source::{FileId, Span};

#[derive(pest_derive::Parser)]
#[grammar = "../grammar/apr.pest"]
struct Grammar;

pub use self::Rule as GrammarRule;

/// Deepest nesting of `(`, `[` and `{` a file may have.
pub const MAX_NESTING: usize = 64;
/// Deepest expression tree (operators, calls, lists) a file may have.
pub const MAX_EXPR_DEPTH: usize = 128;
/// Most operands and operators in one flat expression.
pub const MAX_EXPR_TERMS: usize = 4096;

pub mod codes {
    pub const SYNTAX: &str = "apr::parse::syntax";
    pub const UNKNOWN_UNIT: &str = "apr::parse::unknown_unit";
    pub const BAD_ESCAPE: &str = "apr::parse::bad_escape";
    pub const BAD_NUMBER: &str = "apr::parse::bad_number";
    pub const TOO_DEEP: &str = "apr::parse::too_deep";
    pub const TOO_LONG: &str = "apr::parse::too_long";
}

static PRATT: LazyLock<PrattParser<Rule>> = LazyLock::new(|| {
    PrattParser::new()
        .op(Op::infix(Rule::op_or, Assoc::Left))
        .op(Op::infix(Rule::op_and, Assoc::Left))
        .op(Op::prefix(Rule::op_not))
        .op(Op::infix(Rule::op_eq, Assoc::Left)
            | Op::infix(Rule::op_ne, Assoc::Left)
            | Op::infix(Rule::op_lt, Assoc::Left)
            | Op::infix(Rule::op_le, Assoc::Left)
            | Op::infix(Rule::op_gt, Assoc::Left)
            | Op::infix(Rule::op_ge, Assoc::Left)
            | Op::infix(Rule::op_in, Assoc::Left)
            | Op::infix(Rule::op_not_in, Assoc::Left))
        .op(Op::infix(Rule::op_add, Assoc::Left) | Op::infix(Rule::op_sub, Assoc::Left))
        .op(Op::infix(Rule::op_mul, Assoc::Left) | Op::infix(Rule::op_div, Assoc::Left))
        .op(Op::prefix(Rule::op_neg))
});

/// Parses one file. With errors, the file holds what could be parsed.
pub fn parse(file: FileId, text: &str) -> (File, Vec<Diagnostic>) {
    let span = Span::new(file, 0, text.len());
    let empty = || File {
        items: Vec::new(),
        span,
    };
    if let Some(d) = too_deep(file, text) {
        return (empty(), vec![d]);
    }
    let mut builder = Builder::new(file, text);
    // A byte-order mark is no part of the program; editors on Windows write one.
    let bom = if text.starts_with('\u{feff}') { 3 } else { 0 };
    builder.offset = bom;
    let mut items = Vec::new();
    loop {
        let rest = &text[builder.offset..];
        let chunk = match Grammar::parse(Rule::chunk, rest) {
            Ok(mut pairs) => pairs.next().expect("pest returns the chunk rule"),
            Err(chunk_error) => {
                // The whole file fails at the same place; its error names
                // what `file` expected there, from the file's start.
                let body = &text[bom..];
                let d = match Grammar::parse(Rule::file, body) {
                    Err(e) => shifted(syntax_error(file, body, e), bom),
                    // Not reached (`chunk` is `file` item by item), but an
                    // error in the item is still the right thing to show.
                    Ok(_) => {
                        let mut d = syntax_error(file, rest, chunk_error);
                        let at = |p: u32| builder.offset + p as usize;
                        let span = d.primary.span;
                        d.primary.span = Span::new(file, at(span.start), at(span.end));
                        d
                    }
                };
                return (empty(), vec![d]);
            }
        };
        let item = chunk
            .into_inner()
            .next()
            .expect("a chunk holds an item or EOI");
        if item.as_rule() == Rule::EOI {
            break;
        }
        let end = item.as_span().end();
        items.push(builder.item(item));
        builder.offset += end;
    }
    (File { items, span }, builder.diags.into_inner())
}

/// `d` with its spans moved `by` bytes on, for an error found in a suffix.
fn shifted(mut d: Diagnostic, by: usize) -> Diagnostic {
    let by = by as u32;
    for label in std::iter::once(&mut d.primary).chain(&mut d.secondary) {
        label.span.start += by;
        label.span.end += by;
    }
    d
}

/// Parses a lone expression (the REPL's input). Errors as [`parse`] gives them.
pub fn parse_expr(file: FileId, text: &str) -> Result<Expr, Vec<Diagnostic>> {
    if let Some(d) = too_deep(file, text) {
        return Err(vec![d]);
    }
    match Grammar::parse(Rule::repl_expr, text) {
        Ok(mut pairs) => {
            let builder = Builder::new(file, text);
            let root = pairs.next().expect("pest returns the repl_expr rule");
            let inner = root.into_inner().next().expect("repl_expr holds an expr");
            let expr = builder.expr(inner);
            let diags = builder.diags.into_inner();
            if diags.iter().any(Diagnostic::is_error) {
                Err(diags)
            } else {
                Ok(expr)
            }
        }
        Err(e) => Err(vec![syntax_error(file, text, e)]),
    }
}

/// Whether `text` starts with an item (`let`, `metric`, `policy`, a `when`
/// rule, `test`) rather than an expression.
pub fn starts_item(text: &str) -> bool {
    let first = text
        .trim_start()
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .next()
        .unwrap_or("");
    matches!(first, "let" | "metric" | "policy" | "when" | "test")
}

/// Whether more lines could complete `text`: it fails to parse only at its
/// end (`pvc.usage >`, an open bracket or backtick). A string left open is
/// complete, and an error: strings end on their line.
pub fn is_incomplete(text: &str) -> bool {
    let only_comments = text
        .lines()
        .all(|l| l.trim().is_empty() || l.trim_start().starts_with('#'));
    if only_comments || too_deep_at(text).is_some() || open_string(text) {
        return false;
    }
    let rule = if starts_item(text) {
        Rule::file
    } else {
        Rule::repl_expr
    };
    match Grammar::parse(rule, text) {
        Ok(_) => false,
        Err(e) => {
            let pos = match e.location {
                InputLocation::Pos(p) => p,
                InputLocation::Span((s, _)) => s,
            };
            pos >= text.trim_end().len()
        }
    }
}

/// Whether the text ends inside a `"` string's text (outside PromQL,
/// comments and `{…}`), where no further line can close it.
fn open_string(text: &str) -> bool {
    Scan::run(text).open_string
}

/// The error for brackets nested past [`MAX_NESTING`], if they are.
fn too_deep(file: FileId, text: &str) -> Option<Diagnostic> {
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
fn too_deep_at(text: &str) -> Option<usize> {
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
struct Nesting {
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
struct Scan<'a> {
    bytes: &'a [u8],
    i: usize,
    depth: usize,
    seen: Nesting,
}

/// A string ended: closed, or broken where the grammar fails.
enum StrEnd {
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

    /// `WHITESPACE*`: spaces, tabs, line ends and comments.
    fn trivia(&mut self) {
        while let Some(b) = self.peek() {
            match b {
                b' ' | b'\t' | b'\n' | b'\r' => self.i += 1,
                b'#' => self.comment(),
                _ => break,
            }
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

    /// `{ path }` with whitespace and comments around the path.
    fn interp(&mut self) -> Result<StrEnd, usize> {
        self.open()?;
        self.trivia();
        if let StrEnd::Broken = self.path()? {
            return Ok(StrEnd::Broken);
        }
        self.trivia();
        if self.peek() != Some(b'}') {
            return Ok(StrEnd::Broken);
        }
        self.i += 1;
        self.depth -= 1;
        Ok(StrEnd::Closed)
    }

    /// `ident (. field_name | [ string ])*`, no whitespace inside.
    fn path(&mut self) -> Result<StrEnd, usize> {
        let start = |b: u8| b.is_ascii_lowercase() || b == b'_';
        let word = |s: &mut Self| {
            if !s.peek().is_some_and(start) {
                return false;
            }
            while s.peek().is_some_and(|b| start(b) || b.is_ascii_digit()) {
                s.i += 1;
            }
            true
        };
        if !word(self) {
            return Ok(StrEnd::Broken);
        }
        loop {
            match self.peek() {
                Some(b'.') => {
                    self.i += 1;
                    if !word(self) {
                        return Ok(StrEnd::Broken);
                    }
                }
                Some(b'[') => {
                    self.open()?;
                    if self.peek() != Some(b'"') {
                        return Ok(StrEnd::Broken);
                    }
                    if let StrEnd::Broken = self.string()? {
                        return Ok(StrEnd::Broken);
                    }
                    if self.peek() != Some(b']') {
                        return Ok(StrEnd::Broken);
                    }
                    self.i += 1;
                    self.depth -= 1;
                }
                _ => return Ok(StrEnd::Closed),
            }
        }
    }
}

// ---------------------------------------------------------------- errors

/// What a grammar rule is called in an error message, or None to leave it out.
fn rule_words(rule: Rule) -> Option<&'static str> {
    use Rule::*;
    Some(match rule {
        EOI => "end of file",
        let_item | kw_let => "`let`",
        metric_item | kw_metric => "`metric`",
        policy_item | kw_policy => "`policy`",
        rule_item | kw_when | when_clause => "`when`",
        kw_then | then_clause => "`then`",
        kw_for => "`for`",
        kw_on | on_clause => "`on`",
        kw_where => "`where`",
        kw_cooldown | cooldown_clause => "`cooldown`",
        kw_mode | mode_clause => "`mode`",
        kw_no_data | no_data_clause => "`no_data`",
        kw_window | window_clause => "`window`",
        kw_at_most | at_most_clause => "`at_most`",
        kw_per => "`per`",
        kw_by | by_clause => "`by`",
        ident | field_name => "a name",
        expr | paren | list | call | path | quantity | boolean | op_not | op_neg | signed
        | sign => "an expression",
        op_or | op_and | op_in | op_not_in | op_eq | op_ne | op_ge | op_le | op_gt | op_lt
        | op_add | op_sub | op_mul | op_div => "an operator",
        number => "a number",
        unit | bad_unit => "a unit",
        string => "a string",
        str_text | str_escape | str_brace => "the closing `\"`",
        interp => "`{`",
        segment => "`.`",
        promql | promql_text => "a PromQL query in backticks",
        action => "an action like `resize(...)`",
        test_item | kw_test => "`test`",
        t_setting | t_object | t_series | t_decision | t_expect | kw_start | kw_step
        | kw_duration | kw_series | kw_approve | kw_decline | kw_expect => "a test statement",
        record | field => "a field like `capacity = 100Gi`",
        target => "a policy and an object",
        expect_at | kw_at => "`at`",
        expect_none | kw_no => "`no action`",
        expect_state | kw_is => "`is`",
        expect_action => "an action name",
        state_name => {
            "a state (normal, pending, firing, awaiting_approval, acting, cooldown, declined)"
        }
        result_name => "a result (applied, dry_run, awaiting_approval, declined, skipped, failed)",
        kw_to => "`to`",
        kw_from => "`from`",
        kw_action => "`action`",
        arg => "an argument",
        _ => return None,
    })
}

fn join_words(words: &[String]) -> String {
    match words {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} or {}", init.join(", "), last),
    }
}

/// The token at `pos`, for "found …".
fn found_at(text: &str, pos: usize) -> (String, usize) {
    let rest = &text[pos.min(text.len())..];
    let Some(first) = rest.chars().next() else {
        return ("end of file".into(), 0);
    };
    if first == '\n' || first == '\r' {
        return ("end of line".into(), 0);
    }
    let len = if first.is_alphanumeric() || first == '_' {
        rest.find(|c: char| !(c.is_alphanumeric() || c == '_'))
            .unwrap_or(rest.len())
    } else {
        first.len_utf8()
    };
    let token = &rest[..len];
    // A name of megabytes is shown by its start.
    let shown = match token.char_indices().nth(40) {
        Some((cut, _)) => format!("`{}…`", &token[..cut]),
        None => format!("`{token}`"),
    };
    (shown, len)
}

/// Brackets, commas and `=`, which pest names only when it tracks parse attempts.
const PUNCTUATION: [&str; 8] = ["{", "}", "(", ")", "[", "]", ",", "="];

/// How far the grammar got and the punctuation it wanted there, found by
/// parsing again with pest's error detail on. Pest reads that switch when a
/// parse starts, so the lock keeps one erroring parse from turning it off
/// under another; parses without errors never come here.
fn expected_punctuation(text: &str) -> Option<(usize, Vec<&'static str>)> {
    static DETAIL: Mutex<()> = Mutex::new(());
    let attempts = {
        let _guard = DETAIL.lock().unwrap_or_else(|e| e.into_inner());
        pest::set_error_detail(true);
        let result = Grammar::parse(Rule::file, text);
        pest::set_error_detail(false);
        result.err()?.parse_attempts()?
    };
    let mut found: Vec<&'static str> = attempts
        .expected_tokens()
        .iter()
        .filter_map(|t| {
            // The token type is not exported; its text is the literal, or
            // `(..(` for the one-character ranges the grammar uses instead.
            let token = t.to_string();
            let token = match token.split_once("..") {
                Some((a, b)) if a == b => a,
                _ => &token,
            };
            PUNCTUATION.into_iter().find(|p| *p == token)
        })
        .collect();
    found.dedup();
    Some((attempts.max_position, found))
}

/// The rule names pest expected, in words, with the punctuation it also
/// wanted; `pos` moves on when parsing got further than the rules show.
fn expected_words(text: &str, pos: &mut usize, e: &pest::error::Error<Rule>) -> Vec<String> {
    let mut words: Vec<String> = match &e.variant {
        ErrorVariant::ParsingError { positives, .. } => positives
            .iter()
            .filter_map(|r| rule_words(*r))
            .map(String::from)
            .collect(),
        ErrorVariant::CustomError { .. } => Vec::new(),
    };
    if let Some((max, punctuation)) = expected_punctuation(text) {
        let quoted = |p: &&str| format!("`{p}`");
        if max > *pos && !punctuation.is_empty() {
            // E.g. `policy grow-db {`: the name ended, and `{` was due at `-`.
            *pos = max;
            words = punctuation.iter().map(quoted).collect();
        } else if max == *pos {
            let closes = |p: &&str| matches!(*p, "}" | ")" | "]");
            let in_list = punctuation.iter().any(|p| matches!(*p, ")" | "]"));
            words.extend(
                punctuation
                    .iter()
                    .filter(|p| closes(p) || (in_list && **p == ","))
                    .map(quoted),
            );
        }
    }
    // Inside a string only its end matters.
    if words.iter().any(|w| w == "the closing `\"`") {
        return vec!["the closing `\"`".into()];
    }
    // "a name, a number or an expression" says no more than "an expression".
    if words.iter().any(|w| w == "an expression") {
        words.retain(|w| !matches!(w.as_str(), "a name" | "a number" | "a string"));
    }
    words.sort_unstable();
    words.dedup();
    words
}

/// The grammar's keywords, which cannot be names.
const KEYWORDS: [&str; 22] = [
    "let", "metric", "policy", "when", "for", "then", "on", "where", "cooldown", "mode", "no_data",
    "window", "at_most", "per", "by", "test", "and", "or", "not", "in", "true", "false",
];

/// What to say about a syntax error, from what was found and what was expected.
fn syntax_help(text: &str, pos: usize, found: &str, words: &[String]) -> String {
    let expects = |w: &str| words.iter().any(|x| x == w);
    let before = &text[..pos.min(text.len())];
    let word = found.trim_matches('`');
    let glued_unit = before.ends_with(char::is_whitespace)
        && before.trim_end().ends_with(|c: char| c.is_ascii_digit())
        && (word == "%" || Unit::from_suffix(word).is_some());
    if before.ends_with('{') && expects("a name") {
        "in a string, `{` starts an interpolation like `{pvc.name}`; write `{{` for a literal brace"
            .into()
    } else if expects("the closing `\"`") {
        "strings end on the same line; write `\\n` for a line break".into()
    } else if found == "`\\`" && expects("a string") {
        "inside `{…}` the key's quotes need no `\\`: `{pvc.labels[\"app.kubernetes.io/name\"]}`"
            .into()
    } else if found == "`&`" {
        "write `and` instead of `&&`".into()
    } else if found == "`|`" {
        "write `or` instead of `||`".into()
    } else if found == "`=`" && expects("an operator") {
        "compare with `==`".into()
    } else if found == "`:`" {
        "clauses take no `:`; write e.g. `when pvc.usage > 80%`".into()
    } else if glued_unit {
        let number = before.trim_end();
        let digits = number.len()
            - number
                .trim_end_matches(|c: char| c.is_ascii_digit() || c == '.' || c == '_')
                .len();
        let number = &number[number.len() - digits..];
        format!("write the unit right after the number, without a space: `{number}{word}`")
    } else if expects("`then`")
        && text[pos..]
            .trim_start_matches(is_word_char)
            .starts_with('(')
    {
        format!("actions follow `then`: `then {word}(…)`")
    } else if found == "`\"`" && expects("a PromQL query in backticks") {
        "PromQL goes between backticks: `` `sum by (namespace, persistentvolumeclaim) (…)` ``"
            .into()
    } else if words == ["`(`"] {
        let action = before.trim_end();
        let name = &action[action.trim_end_matches(is_word_char).len()..];
        format!("an action takes parentheses, even when empty: `{name}()`")
    } else if expects("a name") && word.starts_with(|c: char| c.is_ascii_uppercase()) {
        "names are lower_snake_case: `a-z`, `0-9` and `_`".into()
    } else if expects("a name") && KEYWORDS.contains(&word) {
        format!("`{word}` is a keyword; choose another name")
    } else if expects("an expression") && KEYWORDS.contains(&word) {
        format!("`{word}` is a keyword, not a value: the expression is incomplete before it")
    } else if found == "`-`" && before.ends_with(|c: char| c.is_ascii_alphanumeric()) {
        "names are lower_snake_case: write `_` instead of `-`".into()
    } else if found == "end of file"
        && let Some(close) = words
            .iter()
            .find(|w| matches!(w.as_str(), "`}`" | "`)`" | "`]`"))
    {
        format!("add the missing {close}")
    } else if expects("`let`") && expects("`policy`") {
        "a file holds `let`, `metric`, `policy` and `test` items, and rules `when … then …`".into()
    } else if let Some(keyword) = crate::diagnostic::closest(
        word,
        words
            .iter()
            .map(|w| w.trim_matches('`'))
            .filter(|w| KEYWORDS.contains(w)),
    )
    .filter(|k| *k != word)
    {
        format!("did you mean `{keyword}`?")
    } else if words == ["`=`"] {
        "write `=` and a value: `let name = 80%`, `capacity = 100Gi`".into()
    } else if words.is_empty() {
        "the language is described in docs/language.md".into()
    } else {
        format!("expected {} here", join_words(words))
    }
}

fn is_word_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// `1e5`: the grammar reads `1e` as a number with a bad unit and stops at
/// the `5`, at `pos`. Says so, with the number written out when it is short.
fn exponent(file: FileId, text: &str, pos: usize) -> Option<Diagnostic> {
    let before = &text[..pos.min(text.len())];
    let mantissa_end = before.strip_suffix(['e', 'E'])?.len();
    let mantissa_start = before[..mantissa_end]
        .trim_end_matches(|c: char| c.is_ascii_digit() || c == '_' || c == '.')
        .len();
    let mantissa = &before[mantissa_start..mantissa_end];
    let exp_len = text[pos..]
        .find(|c: char| !(c.is_ascii_digit() || c == '_'))
        .unwrap_or(text.len() - pos);
    if !mantissa.starts_with(|c: char| c.is_ascii_digit()) || exp_len == 0 {
        return None;
    }
    let exp = &text[pos..pos + exp_len];
    let help = match written_out(mantissa, exp) {
        Some(n) => format!("write `{n}`"),
        None => "write the number out in full, or use a unit: `5k`, `5M`, `100Gi`".into(),
    };
    let d = Diagnostic::error(
        codes::BAD_NUMBER,
        Span::new(file, mantissa_start, pos + exp_len),
        "exponents are not supported",
    )
    .label("exponent")
    .help(help);
    Some(d)
}

/// `mantissa` times ten to `exp`, in digits, when that is at most 20 digits.
fn written_out(mantissa: &str, exp: &str) -> Option<String> {
    let mantissa = mantissa.replace('_', "");
    let exp: usize = exp.replace('_', "").parse().ok()?;
    let (int, frac) = mantissa.split_once('.').unwrap_or((&mantissa, ""));
    let digits = format!("{int}{frac}");
    let point = int.len() + exp;
    if point > 20 {
        return None;
    }
    let (whole, rest) = if point >= digits.len() {
        (format!("{digits}{}", "0".repeat(point - digits.len())), "")
    } else {
        (digits[..point].to_string(), &digits[point..])
    };
    let whole = whole.trim_start_matches('0');
    let whole = if whole.is_empty() { "0" } else { whole };
    let rest = rest.trim_end_matches('0');
    Some(if rest.is_empty() {
        whole.to_string()
    } else {
        format!("{whole}.{rest}")
    })
}

/// A backtick at `pos` that nothing closes.
fn open_promql(file: FileId, text: &str, pos: usize) -> Option<Diagnostic> {
    let rest = text.get(pos..)?;
    if !rest.starts_with('`') || rest[1..].contains('`') {
        return None;
    }
    let d = Diagnostic::error(
        codes::SYNTAX,
        Span::new(file, pos, pos + 1),
        "unterminated PromQL literal",
    )
    .label("this backtick is never closed")
    .help("close it with a backtick");
    Some(d)
}

fn syntax_error(file: FileId, text: &str, e: pest::error::Error<Rule>) -> Diagnostic {
    let mut pos = match e.location {
        InputLocation::Pos(p) => p,
        InputLocation::Span((s, _)) => s,
    };
    if let Some(d) = exponent(file, text, pos).or_else(|| open_promql(file, text, pos)) {
        return d;
    }
    let words = expected_words(text, &mut pos, &e);
    let (found, len) = found_at(text, pos);
    let at_end = found == "end of file";
    if at_end {
        // Point just after the last token, where something is missing,
        // rather than past the final newline where no caret shows.
        pos = pos.min(text.trim_end().len());
    }
    let expected = if words.is_empty() {
        "something else".to_string()
    } else {
        join_words(&words)
    };
    let span = Span::new(file, pos, pos + if at_end { 0 } else { len.max(1) });
    let help = syntax_help(text, pos, &found, &words);
    Diagnostic::error(
        codes::SYNTAX,
        span,
        format!("expected {expected}, found {found}"),
    )
    .label(format!("expected {expected}"))
    .help(help)
}

// ---------------------------------------------------------------- building

struct Builder<'t> {
    file: FileId,
    text: &'t str,
    /// Where in `text` the pairs' input starts: items are parsed one by one.
    offset: usize,
    /// To cut trailing comments out of spans.
    comments: Vec<Comment>,
    diags: RefCell<Vec<Diagnostic>>,
}

/// An expression and the depth of its tree.
type Sized = (Expr, usize);

impl<'t> Builder<'t> {
    fn new(file: FileId, text: &'t str) -> Builder<'t> {
        Builder {
            file,
            text,
            offset: 0,
            comments: comments::comments(text),
            diags: RefCell::new(Vec::new()),
        }
    }

    /// The pair's span up to its last token. Pest leaves the whitespace and
    /// comments it skipped before a trailing optional part that matched
    /// nothing (`when x` + `for`?) inside the pair; labels must not cover them.
    fn span(&self, pair: &Pair<Rule>) -> Span {
        let s = pair.as_span();
        let start = self.offset + s.start();
        let end = comments::trim_trivia(self.text, &self.comments, start, self.offset + s.end());
        Span::new(self.file, start, end)
    }

    /// The span of an atomic token, whose trailing whitespace is content.
    fn token_span(&self, pair: &Pair<Rule>) -> Span {
        let s = pair.as_span();
        Span::new(self.file, self.offset + s.start(), self.offset + s.end())
    }

    fn error(&self, d: Diagnostic) {
        self.diags.borrow_mut().push(d);
    }

    /// Children of a pair without the keyword tokens.
    fn children<'i>(pair: Pair<'i, Rule>) -> impl Iterator<Item = Pair<'i, Rule>> {
        pair.into_inner().filter(|p| !is_keyword(p.as_rule()))
    }

    fn item(&self, pair: Pair<Rule>) -> Item {
        let span = self.span(&pair);
        match pair.as_rule() {
            Rule::let_item => {
                let mut it = Self::children(pair);
                let name = self.ident(it.next().expect("let name"));
                let value = self.expr(it.next().expect("let value"));
                Item::Let(Let { name, value, span })
            }
            Rule::metric_item => {
                let mut it = Self::children(pair);
                let kind = self.ident(it.next().expect("metric kind"));
                let name = self.ident(it.next().expect("metric name"));
                let ty = self.ident(it.next().expect("metric type"));
                let promql = self.promql(it.next().expect("metric promql"));
                let by = it.next().map(|p| By {
                    span: self.span(&p),
                    labels: Self::children(p).map(|l| self.ident(l)).collect(),
                });
                Item::Metric(Metric {
                    kind,
                    name,
                    ty,
                    promql,
                    by,
                    span,
                })
            }
            Rule::policy_item => {
                let mut it = Self::children(pair);
                let name = self.ident(it.next().expect("policy name"));
                let clauses = it.map(|c| self.clause(c)).collect();
                Item::Policy(Policy {
                    name,
                    clauses,
                    span,
                })
            }
            Rule::rule_item => {
                let mut it = pair.into_inner();
                let when = self.when(it.next().expect("rule when"));
                let then = self.then(it.next().expect("rule then"));
                Item::Rule(ast::Rule { when, then, span })
            }
            Rule::test_item => Item::Test(self.test(pair, span)),
            other => unreachable!("grammar gives no item {other:?}"),
        }
    }

    fn test(&self, pair: Pair<Rule>, span: Span) -> ast::Test {
        let mut it = Self::children(pair);
        let name = self.string(it.next().expect("test name"));
        let stmts = it.map(|p| self.test_stmt(p)).collect();
        ast::Test { name, stmts, span }
    }

    fn test_stmt(&self, pair: Pair<Rule>) -> ast::TestStmt {
        use ast::TestStmtKind as K;
        let span = self.span(&pair);
        let rule = pair.as_rule();
        let mut it = pair.into_inner();
        let kind = match rule {
            Rule::t_setting => {
                let name = self.ident(it.next().expect("setting word"));
                K::Setting {
                    name,
                    value: self.expr(it.next().expect("setting value")),
                }
            }
            Rule::t_object => K::Object {
                kind: self.ident(it.next().expect("object kind")),
                id: self.string(it.next().expect("object id")),
                fields: it.next().map(|r| self.record(r)),
            },
            Rule::t_series => {
                it.next(); // `series`
                let first = it.next().expect("series target");
                let target = if first.as_rule() == Rule::promql {
                    ast::SeriesTarget::Raw(self.promql(first))
                } else {
                    ast::SeriesTarget::Metric {
                        path: self.path(first),
                        object: self.string(it.next().expect("series object")),
                    }
                };
                K::Series {
                    target,
                    values: self.string(it.next().expect("series values")),
                }
            }
            Rule::t_decision => {
                let word = it.next().expect("decision word");
                let approve = word.as_rule() == Rule::kw_approve;
                let target = self.target(it.next().expect("decision target"));
                it.next(); // `at`
                K::Decision {
                    approve,
                    target,
                    at: self.expr(it.next().expect("decision time")),
                }
            }
            Rule::t_expect => {
                it.next(); // `expect`
                let mut next = it.next().expect("expectation");
                let target = if next.as_rule() == Rule::target {
                    let t = self.target(next);
                    next = it.next().expect("expectation after target");
                    Some(t)
                } else {
                    None
                };
                K::Expect {
                    target,
                    what: self.expectation(next),
                }
            }
            other => unreachable!("grammar gives no test statement {other:?}"),
        };
        ast::TestStmt { kind, span }
    }

    fn target(&self, pair: Pair<Rule>) -> ast::Target {
        let span = self.span(&pair);
        let mut it = pair.into_inner();
        let first = it.next().expect("target policy");
        let (policy, quoted) = if first.as_rule() == Rule::string {
            let s = self.string(first);
            let name = s.as_plain().unwrap_or_default();
            (ast::Ident { name, span: s.span }, true)
        } else {
            (self.ident(first), false)
        };
        ast::Target {
            policy,
            quoted,
            object: self.string(it.next().expect("target object")),
            span,
        }
    }

    fn expectation(&self, pair: Pair<Rule>) -> ast::Expectation {
        let rule = pair.as_rule();
        let mut it = pair.into_inner().filter(|p| {
            !matches!(
                p.as_rule(),
                Rule::kw_at
                    | Rule::kw_is
                    | Rule::kw_to
                    | Rule::kw_no
                    | Rule::kw_action
                    | Rule::kw_from
            )
        });
        if rule == Rule::expect_none {
            let from = self.expr(it.next().expect("from"));
            let to = self.expr(it.next().expect("to"));
            return ast::Expectation::NoAction { from, to };
        }
        let at = self.expr(it.next().expect("expectation time"));
        let what = it.next().expect("expectation body");
        let mut parts = what
            .clone()
            .into_inner()
            .filter(|p| !matches!(p.as_rule(), Rule::kw_is | Rule::kw_to));
        if what.as_rule() == Rule::expect_state {
            let state = self.ident(parts.next().expect("state"));
            return ast::Expectation::State { at, state };
        }
        let action = self.ident(parts.next().expect("action"));
        let mut to = None;
        let mut result = None;
        for p in parts {
            match p.as_rule() {
                Rule::result_name => result = Some(self.ident(p)),
                _ => to = Some(self.expr(p)),
            }
        }
        ast::Expectation::Action {
            at,
            action,
            to,
            result,
        }
    }

    fn record(&self, pair: Pair<Rule>) -> ast::Record {
        let span = self.span(&pair);
        let fields = pair
            .into_inner()
            .map(|f| {
                let fspan = self.span(&f);
                let mut it = f.into_inner();
                let key = it.next().expect("field name");
                let name = if key.as_rule() == Rule::string {
                    let s = self.string(key);
                    ast::Ident {
                        name: s.as_plain().unwrap_or_default(),
                        span: s.span,
                    }
                } else {
                    self.ident(key)
                };
                let v = it.next().expect("field value");
                let value = if v.as_rule() == Rule::record {
                    ast::FieldValue::Record(self.record(v))
                } else {
                    ast::FieldValue::Expr(self.expr(v))
                };
                ast::RecordField {
                    name,
                    value,
                    span: fspan,
                }
            })
            .collect();
        ast::Record { fields, span }
    }

    fn clause(&self, pair: Pair<Rule>) -> Clause {
        let span = self.span(&pair);
        let rule = pair.as_rule();
        let kind = match rule {
            Rule::when_clause => ClauseKind::When(self.when(pair)),
            Rule::then_clause => ClauseKind::Then(self.then(pair)),
            _ => {
                let mut it = Self::children(pair);
                let mut next = || it.next().expect("grammar guarantees the clause's parts");
                match rule {
                    Rule::on_clause => {
                        let kind = self.ident(next());
                        let filter = it.next().map(|p| self.expr(p));
                        ClauseKind::On { kind, filter }
                    }
                    Rule::cooldown_clause => ClauseKind::Cooldown(self.expr(next())),
                    Rule::mode_clause => ClauseKind::Mode(self.ident(next())),
                    Rule::no_data_clause => ClauseKind::NoData(self.ident(next())),
                    Rule::window_clause => ClauseKind::Window(self.string(next())),
                    Rule::at_most_clause => {
                        let count = self.expr(next());
                        let per = self.expr(next());
                        ClauseKind::AtMost { count, per }
                    }
                    other => unreachable!("grammar gives no clause {other:?}"),
                }
            }
        };
        Clause { kind, span }
    }

    fn when(&self, pair: Pair<Rule>) -> When {
        let span = self.span(&pair);
        let mut it = Self::children(pair);
        let condition = self.expr(it.next().expect("when condition"));
        let hold = it.next().map(|p| self.expr(p));
        When {
            condition,
            hold,
            span,
        }
    }

    fn then(&self, pair: Pair<Rule>) -> Then {
        let span = self.span(&pair);
        let actions = Self::children(pair).map(|a| self.action(a)).collect();
        Then { actions, span }
    }

    fn action(&self, pair: Pair<Rule>) -> Action {
        let span = self.span(&pair);
        let mut it = pair.into_inner();
        let name = self.ident(it.next().expect("action name"));
        let args = it.map(|a| self.arg(a)).collect();
        Action { name, args, span }
    }

    fn arg(&self, pair: Pair<Rule>) -> Arg {
        let span = self.span(&pair);
        let mut name = None;
        let mut sign = None;
        let mut value = None;
        for p in pair.into_inner() {
            match p.as_rule() {
                Rule::ident => name = Some(self.ident(p)),
                Rule::signed => {
                    let mut it = p.into_inner();
                    let s = it.next().expect("sign");
                    let which = if s.as_str() == "+" {
                        Sign::Plus
                    } else {
                        Sign::Minus
                    };
                    sign = Some((which, self.span(&s)));
                    value = Some(self.expr(it.next().expect("signed value")));
                }
                _ => value = Some(self.expr(p)),
            }
        }
        Arg {
            name,
            sign,
            value: value.expect("grammar guarantees an argument value"),
            span,
        }
    }

    fn ident(&self, pair: Pair<Rule>) -> Ident {
        Ident {
            name: pair.as_str().to_string(),
            span: self.span(&pair),
        }
    }

    fn promql(&self, pair: Pair<Rule>) -> Promql {
        let text = pair.into_inner().next().expect("promql text");
        Promql {
            text: text.as_str().to_string(),
            span: self.token_span(&text),
        }
    }

    // ------------------------------------------------------------ expressions

    fn expr(&self, pair: Pair<Rule>) -> Expr {
        self.sized(pair).0
    }

    fn sized(&self, pair: Pair<Rule>) -> Sized {
        let span = self.span(&pair);
        // Every term and every prefix operator takes a character, so a
        // short expression is within both limits without counting.
        let short = pair.as_str().len() <= MAX_EXPR_DEPTH.min(MAX_EXPR_TERMS);
        if !short && pair.clone().into_inner().count() > MAX_EXPR_TERMS {
            self.error(
                Diagnostic::error(
                    codes::TOO_LONG,
                    span,
                    format!("expression has more than {MAX_EXPR_TERMS} terms"),
                )
                .label("too long")
                .help("split the expression with `let` constants"),
            );
            return (error_expr(span), 0);
        }
        if !short && prefix_depth(&pair) > MAX_EXPR_DEPTH {
            self.error(
                Diagnostic::error(
                    codes::TOO_DEEP,
                    span,
                    format!("expression nests deeper than {MAX_EXPR_DEPTH} levels"),
                )
                .label("too deep")
                .help("split the expression with `let` constants"),
            );
            return (error_expr(span), 0);
        }
        PRATT
            .map_primary(|p| self.primary(p))
            .map_prefix(|op, (rhs, depth)| {
                let op_span = self.span(&op);
                let op = match op.as_rule() {
                    Rule::op_not => UnaryOp::Not,
                    _ => UnaryOp::Neg,
                };
                let span = op_span.to(rhs.span);
                self.deepen(
                    Expr {
                        kind: ExprKind::Unary {
                            op,
                            expr: Box::new(rhs),
                        },
                        span,
                    },
                    depth,
                )
            })
            .map_infix(|(lhs, ld), op, (rhs, rd)| {
                let op = binary_op(op.as_rule());
                let span = lhs.span.to(rhs.span);
                self.deepen(
                    Expr {
                        kind: ExprKind::Binary {
                            op,
                            lhs: Box::new(lhs),
                            rhs: Box::new(rhs),
                        },
                        span,
                    },
                    ld.max(rd),
                )
            })
            .parse(pair.into_inner())
    }

    /// Wraps a node one level above children of depth `depth`; past the cap
    /// the subtree becomes an error node so that no tree grows without bound.
    fn deepen(&self, expr: Expr, depth: usize) -> Sized {
        if depth < MAX_EXPR_DEPTH {
            return (expr, depth + 1);
        }
        if depth == MAX_EXPR_DEPTH {
            self.error(
                Diagnostic::error(
                    codes::TOO_DEEP,
                    expr.span,
                    format!("expression nests deeper than {MAX_EXPR_DEPTH} levels"),
                )
                .label("too deep")
                .help("split the expression with `let` constants"),
            );
        }
        (error_expr(expr.span), MAX_EXPR_DEPTH + 1)
    }

    fn primary(&self, pair: Pair<Rule>) -> Sized {
        let span = self.span(&pair);
        let leaf = |kind| (Expr { kind, span }, 1);
        match pair.as_rule() {
            Rule::quantity => leaf(self.quantity(pair)),
            Rule::string => leaf(ExprKind::Str(self.string(pair))),
            Rule::boolean => leaf(ExprKind::Bool(pair.as_str() == "true")),
            Rule::path => leaf(ExprKind::Path(self.path(pair))),
            Rule::paren => {
                let (inner, depth) = self.sized(pair.into_inner().next().expect("paren expr"));
                self.deepen(
                    Expr {
                        kind: ExprKind::Paren(Box::new(inner)),
                        span,
                    },
                    depth,
                )
            }
            Rule::list => {
                let (items, depth) = self.sized_all(pair.into_inner());
                self.deepen(
                    Expr {
                        kind: ExprKind::List(items),
                        span,
                    },
                    depth,
                )
            }
            Rule::call => {
                let mut it = pair.into_inner();
                let name = self.ident(it.next().expect("call name"));
                let (args, depth) = self.sized_all(it);
                self.deepen(
                    Expr {
                        kind: ExprKind::Call { name, args },
                        span,
                    },
                    depth,
                )
            }
            other => unreachable!("grammar gives no primary {other:?}"),
        }
    }

    fn sized_all<'i>(&self, pairs: impl Iterator<Item = Pair<'i, Rule>>) -> (Vec<Expr>, usize) {
        let mut depth = 0;
        let items = pairs
            .map(|p| {
                let (e, d) = self.sized(p);
                depth = depth.max(d);
                e
            })
            .collect();
        (items, depth)
    }

    fn quantity(&self, pair: Pair<Rule>) -> ExprKind {
        let mut it = pair.into_inner();
        let digits = it.next().expect("quantity number");
        let text = digits.as_str().to_string();
        let value = if text.contains('_') {
            text.replace('_', "").parse::<f64>()
        } else {
            text.parse::<f64>()
        }
        .unwrap_or(f64::INFINITY);
        if !value.is_finite() {
            self.error(
                Diagnostic::error(codes::BAD_NUMBER, self.span(&digits), "number is too large")
                    .label("too large")
                    .help("numbers must fit in a 64-bit float"),
            );
            return ExprKind::Error;
        }
        let unit = match it.next() {
            None => None,
            Some(u) if u.as_rule() == Rule::unit => Unit::from_suffix(u.as_str()),
            Some(bad) => {
                self.error(unknown_unit(bad.as_str(), self.span(&bad)));
                return ExprKind::Error;
            }
        };
        ExprKind::Number(Number { text, value, unit })
    }

    fn path(&self, pair: Pair<Rule>) -> Path {
        let span = self.span(&pair);
        let segments = pair
            .into_inner()
            .map(|p| {
                let span = self.span(&p);
                match p.as_rule() {
                    Rule::ident => Segment {
                        name: p.as_str().to_string(),
                        quoted: false,
                        span,
                    },
                    _ => {
                        let inner = p.into_inner().next().expect("segment body");
                        if inner.as_rule() == Rule::string {
                            let s = self.string(inner);
                            let name = s.as_plain().unwrap_or_else(|| {
                                self.error(
                                    Diagnostic::error(
                                        codes::SYNTAX,
                                        s.span,
                                        "a label key cannot interpolate",
                                    )
                                    .label("interpolation in a key")
                                    .help("write the key literally, `{{` for a brace"),
                                );
                                String::new()
                            });
                            Segment {
                                name,
                                quoted: true,
                                span,
                            }
                        } else {
                            // `.name`: point at the name, not the dot.
                            Segment {
                                name: inner.as_str().to_string(),
                                quoted: false,
                                span: self.span(&inner),
                            }
                        }
                    }
                }
            })
            .collect();
        Path { segments, span }
    }

    fn string(&self, pair: Pair<Rule>) -> Str {
        let span = self.span(&pair);
        let mut parts: Vec<StrPart> = Vec::new();
        let mut text = String::new();
        for p in pair.into_inner() {
            match p.as_rule() {
                Rule::str_text => text.push_str(p.as_str()),
                Rule::str_brace => text.push(p.as_str().chars().next().unwrap_or('{')),
                Rule::str_escape => match &p.as_str()[1..] {
                    "\"" => text.push('"'),
                    "\\" => text.push('\\'),
                    "n" => text.push('\n'),
                    "t" => text.push('\t'),
                    other => {
                        self.error(
                            Diagnostic::error(
                                codes::BAD_ESCAPE,
                                self.token_span(&p),
                                format!("unknown escape `\\{other}`"),
                            )
                            .label("unknown escape")
                            .help("strings know `\\\"`, `\\\\`, `\\n` and `\\t`"),
                        );
                    }
                },
                Rule::interp => {
                    if !text.is_empty() {
                        parts.push(StrPart::Text(std::mem::take(&mut text)));
                    }
                    let path = p.into_inner().next().expect("interpolated path");
                    parts.push(StrPart::Interp(self.path(path)));
                }
                other => unreachable!("grammar gives no string part {other:?}"),
            }
        }
        if !text.is_empty() || parts.is_empty() {
            parts.push(StrPart::Text(text));
        }
        Str { parts, span }
    }
}

/// How deep `not` and `-` nest in one flat expression. The Pratt parser
/// recurses once per level before the tree can be capped, so this is
/// measured first: `-` ends at the next operator, `not` at `and` or `or`.
fn prefix_depth(pair: &Pair<Rule>) -> usize {
    let mut open: Vec<Rule> = Vec::new();
    let mut deepest = 0;
    for p in pair.clone().into_inner() {
        match p.as_rule() {
            Rule::op_not | Rule::op_neg => {
                open.push(p.as_rule());
                deepest = deepest.max(open.len());
            }
            Rule::op_or | Rule::op_and => open.clear(),
            r if is_infix(r) => {
                while open.last() == Some(&Rule::op_neg) {
                    open.pop();
                }
            }
            _ => {}
        }
    }
    deepest
}

fn is_infix(rule: Rule) -> bool {
    use Rule::*;
    matches!(
        rule,
        op_or
            | op_and
            | op_in
            | op_not_in
            | op_eq
            | op_ne
            | op_ge
            | op_le
            | op_gt
            | op_lt
            | op_add
            | op_sub
            | op_mul
            | op_div
    )
}

fn is_keyword(rule: Rule) -> bool {
    use Rule::*;
    matches!(
        rule,
        kw_let
            | kw_metric
            | kw_policy
            | kw_when
            | kw_for
            | kw_then
            | kw_on
            | kw_where
            | kw_cooldown
            | kw_mode
            | kw_no_data
            | kw_window
            | kw_at_most
            | kw_per
            | kw_by
            | kw_test
    )
}

fn error_expr(span: Span) -> Expr {
    Expr {
        kind: ExprKind::Error,
        span,
    }
}

fn binary_op(rule: Rule) -> BinaryOp {
    match rule {
        Rule::op_or => BinaryOp::Or,
        Rule::op_and => BinaryOp::And,
        Rule::op_eq => BinaryOp::Eq,
        Rule::op_ne => BinaryOp::Ne,
        Rule::op_lt => BinaryOp::Lt,
        Rule::op_le => BinaryOp::Le,
        Rule::op_gt => BinaryOp::Gt,
        Rule::op_ge => BinaryOp::Ge,
        Rule::op_in => BinaryOp::In,
        Rule::op_not_in => BinaryOp::NotIn,
        Rule::op_add => BinaryOp::Add,
        Rule::op_sub => BinaryOp::Sub,
        Rule::op_mul => BinaryOp::Mul,
        _ => BinaryOp::Div,
    }
}

fn unknown_unit(written: &str, span: Span) -> Diagnostic {
    let suffixes = Unit::ALL.map(|u| u.suffix());
    let guess = match written {
        "min" | "mins" | "minute" | "minutes" => Some("m"),
        "sec" | "secs" | "second" | "seconds" => Some("s"),
        "hr" | "hrs" | "hour" | "hours" => Some("h"),
        "day" | "days" => Some("d"),
        "KB" | "KiB" | "kb" | "Kb" => Some("Ki"),
        "MB" | "MiB" | "mb" => Some("Mi"),
        "GB" | "GiB" | "gb" | "g" => Some("Gi"),
        "TB" | "TiB" | "tb" => Some("Ti"),
        "PB" | "PiB" => Some("Pi"),
        _ => crate::diagnostic::closest(written, suffixes.iter().copied()),
    };
    let units = "units: % | Ki Mi Gi Ti Pi Ei | k M G T P E | ms s m h d w";
    let help = match guess {
        Some(g) => format!("did you mean `{g}`? {units}"),
        None => units.to_string(),
    };
    Diagnostic::error(
        codes::UNKNOWN_UNIT,
        span,
        format!("unknown unit `{written}`"),
    )
    .label("not a unit")
    .help(help)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Pest keeps the trivia skipped before a trailing optional part that
    /// matched nothing; spans must end at the last token all the same.
    #[test]
    fn spans_end_at_the_last_token() {
        let text = "let b = x.y   \n# d\npolicy p {\n  when x > 1  # y\n  then r(1)  # z\n}\nwhen x then y()  # r\n";
        let (file, diags) = parse(FileId(0), text);
        assert!(diags.is_empty(), "{diags:?}");
        let of = |span: Span| &text[span.range()];
        assert_eq!(of(file.items[0].span()), "let b = x.y");
        let Item::Policy(p) = &file.items[1] else {
            panic!("a policy")
        };
        let clauses: Vec<_> = p.clauses.iter().map(|c| of(c.span)).collect();
        assert_eq!(clauses, ["when x > 1", "then r(1)"]);
        let Item::Rule(r) = &file.items[2] else {
            panic!("a rule")
        };
        assert_eq!(of(r.span), "when x then y()");
        assert_eq!(of(r.when.span), "when x");
    }

    /// Items one at a time match what the whole file matches: the same
    /// items with the same spans, and the same files fail.
    /// An interpolation may go on over lines, so it leaves the input
    /// incomplete; a string's text may not.
    #[test]
    fn incomplete_input_follows_the_grammar_on_strings() {
        assert!(is_incomplete("pvc.name == \"{\n"));
        assert!(is_incomplete("pvc.name == \"{ # (\n pvc.name\n"));
        assert!(!is_incomplete("pvc.name == \"abc"));
        assert!(!is_incomplete("pvc.name == \"{pvc.labels[\"a"));
        assert!(!open_string("pvc.name == \"{pvc.name}\" + `\"`"));
        let deep = format!(
            "let a = \"{{\npvc.name}}\" + \"`\" + {}",
            "(".repeat(10_000)
        );
        assert!(!is_incomplete(&deep));
    }

    /// An error on a line of megabytes says what it found in a few words.
    #[test]
    fn a_long_token_is_shown_by_its_start() {
        let text = format!("let a = 1 {} + 2\n", "x".repeat(1_000_000));
        let (_, diags) = parse(FileId(0), &text);
        let d = &diags[0];
        assert!(d.message.len() < 200, "{}", &d.message[..200]);
        assert!(
            d.message
                .ends_with("found `xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx…`"),
            "{}",
            d.message
        );
        assert_eq!(d.primary.span.len(), 1_000_000);
    }

    #[test]
    fn chunks_match_the_whole_file() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut texts: Vec<String> = ["tests/data", "examples", "stdlib"]
            .iter()
            .flat_map(|d| walkdir::WalkDir::new(root.join(d)))
            .filter_map(Result::ok)
            .filter(|e| e.path().extension().is_some_and(|x| x == "apr"))
            .map(|e| std::fs::read_to_string(e.path()).expect("readable"))
            // Pest runs only on what the nesting pre-scan lets through.
            .filter(|t| too_deep_at(t).is_none())
            .collect();
        assert!(texts.len() > 100, "found {} files", texts.len());
        // Failures in the first item, a later one, and after the last.
        texts.extend(["policy {", "let a = 1\nlet = 2", "when x then y()\n}"].map(String::from));
        for text in &texts {
            let whole = Grammar::parse(Rule::file, text).map(|mut p| {
                let items = p.next().expect("file").into_inner();
                let spans: Vec<_> = items
                    .filter(|i| i.as_rule() != Rule::EOI)
                    .map(|i| (i.as_span().start(), i.as_span().end()))
                    .collect();
                spans
            });
            let mut chunks = Vec::new();
            let mut offset = 0;
            let chunked = loop {
                match Grammar::parse(Rule::chunk, &text[offset..]) {
                    Err(_) => break Err(()),
                    Ok(mut p) => {
                        let item = p.next().expect("chunk").into_inner().next().expect("item");
                        if item.as_rule() == Rule::EOI {
                            break Ok(chunks);
                        }
                        let s = item.as_span();
                        chunks.push((offset + s.start(), offset + s.end()));
                        offset += s.end();
                    }
                }
            };
            assert_eq!(whole.ok(), chunked.ok(), "{text}");
        }
    }

    #[test]
    fn token_spans_keep_their_whitespace() {
        let text = "metric a.b : number = `up  ` by (x)\nlet s = \"\\ \"";
        let (file, diags) = parse(FileId(0), text);
        let Item::Metric(m) = &file.items[0] else {
            panic!("a metric")
        };
        assert_eq!(&text[m.promql.span.range()], "up  ");
        assert_eq!(&text[diags[0].primary.span.range()], "\\ ");
    }
}
