//! The access graph (SPEC §4): who can reach what, and why.
//!
//! Nodes are tenants' principals, placeholder agent groups, unresolved
//! principals and resources (a tenant's directory, Azure scopes). Edges are
//! group membership, explicit role assignments and the implicit role grants
//! that active DAP and GDAP relationships create. Group nesting is expanded
//! transitively with a breadth-first search that tolerates cycles and keeps
//! one shortest explaining path per member.
//!
//! Expansion results are shared (`Arc`) between every grant held by the same
//! group, so a partner AdminAgents group with active DAP in 10,000 customers is
//! expanded once, not 10,000 times.

mod build;
pub mod members;

use rustc_hash::FxHashMap as HashMap;
use std::sync::Arc;

use petgraph::graph::{DiGraph, NodeIndex};

use crate::snapshot::roles::RoleId;
use crate::snapshot::{AgentGroup, Diagnostic, Guid, Scope, Snapshot};

pub use build::partner_may_manage_device;
pub use members::{Hop, Member, Members};

/// A node of the access graph (24 bytes: there are as many as principals,
/// so every byte counts).
#[derive(Clone, Debug)]
pub enum Node {
    /// A principal found in the snapshot (index into `Snapshot::principals`).
    Principal(u32),
    /// A principal id referenced but found in no `principals` row; its home
    /// tenant, as far as the reference tells, is [`AccessGraph::unresolved_home`].
    Unresolved { id: Guid },
    /// A partner agent group whose members the snapshot does not hold.
    Placeholder { partner: Guid, group: AgentGroup },
    /// A resource: a tenant's directory (`/`) or an Azure scope; the scope's
    /// text is [`AccessGraph::scope`].
    Resource { tenant: Guid, scope: ScopeId },
    /// A service principal found only in `service_principals` (index into
    /// `Snapshot::service_principals`); one also in `principals` is a
    /// [`Node::Principal`].
    App(u32),
}

/// A resource scope, interned in the graph ([`AccessGraph::scope`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ScopeId(pub u32);

impl ScopeId {
    /// The directory scope `/` (always id 0).
    pub const DIRECTORY: ScopeId = ScopeId(0);

    /// The directory scope `/`.
    pub fn is_directory(self) -> bool {
        self == ScopeId::DIRECTORY
    }
}

/// Why a grant exists.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Via {
    /// An explicit role assignment (index into `Snapshot::role_assignments`).
    Explicit(u32),
    /// Implicit: an active DAP relationship (index into `Snapshot::relationships`).
    Dap {
        relationship: u32,
        group: AgentGroup,
    },
    /// Implicit: an active GDAP relationship's access assignment.
    Gdap {
        relationship: u32,
        access_assignment: u32,
    },
    /// Autopilot management that a reseller or DAP relationship allows (F11, F12).
    Autopilot { relationship: u32 },
    /// An Azure Lighthouse authorization (index into
    /// `Snapshot::lighthouse_authorizations`) on the scope of a delegation
    /// (index into `Snapshot::lighthouse_delegations`).
    Lighthouse { delegation: u32, authorization: u32 },
    /// A permission a service principal holds in the tenant's directory
    /// (index into `Snapshot::app_permissions`); the grant's role is the
    /// permission's name.
    App { permission: u32 },
}

/// Which Autopilot rules apply: `Legacy` (F11, the default: it over- rather
/// than under-reports access) or `Strict` (F12, profile and foreign-device
/// management require DAP).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum AutopilotPolicy {
    #[default]
    Legacy,
    Strict,
}

impl AutopilotPolicy {
    /// `legacy` or `strict`.
    pub fn as_str(self) -> &'static str {
        match self {
            AutopilotPolicy::Legacy => "legacy",
            AutopilotPolicy::Strict => "strict",
        }
    }
}

impl Via {
    /// True for grants that the customer's own role listing does not show (F6).
    pub fn is_implicit(self) -> bool {
        !matches!(self, Via::Explicit(_))
    }
}

