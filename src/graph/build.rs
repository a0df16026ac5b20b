//! Builds the [`AccessGraph`] from a validated snapshot, in named steps:
//! principals, memberships, then one module per access channel, each adding
//! its grants in turn ([`rbac`] explicit role assignments, [`dap`], [`gdap`],
//! [`autopilot`], [`lighthouse`], [`apps`]), then the edges, scope
//! containment and the expansion of every grant holder.

mod apps;
mod autopilot;
mod dap;
mod gdap;
mod lighthouse;
mod rbac;

pub use autopilot::partner_may_manage_device;

use std::collections::BTreeMap;

use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};
use std::sync::Arc;

use petgraph::graph::{DiGraph, NodeIndex};
use rayon::prelude::*;

use super::{
    members, AccessGraph, AutopilotPolicy, Edge, Grant, Node, PrincipalIndex, ResourceIndex, Via,
};
use crate::snapshot::diag::quote;
use crate::snapshot::roles::RoleId;
use crate::snapshot::{AgentGroup, Diagnostic, Guid, Level, Loc, PrincipalKind, RelKind, Snapshot};

struct Builder<'s> {
    s: &'s Snapshot,
    g: DiGraph<Node, Edge>,
    principal_node: PrincipalIndex,
    /// (tenant, scope) → resource node; the node holds the scope, so
    /// lookups by `&str` need no allocation.
    resources: ResourceIndex,
    placeholders: HashMap<(Guid, AgentGroup), NodeIndex>,
    warnings: Vec<Diagnostic>,
    unresolved: BTreeMap<&'static str, u64>,
    warned_unresolved: HashSet<Guid>,
    unresolved_home: HashMap<NodeIndex, Guid>,
    /// The home tenant each unresolved principal id is given
    /// ([`unresolved_homes`]), with the strength of the claim.
    declared_home: HashMap<Guid, (u8, Guid)>,
}

impl Builder<'_> {
    fn warn(&mut self, loc: Option<Loc>, field: Option<&str>, message: String) {
        let (file, line) = match loc {
            Some(l) => (
                self.s
                    .files
                    .get(usize::from(l.file))
                    .cloned()
                    .unwrap_or_default(),
                Some(l.line),
            ),
            None => (String::new(), None),
        };
        self.warnings.push(Diagnostic {
            level: Level::Warning,
            file,
            line,
            column: None,
            field: field.map(str::to_owned),
            message,
            expected: None,
            help: None,
        });
    }

    /// The node of a principal id, or a new unresolved node (counted, warned once per id).
    fn principal_or_unresolved(
        &mut self,
        id: Guid,
        tenant: Option<Guid>,
        loc: Loc,
        field: &str,
        what: &'static str,
    ) -> NodeIndex {
        if let Some(n) = self.principal_node.get(self.s, &self.g, &id) {
            return n;
        }
        let n = self.g.add_node(Node::Unresolved { id });
        // One home per principal (object ids are globally unique): the
        // strongest claim any row makes, not the row that names it first.
        if let Some(t) = self.declared_home.get(&id).map(|c| c.1).or(tenant) {
            self.unresolved_home.insert(n, t);
        }
        self.principal_node.insert(self.s, &self.g, n);
        *self.unresolved.entry(what).or_default() += 1;
        if self.warned_unresolved.insert(id) {
            self.warn(
                Some(loc),
                Some(field),
                format!(
                    "`{id}` matches no principal in the snapshot: kept as an unresolved {what}"
                ),
            );
        }
        n
    }

    /// The resource node of (tenant, scope), created on first use.
    fn resource(&mut self, tenant: Guid, scope: &str) -> NodeIndex {
        let hash = ResourceIndex::hash(tenant, scope);
        if let Some(n) = self.resources.find_hashed(&self.g, hash, tenant, scope) {
            return n;
        }
        let id = self.resources.intern(scope);
        let n = self.g.add_node(Node::Resource { tenant, scope: id });
        self.resources.insert_hashed(hash, n);
        n
    }

    /// Adds a grant to the grant list (its graph edge is added, in the same
    /// order, once every grant is known and the edge list can be sized).
    fn grant(
        &mut self,
        grants: &mut Vec<Grant>,
        holder: NodeIndex,
        resource: NodeIndex,
        role: RoleId,
        via: Via,
    ) {
        grants.push(Grant {
            holder,
            resource,
            role,
            via,
        });
    }

    /// The partner's agent groups of kind `ag`, or a placeholder standing
    /// for them (created once, with a warning) when the snapshot lacks them.
    fn agent_holders(
        &mut self,
        agent_groups: &HashMap<(Guid, AgentGroup), Vec<NodeIndex>>,
        partner: Guid,
        ag: AgentGroup,
        loc: Loc,
    ) -> Vec<NodeIndex> {
        if let Some(h) = agent_groups.get(&(partner, ag)) {
            return h.clone();
        }
        let key = (partner, ag);
        if let Some(&n) = self.placeholders.get(&key) {
            return vec![n];
        }
        let n = self.g.add_node(Node::Placeholder { partner, group: ag });
        self.placeholders.insert(key, n);
        let name = self.tenant_name(partner);
        self.warn(
            Some(loc),
            None,
            format!(
                "partner {} holds access through its {} group, which is not in the snapshot: a placeholder stands for it, members unknown",
                quote(&name),
                ag.group_name()
            ),
        );
        vec![n]
    }

    fn tenant_name(&self, t: Guid) -> String {
        self.s
            .tenants
            .iter()
            .find(|x| x.tenant_id == t)
            .map_or_else(|| t.to_string(), |x| x.name.to_string())
    }
}

