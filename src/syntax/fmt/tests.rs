use super::*;

/// `format_source`, or the layout when it was refused only because an
/// anonymous rule or a disable comment would move (these tests pin the
/// layout; the refusals have their own).
fn layout(input: &str) -> String {
    format_source(FileId(0), input).unwrap_or_else(|d| {
        assert!(refused_only_for_moves(&d), "{d:#?}");
        format(input, &crate::syntax::parse(FileId(0), input).0)
    })
}

/// Formats `input`, compares with `expected`, and checks the invariants.
#[track_caller]
fn check(input: &str, expected: &str) {
    let out = layout(input);
    assert_eq!(
        out, expected,
        "\n--- got ---\n{out}--- want ---\n{expected}"
    );
    let again = format_source(FileId(0), &out).unwrap_or_else(|d| panic!("{d:#?}"));
    assert_eq!(again, out, "not idempotent");
}

#[test]
fn empty_and_blank_files() {
    check("", "");
    check("  \n\n\t\n", "");
    check("# only\n\n\n#  comments   \n", "# only\n\n#  comments\n");
}

#[test]
fn messy_spacing() {
    check(
        "when pvc.usage>50% for 5m then resize(+100%,max=400Gi)",
        "when pvc.usage > 50% for 5m then resize(+100%, max = 400Gi)\n",
    );
    check(
        "let   x=not(a)and-b*[1,2 ,]!=f( 1_000 ,2.5 )\n\n\n\nlet y=a not in[ \"a\" ]",
        "let x = not (a) and -b * [1, 2] != f(1_000, 2.5)\n\nlet y = a not in [\"a\"]\n",
    );
    check(
        "policy   p{on pvc where pvc.labels[\"app.kubernetes.io/name\"]==\"pg\" when x then a()}",
        "policy p {\n  on pvc where pvc.labels[\"app.kubernetes.io/name\"] == \"pg\"\n  when x\n  then a()\n}\n",
    );
}

#[test]
fn every_clause_in_written_order() {
    check(
        "policy p {\n  at_most 3 per 1h\n  window \"Mon-Fri 02:00-04:00 Europe/Berlin\"\n\n\n  no_data reset\n  mode   dry_run\n  cooldown 1h\n  then evict()\n  when pod.restarts > 5 for 10m\n  on pod\n}\n",
        "policy p {\n  at_most 3 per 1h\n  window \"Mon-Fri 02:00-04:00 Europe/Berlin\"\n  no_data reset\n  mode dry_run\n  cooldown 1h\n  then evict()\n  when pod.restarts > 5 for 10m\n  on pod\n}\n",
    );
    check("policy empty {   }", "policy empty {}\n");
}

#[test]
fn lets_stay_together_only_if_adjacent() {
    check(
        "let a = 1\nlet b = 2\n\n\nlet c = 3\n# about d\nlet d = 4\nmetric a.b : number = `x`\nlet e = 5\nlet f = 6",
        "let a = 1\nlet b = 2\n\nlet c = 3\n# about d\nlet d = 4\n\nmetric a.b : number = `x`\n\nlet e = 5\nlet f = 6\n",
    );
}

