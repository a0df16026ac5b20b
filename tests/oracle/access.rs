//! The oracle's effective-access table (SPEC §4), computed from the CSV
//! tables the way `expect` computes findings: plainest code, nothing from
//! `src/`.
//!
//! Readings (SPEC §4; README "Design notes" where they decide; "engine"
//! marks a choice taken from the engine where both are silent):
//! - A row is (tenant owning the resource, resource, role, who). Who is an
//!   enabled user (`enabled` not `false`; empty counts as enabled,
//!   README), an id the principals table lacks (an unresolved principal
//!   holds what it is granted, README), or the placeholder standing for a
//!   partner's absent agent group (README "Placeholders"; a row of its
//!   own, kind `placeholder`: engine). Groups and service principals are
//!   never rows: SPEC §4 names users and unresolved principals only.
//! - Grants: every role_assignments row (explicit; `/` is the directory);
//!   per active DAP relationship, the partner's AdminAgents groups hold
//!   Global Administrator and its HelpdeskAgents groups Helpdesk
//!   Administrator at the customer's `/` (F5; a placeholder when the
//!   partner has no such group); per active GDAP relationship with an id
//!   (a relationship listed twice is its first row), each active
//!   access assignment's group holds, at the customer's `/`, the roles it
//!   names that the relationship grants (all it names when the
//!   relationship's roles are not in the snapshot), as `expect` reads
//!   GDAP; Autopilot, legacy policy (F11, README): per active reseller or
//!   DAP relationship, the partner's AdminAgents (or its placeholder, as
//!   for DAP: engine) hold `Autopilot Profile Manager` on one resource per
//!   customer, `/autopilot/profiles` (engine), when the customer has
//!   Autopilot profiles or devices (README "Autopilot principals"), and
//!   `Autopilot Device Manager` on `/autopilot/devices/SERIAL` (engine)
//!   for every device but those the customer added through Store for
//!   Business / Education or Intune.
//! - Membership is transitive over every membership row, cycles included;
//!   the hop count of a row is the fewest membership rows from a grant's
//!   holder to who holds the row, over every grant giving that role on
//!   that resource or above it. Any grant reaching it in that many hops
//!   may explain it.
//! - "A role on a subscription covers the scopes below it": a grant at
//!   `/subscriptions/ID[/...]` also gives its role on every scope of the
//!   same tenant strictly below it that the snapshot names (in a role
//!   assignment; it knows no others), each a row of its own (SPEC: "every
//!   ... pair reachable"). The directory (`/`) and management-group scopes
//!   (whose subscriptions the snapshot does not tell) cover nothing.
//! - Scopes compare case-insensitively, a trailing `/` aside (engine):
//!   SPEC §3 makes GUIDs case-insensitive, and Azure resource ids are
//!   case-insensitive as a whole (`rg-Prod` and `RG-PROD` are one
//!   resource group; the engine accepts ARM keywords in any case).
//!   Resources are keyed lower-case.
//! - `listed` (README: "listed or not"): some explicit assignment at or
//!   above the resource gives the role to a holder that reaches who holds
//!   the row.
//! - The home tenant of an unresolved principal: see [`unresolved_homes`].

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};

use super::{guid, role, Model, Tables, GLOBAL_ADMIN, HELPDESK_ADMIN};

pub const PROFILE_MANAGER: &str = "Autopilot Profile Manager";
pub const DEVICE_MANAGER: &str = "Autopilot Device Manager";
pub const PROFILES: &str = "/autopilot/profiles";

/// What makes a grant: an explicit role assignment, or the relationship
/// of an implicit one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Via {
    Assigned,
    Dap,
    Gdap,
    Autopilot,
}

impl Via {
    pub fn implicit(self) -> bool {
        self != Via::Assigned
    }
}

/// One way to explain a row: the grant's kind, the snapshot row it cites,
/// who holds it and at which scope.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Way {
    pub via: Via,
    /// The table and line of the row behind the grant: the role
    /// assignment, the DAP / reseller relationship, the GDAP access
    /// assignment.
    pub table: &'static str,
    pub line: u64,
    /// How the holder is named: a principal's display name, an unresolved
    /// principal's id, a placeholder's agent group name.
    pub holder: String,
    /// The holder is in the principals table (its path step starts with
    /// its name; else it names the id or the agent group).
    pub holder_known: bool,
    /// The scope the grant is made at: the row's resource or above it.
    pub grant_scope: String,
    /// GDAP: the relationship id (lower-case).
    pub relationship: String,
}