/// A row states a principal's home (an assignment's `principal_tenant_id`).
const CLAIM_STATED: u8 = 3;
/// A row implies it: a GDAP access assignment names the principal as a
/// partner security group, or a membership row names it as the group.
pub(super) const CLAIM_IMPLIED: u8 = 2;
/// A row only suggests it: a membership naming it as a member, an
/// assignment without `principal_tenant_id` (the scope's tenant).
const CLAIM_GUESSED: u8 = 1;

/// The home tenant of every principal id the snapshot references but does
/// not list: the strongest claim any row makes about it, the first row of
/// the strongest kind winning (assignments, then GDAP access assignments,
/// then memberships).
fn unresolved_homes(
    s: &Snapshot,
    index: &PrincipalIndex,
    g: &DiGraph<Node, Edge>,
    memberships: &[(NodeIndex, NodeIndex)],
) -> HashMap<Guid, (u8, Guid)> {
    let mut homes: HashMap<Guid, (u8, Guid)> = HashMap::default();
    let mut claim = |id: Guid, strength: u8, tenant: Guid| {
        let e = homes.entry(id).or_insert((strength, tenant));
        if strength > e.0 {
            *e = (strength, tenant);
        }
    };
    let unknown: Vec<bool> = s
        .role_assignments
        .par_iter()
        .with_min_len(1024)
        .map(|a| index.get(s, g, &a.principal_id).is_none())
        .collect();
    for (a, _) in s.role_assignments.iter().zip(&unknown).filter(|x| *x.1) {
        match a.principal_tenant_id {
            Some(t) => claim(a.principal_id, CLAIM_STATED, t),
            None => claim(a.principal_id, CLAIM_GUESSED, a.tenant_id),
        }
    }
    let partner_of: HashMap<&str, Guid> = s
        .relationships
        .iter()
        .filter(|r| r.kind == RelKind::Gdap)
        .filter_map(|r| Some((r.relationship_id.as_deref()?, r.partner_tenant_id)))
        .collect();
    for aa in &s.gdap_access_assignments {
        if let Some(&p) = partner_of.get(&*aa.relationship_id) {
            if index.get(s, g, &aa.group_id).is_none() {
                claim(aa.group_id, CLAIM_IMPLIED, p);
            }
        }
    }
    let end = NodeIndex::end();
    for (m, &(group, member)) in s.memberships.iter().zip(memberships) {
        if group == end {
            claim(m.group_id, CLAIM_IMPLIED, m.tenant_id);
        }
        if member == end {
            claim(m.member_id, CLAIM_GUESSED, m.tenant_id);
        }
    }
    homes
}

