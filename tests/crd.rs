//! deploy/crd.yaml is the ActionApproval CRD the code generates
//! (`autopilot crd`), byte for byte.
//!
//! Regenerate: `cargo run -- crd > deploy/crd.yaml`.

use std::path::Path;
use std::process::Command;

fn deployed() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/crd.yaml");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn deploy_holds_the_generated_crd() {
    let generated = autopilot::cluster::approval::crd_yaml();
    assert!(
        deployed() == generated,
        "deploy/crd.yaml is not the CRD the code generates; \
         run `autopilot crd > deploy/crd.yaml` (cargo run -- crd > deploy/crd.yaml)"
    );
}

#[test]
fn autopilot_crd_prints_it() {
    let out = Command::new(env!("CARGO_BIN_EXE_autopilot"))
        .arg("crd")
        .output()
        .expect("run the autopilot binary");
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        autopilot::cluster::approval::crd_yaml()
    );
}

#[test]
fn the_crd_names_the_kind_and_its_columns() {
    let crd: serde_json::Value = serde_saphyr::from_str(&deployed()).expect("YAML");
    assert_eq!(crd["metadata"]["name"], "actionapprovals.autopilot.rs");
    assert_eq!(crd["spec"]["scope"], "Namespaced");
    assert_eq!(crd["spec"]["names"]["shortNames"][0], "apa");
    let version = &crd["spec"]["versions"][0];
    assert_eq!(version["name"], "v1alpha1");
    let columns: Vec<&str> = version["additionalPrinterColumns"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c["name"].as_str())
        .collect();
    assert_eq!(columns, ["Policy", "Object", "Action", "Decision", "Age"]);
    let decision =
        &version["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]["decision"];
    assert_eq!(
        decision["enum"],
        serde_json::json!(["pending", "approved", "declined"])
    );
}
