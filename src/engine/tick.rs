//! One tick: every policy over every object of its kind, in a stable order.
//!
//! State is sparse: only (policy, object) pairs that are not normal are
//! stored, per object in a slot that goes when its last state goes or when the
//! object is gone from a snapshot (or [`Engine::forget`] is called). A tick is
//! linear in the objects of the snapshot plus the stored slots.
//!
//! Failures: a transient one sends the firing back to `firing`, retried after
//! a backoff ([`state::backoff`]: 30s doubling per failure in a row, capped at
//! 10m); a permanent one holds the (policy, object) until the object's version
//! changes (or a reload changes the policy). Only a firing with an applied
//! action counts towards `at_most`: failed, skipped or declined ones give
//! their start back.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;

use jiff::tz::TimeZone;

use super::eval::{self, Cx, Val};
use super::object::{Object, ObjectId, Snapshot};
use super::outcome::{ActionOutcome, DeclineReason, Reason, SkipReason};
use super::plan::{self, ResizePlan, ScalePlan};
use super::saved::{self, RestoreError, Saved, SavedStarts, SavedState};
use super::state::{self, Backoff, FailureKind, Phase, PhaseName, State, States};
use super::{ActionResult, Approval, Decision, Event, EventKind, Intent, IntentId, Planned, Time};
use crate::ir::{
    self, ActionKind, ActionName, ArgSlot, Kind, Millis, Mode, NoData, Program, ResizeStep,
    ScaleStep, Value,
};

/// The engine: the program, and the state of every (policy, object) that is
/// not normal.
pub struct Engine {
    program: Arc<Program>,
    /// Per policy, in program order.
    runs: Vec<PolicyRun>,
    /// Objects with at least one stored state: their slot.
    /// foldhash: looked up per object per tick, never iterated.
    index: foldhash::HashMap<ObjectId, u32>,
    slots: Vec<Slot>,
    /// Counts ticks, to tell which slots a snapshot did not name.
    ticks: u64,
    /// The last snapshot's objects in id order (indices into it).
    order: Vec<u32>,
    next_intent: u64,
    in_flight: HashMap<IntentId, InFlight>,
    zones: Vec<Option<TimeZone>>,
}

struct PolicyRun {
    fingerprint: u64,
    /// When firings started, for `at_most`.
    started: VecDeque<Time>,
}

struct Slot {
    id: ObjectId,
    seen: u64,
    /// By policy index; never a normal state.
    states: States,
}

struct InFlight {
    policy: u32,
    object: ObjectId,
    /// The object's version when the action was planned.
    version: u64,
}

/// Why [`Engine::finish`] refused a report.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FinishError {
    #[error("intent {0} is not in flight: unknown, already finished, or made stale by a reload")]
    Stale(u64),
}

/// An object of this tick: its slot, itself, its namespace.
type Subject<'a> = (
    Option<u32>,
    &'a Object,
    Option<&'a super::object::Namespace>,
);

/// How planning the actions of one firing went.
enum Plan {
    Go(Vec<Planned>),
    Skip(SkipReason),
    Decline(Vec<(Planned, DeclineReason)>),
    /// The plan changes nothing (`scale(to = N)` at N).
    Unchanged,
}

impl Engine {
    pub fn new(program: Arc<Program>) -> Engine {
        let runs = program
            .policies
            .iter()
            .map(|p| PolicyRun {
                fingerprint: ir::fingerprint(&program, p),
                started: VecDeque::new(),
            })
            .collect();
        Engine {
            zones: zones(&program),
            program,
            runs,
            index: foldhash::HashMap::default(),
            slots: Vec::new(),
            ticks: 0,
            order: Vec::new(),
            next_intent: 0,
            in_flight: HashMap::new(),
        }
    }

    pub fn program(&self) -> &Program {
        &self.program
    }

    /// Replaces the program, keeping each state by policy key. A policy whose
    /// fingerprint changed starts over from normal but keeps a cooldown (an
    /// action in flight becomes a cooldown from `now`); a removed policy drops
    /// its state. Intents of changed or removed policies become stale.
    pub fn reload(&mut self, program: Arc<Program>, now: Time) {
        let old: HashMap<&str, usize> = self
            .program
            .policies
            .iter()
            .enumerate()
            .map(|(i, p)| (p.key.as_str(), i))
            .collect();
        let mut fresh = Engine::new(Arc::clone(&program));
        // For each old policy index: its new index, and whether it changed.
        let mut map: Vec<Option<(u32, bool)>> = vec![None; self.program.policies.len()];
        for (ni, p) in program.policies.iter().enumerate() {
            if let Some(&oi) = old.get(p.key.as_str()) {
                let changed = self.runs[oi].fingerprint != fresh.runs[ni].fingerprint;
                map[oi] = Some((ni as u32, changed));
                if !changed {
                    fresh.runs[ni].started = std::mem::take(&mut self.runs[oi].started);
                }
            }
        }
        for slot in std::mem::take(&mut self.slots) {
            for (oi, s) in slot.states.into_entries() {
                let Some((ni, changed)) = map[oi as usize] else {
                    continue;
                };
                let s = if changed {
                    let cooldown = program.policies[ni as usize].cooldown;
                    let phase = match s.phase {
                        Phase::Cooldown { until } => Phase::Cooldown { until },
                        Phase::Acting { .. } => Phase::Cooldown {
                            until: cooldown.after(now),
                        },
                        _ => continue,
                    };
                    State::new(phase, None, None)
                } else {
                    s
                };
                fresh.put(None, &slot.id, ni, s);
            }
        }
        for (id, f) in std::mem::take(&mut self.in_flight) {
            if let Some((ni, false)) = map[f.policy as usize] {
                fresh.in_flight.insert(id, InFlight { policy: ni, ..f });
            }
        }
        fresh.next_intent = self.next_intent;
        fresh.ticks = self.ticks;
        for s in &mut fresh.slots {
            s.seen = fresh.ticks;
        }
        *self = fresh;
    }

