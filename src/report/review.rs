//! The human review report's content, rendered twice (Markdown by
//! [`super::markdown`], HTML by [`super::html`]): the part about the whole
//! run computed once, each customer's section when a renderer writes it.
//!
//! Everything here is plain data: strings stay unescaped until a renderer
//! escapes them for its syntax. Besides the findings, the review computes
//! what the engine does not expose as findings: per customer, the
//! *listed vs effective* administrators (the implicit access of F5/F6 made
//! visible) and the lingering subscription roles (F10) with the exact
//! assignment to remove.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::access::{self, AccessLine};
use super::diagram::{self, Diagram};
use super::{Open, Outcome, Report};
use crate::engine::rule::Severity;
use crate::engine::Finding;
use crate::graph::Node;
use crate::snapshot::{Guid, RelKind, RelState, TenantKind};

/// Diagrams drawn per finding; the remaining paths are listed as text.
pub const MAX_DIAGRAMS: usize = 4;
/// Principals and paths listed per finding.
pub const MAX_LISTED: usize = 25;

/// The whole review: what the overview, the lists and the summaries show,
/// and what builds each customer's section when it is written
/// ([`Review::customer`]). A customer's section (every finding with its
/// paths, evidence and diagrams) is built, written and dropped one at a
/// time: all of them at once take gigabytes on a large snapshot.
pub struct Review<'o> {
    pub title: String,
    pub tool: String,
    pub as_of: String,
    /// Where `as_of` came from, in words.
    pub as_of_origin: &'static str,
    pub captured_at: Option<String>,
    pub perspective: Option<&'static str>,
    pub source: Option<String>,
    pub totals: Totals,
    pub severities: Vec<SevCount>,
    /// Every customer, in report order (by name, then id).
    pub customers: Vec<CustomerSummary>,
    pub by_partner: Vec<CountRow>,
    /// Open findings per rule, by rule id.
    pub rules: Vec<RuleCount>,
    /// What each partner tenant's principals and apps reach, the widest first.
    pub blast_radius: Vec<BlastRow>,
    pub baseline: Option<BaselineView>,
    pub waivers: Option<WaiversView>,
    /// Open findings tied to no customer in the snapshot.
    pub other_findings: Vec<FindingView>,
    /// Input warnings (dangling references, placeholders, rejected rows).
    pub warnings: Vec<String>,
    /// Tenants whose data is incomplete (findings may be missing), by tenant id.
    pub incomplete: Vec<IncompleteView>,
    sections: Sections<'o>,
}

/// One customer as the overview and the lists show it.
#[derive(Debug)]
pub struct CustomerSummary {
    pub id: Guid,
    /// Name, id, anchor and open findings per severity.
    pub counts: CountRow,
    /// The partners of its relationships and findings, by name, sorted.
    pub partners: Vec<String>,
    /// Its findings new since the baseline.
    pub new: usize,
    /// Its data is incomplete.
    pub incomplete: bool,
    /// The rules of its open findings, sorted.
    pub rules: Vec<String>,
}

/// The open findings of one rule.
#[derive(Debug)]
pub struct RuleCount {
    pub rule: String,
    /// The title of its first finding (customers' findings in report
    /// order, then the others).
    pub title: String,
    pub severity: &'static str,
    pub open: usize,
    pub new: usize,
    /// Customers with a finding of the rule.
    pub customers: usize,
}

/// What a customer's section is built from, grouped by customer.
struct Sections<'o> {
    outcome: &'o Outcome<'o>,
    /// Per customer, its open findings in report order.
    open_of: BTreeMap<Guid, Vec<&'o Open<'o>>>,
    rels_of: BTreeMap<Guid, Vec<&'o crate::snapshot::Relationship>>,
    directory: access::ByTenant<'o>,
    lingering: BTreeMap<Guid, Vec<LingeringView>>,
}

/// A tenant the snapshot lists as incomplete.
#[derive(Debug, Serialize)]
pub struct IncompleteView {
    pub name: String,
    pub id: String,
    pub reason: String,
    /// The tenant's customer section, when it has one.
    pub anchor: Option<String>,
}

