//! Reports people and pipelines can trust: the same bytes whatever path the
//! snapshot was given by, no path of the machine in any report, and a set
//! of reports in `--out` that is either the old one or the new one.

mod report;

use report::common;

use std::fs;
use std::path::Path;

const ALL: &str = "json,md,html,csv,sarif,junit";
const FILES: &[&str] = &[
    "findings.json",
    "report.md",
    "report.html",
    "html",
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
        .map(|n| (*n, common::read_report(&out.join(n))))
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
            if *name == "findings.sarif" {
                if let Err(e) = report::validate_sarif(&text) {
                    panic!("findings.sarif of `{snapshot}` is invalid:\n{e}");
                }
            }
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

/// Lists a folder (names, sorted).
fn list(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .expect("list")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// Validates that a run that cannot publish its reports (a folder stands
/// where report.html goes) exits 2, says the old reports were kept, and
/// leaves `--out` exactly as it was: the previous findings.json and its
/// completeness marker, no new file, no staging folder, no temporary.
#[test]
fn a_failed_run_leaves_the_previous_reports_whole() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = tmp.path().join("out");
    let out_s = out.display().to_string();
    let base = [
        "audit",
        "--out",
        &out_s,
        "--fail-on",
        "never",
        "--as-of",
        "2026-11-01",
    ];
    let (code, _, err) = common::run(&[&base[..], &["fixtures/demo"]].concat());
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        fs::read_to_string(out.join(".partner-audit-complete")).expect("marker"),
        "findings.json\n"
    );
    let old = fs::read(out.join("findings.json")).expect("findings.json");
    fs::create_dir(out.join("report.html")).expect("a folder in the way");
    let before = list(&out);
    let (code, _, err) = common::run(
        &[
            &base[..],
            &["fixtures/report/hostile.json", "--format", ALL],
        ]
        .concat(),
    );
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("report.html") && err.contains("were left as they were"),
        "{err}"
    );
    assert_eq!(list(&out), before, "new files or leftovers in --out");
    assert_eq!(
        fs::read(out.join("findings.json")).expect("findings.json"),
        old
    );
}

/// Validates that a staging folder and a temporary report file left by a
/// run that died are removed by the next run, and that the published set
/// is listed in the completeness marker.
#[test]
fn leftovers_of_dead_runs_are_removed() {
    if !Path::new("/proc/self").exists() {
        return;
    }
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = tmp.path().join("out");
    fs::create_dir(&out).expect("mkdir");
    // Above the kernel's largest process id: never a running process.
    fs::create_dir(out.join(".partner-audit-staging-4194399")).expect("mkdir");
    fs::write(
        out.join(".partner-audit-staging-4194399/findings.json"),
        "x",
    )
    .expect("write");
    fs::write(out.join(".findings.json.tmp4194399"), "x").expect("write");
    audit_all("fixtures/demo", &out, &[]);
    let mut want: Vec<String> = FILES.iter().map(ToString::to_string).collect();
    want.push(".partner-audit-complete".into());
    want.sort();
    assert_eq!(list(&out), want);
    let marker = fs::read_to_string(out.join(".partner-audit-complete")).expect("marker");
    assert!(marker.ends_with("findings.json\n"), "{marker}");
    assert_eq!(marker.lines().count(), FILES.len());
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
