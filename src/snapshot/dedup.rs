//! One policy for rows that repeat a key, applied to every table (README
//! "Duplicate rows"): the first row wins; each later row with the same key
//! is removed, counted as rejected in its table's accounting and reported
//! with both lines. A row that repeats the first exactly is a warning; a
//! row whose other values differ is a conflict only the user can resolve,
//! so it is an error (the run stops unless `--keep-going`).
//!
//! Each table states its key once ([`Keyed`]); [`reject_duplicates`] is the
//! only code that acts on it. GUIDs compare as 128-bit values (so without
//! case); device ids and role-assignment scopes compare without ASCII case,
//! as the graph compares them.

use std::collections::BTreeMap;
use std::hash::{Hash, Hasher};

use jiff::Timestamp;
use rayon::prelude::*;
use rustc_hash::FxHasher;

use super::diag::{quote, Diagnostic};
use super::model::{
    AppPermission, LighthouseAuthorization, LighthouseDelegation, ServicePrincipal,
};
use super::model::{
    AutopilotProfile, Device, GdapAccessAssignment, Guid, Invitation, Loc, Membership, Principal,
    RelKind, Relationship, RoleAssignment, Snapshot, Subscription, TableAccount, Tenant,
};
use super::roles::{RoleId, RoleTable};
use super::tables::{self, Table, MAX_COLUMNS};

/// The 1-based CSV column of each schema column, per file display path
/// (files without one, JSON, give no column).
pub(crate) type ColumnMaps = BTreeMap<String, [Option<u32>; MAX_COLUMNS]>;

/// One value of a key.
#[derive(Clone, Copy, Debug)]
enum K<'a> {
    Guid(Guid),
    /// Compared as written.
    Text(&'a str),
    /// Compared without ASCII case.
    Fold(&'a str),
    Role(RoleId),
    Time(Timestamp),
    Word(&'static str),
    /// An empty optional cell (part of a whole-row key).
    Absent,
}

impl PartialEq for K<'_> {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (K::Guid(a), K::Guid(b)) => a == b,
            (K::Text(a), K::Text(b)) => a == b,
            (K::Fold(a), K::Fold(b)) => a.eq_ignore_ascii_case(b),
            (K::Role(a), K::Role(b)) => a == b,
            (K::Time(a), K::Time(b)) => a == b,
            (K::Word(a), K::Word(b)) => a == b,
            (K::Absent, K::Absent) => true,
            _ => false,
        }
    }
}

impl Hash for K<'_> {
    fn hash<H: Hasher>(&self, h: &mut H) {
        std::mem::discriminant(self).hash(h);
        match self {
            K::Guid(g) => g.hash(h),
            K::Text(t) | K::Word(t) => t.hash(h),
            K::Fold(t) => {
                for b in t.bytes() {
                    h.write_u8(b.to_ascii_lowercase());
                }
                h.write_u8(0xff);
            }
            K::Role(r) => r.hash(h),
            K::Time(t) => t.hash(h),
            K::Absent => {}
        }
    }
}

impl K<'_> {
    fn opt_guid(g: Option<Guid>) -> K<'static> {
        g.map_or(K::Absent, K::Guid)
    }

    fn opt_time(t: Option<Timestamp>) -> K<'static> {
        t.map_or(K::Absent, K::Time)
    }

    /// The value as a message shows it; `None` for an absent one.
    fn text(&self, roles: &RoleTable) -> Option<String> {
        Some(match self {
            K::Guid(g) => quote(&g.to_string()),
            K::Text(t) | K::Fold(t) => quote(t),
            K::Word(t) => quote(t),
            K::Role(r) => quote(roles.name(*r)),
            K::Time(t) => quote(&t.to_string()),
            K::Absent => return None,
        })
    }
}

/// The most values a key has (a role assignment's whole row).
const KEY_LEN: usize = 6;

