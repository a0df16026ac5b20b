//! GDAP: the roles an active GDAP relationship's active access assignments
//! give the partner's security groups in the customer's directory.

use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};

use super::super::{Grant, Via};
use super::Builder;
use crate::snapshot::diag::quote;
use crate::snapshot::RelKind;
use crate::snapshot::RelState;

/// Each active access assignment of an active relationship; access
/// assignments naming no GDAP relationship of the snapshot are warned about.
pub(super) fn grants(b: &mut Builder<'_>, grants: &mut Vec<Grant>) {
    let s = b.s;
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
                b.grant(grants, holder, resource, role, via);
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
}
