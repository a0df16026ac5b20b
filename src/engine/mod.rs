//! The rule engine: derives fact tables from the access graph, evaluates the
//! catalog in parallel and assembles deterministic findings.
//!
//! Rules are data (`rules/*.toml`, see [`rule`]); nothing here branches on a
//! rule id. Evaluation runs every rule on its own rayon task over one
//! read-only [`facts::Facts`]; results are sorted afterwards, so output never
//! depends on the thread count.

pub mod config;
pub mod docs;
pub mod expr;
pub mod facts;
pub mod rule;
pub mod ruletest;

use std::cmp::Reverse;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Arc;

use jiff::Timestamp;
use rayon::prelude::*;
use serde::Serialize;
use sha2::{Digest, Sha256};

use self::expr::{Env, Value};
use self::facts::{Ctx, FactTable, Facts, ResourceRef};
use self::rule::{MdPart, MdTemplate, ParamValue, Piece, Rule, Severity, Template};
use crate::graph::members::MemberKind;
use petgraph::graph::NodeIndex;

use crate::graph::{AccessGraph, AutopilotPolicy, Via};
use crate::snapshot::roles::RoleId;
use crate::snapshot::{Guid, Snapshot};

/// A finding's resource, as written to findings.json.
#[derive(Clone, Debug, Serialize, PartialEq, Eq, PartialOrd, Ord)]
pub struct ResourceOut {
    pub kind: &'static str,
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subscription_id: Option<Guid>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
}

/// The one role assignment a finding is about: the thing to remove.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct AssignmentOut {
    pub principal_id: Guid,
    pub principal_tenant_id: Guid,
    pub scope: String,
    pub role: String,
    /// `file:line` of the assignment in the snapshot.
    pub source: String,
}

/// One explaining path, kept as a reference and rendered only when a report
/// is written: member `member` of the expansion of grant `grant`'s holder.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PathRef {
    pub grant: u32,
    pub member: u32,
}

/// One evidence line. Lines about a grant or a disabled member are kept as
/// references, like paths, and rendered only when a report is written
/// ([`render_evidence`]); the rest is text. Lines of a finding are ordered by
/// this type's order: grants (in graph order), disabled members, then text.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Evidence {
    /// Grant `grant` (an index into the graph's grants) and, when `more` is
    /// not zero, that many grants alike but for their resource.
    Grant {
        grant: u32,
        more: u32,
    },
    /// A disabled user (a graph node) reached through a grant's holder.
    Disabled(u32),
    Text(Arc<str>),
}

/// One finding (SPEC §6). Reporters render `paths` with [`render_path`] and
/// `evidence` with [`render_evidence`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    /// Stable fingerprint: rule id + the rule's `per` key values.
    pub id: String,
    pub rule: Arc<str>,
    pub severity: Severity,
    pub title: Arc<str>,
    pub message: String,
    pub partner_tenant_id: Option<Guid>,
    pub customer_tenant_id: Option<Guid>,
    pub resource: Option<Box<ResourceOut>>,
    pub role: Option<Arc<str>>,
    pub assignment: Option<Box<AssignmentOut>>,
    /// Sorted ids of the enabled users who effectively hold the access.
    /// Shared by the findings with the same list (e.g. every DAP001 finding
    /// of one partner).
    pub principals: Arc<[Guid]>,
    /// False when the snapshot cannot tell who holds the access (partner members absent).
    pub principals_known: bool,
    /// One shortest explaining path per principal (and per placeholder group).
    pub paths: Vec<PathRef>,
    /// Evidence lines: the rule's own, then those about the grants.
    pub evidence: Vec<Evidence>,
    pub remediation: Arc<str>,
}

/// Parameter overrides: rule id → parameter → value.
pub type Overrides = BTreeMap<String, BTreeMap<String, ParamValue>>;

struct RowEnv<'a, 't> {
    table: &'t dyn FactTable,
    row: usize,
    params: &'a [ParamValue],
    as_of: Timestamp,
}

