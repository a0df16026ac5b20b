//! Every report format over the demo, snapshot-tested (insta), plus the
//! findings.json contract: byte-identical to `json::write` when neither a
//! baseline nor waivers are given.

mod report;

use report::common;

/// Renders one format of the demo and snapshots it.
macro_rules! assert_format {
    ($name:literal, $file:literal) => {{
        let a = common::audit("fixtures/demo");
        let rules = common::catalog();
        let r = report::report(&a);
        let o = partner_audit::report::Outcome::plain(&r, &rules);
        insta::assert_snapshot!($name, report::render(&o, $file));
    }};
}

/// Validates the Markdown review of the demo.
#[test]
fn demo_markdown() {
    assert_format!("demo_report_md", "report.md");
}

/// Validates the HTML review of the demo: the overview (report.html) and
/// every other page (html/…), the latter with the stylesheet and script
/// that every page repeats left out.
#[test]
fn demo_html() {
    assert_format!("demo_report_html", "report.html");
    let a = common::audit("fixtures/demo");
    let rules = common::catalog();
    let r = report::report(&a);
    let o = partner_audit::report::Outcome::plain(&r, &rules);
    let mut all = String::new();
    for (path, page) in report::html_pages(&o) {
        if path == "report.html" {
            continue;
        }
        let style = page.find("<style>").expect("style") + "<style>".len();
        let style_end = page.find("</style>").expect("style end");
        let script = page.find("<script id=\"pa-script\">").expect("script") + 23;
        let script_end = page.rfind("</script>").expect("script end");
        assert!(style < style_end && style_end < script && script <= script_end);
        all.push_str(&format!(
            "==> {path} <==\n{}…{}…{}\n",
            &page[..style],
            &page[style_end..script],
            &page[script_end..]
        ));
    }
    insta::assert_snapshot!("demo_report_html_pages", all);
}

/// Validates findings.csv of the demo.
#[test]
fn demo_findings_csv() {
    assert_format!("demo_findings_csv", "findings.csv");
}

/// Validates access.csv of the demo.
#[test]
fn demo_access_csv() {
    assert_format!("demo_access_csv", "access.csv");
}

/// Validates findings.sarif of the demo.
#[test]
fn demo_sarif() {
    assert_format!("demo_findings_sarif", "findings.sarif");
}

/// Validates junit.xml of the demo.
#[test]
fn demo_junit() {
    assert_format!("demo_junit_xml", "junit.xml");
}

/// Validates that findings.json through the report pipeline without
/// baseline or waivers is byte-identical to the plain contract (the one
/// tests/demo.rs snapshots).
#[test]
fn json_is_unchanged_without_baseline_or_waivers() {
    let a = common::audit("fixtures/demo");
    let rules = common::catalog();
    let r = report::report(&a);
    let o = partner_audit::report::Outcome::plain(&r, &rules);
    assert_eq!(
        report::render(&o, "findings.json"),
        common::findings_json_v2(&a, &rules)
    );
}

/// Validates the review's listed-vs-effective administrators for Contoso:
/// one listed Global Administrator, three hidden Northwind AdminAgents users.
#[test]
fn review_shows_hidden_partner_admins() {
    let a = common::audit("fixtures/demo");
    let rules = common::catalog();
    let r = report::report(&a);
    let o = partner_audit::report::Outcome::plain(&r, &rules);
    let rv = partner_audit::report::review::build(&o);
    let customers = rv.customer_views();
    let contoso = customers
        .iter()
        .find(|c| c.name == "Contoso Dental Group")
        .expect("contoso");
    let ga = contoso
        .roles
        .iter()
        .find(|x| x.role == "Global Administrator")
        .expect("GA row");
    assert_eq!((ga.listed, ga.effective, ga.hidden), (1, 4, 3));
    let hidden: Vec<&str> = contoso
        .admins
        .iter()
        .filter(|x| x.role == "Global Administrator" && !x.listed)
        .map(|x| x.name.as_str())
        .collect();
    assert_eq!(hidden, ["Anna Kowalski", "Carla Mendes", "Devi Raman"]);
    // Fabrikam: the lingering Owner of AdminAgents, with the exact assignment.
    let fabrikam = customers
        .iter()
        .find(|c| c.name == "Fabrikam Logistics")
        .expect("fabrikam");
    assert_eq!(fabrikam.lingering.len(), 1);
    let l = &fabrikam.lingering[0];
    assert_eq!(l.role, "Owner");
    assert_eq!(l.source, "role_assignments.json:81");
    assert!(l
        .command
        .contains("--assignee 3cdf1871-8608-43af-94db-d736ac1f80f5"));
    assert!(l.findings.iter().any(|f| f == "AZ001-921fcd81d8a0a80f"));
    // Autopilot and service-request consequences: Fabrikam has AP001 and SR001.
    let rules_seen: Vec<&str> = fabrikam
        .consequences
        .iter()
        .map(|f| f.rule.as_str())
        .collect();
    assert_eq!(rules_seen, ["AP001", "SR001"]);
    assert!(
        contoso.consequences.is_empty(),
        "contoso has no AP/SR finding"
    );
}
