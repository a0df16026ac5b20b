//! Fact tables: what the access graph derives, in rows a rule can query.
//!
//! Each table has a fixed, documented schema (`FIELDS`); rules name a table
//! in `from` and filter its rows with a typed expression. Every row also
//! carries its *finding parts* ([`Core`]): the partner, customer, resource,
//! role, the assignment to remove and the grants whose members explain it.
//! Adding a table (or a field) is engine work; adding a rule is not.

use std::collections::{BTreeMap, BTreeSet};

use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};
use std::sync::Arc;

use jiff::Timestamp;
use petgraph::graph::NodeIndex;

use super::expr::{Ty, Value};
use crate::graph::{AccessGraph, Node, Via};
use crate::snapshot::roles::{RoleId, RolePlane};
use crate::snapshot::{Guid, PrincipalKind, RelKind, RelState, Snapshot, TenantKind};

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
    /// `directory`, `subscription`, `resource_group`, `scope`.
    pub kind: &'static str,
    pub id: String,
    pub subscription_id: Option<Guid>,
    pub scope: Option<String>,
}

/// The finding-shaped parts of a fact row.
#[derive(Clone, Debug, Default)]
pub struct Core {
    pub partner: Option<Guid>,
    pub customer: Option<Guid>,
    /// The resource node (a directory or an Azure scope) of the access graph.
    pub resource: Option<NodeIndex>,
    pub role: Option<RoleId>,
    /// Index into `Snapshot::role_assignments` for findings about one assignment.
    pub assignment: Option<u32>,
    /// Grants (indexes into `AccessGraph::grants`) whose members hold the access.
    pub grants: Vec<u32>,
    /// When set, only these members count (e.g. the hidden principals of DAP003).
    pub only: Option<Arc<BTreeSet<Guid>>>,
}

/// Shared lookups for building facts.
pub struct Ctx<'a> {
    pub s: &'a Snapshot,
    pub g: &'a AccessGraph,
    pub as_of: Timestamp,
    /// (partner, customer, kind) → an active relationship of that kind exists.
    active: HashSet<(Guid, Guid, RelKind)>,
    /// Tenants named as a partner in some relationship.
    partners_seen: HashSet<Guid>,
    subscription: HashMap<Guid, u32>,
}

impl<'a> Ctx<'a> {
    /// Indexes the snapshot for fact building.
    pub fn new(s: &'a Snapshot, g: &'a AccessGraph, as_of: Timestamp) -> Self {
        let mut active = HashSet::default();
        let mut partners_seen = HashSet::default();
        for r in &s.relationships {
            partners_seen.insert(r.partner_tenant_id);
            if r.state == RelState::Active {
                active.insert((r.partner_tenant_id, r.customer_tenant_id, r.kind));
            }
        }
        let subscription = s
            .subscriptions
            .iter()
            .enumerate()
            .map(|(i, x)| (x.subscription_id, u32::try_from(i).unwrap_or(u32::MAX)))
            .collect();
        Ctx {
            s,
            g,
            as_of,
            active,
            partners_seen,
            subscription,
        }
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
    fn has_active(&self, p: Guid, c: Guid, k: RelKind) -> bool {
        self.active.contains(&(p, c, k))
    }
    fn role_name(&self, r: RoleId) -> Value<'a> {
        Value::Str(self.s.roles.name(r))
    }
}

fn opt<T>(v: Option<T>, f: impl FnOnce(T) -> Value<'static>) -> Value<'static> {
    v.map_or(Value::Null, f)
}

fn directory(tenant: Guid) -> ResourceRef {
    ResourceRef {
        kind: "directory",
        id: tenant.to_string(),
        subscription_id: None,
        scope: Some("/".into()),
    }
}

/// A fact table: schema, row count, field access and finding parts.
pub trait FactTable: Sync {
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
    ($ty:ident, $tname:literal, $doc:literal, |$this:ident, $r:ident| { $( $name:literal : $fty:ident = $e:expr ; $fdoc:literal )* }) => {
        #[doc = $doc]
        pub struct $ty<'a> {
            ctx: &'a Ctx<'a>,
            rows: Vec<Row>,
        }
        impl<'a> $ty<'a> {
            /// The schema.
            pub const FIELDS: &'static [FieldDef] = &[ $( FieldDef { name: $name, ty: Ty::$fty, doc: $fdoc } ),* ];
        }
        impl FactTable for $ty<'_> {
            fn name(&self) -> &'static str { $tname }
            fn fields(&self) -> &'static [FieldDef] { Self::FIELDS }
            fn len(&self) -> usize { self.rows.len() }
            fn core(&self, row: usize) -> &Core { &self.rows[row].core }
            #[allow(unused_assignments)]
            fn get(&self, row: usize, field: usize) -> Value<'_> {
                let $this = self.ctx;
                let $r = &self.rows[row];
                let mut i = 0usize;
                $( if field == i { return $e; } i += 1; )*
                Value::Null
            }
        }
    };
}

