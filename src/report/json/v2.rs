//! findings.json format_version 2: what findings repeat is defined once, in
//! top-level tables, and referred to by key.
//!
//! - `rules`: id → title, severity, summary, rationale, remediation, references;
//! - `tenants`: tenant id → name, role (partner or customer);
//! - `principals`: object id → type, name, UPN, home tenant (also the
//!   unresolved principals and the agent-group placeholders a path names);
//! - `principal_sets`: `ps-…` → the sorted principal ids many findings share;
//! - `chains`: `c-…` → one explaining chain, member → nested groups → the
//!   grant's holder (the partner side, the same for every customer);
//! - `chain_sets`: `cs-…` → the chains one grant explains in a finding;
//! - `evidence`: `e-…` → one evidence line (grant descriptions, disabled
//!   members and the like recur in many findings);
//! - `remediations`: `r-…` → a remediation filled in with a finding's values,
//!   where it differs from its rule's.
//!
//! A finding keeps its ids, names, message, resource, role and assignment;
//! its `evidence` is a list of evidence keys, its `paths` are groups of one
//! grant (role, tenant, scope, how it is held) and a chain set. Keys are content-derived (the
//! first 16 hexadecimal digits of the SHA-256 of the content's text) and
//! every table is sorted by key, so that the same content has the same key
//! in any run, on any thread count and in any shard of a run. Tables hold
//! one entry per line and findings are one line each, so that files diff and
//! merge line by line. docs/findings-v2.md is the reference; its JSON Schema
//! is docs/findings-v2.schema.json.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{self, Write};
use std::sync::Arc;

use petgraph::graph::NodeIndex;
use rayon::prelude::*;
use rustc_hash::FxHashMap;
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::FindingsFormat;
use crate::engine::rule::{Rule, Severity};
use crate::engine::{render_evidence_into, AssignmentOut, Finding, ResourceOut};
use crate::graph::members::Hop;
use crate::graph::{Node, Via};
use crate::report::{Open, Outcome, Report, Status};
use crate::snapshot::Guid;

/// The version this layout writes.
pub const FORMAT_VERSION: u32 = 2;

/// A content-derived key: the first 64 bits of the SHA-256 of the
/// content's parts, each after the first preceded by U+001F.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
struct Key(u64);

impl Key {
    fn of<'p>(parts: impl IntoIterator<Item = &'p [u8]>) -> Key {
        let mut h = Sha256::new();
        for (i, p) in parts.into_iter().enumerate() {
            if i > 0 {
                h.update([0x1f]);
            }
            h.update(p);
        }
        let d = h.finalize();
        let mut b = [0u8; 8];
        b.copy_from_slice(&d[..8]);
        Key(u64::from_be_bytes(b))
    }

    /// The 16 hexadecimal digits (sorting them sorts the keys).
    fn hex(self) -> [u8; 16] {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut out = [0u8; 16];
        for (i, b) in self.0.to_be_bytes().iter().enumerate() {
            out[2 * i] = HEX[usize::from(b >> 4)];
            out[2 * i + 1] = HEX[usize::from(b & 0xf)];
        }
        out
    }
}

/// A key as written: its table's prefix and its digits.
#[derive(Clone, Copy)]
struct Ref(&'static str, Key);

const PRINCIPAL_SET: &str = "ps-";
const CHAIN: &str = "c-";
const CHAIN_SET: &str = "cs-";
const EVIDENCE: &str = "e-";
const REMEDIATION: &str = "r-";

impl std::fmt::Display for Ref {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)?;
        let hex = self.1.hex();
        f.write_str(std::str::from_utf8(&hex).map_err(|_| std::fmt::Error)?)
    }
}

