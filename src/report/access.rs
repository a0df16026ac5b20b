//! The who-can-access-what table (SPEC §4 effective access), described for
//! people: one row per principal, resource and role with its home tenant,
//! whether the customer's own listing shows it (explicit) or not
//! (implicit), the relationship that justifies it and the explaining path.
//!
//! Partner agent groups whose members the snapshot does not hold appear as
//! one row each (kind `placeholder`): the access exists, who uses it is unknown.

use petgraph::graph::NodeIndex;
use rustc_hash::{FxHashMap, FxHashSet};

use super::Report;
use crate::graph::members::{Member, MemberKind};
use crate::graph::{Grant, Hop, Node, Via};
use crate::snapshot::roles::RoleId;
use crate::snapshot::Guid;

/// One row of effective access.
#[derive(Clone, Debug)]
pub struct AccessLine {
    pub principal_id: Option<Guid>,
    /// `user`, `unresolved` or `placeholder`.
    pub principal_kind: &'static str,
    pub display_name: String,
    pub upn: Option<String>,
    pub home_tenant_id: Option<Guid>,
    pub home_tenant_name: String,
    /// The tenant that owns the resource.
    pub tenant_id: Guid,
    pub tenant_name: String,
    /// `/` for the directory, else the Azure scope.
    pub resource: String,
    pub directory: bool,
    pub role: String,
    pub role_id: RoleId,
    /// The principal's home tenant differs from the resource's tenant.
    pub foreign: bool,
    /// `explicit` (a role assignment the customer's listing shows) or `implicit`.
    pub implicit: bool,
    /// True when some explicit assignment on this resource gives the principal
    /// this role (what the customer's role listing shows).
    pub listed: bool,
    /// The relationship or assignment that justifies the access.
    pub justification: String,
    /// The explaining path, compact.
    pub path: String,
    /// The groups of the path after the principal (the grant's holder
    /// last), as `path` shows them: a long path's middle is elided.
    pub groups: Vec<Hop>,
    pub member_node: NodeIndex,
}

/// A grant's justification, for people.
pub fn justification(r: &Report<'_>, grant: &Grant) -> String {
    let s = r.snapshot;
    match grant.via {
        Via::Explicit(i) => format!(
            "role assignment {}",
            s.cite(s.role_assignments[i as usize].loc)
        ),
        Via::Dap {
            relationship,
            group,
        } => {
            let rel = &s.relationships[relationship as usize];
            format!(
                "DAP {} → {} ({}, {})",
                r.tenant_name(rel.partner_tenant_id),
                r.tenant_name(rel.customer_tenant_id),
                group.group_name(),
                s.cite(rel.loc)
            )
        }
        Via::Autopilot { relationship } => {
            let rel = &s.relationships[relationship as usize];
            format!(
                "Autopilot through {} {} → {} ({})",
                rel.kind,
                r.tenant_name(rel.partner_tenant_id),
                r.tenant_name(rel.customer_tenant_id),
                s.cite(rel.loc)
            )
        }
        Via::Gdap {
            relationship,
            access_assignment,
        } => {
            let rel = &s.relationships[relationship as usize];
            format!(
                "GDAP {} {} → {} (access assignment {})",
                rel.relationship_id.as_deref().unwrap_or("?"),
                r.tenant_name(rel.partner_tenant_id),
                r.tenant_name(rel.customer_tenant_id),
                s.cite(s.gdap_access_assignments[access_assignment as usize].loc)
            )
        }
        Via::Lighthouse {
            delegation,
            authorization,
        } => {
            let d = &s.lighthouse_delegations[delegation as usize];
            // A managing tenant the tenants table lacks: the name the definition gives.
            let managing = match (
                r.graph.tenant_index.contains_key(&d.managing_tenant_id),
                &d.managing_tenant_name,
            ) {
                (false, Some(name)) => name.to_string(),
                _ => r.tenant_name(d.managing_tenant_id),
            };
            format!(
                "Lighthouse {} {} → {} (authorization {})",
                grant.via.kind(s).name().trim_start_matches("lighthouse_"),
                managing,
                r.tenant_name(d.tenant_id),
                s.cite(s.lighthouse_authorizations[authorization as usize].loc)
            )
        }
        Via::App { permission } => {
            let p = &s.app_permissions[permission as usize];
            format!("{} permission (app permission {})", p.kind, s.cite(p.loc))
        }
    }
}

