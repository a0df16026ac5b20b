//! Writes the reports an audit asked for and decides the exit status.
//!
//! The one entry point from the application: everything about output
//! formats, where they go and which findings gate the run lives here, so
//! adding a format touches only `src/report/`.

use std::io;
use std::path::{Path, PathBuf};

use thiserror::Error;

use super::{json, summary, write_atomic, Report};
use crate::engine::rule::Severity;

/// Output options of `audit`, flattened into its command line.
#[derive(Debug, Default, clap::Args)]
pub struct ReportArgs {}

/// A report could not be produced.
#[derive(Debug, Error)]
pub enum EmitError {
    #[error("error: cannot write {path}: {source}")]
    Io { path: String, source: io::Error },
    #[error("error: {0}")]
    Usage(String),
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> EmitError + '_ {
    move |source| EmitError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// Writes the reports into `out` (when given), prints the terminal summary
/// and returns the exit status: 1 when a finding at or above `fail_on`
/// exists, else 0.
pub fn emit(
    report: &Report<'_>,
    _args: &ReportArgs,
    out: Option<&Path>,
    fail_on: Option<Severity>,
) -> Result<u8, EmitError> {
    let mut written: Vec<PathBuf> = Vec::new();
    if let Some(out) = out {
        std::fs::create_dir_all(out).map_err(io_err(out))?;
        let path = out.join("findings.json");
        write_atomic(&path, |w| json::write(report, w)).map_err(io_err(&path))?;
        written.push(path);
    }
    print!("{}", summary::render(report));
    for path in &written {
        println!("\nwrote {}", path.display());
    }
    let failing = fail_on.is_some_and(|t| report.findings.iter().any(|f| f.severity >= t));
    Ok(u8::from(failing))
}
