//! Azure Lighthouse and partner-app exports.
//!
//! - ARM `Microsoft.ManagedServices/registrationDefinitions`: one definition
//!   per item (`properties` merged into it); its `authorizations` become
//!   standing and its `eligibleAuthorizations` eligible rows of
//!   `lighthouse_authorizations`. The customer is `manageeTenantId`, else
//!   the tenant of the subscription in the item's `id`, else the folder.
//! - ARM `registrationAssignments` (tenant-wide listing, or one
//!   subscription's; with or without `$expandRegistrationDefinition=true`):
//!   one `lighthouse_delegations` row per item, its scope the part of `id`
//!   before `/providers/Microsoft.ManagedServices`. The definition's header
//!   comes from the expanded `registrationDefinition`, else from a
//!   `registrationDefinitions` export of the same tenant.
//! - Graph `servicePrincipals` (read with the directory objects): a
//!   `service_principals` row for each one whose `appOwnerOrganizationId` is
//!   another tenant; every `appRoles` entry names its app-role id.
//! - Graph `appRoleAssignments` / `appRoleAssignedTo`: assignments to a
//!   service principal are application permissions, named from the
//!   resource's `appRoles` (else the well-known Microsoft Graph ids, else the
//!   app-role id is kept). Assignments to users and groups are no app
//!   permission and are set aside with a warning.
//! - Graph `oauth2PermissionGrants`: one delegated permission per word of
//!   `scope`.

use super::detect::Format;
use super::source::{Item, Obj};
use super::{opt_duration, opt_guid, opt_time, quote, req_guid, scope, Ctx, File};
use crate::snapshot::{
    AppPermission, ConsentType, Diagnostic, Guid, LighthouseAccess, LighthouseAuthorization,
    LighthouseDelegation, PermissionKind, ServicePrincipal,
};

/// Microsoft Graph application permissions by app-role id, for exports
/// that list no `appRoles` of the Microsoft Graph service principal.
const GRAPH_APP_ROLES: &[(Guid, &str)] = &[
    (
        Guid::from_u128(0x19dbc75e_c2e2_444c_a770_ec69d8559fc7),
        "Directory.ReadWrite.All",
    ),
    (
        Guid::from_u128(0x7ab1d382_f21e_4acd_a863_ba3e13f7da61),
        "Directory.Read.All",
    ),
    (
        Guid::from_u128(0x9e3f62cf_ca93_4989_b6ce_bf83c28f9fe8),
        "RoleManagement.ReadWrite.Directory",
    ),
    (
        Guid::from_u128(0x06b708a9_e830_4db3_a914_8e69da51d44f),
        "AppRoleAssignment.ReadWrite.All",
    ),
    (
        Guid::from_u128(0x1bfefb4e_e0b5_418b_a88f_73c46d2cc8e9),
        "Application.ReadWrite.All",
    ),
    (
        Guid::from_u128(0x741f803b_c850_494e_b5df_cde7c675a1ca),
        "User.ReadWrite.All",
    ),
    (
        Guid::from_u128(0x62a82d76_70ea_41e2_9197_370581804d09),
        "Group.ReadWrite.All",
    ),
];

/// Maps one file of these channels.
pub(super) fn read(ctx: &mut Ctx, f: &File) {
    for item in &f.body.items {
        let (table, result) = match f.format {
            Format::LighthouseDefinitions => (
                "lighthouse_authorizations",
                definition(ctx, f, item).map(drop),
            ),
            Format::LighthouseAssignments => ("lighthouse_delegations", assignment(ctx, f, item)),
            Format::AppRoleAssignments => ("app_permissions", app_role_assignment(ctx, f, item)),
            Format::PermissionGrants => ("app_permissions", permission_grant(ctx, f, item)),
            _ => return,
        };
        if let Err(d) = result {
            ctx.sink.reject(table, d);
        }
    }
}