/// Who a member is: id, kind, display name, upn and home tenant.
pub fn who(
    r: &Report<'_>,
    m: &Member,
) -> (
    Option<Guid>,
    &'static str,
    String,
    Option<String>,
    Option<Guid>,
) {
    match &r.graph.graph[m.node] {
        Node::Principal(i) => {
            let p = &r.snapshot.principals[*i as usize];
            let kind = match m.kind {
                MemberKind::ServicePrincipal => "service_principal",
                MemberKind::Group => "group",
                _ => "user",
            };
            (
                Some(p.principal_id),
                kind,
                p.display_name.to_string(),
                p.upn.as_deref().map(str::to_string),
                Some(p.tenant_id),
            )
        }
        Node::Unresolved { id } => (
            Some(*id),
            "unresolved",
            format!("unresolved principal {id}"),
            None,
            r.graph.unresolved_home(m.node),
        ),
        Node::App(i) => {
            let p = &r.snapshot.service_principals[*i as usize];
            (
                Some(p.principal_id),
                "service_principal",
                p.display_name.to_string(),
                None,
                Some(p.tenant_id),
            )
        }
        Node::Placeholder { partner, group } => (
            None,
            "placeholder",
            format!("{} (members unknown)", group.group_name()),
            None,
            Some(*partner),
        ),
        Node::Resource { .. } => (None, "resource", String::new(), None, None),
    }
}

fn line(r: &Report<'_>, m: &Member, grant: &Grant, resource: NodeIndex) -> Option<AccessLine> {
    let Node::Resource { tenant, scope } = &r.graph.graph[resource] else {
        return None;
    };
    let (principal_id, principal_kind, display_name, upn, home) = who(r, m);
    // The path starts with the member itself.
    let mut groups = r.graph.members_of(grant.holder).shown_path(m);
    if !groups.is_empty() {
        groups.remove(0);
    }
    Some(AccessLine {
        principal_id,
        principal_kind,
        display_name,
        upn,
        home_tenant_id: home,
        home_tenant_name: home.map_or_else(|| "unknown".into(), |h| r.tenant_name(h)),
        tenant_id: *tenant,
        tenant_name: r.tenant_name(*tenant),
        resource: r.graph.scope(*scope).as_str().to_string(),
        directory: scope.is_directory(),
        role: r.snapshot.roles.name(grant.role).to_string(),
        role_id: grant.role,
        foreign: home != Some(*tenant),
        implicit: grant.via.is_implicit(),
        listed: false,
        justification: justification(r, grant),
        path: r.graph.render_path(r.snapshot, m, grant),
        groups,
        member_node: m.node,
    })
}

/// One tenant's rows, before they are made: access.csv lists them tenant
/// by tenant (by name, then id), so a writer can make and write one
/// tenant's at a time instead of holding every row.
pub struct TenantRows {
    pub name: String,
    pub id: Guid,
    /// The grants (indexes, in graph order) that reach a resource of the
    /// tenant: its rows are made from these alone.
    grants: Vec<u32>,
}

/// The effective-access rows of a report (every row is one principal's
/// role on one resource, placeholders included), grouped by the tenant
/// that owns the resource, tenants sorted by name and id. Only the grants
/// are grouped up front; a tenant's rows are made when asked for, so that
/// no more than a batch of tenants' rows is ever held.
pub struct ByTenant<'k> {
    pub tenants: Vec<TenantRows>,
    /// Tenant id → position in `tenants`.
    index: FxHashMap<Guid, usize>,
    /// Whether the rows on a resource (given its tenant and whether it is
    /// a directory, `/`) are wanted.
    keep: Box<dyn Fn(Guid, bool) -> bool + Sync + 'k>,
}

