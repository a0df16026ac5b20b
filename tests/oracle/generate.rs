//! Random canonical snapshots for the differential test, written without the
//! crate's own generator (which shares the engine's assumptions): a seeded
//! world of partners and customers, then every table written as a messy but
//! valid CSV file (BOM, CRLF, shuffled and unknown columns, GUIDs in any
//! case, hostile display names).

use std::collections::{BTreeMap, HashSet};
use std::fs;
use std::path::Path;

use rand::seq::{IndexedRandom, SliceRandom};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// The manifest's `captured_at`: the audit's as-of time.
pub const CAPTURED_AT: &str = "2026-11-01T08:00:00Z";

/// Built-in roles by display name and template / role-definition id
/// (`shared/reference/export-formats.md` §2d and §3d).
pub const OWNER: (&str, &str) = ("Owner", "8e3af657-a8ff-443c-a75c-2fe8c4bcb635");
pub const CONTRIBUTOR: (&str, &str) = ("Contributor", "b24988ac-6180-42a0-ab88-20f7382dd24c");
pub const READER: (&str, &str) = ("Reader", "acdd72a7-3385-48ef-bd42-f606fba81ae7");
pub const USER_ACCESS_ADMIN: (&str, &str) = (
    "User Access Administrator",
    "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9",
);
pub const GLOBAL_ADMIN: (&str, &str) = (
    "Global Administrator",
    "62e90394-69f5-4237-9190-012177145e10",
);
pub const HELPDESK_ADMIN: (&str, &str) = (
    "Helpdesk Administrator",
    "729827e3-9c14-49f7-bb1b-9608f156bbb8",
);
pub const GLOBAL_READER: (&str, &str) = ("Global Reader", "f2ef992c-3afb-46b9-b7cf-a126ee74c451");
pub const USER_ADMIN: (&str, &str) = ("User Administrator", "fe930be7-5e62-47db-91af-98c3a49a38b1");
pub const SECURITY_READER: (&str, &str) =
    ("Security Reader", "5d6b6bb7-de71-4623-b4af-96380a352509");
pub const EXCHANGE_ADMIN: (&str, &str) = (
    "Exchange Administrator",
    "29232cdf-9323-42fd-ade2-1d097af3e4de",
);
pub const INTUNE_ADMIN: (&str, &str) = (
    "Intune Administrator",
    "3a2c62db-5318-420d-8d74-23affee5d9d5",
);
/// The directory roles GDAP relationships and `/` assignments draw from.
const DIRECTORY_ROLES: &[(&str, &str)] = &[
    GLOBAL_ADMIN,
    HELPDESK_ADMIN,
    GLOBAL_READER,
    USER_ADMIN,
    SECURITY_READER,
    EXCHANGE_ADMIN,
    INTUNE_ADMIN,
];

/// Dates around the thresholds, as-of being `CAPTURED_AT`
/// (2026-11-01T08:00:00Z): 90 days before it (DAP004), 30 days before it
/// (INV002), the as-of day and 30 days after it (GDAP002), in every
/// spelling ISO 8601 allows the snapshot (date, UTC, offset, no offset).
const NEAR_STALE: &[&str] = &[
    "2026-08-02",
    "2026-08-03",
    "2026-08-03T08:00:00Z",
    "2026-08-03T07:59:59Z",
    "2026-08-02T08:00:00Z",
    "2026-08-02T08:00:01Z",
    "2026-08-02T10:00:00+02:00",
    "2026-08-02T09:00:00+02:00",
    "2026-08-02T09:30:00",
    "2026-08-03T01:00:00-08:00",
    "2026-11-05",
];
const NEAR_PENDING: &[&str] = &[
    "2026-10-02",
    "2026-10-01",
    "2026-10-02T08:00:00Z",
    "2026-10-02T07:59:59Z",
    "2026-10-01T08:00:01Z",
    "2026-10-01T08:00:00Z",
    "2026-10-01T08:00:00.500Z",
    "2026-10-01T10:00:00+02:00",
    "2026-10-01T09:00:00",
    "2026-10-25",
];
const NEAR_END: &[&str] = &[
    "2026-11-01",
    "2026-11-01T09:00:00Z",
    "2026-11-01T08:00:00Z",
    "2026-11-01T07:59:59Z",
    "2026-12-01",
    "2026-12-01T08:00:00Z",
    "2026-12-02",
    "2026-12-02T07:59:59Z",
    "2026-12-02T08:00:00Z",
    "2026-12-03",
    "2026-10-31T23:00:00-02:00",
    "2026-11-01T10:00:00+01:00",
    "2026-11-15T12:00:00",
    "2026-11-20",
];

/// A customer-defined Azure role: kept by name, never resolved to a built-in.
pub const CUSTOM_ROLE: &str = "Backup Operator; \"Contoso\", custom";

/// Display names that try to break parsers, reports and spreadsheets.
const HOSTILE: &[&str] = &[
    "Contoso, Ltd.",
    "\"Quoted\" Name",
    "Line one\nLine two",
    "Carriage\r\nreturn",
    "=cmd|' /C calc'!A0",
    "+SUM(1;2)",
    "@import",
    "-2+3",
    "<script>alert(1)</script>",
    "Ünïcödé 日本語 🚀",
    "semi;colon;list",
    "tab\tinside",
    "O'Brien & Sons <b>bold</b>",
    "AdminAgents\u{200b}",
    "\u{202e}reversed",
];

/// Names that look like an agent group but are not one (the SPEC says
/// "named exactly").
const DECOY_GROUP_NAMES: &[&str] = &[
    "adminagents",
    "ADMINAGENTS",
    "Admin Agents",
    "AdminAgents2",
    "HelpdeskAgent",
    "helpdeskagents",
    "Admin_Agents",
];

const TRUE_CELLS: &[&str] = &["true", "TRUE", "True", "yes", "1"];
const FALSE_CELLS: &[&str] = &["false", "FALSE", "False", "no", "0"];

/// One CSV table: canonical column names, the optional ones, and rows of
/// cells in that column order.
pub struct Table {
    pub name: &'static str,
    pub columns: &'static [&'static str],
    pub optional: &'static [&'static str],
    /// Columns whose cells are GUIDs (written in a random case).
    pub guid_columns: &'static [&'static str],
    pub rows: Vec<Vec<String>>,
}

