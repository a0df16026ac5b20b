//! Writes the reports an audit asked for and decides the exit status.
//!
//! The one entry point from the application: everything about output
//! formats, where they go, baselines, waivers and which findings gate the
//! run lives here, so adding a format touches only `src/report/`.
//!
//! The reports of one run are published together: every file is written
//! into a staging folder inside `--out` ([`Staging`]), and only once all of
//! them are written are they renamed into place, findings.json last, with
//! the previous files kept aside until the set is complete. A failure
//! restores the previous set and removes the staging folder, so `--out`
//! holds the old set or the new one. Renaming several files is not atomic
//! as a whole: [`COMPLETE`] lists the set and exists only while `--out`
//! holds a complete one (it is taken away before the first rename and
//! written after the last). Staging folders and temporary files that a run
//! killed midway left behind are removed at the start of the next run.

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::builder::TypedValueParser as _;
use clap::ValueEnum;
use thiserror::Error;

use super::baseline::Baseline;
use super::progress::Progress;
use super::waivers::WaiverSet;
use super::{
    csv, html, json, junit, markdown, opengraph, review, sarif, summary, write_atomic, Outcome,
    Report,
};
use crate::engine::rule::{Rule, Severity};
use crate::snapshot::Diagnostic;

/// A report format of `--format`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, ValueEnum)]
pub enum Format {
    /// findings.json: the machine contract.
    Json,
    /// report.md: the review report as Markdown.
    Md,
    /// report.html (overview) and html/ (a page per customer): the review report.
    Html,
    /// findings.csv and access.csv.
    Csv,
    /// findings.sarif: SARIF 2.1.0.
    Sarif,
    /// junit.xml: one test case per rule and customer.
    Junit,
    /// opengraph.json: the access graph as BloodHound OpenGraph nodes and edges.
    Opengraph,
}

impl Format {
    /// The files the format writes, and the folder `html` of the HTML
    /// review's detail pages ([`REPORT_DIRS`]).
    pub fn files(self) -> &'static [&'static str] {
        match self {
            Format::Json => &["findings.json"],
            Format::Md => &["report.md"],
            Format::Html => &[html::OVERVIEW, html::DIR],
            Format::Csv => &["findings.csv", "access.csv"],
            Format::Sarif => &["findings.sarif"],
            Format::Junit => &["junit.xml"],
            Format::Opengraph => &["opengraph.json"],
        }
    }
}

/// Output options of `audit`, flattened into its command line (paths are
/// boxed to keep `audit`'s arguments small).
#[derive(Debug, Default, clap::Args)]
pub struct ReportArgs {
    /// Report formats to write into `--out`, comma-separated: json, md, html, csv, sarif, junit, opengraph [default: json].
    #[arg(long, value_enum, value_delimiter = ',', value_name = "FORMATS")]
    pub format: Option<Vec<Format>>,
    /// findings.json of a previous run: mark findings `new` or `unchanged` and list the resolved ones.
    #[arg(long, value_name = "FILE", value_parser = clap::builder::PathBufValueParser::new().map(Box::new))]
    pub baseline: Option<Box<PathBuf>>,
    /// Exit 1 only for new findings (at or above `--fail-on`); needs `--baseline`.
    #[arg(long, requires = "baseline")]
    pub fail_on_new: bool,
    /// Waivers file (TOML, or JSON by extension): accepted findings with justification, owner and expiry.
    #[arg(long, value_name = "FILE", value_parser = clap::builder::PathBufValueParser::new().map(Box::new))]
    pub waivers: Option<Box<PathBuf>>,
    /// Layout of findings.json: v2 (shared tables, the default) or v1 (deprecated: removed in the next release).
    #[arg(long, value_enum, value_name = "VERSION", default_value_t = json::FindingsFormat::V2)]
    pub findings_format: json::FindingsFormat,
}

/// The warning `--findings-format v1` prints.
pub const V1_DEPRECATED: &str = "warning: `--findings-format v1` is deprecated and will be removed in the next release; findings.json format_version 2 (the default) defines rules, principals and explaining chains once, see docs/findings-v2.md to migrate";

/// A report could not be produced.
#[derive(Debug, Error)]
pub enum EmitError {
    #[error("error: cannot write {path}: {source}")]
    Io { path: String, source: io::Error },
    /// The new set could not be published; the previous one is in place.
    #[error(
        "error: cannot write `{path}`: {source}; the reports in `{out}` were left as they were"
    )]
    Unpublished {
        path: String,
        out: String,
        source: io::Error,
    },
    #[error("error: {0}")]
    Usage(String),
    /// A bad baseline or waivers file: every problem, located.
    #[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))]
    Input(Vec<Diagnostic>),
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> EmitError + '_ {
    move |source| EmitError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// What a run writes from: every open finding, and (under
