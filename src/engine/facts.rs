//! Fact tables: what the access graph derives, in rows a rule can query.
//!
//! Each table has a fixed, documented schema (`FIELDS`); rules name a table
//! in `from` and filter its rows with a typed expression. Every row also
//! carries its *finding parts* ([`Core`]): the partner, customer, resource,
//! the assignment to remove and the grants whose members explain it.
//! Adding a table (or a field) is engine work; adding a rule is not.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use jiff::Timestamp;
use petgraph::graph::NodeIndex;
use rayon::prelude::*;
use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};

use super::expr::{Ty, Value};
use crate::graph::{members, partner_may_manage_device, AccessGraph, AutopilotPolicy, Node, Via};
use crate::snapshot::roles::{builtin, RoleId, RolePlane};
use crate::snapshot::{
    AddedVia, AgentGroup, Guid, PrincipalKind, RelKind, RelState, Snapshot, TenantKind,
};

/// One documented field of a fact table.
#[derive(Clone, Copy, Debug)]
pub struct FieldDef {
    pub name: &'static str,
    pub ty: Ty,
    pub doc: &'static str,
}

/// The resource a finding is about.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct ResourceRef {
    /// `directory`, `subscription`, `resource_group`, `scope`, `tenant`,
    /// `autopilot`, `relationship` or `invitation`.
    pub kind: &'static str,
    pub id: String,
    pub subscription_id: Option<Guid>,
    pub scope: Option<String>,
}

/// What a row is about, resolved to a [`ResourceRef`] only for findings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResourceKey {
    /// A resource node of the access graph (directory or Azure scope).
    Node(NodeIndex),
    /// A customer tenant as a whole.
    Tenant(Guid),
    /// A customer's Autopilot service (profiles and devices).
    Autopilot(Guid),
    /// A relationship (index into `Snapshot::relationships`).
    Relationship(u32),
    /// An invitation (index into `Snapshot::invitations`).
    Invitation(u32),
}

/// The finding-shaped parts of a fact row.
#[derive(Clone, Debug, Default)]
pub struct Core {
    pub partner: Option<Guid>,
    pub customer: Option<Guid>,
    pub resource: Option<ResourceKey>,
    pub role: Option<RoleId>,
    /// Index into `Snapshot::role_assignments` for findings about one assignment.
    pub assignment: Option<u32>,
    /// Grants (indexes into `AccessGraph::grants`) whose members hold the access.
    pub grants: Vec<u32>,
    /// When set, only these members count (e.g. the hidden principals of DAP003).
    pub only: Option<Arc<[Guid]>>,
}

/// Relationship states of one partner × customer pair.
#[derive(Clone, Debug, Default)]
struct Pair {
    reseller_active: bool,
    dap_active: bool,
    gdap_active: bool,
    dap_removed: bool,
    dap_last_activity_at: Option<Timestamp>,
    dap_started_at: Option<Timestamp>,
}

/// What a role assignment refers to, resolved once.
struct AssignmentRefs {
    /// The subscription its scope is at or below (parsed from the scope).
    subscription_id: Option<Guid>,
    /// That subscription's index in `Snapshot::subscriptions`.
    subscription: Option<u32>,
    /// Its principal's index in `Snapshot::principals` (none when unresolved).
    principal: Option<u32>,
}

/// Shared lookups for building facts.
pub struct Ctx<'a> {
    pub s: &'a Snapshot,
    pub g: &'a AccessGraph,
    pub as_of: Timestamp,
    pub policy: AutopilotPolicy,
    pairs: BTreeMap<(Guid, Guid), Pair>,
    /// Tenants named as a partner in some relationship.
    partners_seen: HashSet<Guid>,
    /// Customers → number of partners with active DAP.
    dap_partners: HashMap<Guid, u32>,
    /// (partner, user) pairs of transitive agent-group members.
    agents: HashSet<(Guid, Guid, AgentGroup)>,
    /// Each role assignment's look-ups, done once rather than by every rule
    /// for every row it reads.
    assignment_refs: Vec<AssignmentRefs>,
    /// Role names, one allocation each, shared by every finding.
    role_names: Vec<Arc<str>>,
    /// Principal lists of findings, one allocation per distinct list.
    principal_lists: std::sync::Mutex<HashSet<Arc<[Guid]>>>,
}

impl<'a> Ctx<'a> {
    /// Indexes the snapshot for fact building.
    pub fn new(
        s: &'a Snapshot,
        g: &'a AccessGraph,
        as_of: Timestamp,
        policy: AutopilotPolicy,
    ) -> Self {
        let mut pairs: BTreeMap<(Guid, Guid), Pair> = BTreeMap::new();
        let mut partners_seen = HashSet::default();
        for r in &s.relationships {
            partners_seen.insert(r.partner_tenant_id);
            let p = pairs
                .entry((r.partner_tenant_id, r.customer_tenant_id))
                .or_default();
            let active = r.state == RelState::Active;
            match r.kind {
                RelKind::Reseller => p.reseller_active |= active,
                RelKind::Gdap => p.gdap_active |= active,
                RelKind::Dap if active => {
                    p.dap_active = true;
                    p.dap_last_activity_at = p.dap_last_activity_at.max(r.last_activity_at);
                    p.dap_started_at = p.dap_started_at.or(r.started_at);
                }
                RelKind::Dap => p.dap_removed = true,
            }
        }
        for p in pairs.values_mut() {
            p.dap_removed &= !p.dap_active;
        }
        let mut dap_partners: HashMap<Guid, u32> = HashMap::default();
        for (&(_, customer), p) in &pairs {
            if p.dap_active {
                *dap_partners.entry(customer).or_default() += 1;
            }
        }
        let subscription: HashMap<Guid, u32> = s
            .subscriptions
            .iter()
            .enumerate()
            .map(|(i, x)| (x.subscription_id, u32::try_from(i).unwrap_or(u32::MAX)))
            .collect();
        let assignment_refs = s
            .role_assignments
            .par_iter()
            .with_min_len(4096)
            .map(|a| {
                let sid = a.scope.subscription();
                let principal = g
                    .principal(s, &a.principal_id)
                    .and_then(|n| match g.graph[n] {
                        Node::Principal(i) => Some(i),
                        _ => None,
                    });
                AssignmentRefs {
                    subscription_id: sid,
                    subscription: sid.and_then(|x| subscription.get(&x).copied()),
                    principal,
                }
            })
            .collect();
        // Agent membership, for invitations (F1): expand each agent group once.
        let mut agents = HashSet::default();
        if !s.invitations.is_empty() {
            for (&(tenant, ag), nodes) in &g.agent_groups {
                for &n in nodes {
                    let expanded;
                    let m = match g.members.get(&n) {
                        Some(m) => &**m,
                        None => {
                            expanded = members::expand(&g.graph, s, n);
                            &expanded
                        }
                    };
                    for u in &m.enabled_users {
                        agents.insert((tenant, *u, ag));
                    }
                    for d in m.disabled() {
                        if let Some(id) = d.id {
                            agents.insert((tenant, id, ag));
                        }
                    }
                }
            }
        }
        Ctx {
            s,
            g,
            as_of,
            policy,
            pairs,
            partners_seen,
            dap_partners,
            agents,
            assignment_refs,
            role_names: s.roles.ids().map(|r| Arc::from(s.roles.name(r))).collect(),
            principal_lists: std::sync::Mutex::default(),
        }
    }