impl Table {
    fn push(&mut self, cells: &[(&str, String)]) {
        let mut row = vec![String::new(); self.columns.len()];
        for (k, v) in cells {
            let i = self
                .columns
                .iter()
                .position(|c| c == k)
                .unwrap_or_else(|| panic!("{}: no column {k}", self.name));
            row[i] = v.clone();
        }
        self.rows.push(row);
    }
}

/// A generated snapshot, before it is written.
pub struct Snapshot {
    pub perspective: &'static str,
    pub tables: Vec<Table>,
}

#[derive(Clone)]
struct Partner {
    id: String,
    users: Vec<String>,
    groups: Vec<String>,
    sps: Vec<String>,
    /// Every agent group (admin, helpdesk, sales) of the partner.
    agent_groups: Vec<String>,
    /// The groups meant as AdminAgents and as SalesAgents (the oracle
    /// decides what they are once the table is written).
    admin: Vec<String>,
    sales: Vec<String>,
}

#[derive(Clone)]
struct Customer {
    id: String,
    principals: Vec<String>,
    subscriptions: Vec<String>,
}

struct Gen {
    rng: ChaCha8Rng,
    tenants: Table,
    principals: Table,
    memberships: Table,
    relationships: Table,
    subscriptions: Table,
    role_assignments: Table,
    invitations: Table,
    gdap_access_assignments: Table,
    devices: Table,
    autopilot_profiles: Table,
}

impl Gen {
    fn guid(&mut self) -> String {
        let v: u128 = self.rng.random();
        let h = format!("{v:032x}");
        format!(
            "{}-{}-{}-{}-{}",
            &h[0..8],
            &h[8..12],
            &h[12..16],
            &h[16..20],
            &h[20..32]
        )
    }

    fn chance(&mut self, p: f64) -> bool {
        self.rng.random_bool(p)
    }

    fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        xs.choose(&mut self.rng).expect("non-empty choice")
    }

    fn name(&mut self, plain: &str) -> String {
        if self.chance(0.35) {
            let h = (*self.pick(HOSTILE)).to_string();
            if self.chance(0.5) {
                format!("{plain} {h}")
            } else {
                h
            }
        } else {
            plain.to_string()
        }
    }

    fn enabled_cell(&mut self) -> String {
        match self.rng.random_range(0..10) {
            0..=4 => (*self.pick(TRUE_CELLS)).to_string(),
            5..=7 => (*self.pick(FALSE_CELLS)).to_string(),
            _ => String::new(),
        }
    }

    fn date(&mut self, from_year: i32, to_year: i32) -> String {
        let y = self.rng.random_range(from_year..=to_year);
        let m = self.rng.random_range(1..=12);
        let d = self.rng.random_range(1..=28);
        if self.chance(0.5) {
            format!("{y:04}-{m:02}-{d:02}")
        } else {
            let h = self.rng.random_range(0..24);
            format!("{y:04}-{m:02}-{d:02}T{h:02}:15:00Z")
        }
    }

    fn principal(
        &mut self,
        tenant: &str,
        kind: &str,
        name: String,
        enabled: String,
        agent_group: &str,
    ) -> String {
        let id = self.guid();
        let upn = if kind == "user" && self.chance(0.7) {
            format!("user{}@example.onmicrosoft.com", &id[..6])
        } else {
            String::new()
        };
        self.principals.push(&[
            ("tenant_id", tenant.to_string()),
            ("principal_id", id.clone()),
            ("kind", kind.to_string()),
            ("display_name", name),
            ("upn", upn),
            ("enabled", enabled),
            ("agent_group", agent_group.to_string()),
        ]);
        id
    }

    fn member(&mut self, tenant: &str, group: &str, member: &str) {
        self.memberships.push(&[
            ("tenant_id", tenant.to_string()),
            ("group_id", group.to_string()),
            ("member_id", member.to_string()),
        ]);
    }

    /// An agent group of kind `ag` (`admin_agents`, ...), marked by its
    /// exact name, by the `agent_group` column, or both; `None` leaves the
    /// partner without one (a placeholder stands for it).
    fn agent_groups(&mut self, tenant: &str, ag: &str, exact: &str) -> Vec<String> {
        let mut out = Vec::new();
        let style = self.rng.random_range(0..6);
        if matches!(style, 1 | 3 | 5) {
            let n = exact.to_string();
            out.push(self.principal(tenant, "group", n, String::new(), ""));
        }
        if matches!(style, 2 | 3) {
            let n = self.name("Partner admins");
            out.push(self.principal(tenant, "group", n, String::new(), ag));
        }
        if style == 4 {
            let n = exact.to_string();
            out.push(self.principal(tenant, "group", n, String::new(), ag));
        }
        if style == 5 && self.chance(0.5) {
            // A second group of the same kind under another name.
            let n = self.name("Tier 2");
            out.push(self.principal(tenant, "group", n, String::new(), ag));
        }
        out
    }

    fn partner(&mut self) -> Partner {
        let id = self.guid();
        let name = self.name("Partner");
        self.tenants.push(&[
            ("tenant_id", id.clone()),
            ("name", name),
            ("kind", "partner".to_string()),
            ("domain", format!("p{}.onmicrosoft.com", &id[..5])),
        ]);
        let mut users = Vec::new();
        for i in 0..self.rng.random_range(3..9) {
            let n = self.name(&format!("Engineer {i}"));
            let e = self.enabled_cell();
            users.push(self.principal(&id, "user", n, e, ""));
        }
        if self.chance(0.2) {
            // A user, not a group, named like the agent group.
            let e = self.enabled_cell();
            users.push(self.principal(&id, "user", "AdminAgents".into(), e, ""));
        }
        let mut sps = Vec::new();
        for i in 0..self.rng.random_range(0..3) {
            let n = self.name(&format!("Automation {i}"));
            let e = self.enabled_cell();
            sps.push(self.principal(&id, "service_principal", n, e, ""));
        }
        let mut admin = self.agent_groups(&id, "admin_agents", "AdminAgents");
        let mut sales = Vec::new();
        let mut agent_groups = admin.clone();
        agent_groups.extend(self.agent_groups(&id, "helpdesk_agents", "HelpdeskAgents"));
        if self.chance(0.3) {
            let g = self.principal(&id, "group", "SalesAgents".into(), String::new(), "");
            sales.push(g.clone());
            agent_groups.push(g);
        }
        let mut groups = agent_groups.clone();
        // Decoys: near-miss names, and exact names overridden by the column.
        for _ in 0..self.rng.random_range(0..3) {
            let n = (*self.pick(DECOY_GROUP_NAMES)).to_string();
            groups.push(self.principal(&id, "group", n, String::new(), ""));
        }
        if self.chance(0.3) {
            let (n, ag) = *self.pick(&[
                ("AdminAgents", "sales_agents"),
                ("AdminAgents", "helpdesk_agents"),
                ("HelpdeskAgents", "admin_agents"),
                ("HelpdeskAgents", "sales_agents"),
            ]);
            let g = self.principal(&id, "group", n.into(), String::new(), ag);
            groups.push(g.clone());
            match ag {
                "admin_agents" => admin.push(g.clone()),
                "sales_agents" => sales.push(g.clone()),
                _ => {}
            }
            agent_groups.push(g);
        }
        let plain_start = groups.len();
        for i in 0..self.rng.random_range(2..6) {
            let n = self.name(&format!("Team {i}"));
            groups.push(self.principal(&id, "group", n, String::new(), ""));
        }
        let p = Partner {
            id,
            users,
            groups,
            sps,
            agent_groups,
            admin,
            sales,
        };
        self.partner_memberships(&p, plain_start);
        p
    }

    fn partner_memberships(&mut self, p: &Partner, plain_start: usize) {
        let t = p.id.clone();
        let mut candidates: Vec<String> = p.users.clone();
        candidates.extend(p.sps.iter().cloned());
        candidates.extend(p.groups.iter().cloned());
        // Random edges: nesting and, now and then, cycles.
        for g in p.groups.clone() {
            for _ in 0..self.rng.random_range(0..4) {
                let m = self.pick(&candidates).clone();
                if m != g {
                    self.member(&t, &g, &m);
                }
            }
        }
        // A chain several levels deep under an agent group, maybe closed
        // into a cycle.
        let plain: Vec<String> = p.groups[plain_start..].to_vec();
        if !p.agent_groups.is_empty() && plain.len() >= 2 {
            let top = self.pick(&p.agent_groups).clone();
            let mut chain = plain.clone();
            chain.shuffle(&mut self.rng);
            let mut above = top.clone();
            for g in &chain {
                self.member(&t, &above, g);
                above = g.clone();
            }
            let u = self.pick(&p.users).clone();
            self.member(&t, &above, &u);
            if self.chance(0.5) {
                self.member(&t, &above, &top);
            }
        }
        // Dangling references: an unknown member, and an unknown group
        // that holds a known user and sits in an agent group.
        if !p.agent_groups.is_empty() && self.chance(0.4) {
            let g = self.pick(&p.agent_groups).clone();
            let unknown = self.guid();
            self.member(&t, &g, &unknown);
        }
        if !p.agent_groups.is_empty() && self.chance(0.4) {
            let g = self.pick(&p.agent_groups).clone();
            let unknown = self.guid();
            let u = self.pick(&p.users).clone();
            self.member(&t, &g, &unknown);
            self.member(&t, &unknown, &u);
        }
        // A duplicated row.
        if self.chance(0.3) && !self.memberships.rows.is_empty() {
            let r = self.pick(&self.memberships.rows.clone()).clone();
            self.memberships.rows.push(r);
        }
    }

    fn customer(&mut self, partners: &[Partner]) -> Customer {
        let id = self.guid();
        let name = self.name("Customer");
        self.tenants.push(&[
            ("tenant_id", id.clone()),
            ("name", name),
            ("kind", "customer".to_string()),
            ("domain", String::new()),
        ]);
        let mut principals = Vec::new();
        for i in 0..self.rng.random_range(1..4) {
            let n = self.name(&format!("Staff {i}"));
            let e = self.enabled_cell();
            principals.push(self.principal(&id, "user", n, e, ""));
        }
        if self.chance(0.4) {
            // The customer's own group named like a partner agent group.
            let n = if self.chance(0.5) {
                "AdminAgents"
            } else {
                "HelpdeskAgents"
            };
            let g = self.principal(&id, "group", n.into(), String::new(), "");
            let u = self.pick(&principals).clone();
            self.member(&id, &g, &u);
            principals.push(g);
        }
        if self.chance(0.3) {
            let n = self.name("Ops group");
            let g = self.principal(&id, "group", n, String::new(), "");
            let u = self.pick(&principals).clone();
            self.member(&id, &g, &u);
            principals.push(g);
        }
        let mut subscriptions = Vec::new();
        for i in 0..self.rng.random_range(0..4) {
            let s = self.guid();
            let by = if self.chance(0.55) {
                Some(self.pick(partners).clone())
            } else {
                None
            };
            let state = (*self.pick(&["Enabled", "Disabled", "", "Warned"])).to_string();
            let n = self.name(&format!("Azure plan {i}"));
            let created = self.date(2018, 2026);
            self.subscriptions.push(&[
                ("tenant_id", id.clone()),
                ("subscription_id", s.clone()),
                ("name", n),
                (
                    "provisioned_by_tenant_id",
                    by.as_ref().map(|p| p.id.clone()).unwrap_or_default(),
                ),
                ("state", state),
                ("created_at", created),
            ]);
            if let Some(p) = by.filter(|p| !p.admin.is_empty()) {
                if self.chance(0.5) {
                    // F9: the provisioning partner's AdminAgents get Owner.
                    let g = self.pick(&p.admin).clone();
                    let home = if self.chance(0.5) {
                        p.id.clone()
                    } else {
                        String::new()
                    };
                    let role = self.azure_role(&s);
                    self.assign(&id, format!("/subscriptions/{s}"), role, (g, home));
                }
            }
            subscriptions.push(s);
        }
        Customer {
            id,
            principals,
            subscriptions,
        }
    }

    fn relationships(&mut self, p: &Partner, c: &Customer) {
        let states = [
            "active",
            "active",
            "removed",
            "expired",
            "terminated",
            "pending",
        ];
        let mut rows: Vec<(&str, &str)> = Vec::new();
        for _ in 0..self.rng.random_range(0..3) {
            let s = if self.chance(0.7) {
                "active"
            } else {
                *self.pick(&states)
            };
            rows.push(("reseller", s));
        }
        for _ in 0..self.rng.random_range(0..4) {
            rows.push(("dap", *self.pick(&states)));
        }
        for _ in 0..self.rng.random_range(0..3) {
            rows.push(("gdap", *self.pick(&states)));
        }
        rows.shuffle(&mut self.rng);
        // A GDAP relationship without an id is known by its partner and
        // customer: a pair has at most one (a second would be a
        // conflicting duplicate: README "Duplicate rows").
        let mut gdap_without_id = false;
        for (kind, state) in rows {
            let mut started = self.date(2018, 2025);
            let mut ended = String::new();
            if state != "active" && state != "pending" && self.chance(0.8) {
                ended = self.date(2022, 2026);
            }
            if state == "active" && self.chance(0.2) {
                // Still marked active although its end date has passed.
                ended = self.date(2020, 2025);
            }
            if state == "active" && self.chance(0.1) {
                started = self.date(2027, 2028);
            }
            let (mut rel_id, mut granted, mut roles, mut auto) =
                (String::new(), Vec::new(), String::new(), String::new());
            if kind == "gdap" {
                if self.chance(0.92) || gdap_without_id {
                    rel_id = format!("{}-{}", self.guid(), self.guid());
                } else {
                    gdap_without_id = true;
                }
                if self.chance(0.9) {
                    let n = self.rng.random_range(1..=4);
                    granted = DIRECTORY_ROLES
                        .choose_multiple(&mut self.rng, n)
                        .copied()
                        .collect();
                    roles = self.role_list(&granted);
                }
                auto = (*self.pick(&["P180D", "PT0S", "", "P730D"])).to_string();
                if state == "active" && self.chance(0.5) {
                    ended = (*self.pick(NEAR_END)).to_string();
                } else if state == "active" && self.chance(0.4) {
                    ended = self.date(2027, 2028);
                }
            }
            let activity = match (kind, self.rng.random_range(0..10)) {
                ("dap", 0..=2) => String::new(),
                ("dap", 3..=4) => {
                    let m = self.rng.random_range(8..=10);
                    let d = self.rng.random_range(1..=28);
                    format!("2026-{m:02}-{d:02}T12:00:00Z")
                }
                ("dap", 5) => self.date(2023, 2025),
                ("dap", _) => (*self.pick(NEAR_STALE)).to_string(),
                (_, 0..=4) => self.date(2024, 2026),
                _ => String::new(),
            };
            self.relationships.push(&[
                ("partner_tenant_id", p.id.clone()),
                ("customer_tenant_id", c.id.clone()),
                ("kind", kind.to_string()),
                ("state", state.to_string()),
                ("started_at", started),
                ("ended_at", ended),
                ("relationship_id", rel_id.clone()),
                ("roles", roles),
                ("auto_extend", auto),
                ("last_activity_at", activity),
            ]);
            if kind == "gdap" && self.chance(0.05) {
                // The same relationship exported twice.
                let again = self.relationships.rows.last().cloned().expect("a row");
                self.relationships.rows.push(again);
            }
            if !rel_id.is_empty() {
                self.access_assignments(p, &rel_id, &granted);
            }
        }
    }

    /// A role spelled as a snapshot may spell it: display name in any case,
    /// the alias, or the template id.
    fn role_cell(&mut self, role: (&str, &str)) -> String {
        match self.rng.random_range(0..8) {
            0 => role.0.to_lowercase(),
            1 => role.0.to_uppercase(),
            2 | 3 => role.1.to_string(),
            4 if role == GLOBAL_ADMIN => "Company Administrator".to_string(),
            _ => role.0.to_string(),
        }
    }

    /// A `;`-separated list cell of roles, now and then with a space after
    /// the separator or a role listed twice.
    fn role_list(&mut self, roles: &[(&'static str, &'static str)]) -> String {
        let mut items: Vec<String> = roles.iter().map(|r| self.role_cell(*r)).collect();
        if self.chance(0.1) {
            let again = *self.pick(roles);
            let cell = self.role_cell(again);
            items.push(cell);
        }
        let sep = if self.chance(0.2) { "; " } else { ";" };
        items.join(sep)
    }

    /// Access assignments of GDAP relationship `rel_id`, which grants
    /// `granted` (empty: the roles are not in the snapshot): groups of the
    /// partner or unknown ones; roles all, some, or beyond the
    /// relationship's; any state.
    fn access_assignments(
        &mut self,
        p: &Partner,
        rel_id: &str,
        granted: &[(&'static str, &'static str)],
    ) {
        let n = *self.pick(&[0, 1, 1, 2, 2, 3]);
        // A group has one access assignment per relationship (a second
        // row for it is a conflicting duplicate: README "Duplicate rows").
        let mut assigned = HashSet::new();
        for _ in 0..n {
            let group = if self.chance(0.85) {
                self.pick(&p.groups).clone()
            } else {
                let g = self.guid();
                if self.chance(0.5) {
                    let u = self.pick(&p.users).clone();
                    self.member(&p.id, &g, &u);
                }
                g
            };
            let mut roles: Vec<(&str, &str)> = if granted.is_empty() {
                let k = self.rng.random_range(1..=2);
                DIRECTORY_ROLES
                    .choose_multiple(&mut self.rng, k)
                    .copied()
                    .collect()
            } else {
                match self.rng.random_range(0..10) {
                    0..=3 => granted.to_vec(),
                    4..=7 => {
                        let k = self.rng.random_range(1..=granted.len());
                        granted.choose_multiple(&mut self.rng, k).copied().collect()
                    }
                    _ => {
                        let k = self.rng.random_range(0..=granted.len());
                        let mut r: Vec<(&str, &str)> =
                            granted.choose_multiple(&mut self.rng, k).copied().collect();
                        // A role the relationship does not grant.
                        if let Some(extra) = DIRECTORY_ROLES.iter().find(|d| !granted.contains(d)) {
                            r.push(*extra);
                        }
                        r
                    }
                }
            };
            if roles.is_empty() {
                roles.push(granted.first().copied().unwrap_or(GLOBAL_READER));
            }
            let cell = self.role_list(&roles);
            let state = (*self.pick(&[
                "active", "active", "active", "Active", "ACTIVE", "", "", "pending", "deleted",
                "error",
            ]))
            .to_string();
            let id = if self.chance(0.04) {
                // A relationship the snapshot does not hold.
                format!("{}-{}", self.guid(), self.guid())
            } else {
                rel_id.to_string()
            };
            if !assigned.insert((id.to_lowercase(), group.to_lowercase())) {
                continue;
            }
            self.gdap_access_assignments.push(&[
                ("relationship_id", id),
                ("group_id", group),
                ("roles", cell),
                ("state", state),
            ]);
        }
    }

    /// A role cell for an Azure role: display name in a random case, its
    /// role-definition GUID, or an ARM role-definition id.
    fn azure_role(&mut self, sub: &str) -> String {
        if self.chance(0.08) {
            return CUSTOM_ROLE.to_string();
        }
        let (name, id) = *self.pick(&[OWNER, OWNER, CONTRIBUTOR, READER, USER_ACCESS_ADMIN]);
        match self.rng.random_range(0..6) {
            0 => name.to_uppercase(),
            1 => name.to_lowercase(),
            2 => id.to_string(),
            3 => format!(
                "/subscriptions/{sub}/providers/Microsoft.Authorization/roleDefinitions/{id}"
            ),
            _ => name.to_string(),
        }
    }

    fn directory_role(&mut self) -> String {
        match self.rng.random_range(0..8) {
            0 => "Company Administrator".to_string(),
            1 => "global ADMINISTRATOR".to_string(),
            2 => GLOBAL_ADMIN.1.to_string(),
            3 => HELPDESK_ADMIN.1.to_string(),
            4 => HELPDESK_ADMIN.0.to_string(),
            _ => {
                let r = *self.pick(DIRECTORY_ROLES);
                self.role_cell(r)
            }
        }
    }

    fn scope_below(&mut self, sub: &str) -> String {
        match self.rng.random_range(0..10) {
            0..=4 => format!("/subscriptions/{sub}"),
            5..=7 => {
                let rg = *self.pick(&["rg-Prod", "RG-Data", "rg-erp", "Web_RG"]);
                format!("/subscriptions/{sub}/resourceGroups/{rg}")
            }
            _ => {
                let rg = *self.pick(&["rg-Prod", "RG-Data"]);
                let vm = *self.pick(&["vm-01", "VM-Sql"]);
                format!("/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Compute/virtualMachines/{vm}")
            }
        }
    }

    /// Who an assignment in `scope_tenant` names: (principal id, principal_tenant_id cell).
    fn assignee(
        &mut self,
        scope_tenant: &str,
        partners: &[Partner],
        customers: &[Customer],
        own: &[String],
        unknown_tenant: &str,
    ) -> (String, String) {
        let roll = self.rng.random_range(0..100);
        if roll < 45 {
            let p = self.pick(partners).clone();
            let pool: Vec<String> = match self.rng.random_range(0..5) {
                0 | 1 if !p.agent_groups.is_empty() => p.agent_groups.clone(),
                2 => p.users.clone(),
                3 if !p.sps.is_empty() => p.sps.clone(),
                _ => p.groups.clone(),
            };
            let id = self.pick(&pool).clone();
            let home = if self.chance(0.6) {
                p.id
            } else {
                String::new()
            };
            (id, home)
        } else if roll < 60 && !own.is_empty() {
            let id = self.pick(own).clone();
            let home = if self.chance(0.5) {
                scope_tenant.to_string()
            } else {
                String::new()
            };
            (id, home)
        } else if roll < 70 {
            let c = self.pick(customers).clone();
            if c.id == scope_tenant || c.principals.is_empty() {
                return (self.guid(), String::new());
            }
            if self.chance(0.2) {
                // A principal of another customer that is not in the snapshot.
                return (self.guid(), c.id);
            }
            let id = self.pick(&c.principals).clone();
            let home = if self.chance(0.5) {
                c.id
            } else {
                String::new()
            };
            (id, home)
        } else if roll < 80 {
            (self.guid(), unknown_tenant.to_string())
        } else if roll < 90 {
            let p = self.pick(partners).id.clone();
            (self.guid(), p)
        } else {
            (self.guid(), String::new())
        }
    }

    fn assign(&mut self, tenant: &str, scope: String, role: String, who: (String, String)) {
        let created = if self.chance(0.5) {
            self.date(2019, 2026)
        } else {
            String::new()
        };
        self.role_assignments.push(&[
            ("tenant_id", tenant.to_string()),
            ("scope", scope),
            ("role", role),
            ("principal_id", who.0),
            ("principal_tenant_id", who.1),
            ("created_at", created),
        ]);
    }

    fn customer_assignments(
        &mut self,
        c: &Customer,
        partners: &[Partner],
        customers: &[Customer],
        unknown_tenant: &str,
    ) {
        let mut subs = c.subscriptions.clone();
        if self.chance(0.2) {
            // A subscription the subscriptions table does not list.
            subs.push(self.guid());
        }
        for sub in subs {
            for _ in 0..self.rng.random_range(0..6) {
                let who = self.assignee(&c.id, partners, customers, &c.principals, unknown_tenant);
                let scope = self.scope_below(&sub);
                let role = self.azure_role(&sub);
                if self.chance(0.15) {
                    // The same assignment again, the role spelled otherwise.
                    let again = self.azure_role(&sub);
                    self.assign(&c.id, scope.clone(), again, who.clone());
                }
                self.assign(&c.id, scope, role, who);
            }
        }
        // Directory and management-group scopes: not at or below a
        // subscription. The directory ones are what the customer's role
        // listing shows (DAP003): its own admins, and now and then a
        // partner's agent group or agent listed explicitly.
        for _ in 0..self.rng.random_range(0..4) {
            let who = self.assignee(&c.id, partners, customers, &c.principals, unknown_tenant);
            let role = self.directory_role();
            self.assign(&c.id, "/".into(), role, who);
        }
        if self.chance(0.6) {
            let own = self.pick(&c.principals).clone();
            let home = if self.chance(0.5) {
                c.id.clone()
            } else {
                String::new()
            };
            let role = self.role_cell(GLOBAL_ADMIN);
            self.assign(&c.id, "/".into(), role, (own, home));
        }
        if self.chance(0.25) {
            let p = self.pick(partners).clone();
            let pool = if p.admin.is_empty() {
                &p.users
            } else {
                &p.admin
            };
            let who = self.pick(pool).clone();
            let role = self.role_cell(GLOBAL_ADMIN);
            self.assign(&c.id, "/".into(), role, (who, p.id.clone()));
        }
        if self.chance(0.2) {
            let who = self.assignee(&c.id, partners, customers, &c.principals, unknown_tenant);
            let scope = "/providers/Microsoft.Management/managementGroups/mg-Root".to_string();
            self.assign(&c.id, scope, OWNER.0.into(), who);
        }
    }
}

