//! Builds the [`AccessGraph`] from a validated snapshot.

use std::collections::BTreeMap;

use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};
use std::sync::Arc;

use petgraph::graph::{DiGraph, NodeIndex};
use rayon::prelude::*;

use super::{
    members, AccessGraph, AutopilotPolicy, Edge, Grant, Node, PrincipalIndex, ResourceIndex, Via,
};
use crate::snapshot::diag::quote;
use crate::snapshot::roles::{builtin, RoleId};
use crate::snapshot::{
    AgentGroup, Diagnostic, Guid, Level, Loc, PrincipalKind, RelKind, RelState, Snapshot,
};

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

/// Autopilot management (F11 legacy, F12 strict), granted to the partner's
/// AdminAgents (Admin agents manage devices and profiles in Partner Center).
///
/// - Profiles: legacy — any partner with an active reseller or DAP
///   relationship; strict — only with active DAP.
/// - Devices: legacy — devices any partner added, and customer-added devices
///   except those added through Store for Business / Education or Intune
///   (the policy over- rather than under-reports); strict — every device with
///   active DAP, otherwise only the devices the partner added itself.
fn autopilot_grants(
    b: &mut Builder<'_>,
    agent_groups: &HashMap<(Guid, AgentGroup), Vec<NodeIndex>>,
    grants: &mut Vec<Grant>,
    policy: AutopilotPolicy,
) {
    let s = b.s;
    if s.devices.is_empty() && s.autopilot_profiles.is_empty() {
        return;
    }
    // Justifying relationship per (partner, customer): DAP first, else reseller.
    let mut justify: BTreeMap<(Guid, Guid), (Option<usize>, Option<usize>)> = BTreeMap::new();
    for (ri, r) in s.relationships.iter().enumerate() {
        if r.state != RelState::Active {
            continue;
        }
        let e = justify
            .entry((r.partner_tenant_id, r.customer_tenant_id))
            .or_default();
        match r.kind {
            RelKind::Dap => e.0 = e.0.or(Some(ri)),
            RelKind::Reseller => e.1 = e.1.or(Some(ri)),
            RelKind::Gdap => {}
        }
    }
    let mut devices_of: HashMap<Guid, Vec<usize>> = HashMap::default();
    for (di, d) in s.devices.iter().enumerate() {
        devices_of.entry(d.tenant_id).or_default().push(di);
    }
    const DEVICES: &str = "/autopilot/devices/";
    let mut scope = String::from(DEVICES);
    let mut has_profiles: HashSet<Guid> = HashSet::default();
    for p in &s.autopilot_profiles {
        has_profiles.insert(p.tenant_id);
    }
    for (&(partner, customer), &(dap, reseller)) in &justify {
        let Some(ri) = dap.or(reseller) else { continue };
        let devices = devices_of.get(&customer).map_or(&[][..], Vec::as_slice);
        if devices.is_empty() && !has_profiles.contains(&customer) {
            continue;
        }
        let holders = b.agent_holders(
            agent_groups,
            partner,
            AgentGroup::AdminAgents,
            s.relationships[ri].loc,
        );
        let via = Via::Autopilot {
            relationship: u32::try_from(ri).unwrap_or(u32::MAX),
        };
        let profiles_ok = match policy {
            AutopilotPolicy::Legacy => true,
            AutopilotPolicy::Strict => dap.is_some(),
        };
        // Managing profiles includes adding them: the capability stands
        // whether or not the customer has profiles yet (it has Autopilot
        // devices or profiles, or the loop skipped it).
        if profiles_ok {
            let resource = b.resource(customer, "/autopilot/profiles");
            for &holder in &holders {
                b.grant(
                    grants,
                    holder,
                    resource,
                    builtin::AUTOPILOT_PROFILE_MANAGER,
                    via,
                );
            }
        }
        for &di in devices {
            let d = &s.devices[di];
            if partner_may_manage_device(policy, dap.is_some(), partner, customer, d) {
                scope.truncate(DEVICES.len());
                scope.push_str(&d.device_id);
                let resource = b.resource(customer, &scope);
                for &holder in &holders {
                    b.grant(
                        grants,
                        holder,
                        resource,
                        builtin::AUTOPILOT_DEVICE_MANAGER,
                        via,
                    );
                }
            }
        }
    }
}

/// Whether `partner` may manage (or delete) device `d` of `customer` under `policy`.
pub fn partner_may_manage_device(
    policy: AutopilotPolicy,
    dap_active: bool,
    partner: Guid,
    customer: Guid,
    d: &crate::snapshot::Device,
) -> bool {
    use crate::snapshot::AddedVia;
    match policy {
        AutopilotPolicy::Legacy => {
            d.added_by_tenant_id != customer
                || !matches!(
                    d.added_via,
                    AddedVia::StoreForBusiness | AddedVia::StoreForEducation | AddedVia::Intune
                )
        }
        AutopilotPolicy::Strict => dap_active || d.added_by_tenant_id == partner,
    }
}