    /// Drops every state of an object that was deleted.
    pub fn forget(&mut self, id: &ObjectId) {
        if let Some(i) = self.index.remove(id) {
            self.remove_slot(i);
        }
    }

    /// How many (policy, object) states are stored.
    pub fn stored(&self) -> usize {
        self.slots.iter().map(|s| s.states.len()).sum()
    }

    fn remove_slot(&mut self, i: u32) {
        self.slots.swap_remove(i as usize);
        if let Some(moved) = self.slots.get(i as usize) {
            self.index.insert(moved.id.clone(), i);
        }
    }

    fn state_mut(&mut self, slot: u32, pi: u32) -> Option<&mut State> {
        self.slots[slot as usize].states.get_mut(pi)
    }

    fn take(&mut self, slot: Option<u32>, pi: u32) -> State {
        slot.and_then(|s| self.state_mut(s, pi))
            .map(std::mem::take)
            .unwrap_or_default()
    }

    /// Stores a state (dropping it when normal); returns the object's slot.
    fn put(&mut self, slot: Option<u32>, id: &ObjectId, pi: u32, state: State) -> Option<u32> {
        let slot = slot.or_else(|| self.index.get(id).copied());
        let Some(si) = slot else {
            if state.is_normal() {
                return None;
            }
            let si = self.slots.len() as u32;
            self.slots.push(Slot {
                id: id.clone(),
                seen: self.ticks,
                states: States::one(pi, state),
            });
            self.index.insert(id.clone(), si);
            return Some(si);
        };
        self.slots[si as usize].states.set(pi, state);
        Some(si)
    }

    fn policy_index(&self, policy: &str) -> Option<usize> {
        self.program
            .policies
            .iter()
            .position(|p| p.name == policy || p.key == policy)
    }

    /// The phase of a (policy, object), by the policy's name or key; normal
    /// when nothing is stored.
    pub fn phase(&self, policy: &str, object: &ObjectId) -> Phase {
        let Some(pi) = self.policy_index(policy) else {
            return Phase::Normal;
        };
        self.index
            .get(object)
            .and_then(|&si| self.slots[si as usize].states.get(pi as u32))
            .map(|s| s.phase.clone())
            .unwrap_or_default()
    }

    /// The saved states of one object (what its annotation holds), by policy key.
    pub fn saved_of(&self, id: &ObjectId) -> Vec<SavedState> {
        let Some(&si) = self.index.get(id) else {
            return Vec::new();
        };
        let slot = &self.slots[si as usize];
        let mut out: Vec<SavedState> = slot
            .states
            .iter()
            .filter(|(_, s)| !(s.phase.is_normal() && s.backoff().is_none() && s.held().is_none()))
            .map(|(pi, s)| SavedState {
                object: slot.id.clone(),
                policy: self.program.policies[pi as usize].key.clone(),
                phase: s.phase.clone(),
                backoff: s.backoff(),
                held: s.held(),
            })
            .collect();
        out.sort_by(|a, b| a.policy.cmp(&b.policy));
        out
    }

    /// Everything a restart needs (see [`saved`] for what and how it is restored).
    pub fn save(&self) -> Saved {
        let mut out = Saved::empty();
        for slot in &self.slots {
            for (pi, s) in slot.states.iter() {
                if s.phase.is_normal() && s.backoff().is_none() && s.held().is_none() {
                    continue;
                }
                out.states.push(SavedState {
                    object: slot.id.clone(),
                    policy: self.program.policies[pi as usize].key.clone(),
                    phase: s.phase.clone(),
                    backoff: s.backoff(),
                    held: s.held(),
                });
            }
        }
        out.states
            .sort_by(|a, b| (&a.object, &a.policy).cmp(&(&b.object, &b.policy)));
        for (p, run) in self.program.policies.iter().zip(&self.runs) {
            if p.at_most.is_some() && !run.started.is_empty() {
                out.at_most.push(SavedStarts {
                    policy: p.key.clone(),
                    started: run.started.iter().copied().collect(),
                });
            }
        }
        out
    }

