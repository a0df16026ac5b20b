//! One export fixture per supported format (`fixtures/exports/formats/`):
//! each is imported, the canonical tables it yields are snapshot-tested, and
//! the mapping decisions and pitfalls it exercises are asserted.

use std::collections::BTreeMap;
use std::path::Path;

use partner_audit::import;
use partner_audit::snapshot::{
    AddedVia, Diagnostic, Guid, Level, Loaded, PrincipalKind, RelKind, RelState, TenantKind,
};

const PARTNER: &str = "f408df09-d465-436f-a6fe-bf88ee3f43ea"; // Woodgrove Cloud Partners
const TAILSPIN: &str = "679e3cc0-46a0-41cb-87d5-78fd254a85f6";
const LAMNA: &str = "662eb235-2acc-47ae-967d-fba6618c9896";
const ADATUM: &str = "3b621a74-6a5f-401c-9991-c7394daa468a";
const UNKNOWN_TENANT: &str = "00000000-0000-0000-0000-000000000000";

fn g(s: &str) -> Guid {
    Guid::parse(s).expect("guid")
}

fn load(format: &str) -> Loaded {
    import::load_export(Path::new(&format!("fixtures/exports/formats/{format}")))
}

/// The canonical tables an import yields (non-empty ones), then its diagnostics.
fn canonical(l: &Loaded) -> String {
    let mut out = String::new();
    for (name, bytes) in import::write::render(&l.snapshot) {
        let text = String::from_utf8(bytes).expect("utf-8");
        if name.ends_with(".csv") && text.lines().count() <= 1 {
            continue;
        }
        out.push_str(&format!("--- {name}\n{text}"));
    }
    out.push_str("--- diagnostics\n");
    for d in &l.diagnostics {
        out.push_str(&format!("{d}\n"));
    }
    out
}

fn warnings(l: &Loaded) -> Vec<&Diagnostic> {
    l.diagnostics
        .iter()
        .filter(|d| d.level == Level::Warning)
        .collect()
}

/// Imports `format`, snapshot-tests its canonical tables, asserts no error.
fn imported(format: &str) -> Loaded {
    let l = load(format);
    let errors: Vec<String> = l.errors().map(ToString::to_string).collect();
    assert!(errors.is_empty(), "{format}: {errors:#?}");
    insta::assert_snapshot!(format!("format_{format}"), canonical(&l));
    l
}

fn state_counts(l: &Loaded) -> BTreeMap<(RelKind, RelState), usize> {
    let mut m = BTreeMap::new();
    for r in &l.snapshot.relationships {
        *m.entry((r.kind, r.state)).or_default() += 1;
    }
    m
}

/// Validates Graph `contracts` over two page files: customers named, a
/// reseller relationship for ResellerPartner / SyndicationPartner only.
#[test]
fn graph_contracts() {
    let l = imported("graph-contracts");
    let s = &l.snapshot;
    assert_eq!(s.tenants.len(), 4);
    let kind = |t: &str| {
        s.tenants
            .iter()
            .find(|x| x.tenant_id == g(t))
            .map(|x| x.kind)
    };
    assert_eq!(kind(PARTNER), Some(TenantKind::Partner));
    assert_eq!(kind(ADATUM), Some(TenantKind::Customer));
    let resold: Vec<Guid> = s
        .relationships
        .iter()
        .map(|r| r.customer_tenant_id)
        .collect();
    assert_eq!(
        resold,
        [g(TAILSPIN), g(LAMNA)],
        "BreadthPartner resells nothing"
    );
    assert!(s
        .relationships
        .iter()
        .all(|r| r.kind == RelKind::Reseller && r.state == RelState::Active));
}

