//! Syntax: the AST, the parser, comments and the formatter.

pub mod ast;
pub mod parse;

pub use parse::parse;
