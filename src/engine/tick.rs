//! One tick: every policy over every object of its kind, in a stable order.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;

use jiff::tz::TimeZone;

use super::eval::{self, Cx, Val};
use super::object::{Object, ObjectId, Snapshot};
use super::plan::{self, ResizePlan, ScalePlan};
use super::state::{Phase, Saved, State};
use super::{ActionResult, Approval, Decision, Event, EventKind, Intent, Outcome, Planned, Time};
use crate::ir::{self, ActionKind, Kind, Mode, NoData, Program, Value};

/// The engine: the program, and the state of every (policy, object) that is
/// not normal.
pub struct Engine {
    program: Arc<Program>,
    /// Per policy, per object index: its state (normal unless stored).
    states: Vec<Vec<State>>,
    /// Object ids, interned; indices are stable for the engine's life.
    ids: Vec<ObjectId>,
    index: HashMap<ObjectId, u32>,
    /// Per object index: its place in id order, for a stable evaluation order.
    rank: Vec<u32>,
    /// Per policy: when actions started, for `at_most`.
    started: Vec<VecDeque<Time>>,
    zones: Vec<Option<TimeZone>>,
}

/// The note of a (policy, object) whose action an approver declined.
const BY_APPROVER: &str = "declined by approver";

/// An object of this tick: its index, itself, its namespace.
type Subject<'a> = (u32, &'a Object, Option<&'a super::object::Namespace>);

/// How planning the actions of one firing went.
enum Plan {
    Go(Vec<Planned>),
    Skip(String),
    Decline(Vec<(Planned, String)>),
}

impl Engine {
    pub fn new(program: Arc<Program>) -> Engine {
        let n = program.policies.len();
        let zones = program
            .policies
            .iter()
            .map(|p| p.window.as_ref().and_then(|w| TimeZone::get(&w.zone).ok()))
            .collect();
        Engine {
            program,
            states: vec![Vec::new(); n],
            ids: Vec::new(),
            index: HashMap::new(),
            rank: Vec::new(),
            started: vec![VecDeque::new(); n],
            zones,
        }
    }

    pub fn program(&self) -> &Program {
        &self.program
    }

    fn intern(&mut self, id: &ObjectId) -> u32 {
        if let Some(&i) = self.index.get(id) {
            return i;
        }
        let i = self.ids.len() as u32;
        self.ids.push(id.clone());
        self.index.insert(id.clone(), i);
        self.rank.clear();
        for states in &mut self.states {
            states.resize_with(self.ids.len(), State::default);
        }
        i
    }

    /// The phase of a (policy, object); normal when nothing is stored.
    pub fn phase(&self, policy: &str, object: &ObjectId) -> Phase {
        let Some(pi) = self.program.policies.iter().position(|p| p.name == policy) else {
            return Phase::Normal;
        };
        self.index
            .get(object)
            .and_then(|oi| self.states[pi].get(*oi as usize))
            .map_or(Phase::Normal, |s| s.phase.clone())
    }

    /// Every stored state, for persistence (`autopilot.rs/state`).
    pub fn save(&self) -> Vec<(ObjectId, Saved)> {
        let mut out = Vec::new();
        for (pi, states) in self.states.iter().enumerate() {
            for (oi, s) in states.iter().enumerate() {
                if s.phase.is_normal() {
                    continue;
                }
                out.push((
                    self.ids[oi].clone(),
                    Saved {
                        policy: self.program.policies[pi].name.clone(),
                        phase: s.phase.clone(),
                    },
                ));
            }
        }
        out.sort_by(|a, b| (&a.0, &a.1.policy).cmp(&(&b.0, &b.1.policy)));
        out
    }

    /// Restores saved states after a restart. An action that was in flight
    /// (`acting`) comes back as cooldown from `now`: it is not repeated.
    pub fn restore(&mut self, saved: &[(ObjectId, Saved)], now: Time) {
        for (id, s) in saved {
            let Some(pi) = self
                .program
                .policies
                .iter()
                .position(|p| p.name == s.policy)
            else {
                continue;
            };
            let cooldown = (self.program.policies[pi].cooldown * 1000.0) as Time;
            let phase = match s.phase {
                Phase::Acting { .. } => Phase::Cooldown {
                    until: now + cooldown,
                },
                ref p => p.clone(),
            };
            let oi = self.intern(id);
            self.states[pi][oi as usize] = State { phase, note: None };
        }
    }

