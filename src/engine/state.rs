//! The state of one (policy, object), and what survives a restart.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::Time;
use super::outcome::FailureClass;
use crate::ir::Millis;

/// docs/semantics.md section 3: `normal, pending(since), firing, awaiting_approval,
/// acting, cooldown(until), declined(reason)`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Phase {
    #[default]
    Normal,
    Pending {
        since: Time,
    },
    Firing,
    AwaitingApproval {
        since: Time,
    },
    /// Intents are out; `left` results are still to come.
    Acting {
        left: u16,
        applied: bool,
        declined: bool,
        /// The worst failure reported so far.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        failed: Option<FailureKind>,
        /// When the actions started: given back to `at_most` if none applied.
        #[serde(default)]
        started: Time,
    },
    Cooldown {
        until: Time,
    },
    /// Refused: by the plan (at max) or by an approver, which stands until the
    /// condition clears.
    Declined {
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        by_approver: bool,
    },
}

/// [`FailureClass`] as saved.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureKind {
    Transient,
    Permanent,
}

impl From<FailureClass> for FailureKind {
    fn from(c: FailureClass) -> FailureKind {
        match c {
            FailureClass::Transient => FailureKind::Transient,
            FailureClass::Permanent => FailureKind::Permanent,
        }
    }
}

/// The names of the phases: what transitions and reports show.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PhaseName {
    Normal,
    Pending,
    Firing,
    AwaitingApproval,
    Acting,
    Cooldown,
    Declined,
}

impl PhaseName {
    pub const ALL: [PhaseName; 7] = [
        PhaseName::Normal,
        PhaseName::Pending,
        PhaseName::Firing,
        PhaseName::AwaitingApproval,
        PhaseName::Acting,
        PhaseName::Cooldown,
        PhaseName::Declined,
    ];

    pub fn parse(name: &str) -> Option<PhaseName> {
        PhaseName::ALL.into_iter().find(|p| p.name() == name)
    }

    pub fn name(self) -> &'static str {
        match self {
            PhaseName::Normal => "normal",
            PhaseName::Pending => "pending",
            PhaseName::Firing => "firing",
            PhaseName::AwaitingApproval => "awaiting_approval",
            PhaseName::Acting => "acting",
            PhaseName::Cooldown => "cooldown",
            PhaseName::Declined => "declined",
        }
    }
}

impl fmt::Display for PhaseName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl PartialEq<&str> for PhaseName {
    fn eq(&self, other: &&str) -> bool {
        self.name() == *other
    }
}

impl Phase {
    pub fn is_normal(&self) -> bool {
        matches!(self, Phase::Normal)
    }

    pub fn kind(&self) -> PhaseName {
        match self {
            Phase::Normal => PhaseName::Normal,
            Phase::Pending { .. } => PhaseName::Pending,
            Phase::Firing => PhaseName::Firing,
            Phase::AwaitingApproval { .. } => PhaseName::AwaitingApproval,
            Phase::Acting { .. } => PhaseName::Acting,
            Phase::Cooldown { .. } => PhaseName::Cooldown,
            Phase::Declined { .. } => PhaseName::Declined,
        }
    }

    pub fn name(&self) -> &'static str {
        self.kind().name()
    }
}

/// The first retry after a transient failure waits this long; each failure
/// in a row doubles it, up to [`BACKOFF_MAX`].
pub const BACKOFF_BASE: Millis = Millis(30_000);
/// The longest wait between retries of a transiently failing action.
pub const BACKOFF_MAX: Millis = Millis(600_000);

/// How long to wait after the `failures`-th transient failure in a row
/// (1-based): 30s, 1m, 2m, 4m, 8m, then 10m.
pub fn backoff(failures: u32) -> Millis {
    let shift = failures.saturating_sub(1).min(16);
    Millis((BACKOFF_BASE.0 << shift).min(BACKOFF_MAX.0))
}

