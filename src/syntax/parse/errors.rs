//! Syntax errors in words: what was found, what was expected, and help.

use super::*;

/// What a grammar rule is called in an error message, or None to leave it out.
pub(super) fn rule_words(rule: Rule) -> Option<&'static str> {
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
        | op_add | op_sub | op_mul | op_div | op_coalesce => "an operator",
        number => "a number",
        unit | bad_unit | duration_tail => "a unit",
        string => "a string",
        str_text | str_escape | str_brace => "the closing `\"`",
        interp => "`{`",
        segment => "`.`",
        promql | promql_text => "a PromQL query in backticks",
        action => "an action like `resize(...)`",
        test_item | kw_test => "`test`",
        t_setting | t_object | t_series | t_decision | t_restart | t_change | t_expect
        | kw_start | kw_step | kw_duration | kw_lookback | kw_restart | kw_set | kw_create
        | kw_delete | kw_series | kw_approve | kw_decline | kw_expect => "a test statement",
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

pub(super) fn join_words(words: &[String]) -> String {
    match words {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} or {}", init.join(", "), last),
    }
}

/// The token at `pos`, for "found …".
pub(super) fn found_at(text: &str, pos: usize) -> (String, usize) {
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
pub(super) const PUNCTUATION: [&str; 8] = ["{", "}", "(", ")", "[", "]", ",", "="];

/// How far the grammar got and the punctuation it wanted there, found by
/// parsing again with pest's error detail on. Pest reads that switch when a
/// parse starts, so the lock keeps one erroring parse from turning it off
/// under another; parses without errors never come here.
pub(super) fn expected_punctuation(text: &str) -> Option<(usize, Vec<&'static str>)> {
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
pub(super) fn expected_words(
    text: &str,
    pos: &mut usize,
    e: &pest::error::Error<Rule>,
) -> Vec<String> {
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
pub(super) const KEYWORDS: [&str; 22] = [
    "let", "metric", "policy", "when", "for", "then", "on", "where", "cooldown", "mode", "no_data",
    "window", "at_most", "per", "by", "test", "and", "or", "not", "in", "true", "false",
];

/// What to say about a syntax error, from what was found and what was expected.
pub(super) fn syntax_help(text: &str, pos: usize, found: &str, words: &[String]) -> String {
    let expects = |w: &str| words.iter().any(|x| x == w);
    let before = &text[..pos.min(text.len())];
    let word = found.trim_matches('`');
    let glued_unit = before.ends_with(char::is_whitespace)
        && before.trim_end().ends_with(|c: char| c.is_ascii_digit())
        && (word == "%" || Unit::from_suffix(word).is_some());
    // An error inside `"…{…` on one line: the `{` started an interpolation.
    let line = before.rsplit('\n').next().unwrap_or("");
    let in_interpolation = line
        .rfind('{')
        .is_some_and(|i| !line[i..].contains('}') && line[..i].contains('"'));
    if (before.ends_with('{') && expects("an expression")) || (in_interpolation && expects("`}`")) {
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

pub(super) fn is_word_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// `1e5`: the grammar reads `1e` as a number with a bad unit and stops at
/// the `5`, at `pos`. Says so, with the number written out when it is short.
pub(super) fn exponent(file: FileId, text: &str, pos: usize) -> Option<Diagnostic> {
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
pub(super) fn written_out(mantissa: &str, exp: &str) -> Option<String> {
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
pub(super) fn open_promql(file: FileId, text: &str, pos: usize) -> Option<Diagnostic> {
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

pub(super) fn syntax_error(file: FileId, text: &str, e: pest::error::Error<Rule>) -> Diagnostic {
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
