//! The report options on the command line: several formats at once,
//! atomic writes, usage errors, byte-identical output for any thread count,
//! colour only when allowed, no progress line when stderr is not a terminal.

mod report;

use std::process::Command;

use report::common::{self, run};

const ALL: &str = "json,md,html,csv,sarif,junit";
const FILES: [&str; 8] = [
    "findings.json",
    "report.md",
    "report.html",
    "html",
    "findings.csv",
    "access.csv",
    "findings.sarif",
    "junit.xml",
];

/// Validates that `--format` writes every requested file, and nothing else
/// (no temporary file is left behind).
#[test]
fn several_formats_in_one_run() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = tmp.path().to_string_lossy().into_owned();
    let (code, stdout, err) = run(&[
        "audit",
        "fixtures/demo",
        "--out",
        &out,
        "--format",
        ALL,
        "--fail-on",
        "never",
    ]);
    assert_eq!(code, 0, "{err}");
    let mut names: Vec<String> = std::fs::read_dir(tmp.path())
        .expect("read_dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let mut expected: Vec<String> = FILES.iter().map(ToString::to_string).collect();
    // The marker of a complete set (see `report::emit::COMPLETE`).
    expected.push(".partner-audit-complete".into());
    expected.sort();
    assert_eq!(names, expected);
    for f in FILES {
        assert!(
            stdout.contains(&format!("wrote {}", tmp.path().join(f).display())),
            "{stdout}"
        );
    }
    // Default: findings.json only.
    let tmp2 = tempfile::tempdir().expect("tempdir");
    let out2 = tmp2.path().to_string_lossy().into_owned();
    run(&[
        "audit",
        "fixtures/demo",
        "--out",
        &out2,
        "--fail-on",
        "never",
    ]);
    assert_eq!(std::fs::read_dir(tmp2.path()).expect("dir").count(), 2);
    assert!(tmp2.path().join(".partner-audit-complete").exists());
    assert!(tmp2.path().join("findings.json").exists());
}

/// Validates usage errors: an unknown format, or formats without `--out`.
#[test]
fn format_usage_errors() {
    let (code, _, err) = run(&[
        "audit",
        "fixtures/demo",
        "--out",
        "/tmp/x",
        "--format",
        "json,pdf",
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("pdf"), "{err}");
    let (code, _, err) = run(&["audit", "fixtures/demo", "--format", "html"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("`--format` writes files: pass `--out DIR` as well"),
        "{err}"
    );
}

fn outputs(snapshot: &str, threads: &str, dir: &std::path::Path) -> Vec<Vec<u8>> {
    let out = dir.join(threads);
    let out_s = out.to_string_lossy().into_owned();
    let (code, _, err) = run(&[
        "audit",
        snapshot,
        "--out",
        &out_s,
        "--format",
        ALL,
        "--threads",
        threads,
        "--fail-on",
        "never",
    ]);
    assert_eq!(code, 0, "{err}");
    FILES
        .iter()
        .map(|f| common::read_report(&out.join(f)))
        .collect()
}

/// Validates byte-identical reports of every format for 1 and 4 threads,
/// on the demo and on a generated snapshot large enough to split work.
#[test]
fn every_format_is_identical_for_any_thread_count() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let snap = tmp.path().join("gen");
    let snap_s = snap.to_string_lossy().into_owned();
    let (code, _, err) = run(&["generate", "--customers", "200", "--seed", "3", &snap_s]);
    assert_eq!(code, 0, "{err}");
    for snapshot in ["fixtures/demo", snap_s.as_str()] {
        let dir = tempfile::tempdir().expect("tempdir");
        let one = outputs(snapshot, "1", dir.path());
        let four = outputs(snapshot, "4", dir.path());
        for (i, f) in FILES.iter().enumerate() {
            assert!(!one[i].is_empty(), "{f} is empty");
            assert!(
                one[i] == four[i],
                "{f} differs between 1 and 4 threads on {snapshot}"
            );
        }
    }
}

fn summary_with(env: &[(&str, &str)], remove: &[&str]) -> (String, String) {
    let mut c = Command::new(env!("CARGO_BIN_EXE_partner-audit"));
    c.args(["audit", "fixtures/demo", "--fail-on", "never"])
        .current_dir(common::root());
    for k in remove {
        c.env_remove(k);
    }
    for (k, v) in env {
        c.env(k, v);
    }
    let o = c.output().expect("run");
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// Validates colour: on when forced, off with NO_COLOR and when stdout is
/// not a terminal (as here); the progress line never appears on a
/// non-terminal stderr.
#[test]
fn colour_follows_no_color_and_the_terminal() {
    let (forced, _) = summary_with(&[("CLICOLOR_FORCE", "1")], &["NO_COLOR"]);
    assert!(forced.contains("\u{1b}["), "{forced:?}");
    let (no_color, _) = summary_with(&[("CLICOLOR_FORCE", "1"), ("NO_COLOR", "1")], &[]);
    assert!(!no_color.contains('\u{1b}'), "{no_color:?}");
    let (piped, err) = summary_with(&[], &["NO_COLOR", "CLICOLOR_FORCE"]);
    assert!(!piped.contains('\u{1b}'), "{piped:?}");
    assert!(piped.contains("by severity:"));
    assert!(
        !err.contains('\r'),
        "progress output on a non-terminal stderr"
    );
}
