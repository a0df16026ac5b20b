//! Azure exports: ARM `roleAssignments` (`{value, nextLink}`, fields under
//! `properties`), `az role assignment list` (flattened or, with older CLI
//! versions, nested under `properties`), `az account list` and ARM
//! `GET /subscriptions`.
//!
//! Mapping decisions:
//! - The tenant of an assignment is the tenant owning its subscription (from
//!   a subscription listing), else the file's tenant folder.
//! - The principal's home tenant: the tenant whose listings hold the object
//!   id (object ids are unique). A `ForeignGroup` — or, in `az` output, a
//!   principal with an empty `principalName` (the CLI could not resolve it in
//!   this directory) — found nowhere keeps the nil GUID
//!   `00000000-0000-0000-0000-000000000000` as its home tenant: a foreign
//!   principal of an unknown tenant (rule AZ004 reports it).
//! - A principal missing from every listing gets a principal row from `az`'s
//!   `principalName` (users, groups, service principals of the same tenant).
//! - Classic administrators (`NA(classic admins)`) have no object id: they
//!   are matched to a user by e-mail / UPN and kept as the role
//!   `Classic administrator (…)`; unmatched ones are counted and reported.
//! - Subscriptions: the tenant is `homeTenantId`, else `tenantId`, else the
//!   folder. No export records who provisioned a subscription: the export
//!   manifest's `provisioned_by` map says so, else it is empty (customer).

use std::collections::HashSet;

use super::detect::Format;
use super::sink::principal;
use super::source::Item;
use super::{opt_guid, opt_time, quote, rank, req_guid, scope, Ctx, File, Problems};
use crate::snapshot::{Diagnostic, Guid, PrincipalKind, RoleAssignment, Subscription, TenantKind};

/// The home tenant recorded for a foreign principal of unknown tenant.
pub(crate) const UNKNOWN_TENANT: Guid = Guid::from_u128(0);

/// Principal rows made from `az` output rank below every listing.
const FROM_AZ: u8 = 1;

/// Maps one Azure file.
pub(super) fn read(ctx: &mut Ctx, f: &File) {
    match f.format {
        Format::Subscriptions => {
            for item in &f.body.items {
                if let Err(d) = subscription(ctx, f, item) {
                    ctx.sink.reject("subscriptions", d);
                }
            }
        }
        Format::ArmRoleAssignments => {
            let mut warned = HashSet::new();
            for item in &f.body.items {
                if let Err(d) = role_assignment(ctx, f, item, &mut warned) {
                    ctx.sink.reject("role_assignments", d);
                }
            }
        }
        _ => {}
    }
}

fn subscription(ctx: &mut Ctx, f: &File, item: &Item) -> Result<(), Diagnostic> {
    let name = item.obj.str_any(&["name", "displayName"]);
    if name.is_some_and(|n| n.starts_with("N/A(tenant level account)")) {
        return Err(f.warning(
            item,
            "tenant-level account (no subscription): not a subscription, skipped",
        ));
    }
    let key = if item.obj.get("subscriptionId").is_some() {
        "subscriptionId"
    } else {
        "id"
    };
    let id = req_guid(f, item, key)?;
    let tenant = match opt_guid(f, item, "homeTenantId")? {
        Some(t) => t,
        None => match opt_guid(f, item, "tenantId")? {
            Some(t) => t,
            None => f.placed.tenant.ok_or_else(|| {
                f.error(
                    item,
                    "tenantId",
                    "cannot tell which tenant owns this subscription",
                )
                .with_expected(
                    "`tenantId` / `homeTenantId`, or the file inside the tenant's folder",
                )
            })?,
        },
    };
    let loc = f.loc(item.line);
    ctx.sink.tenant(tenant, loc);
    if let Some(n) = item.obj.str("tenantDisplayName") {
        ctx.sink.tenant_name(tenant, loc, rank::COPY, n);
    }
    if let Some(d) = item.obj.str("tenantDefaultDomain") {
        ctx.sink.tenant_domain(tenant, loc, rank::COPY, d);
    }
    ctx.sink.subscription(Subscription {
        loc,
        tenant_id: tenant,
        subscription_id: id,
        name: name.map_or_else(|| id.to_string(), str::to_owned).into(),
        provisioned_by_tenant_id: ctx.look.provisioned_by.get(&id).copied(),
        state: item.obj.str("state").map(Into::into),
        created_at: None,
    });
    Ok(())
}

/// A classic administrator entry of `az role assignment list --include-classic-administrators`.
fn is_classic(item: &Item) -> bool {
    ["id", "name", "roleDefinitionId"]
        .iter()
        .any(|k| item.obj.str(k).is_some_and(|v| v.starts_with("NA(")))
}

