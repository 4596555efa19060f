//! `deploy/` against the real API server: every manifest applies (server-side
//! apply, as `kubectl apply --server-side` does), and the RBAC rules hold no
//! wildcard.

use std::path::PathBuf;

use k8s_openapi::api::core::v1::ConfigMap;
use kube::Client;
use kube::api::{Api, DynamicObject, GroupVersionKind, Patch, PatchParams};
use kube::discovery::{self, Scope};
use serde_json::Value;

use crate::support::Env;
use crate::{Case, KUBE, TestResult, case};

pub fn cases() -> Vec<Case> {
    vec![case!(
        "deploy",
        KUBE,
        the_manifests_apply_and_grant_no_wildcard
    )]
}

/// Every document of every `deploy/*.yaml` but the kustomization, by file.
pub fn manifests() -> TestResult<Vec<(String, Value)>> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("deploy");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .filter(|p| p.file_name().is_some_and(|n| n != "kustomization.yaml"))
        .collect();
    files.sort();
    let mut docs = Vec::new();
    for path in files {
        let text = std::fs::read_to_string(&path)?;
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
        for part in text.split("\n---\n") {
            let value: Value = serde_saphyr::from_str(part)?;
            if value.is_object() {
                docs.push((name.clone().unwrap_or_default(), value));
            }
        }
    }
    Ok(docs)
}

/// The kustomization lists every manifest.
fn kustomized() -> TestResult<Vec<String>> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("deploy/kustomization.yaml");
    let value: Value = serde_saphyr::from_str(&std::fs::read_to_string(path)?)?;
    Ok(value["resources"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r.as_str().map(str::to_string))
        .collect())
}

pub async fn apply(client: &Client, doc: &Value) -> TestResult<String> {
    let object: DynamicObject = serde_json::from_value(doc.clone())?;
    let types = object
        .types
        .clone()
        .ok_or("a manifest without apiVersion/kind")?;
    let (group, version) = match types.api_version.split_once('/') {
        Some((g, v)) => (g.to_string(), v.to_string()),
        None => (String::new(), types.api_version.clone()),
    };
    let gvk = GroupVersionKind::gvk(&group, &version, &types.kind);
    let (resource, capabilities) = discovery::pinned_kind(client, &gvk).await?;
    let name = object
        .metadata
        .name
        .clone()
        .ok_or("a manifest without a name")?;
    let api: Api<DynamicObject> = match (capabilities.scope, &object.metadata.namespace) {
        (Scope::Namespaced, Some(ns)) => Api::namespaced_with(client.clone(), ns, &resource),
        (Scope::Namespaced, None) => return Err(format!("{name}: no namespace").into()),
        (Scope::Cluster, _) => Api::all_with(client.clone(), &resource),
    };
    let params = PatchParams::apply("autopilot-e2e").force();
    api.patch(&name, &params, &Patch::Apply(doc)).await?;
    Ok(format!("{}/{name}", types.kind))
}

async fn the_manifests_apply_and_grant_no_wildcard(env: &Env) -> TestResult {
    // The example policy ConfigMap would be loaded by other cases' controllers.
    let _turn = crate::run::take_turn().await;
    let client = &env.kube()?.admin;
    let docs = manifests()?;
    let mut listed = kustomized()?;
    listed.sort();
    let mut files: Vec<String> = docs.iter().map(|(f, _)| f.clone()).collect();
    files.sort();
    files.dedup();
    assert_eq!(listed, files, "kustomization.yaml lists every manifest");

    for (file, doc) in &docs {
        for rule in doc["rules"].as_array().into_iter().flatten() {
            for field in ["apiGroups", "resources", "verbs", "resourceNames"] {
                let values = rule[field].as_array().into_iter().flatten();
                for v in values {
                    assert_ne!(
                        v.as_str(),
                        Some("*"),
                        "{file}: a wildcard in {field}: {rule}"
                    );
                }
            }
        }
    }
    // In the kustomization's order, as kubectl applies it: the namespace first.
    let mut applied = Vec::new();
    for file in kustomized()? {
        for (_, doc) in docs.iter().filter(|(f, _)| *f == file) {
            applied.push(apply(client, doc).await?);
        }
    }
    applied.sort();
    assert_eq!(
        applied,
        [
            "ClusterRole/autopilot",
            "ClusterRoleBinding/autopilot",
            "ConfigMap/example-policies",
            "CustomResourceDefinition/actionapprovals.autopilot.rs",
            "Deployment/autopilot",
            "Namespace/autopilot-system",
            "Role/autopilot-leader",
            "RoleBinding/autopilot-leader",
            "ServiceAccount/autopilot",
        ]
    );
    // The example policy checks.
    let cm = Api::<ConfigMap>::namespaced(client.clone(), "autopilot-system")
        .get("example-policies")
        .await?;
    let text = cm
        .data
        .unwrap_or_default()
        .remove("grow.apr")
        .unwrap_or_default();
    let c = autopilot::compile::compile(vec![("grow.apr".into(), text)]);
    assert!(!c.has_errors(), "{:?}", c.diagnostics);
    Api::<ConfigMap>::namespaced(client.clone(), "autopilot-system")
        .delete("example-policies", &Default::default())
        .await?;
    Ok(())
}