    /// Restores saved state after a restart, times clamped as [`saved`] says.
    /// States of policies that are gone are dropped.
    pub fn restore(&mut self, saved: &Saved, now: Time) -> Result<(), RestoreError> {
        if saved.v != saved::VERSION {
            return Err(RestoreError::Version { found: saved.v });
        }
        for s in &saved.states {
            let Some(pi) = self.program.policies.iter().position(|p| p.key == s.policy) else {
                continue;
            };
            let policy = &self.program.policies[pi];
            let phase = match s.phase {
                Phase::Acting { .. } => Phase::Cooldown {
                    until: policy.cooldown.after(now),
                },
                Phase::Pending { since } => Phase::Pending {
                    since: since.clamp(policy.hold.before(now), now),
                },
                Phase::Cooldown { until } => Phase::Cooldown {
                    until: until.clamp(now, policy.cooldown.after(now)),
                },
                Phase::AwaitingApproval { since } => Phase::AwaitingApproval {
                    since: since.min(now),
                },
                ref p => p.clone(),
            };
            let backoff = s.backoff.map(|b| Backoff {
                failures: b.failures,
                until: b.until.clamp(now, state::BACKOFF_MAX.after(now)),
            });
            self.put(
                None,
                &s.object,
                pi as u32,
                State::new(phase, backoff, s.held),
            );
        }
        for s in &saved.at_most {
            let Some(pi) = self.program.policies.iter().position(|p| p.key == s.policy) else {
                continue;
            };
            let Some(a) = self.program.policies[pi].at_most else {
                continue;
            };
            let mut started: Vec<Time> = s
                .started
                .iter()
                .map(|&t| t.min(now))
                .filter(|&t| t > a.per.before(now))
                .collect();
            started.sort_unstable();
            let keep = started.len().saturating_sub(a.count as usize);
            self.runs[pi].started = started.into_iter().skip(keep).collect();
        }
        for s in &mut self.slots {
            s.seen = self.ticks;
        }
        Ok(())
    }

    /// Evaluates every policy at `t` and returns what happened and what to do.
    pub fn tick(
        &mut self,
        t: Time,
        snap: &Snapshot,
        approvals: &[Approval],
    ) -> (Vec<Event>, Vec<Intent>) {
        self.ticks += 1;
        let program = Arc::clone(&self.program);
        let mut by_kind: BTreeMap<Kind, Vec<Subject>> = BTreeMap::new();
        let lookup = !self.index.is_empty();
        self.sort(snap.objects);
        let mut last_namespace = None;
        for &i in &self.order {
            let o = &snap.objects[i as usize];
            let slot = if lookup {
                self.index.get(&o.id).copied()
            } else {
                None
            };
            if let Some(si) = slot {
                self.slots[si as usize].seen = self.ticks;
            }
            // In id order, objects of one namespace come together.
            let namespace = match (&o.id.namespace, last_namespace) {
                (Some(n), Some((last, ns))) if n == last => ns,
                (Some(n), _) => {
                    let ns = snap.namespaces.get(n);
                    last_namespace = Some((n, ns));
                    ns
                }
                (None, _) => None,
            };
            by_kind
                .entry(o.id.kind)
                .or_insert_with(|| Vec::with_capacity(snap.objects.len()))
                .push((slot, o, namespace));
        }
        // Objects gone from the cluster take their state with them.
        let mut i = 0;
        while i < self.slots.len() {
            if self.slots[i].seen != self.ticks {
                let id = self.slots[i].id.clone();
                self.forget(&id);
            } else {
                i += 1;
            }
        }
        // Slots moved by the removals: look them up again.
        for objs in by_kind.values_mut() {
            for s in objs.iter_mut() {
                if s.0.is_some() {
                    s.0 = self.index.get(&s.1.id).copied();
                }
            }
        }
        let mut out = Out::default();
        let mut by_policy_kind: BTreeMap<Kind, Vec<usize>> = BTreeMap::new();
        for (pi, policy) in program.policies.iter().enumerate() {
            by_policy_kind.entry(policy.kind).or_default().push(pi);
            if let Some(a) = policy.at_most {
                let q = &mut self.runs[pi].started;
                while q.front().is_some_and(|&s| s <= a.per.before(t)) {
                    q.pop_front();
                }
            }
        }
        // Object by object, each through the policies of its kind: an
        // object's states are read together while they are in cache. Each
        // policy still meets the objects in id order (what `at_most` ties
        // depend on); the output is put back in policy order below.
        for (kind, objs) in by_kind.iter_mut() {
            let Some(policies) = by_policy_kind.get(kind) else {
                continue;
            };
            for (oi, subject) in objs.iter_mut().enumerate() {
                let cx = Cx {
                    program: &program,
                    object: subject.1,
                    namespace: subject.2,
                    metrics: snap.metrics,
                    t,
                    cache: None,
                };
                for &pi in policies {
                    out.at = (pi as u32, oi as u32);
                    let state = self.take(subject.0, pi as u32);
                    let state = self.step(pi, state, &cx, approvals, &mut out);
                    subject.0 = self.put(subject.0, &subject.1.id, pi as u32, state);
                }
            }
        }
        // Slots whose last state went back to normal.
        let mut i = 0;
        while i < self.slots.len() {
            if self.slots[i].states.is_empty() {
                let id = self.slots[i].id.clone();
                self.forget(&id);
            } else {
                i += 1;
            }
        }
        out.into_policy_order()
    }

