//! Syntax: the AST, the parser, comments and the formatter.

pub mod ast;
pub mod comments;
pub mod fmt;
pub mod parse;

pub use parse::parse;
