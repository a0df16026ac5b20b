//! The built-in catalog tested through its own `[[test]]` fixtures (the same
//! mechanism as `partner-audit rules test`), plus meta tests: every rule is
//! documented, has a firing and a non-firing fixture and a unique id.

mod common;

use std::collections::BTreeSet;

use partner_audit::engine::rule::{self, Expect};
use partner_audit::engine::{docs, ruletest};

fn on_disk() -> Vec<rule::Rule> {
    rule::load_catalog(Some(&common::root().join("rules")), false).expect("rules/ loads")
}

/// Validates every rule against its fixtures (expected findings hand-derived).
#[test]
fn every_rule_passes_its_fixture_tests() {
    let rules = on_disk();
    let outcomes = ruletest::run_tests(&rules);
    let report = ruletest::render(&rules, &outcomes);
    assert!(outcomes.iter().all(|o| o.passed), "{report}");
    assert!(outcomes.len() >= 2 * rules.len(), "{report}");
}

/// Validates that each rule has documentation, a firing and a quiet fixture.
#[test]
fn every_rule_is_documented_and_has_fixtures() {
    for r in on_disk() {
        for (field, text) in [
            ("title", &*r.title),
            ("summary", r.summary.as_str()),
            ("rationale", r.rationale.as_str()),
            ("example", r.example.as_str()),
            ("remediation", &*r.remediation),
        ] {
            assert!(
                text.trim().len() >= 20 || field == "title" && !text.is_empty(),
                "{}: `{field}` is missing or too short",
                r.id
            );
        }
        // A fact id (F1-F12) or a named Microsoft Learn page.
        assert!(
            r.rationale
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
                .contains("(Microsoft Learn, ")
                || r.rationale.contains('F') && r.rationale.chars().any(|c| c.is_ascii_digit()),
            "{}: rationale cites no F-id and no Microsoft Learn page",
            r.id
        );
        assert!(!r.references.is_empty(), "{}: no references", r.id);
        let fires = r
            .tests
            .iter()
            .any(|t| !matches!(&t.expect, Expect::Inline(v) if v.is_empty()));
        let quiet = r
            .tests
            .iter()
            .any(|t| matches!(&t.expect, Expect::Inline(v) if v.is_empty()));
        assert!(
            fires && quiet,
            "{}: needs a [[test]] where it fires and one with `expect = []`",
            r.id
        );
    }
}

/// Validates that the embedded catalog equals the files on disk and ids are unique.
#[test]
fn ids_are_unique_and_embedded_catalog_matches_disk() {
    let disk = on_disk();
    let ids: Vec<&str> = disk.iter().map(|r| r.id.as_str()).collect();
    let unique: BTreeSet<&str> = ids.iter().copied().collect();
    assert_eq!(ids.len(), unique.len());
    let embedded: Vec<String> = common::catalog().into_iter().map(|r| r.id).collect();
    assert_eq!(embedded, ids);
    insta::assert_snapshot!("catalog_ids", ids.join("\n"));
}

/// Validates that docs/rules.md is the generated reference (regenerate with
/// `cargo run -q -- rules doc > docs/rules.md`).
#[test]
fn rule_reference_is_up_to_date() {
    let generated = docs::rules_reference(&common::catalog());
    let committed =
        std::fs::read_to_string(common::root().join("docs/rules.md")).unwrap_or_default();
    assert!(
        committed == generated,
        "docs/rules.md is stale: run `cargo run -q -- rules doc > docs/rules.md`"
    );
}

/// Validates that the messy CSV rendition (BOM, CRLF, mixed-case GUIDs, template
/// ids, extra columns, hostile names) yields the same findings as its clean twin.
#[test]
fn messy_snapshot_matches_its_clean_twin() {
    let messy = common::audit("fixtures/messy");
    let clean = common::audit("fixtures/rules/DAP003/fires.json");
    let strip = |a: &partner_audit::app::Audit| -> Vec<(String, String)> {
        a.findings
            .iter()
            .map(|f| (f.id.clone(), ruletest::finding_key(f).to_string()))
            .collect()
    };
    assert!(!messy.findings.is_empty());
    assert_eq!(strip(&messy), strip(&clean));
}

/// Validates fixture-level insta snapshots of each rule's firing case.
#[test]
fn firing_fixtures_snapshot() {
    for r in on_disk() {
        let Some(t) = r.tests.iter().find(|t| {
            matches!(t.expect, Expect::File(_)) && t.policy.is_none() && t.set.is_empty()
        }) else {
            continue;
        };
        let path = std::path::Path::new("rules").join(&t.snapshot);
        let only: Vec<_> = common::catalog()
            .into_iter()
            .filter(|x| x.id == r.id)
            .collect();
        let a = common::audit_with(&path.to_string_lossy(), &only);
        insta::assert_snapshot!(format!("fires_{}", r.id), common::findings_json(&a));
    }
}

/// Validates that every worked rule in docs/writing-rules.md is a valid rule
/// file a new user can copy as it is.
#[test]
fn worked_examples_in_the_guide_load() {
    let guide =
        std::fs::read_to_string(common::root().join("docs/writing-rules.md")).expect("guide");
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in guide.lines() {
        match (&mut current, line.trim_start()) {
            (None, l) if l.starts_with("```toml") => current = Some(String::new()),
            (Some(b), l) if l.starts_with("```") => {
                blocks.push(std::mem::take(b));
                current = None;
            }
            (Some(b), _) => {
                b.push_str(line);
                b.push('\n');
            }
            _ => {}
        }
    }
    assert!(
        blocks.len() >= 3,
        "three worked rules expected, found {}",
        blocks.len()
    );
    for (i, b) in blocks.iter().enumerate() {
        let r = rule::parse_rule(&format!("docs/writing-rules.md block {}", i + 1), b)
            .unwrap_or_else(|d| panic!("block {} does not load: {d:#?}", i + 1));
        assert!(r.id.starts_with("CUST"), "{}", r.id);
    }
}

/// Validates that a partner's AdminAgents Owner role on a subscription it
/// provisioned is reported once: as AZ002 inventory while DAP is active,
/// else by AZ001 (no DAP or GDAP) or AZ005 (GDAP only), never by AZ002 next
/// to one of them.
#[test]
fn one_finding_per_subscription_owner_assignment() {
    let mut checked = 0;
    for path in [
        "fixtures/demo",
        "fixtures/rules/AZ001/fires.json",
        "fixtures/rules/AZ002/fires.json",
        "fixtures/rules/AZ005/fires.json",
    ] {
        let a = common::audit(path);
        let scopes = |rule: &str| -> Vec<(Option<_>, String)> {
            a.findings
                .iter()
                .filter(|f| &*f.rule == rule)
                .filter_map(|f| {
                    let r = f.resource.as_deref()?;
                    Some((
                        f.customer_tenant_id,
                        r.scope.clone().unwrap_or(r.id.clone()),
                    ))
                })
                .collect()
        };
        let inventory = scopes("AZ002");
        checked += inventory.len();
        for rule in ["AZ001", "AZ005"] {
            for (customer, scope) in scopes(rule) {
                assert!(
                    !inventory
                        .iter()
                        .any(|(c, s)| *c == customer && s.eq_ignore_ascii_case(&scope)),
                    "{path}: {scope} is reported by both AZ002 and {rule}"
                );
            }
        }
    }
    assert!(checked > 0, "no AZ002 finding was checked");
}
