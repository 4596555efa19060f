//! The apply rules of the simulated world, one test per rule.

use super::*;
use crate::compile::compile;
use crate::engine::plan::Blocker;
use crate::source::FileId;

const GI: u64 = 1 << 30;

const SCENARIO: &str = r#"
duration: 10m
step: 1m
objects:
  - {kind: storageclass, name: standard, allow_volume_expansion: true}
  - {kind: storageclass, name: fixed}
  - {kind: pvc, name: data, storage_class: standard, capacity: 100Gi}
  - {kind: pvc, name: slow, storage_class: standard, capacity: 100Gi, resize_delay: 2m}
  - {kind: pvc, name: fixed, storage_class: fixed, capacity: 100Gi}
  - {kind: pvc, name: classless, capacity: 100Gi}
  - {kind: pvc, name: unbound, storage_class: standard, phase: Pending}
  - {kind: pod, name: p}
  - {kind: statefulset, name: s, replicas: 3, ready_replicas: 2}
  - {kind: node, name: n}
series:
  - {metric: pvc.usage, object: pvc/default/data, values: "50 60 70"}
  - {metric: pvc.used, object: pvc/default/slow, values: "50Gi"}
"#;

struct Fixture {
    world: World,
    source: ScenarioSource,
    program: Program,
}

fn fixture() -> Fixture {
    let c = compile(vec![]);
    assert!(!c.has_errors());
    let program = c.checked.program;
    let scenario =
        crate::sim::scenario::parse(FileId(0), SCENARIO).unwrap_or_else(|d| panic!("{d:#?}"));
    let source = ScenarioSource::new(&scenario, &program).unwrap_or_else(|d| panic!("{d:#?}"));
    Fixture {
        world: World::new(&scenario, &program),
        source,
        program,
    }
}

fn id(s: &str) -> ObjectId {
    s.parse().unwrap()
}

/// Carries out the action with the view up to date before it, so that
/// [`fields`] after it sees whether the action marked the view stale.
fn apply(w: &mut World, t: Time, object: &str, planned: Planned) -> ActionOutcome {
    w.refresh();
    w.apply(t, "p", &id(object), &planned)
}

/// The object's fields as the engine sees them: through the cached view,
/// which must be what the world holds now, whatever changed it.
fn fields(w: &mut World, object: &str) -> Fields {
    let id = id(object);
    w.refresh();
    assert_eq!(w.view(), w.build_view(), "the view follows the world");
    w.view()
        .iter()
        .find(|o| o.id == id)
        .map(|o| o.fields.clone())
        .expect("object is there")
}

fn resize(to: u64) -> Planned {
    Planned::Resize {
        from: 100 * GI,
        to: to * GI,
    }
}

#[test]
fn resize_without_delay_grows_request_and_capacity_at_once() {
    let mut f = fixture();
    assert_eq!(
        apply(&mut f.world, 0, "pvc/default/data", resize(200)),
        ActionOutcome::Applied
    );
    let pvc = fields(&mut f.world, "pvc/default/data");
    assert_eq!(
        (pvc.requested, pvc.capacity),
        (Some(200 * GI), Some(200 * GI))
    );
    assert!(!pvc.resizing);
    assert_eq!(pvc.expandable, Some(true));
}

#[test]
fn resize_with_delay_is_in_progress_until_it_is_due() {
    let mut f = fixture();
    let w = &mut f.world;
    assert_eq!(
        apply(w, 0, "pvc/default/slow", resize(200)),
        ActionOutcome::Applied
    );
    let pvc = fields(w, "pvc/default/slow");
    assert_eq!(
        (pvc.requested, pvc.capacity),
        (Some(200 * GI), Some(100 * GI))
    );
    assert!(pvc.resizing);
    assert!(matches!(
        apply(w, 60_000, "pvc/default/slow", resize(300)),
        ActionOutcome::Skipped(SkipReason::Blocked(Blocker::ResizeInProgress { .. }))
    ));
    w.advance(60_000);
    assert!(fields(w, "pvc/default/slow").resizing);
    w.advance(120_000);
    let pvc = fields(w, "pvc/default/slow");
    assert_eq!(pvc.capacity, Some(200 * GI));
    assert!(!pvc.resizing);
}

