//! `autopilot approve NAME` and `autopilot decline NAME`: `spec.decision`
//! of a pending ActionApproval.

use super::Exit;
use super::cluster_args::{ClusterArgs, with_client};
use crate::cluster::approval::{self, ApprovalDecision, DecideError};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The ActionApproval's name (`kubectl get actionapprovals`).
    name: String,
    /// Its namespace (default: the kubeconfig context's, else `default`).
    #[arg(short = 'n', long, value_name = "NS")]
    namespace: Option<String>,
    #[command(flatten)]
    cluster: ClusterArgs,
}

pub fn run(args: Args, decision: ApprovalDecision) -> Exit {
    with_client(&args.cluster, |client| async move {
        let namespace = args
            .namespace
            .clone()
            .unwrap_or_else(|| client.default_namespace().to_string());
        match approval::decide(&client, &namespace, &args.name, decision).await {
            Ok(a) => {
                super::outln!(
                    "{decision} ActionApproval {namespace}/{}: {} on {}",
                    args.name,
                    a.spec.action,
                    a.spec.object
                );
                Exit::Ok
            }
            Err(e) => {
                eprintln!("error: {e}");
                match e {
                    DecideError::Unreachable(_) => Exit::Usage,
                    _ => Exit::Problems,
                }
            }
        }
    })
}
