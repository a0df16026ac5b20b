//! The accumulator the format readers write into: canonical rows, merged
//! across files (several pages, or the same object seen by two exports),
//! with per-table accounting and diagnostics.
//!
//! Every item a reader looks at ends up counted: `rows_read` for each
//! canonical row it yields or fails to yield, `rows_used` when the row is
//! kept (a duplicate merged into an earlier row counts as used: its values
//! filled gaps, nothing was dropped), `rows_rejected` with a diagnostic
//! otherwise. When two sources disagree, the one with the higher *rank*
//! (the more authoritative export) wins and the loser's values only fill
//! gaps.

use std::collections::{BTreeMap, HashMap, HashSet};

use crate::snapshot::roles::RoleId;
use crate::snapshot::{
    AddedVia, AgentGroup, AutopilotProfile, Device, Diagnostic, GdapAccessAssignment, Guid, Loc,
    Manifest, Membership, Principal, PrincipalKind, RelKind, RelState, Relationship,
    RoleAssignment, Scope, Snapshot, Subscription, TableAccount, Tenant, TenantKind, TABLES,
};
use crate::snapshot::{
    AppPermission, LighthouseAuthorization, LighthouseDelegation, ServicePrincipal,
};

/// How authoritative a source is for a value (higher wins).
pub(crate) type Rank = u8;

/// A relationship's identity: partner, customer, kind and GDAP id.
type RelKey = (Guid, Guid, RelKind, Option<Box<str>>);

/// A tenant being assembled from several sources.
#[derive(Clone, Debug, Default)]
pub(crate) struct TenantDraft {
    pub loc: Loc,
    pub name: Option<(Rank, String)>,
    pub domain: Option<(Rank, String)>,
    pub kind: Option<(Rank, TenantKind)>,
}

fn better<T>(slot: &mut Option<(Rank, T)>, rank: Rank, value: T) {
    if slot.as_ref().is_none_or(|(r, _)| rank > *r) {
        *slot = Some((rank, value));
    }
}

/// Accumulated rows, accounting and diagnostics.
#[derive(Default)]
pub(crate) struct Sink {
    pub snapshot: Snapshot,
    pub diagnostics: Vec<Diagnostic>,
    pub tenants: BTreeMap<Guid, TenantDraft>,
    tenant_order: Vec<Guid>,
    rel_index: HashMap<RelKey, (usize, Rank)>,
    principal_index: HashMap<Guid, (usize, Rank)>,
    membership_seen: HashSet<(Guid, Guid, Guid)>,
    ra_index: HashMap<(Guid, Scope, RoleId, Guid), usize>,
    sub_index: HashMap<Guid, usize>,
    device_index: HashMap<(Guid, String), (usize, Rank)>,
    profile_index: HashMap<(Guid, String), usize>,
    aa_index: HashMap<(Box<str>, String), usize>,
    /// Keys of the Lighthouse and partner-app rows already added.
    channel_keys: HashSet<String>,
    /// UPN (lower-case) → principal id.
    pub upn_index: HashMap<String, Guid>,
    /// Object ids seen as group members, member parents or GDAP access
    /// containers → the tenant they live in (object ids are unique).
    pub object_tenant: HashMap<Guid, Guid>,
}

impl Sink {
    /// A sink whose rows cite `files` (display paths, indexed by `Loc::file`).
    pub fn new(files: Vec<String>) -> Sink {
        let mut s = Sink::default();
        s.snapshot.files = files;
        for t in TABLES {
            s.snapshot
                .accounting
                .insert((*t).to_owned(), TableAccount::default());
        }
        s
    }

    fn account(&mut self, table: &str) -> &mut TableAccount {
        self.snapshot
            .accounting
            .entry(table.to_owned())
            .or_default()
    }

    /// The display path of a row's file.
    fn file_of(&self, loc: Loc) -> String {
        self.snapshot
            .files
            .get(usize::from(loc.file))
            .cloned()
            .unwrap_or_default()
    }

    /// Counts a row read and used in `table`, citing the row's file.
    fn used(&mut self, table: &str, loc: Loc) {
        let file = self.snapshot.files.get(usize::from(loc.file)).cloned();
        let a = self.account(table);
        a.rows_read += 1;
        a.rows_used += 1;
        if let Some(f) = file {
            if !a.files.contains(&f) {
                a.files.push(f);
            }
        }
    }

