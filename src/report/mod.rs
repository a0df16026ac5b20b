//! Reporters: one file per output format, all fed the same [`Report`].
//!
//! [`emit`] is the one entry point of the application: it loads the baseline
//! and the waivers, decides which findings stay open ([`Outcome`]), writes
//! every requested format atomically and returns the exit status. Every
//! reporter reads the same `Outcome`, so a waived finding disappears from all
//! report bodies at once and a `new` finding is `new` everywhere.

pub mod access;
pub mod baseline;
pub mod csv;
pub mod diagram;
pub mod emit;
pub mod escape;
pub mod html;
pub mod json;
pub mod junit;
pub mod markdown;
pub mod markup;
pub mod opengraph;
pub mod progress;
pub mod review;
pub mod sarif;
pub mod summary;
pub mod waivers;

use std::io::{self, Write};
use std::path::Path;

use crate::engine::rule::Rule;
use crate::engine::Finding;
use crate::graph::AccessGraph;
use crate::snapshot::{Diagnostic, Guid, Snapshot};

/// Where the audit's as-of date came from; every report records it next
/// to the date, so that a report says how to reproduce it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AsOfOrigin {
    /// The snapshot manifest's `captured_at`.
    #[default]
    Manifest,
    /// `--as-of` on the command line.
    Flag,
}

impl AsOfOrigin {
    /// `manifest` or `flag`, as machine-readable reports write it.
    pub fn as_str(self) -> &'static str {
        match self {
            AsOfOrigin::Manifest => "manifest",
            AsOfOrigin::Flag => "flag",
        }
    }

    /// Where the date came from, in words.
    pub fn describe(self) -> &'static str {
        match self {
            AsOfOrigin::Manifest => "the snapshot's captured_at",
            AsOfOrigin::Flag => "--as-of",
        }
    }
}

/// Everything a reporter may show.
pub struct Report<'a> {
    pub snapshot: &'a Snapshot,
    pub graph: &'a AccessGraph,
    pub as_of: jiff::Timestamp,
    /// Where `as_of` came from.
    pub as_of_origin: AsOfOrigin,
    pub findings: &'a [Finding],
    /// Loader and graph warnings, and (with `--keep-going`) rejected rows.
    pub diagnostics: &'a [Diagnostic],
    /// Set by `audit --shard I/N`: `findings` are the shard's already;
    /// access.csv keeps the rows of the shard's tenants.
    pub shard: Option<crate::shard::Shard>,
}

impl Report<'_> {
    /// A finding's evidence lines, rendered.
    pub fn evidence(&self, f: &Finding) -> Vec<String> {
        f.evidence
            .iter()
            .map(|e| crate::engine::render_evidence(self.snapshot, self.graph, e))
            .collect()
    }

    /// A diagnostic as reports show it: its file relative to the snapshot
    /// root ([`Snapshot::relative`]).
    pub fn diagnostic(&self, d: &Diagnostic) -> Diagnostic {
        Diagnostic {
            file: self.snapshot.relative(&d.file),
            ..d.clone()
        }
    }

    /// A tenant's display name, or `tenant ID` when the snapshot does not hold it.
    pub fn tenant_name(&self, t: Guid) -> String {
        self.graph.tenant_index.get(&t).map_or_else(
            || format!("tenant {t}"),
            |&i| self.snapshot.tenants[i as usize].name.to_string(),
        )
    }
}

/// A path given on the command line (`--baseline`, `--waivers`) as reports
/// show it: as typed when relative, by its file name when absolute, so
/// that no report names a folder of the machine that wrote it.
pub fn shown_path(path: &Path) -> String {
    if path.is_absolute() {
        path.file_name().map_or_else(
            || path.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        )
    } else {
        path.display().to_string()
    }
}

/// A tenant the snapshot's manifest lists as incomplete (`input.incomplete_tenants`).
#[derive(Clone, Debug, serde::Serialize)]
pub struct IncompleteTenant {
    pub tenant_id: Guid,
    pub name: String,
    pub reason: String,
}

impl Report<'_> {
    /// The tenants whose data is incomplete, sorted by tenant id: every
    /// report marks them, so that one without findings never looks clean.
    pub fn incomplete(&self) -> Vec<IncompleteTenant> {
        self.snapshot
            .manifest
            .incomplete
            .iter()
            .map(|x| IncompleteTenant {
                tenant_id: x.tenant_id,
                name: self.tenant_name(x.tenant_id),
                reason: x.reason.clone(),
            })
            .collect()
    }
}

/// Whether a finding was already open in the baseline.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Not open in the baseline: first seen, or re-opened (an expired or removed waiver).
    New,
    /// Open in the baseline too.
    Unchanged,
}

impl Status {
    /// `new` or `unchanged`.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::New => "new",
            Status::Unchanged => "unchanged",
        }
    }
}

/// A finding that stays in the report bodies and counts for the exit status.
#[derive(Clone, Copy, Debug)]
pub struct Open<'a> {
    pub finding: &'a Finding,
    /// Set when a baseline was given.
    pub status: Option<Status>,
    /// The expired waiver that re-opened it (index into the waivers file's entries).
    pub reopened_by: Option<usize>,
}

/// A finding suppressed by a valid waiver.
#[derive(Clone, Copy, Debug)]
pub struct Waived<'a> {
    pub finding: &'a Finding,
    /// Index into [`waivers::WaiverSet::waivers`].
    pub waiver: usize,
}

