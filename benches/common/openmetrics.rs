//! History as OpenMetrics text, streamed to a file, and its backfill into
//! TSDB blocks with `promtool tsdb create-blocks-from openmetrics`.

use std::io::{BufWriter, Write};
use std::path::Path;
use std::process::Command;

/// An OpenMetrics file being written: gauge families, each with its series
/// in time order (timestamps in seconds, as the format has them).
pub struct Writer {
    out: BufWriter<std::fs::File>,
}

impl Writer {
    pub fn create(path: &Path) -> std::io::Result<Writer> {
        Ok(Writer {
            out: BufWriter::with_capacity(1 << 20, std::fs::File::create(path)?),
        })
    }

    /// Starts the gauge family `name`: its samples follow.
    pub fn family(&mut self, name: &str) -> std::io::Result<()> {
        writeln!(self.out, "# TYPE {name} gauge")
    }

    /// One sample of `name{labels}` (labels as `k="v",…`) at `ms`.
    pub fn sample(&mut self, name: &str, labels: &str, value: f64, ms: i64) -> std::io::Result<()> {
        writeln!(self.out, "{name}{{{labels}}} {value} {}", ms / 1000)
    }

    /// Ends the file.
    pub fn finish(mut self) -> std::io::Result<()> {
        self.out.write_all(b"# EOF\n")?;
        self.out.flush()
    }
}

/// Backfills `om` into blocks under `data`, at most `max_block` long (a
/// Go duration, e.g. `168h`; promtool rounds it down to its block ranges).
pub fn backfill(promtool: &Path, om: &Path, data: &Path, max_block: &str) -> Result<(), String> {
    let out = Command::new(promtool)
        .args(["tsdb", "create-blocks-from", "openmetrics", "--quiet"])
        .arg(format!("--max-block-duration={max_block}"))
        .arg(om)
        .arg(data)
        .output()
        .map_err(|e| format!("{}: {e}", promtool.display()))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "promtool: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}