/// Identifies one row.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AccessKey {
    /// The tenant owning the resource.
    pub tenant: String,
    /// `/`, an Azure scope or an Autopilot resource.
    pub resource: String,
    /// In `expect::role`'s key space, or an Autopilot capability.
    pub role: String,
    /// A principal id, or `placeholder GROUP of PARTNER`.
    pub principal: String,
}

/// What the oracle expects of one row besides its key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Expected {
    /// `user`, `unresolved` or `placeholder`.
    pub kind: &'static str,
    /// Home tenants the row may name (any of them; `""` for none). More
    /// than one only for an unresolved principal whose rows disagree.
    pub homes: BTreeSet<String>,
    /// A user's display name and upn as the principals table has them; an
    /// unresolved principal's id; a placeholder's agent group name.
    pub name: String,
    pub upn: String,
    pub listed: bool,
    /// Membership hops of a shortest explaining path.
    pub hops: usize,
    /// Every way to explain the row in `hops` hops.
    pub ways: BTreeSet<Way>,
}

/// Who holds a grant.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum Holder {
    Principal(String),
    Placeholder {
        group: &'static str,
        partner: String,
    },
}

struct Grant {
    tenant: String,
    scope: String,
    role: String,
    holder: Holder,
    via: Via,
    table: &'static str,
    line: u64,
    relationship: String,
}

/// The agent group kind of the SPEC's column and its conventional name.
const AGENTS: &[(&str, &str, &str)] = &[
    ("admin_agents", "AdminAgents", GLOBAL_ADMIN),
    ("helpdesk_agents", "HelpdeskAgents", HELPDESK_ADMIN),
];

impl Model {
    /// Every id reached from `start` over membership rows, with the fewest
    /// rows from `start` (0 for `start` itself).
    fn distances(&self, start: &str) -> HashMap<String, usize> {
        let mut dist = HashMap::from([(start.to_string(), 0)]);
        let mut queue = VecDeque::from([start.to_string()]);
        while let Some(n) = queue.pop_front() {
            let d = dist[&n];
            for m in self.members.get(&n).map_or(&[][..], Vec::as_slice) {
                if !dist.contains_key(m) {
                    dist.insert(m.clone(), d + 1);
                    queue.push_back(m.clone());
                }
            }
        }
        dist
    }

    /// The holders of an agent group kind of `partner`: its groups, or a
    /// placeholder when it has none.
    fn agent_holders(&self, partner: &str, kind: &str, name: &'static str) -> Vec<Holder> {
        let groups = self.agent_groups(partner, kind);
        if groups.is_empty() {
            vec![Holder::Placeholder {
                group: name,
                partner: partner.to_string(),
            }]
        } else {
            groups.into_iter().map(Holder::Principal).collect()
        }
    }