/// A row's key: (schema column, value) pairs.
struct Key<'a> {
    parts: [(usize, K<'a>); KEY_LEN],
    len: usize,
}

impl<'a> Key<'a> {
    fn of(parts: &[(usize, K<'a>)]) -> Self {
        let mut key = Key {
            parts: [(0, K::Absent); KEY_LEN],
            len: parts.len().min(KEY_LEN),
        };
        key.parts[..key.len].copy_from_slice(&parts[..key.len]);
        key
    }

    fn parts(&self) -> &[(usize, K<'a>)] {
        &self.parts[..self.len]
    }

    fn hash(&self) -> u64 {
        let mut h = FxHasher::default();
        for (c, k) in self.parts() {
            c.hash(&mut h);
            k.hash(&mut h);
        }
        h.finish()
    }
}

impl PartialEq for Key<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.parts() == other.parts()
    }
}

/// A row of a table with a key (see the module docs).
trait Keyed {
    const TABLE: Table;
    /// The column a diagnostic names: the one that identifies the row.
    const FIELD: usize;
    fn loc(&self) -> Loc;
    /// The column a diagnostic about this row names.
    fn field(&self) -> usize {
        Self::FIELD
    }
    fn key(&self) -> Key<'_>;
    /// True when this row is identified by all its values, not by its key
    /// alone: a later row is its duplicate only if it is the same row.
    fn whole_row(&self) -> bool {
        false
    }
    /// The first column outside the key whose value differs from `other`'s,
    /// or `None` when the rows are the same.
    fn differs(&self, other: &Self) -> Option<usize>;
}

/// `Some(column)` of the first listed field that differs.
macro_rules! first_difference {
    ($a:ident, $b:ident, $($col:path => $field:ident),+ $(,)?) => {{
        $(if $a.$field != $b.$field {
            return Some($col);
        })+
        None
    }};
}

impl Keyed for Tenant {
    const TABLE: Table = Table::Tenants;
    const FIELD: usize = tables::tenants::TENANT_ID;
    fn loc(&self) -> Loc {
        self.loc
    }
    fn key(&self) -> Key<'_> {
        Key::of(&[(Self::FIELD, K::Guid(self.tenant_id))])
    }
    fn differs(&self, o: &Self) -> Option<usize> {
        use tables::tenants::*;
        first_difference!(self, o, NAME => name, KIND => kind, DOMAIN => domain)
    }
}

impl Keyed for Relationship {
    const TABLE: Table = Table::Relationships;
    const FIELD: usize = tables::relationships::RELATIONSHIP_ID;
    fn loc(&self) -> Loc {
        self.loc
    }
    fn field(&self) -> usize {
        use tables::relationships::*;
        if self.relationship_id.is_some() {
            RELATIONSHIP_ID
        } else {
            CUSTOMER_TENANT_ID
        }
    }
    /// Its id; a GDAP relationship without one, its partner and customer
    /// (README "A relationship listed twice"). A reseller or DAP row
    /// without an id is a state in the pair's history: the whole row.
    fn key(&self) -> Key<'_> {
        use tables::relationships::*;
        match &self.relationship_id {
            Some(id) => Key::of(&[(RELATIONSHIP_ID, K::Text(id))]),
            None => Key::of(&[
                (KIND, K::Word(self.kind.as_str())),
                (PARTNER_TENANT_ID, K::Guid(self.partner_tenant_id)),
                (CUSTOMER_TENANT_ID, K::Guid(self.customer_tenant_id)),
            ]),
        }
    }
    fn whole_row(&self) -> bool {
        self.relationship_id.is_none() && self.kind != RelKind::Gdap
    }
    fn differs(&self, o: &Self) -> Option<usize> {
        use tables::relationships::*;
        first_difference!(self, o,
            PARTNER_TENANT_ID => partner_tenant_id,
            CUSTOMER_TENANT_ID => customer_tenant_id,
            KIND => kind,
            STATE => state,
            STARTED_AT => started_at,
            ENDED_AT => ended_at,
            ROLES => roles,
            AUTO_EXTEND => auto_extend,
            LAST_ACTIVITY_AT => last_activity_at,
        )
    }
}

