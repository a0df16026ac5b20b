//! `partner-audit exposure`: what a partner principal, group or tenant
//! reaches, checked against the demo snapshot's hand-worked access
//! (fixtures/demo/NOTES.md) and small purpose-built snapshots.

mod common;

use std::collections::BTreeSet;
use std::path::Path;

use partner_audit::app::Audit;
use partner_audit::exposure::{self, Channel, ExposureOut, ItemKind, Step, Target, TargetError};

const NORTHWIND: &str = "8650add5-6877-40ac-a353-5f54fa779ed1";
const ANNA: &str = "anna.kowalski@northwindit.onmicrosoft.com";

fn demo() -> Audit {
    common::audit_with("fixtures/demo", &[])
}

fn query(a: &Audit, q: &str) -> ExposureOut {
    let t = exposure::resolve(&a.snapshot, &a.graph, q).unwrap_or_else(|e| panic!("{e}"));
    exposure::exposure(&a.snapshot, &a.graph, t).to_out(&a.snapshot, &a.graph, q)
}

/// (tenant name, item kind, role, scope, channel) of every item.
fn items(o: &ExposureOut) -> BTreeSet<(String, &'static str, String, String, &'static str)> {
    o.tenants
        .iter()
        .flat_map(|t| {
            t.reach.iter().map(|r| {
                (
                    t.name.clone(),
                    r.kind.as_str(),
                    r.role.clone(),
                    r.scope.clone(),
                    r.channel.as_str(),
                )
            })
        })
        .collect()
}

fn item(
    tenant: &str,
    kind: &'static str,
    role: &str,
    scope: &str,
    channel: &'static str,
) -> (String, &'static str, String, String, &'static str) {
    (tenant.into(), kind, role.into(), scope.into(), channel)
}

/// The principal names on an item's path, then the role it ends in.
fn path_names(o: &ExposureOut, tenant: &str, role: &str, scope: &str) -> Vec<String> {
    let r = o
        .tenants
        .iter()
        .filter(|t| t.name == tenant)
        .flat_map(|t| &t.reach)
        .find(|r| r.role == role && r.scope == scope)
        .unwrap_or_else(|| panic!("{tenant}: no {role} on {scope}"));
    let v = serde_json::to_value(&r.path).expect("path json");
    v.as_array()
        .expect("array")
        .iter()
        .map(|s| match s["step"].as_str() {
            Some("principal") => s["name"].as_str().unwrap_or("?").to_string(),
            Some("grant") => format!("⇒ {}", s["role"].as_str().unwrap_or("?")),
            Some("contains") => format!("⊃ {}", s["scope"].as_str().unwrap_or("?")),
            other => panic!("unknown step {other:?}"),
        })
        .collect()
}