/// Validates GDAP relationships (two page objects concatenated in one file,
/// the reseller subtype included) and the status → state mapping.
#[test]
fn graph_gdap_relationships() {
    let l = imported("graph-gdap-relationships");
    let counts = state_counts(&l);
    // active, expiring, terminationRequested, unknownFutureValue
    assert_eq!(counts.get(&(RelKind::Gdap, RelState::Active)), Some(&4));
    // approvalPending, activating, approved (reseller subtype)
    assert_eq!(counts.get(&(RelKind::Gdap, RelState::Pending)), Some(&3));
    assert_eq!(counts.get(&(RelKind::Gdap, RelState::Expired)), Some(&1));
    assert_eq!(counts.get(&(RelKind::Gdap, RelState::Terminated)), Some(&1));
    let w: Vec<String> = warnings(&l).iter().map(|d| d.message.clone()).collect();
    assert!(
        w.iter().any(|m| m.contains("`terminationRequested`")),
        "{w:?}"
    );
    assert!(
        w.iter().any(|m| m.contains("`unknownFutureValue`")),
        "{w:?}"
    );
    let s = &l.snapshot;
    let helpdesk = s
        .relationships
        .iter()
        .find(|r| r.auto_extend.as_ref().is_some_and(|d| &*d.text == "P180D"))
        .expect("the auto-extending relationship");
    let roles: Vec<&str> = helpdesk.roles.iter().map(|&r| s.roles.name(r)).collect();
    assert_eq!(roles, ["Helpdesk Administrator", "Directory Readers"]);
    assert_eq!(
        helpdesk.started_at.map(|t| t.to_string()).as_deref(),
        Some("2025-01-06T10:14:02.99Z"),
        "activatedDateTime"
    );
    assert!(helpdesk
        .relationship_id
        .as_deref()
        .is_some_and(|id| id.len() == 73));
}

/// Validates access assignments whose relationship comes from the folder,
/// the file name, and the `@odata.context` alone; statuses kept as written.
#[test]
fn graph_gdap_access_assignments() {
    let l = imported("graph-gdap-access-assignments");
    let s = &l.snapshot;
    assert_eq!(s.gdap_access_assignments.len(), 4);
    let rels: std::collections::BTreeSet<&str> = s
        .gdap_access_assignments
        .iter()
        .map(|a| &*a.relationship_id)
        .collect();
    assert_eq!(rels.len(), 3, "folder, file name and @odata.context");
    let states: Vec<&str> = s
        .gdap_access_assignments
        .iter()
        .filter_map(|a| a.state.as_deref())
        .collect();
    assert!(states.contains(&"pending") && states.contains(&"deleted"));
}

/// Validates Graph `delegatedAdminCustomers`: customer tenants only, no DAP.
#[test]
fn graph_delegated_admin_customers() {
    let l = imported("graph-delegated-admin-customers");
    let s = &l.snapshot;
    assert!(s.relationships.is_empty(), "Graph has no DAP object");
    let names: Vec<&str> = s.tenants.iter().map(|t| &*t.name).collect();
    assert!(names.contains(&"Tailspin Toys") && names.contains(&"Lamna Healthcare Company"));
}

/// Validates the Partner Center DAP list: dapEnabled true → active, false →
/// removed, missing → active with a warning; sign-ins become last activity.
#[test]
fn pc_delegated_admin_customers() {
    let l = imported("pc-delegated-admin-customers");
    let s = &l.snapshot;
    let dap = |t: &str| {
        s.relationships
            .iter()
            .find(|r| r.kind == RelKind::Dap && r.customer_tenant_id == g(t))
            .expect("dap row")
    };
    assert_eq!(dap(TAILSPIN).state, RelState::Active);
    assert_eq!(
        dap(TAILSPIN)
            .last_activity_at
            .map(|t| t.to_string())
            .as_deref(),
        Some("2026-10-12T16:05:44.91Z")
    );
    assert_eq!(dap(LAMNA).state, RelState::Removed);
    assert!(dap(LAMNA).ended_at.is_some());
    assert_eq!(dap(ADATUM).state, RelState::Active);
    assert!(warnings(&l)
        .iter()
        .any(|d| d.field.as_deref() == Some("dapEnabled")));
}

/// Validates Partner Center `customers` over two pages: reseller and
/// advisor relationships, `allowDelegatedAccess` as DAP.
#[test]
fn pc_customers() {
    let l = imported("pc-customers");
    let counts = state_counts(&l);
    assert_eq!(counts.get(&(RelKind::Reseller, RelState::Active)), Some(&2));
    assert_eq!(counts.get(&(RelKind::Dap, RelState::Active)), Some(&1));
    let s = &l.snapshot;
    let adatum = s
        .tenants
        .iter()
        .find(|t| t.tenant_id == g(ADATUM))
        .expect("advisor customer kept as a tenant");
    assert_eq!(adatum.domain.as_deref(), Some("adatum.onmicrosoft.com"));
    assert!(warnings(&l).iter().any(|d| d.message.contains("advisor")));
}