    /// Puts the snapshot's objects in id order, the order of evaluation
    /// (`self.order`). The last tick's order is kept while it still sorts
    /// the snapshot, which is the usual case: checking that is linear.
    fn sort(&mut self, objects: &[Object]) {
        let id = |i: &u32| &objects[*i as usize].id;
        if self.order.len() == objects.len() && self.order.is_sorted_by(|a, b| id(a) <= id(b)) {
            return;
        }
        self.order = (0..objects.len() as u32).collect();
        if !objects.is_sorted_by(|a, b| a.id <= b.id) {
            self.order.sort_unstable_by(|a, b| id(a).cmp(id(b)));
        }
    }

    /// Records how an intent went. An intent this engine did not hand out, one
    /// already finished, or one a reload made stale is refused: no state changes.
    pub fn finish(
        &mut self,
        t: Time,
        intent: &Intent,
        outcome: ActionOutcome,
    ) -> Result<Vec<Event>, FinishError> {
        let Some(flight) = self.in_flight.remove(&intent.id) else {
            return Err(FinishError::Stale(intent.id.0));
        };
        let program = Arc::clone(&self.program);
        let pi = flight.policy;
        let policy = &program.policies[pi as usize];
        let (result, reason) = match &outcome {
            ActionOutcome::Applied => (ActionResult::Applied, None),
            ActionOutcome::Skipped(r) => (ActionResult::Skipped, Some(Reason::Skip(r.clone()))),
            ActionOutcome::Declined(r) => {
                (ActionResult::Declined, Some(Reason::Decline(r.clone())))
            }
            ActionOutcome::Failed(f) => (ActionResult::Failed, Some(Reason::Failure(f.clone()))),
        };
        let mut events = vec![Event {
            time: t,
            policy: policy.name.clone(),
            object: flight.object.clone(),
            kind: EventKind::Action {
                action: intent.planned.action(),
                planned: Some(intent.planned.clone()),
                result,
                reason,
            },
        }];
        let Some(&si) = self.index.get(&flight.object) else {
            return Ok(events);
        };
        let Some(state) = self.state_mut(si, pi) else {
            return Ok(events);
        };
        let Phase::Acting {
            left,
            applied,
            declined,
            failed,
            started,
        } = &mut state.phase
        else {
            return Ok(events);
        };
        *left = left.saturating_sub(1);
        *applied |= outcome == ActionOutcome::Applied;
        *declined |= matches!(outcome, ActionOutcome::Declined(_));
        if let ActionOutcome::Failed(f) = &outcome {
            let kind = FailureKind::from(f.class);
            if *failed != Some(FailureKind::Permanent) {
                *failed = Some(kind);
            }
        }
        if *left > 0 {
            return Ok(events);
        }
        let (applied, declined, failed, started) = (*applied, *declined, *failed, *started);
        let mut next = State::default();
        next.phase = if applied {
            Phase::Cooldown {
                until: policy.cooldown.after(t),
            }
        } else if declined {
            Phase::Declined { by_approver: false }
        } else {
            match failed {
                Some(FailureKind::Permanent) => next.set_held(Some(flight.version)),
                Some(FailureKind::Transient) => {
                    let failures = state.backoff().map_or(0, |b| b.failures) + 1;
                    next.set_backoff(Some(Backoff {
                        failures,
                        until: state::backoff(failures).after(t),
                    }));
                }
                None => {}
            }
            Phase::Firing
        };
        events.push(transition(
            t,
            &policy.name,
            &flight.object,
            PhaseName::Acting,
            next.phase.kind(),
        ));
        *state = next;
        if !applied {
            // Nothing happened: the firing does not count towards `at_most`.
            let q = &mut self.runs[pi as usize].started;
            if let Some(at) = q.iter().rposition(|&s| s == started) {
                q.remove(at);
            }
        }
        Ok(events)
    }

    fn step(
        &mut self,
        pi: usize,
        mut state: State,
        cx: &Cx,
        approvals: &[Approval],
        out: &mut Out,
    ) -> State {
        let policy = &cx.program.policies[pi];
        let id = &cx.object.id;
        let t = cx.t;
        if let Some(filter) = &policy.filter {
            match eval::eval(filter, cx) {
                Val::Value(Value::Bool(true)) => {}
                Val::Value(_) => {
                    // No longer selected: forget it, all but an action in
                    // flight and a cooldown still running. An object that
                    // leaves the selection (a label flaps) and comes back
                    // within its cooldown is not acted on again: at most
                    // one action per object per cooldown.
                    match state.phase {
                        Phase::Cooldown { until } if t < until => return state,
                        Phase::Acting { .. } => return state,
                        _ => {}
                    }
                    if !state.phase.is_normal() {
                        out.transition(t, &policy.name, id, state.phase.kind(), PhaseName::Normal);
                    }
                    return State::default();
                }
                Val::NoData | Val::Error(_) => return state,
            }
        }
        if let Phase::Cooldown { until } = state.phase
            && t < until
        {
            return state;
        }
        if matches!(state.phase, Phase::Acting { .. }) {
            return state;
        }
        if let Phase::Cooldown { .. } = state.phase {
            out.transition(t, &policy.name, id, PhaseName::Cooldown, PhaseName::Normal);
            state.phase = Phase::Normal;
        }
        match eval::eval(&policy.condition, cx) {
            Val::Error(message) => {
                if state.note() != Some(message.as_str()) {
                    out.event(Event {
                        time: t,
                        policy: policy.name.clone(),
                        object: id.clone(),
                        kind: EventKind::Error {
                            message: message.clone(),
                        },
                    });
                    state.set_note(Some(&message));
                }
                state
            }
            Val::NoData => {
                if policy.no_data == NoData::Reset && !state.phase.is_normal() {
                    // As a Prometheus alert whose series vanishes. A backoff
                    // or a hold after a permanent failure is kept: a scrape
                    // that misses is not a change to the object.
                    out.transition(t, &policy.name, id, state.phase.kind(), PhaseName::Normal);
                    state.phase = Phase::Normal;
                    state.set_note(None);
                }
                state
            }
            Val::Value(Value::Bool(true)) => {
                self.holds(pi, cx, &mut state, approvals, out);
                state
            }
            Val::Value(_) => {
                if !state.phase.is_normal() {
                    out.transition(t, &policy.name, id, state.phase.kind(), PhaseName::Normal);
                }
                State::default()
            }
        }
    }

