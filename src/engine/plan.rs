//! Action arithmetic: small pure functions, tested exhaustively.
//!
//! docs/semantics.md section 7: `current = max(status capacity, requested)`;
//! relative: `new = current + max(current × P, min_step)` or `current + Q`;
//! round **up** to `round`; clamp to `max`. If `new <= current` the action is
//! declined. A volume is never shrunk.
//!
//! [`resize_blocker`] is the one answer to "may this PVC be resized now?": the
//! engine asks it before planning, the simulated world and the cluster's
//! executor ask it again before writing.

use std::fmt;

use super::object::Fields;
use crate::ir::{Resize, ResizeStep, Scale, ScaleStep};

/// What a resize comes to for one volume.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResizePlan {
    /// Raise the request from `from` to `to` bytes (`to > from`).
    Grow { from: u64, to: u64 },
    /// Nothing to do: the volume is already at `max` (or at the `to =` size).
    Declined { current: u64, limit: u64 },
}

/// The current size of a volume: the larger of its status capacity and its
/// request, so that a resize in flight is never planned twice.
pub fn current_size(capacity: Option<u64>, requested: Option<u64>) -> u64 {
    capacity.unwrap_or(0).max(requested.unwrap_or(0))
}

/// Plans a resize of a volume whose current size is `current` bytes.
pub fn resize(current: u64, r: &Resize) -> ResizePlan {
    let cur = current as u128;
    let wanted: u128 = match r.step {
        ResizeStep::Fraction(f) => {
            let by = (cur as f64 * f).ceil() as u128;
            cur + by.max(r.min_step.unwrap_or(0) as u128)
        }
        ResizeStep::Bytes(q) => cur + (q as u128).max(r.min_step.unwrap_or(0) as u128),
        ResizeStep::To(q) => q as u128,
    };
    let round = r.round.max(1) as u128;
    let rounded = wanted.div_ceil(round) * round;
    let limit = match (r.max, r.step.clone()) {
        (Some(max), _) => max as u128,
        (None, ResizeStep::To(q)) => (q as u128).div_ceil(round) * round,
        (None, _) => u64::MAX as u128,
    };
    let new = rounded.min(limit).min(u64::MAX as u128) as u64;
    if new <= current {
        ResizePlan::Declined {
            current,
            limit: limit.min(u64::MAX as u128) as u64,
        }
    } else {
        ResizePlan::Grow {
            from: current,
            to: new,
        }
    }
}

/// What decides whether a PVC may be resized now, however it was read: from
/// the engine's [`Fields`], the simulated world, or a claim and its StorageClass.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PvcFacts<'a> {
    /// `status.phase`; `None` before the server has set it.
    pub phase: Option<&'a str>,
    /// The claim's StorageClass name; `None` when it has none.
    pub storage_class: Option<&'a str>,
    /// The class's `allowVolumeExpansion`; `None` when the class is not known.
    pub allow_expansion: Option<bool>,
    /// An earlier resize has not finished.
    pub resizing: bool,
    /// How the unfinished resize shows (a condition, a status), when known.
    pub resize_detail: Option<&'a str>,
    /// `status.capacity` or the request is known.
    pub size_known: bool,
}

impl<'a> PvcFacts<'a> {
    /// The facts as the engine reads them from an object.
    pub fn of(f: &'a Fields) -> PvcFacts<'a> {
        PvcFacts {
            phase: f.phase.as_deref(),
            storage_class: f.storage_class.as_deref(),
            allow_expansion: f.expandable,
            resizing: f.resizing,
            resize_detail: None,
            size_known: f.capacity.is_some() || f.requested.is_some(),
        }
    }
}

/// Why a PVC may not be resized now. A resize it blocks is `skipped`: each
/// may pass (the claim binds, the class is created, the resize finishes).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Blocker {
    /// The API server accepts a new request only for a Bound claim (422).
    NotBound { phase: Option<String> },
    /// No class, so nothing allows expansion (the admission plugin refuses, 403).
    NoStorageClass,
    /// The class is not known. The API server refuses expansion unless the
    /// class allows it, so a class it cannot find allows nothing.
    ClassNotFound { class: String },
    /// The class does not set `allowVolumeExpansion: true` (403).
    ExpansionNotAllowed { class: String },
    /// An earlier resize has not finished: a second would stack on it.
    ResizeInProgress { detail: Option<String> },
    /// Neither the capacity nor the request is known: nothing to grow from.
    SizeUnknown,
}

