//! `audit --shard I/N` and `partner-audit merge`: four shard processes,
//! merged, give the unsharded run's bytes; the index comes from the
//! Kubernetes and Slurm variables with `auto/N`; a merge refuses an
//! incomplete, mixed or altered set of shards.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::root;

/// Every report format.
const FORMATS: &str = "json,md,html,csv,sarif,junit,opengraph";

/// The merged files, compared byte for byte (the set's marker too; a
/// folder file by file).
const FILES: [&str; 10] = [
    "findings.json",
    "findings.csv",
    "access.csv",
    "report.md",
    "report.html",
    "html",
    "findings.sarif",
    "junit.xml",
    "opengraph.json",
    ".partner-audit-complete",
];

/// The binary with `args` and extra environment variables (and none of
/// the shard ones unless given).
fn command(args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_partner-audit"));
    cmd.args(args)
        .current_dir(root())
        .env("NO_COLOR", "1")
        .env_remove("JOB_COMPLETION_INDEX")
        .env_remove("SLURM_ARRAY_TASK_ID");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd
}

/// Runs [`command`]: exit status, stdout, stderr.
fn run_env(args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let o = command(args, env).output().expect("run partner-audit");
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// What [`shard_and_merge`] leaves: the unsharded run's folder, the
/// shards' folders, the merge's folder, and how many findings each shard
/// assembled (its `--stats`).
struct Run {
    whole: PathBuf,
    dirs: Vec<PathBuf>,
    merged: PathBuf,
    assembled: Vec<usize>,
    /// Each shard's `--stats` line.
    stats: Vec<serde_json::Value>,
}

/// The `--stats` line on stderr.
fn stats(stderr: &str) -> serde_json::Value {
    let line = stderr
        .lines()
        .rev()
        .find(|l| l.starts_with("{\"load_s\""))
        .unwrap_or_else(|| panic!("no --stats line in {stderr}"));
    serde_json::from_str(line).expect("--stats is JSON")
}

/// Audits `snapshot` unsharded and as four shard processes run at once
/// (two of them told their index by `JOB_COMPLETION_INDEX` and
/// `SLURM_ARRAY_TASK_ID`), merges the shards, and returns the folders.
fn shard_and_merge(snapshot: &str, formats: &str, extra: &[&str], tmp: &Path) -> Run {
    let whole = tmp.join("whole");
    let mut args = vec!["audit", snapshot, "--format", formats, "--fail-on", "never"];
    args.extend_from_slice(extra);
    let (code, _, err) = run_env(&[&args[..], &["--out", s(&whole)]].concat(), &[]);
    assert_eq!(code, 0, "unsharded run: {err}");
    let dirs: Vec<PathBuf> = (0..4).map(|i| tmp.join(format!("shard-{i}"))).collect();
    let children: Vec<_> = dirs
        .iter()
        .enumerate()
        .map(|(i, dir)| {
            let index = i.to_string();
            let (spec, env): (String, Vec<(&str, &str)>) = match i {
                1 => ("auto/4".into(), vec![("JOB_COMPLETION_INDEX", &index)]),
                3 => ("auto/4".into(), vec![("SLURM_ARRAY_TASK_ID", &index)]),
                _ => (format!("{i}/4"), vec![]),
            };
            let mut all = args.clone();
            all.extend(["--shard", &spec, "--out", s(dir), "--stats"]);
            command(&all, &env)
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("start a shard")
        })
        .collect();
    let mut assembled = Vec::new();
    let mut all_stats = Vec::new();
    for (i, child) in children.into_iter().enumerate() {
        let o = child.wait_with_output().expect("shard ends");
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(0), "shard {i}: {err}");
        assert!(
            !err.contains("auditing the whole snapshot"),
            "shard {i} gave up its part: {err}"
        );
        let v = stats(&err);
        assembled.push(v["findings"].as_u64().expect("findings count") as usize);
        all_stats.push(v);
    }
    let merged = tmp.join("merged");
    // In another order than 0..4: the merge orders them itself.
    let (code, out, err) = run_env(
        &[
            "merge",
            s(&dirs[2]),
            s(&dirs[0]),
            s(&dirs[3]),
            s(&dirs[1]),
            "--out",
            s(&merged),
        ],
        &[],
    );
    assert_eq!(code, 0, "merge: {err}");
    assert!(out.contains("merged 4 shard(s)"), "{out}");
    Run {
        whole,
        dirs,
        merged,
        assembled,
        stats: all_stats,
    }
}

