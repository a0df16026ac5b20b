//! Partner Center exports of the partner: `GET /v1/customers`
//! (`{totalCount, items, links}`) and the DAP-era
//! `delegatedAdminCustomers` list (`dapEnabled`).
//!
//! Graph has no DAP object; DAP state comes from Partner Center:
//! - `delegatedAdminCustomers` (DAP era): one DAP relationship per customer,
//!   `active` when `dapEnabled` is true, `removed` when false (the customer
//!   is listed, so DAP existed); `startDateTime` / `endDateTime` /
//!   `lastSignInDateTime` → `started_at` / `ended_at` / `last_activity_at`.
//!   A missing `dapEnabled` counts as active, with a warning.
//! - `customers`: the customer tenant (`companyProfile.companyName`,
//!   `.domain`); `relationshipToPartner` `reseller` or `syndication` adds an
//!   active reseller relationship (`advisor`, `none`, … add none);
//!   `allowDelegatedAccess: true` (customer-by-id responses only) adds an
//!   active DAP relationship unless `delegatedAdminCustomers` says otherwise.

use super::detect::Format;
use super::graph_partner::{customer, each};
use super::sink::{simple_relationship, Rank};
use super::source::Item;
use super::{opt_time, rank, req_guid, Ctx, File, Problems};
use crate::snapshot::{Diagnostic, RelKind, RelState};

/// DAP from the DAP-era list outranks `allowDelegatedAccess`.
const DAP_LIST: Rank = 3;
const DAP_FLAG: Rank = 2;

/// Maps one Partner Center file.
pub(super) fn read(ctx: &mut Ctx, f: &File) {
    match f.format {
        Format::PcCustomers => each(ctx, f, "relationships", pc_customer),
        Format::PcDelegatedAdminCustomers => each(ctx, f, "relationships", dap_customer),
        _ => {}
    }
}

fn pc_customer(ctx: &mut Ctx, f: &File, item: &Item) -> Result<(), Diagnostic> {
    let profile = item.obj.obj("companyProfile");
    let c = match profile.as_ref().and_then(|p| p.str("tenantId")) {
        Some(_) => {
            let probe = Item {
                line: item.line,
                obj: profile.clone().unwrap_or_default(),
            };
            req_guid(f, &probe, "tenantId").map_err(|d| d.with_field("companyProfile.tenantId"))?
        }
        None => req_guid(f, item, "id")?,
    };
    let partner = customer(ctx, f, item, c)?;
    let loc = f.loc(item.line);
    if let Some(p) = &profile {
        if let Some(n) = p.str("companyName") {
            ctx.sink.tenant_name(c, loc, rank::PARTNER_CENTER, n);
        }
        if let Some(d) = p.str("domain") {
            ctx.sink.tenant_domain(c, loc, rank::PARTNER_CENTER, d);
        }
    }
    match item
        .obj
        .str("relationshipToPartner")
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("reseller" | "syndication") => {
            let r = simple_relationship(loc, partner, c, RelKind::Reseller, RelState::Active);
            ctx.sink.relationship(r, rank::PARTNER_CENTER);
        }
        Some("none" | "unknown" | "microsoft_support" | "microsoftsupport") | None => {}
        Some("advisor") => ctx.sink.note(
            f.warning(item, format!("customer `{c}`: advisor relationships are not modelled, only the tenant is imported"))
                .with_field("relationshipToPartner"),
        ),
        Some(other) => ctx.sink.note(
            f.warning(item, format!("unknown relationship to partner `{other}`: no relationship recorded"))
                .with_field("relationshipToPartner")
                .with_expected("reseller, syndication, advisor, none or microsoft_support"),
        ),
    }
    if item.obj.bool("allowDelegatedAccess") == Some(true) {
        let r = simple_relationship(loc, partner, c, RelKind::Dap, RelState::Active);
        ctx.sink.relationship(r, DAP_FLAG);
    }
    Ok(())
}

fn dap_customer(ctx: &mut Ctx, f: &File, item: &Item) -> Result<(), Diagnostic> {
    let c = req_guid(f, item, "customerTenantId")?;
    let partner = customer(ctx, f, item, c)?;
    let loc = f.loc(item.line);
    if let Some(n) = item.obj.str("organizationDisplayName") {
        ctx.sink.tenant_name(c, loc, rank::GDAP, n);
    }
    let state = match item.obj.bool("dapEnabled") {
        Some(true) => RelState::Active,
        Some(false) => RelState::Removed,
        None => {
            ctx.sink.note(
                f.warning(item, format!("customer `{c}` has no `dapEnabled`: DAP counted as active (over- rather than under-reports)"))
                    .with_field("dapEnabled"),
            );
            RelState::Active
        }
    };
    let mut problems = Problems::default();
    let mut r = simple_relationship(loc, partner, c, RelKind::Dap, state);
    r.started_at = problems.take(opt_time(f, item, "startDateTime")).flatten();
    r.ended_at = problems.take(opt_time(f, item, "endDateTime")).flatten();
    r.last_activity_at = problems
        .take(opt_time(f, item, "lastSignInDateTime"))
        .flatten();
    problems.check(ctx)?;
    ctx.sink.relationship(r, DAP_LIST);
    Ok(())
}
