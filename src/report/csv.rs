//! `findings.csv` and `access.csv`, for spreadsheets, SIEM and ticket
//! systems.
//!
//! Written with the csv crate (quoting of commas, quotes and line breaks);
//! every cell goes through [`escape::csv_cell`], so a snapshot string that
//! starts like a formula (`=`, `+`, `-`, `@`, tab, CR) stays text.
//!
//! Every object id comes with the name (and UPN) it stands for in a column
//! of its own, so that no consumer has to parse the prose columns (`paths`,
//! `path`, `evidence`). A list cell holds one item a line, and its
//! companion columns (`principals`, `principal_names`, `principal_upns`)
//! hold as many lines in the same order: a line break inside a name is
//! shown as U+FFFD there, so that it cannot shift the items.

use std::io::{self, Write};

use rayon::prelude::*;

use super::access;
use super::escape::csv_cell;
use super::{Outcome, Report};
use crate::graph::{Hop, Node};
use crate::snapshot::Guid;

fn writer(w: &mut dyn Write) -> ::csv::Writer<&mut dyn Write> {
    ::csv::WriterBuilder::new()
        .terminator(::csv::Terminator::CRLF)
        .from_writer(w)
}

fn row<W: Write>(w: &mut ::csv::Writer<W>, cells: &[String]) -> io::Result<()> {
    let cells: Vec<std::borrow::Cow<'_, str>> = cells.iter().map(|c| csv_cell(c)).collect();
    w.write_record(cells.iter().map(|c| c.as_bytes()))
        .map_err(io::Error::other)
}

/// One item of a list cell: a line break would split it in two, so CR and
/// LF are shown as U+FFFD (like every other hidden character).
fn item(s: &str) -> std::borrow::Cow<'_, str> {
    if s.contains(['\r', '\n']) {
        std::borrow::Cow::Owned(s.replace(['\r', '\n'], "\u{fffd}"))
    } else {
        std::borrow::Cow::Borrowed(s)
    }
}

/// A list cell: one item a line.
fn list<'s>(items: impl Iterator<Item = &'s str>) -> String {
    let mut out = String::new();
    for (i, s) in items.enumerate() {
        if i > 0 {
            out.push('\n');
        }
        out.push_str(&item(s));
    }
    out
}

/// The display name and UPN of a principal id, as the snapshot has them;
/// empty for a principal the snapshot does not hold (an unresolved
/// reference: its id is all there is).
fn name_and_upn<'r>(r: &'r Report<'_>, id: Guid) -> (&'r str, &'r str) {
    match r
        .graph
        .principal(r.snapshot, &id)
        .map(|n| &r.graph.graph[n])
    {
        Some(Node::Principal(i)) => {
            let p = &r.snapshot.principals[*i as usize];
            (&*p.display_name, p.upn.as_deref().unwrap_or_default())
        }
        _ => ("", ""),
    }
}

/// The groups of an explaining path after its member, as the `path`
/// column shows them: ids and display names, one a line each; the groups
/// left out of a long path are one line `… N more groups …` in both.
fn path_groups(r: &Report<'_>, groups: &[Hop]) -> (String, String) {
    let mut ids = Vec::with_capacity(groups.len());
    let mut names = Vec::with_capacity(groups.len());
    for hop in groups {
        let (id, name) = match *hop {
            Hop::Elided(k) => {
                let gap = format!("… {k} more group{} …", if k == 1 { "" } else { "s" });
                (gap.clone(), gap)
            }
            Hop::Node(n) => match &r.graph.graph[n] {
                Node::Principal(i) => {
                    let p = &r.snapshot.principals[*i as usize];
                    (p.principal_id.to_string(), p.display_name.to_string())
                }
                Node::Unresolved { id } => (id.to_string(), String::new()),
                Node::App(i) => {
                    let p = &r.snapshot.service_principals[*i as usize];
                    (p.principal_id.to_string(), p.display_name.to_string())
                }
                Node::Placeholder { group, .. } => (
                    String::new(),
                    format!("{} (members unknown)", group.group_name()),
                ),
                Node::Resource { .. } => (String::new(), String::new()),
            },
        };
        ids.push(id);
        names.push(name);
    }
    (
        list(ids.iter().map(String::as_str)),
        list(names.iter().map(String::as_str)),
    )
}

