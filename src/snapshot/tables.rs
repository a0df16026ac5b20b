//! The table schemas of SPEC §3 and the row builders shared by the CSV and
//! JSON readers.
//!
//! A reader turns one input record into a [`Row`]: one [`Cell`] per schema
//! column, borrowed from the input where possible. The builder for the
//! table then reads typed values out of the row (recording every bad or
//! missing value, not just the first) and produces the model struct. Role
//! cells are interned into a per-file [`LocalRoles`] table; `load` maps those
//! to the snapshot's [`RoleTable`](super::roles::RoleTable) sequentially, so
//! role ids do not depend on thread scheduling.

use std::borrow::Cow;
use std::collections::HashMap;

use super::diag::{quote, Diagnostic};
use super::fields::{
    self, Invalid, BOOL_EXPECTED, DATE_EXPECTED, DURATION_EXPECTED, GUID_EXPECTED, TEXT_EXPECTED,
};
use super::model::{
    AddedVia, AgentGroup, AutopilotProfile, Device, GdapAccessAssignment, Guid, Invitation,
    IsoDuration, Loc, Membership, Principal, PrincipalKind, RelKind, RelState, Relationship,
    RoleAssignment, Scope, Subscription, Tenant, TenantKind, TABLES,
};
use super::model::{
    AppPermission, LighthouseAuthorization, LighthouseDelegation, ServicePrincipal,
};
use super::roles::RoleId;

/// A table of SPEC §3, in canonical order (the order of [`TABLES`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Table {
    Tenants,
    Relationships,
    Principals,
    Memberships,
    RoleAssignments,
    Subscriptions,
    Devices,
    AutopilotProfiles,
    Invitations,
    GdapAccessAssignments,
    // Azure Lighthouse and partner apps.
    LighthouseDelegations,
    LighthouseAuthorizations,
    ServicePrincipals,
    AppPermissions,
}

/// One schema column.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Column {
    /// Canonical (lower-case) name.
    pub name: &'static str,
    /// `*` in SPEC §3: an absent value rejects the row.
    pub required: bool,
}

/// Declares column index constants and the `COLUMNS` array of one table.
macro_rules! columns {
    ($($konst:ident = $name:literal $($req:ident)?),+ $(,)?) => {
        columns!(@index 0usize; $($konst)+);
        pub(crate) const COLUMNS: &[super::Column] = &[
            $(super::Column { name: $name, required: columns!(@req $($req)?) }),+
        ];
    };
    (@index $i:expr; $head:ident $($rest:ident)*) => {
        pub(crate) const $head: usize = $i;
        columns!(@index $i + 1usize; $($rest)*);
    };
    (@index $i:expr;) => {};
    (@req required) => { true };
    (@req) => { false };
}

/// The most columns any table has (sizes [`Row`]'s cell array).
pub(crate) const MAX_COLUMNS: usize = 10;

pub(crate) mod tenants {
    columns!(TENANT_ID = "tenant_id" required, NAME = "name" required, KIND = "kind" required, DOMAIN = "domain");
}
pub(crate) mod relationships {
    columns!(
        PARTNER_TENANT_ID = "partner_tenant_id" required,
        CUSTOMER_TENANT_ID = "customer_tenant_id" required,
        KIND = "kind" required,
        STATE = "state" required,
        STARTED_AT = "started_at",
        ENDED_AT = "ended_at",
        RELATIONSHIP_ID = "relationship_id",
        ROLES = "roles",
        AUTO_EXTEND = "auto_extend",
        LAST_ACTIVITY_AT = "last_activity_at",
    );
}
pub(crate) mod principals {
    columns!(
        TENANT_ID = "tenant_id" required,
        PRINCIPAL_ID = "principal_id" required,
        KIND = "kind" required,
        DISPLAY_NAME = "display_name" required,
        UPN = "upn",
        ENABLED = "enabled",
        AGENT_GROUP = "agent_group",
    );
}
pub(crate) mod memberships {
    columns!(TENANT_ID = "tenant_id" required, GROUP_ID = "group_id" required, MEMBER_ID = "member_id" required);
}
pub(crate) mod role_assignments {
    columns!(
        TENANT_ID = "tenant_id" required,
        SCOPE = "scope" required,
        ROLE = "role" required,
        PRINCIPAL_ID = "principal_id" required,
        PRINCIPAL_TENANT_ID = "principal_tenant_id",
        CREATED_AT = "created_at",
    );
}
pub(crate) mod subscriptions {
    columns!(
        TENANT_ID = "tenant_id" required,
        SUBSCRIPTION_ID = "subscription_id" required,
        NAME = "name" required,
        PROVISIONED_BY_TENANT_ID = "provisioned_by_tenant_id",
        STATE = "state",
        CREATED_AT = "created_at",
    );
}
pub(crate) mod devices {
    columns!(
        TENANT_ID = "tenant_id" required,
        DEVICE_ID = "device_id" required,
        ADDED_BY_TENANT_ID = "added_by_tenant_id" required,
        ADDED_VIA = "added_via" required,
        PROFILE_ID = "profile_id",
    );
}
pub(crate) mod autopilot_profiles {
    columns!(
        TENANT_ID = "tenant_id" required,
        PROFILE_ID = "profile_id" required,
        NAME = "name" required,
        CREATED_BY_TENANT_ID = "created_by_tenant_id",
    );
}
pub(crate) mod invitations {
    columns!(
        PARTNER_TENANT_ID = "partner_tenant_id" required,
        INVITATION_ID = "invitation_id" required,
        SENT_BY = "sent_by" required,
        SENT_AT = "sent_at" required,
        CUSTOMER_TENANT_ID = "customer_tenant_id",
        ACCEPTED_AT = "accepted_at",
        INCLUDES_DAP = "includes_dap",
    );
}
pub(crate) mod gdap_access_assignments {
    columns!(
        RELATIONSHIP_ID = "relationship_id" required,
        GROUP_ID = "group_id" required,
        ROLES = "roles" required,
        STATE = "state",
    );
}

