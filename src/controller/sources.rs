//! Where the controller's policies come from: `--policies` (files on disk,
//! cluster-wide) and ConfigMaps labelled `autopilot.rs/policy: "true"` in any
//! namespace, one `.apr` file per key.
//!
//! Each source is checked on its own, so policy names are per source (two
//! teams may both call a policy `grow`). A ConfigMap outside the
//! controller's namespace has authority over its namespace only: it acts
//! only on objects there, and a policy of it on a cluster-scoped kind (a
//! node) is a check error for that ConfigMap ([`AUTHORITY`]).

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex};

use k8s_openapi::api::core::v1::ConfigMap;
use kube::{Api, Client};

use super::objects::{self, Mirror};
use crate::compile;
use crate::diagnostic::{self, Diagnostic, Style};
use crate::ir::{Kind, Mode, Program};

/// The label that makes a ConfigMap a policy source.
pub const LABEL: &str = "autopilot.rs/policy";

/// A ConfigMap's policy reaches past its namespace.
pub const AUTHORITY: &str = "apr::source::authority";

/// One source of policies.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SourceId {
    /// `--policies`.
    Files,
    ConfigMap {
        namespace: String,
        name: String,
    },
}

impl fmt::Display for SourceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SourceId::Files => f.write_str("--policies"),
            SourceId::ConfigMap { namespace, name } => write!(f, "configmap {namespace}/{name}"),
        }
    }
}

/// What a source's policies may act on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Scope {
    /// `--policies` and the controller's namespace: every object.
    Cluster,
    /// A ConfigMap elsewhere: the objects of its namespace only.
    Namespace(String),
}

impl Scope {
    /// The scope of a ConfigMap in `namespace` for a controller in `home`.
    pub fn of(namespace: &str, home: &str) -> Scope {
        if namespace == home {
            Scope::Cluster
        } else {
            Scope::Namespace(namespace.to_string())
        }
    }

    /// Whether an object in `namespace` (None: cluster-scoped) is in scope.
    pub fn covers(&self, namespace: Option<&str>) -> bool {
        match self {
            Scope::Cluster => true,
            Scope::Namespace(n) => namespace == Some(n.as_str()),
        }
    }
}

/// The `.apr` keys of one labelled ConfigMap, as last seen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyMap {
    pub namespace: String,
    pub name: String,
    /// `(key, text)`, in key order; keys not ending in `.apr` are left out.
    pub files: Vec<(String, String)>,
    /// `.apr` keys of `binaryData` that are not UTF-8 text: refused, said so.
    pub unreadable: Vec<String>,
}

impl PolicyMap {
    pub fn id(&self) -> SourceId {
        SourceId::ConfigMap {
            namespace: self.namespace.clone(),
            name: self.name.clone(),
        }
    }

    /// The files as the checker names them: `configmap/NS/NAME/KEY`.
    pub fn named_files(&self) -> Vec<(String, String)> {
        self.files
            .iter()
            .map(|(key, text)| {
                let name = format!("configmap/{}/{}/{key}", self.namespace, self.name);
                (name, text.clone())
            })
            .collect()
    }
}

/// A ConfigMap as a policy source (None when it has no name).
pub fn policy_map(cm: &ConfigMap) -> Option<PolicyMap> {
    let namespace = cm.metadata.namespace.clone()?;
    let name = cm.metadata.name.clone()?;
    let mut files: Vec<(String, String)> = cm
        .data
        .iter()
        .flatten()
        .filter(|(k, _)| k.ends_with(".apr"))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    // `kubectl create configmap --from-file` puts a file that is not UTF-8
    // in binaryData; one that is UTF-8 is read as text all the same.
    let mut unreadable = Vec::new();
    for (k, v) in cm.binary_data.iter().flatten() {
        if !k.ends_with(".apr") {
            continue;
        }
        match String::from_utf8(v.0.clone()) {
            Ok(text) => files.push((k.clone(), text)),
            Err(_) => unreadable.push(k.clone()),
        }
    }
    files.sort();
    Some(PolicyMap {
        namespace,
        name,
        files,
        unreadable,
    })
}

/// A source's files, checked.
#[derive(Debug)]
pub struct Built {
    /// The policies without errors (one bad policy never stops the others).
    pub program: Program,
    pub errors: usize,
    /// Every diagnostic, rendered without colour, for logs and Events.
    pub rendered: String,
}