    /// Counts a row of `table` that could not be mapped, with why.
    pub fn reject(&mut self, table: &str, d: Diagnostic) {
        let file = d.file.clone();
        let a = self.account(table);
        a.rows_read += 1;
        a.rows_rejected += 1;
        if !a.files.contains(&file) {
            a.files.push(file);
        }
        self.diagnostics.push(d);
    }

    /// Records a diagnostic that rejects no row.
    pub fn note(&mut self, d: Diagnostic) {
        self.diagnostics.push(d);
    }

    /// Counts keys of a file that no reader knows (once per file).
    pub fn unknown_columns<'a>(&mut self, table: &str, keys: impl IntoIterator<Item = &'a str>) {
        let a = self.account(table);
        for k in keys {
            *a.unknown_columns.entry(k.to_owned()).or_default() += 1;
        }
    }

    /// The tenant draft of `id`, created at `loc` when new.
    pub fn tenant(&mut self, id: Guid, loc: Loc) -> &mut TenantDraft {
        if !self.tenants.contains_key(&id) {
            self.tenant_order.push(id);
        }
        self.tenants.entry(id).or_insert_with(|| TenantDraft {
            loc,
            ..TenantDraft::default()
        })
    }

    /// Offers a tenant name with `rank`.
    pub fn tenant_name(&mut self, id: Guid, loc: Loc, rank: Rank, name: &str) {
        let name = name.trim();
        if !name.is_empty() {
            better(&mut self.tenant(id, loc).name, rank, name.to_owned());
        }
    }

    /// Offers a tenant domain with `rank`.
    pub fn tenant_domain(&mut self, id: Guid, loc: Loc, rank: Rank, domain: &str) {
        let domain = domain.trim();
        if !domain.is_empty() {
            better(
                &mut self.tenant(id, loc).domain,
                rank,
                domain.to_ascii_lowercase(),
            );
        }
    }

    /// Offers a tenant kind with `rank`.
    pub fn tenant_kind(&mut self, id: Guid, loc: Loc, rank: Rank, kind: TenantKind) {
        better(&mut self.tenant(id, loc).kind, rank, kind);
    }

    /// Adds or merges a relationship, keyed by partner, customer, kind and
    /// GDAP id. A conflicting state from another source is reported.
    pub fn relationship(&mut self, r: Relationship, rank: Rank) {
        let key = (
            r.partner_tenant_id,
            r.customer_tenant_id,
            r.kind,
            r.relationship_id.clone(),
        );
        self.used("relationships", r.loc);
        match self.rel_index.get(&key).copied() {
            None => {
                self.rel_index
                    .insert(key, (self.snapshot.relationships.len(), rank));
                self.snapshot.relationships.push(r);
            }
            Some((i, old_rank)) => {
                let old = self.snapshot.relationships[i].clone();
                if old.state != r.state {
                    let keep = if rank > old_rank { r.state } else { old.state };
                    let d = Diagnostic::warning(
                        self.file_of(r.loc),
                        format!(
                            "{} relationship of `{}` with `{}` is `{}` here but `{}` in {}: `{keep}` is kept",
                            r.kind,
                            r.partner_tenant_id,
                            r.customer_tenant_id,
                            r.state,
                            old.state,
                            self.snapshot.cite(old.loc),
                        ),
                    )
                    .at_line(r.loc.line)
                    .with_field("state");
                    self.diagnostics.push(d);
                }
                let (mut hi, lo) = if rank > old_rank { (r, old) } else { (old, r) };
                hi.started_at = hi.started_at.or(lo.started_at);
                hi.ended_at = hi.ended_at.or(lo.ended_at);
                hi.last_activity_at = hi.last_activity_at.or(lo.last_activity_at);
                hi.auto_extend = hi.auto_extend.or(lo.auto_extend);
                if hi.roles.is_empty() {
                    hi.roles = lo.roles;
                }
                self.snapshot.relationships[i] = hi;
                self.rel_index.insert(key, (i, rank.max(old_rank)));
            }
        }
    }

    /// Adds or merges a principal (object ids are unique across tenants).
    pub fn principal(&mut self, p: Principal, rank: Rank) {
        self.used("principals", p.loc);
        if let Some(upn) = &p.upn {
            self.upn_index
                .entry(upn.to_ascii_lowercase())
                .or_insert(p.principal_id);
        }
        match self.principal_index.get(&p.principal_id).copied() {
            None => {
                self.principal_index
                    .insert(p.principal_id, (self.snapshot.principals.len(), rank));
                self.snapshot.principals.push(p);
            }
            Some((i, old_rank)) => {
                let old = &mut self.snapshot.principals[i];
                let (mut hi, lo) = if rank > old_rank {
                    (p, old.clone())
                } else {
                    (old.clone(), p)
                };
                hi.upn = hi.upn.or(lo.upn);
                hi.enabled = hi.enabled.or(lo.enabled);
                hi.agent_group = hi.agent_group.or(lo.agent_group);
                *old = hi;
                self.principal_index
                    .insert(old.principal_id, (i, rank.max(old_rank)));
            }
        }
    }

    /// Records a group known only by its id (the parent of a members
    /// listing, a GDAP access container) unless some listing has it: named
    /// by its id, never counted as a row read.
    pub fn known_group(&mut self, tenant: Guid, id: Guid, loc: Loc) {
        if self.principal_index.contains_key(&id) {
            return;
        }
        self.principal_index
            .insert(id, (self.snapshot.principals.len(), 0));
        self.snapshot.principals.push(principal(
            loc,
            tenant,
            id,
            PrincipalKind::Group,
            &id.to_string(),
            None,
            None,
        ));
    }

    /// The tenant object `id` lives in: from a principal listing, else from
    /// memberships or GDAP access assignments naming it.
    pub fn home_of(&self, id: Guid) -> Option<Guid> {
        self.find_principal(id)
            .map(|p| p.tenant_id)
            .or_else(|| self.object_tenant.get(&id).copied())
    }

    /// The principal with id `id`, if any source listed it.
    pub fn find_principal(&self, id: Guid) -> Option<&Principal> {
        self.principal_index
            .get(&id)
            .map(|&(i, _)| &self.snapshot.principals[i])
    }

    /// Adds a membership (exact duplicates merge).
    pub fn membership(&mut self, m: Membership) {
        self.used("memberships", m.loc);
        self.object_tenant.entry(m.group_id).or_insert(m.tenant_id);
        self.object_tenant.entry(m.member_id).or_insert(m.tenant_id);
        if self
            .membership_seen
            .insert((m.tenant_id, m.group_id, m.member_id))
        {
            self.snapshot.memberships.push(m);
        }
    }

    /// Adds a role assignment (same tenant, scope, role and principal merge).
    pub fn role_assignment(&mut self, a: RoleAssignment) {
        self.used("role_assignments", a.loc);
        let key = (a.tenant_id, a.scope.clone(), a.role, a.principal_id);
        match self.ra_index.get(&key) {
            None => {
                self.ra_index
                    .insert(key, self.snapshot.role_assignments.len());
                self.snapshot.role_assignments.push(a);
            }
            Some(&i) => {
                let old = &mut self.snapshot.role_assignments[i];
                old.principal_tenant_id = old.principal_tenant_id.or(a.principal_tenant_id);
                old.created_at = old.created_at.or(a.created_at);
            }
        }
    }

    /// Adds or merges a subscription (by id).
    pub fn subscription(&mut self, s: Subscription) {
        self.used("subscriptions", s.loc);
        match self.sub_index.get(&s.subscription_id) {
            None => {
                self.sub_index
                    .insert(s.subscription_id, self.snapshot.subscriptions.len());
                self.snapshot.subscriptions.push(s);
            }
            Some(&i) => {
                let (old_tenant, old_loc) = {
                    let o = &self.snapshot.subscriptions[i];
                    (o.tenant_id, o.loc)
                };
                if old_tenant != s.tenant_id {
                    let d = Diagnostic::warning(
                        self.file_of(s.loc),
                        format!(
                            "subscription `{}` belongs to tenant `{}` here but to `{old_tenant}` in {}: the first is kept",
                            s.subscription_id,
                            s.tenant_id,
                            self.snapshot.cite(old_loc)
                        ),
                    )
                    .at_line(s.loc.line)
                    .with_field("tenantId");
                    self.diagnostics.push(d);
                }
                let old = &mut self.snapshot.subscriptions[i];
                old.state = old.state.take().or(s.state);
                old.created_at = old.created_at.or(s.created_at);
                old.provisioned_by_tenant_id =
                    old.provisioned_by_tenant_id.or(s.provisioned_by_tenant_id);
            }
        }
    }

    /// The tenant owning subscription `id`, when a subscription listing says.
    pub fn subscription_tenant(&self, id: Guid) -> Option<Guid> {
        self.sub_index
            .get(&id)
            .map(|&i| self.snapshot.subscriptions[i].tenant_id)
    }

    /// Adds or merges a device (by tenant and serial, case-insensitive): the
    /// source that knows the uploader (higher rank) wins.
    pub fn device(&mut self, d: Device, rank: Rank) {
        self.used("devices", d.loc);
        let key = (d.tenant_id, d.device_id.to_ascii_uppercase());
        match self.device_index.get(&key).copied() {
            None => {
                self.device_index
                    .insert(key, (self.snapshot.devices.len(), rank));
                self.snapshot.devices.push(d);
            }
            Some((i, old_rank)) => {
                let old = &mut self.snapshot.devices[i];
                let (mut hi, lo) = if rank > old_rank {
                    (d, old.clone())
                } else {
                    (old.clone(), d)
                };
                hi.profile_id = hi.profile_id.or(lo.profile_id);
                *old = hi;
                self.device_index.insert(key, (i, rank.max(old_rank)));
            }
        }
    }

    /// Adds an Autopilot profile (by tenant and id).
    pub fn profile(&mut self, p: AutopilotProfile) {
        self.used("autopilot_profiles", p.loc);
        let key = (p.tenant_id, p.profile_id.to_ascii_lowercase());
        match self.profile_index.get(&key) {
            None => {
                self.profile_index
                    .insert(key, self.snapshot.autopilot_profiles.len());
                self.snapshot.autopilot_profiles.push(p);
            }
            Some(&i) => {
                let old = &mut self.snapshot.autopilot_profiles[i];
                old.created_by_tenant_id = old.created_by_tenant_id.or(p.created_by_tenant_id);
            }
        }
    }

    /// Adds a GDAP access assignment, keyed by relationship and the
    /// assignment's own id (or its group).
    pub fn access_assignment(&mut self, a: GdapAccessAssignment, id: String) {
        self.used("gdap_access_assignments", a.loc);
        let key = (a.relationship_id.clone(), id);
        if let std::collections::hash_map::Entry::Vacant(e) = self.aa_index.entry(key) {
            e.insert(self.snapshot.gdap_access_assignments.len());
            self.snapshot.gdap_access_assignments.push(a);
        }
    }

    /// Adds a Lighthouse delegation (by tenant, scope and definition).
    pub fn lighthouse_delegation(&mut self, d: LighthouseDelegation) {
        let key = format!(
            "d|{}|{}|{}",
            d.tenant_id,
            d.scope.as_str().to_ascii_lowercase(),
            d.definition_id
        );
        if self.channel_keys.insert(key) {
            self.used("lighthouse_delegations", d.loc);
            self.snapshot.lighthouse_delegations.push(d);
        }
    }

    /// Adds a Lighthouse authorization (by tenant, definition, principal,
    /// role and access: a definition listed and expanded is one).
    pub fn lighthouse_authorization(&mut self, a: LighthouseAuthorization) {
        let key = format!(
            "a|{}|{}|{}|{}|{}",
            a.tenant_id,
            a.definition_id,
            a.principal_id,
            a.role().0,
            a.access
        );
        if self.channel_keys.insert(key) {
            self.used("lighthouse_authorizations", a.loc);
            self.snapshot.lighthouse_authorizations.push(a);
        }
    }

    /// Adds a service principal (by tenant and object id).
    pub fn service_principal(&mut self, p: ServicePrincipal) {
        if self
            .channel_keys
            .insert(format!("s|{}|{}", p.tenant_id, p.principal_id))
        {
            self.used("service_principals", p.loc);
            self.snapshot.service_principals.push(p);
        }
    }

    /// Adds an app permission (by tenant, client, kind, resource,
    /// permission and consenting user).
    pub fn app_permission(&mut self, p: AppPermission) {
        let key = format!(
            "p|{}|{}|{}|{:?}|{}|{:?}",
            p.tenant_id,
            p.client_id,
            p.kind,
            p.resource_id,
            p.permission.to_ascii_lowercase(),
            p.principal_id
        );
        if self.channel_keys.insert(key) {
            self.used("app_permissions", p.loc);
            self.snapshot.app_permissions.push(p);
        }
    }

    /// Interns a role text into the snapshot's role table.
    pub fn role(&mut self, text: &str) -> Option<RoleId> {
        self.snapshot.roles.intern(text)
    }

    /// Finishes: tenants get their kind (default customer) and name
    /// (default the folder name or the id), diagnostics are sorted.
    pub fn finish(
        mut self,
        manifest: Manifest,
        folder_names: &BTreeMap<Guid, String>,
    ) -> crate::snapshot::Loaded {
        for id in std::mem::take(&mut self.tenant_order) {
            let Some(d) = self.tenants.get(&id) else {
                continue;
            };
            let name = d
                .name
                .as_ref()
                .map(|(_, n)| n.clone())
                .or_else(|| {
                    folder_names
                        .get(&id)
                        .filter(|n| Guid::parse(n).is_none())
                        .cloned()
                })
                .unwrap_or_else(|| id.to_string());
            let t = Tenant {
                loc: d.loc,
                tenant_id: id,
                name: name.into(),
                kind: d.kind.map_or(TenantKind::Customer, |(_, k)| k),
                domain: d.domain.as_ref().map(|(_, x)| x.clone().into()),
            };
            self.used("tenants", t.loc);
            self.snapshot.tenants.push(t);
        }
        self.snapshot.manifest = Manifest {
            format_version: 1,
            ..manifest
        };
        // Sources that name the same object are merged above; what still
        // repeats a key (a GDAP id under two customers, say) follows the
        // canonical loader's policy.
        crate::snapshot::dedup::reject_duplicates(
            &mut self.snapshot,
            &crate::snapshot::dedup::ColumnMaps::new(),
            &mut self.diagnostics,
        );
        crate::snapshot::diag::sort_diagnostics(&mut self.diagnostics);
        crate::snapshot::Loaded {
            snapshot: self.snapshot,
            diagnostics: self.diagnostics,
        }
    }
}

