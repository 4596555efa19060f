//! The controller killed at the worst moments, and started again: the state
//! it wrote on the objects (`autopilot.rs/state`) and the `at_most` history
//! (ConfigMap `autopilot-state`) bring it back where it was. Each runs as
//! the ServiceAccount of `deploy/`, with the rights it is deployed with.

/// The controller's namespace as deployed.
const HOME: &str = "autopilot-system";

use std::time::Duration;

use jiff::Timestamp;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, Patch, PatchParams};
use serde_json::json;

use crate::fixtures;
use crate::run::{Controller, Start, as_deployed, has_event, take_turn, within_30s};
use crate::support::Env;
use crate::{BOTH, Case, TestResult, case};

pub fn cases() -> Vec<Case> {
    vec![
        case!("restart", BOTH, a_restart_keeps_the_for_clock),
        case!(
            "restart",
            BOTH,
            a_kill_right_after_the_write_never_repeats_the_action
        ),
        case!("restart", BOTH, at_most_is_not_reset_by_a_restart),
        case!(
            "restart",
            BOTH,
            garbage_or_future_state_is_dropped_or_clamped
        ),
    ]
}

fn now_ms() -> i64 {
    Timestamp::now().as_millisecond()
}

/// `for 20s` pending, the controller killed 8 s in and started again: the
/// resize comes when the original clock says (about 20 s after the start
/// of pending), not 20 s after the restart.
async fn a_restart_keeps_the_for_clock(env: &Env) -> TestResult {
    let _turn = take_turn().await;
    let client = &env.kube()?.admin;
    let ns = fixtures::namespace(client, "restart-for").await?;
    fixtures::storage_class(client, "restart-for-expand", Some(true)).await?;
    fixtures::bound_pvc(client, &ns, "data", "restart-for-expand", "1Gi").await?;
    // A field, not a metric: a missed scrape on a busy machine would be no
    // data, which resets a `for` by itself.
    let policy = format!(
        "policy hold {{\n  on pvc where pvc.namespace == \"{ns}\"\n  \
         when pvc.requested > 0Gi for 20s\n  then resize(+100%, max = 4Gi)\n  cooldown 1h\n}}\n"
    );
    let dir = tempfile::tempdir()?;
    let kubeconfig = as_deployed(env, dir.path()).await?;
    let start = || Start {
        policy: Some(&policy),
        args: &["--namespace", HOME],
        kubeconfig: Some(&kubeconfig),
        ..Start::default()
    };
    let first = Controller::start_with(env, None, start())?;
    let pending_since = || async {
        let pvc = fixtures::get_pvc(client, &ns, "data").await?;
        TestResult::Ok(
            fixtures::state_of(&pvc)
                .filter(|s| s["policies"][0]["state"] == "pending")
                .and_then(|s| s["policies"][0]["since"].as_i64()),
        )
    };
    within_30s(&first, "the pending state on the claim", || async {
        Ok(pending_since().await?.is_some())
    })
    .await?;
    let since = pending_since().await?.ok_or("no since")?;
    let wait = (since + 8_000 - now_ms()).max(0) as u64;
    tokio::time::sleep(Duration::from_millis(wait)).await;
    first.kill();
    let restarted = now_ms();
    let second = Controller::start_with(env, None, start())?;
    within_30s(&second, "the resize", || async {
        let pvc = fixtures::get_pvc(client, &ns, "data").await?;
        Ok(fixtures::requested(&pvc) == "2Gi")
    })
    .await?;
    let acted = now_ms();
    let after = (acted - since) as f64 / 1000.0;
    println!(
        "pending since {since}, restarted {:.1} s in, acted {after:.1} s in",
        (restarted - since) as f64 / 1000.0
    );
    assert!(
        after >= 19.0,
        "acted {after:.1} s after pending began, before the `for` was over"
    );
    assert!(
        after < 26.0,
        "acted {after:.1} s after pending began: the restart reset the `for` clock\n{}",
        second.log()
    );
    assert!(second.log().contains("state restored"), "{}", second.log());
    second.stop()
}

