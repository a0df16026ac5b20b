//! The access graph: transitive and cycle-safe nesting, effective access with
//! shortest paths, scope coverage, unresolved principals.

mod common;

use partner_audit::graph::AccessGraph;
use partner_audit::snapshot;
use serde_json::json;

const P: &str = "11111111-0000-0000-0000-000000000001";
const C: &str = "22222222-0000-0000-0000-000000000002";

fn id(n: u32) -> String {
    format!("aaaaaaaa-0000-0000-0000-{n:012}")
}

fn write(doc: &serde_json::Value) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("snapshot.json");
    std::fs::write(&path, serde_json::to_vec_pretty(doc).expect("json")).expect("write");
    let p = path.to_string_lossy().into_owned();
    (dir, p)
}

fn base(
    principals: Vec<serde_json::Value>,
    memberships: Vec<serde_json::Value>,
    assignments: Vec<serde_json::Value>,
) -> serde_json::Value {
    json!({
        "manifest": {"format_version": 1, "captured_at": "2026-11-01T00:00:00Z"},
        "tenants": [
            {"tenant_id": P, "name": "Partner", "kind": "partner"},
            {"tenant_id": C, "name": "Customer", "kind": "customer"}
        ],
        "relationships": [
            {"partner_tenant_id": P, "customer_tenant_id": C, "kind": "dap", "state": "active"}
        ],
        "principals": principals,
        "memberships": memberships,
        "role_assignments": assignments,
        "subscriptions": [
            {"tenant_id": C, "subscription_id": "33333333-0000-0000-0000-000000000003", "name": "Prod", "provisioned_by_tenant_id": P}
        ]
    })
}

/// The effective-access table as `role | resource | path` lines.
fn access_rows(s: &snapshot::Snapshot) -> Vec<String> {
    let g = AccessGraph::build(s);
    g.effective_access()
        .iter()
        .map(|a| {
            format!(
                "{} | {} | {}",
                s.roles.name(a.grant.role),
                g.label(s, a.resource),
                g.render_path(s, a.member, a.grant)
            )
        })
        .collect()
}

/// Validates nesting of any depth with a cycle back to the top: the user at
/// the bottom of a 60-group chain holds Global Administrator, with the whole
/// chain as its path; the disabled user beside it holds nothing.
#[test]
fn deep_nesting_with_a_cycle() {
    let depth = 60;
    let mut principals = vec![
        json!({"tenant_id": P, "principal_id": id(0), "kind": "group", "display_name": "AdminAgents"}),
        json!({"tenant_id": P, "principal_id": id(9000), "kind": "user", "display_name": "Deep User", "enabled": true}),
        json!({"tenant_id": P, "principal_id": id(9001), "kind": "user", "display_name": "Gone User", "enabled": false}),
    ];
    let mut memberships = Vec::new();
    for n in 1..=depth {
        principals.push(json!({"tenant_id": P, "principal_id": id(n), "kind": "group", "display_name": format!("Level {n}")}));
        memberships.push(json!({"tenant_id": P, "group_id": id(n - 1), "member_id": id(n)}));
    }
    memberships.push(json!({"tenant_id": P, "group_id": id(depth), "member_id": id(9000)}));
    memberships.push(json!({"tenant_id": P, "group_id": id(depth), "member_id": id(9001)}));
    memberships.push(json!({"tenant_id": P, "group_id": id(depth), "member_id": id(0)}));
    let (_dir, path) = write(&base(principals, memberships, vec![]));
    let a = common::audit(&path);
    let dap001: Vec<_> = a.findings.iter().filter(|f| &*f.rule == "DAP001").collect();
    assert_eq!(dap001.len(), 1);
    assert_eq!(
        dap001[0]
            .principals
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>(),
        vec![id(9000)]
    );
    let access = a.graph.effective_access();
    let deep = access
        .iter()
        .find(|x| x.member.id.map(|g| g.to_string()) == Some(id(9000)))
        .expect("deep user has access");
    assert_eq!(
        deep.member.path_len(),
        depth as usize + 2,
        "user, 60 levels, AdminAgents"
    );
    assert!(access
        .iter()
        .all(|x| x.member.id.map(|g| g.to_string()) != Some(id(9001))));
}