/// The service principals of a directory-object listing (called besides
/// the principal mapping of the same file).
pub(super) fn service_principals(ctx: &mut Ctx, f: &File) {
    let tenant = f.tenant();
    for item in &f.body.items {
        let is_sp = item
            .obj
            .odata_type()
            .is_some_and(|t| t == "serviceprincipal")
            || item.obj.present("servicePrincipalType");
        if !is_sp {
            continue;
        }
        let Some(id) = item.obj.str("id").and_then(Guid::parse) else {
            continue;
        };
        if let Some(roles) = item.obj.arr("appRoles") {
            for r in roles.iter().filter_map(|v| v.as_object()) {
                let r = Obj::new(r.clone());
                if let (Some(rid), Some(value)) =
                    (r.str("id").and_then(Guid::parse), r.str("value"))
                {
                    ctx.look.app_roles.insert((id, rid), value.to_owned());
                }
            }
        }
        let owner = match opt_guid(f, item, "appOwnerOrganizationId") {
            Ok(o) => o,
            Err(d) => {
                ctx.sink.reject("service_principals", d);
                continue;
            }
        };
        if owner.is_none_or(|o| o == tenant) {
            continue;
        }
        let app_id = match req_guid(f, item, "appId") {
            Ok(a) => a,
            Err(d) => {
                ctx.sink.reject("service_principals", d);
                continue;
            }
        };
        ctx.sink.service_principal(ServicePrincipal {
            loc: f.loc(item.line),
            tenant_id: tenant,
            principal_id: id,
            app_id,
            display_name: item
                .obj
                .str("displayName")
                .map_or_else(|| app_id.to_string(), str::to_owned)
                .into(),
            owner_tenant_id: owner,
            enabled: item.obj.bool("accountEnabled"),
        });
    }
}

/// The GUID at the end of an ARM id (`…/registrationDefinitions/GUID`).
fn tail_guid(id: &str) -> Option<Guid> {
    Guid::parse(id.trim_end_matches('/').rsplit('/').next().unwrap_or(id))
}

/// A nested object of `item` as an item of its own line.
fn nested(item: &Item, v: &serde_json::Value) -> Option<Item> {
    v.as_object().map(|m| Item {
        line: item.line,
        obj: Obj::new(m.clone()),
    })
}

/// Maps a registration definition (a listed one, or one expanded into an
/// assignment): records its header and adds its authorizations. Gives
/// (customer tenant, definition id).
fn definition(ctx: &mut Ctx, f: &File, item: &Item) -> Result<(Guid, Guid), Diagnostic> {
    let def = item
        .obj
        .str("name")
        .and_then(Guid::parse)
        .or_else(|| item.obj.str("id").and_then(tail_guid))
        .ok_or_else(|| {
            f.error(item, "name", "no registration definition id")
                .with_expected("`name` or `id` ending in the definition's GUID")
        })?;
    let from_sub = item
        .obj
        .str("id")
        .and_then(|id| scope(id).subscription())
        .and_then(|s| ctx.sink.subscription_tenant(s));
    let tenant = match opt_guid(f, item, "manageeTenantId")? {
        Some(t) => t,
        None => from_sub.or(f.placed.tenant).ok_or_else(|| {
            f.error(
                item,
                "manageeTenantId",
                "cannot tell which customer tenant the definition belongs to",
            )
            .with_expected("`manageeTenantId`, or the file inside the customer's tenant folder")
        })?,
    };
    let managing = req_guid(f, item, "managedByTenantId")?;
    if let Some(n) = item.obj.str("manageeTenantName") {
        let loc = f.loc(item.line);
        ctx.sink.tenant(tenant, loc);
        ctx.sink.tenant_name(tenant, loc, super::rank::COPY, n);
    }
    let name = item.obj.str("managedByTenantName").map(str::to_owned);
    let offer = item
        .obj
        .str("registrationDefinitionName")
        .map(str::to_owned);
    ctx.look
        .lighthouse_definitions
        .insert((tenant, def), (managing, name, offer));
    for (key, access) in [
        ("authorizations", LighthouseAccess::Standing),
        ("eligibleAuthorizations", LighthouseAccess::Eligible),
    ] {
        let list = item.obj.arr(key).cloned().unwrap_or_default();
        for (i, v) in list.iter().enumerate() {
            let Some(a) = nested(item, v) else {
                ctx.sink.reject(
                    "lighthouse_authorizations",
                    f.error(item, &format!("{key}[{i}]"), "not an object")
                        .with_expected("an authorization object"),
                );
                continue;
            };
            if let Err(d) = authorization(ctx, f, &a, (tenant, def), access) {
                ctx.sink.reject("lighthouse_authorizations", d);
            }
        }
    }
    Ok((tenant, def))
}

