//! PromQL of `metric` bindings: parsed with promql-parser, errors placed
//! inside the backtick string, and results checked to keep the join labels.

use promql_parser::parser::value::ValueType;
use promql_parser::parser::{self, Expr, LabelModifier};

use crate::diagnostic::Diagnostic;
use crate::source::Span;

use super::codes;

/// Longest query for which the error position is searched prefix by prefix.
const LOCATE_LIMIT: usize = 4096;
/// Most bytes parsed, over all prefixes, while searching.
const LOCATE_BUDGET: usize = 1 << 18;

/// Longest query, and deepest bracket nesting in one: the parsed query is
/// walked recursively, here and inside promql-parser.
const MAX_LEN: usize = 8192;
const MAX_NESTING: usize = 64;

/// Checks one binding's query; `span` covers the text inside the backticks.
pub fn check_query(text: &str, span: Span, join: &[String]) -> Result<(), Box<Diagnostic>> {
    // At least the character at `start`, and never past the text.
    let at = |start: usize, end: usize| {
        let first = text.get(start..).and_then(|r| r.chars().next());
        let end = end
            .max(start + first.map_or(0, char::len_utf8))
            .min(text.len());
        Span::new(
            span.file,
            span.start as usize + start,
            span.start as usize + end,
        )
    };
    if text.trim().is_empty() {
        return Err(
            (Diagnostic::error(codes::PROMQL, span, "empty PromQL query")
                .label("empty")
                .help("write the query between the backticks"))
            .into(),
        );
    }
    if text.len() > MAX_LEN {
        return Err((Diagnostic::error(
            crate::syntax::parse::codes::TOO_LONG,
            span,
            format!("PromQL query is longer than {MAX_LEN} bytes"),
        )
        .label("too long")
        .help("record the query with a Prometheus recording rule and bind its result"))
        .into());
    }
    if let Some(pos) = too_deep(text) {
        return Err((Diagnostic::error(
            crate::syntax::parse::codes::TOO_DEEP,
            at(pos, pos + 1),
            format!("PromQL brackets nest deeper than {MAX_NESTING} levels"),
        )
        .label("too deep")
        .help("record part of the query with a Prometheus recording rule"))
        .into());
    }
    let expr = match parser::parse(text) {
        Ok(expr) => expr,
        Err(msg) => {
            let (start, end) = unknown_function(text, &msg).unwrap_or_else(|| locate(text));
            return Err((Diagnostic::error(
                codes::PROMQL,
                at(start, end),
                format!("invalid PromQL: {msg}"),
            )
            .label("the query goes wrong here")
            .help("the query must be valid PromQL (as of Prometheus 2.45)"))
            .into());
        }
    };
    match expr.value_type() {
        ValueType::Vector => {}
        other => {
            let what = match other {
                ValueType::Scalar => "a scalar",
                ValueType::Matrix => "a range vector",
                ValueType::String => "a string",
                ValueType::Vector => "an instant vector",
            };
            return Err((Diagnostic::error(
                codes::PROMQL,
                at(0, text.len()),
                format!("the query returns {what}, not an instant vector"),
            )
            .label(what)
            .help(
                "a binding needs one sample per object: an instant vector with the join labels",
            ))
            .into());
        }
    }
    for label in join {
        if drops(&expr, label) {
            return Err((Diagnostic::error(
                codes::JOIN_LABELS,
                at(0, text.len()),
                format!("the query aggregates away the join label `{label}`"),
            )
            .label(format!("result has no `{label}` label"))
            .help(format!(
                "keep it in the aggregation, e.g. `sum by ({}) (...)`, or name other labels with `by (...)`",
                join.join(", ")
            ))).into());
        }
    }
    Ok(())
}

/// True when the result certainly lacks `label`.
fn drops(expr: &Expr, label: &str) -> bool {
    match expr {
        Expr::Aggregate(a) => match &a.modifier {
            Some(LabelModifier::Include(ls)) => !ls.labels.iter().any(|l| l == label),
            Some(LabelModifier::Exclude(ls)) => ls.labels.iter().any(|l| l == label),
            None => !matches!(
                a.op.to_string().as_str(),
                "topk" | "bottomk" | "limitk" | "limit_ratio"
            ),
        },
        Expr::Paren(p) => drops(&p.expr, label),
        Expr::Binary(b) => {
            let vector = |e: &Expr| e.value_type() == ValueType::Vector;
            match (vector(&b.lhs), vector(&b.rhs)) {
                (true, true) => drops(&b.lhs, label),
                (true, false) => drops(&b.lhs, label),
                (false, true) => drops(&b.rhs, label),
                (false, false) => true,
            }
        }
        Expr::Call(c) => {
            let name = c.func.name;
            if matches!(name, "vector" | "scalar" | "time") {
                return true;
            }
            c.args
                .args
                .iter()
                .find(|a| matches!(a.value_type(), ValueType::Vector | ValueType::Matrix))
                .is_some_and(|a| drops(a, label))
        }
        Expr::NumberLiteral(_) => true,
        _ => false,
    }
}