/// The partner tenants the overview lists in its blast-radius table.
pub const BLAST_ROWS: usize = 50;

/// One partner tenant's blast radius: what a compromise of all its
/// principals and apps would reach, through every channel (`partner-audit
/// exposure TENANT` lists the items and their paths).
#[derive(Debug, Serialize)]
pub struct BlastRow {
    pub name: String,
    pub id: Guid,
    pub customers: usize,
    pub directory_roles: usize,
    pub subscriptions: usize,
    pub resource_groups: usize,
    pub app_permissions: usize,
    pub items: usize,
}

/// The blast radius of every partner tenant in the snapshot's `tenants`,
/// widest first (by items, then name and id), at most [`BLAST_ROWS`].
fn blast_radius(r: &Report<'_>) -> Vec<BlastRow> {
    use crate::exposure::{exposure, Target};
    use rayon::prelude::*;
    let (s, g) = (r.snapshot, r.graph);
    let mut rows: Vec<BlastRow> = s
        .tenants
        .par_iter()
        .filter(|t| t.kind == TenantKind::Partner)
        .map(|t| {
            let sm = exposure(s, g, Target::Tenant(t.tenant_id)).summary(s, g);
            BlastRow {
                name: t.name.to_string(),
                id: t.tenant_id,
                customers: sm.customer_tenants,
                directory_roles: sm.directory_roles,
                subscriptions: sm.subscriptions,
                resource_groups: sm.resource_groups,
                app_permissions: sm.app_permissions,
                items: sm.items,
            }
        })
        .collect();
    rows.sort_by(|a, b| {
        b.items
            .cmp(&a.items)
            .then_with(|| (&a.name, a.id).cmp(&(&b.name, b.id)))
    });
    rows.truncate(BLAST_ROWS);
    rows
}

/// Headline numbers.
#[derive(Debug, Serialize, Default)]
pub struct Totals {
    pub open: usize,
    pub waived: usize,
    pub customers: usize,
    pub partners: usize,
    /// Partner principals holding directory roles the customers' listings do not show.
    pub hidden_admins: usize,
    pub lingering: usize,
    pub consequences: usize,
}

/// Open findings of one severity.
#[derive(Debug, Serialize)]
pub struct SevCount {
    pub severity: &'static str,
    pub count: usize,
}

/// Open findings per severity for one tenant.
#[derive(Debug, Serialize, Default, Clone)]
pub struct CountRow {
    pub name: String,
    pub id: String,
    /// In-page anchor of the tenant's section, if it has one.
    pub anchor: Option<String>,
    pub high: usize,
    pub medium: usize,
    pub low: usize,
    pub info: usize,
    pub total: usize,
}

impl CountRow {
    fn add(&mut self, s: Severity) {
        self.total += 1;
        match s {
            Severity::High => self.high += 1,
            Severity::Medium => self.medium += 1,
            Severity::Low => self.low += 1,
            Severity::Info => self.info += 1,
        }
    }
}

/// The baseline comparison.
#[derive(Debug, Serialize)]
pub struct BaselineView {
    pub file: String,
    pub new: usize,
    pub unchanged: usize,
    pub resolved: Vec<super::baseline::Prior>,
}

/// One waived finding.
#[derive(Debug, Serialize)]
pub struct WaivedView {
    pub id: String,
    pub rule: String,
    pub severity: &'static str,
    pub message: String,
    pub target: String,
    pub justification: String,
    pub owner: String,
    pub expires: String,
    pub line: u32,
}

/// One expired or unmatched waiver.
#[derive(Debug, Serialize)]
pub struct WaiverNote {
    pub line: u32,
    pub target: String,
    pub owner: String,
    pub justification: String,
    pub expires: String,
    /// Findings re-opened (expired waivers).
    pub reopened: Vec<String>,
}

/// The waivers file and what it did.
#[derive(Debug, Serialize)]
pub struct WaiversView {
    pub file: String,
    pub waived: Vec<WaivedView>,
    pub expired: Vec<WaiverNote>,
    pub unmatched: Vec<WaiverNote>,
}

