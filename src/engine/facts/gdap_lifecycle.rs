//! GDAP lifecycle facts beyond the relationship itself: each access
//! assignment with its status, and each customer-side directory role
//! assignment held by a partner's group, matched to the GDAP relationship
//! whose access assignment grants it.
//!
//! Seen from the customer tenant, a GDAP role assignment's principal is a
//! security group of the partner tenant that the customer cannot read: the
//! relationship that explains it lives only in the partner's data (or in a
//! snapshot that holds both sides).

use rustc_hash::FxHashMap as HashMap;

use super::{idx, Core, Ctx, FactTable, FieldDef, ResourceKey, Ty, Value};
use crate::graph::{Node, Via};
use crate::snapshot::{GdapAccessAssignment, Guid, PrincipalKind, RelKind, RelState, Relationship};

/// GDAP relationships by id.
fn relationships_by_id<'a>(c: &Ctx<'a>) -> HashMap<&'a str, u32> {
    c.s.relationships
        .iter()
        .enumerate()
        .filter(|(_, r)| r.kind == RelKind::Gdap)
        .filter_map(|(i, r)| Some((r.relationship_id.as_deref()?, idx(i))))
        .collect()
}

/// An access assignment and its relationship, when the snapshot has it.
pub struct AaRow {
    aa: u32,
    rel: Option<u32>,
}

fn aa<'a>(c: &'a Ctx<'a>, i: u32) -> &'a GdapAccessAssignment {
    &c.s.gdap_access_assignments[i as usize]
}

fn rel_of<'a>(c: &'a Ctx<'a>, i: Option<u32>) -> Option<&'a Relationship> {
    i.map(|i| &c.s.relationships[i as usize])
}

fn group_name<'a>(c: &'a Ctx<'a>, id: Guid) -> Value<'a> {
    match c.g.principal(c.s, &id).map(|n| &c.g.graph[n]) {
        Some(Node::Principal(p)) => Value::Str(&c.s.principals[*p as usize].display_name),
        _ => Value::Null,
    }
}

fact_table!(GdapAccessAssignments, "gdap_access_assignment", AaRow,
    "One row per GDAP access assignment (Graph `delegatedAdminAccessAssignment`): the partner group it names, the roles it gives that group, its status and its relationship's state. Only an `active` assignment of an active relationship grants anything; its principals are empty.",
    |c, core, r| {
        "relationship_id": Str = Value::Str(&aa(c, r.aa).relationship_id); "the GDAP relationship it belongs to"
        "relationship_known": Bool = Value::Bool(r.rel.is_some()); "the relationship is in the snapshot"
        "relationship_state": Str = rel_of(c, r.rel).map_or(Value::Null, |x| Value::Str(x.state.as_str())); "the relationship's state (null when unknown)"
        "relationship_active": Bool = Value::Bool(rel_of(c, r.rel).is_some_and(|x| x.state == RelState::Active)); "the relationship is active"
        "partner_tenant_id": Id = super::opt(core.partner, Value::Id); "the partner (null when the relationship is unknown)"
        "partner_name": Str = core.partner.map_or(Value::Null, |p| c.tenant_name(p)); "partner display name"
        "customer_tenant_id": Id = super::opt(core.customer, Value::Id); "the customer"
        "customer_name": Str = core.customer.map_or(Value::Null, |t| c.tenant_name(t)); "customer display name"
        "group_id": Id = Value::Id(aa(c, r.aa).group_id); "the partner security group"
        "group_name": Str = group_name(c, aa(c, r.aa).group_id); "its display name (null when not in the snapshot)"
        "roles": Str = super::role_list(c, &aa(c, r.aa).roles); "roles the assignment gives the group, comma-separated"
        "state": Str = aa(c, r.aa).state.as_deref().map_or(Value::Null, Value::Str); "status as exported: `pending`, `active`, `deleting`, `deleted` or `error` (null when not given)"
    }
);

