//! The scenario file as YAML gives it: raw, spanned values before any check,
//! and YAML errors (syntax, budget breaches) as diagnostics.

use std::collections::BTreeMap;
use std::fmt;

use serde::Deserialize;
use serde::de::{self, Visitor};
use serde_saphyr::{MessageFormatter, Spanned};

use super::codes;
use crate::diagnostic::Diagnostic;
use crate::source::{FileId, Span};

// ---------------------------------------------------------------- raw YAML

/// Any YAML scalar, as its text exactly as written: `100Gi`, `30`, `2.10`,
/// `n` (a name here, not YAML 1.1's false).
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Scalar(pub(crate) String);

impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Scalar, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Scalar;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a number, a string or a boolean")
            }
            fn visit_str<E>(self, v: &str) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_string<E>(self, v: String) -> Result<Scalar, E> {
                Ok(Scalar(v))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_f64<E>(self, v: f64) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_bool<E>(self, v: bool) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
        }
        d.deserialize_string(V)
    }
}

pub(super) type S = Spanned<Scalar>;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawScenario {
    pub(super) start: Option<S>,
    pub(super) step: Option<S>,
    pub(super) duration: Option<S>,
    pub(super) resize_delay: Option<S>,
    pub(super) lookback: Option<S>,
    #[serde(default)]
    pub(super) objects: Vec<Spanned<RawObject>>,
    #[serde(default)]
    pub(super) namespaces: Vec<Spanned<RawNamespace>>,
    #[serde(default)]
    pub(super) series: Vec<Spanned<RawSeries>>,
    #[serde(default)]
    pub(super) approvals: Vec<Spanned<RawApproval>>,
    #[serde(default)]
    pub(super) restarts: Vec<S>,
    #[serde(default)]
    pub(super) changes: Vec<Spanned<RawChange>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawObject {
    pub(super) kind: Option<S>,
    pub(super) name: Option<S>,
    pub(super) namespace: Option<S>,
    #[serde(default)]
    pub(super) labels: BTreeMap<String, Scalar>,
    #[serde(default)]
    pub(super) annotations: BTreeMap<String, Scalar>,
    pub(super) age: Option<S>,
    // pvc
    pub(super) storage_class: Option<S>,
    pub(super) capacity: Option<S>,
    pub(super) requested: Option<S>,
    pub(super) volume_attributes_class: Option<S>,
    pub(super) resize_delay: Option<S>,
    pub(super) access_modes: Option<Vec<S>>,
    pub(super) volume_mode: Option<S>,
    // pvc, pod
    pub(super) phase: Option<S>,
    // pod
    pub(super) node: Option<S>,
    pub(super) owner: Option<S>,
    // deployment, statefulset
    pub(super) replicas: Option<S>,
    pub(super) ready_replicas: Option<S>,
    pub(super) available_replicas: Option<S>,
    pub(super) updated_replicas: Option<S>,
    // node
    pub(super) ready: Option<S>,
    pub(super) unschedulable: Option<S>,
    // storageclass
    pub(super) allow_volume_expansion: Option<S>,
    pub(super) provisioner: Option<S>,
}

/// One `changes:` entry: `{at, object, set: {…}}`, `{at, create: {…}}` or
/// `{at, delete: ID}`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawChange {
    pub(super) at: Option<S>,
    pub(super) object: Option<S>,
    pub(super) set: Option<Spanned<RawObject>>,
    pub(super) create: Option<Spanned<RawObject>>,
    pub(super) delete: Option<S>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawNamespace {
    pub(super) name: Option<S>,
    #[serde(default)]
    pub(super) labels: BTreeMap<String, Scalar>,
    #[serde(default)]
    pub(super) annotations: BTreeMap<String, Scalar>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSeries {
    pub(super) metric: Option<S>,
    pub(super) object: Option<S>,
    pub(super) series: Option<S>,
    pub(super) values: Option<S>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawApproval {
    pub(super) at: Option<S>,
    pub(super) policy: Option<S>,
    pub(super) object: Option<S>,
    pub(super) decision: Option<S>,
}

pub(super) fn yaml_error(file: FileId, text: &str, e: &serde_saphyr::Error) -> Diagnostic {
    let message = match e.without_snippet() {
        serde_saphyr::Error::Budget { breach, .. } => budget_words(breach),
        other => serde_saphyr::DefaultMessageFormatter
            .format_message(other)
            .into_owned(),
    };
    let span = e
        .location()
        .map_or(Span::new(file, 0, 0), |l| location_span(file, text, &l));
    let d = Diagnostic::error(codes::YAML, span, message).label("here");
    match e.without_snippet() {
        serde_saphyr::Error::Budget { .. } => d.help(
            "a scenario is read within limits that keep hostile YAML cheap: \
             write the entries out instead of repeating them through aliases, or split the file",
        ),
        _ => d,
    }
}

/// A YAML budget breach in words (the library's own text is its debug form).
pub(crate) fn budget_words(breach: &serde_saphyr::budget::BudgetBreach) -> String {
    use serde_saphyr::budget::BudgetBreach as B;
    let what = match breach {
        B::Events { events } => format!("{events} parser events"),
        B::Aliases { aliases } => format!("{aliases} aliases (`*name`)"),
        B::Anchors { anchors } => format!("{anchors} anchors (`&name`)"),
        B::Depth { depth } => format!("nesting {depth} deep"),
        B::InclusionDepth { depth } => format!("includes nested {depth} deep"),
        B::Documents { documents } => format!("{documents} documents"),
        B::Nodes { nodes } => format!("{nodes} nodes"),
        B::ScalarBytes { total_scalar_bytes } => {
            format!("{total_scalar_bytes} bytes of scalar values")
        }
        B::MergeKeys { merge_keys } => format!("{merge_keys} merge keys (`<<`)"),
        B::AliasAnchorRatio { aliases, anchors } => format!(
            "{aliases} aliases for {anchors} anchor(s), which would expand the document many times over"
        ),
        B::SequenceUnbalanced => {
            return "the YAML structure is unbalanced (a closing bracket without an opening one)"
                .into();
        }
        B::InputBytes { input_bytes } => format!("{input_bytes} bytes of input"),
        _ => return "the YAML is too large or too deeply nested to read safely".into(),
    };
    format!("the YAML is over a safety limit: {what}")
}

/// A byte span from a serde-saphyr location (line and column when the
/// byte offset is not known).
pub(crate) fn location_span(file: FileId, text: &str, l: &serde_saphyr::Location) -> Span {
    let span = l.span();
    if let Some(start) = span.byte_offset() {
        let start = (start as usize).min(text.len());
        let len = span.byte_len().unwrap_or(0) as usize;
        return Span::new(file, start, (start + len).min(text.len()));
    }
    if l.line() == 0 {
        return Span::new(file, 0, 0);
    }
    let line_start: usize = text
        .split_inclusive('\n')
        .take(l.line() as usize - 1)
        .map(str::len)
        .sum();
    let col: usize = text[line_start..]
        .chars()
        .take(l.column().saturating_sub(1) as usize)
        .map(char::len_utf8)
        .sum();
    let start = (line_start + col).min(text.len());
    Span::new(file, start, start)
}
