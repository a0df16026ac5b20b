//! What a shard keeps of the snapshot once it is read: the partner
//! tenants' rows, its own customers' rows, and the rows of every tenant
//! whose principals reach those (a guest from another customer holding a
//! role in one of its customers, say). The rest is dropped before the
//! rules run, so that the graph, the fact tables and the reports a shard
//! builds are about its part only.
//!
//! Which tenants' principals reach a kept tenant is read off the graph of
//! the whole snapshot, walking its edges backwards (a member to its group,
//! a holder to the resource it holds a role on, a narrower scope to the one
//! that contains it) from every node of a kept tenant: every reference the
//! graph resolves is an edge, so none is missed. The whole graph also gives
//! the warnings and unresolved counts of findings.json's head, which are
//! about the whole snapshot in every shard.

use petgraph::visit::EdgeRef;
use petgraph::Direction;
use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};

use super::Shard;
use crate::graph::{AccessGraph, Node};
use crate::snapshot::{Guid, Snapshot, TenantKind};

/// The tenants whose rows shard `shard` keeps: every partner tenant, the
/// tenants the shard owns, and every tenant with a node upstream of a node
/// of those in `whole` (the graph of the whole snapshot).
pub fn kept_tenants(s: &Snapshot, whole: &AccessGraph, shard: Shard) -> HashSet<Guid> {
    let partners: HashSet<Guid> = s
        .tenants
        .iter()
        .filter(|t| t.kind == TenantKind::Partner)
        .map(|t| t.tenant_id)
        .collect();
    // A tenant's shard is a hash: each tenant's is worked out once.
    let mut owned: HashMap<Guid, bool> = HashMap::default();
    let mut seed =
        |t: Guid| partners.contains(&t) || *owned.entry(t).or_insert_with(|| shard.owns_tenant(t));
    let g = &whole.graph;
    let tenant_of = |n| match &g[n] {
        Node::Principal(i) => s.principals.get(*i as usize).map(|p| p.tenant_id),
        Node::App(i) => s.service_principals.get(*i as usize).map(|p| p.tenant_id),
        Node::Placeholder { partner, .. } => Some(*partner),
        Node::Resource { tenant, .. } => Some(*tenant),
        // Nothing in the snapshot stands for it: no rows to keep.
        Node::Unresolved { .. } => None,
    };
    // Every node of a kept tenant is walked from: all its rows are kept, so
    // whatever reaches any of its nodes must be kept too.
    let mut nodes_of: HashMap<Guid, Vec<petgraph::graph::NodeIndex>> = HashMap::default();
    for n in g.node_indices() {
        if let Some(t) = tenant_of(n) {
            nodes_of.entry(t).or_default().push(n);
        }
    }
    let mut kept: HashSet<Guid> = HashSet::default();
    let mut seen = vec![false; g.node_count()];
    let mut stack: Vec<petgraph::graph::NodeIndex> = Vec::new();
    let seeds: Vec<Guid> = s
        .tenants
        .iter()
        .map(|t| t.tenant_id)
        .chain(nodes_of.keys().copied())
        .filter(|&t| seed(t))
        .collect();
    let mut newly: Vec<Guid> = seeds;
    loop {
        // The nodes of the tenants just kept...
        for t in newly.drain(..) {
            if kept.insert(t) {
                for &n in nodes_of.get(&t).map_or(&[][..], Vec::as_slice) {
                    if !seen[n.index()] {
                        seen[n.index()] = true;
                        stack.push(n);
                    }
                }
            }
        }
        let Some(n) = stack.pop() else {
            break;
        };
        // ...and whatever reaches them, through nodes of no tenant too (an
        // unresolved group's members).
        for e in g.edges_directed(n, Direction::Incoming) {
            let up = e.source();
            if !seen[up.index()] {
                seen[up.index()] = true;
                stack.push(up);
            }
            if let Some(t) = tenant_of(up).filter(|t| !kept.contains(t)) {
                newly.push(t);
            }
        }
    }
    kept
}

