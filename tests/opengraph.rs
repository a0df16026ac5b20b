//! `--format opengraph`: the access graph as BloodHound OpenGraph, checked
//! against the documented shape (docs/opengraph.schema.json) and against
//! the demo snapshot's known nodes and edges.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use partner_audit::app::Audit;
use partner_audit::report::opengraph;
use serde_json::Value;

const NORTHWIND: &str = "8650add5-6877-40ac-a353-5f54fa779ed1";
const LITWARE: &str = "e374cdaa-2ed5-4928-acae-1672ab88c79c";
const CONTOSO: &str = "a24e022d-57ab-4419-aeae-2f3bc58a985d";
const ALPINE: &str = "2adb2c22-fcb5-455f-8122-79d32e879999";
const FABRIKAM: &str = "88effb8d-f0a2-4825-be43-f4148978d143";
const MARGIE: &str = "10b364c8-f5a0-488a-a066-368b6e8511db";
const ADMIN_AGENTS: &str = "3cdf1871-8608-43af-94db-d736ac1f80f5";
const ANNA: &str = "11d40b87-269d-4144-a5c6-bcb2753c3f5e";
const TIER1: &str = "bece1b81-f91d-4beb-ae4f-5565c0d9785e";
const GDAP_ALPINE: &str =
    "27d87874-61b0-472f-883f-a44c08e22532-2261f621-2d59-43b4-b118-d9a9eefb3557";

fn write(a: &Audit) -> String {
    let r = common::report_of(a);
    let mut buf = Vec::new();
    opengraph::write(&r, &mut buf).expect("write opengraph.json");
    String::from_utf8(buf).expect("utf-8")
}

/// Validates `doc` against docs/opengraph.schema.json.
fn validate(doc: &Value) -> Result<(), String> {
    let schema: Value = serde_json::from_str(include_str!("../docs/opengraph.schema.json"))
        .expect("schema is JSON");
    let url = "https://partner-audit.invalid/schemas/opengraph.schema.json";
    let mut schemas = boon::Schemas::new();
    let mut compiler = boon::Compiler::new();
    compiler.add_resource(url, schema).expect("add schema");
    let idx = compiler.compile(url, &mut schemas).expect("compile schema");
    schemas.validate(doc, idx).map_err(|e| format!("{e:#}"))
}

struct Graph {
    nodes: BTreeMap<String, Value>,
    edges: Vec<Value>,
}

fn parse(text: &str) -> (Value, Graph) {
    let doc: Value = serde_json::from_str(text).expect("opengraph.json is JSON");
    let mut nodes = BTreeMap::new();
    for n in doc["graph"]["nodes"].as_array().expect("nodes") {
        let id = n["id"].as_str().expect("id").to_string();
        assert!(
            nodes.insert(id.clone(), n.clone()).is_none(),
            "node id {id} twice"
        );
    }
    let edges = doc["graph"]["edges"].as_array().expect("edges").clone();
    (doc, Graph { nodes, edges })
}

impl Graph {
    fn kinds(&self, id: &str) -> Vec<&str> {
        self.nodes[id]["kinds"]
            .as_array()
            .expect("kinds")
            .iter()
            .filter_map(Value::as_str)
            .collect()
    }

    fn edges(&self, kind: &str, start: &str, end: &str) -> Vec<&Value> {
        self.edges
            .iter()
            .filter(|e| {
                e["kind"] == kind && e["start"]["value"] == start && e["end"]["value"] == end
            })
            .collect()
    }

    fn edge(&self, kind: &str, start: &str, end: &str) -> &Value {
        let found = self.edges(kind, start, end);
        assert_eq!(found.len(), 1, "{kind} {start} → {end}: {found:?}");
        found[0]
    }
}

fn strings(v: &Value) -> Vec<&str> {
    v.as_array()
        .expect("array")
        .iter()
        .filter_map(Value::as_str)
        .collect()
}