/// One relationship of a customer.
#[derive(Debug, Serialize)]
pub struct RelView {
    pub partner: String,
    pub kind: &'static str,
    pub state: &'static str,
    pub relationship_id: Option<String>,
    pub started: Option<String>,
    pub ended: Option<String>,
    pub last_activity: Option<String>,
}

/// Listed vs effective holders of one directory role.
#[derive(Debug, Serialize)]
pub struct RoleSummary {
    pub role: String,
    pub listed: usize,
    pub effective: usize,
    pub hidden: usize,
    /// Some holder is a partner group whose members are unknown.
    pub unknown: bool,
}

/// One holder of a directory role.
#[derive(Debug, Serialize)]
pub struct AdminRow {
    pub role: String,
    pub name: String,
    pub upn: Option<String>,
    pub kind: &'static str,
    pub home: String,
    /// The holder's home tenant is another tenant (a partner).
    pub foreign: bool,
    /// The customer's own role listing shows it.
    pub listed: bool,
    pub justification: String,
    pub path: String,
}

/// A partner-held Azure role assignment that outlived DAP and GDAP (F10).
#[derive(Debug, Serialize, Clone)]
pub struct LingeringView {
    pub subscription: String,
    pub scope: String,
    pub role: String,
    pub principal: String,
    pub principal_id: String,
    pub partner: String,
    /// The partner's relationships with the customer, e.g. `dap removed 2026-03-15`.
    pub relationships: String,
    /// `file:line` of the assignment.
    pub source: String,
    pub command: String,
    /// Open findings about the assignment.
    pub findings: Vec<String>,
    /// Findings about it are waived.
    pub waived: bool,
}

/// The exact role assignment a finding asks to remove.
#[derive(Debug, Serialize)]
pub struct AssignmentView {
    pub principal_id: String,
    pub principal: String,
    pub principal_tenant: String,
    pub scope: String,
    pub role: String,
    pub source: String,
    pub command: String,
}

/// One open finding.
#[derive(Debug, Serialize)]
pub struct FindingView {
    pub id: String,
    pub anchor: String,
    pub rule: String,
    pub severity: &'static str,
    pub title: String,
    pub message: String,
    pub status: Option<&'static str>,
    /// The expired waiver that re-opened the finding.
    pub reopened: Option<String>,
    pub customer: Option<String>,
    pub partner: Option<String>,
    pub resource: Option<String>,
    pub role: Option<String>,
    pub assignment: Option<AssignmentView>,
    pub principals: Vec<String>,
    pub more_principals: usize,
    pub principals_known: bool,
    pub diagrams: Vec<Diagram>,
    pub paths: Vec<String>,
    pub more_paths: usize,
    pub evidence: Vec<String>,
    pub remediation: String,
}

/// One customer tenant.
#[derive(Debug, Serialize)]
pub struct CustomerView {
    pub anchor: String,
    pub name: String,
    pub id: String,
    pub domain: Option<String>,
    pub counts: CountRow,
    pub relationships: Vec<RelView>,
    pub roles: Vec<RoleSummary>,
    pub admins: Vec<AdminRow>,
    pub lingering: Vec<LingeringView>,
    /// Open findings of rules `AP*` (Autopilot) and `SR*` (service requests).
    pub consequences: Vec<FindingView>,
    /// The other open findings.
    pub findings: Vec<FindingView>,
    /// Why the tenant's data is incomplete, when it is (findings may be missing).
    pub incomplete: Option<String>,
}

fn date(t: Option<jiff::Timestamp>) -> Option<String> {
    t.map(crate::snapshot::fields::date_text)
}

fn az_delete(principal: Guid, role: &str, scope: &str) -> String {
    format!(
        "az role assignment delete --assignee {principal} --role \"{role}\" --scope \"{scope}\""
    )
}

/// A principal's display name (with its upn), or its id when unknown.
fn principal_name(r: &Report<'_>, id: Guid) -> String {
    match r
        .graph
        .principal(r.snapshot, &id)
        .map(|n| &r.graph.graph[n])
    {
        Some(Node::Principal(i)) => {
            let p = &r.snapshot.principals[*i as usize];
            match &p.upn {
                Some(u) => format!("{} ({u})", p.display_name),
                None => p.display_name.to_string(),
            }
        }
        _ => format!("unresolved principal {id}"),
    }
}

