//! The configuration file as YAML gives it: raw, spanned values before any
//! check, and YAML errors (syntax, unknown fields, wrong types) as diagnostics.

use std::fmt;
use std::marker::PhantomData;

use serde::Deserialize;
use serde::de::{self, MapAccess, Visitor};
use serde_saphyr::{MessageFormatter, Spanned};

use super::codes;
use crate::diagnostic::{Diagnostic, did_you_mean};
use crate::sim::scenario::{Scalar, budget_words, location_span};
use crate::source::{FileId, Span};

pub(super) type S = Spanned<Scalar>;

/// A YAML mapping in file order, keys spanned too (serde's maps need `Ord`
/// keys, and a wrong header name is best shown at the name).
pub(super) struct Pairs<V>(pub(super) Vec<(S, Spanned<V>)>);

impl<'de, V: Deserialize<'de>> Deserialize<'de> for Pairs<V> {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Pv<V>(PhantomData<V>);
        impl<'de, V: Deserialize<'de>> Visitor<'de> for Pv<V> {
            type Value = Pairs<V>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a mapping")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Pairs<V>, A::Error> {
                let mut out = Vec::new();
                while let Some(entry) = map.next_entry()? {
                    out.push(entry);
                }
                Ok(Pairs(out))
            }
        }
        d.deserialize_map(Pv(PhantomData))
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawConfig {
    pub(super) prometheus: Option<Spanned<RawPrometheus>>,
    pub(super) notify: Option<Spanned<Pairs<RawReceiver>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPrometheus {
    pub(super) url: Option<S>,
    pub(super) timeout: Option<S>,
    pub(super) bearer_token_file: Option<S>,
    pub(super) basic_auth: Option<Spanned<RawBasicAuth>>,
    pub(super) ca_file: Option<S>,
    pub(super) insecure_skip_verify: Option<S>,
    pub(super) headers: Option<Pairs<Scalar>>,
    pub(super) matchers: Option<Vec<S>>,
    pub(super) max_in_flight: Option<S>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawBasicAuth {
    pub(super) username: Option<S>,
    pub(super) password_file: Option<S>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawReceiver {
    pub(super) url: Option<S>,
    pub(super) format: Option<S>,
    pub(super) headers: Option<Pairs<Scalar>>,
}

/// A YAML error as a diagnostic: unknown fields with "did you mean", wrong
/// types and syntax errors with serde-saphyr's words.
pub(super) fn yaml_error(file: FileId, text: &str, e: &serde_saphyr::Error) -> Diagnostic {
    let span = e
        .location()
        .map_or(Span::new(file, 0, 0), |l| location_span(file, text, &l));
    match e.without_snippet() {
        serde_saphyr::Error::SerdeUnknownField {
            field, expected, ..
        } => {
            let fields = format!("the fields here: {}", expected.join(", "));
            let help = match did_you_mean(field, expected.iter().copied()) {
                Some(guess) => format!("{guess} ({fields})"),
                None => fields,
            };
            Diagnostic::error(codes::FIELD, span, format!("unknown field `{field}`"))
                .label("not a field here")
                .help(help)
        }
        serde_saphyr::Error::SerdeInvalidType { .. } => Diagnostic::error(
            codes::VALUE,
            span,
            serde_saphyr::DefaultMessageFormatter
                .format_message(e.without_snippet())
                .into_owned(),
        )
        .label("here")
        .help("docs/config.md shows each field with an example"),
        serde_saphyr::Error::Unexpected { expected, .. } => {
            let want = match *expected {
                "mapping start" => "a mapping (`key: value` lines, or `{key: value}`)",
                "sequence start" => "a list (`- item` lines, or `[a, b]`)",
                "string scalar" => "a single value, not a list or a mapping",
                other => other,
            };
            let top = span.start == 0 && *expected == "mapping start";
            Diagnostic::error(codes::VALUE, span, format!("expected {want} here"))
                .label("here")
                .help(if top {
                    "the file is a mapping with `prometheus:` and `notify:`: \
                     docs/config.md shows a complete example"
                } else {
                    "docs/config.md shows each field with an example"
                })
        }
        serde_saphyr::Error::Budget { breach, .. } => {
            Diagnostic::error(codes::YAML, span, budget_words(breach))
                .label("here")
                .help("a configuration file is a few lines: write it out without aliases")
        }
        other => Diagnostic::error(
            codes::YAML,
            span,
            serde_saphyr::DefaultMessageFormatter
                .format_message(other)
                .into_owned(),
        )
        .label("here")
        .help("the file is YAML: docs/config.md shows a complete example"),
    }
}
