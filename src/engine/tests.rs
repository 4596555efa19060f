//! The engine contract: failures and backoff, intent ids, reload, sparse
//! state, restart state.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::*;
use crate::ir::{Kind, MetricId, Millis};

const GI: u64 = 1 << 30;
const SEC: Time = 1000;

/// Every metric reads `value` for every object.
struct Constant(f64);

impl MetricSource for Constant {
    fn sample(&self, _: MetricId, _: &ObjectId, _: Time) -> Sample {
        Sample::Value(self.0)
    }
}

fn program(text: &str) -> Arc<crate::ir::Program> {
    let c = crate::compile::compile(vec![("t.apr".into(), text.to_string())]);
    assert!(!c.has_errors(), "{text}");
    Arc::new(c.checked.program)
}

fn pvc(name: &str) -> Object {
    let mut o = Object::new(ObjectId::new(Kind::Pvc, Some("db"), name));
    o.fields = Fields {
        capacity: Some(100 * GI),
        requested: Some(100 * GI),
        phase: Some("Bound".into()),
        expandable: Some(true),
        ..Fields::default()
    };
    o
}

fn tick(e: &mut Engine, t: Time, objects: &[Object]) -> (Vec<Event>, Vec<Intent>) {
    let namespaces = BTreeMap::new();
    let snap = Snapshot {
        objects,
        namespaces: &namespaces,
        metrics: &Constant(95.0),
    };
    e.tick(t, &snap, &[])
}

const GROW: &str = "policy grow { on pvc when pvc.usage > 90% then resize(+10Gi, max = 1Ti) }";

fn transient() -> ActionOutcome {
    ActionOutcome::Failed(Failure::transient("connection reset"))
}

/// Ticks every 10s from `from` to `to` (exclusive), failing every intent
/// with `outcome`; returns when intents came out.
fn attempts(
    e: &mut Engine,
    objects: &[Object],
    from: Time,
    to: Time,
    outcome: ActionOutcome,
) -> Vec<Time> {
    let mut at = Vec::new();
    let mut t = from;
    while t < to {
        let (_, intents) = tick(e, t, objects);
        for i in &intents {
            at.push(t);
            e.finish(t, i, outcome.clone()).unwrap();
        }
        t += 10 * SEC;
    }
    at
}

#[test]
fn the_longest_cooldown_does_not_overflow() {
    let p = program(
        "policy grow { on pvc when pvc.usage > 90% then resize(+10Gi, max = 1Ti) cooldown 3650d }",
    );
    assert_eq!(p.policies[0].cooldown, Millis::MAX);
    let mut e = Engine::new(p);
    let objects = [pvc("a")];
    for t in [0, i64::MAX - 5 * SEC] {
        let (_, intents) = tick(&mut e, t, &objects);
        e.finish(t, &intents[0], ActionOutcome::Applied).unwrap();
        let Phase::Cooldown { until } = e.phase("grow", &objects[0].id) else {
            panic!("not in cooldown");
        };
        assert!(until >= t, "the cooldown ends after it started");
        // One tick later it is still in cooldown: no second action.
        let (_, intents) = tick(&mut e, t.saturating_add(SEC), &objects);
        assert!(intents.is_empty());
        e.forget(&objects[0].id);
    }
}

#[test]
fn transient_failures_back_off_doubling_to_a_cap() {
    let mut e = Engine::new(program(GROW));
    let objects = [pvc("a")];
    let at = attempts(&mut e, &objects, 0, 40 * 60 * SEC, transient());
    let gaps: Vec<Time> = at.windows(2).map(|w| (w[1] - w[0]) / SEC).collect();
    assert_eq!(gaps[..7], [30, 60, 120, 240, 480, 600, 600]);
}

#[test]
fn a_permanent_failure_holds_until_the_object_changes() {
    let mut e = Engine::new(program(GROW));
    let mut objects = [pvc("a")];
    let forbidden = ActionOutcome::Failed(Failure::permanent("403 forbidden"));
    let at = attempts(&mut e, &objects, 0, 600 * SEC, forbidden.clone());
    assert_eq!(at, [0], "tried once");
    // The hold is said once.
    let (events, _) = tick(&mut e, 600 * SEC, &objects);
    assert!(events.is_empty(), "{events:?}");
    objects[0].version = Some("2".into());
    let at = attempts(
        &mut e,
        &objects,
        610 * SEC,
        700 * SEC,
        ActionOutcome::Applied,
    );
    assert_eq!(at, [610 * SEC], "a changed object is tried again");
}