impl Blocker {
    /// A stable name, for tests and machine-readable output.
    pub fn name(&self) -> &'static str {
        match self {
            Blocker::NotBound { .. } => "not_bound",
            Blocker::NoStorageClass => "no_storage_class",
            Blocker::ClassNotFound { .. } => "storage_class_not_found",
            Blocker::ExpansionNotAllowed { .. } => "expansion_not_allowed",
            Blocker::ResizeInProgress { .. } => "resize_in_progress",
            Blocker::SizeUnknown => "size_unknown",
        }
    }

    /// The one wording, shown by `simulate`, `test`, the REPL and in Events.
    pub fn text(&self) -> String {
        match self {
            Blocker::NotBound { phase: Some(phase) } => {
                format!("the PVC is not Bound (phase {phase})")
            }
            Blocker::NotBound { phase: None } => {
                "the PVC is not Bound (it has no phase yet)".into()
            }
            Blocker::NoStorageClass => {
                "the PVC has no StorageClass, so nothing allows its expansion".into()
            }
            Blocker::ClassNotFound { class } => format!("StorageClass `{class}` not found"),
            Blocker::ExpansionNotAllowed { class } => {
                format!("StorageClass `{class}` does not allow volume expansion")
            }
            Blocker::ResizeInProgress { detail: None } => "a resize is still in progress".into(),
            Blocker::ResizeInProgress {
                detail: Some(detail),
            } => format!("a resize is still in progress ({detail})"),
            Blocker::SizeUnknown => "the PVC's size is unknown".into(),
        }
    }
}

impl fmt::Display for Blocker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text())
    }
}

/// Why the PVC `facts` describe may not be resized now, if it may not.
///
/// In the order the API server and the resizer would refuse: the phase, the
/// class, an unfinished resize, then our own need of a size. A class the
/// reader knows to allow expansion is enough, even without its name.
pub fn resize_blocker(facts: &PvcFacts) -> Option<Blocker> {
    if facts.phase != Some("Bound") {
        return Some(Blocker::NotBound {
            phase: facts.phase.map(String::from),
        });
    }
    match (facts.storage_class, facts.allow_expansion) {
        (_, Some(true)) => {}
        (None, _) => return Some(Blocker::NoStorageClass),
        (Some(class), None) => {
            return Some(Blocker::ClassNotFound {
                class: class.into(),
            });
        }
        (Some(class), Some(false)) => {
            return Some(Blocker::ExpansionNotAllowed {
                class: class.into(),
            });
        }
    }
    if facts.resizing {
        return Some(Blocker::ResizeInProgress {
            detail: facts.resize_detail.map(String::from),
        });
    }
    if !facts.size_known {
        return Some(Blocker::SizeUnknown);
    }
    None
}

/// What a scale comes to for one workload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScalePlan {
    To {
        from: u32,
        to: u32,
    },
    /// `min` or `max` holds it where it is: declined, said once.
    Declined {
        current: u32,
        bound: u32,
    },
    /// The plan is the current count (`scale(to = N)` at N): not an action.
    Unchanged {
        current: u32,
    },
}

