//! Shared helpers for the integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use partner_audit::app::{self, Audit};
use partner_audit::engine::rule::{self, Rule};
use partner_audit::report::{self, Report};

/// The crate root (tests run there, but be explicit).
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The built-in catalog.
pub fn catalog() -> Vec<Rule> {
    rule::load_catalog(None, true).expect("built-in catalog is valid")
}

/// Audits `path` (relative to the crate root) with `rules`.
pub fn audit_with(path: &str, rules: &[Rule]) -> Audit {
    let mut t = Vec::new();
    app::run_audit(Path::new(path), rules, &app::Settings::default(), &mut t)
        .unwrap_or_else(|e| panic!("audit of {path} failed:\n{e}"))
}

/// Audits `path` with the built-in catalog.
pub fn audit(path: &str) -> Audit {
    audit_with(path, &catalog())
}

/// findings.json of an audit in format_version 1, as text: every finding
/// self-contained (title, remediation, principals and paths inline), the
/// view the rule and import snapshots are reviewed in.
pub fn findings_json(a: &Audit) -> String {
    let r = Report {
        snapshot: &a.snapshot,
        graph: &a.graph,
        as_of: a.as_of,
        findings: &a.findings,
        diagnostics: &a.diagnostics,
    };
    let mut buf = Vec::new();
    report::json::write_v1(&r, &mut buf).expect("write findings.json");
    String::from_utf8(buf).expect("utf-8")
}

/// findings.json of an audit in the default layout (format_version 2), as
/// text; `rules` is the catalog the audit ran with.
pub fn findings_json_v2(a: &Audit, rules: &[Rule]) -> String {
    let r = Report {
        snapshot: &a.snapshot,
        graph: &a.graph,
        as_of: a.as_of,
        findings: &a.findings,
        diagnostics: &a.diagnostics,
    };
    let mut buf = Vec::new();
    report::json::write(&r, rules, &mut buf).expect("write findings.json");
    String::from_utf8(buf).expect("utf-8")
}

/// Runs the binary from the crate root.
pub fn bin(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_partner-audit"))
        .args(args)
        .current_dir(root())
        .env("NO_COLOR", "1")
        .output()
        .expect("run partner-audit")
}

/// Exit code, stdout and stderr of a binary run.
pub fn run(args: &[&str]) -> (i32, String, String) {
    let o = bin(args);
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}