impl<'t> Env<'t> for RowEnv<'_, 't> {
    fn field(&self, idx: usize) -> Value<'t> {
        self.table.get(self.row, idx)
    }
    fn param(&self, idx: usize) -> Value<'t> {
        match &self.params[idx] {
            ParamValue::Int(i) => Value::Int(*i),
            ParamValue::Bool(b) => Value::Bool(*b),
            ParamValue::Str(s) => Value::Owned(s.clone()),
        }
    }
    fn as_of(&self) -> Timestamp {
        self.as_of
    }
}

/// What `{n_rows}` and `{n_principals}` stand for in a finding.
#[derive(Clone, Copy)]
struct Aggregates {
    rows: usize,
    principals: usize,
    known: bool,
}

thread_local! {
    /// Text is rendered here first, so that each finding keeps an
    /// allocation of exactly its size instead of a grown buffer.
    static SCRATCH: std::cell::RefCell<String> = const { std::cell::RefCell::new(String::new()) };
}

/// Renders `t` for `row` and hands the text to `keep`, which copies it into
/// an allocation of its own size.
fn render_with<T>(
    t: &Template,
    table: &dyn FactTable,
    row: usize,
    params: &[ParamValue],
    agg: Aggregates,
    keep: impl FnOnce(&str) -> T,
) -> T {
    SCRATCH.with(|cell| match cell.try_borrow_mut() {
        Ok(mut buf) => {
            buf.clear();
            render_into(&mut buf, t, table, row, params, agg);
            keep(&buf)
        }
        // Not reachable (rendering does not re-enter), but never a panic.
        Err(_) => {
            let mut buf = String::new();
            render_into(&mut buf, t, table, row, params, agg);
            keep(&buf)
        }
    })
}

fn render_into(
    out: &mut String,
    t: &Template,
    table: &dyn FactTable,
    row: usize,
    params: &[ParamValue],
    agg: Aggregates,
) {
    for p in &t.0 {
        write_piece(out, p, table, row, params, agg);
    }
}

/// Writes one piece of a template; false when it stands for a field whose
/// value is absent (null), which is then written as `none`.
fn write_piece(
    out: &mut String,
    p: &Piece,
    table: &dyn FactTable,
    row: usize,
    params: &[ParamValue],
    agg: Aggregates,
) -> bool {
    match p {
        Piece::Text(s) => out.push_str(s),
        Piece::Field(i) => {
            let v = table.get(row, *i);
            v.write_to(out);
            return !matches!(v, Value::Null);
        }
        Piece::Param(i) => match &params[*i] {
            ParamValue::Int(v) => {
                let _ = write!(out, "{v}");
            }
            ParamValue::Bool(v) => {
                let _ = write!(out, "{v}");
            }
            ParamValue::Str(v) => out.push_str(v),
        },
        Piece::Rows => {
            let _ = write!(out, "{}", agg.rows);
        }
        Piece::Principals if !agg.known && agg.principals == 0 => {
            out.push_str("an unknown number of");
        }
        Piece::Principals => {
            let _ = write!(out, "{}", agg.principals);
        }
    }
    true
}

/// Fills a Markdown template (a rule's `remediation`) for `row`. Every value
/// lands in a code span (see [`MdPart`]); an absent value is written as
/// `<name>` of its placeholder, for the reader to fill in.
fn render_md(
    rule: &Rule,
    t: &MdTemplate,
    table: &dyn FactTable,
    row: usize,
    params: &[ParamValue],
    agg: Aggregates,
) -> String {
    let mut out = String::with_capacity(rule.remediation.len() + 128);
    let mut span = String::new();
    let mut value = String::new();
    // The value of placeholder `p`, made safe for a code span, or its
    // `<name>` when absent.
    let value_of = |value: &mut String, p: &Piece| {
        value.clear();
        let present = write_piece(value, p, table, row, params, agg) && !value.is_empty();
        if !present {
            value.clear();
            let name = match p {
                Piece::Field(i) => rule.fields[*i].name,
                Piece::Param(i) => rule.params[*i].name.as_str(),
                _ => "value",
            };
            let _ = write!(value, "<{name}>");
        }
        present
    };
    for part in &t.0 {
        match part {
            MdPart::Text(s) => out.push_str(s),
            MdPart::Value(p) => {
                let _ = value_of(&mut value, p);
                code_span(&mut out, &value);
            }
            MdPart::Code(pieces) => {
                span.clear();
                for p in pieces {
                    match p {
                        Piece::Text(s) => span.push_str(s),
                        p => {
                            if value_of(&mut value, p) {
                                shell_word(&mut span, &value);
                            } else {
                                span.push_str(&value);
                            }
                        }
                    }
                }
                code_span(&mut out, &span);
            }
        }
    }
    out
}

