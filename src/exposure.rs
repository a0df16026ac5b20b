//! Blast radius (`partner-audit exposure`): everything one partner
//! principal, group, app or whole tenant reaches — customer tenants,
//! directory roles, subscriptions, resource groups and whatever else a
//! channel grants — each with one shortest explaining path.
//!
//! The query is a breadth-first search over the access graph's edges from
//! the target. What an edge means to the search is decided in one place,
//! [`follow`], by an exhaustive match over [`Edge`]: a new kind of edge
//! does not compile until it is given a meaning there, so no channel is
//! skipped silently. In the same way [`Channel::of`] names the channel of
//! every kind of grant ([`Via`]) and [`ItemKind::of`] places every role
//! plane. Ties between paths of the same length go to the edge added
//! first (snapshot order), so the answer does not depend on hashing or on
//! the thread count.

use std::fmt::{self, Write as _};
use std::io::{self, Write};

use petgraph::graph::{EdgeIndex, NodeIndex};
use petgraph::visit::EdgeRef;
use petgraph::Direction;
use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};
use serde::Serialize;

use crate::graph::{AccessGraph, Edge, Grant, Node, Via};
use crate::report::summary::printable;
use crate::snapshot::roles::{RoleId, RolePlane};
use crate::snapshot::{Guid, LighthouseAccess, PermissionKind, Snapshot, TenantKind};

/// Version of the `exposure --format json` layout.
pub const FORMAT_VERSION: u32 = 1;

/// Whom an exposure query starts from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// One principal: a user, group, service principal, an unresolved
    /// principal id or a placeholder agent group.
    Principal(NodeIndex),
    /// Every principal of a tenant (its users, groups and apps, its
    /// placeholder agent groups and the unresolved principals homed there),
    /// and every service principal of an application the tenant owns.
    Tenant(Guid),
    /// Every service principal of one application (by its app id): a
    /// multi-tenant partner app has one in each customer that consented.
    App(Guid),
}

/// A principal or tenant a query could have meant.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Candidate {
    /// `user`, `group`, `service_principal`, `partner tenant`, ...
    pub kind: String,
    pub name: String,
    pub id: Guid,
    /// The UPN of a user, or the tenant a principal belongs to.
    pub detail: String,
}

impl fmt::Display for Candidate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} `{}`", self.kind, printable(&self.name))?;
        if !self.detail.is_empty() {
            write!(f, " ({})", printable(&self.detail))?;
        }
        write!(f, ": {}", self.id)
    }
}

/// A target that names nothing, or more than one thing, in the snapshot.
#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    #[error("unknown target `{}`: no principal, group, app or tenant in the snapshot has that id, UPN or name{}\nhelp: pass an object id, a UPN, a display name, or a tenant id or name", printable(.query), did_you_mean(.candidates))]
    Unknown {
        query: String,
        candidates: Vec<Candidate>,
    },
    #[error("target `{}` is ambiguous: {} principals or tenants have that name{}\nhelp: pass the id of the one you mean", printable(.query), .candidates.len(), list(.candidates))]
    Ambiguous {
        query: String,
        candidates: Vec<Candidate>,
    },
}

/// Most candidates an error lists.
const MAX_LISTED: usize = 10;

fn list(c: &[Candidate]) -> String {
    let mut out = String::new();
    for x in c.iter().take(MAX_LISTED) {
        let _ = write!(out, "\n  {x}");
    }
    if c.len() > MAX_LISTED {
        let _ = write!(out, "\n  … and {} more", c.len() - MAX_LISTED);
    }
    out
}

fn did_you_mean(c: &[Candidate]) -> String {
    if c.is_empty() {
        String::new()
    } else {
        format!("\ndid you mean:{}", list(c))
    }
}

/// Case-insensitive equality, Unicode-aware (names are not all ASCII).
fn same_text(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
        || (!a.is_ascii() || !b.is_ascii()) && a.to_lowercase() == b.to_lowercase()
}

/// A tenant's name: from the `tenants` table, else the managing-tenant
/// name a Lighthouse delegation gives it.
fn tenant_name(s: &Snapshot, g: &AccessGraph, t: Guid) -> Option<String> {
    match g.tenant_index.get(&t) {
        Some(&i) => Some(s.tenants[i as usize].name.to_string()),
        None => s
            .lighthouse_delegations
            .iter()
            .filter(|d| d.managing_tenant_id == t)
            .find_map(|d| d.managing_tenant_name.as_deref().map(str::to_string)),
    }
}

fn tenant_label(s: &Snapshot, g: &AccessGraph, t: Guid) -> String {
    tenant_name(s, g, t).unwrap_or_else(|| format!("tenant {t}"))
}

fn tenant_kind(s: &Snapshot, g: &AccessGraph, t: Guid) -> Option<TenantKind> {
    g.tenant_index.get(&t).map(|&i| s.tenants[i as usize].kind)
}

/// The node of principal row `i`, when that row is the one the graph uses
/// (a duplicate row is not).
fn row_node(s: &Snapshot, g: &AccessGraph, i: usize) -> Option<NodeIndex> {
    let n = g.principal(s, &s.principals[i].principal_id)?;
    matches!(g.graph[n], Node::Principal(r) if r as usize == i).then_some(n)
}

fn principal_candidate(s: &Snapshot, g: &AccessGraph, i: usize) -> Candidate {
    let p = &s.principals[i];
    let home = tenant_label(s, g, p.tenant_id);
    Candidate {
        kind: p.kind.as_str().to_string(),
        name: p.display_name.to_string(),
        id: p.principal_id,
        detail: match &p.upn {
            Some(u) => format!("{u}, {home}"),
            None => home,
        },
    }
}

fn app_candidate(s: &Snapshot, g: &AccessGraph, i: usize) -> Candidate {
    let p = &s.service_principals[i];
    let mut detail = format!("app id {}", p.app_id);
    if let Some(owner) = p.owner_tenant_id {
        let _ = write!(detail, ", owned by {}", tenant_label(s, g, owner));
    }
    Candidate {
        kind: "app".to_string(),
        name: p.display_name.to_string(),
        id: p.app_id,
        detail,
    }
}

