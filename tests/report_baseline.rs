//! `--baseline` and `--fail-on-new`: two runs with a changed snapshot in
//! between (fixtures/report/changed: Contoso removed Northwind's DAP),
//! diffed through the stable finding ids.

mod report;

use report::common::run;
use serde_json::Value;

fn audit_json(dir: &std::path::Path, snapshot: &str, extra: &[&str]) -> (i32, Value, String) {
    let out = dir.to_string_lossy().into_owned();
    let mut args = vec!["audit", snapshot, "--out", &out];
    args.extend_from_slice(extra);
    let (code, stdout, stderr) = run(&args);
    let doc = std::fs::read(dir.join("findings.json"))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or(Value::Null);
    (code, doc, format!("{stdout}{stderr}"))
}

/// Validates new/unchanged statuses, the resolved list and the summary.
#[test]
fn changed_snapshot_against_the_demo_baseline() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (_, before, _) = audit_json(
        &tmp.path().join("before"),
        "fixtures/demo",
        &["--fail-on", "never"],
    );
    let baseline = tmp.path().join("before/findings.json");
    let base = baseline.to_string_lossy().into_owned();
    let (code, after, out) = audit_json(
        &tmp.path().join("after"),
        "fixtures/report/changed",
        &[
            "--baseline",
            &base,
            "--fail-on",
            "never",
            "--format",
            "json,html,md",
        ],
    );
    assert_eq!(code, 0, "{out}");
    let findings = after["findings"].as_array().expect("findings");
    let status = |id: &str| {
        findings
            .iter()
            .find(|f| f["id"] == id)
            .map(|f| f["status"].as_str().unwrap_or("").to_string())
    };
    // Contoso's implicit admin findings are gone with DAP...
    let resolved: Vec<&str> = after["resolved"]
        .as_array()
        .expect("resolved")
        .iter()
        .filter_map(|p| p["id"].as_str())
        .collect();
    for id in [
        "DAP001-52025da158b62d72",
        "DAP002-52d54ae4d6955ed5",
        "DAP003-ddba9292117f52a0",
    ] {
        assert!(resolved.contains(&id), "{id} not resolved: {resolved:?}");
        assert_eq!(status(id), None);
    }
    // ...the Owner assignment on Contoso's subscription now lingers (new AZ001)...
    let new_az001 = findings
        .iter()
        .find(|f| {
            f["rule"] == "AZ001"
                && f["customer_tenant_id"] == "a24e022d-57ab-4419-aeae-2f3bc58a985d"
        })
        .expect("a new AZ001 for Contoso");
    assert_eq!(new_az001["status"], "new");
    // ...and Fabrikam's lingering Owner is unchanged.
    assert_eq!(
        status("AZ001-921fcd81d8a0a80f").as_deref(),
        Some("unchanged")
    );
    let new = findings.iter().filter(|f| f["status"] == "new").count();
    let unchanged = findings
        .iter()
        .filter(|f| f["status"] == "unchanged")
        .count();
    assert_eq!(after["baseline"]["new"], new);
    assert_eq!(after["baseline"]["unchanged"], unchanged);
    assert_eq!(after["baseline"]["resolved"], resolved.len());
    assert_eq!(
        unchanged + resolved.len(),
        before["findings"].as_array().map_or(0, Vec::len)
    );
    assert!(
        out.contains(&format!("baseline:    {new} new, {unchanged} unchanged")),
        "{out}"
    );
    // The human report shows the statuses and the resolved list.
    let html = String::from_utf8(report::common::read_report(&tmp.path().join("after/html")))
        .expect("html");
    assert!(html.contains("status st-new"));
    assert!(html.contains("DAP001-52025da158b62d72"));
    let md = std::fs::read_to_string(tmp.path().join("after/report.md")).expect("md");
    assert!(md.contains("## Changes since baseline"));
}

/// Validates that `--fail-on-new` gates only on new findings.
#[test]
fn fail_on_new_gates_only_new_findings() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (_, _, _) = audit_json(
        &tmp.path().join("before"),
        "fixtures/demo",
        &["--fail-on", "never"],
    );
    let base = tmp
        .path()
        .join("before/findings.json")
        .to_string_lossy()
        .into_owned();
    // Same snapshot again: many findings, none new.
    let (code, _, out) = audit_json(
        &tmp.path().join("same"),
        "fixtures/demo",
        &["--baseline", &base, "--fail-on-new"],
    );
    assert_eq!(code, 0, "{out}");
    let (code, _, _) = audit_json(
        &tmp.path().join("same2"),
        "fixtures/demo",
        &["--baseline", &base],
    );
    assert_eq!(
        code, 1,
        "without --fail-on-new the old findings still fail the run"
    );
    // The changed snapshot brings a new high finding (AZ001 for Contoso).
    let (code, _, out) = audit_json(
        &tmp.path().join("changed"),
        "fixtures/report/changed",
        &["--baseline", &base, "--fail-on-new"],
    );
    assert_eq!(code, 1, "{out}");
    // A new finding below the threshold does not fail it.
    let (code, doc, _) = audit_json(
        &tmp.path().join("changed-high"),
        "fixtures/report/changed",
        &["--baseline", &base, "--fail-on-new", "--fail-on", "high"],
    );
    let new_high = doc["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .any(|f| f["status"] == "new" && f["severity"] == "high");
    assert_eq!(code, i32::from(new_high));
    // --fail-on-new needs --baseline.
    let (code, _, err) = run(&["audit", "fixtures/demo", "--fail-on-new"]);
    assert_eq!(code, 2, "{err}");
}