/// Drops the rows of every tenant but `keep`'s. The tenants table stays
/// whole (reports name tenants of other shards); a row is a tenant's when
/// that tenant owns what it describes: a relationship or invitation its
/// customer's, a GDAP access assignment its relationship's customer's.
pub fn retain(s: &mut Snapshot, keep: &HashSet<Guid>) {
    let kept = |t: Guid| keep.contains(&t);
    let customer_of: HashMap<&str, Guid> = s
        .relationships
        .iter()
        .filter_map(|r| Some((r.relationship_id.as_deref()?, r.customer_tenant_id)))
        .collect();
    let gdap_kept: Vec<bool> = s
        .gdap_access_assignments
        .iter()
        .map(|a| {
            customer_of
                .get(&*a.relationship_id)
                .is_none_or(|&c| kept(c))
        })
        .collect();
    let mut gdap_kept = gdap_kept.into_iter();
    s.gdap_access_assignments
        .retain(|_| gdap_kept.next().unwrap_or(true));
    s.relationships.retain(|r| kept(r.customer_tenant_id));
    s.invitations
        .retain(|x| x.customer_tenant_id.is_none_or(kept));
    s.principals.retain(|x| kept(x.tenant_id));
    s.memberships.retain(|x| kept(x.tenant_id));
    s.role_assignments.retain(|x| kept(x.tenant_id));
    s.subscriptions.retain(|x| kept(x.tenant_id));
    s.devices.retain(|x| kept(x.tenant_id));
    s.autopilot_profiles.retain(|x| kept(x.tenant_id));
    s.cross_tenant_access.retain(|x| kept(x.tenant_id));
    s.lighthouse_delegations.retain(|x| kept(x.tenant_id));
    s.lighthouse_authorizations.retain(|x| kept(x.tenant_id));
    s.service_principals.retain(|x| kept(x.tenant_id));
    s.app_permissions.retain(|x| kept(x.tenant_id));
}

/// Whether the graph of the kept rows resolves every reference the whole
/// graph does: each of its warnings `part` (an unresolved principal, say)
/// is one of the whole graph's, `whole`. Were a kept row's reference into a dropped tenant
/// missed, it would show here as a new warning.
pub fn resolves_alike(
    part: &[crate::snapshot::Diagnostic],
    whole: &[crate::snapshot::Diagnostic],
) -> bool {
    let mut known: HashMap<&crate::snapshot::Diagnostic, usize> = HashMap::default();
    for d in whole {
        *known.entry(d).or_default() += 1;
    }
    part.iter().all(|d| match known.get_mut(d) {
        Some(n) if *n > 0 => {
            *n -= 1;
            true
        }
        _ => false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::load;

    /// Validates that the part's warnings must each be one of the whole's,
    /// counted: one more of the same is a difference.
    #[test]
    fn a_warning_of_the_part_must_be_one_of_the_wholes() {
        let w =
            |line: u32| crate::snapshot::Diagnostic::warning("x.csv", "unresolved").at_line(line);
        assert!(resolves_alike(&[], &[w(1)]));
        assert!(resolves_alike(&[w(1)], &[w(2), w(1)]));
        assert!(!resolves_alike(&[w(3)], &[w(1)]));
        assert!(!resolves_alike(&[w(1), w(1)], &[w(1)]));
    }

    /// Validates, on the demo, that a shard keeps every partner tenant and
    /// its own customers, and not another shard's customer no principal of
    /// which reaches its own.
    #[test]
    fn a_shard_keeps_partners_its_customers_and_what_reaches_them() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let loaded = load(&root.join("fixtures/demo"));
        let s = &loaded.snapshot;
        let g = AccessGraph::build(s);
        let shard = Shard { index: 0, count: 4 };
        let kept = kept_tenants(s, &g, shard);
        for t in &s.tenants {
            if t.kind == TenantKind::Partner || shard.owns_tenant(t.tenant_id) {
                assert!(kept.contains(&t.tenant_id), "{} kept", t.name);
            }
        }
        let others: Vec<_> = s
            .tenants
            .iter()
            .filter(|t| !kept.contains(&t.tenant_id))
            .collect();
        assert!(!others.is_empty(), "shard 0 drops some customers");
        let mut part = Snapshot {
            tenants: s.tenants.clone(),
            principals: s.principals.clone(),
            role_assignments: s.role_assignments.clone(),
            ..Snapshot::default()
        };
        retain(&mut part, &kept);
        assert_eq!(part.tenants.len(), s.tenants.len(), "tenants stay whole");
        assert!(part.principals.iter().all(|p| kept.contains(&p.tenant_id)));
        assert!(part.principals.len() < s.principals.len());
    }
}
