//! `opengraph.json`: the access graph as BloodHound OpenGraph nodes and
//! edges, so that a BloodHound user can run path queries on partner access
//! (docs/opengraph.md lists the kinds and properties; docs/opengraph.schema.json
//! is the shape the tests check).
//!
//! Tenants, principals (users, groups, service principals, unresolved
//! ones and placeholder agent groups), partner relationships and resources
//! become nodes; containment, membership, relationships, GDAP access
//! assignments and every grant become edges. Every kind is prefixed `PA_`
//! so that none clashes with BloodHound's own AD and Azure kinds. Node ids
//! are object ids, tenant ids, relationship ids and scopes, never graph
//! indexes, so the same snapshot gives the same ids and the same bytes.
//! Grants of several roles to the same holder on the same resource through
//! the same channel are one edge listing the roles (BloodHound keeps one
//! edge per start, end and kind).

use std::io::{self, Write};

use petgraph::graph::{EdgeIndex, NodeIndex};
use petgraph::visit::EdgeRef;
use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};
use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;

use super::Report;
use crate::exposure::{node_key, Channel, ItemKind};
use crate::graph::{AccessGraph, Edge, Node, Via};
use crate::snapshot::{Guid, RelKind, Snapshot, TenantKind};

/// `metadata.source_kind`: BloodHound adds it to every node of the file.
pub const SOURCE_KIND: &str = "PartnerAudit";

/// A property value: BloodHound accepts strings, numbers, booleans and
/// arrays of one primitive type (no null, no object).
#[derive(Serialize)]
#[serde(untagged)]
enum Val {
    S(String),
    B(bool),
    A(Vec<String>),
}

/// Properties in the order they were added.
#[derive(Default)]
struct Props(Vec<(&'static str, Val)>);

impl Props {
    fn s(&mut self, k: &'static str, v: impl ToString) -> &mut Self {
        self.0.push((k, Val::S(v.to_string())));
        self
    }
    fn opt(&mut self, k: &'static str, v: Option<impl ToString>) -> &mut Self {
        if let Some(v) = v {
            self.s(k, v);
        }
        self
    }
    fn b(&mut self, k: &'static str, v: bool) -> &mut Self {
        self.0.push((k, Val::B(v)));
        self
    }
    fn a(&mut self, k: &'static str, v: Vec<String>) -> &mut Self {
        self.0.push((k, Val::A(v)));
        self
    }
}

impl Serialize for Props {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

#[derive(Serialize)]
struct NodeOut<'a> {
    id: String,
    kinds: &'a [&'static str],
    properties: Props,
}

#[derive(Serialize)]
struct End<'a> {
    match_by: &'static str,
    value: &'a str,
}

#[derive(Serialize)]
struct EdgeOut<'a> {
    kind: &'static str,
    start: End<'a>,
    end: End<'a>,
    properties: &'a Props,
}

/// What one grant edge lists: every role, justifying relationship and
/// snapshot row of the grants it stands for, each once, in graph order.
#[derive(Default)]
struct GrantEdge {
    roles: Vec<String>,
    relationships: Vec<String>,
    /// Lighthouse: the offers (registration definitions) granting it.
    offers: Vec<String>,
    /// App permissions: the APIs they are permissions of.
    apis: Vec<String>,
    sources: Vec<String>,
}

/// The properties of one grant edge, from the graph edges with its key
/// (in graph order).
fn grant_edge(s: &Snapshot, g: &AccessGraph, rel_ids: &[String], edges: &[EdgeIndex]) -> GrantEdge {
    let mut entry = GrantEdge::default();
    for &e in edges {
        let Edge::Grant { role, via } = &g.graph[e] else {
            continue;
        };
        let name = s.roles.name(*role).to_string();
        if !entry.roles.contains(&name) {
            entry.roles.push(name);
        }
        match via {
            Via::Explicit(_) => {}
            Via::Dap { relationship, .. }
            | Via::Gdap { relationship, .. }
            | Via::Autopilot { relationship } => push_once(
                &mut entry.relationships,
                rel_ids[*relationship as usize].clone(),
            ),
            Via::Lighthouse { delegation, .. } => {
                let d = &s.lighthouse_delegations[*delegation as usize];
                let offer = d
                    .offer_name
                    .as_deref()
                    .map_or_else(|| d.definition_id.to_string(), str::to_string);
                push_once(&mut entry.offers, offer);
            }
            Via::App { permission } => {
                if let Some(api) = &s.app_permissions[*permission as usize].resource_name {
                    push_once(&mut entry.apis, api.to_string());
                }
            }
        }
        let mut cite = String::new();
        match via {
            Via::Explicit(i) => s.cite_into(&mut cite, s.role_assignments[*i as usize].loc),
            Via::Dap { relationship, .. } | Via::Autopilot { relationship } => {
                s.cite_into(&mut cite, s.relationships[*relationship as usize].loc);
            }
            Via::Gdap {
                access_assignment, ..
            } => s.cite_into(
                &mut cite,
                s.gdap_access_assignments[*access_assignment as usize].loc,
            ),
            Via::Lighthouse {
                delegation,
                authorization,
            } => {
                s.cite_into(
                    &mut cite,
                    s.lighthouse_delegations[*delegation as usize].loc,
                );
                push_once(&mut entry.sources, std::mem::take(&mut cite));
                s.cite_into(
                    &mut cite,
                    s.lighthouse_authorizations[*authorization as usize].loc,
                );
            }
            Via::App { permission } => {
                s.cite_into(&mut cite, s.app_permissions[*permission as usize].loc);
            }
        }
        push_once(&mut entry.sources, cite);
    }
    entry
}

