//! Syntax: the AST, the parser, comments and the formatter.

pub mod ast;
pub mod comments;
pub mod parse;

pub use parse::parse;