    /// A finding's principal list, shared with every finding that has the
    /// same one.
    pub fn principal_list(&self, list: &[Guid]) -> Arc<[Guid]> {
        let mut lists = self
            .principal_lists
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(shared) = lists.get(list) {
            return Arc::clone(shared);
        }
        let shared: Arc<[Guid]> = list.into();
        lists.insert(Arc::clone(&shared));
        shared
    }

    /// A role's display name, shared.
    pub fn role_arc(&self, r: RoleId) -> Arc<str> {
        Arc::clone(&self.role_names[usize::from(r.0)])
    }

    fn tenant_name(&self, t: Guid) -> Value<'a> {
        self.g.tenant_index.get(&t).map_or(Value::Null, |&i| {
            Value::Str(&self.s.tenants[i as usize].name)
        })
    }
    fn tenant_kind(&self, t: Guid) -> Option<TenantKind> {
        self.g
            .tenant_index
            .get(&t)
            .map(|&i| self.s.tenants[i as usize].kind)
    }
    fn is_partner(&self, t: Guid) -> bool {
        self.tenant_kind(t) == Some(TenantKind::Partner) || self.partners_seen.contains(&t)
    }
    /// Whether tenant `t` stands as a customer towards `partner`: a tenant
    /// of kind `customer`; one the snapshot knows neither as a partner nor
    /// as a customer (unknown data over- rather than under-reports); or
    /// any tenant with a relationship row, of any kind or state, with
    /// `partner`. A partner's own tenant is not a customer otherwise.
    fn is_customer_of(&self, t: Guid, partner: Option<Guid>) -> bool {
        self.tenant_kind(t) == Some(TenantKind::Customer)
            || !self.is_partner(t)
            || partner.is_some_and(|p| self.pair(p, t).is_some())
    }
    fn pair(&self, p: Guid, c: Guid) -> Option<&Pair> {
        self.pairs.get(&(p, c))
    }
    fn has_active(&self, p: Guid, c: Guid, k: RelKind) -> bool {
        self.pair(p, c).is_some_and(|x| match k {
            RelKind::Reseller => x.reseller_active,
            RelKind::Dap => x.dap_active,
            RelKind::Gdap => x.gdap_active,
        })
    }
    fn role_name(&self, r: RoleId) -> Value<'a> {
        Value::Str(self.s.roles.name(r))
    }
}

fn opt<T>(v: Option<T>, f: impl FnOnce(T) -> Value<'static>) -> Value<'static> {
    v.map_or(Value::Null, f)
}

fn int(n: impl TryInto<i64>) -> Value<'static> {
    Value::Int(n.try_into().unwrap_or(i64::MAX))
}

fn idx(i: usize) -> u32 {
    u32::try_from(i).unwrap_or(u32::MAX)
}

/// A fact table: schema, row count, field access and finding parts.
pub trait FactTable: Sync + Send {
    /// The table's name as used in a rule's `from`.
    fn name(&self) -> &'static str;
    /// Its documented fields.
    fn fields(&self) -> &'static [FieldDef];
    /// Number of rows.
    fn len(&self) -> usize;
    /// True when the table has no rows.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// One field of one row.
    fn get(&self, row: usize, field: usize) -> Value<'_>;
    /// The row's finding parts.
    fn core(&self, row: usize) -> &Core;
}

/// Declares a fact table's schema and field accessor in one place, so the
/// documented order and the accessor can never drift apart.
macro_rules! fact_table {
    ($ty:ident, $tname:literal, $data:ty, $doc:literal, |$c:ident, $core:ident, $r:ident| { $( $name:literal : $fty:ident = $e:expr ; $fdoc:literal )* }) => {
        #[doc = $doc]
        pub struct $ty<'a> {
            ctx: &'a Ctx<'a>,
            rows: Vec<(Core, $data)>,
        }
        impl $ty<'_> {
            /// The table's name.
            pub const NAME: &'static str = $tname;
            /// What the table holds.
            pub const DOC: &'static str = $doc;
            /// The schema.
            pub const FIELDS: &'static [FieldDef] = &[ $( FieldDef { name: $name, ty: Ty::$fty, doc: $fdoc } ),* ];
        }
        impl FactTable for $ty<'_> {
            fn name(&self) -> &'static str { $tname }
            fn fields(&self) -> &'static [FieldDef] { Self::FIELDS }
            fn len(&self) -> usize { self.rows.len() }
            fn core(&self, row: usize) -> &Core { &self.rows[row].0 }
            #[allow(unused_assignments, unused_variables)]
            fn get(&self, row: usize, field: usize) -> Value<'_> {
                let $c = self.ctx;
                let ($core, $r) = (&self.rows[row].0, &self.rows[row].1);
                let mut i = 0usize;
                $( if field == i { return $e; } i += 1; )*
                Value::Null
            }
        }
    };
}

mod channels;
use channels::{AppPermissions, LighthouseGrants};

fn members_of_row<'a>(c: &'a Ctx<'a>, core: &Core) -> Option<&'a members::Members> {
    core.grants
        .first()
        .map(|&g| &**c.g.members_of(c.g.grants[g as usize].holder))
}