/// The service principal rows of app `app_id` that the graph holds a node for.
fn app_nodes(s: &Snapshot, g: &AccessGraph, app_id: Guid) -> Vec<NodeIndex> {
    let mut out: Vec<NodeIndex> = s
        .service_principals
        .iter()
        .filter(|p| p.app_id == app_id)
        .filter_map(|p| g.principal(s, &p.principal_id))
        .collect();
    out.sort_unstable();
    out.dedup();
    out
}

/// The target an app id stands for: its one service principal, or all of them.
fn app_target(s: &Snapshot, g: &AccessGraph, app_id: Guid) -> Option<Target> {
    match app_nodes(s, g, app_id).as_slice() {
        [] => None,
        [n] => Some(Target::Principal(*n)),
        _ => Some(Target::App(app_id)),
    }
}

fn tenant_candidate(s: &Snapshot, i: usize) -> Candidate {
    let t = &s.tenants[i];
    Candidate {
        kind: format!("{} tenant", t.kind.as_str()),
        name: t.name.to_string(),
        id: t.tenant_id,
        detail: t.domain.as_deref().unwrap_or("").to_string(),
    }
}

/// Whether any node of the graph stands for a principal of tenant `t`
/// (a tenant referenced only as a home, without a `tenants` row).
fn tenant_in_graph(s: &Snapshot, g: &AccessGraph, t: Guid) -> bool {
    s.principals.iter().any(|p| p.tenant_id == t)
        || s.service_principals
            .iter()
            .any(|p| p.tenant_id == t || p.owner_tenant_id == Some(t))
        || g.unresolved_home.values().any(|&h| h == t)
        || g.agent_groups.keys().any(|k| k.0 == t)
        || g.graph
            .node_weights()
            .any(|n| matches!(n, Node::Placeholder { partner, .. } if *partner == t))
}

/// Finds what `query` names: an object id (principal, including one only
/// referenced, or tenant), an application's app id, a UPN, a display name
/// (of a principal or an app), or a tenant name or domain, all
/// case-insensitive. None or several matches are errors that
/// list what the user may have meant.
pub fn resolve(s: &Snapshot, g: &AccessGraph, query: &str) -> Result<Target, TargetError> {
    let q = query.trim();
    if let Some(id) = Guid::parse(q) {
        if let Some(n) = g.principal(s, &id) {
            return Ok(Target::Principal(n));
        }
        if let Some(t) = app_target(s, g, id) {
            return Ok(t);
        }
        if g.tenant_index.contains_key(&id) || tenant_in_graph(s, g, id) {
            return Ok(Target::Tenant(id));
        }
        return Err(TargetError::Unknown {
            query: q.to_string(),
            candidates: Vec::new(),
        });
    }
    let mut principals = Vec::new();
    for (i, p) in s.principals.iter().enumerate() {
        let hit =
            same_text(&p.display_name, q) || p.upn.as_deref().is_some_and(|u| same_text(u, q));
        if hit {
            if let Some(n) = row_node(s, g, i) {
                principals.push((i, n));
            }
        }
    }
    // Apps by display name, one per app id; a service principal also
    // listed in `principals` counts once, as its app.
    let mut apps: Vec<(usize, Guid)> = Vec::new();
    for (i, p) in s.service_principals.iter().enumerate() {
        if same_text(&p.display_name, q)
            && g.principal(s, &p.principal_id).is_some()
            && !apps.iter().any(|&(_, a)| a == p.app_id)
        {
            apps.push((i, p.app_id));
        }
    }
    if !apps.is_empty() {
        principals.retain(|&(_, n)| {
            !apps
                .iter()
                .any(|&(_, a)| app_nodes(s, g, a).binary_search(&n).is_ok())
        });
    }
    let tenants: Vec<usize> = s
        .tenants
        .iter()
        .enumerate()
        .filter(|(_, t)| {
            same_text(&t.name, q) || t.domain.as_deref().is_some_and(|d| same_text(d, q))
        })
        .map(|(i, _)| i)
        .collect();
    match (principals.as_slice(), apps.as_slice(), tenants.as_slice()) {
        ([(_, n)], [], []) => Ok(Target::Principal(*n)),
        ([], [(_, a)], []) => app_target(s, g, *a).ok_or_else(|| TargetError::Unknown {
            query: q.to_string(),
            candidates: Vec::new(),
        }),
        ([], [], [t]) => Ok(Target::Tenant(s.tenants[*t].tenant_id)),
        ([], [], []) => Err(TargetError::Unknown {
            query: q.to_string(),
            candidates: suggestions(s, g, q),
        }),
        _ => {
            let mut candidates: Vec<Candidate> = principals
                .iter()
                .map(|&(i, _)| principal_candidate(s, g, i))
                .chain(apps.iter().map(|&(i, _)| app_candidate(s, g, i)))
                .chain(tenants.iter().map(|&i| tenant_candidate(s, i)))
                .collect();
            candidates.sort();
            candidates.dedup();
            Err(TargetError::Ambiguous {
                query: q.to_string(),
                candidates,
            })
        }
    }
}

/// Most suggestions an unknown target gets.
const MAX_SUGGESTIONS: usize = 5;

