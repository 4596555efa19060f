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