/// Validates Anna's blast radius item by item: she is a direct member of
/// AdminAgents, so she holds what DAP, AOBO and Autopilot give it in every
/// customer, and nothing Azure Operators holds (that group is a member of
/// AdminAgents, not the other way round).
#[test]
fn anna_reaches_what_admin_agents_holds() {
    let a = demo();
    let o = query(&a, ANNA);
    assert_eq!(o.target.kind, "user");
    assert_eq!(o.target.id, "11d40b87-269d-4144-a5c6-bcb2753c3f5e");
    let ga = "Global Administrator";
    let expected: BTreeSet<_> = [
        item("Contoso Dental Group", "directory_role", ga, "/", "dap"),
        item("Alpine Ski House", "directory_role", ga, "/", "dap"),
        item("Wide World Importers", "directory_role", ga, "/", "dap"),
        item("Margie's Travel", "directory_role", ga, "/", "dap"),
        item(
            "Contoso Dental Group",
            "subscription",
            "Owner",
            "/subscriptions/0cfc30ab-48cb-40ac-a85f-e5e2ea974f07",
            "aobo",
        ),
        item(
            "Fabrikam Logistics",
            "subscription",
            "Owner",
            "/subscriptions/1e50bfd8-66ee-42ea-82f6-2f74fb0bae5d",
            "aobo",
        ),
        item(
            "Fabrikam Logistics",
            "autopilot",
            "Autopilot Profile Manager",
            "/autopilot/profiles",
            "autopilot",
        ),
        item(
            "Margie's Travel",
            "autopilot",
            "Autopilot Profile Manager",
            "/autopilot/profiles",
            "autopilot",
        ),
        // Legacy policy: the two Northwind devices and Litware's, not the
        // customer's Store for Business and Intune devices.
        item(
            "Margie's Travel",
            "autopilot",
            "Autopilot Device Manager",
            "/autopilot/devices/5CG2147QXR",
            "autopilot",
        ),
        item(
            "Margie's Travel",
            "autopilot",
            "Autopilot Device Manager",
            "/autopilot/devices/5CG2147QXT",
            "autopilot",
        ),
        item(
            "Margie's Travel",
            "autopilot",
            "Autopilot Device Manager",
            "/autopilot/devices/PF3K8ZD1",
            "autopilot",
        ),
    ]
    .into_iter()
    .collect();
    assert_eq!(items(&o), expected);
    assert_eq!(o.summary.tenants, 5);
    assert_eq!(o.summary.customer_tenants, 5);
    assert_eq!(o.summary.directory_roles, 4);
    assert_eq!(o.summary.subscriptions, 2);
    assert_eq!(o.summary.items, expected.len());
    assert_eq!(
        path_names(&o, "Contoso Dental Group", ga, "/"),
        ["Anna Kowalski", "AdminAgents", "⇒ Global Administrator"]
    );
    // Tenants come sorted by name.
    let names: Vec<&str> = o.tenants.iter().map(|t| t.name.as_str()).collect();
    let mut sorted = names.clone();
    sorted.sort_unstable();
    assert_eq!(names, sorted);
}

/// Validates that the shortest path is taken through a membership cycle
/// (Azure Operators ⇄ Azure On-Call) and that a group's own explicit grant
/// is reached in one hop.
#[test]
fn devi_goes_through_the_cycle_once() {
    let a = demo();
    let o = query(&a, "devi.raman@northwindit.onmicrosoft.com");
    assert_eq!(
        path_names(&o, "Margie's Travel", "Global Administrator", "/"),
        [
            "Devi Raman",
            "Azure On-Call",
            "Azure Operators",
            "AdminAgents",
            "⇒ Global Administrator"
        ]
    );
    let rg = "/subscriptions/b0ad68d5-aa0d-4585-9a60-9a16a895f3df/resourceGroups/rg-erp-prod";
    assert!(items(&o).contains(&item(
        "Wide World Importers",
        "resource_group",
        "Contributor",
        rg,
        "azure_rbac"
    )));
    assert_eq!(
        path_names(&o, "Wide World Importers", "Contributor", rg),
        [
            "Devi Raman",
            "Azure On-Call",
            "Azure Operators",
            "⇒ Contributor"
        ]
    );
}

/// Validates a group target: GDAP Tier1 Support holds exactly the two roles
/// of the Alpine Ski House access assignment, and DAP gives it nothing.
#[test]
fn a_group_by_name_reaches_its_gdap_roles() {
    let a = demo();
    let o = query(&a, "gdap tier1 support");
    assert_eq!(o.target.kind, "group");
    let rel = "27d87874-61b0-472f-883f-a44c08e22532-2261f621-2d59-43b4-b118-d9a9eefb3557";
    let expected: BTreeSet<_> = [
        item(
            "Alpine Ski House",
            "directory_role",
            "Global Reader",
            "/",
            "gdap",
        ),
        item(
            "Alpine Ski House",
            "directory_role",
            "Helpdesk Administrator",
            "/",
            "gdap",
        ),
    ]
    .into_iter()
    .collect();
    assert_eq!(items(&o), expected);
    for r in &o.tenants[0].reach {
        assert_eq!(r.relationship_id.as_deref(), Some(rel));
        assert!(r.implicit);
    }
}

