//! The engine: evaluates the IR every tick, keeps the state of every
//! (policy, object) and plans actions. Pure: no I/O, and the tick time is
//! passed in, so simulate, test, backtest and the controller share it.
//!
//! A tick is two-phase: [`Engine::tick`] returns events and the intents to
//! carry out; the caller (the simulated world, or the cluster) carries each
//! out and reports back with [`Engine::finish`].

pub mod eval;
pub mod object;
pub mod plan;
pub mod state;
mod tick;

use serde::{Deserialize, Serialize};

pub use object::{Fields, MetricSource, Namespace, Object, ObjectId, Sample, Snapshot};
pub use state::{Phase, Saved};
pub use tick::{Engine, window_open};

/// Milliseconds since the Unix epoch.
pub type Time = i64;

/// An approver's decision on an action of a policy in `mode approve`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Approval {
    pub policy: String,
    pub object: ObjectId,
    pub decision: Decision,
    /// When the decision was made.
    pub at: Time,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Decision {
    Approve,
    Decline,
}

/// An action the engine decided on, with its arguments computed for the object.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Planned {
    Resize { from: u64, to: u64 },
    SetClass { class: String },
    Scale { from: u32, to: u32 },
    Evict,
    Cordon,
    Annotate { key: String, value: String },
    Label { key: String, value: String },
    Event { reason: String, message: String },
    Notify { receiver: String, message: String },
}

impl Planned {
    /// The action's name in the language: `resize`, `set_class`, …
    pub fn name(&self) -> &'static str {
        match self {
            Planned::Resize { .. } => "resize",
            Planned::SetClass { .. } => "set_class",
            Planned::Scale { .. } => "scale",
            Planned::Evict => "evict",
            Planned::Cordon => "cordon",
            Planned::Annotate { .. } => "annotate",
            Planned::Label { .. } => "label",
            Planned::Event { .. } => "event",
            Planned::Notify { .. } => "notify",
        }
    }
}

/// An action to carry out now; report the result with [`Engine::finish`].
#[derive(Clone, Debug, PartialEq)]
pub struct Intent {
    pub policy: String,
    pub object: ObjectId,
    pub planned: Planned,
    pub(crate) slot: (u32, u32),
}

/// How carrying out an action went.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    Applied,
    /// Not done, for a reason that may pass (resize in progress, not Bound).
    Skipped(String),
    /// Refused for good (at max, the API server said 422).
    Declined(String),
    /// An error (network, 403, 5xx); tried again on a later tick.
    Failed(String),
}

/// The result of an action, as reported (docs/semantics.md section 8).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ActionResult {
    Applied,
    DryRun,
    AwaitingApproval,
    Declined,
    Skipped,
    Failed,
}

impl ActionResult {
    /// The result as reports write it: `applied`, `dry_run`, …
    pub fn name(self) -> &'static str {
        match self {
            ActionResult::Applied => "applied",
            ActionResult::DryRun => "dry_run",
            ActionResult::AwaitingApproval => "awaiting_approval",
            ActionResult::Declined => "declined",
            ActionResult::Skipped => "skipped",
            ActionResult::Failed => "failed",
        }
    }
}

/// Something that happened to one (policy, object) at one tick.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Event {
    /// Milliseconds since the Unix epoch.
    #[serde(skip)]
    pub time: Time,
    pub policy: String,
    pub object: ObjectId,
    #[serde(flatten)]
    pub kind: EventKind,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum EventKind {
    Transition {
        from: &'static str,
        to: &'static str,
    },
    Action {
        #[serde(flatten)]
        planned: Planned,
        result: ActionResult,
        #[serde(skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
    /// The condition could not be evaluated: the state is kept.
    Error { message: String },
}
