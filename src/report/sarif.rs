//! `findings.sarif`: SARIF 2.1.0 for code-scanning dashboards.
//!
//! One run; `tool.driver.rules` carries every enabled rule with its
//! documentation (summary, rationale, remediation, example, references);
//! each finding is a result whose `partialFingerprints` hold the stable
//! finding id, located at the snapshot row that explains it and at the
//! customer tenant (logical location). Every result has a physical
//! location (code scanning rejects results without one): the assignment to
//! remove, the row behind its first explaining path, the invitation or
//! relationship it is about, a relationship of its partner and customer,
//! or their tenant row. URIs are relative to the `SNAPSHOTROOT` base
//! (`originalUriBaseIds`), so the log is the same whatever path the
//! snapshot was given by. With a baseline, results carry
//! `baselineState` (`new`/`unchanged`) and resolved findings appear as
//! `absent` results; waived findings carry an accepted external
//! `suppression` with the waiver's justification, as SARIF intends.
//! Typed structs (not `json!`) pin the key order, so output is stable.

use std::collections::{BTreeMap, HashMap};
use std::io::{self, Write};

use serde::Serialize;

use super::baseline::Prior;
use super::escape::uri;
use super::json::write_nested;
use super::waivers::Waiver;
use super::{Open, Outcome, Report};
use crate::engine::rule::{Rule, Severity};
use crate::engine::Finding;
use crate::snapshot::{Guid, Loc, RelState};

/// The `$schema` written into the log (OASIS SARIF 2.1.0, errata 01).
pub const SCHEMA: &str =
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json";
/// The `uriBaseId` of every artifact: the snapshot folder.
pub const ROOT: &str = "SNAPSHOTROOT";
/// The `partialFingerprints` key holding the finding id.
pub const FINGERPRINT: &str = "partnerAuditFindingId/v1";

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Invocation {
    execution_successful: bool,
    /// One warning per tenant the snapshot lists as incomplete.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tool_execution_notifications: Vec<Notification>,
}

#[derive(Serialize)]
struct Notification {
    level: &'static str,
    message: Text,
    properties: NotificationProps,
}

#[derive(Serialize)]
struct NotificationProps {
    incomplete_tenant_id: crate::snapshot::Guid,
    tenant_name: String,
}

#[derive(Serialize)]
struct RunProps {
    as_of: String,
    as_of_origin: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    baseline: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    waivers: Option<String>,
}

#[derive(Serialize)]
struct Tool<'a> {
    driver: Driver<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Driver<'a> {
    name: &'static str,
    version: &'static str,
    semantic_version: &'static str,
    rules: Vec<RuleOut<'a>>,
}

#[derive(Serialize)]
struct Text {
    text: String,
}

#[derive(Serialize)]
struct Help {
    text: String,
    markdown: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RuleOut<'a> {
    id: &'a str,
    short_description: Text,
    full_description: Text,
    help: Help,
    #[serde(skip_serializing_if = "Option::is_none")]
    help_uri: Option<&'a str>,
    default_configuration: Config,
    properties: RuleProps,
}

#[derive(Serialize)]
struct Config {
    level: &'static str,
    enabled: bool,
}