/// One open finding's view; `diagrams`: with its path diagrams.
fn finding_view(o: &Outcome<'_>, open: &Open<'_>, diagrams: bool) -> FindingView {
    let r = o.report;
    let f: &Finding = open.finding;
    let paths: Vec<String> = f
        .paths
        .iter()
        .take(MAX_LISTED)
        .map(|p| crate::engine::render_path(r.snapshot, r.graph, *p))
        .collect();
    let diagrams = f
        .paths
        .iter()
        .take(if diagrams { MAX_DIAGRAMS } else { 0 })
        .map(|p| diagram::layout(&diagram::steps(r, *p)))
        .collect();
    let reopened = open.reopened_by.and_then(|i| {
        let set = o.waivers.as_ref()?;
        let w = set.waivers.get(i)?;
        Some(format!(
            "waiver {}:{} (owner {}) expired on {}",
            set.file, w.line, w.owner, w.expires
        ))
    });
    FindingView {
        id: f.id.clone(),
        anchor: format!("f-{}", f.id),
        rule: f.rule.to_string(),
        severity: f.severity.as_str(),
        title: f.title.to_string(),
        message: f.message.clone(),
        status: open.status.map(super::Status::as_str),
        reopened,
        customer: f.customer_tenant_id.map(|t| r.tenant_name(t)),
        partner: f.partner_tenant_id.map(|t| r.tenant_name(t)),
        resource: f.resource.as_deref().map(|x| {
            if x.kind == "directory" {
                "directory".to_string()
            } else {
                x.scope.clone().unwrap_or_else(|| x.id.clone())
            }
        }),
        role: f.role.as_deref().map(str::to_owned),
        assignment: f.assignment.as_deref().map(|a| AssignmentView {
            principal_id: a.principal_id.to_string(),
            principal: principal_name(r, a.principal_id),
            principal_tenant: r.tenant_name(a.principal_tenant_id),
            scope: a.scope.clone(),
            role: a.role.clone(),
            source: a.source.clone(),
            command: az_delete(a.principal_id, &a.role, &a.scope),
        }),
        principals: f
            .principals
            .iter()
            .take(MAX_LISTED)
            .map(|&p| principal_name(r, p))
            .collect(),
        more_principals: f.principals.len().saturating_sub(MAX_LISTED),
        principals_known: f.principals_known,
        diagrams,
        paths,
        more_paths: f.paths.len().saturating_sub(MAX_LISTED),
        evidence: r.evidence(f),
        remediation: f.remediation.to_string(),
    }
}

/// True for the Autopilot (`AP` + digits) and service-request (`SR…`)
/// rules (not the partner-app rules, `APP…`).
pub fn is_consequence(rule: &str) -> bool {
    let r = rule.to_ascii_uppercase();
    r.strip_prefix("AP")
        .is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_digit()))
        || r.starts_with("SR")
}

/// Tenants named as partners (by kind or in a relationship).
fn partner_ids(r: &Report<'_>) -> BTreeSet<Guid> {
    let mut out: BTreeSet<Guid> = r
        .snapshot
        .tenants
        .iter()
        .filter(|t| t.kind == TenantKind::Partner)
        .map(|t| t.tenant_id)
        .collect();
    out.extend(r.snapshot.relationships.iter().map(|x| x.partner_tenant_id));
    out
}