/// Appends `s` as one Markdown code span: line breaks and other hidden
/// characters cannot end the paragraph or disguise the text, and the fence
/// is one backtick longer than the longest run of backticks in `s`, so
/// nothing in it can close the span early.
pub fn code_span(out: &mut String, s: &str) {
    let clean: String = s
        .chars()
        .map(|c| match c {
            '\r' | '\n' | '\t' => ' ',
            c if crate::report::escape::is_hidden(c) => '\u{fffd}',
            c => c,
        })
        .collect();
    let (mut longest, mut run) = (0, 0);
    for c in clean.chars() {
        run = if c == '`' { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    let fence = "`".repeat(longest + 1);
    // A span starting or ending with a backtick or a space needs a space of
    // padding on each side (CommonMark strips exactly one).
    let pad = if clean.starts_with(['`', ' ']) || clean.ends_with(['`', ' ']) {
        " "
    } else {
        ""
    };
    for x in [&fence, pad, &clean, pad, &fence] {
        out.push_str(x);
    }
}

/// Appends `s` as one word of a POSIX shell command: as is when it holds
/// only characters no shell treats specially, else in single quotes.
fn shell_word(out: &mut String, s: &str) {
    let plain = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-./:@%+=,".contains(c));
    if plain {
        out.push_str(s);
    } else {
        out.push('\'');
        out.push_str(&s.replace('\'', "'\\''"));
        out.push('\'');
    }
}

/// `RULE-` and 16 hex digits of the SHA-256 of the rule id and its key
/// values' text, each after a 0x1f separator.
fn fingerprint(rule: &str, key: &[KeyPart]) -> String {
    /// Feeds text written with `write!` to the hash, without a String.
    struct Hashing<'h>(&'h mut Sha256);
    impl std::fmt::Write for Hashing<'_> {
        fn write_str(&mut self, s: &str) -> std::fmt::Result {
            self.0.update(s.as_bytes());
            Ok(())
        }
    }
    let mut h = Sha256::new();
    h.update(rule.as_bytes());
    for k in key {
        h.update([0x1f]);
        let _ = write!(Hashing(&mut h), "{k}");
    }
    let d = h.finalize();
    let mut id = String::with_capacity(rule.len() + 17);
    id.push_str(rule);
    id.push('-');
    for b in d.iter().take(8) {
        let _ = write!(id, "{b:02x}");
    }
    id
}

fn uniform<T: PartialEq + Clone>(mut it: impl Iterator<Item = Option<T>>) -> Option<T> {
    let first = it.next()??;
    it.all(|x| x.as_ref() == Some(&first)).then_some(first)
}

/// An explaining path in the running: (principal id, member node, role),
/// path length, grant order, the path.
type PathCandidate = ((Option<Guid>, usize, RoleId), usize, u32, PathRef);

/// Grants that differ only in their resource (e.g. one per Autopilot device)
/// share this key; explicit assignments never do.
fn alike_key(g: &crate::graph::Grant) -> (usize, RoleId, u8, u32) {
    let (kind, rel) = match g.via {
        Via::Explicit(i) => (0, i),
        Via::Dap { relationship, .. } => (1, relationship),
        Via::Gdap { relationship, .. } => (2, relationship),
        Via::Autopilot { relationship } => (3, relationship),
        Via::Lighthouse { authorization, .. } => (4, authorization),
        Via::App { permission } => (5, permission),
    };
    (g.holder.index(), g.role, kind, rel)
}

