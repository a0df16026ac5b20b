//! Azure RBAC and directory role assignments: every explicit row of
//! `role_assignments`, including the foreign-principal assignments through
//! which a partner acts on behalf of a customer (admin on behalf of) on the
//! Azure subscriptions it provisioned.

use petgraph::graph::NodeIndex;
use rayon::prelude::*;
use rustc_hash::FxHashSet as HashSet;

use super::super::{Grant, Node, Via};
use super::{Builder, CLAIM_IMPLIED};
use crate::snapshot::Guid;

/// Adds a resource node per subscription (before any assignment scope, so
/// that subscriptions come first) and gives the known subscription ids.
pub(super) fn subscriptions(b: &mut Builder<'_>) -> HashSet<Guid> {
    let s = b.s;
    let mut sub_scope = String::from("/subscriptions/");
    for sub in &s.subscriptions {
        use std::fmt::Write;
        sub_scope.truncate("/subscriptions/".len());
        let _ = write!(sub_scope, "{}", sub.subscription_id);
        b.resource(sub.tenant_id, &sub_scope);
    }
    let known_subs: HashSet<Guid> = s.subscriptions.iter().map(|x| x.subscription_id).collect();
    known_subs
}

/// Grants of every explicit role assignment, in row order; gives each
/// assignment's resolved principal home tenant.
pub(super) fn grants(
    b: &mut Builder<'_>,
    known_subs: &HashSet<Guid>,
    grants: &mut Vec<Grant>,
) -> Vec<Guid> {
    let s = b.s;
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
        b.grant(grants, holder, resource, a.role, via);
    }
    drop(pre);
    assignment_principal_tenant
}
