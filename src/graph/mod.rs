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

pub use members::{Member, Members};

/// A node of the access graph.
#[derive(Clone, Debug)]
pub enum Node {
    /// A principal found in the snapshot (index into `Snapshot::principals`).
    Principal(u32),
    /// A principal id referenced but found in no `principals` row.
    Unresolved {
        /// Home tenant as far as the reference tells (`None` = unknown).
        tenant: Option<Guid>,
        id: Guid,
    },
    /// A partner agent group whose members the snapshot does not hold.
    Placeholder { partner: Guid, group: AgentGroup },
    /// A resource: a tenant's directory (`/`) or an Azure scope.
    Resource { tenant: Guid, scope: Scope },
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
}

impl Via {
    /// True for grants that the customer's own role listing does not show (F6).
    pub fn is_implicit(self) -> bool {
        !matches!(self, Via::Explicit(_))
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

/// The built access graph plus indexes the rule facts need.
#[derive(Debug)]
pub struct AccessGraph {
    pub graph: DiGraph<Node, Edge>,
    pub grants: Vec<Grant>,
    /// Principal object id → node (object ids are globally unique).
    pub principal_node: HashMap<Guid, NodeIndex>,
    /// (tenant, scope) → resource node.
    pub resource_node: HashMap<(Guid, Scope), NodeIndex>,
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
    /// Warnings about dangling references and placeholders.
    pub warnings: Vec<Diagnostic>,
    /// Counts of unresolved references by kind, for the input accounting.
    pub unresolved: std::collections::BTreeMap<&'static str, u64>,
}

impl AccessGraph {
    /// Builds the graph from a validated snapshot.
    pub fn build(snapshot: &Snapshot) -> AccessGraph {
        build::build(snapshot)
    }

    /// The expanded members of a grant holder.
    pub fn members_of(&self, holder: NodeIndex) -> &Arc<Members> {
        &self.members[&holder]
    }

    /// Every effective-access row (enabled users and unresolved principals),
    /// in a deterministic order: grants in build order, members in expansion
    /// order, then the grant's resource before the known scopes below it.
    pub fn effective_access(&self) -> impl Iterator<Item = Access<'_>> + '_ {
        self.grants.iter().flat_map(move |grant| {
            let members = &self.members[&grant.holder];
            let below = self
                .below
                .get(&grant.resource)
                .map_or(&[][..], Vec::as_slice);
            members
                .list
                .iter()
                .filter(|m| m.effective())
                .flat_map(move |member| {
                    std::iter::once(grant.resource)
                        .chain(below.iter().copied())
                        .map(move |resource| Access {
                            member,
                            grant,
                            resource,
                        })
                })
        })
    }

    /// A short human label for a node, e.g. `AdminAgents (group, Northwind IT)`.
    pub fn label(&self, snapshot: &Snapshot, node: NodeIndex) -> String {
        let tenant_name = |t: Guid| -> String {
            self.tenant_index.get(&t).map_or_else(
                || format!("tenant {t}"),
                |&i| snapshot.tenants[i as usize].name.to_string(),
            )
        };
        match &self.graph[node] {
            Node::Principal(i) => {
                let p = &snapshot.principals[*i as usize];
                let mut s = format!("{} ({}", p.display_name, p.kind);
                if p.enabled == Some(false) {
                    s.push_str(", disabled");
                }
                s.push_str(", ");
                s.push_str(&tenant_name(p.tenant_id));
                s.push(')');
                s
            }
            Node::Unresolved { tenant, id } => match tenant {
                Some(t) => format!("unresolved principal {id} (home {})", tenant_name(*t)),
                None => format!("unresolved principal {id}"),
            },
            Node::Placeholder { partner, group } => format!(
                "{} of {} (members unknown)",
                group.group_name(),
                tenant_name(*partner)
            ),
            Node::Resource { tenant, scope } => {
                if scope.is_directory() {
                    format!("directory of {}", tenant_name(*tenant))
                } else {
                    format!("{} in {}", scope.as_str(), tenant_name(*tenant))
                }
            }
        }
    }

    /// A compact name for a node on a path: a principal's display name, or
    /// the full label for placeholders and unresolved principals.
    fn short(&self, snapshot: &Snapshot, node: NodeIndex) -> String {
        match &self.graph[node] {
            Node::Principal(i) => snapshot.principals[*i as usize].display_name.to_string(),
            _ => self.label(snapshot, node),
        }
    }

    fn tenant_name(&self, snapshot: &Snapshot, t: Guid) -> String {
        self.tenant_index.get(&t).map_or_else(
            || format!("tenant {t}"),
            |&i| snapshot.tenants[i as usize].name.to_string(),
        )
    }

    /// Renders one explaining path compactly:
    /// `Anna Larsen → Azure Operators → AdminAgents (Northwind IT) ⇒ Global Administrator in Contoso (DAP)`.
    pub fn render_path(&self, snapshot: &Snapshot, member: &Member, grant: &Grant) -> String {
        let mut out = String::new();
        let last = member.path.len().saturating_sub(1);
        for (i, n) in member.path.iter().enumerate() {
            if i > 0 {
                out.push_str(" → ");
            }
            out.push_str(&self.short(snapshot, *n));
            if i == last {
                if let Node::Principal(pi) = self.graph[*n] {
                    let t = snapshot.principals[pi as usize].tenant_id;
                    out.push_str(&format!(" ({})", self.tenant_name(snapshot, t)));
                }
            }
        }
        let role = snapshot.roles.name(grant.role);
        let target = match &self.graph[grant.resource] {
            Node::Resource { tenant, scope } if scope.is_directory() => {
                format!("in {}", self.tenant_name(snapshot, *tenant))
            }
            Node::Resource { scope, .. } => format!("on {}", scope.as_str()),
            _ => String::new(),
        };
        let how = match grant.via {
            Via::Explicit(_) => "assigned".to_string(),
            Via::Dap { .. } => "DAP".to_string(),
            Via::Gdap { relationship, .. } => format!(
                "GDAP {}",
                snapshot.relationships[relationship as usize]
                    .relationship_id
                    .as_deref()
                    .unwrap_or("?")
            ),
        };
        out.push_str(&format!(" ⇒ {role} {target} ({how})"));
        out
    }

    /// One line of evidence naming a grant and the snapshot row behind it.
    pub fn describe_grant(&self, snapshot: &Snapshot, grant: &Grant) -> String {
        let holder = self.label(snapshot, grant.holder);
        let role = snapshot.roles.name(grant.role);
        let resource = self.label(snapshot, grant.resource);
        match grant.via {
            Via::Explicit(i) => format!(
                "{holder} is assigned {role} on {resource} ({})",
                snapshot.cite(snapshot.role_assignments[i as usize].loc)
            ),
            Via::Dap { relationship, .. } => format!(
                "{holder} holds {role} in the {resource} implicitly through active DAP ({})",
                snapshot.cite(snapshot.relationships[relationship as usize].loc)
            ),
            Via::Gdap {
                relationship,
                access_assignment,
            } => format!(
                "{holder} holds {role} in the {resource} through GDAP relationship {} ({}) and its access assignment ({})",
                snapshot.relationships[relationship as usize].relationship_id.as_deref().unwrap_or("?"),
                snapshot.cite(snapshot.relationships[relationship as usize].loc),
                snapshot.cite(snapshot.gdap_access_assignments[access_assignment as usize].loc)
            ),
        }
    }
}