/// Killed right after the resize's write, before its Event (a failpoint
/// aborts the process there): the state went in the same patch, so the
/// restarted controller sees the action in flight, takes it as done (a
/// cooldown), and never resizes again.
async fn a_kill_right_after_the_write_never_repeats_the_action(env: &Env) -> TestResult {
    let _turn = take_turn().await;
    let client = &env.kube()?.admin;
    let ns = fixtures::namespace(client, "restart-write").await?;
    fixtures::storage_class(client, "restart-write-expand", Some(true)).await?;
    let dir = tempfile::tempdir()?;
    let kubeconfig = as_deployed(env, dir.path()).await?;
    fixtures::bound_pvc(client, &ns, "data", "restart-write-expand", "1Gi").await?;
    let policy = format!(
        "policy grow {{\n  on pvc where pvc.namespace == \"{ns}\"\n  when pvc.requested > 0Gi\n  \
         then resize(+100%, max = 16Gi)\n  cooldown 1h\n}}\n"
    );
    let mut first = Controller::start_with(
        env,
        None,
        Start {
            policy: Some(&policy),
            args: &["--namespace", HOME],
            kubeconfig: Some(&kubeconfig),
            env: &[("AUTOPILOT_FAILPOINT", "after-action-write")],
            ..Start::default()
        },
    )?;
    first.exited().await?;
    assert!(
        first.log().contains("failpoint after-action-write reached"),
        "{}",
        first.log()
    );
    let pvc = fixtures::get_pvc(client, &ns, "data").await?;
    assert_eq!(fixtures::requested(&pvc), "2Gi", "the write landed");
    let state = fixtures::state_of(&pvc).ok_or("no state in the resize's patch")?;
    assert_eq!(state["policies"][0]["state"], "acting", "{state}");
    assert!(
        !has_event(client, &ns, "data", "VolumeResized").await?,
        "killed before the Event"
    );

    let second = Controller::start_with(
        env,
        None,
        Start {
            policy: Some(&policy),
            args: &["--namespace", HOME],
            kubeconfig: Some(&kubeconfig),
            ..Start::default()
        },
    )?;
    within_30s(&second, "the cooldown on the claim", || async {
        let pvc = fixtures::get_pvc(client, &ns, "data").await?;
        Ok(fixtures::state_of(&pvc).is_some_and(|s| s["policies"][0]["state"] == "cooldown"))
    })
    .await?;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let pvc = fixtures::get_pvc(client, &ns, "data").await?;
    assert_eq!(
        fixtures::requested(&pvc),
        "2Gi",
        "no second resize within the cooldown\n{}",
        second.log()
    );
    second.stop()
}

