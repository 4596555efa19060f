//! How carrying out an action went, as an executor reports it to
//! [`Engine::finish`](super::Engine::finish), and why an action was skipped,
//! declined or failed: closed sets, each with its text.

use std::fmt;

use serde::{Serialize, Serializer};

use super::plan::Blocker;
use crate::ir::{self, ActionName, ArgSlot, Millis};

/// The result of one intent, reported back to the engine.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ActionOutcome {
    Applied,
    /// Not done, for a reason that may pass (resize in progress, not Bound).
    Skipped(SkipReason),
    /// Refused for good (at max, the API server said 422).
    Declined(DeclineReason),
    /// An error: retried with backoff when transient, held until the object or
    /// the policy changes when permanent.
    Failed(Failure),
}

/// Why an action was not carried out now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SkipReason {
    /// The PVC may not be resized now (`plan::resize_blocker`).
    Blocked(Blocker),
    ReplicasUnknown,
    /// Outside the policy's `window`, shown as source text.
    OutsideWindow {
        window: String,
    },
    AtMostReached {
        count: u32,
        per: Millis,
    },
    /// A permanent failure holds the policy until the object or policy changes.
    HeldAfterFailure,
    /// An eviction a PodDisruptionBudget does not allow now (429), in the
    /// API server's words.
    DisruptionBudget {
        message: String,
    },
    /// A computed argument had no data at firing time: it is never guessed.
    ArgumentNoData {
        action: ActionName,
        argument: ArgSlot,
    },
    /// A computed argument's value cannot be used: an annotation that does
    /// not parse, a fraction of a replica, a size of zero.
    ArgumentInvalid {
        action: ActionName,
        argument: ArgSlot,
        why: String,
    },
}

impl SkipReason {
    pub fn name(&self) -> &'static str {
        match self {
            SkipReason::Blocked(b) => b.name(),
            SkipReason::ReplicasUnknown => "replicas_unknown",
            SkipReason::OutsideWindow { .. } => "outside_window",
            SkipReason::AtMostReached { .. } => "at_most_reached",
            SkipReason::HeldAfterFailure => "held_after_failure",
            SkipReason::DisruptionBudget { .. } => "disruption_budget",
            SkipReason::ArgumentNoData { .. } => "argument_no_data",
            SkipReason::ArgumentInvalid { .. } => "argument_invalid",
        }
    }
}

impl fmt::Display for SkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SkipReason::Blocked(b) => f.write_str(&b.text()),
            SkipReason::ReplicasUnknown => f.write_str("the replica count is unknown"),
            SkipReason::OutsideWindow { window } => write!(f, "outside window \"{window}\""),
            SkipReason::AtMostReached { count, per } => {
                write!(f, "at_most {count} per {per} reached")
            }
            SkipReason::HeldAfterFailure => {
                f.write_str("held after a permanent failure until the object or the policy changes")
            }
            SkipReason::DisruptionBudget { message } => {
                write!(f, "a PodDisruptionBudget does not allow it now: {message}")
            }
            SkipReason::ArgumentNoData { action, argument } => {
                write!(f, "`{}` of {} has no data", argument.name(), action.name())
            }
            SkipReason::ArgumentInvalid {
                action,
                argument,
                why,
            } => write!(f, "`{}` of {}: {why}", argument.name(), action.name()),
        }
    }
}

/// Why an action was refused for good.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DeclineReason {
    /// The volume is at (or above) the resize's `max`.
    AtMax {
        current: u64,
        max: u64,
    },
    /// The volume is at (or above) the `to =` size.
    AtTarget {
        current: u64,
        target: u64,
    },
    /// The replica count is at the scale's bound.
    AtBound {
        replicas: u32,
    },
    AlreadyInClass {
        class: String,
    },
    AlreadyCordoned,
    /// The volume already has the planned size.
    AlreadySize {
        size: u64,
    },
    /// The plan would shrink the volume (it grew meanwhile).
    Shrink {
        to: u64,
        current: u64,
    },
    /// An approver said no (`mode approve`).
    ByApprover,
    /// The API server (or an admission webhook) refused it, in its words.
    Rejected(String),
}

impl DeclineReason {
    pub fn name(&self) -> &'static str {
        match self {
            DeclineReason::AtMax { .. } => "at_max",
            DeclineReason::AtTarget { .. } => "at_target",
            DeclineReason::AtBound { .. } => "at_bound",
            DeclineReason::AlreadyInClass { .. } => "already_in_class",
            DeclineReason::AlreadyCordoned => "already_cordoned",
            DeclineReason::AlreadySize { .. } => "already_size",
            DeclineReason::Shrink { .. } => "shrink",
            DeclineReason::ByApprover => "by_approver",
            DeclineReason::Rejected(_) => "rejected",
        }
    }
}

impl fmt::Display for DeclineReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let bytes = |b: u64| ir::format_bytes(b as f64);
        match self {
            DeclineReason::AtMax { current, max } => {
                write!(
                    f,
                    "at max: {} is not below {}",
                    bytes(*current),
                    bytes(*max)
                )
            }
            DeclineReason::AtTarget { current, target } => {
                write!(
                    f,
                    "already at {}, target {}",
                    bytes(*current),
                    bytes(*target)
                )
            }
            DeclineReason::AtBound { replicas } => write!(f, "at bound: {replicas} replicas"),
            DeclineReason::AlreadyInClass { class } => write!(f, "already in class \"{class}\""),
            DeclineReason::AlreadyCordoned => f.write_str("already cordoned"),
            DeclineReason::AlreadySize { size } => write!(f, "already {}", bytes(*size)),
            DeclineReason::Shrink { to, current } => write!(
                f,
                "a volume is never shrunk: {} is below {}",
                bytes(*to),
                bytes(*current)
            ),
            DeclineReason::ByApprover => f.write_str("declined by approver"),
            DeclineReason::Rejected(why) => f.write_str(why),
        }
    }
}

/// Whether a failure is worth retrying on its own.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FailureClass {
    /// Network, 5xx, 429, a timeout: retried after a backoff.
    Transient,
    /// 403, 404, a webhook's 400: held until the object or the policy changes.
    Permanent,
}

impl FailureClass {
    pub fn name(self) -> &'static str {
        match self {
            FailureClass::Transient => "transient",
            FailureClass::Permanent => "permanent",
        }
    }
}

/// An action that went wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    pub class: FailureClass,
    pub message: String,
}

impl Failure {
    pub fn transient(message: impl Into<String>) -> Failure {
        Failure {
            class: FailureClass::Transient,
            message: message.into(),
        }
    }

    pub fn permanent(message: impl Into<String>) -> Failure {
        Failure {
            class: FailureClass::Permanent,
            message: message.into(),
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// Why an action event came out as it did: shown as its text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reason {
    Skip(SkipReason),
    Decline(DeclineReason),
    Failure(Failure),
    /// An approval was given to a plan that has changed since: asked again.
    PlanChanged,
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::Skip(r) => r.fmt(f),
            Reason::Decline(r) => r.fmt(f),
            Reason::Failure(r) => r.fmt(f),
            Reason::PlanChanged => {
                f.write_str("the plan changed since it was approved; approval is asked again")
            }
        }
    }
}

impl Serialize for Reason {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}