#[test]
fn a_permanent_hold_is_noted_once() {
    let mut e = Engine::new(program(GROW));
    let objects = [pvc("a")];
    let (_, intents) = tick(&mut e, 0, &objects);
    let forbidden = ActionOutcome::Failed(Failure::permanent("403 forbidden"));
    e.finish(0, &intents[0], forbidden).unwrap();
    let (first, _) = tick(&mut e, 10 * SEC, &objects);
    let (second, _) = tick(&mut e, 20 * SEC, &objects);
    assert!(
        matches!(
            &first[..],
            [Event {
                kind: EventKind::Action {
                    result: ActionResult::Skipped,
                    reason: Some(Reason::Skip(SkipReason::HeldAfterFailure)),
                    ..
                },
                ..
            }]
        ),
        "{first:?}"
    );
    assert!(second.is_empty());
}

#[test]
fn failures_do_not_use_up_at_most() {
    let p = program(
        "policy grow { on pvc when pvc.usage > 90% then resize(+10Gi, max = 1Ti) at_most 1 per 1h }",
    );
    let mut e = Engine::new(p);
    let objects = [pvc("a"), pvc("b")];
    let (_, intents) = tick(&mut e, 0, &objects);
    assert_eq!(intents.len(), 1, "at_most 1: one of the two");
    e.finish(0, &intents[0], transient()).unwrap();
    // The failure gave its start back: the other object may act now.
    let (_, intents) = tick(&mut e, 10 * SEC, &objects);
    assert_eq!(intents.len(), 1);
    assert_eq!(intents[0].object, objects[1].id);
    e.finish(10 * SEC, &intents[0], ActionOutcome::Applied)
        .unwrap();
    let (_, intents) = tick(&mut e, 40 * SEC, &objects);
    assert!(intents.is_empty(), "an applied action counts");
}

#[test]
fn stale_and_unknown_intents_are_refused() {
    let mut e = Engine::new(program(GROW));
    let objects = [pvc("a")];
    let (_, intents) = tick(&mut e, 0, &objects);
    let mut forged = intents[0].clone();
    forged.id = IntentId(999);
    assert_eq!(
        e.finish(0, &forged, ActionOutcome::Applied),
        Err(FinishError::Stale(999))
    );
    assert_eq!(e.phase("grow", &objects[0].id).name(), "acting");
    e.finish(0, &intents[0], ActionOutcome::Applied).unwrap();
    assert!(
        e.finish(0, &intents[0], ActionOutcome::Applied).is_err(),
        "finished twice"
    );
}

#[test]
fn reload_keeps_unchanged_policies_and_resets_changed_ones() {
    let two = "policy grow { on pvc when pvc.usage > 90% then resize(+10Gi, max = 1Ti) }\n\
               policy slow { on pvc when pvc.usage > 90% for 1h then resize(+10Gi, max = 1Ti) }\n\
               policy gone { on pvc when pvc.usage > 90% for 1h then resize(+10Gi, max = 1Ti) }";
    let mut e = Engine::new(program(two));
    let objects = [pvc("a")];
    let (_, intents) = tick(&mut e, 0, &objects);
    assert_eq!(intents.len(), 1);
    let id = &objects[0].id;
    // A comment and a changed `slow`; `grow` is the same; `gone` is removed.
    let changed = "# reloaded\n\
                   policy grow { on pvc when pvc.usage > 90% then resize(+10Gi, max = 1Ti) }\n\
                   policy slow { on pvc when pvc.usage > 80% for 1h then resize(+10Gi, max = 1Ti) }";
    e.reload(program(changed), 5 * SEC);
    assert_eq!(e.phase("grow", id).name(), "acting");
    assert_eq!(e.phase("slow", id), Phase::Normal);
    assert_eq!(e.stored(), 1);
    e.finish(5 * SEC, &intents[0], ActionOutcome::Applied)
        .unwrap();
    assert_eq!(e.phase("grow", id).name(), "cooldown");
    // Now `grow` changes while in flight: its intent goes stale, the cooldown stays.
    let (_, intents) = tick(&mut e, 400 * SEC, &objects);
    let grow = intents.iter().find(|i| i.policy == "grow").unwrap();
    let again = "policy grow { on pvc when pvc.usage > 90% then resize(+20Gi, max = 1Ti) }";
    e.reload(program(again), 420 * SEC);
    assert!(e.finish(420 * SEC, grow, ActionOutcome::Applied).is_err());
    assert_eq!(
        e.phase("grow", id),
        Phase::Cooldown {
            until: 420 * SEC + 300 * SEC
        }
    );
}