/// Every kind of edge the graph holds, each with a stable name (what
/// exports write) and a one-line meaning. Grants are split by channel.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EdgeKind {
    /// Member → group (`memberships`).
    MemberOf,
    /// Narrower Azure scope → the known scope that contains it.
    Within,
    /// Principal → directory or Azure scope: an explicit role assignment
    /// (`role_assignments`), including a partner's foreign-principal
    /// (admin on behalf of) assignments on Azure subscriptions.
    RoleAssignment,
    /// Partner agent group → customer directory: the implicit roles of active DAP.
    Dap,
    /// GDAP access-assignment group → customer directory: a role of an active GDAP relationship.
    Gdap,
    /// Partner AdminAgents → customer Autopilot profiles or devices.
    Autopilot,
    /// Managing-tenant principal → delegated subscription or resource
    /// group: a standing Azure Lighthouse authorization.
    LighthouseStanding,
    /// Managing-tenant principal → delegated subscription or resource
    /// group: a just-in-time (eligible) Lighthouse authorization, usable once activated.
    LighthouseEligible,
    /// Service principal → customer directory: an application permission
    /// (app-role assignment), held without any signed-in user.
    AppRole,
    /// Service principal → customer directory: a delegated permission
    /// (OAuth2 permission grant), used on behalf of a signed-in user.
    DelegatedPermission,
}

impl EdgeKind {
    /// Every kind, in declaration order.
    pub const ALL: [EdgeKind; 10] = [
        EdgeKind::MemberOf,
        EdgeKind::Within,
        EdgeKind::RoleAssignment,
        EdgeKind::Dap,
        EdgeKind::Gdap,
        EdgeKind::Autopilot,
        EdgeKind::LighthouseStanding,
        EdgeKind::LighthouseEligible,
        EdgeKind::AppRole,
        EdgeKind::DelegatedPermission,
    ];

    /// The stable name exports and documentation use.
    pub fn name(self) -> &'static str {
        match self {
            EdgeKind::MemberOf => "member_of",
            EdgeKind::Within => "within",
            EdgeKind::RoleAssignment => "role_assignment",
            EdgeKind::Dap => "dap",
            EdgeKind::Gdap => "gdap",
            EdgeKind::Autopilot => "autopilot",
            EdgeKind::LighthouseStanding => "lighthouse_standing",
            EdgeKind::LighthouseEligible => "lighthouse_eligible",
            EdgeKind::AppRole => "app_role",
            EdgeKind::DelegatedPermission => "delegated_permission",
        }
    }
}

impl Via {
    /// The edge kind of a grant made this way (`snapshot` tells standing
    /// from eligible Lighthouse access and application from delegated permissions).
    pub fn kind(self, snapshot: &Snapshot) -> EdgeKind {
        use crate::snapshot::{LighthouseAccess, PermissionKind};
        match self {
            Via::Explicit(_) => EdgeKind::RoleAssignment,
            Via::Dap { .. } => EdgeKind::Dap,
            Via::Gdap { .. } => EdgeKind::Gdap,
            Via::Autopilot { .. } => EdgeKind::Autopilot,
            Via::Lighthouse { authorization, .. } => {
                match snapshot.lighthouse_authorizations[authorization as usize].access {
                    LighthouseAccess::Standing => EdgeKind::LighthouseStanding,
                    LighthouseAccess::Eligible => EdgeKind::LighthouseEligible,
                }
            }
            Via::App { permission } => match snapshot.app_permissions[permission as usize].kind {
                PermissionKind::Application => EdgeKind::AppRole,
                PermissionKind::Delegated => EdgeKind::DelegatedPermission,
            },
        }
    }
}

impl Via {
    /// The snapshot row that states the grant: the assignment, the
    /// relationship, the Lighthouse authorization or the app permission.
    pub fn row(self, snapshot: &Snapshot) -> crate::snapshot::Loc {
        match self {
            Via::Explicit(i) => snapshot.role_assignments[i as usize].loc,
            Via::Dap { relationship, .. }
            | Via::Gdap { relationship, .. }
            | Via::Autopilot { relationship } => snapshot.relationships[relationship as usize].loc,
            Via::Lighthouse { authorization, .. } => {
                snapshot.lighthouse_authorizations[authorization as usize].loc
            }
            Via::App { permission } => snapshot.app_permissions[permission as usize].loc,
        }
    }
}

impl Edge {
    /// The edge's kind.
    pub fn kind(&self, snapshot: &Snapshot) -> EdgeKind {
        match self {
            Edge::MemberOf => EdgeKind::MemberOf,
            Edge::Within => EdgeKind::Within,
            Edge::Grant { via, .. } => via.kind(snapshot),
        }
    }
}

