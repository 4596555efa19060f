//! promtool's expanding notation for series values, with our units.
//!
//! Exactly as `promtool test rules` reads `values:` (Prometheus
//! `promql/parser`, rule `series_item`), space-separated terms:
//!
//! | term      | samples                                  |
//! |-----------|------------------------------------------|
//! | `a`       | `a`                                      |
//! | `a+bxN`   | `a a+b a+2b … a+N·b` (N+1 samples)       |
//! | `a-bxN`   | `a a-b … a-N·b` (N+1 samples)            |
//! | `axN`     | `a` N+1 times (`a+0xN`)                  |
//! | `_`       | one missing sample                       |
//! | `_xN`     | N missing samples (not N+1: promtool's rule) |
//! | `stale`   | a staleness marker                       |
//!
//! So `-2+4x3` is `-2 2 6 10` and `1 _x3 stale` is `1 _ _ _ stale`. Numbers
//! are decimal (`1_000`, `.5`, `1e3`, `Inf`, `NaN`; no hex, as in promtool).
//!
//! Our extension for tests of failures: `error` (and `errorxN`, N steps) is a
//! step at which the query fails, as when Prometheus is down. It is not a
//! sample: reads at later steps look past it.
//!
//! How a step is read (the lookback, staleness) is [`Timeline`]'s.
//!
//! Our extension: a number may carry a unit of the language (`40Gi`, `50%`,
//! `20ms`), converted to the binding's base unit: bytes, seconds, percent
//! points. A bare number is already in the base unit. `40Gi+1Gix30` grows by
//! 1Gi per sample.
//!
//! Parsing is a pure function; errors carry the byte offset into the text.

use std::fmt;

use crate::ir::Type;
use crate::syntax::ast::{Dimension, Unit};

/// At most this many samples come out of one `values` string, so that
/// `1x1000000000000` is an error and not an allocation.
pub const MAX_SAMPLES: usize = 1_000_000;

/// A syntax or unit error at a byte range of the values text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SeriesError {
    /// Byte offset into the values text.
    pub offset: usize,
    /// Length in bytes of the offending text (at least 1 where there is text).
    pub len: usize,
    pub message: String,
    pub help: Option<String>,
}

impl fmt::Display for SeriesError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "at byte {}: {}", self.offset, self.message)
    }
}

impl std::error::Error for SeriesError {}

/// A number as written, with its unit.
#[derive(Clone, Debug, PartialEq)]
pub struct Quantity {
    /// As written, sign included: `+1Gi`.
    pub text: String,
    pub value: f64,
    pub unit: Option<Unit>,
    /// Byte range in the text.
    pub offset: usize,
    pub len: usize,
}

/// One space-separated term.
#[derive(Clone, Debug, PartialEq)]
pub enum Term {
    /// `_` (count 1) or `_xN` (count N).
    Missing { count: u64 },
    /// `stale`.
    Stale { count: u64 },
    /// `error` (count 1) or `errorxN` (count N): the query fails.
    Error { count: u64 },
    /// `a`, `axN`, `a+bxN`, `a-bxN`: `count` samples from `start` by `step`.
    Values {
        start: Quantity,
        step: Option<Quantity>,
        count: u64,
    },
}

/// One step of a series.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Point {
    /// A sample.
    Value(f64),
    /// `_`: no sample at this step.
    Missing,
    /// `stale`: a staleness marker. The series is gone until its next sample.
    Stale,
    /// `error`: the query at this step fails.
    Error,
}

/// What an instant query at a step reads from a series.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Read {
    Value(f64),
    /// No sample in the lookback, or the newest one is a staleness marker.
    NoData,
    /// The step is an `error`.
    Failed,
}

/// A series' points, read as Prometheus 3 reads a series: at step i, the
/// newest sample at a step j <= i whose time is inside the lookback
/// (left-open: `(t - lookback, t]`), and nothing when that newest sample is
/// a staleness marker. A series stays visible for the lookback after its
/// last point.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Timeline {
    points: Vec<Point>,
    /// Per step: the newest step at or before it with a sample or a marker.
    newest: Vec<u32>,
}