#[derive(Serialize)]
struct RuleProps {
    severity: &'static str,
    precision: &'static str,
    #[serde(rename = "security-severity")]
    security_severity: &'static str,
    tags: [&'static str; 3],
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ResultOut {
    rule_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    rule_index: Option<usize>,
    level: &'static str,
    message: Text,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    locations: Vec<Location>,
    partial_fingerprints: BTreeMap<&'static str, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    baseline_state: Option<&'static str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    suppressions: Vec<Suppression>,
    properties: ResultProps,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Location {
    physical_location: Physical,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    logical_locations: Vec<Logical>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Physical {
    artifact_location: Artifact,
    #[serde(skip_serializing_if = "Option::is_none")]
    region: Option<Region>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Artifact {
    uri: String,
    uri_base_id: &'static str,
}

/// An `originalUriBaseIds` entry: described, without a `uri` (the folder
/// differs from machine to machine, and a log must not depend on it).
#[derive(Serialize)]
struct BaseId {
    description: Text,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Region {
    start_line: u32,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Logical {
    name: String,
    fully_qualified_name: String,
    kind: &'static str,
}

#[derive(Serialize)]
struct Suppression {
    kind: &'static str,
    status: &'static str,
    justification: String,
    properties: SuppressionProps,
}

#[derive(Serialize)]
struct SuppressionProps {
    owner: String,
    expires: String,
    waiver: String,
}

#[derive(Serialize, Default)]
struct ResultProps {
    severity: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    title: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    customer_tenant_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    customer_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    partner_tenant_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    partner_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    resource: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    role: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    principals: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    principals_known: Option<bool>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    paths: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    evidence: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    remediation: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reopened_by: Option<String>,
}

/// SARIF level of a severity.
pub fn level(s: Severity) -> &'static str {
    match s {
        Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low | Severity::Info => "note",
    }
}

fn security_severity(s: Severity) -> &'static str {
    match s {
        Severity::High => "8.0",
        Severity::Medium => "5.5",
        Severity::Low => "3.0",
        Severity::Info => "0.0",
    }
}

fn rule_out(r: &Rule) -> RuleOut<'_> {
    let mut text = format!(
        "{}\n\nWhy it matters: {}\n\nRemediation: {}\n\nExample: {}",
        r.summary.trim(),
        r.rationale.trim(),
        r.remediation.trim(),
        r.example.trim()
    );
    let mut markdown = format!(
        "{}\n\n**Why it matters.** {}\n\n**Remediation.** {}\n\n**Example.** {}",
        r.summary.trim(),
        r.rationale.trim(),
        r.remediation.trim(),
        r.example.trim()
    );
    if !r.references.is_empty() {
        text.push_str("\n\nReferences:");
        markdown.push_str("\n\n**References.**\n");
        for x in &r.references {
            text.push_str(&format!("\n{x}"));
            markdown.push_str(&format!("\n- <{x}>"));
        }
    }
    RuleOut {
        id: &r.id,
        short_description: Text {
            text: r.title.to_string(),
        },
        full_description: Text {
            text: r.summary.trim().to_string(),
        },
        help: Help { text, markdown },
        help_uri: r.references.first().map(String::as_str),
        default_configuration: Config {
            level: level(r.severity),
            enabled: r.enabled,
        },
        properties: RuleProps {
            severity: r.severity.as_str(),
            precision: "high",
            security_severity: security_severity(r.severity),
            tags: ["security", "csp", "partner-access"],
        },
    }
}

/// Finds the snapshot row that explains a finding; the indexes are built
/// once per log.
struct Locator<'a> {
    report: &'a Report<'a>,
    /// Relationship name (id, or `KIND:PARTNER:CUSTOMER`) → its first row.
    relationships: HashMap<String, Loc>,
    /// (partner, invitation id) → the invitation row.
    invitations: HashMap<(Guid, &'a str), Loc>,
    /// (partner, customer) → their first active relationship row, else their first.
    pairs: HashMap<(Guid, Guid), (bool, Loc)>,
    /// Tenant → its row.
    tenants: HashMap<Guid, Loc>,
}

impl<'a> Locator<'a> {
    fn new(report: &'a Report<'a>) -> Self {
        let s = report.snapshot;
        let mut relationships = HashMap::new();
        let mut pairs: HashMap<(Guid, Guid), (bool, Loc)> = HashMap::new();
        for r in &s.relationships {
            relationships.entry(r.name().into_owned()).or_insert(r.loc);
            let active = r.state == RelState::Active;
            let e = pairs
                .entry((r.partner_tenant_id, r.customer_tenant_id))
                .or_insert((active, r.loc));
            if active && !e.0 {
                *e = (true, r.loc);
            }
        }
        let mut invitations = HashMap::new();
        for i in &s.invitations {
            invitations
                .entry((i.partner_tenant_id, &*i.invitation_id))
                .or_insert(i.loc);
        }
        let mut tenants = HashMap::new();
        for t in &s.tenants {
            tenants.entry(t.tenant_id).or_insert(t.loc);
        }
        Locator {
            report,
            relationships,
            invitations,
            pairs,
            tenants,
        }
    }

    /// A row of the snapshot as a physical location.
    fn row(&self, loc: Loc) -> Option<Physical> {
        let s = self.report.snapshot;
        let i = usize::from(loc.file);
        let file = match s.relative_files.get(i) {
            Some(f) => f.clone(),
            None => s.relative(s.files.get(i)?),
        };
        Some(physical(&file, Some(loc.line)))
    }

    /// The row of a partner and customer: a relationship between them,
    /// else the customer's tenant row, else the partner's.
    fn parties(&self, partner: Option<Guid>, customer: Option<Guid>) -> Option<Loc> {
        partner
            .zip(customer)
            .and_then(|pc| self.pairs.get(&pc).map(|x| x.1))
            .or_else(|| customer.and_then(|c| self.tenants.get(&c).copied()))
            .or_else(|| partner.and_then(|p| self.tenants.get(&p).copied()))
    }

    /// The first file of the snapshot, without a line: where a result
    /// nothing more precise explains is reported.
    fn fallback(&self) -> Physical {
        let s = self.report.snapshot;
        let file = s
            .relative_files
            .first()
            .cloned()
            .or_else(|| s.files.first().map(|f| s.relative(f)))
            .unwrap_or_else(|| ".".into());
        physical(&file, None)
    }

    /// The snapshot row that best explains a finding: the assignment to
    /// remove, the row behind its first explaining path, the invitation or
    /// relationship it is about, then its partner and customer.
    fn finding(&self, f: &Finding) -> Physical {
        let r = self.report;
        if let Some(a) = &f.assignment {
            if let Some((file, line)) = a.source.rsplit_once(':') {
                if let Ok(line) = line.parse() {
                    return physical(file, Some(line));
                }
            }
        }
        let path_row = f.paths.first().and_then(|p| {
            let grant = r.graph.grants.get(p.grant as usize)?;
            Some(grant.via.row(r.snapshot))
        });
        let resource_row = || {
            let x = f.resource.as_deref()?;
            match x.kind {
                "invitation" => f
                    .partner_tenant_id
                    .and_then(|p| self.invitations.get(&(p, x.id.as_str())).copied()),
                "relationship" => self.relationships.get(&x.id).copied(),
                _ => None,
            }
        };
        path_row
            .or_else(resource_row)
            .or_else(|| self.parties(f.partner_tenant_id, f.customer_tenant_id))
            .and_then(|loc| self.row(loc))
            .unwrap_or_else(|| self.fallback())
    }

    /// Where a finding of the baseline that is gone is reported: its
    /// partner and customer in this snapshot.
    fn resolved(&self, partner: Option<&str>, customer: Option<&str>) -> Physical {
        self.parties(
            partner.and_then(Guid::parse),
            customer.and_then(Guid::parse),
        )
        .and_then(|loc| self.row(loc))
        .unwrap_or_else(|| self.fallback())
    }
}

/// A location in a snapshot file (a root-relative path).
fn physical(file: &str, line: Option<u32>) -> Physical {
    Physical {
        artifact_location: Artifact {
            uri: uri(file),
            uri_base_id: ROOT,
        },
        region: line.map(|l| Region {
            start_line: l.max(1),
        }),
    }
}

fn result(
    o: &Outcome<'_>,
    locator: &Locator<'_>,
    index: &BTreeMap<&str, usize>,
    f: &Finding,
    baseline_state: Option<&'static str>,
    reopened_by: Option<String>,
) -> ResultOut {
    let r = o.report;
    let mut logical = Vec::new();
    if let Some(c) = f.customer_tenant_id {
        let scope = f
            .resource
            .as_ref()
            .and_then(|x| x.scope.clone())
            .unwrap_or_else(|| "/".into());
        logical.push(Logical {
            name: r.tenant_name(c),
            fully_qualified_name: format!("tenants/{c}{}", if scope == "/" { "" } else { &scope }),
            kind: "resource",
        });
    }
    let locations = vec![Location {
        physical_location: locator.finding(f),
        logical_locations: logical,
    }];
    ResultOut {
        rule_id: f.rule.to_string(),
        rule_index: index.get(&*f.rule).copied(),
        level: level(f.severity),
        message: Text {
            text: f.message.clone(),
        },
        locations,
        partial_fingerprints: BTreeMap::from([(FINGERPRINT, f.id.clone())]),
        baseline_state,
        suppressions: Vec::new(),
        properties: ResultProps {
            severity: f.severity.as_str().to_string(),
            title: Some(f.title.to_string()),
            customer_tenant_id: f.customer_tenant_id.map(|g| g.to_string()),
            customer_name: f.customer_tenant_id.map(|g| r.tenant_name(g)),
            partner_tenant_id: f.partner_tenant_id.map(|g| g.to_string()),
            partner_name: f.partner_tenant_id.map(|g| r.tenant_name(g)),
            resource: f
                .resource
                .as_ref()
                .map(|x| x.scope.clone().unwrap_or_else(|| x.id.clone())),
            role: f.role.as_deref().map(str::to_owned),
            principals: f.principals.iter().map(ToString::to_string).collect(),
            principals_known: Some(f.principals_known),
            paths: f
                .paths
                .iter()
                .map(|p| crate::engine::render_path(r.snapshot, r.graph, *p))
                .collect(),
            evidence: r.evidence(f),
            remediation: Some(f.remediation.to_string()),
            reopened_by,
        },
    }
}

/// One result of the log, in the order results are written: the open
/// findings, the waived ones, then the baseline's findings that are gone.
enum Item<'a> {
    Open(&'a Open<'a>),
    Waived {
        finding: &'a Finding,
        waiver: &'a Waiver,
        file: &'a str,
    },
    Resolved(&'a Prior),
}

/// How deep a result sits in the log: `{ "runs": [ { "results": [`.
const RESULT_DEPTH: usize = 4;

/// One result as pretty JSON, indented as it sits in `results`.
fn render(
    o: &Outcome<'_>,
    locator: &Locator<'_>,
    index: &BTreeMap<&str, usize>,
    item: &Item<'_>,
) -> io::Result<Vec<u8>> {
    let res = match *item {
        Item::Open(x) => {
            let reopened = x.reopened_by.and_then(|i| {
                let set = o.waivers.as_ref()?;
                let w = set.waivers.get(i)?;
                Some(format!("{}:{} expired {}", set.file, w.line, w.expires))
            });
            result(
                o,
                locator,
                index,
                x.finding,
                x.status.map(super::Status::as_str),
                reopened,
            )
        }
        Item::Waived {
            finding,
            waiver: w,
            file,
        } => {
            let mut res = result(
                o,
                locator,
                index,
                finding,
                o.baseline.as_ref().map(|_| "unchanged"),
                None,
            );
            res.suppressions.push(Suppression {
                kind: "external",
                status: "accepted",
                justification: w.justification.clone(),
                properties: SuppressionProps {
                    owner: w.owner.clone(),
                    expires: w.expires.clone(),
                    waiver: format!("{file}:{}", w.line),
                },
            });
            res
        }
        Item::Resolved(p) => {
            let sev = Severity::parse(&p.severity).unwrap_or(Severity::Info);
            ResultOut {
                rule_id: p.rule.clone(),
                rule_index: index.get(p.rule.as_str()).copied(),
                level: level(sev),
                message: Text {
                    text: p.message.clone(),
                },
                locations: vec![Location {
                    physical_location: locator.resolved(
                        p.partner_tenant_id.as_deref(),
                        p.customer_tenant_id.as_deref(),
                    ),
                    logical_locations: Vec::new(),
                }],
                partial_fingerprints: BTreeMap::from([(FINGERPRINT, p.id.clone())]),
                baseline_state: Some("absent"),
                suppressions: Vec::new(),
                properties: ResultProps {
                    severity: sev.as_str().to_string(),
                    title: Some(p.title.clone()),
                    customer_tenant_id: p.customer_tenant_id.clone(),
                    partner_tenant_id: p.partner_tenant_id.clone(),
                    ..ResultProps::default()
                },
            }
        }
    };
    let mut out = Vec::with_capacity(4096);
    out.resize(RESULT_DEPTH * 2, b' ');
    write_nested(&mut out, RESULT_DEPTH, &res)?;
    Ok(out)
}

/// Writes the SARIF log (pretty JSON, trailing newline).
///
/// The log is written piece by piece, each laid out as serde_json's pretty
/// printer lays out the whole log: the run's head, then the results,
/// rendered in parallel batches and written in order as they come (a
/// large run is never held whole), then the run's properties.
pub fn write(o: &Outcome<'_>, w: &mut dyn Write) -> io::Result<()> {
    write_measured(o, w).map(drop)
}

/// [`write`], returning the byte length of each result in order (for a
/// shard's index: `merge` copies the results whole by their lengths).
pub fn write_measured(o: &Outcome<'_>, w: &mut dyn Write) -> io::Result<Vec<u64>> {
    let rules: Vec<&Rule> = o.rules.iter().filter(|r| r.enabled).collect();
    let index: BTreeMap<&str, usize> = rules
        .iter()
        .enumerate()
        .map(|(i, r)| (r.id.as_str(), i))
        .collect();
    let locator = Locator::new(o.report);
    let mut items: Vec<Item<'_>> = o.open.iter().map(Item::Open).collect();
    if let Some(set) = &o.waivers {
        for x in &o.waived {
            let waiver = set.waivers.get(x.waiver).ok_or_else(|| {
                io::Error::other(format!("waived finding {} has no waiver", x.finding.id))
            })?;
            items.push(Item::Waived {
                finding: x.finding,
                waiver,
                file: &set.file,
            });
        }
    }
    if let Some(d) = &o.baseline {
        items.extend(d.resolved.iter().map(Item::Resolved));
    }
    let tool = Tool {
        driver: Driver {
            name: env!("CARGO_PKG_NAME"),
            version: env!("CARGO_PKG_VERSION"),
            semantic_version: env!("CARGO_PKG_VERSION"),
            rules: rules.iter().map(|r| rule_out(r)).collect(),
        },
    };
    let invocations = [Invocation {
        execution_successful: true,
        tool_execution_notifications: o
            .report
            .incomplete()
            .into_iter()
            .map(|x| Notification {
                level: "warning",
                message: Text {
                    text: format!(
                        "tenant {} ({}) is incomplete, findings may be missing: {}",
                        x.name, x.tenant_id, x.reason
                    ),
                },
                properties: NotificationProps {
                    incomplete_tenant_id: x.tenant_id,
                    tenant_name: x.name,
                },
            })
            .collect(),
    }];
    let base_ids = BTreeMap::from([(
        ROOT,
        BaseId {
            description: Text {
                text: "The snapshot folder the audit read (the folder of a single-file snapshot)"
                    .into(),
            },
        },
    )]);
    let properties = RunProps {
        as_of: o.report.as_of.to_string(),
        as_of_origin: o.report.as_of_origin.as_str(),
        baseline: o.baseline.as_ref().map(|d| d.file.clone()),
        waivers: o.waivers.as_ref().map(|s| s.file.clone()),
    };
    // The log's one run sits three brackets deep: `{ "runs": [ {`.
    w.write_all(b"{\n  \"$schema\": ")?;
    write_nested(w, 1, SCHEMA)?;
    w.write_all(b",\n  \"version\": \"2.1.0\",\n  \"runs\": [\n    {\n      \"tool\": ")?;
    write_nested(w, 3, &tool)?;
    w.write_all(b",\n      \"invocations\": ")?;
    write_nested(w, 3, &invocations)?;
    w.write_all(b",\n      \"originalUriBaseIds\": ")?;
    write_nested(w, 3, &base_ids)?;
    w.write_all(b",\n      \"columnKind\": \"unicodeCodePoints\",\n      \"results\": ")?;
    let mut lengths = Vec::new();
    if items.is_empty() {
        w.write_all(b"[]")?;
    } else {
        w.write_all(b"[\n")?;
        lengths = super::write_in_order_measured(&items, b",\n", w, |_, x| {
            render(o, &locator, &index, x)
        })?;
        w.write_all(b"\n      ]")?;
    }
    w.write_all(b",\n      \"properties\": ")?;
    write_nested(w, 3, &properties)?;
    w.write_all(b"\n    }\n  ]\n}\n")?;
    Ok(lengths)
}