/// A graph edge.
#[derive(Clone, Debug)]
pub enum Edge {
    /// Member → group.
    MemberOf,
    /// Holder → resource, with the role and its justification.
    Grant { role: RoleId, via: Via },
    /// Narrower scope → the scope that contains it.
    Within,
}

/// One role held by one holder (principal, group or placeholder) on one resource.
#[derive(Clone, Debug)]
pub struct Grant {
    pub holder: NodeIndex,
    pub resource: NodeIndex,
    pub role: RoleId,
    pub via: Via,
}

/// One row of effective access: an enabled user (or unresolved principal)
/// that can act with `role` on `resource`, and the path that explains it.
#[derive(Clone, Debug)]
pub struct Access<'g> {
    pub member: &'g Member,
    pub grant: &'g Grant,
    /// The resource the access applies to (the grant's resource or a known scope below it).
    pub resource: NodeIndex,
}

/// Principal object id → node. A hashbrown table holds only node indexes
/// (4 bytes a slot): each is compared by the id its node stands for, a
/// principal row's or an unresolved reference's, so no id is stored twice.
#[derive(Debug, Default)]
pub struct PrincipalIndex {
    table: hashbrown::HashTable<NodeIndex>,
}

/// The id a principal or unresolved node stands for.
fn node_id(s: &Snapshot, g: &DiGraph<Node, Edge>, n: NodeIndex) -> Option<Guid> {
    match g[n] {
        Node::Principal(i) => Some(s.principals[i as usize].principal_id),
        Node::Unresolved { id } => Some(id),
        Node::App(i) => Some(s.service_principals[i as usize].principal_id),
        Node::Placeholder { .. } | Node::Resource { .. } => None,
    }
}

fn id_hash(id: &Guid) -> u64 {
    use std::hash::BuildHasher;
    rustc_hash::FxBuildHasher.hash_one(id)
}

impl PrincipalIndex {
    /// An empty index with room for `n` ids.
    fn with_capacity(n: usize) -> PrincipalIndex {
        PrincipalIndex {
            table: hashbrown::HashTable::with_capacity(n),
        }
    }

    /// The node of a principal id.
    pub fn get(&self, s: &Snapshot, g: &DiGraph<Node, Edge>, id: &Guid) -> Option<NodeIndex> {
        self.table
            .find(id_hash(id), |&n| node_id(s, g, n) == Some(*id))
            .copied()
    }

    /// Records node `n` (already in `g`) for its id, which the caller checked is new.
    fn insert(&mut self, s: &Snapshot, g: &DiGraph<Node, Edge>, n: NodeIndex) {
        let hash = |&m: &NodeIndex| id_hash(&node_id(s, g, m).unwrap_or_default());
        self.table.insert_unique(hash(&n), n, hash);
    }
}

/// The resources: scope texts by [`ScopeId`], and (tenant, scope text) →
/// resource node, keyed by a hash of the pair and checked against the node;
/// scopes compare ASCII-case-insensitively, as Azure ids do.
#[derive(Debug)]
pub struct ResourceIndex {
    /// Scope text by id; id 0 is `/`.
    scopes: Vec<Scope>,
    by_hash: HashMap<u64, NodeIndex>,
    /// Resource nodes whose hash another resource already took (rare).
    collisions: Vec<NodeIndex>,
    /// Every resource node, in creation order.
    nodes: Vec<NodeIndex>,
}

impl Default for ResourceIndex {
    fn default() -> ResourceIndex {
        ResourceIndex {
            scopes: vec![Scope("/".into())],
            by_hash: HashMap::default(),
            collisions: Vec::new(),
            nodes: Vec::new(),
        }
    }
}

impl ResourceIndex {
    /// The text of a scope.
    pub fn scope(&self, id: ScopeId) -> &Scope {
        &self.scopes[id.0 as usize]
    }

    /// An empty index with room for `n` resources.
    fn with_capacity(n: usize) -> ResourceIndex {
        let mut index = ResourceIndex::default();
        index.scopes.reserve(n);
        index.by_hash.reserve(n);
        index.nodes.reserve(n);
        index
    }