const NONE: u32 = u32::MAX;

impl Timeline {
    pub fn new(points: Vec<Point>) -> Timeline {
        let mut last = NONE;
        let newest = points
            .iter()
            .enumerate()
            .map(|(i, p)| {
                if matches!(p, Point::Value(_) | Point::Stale) {
                    last = i as u32;
                }
                last
            })
            .collect();
        Timeline { points, newest }
    }

    pub fn points(&self) -> &[Point] {
        &self.points
    }

    /// The read at step `i`, where a sample `lookback_steps` or more steps
    /// old is out of the window (a lookback of 5m over 1m steps is 5: the
    /// sample at i - 5 is out, the one at i - 4 is in).
    pub fn read(&self, i: u64, lookback_steps: u64) -> Read {
        let Some(last) = self.points.len().checked_sub(1) else {
            return Read::NoData;
        };
        if self.points.get(i as usize) == Some(&Point::Error) {
            return Read::Failed;
        }
        let j = self.newest[(i as usize).min(last)];
        if j == NONE || i - u64::from(j) >= lookback_steps {
            return Read::NoData;
        }
        match self.points[j as usize] {
            Point::Value(v) => Read::Value(v),
            _ => Read::NoData,
        }
    }
}

/// A parsed `values` string: terms in order.
#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    pub terms: Vec<Term>,
}

impl Series {
    /// How many samples the terms expand to (saturating).
    pub fn len(&self) -> u64 {
        self.terms
            .iter()
            .map(|t| match t {
                Term::Missing { count }
                | Term::Stale { count }
                | Term::Error { count }
                | Term::Values { count, .. } => *count,
            })
            .fold(0u64, u64::saturating_add)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The points, one per step. Quantities are converted to the base unit
    /// of `ty` (bytes, seconds, percent points); with no type (a raw
    /// Prometheus series) any unit converts to its base.
    pub fn expand(&self, ty: Option<&Type>) -> Result<Vec<Point>, SeriesError> {
        let mut out = Vec::new();
        for term in &self.terms {
            let (count, point) = match term {
                Term::Missing { count } => (count, Point::Missing),
                Term::Stale { count } => (count, Point::Stale),
                Term::Error { count } => (count, Point::Error),
                Term::Values { .. } => (&0, Point::Missing),
            };
            match term {
                Term::Missing { .. } | Term::Stale { .. } | Term::Error { .. } => {
                    reserve(&mut out, *count)?;
                    out.extend((0..*count).map(|_| point));
                }
                Term::Values { start, step, count } => {
                    let a = convert(start, ty)?;
                    let b = match step {
                        Some(s) => convert(s, ty)?,
                        None => 0.0,
                    };
                    reserve(&mut out, *count)?;
                    // Accumulate as promtool does (`a += b`), so that
                    // floating-point results match it bit for bit.
                    let mut v = a;
                    for _ in 0..*count {
                        out.push(Point::Value(v));
                        v += b;
                    }
                }
            }
        }
        Ok(out)
    }
}

fn reserve(out: &mut Vec<Point>, count: u64) -> Result<(), SeriesError> {
    if out.len() as u64 + count > MAX_SAMPLES as u64 {
        return Err(SeriesError {
            offset: 0,
            len: 0,
            message: format!("more than {MAX_SAMPLES} samples"),
            help: Some("a scenario needs one sample per step of its duration".into()),
        });
    }
    out.reserve(count as usize);
    Ok(())
}

/// The value of a quantity in the base unit of `ty`.
fn convert(q: &Quantity, ty: Option<&Type>) -> Result<f64, SeriesError> {
    let Some(unit) = q.unit else {
        return Ok(q.value);
    };
    let wanted = match ty {
        None => None,
        Some(Type::Percent) => Some(Dimension::Percent),
        Some(Type::Bytes) => Some(Dimension::Bytes),
        Some(Type::Duration) => Some(Dimension::Duration),
        Some(_) => {
            return Err(unit_error(
                q,
                format!("`{}` has a unit; this metric is a plain number", q.text),
                "write a plain number".into(),
            ));
        }
    };
    let dim = unit.dimension();
    if let Some(wanted) = wanted
        && wanted != dim
    {
        let example = match wanted {
            Dimension::Percent => "`50%`, or a plain number of percent points",
            Dimension::Bytes => "`40Gi`, `500M`, or a plain number of bytes",
            Dimension::Duration => "`20ms`, `1s`, or a plain number of seconds",
        };
        return Err(unit_error(
            q,
            format!(
                "`{}` is {}; this metric is {}",
                q.text,
                dimension_name(dim),
                match wanted {
                    Dimension::Bytes => "in bytes",
                    other => dimension_name(other),
                }
            ),
            format!("write e.g. {example}"),
        ));
    }
    Ok(match dim {
        // Percent values are percent points: `50%` is 50.
        Dimension::Percent => q.value,
        _ => q.value * unit.factor(),
    })
}

fn dimension_name(d: Dimension) -> &'static str {
    match d {
        Dimension::Percent => "a percentage",
        Dimension::Bytes => "a byte size",
        Dimension::Duration => "a duration",
    }
}

