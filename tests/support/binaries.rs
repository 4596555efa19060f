//! Where the real servers are: `KUBE_APISERVER`, `ETCD`, `PROMETHEUS` and `PROMTOOL` from
//! the environment, else what `scripts/test-env --print` reports.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

#[derive(Clone, Debug)]
pub struct Binaries {
    pub kube_apiserver: PathBuf,
    pub etcd: PathBuf,
    pub prometheus: PathBuf,
    pub promtool: PathBuf,
}

const KEYS: [&str; 4] = ["KUBE_APISERVER", "ETCD", "PROMETHEUS", "PROMTOOL"];

/// [`locate`], or a bench's one-line error (`NAME bench: …`) and exit 2.
pub fn locate_or_exit(bench: &str) -> Binaries {
    locate().unwrap_or_else(|e| {
        eprintln!("{bench} bench: {e}");
        std::process::exit(2)
    })
}

pub fn locate() -> Result<Binaries, String> {
    let help = "the end-to-end tests run against a real kube-apiserver, etcd and Prometheus: \
        run `eval \"$(scripts/test-env)\"` once (it builds and caches them) or set \
        KUBE_APISERVER, ETCD, PROMETHEUS and PROMTOOL";
    let mut found: BTreeMap<&str, PathBuf> = KEYS
        .iter()
        .filter_map(|k| std::env::var_os(k).map(|v| (*k, PathBuf::from(v))))
        .collect();
    if found.len() < KEYS.len() {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/test-env");
        let out = Command::new(&script)
            .arg("--print")
            .output()
            .map_err(|e| format!("cannot run {}: {e}; {help}", script.display()))?;
        if !out.status.success() {
            return Err(format!(
                "{} --print: {}; {help}",
                script.display(),
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        for line in String::from_utf8_lossy(&out.stdout).lines() {
            if let Some((k, v)) = line.split_once('=')
                && let Some(key) = KEYS.iter().find(|key| **key == k)
            {
                found.entry(key).or_insert_with(|| PathBuf::from(v));
            }
        }
    }
    let mut path = |key: &str| -> Result<PathBuf, String> {
        let p = found
            .remove(key)
            .ok_or_else(|| format!("{key} is not known; {help}"))?;
        if p.is_file() {
            Ok(p)
        } else {
            Err(format!("{key}={} does not exist; {help}", p.display()))
        }
    };
    Ok(Binaries {
        kube_apiserver: path("KUBE_APISERVER")?,
        etcd: path("ETCD")?,
        prometheus: path("PROMETHEUS")?,
        promtool: path("PROMTOOL")?,
    })
}
