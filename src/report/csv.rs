//! `findings.csv` and `access.csv`, for spreadsheets.
//!
//! Written with the csv crate (quoting of commas, quotes and line breaks);
//! every cell goes through [`escape::csv_cell`], so a snapshot string that
//! starts like a formula (`=`, `+`, `-`, `@`, tab, CR) stays text.

use std::io::{self, Write};

use super::access;
use super::escape::csv_cell;
use super::Outcome;

fn writer(w: &mut dyn Write) -> ::csv::Writer<&mut dyn Write> {
    ::csv::WriterBuilder::new()
        .terminator(::csv::Terminator::CRLF)
        .from_writer(w)
}

fn row<W: Write>(w: &mut ::csv::Writer<W>, cells: &[String]) -> io::Result<()> {
    w.write_record(cells.iter().map(|c| csv_cell(c).into_owned()))
        .map_err(io::Error::other)
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
    "assignment_scope",
    "assignment_role",
    "assignment_source",
    "principals",
    "principals_known",
    "paths",
    "evidence",
    "remediation",
];

/// Writes findings.csv: one row per open finding (waived ones are left
/// out); `status` is `new`/`unchanged` with a baseline, else empty. List
/// cells join their items with a line break.
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
    let opt = |g: Option<crate::snapshot::Guid>| g.map(|g| g.to_string()).unwrap_or_default();
    for x in &o.open {
        let f = x.finding;
        let paths: Vec<String> = f
            .paths
            .iter()
            .map(|p| crate::engine::render_path(r.snapshot, r.graph, *p))
            .collect();
        let principals: Vec<String> = f.principals.iter().map(ToString::to_string).collect();
        let a = f.assignment.as_deref();
        row(
            &mut out,
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
                a.map(|a| a.scope.clone()).unwrap_or_default(),
                a.map(|a| a.role.clone()).unwrap_or_default(),
                a.map(|a| a.source.clone()).unwrap_or_default(),
                principals.join("\n"),
                f.principals_known.to_string(),
                paths.join("\n"),
                r.evidence(f).join("\n"),
                f.remediation.to_string(),
            ],
        )?;
    }
    out.flush()
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
];

/// Writes access.csv: who can access what (every effective-access row,
/// partner groups with unknown members included).
pub fn write_access(o: &Outcome<'_>, w: &mut dyn Write) -> io::Result<()> {
    let mut out = writer(w);
    row(
        &mut out,
        &ACCESS_HEADER
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>(),
    )?;
    for l in access::lines(o.report) {
        row(
            &mut out,
            &[
                l.principal_id.map(|g| g.to_string()).unwrap_or_default(),
                l.principal_kind.to_string(),
                l.display_name,
                l.upn.unwrap_or_default(),
                l.home_tenant_id.map(|g| g.to_string()).unwrap_or_default(),
                l.home_tenant_name,
                l.tenant_id.to_string(),
                l.tenant_name,
                l.resource,
                l.role,
                if l.implicit { "implicit" } else { "explicit" }.to_string(),
                l.listed.to_string(),
                l.justification,
                l.path,
            ],
        )?;
    }
    out.flush()
}