/// A directory role assignment in a customer held by a partner's group.
pub struct PgRow {
    assignment: u32,
    /// The GDAP relationship and access assignment that grant it, if any.
    matched: Option<(u32, u32)>,
}

fn ra<'a>(c: &'a Ctx<'a>, a: u32) -> &'a crate::snapshot::RoleAssignment {
    &c.s.role_assignments[a as usize]
}

fact_table!(PartnerGroupAssignments, "partner_group_assignment", PgRow,
    "One row per directory role assignment (`role_assignments` at scope `/`) in a customer whose principal is a group of a partner tenant, as the customer's own role listing shows GDAP access (the group itself cannot be read from the customer tenant), matched to the GDAP relationship whose access assignment names that group with that role: an active relationship with an active access assignment when there is one.",
    |c, core, r| {
        "customer_tenant_id": Id = super::opt(core.customer, Value::Id); "the customer"
        "customer_name": Str = core.customer.map_or(Value::Null, |t| c.tenant_name(t)); "customer display name"
        "partner_tenant_id": Id = super::opt(core.partner, Value::Id); "the group's home tenant"
        "partner_name": Str = core.partner.map_or(Value::Null, |p| c.tenant_name(p)); "partner display name"
        "principal_id": Id = Value::Id(ra(c, r.assignment).principal_id); "the partner group"
        "principal_name": Str = group_name(c, ra(c, r.assignment).principal_id); "its display name (null when the snapshot holds only the customer side)"
        "role": Str = c.role_name(ra(c, r.assignment).role); "the directory role"
        "created_at": Date = ra(c, r.assignment).created_at.map_or(Value::Null, Value::Date); "when the assignment was created"
        "matched": Bool = Value::Bool(r.matched.is_some()); "a GDAP access assignment of a relationship with this customer names the group with this role"
        "relationship_id": Str = r.matched.and_then(|(ri, _)| c.s.relationships[ri as usize].relationship_id.as_deref()).map_or(Value::Null, Value::Str); "that relationship"
        "relationship_name": Str = r.matched.and_then(|(ri, _)| c.s.relationships[ri as usize].display_name.as_deref()).map_or(Value::Null, Value::Str); "its display name"
        "relationship_state": Str = r.matched.map_or(Value::Null, |(ri, _)| Value::Str(c.s.relationships[ri as usize].state.as_str())); "its state"
        "relationship_ends_at": Date = r.matched.and_then(|(ri, _)| c.s.relationships[ri as usize].ended_at).map_or(Value::Null, Value::Date); "when it ends"
        "access_assignment_state": Str = r.matched.and_then(|(_, ai)| aa(c, ai).state.as_deref()).map_or(Value::Null, Value::Str); "the access assignment's status"
        "granted": Bool = Value::Bool(r.matched.is_some_and(|(ri, ai)| c.s.relationships[ri as usize].state == RelState::Active && aa(c, ai).state.as_deref().is_none_or(|s| s.eq_ignore_ascii_case("active")))); "an active relationship's active access assignment grants the role"
        "principal_count": Int = super::principal_count(c, core); "enabled users holding the role through the group (0 when its members are not in the snapshot)"
    }
);

/// The tables, when wanted.
pub(super) fn tables<'a>(
    c: &'a Ctx<'a>,
    want: &dyn Fn(&str) -> bool,
) -> Vec<Box<dyn FactTable + 'a>> {
    let (want_aa, want_pg) = (
        want(GdapAccessAssignments::NAME),
        want(PartnerGroupAssignments::NAME),
    );
    if !want_aa && !want_pg {
        return Vec::new();
    }
    let by_id = relationships_by_id(c);
    let mut out: Vec<Box<dyn FactTable + 'a>> = Vec::new();
    if want_aa {
        out.push(Box::new(GdapAccessAssignments {
            ctx: c,
            rows: access_assignment_rows(c, &by_id),
        }));
    }
    if want_pg {
        out.push(Box::new(PartnerGroupAssignments {
            ctx: c,
            rows: partner_group_rows(c, &by_id),
        }));
    }
    out
}

