//! Writes the reports an audit asked for and decides the exit status.
//!
//! The one entry point from the application: everything about output
//! formats, where they go, baselines, waivers and which findings gate the
//! run lives here, so adding a format touches only `src/report/`.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use clap::builder::TypedValueParser as _;
use clap::ValueEnum;
use thiserror::Error;

use super::baseline::Baseline;
use super::progress::Progress;
use super::waivers::WaiverSet;
use super::{
    csv, html, json, junit, markdown, review, sarif, summary, write_atomic, Outcome, Report,
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
    /// report.html: the review report as one self-contained page.
    Html,
    /// findings.csv and access.csv.
    Csv,
    /// findings.sarif: SARIF 2.1.0.
    Sarif,
    /// junit.xml: one test case per rule and customer.
    Junit,
}

impl Format {
    /// The files the format writes.
    pub fn files(self) -> &'static [&'static str] {
        match self {
            Format::Json => &["findings.json"],
            Format::Md => &["report.md"],
            Format::Html => &["report.html"],
            Format::Csv => &["findings.csv", "access.csv"],
            Format::Sarif => &["findings.sarif"],
            Format::Junit => &["junit.xml"],
        }
    }
}

/// Output options of `audit`, flattened into its command line (paths are
/// boxed to keep `audit`'s arguments small).
#[derive(Debug, Default, clap::Args)]
pub struct ReportArgs {
    /// Report formats to write into `--out`, comma-separated: json, md, html, csv, sarif, junit [default: json].
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
}

/// A report could not be produced.
#[derive(Debug, Error)]
pub enum EmitError {
    #[error("error: cannot write {path}: {source}")]
    Io { path: String, source: io::Error },
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

/// Writes one format's files into `out`; returns their paths.
pub fn write_format(
    o: &Outcome<'_>,
    review: &mut Option<review::Review>,
    format: Format,
    out: &Path,
    progress: &Progress,
) -> Result<Vec<PathBuf>, EmitError> {
    let mut written = Vec::new();
    for name in format.files() {
        progress.set(format!("writing {name}"));
        let path = out.join(name);
        let needs_review = matches!(format, Format::Md | Format::Html);
        if needs_review && review.is_none() {
            *review = Some(review::build(o));
        }
        let result = match (format, review.as_ref()) {
            (Format::Json, _) => write_atomic(&path, |w| json::write_outcome(o, w)),
            (Format::Md, Some(rv)) => write_atomic(&path, |w| markdown::write(rv, w)),
            (Format::Html, Some(rv)) => write_atomic(&path, |w| html::write(rv, w)),
            (Format::Csv, _) if *name == "access.csv" => {
                write_atomic(&path, |w| csv::write_access(o, w))
            }
            (Format::Csv, _) => write_atomic(&path, |w| csv::write_findings(o, w)),
            (Format::Sarif, _) => write_atomic(&path, |w| sarif::write(o, w)),
            (Format::Junit, _) => write_atomic(&path, |w| junit::write(o, w)),
            (Format::Md | Format::Html, None) => Ok(()),
        };
        result.map_err(io_err(&path))?;
        written.push(path);
    }
    Ok(written)
}

/// Loads the baseline and waivers, writes the requested reports into `out`
/// (when given), prints the terminal summary and returns the exit status:
/// 1 when an open finding at or above `fail_on` exists (only new ones with
/// `--fail-on-new`), else 0.
pub fn emit(
    report: &Report<'_>,
    rules: &[Rule],
    args: &ReportArgs,
    out: Option<&Path>,
    fail_on: Option<Severity>,
) -> Result<u8, EmitError> {
    let mut formats = args.format.clone().unwrap_or_else(|| vec![Format::Json]);
    formats.sort_unstable();
    formats.dedup();
    if args.format.is_some() && out.is_none() {
        return Err(EmitError::Usage(
            "`--format` writes files: pass `--out DIR` as well".into(),
        ));
    }
    let mut diags = Vec::new();
    let baseline = match &args.baseline {
        Some(p) => Baseline::load(p).map_err(|mut d| diags.append(&mut d)).ok(),
        None => None,
    };
    let waivers = match &args.waivers {
        Some(p) => WaiverSet::load(p)
            .map_err(|mut d| diags.append(&mut d))
            .ok(),
        None => None,
    };
    if !diags.is_empty() {
        return Err(EmitError::Input(diags));
    }
    let outcome = Outcome::new(report, rules, baseline, waivers);
    if let Some(w) = &outcome.waivers {
        for line in w.warnings() {
            eprintln!("{}", summary::printable(&line));
        }
    }
    let mut written: Vec<PathBuf> = Vec::new();
    if let Some(out) = out {
        std::fs::create_dir_all(out).map_err(io_err(out))?;
        let progress = Progress::start();
        let mut review = None;
        for f in formats {
            written.extend(write_format(&outcome, &mut review, f, out, &progress)?);
        }
        progress.finish();
    }
    let mut stdout = anstream::stdout();
    let _ = write!(stdout, "{}", summary::render(&outcome));
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
        outcome
            .gating(args.fail_on_new)
            .any(|x| x.finding.severity >= t)
    });
    Ok(u8::from(failing))
}