mod apps;
mod lighthouse;
pub(crate) use apps::{app_permissions, service_principals};
pub(crate) use lighthouse::{lighthouse_authorizations, lighthouse_delegations};

impl Table {
    /// Every table, in canonical order.
    pub const ALL: [Table; 14] = [
        Table::Tenants,
        Table::Relationships,
        Table::Principals,
        Table::Memberships,
        Table::RoleAssignments,
        Table::Subscriptions,
        Table::Devices,
        Table::AutopilotProfiles,
        Table::Invitations,
        Table::GdapAccessAssignments,
        Table::LighthouseDelegations,
        Table::LighthouseAuthorizations,
        Table::ServicePrincipals,
        Table::AppPermissions,
    ];

    /// The table's name as in SPEC §3 and [`TABLES`].
    pub fn name(self) -> &'static str {
        TABLES[self as usize]
    }

    /// The table named `name` (trimmed, case-insensitive).
    pub fn from_name(name: &str) -> Option<Table> {
        let name = name.trim();
        Table::ALL
            .into_iter()
            .find(|t| t.name().eq_ignore_ascii_case(name))
    }

    /// The table's columns.
    pub fn columns(self) -> &'static [Column] {
        match self {
            Table::Tenants => tenants::COLUMNS,
            Table::Relationships => relationships::COLUMNS,
            Table::Principals => principals::COLUMNS,
            Table::Memberships => memberships::COLUMNS,
            Table::RoleAssignments => role_assignments::COLUMNS,
            Table::Subscriptions => subscriptions::COLUMNS,
            Table::Devices => devices::COLUMNS,
            Table::AutopilotProfiles => autopilot_profiles::COLUMNS,
            Table::Invitations => invitations::COLUMNS,
            Table::GdapAccessAssignments => gdap_access_assignments::COLUMNS,
            Table::LighthouseDelegations => lighthouse_delegations::COLUMNS,
            Table::LighthouseAuthorizations => lighthouse_authorizations::COLUMNS,
            Table::ServicePrincipals => service_principals::COLUMNS,
            Table::AppPermissions => app_permissions::COLUMNS,
        }
    }

    /// The index of the column called `name` (trimmed, case-insensitive).
    pub fn column_index(self, name: &str) -> Option<usize> {
        let name = name.trim();
        self.columns()
            .iter()
            .position(|c| c.name.eq_ignore_ascii_case(name))
    }
}