impl Gen {
    /// Reseller invitations partner `p` sent: by an Admin agent or a Sales
    /// agent (made one here, directly or through a nested group), by any
    /// of its users, by a principal the snapshot lacks, or by somebody of
    /// another tenant; accepted or not, sent long ago or around the
    /// `pending_after_days` threshold.
    fn invitations(&mut self, p: &Partner, partners: &[Partner], customers: &[Customer]) {
        for _ in 0..self.rng.random_range(0..5) {
            let roll = self.rng.random_range(0..12);
            let agents = match roll {
                0..=2 => p.admin.clone(),
                3..=4 => p.sales.clone(),
                _ => Vec::new(),
            };
            let sender = if !agents.is_empty() {
                let top = self.pick(&agents).clone();
                let user = self.pick(&p.users).clone();
                let plain: Vec<String> = p
                    .groups
                    .iter()
                    .filter(|g| !p.agent_groups.contains(g))
                    .cloned()
                    .collect();
                if !plain.is_empty() && self.chance(0.4) {
                    let mid = self.pick(&plain).clone();
                    self.member(&p.id, &top, &mid);
                    self.member(&p.id, &mid, &user);
                } else {
                    self.member(&p.id, &top, &user);
                }
                user
            } else if roll <= 8 {
                self.pick(&p.users).clone()
            } else if roll == 9 {
                self.guid()
            } else if roll == 10 {
                let o = self.pick(partners).clone();
                self.pick(&o.users).clone()
            } else {
                let c = self.pick(customers).clone();
                self.pick(&c.principals).clone()
            };
            let id = if self.chance(0.8) {
                self.guid()
            } else {
                format!("Inv-{:05}", self.rng.random_range(0..100_000))
            };
            let sent_at = match self.rng.random_range(0..10) {
                0..=4 => (*self.pick(NEAR_PENDING)).to_string(),
                5..=6 => self.date(2023, 2026),
                _ => {
                    let d = self.rng.random_range(3..=31);
                    format!("2026-10-{d:02}T09:30:00Z")
                }
            };
            let customer = if self.chance(0.6) {
                self.pick(customers).id.clone()
            } else {
                String::new()
            };
            let accepted_at = if self.chance(0.35) {
                "2026-10-30T16:00:00Z".to_string()
            } else {
                String::new()
            };
            let includes_dap = match self.rng.random_range(0..3) {
                0 => (*self.pick(TRUE_CELLS)).to_string(),
                1 => (*self.pick(FALSE_CELLS)).to_string(),
                _ => String::new(),
            };
            self.invitations.push(&[
                ("partner_tenant_id", p.id.clone()),
                ("invitation_id", id),
                ("sent_by", sender),
                ("sent_at", sent_at),
                ("customer_tenant_id", customer),
                ("accepted_at", accepted_at),
                ("includes_dap", includes_dap),
            ]);
        }
    }
}