impl Serialize for Ref {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// The `principals` key of a graph node: the object id, or
/// `placeholder:AGENT_GROUP:PARTNER_TENANT_ID` for an agent group whose
/// members the snapshot does not hold.
fn node_key(r: &Report<'_>, n: NodeIndex) -> String {
    match &r.graph.graph[n] {
        Node::Principal(i) => r.snapshot.principals[*i as usize].principal_id.to_string(),
        Node::Unresolved { id } => id.to_string(),
        Node::Placeholder { partner, group } => {
            format!("placeholder:{}:{partner}", group.as_str())
        }
        Node::App(i) => r.snapshot.service_principals[*i as usize]
            .principal_id
            .to_string(),
        // Not a principal; never on an explaining chain.
        Node::Resource { tenant, .. } => format!("resource:{tenant}"),
    }
}

/// One hop of a chain.
#[derive(Clone, Debug, PartialEq, Eq)]
enum ChainHop {
    /// A principal (its node) and its `principals` key.
    Node(NodeIndex, String),
    /// This many groups left out of a long chain.
    Elided(usize),
}

impl Serialize for ChainHop {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            ChainHop::Node(_, key) => s.serialize_str(key),
            ChainHop::Elided(k) => s.serialize_u64(*k as u64),
        }
    }
}

/// A finding's paths grouped by grant (with their chain keys) and its
/// evidence lines, rendered and keyed.
type Prepared = (Vec<(u32, Vec<Key>)>, Vec<(Key, String)>);

/// What one finding refers to.
struct Refs {
    principals: Key,
    /// One entry per grant, in the order the finding's paths first name it:
    /// the grant (index into the graph's grants) and its chain set.
    groups: Vec<(u32, Key)>,
    /// The finding's evidence lines, in order.
    evidence: Vec<Key>,
    /// Its remediation, when it is not the rule's.
    remediation: Option<Key>,
}

/// Everything the findings refer to, keyed and sorted.
struct Tables<'a> {
    rules: BTreeMap<&'a str, RuleOut<'a>>,
    tenants: BTreeSet<Guid>,
    /// Principals by key; the node when the graph has one.
    principals: BTreeMap<String, Option<NodeIndex>>,
    principal_sets: BTreeMap<Key, Arc<[Guid]>>,
    chains: BTreeMap<Key, Vec<ChainHop>>,
    chain_sets: BTreeMap<Key, Vec<Key>>,
    evidence: BTreeMap<Key, String>,
    remediations: BTreeMap<Key, &'a str>,
    /// Per open finding, in `Outcome::open` order.
    refs: Vec<Refs>,
}

/// Two different contents with one key: 64 bits make it improbable, and
/// writing one of them under the other's key would make the file lie.
fn collision(table: &str, key: Ref) -> io::Error {
    io::Error::other(format!(
        "findings.json: two different `{table}` entries share the key `{key}`"
    ))
}

/// Inserts `value` under `key`, or checks it equals what is there.
fn insert<V: PartialEq>(
    map: &mut BTreeMap<Key, V>,
    table: &str,
    prefix: &'static str,
    key: Key,
    value: V,
) -> io::Result<()> {
    match map.get(&key) {
        Some(old) if *old != value => Err(collision(table, Ref(prefix, key))),
        Some(_) => Ok(()),
        None => {
            map.insert(key, value);
            Ok(())
        }
    }
}