/// Validates that every channel granting the same role is listed: Fay holds
/// Helpdesk Administrator in Alpine Ski House through DAP (HelpdeskAgents)
/// and through GDAP (GDAP Tier1 Support); both paths have two principals,
/// and the tie goes to the grant added first (DAP).
#[test]
fn every_channel_to_the_same_role_is_listed() {
    let a = demo();
    let o = query(&a, "Fay Lindqvist");
    let r = o
        .tenants
        .iter()
        .find(|t| t.name == "Alpine Ski House")
        .and_then(|t| t.reach.iter().find(|r| r.role == "Helpdesk Administrator"))
        .expect("helpdesk in Alpine");
    assert_eq!(r.channels, [Channel::Dap, Channel::Gdap]);
    assert_eq!(r.channel, Channel::Dap);
    assert!(
        r.explanation.contains("HelpdeskAgents"),
        "{}",
        r.explanation
    );
}

/// Validates a tenant target: Litware has no principal in the snapshot, so
/// its placeholder agent groups stand for it, in Margie's Travel only.
#[test]
fn a_tenant_is_the_union_of_its_principals() {
    let a = demo();
    let o = query(&a, "Litware Device Services");
    assert_eq!(o.target.kind, "tenant");
    assert_eq!(o.target.principals, 2, "two placeholder agent groups");
    let tenants: Vec<&str> = o.tenants.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(tenants, ["Margie's Travel"]);
    let roles: BTreeSet<&str> = o.tenants[0]
        .reach
        .iter()
        .filter(|r| r.kind == ItemKind::DirectoryRole)
        .map(|r| r.role.as_str())
        .collect();
    assert_eq!(
        roles,
        ["Global Administrator", "Helpdesk Administrator"].into()
    );
    assert!(o.tenants[0].reach[0]
        .explanation
        .contains("of Litware Device Services (members unknown)"));

    // Northwind by id: everything its principals reach, GDAP included.
    let n = query(&a, NORTHWIND);
    assert_eq!(n.target.kind, "tenant");
    let all = items(&n);
    assert!(all.contains(&item(
        "Alpine Ski House",
        "directory_role",
        "Global Reader",
        "/",
        "gdap"
    )));
    assert!(all.contains(&item(
        "Wide World Importers",
        "resource_group",
        "Contributor",
        "/subscriptions/b0ad68d5-aa0d-4585-9a60-9a16a895f3df/resourceGroups/rg-erp-prod",
        "azure_rbac"
    )));
    // The union holds at least what one of its users holds.
    assert!(items(&query(&a, ANNA)).is_subset(&all));
    // Sales agents hold nothing in customers: no customer-side item starts from Gus.
    let gus = query(&a, "gus.tanaka@northwindit.onmicrosoft.com");
    assert_eq!(gus.summary.items, 0);
    assert!(exposure::render_text(&gus).contains("Reaches nothing"));
}

/// Validates that a disabled user is answered (what a re-enabled or
/// abused account would reach) and flagged as disabled.
#[test]
fn a_disabled_user_is_flagged() {
    let a = demo();
    let o = query(&a, "Ben Okafor");
    assert_eq!(o.target.enabled, Some(false));
    assert_eq!(o.summary.directory_roles, 4);
    assert!(exposure::render_text(&o).contains("disabled in the snapshot"));
}

