//! The resize executor against a real API server: it carries out the engine's
//! intent (planned `from` and `to`), checks that the claim is still what was
//! planned from, asks the blocker rule, and writes with a precondition.

use autopilot::cluster::pvc::PvcView;
use autopilot::cluster::resize::{
    Conflict, Error, Execution, PermanentError, TransientError, write_request,
};
use autopilot::engine::plan::Blocker;
use autopilot::engine::{ActionOutcome, ActionResult, EventKind, Planned};
use k8s_openapi::api::core::v1::{LimitRange, PersistentVolumeClaim};
use k8s_openapi::api::storage::v1::StorageClass;
use kube::Client;
use kube::api::{Api, Patch, PatchParams, PostParams};
use serde_json::json;
use std::sync::Arc;

use crate::fixtures::*;
use crate::support::Env;
use crate::support::env::{LIMITED, LIMITED_USER};
use crate::{Case, KUBE, TestResult, case};

pub fn cases() -> Vec<Case> {
    vec![
        case!("resize", KUBE, grows_a_bound_claim_and_records_an_event),
        case!("resize", KUBE, skips_a_class_without_expansion),
        case!("resize", KUBE, skips_a_class_it_cannot_find),
        case!("resize", KUBE, skips_an_unbound_claim),
        case!(
            "resize",
            KUBE,
            a_changed_from_is_a_conflict_and_the_engine_plans_again
        ),
        case!("resize", KUBE, a_write_between_read_and_patch_is_a_conflict),
        case!("resize", KUBE, what_the_server_refuses_is_permanent),
        case!("resize", KUBE, server_validation_agrees_with_the_blockers),
        case!("resize", KUBE, names_the_missing_permission),
    ]
}

fn admin(env: &Env) -> TestResult<Client> {
    Ok(env.kube()?.admin.clone())
}

fn planned(from: u64, to: u64) -> Planned {
    Planned::Resize { from, to }
}

/// The engine's intent is carried out as planned, a Normal event says so, and
/// the engine is told it was applied.
async fn grows_a_bound_claim_and_records_an_event(env: &Env) -> TestResult {
    let c = admin(env)?;
    let ns = namespace(&c, "grow").await?;
    storage_class(&c, "grow-expandable", Some(true)).await?;
    bound_pvc(&c, &ns, "data", "grow-expandable", "10Gi").await?;

    let mut planner = Planner::new()?;
    let intent = planner.intent(&c, &ns, "data", 0).await?;
    assert_eq!(intent.planned, planned(10 * GI, 20 * GI));
    let report = executor(&c).resize(&intent).await;
    assert!(
        matches!(report.execution, Execution::Applied { from, to } if from == 10 * GI && to == 20 * GI),
        "{:?}",
        report.execution
    );
    assert!(report.event_error.is_none(), "{:?}", report.event_error);
    let told = planner
        .engine
        .finish(0, &intent, report.outcome())
        .expect("the intent is the engine's latest");
    assert!(
        told.iter().any(|e| matches!(
            e.kind,
            EventKind::Action {
                result: ActionResult::Applied,
                ..
            }
        )),
        "{told:?}"
    );

    let pvc = get_pvc(&c, &ns, "data").await?;
    assert_eq!(requested(&pvc), "20Gi");
    let managers: Vec<_> = pvc
        .metadata
        .managed_fields
        .iter()
        .flatten()
        .filter_map(|m| m.manager.clone())
        .collect();
    assert!(managers.contains(&"autopilot".to_string()), "{managers:?}");

    let ev = event(&c, &ns, "data", "VolumeResized").await?;
    assert_eq!(ev.type_.as_deref(), Some("Normal"));
    assert_eq!(ev.note.as_deref(), Some("resized from 10Gi to 20Gi"));
    assert_eq!(ev.action.as_deref(), Some("Resize"));
    assert_eq!(
        ev.reporting_controller.as_deref(),
        Some("autopilot.rs/controller")
    );

    // The volume has not caught up (status.capacity 10Gi < request 20Gi). An
    // engine whose store missed that plans from 20Gi: the executor skips it
    // rather than stack another resize on top.
    let again = intent_for(&c, &ns, "data").await?;
    assert_eq!(again.planned, planned(20 * GI, 40 * GI));
    let report = executor(&c).resize(&again).await;
    match &report.execution {
        Execution::Skipped {
            blocker: Blocker::ResizeInProgress { detail },
        } => assert_eq!(
            detail.as_deref(),
            Some("status.capacity 10Gi is below the request 20Gi")
        ),
        other => panic!("expected a skip while the resize is in progress, got {other:?}"),
    }
    assert_eq!(
        skipped(report.outcome()),
        "a resize is still in progress (status.capacity 10Gi is below the request 20Gi)"
    );
    assert_eq!(requested(&get_pvc(&c, &ns, "data").await?), "20Gi");
    Ok(())
}