/// `at_most 1 per 1h` over two claims: one is resized, the controller is
/// killed, and the restarted one does not resize the other.
async fn at_most_is_not_reset_by_a_restart(env: &Env) -> TestResult {
    let _turn = take_turn().await;
    let client = &env.kube()?.admin;
    let ns = fixtures::namespace(client, "restart-budget").await?;
    fixtures::storage_class(client, "restart-budget-expand", Some(true)).await?;
    for name in ["a", "b"] {
        fixtures::bound_pvc(client, &ns, name, "restart-budget-expand", "1Gi").await?;
    }
    let policy = format!(
        "policy budget {{\n  on pvc where pvc.namespace == \"{ns}\"\n  when pvc.requested > 0Gi\n  \
         then resize(+100%, max = 16Gi)\n  at_most 1 per 1h\n}}\n"
    );
    let dir = tempfile::tempdir()?;
    let kubeconfig = as_deployed(env, dir.path()).await?;
    let start = || Start {
        policy: Some(&policy),
        args: &["--namespace", HOME],
        kubeconfig: Some(&kubeconfig),
        ..Start::default()
    };
    let resized = || async {
        let mut n = 0;
        for name in ["a", "b"] {
            let pvc = fixtures::get_pvc(client, &ns, name).await?;
            n += usize::from(fixtures::requested(&pvc) != "1Gi");
        }
        TestResult::Ok(n)
    };
    let first = Controller::start_with(env, None, start())?;
    let maps: Api<ConfigMap> = Api::namespaced(client.clone(), HOME);
    within_30s(&first, "one resize and the budget saved", || async {
        let saved = maps.get_opt("autopilot-state").await?.is_some();
        Ok(resized().await? == 1 && saved)
    })
    .await?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(resized().await?, 1, "at_most holds while running");
    first.kill();
    let second = Controller::start_with(env, None, start())?;
    second.probes().await?;
    within_30s(&second, "the restarted controller to tick", || async {
        Ok(second.log().contains("state restored"))
    })
    .await?;
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(
        resized().await?,
        1,
        "the budget survived the restart\n{}",
        second.log()
    );
    second.stop()
}

/// A state annotation edited by hand: garbage is dropped with a Warning
/// `StateInvalid` (the claim starts from normal and is acted on, the garbage
/// replaced); a cooldown until the year 2100 is clamped to the policy's own.
async fn garbage_or_future_state_is_dropped_or_clamped(env: &Env) -> TestResult {
    let _turn = take_turn().await;
    let client = &env.kube()?.admin;
    let ns = fixtures::namespace(client, "restart-garbage").await?;
    fixtures::storage_class(client, "restart-garbage-expand", Some(true)).await?;
    let dir = tempfile::tempdir()?;
    let kubeconfig = as_deployed(env, dir.path()).await?;
    let until_2100 = 4_102_444_800_000_i64;
    let future = json!({"v": 1, "policies": [{"source": "--policies", "policy": "grow",
        "state": "cooldown", "until": until_2100}]})
    .to_string();
    let pvcs: Api<k8s_openapi::api::core::v1::PersistentVolumeClaim> =
        Api::namespaced(client.clone(), &ns);
    for (name, state) in [("garbage", "{not json"), ("future", future.as_str())] {
        fixtures::bound_pvc(client, &ns, name, "restart-garbage-expand", "1Gi").await?;
        let patch = json!({"metadata": {"annotations": {fixtures::STATE: state}}});
        pvcs.patch(name, &PatchParams::default(), &Patch::Merge(&patch))
            .await?;
    }
    let policy = format!(
        "policy grow {{\n  on pvc where pvc.namespace == \"{ns}\"\n  when pvc.requested > 0Gi\n  \
         then resize(+100%, max = 2Gi)\n  cooldown 3s\n}}\n"
    );
    let c = Controller::start_with(
        env,
        None,
        Start {
            policy: Some(&policy),
            args: &["--namespace", HOME],
            kubeconfig: Some(&kubeconfig),
            ..Start::default()
        },
    )?;
    within_30s(&c, "both claims resized", || async {
        let mut done = true;
        for name in ["garbage", "future"] {
            let pvc = fixtures::get_pvc(client, &ns, name).await?;
            done &= fixtures::requested(&pvc) == "2Gi";
        }
        Ok(done)
    })
    .await?;
    assert!(has_event(client, &ns, "garbage", "StateInvalid").await?);
    let pvc = fixtures::get_pvc(client, &ns, "garbage").await?;
    let state = fixtures::state_of(&pvc);
    assert!(state.is_some(), "the garbage is replaced by valid state");
    let pvc = fixtures::get_pvc(client, &ns, "future").await?;
    if let Some(state) = fixtures::state_of(&pvc)
        && let Some(until) = state["policies"][0]["until"].as_i64()
    {
        assert!(until < now_ms() + 60_000, "clamped: {state}");
    }
    c.stop()
}