fn authorization(
    ctx: &mut Ctx,
    f: &File,
    a: &Item,
    (tenant, def): (Guid, Guid),
    access: LighthouseAccess,
) -> Result<(), Diagnostic> {
    let principal = req_guid(f, a, "principalId")?;
    let role_text = a.obj.str("roleDefinitionId").ok_or_else(|| {
        f.error(a, "roleDefinitionId", "missing required value")
            .with_expected("an Azure role-definition GUID")
    })?;
    let mut roles = Vec::new();
    let role_id = |ctx: &mut Ctx, text: &str| {
        ctx.sink.role(text).ok_or_else(|| {
            f.error(
                a,
                "roleDefinitionId",
                format!("cannot intern role {}", quote(text)),
            )
        })
    };
    roles.push(role_id(ctx, role_text)?);
    for d in a
        .obj
        .arr("delegatedRoleDefinitionIds")
        .into_iter()
        .flatten()
    {
        if let Some(text) = d.as_str() {
            roles.push(role_id(ctx, text)?);
        }
    }
    let policy = a
        .obj
        .obj("justInTimeAccessPolicy")
        .map(|obj| Item { line: a.line, obj });
    let (mfa, max, approvers) = match &policy {
        Some(p) => {
            let mut approvers = Vec::new();
            for v in p.obj.arr("managedByTenantApprovers").into_iter().flatten() {
                if let Some(x) = nested(p, v) {
                    approvers.push(req_guid(f, &x, "principalId")?);
                }
            }
            (
                p.obj.str("multiFactorAuthProvider").map(Into::into),
                opt_duration(f, p, "maximumActivationDuration")?,
                approvers,
            )
        }
        None => (None, None, Vec::new()),
    };
    ctx.sink.lighthouse_authorization(LighthouseAuthorization {
        loc: f.loc(a.line),
        tenant_id: tenant,
        definition_id: def,
        principal_id: principal,
        principal_name: a.obj.str("principalIdDisplayName").map(Into::into),
        roles,
        access,
        mfa_provider: mfa,
        max_activation: max,
        approvers,
    });
    Ok(())
}

const PROVIDERS: &str = "/providers/microsoft.managedservices/";

fn assignment(ctx: &mut Ctx, f: &File, item: &Item) -> Result<(), Diagnostic> {
    let id = item.obj.str("id").ok_or_else(|| {
        f.error(item, "id", "missing required value")
            .with_expected("the assignment's ARM id, which holds its scope")
    })?;
    let cut = id.to_ascii_lowercase().find(PROVIDERS).ok_or_else(|| {
        f.error(item, "id", format!("not a registration assignment id: {}", quote(id)))
            .with_expected("/subscriptions/ID[/resourceGroups/NAME]/providers/Microsoft.ManagedServices/registrationAssignments/GUID")
    })?;
    let sc = scope(&id[..cut]);
    let expanded = item
        .obj
        .get("registrationDefinition")
        .and_then(|v| nested(item, v));
    let expanded = match expanded {
        Some(d) => Some(definition(ctx, f, &d)?),
        None => None,
    };
    let def = item
        .obj
        .str("registrationDefinitionId")
        .and_then(tail_guid)
        .or(expanded.map(|e| e.1))
        .ok_or_else(|| {
            f.error(item, "registrationDefinitionId", "missing required value")
                .with_expected("the registration definition's id")
        })?;
    let tenant = sc
        .subscription()
        .and_then(|s| ctx.sink.subscription_tenant(s))
        .or(expanded.map(|e| e.0))
        .or(f.placed.tenant)
        .ok_or_else(|| {
            f.error(item, "id", format!("cannot tell which tenant owns {}", quote(sc.as_str())))
                .with_expected("the file inside the customer's tenant folder, the subscription in an `az account list` export, or `$expandRegistrationDefinition=true`")
        })?;
    let Some((managing, name, offer)) =
        ctx.look.lighthouse_definitions.get(&(tenant, def)).cloned()
    else {
        return Err(f
            .error(
                item,
                "registrationDefinitionId",
                format!("registration definition `{def}` is not in the export"),
            )
            .with_expected("`$expandRegistrationDefinition=true`, or the tenant's `registrationDefinitions` export next to it"));
    };
    ctx.sink.lighthouse_delegation(LighthouseDelegation {
        loc: f.loc(item.line),
        tenant_id: tenant,
        scope: sc,
        definition_id: def,
        managing_tenant_id: managing,
        managing_tenant_name: name.map(Into::into),
        offer_name: offer.map(Into::into),
        assignment_id: item.obj.str("name").and_then(Guid::parse),
        state: item.obj.str("provisioningState").map(Into::into),
    });
    Ok(())
}