fn unit_error(q: &Quantity, message: String, help: String) -> SeriesError {
    SeriesError {
        offset: q.offset,
        len: q.len,
        message,
        help: Some(help),
    }
}

/// Parses and expands in one go: see [`parse`] and [`Series::expand`].
pub fn values(text: &str, ty: Option<&Type>) -> Result<Vec<Point>, SeriesError> {
    parse(text)?.expand(ty)
}

/// Parses a `values` string into terms.
pub fn parse(text: &str) -> Result<Series, SeriesError> {
    let mut p = Parser { text, pos: 0 };
    let mut terms = Vec::new();
    loop {
        p.skip_space();
        if p.pos >= text.len() {
            break;
        }
        terms.push(p.term()?);
        match p.peek() {
            None => {}
            Some(c) if is_space(c) => {}
            Some(_) => return Err(p.unexpected("a space between values")),
        }
    }
    if terms.is_empty() {
        return Err(SeriesError {
            offset: 0,
            len: text.len(),
            message: "no values".into(),
            help: Some("write samples such as `40 45 50`, `40+1x30`, or `_x10` for missing".into()),
        });
    }
    let series = Series { terms };
    if series.len() > MAX_SAMPLES as u64 {
        return Err(SeriesError {
            offset: 0,
            len: text.len(),
            message: format!("more than {MAX_SAMPLES} samples"),
            help: Some("a scenario needs one sample per step of its duration".into()),
        });
    }
    Ok(series)
}

/// Space as the PromQL lexer knows it.
fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r')
}

struct Parser<'a> {
    text: &'a str,
    pos: usize,
}

