//! Fact tables of the Azure Lighthouse and partner-app channels.

use super::super::expr::{Ty, Value};
use super::{int, opt, principal_count, scope_level, Core, Ctx, FactTable, FieldDef, ResourceKey};
use crate::graph::Via;
use crate::snapshot::roles::RoleId;
use crate::snapshot::{
    AppPermission, Guid, LighthouseAccess, LighthouseAuthorization, LighthouseDelegation, RelKind,
    ServicePrincipal, TenantKind,
};

/// User Access Administrator's role-definition id.
const USER_ACCESS_ADMINISTRATOR: Guid = Guid::from_u128(0x18d7d88d_d35e_4fb5_a5c3_7773c20a72d9);

/// Application and delegated permissions that write tenant-wide to the
/// directory, its policies, its apps or every mailbox and site: what a
/// compromised app owner can use against the whole customer.
const TENANT_WIDE_WRITE: &[&str] = &[
    "Directory.ReadWrite.All",
    "RoleManagement.ReadWrite.Directory",
    "AppRoleAssignment.ReadWrite.All",
    "Application.ReadWrite.All",
    "User.ReadWrite.All",
    "Group.ReadWrite.All",
    "GroupMember.ReadWrite.All",
    "Domain.ReadWrite.All",
    "Policy.ReadWrite.ConditionalAccess",
    "Policy.ReadWrite.AuthenticationMethod",
    "UserAuthenticationMethod.ReadWrite.All",
    "PrivilegedAccess.ReadWrite.AzureAD",
    "PrivilegedAssignmentSchedule.ReadWrite.AzureADGroup",
    "DelegatedPermissionGrant.ReadWrite.All",
    "DeviceManagementConfiguration.ReadWrite.All",
    "DeviceManagementManagedDevices.ReadWrite.All",
    "DeviceManagementRBAC.ReadWrite.All",
    "Mail.ReadWrite",
    "Mail.Send",
    "Files.ReadWrite.All",
    "Sites.ReadWrite.All",
    "Sites.FullControl.All",
    "full_access_as_app",
    "Exchange.ManageAsApp",
];

/// Permissions with which an app can make itself or anybody a Global
/// Administrator or grant itself any other permission.
const ESCALATES: &[&str] = &[
    "RoleManagement.ReadWrite.Directory",
    "AppRoleAssignment.ReadWrite.All",
    "Application.ReadWrite.All",
    "DelegatedPermissionGrant.ReadWrite.All",
    "PrivilegedAccess.ReadWrite.AzureAD",
];

fn listed(list: &[&str], permission: &str) -> bool {
    list.iter().any(|p| p.eq_ignore_ascii_case(permission))
}

/// Any active relationship (reseller, DAP or GDAP) between `p` and `c`.
fn relationship_active(c: &Ctx<'_>, p: Guid, cu: Guid) -> bool {
    [RelKind::Reseller, RelKind::Dap, RelKind::Gdap]
        .into_iter()
        .any(|k| c.has_active(p, cu, k))
}

/// Active DAP or GDAP (admin access) between `p` and `c`.
fn admin_active(c: &Ctx<'_>, p: Guid, cu: Guid) -> bool {
    c.has_active(p, cu, RelKind::Dap) || c.has_active(p, cu, RelKind::Gdap)
}