/// Principals and tenants close to an unknown query: a UPN that starts
/// with it, a name or UPN that contains it, then names that look alike
/// (Jaro–Winkler similarity), best first.
fn suggestions(s: &Snapshot, g: &AccessGraph, q: &str) -> Vec<Candidate> {
    use rayon::prelude::*;
    let q = q.to_lowercase();
    if q.is_empty() {
        return Vec::new();
    }
    let q_len = q.chars().count();
    let mut q_hist = [0u16; 128];
    for b in q.bytes().filter(u8::is_ascii) {
        q_hist[usize::from(b)] = q_hist[usize::from(b)].saturating_add(1);
    }
    // An upper bound of the Jaro–Winkler similarity from the characters the
    // two texts share (whatever their order): at most `shared` characters
    // match, and the common-prefix bonus is at most 0.4 × (1 − Jaro).
    let may_look_alike = |t: &str| -> bool {
        if !t.is_ascii() || !q.is_ascii() {
            return true;
        }
        let mut hist = [0u16; 128];
        for b in t.bytes() {
            hist[usize::from(b)] = hist[usize::from(b)].saturating_add(1);
        }
        let shared: u32 = hist
            .iter()
            .zip(&q_hist)
            .map(|(a, b)| u32::from(*a.min(b)))
            .sum();
        let m = f64::from(shared);
        let jaro = (m / q.len() as f64 + m / t.len() as f64 + 1.0) / 3.0;
        shared > 0 && jaro + 0.4 * (1.0 - jaro) >= 0.85
    };
    // `buf` is reused for each text's lower-case form: no allocation per principal.
    let score = |buf: &mut String, text: &str, upn: bool| -> f64 {
        buf.clear();
        buf.extend(text.chars().flat_map(char::to_lowercase));
        if upn && buf.starts_with(&q) {
            3.0
        } else if buf.contains(&q) {
            2.0
        } else {
            // A look-alike has about the same length; the similarity is
            // computed only for those (most texts are skipped cheaply).
            let len = buf.chars().count();
            if 5 * len.min(q_len) < 3 * len.max(q_len) || !may_look_alike(buf) {
                return 0.0;
            }
            let sim = strsim::jaro_winkler(&q, buf);
            if sim >= 0.85 {
                sim
            } else {
                0.0
            }
        }
    };
    let hits: Vec<(f64, usize)> = s
        .principals
        .par_iter()
        .enumerate()
        .with_min_len(4096)
        .map_init(String::new, |buf, (i, p)| {
            let name = score(buf, &p.display_name, false);
            let upn = p.upn.as_deref().map_or(0.0, |u| score(buf, u, true));
            (name.max(upn), i)
        })
        .filter(|x| x.0 > 0.0)
        .collect();
    let mut scored: Vec<(f64, Candidate)> = hits
        .into_iter()
        .filter(|&(_, i)| row_node(s, g, i).is_some())
        .map(|(sc, i)| (sc, principal_candidate(s, g, i)))
        .collect();
    let mut buf = String::new();
    for (i, p) in s.service_principals.iter().enumerate() {
        let sc = score(&mut buf, &p.display_name, false);
        if sc > 0.0 && g.principal(s, &p.principal_id).is_some() {
            scored.push((sc, app_candidate(s, g, i)));
        }
    }
    for (i, t) in s.tenants.iter().enumerate() {
        let name = score(&mut buf, &t.name, false);
        let domain = t
            .domain
            .as_deref()
            .map_or(0.0, |d| score(&mut buf, d, true));
        if name.max(domain) > 0.0 {
            scored.push((name.max(domain), tenant_candidate(s, i)));
        }
    }
    scored.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
    scored.dedup_by(|a, b| a.1 == b.1);
    scored
        .into_iter()
        .take(MAX_SUGGESTIONS)
        .map(|x| x.1)
        .collect()
}

/// The principals a target stands for, in node order.
fn sources(s: &Snapshot, g: &AccessGraph, target: Target) -> Vec<NodeIndex> {
    match target {
        Target::Principal(n) => vec![n],
        Target::App(app_id) => app_nodes(s, g, app_id),
        Target::Tenant(t) => {
            // Service principals, wherever they sit, of the apps `t` owns.
            let owned: HashSet<Guid> = s
                .service_principals
                .iter()
                .filter(|p| p.owner_tenant_id == Some(t))
                .map(|p| p.principal_id)
                .collect();
            let mut out: Vec<NodeIndex> = g
                .graph
                .node_indices()
                .filter(|&n| match &g.graph[n] {
                    Node::Principal(i) => {
                        let p = &s.principals[*i as usize];
                        p.tenant_id == t || owned.contains(&p.principal_id)
                    }
                    Node::App(i) => {
                        let p = &s.service_principals[*i as usize];
                        p.tenant_id == t || p.owner_tenant_id == Some(t)
                    }
                    Node::Unresolved { id } => {
                        g.unresolved_home(n) == Some(t) || owned.contains(id)
                    }
                    Node::Placeholder { partner, .. } => *partner == t,
                    Node::Resource { .. } => false,
                })
                .collect();
            out.sort_unstable();
            out
        }
    }
}

/// What following one edge means to the search.
#[derive(Clone, Copy, Debug)]
enum Follow {
    /// From a principal to the principal it acts as (a member to its
    /// group), along the edge.
    ActsAs,
    /// From a principal to the resource it holds a role on, along the edge.
    Holds(RoleId, Via),
    /// From a resource to a narrower one inside it, against the edge
    /// (which points from the narrower scope up); the role carries over.
    Covers,
}

/// The meaning of every kind of edge. Exhaustive on purpose: a new channel
/// that adds a new kind of edge must say here how it is followed.
fn follow(edge: &Edge) -> Follow {
    match edge {
        Edge::MemberOf => Follow::ActsAs,
        Edge::Grant { role, via } => Follow::Holds(*role, *via),
        Edge::Within => Follow::Covers,
    }
}

/// How an access is granted, as a reader names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// Implicit directory role through an active DAP relationship (F5).
    Dap,
    /// Directory role through an active GDAP relationship's access assignment.
    Gdap,
    /// Admin on behalf of: a partner agent group's role on a customer's
    /// Azure scope (F9).
    Aobo,
    /// Any other explicit Azure role assignment.
    AzureRbac,
    /// An explicit directory role assignment in the tenant.
    DirectoryRole,
    /// Autopilot management through a reseller or DAP relationship (F11, F12).
    Autopilot,
    /// A standing Azure Lighthouse authorization on a delegated
    /// subscription or resource group.
    Lighthouse,
    /// An eligible (just-in-time) Azure Lighthouse authorization: usable
    /// once activated.
    LighthouseEligible,
    /// An application permission (app-role assignment) of a service
    /// principal, held without any signed-in user.
    AppPermission,
    /// A delegated permission (OAuth2 permission grant) of a service
    /// principal, used on behalf of a signed-in user.
    DelegatedPermission,
}

impl Channel {
    /// Every channel, in declaration order.
    pub const ALL: [Channel; 10] = [
        Channel::Dap,
        Channel::Gdap,
        Channel::Aobo,
        Channel::AzureRbac,
        Channel::DirectoryRole,
        Channel::Autopilot,
        Channel::Lighthouse,
        Channel::LighthouseEligible,
        Channel::AppPermission,
        Channel::DelegatedPermission,
    ];