/// Validates the errors: an unknown name suggests close principals (UPN
/// prefix, look-alike name); an unknown id says so; nothing panics.
#[test]
fn unknown_targets_suggest_candidates() {
    let a = demo();
    let err = |q: &str| match exposure::resolve(&a.snapshot, &a.graph, q) {
        Err(e) => e,
        Ok(t) => panic!("`{q}` resolved to {t:?}"),
    };
    let TargetError::Unknown { candidates, .. } = err("anna") else {
        panic!("expected unknown")
    };
    assert_eq!(candidates[0].name, "Anna Kowalski");
    let TargetError::Unknown { candidates, .. } = err("Ana Kowalsky") else {
        panic!("expected unknown")
    };
    assert!(
        candidates.iter().any(|c| c.name == "Anna Kowalski"),
        "{candidates:?}"
    );
    let msg = err("northwind").to_string();
    assert!(msg.contains("Northwind IT Services"), "{msg}");
    let TargetError::Unknown { candidates, .. } = err("00000000-0000-0000-0000-000000000001")
    else {
        panic!("expected unknown")
    };
    assert!(candidates.is_empty());
    assert!(
        matches!(err("zzzzzzzz"), TargetError::Unknown { candidates, .. } if candidates.is_empty())
    );
}

/// Writes a small canonical snapshot: `tables` are (file name, CSV text).
fn snapshot(dir: &Path, tables: &[(&str, &str)]) {
    std::fs::write(
        dir.join("manifest.json"),
        r#"{"format_version": 1, "captured_at": "2026-11-01T00:00:00Z"}"#,
    )
    .expect("manifest");
    for (name, text) in tables {
        std::fs::write(dir.join(name), text).expect("table");
    }
}

const P: &str = "11111111-1111-1111-1111-111111111111";
const C: &str = "22222222-2222-2222-2222-222222222222";
const SUB: &str = "33333333-3333-3333-3333-333333333333";

fn small() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let tenants = format!(
        "tenant_id,name,kind\n{P},Partner One,partner\n{C},Customer \u{1b}[31mRed,customer\n"
    );
    let principals = format!(
        "tenant_id,principal_id,kind,display_name,upn,enabled,agent_group\n\
         {P},aaaaaaaa-0000-0000-0000-000000000001,group,Ops,,,\n\
         {P},aaaaaaaa-0000-0000-0000-000000000002,group,Ops,,,\n\
         {P},aaaaaaaa-0000-0000-0000-000000000003,user,Olga,olga@partner.example,true,\n\
         {C},cccccccc-0000-0000-0000-000000000001,user,Carl,carl@customer.example,true,\n"
    );
    let memberships = format!(
        "tenant_id,group_id,member_id\n{P},aaaaaaaa-0000-0000-0000-000000000001,aaaaaaaa-0000-0000-0000-000000000003\n"
    );
    let assignments = format!(
        "tenant_id,scope,role,principal_id,principal_tenant_id\n\
         {C},/subscriptions/{SUB},Owner,aaaaaaaa-0000-0000-0000-000000000001,{P}\n\
         {C},/subscriptions/{SUB}/resourceGroups/rg-one,Reader,cccccccc-0000-0000-0000-000000000001,\n\
         {C},/subscriptions/{SUB}/resourceGroups/rg-one/providers/Microsoft.Compute/virtualMachines/vm1,Reader,cccccccc-0000-0000-0000-000000000001,\n"
    );
    let subscriptions = format!("tenant_id,subscription_id,name\n{C},{SUB},Prod\n");
    snapshot(
        dir.path(),
        &[
            ("tenants.csv", &tenants),
            ("principals.csv", &principals),
            ("memberships.csv", &memberships),
            ("role_assignments.csv", &assignments),
            ("subscriptions.csv", &subscriptions),
        ],
    );
    dir
}

