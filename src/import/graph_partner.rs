//! Graph exports of the partner tenant: `contracts`,
//! `tenantRelationships/delegatedAdminRelationships` (the reseller subtype
//! included), their `accessAssignments`, and `delegatedAdminCustomers`.
//!
//! Mapping decisions (docs/exporting.md has the table):
//! - GDAP `status` → canonical state: `active`, `expiring` → active;
//!   `approvalPending`, `approved`, `created`, `activating` → pending;
//!   `expired` → expired; `terminated` → terminated; `terminating` and
//!   `terminationRequested` → **active** with a warning (the roles work until
//!   Microsoft reports `terminated`); anything else → active with a warning
//!   (over- rather than under-reports).
//! - `contracts`: the customer tenant (name, domain); `ResellerPartner` and
//!   `SyndicationPartner` add an active reseller relationship
//!   (`BreadthPartner` may administer but not resell: none). Contracts say
//!   nothing about DAP — they exist for GDAP-only customers too.
//! - `delegatedAdminCustomers` (Graph): customer tenants only.
//! - Access assignments keep their `status` as written; only `active` ones
//!   grant access.

use super::detect::Format;
use super::sink::simple_relationship;
use super::source::{Item, Obj};
use super::{opt_duration, opt_time, rank, req_guid, Ctx, File, ParentKind, Problems};
use crate::snapshot::roles::RoleId;
use crate::snapshot::{
    Diagnostic, GdapAccessAssignment, Guid, RelKind, RelState, Relationship, TenantKind,
};

/// How a referenced customer's kind ranks (below a partner-side folder).
pub(super) const CUSTOMER_KIND: u8 = 2;

/// Maps one partner-side Graph file.
pub(super) fn read(ctx: &mut Ctx, f: &File) {
    match f.format {
        Format::Contracts => each(ctx, f, "relationships", contract),
        Format::GraphDelegatedAdminCustomers => each(ctx, f, "tenants", graph_customer),
        Format::GdapRelationships => each(ctx, f, "relationships", relationship),
        Format::GdapAccessAssignments => access_assignments(ctx, f),
        _ => {}
    }
}

/// Runs `map` on every item, rejecting (into `table`) the ones it refuses.
pub(super) fn each(
    ctx: &mut Ctx,
    f: &File,
    table: &str,
    map: fn(&mut Ctx, &File, &Item) -> Result<(), Diagnostic>,
) {
    for item in &f.body.items {
        if let Err(d) = map(ctx, f, item) {
            ctx.sink.reject(table, d);
        }
    }
}

/// Registers `customer` as a customer tenant of the file's partner.
pub(super) fn customer(
    ctx: &mut Ctx,
    f: &File,
    item: &Item,
    customer: Guid,
) -> Result<Guid, Diagnostic> {
    let partner = f.tenant();
    if customer == partner {
        return Err(f
            .error(
                item,
                "customerId",
                format!("customer `{customer}` is the tenant the file is filed under"),
            )
            .with_expected("a partner-side listing inside the partner tenant's folder"));
    }
    let loc = f.loc(item.line);
    ctx.sink
        .tenant_kind(customer, loc, CUSTOMER_KIND, TenantKind::Customer);
    Ok(partner)
}

fn contract(ctx: &mut Ctx, f: &File, item: &Item) -> Result<(), Diagnostic> {
    let c = req_guid(f, item, "customerId")?;
    let partner = customer(ctx, f, item, c)?;
    let loc = f.loc(item.line);
    if let Some(n) = item.obj.str("displayName") {
        ctx.sink.tenant_name(c, loc, rank::COPY, n);
    }
    if let Some(d) = item.obj.str("defaultDomainName") {
        ctx.sink.tenant_domain(c, loc, rank::COPY, d);
    }
    match item
        .obj
        .str("contractType")
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("resellerpartner" | "syndicationpartner") => {
            let r = simple_relationship(loc, partner, c, RelKind::Reseller, RelState::Active);
            ctx.sink.relationship(r, rank::COPY);
        }
        Some("breadthpartner") => {}
        other => ctx.sink.note(
            f.warning(
                item,
                format!(
                    "unknown contract type `{}`: no reseller relationship recorded",
                    other.unwrap_or("")
                ),
            )
            .with_field("contractType")
            .with_expected("ResellerPartner, SyndicationPartner or BreadthPartner"),
        ),
    }
    Ok(())
}

