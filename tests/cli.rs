//! End-to-end CLI behaviour: exit codes, catalog commands, custom rules, and
//! one case per class of bad input (file, line, column and field named).

mod common;

use common::run;

/// Validates exit 1 with findings at or above --fail-on, 0 below it.
#[test]
fn exit_status_follows_fail_on() {
    let (code, out, _) = run(&["audit", "fixtures/demo"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("by severity:"), "{out}");
    assert!(out.contains("DAP001"), "{out}");
    let (code, _, _) = run(&["audit", "fixtures/demo", "--fail-on", "never"]);
    assert_eq!(code, 0);
    // Only AZ002 (info) in the catalog: below the default threshold.
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::copy(
        common::root().join("rules/AZ002.toml"),
        dir.path().join("AZ002.toml"),
    )
    .expect("copy rule");
    let rules = dir.path().to_string_lossy().into_owned();
    let only_info = [
        "audit",
        "fixtures/rules/AZ002/fires.json",
        "--no-builtin-rules",
        "--rules",
        &rules,
    ];
    let (code, out, _) = run(&only_info);
    assert_eq!(code, 0, "AZ002 is info only:\n{out}");
    // One of the fixture's two subscriptions lost DAP: AZ001's, not AZ002's.
    assert!(out.contains("1 info"), "{out}");
    let (code, _, _) = run(&[&only_info[..], &["--fail-on", "info"]].concat());
    assert_eq!(code, 1);
}

/// Validates that usage errors exit 2 with a clear message.
#[test]
fn usage_errors_exit_2() {
    let (code, _, err) = run(&["audit", "fixtures/demo", "--as-of", "yesterday"]);
    assert_eq!(code, 2);
    assert!(err.contains("invalid --as-of `yesterday`"), "{err}");
    let (code, _, err) = run(&["audit", "does/not/exist"]);
    assert_eq!(code, 2);
    assert!(err.contains("does/not/exist"), "{err}");
    let (code, _, err) = run(&["explain", "NOPE001"]);
    assert_eq!(code, 2);
    assert!(err.contains("unknown rule `NOPE001`"), "{err}");
}

/// Validates `--as-of` overrides the manifest (time-based output changes accordingly).
#[test]
fn as_of_is_reported() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().to_string_lossy().into_owned();
    let (code, _, err) = run(&[
        "audit",
        "fixtures/demo",
        "--out",
        &out,
        "--as-of",
        "2027-01-15",
        "--fail-on",
        "never",
    ]);
    assert_eq!(code, 0, "{err}");
    let doc: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("findings.json")).expect("read"))
            .expect("json");
    assert_eq!(doc["as_of"], "2027-01-15T00:00:00Z");
    assert_eq!(
        doc["format_version"],
        partner_audit::report::json::FORMAT_VERSION
    );
    assert!(
        doc["input"]["tables"]["principals"]["rows_read"]
            .as_u64()
            .expect("count")
            > 0
    );
}

/// Validates the catalog listing (a snapshot of the id list makes renumbering visible).
#[test]
fn rules_lists_the_catalog() {
    let (code, out, _) = run(&["rules"]);
    assert_eq!(code, 0);
    let ids: Vec<&str> = out
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    insta::assert_snapshot!("rule_ids", ids.join("\n"));
}

/// Validates `explain` prints every documentation section.
#[test]
fn explain_prints_documentation() {
    let (code, out, _) = run(&["explain", "az001"]);
    assert_eq!(code, 0);
    for section in [
        "AZ001 — ",
        "What it detects",
        "Why it matters",
        "F10",
        "Example",
        "Remediation",
        "where:",
    ] {
        assert!(out.contains(section), "missing {section}:\n{out}");
    }
}

const CUSTOM_RULE: &str = r#"
id = "CUST001"
title = "No partner may hold Owner on any subscription"
severity = "high"
summary = "Any Owner assignment held by a partner principal."
rationale = "Owner lets a partner grant itself anything (F9, F10)."
remediation = "Replace Owner with a narrower role."
example = "AdminAgents holds Owner on Production."

[query]
from = "role_assignment"
where = 'principal_is_partner && role == "owner"'
per = ["tenant_id", "scope", "principal_id"]
message = "{partner_name} holds Owner on {scope}"
"#;

