//! Remediation templates: a finding's remediation names its own principal,
//! role and scope; snapshot values cannot add Markdown; an absent value
//! leaves a visible `<name>`; an unknown placeholder is a load error.

mod report;

use partner_audit::engine::rule::{self, Rule};
use report::common;

/// A custom rule over `from` whose remediation is `remediation`.
fn rule_with(from: &str, filter: &str, per: &str, remediation: &str) -> Rule {
    let src = format!(
        r#"id = "CUST900"
title = "t"
severity = "low"
summary = "s"
rationale = "r"
example = "e"
remediation = '''{remediation}'''

[query]
from = "{from}"
where = '{filter}'
per = [{per}]
message = "m"
"#
    );
    rule::parse_rule("CUST900.toml", &src).unwrap_or_else(|d| panic!("{d:?}"))
}

/// Validates that AZ001's remediation carries the exact command for the
/// assignment the finding names, and no placeholder left to fill in.
#[test]
fn az001_remediation_names_the_assignment_to_remove() {
    let a = common::audit("fixtures/rules/AZ001/fires.json");
    let found: Vec<_> = a.findings.iter().filter(|f| &*f.rule == "AZ001").collect();
    assert_eq!(found.len(), 2);
    for f in found {
        let x = f.assignment.as_deref().expect("AZ001 names its assignment");
        let cmd = format!(
            "`az role assignment delete --assignee {} --role {} --scope {}`",
            x.principal_id, x.role, x.scope
        );
        assert!(
            f.remediation.contains(&cmd),
            "{}\nlacks {cmd}",
            f.remediation
        );
        assert!(!f.remediation.contains('<'), "{}", f.remediation);
        assert!(!f.remediation.contains('{'), "{}", f.remediation);
    }
}

/// Validates that hostile names stay inside code spans: a partner name with
/// backticks, a link, emphasis, a quote and a heading after a blank line.
#[test]
fn snapshot_values_cannot_add_markdown() {
    let hostile = "O'Brien``x` [link](http://e.test) *b*\n\n# h";
    let dir = tempfile::tempdir().expect("tempdir");
    let src = std::fs::read_to_string(common::root().join("fixtures/rules/AZ001/fires.json"))
        .expect("fixture");
    let mut doc: serde_json::Value = serde_json::from_str(&src).expect("json");
    doc["tenants"][0]["name"] = serde_json::Value::String(hostile.into());
    let path = dir.path().join("snapshot.json");
    std::fs::write(&path, doc.to_string()).expect("write");
    let path = path.to_str().expect("utf-8 path");

    // In text: a code span of its own, fenced longer than the value's runs.
    let flat = "O'Brien``x` [link](http://e.test) *b*  # h";
    let a = common::audit(path);
    let f = a
        .findings
        .iter()
        .find(|f| &*f.rule == "AZ001")
        .expect("AZ001 fires");
    assert!(
        f.remediation.contains(&format!(" ```{flat}``` ")),
        "{}",
        f.remediation
    );
    assert!(!f.remediation.contains('\n'), "{}", f.remediation);

    // The Markdown report embeds the remediation as Markdown, value and all.
    let rules = common::catalog();
    let a = common::audit_with(path, &rules);
    let r = report::report(&a);
    let o = partner_audit::report::Outcome::plain(&r, &rules);
    let md = report::render(&o, "report.md");
    let line = md
        .lines()
        .find(|l| l.starts_with("- **remediation:** Customer: in the Azure portal"))
        .expect("AZ001's remediation in report.md");
    assert!(line.contains(&format!(" ```{flat}``` ")), "{line}");
    assert!(
        !md.lines().any(|l| l.trim_start().starts_with("# h")),
        "{md}"
    );

    // In a command span: quoted for the shell, the span fenced around it.
    let r = rule_with(
        "role_assignment",
        "principal_is_partner",
        r#""tenant_id", "scope", "role", "principal_id""#,
        "Run `echo {partner_name}` or {partner_name}.",
    );
    let a = common::audit_with(path, std::slice::from_ref(&r));
    let f = a.findings.first().expect("fires");
    let quoted = "'O'\\''Brien``x` [link](http://e.test) *b*  # h'";
    assert_eq!(
        &*f.remediation,
        format!("Run ```echo {quoted}``` or ```{flat}```.")
    );
}

/// Validates the fallback: a value the finding lacks is written `<name>`.
#[test]
fn an_absent_value_is_left_for_the_reader() {
    let r = rule_with(
        "invitation",
        "is_null(customer_name)",
        r#""partner_tenant_id", "invitation_id""#,
        "Ask {customer_name} about {invitation_id}: `pc-tool --customer {customer_name}`.",
    );
    let a = common::audit_with("fixtures/demo", std::slice::from_ref(&r));
    let f = a
        .findings
        .first()
        .expect("the demo has an invitation without a customer");
    assert!(
        f.remediation.starts_with("Ask `<customer_name>` about `"),
        "{}",
        f.remediation
    );
    assert!(
        f.remediation
            .ends_with(": `pc-tool --customer <customer_name>`."),
        "{}",
        f.remediation
    );
}

/// Validates that a rule without placeholders shares its text with every
/// finding (one allocation per rule, not per finding).
#[test]
fn a_remediation_without_placeholders_is_shared() {
    let rules = common::catalog();
    let a = common::audit_with("fixtures/demo", &rules);
    let sr = rules.iter().find(|r| r.id == "SR001").expect("SR001");
    assert!(sr.remediation_template.is_none());
    let found: Vec<_> = a.findings.iter().filter(|f| &*f.rule == "SR001").collect();
    assert!(!found.is_empty());
    for f in found {
        assert!(std::sync::Arc::ptr_eq(&f.remediation, &sr.remediation));
    }
}

/// Validates the load error for an unknown placeholder: file, line, column,
/// field, the placeholder and a suggestion.
#[test]
fn an_unknown_placeholder_is_a_load_error() {
    let src = "id = \"CUST901\"\ntitle = \"t\"\nseverity = \"low\"\nsummary = \"s\"\nrationale = \"r\"\nexample = \"e\"\nremediation = \"\"\"\nRemove {principal_idd} now.\"\"\"\n\n[query]\nfrom = \"role_assignment\"\nwhere = \"principal_is_partner\"\nper = [\"principal_id\"]\nmessage = \"m\"\n";
    let diags = rule::parse_rule("my-rules/CUST901.toml", src).expect_err("must not load");
    assert_eq!(diags.len(), 1, "{diags:?}");
    let d = &diags[0];
    assert_eq!(d.file, "my-rules/CUST901.toml");
    assert_eq!(d.field.as_deref(), Some("remediation"));
    assert_eq!((d.line, d.column), (Some(8), Some(8)));
    assert!(d.message.contains("`{principal_idd}`"), "{}", d.message);
    assert_eq!(d.help.as_deref(), Some("did you mean `principal_id`?"));
}
