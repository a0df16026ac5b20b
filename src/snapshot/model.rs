//! The canonical, validated snapshot model (SPEC §3).
//!
//! Everything downstream (graph, engine, reports) sees only these types: every
//! identifier is already normalised (GUIDs as 128-bit values, roles interned in
//! a [`RoleTable`], enums parsed, dates as UTC timestamps). Rows keep a
//! [`Loc`] pointing back at the file and line they came from so that evidence
//! can cite its source.

use std::fmt;

use jiff::Timestamp;
use serde::Serialize;

use super::roles::{RoleId, RoleTable};

/// A GUID held as 128 bits; compares case-insensitively by construction and
/// prints lower-case hyphenated.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Guid(pub [u64; 2]);

impl Guid {
    /// From the 128-bit value (held as two `u64`s: 8-byte alignment keeps
    /// `Option<Guid>` and the rows that hold GUIDs compact).
    pub const fn from_u128(v: u128) -> Guid {
        Guid([(v >> 64) as u64, v as u64])
    }

    /// The 128-bit value.
    pub const fn as_u128(self) -> u128 {
        ((self.0[0] as u128) << 64) | self.0[1] as u128
    }

    /// Parses `8-4-4-4-12` hex (any case), optionally wrapped in braces.
    pub fn parse(s: &str) -> Option<Guid> {
        let s = s.trim();
        let s = s
            .strip_prefix('{')
            .and_then(|s| s.strip_suffix('}'))
            .unwrap_or(s);
        let b = s.as_bytes();
        if b.len() != 36 {
            return None;
        }
        let mut v: u128 = 0;
        for (i, &c) in b.iter().enumerate() {
            if matches!(i, 8 | 13 | 18 | 23) {
                if c != b'-' {
                    return None;
                }
                continue;
            }
            let d = (c as char).to_digit(16)?;
            v = (v << 4) | u128::from(d);
        }
        Some(Guid::from_u128(v))
    }
}

impl Guid {
    /// The lower-case hyphenated form, without allocating.
    pub fn encode(self) -> [u8; 36] {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut out = [b'-'; 36];
        let mut v = self.as_u128();
        let mut i = 36;
        while i > 0 {
            i -= 1;
            if matches!(i, 8 | 13 | 18 | 23) {
                continue;
            }
            out[i] = HEX[(v & 0xf) as usize];
            v >>= 4;
        }
        out
    }
}

impl fmt::Display for Guid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let buf = self.encode();
        // The buffer holds only ASCII hex digits and hyphens.
        f.write_str(std::str::from_utf8(&buf).map_err(|_| fmt::Error)?)
    }
}

impl fmt::Debug for Guid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl Serialize for Guid {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let buf = self.encode();
        // The buffer holds only ASCII hex digits and hyphens.
        s.serialize_str(std::str::from_utf8(&buf).map_err(serde::ser::Error::custom)?)
    }
}

impl<'de> serde::Deserialize<'de> for Guid {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Guid, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Guid::parse(&s).ok_or_else(|| serde::de::Error::custom(format!("`{s}` is not a GUID")))
    }
}

/// Where a row came from: an index into [`Snapshot::files`] and a 1-based line
/// (the record's first line for CSV, the line of the object for JSON).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Loc {
    pub file: u16,
    pub line: u32,
}

/// Declares a closed vocabulary: parsing is case-insensitive over the canonical
/// spellings; `as_str` gives the canonical spelling back.
macro_rules! vocabulary {
    ($(#[$m:meta])* $name:ident { $($variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name { $($variant),+ }
        impl $name {
            /// Every canonical spelling, in declaration order.
            pub const ALL: &'static [&'static str] = &[$($text),+];
            /// Case-insensitive parse of a canonical spelling.
            pub fn parse(s: &str) -> Option<Self> {
                let s = s.trim();
                $(if s.eq_ignore_ascii_case($text) { return Some(Self::$variant); })+
                None
            }
            /// The canonical spelling.
            pub fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $text),+ }
            }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result { f.write_str(self.as_str()) }
        }
        impl Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }
    };
}