fn read(p: &Path) -> Vec<u8> {
    std::fs::read(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn findings_of(dir: &Path) -> Vec<serde_json::Value> {
    let doc: serde_json::Value =
        serde_json::from_slice(&read(&dir.join("findings.json"))).expect("findings.json parses");
    doc["findings"].as_array().expect("findings").clone()
}

/// Checks that the merge is the unsharded run byte for byte, that the
/// shards split the findings (each finding in exactly one shard), and that
/// every shard assembled only its own findings, except shard 0 when it
/// writes a report about the whole run.
fn check_identical(run: &Run, min_nonempty: usize) {
    let Run {
        whole,
        dirs,
        merged,
        assembled,
        stats,
    } = run;
    // Whether shard 0 writes a report made from every finding.
    let whole_run = whole.join("report.md").exists();
    let files: Vec<&str> = FILES
        .into_iter()
        .filter(|n| whole.join(n).exists())
        .collect();
    assert!(files.len() >= 4, "the run wrote its reports: {files:?}");
    for name in files {
        let a = common::read_report(&whole.join(name));
        let b = common::read_report(&merged.join(name));
        assert!(
            a == b,
            "{name}: the merge differs from the unsharded run ({} vs {} bytes)",
            a.len(),
            b.len()
        );
    }
    assert!(
        !merged.join("shard.json").exists(),
        "the merge writes no index"
    );
    // Shards other than 0 (and shard 0 without a whole-run report) keep
    // only their part of the snapshot's rows.
    for (i, v) in stats.iter().enumerate() {
        match (v["rows_kept"].as_f64(), v["rows_total"].as_f64()) {
            (Some(kept), Some(total)) => {
                assert!(kept < total, "shard {i} kept {kept} of {total} rows")
            }
            _ => assert!(
                i == 0 && whole.join("opengraph.json").exists(),
                "shard {i} kept the whole snapshot: {v}"
            ),
        }
    }
    let all = findings_of(whole);
    let per: Vec<Vec<serde_json::Value>> = dirs.iter().map(|d| findings_of(d)).collect();
    for (i, n) in assembled.iter().enumerate() {
        let own = per[i].len();
        if i == 0 && whole_run {
            assert_eq!(
                *n,
                all.len(),
                "shard 0 writes whole-run reports from every finding"
            );
        } else {
            assert_eq!(*n, own, "shard {i} assembles its own findings only");
        }
    }
    // Shards other than 0 write their part only: no whole-run report, and
    // their customers' pages.
    for d in &dirs[1..] {
        for name in ["report.md", "report.html", "opengraph.json"] {
            assert!(!d.join(name).exists(), "{} holds {name}", d.display());
        }
    }
    // Each shard's SARIF holds the results of its findings.
    let results = |d: &Path| {
        let log: serde_json::Value =
            serde_json::from_slice(&read(&d.join("findings.sarif"))).expect("sarif parses");
        log["runs"][0]["results"].as_array().map_or(0, Vec::len)
    };
    if whole.join("findings.sarif").exists() {
        for d in dirs {
            assert_eq!(results(d), findings_of(d).len(), "{}", d.display());
        }
    }
    // Each shard's junit.xml holds the cases of its own subjects: together,
    // every case of the rules' suites once (the `input` suite is in each).
    let cases = |d: &Path| {
        let text = String::from_utf8(read(&d.join("junit.xml"))).expect("utf-8");
        text.matches("<testcase ").count()
            - text.matches("classname=\"partner-audit.input\"").count()
    };
    if whole.join("junit.xml").exists() {
        assert_eq!(
            dirs.iter().map(|d| cases(d)).sum::<usize>(),
            cases(whole),
            "every JUnit case is written by one shard"
        );
    }
    if whole_run {
        let pages = |d: &Path| std::fs::read_dir(d.join("html/customers")).map_or(0, |r| r.count());
        assert_eq!(
            dirs.iter().map(|d| pages(d)).sum::<usize>(),
            pages(whole),
            "every customer page is written by one shard"
        );
        assert!(pages(whole) > 0, "the run has customer pages");
    }
    assert_eq!(
        per.iter().map(Vec::len).sum::<usize>(),
        all.len(),
        "every finding is in exactly one shard"
    );
    assert!(
        per.iter().filter(|f| !f.is_empty()).count() >= min_nonempty,
        "the findings are spread over the shards: {:?}",
        per.iter().map(Vec::len).collect::<Vec<_>>()
    );
    // A customer's findings are all in one shard.
    for (i, f) in per.iter().enumerate() {
        for x in f {
            if let Some(c) = x["customer_tenant_id"].as_str() {
                for (j, g) in per.iter().enumerate() {
                    if j != i {
                        assert!(
                            !g.iter()
                                .any(|y| y["customer_tenant_id"].as_str() == Some(c)),
                            "customer {c} is in shards {i} and {j}"
                        );
                    }
                }
            }
        }
    }
    // Shard 0 alone holds the findings without a customer.
    for f in per.iter().skip(1) {
        assert!(f.iter().all(|x| !x["customer_tenant_id"].is_null()));
    }
}

/// Validates that four shards of the demo merge into the unsharded bytes.
#[test]
fn four_shards_of_the_demo_merge_into_the_unsharded_bytes() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let run = shard_and_merge("fixtures/demo", FORMATS, &[], tmp.path());
    check_identical(&run, 2);
}

/// Validates it on the demo with two tenants the manifest marks
/// incomplete (junit.xml's `input` suite, SARIF notifications and the
/// findings.json head name them, alike in every shard).
#[test]
fn four_shards_with_incomplete_tenants_merge_into_the_unsharded_bytes() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let snap = tmp.path().join("snap");
    copy_demo(&snap);
    let manifest = snap.join("manifest.json");
    let mut doc: serde_json::Value =
        serde_json::from_slice(&read(&manifest)).expect("manifest parses");
    doc["incomplete"] = serde_json::json!([
        {"tenant_id": "a24e022d-57ab-4419-aeae-2f3bc58a985d", "reason": "role assignments: throttled"},
        {"tenant_id": "88effb8d-f0a2-4825-be43-f4148978d143", "reason": "devices: <forbidden> & \"denied\""}
    ]);
    std::fs::write(&manifest, serde_json::to_vec_pretty(&doc).expect("json")).expect("write");
    let run = shard_and_merge(s(&snap), FORMATS, &[], tmp.path());
    check_identical(&run, 2);
    let junit = String::from_utf8(read(&run.merged.join("junit.xml"))).expect("utf-8");
    assert_eq!(
        junit.matches("classname=\"partner-audit.input\"").count(),
        2
    );
}

