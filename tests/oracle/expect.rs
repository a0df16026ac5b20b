//! The oracle: reads a canonical CSV snapshot back with the `csv` crate (not
//! the project's loader), normalises it per SPEC §3 and computes the
//! findings SPEC §5 asks of DAP001–DAP006, SR001, GDAP001–GDAP003, INV001,
//! INV002, AZ001–AZ005 and AP001–AP003 (under either Autopilot policy)
//! with the plainest code possible. It shares nothing with `src/`.
//!
//! Readings taken where the SPEC leaves room (README "Design notes" where it
//! records a decision, docs/rules.md where a rule's documentation does):
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
//! - as-of is the manifest's `captured_at`; thresholds are the documented
//!   defaults (90, 30, 30 days). A number of days between two instants is
//!   whole days rounded down (docs/writing-rules.md, `days_since` /
//!   `days_until`), so "more than 90 days" starts at 91 whole days and an
//!   end 8 hours before as-of is 1 day in the past, not 0.
//! - DAP004: the last activity is the latest `last_activity_at` over the
//!   pair's active DAP rows (docs: "over active DAP"); none recorded fires.
//! - DAP004, DAP005, DAP006: `principals` are the enabled users of the
//!   partner's AdminAgents and HelpdeskAgents (docs); a missing agent group
//!   of either kind makes them unknown.
//! - SR001, INV001, INV002: `principals` is empty and known (docs).
//! - a GDAP access assignment is active when its `state` is `active` (any
//!   case) or empty (unknown over-reports access, as the README decides
//!   for `enabled`). It grants its group the roles it names that its
//!   relationship grants (a relationship's roles bound what an assignment
//!   can use); when the relationship's `roles` cell is empty, the roles it
//!   names. Relationship ids compare case-insensitively (two GUIDs).
//! - GDAP001–GDAP003 are per relationship: partner and relationship id,
//!   the customer being the relationship's; `principals` are the enabled
//!   users of the groups its active access assignments grant a role to.
//!   GDAP003's unused roles are the granted roles no such grant uses. A
//!   relationship without an id is named `gdap:PARTNER:CUSTOMER`, as the
//!   engine names it (the SPEC and README are silent). A relationship
//!   listed more than once (by that name) stands as its first row.
//! - a row that repeats the key of an earlier row of its table is rejected
//!   and the first row stands (README "Duplicate rows"; keys at
//!   [`repeated_rows`]); `input.tables` counts it as rejected. Rows that
//!   repeat a key with other values stop the run, so the snapshots here
//!   repeat rows only exactly.
//! - DAP003: per customer directory role, the listing is everyone reached
//!   from explicit assignments at `/`; the implicit holders everyone
//!   reached from the groups active DAP (AdminAgents: Global Administrator,
//!   HelpdeskAgents: Helpdesk Administrator) and active GDAP access
//!   assignments grant the role to. Counted are enabled users and ids the
//!   principals table lacks (an unresolved principal holds what it is
//!   granted, README); a placeholder counts once. Hidden = implicit but not
//!   listed; effective = listed or implicit. `principals` are the hidden
//!   enabled users over every role with hidden holders.
//! - INV001: the sender is an Admin / Sales agent when it is reached from
//!   one of the inviting partner's AdminAgents / SalesAgents groups (any
//!   `enabled`: the role, not the access, counts); a sender the principals
//!   table lacks is not judged (docs). An invitation is accepted when
//!   `accepted_at` is set. GUID-shaped invitation ids are compared
//!   lower-case (SPEC §3), others as written.
//! - AZ002: per subscription, the assignment's scope is the subscription
//!   itself, its role Owner, its principal an AdminAgents group whose home
//!   tenant is the subscription's `provisioned_by_tenant_id`.
//! - AZ005: per assignment at or below a subscription whose principal is an
//!   AdminAgents or HelpdeskAgents group and whose home tenant has active
//!   GDAP and no active DAP with the scope's tenant.
//! - AP001–AP003: per partner × customer with an active reseller or DAP
//!   relationship. A device is the partner's own when its
//!   `added_by_tenant_id` is the partner, the customer's when it is the
//!   customer (its `tenant_id`), another partner's otherwise. Under
//!   `legacy` (F11) the partner manages every device but those the customer
//!   added through Store for Business / Education or Intune (README: other
//!   customer channels count as manageable); under `strict` (F12) its own
//!   devices, and every device while it holds DAP. Under `legacy` a partner
//!   with DAP and no reseller relationship manages as a reseller does, and
//!   a device added by a tenant the snapshot does not know is another
//!   partner's (the SPEC and README are silent; the engine's choices).
//!   AP001 (legacy only): reseller active, DAP not;
//!   AP002: a manageable device another partner or the customer added;
//!   AP003: the customer has devices, `detail` the manageable and
//!   unmanageable counts. `principals` are the AdminAgents users (docs),
//!   for AP001 only when the customer has profiles or devices, for AP003
//!   only when some device is manageable.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};
use std::fs;
use std::path::Path;

#[path = "access.rs"]
pub mod access;

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

/// The tables of a snapshot directory, as written, and its as-of time.
pub struct Tables {
    pub tables: BTreeMap<&'static str, Vec<Record>>,
    /// The manifest's `captured_at`, in seconds since 1970.
    pub as_of: i64,
}

