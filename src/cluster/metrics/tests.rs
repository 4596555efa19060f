use super::*;

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
