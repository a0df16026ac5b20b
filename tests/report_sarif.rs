//! findings.sarif validates against the official SARIF 2.1.0 schema
//! (tests/data/sarif-schema-2.1.0.json, see tests/data/README.md), carries
//! every enabled rule with its documentation and fingerprints each result
//! with its stable finding id.

mod report;

use report::common;
use report::validate_sarif as validate;
use report::{generated, written};
use serde_json::Value;

fn demo_sarif(baseline: bool, waivers: bool) -> String {
    let a = common::audit("fixtures/demo");
    let rules = common::catalog();
    let r = report::report(&a);
    let dir = tempfile::tempdir().expect("tempdir");
    let base = dir.path().join("findings.json");
    std::fs::write(
        &base,
        common::findings_json(&common::audit("fixtures/report/changed")),
    )
    .expect("write baseline");
    let o = report::outcome(
        &r,
        &rules,
        baseline.then_some(base.as_path()),
        waivers.then_some(std::path::Path::new("fixtures/report/waivers.toml")),
    );
    report::render(&o, "findings.sarif")
}

/// Validates the demo's SARIF against the official schema, plain and with
/// a baseline and waivers (baselineState, absent results, suppressions).
#[test]
fn sarif_validates_against_the_official_schema() {
    for (b, w) in [(false, false), (true, true)] {
        let s = demo_sarif(b, w);
        if let Err(e) = validate(&s) {
            panic!("SARIF (baseline {b}, waivers {w}) is invalid:\n{e}");
        }
    }
}

/// Validates that the schema check is real: a log without `version` or with
/// an unknown result level is rejected.
#[test]
fn the_schema_check_rejects_broken_logs() {
    let mut doc: Value = serde_json::from_str(&demo_sarif(false, false)).expect("json");
    doc.as_object_mut().expect("object").remove("version");
    assert!(validate(&doc.to_string()).is_err());
    let mut doc: Value = serde_json::from_str(&demo_sarif(false, false)).expect("json");
    doc["runs"][0]["results"][0]["level"] = Value::from("critical");
    assert!(validate(&doc.to_string()).is_err());
}

/// Validates rules with their docs, stable fingerprints, baseline states
/// and waiver suppressions.
#[test]
fn sarif_rules_fingerprints_baseline_and_suppressions() {
    let a = common::audit("fixtures/demo");
    let doc: Value = serde_json::from_str(&demo_sarif(true, true)).expect("json");
    let run = &doc["runs"][0];
    let rules = run["tool"]["driver"]["rules"].as_array().expect("rules");
    let catalog = common::catalog();
    assert_eq!(rules.len(), catalog.iter().filter(|r| r.enabled).count());
    for r in rules {
        assert!(!r["fullDescription"]["text"]
            .as_str()
            .unwrap_or("")
            .is_empty());
        assert!(r["help"]["text"]
            .as_str()
            .unwrap_or("")
            .contains("Why it matters:"));
    }
    let results = run["results"].as_array().expect("results");
    let fp = |x: &Value| {
        x["partialFingerprints"][partner_audit::report::sarif::FINGERPRINT]
            .as_str()
            .unwrap_or("")
            .to_string()
    };
    // Every finding of the run appears once, fingerprinted by its id.
    for f in &a.findings {
        assert_eq!(
            results.iter().filter(|x| fp(x) == f.id).count(),
            1,
            "{}",
            f.id
        );
    }
    let by_id = |id: &str| results.iter().find(|x| fp(x) == id).expect(id);
    // Waived by id: an accepted external suppression with the justification.
    let waived = by_id("DAP001-52025da158b62d72");
    assert_eq!(waived["suppressions"][0]["status"], "accepted");
    assert!(waived["suppressions"][0]["justification"]
        .as_str()
        .unwrap_or("")
        .contains("GDAP migration"));
    // The baseline is the changed snapshot, where Contoso's DAP is gone:
    // the demo's Contoso DAP002 is new against it, the AZ001 only the
    // changed snapshot had is absent.
    assert_eq!(by_id("DAP002-52d54ae4d6955ed5")["baselineState"], "new");
    assert_eq!(
        by_id("DAP001-1d1ef13ff2ae402f")["baselineState"],
        "unchanged"
    );
    assert!(results.iter().any(|x| x["baselineState"] == "absent"));
    // Results point at the snapshot row that explains them.
    let az001 = by_id("AZ001-921fcd81d8a0a80f");
    let loc = &az001["locations"][0]["physicalLocation"];
    assert_eq!(loc["artifactLocation"]["uri"], "role_assignments.json");
    assert_eq!(loc["artifactLocation"]["uriBaseId"], "SNAPSHOTROOT");
    assert_eq!(loc["region"]["startLine"], 81);
}

