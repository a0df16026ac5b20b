//! Autopilot: what an active reseller or DAP relationship lets a partner's
//! Admin agents do with a customer's Autopilot profiles and devices.

use std::collections::BTreeMap;

use petgraph::graph::NodeIndex;
use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};

use super::super::{AutopilotPolicy, Grant, Via};
use super::Builder;
use crate::snapshot::roles::builtin;
use crate::snapshot::{AgentGroup, Guid, RelKind, RelState};

/// Autopilot management (F11 legacy, F12 strict), granted to the partner's
/// AdminAgents (Admin agents manage devices and profiles in Partner Center).
///
/// - Profiles: legacy — any partner with an active reseller or DAP
///   relationship; strict — only with active DAP.
/// - Devices: legacy — devices any partner added, and customer-added devices
///   except those added through Store for Business / Education or Intune
///   (the policy over- rather than under-reports); strict — every device with
///   active DAP, otherwise only the devices the partner added itself.
pub(super) fn grants(
    b: &mut Builder<'_>,
    agent_groups: &HashMap<(Guid, AgentGroup), Vec<NodeIndex>>,
    grants: &mut Vec<Grant>,
    policy: AutopilotPolicy,
) {
    let s = b.s;
    if s.devices.is_empty() && s.autopilot_profiles.is_empty() {
        return;
    }
    // Justifying relationship per (partner, customer): DAP first, else reseller.
    let mut justify: BTreeMap<(Guid, Guid), (Option<usize>, Option<usize>)> = BTreeMap::new();
    for (ri, r) in s.relationships.iter().enumerate() {
        if r.state != RelState::Active {
            continue;
        }
        let e = justify
            .entry((r.partner_tenant_id, r.customer_tenant_id))
            .or_default();
        match r.kind {
            RelKind::Dap => e.0 = e.0.or(Some(ri)),
            RelKind::Reseller => e.1 = e.1.or(Some(ri)),
            RelKind::Gdap => {}
        }
    }
    let mut devices_of: HashMap<Guid, Vec<usize>> = HashMap::default();
    for (di, d) in s.devices.iter().enumerate() {
        devices_of.entry(d.tenant_id).or_default().push(di);
    }
    const DEVICES: &str = "/autopilot/devices/";
    let mut scope = String::from(DEVICES);
    let mut has_profiles: HashSet<Guid> = HashSet::default();
    for p in &s.autopilot_profiles {
        has_profiles.insert(p.tenant_id);
    }
    for (&(partner, customer), &(dap, reseller)) in &justify {
        let Some(ri) = dap.or(reseller) else { continue };
        let devices = devices_of.get(&customer).map_or(&[][..], Vec::as_slice);
        if devices.is_empty() && !has_profiles.contains(&customer) {
            continue;
        }
        let holders = b.agent_holders(
            agent_groups,
            partner,
            AgentGroup::AdminAgents,
            s.relationships[ri].loc,
        );
        let via = Via::Autopilot {
            relationship: u32::try_from(ri).unwrap_or(u32::MAX),
        };
        let profiles_ok = match policy {
            AutopilotPolicy::Legacy => true,
            AutopilotPolicy::Strict => dap.is_some(),
        };
        // Managing profiles includes adding them: the capability stands
        // whether or not the customer has profiles yet (it has Autopilot
        // devices or profiles, or the loop skipped it).
        if profiles_ok {
            let resource = b.resource(customer, "/autopilot/profiles");
            for &holder in &holders {
                b.grant(
                    grants,
                    holder,
                    resource,
                    builtin::AUTOPILOT_PROFILE_MANAGER,
                    via,
                );
            }
        }
        for &di in devices {
            let d = &s.devices[di];
            if partner_may_manage_device(policy, dap.is_some(), partner, customer, d) {
                scope.truncate(DEVICES.len());
                scope.push_str(&d.device_id);
                let resource = b.resource(customer, &scope);
                for &holder in &holders {
                    b.grant(
                        grants,
                        holder,
                        resource,
                        builtin::AUTOPILOT_DEVICE_MANAGER,
                        via,
                    );
                }
            }
        }
    }
}

/// Whether `partner` may manage (or delete) device `d` of `customer` under `policy`.
pub fn partner_may_manage_device(
    policy: AutopilotPolicy,
    dap_active: bool,
    partner: Guid,
    customer: Guid,
    d: &crate::snapshot::Device,
) -> bool {
    use crate::snapshot::AddedVia;
    match policy {
        AutopilotPolicy::Legacy => {
            d.added_by_tenant_id != customer
                || !matches!(
                    d.added_via,
                    AddedVia::StoreForBusiness | AddedVia::StoreForEducation | AddedVia::Intune
                )
        }
        AutopilotPolicy::Strict => dap_active || d.added_by_tenant_id == partner,
    }
}