impl Gen {
    /// The customer's Autopilot profiles and devices: added by a partner
    /// (related to the customer or not), by the customer itself through
    /// every channel, or by a tenant the snapshot does not know.
    fn autopilot(&mut self, c: &Customer, partners: &[Partner], unknown_tenant: &str) {
        let mut profiles = Vec::new();
        if self.chance(0.6) {
            for i in 0..self.rng.random_range(1..4) {
                let id = self.guid();
                let n = self.name(&format!("Profile {i}"));
                let by = match self.rng.random_range(0..3) {
                    0 => self.pick(partners).id.clone(),
                    1 => c.id.clone(),
                    _ => String::new(),
                };
                self.autopilot_profiles.push(&[
                    ("tenant_id", c.id.clone()),
                    ("profile_id", id.clone()),
                    ("name", n),
                    ("created_by_tenant_id", by),
                ]);
                profiles.push(id);
            }
        }
        if self.chance(0.35) {
            return;
        }
        for _ in 0..self.rng.random_range(1..6) {
            let serial = format!("SN-{:08X}", self.rng.random::<u32>());
            let by = match self.rng.random_range(0..20) {
                0..=8 => self.pick(partners).id.clone(),
                9..=17 => c.id.clone(),
                _ => unknown_tenant.to_string(),
            };
            let via = *self.pick(&[
                "partner_center",
                "store_for_business",
                "store_for_education",
                "intune",
                "oem",
                "unknown",
                "Intune",
                "STORE_FOR_BUSINESS",
                "OEM",
            ]);
            let profile = if !profiles.is_empty() && self.chance(0.5) {
                self.pick(&profiles).clone()
            } else {
                String::new()
            };
            self.devices.push(&[
                ("tenant_id", c.id.clone()),
                ("device_id", serial),
                ("added_by_tenant_id", by),
                ("added_via", via.to_string()),
                ("profile_id", profile),
            ]);
        }
    }
}

