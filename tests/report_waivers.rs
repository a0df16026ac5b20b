//! `--waivers`: valid waivers suppress findings from bodies and the exit
//! status, expired ones (against the audit's as-of, not the clock) re-open
//! and are reported, unmatched ones warn, bad files are located errors.

mod report;

use report::common::{self, run};
use serde_json::Value;

fn audit(waivers: &str, extra: &[&str]) -> (i32, Value, String, String) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = tmp.path().to_string_lossy().into_owned();
    let mut args = vec![
        "audit",
        "fixtures/demo",
        "--out",
        &out,
        "--waivers",
        waivers,
        "--format",
        "json,csv,md,html,junit",
    ];
    args.extend_from_slice(extra);
    let (code, stdout, stderr) = run(&args);
    let doc = std::fs::read(tmp.path().join("findings.json"))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or(Value::Null);
    let csv = std::fs::read_to_string(tmp.path().join("findings.csv")).unwrap_or_default();
    let junit = std::fs::read_to_string(tmp.path().join("junit.xml")).unwrap_or_default();
    (
        code,
        doc,
        format!("{stdout}{stderr}"),
        format!("{csv}{junit}"),
    )
}

fn ids(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|f| f["id"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// Validates waiving by id and by rule + customer, re-opening by an expired
/// waiver and the warning for a waiver that matches nothing.
#[test]
fn waivers_suppress_reopen_and_warn() {
    let total = common::audit("fixtures/demo").findings.len();
    let (code, doc, out, bodies) = audit("fixtures/report/waivers.toml", &["--fail-on", "never"]);
    assert_eq!(code, 0, "{out}");
    let open = ids(&doc["findings"]);
    let waived: Vec<String> = ids(&doc["waivers"]["waived"]);
    assert_eq!(
        waived,
        ["DAP001-52025da158b62d72", "AZ003-37300a7cc35b01a8"]
    );
    for id in &waived {
        assert!(!open.contains(id), "{id} is waived but still open");
        assert!(
            !bodies.contains(id.as_str()) || bodies.contains(&format!("waived: {id}")),
            "{id} in a report body"
        );
    }
    assert_eq!(open.len() + waived.len(), total);
    assert_eq!(doc["summary"]["waived"], 2);
    assert_eq!(doc["summary"]["total"], open.len());
    // Expired waiver: its finding is open again and says why.
    let az001 = doc["findings"]
        .as_array()
        .and_then(|a| a.iter().find(|f| f["id"] == "AZ001-921fcd81d8a0a80f"))
        .expect("AZ001 re-opened");
    assert!(az001["reopened_by"]
        .as_str()
        .unwrap_or("")
        .contains("waivers.toml:21 expired 2026-10-01"));
    assert_eq!(
        doc["waivers"]["expired"][0]["reopened"][0],
        "AZ001-921fcd81d8a0a80f"
    );
    assert!(out.contains("waivers.toml:21: waiver for finding AZ001-921fcd81d8a0a80f (owner `secops@fabrikam.example`) expired on 2026-10-01"), "{out}");
    // Unmatched waiver: a warning, and listed.
    assert_eq!(doc["waivers"]["unmatched"][0]["rule"], "GDAP001");
    assert!(
        out.contains("waivers.toml:28: waiver for rule GDAP001"),
        "{out}"
    );
    assert!(out.contains("matches no finding"), "{out}");
    // JUnit marks the all-waived rule × customer as skipped.
    assert!(
        bodies.contains("<skipped message=\"waived: AZ003-37300a7cc35b01a8\"/>"),
        "{bodies}"
    );
}

/// Validates that the JSON form of the same waivers gives the same outcome.
#[test]
fn json_waivers_match_toml_waivers() {
    let (_, toml, _, _) = audit("fixtures/report/waivers.toml", &["--fail-on", "never"]);
    let (_, json, _, _) = audit("fixtures/report/waivers.json", &["--fail-on", "never"]);
    assert_eq!(ids(&toml["findings"]), ids(&json["findings"]));
    assert_eq!(
        ids(&toml["waivers"]["waived"]),
        ids(&json["waivers"]["waived"])
    );
}

/// Validates that expiry is judged against the audit's as-of, never the
/// wall clock: as of 2026-09-01 the AZ001 waiver (expires 2026-10-01) holds.
#[test]
fn expiry_follows_as_of() {
    let (_, doc, _, _) = audit(
        "fixtures/report/waivers.toml",
        &["--fail-on", "never", "--as-of", "2026-09-01"],
    );
    assert!(ids(&doc["waivers"]["waived"]).contains(&"AZ001-921fcd81d8a0a80f".to_string()));
    assert_eq!(doc["waivers"]["expired"].as_array().map_or(1, Vec::len), 0);
}

/// Validates that waived findings leave the exit status.
#[test]
fn waived_findings_do_not_fail_the_run() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let path = tmp.path().join("all-high.toml");
    let mut text = String::new();
    for rule in ["AZ001", "DAP001", "LH001", "LH004", "APP001"] {
        text.push_str(&format!(
            "[[waiver]]\nrule = \"{rule}\"\njustification = \"accepted\"\nowner = \"me\"\nexpires = \"2030-01-01\"\n\n"
        ));
    }
    std::fs::write(&path, text).expect("write");
    let w = path.to_string_lossy().into_owned();
    let (code, _, out, _) = audit(&w, &["--fail-on", "high"]);
    assert_eq!(code, 0, "every high finding is waived:\n{out}");
    let (code, _, _, _) = audit(&w, &["--fail-on", "medium"]);
    assert_eq!(code, 1, "medium findings are not waived");
}

/// Validates that a bad waivers file lists every problem with file, line,
/// column and field, and exits 2.
#[test]
fn bad_waivers_are_located_errors() {
    let (code, _, err) = run(&[
        "audit",
        "fixtures/demo",
        "--waivers",
        "fixtures/report/bad/waivers.toml",
    ]);
    assert_eq!(code, 2, "{err}");
    for expected in [
        "fixtures/report/bad/waivers.toml:2:1: field `owner`: missing `owner`",
        "fixtures/report/bad/waivers.toml:11:1: field `expires`: invalid date `next tuesday`",
        "fixtures/report/bad/waivers.toml:15:1: field `customer`: unknown key `customer`",
        "did you mean `customer_tenant_id`?",
        "fixtures/report/bad/waivers.toml:22:1: field `customer_tenant_id`: invalid tenant id `not-a-guid`",
        "4 error(s)",
    ] {
        assert!(err.contains(expected), "missing `{expected}` in:\n{err}");
    }
    let tmp = tempfile::tempdir().expect("tempdir");
    let path = tmp.path().join("w.json");
    std::fs::write(&path, "{\"waivers\": [{\"id\": \"X\", \"owner\": 7}]}").expect("write");
    let (code, _, err) = run(&[
        "audit",
        "fixtures/demo",
        "--waivers",
        &path.to_string_lossy(),
    ]);
    assert_eq!(code, 2);
    assert!(
        err.contains("w.json:1:35: field `owner`: `owner` is a number"),
        "{err}"
    );
    assert!(
        err.contains("field `justification`: missing `justification`"),
        "{err}"
    );
    assert!(
        !err.contains("missing `owner`"),
        "a mistyped key is not also missing:\n{err}"
    );
}