/// Asserts that every result of a log has a physical location relative to
/// `SNAPSHOTROOT` (code scanning rejects results without one), and that
/// the base is declared; returns the results.
fn located(sarif: &str) -> Vec<Value> {
    let doc: Value = serde_json::from_str(sarif).expect("json");
    let run = &doc["runs"][0];
    assert!(
        run["originalUriBaseIds"]["SNAPSHOTROOT"].is_object(),
        "SNAPSHOTROOT is not declared"
    );
    let results = run["results"].as_array().expect("results").clone();
    for x in &results {
        let loc = &x["locations"][0]["physicalLocation"]["artifactLocation"];
        let uri = loc["uri"].as_str().unwrap_or_else(|| {
            panic!("result without a physical location: {x}");
        });
        assert_eq!(loc["uriBaseId"], "SNAPSHOTROOT", "{x}");
        assert!(
            !uri.starts_with('/') && !uri.contains(':') && !uri.contains('\\'),
            "`{uri}` is not relative"
        );
    }
    results
}

/// Validates every rule's firing fixture: the log passes the schema and
/// every result is located at a snapshot row; INV001, INV002 and SR001
/// (which have no assignment and no explaining path) point at the
/// invitation or relationship row that explains them.
#[test]
fn every_result_has_a_physical_location() {
    let catalog = common::catalog();
    let mut seen = Vec::new();
    for rule in catalog.iter().filter(|r| r.enabled) {
        let path = format!("fixtures/rules/{}/fires.json", rule.id);
        if !common::root().join(&path).exists() {
            continue;
        }
        let a = common::audit(&path);
        let r = report::report(&a);
        let o = partner_audit::report::Outcome::plain(&r, &catalog);
        let sarif = report::render(&o, "findings.sarif");
        if let Err(e) = validate(&sarif) {
            panic!("{path}: SARIF is invalid:\n{e}");
        }
        let results = located(&sarif);
        for x in &results {
            let id = x["ruleId"].as_str().unwrap_or("");
            let loc = &x["locations"][0]["physicalLocation"];
            assert_eq!(loc["artifactLocation"]["uri"], "fires.json", "{path}");
            let line = loc["region"]["startLine"].as_u64().unwrap_or(0);
            assert!(line > 1, "{path}: {id} has no row");
            let want = match id {
                "INV001" | "INV002" => a.snapshot.invitations.iter().map(|i| i.loc.line).collect(),
                "SR001" => a
                    .snapshot
                    .relationships
                    .iter()
                    .map(|i| i.loc.line)
                    .collect(),
                _ => Vec::new(),
            };
            if !want.is_empty() {
                assert!(
                    want.contains(&u32::try_from(line).unwrap_or(0)),
                    "{path}: {id} at line {line}, not at an explaining row {want:?}"
                );
                seen.push(id.to_string());
            }
        }
    }
    for id in ["INV001", "INV002", "SR001"] {
        assert!(seen.iter().any(|s| s == id), "no {id} result was checked");
    }
}

/// Validates that results of a baseline that are gone (`absent`) and
/// waived ones are located too, and that the log stays schema-valid.
#[test]
fn absent_and_waived_results_have_a_physical_location() {
    let sarif = demo_sarif(true, true);
    let results = located(&sarif);
    assert!(results.iter().any(|x| x["baselineState"] == "absent"));
    assert!(results.iter().any(|x| x["suppressions"].is_array()));
}

/// Validates the SARIF of a run with more results than one rendering batch
/// (1024): the same bytes at 1 and at 3 threads, the layout serde_json
/// gives the whole log (every result indented as deep as it sits), and
/// the run's findings as results, once each and in report order.
#[test]
fn a_large_log_is_the_same_at_any_thread_count() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let snap = generated(300, tmp.path());
    let one = written(&snap, "sarif", "findings.sarif", "1", tmp.path());
    let three = written(&snap, "sarif", "findings.sarif", "3", tmp.path());
    if let Some(d) = report::first_difference(&one, &three) {
        panic!("1 and 3 threads differ at {d}");
    }
    if let Some(d) = report::first_difference(&report::pretty_again(&one), &one) {
        panic!("the log is not laid out as serde_json lays it out whole, at {d}");
    }
    let doc: Value = serde_json::from_str(&one).expect("json");
    let results = doc["runs"][0]["results"].as_array().expect("results");
    let ids: Vec<&str> = results
        .iter()
        .map(|x| {
            x["partialFingerprints"][partner_audit::report::sarif::FINGERPRINT]
                .as_str()
                .unwrap_or("")
        })
        .collect();
    let a = common::audit(&snap);
    let want: Vec<&str> = a.findings.iter().map(|f| f.id.as_str()).collect();
    assert!(
        want.len() > 2 * 1024,
        "{} findings do not span several batches",
        want.len()
    );
    assert_eq!(ids, want);
}