    /// The channel of a grant of `holder` on `resource` through `via`.
    /// Exhaustive on purpose: a new kind of grant must be named here.
    pub fn of(
        s: &Snapshot,
        g: &AccessGraph,
        holder: NodeIndex,
        resource: NodeIndex,
        via: Via,
    ) -> Channel {
        match via {
            Via::Explicit(_) => match &g.graph[resource] {
                Node::Resource { scope, .. } if scope.is_directory() => Channel::DirectoryRole,
                Node::Resource { tenant, .. } if foreign_agent_group(s, g, holder, *tenant) => {
                    Channel::Aobo
                }
                _ => Channel::AzureRbac,
            },
            Via::Dap { .. } => Channel::Dap,
            Via::Gdap { .. } => Channel::Gdap,
            Via::Autopilot { .. } => Channel::Autopilot,
            Via::Lighthouse { authorization, .. } => {
                match s.lighthouse_authorizations[authorization as usize].access {
                    LighthouseAccess::Standing => Channel::Lighthouse,
                    LighthouseAccess::Eligible => Channel::LighthouseEligible,
                }
            }
            Via::App { permission } => match s.app_permissions[permission as usize].kind {
                PermissionKind::Application => Channel::AppPermission,
                PermissionKind::Delegated => Channel::DelegatedPermission,
            },
        }
    }

    /// `dap`, `gdap`, `aobo`, ...: the JSON name.
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Dap => "dap",
            Channel::Gdap => "gdap",
            Channel::Aobo => "aobo",
            Channel::AzureRbac => "azure_rbac",
            Channel::DirectoryRole => "directory_role",
            Channel::Autopilot => "autopilot",
            Channel::Lighthouse => "lighthouse",
            Channel::LighthouseEligible => "lighthouse_eligible",
            Channel::AppPermission => "app_permission",
            Channel::DelegatedPermission => "delegated_permission",
        }
    }

    /// The name a reader knows it by.
    pub fn label(self) -> &'static str {
        match self {
            Channel::Dap => "DAP",
            Channel::Gdap => "GDAP",
            Channel::Aobo => "AOBO",
            Channel::AzureRbac => "Azure RBAC",
            Channel::DirectoryRole => "directory role assignment",
            Channel::Autopilot => "Autopilot",
            Channel::Lighthouse => "Azure Lighthouse",
            Channel::LighthouseEligible => "Azure Lighthouse, eligible",
            Channel::AppPermission => "app permission, application",
            Channel::DelegatedPermission => "app permission, delegated",
        }
    }

    /// True for access the customer's own role listings do not show (F6).
    pub fn is_implicit(self) -> bool {
        match self {
            Channel::Dap
            | Channel::Gdap
            | Channel::Autopilot
            | Channel::Lighthouse
            | Channel::LighthouseEligible
            | Channel::AppPermission
            | Channel::DelegatedPermission => true,
            Channel::Aobo | Channel::AzureRbac | Channel::DirectoryRole => false,
        }
    }
}

/// Whether `holder` is an agent group (or a placeholder for one) of a
/// tenant other than `tenant`.
fn foreign_agent_group(s: &Snapshot, g: &AccessGraph, holder: NodeIndex, tenant: Guid) -> bool {
    match &g.graph[holder] {
        Node::Principal(i) => {
            let p = &s.principals[*i as usize];
            p.agent_group.is_some() && p.tenant_id != tenant
        }
        Node::Placeholder { partner, .. } => *partner != tenant,
        Node::Unresolved { .. } | Node::Resource { .. } | Node::App(_) => false,
    }
}

/// What kind of thing a reached resource is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ItemKind {
    /// A directory role in a tenant (scope `/`).
    DirectoryRole,
    /// An Azure subscription.
    Subscription,
    /// An Azure resource group.
    ResourceGroup,
    /// An Azure scope below a resource group.
    AzureResource,
    /// Autopilot profiles or a device.
    Autopilot,
    /// A permission a service principal holds in a tenant's directory
    /// (the role names the permission).
    AppPermission,
    /// Any other scope.
    Other,
}

impl ItemKind {
    /// Places a role held on `scope` through `via`. Exhaustive over role
    /// planes and grants on purpose: a new one must be placed here.
    pub fn of(scope: &str, plane: RolePlane, via: Via) -> ItemKind {
        match via {
            Via::App { .. } => return ItemKind::AppPermission,
            Via::Explicit(_)
            | Via::Dap { .. }
            | Via::Gdap { .. }
            | Via::Autopilot { .. }
            | Via::Lighthouse { .. } => {}
        }
        match plane {
            RolePlane::Autopilot => ItemKind::Autopilot,
            RolePlane::Directory | RolePlane::Azure | RolePlane::Custom => Self::of_scope(scope),
        }
    }

    /// Places a scope by its shape: `/`, `/subscriptions/ID`, a resource
    /// group, a deeper Azure scope, `/autopilot/...`, or anything else.
    pub fn of_scope(scope: &str) -> ItemKind {
        if scope == "/" {
            return ItemKind::DirectoryRole;
        }
        if scope.starts_with("/autopilot/") {
            return ItemKind::Autopilot;
        }
        let parts: Vec<&str> = scope.split('/').filter(|p| !p.is_empty()).collect();
        match parts.as_slice() {
            [s, _] if s.eq_ignore_ascii_case("subscriptions") => ItemKind::Subscription,
            [s, _, r, _]
                if s.eq_ignore_ascii_case("subscriptions")
                    && r.eq_ignore_ascii_case("resourcegroups") =>
            {
                ItemKind::ResourceGroup
            }
            [s, ..] if s.eq_ignore_ascii_case("subscriptions") => ItemKind::AzureResource,
            _ => ItemKind::Other,
        }
    }

    /// `directory_role`, `subscription`, ...: the JSON name.
    pub fn as_str(self) -> &'static str {
        match self {
            ItemKind::DirectoryRole => "directory_role",
            ItemKind::Subscription => "subscription",
            ItemKind::ResourceGroup => "resource_group",
            ItemKind::AzureResource => "azure_resource",
            ItemKind::Autopilot => "autopilot",
            ItemKind::AppPermission => "app_permission",
            ItemKind::Other => "other",
        }
    }
}

