//! Writing a snapshot as a canonical v1 snapshot directory: one CSV file per
//! table (every table, header only when empty) and `manifest.json`.
//!
//! The bytes depend only on the snapshot: rows in snapshot order, columns in
//! SPEC §3 order, dates in RFC 3339 UTC, roles by display name (a custom
//! role known only by id by its GUID), LF line ends. The directory is written
//! next to its destination under a temporary name and renamed into place, so
//! a reader never sees half a snapshot; an existing snapshot directory at
//! the destination is replaced, any other non-empty directory is refused.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use jiff::Timestamp;

use crate::snapshot::roles::{RoleId, RolePlane, RoleTable};
use crate::snapshot::{Guid, Snapshot};

/// Why a snapshot could not be written.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// The destination exists and is not a snapshot this command may replace.
    #[error(
        "refusing to overwrite `{0}`: it exists and is not a snapshot directory (no manifest.json)"
    )]
    NotASnapshot(String),
    /// A file system error.
    #[error("cannot write `{path}`: {source}")]
    Io {
        /// The path concerned.
        path: String,
        /// The error.
        source: io::Error,
    },
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> WriteError + '_ {
    move |source| WriteError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// The canonical CSV files of `s`: (file name, bytes), in table order.
pub fn render(s: &Snapshot) -> Vec<(String, Vec<u8>)> {
    let r = &s.roles;
    let mut out = Vec::new();
    let g = |x: Guid| x.to_string();
    let og = |x: Option<Guid>| x.map(g).unwrap_or_default();
    let ot = |x: Option<Timestamp>| x.map(|t| t.to_string()).unwrap_or_default();
    let os = |x: &Option<Box<str>>| x.as_deref().unwrap_or("").to_owned();
    let ob = |x: Option<bool>| x.map(|b| b.to_string()).unwrap_or_default();

    let mut table = |name: &str, rows: Vec<Vec<String>>| {
        out.push((
            format!("{name}.csv"),
            csv_bytes(&crate::snapshot::column_names(name), &rows),
        ));
    };
    table(
        "tenants",
        s.tenants
            .iter()
            .map(|t| {
                vec![
                    g(t.tenant_id),
                    t.name.to_string(),
                    t.kind.to_string(),
                    os(&t.domain),
                ]
            })
            .collect(),
    );
    table(
        "relationships",
        s.relationships
            .iter()
            .map(|x| {
                vec![
                    g(x.partner_tenant_id),
                    g(x.customer_tenant_id),
                    x.kind.to_string(),
                    x.state.to_string(),
                    ot(x.started_at),
                    ot(x.ended_at),
                    os(&x.relationship_id),
                    roles(r, &x.roles),
                    x.auto_extend
                        .as_ref()
                        .map(|d| d.text.to_string())
                        .unwrap_or_default(),
                    ot(x.last_activity_at),
                ]
            })
            .collect(),
    );
    table(
        "principals",
        s.principals
            .iter()
            .map(|p| {
                vec![
                    g(p.tenant_id),
                    g(p.principal_id),
                    p.kind.to_string(),
                    p.display_name.to_string(),
                    os(&p.upn),
                    ob(p.enabled),
                    p.agent_group.map(|a| a.to_string()).unwrap_or_default(),
                ]
            })
            .collect(),
    );
    table(
        "memberships",
        s.memberships
            .iter()
            .map(|m| vec![g(m.tenant_id), g(m.group_id), g(m.member_id)])
            .collect(),
    );
    table(
        "role_assignments",
        s.role_assignments
            .iter()
            .map(|a| {
                vec![
                    g(a.tenant_id),
                    a.scope.as_str().to_owned(),
                    role(r, a.role),
                    g(a.principal_id),
                    og(a.principal_tenant_id),
                    ot(a.created_at),
                ]
            })
            .collect(),
    );
    table(
        "subscriptions",
        s.subscriptions
            .iter()
            .map(|x| {
                vec![
                    g(x.tenant_id),
                    g(x.subscription_id),
                    x.name.to_string(),
                    og(x.provisioned_by_tenant_id),
                    os(&x.state),
                    ot(x.created_at),
                ]
            })
            .collect(),
    );
    table(
        "devices",
        s.devices
            .iter()
            .map(|d| {
                vec![
                    g(d.tenant_id),
                    d.device_id.to_string(),
                    g(d.added_by_tenant_id),
                    d.added_via.to_string(),
                    os(&d.profile_id),
                ]
            })
            .collect(),
    );
    table(
        "autopilot_profiles",
        s.autopilot_profiles
            .iter()
            .map(|p| {
                vec![
                    g(p.tenant_id),
                    p.profile_id.to_string(),
                    p.name.to_string(),
                    og(p.created_by_tenant_id),
                ]
            })
            .collect(),
    );
    table(
        "invitations",
        s.invitations
            .iter()
            .map(|i| {
                vec![
                    g(i.partner_tenant_id),
                    i.invitation_id.to_string(),
                    g(i.sent_by),
                    i.sent_at.to_string(),
                    og(i.customer_tenant_id),
                    ot(i.accepted_at),
                    ob(i.includes_dap),
                ]
            })
            .collect(),
    );
    table(
        "gdap_access_assignments",
        s.gdap_access_assignments
            .iter()
            .map(|a| {
                vec![
                    a.relationship_id.to_string(),
                    g(a.group_id),
                    roles(r, &a.roles),
                    os(&a.state),
                ]
            })
            .collect(),
    );
    render_channels(s, &mut table);
    out.push(("manifest.json".to_owned(), manifest_bytes(s)));
    out
}