/// What the run decided about each finding: open (new or unchanged) or
/// waived, plus what the baseline and the waivers file say on their own.
pub struct Outcome<'a> {
    pub report: &'a Report<'a>,
    /// The catalog the audit ran with (enabled and disabled rules).
    pub rules: &'a [Rule],
    /// Open findings in report order.
    pub open: Vec<Open<'a>>,
    /// Waived findings in report order.
    pub waived: Vec<Waived<'a>>,
    /// The baseline and what it says, when `--baseline` was given.
    pub baseline: Option<baseline::Diff>,
    /// The waivers file, when `--waivers` was given.
    pub waivers: Option<waivers::WaiverSet>,
}

impl<'a> Outcome<'a> {
    /// Every finding open, no baseline, no waivers: what findings.json shows
    /// when neither option is given.
    pub fn plain(report: &'a Report<'a>, rules: &'a [Rule]) -> Self {
        Outcome {
            report,
            rules,
            open: report
                .findings
                .iter()
                .map(|finding| Open {
                    finding,
                    status: None,
                    reopened_by: None,
                })
                .collect(),
            waived: Vec::new(),
            baseline: None,
            waivers: None,
        }
    }

    /// Applies the waivers (valid ones suppress, expired ones re-open and
    /// are reported) and then the baseline (statuses and resolved findings).
    pub fn new(
        report: &'a Report<'a>,
        rules: &'a [Rule],
        baseline: Option<baseline::Baseline>,
        mut waivers: Option<waivers::WaiverSet>,
    ) -> Self {
        let mut out = Outcome::plain(report, rules);
        if let Some(set) = waivers.as_mut() {
            let (open, waived) = set.apply(report.findings, report.as_of);
            out.open = open;
            out.waived = waived;
        }
        if let Some(b) = baseline {
            let diff = b.diff(report.findings, &mut out.open);
            out.baseline = Some(diff);
        }
        out.waivers = waivers;
        out
    }

    /// The outcome of the open findings `keep` keeps (a shard's part, in
    /// report order); no baseline or waivers (a sharded run has neither).
    pub fn part(&self, keep: impl Fn(&Finding) -> bool) -> Outcome<'a> {
        Outcome {
            report: self.report,
            rules: self.rules,
            open: self
                .open
                .iter()
                .filter(|x| keep(x.finding))
                .copied()
                .collect(),
            waived: Vec::new(),
            baseline: None,
            waivers: None,
        }
    }

    /// The findings that gate the run: open, and new when `only_new`.
    pub fn gating(&self, only_new: bool) -> impl Iterator<Item = &Open<'a>> {
        self.open
            .iter()
            .filter(move |o| !only_new || o.status == Some(Status::New))
    }
}

/// Writes `path` atomically: the bytes go to a temporary file in the same
/// directory, which is then renamed over `path`, so a failed or interrupted
/// run never leaves a half-written report behind. The bytes are not forced
/// to disk (no fsync): a report can be made again from its snapshot, and
/// forcing a findings.json of 100+ MB out took longer than writing it.
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
        w.flush()?;
        drop(w);
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// How many items [`write_in_order`] renders in parallel before writing
/// them: bounds the memory the rendered text takes.
pub(crate) const BATCH: usize = 1024;

/// Writes `items` in order, each as the bytes `render` makes from its
/// position and itself, `sep` between two of them. Items are rendered in
/// parallel batches of [`BATCH`] while the calling thread writes the
/// previous batch, so that a large report is never held whole and its
/// bytes do not depend on the thread count.
pub(crate) fn write_in_order<T, F>(
    items: &[T],
    sep: &[u8],
    w: &mut dyn Write,
    render: F,
) -> io::Result<()>
where
    T: Sync,
    F: Fn(usize, &T) -> io::Result<Vec<u8>> + Sync,
{
    write_in_order_measured(items, sep, w, render).map(drop)
}

/// [`write_in_order`], returning the byte length of each item as written
/// (without `sep`): what a shard's index records for `merge`.
pub(crate) fn write_in_order_measured<T, F>(
    items: &[T],
    sep: &[u8],
    w: &mut dyn Write,
    render: F,
) -> io::Result<Vec<u64>>
where
    T: Sync,
    F: Fn(usize, &T) -> io::Result<Vec<u8>> + Sync,
{
    use rayon::prelude::*;
    // One thread renders batch after batch on the pool while this one
    // writes them out in order; the channel bounds how many wait.
    let render = &render;
    std::thread::scope(|scope| {
        let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<io::Result<Vec<u8>>>>(1);
        scope.spawn(move || {
            for (b, batch) in items.chunks(BATCH).enumerate() {
                let rendered = batch
                    .par_iter()
                    .enumerate()
                    .map(|(i, x)| render(b * BATCH + i, x))
                    .collect();
                if tx.send(rendered).is_err() {
                    break; // the writer stopped on an error
                }
            }
        });
        let mut lengths = Vec::with_capacity(items.len());
        for rendered in rx {
            for text in rendered {
                if !lengths.is_empty() {
                    w.write_all(sep)?;
                }
                let text = text?;
                w.write_all(&text)?;
                lengths.push(text.len() as u64);
            }
        }
        Ok(lengths)
    })
}
