//! Graph cross-tenant access settings of a customer tenant:
//! `GET /policies/crossTenantAccessPolicy/default`, `…/partners` (with or
//! without `$expand=identitySynchronization`) and a partner's
//! `…/partners/{id}/identitySynchronization`, from the customer's folder.
//!
//! Mapping decisions (docs/exporting.md has the table):
//! - An item without `tenantId` is the customer's default entry; with one,
//!   the entry for that tenant. Graph `null` stays empty (the value is
//!   inherited when the audit resolves it), `false` stays `false`.
//! - `b2bCollaborationInbound` / `b2bDirectConnectInbound` are summarised:
//!   `blocked` when `usersAndGroups` or `applications` blocks all
//!   (`AllUsers`, `AllApplications`), `allowed` when both allow all,
//!   `limited` otherwise; `null` stays empty.
//! - An identity synchronisation item (`userSyncInbound`) merges into the
//!   entry of its `tenantId`.

use serde_json::Value;

use super::graph_partner::each;
use super::source::{Item, Obj};
use super::{opt_guid, quote, Ctx, File, Problems};
use crate::snapshot::{CrossTenantAccess, Diagnostic, InboundAccess};

/// Maps one cross-tenant access settings file.
pub(super) fn read(ctx: &mut Ctx, f: &File) {
    each(ctx, f, "cross_tenant_access", entry);
}

/// A boolean at `path` (dotted, under `item`): JSON `true`/`false`, or
/// absent / `null` (inherited). Anything else is an error naming the path.
fn flag(f: &File, item: &Item, path: &str) -> Result<Option<bool>, Diagnostic> {
    let mut obj = Some(item.obj.clone());
    let mut parts = path.split('.').peekable();
    while let Some(key) = parts.next() {
        let Some(o) = obj.take() else {
            return Ok(None);
        };
        if parts.peek().is_some() {
            obj = o.obj(key);
            continue;
        }
        return match o.get(key) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(other) => match o.bool(key) {
                Some(b) => Ok(Some(b)),
                None => Err(f
                    .error(
                        item,
                        path,
                        format!("invalid boolean {}", quote(&other.to_string())),
                    )
                    .with_expected("true, false or null (null inherits the default entry)")),
            },
        };
    }
    Ok(None)
}

/// The targets of one `crossTenantAccessPolicyTargetConfiguration`:
/// `(blocked, covers everything)`, or `None` when it is `null`.
fn targets(
    f: &File,
    item: &Item,
    path: &str,
    all: &str,
) -> Result<Option<(bool, bool)>, Diagnostic> {
    let mut parts = path.split('.');
    let (Some(outer), Some(inner)) = (parts.next(), parts.next()) else {
        return Ok(None);
    };
    let Some(cfg) = item.obj.obj(outer).and_then(|o| o.obj(inner)) else {
        return Ok(None);
    };
    let blocked = match cfg
        .str("accessType")
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("allowed") => false,
        Some("blocked") => true,
        None => return Ok(None),
        Some(other) => {
            return Err(f
                .error(
                    item,
                    &format!("{path}.accessType"),
                    format!("invalid access type {}", quote(other)),
                )
                .with_expected("allowed or blocked"))
        }
    };
    let everything = cfg.arr("targets").into_iter().flatten().any(|t| match t {
        Value::Object(m) => Obj::new(m.clone())
            .str("target")
            .is_some_and(|x| x.eq_ignore_ascii_case(all)),
        _ => false,
    });
    Ok(Some((blocked, everything)))
}

/// A B2B setting summarised as allowed / limited / blocked.
fn access(f: &File, item: &Item, key: &str) -> Result<Option<InboundAccess>, Diagnostic> {
    let users = targets(f, item, &format!("{key}.usersAndGroups"), "AllUsers")?;
    let apps = targets(f, item, &format!("{key}.applications"), "AllApplications")?;
    Ok(match (users, apps) {
        (None, None) => None,
        (u, a) => {
            let sides = [u, a];
            let present = sides.iter().flatten();
            if present.clone().any(|&(blocked, all)| blocked && all) {
                Some(InboundAccess::Blocked)
            } else if sides.iter().all(|s| matches!(s, Some((false, true)))) {
                Some(InboundAccess::Allowed)
            } else {
                Some(InboundAccess::Limited)
            }
        }
    })
}

fn entry(ctx: &mut Ctx, f: &File, item: &Item) -> Result<(), Diagnostic> {
    let customer = f.tenant();
    let mut problems = Problems::default();
    let partner = problems.take(opt_guid(f, item, "tenantId")).flatten();
    if partner == Some(customer) {
        return Err(f
            .error(
                item,
                "tenantId",
                format!("entry for `{customer}`, the tenant the file is filed under"),
            )
            .with_expected(
                "a partner entry for another tenant, or the default entry (no tenantId)",
            ));
    }
    let mut b = |path: &str| problems.take(flag(f, item, path)).flatten();
    let is_service_provider = b("isServiceProvider");
    let inbound_mfa_accepted = b("inboundTrust.isMfaAccepted");
    let inbound_compliant_device_accepted = b("inboundTrust.isCompliantDeviceAccepted");
    let inbound_hybrid_joined_device_accepted =
        b("inboundTrust.isHybridAzureADJoinedDeviceAccepted");
    let automatic_redemption_inbound = b("automaticUserConsentSettings.inboundAllowed");
    let sync = b("identitySynchronization.userSyncInbound.isSyncAllowed");
    let own_sync = b("userSyncInbound.isSyncAllowed");
    let b2b_collaboration_inbound = problems
        .take(access(f, item, "b2bCollaborationInbound"))
        .flatten();
    let b2b_direct_connect_inbound = problems
        .take(access(f, item, "b2bDirectConnectInbound"))
        .flatten();
    problems.check(ctx)?;
    ctx.sink.cross_tenant(CrossTenantAccess {
        loc: f.loc(item.line),
        tenant_id: customer,
        partner_tenant_id: partner,
        is_service_provider,
        inbound_mfa_accepted,
        inbound_compliant_device_accepted,
        inbound_hybrid_joined_device_accepted,
        automatic_redemption_inbound,
        b2b_collaboration_inbound,
        b2b_direct_connect_inbound,
        user_sync_inbound: sync.or(own_sync),
    });
    Ok(())
}
