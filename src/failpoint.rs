//! Crash points for the restart tests: `AUTOPILOT_FAILPOINT=NAME` makes the
//! process abort (as a `kill -9` would: no cleanup, no Event, no lease
//! release) when it reaches the point `NAME`. Unset, a point costs one
//! comparison. The points are documented in docs/controller.md.

use std::sync::OnceLock;

/// Right after an action's write succeeded, before its Event.
pub const AFTER_ACTION_WRITE: &str = "after-action-write";
/// Right after the state that says an action is in flight was written,
/// before the action (those that do not patch their object).
pub const AFTER_STATE_WRITE: &str = "after-state-write";

/// Aborts the process if `AUTOPILOT_FAILPOINT` names `point`.
pub fn hit(point: &str) {
    static ARMED: OnceLock<Option<String>> = OnceLock::new();
    let armed = ARMED.get_or_init(|| std::env::var("AUTOPILOT_FAILPOINT").ok());
    if armed.as_deref() == Some(point) {
        eprintln!("autopilot: failpoint {point} reached: aborting");
        std::process::abort();
    }
}