#[test]
fn resize_of_an_unbound_pvc_is_skipped() {
    let mut f = fixture();
    assert_eq!(
        apply(&mut f.world, 0, "pvc/default/unbound", resize(200)),
        ActionOutcome::Skipped(SkipReason::Blocked(Blocker::NotBound {
            phase: Some("Pending".into())
        }))
    );
}

#[test]
fn resize_without_expansion_is_skipped() {
    let mut f = fixture();
    assert_eq!(
        fields(&mut f.world, "pvc/default/fixed").expandable,
        Some(false)
    );
    assert_eq!(
        apply(&mut f.world, 0, "pvc/default/fixed", resize(200)),
        ActionOutcome::Skipped(SkipReason::Blocked(Blocker::ExpansionNotAllowed {
            class: "fixed".into()
        }))
    );
    assert_eq!(
        apply(&mut f.world, 0, "pvc/default/classless", resize(200)),
        ActionOutcome::Skipped(SkipReason::Blocked(Blocker::NoStorageClass))
    );
    assert_eq!(
        fields(&mut f.world, "pvc/default/fixed").capacity,
        Some(100 * GI)
    );
}

#[test]
fn never_shrinks() {
    let mut f = fixture();
    assert_eq!(
        apply(&mut f.world, 0, "pvc/default/data", resize(50)),
        ActionOutcome::Declined(DeclineReason::Shrink {
            to: 50 << 30,
            current: 100 << 30
        })
    );
    assert!(matches!(
        apply(&mut f.world, 0, "pvc/default/data", resize(100)),
        ActionOutcome::Declined(_)
    ));
    assert_eq!(
        fields(&mut f.world, "pvc/default/data").requested,
        Some(100 * GI)
    );
}

#[test]
fn scale_sets_replicas_and_ready_replicas_follow() {
    let mut f = fixture();
    let planned = Planned::Scale { from: 3, to: 4 };
    assert_eq!(
        apply(&mut f.world, 0, "statefulset/default/s", planned),
        ActionOutcome::Applied
    );
    let s = fields(&mut f.world, "statefulset/default/s");
    assert_eq!((s.replicas, s.ready_replicas), (Some(4), Some(4)));
}

#[test]
fn set_class_cordon_and_metadata_apply() {
    let mut f = fixture();
    let w = &mut f.world;
    let class = Planned::SetClass {
        class: "fast".into(),
    };
    assert_eq!(
        apply(w, 0, "pvc/default/data", class.clone()),
        ActionOutcome::Applied
    );
    assert_eq!(
        fields(w, "pvc/default/data")
            .volume_attributes_class
            .as_deref(),
        Some("fast")
    );
    assert!(matches!(
        apply(w, 0, "pvc/default/data", class),
        ActionOutcome::Declined(_)
    ));
    assert_eq!(
        apply(w, 0, "node/n", Planned::Cordon),
        ActionOutcome::Applied
    );
    assert_eq!(fields(w, "node/n").unschedulable, Some(true));
    let label = Planned::Label {
        key: "k".into(),
        value: "v".into(),
    };
    let annotate = Planned::Annotate {
        key: "a".into(),
        value: "b".into(),
    };
    assert_eq!(apply(w, 0, "node/n", label), ActionOutcome::Applied);
    assert_eq!(apply(w, 0, "node/n", annotate), ActionOutcome::Applied);
    let node = &w.get(&id("node/n")).unwrap().object;
    assert_eq!(node.labels.get("k").map(String::as_str), Some("v"));
    assert_eq!(node.annotations.get("a").map(String::as_str), Some("b"));
}

#[test]
fn evict_removes_the_pod() {
    let mut f = fixture();
    assert_eq!(
        apply(&mut f.world, 0, "pod/default/p", Planned::Evict),
        ActionOutcome::Applied
    );
    assert!(
        f.world
            .objects()
            .iter()
            .all(|o| o.id != id("pod/default/p"))
    );
    assert!(f.world.get(&id("pod/default/p")).unwrap().presence == super::Presence::Evicted);
    assert!(matches!(
        apply(&mut f.world, 0, "pod/default/p", Planned::Evict),
        ActionOutcome::Failed(_)
    ));
}

