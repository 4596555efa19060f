//! A Kubernetes client from a kubeconfig or from the pod's service account.

use std::path::PathBuf;

use kube::Client;
use kube::config::{Config, InferConfigError, KubeConfigOptions, Kubeconfig, KubeconfigError};

/// Where the cluster's address and credentials come from.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum ClientSource {
    /// `$KUBECONFIG` or `~/.kube/config`, else the in-cluster service account
    /// (what `kubectl` and `kube::Client::try_default` do).
    #[default]
    Infer,
    /// This kubeconfig file, with its current context or the one named.
    Kubeconfig {
        path: PathBuf,
        context: Option<String>,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error(
        "found no cluster to talk to: no usable kubeconfig ($KUBECONFIG or ~/.kube/config) and not running in a pod"
    )]
    Infer(#[source] InferConfigError),
    #[error("cannot use the kubeconfig {}", path.display())]
    Kubeconfig {
        path: PathBuf,
        #[source]
        source: KubeconfigError,
    },
    #[error("cannot build a client for {url}")]
    Build {
        url: String,
        #[source]
        source: kube::Error,
    },
}

/// The client configuration for `source`, for callers that adjust it.
pub async fn config(source: &ClientSource) -> Result<Config, ClientError> {
    match source {
        ClientSource::Infer => Config::infer().await.map_err(ClientError::Infer),
        ClientSource::Kubeconfig { path, context } => {
            let err = |source| ClientError::Kubeconfig {
                path: path.clone(),
                source,
            };
            let kubeconfig = Kubeconfig::read_from(path).map_err(err)?;
            let options = KubeConfigOptions {
                context: context.clone(),
                ..Default::default()
            };
            Config::from_custom_kubeconfig(kubeconfig, &options)
                .await
                .map_err(err)
        }
    }
}

/// A client for `source`.
///
/// kube's default retry layer is off: it retries 429, 503 and 504 up to 15
/// times, honouring `Retry-After`, so a PodDisruptionBudget's 429 on an
/// eviction would hold the tick for minutes. A failed call is the engine's to
/// retry, with its backoff, on a later tick.
pub async fn connect(source: &ClientSource) -> Result<Client, ClientError> {
    let mut config = config(source).await?;
    config.default_retry = false;
    let url = config.cluster_url.to_string();
    Client::try_from(config).map_err(|source| ClientError::Build { url, source })
}
