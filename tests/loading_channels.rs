//! Canonical loading of the cross-tenant access table and the GDAP lifecycle
//! columns: bad values are errors naming file, line, column and field, a
//! repeated entry follows the duplicate-key policy, and a GDAP duration
//! beyond P730D is bad input, not a finding.

use partner_audit::snapshot::{load, InboundAccess, Loaded};

const CUSTOMER: &str = "00000000-0000-0000-0000-0000000000c1";
const PARTNER: &str = "00000000-0000-0000-0000-0000000000f1";

/// Loads a snapshot directory holding `files`; diagnostics are rendered
/// with the directory shown as `snap`.
fn load_files(files: &[(&str, &str)]) -> (Loaded, Vec<String>) {
    let dir = tempfile::tempdir().expect("tempdir");
    for (name, content) in files {
        std::fs::write(dir.path().join(name), content).expect("write");
    }
    let loaded = load(dir.path());
    let prefix = dir.path().display().to_string();
    let rendered = loaded
        .diagnostics
        .iter()
        .map(|d| d.to_string().replace(&prefix, "snap"))
        .collect();
    (loaded, rendered)
}

const XT_HEADER: &str = "tenant_id,partner_tenant_id,is_service_provider,inbound_mfa_accepted,inbound_compliant_device_accepted,inbound_hybrid_joined_device_accepted,automatic_redemption_inbound,b2b_collaboration_inbound,b2b_direct_connect_inbound,user_sync_inbound\n";

/// Validates that empty cells stay unknown (inherited), set ones are kept,
/// and the default entry is the row without a partner.
#[test]
fn cross_tenant_entries_keep_null_apart_from_false() {
    let csv = format!(
        "{XT_HEADER}{CUSTOMER},,,true,,,,allowed,blocked,\n{CUSTOMER},{PARTNER},yes,,false,,1,limited,,no\n"
    );
    let (l, diags) = load_files(&[("cross_tenant_access.csv", &csv)]);
    assert!(diags.is_empty(), "{diags:#?}");
    let x = &l.snapshot.cross_tenant_access;
    assert_eq!(x.len(), 2);
    assert_eq!(x[0].partner_tenant_id, None);
    assert_eq!(x[0].inbound_mfa_accepted, Some(true));
    assert_eq!(
        x[0].b2b_direct_connect_inbound,
        Some(InboundAccess::Blocked)
    );
    assert_eq!(x[1].is_service_provider, Some(true));
    assert_eq!(x[1].inbound_mfa_accepted, None);
    assert_eq!(x[1].inbound_compliant_device_accepted, Some(false));
    assert_eq!(x[1].automatic_redemption_inbound, Some(true));
    assert_eq!(x[1].b2b_collaboration_inbound, Some(InboundAccess::Limited));
    assert_eq!(x[1].user_sync_inbound, Some(false));
}

/// Validates that every bad value of a row is reported with line, column
/// and field, the row is rejected, and an entry naming the customer itself
/// is refused.
#[test]
fn bad_cross_tenant_values_name_line_column_and_field() {
    let csv = format!(
        "{XT_HEADER}{CUSTOMER},{PARTNER},,maybe,,,,open,,\n{CUSTOMER},{CUSTOMER},,,,,,,,\n{CUSTOMER},,,,,,,,,\n"
    );
    let (l, diags) = load_files(&[("cross_tenant_access.csv", &csv)]);
    assert_eq!(
        diags,
        [
            "error: snap/cross_tenant_access.csv:2:4: field `inbound_mfa_accepted`: invalid boolean `maybe` (expected true/false, yes/no, 1/0 or empty)",
            "error: snap/cross_tenant_access.csv:2:8: field `b2b_collaboration_inbound`: invalid value `open` (expected one of allowed, limited, blocked)",
            "error: snap/cross_tenant_access.csv:3:2: field `partner_tenant_id`: partner_tenant_id `00000000-0000-0000-0000-0000000000c1` is the customer tenant itself (expected another tenant's id, or empty for the default entry)",
        ]
    );
    let acc = &l.snapshot.accounting["cross_tenant_access"];
    assert_eq!((acc.rows_read, acc.rows_used, acc.rows_rejected), (3, 1, 2));
}

/// Validates the duplicate policy: the same default entry twice is a
/// warning, a partner entry that differs is an error naming the column.
#[test]
fn repeated_cross_tenant_entries_follow_the_duplicate_policy() {
    let csv = format!(
        "{XT_HEADER}{CUSTOMER},,,true,,,,,,\n{CUSTOMER},,,true,,,,,,\n{CUSTOMER},{PARTNER},,,,,true,,,\n{CUSTOMER},{PARTNER},,,,,false,,,\n"
    );
    let (l, diags) = load_files(&[("cross_tenant_access.csv", &csv)]);
    assert_eq!(diags.len(), 2, "{diags:#?}");
    assert!(
        diags[0].starts_with("warning: snap/cross_tenant_access.csv:3:2: field `partner_tenant_id`: duplicate tenant_id `00000000-0000-0000-0000-0000000000c1`: first at line 2"),
        "{}",
        diags[0]
    );
    assert!(
        diags[1].starts_with("error: snap/cross_tenant_access.csv:5:2: field `partner_tenant_id`: duplicate tenant_id `00000000-0000-0000-0000-0000000000c1`, partner_tenant_id `00000000-0000-0000-0000-0000000000f1`: first at line 4")
            && diags[1].contains("`automatic_redemption_inbound`"),
        "{}",
        diags[1]
    );
    assert_eq!(l.snapshot.cross_tenant_access.len(), 2);
}

/// Validates that a GDAP duration beyond P730D rejects its row with the
/// file, line, column and field, while P730D and the display name load.
#[test]
fn gdap_duration_beyond_730_days_is_bad_input() {
    let csv = format!(
        "partner_tenant_id,customer_tenant_id,kind,state,relationship_id,roles,display_name,duration\n\
         {PARTNER},{CUSTOMER},gdap,active,rel-1,Helpdesk Administrator,MLT_0001,P730D\n\
         {PARTNER},{CUSTOMER},gdap,active,rel-2,Helpdesk Administrator,Two years and a day,P731D\n"
    );
    let (l, diags) = load_files(&[("relationships.csv", &csv)]);
    assert_eq!(
        diags,
        ["error: snap/relationships.csv:3:8: field `duration`: GDAP duration `P731D` is longer than the 730 days Microsoft allows (expected an ISO 8601 duration from P1D to P730D)"]
    );
    let r = &l.snapshot.relationships;
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].display_name.as_deref(), Some("MLT_0001"));
    assert_eq!(r[0].duration.as_ref().map(|d| &*d.text), Some("P730D"));
}
