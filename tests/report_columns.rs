//! The CSV reports as a data contract: findings.csv and access.csv name
//! every principal and group next to its object id, in columns of their
//! own, so that a SIEM or a ticket system never parses the prose columns
//! (`paths`, `path`, `evidence`).

mod report;

use std::collections::HashMap;

use report::common;

/// The columns of findings.csv before names and UPNs were added: they all
/// stay, in this order.
const FINDINGS_V1: &[&str] = &[
    "id",
    "status",
    "rule",
    "severity",
    "title",
    "message",
    "customer_tenant_id",
    "customer_name",
    "partner_tenant_id",
    "partner_name",
    "resource_kind",
    "resource",
    "role",
    "assignment_principal_id",
    "assignment_scope",
    "assignment_role",
    "assignment_source",
    "principals",
    "principals_known",
    "paths",
    "evidence",
    "remediation",
];

/// The columns of access.csv before the path's groups were added.
const ACCESS_V1: &[&str] = &[
    "principal_id",
    "principal_kind",
    "display_name",
    "upn",
    "home_tenant_id",
    "home_tenant_name",
    "tenant_id",
    "tenant_name",
    "resource",
    "role",
    "access",
    "listed",
    "justifying_relationship",
    "path",
];

/// One CSV report of `snapshot` as rows of (column → cell).
fn rows(snapshot: &str, file: &str) -> (Vec<String>, Vec<HashMap<String, String>>) {
    let a = common::audit(snapshot);
    let rules = common::catalog();
    let r = report::report(&a);
    let o = partner_audit::report::Outcome::plain(&r, &rules);
    let text = report::render(&o, file);
    let mut rdr = csv::Reader::from_reader(text.as_bytes());
    let header: Vec<String> = rdr
        .headers()
        .expect("header")
        .iter()
        .map(str::to_string)
        .collect();
    let rows = rdr
        .records()
        .map(|rec| {
            let rec = rec.expect("csv record");
            assert_eq!(rec.len(), header.len(), "{file}: ragged row {rec:?}");
            header
                .iter()
                .cloned()
                .zip(rec.iter().map(str::to_string))
                .collect()
        })
        .collect();
    (header, rows)
}

/// The snapshot's principals: id → (display name, upn).
fn directory(snapshot: &str) -> HashMap<String, (String, String)> {
    let a = common::audit(snapshot);
    a.snapshot
        .principals
        .iter()
        .map(|p| {
            (
                p.principal_id.to_string(),
                (
                    p.display_name.to_string(),
                    p.upn.as_deref().unwrap_or_default().to_string(),
                ),
            )
        })
        .collect()
}

/// A list cell's items, one a line (an empty cell is no item).
fn items(cell: &str) -> Vec<&str> {
    if cell.is_empty() {
        Vec::new()
    } else {
        cell.split('\n').collect()
    }
}

/// `old` is a subsequence of `new`: no column was dropped or reordered.
fn keeps_order(old: &[&str], new: &[String]) -> bool {
    let mut it = new.iter();
    old.iter().all(|c| it.any(|n| n == c))
}

/// Validates that the columns of both CSV files are the documented ones:
/// the earlier columns all stay in their order, the new ones sit right
/// after the ids they name.
#[test]
fn csv_columns_keep_the_old_ones_in_order() {
    let (findings, _) = rows("fixtures/demo", "findings.csv");
    assert!(keeps_order(FINDINGS_V1, &findings), "{findings:?}");
    let after = |h: &[String], a: &str, b: &str| {
        h.iter().position(|c| c == a).map(|i| i + 1) == h.iter().position(|c| c == b)
    };
    assert!(after(
        &findings,
        "assignment_principal_id",
        "assignment_principal_name"
    ));
    assert!(after(
        &findings,
        "assignment_principal_name",
        "assignment_principal_upn"
    ));
    assert!(after(&findings, "principals", "principal_names"));
    assert!(after(&findings, "principal_names", "principal_upns"));
    assert_eq!(findings.len(), FINDINGS_V1.len() + 4);
    let (access, _) = rows("fixtures/demo", "access.csv");
    assert!(keeps_order(ACCESS_V1, &access), "{access:?}");
    assert_eq!(
        &access[ACCESS_V1.len()..],
        ["path_group_ids", "path_group_names"]
    );
}