    /// Evaluates every policy at `t` and returns what happened and what to do.
    pub fn tick(
        &mut self,
        t: Time,
        snap: &Snapshot,
        approvals: &[Approval],
    ) -> (Vec<Event>, Vec<Intent>) {
        let program = Arc::clone(&self.program);
        let mut by_kind: BTreeMap<Kind, Vec<Subject>> = BTreeMap::new();
        let mut present = Vec::new();
        for o in snap.objects {
            let oi = self.intern(&o.id);
            let namespace = o.id.namespace.as_ref().and_then(|n| snap.namespaces.get(n));
            by_kind
                .entry(o.id.kind)
                .or_default()
                .push((oi, o, namespace));
            if present.len() <= oi as usize {
                present.resize(oi as usize + 1, false);
            }
            present[oi as usize] = true;
        }
        let all_present = present.len() == self.ids.len() && present.iter().all(|p| *p);
        if self.rank.len() != self.ids.len() {
            let mut order: Vec<u32> = (0..self.ids.len() as u32).collect();
            order.sort_by(|a, b| self.ids[*a as usize].cmp(&self.ids[*b as usize]));
            self.rank = vec![0; order.len()];
            for (place, oi) in order.into_iter().enumerate() {
                self.rank[oi as usize] = place as u32;
            }
        }
        for objs in by_kind.values_mut() {
            objs.sort_unstable_by_key(|(oi, _, _)| self.rank[*oi as usize]);
        }
        let mut out = Out::default();
        for (pi, policy) in program.policies.iter().enumerate() {
            let objs = by_kind.get(&policy.kind).map_or(&[][..], Vec::as_slice);
            // Objects gone from the cluster take their state with them.
            if !all_present {
                for (oi, s) in self.states[pi].iter_mut().enumerate() {
                    if !s.is_normal() && present.get(oi) != Some(&true) {
                        *s = State::default();
                    }
                }
            }
            let per = policy.at_most.map(|a| (a.per * 1000.0) as Time);
            if let Some(per) = per {
                let q = &mut self.started[pi];
                while q.front().is_some_and(|&s| s <= t - per) {
                    q.pop_front();
                }
            }
            for &(oi, object, namespace) in objs {
                let cx = Cx {
                    program: &program,
                    object,
                    namespace,
                    metrics: snap.metrics,
                    t,
                    cache: None,
                };
                self.step(pi, oi, &cx, approvals, &mut out);
            }
        }
        (out.events, out.intents)
    }

    /// Records how an intent went.
    pub fn finish(&mut self, t: Time, intent: &Intent, outcome: Outcome) -> Vec<Event> {
        let (pi, oi) = (intent.slot.0 as usize, intent.slot.1);
        let policy = &self.program.policies[pi];
        let (result, reason) = match &outcome {
            Outcome::Applied => (ActionResult::Applied, None),
            Outcome::Skipped(r) => (ActionResult::Skipped, Some(r.clone())),
            Outcome::Declined(r) => (ActionResult::Declined, Some(r.clone())),
            Outcome::Failed(r) => (ActionResult::Failed, Some(r.clone())),
        };
        let mut events = vec![Event {
            time: t,
            policy: policy.name.clone(),
            object: intent.object.clone(),
            kind: EventKind::Action {
                planned: intent.planned.clone(),
                result,
                reason,
            },
        }];
        let Some(state) = self.states[pi].get_mut(oi as usize) else {
            return events;
        };
        let Phase::Acting {
            left,
            applied,
            declined,
        } = &mut state.phase
        else {
            return events;
        };
        *left = left.saturating_sub(1);
        *applied |= outcome == Outcome::Applied;
        *declined |= matches!(outcome, Outcome::Declined(_));
        if *left > 0 {
            return events;
        }
        let next = if *applied {
            Phase::Cooldown {
                until: t + (policy.cooldown * 1000.0) as Time,
            }
        } else if *declined {
            Phase::Declined
        } else {
            Phase::Firing
        };
        events.push(transition(
            t,
            &policy.name,
            &intent.object,
            "acting",
            next.name(),
        ));
        state.phase = next;
        events
    }

