//! The cluster flags of the commands that talk to the API server as the
//! user (`approve`, `decline`, `status`), and the runtime they run on.

use std::path::PathBuf;

use super::Exit;
use crate::cluster::client::{self, ClientSource};

#[derive(clap::Args, Debug)]
pub struct ClusterArgs {
    /// The kubeconfig (default: $KUBECONFIG, ~/.kube/config, else in-cluster).
    #[arg(long, value_name = "FILE")]
    kubeconfig: Option<PathBuf>,
    /// A context of the kubeconfig.
    #[arg(long, value_name = "NAME", requires = "kubeconfig")]
    context: Option<String>,
}

impl ClusterArgs {
    fn source(&self) -> ClientSource {
        match self.kubeconfig.clone() {
            Some(path) => ClientSource::Kubeconfig {
                path,
                context: self.context.clone(),
            },
            None => ClientSource::Infer,
        }
    }
}

/// Runs `work` with a client for `args` on a small runtime; a client that
/// cannot be built is one line and [`Exit::Usage`].
pub fn with_client<F, Fut>(args: &ClusterArgs, work: F) -> Exit
where
    F: FnOnce(kube::Client) -> Fut,
    Fut: std::future::Future<Output = Exit>,
{
    let Some(runtime) = super::runtime() else {
        return Exit::Usage;
    };
    runtime.block_on(async {
        match client::connect(&args.source()).await {
            Ok(client) => work(client).await,
            Err(e) => {
                eprintln!("error: {}", crate::cluster::approval::error_chain(&e));
                Exit::Usage
            }
        }
    })
}