/// `audit --shard`) the shard's part of them.
pub struct Parts<'o, 'a> {
    /// Every open finding of the run: the whole-run reports.
    pub all: &'o Outcome<'a>,
    /// The findings the run writes per finding: `all`, or the shard's.
    pub mine: &'o Outcome<'a>,
    pub shard: Option<crate::shard::Shard>,
}

impl Parts<'_, '_> {
    /// Whether this run writes the reports about the whole run (md,
    /// opengraph, the HTML overview and lists): an unsharded run and
    /// shard 0.
    fn whole_run(&self) -> bool {
        self.shard.is_none_or(|s| s.index == 0)
    }
}

/// Writes one format's files into `out`; returns their paths.
pub fn write_format<'o>(
    parts: &Parts<'o, '_>,
    review: &mut Option<review::Review<'o>>,
    format: Format,
    findings_format: json::FindingsFormat,
    out: &Path,
    progress: &Progress,
    layout: &mut crate::shard::Layout,
) -> Result<Vec<PathBuf>, EmitError> {
    let mut written = Vec::new();
    let (all, o) = (parts.all, parts.mine);
    let whole = parts.whole_run();
    for name in format.files() {
        let path = out.join(name);
        let whole_run_file = !crate::shard::SPLIT.contains(&format) || *name == html::OVERVIEW;
        if whole_run_file && !whole {
            continue;
        }
        progress.set(format!("writing {name}"));
        let needs_review = matches!(format, Format::Md | Format::Html);
        if needs_review && review.is_none() {
            *review = Some(review::build(all));
        }
        let result = match (format, review.as_ref()) {
            (Format::Json, _) => {
                write_atomic(&path, |w| json::write_outcome_as(o, findings_format, w))
            }
            (Format::Md, Some(rv)) => write_atomic(&path, |w| markdown::write(rv, w)),
            // report.html and the folder html/ are written together, with
            // the folder (the only file of a shard other than 0).
            (Format::Html, Some(rv)) if *name == html::DIR => {
                let owns = |id: &str| {
                    crate::snapshot::Guid::parse(id)
                        .is_some_and(|t| parts.shard.is_none_or(|s| s.owns_tenant(t)))
                };
                let set = html::PageSet {
                    whole_run: whole,
                    customer: parts.shard.is_some().then_some(&owns as _),
                };
                html::write_set(rv, &set, out)
            }
            (Format::Html, _) => Ok(()),
            (Format::Csv, _) if *name == "access.csv" => write_atomic(&path, |w| {
                layout.access = csv::write_access_grouped(o, w)?;
                Ok(())
            }),
            (Format::Csv, _) => write_atomic(&path, |w| csv::write_findings(o, w)),
            (Format::Sarif, _) => write_atomic(&path, |w| {
                layout.sarif_results = sarif::write_measured(o, w)?;
                Ok(())
            }),
            (Format::Junit, _) => write_atomic(&path, |w| match parts.shard {
                Some(shard) => {
                    layout.junit = Some(junit::write_part(o, shard, w)?);
                    Ok(())
                }
                None => junit::write(all, w),
            }),
            (Format::Opengraph, _) => write_atomic(&path, |w| opengraph::write(all.report, w)),
            (Format::Md, None) => Ok(()),
        };
        result.map_err(io_err(&path))?;
        written.push(path);
    }
    Ok(written)
}

/// Command-line mistakes that need no input: `--format` without `--out`,
/// `--out` naming a file.
fn check_args(args: &ReportArgs, out: Option<&Path>) -> Result<(), EmitError> {
    if args.format.is_some() && out.is_none() {
        return Err(EmitError::Usage(
            "`--format` writes files: pass `--out DIR` as well".into(),
        ));
    }
    if let Some(out) = out.filter(|o| o.exists() && !o.is_dir()) {
        return Err(EmitError::Usage(format!(
            "--out `{}` is a file: pass a directory for the reports",
            out.display()
        )));
    }
    Ok(())
}