    /// The condition is true: the `for` clock runs, then the policy acts.
    fn holds(
        &mut self,
        pi: usize,
        cx: &Cx,
        state: &mut State,
        approvals: &[Approval],
        out: &mut Out,
    ) {
        let policy = &cx.program.policies[pi];
        let id = &cx.object.id;
        let t = cx.t;
        let hold = policy.hold;
        if state.phase.is_normal() {
            state.phase = if hold == Millis::ZERO {
                Phase::Firing
            } else {
                Phase::Pending { since: t }
            };
            state.set_note(None);
            out.transition(t, &policy.name, id, PhaseName::Normal, state.phase.kind());
        }
        if let Phase::Pending { since } = state.phase
            && t >= hold.after(since)
        {
            state.phase = Phase::Firing;
            out.transition(t, &policy.name, id, PhaseName::Pending, PhaseName::Firing);
        }
        if matches!(
            state.phase,
            Phase::Firing | Phase::AwaitingApproval { .. } | Phase::Declined { .. }
        ) {
            self.act(pi, cx, state, approvals, out);
        }
    }

    /// Says a skip reason once, for every action of the firing.
    fn note(
        policy: &ir::Policy,
        t: Time,
        id: &ObjectId,
        state: &mut State,
        actions: Vec<(ActionName, Option<Planned>)>,
        reason: SkipReason,
        out: &mut Out,
    ) {
        let text = reason.to_string();
        if state.note() == Some(text.as_str()) {
            return;
        }
        for (action, planned) in actions {
            out.action(
                t,
                &policy.name,
                id,
                action,
                planned,
                ActionResult::Skipped,
                Some(Reason::Skip(reason.clone())),
            );
        }
        state.set_note(Some(&text));
    }

