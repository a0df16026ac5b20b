//! Autopilot exports: Graph `windowsAutopilotDeviceIdentities` and
//! `windowsAutopilotDeploymentProfiles`, Partner Center device lists, and
//! the device CSV (`Device Serial Number,Windows Product ID,Hardware
//! Hash,Group Tag,Assigned User` for Intune; `…,Manufacturer name,Device
//! model` for Partner Center).
//!
//! None of these formats records who uploaded a device, so the uploader
//! (`added_by_tenant_id`, `added_via`) comes from where the file is filed:
//! - a list filed under a **partner** (Partner Center devices, or a CSV the
//!   partner uploaded) names the customer in its file name
//!   (`autopilot/<customer-id>.devices.json`): added by that partner through
//!   `partner_center`;
//! - a list filed under a **customer** that names a partner tenant in its
//!   file name: added by that partner through `partner_center`;
//! - an Intune CSV filed under the customer alone: added by the customer
//!   through `intune`;
//! - Graph `windowsAutopilotDeviceIdentities` (what the customer's Intune
//!   shows, whoever uploaded): added by the customer through `unknown` — one
//!   warning per file says so. Under the legacy policy this lets partners
//!   manage the device (over- rather than under-reports). A partner-side
//!   record of the same serial wins over this default.

use super::detect::Format;
use super::sink::{device, Rank};
use super::source::Item;
use super::{Ctx, File};
use crate::snapshot::{AddedVia, AutopilotProfile, Diagnostic, Guid, TenantKind};

/// A device record that knows its uploader.
const KNOWN_UPLOADER: Rank = 3;
/// A customer's own Intune import list.
const CUSTOMER_LIST: Rank = 2;
/// A Graph device identity (uploader unknown).
const UNKNOWN_UPLOADER: Rank = 1;

/// Maps one Autopilot file.
pub(super) fn read(ctx: &mut Ctx, f: &File) {
    match f.format {
        Format::AutopilotDevices => graph_devices(ctx, f),
        Format::AutopilotProfiles => profiles(ctx, f),
        Format::PcDevices | Format::AutopilotCsv => uploaded(ctx, f),
        _ => {}
    }
}

/// The device id: the serial number, else the product key, else the record id.
fn serial(item: &Item) -> Option<&str> {
    item.obj.str_any(&[
        "serialNumber",
        "Device Serial Number",
        "productKey",
        "Windows Product ID",
        "id",
    ])
}

fn missing_serial(f: &File, item: &Item) -> Diagnostic {
    f.error(item, "serialNumber", "missing required value")
        .with_expected("the device's serial number")
}

fn graph_devices(ctx: &mut Ctx, f: &File) {
    let t = f.tenant();
    let mut n = 0;
    for item in &f.body.items {
        let Some(sn) = serial(item) else {
            ctx.sink.reject("devices", missing_serial(f, item));
            continue;
        };
        let profile = item
            .obj
            .obj("deploymentProfile")
            .and_then(|p| p.str("id").map(str::to_owned));
        let d = device(
            f.loc(item.line),
            t,
            sn,
            t,
            AddedVia::Unknown,
            profile.as_deref(),
        );
        ctx.sink.device(d, UNKNOWN_UPLOADER);
        n += 1;
    }
    if n > 0 {
        ctx.sink.note(
            Diagnostic::warning(
                f.display(),
                format!("{n} Autopilot device(s) record no uploader: counted as added by tenant `{t}` itself through `unknown` unless a partner's device list names them"),
            )
            .with_help("add the partner's Partner Center device lists to record partner uploads (see docs/exporting.md)"),
        );
    }
}

fn profiles(ctx: &mut Ctx, f: &File) {
    let t = f.tenant();
    for item in &f.body.items {
        let Some(id) = item.obj.str("id") else {
            ctx.sink.reject(
                "autopilot_profiles",
                f.error(item, "id", "missing required value")
                    .with_expected("the profile id"),
            );
            continue;
        };
        let name = item.obj.str("displayName").unwrap_or(id);
        ctx.sink.profile(AutopilotProfile {
            loc: f.loc(item.line),
            tenant_id: t,
            profile_id: id.to_ascii_lowercase().into(),
            name: name.into(),
            created_by_tenant_id: None,
        });
    }
}

/// Who uploaded the devices of a list and into which tenant.
fn parties(ctx: &mut Ctx, f: &File) -> Result<(Guid, Option<Guid>), Diagnostic> {
    let t = f.tenant();
    let other = f.placed.parent.as_deref().and_then(Guid::parse);
    let loc = f.loc(1);
    match other {
        Some(o) if ctx.is_partner(o) && !ctx.is_partner(t) => Ok((t, Some(o))),
        Some(o) if ctx.is_partner(t) || f.format == Format::PcDevices => {
            ctx.sink.tenant_kind(t, loc, 1, TenantKind::Partner);
            ctx.sink.tenant_kind(o, loc, 1, TenantKind::Customer);
            Ok((o, Some(t)))
        }
        Some(o) => {
            ctx.sink.tenant_kind(o, loc, 1, TenantKind::Partner);
            Ok((t, Some(o)))
        }
        None if ctx.is_partner(t) => Err(Diagnostic::error(
            f.display(),
            "a partner's Autopilot device list must name the customer the devices were added to",
        )
        .with_expected("the customer's tenant GUID in the file name, e.g. `autopilot/<customer-id>.devices.json`")),
        None => Ok((t, None)),
    }
}

fn uploaded(ctx: &mut Ctx, f: &File) {
    let (customer, uploader) = match parties(ctx, f) {
        Ok(p) => p,
        Err(d) => {
            for item in &f.body.items {
                ctx.sink.reject("devices", d.clone().at_line(item.line));
            }
            return;
        }
    };
    let partner_csv = f.body.csv_header.as_ref().is_some_and(|h| {
        h.iter()
            .any(|c| c.eq_ignore_ascii_case("Manufacturer name"))
    });
    let (added_by, via, rank) = match uploader {
        Some(p) => (p, AddedVia::PartnerCenter, KNOWN_UPLOADER),
        None if f.format == Format::AutopilotCsv && !partner_csv => {
            ctx.sink.note(
                Diagnostic::warning(
                    f.display(),
                    format!("this Intune device list records no uploader: devices counted as added by tenant `{customer}` itself through `intune`"),
                )
                .with_help("file a partner's upload list under the partner, with the customer's GUID in its name (see docs/exporting.md)"),
            );
            (customer, AddedVia::Intune, CUSTOMER_LIST)
        }
        None => {
            ctx.sink.note(
                Diagnostic::warning(
                    f.display(),
                    format!("this Partner Center device list names no partner: devices counted as added by tenant `{customer}` through `unknown`"),
                )
                .with_help("file it under the partner with the customer's GUID in its name, or put the partner's GUID in its name"),
            );
            (customer, AddedVia::Unknown, UNKNOWN_UPLOADER)
        }
    };
    for item in &f.body.items {
        let Some(sn) = serial(item) else {
            ctx.sink.reject("devices", missing_serial(f, item));
            continue;
        };
        let d = device(f.loc(item.line), customer, sn, added_by, via, None);
        ctx.sink.device(d, rank);
    }
}