fn principal_count(c: &Ctx<'_>, core: &Core) -> Value<'static> {
    let mut ids = BTreeSet::new();
    for &g in &core.grants {
        ids.extend(
            c.g.members_of(c.g.grants[g as usize].holder)
                .enabled_users
                .iter()
                .copied(),
        );
    }
    int(ids.len())
}

fn members_known(c: &Ctx<'_>, core: &Core) -> Value<'static> {
    Value::Bool(
        core.grants
            .iter()
            .all(|&g| c.g.members_of(c.g.grants[g as usize].holder).known),
    )
}

fn holder_group(c: &Ctx<'_>, grant: u32) -> Option<(Guid, &'static str)> {
    let g = &c.g.grants[grant as usize];
    match &c.g.graph[g.holder] {
        Node::Principal(i) => {
            let p = &c.s.principals[*i as usize];
            Some((p.principal_id, p.agent_group.map_or("", |a| a.as_str())))
        }
        Node::Unresolved { id, .. } => Some((*id, "")),
        Node::App(i) => Some((c.s.service_principals[*i as usize].principal_id, "")),
        Node::Placeholder { .. } | Node::Resource { .. } => None,
    }
}

fn via_rel<'a>(c: &'a Ctx<'a>, grant: u32) -> Option<&'a crate::snapshot::Relationship> {
    match c.g.grants[grant as usize].via {
        Via::Dap { relationship, .. }
        | Via::Gdap { relationship, .. }
        | Via::Autopilot { relationship } => Some(&c.s.relationships[relationship as usize]),
        Via::Explicit(_) | Via::Lighthouse { .. } | Via::App { .. } => None,
    }
}

fact_table!(ImplicitGrants, "implicit_grant", u32,
    "One row per implicit directory-role grant: an agent group (or GDAP access-assignment group) of partner P holding a role in customer C's directory through an active DAP or GDAP relationship (F5, F6).",
    |c, core, g| {
        "partner_tenant_id": Id = opt(core.partner, Value::Id); "the partner whose group holds the role"
        "partner_name": Str = core.partner.map_or(Value::Null, |p| c.tenant_name(p)); "partner display name"
        "customer_tenant_id": Id = opt(core.customer, Value::Id); "the customer whose directory is reached"
        "customer_name": Str = core.customer.map_or(Value::Null, |t| c.tenant_name(t)); "customer display name"
        "relationship_kind": Str = match c.g.grants[*g as usize].via { Via::Dap { .. } => Value::Str("dap"), _ => Value::Str("gdap") }; "`dap` or `gdap`"
        "relationship_id": Str = via_rel(c, *g).and_then(|x| x.relationship_id.as_deref()).map_or(Value::Null, Value::Str); "GDAP relationship id"
        "last_activity_at": Date = via_rel(c, *g).and_then(|x| x.last_activity_at).map_or(Value::Null, Value::Date); "last recorded partner activity on the relationship"
        "agent_group": Str = match c.g.grants[*g as usize].via { Via::Dap { group, .. } => Value::Str(group.as_str()), _ => holder_group(c, *g).map_or(Value::Null, |h| if h.1.is_empty() { Value::Null } else { Value::Str(h.1) }) }; "`admin_agents`, `helpdesk_agents`, `sales_agents` or null"
        "group_id": Id = holder_group(c, *g).map_or(Value::Null, |h| Value::Id(h.0)); "object id of the holding group (null for a placeholder)"
        "group_name": Str = Value::Owned(c.g.label(c.s, c.g.grants[*g as usize].holder)); "label of the holding group"
        "role": Str = c.role_name(c.g.grants[*g as usize].role); "directory role granted"
        "members_known": Bool = members_known(c, core); "false when the partner's members are not in the snapshot"
        "principal_count": Int = principal_count(c, core); "enabled users holding the role through the group"
        "disabled_count": Int = int(members_of_row(c, core).map_or(0, |m| m.disabled().count())); "disabled users in the group (hold nothing)"
    }
);

fn ra<'a>(c: &'a Ctx<'a>, a: u32) -> &'a crate::snapshot::RoleAssignment {
    &c.s.role_assignments[a as usize]
}

fn home(c: &Ctx<'_>, a: u32) -> Guid {
    c.g.assignment_principal_tenant[a as usize]
}

fact_table!(RoleAssignments, "role_assignment", u32,
    "One row per explicit role assignment (directory `/` or Azure RBAC scope), with its principal resolved and the partner relationship state between the principal's home tenant and the scope's tenant (F8, F10).",
    |c, core, a| {
        "tenant_id": Id = Value::Id(ra(c, *a).tenant_id); "tenant that owns the scope"
        "tenant_name": Str = c.tenant_name(ra(c, *a).tenant_id); "its display name"
        "scope": Str = Value::Str(ra(c, *a).scope.as_str()); "the assignment scope"
        "scope_level": Str = Value::Str(scope_level(&ra(c, *a).scope)); "`directory`, `subscription`, `resource_group`, `resource`, `management_group` or `other`"
        "at_or_below_subscription": Bool = Value::Bool(c.assignment_refs[*a as usize].subscription_id.is_some()); "the scope is a subscription or lies below one"
        "subscription_id": Id = opt(c.assignment_refs[*a as usize].subscription_id, Value::Id); "subscription of the scope"
        "subscription_name": Str = sub(c, *a).map_or(Value::Null, |x| Value::Str(&x.name)); "its name (null when not in the subscriptions table)"
        "subscription_known": Bool = Value::Bool(sub(c, *a).is_some()); "the subscription is in the subscriptions table"
        "provisioned_by_tenant_id": Id = sub(c, *a).and_then(|x| x.provisioned_by_tenant_id).map_or(Value::Null, Value::Id); "partner that provisioned the subscription (null = the customer)"
        "role": Str = c.role_name(ra(c, *a).role); "role name"
        "role_plane": Str = Value::Str(match c.s.roles.info(ra(c, *a).role).plane { RolePlane::Directory => "directory", RolePlane::Azure => "azure", RolePlane::Autopilot => "autopilot", RolePlane::Custom => "custom" }); "`directory`, `azure` or `custom`"
        "principal_id": Id = Value::Id(ra(c, *a).principal_id); "assigned principal"
        "principal_tenant_id": Id = Value::Id(home(c, *a)); "its home tenant: the row's `principal_tenant_id`, else the tenant listing the principal, else the home another row states or implies, else the scope's tenant"
        "principal_tenant_known": Bool = Value::Bool(c.g.tenant_index.contains_key(&home(c, *a))); "the home tenant is in the tenants table"
        "principal_kind": Str = Value::Str(principal_kind(c, *a)); "`user`, `group`, `service_principal` or `unresolved`"
        "principal_name": Str = principal(c, *a).map_or(Value::Null, |p| Value::Str(&p.display_name)); "display name (null when unresolved)"
        "principal_resolved": Bool = Value::Bool(principal(c, *a).is_some()); "the principal is in the principals table"
        "principal_is_foreign": Bool = Value::Bool(home(c, *a) != ra(c, *a).tenant_id); "home tenant differs from the scope's tenant"
        "principal_is_partner": Bool = Value::Bool(core.partner.is_some_and(|p| c.is_partner(p))); "home tenant is a partner (by tenants.kind or as a relationship's partner) other than the scope's tenant"
        "principal_agent_group": Str = principal(c, *a).and_then(|p| p.agent_group).map_or(Value::Null, |x| Value::Str(x.as_str())); "agent group the principal is, if any"
        "partner_tenant_id": Id = opt(core.partner, Value::Id); "the foreign principal's home tenant unless it is a known customer tenant (null for the tenant's own principals)"
        "partner_name": Str = core.partner.map_or(Value::Null, |p| c.tenant_name(p)); "partner display name"
        "customer_tenant_id": Id = opt(core.customer, Value::Id); "the scope's tenant"
        "tenant_is_customer": Bool = Value::Bool(c.is_customer_of(ra(c, *a).tenant_id, core.partner)); "the scope's tenant is a customer: of kind `customer`, known as no partner, or in a relationship (any state) with the principal's partner"
        "partner_dap_active": Bool = Value::Bool(core.partner.is_some_and(|p| c.has_active(p, ra(c, *a).tenant_id, RelKind::Dap))); "the principal's partner has active DAP with the scope's tenant"
        "partner_gdap_active": Bool = Value::Bool(core.partner.is_some_and(|p| c.has_active(p, ra(c, *a).tenant_id, RelKind::Gdap))); "… active GDAP"
        "partner_reseller_active": Bool = Value::Bool(core.partner.is_some_and(|p| c.has_active(p, ra(c, *a).tenant_id, RelKind::Reseller))); "… an active reseller relationship"
        "principal_count": Int = principal_count(c, core); "enabled users holding the role through this assignment"
        "created_at": Date = ra(c, *a).created_at.map_or(Value::Null, Value::Date); "when the assignment was created"
    }
);

/// Listed vs effective holders of one directory role of one customer.
pub struct DirRow {
    role: RoleId,
    listed: u32,
    effective: u32,
    hidden: u32,
    unknown: u32,
    hidden_ids: Arc<[Guid]>,
}

fact_table!(DirectoryRoles, "directory_role", DirRow,
    "One row per customer directory role that anybody holds: what the customer's own role listing shows (explicit assignments at `/`) against who can really act (explicit plus implicit DAP/GDAP grants) (F6).",
    |c, core, r| {
        "customer_tenant_id": Id = opt(core.customer, Value::Id); "the customer"
        "customer_name": Str = core.customer.map_or(Value::Null, |t| c.tenant_name(t)); "its display name"
        "role": Str = c.role_name(r.role); "directory role"
        "listed_count": Int = int(r.listed); "principals the customer's role listing shows (enabled users and unresolved principals reached through explicit assignments)"
        "effective_count": Int = int(r.effective); "principals that can really act with the role"
        "hidden_count": Int = int(r.hidden); "partner principals holding the role only implicitly (a placeholder group with unknown members counts once)"
        "hidden_unknown": Bool = Value::Bool(r.unknown > 0); "some hidden holder is a partner group whose members are not in the snapshot"
        "hidden_principals": Ids = Value::Ids(&r.hidden_ids); "ids of the hidden principals"
    }
);

fn pair_of<'a>(c: &'a Ctx<'a>, core: &Core) -> Option<&'a Pair> {
    c.pair(core.partner?, core.customer?)
}

fact_table!(PartnerCustomers, "partner_customer", (),
    "One row per partner × customer pair named by any relationship: which relationships are active, DAP activity, and how many partners hold DAP in the customer (F2, F3, F7). Its principals are the members of the agent groups active DAP empowers.",
    |c, core, r| {
        "partner_tenant_id": Id = opt(core.partner, Value::Id); "the partner"
        "partner_name": Str = core.partner.map_or(Value::Null, |p| c.tenant_name(p)); "partner display name"
        "customer_tenant_id": Id = opt(core.customer, Value::Id); "the customer"
        "customer_name": Str = core.customer.map_or(Value::Null, |t| c.tenant_name(t)); "customer display name"
        "reseller_active": Bool = Value::Bool(pair_of(c, core).is_some_and(|p| p.reseller_active)); "an active reseller relationship exists"
        "dap_active": Bool = Value::Bool(pair_of(c, core).is_some_and(|p| p.dap_active)); "an active DAP relationship exists"
        "gdap_active": Bool = Value::Bool(pair_of(c, core).is_some_and(|p| p.gdap_active)); "an active GDAP relationship exists"
        "dap_removed": Bool = Value::Bool(pair_of(c, core).is_some_and(|p| p.dap_removed)); "DAP existed but none is active (removed, expired or terminated)"
        "dap_last_activity_at": Date = pair_of(c, core).and_then(|p| p.dap_last_activity_at).map_or(Value::Null, Value::Date); "latest recorded partner activity over active DAP (null when none recorded)"
        "dap_started_at": Date = pair_of(c, core).and_then(|p| p.dap_started_at).map_or(Value::Null, Value::Date); "when the active DAP started"
        "customer_dap_partner_count": Int = int(core.customer.and_then(|t| c.dap_partners.get(&t).copied()).unwrap_or(0)); "partners holding active DAP in the customer"
        "members_known": Bool = members_known(c, core); "false when an empowered agent group's members are not in the snapshot"
        "principal_count": Int = principal_count(c, core); "enabled users empowered by active DAP"
    }
);

/// Autopilot counts of one partner × customer pair.
#[derive(Default)]
pub struct ApRow {
    can_manage_profiles: bool,
    profiles: u32,
    partner_profiles: u32,
    devices: u32,
    own: u32,
    other_partner: u32,
    customer: u32,
    customer_store_intune: u32,
    manageable: u32,
    manageable_foreign: u32,
}

fact_table!(AutopilotAccess, "autopilot", ApRow,
    "One row per partner × customer pair with an active reseller or DAP relationship: what the partner can do with the customer's Autopilot profiles and devices under the selected policy (`--autopilot-policy`: legacy F11, strict F12).",
    |c, core, r| {
        "partner_tenant_id": Id = opt(core.partner, Value::Id); "the partner"
        "partner_name": Str = core.partner.map_or(Value::Null, |p| c.tenant_name(p)); "partner display name"
        "customer_tenant_id": Id = opt(core.customer, Value::Id); "the customer"
        "customer_name": Str = core.customer.map_or(Value::Null, |t| c.tenant_name(t)); "customer display name"
        "policy": Str = Value::Str(c.policy.as_str()); "`legacy` (F11) or `strict` (F12)"
        "reseller_active": Bool = Value::Bool(pair_of(c, core).is_some_and(|p| p.reseller_active)); "an active reseller relationship exists"
        "dap_active": Bool = Value::Bool(pair_of(c, core).is_some_and(|p| p.dap_active)); "an active DAP relationship exists"
        "can_manage_profiles": Bool = Value::Bool(r.can_manage_profiles); "the partner can add, update, delete, assign and remove Autopilot profiles"
        "profile_count": Int = int(r.profiles); "the customer's Autopilot profiles"
        "partner_profile_count": Int = int(r.partner_profiles); "profiles this partner created"
        "device_count": Int = int(r.devices); "the customer's Autopilot devices"
        "own_device_count": Int = int(r.own); "devices this partner added"
        "other_partner_device_count": Int = int(r.other_partner); "devices other partners added"
        "customer_device_count": Int = int(r.customer); "devices the customer added"
        "customer_store_intune_device_count": Int = int(r.customer_store_intune); "devices the customer added through Store for Business / Education or Intune"
        "manageable_device_count": Int = int(r.manageable); "devices the partner can manage or delete"
        "manageable_foreign_device_count": Int = int(r.manageable_foreign); "manageable devices that another partner or the customer added"
        "unmanageable_device_count": Int = int(r.devices - r.manageable); "devices the partner cannot manage"
        "members_known": Bool = members_known(c, core); "false when the partner's AdminAgents members are not in the snapshot"
    }
);

fn inv<'a>(c: &'a Ctx<'a>, i: u32) -> &'a crate::snapshot::Invitation {
    &c.s.invitations[i as usize]
}

fn sender<'a>(c: &'a Ctx<'a>, i: u32) -> Option<&'a crate::snapshot::Principal> {
    match c.g.graph[c.g.principal(c.s, &inv(c, i).sent_by)?] {
        Node::Principal(p) => Some(&c.s.principals[p as usize]),
        _ => None,
    }
}

fn is_agent(c: &Ctx<'_>, i: u32, ag: AgentGroup) -> bool {
    let x = inv(c, i);
    c.agents.contains(&(x.partner_tenant_id, x.sent_by, ag))
}

fact_table!(Invitations, "invitation", u32,
    "One row per reseller-relationship invitation a partner sent (F1): who sent it, whether that user is an Admin agent or Sales agent, and whether the customer accepted.",
    |c, core, i| {
        "partner_tenant_id": Id = Value::Id(inv(c, *i).partner_tenant_id); "the inviting partner"
        "partner_name": Str = c.tenant_name(inv(c, *i).partner_tenant_id); "partner display name"
        "invitation_id": Str = Value::Str(&inv(c, *i).invitation_id); "invitation id"
        "sent_by": Id = Value::Id(inv(c, *i).sent_by); "the sending partner principal"
        "sender_name": Str = sender(c, *i).map_or(Value::Null, |p| Value::Str(&p.display_name)); "its display name (null when not in the snapshot)"
        "sender_resolved": Bool = Value::Bool(sender(c, *i).is_some()); "the sender is in the principals table"
        "sender_is_admin_agent": Bool = Value::Bool(is_agent(c, *i, AgentGroup::AdminAgents)); "the sender is (transitively) in AdminAgents"
        "sender_is_sales_agent": Bool = Value::Bool(is_agent(c, *i, AgentGroup::SalesAgents)); "the sender is (transitively) in SalesAgents"
        "sent_at": Date = Value::Date(inv(c, *i).sent_at); "when it was sent"
        "customer_tenant_id": Id = opt(inv(c, *i).customer_tenant_id, Value::Id); "the customer (null when unknown)"
        "customer_name": Str = inv(c, *i).customer_tenant_id.map_or(Value::Null, |t| c.tenant_name(t)); "customer display name"
        "accepted": Bool = Value::Bool(inv(c, *i).accepted_at.is_some()); "the customer accepted"
        "accepted_at": Date = opt(inv(c, *i).accepted_at, Value::Date); "when it was accepted"
        "includes_dap": Bool = inv(c, *i).includes_dap.map_or(Value::Null, Value::Bool); "the invitation requested delegated admin privileges (null = unknown)"
    }
);

/// A GDAP relationship's derived data.
pub struct GdapRow {
    rel: u32,
    unused: Vec<RoleId>,
    assignments: u32,
}

fn rel<'a>(c: &'a Ctx<'a>, r: &GdapRow) -> &'a crate::snapshot::Relationship {
    &c.s.relationships[r.rel as usize]
}

fn role_list(c: &Ctx<'_>, roles: &[RoleId]) -> Value<'static> {
    let names: Vec<&str> = roles.iter().map(|&r| c.s.roles.name(r)).collect();
    Value::Owned(names.join(", "))
}

fact_table!(GdapRelationships, "gdap_relationship", GdapRow,
    "One row per GDAP relationship: its state, the roles it grants, when it ends, and which granted roles no access assignment uses. Its principals are the members of the groups its active access assignments name.",
    |c, core, r| {
        "partner_tenant_id": Id = Value::Id(rel(c, r).partner_tenant_id); "the partner"
        "partner_name": Str = c.tenant_name(rel(c, r).partner_tenant_id); "partner display name"
        "customer_tenant_id": Id = Value::Id(rel(c, r).customer_tenant_id); "the customer"
        "customer_name": Str = c.tenant_name(rel(c, r).customer_tenant_id); "customer display name"
        "relationship_id": Str = match rel(c, r).name() { std::borrow::Cow::Borrowed(id) => Value::Str(id), std::borrow::Cow::Owned(name) => Value::Owned(name) }; "GDAP relationship id (`gdap:PARTNER:CUSTOMER` when the snapshot gives none)"
        "state": Str = Value::Str(rel(c, r).state.as_str()); "`pending`, `active`, `removed`, `expired` or `terminated`"
        "active": Bool = Value::Bool(rel(c, r).state == RelState::Active); "the relationship is active"
        "started_at": Date = opt(rel(c, r).started_at, Value::Date); "start"
        "ended_at": Date = opt(rel(c, r).ended_at, Value::Date); "end (for an active relationship: when it will end)"
        "auto_extend": Str = rel(c, r).auto_extend.as_ref().map_or(Value::Null, |d| Value::Str(&d.text)); "auto-extension duration as written (`P180D`, `PT0S`)"
        "auto_extends": Bool = Value::Bool(rel(c, r).auto_extend.as_ref().is_some_and(|d| !d.span.is_zero())); "a non-zero auto-extension is set"
        "roles": Str = role_list(c, &rel(c, r).roles); "roles granted, comma-separated"
        "role_count": Int = int(rel(c, r).roles.len()); "number of roles granted"
        "grants_global_admin": Bool = Value::Bool(rel(c, r).roles.contains(&builtin::GLOBAL_ADMINISTRATOR)); "Global Administrator is among the roles"
        "unused_roles": Str = role_list(c, &r.unused); "granted roles no active access assignment uses, comma-separated"
        "unused_role_count": Int = int(r.unused.len()); "their number"
        "access_assignment_count": Int = int(r.assignments); "active access assignments of the relationship"
        "principal_count": Int = principal_count(c, core); "enabled users holding roles through the relationship"
    }
);

fn scope_level(s: &crate::snapshot::Scope) -> &'static str {
    const MG: &str = "/providers/microsoft.management/managementgroups/";
    let p = s.as_str();
    if s.is_directory() {
        return "directory";
    }
    if p.len() > MG.len() && p.is_char_boundary(MG.len()) && p[..MG.len()].eq_ignore_ascii_case(MG)
    {
        return "management_group";
    }
    let mut segs = p.split('/').filter(|x| !x.is_empty());
    match (
        segs.next(),
        segs.next(),
        segs.next(),
        segs.next(),
        segs.next(),
    ) {
        (Some(a), Some(_), None, ..) if a.eq_ignore_ascii_case("subscriptions") => "subscription",
        (Some(a), Some(_), Some(b), Some(_), None)
            if a.eq_ignore_ascii_case("subscriptions")
                && b.eq_ignore_ascii_case("resourcegroups") =>
        {
            "resource_group"
        }
        (Some(a), Some(_), ..) if a.eq_ignore_ascii_case("subscriptions") => "resource",
        _ => "other",
    }
}

fn sub<'a>(c: &'a Ctx<'a>, a: u32) -> Option<&'a crate::snapshot::Subscription> {
    let i = c.assignment_refs[a as usize].subscription?;
    Some(&c.s.subscriptions[i as usize])
}

fn principal<'a>(c: &'a Ctx<'a>, a: u32) -> Option<&'a crate::snapshot::Principal> {
    let i = c.assignment_refs[a as usize].principal?;
    Some(&c.s.principals[i as usize])
}

fn principal_kind(c: &Ctx<'_>, a: u32) -> &'static str {
    match principal(c, a).map(|p| p.kind) {
        Some(PrincipalKind::User) => "user",
        Some(PrincipalKind::Group) => "group",
        Some(PrincipalKind::ServicePrincipal) => "service_principal",
        None => "unresolved",
    }
}

/// The finding-facing description of a resource.
pub fn resource_of(c: &Ctx<'_>, key: ResourceKey) -> Option<ResourceRef> {
    let tenant = |kind: &'static str, t: Guid, scope: &str| ResourceRef {
        kind,
        id: t.to_string(),
        subscription_id: None,
        scope: Some(scope.to_string()),
    };
    match key {
        ResourceKey::Node(node) => match &c.g.graph[node] {
            Node::Resource { tenant: t, scope } if scope.is_directory() => {
                Some(tenant("directory", *t, "/"))
            }
            Node::Resource { scope, .. } => Some(c.g.scope(*scope)).map(|scope| ResourceRef {
                kind: match scope_level(scope) {
                    "subscription" => "subscription",
                    "resource_group" => "resource_group",
                    _ => "scope",
                },
                id: scope.as_str().to_string(),
                subscription_id: scope.subscription(),
                scope: Some(scope.as_str().to_string()),
            }),
            _ => None,
        },
        ResourceKey::Tenant(t) => Some(ResourceRef {
            kind: "tenant",
            id: t.to_string(),
            subscription_id: None,
            scope: None,
        }),
        ResourceKey::Autopilot(t) => Some(tenant("autopilot", t, "/autopilot")),
        ResourceKey::Relationship(ri) => {
            let r = &c.s.relationships[ri as usize];
            Some(ResourceRef {
                kind: "relationship",
                id: r.name().into_owned(),
                subscription_id: None,
                scope: None,
            })
        }
        ResourceKey::Invitation(i) => Some(ResourceRef {
            kind: "invitation",
            id: c.s.invitations[i as usize].invitation_id.to_string(),
            subscription_id: None,
            scope: None,
        }),
    }
}

/// All fact tables of a snapshot.
pub struct Facts<'a> {
    pub tables: Vec<Box<dyn FactTable + 'a>>,
}

impl<'a> Facts<'a> {
    /// Derives the fact tables named in `wanted` (the tables the enabled
    /// rules read); the others are left out, so a narrow selection costs
    /// neither their time nor their memory.
    pub fn build(c: &'a Ctx<'a>, wanted: &[&str]) -> Facts<'a> {
        let want = |name: &str| wanted.contains(&name);
        // The directory-role table is the costliest: it is derived while
        // the other tables are.
        let (directory, mut facts) = rayon::join(
            || want(DirectoryRoles::NAME).then(|| directory_roles(c)),
            || Facts::build_rest(c, &want),
        );
        if let Some(rows) = directory {
            facts.tables.push(Box::new(DirectoryRoles { ctx: c, rows }));
        }
        facts
    }

    /// The wanted fact tables but `directory_role`.
    fn build_rest(c: &'a Ctx<'a>, want: &dyn Fn(&str) -> bool) -> Facts<'a> {
        let mut implicit = Vec::new();
        let mut assignments = Vec::new();
        let mut dap_grants: BTreeMap<(Guid, Guid), Vec<u32>> = BTreeMap::new();
        let mut ap_grants: BTreeMap<(Guid, Guid), Vec<u32>> = BTreeMap::new();
        let mut gdap_grants: HashMap<u32, Vec<u32>> = HashMap::default();
        let (want_implicit, want_assignments) =
            (want(ImplicitGrants::NAME), want(RoleAssignments::NAME));
        for (gi, g) in c.g.grants.iter().enumerate() {
            let gi = idx(gi);
            match g.via {
                Via::Explicit(_) if !want_assignments => {}
                Via::Explicit(ai) => {
                    let a = ra(c, ai);
                    let home = c.g.assignment_principal_tenant[ai as usize];
                    // A foreign principal's home tenant is named as the partner unless it
                    // is a known customer tenant (an unknown tenant may well be a partner).
                    let partner = (home != a.tenant_id
                        && c.tenant_kind(home) != Some(TenantKind::Customer))
                    .then_some(home);
                    assignments.push((
                        Core {
                            partner,
                            customer: Some(a.tenant_id),
                            resource: Some(ResourceKey::Node(g.resource)),
                            role: Some(a.role),
                            assignment: Some(ai),
                            grants: vec![gi],
                            only: None,
                        },
                        ai,
                    ));
                }
                Via::Dap { relationship, .. } | Via::Gdap { relationship, .. } => {
                    let rel = &c.s.relationships[relationship as usize];
                    let key = (rel.partner_tenant_id, rel.customer_tenant_id);
                    if matches!(g.via, Via::Dap { .. }) {
                        dap_grants.entry(key).or_default().push(gi);
                    } else {
                        gdap_grants.entry(relationship).or_default().push(gi);
                    }
                    if !want_implicit {
                        continue;
                    }
                    implicit.push((
                        Core {
                            partner: Some(key.0),
                            customer: Some(key.1),
                            resource: Some(ResourceKey::Node(g.resource)),
                            role: Some(g.role),
                            assignment: None,
                            grants: vec![gi],
                            only: None,
                        },
                        gi,
                    ));
                }
                // Rows of their own tables (`channels::rows`).
                Via::Lighthouse { .. } | Via::App { .. } => {}
                Via::Autopilot { relationship } => {
                    let rel = &c.s.relationships[relationship as usize];
                    ap_grants
                        .entry((rel.partner_tenant_id, rel.customer_tenant_id))
                        .or_default()
                        .push(gi);
                }
            }
        }
        let pairs = || {
            c.pairs
                .keys()
                .map(|&(p, cu)| {
                    (
                        Core {
                            partner: Some(p),
                            customer: Some(cu),
                            resource: Some(ResourceKey::Tenant(cu)),
                            grants: dap_grants.get(&(p, cu)).cloned().unwrap_or_default(),
                            ..Core::default()
                        },
                        (),
                    )
                })
                .collect()
        };
        let invitations = || {
            (0..c.s.invitations.len())
                .map(|i| {
                    let x = &c.s.invitations[i];
                    (
                        Core {
                            partner: Some(x.partner_tenant_id),
                            customer: x.customer_tenant_id,
                            resource: Some(ResourceKey::Invitation(idx(i))),
                            ..Core::default()
                        },
                        idx(i),
                    )
                })
                .collect()
        };
        fn boxed<'a>(t: impl FactTable + 'a) -> Box<dyn FactTable + 'a> {
            Box::new(t)
        }
        let tables = [
            want(ImplicitGrants::NAME).then(|| {
                boxed(ImplicitGrants {
                    ctx: c,
                    rows: implicit,
                })
            }),
            want(RoleAssignments::NAME).then(|| {
                boxed(RoleAssignments {
                    ctx: c,
                    rows: assignments,
                })
            }),
            want(PartnerCustomers::NAME).then(|| {
                boxed(PartnerCustomers {
                    ctx: c,
                    rows: pairs(),
                })
            }),
            want(AutopilotAccess::NAME).then(|| {
                boxed(AutopilotAccess {
                    ctx: c,
                    rows: autopilot_rows(c, &ap_grants),
                })
            }),
            want(Invitations::NAME).then(|| {
                boxed(Invitations {
                    ctx: c,
                    rows: invitations(),
                })
            }),
            want(GdapRelationships::NAME).then(|| {
                boxed(GdapRelationships {
                    ctx: c,
                    rows: gdap_rows(c, &gdap_grants),
                })
            }),
        ]
        .into_iter()
        .flatten()
        .collect();
        let mut facts = Facts { tables };
        facts.add_channels(c, want);
        facts
    }

    /// The Azure Lighthouse and partner-app tables, when wanted.
    fn add_channels(&mut self, c: &'a Ctx<'a>, want: &dyn Fn(&str) -> bool) {
        let (want_lh, want_app) = (want(LighthouseGrants::NAME), want(AppPermissions::NAME));
        if !want_lh && !want_app {
            return;
        }
        let (lighthouse, apps) = channels::rows(c);
        if want_lh {
            self.tables.push(LighthouseGrants::boxed(c, lighthouse));
        }
        if want_app {
            self.tables.push(AppPermissions::boxed(c, apps));
        }
    }

    /// The table named `name`.
    pub fn table(&self, name: &str) -> Option<&(dyn FactTable + 'a)> {
        self.tables
            .iter()
            .find(|t| t.name() == name)
            .map(AsRef::as_ref)
    }
}