const TABLES: &[&str] = &[
    "tenants",
    "principals",
    "memberships",
    "relationships",
    "subscriptions",
    "role_assignments",
    "invitations",
    "gdap_access_assignments",
    "devices",
    "autopilot_profiles",
];

/// Reads every `TABLE.csv` of `dir` (an absent file is an empty table) and
/// the manifest's `captured_at`.
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
            let mut lines = Lines::default();
            for rec in r.records() {
                let rec = rec.expect("valid CSV record");
                let line = lines.of(body, &rec);
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
    let manifest: serde_json::Value =
        serde_json::from_slice(&fs::read(dir.join("manifest.json")).expect("read manifest.json"))
            .expect("manifest.json is JSON");
    let as_of = instant(manifest["captured_at"].as_str().expect("captured_at"))
        .expect("captured_at is set");
    Tables { tables, as_of }
}

/// The line each record of one CSV text starts on. The csv crate's own
/// line lags by one after a CRLF (it counts the LF when it reads on), so
/// the line ends before each record's first byte are counted instead.
#[derive(Default)]
pub struct Lines {
    counted: usize,
    feeds: u64,
}

impl Lines {
    /// The line `rec` of `body` starts on (records in order).
    pub fn of(&mut self, body: &[u8], rec: &csv::StringRecord) -> u64 {
        let mut start = rec.position().map_or(0, |p| p.byte() as usize);
        while matches!(body.get(start), Some(b'\r' | b'\n')) {
            start += 1;
        }
        let start = start.max(self.counted);
        self.feeds += body[self.counted..start]
            .iter()
            .filter(|&&b| b == b'\n')
            .count() as u64;
        self.counted = start;
        1 + self.feeds
    }
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

/// How many rows of `table` repeat the key of an earlier row and are
/// therefore rejected (README "Duplicate rows": the first row wins). Keys:
/// tenants and subscriptions by id, principals by object id (whatever the
/// tenant), devices by tenant and id (without case), Autopilot profiles by
/// tenant and id, invitations by partner and id, GDAP access assignments by
/// relationship and group, relationships by id (a GDAP one without an id
/// by partner and customer, a reseller or DAP one without an id by all its
/// values), memberships and role assignments by all their values (the
/// role by identity, the scope without case).
pub fn repeated_rows(t: &Tables, table: &str) -> u64 {
    let key = |r: &Record| -> Vec<String> {
        let g = |c: &str| guid(r.get(c));
        let at = |c: &str| format!("{:?}", instant(r.get(c)));
        match table {
            "tenants" => vec![g("tenant_id")],
            "principals" => vec![g("principal_id")],
            "subscriptions" => vec![g("subscription_id")],
            "memberships" => vec![g("tenant_id"), g("group_id"), g("member_id")],
            "role_assignments" => vec![
                g("tenant_id"),
                scope(r.get("scope")).to_lowercase(),
                role(r.get("role")),
                g("principal_id"),
                g("principal_tenant_id"),
                at("created_at"),
            ],
            "devices" => vec![g("tenant_id"), r.get("device_id").trim().to_lowercase()],
            "autopilot_profiles" => vec![g("tenant_id"), invitation_id(r.get("profile_id"))],
            "invitations" => vec![
                g("partner_tenant_id"),
                invitation_id(r.get("invitation_id")),
            ],
            "gdap_access_assignments" => vec![
                r.get("relationship_id").trim().to_lowercase(),
                g("group_id"),
            ],
            "relationships" => {
                let id = r.get("relationship_id").trim().to_lowercase();
                let kind = r.get("kind").trim().to_ascii_lowercase();
                if !id.is_empty() {
                    vec![id]
                } else if kind == "gdap" {
                    vec![kind, g("partner_tenant_id"), g("customer_tenant_id")]
                } else {
                    let roles: Vec<String> = r
                        .get("roles")
                        .split(';')
                        .map(str::trim)
                        .filter(|x| !x.is_empty())
                        .map(role)
                        .collect();
                    vec![
                        kind,
                        g("partner_tenant_id"),
                        g("customer_tenant_id"),
                        r.get("state").trim().to_ascii_lowercase(),
                        at("started_at"),
                        at("ended_at"),
                        roles.join(";"),
                        r.get("auto_extend").trim().to_string(),
                        at("last_activity_at"),
                    ]
                }
            }
            other => panic!("no key for table `{other}`"),
        }
    };
    let mut seen = HashSet::new();
    t.tables
        .get(table)
        .into_iter()
        .flatten()
        .filter(|r| !seen.insert(key(r)))
        .count() as u64
}

/// Days from 1970-01-01 to a proleptic Gregorian date (counting whole
/// 400-year eras of 146,097 days from 0000-03-01).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12; // March = 0
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// An ISO 8601 date (`YYYY-MM-DD`, 00:00 UTC) or date-time
/// (`YYYY-MM-DDTHH:MM[:SS[.fff]]` with `Z`, `±HH:MM` or no offset = UTC) as
/// seconds since 1970; `None` when the cell is empty.
pub fn instant(cell: &str) -> Option<i64> {
    let c = cell.trim();
    if c.is_empty() {
        return None;
    }
    let bad = || -> ! { panic!("the generator wrote an invalid date `{c}`") };
    let num = |s: &str| -> i64 { s.parse().unwrap_or_else(|_| bad()) };
    if c.len() < 10 {
        bad();
    }
    let (date, rest) = c.split_at(10);
    let mut parts = date.split('-');
    let (y, m, d) = (
        num(parts.next().unwrap_or("")),
        num(parts.next().unwrap_or("")),
        num(parts.next().unwrap_or("")),
    );
    let mut secs = days_from_civil(y, m, d) * 86_400;
    if rest.is_empty() {
        return Some(secs);
    }
    let time = rest.strip_prefix('T').unwrap_or_else(|| bad());
    let (clock, offset) = if let Some(t) = time.strip_suffix('Z') {
        (t, 0)
    } else if let Some(i) = time.rfind(['+', '-']) {
        let (t, o) = time.split_at(i);
        let sign = if o.starts_with('-') { -1 } else { 1 };
        let (oh, om) = o[1..].split_once(':').unwrap_or_else(|| bad());
        (t, sign * (num(oh) * 3600 + num(om) * 60))
    } else {
        (time, 0)
    };
    let mut hms = clock.split(':');
    let h = num(hms.next().unwrap_or(""));
    let mi = num(hms.next().unwrap_or(""));
    let sec = hms
        .next()
        .map_or(0, |s| num(s.split('.').next().unwrap_or("")));
    secs += h * 3600 + mi * 60 + sec - offset;
    Some(secs)
}

/// Whole days from `from` to `to`, rounded down.
fn whole_days(from: i64, to: i64) -> i64 {
    (to - from).div_euclid(86_400)
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

const GLOBAL_ADMIN: &str = "Global Administrator";
const HELPDESK_ADMIN: &str = "Helpdesk Administrator";

/// Built-in roles: display name, template / role-definition id, aliases.
const ROLES: &[(&str, &str, &[&str])] = &[
    (
        GLOBAL_ADMIN,
        "62e90394-69f5-4237-9190-012177145e10",
        &["Company Administrator"],
    ),
    (HELPDESK_ADMIN, "729827e3-9c14-49f7-bb1b-9608f156bbb8", &[]),
    ("Global Reader", "f2ef992c-3afb-46b9-b7cf-a126ee74c451", &[]),
    (
        "User Administrator",
        "fe930be7-5e62-47db-91af-98c3a49a38b1",
        &[],
    ),
    (
        "Security Reader",
        "5d6b6bb7-de71-4623-b4af-96380a352509",
        &[],
    ),
    (
        "Exchange Administrator",
        "29232cdf-9323-42fd-ade2-1d097af3e4de",
        &[],
    ),
    (
        "Intune Administrator",
        "3a2c62db-5318-420d-8d74-23affee5d9d5",
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

/// A `;`-separated list cell of roles (SPEC §3), as a set.
fn role_list(cell: &str) -> BTreeSet<String> {
    cell.split(';')
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .map(role)
        .collect()
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

/// An invitation id in the comparison's key space: a GUID lower-cased
/// (SPEC §3), anything else as written.
pub fn invitation_id(cell: &str) -> String {
    let c = cell.trim();
    if is_guid(c) {
        c.to_ascii_lowercase()
    } else {
        c.to_string()
    }
}

/// What identifies one finding for the comparison.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Key {
    pub rule: String,
    pub partner: String,
    pub customer: String,
    /// AZ rules about one assignment: its principal, scope and role.
    pub principal: String,
    pub scope: String,
    pub role: String,
    /// The GDAP relationship id, the invitation id, or AZ002's
    /// subscription id.
    pub resource: String,
}

/// What is compared of one finding besides its key.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Value {
    pub principals: Vec<String>,
    /// `None`: the engine's finding has no such field.
    pub principals_known: Option<bool>,
    /// DAP003: `ROLE: listed L, effective E, hidden H` per role with
    /// hidden holders; GDAP003: the unused roles. Sorted.
    pub detail: Vec<String>,
}

impl Value {
    fn of(principals: Vec<String>, known: bool) -> Value {
        Value {
            principals,
            principals_known: Some(known),
            detail: Vec::new(),
        }
    }
}

struct Principal {
    tenant: String,
    kind: String,
    enabled: Option<bool>,
    agent_group: Option<String>,
}

struct Relationship {
    partner: String,
    customer: String,
    kind: String,
    state: String,
    /// Lower-cased; empty when the row has none.
    id: String,
    /// `None`: the `roles` cell is empty.
    roles: Option<BTreeSet<String>>,
    ended_at: Option<i64>,
    last_activity_at: Option<i64>,
    /// The row's line in relationships.csv.
    line: u64,
}

impl Relationship {
    fn active(&self) -> bool {
        self.state == "active"
    }
}

struct AccessAssignment {
    relationship: String,
    group: String,
    roles: BTreeSet<String>,
    active: bool,
    /// The row's line in gdap_access_assignments.csv.
    line: u64,
}

struct Device {
    tenant: String,
    /// The serial, as written.
    id: String,
    added_by: String,
    added_via: String,
}

struct Invitation {
    partner: String,
    id: String,
    sent_by: String,
    sent_at: i64,
    customer: String,
    accepted: bool,
}

/// The snapshot, normalised.
pub struct Model {
    as_of: i64,
    tenant_kind: HashMap<String, String>,
    principals: HashMap<String, Principal>,
    /// group → its direct members.
    members: HashMap<String, Vec<String>>,
    relationships: Vec<Relationship>,
    access_assignments: Vec<AccessAssignment>,
    invitations: Vec<Invitation>,
    devices: Vec<Device>,
    /// Tenants with Autopilot profiles.
    with_profiles: HashSet<String>,
    /// The home a principal the principals table lacks is given by what
    /// other rows state or imply (README design notes): the first
    /// `principal_tenant_id` of an assignment naming it; else the partner of
    /// the first GDAP access assignment naming it as its group; else the
    /// tenant of the first membership naming it as the group.
    stated_home: HashMap<String, String>,
}

fn pair_key(rule: &str, partner: &str, customer: &str) -> Key {
    Key {
        rule: rule.to_string(),
        partner: partner.to_string(),
        customer: customer.to_string(),
        ..Key::default()
    }
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
        let relationships: Vec<Relationship> = t
            .rows("relationships")
            .iter()
            .map(|r| {
                let roles = r.get("roles");
                Relationship {
                    partner: guid(r.get("partner_tenant_id")),
                    customer: guid(r.get("customer_tenant_id")),
                    kind: r.get("kind").trim().to_ascii_lowercase(),
                    state: r.get("state").trim().to_ascii_lowercase(),
                    id: r.get("relationship_id").trim().to_ascii_lowercase(),
                    roles: (!roles.trim().is_empty()).then(|| role_list(roles)),
                    ended_at: instant(r.get("ended_at")),
                    last_activity_at: instant(r.get("last_activity_at")),
                    line: r.line,
                }
            })
            .collect();
        let access_assignments: Vec<AccessAssignment> = t
            .rows("gdap_access_assignments")
            .iter()
            .map(|r| {
                let state = r.get("state").trim();
                AccessAssignment {
                    relationship: r.get("relationship_id").trim().to_ascii_lowercase(),
                    group: guid(r.get("group_id")),
                    roles: role_list(r.get("roles")),
                    active: state.is_empty() || state.eq_ignore_ascii_case("active"),
                    line: r.line,
                }
            })
            .collect();
        let invitations = t
            .rows("invitations")
            .iter()
            .map(|r| Invitation {
                partner: guid(r.get("partner_tenant_id")),
                id: invitation_id(r.get("invitation_id")),
                sent_by: guid(r.get("sent_by")),
                sent_at: instant(r.get("sent_at")).expect("sent_at is required"),
                customer: guid(r.get("customer_tenant_id")),
                accepted: !r.get("accepted_at").trim().is_empty(),
            })
            .collect();
        let devices = t
            .rows("devices")
            .iter()
            .map(|r| Device {
                tenant: guid(r.get("tenant_id")),
                id: r.get("device_id").to_string(),
                added_by: guid(r.get("added_by_tenant_id")),
                added_via: r.get("added_via").trim().to_ascii_lowercase(),
            })
            .collect();
        let with_profiles = t
            .rows("autopilot_profiles")
            .iter()
            .map(|r| guid(r.get("tenant_id")))
            .collect();
        let mut stated_home: HashMap<String, String> = HashMap::new();
        for r in t.rows("role_assignments") {
            let (id, cell) = (
                guid(r.get("principal_id")),
                guid(r.get("principal_tenant_id")),
            );
            if !cell.is_empty() && !principals.contains_key(&id) {
                stated_home.entry(id).or_insert(cell);
            }
        }
        let mut implied: HashMap<String, String> = HashMap::new();
        for a in &access_assignments {
            let partner = relationships
                .iter()
                .filter(|r: &&Relationship| {
                    r.kind == "gdap" && !r.id.is_empty() && r.id == a.relationship
                })
                .map(|r| r.partner.clone())
                .next_back();
            if let Some(p) = partner.filter(|_| !principals.contains_key(&a.group)) {
                implied.entry(a.group.clone()).or_insert(p);
            }
        }
        for r in t.rows("memberships") {
            let group = guid(r.get("group_id"));
            if !principals.contains_key(&group) {
                implied
                    .entry(group)
                    .or_insert_with(|| guid(r.get("tenant_id")));
            }
        }
        for (id, home) in implied {
            stated_home.entry(id).or_insert(home);
        }
        Model {
            stated_home,
            devices,
            with_profiles,
            as_of: t.as_of,
            tenant_kind,
            principals,
            members,
            relationships,
            access_assignments,
            invitations,
        }
    }

    fn active(&self, partner: &str, customer: &str, kind: &str) -> bool {
        self.relationships
            .iter()
            .any(|r| r.partner == partner && r.customer == customer && r.kind == kind && r.active())
    }

    /// The (partner, customer) pairs with an active relationship of `kind`.
    fn active_pairs(&self, kind: &str) -> BTreeSet<(&str, &str)> {
        self.relationships
            .iter()
            .filter(|r| r.kind == kind && r.active())
            .map(|r| (r.partner.as_str(), r.customer.as_str()))
            .collect()
    }

    fn is_partner(&self, tenant: &str) -> bool {
        match self.tenant_kind.get(tenant).map(String::as_str) {
            Some("partner") => true,
            Some(_) => false,
            None => self.relationships.iter().any(|r| r.partner == tenant),
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
            .any(|r| r.partner == partner && r.customer == tenant);
        match self.tenant_kind.get(tenant).map(String::as_str) {
            Some("customer") => true,
            Some(_) => related,
            None => related || !self.is_partner(tenant),
        }
    }

    /// Every id reached from `starts` (themselves included) over membership
    /// rows, breadth first, each node once.
    fn reach(&self, starts: &[String]) -> HashSet<String> {
        let mut seen: HashSet<String> = starts.iter().cloned().collect();
        let mut queue: VecDeque<String> = starts.iter().cloned().collect();
        while let Some(n) = queue.pop_front() {
            for m in self.members.get(&n).map_or(&[][..], Vec::as_slice) {
                if seen.insert(m.clone()) {
                    queue.push_back(m.clone());
                }
            }
        }
        seen
    }

    fn enabled_user(&self, id: &str) -> bool {
        self.principals
            .get(id)
            .is_some_and(|p| p.kind == "user" && p.enabled != Some(false))
    }

    /// Who of `reached` can act: enabled users, and ids the principals
    /// table lacks.
    fn actors(&self, reached: &HashSet<String>) -> BTreeSet<String> {
        reached
            .iter()
            .filter(|id| self.enabled_user(id) || !self.principals.contains_key(*id))
            .cloned()
            .collect()
    }

    /// What `starts` stand for: the sorted ids of the enabled users reached
    /// from them (themselves included) over membership rows, breadth first,
    /// each node once; and whether the snapshot can tell (false when an
    /// id the principals table lacks is reached: who stands behind it is
    /// unknown).
    fn holders(&self, starts: &[String]) -> (Vec<String>, bool) {
        let seen = self.reach(starts);
        let known = seen.iter().all(|id| self.principals.contains_key(id));
        let mut users: Vec<String> = seen
            .into_iter()
            .filter(|id| self.enabled_user(id))
            .collect();
        users.sort();
        (users, known)
    }

    /// The partner's groups of one agent kind, sorted.
    fn agent_groups(&self, partner: &str, agent_group: &str) -> Vec<String> {
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
        groups
    }

    /// DAP001 / DAP002: one finding per partner × customer with active DAP.
    fn dap(&self, rule: &str, agent_group: &str, out: &mut BTreeMap<Key, Value>) {
        for (partner, customer) in self.active_pairs("dap") {
            let groups = self.agent_groups(partner, agent_group);
            let value = if groups.is_empty() {
                Value::of(Vec::new(), false)
            } else {
                let (principals, known) = self.holders(&groups);
                Value::of(principals, known)
            };
            out.insert(pair_key(rule, partner, customer), value);
        }
    }

    /// The users active DAP empowers for `partner` (AdminAgents and
    /// HelpdeskAgents), and whether the snapshot can tell.
    fn dap_empowered(&self, partner: &str) -> (Vec<String>, bool) {
        let admin = self.agent_groups(partner, "admin_agents");
        let helpdesk = self.agent_groups(partner, "helpdesk_agents");
        let both_present = !admin.is_empty() && !helpdesk.is_empty();
        let mut groups = admin;
        groups.extend(helpdesk);
        let (users, known) = self.holders(&groups);
        (users, known && both_present)
    }

    /// DAP004, DAP005, DAP006 and SR001: over partner × customer pairs.
    fn partner_customer(&self, out: &mut BTreeMap<Key, Value>) {
        let dap = self.active_pairs("dap");
        let gdap = self.active_pairs("gdap");
        for &(partner, customer) in &dap {
            let last = self
                .relationships
                .iter()
                .filter(|r| {
                    r.partner == partner && r.customer == customer && r.kind == "dap" && r.active()
                })
                .filter_map(|r| r.last_activity_at)
                .max();
            let stale = last.is_none_or(|t| whole_days(t, self.as_of) > 90);
            let (users, known) = self.dap_empowered(partner);
            if stale {
                out.insert(
                    pair_key("DAP004", partner, customer),
                    Value::of(users.clone(), known),
                );
            }
            if gdap.contains(&(partner, customer)) {
                out.insert(
                    pair_key("DAP005", partner, customer),
                    Value::of(users, known),
                );
            }
        }
        let mut by_customer: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for &(partner, customer) in &dap {
            by_customer.entry(customer).or_default().push(partner);
        }
        for (customer, partners) in by_customer {
            if partners.len() < 2 {
                continue;
            }
            let mut all = BTreeSet::new();
            let mut all_known = true;
            for partner in partners {
                let (users, known) = self.dap_empowered(partner);
                all.extend(users);
                all_known &= known;
            }
            out.insert(
                pair_key("DAP006", "", customer),
                Value::of(all.into_iter().collect(), all_known),
            );
        }
        for (partner, customer) in self.active_pairs("reseller") {
            if !dap.contains(&(partner, customer)) {
                out.insert(
                    pair_key("SR001", partner, customer),
                    Value::of(Vec::new(), true),
                );
            }
        }
    }

    /// What active GDAP relationship `r` grants: (group, roles) per active
    /// access assignment that uses at least one role `r` grants.
    /// The GDAP relationships, one row each: a relationship listed more
    /// than once (same id; without an id, same partner and customer) stands
    /// as its first row (README "Duplicate rows").
    fn gdap_relationships(&self) -> Vec<&Relationship> {
        let mut chosen: Vec<&Relationship> = Vec::new();
        let name = |r: &Relationship| {
            if r.id.is_empty() {
                format!("gdap:{}:{}", r.partner, r.customer)
            } else {
                r.id.clone()
            }
        };
        for r in self.relationships.iter().filter(|r| r.kind == "gdap") {
            if !chosen.iter().any(|c| name(c) == name(r)) {
                chosen.push(r);
            }
        }
        chosen
    }

    fn gdap_grants(&self, r: &Relationship) -> Vec<(String, BTreeSet<String>)> {
        if r.id.is_empty() || !r.active() {
            return Vec::new();
        }
        self.access_assignments
            .iter()
            .filter(|a| a.active && a.relationship == r.id)
            .map(|a| {
                let roles = match &r.roles {
                    Some(granted) => a.roles.intersection(granted).cloned().collect(),
                    None => a.roles.clone(),
                };
                (a.group.clone(), roles)
            })
            .filter(|(_, roles): &(String, BTreeSet<String>)| !roles.is_empty())
            .collect()
    }

    /// GDAP001, GDAP002 and GDAP003: per GDAP relationship.
    fn gdap(&self, out: &mut BTreeMap<Key, Value>) {
        for r in self.gdap_relationships() {
            if !r.active() {
                continue;
            }
            let grants = self.gdap_grants(r);
            let groups: Vec<String> = grants.iter().map(|(g, _)| g.clone()).collect();
            let (users, known) = self.holders(&groups);
            let key = |rule: &str| Key {
                resource: if r.id.is_empty() {
                    format!("gdap:{}:{}", r.partner, r.customer)
                } else {
                    r.id.clone()
                },
                ..pair_key(rule, &r.partner, &r.customer)
            };
            let granted = r.roles.clone().unwrap_or_default();
            if granted.contains(GLOBAL_ADMIN) {
                out.insert(key("GDAP001"), Value::of(users.clone(), known));
            }
            if let Some(end) = r.ended_at {
                let days = whole_days(self.as_of, end);
                if (0..=30).contains(&days) {
                    out.insert(key("GDAP002"), Value::of(users.clone(), known));
                }
            }
            let used: BTreeSet<String> = grants.into_iter().flat_map(|(_, roles)| roles).collect();
            let unused: Vec<String> = granted.difference(&used).cloned().collect();
            if !unused.is_empty() {
                out.insert(
                    key("GDAP003"),
                    Value {
                        detail: unused,
                        ..Value::of(users, known)
                    },
                );
            }
        }
    }

    /// DAP003: per customer whose directory roles have hidden holders.
    fn listing(&self, t: &Tables, out: &mut BTreeMap<Key, Value>) {
        // customer → role → who holds it implicitly.
        let mut implicit: BTreeMap<String, BTreeMap<String, BTreeSet<String>>> = BTreeMap::new();
        for (partner, customer) in self.active_pairs("dap") {
            for (agent_group, role) in [
                ("admin_agents", GLOBAL_ADMIN),
                ("helpdesk_agents", HELPDESK_ADMIN),
            ] {
                let groups = self.agent_groups(partner, agent_group);
                let holders = if groups.is_empty() {
                    BTreeSet::from([format!("placeholder {agent_group} of {partner}")])
                } else {
                    self.actors(&self.reach(&groups))
                };
                implicit
                    .entry(customer.to_string())
                    .or_default()
                    .entry(role.to_string())
                    .or_default()
                    .extend(holders);
            }
        }
        for r in self.gdap_relationships() {
            for (group, roles) in self.gdap_grants(r) {
                let holders = self.actors(&self.reach(&[group]));
                for role in roles {
                    implicit
                        .entry(r.customer.clone())
                        .or_default()
                        .entry(role)
                        .or_default()
                        .extend(holders.iter().cloned());
                }
            }
        }
        for (customer, roles) in implicit {
            let mut listed: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
            for r in t.rows("role_assignments") {
                if guid(r.get("tenant_id")) == customer && scope(r.get("scope")) == "/" {
                    listed
                        .entry(role(r.get("role")))
                        .or_default()
                        .extend(self.actors(&self.reach(&[guid(r.get("principal_id"))])));
                }
            }
            let mut detail = Vec::new();
            let mut hidden_all = BTreeSet::new();
            for (role, holders) in roles {
                let shown = listed.remove(&role).unwrap_or_default();
                let hidden: BTreeSet<&String> = holders.difference(&shown).collect();
                if hidden.is_empty() {
                    continue;
                }
                let effective = holders.union(&shown).count();
                detail.push(format!(
                    "{role}: listed {}, effective {effective}, hidden {}",
                    shown.len(),
                    hidden.len()
                ));
                hidden_all.extend(hidden.into_iter().cloned());
            }
            if detail.is_empty() {
                continue;
            }
            detail.sort();
            let known = hidden_all.iter().all(|id| self.principals.contains_key(id));
            let principals = hidden_all
                .into_iter()
                .filter(|id| self.enabled_user(id))
                .collect();
            out.insert(
                pair_key("DAP003", "", &customer),
                Value {
                    detail,
                    ..Value::of(principals, known)
                },
            );
        }
    }

    /// INV001 and INV002: per invitation.
    fn invitations(&self, out: &mut BTreeMap<Key, Value>) {
        for i in &self.invitations {
            let key = |rule: &str| Key {
                resource: i.id.clone(),
                ..pair_key(rule, &i.partner, &i.customer)
            };
            let agent = |kind: &str| {
                self.reach(&self.agent_groups(&i.partner, kind))
                    .contains(&i.sent_by)
            };
            if self.principals.contains_key(&i.sent_by)
                && !agent("admin_agents")
                && !agent("sales_agents")
            {
                out.insert(key("INV001"), Value::of(Vec::new(), true));
            }
            if !i.accepted && whole_days(i.sent_at, self.as_of) > 30 {
                out.insert(key("INV002"), Value::of(Vec::new(), true));
            }
        }
    }

    /// AP001, AP002 and AP003 under the legacy (F11) or strict (F12)
    /// policy.
    fn autopilot(&self, strict: bool, out: &mut BTreeMap<Key, Value>) {
        let reseller = self.active_pairs("reseller");
        let dap = self.active_pairs("dap");
        for &(partner, customer) in reseller.union(&dap) {
            let admin = self.agent_groups(partner, "admin_agents");
            let agents = || {
                if admin.is_empty() {
                    Value::of(Vec::new(), false)
                } else {
                    let (users, known) = self.holders(&admin);
                    Value::of(users, known)
                }
            };
            let devices: Vec<&Device> = self
                .devices
                .iter()
                .filter(|d| d.tenant == customer)
                .collect();
            let has_dap = dap.contains(&(partner, customer));
            let manageable = |d: &Device| {
                if strict {
                    d.added_by == partner || has_dap
                } else {
                    !(d.added_by == customer
                        && matches!(
                            d.added_via.as_str(),
                            "store_for_business" | "store_for_education" | "intune"
                        ))
                }
            };
            let managed = devices.iter().filter(|d| manageable(d)).count();
            let foreign = devices
                .iter()
                .filter(|d| manageable(d) && d.added_by != partner)
                .count();
            let key = |rule: &str| pair_key(rule, partner, customer);
            if !strict && reseller.contains(&(partner, customer)) && !has_dap {
                let any = !devices.is_empty() || self.with_profiles.contains(customer);
                let v = if any {
                    agents()
                } else {
                    Value::of(Vec::new(), true)
                };
                out.insert(key("AP001"), v);
            }
            if foreign > 0 {
                out.insert(key("AP002"), agents());
            }
            if !devices.is_empty() {
                let v = if managed > 0 {
                    agents()
                } else {
                    Value::of(Vec::new(), true)
                };
                out.insert(
                    key("AP003"),
                    Value {
                        detail: vec![format!(
                            "manages {managed} of {}, not {}",
                            devices.len(),
                            devices.len() - managed
                        )],
                        ..v
                    },
                );
            }
        }
    }

    /// The home tenant of an assignment's principal (SPEC §3): the
    /// `principal_tenant_id` cell, else the tenant listing the principal,
    /// else the scope's tenant.
    fn home(&self, r: &Record) -> String {
        let id = guid(r.get("principal_id"));
        opt_guid(r.get("principal_tenant_id")).unwrap_or_else(|| {
            self.principals.get(&id).map_or_else(
                || {
                    self.stated_home
                        .get(&id)
                        .cloned()
                        .unwrap_or_else(|| guid(r.get("tenant_id")))
                },
                |p| p.tenant.clone(),
            )
        })
    }

    /// AZ001–AZ005: per role assignment at or below a subscription
    /// (`/subscriptions/ID[/...]`); AZ002 per subscription.
    ///
    /// - AZ001: the home tenant is a partner P other than the scope's
    ///   tenant C, C is a customer, and P has neither active DAP nor active
    ///   GDAP with C.
    /// - AZ002: the scope is the subscription, the role Owner, the
    ///   principal an AdminAgents group whose home tenant provisioned the
    ///   subscription, and neither AZ001 nor AZ005 reports the assignment
    ///   (the partner holds active DAP, or the condition of neither holds).
    /// - AZ003: the home tenant is a partner P other than the scope's tenant
    ///   and the subscription's `provisioned_by_tenant_id` is not P (empty =
    ///   the customer; a subscription the table does not list was not shown
    ///   to be P's, so it fires: unknown data over- rather than
    ///   under-reports, as the README decides for `enabled`).
    /// - AZ004: the home tenant differs from the scope's tenant, and the
    ///   tenants table lacks it or the principals table lacks the principal.
    /// - AZ005: the principal is an AdminAgents or HelpdeskAgents group and
    ///   its home tenant has active GDAP and no active DAP with the scope's
    ///   tenant.
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
            let agent_group = self
                .principals
                .get(&principal)
                .and_then(|p| p.agent_group.as_deref());
            let partner_is = foreign && self.is_partner(&home);
            let by = provisioned_by.get(&sub).cloned().flatten();
            let partner =
                if foreign && self.tenant_kind.get(&home).map(String::as_str) != Some("customer") {
                    home.clone()
                } else {
                    String::new()
                };
            let (principals, known) = self.holders(std::slice::from_ref(&principal));
            // Once DAP has ended, AZ001 (no DAP or GDAP) or AZ005 (GDAP
            // only) reports the assignment; AZ002 leaves it to them.
            let reported_elsewhere = !self.active(&home, &customer, "dap")
                && (self.active(&home, &customer, "gdap")
                    || (partner_is && self.is_customer_of(&customer, &home)));
            if sc == format!("/subscriptions/{sub}")
                && role(r.get("role")) == "Owner"
                && agent_group == Some("admin_agents")
                && by.as_deref() == Some(home.as_str())
                && !reported_elsewhere
            {
                let key = Key {
                    resource: sub.clone(),
                    ..pair_key("AZ002", &partner, &customer)
                };
                let v = out
                    .entry(key)
                    .or_insert_with(|| Value::of(Vec::new(), true));
                let mut all: BTreeSet<String> = v.principals.drain(..).collect();
                all.extend(principals.iter().cloned());
                v.principals = all.into_iter().collect();
                v.principals_known = Some(v.principals_known == Some(true) && known);
            }
            let mut rules = Vec::new();
            if partner_is
                && self.is_customer_of(&customer, &home)
                && !self.active(&home, &customer, "dap")
                && !self.active(&home, &customer, "gdap")
            {
                rules.push("AZ001");
            }
            if partner_is && by.as_deref() != Some(home.as_str()) {
                rules.push("AZ003");
            }
            let tenant_known = self.tenant_kind.contains_key(&home);
            let principal_known = self.principals.contains_key(&principal);
            if foreign && (!tenant_known || !principal_known) {
                rules.push("AZ004");
            }
            if matches!(agent_group, Some("admin_agents" | "helpdesk_agents"))
                && self.active(&home, &customer, "gdap")
                && !self.active(&home, &customer, "dap")
            {
                rules.push("AZ005");
            }
            for rule in rules {
                out.insert(
                    Key {
                        principal: principal.clone(),
                        scope: sc.clone(),
                        role: role(r.get("role")),
                        ..pair_key(rule, &partner, &customer)
                    },
                    Value::of(principals.clone(), known),
                );
            }
        }
    }
}

/// The expected findings of every rule the oracle knows.
pub fn findings(t: &Tables) -> BTreeMap<Key, Value> {
    let m = Model::new(t);
    let mut out = BTreeMap::new();
    m.dap("DAP001", "admin_agents", &mut out);
    m.dap("DAP002", "helpdesk_agents", &mut out);
    m.listing(t, &mut out);
    m.partner_customer(&mut out);
    m.gdap(&mut out);
    m.invitations(&mut out);
    m.assignments(t, &mut out);
    m.autopilot(false, &mut out);
    out
}

/// The expected findings of AP001–AP003 under the strict policy (F12).
pub fn strict_autopilot_findings(t: &Tables) -> BTreeMap<Key, Value> {
    let mut out = BTreeMap::new();
    Model::new(t).autopilot(true, &mut out);
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
        let partner = guid(r.get("partner_tenant_id"));
        let customer = guid(r.get("customer_tenant_id"));
        if (partner == k.partner || k.partner.is_empty()) && customer == k.customer {
            lines.push(show("relationships", r));
        }
    }
    if k.rule.starts_with("GDAP") {
        for r in t.rows("gdap_access_assignments") {
            if r.get("relationship_id").trim().to_ascii_lowercase() == k.resource {
                lines.push(show("gdap_access_assignments", r));
            }
        }
    } else if k.rule.starts_with("INV") {
        for r in t.rows("invitations") {
            if invitation_id(r.get("invitation_id")) == k.resource {
                lines.push(show("invitations", r));
                let sender = guid(r.get("sent_by"));
                for p in t.rows("principals") {
                    if guid(p.get("principal_id")) == sender {
                        lines.push(show("principals", p));
                    }
                }
            }
        }
    } else if k.rule.starts_with("AP") {
        for r in t.rows("devices") {
            if guid(r.get("tenant_id")) == k.customer {
                lines.push(show("devices", r));
            }
        }
        for r in t.rows("principals") {
            if guid(r.get("tenant_id")) == k.partner && r.get("kind").trim() == "group" {
                lines.push(show("principals", r));
            }
        }
    } else if k.rule.starts_with("DAP") || k.rule == "SR001" {
        if k.rule == "DAP003" {
            for r in t.rows("role_assignments") {
                if guid(r.get("tenant_id")) == k.customer && scope(r.get("scope")) == "/" {
                    lines.push(show("role_assignments", r));
                }
            }
        }
        for r in t.rows("principals") {
            if guid(r.get("tenant_id")) == k.partner && r.get("kind").trim() == "group" {
                lines.push(show("principals", r));
            }
        }
    } else {
        for r in t.rows("role_assignments") {
            if guid(r.get("tenant_id")) == k.customer
                && (guid(r.get("principal_id")) == k.principal
                    || (k.rule == "AZ002" && scope(r.get("scope")).contains(&k.resource)))
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

/// A tenant cell of `r`, normalised as the oracle compares it.
pub fn tenant(r: &Record, col: &str) -> String {
    guid(r.get(col))
}
