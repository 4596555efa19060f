//! `approvals:` entries, and the policies they (and test blocks) name.

use std::collections::BTreeSet;

use serde_saphyr::Spanned;

use super::yaml::RawApproval;
use super::{ApprovalSpec, Loader, Scenario, codes};
use crate::diagnostic::{Diagnostic, did_you_mean};
use crate::engine::{Approval, Decision, ObjectId, Time};
use crate::ir::Program;

/// `a/./b` and `./a` as `a/b` and `a`: the same file, however it is typed.
fn normalise(path: &str) -> String {
    let mut s = path;
    while let Some(rest) = s.strip_prefix("./") {
        s = rest;
    }
    let mut out = s.to_string();
    while out.contains("/./") {
        out = out.replace("/./", "/");
    }
    out
}

/// The policy a test block or a scenario approval names. A named policy by
/// its name; an anonymous rule (`FILE:LINE`) by its path as given on the
/// command line, with or without `./`, or by the end of that path after a
/// `/` (`"policies.apr:4"`) when exactly one rule ends so, so that a test
/// does not depend on the directory it is run from.
pub fn find_policy<'p>(program: &'p Program, name: &str) -> Option<&'p crate::ir::Policy> {
    if let Some(p) = program.policy(name) {
        return Some(p);
    }
    let want = normalise(name);
    let suffix = format!("/{want}");
    let mut exact = None;
    let mut by_suffix = Vec::new();
    for p in program.policies.iter().filter(|p| p.anonymous) {
        let have = normalise(&p.name);
        if have == want {
            exact = Some(p);
            break;
        }
        if have.ends_with(&suffix) && by_suffix.len() < 2 {
            by_suffix.push(p);
        }
    }
    exact.or(match by_suffix.as_slice() {
        [p] => Some(*p),
        _ => None,
    })
}

impl Scenario {
    /// Approvals name policies: a name is resolved as a test block resolves
    /// it ([`find_policy`]) and replaced by the policy's own name.
    pub(super) fn check_approvals(&mut self, program: &Program, out: &mut Vec<Diagnostic>) {
        let names: Vec<&str> = program.policies.iter().map(|p| p.name.as_str()).collect();
        for a in &mut self.approvals {
            if let Some(p) = find_policy(program, &a.approval.policy) {
                a.approval.policy.clone_from(&p.name);
            }
            let Some(policy) = program.policy(&a.approval.policy) else {
                out.push(
                    Diagnostic::error(
                        codes::UNKNOWN_REFERENCE,
                        a.policy_span,
                        format!("unknown policy `{}`", a.approval.policy),
                    )
                    .label("no policy of this name")
                    .help_opt(did_you_mean(&a.approval.policy, names.iter().copied()))
                    .help_opt(
                        (names.is_empty()).then(|| "the policies given define no policy".into()),
                    ),
                );
                continue;
            };
            if policy.kind != a.approval.object.kind {
                out.push(
                    Diagnostic::error(
                        codes::UNKNOWN_REFERENCE,
                        a.span,
                        format!(
                            "policy `{}` is about {} objects, but `{}` is a {}",
                            policy.name, policy.kind, a.approval.object, a.approval.object.kind
                        ),
                    )
                    .label("never approved"),
                );
            }
        }
    }
}

impl Loader<'_> {
    pub(super) fn approval(
        &mut self,
        a: &Spanned<RawApproval>,
        start: Time,
        duration: Time,
        ids: &BTreeSet<ObjectId>,
    ) -> Option<ApprovalSpec> {
        let span = self.sspan(a);
        let raw = &a.value;
        let at = self.required(raw.at.as_ref(), "at", span, "an approval");
        let policy = self.required(raw.policy.as_ref(), "policy", span, "an approval");
        let object = self.required(raw.object.as_ref(), "object", span, "an approval");
        let decision = self.required(raw.decision.as_ref(), "decision", span, "an approval");
        let (at_s, policy, object, decision) = (at?, policy?, object?, decision?);
        let at = self.duration(at_s, "at")?;
        if at > duration {
            let s = self.sspan(at_s);
            self.error(
                codes::VALUE,
                s,
                format!(
                    "`at: {}` is after the end of the scenario ({})",
                    at_s.value.0,
                    crate::ir::format_duration(duration as f64 / 1000.0)
                ),
            );
            self.last("never reached", None);
        }
        let object = self.object_ref(object, ids)?;
        let decision = match decision.value.0.as_str() {
            "approve" => Decision::Approve,
            "decline" => Decision::Decline,
            other => {
                let s = self.sspan(decision);
                self.error(codes::VALUE, s, format!("unknown decision `{other}`"));
                self.last("not a decision", Some("`approve` or `decline`".into()));
                return None;
            }
        };
        Some(ApprovalSpec {
            approval: Approval {
                policy: policy.value.0.clone(),
                object,
                decision,
                at: start + at,
                plan: None,
            },
            span,
            policy_span: self.sspan(policy),
        })
    }

    // ------------------------------------------------------------ scalars
}
