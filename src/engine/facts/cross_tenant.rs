//! Cross-tenant access facts: for each customer whose cross-tenant access
//! settings are in the snapshot, one row per partner tenant (every tenant
//! with a relationship to the customer, and every tenant the customer's
//! settings name) with the settings that take effect for it.
//!
//! A partner entry's null values inherit the customer's default entry, and
//! a default entry's null values Microsoft's service defaults
//! ([`CrossTenantAccess::resolve`]); each effective value says where it came
//! from, so that evidence can cite the entry to change.

use std::collections::{BTreeMap, BTreeSet};

use super::{idx, int, Core, Ctx, FactTable, FieldDef, ResourceKey, Ty, Value};
use crate::graph::Via;
use crate::snapshot::roles::{builtin, RoleId};
use crate::snapshot::{CrossTenantAccess, Effective, Guid, RelKind, RelState, Resolved};

/// One partner tenant as a customer's cross-tenant settings treat it.
pub struct XtRow {
    /// Index of the partner's own entry in `Snapshot::cross_tenant_access`.
    entry: Option<u32>,
    /// Index of the customer's default entry.
    default: Option<u32>,
    settings: Resolved,
    /// Directory roles the partner holds through active DAP or GDAP, by name.
    admin_roles: Vec<RoleId>,
    dap_active: bool,
    gdap_active: bool,
    /// A relationship of any kind or state links the tenant to the customer.
    related: bool,
}

fn entry<'a>(c: &'a Ctx<'a>, i: Option<u32>) -> Option<&'a CrossTenantAccess> {
    i.map(|i| &c.s.cross_tenant_access[i as usize])
}

fn cite(c: &Ctx<'_>, i: Option<u32>) -> Value<'static> {
    entry(c, i).map_or(Value::Null, |e| Value::Owned(c.s.cite(e.loc)))
}

fn flag(e: Effective<bool>) -> Value<'static> {
    Value::Bool(e.value)
}

fn from<T>(e: Effective<T>) -> Value<'static> {
    Value::Str(e.source.as_str())
}

fact_table!(CrossTenantPartners, "cross_tenant_partner", XtRow,
    "One row per partner tenant of a customer whose cross-tenant access settings are in the snapshot (`cross_tenant_access`): the inbound settings that take effect for that tenant (a null value in the partner's entry inherits the default entry, then Microsoft's service default) and where each came from, next to the admin roles the partner holds through active DAP or GDAP. Its principals are the partner users those roles empower.",
    |c, core, r| {
        "customer_tenant_id": Id = super::opt(core.customer, Value::Id); "the customer whose settings these are"
        "customer_name": Str = core.customer.map_or(Value::Null, |t| c.tenant_name(t)); "customer display name"
        "partner_tenant_id": Id = super::opt(core.partner, Value::Id); "the partner tenant"
        "partner_name": Str = core.partner.map_or(Value::Null, |p| c.tenant_name(p)); "partner display name (null when not in the tenants table)"
        "is_partner": Bool = Value::Bool(r.related || core.partner.is_some_and(|p| c.is_partner(p)) || entry(c, r.entry).and_then(|e| e.is_service_provider) == Some(true)); "the tenant is a partner: it has a relationship with the customer, is of kind `partner`, or its entry marks it a service provider"
        "has_partner_entry": Bool = Value::Bool(r.entry.is_some()); "the customer has an entry for this tenant (else the default entry applies in full)"
        "partner_entry_at": Str = cite(c, r.entry); "file:line of the partner entry"
        "default_entry_at": Str = cite(c, r.default); "file:line of the customer's default entry"
        "is_service_provider": Bool = Value::Bool(entry(c, r.entry).and_then(|e| e.is_service_provider) == Some(true)); "the entry marks the tenant as a service provider (`isServiceProvider`)"
        "mfa_accepted": Bool = flag(r.settings.mfa_accepted); "MFA performed in the partner tenant satisfies the customer's Conditional Access (`inboundTrust.isMfaAccepted`)"
        "mfa_accepted_from": Str = from(r.settings.mfa_accepted); "`partner entry`, `default entry` or `service default`"
        "compliant_device_accepted": Bool = flag(r.settings.compliant_device_accepted); "compliant-device claims of the partner tenant are trusted"
        "compliant_device_accepted_from": Str = from(r.settings.compliant_device_accepted); "where that value came from"
        "hybrid_joined_device_accepted": Bool = flag(r.settings.hybrid_joined_device_accepted); "hybrid-joined-device claims of the partner tenant are trusted"
        "hybrid_joined_device_accepted_from": Str = from(r.settings.hybrid_joined_device_accepted); "where that value came from"
        "automatic_redemption_inbound": Bool = flag(r.settings.automatic_redemption_inbound); "invitations from the partner tenant are redeemed without the user's consent (`automaticUserConsentSettings.inboundAllowed`)"
        "automatic_redemption_inbound_from": Str = from(r.settings.automatic_redemption_inbound); "where that value came from"
        "b2b_collaboration_inbound": Str = Value::Str(r.settings.b2b_collaboration_inbound.value.as_str()); "B2B collaboration from the partner tenant: `allowed` (all users and apps), `limited` or `blocked`"
        "b2b_collaboration_inbound_from": Str = from(r.settings.b2b_collaboration_inbound); "where that value came from"
        "b2b_direct_connect_inbound": Str = Value::Str(r.settings.b2b_direct_connect_inbound.value.as_str()); "B2B direct connect from the partner tenant: `allowed`, `limited` or `blocked`"
        "b2b_direct_connect_inbound_from": Str = from(r.settings.b2b_direct_connect_inbound); "where that value came from"
        "user_sync_inbound": Bool = flag(r.settings.user_sync_inbound); "the partner tenant may synchronise users into the customer (`identitySynchronization.userSyncInbound.isSyncAllowed`)"
        "user_sync_inbound_from": Str = from(r.settings.user_sync_inbound); "where that value came from"
        "dap_active": Bool = Value::Bool(r.dap_active); "the partner has active DAP with the customer"
        "gdap_active": Bool = Value::Bool(r.gdap_active); "the partner has an active GDAP relationship with the customer"
        "holds_admin_roles": Bool = Value::Bool(!r.admin_roles.is_empty()); "active DAP or GDAP gives the partner directory roles in the customer"
        "admin_roles": Str = super::role_list(c, &r.admin_roles); "those roles, comma-separated (DAP: Global Administrator and Helpdesk Administrator)"
        "admin_role_count": Int = int(r.admin_roles.len()); "their number"
        "principal_count": Int = super::principal_count(c, core); "enabled partner users holding roles through active DAP or GDAP"
    }
);