/// One step of an explaining path.
#[derive(Clone, Debug)]
pub enum Step {
    /// A principal: the one the path starts from, then each group it acts through.
    Principal(NodeIndex),
    /// The grant that gives the role on a resource.
    Grant(Grant),
    /// A narrower scope inside the resource before it, which the role covers too.
    Contains(NodeIndex),
}

/// One thing the target reaches: a role on a resource.
#[derive(Clone, Debug)]
pub struct Reach {
    pub tenant: Guid,
    pub resource: NodeIndex,
    pub role: RoleId,
    pub kind: ItemKind,
    /// The channel of the grant on the path.
    pub channel: Channel,
    /// Every channel that grants the target this role on this resource
    /// itself, and the path's: access that stays when one channel is removed.
    pub channels: Vec<Channel>,
    /// The grant on the path.
    pub grant: Grant,
    /// One shortest path: the starting principal, the groups it acts
    /// through, the grant, then the scopes it covers down to the resource.
    pub path: Vec<Step>,
}

/// A target's blast radius.
#[derive(Clone, Debug)]
pub struct Exposure {
    pub target: Target,
    /// How many principals the search started from.
    pub sources: usize,
    /// Sorted by tenant name and id, item kind, scope, then role name.
    pub reach: Vec<Reach>,
}

/// One state of the search: a principal (no role yet) or a resource held with a role.
#[derive(Clone, Copy)]
struct Visit {
    node: NodeIndex,
    role: Option<RoleId>,
    /// Index of the visit it was reached from (itself for a start).
    parent: u32,
    /// The edge it was reached by (`EdgeIndex::end()` for a start).
    edge: EdgeIndex,
}

/// Everything `target` reaches, each with one shortest explaining path.
pub fn exposure(s: &Snapshot, g: &AccessGraph, target: Target) -> Exposure {
    let starts = sources(s, g, target);
    let mut visits: Vec<Visit> = Vec::with_capacity(starts.len() * 4);
    let mut seen: HashSet<(NodeIndex, Option<RoleId>)> = HashSet::default();
    for &n in &starts {
        if seen.insert((n, None)) {
            let parent = u32::try_from(visits.len()).unwrap_or(u32::MAX);
            visits.push(Visit {
                node: n,
                role: None,
                parent,
                edge: EdgeIndex::end(),
            });
        }
    }
    let mut next: Vec<(EdgeIndex, NodeIndex, Option<RoleId>)> = Vec::new();
    let mut channels: HashMap<(NodeIndex, RoleId), Vec<Channel>> = HashMap::default();
    let mut i = 0;
    while i < visits.len() {
        let v = visits[i];
        next.clear();
        match v.role {
            None => {
                for e in g.graph.edges_directed(v.node, Direction::Outgoing) {
                    match follow(e.weight()) {
                        Follow::ActsAs => next.push((e.id(), e.target(), None)),
                        Follow::Holds(role, via) => {
                            let c = Channel::of(s, g, v.node, e.target(), via);
                            let list = channels.entry((e.target(), role)).or_default();
                            if !list.contains(&c) {
                                list.push(c);
                            }
                            next.push((e.id(), e.target(), Some(role)));
                        }
                        Follow::Covers => {}
                    }
                }
            }
            Some(role) => {
                for e in g.graph.edges_directed(v.node, Direction::Incoming) {
                    match follow(e.weight()) {
                        Follow::Covers => next.push((e.id(), e.source(), Some(role))),
                        Follow::ActsAs | Follow::Holds(..) => {}
                    }
                }
            }
        }
        // Ties go to the edge added first, whatever order petgraph lists them in.
        next.sort_unstable_by_key(|x| x.0);
        for &(edge, node, role) in &next {
            if seen.insert((node, role)) {
                visits.push(Visit {
                    node,
                    role,
                    parent: u32::try_from(i).unwrap_or(u32::MAX),
                    edge,
                });
            }
        }
        i += 1;
    }
    drop(seen);

    let mut reach: Vec<Reach> = Vec::new();
    let mut path: Vec<Step> = Vec::new();
    for v in &visits {
        let (Some(role), Node::Resource { tenant, scope }) = (v.role, &g.graph[v.node]) else {
            continue;
        };
        // Walk back to the start, then reverse.
        path.clear();
        let mut grant = None;
        let mut cur = *v;
        loop {
            if cur.edge == EdgeIndex::end() {
                path.push(Step::Principal(cur.node));
                break;
            }
            let step = match follow(&g.graph[cur.edge]) {
                Follow::ActsAs => Step::Principal(cur.node),
                Follow::Holds(role, via) => {
                    let gr = Grant {
                        holder: visits[cur.parent as usize].node,
                        resource: cur.node,
                        role,
                        via,
                    };
                    grant = Some(gr.clone());
                    Step::Grant(gr)
                }
                Follow::Covers => Step::Contains(cur.node),
            };
            path.push(step);
            cur = visits[cur.parent as usize];
        }
        path.reverse();
        // Every resource visit lies behind a grant (starts are principals).
        let Some(grant) = grant else {
            continue;
        };
        let channel = Channel::of(s, g, grant.holder, grant.resource, grant.via);
        let mut all = channels.get(&(v.node, role)).cloned().unwrap_or_default();
        all.push(channel);
        all.sort_unstable();
        all.dedup();
        reach.push(Reach {
            tenant: *tenant,
            resource: v.node,
            role,
            kind: ItemKind::of(
                g.scope(*scope).as_str(),
                s.roles.info(role).plane,
                grant.via,
            ),
            channel,
            channels: all,
            grant,
            path: path.clone(),
        });
    }
    let names: HashMap<Guid, String> = reach
        .iter()
        .map(|r| r.tenant)
        .collect::<HashSet<Guid>>()
        .into_iter()
        .map(|t| (t, tenant_label(s, g, t)))
        .collect();
    // Sort keys are built once per item, not per comparison.
    reach.sort_by_cached_key(|r| {
        let scope = scope_of(g, r.resource);
        (
            names[&r.tenant].clone(),
            r.tenant,
            r.kind,
            scope.to_ascii_lowercase(),
            scope.to_string(),
            s.roles.name(r.role).to_string(),
            r.role,
        )
    });
    Exposure {
        target,
        sources: starts.len(),
        reach,
    }
}