impl Keyed for Principal {
    const TABLE: Table = Table::Principals;
    const FIELD: usize = tables::principals::PRINCIPAL_ID;
    fn loc(&self) -> Loc {
        self.loc
    }
    /// Object ids are globally unique: the same id in two tenants is one
    /// object listed twice (a conflict).
    fn key(&self) -> Key<'_> {
        Key::of(&[(Self::FIELD, K::Guid(self.principal_id))])
    }
    fn differs(&self, o: &Self) -> Option<usize> {
        use tables::principals::*;
        first_difference!(self, o,
            TENANT_ID => tenant_id,
            KIND => kind,
            DISPLAY_NAME => display_name,
            UPN => upn,
            ENABLED => enabled,
            AGENT_GROUP => agent_group,
        )
    }
}

impl Keyed for Membership {
    const TABLE: Table = Table::Memberships;
    const FIELD: usize = tables::memberships::MEMBER_ID;
    fn loc(&self) -> Loc {
        self.loc
    }
    /// The whole row: a repeated membership is always the same row.
    fn key(&self) -> Key<'_> {
        use tables::memberships::*;
        Key::of(&[
            (TENANT_ID, K::Guid(self.tenant_id)),
            (GROUP_ID, K::Guid(self.group_id)),
            (MEMBER_ID, K::Guid(self.member_id)),
        ])
    }
    fn differs(&self, _: &Self) -> Option<usize> {
        None
    }
}

impl Keyed for RoleAssignment {
    const TABLE: Table = Table::RoleAssignments;
    const FIELD: usize = tables::role_assignments::PRINCIPAL_ID;
    fn loc(&self) -> Loc {
        self.loc
    }
    /// The whole row (the role by identity, however it is spelled; the
    /// scope without case): a repeated assignment is always the same row.
    fn key(&self) -> Key<'_> {
        use tables::role_assignments::*;
        Key::of(&[
            (TENANT_ID, K::Guid(self.tenant_id)),
            (SCOPE, K::Fold(self.scope.as_str())),
            (ROLE, K::Role(self.role)),
            (PRINCIPAL_ID, K::Guid(self.principal_id)),
            (PRINCIPAL_TENANT_ID, K::opt_guid(self.principal_tenant_id)),
            (CREATED_AT, K::opt_time(self.created_at)),
        ])
    }
    fn differs(&self, _: &Self) -> Option<usize> {
        None
    }
}

impl Keyed for Subscription {
    const TABLE: Table = Table::Subscriptions;
    const FIELD: usize = tables::subscriptions::SUBSCRIPTION_ID;
    fn loc(&self) -> Loc {
        self.loc
    }
    fn key(&self) -> Key<'_> {
        Key::of(&[(Self::FIELD, K::Guid(self.subscription_id))])
    }
    fn differs(&self, o: &Self) -> Option<usize> {
        use tables::subscriptions::*;
        first_difference!(self, o,
            TENANT_ID => tenant_id,
            NAME => name,
            PROVISIONED_BY_TENANT_ID => provisioned_by_tenant_id,
            STATE => state,
            CREATED_AT => created_at,
        )
    }
}

impl Keyed for Device {
    const TABLE: Table = Table::Devices;
    const FIELD: usize = tables::devices::DEVICE_ID;
    fn loc(&self) -> Loc {
        self.loc
    }
    fn key(&self) -> Key<'_> {
        use tables::devices::*;
        Key::of(&[
            (TENANT_ID, K::Guid(self.tenant_id)),
            (DEVICE_ID, K::Fold(&self.device_id)),
        ])
    }
    fn differs(&self, o: &Self) -> Option<usize> {
        use tables::devices::*;
        first_difference!(self, o,
            ADDED_BY_TENANT_ID => added_by_tenant_id,
            ADDED_VIA => added_via,
            PROFILE_ID => profile_id,
        )
    }
}

