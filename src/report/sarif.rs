//! `findings.sarif`: SARIF 2.1.0 for code-scanning dashboards.
//!
//! One run; `tool.driver.rules` carries every enabled rule with its
//! documentation (summary, rationale, remediation, example, references);
//! each finding is a result whose `partialFingerprints` hold the stable
//! finding id, located at the snapshot row that explains it and at the
//! customer tenant (logical location). With a baseline, results carry
//! `baselineState` (`new`/`unchanged`) and resolved findings appear as
//! `absent` results; waived findings carry an accepted external
//! `suppression` with the waiver's justification, as SARIF intends.
//! Typed structs (not `json!`) pin the key order, so output is stable.

use std::collections::BTreeMap;
use std::io::{self, Write};

use serde::Serialize;

use super::escape::uri;
use super::{Outcome, Report};
use crate::engine::rule::{Rule, Severity};
use crate::engine::Finding;
use crate::graph::Via;

/// The `$schema` written into the log (OASIS SARIF 2.1.0, errata 01).
pub const SCHEMA: &str =
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json";
/// The `partialFingerprints` key holding the finding id.
pub const FINGERPRINT: &str = "partnerAuditFindingId/v1";

#[derive(Serialize)]
struct Log<'a> {
    #[serde(rename = "$schema")]
    schema: &'static str,
    version: &'static str,
    runs: Vec<Run<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Run<'a> {
    tool: Tool<'a>,
    invocations: Vec<Invocation>,
    column_kind: &'static str,
    results: Vec<ResultOut>,
    properties: RunProps,
}

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
    #[serde(skip_serializing_if = "Option::is_none")]
    physical_location: Option<Physical>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    logical_locations: Vec<Logical>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Physical {
    artifact_location: Artifact,
    region: Region,
}

#[derive(Serialize)]
struct Artifact {
    uri: String,
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

/// The snapshot row that best explains a finding: the assignment to remove,
/// else the row behind its first explaining path.
fn physical(r: &Report<'_>, f: &Finding) -> Option<Physical> {
    let (file, line) = if let Some(a) = &f.assignment {
        let (file, line) = a.source.rsplit_once(':')?;
        (file.to_string(), line.parse().ok()?)
    } else {
        let p = f.paths.first()?;
        let grant = r.graph.grants.get(p.grant as usize)?;
        let loc = match grant.via {
            Via::Explicit(i) => r.snapshot.role_assignments[i as usize].loc,
            Via::Dap { relationship, .. }
            | Via::Gdap { relationship, .. }
            | Via::Autopilot { relationship } => {
                r.snapshot.relationships[relationship as usize].loc
            }
        };
        (
            r.snapshot.files.get(usize::from(loc.file))?.clone(),
            loc.line,
        )
    };
    Some(Physical {
        artifact_location: Artifact { uri: uri(&file) },
        region: Region {
            start_line: line.max(1),
        },
    })
}

fn result(
    o: &Outcome<'_>,
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
    let physical_location = physical(r, f);
    let locations = if physical_location.is_some() || !logical.is_empty() {
        vec![Location {
            physical_location,
            logical_locations: logical,
        }]
    } else {
        Vec::new()
    };
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

/// Writes the SARIF log (pretty JSON, trailing newline).
pub fn write(o: &Outcome<'_>, w: &mut dyn Write) -> io::Result<()> {
    let rules: Vec<&Rule> = o.rules.iter().filter(|r| r.enabled).collect();
    let index: BTreeMap<&str, usize> = rules
        .iter()
        .enumerate()
        .map(|(i, r)| (r.id.as_str(), i))
        .collect();
    let mut results = Vec::new();
    for x in &o.open {
        let reopened = x.reopened_by.and_then(|i| {
            let set = o.waivers.as_ref()?;
            let w = set.waivers.get(i)?;
            Some(format!("{}:{} expired {}", set.file, w.line, w.expires))
        });
        results.push(result(
            o,
            &index,
            x.finding,
            x.status.map(super::Status::as_str),
            reopened,
        ));
    }
    if let Some(set) = &o.waivers {
        for x in &o.waived {
            let w = &set.waivers[x.waiver];
            let mut res = result(
                o,
                &index,
                x.finding,
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
                    waiver: format!("{}:{}", set.file, w.line),
                },
            });
            results.push(res);
        }
    }
    if let Some(d) = &o.baseline {
        for p in &d.resolved {
            let sev = Severity::parse(&p.severity).unwrap_or(Severity::Info);
            results.push(ResultOut {
                rule_id: p.rule.clone(),
                rule_index: index.get(p.rule.as_str()).copied(),
                level: level(sev),
                message: Text {
                    text: p.message.clone(),
                },
                locations: Vec::new(),
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
            });
        }
    }
    let log = Log {
        schema: SCHEMA,
        version: "2.1.0",
        runs: vec![Run {
            tool: Tool {
                driver: Driver {
                    name: env!("CARGO_PKG_NAME"),
                    version: env!("CARGO_PKG_VERSION"),
                    semantic_version: env!("CARGO_PKG_VERSION"),
                    rules: rules.iter().map(|r| rule_out(r)).collect(),
                },
            },
            invocations: vec![Invocation {
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
            }],
            column_kind: "unicodeCodePoints",
            results,
            properties: RunProps {
                as_of: o.report.as_of.to_string(),
                baseline: o.baseline.as_ref().map(|d| d.file.clone()),
                waivers: o.waivers.as_ref().map(|s| s.file.clone()),
            },
        }],
    };
    serde_json::to_writer_pretty(&mut *w, &log).map_err(io::Error::other)?;
    w.write_all(b"\n")
}