/// The table, when wanted.
pub(super) fn tables<'a>(
    c: &'a Ctx<'a>,
    want: &dyn Fn(&str) -> bool,
) -> Vec<Box<dyn FactTable + 'a>> {
    if !want(CrossTenantPartners::NAME) {
        return Vec::new();
    }
    vec![Box::new(CrossTenantPartners {
        ctx: c,
        rows: rows(c),
    })]
}

/// The table's name, description and schema.
pub(super) fn schemas() -> Vec<(&'static str, &'static str, &'static [FieldDef])> {
    vec![(
        CrossTenantPartners::NAME,
        CrossTenantPartners::DOC,
        CrossTenantPartners::FIELDS,
    )]
}

#[derive(Default)]
struct Customer {
    default: Option<u32>,
    entries: BTreeMap<Guid, u32>,
}

fn rows(c: &Ctx<'_>) -> Vec<(Core, XtRow)> {
    let s = c.s;
    let mut customers: BTreeMap<Guid, Customer> = BTreeMap::new();
    for (i, e) in s.cross_tenant_access.iter().enumerate() {
        let cu = customers.entry(e.tenant_id).or_default();
        match e.partner_tenant_id {
            None => cu.default = Some(idx(i)),
            Some(p) => {
                cu.entries.insert(p, idx(i));
            }
        }
    }
    if customers.is_empty() {
        return Vec::new();
    }
    // Roles per partner × customer from the relationships themselves (a
    // GDAP role held latently, without an access assignment, still counts).
    let mut roles: BTreeMap<(Guid, Guid), BTreeSet<RoleId>> = BTreeMap::new();
    // Customer → tenants with a relationship of any kind or state to it.
    let mut related: BTreeMap<Guid, BTreeSet<Guid>> = BTreeMap::new();
    for r in &s.relationships {
        let key = (r.partner_tenant_id, r.customer_tenant_id);
        if !customers.contains_key(&key.1) {
            continue;
        }
        related.entry(key.1).or_default().insert(key.0);
        if r.state != RelState::Active {
            continue;
        }
        match r.kind {
            RelKind::Dap => {
                let set = roles.entry(key).or_default();
                set.insert(builtin::GLOBAL_ADMINISTRATOR);
                set.insert(builtin::HELPDESK_ADMINISTRATOR);
            }
            RelKind::Gdap => roles
                .entry(key)
                .or_default()
                .extend(r.roles.iter().copied()),
            RelKind::Reseller => {}
        }
    }
    let mut grants: BTreeMap<(Guid, Guid), Vec<u32>> = BTreeMap::new();
    for (gi, g) in c.g.grants.iter().enumerate() {
        if let Via::Dap { relationship, .. } | Via::Gdap { relationship, .. } = g.via {
            let r = &s.relationships[relationship as usize];
            if customers.contains_key(&r.customer_tenant_id) {
                grants
                    .entry((r.partner_tenant_id, r.customer_tenant_id))
                    .or_default()
                    .push(idx(gi));
            }
        }
    }
    let mut out = Vec::new();
    for (&customer, cu) in &customers {
        let linked = related.get(&customer);
        let partners: BTreeSet<Guid> = linked
            .into_iter()
            .flatten()
            .copied()
            .chain(cu.entries.keys().copied())
            .collect();
        for partner in partners {
            let key = (partner, customer);
            let own = cu.entries.get(&partner).copied();
            let settings = CrossTenantAccess::resolve(
                own.map(|i| &s.cross_tenant_access[i as usize]),
                cu.default.map(|i| &s.cross_tenant_access[i as usize]),
            );
            let mut admin_roles: Vec<RoleId> = roles
                .get(&key)
                .map_or_else(Vec::new, |r| r.iter().copied().collect());
            admin_roles.sort_by(|a, b| s.roles.name(*a).cmp(s.roles.name(*b)));
            out.push((
                Core {
                    partner: Some(partner),
                    customer: Some(customer),
                    resource: Some(ResourceKey::Tenant(customer)),
                    grants: grants.get(&key).cloned().unwrap_or_default(),
                    ..Core::default()
                },
                XtRow {
                    entry: own,
                    default: cu.default,
                    settings,
                    admin_roles,
                    dap_active: c.has_active(partner, customer, RelKind::Dap),
                    gdap_active: c.has_active(partner, customer, RelKind::Gdap),
                    related: linked.is_some_and(|l| l.contains(&partner)),
                },
            ));
        }
    }
    out
}
