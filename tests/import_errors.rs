//! Malformed exports (`fixtures/exports/bad/`): each fails with a message
//! that says what is wrong — the file, and where the format allows the line,
//! column and field — and `audit` / `import` exit 2.

mod common;

use std::path::Path;

use partner_audit::import;
use partner_audit::snapshot::{Diagnostic, Loaded};

fn load(case: &str) -> Loaded {
    import::load_export(Path::new(&format!("fixtures/exports/bad/{case}")))
}

fn errors(l: &Loaded) -> Vec<&Diagnostic> {
    l.errors().collect()
}

/// Validates that a file matching no format is an error naming the file and
/// the formats it resembles most.
#[test]
fn unknown_format_names_the_closest_formats() {
    let l = load("unknown-format");
    let e = errors(&l);
    assert_eq!(e.len(), 1, "{e:?}");
    assert!(e[0].file.ends_with("role-members.json"), "{}", e[0].file);
    assert!(
        e[0].message.starts_with("unrecognised JSON export"),
        "{}",
        e[0].message
    );
    let help = e[0].help.as_deref().unwrap_or("");
    assert!(help.contains("Graph directory objects"), "{help}");
    assert!(help.contains("`objectId`"), "{help}");
}

/// Validates the same for a CSV file, when nothing shares its keys.
#[test]
fn unknown_csv_lists_its_keys() {
    let l = load("unknown-csv");
    let e = errors(&l);
    assert_eq!(e.len(), 1);
    assert!(e[0].message.starts_with("unrecognised CSV export"));
    assert!(e[0].help.as_deref().unwrap_or("").contains("`admin role`"));
}

/// Validates that invalid JSON (the Graph docs' trailing comma) names line and column.
#[test]
fn invalid_json_names_line_and_column() {
    let l = load("invalid-json");
    let e = errors(&l);
    assert_eq!(e.len(), 1);
    assert_eq!((e[0].line, e[0].column), (Some(14), Some(7)));
    assert_eq!(e[0].message, "invalid JSON: trailing comma");
}

/// Validates that a members listing with no parent in its name or URLs is refused.
#[test]
fn members_need_their_parent() {
    let l = load("members-without-parent");
    let e = errors(&l);
    assert_eq!(e.len(), 1);
    assert!(e[0]
        .message
        .contains("cannot tell which group or directory role"));
    assert!(e[0]
        .expected
        .as_deref()
        .unwrap_or("")
        .contains("groups/<group-id>.members.json"));
    assert_eq!(l.snapshot.accounting["memberships"].rows_rejected, 1);
}

/// Validates that a file outside any tenant folder is refused, while the
/// formats that carry their tenant are still read.
#[test]
fn files_need_a_tenant_folder() {
    let l = load("no-tenant-folder");
    let e = errors(&l);
    assert_eq!(e.len(), 1);
    assert!(
        e[0].file.ends_with("no-tenant-folder/users.json"),
        "{}",
        e[0].file
    );
    assert!(e[0].message.starts_with("cannot tell which tenant"));
    assert_eq!(l.snapshot.tenants.len(), 1);
    assert_eq!(&*l.snapshot.tenants[0].name, "Fourth Coffee");
}

/// Validates that `ConvertTo-Json` output cut short by its default depth is
/// refused with the fix.
#[test]
fn truncated_powershell_says_how_to_fix_it() {
    let l = load("truncated-powershell");
    let e = errors(&l);
    assert_eq!(e.len(), 1);
    assert_eq!(e[0].field.as_deref(), Some("AccessDetails"));
    assert_eq!(e[0].line, Some(2));
    assert!(e[0].help.as_deref().unwrap_or("").contains("-Depth 10"));
}

/// Validates that every bad value of an item is reported, the item counted
/// as one rejected row, and the good item kept.
#[test]
fn every_bad_value_is_reported() {
    let l = load("bad-values");
    let fields: Vec<(Option<u32>, Option<&str>)> = errors(&l)
        .iter()
        .map(|d| (d.line, d.field.as_deref()))
        .collect();
    assert_eq!(
        fields,
        [(Some(2), Some("createdOn")), (Some(2), Some("principalId"))]
    );
    let acc = &l.snapshot.accounting["role_assignments"];
    assert_eq!((acc.rows_read, acc.rows_used, acc.rows_rejected), (2, 1, 1));
}