/// A row states a principal's home (an assignment's `principal_tenant_id`).
const CLAIM_STATED: u8 = 3;
/// A row implies it: a GDAP access assignment names the principal as a
/// partner security group, or a membership row names it as the group.
const CLAIM_IMPLIED: u8 = 2;
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

pub(super) fn build(s: &Snapshot, policy: AutopilotPolicy) -> AccessGraph {
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
        + 1;
    let mut b = Builder {
        s,
        g: DiGraph::with_capacity(node_bound, 0),
        principal_node: PrincipalIndex::with_capacity(s.principals.len()),
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
    };
    let tenant_index: HashMap<Guid, u32> = s
        .tenants
        .iter()
        .enumerate()
        .map(|(i, t)| (t.tenant_id, u32::try_from(i).unwrap_or(u32::MAX)))
        .collect();

    // Principals and agent groups.
    let mut agent_groups: HashMap<(Guid, AgentGroup), Vec<NodeIndex>> = HashMap::default();
    {
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
    }

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

    // Resources: subscriptions first, then every assignment scope.
    let mut sub_scope = String::from("/subscriptions/");
    for sub in &s.subscriptions {
        use std::fmt::Write;
        sub_scope.truncate("/subscriptions/".len());
        let _ = write!(sub_scope, "{}", sub.subscription_id);
        b.resource(sub.tenant_id, &sub_scope);
    }
    let known_subs: HashSet<Guid> = s.subscriptions.iter().map(|x| x.subscription_id).collect();

    // Explicit grants.
    // Reserved generously (untouched capacity is not resident): an explicit
    // grant per assignment, DAP's two roles, GDAP roles, Autopilot targets.
    let grant_bound = s.role_assignments.len()
        + 2 * s.relationships.len()
        + s.gdap_access_assignments
            .iter()
            .map(|aa| aa.roles.len())
            .sum::<usize>()
        + 2 * (s.devices.len() + s.autopilot_profiles.len());
    let mut grants = Vec::with_capacity(grant_bound);
    let mut assignment_principal_tenant = Vec::with_capacity(s.role_assignments.len());
    let mut warned_subs = HashSet::default();
    // What each assignment needs from the read-only indexes, looked up in
    // parallel: its principal's home tenant, its holder when already known,
    // the listed tenant when it differs from the home, an unknown subscription.
    // (Kept small: the flags are rare, their details are looked up again.)
    struct Pre {
        home: Guid,
        holder: NodeIndex,
        listed_elsewhere: bool,
        unknown_sub: bool,
    }
    let pre: Vec<Pre> = {
        let (index, g) = (&b.principal_node, &b.g);
        s.role_assignments
            .par_iter()
            .with_min_len(1024)
            .map(|a| {
                let node = index.get(s, g, &a.principal_id);
                let listed = node.and_then(|n| match g[n] {
                    Node::Principal(pi) => Some(s.principals[pi as usize].tenant_id),
                    _ => None,
                });
                // SPEC §3: the row's principal_tenant_id, else the tenant
                // listing the principal, else (for a principal the snapshot
                // lacks) the home another row states or implies, else the
                // scope's tenant.
                let declared = || {
                    b.declared_home
                        .get(&a.principal_id)
                        .filter(|c| c.0 >= CLAIM_IMPLIED)
                        .map(|c| c.1)
                };
                let home = a
                    .principal_tenant_id
                    .or(listed)
                    .or_else(declared)
                    .unwrap_or(a.tenant_id);
                Pre {
                    home,
                    holder: node.unwrap_or_else(NodeIndex::end),
                    listed_elsewhere: listed.is_some_and(|t| t != home),
                    unknown_sub: a
                        .scope
                        .subscription()
                        .is_some_and(|x| !known_subs.contains(&x)),
                }
            })
            .collect()
    };
    for (i, (a, pre)) in s.role_assignments.iter().zip(&pre).enumerate() {
        let home = pre.home;
        assignment_principal_tenant.push(home);
        if let Some(sub) = a.scope.subscription().filter(|_| pre.unknown_sub) {
            if warned_subs.insert(sub) {
                *b.unresolved.entry("subscription").or_default() += 1;
                b.warn(
                    Some(a.loc),
                    Some("scope"),
                    format!("subscription `{sub}` is not in the subscriptions table: its name and provisioning are unknown"),
                );
            }
        }
        let holder = if pre.holder == NodeIndex::end() {
            b.principal_or_unresolved(
                a.principal_id,
                Some(home),
                a.loc,
                "principal_id",
                "principal",
            )
        } else {
            pre.holder
        };
        if let (true, Node::Principal(pi)) = (pre.listed_elsewhere, &b.g[holder]) {
            let listed = s.principals[*pi as usize].tenant_id;
            b.warn(
                Some(a.loc),
                Some("principal_tenant_id"),
                format!(
                    "principal `{}` is listed in tenant `{listed}` but the assignment names home tenant `{home}`",
                    a.principal_id
                ),
            );
        }
        let resource = b.resource(a.tenant_id, a.scope.as_str());
        let via = Via::Explicit(u32::try_from(i).unwrap_or(u32::MAX));
        b.grant(&mut grants, holder, resource, a.role, via);
    }
    drop(pre);

    // Implicit DAP grants (F5): AdminAgents → Global Administrator,
    // HelpdeskAgents → Helpdesk Administrator, in each customer with active DAP.
    for (ri, r) in s.relationships.iter().enumerate() {
        if r.kind != RelKind::Dap || r.state != RelState::Active {
            continue;
        }
        let resource = b.resource(r.customer_tenant_id, "/");
        for (ag, role) in [
            (AgentGroup::AdminAgents, builtin::GLOBAL_ADMINISTRATOR),
            (AgentGroup::HelpdeskAgents, builtin::HELPDESK_ADMINISTRATOR),
        ] {
            let holders = b.agent_holders(&agent_groups, r.partner_tenant_id, ag, r.loc);
            let via = Via::Dap {
                relationship: u32::try_from(ri).unwrap_or(u32::MAX),
                group: ag,
            };
            for holder in holders {
                b.grant(&mut grants, holder, resource, role, via);
            }
        }
    }

    // Implicit GDAP grants: each active access assignment of an active relationship.
    let mut by_rel: HashMap<&str, Vec<usize>> = HashMap::default();
    for (ai, aa) in s.gdap_access_assignments.iter().enumerate() {
        by_rel.entry(&aa.relationship_id).or_default().push(ai);
    }
    let mut seen_rel: HashSet<&str> = HashSet::default();
    for (ri, r) in s.relationships.iter().enumerate() {
        if r.kind != RelKind::Gdap {
            continue;
        }
        let Some(rel_id) = r.relationship_id.as_deref() else {
            continue;
        };
        seen_rel.insert(rel_id);
        if r.state != RelState::Active {
            continue;
        }
        let resource = b.resource(r.customer_tenant_id, "/");
        for &ai in by_rel.get(rel_id).map_or(&[][..], Vec::as_slice) {
            let aa = &s.gdap_access_assignments[ai];
            if aa
                .state
                .as_deref()
                .is_some_and(|st| !st.eq_ignore_ascii_case("active"))
            {
                continue;
            }
            let holder = b.principal_or_unresolved(
                aa.group_id,
                Some(r.partner_tenant_id),
                aa.loc,
                "group_id",
                "group",
            );
            for &role in &aa.roles {
                if !r.roles.is_empty() && !r.roles.contains(&role) {
                    b.warn(
                        Some(aa.loc),
                        Some("roles"),
                        format!(
                            "role {} is not granted by relationship {}: the access assignment cannot use it",
                            quote(s.roles.name(role)),
                            quote(rel_id)
                        ),
                    );
                    continue;
                }
                let via = Via::Gdap {
                    relationship: u32::try_from(ri).unwrap_or(u32::MAX),
                    access_assignment: u32::try_from(ai).unwrap_or(u32::MAX),
                };
                b.grant(&mut grants, holder, resource, role, via);
            }
        }
    }
    for aa in &s.gdap_access_assignments {
        if !seen_rel.contains(&*aa.relationship_id) {
            *b.unresolved.entry("relationship").or_default() += 1;
            b.warn(
                Some(aa.loc),
                Some("relationship_id"),
                format!(
                    "access assignment names relationship {} which is not a GDAP relationship in the snapshot",
                    quote(&aa.relationship_id)
                ),
            );
        }
    }

    autopilot_grants(&mut b, &agent_groups, &mut grants, policy);

    // Edges, in the order a single pass would add them: memberships, grants,
    // then scope containment (at most one per resource).
    b.g.reserve_exact_edges(member_edges.len() + grants.len() + b.resources.len());
    for (member, group) in member_edges {
        b.g.add_edge(member, group, Edge::MemberOf);
    }
    for g in &grants {
        b.g.add_edge(
            g.holder,
            g.resource,
            Edge::Grant {
                role: g.role,
                via: g.via,
            },
        );
    }

    // Scope containment: link each scope to the known scopes above it.
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

    // Expand every distinct holder once, in parallel.
    let mut holders: Vec<NodeIndex> = grants.iter().map(|g| g.holder).collect();
    holders.sort_unstable();
    holders.dedup();
    let graph = &b.g;
    let members: HashMap<NodeIndex, Arc<members::Members>> = holders
        .par_iter()
        .map(|&h| (h, Arc::new(members::expand(graph, s, h))))
        .collect();

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