/// Validates the demo's file against the documented shape, and that every
/// edge joins two nodes of the file, once per (start, end, kind) as
/// BloodHound keeps it.
#[test]
fn demo_matches_the_documented_shape() {
    let text = write(&common::audit_with("fixtures/demo", &[]));
    let (doc, g) = parse(&text);
    validate(&doc).unwrap_or_else(|e| panic!("opengraph.json does not match the schema:\n{e}"));
    assert_eq!(doc["metadata"]["source_kind"], opengraph::SOURCE_KIND);
    let mut seen = BTreeSet::new();
    for e in &g.edges {
        let (s, t) = (
            e["start"]["value"].as_str().expect("start"),
            e["end"]["value"].as_str().expect("end"),
        );
        assert!(g.nodes.contains_key(s), "edge from unknown node {s}");
        assert!(g.nodes.contains_key(t), "edge to unknown node {t}");
        assert!(
            seen.insert((e["kind"].to_string(), s, t)),
            "edge {e} twice: BloodHound would merge them"
        );
    }
    // The schema check can fail: a wrong kind or a null property is refused.
    let mut bad = doc.clone();
    bad["graph"]["nodes"][0]["kinds"][0] = "User".into();
    assert!(validate(&bad).is_err());
    let mut bad = doc;
    bad["graph"]["edges"][0]["properties"]["x"] = Value::Null;
    assert!(validate(&bad).is_err());
}