#[test]
fn strings_are_escaped_canonically() {
    check(
        r#"when x then notify("a \"q\" \\ {{x}} } {pvc.name}	tab\n", "{ pvc.labels["a\"b{{"] }")"#,
        "when x then notify(\"a \\\"q\\\" \\\\ {{x}} }} {pvc.name}\\ttab\\n\", \"{pvc.labels[\"a\\\"b{{\"]}\")\n",
    );
    check(r#"let e = """#, "let e = \"\"\n");
}

#[test]
fn path_keys_use_the_language_escapes() {
    // Rust's `{:?}` would write `\u{1}` and `\r`; the language has neither.
    check(
        "let k = a.labels[\"x\u{1}\ry\"]\n",
        "let k = a.labels[\"x\u{1}\ry\"]\n",
    );
}

#[test]
fn signs_and_named_args() {
    check(
        "when x then scale(-1,min=+2,max = - 3, to=--4)",
        "when x then scale(-1, min = +2, max = -3, to = --4)\n",
    );
}

#[test]
fn long_then_wraps_after_each_comma() {
    let long =
        "notify(\"oncall\", \"{pvc.name} in {pvc.namespace} was grown because it was full\")";
    check(
        &format!(
            "policy p {{ when x then resize(+50%, max = 1Ti), {long}, event(\"Grown\", \"y\") }}"
        ),
        &format!(
            "policy p {{\n  when x\n  then resize(+50%, max = 1Ti),\n      {long},\n      event(\"Grown\", \"y\")\n}}\n"
        ),
    );
    check(
        &format!("when pvc.usage > 90% then resize(+50%, max = 1Ti), {long}"),
        &format!("when pvc.usage > 90% then resize(+50%, max = 1Ti),\n    {long}\n"),
    );
    // One action never wraps, however long.
    let one = format!("when x then {}", long.repeat(2).replace(")notify(", ", "));
    check(&one, &format!("{one}\n"));
}

#[test]
fn then_exactly_at_the_width_stays_on_one_line() {
    let pad = "x".repeat(100 - "  then a(), b(\"\")".len());
    let line = format!("  then a(), b(\"{pad}\")");
    assert_eq!(line.len(), WIDTH);
    check(
        &format!("policy p {{\n{line}\n}}\n"),
        &format!("policy p {{\n{line}\n}}\n"),
    );
    let pad = format!("{pad}y");
    check(
        &format!("policy p {{\n  then a(), b(\"{pad}\")\n}}\n"),
        &format!("policy p {{\n  then a(),\n      b(\"{pad}\")\n}}\n"),
    );
}

#[test]
fn metric_query_placement() {
    check(
        "metric pvc.x:duration=\n     `up` by(namespace,persistentvolumeclaim,)",
        "metric pvc.x : duration = `up` by (namespace, persistentvolumeclaim)\n",
    );
    let q = "histogram_quantile(0.99, sum by (namespace, persistentvolumeclaim, le) (rate(pg_io_write_seconds_bucket[5m])))";
    let want = format!("metric pvc.pg_write_latency : duration =\n  `{q}`\n");
    check(
        &format!("metric pvc.pg_write_latency : duration = `{q}`"),
        &want,
    );
    check(
        &format!("metric pvc.pg_write_latency : duration =\n`{q}`"),
        &want,
    );
}

#[test]
fn multi_line_query_keeps_its_line_and_bytes() {
    let same = "metric pvc.x : number = `sum(\n      rate(x[5m])   \n  )` by (a, b) # end\n";
    check(same, same);
    check(
        "metric pvc.x : number =\n        `sum(\n      rate(x[5m])   \n  )`",
        "metric pvc.x : number =\n  `sum(\n      rate(x[5m])   \n  )`\n",
    );
    // `#` inside a query is not a comment.
    let hash = "metric pvc.x : number = `a # b\n`\n";
    check(hash, hash);
}

#[test]
fn own_line_and_trailing_comments() {
    check(
        "# file header\n\n# about a\nlet a = 1   # trailing a   \n\n\n# about p\n\n\npolicy p { # header\n  # before on\n  on pvc # on\n\n  # after blank\n  when x # when\n  then a() # then\n  # last in block\n} # after policy\n# end of file\n",
        "# file header\n\n# about a\nlet a = 1 # trailing a\n\n# about p\n\npolicy p { # header\n  # before on\n  on pvc # on\n\n  # after blank\n  when x # when\n  then a() # then\n  # last in block\n} # after policy\n# end of file\n",
    );
}

#[test]
fn comments_inside_nodes_move_before_them() {
    check(
        "policy # name\n p # brace\n{\n  when a > 1 # one\n    and b < 2 # two\n  then resize(+1%, # arg\n    max = 2Gi), # between\n    notify(\"x\", \"y\")\n}\nwhen a # cond\nthen b() # end\n",
        "# name\n# brace\npolicy p {\n  # one\n  when a > 1 and b < 2 # two\n  # arg\n  # between\n  then resize(+1%, max = 2Gi), notify(\"x\", \"y\")\n}\n\n# cond\nwhen a then b() # end\n",
    );
}

#[test]
fn comment_in_an_interpolation_is_kept() {
    check(
        "when x then notify(\"a\", \"{ pvc.name # who\n}\")\n",
        "# who\nwhen x then notify(\"a\", \"{pvc.name}\")\n",
    );
}

#[test]
fn comment_on_a_clause_line_after_the_brace() {
    check(
        "policy p { when x # on when\n then y() }",
        "policy p {\n  when x # on when\n  then y()\n}\n",
    );
    check("policy p { # just this\n}", "policy p { # just this\n}\n");
    check("policy p {\n\n  # todo\n\n}", "policy p {\n  # todo\n}\n");
}

#[test]
fn blank_lines_between_clauses_go_but_not_before_comments() {
    check(
        "policy p {\n\n  when x\n\n  then y()\n\n  # c\n\n  mode approve\n\n}",
        "policy p {\n  when x\n  then y()\n\n  # c\n\n  mode approve\n}\n",
    );
}

#[test]
fn parentheses_are_kept_as_written() {
    check(
        "let a = ((1 + 2)) * (3)\nlet b = not (x or y) and (not z)",
        "let a = ((1 + 2)) * (3)\nlet b = not (x or y) and (not z)\n",
    );
}

#[test]
fn crlf_input() {
    check(
        "let a = 1 # c\r\n\r\nlet b = 2\r\n",
        "let a = 1 # c\n\nlet b = 2\n",
    );
}

#[test]
fn parse_errors_are_returned_not_formatted() {
    let diags = format_source(FileId(3), "policy p { when }").unwrap_err();
    assert_eq!(diags[0].code, crate::syntax::parse::codes::SYNTAX);
    assert_eq!(diags[0].primary.span.file, FileId(3));
}

#[test]
fn same_ast_ignores_spans_only() {
    let parse = |t: &str| crate::syntax::parse(FileId(0), t).0;
    assert!(same_ast(
        &parse("let a = 1+2"),
        &parse("\n\nlet  a =\n 1 + 2 # c")
    ));
    assert!(!same_ast(
        &parse("let a = 1 + 2"),
        &parse("let a = (1 + 2)")
    ));
    assert!(!same_ast(&parse("let a = 1_0"), &parse("let a = 10")));
}

#[test]
fn design_examples() {
    let text = "when pvc.usage > 50% for 5m then resize(+100%, max=400Gi)\n\npolicy grow_postgres {\n  on pvc where pvc.labels.app == \"postgres\" and namespace.labels.tier == \"db\"\n  when pvc.usage > 80% or pvc.inodes_usage > 80% for 10m\n  then resize(+50%, max = 1Ti, min_step = 10Gi), notify(\"oncall\", \"{pvc.name} grown\")\n  cooldown 1h\n  at_most 3 per 1h\n}\n\nmetric pvc.pg_write_latency : duration =\n  `histogram_quantile(0.99, sum by (namespace, persistentvolumeclaim, le) (rate(pg_io_write_seconds_bucket[5m])))`\n\npolicy faster_disk_when_slow {\n  on pvc where pvc.storage_class == \"standard\"\n  when pvc.pg_write_latency > 20ms for 15m\n  then set_class(\"fast-iops\")\n  mode approve\n}\n";
    check(text, &text.replace("max=400Gi", "max = 400Gi"));
}
