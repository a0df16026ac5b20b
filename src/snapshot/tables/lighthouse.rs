//! Azure Lighthouse tables: `lighthouse_delegations` (a registration
//! assignment with its definition's header) and `lighthouse_authorizations`
//! (the standing and just-in-time authorizations of a definition).

use super::super::fields::{self, Invalid};
use super::super::model::{
    Guid, LighthouseAccess, LighthouseAuthorization, LighthouseDelegation, Scope,
};
use super::{Cell, Column, LocalRoles, Row};

pub(crate) mod lighthouse_delegations {
    columns!(
        TENANT_ID = "tenant_id" required,
        SCOPE = "scope" required,
        DEFINITION_ID = "definition_id" required,
        MANAGING_TENANT_ID = "managing_tenant_id" required,
        MANAGING_TENANT_NAME = "managing_tenant_name",
        OFFER_NAME = "offer_name",
        ASSIGNMENT_ID = "assignment_id",
        STATE = "state",
    );
}

pub(crate) mod lighthouse_authorizations {
    columns!(
        TENANT_ID = "tenant_id" required,
        DEFINITION_ID = "definition_id" required,
        PRINCIPAL_ID = "principal_id" required,
        ROLE = "role" required,
        ACCESS = "access" required,
        PRINCIPAL_NAME = "principal_name",
        DELEGATED_ROLES = "delegated_roles",
        MFA_PROVIDER = "mfa_provider",
        MAX_ACTIVATION = "max_activation",
        APPROVERS = "approvers",
    );
}

const SCOPE_EXPECTED: &str =
    "a subscription or resource-group scope such as /subscriptions/ID or /subscriptions/ID/resourceGroups/NAME";

/// A Lighthouse assignment scope: a subscription or a resource group in one.
fn delegation_scope(cell: &str) -> Result<Scope, Invalid> {
    let scope = fields::scope(cell);
    let segments: Vec<&str> = scope.as_str().split('/').skip(1).collect();
    let ok = match segments.as_slice() {
        [subs, id] => *subs == "subscriptions" && Guid::parse(id).is_some(),
        [subs, id, rgs, name] => {
            *subs == "subscriptions"
                && Guid::parse(id).is_some()
                && *rgs == "resourceGroups"
                && !name.is_empty()
        }
        _ => false,
    };
    if ok {
        Ok(scope)
    } else {
        Err(Invalid {
            message: format!(
                "invalid Lighthouse scope {}",
                super::super::diag::quote(cell)
            ),
            expected: SCOPE_EXPECTED.into(),
        })
    }
}

/// A list of GUIDs: a JSON array or a `;`-separated cell (empty = none).
pub(super) fn guid_list(r: &mut Row<'_>, i: usize) -> Vec<Guid> {
    let items: Vec<String> = match std::mem::take(&mut r.cells[i]) {
        Cell::List(items) => items.into_iter().map(|x| x.into_owned()).collect(),
        Cell::Text(t) => fields::list(&t).map(str::to_owned).collect(),
        Cell::Absent => return Vec::new(),
        other => {
            r.cells[i] = other;
            r.text_cell(i, "GUIDs separated by `;` (JSON: an array of strings)");
            return Vec::new();
        }
    };
    let mut out = Vec::with_capacity(items.len());
    for item in &items {
        match fields::guid(item) {
            Ok(g) => out.push(g),
            Err(e) => r.fail(i, e),
        }
    }
    out
}

pub(super) fn delegation(r: &mut Row<'_>) -> Option<LighthouseDelegation> {
    use lighthouse_delegations::*;
    let tenant_id = r.guid(TENANT_ID);
    let scope = r.parsed(SCOPE, SCOPE_EXPECTED, delegation_scope);
    let definition_id = r.guid(DEFINITION_ID);
    let managing_tenant_id = r.guid(MANAGING_TENANT_ID);
    let managing_tenant_name = r.text(MANAGING_TENANT_NAME);
    let offer_name = r.text(OFFER_NAME);
    let assignment_id = r.guid(ASSIGNMENT_ID);
    let state = r.text(STATE);
    Some(LighthouseDelegation {
        loc: r.loc,
        tenant_id: tenant_id?,
        scope: scope?,
        definition_id: definition_id?,
        managing_tenant_id: managing_tenant_id?,
        managing_tenant_name,
        offer_name,
        assignment_id,
        state,
    })
}

pub(super) fn authorization(
    r: &mut Row<'_>,
    roles: &mut LocalRoles,
) -> Option<LighthouseAuthorization> {
    use lighthouse_authorizations::*;
    let tenant_id = r.guid(TENANT_ID);
    let definition_id = r.guid(DEFINITION_ID);
    let principal_id = r.guid(PRINCIPAL_ID);
    let role = r.role(ROLE, roles);
    let access = r.vocab(ACCESS, LighthouseAccess::parse, LighthouseAccess::ALL);
    let principal_name = r.text(PRINCIPAL_NAME);
    let delegated = r.roles(DELEGATED_ROLES, roles);
    let mfa_provider = r.text(MFA_PROVIDER);
    let max_activation = r.duration(MAX_ACTIVATION);
    let approvers = guid_list(r, APPROVERS);
    let mut all = vec![role?];
    all.extend(delegated.unwrap_or_default());
    Some(LighthouseAuthorization {
        loc: r.loc,
        tenant_id: tenant_id?,
        definition_id: definition_id?,
        principal_id: principal_id?,
        principal_name,
        roles: all,
        access: access?,
        mfa_provider,
        max_activation,
        approvers,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_are_subscriptions_or_resource_groups() {
        let sub = "/subscriptions/0A1B2C3D-0000-0000-0000-000000000001";
        assert_eq!(
            delegation_scope(sub).map(|s| s.0.to_string()),
            Ok("/subscriptions/0a1b2c3d-0000-0000-0000-000000000001".into())
        );
        assert!(delegation_scope(&format!("{sub}/resourcegroups/rg-1")).is_ok());
        assert!(delegation_scope("/").is_err());
        assert!(delegation_scope(&format!("{sub}/resourceGroups/rg/providers/x/y")).is_err());
        assert!(delegation_scope("/subscriptions/not-a-guid").is_err());
    }
}