// ---------------------------------------------------------------------------
// Output.

/// The target as the outputs describe it.
#[derive(Serialize)]
pub struct TargetOut {
    /// `user`, `group`, `service_principal`, `unresolved_principal`,
    /// `placeholder_group`, `app` (every service principal of an app id;
    /// `tenant_id` is then the owning tenant) or `tenant`.
    pub kind: &'static str,
    pub id: String,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub upn: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tenant_id: Option<Guid>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tenant_name: Option<String>,
    /// `false` when the snapshot says the account is disabled.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// How many principals the search started from (1 unless a tenant).
    pub principals: usize,
}

/// Counts of what is reached.
#[derive(Default, Serialize)]
pub struct SummaryOut {
    pub tenants: usize,
    pub customer_tenants: usize,
    pub directory_roles: usize,
    pub subscriptions: usize,
    pub resource_groups: usize,
    pub azure_resources: usize,
    pub autopilot: usize,
    pub app_permissions: usize,
    pub other: usize,
    pub items: usize,
}

/// One step of a path as the JSON shows it.
#[derive(Serialize)]
#[serde(tag = "step", rename_all = "snake_case")]
pub enum StepOut {
    Principal {
        id: String,
        name: String,
        kind: &'static str,
        #[serde(skip_serializing_if = "Option::is_none")]
        tenant_id: Option<Guid>,
    },
    Grant {
        role: String,
        channel: Channel,
        scope: String,
        tenant_id: Guid,
        /// The snapshot rows behind the grant, cited `file:line`.
        evidence: String,
    },
    Contains {
        scope: String,
    },
}

/// One reached item as the JSON shows it.
#[derive(Serialize)]
pub struct ReachOut {
    pub kind: ItemKind,
    pub role: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role_id: Option<Guid>,
    pub scope: String,
    /// The subscription's name, when the item is one and the snapshot names it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// For an app permission: the API it is a permission of (`Microsoft
    /// Graph`), when the snapshot names it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api: Option<String>,
    pub channel: Channel,
    /// Every channel that grants the role on this resource (see [`Reach::channels`]).
    pub channels: Vec<Channel>,
    /// Access the customer's own role listings do not show.
    pub implicit: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub relationship_id: Option<String>,
    /// The path in one line, as the text output shows it.
    pub explanation: String,
    pub path: Vec<StepOut>,
}

/// One tenant and what is reached in it.
#[derive(Serialize)]
pub struct TenantOut {
    pub tenant_id: Guid,
    pub name: String,
    /// `customer`, `partner`, or `unknown` when the tenants table lacks it.
    pub kind: &'static str,
    pub reach: Vec<ReachOut>,
}

/// The whole `exposure --format json` document: also what other reports
/// (an HTML section) show.
#[derive(Serialize)]
pub struct ExposureOut {
    pub format_version: u32,
    /// The target as typed.
    pub query: String,
    pub target: TargetOut,
    pub summary: SummaryOut,
    pub tenants: Vec<TenantOut>,
}

fn node_kind(s: &Snapshot, g: &AccessGraph, n: NodeIndex) -> &'static str {
    match &g.graph[n] {
        Node::Principal(i) => s.principals[*i as usize].kind.as_str(),
        Node::Unresolved { .. } => "unresolved_principal",
        Node::Placeholder { .. } => "placeholder_group",
        Node::Resource { .. } => "resource",
        Node::App(_) => "service_principal",
    }
}

/// The stable id of a node in the outputs (never a graph index): a
/// principal's object id, `PARTNER/admin_agents` for a placeholder agent
/// group, `TENANT` followed by the scope for a resource.
pub fn node_key(s: &Snapshot, g: &AccessGraph, n: NodeIndex) -> String {
    match &g.graph[n] {
        Node::Principal(i) => s.principals[*i as usize].principal_id.to_string(),
        Node::Unresolved { id } => id.to_string(),
        Node::App(i) => s.service_principals[*i as usize].principal_id.to_string(),
        Node::Placeholder { partner, group } => format!("{partner}/{}", group.as_str()),
        Node::Resource { tenant, scope } => format!("{tenant}{}", g.scope(*scope).as_str()),
    }
}

fn node_tenant(s: &Snapshot, g: &AccessGraph, n: NodeIndex) -> Option<Guid> {
    match &g.graph[n] {
        Node::Principal(i) => Some(s.principals[*i as usize].tenant_id),
        Node::Unresolved { .. } => g.unresolved_home(n),
        Node::Placeholder { partner, .. } => Some(*partner),
        Node::Resource { tenant, .. } => Some(*tenant),
        Node::App(i) => Some(s.service_principals[*i as usize].tenant_id),
    }
}

/// A principal's short name on a path.
fn short_name(s: &Snapshot, g: &AccessGraph, n: NodeIndex) -> String {
    match &g.graph[n] {
        Node::Principal(i) => s.principals[*i as usize].display_name.to_string(),
        Node::App(i) => s.service_principals[*i as usize].display_name.to_string(),
        Node::Unresolved { .. } | Node::Placeholder { .. } | Node::Resource { .. } => g.label(s, n),
    }
}

fn scope_of(g: &AccessGraph, n: NodeIndex) -> &str {
    match &g.graph[n] {
        Node::Resource { scope, .. } => g.scope(*scope).as_str(),
        Node::Principal(_) | Node::Unresolved { .. } | Node::Placeholder { .. } | Node::App(_) => {
            ""
        }
    }
}

/// The relationship id behind a grant, where it has one.
fn relationship_id(s: &Snapshot, via: Via) -> Option<String> {
    let r = match via {
        Via::Explicit(_) | Via::Lighthouse { .. } | Via::App { .. } => return None,
        Via::Dap { relationship, .. }
        | Via::Gdap { relationship, .. }
        | Via::Autopilot { relationship } => &s.relationships[relationship as usize],
    };
    r.relationship_id.as_deref().map(str::to_string)
}