/// The Azure Lighthouse and partner-app tables.
fn render_channels(s: &Snapshot, table: &mut impl FnMut(&str, Vec<Vec<String>>)) {
    let r = &s.roles;
    let g = |x: Guid| x.to_string();
    let og = |x: Option<Guid>| x.map(g).unwrap_or_default();
    let ot = |x: Option<Timestamp>| x.map(|t| t.to_string()).unwrap_or_default();
    let os = |x: &Option<Box<str>>| x.as_deref().unwrap_or("").to_owned();
    let ob = |x: Option<bool>| x.map(|b| b.to_string()).unwrap_or_default();
    table(
        "lighthouse_delegations",
        s.lighthouse_delegations
            .iter()
            .map(|d| {
                vec![
                    g(d.tenant_id),
                    d.scope.as_str().to_owned(),
                    g(d.definition_id),
                    g(d.managing_tenant_id),
                    os(&d.managing_tenant_name),
                    os(&d.offer_name),
                    og(d.assignment_id),
                    os(&d.state),
                ]
            })
            .collect(),
    );
    table(
        "lighthouse_authorizations",
        s.lighthouse_authorizations
            .iter()
            .map(|a| {
                vec![
                    g(a.tenant_id),
                    g(a.definition_id),
                    g(a.principal_id),
                    role(r, a.role()),
                    a.access.to_string(),
                    os(&a.principal_name),
                    roles(r, a.delegated_roles()),
                    os(&a.mfa_provider),
                    a.max_activation
                        .as_ref()
                        .map_or(String::new(), |d| d.text.to_string()),
                    a.approvers
                        .iter()
                        .map(|x| g(*x))
                        .collect::<Vec<_>>()
                        .join(";"),
                ]
            })
            .collect(),
    );
    table(
        "service_principals",
        s.service_principals
            .iter()
            .map(|p| {
                vec![
                    g(p.tenant_id),
                    g(p.principal_id),
                    g(p.app_id),
                    p.display_name.to_string(),
                    og(p.owner_tenant_id),
                    ob(p.enabled),
                ]
            })
            .collect(),
    );
    table(
        "app_permissions",
        s.app_permissions
            .iter()
            .map(|p| {
                vec![
                    g(p.tenant_id),
                    g(p.client_id),
                    p.permission.to_string(),
                    p.kind.to_string(),
                    og(p.resource_id),
                    os(&p.resource_name),
                    p.consent_type.map_or(String::new(), |c| c.to_string()),
                    og(p.principal_id),
                    ot(p.granted_at),
                ]
            })
            .collect(),
    );
}

/// A role as a canonical cell: its name, or its GUID for a custom role known only by id.
fn role(t: &RoleTable, id: RoleId) -> String {
    let info = t.info(id);
    match (info.plane, info.template_id) {
        (RolePlane::Custom, Some(g)) => g.to_string(),
        _ => info.name.to_string(),
    }
}