/// No write, skipped, a Warning event (allowVolumeExpansion unset and false).
async fn skips_a_class_without_expansion(env: &Env) -> TestResult {
    let c = admin(env)?;
    let ns = namespace(&c, "fixed").await?;
    for (class, allow) in [("fixed-unset", None), ("fixed-false", Some(false))] {
        storage_class(&c, class, allow).await?;
        let before = bound_pvc(&c, &ns, class, class, "10Gi").await?;

        let report = executor(&c)
            .resize(&intent_for(&c, &ns, class).await?)
            .await;
        match &report.execution {
            Execution::Skipped {
                blocker: Blocker::ExpansionNotAllowed { class: c },
            } => assert_eq!(c, class),
            other => panic!("{class}: expected skipped, got {other:?}"),
        }
        let after = get_pvc(&c, &ns, class).await?;
        assert_eq!(
            resource_version(&after),
            resource_version(&before),
            "{class}: written"
        );
        assert_eq!(requested(&after), "10Gi");

        let ev = event(&c, &ns, class, "ResizeSkipped").await?;
        assert_eq!(ev.type_.as_deref(), Some("Warning"));
        assert_eq!(
            ev.note.as_deref(),
            Some(
                format!("resize skipped: StorageClass `{class}` does not allow volume expansion")
                    .as_str()
            )
        );
    }
    Ok(())
}

/// A claim whose StorageClass does not exist: the API server would refuse the
/// expansion, so it is skipped, in the words the engine and `simulate` use.
async fn skips_a_class_it_cannot_find(env: &Env) -> TestResult {
    let c = admin(env)?;
    let ns = namespace(&c, "noclass").await?;
    let before = bound_pvc(&c, &ns, "data", "noclass-missing", "10Gi").await?;

    let report = executor(&c)
        .resize(&intent_for(&c, &ns, "data").await?)
        .await;
    match &report.execution {
        Execution::Skipped {
            blocker: Blocker::ClassNotFound { class },
        } => assert_eq!(class, "noclass-missing"),
        other => panic!("expected skipped, got {other:?}"),
    }
    assert_eq!(
        skipped(report.outcome()),
        "StorageClass `noclass-missing` not found"
    );
    let after = get_pvc(&c, &ns, "data").await?;
    assert_eq!(resource_version(&after), resource_version(&before));
    let ev = event(&c, &ns, "data", "ResizeSkipped").await?;
    assert_eq!(
        ev.note.as_deref(),
        Some("resize skipped: StorageClass `noclass-missing` not found")
    );
    Ok(())
}

/// A Pending claim is skipped, with no write.
async fn skips_an_unbound_claim(env: &Env) -> TestResult {
    let c = admin(env)?;
    let ns = namespace(&c, "unbound").await?;
    storage_class(&c, "unbound-expandable", Some(true)).await?;
    let before = pending_pvc(&c, &ns, "data", "unbound-expandable", "10Gi").await?;

    let report = executor(&c)
        .resize(&intent_for(&c, &ns, "data").await?)
        .await;
    match &report.execution {
        // The API server defaults a new claim's phase to Pending.
        Execution::Skipped {
            blocker: Blocker::NotBound { phase },
        } => assert_eq!(phase.as_deref(), Some("Pending")),
        other => panic!("expected skipped, got {other:?}"),
    }
    let after = get_pvc(&c, &ns, "data").await?;
    assert_eq!(resource_version(&after), resource_version(&before));
    let ev = event(&c, &ns, "data", "ResizeSkipped").await?;
    assert_eq!(ev.type_.as_deref(), Some("Warning"));
    assert_eq!(
        ev.note.as_deref(),
        Some("resize skipped: the PVC is not Bound (phase Pending)")
    );
    Ok(())
}