impl Keyed for AutopilotProfile {
    const TABLE: Table = Table::AutopilotProfiles;
    const FIELD: usize = tables::autopilot_profiles::PROFILE_ID;
    fn loc(&self) -> Loc {
        self.loc
    }
    fn key(&self) -> Key<'_> {
        use tables::autopilot_profiles::*;
        Key::of(&[
            (TENANT_ID, K::Guid(self.tenant_id)),
            (PROFILE_ID, K::Text(&self.profile_id)),
        ])
    }
    fn differs(&self, o: &Self) -> Option<usize> {
        use tables::autopilot_profiles::*;
        first_difference!(self, o,
            NAME => name,
            CREATED_BY_TENANT_ID => created_by_tenant_id,
        )
    }
}

impl Keyed for Invitation {
    const TABLE: Table = Table::Invitations;
    const FIELD: usize = tables::invitations::INVITATION_ID;
    fn loc(&self) -> Loc {
        self.loc
    }
    fn key(&self) -> Key<'_> {
        use tables::invitations::*;
        Key::of(&[
            (PARTNER_TENANT_ID, K::Guid(self.partner_tenant_id)),
            (INVITATION_ID, K::Text(&self.invitation_id)),
        ])
    }
    fn differs(&self, o: &Self) -> Option<usize> {
        use tables::invitations::*;
        first_difference!(self, o,
            SENT_BY => sent_by,
            SENT_AT => sent_at,
            CUSTOMER_TENANT_ID => customer_tenant_id,
            ACCEPTED_AT => accepted_at,
            INCLUDES_DAP => includes_dap,
        )
    }
}

impl Keyed for GdapAccessAssignment {
    const TABLE: Table = Table::GdapAccessAssignments;
    const FIELD: usize = tables::gdap_access_assignments::GROUP_ID;
    fn loc(&self) -> Loc {
        self.loc
    }
    fn key(&self) -> Key<'_> {
        use tables::gdap_access_assignments::*;
        Key::of(&[
            (RELATIONSHIP_ID, K::Text(&self.relationship_id)),
            (GROUP_ID, K::Guid(self.group_id)),
        ])
    }
    fn differs(&self, o: &Self) -> Option<usize> {
        use tables::gdap_access_assignments::*;
        first_difference!(self, o, ROLES => roles, STATE => state)
    }
}

impl Keyed for LighthouseDelegation {
    const TABLE: Table = Table::LighthouseDelegations;
    const FIELD: usize = tables::lighthouse_delegations::DEFINITION_ID;
    fn loc(&self) -> Loc {
        self.loc
    }
    fn key(&self) -> Key<'_> {
        use tables::lighthouse_delegations::*;
        Key::of(&[
            (TENANT_ID, K::Guid(self.tenant_id)),
            (SCOPE, K::Fold(self.scope.as_str())),
            (DEFINITION_ID, K::Guid(self.definition_id)),
        ])
    }
    fn differs(&self, o: &Self) -> Option<usize> {
        use tables::lighthouse_delegations::*;
        first_difference!(self, o,
            MANAGING_TENANT_ID => managing_tenant_id,
            MANAGING_TENANT_NAME => managing_tenant_name,
            OFFER_NAME => offer_name,
            ASSIGNMENT_ID => assignment_id,
            STATE => state,
        )
    }
}

impl Keyed for LighthouseAuthorization {
    const TABLE: Table = Table::LighthouseAuthorizations;
    const FIELD: usize = tables::lighthouse_authorizations::PRINCIPAL_ID;
    fn loc(&self) -> Loc {
        self.loc
    }
    fn key(&self) -> Key<'_> {
        use tables::lighthouse_authorizations::*;
        Key::of(&[
            (TENANT_ID, K::Guid(self.tenant_id)),
            (DEFINITION_ID, K::Guid(self.definition_id)),
            (PRINCIPAL_ID, K::Guid(self.principal_id)),
            (ROLE, K::Role(self.role())),
            (ACCESS, K::Word(self.access.as_str())),
        ])
    }
    fn differs(&self, o: &Self) -> Option<usize> {
        use tables::lighthouse_authorizations::*;
        first_difference!(self, o,
            PRINCIPAL_NAME => principal_name,
            DELEGATED_ROLES => roles,
            MFA_PROVIDER => mfa_provider,
            MAX_ACTIVATION => max_activation,
            APPROVERS => approvers,
        )
    }
}