impl<'a> Tables<'a> {
    fn build(o: &'a Outcome<'a>) -> io::Result<Tables<'a>> {
        let r = o.report;
        let g = r.graph;
        let mut chains: BTreeMap<Key, Vec<ChainHop>> = BTreeMap::new();
        // (holder node, member position) → chain key: a path is one member
        // of one holder's expansion, and most recur in many findings.
        let mut chain_of: FxHashMap<(u32, u32), Key> = FxHashMap::default();
        for x in &o.open {
            for p in &x.finding.paths {
                let holder = g.grants[p.grant as usize].holder;
                let slot = (holder.index() as u32, p.member);
                if chain_of.contains_key(&slot) {
                    continue;
                }
                let members = g.members_of(holder);
                let Some(member) = members.list.get(p.member as usize) else {
                    return Err(io::Error::other("findings.json: a path names no member"));
                };
                let hops: Vec<ChainHop> = members
                    .shown_path(member)
                    .into_iter()
                    .map(|h| match h {
                        Hop::Node(n) => ChainHop::Node(n, node_key(r, n)),
                        Hop::Elided(k) => ChainHop::Elided(k),
                    })
                    .collect();
                let texts: Vec<String> = hops
                    .iter()
                    .map(|h| match h {
                        ChainHop::Node(_, key) => key.clone(),
                        ChainHop::Elided(k) => k.to_string(),
                    })
                    .collect();
                let key = Key::of(texts.iter().map(|t| t.as_bytes()));
                insert(&mut chains, "chains", CHAIN, key, hops)?;
                chain_of.insert(slot, key);
            }
        }
        // Each finding's paths grouped by grant and its evidence lines
        // rendered and keyed, in parallel, a batch at a time: a line
        // recurs in many findings and the table keeps it once, so only
        // one batch of rendered lines is held beside it.
        let prepare = |x: &Open<'_>| {
            let mut groups: Vec<(u32, Vec<Key>)> = Vec::new();
            for p in &x.finding.paths {
                let holder = g.grants[p.grant as usize].holder;
                let key = chain_of[&(holder.index() as u32, p.member)];
                match groups.iter_mut().find(|(gi, _)| *gi == p.grant) {
                    Some((_, keys)) => keys.push(key),
                    None => groups.push((p.grant, vec![key])),
                }
            }
            let lines: Vec<(Key, String)> = x
                .finding
                .evidence
                .iter()
                .map(|e| {
                    let mut text = String::new();
                    render_evidence_into(&mut text, r.snapshot, r.graph, e);
                    (Key::of([text.as_bytes()]), text)
                })
                .collect();
            (groups, lines)
        };
        let catalog: BTreeMap<&str, &Rule> = o.rules.iter().map(|r| (r.id.as_str(), r)).collect();
        let mut evidence: BTreeMap<Key, String> = BTreeMap::new();
        let mut remediations: BTreeMap<Key, &'a str> = BTreeMap::new();
        let mut chain_sets: BTreeMap<Key, Vec<Key>> = BTreeMap::new();
        let mut principal_sets: BTreeMap<Key, Arc<[Guid]>> = BTreeMap::new();
        // Findings share principal lists (one allocation each): key each once.
        let mut set_of: FxHashMap<usize, Key> = FxHashMap::default();
        let mut refs = Vec::with_capacity(o.open.len());
        for batch in o.open.chunks(crate::report::BATCH) {
            let prepared: Vec<Prepared> = batch.par_iter().map(prepare).collect();
            for (x, (groups, lines)) in batch.iter().zip(prepared) {
                let list = &x.finding.principals;
                let principals = match set_of.get(&(list.as_ptr() as usize)) {
                    Some(&k) => k,
                    None => {
                        let texts: Vec<String> = list.iter().map(Guid::to_string).collect();
                        let k = Key::of(texts.iter().map(|t| t.as_bytes()));
                        insert(
                            &mut principal_sets,
                            "principal_sets",
                            PRINCIPAL_SET,
                            k,
                            Arc::clone(list),
                        )?;
                        set_of.insert(list.as_ptr() as usize, k);
                        k
                    }
                };
                let mut out = Vec::with_capacity(groups.len());
                for (grant, keys) in groups {
                    let texts: Vec<String> =
                        keys.iter().map(|&k| Ref(CHAIN, k).to_string()).collect();
                    let k = Key::of(texts.iter().map(|t| t.as_bytes()));
                    insert(&mut chain_sets, "chain_sets", CHAIN_SET, k, keys)?;
                    out.push((grant, k));
                }
                let mut keys = Vec::with_capacity(lines.len());
                for (k, text) in lines {
                    insert(&mut evidence, "evidence", EVIDENCE, k, text)?;
                    keys.push(k);
                }
                let f = x.finding;
                let template = catalog.get(&*f.rule).map(|rule| &*rule.remediation);
                let remediation = match differs(&f.remediation, template) {
                    Some(text) => {
                        let k = Key::of([text.as_bytes()]);
                        insert(&mut remediations, "remediations", REMEDIATION, k, text)?;
                        Some(k)
                    }
                    None => None,
                };
                refs.push(Refs {
                    principals,
                    groups: out,
                    evidence: keys,
                    remediation,
                });
            }
        }
        // Principals: every hop of every chain, every member of a set, and
        // the principal of each assignment.
        let mut principals: BTreeMap<String, Option<NodeIndex>> = BTreeMap::new();
        for hops in chains.values() {
            for h in hops {
                if let ChainHop::Node(n, key) = h {
                    principals.entry(key.clone()).or_insert(Some(*n));
                }
            }
        }
        let mut ids: BTreeSet<Guid> = principal_sets
            .values()
            .flat_map(|s| s.iter().copied())
            .collect();
        ids.extend(
            o.open
                .iter()
                .filter_map(|x| x.finding.assignment.as_ref().map(|a| a.principal_id)),
        );
        for id in ids {
            principals
                .entry(id.to_string())
                .or_insert_with(|| g.principal(r.snapshot, &id));
        }
        // Tenants: every one a finding, a principal or a grant names.
        let mut tenants = BTreeSet::new();
        let findings = o
            .open
            .iter()
            .map(|x| x.finding)
            .chain(o.waived.iter().map(|x| x.finding));
        for f in findings.clone() {
            tenants.extend(f.partner_tenant_id);
            tenants.extend(f.customer_tenant_id);
            tenants.extend(f.assignment.as_ref().map(|a| a.principal_tenant_id));
        }
        for n in principals.values().flatten() {
            tenants.extend(principal_out(r, *n).tenant_id);
        }
        for rf in &refs {
            for &(grant, _) in &rf.groups {
                tenants.extend(grant_out(r, grant).1);
            }
        }
        // Rules: every one a finding (open or waived) names.
        let mut rules = BTreeMap::new();
        for f in findings {
            rules
                .entry(&*f.rule)
                .or_insert_with(|| match catalog.get(&*f.rule) {
                    Some(rule) => RuleOut {
                        title: &rule.title,
                        severity: rule.severity,
                        summary: &rule.summary,
                        rationale: &rule.rationale,
                        remediation: &rule.remediation,
                        references: &rule.references,
                    },
                    // A rule the outcome's catalog does not hold: what its
                    // findings say of it.
                    None => RuleOut {
                        title: &f.title,
                        severity: f.severity,
                        summary: "",
                        rationale: "",
                        remediation: &f.remediation,
                        references: &[],
                    },
                });
        }
        Ok(Tables {
            rules,
            tenants,
            principals,
            principal_sets,
            chains,
            chain_sets,
            evidence,
            remediations,
            refs,
        })
    }

    /// Writes every table, each entry on a line of its own.
    fn write(&self, r: &Report<'_>, w: &mut dyn Write) -> io::Result<()> {
        let mut line = Vec::with_capacity(1024);
        let mut table = |name: &str,
                         entries: &mut dyn Iterator<Item = (String, &dyn erased::Value)>|
         -> io::Result<()> {
            write!(w, ",\n  \"{name}\": {{")?;
            let mut first = true;
            for (key, value) in entries {
                line.clear();
                line.extend_from_slice(if first { b"\n    " } else { b",\n    " });
                first = false;
                serde_json::to_writer(&mut line, &key).map_err(io::Error::other)?;
                line.extend_from_slice(b": ");
                value.write_to(&mut line)?;
                w.write_all(&line)?;
            }
            w.write_all(if first { b"}" } else { b"\n  }" })
        };
        table(
            "rules",
            &mut self
                .rules
                .iter()
                .map(|(id, rule)| ((*id).to_owned(), rule as &dyn erased::Value)),
        )?;
        let tenants: Vec<(String, TenantOut<'_>)> = self
            .tenants
            .iter()
            .map(|&t| (t.to_string(), tenant_out(r, t)))
            .collect();
        table(
            "tenants",
            &mut tenants
                .iter()
                .map(|(k, v)| (k.clone(), v as &dyn erased::Value)),
        )?;
        let principals: Vec<(String, PrincipalOut<'_>)> = self
            .principals
            .iter()
            .map(|(key, node)| {
                let out = match node {
                    Some(n) => principal_out(r, *n),
                    None => PrincipalOut::unresolved(None),
                };
                (key.clone(), out)
            })
            .collect();
        table(
            "principals",
            &mut principals
                .iter()
                .map(|(k, v)| (k.clone(), v as &dyn erased::Value)),
        )?;
        table(
            "principal_sets",
            &mut self
                .principal_sets
                .iter()
                .map(|(&k, v)| (Ref(PRINCIPAL_SET, k).to_string(), v as &dyn erased::Value)),
        )?;
        table(
            "chains",
            &mut self
                .chains
                .iter()
                .map(|(&k, v)| (Ref(CHAIN, k).to_string(), v as &dyn erased::Value)),
        )?;
        let sets: Vec<(String, Vec<Ref>)> = self
            .chain_sets
            .iter()
            .map(|(&k, v)| {
                (
                    Ref(CHAIN_SET, k).to_string(),
                    v.iter().map(|&c| Ref(CHAIN, c)).collect(),
                )
            })
            .collect();
        table(
            "chain_sets",
            &mut sets
                .iter()
                .map(|(k, v)| (k.clone(), v as &dyn erased::Value)),
        )?;
        table(
            "evidence",
            &mut self
                .evidence
                .iter()
                .map(|(&k, v)| (Ref(EVIDENCE, k).to_string(), v as &dyn erased::Value)),
        )?;
        table(
            "remediations",
            &mut self
                .remediations
                .iter()
                .map(|(&k, v)| (Ref(REMEDIATION, k).to_string(), v as &dyn erased::Value)),
        )
    }
}

/// Table values of different types behind one reference.
mod erased {
    use std::io;

    pub trait Value {
        fn write_to(&self, out: &mut Vec<u8>) -> io::Result<()>;
    }

    impl<T: serde::Serialize> Value for T {
        fn write_to(&self, out: &mut Vec<u8>) -> io::Result<()> {
            serde_json::to_writer(out, self).map_err(io::Error::other)
        }
    }
}

#[derive(Serialize)]
struct RuleOut<'a> {
    title: &'a str,
    severity: Severity,
    summary: &'a str,
    rationale: &'a str,
    remediation: &'a str,
    references: &'a [String],
}

