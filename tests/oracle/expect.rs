//! The oracle: reads a canonical CSV snapshot back with the `csv` crate (not
//! the project's loader), normalises it per SPEC §3 and computes the
//! findings SPEC §5 asks of DAP001, DAP002, AZ001, AZ003 and AZ004 with the
//! plainest code possible. It shares nothing with `src/`.
//!
//! Readings taken where the SPEC leaves room (README "Design notes" where it
//! records a decision):
//! - "active" is the `state` column equal to `active`; dates do not change it.
//! - a user whose `enabled` is `false` holds nothing; empty counts as enabled
//!   (README); groups and service principals are never listed as users.
//! - membership is transitive over every membership row, whatever the
//!   member's kind and whether the group is in the principals table.
//! - a partner without an agent group of the kind in the snapshot: the
//!   finding fires with `principals: []`, `principals_known: false` (README).
//! - `principals` lists the enabled users reached; `principals_known` is
//!   false when the snapshot cannot tell who acts: a placeholder, or a
//!   reached principal id that the principals table lacks (SPEC §6, README
//!   "Findings").
//! - a partner is a tenant of kind `partner`, or one named as a
//!   relationship's partner that the tenants table does not list; AZ001's
//!   customer is the scope's tenant, which must stand as a customer towards
//!   the partner (kind `customer`, any relationship row with the partner,
//!   or absent from the tenants table and no relationship's partner);
//!   AZ003 and AZ004 name no customer, so any scope tenant counts.
//! - a home tenant is "unknown" (AZ004) when the tenants table lacks it.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};
use std::fs;
use std::path::Path;

/// One CSV record: its line and its cells by lower-cased column name.
pub struct Record {
    pub line: u64,
    pub cells: HashMap<String, String>,
}

impl Record {
    fn get(&self, col: &str) -> &str {
        self.cells.get(col).map_or("", String::as_str)
    }
}

/// The tables of a snapshot directory, as written.
pub struct Tables {
    pub tables: BTreeMap<&'static str, Vec<Record>>,
}

const TABLES: &[&str] = &[
    "tenants",
    "principals",
    "memberships",
    "relationships",
    "subscriptions",
    "role_assignments",
];

/// Reads every `TABLE.csv` of `dir` (an absent file is an empty table).
pub fn read(dir: &Path) -> Tables {
    let mut tables = BTreeMap::new();
    for &name in TABLES {
        let path = dir.join(format!("{name}.csv"));
        let mut rows = Vec::new();
        if path.exists() {
            let bytes = fs::read(&path).expect("read table");
            let body = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&bytes);
            let mut r = csv::ReaderBuilder::new()
                .has_headers(true)
                .from_reader(body);
            let headers: Vec<String> = r
                .headers()
                .expect("header row")
                .iter()
                .map(|h| h.trim().to_lowercase())
                .collect();
            for rec in r.records() {
                let rec = rec.expect("valid CSV record");
                let line = rec.position().map_or(0, |p| p.line());
                let cells = headers
                    .iter()
                    .cloned()
                    .zip(rec.iter().map(str::to_string))
                    .collect();
                rows.push(Record { line, cells });
            }
        }
        tables.insert(name, rows);
    }
    Tables { tables }
}

impl Tables {
    pub fn rows(&self, table: &str) -> &[Record] {
        self.tables.get(table).map_or(&[], Vec::as_slice)
    }
}

fn guid(cell: &str) -> String {
    cell.trim().to_ascii_lowercase()
}

fn opt_guid(cell: &str) -> Option<String> {
    let g = guid(cell);
    (!g.is_empty()).then_some(g)
}

/// `true/false` (any case), `yes/no`, `1/0`; empty = unknown.
fn boolean(cell: &str) -> Option<bool> {
    let c = cell.trim().to_ascii_lowercase();
    match c.as_str() {
        "true" | "yes" | "1" => Some(true),
        "false" | "no" | "0" => Some(false),
        "" => None,
        other => panic!("the generator wrote an invalid boolean `{other}`"),
    }
}

fn is_guid(s: &str) -> bool {
    s.len() == 36
        && s.char_indices().all(|(i, c)| {
            if matches!(i, 8 | 13 | 18 | 23) {
                c == '-'
            } else {
                c.is_ascii_hexdigit()
            }
        })
}