impl Parser<'_> {
    fn rest(&self) -> &str {
        &self.text[self.pos..]
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    /// Length of the word at `pos`: letters, digits and `_`.
    fn word_len(&self) -> usize {
        self.rest()
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(self.rest().len())
    }

    fn bump(&mut self) {
        if let Some(c) = self.peek() {
            self.pos += c.len_utf8();
        }
    }

    fn skip_space(&mut self) {
        while self.peek().is_some_and(is_space) {
            self.bump();
        }
    }

    /// The text from `pos` to the next space, for error messages.
    fn word_at(&self, pos: usize) -> &str {
        let rest = &self.text[pos..];
        let end = rest.find(is_space).unwrap_or(rest.len());
        &rest[..end]
    }

    fn error(&self, offset: usize, len: usize, message: impl Into<String>) -> SeriesError {
        SeriesError {
            offset,
            len,
            message: message.into(),
            help: None,
        }
    }

    fn unexpected(&self, expected: &str) -> SeriesError {
        match self.peek() {
            None => self.error(self.pos, 0, format!("expected {expected}, found the end")),
            Some(c) => self.error(
                self.pos,
                c.len_utf8(),
                format!("expected {expected}, found `{c}`"),
            ),
        }
    }

    fn term(&mut self) -> Result<Term, SeriesError> {
        let start = self.pos;
        if self.peek() == Some('_') {
            self.bump();
            if self.peek() == Some('x') {
                self.bump();
                let count = self.count()?;
                return Ok(Term::Missing { count });
            }
            return Ok(Term::Missing { count: 1 });
        }
        // As in PromQL's lexer, a word runs over letters, digits and `_`:
        // `stale` is a word of its own (`stalex3` is not a term).
        let word = self.word_len();
        if &self.rest()[..word] == "stale" {
            self.pos += word;
            return Ok(Term::Stale { count: 1 });
        }
        if &self.rest()[..word] == "error" {
            self.pos += word;
            return Ok(Term::Error { count: 1 });
        }
        if let Some(n) = self.rest()[..word].strip_prefix("errorx")
            && !n.is_empty()
            && n.bytes().all(|b| b.is_ascii_digit())
        {
            self.pos += "errorx".len();
            let count = self.count()?;
            return Ok(Term::Error { count });
        }
        let first = self.signed()?;
        let (step, count) = match self.peek() {
            Some('x') => {
                self.bump();
                (None, self.count()?)
            }
            Some('+' | '-') => {
                let step = self.signed()?;
                if self.peek() != Some('x') {
                    return Err(SeriesError {
                        help: Some(format!(
                            "`a+bxN` is `a`, then N more samples each `b` apart, e.g. `{}x10`",
                            &self.text[start..self.pos]
                        )),
                        ..self.unexpected("`x` and a count after the step")
                    });
                }
                self.bump();
                (Some(step), self.count()?)
            }
            _ => (None, 0),
        };
        Ok(Term::Values {
            start: first,
            step,
            count: count.saturating_add(1),
        })
    }

    /// A repetition count: decimal digits.
    fn count(&mut self) -> Result<u64, SeriesError> {
        let start = self.pos;
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.bump();
        }
        if start == self.pos {
            return Err(SeriesError {
                help: Some("`axN` repeats `a`; N is a whole number such as `x10`".into()),
                ..self.unexpected("a count after `x`")
            });
        }
        self.text[start..self.pos].parse().map_err(|_| {
            self.error(
                start,
                self.pos - start,
                "the count is too large".to_string(),
            )
        })
    }

    /// A number with an optional sign and unit.
    fn signed(&mut self) -> Result<Quantity, SeriesError> {
        let start = self.pos;
        let negative = match self.peek() {
            Some('+') => {
                self.bump();
                false
            }
            Some('-') => {
                self.bump();
                true
            }
            _ => false,
        };
        let mut q = self.number()?;
        if negative {
            q.value = -q.value;
        }
        q.offset = start;
        q.len = self.pos - start;
        q.text = self.text[start..self.pos].to_string();
        Ok(q)
    }

    fn number(&mut self) -> Result<Quantity, SeriesError> {
        let start = self.pos;
        let word = self.rest()[..self.word_len()].to_string();
        for (name, value) in [("inf", f64::INFINITY), ("nan", f64::NAN)] {
            if word.eq_ignore_ascii_case(name) {
                self.pos += 3;
                return Ok(Quantity {
                    text: word,
                    value,
                    unit: None,
                    offset: start,
                    len: 3,
                });
            }
        }
        let digits = self.digits();
        if digits.is_empty() {
            let found = self.word_at(start);
            if found.is_empty() {
                return Err(self.unexpected("a number"));
            }
            return Err(SeriesError {
                help: Some(
                    "values are numbers (`42`, `1.5`, `40Gi`), `_` (missing) or `stale`".into(),
                ),
                ..self.error(
                    start,
                    found.len(),
                    format!("expected a number, found `{found}`"),
                )
            });
        }
        let value = digits.replace('_', "").parse::<f64>().map_err(|_| {
            self.error(
                start,
                self.pos - start,
                format!("`{digits}` is not a number"),
            )
        })?;
        let unit = self.unit()?;
        Ok(Quantity {
            text: self.text[start..self.pos].to_string(),
            value,
            unit,
            offset: start,
            len: self.pos - start,
        })
    }

    /// `[0-9_]* [. [0-9_]*] [e [+-] [0-9_]+]`, as PromQL's `scanNumber`
    /// without hex. An `e` or `E` not followed by digits is left for the
    /// unit (`1E` is an exabyte).
    fn digits(&mut self) -> String {
        let start = self.pos;
        // `_` only between digits: `1_000`, not `1_` or `1__0`.
        let digit_run = |p: &mut Self| {
            loop {
                match p.peek() {
                    Some(c) if c.is_ascii_digit() => p.bump(),
                    Some('_')
                        if p.pos > start
                            && p.text[..p.pos].ends_with(|c: char| c.is_ascii_digit())
                            && p.rest()[1..].starts_with(|c: char| c.is_ascii_digit()) =>
                    {
                        p.bump()
                    }
                    _ => break,
                }
            }
        };
        digit_run(self);
        if self.peek() == Some('.') {
            self.bump();
            digit_run(self);
        }
        let mantissa = &self.text[start..self.pos];
        if !mantissa.chars().any(|c| c.is_ascii_digit()) {
            self.pos = start;
            return String::new();
        }
        if matches!(self.peek(), Some('e' | 'E')) {
            let save = self.pos;
            self.bump();
            if matches!(self.peek(), Some('+' | '-')) {
                self.bump();
            }
            if self.peek().is_some_and(|c| c.is_ascii_digit()) {
                digit_run(self);
            } else {
                self.pos = save;
            }
        }
        self.text[start..self.pos].to_string()
    }

    /// A unit glued to a number, longest match first (`Mi` before `M`, `ms`
    /// before `m`). `x`, `+`, `-` or a space may follow.
    fn unit(&mut self) -> Result<Option<Unit>, SeriesError> {
        let start = self.pos;
        let rest = self.rest();
        let mut found = None;
        for len in [2, 1] {
            if let Some(s) = rest.get(..len)
                && let Some(u) = Unit::from_suffix(s)
            {
                found = Some((u, len));
                break;
            }
        }
        if let Some((_, len)) = found {
            self.pos += len;
        }
        match self.peek() {
            None | Some('x' | '+' | '-') => {}
            Some(c) if is_space(c) => {}
            Some(c) if c.is_ascii_alphanumeric() || c == '%' || c == '_' => {
                let end = self
                    .rest()
                    .find(|c: char| is_space(c) || c == 'x' || c == '+' || c == '-');
                let written = &self.text[start..self.pos + end.unwrap_or(self.rest().len())];
                return Err(unknown_unit(written, start));
            }
            Some(_) => return Err(self.unexpected("a space, `x`, `+` or `-` after a number")),
        }
        Ok(found.map(|(u, _)| u))
    }
}