fn role_assignment(
    ctx: &mut Ctx,
    f: &File,
    item: &Item,
    warned: &mut HashSet<Guid>,
) -> Result<(), Diagnostic> {
    let Some(scope_text) = item.obj.str("scope") else {
        return Err(f
            .error(item, "scope", "missing required value")
            .with_expected("a scope such as /subscriptions/ID"));
    };
    let scope = scope(scope_text);
    let tenant = match scope.subscription().and_then(|s| ctx.sink.subscription_tenant(s)) {
        Some(t) => t,
        None => f.placed.tenant.ok_or_else(|| {
            f.error(item, "scope", format!("cannot tell which tenant owns {}", quote(scope.as_str())))
                .with_expected("the file inside the tenant's folder, or the subscription in an `az account list` export")
        })?,
    };
    let loc = f.loc(item.line);
    let upn = item.obj.str("principalName");
    if is_classic(item) {
        let role_name = item
            .obj
            .str("roleDefinitionName")
            .unwrap_or("classic administrator");
        let role_text = format!("Classic administrator ({})", role_name.replace(';', ", "));
        let Some(pid) = upn.and_then(|u| ctx.sink.upn_index.get(&u.to_ascii_lowercase()).copied())
        else {
            return Err(f
                .warning(
                    item,
                    format!(
                        "classic administrator {} ({role_name}) on {} matches no user in the export: not imported as a role assignment",
                        quote(upn.unwrap_or("")),
                        quote(scope.as_str())
                    ),
                )
                .with_field("principalName")
                .with_help("export the users of the administrator's tenant, or review classic administrators in the Azure portal"));
        };
        let home = ctx.sink.find_principal(pid).map(|p| p.tenant_id);
        let role = ctx
            .sink
            .role(&role_text)
            .ok_or_else(|| f.error(item, "roleDefinitionName", "too many distinct roles"))?;
        ctx.sink.role_assignment(RoleAssignment {
            loc,
            tenant_id: tenant,
            scope,
            role,
            principal_id: pid,
            principal_tenant_id: home.filter(|&h| h != tenant),
            created_at: None,
        });
        return Ok(());
    }
    let mut problems = Problems::default();
    let created_at = problems.take(opt_time(f, item, "createdOn")).flatten();
    let principal_id = problems.take(match (item.obj.str("principalId"), upn) {
        (Some(_), _) => req_guid(f, item, "principalId"),
        (None, Some(u)) => ctx
            .sink
            .upn_index
            .get(&u.to_ascii_lowercase())
            .copied()
            .ok_or_else(|| {
                f.error(
                    item,
                    "principalId",
                    format!(
                        "no `principalId`, and `principalName` {} matches no user in the export",
                        quote(u)
                    ),
                )
                .with_expected("the principal's object id")
            }),
        (None, None) => Err(f
            .error(item, "principalId", "missing required value")
            .with_expected("the principal's object id")),
    });
    let role_name = item.obj.str("roleDefinitionName");
    let role = match item.obj.str("roleDefinitionId") {
        Some(def) => Ok(ctx.role_by_id(tenant, def, role_name)),
        None => match role_name {
            Some(n) => Ok(ctx.sink.role(n)),
            None => Err(f
                .error(item, "roleDefinitionId", "missing required value")
                .with_expected("a role definition id or `roleDefinitionName`")),
        },
    }
    .and_then(|r| r.ok_or_else(|| f.error(item, "roleDefinitionId", "too many distinct roles")));
    let role = problems.take(role);
    problems.check(ctx)?;
    let (Some(principal_id), Some(role)) = (principal_id, role) else {
        return Ok(());
    };
    let ptype = item
        .obj
        .str("principalType")
        .unwrap_or("")
        .to_ascii_lowercase();
    let unresolved_by_az = item.obj.present("principalName") && upn.is_none();
    let home = ctx.sink.home_of(principal_id);
    let principal_tenant_id = match home {
        Some(h) if h != tenant => Some(h),
        Some(_) => None,
        None if ptype == "foreigngroup" || unresolved_by_az => {
            if warned.insert(principal_id) {
                let why = if ptype == "foreigngroup" {
                    "a `ForeignGroup`".to_owned()
                } else {
                    "a principal `az` could not resolve (empty `principalName`)".to_owned()
                };
                ctx.sink.note(
                    f.warning(
                        item,
                        format!("`{principal_id}` is {why} that matches no principal of a tenant in the export: kept as a foreign principal of unknown home tenant `{UNKNOWN_TENANT}`"),
                    )
                    .with_field("principalId")
                    .with_help("export the partner's groups (AdminAgents) to resolve it"),
                );
            }
            Some(UNKNOWN_TENANT)
        }
        None => {
            let kind = match ptype.as_str() {
                "user" => Some(PrincipalKind::User),
                "group" => Some(PrincipalKind::Group),
                "serviceprincipal" => Some(PrincipalKind::ServicePrincipal),
                _ => None,
            };
            if let (Some(kind), Some(name)) = (kind, upn) {
                let upn = (kind == PrincipalKind::User).then_some(name);
                let p = principal(loc, tenant, principal_id, kind, name, upn, None);
                ctx.sink.principal(p, FROM_AZ);
            }
            None
        }
    };
    if principal_tenant_id.is_some_and(|h| h != UNKNOWN_TENANT && ctx.is_partner(h)) {
        ctx.sink.tenant_kind(tenant, loc, 1, TenantKind::Customer);
    }
    ctx.sink.role_assignment(RoleAssignment {
        loc,
        tenant_id: tenant,
        scope,
        role,
        principal_id,
        principal_tenant_id,
        created_at,
    });
    Ok(())
}
