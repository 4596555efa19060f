//! Scalar values: times, durations, sizes, counts, booleans and choices,
//! each read from its text with a diagnostic at the value when it is wrong.

use std::collections::BTreeMap;

use super::yaml::{S, Scalar};
use super::{Loader, TextAt, codes};
use crate::diagnostic::did_you_mean;
use crate::engine::Time;
use crate::engine::object::Labels;
use crate::syntax::ast::{Dimension, Unit};

impl Loader<'_> {
    pub(super) fn text_at(&self, s: &S) -> TextAt {
        let span = self.sspan(s);
        let written = self.text.get(span.range()).unwrap_or("");
        let value = &s.value.0;
        let quoted = (written.starts_with('"') || written.starts_with('\''))
            && written.get(1..written.len().saturating_sub(1)) == Some(value.as_str());
        let base = if written == value {
            Some(span.start)
        } else if quoted {
            Some(span.start + 1)
        } else {
            None
        };
        TextAt { span, base }
    }

    pub(super) fn value_error(&mut self, s: &S, message: String, help: String) {
        let span = self.sspan(s);
        self.error(codes::VALUE, span, message);
        self.last("here", Some(help));
    }

    pub(super) fn timestamp(&mut self, s: &S) -> Option<Time> {
        const FIRST: &str = "1970-01-01T00:00:00Z";
        const LAST: &str = "9999-01-01T00:00:00Z";
        let text = s.value.0.trim();
        let in_range = |ts: &jiff::Timestamp| {
            FIRST.parse::<jiff::Timestamp>().is_ok_and(|f| *ts >= f)
                && LAST.parse::<jiff::Timestamp>().is_ok_and(|l| *ts < l)
        };
        // A well-formed time whose year is out of range parses with another year.
        let shaped = || {
            text.get(..4)
                .is_some_and(|y| y.bytes().all(|b| b.is_ascii_digit()))
                && text
                    .get(4..)
                    .is_some_and(|rest| format!("2000{rest}").parse::<jiff::Timestamp>().is_ok())
        };
        match text.parse::<jiff::Timestamp>() {
            Ok(ts) if in_range(&ts) => Some(ts.as_millisecond()),
            Ok(_) => {
                self.out_of_range(s, FIRST, LAST);
                None
            }
            Err(_) if shaped() => {
                self.out_of_range(s, FIRST, LAST);
                None
            }
            Err(_) => {
                self.value_error(
                    s,
                    format!("`start: {}` is not an RFC 3339 time", s.value.0),
                    "e.g. `start: 2026-01-01T00:00:00Z`".into(),
                );
                None
            }
        }
    }

    pub(super) fn out_of_range(&mut self, s: &S, first: &str, last: &str) {
        self.value_error(
            s,
            format!(
                "`start: {}` is outside the supported range of times",
                s.value.0
            ),
            format!("a scenario starts at or after {first} and before {last}"),
        );
    }

    pub(super) fn step(&mut self, s: &S) -> Option<Time> {
        let step = self.duration(s, "step")?;
        if step < 1000 || step % 1000 != 0 {
            self.value_error(
                s,
                format!("`step: {}` is not a whole number of seconds", s.value.0),
                "ticks are at least a second apart, e.g. `step: 30s`".into(),
            );
            return None;
        }
        Some(step)
    }

    /// A duration with a unit (`30s`, `5m`), or `0`; milliseconds.
    pub(super) fn duration(&mut self, s: &S, field: &str) -> Option<Time> {
        let text = s.value.0.trim();
        // `0` alone, or a duration as policies write it: `90s`, `1h30m`, `1h41m00s`.
        let secs = match quantity(text) {
            Some((0.0, None)) => Ok(0.0),
            _ => crate::ir::parse_duration(text),
        };
        match secs {
            Ok(v) => {
                let ms = (v * 1000.0).round();
                (ms < 1e15).then_some(ms as Time).or_else(|| {
                    self.value_error(s, format!("`{field}: {text}` is too long"), String::new());
                    None
                })
            }
            Err(e) => {
                self.value_error(
                    s,
                    format!("`{field}: {text}` is not a duration"),
                    e.text().into(),
                );
                None
            }
        }
    }

    /// A size (`100Gi`, `500M`, or a number of bytes).
    pub(super) fn bytes(&mut self, s: &S, field: &str) -> Option<u64> {
        let text = s.value.0.trim();
        match quantity(text) {
            Some((v, None)) if v >= 0.0 && v.fract() == 0.0 && v < 1.8e19 => Some(v as u64),
            Some((v, Some(u))) if u.dimension() == Dimension::Bytes && v >= 0.0 => {
                let b = (v * u.factor()).ceil();
                if b < 1.8e19 {
                    return Some(b as u64);
                }
                self.value_error(s, format!("`{field}: {text}` is too large"), String::new());
                None
            }
            _ => {
                self.value_error(
                    s,
                    format!("`{field}: {text}` is not a size"),
                    "e.g. `100Gi`, `500M`, or a whole number of bytes".into(),
                );
                None
            }
        }
    }

    pub(super) fn count(&mut self, s: &S, field: &str) -> Option<u32> {
        match s.value.0.trim().parse::<u32>() {
            Ok(n) => Some(n),
            Err(_) => {
                self.value_error(
                    s,
                    format!("`{field}: {}` is not a whole number", s.value.0),
                    "e.g. `3`".into(),
                );
                None
            }
        }
    }

    pub(super) fn boolean(&mut self, s: &S, field: &str) -> Option<bool> {
        match s.value.0.as_str() {
            "true" => Some(true),
            "false" => Some(false),
            other => {
                self.value_error(
                    s,
                    format!("`{field}: {other}` is not true or false"),
                    "`true` or `false`".into(),
                );
                None
            }
        }
    }

    pub(super) fn one_of(&mut self, s: &S, field: &str, options: &[&str]) -> Option<String> {
        let v = s.value.0.as_str();
        if options.contains(&v) {
            return Some(v.to_string());
        }
        let guess = options
            .iter()
            .find(|o| o.eq_ignore_ascii_case(v))
            .map(|o| format!("did you mean `{o}`?"))
            .or_else(|| did_you_mean(v, options.iter().copied()));
        let span = self.sspan(s);
        self.error(
            codes::VALUE,
            span,
            format!("`{field}: {v}` is not a {field}"),
        );
        self.last(
            format!("one of {}", options.join(", ")),
            guess.or_else(|| Some(format!("one of {}", options.join(", ")))),
        );
        None
    }
}

/// `100Gi` → (100, Gi); `30` → (30, None).
pub(crate) fn quantity(text: &str) -> Option<(f64, Option<Unit>)> {
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '_'))
        .unwrap_or(text.len());
    let (num, unit) = text.split_at(split);
    if !num.chars().any(|c| c.is_ascii_digit()) {
        return None;
    }
    let value = num.replace('_', "").parse::<f64>().ok()?;
    if unit.is_empty() {
        return Some((value, None));
    }
    Some((value, Some(Unit::from_suffix(unit)?)))
}

pub(super) fn labels(map: &BTreeMap<String, Scalar>) -> Labels {
    map.iter().map(|(k, v)| (k.clone(), v.0.clone())).collect()
}