/// What [`emit`] can check before the audit runs, so that a mistake does
/// not wait for the snapshot to be read: the output options, and the
/// waivers file (small: read, then read again by `emit`); the baseline, as
/// large as a report, only exists and is a file.
pub fn preflight(args: &ReportArgs, out: Option<&Path>, rules: &[Rule]) -> Result<(), EmitError> {
    check_args(args, out)?;
    if let Some(p) = &args.waivers {
        WaiverSet::load_for(p, Some(rules)).map_err(EmitError::Input)?;
    }
    if let Some(p) = args.baseline.as_deref() {
        if let Err(e) = crate::input_file::check(p) {
            let d = e.diagnostic(&p.display().to_string());
            return Err(EmitError::Input(vec![d.with_field("--baseline")]));
        }
    }
    Ok(())
}

/// The formats `args` asks for, in writing order, each once (json alone
/// when none is named).
pub fn formats(args: &ReportArgs) -> Vec<Format> {
    let mut formats = args.format.clone().unwrap_or_else(|| vec![Format::Json]);
    formats.sort_unstable();
    formats.dedup();
    formats
}

/// Loads the baseline and waivers, writes the requested reports into `out`
/// (when given), prints the terminal summary and returns the exit status:
/// 1 when an open finding at or above `fail_on` exists (only new ones with
/// `--fail-on-new`), else 0. `quiet` prints no waiver warnings.
pub fn emit(
    report: &Report<'_>,
    rules: &[Rule],
    args: &ReportArgs,
    out: Option<&Path>,
    fail_on: Option<Severity>,
    quiet: bool,
) -> Result<u8, EmitError> {
    let formats = formats(args);
    check_args(args, out)?;
    if args.findings_format == json::FindingsFormat::V1 {
        // Once per run, --quiet or not: the layout goes away in the next release.
        eprintln!("{}", V1_DEPRECATED);
    }
    let mut diags = Vec::new();
    let baseline = match &args.baseline {
        Some(p) => Baseline::load(p).map_err(|mut d| diags.append(&mut d)).ok(),
        None => None,
    };
    let waivers = match &args.waivers {
        Some(p) => WaiverSet::load_for(p, Some(rules))
            .map_err(|mut d| diags.append(&mut d))
            .ok(),
        None => None,
    };
    if !diags.is_empty() {
        return Err(EmitError::Input(diags));
    }
    let outcome = Outcome::new(report, rules, baseline, waivers);
    if let Some(w) = &outcome.waivers {
        // The terminal's cap on warnings holds for these too (none when quiet).
        let lines = if quiet { Vec::new() } else { w.warnings() };
        let cap = crate::app::MAX_TERMINAL_WARNINGS;
        for line in lines.iter().take(cap) {
            eprintln!("{}", summary::printable(line));
        }
        if lines.len() > cap {
            eprintln!(
                "… and {} more waiver warning(s) (findings.json lists them under `waivers`)",
                crate::snapshot::diag::thousands(lines.len() - cap)
            );
        }
    }
    // A shard's part: what it writes per finding, its summary and its exit status.
    let part = report.shard.map(|s| outcome.part(|f| s.owns(f)));
    let mine = part.as_ref().unwrap_or(&outcome);
    let mut written: Vec<PathBuf> = Vec::new();
    if let Some(out) = out {
        std::fs::create_dir_all(out).map_err(io_err(out))?;
        let progress = Progress::start();
        let unpublished = |path: &Path, source| EmitError::Unpublished {
            path: path.display().to_string(),
            out: out.display().to_string(),
            source,
        };
        let staging = Staging::create(out).map_err(|e| unpublished(out, e))?;
        let mut review = None;
        let mut layout = crate::shard::Layout::default();
        let parts = Parts {
            all: &outcome,
            mine,
            shard: report.shard,
        };
        for &f in &formats {
            write_format(
                &parts,
                &mut review,
                f,
                args.findings_format,
                staging.dir(),
                &progress,
                &mut layout,
            )
            .map_err(|e| match e {
                EmitError::Io { path, source } => EmitError::Unpublished {
                    path: out
                        .join(Path::new(&path).file_name().unwrap_or_default())
                        .display()
                        .to_string(),
                    out: out.display().to_string(),
                    source,
                },
                other => other,
            })?;
        }
        if let Some(shard) = report.shard {
            let path = staging.dir().join(crate::shard::INDEX_FILE);
            crate::shard::write_index(shard, &formats, parts.mine, layout, &path)
                .map_err(|e| unpublished(&path, e))?;
        }
        progress.set("publishing the reports".to_string());
        written = staging
            .publish()
            .map_err(|(path, e)| unpublished(&path, e))?;
        progress.finish();
    }
    let mut stdout = anstream::stdout();
    let _ = write!(stdout, "{}", summary::render(mine, &written));
    if !written.is_empty() {
        let _ = writeln!(stdout);
    }
    for path in &written {
        let _ = writeln!(
            stdout,
            "wrote {}",
            summary::printable(&path.display().to_string())
        );
    }
    let _ = stdout.flush();
    let failing = fail_on.is_some_and(|t| {
        mine.gating(args.fail_on_new)
            .any(|x| x.finding.severity >= t)
    });
    Ok(u8::from(failing))
}