/// Every fact table's name, description and schema (for rule validation and docs).
pub fn schemas() -> Vec<(&'static str, &'static str, &'static [FieldDef])> {
    vec![
        (
            ImplicitGrants::NAME,
            ImplicitGrants::DOC,
            ImplicitGrants::FIELDS,
        ),
        (
            RoleAssignments::NAME,
            RoleAssignments::DOC,
            RoleAssignments::FIELDS,
        ),
        (
            DirectoryRoles::NAME,
            DirectoryRoles::DOC,
            DirectoryRoles::FIELDS,
        ),
        (
            PartnerCustomers::NAME,
            PartnerCustomers::DOC,
            PartnerCustomers::FIELDS,
        ),
        (
            AutopilotAccess::NAME,
            AutopilotAccess::DOC,
            AutopilotAccess::FIELDS,
        ),
        (Invitations::NAME, Invitations::DOC, Invitations::FIELDS),
        (
            GdapRelationships::NAME,
            GdapRelationships::DOC,
            GdapRelationships::FIELDS,
        ),
        (
            LighthouseGrants::NAME,
            LighthouseGrants::DOC,
            LighthouseGrants::FIELDS,
        ),
        (
            AppPermissions::NAME,
            AppPermissions::DOC,
            AppPermissions::FIELDS,
        ),
    ]
}