fn relationship_state(c: &Ctx<'_>, p: Guid, cu: Guid) -> &'static str {
    if relationship_active(c, p, cu) {
        "active"
    } else if c.pair(p, cu).is_some() {
        "ended"
    } else {
        "none"
    }
}

/// A Lighthouse grant: (delegation, authorization).
pub struct LhRow {
    delegation: u32,
    authorization: u32,
}

fn del<'a>(c: &'a Ctx<'a>, r: &LhRow) -> &'a LighthouseDelegation {
    &c.s.lighthouse_delegations[r.delegation as usize]
}

fn auth<'a>(c: &'a Ctx<'a>, r: &LhRow) -> &'a LighthouseAuthorization {
    &c.s.lighthouse_authorizations[r.authorization as usize]
}

fn managing_name<'a>(c: &'a Ctx<'a>, r: &LhRow) -> Value<'a> {
    match c.tenant_name(del(c, r).managing_tenant_id) {
        Value::Null => del(c, r)
            .managing_tenant_name
            .as_deref()
            .map_or(Value::Null, Value::Str),
        v => v,
    }
}

fn role_names(c: &Ctx<'_>, roles: &[RoleId]) -> Value<'static> {
    let names: Vec<&str> = roles.iter().map(|&r| c.s.roles.name(r)).collect();
    Value::Owned(names.join(", "))
}

fn is_uaa(c: &Ctx<'_>, r: RoleId) -> bool {
    c.s.roles.info(r).template_id == Some(USER_ACCESS_ADMINISTRATOR)
}

fact_table!(LighthouseGrants, "lighthouse_authorization", LhRow,
    "One row per Azure Lighthouse authorization in force on a delegated scope: a principal of the managing tenant holding an Azure role on a customer subscription or resource group, standing or eligible (just in time), with the partner relationship between the managing tenant and the customer.",
    |c, core, r| {
        "customer_tenant_id": Id = Value::Id(del(c, r).tenant_id); "the customer (managee) tenant"
        "customer_name": Str = c.tenant_name(del(c, r).tenant_id); "its display name"
        "managing_tenant_id": Id = Value::Id(del(c, r).managing_tenant_id); "the tenant the access is delegated to"
        "managing_tenant_name": Str = managing_name(c, r); "its name (the tenants table's, else the definition's)"
        "managing_tenant_is_partner": Bool = Value::Bool(c.is_partner(del(c, r).managing_tenant_id)); "the managing tenant is a known partner (tenants.kind `partner` or a relationship's partner)"
        "managing_tenant_known": Bool = Value::Bool(c.g.tenant_index.contains_key(&del(c, r).managing_tenant_id)); "the managing tenant is in the tenants table"
        "relationship": Str = Value::Str(relationship_state(c, del(c, r).managing_tenant_id, del(c, r).tenant_id)); "partner relationship between the managing tenant and the customer: `active` (any active reseller, DAP or GDAP), `ended` (rows, none active) or `none`"
        "relationship_active": Bool = Value::Bool(relationship_active(c, del(c, r).managing_tenant_id, del(c, r).tenant_id)); "an active reseller, DAP or GDAP relationship exists between them"
        "offer_name": Str = del(c, r).offer_name.as_deref().map_or(Value::Null, Value::Str); "the registration definition's name (the offer)"
        "definition_id": Id = Value::Id(del(c, r).definition_id); "the registration definition"
        "scope": Str = Value::Str(del(c, r).scope.as_str()); "the delegated scope"
        "scope_level": Str = Value::Str(scope_level(&del(c, r).scope)); "`subscription` or `resource_group`"
        "subscription_id": Id = opt(del(c, r).scope.subscription(), Value::Id); "the delegated subscription"
        "principal_id": Id = Value::Id(auth(c, r).principal_id); "the managing-tenant principal authorized"
        "principal_name": Str = auth(c, r).principal_name.as_deref().map_or(Value::Null, Value::Str); "its display name (`principalIdDisplayName`)"
        "role": Str = c.role_name(auth(c, r).role()); "the Azure role"
        "access": Str = Value::Str(auth(c, r).access.as_str()); "`standing` or `eligible`"
        "eligible": Bool = Value::Bool(auth(c, r).access == LighthouseAccess::Eligible); "just-in-time access the principal must activate"
        "grants_user_access_admin": Bool = Value::Bool(is_uaa(c, auth(c, r).role())); "the role is User Access Administrator"
        "delegated_roles": Str = role_names(c, auth(c, r).delegated_roles()); "roles it may assign to managed identities (`delegatedRoleDefinitionIds`), comma-separated"
        "delegated_role_count": Int = int(auth(c, r).delegated_roles().len()); "their number"
        "mfa_required": Bool = Value::Bool(auth(c, r).requires_mfa()); "activation requires Azure MFA (`multiFactorAuthProvider` = `Azure`)"
        "max_activation": Str = auth(c, r).max_activation.as_ref().map_or(Value::Null, |d| Value::Str(&d.text)); "longest activation (`maximumActivationDuration`)"
        "approver_count": Int = int(auth(c, r).approvers.len()); "managing-tenant approvers of an activation (`managedByTenantApprovers`)"
        "state": Str = del(c, r).state.as_deref().map_or(Value::Null, Value::Str); "the assignment's provisioning state"
        "principal_count": Int = principal_count(c, core); "enabled users holding the access (members of the authorized group when known)"
    }
);

/// An app permission (index into `Snapshot::app_permissions`) with its
/// service principal (index into `Snapshot::service_principals`), if listed.
pub struct AppRow {
    permission: u32,
    app: Option<u32>,
}

fn perm<'a>(c: &'a Ctx<'a>, r: &AppRow) -> &'a AppPermission {
    &c.s.app_permissions[r.permission as usize]
}

fn app<'a>(c: &'a Ctx<'a>, r: &AppRow) -> Option<&'a ServicePrincipal> {
    r.app.map(|i| &c.s.service_principals[i as usize])
}

fn owner(c: &Ctx<'_>, r: &AppRow) -> Option<Guid> {
    app(c, r).and_then(|a| a.owner_tenant_id)
}

/// The owner, when it is another tenant than the customer and not a known customer.
fn foreign_owner(c: &Ctx<'_>, r: &AppRow) -> Option<Guid> {
    owner(c, r).filter(|&o| o != perm(c, r).tenant_id)
}

fact_table!(AppPermissions, "app_permission", AppRow,
    "One row per permission a service principal holds in its tenant: an application permission (app-role assignment) or a delegated one (OAuth2 permission grant), with the tenant that owns the application (`appOwnerOrganizationId`) and the partner relationship between that tenant and the customer.",
    |c, core, r| {
        "customer_tenant_id": Id = Value::Id(perm(c, r).tenant_id); "the tenant the permission holds in"
        "customer_name": Str = c.tenant_name(perm(c, r).tenant_id); "its display name"
        "service_principal_id": Id = Value::Id(perm(c, r).client_id); "the app's service principal"
        "app_id": Id = app(c, r).map_or(Value::Null, |a| Value::Id(a.app_id)); "the application (client) id"
        "app_name": Str = app(c, r).map_or(Value::Null, |a| Value::Str(&a.display_name)); "the app's display name (null when not in service_principals)"
        "app_enabled": Bool = app(c, r).and_then(|a| a.enabled).map_or(Value::Null, Value::Bool); "the service principal can sign in (null = unknown)"
        "owner_tenant_id": Id = opt(owner(c, r), Value::Id); "the tenant that owns the application"
        "owner_name": Str = owner(c, r).map_or(Value::Null, |o| c.tenant_name(o)); "its display name"
        "owner_is_partner": Bool = Value::Bool(foreign_owner(c, r).is_some_and(|o| c.is_partner(o) && c.tenant_kind(o) != Some(TenantKind::Customer))); "the owner is a known partner other than the customer"
        "relationship": Str = Value::Str(foreign_owner(c, r).map_or("none", |o| relationship_state(c, o, perm(c, r).tenant_id))); "partner relationship between the owner and the customer: `active`, `ended` or `none`"
        "partner_admin_active": Bool = Value::Bool(foreign_owner(c, r).is_some_and(|o| admin_active(c, o, perm(c, r).tenant_id))); "the owner holds active DAP or GDAP in the customer"
        "permission": Str = Value::Str(&perm(c, r).permission); "the permission (`Directory.ReadWrite.All`, ...)"
        "kind": Str = Value::Str(perm(c, r).kind.as_str()); "`application` or `delegated`"
        "consent_type": Str = perm(c, r).consent_type.map_or(Value::Null, |t| Value::Str(t.as_str())); "delegated: `all_principals` or `principal`"
        "tenant_wide": Bool = Value::Bool(perm(c, r).tenant_wide()); "an application permission, or a delegated one consented for every user"
        "writes_tenant_wide": Bool = Value::Bool(listed(TENANT_WIDE_WRITE, &perm(c, r).permission)); "a permission that writes to the whole directory, its policies, apps, devices, mail or files"
        "escalates": Bool = Value::Bool(listed(ESCALATES, &perm(c, r).permission)); "a permission with which the app can make itself or anybody Global Administrator or grant itself more permissions"
        "resource_name": Str = perm(c, r).resource_name.as_deref().map_or(Value::Null, Value::Str); "the API the permission is for (Microsoft Graph, ...)"
        "granted_at": Date = opt(perm(c, r).granted_at, Value::Date); "when it was granted"
        "principal_count": Int = principal_count(c, core); "enabled users holding it (0: an app is no user)"
    }
);

/// Rows of the Lighthouse and app-permission tables.
type ChannelRows = (Vec<(Core, LhRow)>, Vec<(Core, AppRow)>);

/// Lighthouse and app-permission rows, one per grant of those channels.
pub(super) fn rows(c: &Ctx<'_>) -> ChannelRows {
    let app_index: rustc_hash::FxHashMap<Guid, u32> =
        c.s.service_principals
            .iter()
            .enumerate()
            .map(|(i, p)| (p.principal_id, super::idx(i)))
            .collect();
    let mut lighthouse = Vec::new();
    let mut apps = Vec::new();
    for (gi, g) in c.g.grants.iter().enumerate() {
        match g.via {
            Via::Lighthouse {
                delegation,
                authorization,
            } => {
                let d = &c.s.lighthouse_delegations[delegation as usize];
                lighthouse.push((
                    Core {
                        partner: Some(d.managing_tenant_id),
                        customer: Some(d.tenant_id),
                        resource: Some(ResourceKey::Node(g.resource)),
                        role: Some(g.role),
                        assignment: None,
                        grants: vec![super::idx(gi)],
                        only: None,
                    },
                    LhRow {
                        delegation,
                        authorization,
                    },
                ));
            }
            Via::App { permission } => {
                let p = &c.s.app_permissions[permission as usize];
                let row = AppRow {
                    permission,
                    app: app_index.get(&p.client_id).copied(),
                };
                let partner = foreign_owner(c, &row);
                apps.push((
                    Core {
                        partner,
                        customer: Some(p.tenant_id),
                        resource: Some(ResourceKey::Node(g.resource)),
                        role: Some(g.role),
                        assignment: None,
                        grants: vec![super::idx(gi)],
                        only: None,
                    },
                    row,
                ));
            }
            _ => {}
        }
    }
    (lighthouse, apps)
}

impl LighthouseGrants<'_> {
    pub(super) fn boxed<'a>(c: &'a Ctx<'a>, rows: Vec<(Core, LhRow)>) -> Box<dyn FactTable + 'a> {
        Box::new(LighthouseGrants { ctx: c, rows })
    }
}

impl AppPermissions<'_> {
    pub(super) fn boxed<'a>(c: &'a Ctx<'a>, rows: Vec<(Core, AppRow)>) -> Box<dyn FactTable + 'a> {
        Box::new(AppPermissions { ctx: c, rows })
    }
}