/// Name prefix of a run's staging folder inside `--out` (the process id follows).
pub const STAGING_PREFIX: &str = ".partner-audit-staging-";
/// The marker of a complete set in `--out`: the set's file names, one a
/// line. Absent while a set is being replaced (or when the last run died
/// midway).
pub const COMPLETE: &str = ".partner-audit-complete";
/// A staging folder or temporary file older than this is removed even if
/// its process still seems to run (the id may have been reused).
const STALE_AFTER: Duration = Duration::from_secs(24 * 3600);
/// Where the previous files wait, inside the staging folder, until the new
/// set is in place.
const PREVIOUS: &str = ".previous";
/// Folders a run writes into `--out` (published, set aside and restored
/// whole, like a file).
pub const REPORT_DIRS: [&str; 1] = [html::DIR];

/// The files of one run, written into `OUT/.partner-audit-staging-PID/`
/// and published together ([`Staging::publish`]). Dropped unpublished, the
/// folder is removed and `OUT` is as it was.
pub struct Staging {
    out: PathBuf,
    dir: PathBuf,
}

impl Staging {
    /// Removes what dead runs left in `out` ([`clean_stale`]), then creates
    /// this run's staging folder.
    pub fn create(out: &Path) -> io::Result<Staging> {
        clean_stale(out);
        let dir = out.join(format!("{STAGING_PREFIX}{}", std::process::id()));
        if dir.exists() {
            std::fs::remove_dir_all(&dir)?;
        }
        std::fs::create_dir(&dir)?;
        Ok(Staging {
            out: out.to_path_buf(),
            dir,
        })
    }

    /// The folder to write the files into.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Moves every file of the staging folder into `out` (findings.json
    /// last), each previous file set aside first, and writes [`COMPLETE`]
    /// after the last. On a failure every previous file is put back and
    /// the new ones are removed: `out` holds the old set; the error names
    /// the path that failed. Returns the published paths.
    pub fn publish(self) -> Result<Vec<PathBuf>, (PathBuf, io::Error)> {
        let at = |p: &Path| {
            let p = p.to_path_buf();
            move |e| (p, e)
        };
        let mut names: Vec<String> = std::fs::read_dir(&self.dir)
            .map_err(at(&self.dir))?
            .map(|e| e.map(|e| e.file_name().to_string_lossy().into_owned()))
            .collect::<io::Result<_>>()
            .map_err(at(&self.dir))?;
        // findings.json last: a reader that waits for it sees the rest in place.
        names.sort_by(|a, b| (a == "findings.json", a).cmp(&(b == "findings.json", b)));
        let previous = self.dir.join(PREVIOUS);
        std::fs::create_dir(&previous).map_err(at(&previous))?;
        let mut moved: Vec<(String, bool)> = Vec::new();
        let marker = self.out.join(COMPLETE);
        let result = (|| {
            // The marker goes first: from here until the end `out` says it
            // holds no complete set.
            let had_marker = set_aside(&marker, &previous.join(COMPLETE)).map_err(at(&marker))?;
            moved.push((COMPLETE.to_string(), had_marker));
            for name in &names {
                let target = self.out.join(name);
                let had = set_aside(&target, &previous.join(name)).map_err(at(&target))?;
                if let Err(e) = std::fs::rename(self.dir.join(name), &target) {
                    if had {
                        let _ = std::fs::rename(previous.join(name), &target);
                    }
                    return Err((target, e));
                }
                moved.push((name.clone(), had));
            }
            let list: String = names.iter().map(|n| format!("{n}\n")).collect();
            super::write_atomic(&marker, |w| w.write_all(list.as_bytes())).map_err(at(&marker))
        })();
        if let Err(e) = result {
            // Put the previous set back (the marker last: it is first in `moved`).
            for (name, had) in moved.iter().rev() {
                let target = self.out.join(name);
                if REPORT_DIRS.contains(&name.as_str()) {
                    let _ = std::fs::remove_dir_all(&target);
                } else if !*had {
                    let _ = std::fs::remove_file(&target);
                }
                if *had {
                    let _ = std::fs::rename(previous.join(name), &target);
                }
            }
            return Err(e);
        }
        Ok(names.iter().map(|n| self.out.join(n)).collect())
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Moves an existing file (or report folder, [`REPORT_DIRS`]) at `path`
/// to `aside`; false when there is none. Any other folder in the way is an
/// error: it is nothing a run wrote.
fn set_aside(path: &Path, aside: &Path) -> io::Result<bool> {
    let report_dir = path
        .file_name()
        .is_some_and(|n| REPORT_DIRS.iter().any(|d| n == *d));
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.is_dir() && !report_dir => Err(io::Error::other("a folder is in the way")),
        Ok(_) => std::fs::rename(path, aside).map(|()| true),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e),
    }
}