/// Validates specific nodes and edges of the demo, worked out from
/// fixtures/demo/NOTES.md.
#[test]
fn demo_nodes_and_edges() {
    let (_, g) = parse(&write(&common::audit_with("fixtures/demo", &[])));
    // Tenants by id, partner and customer kinds.
    assert_eq!(g.kinds(NORTHWIND), ["PA_PartnerTenant", "PA_Tenant"]);
    assert_eq!(g.kinds(CONTOSO), ["PA_CustomerTenant", "PA_Tenant"]);
    assert_eq!(
        g.nodes[NORTHWIND]["properties"]["name"],
        "Northwind IT Services"
    );
    // Principals by object id.
    assert_eq!(g.kinds(ANNA), ["PA_User", "PA_Principal"]);
    assert_eq!(
        g.nodes[ANNA]["properties"]["upn"],
        "anna.kowalski@northwindit.onmicrosoft.com"
    );
    assert_eq!(
        g.nodes[ADMIN_AGENTS]["properties"]["agent_group"],
        "admin_agents"
    );
    assert_eq!(
        g.nodes["836704fe-4130-4a65-a96a-a0b5077043f9"]["properties"]["enabled"], false,
        "Ben is disabled"
    );
    g.edge("PA_Contains", NORTHWIND, ANNA);
    g.edge("PA_MemberOf", ANNA, ADMIN_AGENTS);
    // The harmless cycle: both directions, each once.
    g.edge(
        "PA_MemberOf",
        "af9d5190-6c56-43dc-ac62-ffe8f03e9925",
        "e0570009-bdf2-474c-8a27-ca78fbf85d13",
    );
    g.edge(
        "PA_MemberOf",
        "e0570009-bdf2-474c-8a27-ca78fbf85d13",
        "af9d5190-6c56-43dc-ac62-ffe8f03e9925",
    );

    // DAP: AdminAgents → Global Administrator in Contoso, implicit.
    let dap = g.edge("PA_DAPRole", ADMIN_AGENTS, CONTOSO);
    assert_eq!(
        strings(&dap["properties"]["roles"]),
        ["Global Administrator"]
    );
    assert_eq!(dap["properties"]["implicit"], true);
    let rel = strings(&dap["properties"]["relationships"])[0].to_string();
    assert_eq!(g.kinds(&rel), ["PA_DAPRelationship", "PA_Relationship"]);
    assert_eq!(g.nodes[&rel]["properties"]["state"], "active");
    g.edge("PA_HasRelationship", NORTHWIND, &rel);
    g.edge("PA_WithCustomer", &rel, CONTOSO);
    // Fabrikam's DAP was removed: no DAP edge there.
    assert!(g.edges("PA_DAPRole", ADMIN_AGENTS, FABRIKAM).is_empty());

    // AOBO: AdminAgents Owner on the subscription Northwind provisioned in Contoso.
    let sub = format!("{CONTOSO}/subscriptions/0cfc30ab-48cb-40ac-a85f-e5e2ea974f07");
    assert_eq!(g.kinds(&sub), ["PA_Subscription", "PA_Resource"]);
    g.edge("PA_Contains", CONTOSO, &sub);
    let aobo = g.edge("PA_AOBORole", ADMIN_AGENTS, &sub);
    assert_eq!(strings(&aobo["properties"]["roles"]), ["Owner"]);
    assert_eq!(aobo["properties"]["implicit"], false);

    // GDAP: one edge with both roles of the access assignment.
    let gdap_rel = format!("gdap:{GDAP_ALPINE}");
    let gdap = g.edge("PA_GDAPRole", TIER1, ALPINE);
    assert_eq!(
        strings(&gdap["properties"]["roles"]),
        ["Global Reader", "Helpdesk Administrator"]
    );
    // The same group also holds roles through Northwind's Microsoft-led
    // transition relationship with Alpine (relationships.csv, GDAP005).
    let mlt_rel = "gdap:5e1f0a7c-3b2d-4e6f-9a81-c2d3e4f5a6b7-2261f621-2d59-43b4-b118-d9a9eefb3557";
    assert_eq!(
        strings(&gdap["properties"]["relationships"]),
        [gdap_rel.as_str(), mlt_rel]
    );
    let aa = g.edge("PA_AccessAssignment", TIER1, &gdap_rel);
    assert_eq!(
        strings(&aa["properties"]["roles"]),
        ["Global Reader", "Helpdesk Administrator"]
    );
    assert_eq!(
        strings(&g.nodes[&gdap_rel]["properties"]["roles"]),
        ["Global Reader", "Helpdesk Administrator"]
    );
    assert_eq!(g.nodes[&gdap_rel]["properties"]["auto_extend"], "P180D");

    // Azure RBAC below a subscription: Azure Operators on the ERP resource group.
    let rg = "1ccaa256-d985-44c4-9ffe-e8a78898c476/subscriptions/b0ad68d5-aa0d-4585-9a60-9a16a895f3df/resourceGroups/rg-erp-prod";
    assert_eq!(g.kinds(rg), ["PA_ResourceGroup", "PA_Resource"]);
    g.edge(
        "PA_Contains",
        "1ccaa256-d985-44c4-9ffe-e8a78898c476/subscriptions/b0ad68d5-aa0d-4585-9a60-9a16a895f3df",
        rg,
    );
    g.edge("PA_AzureRole", "af9d5190-6c56-43dc-ac62-ffe8f03e9925", rg);

    // Litware: placeholder agent groups holding DAP in Margie's Travel.
    let placeholder = format!("{LITWARE}/admin_agents");
    assert_eq!(g.kinds(&placeholder), ["PA_Group", "PA_Principal"]);
    assert_eq!(g.nodes[&placeholder]["properties"]["placeholder"], true);
    g.edge("PA_DAPRole", &placeholder, MARGIE);

    // The foreign principal that resolves nowhere, in its stated home tenant.
    let ghost = "e7cc9d3c-9a2f-4459-9855-bd4777328ff9";
    assert_eq!(g.kinds(ghost), ["PA_UnresolvedPrincipal", "PA_Principal"]);
    let home = "c8bf84c2-3613-4f96-b310-8ecac6093e83";
    assert_eq!(g.nodes[home]["properties"]["in_snapshot"], false);
    g.edge("PA_Contains", home, ghost);

    // Autopilot (legacy policy): three of Margie's five devices.
    let devices = g
        .edges
        .iter()
        .filter(|e| {
            e["kind"] == "PA_AutopilotManager"
                && e["start"]["value"] == ADMIN_AGENTS
                && e["end"]["value"]
                    .as_str()
                    .is_some_and(|v| v.starts_with(&format!("{MARGIE}/autopilot/devices/")))
        })
        .count();
    assert_eq!(devices, 3);
}