/// The engine plans 10Gi → 20Gi; before the executor runs, someone else grows
/// the claim to 15Gi. The executor writes nothing and reports a transient
/// conflict; the engine goes back to firing and, on its next tick, plans from
/// 15Gi, which the executor then carries out.
async fn a_changed_from_is_a_conflict_and_the_engine_plans_again(env: &Env) -> TestResult {
    let c = admin(env)?;
    let ns = namespace(&c, "race").await?;
    storage_class(&c, "race-expandable", Some(true)).await?;
    bound_pvc(&c, &ns, "data", "race-expandable", "10Gi").await?;

    let mut planner = Planner::new()?;
    let intent = planner.intent(&c, &ns, "data", 0).await?;
    assert_eq!(intent.planned, planned(10 * GI, 20 * GI));

    let pvcs: Api<PersistentVolumeClaim> = Api::namespaced(c.clone(), &ns);
    let patch = json!({"spec": {"resources": {"requests": {"storage": "15Gi"}}}});
    pvcs.patch("data", &PatchParams::default(), &Patch::Merge(patch))
        .await?;
    set_status(&c, &ns, "data", "Bound", "15Gi").await?;
    let before = get_pvc(&c, &ns, "data").await?;

    let report = executor(&c).resize(&intent).await;
    match &report.execution {
        Execution::Failed {
            error:
                error @ Error::Transient(TransientError::Conflict {
                    conflict: Conflict::SizeChanged { planned, found },
                    ..
                }),
        } => {
            assert_eq!((*planned, *found), (10 * GI, 15 * GI));
            assert!(error.is_transient() && error.is_conflict());
        }
        other => panic!("expected a conflict, got {other:?}"),
    }
    let after = get_pvc(&c, &ns, "data").await?;
    assert_eq!(
        resource_version(&after),
        resource_version(&before),
        "written"
    );
    assert_eq!(requested(&after), "15Gi");
    let ev = event(&c, &ns, "data", "ResizeFailed").await?;
    assert_eq!(ev.type_.as_deref(), Some("Warning"));
    assert_eq!(
        ev.note.as_deref(),
        Some(
            "resize failed: PVC race/data is 15Gi now, not the 10Gi the resize was planned from; nothing was written, it is planned again"
        )
    );

    // Told of the conflict, the engine plans again from what it reads next.
    planner
        .engine
        .finish(0, &intent, report.outcome())
        .expect("the intent is the engine's latest");
    let again = planner.intent(&c, &ns, "data", 600_000).await?;
    assert_eq!(again.planned, planned(15 * GI, 30 * GI));
    let report = executor(&c).resize(&again).await;
    assert!(
        matches!(report.execution, Execution::Applied { .. }),
        "{:?}",
        report.execution
    );
    assert_eq!(requested(&get_pvc(&c, &ns, "data").await?), "30Gi");
    Ok(())
}