/// Where a misspelt function (`rates(…)`) is called: the prefix search of
/// [`locate`] would stop at the first word that parses on its own.
fn unknown_function(text: &str, msg: &str) -> Option<(usize, usize)> {
    let name = msg
        .strip_prefix("unknown function with name '")?
        .split('\'')
        .next()
        .filter(|n| !n.is_empty())?;
    let word = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == ':';
    text.match_indices(name)
        .find(|&(i, _)| {
            !text[..i].ends_with(word) && text[i + name.len()..].trim_start().starts_with('(')
        })
        .map(|(i, _)| (i, i + name.len()))
}

/// Where a query that does not parse goes wrong: an unbalanced bracket, or
/// the end of the longest prefix that parses on its own.
fn locate(text: &str) -> (usize, usize) {
    if let Some(pos) = unbalanced(text) {
        return (pos, pos + 1);
    }
    if text.len() > LOCATE_LIMIT {
        return (0, text.len());
    }
    // The longest prefix that parses, looked for from the end, parsing at
    // most LOCATE_BUDGET bytes in all: trying every prefix is quadratic.
    let mut good = None;
    let mut budget = LOCATE_BUDGET;
    for (i, _) in text.char_indices().rev().filter(|&(i, _)| i > 0) {
        if i > budget {
            break;
        }
        budget -= i;
        if parser::parse(&text[..i]).is_ok() {
            good = Some(i);
            break;
        }
    }
    match good {
        Some(i) => {
            let rest = &text[i..];
            let skip = rest.len() - rest.trim_start().len();
            // All the rest may be whitespace to Rust but not to PromQL (U+3000).
            let start = if i + skip < text.len() { i + skip } else { i };
            let end = text[start..]
                .find(char::is_whitespace)
                .map_or(text.len(), |n| start + n);
            (start, end)
        }
        None => {
            let skip = text.len() - text.trim_start().len();
            (skip, text.len())
        }
    }
}

/// The first bracket without a partner, outside PromQL strings.
fn unbalanced(text: &str) -> Option<usize> {
    let mut stack: Vec<(char, usize)> = Vec::new();
    for (i, c) in brackets(text) {
        if let '(' | '[' | '{' = c {
            stack.push((c, i));
            continue;
        }
        let open = match c {
            ')' => '(',
            ']' => '[',
            _ => '{',
        };
        match stack.pop() {
            Some((o, _)) if o == open => {}
            _ => return Some(i),
        }
    }
    stack.first().map(|&(_, i)| i)
}

/// Where brackets first nest deeper than [`MAX_NESTING`].
fn too_deep(text: &str) -> Option<usize> {
    let mut depth = 0usize;
    for (i, c) in brackets(text) {
        if let '(' | '[' | '{' = c {
            depth += 1;
            if depth > MAX_NESTING {
                return Some(i);
            }
        } else {
            depth = depth.saturating_sub(1);
        }
    }
    None
}

/// The brackets of a query and their offsets, outside strings and comments.
fn brackets(text: &str) -> Vec<(usize, char)> {
    let mut out = Vec::new();
    let mut chars = text.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' | '\'' | '`' => {
                let quote = c;
                while let Some((_, c)) = chars.next() {
                    if c == '\\' && quote != '`' {
                        chars.next();
                    } else if c == quote {
                        break;
                    }
                }
            }
            '#' => {
                for (_, c) in chars.by_ref() {
                    if c == '\n' {
                        break;
                    }
                }
            }
            '(' | '[' | '{' | ')' | ']' | '}' => out.push((i, c)),
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(q: &str, join: &[&str]) -> Result<(), String> {
        let join: Vec<String> = join.iter().map(|s| s.to_string()).collect();
        check_query(q, Span::new(Default::default(), 0, q.len()), &join).map_err(|d| {
            format!(
                "{}@{}..{}",
                d.message, d.primary.span.start, d.primary.span.end
            )
        })
    }

    #[test]
    fn queries() {
        let j = ["namespace", "persistentvolumeclaim"];
        assert!(check("kubelet_volume_stats_used_bytes", &j).is_ok());
        assert!(check("sum by (namespace, persistentvolumeclaim) (x)", &j).is_ok());
        assert!(check("sum(x)", &j).unwrap_err().contains("join label"));
        assert!(
            check("sum by (namespace) (x)", &j)
                .unwrap_err()
                .contains("persistentvolumeclaim")
        );
        assert_eq!(
            check("sum(rate(x[5m])", &j).unwrap_err(),
            "invalid PromQL: unclosed left parenthesis@3..4"
        );
        assert!(
            check("rate(x[5m]) by (a)", &j)
                .unwrap_err()
                .ends_with("@12..14")
        );
        assert!(check("x[5m]", &j).unwrap_err().contains("range vector"));
        assert_eq!(
            check("sum by (namespace) (rates(x[5m]))", &j).unwrap_err(),
            "invalid PromQL: unknown function with name 'rates'@20..25"
        );
        assert!(check("1", &j).unwrap_err().contains("scalar"));
    }
}
