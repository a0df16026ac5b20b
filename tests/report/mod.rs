//! Shared helpers for the report tests (`tests/report_*.rs`).
#![allow(dead_code)]

use std::io::Write as _;
use std::path::Path;

use partner_audit::app::Audit;
use partner_audit::engine::rule::Rule;
use partner_audit::report::baseline::Baseline;
use partner_audit::report::waivers::WaiverSet;
use partner_audit::report::{csv, html, json, junit, markdown, review, sarif, Outcome, Report};

#[path = "../common/mod.rs"]
pub mod common;

/// The report view of an audit.
pub fn report(a: &Audit) -> Report<'_> {
    Report {
        snapshot: &a.snapshot,
        graph: &a.graph,
        as_of: a.as_of,
        as_of_origin: a.as_of_origin,
        findings: &a.findings,
        diagnostics: &a.diagnostics,
        shard: None,
    }
}

/// Every format rendered for one outcome, by file name (the HTML review's
/// pages by their path under `--out`: `report.html`, `html/…`).
pub fn render_all(o: &Outcome<'_>) -> Vec<(String, String)> {
    let rv = review::build(o);
    let mut out = Vec::new();
    let mut put = |name: &str, f: &dyn Fn(&mut Vec<u8>) -> std::io::Result<()>| {
        let mut buf = Vec::new();
        f(&mut buf).unwrap_or_else(|e| panic!("{name}: {e}"));
        out.push((name.to_string(), String::from_utf8(buf).expect("utf-8")));
    };
    put("findings.json", &|w| json::write_outcome(o, w));
    put("report.md", &|w| markdown::write(&rv, w));
    for page in html::pages(&rv).expect("html pages") {
        put(&page.path, &|w| w.write_all(page.html.as_bytes()));
    }
    put("findings.csv", &|w| csv::write_findings(o, w));
    put("access.csv", &|w| csv::write_access(o, w));
    put("findings.sarif", &|w| sarif::write(o, w));
    put("junit.xml", &|w| junit::write(o, w));
    out
}

/// The HTML review's pages (`report.html` and `html/…`) of an outcome.
pub fn html_pages(o: &Outcome<'_>) -> Vec<(String, String)> {
    render_all(o)
        .into_iter()
        .filter(|(n, _)| n.ends_with(".html"))
        .collect()
}

/// One format of an outcome.
pub fn render(o: &Outcome<'_>, name: &str) -> String {
    render_all(o)
        .into_iter()
        .find(|(n, _)| *n == name)
        .map(|(_, t)| t)
        .unwrap_or_else(|| panic!("no format {name}"))
}

/// An outcome with optional baseline and waivers files.
pub fn outcome<'a>(
    r: &'a Report<'a>,
    rules: &'a [Rule],
    baseline: Option<&Path>,
    waivers: Option<&Path>,
) -> Outcome<'a> {
    let b = baseline.map(|p| Baseline::load(p).expect("baseline loads"));
    let w = waivers.map(|p| WaiverSet::load(p).expect("waivers load"));
    Outcome::new(r, rules, b, w)
}

/// Validates a SARIF log against the official SARIF 2.1.0 schema
/// (tests/data/sarif-schema-2.1.0.json, see tests/data/README.md).
pub fn validate_sarif(sarif: &str) -> Result<(), String> {
    use serde_json::Value;
    let schema: Value =
        serde_json::from_str(include_str!("../data/sarif-schema-2.1.0.json")).expect("schema json");
    let url = partner_audit::report::sarif::SCHEMA;
    let mut schemas = boon::Schemas::new();
    let mut compiler = boon::Compiler::new();
    compiler.enable_format_assertions();
    compiler.add_resource(url, schema).expect("add schema");
    let idx = compiler.compile(url, &mut schemas).expect("compile schema");
    let doc: Value = serde_json::from_str(sarif).map_err(|e| e.to_string())?;
    schemas.validate(&doc, idx).map_err(|e| format!("{e:#}"))
}