/// One line explaining a path: `Anna → AdminAgents ⇒ Global
/// Administrator in Contoso (DAP)`, then `, covering SCOPE` per narrower scope.
pub fn explain(s: &Snapshot, g: &AccessGraph, r: &Reach) -> String {
    let mut out = String::with_capacity(160);
    let mut first = true;
    for step in &r.path {
        match step {
            &Step::Principal(n) => {
                if !first {
                    out.push_str(" → ");
                }
                if first {
                    g.label_into(&mut out, s, n);
                } else {
                    out.push_str(&short_name(s, g, n));
                }
                first = false;
            }
            Step::Grant(gr) => {
                let (holder, resource, via) = (gr.holder, gr.resource, gr.via);
                out.push_str(" ⇒ ");
                out.push_str(s.roles.name(gr.role));
                match &g.graph[resource] {
                    Node::Resource { tenant, scope } if scope.is_directory() => {
                        out.push_str(" in ");
                        out.push_str(&tenant_label(s, g, *tenant));
                    }
                    _ => {
                        out.push_str(" on ");
                        out.push_str(scope_of(g, resource));
                    }
                }
                let channel = Channel::of(s, g, holder, resource, via);
                out.push_str(" (");
                out.push_str(channel.label());
                if let Some(id) = relationship_id(s, via) {
                    out.push(' ');
                    out.push_str(&id);
                }
                out.push(')');
            }
            &Step::Contains(n) => {
                out.push_str(", covering ");
                out.push_str(scope_of(g, n));
            }
        }
    }
    out
}

impl Exposure {
    /// The counts of what the target reaches: tenants (customers among
    /// them) and items of each kind.
    pub fn summary(&self, s: &Snapshot, g: &AccessGraph) -> SummaryOut {
        let mut summary = SummaryOut::default();
        let mut last = None;
        for r in &self.reach {
            if last != Some(r.tenant) {
                last = Some(r.tenant);
                summary.tenants += 1;
                if tenant_kind(s, g, r.tenant) == Some(TenantKind::Customer) {
                    summary.customer_tenants += 1;
                }
            }
            *match r.kind {
                ItemKind::DirectoryRole => &mut summary.directory_roles,
                ItemKind::Subscription => &mut summary.subscriptions,
                ItemKind::ResourceGroup => &mut summary.resource_groups,
                ItemKind::AzureResource => &mut summary.azure_resources,
                ItemKind::Autopilot => &mut summary.autopilot,
                ItemKind::AppPermission => &mut summary.app_permissions,
                ItemKind::Other => &mut summary.other,
            } += 1;
            summary.items += 1;
        }
        summary
    }

    /// The JSON document (and the data an HTML section shows); `query` is
    /// the target as typed.
    pub fn to_out(&self, s: &Snapshot, g: &AccessGraph, query: &str) -> ExposureOut {
        let target = target_out(s, g, self.target, self.sources);
        let summary = self.summary(s, g);
        let subscriptions = subscription_names(s, g, &self.reach);
        let mut tenants: Vec<TenantOut> = Vec::new();
        for r in &self.reach {
            if tenants.last().is_none_or(|t| t.tenant_id != r.tenant) {
                let kind = tenant_kind(s, g, r.tenant);
                tenants.push(TenantOut {
                    tenant_id: r.tenant,
                    name: tenant_label(s, g, r.tenant),
                    kind: kind.map_or("unknown", TenantKind::as_str),
                    reach: Vec::new(),
                });
            }
            let via = r.grant.via;
            let scope = scope_of(g, r.resource).to_string();
            let name = (r.kind == ItemKind::Subscription)
                .then(|| {
                    subscriptions
                        .get(&(r.tenant, scope.to_ascii_lowercase()))
                        .cloned()
                })
                .flatten();
            let api = match via {
                Via::App { permission } => s.app_permissions[permission as usize]
                    .resource_name
                    .as_deref()
                    .map(str::to_string),
                Via::Explicit(_)
                | Via::Dap { .. }
                | Via::Gdap { .. }
                | Via::Autopilot { .. }
                | Via::Lighthouse { .. } => None,
            };
            let path = r.path.iter().map(|step| step_out(s, g, step)).collect();
            let out = ReachOut {
                kind: r.kind,
                role: s.roles.name(r.role).to_string(),
                role_id: s.roles.info(r.role).template_id,
                scope,
                name,
                api,
                channel: r.channel,
                channels: r.channels.clone(),
                implicit: r.channel.is_implicit(),
                relationship_id: relationship_id(s, via),
                explanation: explain(s, g, r),
                path,
            };
            if let Some(t) = tenants.last_mut() {
                t.reach.push(out);
            }
        }
        ExposureOut {
            format_version: FORMAT_VERSION,
            query: query.to_string(),
            target,
            summary,
            tenants,
        }
    }
}

fn step_out(s: &Snapshot, g: &AccessGraph, step: &Step) -> StepOut {
    match step {
        &Step::Principal(n) => StepOut::Principal {
            id: node_key(s, g, n),
            name: short_name(s, g, n),
            kind: node_kind(s, g, n),
            tenant_id: node_tenant(s, g, n),
        },
        Step::Grant(gr) => {
            let mut evidence = String::new();
            g.describe_grant_into(&mut evidence, s, gr);
            StepOut::Grant {
                role: s.roles.name(gr.role).to_string(),
                channel: Channel::of(s, g, gr.holder, gr.resource, gr.via),
                scope: scope_of(g, gr.resource).to_string(),
                tenant_id: node_tenant(s, g, gr.resource).unwrap_or_default(),
                evidence,
            }
        }
        &Step::Contains(n) => StepOut::Contains {
            scope: scope_of(g, n).to_string(),
        },
    }
}

/// Names of the reached subscriptions, by (tenant, lower-case scope).
fn subscription_names(
    s: &Snapshot,
    g: &AccessGraph,
    reach: &[Reach],
) -> HashMap<(Guid, String), String> {
    let wanted: HashSet<(Guid, String)> = reach
        .iter()
        .filter(|r| r.kind == ItemKind::Subscription)
        .map(|r| (r.tenant, scope_of(g, r.resource).to_ascii_lowercase()))
        .collect();
    if wanted.is_empty() {
        return HashMap::default();
    }
    let mut out = HashMap::default();
    for sub in &s.subscriptions {
        let key = (
            sub.tenant_id,
            format!("/subscriptions/{}", sub.subscription_id),
        );
        if wanted.contains(&key) {
            out.entry(key).or_insert_with(|| sub.name.to_string());
        }
    }
    out
}