/// Validates users with `$select` (accountEnabled known, two pages) and
/// without (accountEnabled absent = unknown); unknown keys are counted.
#[test]
fn graph_users() {
    let l = imported("graph-users");
    let s = &l.snapshot;
    let enabled = |name: &str| {
        s.principals
            .iter()
            .find(|p| &*p.display_name == name)
            .expect(name)
            .enabled
    };
    assert_eq!(enabled("Ruth Okafor"), Some(true));
    assert_eq!(enabled("Sam Whitfield"), Some(false));
    assert_eq!(
        enabled("Nadia Rahman"),
        None,
        "default GET /users has no accountEnabled"
    );
    assert!(s.principals.iter().all(|p| p.kind == PrincipalKind::User));
    assert_eq!(
        s.accounting["principals"].unknown_columns.get("employeeId"),
        Some(&1)
    );
}

/// Validates groups, with members expanded into memberships.
#[test]
fn graph_groups() {
    let l = imported("graph-groups");
    let s = &l.snapshot;
    assert_eq!(
        s.principals
            .iter()
            .filter(|p| p.kind == PrincipalKind::Group)
            .count(),
        2
    );
    assert_eq!(s.memberships.len(), 1);
}

/// Validates members and transitiveMembers listings: nested groups, service
/// principals, devices skipped with a warning, and a parent found only in
/// the first page's nextLink applied to the last page too.
#[test]
fn graph_members() {
    let l = imported("graph-members");
    let s = &l.snapshot;
    assert_eq!(s.memberships.len(), 6);
    let vic = s
        .principals
        .iter()
        .find(|p| &*p.display_name == "Vic Moreau")
        .expect("last page member");
    assert!(s
        .memberships
        .iter()
        .any(|m| m.member_id == vic.principal_id));
    assert!(s
        .principals
        .iter()
        .any(|p| p.kind == PrincipalKind::ServicePrincipal));
    assert!(warnings(&l).iter().any(|d| d.message.contains("`device`")));
    assert_eq!(s.accounting["principals"].rows_rejected, 1);
}

/// Validates directory roles and their members, the parent given by role
/// object id or by role template id.
#[test]
fn graph_directory_roles() {
    let l = imported("graph-directory-roles");
    let s = &l.snapshot;
    let roles: Vec<&str> = s
        .role_assignments
        .iter()
        .map(|a| s.roles.name(a.role))
        .collect();
    assert_eq!(roles, ["Global Administrator", "Helpdesk Administrator"]);
    assert!(s.role_assignments.iter().all(|a| a.scope.is_directory()));
    assert!(
        s.memberships.is_empty(),
        "role members are not group members"
    );
}

/// Validates `roleManagement/directory` role definitions (custom role
/// names) and assignments with and without `$expand=principal`.
#[test]
fn graph_role_management() {
    let l = imported("graph-role-management");
    let s = &l.snapshot;
    let roles: Vec<&str> = s
        .role_assignments
        .iter()
        .map(|a| s.roles.name(a.role))
        .collect();
    assert!(roles.contains(&"Lamna Badge Administrator"), "{roles:?}");
    assert_eq!(s.role_assignments.len(), 4, "the expanded duplicate merges");
    assert!(s
        .role_assignments
        .iter()
        .any(|a| a.scope.as_str().starts_with("/administrativeUnits/")));
    assert!(s
        .principals
        .iter()
        .any(|p| p.kind == PrincipalKind::ServicePrincipal
            && &*p.display_name == "Lamna Backup Agent"));
}

/// Validates ARM role assignments over two pages (`properties` nesting):
/// an unresolvable ForeignGroup keeps an unknown home tenant.
#[test]
fn arm_role_assignments() {
    let l = imported("arm-role-assignments");
    let s = &l.snapshot;
    assert_eq!(s.role_assignments.len(), 4);
    let foreign = s
        .role_assignments
        .iter()
        .find(|a| a.principal_tenant_id == Some(g(UNKNOWN_TENANT)))
        .expect("foreign group");
    assert_eq!(s.roles.name(foreign.role), "Owner");
    assert!(s.role_assignments.iter().any(|a| a
        .scope
        .as_str()
        .starts_with("/providers/Microsoft.Management/")));
}