/// Validates that the kinds docs/opengraph.md documents are exactly those
/// the schema allows, so the two cannot drift apart.
#[test]
fn documented_kinds_match_the_schema() {
    let schema: Value = serde_json::from_str(include_str!("../docs/opengraph.schema.json"))
        .expect("schema is JSON");
    let doc = include_str!("../docs/opengraph.md");
    let mut in_schema = BTreeSet::new();
    for key in ["node_kind", "edge_kind"] {
        for k in schema["$defs"][key]["enum"].as_array().expect("enum") {
            in_schema.insert(k.as_str().expect("kind").to_string());
        }
    }
    let in_doc: BTreeSet<String> = doc
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| w.starts_with("PA_") && w.len() > 3)
        .map(str::to_string)
        .collect();
    assert_eq!(in_doc, in_schema);
}

/// Validates that hostile strings stay data: JSON-escaped, read back exactly.
#[test]
fn hostile_names_are_escaped() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = "11111111-1111-1111-1111-111111111111";
    let name = "Evil\" },{\"id\":\"x\u{1b}[2J\u{202e}";
    std::fs::write(
        dir.path().join("manifest.json"),
        r#"{"format_version": 1, "captured_at": "2026-11-01T00:00:00Z"}"#,
    )
    .expect("manifest");
    std::fs::write(
        dir.path().join("tenants.json"),
        serde_json::json!([{"tenant_id": p, "name": name, "kind": "partner"}]).to_string(),
    )
    .expect("tenants");
    let text = write(&common::audit_with(dir.path().to_str().expect("path"), &[]));
    let (doc, g) = parse(&text);
    validate(&doc).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(g.nodes.len(), 1);
    assert_eq!(g.nodes[p]["properties"]["name"], name);
    assert!(!text.contains('\u{1b}'));
}

/// Validates that `--format opengraph` writes opengraph.json through the
/// usual publication, byte for byte the same at one and at four threads.
#[test]
fn cli_writes_the_same_bytes_at_any_thread_count() {
    let run = |threads: &str| {
        let out = tempfile::tempdir().expect("tempdir");
        let (code, _, err) = common::run(&[
            "audit",
            "fixtures/demo",
            "--out",
            out.path().to_str().expect("path"),
            "--format",
            "opengraph,json",
            "--threads",
            threads,
            "--fail-on",
            "never",
            "-q",
        ]);
        assert_eq!(code, 0, "{err}");
        let complete = std::fs::read_to_string(out.path().join(".partner-audit-complete"))
            .expect("complete marker");
        assert!(
            complete.lines().any(|l| l == "opengraph.json"),
            "{complete}"
        );
        std::fs::read(out.path().join("opengraph.json")).expect("opengraph.json")
    };
    let one = run("1");
    assert_eq!(one, run("4"));
    let lib = write(&common::audit_with("fixtures/demo", &[]));
    assert_eq!(String::from_utf8(one).expect("utf-8"), lib);
}