fn graph_customer(ctx: &mut Ctx, f: &File, item: &Item) -> Result<(), Diagnostic> {
    let key = if item.obj.get("tenantId").is_some() {
        "tenantId"
    } else {
        "id"
    };
    let c = req_guid(f, item, key)?;
    customer(ctx, f, item, c)?;
    if let Some(n) = item.obj.str("displayName") {
        ctx.sink.tenant_name(c, f.loc(item.line), rank::GDAP, n);
    }
    Ok(())
}

/// A GDAP status as a canonical state, and a note when the mapping is a
/// judgement call.
pub(crate) fn gdap_state(status: &str) -> (RelState, Option<String>) {
    match status.to_ascii_lowercase().as_str() {
        "active" | "expiring" => (RelState::Active, None),
        "approvalpending" | "approved" | "created" | "activating" => (RelState::Pending, None),
        "expired" => (RelState::Expired, None),
        "terminated" => (RelState::Terminated, None),
        "terminating" | "terminationrequested" => (
            RelState::Active,
            Some(format!("GDAP status `{status}`: the termination is under way, the roles still work until Microsoft reports `terminated`, counted as active")),
        ),
        _ => (
            RelState::Active,
            Some(format!("unknown GDAP status `{status}`: counted as active (over- rather than under-reports)")),
        ),
    }
}

/// The role ids of `accessDetails.unifiedRoles[].roleDefinitionId`.
fn unified_roles(ctx: &mut Ctx, f: &File, item: &Item) -> Result<Vec<RoleId>, Diagnostic> {
    let Some(details) = item.obj.obj("accessDetails") else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for r in details.arr("unifiedRoles").into_iter().flatten() {
        let id = match r {
            serde_json::Value::Object(m) => Obj::new(m.clone())
                .str("roleDefinitionId")
                .map(str::to_owned),
            serde_json::Value::String(s) => Some(s.clone()),
            _ => None,
        };
        let Some(id) = id else {
            return Err(f
                .error(
                    item,
                    "accessDetails.unifiedRoles",
                    "a role without `roleDefinitionId`",
                )
                .with_expected("{\"roleDefinitionId\": \"<role template id>\"}"));
        };
        let role = ctx
            .sink
            .role(&id)
            .ok_or_else(|| f.error(item, "accessDetails", "too many distinct roles"))?;
        if !out.contains(&role) {
            out.push(role);
        }
    }
    Ok(out)
}

fn relationship(ctx: &mut Ctx, f: &File, item: &Item) -> Result<(), Diagnostic> {
    let Some(id) = item.obj.str("id") else {
        return Err(f
            .error(item, "id", "missing required value")
            .with_expected("the relationship id"));
    };
    let Some(cust) = item.obj.obj("customer") else {
        return Err(f
            .error(item, "customer", "missing required value")
            .with_expected("{\"tenantId\": \"<customer tenant id>\", \"displayName\": \"…\"}"));
    };
    let probe = Item {
        line: item.line,
        obj: cust.clone(),
    };
    let c = req_guid(f, &probe, "tenantId").map_err(|d| d.with_field("customer.tenantId"))?;
    let partner = customer(ctx, f, item, c)?;
    let loc = f.loc(item.line);
    if let Some(n) = cust.str("displayName") {
        ctx.sink.tenant_name(c, loc, rank::GDAP, n);
    }
    let mut problems = Problems::default();
    let status = problems.take(item.obj.str("status").ok_or_else(|| {
        f.error(item, "status", "missing required value")
            .with_expected("a GDAP status such as active, expired or terminated")
    }));
    let roles = problems.take(unified_roles(ctx, f, item));
    let activated = problems
        .take(opt_time(f, item, "activatedDateTime"))
        .flatten();
    let created = problems
        .take(opt_time(f, item, "createdDateTime"))
        .flatten();
    let ended = problems.take(opt_time(f, item, "endDateTime")).flatten();
    let auto_extend = problems
        .take(opt_duration(f, item, "autoExtendDuration"))
        .flatten();
    // `duration` above P730D is bad input (Microsoft refuses it), not a finding.
    let duration = problems
        .take(opt_duration(f, item, "duration").and_then(|d| {
            match d {
                Some(d) => crate::snapshot::fields::gdap_duration(&d.text)
                    .map(Some)
                    .map_err(|e| {
                        f.error(item, "duration", e.message)
                            .with_expected(e.expected)
                    }),
                None => Ok(None),
            }
        }))
        .flatten();
    problems.check(ctx)?;
    let (Some(status), Some(roles)) = (status, roles) else {
        return Ok(());
    };
    let (state, note) = gdap_state(status);
    if let Some(n) = note {
        ctx.sink.note(f.warning(item, n).with_field("status"));
    }
    let r = Relationship {
        loc,
        partner_tenant_id: partner,
        customer_tenant_id: c,
        kind: RelKind::Gdap,
        state,
        started_at: activated.or(created),
        ended_at: ended,
        relationship_id: Some(id.to_ascii_lowercase().into()),
        roles,
        auto_extend,
        last_activity_at: None,
        display_name: item.obj.str("displayName").map(Into::into),
        duration,
    };
    ctx.sink.relationship(r, rank::GDAP);
    Ok(())
}