#[test]
fn state_is_sparse_and_goes_with_its_object() {
    let mut e = Engine::new(program(
        "policy slow { on pvc when pvc.usage > 90% for 1h then resize(+10Gi, max = 1Ti) }",
    ));
    let objects: Vec<Object> = (0..10).map(|i| pvc(&format!("p{i}"))).collect();
    tick(&mut e, 0, &objects);
    assert_eq!(e.stored(), 10);
    tick(&mut e, 10 * SEC, &objects[..5]);
    assert_eq!(e.stored(), 5, "absent objects are forgotten");
    e.forget(&objects[0].id);
    assert_eq!(e.stored(), 4);
    assert_eq!(e.phase("slow", &objects[0].id), Phase::Normal);
    assert_eq!(e.phase("slow", &objects[4].id), Phase::Pending { since: 0 });
}

#[test]
fn saved_state_round_trips_and_is_complete() {
    let text = "policy grow { on pvc when pvc.usage > 90% then resize(+10Gi, max = 1Ti) at_most 5 per 1h }\n\
                policy ask { on pvc when pvc.usage > 90% then resize(+10Gi, max = 1Ti) mode approve }\n\
                when pvc.usage > 90% for 1h then resize(+10Gi, max = 1Ti)";
    let p = program(text);
    let mut e = Engine::new(Arc::clone(&p));
    let objects = [pvc("a"), pvc("b")];
    let namespaces = BTreeMap::new();
    let snap = Snapshot {
        objects: &objects,
        namespaces: &namespaces,
        metrics: &Constant(95.0),
    };
    let (_, intents) = e.tick(0, &snap, &[]);
    for i in &intents {
        let outcome = match i.object.name.as_str() {
            "a" => ActionOutcome::Applied,
            _ => transient(),
        };
        e.finish(0, i, outcome).unwrap();
    }
    let decline = Approval {
        policy: "ask".into(),
        object: objects[0].id.clone(),
        decision: Decision::Decline,
        at: 5 * SEC,
        plan: None,
    };
    e.tick(10 * SEC, &snap, &[decline]);
    let saved = e.save();
    let json = serde_json::to_string(&saved).unwrap();
    let back: Saved = serde_json::from_str(&json).unwrap();
    assert_eq!(back, saved);
    assert_eq!(saved.at_most.len(), 1, "{json}");
    assert_eq!(saved.at_most[0].started, [0]);
    assert!(json.contains("\"by_approver\":true"), "{json}");
    assert!(json.contains("\"backoff\""), "{json}");
    let mut r = Engine::new(p);
    r.restore(&back, 10 * SEC).unwrap();
    assert_eq!(r.save(), saved);
    let id = &objects[0].id;
    assert_eq!(r.phase("ask", id), Phase::Declined { by_approver: true });
}

