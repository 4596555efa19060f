//! The simulation: a scenario (objects, series, approvals, changes), the
//! series notation, the metric source over a scenario's series, the simulated
//! world that stands in for the API server, the tick loop, and `test` blocks.
//! Pure: no I/O, and time comes from the scenario's clock.

pub mod raw;
pub mod run;
pub mod scenario;
pub mod series;
pub mod source;
pub mod testing;
pub mod world;

pub use run::{Probe, Run, Sim, Trace, run};
pub use scenario::Scenario;
pub use source::ScenarioSource;
pub use world::World;