fn lingering(o: &Outcome<'_>) -> BTreeMap<Guid, Vec<LingeringView>> {
    let r = o.report;
    let s = r.snapshot;
    let partners = partner_ids(r);
    let mut about_source: BTreeMap<&str, Vec<&Finding>> = BTreeMap::new();
    for f in r.findings {
        if let Some(a) = &f.assignment {
            about_source.entry(a.source.as_str()).or_default().push(f);
        }
    }
    let open_ids: BTreeSet<&str> = o.open.iter().map(|x| x.finding.id.as_str()).collect();
    let mut rels_of: BTreeMap<(Guid, Guid), Vec<&crate::snapshot::Relationship>> = BTreeMap::new();
    for x in &s.relationships {
        rels_of
            .entry((x.partner_tenant_id, x.customer_tenant_id))
            .or_default()
            .push(x);
    }
    let subs: BTreeMap<Guid, &crate::snapshot::Subscription> = s
        .subscriptions
        .iter()
        .map(|x| (x.subscription_id, x))
        .collect();
    let mut out: BTreeMap<Guid, Vec<LingeringView>> = BTreeMap::new();
    for (i, a) in s.role_assignments.iter().enumerate() {
        let Some(sub) = a.scope.subscription() else {
            continue;
        };
        let home = r.graph.assignment_principal_tenant[i];
        if home == a.tenant_id || !partners.contains(&home) {
            continue;
        }
        let rels = rels_of
            .get(&(home, a.tenant_id))
            .map_or(&[][..], Vec::as_slice);
        let delegated = rels
            .iter()
            .any(|x| x.state == RelState::Active && matches!(x.kind, RelKind::Dap | RelKind::Gdap));
        if delegated {
            continue;
        }
        let source = s.cite(a.loc);
        let about = about_source
            .get(source.as_str())
            .map_or(&[][..], Vec::as_slice);
        let open: Vec<String> = about
            .iter()
            .filter(|f| open_ids.contains(f.id.as_str()))
            .map(|f| f.id.clone())
            .collect();
        let role = s.roles.name(a.role).to_string();
        let subscription = subs
            .get(&sub)
            .map_or_else(|| sub.to_string(), |x| format!("{} ({sub})", x.name));
        let relationships = if rels.is_empty() {
            "no relationship in the snapshot".to_string()
        } else {
            rels.iter()
                .map(|x| {
                    let mut t = format!("{} {}", x.kind, x.state);
                    if let Some(e) = date(x.ended_at) {
                        t.push(' ');
                        t.push_str(&e);
                    }
                    t
                })
                .collect::<Vec<_>>()
                .join(", ")
        };
        out.entry(a.tenant_id).or_default().push(LingeringView {
            subscription,
            scope: a.scope.as_str().to_string(),
            role: role.clone(),
            principal: principal_name(r, a.principal_id),
            principal_id: a.principal_id.to_string(),
            partner: r.tenant_name(home),
            relationships,
            command: az_delete(a.principal_id, &role, a.scope.as_str()),
            source,
            waived: open.is_empty() && !about.is_empty(),
            findings: open,
        });
    }
    for v in out.values_mut() {
        v.sort_by(|a, b| {
            (&a.scope, &a.role, &a.principal_id).cmp(&(&b.scope, &b.role, &b.principal_id))
        });
    }
    out
}

fn admins(mine: &[AccessLine]) -> (Vec<RoleSummary>, Vec<AdminRow>) {
    let mut roles: BTreeMap<&str, RoleSummary> = BTreeMap::new();
    let mut rows = Vec::new();
    for l in mine {
        let e = roles.entry(&l.role).or_insert_with(|| RoleSummary {
            role: l.role.clone(),
            listed: 0,
            effective: 0,
            hidden: 0,
            unknown: false,
        });
        e.effective += 1;
        if l.listed {
            e.listed += 1;
        } else if l.foreign {
            e.hidden += 1;
        }
        if l.principal_kind == "placeholder" {
            e.unknown = true;
        }
        rows.push(AdminRow {
            role: l.role.clone(),
            name: l.display_name.clone(),
            upn: l.upn.clone(),
            kind: l.principal_kind,
            home: l.home_tenant_name.clone(),
            foreign: l.foreign,
            listed: l.listed,
            justification: l.justification.clone(),
            path: l.path.clone(),
        });
    }
    (roles.into_values().collect(), rows)
}

/// Customers whose sections are built at once, in parallel, before they
/// are written in order: enough to keep the threads busy, few enough that
/// the sections in memory stay small.
pub const BATCH: usize = 256;

