//! Transitive, cycle-safe expansion of a grant holder into the principals
//! that act through it, each with one shortest path (breadth-first search
//! over incoming membership edges; a visited set makes cycles harmless).

use std::collections::VecDeque;

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

/// Expands `holder` through incoming `MemberOf` edges.
pub fn expand(graph: &DiGraph<Node, Edge>, snapshot: &Snapshot, holder: NodeIndex) -> Members {
    let mut parent: HashMap<NodeIndex, NodeIndex> = HashMap::default();
    let mut order = Vec::new();
    let mut queue = VecDeque::new();
    parent.insert(holder, holder);
    queue.push_back(holder);
    while let Some(n) = queue.pop_front() {
        order.push(n);
        let mut next: Vec<NodeIndex> = graph
            .edges_directed(n, Direction::Incoming)
            .filter(|e| matches!(e.weight(), Edge::MemberOf))
            .map(|e| e.source())
            .collect();
        next.sort_unstable();
        for m in next {
            if let std::collections::hash_map::Entry::Vacant(v) = parent.entry(m) {
                v.insert(n);
                queue.push_back(m);
            }
        }
    }
    let mut known = true;
    let mut list = Vec::with_capacity(order.len());
    for n in order {
        let (kind, id) = kind_of(graph, snapshot, n);
        if kind == MemberKind::Placeholder {
            known = false;
        }
        let mut path = vec![n];
        let mut cur = n;
        while cur != holder {
            cur = parent[&cur];
            path.push(cur);
        }
        list.push(Member {
            node: n,
            id,
            kind,
            path,
        });
    }
    let mut enabled_users: Vec<Guid> = list
        .iter()
        .filter(|m| m.is_enabled_user())
        .filter_map(|m| m.id)
        .collect();
    enabled_users.sort_unstable();
    enabled_users.dedup();
    Members {
        list,
        known,
        enabled_users,
    }
}