impl<'k> ByTenant<'k> {
    /// Groups the grants that reach the resources `keep` accepts, given the
    /// tenant that owns the resource and whether it is a directory (`/`).
    pub fn new(r: &Report<'_>, keep: impl Fn(Guid, bool) -> bool + Sync + 'k) -> ByTenant<'k> {
        let g = r.graph;
        let mut tenants: Vec<TenantRows> = Vec::new();
        let mut index: FxHashMap<Guid, usize> = FxHashMap::default();
        for (gi, grant) in g.grants.iter().enumerate() {
            let below = g.below.get(&grant.resource).map_or(&[][..], Vec::as_slice);
            for &n in std::iter::once(&grant.resource).chain(below) {
                let Node::Resource { tenant, scope } = &g.graph[n] else {
                    continue;
                };
                if !keep(*tenant, scope.is_directory()) {
                    continue;
                }
                let i = *index.entry(*tenant).or_insert_with(|| {
                    tenants.push(TenantRows {
                        name: r.tenant_name(*tenant),
                        id: *tenant,
                        grants: Vec::new(),
                    });
                    tenants.len() - 1
                });
                let list = &mut tenants[i].grants;
                let gi = u32::try_from(gi).unwrap_or(u32::MAX);
                if list.last() != Some(&gi) {
                    list.push(gi);
                }
            }
        }
        tenants.sort_by(|a, b| (&a.name, a.id).cmp(&(&b.name, b.id)));
        let index = tenants.iter().enumerate().map(|(i, t)| (t.id, i)).collect();
        ByTenant {
            tenants,
            index,
            keep: Box::new(keep),
        }
    }

    /// Whether resource `n` is one of `tenant`'s that the rows are wanted on.
    fn wanted(&self, r: &Report<'_>, tenant: Guid, n: NodeIndex) -> bool {
        matches!(&r.graph.graph[n], Node::Resource { tenant: t, scope }
            if *t == tenant && (self.keep)(*t, scope.is_directory()))
    }

    /// The rows of `tenant` (none when it has none).
    pub fn lines_of(&self, r: &Report<'_>, tenant: Guid) -> Vec<AccessLine> {
        self.index
            .get(&tenant)
            .map_or_else(Vec::new, |&i| self.lines(r, &self.tenants[i]))
    }

    /// One tenant's rows, sorted by resource, role, listed before hidden,
    /// then principal, one per (resource, role, principal): its effective
    /// accesses, then the placeholders of the grants on its resources.
    pub fn lines(&self, r: &Report<'_>, t: &TenantRows) -> Vec<AccessLine> {
        let g = r.graph;
        let grants = || t.grants.iter().map(|&i| &g.grants[i as usize]);
        let wanted = |n: NodeIndex| self.wanted(r, t.id, n);
        let mut out: Vec<AccessLine> = g
            .effective_access_among(grants(), wanted)
            .into_iter()
            .filter_map(|a| line(r, a.member, a.grant, a.resource))
            .collect();
        for grant in grants().filter(|x| wanted(x.resource)) {
            out.extend(placeholders(r, grant).filter_map(|m| line(r, m, grant, grant.resource)));
        }
        finish(r, &explicit(r, grants(), wanted), out)
    }
}

/// (resource, role, member) triples that an explicit assignment gives:
/// what the customer's role listing shows.
type Explicit = FxHashSet<(NodeIndex, RoleId, NodeIndex)>;

/// (resource, role, member) reachable through an explicit assignment
/// among `grants`, on the resources `keep` accepts.
fn explicit<'g>(
    r: &Report<'g>,
    grants: impl Iterator<Item = &'g Grant>,
    keep: impl Fn(NodeIndex) -> bool,
) -> Explicit {
    let g = r.graph;
    let mut explicit = Explicit::default();
    for grant in grants.filter(|x| !x.via.is_implicit()) {
        let below = g.below.get(&grant.resource).map_or(&[][..], Vec::as_slice);
        for m in g.members_of(grant.holder).list.iter() {
            for &res in std::iter::once(&grant.resource).chain(below) {
                if keep(res) {
                    explicit.insert((res, grant.role, m.node));
                }
            }
        }
    }
    explicit
}

/// The partner agent groups of unknown members among a grant's holders.
fn placeholders<'g>(r: &Report<'g>, grant: &Grant) -> impl Iterator<Item = &'g Member> {
    r.graph
        .members_of(grant.holder)
        .list
        .iter()
        .filter(|m| m.kind == MemberKind::Placeholder)
}

/// Marks the listed rows, then sorts and deduplicates.
fn finish(r: &Report<'_>, explicit: &Explicit, mut out: Vec<AccessLine>) -> Vec<AccessLine> {
    let g = r.graph;
    for l in &mut out {
        let res = g.find_resource(l.tenant_id, &l.resource);
        l.listed = res.is_some_and(|res| explicit.contains(&(res, l.role_id, l.member_node)));
    }
    out.sort_by(|a, b| {
        (
            &a.tenant_name,
            a.tenant_id,
            &a.resource,
            &a.role,
            !a.listed,
            &a.home_tenant_name,
            &a.display_name,
            a.principal_id,
            &a.path,
        )
            .cmp(&(
                &b.tenant_name,
                b.tenant_id,
                &b.resource,
                &b.role,
                !b.listed,
                &b.home_tenant_name,
                &b.display_name,
                b.principal_id,
                &b.path,
            ))
    });
    out.dedup_by(|a, b| {
        a.tenant_id == b.tenant_id
            && a.resource == b.resource
            && a.role_id == b.role_id
            && a.member_node == b.member_node
    });
    out
}