#[derive(Serialize)]
struct TenantOut<'a> {
    /// `null` when the snapshot does not hold the tenant.
    name: Option<&'a str>,
    /// `partner` or `customer`; `null` when the snapshot does not hold the tenant.
    role: Option<&'static str>,
}

fn tenant_out<'r>(r: &Report<'r>, t: Guid) -> TenantOut<'r> {
    match r.graph.tenant_index.get(&t) {
        Some(&i) => {
            let x = &r.snapshot.tenants[i as usize];
            TenantOut {
                name: Some(&x.name),
                role: Some(x.kind.as_str()),
            }
        }
        None => TenantOut {
            name: None,
            role: None,
        },
    }
}

#[derive(Serialize)]
struct PrincipalOut<'a> {
    /// `user`, `group`, `service_principal`, `unresolved` or `placeholder`.
    #[serde(rename = "type")]
    kind: &'static str,
    name: Option<&'a str>,
    upn: Option<&'a str>,
    /// The home tenant (`null` when unknown).
    tenant_id: Option<Guid>,
    #[serde(skip_serializing_if = "Option::is_none")]
    enabled: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    agent_group: Option<&'static str>,
}

impl PrincipalOut<'_> {
    fn unresolved(tenant_id: Option<Guid>) -> Self {
        PrincipalOut {
            kind: "unresolved",
            name: None,
            upn: None,
            tenant_id,
            enabled: None,
            agent_group: None,
        }
    }
}