/// A customer's open findings, Autopilot and service requests first.
fn in_section_order<'x, 'o>(open: &'x [&'o Open<'o>]) -> impl Iterator<Item = &'o Open<'o>> + 'x {
    let (cons, rest): (Vec<_>, Vec<_>) = open
        .iter()
        .copied()
        .partition(|x| is_consequence(&x.finding.rule));
    cons.into_iter().chain(rest)
}

impl<'o> Review<'o> {
    /// Customer `i`'s full section; `diagrams`: with the path diagrams
    /// (only the HTML page draws them).
    pub fn customer(&self, i: usize, diagrams: bool) -> Option<CustomerView> {
        let c = self.customers.get(i)?;
        let sc = &self.sections;
        let o = sc.outcome;
        let r = o.report;
        let s = r.snapshot;
        let id = c.id;
        let mut findings = Vec::new();
        let mut consequences = Vec::new();
        for x in sc.open_of.get(&id).map_or(&[][..], Vec::as_slice) {
            if is_consequence(&x.finding.rule) {
                consequences.push(finding_view(o, x, diagrams));
            } else {
                findings.push(finding_view(o, x, diagrams));
            }
        }
        let (roles, admins) = admins(&sc.directory.lines_of(r, id));
        let tenant = r
            .graph
            .tenant_index
            .get(&id)
            .map(|&i| &s.tenants[i as usize]);
        Some(CustomerView {
            anchor: format!("c-{id}"),
            name: c.counts.name.clone(),
            id: c.counts.id.clone(),
            domain: tenant.and_then(|t| t.domain.as_deref().map(str::to_string)),
            counts: c.counts.clone(),
            relationships: relationships(r, sc.rels_of.get(&id).map_or(&[][..], Vec::as_slice)),
            roles,
            admins,
            lingering: sc.lingering.get(&id).cloned().unwrap_or_default(),
            consequences,
            findings,
            incomplete: s.manifest.incomplete_reason(id).map(str::to_owned),
        })
    }

    /// Every customer's section, in report order (for tests and small
    /// snapshots: [`Review::each_customer`] holds a batch at a time).
    pub fn customer_views(&self) -> Vec<CustomerView> {
        (0..self.customers.len())
            .filter_map(|i| self.customer(i, true))
            .collect()
    }

    /// Renders the sections of the customers `wanted` accepts (by index)
    /// with `render`, [`BATCH`] at a time in parallel, and hands the
    /// results to `put` in report order, whatever the number of threads.
    pub fn each_customer<T: Send>(
        &self,
        diagrams: bool,
        wanted: &(dyn Fn(usize) -> bool + Sync),
        render: &(dyn Fn(&CustomerView) -> std::io::Result<T> + Sync),
        put: &mut dyn FnMut(T) -> std::io::Result<()>,
    ) -> std::io::Result<()> {
        use rayon::prelude::*;
        let all: Vec<usize> = (0..self.customers.len()).filter(|&i| wanted(i)).collect();
        for batch in all.chunks(BATCH) {
            let done: Vec<T> = batch
                .par_iter()
                .filter_map(|&i| self.customer(i, diagrams))
                .map(|c| render(&c))
                .collect::<std::io::Result<_>>()?;
            for t in done {
                put(t)?;
            }
        }
        Ok(())
    }

    /// Customer `i`'s open findings in the order of its section.
    pub fn customer_findings(&self, i: usize) -> impl Iterator<Item = &'o Finding> + '_ {
        let open = self
            .customers
            .get(i)
            .and_then(|c| self.sections.open_of.get(&c.id))
            .map_or(&[][..], Vec::as_slice);
        in_section_order(open).map(|x| x.finding)
    }
}

/// A customer's relationships, sorted by partner, kind, state, id and start.
fn relationships(r: &Report<'_>, rels: &[&crate::snapshot::Relationship]) -> Vec<RelView> {
    let mut out: Vec<RelView> = rels
        .iter()
        .map(|x| RelView {
            partner: r.tenant_name(x.partner_tenant_id),
            kind: x.kind.as_str(),
            state: x.state.as_str(),
            relationship_id: x.relationship_id.as_deref().map(str::to_string),
            started: date(x.started_at),
            ended: date(x.ended_at),
            last_activity: date(x.last_activity_at),
        })
        .collect();
    out.sort_by(|a, b| {
        (&a.partner, a.kind, a.state, &a.relationship_id, &a.started).cmp(&(
            &b.partner,
            b.kind,
            b.state,
            &b.relationship_id,
            &b.started,
        ))
    });
    out
}

/// Computes the review from an outcome.
pub fn build<'o>(o: &'o Outcome<'o>) -> Review<'o> {
    use rayon::prelude::*;
    let r = o.report;
    let s = r.snapshot;
    // Directory-role rows only: the review shows each customer's administrators.
    let directory = access::ByTenant::new(r, |_, directory| directory);
    let lingering = lingering(o);
    // Customers: the snapshot's customer tenants, then any other tenant a finding names as customer.
    let mut customer_ids: Vec<Guid> = s
        .tenants
        .iter()
        .filter(|t| t.kind == TenantKind::Customer)
        .map(|t| t.tenant_id)
        .collect();
    let mut seen: BTreeSet<Guid> = customer_ids.iter().copied().collect();
    for f in r.findings {
        if let Some(c) = f.customer_tenant_id {
            if seen.insert(c) {
                customer_ids.push(c);
            }
        }
    }
    customer_ids.sort_by_key(|&c| (r.tenant_name(c), c));
    let known_customers: BTreeSet<Guid> = customer_ids.iter().copied().collect();
    let mut open_of: BTreeMap<Guid, Vec<&Open<'_>>> = BTreeMap::new();
    for x in &o.open {
        if let Some(c) = x.finding.customer_tenant_id {
            open_of.entry(c).or_default().push(x);
        }
    }
    let mut rels_of: BTreeMap<Guid, Vec<&crate::snapshot::Relationship>> = BTreeMap::new();
    for x in &s.relationships {
        rels_of.entry(x.customer_tenant_id).or_default().push(x);
    }
    let mut totals = Totals {
        open: o.open.len(),
        waived: o.waived.len(),
        customers: customer_ids.len(),
        partners: partner_ids(r).len(),
        ..Totals::default()
    };
    let mut severities: Vec<SevCount> = Severity::ALL
        .iter()
        .map(|s| SevCount {
            severity: s.as_str(),
            count: 0,
        })
        .collect();
    let mut by_partner: BTreeMap<(String, Guid), CountRow> = BTreeMap::new();
    for x in &o.open {
        let f = x.finding;
        if let Some(c) = severities
            .iter_mut()
            .find(|c| c.severity == f.severity.as_str())
        {
            c.count += 1;
        }
        if let Some(p) = f.partner_tenant_id {
            by_partner
                .entry((r.tenant_name(p), p))
                .or_insert_with(|| CountRow {
                    name: r.tenant_name(p),
                    id: p.to_string(),
                    ..CountRow::default()
                })
                .add(f.severity);
        }
    }
    // Partner directory-role holders the customers' own listings do not show.
    totals.hidden_admins = customer_ids
        .par_iter()
        .map(|&c| {
            directory
                .lines_of(r, c)
                .iter()
                .filter(|l| l.foreign && !l.listed)
                .count()
        })
        .sum();
    let mut rules: BTreeMap<String, (RuleCount, BTreeSet<usize>)> = BTreeMap::new();
    let mut tally = |customer: Option<usize>, x: &Open<'_>| {
        let f = x.finding;
        let (row, customers) = rules.entry(f.rule.to_string()).or_insert_with(|| {
            (
                RuleCount {
                    rule: f.rule.to_string(),
                    title: f.title.to_string(),
                    severity: f.severity.as_str(),
                    open: 0,
                    new: 0,
                    customers: 0,
                },
                BTreeSet::new(),
            )
        });
        row.open += 1;
        row.new += usize::from(x.status.map(super::Status::as_str) == Some("new"));
        customers.extend(customer);
    };
    let mut customers = Vec::with_capacity(customer_ids.len());
    for (i, &c) in customer_ids.iter().enumerate() {
        let mut counts = CountRow {
            name: r.tenant_name(c),
            id: c.to_string(),
            anchor: Some(format!("c-{c}")),
            ..CountRow::default()
        };
        let open = open_of.get(&c).map_or(&[][..], Vec::as_slice);
        let mut partners: BTreeSet<String> = rels_of
            .get(&c)
            .map_or(&[][..], Vec::as_slice)
            .iter()
            .map(|x| r.tenant_name(x.partner_tenant_id))
            .collect();
        let mut rule_set: BTreeSet<String> = BTreeSet::new();
        let mut new = 0;
        for x in in_section_order(open) {
            let f = x.finding;
            counts.add(f.severity);
            totals.consequences += usize::from(is_consequence(&f.rule));
            partners.extend(f.partner_tenant_id.map(|p| r.tenant_name(p)));
            rule_set.insert(f.rule.to_string());
            new += usize::from(x.status.map(super::Status::as_str) == Some("new"));
            tally(Some(i), x);
        }
        totals.lingering += lingering.get(&c).map_or(0, Vec::len);
        customers.push(CustomerSummary {
            id: c,
            counts,
            partners: partners.into_iter().collect(),
            new,
            incomplete: s.manifest.incomplete_reason(c).is_some(),
            rules: rule_set.into_iter().collect(),
        });
    }
    for x in o.open.iter().filter(|x| {
        x.finding
            .customer_tenant_id
            .is_none_or(|c| !known_customers.contains(&c))
    }) {
        tally(None, x);
    }
    let rules = rules
        .into_values()
        .map(|(mut row, customers)| {
            row.customers = customers.len();
            row
        })
        .collect();
    let other_findings = o
        .open
        .iter()
        .filter(|x| {
            x.finding
                .customer_tenant_id
                .is_none_or(|c| !known_customers.contains(&c))
        })
        .map(|x| finding_view(o, x, true))
        .collect();
    let baseline = o.baseline.as_ref().map(|d| BaselineView {
        file: d.file.clone(),
        new: d.new,
        unchanged: d.unchanged,
        resolved: d.resolved.clone(),
    });
    let waivers = o.waivers.as_ref().map(|set| {
        let note = |i: usize| {
            let w = &set.waivers[i];
            WaiverNote {
                line: w.line,
                target: w.target(),
                owner: w.owner.clone(),
                justification: w.justification.clone(),
                expires: w.expires.clone(),
                reopened: set.matched.get(i).cloned().unwrap_or_default(),
            }
        };
        WaiversView {
            file: set.file.clone(),
            waived: o
                .waived
                .iter()
                .map(|x| {
                    let w = &set.waivers[x.waiver];
                    WaivedView {
                        id: x.finding.id.clone(),
                        rule: x.finding.rule.to_string(),
                        severity: x.finding.severity.as_str(),
                        message: x.finding.message.clone(),
                        target: w.target(),
                        justification: w.justification.clone(),
                        owner: w.owner.clone(),
                        expires: w.expires.clone(),
                        line: w.line,
                    }
                })
                .collect(),
            expired: set.expired_ids().map(note).collect(),
            unmatched: set.unmatched_ids().map(note).collect(),
        }
    });
    let m = &s.manifest;
    Review {
        title: "Partner access review".into(),
        tool: format!("{} {}", env!("CARGO_PKG_NAME"), env!("CARGO_PKG_VERSION")),
        as_of: r.as_of.to_string(),
        as_of_origin: r.as_of_origin.describe(),
        captured_at: m.captured_at.map(|t| t.to_string()),
        perspective: m.perspective.map(|p| p.as_str()),
        source: m.source.clone(),
        totals,
        severities,
        customers,
        by_partner: by_partner.into_values().collect(),
        rules,
        blast_radius: blast_radius(r),
        baseline,
        waivers,
        other_findings,
        warnings: r
            .diagnostics
            .iter()
            .map(|d| r.diagnostic(d).to_string())
            .collect(),
        incomplete: r
            .incomplete()
            .into_iter()
            .map(|x| IncompleteView {
                anchor: known_customers
                    .contains(&x.tenant_id)
                    .then(|| format!("c-{}", x.tenant_id)),
                name: x.name,
                id: x.tenant_id.to_string(),
                reason: x.reason,
            })
            .collect(),
        sections: Sections {
            outcome: o,
            open_of,
            rels_of,
            directory,
            lingering,
        },
    }
}