    /// Stores a new resource's scope text (`/` is shared).
    fn intern(&mut self, scope: &str) -> ScopeId {
        if scope == "/" {
            return ScopeId::DIRECTORY;
        }
        self.scopes.push(Scope(scope.into()));
        ScopeId(u32::try_from(self.scopes.len() - 1).unwrap_or(u32::MAX))
    }

    /// Azure resource ids ignore case: a scope is one resource whatever the
    /// case it is written in (the first spelling is the one shown), so the
    /// key hashes and compares the scope ASCII-case-insensitively.
    fn hash(tenant: Guid, scope: &str) -> u64 {
        use std::hash::{BuildHasher, Hash, Hasher};
        let mut h = rustc_hash::FxBuildHasher.build_hasher();
        tenant.hash(&mut h);
        for chunk in scope.as_bytes().chunks(8) {
            let mut word = [0u8; 8];
            for (w, b) in word.iter_mut().zip(chunk) {
                *w = b.to_ascii_lowercase();
            }
            h.write_u64(u64::from_le_bytes(word));
        }
        h.write_usize(scope.len());
        h.finish()
    }

    /// The resource node of (tenant, scope) in `graph`, if any.
    fn find(&self, graph: &DiGraph<Node, Edge>, tenant: Guid, scope: &str) -> Option<NodeIndex> {
        self.find_hashed(graph, Self::hash(tenant, scope), tenant, scope)
    }

    /// [`ResourceIndex::find`] with the key's hash already computed.
    fn find_hashed(
        &self,
        graph: &DiGraph<Node, Edge>,
        hash: u64,
        tenant: Guid,
        scope: &str,
    ) -> Option<NodeIndex> {
        let is = |n: NodeIndex| matches!(&graph[n], Node::Resource { tenant: t, scope: sc } if *t == tenant && self.scope(*sc).as_str().eq_ignore_ascii_case(scope));
        match self.by_hash.get(&hash) {
            Some(&n) if is(n) => Some(n),
            Some(_) => self.collisions.iter().copied().find(|&n| is(n)),
            None => None,
        }
    }

    /// Records a new resource node (the caller checked it is not there yet).
    fn insert_hashed(&mut self, hash: u64, n: NodeIndex) {
        self.nodes.push(n);
        match self.by_hash.entry(hash) {
            std::collections::hash_map::Entry::Vacant(v) => {
                v.insert(n);
            }
            std::collections::hash_map::Entry::Occupied(_) => self.collisions.push(n),
        }
    }

    /// Every resource node, in creation order.
    pub fn nodes(&self) -> &[NodeIndex] {
        &self.nodes
    }

    /// The number of resource nodes.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// True when there is no resource node.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }
}

/// The built access graph plus indexes the rule facts need.
#[derive(Debug)]
pub struct AccessGraph {
    pub graph: DiGraph<Node, Edge>,
    pub grants: Vec<Grant>,
    /// Principal object id → node (object ids are globally unique).
    pub principal_node: PrincipalIndex,
    /// (tenant, scope) → resource node; look up with [`AccessGraph::find_resource`].
    pub resource_node: ResourceIndex,
    /// Tenant → its agent group nodes (real or placeholder), by kind.
    pub agent_groups: HashMap<(Guid, AgentGroup), Vec<NodeIndex>>,
    /// Expanded members of every grant holder.
    pub members: HashMap<NodeIndex, Arc<Members>>,
    /// Resolved home tenant of each explicit role assignment's principal.
    pub assignment_principal_tenant: Vec<Guid>,
    /// Known scopes strictly below each resource node.
    pub below: HashMap<NodeIndex, Vec<NodeIndex>>,
    /// Tenant id → index into `Snapshot::tenants`.
    pub tenant_index: HashMap<Guid, u32>,
    /// Home tenant of each unresolved node, where the reference tells it.
    pub unresolved_home: HashMap<NodeIndex, Guid>,
    /// Warnings about dangling references and placeholders.
    pub warnings: Vec<Diagnostic>,
    /// Counts of unresolved references by kind, for the input accounting.
    pub unresolved: std::collections::BTreeMap<&'static str, u64>,
}

impl AccessGraph {
    /// Builds the graph from a validated snapshot under the default (legacy) Autopilot policy.
    pub fn build(snapshot: &Snapshot) -> AccessGraph {
        build::build(snapshot, AutopilotPolicy::Legacy, true)
    }

