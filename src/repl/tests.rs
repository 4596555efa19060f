//! The session backend, driven as the front-end drives it.

use super::*;

const POLICIES: &str = "when pvc.usage > 50% for 2m then resize(+100%, max = 400Gi)\n\
let limit = 80%\n";

const SCENARIO: &str = "step: 1m
duration: 10m
namespaces: [{name: db}]
objects:
  - {kind: storageclass, name: standard, allow_volume_expansion: true}
  - {kind: pvc, namespace: db, name: a, storage_class: standard, capacity: 100Gi}
  - {kind: pvc, namespace: db, name: b, storage_class: standard, capacity: 10Gi}
  - {kind: pvc, namespace: db, name: c, storage_class: standard, capacity: 10Gi}
series:
  - {metric: pvc.usage, object: pvc/db/a, values: \"40 60x10\"}
  - {metric: pvc.usage, object: pvc/db/b, values: \"10x10\"}
";

fn session() -> Session {
    Session::new(
        vec![("p.apr".into(), POLICIES.into())],
        Some(("s.yaml".into(), SCENARIO.into())),
        Style::PLAIN,
    )
    .expect("the session starts")
}

#[test]
fn constants_evaluate_once() {
    let mut s = session();
    assert_eq!(s.eval_line("50% * 10Gi"), "5Gi  (bytes)\n");
    assert_eq!(s.eval_line("limit"), "80%  (percent)\n");
}

#[test]
fn an_expression_is_a_table_per_object() {
    let mut s = session();
    let out = s.eval_line("pvc.usage");
    assert!(out.contains("pvc/db/a  40%"), "{out}");
    assert!(out.contains("pvc/db/c  <no data>"), "{out}");
}

#[test]
fn a_condition_says_match_no_match_and_no_data() {
    let mut s = session();
    s.eval_line(":at 1m");
    let out = s.eval_line("pvc.usage > limit - 30%");
    assert!(out.contains("pvc/db/a  match"), "{out}");
    assert!(out.contains("pvc/db/b  no match"), "{out}");
    assert!(out.contains("pvc/db/c  no data"), "{out}");
    assert!(
        out.contains("1 match, 1 no match, 1 no data, 0 errors at 1m00s"),
        "{out}"
    );
}

#[test]
fn the_clock_rounds_down_and_the_world_follows_the_simulation() {
    let mut s = session();
    assert_eq!(
        s.eval_line(":at 150s"),
        "clock at 2m00s (rounded down to a multiple of the step, 1m00s)\n\
         the world as the tick at 2m00s saw it, before its actions\n"
    );
    assert!(
        s.eval_line(":at 11m")
            .starts_with("error: the scenario runs")
    );
    s.eval_line(":at 5m");
    let out = s.eval_line("pvc.capacity");
    assert!(out.contains("pvc/db/a  200Gi"), "{out}");
    let out = s.eval_line(":policies");
    assert!(out.contains("cooldown until"), "{out}");
}

#[test]
fn errors_are_diagnostics_of_the_input() {
    let mut s = session();
    let out = s.eval_line("pvc.usage > 50");
    assert!(out.contains("apr::type::mismatch"), "{out}");
    assert!(out.contains("<repl>:1:"), "{out}");
    let out = s.eval_line("pvc.usag");
    assert!(out.contains("pvc.usage"), "{out}");
}

#[test]
fn types_and_promql() {
    let mut s = session();
    assert_eq!(s.eval_line(":type pvc.used / 2"), "bytes  (one per pvc)\n");
    let out = s.eval_line(":explain pvc.usage > 50%");
    assert!(out.contains("kubelet_volume_stats"), "{out}");
}

#[test]
fn definitions_join_the_program() {
    let mut s = session();
    assert_eq!(s.eval_line("let half = 50%"), "defined\n");
    assert_eq!(s.eval_line("half * 2"), "100%  (percent)\n");
    let out = s.eval_line("policy x {\n  when pvc.usage > half\n  then resize(+10%, max = 1Ti)\n}");
    assert_eq!(out, "1 policy(ies) added\n");
    assert!(s.eval_line(":policies").contains("x  (on pvc"));
}

#[test]
fn without_a_scenario_objects_are_refused_clearly() {
    let mut s = Session::new(Vec::new(), None, Style::PLAIN).expect("starts");
    assert_eq!(s.eval_line("1 + 2"), "3  (number)\n");
    assert!(s.eval_line("pvc.usage").contains("there is no scenario"));
    assert!(s.eval_line(":at 1m").contains("no scenario"));
}

#[test]
fn commands() {
    let mut s = session();
    assert!(s.eval_line(":help").contains(":policies"));
    assert!(
        s.eval_line(":polices")
            .contains("unknown command `:polices`")
    );
    assert!(s.eval_line(":load /nonexistent.apr").starts_with("error:"));
    assert!(!s.is_done());
    s.eval_line(":quit");
    assert!(s.is_done());
}

#[test]
fn completion() {
    let s = session();
    let (start, words) = s.complete("pvc.us", 6);
    assert_eq!(start, 0);
    assert!(words.contains(&"pvc.usage".to_string()), "{words:?}");
    let (_, words) = s.complete(":p", 2);
    assert_eq!(words, vec![":policies"]);
    let (start, words) = s.complete("x > lim", 7);
    assert_eq!((start, words), (4, vec!["limit".to_string()]));
    let (_, words) = s.complete("res", 3);
    assert_eq!(words, vec!["resize"]);
}

#[test]
fn incomplete_input_waits_for_more() {
    use crate::syntax::parse::is_incomplete;
    assert!(is_incomplete("pvc.usage >"));
    assert!(is_incomplete("max(pvc.usage,\n"));
    assert!(is_incomplete("policy x {\n when pvc.usage > 1%"));
    assert!(!is_incomplete("pvc.usage > 50%"));
    assert!(!is_incomplete("pvc.usage 50%"));
    assert!(!is_incomplete("pvc.name == \"abc"));
    assert!(!is_incomplete(""));
    assert!(!is_incomplete("# a comment"));
}

// ------------------------------------------------------------------ live

/// A Prometheus in memory: `pvc.usage` of two claims from `since` on, and
/// the times it was asked at.
struct FakeLive {
    since: jiff::Timestamp,
    failing: bool,
    asked: std::rc::Rc<std::cell::RefCell<Vec<jiff::Timestamp>>>,
}

fn t(s: &str) -> jiff::Timestamp {
    s.parse().expect("a time")
}

impl Live for FakeLive {
    fn source(&self) -> String {
        "http://prom:9090".into()
    }
    fn now(&self) -> jiff::Timestamp {
        t("2026-12-03T16:00:00Z")
    }
    fn fetch(
        &mut self,
        program: &crate::ir::Program,
        metrics: &[crate::ir::MetricId],
        at: jiff::Timestamp,
    ) -> crate::cluster::metrics::Fetched {
        use crate::engine::answers::Series as PromSample;
        self.asked.borrow_mut().push(at);
        let mut fetched = crate::cluster::metrics::Fetched::default();
        for id in metrics {
            let m = program.metric(*id);
            let answer = if self.failing {
                Err("Prometheus at http://prom:9090 is unreachable: connection refused".into())
            } else if at < self.since || m.qualified() != "pvc.usage" {
                Ok(Vec::new())
            } else {
                let one = |ns: &str, name: &str, v: f64| PromSample {
                    labels: [
                        (m.join[0].clone(), ns.into()),
                        (m.join[1].clone(), name.into()),
                    ]
                    .into_iter()
                    .collect(),
                    value: Some(v),
                };
                Ok(vec![one("db", "b", 70.0), one("db", "a", 20.0)])
            };
            fetched.add(*id, &m.join, answer);
        }
        fetched
    }
    fn has_cluster(&self) -> bool {
        false
    }
    fn objects(&mut self, _: Kind) -> Option<Result<super::Listed, String>> {
        None
    }
}

fn live(
    failing: bool,
) -> (
    Session,
    std::rc::Rc<std::cell::RefCell<Vec<jiff::Timestamp>>>,
) {
    let asked = std::rc::Rc::default();
    let s = Session::new(vec![("p.apr".into(), POLICIES.into())], None, Style::PLAIN)
        .expect("the session starts")
        .with_live(Box::new(FakeLive {
            since: t("2026-12-03T15:00:00Z"),
            failing,
            asked: std::rc::Rc::clone(&asked),
        }));
    (s, asked)
}

#[test]
fn live_objects_are_those_the_answers_name() {
    let (mut s, asked) = live(false);
    insta::assert_snapshot!(s.eval_line("pvc.usage"), @r"
    object    value  unit
    pvc/db/a  20%    percent
    pvc/db/b  70%    percent
    2 pvc at 2026-12-03T16:00:00Z (live: http://prom:9090; objects: those the series of `pvc.usage` name)
    ");
    insta::assert_snapshot!(s.eval_line("pvc.usage > 50%"), @r"
    object    condition
    pvc/db/b  match
    pvc/db/a  no match
    1 match, 1 no match, 0 no data, 0 errors at 2026-12-03T16:00:00Z (live: http://prom:9090; objects: those the series of `pvc.usage` name)
    ");
    assert_eq!(asked.borrow().len(), 2, "each evaluation queries again");
}

#[test]
fn live_at_queries_at_that_time() {
    let (mut s, asked) = live(false);
    assert_eq!(s.eval_line(":at -2h"), "clock at 2026-12-03T14:00:00Z\n");
    insta::assert_snapshot!(s.eval_line("pvc.usage"), @"no data: no pvc objects at 2026-12-03T14:00:00Z (live: http://prom:9090; objects: those the series of `pvc.usage` name); `pvc.usage` had no series then");
    assert_eq!(asked.borrow().last(), Some(&t("2026-12-03T14:00:00Z")));
    assert_eq!(
        s.eval_line(":at 2026-12-03T15:30:00Z"),
        "clock at 2026-12-03T15:30:00Z\n"
    );
    assert!(
        s.eval_line("pvc.usage")
            .contains("2 pvc at 2026-12-03T15:30:00Z")
    );
    assert_eq!(
        s.eval_line(":at now"),
        "clock now (each evaluation queries again)\n"
    );
    assert!(
        s.eval_line(":at tomorrow")
            .starts_with("error: `tomorrow` is not a time")
    );
    assert!(s.banner().contains("live: http://prom:9090"));
    assert_eq!(s.prompt(), "live http://prom:9090> ");
}

#[test]
fn a_failed_query_is_an_error_never_no_match() {
    let (mut s, _) = live(true);
    for input in ["pvc.usage", "pvc.usage > 50%"] {
        assert_eq!(
            s.eval_line(input),
            "error: pvc.usage: Prometheus at http://prom:9090 is unreachable: connection refused\n",
            "{input}"
        );
    }
    // The session goes on.
    assert_eq!(s.eval_line("1 + 1"), "2  (number)\n");
}
