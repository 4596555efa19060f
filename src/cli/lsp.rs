//! `autopilot lsp`: the language server over stdio (`crate::lsp`).
//!
//! Exit codes: 0 after `exit` (or when the client goes away), 2 when the
//! client never initializes.

use super::Exit;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Accepted for editors that pass it; stdio is the only transport.
    #[arg(long)]
    stdio: bool,
}

pub fn run(_args: Args) -> Exit {
    let (connection, io) = lsp_server::Connection::stdio();
    let served = crate::lsp::serve(&connection);
    drop(connection);
    let _ = io.join();
    match served {
        Ok(()) => Exit::Ok,
        Err(e) => {
            eprintln!("error: {e}");
            Exit::Usage
        }
    }
}
