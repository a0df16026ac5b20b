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
    // Alpine's own role listing shows Global Reader for the group (the
    // customer-side view of the GDAP grant, role_assignments.json:134): the
    // shortest path takes that assignment, and GDAP stays among the channels.
    let expected: BTreeSet<_> = [
        item(
            "Alpine Ski House",
            "directory_role",
            "Global Reader",
            "/",
            "directory_role",
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
        let channels: Vec<&str> = r.channels.iter().map(|c| c.as_str()).collect();
        assert!(channels.contains(&"gdap"), "{channels:?}");
        if r.role == "Helpdesk Administrator" {
            assert_eq!(r.relationship_id.as_deref(), Some(rel));
            assert!(r.implicit);
        } else {
            assert_eq!(channels, ["gdap", "directory_role"]);
            assert!(!r.implicit, "the customer's listing shows it");
        }
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
    // Global Reader in Alpine: the GDAP grant and the customer's listing of
    // it; Helpdesk Administrator: DAP and GDAP, both still active.
    let alpine = n
        .tenants
        .iter()
        .find(|t| t.name == "Alpine Ski House")
        .expect("Alpine");
    let channels_of = |role: &str| -> Vec<&str> {
        let r = alpine.reach.iter().find(|r| r.role == role).expect(role);
        r.channels.iter().map(|c| c.as_str()).collect()
    };
    assert_eq!(channels_of("Global Reader"), ["gdap", "directory_role"]);
    assert_eq!(channels_of("Helpdesk Administrator"), ["dap", "gdap"]);
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

const ALPINE_SUB: &str = "/subscriptions/0d0cfa51-f79f-4ffb-a989-5d284d984e61";
const TAILSPIN_SUB: &str = "/subscriptions/7a9e3c1d-2b4f-4e6a-8c0d-1f3e5a7b9c2d";
const ERP_RG: &str =
    "/subscriptions/b0ad68d5-aa0d-4585-9a60-9a16a895f3df/resourceGroups/rg-erp-prod";

/// The items of `o` that come through `channels`.
fn items_through(
    o: &ExposureOut,
    channels: &[&str],
) -> BTreeSet<(String, &'static str, String, String, &'static str)> {
    items(o)
        .into_iter()
        .filter(|i| channels.contains(&i.4))
        .collect()
}

/// Validates the Lighthouse principals against
/// lighthouse_delegations.csv and lighthouse_authorizations.csv: the offer
/// "Northwind Managed Azure" (definition 2f7c…) is delegated on Tailspin's
/// web shop subscription and on Alpine's lift operations subscription.
/// Azure Operators is authorized Contributor in Tailspin's assignment and
/// Reader in Alpine's; Azure On-Call holds standing User Access
/// Administrator and eligible Contributor in Alpine's. The two groups are
/// members of each other (the demo's harmless cycle), so each reaches the
/// other's grants too, one hop longer.
#[test]
fn lighthouse_principals_reach_the_delegated_scopes() {
    let a = demo();
    let ops = query(&a, "Azure Operators");
    let lh = ["lighthouse", "lighthouse_eligible"];
    assert_eq!(
        path_names(&ops, "Alpine Ski House", "Reader", ALPINE_SUB),
        ["Azure Operators", "⇒ Reader"]
    );
    assert_eq!(
        path_names(
            &ops,
            "Alpine Ski House",
            "User Access Administrator",
            ALPINE_SUB
        ),
        [
            "Azure Operators",
            "Azure On-Call",
            "⇒ User Access Administrator"
        ]
    );
    let tailspin = ops
        .tenants
        .iter()
        .find(|t| t.name == "Tailspin Toys")
        .expect("Tailspin");
    assert_eq!(tailspin.reach[0].name.as_deref(), Some("Tailspin Web Shop"));
    assert!(tailspin.reach[0].implicit);
    assert!(
        tailspin.reach[0]
            .explanation
            .ends_with("(Azure Lighthouse)"),
        "{}",
        tailspin.reach[0].explanation
    );

    let on_call = query(&a, "Azure On-Call");
    assert_eq!(items_through(&on_call, &lh), items_through(&ops, &lh));
    assert_eq!(
        items_through(&on_call, &lh),
        [
            item(
                "Alpine Ski House",
                "subscription",
                "Contributor",
                ALPINE_SUB,
                "lighthouse_eligible"
            ),
            item(
                "Alpine Ski House",
                "subscription",
                "Reader",
                ALPINE_SUB,
                "lighthouse"
            ),
            item(
                "Alpine Ski House",
                "subscription",
                "User Access Administrator",
                ALPINE_SUB,
                "lighthouse"
            ),
            item(
                "Tailspin Toys",
                "subscription",
                "Contributor",
                TAILSPIN_SUB,
                "lighthouse"
            ),
        ]
        .into()
    );
    assert_eq!(
        path_names(&on_call, "Alpine Ski House", "Reader", ALPINE_SUB),
        ["Azure On-Call", "Azure Operators", "⇒ Reader"]
    );
    assert_eq!(
        path_names(&on_call, "Alpine Ski House", "Contributor", ALPINE_SUB),
        ["Azure On-Call", "⇒ Contributor"]
    );
    let text = exposure::render_text(&on_call);
    assert!(
        text.contains("Contributor on subscription Alpine Lift Operations (/subscriptions/0d0cfa51-f79f-4ffb-a989-5d284d984e61) [Azure Lighthouse, eligible]"),
        "{text}"
    );
    // The evidence cites both rows behind a Lighthouse grant.
    let v = serde_json::to_value(&on_call).expect("json");
    let evidence = v["tenants"]
        .as_array()
        .expect("tenants")
        .iter()
        .flat_map(|t| t["reach"].as_array().expect("reach"))
        .filter(|r| r["channel"] == "lighthouse_eligible")
        .flat_map(|r| r["path"].as_array().expect("path"))
        .find_map(|s| s["evidence"].as_str())
        .expect("grant step");
    assert!(
        evidence.contains("lighthouse_authorizations.csv:5"),
        "{evidence}"
    );

    // Cloud Optimisers is no tenants row: its tenant id still answers, by
    // the name its delegation gives it, with the unresolved principal its
    // authorization names (Contributor on Wide World's ERP resource group).
    let co = query(&a, "4d3c2b1a-0f9e-4d8c-b7a6-5e4d3c2b1a0f");
    assert_eq!(co.target.kind, "tenant");
    assert_eq!(co.target.name, "Cloud Optimisers Ltd");
    assert_eq!(
        items(&co),
        [item(
            "Wide World Importers",
            "resource_group",
            "Contributor",
            ERP_RG,
            "lighthouse"
        )]
        .into()
    );
}

/// Validates the partner apps against service_principals.csv and
/// app_permissions.csv: "Northwind RMM Connector" (app id 4a3b…, owned by
/// Northwind) sits in Fabrikam with two application permissions of
/// Microsoft Graph; "Northwind Automation" (app id 5b4c…) sits in Contoso
/// with one application and one delegated permission.
#[test]
fn partner_apps_reach_their_permissions() {
    let a = demo();
    // By app id: the one service principal of that app.
    let rmm = query(&a, "4a3b2c1d-0e9f-4a8b-9c7d-6e5f4a3b2c1d");
    assert_eq!(rmm.target.kind, "service_principal");
    assert_eq!(rmm.target.id, "9d8c7b6a-5f4e-4d3c-8b2a-1f0e9d8c7b6a");
    assert_eq!(
        items(&rmm),
        [
            item(
                "Fabrikam Logistics",
                "app_permission",
                "Directory.ReadWrite.All",
                "/",
                "app_permission"
            ),
            item(
                "Fabrikam Logistics",
                "app_permission",
                "Reports.Read.All",
                "/",
                "app_permission"
            ),
        ]
        .into()
    );
    assert_eq!(rmm.summary.app_permissions, 2);
    assert_eq!(
        rmm.tenants[0].reach[0].api.as_deref(),
        Some("Microsoft Graph")
    );
    // The same by object id.
    let by_id = query(&a, "9d8c7b6a-5f4e-4d3c-8b2a-1f0e9d8c7b6a");
    assert_eq!(items(&by_id), items(&rmm));
    // By name the app is not alone: Northwind's own principals table holds a
    // service principal of the same name, and the two are listed.
    match exposure::resolve(&a.snapshot, &a.graph, "northwind rmm connector") {
        Err(TargetError::Ambiguous { candidates, .. }) => {
            let kinds: Vec<&str> = candidates.iter().map(|c| c.kind.as_str()).collect();
            assert_eq!(kinds, ["app", "service_principal"], "{candidates:?}");
            assert_eq!(
                candidates[0].id.to_string(),
                "4a3b2c1d-0e9f-4a8b-9c7d-6e5f4a3b2c1d"
            );
        }
        other => panic!("expected ambiguous, got {other:?}"),
    }

    // By display name; application and delegated permissions told apart.
    let auto = query(&a, "Northwind Automation");
    assert_eq!(
        items(&auto),
        [
            item(
                "Contoso Dental Group",
                "app_permission",
                "RoleManagement.ReadWrite.Directory",
                "/",
                "app_permission"
            ),
            item(
                "Contoso Dental Group",
                "app_permission",
                "User.Read",
                "/",
                "delegated_permission"
            ),
        ]
        .into()
    );
    let text = exposure::render_text(&auto);
    assert!(
        text.contains("app permission User.Read of Microsoft Graph [app permission, delegated]"),
        "{text}"
    );
    assert!(
        text.contains("Reaches 1 tenant (1 customer): 2 app permissions"),
        "{text}"
    );
    // A typo suggests the app.
    match exposure::resolve(&a.snapshot, &a.graph, "Northwind Automaton") {
        Err(TargetError::Unknown { candidates, .. }) => {
            assert_eq!(candidates[0].kind, "app");
            assert_eq!(candidates[0].name, "Northwind Automation");
        }
        other => panic!("expected unknown, got {other:?}"),
    }
}

/// Validates that a partner tenant includes its Lighthouse principals and
/// the apps it owns, though the apps sit in customer tenants: every
/// Lighthouse and app item of Azure Operators, Azure On-Call and the two
/// apps is in Northwind's, and nothing of Cloud Optimisers is.
#[test]
fn a_partner_tenant_includes_its_lighthouse_principals_and_apps() {
    let a = demo();
    let n = query(&a, NORTHWIND);
    let all = items(&n);
    for q in [
        "Azure Operators",
        "Azure On-Call",
        "Northwind Automation",
        "4a3b2c1d-0e9f-4a8b-9c7d-6e5f4a3b2c1d",
    ] {
        let part = query(&a, q);
        assert!(!part.tenants.is_empty(), "{q} reaches something");
        assert!(items(&part).is_subset(&all), "{q}");
    }
    assert_eq!(n.summary.app_permissions, 4);
    assert!(!all.contains(&item(
        "Wide World Importers",
        "resource_group",
        "Contributor",
        ERP_RG,
        "lighthouse"
    )));
    let apps = items_through(&n, &["app_permission", "delegated_permission"]);
    let tenants: BTreeSet<&str> = apps.iter().map(|i| i.0.as_str()).collect();
    assert_eq!(
        tenants,
        ["Contoso Dental Group", "Fabrikam Logistics"].into()
    );
}

/// Validates an app with a service principal in two customers: its app id
/// or its name is the whole app (both service principals), and the owning
/// tenant's exposure includes both.
#[test]
fn a_multi_tenant_app_is_every_service_principal_of_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = "44444444-4444-4444-4444-444444444444";
    let app = "55555555-5555-5555-5555-555555555555";
    let tenants = format!(
        "tenant_id,name,kind\n{P},Partner One,partner\n{C},Customer One,customer\n{d},Customer Two,customer\n"
    );
    let sps = format!(
        "tenant_id,principal_id,app_id,display_name,owner_tenant_id,enabled\n\
         {C},eeeeeeee-0000-0000-0000-000000000001,{app},Sync <b>Tool</b>,{P},true\n\
         {d},eeeeeeee-0000-0000-0000-000000000002,{app},Sync <b>Tool</b>,{P},true\n"
    );
    let perms = format!(
        "tenant_id,client_id,permission,kind,resource_id,resource_name,consent_type,principal_id,granted_at\n\
         {C},eeeeeeee-0000-0000-0000-000000000001,User.Read.All,application,,Microsoft Graph,,,\n\
         {d},eeeeeeee-0000-0000-0000-000000000002,Mail.Read,delegated,,Microsoft Graph,all_principals,,\n"
    );
    snapshot(
        dir.path(),
        &[
            ("tenants.csv", &tenants),
            ("service_principals.csv", &sps),
            ("app_permissions.csv", &perms),
        ],
    );
    let a = common::audit_with(dir.path().to_str().expect("utf-8 path"), &[]);
    let expected = BTreeSet::from([
        item(
            "Customer One",
            "app_permission",
            "User.Read.All",
            "/",
            "app_permission",
        ),
        item(
            "Customer Two",
            "app_permission",
            "Mail.Read",
            "/",
            "delegated_permission",
        ),
    ]);
    for q in [app, "sync <B>tool</b>"] {
        let t = exposure::resolve(&a.snapshot, &a.graph, q).unwrap_or_else(|e| panic!("{e}"));
        assert!(matches!(t, Target::App(_)), "{q}: {t:?}");
        let o = query(&a, q);
        assert_eq!(o.target.kind, "app");
        assert_eq!(o.target.principals, 2);
        assert_eq!(o.target.tenant_name.as_deref(), Some("Partner One"));
        assert_eq!(items(&o), expected, "{q}");
        let text = exposure::render_text(&o);
        assert!(
            text.starts_with(&format!(
                "Exposure of Sync <b>Tool</b> (app id {app}, 2 service principals, owned by Partner One)"
            )),
            "{text}"
        );
    }
    // One service principal by its object id is that one alone.
    let one = query(&a, "eeeeeeee-0000-0000-0000-000000000002");
    assert_eq!(items(&one).len(), 1);
    // The owner reaches both, though it holds no principal of its own.
    let owner = query(&a, "Partner One");
    assert_eq!(owner.target.principals, 2);
    assert_eq!(items(&owner), expected);
}

/// Validates `--format html`: one self-contained page (the report's
/// Content-Security-Policy, no other script), a table per tenant reached,
/// and hostile snapshot strings shown as text, never as markup; `--out`
/// writes the same bytes as standard output.
#[test]
fn html_page_escapes_hostile_names() {
    let dir = tempfile::tempdir().expect("tempdir");
    let evil_tenant = "Evil <img src=x onerror=alert(1)> \"Co\"";
    let evil_group = "</td><script>alert(1)</script>";
    let tenants = format!(
        "tenant_id,name,kind\n{P},Partner One,partner\n{C},\"{}\",customer\n",
        evil_tenant.replace('"', "\"\"")
    );
    let principals = format!(
        "tenant_id,principal_id,kind,display_name,upn,enabled,agent_group\n\
         {P},aaaaaaaa-0000-0000-0000-000000000001,group,{evil_group},,,\n"
    );
    let assignments = format!(
        "tenant_id,scope,role,principal_id,principal_tenant_id\n\
         {C},/,Global Administrator,aaaaaaaa-0000-0000-0000-000000000001,{P}\n\
         {C},/subscriptions/{SUB},Owner,aaaaaaaa-0000-0000-0000-000000000001,{P}\n"
    );
    snapshot(
        dir.path(),
        &[
            ("tenants.csv", &tenants),
            ("principals.csv", &principals),
            ("role_assignments.csv", &assignments),
        ],
    );
    let snap = dir.path().to_str().expect("utf-8 path");
    let file = dir.path().join("exposure.html");
    let (code, _, err) = common::run(&[
        "exposure",
        "Partner One",
        snap,
        "--format",
        "html",
        "--out",
        file.to_str().expect("utf-8 path"),
        "-q",
    ]);
    assert_eq!(code, 0, "{err}");
    let html = std::fs::read_to_string(&file).expect("page written");
    let (code, stdout, err) =
        common::run(&["exposure", "Partner One", snap, "--format", "html", "-q"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(stdout, html, "--out and standard output differ");

    assert!(html.starts_with("<!DOCTYPE html>"), "{html}");
    assert!(html.contains("Content-Security-Policy"));
    assert_eq!(
        html.matches("<script").count(),
        1,
        "only the report's own script"
    );
    assert!(!html.contains("<img"), "{html}");
    assert!(!html.contains("</td><script>"), "{html}");
    assert!(
        html.contains("&lt;img src=x onerror=alert(1)&gt;"),
        "{html}"
    );
    assert!(
        html.contains("&lt;&#x2f;td&gt;&lt;script&gt;alert(1)&lt;&#x2f;script&gt;"),
        "{html}"
    );
    // One table for the one tenant reached, a row per item, with its path.
    assert_eq!(html.matches("<table").count(), 1);
    assert_eq!(html.matches("<tr><td>").count(), 2);
    assert!(html
        .contains("Reaches <b>1</b> tenant (1 customer): 1 directory role, 1 subscription role."));
    assert!(
        html.contains(
            "&#x2f;subscriptions&#x2f;33333333-3333-3333-3333-333333333333 (Azure RBAC)</td>"
        ),
        "{html}"
    );
}

/// Validates the HTML overview's blast-radius section: one row per partner
/// tenant, widest first, with the counts `exposure` gives for that tenant.
#[test]
fn the_html_overview_shows_each_partners_blast_radius() {
    let a = demo();
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = tmp.path().join("out");
    let (code, _, err) = common::run(&[
        "audit",
        "fixtures/demo",
        "--out",
        out.to_str().expect("utf-8 path"),
        "--format",
        "html",
        "--fail-on",
        "never",
    ]);
    assert_eq!(code, 0, "{err}");
    let html = std::fs::read_to_string(out.join("report.html")).expect("report.html");
    let start = html.find("<section id=\"blast-radius\">").expect("section");
    let section = &html[start..start + html[start..].find("</section>").expect("end")];
    let rows: Vec<&str> = section.split("<tr><td>").skip(1).collect();
    let partners = ["Northwind IT Services", "Litware Device Services"];
    assert_eq!(rows.len(), partners.len(), "{section}");
    for (row, name) in rows.iter().zip(partners) {
        assert!(row.starts_with(name), "widest first: {row}");
        let id = a
            .snapshot
            .tenants
            .iter()
            .find(|t| &*t.name == name)
            .expect("tenant")
            .tenant_id;
        let sm = query(&a, &id.to_string()).summary;
        let cells: Vec<usize> = row
            .split("<td class=\"num")
            .skip(1)
            .map(|c| {
                let v = &c[c.find('>').expect(">") + 1..];
                v[..v.find('<').expect("<")].parse().expect("count")
            })
            .collect();
        assert_eq!(
            cells,
            [
                sm.customer_tenants,
                sm.directory_roles,
                sm.subscriptions,
                sm.resource_groups,
                sm.app_permissions,
                sm.items
            ],
            "{name}"
        );
    }
}
