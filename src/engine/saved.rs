//! What survives a restart: every (policy, object) state that is not normal,
//! and each policy's `at_most` start history.
//!
//! Versioned (`v`): a version this build does not know is refused, never
//! guessed at. Everything is keyed by [`Policy::key`](crate::ir::Policy::key),
//! which a comment or a line inserted above an anonymous rule does not move.
//!
//! Restored times are not trusted as written (a user can edit an annotation):
//! [`Engine::restore`](super::Engine::restore) clamps each into the range the
//! engine itself could have written at `now`:
//! - `pending.since` into `[now - for, now]`: a `for` never looks older than
//!   met, nor starts in the future;
//! - `cooldown.until` into `[now, now + cooldown]`: no cooldown longer than
//!   the policy's own;
//! - `awaiting_approval.since` to at most `now`;
//! - an action in flight (`acting`) comes back as a cooldown from `now`: it
//!   is never repeated;
//! - a backoff's `until` into `[now, now + 10m]`;
//! - `at_most` start times into `(now - per, now]`; older ones are dropped.

use serde::{Deserialize, Serialize};

use super::Time;
use super::object::ObjectId;
use super::state::{Backoff, Phase};

/// The version this build writes and reads.
pub const VERSION: u32 = 1;

/// The engine's restart state.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Saved {
    pub v: u32,
    /// Sorted by object, then policy key.
    pub states: Vec<SavedState>,
    /// Per policy with an `at_most`: when its recent firings started.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub at_most: Vec<SavedStarts>,
}

/// One (policy, object) state.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SavedState {
    pub object: ObjectId,
    /// [`crate::ir::Policy::key`].
    pub policy: String,
    #[serde(flatten)]
    pub phase: Phase,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backoff: Option<Backoff>,
    /// The object version a permanent failure holds on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub held: Option<u64>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SavedStarts {
    pub policy: String,
    pub started: Vec<Time>,
}

/// Why saved state was not restored.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RestoreError {
    #[error("saved state has version {found}; this build reads version {VERSION}")]
    Version { found: u32 },
}

impl Saved {
    pub fn empty() -> Saved {
        Saved {
            v: VERSION,
            states: Vec::new(),
            at_most: Vec::new(),
        }
    }

    /// The states of one object, e.g. for its `autopilot.rs/state` annotation.
    pub fn of(&self, object: &ObjectId) -> impl Iterator<Item = &SavedState> {
        self.states.iter().filter(move |s| &s.object == object)
    }
}