    fn step(&mut self, pi: usize, oi: u32, cx: &Cx, approvals: &[Approval], out: &mut Out) {
        let program = Arc::clone(&self.program);
        let policy = &program.policies[pi];
        let id = &cx.object.id;
        let t = cx.t;
        if let Some(filter) = &policy.filter {
            match eval::eval(filter, cx) {
                Val::Value(Value::Bool(true)) => {}
                Val::Value(_) => {
                    // No longer selected: forget it.
                    let s = std::mem::take(&mut self.states[pi][oi as usize]);
                    if !s.phase.is_normal() {
                        out.transition(t, &policy.name, id, s.phase.name(), "normal");
                    }
                    return;
                }
                Val::NoData | Val::Error(_) => return,
            }
        }
        let slot = &mut self.states[pi][oi as usize];
        if let Phase::Cooldown { until } = slot.phase
            && t < until
        {
            return;
        }
        if matches!(slot.phase, Phase::Acting { .. }) {
            return;
        }
        let mut state = std::mem::take(slot);
        if let Phase::Cooldown { .. } = state.phase {
            out.transition(t, &policy.name, id, "cooldown", "normal");
            state.phase = Phase::Normal;
        }
        match eval::eval(&policy.condition, cx) {
            Val::Error(message) => {
                if state.note.as_deref() != Some(message.as_str()) {
                    out.events.push(Event {
                        time: t,
                        policy: policy.name.clone(),
                        object: id.clone(),
                        kind: EventKind::Error {
                            message: message.clone(),
                        },
                    });
                    state.note = Some(message.into());
                }
            }
            Val::NoData => {
                if policy.no_data == NoData::Reset && !state.phase.is_normal() {
                    out.transition(t, &policy.name, id, state.phase.name(), "normal");
                    state = State {
                        phase: Phase::Normal,
                        note: None,
                    };
                }
            }
            Val::Value(Value::Bool(true)) => self.holds(pi, oi, cx, &mut state, approvals, out),
            Val::Value(_) => {
                if !state.phase.is_normal() {
                    out.transition(t, &policy.name, id, state.phase.name(), "normal");
                }
                state = State {
                    phase: Phase::Normal,
                    note: None,
                };
            }
        }
        self.states[pi][oi as usize] = state;
    }

    /// The condition is true: the `for` clock runs, then the policy acts.
    fn holds(
        &mut self,
        pi: usize,
        oi: u32,
        cx: &Cx,
        state: &mut State,
        approvals: &[Approval],
        out: &mut Out,
    ) {
        let program = Arc::clone(&self.program);
        let policy = &program.policies[pi];
        let id = &cx.object.id;
        let t = cx.t;
        let hold = (policy.hold * 1000.0) as Time;
        if state.phase.is_normal() {
            state.phase = if hold == 0 {
                Phase::Firing
            } else {
                Phase::Pending { since: t }
            };
            state.note = None;
            out.transition(t, &policy.name, id, "normal", state.phase.name());
        }
        if let Phase::Pending { since } = state.phase
            && t - since >= hold
        {
            state.phase = Phase::Firing;
            out.transition(t, &policy.name, id, "pending", "firing");
        }
        if matches!(
            state.phase,
            Phase::Firing | Phase::AwaitingApproval { .. } | Phase::Declined
        ) {
            self.act(pi, oi, cx, state, approvals, out);
        }
    }