/// Builds the graph; `expand` = also expand every grant holder into its
/// members (what the rules and reports need).
pub(super) fn build(s: &Snapshot, policy: AutopilotPolicy, expand: bool) -> AccessGraph {
    let mut b = Builder::new(s);
    let tenant_index: HashMap<Guid, u32> = s
        .tenants
        .iter()
        .enumerate()
        .map(|(i, t)| (t.tenant_id, u32::try_from(i).unwrap_or(u32::MAX)))
        .collect();
    let agent_groups = principals(&mut b);
    let member_edges = memberships(&mut b);
    let known_subs = rbac::subscriptions(&mut b);

    let mut grants = Vec::with_capacity(grant_bound(s));
    let assignment_principal_tenant = rbac::grants(&mut b, &known_subs, &mut grants);
    drop(known_subs);
    dap::grants(&mut b, &agent_groups, &mut grants);
    gdap::grants(&mut b, &mut grants);
    autopilot::grants(&mut b, &agent_groups, &mut grants, policy);
    lighthouse::grants(&mut b, &mut grants);
    apps::grants(&mut b, &mut grants);

    add_edges(&mut b, member_edges, &grants);
    let below = link_scopes(&mut b);
    let members = if expand {
        expand_holders(&b.g, s, &grants)
    } else {
        HashMap::default()
    };

    let mut warnings = b.warnings;
    warnings.sort();
    AccessGraph {
        graph: b.g,
        grants,
        principal_node: b.principal_node,
        resource_node: b.resources,
        agent_groups,
        members,
        assignment_principal_tenant,
        below,
        tenant_index,
        warnings,
        unresolved: b.unresolved,
        unresolved_home: b.unresolved_home,
    }
}