fn push_once(list: &mut Vec<String>, v: String) {
    if !list.contains(&v) {
        list.push(v);
    }
}

/// The edge kind of a grant through `c`. Exhaustive on purpose: a new
/// channel must be given its kind here (and in docs/opengraph.md).
pub fn grant_kind(c: Channel) -> &'static str {
    match c {
        Channel::Dap => "PA_DAPRole",
        Channel::Gdap => "PA_GDAPRole",
        Channel::Aobo => "PA_AOBORole",
        Channel::AzureRbac => "PA_AzureRole",
        Channel::DirectoryRole => "PA_DirectoryRole",
        Channel::Autopilot => "PA_AutopilotManager",
        Channel::Lighthouse => "PA_LighthouseRole",
        Channel::LighthouseEligible => "PA_LighthouseEligibleRole",
        Channel::AppPermission => "PA_AppPermission",
        Channel::DelegatedPermission => "PA_DelegatedPermission",
    }
}

/// The node kinds of a resource.
fn resource_kinds(k: ItemKind) -> &'static [&'static str] {
    match k {
        ItemKind::Subscription => &["PA_Subscription", "PA_Resource"],
        ItemKind::ResourceGroup => &["PA_ResourceGroup", "PA_Resource"],
        ItemKind::AzureResource => &["PA_AzureResource", "PA_Resource"],
        ItemKind::Autopilot => &["PA_Autopilot", "PA_Resource"],
        ItemKind::DirectoryRole | ItemKind::AppPermission | ItemKind::Other => &["PA_Resource"],
    }
}

/// Writes nodes and edges, one a line, between the document's opening and closing.
struct Out<'w> {
    w: &'w mut dyn Write,
    first: bool,
}

impl Out<'_> {
    fn item(&mut self, v: &impl Serialize) -> io::Result<()> {
        self.w.write_all(if self.first {
            b"\n      "
        } else {
            b",\n      "
        })?;
        self.first = false;
        serde_json::to_writer(&mut *self.w, v).map_err(io::Error::other)
    }
}

/// The id of a relationship row, unique in the file: the GDAP relationship
/// id, else `KIND:PARTNER:CUSTOMER`; a repeated one gets `#2`, `#3`, ...
fn relationship_ids(s: &Snapshot) -> Vec<String> {
    let mut seen: HashMap<String, u32> = HashMap::default();
    s.relationships
        .iter()
        .map(|r| {
            let base = match (&r.relationship_id, r.kind) {
                (Some(id), RelKind::Gdap) => format!("gdap:{id}"),
                _ => format!(
                    "{}:{}:{}",
                    r.kind.as_str(),
                    r.partner_tenant_id,
                    r.customer_tenant_id
                ),
            };
            let n = seen.entry(base.clone()).or_insert(0);
            *n += 1;
            if *n == 1 {
                base
            } else {
                format!("{base}#{n}")
            }
        })
        .collect()
}

/// The node id a grant or containment edge ends at: the tenant for its
/// directory, else the resource node.
fn end_id(s: &Snapshot, g: &AccessGraph, n: NodeIndex) -> String {
    match &g.graph[n] {
        Node::Resource { tenant, scope } if scope.is_directory() => tenant.to_string(),
        _ => node_key(s, g, n),
    }
}