/// Validates that a brand-new rule in a user directory loads, fires and is listed.
#[test]
fn custom_rule_directory_extends_the_catalog() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("CUST001.toml"), CUSTOM_RULE).expect("write rule");
    let rules = dir.path().to_string_lossy().into_owned();
    let (code, out, err) = run(&["rules", "--rules", &rules]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("CUST001"));
    assert!(out.contains("DAP001"));
    let (code, out, err) = run(&[
        "audit",
        "fixtures/demo",
        "--rules",
        &rules,
        "--no-builtin-rules",
    ]);
    assert_eq!(code, 1, "{err}");
    assert!(out.contains("CUST001"), "{out}");
    assert!(!out.contains("DAP001"), "{out}");
}

/// Validates that every problem of an invalid rule file is reported with
/// file:line:column, the field and a did-you-mean.
#[test]
fn invalid_rule_files_report_every_problem() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bad = CUSTOM_RULE
        .replace(
            "severity = \"high\"",
            "severity = \"urgent\"\nsumary = \"typo\"",
        )
        .replace("principal_is_partner &&", "principal_is_partnr &&")
        .replace("{scope}", "{scoop}");
    std::fs::write(dir.path().join("bad.toml"), bad).expect("write rule");
    let rules = dir.path().to_string_lossy().into_owned();
    let (code, _, err) = run(&["rules", "--rules", &rules]);
    assert_eq!(code, 2);
    assert!(
        err.contains("bad.toml:4:12: field `severity`: invalid severity `urgent`"),
        "{err}"
    );
    assert!(
        err.contains(
            "bad.toml:5:1: field `sumary`: unknown field `sumary` (did you mean `summary`?)"
        ),
        "{err}"
    );
    assert!(err.contains("bad.toml:13:10: field `query.where`: unknown field `principal_is_partnr` (did you mean `principal_is_partner`?)"), "{err}");
    assert!(
        err.contains(
            "field `query.message`: unknown placeholder `{scoop}` (did you mean `scope`?)"
        ),
        "{err}"
    );
    assert!(err.contains("4 error(s)"), "{err}");
}

/// Validates `query.principal_roles`: a role that is no built-in role is an
/// error with a did-you-mean; a known one loads.
#[test]
fn principal_roles_name_built_in_roles() {
    let dir = tempfile::tempdir().expect("tempdir");
    let with = |roles: &str| {
        CUSTOM_RULE.replace(
            "per = [\"tenant_id\", \"scope\", \"principal_id\"]",
            &format!(
                "per = [\"tenant_id\", \"scope\", \"principal_id\"]\nprincipal_roles = {roles}"
            ),
        )
    };
    std::fs::write(dir.path().join("bad.toml"), with("[\"Ownr\"]")).expect("write rule");
    let rules = dir.path().to_string_lossy().into_owned();
    let (code, _, err) = run(&["rules", "--rules", &rules]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("field `query.principal_roles`: unknown role `Ownr`: principal_roles names built-in roles (did you mean `Owner`?)"),
        "{err}"
    );
    std::fs::write(dir.path().join("bad.toml"), with("[\"owner\"]")).expect("write rule");
    let (code, out, err) = run(&["rules", "--rules", &rules]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("CUST001"), "{out}");
}

fn bad(case: &str) -> String {
    let (code, _, err) = run(&["audit", &format!("fixtures/bad/{case}")]);
    assert_eq!(code, 2, "{case} must be an input error:\n{err}");
    err
}

/// Validates a malformed CSV record (unbalanced quote, wrong field count).
#[test]
fn bad_malformed_csv() {
    let err = bad("malformed_csv");
    assert!(
        err.contains("fixtures/bad/malformed_csv/principals.csv:3"),
        "{err}"
    );
}

/// Validates a missing required column names the column.
#[test]
fn bad_missing_required_column() {
    let err = bad("missing_required_column");
    assert!(
        err.contains("fixtures/bad/missing_required_column/principals.csv:1"),
        "{err}"
    );
    assert!(err.contains("`display_name`"), "{err}");
}

