//! autopilot: typed policies that keep stateful applications on Kubernetes healthy.
//!
//! The pipeline: [`syntax`] parses `.apr` text into an AST, [`check`] turns it
//! into the typed [`ir`], and the engine evaluates the IR every tick.
//! ARCHITECTURE.md is the map.

pub mod check;
pub mod cli;
pub mod cluster;
pub mod compile;
pub mod config;
pub mod controller;
pub mod diagnostic;
pub mod engine;
pub mod failpoint;
pub mod ir;
pub mod lint;
pub mod lsp;
pub mod promql;
pub mod quantity;
pub mod repl;
pub mod report;
pub mod sim;
pub mod source;
pub mod stdlib;
pub mod syntax;