/// Removes from `out` the staging folders ([`STAGING_PREFIX`]) and the
/// temporary files of its reports (`.NAME.tmpPID`, of [`super::write_atomic`]) that runs
/// which no longer exist left behind: their process id is not running (on
/// systems with `/proc`), or they are older than a day. Best effort: what
/// cannot be removed stays.
pub fn clean_stale(out: &Path) {
    let Ok(entries) = std::fs::read_dir(out) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let pid = if let Some(pid) = name.strip_prefix(STAGING_PREFIX) {
            pid
        } else if let Some((_, pid)) = name
            .strip_prefix('.')
            .and_then(|n| n.rsplit_once(".tmp"))
            .filter(|(base, _)| is_report_file(base))
        {
            pid
        } else {
            continue;
        };
        let Ok(pid) = pid.parse::<u32>() else {
            continue;
        };
        let old = e
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age > STALE_AFTER);
        if pid == std::process::id() || old || !running(pid) {
            let path = e.path();
            let _ = if path.is_dir() {
                std::fs::remove_dir_all(&path)
            } else {
                std::fs::remove_file(&path)
            };
        }
    }
}

/// Whether `name` is a file a run writes into `--out`.
fn is_report_file(name: &str) -> bool {
    name == COMPLETE
        || name == crate::shard::INDEX_FILE
        || [
            Format::Json,
            Format::Md,
            Format::Html,
            Format::Csv,
            Format::Sarif,
            Format::Junit,
            Format::Opengraph,
        ]
        .iter()
        .any(|f| f.files().contains(&name))
}

