//! Reporters: one file per output format, all fed the same [`Report`].

pub mod emit;
pub mod json;
pub mod summary;

use std::io::{self, Write};
use std::path::Path;

use crate::engine::Finding;
use crate::graph::AccessGraph;
use crate::snapshot::{Diagnostic, Snapshot};

/// Everything a reporter may show.
pub struct Report<'a> {
    pub snapshot: &'a Snapshot,
    pub graph: &'a AccessGraph,
    pub as_of: jiff::Timestamp,
    pub findings: &'a [Finding],
    /// Loader and graph warnings, and (with `--keep-going`) rejected rows.
    pub diagnostics: &'a [Diagnostic],
}

/// Writes `path` atomically: the bytes go to a temporary file in the same
/// directory, which is then renamed over `path`, so a crash never leaves a
/// half-written report behind.
pub fn write_atomic(
    path: &Path,
    write: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map_or_else(|| "report".into(), |n| n.to_string_lossy().into_owned());
    let tmp = dir.join(format!(".{name}.tmp{}", std::process::id()));
    let result = (|| {
        let file = std::fs::File::create(&tmp)?;
        let mut w = io::BufWriter::with_capacity(1 << 20, file);
        write(&mut w)?;
        let file = w.into_inner().map_err(io::IntoInnerError::into_error)?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}