fn roles(t: &RoleTable, ids: &[RoleId]) -> String {
    ids.iter()
        .map(|&r| role(t, r))
        .collect::<Vec<_>>()
        .join(";")
}

fn csv_bytes(header: &[&str], rows: &[Vec<String>]) -> Vec<u8> {
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::Any(b'\n'))
        .from_writer(Vec::new());
    // Writing into memory cannot fail.
    let _ = w.write_record(header);
    for row in rows {
        let _ = w.write_record(row);
    }
    w.into_inner().unwrap_or_default()
}

fn manifest_bytes(s: &Snapshot) -> Vec<u8> {
    /// `manifest.json` with its keys in the documented order.
    #[derive(serde::Serialize)]
    struct Out<'a> {
        format_version: u32,
        #[serde(skip_serializing_if = "Option::is_none")]
        captured_at: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        perspective: Option<&'static str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        source: Option<&'a str>,
        #[serde(skip_serializing_if = "<[_]>::is_empty")]
        incomplete: &'a [crate::snapshot::Incomplete],
    }
    let m = &s.manifest;
    let out = Out {
        format_version: 1,
        captured_at: m.captured_at.map(|t| t.to_string()),
        perspective: m.perspective.map(|p| p.as_str()),
        source: m.source.as_deref(),
        incomplete: &m.incomplete,
    };
    let mut bytes = serde_json::to_vec_pretty(&out).unwrap_or_default();
    bytes.push(b'\n');
    bytes
}

/// One line saying what was written: rows per non-empty table.
pub fn summary(s: &Snapshot, out: &Path) -> String {
    let counts: Vec<String> = crate::snapshot::TABLES
        .iter()
        .filter_map(|t| {
            let n = match *t {
                "tenants" => s.tenants.len(),
                "relationships" => s.relationships.len(),
                "principals" => s.principals.len(),
                "memberships" => s.memberships.len(),
                "role_assignments" => s.role_assignments.len(),
                "subscriptions" => s.subscriptions.len(),
                "devices" => s.devices.len(),
                "autopilot_profiles" => s.autopilot_profiles.len(),
                "invitations" => s.invitations.len(),
                "gdap_access_assignments" => s.gdap_access_assignments.len(),
                "lighthouse_delegations" => s.lighthouse_delegations.len(),
                "lighthouse_authorizations" => s.lighthouse_authorizations.len(),
                "service_principals" => s.service_principals.len(),
                _ => s.app_permissions.len(),
            };
            (n > 0).then(|| format!("{n} {t}"))
        })
        .collect();
    format!("wrote {} ({})", out.display(), counts.join(", "))
}

/// Writes `s` as a canonical snapshot directory at `out` (see the module docs).
pub fn write_snapshot(s: &Snapshot, out: &Path) -> Result<(), WriteError> {
    if out.exists() {
        let is_empty_dir = fs::read_dir(out)
            .map(|mut d| d.next().is_none())
            .unwrap_or(false);
        if !out.is_dir() || !(is_empty_dir || out.join("manifest.json").is_file()) {
            return Err(WriteError::NotASnapshot(out.display().to_string()));
        }
    }
    let parent = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    fs::create_dir_all(&parent).map_err(io_err(&parent))?;
    let name = out.file_name().map_or_else(
        || "snapshot".to_owned(),
        |n| n.to_string_lossy().into_owned(),
    );
    let tmp = parent.join(format!(".{name}.tmp-{}", std::process::id()));
    if tmp.exists() {
        fs::remove_dir_all(&tmp).map_err(io_err(&tmp))?;
    }
    fs::create_dir(&tmp).map_err(io_err(&tmp))?;
    for (file, bytes) in render(s) {
        let p = tmp.join(file);
        fs::write(&p, bytes).map_err(io_err(&p))?;
    }
    if out.exists() {
        let old = parent.join(format!(".{name}.old-{}", std::process::id()));
        fs::rename(out, &old).map_err(io_err(out))?;
        fs::rename(&tmp, out).map_err(io_err(out))?;
        fs::remove_dir_all(&old).map_err(io_err(&old))?;
    } else {
        fs::rename(&tmp, out).map_err(io_err(out))?;
    }
    Ok(())
}