fn app_role_assignment(ctx: &mut Ctx, f: &File, item: &Item) -> Result<(), Diagnostic> {
    if let Some(kind) = item
        .obj
        .str("principalType")
        .filter(|k| !k.eq_ignore_ascii_case("ServicePrincipal"))
    {
        return Err(f.warning(
            item,
            format!("app role assigned to a {kind}: not an app permission, set aside"),
        ));
    }
    let tenant = f.tenant();
    let client = req_guid(f, item, "principalId")?;
    let resource = opt_guid(f, item, "resourceId")?;
    let role = req_guid(f, item, "appRoleId")?;
    if role == Guid::default() {
        return Err(f.warning(
            item,
            "default access (app role 00000000-…): no permission, set aside",
        ));
    }
    let permission = resource
        .and_then(|r| ctx.look.app_roles.get(&(r, role)).cloned())
        .or_else(|| {
            GRAPH_APP_ROLES
                .iter()
                .find(|(g, _)| *g == role)
                .map(|(_, n)| (*n).to_owned())
        })
        .unwrap_or_else(|| role.to_string());
    push_permission(
        ctx,
        f,
        item,
        AppPermission {
            loc: f.loc(item.line),
            tenant_id: tenant,
            client_id: client,
            role: crate::snapshot::roles::RoleId(0),
            permission: permission.into(),
            kind: PermissionKind::Application,
            resource_id: resource,
            resource_name: item.obj.str("resourceDisplayName").map(Into::into),
            consent_type: None,
            principal_id: None,
            granted_at: opt_time(f, item, "createdDateTime")?,
        },
    )
}

fn permission_grant(ctx: &mut Ctx, f: &File, item: &Item) -> Result<(), Diagnostic> {
    let tenant = f.tenant();
    let client = req_guid(f, item, "clientId")?;
    let resource = opt_guid(f, item, "resourceId")?;
    let consent = match item.obj.str("consentType") {
        Some(t) if t.eq_ignore_ascii_case("AllPrincipals") => Some(ConsentType::AllPrincipals),
        Some(t) if t.eq_ignore_ascii_case("Principal") => Some(ConsentType::Principal),
        Some(t) => {
            return Err(f
                .error(
                    item,
                    "consentType",
                    format!("invalid consent type {}", quote(t)),
                )
                .with_expected("AllPrincipals or Principal"))
        }
        None => None,
    };
    let principal = opt_guid(f, item, "principalId")?;
    let scopes: Vec<String> = item
        .obj
        .str("scope")
        .unwrap_or("")
        .split_whitespace()
        .map(str::to_owned)
        .collect();
    if scopes.is_empty() {
        return Err(f.warning(
            item,
            "permission grant with an empty scope: no permission, set aside",
        ));
    }
    for s in scopes {
        push_permission(
            ctx,
            f,
            item,
            AppPermission {
                loc: f.loc(item.line),
                tenant_id: tenant,
                client_id: client,
                role: crate::snapshot::roles::RoleId(0),
                permission: s.into(),
                kind: PermissionKind::Delegated,
                resource_id: resource,
                resource_name: None,
                consent_type: consent,
                principal_id: principal,
                granted_at: None,
            },
        )?;
    }
    Ok(())
}

/// Interns the permission as a role and adds the row.
fn push_permission(
    ctx: &mut Ctx,
    f: &File,
    item: &Item,
    mut p: AppPermission,
) -> Result<(), Diagnostic> {
    p.role = ctx.sink.role(&p.permission).ok_or_else(|| {
        f.error(
            item,
            "permission",
            "too many distinct roles and permissions",
        )
    })?;
    ctx.sink.app_permission(p);
    Ok(())
}