/// Columns of findings.csv.
pub const FINDINGS_HEADER: &[&str] = &[
    "id",
    "status",
    "rule",
    "severity",
    "title",
    "message",
    "customer_tenant_id",
    "customer_name",
    "partner_tenant_id",
    "partner_name",
    "resource_kind",
    "resource",
    "role",
    "assignment_principal_id",
    "assignment_principal_name",
    "assignment_principal_upn",
    "assignment_scope",
    "assignment_role",
    "assignment_source",
    "principals",
    "principal_names",
    "principal_upns",
    "principals_known",
    "paths",
    "evidence",
    "remediation",
];

/// Writes findings.csv: one row per open finding (waived ones are left
/// out); `status` is `new`/`unchanged` with a baseline, else empty. List
/// cells join their items with a line break; `principal_names` and
/// `principal_upns` have one line per id of `principals` (an empty line
/// for a user without UPN).
pub fn write_findings(o: &Outcome<'_>, w: &mut dyn Write) -> io::Result<()> {
    let r = o.report;
    let mut out = writer(w);
    row(
        &mut out,
        &FINDINGS_HEADER
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>(),
    )?;
    out.flush()?;
    drop(out);
    // Rows are rendered in parallel batches and written in order.
    super::write_in_order(&o.open, b"", w, |_, x| {
        let mut buf = Vec::with_capacity(1024);
        let mut out = writer(&mut buf);
        finding_row(&mut out, r, x)?;
        out.flush()?;
        drop(out);
        Ok(buf)
    })
}

/// One row of findings.csv.
fn finding_row<W: Write>(
    out: &mut ::csv::Writer<W>,
    r: &Report<'_>,
    x: &super::Open<'_>,
) -> io::Result<()> {
    let opt = |g: Option<crate::snapshot::Guid>| g.map(|g| g.to_string()).unwrap_or_default();
    {
        let f = x.finding;
        let paths: Vec<String> = f
            .paths
            .iter()
            .map(|p| crate::engine::render_path(r.snapshot, r.graph, *p))
            .collect();
        let principals: Vec<String> = f.principals.iter().map(ToString::to_string).collect();
        let named: Vec<(&str, &str)> = f.principals.iter().map(|&p| name_and_upn(r, p)).collect();
        let a = f.assignment.as_deref();
        let a_named = a.map(|a| name_and_upn(r, a.principal_id));
        row(
            out,
            &[
                f.id.clone(),
                x.status.map(|s| s.as_str().to_string()).unwrap_or_default(),
                f.rule.to_string(),
                f.severity.as_str().to_string(),
                f.title.to_string(),
                f.message.clone(),
                opt(f.customer_tenant_id),
                f.customer_tenant_id
                    .map(|t| r.tenant_name(t))
                    .unwrap_or_default(),
                opt(f.partner_tenant_id),
                f.partner_tenant_id
                    .map(|t| r.tenant_name(t))
                    .unwrap_or_default(),
                f.resource
                    .as_ref()
                    .map(|x| x.kind.to_string())
                    .unwrap_or_default(),
                f.resource
                    .as_ref()
                    .map(|x| x.scope.clone().unwrap_or_else(|| x.id.clone()))
                    .unwrap_or_default(),
                f.role.as_deref().unwrap_or_default().to_owned(),
                a.map(|a| a.principal_id.to_string()).unwrap_or_default(),
                a_named.map(|n| n.0.to_owned()).unwrap_or_default(),
                a_named.map(|n| n.1.to_owned()).unwrap_or_default(),
                a.map(|a| a.scope.clone()).unwrap_or_default(),
                a.map(|a| a.role.clone()).unwrap_or_default(),
                a.map(|a| a.source.clone()).unwrap_or_default(),
                principals.join("\n"),
                list(named.iter().map(|n| n.0)),
                list(named.iter().map(|n| n.1)),
                f.principals_known.to_string(),
                paths.join("\n"),
                r.evidence(f).join("\n"),
                f.remediation.to_string(),
            ],
        )
    }
}