/// A principal row with the agent group derived from its name, as the
/// canonical loader does for groups.
pub(crate) fn principal(
    loc: Loc,
    tenant_id: Guid,
    principal_id: Guid,
    kind: PrincipalKind,
    display_name: &str,
    upn: Option<&str>,
    enabled: Option<bool>,
) -> Principal {
    Principal {
        loc,
        tenant_id,
        principal_id,
        kind,
        display_name: display_name.into(),
        upn: upn.map(Into::into),
        enabled,
        agent_group: (kind == PrincipalKind::Group)
            .then(|| AgentGroup::from_group_name(display_name))
            .flatten(),
    }
}

/// A relationship row without the GDAP-only fields.
pub(crate) fn simple_relationship(
    loc: Loc,
    partner: Guid,
    customer: Guid,
    kind: RelKind,
    state: RelState,
) -> Relationship {
    Relationship {
        loc,
        partner_tenant_id: partner,
        customer_tenant_id: customer,
        kind,
        state,
        started_at: None,
        ended_at: None,
        relationship_id: None,
        roles: Vec::new(),
        auto_extend: None,
        last_activity_at: None,
    }
}

/// A device row.
pub(crate) fn device(
    loc: Loc,
    tenant_id: Guid,
    serial: &str,
    added_by: Guid,
    via: AddedVia,
    profile_id: Option<&str>,
) -> Device {
    Device {
        loc,
        tenant_id,
        device_id: serial.into(),
        added_by_tenant_id: added_by,
        added_via: via,
        profile_id: profile_id.map(Into::into),
    }
}