/// Validates a bad enum value names line, column, field and the allowed values.
#[test]
fn bad_enum_value() {
    let err = bad("bad_enum");
    assert!(
        err.contains("fixtures/bad/bad_enum/relationships.csv:3:4: field `state`"),
        "{err}"
    );
    assert!(err.contains("`actve`") && err.contains("active"), "{err}");
}

/// Validates line numbers stay right with a BOM and CRLF line ends.
#[test]
fn bad_enum_value_with_crlf() {
    let err = bad("bad_enum_crlf");
    assert!(
        err.contains("fixtures/bad/bad_enum_crlf/relationships.csv:3:4: field `state`"),
        "{err}"
    );
}

/// Validates a bad date.
#[test]
fn bad_date() {
    let err = bad("bad_date");
    assert!(
        err.contains("fixtures/bad/bad_date/relationships.csv:2:5: field `started_at`"),
        "{err}"
    );
    assert!(err.contains("`2026-13-45`"), "{err}");
}

/// Validates invalid UTF-8 names the field.
#[test]
fn bad_invalid_utf8() {
    let err = bad("invalid_utf8");
    assert!(
        err.contains("fixtures/bad/invalid_utf8/principals.csv:3:4: field `display_name`"),
        "{err}"
    );
    assert!(err.contains("UTF-8"), "{err}");
}

/// Validates a bad GUID.
#[test]
fn bad_guid() {
    let err = bad("bad_guid");
    assert!(
        err.contains("fixtures/bad/bad_guid/tenants.csv:3:1: field `tenant_id`"),
        "{err}"
    );
    assert!(err.contains("`not-a-guid`"), "{err}");
}

/// Validates invalid JSON syntax names line and column.
#[test]
fn bad_malformed_json() {
    let err = bad("malformed_json");
    assert!(
        err.contains("fixtures/bad/malformed_json/role_assignments.json:3:56"),
        "{err}"
    );
}

/// Validates that every bad row of a file is reported, not only the first.
#[test]
fn bad_multiple_errors_all_reported() {
    let err = bad("multiple_errors");
    let f = "fixtures/bad/multiple_errors/relationships.csv";
    assert!(err.contains(&format!("{f}:2:4: field `state`")), "{err}");
    assert!(
        err.contains(&format!("{f}:4:5: field `started_at`")),
        "{err}"
    );
    assert!(
        err.contains(&format!("{f}:6:2: field `customer_tenant_id`")),
        "{err}"
    );
    assert!(err.contains("3 error(s)"), "{err}");
}

/// Validates that a dangling reference is a counted warning, not an error.
#[test]
fn dangling_reference_is_a_warning() {
    let (code, _, err) = run(&["audit", "fixtures/bad/dangling_reference"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("warning: fixtures/bad/dangling_reference/memberships.csv:3"),
        "{err}"
    );
    assert!(
        err.contains("446cf34f-63bd-4e5a-9fb9-81ef47b414dc"),
        "{err}"
    );
}

/// Validates `--keep-going` audits the valid rows and records the rejected ones.
#[test]
fn keep_going_records_rejections() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().to_string_lossy().into_owned();
    let (code, _, err) = run(&[
        "audit",
        "fixtures/bad/multiple_errors",
        "--keep-going",
        "--out",
        &out,
        "--fail-on",
        "never",
    ]);
    assert_eq!(code, 0, "{err}");
    let doc: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("findings.json")).expect("read"))
            .expect("json");
    assert_eq!(doc["input"]["tables"]["relationships"]["rows_rejected"], 3);
    assert_eq!(doc["input"]["tables"]["relationships"]["rows_used"], 2);
    assert_eq!(doc["input"]["errors"].as_array().map(Vec::len), Some(3));
}

const NEW_RULE: &str = r#"
id = "CUST002"
title = "Partner Owner on a customer subscription"
severity = "medium"
summary = "A partner principal holds Owner on a customer subscription."
rationale = "Owner lets a partner grant itself anything on the subscription (F9, F10)."
remediation = "Reduce the partner to the least role it needs, or remove it."
example = "AdminAgents of Northwind holds Owner on Fabrikam's production subscription."

