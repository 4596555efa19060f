//! The Prometheus flags shared by the commands that query a live Prometheus
//! (`run`, `backtest`, `repl --prometheus`): one URL flag and one
//! configuration file, so that auth (bearer token or basic auth from files,
//! headers, CA, timeout) is set up the same way everywhere.

use std::path::{Path, PathBuf};

use crate::cluster::prometheus::Prometheus;
use crate::config::{self, Config};
use crate::diagnostic;
use crate::source::SourceMap;

#[derive(clap::Args, Debug, Clone, Default)]
pub struct PrometheusArgs {
    /// Prometheus's base URL, e.g. http://prometheus:9090 (or `prometheus.url` in --config).
    #[arg(long, value_name = "URL")]
    pub prometheus: Option<String>,
    /// The configuration file (docs/config.md): Prometheus auth, and for `run` the notify receivers.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

impl PrometheusArgs {
    /// The configuration file, the default without one; `None` once its
    /// problems are printed.
    pub fn read_config(&self) -> Option<Config> {
        match self.config.as_deref() {
            Some(path) => read_config(path),
            None => Some(Config::default()),
        }
    }

    /// The client for the URL of the flag (else of the file) with the file's
    /// auth; `None` once the problem is printed in one line.
    pub fn client(&self, config: &Config) -> Option<Prometheus> {
        let prom = config.prometheus.clone().with_url(self.prometheus.clone());
        if prom.url.is_none() {
            eprintln!(
                "error: give Prometheus's URL with --prometheus URL or `prometheus.url` in --config"
            );
            return None;
        }
        match Prometheus::from_config(&prom) {
            Ok(p) => Some(p),
            Err(e) => {
                eprintln!("error: {e}");
                None
            }
        }
    }
}

/// The configuration file, or `None` once its problems are printed.
fn read_config(path: &Path) -> Option<Config> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) => {
            eprintln!("error: {}: {e}", path.display());
            return None;
        }
    };
    let mut sources = SourceMap::new();
    let file = sources.add(path.display().to_string(), text.clone());
    match config::parse(file, &text) {
        Ok(config) => Some(config),
        Err(diags) => {
            eprint!(
                "{}",
                diagnostic::render_all(&sources, &diags, super::style())
            );
            eprintln!(
                "error: {}: {} problem(s) in the configuration",
                path.display(),
                diags.len()
            );
            None
        }
    }
}