vocabulary!(
    /// `tenants.kind`.
    TenantKind { Partner = "partner", Customer = "customer" }
);
vocabulary!(
    /// `relationships.kind`.
    RelKind { Reseller = "reseller", Dap = "dap", Gdap = "gdap" }
);
vocabulary!(
    /// `relationships.state`.
    RelState { Pending = "pending", Active = "active", Removed = "removed", Expired = "expired", Terminated = "terminated" }
);
vocabulary!(
    /// `principals.kind`.
    PrincipalKind { User = "user", Group = "group", ServicePrincipal = "service_principal" }
);
vocabulary!(
    /// `principals.agent_group`: the partner-tenant groups that DAP and partner roles hang on.
    AgentGroup { AdminAgents = "admin_agents", HelpdeskAgents = "helpdesk_agents", SalesAgents = "sales_agents" }
);
vocabulary!(
    /// `devices.added_via`.
    AddedVia {
        PartnerCenter = "partner_center",
        StoreForBusiness = "store_for_business",
        StoreForEducation = "store_for_education",
        Intune = "intune",
        Oem = "oem",
        Unknown = "unknown",
    }
);
vocabulary!(
    /// `cross_tenant_access.b2b_*_inbound`: allowed for all users and
    /// applications, for some only, or blocked for all.
    InboundAccess { Allowed = "allowed", Limited = "limited", Blocked = "blocked" }
);
vocabulary!(
    /// `lighthouse_authorizations.access`: a standing authorization, or a
    /// just-in-time one the principal must activate.
    LighthouseAccess { Standing = "standing", Eligible = "eligible" }
);
vocabulary!(
    /// `app_permissions.kind`: an app-role assignment (application
    /// permission) or an OAuth2 permission grant (delegated permission).
    PermissionKind { Application = "application", Delegated = "delegated" }
);
vocabulary!(
    /// `app_permissions.consent_type` (Graph `AllPrincipals` / `Principal`).
    ConsentType { AllPrincipals = "all_principals", Principal = "principal" }
);
vocabulary!(
    /// `manifest.perspective`.
    Perspective { Partner = "partner", Customer = "customer" }
);

impl AgentGroup {
    /// The conventional group display name (`AdminAgents`, ...).
    pub fn group_name(self) -> &'static str {
        match self {
            AgentGroup::AdminAgents => "AdminAgents",
            AgentGroup::HelpdeskAgents => "HelpdeskAgents",
            AgentGroup::SalesAgents => "SalesAgents",
        }
    }
    /// Recognises a group by its exact conventional name.
    pub fn from_group_name(name: &str) -> Option<AgentGroup> {
        [
            AgentGroup::AdminAgents,
            AgentGroup::HelpdeskAgents,
            AgentGroup::SalesAgents,
        ]
        .into_iter()
        .find(|g| g.group_name() == name)
    }
}

/// An ISO 8601 duration, kept as written (`P730D`) together with its parsed span.
#[derive(Clone, Debug)]
pub struct IsoDuration {
    pub text: Box<str>,
    pub span: jiff::Span,
}

// `jiff::Span` has no `PartialEq` (spans compare field by field only on request).
impl PartialEq for IsoDuration {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text && self.span.fieldwise() == other.span.fieldwise()
    }
}

/// `manifest.json`.
#[derive(Clone, Debug, Default)]
pub struct Manifest {
    pub format_version: u32,
    pub captured_at: Option<Timestamp>,
    pub perspective: Option<Perspective>,
    pub source: Option<String>,
    /// Tenants whose data is known to be incomplete (`incomplete`), sorted by
    /// tenant id, one entry per tenant: findings about them may be missing.
    pub incomplete: Vec<Incomplete>,
}

/// A tenant the export or collection could not read in full, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Incomplete {
    pub tenant_id: Guid,
    pub reason: String,
}

impl Manifest {
    /// Records that `tenant_id` is incomplete. A tenant recorded again keeps
    /// one entry whose reasons are joined with `; ` (a reason already given
    /// is not repeated); entries stay sorted by tenant id.
    pub fn mark_incomplete(&mut self, tenant_id: Guid, reason: &str) {
        let reason = reason.trim();
        match self
            .incomplete
            .binary_search_by_key(&tenant_id, |x| x.tenant_id)
        {
            Ok(i) => {
                let known = &mut self.incomplete[i].reason;
                if !known.split("; ").any(|r| r == reason) {
                    if !known.is_empty() {
                        known.push_str("; ");
                    }
                    known.push_str(reason);
                }
            }
            Err(i) => self.incomplete.insert(
                i,
                Incomplete {
                    tenant_id,
                    reason: reason.to_owned(),
                },
            ),
        }
    }