impl Keyed for ServicePrincipal {
    const TABLE: Table = Table::ServicePrincipals;
    const FIELD: usize = tables::service_principals::PRINCIPAL_ID;
    fn loc(&self) -> Loc {
        self.loc
    }
    fn key(&self) -> Key<'_> {
        use tables::service_principals::*;
        Key::of(&[
            (TENANT_ID, K::Guid(self.tenant_id)),
            (PRINCIPAL_ID, K::Guid(self.principal_id)),
        ])
    }
    fn differs(&self, o: &Self) -> Option<usize> {
        use tables::service_principals::*;
        first_difference!(self, o,
            APP_ID => app_id,
            DISPLAY_NAME => display_name,
            OWNER_TENANT_ID => owner_tenant_id,
            ENABLED => enabled,
        )
    }
}

impl Keyed for AppPermission {
    const TABLE: Table = Table::AppPermissions;
    const FIELD: usize = tables::app_permissions::PERMISSION;
    fn loc(&self) -> Loc {
        self.loc
    }
    fn key(&self) -> Key<'_> {
        use tables::app_permissions::*;
        Key::of(&[
            (TENANT_ID, K::Guid(self.tenant_id)),
            (CLIENT_ID, K::Guid(self.client_id)),
            (KIND, K::Word(self.kind.as_str())),
            (RESOURCE_ID, K::opt_guid(self.resource_id)),
            (PERMISSION, K::Fold(&self.permission)),
            (PRINCIPAL_ID, K::opt_guid(self.principal_id)),
        ])
    }
    fn differs(&self, o: &Self) -> Option<usize> {
        use tables::app_permissions::*;
        first_difference!(self, o,
            RESOURCE_NAME => resource_name,
            CONSENT_TYPE => consent_type,
            GRANTED_AT => granted_at,
        )
    }
}

/// What the diagnostics of one table need to know.
struct Cx<'a> {
    files: &'a [String],
    roles: &'a RoleTable,
    columns: &'a ColumnMaps,
}

impl Cx<'_> {
    fn file(&self, loc: Loc) -> &str {
        self.files
            .get(usize::from(loc.file))
            .map_or("", String::as_str)
    }
}

/// Applies the policy (see the module docs) to every table of `s`: later
/// rows with a key already seen are removed, counted as rejected in
/// `s.accounting` and reported in `diagnostics`. `columns` gives CSV
/// column numbers for the diagnostics.
pub(crate) fn reject_duplicates(
    s: &mut Snapshot,
    columns: &ColumnMaps,
    diagnostics: &mut Vec<Diagnostic>,
) {
    let cx = Cx {
        files: &s.files,
        roles: &s.roles,
        columns,
    };
    let acc = &mut s.accounting;
    dedup(&mut s.tenants, &cx, acc, diagnostics);
    dedup(&mut s.relationships, &cx, acc, diagnostics);
    dedup(&mut s.principals, &cx, acc, diagnostics);
    dedup(&mut s.memberships, &cx, acc, diagnostics);
    dedup(&mut s.role_assignments, &cx, acc, diagnostics);
    dedup(&mut s.subscriptions, &cx, acc, diagnostics);
    dedup(&mut s.devices, &cx, acc, diagnostics);
    dedup(&mut s.autopilot_profiles, &cx, acc, diagnostics);
    dedup(&mut s.invitations, &cx, acc, diagnostics);
    dedup(&mut s.gdap_access_assignments, &cx, acc, diagnostics);
    dedup(&mut s.lighthouse_delegations, &cx, acc, diagnostics);
    dedup(&mut s.lighthouse_authorizations, &cx, acc, diagnostics);
    dedup(&mut s.service_principals, &cx, acc, diagnostics);
    dedup(&mut s.app_permissions, &cx, acc, diagnostics);
}