/// The tables' names, descriptions and schemas.
pub(super) fn schemas() -> Vec<(&'static str, &'static str, &'static [FieldDef])> {
    vec![
        (
            GdapAccessAssignments::NAME,
            GdapAccessAssignments::DOC,
            GdapAccessAssignments::FIELDS,
        ),
        (
            PartnerGroupAssignments::NAME,
            PartnerGroupAssignments::DOC,
            PartnerGroupAssignments::FIELDS,
        ),
    ]
}

fn access_assignment_rows(c: &Ctx<'_>, by_id: &HashMap<&str, u32>) -> Vec<(Core, AaRow)> {
    (0..c.s.gdap_access_assignments.len())
        .map(|i| {
            let rel = by_id.get(&*aa_at(c, i).relationship_id).copied();
            let r = rel_of(c, rel);
            (
                Core {
                    partner: r.map(|r| r.partner_tenant_id),
                    customer: r.map(|r| r.customer_tenant_id),
                    resource: rel.map(ResourceKey::Relationship),
                    ..Core::default()
                },
                AaRow { aa: idx(i), rel },
            )
        })
        .collect()
}

fn aa_at<'a>(c: &'a Ctx<'a>, i: usize) -> &'a GdapAccessAssignment {
    &c.s.gdap_access_assignments[i]
}

fn partner_group_rows(c: &Ctx<'_>, by_id: &HashMap<&str, u32>) -> Vec<(Core, PgRow)> {
    let s = c.s;
    // Group → (relationship, access assignment) pairs naming it.
    let mut by_group: HashMap<Guid, Vec<(u32, u32)>> = HashMap::default();
    for (ai, a) in s.gdap_access_assignments.iter().enumerate() {
        if let Some(&ri) = by_id.get(&*a.relationship_id) {
            by_group.entry(a.group_id).or_default().push((ri, idx(ai)));
        }
    }
    let mut out = Vec::new();
    for (gi, g) in c.g.grants.iter().enumerate() {
        let Via::Explicit(ai) = g.via else {
            continue;
        };
        let a = &s.role_assignments[ai as usize];
        if !a.scope.is_directory() {
            continue;
        }
        let home = c.g.assignment_principal_tenant[ai as usize];
        let named = by_group.get(&a.principal_id);
        // A group of another tenant: known as a group, or unresolved but
        // named by an access assignment or homed in a partner tenant.
        let is_group = match &c.g.graph[g.holder] {
            Node::Principal(p) => s.principals[*p as usize].kind == PrincipalKind::Group,
            Node::Unresolved { .. } => named.is_some() || c.is_partner(home),
            Node::Placeholder { .. } | Node::Resource { .. } | Node::App(_) => false,
        };
        if home == a.tenant_id || !is_group || !(c.is_partner(home) || named.is_some()) {
            continue;
        }
        // The best match: active relationship and assignment, then the
        // relationship id (deterministic whatever the input order).
        let matched = named
            .into_iter()
            .flatten()
            .filter(|&&(ri, ai2)| {
                let r = &s.relationships[ri as usize];
                r.customer_tenant_id == a.tenant_id
                    && r.partner_tenant_id == home
                    && s.gdap_access_assignments[ai2 as usize]
                        .roles
                        .contains(&a.role)
            })
            .min_by_key(|&&(ri, ai2)| {
                let r = &s.relationships[ri as usize];
                let st = s.gdap_access_assignments[ai2 as usize].state.as_deref();
                (
                    r.state != RelState::Active,
                    !st.is_none_or(|x| x.eq_ignore_ascii_case("active")),
                    r.relationship_id.as_deref(),
                    ai2,
                )
            })
            .copied();
        out.push((
            Core {
                partner: Some(home),
                customer: Some(a.tenant_id),
                resource: Some(ResourceKey::Node(g.resource)),
                role: Some(a.role),
                assignment: Some(ai),
                grants: vec![idx(gi)],
                only: None,
            },
            PgRow {
                assignment: ai,
                matched,
            },
        ));
    }
    out
}