    /// The condition holds and the `for` is over: act, unless something holds it.
    fn act(
        &mut self,
        pi: usize,
        oi: u32,
        cx: &Cx,
        state: &mut State,
        approvals: &[Approval],
        out: &mut Out,
    ) {
        let program = Arc::clone(&self.program);
        let policy = &program.policies[pi];
        let id = &cx.object.id;
        let t = cx.t;
        let planned = match plan_all(policy, cx) {
            Plan::Skip(reason) => {
                if state.phase == Phase::Declined {
                    out.transition(t, &policy.name, id, "declined", "firing");
                    state.phase = Phase::Firing;
                }
                if state.note.as_deref() != Some(reason.as_str()) {
                    for a in &policy.actions {
                        out.action(
                            t,
                            &policy.name,
                            id,
                            skipped(a),
                            ActionResult::Skipped,
                            Some(reason.clone()),
                        );
                    }
                    state.note = Some(reason.into());
                }
                return;
            }
            Plan::Decline(list) => {
                if state.phase != Phase::Declined {
                    for (planned, reason) in list {
                        out.action(
                            t,
                            &policy.name,
                            id,
                            planned,
                            ActionResult::Declined,
                            Some(reason),
                        );
                    }
                    out.transition(t, &policy.name, id, state.phase.name(), "declined");
                    state.phase = Phase::Declined;
                }
                return;
            }
            Plan::Go(planned) => planned,
        };
        if state.phase == Phase::Declined && state.note.as_deref() == Some(BY_APPROVER) {
            // A human said no: that stands until the condition clears.
            return;
        }
        if state.phase == Phase::Declined {
            // Something changed (max raised, volume shrunk by hand): act again.
            out.transition(t, &policy.name, id, "declined", "firing");
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
                    match decision.map(|d| d.decision) {
                        None => return,
                        Some(Decision::Decline) => {
                            for p in planned {
                                out.action(
                                    t,
                                    &policy.name,
                                    id,
                                    p,
                                    ActionResult::Declined,
                                    Some(BY_APPROVER.into()),
                                );
                            }
                            out.transition(t, &policy.name, id, "awaiting_approval", "declined");
                            state.phase = Phase::Declined;
                            state.note = Some(BY_APPROVER.into());
                            return;
                        }
                        Some(Decision::Approve) => {}
                    }
                }
                _ => {
                    for p in planned {
                        out.action(t, &policy.name, id, p, ActionResult::AwaitingApproval, None);
                    }
                    out.transition(t, &policy.name, id, "firing", "awaiting_approval");
                    state.phase = Phase::AwaitingApproval { since: t };
                    return;
                }
            }
        }
        if let Some(reason) = self.held(pi, t) {
            if state.note.as_deref() != Some(reason.as_str()) {
                for p in &planned {
                    out.action(
                        t,
                        &policy.name,
                        id,
                        p.clone(),
                        ActionResult::Skipped,
                        Some(reason.clone()),
                    );
                }
                state.note = Some(reason.into());
            }
            return;
        }
        self.started[pi].push_back(t);
        state.note = None;
        let from = state.phase.name();
        if policy.mode == Mode::DryRun {
            for p in planned {
                out.action(t, &policy.name, id, p, ActionResult::DryRun, None);
            }
            let until = t + (policy.cooldown * 1000.0) as Time;
            out.transition(t, &policy.name, id, from, "cooldown");
            state.phase = Phase::Cooldown { until };
            return;
        }
        state.phase = Phase::Acting {
            left: planned.len() as u16,
            applied: false,
            declined: false,
        };
        out.transition(t, &policy.name, id, from, "acting");
        for p in planned {
            out.intents.push(Intent {
                policy: policy.name.clone(),
                object: id.clone(),
                planned: p,
                slot: (pi as u32, oi),
            });
        }
    }

    /// Why actions of a policy may not start now: its window, or `at_most`.
    fn held(&self, pi: usize, t: Time) -> Option<String> {
        let policy = &self.program.policies[pi];
        if let Some(w) = &policy.window
            && !window_open(w, self.zones[pi].as_ref(), t)
        {
            return Some(format!("outside window \"{}\"", window_text(w)));
        }
        if let Some(a) = policy.at_most
            && self.started[pi].len() >= a.count as usize
        {
            return Some(format!(
                "at_most {} per {} reached",
                a.count,
                ir::format_duration(a.per)
            ));
        }
        None
    }
}

#[derive(Default)]
struct Out {
    events: Vec<Event>,
    intents: Vec<Intent>,
}

impl Out {
    fn transition(
        &mut self,
        t: Time,
        policy: &str,
        id: &ObjectId,
        from: &'static str,
        to: &'static str,
    ) {
        self.events.push(transition(t, policy, id, from, to));
    }

    fn action(
        &mut self,
        t: Time,
        policy: &str,
        id: &ObjectId,
        planned: Planned,
        result: ActionResult,
        reason: Option<String>,
    ) {
        self.events.push(Event {
            time: t,
            policy: policy.to_string(),
            object: id.clone(),
            kind: EventKind::Action {
                planned,
                result,
                reason,
            },
        });
    }
}