/// Validates that a role on a subscription covers the known scopes below
/// it (a resource group, a resource in it), each explained by the grant and
/// the containment steps.
#[test]
fn a_subscription_role_covers_the_scopes_below() {
    let dir = small();
    let a = common::audit_with(dir.path().to_str().expect("utf-8 path"), &[]);
    let o = query(&a, "olga@partner.example");
    let rg = format!("/subscriptions/{SUB}/resourceGroups/rg-one");
    let vm = format!("{rg}/providers/Microsoft.Compute/virtualMachines/vm1");
    let kinds: Vec<(&str, &str)> = o.tenants[0]
        .reach
        .iter()
        .map(|r| (r.kind.as_str(), r.scope.as_str()))
        .collect();
    assert_eq!(
        kinds,
        [
            ("subscription", &*format!("/subscriptions/{SUB}")),
            ("resource_group", &*rg),
            ("azure_resource", &*vm),
        ]
    );
    assert_eq!(o.tenants[0].reach[0].name.as_deref(), Some("Prod"));
    let t = exposure::Target::Principal(
        a.graph
            .principal(
                &a.snapshot,
                &partner_audit::snapshot::Guid::parse("aaaaaaaa-0000-0000-0000-000000000003")
                    .expect("guid"),
            )
            .expect("olga"),
    );
    let e = exposure::exposure(&a.snapshot, &a.graph, t);
    let vm_path = &e.reach.last().expect("vm").path;
    assert!(matches!(
        vm_path.as_slice(),
        [
            Step::Principal(_),
            Step::Principal(_),
            Step::Grant(_),
            Step::Contains(_),
            Step::Contains(_)
        ]
    ));
    assert!(o.tenants[0].reach[2]
        .explanation
        .ends_with(&format!(", covering {rg}, covering {vm}")));
    // Hostile strings: the tenant name's escape sequence never reaches the terminal.
    let text = exposure::render_text(&o);
    assert!(!text.contains('\u{1b}'), "{text}");
    assert!(text.contains("Customer \u{fffd}[31mRed"));
    // ... while the JSON keeps the exact data, escaped.
    let mut json = Vec::new();
    exposure::write_json(&o, &mut json).expect("json");
    let json = String::from_utf8(json).expect("utf-8");
    assert!(json.contains(r"Customer \u001b[31mRed"), "{json}");
}

/// Validates that a name two principals share is refused with both listed.
#[test]
fn an_ambiguous_name_lists_the_candidates() {
    let dir = small();
    let a = common::audit_with(dir.path().to_str().expect("utf-8 path"), &[]);
    match exposure::resolve(&a.snapshot, &a.graph, "ops") {
        Err(TargetError::Ambiguous { candidates, .. }) => {
            let ids: Vec<String> = candidates.iter().map(|c| c.id.to_string()).collect();
            assert_eq!(
                ids,
                [
                    "aaaaaaaa-0000-0000-0000-000000000001",
                    "aaaaaaaa-0000-0000-0000-000000000002"
                ]
            );
        }
        other => panic!("expected ambiguous, got {other:?}"),
    }
    // Either id settles it.
    assert!(matches!(
        exposure::resolve(
            &a.snapshot,
            &a.graph,
            "AAAAAAAA-0000-0000-0000-000000000002"
        ),
        Ok(Target::Principal(_))
    ));
}

/// Validates the command line: text by default, JSON on request with the
/// same bytes at any thread count, and exit status 2 with a clear message
/// for an unknown target.
#[test]
fn command_line() {
    let (code, out, err) = common::run(&["exposure", ANNA, "fixtures/demo", "-q"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("Exposure of Anna Kowalski"), "{out}");
    let json = |threads: &str| {
        let o = std::process::Command::new(env!("CARGO_BIN_EXE_partner-audit"))
            .args([
                "exposure",
                NORTHWIND,
                "fixtures/demo",
                "--format",
                "json",
                "-q",
            ])
            .current_dir(common::root())
            .env("RAYON_NUM_THREADS", threads)
            .output()
            .expect("run");
        assert!(o.status.success());
        o.stdout
    };
    let one = json("1");
    assert_eq!(one, json("4"), "output depends on the thread count");
    let v: serde_json::Value = serde_json::from_slice(&one).expect("valid JSON");
    assert_eq!(v["format_version"], 1);
    assert_eq!(v["target"]["kind"], "tenant");
    let (code, _, err) = common::run(&["exposure", "no such person", "fixtures/demo", "-q"]);
    assert_eq!(code, 2);
    assert!(err.contains("unknown target `no such person`"), "{err}");
}