/// Validates flattened `az role assignment list`: principals named from
/// `principalName`, an empty `principalName` as a foreign principal, a
/// classic administrator matched by e-mail, an unmatched one reported.
#[test]
fn az_role_assignments_flat() {
    let l = imported("az-role-assignments-flat");
    let s = &l.snapshot;
    let role_of = |name: &str| {
        s.role_assignments
            .iter()
            .find(|a| s.roles.name(a.role) == name)
            .expect(name)
    };
    assert_eq!(
        role_of("Owner").principal_tenant_id,
        None,
        "Nadia is a local user"
    );
    assert!(s
        .role_assignments
        .iter()
        .any(|a| a.principal_tenant_id == Some(g(UNKNOWN_TENANT))));
    let classic = role_of("Classic administrator (CoAdministrator)");
    assert_eq!(classic.principal_id, role_of("Owner").principal_id);
    assert!(s
        .principals
        .iter()
        .any(|p| &*p.display_name == "Clinical Engineering" && p.kind == PrincipalKind::Group));
    assert!(
        s.roles.lookup("Lamna Deployer").is_some(),
        "custom role by name"
    );
    assert_eq!(s.accounting["role_assignments"].rows_rejected, 1);
    assert!(warnings(&l)
        .iter()
        .any(|d| d.message.contains("`billing@lamna-old.com`")));
}

/// Validates nested (older CLI) `az role assignment list` output.
#[test]
fn az_role_assignments_nested() {
    let l = imported("az-role-assignments-nested");
    let s = &l.snapshot;
    assert_eq!(s.role_assignments.len(), 2);
    assert!(s.role_assignments.iter().any(|a| a
        .scope
        .as_str()
        .ends_with("/resourceGroups/RG-DEV")
        && a.principal_tenant_id == Some(g(UNKNOWN_TENANT))));
}

/// Validates `az account list` (subscriptions of several tenants, a
/// tenant-level account skipped) and ARM `GET /subscriptions`.
#[test]
fn az_account_list() {
    let l = imported("az-account-list");
    let s = &l.snapshot;
    let tenant_of = |name: &str| {
        s.subscriptions
            .iter()
            .find(|x| &*x.name == name)
            .expect(name)
            .tenant_id
    };
    assert_eq!(tenant_of("Tailspin Production"), g(TAILSPIN));
    assert_eq!(tenant_of("Lamna Clinical Systems"), g(LAMNA));
    assert_eq!(tenant_of("A. Datum Dev/Test"), g(ADATUM));
    assert_eq!(s.subscriptions.len(), 3);
    assert!(warnings(&l)
        .iter()
        .any(|d| d.message.contains("tenant-level account")));
    assert!(s
        .subscriptions
        .iter()
        .all(|x| x.provisioned_by_tenant_id.is_none()));
}

/// Validates Graph Autopilot devices over two pages: no uploader recorded,
/// so added by the tenant through `unknown`, with one warning per file.
#[test]
fn autopilot_graph_devices() {
    let l = imported("autopilot-graph-devices");
    let s = &l.snapshot;
    assert_eq!(s.devices.len(), 3);
    assert!(s
        .devices
        .iter()
        .all(|d| d.added_via == AddedVia::Unknown && d.added_by_tenant_id == g(TAILSPIN)));
    assert_eq!(warnings(&l).len(), 2);
}

/// Validates the Intune import CSV (Windows-1252, CRLF): added by the
/// customer through Intune.
#[test]
fn autopilot_intune_csv() {
    let l = imported("autopilot-intune-csv");
    let s = &l.snapshot;
    assert_eq!(s.devices.len(), 2);
    assert!(s.devices.iter().all(|d| d.added_via == AddedVia::Intune));
    assert!(warnings(&l)
        .iter()
        .any(|d| d.message.contains("records no uploader")));
    assert!(warnings(&l)
        .iter()
        .any(|d| d.message == "decoded as Windows-1252"));
}

/// Validates Partner Center device pages filed under the partner with the
/// customer in the file name: added by the partner through Partner Center.
#[test]
fn autopilot_pc_devices() {
    let l = imported("autopilot-pc-devices");
    let s = &l.snapshot;
    assert_eq!(s.devices.len(), 3);
    assert!(s.devices.iter().all(|d| d.tenant_id == g(LAMNA)
        && d.added_by_tenant_id == g(PARTNER)
        && d.added_via == AddedVia::PartnerCenter));
}