#[test]
fn restore_refuses_unknown_versions_and_clamps_times() {
    let p = program(
        "policy slow { on pvc when pvc.usage > 90% for 1h then resize(+10Gi, max = 1Ti) cooldown 10m }",
    );
    let mut e = Engine::new(p);
    let id = ObjectId::new(Kind::Pvc, Some("db"), "a");
    let state = |phase| saved::SavedState {
        object: id.clone(),
        policy: "slow".into(),
        phase,
        backoff: None,
        held: None,
    };
    let mut s = Saved::empty();
    s.v = 2;
    assert_eq!(e.restore(&s, 0), Err(RestoreError::Version { found: 2 }));
    let now = 1_000_000 * SEC;
    s.v = saved::VERSION;
    s.states = vec![state(Phase::Cooldown {
        until: now + 365 * 86_400 * SEC,
    })];
    e.restore(&s, now).unwrap();
    assert_eq!(
        e.phase("slow", &id),
        Phase::Cooldown {
            until: now + 600 * SEC
        }
    );
    s.states = vec![state(Phase::Pending {
        since: now + 3600 * SEC,
    })];
    e.restore(&s, now).unwrap();
    assert_eq!(e.phase("slow", &id), Phase::Pending { since: now });
    s.states = vec![state(Phase::Pending { since: i64::MIN })];
    e.restore(&s, now).unwrap();
    assert_eq!(
        e.phase("slow", &id),
        Phase::Pending {
            since: now - 3600 * SEC
        }
    );
}

#[test]
fn skipped_actions_carry_no_stand_in_arguments() {
    let mut e = Engine::new(program(GROW));
    let mut o = pvc("a");
    o.fields.phase = Some("Pending".into());
    let (events, _) = tick(&mut e, 0, &[o]);
    let skipped = events
        .iter()
        .find_map(|e| match &e.kind {
            EventKind::Action {
                action,
                planned,
                reason,
                ..
            } => Some((action, planned, reason)),
            _ => None,
        })
        .unwrap();
    assert_eq!(*skipped.0, crate::ir::ActionName::Resize);
    assert_eq!(*skipped.1, None);
    assert_eq!(
        skipped.2.as_ref().map(ToString::to_string).as_deref(),
        Some("the PVC is not Bound (phase Pending)")
    );
    let json = serde_json::to_string(&events[1]).unwrap();
    assert!(
        json.contains("\"action\":\"resize\"") && !json.contains("\"from\""),
        "{json}"
    );
}

/// A controller killed between sending an action and hearing how it went:
/// the saved state says acting. The next controller never repeats it: it
/// comes back as a cooldown from the restart.
#[test]
fn an_action_in_flight_at_a_restart_is_not_repeated() {
    let src =
        "policy grow { on pvc when pvc.usage > 90% then resize(+10Gi, max = 1Ti) cooldown 10m }";
    let mut a = Engine::new(program(src));
    let objects = [pvc("a")];
    let (_, intents) = tick(&mut a, 0, &objects);
    assert_eq!(intents.len(), 1);
    let saved = a.save();
    assert!(matches!(saved.states[0].phase, Phase::Acting { .. }));
    let mut b = Engine::new(program(src));
    b.restore(&saved, 30 * SEC).unwrap();
    let mut t = 30 * SEC;
    while t < 10 * 60 * SEC + 30 * SEC {
        let (_, intents) = tick(&mut b, t, &objects);
        assert!(intents.is_empty(), "repeated at {t}");
        t += 30 * SEC;
    }
    let (_, intents) = tick(&mut b, t, &objects);
    assert_eq!(intents.len(), 1, "acts again once the cooldown is over");
}

/// A PVC that is not Bound is skipped, said once; it is resized once Bound.
#[test]
fn skipped_while_not_bound_then_acts_when_bound() {
    let mut e = Engine::new(program(GROW));
    let mut o = pvc("a");
    o.fields.phase = Some("Pending".into());
    let mut skipped = Vec::new();
    for t in [0, 30 * SEC, 60 * SEC] {
        let (events, intents) = tick(&mut e, t, std::slice::from_ref(&o));
        assert!(intents.is_empty());
        skipped.extend(events.into_iter().filter(|e| {
            matches!(
                e.kind,
                EventKind::Action {
                    result: ActionResult::Skipped,
                    ..
                }
            )
        }));
    }
    assert_eq!(skipped.len(), 1, "{skipped:?}");
    o.fields.phase = Some("Bound".into());
    let (_, intents) = tick(&mut e, 90 * SEC, std::slice::from_ref(&o));
    assert_eq!(intents.len(), 1);
}