/// One fact row: the finding parts plus table-specific data.
pub struct Row {
    pub core: Core,
    /// What the row is about: a grant index (`implicit_grant`), an assignment
    /// index (`role_assignment`) or a role id (`directory_role`).
    pub src: u32,
    /// Table-specific numbers (counts), by position.
    pub n: [i64; 4],
    pub ids: Arc<[Guid]>,
}

fn members_value<'a>(c: &'a Ctx<'a>, r: &Row) -> &'a crate::graph::Members {
    let g = &c.g.grants[r.core.grants[0] as usize];
    c.g.members_of(g.holder)
}

fn holder_group(c: &Ctx<'_>, r: &Row) -> Option<(Guid, &'static str)> {
    let g = &c.g.grants[r.src as usize];
    match &c.g.graph[g.holder] {
        Node::Principal(i) => {
            let p = &c.s.principals[*i as usize];
            Some((p.principal_id, p.agent_group.map_or("", |a| a.as_str())))
        }
        Node::Unresolved { id, .. } => Some((*id, "")),
        Node::Placeholder { .. } | Node::Resource { .. } => None,
    }
}

fn via_rel<'a>(c: &'a Ctx<'a>, r: &Row) -> Option<&'a crate::snapshot::Relationship> {
    match c.g.grants[r.src as usize].via {
        Via::Dap { relationship, .. } | Via::Gdap { relationship, .. } => {
            Some(&c.s.relationships[relationship as usize])
        }
        Via::Explicit(_) => None,
    }
}

fact_table!(ImplicitGrants, "implicit_grant",
    "One row per implicit directory-role grant: an agent group (or GDAP access-assignment group) of partner P holding a role in customer C's directory through an active DAP or GDAP relationship (F5, F6).",
    |c, r| {
        "partner_tenant_id": Id = opt(r.core.partner, Value::Id); "the partner whose group holds the role"
        "partner_name": Str = r.core.partner.map_or(Value::Null, |p| c.tenant_name(p)); "partner display name"
        "customer_tenant_id": Id = opt(r.core.customer, Value::Id); "the customer whose directory is reached"
        "customer_name": Str = r.core.customer.map_or(Value::Null, |t| c.tenant_name(t)); "customer display name"
        "relationship_kind": Str = match c.g.grants[r.src as usize].via { Via::Dap { .. } => Value::Str("dap"), _ => Value::Str("gdap") }; "`dap` or `gdap`"
        "relationship_id": Str = via_rel(c, r).and_then(|x| x.relationship_id.as_deref()).map_or(Value::Null, Value::Str); "GDAP relationship id"
        "last_activity_at": Date = via_rel(c, r).and_then(|x| x.last_activity_at).map_or(Value::Null, Value::Date); "last recorded partner activity on the relationship"
        "agent_group": Str = match c.g.grants[r.src as usize].via { Via::Dap { group, .. } => Value::Str(group.as_str()), _ => holder_group(c, r).map_or(Value::Null, |h| if h.1.is_empty() { Value::Null } else { Value::Str(h.1) }) }; "`admin_agents`, `helpdesk_agents`, `sales_agents` or null"
        "group_id": Id = holder_group(c, r).map_or(Value::Null, |h| Value::Id(h.0)); "object id of the holding group (null for a placeholder)"
        "group_name": Str = Value::Owned(c.g.label(c.s, c.g.grants[r.src as usize].holder)); "label of the holding group"
        "role": Str = c.role_name(c.g.grants[r.src as usize].role); "directory role granted"
        "members_known": Bool = Value::Bool(members_value(c, r).known); "false when the partner's members are not in the snapshot"
        "principal_count": Int = Value::Int(i64::try_from(members_value(c, r).enabled_users.len()).unwrap_or(0)); "enabled users holding the role through the group"
        "disabled_count": Int = Value::Int(i64::try_from(members_value(c, r).disabled().count()).unwrap_or(0)); "disabled users in the group (hold nothing)"
    }
);