/// Validates a Partner Center upload CSV filed under the customer, naming
/// the uploading partner in its file name.
#[test]
fn autopilot_pc_csv() {
    let l = imported("autopilot-pc-csv");
    let s = &l.snapshot;
    assert_eq!(s.devices.len(), 2);
    assert!(s.devices.iter().all(|d| d.tenant_id == g(ADATUM)
        && d.added_by_tenant_id == g(PARTNER)
        && d.added_via == AddedVia::PartnerCenter));
}

/// Validates Autopilot deployment profiles.
#[test]
fn autopilot_profiles() {
    let l = imported("autopilot-profiles");
    let names: Vec<&str> = l
        .snapshot
        .autopilot_profiles
        .iter()
        .map(|p| &*p.name)
        .collect();
    assert_eq!(
        names,
        [
            "Store Tills (self-deploying)",
            "Office Laptops (hybrid join)"
        ]
    );
}

/// Validates `organization`: the tenant's name and default domain.
#[test]
fn graph_organization() {
    let l = imported("graph-organization");
    let t = &l.snapshot.tenants[0];
    assert_eq!(&*t.name, "Tailspin Toys");
    assert_eq!(t.domain.as_deref(), Some("tailspintoys.com"));
}

/// Validates Graph PowerShell output: PascalCase keys, AdditionalProperties,
/// TimeSpan durations, an expanded Principal, unselected properties kept as
/// nulls, and a Windows PowerShell 5.1 file (UTF-16, `/Date()/`,
/// `{value, Count}`).
#[test]
fn powershell() {
    let l = imported("powershell");
    let s = &l.snapshot;
    let rel = &s.relationships[0];
    assert_eq!(rel.auto_extend.as_ref().map(|d| &*d.text), Some("P180D"));
    assert_eq!(rel.state, RelState::Active);
    assert_eq!(s.memberships.len(), 2);
    let sam = s
        .principals
        .iter()
        .find(|p| &*p.display_name == "Sam Whitfield")
        .expect("sam");
    assert_eq!(sam.enabled, Some(false));
    let tomas = s
        .principals
        .iter()
        .find(|p| &*p.display_name == "Tomas Varga")
        .expect("a user told by its null UserPrincipalName key");
    assert_eq!(
        (tomas.kind, tomas.enabled),
        (PrincipalKind::User, Some(true))
    );
    let admin = s
        .principals
        .iter()
        .find(|p| &*p.display_name == "AdminAgents")
        .expect("a single object, not an array");
    assert!(admin.agent_group.is_some());
    let roles: Vec<&str> = s
        .role_assignments
        .iter()
        .map(|a| s.roles.name(a.role))
        .collect();
    assert_eq!(roles, ["Global Administrator", "User Administrator"]);
    assert!(warnings(&l)
        .iter()
        .any(|d| d.message == "decoded as UTF-16"));
}

/// Validates that a `ForeignGroup` resolves to the partner when the partner's
/// export names the group only as the parent of a members listing (no
/// `groups.json`), and that the lingering Owner is then a partner's (AZ001).
#[test]
fn foreign_group_resolves_through_a_members_listing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    let admin_agents = "5b0e3b8e-2f7d-4c1e-9a43-6d2f8e1c7a90";
    let sub = "3f9c1a2b-7d4e-4f60-8a1b-2c3d4e5f6a7b";
    let write = |rel: &str, text: &str| {
        let p = root.join(rel);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(p, text).expect("write");
    };
    write(
        "manifest.json",
        r#"{"format_version": 1, "captured_at": "2026-11-01T00:00:00Z"}"#,
    );
    write(
        &format!("{PARTNER}/groups/{admin_agents}.members.json"),
        r##"{"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#directoryObjects",
            "value": [{"@odata.type": "#microsoft.graph.user", "id": "0d1e2f3a-4b5c-4d6e-8f70-8192a3b4c5d6",
                       "displayName": "Pia Holm", "userPrincipalName": "pia.holm@woodgrovecloud.com", "accountEnabled": true}]}"##,
    );
    write(
        &format!("{PARTNER}/contracts.json"),
        &format!(
            r#"[{{"id": "c1", "contractType": "ResellerPartner", "customerId": "{TAILSPIN}", "displayName": "Tailspin Toys"}}]"#
        ),
    );
    write(
        &format!("{TAILSPIN}/role-assignments.json"),
        &format!(
            r#"[{{"principalId": "{admin_agents}", "principalName": "", "principalType": "ForeignGroup",
                 "roleDefinitionId": "/subscriptions/{sub}/providers/Microsoft.Authorization/roleDefinitions/8e3af657-a8ff-443c-a75c-2fe8c4bcb635",
                 "roleDefinitionName": "Owner", "scope": "/subscriptions/{sub}"}}]"#
        ),
    );
    let l = import::load_export(root);
    assert!(!l.has_errors(), "{:#?}", l.diagnostics);
    let a = &l.snapshot.role_assignments[0];
    assert_eq!(a.principal_tenant_id, Some(g(PARTNER)));
    let rules = partner_audit::engine::rule::load_catalog(None, true).expect("catalog");
    let mut t = Vec::new();
    let audit = partner_audit::app::run_audit(
        root,
        &rules,
        &partner_audit::app::Settings::default(),
        &mut t,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let az001 = audit
        .findings
        .iter()
        .find(|f| &*f.rule == "AZ001")
        .expect("lingering Owner of the partner");
    assert_eq!(
        *az001.principals,
        [g("0d1e2f3a-4b5c-4d6e-8f70-8192a3b4c5d6")]
    );
    assert!(audit.findings.iter().all(|f| &*f.rule != "AZ004"));
}

