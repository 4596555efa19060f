use std::collections::BTreeMap;

use super::*;
use crate::ir::Kind;

fn m(name: &str, op: MatchKind, value: &str) -> LabelMatcher {
    LabelMatcher {
        name: name.into(),
        op,
        value: value.into(),
    }
}

#[test]
fn matchers_reach_every_selector() {
    let cluster = [m("cluster", MatchKind::Equal, "eu-1")];
    let cases = [
        ("up", r#"up{cluster="eu-1"}"#),
        (
            r#"kubelet_volume_stats_used_bytes{namespace="db"} / kubelet_volume_stats_capacity_bytes"#,
            r#"kubelet_volume_stats_used_bytes{cluster="eu-1",namespace="db"} / kubelet_volume_stats_capacity_bytes{cluster="eu-1"}"#,
        ),
        (
            "sum by (namespace, persistentvolumeclaim) (rate(x[5m]))",
            r#"sum by (namespace, persistentvolumeclaim) (rate(x{cluster="eu-1"}[5m]))"#,
        ),
        (
            "max_over_time(x[10m:1m]) > on (pod) group_left () y",
            r#"max_over_time(x{cluster="eu-1"}[10m:1m]) > on (pod) group_left () y{cluster="eu-1"}"#,
        ),
        (
            r#"topk(scalar(count(z)), x{cluster="us-2"})"#,
            r#"topk(scalar(count(z{cluster="eu-1"})), x{cluster="eu-1",cluster="us-2"})"#,
        ),
        ("1 + 2", "1 + 2"),
    ];
    // promql-parser prints a selector's matchers sorted.
    for (query, want) in cases {
        assert_eq!(inject(query, &cluster).unwrap(), want, "{query}");
    }
    let more = [
        m("cluster", MatchKind::Regex, "eu-.*"),
        m("tenant", MatchKind::NotEqual, ""),
    ];
    assert_eq!(
        inject("x", &more).unwrap(),
        r#"x{cluster=~"eu-.*",tenant!=""}"#
    );
    assert!(inject("x", &[m("c", MatchKind::Regex, "(")]).is_err());
    assert!(inject("sum(", &cluster).is_err());
    assert_eq!(
        inject("sum(", &[]).unwrap(),
        "sum(",
        "nothing to add: as written"
    );
}

fn series(labels: &[(&str, &str)], value: Option<f64>) -> PromSample {
    PromSample {
        labels: labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect::<BTreeMap<_, _>>(),
        timestamp: 0.0,
        value,
    }
}

fn pvc(ns: &str, name: &str) -> ObjectId {
    ObjectId::new(Kind::Pvc, Some(ns), name)
}

#[test]
fn answers_join_to_objects_by_their_labels() {
    let join = ["namespace".to_string(), "persistentvolumeclaim".to_string()];
    let usage = MetricId(0);
    let mut f = Fetched::default();
    f.add(
        usage,
        &join,
        Ok(vec![
            series(
                &[("namespace", "db"), ("persistentvolumeclaim", "a")],
                Some(81.5),
            ),
            series(
                &[("namespace", "db"), ("persistentvolumeclaim", "nan")],
                None,
            ),
            series(
                &[("namespace", "web"), ("persistentvolumeclaim", "a")],
                Some(10.0),
            ),
            series(
                &[("namespace", "db"), ("persistentvolumeclaim", "twice")],
                Some(1.0),
            ),
            series(
                &[("namespace", "db"), ("persistentvolumeclaim", "twice")],
                Some(2.0),
            ),
            series(&[("persistentvolumeclaim", "no-namespace")], Some(3.0)),
        ]),
    );
    let at = |o: &ObjectId| f.sample(usage, o, 0);
    assert_eq!(at(&pvc("db", "a")), Sample::Value(81.5));
    assert_eq!(at(&pvc("web", "a")), Sample::Value(10.0));
    assert_eq!(at(&pvc("db", "nan")), Sample::Missing, "NaN is no data");
    assert_eq!(at(&pvc("db", "absent")), Sample::Missing);
    match at(&pvc("db", "twice")) {
        Sample::Error(e) => assert!(e.starts_with("2 series name this object"), "{e}"),
        other => panic!("two series for one object must be an error: {other:?}"),
    }
    assert_eq!(f.unjoined.get(&usage), Some(&1));
    // A binding not queried this tick reads as no data.
    assert_eq!(f.sample(MetricId(7), &pvc("db", "a"), 0), Sample::Missing);
}

#[test]
fn a_failed_query_is_an_error_for_its_binding_only() {
    let join = ["node".to_string()];
    let mut f = Fetched::default();
    f.add(
        MetricId(0),
        &join,
        Err("Prometheus at x is unreachable".into()),
    );
    f.add(
        MetricId(1),
        &join,
        Ok(vec![series(&[("node", "n1")], Some(0.5))]),
    );
    let node = ObjectId::new(Kind::Node, None, "n1");
    assert_eq!(
        f.sample(MetricId(0), &node, 0),
        Sample::Error("Prometheus at x is unreachable".into())
    );
    assert_eq!(f.sample(MetricId(1), &node, 0), Sample::Value(0.5));
}

#[test]
fn one_query_per_binding_read() {
    let c = crate::compile::compile(vec![(
        "t.apr".into(),
        "policy a { on pvc when pvc.usage > 50% and pvc.inodes_usage > 50% then resize(+1Gi, max = 1Ti) }\n\
         policy b { on pvc when pvc.usage > 90% then resize(+1Gi, max = 1Ti) }"
            .into(),
    )]);
    assert!(!c.has_errors());
    let qs = queries(&c.checked.program, &[m("cluster", MatchKind::Equal, "a")]).unwrap();
    let names: Vec<&str> = qs.iter().map(|q| q.binding.as_str()).collect();
    assert_eq!(names.len(), 2, "{names:?}");
    assert!(names.contains(&"pvc.usage") && names.contains(&"pvc.inodes_usage"));
    for q in &qs {
        assert!(q.promql.contains(r#"cluster="a""#), "{}", q.promql);
    }
}
