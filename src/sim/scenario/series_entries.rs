//! `series:` entries: a binding's values for an object, or a raw
//! Prometheus series, with the budget of samples they share.

use std::collections::{BTreeMap, BTreeSet};

use serde_saphyr::Spanned;

use super::yaml::RawSeries;
use super::{Loader, MAX_TOTAL_SAMPLES, SeriesSpec, SeriesTarget, codes};
use crate::diagnostic::Diagnostic;
use crate::engine::ObjectId;
use crate::ir::Kind;
use crate::sim::series;
use crate::source::Span;

impl Loader<'_> {
    pub(super) fn series(
        &mut self,
        index: usize,
        s: &Spanned<RawSeries>,
        ids: &BTreeSet<ObjectId>,
        bound: &mut BTreeMap<(String, ObjectId), Span>,
    ) -> Option<SeriesSpec> {
        let span = self.sspan(s);
        let raw = &s.value;
        let what = format!("series entry {index}");
        let values = self.required(raw.values.as_ref(), "values", span, &what)?;
        let values_at = self.text_at(values);
        let parsed = match series::parse(&values.value.0) {
            Ok(p) if self.samples.saturating_add(p.len()) > MAX_TOTAL_SAMPLES => {
                let before = self.samples;
                self.samples = u64::MAX;
                if before != u64::MAX {
                    self.error(
                        codes::TOO_MANY_SAMPLES,
                        values_at.span,
                        format!(
                            "{what} brings the scenario past {MAX_TOTAL_SAMPLES} samples in all \
                             (it has {} samples, after {before} before it)",
                            p.len()
                        ),
                    );
                    self.last(
                        "too many samples",
                        Some(format!(
                            "the series of a scenario hold at most {MAX_TOTAL_SAMPLES} samples \
                             together: make `step` longer or the series shorter"
                        )),
                    );
                }
                None
            }
            Ok(p) => {
                self.samples += p.len();
                Some(p)
            }
            Err(e) => {
                self.diags
                    .push(values_at.series_error(&e, format!("{what}, values")));
                None
            }
        };
        let target = match (&raw.metric, &raw.object, &raw.series) {
            (Some(m), Some(o), None) => {
                let metric = m.value.0.clone();
                let metric_span = self.sspan(m);
                let object = self.object_ref(o, ids)?;
                match metric.split_once('.') {
                    Some((kind, _)) if Kind::from_name(kind).is_some() => {
                        if kind != object.kind.name() {
                            self.error(
                                codes::VALUE,
                                self.sspan(o),
                                format!(
                                    "`{metric}` is a metric of {kind} objects, but `{object}` is a {}",
                                    object.kind
                                ),
                            );
                            self.last(format!("not a {kind}"), None);
                            return None;
                        }
                    }
                    _ => {
                        self.error(
                            codes::VALUE,
                            metric_span,
                            format!("`{metric}` is not a metric binding name"),
                        );
                        self.last(
                            "not KIND.NAME",
                            Some("a binding is named KIND.NAME, e.g. `pvc.usage`".into()),
                        );
                        return None;
                    }
                }
                let key = (metric.clone(), object.clone());
                if let Some(first) = bound.get(&key) {
                    self.diags.push(
                        Diagnostic::error(
                            codes::DUPLICATE,
                            span,
                            format!("{what}: `{metric}` of `{object}` already has values"),
                        )
                        .label("again")
                        .also(*first, "first given here"),
                    );
                    return None;
                }
                bound.insert(key, span);
                SeriesTarget::Binding {
                    metric,
                    metric_span,
                    object,
                }
            }
            (None, None, Some(sel)) => SeriesTarget::Raw {
                selector: sel.value.0.clone(),
                span: self.sspan(sel),
            },
            (m, o, sel) => {
                let message = match (m, o, sel) {
                    (Some(_), None, None) => format!("{what} has `metric` but no `object`"),
                    (None, Some(_), None) => format!("{what} has `object` but no `metric`"),
                    (None, None, None) => format!("{what} has neither `metric` nor `series`"),
                    _ => format!("{what} has both `metric`/`object` and `series`"),
                };
                self.error(codes::FIELD, span, message);
                self.last(
                    "",
                    Some(
                        "give a binding's values (`metric: pvc.usage`, `object: pvc/db/pg-data`) \
                         or a raw series (`series: 'metric{label=\"value\"}'`)"
                            .into(),
                    ),
                );
                return None;
            }
        };
        Some(SeriesSpec {
            index,
            span,
            target,
            values: parsed?,
            values_at,
        })
    }
}