fn target_out(s: &Snapshot, g: &AccessGraph, target: Target, sources: usize) -> TargetOut {
    match target {
        Target::Principal(n) => {
            let (upn, enabled) = match &g.graph[n] {
                Node::Principal(i) => {
                    let p = &s.principals[*i as usize];
                    (p.upn.as_deref().map(str::to_string), p.enabled)
                }
                Node::App(i) => (None, s.service_principals[*i as usize].enabled),
                Node::Unresolved { .. } | Node::Placeholder { .. } | Node::Resource { .. } => {
                    (None, None)
                }
            };
            let tenant_id = node_tenant(s, g, n);
            TargetOut {
                kind: node_kind(s, g, n),
                id: node_key(s, g, n),
                name: short_name(s, g, n),
                upn,
                tenant_id,
                tenant_name: tenant_id.and_then(|t| tenant_name(s, g, t)),
                enabled,
                principals: sources,
            }
        }
        Target::App(app_id) => {
            let first = s.service_principals.iter().find(|p| p.app_id == app_id);
            let owner = first.and_then(|p| p.owner_tenant_id);
            TargetOut {
                kind: "app",
                id: app_id.to_string(),
                name: first.map_or_else(|| format!("app {app_id}"), |p| p.display_name.to_string()),
                upn: None,
                tenant_id: owner,
                tenant_name: owner.and_then(|t| tenant_name(s, g, t)),
                enabled: None,
                principals: sources,
            }
        }
        Target::Tenant(t) => TargetOut {
            kind: "tenant",
            id: t.to_string(),
            name: tenant_label(s, g, t),
            upn: None,
            tenant_id: Some(t),
            tenant_name: tenant_name(s, g, t),
            enabled: None,
            principals: sources,
        },
    }
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// What a summary counts, in words: `4 directory roles, 2 subscription roles`.
pub fn summary_counts(sm: &SummaryOut) -> String {
    let mut parts = Vec::new();
    for (n, one, many) in [
        (sm.directory_roles, "directory role", "directory roles"),
        (sm.subscriptions, "subscription role", "subscription roles"),
        (
            sm.resource_groups,
            "resource group role",
            "resource group roles",
        ),
        (
            sm.azure_resources,
            "Azure resource role",
            "Azure resource roles",
        ),
        (sm.autopilot, "Autopilot target", "Autopilot targets"),
        (sm.app_permissions, "app permission", "app permissions"),
        (sm.other, "other grant", "other grants"),
    ] {
        if n > 0 {
            parts.push(plural(n, one, many));
        }
    }
    parts.join(", ")
}

/// The readable report, grouped by tenant. Snapshot strings are made
/// printable (no control characters reach the terminal).
pub fn render_text(out: &ExposureOut) -> String {
    let mut w = String::new();
    let t = &out.target;
    let mut head = format!("Exposure of {}", t.name);
    match t.kind {
        "tenant" => head.push_str(&format!(
            " (tenant {}, {})",
            t.id,
            plural(t.principals, "principal", "principals")
        )),
        "app" => {
            head.push_str(&format!(
                " (app id {}, {}",
                t.id,
                plural(t.principals, "service principal", "service principals")
            ));
            if let Some(tn) = &t.tenant_name {
                head.push_str(&format!(", owned by {tn}"));
            }
            head.push(')');
        }
        kind => {
            head.push_str(&format!(" ({kind}"));
            if let Some(tn) = &t.tenant_name {
                head.push_str(&format!(", {tn}"));
            }
            head.push(')');
            if let Some(u) = &t.upn {
                head.push_str(&format!(" {u}"));
            }
            head.push_str(&format!(", id {}", t.id));
        }
    }
    let _ = writeln!(w, "{}", printable(&head));
    if t.enabled == Some(false) {
        let _ = writeln!(
            w,
            "note: the account is disabled in the snapshot; this is what it reaches if it is enabled again or its sign-in is abused"
        );
    }
    let sm = &out.summary;
    if sm.items == 0 {
        let _ = writeln!(w, "\nReaches nothing through any channel in the snapshot.");
        return w;
    }
    let _ = writeln!(
        w,
        "Reaches {} ({}): {}",
        plural(sm.tenants, "tenant", "tenants"),
        plural(sm.customer_tenants, "customer", "customers"),
        summary_counts(sm)
    );
    for tenant in &out.tenants {
        let _ = writeln!(
            w,
            "\n{}",
            printable(&format!(
                "{} ({}, {})",
                tenant.name, tenant.kind, tenant.tenant_id
            ))
        );
        for r in &tenant.reach {
            let what = match r.kind {
                ItemKind::DirectoryRole => format!("{} in the directory", r.role),
                ItemKind::Subscription => match &r.name {
                    Some(n) => format!("{} on subscription {n} ({})", r.role, r.scope),
                    None => format!("{} on subscription {}", r.role, r.scope),
                },
                ItemKind::ResourceGroup => format!("{} on resource group {}", r.role, r.scope),
                ItemKind::AppPermission => match &r.api {
                    Some(api) => format!("app permission {} of {api}", r.role),
                    None => format!("app permission {}", r.role),
                },
                ItemKind::AzureResource | ItemKind::Autopilot | ItemKind::Other => {
                    format!("{} on {}", r.role, r.scope)
                }
            };
            let labels: Vec<&str> = r.channels.iter().map(|c| c.label()).collect();
            let _ = writeln!(w, "  {} [{}]", printable(&what), labels.join(", "));
            let _ = writeln!(w, "      {}", printable(&r.explanation));
        }
    }
    w
}

/// Writes the JSON document (two-space indent, a final newline).
pub fn write_json(out: &ExposureOut, w: &mut dyn Write) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *w, out).map_err(io::Error::other)?;
    w.write_all(b"\n")
}