/// Copies the demo into `dir`.
fn copy_demo(dir: &Path) {
    std::fs::create_dir(dir).expect("mkdir");
    for entry in std::fs::read_dir(root().join("fixtures/demo")).expect("demo") {
        let path = entry.expect("entry").path();
        std::fs::copy(&path, dir.join(path.file_name().expect("name"))).expect("copy");
    }
}

/// Validates it where customers of different shards reach each other: a
/// user of one customer holds a role in another (with and without its home
/// tenant given), a group of a third has a member from the first, and a
/// customer's user holds a role in a partner's directory. Each shard keeps
/// the rows of the tenants whose principals reach its own, and the merge is
/// still the unsharded run's bytes.
#[test]
fn four_shards_with_cross_customer_access_merge_into_the_unsharded_bytes() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let snap = tmp.path().join("snap");
    copy_demo(&snap);
    // Contoso (shard 0), Alpine (shard 3), 1ccaa256 and 5e0c2f4a (shard 2).
    let (contoso, alpine, third, fourth, northwind) = (
        "a24e022d-57ab-4419-aeae-2f3bc58a985d",
        "2adb2c22-fcb5-455f-8122-79d32e879999",
        "1ccaa256-d985-44c4-9ffe-e8a78898c476",
        "5e0c2f4a-7b1d-4c8e-9a3f-6d2b8e1c4a70",
        "8650add5-6877-40ac-a353-5f54fa779ed1",
    );
    let (maria, tom, jonas) = (
        "4bbfbf58-2b2c-46fe-bc77-45399e1d9932",
        "1d668674-5bf1-41d9-ae13-f561f2e742a9",
        "dd642293-229e-4390-bf2f-e916530bb095",
    );
    let group = "7a1c2e3d-4b5f-4a6b-8c7d-9e0f1a2b3c4d";
    let ras = snap.join("role_assignments.json");
    let mut doc: serde_json::Value = serde_json::from_slice(&read(&ras)).expect("json");
    let list = doc["value"].as_array_mut().expect("value");
    for (tenant, role, principal, home) in [
        (alpine, "Global Administrator", maria, Some(contoso)),
        (fourth, "Security Administrator", jonas, None),
        (third, "User Administrator", group, Some(third)),
        (northwind, "Global Reader", jonas, Some(alpine)),
    ] {
        let mut ra = serde_json::json!({
            "tenant_id": tenant, "scope": "/", "role": role,
            "principal_id": principal, "created_at": "2025-01-01T00:00:00Z"
        });
        if let Some(home) = home {
            ra["principal_tenant_id"] = serde_json::json!(home);
        }
        list.push(ra);
    }
    std::fs::write(&ras, serde_json::to_vec_pretty(&doc).expect("json")).expect("write");
    let principals = snap.join("principals.csv");
    let mut text = String::from_utf8(read(&principals)).expect("utf-8");
    text.push_str(&format!("{third},{group},group,Shared Admins,,,\n"));
    std::fs::write(&principals, text).expect("write");
    let members = snap.join("memberships.jsonl");
    let mut text = String::from_utf8(read(&members)).expect("utf-8");
    text.push_str(&format!(
        "{{\"tenant_id\": \"{third}\", \"group_id\": \"{group}\", \"member_id\": \"{tom}\"}}\n"
    ));
    std::fs::write(&members, text).expect("write");
    for (formats, name) in [(FORMATS, "every"), ("json,csv,sarif,junit", "own-only")] {
        let dir = tmp.path().join(name);
        std::fs::create_dir(&dir).expect("mkdir");
        let run = shard_and_merge(s(&snap), formats, &[], &dir);
        check_identical(&run, 2);
        // The access rows that cross shards are there.
        let access = String::from_utf8(read(&run.merged.join("access.csv"))).expect("utf-8");
        for who in [maria, tom, jonas] {
            assert!(access.contains(who), "{who} in access.csv");
        }
    }
}

