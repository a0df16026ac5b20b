//! findings.json format_version 1 (deprecated): every finding carries its
//! rule's title and remediation, its principals and its explaining paths as
//! text. Kept byte for byte as released for one more release
//! (`--findings-format v1`); docs/findings-v2.md says how to move on.

use std::io::{self, Write};

use serde::Serialize;

use super::{Evidence, FindingsFormat, Nested};
use crate::engine::rule::Severity;
use crate::engine::{render_path_into, AssignmentOut, PathRef, ResourceOut};
use crate::report::{Open, Outcome, Report, Status};
use crate::snapshot::Guid;

/// The version this layout writes.
pub const FORMAT_VERSION: u32 = 1;

/// Writes findings.json format_version 1 for an outcome.
pub fn write(o: &Outcome<'_>, w: &mut dyn Write) -> io::Result<()> {
    w.write_all(&super::head(o, FindingsFormat::V1)?)?;
    super::write_findings(o, w, |_, x| render_finding(o, x))
}

fn finding_out<'a>(o: &'a Outcome<'a>, x: &Open<'a>) -> FindingOut<'a> {
    let r = o.report;
    let f = x.finding;
    FindingOut {
        id: &f.id,
        status: x.status,
        reopened_by: super::reopened_by(o, x),
        rule: &f.rule,
        severity: f.severity,
        title: &f.title,
        message: &f.message,
        partner_tenant_id: f.partner_tenant_id,
        customer_tenant_id: f.customer_tenant_id,
        resource: f.resource.as_deref(),
        role: f.role.as_deref(),
        assignment: f.assignment.as_deref(),
        principals: &f.principals,
        principals_known: f.principals_known,
        paths: Paths {
            report: r,
            paths: &f.paths,
        },
        evidence: Evidence {
            report: r,
            lines: &f.evidence,
        },
        remediation: &f.remediation,
    }
}

/// One finding as pretty JSON, indented to sit inside the top-level array.
fn render_finding(o: &Outcome<'_>, x: &Open<'_>) -> io::Result<Vec<u8>> {
    let mut out = Vec::with_capacity(4096);
    out.extend_from_slice(b"    ");
    let mut ser = serde_json::Serializer::with_formatter(&mut out, Nested::new(2));
    finding_out(o, x)
        .serialize(&mut ser)
        .map_err(io::Error::other)?;
    Ok(out)
}

#[derive(Serialize)]
struct FindingOut<'a> {
    id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<Status>,
    rule: &'a str,
    severity: Severity,
    title: &'a str,
    message: &'a str,
    partner_tenant_id: Option<Guid>,
    customer_tenant_id: Option<Guid>,
    resource: Option<&'a ResourceOut>,
    role: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    assignment: Option<&'a AssignmentOut>,
    principals: &'a [Guid],
    principals_known: bool,
    paths: Paths<'a>,
    evidence: Evidence<'a>,
    remediation: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    reopened_by: Option<String>,
}

/// A finding's explaining paths, rendered one at a time into one buffer as
/// they are serialized.
struct Paths<'a> {
    report: &'a Report<'a>,
    paths: &'a [PathRef],
}

impl Serialize for Paths<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeSeq;
        let mut seq = s.serialize_seq(Some(self.paths.len()))?;
        let mut text = String::with_capacity(256);
        for &p in self.paths {
            text.clear();
            render_path_into(&mut text, self.report.snapshot, self.report.graph, p);
            seq.serialize_element(text.as_str())?;
        }
        seq.end()
    }
}
