//! Per-rule fixtures: each rule of the catalog fires on `fires.json` exactly
//! as the hand-derived `expected.json` says, and stays silent on `quiet.json`.

mod common;

use std::collections::BTreeSet;

use partner_audit::engine::Finding;
use serde_json::{json, Value};

fn key(f: &Finding) -> Value {
    json!({
        "partner_tenant_id": f.partner_tenant_id.map(|g| g.to_string()),
        "customer_tenant_id": f.customer_tenant_id.map(|g| g.to_string()),
        "resource_id": f.resource.as_ref().map(|r| r.id.clone()),
        "role": f.role,
        "principals": f.principals.iter().map(ToString::to_string).collect::<Vec<_>>(),
    })
}

fn rule_dirs() -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(common::root().join("fixtures/rules"))
        .expect("fixtures/rules")
        .filter_map(Result::ok)
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

fn only(rule: &str) -> Vec<partner_audit::engine::rule::Rule> {
    common::catalog()
        .into_iter()
        .filter(|r| r.id == rule)
        .collect()
}

/// Validates that every rule with fixtures fires exactly as expected.json says.
#[test]
fn every_rule_fires_as_expected_on_its_fixture() {
    let dirs = rule_dirs();
    assert!(
        dirs.len() >= 7,
        "fixtures for at least the core rules: {dirs:?}"
    );
    for id in dirs {
        let rules = only(&id);
        assert_eq!(
            rules.len(),
            1,
            "fixture dir {id} names a rule of the catalog"
        );
        let a = common::audit_with(&format!("fixtures/rules/{id}/fires.json"), &rules);
        let expected: Vec<Value> = serde_json::from_str(
            &std::fs::read_to_string(
                common::root().join(format!("fixtures/rules/{id}/expected.json")),
            )
            .expect("expected.json"),
        )
        .expect("expected.json parses");
        assert!(!expected.is_empty(), "{id}: fires fixture expects findings");
        let got: BTreeSet<String> = a.findings.iter().map(|f| key(f).to_string()).collect();
        let want: BTreeSet<String> = expected.iter().map(Value::to_string).collect();
        assert_eq!(got, want, "{id}: findings differ from expected.json");
        assert!(a.findings.iter().all(|f| f.rule == id));
        insta::assert_snapshot!(format!("fires_{id}"), common::findings_json(&a));
    }
}

/// Validates that no rule fires on its near-miss fixture.
#[test]
fn every_rule_is_quiet_on_its_near_miss() {
    for id in rule_dirs() {
        let a = common::audit_with(&format!("fixtures/rules/{id}/quiet.json"), &only(&id));
        assert!(
            a.findings.is_empty(),
            "{id} fired on quiet.json: {:#?}",
            a.findings
        );
    }
}

/// Validates that the messy CSV rendition (BOM, CRLF, mixed-case GUIDs, template
/// ids, extra columns, hostile names) yields the same findings as its clean twin.
#[test]
fn messy_snapshot_matches_its_clean_twin() {
    let messy = common::audit("fixtures/messy");
    let clean = common::audit("fixtures/rules/DAP003/fires.json");
    let strip = |fs: &[Finding]| -> Vec<(String, String, Option<String>, Vec<String>)> {
        fs.iter()
            .map(|f| {
                (
                    f.id.clone(),
                    f.rule.clone(),
                    f.role.clone(),
                    f.principals.iter().map(ToString::to_string).collect(),
                )
            })
            .collect()
    };
    assert!(!messy.findings.is_empty());
    assert_eq!(strip(&messy.findings), strip(&clean.findings));
}