[query]
from = "role_assignment"
where = 'principal_is_partner && role == "Owner"'
per = ["tenant_id", "scope", "principal_id"]
message = "{partner_name} holds Owner on {scope}"

[[test]]
name = "fires"
snapshot = "fixtures/fires.json"
expect = [
  { partner_tenant_id = "11111111-1111-1111-1111-111111111111", customer_tenant_id = "22222222-2222-2222-2222-222222222222", resource_id = "/subscriptions/33333333-3333-3333-3333-333333333333", role = "Owner", principals = ["44444444-4444-4444-4444-444444444444"] },
]

[[test]]
name = "quiet"
snapshot = "fixtures/quiet.json"
expect = []
"#;

fn new_rule_fixture(role: &str) -> String {
    format!(
        r#"{{
  "manifest": {{"format_version": 1, "captured_at": "2026-11-01T00:00:00Z"}},
  "tenants": [
    {{"tenant_id": "11111111-1111-1111-1111-111111111111", "name": "Partner", "kind": "partner"}},
    {{"tenant_id": "22222222-2222-2222-2222-222222222222", "name": "Customer", "kind": "customer"}}
  ],
  "principals": [
    {{"tenant_id": "11111111-1111-1111-1111-111111111111", "principal_id": "44444444-4444-4444-4444-444444444444", "kind": "user", "display_name": "Ana"}}
  ],
  "role_assignments": [
    {{"tenant_id": "22222222-2222-2222-2222-222222222222", "scope": "/subscriptions/33333333-3333-3333-3333-333333333333", "role": "{role}", "principal_id": "44444444-4444-4444-4444-444444444444"}}
  ]
}}"#
    )
}

/// Validates that a brand-new custom rule with its fixtures loads, fires and
/// passes `rules test`, and that a wrong expectation fails with a readable diff.
#[test]
fn rules_test_runs_a_users_own_rules_directory() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir(dir.path().join("fixtures")).expect("mkdir");
    std::fs::write(dir.path().join("CUST002.toml"), NEW_RULE).expect("rule");
    std::fs::write(
        dir.path().join("fixtures/fires.json"),
        new_rule_fixture("Owner"),
    )
    .expect("fires");
    std::fs::write(
        dir.path().join("fixtures/quiet.json"),
        new_rule_fixture("Reader"),
    )
    .expect("quiet");
    let rules = dir.path().to_string_lossy().into_owned();
    let (code, out, err) = run(&["rules", "test", &rules]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("PASS CUST002 fires") && out.contains("PASS CUST002 quiet"),
        "{out}"
    );
    assert!(out.trim_end().ends_with("2 passed, 0 failed"), "{out}");

    // The rule also fires in a real audit with the user's directory.
    let fires = dir
        .path()
        .join("fixtures/fires.json")
        .to_string_lossy()
        .into_owned();
    let (code, out, _) = run(&["audit", &fires, "--rules", &rules, "--select", "CUST002"]);
    assert_eq!(code, 1);
    assert!(
        out.contains(
            "CUST002 Partner holds Owner on /subscriptions/33333333-3333-3333-3333-333333333333"
        ),
        "{out}"
    );

    // A wrong expectation fails, naming what is missing and what was unexpected.
    std::fs::write(
        dir.path().join("fixtures/quiet.json"),
        new_rule_fixture("owner"),
    )
    .expect("quiet");
    let (code, out, _) = run(&["rules", "test", &rules]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("FAIL CUST002 quiet"), "{out}");
    assert!(out.contains("expected 0 finding(s), got 1"), "{out}");
    assert!(out.contains("+ unexpected finding:"), "{out}");
    assert!(out.trim_end().ends_with("1 passed, 1 failed"), "{out}");
}