fn transition(t: Time, policy: &str, id: &ObjectId, from: &'static str, to: &'static str) -> Event {
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
    for a in &policy.actions {
        match plan_one(&a.kind, cx) {
            Ok(p) => planned.push(p),
            Err(Refusal::Skip(reason)) => return Plan::Skip(reason),
            Err(Refusal::Decline(p, reason)) => declined.push((p, reason)),
        }
    }
    if declined.is_empty() {
        Plan::Go(planned)
    } else {
        Plan::Decline(declined)
    }
}

enum Refusal {
    Skip(String),
    Decline(Planned, String),
}

fn plan_one(action: &ActionKind, cx: &Cx) -> Result<Planned, Refusal> {
    let f = &cx.object.fields;
    let bytes = |b: u64| ir::format_bytes(b as f64);
    Ok(match action {
        ActionKind::Resize(r) => {
            if let Some(blocker) = plan::resize_blocker(&plan::PvcFacts::of(f)) {
                return Err(Refusal::Skip(blocker.text()));
            }
            let current = plan::current_size(f.capacity, f.requested);
            match plan::resize(current, r) {
                ResizePlan::Grow { from, to } => Planned::Resize { from, to },
                ResizePlan::Declined { current, limit } => {
                    let why = match r.max {
                        Some(_) => {
                            format!("at max: {} is not below {}", bytes(current), bytes(limit))
                        }
                        None => format!("already at {}, target {}", bytes(current), bytes(limit)),
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
                return Err(Refusal::Skip("the replica count is unknown".into()));
            };
            match plan::scale(current, s) {
                ScalePlan::To { from, to } => Planned::Scale { from, to },
                ScalePlan::Declined { current, bound } => {
                    return Err(Refusal::Decline(
                        Planned::Scale {
                            from: current,
                            to: current,
                        },
                        format!("at bound: {bound} replicas"),
                    ));
                }
            }
        }
        ActionKind::SetClass { class } => {
            let p = Planned::SetClass {
                class: class.clone(),
            };
            if f.volume_attributes_class.as_deref() == Some(class.as_str()) {
                return Err(Refusal::Decline(p, format!("already in class \"{class}\"")));
            }
            p
        }
        ActionKind::Evict => Planned::Evict,
        ActionKind::Cordon => {
            if f.unschedulable == Some(true) {
                return Err(Refusal::Decline(Planned::Cordon, "already cordoned".into()));
            }
            Planned::Cordon
        }
        ActionKind::Annotate { key, value } => Planned::Annotate {
            key: key.clone(),
            value: eval::render(value, cx),
        },
        ActionKind::Label { key, value } => Planned::Label {
            key: key.clone(),
            value: eval::render(value, cx),
        },
        ActionKind::Event { reason, message } => Planned::Event {
            reason: reason.clone(),
            message: eval::render(message, cx),
        },
        ActionKind::Notify { receiver, message } => Planned::Notify {
            receiver: receiver.clone(),
            message: eval::render(message, cx),
        },
    })
}

/// A stand-in for an action that was not planned, for skipped events.
fn skipped(a: &ir::Action) -> Planned {
    match &a.kind {
        ActionKind::Resize(_) => Planned::Resize { from: 0, to: 0 },
        ActionKind::Scale(_) => Planned::Scale { from: 0, to: 0 },
        ActionKind::SetClass { class } => Planned::SetClass {
            class: class.clone(),
        },
        ActionKind::Evict => Planned::Evict,
        ActionKind::Cordon => Planned::Cordon,
        ActionKind::Annotate { key, .. } => Planned::Annotate {
            key: key.clone(),
            value: String::new(),
        },
        ActionKind::Label { key, .. } => Planned::Label {
            key: key.clone(),
            value: String::new(),
        },
        ActionKind::Event { reason, .. } => Planned::Event {
            reason: reason.clone(),
            message: String::new(),
        },
        ActionKind::Notify { receiver, .. } => Planned::Notify {
            receiver: receiver.clone(),
            message: String::new(),
        },
    }
}

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
