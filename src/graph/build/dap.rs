//! DAP: the implicit directory roles active delegated admin privileges give
//! a partner's agent groups in the customer's directory (F5).

use petgraph::graph::NodeIndex;
use rustc_hash::FxHashMap as HashMap;

use super::super::{Grant, Via};
use super::Builder;
use crate::snapshot::roles::builtin;
use crate::snapshot::{AgentGroup, Guid, RelKind, RelState};

/// AdminAgents → Global Administrator, HelpdeskAgents → Helpdesk
/// Administrator, in each customer with active DAP.
pub(super) fn grants(
    b: &mut Builder<'_>,
    agent_groups: &HashMap<(Guid, AgentGroup), Vec<NodeIndex>>,
    grants: &mut Vec<Grant>,
) {
    let s = b.s;
    for (ri, r) in s.relationships.iter().enumerate() {
        if r.kind != RelKind::Dap || r.state != RelState::Active {
            continue;
        }
        let resource = b.resource(r.customer_tenant_id, "/");
        for (ag, role) in [
            (AgentGroup::AdminAgents, builtin::GLOBAL_ADMINISTRATOR),
            (AgentGroup::HelpdeskAgents, builtin::HELPDESK_ADMINISTRATOR),
        ] {
            let holders = b.agent_holders(agent_groups, r.partner_tenant_id, ag, r.loc);
            let via = Via::Dap {
                relationship: u32::try_from(ri).unwrap_or(u32::MAX),
                group: ag,
            };
            for holder in holders {
                b.grant(grants, holder, resource, role, via);
            }
        }
    }
}
