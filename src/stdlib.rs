//! The standard library: metric bindings written in `.apr`, embedded in the
//! binary and named `<stdlib/…>` in diagnostics.

use crate::source::{FileId, SourceMap};

pub const FILES: [(&str, &str); 3] = [
    ("<stdlib/pvc.apr>", include_str!("../stdlib/pvc.apr")),
    ("<stdlib/pod.apr>", include_str!("../stdlib/pod.apr")),
    ("<stdlib/node.apr>", include_str!("../stdlib/node.apr")),
];

/// Adds the stdlib files to a source map.
pub fn load(sources: &mut SourceMap) -> Vec<FileId> {
    FILES
        .iter()
        .map(|(name, text)| sources.add(*name, *text))
        .collect()
}