/// One rule's matching rows, grouped into its findings-to-be.
struct Plan<'r, 'f> {
    rule: &'r Rule,
    rule_id: Arc<str>,
    table: &'f dyn FactTable,
    params: Vec<ParamValue>,
    /// Matching rows with their key, sorted by (key, row).
    keyed: Vec<(Vec<KeyPart>, usize)>,
    /// `keyed`'s rows, in the same order.
    rows: Vec<usize>,
    /// One range of `keyed` per finding, in key order.
    groups: Vec<std::ops::Range<usize>>,
}

/// Filters one rule's fact table and groups the matching rows by the
/// rule's key (`per`).
fn plan<'r, 'f>(
    rule: &'r Rule,
    facts: &'f Facts<'_>,
    c: &Ctx<'_>,
    params: Vec<ParamValue>,
) -> Option<Plan<'r, 'f>> {
    let table = facts.table(rule.from)?;
    let matched: Vec<usize> = (0..table.len())
        .into_par_iter()
        .filter(|&row| {
            rule.filter
                .eval(&RowEnv {
                    table,
                    row,
                    params: &params,
                    as_of: c.as_of,
                })
                .truthy()
        })
        .collect();
    // Rows are grouped by sorting them on (key, row): the groups come out in
    // key order and each group's rows in table order.
    let mut keyed: Vec<(Vec<KeyPart>, usize)> = matched
        .into_par_iter()
        .map(|row| {
            let key = rule
                .per
                .iter()
                .map(|&f| KeyPart::of(table.get(row, f)))
                .collect();
            (key, row)
        })
        .collect();
    keyed.par_sort_unstable();
    let rows: Vec<usize> = keyed.iter().map(|k| k.1).collect();
    let mut groups: Vec<std::ops::Range<usize>> = Vec::new();
    for (i, k) in keyed.iter().enumerate() {
        match groups.last_mut() {
            Some(g) if keyed[g.start].0 == k.0 => g.end = i + 1,
            _ => groups.push(i..i + 1),
        }
    }
    Some(Plan {
        rule,
        rule_id: Arc::from(rule.id.as_str()),
        table,
        params,
        keyed,
        rows,
        groups,
    })
}

/// One value of a finding's key (`per` fields), owned and ordered.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum KeyPart {
    Null,
    Bool(bool),
    Int(i64),
    Id(Guid),
    Date(Timestamp),
    Text(String),
}

impl KeyPart {
    fn of(v: Value<'_>) -> KeyPart {
        match v {
            Value::Null => KeyPart::Null,
            Value::Bool(b) => KeyPart::Bool(b),
            Value::Int(i) => KeyPart::Int(i),
            Value::Id(g) => KeyPart::Id(g),
            Value::Date(t) => KeyPart::Date(t),
            other => KeyPart::Text(other.to_string()),
        }
    }
}

impl std::fmt::Display for KeyPart {
    /// The same text as the field's [`Value`] display: fingerprints depend on it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KeyPart::Null => Value::Null.fmt(f),
            KeyPart::Bool(b) => Value::Bool(*b).fmt(f),
            KeyPart::Int(i) => Value::Int(*i).fmt(f),
            KeyPart::Id(g) => Value::Id(*g).fmt(f),
            KeyPart::Date(t) => Value::Date(*t).fmt(f),
            KeyPart::Text(s) => f.write_str(s),
        }
    }
}

/// Working vectors of [`assemble`], kept per thread and reused, so that a
/// finding allocates only what it keeps.
#[derive(Default)]
struct Work {
    principals: Vec<Guid>,
    /// Candidate paths; one shortest per (principal, role) is kept, ties
    /// going to the earlier grant.
    paths: Vec<PathCandidate>,
    /// Evidence notes, sorted and deduplicated at the end.
    notes: Vec<Evidence>,
    /// Grants alike but for their resource are described once, with a count.
    alike: Vec<((usize, RoleId, u8, u32), u32)>,
    /// Holders already expanded (few per finding: a vector beats a hash set).
    expanded: Vec<(NodeIndex, RoleId, Option<*const Guid>)>,
}

