//! The resize executor against a real API server (issue 4, cases 1–6, and RBAC).

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use autopilot::cluster::pvc::{PvcView, SkipReason};
use autopilot::cluster::resize::{
    DeclineReason, Error, Outcome, PermanentError, TransientError, WriteError, write_request,
};
use k8s_openapi::api::core::v1::{LimitRange, PersistentVolumeClaim};
use k8s_openapi::api::storage::v1::StorageClass;
use kube::Client;
use kube::api::{Api, Patch, PatchParams, PostParams};
use serde_json::json;

use crate::fixtures::*;
use crate::support::Env;
use crate::support::env::{LIMITED, LIMITED_USER};
use crate::{Case, KUBE, TestResult, case};

pub fn cases() -> Vec<Case> {
    vec![
        case!("resize", KUBE, grows_a_bound_claim_and_records_an_event),
        case!("resize", KUBE, skips_a_class_without_expansion),
        case!("resize", KUBE, skips_an_unbound_claim),
        case!("resize", KUBE, declines_at_max_without_writing),
        case!("resize", KUBE, rereads_and_replans_after_a_conflict),
        case!("resize", KUBE, gives_up_after_repeated_conflicts),
        case!("resize", KUBE, declines_what_the_server_refuses),
        case!("resize", KUBE, server_validation_agrees_with_the_skip_rules),
        case!("resize", KUBE, names_the_missing_permission),
    ]
}

fn admin(env: &Env) -> TestResult<Client> {
    Ok(env.kube()?.admin.clone())
}

/// Case 1: the request grows to the planned size, and a Normal event says so.
async fn grows_a_bound_claim_and_records_an_event(env: &Env) -> TestResult {
    let c = admin(env)?;
    let ns = namespace(&c, "grow").await?;
    storage_class(&c, "grow-expandable", Some(true)).await?;
    bound_pvc(&c, &ns, "data", "grow-expandable", "10Gi").await?;

    let report = executor(&c)
        .resize(&ns, "data", &grow(100.0, 400 * GI))
        .await;
    assert!(
        matches!(report.outcome, Outcome::Applied { from, to } if from == 10 * GI && to == 20 * GI),
        "{:?}",
        report.outcome
    );
    assert_eq!(report.attempts, 1);
    assert!(report.event_error.is_none(), "{:?}", report.event_error);

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

    // The volume has not caught up (status.capacity 10Gi < request 20Gi): the
    // next tick must not stack another resize on top.
    let again = executor(&c)
        .resize(&ns, "data", &grow(100.0, 400 * GI))
        .await;
    match again.outcome {
        Outcome::Skipped {
            reason: SkipReason::ResizeInProgress { detail },
        } => assert_eq!(detail, "status.capacity 10Gi is below the request 20Gi"),
        other => panic!("expected a skip while the resize is in progress, got {other:?}"),
    }
    assert_eq!(requested(&get_pvc(&c, &ns, "data").await?), "20Gi");
    Ok(())
}