fn dedup<T: Keyed + Sync>(
    rows: &mut Vec<T>,
    cx: &Cx<'_>,
    accounting: &mut BTreeMap<String, TableAccount>,
    diagnostics: &mut Vec<Diagnostic>,
) {
    if rows.len() < 2 {
        return;
    }
    // Keys are hashed in parallel, then split into shards by bits of the
    // hash that the shard's table does not use (it takes the low bits for
    // the bucket and the top seven for the tag). Rows of one key share a
    // shard, and each shard takes its rows in order, so the first row of a
    // key is the one kept whatever the thread count.
    const SHARDS: usize = 64;
    let shard = |h: u64| (h >> 32) as usize % SHARDS;
    let hashes: Vec<u64> = rows
        .par_iter()
        .with_min_len(4096)
        .map(|r| r.key().hash())
        .collect();
    let mut shards: Vec<Vec<usize>> = vec![Vec::new(); SHARDS];
    for (i, &h) in hashes.iter().enumerate() {
        shards[shard(h)].push(i);
    }
    let rows_ref = &*rows;
    let hashes = &hashes;
    // (later row, first row) for every repeated key, in row order.
    let mut repeats: Vec<(usize, usize)> = shards
        .par_iter()
        .flat_map_iter(|members| {
            let mut first: hashbrown::HashTable<usize> =
                hashbrown::HashTable::with_capacity(members.len());
            let mut found = Vec::new();
            for &i in members {
                let (row, hash) = (&rows_ref[i], hashes[i]);
                let same = |&j: &usize| {
                    hashes[j] == hash
                        && rows_ref[j].key() == row.key()
                        && !(row.whole_row() && row.differs(&rows_ref[j]).is_some())
                };
                match first.find(hash, same) {
                    Some(&j) => found.push((i, j)),
                    None => {
                        first.insert_unique(hash, i, |&j| hashes[j]);
                    }
                }
            }
            found
        })
        .collect();
    repeats.sort_unstable();
    if repeats.is_empty() {
        return;
    }
    for &(i, j) in &repeats {
        diagnostics.push(diagnostic(&rows[i], &rows[j], cx));
    }
    let account = accounting.entry(T::TABLE.name().to_owned()).or_default();
    let n = repeats.len() as u64;
    account.rows_used = account.rows_used.saturating_sub(n);
    account.rows_rejected += n;
    let mut drop = repeats.iter().map(|&(i, _)| i).peekable();
    let mut i = 0;
    rows.retain(|_| {
        let keep = drop.next_if_eq(&i).is_none();
        i += 1;
        keep
    });
}

/// `duplicate tenant_id `…`: first at line 3, this row ignored`: a warning
/// when `row` repeats `first` exactly, else an error naming the first
/// column that differs.
fn diagnostic<T: Keyed>(row: &T, first: &T, cx: &Cx<'_>) -> Diagnostic {
    let names = T::TABLE.columns();
    let key = row.key();
    let parts: Vec<String> = key
        .parts()
        .iter()
        .filter_map(|(c, k)| Some(format!("{} {}", names[*c].name, k.text(cx.roles)?)))
        .collect();
    let (file, first_file) = (cx.file(row.loc()), cx.file(first.loc()));
    let at = if file == first_file {
        format!("line {}", first.loc().line)
    } else {
        format!("{first_file}:{}", first.loc().line)
    };
    let message = format!(
        "duplicate {}: first at {at}, this row ignored",
        parts.join(", ")
    );
    let key_columns: Vec<&str> = if row.whole_row() {
        vec!["row"]
    } else {
        key.parts().iter().map(|(c, _)| names[*c].name).collect()
    };
    let (d, help) = match row.differs(first) {
        None => (
            Diagnostic::warning(file, message),
            "the rows are the same".to_owned(),
        ),
        Some(c) => (
            Diagnostic::error(file, message),
            format!(
                "the rows differ in `{}`: remove the row that is wrong",
                names[c].name
            ),
        ),
    };
    let mut d = d
        .at_line(row.loc().line)
        .with_field(names[row.field()].name)
        .with_expected(format!("each {} once", key_columns.join(" + ")))
        .with_help(help);
    d.column = cx.columns.get(file).and_then(|cols| cols[row.field()]);
    d
}