thread_local! {
    static WORK: std::cell::RefCell<Work> = std::cell::RefCell::new(Work::default());
}

/// Assembles the finding of one group (a range of `p.keyed`).
fn assemble(p: &Plan<'_, '_>, c: &Ctx<'_>, group: std::ops::Range<usize>) -> Finding {
    WORK.with(|cell| match cell.try_borrow_mut() {
        Ok(mut w) => assemble_with(&mut w, p, c, group),
        // Not reachable (assembly does not re-enter), but never a panic.
        Err(_) => assemble_with(&mut Work::default(), p, c, group),
    })
}

fn assemble_with(
    w: &mut Work,
    p: &Plan<'_, '_>,
    c: &Ctx<'_>,
    group: std::ops::Range<usize>,
) -> Finding {
    let Plan {
        rule,
        rule_id,
        table,
        params,
        ..
    } = p;
    let (rule, table) = (*rule, *table);
    let key = &p.keyed[group.start].0;
    let rows = &p.rows[group];
    let cores = || rows.iter().map(|&r| table.core(r));
    let Work {
        principals,
        paths,
        notes,
        alike,
        expanded,
    } = w;
    principals.clear();
    paths.clear();
    notes.clear();
    alike.clear();
    expanded.clear();
    let mut known = true;
    let mut grant_order = 0u32;
    for core in cores() {
        for &gi in &core.grants {
            grant_order += 1;
            let order = grant_order;
            let grant = &c.g.grants[gi as usize];
            if rule
                .principal_roles
                .as_ref()
                .is_some_and(|roles| !roles.contains(&grant.role))
            {
                continue;
            }
            let members = c.g.members_of(grant.holder);
            alike.push((alike_key(grant), gi));
            // The same holder with the same role again (e.g. one grant per
            // Autopilot device): its members, and so its shortest paths, are
            // those already seen.
            let seen = (
                grant.holder,
                grant.role,
                core.only.as_ref().map(|o| o.as_ptr()),
            );
            if expanded.contains(&seen) {
                continue;
            }
            expanded.push(seen);
            principals.reserve(members.enabled_users.len());
            paths.reserve(members.list.len());
            for (mi, m) in members.list.iter().enumerate() {
                let path = PathRef {
                    grant: gi,
                    member: u32::try_from(mi).unwrap_or(u32::MAX),
                };
                let counted = core
                    .only
                    .as_ref()
                    .is_none_or(|only| m.id.is_some_and(|id| only.binary_search(&id).is_ok()));
                let mut keep = || {
                    paths.push((
                        (m.id, m.node.index(), grant.role),
                        m.path_len(),
                        order,
                        path,
                    ));
                };
                match m.kind {
                    MemberKind::User { enabled: true } | MemberKind::Unresolved if counted => {
                        if m.kind == MemberKind::Unresolved {
                            // Who stands behind an unresolved principal is unknown.
                            known = false;
                        } else {
                            principals.extend(m.id);
                        }
                        keep();
                    }
                    MemberKind::User { enabled: false } => {
                        notes.push(Evidence::Disabled(
                            u32::try_from(m.node.index()).unwrap_or(u32::MAX),
                        ));
                    }
                    MemberKind::Placeholder => {
                        known = false;
                        keep();
                        notes.push(Evidence::Text(
                            format!(
                                "the snapshot does not hold the members of {}: who can act is unknown",
                                c.g.label(c.s, m.node)
                            )
                            .into(),
                        ));
                    }
                    _ => {}
                }
            }
        }
    }
    // A stable sort keeps each key's first grant first.
    alike.sort_by_key(|a| a.0);
    for group in alike.chunk_by(|a, b| a.0 == b.0) {
        let more = u32::try_from(group.len() - 1).unwrap_or(u32::MAX);
        notes.push(Evidence::Grant {
            grant: group[0].1,
            more,
        });
    }
    notes.sort_unstable();
    notes.dedup();
    principals.sort_unstable();
    principals.dedup();
    paths.sort_unstable_by_key(|p| (p.0, p.1, p.2));
    paths.dedup_by_key(|p| p.0);
    let agg = Aggregates {
        rows: rows.len(),
        principals: principals.len(),
        known,
    };
    let own = if rule.evidence.is_some() {
        rows.len()
    } else {
        0
    };
    let mut evidence = Vec::with_capacity(own + notes.len());
    if let Some(t) = &rule.evidence {
        for &r in rows {
            evidence.push(render_with(t, table, r, params, agg, |s| {
                Evidence::Text(Arc::from(s))
            }));
        }
    }
    evidence.append(notes);
    let resource = uniform(cores().map(|x| x.resource))
        .and_then(|n| facts::resource_of(c, n))
        .map(|r: ResourceRef| ResourceOut {
            kind: r.kind,
            id: r.id,
            subscription_id: r.subscription_id,
            scope: r.scope,
        });
    // Rows naming the same assignment (the same principal, home tenant,
    // scope and role: an export listing it twice, or once by role name and
    // once by role GUID) make a finding about that one assignment; it is
    // cited by its first row.
    let same_assignment = |a: u32, b: u32| {
        let (x, y) = (
            &c.s.role_assignments[a as usize],
            &c.s.role_assignments[b as usize],
        );
        a == b
            || (x.tenant_id == y.tenant_id
                && x.principal_id == y.principal_id
                && x.scope == y.scope
                && x.role == y.role
                && c.g.assignment_principal_tenant[a as usize]
                    == c.g.assignment_principal_tenant[b as usize])
    };
    let first_assignment = cores().next().and_then(|x| x.assignment);
    let assignment = first_assignment
        .filter(|&first| cores().all(|x| x.assignment.is_some_and(|a| same_assignment(first, a))))
        .map(|ai| {
            let a = &c.s.role_assignments[ai as usize];
            AssignmentOut {
                principal_id: a.principal_id,
                principal_tenant_id: c.g.assignment_principal_tenant[ai as usize],
                scope: a.scope.as_str().to_string(),
                role: c.s.roles.name(a.role).to_string(),
                source: c.s.cite(a.loc),
            }
        });
    Finding {
        id: fingerprint(&rule.id, key),
        rule: Arc::clone(rule_id),
        severity: rule.severity,
        title: rule.title.clone(),
        message: render_with(&rule.message, table, rows[0], params, agg, |s| {
            s.to_string()
        }),
        partner_tenant_id: uniform(cores().map(|x| x.partner)),
        customer_tenant_id: uniform(cores().map(|x| x.customer)),
        resource: resource.map(Box::new),
        role: uniform(cores().map(|x| x.role)).map(|r| c.role_arc(r)),
        assignment: assignment.map(Box::new),
        principals: c.principal_list(principals),
        principals_known: known,
        paths: paths.iter().map(|p| p.3).collect(),
        evidence,
        remediation: match &rule.remediation_template {
            Some(t) => render_md(rule, t, table, rows[0], params, agg).into(),
            None => rule.remediation.clone(),
        },
    }
}