/// Validates that a bad baseline is an input error naming file, line and field.
#[test]
fn bad_baseline_is_an_error_with_file_line_and_field() {
    let (code, _, err) = run(&[
        "audit",
        "fixtures/demo",
        "--baseline",
        "fixtures/report/bad/baseline.json",
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("fixtures/report/bad/baseline.json:4:5: field `id`: invalid baseline: missing field `id`"),
        "{err}"
    );
    let (code, _, err) = run(&[
        "audit",
        "fixtures/demo",
        "--baseline",
        "does/not/exist.json",
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("does/not/exist.json"), "{err}");
    let (code, _, err) = run(&[
        "audit",
        "fixtures/demo",
        "--baseline",
        "fixtures/demo/tenants.csv",
    ]);
    assert_eq!(code, 2);
    assert!(
        err.contains("fixtures/demo/tenants.csv:1:2: invalid baseline"),
        "{err}"
    );
}

/// The finding lines of the terminal's top-findings list.
fn top_findings(stdout: &str) -> Vec<&str> {
    stdout
        .lines()
        .skip_while(|l| *l != "top findings:")
        .skip(1)
        .take_while(|l| l.starts_with("  ["))
        .collect()
}

/// The summary's closing `… and N more` line.
fn more_line(stdout: &str) -> &str {
    stdout
        .lines()
        .find(|l| l.starts_with("  … and "))
        .unwrap_or_else(|| panic!("no `… and N more` line:\n{stdout}"))
}

/// Validates issue #13 item 6: under `--baseline` the terminal's top
/// findings list the new ones first, each marked `NEW`, then the
/// unchanged ones; the closing hint says where the reports went when
/// `--out` was given, and suggests `--out` only when it was not.
#[test]
fn terminal_lists_new_findings_first_and_marked() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (_, mut before, _) = audit_json(
        &tmp.path().join("before"),
        "fixtures/demo",
        &["--fail-on", "never"],
    );
    // The baseline lacks the last three findings in report order (the
    // least severe): today they are new, and without the new-first order
    // they would not reach the top ten.
    let findings = before["findings"].as_array_mut().expect("findings");
    let total = findings.len();
    assert!(total > 13, "the demo has {total} findings");
    let dropped: Vec<String> = findings
        .drain(total - 3..)
        .map(|f| f["id"].as_str().expect("id").to_string())
        .collect();
    let baseline = tmp.path().join("baseline.json");
    std::fs::write(&baseline, before.to_string()).expect("write baseline");
    let base = baseline.to_string_lossy().into_owned();
    let out = tmp.path().join("after");
    let (code, after, _) = audit_json(
        &out,
        "fixtures/demo",
        &["--baseline", &base, "--fail-on", "never"],
    );
    assert_eq!(code, 0);
    let (_, stdout, _) = run(&[
        "audit",
        "fixtures/demo",
        "--out",
        &out.to_string_lossy(),
        "--baseline",
        &base,
        "--fail-on",
        "never",
    ]);
    let listed = top_findings(&stdout);
    assert_eq!(listed.len(), 10, "{stdout}");
    let marked: Vec<bool> = listed.iter().map(|l| l.contains("] NEW ")).collect();
    let want: Vec<bool> = (0..10).map(|i| i < 3).collect();
    assert_eq!(marked, want, "{stdout}");
    // The marked lines are the new findings, in report order.
    let message = |id: &str| {
        after["findings"]
            .as_array()
            .expect("findings")
            .iter()
            .find(|f| f["id"] == id)
            .and_then(|f| f["message"].as_str())
            .expect("message")
            .to_string()
    };
    for (line, id) in listed.iter().zip(&dropped) {
        assert!(line.ends_with(&message(id)), "{id}: {line}");
    }
    // The rule ids line up whether a line is marked or not.
    let rule_at = |l: &str| {
        let rest = &l[l.find(']').map_or(0, |i| i + 1)..];
        l.len() - rest.trim_start_matches(" NEW").trim_start().len()
    };
    assert_eq!(rule_at(listed[9]), rule_at(listed[0]), "{stdout}");
    let more = more_line(&stdout);
    assert!(
        more.contains(&format!("{} more, 0 new", total - 10)),
        "{more}"
    );
    assert!(!more.contains("--out"), "{more}");
    let json = out.join("findings.json").display().to_string();
    assert!(more.contains(&format!("all in {json}")), "{more}");
    // Only CSV asked for: the hint names the folder.
    let csv_out = tmp.path().join("csv");
    let (_, stdout, _) = run(&[
        "audit",
        "fixtures/demo",
        "--out",
        &csv_out.to_string_lossy(),
        "--format",
        "csv",
        "--fail-on",
        "never",
    ]);
    let more = more_line(&stdout);
    assert!(!more.contains("--out"), "{more}");
    assert!(
        more.contains(&format!("see the reports in {}", csv_out.display())),
        "{more}"
    );
    // Without --out the hint says how to get the rest.
    let (_, stdout, _) = run(&[
        "audit",
        "fixtures/demo",
        "--baseline",
        &base,
        "--fail-on",
        "never",
    ]);
    assert!(
        more_line(&stdout).contains("use --out DIR for findings.json"),
        "{stdout}"
    );
    assert_eq!(top_findings(&stdout).len(), 10);
}