/// Between the executor's read and its write, another writer labels the
/// claim. The write carries the resourceVersion read, so it gets 409: a
/// conflict, nothing written by us, the other writer's label kept.
async fn a_write_between_read_and_patch_is_a_conflict(env: &Env) -> TestResult {
    let c = admin(env)?;
    let ns = namespace(&c, "interleave").await?;
    storage_class(&c, "interleave-expandable", Some(true)).await?;
    bound_pvc(&c, &ns, "data", "interleave-expandable", "10Gi").await?;

    let (other, other_ns) = (c.clone(), ns.clone());
    let hook = Arc::new(move |_: PersistentVolumeClaim| {
        let (c, ns) = (other.clone(), other_ns.clone());
        Box::pin(async move {
            let pvcs: Api<PersistentVolumeClaim> = Api::namespaced(c, &ns);
            let patch = json!({"metadata": {"labels": {"team": "db"}}});
            pvcs.patch("data", &PatchParams::default(), &Patch::Merge(patch))
                .await
                .expect("the concurrent write");
        }) as std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>
    });
    let intent = intent_for(&c, &ns, "data").await?;
    let report = executor(&c).with_before_write(hook).resize(&intent).await;
    match &report.execution {
        Execution::Failed {
            error:
                error @ Error::Transient(TransientError::Conflict {
                    conflict: Conflict::Written,
                    ..
                }),
        } => assert!(error.is_transient()),
        other => panic!("expected a 409 conflict, got {other:?}"),
    }
    assert!(matches!(report.outcome(), ActionOutcome::Failed(_)));
    let pvc = get_pvc(&c, &ns, "data").await?;
    assert_eq!(requested(&pvc), "10Gi");
    let labels = pvc.metadata.labels.unwrap_or_default();
    assert_eq!(
        labels.get("team").map(String::as_str),
        Some("db"),
        "lost update"
    );
    let ev = event(&c, &ns, "data", "ResizeFailed").await?;
    assert!(
        ev.note
            .as_deref()
            .unwrap_or_default()
            .contains("changed between read and write (409 Conflict)"),
        "{:?}",
        ev.note
    );
    Ok(())
}

/// A LimitRange caps claims at 15Gi, so the API server's LimitRanger admission
/// refuses 20Gi (403, not an RBAC denial): a permanent failure in the server's
/// own words; nothing changed.
async fn what_the_server_refuses_is_permanent(env: &Env) -> TestResult {
    let c = admin(env)?;
    let ns = namespace(&c, "limited-range").await?;
    storage_class(&c, "limited-range-expandable", Some(true)).await?;
    // The LimitRange comes first: LimitRanger caches a namespace's "no limits"
    // for 30 s once it has looked, so one created after the claim could be missed.
    let limits: LimitRange = serde_json::from_value(json!({
        "metadata": {"name": "pvc-max"},
        "spec": {"limits": [{"type": "PersistentVolumeClaim", "max": {"storage": "15Gi"}}]},
    }))?;
    Api::<LimitRange>::namespaced(c.clone(), &ns)
        .create(&PostParams::default(), &limits)
        .await?;
    bound_pvc(&c, &ns, "data", "limited-range-expandable", "10Gi").await?;

    let report = executor(&c)
        .resize(&intent_for(&c, &ns, "data").await?)
        .await;
    let message = match &report.execution {
        Execution::Failed {
            error: Error::Permanent(PermanentError::Rejected { code, message, .. }),
        } => {
            assert_eq!(*code, 403);
            message.clone()
        }
        other => panic!("expected a permanent refusal by the server, got {other:?}"),
    };
    assert!(
        message.contains(
            "maximum storage usage per PersistentVolumeClaim is 15Gi, but request is 20Gi"
        ),
        "{message}"
    );
    assert_eq!(requested(&get_pvc(&c, &ns, "data").await?), "10Gi");
    let ev = event(&c, &ns, "data", "ResizeFailed").await?;
    assert_eq!(ev.type_.as_deref(), Some("Warning"));
    assert!(
        ev.note
            .as_deref()
            .unwrap_or_default()
            .contains("15Gi, but request is 20Gi")
    );
    Ok(())
}