/// Renders one explaining path of a finding.
pub fn render_path(s: &Snapshot, g: &AccessGraph, p: PathRef) -> String {
    let mut out = String::with_capacity(160);
    render_path_into(&mut out, s, g, p);
    out
}

/// Renders one evidence line of a finding.
pub fn render_evidence(s: &Snapshot, g: &AccessGraph, e: &Evidence) -> String {
    let mut out = String::with_capacity(256);
    render_evidence_into(&mut out, s, g, e);
    out
}

/// [`render_evidence`], appended to `out`.
pub fn render_evidence_into(out: &mut String, s: &Snapshot, g: &AccessGraph, e: &Evidence) {
    match e {
        Evidence::Text(t) => out.push_str(t),
        Evidence::Grant { grant, more } => {
            g.describe_grant_into(out, s, &g.grants[*grant as usize]);
            if *more > 0 {
                let _ = write!(out, ", and the same on {more} more resource(s)");
            }
        }
        Evidence::Disabled(n) => {
            g.label_into(out, s, NodeIndex::new(*n as usize));
            out.push_str(" is disabled and holds no access through this path");
        }
    }
}

/// [`render_path`], appended to `out`.
pub fn render_path_into(out: &mut String, s: &Snapshot, g: &AccessGraph, p: PathRef) {
    let grant = &g.grants[p.grant as usize];
    let member = &g.members_of(grant.holder).list[p.member as usize];
    g.render_path_into(out, s, member, grant);
}

