//! The fault matrix (issue 12, item 7): `autopilot run` as a process, with
//! a fault proxy (fault_proxy.rs) in front of Prometheus or of the API
//! server, or a policy ConfigMap the controller must survive. Each case
//! checks that nothing wrong is written, that the log says why, that
//! /healthz stays 200, and that the controller acts once the fault clears.
//!
//! A transient failure of an action backs off 30 s (docs/semantics.md,
//! section 8), so the transient API answers share one case, one claim each.

use std::time::{Duration, Instant};

use hyper::Method;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::Client;
use kube::api::{Api, Patch, PatchParams, PostParams};
use serde_json::json;

use crate::fault_proxy::{Answer, Fault, FaultProxy, Seen};
use crate::fixtures;
use crate::run::{
    Controller, Start, annotation, exporter_text, has_event, http_get, put_config_map, take_turn,
    within_30s,
};
use crate::support::Env;
use crate::{BOTH, Case, TestResult, case};

pub fn cases() -> Vec<Case> {
    vec![
        case!("faults", BOTH, prometheus_slow_past_the_timeout),
        case!("faults", BOTH, prometheus_answering_an_empty_result),
        case!("faults", BOTH, prometheus_answering_nan),
        case!("faults", BOTH, prometheus_answering_500),
        case!("faults", BOTH, prometheus_answering_a_body_that_is_not_json),
        case!("faults", BOTH, prometheus_answering_a_truncated_body),
        case!(
            "faults",
            BOTH,
            api_409_429_500_on_the_resize_back_off_then_act
        ),
        case!(
            "faults",
            BOTH,
            api_403_on_the_resize_holds_until_the_claim_changes
        ),
        case!(
            "faults",
            BOTH,
            api_422_on_the_resize_holds_until_the_claim_changes
        ),
        case!("faults", BOTH, api_server_down_and_back),
        case!("faults", BOTH, a_watch_cut_resumes),
        case!("faults", BOTH, a_watch_answering_500_then_410_relists),
        case!("faults", BOTH, a_one_megabyte_policy_configmap),
        case!("faults", BOTH, a_policy_configmap_with_binary_data),
    ]
}