fact_table!(RoleAssignments, "role_assignment",
    "One row per explicit role assignment (directory `/` or Azure RBAC scope), with its principal resolved and the partner relationship state between the principal's home tenant and the scope's tenant (F8, F10).",
    |c, r| {
        "tenant_id": Id = Value::Id(c.s.role_assignments[r.src as usize].tenant_id); "tenant that owns the scope"
        "tenant_name": Str = c.tenant_name(c.s.role_assignments[r.src as usize].tenant_id); "its display name"
        "scope": Str = Value::Str(c.s.role_assignments[r.src as usize].scope.as_str()); "the assignment scope"
        "scope_level": Str = Value::Str(scope_level(&c.s.role_assignments[r.src as usize].scope)); "`directory`, `subscription`, `resource_group`, `resource`, `management_group` or `other`"
        "at_or_below_subscription": Bool = Value::Bool(c.s.role_assignments[r.src as usize].scope.subscription().is_some()); "the scope is a subscription or lies below one"
        "subscription_id": Id = opt(c.s.role_assignments[r.src as usize].scope.subscription(), Value::Id); "subscription of the scope"
        "subscription_name": Str = sub(c, r).map_or(Value::Null, |x| Value::Str(&x.name)); "its name (null when not in the subscriptions table)"
        "subscription_known": Bool = Value::Bool(sub(c, r).is_some()); "the subscription is in the subscriptions table"
        "provisioned_by_tenant_id": Id = sub(c, r).and_then(|x| x.provisioned_by_tenant_id).map_or(Value::Null, Value::Id); "partner that provisioned the subscription (null = the customer)"
        "role": Str = c.role_name(c.s.role_assignments[r.src as usize].role); "role name"
        "role_plane": Str = Value::Str(match c.s.roles.info(c.s.role_assignments[r.src as usize].role).plane { RolePlane::Directory => "directory", RolePlane::Azure => "azure", RolePlane::Custom => "custom" }); "`directory`, `azure` or `custom`"
        "principal_id": Id = Value::Id(c.s.role_assignments[r.src as usize].principal_id); "assigned principal"
        "principal_tenant_id": Id = Value::Id(c.g.assignment_principal_tenant[r.src as usize]); "its home tenant (resolved per SPEC §3)"
        "principal_tenant_known": Bool = Value::Bool(c.g.tenant_index.contains_key(&c.g.assignment_principal_tenant[r.src as usize])); "the home tenant is in the tenants table"
        "principal_kind": Str = Value::Str(principal_kind(c, r)); "`user`, `group`, `service_principal` or `unresolved`"
        "principal_name": Str = principal(c, r).map_or(Value::Null, |p| Value::Str(&p.display_name)); "display name (null when unresolved)"
        "principal_resolved": Bool = Value::Bool(principal(c, r).is_some()); "the principal is in the principals table"
        "principal_is_foreign": Bool = Value::Bool(c.g.assignment_principal_tenant[r.src as usize] != c.s.role_assignments[r.src as usize].tenant_id); "home tenant differs from the scope's tenant"
        "principal_is_partner": Bool = Value::Bool(r.core.partner.is_some_and(|p| c.is_partner(p))); "home tenant is a partner (by tenants.kind or as a relationship's partner) other than the scope's tenant"
        "principal_agent_group": Str = principal(c, r).and_then(|p| p.agent_group).map_or(Value::Null, |a| Value::Str(a.as_str())); "agent group the principal is, if any"
        "partner_tenant_id": Id = opt(r.core.partner, Value::Id); "the foreign principal's home tenant unless it is a known customer tenant (null for the tenant's own principals)"
        "partner_name": Str = r.core.partner.map_or(Value::Null, |p| c.tenant_name(p)); "partner display name"
        "customer_tenant_id": Id = opt(r.core.customer, Value::Id); "the scope's tenant"
        "partner_dap_active": Bool = Value::Bool(r.core.partner.is_some_and(|p| c.has_active(p, c.s.role_assignments[r.src as usize].tenant_id, RelKind::Dap))); "the principal's partner has active DAP with the scope's tenant"
        "partner_gdap_active": Bool = Value::Bool(r.core.partner.is_some_and(|p| c.has_active(p, c.s.role_assignments[r.src as usize].tenant_id, RelKind::Gdap))); "… active GDAP"
        "partner_reseller_active": Bool = Value::Bool(r.core.partner.is_some_and(|p| c.has_active(p, c.s.role_assignments[r.src as usize].tenant_id, RelKind::Reseller))); "… an active reseller relationship"
        "principal_count": Int = Value::Int(i64::try_from(members_value(c, r).enabled_users.len()).unwrap_or(0)); "enabled users holding the role through this assignment"
        "created_at": Date = c.s.role_assignments[r.src as usize].created_at.map_or(Value::Null, Value::Date); "when the assignment was created"
    }
);

