//! Code shared by integration tests.

pub mod generators;