/// Findings in report order. Ids are unique (rule + key), so the order is
/// total. The sort moves indexes; the findings (a few hundred bytes each)
/// are then put in place by following the permutation's cycles, without a
/// second vector.
fn sort_findings(findings: &mut [Finding]) {
    #[allow(clippy::type_complexity)]
    fn key(
        f: &Finding,
    ) -> (
        Reverse<Severity>,
        &str,
        Option<Guid>,
        Option<Guid>,
        Option<&ResourceOut>,
        Option<&str>,
        &str,
    ) {
        (
            Reverse(f.severity),
            &f.rule,
            f.customer_tenant_id,
            f.partner_tenant_id,
            f.resource.as_deref(),
            f.role.as_deref(),
            f.id.as_str(),
        )
    }
    let mut order: Vec<usize> = (0..findings.len()).collect();
    // The keys sit side by side while sorting; the findings stay put.
    order.sort_by_cached_key(|&i| key(&findings[i]));
    permute(findings, order);
}

/// Reorders `items` in place so that position k holds the item that was at
/// `order[k]` (`order` is a permutation), following its cycles with swaps.
fn permute<T>(items: &mut [T], mut order: Vec<usize>) {
    for start in 0..order.len() {
        let mut k = start;
        // A visited position is marked with usize::MAX.
        while order[k] != usize::MAX {
            let from = order[k];
            order[k] = usize::MAX;
            if from == start {
                break;
            }
            items.swap(k, from);
            k = from;
        }
    }
}

/// Resolves each rule's parameter values (defaults, then overrides).
pub fn param_values(rule: &Rule, overrides: &Overrides) -> Vec<ParamValue> {
    rule.params
        .iter()
        .map(|p| {
            overrides
                .get(&rule.id)
                .and_then(|o| o.get(&p.name))
                .cloned()
                .unwrap_or_else(|| p.value.clone())
        })
        .collect()
}

/// How to evaluate the catalog.
#[derive(Clone, Debug)]
pub struct RunOptions {
    /// The time time-based rules measure against.
    pub as_of: Timestamp,
    /// Rule parameter overrides (`--set RULE.param=value`).
    pub overrides: Overrides,
    /// Autopilot policy (F11 legacy, F12 strict); the graph must have been built with the same.
    pub policy: AutopilotPolicy,
    /// Under `audit --shard`: assemble only the findings this shard owns
    /// (those about its customers; shard 0 also those about no one
    /// customer). Rows are still matched in every fact table, so each
    /// finding is the one an unsharded run assembles.
    pub only: Option<crate::shard::Shard>,
}

/// Runs every enabled rule in parallel and returns the findings sorted
/// deterministically (severity, rule, customer, partner, resource, role, id).
pub fn run(
    rules: &[Rule],
    snapshot: &Snapshot,
    graph: &AccessGraph,
    opts: &RunOptions,
) -> Vec<Finding> {
    run_timed(rules, snapshot, graph, opts).0
}

