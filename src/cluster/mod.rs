//! Everything that talks to a Kubernetes cluster: the client, views of the
//! objects policies act on, the action executors and the events they leave.
//!
//! The decisions stay in [`crate::engine`] (pure, clock passed in); this module
//! reads what they need from the API server and carries out what they decide.

pub mod act;
pub mod approval;
pub mod client;
pub mod events;
pub mod history;
pub mod metrics;
pub mod notify;
pub mod prometheus;
pub mod pvc;
/// Kubernetes quantities, pure: the engine converts annotations with them too.
pub use crate::quantity;
pub mod resize;
pub mod state;
pub mod status;