/// The relationship an access-assignment listing belongs to: the file
/// name, else its URLs (`delegatedAdminRelationships('{id}')/accessAssignments`).
fn parent_relationship(f: &File) -> Option<String> {
    f.placed.parent.clone().or_else(|| match &f.url_parent {
        Some((id, ParentKind::Relationship)) => Some(id.clone()),
        _ => None,
    })
}

fn access_assignments(ctx: &mut Ctx, f: &File) {
    let Some(rel) = parent_relationship(f) else {
        for item in &f.body.items {
            ctx.sink.reject(
                "gdap_access_assignments",
                f.error(item, "relationship_id", "cannot tell which GDAP relationship these access assignments belong to")
                    .with_expected("the relationship id in the file name, e.g. `accessAssignments-<relationship-id>.json`"),
            );
        }
        return;
    };
    for item in &f.body.items {
        if let Err(d) = access_assignment(ctx, f, item, &rel) {
            ctx.sink.reject("gdap_access_assignments", d);
        }
    }
}

fn access_assignment(ctx: &mut Ctx, f: &File, item: &Item, rel: &str) -> Result<(), Diagnostic> {
    let Some(container) = item.obj.obj("accessContainer") else {
        return Err(f
            .error(item, "accessContainer", "missing required value")
            .with_expected("{\"accessContainerId\": \"<security group id>\", \"accessContainerType\": \"securityGroup\"}"));
    };
    if let Some(t) = container.str("accessContainerType") {
        if !t.eq_ignore_ascii_case("securityGroup") {
            return Err(f
                .error(
                    item,
                    "accessContainer.accessContainerType",
                    format!("unsupported access container type `{t}`"),
                )
                .with_expected("securityGroup"));
        }
    }
    let probe = Item {
        line: item.line,
        obj: container,
    };
    let group = req_guid(f, &probe, "accessContainerId")
        .map_err(|d| d.with_field("accessContainer.accessContainerId"))?;
    let roles = unified_roles(ctx, f, item)?;
    if roles.is_empty() {
        return Err(f
            .error(item, "accessDetails.unifiedRoles", "missing required value")
            .with_expected("at least one role"));
    }
    ctx.sink.object_tenant.entry(group).or_insert(f.tenant());
    ctx.sink.known_group(f.tenant(), group, f.loc(item.line));
    let key = item
        .obj
        .str("id")
        .map_or_else(|| group.to_string(), str::to_ascii_lowercase);
    ctx.sink.access_assignment(
        GdapAccessAssignment {
            loc: f.loc(item.line),
            relationship_id: rel.into(),
            group_id: group,
            roles,
            state: item.obj.str("status").map(Into::into),
        },
        key,
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gdap_statuses_map_to_canonical_states() {
        let s = |x: &str| gdap_state(x).0;
        assert_eq!(s("active"), RelState::Active);
        assert_eq!(s("expiring"), RelState::Active);
        for p in ["approvalPending", "approved", "created", "activating"] {
            assert_eq!(s(p), RelState::Pending, "{p}");
        }
        assert_eq!(s("expired"), RelState::Expired);
        assert_eq!(s("terminated"), RelState::Terminated);
        assert_eq!(s("terminationRequested"), RelState::Active);
        assert!(gdap_state("terminating").1.is_some());
        let (st, note) = gdap_state("unknownFutureValue");
        assert_eq!(st, RelState::Active);
        assert!(note.unwrap_or_default().contains("`unknownFutureValue`"));
        assert!(gdap_state("active").1.is_none());
    }
}