/// Autopilot rows: every pair with an active reseller or DAP relationship.
fn autopilot_rows(c: &Ctx<'_>, grants: &BTreeMap<(Guid, Guid), Vec<u32>>) -> Vec<(Core, ApRow)> {
    let mut devices: HashMap<Guid, Vec<usize>> = HashMap::default();
    for (i, d) in c.s.devices.iter().enumerate() {
        devices.entry(d.tenant_id).or_default().push(i);
    }
    let mut profiles: HashMap<Guid, Vec<usize>> = HashMap::default();
    for (i, p) in c.s.autopilot_profiles.iter().enumerate() {
        profiles.entry(p.tenant_id).or_default().push(i);
    }
    let mut rows = Vec::new();
    for (&(partner, customer), pair) in &c.pairs {
        if !(pair.reseller_active || pair.dap_active) {
            continue;
        }
        let mut r = ApRow {
            can_manage_profiles: match c.policy {
                AutopilotPolicy::Legacy => true,
                AutopilotPolicy::Strict => pair.dap_active,
            },
            ..ApRow::default()
        };
        for &pi in profiles.get(&customer).map_or(&[][..], Vec::as_slice) {
            r.profiles += 1;
            r.partner_profiles +=
                u32::from(c.s.autopilot_profiles[pi].created_by_tenant_id == Some(partner));
        }
        for &di in devices.get(&customer).map_or(&[][..], Vec::as_slice) {
            let d = &c.s.devices[di];
            r.devices += 1;
            let own = d.added_by_tenant_id == partner;
            let by_customer = d.added_by_tenant_id == customer;
            r.own += u32::from(own);
            r.customer += u32::from(by_customer);
            r.other_partner += u32::from(!own && !by_customer);
            r.customer_store_intune += u32::from(
                by_customer
                    && matches!(
                        d.added_via,
                        AddedVia::StoreForBusiness | AddedVia::StoreForEducation | AddedVia::Intune
                    ),
            );
            if partner_may_manage_device(c.policy, pair.dap_active, partner, customer, d) {
                r.manageable += 1;
                r.manageable_foreign += u32::from(!own);
            }
        }
        rows.push((
            Core {
                partner: Some(partner),
                customer: Some(customer),
                resource: Some(ResourceKey::Autopilot(customer)),
                grants: grants
                    .get(&(partner, customer))
                    .cloned()
                    .unwrap_or_default(),
                ..Core::default()
            },
            r,
        ));
    }
    rows
}