/// One input value for one schema column, as the reader found it.
#[derive(Debug, Default)]
pub(crate) enum Cell<'a> {
    /// Empty cell, JSON `null` or missing key.
    #[default]
    Absent,
    /// Trimmed, non-empty text.
    Text(Cow<'a, str>),
    /// A JSON boolean.
    Bool(bool),
    /// A JSON array (items trimmed, empty items dropped).
    List(Vec<Cow<'a, str>>),
    /// A JSON value of a type no column accepts (an object, ...): the
    /// message says which.
    Invalid(&'static str),
    /// CSV bytes that are not UTF-8.
    BadUtf8,
}

/// A cell problem, before it knows its file and line.
#[derive(Debug)]
pub(crate) struct CellError {
    /// Schema column index.
    pub column: usize,
    pub message: String,
    pub expected: Option<String>,
}

/// Distinct role texts of one file, in order of first appearance among
/// accepted rows; rows hold indices into it until `load` interns them.
#[derive(Debug, Default)]
pub(crate) struct LocalRoles {
    pub texts: Vec<Box<str>>,
    index: HashMap<Box<str>, RoleId>,
}

impl LocalRoles {
    fn get(&mut self, text: &str) -> Option<RoleId> {
        if let Some(&id) = self.index.get(text) {
            return Some(id);
        }
        let id = RoleId(u16::try_from(self.texts.len()).ok()?);
        self.texts.push(text.into());
        self.index.insert(text.into(), id);
        Some(id)
    }

    /// Forgets the roles added since `mark` (the row that added them was rejected).
    fn truncate(&mut self, mark: usize) {
        for t in self.texts.drain(mark..) {
            self.index.remove(&t);
        }
    }
}

/// One input record being turned into a model row.
pub(crate) struct Row<'a> {
    pub loc: Loc,
    table: Table,
    /// One cell per schema column; the reader fills them.
    pub cells: [Cell<'a>; MAX_COLUMNS],
    /// Problems found so far; any problem rejects the row.
    pub errors: Vec<CellError>,
}

impl<'a> Row<'a> {
    /// An empty row of `table` at `loc`; the reader fills [`Row::cells`].
    pub fn new(table: Table, loc: Loc) -> Self {
        Row {
            loc,
            table,
            cells: Default::default(),
            errors: Vec::new(),
        }
    }

    /// Records a problem with column `i`.
    pub fn error(&mut self, i: usize, message: impl Into<String>, expected: Option<String>) {
        self.errors.push(CellError {
            column: i,
            message: message.into(),
            expected,
        });
    }

    fn fail(&mut self, column: usize, e: Invalid) {
        self.errors.push(CellError {
            column,
            message: e.message,
            expected: Some(e.expected),
        });
    }

    fn missing(&mut self, i: usize, expected: &str) {
        if self.table.columns()[i].required {
            self.error(i, "missing required value", Some(expected.into()));
        }
    }

    /// The cell as a single text value; records an error and returns `None`
    /// when it is absent-but-required or not text.
    fn text_cell(&mut self, i: usize, expected: &str) -> Option<Cow<'a, str>> {
        let (message, expected) = match std::mem::take(&mut self.cells[i]) {
            Cell::Text(t) => return Some(t),
            Cell::Absent => {
                self.missing(i, expected);
                return None;
            }
            Cell::Bool(_) => ("invalid value: found a JSON boolean", expected),
            Cell::List(_) => ("invalid value: found a JSON array", expected),
            Cell::Invalid(why) => (why, expected),
            Cell::BadUtf8 => ("invalid UTF-8", "UTF-8 text"),
        };
        self.errors.push(CellError {
            column: i,
            message: message.into(),
            expected: Some(expected.into()),
        });
        None
    }

    /// Parses the text cell `i` with `parse`.
    fn parsed<T>(
        &mut self,
        i: usize,
        expected: &str,
        parse: impl FnOnce(&str) -> Result<T, Invalid>,
    ) -> Option<T> {
        let t = self.text_cell(i, expected)?;
        match parse(&t) {
            Ok(v) => Some(v),
            Err(e) => {
                self.fail(i, e);
                None
            }
        }
    }

    /// Free text.
    pub fn text(&mut self, i: usize) -> Option<Box<str>> {
        self.text_cell(i, TEXT_EXPECTED).map(|t| t.into())
    }

    /// Free text, lower-cased (identifiers compared case-insensitively).
    pub fn text_lower(&mut self, i: usize) -> Option<Box<str>> {
        self.text_cell(i, TEXT_EXPECTED)
            .map(|t| t.to_lowercase().into_boxed_str())
    }

    /// An identifier that is often, not always, a GUID (an invitation or
    /// Autopilot profile id): a GUID is written lower-case (SPEC §3), so the
    /// same export in another case gives the same findings; anything else is
    /// kept as written.
    pub fn id_text(&mut self, i: usize) -> Option<Box<str>> {
        self.text_cell(i, TEXT_EXPECTED)
            .map(|t| match Guid::parse(&t) {
                Some(g) => g.to_string().into_boxed_str(),
                None => t.into(),
            })
    }

    /// A GUID.
    pub fn guid(&mut self, i: usize) -> Option<Guid> {
        self.parsed(i, GUID_EXPECTED, fields::guid)
    }

    /// A date or date-time.
    pub fn timestamp(&mut self, i: usize) -> Option<jiff::Timestamp> {
        self.parsed(i, DATE_EXPECTED, fields::timestamp)
    }

    /// An ISO 8601 duration.
    pub fn duration(&mut self, i: usize) -> Option<IsoDuration> {
        self.parsed(i, DURATION_EXPECTED, fields::duration)
    }

    /// A value of a closed vocabulary.
    pub fn vocab<T>(&mut self, i: usize, parse: fn(&str) -> Option<T>, all: &[&str]) -> Option<T> {
        // Fast paths without building the message's list of values.
        match &self.cells[i] {
            Cell::Text(t) => {
                if let Some(v) = parse(t) {
                    return Some(v);
                }
            }
            Cell::Absent if !self.table.columns()[i].required => return None,
            _ => {}
        }
        let expected = fields::expected_one_of(all);
        self.parsed(i, &expected, |s| fields::vocab(s, parse, all))
    }

    /// A role-assignment scope.
    pub fn scope(&mut self, i: usize) -> Option<Scope> {
        self.parsed(i, "a scope such as / or /subscriptions/ID", |s| {
            Ok(fields::scope(s))
        })
    }

    /// A boolean: JSON bool or one of the accepted spellings.
    pub fn boolean(&mut self, i: usize) -> Option<bool> {
        if let Cell::Bool(b) = self.cells[i] {
            return Some(b);
        }
        self.parsed(i, BOOL_EXPECTED, fields::boolean)
    }

    /// One role (name, alias, template GUID or role-definition path).
    pub fn role(&mut self, i: usize, roles: &mut LocalRoles) -> Option<RoleId> {
        let t = self.text_cell(i, "a role name or role-definition GUID")?;
        self.intern(i, &t, roles)
    }

    /// A list of roles: a JSON array or a `;`-separated cell. An empty list
    /// is absent.
    pub fn roles(&mut self, i: usize, roles: &mut LocalRoles) -> Option<Vec<RoleId>> {
        const EXPECTED: &str = "role names or GUIDs separated by `;` (JSON: an array of strings)";
        let mut ids = Vec::new();
        match std::mem::take(&mut self.cells[i]) {
            Cell::List(items) => {
                for item in &items {
                    ids.push(self.intern(i, item, roles)?);
                }
            }
            Cell::Text(text) => {
                for item in fields::list(&text) {
                    ids.push(self.intern(i, item, roles)?);
                }
            }
            other => {
                self.cells[i] = other;
                self.text_cell(i, EXPECTED)?;
            }
        }
        if ids.is_empty() {
            self.missing(i, EXPECTED);
            return None;
        }
        Some(ids)
    }

    fn intern(&mut self, i: usize, text: &str, roles: &mut LocalRoles) -> Option<RoleId> {
        let id = roles.get(text);
        if id.is_none() {
            self.errors.push(CellError {
                column: i,
                message: format!("too many distinct roles in one file at {}", quote(text)),
                expected: Some(format!("at most {} distinct role cells", u16::MAX)),
            });
        }
        id
    }

    /// True when no value was rejected.
    pub fn is_ok(&self) -> bool {
        self.errors.is_empty()
    }
}

/// Rows of every table, as produced from one file (or merged into a snapshot).
#[derive(Debug, Default)]
pub(crate) struct Rows {
    pub tenants: Vec<Tenant>,
    pub relationships: Vec<Relationship>,
    pub principals: Vec<Principal>,
    pub memberships: Vec<Membership>,
    pub role_assignments: Vec<RoleAssignment>,
    pub subscriptions: Vec<Subscription>,
    pub devices: Vec<Device>,
    pub autopilot_profiles: Vec<AutopilotProfile>,
    pub invitations: Vec<Invitation>,
    pub gdap_access_assignments: Vec<GdapAccessAssignment>,
    pub lighthouse_delegations: Vec<LighthouseDelegation>,
    pub lighthouse_authorizations: Vec<LighthouseAuthorization>,
    pub service_principals: Vec<ServicePrincipal>,
    pub app_permissions: Vec<AppPermission>,
}

/// Evaluates `$body` with `$v` bound to the row vector of `$table` in
/// `$rows` (`&self` or `&mut self`).
macro_rules! per_table {
    ($table:expr, |$v:ident| $body:expr, $($rows:tt)+) => {
        match $table {
            Table::Tenants => {
                let $v = $($rows)+.tenants;
                $body
            }
            Table::Relationships => {
                let $v = $($rows)+.relationships;
                $body
            }
            Table::Principals => {
                let $v = $($rows)+.principals;
                $body
            }
            Table::Memberships => {
                let $v = $($rows)+.memberships;
                $body
            }
            Table::RoleAssignments => {
                let $v = $($rows)+.role_assignments;
                $body
            }
            Table::Subscriptions => {
                let $v = $($rows)+.subscriptions;
                $body
            }
            Table::Devices => {
                let $v = $($rows)+.devices;
                $body
            }
            Table::AutopilotProfiles => {
                let $v = $($rows)+.autopilot_profiles;
                $body
            }
            Table::Invitations => {
                let $v = $($rows)+.invitations;
                $body
            }
            Table::GdapAccessAssignments => {
                let $v = $($rows)+.gdap_access_assignments;
                $body
            }
            Table::LighthouseDelegations => {
                let $v = $($rows)+.lighthouse_delegations;
                $body
            }
            Table::LighthouseAuthorizations => {
                let $v = $($rows)+.lighthouse_authorizations;
                $body
            }
            Table::ServicePrincipals => {
                let $v = $($rows)+.service_principals;
                $body
            }
            Table::AppPermissions => {
                let $v = $($rows)+.app_permissions;
                $body
            }
        }
    };
}

impl Rows {
    /// Replaces file-local role ids by the ids `map` gives them. A row
    /// holding a role `map` cannot place (the role table is full) is removed
    /// and its location returned.
    pub fn remap_roles(&mut self, map: &[Option<RoleId>]) -> Vec<Loc> {
        let mut lost = Vec::new();
        remap(&mut self.relationships, map, &mut lost);
        remap(&mut self.role_assignments, map, &mut lost);
        remap(&mut self.gdap_access_assignments, map, &mut lost);
        remap(&mut self.lighthouse_authorizations, map, &mut lost);
        remap(&mut self.app_permissions, map, &mut lost);
        lost
    }

    /// Rows of `table` held.
    pub fn len(&self, table: Table) -> usize {
        per_table!(table, |v| v.len(), &self)
    }

    /// Rows of `table` that fit without growing.
    pub fn spare(&self, table: Table) -> usize {
        per_table!(table, |v| v.capacity() - v.len(), &self)
    }

    /// Makes room for exactly `additional` more rows of `table`.
    pub fn reserve_exact(&mut self, table: Table, additional: usize) {
        per_table!(table, |v| v.reserve_exact(additional), &mut self);
    }

    /// Gives back unused capacity (of every table).
    pub fn shrink_to_fit(&mut self) {
        for t in Table::ALL {
            per_table!(t, |v| v.shrink_to_fit(), &mut self);
        }
    }

    /// Adds `delta` to the line of every row.
    pub fn shift_lines(&mut self, delta: u32) {
        macro_rules! shift {
            ($($rows:ident),+) => {
                $(for r in &mut self.$rows {
                    r.loc.line = r.loc.line.saturating_add(delta);
                })+
            };
        }
        shift!(
            tenants,
            relationships,
            principals,
            memberships,
            role_assignments,
            subscriptions,
            devices,
            autopilot_profiles,
            invitations,
            gdap_access_assignments,
            lighthouse_delegations,
            lighthouse_authorizations,
            service_principals,
            app_permissions
        );
    }

    /// Moves every row of `other` to the end of `self`, leaving `other`
    /// empty but with its room (so that it can be filled again).
    pub fn append(&mut self, other: &mut Rows) {
        fn take<T>(dst: &mut Vec<T>, src: &mut Vec<T>) {
            if dst.is_empty() && dst.capacity() < src.len() {
                std::mem::swap(dst, src);
            } else {
                dst.append(src);
            }
        }
        take(&mut self.tenants, &mut other.tenants);
        take(&mut self.relationships, &mut other.relationships);
        take(&mut self.principals, &mut other.principals);
        take(&mut self.memberships, &mut other.memberships);
        take(&mut self.role_assignments, &mut other.role_assignments);
        take(&mut self.subscriptions, &mut other.subscriptions);
        take(&mut self.devices, &mut other.devices);
        take(&mut self.autopilot_profiles, &mut other.autopilot_profiles);
        take(&mut self.invitations, &mut other.invitations);
        take(
            &mut self.gdap_access_assignments,
            &mut other.gdap_access_assignments,
        );
        take(
            &mut self.lighthouse_delegations,
            &mut other.lighthouse_delegations,
        );
        take(
            &mut self.lighthouse_authorizations,
            &mut other.lighthouse_authorizations,
        );
        take(&mut self.service_principals, &mut other.service_principals);
        take(&mut self.app_permissions, &mut other.app_permissions);
    }
}

/// Appends `src` to `dst`, moving instead of copying when `dst` is empty
/// (the usual case: one file per table).
pub(crate) fn append_vec<T>(dst: &mut Vec<T>, mut src: Vec<T>) {
    if dst.is_empty() {
        *dst = src;
    } else {
        dst.append(&mut src);
    }
}

fn remap<T: HasRoles>(rows: &mut Vec<T>, map: &[Option<RoleId>], lost: &mut Vec<Loc>) {
    rows.retain_mut(|row| {
        let ok = row.roles_mut().iter_mut().all(|r| {
            match map.get(usize::from(r.0)).copied().flatten() {
                Some(mapped) => {
                    *r = mapped;
                    true
                }
                None => false,
            }
        });
        if !ok {
            lost.push(row.loc());
        }
        ok
    });
}

/// The error for a row whose role could not be interned (role table full).
pub(crate) fn too_many_roles(file: &str, loc: Loc) -> Diagnostic {
    Diagnostic::error(file, "too many distinct roles, row rejected")
        .at_line(loc.line)
        .with_expected(format!(
            "at most {} distinct roles",
            u32::from(u16::MAX) + 1
        ))
}

/// Builds the model row of `table` from `row` and keeps it in `out` when
/// every value was valid. Returns whether the row was accepted.
fn build(table: Table, row: &mut Row<'_>, roles: &mut LocalRoles, out: &mut Rows) -> bool {
    fn keep<T>(row: &Row<'_>, v: &mut Vec<T>, built: Option<T>) -> bool {
        match built {
            Some(x) if row.is_ok() => {
                v.push(x);
                true
            }
            _ => false,
        }
    }
    macro_rules! build {
        ($rows:ident, $built:expr) => {{
            let built = $built;
            keep(row, &mut out.$rows, built)
        }};
    }
    match table {
        Table::Tenants => build!(tenants, tenant(row)),
        Table::Relationships => build!(relationships, relationship(row, roles)),
        Table::Principals => build!(principals, principal(row)),
        Table::Memberships => build!(memberships, membership(row)),
        Table::RoleAssignments => build!(role_assignments, role_assignment(row, roles)),
        Table::Subscriptions => build!(subscriptions, subscription(row)),
        Table::Devices => build!(devices, device(row)),
        Table::AutopilotProfiles => build!(autopilot_profiles, autopilot_profile(row)),
        Table::Invitations => build!(invitations, invitation(row)),
        Table::GdapAccessAssignments => {
            build!(gdap_access_assignments, gdap_access_assignment(row, roles))
        }
        Table::LighthouseDelegations => {
            build!(lighthouse_delegations, lighthouse::delegation(row))
        }
        Table::LighthouseAuthorizations => {
            build!(
                lighthouse_authorizations,
                lighthouse::authorization(row, roles)
            )
        }
        Table::ServicePrincipals => build!(service_principals, apps::service_principal(row)),
        Table::AppPermissions => build!(app_permissions, apps::app_permission(row, roles)),
    }
}

// Each builder reads every column first (so that every bad value is
// reported), then assembles the row; `?` only short-cuts the assembly.

fn tenant(r: &mut Row<'_>) -> Option<Tenant> {
    use tenants::*;
    let tenant_id = r.guid(TENANT_ID);
    let name = r.text(NAME);
    let kind = r.vocab(KIND, TenantKind::parse, TenantKind::ALL);
    let domain = r.text(DOMAIN);
    Some(Tenant {
        loc: r.loc,
        tenant_id: tenant_id?,
        name: name?,
        kind: kind?,
        domain,
    })
}

fn relationship(r: &mut Row<'_>, roles: &mut LocalRoles) -> Option<Relationship> {
    use relationships::*;
    let partner_tenant_id = r.guid(PARTNER_TENANT_ID);
    let customer_tenant_id = r.guid(CUSTOMER_TENANT_ID);
    let kind = r.vocab(KIND, RelKind::parse, RelKind::ALL);
    let state = r.vocab(STATE, RelState::parse, RelState::ALL);
    let started_at = r.timestamp(STARTED_AT);
    let ended_at = r.timestamp(ENDED_AT);
    let relationship_id = r.text_lower(RELATIONSHIP_ID);
    let roles = r.roles(ROLES, roles);
    let auto_extend = r.duration(AUTO_EXTEND);
    let last_activity_at = r.timestamp(LAST_ACTIVITY_AT);
    Some(Relationship {
        loc: r.loc,
        partner_tenant_id: partner_tenant_id?,
        customer_tenant_id: customer_tenant_id?,
        kind: kind?,
        state: state?,
        started_at,
        ended_at,
        relationship_id,
        roles: roles.unwrap_or_default(),
        auto_extend,
        last_activity_at,
    })
}

fn principal(r: &mut Row<'_>) -> Option<Principal> {
    use principals::*;
    let tenant_id = r.guid(TENANT_ID);
    let principal_id = r.guid(PRINCIPAL_ID);
    let kind = r.vocab(KIND, PrincipalKind::parse, PrincipalKind::ALL);
    let display_name = r.text(DISPLAY_NAME);
    let upn = r.text(UPN);
    let enabled = r.boolean(ENABLED);
    let agent_group = r.vocab(AGENT_GROUP, AgentGroup::parse, AgentGroup::ALL);
    let (kind, display_name) = (kind?, display_name?);
    let agent_group = agent_group.or_else(|| {
        (kind == PrincipalKind::Group)
            .then(|| AgentGroup::from_group_name(&display_name))
            .flatten()
    });
    Some(Principal {
        loc: r.loc,
        tenant_id: tenant_id?,
        principal_id: principal_id?,
        kind,
        display_name,
        upn,
        enabled,
        agent_group,
    })
}

fn membership(r: &mut Row<'_>) -> Option<Membership> {
    use memberships::*;
    let tenant_id = r.guid(TENANT_ID);
    let group_id = r.guid(GROUP_ID);
    let member_id = r.guid(MEMBER_ID);
    Some(Membership {
        loc: r.loc,
        tenant_id: tenant_id?,
        group_id: group_id?,
        member_id: member_id?,
    })
}

fn role_assignment(r: &mut Row<'_>, roles: &mut LocalRoles) -> Option<RoleAssignment> {
    use role_assignments::*;
    let tenant_id = r.guid(TENANT_ID);
    let scope = r.scope(SCOPE);
    let role = r.role(ROLE, roles);
    let principal_id = r.guid(PRINCIPAL_ID);
    let principal_tenant_id = r.guid(PRINCIPAL_TENANT_ID);
    let created_at = r.timestamp(CREATED_AT);
    Some(RoleAssignment {
        loc: r.loc,
        tenant_id: tenant_id?,
        scope: scope?,
        role: role?,
        principal_id: principal_id?,
        principal_tenant_id,
        created_at,
    })
}

fn subscription(r: &mut Row<'_>) -> Option<Subscription> {
    use subscriptions::*;
    let tenant_id = r.guid(TENANT_ID);
    let subscription_id = r.guid(SUBSCRIPTION_ID);
    let name = r.text(NAME);
    let provisioned_by_tenant_id = r.guid(PROVISIONED_BY_TENANT_ID);
    let state = r.text(STATE);
    let created_at = r.timestamp(CREATED_AT);
    Some(Subscription {
        loc: r.loc,
        tenant_id: tenant_id?,
        subscription_id: subscription_id?,
        name: name?,
        provisioned_by_tenant_id,
        state,
        created_at,
    })
}

fn device(r: &mut Row<'_>) -> Option<Device> {
    use devices::*;
    let tenant_id = r.guid(TENANT_ID);
    let device_id = r.text(DEVICE_ID);
    let added_by_tenant_id = r.guid(ADDED_BY_TENANT_ID);
    let added_via = r.vocab(ADDED_VIA, AddedVia::parse, AddedVia::ALL);
    let profile_id = r.id_text(PROFILE_ID);
    Some(Device {
        loc: r.loc,
        tenant_id: tenant_id?,
        device_id: device_id?,
        added_by_tenant_id: added_by_tenant_id?,
        added_via: added_via?,
        profile_id,
    })
}

fn autopilot_profile(r: &mut Row<'_>) -> Option<AutopilotProfile> {
    use autopilot_profiles::*;
    let tenant_id = r.guid(TENANT_ID);
    let profile_id = r.id_text(PROFILE_ID);
    let name = r.text(NAME);
    let created_by_tenant_id = r.guid(CREATED_BY_TENANT_ID);
    Some(AutopilotProfile {
        loc: r.loc,
        tenant_id: tenant_id?,
        profile_id: profile_id?,
        name: name?,
        created_by_tenant_id,
    })
}

fn invitation(r: &mut Row<'_>) -> Option<Invitation> {
    use invitations::*;
    let partner_tenant_id = r.guid(PARTNER_TENANT_ID);
    let invitation_id = r.id_text(INVITATION_ID);
    let sent_by = r.guid(SENT_BY);
    let sent_at = r.timestamp(SENT_AT);
    let customer_tenant_id = r.guid(CUSTOMER_TENANT_ID);
    let accepted_at = r.timestamp(ACCEPTED_AT);
    let includes_dap = r.boolean(INCLUDES_DAP);
    Some(Invitation {
        loc: r.loc,
        partner_tenant_id: partner_tenant_id?,
        invitation_id: invitation_id?,
        sent_by: sent_by?,
        sent_at: sent_at?,
        customer_tenant_id,
        accepted_at,
        includes_dap,
    })
}

fn gdap_access_assignment(r: &mut Row<'_>, roles: &mut LocalRoles) -> Option<GdapAccessAssignment> {
    use gdap_access_assignments::*;
    let relationship_id = r.text_lower(RELATIONSHIP_ID);
    let group_id = r.guid(GROUP_ID);
    let roles = r.roles(ROLES, roles);
    let state = r.text(STATE);
    Some(GdapAccessAssignment {
        loc: r.loc,
        relationship_id: relationship_id?,
        group_id: group_id?,
        roles: roles?,
        state,
    })
}

/// A row that holds [`RoleId`]s, for mapping file-local ids to snapshot ids.
pub(crate) trait HasRoles {
    /// Where the row came from.
    fn loc(&self) -> Loc;
    /// The row's role ids.
    fn roles_mut(&mut self) -> &mut [RoleId];
}

impl HasRoles for Relationship {
    fn loc(&self) -> Loc {
        self.loc
    }
    fn roles_mut(&mut self) -> &mut [RoleId] {
        &mut self.roles
    }
}

impl HasRoles for RoleAssignment {
    fn loc(&self) -> Loc {
        self.loc
    }
    fn roles_mut(&mut self) -> &mut [RoleId] {
        std::slice::from_mut(&mut self.role)
    }
}

impl HasRoles for LighthouseAuthorization {
    fn loc(&self) -> Loc {
        self.loc
    }
    fn roles_mut(&mut self) -> &mut [RoleId] {
        &mut self.roles
    }
}

impl HasRoles for AppPermission {
    fn loc(&self) -> Loc {
        self.loc
    }
    fn roles_mut(&mut self) -> &mut [RoleId] {
        std::slice::from_mut(&mut self.role)
    }
}

impl HasRoles for GdapAccessAssignment {
    fn loc(&self) -> Loc {
        self.loc
    }
    fn roles_mut(&mut self) -> &mut [RoleId] {
        &mut self.roles
    }
}

/// The rows, accounting and diagnostics one input file (or, for a
/// single-file snapshot, one table of it) contributes.
#[derive(Debug)]
pub(crate) struct Part {
    pub table: Table,
    pub rows: Rows,
    /// Role texts the rows' [`RoleId`]s index.
    pub roles: LocalRoles,
    /// Rows read / used / rejected and unknown columns (`files` is left to `load`).
    pub account: super::model::TableAccount,
    pub diagnostics: Vec<Diagnostic>,
    /// The 1-based CSV column of each schema column (a CSV file's header),
    /// for diagnostics raised after parsing; `None` for JSON.
    pub columns: Option<[Option<u32>; MAX_COLUMNS]>,
}

impl Part {
    /// An empty part of `table`.
    pub fn new(table: Table) -> Self {
        Part {
            table,
            rows: Rows::default(),
            roles: LocalRoles::default(),
            account: super::model::TableAccount::default(),
            diagnostics: Vec::new(),
            columns: None,
        }
    }

    /// Builds one row and accounts for it; a rejected row's problems become
    /// diagnostics at `file`, with the 1-based column of a schema column
    /// from `column_of` (CSV) or none (JSON).
    pub fn finish_row(
        &mut self,
        mut row: Row<'_>,
        file: &str,
        column_of: impl Fn(usize) -> Option<u32>,
    ) {
        self.account.rows_read += 1;
        let mark = self.roles.texts.len();
        if build(self.table, &mut row, &mut self.roles, &mut self.rows) {
            self.account.rows_used += 1;
            return;
        }
        // The row's roles must not be interned: forget the ones it added.
        self.roles.truncate(mark);
        self.account.rows_rejected += 1;
        let columns = self.table.columns();
        self.diagnostics.extend(row.errors.into_iter().map(|e| {
            let mut d = Diagnostic::error(file, e.message)
                .at_line(row.loc.line)
                .with_field(columns[e.column].name);
            d.column = column_of(e.column);
            d.expected = e.expected;
            d
        }));
    }

    /// Appends `other`, a later part of the same file and table: its
    /// file-local role ids are re-interned into `self`'s in order, so the
    /// result is what one sequential pass would have produced. Gives back
    /// `other`'s row vectors, emptied, for reuse.
    pub fn absorb(&mut self, other: Part, file: &str) -> Rows {
        let Part {
            mut rows,
            roles,
            account,
            mut diagnostics,
            ..
        } = other;
        let map: Vec<Option<RoleId>> = roles.texts.iter().map(|t| self.roles.get(t)).collect();
        let lost = rows.remap_roles(&map);
        self.account.rows_read += account.rows_read;
        self.account.rows_used += account.rows_used - lost.len() as u64;
        self.account.rows_rejected += account.rows_rejected + lost.len() as u64;
        self.account.rows_skipped += account.rows_skipped;
        for (column, n) in account.unknown_columns {
            *self.account.unknown_columns.entry(column).or_default() += n;
        }
        self.diagnostics
            .extend(lost.into_iter().map(|loc| too_many_roles(file, loc)));
        self.diagnostics.append(&mut diagnostics);
        self.rows.append(&mut rows);
        rows
    }

    /// Adds `delta` to the line of every row and diagnostic (a part of a
    /// file parsed with lines counted from somewhere after its start).
    pub fn shift_lines(&mut self, delta: u32) {
        if delta == 0 {
            return;
        }
        self.rows.shift_lines(delta);
        for d in &mut self.diagnostics {
            d.line = d.line.map(|l| l.saturating_add(delta));
        }
    }

    /// Accounts for a row rejected before it could be built (wrong field
    /// count, not a JSON object, ...).
    pub fn reject_row(&mut self, diagnostic: Diagnostic) {
        self.account.rows_read += 1;
        self.account.rows_rejected += 1;
        self.diagnostics.push(diagnostic);
    }

    /// Accounts for `n` blank rows, read and set aside.
    pub fn skip_rows(&mut self, n: u64) {
        self.account.rows_read += n;
        self.account.rows_skipped += n;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_match_the_model_list_and_fit_a_row() {
        let names: Vec<_> = Table::ALL.iter().map(|t| t.name()).collect();
        assert_eq!(names, TABLES);
        for t in Table::ALL {
            assert_eq!(Table::from_name(&t.name().to_uppercase()), Some(t));
            assert!(t.columns().len() <= MAX_COLUMNS, "{}", t.name());
        }
        assert_eq!(relationships::COLUMNS[relationships::ROLES].name, "roles");
        assert!(!relationships::COLUMNS[relationships::ROLES].required);
        assert!(gdap_access_assignments::COLUMNS[gdap_access_assignments::ROLES].required);
        assert_eq!(
            Table::Principals.column_index(" Display_Name "),
            Some(principals::DISPLAY_NAME)
        );
    }

    fn role_row(part: &mut Part, line: u32, role: &str) {
        let mut row = Row::new(Table::RoleAssignments, Loc { file: 0, line });
        row.cells[role_assignments::TENANT_ID] =
            Cell::Text("00000000-0000-0000-0000-000000000001".into());
        row.cells[role_assignments::SCOPE] = Cell::Text("/".into());
        row.cells[role_assignments::ROLE] = Cell::Text(role.into());
        row.cells[role_assignments::PRINCIPAL_ID] = Cell::Text(
            if line == 0 {
                "bad"
            } else {
                "00000000-0000-0000-0000-0000000000a1"
            }
            .into(),
        );
        part.finish_row(row, "f", |_| None);
    }

    #[test]
    fn absorbing_parts_equals_one_sequential_pass() {
        let roles = ["X", "Y", "Z", "X", "W", "Y"];
        let mut whole = Part::new(Table::RoleAssignments);
        for (i, r) in roles.iter().enumerate() {
            role_row(&mut whole, u32::try_from(i + 1).expect("line"), r);
        }
        let mut first = Part::new(Table::RoleAssignments);
        let mut second = Part::new(Table::RoleAssignments);
        for (i, r) in roles.iter().enumerate() {
            let target = if i < 3 { &mut first } else { &mut second };
            role_row(target, u32::try_from(i + 1).expect("line"), r);
        }
        first.absorb(second, "f");
        assert_eq!(first.roles.texts, whole.roles.texts);
        let ids = |p: &Part| {
            p.rows
                .role_assignments
                .iter()
                .map(|r| r.role)
                .collect::<Vec<_>>()
        };
        assert_eq!(ids(&first), ids(&whole));
        assert_eq!(first.account, whole.account);
    }

    #[test]
    fn a_rejected_row_leaves_no_role_behind() {
        let mut part = Part::new(Table::RoleAssignments);
        role_row(&mut part, 1, "Kept");
        role_row(&mut part, 0, "Dropped");
        assert_eq!(part.roles.texts, ["Kept".into()]);
        assert_eq!(part.account.rows_rejected, 1);
        assert_eq!(part.diagnostics[0].field.as_deref(), Some("principal_id"));
    }
}