fact_table!(DirectoryRoles, "directory_role",
    "One row per customer directory role that anybody holds: what the customer's own role listing shows (explicit assignments at `/`) against who can really act (explicit plus implicit DAP/GDAP grants) (F6).",
    |c, r| {
        "customer_tenant_id": Id = opt(r.core.customer, Value::Id); "the customer"
        "customer_name": Str = r.core.customer.map_or(Value::Null, |t| c.tenant_name(t)); "its display name"
        "role": Str = c.role_name(RoleId(u16::try_from(r.src).unwrap_or(u16::MAX))); "directory role"
        "listed_count": Int = Value::Int(r.n[0]); "principals the customer's role listing shows (enabled users and unresolved principals reached through explicit assignments)"
        "effective_count": Int = Value::Int(r.n[1]); "principals that can really act with the role"
        "hidden_count": Int = Value::Int(r.n[2]); "partner principals holding the role only implicitly (a placeholder group with unknown members counts once)"
        "hidden_unknown": Bool = Value::Bool(r.n[3] > 0); "some hidden holder is a partner group whose members are not in the snapshot"
        "hidden_principals": Ids = Value::Ids(&r.ids); "ids of the hidden principals"
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

fn sub<'a>(c: &'a Ctx<'a>, r: &Row) -> Option<&'a crate::snapshot::Subscription> {
    let sid = c.s.role_assignments[r.src as usize].scope.subscription()?;
    c.subscription
        .get(&sid)
        .map(|&i| &c.s.subscriptions[i as usize])
}

fn principal<'a>(c: &'a Ctx<'a>, r: &Row) -> Option<&'a crate::snapshot::Principal> {
    let a = &c.s.role_assignments[r.src as usize];
    let n = c.g.principal_node.get(&a.principal_id)?;
    match c.g.graph[*n] {
        Node::Principal(i) => Some(&c.s.principals[i as usize]),
        _ => None,
    }
}

fn principal_kind(c: &Ctx<'_>, r: &Row) -> &'static str {
    match principal(c, r).map(|p| p.kind) {
        Some(PrincipalKind::User) => "user",
        Some(PrincipalKind::Group) => "group",
        Some(PrincipalKind::ServicePrincipal) => "service_principal",
        None => "unresolved",
    }
}

/// The finding-facing description of a resource node.
pub fn resource_of(c: &Ctx<'_>, node: NodeIndex) -> Option<ResourceRef> {
    match &c.g.graph[node] {
        Node::Resource { tenant, scope } if scope.is_directory() => Some(directory(*tenant)),
        Node::Resource { scope, .. } => Some(ResourceRef {
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
    }
}

fn row(core: Core, src: usize) -> Row {
    Row {
        core,
        src: u32::try_from(src).unwrap_or(u32::MAX),
        n: [0; 4],
        ids: Arc::from(Vec::new()),
    }
}

/// All fact tables of a snapshot.
pub struct Facts<'a> {
    pub tables: Vec<Box<dyn FactTable + 'a>>,
}

impl<'a> Facts<'a> {
    /// Derives every fact table.
    pub fn build(c: &'a Ctx<'a>) -> Facts<'a> {
        let mut implicit = Vec::new();
        let mut assignments = Vec::new();
        for (gi, g) in c.g.grants.iter().enumerate() {
            let gi32 = u32::try_from(gi).unwrap_or(u32::MAX);
            match g.via {
                Via::Explicit(ai) => {
                    let a = &c.s.role_assignments[ai as usize];
                    let home = c.g.assignment_principal_tenant[ai as usize];
                    // A foreign principal's home tenant is named as the partner unless it
                    // is a known customer tenant (an unknown tenant may well be a partner).
                    let partner = (home != a.tenant_id
                        && c.tenant_kind(home) != Some(TenantKind::Customer))
                    .then_some(home);
                    assignments.push(row(
                        Core {
                            partner,
                            customer: Some(a.tenant_id),
                            resource: Some(g.resource),
                            role: Some(a.role),
                            assignment: Some(ai),
                            grants: vec![gi32],
                            only: None,
                        },
                        ai as usize,
                    ));
                }
                Via::Dap { relationship, .. } | Via::Gdap { relationship, .. } => {
                    let rel = &c.s.relationships[relationship as usize];
                    implicit.push(row(
                        Core {
                            partner: Some(rel.partner_tenant_id),
                            customer: Some(rel.customer_tenant_id),
                            resource: Some(g.resource),
                            role: Some(g.role),
                            assignment: None,
                            grants: vec![gi32],
                            only: None,
                        },
                        gi,
                    ));
                }
            }
        }
        let roles = directory_roles(c);
        Facts {
            tables: vec![
                Box::new(ImplicitGrants {
                    ctx: c,
                    rows: implicit,
                }),
                Box::new(RoleAssignments {
                    ctx: c,
                    rows: assignments,
                }),
                Box::new(DirectoryRoles {
                    ctx: c,
                    rows: roles,
                }),
            ],
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

/// Every fact table's name and schema (for rule validation and docs).
pub fn schemas() -> Vec<(&'static str, &'static [FieldDef])> {
    vec![
        ("implicit_grant", ImplicitGrants::FIELDS),
        ("role_assignment", RoleAssignments::FIELDS),
        ("directory_role", DirectoryRoles::FIELDS),
    ]
}

/// Listed vs effective holders per customer directory role.
fn directory_roles(c: &Ctx<'_>) -> Vec<Row> {
    #[derive(Default)]
    struct Acc {
        listed: BTreeSet<Guid>,
        implicit: BTreeSet<Guid>,
        unknown_holders: BTreeSet<u32>,
        grants: Vec<u32>,
        resource: Option<NodeIndex>,
    }
    let mut per: BTreeMap<(Guid, RoleId), Acc> = BTreeMap::new();
    for (gi, g) in c.g.grants.iter().enumerate() {
        let Node::Resource { tenant, scope } = &c.g.graph[g.resource] else {
            continue;
        };
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
                acc.unknown_holders
                    .insert(u32::try_from(g.holder.index()).unwrap_or(u32::MAX));
            }
            acc.grants.push(u32::try_from(gi).unwrap_or(u32::MAX));
        } else {
            acc.listed.extend(ids);
        }
    }
    per.into_iter()
        .map(|((tenant, role), acc)| {
            let hidden: BTreeSet<Guid> = acc.implicit.difference(&acc.listed).copied().collect();
            let unknown = acc.unknown_holders.len() as i64;
            let hidden_count = hidden.len() as i64 + unknown;
            let effective = acc.listed.union(&acc.implicit).count() as i64 + unknown;
            let ids: Arc<[Guid]> = hidden.iter().copied().collect();
            Row {
                core: Core {
                    partner: None,
                    customer: Some(tenant),
                    resource: acc.resource,
                    // The finding is about the customer's listing as a whole; the
                    // row's role is a field (and in the evidence), not the finding's role.
                    role: None,
                    assignment: None,
                    grants: acc.grants,
                    only: Some(Arc::new(hidden)),
                },
                src: u32::from(role.0),
                n: [acc.listed.len() as i64, effective, hidden_count, unknown],
                ids,
            }
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