/// Writes `opengraph.json` for the report's snapshot and graph.
pub fn write(r: &Report<'_>, w: &mut dyn Write) -> io::Result<()> {
    let (s, g) = (r.snapshot, r.graph);
    write!(
        w,
        "{{\n  \"metadata\": {{\"source_kind\": \"{SOURCE_KIND}\"}},\n  \"graph\": {{\n    \"nodes\": ["
    )?;
    let mut out = Out { w, first: true };

    // Tenants: the table's, then every other tenant a node or row names.
    let mut tenants: HashSet<Guid> = HashSet::default();
    for t in &s.tenants {
        if !tenants.insert(t.tenant_id) {
            continue;
        }
        let mut p = Props::default();
        p.s("name", &t.name)
            .s("tenant_id", t.tenant_id)
            .s("tenant_kind", t.kind.as_str())
            .opt("domain", t.domain.as_deref());
        let kinds: &[&str] = match t.kind {
            TenantKind::Partner => &["PA_PartnerTenant", "PA_Tenant"],
            TenantKind::Customer => &["PA_CustomerTenant", "PA_Tenant"],
        };
        out.item(&NodeOut {
            id: t.tenant_id.to_string(),
            kinds,
            properties: p,
        })?;
    }
    let mut others: Vec<Guid> = Vec::new();
    let mut other = |t: Guid| {
        if tenants.insert(t) {
            others.push(t);
        }
    };
    for n in g.graph.node_indices() {
        match &g.graph[n] {
            Node::Principal(i) => other(s.principals[*i as usize].tenant_id),
            Node::Unresolved { .. } => {
                if let Some(t) = g.unresolved_home(n) {
                    other(t);
                }
            }
            Node::Placeholder { partner, .. } => other(*partner),
            Node::Resource { tenant, .. } => other(*tenant),
            Node::App(i) => {
                let p = &s.service_principals[*i as usize];
                other(p.tenant_id);
                if let Some(owner) = p.owner_tenant_id {
                    other(owner);
                }
            }
        }
    }
    for rel in &s.relationships {
        other(rel.partner_tenant_id);
        other(rel.customer_tenant_id);
    }
    for t in others {
        // A managing tenant is often known only by the name its Lighthouse
        // delegations give it.
        let name = s
            .lighthouse_delegations
            .iter()
            .filter(|d| d.managing_tenant_id == t)
            .find_map(|d| d.managing_tenant_name.as_deref())
            .map_or_else(|| format!("tenant {t}"), str::to_string);
        let mut p = Props::default();
        p.s("name", name).s("tenant_id", t).b("in_snapshot", false);
        out.item(&NodeOut {
            id: t.to_string(),
            kinds: &["PA_Tenant"],
            properties: p,
        })?;
    }

    // The `service_principals` row of each service principal, for its app id and owner.
    let apps: HashMap<Guid, usize> = s
        .service_principals
        .iter()
        .enumerate()
        .map(|(i, p)| (p.principal_id, i))
        .rev()
        .collect();
    let app_props = |p: &mut Props, i: usize| {
        let sp = &s.service_principals[i];
        p.s("app_id", sp.app_id)
            .opt("owner_tenant_id", sp.owner_tenant_id);
    };

    // Principals and resources, in graph order.
    for n in g.graph.node_indices() {
        let (kinds, p): (&[&str], Props) = match &g.graph[n] {
            Node::Principal(i) => {
                let pr = &s.principals[*i as usize];
                let mut p = Props::default();
                p.s("name", &pr.display_name)
                    .s("object_id", pr.principal_id)
                    .s("tenant_id", pr.tenant_id)
                    .opt("upn", pr.upn.as_deref());
                if let Some(e) = pr.enabled {
                    p.b("enabled", e);
                }
                p.opt("agent_group", pr.agent_group.map(|a| a.as_str()));
                let app = apps.get(&pr.principal_id).copied();
                if let Some(i) = app {
                    app_props(&mut p, i);
                }
                let kinds: &[&str] = match (pr.kind, app) {
                    (crate::snapshot::PrincipalKind::User, _) => &["PA_User", "PA_Principal"],
                    (crate::snapshot::PrincipalKind::Group, _) => &["PA_Group", "PA_Principal"],
                    (crate::snapshot::PrincipalKind::ServicePrincipal, None) => {
                        &["PA_ServicePrincipal", "PA_Principal"]
                    }
                    (crate::snapshot::PrincipalKind::ServicePrincipal, Some(_)) => {
                        &["PA_App", "PA_Principal"]
                    }
                };
                (kinds, p)
            }
            Node::App(i) => {
                let sp = &s.service_principals[*i as usize];
                let mut p = Props::default();
                p.s("name", &sp.display_name)
                    .s("object_id", sp.principal_id)
                    .s("tenant_id", sp.tenant_id);
                if let Some(e) = sp.enabled {
                    p.b("enabled", e);
                }
                app_props(&mut p, *i as usize);
                (&["PA_App", "PA_Principal"], p)
            }
            Node::Unresolved { id } => {
                let mut p = Props::default();
                p.s("name", format!("unresolved principal {id}"))
                    .s("object_id", id)
                    .opt("tenant_id", g.unresolved_home(n));
                (&["PA_UnresolvedPrincipal", "PA_Principal"], p)
            }
            Node::Placeholder { partner, group } => {
                let mut p = Props::default();
                p.s("name", g.label(s, n))
                    .s("tenant_id", partner)
                    .s("agent_group", group.as_str())
                    .b("placeholder", true);
                (&["PA_Group", "PA_Principal"], p)
            }
            Node::Resource { scope, .. } if scope.is_directory() => continue,
            Node::Resource { tenant, scope } => {
                let text = g.scope(*scope).as_str();
                let kind = ItemKind::of_scope(text);
                let mut p = Props::default();
                p.s("name", text)
                    .s("scope", text)
                    .s("tenant_id", tenant)
                    .s("resource_kind", kind.as_str());
                (resource_kinds(kind), p)
            }
        };
        out.item(&NodeOut {
            id: node_key(s, g, n),
            kinds,
            properties: p,
        })?;
    }

    // Relationships.
    let rel_ids = relationship_ids(s);
    for (rel, id) in s.relationships.iter().zip(&rel_ids) {
        let mut p = Props::default();
        p.s("name", rel.name())
            .s("relationship_kind", rel.kind.as_str())
            .s("state", rel.state.as_str())
            .s("partner_tenant_id", rel.partner_tenant_id)
            .s("customer_tenant_id", rel.customer_tenant_id)
            .opt("relationship_id", rel.relationship_id.as_deref())
            .opt("started_at", rel.started_at)
            .opt("ended_at", rel.ended_at)
            .opt(
                "auto_extend",
                rel.auto_extend.as_ref().map(|d| d.text.clone()),
            )
            .opt("last_activity_at", rel.last_activity_at);
        if !rel.roles.is_empty() {
            p.a(
                "roles",
                rel.roles
                    .iter()
                    .map(|&x| s.roles.name(x).to_string())
                    .collect(),
            );
        }
        let kinds: &[&str] = match rel.kind {
            RelKind::Dap => &["PA_DAPRelationship", "PA_Relationship"],
            RelKind::Gdap => &["PA_GDAPRelationship", "PA_Relationship"],
            RelKind::Reseller => &["PA_ResellerRelationship", "PA_Relationship"],
        };
        out.item(&NodeOut {
            id: id.clone(),
            kinds,
            properties: p,
        })?;
    }

    out.w.write_all(b"\n    ],\n    \"edges\": [")?;
    out.first = true;
    let edge = |out: &mut Out<'_>, kind: &'static str, a: &str, b: &str, p: &Props| {
        out.item(&EdgeOut {
            kind,
            start: End {
                match_by: "id",
                value: a,
            },
            end: End {
                match_by: "id",
                value: b,
            },
            properties: p,
        })
    };
    let none = Props::default();

    // Containment: tenant → principal, tenant → top scope, scope → scope within it.
    for n in g.graph.node_indices() {
        let home = match &g.graph[n] {
            Node::Principal(i) => Some(s.principals[*i as usize].tenant_id),
            Node::Unresolved { .. } => g.unresolved_home(n),
            Node::Placeholder { partner, .. } => Some(*partner),
            Node::App(i) => Some(s.service_principals[*i as usize].tenant_id),
            Node::Resource { scope, .. } if scope.is_directory() => None,
            Node::Resource { tenant, .. } => {
                let parent = g
                    .graph
                    .edges_directed(n, petgraph::Direction::Outgoing)
                    .find(|e| matches!(e.weight(), Edge::Within))
                    .map(|e| e.target());
                match parent {
                    Some(up) => {
                        edge(
                            &mut out,
                            "PA_Contains",
                            &end_id(s, g, up),
                            &node_key(s, g, n),
                            &none,
                        )?;
                        None
                    }
                    None => Some(*tenant),
                }
            }
        };
        if let Some(t) = home {
            edge(
                &mut out,
                "PA_Contains",
                &t.to_string(),
                &node_key(s, g, n),
                &none,
            )?;
        }
    }

    // Apps: the tenant that registered the application → each of its
    // service principals in another tenant.
    for n in g.graph.node_indices() {
        let row = match &g.graph[n] {
            Node::App(i) => Some(*i as usize),
            Node::Principal(i) => apps.get(&s.principals[*i as usize].principal_id).copied(),
            Node::Unresolved { .. } | Node::Placeholder { .. } | Node::Resource { .. } => None,
        };
        let Some(sp) = row.map(|i| &s.service_principals[i]) else {
            continue;
        };
        if let Some(owner) = sp.owner_tenant_id.filter(|&o| o != sp.tenant_id) {
            edge(
                &mut out,
                "PA_OwnsApp",
                &owner.to_string(),
                &node_key(s, g, n),
                &none,
            )?;
        }
    }

    // Memberships (each once) and grants (one edge per holder, resource and
    // channel). A grant edge's properties gather those of every graph edge
    // with its key; only the edges are kept here, and the properties are
    // made when the edge is written, one at a time.
    let mut members: HashSet<(NodeIndex, NodeIndex)> = HashSet::default();
    let mut grants: Vec<(NodeIndex, NodeIndex, Channel)> = Vec::new();
    let mut grant_edges: HashMap<(NodeIndex, NodeIndex, Channel), Vec<EdgeIndex>> =
        HashMap::default();
    for e in g.graph.edge_references() {
        match e.weight() {
            Edge::MemberOf => {
                let key = (e.source(), e.target());
                if members.insert(key) {
                    edge(
                        &mut out,
                        "PA_MemberOf",
                        &node_key(s, g, e.source()),
                        &node_key(s, g, e.target()),
                        &none,
                    )?;
                }
            }
            Edge::Grant { via, .. } => {
                let c = Channel::of(s, g, e.source(), e.target(), *via);
                let key = (e.source(), e.target(), c);
                grant_edges
                    .entry(key)
                    .or_insert_with(|| {
                        grants.push(key);
                        Vec::new()
                    })
                    .push(e.id());
            }
            Edge::Within => {}
        }
    }
    for key in &grants {
        let (holder, resource, c) = *key;
        let Some(edges) = grant_edges.remove(key) else {
            continue;
        };
        let GrantEdge {
            roles,
            relationships: rels,
            offers,
            apis,
            sources,
        } = grant_edge(s, g, &rel_ids, &edges);
        let mut p = Props::default();
        p.a("roles", roles)
            .s("channel", c.as_str())
            .b("implicit", c.is_implicit());
        if let Node::Resource { scope, .. } = &g.graph[resource] {
            p.s("scope", g.scope(*scope).as_str());
        }
        if !rels.is_empty() {
            p.a("relationships", rels);
        }
        if !offers.is_empty() {
            p.a("offers", offers);
        }
        if !apis.is_empty() {
            p.a("apis", apis);
        }
        p.a("sources", sources);
        edge(
            &mut out,
            grant_kind(c),
            &node_key(s, g, holder),
            &end_id(s, g, resource),
            &p,
        )?;
    }

    // Relationships: partner → relationship → customer, and the GDAP access
    // assignments: group → relationship.
    for (rel, id) in s.relationships.iter().zip(&rel_ids) {
        edge(
            &mut out,
            "PA_HasRelationship",
            &rel.partner_tenant_id.to_string(),
            id,
            &none,
        )?;
        edge(
            &mut out,
            "PA_WithCustomer",
            id,
            &rel.customer_tenant_id.to_string(),
            &none,
        )?;
    }
    let gdap: HashMap<&str, &str> = s
        .relationships
        .iter()
        .zip(&rel_ids)
        .filter(|(r, _)| r.kind == RelKind::Gdap)
        .filter_map(|(r, id)| Some((r.relationship_id.as_deref()?, id.as_str())))
        .collect();
    for aa in &s.gdap_access_assignments {
        let (Some(rel), Some(group)) =
            (gdap.get(&*aa.relationship_id), g.principal(s, &aa.group_id))
        else {
            continue;
        };
        let mut p = Props::default();
        p.a(
            "roles",
            aa.roles
                .iter()
                .map(|&x| s.roles.name(x).to_string())
                .collect(),
        )
        .opt("state", aa.state.as_deref());
        edge(
            &mut out,
            "PA_AccessAssignment",
            &node_key(s, g, group),
            rel,
            &p,
        )?;
    }
    out.w.write_all(b"\n    ]\n  }\n}\n")
}
