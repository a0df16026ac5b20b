//! Transitive, cycle-safe expansion of a grant holder into the principals
//! that act through it, each with one shortest path (breadth-first search
//! over incoming membership edges; a visited set makes cycles harmless).

use rustc_hash::FxHashMap as HashMap;

use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::visit::EdgeRef;
use petgraph::Direction;

use super::{Edge, Node};
use crate::snapshot::{Guid, PrincipalKind, Snapshot};

/// What kind of member a node is, as far as effective access is concerned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MemberKind {
    /// A user; `enabled` is `false` only when the snapshot says so.
    User { enabled: bool },
    /// A service principal (holds access, but is not a user).
    ServicePrincipal,
    /// A group on the way (kept for evidence, never holds access itself).
    Group,
    /// A principal referenced but not found in the snapshot.
    Unresolved,
    /// An agent group whose members the snapshot does not hold.
    Placeholder,
}

/// One principal reached from a holder.
#[derive(Clone, Debug)]
pub struct Member {
    pub node: NodeIndex,
    pub id: Option<Guid>,
    pub kind: MemberKind,
    /// member → … → holder (inclusive), one shortest path.
    pub path: Vec<NodeIndex>,
}

impl Member {
    /// Holds effective access (SPEC §4): an enabled user or an unresolved principal.
    pub fn effective(&self) -> bool {
        matches!(
            self.kind,
            MemberKind::User { enabled: true } | MemberKind::Unresolved
        )
    }
    /// An enabled user: what a finding's `principals` lists.
    pub fn is_enabled_user(&self) -> bool {
        matches!(self.kind, MemberKind::User { enabled: true })
    }
}

/// The expansion of one holder.
#[derive(Clone, Debug, Default)]
pub struct Members {
    /// Every principal reached, holder first, in breadth-first order (ties by node id).
    pub list: Vec<Member>,
    /// False when a placeholder is involved: the snapshot cannot tell who acts.
    pub known: bool,
    /// Sorted ids of the enabled users.
    pub enabled_users: Vec<Guid>,
}

impl Members {
    /// Disabled users reached (listed in evidence, hold no access).
    pub fn disabled(&self) -> impl Iterator<Item = &Member> {
        self.list
            .iter()
            .filter(|m| matches!(m.kind, MemberKind::User { enabled: false }))
    }
}

fn kind_of(
    graph: &DiGraph<Node, Edge>,
    snapshot: &Snapshot,
    n: NodeIndex,
) -> (MemberKind, Option<Guid>) {
    match &graph[n] {
        Node::Principal(i) => {
            let p = &snapshot.principals[*i as usize];
            let k = match p.kind {
                PrincipalKind::User => MemberKind::User {
                    enabled: p.enabled != Some(false),
                },
                PrincipalKind::Group => MemberKind::Group,
                PrincipalKind::ServicePrincipal => MemberKind::ServicePrincipal,
            };
            (k, Some(p.principal_id))
        }
        Node::Unresolved { id, .. } => (MemberKind::Unresolved, Some(*id)),
        Node::Placeholder { .. } => (MemberKind::Placeholder, None),
        Node::Resource { .. } => (MemberKind::Group, None),
    }
}

/// The members of `n`: sources of incoming `MemberOf` edges, sorted.
fn members_into(graph: &DiGraph<Node, Edge>, n: NodeIndex, next: &mut Vec<NodeIndex>) {
    next.clear();
    next.extend(
        graph
            .edges_directed(n, Direction::Incoming)
            .filter(|e| matches!(e.weight(), Edge::MemberOf))
            .map(|e| e.source()),
    );
    next.sort_unstable();
}

/// Expands `holder` through incoming `MemberOf` edges.
pub fn expand(graph: &DiGraph<Node, Edge>, snapshot: &Snapshot, holder: NodeIndex) -> Members {
    let mut next = Vec::new();
    members_into(graph, holder, &mut next);
    if next.is_empty() {
        // Fast path: a holder without members (a plain explicit assignment
        // to a user, say) expands to itself alone.
        let (kind, id) = kind_of(graph, snapshot, holder);
        let enabled_users = match (kind, id) {
            (MemberKind::User { enabled: true }, Some(id)) => vec![id],
            _ => Vec::new(),
        };
        return Members {
            list: vec![Member {
                node: holder,
                id,
                kind,
                path: vec![holder],
            }],
            known: kind != MemberKind::Placeholder,
            enabled_users,
        };
    }
    // Breadth-first order: (node, position of its parent in `order`).
    let mut order: Vec<(NodeIndex, u32)> = vec![(holder, 0)];
    let mut seen: HashMap<NodeIndex, ()> = HashMap::default();
    seen.insert(holder, ());
    let mut head = 0;
    loop {
        let parent = u32::try_from(head).unwrap_or(u32::MAX);
        for &m in &next {
            if let std::collections::hash_map::Entry::Vacant(v) = seen.entry(m) {
                v.insert(());
                order.push((m, parent));
            }
        }
        head += 1;
        let Some(&(n, _)) = order.get(head) else {
            break;
        };
        members_into(graph, n, &mut next);
    }
    drop(seen);
    // Depth of each entry (the holder's is 0), for exactly sized paths.
    let mut depth: Vec<u32> = Vec::with_capacity(order.len());
    depth.push(0);
    for &(_, p) in &order[1..] {
        let d = depth[p as usize] + 1;
        depth.push(d);
    }
    let mut known = true;
    let mut list = Vec::with_capacity(order.len());
    let mut enabled_users: Vec<Guid> = Vec::new();
    for (i, &(n, _)) in order.iter().enumerate() {
        let (kind, id) = kind_of(graph, snapshot, n);
        if kind == MemberKind::Placeholder {
            known = false;
        }
        let mut path = Vec::with_capacity(depth[i] as usize + 1);
        let mut cur = i;
        path.push(n);
        while cur != 0 {
            cur = order[cur].1 as usize;
            path.push(order[cur].0);
        }
        let member = Member {
            node: n,
            id,
            kind,
            path,
        };
        if member.is_enabled_user() {
            if let Some(id) = member.id {
                enabled_users.push(id);
            }
        }
        list.push(member);
    }
    enabled_users.sort_unstable();
    enabled_users.dedup();
    enabled_users.shrink_to_fit();
    Members {
        list,
        known,
        enabled_users,
    }
}