fn unknown_unit(written: &str, offset: usize) -> SeriesError {
    const UNITS: &str = "units: % | Ki Mi Gi Ti Pi Ei | k M G T P E | ms s m h d w";
    let guess = match written {
        "min" | "mins" => Some("m"),
        "sec" | "secs" => Some("s"),
        "KB" | "KiB" | "kb" => Some("Ki"),
        "MB" | "MiB" | "mb" => Some("Mi"),
        "GB" | "GiB" | "gb" => Some("Gi"),
        "TB" | "TiB" | "tb" => Some("Ti"),
        _ => None,
    };
    SeriesError {
        offset,
        len: written.len(),
        message: format!("unknown unit `{written}`"),
        help: Some(match guess {
            Some(g) => format!("did you mean `{g}`? {UNITS}"),
            None => UNITS.to_string(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GI: f64 = 1073741824.0;

    /// Points as numbers: `None` for every point that is not a sample.
    fn typed(text: &str, ty: Option<&Type>) -> Vec<Option<f64>> {
        values(text, ty)
            .unwrap_or_else(|e| panic!("{text}: {e}"))
            .into_iter()
            .map(|p| match p {
                Point::Value(x) => Some(x),
                _ => None,
            })
            .collect()
    }

    fn v(text: &str) -> Vec<Option<f64>> {
        typed(text, None)
    }

    fn nums(xs: &[f64]) -> Vec<Option<f64>> {
        xs.iter().map(|x| Some(*x)).collect()
    }

    fn err(text: &str, ty: Option<&Type>) -> String {
        match values(text, ty) {
            Ok(v) => panic!("{text}: expected an error, got {v:?}"),
            Err(e) => {
                let help = e.help.map(|h| format!(" (help: {h})")).unwrap_or_default();
                format!(
                    "{text:?} [{}..{}]: {}{help}",
                    e.offset,
                    e.offset + e.len,
                    e.message
                )
            }
        }
    }

    #[test]
    fn promtool_documented_examples() {
        assert_eq!(v("-2+4x3"), nums(&[-2.0, 2.0, 6.0, 10.0]));
        assert_eq!(v(" 1-2x4"), nums(&[1.0, -1.0, -3.0, -5.0, -7.0]));
        assert_eq!(v(" 1x4"), nums(&[1.0; 5]));
        assert_eq!(v(" 1 _x3 stale"), vec![Some(1.0), None, None, None, None]);
        let points = values(" 1 _x3 stale", None).unwrap();
        assert_eq!(points[3], Point::Missing);
        assert_eq!(points[4], Point::Stale);
    }

    #[test]
    fn errors_are_steps_of_their_own() {
        use Point::{Error, Missing, Value};
        let p = |text: &str| values(text, None).unwrap();
        assert_eq!(p("1 error 2"), [Value(1.0), Error, Value(2.0)]);
        assert_eq!(p("errorx3"), [Error; 3]);
        assert_eq!(p("_x2 errorx1"), [Missing, Missing, Error]);
        assert!(values("errorx", None).is_err());
        assert!(values("errors", None).is_err());
    }

    /// The reads of promql/promqltest/testdata/staleness.test and
    /// selectors.test, at steps of one unit.
    #[test]
    fn reads_follow_lookback_and_staleness() {
        let read = |text: &str, lookback: u64| {
            let t = match text {
                "" => Timeline::default(),
                _ => Timeline::new(values(text, None).unwrap()),
            };
            (0..t.points().len() as u64 + lookback + 1)
                .map(|i| match t.read(i, lookback) {
                    Read::Value(v) => v.to_string(),
                    Read::NoData => "_".into(),
                    Read::Failed => "E".into(),
                })
                .collect::<Vec<_>>()
                .join(" ")
        };
        // A gap shorter than the lookback reads the last sample.
        assert_eq!(read("1 _ _ 2", 5), "1 1 1 2 2 2 2 2 _ _");
        // Left-open: the sample at t - lookback is out.
        assert_eq!(read("1 _x5 3", 3), "1 1 1 _ _ _ 3 3 3 _ _");
        // A staleness marker ends the series at once.
        assert_eq!(read("1 2 stale _ 4", 5), "1 2 _ _ 4 4 4 4 4 _ _");
        // An error is not a sample: the step fails, the next reads past it.
        assert_eq!(read("1 error _", 5), "1 E 1 1 1 _ _ _ _");
        assert_eq!(read("", 5), "_ _ _ _ _ _");
    }

    #[test]
    fn promtool_rule_file_examples() {
        assert_eq!(
            v("1+0x6 0 0"),
            nums(&[1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.0, 0.0])
        );
        assert_eq!(
            v("10+10x2 30+20x5"),
            nums(&[10.0, 20.0, 30.0, 30.0, 50.0, 70.0, 90.0, 110.0, 130.0])
        );
    }

    #[test]
    fn every_form() {
        assert_eq!(v("1x3"), nums(&[1.0; 4]));
        assert_eq!(v("1x0"), nums(&[1.0]));
        assert_eq!(v("_"), vec![None]);
        assert_eq!(v("_x3"), vec![None; 3]);
        assert_eq!(v("_x0 5"), nums(&[5.0]));
        assert_eq!(v("stale"), vec![None]);
        assert_eq!(v("5-1x2"), nums(&[5.0, 4.0, 3.0]));
        assert_eq!(v("+5 -5"), nums(&[5.0, -5.0]));
        assert_eq!(
            v("1.5 .5 5. 1e3 2E-1 1_000"),
            nums(&[1.5, 0.5, 5.0, 1000.0, 0.2, 1000.0])
        );
        assert_eq!(v("\t1\n2\r\n3  "), nums(&[1.0, 2.0, 3.0]));
        let inf = v("Inf -inf NaN");
        assert_eq!(inf[0], Some(f64::INFINITY));
        assert_eq!(inf[1], Some(f64::NEG_INFINITY));
        assert!(inf[2].is_some_and(f64::is_nan));
    }

    #[test]
    fn quantities_in_base_units() {
        let bytes = typed("40Gi+1Gix2", Some(&Type::Bytes));
        assert_eq!(bytes, nums(&[40.0 * GI, 41.0 * GI, 42.0 * GI]));
        assert_eq!(
            typed("1M 1k 1E", Some(&Type::Bytes)),
            nums(&[1e6, 1e3, 1e18])
        );
        assert_eq!(typed("50% 60", Some(&Type::Percent)), nums(&[50.0, 60.0]));
        assert_eq!(
            typed("20ms 1s+500msx1 2m", Some(&Type::Duration)),
            nums(&[0.02, 1.0, 1.5, 120.0])
        );
        assert_eq!(typed("10Mix1", Some(&Type::Bytes)), nums(&[10485760.0; 2]));
        // A raw series takes any unit to its base.
        assert_eq!(v("1Ki 1m 5%"), nums(&[1024.0, 60.0, 5.0]));
    }

    #[test]
    fn errors_point_at_bytes() {
        let cases = [
            err("", None),
            err("   ", None),
            err("1 2 x3", None),
            err("1+2", None),
            err("1+2x", None),
            err("1x", None),
            err("1x-3", None),
            err("1x3.5", None),
            err("_5", None),
            err("abc", None),
            err("1 foo", None),
            err("10GB", None),
            err("10Gi,11Gi", None),
            err("1,2", None),
            err("50%", Some(&Type::Bytes)),
            err("5Gi", Some(&Type::Percent)),
            err("1 2 5s", Some(&Type::Number)),
            err("1+1Gix3", Some(&Type::Duration)),
            err("1x99999999999999999999999", None),
            err("1x2000000", None),
            err("0x1F", None),
            err("stalex2", None),
            err("Stale", None),
            err("Infx3", None),
            err("1_", None),
            err("1__0", None),
            err("-", None),
        ];
        insta::assert_snapshot!(cases.join("\n"));
    }

    proptest::proptest! {
        /// Any text expands or is refused with an offset inside it.
        #[test]
        fn any_text_expands_or_points_inside(text in "[-+_x0-9.eEkKMGTPimshdw% a-z\u{e9}]{0,24}") {
            match values(&text, Some(&Type::Bytes)) {
                Ok(v) => proptest::prop_assert!(v.len() <= MAX_SAMPLES),
                Err(e) => {
                    proptest::prop_assert!(e.offset + e.len <= text.len());
                    proptest::prop_assert!(text.is_char_boundary(e.offset));
                }
            }
        }
    }
}
