//! Reports people and pipelines can trust: the same bytes whatever path the
//! snapshot was given by, no path of the machine in any report, and a set
//! of reports in `--out` that is either the old one or the new one.

mod common;

use std::fs;
use std::path::Path;

const ALL: &str = "json,md,html,csv,sarif,junit";
const FILES: &[&str] = &[
    "findings.json",
    "report.md",
    "report.html",
    "findings.csv",
    "access.csv",
    "findings.sarif",
    "junit.xml",
];

/// Audits `snapshot` (as typed, from the crate root) into `out` with every
/// format; returns the files by name.
fn audit_all(snapshot: &str, out: &Path, extra: &[&str]) -> Vec<(&'static str, Vec<u8>)> {
    let out_s = out.display().to_string();
    let mut args = vec![
        "audit",
        snapshot,
        "--out",
        &out_s,
        "--format",
        ALL,
        "--fail-on",
        "never",
        "--as-of",
        "2026-11-01",
    ];
    args.extend_from_slice(extra);
    let (code, _, err) = common::run(&args);
    assert_eq!(code, 0, "audit of `{snapshot}` failed:\n{err}");
    FILES
        .iter()
        .map(|n| (*n, fs::read(out.join(n)).expect(n)))
        .collect()
}

/// Validates that every report is byte-identical whether the snapshot is
/// typed relative (`fixtures/demo`), with `./` and a trailing slash, or
/// absolute, for a directory, a single-file snapshot, an export folder and
/// (with `--keep-going`) a snapshot with rejected rows; and that no report
/// holds the absolute path of the crate.
#[test]
fn reports_are_the_same_whatever_path_the_snapshot_is_given_by() {
    let root = common::root();
    let abs_root = root.display().to_string();
    let tmp = tempfile::tempdir().expect("tempdir");
    for (snapshot, extra) in [
        ("fixtures/demo", &[][..]),
        ("fixtures/report/hostile.json", &[][..]),
        ("fixtures/exports/northwind", &[][..]),
        ("fixtures/bad/multiple_errors", &["--keep-going"][..]),
    ] {
        let dotted = if snapshot.ends_with(".json") {
            format!("./{snapshot}")
        } else {
            format!("./{snapshot}/")
        };
        let absolute = root.join(snapshot).display().to_string();
        let runs: Vec<_> = [snapshot, dotted.as_str(), absolute.as_str()]
            .iter()
            .enumerate()
            .map(|(i, typed)| {
                let out = tmp
                    .path()
                    .join(format!("{}-{i}", snapshot.replace('/', "_")));
                (typed.to_string(), audit_all(typed, &out, extra))
            })
            .collect();
        for (typed, files) in &runs[1..] {
            for ((name, a), (_, b)) in runs[0].1.iter().zip(files) {
                assert!(a == b, "{name} differs between `{snapshot}` and `{typed}`");
            }
        }
        for (name, bytes) in &runs[2].1 {
            let text = String::from_utf8_lossy(bytes);
            assert!(
                !text.contains(&abs_root),
                "{name} of `{absolute}` holds the absolute path `{abs_root}`"
            );
        }
        // findings.json's `source` and `file` fields are root-relative.
        let doc: serde_json::Value =
            serde_json::from_slice(&runs[2].1[0].1).expect("findings.json");
        let mut checked = 0;
        walk(&doc, &mut |key, v| {
            if matches!(key, "source" | "file" | "files") {
                let texts: Vec<&str> = match v {
                    serde_json::Value::Array(a) => a.iter().filter_map(|x| x.as_str()).collect(),
                    _ => v.as_str().into_iter().collect(),
                };
                for t in texts {
                    checked += 1;
                    assert!(
                        !t.starts_with('/') && !t.starts_with("./") && !t.contains(&abs_root),
                        "`{key}` of `{snapshot}` is not relative to the snapshot root: `{t}`"
                    );
                }
            }
        });
        assert!(
            checked > 0,
            "no source or file field checked for `{snapshot}`"
        );
    }
}

/// Validates that a copy of the demo in a folder elsewhere (a name with a
/// space and `#`) gives the same reports as the demo itself.
#[test]
fn reports_do_not_depend_on_where_the_snapshot_lies() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let copy = tmp.path().join("my snap #1");
    fs::create_dir(&copy).expect("mkdir");
    for e in fs::read_dir(common::root().join("fixtures/demo")).expect("demo") {
        let e = e.expect("entry");
        fs::copy(e.path(), copy.join(e.file_name())).expect("copy");
    }
    let a = audit_all("fixtures/demo", &tmp.path().join("a"), &[]);
    let b = audit_all(&copy.display().to_string(), &tmp.path().join("b"), &[]);
    for ((name, x), (_, y)) in a.iter().zip(&b) {
        assert!(x == y, "{name} depends on where the snapshot lies");
    }
}

/// Calls `f` with every key and value of a JSON document.
fn walk(v: &serde_json::Value, f: &mut dyn FnMut(&str, &serde_json::Value)) {
    match v {
        serde_json::Value::Object(m) => {
            for (k, x) in m {
                f(k, x);
                walk(x, f);
            }
        }
        serde_json::Value::Array(a) => {
            for x in a {
                walk(x, f);
            }
        }
        _ => {}
    }
}