/// Validates that a listing whose every page has a next link is an error
/// naming the file and the tenant, and that the tenant is recorded as
/// incomplete (for `--keep-going`) with the listing and the missing page.
#[test]
fn missing_last_page_is_an_error_naming_the_tenant() {
    let l = load("incomplete-paging");
    let e = errors(&l);
    assert_eq!(e.len(), 1, "{e:?}");
    assert!(e[0].file.ends_with("users.page1.json"), "{}", e[0].file);
    assert!(
        e[0].message
            .contains("incomplete listing of tenant `83481388-1cc5-4e12-ac79-c998bb80deb8`"),
        "{}",
        e[0].message
    );
    assert_eq!(l.snapshot.principals.len(), 1);
    let m = &l.snapshot.manifest.incomplete;
    assert_eq!(m.len(), 1, "{m:?}");
    assert_eq!(
        m[0].tenant_id.to_string(),
        "83481388-1cc5-4e12-ac79-c998bb80deb8"
    );
    assert_eq!(
        m[0].reason,
        "the `users` listing: the page after `83481388-1cc5-4e12-ac79-c998bb80deb8/users.page1.json` is missing"
    );
}

/// Validates exit status 2 and the located message for `audit` and `import`.
#[test]
fn malformed_exports_exit_2() {
    let (code, _, err) = common::run(&[
        "audit",
        "fixtures/exports/bad/invalid-json",
        "--as-of",
        "2026-11-01",
    ]);
    assert_eq!(code, 2);
    assert!(
        err.contains("roleAssignments.json:14:7: invalid JSON: trailing comma"),
        "{err}"
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("snap").to_string_lossy().into_owned();
    let (code, _, err) = common::run(&[
        "import",
        "fixtures/exports/bad/unknown-format",
        "--out",
        &out,
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("unrecognised JSON export"), "{err}");
    assert!(!Path::new(&out).exists(), "nothing written on error");
    let (code, _, err) = common::run(&["import", "fixtures/demo", "--out", &out]);
    assert_eq!(code, 2);
    assert!(err.contains("is not an export folder"), "{err}");
}

/// Validates that a GDAP `duration` beyond P730D and malformed cross-tenant
/// settings are bad input naming file, line and field (not findings), and
/// that the valid rows next to them are kept.
#[test]
fn gdap_duration_and_cross_tenant_values_are_checked() {
    let l = load("gdap-lifecycle-values");
    let found: Vec<(String, Option<u32>, Option<&str>)> = errors(&l)
        .iter()
        .map(|d| {
            let file = d.file.rsplit('/').next().unwrap_or("").to_owned();
            (file, d.line, d.field.as_deref())
        })
        .collect();
    assert_eq!(
        found,
        [
            (
                "crossTenantAccessPolicy-partners.json".to_owned(),
                Some(4),
                Some("inboundTrust.isMfaAccepted")
            ),
            (
                "crossTenantAccessPolicy-partners.json".to_owned(),
                Some(9),
                Some("b2bCollaborationInbound.usersAndGroups.accessType")
            ),
            (
                "delegatedAdminRelationships.json".to_owned(),
                Some(4),
                Some("duration")
            ),
        ]
    );
    let long = errors(&l)
        .into_iter()
        .find(|d| d.field.as_deref() == Some("duration"))
        .expect("duration error");
    assert!(long.message.contains("`P1095D`"), "{}", long.message);
    assert!(long.message.contains("730 days"), "{}", long.message);
    let rel = &l.snapshot.relationships;
    assert_eq!(rel.len(), 1, "{rel:?}");
    assert_eq!(
        rel[0].display_name.as_deref(),
        Some("MLT_5c6d7e8f-0000-4000-8000-000000000002")
    );
    assert_eq!(rel[0].duration.as_ref().map(|d| &*d.text), Some("P730D"));
    let xt = &l.snapshot.cross_tenant_access;
    assert_eq!(xt.len(), 1);
    assert_eq!(xt[0].automatic_redemption_inbound, Some(true));
    let acc = &l.snapshot.accounting["cross_tenant_access"];
    assert_eq!((acc.rows_read, acc.rows_used, acc.rows_rejected), (3, 1, 2));
}
