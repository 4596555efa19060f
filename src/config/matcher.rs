//! Label matchers as the configuration writes them: `cluster="eu-1"`,
//! `env=~"prod|staging"`, read into [`LabelMatcher`] with PromQL's quoting.

use crate::cluster::metrics::{LabelMatcher, MatchKind};

/// Why a matcher does not read, with a hint where one is known.
#[derive(Debug, PartialEq)]
pub struct MatcherError {
    pub message: String,
    pub help: String,
}

fn error(message: impl Into<String>, help: impl Into<String>) -> MatcherError {
    MatcherError {
        message: message.into(),
        help: help.into(),
    }
}

const SHAPE: &str = "a matcher is a label name, `=`, `!=`, `=~` or `!~`, and a quoted value: \
                     `cluster=\"eu-1\"`, `env=~\"prod|staging\"`";

/// One matcher: `name op "value"`, spaces allowed around the operator.
pub fn parse(text: &str) -> Result<LabelMatcher, MatcherError> {
    let text = text.trim();
    let name_end = text
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(text.len());
    let name = &text[..name_end];
    let valid_name = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    if !valid_name {
        return Err(error(
            format!("`{text}` does not start with a label name"),
            SHAPE,
        ));
    }
    if name == "__name__" {
        return Err(error(
            "a matcher on `__name__` would change which metric every query reads",
            "inject labels that scope the series, such as `cluster=\"eu-1\"`",
        ));
    }
    let rest = text[name_end..].trim_start();
    let (op, rest) = [
        ("=~", MatchKind::Regex),
        ("!~", MatchKind::NotRegex),
        ("!=", MatchKind::NotEqual),
        ("=", MatchKind::Equal),
    ]
    .into_iter()
    .find_map(|(sign, op)| rest.strip_prefix(sign).map(|r| (op, r)))
    .ok_or_else(|| error(format!("`{text}` has no operator after `{name}`"), SHAPE))?;
    let value = quoted(rest.trim_start())?;
    if matches!(op, MatchKind::Regex | MatchKind::NotRegex) {
        // Anchored, as Prometheus anchors it (and as `metrics::inject` builds it).
        if let Err(e) = regex::Regex::new(&format!("^(?:{value})$")) {
            return Err(error(
                format!("`{value}` is not a regular expression: {}", first_line(&e)),
                "Prometheus regular expressions are RE2: escape a literal `.` or `|` \
                 with `\\\\` in a double-quoted value",
            ));
        }
    }
    Ok(LabelMatcher {
        name: name.to_string(),
        op,
        value,
    })
}

/// A PromQL string: `"…"` or `'…'` with backslash escapes, or `` `…` `` raw.
/// Nothing may follow it.
fn quoted(text: &str) -> Result<String, MatcherError> {
    let mut chars = text.chars();
    let quote = match chars.next() {
        Some(q @ ('"' | '\'' | '`')) => q,
        _ => {
            return Err(error(
                format!("the value `{text}` is not quoted"),
                "quote the value as PromQL does: `cluster=\"eu-1\"` (in YAML, \
                 put the whole matcher in single quotes)",
            ));
        }
    };
    let mut value = String::new();
    loop {
        match chars.next() {
            None => {
                return Err(error(
                    format!("the value `{text}` has no closing `{quote}`"),
                    SHAPE,
                ));
            }
            Some(c) if c == quote => break,
            Some('\\') if quote != '`' => match chars.next() {
                Some(c @ ('\\' | '"' | '\'')) => value.push(c),
                Some('n') => value.push('\n'),
                Some('t') => value.push('\t'),
                Some('r') => value.push('\r'),
                other => {
                    let seq = other.map_or(String::new(), String::from);
                    return Err(error(
                        format!("`\\{seq}` is not an escape in a quoted value"),
                        "the escapes are `\\\\`, `\\\"`, `\\'`, `\\n`, `\\t` and `\\r`; \
                         a regex's backslash is written `\\\\`",
                    ));
                }
            },
            Some(c) => value.push(c),
        }
    }
    let after = chars.as_str().trim();
    if !after.is_empty() {
        return Err(error(
            format!("`{after}` follows the quoted value"),
            "one matcher per list item: `matchers: ['cluster=\"eu-1\"', 'env=\"prod\"']`",
        ));
    }
    Ok(value)
}

/// The regex crate's error is a drawing over several lines; its last line says why.
fn first_line(e: &regex::Error) -> String {
    let text = e.to_string();
    text.lines()
        .rev()
        .find(|l| l.trim_start().starts_with("error:"))
        .map_or(text.clone(), |l| {
            l.trim_start()
                .trim_start_matches("error:")
                .trim()
                .to_string()
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(text: &str) -> (String, MatchKind, String) {
        let m = parse(text).unwrap_or_else(|e| panic!("{text}: {e:?}"));
        (m.name, m.op, m.value)
    }

    #[test]
    fn the_four_operators_and_the_three_quotes() {
        use MatchKind::*;
        let s = |x: &str| x.to_string();
        assert_eq!(ok(r#"cluster="eu-1""#), (s("cluster"), Equal, s("eu-1")));
        assert_eq!(ok(r#" env != 'dev' "#), (s("env"), NotEqual, s("dev")));
        assert_eq!(
            ok(r#"env=~"prod|staging""#),
            (s("env"), Regex, s("prod|staging"))
        );
        assert_eq!(ok(r"env!~`a\.b`"), (s("env"), NotRegex, s(r"a\.b")));
        assert_eq!(ok(r#"x="a\"b\\c""#), (s("x"), Equal, s(r#"a"b\c"#)));
        assert_eq!(ok(r#"x="""#), (s("x"), Equal, s("")));
    }

    #[test]
    fn bad_matchers_say_why() {
        for bad in [
            "",
            "cluster",
            "1x=\"a\"",
            "cluster=eu-1",
            "cluster=\"eu-1",
            "cluster=\"a\" env=\"b\"",
            "x=\"\\d\"",
            "x=~\"(\"",
            "__name__=\"up\"",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
        let e = parse("x=~\"(\"").unwrap_err();
        assert!(e.message.contains("unclosed group"), "{}", e.message);
    }
}