/// GDAP relationship rows, with the granted roles no active access assignment uses.
fn gdap_rows(c: &Ctx<'_>, grants: &HashMap<u32, Vec<u32>>) -> Vec<(Core, GdapRow)> {
    let mut used: HashMap<&str, (BTreeSet<RoleId>, u32)> = HashMap::default();
    for aa in &c.s.gdap_access_assignments {
        if aa
            .state
            .as_deref()
            .is_some_and(|st| !st.eq_ignore_ascii_case("active"))
        {
            continue;
        }
        let e = used.entry(&aa.relationship_id).or_default();
        e.0.extend(aa.roles.iter().copied());
        e.1 += 1;
    }
    c.s.relationships
        .iter()
        .enumerate()
        .filter(|&(_, r)| r.kind == RelKind::Gdap)
        .map(|(ri, r)| {
            let (roles_used, assignments) = r
                .relationship_id
                .as_deref()
                .and_then(|id| used.get(id))
                .map_or((None, 0), |(set, n)| (Some(set), *n));
            let mut unused: Vec<RoleId> = r
                .roles
                .iter()
                .copied()
                .filter(|role| roles_used.is_none_or(|u| !u.contains(role)))
                .collect();
            unused.sort_by(|a, b| c.s.roles.name(*a).cmp(c.s.roles.name(*b)));
            unused.dedup();
            let ri = idx(ri);
            (
                Core {
                    partner: Some(r.partner_tenant_id),
                    customer: Some(r.customer_tenant_id),
                    resource: Some(ResourceKey::Relationship(ri)),
                    grants: grants.get(&ri).cloned().unwrap_or_default(),
                    ..Core::default()
                },
                GdapRow {
                    rel: ri,
                    unused,
                    assignments,
                },
            )
        })
        .collect()
}

