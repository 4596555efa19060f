//! Bounds on the work a scenario may ask for: object-policy evaluations of
//! a run, and the byte pairs "did you mean" may compare.

use super::{Loader, MAX_WORK, SUGGEST_BUDGET, Scenario, codes};
use crate::diagnostic::Diagnostic;
use crate::ir::Program;

impl Scenario {
    /// Ticks × objects × policies, bounded before a run starts.
    pub(super) fn work_bound(&self, program: &Program, out: &mut Vec<Diagnostic>) {
        let ticks = (self.duration / self.step.max(1)) as u64 + 1;
        let objects = self.objects.len() as u64;
        let policies = program.policies.len() as u64;
        // The world steps every object on every tick, so a run without
        // policies still costs a tick per object: count at least one.
        let work = ticks
            .saturating_mul(objects)
            .saturating_mul(policies.max(1));
        if work > MAX_WORK {
            let product = if policies == 0 {
                format!("{ticks} ticks × {objects} objects (and no policy) is {work} object-ticks")
            } else {
                format!(
                    "{ticks} ticks × {objects} objects × {policies} policies is {work} evaluations"
                )
            };
            out.push(
                Diagnostic::error(
                    codes::TOO_MUCH_WORK,
                    self.duration_span,
                    format!("{product}, more than the {MAX_WORK} a run may do"),
                )
                .label("this many ticks")
                .help(format!(
                    "a run is bounded to {MAX_WORK} object-policy-ticks (a few minutes): \
                     make `step` longer, `duration` shorter, or give fewer objects or policies"
                )),
            );
        }
    }
}

impl Loader<'_> {
    /// "Did you mean", within what is left of the scenario's budget of byte
    /// pairs compared; past it, a word that suggestions stopped.
    pub(super) fn suggest<'c>(
        &mut self,
        name: &str,
        candidates: impl IntoIterator<Item = &'c str>,
    ) -> Option<String> {
        let mut best: Option<(f64, &str)> = None;
        for c in candidates {
            let cost = (name.len().max(1) as u64).saturating_mul(c.len().max(1) as u64);
            if cost > self.suggest_left {
                self.suggest_left = 0;
                return Some(format!(
                    "no suggestion: this scenario's budget of {SUGGEST_BUDGET} bytes compared \
                     for \"did you mean\" is spent"
                ));
            }
            self.suggest_left -= cost;
            // As [`crate::diagnostic::closest`] chooses.
            let score = strsim::jaro_winkler(name, c);
            if (score >= 0.8 || c.starts_with(name) && !name.is_empty())
                && best.is_none_or(|(b, _)| score >= b)
            {
                best = Some((score, c));
            }
        }
        best.map(|(_, c)| format!("did you mean `{c}`?"))
    }
}
