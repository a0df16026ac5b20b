//! The Markdown and HTML reports are written one customer at a time
//! (Markdown in ordered parallel batches of `review::BATCH` customers):
//! a generated snapshot spanning several batches gives the same bytes at
//! one thread and at several, and report.md holds every customer's
//! section once, in the order of its customer table.

mod common;

use std::path::Path;

use common::run;
use partner_audit::report::review::BATCH;

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// Every file under `dir`, by path relative to it, with its bytes.
fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).expect("read dir") {
            let p = e.expect("dir entry").path();
            if p.is_dir() {
                todo.push(p);
            } else {
                let rel = p.strip_prefix(dir).expect("under dir");
                out.push((rel.display().to_string(), std::fs::read(&p).expect("read")));
            }
        }
    }
    out.sort();
    out
}

/// The customers of report.md: from its customer table, and from its
/// sections' headings, in order.
fn customers_of(md: &str) -> (Vec<&str>, Vec<&str>) {
    let table: Vec<&str> = md
        .split("| Customer | high |")
        .nth(1)
        .expect("customer table")
        .lines()
        .skip(2)
        .take_while(|l| l.starts_with("| "))
        .filter_map(|l| l.strip_prefix("| ")?.split(" | ").next())
        .collect();
    let sections: Vec<&str> = md
        .lines()
        .filter_map(|l| l.strip_prefix("## ")?.rsplit_once(" (`"))
        .map(|(name, _)| name)
        .collect();
    (table, sections)
}

/// Validates that md and html bytes do not depend on the number of
/// threads, and that the streamed sections are all there, in order.
#[test]
fn streamed_reports_are_the_same_at_any_thread_count() {
    let customers = 2 * BATCH + BATCH / 2;
    let tmp = tempfile::tempdir().expect("tempdir");
    let snap = tmp.path().join("snap");
    let n = customers.to_string();
    let (code, _, err) = run(&[
        "generate",
        "--customers",
        &n,
        "--partners",
        "5",
        "--seed",
        "7",
        s(&snap),
    ]);
    assert_eq!(code, 0, "{err}");
    let mut runs = Vec::new();
    for threads in ["1", "3"] {
        let out = tmp.path().join(format!("t{threads}"));
        let (code, _, err) = run(&[
            "audit",
            s(&snap),
            "--format",
            "md,html",
            "--threads",
            threads,
            "--fail-on",
            "never",
            "--out",
            s(&out),
        ]);
        assert_eq!(code, 0, "{err}");
        runs.push(files(&out));
    }
    let (one, three) = (&runs[0], &runs[1]);
    let names = |r: &[(String, Vec<u8>)]| r.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>();
    assert_eq!(names(one), names(three));
    for ((name, a), (_, b)) in one.iter().zip(three) {
        assert!(a == b, "{name} differs between 1 and 3 threads");
    }
    let pages = one
        .iter()
        .filter(|(n, _)| n.starts_with("html/customers/") || n.starts_with("html\\customers\\"))
        .count();
    assert_eq!(pages, customers);
    let md = one
        .iter()
        .find(|(n, _)| n == "report.md")
        .map(|(_, b)| std::str::from_utf8(b).expect("utf-8"))
        .expect("report.md");
    let (table, sections) = customers_of(md);
    assert_eq!(table.len(), customers);
    assert_eq!(sections, table);
    assert!(md.ends_with('\n') && !md.ends_with("\n\n"));
}