/// Retries after transient failures.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Backoff {
    /// Transient failures in a row.
    pub failures: u32,
    /// No retry before this time.
    pub until: Time,
}

/// The state of one (policy, object), with what it last said. Small (24
/// bytes): what most states never have is boxed.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct State {
    pub phase: Phase,
    more: Option<Box<More>>,
}

#[derive(Clone, Debug, Default, PartialEq)]
struct More {
    /// The last reason reported while holding (window, at_most, skipped,
    /// error), so that each is said once, not every tick.
    note: Option<Box<str>>,
    backoff: Option<Backoff>,
    /// After a permanent failure: the version of the object it failed on.
    /// Nothing is tried again until the object's version differs.
    held: Option<u64>,
}

impl State {
    pub fn new(phase: Phase, backoff: Option<Backoff>, held: Option<u64>) -> State {
        let mut s = State { phase, more: None };
        s.set_backoff(backoff);
        s.set_held(held);
        s
    }

    pub fn is_normal(&self) -> bool {
        self.phase.is_normal() && self.more.is_none()
    }

    pub fn note(&self) -> Option<&str> {
        self.more.as_ref()?.note.as_deref()
    }

    pub fn backoff(&self) -> Option<Backoff> {
        self.more.as_ref()?.backoff
    }

    pub fn held(&self) -> Option<u64> {
        self.more.as_ref()?.held
    }

    pub fn set_note(&mut self, note: Option<&str>) {
        self.change(|m| m.note = note.map(Into::into));
    }

    pub fn set_backoff(&mut self, backoff: Option<Backoff>) {
        self.change(|m| m.backoff = backoff);
    }

    pub fn set_held(&mut self, held: Option<u64>) {
        self.change(|m| m.held = held);
    }

    /// Changes the boxed part, which goes when it holds nothing.
    fn change(&mut self, f: impl FnOnce(&mut More)) {
        let mut more = self.more.take().unwrap_or_default();
        f(&mut more);
        if *more != More::default() {
            self.more = Some(more);
        }
    }
}

/// The states of one object that are not normal, by policy index. The
/// indices are kept apart from the states, so that finding one reads a few
/// bytes, and a tick's policies, which come in index order, read the states
/// front to back.
#[derive(Clone, Debug, Default)]
pub(crate) struct States {
    policies: Vec<u32>,
    states: Vec<State>,
}

impl States {
    pub fn one(pi: u32, state: State) -> States {
        States {
            policies: vec![pi],
            states: vec![state],
        }
    }

    pub fn len(&self) -> usize {
        self.states.len()
    }

    pub fn is_empty(&self) -> bool {
        self.states.is_empty()
    }

    pub fn get(&self, pi: u32) -> Option<&State> {
        let at = self.policies.binary_search(&pi).ok()?;
        Some(&self.states[at])
    }

    pub fn get_mut(&mut self, pi: u32) -> Option<&mut State> {
        let at = self.policies.binary_search(&pi).ok()?;
        Some(&mut self.states[at])
    }

    /// Stores a state, or drops the policy's entry when the state is normal.
    pub fn set(&mut self, pi: u32, state: State) {
        match self.policies.binary_search(&pi) {
            Ok(at) if state.is_normal() => {
                self.policies.remove(at);
                self.states.remove(at);
            }
            Ok(at) => self.states[at] = state,
            Err(_) if state.is_normal() => {}
            Err(at) => {
                self.policies.insert(at, pi);
                self.states.insert(at, state);
            }
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = (u32, &State)> {
        self.policies.iter().copied().zip(&self.states)
    }

    pub fn into_entries(self) -> impl Iterator<Item = (u32, State)> {
        self.policies.into_iter().zip(self.states)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_its_cap() {
        let secs: Vec<u64> = (1..=8).map(|n| backoff(n).0 / 1000).collect();
        assert_eq!(secs, [30, 60, 120, 240, 480, 600, 600, 600]);
        assert_eq!(backoff(u32::MAX), BACKOFF_MAX);
    }
}
