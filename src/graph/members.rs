//! Transitive, cycle-safe expansion of a grant holder into the principals
//! that act through it, each with one shortest path (breadth-first search
//! over incoming membership edges; a visited set makes cycles harmless).
//!
//! Paths are stored as the breadth-first tree itself: each member points at
//! the next hop towards the holder, so an expansion costs memory linear in
//! the members it lists, however deep groups nest (a chain of 100,000
//! nested groups is 100,000 entries, not 5 billion path steps). A path is
//! materialised only when a report prints it, and then at most
//! [`PATH_SHOWN_EACH_END`] principals from each end ([`Members::shown_path`]).

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

/// How many principals of a long explaining path reports show at each end
/// (the member's side and the holder's); the hops between are counted.
pub const PATH_SHOWN_EACH_END: usize = 8;

/// One principal reached from a holder.
#[derive(Clone, Debug)]
pub struct Member {
    pub node: NodeIndex,
    pub id: Option<Guid>,
    pub kind: MemberKind,
    /// Position in [`Members::list`] of the next hop on one shortest path
    /// member → … → holder (the holder's is its own, 0).
    pub parent: u32,
    /// Membership hops from the member to the holder (0 for the holder).
    pub depth: u32,
    /// Position in [`Members::list`] of the member's ancestor
    /// `PATH_SHOWN_EACH_END - 1` hops from the holder (itself when nearer),
    /// so that the holder's end of a long path is found without walking it.
    anchor: u32,
}

/// One step of a path as reports show it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Hop {
    /// A principal (member, group on the way, or the holder).
    Node(NodeIndex),
    /// This many groups on the way, left out of a long path.
    Elided(usize),
}

impl Member {
    /// Principals on the explaining path, the member and the holder included.
    pub fn path_len(&self) -> usize {
        self.depth as usize + 1
    }

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
    /// The whole explaining path of `member` (an entry of [`Members::list`]):
    /// member → … → holder. Walking it costs its length; reports use
    /// [`Members::shown_path`].
    pub fn full_path<'m>(&'m self, member: &'m Member) -> impl Iterator<Item = NodeIndex> + 'm {
        let mut cur = Some(member);
        std::iter::from_fn(move || {
            let m = cur?;
            cur = (m.depth > 0)
                .then(|| self.list.get(m.parent as usize))
                .flatten();
            Some(m.node)
        })
    }

    /// The explaining path of `member` as reports print it: whole when it
    /// has at most `2 × PATH_SHOWN_EACH_END + 1` principals, else the first
    /// and last [`PATH_SHOWN_EACH_END`] with the count of those between.
    /// Costs at most that many steps, however long the path is.
    pub fn shown_path(&self, member: &Member) -> Vec<Hop> {
        let len = member.path_len();
        if len <= 2 * PATH_SHOWN_EACH_END + 1 {
            return self.full_path(member).map(Hop::Node).collect();
        }
        let mut out = Vec::with_capacity(2 * PATH_SHOWN_EACH_END + 1);
        out.extend(
            self.full_path(member)
                .take(PATH_SHOWN_EACH_END)
                .map(Hop::Node),
        );
        out.push(Hop::Elided(len - 2 * PATH_SHOWN_EACH_END));
        if let Some(anchor) = self.list.get(member.anchor as usize) {
            out.extend(self.full_path(anchor).map(Hop::Node));
        }
        out
    }

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
        Node::App(i) => (
            MemberKind::ServicePrincipal,
            Some(snapshot.service_principals[*i as usize].principal_id),
        ),
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
                parent: 0,
                depth: 0,
                anchor: 0,
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
    let mut known = true;
    let mut list: Vec<Member> = Vec::with_capacity(order.len());
    let mut enabled_users: Vec<Guid> = Vec::new();
    let near = u32::try_from(PATH_SHOWN_EACH_END - 1).unwrap_or(u32::MAX);
    for (i, &(n, parent)) in order.iter().enumerate() {
        let (kind, id) = kind_of(graph, snapshot, n);
        if kind == MemberKind::Placeholder {
            known = false;
        }
        let at = u32::try_from(i).unwrap_or(u32::MAX);
        // Parents come first in breadth-first order.
        let (depth, anchor) = match list.get(parent as usize) {
            Some(p) if i > 0 => {
                let depth = p.depth + 1;
                let anchor = if depth <= near {
                    at
                } else if p.depth == near {
                    parent
                } else {
                    p.anchor
                };
                (depth, anchor)
            }
            _ => (0, at),
        };
        let member = Member {
            node: n,
            id,
            kind,
            parent,
            depth,
            anchor,
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