/// Case 2: no write, skipped, a Warning event (allowVolumeExpansion unset and false).
async fn skips_a_class_without_expansion(env: &Env) -> TestResult {
    let c = admin(env)?;
    let ns = namespace(&c, "fixed").await?;
    for (class, allow) in [("fixed-unset", None), ("fixed-false", Some(false))] {
        storage_class(&c, class, allow).await?;
        let before = bound_pvc(&c, &ns, class, class, "10Gi").await?;

        let report = executor(&c)
            .resize(&ns, class, &grow(100.0, 400 * GI))
            .await;
        match &report.outcome {
            Outcome::Skipped {
                reason: SkipReason::ExpansionNotAllowed { class: c },
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
            Some(format!("resize skipped: its StorageClass `{class}` does not set allowVolumeExpansion: true").as_str())
        );
    }
    Ok(())
}

/// Case 3: a Pending claim is skipped, with no write.
async fn skips_an_unbound_claim(env: &Env) -> TestResult {
    let c = admin(env)?;
    let ns = namespace(&c, "unbound").await?;
    storage_class(&c, "unbound-expandable", Some(true)).await?;
    let before = pending_pvc(&c, &ns, "data", "unbound-expandable", "10Gi").await?;

    let report = executor(&c)
        .resize(&ns, "data", &grow(100.0, 400 * GI))
        .await;
    match &report.outcome {
        // The API server defaults a new claim's phase to Pending.
        Outcome::Skipped {
            reason: SkipReason::NotBound { phase },
        } => assert_eq!(phase.as_deref(), Some("Pending")),
        other => panic!("expected skipped, got {other:?}"),
    }
    let after = get_pvc(&c, &ns, "data").await?;
    assert_eq!(resource_version(&after), resource_version(&before));
    let ev = event(&c, &ns, "data", "ResizeSkipped").await?;
    assert_eq!(ev.type_.as_deref(), Some("Warning"));
    assert!(
        ev.note
            .as_deref()
            .unwrap_or_default()
            .contains("the claim is Pending, not Bound"),
        "{:?}",
        ev.note
    );
    Ok(())
}

/// Case 4: at max, declined with the sizes, nothing written.
async fn declines_at_max_without_writing(env: &Env) -> TestResult {
    let c = admin(env)?;
    let ns = namespace(&c, "atmax").await?;
    storage_class(&c, "atmax-expandable", Some(true)).await?;
    let before = bound_pvc(&c, &ns, "data", "atmax-expandable", "400Gi").await?;

    let report = executor(&c)
        .resize(&ns, "data", &grow(100.0, 400 * GI))
        .await;
    match &report.outcome {
        Outcome::Declined {
            reason: DeclineReason::AtLimit { current, limit },
        } => assert_eq!((*current, *limit), (400 * GI, 400 * GI)),
        other => panic!("expected declined, got {other:?}"),
    }
    let after = get_pvc(&c, &ns, "data").await?;
    assert_eq!(resource_version(&after), resource_version(&before));
    assert_eq!(requested(&after), "400Gi");
    let ev = event(&c, &ns, "data", "ResizeDeclined").await?;
    assert_eq!(ev.type_.as_deref(), Some("Warning"));
    assert_eq!(
        ev.note.as_deref(),
        Some("resize declined: the claim is at 400Gi, the policy's limit is 400Gi")
    );
    Ok(())
}

/// Case 5: between the executor's read and its write, another writer labels
/// the claim and completes a resize to 15Gi. The stale write gets 409; the
/// executor reads again and plans from 15Gi, and the label survives.
async fn rereads_and_replans_after_a_conflict(env: &Env) -> TestResult {
    let c = admin(env)?;
    let ns = namespace(&c, "race").await?;
    storage_class(&c, "race-expandable", Some(true)).await?;
    bound_pvc(&c, &ns, "data", "race-expandable", "10Gi").await?;

    let other = c.clone();
    let race_ns = ns.clone();
    let hook = Arc::new(move |attempt: u32, _: PersistentVolumeClaim| {
        let (c, ns) = (other.clone(), race_ns.clone());
        Box::pin(async move {
            if attempt == 1 {
                let pvcs: Api<PersistentVolumeClaim> = Api::namespaced(c.clone(), &ns);
                let patch = json!({
                    "metadata": {"labels": {"team": "db"}},
                    "spec": {"resources": {"requests": {"storage": "15Gi"}}},
                });
                pvcs.patch("data", &PatchParams::default(), &Patch::Merge(patch))
                    .await
                    .expect("the concurrent write");
                set_status(&c, &ns, "data", "Bound", "15Gi")
                    .await
                    .expect("the concurrent status write");
            }
        }) as std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>
    });
    let report = executor(&c)
        .with_before_write(hook)
        .resize(&ns, "data", &grow(100.0, 400 * GI))
        .await;
    assert!(
        matches!(report.outcome, Outcome::Applied { from, to } if from == 15 * GI && to == 30 * GI),
        "{:?}",
        report.outcome
    );
    assert_eq!(report.attempts, 2);

    let pvc = get_pvc(&c, &ns, "data").await?;
    assert_eq!(requested(&pvc), "30Gi");
    let labels = pvc.metadata.labels.unwrap_or_default();
    assert_eq!(
        labels.get("team").map(String::as_str),
        Some("db"),
        "lost update"
    );
    let ev = event(&c, &ns, "data", "VolumeResized").await?;
    assert_eq!(ev.note.as_deref(), Some("resized from 15Gi to 30Gi"));
    Ok(())
}

/// A claim that changes before every write: bounded retries, then a transient failure.
async fn gives_up_after_repeated_conflicts(env: &Env) -> TestResult {
    let c = admin(env)?;
    let ns = namespace(&c, "churn").await?;
    storage_class(&c, "churn-expandable", Some(true)).await?;
    bound_pvc(&c, &ns, "data", "churn-expandable", "10Gi").await?;

    let calls = Arc::new(AtomicU32::new(0));
    let (other, churn_ns, seen) = (c.clone(), ns.clone(), calls.clone());
    let hook = Arc::new(move |attempt: u32, _: PersistentVolumeClaim| {
        let (c, ns) = (other.clone(), churn_ns.clone());
        seen.fetch_add(1, Ordering::SeqCst);
        Box::pin(async move {
            let pvcs: Api<PersistentVolumeClaim> = Api::namespaced(c, &ns);
            let patch = json!({"metadata": {"annotations": {"e2e/churn": attempt.to_string()}}});
            pvcs.patch("data", &PatchParams::default(), &Patch::Merge(patch))
                .await
                .expect("the concurrent write");
        }) as std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>
    });
    let report = executor(&c)
        .with_max_attempts(3)
        .with_before_write(hook)
        .resize(&ns, "data", &grow(100.0, 400 * GI))
        .await;
    match &report.outcome {
        Outcome::Failed {
            error: error @ Error::Transient(TransientError::Conflicts { attempts: 3, .. }),
        } => assert!(error.is_transient()),
        other => panic!("expected a transient failure after 3 conflicts, got {other:?}"),
    }
    assert_eq!(calls.load(Ordering::SeqCst), 3);
    assert_eq!(requested(&get_pvc(&c, &ns, "data").await?), "10Gi");
    let ev = event(&c, &ns, "data", "ResizeFailed").await?;
    assert_eq!(ev.type_.as_deref(), Some("Warning"));
    Ok(())
}

/// Case 6 through the executor: a LimitRange caps claims at 15Gi, so the API
/// server's LimitRanger admission refuses 20Gi (403, not an RBAC denial). The
/// outcome is declined with the server's own words; nothing changed.
async fn declines_what_the_server_refuses(env: &Env) -> TestResult {
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
        .resize(&ns, "data", &grow(100.0, 400 * GI))
        .await;
    let message = match &report.outcome {
        Outcome::Declined {
            reason: DeclineReason::Refused { code, message, .. },
        } => {
            assert_eq!(*code, 403);
            message.clone()
        }
        other => panic!("expected declined by the server, got {other:?}"),
    };
    assert!(
        message.contains(
            "maximum storage usage per PersistentVolumeClaim is 15Gi, but request is 20Gi"
        ),
        "{message}"
    );
    assert_eq!(requested(&get_pvc(&c, &ns, "data").await?), "10Gi");
    let ev = event(&c, &ns, "data", "ResizeDeclined").await?;
    assert_eq!(ev.type_.as_deref(), Some("Warning"));
    assert!(
        ev.note
            .as_deref()
            .unwrap_or_default()
            .contains("15Gi, but request is 20Gi")
    );
    Ok(())
}

/// Case 6 at the write itself: what the executor's skip rules avoid, the real
/// server refuses too, and `write_request` turns each refusal into a declined
/// reason carrying the server's message (never a permission error).
async fn server_validation_agrees_with_the_skip_rules(env: &Env) -> TestResult {
    let c = admin(env)?;
    let ns = namespace(&c, "validation").await?;
    storage_class(&c, "validation-expandable", Some(true)).await?;
    storage_class(&c, "validation-fixed", Some(false)).await?;
    let pvcs: Api<PersistentVolumeClaim> = Api::namespaced(c.clone(), &ns);
    let class: Api<StorageClass> = Api::all(c.clone());
    let expandable = class.get("validation-expandable").await?;
    let fixed = class.get("validation-fixed").await?;

    let refusal = |result: Result<PersistentVolumeClaim, WriteError>| match result {
        Err(WriteError::Refused(DeclineReason::Refused { code, message, .. })) => (code, message),
        other => panic!("expected the server to refuse, got {other:?}"),
    };

    // Shrinking: 422 Invalid from validation.
    let pvc = bound_pvc(&c, &ns, "shrink", "validation-expandable", "10Gi").await?;
    let view = PvcView::new(&pvc, Some(&expandable))?;
    let (code, message) = refusal(write_request(&pvcs, &view, 5 * GI).await);
    assert_eq!(code, 422, "{message}");
    assert!(
        message.contains("spec.resources.requests.storage: Forbidden: field can not be less than"),
        "{message}"
    );

    // Growing an unbound claim: 422, requests are mutable only for bound claims.
    let pvc = pending_pvc(&c, &ns, "pending", "validation-expandable", "10Gi").await?;
    let view = PvcView::new(&pvc, Some(&expandable))?;
    assert!(matches!(
        view.skip_reason(),
        Some(SkipReason::NotBound { .. })
    ));
    let (code, message) = refusal(write_request(&pvcs, &view, 20 * GI).await);
    assert_eq!(code, 422, "{message}");
    assert!(message.contains("for bound claims"), "{message}");

    // Growing in a class without expansion: the PersistentVolumeClaimResize
    // admission plugin answers 403.
    let pvc = bound_pvc(&c, &ns, "fixed", "validation-fixed", "10Gi").await?;
    let view = PvcView::new(&pvc, Some(&fixed))?;
    assert!(matches!(
        view.skip_reason(),
        Some(SkipReason::ExpansionNotAllowed { .. })
    ));
    let (code, message) = refusal(write_request(&pvcs, &view, 20 * GI).await);
    assert_eq!(code, 403, "{message}");
    assert!(
        message.contains("storageclass that provisions the pvc must support resize"),
        "{message}"
    );

    // A stale resourceVersion: 409, the precondition holds.
    let pvc = bound_pvc(&c, &ns, "stale", "validation-expandable", "10Gi").await?;
    let mut view = PvcView::new(&pvc, Some(&expandable))?;
    pvcs.patch(
        "stale",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"labels": {"bump": "1"}}})),
    )
    .await?;
    assert!(matches!(
        write_request(&pvcs, &view, 20 * GI).await,
        Err(WriteError::Conflict)
    ));
    // A claim deleted and created again under the same name has a new
    // resourceVersion, so the 409 above covers it; the uid in the patch is
    // checked too, as an immutable field (422), so the write never lands on
    // another object even then.
    view.resource_version = Some(resource_version(&get_pvc(&c, &ns, "stale").await?));
    view.uid = Some("00000000-0000-0000-0000-000000000000".into());
    let (code, message) = refusal(write_request(&pvcs, &view, 20 * GI).await);
    assert_eq!(code, 422, "{message}");
    assert!(message.contains("metadata.uid: Invalid value"), "{message}");
    assert_eq!(requested(&get_pvc(&c, &ns, "stale").await?), "10Gi");
    Ok(())
}

/// 403 from RBAC: a permanent error naming the verb, resource and namespace.
async fn names_the_missing_permission(env: &Env) -> TestResult {
    let c = admin(env)?;
    let ns = namespace(&c, "rbac").await?;
    storage_class(&c, "rbac-expandable", Some(true)).await?;
    bound_pvc(&c, &ns, "data", "rbac-expandable", "10Gi").await?;
    let limited = env.client_as(LIMITED).await?;

    // No rights at all: the read fails.
    let report = executor(&limited)
        .resize(&ns, "data", &grow(100.0, 400 * GI))
        .await;
    let text = forbidden(&report.outcome)?;
    assert!(
        text.starts_with("missing permission: get persistentvolumeclaims in namespace rbac"),
        "{text}"
    );

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
    let report = executor(&limited)
        .resize(&ns, "data", &grow(100.0, 400 * GI))
        .await;
    let text = forbidden(&report.outcome)?;
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

fn forbidden(outcome: &Outcome) -> TestResult<String> {
    match outcome {
        Outcome::Failed {
            error: error @ Error::Permanent(PermanentError::Forbidden { .. }),
        } => Ok(error.to_string()),
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