/// A scope with its GUID segments lower-cased, the rest as written.
pub fn scope(cell: &str) -> String {
    cell.trim()
        .split('/')
        .map(|seg| {
            if is_guid(seg) {
                seg.to_ascii_lowercase()
            } else {
                seg.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// The subscription a scope is at or below: `/subscriptions/ID[/...]`.
fn subscription_of(scope: &str) -> Option<String> {
    let rest = scope.strip_prefix("/subscriptions/")?;
    let id = rest.split('/').next().unwrap_or("");
    is_guid(id).then(|| id.to_ascii_lowercase())
}

/// Built-in roles: display name, template / role-definition id, aliases.
const ROLES: &[(&str, &str, &[&str])] = &[
    (
        "Global Administrator",
        "62e90394-69f5-4237-9190-012177145e10",
        &["Company Administrator"],
    ),
    (
        "Helpdesk Administrator",
        "729827e3-9c14-49f7-bb1b-9608f156bbb8",
        &[],
    ),
    ("Owner", "8e3af657-a8ff-443c-a75c-2fe8c4bcb635", &[]),
    ("Contributor", "b24988ac-6180-42a0-ab88-20f7382dd24c", &[]),
    ("Reader", "acdd72a7-3385-48ef-bd42-f606fba81ae7", &[]),
    (
        "User Access Administrator",
        "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9",
        &[],
    ),
];

/// A role cell as the comparison key: a built-in role's display name, or
/// `custom:` and the lower-cased text of a role the table does not know.
pub fn role(cell: &str) -> String {
    let c = cell.trim();
    for (name, id, aliases) in ROLES {
        if c.eq_ignore_ascii_case(name) || aliases.iter().any(|a| c.eq_ignore_ascii_case(a)) {
            return (*name).to_string();
        }
        // A template / role-definition GUID, or an ARM role-definition id
        // ending in it (README: "an ARM role-definition id").
        let tail = c.rsplit('/').next().unwrap_or(c);
        if tail.eq_ignore_ascii_case(id) {
            return (*name).to_string();
        }
    }
    format!("custom:{}", c.to_lowercase())
}

/// The engine's role name in the same key space: a built-in name is kept as
/// written (so a wrong spelling shows), anything else lower-cased.
pub fn engine_role(name: &str) -> String {
    if ROLES.iter().any(|(n, _, _)| *n == name) {
        name.to_string()
    } else if ROLES.iter().any(|(n, _, _)| n.eq_ignore_ascii_case(name)) {
        format!("{name} (misspelled built-in)")
    } else {
        format!("custom:{}", name.to_lowercase())
    }
}

/// What identifies one finding for the comparison.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Key {
    pub rule: String,
    pub partner: String,
    pub customer: String,
    /// AZ rules: the assignment's principal, scope and role.
    pub principal: String,
    pub scope: String,
    pub role: String,
}

/// What is compared of one finding besides its key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Value {
    pub principals: Vec<String>,
    /// `None`: the engine's finding has no such field.
    pub principals_known: Option<bool>,
}

struct Principal {
    tenant: String,
    kind: String,
    enabled: Option<bool>,
    agent_group: Option<String>,
}

/// The snapshot, normalised.
pub struct Model {
    tenant_kind: HashMap<String, String>,
    principals: HashMap<String, Principal>,
    /// group → its direct members.
    members: HashMap<String, Vec<String>>,
    /// (partner, customer, kind, state), one per relationship row.
    relationships: Vec<(String, String, String, String)>,
}

impl Model {
    pub fn new(t: &Tables) -> Model {
        let mut tenant_kind = HashMap::new();
        for r in t.rows("tenants") {
            tenant_kind
                .entry(guid(r.get("tenant_id")))
                .or_insert_with(|| r.get("kind").trim().to_ascii_lowercase());
        }
        let mut principals = HashMap::new();
        for r in t.rows("principals") {
            let kind = r.get("kind").trim().to_ascii_lowercase();
            let column = r.get("agent_group").trim().to_ascii_lowercase();
            let agent_group = if !column.is_empty() {
                Some(column)
            } else if kind == "group" {
                // "a group named exactly AdminAgents / HelpdeskAgents / SalesAgents"
                match r.get("display_name") {
                    "AdminAgents" => Some("admin_agents".to_string()),
                    "HelpdeskAgents" => Some("helpdesk_agents".to_string()),
                    "SalesAgents" => Some("sales_agents".to_string()),
                    _ => None,
                }
            } else {
                None
            };
            principals
                .entry(guid(r.get("principal_id")))
                .or_insert(Principal {
                    tenant: guid(r.get("tenant_id")),
                    kind,
                    enabled: boolean(r.get("enabled")),
                    agent_group,
                });
        }
        let mut members: HashMap<String, Vec<String>> = HashMap::new();
        for r in t.rows("memberships") {
            members
                .entry(guid(r.get("group_id")))
                .or_default()
                .push(guid(r.get("member_id")));
        }
        let relationships = t
            .rows("relationships")
            .iter()
            .map(|r| {
                (
                    guid(r.get("partner_tenant_id")),
                    guid(r.get("customer_tenant_id")),
                    r.get("kind").trim().to_ascii_lowercase(),
                    r.get("state").trim().to_ascii_lowercase(),
                )
            })
            .collect();
        Model {
            tenant_kind,
            principals,
            members,
            relationships,
        }
    }

    fn active(&self, partner: &str, customer: &str, kind: &str) -> bool {
        self.relationships
            .iter()
            .any(|(p, c, k, s)| p == partner && c == customer && k == kind && s == "active")
    }

    fn is_partner(&self, tenant: &str) -> bool {
        match self.tenant_kind.get(tenant).map(String::as_str) {
            Some("partner") => true,
            Some(_) => false,
            None => self.relationships.iter().any(|(p, ..)| p == tenant),
        }
    }

    /// Whether `tenant` stands as a customer towards `partner` (README
    /// design notes): of kind `customer`; or related to `partner` by any
    /// relationship row; or, absent from the tenants table, named as no
    /// relationship's partner.
    fn is_customer_of(&self, tenant: &str, partner: &str) -> bool {
        let related = self
            .relationships
            .iter()
            .any(|(p, c, ..)| p == partner && c == tenant);
        match self.tenant_kind.get(tenant).map(String::as_str) {
            Some("customer") => true,
            Some(_) => related,
            None => related || !self.is_partner(tenant),
        }
    }

    /// What `starts` stand for: the sorted ids of the enabled users reached
    /// from them (themselves included) over membership rows, breadth first,
    /// each node once; and whether the snapshot can tell (false when an
    /// id the principals table lacks is reached: who stands behind it is
    /// unknown).
    fn holders(&self, starts: &[String]) -> (Vec<String>, bool) {
        let mut seen: HashSet<String> = starts.iter().cloned().collect();
        let mut queue: VecDeque<String> = starts.iter().cloned().collect();
        while let Some(n) = queue.pop_front() {
            for m in self.members.get(&n).map_or(&[][..], Vec::as_slice) {
                if seen.insert(m.clone()) {
                    queue.push_back(m.clone());
                }
            }
        }
        let known = seen.iter().all(|id| self.principals.contains_key(id));
        let mut users: Vec<String> = seen
            .into_iter()
            .filter(|id| {
                self.principals
                    .get(id)
                    .is_some_and(|p| p.kind == "user" && p.enabled != Some(false))
            })
            .collect();
        users.sort();
        (users, known)
    }

    /// DAP001 / DAP002: one finding per partner × customer with active DAP.
    fn dap(&self, rule: &str, agent_group: &str, out: &mut BTreeMap<Key, Value>) {
        let pairs: BTreeSet<(&str, &str)> = self
            .relationships
            .iter()
            .filter(|(_, _, k, s)| k == "dap" && s == "active")
            .map(|(p, c, _, _)| (p.as_str(), c.as_str()))
            .collect();
        for (partner, customer) in pairs {
            let mut groups: Vec<String> = self
                .principals
                .iter()
                .filter(|(_, p)| {
                    p.tenant == partner
                        && p.kind == "group"
                        && p.agent_group.as_deref() == Some(agent_group)
                })
                .map(|(id, _)| id.clone())
                .collect();
            groups.sort();
            let value = if groups.is_empty() {
                Value {
                    principals: Vec::new(),
                    principals_known: Some(false),
                }
            } else {
                let (principals, known) = self.holders(&groups);
                Value {
                    principals,
                    principals_known: Some(known),
                }
            };
            out.insert(
                Key {
                    rule: rule.to_string(),
                    partner: partner.to_string(),
                    customer: customer.to_string(),
                    principal: String::new(),
                    scope: String::new(),
                    role: String::new(),
                },
                value,
            );
        }
    }

    /// The home tenant of an assignment's principal (SPEC §3): the
    /// `principal_tenant_id` cell, else the tenant listing the principal,
    /// else the scope's tenant.
    fn home(&self, r: &Record) -> String {
        opt_guid(r.get("principal_tenant_id")).unwrap_or_else(|| {
            self.principals
                .get(&guid(r.get("principal_id")))
                .map_or_else(|| guid(r.get("tenant_id")), |p| p.tenant.clone())
        })
    }

    /// AZ001, AZ003 and AZ004: per role assignment at or below a
    /// subscription (`/subscriptions/ID[/...]`).
    ///
    /// - AZ001: the home tenant is a partner P other than the scope's
    ///   tenant C, C is a customer, and P has neither active DAP nor active
    ///   GDAP with C.
    /// - AZ003: the home tenant is a partner P other than the scope's tenant
    ///   and the subscription's `provisioned_by_tenant_id` is not P (empty =
    ///   the customer; a subscription the table does not list was not shown
    ///   to be P's, so it fires: unknown data over- rather than
    ///   under-reports, as the README decides for `enabled`).
    /// - AZ004: the home tenant differs from the scope's tenant, and the
    ///   tenants table lacks it or the principals table lacks the principal.
    ///
    /// `partner_tenant_id` is the home tenant unless that is a customer
    /// tenant (docs/rules.md, `role_assignment.partner_tenant_id`).
    fn assignments(&self, t: &Tables, out: &mut BTreeMap<Key, Value>) {
        let provisioned_by: HashMap<String, Option<String>> = t
            .rows("subscriptions")
            .iter()
            .map(|r| {
                (
                    guid(r.get("subscription_id")),
                    opt_guid(r.get("provisioned_by_tenant_id")),
                )
            })
            .collect();
        for r in t.rows("role_assignments") {
            let customer = guid(r.get("tenant_id"));
            let sc = scope(r.get("scope"));
            let Some(sub) = subscription_of(&sc) else {
                continue;
            };
            let home = self.home(r);
            let foreign = home != customer;
            let principal = guid(r.get("principal_id"));
            let partner_is = foreign && self.is_partner(&home);
            let mut rules = Vec::new();
            if partner_is
                && self.is_customer_of(&customer, &home)
                && !self.active(&home, &customer, "dap")
                && !self.active(&home, &customer, "gdap")
            {
                rules.push("AZ001");
            }
            let by = provisioned_by.get(&sub).cloned().flatten();
            if partner_is && by.as_deref() != Some(home.as_str()) {
                rules.push("AZ003");
            }
            let tenant_known = self.tenant_kind.contains_key(&home);
            let principal_known = self.principals.contains_key(&principal);
            if foreign && (!tenant_known || !principal_known) {
                rules.push("AZ004");
            }
            if rules.is_empty() {
                continue;
            }
            let partner =
                if foreign && self.tenant_kind.get(&home).map(String::as_str) != Some("customer") {
                    home.clone()
                } else {
                    String::new()
                };
            let (principals, known) = self.holders(std::slice::from_ref(&principal));
            for rule in rules {
                out.insert(
                    Key {
                        rule: rule.to_string(),
                        partner: partner.clone(),
                        customer: customer.clone(),
                        principal: principal.clone(),
                        scope: sc.clone(),
                        role: role(r.get("role")),
                    },
                    Value {
                        principals: principals.clone(),
                        principals_known: Some(known),
                    },
                );
            }
        }
    }
}

/// The expected findings of DAP001, DAP002, AZ001, AZ003 and AZ004.
pub fn findings(t: &Tables) -> BTreeMap<Key, Value> {
    let m = Model::new(t);
    let mut out = BTreeMap::new();
    m.dap("DAP001", "admin_agents", &mut out);
    m.dap("DAP002", "helpdesk_agents", &mut out);
    m.assignments(t, &mut out);
    out
}

/// The snapshot rows behind a finding key, for a readable failure.
pub fn context(t: &Tables, k: &Key) -> Vec<String> {
    let mut lines = Vec::new();
    let show = |table: &str, r: &Record| {
        let mut cells: Vec<(&String, &String)> = r.cells.iter().collect();
        cells.sort();
        let cells: Vec<String> = cells
            .into_iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(c, v)| format!("{c}={v:?}"))
            .collect();
        format!("    {table}.csv line {}: {}", r.line, cells.join(", "))
    };
    for r in t.rows("relationships") {
        if guid(r.get("partner_tenant_id")) == k.partner
            && guid(r.get("customer_tenant_id")) == k.customer
        {
            lines.push(show("relationships", r));
        }
    }
    if k.rule.starts_with("DAP") {
        for r in t.rows("principals") {
            if guid(r.get("tenant_id")) == k.partner && r.get("kind").trim() == "group" {
                lines.push(show("principals", r));
            }
        }
    } else {
        for r in t.rows("role_assignments") {
            if guid(r.get("principal_id")) == k.principal && guid(r.get("tenant_id")) == k.customer
            {
                lines.push(show("role_assignments", r));
            }
        }
        for r in t.rows("principals") {
            if guid(r.get("principal_id")) == k.principal {
                lines.push(show("principals", r));
            }
        }
        for r in t.rows("tenants") {
            if guid(r.get("tenant_id")) == k.partner || guid(r.get("tenant_id")) == k.customer {
                lines.push(show("tenants", r));
            }
        }
    }
    lines
}
