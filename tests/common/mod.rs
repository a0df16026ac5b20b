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

/// findings.json of an audit, as text.
pub fn findings_json(a: &Audit) -> String {
    let r = Report {
        snapshot: &a.snapshot,
        graph: &a.graph,
        as_of: a.as_of,
        as_of_origin: a.as_of_origin,
        findings: &a.findings,
        diagnostics: &a.diagnostics,
    };
    let mut buf = Vec::new();
    report::json::write(&r, &mut buf).expect("write findings.json");
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
    outcome(&bin(args))
}

/// Exit code, stdout and stderr of a binary run from `cwd` (a folder
/// outside the repository, as a user's).
pub fn run_in(cwd: &Path, args: &[&str]) -> (i32, String, String) {
    outcome(
        &Command::new(env!("CARGO_BIN_EXE_partner-audit"))
            .args(args)
            .current_dir(cwd)
            .env("NO_COLOR", "1")
            .output()
            .expect("run partner-audit"),
    )
}

fn outcome(o: &Output) -> (i32, String, String) {
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

pub mod snap;

/// A report as bytes: a file's content, or for a folder (the HTML review's
/// `html/`) every file under it in path order, each after a `==> path <==`
/// line, so that two folders compare as two files do.
pub fn read_report(path: &Path) -> Vec<u8> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<(String, PathBuf)>) {
        for e in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let p = e.expect("entry").path();
            if p.is_dir() {
                walk(root, &p, out);
            } else {
                let rel = p.strip_prefix(root).unwrap_or(&p).display().to_string();
                out.push((rel, p));
            }
        }
    }
    if !path.is_dir() {
        return std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    }
    let mut files = Vec::new();
    walk(path, path, &mut files);
    files.sort();
    let mut out = Vec::new();
    for (rel, p) in files {
        out.extend_from_slice(format!("==> {rel} <==\n").as_bytes());
        out.extend(std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display())));
    }
    out
}