fn table(
    name: &'static str,
    columns: &'static [&'static str],
    optional: &'static [&'static str],
    guid_columns: &'static [&'static str],
) -> Table {
    Table {
        name,
        columns,
        optional,
        guid_columns,
        rows: Vec::new(),
    }
}

/// Builds the world of one seed.
pub fn generate(seed: u64) -> Snapshot {
    let mut g = Gen {
        rng: ChaCha8Rng::seed_from_u64(seed),
        tenants: table(
            "tenants",
            &["tenant_id", "name", "kind", "domain"],
            &["domain"],
            &["tenant_id"],
        ),
        principals: table(
            "principals",
            &[
                "tenant_id",
                "principal_id",
                "kind",
                "display_name",
                "upn",
                "enabled",
                "agent_group",
            ],
            &["upn", "enabled", "agent_group"],
            &["tenant_id", "principal_id"],
        ),
        memberships: table(
            "memberships",
            &["tenant_id", "group_id", "member_id"],
            &[],
            &["tenant_id", "group_id", "member_id"],
        ),
        relationships: table(
            "relationships",
            &[
                "partner_tenant_id",
                "customer_tenant_id",
                "kind",
                "state",
                "started_at",
                "ended_at",
                "relationship_id",
                "roles",
                "auto_extend",
                "last_activity_at",
            ],
            &[
                "started_at",
                "ended_at",
                "relationship_id",
                "roles",
                "auto_extend",
                "last_activity_at",
            ],
            &["partner_tenant_id", "customer_tenant_id", "relationship_id"],
        ),
        subscriptions: table(
            "subscriptions",
            &[
                "tenant_id",
                "subscription_id",
                "name",
                "provisioned_by_tenant_id",
                "state",
                "created_at",
            ],
            &["provisioned_by_tenant_id", "state", "created_at"],
            &["tenant_id", "subscription_id", "provisioned_by_tenant_id"],
        ),
        role_assignments: table(
            "role_assignments",
            &[
                "tenant_id",
                "scope",
                "role",
                "principal_id",
                "principal_tenant_id",
                "created_at",
            ],
            &["principal_tenant_id", "created_at"],
            &["tenant_id", "principal_id", "principal_tenant_id"],
        ),
        invitations: table(
            "invitations",
            &[
                "partner_tenant_id",
                "invitation_id",
                "sent_by",
                "sent_at",
                "customer_tenant_id",
                "accepted_at",
                "includes_dap",
            ],
            &["customer_tenant_id", "accepted_at", "includes_dap"],
            &[
                "partner_tenant_id",
                "invitation_id",
                "sent_by",
                "customer_tenant_id",
            ],
        ),
        gdap_access_assignments: table(
            "gdap_access_assignments",
            &["relationship_id", "group_id", "roles", "state"],
            &["state"],
            &["relationship_id", "group_id"],
        ),
        devices: table(
            "devices",
            &[
                "tenant_id",
                "device_id",
                "added_by_tenant_id",
                "added_via",
                "profile_id",
            ],
            &["profile_id"],
            &["tenant_id", "added_by_tenant_id", "profile_id"],
        ),
        autopilot_profiles: table(
            "autopilot_profiles",
            &["tenant_id", "profile_id", "name", "created_by_tenant_id"],
            &["created_by_tenant_id"],
            &["tenant_id", "profile_id", "created_by_tenant_id"],
        ),
    };
    let unknown_tenant = g.guid();
    let partners: Vec<Partner> = (0..g.rng.random_range(2..5)).map(|_| g.partner()).collect();
    let customers: Vec<Customer> = (0..g.rng.random_range(5..31))
        .map(|_| g.customer(&partners))
        .collect();
    for c in &customers {
        for p in &partners {
            if g.chance(0.7) {
                g.relationships(p, c);
            }
        }
    }
    for c in &customers {
        g.customer_assignments(c, &partners, &customers, &unknown_tenant);
    }
    for p in &partners {
        g.invitations(p, &partners, &customers);
    }
    for c in &customers {
        g.autopilot(c, &partners, &unknown_tenant);
    }
    // Across tenants: a customer's user as a guest member of a partner's
    // agent group, and another partner's group nested in one.
    if g.chance(0.3) {
        let p = g.pick(&partners).clone();
        let c = g.pick(&customers).clone();
        if let (Some(grp), Some(u)) = (p.agent_groups.first(), c.principals.first()) {
            g.member(&p.id, grp, u);
        }
    }
    if g.chance(0.2) {
        let (a, b) = (partners[0].clone(), partners[1].clone());
        if let Some(grp) = a.agent_groups.first() {
            let other = g.pick(&b.groups).clone();
            g.member(&a.id, grp, &other);
        }
    }
    // The partners' own subscriptions: their own principals, and now and
    // then another partner's.
    for p in &partners {
        if g.chance(0.3) {
            let sub = g.guid();
            let n = g.name("Internal");
            g.subscriptions.push(&[
                ("tenant_id", p.id.clone()),
                ("subscription_id", sub.clone()),
                ("name", n),
                ("provisioned_by_tenant_id", String::new()),
                ("state", "Enabled".into()),
                ("created_at", String::new()),
            ]);
            let own = g.pick(&p.users).clone();
            let home = if g.chance(0.5) {
                p.id.clone()
            } else {
                String::new()
            };
            g.assign(
                &p.id,
                format!("/subscriptions/{sub}"),
                OWNER.0.into(),
                (own, home),
            );
            if g.chance(0.3) {
                // Another partner's group on this partner's own subscription.
                let other = partners
                    .iter()
                    .find(|o| o.id != p.id)
                    .expect("two partners");
                let grp = g.pick(&other.groups).clone();
                g.assign(
                    &p.id,
                    format!("/subscriptions/{sub}/resourceGroups/rg-Shared"),
                    CONTRIBUTOR.0.into(),
                    (grp, other.id.clone()),
                );
            }
        }
    }

    // Sparse exports: an optional column empty throughout (and then, now
    // and then, left out of the file).
    for (table, column) in [
        ("role_assignments", "principal_tenant_id"),
        ("principals", "enabled"),
        ("principals", "agent_group"),
    ] {
        if g.chance(0.15) {
            let t = match table {
                "principals" => &mut g.principals,
                _ => &mut g.role_assignments,
            };
            let i = t.columns.iter().position(|c| *c == column).expect("column");
            for r in &mut t.rows {
                r[i].clear();
            }
        }
    }

    let mut perspective = "partner";
    if g.chance(0.3) {
        // Customer perspective: the partners' directories are not exported,
        // or only in part (memberships without principals, or users
        // without groups).
        perspective = "customer";
        let partner_ids: Vec<&str> = partners.iter().map(|p| p.id.as_str()).collect();
        let partner_row = |t: &Table, r: &[String]| {
            let i = t
                .columns
                .iter()
                .position(|c| *c == "tenant_id")
                .expect("tenant_id column");
            partner_ids.contains(&r[i].as_str())
        };
        let kind = g
            .principals
            .columns
            .iter()
            .position(|c| *c == "kind")
            .expect("kind column");
        let how = g.rng.random_range(0..4);
        let principals = std::mem::take(&mut g.principals.rows);
        g.principals.rows = principals
            .into_iter()
            .filter(|r| !partner_row(&g.principals, r) || (how == 3 && r[kind] != "group"))
            .collect();
        if how <= 1 {
            let memberships = std::mem::take(&mut g.memberships.rows);
            g.memberships.rows = memberships
                .into_iter()
                .filter(|r| !partner_row(&g.memberships, r))
                .collect();
        }
        if g.chance(0.3) {
            // One partner is not even in the tenants table.
            let gone = partners[0].id.clone();
            g.tenants.rows.retain(|r| r[0] != gone);
        }
    }
    Snapshot {
        perspective,
        tables: vec![
            g.tenants,
            g.principals,
            g.memberships,
            g.relationships,
            g.subscriptions,
            g.role_assignments,
            g.invitations,
            g.gdap_access_assignments,
            g.devices,
            g.autopilot_profiles,
        ],
    }
}