/// Polls `check` for up to `secs`.
async fn within<F, Fut>(c: &Controller, secs: u64, what: &str, mut check: F) -> TestResult
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = TestResult<bool>>,
{
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !check().await? {
        if Instant::now() > deadline {
            return Err(format!(
                "timed out waiting for {what}; the controller said:\n{}",
                c.log()
            )
            .into());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Ok(())
}

fn count(seen: &[Seen], pick: impl Fn(&Seen) -> bool) -> usize {
    seen.iter().filter(|s| pick(s)).count()
}

// ---------------------------------------------------------------- Prometheus

/// Prometheus behind the proxy answers `answer` to every query while the
/// series says full: no write, the log says `said` once (if anything),
/// /healthz 200; passed through again, the policy grows the claim.
async fn prometheus_fault(
    env: &Env,
    name: &str,
    answer: Answer,
    config: Option<&str>,
    said: Option<&str>,
) -> TestResult {
    let turn = take_turn().await;
    let client = &env.kube()?.admin;
    let prom = env.prometheus()?;
    let ns = fixtures::namespace(client, &format!("faults-{name}")).await?;
    let class = format!("faults-{name}-expand");
    fixtures::storage_class(client, &class, Some(true)).await?;
    let data = fixtures::bound_pvc(client, &ns, "data", &class, "1Gi").await?;
    let metric = format!("autopilot_e2e_faults_{}", name.replace('-', "_"));
    prom.exporter
        .set(&ns, &exporter_text(&metric, &[(&ns, "data", 0.9)]));
    let policy = format!(
        "metric pvc.fault_fill : percent = `{metric} * 100`\n\
         policy grow {{\n  on pvc where pvc.namespace == \"{ns}\"\n  when pvc.fault_fill > 50% for 1s\n  \
         then resize(+100%, max = 4Gi)\n  cooldown 1m\n}}\n"
    );
    let proxy = FaultProxy::http(&prom.url).await?;
    proxy.inject(Fault::on("/api/v1/query", answer));
    let c = Controller::start_with(
        env,
        turn,
        Start {
            policy: Some(&policy),
            prometheus: Some(&proxy.url),
            config,
            ..Start::default()
        },
    )?;
    let probes = c.probes().await?;
    within_30s(&c, "a few queries through the fault", || async {
        Ok(count(&proxy.seen(), |s| s.path.ends_with("/api/v1/query")) >= 3)
    })
    .await?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(http_get(&probes, "/healthz")?, 200);
    let log = c.log();
    if let Some(said) = said {
        assert_eq!(log.matches(said).count(), 1, "said once:\n{log}");
    }
    assert!(!log.contains("→ pending"), "no data, no clock:\n{log}");
    let now = fixtures::get_pvc(client, &ns, "data").await?;
    assert_eq!(
        fixtures::apart_from_state(&now),
        fixtures::apart_from_state(&data),
        "nothing is written while the answers are bad:\n{log}"
    );

    proxy.clear();
    within_30s(
        &c,
        "the claim to grow once the answers are good",
        || async {
            let pvc = fixtures::get_pvc(client, &ns, "data").await?;
            Ok(fixtures::requested(&pvc) == "2Gi")
        },
    )
    .await?;
    if said.is_some() {
        within_30s(&c, "the recovery to be logged", || async {
            Ok(c.log().contains("the query answers again"))
        })
        .await?;
    }
    assert_eq!(http_get(&probes, "/healthz")?, 200);
    c.stop()
}

/// Answers after 2 s, past the configured 500ms.
async fn prometheus_slow_past_the_timeout(env: &Env) -> TestResult {
    let config = "prometheus:\n  timeout: 500ms\n";
    let slow = Answer::Slow(Duration::from_secs(2));
    prometheus_fault(
        env,
        "prom-slow",
        slow,
        Some(config),
        Some("the query failed"),
    )
    .await
}

/// No series: no data, which is not an error.
async fn prometheus_answering_an_empty_result(env: &Env) -> TestResult {
    let body = r#"{"status":"success","data":{"resultType":"vector","result":[]}}"#;
    let empty = Answer::Raw {
        code: 200,
        body: body.into(),
    };
    prometheus_fault(env, "prom-empty", empty, None, None).await
}

/// The claim's series with the value NaN: no data.
async fn prometheus_answering_nan(env: &Env) -> TestResult {
    let now = jiff::Timestamp::now().as_second();
    let body = json!({"status": "success", "data": {"resultType": "vector", "result": [{
        "metric": {"namespace": "faults-prom-nan", "persistentvolumeclaim": "data"},
        "value": [now, "NaN"],
    }]}});
    let nan = Answer::Raw {
        code: 200,
        body: body.to_string(),
    };
    prometheus_fault(env, "prom-nan", nan, None, None).await
}

async fn prometheus_answering_500(env: &Env) -> TestResult {
    let body =
        r#"{"status":"error","errorType":"internal","error":"injected by the e2e fault proxy"}"#;
    let failing = Answer::Raw {
        code: 500,
        body: body.into(),
    };
    prometheus_fault(env, "prom-500", failing, None, Some("the query failed")).await
}

async fn prometheus_answering_a_body_that_is_not_json(env: &Env) -> TestResult {
    let html = Answer::Raw {
        code: 200,
        body: "<html><body>502 Bad Gateway</body></html>".into(),
    };
    prometheus_fault(env, "prom-html", html, None, Some("the query failed")).await
}

async fn prometheus_answering_a_truncated_body(env: &Env) -> TestResult {
    let cut = Answer::Raw {
        code: 200,
        body: r#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{"na"#
            .into(),
    };
    prometheus_fault(env, "prom-cut", cut, None, Some("the query failed")).await
}

// ---------------------------------------------------------------- API server

/// The API server through a TLS fault proxy, as the controller sees it.
struct Api2 {
    proxy: FaultProxy,
    kubeconfig: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

async fn api_proxy(env: &Env) -> TestResult<Api2> {
    let kube = env.kube()?;
    let proxy = FaultProxy::https(&kube.kubeconfig).await?;
    let dir = tempfile::tempdir()?;
    let kubeconfig = proxy.kubeconfig(&kube.kubeconfig, dir.path())?;
    Ok(Api2 {
        proxy,
        kubeconfig,
        _dir: dir,
    })
}

/// A resize, not a state write: its patch names the storage request.
fn resize_of(name: &str) -> impl Fn(&Seen) -> bool + '_ {
    move |s| {
        s.method == Method::PATCH
            && s.path.ends_with(&format!("/persistentvolumeclaims/{name}"))
            && s.body.contains("\"storage\"")
    }
}

fn resize_fault(name: &str, answer: Answer) -> Fault {
    Fault {
        method: Some(Method::PATCH),
        body: Some("\"storage\"".into()),
        times: 1,
        ..Fault::on(&format!("/persistentvolumeclaims/{name}"), answer)
    }
}

fn grow_policy(ns: &str) -> String {
    format!(
        "policy grow {{\n  on pvc where pvc.namespace == \"{ns}\"\n  when pvc.requested > 0Gi\n  \
         then resize(+100%, max = 2Gi)\n  cooldown 1m\n}}\n"
    )
}

async fn resize_events(client: &Client, ns: &str, name: &str) -> TestResult<i32> {
    let events = fixtures::events_about(client, ns, name).await?;
    Ok(events
        .iter()
        .filter(|e| e.reason.as_deref() == Some("VolumeResized"))
        .map(|e| e.series.as_ref().map_or(1, |s| s.count))
        .sum())
}

/// 409, 429 (Retry-After: 1) and 500 on the first resize patch of one claim
/// each: no write, a ResizeFailed, the reason in the log; after the
/// engine's 30 s backoff, one resize each, never two.
async fn api_409_429_500_on_the_resize_back_off_then_act(env: &Env) -> TestResult {
    let turn = take_turn().await;
    let client = &env.kube()?.admin;
    let ns = fixtures::namespace(client, "faults-api-transient").await?;
    let class = "faults-api-transient-expand";
    fixtures::storage_class(client, class, Some(true)).await?;
    let api = api_proxy(env).await?;
    let claims = [
        ("c409", 409, None),
        ("c429", 429, Some(1)),
        ("c500", 500, None),
    ];
    for (name, code, retry_after) in claims {
        fixtures::bound_pvc(client, &ns, name, class, "1Gi").await?;
        let answer = Answer::Status { code, retry_after };
        api.proxy.inject(resize_fault(name, answer));
    }
    let policy = grow_policy(&ns);
    let c = Controller::start_with(
        env,
        turn,
        Start {
            policy: Some(&policy),
            kubeconfig: Some(&api.kubeconfig),
            ..Start::default()
        },
    )?;
    let probes = c.probes().await?;
    let failed = Instant::now();
    for (name, _, _) in claims {
        within_30s(&c, &format!("a ResizeFailed on {name}"), || async {
            has_event(client, &ns, name, "ResizeFailed").await
        })
        .await?;
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(http_get(&probes, "/healthz")?, 200);
    let log = c.log();
    for (name, code, _) in claims {
        let pvc = fixtures::get_pvc(client, &ns, name).await?;
        assert_eq!(fixtures::requested(&pvc), "1Gi", "{name}:\n{log}");
        let seen = api.proxy.seen();
        assert_eq!(
            count(&seen, resize_of(name)),
            1,
            "{name}: no retry in the backoff:\n{log}"
        );
        assert!(
            log.contains(&format!("{code} ")),
            "{name}: the code is said:\n{log}"
        );
    }

    for (name, _, _) in claims {
        within(
            &c,
            45,
            &format!("{name} to grow after the backoff"),
            || async {
                let pvc = fixtures::get_pvc(client, &ns, name).await?;
                Ok(fixtures::requested(&pvc) == "2Gi")
            },
        )
        .await?;
    }
    let took = failed.elapsed();
    within_30s(&c, "the VolumeResized events", || async {
        for (name, _, _) in claims {
            if resize_events(client, &ns, name).await? == 0 {
                return Ok(false);
            }
        }
        Ok(true)
    })
    .await?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let seen = api.proxy.seen();
    for (name, _, _) in claims {
        assert_eq!(
            count(&seen, resize_of(name)),
            2,
            "{name}: one failed, one applied"
        );
        assert_eq!(
            resize_events(client, &ns, name).await?,
            1,
            "{name}: resized once"
        );
        let pvc = fixtures::get_pvc(client, &ns, name).await?;
        assert_eq!(fixtures::requested(&pvc), "2Gi", "{name}: never twice");
    }
    assert_eq!(http_get(&probes, "/healthz")?, 200);
    eprintln!("transient API errors: resized {took:?} after the failures");
    c.stop()
}

/// A permanent refusal of the resize: said once, not retried, the claim
/// unchanged; once the claim changes (a label), the resize runs.
async fn permanent_fault(env: &Env, code: u16) -> TestResult {
    let turn = take_turn().await;
    let client = &env.kube()?.admin;
    let ns = fixtures::namespace(client, &format!("faults-api-{code}")).await?;
    let class = format!("faults-api-{code}-expand");
    fixtures::storage_class(client, &class, Some(true)).await?;
    fixtures::bound_pvc(client, &ns, "data", &class, "1Gi").await?;
    let api = api_proxy(env).await?;
    api.proxy.inject(resize_fault("data", Answer::status(code)));
    let policy = grow_policy(&ns);
    let c = Controller::start_with(
        env,
        turn,
        Start {
            policy: Some(&policy),
            kubeconfig: Some(&api.kubeconfig),
            ..Start::default()
        },
    )?;
    let probes = c.probes().await?;
    within_30s(&c, "a ResizeFailed", || async {
        has_event(client, &ns, "data", "ResizeFailed").await
    })
    .await?;
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(http_get(&probes, "/healthz")?, 200);
    let log = c.log();
    assert_eq!(
        count(&api.proxy.seen(), resize_of("data")),
        1,
        "held, not retried:\n{log}"
    );
    let pvc = fixtures::get_pvc(client, &ns, "data").await?;
    assert_eq!(fixtures::requested(&pvc), "1Gi");
    assert!(
        log.contains("permanent"),
        "the failure is said permanent:\n{log}"
    );

    // A change to the claim lifts the hold.
    let pvcs: Api<k8s_openapi::api::core::v1::PersistentVolumeClaim> =
        Api::namespaced(client.clone(), &ns);
    let label = json!({"metadata": {"labels": {"e2e.autopilot.rs/touched": "yes"}}});
    pvcs.patch("data", &PatchParams::default(), &Patch::Merge(&label))
        .await?;
    within_30s(&c, "the claim to grow once it changed", || async {
        let pvc = fixtures::get_pvc(client, &ns, "data").await?;
        Ok(fixtures::requested(&pvc) == "2Gi")
    })
    .await?;
    assert_eq!(count(&api.proxy.seen(), resize_of("data")), 2);
    c.stop()
}

async fn api_403_on_the_resize_holds_until_the_claim_changes(env: &Env) -> TestResult {
    permanent_fault(env, 403).await
}

async fn api_422_on_the_resize_holds_until_the_claim_changes(env: &Env) -> TestResult {
    permanent_fault(env, 422).await
}

fn mark_policy(ns: &str) -> String {
    format!(
        "policy mark {{\n  on pvc where pvc.namespace == \"{ns}\"\n  when pvc.requested > 0Gi\n  \
         then annotate(\"autopilot.rs/mark\", \"yes\")\n}}\n"
    )
}

async fn marked(client: &Client, ns: &str, name: &str) -> TestResult<bool> {
    Ok(annotation(client, ns, name, "autopilot.rs/mark").await? == Some("yes".into()))
}

/// The controller through the proxy, with the mark policy, once it marked
/// a first claim.
async fn marking(env: &Env, ns: &str) -> TestResult<(Api2, Controller, String)> {
    let turn = take_turn().await;
    let client = &env.kube()?.admin;
    fixtures::namespace(client, ns).await?;
    fixtures::pending_pvc(client, ns, "first", "none", "1Gi").await?;
    let api = api_proxy(env).await?;
    let policy = mark_policy(ns);
    let c = Controller::start_with(
        env,
        turn,
        Start {
            policy: Some(&policy),
            kubeconfig: Some(&api.kubeconfig),
            ..Start::default()
        },
    )?;
    let probes = c.probes().await?;
    within_30s(&c, "the first claim to be marked", || async {
        marked(client, ns, "first").await
    })
    .await?;
    Ok((api, c, probes))
}

/// The API server unreachable for 30 s (every connection closed at once,
/// open watches cut), then back: the controller stays up and healthy, and
/// marks a claim created while it was down.
async fn api_server_down_and_back(env: &Env) -> TestResult {
    let client = &env.kube()?.admin;
    let ns = "faults-api-down";
    let (api, c, probes) = marking(env, ns).await?;
    api.proxy.set_down(true);
    fixtures::pending_pvc(client, ns, "second", "none", "1Gi").await?;
    for _ in 0..15 {
        tokio::time::sleep(Duration::from_secs(2)).await;
        assert_eq!(http_get(&probes, "/healthz")?, 200, "{}", c.log());
    }
    assert!(!marked(client, ns, "second").await?);
    api.proxy.set_down(false);
    let back = Instant::now();
    within(
        &c,
        45,
        "the claim created while down to be marked",
        || async { marked(client, ns, "second").await },
    )
    .await?;
    let took = back.elapsed();
    let log = c.log();
    assert!(log.contains("watch failed"), "{log}");
    assert!(log.contains("watch recovered"), "{log}");
    assert_eq!(http_get(&probes, "/healthz")?, 200);
    eprintln!("API server down for 30 s: marked {took:?} after it came back");
    c.stop()
}

fn is_claim_watch(s: &Seen) -> bool {
    s.path == "/api/v1/persistentvolumeclaims" && s.is_watch()
}

fn is_claim_list(s: &Seen) -> bool {
    s.method == Method::GET && s.path == "/api/v1/persistentvolumeclaims" && !s.is_watch()
}

/// The claims' watch ends (as when the API server drops it): the watcher
/// watches again and a claim created after the cut is marked.
async fn a_watch_cut_resumes(env: &Env) -> TestResult {
    let client = &env.kube()?.admin;
    let ns = "faults-watch-cut";
    let (api, c, probes) = marking(env, ns).await?;
    let watches = count(&api.proxy.seen(), is_claim_watch);
    api.proxy.cut_watches();
    fixtures::pending_pvc(client, ns, "second", "none", "1Gi").await?;
    within_30s(
        &c,
        "the claim created after the cut to be marked",
        || async { marked(client, ns, "second").await },
    )
    .await?;
    let seen = api.proxy.seen();
    assert!(count(&seen, is_claim_watch) > watches, "watched again");
    assert_eq!(http_get(&probes, "/healthz")?, 200);
    c.stop()
}

/// The claims' watch is cut, the next two watches answer 500 and the one
/// after opens with a 410 Expired event: the watcher backs off, relists,
/// and a claim created meanwhile is marked.
async fn a_watch_answering_500_then_410_relists(env: &Env) -> TestResult {
    let client = &env.kube()?.admin;
    let ns = "faults-watch-410";
    let (api, c, probes) = marking(env, ns).await?;
    let on_watch = |times, answer| Fault {
        method: Some(Method::GET),
        query: Some("watch=true".into()),
        times,
        ..Fault::on("/api/v1/persistentvolumeclaims", answer)
    };
    api.proxy.inject(on_watch(2, Answer::status(500)));
    api.proxy.inject(on_watch(1, Answer::WatchExpired));
    let lists = count(&api.proxy.seen(), is_claim_list);
    api.proxy.cut_watches();
    fixtures::pending_pvc(client, ns, "second", "none", "1Gi").await?;
    within_30s(&c, "the claim created meanwhile to be marked", || async {
        marked(client, ns, "second").await
    })
    .await?;
    let seen = api.proxy.seen();
    let injected: Vec<u16> = seen
        .iter()
        .filter(|s| is_claim_watch(s))
        .filter_map(|s| s.injected)
        .collect();
    assert_eq!(injected, [500, 500, 410]);
    assert!(
        count(&seen, is_claim_list) > lists,
        "relisted after the 410"
    );
    let log = c.log();
    assert!(log.contains("watch failed"), "{log}");
    assert!(log.contains("watch recovered"), "{log}");
    assert_eq!(http_get(&probes, "/healthz")?, 200);
    c.stop()
}

// ---------------------------------------------------------------- ConfigMaps

/// A 1 MB policy ConfigMap: ~7,200 valid policies; another holding one
/// policy and a comment of ~1 MB. Both load, with a PolicyLoaded Event
/// each; the controller keeps ticking, and a small ConfigMap's policy
/// keeps acting.
async fn a_one_megabyte_policy_configmap(env: &Env) -> TestResult {
    let turn = take_turn().await;
    let client = &env.kube()?.admin;
    let ns = fixtures::namespace(client, "faults-cm-big").await?;
    fixtures::pending_pvc(client, &ns, "first", "none", "1Gi").await?;
    put_config_map(client, &ns, "small", "mark.apr", &mark_policy(&ns)).await?;
    let mut many = String::new();
    let mut i = 0;
    while many.len() < 1_000_000 {
        many.push_str(&format!(
            "policy p{i:05} {{\n  on pvc where pvc.namespace == \"faults-nowhere\"\n  \
             when pvc.requested > {i}Gi\n  then annotate(\"autopilot.rs/p\", \"{i}\")\n}}\n"
        ));
        i += 1;
    }
    put_config_map(client, &ns, "many", "many.apr", &many).await?;
    let mut comment = mark_policy("faults-nowhere");
    while comment.len() < 1_000_000 {
        comment.push_str("# a long comment, as a pasted runbook might be, line after line\n");
    }
    put_config_map(client, &ns, "comment", "comment.apr", &comment).await?;
    let started = Instant::now();
    let c = Controller::start_with(env, turn, Start::default())?;
    let probes = c.probes().await?;
    within_30s(&c, "the small ConfigMap's policy to act", || async {
        marked(client, &ns, "first").await
    })
    .await?;
    for name in ["many", "comment"] {
        within_30s(&c, &format!("{name} loaded or refused"), || async {
            Ok(has_event(client, &ns, name, "PolicyLoaded").await?
                || has_event(client, &ns, name, "PolicyInvalid").await?)
        })
        .await?;
    }
    let loaded = started.elapsed();
    fixtures::pending_pvc(client, &ns, "second", "none", "1Gi").await?;
    within_30s(&c, "a claim created after to be marked", || async {
        marked(client, &ns, "second").await
    })
    .await?;
    assert_eq!(http_get(&probes, "/healthz")?, 200);
    for name in ["many", "comment"] {
        let events = fixtures::events_about(client, &ns, name).await?;
        let said: Vec<_> = events.iter().map(|e| (&e.reason, &e.note)).collect();
        assert!(
            events
                .iter()
                .any(|e| e.reason.as_deref() == Some("PolicyLoaded")),
            "{name}: {said:?}\n{}",
            c.log()
        );
    }
    eprintln!("a 1 MB policy ConfigMap: {i} policies loaded within {loaded:?} of the start");
    delete_config_maps(client, &ns, &["small", "many", "comment"]).await?;
    c.stop()
}

/// A ConfigMap whose `.apr` key is in binaryData (not UTF-8): no crash, a
/// Warning PolicyInvalid on it that names the key; a small ConfigMap's
/// policy keeps acting.
async fn a_policy_configmap_with_binary_data(env: &Env) -> TestResult {
    let turn = take_turn().await;
    let client = &env.kube()?.admin;
    let ns = fixtures::namespace(client, "faults-cm-binary").await?;
    fixtures::pending_pvc(client, &ns, "first", "none", "1Gi").await?;
    put_config_map(client, &ns, "small", "mark.apr", &mark_policy(&ns)).await?;
    // base64 of 0xff 0xfe "policy" 0x00 0x80.
    let binary: ConfigMap = serde_json::from_value(json!({
        "metadata": {"name": "binary", "labels": {"autopilot.rs/policy": "true"}},
        "binaryData": {"grow.apr": "//5wb2xpY3kAgA=="},
    }))?;
    Api::<ConfigMap>::namespaced(client.clone(), &ns)
        .create(&PostParams::default(), &binary)
        .await?;
    let c = Controller::start_with(env, turn, Start::default())?;
    let probes = c.probes().await?;
    within_30s(&c, "the small ConfigMap's policy to act", || async {
        marked(client, &ns, "first").await
    })
    .await?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    fixtures::pending_pvc(client, &ns, "second", "none", "1Gi").await?;
    within_30s(&c, "a claim created after to be marked", || async {
        marked(client, &ns, "second").await
    })
    .await?;
    assert_eq!(http_get(&probes, "/healthz")?, 200);
    // It is said something of, loaded or refused.
    let events = fixtures::events_about(client, &ns, "binary").await?;
    let said: Vec<_> = events.iter().map(|e| (&e.reason, &e.note)).collect();
    assert!(
        events
            .iter()
            .any(|e| e.reason.as_deref() == Some("PolicyInvalid")
                && e.note
                    .as_deref()
                    .is_some_and(|n| n.contains("grow.apr: in binaryData"))),
        "{said:?}"
    );
    delete_config_maps(client, &ns, &["small", "binary"]).await?;
    c.stop()
}

async fn delete_config_maps(client: &Client, ns: &str, names: &[&str]) -> TestResult {
    let api: Api<ConfigMap> = Api::namespaced(client.clone(), ns);
    for name in names {
        api.delete(name, &Default::default()).await?;
    }
    Ok(())
}
