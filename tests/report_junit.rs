//! junit.xml case names: every case says what it is about.

mod report;

use report::common;

/// Validates that findings tied to no customer (invitations, here) get a
/// case named after their partner, not a placeholder.
#[test]
fn partner_level_findings_are_named_after_the_partner() {
    let a = common::audit("fixtures/demo");
    let rules = common::catalog();
    let r = report::report(&a);
    let o = partner_audit::report::Outcome::plain(&r, &rules);
    let xml = report::render(&o, "junit.xml");
    assert!(!xml.contains("(no customer)"), "{xml}");
    let inv = a
        .findings
        .iter()
        .find(|f| &*f.rule == "INV001")
        .expect("the demo has an INV001 finding");
    assert!(inv.customer_tenant_id.is_none());
    let partner = inv.partner_tenant_id.expect("INV001 names its partner");
    let case = format!(
        "<testcase classname=\"partner-audit.INV001\" name=\"partner Northwind IT Services ({partner})\">\n      <failure"
    );
    assert!(xml.contains(&case), "{xml}");
}