impl<'s> Builder<'s> {
    fn new(s: &'s Snapshot) -> Builder<'s> {
        // Upper bound on the nodes: principals, an unresolved node per dangling
        // reference, a resource per subscription, assignment, device or profile,
        // placeholders. Reserved but untouched capacity costs no resident memory,
        // while growing by doubling would copy (and briefly hold) the whole list.
        let node_bound = s.principals.len()
            + 2 * s.memberships.len()
            + 2 * s.role_assignments.len()
            + 3 * s.relationships.len()
            + s.gdap_access_assignments.len()
            + s.subscriptions.len()
            + s.devices.len()
            + s.autopilot_profiles.len()
            + s.service_principals.len()
            + 2 * (s.lighthouse_delegations.len() + s.lighthouse_authorizations.len())
            + s.app_permissions.len()
            + 1;
        Builder {
            s,
            g: DiGraph::with_capacity(node_bound, 0),
            principal_node: PrincipalIndex::with_capacity(
                s.principals.len() + s.service_principals.len(),
            ),
            // The resources known up front (subscriptions, devices, profiles)
            // size the index; assignment scopes mostly repeat or lie below them.
            resources: ResourceIndex::with_capacity(
                s.subscriptions.len() + s.devices.len() + s.autopilot_profiles.len(),
            ),
            placeholders: HashMap::default(),
            warnings: Vec::new(),
            unresolved: BTreeMap::new(),
            warned_unresolved: HashSet::default(),
            unresolved_home: HashMap::default(),
            declared_home: HashMap::default(),
        }
    }
}

/// Reserved generously (untouched capacity is not resident): an explicit
/// grant per assignment, DAP's two roles, GDAP roles, Autopilot targets,
/// Lighthouse authorizations (most definitions are assigned once) and app permissions.
fn grant_bound(s: &Snapshot) -> usize {
    s.role_assignments.len()
        + 2 * s.relationships.len()
        + s.gdap_access_assignments
            .iter()
            .map(|aa| aa.roles.len())
            .sum::<usize>()
        + 2 * (s.devices.len() + s.autopilot_profiles.len())
        + s.lighthouse_authorizations.len()
        + s.app_permissions.len()
}

/// A node per principal (the first row of a repeated id wins, with a
/// warning) and per service principal only `service_principals` lists;
/// gives the agent groups of each tenant.
fn principals(b: &mut Builder<'_>) -> HashMap<(Guid, AgentGroup), Vec<NodeIndex>> {
    let s = b.s;
    let mut agent_groups: HashMap<(Guid, AgentGroup), Vec<NodeIndex>> = HashMap::default();
    for (i, p) in s.principals.iter().enumerate() {
        if b.principal_node.get(s, &b.g, &p.principal_id).is_some() {
            b.warn(
                Some(p.loc),
                Some("principal_id"),
                format!(
                    "duplicate principal `{}`: the first row is used",
                    p.principal_id
                ),
            );
            continue;
        }
        let n =
            b.g.add_node(Node::Principal(u32::try_from(i).unwrap_or(u32::MAX)));
        b.principal_node.insert(s, &b.g, n);
        if let (Some(ag), PrincipalKind::Group) = (p.agent_group, p.kind) {
            agent_groups.entry((p.tenant_id, ag)).or_default().push(n);
        }
    }
    apps::nodes(b);
    agent_groups
}

/// Member → group pairs, in row order; records the declared home of every
/// principal the snapshot references but does not list.
fn memberships(b: &mut Builder<'_>) -> Vec<(NodeIndex, NodeIndex)> {
    let s = b.s;
    // Memberships: member → group. Lookups of known principals run in
    // parallel; dangling references are then resolved in row order (so the
    // unresolved nodes are numbered as a sequential pass would number them).
    let known: Vec<(NodeIndex, NodeIndex)> = {
        let (index, g) = (&b.principal_node, &b.g);
        let end = NodeIndex::end();
        s.memberships
            .par_iter()
            .with_min_len(4096)
            .map(|m| {
                (
                    index.get(s, g, &m.group_id).unwrap_or(end),
                    index.get(s, g, &m.member_id).unwrap_or(end),
                )
            })
            .collect()
    };
    b.declared_home = unresolved_homes(s, &b.principal_node, &b.g, &known);
    let mut member_edges: Vec<(NodeIndex, NodeIndex)> = Vec::with_capacity(s.memberships.len());
    for (m, &(group, member)) in s.memberships.iter().zip(&known) {
        let group = if group == NodeIndex::end() {
            b.principal_or_unresolved(m.group_id, Some(m.tenant_id), m.loc, "group_id", "group")
        } else {
            group
        };
        let member = if member == NodeIndex::end() {
            b.principal_or_unresolved(m.member_id, Some(m.tenant_id), m.loc, "member_id", "member")
        } else {
            member
        };
        member_edges.push((member, group));
    }
    drop(known);
    member_edges
}

/// The graph's edges, in the order a single pass would add them:
/// memberships, grants, then scope containment (at most one per resource,
/// added by [`link_scopes`]).
fn add_edges(b: &mut Builder<'_>, member_edges: Vec<(NodeIndex, NodeIndex)>, grants: &[Grant]) {
    b.g.reserve_exact_edges(member_edges.len() + grants.len() + b.resources.len());
    for (member, group) in member_edges {
        b.g.add_edge(member, group, Edge::MemberOf);
    }
    for g in grants {
        b.g.add_edge(
            g.holder,
            g.resource,
            Edge::Grant {
                role: g.role,
                via: g.via,
            },
        );
    }
}

/// Scope containment: links each scope to the nearest known scope above
/// it; gives the known scopes below each resource.
fn link_scopes(b: &mut Builder<'_>) -> HashMap<NodeIndex, Vec<NodeIndex>> {
    let mut below: HashMap<NodeIndex, Vec<NodeIndex>> = HashMap::default();
    let mut keys: Vec<(Guid, &str, NodeIndex)> = b
        .resources
        .nodes()
        .iter()
        .filter_map(|&n| match &b.g[n] {
            Node::Resource { tenant, scope } if !scope.is_directory() => {
                Some((*tenant, b.resources.scope(*scope).as_str(), n))
            }
            _ => None,
        })
        .collect();
    keys.par_sort_unstable();
    // Every (child, known scope above it), nearest first, probed in parallel
    // and kept in key order.
    let links: Vec<(NodeIndex, NodeIndex)> = {
        let resources = &b.resources;
        let g = &b.g;
        keys.par_iter()
            .with_min_len(1024)
            .flat_map_iter(|&(tenant, scope, child)| {
                let mut found = Vec::new();
                let mut prefix = scope;
                while let Some(cut) = prefix.rfind('/') {
                    prefix = &prefix[..cut];
                    if prefix.is_empty() {
                        break;
                    }
                    if let Some(parent) = resources.find(g, tenant, prefix) {
                        found.push((child, parent));
                    }
                }
                found
            })
            .collect()
    };
    let mut within: Vec<(NodeIndex, NodeIndex)> = Vec::new();
    let mut last = NodeIndex::end();
    for &(child, parent) in &links {
        below.entry(parent).or_default().push(child);
        if child != last {
            within.push((child, parent));
            last = child;
        }
    }
    drop(links);
    drop(keys);
    for (child, parent) in within {
        b.g.add_edge(child, parent, Edge::Within);
    }
    for v in below.values_mut() {
        v.sort_unstable();
    }
    below
}

/// Expands every distinct holder once, in parallel.
fn expand_holders(
    graph: &DiGraph<Node, Edge>,
    s: &Snapshot,
    grants: &[Grant],
) -> HashMap<NodeIndex, Arc<members::Members>> {
    let mut holders: Vec<NodeIndex> = grants.iter().map(|g| g.holder).collect();
    holders.sort_unstable();
    holders.dedup();
    holders
        .par_iter()
        .map(|&h| (h, Arc::new(members::expand(graph, s, h))))
        .collect()
}