#[test]
fn events_and_notifications_are_recorded() {
    let mut f = fixture();
    let w = &mut f.world;
    let event = Planned::Event {
        reason: "Grown".into(),
        message: "m".into(),
    };
    let notify = Planned::Notify {
        receiver: "oncall".into(),
        message: "n".into(),
    };
    assert_eq!(
        apply(w, 5, "pvc/default/data", event),
        ActionOutcome::Applied
    );
    assert_eq!(
        apply(w, 6, "pvc/default/data", notify),
        ActionOutcome::Applied
    );
    assert_eq!(w.events.len(), 1);
    assert_eq!((w.events[0].to.as_str(), w.events[0].time), ("Grown", 5));
    assert_eq!(w.notifications.len(), 1);
    assert_eq!(w.notifications[0].to, "oncall");
}

#[test]
fn actions_on_the_wrong_kind_or_a_missing_object_fail() {
    let mut f = fixture();
    assert!(matches!(
        apply(&mut f.world, 0, "node/n", resize(200)),
        ActionOutcome::Failed(_)
    ));
    assert!(matches!(
        apply(&mut f.world, 0, "pvc/default/nope", resize(200)),
        ActionOutcome::Failed(_)
    ));
}

fn metric(p: &Program, name: &str) -> MetricId {
    MetricId(
        p.metrics
            .iter()
            .position(|m| m.qualified() == name)
            .unwrap() as u32,
    )
}

#[test]
fn volume_stats_follow_the_capacity() {
    let mut f = fixture();
    let (usage, used, available) = (
        metric(&f.program, "pvc.usage"),
        metric(&f.program, "pvc.used"),
        metric(&f.program, "pvc.available"),
    );
    let data = id("pvc/default/data");
    let t = crate::sim::scenario::DEFAULT_START;
    let m = f.world.metrics(&f.source, None);
    assert_eq!(m.sample(usage, &data, t), Sample::Value(50.0));
    assert_eq!(m.sample(used, &data, t), Sample::Value(50.0 * GI as f64));
    assert_eq!(
        m.sample(available, &data, t),
        Sample::Value(50.0 * GI as f64)
    );
    apply(&mut f.world, t, "pvc/default/data", resize(200));
    let m = f.world.metrics(&f.source, None);
    assert_eq!(m.sample(usage, &data, t), Sample::Value(25.0));
    assert_eq!(m.sample(used, &data, t), Sample::Value(50.0 * GI as f64));
    assert_eq!(
        m.sample(available, &data, t),
        Sample::Value(150.0 * GI as f64)
    );
    // Past the last sample (at 2m), the series stays visible for the 5m
    // lookback, derived or not; then there is no data.
    assert_eq!(m.sample(usage, &data, t + 6 * 60_000), Sample::Value(35.0));
    assert_eq!(m.sample(usage, &data, t + 7 * 60_000), Sample::Missing);
    // From `pvc.used` values.
    let slow = id("pvc/default/slow");
    assert_eq!(m.sample(usage, &slow, t), Sample::Value(50.0));
    // No volume series for this PVC: no data.
    assert_eq!(
        m.sample(usage, &id("pvc/default/fixed"), t),
        Sample::Missing
    );
}

#[test]
fn scenario_changes_reach_the_view_at_their_time() {
    let text = r#"
duration: 10m
step: 1m
objects:
  - {kind: statefulset, name: s, replicas: 3, ready_replicas: 2}
changes:
  - {at: 2m, object: statefulset/default/s, set: {ready_replicas: 3}}
  - {at: 3m, create: {kind: pod, name: p}}
  - {at: 4m, delete: statefulset/default/s}
"#;
    let program = compile(vec![]).checked.program;
    let scenario =
        crate::sim::scenario::parse(FileId(0), text).unwrap_or_else(|d| panic!("{d:#?}"));
    let mut w = World::new(&scenario, &program);
    let at = |m: i64| scenario.start + m * 60_000;
    let seen = |w: &mut World, t: Time| {
        w.change(t);
        w.refresh();
        assert_eq!(
            w.view(),
            w.build_view(),
            "the view follows the world at {t}"
        );
        w.view()
            .iter()
            .map(|o| o.id.to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(seen(&mut w, at(1)), ["statefulset/default/s"]);
    assert_eq!(
        fields(&mut w, "statefulset/default/s").ready_replicas,
        Some(2)
    );
    w.change(at(2));
    assert_eq!(
        fields(&mut w, "statefulset/default/s").ready_replicas,
        Some(3)
    );
    assert_eq!(
        seen(&mut w, at(3)),
        ["statefulset/default/s", "pod/default/p"]
    );
    assert_eq!(seen(&mut w, at(4)), ["pod/default/p"]);
}