/// At the write itself: what the blockers avoid, the real server refuses too,
/// and `write_request` turns each refusal into a permanent error carrying the
/// server's message (never a permission error); a stale resourceVersion is a
/// conflict.
async fn server_validation_agrees_with_the_blockers(env: &Env) -> TestResult {
    let c = admin(env)?;
    let ns = namespace(&c, "validation").await?;
    storage_class(&c, "validation-expandable", Some(true)).await?;
    storage_class(&c, "validation-fixed", Some(false)).await?;
    let pvcs: Api<PersistentVolumeClaim> = Api::namespaced(c.clone(), &ns);
    let class: Api<StorageClass> = Api::all(c.clone());
    let expandable = class.get("validation-expandable").await?;
    let fixed = class.get("validation-fixed").await?;

    let refusal = |result: Result<PersistentVolumeClaim, Error>| match result {
        Err(Error::Permanent(PermanentError::Rejected { code, message, .. })) => (code, message),
        other => panic!("expected the server to refuse, got {other:?}"),
    };

    // Shrinking: 422 Invalid from validation.
    let pvc = bound_pvc(&c, &ns, "shrink", "validation-expandable", "10Gi").await?;
    let view = PvcView::new(&pvc, Some(&expandable))?;
    let (code, message) = refusal(write_request(&pvcs, &view, 5 * GI, None).await);
    assert_eq!(code, 422, "{message}");
    assert!(
        message.contains("spec.resources.requests.storage: Forbidden: field can not be less than"),
        "{message}"
    );

    // Growing an unbound claim: 422, requests are mutable only for bound claims.
    let pvc = pending_pvc(&c, &ns, "pending", "validation-expandable", "10Gi").await?;
    let view = PvcView::new(&pvc, Some(&expandable))?;
    assert!(matches!(view.blocker(), Some(Blocker::NotBound { .. })));
    let (code, message) = refusal(write_request(&pvcs, &view, 20 * GI, None).await);
    assert_eq!(code, 422, "{message}");
    assert!(message.contains("for bound claims"), "{message}");

    // Growing in a class without expansion: the PersistentVolumeClaimResize
    // admission plugin answers 403.
    let pvc = bound_pvc(&c, &ns, "fixed", "validation-fixed", "10Gi").await?;
    let view = PvcView::new(&pvc, Some(&fixed))?;
    assert!(matches!(
        view.blocker(),
        Some(Blocker::ExpansionNotAllowed { .. })
    ));
    let (code, message) = refusal(write_request(&pvcs, &view, 20 * GI, None).await);
    assert_eq!(code, 403, "{message}");
    assert!(
        message.contains("storageclass that provisions the pvc must support resize"),
        "{message}"
    );

    // A class that does not exist: the same admission plugin refuses, which
    // is why the blocker rule reads an unknown class as "allows nothing".
    let pvc = bound_pvc(&c, &ns, "missing", "validation-missing", "10Gi").await?;
    let view = PvcView::new(&pvc, None)?;
    assert!(matches!(
        view.blocker(),
        Some(Blocker::ClassNotFound { .. })
    ));
    let (code, message) = refusal(write_request(&pvcs, &view, 20 * GI, None).await);
    assert_eq!(code, 403, "{message}");

    // A stale resourceVersion: 409, the precondition holds.
    let pvc = bound_pvc(&c, &ns, "stale", "validation-expandable", "10Gi").await?;
    let mut view = PvcView::new(&pvc, Some(&expandable))?;
    pvcs.patch(
        "stale",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"labels": {"bump": "1"}}})),
    )
    .await?;
    match write_request(&pvcs, &view, 20 * GI, None).await {
        Err(e) if e.is_conflict() => {}
        other => panic!("expected a conflict, got {other:?}"),
    }
    // A claim deleted and created again under the same name has a new
    // resourceVersion, so the 409 above covers it; the uid in the patch is
    // checked too, as an immutable field (422), so the write never lands on
    // another object even then.
    view.resource_version = Some(resource_version(&get_pvc(&c, &ns, "stale").await?));
    view.uid = Some("00000000-0000-0000-0000-000000000000".into());
    let (code, message) = refusal(write_request(&pvcs, &view, 20 * GI, None).await);
    assert_eq!(code, 422, "{message}");
    assert!(message.contains("metadata.uid: Invalid value"), "{message}");
    assert_eq!(requested(&get_pvc(&c, &ns, "stale").await?), "10Gi");
    Ok(())
}