/// [`run`], also returning how long deriving the fact tables took (seconds),
/// so that benchmarks can tell fact derivation from rule evaluation.
pub fn run_timed(
    rules: &[Rule],
    snapshot: &Snapshot,
    graph: &AccessGraph,
    opts: &RunOptions,
) -> (Vec<Finding>, f64) {
    let start = std::time::Instant::now();
    let ctx = Ctx::new(snapshot, graph, opts.as_of, opts.policy);
    let mut wanted: Vec<&str> = rules.iter().filter(|r| r.enabled).map(|r| r.from).collect();
    wanted.sort_unstable();
    wanted.dedup();
    let facts = Facts::build(&ctx, &wanted);
    let facts_s = start.elapsed().as_secs_f64();
    // Findings are ordered by severity (descending), rule, customer,
    // partner, resource, role and id. Every finding of a rule has the rule's
    // severity, so the rules are put in order first; all findings are then
    // assembled in parallel straight into one vector, and each rule's run of
    // it is sorted on its own task.
    let mut plans: Vec<Plan<'_, '_>> = rules
        .par_iter()
        .filter(|r| r.enabled)
        .filter_map(|r| plan(r, &facts, &ctx, param_values(r, &opts.overrides)))
        .collect();
    if let Some(shard) = opts.only {
        plans.par_iter_mut().for_each(|p| {
            let (table, rows) = (p.table, &p.rows);
            p.groups.retain(|g| {
                // The customer `assemble` gives the finding.
                let customer = uniform(rows[g.clone()].iter().map(|&r| table.core(r).customer));
                shard.owns_customer(customer)
            });
        });
    }
    plans.sort_unstable_by(|a, b| {
        (Reverse(a.rule.severity), &a.rule.id).cmp(&(Reverse(b.rule.severity), &b.rule.id))
    });
    let tasks: Vec<(&Plan<'_, '_>, std::ops::Range<usize>)> = plans
        .iter()
        .flat_map(|p| p.groups.iter().map(move |g| (p, g.clone())))
        .collect();
    let mut findings: Vec<Finding> = Vec::new();
    tasks
        .into_par_iter()
        .map(|(p, g)| assemble(p, &ctx, g))
        .collect_into_vec(&mut findings);
    let mut runs: Vec<&mut [Finding]> = Vec::with_capacity(plans.len());
    let mut rest: &mut [Finding] = &mut findings;
    for p in &plans {
        let (run, tail) = rest.split_at_mut(p.groups.len());
        runs.push(run);
        rest = tail;
    }
    runs.into_par_iter().for_each(sort_findings);
    drop(plans);
    (findings, facts_s)
}

#[cfg(test)]
mod tests {
    use super::{code_span, permute, shell_word};

    /// Validates that a code span holds any value whole.
    #[test]
    fn code_spans_hold_any_value() {
        let span = |s: &str| {
            let mut out = String::new();
            code_span(&mut out, s);
            out
        };
        assert_eq!(span("abc"), "`abc`");
        assert_eq!(span("a`b"), "``a`b``");
        assert_eq!(span("`x"), "`` `x ``");
        assert_eq!(span(" x "), "`  x  `");
        assert_eq!(span("a\n\nb\u{202e}"), "`a  b\u{fffd}`");
    }

    /// Validates shell quoting of values in command spans.
    #[test]
    fn shell_words_are_quoted_when_needed() {
        let word = |s: &str| {
            let mut out = String::new();
            shell_word(&mut out, s);
            out
        };
        assert_eq!(
            word("/subscriptions/x/resourceGroups/rg-1"),
            "/subscriptions/x/resourceGroups/rg-1"
        );
        assert_eq!(
            word("User Access Administrator"),
            "'User Access Administrator'"
        );
        assert_eq!(word("a'b;$(c)"), r"'a'\''b;$(c)'");
        assert_eq!(word(""), "''");
    }
    use rand::seq::SliceRandom;
    use rand::SeedableRng;

    #[test]
    fn permute_puts_each_item_where_the_order_says() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        for n in [0usize, 1, 2, 3, 10, 257] {
            for _ in 0..20 {
                let items: Vec<String> = (0..n).map(|i| format!("item {i}")).collect();
                let mut order: Vec<usize> = (0..n).collect();
                order.shuffle(&mut rng);
                let want: Vec<String> = order.iter().map(|&i| items[i].clone()).collect();
                let mut got = items.clone();
                permute(&mut got, order);
                assert_eq!(got, want, "n = {n}");
            }
        }
    }
}