#[test]
fn an_approval_of_a_plan_that_moved_asks_again() {
    let p = program(
        "policy ask { on pvc when pvc.usage > 90% then resize(+10Gi, max = 1Ti) mode approve }",
    );
    let mut e = Engine::new(p);
    let mut objects = [pvc("a")];
    let namespaces = BTreeMap::new();
    let at = |t: Time, e: &mut Engine, objects: &[Object], approvals: &[Approval]| {
        let snap = Snapshot {
            objects,
            namespaces: &namespaces,
            metrics: &Constant(95.0),
        };
        e.tick(t, &snap, approvals)
    };
    let (said, intents) = at(0, &mut e, &objects, &[]);
    assert!(intents.is_empty());
    let asked = said.iter().find_map(|ev| ev.kind.as_action()).unwrap();
    assert_eq!(asked.result, ActionResult::AwaitingApproval);
    let approved = vec![asked.planned.unwrap().clone()];
    // The claim grew by hand before the approval: the plan is 110Gi → 120Gi now.
    objects[0].fields.capacity = Some(110 * GI);
    objects[0].fields.requested = Some(110 * GI);
    let approval = |at: Time, plan: Vec<Planned>| Approval {
        policy: "ask".into(),
        object: objects[0].id.clone(),
        decision: Decision::Approve,
        at,
        plan: Some(plan),
    };
    let stale = approval(5 * SEC, approved);
    let (said, intents) = at(10 * SEC, &mut e, &objects, std::slice::from_ref(&stale));
    assert!(intents.is_empty(), "a stale approval is not acted on");
    let again = said.iter().find_map(|ev| ev.kind.as_action()).unwrap();
    assert_eq!(again.result, ActionResult::AwaitingApproval);
    assert_eq!(again.reason, Some(&Reason::PlanChanged));
    let current = vec![again.planned.unwrap().clone()];
    assert_eq!(
        current,
        [Planned::Resize {
            from: 110 * GI,
            to: 120 * GI
        }]
    );
    // The old approval, older than the new request, no longer counts.
    let (said, intents) = at(20 * SEC, &mut e, &objects, std::slice::from_ref(&stale));
    assert!(intents.is_empty() && said.is_empty(), "{said:?}");
    let fresh = approval(25 * SEC, current);
    let (_, intents) = at(30 * SEC, &mut e, &objects, &[stale, fresh]);
    assert_eq!(intents.len(), 1);
}

/// A computed argument without a value is never guessed: the action is
/// skipped, and the reason names the argument and, for a malformed
/// annotation, its text. `??` gives a default only for no data.
#[test]
fn computed_arguments_without_a_value_skip_and_say_why() {
    let text = r#"policy grow {
        on pvc
        when pvc.usage > 90%
        then resize(+10%, max = bytes(pvc.annotations.limit) ?? 200Gi, min_step = bytes(pvc.annotations.step))
    }"#;
    let mut e = Engine::new(program(text));
    let reason = |e: &mut Engine, t: Time, annotations: &[(&str, &str)]| {
        let mut o = pvc("a");
        for (k, v) in annotations {
            o.annotations.insert(k.to_string(), v.to_string());
        }
        let (events, _) = tick(e, t, &[o]);
        events.iter().find_map(|e| match &e.kind {
            EventKind::Action {
                planned, reason, ..
            } => Some((planned.clone(), reason.as_ref().map(ToString::to_string))),
            _ => None,
        })
    };
    assert_eq!(
        reason(&mut e, 0, &[("limit", "150Gi")]),
        Some((None, Some("`min_step` of resize has no data".into())))
    );
    let mut e = Engine::new(program(text));
    assert_eq!(
        reason(&mut e, 0, &[("limit", "lots"), ("step", "1Gi")]),
        Some((
            None,
            Some("`max` of resize: pvc.annotations.limit: `lots` is not a size (e.g. `100Gi`, `500G`)".into())
        ))
    );
    // With no limit the default holds; the step's annotation is read: 100Gi + max(10%, 30Gi).
    let mut e = Engine::new(program(text));
    let mut o = pvc("a");
    o.annotations.insert("step".into(), "30Gi".into());
    let (_, intents) = tick(&mut e, 0, &[o]);
    let planned: Vec<&Planned> = intents.iter().map(|i| &i.planned).collect();
    assert_eq!(
        planned,
        [&Planned::Resize {
            from: 100 * GI,
            to: 130 * GI
        }]
    );
}
