//! Partner-app tables: `service_principals` (an application's instance in a
//! tenant and the tenant that owns the application) and `app_permissions`
//! (application and delegated permissions those service principals hold).

use super::super::model::{AppPermission, ConsentType, PermissionKind, ServicePrincipal};

// A consent type on an application permission is irrelevant (only
// delegated grants have one) and kept as given; `tenant_wide` reads it
// for delegated permissions only.
use super::{Column, LocalRoles, Row};

pub(crate) mod service_principals {
    columns!(
        TENANT_ID = "tenant_id" required,
        PRINCIPAL_ID = "principal_id" required,
        APP_ID = "app_id" required,
        DISPLAY_NAME = "display_name" required,
        OWNER_TENANT_ID = "owner_tenant_id",
        ENABLED = "enabled",
    );
}

pub(crate) mod app_permissions {
    columns!(
        TENANT_ID = "tenant_id" required,
        CLIENT_ID = "client_id" required,
        PERMISSION = "permission" required,
        KIND = "kind" required,
        RESOURCE_ID = "resource_id",
        RESOURCE_NAME = "resource_name",
        CONSENT_TYPE = "consent_type",
        PRINCIPAL_ID = "principal_id",
        GRANTED_AT = "granted_at",
    );
}

pub(super) fn service_principal(r: &mut Row<'_>) -> Option<ServicePrincipal> {
    use service_principals::*;
    let tenant_id = r.guid(TENANT_ID);
    let principal_id = r.guid(PRINCIPAL_ID);
    let app_id = r.guid(APP_ID);
    let display_name = r.text(DISPLAY_NAME);
    let owner_tenant_id = r.guid(OWNER_TENANT_ID);
    let enabled = r.boolean(ENABLED);
    Some(ServicePrincipal {
        loc: r.loc,
        tenant_id: tenant_id?,
        principal_id: principal_id?,
        app_id: app_id?,
        display_name: display_name?,
        owner_tenant_id,
        enabled,
    })
}

/// Graph's spelling (`AllPrincipals`) or the canonical one (`all_principals`).
fn consent_type(s: &str) -> Option<ConsentType> {
    ConsentType::parse(s).or_else(|| match s.trim() {
        t if t.eq_ignore_ascii_case("allprincipals") => Some(ConsentType::AllPrincipals),
        _ => None,
    })
}

pub(super) fn app_permission(r: &mut Row<'_>, roles: &mut LocalRoles) -> Option<AppPermission> {
    use app_permissions::*;
    let tenant_id = r.guid(TENANT_ID);
    let client_id = r.guid(CLIENT_ID);
    let permission = r.text(PERMISSION);
    let role = match &permission {
        Some(p) => r.intern(PERMISSION, p, roles),
        None => None,
    };
    let kind = r.vocab(KIND, PermissionKind::parse, PermissionKind::ALL);
    let resource_id = r.guid(RESOURCE_ID);
    let resource_name = r.text(RESOURCE_NAME);
    let consent = r.vocab(CONSENT_TYPE, consent_type, ConsentType::ALL);
    let principal_id = r.guid(PRINCIPAL_ID);
    let granted_at = r.timestamp(GRANTED_AT);
    Some(AppPermission {
        loc: r.loc,
        tenant_id: tenant_id?,
        client_id: client_id?,
        permission: permission?,
        role: role?,
        kind: kind?,
        resource_id,
        resource_name,
        consent_type: consent,
        principal_id,
        granted_at,
    })
}