    /// The reason `tenant_id` is incomplete, when it is.
    pub fn incomplete_reason(&self, tenant_id: Guid) -> Option<&str> {
        self.incomplete
            .binary_search_by_key(&tenant_id, |x| x.tenant_id)
            .ok()
            .map(|i| self.incomplete[i].reason.as_str())
    }
}

#[derive(Clone, Debug)]
pub struct Tenant {
    pub loc: Loc,
    pub tenant_id: Guid,
    pub name: Box<str>,
    pub kind: TenantKind,
    pub domain: Option<Box<str>>,
}

#[derive(Clone, Debug)]
pub struct Relationship {
    pub loc: Loc,
    pub partner_tenant_id: Guid,
    pub customer_tenant_id: Guid,
    pub kind: RelKind,
    pub state: RelState,
    pub started_at: Option<Timestamp>,
    pub ended_at: Option<Timestamp>,
    /// GDAP relationship id (two GUIDs joined by `-` in Graph exports): kept as text.
    pub relationship_id: Option<Box<str>>,
    pub roles: Vec<RoleId>,
    pub auto_extend: Option<IsoDuration>,
    pub last_activity_at: Option<Timestamp>,
    /// GDAP display name (`MLT_…` for a Microsoft-led transition relationship).
    pub display_name: Option<Box<str>>,
    /// GDAP `duration` as requested (at most P730D: longer is rejected on load).
    pub duration: Option<IsoDuration>,
}

impl Relationship {
    /// Its id, or `KIND:PARTNER:CUSTOMER` when the snapshot gives none.
    pub fn name(&self) -> std::borrow::Cow<'_, str> {
        match &self.relationship_id {
            Some(id) => std::borrow::Cow::Borrowed(id),
            None => std::borrow::Cow::Owned(format!(
                "{}:{}:{}",
                self.kind, self.partner_tenant_id, self.customer_tenant_id
            )),
        }
    }
}

#[derive(Clone, Debug)]
pub struct Principal {
    pub loc: Loc,
    pub tenant_id: Guid,
    pub principal_id: Guid,
    pub kind: PrincipalKind,
    pub display_name: Box<str>,
    pub upn: Option<Box<str>>,
    /// `None` = unknown (the column is empty or absent).
    pub enabled: Option<bool>,
    /// Explicit `agent_group`, or derived from an exact group name when empty.
    pub agent_group: Option<AgentGroup>,
}

#[derive(Clone, Debug)]
pub struct Membership {
    pub loc: Loc,
    pub tenant_id: Guid,
    pub group_id: Guid,
    pub member_id: Guid,
}

/// An explicit role assignment: `scope` `/` is the directory; anything else is
/// an Azure RBAC scope.
#[derive(Clone, Debug)]
pub struct RoleAssignment {
    pub loc: Loc,
    pub tenant_id: Guid,
    pub scope: Scope,
    pub role: RoleId,
    pub principal_id: Guid,
    /// As given in the row; resolution of an empty cell happens in the graph.
    pub principal_tenant_id: Option<Guid>,
    pub created_at: Option<Timestamp>,
}

/// A role-assignment scope, normalised: GUID segments lower-cased, no
/// trailing slash. `/` is the tenant's directory.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Scope(pub Box<str>);

