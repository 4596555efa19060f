//! The engine: evaluates the IR every tick, keeps the state of every
//! (policy, object) and plans actions. Pure: no I/O, and the tick time is
//! passed in, so simulate, test, backtest and the controller share it.
//!
//! A tick is two-phase: [`Engine::tick`] returns events and the intents to
//! carry out; the caller (the simulated world, or the cluster) carries each
//! out and reports back with [`Engine::finish`].

pub mod answers;
pub mod eval;
pub mod object;
pub mod outcome;
pub mod plan;
pub mod saved;
pub mod state;
#[cfg(test)]
mod tests;
mod tick;

use serde::{Deserialize, Serialize, Serializer};

pub use object::{Fields, MetricSource, Namespace, Object, ObjectId, Sample, Snapshot};
pub use outcome::{ActionOutcome, DeclineReason, Failure, FailureClass, Reason, SkipReason};
pub use saved::{RestoreError, Saved};
pub use state::{Phase, PhaseName};
pub use tick::{Engine, FinishError, window_open};

use crate::ir::ActionName;

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
    /// The plan that was approved, when the approver saw one (the
    /// controller's ActionApproval): an approval of a plan that no longer
    /// matches is not acted on; a new request replaces it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan: Option<Vec<Planned>>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Decision {
    Approve,
    Decline,
}

/// An action the engine decided on, with its arguments computed for the object.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
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
    pub fn action(&self) -> ActionName {
        match self {
            Planned::Resize { .. } => ActionName::Resize,
            Planned::SetClass { .. } => ActionName::SetClass,
            Planned::Scale { .. } => ActionName::Scale,
            Planned::Evict => ActionName::Evict,
            Planned::Cordon => ActionName::Cordon,
            Planned::Annotate { .. } => ActionName::Annotate,
            Planned::Label { .. } => ActionName::Label,
            Planned::Event { .. } => ActionName::Event,
            Planned::Notify { .. } => ActionName::Notify,
        }
    }

    /// The action's name in the language: `resize`, `set_class`, …
    pub fn name(&self) -> &'static str {
        self.action().name()
    }
}

/// Names one intent of an engine; [`Engine::finish`] refuses an id it did not
/// hand out, or one a reload made stale.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct IntentId(pub u64);

/// An action to carry out now; report the result with [`Engine::finish`].
#[derive(Clone, Debug, PartialEq)]
pub struct Intent {
    pub id: IntentId,
    /// The policy's display name.
    pub policy: String,
    pub object: ObjectId,
    pub planned: Planned,
}

/// The result of an action, as reported (docs/semantics.md section 8).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
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
    pub const ALL: [ActionResult; 6] = [
        ActionResult::Applied,
        ActionResult::DryRun,
        ActionResult::AwaitingApproval,
        ActionResult::Declined,
        ActionResult::Skipped,
        ActionResult::Failed,
    ];

    pub fn parse(name: &str) -> Option<ActionResult> {
        ActionResult::ALL.into_iter().find(|r| r.name() == name)
    }

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

#[derive(Clone, Debug, PartialEq)]
pub enum EventKind {
    Transition {
        from: PhaseName,
        to: PhaseName,
    },
    Action {
        action: ActionName,
        /// The arguments computed for the object; None when the action was
        /// skipped before they could be (a PVC that is not Bound).
        planned: Option<Planned>,
        result: ActionResult,
        reason: Option<Reason>,
    },
    /// The condition could not be evaluated: the state is kept.
    Error {
        message: String,
    },
}

/// The fields of an [`EventKind::Action`], borrowed: see [`EventKind::as_action`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ActionView<'a> {
    pub action: ActionName,
    pub planned: Option<&'a Planned>,
    pub result: ActionResult,
    pub reason: Option<&'a Reason>,
}

impl EventKind {
    /// The action's fields, if the event is an action.
    pub fn as_action(&self) -> Option<ActionView<'_>> {
        match self {
            EventKind::Action {
                action,
                planned,
                result,
                reason,
            } => Some(ActionView {
                action: *action,
                planned: planned.as_ref(),
                result: *result,
                reason: reason.as_ref(),
            }),
            EventKind::Transition { .. } | EventKind::Error { .. } => None,
        }
    }
}

/// `{"type": "action", "action": "resize", "from": …, "to": …, "result": …}`:
/// the planned arguments inline, only the name when nothing was planned.
impl Serialize for EventKind {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        #[serde(untagged)]
        enum What<'a> {
            Planned(&'a Planned),
            Unplanned { action: ActionName },
        }
        #[derive(Serialize)]
        #[serde(tag = "type", rename_all = "snake_case")]
        enum Shown<'a> {
            Transition {
                from: PhaseName,
                to: PhaseName,
            },
            Action {
                #[serde(flatten)]
                what: What<'a>,
                result: ActionResult,
                #[serde(skip_serializing_if = "Option::is_none")]
                reason: Option<&'a Reason>,
            },
            Error {
                message: &'a str,
            },
        }
        let shown = match self {
            EventKind::Transition { from, to } => Shown::Transition {
                from: *from,
                to: *to,
            },
            EventKind::Action {
                action,
                planned,
                result,
                reason,
            } => Shown::Action {
                what: match planned {
                    Some(p) => What::Planned(p),
                    None => What::Unplanned { action: *action },
                },
                result: *result,
                reason: reason.as_ref(),
            },
            EventKind::Error { message } => Shown::Error { message },
        };
        shown.serialize(s)
    }
}
