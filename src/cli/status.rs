//! `autopilot status`: what the controller is doing (docs/status.md).

use super::cluster_args::{ClusterArgs, with_client};
use super::{Exit, Format};
use crate::cluster::status;
use crate::report;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The controller's namespace, where its Lease is.
    #[arg(long, value_name = "NS", default_value = "autopilot-system")]
    namespace: String,
    /// Text for people, or one JSON document.
    #[arg(long, value_enum, default_value_t)]
    format: Format,
    #[command(flatten)]
    cluster: ClusterArgs,
}

pub fn run(args: Args) -> Exit {
    with_client(&args.cluster, |client| async move {
        let status = match status::read(&client, &args.namespace).await {
            Ok(s) => s,
            Err(e) => {
                eprintln!("error: {e}");
                return Exit::Usage;
            }
        };
        let now = jiff::Timestamp::now().as_millisecond();
        match args.format {
            Format::Text => super::out!("{}", report::status::text(&status, now)),
            Format::Json => {
                let json = report::status::json(&status, now);
                super::outln!(
                    "{}",
                    serde_json::to_string_pretty(&json).unwrap_or_default()
                );
            }
        }
        Exit::Ok
    })
}