impl Scope {
    /// The directory scope `/`.
    pub fn is_directory(&self) -> bool {
        &*self.0 == "/"
    }
    /// The subscription this scope is at or below, if any.
    pub fn subscription(&self) -> Option<Guid> {
        let rest = self.0.strip_prefix("/subscriptions/")?;
        Guid::parse(rest.split('/').next().unwrap_or(""))
    }
    /// True when `self` equals `other` or lies below it.
    pub fn is_within(&self, other: &Scope) -> bool {
        other.is_directory() && !self.is_directory()
            || self.0 == other.0
            || (self.0.len() > other.0.len()
                && self.0.starts_with(&*other.0)
                && self.0.as_bytes()[other.0.len()] == b'/')
    }
    /// The scope as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[derive(Clone, Debug)]
pub struct Subscription {
    pub loc: Loc,
    pub tenant_id: Guid,
    pub subscription_id: Guid,
    pub name: Box<str>,
    /// The partner that provisioned it; `None` = the customer.
    pub provisioned_by_tenant_id: Option<Guid>,
    pub state: Option<Box<str>>,
    pub created_at: Option<Timestamp>,
}

#[derive(Clone, Debug)]
pub struct Device {
    pub loc: Loc,
    pub tenant_id: Guid,
    pub device_id: Box<str>,
    pub added_by_tenant_id: Guid,
    pub added_via: AddedVia,
    pub profile_id: Option<Box<str>>,
}

#[derive(Clone, Debug)]
pub struct AutopilotProfile {
    pub loc: Loc,
    pub tenant_id: Guid,
    pub profile_id: Box<str>,
    pub name: Box<str>,
    pub created_by_tenant_id: Option<Guid>,
}

#[derive(Clone, Debug)]
pub struct Invitation {
    pub loc: Loc,
    pub partner_tenant_id: Guid,
    pub invitation_id: Box<str>,
    pub sent_by: Guid,
    pub sent_at: Timestamp,
    pub customer_tenant_id: Option<Guid>,
    pub accepted_at: Option<Timestamp>,
    pub includes_dap: Option<bool>,
}

#[derive(Clone, Debug)]
pub struct GdapAccessAssignment {
    pub loc: Loc,
    pub relationship_id: Box<str>,
    pub group_id: Guid,
    pub roles: Vec<RoleId>,
    pub state: Option<Box<str>>,
}

/// An Azure Lighthouse delegation: a registration assignment at a
/// subscription or resource-group scope of `tenant_id`, with the header of
/// the registration definition it assigns.
#[derive(Clone, Debug)]
pub struct LighthouseDelegation {
    pub loc: Loc,
    /// The customer (managee) tenant.
    pub tenant_id: Guid,
    /// The assignment scope: `/subscriptions/S` or `/subscriptions/S/resourcegroups/R`.
    pub scope: Scope,
    /// The registration definition's name (a GUID).
    pub definition_id: Guid,
    pub managing_tenant_id: Guid,
    pub managing_tenant_name: Option<Box<str>>,
    /// `registrationDefinitionName`, the offer's name.
    pub offer_name: Option<Box<str>>,
    pub assignment_id: Option<Guid>,
    /// `provisioningState`.
    pub state: Option<Box<str>>,
}

/// One authorization of a Lighthouse registration definition: a principal
/// of the managing tenant and the Azure role it holds on every scope the
/// definition is assigned to, standing or just in time.
#[derive(Clone, Debug)]
pub struct LighthouseAuthorization {
    pub loc: Loc,
    pub tenant_id: Guid,
    pub definition_id: Guid,
    pub principal_id: Guid,
    pub principal_name: Option<Box<str>>,
    /// The role first, then `delegatedRoleDefinitionIds` (see
    /// [`LighthouseAuthorization::role`]).
    pub roles: Vec<super::roles::RoleId>,
    pub access: LighthouseAccess,
    /// `justInTimeAccessPolicy.multiFactorAuthProvider` (`Azure` or `None`).
    pub mfa_provider: Option<Box<str>>,
    pub max_activation: Option<IsoDuration>,
    /// `managedByTenantApprovers` principal ids.
    pub approvers: Vec<Guid>,
}

impl LighthouseAuthorization {
    /// The Azure role the authorization grants.
    pub fn role(&self) -> super::roles::RoleId {
        self.roles[0]
    }
    /// The roles a User Access Administrator authorization may assign to
    /// managed identities (`delegatedRoleDefinitionIds`).
    pub fn delegated_roles(&self) -> &[super::roles::RoleId] {
        &self.roles[1..]
    }
    /// Just-in-time activation requires Azure MFA.
    pub fn requires_mfa(&self) -> bool {
        self.mfa_provider
            .as_deref()
            .is_some_and(|p| p.eq_ignore_ascii_case("azure"))
    }
}

/// A service principal: an application's instance in `tenant_id`, with the
/// tenant that owns the application.
#[derive(Clone, Debug)]
pub struct ServicePrincipal {
    pub loc: Loc,
    pub tenant_id: Guid,
    pub principal_id: Guid,
    pub app_id: Guid,
    pub display_name: Box<str>,
    /// `appOwnerOrganizationId`: the tenant that registered the application.
    pub owner_tenant_id: Option<Guid>,
    pub enabled: Option<bool>,
}

/// One permission a service principal holds in `tenant_id`: an application
/// permission (app-role assignment) or a delegated one (one scope of an
/// OAuth2 permission grant).
#[derive(Clone, Debug)]
pub struct AppPermission {
    pub loc: Loc,
    pub tenant_id: Guid,
    /// The client service principal's object id.
    pub client_id: Guid,
    /// The permission's value (`Directory.ReadWrite.All`), or the app role
    /// id when the export does not name it.
    pub permission: Box<str>,
    /// The permission interned as a role, the label of its graph edge.
    pub role: super::roles::RoleId,
    pub kind: PermissionKind,
    /// The resource service principal's object id (Microsoft Graph, ...).
    pub resource_id: Option<Guid>,
    pub resource_name: Option<Box<str>>,
    /// Delegated grants: for every user, or for one.
    pub consent_type: Option<ConsentType>,
    /// The user a `principal` consent is for.
    pub principal_id: Option<Guid>,
    pub granted_at: Option<Timestamp>,
}

impl AppPermission {
    /// Holds in the whole tenant: an application permission, or a delegated
    /// one consented for all users.
    pub fn tenant_wide(&self) -> bool {
        match self.kind {
            PermissionKind::Application => true,
            PermissionKind::Delegated => self.consent_type == Some(ConsentType::AllPrincipals),
        }
    }
}

/// Most unknown columns findings.json lists per table.
pub const MAX_UNKNOWN_COLUMNS_LISTED: usize = 100;

fn first_unknown_columns<S: serde::Serializer>(
    map: &std::collections::BTreeMap<String, u64>,
    s: S,
) -> Result<S::Ok, S::Error> {
    s.collect_map(map.iter().take(MAX_UNKNOWN_COLUMNS_LISTED))
}

/// Rows read / used / rejected / skipped and unknown columns for one table.
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct TableAccount {
    /// Every row read: `rows_used + rows_rejected + rows_skipped`.
    pub rows_read: u64,
    pub rows_used: u64,
    pub rows_rejected: u64,
    /// Blank rows (CSV: empty lines, and lines of only separators and
    /// white space after the header), read and set aside.
    pub rows_skipped: u64,
    /// Unknown column name → number of files/rows carrying it (counted per file).
    /// findings.json lists the first [`MAX_UNKNOWN_COLUMNS_LISTED`] by name
    /// (the warnings say how many there were).
    #[serde(serialize_with = "first_unknown_columns")]
    pub unknown_columns: std::collections::BTreeMap<String, u64>,
    /// The files the table was read from.
    pub files: Vec<String>,
}

/// Every table name of SPEC §3, in canonical order.
pub const TABLES: &[&str] = &[
    "tenants",
    "relationships",
    "principals",
    "memberships",
    "role_assignments",
    "subscriptions",
    "devices",
    "autopilot_profiles",
    "invitations",
    "gdap_access_assignments",
    "cross_tenant_access",
    // Azure Lighthouse and partner apps.
    "lighthouse_delegations",
    "lighthouse_authorizations",
    "service_principals",
    "app_permissions",
];

/// A loaded, validated snapshot.
#[derive(Debug, Default)]
pub struct Snapshot {
    pub manifest: Manifest,
    /// Display paths of the files read, indexed by [`Loc::file`].
    pub files: Vec<String>,
    /// The folder the snapshot was read from, as the user gave it (the
    /// parent folder for a single-file snapshot): what reports make file
    /// paths relative to ([`Snapshot::set_root`]).
    pub root: std::path::PathBuf,
    /// [`Snapshot::files`] relative to [`Snapshot::root`], what reports cite.
    pub relative_files: Vec<String>,
    pub roles: RoleTable,
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
    pub cross_tenant_access: Vec<super::cross_tenant::CrossTenantAccess>,
    // Azure Lighthouse and partner apps.
    pub lighthouse_delegations: Vec<LighthouseDelegation>,
    pub lighthouse_authorizations: Vec<LighthouseAuthorization>,
    pub service_principals: Vec<ServicePrincipal>,
    pub app_permissions: Vec<AppPermission>,
    /// Per table (keyed by table name, every table of [`TABLES`] present).
    pub accounting: std::collections::BTreeMap<String, TableAccount>,
}

impl Snapshot {
    /// How many rows the snapshot holds, every table together.
    pub fn row_count(&self) -> usize {
        self.tenants.len()
            + self.relationships.len()
            + self.principals.len()
            + self.memberships.len()
            + self.role_assignments.len()
            + self.subscriptions.len()
            + self.devices.len()
            + self.autopilot_profiles.len()
            + self.invitations.len()
            + self.gdap_access_assignments.len()
            + self.cross_tenant_access.len()
            + self.lighthouse_delegations.len()
            + self.lighthouse_authorizations.len()
            + self.service_principals.len()
            + self.app_permissions.len()
    }