/// Validates the Lighthouse and partner-app nodes and edges of the demo,
/// worked out from lighthouse_delegations.csv, lighthouse_authorizations.csv,
/// service_principals.csv and app_permissions.csv.
#[test]
fn demo_lighthouse_and_app_edges() {
    let (_, g) = parse(&write(&common::audit_with("fixtures/demo", &[])));
    const OPERATORS: &str = "af9d5190-6c56-43dc-ac62-ffe8f03e9925";
    const ON_CALL: &str = "e0570009-bdf2-474c-8a27-ca78fbf85d13";
    let alpine_sub = format!("{ALPINE}/subscriptions/0d0cfa51-f79f-4ffb-a989-5d284d984e61");

    // Standing: Azure Operators Reader on Alpine's subscription, from the
    // offer's delegation row and its authorization row.
    let reader = g.edge("PA_LighthouseRole", OPERATORS, &alpine_sub);
    assert_eq!(strings(&reader["properties"]["roles"]), ["Reader"]);
    assert_eq!(reader["properties"]["channel"], "lighthouse");
    assert_eq!(
        strings(&reader["properties"]["offers"]),
        ["Northwind Managed Azure"]
    );
    assert_eq!(
        strings(&reader["properties"]["sources"]),
        [
            "lighthouse_delegations.csv:3",
            "lighthouse_authorizations.csv:3"
        ]
    );
    // Azure On-Call: standing User Access Administrator and eligible
    // Contributor on the same subscription, two edges of two kinds.
    let standing = g.edge("PA_LighthouseRole", ON_CALL, &alpine_sub);
    assert_eq!(
        strings(&standing["properties"]["roles"]),
        ["User Access Administrator"]
    );
    let eligible = g.edge("PA_LighthouseEligibleRole", ON_CALL, &alpine_sub);
    assert_eq!(strings(&eligible["properties"]["roles"]), ["Contributor"]);
    assert_eq!(eligible["properties"]["channel"], "lighthouse_eligible");
    // Cloud Optimisers: an unresolved principal in a tenant known only by
    // its delegation's name, Contributor on Wide World's ERP resource group.
    let optimisers = "4d3c2b1a-0f9e-4d8c-b7a6-5e4d3c2b1a0f";
    let ghost = "d1e2f3a4-b5c6-4d7e-8f9a-0b1c2d3e4f5a";
    assert_eq!(
        g.nodes[optimisers]["properties"]["name"],
        "Cloud Optimisers Ltd"
    );
    g.edge("PA_Contains", optimisers, ghost);
    g.edge(
        "PA_LighthouseRole",
        ghost,
        "1ccaa256-d985-44c4-9ffe-e8a78898c476/subscriptions/b0ad68d5-aa0d-4585-9a60-9a16a895f3df/resourceGroups/rg-erp-prod",
    );

    // Partner apps: nodes of their own, contained in the customer, owned by Northwind.
    let rmm = "9d8c7b6a-5f4e-4d3c-8b2a-1f0e9d8c7b6a";
    let automation = "8c7b6a5f-4e3d-4c2b-9a1f-0e9d8c7b6a5f";
    assert_eq!(g.kinds(rmm), ["PA_App", "PA_Principal"]);
    assert_eq!(
        g.nodes[rmm]["properties"]["app_id"],
        "4a3b2c1d-0e9f-4a8b-9c7d-6e5f4a3b2c1d"
    );
    assert_eq!(g.nodes[rmm]["properties"]["owner_tenant_id"], NORTHWIND);
    g.edge("PA_Contains", FABRIKAM, rmm);
    g.edge("PA_OwnsApp", NORTHWIND, rmm);
    g.edge("PA_OwnsApp", NORTHWIND, automation);
    // Both application permissions of the RMM connector are one edge to Fabrikam.
    let app = g.edge("PA_AppPermission", rmm, FABRIKAM);
    assert_eq!(
        strings(&app["properties"]["roles"]),
        ["Directory.ReadWrite.All", "Reports.Read.All"]
    );
    assert_eq!(strings(&app["properties"]["apis"]), ["Microsoft Graph"]);
    assert_eq!(
        strings(&app["properties"]["sources"]),
        ["app_permissions.csv:2", "app_permissions.csv:3"]
    );
    // Automation: application and delegated permissions are two kinds.
    let app = g.edge("PA_AppPermission", automation, CONTOSO);
    assert_eq!(
        strings(&app["properties"]["roles"]),
        ["RoleManagement.ReadWrite.Directory"]
    );
    let delegated = g.edge("PA_DelegatedPermission", automation, CONTOSO);
    assert_eq!(strings(&delegated["properties"]["roles"]), ["User.Read"]);
    assert_eq!(delegated["properties"]["channel"], "delegated_permission");
    // No partner app is owned by its own tenant here: no other PA_OwnsApp.
    let owns = g.edges.iter().filter(|e| e["kind"] == "PA_OwnsApp").count();
    assert_eq!(owns, 2);
}