/// 403 from RBAC (a user of the test server with no rights, then read rights
/// only): a permanent error naming the verb, resource and namespace.
async fn names_the_missing_permission(env: &Env) -> TestResult {
    let c = admin(env)?;
    let ns = namespace(&c, "rbac").await?;
    storage_class(&c, "rbac-expandable", Some(true)).await?;
    bound_pvc(&c, &ns, "data", "rbac-expandable", "10Gi").await?;
    let limited = env.client_as(LIMITED).await?;
    let intent = intent_for(&c, &ns, "data").await?;

    // No rights at all: the read fails.
    let report = executor(&limited).resize(&intent).await;
    let text = forbidden(&report.execution)?;
    assert!(
        text.starts_with("missing permission: get persistentvolumeclaims in namespace rbac"),
        "{text}"
    );
    assert!(matches!(report.outcome(), ActionOutcome::Failed(_)));

    // Read rights only: the write fails, and so does the event.
    grant_read(&c, &ns).await?;
    let (pvcs, classes) = (
        Api::<PersistentVolumeClaim>::namespaced(limited.clone(), &ns),
        Api::<StorageClass>::all(limited.clone()),
    );
    eventually("the limited user's read rights", || async {
        pvcs.get("data").await.is_ok() && classes.get("rbac-expandable").await.is_ok()
    })
    .await?;
    let report = executor(&limited).resize(&intent).await;
    let text = forbidden(&report.execution)?;
    assert!(
        text.starts_with("missing permission: patch persistentvolumeclaims in namespace rbac"),
        "{text}"
    );
    assert!(
        text.contains(&format!("User \"{LIMITED_USER}\" cannot patch")),
        "{text}"
    );
    let event_error = report
        .event_error
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(
        event_error
            .starts_with("missing permission: create events.events.k8s.io in namespace rbac"),
        "{event_error}"
    );
    assert_eq!(requested(&get_pvc(&c, &ns, "data").await?), "10Gi");
    Ok(())
}

fn forbidden(execution: &Execution) -> TestResult<String> {
    match execution {
        Execution::Failed {
            error: error @ Error::Permanent(PermanentError::Forbidden { .. }),
        } => {
            assert!(!error.is_transient());
            Ok(error.to_string())
        }
        other => Err(format!("expected a permission error, got {other:?}").into()),
    }
}

/// get on claims in `ns`, get on StorageClasses, for the limited user.
async fn grant_read(c: &Client, ns: &str) -> TestResult {
    let subject =
        json!([{"kind": "User", "apiGroup": "rbac.authorization.k8s.io", "name": LIMITED_USER}]);
    let role = json!({
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
        "metadata": {"name": "pvc-reader", "namespace": ns},
        "rules": [{"apiGroups": [""], "resources": ["persistentvolumeclaims"], "verbs": ["get"]}],
    });
    let binding = json!({
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
        "metadata": {"name": "pvc-reader", "namespace": ns},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "pvc-reader"},
        "subjects": subject,
    });
    let cluster_role = json!({
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
        "metadata": {"name": "e2e-storageclass-reader"},
        "rules": [{"apiGroups": ["storage.k8s.io"], "resources": ["storageclasses"], "verbs": ["get"]}],
    });
    let cluster_binding = json!({
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
        "metadata": {"name": "e2e-storageclass-reader"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "e2e-storageclass-reader"},
        "subjects": subject,
    });
    use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, Role, RoleBinding};
    let pp = PostParams::default();
    Api::<Role>::namespaced(c.clone(), ns)
        .create(&pp, &serde_json::from_value(role)?)
        .await?;
    Api::<RoleBinding>::namespaced(c.clone(), ns)
        .create(&pp, &serde_json::from_value(binding)?)
        .await?;
    Api::<ClusterRole>::all(c.clone())
        .create(&pp, &serde_json::from_value(cluster_role)?)
        .await?;
    Api::<ClusterRoleBinding>::all(c.clone())
        .create(&pp, &serde_json::from_value(cluster_binding)?)
        .await?;
    Ok(())
}

/// The reason of a skipped outcome, as it reads.
fn skipped(outcome: ActionOutcome) -> String {
    match outcome {
        ActionOutcome::Skipped(reason) => reason.to_string(),
        other => panic!("expected a skip, got {other:?}"),
    }
}