    fn grants(&self, t: &Tables) -> Vec<Grant> {
        let mut out = Vec::new();
        for r in t.rows("role_assignments") {
            out.push(Grant {
                tenant: guid(r.get("tenant_id")),
                scope: resource(r.get("scope")),
                role: role(r.get("role")),
                holder: Holder::Principal(guid(r.get("principal_id"))),
                via: Via::Assigned,
                table: "role_assignments",
                line: r.line,
                relationship: String::new(),
            });
        }
        for rel in self.relationships.iter().filter(|r| r.active()) {
            if rel.kind != "dap" {
                continue;
            }
            for &(kind, name, granted) in AGENTS {
                for holder in self.agent_holders(&rel.partner, kind, name) {
                    out.push(Grant {
                        tenant: rel.customer.clone(),
                        scope: "/".into(),
                        role: granted.into(),
                        holder,
                        via: Via::Dap,
                        table: "relationships",
                        line: rel.line,
                        relationship: String::new(),
                    });
                }
            }
        }
        for rel in self.gdap_relationships() {
            for a in self.access_assignments.iter() {
                if !rel.active() || rel.id.is_empty() || !a.active || a.relationship != rel.id {
                    continue;
                }
                let roles = match &rel.roles {
                    Some(granted) => a.roles.intersection(granted).cloned().collect(),
                    None => a.roles.clone(),
                };
                for granted in roles {
                    out.push(Grant {
                        tenant: rel.customer.clone(),
                        scope: "/".into(),
                        role: granted,
                        holder: Holder::Principal(a.group.clone()),
                        via: Via::Gdap,
                        table: "gdap_access_assignments",
                        line: a.line,
                        relationship: rel.id.clone(),
                    });
                }
            }
        }
        // Autopilot, legacy policy (F11, README).
        for rel in self.relationships.iter().filter(|r| r.active()) {
            if rel.kind != "reseller" && rel.kind != "dap" {
                continue;
            }
            let customer = &rel.customer;
            let devices: Vec<_> = self
                .devices
                .iter()
                .filter(|d| &d.tenant == customer)
                .collect();
            let mut resources = Vec::new();
            if !devices.is_empty() || self.with_profiles.contains(customer) {
                resources.push((PROFILES.to_string(), PROFILE_MANAGER));
            }
            for d in devices {
                let store = matches!(
                    d.added_via.as_str(),
                    "store_for_business" | "store_for_education" | "intune"
                );
                if !(d.added_by == *customer && store) {
                    resources.push((
                        resource(&format!("/autopilot/devices/{}", d.id)),
                        DEVICE_MANAGER,
                    ));
                }
            }
            for holder in self.agent_holders(&rel.partner, "admin_agents", "AdminAgents") {
                for (resource, capability) in &resources {
                    out.push(Grant {
                        tenant: customer.clone(),
                        scope: resource.clone(),
                        role: (*capability).into(),
                        holder: holder.clone(),
                        via: Via::Autopilot,
                        table: "relationships",
                        line: rel.line,
                        relationship: String::new(),
                    });
                }
            }
        }
        out
    }
}

/// A scope as the table keys it: lower-case, without a trailing `/`.
pub fn resource(cell: &str) -> String {
    let s = cell.trim().to_lowercase();
    match s.strip_suffix('/') {
        Some(rest) if !rest.is_empty() => rest.to_string(),
        _ => s,
    }
}

/// Whether `narrow` lies strictly below the Azure scope `wide`.
fn below(narrow: &str, wide: &str) -> bool {
    wide.starts_with("/subscriptions/")
        && narrow.len() > wide.len()
        && narrow.starts_with(wide)
        && narrow.as_bytes()[wide.len()] == b'/'
}