/// Plans a scale of a workload that has `current` replicas.
pub fn scale(current: u32, s: &Scale) -> ScalePlan {
    let wanted: i64 = match s.step {
        ScaleStep::By(n) => current as i64 + n,
        ScaleStep::To(n) => n as i64,
    };
    let lo = s.min.unwrap_or(0) as i64;
    let hi = s.max.map_or(i64::from(u32::MAX), i64::from);
    let new = wanted.clamp(lo, hi.max(lo)) as u32;
    if wanted == i64::from(current) {
        ScalePlan::Unchanged { current }
    } else if new == current {
        ScalePlan::Declined {
            current,
            bound: new,
        }
    } else {
        ScalePlan::To {
            from: current,
            to: new,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const GI: u64 = 1 << 30;

    fn rel(pct: f64, max: u64) -> Resize {
        Resize {
            step: ResizeStep::Fraction(pct / 100.0),
            max: Some(max),
            min_step: None,
            round: GI,
        }
    }

    #[test]
    fn design_examples() {
        let r = rel(100.0, 400 * GI);
        assert_eq!(
            resize(100 * GI, &r),
            ResizePlan::Grow {
                from: 100 * GI,
                to: 200 * GI
            }
        );
        assert_eq!(
            resize(300 * GI, &r),
            ResizePlan::Grow {
                from: 300 * GI,
                to: 400 * GI
            }
        );
        assert_eq!(
            resize(400 * GI, &r),
            ResizePlan::Declined {
                current: 400 * GI,
                limit: 400 * GI
            }
        );
        assert_eq!(
            resize(7 * GI, &rel(50.0, 100 * GI)),
            ResizePlan::Grow {
                from: 7 * GI,
                to: 11 * GI
            }
        );
    }

    #[test]
    fn table() {
        struct Case {
            current: u64,
            step: ResizeStep,
            max: Option<u64>,
            min_step: Option<u64>,
            round: u64,
            want: Option<u64>,
        }
        let cases = [
            // min_step wins over a small percentage.
            Case {
                current: 10 * GI,
                step: ResizeStep::Fraction(0.1),
                max: Some(100 * GI),
                min_step: Some(10 * GI),
                round: GI,
                want: Some(20 * GI),
            },
            // a percentage wins over a small min_step.
            Case {
                current: 100 * GI,
                step: ResizeStep::Fraction(0.5),
                max: Some(1000 * GI),
                min_step: Some(10 * GI),
                round: GI,
                want: Some(150 * GI),
            },
            // absolute step.
            Case {
                current: 10 * GI,
                step: ResizeStep::Bytes(5 * GI),
                max: Some(100 * GI),
                min_step: None,
                round: GI,
                want: Some(15 * GI),
            },
            // rounding up to 10Gi.
            Case {
                current: 10 * GI,
                step: ResizeStep::Bytes(GI),
                max: Some(100 * GI),
                min_step: None,
                round: 10 * GI,
                want: Some(20 * GI),
            },
            // odd current sizes round up, not down.
            Case {
                current: 1_000_000_000,
                step: ResizeStep::Fraction(0.1),
                max: Some(100 * GI),
                min_step: None,
                round: GI,
                want: Some(2 * GI),
            },
            // a max that is not a round number is reached exactly.
            Case {
                current: 90 * GI,
                step: ResizeStep::Fraction(0.5),
                max: Some(100 * GI + 1),
                min_step: None,
                round: GI,
                want: Some(100 * GI + 1),
            },
            // above max already (grown by hand): declined, never shrunk.
            Case {
                current: 500 * GI,
                step: ResizeStep::Fraction(0.5),
                max: Some(400 * GI),
                min_step: None,
                round: GI,
                want: None,
            },
            // to = a size.
            Case {
                current: 10 * GI,
                step: ResizeStep::To(50 * GI),
                max: None,
                min_step: None,
                round: GI,
                want: Some(50 * GI),
            },
            // to = a smaller size: declined.
            Case {
                current: 60 * GI,
                step: ResizeStep::To(50 * GI),
                max: None,
                min_step: None,
                round: GI,
                want: None,
            },
            // to = the same size: declined.
            Case {
                current: 50 * GI,
                step: ResizeStep::To(50 * GI),
                max: None,
                min_step: None,
                round: GI,
                want: None,
            },
            // an empty (unprovisioned) volume grows by min_step, not by 0.
            Case {
                current: 0,
                step: ResizeStep::Fraction(1.0),
                max: Some(10 * GI),
                min_step: Some(GI),
                round: GI,
                want: Some(GI),
            },
        ];
        for (i, c) in cases.iter().enumerate() {
            let r = Resize {
                step: c.step.clone(),
                max: c.max,
                min_step: c.min_step,
                round: c.round,
            };
            let got = match resize(c.current, &r) {
                ResizePlan::Grow { from, to } => {
                    assert_eq!(from, c.current, "case {i}");
                    Some(to)
                }
                ResizePlan::Declined { .. } => None,
            };
            assert_eq!(got, c.want, "case {i}");
        }
    }

    #[test]
    fn scale_table() {
        let s = |step, min, max| Scale { step, min, max };
        assert_eq!(
            scale(3, &s(ScaleStep::By(1), None, Some(9))),
            ScalePlan::To { from: 3, to: 4 }
        );
        assert_eq!(
            scale(9, &s(ScaleStep::By(1), None, Some(9))),
            ScalePlan::Declined {
                current: 9,
                bound: 9
            }
        );
        assert_eq!(
            scale(2, &s(ScaleStep::By(-3), Some(1), None)),
            ScalePlan::To { from: 2, to: 1 }
        );
        assert_eq!(
            scale(1, &s(ScaleStep::By(-1), Some(1), None)),
            ScalePlan::Declined {
                current: 1,
                bound: 1
            }
        );
        assert_eq!(
            scale(0, &s(ScaleStep::By(-1), None, None)),
            ScalePlan::Declined {
                current: 0,
                bound: 0
            }
        );
        assert_eq!(
            scale(5, &s(ScaleStep::To(3), None, None)),
            ScalePlan::To { from: 5, to: 3 }
        );
        // The plan is where it is: not an action, and not a decline.
        assert_eq!(
            scale(3, &s(ScaleStep::To(3), Some(1), Some(10))),
            ScalePlan::Unchanged { current: 3 }
        );
        assert_eq!(
            scale(3, &s(ScaleStep::By(0), None, None)),
            ScalePlan::Unchanged { current: 3 }
        );
        // Held by `max` while the target is past it: declined.
        assert_eq!(
            scale(10, &s(ScaleStep::To(15), None, Some(10))),
            ScalePlan::Declined {
                current: 10,
                bound: 10
            }
        );
        assert_eq!(
            scale(5, &s(ScaleStep::To(20), None, Some(10))),
            ScalePlan::To { from: 5, to: 10 }
        );
        // Above max already: brought down to max.
        assert_eq!(
            scale(12, &s(ScaleStep::By(1), None, Some(10))),
            ScalePlan::To { from: 12, to: 10 }
        );
    }

    #[test]
    fn blockers_table() {
        let ok = PvcFacts {
            phase: Some("Bound"),
            storage_class: Some("fast"),
            allow_expansion: Some(true),
            resizing: false,
            resize_detail: None,
            size_known: true,
        };
        let cases: Vec<(PvcFacts, Option<&str>, &str)> = vec![
            (ok, None, ""),
            (
                PvcFacts {
                    phase: Some("Pending"),
                    ..ok
                },
                Some("not_bound"),
                "the PVC is not Bound (phase Pending)",
            ),
            (
                PvcFacts { phase: None, ..ok },
                Some("not_bound"),
                "the PVC is not Bound (it has no phase yet)",
            ),
            // Not Bound is said first, whatever else is wrong.
            (
                PvcFacts {
                    phase: Some("Lost"),
                    allow_expansion: Some(false),
                    resizing: true,
                    ..ok
                },
                Some("not_bound"),
                "the PVC is not Bound (phase Lost)",
            ),
            (
                PvcFacts {
                    storage_class: None,
                    allow_expansion: None,
                    ..ok
                },
                Some("no_storage_class"),
                "the PVC has no StorageClass, so nothing allows its expansion",
            ),
            // The API server refuses unless the class allows it: unknown allows nothing.
            (
                PvcFacts {
                    allow_expansion: None,
                    ..ok
                },
                Some("storage_class_not_found"),
                "StorageClass `fast` not found",
            ),
            (
                PvcFacts {
                    allow_expansion: Some(false),
                    ..ok
                },
                Some("expansion_not_allowed"),
                "StorageClass `fast` does not allow volume expansion",
            ),
            // A reader that knows the class allows it need not name it.
            (
                PvcFacts {
                    storage_class: None,
                    ..ok
                },
                None,
                "",
            ),
            (
                PvcFacts {
                    resizing: true,
                    ..ok
                },
                Some("resize_in_progress"),
                "a resize is still in progress",
            ),
            (
                PvcFacts {
                    resizing: true,
                    resize_detail: Some("condition Resizing"),
                    ..ok
                },
                Some("resize_in_progress"),
                "a resize is still in progress (condition Resizing)",
            ),
            // A class refusal comes before an unfinished resize.
            (
                PvcFacts {
                    allow_expansion: Some(false),
                    resizing: true,
                    ..ok
                },
                Some("expansion_not_allowed"),
                "StorageClass `fast` does not allow volume expansion",
            ),
            (
                PvcFacts {
                    size_known: false,
                    ..ok
                },
                Some("size_unknown"),
                "the PVC's size is unknown",
            ),
        ];
        for (i, (facts, name, text)) in cases.iter().enumerate() {
            let got = resize_blocker(facts);
            assert_eq!(got.as_ref().map(Blocker::name), *name, "case {i}");
            assert_eq!(got.map(|b| b.text()).unwrap_or_default(), *text, "case {i}");
        }
    }

    #[test]
    fn facts_of_engine_fields() {
        let f = Fields {
            phase: Some("Bound".into()),
            storage_class: Some("fast".into()),
            expandable: None,
            requested: Some(GI),
            ..Fields::default()
        };
        assert_eq!(
            resize_blocker(&PvcFacts::of(&f)),
            Some(Blocker::ClassNotFound {
                class: "fast".into()
            })
        );
        let f = Fields {
            expandable: Some(true),
            resizing: true,
            ..f
        };
        assert_eq!(
            resize_blocker(&PvcFacts::of(&f)),
            Some(Blocker::ResizeInProgress { detail: None })
        );
        let f = Fields {
            resizing: false,
            requested: None,
            ..f
        };
        assert_eq!(
            resize_blocker(&PvcFacts::of(&f)),
            Some(Blocker::SizeUnknown)
        );
    }

    fn any_resize() -> impl Strategy<Value = Resize> {
        let step = prop_oneof![
            (1u32..=1000).prop_map(|p| ResizeStep::Fraction(p as f64 / 100.0)),
            (1u64..=1 << 45).prop_map(ResizeStep::Bytes),
            (1u64..=1 << 45).prop_map(ResizeStep::To),
        ];
        (
            step,
            proptest::option::of(1u64..=1 << 46),
            proptest::option::of(0u64..=1 << 40),
            1u64..=1 << 34,
        )
            .prop_map(|(step, max, min_step, round)| Resize {
                step,
                max,
                min_step,
                round,
            })
    }

    proptest! {
        /// Never shrink; never exceed max; always grow when growing.
        #[test]
        fn resize_invariants(current in 0u64..=1 << 47, r in any_resize()) {
            match resize(current, &r) {
                ResizePlan::Grow { from, to } => {
                    prop_assert_eq!(from, current);
                    prop_assert!(to > current, "never shrinks");
                    if let Some(max) = r.max {
                        prop_assert!(to <= max, "never exceeds max");
                    }
                }
                ResizePlan::Declined { current: c, .. } => prop_assert_eq!(c, current),
            }
        }

        #[test]
        fn scale_invariants(current in 0u32..1000, by in -50i64..50, min in proptest::option::of(0u32..20), max in proptest::option::of(0u32..2000)) {
            let s = Scale { step: ScaleStep::By(by), min, max };
            if let ScalePlan::To { to, .. } = scale(current, &s) {
                prop_assert!(to != current);
                if let (Some(hi), Some(lo)) = (max, min) && lo <= hi {
                    prop_assert!(to <= hi && to >= lo);
                }
            }
        }
    }
}