/// Whether a process id is running; true when the system cannot tell
/// (no `/proc`), so that only age removes such leftovers.
fn running(pid: u32) -> bool {
    let proc = Path::new("/proc");
    !proc.join("self").exists() || proc.join(pid.to_string()).exists()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(dir: &Path, names: &[&str], text: &str) {
        for n in names {
            std::fs::write(dir.join(n), format!("{text} {n}")).expect("write");
        }
    }

    fn read(dir: &Path, name: &str) -> String {
        std::fs::read_to_string(dir.join(name)).unwrap_or_default()
    }

    /// Lists `dir` (names), sorted.
    fn list(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(dir)
            .expect("list")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    /// Validates that a published set replaces the old one and is marked complete.
    #[test]
    fn a_set_is_published_whole_and_marked() {
        let out = tempfile::tempdir().expect("tempdir");
        let o = out.path();
        set(o, &["findings.json", "report.md"], "old");
        std::fs::write(o.join(COMPLETE), "findings.json\nreport.md\n").expect("marker");
        let st = Staging::create(o).expect("staging");
        set(
            st.dir(),
            &["findings.json", "report.md", "junit.xml"],
            "new",
        );
        let written = st.publish().expect("publish");
        assert_eq!(
            written.last().map(|p| p.ends_with("findings.json")),
            Some(true)
        );
        for n in ["findings.json", "report.md", "junit.xml"] {
            assert_eq!(read(o, n), format!("new {n}"));
        }
        assert_eq!(read(o, COMPLETE), "junit.xml\nreport.md\nfindings.json\n");
        assert_eq!(
            list(o),
            [COMPLETE, "findings.json", "junit.xml", "report.md"],
            "no staging folder or temporary remains"
        );
    }

    /// Validates that a failure while writing (a dropped staging) leaves
    /// the old set and no staging folder.
    #[test]
    fn an_unpublished_set_leaves_the_old_one() {
        let out = tempfile::tempdir().expect("tempdir");
        let o = out.path();
        set(o, &["findings.json"], "old");
        let st = Staging::create(o).expect("staging");
        set(st.dir(), &["findings.json"], "new");
        drop(st);
        assert_eq!(read(o, "findings.json"), "old findings.json");
        assert_eq!(list(o), ["findings.json"]);
    }

    /// Validates that a rename failing midway (a folder where a report
    /// goes) puts every previous file and the marker back and removes the
    /// new ones.
    #[test]
    fn a_failed_publish_restores_the_old_set() {
        let out = tempfile::tempdir().expect("tempdir");
        let o = out.path();
        set(o, &["access.csv", "findings.json"], "old");
        std::fs::write(o.join(COMPLETE), "access.csv\nfindings.json\n").expect("marker");
        std::fs::create_dir(o.join("report.md")).expect("folder in the way");
        let st = Staging::create(o).expect("staging");
        set(
            st.dir(),
            &["access.csv", "findings.csv", "findings.json", "report.md"],
            "new",
        );
        let (path, _) = st.publish().expect_err("report.md is a folder");
        assert!(path.ends_with("report.md"));
        assert_eq!(read(o, "access.csv"), "old access.csv");
        assert_eq!(read(o, "findings.json"), "old findings.json");
        assert_eq!(read(o, COMPLETE), "access.csv\nfindings.json\n");
        assert!(o.join("report.md").is_dir());
        assert_eq!(
            list(o),
            [COMPLETE, "access.csv", "findings.json", "report.md"],
            "new files, staging folder or temporaries remain"
        );
    }

    /// Validates that the HTML review's folder is published whole: the
    /// previous folder is replaced (no page of it remains), and on a
    /// failure it is put back as it was.
    #[test]
    fn the_html_folder_is_replaced_whole_or_restored() {
        let out = tempfile::tempdir().expect("tempdir");
        let o = out.path();
        std::fs::create_dir_all(o.join("html/customers")).expect("mkdir");
        set(&o.join("html/customers"), &["old.html"], "old");
        let st = Staging::create(o).expect("staging");
        std::fs::create_dir_all(st.dir().join("html/customers")).expect("mkdir");
        set(&st.dir().join("html/customers"), &["new.html"], "new");
        set(st.dir(), &["report.html"], "new");
        st.publish().expect("publish");
        assert_eq!(list(&o.join("html/customers")), ["new.html"]);
        assert_eq!(list(o), [COMPLETE, "html", "report.html"]);

        // A failure after the folder moved in (a folder where report.md goes).
        std::fs::create_dir(o.join("report.md")).expect("folder in the way");
        let st = Staging::create(o).expect("staging");
        std::fs::create_dir_all(st.dir().join("html/customers")).expect("mkdir");
        set(&st.dir().join("html/customers"), &["newer.html"], "newer");
        set(st.dir(), &["report.md"], "newer");
        st.publish().expect_err("report.md is a folder");
        assert_eq!(list(&o.join("html/customers")), ["new.html"]);
        assert_eq!(read(&o.join("html/customers"), "new.html"), "new new.html");
        assert_eq!(list(o), [COMPLETE, "html", "report.html", "report.md"]);
    }

    /// Validates that leftovers of dead runs are removed and those of a
    /// running process kept.
    #[test]
    fn stale_leftovers_are_removed() {
        if !Path::new("/proc/self").exists() {
            return;
        }
        let out = tempfile::tempdir().expect("tempdir");
        let o = out.path();
        // A pid above the kernel's maximum (4194304) never runs.
        let dead = 4_194_399;
        std::fs::create_dir(o.join(format!("{STAGING_PREFIX}{dead}"))).expect("mkdir");
        std::fs::write(o.join(format!(".findings.json.tmp{dead}")), "x").expect("tmp");
        // PID 1 always runs.
        std::fs::create_dir(o.join(format!("{STAGING_PREFIX}1"))).expect("mkdir");
        std::fs::write(o.join(".notes.tmpx"), "kept: not a pid").expect("file");
        std::fs::write(
            o.join(format!(".notes.txt.tmp{dead}")),
            "kept: not a report",
        )
        .expect("file");
        set(o, &["findings.json"], "old");
        clean_stale(o);
        assert_eq!(
            list(o),
            [
                ".notes.tmpx",
                &format!(".notes.txt.tmp{dead}"),
                &format!("{STAGING_PREFIX}1"),
                "findings.json"
            ]
        );
    }
}