fn principal_out<'r>(r: &Report<'r>, n: NodeIndex) -> PrincipalOut<'r> {
    match &r.graph.graph[n] {
        Node::Principal(i) => {
            let p = &r.snapshot.principals[*i as usize];
            PrincipalOut {
                kind: p.kind.as_str(),
                name: Some(&p.display_name),
                upn: p.upn.as_deref(),
                tenant_id: Some(p.tenant_id),
                enabled: p.enabled,
                agent_group: p.agent_group.map(|a| a.as_str()),
            }
        }
        Node::Unresolved { .. } => PrincipalOut::unresolved(r.graph.unresolved_home(n)),
        Node::Placeholder { partner, group } => PrincipalOut {
            kind: "placeholder",
            name: Some(group.group_name()),
            upn: None,
            tenant_id: Some(*partner),
            enabled: None,
            agent_group: Some(group.as_str()),
        },
        Node::App(i) => {
            let p = &r.snapshot.service_principals[*i as usize];
            PrincipalOut {
                kind: "service_principal",
                name: Some(&p.display_name),
                upn: None,
                tenant_id: Some(p.tenant_id),
                enabled: p.enabled,
                agent_group: None,
            }
        }
        Node::Resource { .. } => PrincipalOut::unresolved(None),
    }
}

