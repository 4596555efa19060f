//! Syntax: the AST and its visitors, the parser, comments and the formatter.

pub mod ast;
pub mod comments;
pub mod fmt;
pub mod parse;
pub mod visit;

pub use parse::parse;