/// Validates that findings.csv gives each principal's name and UPN, one
/// line per principal in the order of `principals`, and the name and UPN
/// of the assignment's principal, all as the snapshot has them.
#[test]
fn findings_csv_names_principals_next_to_their_ids() {
    let dir = directory("fixtures/demo");
    let (_, findings) = rows("fixtures/demo", "findings.csv");
    let mut named = 0;
    for f in &findings {
        let ids = items(&f["principals"]);
        let names = items(&f["principal_names"]);
        let upns: Vec<&str> = if ids.is_empty() {
            items(&f["principal_upns"])
        } else {
            f["principal_upns"].split('\n').collect()
        };
        assert_eq!(ids.len(), names.len(), "{}", f["id"]);
        assert_eq!(ids.len(), upns.len(), "{}", f["id"]);
        for ((id, name), upn) in ids.iter().zip(&names).zip(&upns) {
            let (want_name, want_upn) = &dir[*id];
            assert_eq!(name, want_name, "{} {id}", f["id"]);
            assert_eq!(upn, want_upn, "{} {id}", f["id"]);
            named += 1;
        }
        let a = &f["assignment_principal_id"];
        if a.is_empty() {
            assert_eq!(f["assignment_principal_name"], "");
            assert_eq!(f["assignment_principal_upn"], "");
        } else if let Some((name, upn)) = dir.get(a) {
            assert_eq!(&f["assignment_principal_name"], name, "{}", f["id"]);
            assert_eq!(&f["assignment_principal_upn"], upn, "{}", f["id"]);
        }
    }
    assert!(named > 10, "the demo names {named} principals");
    // Fabrikam's lingering Owner: the assignment is AdminAgents' (a group,
    // no UPN); the principals are Northwind's users.
    let az001 = findings
        .iter()
        .find(|f| f["id"] == "AZ001-921fcd81d8a0a80f")
        .expect("AZ001 for Fabrikam");
    assert_eq!(az001["assignment_principal_name"], "AdminAgents");
    assert_eq!(az001["assignment_principal_upn"], "");
    assert_eq!(
        az001["principal_names"],
        "Anna Kowalski\nCarla Mendes\nDevi Raman"
    );
    assert_eq!(
        az001["principal_upns"],
        "anna.kowalski@northwindit.onmicrosoft.com\ncarla.mendes@northwindit.onmicrosoft.com\ndevi.raman@northwindit.onmicrosoft.com"
    );
}

/// Validates that access.csv lists the groups of each explaining path,
/// member side first, by id and by display name, as the `path` column
/// shows them; a direct assignment has none.
#[test]
fn access_csv_names_the_groups_on_each_path() {
    let dir = directory("fixtures/demo");
    let (_, access) = rows("fixtures/demo", "access.csv");
    let mut groups = 0;
    for l in &access {
        let ids = items(&l["path_group_ids"]);
        let names = items(&l["path_group_names"]);
        assert_eq!(ids.len(), names.len(), "{l:?}");
        let mut rest = l["path"].as_str();
        for (id, name) in ids.iter().zip(&names) {
            if let Some((want, _)) = dir.get(*id) {
                assert_eq!(name, want, "{l:?}");
            }
            // In the path, in this order.
            let at = rest
                .find(name)
                .unwrap_or_else(|| panic!("{name} not in {l:?}"));
            rest = &rest[at + name.len()..];
            groups += 1;
        }
    }
    assert!(groups > 10, "the demo has {groups} groups on paths");
    let devi = access
        .iter()
        .find(|l| l["display_name"] == "Devi Raman" && l["access"] == "implicit")
        .expect("Devi Raman's implicit access");
    assert_eq!(
        devi["path_group_names"],
        "Azure On-Call\nAzure Operators\nAdminAgents"
    );
    for id in items(&devi["path_group_ids"]) {
        assert!(dir.contains_key(id), "{id}");
    }
    let jonas = access
        .iter()
        .find(|l| l["display_name"] == "Jonas Berg")
        .expect("Jonas Berg's own assignment");
    assert_eq!(jonas["path_group_ids"], "");
    assert_eq!(jonas["path_group_names"], "");
}

/// Validates that list cells stay one line per item when a name holds a
/// line break (the hostile fixture's `\tTabbed\rName`), and that every
/// new cell is formula-neutralised and free of hidden characters.
#[test]
fn hostile_names_keep_list_cells_aligned_and_neutral() {
    let (_, findings) = rows("fixtures/report/hostile.json", "findings.csv");
    let mut seen = false;
    for f in &findings {
        let ids = items(&f["principals"]);
        assert_eq!(ids.len(), items(&f["principal_names"]).len(), "{f:?}");
        if !ids.is_empty() {
            assert_eq!(ids.len(), f["principal_upns"].split('\n').count(), "{f:?}");
        }
        for name in items(&f["principal_names"]) {
            assert!(!name.contains('\r'), "{name:?}");
            assert!(!name.contains('\u{1b}'), "{name:?}");
            seen |= name.contains("Tabbed");
        }
        for col in ["principal_names", "assignment_principal_name"] {
            assert!(
                !f[col].starts_with(['=', '+', '-', '@', '\u{ff1d}', '\u{ff20}']),
                "{col}: {}",
                f[col]
            );
        }
    }
    assert!(seen, "the hostile fixture's tabbed name is listed");
    let (_, access) = rows("fixtures/report/hostile.json", "access.csv");
    for l in &access {
        assert_eq!(
            items(&l["path_group_ids"]).len(),
            items(&l["path_group_names"]).len(),
            "{l:?}"
        );
        assert!(!l["path_group_names"].starts_with(['=', '+', '-', '@']));
        assert!(!l["path_group_names"].contains('\u{1b}'));
    }
    assert!(
        access
            .iter()
            .any(|l| l["path_group_names"].contains("<svg onload=alert(1)> ops\nAdminAgents")),
        "the hostile group is named on the path"
    );
}