    /// Sets the snapshot root and the root-relative names of its files.
    /// Call it once every file is listed.
    pub fn set_root(&mut self, root: &std::path::Path) {
        self.root = root.to_path_buf();
        self.relative_files = self.files.iter().map(|f| self.relative(f)).collect();
    }

    /// A display path as reports write it: relative to the snapshot root,
    /// with `/` separators, the same whatever path the user typed; never
    /// absolute (a path outside the root is reduced to its file name);
    /// `.` for the root itself.
    pub fn relative(&self, display: &str) -> String {
        use std::path::{Component, Path};
        let path = Path::new(display);
        let rest = path.strip_prefix(&self.root).unwrap_or(path);
        let mut parts = Vec::new();
        for c in rest.components() {
            match c {
                Component::Normal(p) => parts.push(p.to_string_lossy()),
                Component::CurDir => {}
                Component::ParentDir | Component::RootDir | Component::Prefix(_) => {
                    parts.clear();
                    parts.extend(path.file_name().map(|n| n.to_string_lossy()));
                    break;
                }
            }
        }
        if parts.is_empty() {
            return ".".into();
        }
        parts.join("/")
    }

    /// `file:line` for a row location, the file relative to the snapshot root.
    pub fn cite(&self, loc: Loc) -> String {
        let mut out = String::with_capacity(64);
        self.cite_into(&mut out, loc);
        out
    }