/// Validates the same on hostile strings (formula prefixes, quotes and
/// line breaks inside CSV cells, names that sort oddly).
#[test]
fn four_shards_of_hostile_names_merge_into_the_unsharded_bytes() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let run = shard_and_merge(
        "fixtures/report/hostile.json",
        FORMATS,
        &["--as-of", "2026-11-01T00:00:00Z"],
        tmp.path(),
    );
    check_identical(&run, 1);
}

/// Validates it on 300 generated customers, where every shard has many.
#[test]
fn four_shards_of_generated_customers_merge_into_the_unsharded_bytes() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let snap = tmp.path().join("snap");
    let (code, _, err) = run_env(
        &[
            "generate",
            "--customers",
            "300",
            "--partners",
            "5",
            s(&snap),
        ],
        &[],
    );
    assert_eq!(code, 0, "{err}");
    // Every format, then the formats written from a shard's own findings
    // alone (shard 0 then assembles only its own too).
    for (formats, name) in [
        (FORMATS, "every"),
        ("json,csv,sarif,junit,opengraph", "own-only"),
    ] {
        let dir = tmp.path().join(name);
        std::fs::create_dir(&dir).expect("mkdir");
        let run = shard_and_merge(s(&snap), formats, &[], &dir);
        check_identical(&run, 4);
        // The shards hold about a quarter of the customers each.
        for d in &run.dirs {
            let n = findings_of(d).len();
            let all = findings_of(&run.whole).len();
            assert!(
                n * 8 > all && n * 2 < all,
                "{n} of {all} findings in {}",
                d.display()
            );
        }
    }
}