    /// The condition holds and the `for` is over: act, unless something holds it.
    fn act(
        &mut self,
        pi: usize,
        cx: &Cx,
        state: &mut State,
        approvals: &[Approval],
        out: &mut Out,
    ) {
        let policy = &cx.program.policies[pi];
        let id = &cx.object.id;
        let t = cx.t;
        if state.backoff().is_some_and(|b| t < b.until) {
            // A transient failure: retried when the backoff is over.
            return;
        }
        if let Some(held) = state.held() {
            if held == version(cx.object) {
                let actions = policy
                    .actions
                    .iter()
                    .map(|a| (a.kind.action(), None))
                    .collect();
                Self::note(
                    policy,
                    t,
                    id,
                    state,
                    actions,
                    SkipReason::HeldAfterFailure,
                    out,
                );
                return;
            }
            state.set_held(None);
            state.set_note(None);
        }
        let planned = match plan_all(policy, cx) {
            Plan::Skip(reason) => {
                if let Phase::Declined { .. } = state.phase {
                    out.transition(t, &policy.name, id, PhaseName::Declined, PhaseName::Firing);
                    state.phase = Phase::Firing;
                }
                let actions = policy
                    .actions
                    .iter()
                    .map(|a| (a.kind.action(), None))
                    .collect();
                Self::note(policy, t, id, state, actions, reason, out);
                return;
            }
            Plan::Decline(list) => {
                if !matches!(state.phase, Phase::Declined { .. }) {
                    for (planned, reason) in list {
                        out.action(
                            t,
                            &policy.name,
                            id,
                            planned.action(),
                            Some(planned),
                            ActionResult::Declined,
                            Some(Reason::Decline(reason)),
                        );
                    }
                    out.transition(t, &policy.name, id, state.phase.kind(), PhaseName::Declined);
                    state.phase = Phase::Declined { by_approver: false };
                }
                return;
            }
            Plan::Go(planned) => planned,
            Plan::Unchanged => {
                // Not a decline: the object stays firing and acts once the
                // plan differs.
                if state.phase == (Phase::Declined { by_approver: false }) {
                    out.transition(t, &policy.name, id, PhaseName::Declined, PhaseName::Firing);
                    state.phase = Phase::Firing;
                }
                return;
            }
        };
        if state.phase == (Phase::Declined { by_approver: true }) {
            // A human said no: that stands until the condition clears.
            return;
        }
        if let Phase::Declined { .. } = state.phase {
            // Something changed (max raised, volume shrunk by hand): act again.
            out.transition(t, &policy.name, id, PhaseName::Declined, PhaseName::Firing);
            state.phase = Phase::Firing;
        }
        if policy.mode == Mode::Approve {
            match state.phase {
                Phase::AwaitingApproval { since } => {
                    let decision = approvals
                        .iter()
                        .filter(|a| {
                            a.policy == policy.name && &a.object == id && a.at >= since && a.at <= t
                        })
                        .max_by_key(|a| a.at);
                    if let Some(d) = decision
                        && d.decision == Decision::Approve
                        && d.plan.as_ref().is_some_and(|approved| *approved != planned)
                    {
                        // The plan moved since it was approved: ask again.
                        let asked = ActionResult::AwaitingApproval;
                        out.each(
                            t,
                            &policy.name,
                            id,
                            planned,
                            asked,
                            Some(Reason::PlanChanged),
                        );
                        state.phase = Phase::AwaitingApproval { since: t };
                        return;
                    }
                    match decision.map(|d| d.decision) {
                        None => return,
                        Some(Decision::Decline) => {
                            let why = Reason::Decline(DeclineReason::ByApprover);
                            out.each(
                                t,
                                &policy.name,
                                id,
                                planned,
                                ActionResult::Declined,
                                Some(why),
                            );
                            out.transition(
                                t,
                                &policy.name,
                                id,
                                PhaseName::AwaitingApproval,
                                PhaseName::Declined,
                            );
                            state.phase = Phase::Declined { by_approver: true };
                            return;
                        }
                        Some(Decision::Approve) => {}
                    }
                }
                _ => {
                    let asked = ActionResult::AwaitingApproval;
                    out.each(t, &policy.name, id, planned, asked, None);
                    out.transition(
                        t,
                        &policy.name,
                        id,
                        PhaseName::Firing,
                        PhaseName::AwaitingApproval,
                    );
                    state.phase = Phase::AwaitingApproval { since: t };
                    return;
                }
            }
        }
        if let Some(reason) = self.held(pi, t) {
            let actions = planned
                .iter()
                .map(|p| (p.action(), Some(p.clone())))
                .collect();
            Self::note(policy, t, id, state, actions, reason, out);
            return;
        }
        self.runs[pi].started.push_back(t);
        state.set_note(None);
        let from = state.phase.kind();
        if policy.mode == Mode::DryRun {
            for p in planned {
                out.action(
                    t,
                    &policy.name,
                    id,
                    p.action(),
                    Some(p),
                    ActionResult::DryRun,
                    None,
                );
            }
            out.transition(t, &policy.name, id, from, PhaseName::Cooldown);
            state.phase = Phase::Cooldown {
                until: policy.cooldown.after(t),
            };
            return;
        }
        state.phase = Phase::Acting {
            left: planned.len() as u16,
            applied: false,
            declined: false,
            failed: None,
            started: t,
        };
        out.transition(t, &policy.name, id, from, PhaseName::Acting);
        let object_version = version(cx.object);
        for p in planned {
            let iid = IntentId(self.next_intent);
            self.next_intent += 1;
            self.in_flight.insert(
                iid,
                InFlight {
                    policy: pi as u32,
                    object: id.clone(),
                    version: object_version,
                },
            );
            out.intent(Intent {
                id: iid,
                policy: policy.name.clone(),
                object: id.clone(),
                planned: p,
            });
        }
    }

    /// Why actions of a policy may not start now: its window, or `at_most`.
    fn held(&self, pi: usize, t: Time) -> Option<SkipReason> {
        let policy = &self.program.policies[pi];
        if let Some(w) = &policy.window
            && !window_open(w, self.zones[pi].as_ref(), t)
        {
            return Some(SkipReason::OutsideWindow {
                window: window_text(w),
            });
        }
        if let Some(a) = policy.at_most
            && self.runs[pi].started.len() >= a.count as usize
        {
            return Some(SkipReason::AtMostReached {
                count: a.count,
                per: a.per,
            });
        }
        None
    }
}

fn zones(program: &Program) -> Vec<Option<TimeZone>> {
    program
        .policies
        .iter()
        .map(|p| p.window.as_ref().and_then(|w| TimeZone::get(&w.zone).ok()))
        .collect()
}

/// The object's version: the one its caller set (a `resourceVersion`), or a
/// hash of what the engine reads of it.
fn version(o: &Object) -> u64 {
    let mut h = ir::Fnv::default();
    match &o.version {
        Some(v) => h.bytes(v.as_bytes()),
        None => h.bytes(format!("{:?}{:?}{:?}", o.fields, o.labels, o.annotations).as_bytes()),
    }
    h.finish()
}

/// What a tick says and asks for, each with the (policy, object) it is from.
#[derive(Default)]
struct Out {
    /// The (policy index, object's place among its kind) being stepped.
    at: (u32, u32),
    events: Vec<((u32, u32), Event)>,
    intents: Vec<((u32, u32), Intent)>,
}