    /// [`Snapshot::cite`], appended to `out`.
    pub fn cite_into(&self, out: &mut String, loc: Loc) {
        use fmt::Write as _;
        let i = usize::from(loc.file);
        let file = self
            .relative_files
            .get(i)
            .or_else(|| self.files.get(i))
            .map_or("?", String::as_str);
        out.push_str(file);
        let _ = write!(out, ":{}", loc.line);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Validates that reports' file names are root-relative, `/`-separated
    /// and never absolute, however the root was typed.
    #[test]
    fn paths_are_relative_to_the_snapshot_root() {
        let mut s = Snapshot {
            files: vec!["./exp/t1/users.json".into(), "./exp/manifest.json".into()],
            ..Snapshot::default()
        };
        s.set_root(std::path::Path::new("./exp/"));
        assert_eq!(s.relative_files, ["t1/users.json", "manifest.json"]);
        assert_eq!(s.cite(Loc { file: 0, line: 7 }), "t1/users.json:7");
        assert_eq!(s.relative("./exp"), ".");
        assert_eq!(s.relative("/etc/passwd"), "passwd");
        assert_eq!(s.relative("../other/x.csv"), "x.csv");
        s.set_root(std::path::Path::new("/abs/snap"));
        assert_eq!(s.relative("/abs/snap/tenants.csv"), "tenants.csv");
        s.set_root(std::path::Path::new(""));
        assert_eq!(s.relative("single.json"), "single.json");
    }

    #[test]
    fn guid_round_trips_lower_case() {
        let g = Guid::parse("{62E90394-69F5-4237-9190-012177145E10}").expect("guid");
        assert_eq!(g.to_string(), "62e90394-69f5-4237-9190-012177145e10");
        assert!(Guid::parse("62e90394-69f5-4237-9190-012177145e1").is_none());
        assert!(Guid::parse("62e90394x69f5-4237-9190-012177145e10").is_none());
    }

    #[test]
    fn scope_containment() {
        let sub = Scope("/subscriptions/aa".into());
        assert!(Scope("/subscriptions/aa/resourcegroups/x".into()).is_within(&sub));
        assert!(Scope("/subscriptions/aa".into()).is_within(&sub));
        assert!(!Scope("/subscriptions/aab".into()).is_within(&sub));
    }
}