/// What a path group says of its grant.
#[derive(Serialize)]
struct PathGroupOut<'a> {
    chains: Ref,
    role: &'a str,
    /// The tenant of the resource the grant is on, when it is not the
    /// finding's `customer_tenant_id` (it nearly always is).
    #[serde(skip_serializing_if = "Option::is_none")]
    tenant_id: Option<Guid>,
    /// `/` for the tenant's directory, else the Azure or Autopilot scope.
    scope: Option<&'a str>,
    /// `assigned`, `dap`, `gdap`, `autopilot`, `lighthouse_standing`,
    /// `lighthouse_eligible`, `app_role` or `delegated_permission`.
    via: &'static str,
    /// The GDAP relationship's id (`gdap`).
    #[serde(skip_serializing_if = "Option::is_none")]
    relationship_id: Option<&'a str>,
    /// The Lighthouse offer's name (`lighthouse_*`), when the delegation has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    offer: Option<&'a str>,
}

/// A grant's role, tenant, scope, channel and GDAP relationship id.
fn grant_out<'r>(
    r: &Report<'r>,
    grant: u32,
) -> (
    &'r str,
    Option<Guid>,
    Option<&'r str>,
    &'static str,
    Option<&'r str>,
) {
    let s = r.snapshot;
    let g = r.graph;
    let grant = &g.grants[grant as usize];
    let (tenant, scope) = match &g.graph[grant.resource] {
        Node::Resource { tenant, scope } if scope.is_directory() => (Some(*tenant), Some("/")),
        Node::Resource { tenant, scope } => (Some(*tenant), Some(g.scope(*scope).as_str())),
        _ => (None, None),
    };
    let (via, relationship) = match grant.via {
        Via::Explicit(_) => ("assigned", None),
        Via::Dap { .. } => ("dap", None),
        Via::Autopilot { .. } => ("autopilot", None),
        Via::Gdap { relationship, .. } => (
            "gdap",
            s.relationships[relationship as usize]
                .relationship_id
                .as_deref(),
        ),
        // The offer a Lighthouse delegation came from stands where a GDAP
        // relationship's id does.
        Via::Lighthouse { delegation, .. } => (
            grant.via.kind(s).name(),
            s.lighthouse_delegations[delegation as usize]
                .offer_name
                .as_deref(),
        ),
        Via::App { .. } => (grant.via.kind(s).name(), None),
    };
    (s.roles.name(grant.role), tenant, scope, via, relationship)
}

