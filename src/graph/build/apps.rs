//! Partner apps: the permissions a service principal holds in its tenant's
//! directory, application (app-role assignments) or delegated (OAuth2
//! permission grants), each an edge labelled with the permission.

use super::super::{Grant, Node, Via};
use super::Builder;

/// A node for every service principal the `principals` table does not
/// already list (called with the principals, before any reference to them).
pub(super) fn nodes(b: &mut Builder<'_>) {
    let s = b.s;
    for (i, p) in s.service_principals.iter().enumerate() {
        if b.principal_node.get(s, &b.g, &p.principal_id).is_some() {
            continue;
        }
        let n =
            b.g.add_node(Node::App(u32::try_from(i).unwrap_or(u32::MAX)));
        b.principal_node.insert(s, &b.g, n);
    }
}

/// One grant per permission row: the client service principal → the
/// tenant's directory, the permission as the role.
pub(super) fn grants(b: &mut Builder<'_>, grants: &mut Vec<Grant>) {
    let s = b.s;
    for (pi, p) in s.app_permissions.iter().enumerate() {
        let holder = b.principal_or_unresolved(
            p.client_id,
            Some(p.tenant_id),
            p.loc,
            "client_id",
            "service principal",
        );
        let resource = b.resource(p.tenant_id, "/");
        let via = Via::App {
            permission: u32::try_from(pi).unwrap_or(u32::MAX),
        };
        b.grant(grants, holder, resource, p.role, via);
    }
}