/// Audits the demo as shard `spec` with every format into `out`.
fn demo_shard(spec: &str, extra: &[&str], out: &Path) {
    let mut args = vec![
        "audit",
        "fixtures/demo",
        "--format",
        FORMATS,
        "--fail-on",
        "never",
    ];
    args.extend_from_slice(extra);
    args.extend(["--shard", spec, "--out", s(out)]);
    let (code, _, err) = run_env(&args, &[]);
    assert_eq!(code, 0, "{err}");
}

/// Validates that a merge refuses an incomplete or mixed set of shards and
/// an altered shard file, naming what is wrong, and writes nothing.
#[test]
fn merge_refuses_incomplete_mixed_or_altered_shards() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let Run { dirs, .. } = shard_and_merge("fixtures/demo", FORMATS, &[], tmp.path());
    let out = tmp.path().join("refused");
    let merge = |dirs: &[&Path]| {
        let mut args = vec!["merge"];
        args.extend(dirs.iter().map(|d| s(d)));
        args.extend(["--out", s(&out)]);
        run_env(&args, &[])
    };
    // A shard missing.
    let (code, _, err) = merge(&[&dirs[0], &dirs[1], &dirs[3]]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("shard 2 of 4 missing"), "{err}");
    // The same shard twice.
    let (code, _, err) = merge(&[&dirs[0], &dirs[1], &dirs[1], &dirs[2], &dirs[3]]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("are both shard 1/4"), "{err}");
    // A shard of another split.
    let other = tmp.path().join("other");
    demo_shard("1/2", &[], &other);
    let (code, _, err) = merge(&[&dirs[0], &other, &dirs[2], &dirs[3]]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("different runs"), "{err}");
    // A folder that is not a shard.
    let (code, _, err) = merge(&[&dirs[0], &tmp.path().join("whole"), &dirs[2], &dirs[3]]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("shard.json"), "{err}");
    // A shard run with another as-of date: the heads differ.
    let late = tmp.path().join("late");
    demo_shard("3/4", &["--as-of", "2027-01-01"], &late);
    let (code, _, err) = merge(&[&dirs[0], &dirs[1], &dirs[2], &late]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("differ before `summary`"), "{err}");
    // A findings.sarif whose end was changed.
    let sarif = dirs[2].join("findings.sarif");
    let saved = read(&sarif);
    let text = String::from_utf8(saved.clone()).expect("utf-8");
    std::fs::write(
        &sarif,
        text.replace(
            "\"as_of_origin\": \"manifest\"",
            "\"as_of_origin\": \"flag\"",
        ),
    )
    .expect("write");
    let (code, _, err) = merge(&[&dirs[0], &dirs[1], &dirs[2], &dirs[3]]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("differ after `results`"), "{err}");
    std::fs::write(&sarif, saved).expect("write");
    // A shard.json whose SARIF result lengths do not match the file.
    let index = dirs
        .iter()
        .map(|d| d.join("shard.json"))
        .find(|p| findings_of(p.parent().expect("folder")).len() > 1)
        .expect("a shard with findings");
    let saved = read(&index);
    let mut doc: serde_json::Value = serde_json::from_slice(&saved).expect("shard.json parses");
    let first = doc["sarif_results"][0].as_u64().expect("a result length");
    doc["sarif_results"][0] = serde_json::json!(first + 1);
    std::fs::write(&index, serde_json::to_vec(&doc).expect("json")).expect("write");
    let (code, _, err) = merge(&[&dirs[0], &dirs[1], &dirs[2], &dirs[3]]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("findings.sarif"), "{err}");
    assert!(
        err.contains("a result of the length shard.json gives"),
        "{err}"
    );
    std::fs::write(&index, saved).expect("write");
    // A shard.json whose JUnit case lengths do not match the file.
    let saved = read(&index);
    let mut doc: serde_json::Value = serde_json::from_slice(&saved).expect("shard.json parses");
    let first = doc["junit"]["suites"][0]["cases"][0]
        .as_u64()
        .expect("a case length");
    doc["junit"]["suites"][0]["cases"][0] = serde_json::json!(first + 1);
    std::fs::write(&index, serde_json::to_vec(&doc).expect("json")).expect("write");
    let (code, _, err) = merge(&[&dirs[0], &dirs[1], &dirs[2], &dirs[3]]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("junit.xml"), "{err}");
    std::fs::write(&index, saved).expect("write");
    // A findings.csv with a row removed.
    let csv = dirs[0].join("findings.csv");
    let text = String::from_utf8(read(&csv)).expect("utf-8");
    let cut = text
        .trim_end_matches("\r\n")
        .rfind("\r\n")
        .expect("two rows");
    std::fs::write(&csv, &text[..cut + 2]).expect("write");
    let (code, _, err) = merge(&[&dirs[0], &dirs[1], &dirs[2], &dirs[3]]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("findings.csv") && err.contains("fewer rows"),
        "{err}"
    );
    assert!(
        !out.join("findings.json").exists(),
        "a refused merge writes nothing"
    );
}

