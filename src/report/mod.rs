//! Every rendering of events, actions, results, reasons and times for
//! people and for JSON, in one place: commands (`src/cli/`), `test` results
//! and the REPL print what these functions return.
//!
//! - [`action`]: one action, with its result and reason, as a line says it;
//! - [`text`]: the `simulate` timeline, the objects at the end, what was sent
//!   (also the actual timeline of a failed test);
//! - [`json`]: `simulate --format json` (docs/formats.md section 5);
//! - [`plot`]: `simulate --plot`, each threshold's metric as SVG;
//! - [`explain`]: `explain`, a policy's typed IR and its PromQL.
//!
//! Pure: no I/O, and times are relative to a start given by the caller.

pub mod action;
pub mod backtest;
pub mod explain;
pub mod json;
pub mod plot;
pub mod record;
pub mod status;
pub mod text;

use crate::engine::Time;

/// The widest a padded column gets: a longer cell overflows its column
/// rather than pushing every other row out (or past what `{:width$}` allows).
pub const MAX_COLUMN: usize = 64;

/// The width of a column holding cells of these widths, at most [`MAX_COLUMN`].
pub fn column_width(cells: impl IntoIterator<Item = usize>) -> usize {
    cells.into_iter().max().unwrap_or(0).min(MAX_COLUMN)
}

/// A time after a start, in milliseconds: `7m00s`, `1h02m30s`, `2d03h00m00s`.
pub fn elapsed(ms: Time) -> String {
    let s = ms / 1000;
    let (d, h, m, s) = (s / 86400, s / 3600 % 24, s / 60 % 60, s % 60);
    if d > 0 {
        format!("{d}d{h:02}h{m:02}m{s:02}s")
    } else if h > 0 {
        format!("{h}h{m:02}m{s:02}s")
    } else {
        format!("{m}m{s:02}s")
    }
}

#[cfg(test)]
mod tests;
