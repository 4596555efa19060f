//! The durations of a policy's clauses (`for`, `cooldown`, `at_most … per`):
//! constants lowered to typed milliseconds, at most ten years.
//!
//! Past that bound a duration is a mistake (a typo of a unit, or a number of
//! days meant as seconds), and a huge one would once have wrapped around in
//! the engine's clock and ended a cooldown after one tick.

use crate::diagnostic::Diagnostic;
use crate::ir::Millis;
use crate::syntax::ast;

use super::{Checker, codes};

impl Checker<'_> {
    /// A constant, non-negative duration of at most [`Millis::MAX`].
    pub(super) fn millis(&mut self, e: &ast::Expr, what: &str) -> Option<Millis> {
        let secs = self.duration(e, what)?;
        let ms = Millis::from_secs(secs);
        if ms.is_none() {
            self.error(
                Diagnostic::error(codes::DURATION_RANGE, e.span, format!("{what} is too long"))
                    .label("past ten years")
                    .help(format!(
                        "a duration is at most {} (ten years); check the unit",
                        Millis::MAX
                    )),
            );
        }
        ms
    }
}