/// The expected effective-access table of a snapshot.
pub fn effective_access(t: &Tables) -> BTreeMap<AccessKey, Expected> {
    let m = Model::new(t);
    // Display names and upns, first row per id.
    let mut names: HashMap<String, (String, String)> = HashMap::new();
    for r in t.rows("principals") {
        names
            .entry(guid(r.get("principal_id")))
            .or_insert_with(|| (r.get("display_name").to_string(), r.get("upn").to_string()));
    }
    // The scopes each tenant's role assignments name.
    let mut scopes: HashMap<String, BTreeSet<String>> = HashMap::new();
    for r in t.rows("role_assignments") {
        scopes
            .entry(guid(r.get("tenant_id")))
            .or_default()
            .insert(resource(r.get("scope")));
    }
    let homes = unresolved_homes(&m, t);
    let grants = m.grants(t);
    let mut memo: HashMap<String, HashMap<String, usize>> = HashMap::new();
    let mut out: BTreeMap<AccessKey, Expected> = BTreeMap::new();
    let mut listed: BTreeSet<AccessKey> = BTreeSet::new();
    for g in &grants {
        // Who holds the grant: (row principal, kind, hops).
        let mut reached: Vec<(String, &'static str, usize)> = Vec::new();
        let holder_known =
            matches!(&g.holder, Holder::Principal(id) if m.principals.contains_key(id));
        let holder_name = match &g.holder {
            Holder::Placeholder { group, partner } => {
                reached.push((
                    format!("placeholder {group} of {partner}"),
                    "placeholder",
                    0,
                ));
                (*group).to_string()
            }
            Holder::Principal(id) => {
                let dist = memo.entry(id.clone()).or_insert_with(|| m.distances(id));
                for (n, d) in dist.iter() {
                    if m.enabled_user(n) {
                        reached.push((n.clone(), "user", *d));
                    } else if !m.principals.contains_key(n) {
                        reached.push((n.clone(), "unresolved", *d));
                    }
                }
                names.get(id).map_or_else(|| id.clone(), |(n, _)| n.clone())
            }
        };
        let mut resources = vec![g.scope.clone()];
        resources.extend(
            scopes
                .get(&g.tenant)
                .into_iter()
                .flatten()
                .filter(|s| below(s, &g.scope))
                .cloned(),
        );
        let way = Way {
            via: g.via,
            table: g.table,
            line: g.line,
            holder: holder_name,
            holder_known,
            grant_scope: g.scope.clone(),
            relationship: g.relationship.clone(),
        };
        for (who, kind, hops) in reached {
            for resource in &resources {
                let key = AccessKey {
                    tenant: g.tenant.clone(),
                    resource: resource.clone(),
                    role: g.role.clone(),
                    principal: who.clone(),
                };
                if g.via == Via::Assigned {
                    listed.insert(key.clone());
                }
                let e = out.entry(key).or_insert_with(|| {
                    let (name, upn, home) = match kind {
                        "user" => {
                            let (n, u) = names.get(&who).cloned().unwrap_or_default();
                            (n, u, BTreeSet::from([m.principals[&who].tenant.clone()]))
                        }
                        "unresolved" => (
                            who.clone(),
                            String::new(),
                            homes
                                .get(&who)
                                .cloned()
                                .unwrap_or_else(|| BTreeSet::from([String::new()])),
                        ),
                        _ => {
                            let Holder::Placeholder { group, partner } = &g.holder else {
                                unreachable!("only a placeholder holds a placeholder row")
                            };
                            (
                                (*group).to_string(),
                                String::new(),
                                BTreeSet::from([partner.clone()]),
                            )
                        }
                    };
                    Expected {
                        kind,
                        homes: home,
                        name,
                        upn,
                        listed: false,
                        hops,
                        ways: BTreeSet::new(),
                    }
                });
                if hops < e.hops {
                    e.hops = hops;
                    e.ways.clear();
                }
                if hops == e.hops {
                    e.ways.insert(way.clone());
                }
            }
        }
    }
    for k in listed {
        if let Some(e) = out.get_mut(&k) {
            e.listed = true;
        }
    }
    out
}

/// The home tenants an unresolved principal may be given: what the
/// snapshot says of it, the most direct statement first (several equally
/// direct ones: any of them).
///
/// 1. `principal_tenant_id` of a role assignment naming it: SPEC §3 calls
///    the column the principal's home tenant.
/// 2. The tenant of a membership row naming it as the group (the tenant
///    whose group it is), or the partner of a GDAP relationship whose
///    access assignment names it (SPEC §3: a partner security group).
/// 3. Guesses: the tenant of a membership row naming it as a member
///    (members are usually of the group's tenant; a guest is not), or of
///    a role assignment naming it with an empty `principal_tenant_id`
///    (SPEC §3's last fallback, for when nothing else tells).
fn unresolved_homes(m: &Model, t: &Tables) -> HashMap<String, BTreeSet<String>> {
    // id → tier → homes.
    let mut found: HashMap<String, BTreeMap<u8, BTreeSet<String>>> = HashMap::new();
    let mut add = |id: String, tier: u8, home: String| {
        if !m.principals.contains_key(&id) {
            found
                .entry(id)
                .or_default()
                .entry(tier)
                .or_default()
                .insert(home);
        }
    };
    for r in t.rows("role_assignments") {
        let cell = guid(r.get("principal_tenant_id"));
        let id = guid(r.get("principal_id"));
        if cell.is_empty() {
            add(id, 3, guid(r.get("tenant_id")));
        } else {
            add(id, 1, cell);
        }
    }
    for rel in m.relationships.iter().filter(|r| r.kind == "gdap") {
        for a in m.access_assignments.iter() {
            if !rel.id.is_empty() && a.relationship == rel.id {
                add(a.group.clone(), 2, rel.partner.clone());
            }
        }
    }
    for r in t.rows("memberships") {
        add(guid(r.get("group_id")), 2, guid(r.get("tenant_id")));
        add(guid(r.get("member_id")), 3, guid(r.get("tenant_id")));
    }
    found
        .into_iter()
        .filter_map(|(id, tiers)| Some((id, tiers.into_values().next()?)))
        .collect()
}