/// Columns of access.csv.
pub const ACCESS_HEADER: &[&str] = &[
    "principal_id",
    "principal_kind",
    "display_name",
    "upn",
    "home_tenant_id",
    "home_tenant_name",
    "tenant_id",
    "tenant_name",
    "resource",
    "role",
    "access",
    "listed",
    "justifying_relationship",
    "path",
    "path_group_ids",
    "path_group_names",
];

/// Writes access.csv: who can access what (every effective-access row,
/// partner groups with unknown members included). `path_group_ids` and
/// `path_group_names` list the groups of `path` after the principal,
/// member side first, one a line.
pub fn write_access(o: &Outcome<'_>, w: &mut dyn Write) -> io::Result<()> {
    write_access_grouped(o, w).map(drop)
}

/// [`write_access`], returning each tenant's run of rows (its sort key
/// and row count), which a sharded run records for `merge`. Under
/// `--shard`, only the rows of the shard's tenants are written.
pub fn write_access_grouped(
    o: &Outcome<'_>,
    w: &mut dyn Write,
) -> io::Result<Vec<crate::shard::AccessGroup>> {
    let mut out = writer(w);
    row(
        &mut out,
        &ACCESS_HEADER
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>(),
    )?;
    out.flush()?;
    drop(out);
    let shard = o.report.shard;
    let r = o.report;
    let by = access::ByTenant::new(r, |t, _| shard.is_none_or(|s| s.owns_tenant(t)));
    let mut groups: Vec<crate::shard::AccessGroup> = Vec::new();
    // Tenants are made and rendered in parallel batches and written in
    // order: only one batch of rows is held at a time.
    for batch in by.tenants.chunks(ACCESS_BATCH) {
        let rendered: Vec<io::Result<(u64, Vec<u8>)>> = batch
            .par_iter()
            .map(|t| {
                let lines = by.lines(r, t);
                let mut buf = Vec::with_capacity(lines.len() * 384);
                let mut out = writer(&mut buf);
                for l in &lines {
                    access_row(&mut out, r, l)?;
                }
                out.flush()?;
                drop(out);
                Ok((lines.len() as u64, buf))
            })
            .collect();
        for (t, done) in batch.iter().zip(rendered) {
            let (rows, bytes) = done?;
            if rows > 0 {
                groups.push(crate::shard::AccessGroup(t.name.clone(), t.id, rows));
            }
            w.write_all(&bytes)?;
        }
    }
    Ok(groups)
}

/// How many tenants' access rows are made at once.
const ACCESS_BATCH: usize = 64;

/// One row of access.csv.
fn access_row<W: Write>(
    out: &mut ::csv::Writer<W>,
    r: &Report<'_>,
    l: &access::AccessLine,
) -> io::Result<()> {
    let (group_ids, group_names) = path_groups(r, &l.groups);
    row(
        out,
        &[
            l.principal_id.map(|g| g.to_string()).unwrap_or_default(),
            l.principal_kind.to_string(),
            l.display_name.clone(),
            l.upn.clone().unwrap_or_default(),
            l.home_tenant_id.map(|g| g.to_string()).unwrap_or_default(),
            l.home_tenant_name.clone(),
            l.tenant_id.to_string(),
            l.tenant_name.clone(),
            l.resource.clone(),
            l.role.clone(),
            if l.implicit { "implicit" } else { "explicit" }.to_string(),
            l.listed.to_string(),
            l.justification.clone(),
            l.path.clone(),
            group_ids,
            group_names,
        ],
    )
}