/// A GUID in lower, upper or mixed case.
fn guid_case(rng: &mut ChaCha8Rng, mode: u8, s: &str) -> String {
    match mode {
        0 => s.to_lowercase(),
        1 => s.to_uppercase(),
        _ => s
            .chars()
            .map(|c| {
                if rng.random_bool(0.5) {
                    c.to_ascii_uppercase()
                } else {
                    c
                }
            })
            .collect(),
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

/// Every GUID segment of a scope or role-definition path in the file's case.
fn guid_segments_case(rng: &mut ChaCha8Rng, mode: u8, s: &str) -> String {
    s.split('/')
        .map(|seg| {
            if is_guid(seg) {
                guid_case(rng, mode, seg)
            } else {
                seg.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// Writes the snapshot into `dir`, each file messy in its own way.
/// Returns the unknown columns written per table.
pub fn write(snapshot: &Snapshot, seed: u64, dir: &Path) -> BTreeMap<&'static str, Vec<String>> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x5eed_f11e);
    let mut unknown_columns = BTreeMap::new();
    fs::write(
        dir.join("manifest.json"),
        format!(
            "{{\n  \"format_version\": 1,\n  \"captured_at\": \"{CAPTURED_AT}\",\n  \"perspective\": \"{}\",\n  \"source\": \"differential test, seed {seed}\"\n}}\n",
            snapshot.perspective
        ),
    )
    .expect("write manifest.json");
    for t in &snapshot.tables {
        if t.rows.is_empty() && rng.random_bool(0.5) {
            continue; // an absent table is empty
        }
        // Columns: optional ones left out when all their cells are empty,
        // unknown ones added, the order shuffled.
        let mut cols: Vec<(String, Option<usize>)> = Vec::new();
        for (i, c) in t.columns.iter().enumerate() {
            let empty = t.rows.iter().all(|r| r[i].is_empty());
            if t.optional.contains(c) && empty && rng.random_bool(0.5) {
                continue;
            }
            let name = if rng.random_bool(0.1) {
                c.to_uppercase()
            } else {
                (*c).to_string()
            };
            cols.push((name, Some(i)));
        }
        let extra = if rng.random_bool(0.3) {
            rng.random_range(1..3)
        } else {
            0
        };
        let unknown: Vec<String> = ["notes", "Source System"]
            .iter()
            .take(extra)
            .map(|n| (*n).to_string())
            .collect();
        for name in &unknown {
            cols.push((name.clone(), None));
        }
        unknown_columns.insert(t.name, unknown);
        if rng.random_bool(0.5) {
            cols.shuffle(&mut rng);
        }
        let mode: u8 = rng.random_range(0..3);
        let crlf = rng.random_bool(0.4);
        let bom = rng.random_bool(0.3);
        let always = rng.random_bool(0.2);
        let mut w = csv::WriterBuilder::new()
            .terminator(if crlf {
                csv::Terminator::CRLF
            } else {
                csv::Terminator::Any(b'\n')
            })
            .quote_style(if always {
                csv::QuoteStyle::Always
            } else {
                csv::QuoteStyle::Necessary
            })
            .from_writer(Vec::new());
        w.write_record(cols.iter().map(|(n, _)| n.as_str()))
            .expect("header");
        for r in &t.rows {
            let mut rec = Vec::with_capacity(cols.len());
            for (_, i) in &cols {
                let cell = match i {
                    None => (*HOSTILE.choose(&mut rng).expect("hostile")).to_string(),
                    Some(i) => {
                        let v = &r[*i];
                        let col = t.columns[*i];
                        if t.guid_columns.contains(&col) {
                            guid_case(&mut rng, mode, v)
                        } else if col == "scope" || col == "role" {
                            guid_segments_case(&mut rng, mode, v)
                        } else if col == "roles" {
                            v.split(';')
                                .map(|item| {
                                    if is_guid(item.trim()) {
                                        item.replace(
                                            item.trim(),
                                            &guid_case(&mut rng, mode, item.trim()),
                                        )
                                    } else {
                                        item.to_string()
                                    }
                                })
                                .collect::<Vec<_>>()
                                .join(";")
                        } else {
                            v.clone()
                        }
                    }
                };
                rec.push(cell);
            }
            w.write_record(&rec).expect("record");
        }
        let mut bytes = if bom {
            b"\xEF\xBB\xBF".to_vec()
        } else {
            Vec::new()
        };
        bytes.extend(w.into_inner().expect("csv buffer"));
        fs::write(dir.join(format!("{}.csv", t.name)), bytes).expect("write table");
    }
    unknown_columns
}
