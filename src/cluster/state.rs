//! The engine's restart state as it lives on the cluster (DESIGN.md
//! section 6):
//!
//! - each object's states, one per (source, policy) that is not normal, in
//!   its annotation [`ANNOTATION`] (`autopilot.rs/state`), JSON with `"v": 1`;
//! - each policy's `at_most` history, in the controller-owned ConfigMap
//!   [`AT_MOST_CONFIG_MAP`] in the controller's namespace, key [`AT_MOST_KEY`].
//!
//! Both are read back on start (and when a replica takes the Lease over),
//! validated here and clamped by [`crate::engine::Engine::restore`]. What
//! `autopilot status` shows comes from here too: when the state began and the
//! last action with its result.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::engine::saved::{SavedStarts, SavedState, VERSION};
use crate::engine::state::{Backoff, Phase};
use crate::engine::{ActionResult, ObjectId, Saved, Time};

/// The annotation that holds an object's states.
pub const ANNOTATION: &str = "autopilot.rs/state";
/// The ConfigMap, in the controller's namespace, that holds `at_most` history.
pub const AT_MOST_CONFIG_MAP: &str = "autopilot-state";
/// Its key.
pub const AT_MOST_KEY: &str = "at-most.json";

/// The value of an object's [`ANNOTATION`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ObjectState {
    pub v: u32,
    /// Sorted by source, then policy key.
    pub policies: Vec<PolicyState>,
}

/// One (source, policy) state of an object.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PolicyState {
    /// The policy source: `configmap NS/NAME`, or `--policies`.
    pub source: String,
    /// The policy's key ([`crate::ir::Policy::key`]), what restore matches.
    pub policy: String,
    /// The policy's display name, for `autopilot status`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    #[serde(flatten)]
    pub phase: Phase,
    /// When this phase began (milliseconds since the epoch).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entered: Option<Time>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backoff: Option<Backoff>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub held: Option<u64>,
    /// The last action of this (policy, object) and what came of it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last: Option<LastAction>,
}

/// An action as `autopilot status` shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LastAction {
    /// What it did, e.g. `resize 10Gi → 20Gi`.
    pub action: String,
    pub result: ActionResult,
    pub at: Time,
}

/// Why an annotation was not read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum StateError {
    #[error(
        "`{ANNOTATION}` is not valid state JSON ({0}); it is ignored and the object starts from normal"
    )]
    Malformed(String),
    #[error("`{ANNOTATION}` has version {0}; this build reads version {VERSION}; it is ignored")]
    Version(u32),
}

impl ObjectState {
    /// Reads an annotation's value: malformed JSON or an unknown version is
    /// an error (the caller drops it with a Warning Event).
    pub fn parse(text: &str) -> Result<ObjectState, StateError> {
        #[derive(Deserialize)]
        struct Versioned {
            v: u32,
        }
        let v: Versioned =
            serde_json::from_str(text).map_err(|e| StateError::Malformed(e.to_string()))?;
        if v.v != VERSION {
            return Err(StateError::Version(v.v));
        }
        serde_json::from_str(text).map_err(|e| StateError::Malformed(e.to_string()))
    }

    /// The annotation's value.
    pub fn render(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// The states of one source, as the engine restores them.
    pub fn saved_of<'a>(
        &'a self,
        object: &'a ObjectId,
        source: &'a str,
    ) -> impl Iterator<Item = SavedState> + 'a {
        self.policies
            .iter()
            .filter(move |p| p.source == source)
            .map(|p| SavedState {
                object: object.clone(),
                policy: p.policy.clone(),
                phase: p.phase.clone(),
                backoff: p.backoff,
                held: p.held,
            })
    }
}

/// The value of [`AT_MOST_KEY`]: per source, each policy's recent starts.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct AtMost {
    pub v: u32,
    pub sources: BTreeMap<String, Vec<SavedStarts>>,
}

impl AtMost {
    pub fn parse(text: &str) -> Result<AtMost, StateError> {
        let a: AtMost =
            serde_json::from_str(text).map_err(|e| StateError::Malformed(e.to_string()))?;
        if a.v != VERSION {
            return Err(StateError::Version(a.v));
        }
        Ok(a)
    }

    pub fn render(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// What the engine of `source` restores.
    pub fn saved_of(&self, source: &str) -> Saved {
        let mut saved = Saved::empty();
        saved.at_most = self.sources.get(source).cloned().unwrap_or_default();
        saved
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn annotations_round_trip_and_garbage_is_refused() {
        let text = r#"{"v":1,"policies":[{"source":"files","policy":"grow","name":"grow","state":"pending","since":1000,"entered":1000}]}"#;
        let s = ObjectState::parse(text).unwrap();
        assert_eq!(s.render(), text);
        assert_eq!(s.policies[0].phase, Phase::Pending { since: 1000 });
        let id: ObjectId = "pvc/db/data".parse().unwrap();
        assert_eq!(s.saved_of(&id, "files").count(), 1);
        assert_eq!(s.saved_of(&id, "configmap/a/b/c").count(), 0);
        for bad in ["", "{", "[]", r#"{"v":1,"policies":[{"state":"bogus"}]}"#] {
            assert!(
                matches!(ObjectState::parse(bad), Err(StateError::Malformed(_))),
                "{bad}"
            );
        }
        assert_eq!(
            ObjectState::parse(r#"{"v":2,"policies":[]}"#),
            Err(StateError::Version(2))
        );
    }
}