/// Checks `files` as one source of `scope`, adding the [`AUTHORITY`] errors
/// (and leaving those policies out).
pub fn build(files: Vec<(String, String)>, scope: &Scope, dry_run: bool) -> Built {
    let c = compile::compile(files);
    let mut diagnostics = c.diagnostics.clone();
    let mut program = c.checked.program;
    if let Scope::Namespace(namespace) = scope {
        program.policies.retain(|p| {
            let reaches = p.kind == Kind::Node;
            if reaches {
                diagnostics.push(authority(p.span, p.kind, namespace));
            }
            !reaches
        });
    }
    if dry_run {
        for p in &mut program.policies {
            p.mode = Mode::DryRun;
        }
    }
    diagnostics.sort_by_key(|d| d.primary.span);
    let rendered = diagnostics
        .iter()
        .map(|d| diagnostic::render(&c.sources, d, Style::PLAIN))
        .collect();
    Built {
        program,
        errors: diagnostics.iter().filter(|d| d.is_error()).count(),
        rendered,
    }
}

fn authority(span: crate::source::Span, kind: Kind, namespace: &str) -> Diagnostic {
    Diagnostic::error(
        AUTHORITY,
        span,
        format!(
            "a policy in namespace `{namespace}` may not act on {}s: they are cluster-scoped",
            kind.name()
        ),
    )
    .label("this policy reaches past its namespace")
    .help(
        "put it in a ConfigMap in the controller's namespace (--namespace) or under \
         --policies, which may hold cluster-wide policies",
    )
}

/// The labelled ConfigMaps, mirrored by a watcher.
#[derive(Clone, Default)]
pub struct PolicyMaps {
    mirror: Arc<Mutex<Mirror<PolicyMap>>>,
}

impl PolicyMaps {
    /// Starts the watcher of labelled ConfigMaps in every namespace.
    pub fn watch(client: &Client) -> PolicyMaps {
        let maps = PolicyMaps::default();
        let config = objects::config().labels(&format!("{LABEL}=true"));
        objects::spawn(
            Api::<ConfigMap>::all(client.clone()),
            config,
            "configmap",
            |cm| {
                let ns = cm.metadata.namespace.as_deref().unwrap_or_default();
                let name = cm.metadata.name.as_deref().unwrap_or_default();
                (format!("{ns}/{name}"), policy_map(cm))
            },
            Arc::clone(&maps.mirror),
        );
        maps
    }

    pub fn synced(&self) -> bool {
        self.mirror.lock().map(|m| m.synced).unwrap_or(false)
    }

    /// The ConfigMaps as they are now.
    pub fn view(&self) -> BTreeMap<SourceId, PolicyMap> {
        self.mirror
            .lock()
            .map(|m| m.live.values().map(|p| (p.id(), p.clone())).collect())
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NODE_POLICY: &str =
        "policy drain_bad {\n  on node\n  when node.ready == false for 5m\n  then cordon()\n}\n";

    #[test]
    fn a_namespaced_source_may_not_act_on_nodes() {
        let files = vec![(
            "configmap/team/p/nodes.apr".to_string(),
            NODE_POLICY.to_string(),
        )];
        let built = build(files.clone(), &Scope::Namespace("team".into()), false);
        assert_eq!(built.errors, 1);
        assert!(built.program.policies.is_empty(), "the policy is left out");
        insta::assert_snapshot!(built.rendered);
        // The controller's namespace, and --policies, may.
        let home = build(
            files,
            &Scope::of("autopilot-system", "autopilot-system"),
            false,
        );
        assert_eq!(home.errors, 0, "{}", home.rendered);
        assert_eq!(home.program.policies.len(), 1);
    }

    #[test]
    fn scopes_cover_their_namespace_only() {
        let team = Scope::of("team", "autopilot-system");
        assert!(team.covers(Some("team")));
        assert!(!team.covers(Some("db")) && !team.covers(None));
        assert!(Scope::Cluster.covers(None) && Scope::Cluster.covers(Some("db")));
    }

    #[test]
    fn only_apr_keys_are_policies() {
        let cm: ConfigMap = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "p", "namespace": "team", "labels": {LABEL: "true"}},
            "data": {"grow.apr": "x", "README": "not a policy"}
        }))
        .unwrap();
        let map = policy_map(&cm).unwrap();
        assert_eq!(map.files, [("grow.apr".to_string(), "x".to_string())]);
        assert_eq!(map.named_files()[0].0, "configmap/team/p/grow.apr");
    }
}
