//! Action arithmetic: small pure functions, tested exhaustively.
//!
//! DESIGN.md section 4: `current = max(status capacity, requested)`;
//! relative: `new = current + max(current × P, min_step)` or `current + Q`;
//! round **up** to `round`; clamp to `max`. If `new <= current` the action is
//! declined. A volume is never shrunk.

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

/// What a scale comes to for one workload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScalePlan {
    To {
        from: u32,
        to: u32,
    },
    /// Already at the bound (or the target); nothing to do.
    Declined {
        current: u32,
        bound: u32,
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
    if new == current {
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