    /// Builds the graph under the given Autopilot policy.
    pub fn build_with(snapshot: &Snapshot, policy: AutopilotPolicy) -> AccessGraph {
        build::build(snapshot, policy, true)
    }

    /// [`AccessGraph::build_with`] without expanding the grant holders into
    /// their members ([`AccessGraph::members`] stays empty): the nodes,
    /// edges, grants, warnings and unresolved counts alone, for what needs
    /// only the graph's shape (a shard choosing its part of the snapshot).
    pub fn build_unexpanded(snapshot: &Snapshot, policy: AutopilotPolicy) -> AccessGraph {
        build::build(snapshot, policy, false)
    }

    /// The resource node of a tenant's scope (`/` = the directory), if the graph has one.
    pub fn find_resource(&self, tenant: Guid, scope: &str) -> Option<NodeIndex> {
        self.resource_node.find(&self.graph, tenant, scope)
    }

    /// The text of a resource scope.
    pub fn scope(&self, id: ScopeId) -> &Scope {
        self.resource_node.scope(id)
    }

    /// The node of a principal id (a principal row's or an unresolved reference's).
    pub fn principal(&self, s: &Snapshot, id: &Guid) -> Option<NodeIndex> {
        self.principal_node.get(s, &self.graph, id)
    }

    /// The home tenant of an unresolved node, as far as the reference tells.
    pub fn unresolved_home(&self, node: NodeIndex) -> Option<Guid> {
        self.unresolved_home.get(&node).copied()
    }

    /// The expanded members of a grant holder.
    pub fn members_of(&self, holder: NodeIndex) -> &Arc<Members> {
        &self.members[&holder]
    }

