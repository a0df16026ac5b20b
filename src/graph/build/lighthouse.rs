//! Azure Lighthouse: each authorization of a registration definition,
//! granted to a principal of the managing tenant on every subscription or
//! resource group the definition is assigned to; standing and eligible
//! (just-in-time) authorizations are told apart by their edge kind.

use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};

use super::super::{Grant, Via};
use super::Builder;
use crate::snapshot::diag::quote;
use crate::snapshot::Guid;

/// Whether a delegation's `provisioningState` lets its authorizations act
/// (absent = as exported, in force).
fn in_force(state: Option<&str>) -> bool {
    state.is_none_or(|s| s.eq_ignore_ascii_case("succeeded"))
}

/// One grant per (delegation in force, authorization of its definition).
pub(super) fn grants(b: &mut Builder<'_>, grants: &mut Vec<Grant>) {
    let s = b.s;
    if s.lighthouse_delegations.is_empty() && s.lighthouse_authorizations.is_empty() {
        return;
    }
    let mut by_definition: HashMap<(Guid, Guid), Vec<u32>> = HashMap::default();
    for (ai, a) in s.lighthouse_authorizations.iter().enumerate() {
        by_definition
            .entry((a.tenant_id, a.definition_id))
            .or_default()
            .push(u32::try_from(ai).unwrap_or(u32::MAX));
    }
    let mut assigned: HashSet<(Guid, Guid)> = HashSet::default();
    for (di, d) in s.lighthouse_delegations.iter().enumerate() {
        let key = (d.tenant_id, d.definition_id);
        assigned.insert(key);
        let Some(authorizations) = by_definition.get(&key) else {
            *b.unresolved.entry("lighthouse definition").or_default() += 1;
            b.warn(
                Some(d.loc),
                Some("definition_id"),
                format!(
                    "Lighthouse definition `{}` has no authorization in the snapshot: the delegation grants nobody anything",
                    d.definition_id
                ),
            );
            continue;
        };
        if !in_force(d.state.as_deref()) {
            continue;
        }
        let resource = b.resource(d.tenant_id, d.scope.as_str());
        let delegation = u32::try_from(di).unwrap_or(u32::MAX);
        for &ai in authorizations {
            let a = &s.lighthouse_authorizations[ai as usize];
            let holder = b.principal_or_unresolved(
                a.principal_id,
                Some(d.managing_tenant_id),
                a.loc,
                "principal_id",
                "principal",
            );
            let via = Via::Lighthouse {
                delegation,
                authorization: ai,
            };
            b.grant(grants, holder, resource, a.role(), via);
        }
    }
    for a in &s.lighthouse_authorizations {
        if assigned.insert((a.tenant_id, a.definition_id)) {
            b.warn(
                Some(a.loc),
                Some("definition_id"),
                format!(
                    "authorization of Lighthouse definition {} which no delegation assigns: it grants nothing",
                    quote(&a.definition_id.to_string())
                ),
            );
        }
    }
}