/// Listed vs effective holders per customer directory role.
fn directory_roles(c: &Ctx<'_>) -> Vec<(Core, DirRow)> {
    #[derive(Default)]
    struct Acc {
        listed: Vec<Guid>,
        implicit: Vec<Guid>,
        unknown_holders: BTreeSet<u32>,
        grants: Vec<u32>,
        resource: Option<NodeIndex>,
    }
    let mut per: HashMap<(Guid, RoleId), Acc> = HashMap::default();
    for (gi, g) in c.g.grants.iter().enumerate() {
        let Node::Resource { tenant, scope } = &c.g.graph[g.resource] else {
            continue;
        };
        // An app's permissions are no directory role.
        if matches!(g.via, Via::App { .. }) {
            continue;
        }
        if !scope.is_directory() || c.tenant_kind(*tenant) == Some(TenantKind::Partner) {
            continue;
        }
        let acc = per.entry((*tenant, g.role)).or_default();
        acc.resource = Some(g.resource);
        let members = c.g.members_of(g.holder);
        let ids = members
            .list
            .iter()
            .filter(|m| m.effective())
            .filter_map(|m| m.id);
        if g.via.is_implicit() {
            acc.implicit.extend(ids);
            if !members.known {
                acc.unknown_holders.insert(idx(g.holder.index()));
            }
            acc.grants.push(idx(gi));
        } else {
            acc.listed.extend(ids);
        }
    }
    let mut per: Vec<((Guid, RoleId), Acc)> = per.into_iter().collect();
    per.par_sort_unstable_by_key(|(k, _)| *k);
    per.into_par_iter()
        .map(|((tenant, role), mut acc)| {
            for ids in [&mut acc.listed, &mut acc.implicit] {
                ids.sort_unstable();
                ids.dedup();
            }
            // Sorted, as `implicit` is; shared with the findings (and the
            // other customers) that have the same list.
            let hidden: Vec<Guid> = acc
                .implicit
                .iter()
                .filter(|id| acc.listed.binary_search(id).is_err())
                .copied()
                .collect();
            let hidden = c.principal_list(&hidden);
            let unknown = idx(acc.unknown_holders.len());
            // listed ∪ implicit = listed + (implicit − listed)
            let effective = idx(acc.listed.len() + hidden.len()) + unknown;
            let row = DirRow {
                role,
                listed: idx(acc.listed.len()),
                effective,
                hidden: idx(hidden.len()) + unknown,
                unknown,
                hidden_ids: Arc::clone(&hidden),
            };
            (
                Core {
                    partner: None,
                    customer: Some(tenant),
                    resource: acc.resource.map(ResourceKey::Node),
                    // The finding is about the customer's listing as a whole; the
                    // row's role is a field (and in the evidence), not the finding's role.
                    role: None,
                    assignment: None,
                    grants: acc.grants,
                    only: Some(hidden),
                },
                row,
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::scope_level;
    use crate::snapshot::Scope;

    #[test]
    fn scope_levels() {
        let level = |s: &str| scope_level(&Scope(s.into()));
        assert_eq!(level("/"), "directory");
        assert_eq!(level("/subscriptions/abc"), "subscription");
        assert_eq!(
            level("/subscriptions/abc/resourceGroups/rg"),
            "resource_group"
        );
        assert_eq!(
            level("/subscriptions/abc/RESOURCEGROUPS/rg"),
            "resource_group"
        );
        assert_eq!(
            level("/subscriptions/abc/resourceGroups/rg/providers/x/y/z"),
            "resource"
        );
        assert_eq!(
            level("/providers/Microsoft.Management/managementGroups/mg1"),
            "management_group"
        );
        assert_eq!(level("/elsewhere"), "other");
    }
}
