//! The state of one (policy, object), and what survives a restart.

use serde::{Deserialize, Serialize};

use super::Time;

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
    },
    Cooldown {
        until: Time,
    },
    Declined,
}

impl Phase {
    pub fn is_normal(&self) -> bool {
        matches!(self, Phase::Normal)
    }

    pub fn name(&self) -> &'static str {
        match self {
            Phase::Normal => "normal",
            Phase::Pending { .. } => "pending",
            Phase::Firing => "firing",
            Phase::AwaitingApproval { .. } => "awaiting_approval",
            Phase::Acting { .. } => "acting",
            Phase::Cooldown { .. } => "cooldown",
            Phase::Declined => "declined",
        }
    }
}

/// The state of one (policy, object), with what it last said.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct State {
    pub phase: Phase,
    /// The last reason reported while holding (window, at_most, skipped,
    /// error), so that each is said once, not every tick.
    pub note: Option<Box<str>>,
}

impl State {
    pub fn is_normal(&self) -> bool {
        self.phase.is_normal() && self.note.is_none()
    }
}

/// What is written to the object's `autopilot.rs/state` annotation on
/// transitions, so that a restart neither loses a `for` clock or a cooldown
/// nor repeats an action.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Saved {
    pub policy: String,
    #[serde(flatten)]
    pub phase: Phase,
}