/// Extra arguments, environment variables, and what the error must say.
type Case<'a> = (&'a [&'a str], &'a [(&'a str, &'a str)], &'a str);

/// Validates the usage errors of `--shard`, given before the snapshot is
/// read (the snapshot path does not exist).
#[test]
fn shard_usage_errors_come_before_the_snapshot_is_read() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = tmp.path().join("out");
    let cases: &[Case] = &[
        (&["--shard", "4/4"], &[], "I must be 0 to 3"),
        (&["--shard", "0/0"], &[], "N must be 1 to"),
        (&["--shard", "x"], &[], "expected I/N"),
        (
            &["--shard", "auto/4"],
            &[],
            "neither JOB_COMPLETION_INDEX nor SLURM_ARRAY_TASK_ID",
        ),
        (
            &["--shard", "auto/4"],
            &[("SLURM_ARRAY_TASK_ID", "4")],
            "--array=0-3",
        ),
        (
            &["--shard", "auto/4"],
            &[("JOB_COMPLETION_INDEX", "one")],
            "not a whole number",
        ),
        (
            &["--shard", "0/4", "--findings-format", "v1"],
            &[],
            "format_version 2 only",
        ),
        (
            &[
                "--shard",
                "0/4",
                "--baseline",
                "fixtures/demo/manifest.json",
            ],
            &[],
            "--baseline cannot be combined",
        ),
    ];
    for (extra, env, want) in cases {
        let mut args = vec!["audit", "no/such/snapshot", "--out", s(&out)];
        args.extend_from_slice(extra);
        let (code, _, err) = run_env(&args, env);
        assert_eq!(code, 2, "{extra:?}: {err}");
        assert!(err.contains(want), "{extra:?}: want `{want}` in {err}");
        assert!(
            !err.contains("no/such/snapshot"),
            "{extra:?}: read the snapshot first: {err}"
        );
    }
    let (code, _, err) = run_env(&["audit", "no/such/snapshot", "--shard", "0/4"], &[]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("pass `--out DIR`"), "{err}");
}