/// Validates --select / --ignore by prefix, and that a pattern matching no rule is an error.
#[test]
fn select_and_ignore_by_prefix() {
    let (code, out, _) = run(&[
        "audit",
        "fixtures/demo",
        "--select",
        "AZ",
        "--ignore",
        "AZ00",
        "--fail-on",
        "never",
    ]);
    assert_eq!(code, 0);
    assert!(out.contains("0 finding(s)"), "{out}");
    let (_, out, _) = run(&[
        "audit",
        "fixtures/demo",
        "--select",
        "dap001,AZ001",
        "--fail-on",
        "never",
    ]);
    let rules_line = out
        .lines()
        .find(|l| l.contains("by rule:"))
        .unwrap_or_default()
        .to_string();
    assert_eq!(rules_line.trim(), "by rule:     AZ001 1, DAP001 5", "{out}");
    let (code, _, err) = run(&["audit", "fixtures/demo", "--select", "ZZ9"]);
    assert_eq!(code, 2);
    assert!(err.contains("`ZZ9` matches no rule"), "{err}");
}

/// Validates --set overrides, their validation, and a config file.
#[test]
fn parameters_are_overridable_without_editing_the_catalog() {
    let (code, _, err) = run(&["audit", "fixtures/demo", "--set", "DAP001.nope=1"]);
    assert_eq!(code, 2);
    assert!(err.contains("rule DAP001 has no parameters"), "{err}");
    let (code, _, err) = run(&["audit", "fixtures/demo", "--set", "NOPE1.x=1"]);
    assert_eq!(code, 2);
    assert!(err.contains("unknown rule `NOPE1`"), "{err}");
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = dir.path().join("audit.toml");
    std::fs::write(
        &cfg,
        "select = [\"DAP001\"]\nautopilot_policy = \"strict\"\n",
    )
    .expect("config");
    let cfg_s = cfg.to_string_lossy().into_owned();
    let (code, out, err) = run(&[
        "audit",
        "fixtures/demo",
        "--config",
        &cfg_s,
        "--fail-on",
        "never",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("by rule:     DAP001 5"), "{out}");
    std::fs::write(&cfg, "selct = [\"DAP001\"]\n").expect("config");
    let (code, _, err) = run(&["audit", "fixtures/demo", "--config", &cfg_s]);
    assert_eq!(code, 2);
    assert!(err.contains("unknown setting `selct`"), "{err}");
}

/// Validates that a custom rules directory can disable a built-in rule by
/// shipping its file with `enabled = false`, and that selecting it by full id
/// turns it back on.
#[test]
fn a_custom_directory_can_disable_a_built_in_rule() {
    let dir = tempfile::tempdir().expect("tempdir");
    let src = std::fs::read_to_string(common::root().join("rules/DAP002.toml")).expect("rule");
    let disabled = src.replacen(
        "severity = \"medium\"",
        "severity = \"medium\"\nenabled = false",
        1,
    );
    assert_ne!(src, disabled);
    // Fixture paths in the copied [[test]] tables are relative: drop them.
    let disabled = disabled
        .split("\n[[test]]")
        .next()
        .unwrap_or_default()
        .to_string();
    std::fs::write(dir.path().join("DAP002.toml"), disabled).expect("write");
    let rules = dir.path().to_string_lossy().into_owned();
    let (_, out, _) = run(&["rules", "--rules", &rules]);
    assert!(
        out.lines()
            .any(|l| l.starts_with("DAP002") && l.ends_with("(disabled)")),
        "{out}"
    );
    let (_, out, _) = run(&[
        "audit",
        "fixtures/demo",
        "--rules",
        &rules,
        "--fail-on",
        "never",
    ]);
    assert!(!out.contains("DAP002"), "{out}");
    let (_, out, _) = run(&[
        "audit",
        "fixtures/demo",
        "--rules",
        &rules,
        "--select",
        "DAP002",
        "--fail-on",
        "never",
    ]);
    assert!(out.contains("DAP002 5"), "{out}");
}

/// Validates a parameter override changes what a time-based rule reports.
#[test]
fn set_changes_a_threshold() {
    let (_, out, _) = run(&[
        "audit",
        "fixtures/demo",
        "--select",
        "DAP004",
        "--fail-on",
        "never",
    ]);
    assert!(out.contains("DAP004 2"), "{out}");
    let (_, out, _) = run(&[
        "audit",
        "fixtures/demo",
        "--select",
        "DAP004",
        "--set",
        "DAP004.stale_after_days=100000",
        "--fail-on",
        "never",
    ]);
    // Only the relationship with no recorded activity is left.
    assert!(out.contains("by rule:     DAP004 1\n"), "{out}");
}