impl Out {
    fn event(&mut self, e: Event) {
        self.events.push((self.at, e));
    }

    fn intent(&mut self, i: Intent) {
        self.intents.push((self.at, i));
    }

    /// Policies in program order, each over its objects in id order; what one
    /// (policy, object) said stays in the order it was said.
    fn into_policy_order(mut self) -> (Vec<Event>, Vec<Intent>) {
        self.events.sort_by_key(|(at, _)| *at);
        self.intents.sort_by_key(|(at, _)| *at);
        (
            self.events.into_iter().map(|(_, e)| e).collect(),
            self.intents.into_iter().map(|(_, i)| i).collect(),
        )
    }

    fn transition(&mut self, t: Time, policy: &str, id: &ObjectId, from: PhaseName, to: PhaseName) {
        self.event(transition(t, policy, id, from, to));
    }

    #[allow(clippy::too_many_arguments)]
    fn action(
        &mut self,
        t: Time,
        policy: &str,
        id: &ObjectId,
        action: ActionName,
        planned: Option<Planned>,
        result: ActionResult,
        reason: Option<Reason>,
    ) {
        self.event(Event {
            time: t,
            policy: policy.to_string(),
            object: id.clone(),
            kind: EventKind::Action {
                action,
                planned,
                result,
                reason,
            },
        });
    }

    /// One action event per planned action, all with `result` and `reason`.
    fn each(
        &mut self,
        t: Time,
        policy: &str,
        id: &ObjectId,
        planned: Vec<Planned>,
        result: ActionResult,
        reason: Option<Reason>,
    ) {
        for p in planned {
            self.action(t, policy, id, p.action(), Some(p), result, reason.clone());
        }
    }
}

fn transition(t: Time, policy: &str, id: &ObjectId, from: PhaseName, to: PhaseName) -> Event {
    Event {
        time: t,
        policy: policy.to_string(),
        object: id.clone(),
        kind: EventKind::Transition { from, to },
    }
}

/// Plans every action of a firing; they go together or not at all.
fn plan_all(policy: &ir::Policy, cx: &Cx) -> Plan {
    let mut planned = Vec::with_capacity(policy.actions.len());
    let mut declined = Vec::new();
    let mut unchanged = false;
    for a in &policy.actions {
        match plan_one(a, cx, &planned) {
            Ok(p) => planned.push(p),
            Err(Refusal::Skip(reason)) => return Plan::Skip(reason),
            Err(Refusal::Unchanged) => unchanged = true,
            Err(Refusal::Decline(p, reason)) => declined.push((p, reason)),
        }
    }
    if unchanged && declined.is_empty() {
        // One action of the firing changes nothing: the firing goes
        // together or not at all, so nothing is done and nothing said.
        Plan::Unchanged
    } else if declined.is_empty() {
        Plan::Go(planned)
    } else {
        Plan::Decline(declined)
    }
}

enum Refusal {
    Skip(SkipReason),
    /// The plan is what the object already is: not an action.
    Unchanged,
    Decline(Planned, DeclineReason),
}

fn plan_one(a: &ir::Action, cx: &Cx, done: &[Planned]) -> Result<Planned, Refusal> {
    let f = &cx.object.fields;
    let resolved;
    let action = if a.computed.is_empty() {
        &a.kind
    } else {
        resolved = resolve(a, cx).map_err(Refusal::Skip)?;
        &resolved
    };
    Ok(match action {
        ActionKind::Resize(r) => {
            if let Some(blocker) = plan::resize_blocker(&plan::PvcFacts::of(f)) {
                return Err(Refusal::Skip(SkipReason::Blocked(blocker)));
            }
            let current = plan::current_size(f.capacity, f.requested);
            match plan::resize(current, r) {
                ResizePlan::Grow { from, to } => Planned::Resize { from, to },
                ResizePlan::Declined { current, limit } => {
                    let why = match r.max {
                        Some(_) => DeclineReason::AtMax {
                            current,
                            max: limit,
                        },
                        None => DeclineReason::AtTarget {
                            current,
                            target: limit,
                        },
                    };
                    return Err(Refusal::Decline(
                        Planned::Resize {
                            from: current,
                            to: current,
                        },
                        why,
                    ));
                }
            }
        }
        ActionKind::Scale(s) => {
            let Some(current) = f.replicas else {
                return Err(Refusal::Skip(SkipReason::ReplicasUnknown));
            };
            match plan::scale(current, s) {
                ScalePlan::To { from, to } => Planned::Scale { from, to },
                ScalePlan::Unchanged { .. } => return Err(Refusal::Unchanged),
                ScalePlan::Declined { current, bound } => {
                    return Err(Refusal::Decline(
                        Planned::Scale {
                            from: current,
                            to: current,
                        },
                        DeclineReason::AtBound { replicas: bound },
                    ));
                }
            }
        }
        ActionKind::SetClass { class } => {
            let p = Planned::SetClass {
                class: class.clone(),
            };
            if f.volume_attributes_class.as_deref() == Some(class.as_str()) {
                return Err(Refusal::Unchanged);
            }
            p
        }
        ActionKind::Evict => Planned::Evict,
        ActionKind::Cordon => {
            if f.unschedulable == Some(true) {
                return Err(Refusal::Unchanged);
            }
            Planned::Cordon
        }
        ActionKind::Annotate { key, value } => Planned::Annotate {
            key: key.clone(),
            value: eval::render(value, cx, done),
        },
        ActionKind::Label { key, value } => Planned::Label {
            key: key.clone(),
            value: eval::render(value, cx, done),
        },
        ActionKind::Event { reason, message } => Planned::Event {
            reason: reason.clone(),
            message: eval::render(message, cx, done),
        },
        ActionKind::Notify { receiver, message } => Planned::Notify {
            receiver: receiver.clone(),
            message: eval::render(message, cx, done),
        },
    })
}