#[derive(Serialize)]
struct FindingOut<'a> {
    id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<Status>,
    rule: &'a str,
    severity: Severity,
    /// Only when it is not the rule's.
    #[serde(skip_serializing_if = "Option::is_none")]
    title: Option<&'a str>,
    message: &'a str,
    partner_tenant_id: Option<Guid>,
    partner_name: Option<&'a str>,
    customer_tenant_id: Option<Guid>,
    customer_name: Option<&'a str>,
    resource: Option<&'a ResourceOut>,
    role: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    assignment: Option<&'a AssignmentOut>,
    principals: Ref,
    principals_known: bool,
    paths: Vec<PathGroupOut<'a>>,
    evidence: Vec<Ref>,
    /// Only when it is not the rule's: a key of `remediations`.
    #[serde(skip_serializing_if = "Option::is_none")]
    remediation: Option<Ref>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reopened_by: Option<String>,
}

/// `mine`, unless it is what the rule says (`theirs`).
fn differs<'m>(mine: &'m str, theirs: Option<&str>) -> Option<&'m str> {
    (theirs != Some(mine)).then_some(mine)
}

/// A tenant's name, when the snapshot holds the tenant.
fn name_of<'r>(r: &Report<'r>, t: Option<Guid>) -> Option<&'r str> {
    t.and_then(|t| tenant_out(r, t).name)
}

/// One finding as one line of compact JSON, indented to sit in `findings`.
fn render_finding(o: &Outcome<'_>, t: &Tables<'_>, i: usize, x: &Open<'_>) -> io::Result<Vec<u8>> {
    let r = o.report;
    let f: &Finding = x.finding;
    let refs = t
        .refs
        .get(i)
        .ok_or_else(|| io::Error::other("findings.json: a finding without references"))?;
    let rule = t.rules.get(&*f.rule);
    let out = FindingOut {
        id: &f.id,
        status: x.status,
        rule: &f.rule,
        severity: f.severity,
        title: differs(&f.title, rule.map(|r| r.title)),
        message: &f.message,
        partner_tenant_id: f.partner_tenant_id,
        partner_name: name_of(r, f.partner_tenant_id),
        customer_tenant_id: f.customer_tenant_id,
        customer_name: name_of(r, f.customer_tenant_id),
        resource: f.resource.as_deref(),
        role: f.role.as_deref(),
        assignment: f.assignment.as_deref(),
        principals: Ref(PRINCIPAL_SET, refs.principals),
        principals_known: f.principals_known,
        paths: refs
            .groups
            .iter()
            .map(|&(grant, chains)| {
                let (role, tenant_id, scope, via, name) = grant_out(r, grant);
                let lighthouse = via.starts_with("lighthouse_");
                PathGroupOut {
                    chains: Ref(CHAIN_SET, chains),
                    role,
                    tenant_id: tenant_id.filter(|&t| Some(t) != f.customer_tenant_id),
                    scope,
                    via,
                    relationship_id: name.filter(|_| !lighthouse),
                    offer: name.filter(|_| lighthouse),
                }
            })
            .collect(),
        evidence: refs.evidence.iter().map(|&k| Ref(EVIDENCE, k)).collect(),
        remediation: refs.remediation.map(|k| Ref(REMEDIATION, k)),
        reopened_by: super::reopened_by(o, x),
    };
    let mut line = Vec::with_capacity(1024);
    line.extend_from_slice(b"    ");
    serde_json::to_writer(&mut line, &out).map_err(io::Error::other)?;
    Ok(line)
}

/// Writes findings.json format_version 2 for an outcome.
pub fn write(o: &Outcome<'_>, w: &mut dyn Write) -> io::Result<()> {
    let tables = Tables::build(o)?;
    w.write_all(&super::head(o, FindingsFormat::V2)?)?;
    tables.write(o.report, w)?;
    super::write_findings(o, w, |i, x| render_finding(o, &tables, i, x))
}
