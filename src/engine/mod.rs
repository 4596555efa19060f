//! The engine: evaluates the IR every tick and plans actions. Pure: no I/O,
//! the tick time is passed in.

pub mod plan;