/// The action with its computed arguments in place, each read for this
/// object now and checked as the checker checks a constant.
fn resolve(a: &ir::Action, cx: &Cx) -> Result<ActionKind, SkipReason> {
    let mut kind = a.kind.clone();
    let action = kind.action();
    for c in &a.computed {
        let argument = c.slot;
        let invalid = |why: String| SkipReason::ArgumentInvalid {
            action,
            argument,
            why,
        };
        let v = match eval::eval(&c.expr, cx) {
            Val::Value(ir::Value::Num(v)) => v,
            Val::Value(_) => return Err(invalid("not a number".into())),
            Val::NoData => return Err(SkipReason::ArgumentNoData { action, argument }),
            Val::Error(e) => return Err(invalid(e)),
        };
        let shown = ir::format_quantity(&c.expr.ty, v);
        let size = || {
            (v > 0.0 && v <= MAX_BYTES)
                .then(|| v.ceil() as u64)
                .ok_or_else(|| invalid(format!("{shown} is not a size above zero and below 8Ei")))
        };
        let replicas = |signed: bool| {
            let whole = v.fract() == 0.0 && v.abs() <= 1e6 && (signed || v >= 0.0);
            whole.then_some(v).ok_or_else(|| {
                invalid(format!(
                    "{shown} is not a whole number of replicas{}",
                    if signed { "" } else { " of zero or more" }
                ))
            })
        };
        match (&mut kind, argument) {
            (ActionKind::Resize(r), ArgSlot::Step) => {
                r.step = if c.expr.ty == ir::Type::Percent {
                    if v <= 0.0 || v > 10_000.0 {
                        return Err(invalid(format!(
                            "{shown} is not a step above 0% and at most 10000%"
                        )));
                    }
                    ResizeStep::Fraction(v / 100.0)
                } else {
                    ResizeStep::Bytes(size()?)
                }
            }
            (ActionKind::Resize(r), ArgSlot::To) => r.step = ResizeStep::To(size()?),
            (ActionKind::Resize(r), ArgSlot::Max) => r.max = Some(size()?),
            (ActionKind::Resize(r), ArgSlot::MinStep) => r.min_step = Some(size()?),
            (ActionKind::Resize(r), ArgSlot::Round) => r.round = size()?,
            (ActionKind::Scale(s), ArgSlot::Step) => s.step = ScaleStep::By(replicas(true)? as i64),
            (ActionKind::Scale(s), ArgSlot::To) => s.step = ScaleStep::To(replicas(false)? as u32),
            (ActionKind::Scale(s), ArgSlot::Min) => s.min = Some(replicas(false)? as u32),
            (ActionKind::Scale(s), ArgSlot::Max) => s.max = Some(replicas(false)? as u32),
            _ => return Err(invalid("not an argument of this action".into())),
        }
    }
    if let ActionKind::Scale(ir::Scale {
        min: Some(lo),
        max: Some(hi),
        ..
    }) = &kind
        && lo > hi
    {
        return Err(SkipReason::ArgumentInvalid {
            action,
            argument: ArgSlot::Min,
            why: format!("min {lo} is above max {hi}"),
        });
    }
    Ok(kind)
}

/// The largest size a resize argument may have, as the checker allows.
const MAX_BYTES: f64 = 9.2e18;

/// Whether actions may start at `t` (ms since epoch) in the window.
pub fn window_open(w: &ir::Window, zone: Option<&TimeZone>, t: Time) -> bool {
    let Some(zone) = zone else { return false };
    let Ok(ts) = jiff::Timestamp::from_millisecond(t) else {
        return false;
    };
    let local = zone.to_datetime(ts);
    let minute = local.hour() as u32 * 60 + local.minute() as u32;
    let today = local.weekday().to_monday_zero_offset() as usize;
    let yesterday = (today + 6) % 7;
    if w.start < w.end {
        w.days[today] && minute >= w.start && minute < w.end
    } else {
        (w.days[today] && minute >= w.start) || (w.days[yesterday] && minute < w.end)
    }
}

fn window_text(w: &ir::Window) -> String {
    const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    let days: Vec<&str> = DAYS
        .iter()
        .zip(w.days)
        .filter(|(_, on)| *on)
        .map(|(d, _)| *d)
        .collect();
    let hm = |m: u32| format!("{:02}:{:02}", m / 60, m % 60);
    format!(
        "{} {}-{} {}",
        days.join(","),
        hm(w.start),
        hm(w.end),
        w.zone
    )
}