/// Validates that one (principal, resource, role) appears once, with the
/// shortest of its paths, and that a subscription role covers known scopes below it.
#[test]
fn effective_access_is_deduplicated_and_covers_lower_scopes() {
    let sub = "/subscriptions/33333333-0000-0000-0000-000000000003";
    let principals = vec![
        json!({"tenant_id": P, "principal_id": id(0), "kind": "group", "display_name": "AdminAgents"}),
        json!({"tenant_id": P, "principal_id": id(1), "kind": "group", "display_name": "Ops"}),
        json!({"tenant_id": P, "principal_id": id(2), "kind": "user", "display_name": "Ana"}),
    ];
    let memberships = vec![
        json!({"tenant_id": P, "group_id": id(0), "member_id": id(1)}),
        json!({"tenant_id": P, "group_id": id(1), "member_id": id(2)}),
        json!({"tenant_id": P, "group_id": id(0), "member_id": id(2)}),
        json!({"tenant_id": P, "group_id": id(7), "member_id": id(2)}),
    ];
    let assignments = vec![
        json!({"tenant_id": C, "scope": sub, "role": "Owner", "principal_id": id(0), "principal_tenant_id": P}),
        json!({"tenant_id": C, "scope": format!("{sub}/resourceGroups/rg1"), "role": "Reader", "principal_id": id(1), "principal_tenant_id": P}),
        json!({"tenant_id": C, "scope": sub, "role": "Reader", "principal_id": id(8), "principal_tenant_id": P}),
    ];
    let (_dir, path) = write(&base(principals, memberships, assignments));
    let loaded = snapshot::load(std::path::Path::new(&path));
    assert!(!loaded.has_errors());
    let rows = access_rows(&loaded.snapshot);
    insta::assert_snapshot!("effective_access_dedup", rows.join("\n"));
    // Ana is in AdminAgents directly and through Ops: one Owner row, the direct path.
    let owner_on_sub: Vec<&String> = rows
        .iter()
        .filter(|r| r.starts_with("Owner | /subscriptions/33333333-0000-0000-0000-000000000003 in"))
        .collect();
    assert_eq!(owner_on_sub.len(), 1, "{rows:#?}");
    assert!(
        owner_on_sub[0].contains("Ana → AdminAgents (Partner)"),
        "{rows:#?}"
    );
    // Owner on the subscription covers the resource group known from another assignment.
    assert!(
        rows.iter().any(|r| r.starts_with(
            "Owner | /subscriptions/33333333-0000-0000-0000-000000000003/resourceGroups/rg1"
        )),
        "{rows:#?}"
    );
    // The unresolved principal holds what it was granted; the unknown group is counted.
    assert!(
        rows.iter()
            .any(|r| r.contains("unresolved principal aaaaaaaa-0000-0000-0000-000000000008")),
        "{rows:#?}"
    );
    let g = AccessGraph::build(&loaded.snapshot);
    assert_eq!(g.unresolved.get("group"), Some(&1));
    assert_eq!(g.unresolved.get("principal"), Some(&1));
}

/// Validates the demo's effective-access table (who can do what where, and why).
#[test]
fn demo_effective_access_snapshot() {
    let loaded = snapshot::load(std::path::Path::new("fixtures/demo"));
    let rows = access_rows(&loaded.snapshot);
    assert!(
        rows.iter().all(|r| !r.contains("Ben Okafor")),
        "disabled agent holds nothing"
    );
    insta::assert_snapshot!("demo_effective_access", rows.join("\n"));
}

/// Validates that every edge kind has its own stable name and that the demo
/// graph holds an edge of each kind (every access channel is in the demo).
#[test]
fn demo_holds_every_edge_kind() {
    use partner_audit::graph::EdgeKind;
    let names: std::collections::BTreeSet<&str> = EdgeKind::ALL.iter().map(|k| k.name()).collect();
    assert_eq!(names.len(), EdgeKind::ALL.len(), "names are unique");
    let loaded = snapshot::load(std::path::Path::new("fixtures/demo"));
    let s = &loaded.snapshot;
    let g = AccessGraph::build(s);
    let seen: std::collections::BTreeSet<&str> =
        g.graph.edge_weights().map(|e| e.kind(s).name()).collect();
    for kind in EdgeKind::ALL {
        assert!(
            seen.contains(kind.name()),
            "no {} edge: {seen:?}",
            kind.name()
        );
    }
}