/// Validates ARM Lighthouse exports: an assignment with its definition
/// expanded and one whose definition comes from a `registrationDefinitions`
/// export; standing, eligible (with its just-in-time policy) and User Access
/// Administrator authorizations with delegated roles.
#[test]
fn arm_lighthouse() {
    use partner_audit::snapshot::LighthouseAccess;
    let l = imported("arm-lighthouse");
    let s = &l.snapshot;
    assert_eq!(s.lighthouse_delegations.len(), 2);
    assert!(s
        .lighthouse_delegations
        .iter()
        .all(|d| d.tenant_id == g(TAILSPIN) && d.managing_tenant_id == g(PARTNER)));
    assert!(s
        .lighthouse_delegations
        .iter()
        .any(|d| d.scope.as_str().ends_with("/resourceGroups/rg-backup")));
    let eligible: Vec<_> = s
        .lighthouse_authorizations
        .iter()
        .filter(|a| a.access == LighthouseAccess::Eligible)
        .collect();
    assert_eq!(eligible.len(), 1);
    assert!(!eligible[0].requires_mfa());
    assert_eq!(eligible[0].approvers.len(), 1);
    let uaa = s
        .lighthouse_authorizations
        .iter()
        .find(|a| s.roles.name(a.role()) == "User Access Administrator")
        .expect("UAA");
    let delegated: Vec<&str> = uaa
        .delegated_roles()
        .iter()
        .map(|&r| s.roles.name(r))
        .collect();
    assert_eq!(delegated, ["Contributor", "Reader"]);
}

/// Validates Graph partner-app exports: service principals owned by other
/// tenants (not the tenant's own app), application permissions named from
/// the resource's `appRoles` or the well-known Microsoft Graph ids, a user's
/// app-role assignment set aside with a warning, and one delegated
/// permission per word of a grant's `scope`.
#[test]
fn graph_partner_apps() {
    use partner_audit::snapshot::{ConsentType, PermissionKind};
    let l = imported("graph-partner-apps");
    let s = &l.snapshot;
    let names: Vec<&str> = s
        .service_principals
        .iter()
        .map(|p| &*p.display_name)
        .collect();
    assert_eq!(names, ["Woodgrove RMM", "Microsoft Graph"]);
    let perms: Vec<(&str, PermissionKind, Option<ConsentType>)> = s
        .app_permissions
        .iter()
        .map(|p| (&*p.permission, p.kind, p.consent_type))
        .collect();
    assert!(perms.contains(&("Directory.ReadWrite.All", PermissionKind::Application, None)));
    assert!(perms.contains(&("User.Read.All", PermissionKind::Application, None)));
    assert!(perms.contains(&(
        "Group.ReadWrite.All",
        PermissionKind::Delegated,
        Some(ConsentType::AllPrincipals)
    )));
    assert_eq!(perms.len(), 5);
    assert_eq!(warnings(&l).len(), 1, "{:?}", warnings(&l));
}