    /// Effective access (SPEC §4): every (enabled user or unresolved
    /// principal, resource, role) reachable, each once, with one shortest
    /// explaining path (ties broken by grant order). A role on a scope also
    /// covers the known scopes below it. Sorted by resource node, role, then
    /// principal node, so the order is deterministic.
    pub fn effective_access(&self) -> Vec<Access<'_>> {
        self.effective_access_on(|_| true)
    }

    /// [`AccessGraph::effective_access`] on the resources `keep` accepts
    /// only (the same rows, without computing the others).
    pub fn effective_access_on(&self, keep: impl Fn(NodeIndex) -> bool) -> Vec<Access<'_>> {
        self.effective_access_among(&self.grants, keep)
    }

    /// [`AccessGraph::effective_access_on`] through `grants` only, given in
    /// graph order: the same rows as through every grant when `grants` holds
    /// every grant that reaches a resource `keep` accepts.
    pub fn effective_access_among<'g>(
        &'g self,
        grants: impl IntoIterator<Item = &'g Grant>,
        keep: impl Fn(NodeIndex) -> bool,
    ) -> Vec<Access<'g>> {
        let mut best: std::collections::BTreeMap<(NodeIndex, RoleId, NodeIndex), Access<'_>> =
            std::collections::BTreeMap::new();
        for grant in grants {
            let below = self
                .below
                .get(&grant.resource)
                .map_or(&[][..], Vec::as_slice);
            for member in self.members[&grant.holder]
                .list
                .iter()
                .filter(|m| m.effective())
            {
                for &resource in std::iter::once(&grant.resource)
                    .chain(below)
                    .filter(|&&n| keep(n))
                {
                    let candidate = Access {
                        member,
                        grant,
                        resource,
                    };
                    best.entry((resource, grant.role, member.node))
                        .and_modify(|a| {
                            if member.depth < a.member.depth {
                                *a = candidate.clone();
                            }
                        })
                        .or_insert(candidate);
                }
            }
        }
        best.into_values().collect()
    }

    /// A short human label for a node, e.g. `AdminAgents (group, Northwind IT)`.
    pub fn label(&self, snapshot: &Snapshot, node: NodeIndex) -> String {
        let mut out = String::with_capacity(64);
        self.label_into(&mut out, snapshot, node);
        out
    }

    /// [`AccessGraph::label`], appended to `out`.
    pub fn label_into(&self, out: &mut String, snapshot: &Snapshot, node: NodeIndex) {
        use std::fmt::Write as _;
        match &self.graph[node] {
            Node::Principal(i) => {
                let p = &snapshot.principals[*i as usize];
                out.push_str(&p.display_name);
                out.push_str(" (");
                out.push_str(p.kind.as_str());
                if p.enabled == Some(false) {
                    out.push_str(", disabled");
                }
                out.push_str(", ");
                self.push_tenant(out, snapshot, p.tenant_id);
                out.push(')');
            }
            Node::Unresolved { id } => {
                let _ = write!(out, "unresolved principal {id}");
                if let Some(t) = self.unresolved_home(node) {
                    out.push_str(" (home ");
                    self.push_tenant(out, snapshot, t);
                    out.push(')');
                }
            }
            Node::App(i) => {
                let p = &snapshot.service_principals[*i as usize];
                out.push_str(&p.display_name);
                out.push_str(" (app");
                if p.enabled == Some(false) {
                    out.push_str(", disabled");
                }
                if let Some(owner) = p.owner_tenant_id.filter(|&o| o != p.tenant_id) {
                    out.push_str(", owned by ");
                    self.push_tenant(out, snapshot, owner);
                }
                out.push_str(", in ");
                self.push_tenant(out, snapshot, p.tenant_id);
                out.push(')');
            }
            Node::Placeholder { partner, group } => {
                out.push_str(group.group_name());
                out.push_str(" of ");
                self.push_tenant(out, snapshot, *partner);
                out.push_str(" (members unknown)");
            }
            Node::Resource { tenant, scope } => {
                if scope.is_directory() {
                    out.push_str("directory of ");
                } else {
                    out.push_str(self.scope(*scope).as_str());
                    out.push_str(" in ");
                }
                self.push_tenant(out, snapshot, *tenant);
            }
        }
    }

    /// A tenant's display name, or `None` when the tenant is not in the snapshot.
    fn tenant_str<'s>(&self, snapshot: &'s Snapshot, t: Guid) -> Option<&'s str> {
        self.tenant_index
            .get(&t)
            .map(|&i| &*snapshot.tenants[i as usize].name)
    }

    fn push_tenant(&self, out: &mut String, snapshot: &Snapshot, t: Guid) {
        match self.tenant_str(snapshot, t) {
            Some(name) => out.push_str(name),
            None => {
                out.push_str("tenant ");
                out.push_str(&t.to_string());
            }
        }
    }

    /// Renders one explaining path compactly:
    /// `Anna Larsen → Azure Operators → AdminAgents (Northwind IT) ⇒ Global Administrator in Contoso (DAP)`.
    /// `member` is one of the members of `grant`'s holder. A path longer than
    /// `2 × PATH_SHOWN_EACH_END + 1` principals shows its ends and
    /// `… N more groups …` between them ([`Members::shown_path`]).
    pub fn render_path(&self, snapshot: &Snapshot, member: &Member, grant: &Grant) -> String {
        let mut out = String::with_capacity(160);
        self.render_path_into(&mut out, snapshot, member, grant);
        out
    }

    /// [`AccessGraph::render_path`], appended to `out`.
    pub fn render_path_into(
        &self,
        out: &mut String,
        snapshot: &Snapshot,
        member: &Member,
        grant: &Grant,
    ) {
        use std::fmt::Write as _;
        let hops = self.members_of(grant.holder).shown_path(member);
        let last = hops.len().saturating_sub(1);
        for (i, hop) in hops.into_iter().enumerate() {
            if i > 0 {
                out.push_str(" → ");
            }
            let n = match hop {
                Hop::Node(n) => n,
                Hop::Elided(k) => {
                    let _ = write!(out, "… {k} more group{} …", if k == 1 { "" } else { "s" });
                    continue;
                }
            };
            match &self.graph[n] {
                Node::Principal(pi) => {
                    let p = &snapshot.principals[*pi as usize];
                    out.push_str(&p.display_name);
                    if i == last {
                        out.push_str(" (");
                        self.push_tenant(out, snapshot, p.tenant_id);
                        out.push(')');
                    }
                }
                _ => out.push_str(&self.label(snapshot, n)),
            }
        }
        out.push_str(" ⇒ ");
        out.push_str(snapshot.roles.name(grant.role));
        match &self.graph[grant.resource] {
            Node::Resource { tenant, scope } if scope.is_directory() => {
                out.push_str(" in ");
                self.push_tenant(out, snapshot, *tenant);
            }
            Node::Resource { scope, .. } => {
                out.push_str(" on ");
                out.push_str(self.scope(*scope).as_str());
            }
            _ => {}
        }
        let via = grant.via;
        match via {
            Via::Explicit(_) => out.push_str(" (assigned)"),
            Via::Dap { .. } => out.push_str(" (DAP)"),
            Via::Autopilot { .. } => out.push_str(" (Autopilot, partner relationship)"),
            Via::Gdap { relationship, .. } => {
                out.push_str(" (GDAP ");
                out.push_str(
                    snapshot.relationships[relationship as usize]
                        .relationship_id
                        .as_deref()
                        .unwrap_or("?"),
                );
                out.push(')');
            }
            Via::Lighthouse { delegation, .. } => {
                out.push_str(" (Lighthouse ");
                out.push_str(via.kind(snapshot).name().trim_start_matches("lighthouse_"));
                if let Some(offer) =
                    &snapshot.lighthouse_delegations[delegation as usize].offer_name
                {
                    out.push_str(", ");
                    out.push_str(offer);
                }
                out.push(')');
            }
            Via::App { .. } => {
                out.push_str(match via.kind(snapshot) {
                    EdgeKind::AppRole => " (application permission)",
                    _ => " (delegated permission)",
                });
            }
        }
    }

    /// Appends the evidence line naming a grant and the snapshot row behind it.
    pub fn describe_grant_into(&self, out: &mut String, snapshot: &Snapshot, grant: &Grant) {
        self.label_into(out, snapshot, grant.holder);
        let role = snapshot.roles.name(grant.role);
        let cite = |out: &mut String, loc| {
            out.push_str(" (");
            snapshot.cite_into(out, loc);
            out.push(')');
        };
        let (verb, preposition) = match grant.via {
            Via::Explicit(_) => (" is assigned ", " on "),
            Via::Dap { .. } | Via::Gdap { .. } => (" holds ", " in the "),
            Via::Autopilot { .. } => (" can act as ", " on "),
            Via::Lighthouse { .. } => match grant.via.kind(snapshot) {
                EdgeKind::LighthouseEligible => (" is eligible for ", " on "),
                _ => (" holds ", " on "),
            },
            Via::App { .. } => (" holds permission ", " in the "),
        };
        out.push_str(verb);
        out.push_str(role);
        out.push_str(preposition);
        self.label_into(out, snapshot, grant.resource);
        match grant.via {
            Via::Explicit(i) => cite(out, snapshot.role_assignments[i as usize].loc),
            Via::Dap { relationship, .. } => {
                out.push_str(" implicitly through active DAP");
                cite(out, snapshot.relationships[relationship as usize].loc);
            }
            Via::Autopilot { relationship } => {
                let r = &snapshot.relationships[relationship as usize];
                out.push_str(" through the active ");
                out.push_str(r.kind.as_str());
                out.push_str(" relationship");
                cite(out, r.loc);
            }
            Via::Gdap {
                relationship,
                access_assignment,
            } => {
                let r = &snapshot.relationships[relationship as usize];
                out.push_str(" through GDAP relationship ");
                out.push_str(r.relationship_id.as_deref().unwrap_or("?"));
                cite(out, r.loc);
                out.push_str(" and its access assignment");
                cite(
                    out,
                    snapshot.gdap_access_assignments[access_assignment as usize].loc,
                );
            }
            Via::Lighthouse {
                delegation,
                authorization,
            } => {
                let d = &snapshot.lighthouse_delegations[delegation as usize];
                out.push_str(" through Azure Lighthouse delegation to tenant ");
                out.push_str(
                    d.managing_tenant_name
                        .as_deref()
                        .unwrap_or(&d.managing_tenant_id.to_string()),
                );
                cite(out, d.loc);
                out.push_str(" and its authorization");
                cite(
                    out,
                    snapshot.lighthouse_authorizations[authorization as usize].loc,
                );
            }
            Via::App { permission } => {
                let p = &snapshot.app_permissions[permission as usize];
                out.push_str(match p.kind {
                    crate::snapshot::PermissionKind::Application => " as an application permission",
                    crate::snapshot::PermissionKind::Delegated => " as a delegated permission",
                });
                cite(out, p.loc);
            }
        }
    }
}
