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

/// Validates junit.xml of a run with more cases than one rendering batch
/// (1024): the same bytes at 1 and at 3 threads and from `junit::render`,
/// and head counts that agree with the cases written after them.
#[test]
fn a_large_file_is_the_same_at_any_thread_count() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let snap = report::generated(120, tmp.path());
    let written = |threads: &str| report::written(&snap, "junit", "junit.xml", threads, tmp.path());
    let one = written("1");
    if let Some(d) = report::first_difference(&one, &written("3")) {
        panic!("1 and 3 threads differ at {d}");
    }
    let a = common::audit(&snap);
    let rules = common::catalog();
    let r = report::report(&a);
    let o = partner_audit::report::Outcome::plain(&r, &rules);
    if let Some(d) = report::first_difference(&partner_audit::report::junit::render(&o), &one) {
        panic!("render and the written file differ at {d}");
    }
    // The head's counts are taken before the cases are written: they must
    // agree with them.
    let head = one.lines().nth(1).expect("head");
    let count = |name: &str| {
        let key = format!(" {name}=\"");
        let at = head.find(&key).expect(name) + key.len();
        head[at..]
            .split('"')
            .next()
            .and_then(|n| n.parse::<usize>().ok())
            .expect(name)
    };
    let cases = one.matches("<testcase ").count();
    assert!(
        cases > 2 * 1024,
        "{cases} cases do not span several batches"
    );
    assert_eq!(count("tests"), cases);
    assert_eq!(count("failures"), one.matches("<failure ").count());
    assert!(count("failures") > 0);
    let customers = a
        .snapshot
        .tenants
        .iter()
        .filter(|t| t.kind == partner_audit::snapshot::TenantKind::Customer)
        .count();
    let enabled = rules.iter().filter(|x| x.enabled).count();
    assert_eq!(one.matches("<testsuite ").count(), enabled);
    assert!(cases >= enabled * customers);
}
