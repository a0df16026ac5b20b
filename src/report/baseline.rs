//! `--baseline PREVIOUS/findings.json`: which findings are new since the
//! previous run and which were resolved, matched by the stable finding `id`.
//!
//! Only the baseline's open findings (its `findings` array) count: a finding
//! that was waived then and is open now is `new` (re-opened), and a baseline
//! finding that is waived now is not `resolved` (it still exists).

use std::collections::BTreeSet;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::{Open, Status};
use crate::engine::Finding;
use crate::snapshot::Diagnostic;

/// One open finding of the baseline, as much of it as reports show.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
pub struct Prior {
    pub id: String,
    pub rule: String,
    pub severity: String,
    pub title: String,
    pub message: String,
    #[serde(default)]
    pub partner_tenant_id: Option<String>,
    #[serde(default)]
    pub customer_tenant_id: Option<String>,
}

#[derive(Deserialize)]
struct Doc {
    format_version: u32,
    findings: Vec<Prior>,
}

/// A loaded baseline.
#[derive(Debug)]
pub struct Baseline {
    /// The path as shown in reports ([`super::shown_path`]).
    pub file: String,
    pub findings: Vec<Prior>,
}

/// What the baseline says about this run.
#[derive(Debug, Serialize)]
pub struct Diff {
    /// The baseline's path as given.
    pub file: String,
    pub new: usize,
    pub unchanged: usize,
    /// Baseline findings that no longer exist (neither open nor waived).
    pub resolved: Vec<Prior>,
}

/// The field a serde error message names (`missing field `id``), if any.
fn field_of(message: &str) -> Option<String> {
    let rest = message.split("field `").nth(1)?;
    Some(rest.split('`').next()?.to_string())
}

impl Baseline {
    /// Reads a previous findings.json; every problem names the file, line,
    /// column and field.
    pub fn load(path: &Path) -> Result<Baseline, Vec<Diagnostic>> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| {
            vec![
                Diagnostic::error(&file, format!("cannot read the baseline: {e}"))
                    .with_field("--baseline"),
            ]
        })?;
        let doc: Doc = serde_json::from_str(text.trim_start_matches('\u{feff}')).map_err(|e| {
            let message = e.to_string();
            let message = message
                .rsplit_once(" at line ")
                .map_or(message.as_str(), |(m, _)| m)
                .to_string();
            let mut d = Diagnostic::error(&file, format!("invalid baseline: {message}"))
                .with_expected("a findings.json written by `partner-audit audit --out DIR`");
            if e.line() > 0 {
                d = d
                    .at_line(u32::try_from(e.line()).unwrap_or(u32::MAX))
                    .at_column(u32::try_from(e.column()).unwrap_or(u32::MAX));
            }
            if let Some(f) = field_of(&message) {
                d = d.with_field(f);
            }
            vec![d]
        })?;
        if doc.format_version != super::json::FORMAT_VERSION {
            return Err(vec![Diagnostic::error(
                &file,
                format!(
                    "unsupported baseline format_version `{}`",
                    doc.format_version
                ),
            )
            .with_field("format_version")
            .with_expected(super::json::FORMAT_VERSION.to_string())]);
        }
        Ok(Baseline {
            file: super::shown_path(path),
            findings: doc.findings,
        })
    }

    /// Marks each open finding `new` or `unchanged` and lists the baseline
    /// findings that are gone from `all` (the run's findings, waived ones included).
    pub fn diff(self, all: &[Finding], open: &mut [Open<'_>]) -> Diff {
        let before: BTreeSet<&str> = self.findings.iter().map(|p| p.id.as_str()).collect();
        let (mut new, mut unchanged) = (0, 0);
        for o in open.iter_mut() {
            let s = if before.contains(o.finding.id.as_str()) {
                unchanged += 1;
                Status::Unchanged
            } else {
                new += 1;
                Status::New
            };
            o.status = Some(s);
        }
        let now: BTreeSet<&str> = all.iter().map(|f| f.id.as_str()).collect();
        let mut seen = BTreeSet::new();
        let resolved = self
            .findings
            .iter()
            .filter(|p| !now.contains(p.id.as_str()) && seen.insert(p.id.clone()))
            .cloned()
            .collect();
        Diff {
            file: self.file,
            new,
            unchanged,
            resolved,
        }
    }
}
