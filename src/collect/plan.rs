//! What to fetch per tenant, and where each listing goes in the export
//! folder (the layout `audit` and `import` read, docs/exporting.md).
//!
//! Partner tenant: organization, users, groups, contracts, GDAP
//! relationships and their access assignments, Graph
//! `delegatedAdminCustomers`, Partner Center customers (list and by id, for
//! `allowDelegatedAccess`), Partner Center Autopilot devices per customer,
//! and the transitive members of every agent group and GDAP group.
//! Customer tenant (or the single tenant of the customer perspective):
//! organization, `roleManagement/directory/roleAssignments` with
//! `$expand=principal`, role definitions, directory roles and their members,
//! ARM subscriptions with their role assignments (every scope), classic
//! administrators and Azure Lighthouse registration assignments (with their
//! definitions expanded), service principals with the app-role assignments
//! of those another tenant owns, OAuth2 permission grants, Autopilot
//! profiles and device identities.
//!
//! A listing is written only once all its pages are in, one file per page
//! (`name.json`, or `name.page1.json`, `name.page2.json`, …) exactly as the
//! service returned it. Listings that the service does not offer (400,
//! 404, 410) are skipped with a note when they are optional (role
//! definitions, classic administrators, Partner Center by-id and Autopilot,
//! Graph Autopilot, Lighthouse and partner-app listings); any other failure
//! makes the tenant incomplete.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use serde_json::Value;

use super::config::Api;
use super::http::{Failure, Http, Page, Semaphore, TokenSource};
use super::writer::write_atomic;
use crate::snapshot::Guid;

/// Most pages followed in one listing (a bound on a server that never stops).
const MAX_PAGES: usize = 100_000;

/// One tenant being collected.
pub struct TenantRun<'a> {
    pub http: &'a Http,
    pub tokens: &'a dyn TokenSource,
    pub slots: Semaphore,
    pub out: &'a Path,
    pub tenant: Guid,
    pub parallel: usize,
    files: Mutex<Vec<String>>,
    problems: Mutex<Vec<String>>,
    notes: Mutex<Vec<String>>,
    stopped: Mutex<bool>,
}

/// What a tenant's collection gave.
pub struct Outcome {
    pub files: Vec<String>,
    /// Why the tenant is incomplete (empty: complete).
    pub problems: Vec<String>,
    /// Optional listings skipped.
    pub notes: Vec<String>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Runs `f` over `items` on up to `n` threads.
pub fn par_each<T: Sync>(items: &[T], n: usize, f: impl Fn(&T) + Sync) {
    let next = AtomicUsize::new(0);
    let workers = n.clamp(1, items.len().max(1));
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(item) = items.get(i) else { break };
                f(item);
            });
        }
    });
}

/// The items of a page: `value` (Graph, ARM), `items` (Partner Center), or a bare array.
pub fn items(pages: &[Value]) -> impl Iterator<Item = &Value> {
    pages.iter().flat_map(|p| {
        let arr = match p {
            Value::Array(a) => Some(a),
            Value::Object(o) => o
                .get("value")
                .or_else(|| o.get("items"))
                .and_then(Value::as_array),
            _ => None,
        };
        arr.into_iter().flatten()
    })
}

fn str_at<'v>(v: &'v Value, path: &[&str]) -> Option<&'v str> {
    let mut cur = v;
    for k in path {
        cur = cur.get(*k)?;
    }
    cur.as_str()
}

/// A path segment, percent-encoded.
fn seg(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A file-name-safe version of a name.
fn slug(s: &str) -> String {
    let s: String = s
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .take(80)
        .collect();
    if s.is_empty() {
        "batch".into()
    } else {
        s
    }
}

impl<'a> TenantRun<'a> {
    pub fn new(
        http: &'a Http,
        tokens: &'a dyn TokenSource,
        out: &'a Path,
        tenant: Guid,
        per_tenant: usize,
    ) -> TenantRun<'a> {
        TenantRun {
            http,
            tokens,
            slots: Semaphore::new(per_tenant),
            out,
            tenant,
            parallel: per_tenant.max(1),
            files: Mutex::new(Vec::new()),
            problems: Mutex::new(Vec::new()),
            notes: Mutex::new(Vec::new()),
            stopped: Mutex::new(false),
        }
    }

    pub fn finish(self) -> Outcome {
        let mut files = self
            .files
            .into_inner()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        files.sort();
        let mut problems = self
            .problems
            .into_inner()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        problems.sort();
        problems.dedup();
        let mut notes = self
            .notes
            .into_inner()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        notes.sort();
        Outcome {
            files,
            problems,
            notes,
        }
    }

    fn stopped(&self) -> bool {
        *lock(&self.stopped)
    }

    /// Every page of a listing.
    pub fn fetch(&self, api: Api, path_and_query: &str) -> Result<Vec<Page>, Failure> {
        let mut url = format!("{}{}", self.http.endpoints.base(api), path_and_query);
        let mut headers: Vec<(String, String)> = Vec::new();
        let mut seen = BTreeSet::new();
        let mut pages = Vec::new();
        loop {
            if pages.len() >= MAX_PAGES || !seen.insert((url.clone(), headers.clone())) {
                return Err(Failure::GaveUp(format!(
                    "{} `{}`: the next page link repeats an earlier page",
                    api.name(),
                    super::http::shown(&url)
                )));
            }
            let page = self
                .http
                .get(api, &url, &headers, self.tokens, &self.slots)?;
            let next = self.http.next_page(api, &page.json)?;
            pages.push(page);
            match next {
                Some((u, h)) => {
                    url = u;
                    headers = h;
                }
                None => return Ok(pages),
            }
        }
    }

    /// Writes a listing's pages under `file` (relative to the tenant folder, no extension).
    fn save(&self, file: &str, pages: &[Page]) {
        if items_of(pages) == 0 {
            return;
        }
        let mut names = Vec::new();
        for (i, p) in pages.iter().enumerate() {
            let rel = if pages.len() == 1 {
                format!("{}/{file}.json", self.tenant)
            } else {
                format!("{}/{file}.page{}.json", self.tenant, i + 1)
            };
            if let Err(e) = write_atomic(&self.out.join(&rel), &p.body) {
                lock(&self.problems).push(e);
                return;
            }
            names.push(rel);
        }
        lock(&self.files).extend(names);
    }

    /// Fetches and saves one listing; a failure is recorded. Returns the pages' JSON.
    pub fn listing(&self, api: Api, path: &str, file: &str, optional: bool) -> Option<Vec<Value>> {
        if self.stopped() {
            return None;
        }
        match self.fetch(api, path) {
            Ok(pages) => {
                self.save(file, &pages);
                Some(pages.into_iter().map(|p| p.json).collect())
            }
            Err(f) => {
                self.fail(f, optional);
                None
            }
        }
    }

    /// Like [`TenantRun::listing`], trying the next path while a service does
    /// not offer one (e.g. `/beta` then `/v1.0`, `transitiveMembers` then `members`).
    pub fn listing_of_first(
        &self,
        api: Api,
        paths: &[(&str, &str)],
        optional: bool,
    ) -> Option<Vec<Value>> {
        for (i, (path, file)) in paths.iter().enumerate() {
            if self.stopped() {
                return None;
            }
            match self.fetch(api, path) {
                Ok(pages) => {
                    self.save(file, &pages);
                    return Some(pages.into_iter().map(|p| p.json).collect());
                }
                Err(Failure::NotOffered(_)) if i + 1 < paths.len() => {}
                Err(f) => {
                    self.fail(f, optional);
                    return None;
                }
            }
        }
        None
    }

    fn fail(&self, f: Failure, optional: bool) {
        match f {
            Failure::NotOffered(m) if optional => lock(&self.notes).push(format!("skipped: {m}")),
            other => lock(&self.problems).push(other.message().to_owned()),
        }
    }

    /// Probes the tenant with its `organization`; on refusal the tenant stops here.
    /// Reads `organization` first. For the partner (`home`), only a refusal
    /// stops the tenant and a service without `organization` is a note;
    /// for a customer any failure stops it (one reason, no pointless requests).
    fn probe(&self, home: bool) -> bool {
        match self.fetch(Api::Graph, "/v1.0/organization") {
            Ok(pages) => {
                self.save("organization", &pages);
                true
            }
            Err(f) => {
                let stop = !home || matches!(f, Failure::Refused(_) | Failure::Token(_));
                self.fail(f, home);
                if stop {
                    *lock(&self.stopped) = true;
                }
                !stop
            }
        }
    }
}

fn items_of(pages: &[Page]) -> usize {
    pages
        .iter()
        .map(|p| items(std::slice::from_ref(&p.json)).count())
        .sum::<usize>()
        + pages
            .iter()
            .filter(|p| {
                p.json.is_object() && p.json.get("value").is_none() && p.json.get("items").is_none()
            })
            .count()
}

/// A customer named by the partner-side listings.
#[derive(Clone, Debug, Default)]
pub struct Customers {
    pub ids: BTreeSet<Guid>,
    /// Customer → the statuses of its GDAP relationships.
    pub gdap: BTreeMap<Guid, BTreeSet<String>>,
}

/// GDAP statuses under which the relationship's roles work (docs/exporting.md §3).
fn gdap_works(status: &str) -> bool {
    !matches!(
        status,
        "approvalPending" | "approved" | "created" | "activating" | "expired" | "terminated"
    )
}

/// How a customer's GDAP stands, for the reason of a failed collection:
/// `None` when a relationship is active.
pub fn gdap_hint(statuses: Option<&BTreeSet<String>>) -> Option<String> {
    match statuses {
        None => Some("no gdap relationship".into()),
        Some(s) if s.iter().any(|x| gdap_works(x)) => None,
        Some(s) => Some(format!(
            "no active gdap relationship ({})",
            s.iter()
                .map(|x| format!("`{x}`"))
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

/// Collects the partner tenant; returns the customers it names.
pub fn partner(run: &TenantRun<'_>) -> Customers {
    let mut found = Customers::default();
    if !run.probe(true) {
        return found;
    }
    type Job = (Api, &'static str, &'static str, bool);
    let jobs: [Job; 6] = [
        (
            Api::Graph,
            "/v1.0/users?$select=id,displayName,userPrincipalName,accountEnabled,userType",
            "users",
            false,
        ),
        (
            Api::Graph,
            "/v1.0/groups?$select=id,displayName,securityEnabled,mailEnabled,groupTypes",
            "groups",
            false,
        ),
        (Api::Graph, "/v1.0/contracts", "contracts", false),
        (
            Api::Graph,
            "/v1.0/tenantRelationships/delegatedAdminRelationships",
            "gdap/delegatedAdminRelationships",
            false,
        ),
        (
            Api::Graph,
            "/v1.0/tenantRelationships/delegatedAdminCustomers",
            "gdap/delegatedAdminCustomers",
            false,
        ),
        (
            Api::PartnerCenter,
            "/v1/customers?size=500",
            "partner-center/customers",
            false,
        ),
    ];
    let results: Mutex<BTreeMap<&str, Vec<Value>>> = Mutex::new(BTreeMap::new());
    par_each(&jobs, run.parallel, |(api, path, file, optional)| {
        if let Some(pages) = run.listing(*api, path, file, *optional) {
            lock(&results).insert(file, pages);
        }
    });
    let results = results
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let get = |k: &str| results.get(k).map_or(&[][..], Vec::as_slice);

    let partner = run.tenant;
    let mut add = |s: Option<&str>| {
        if let Some(g) = s.and_then(Guid::parse) {
            if g != partner {
                found.ids.insert(g);
            }
        }
    };
    for r in items(get("gdap/delegatedAdminRelationships")) {
        add(str_at(r, &["customer", "tenantId"]));
        if let Some(t) = str_at(r, &["customer", "tenantId"]).and_then(Guid::parse) {
            let status = str_at(r, &["status"]).unwrap_or("unknown").to_owned();
            found.gdap.entry(t).or_default().insert(status);
        }
    }
    for c in items(get("gdap/delegatedAdminCustomers")) {
        add(str_at(c, &["tenantId"]));
    }
    for c in items(get("contracts")) {
        add(str_at(c, &["customerId"]));
    }
    let pc_customers: Vec<String> = items(get("partner-center/customers"))
        .filter_map(|c| str_at(c, &["id"]).or_else(|| str_at(c, &["companyProfile", "tenantId"])))
        .filter_map(Guid::parse)
        .map(|g| g.to_string())
        .collect();
    for c in &pc_customers {
        add(Some(c));
    }

    // Children: access assignments, Partner Center by id and Autopilot devices.
    enum Child {
        Access(String),
        PcCustomer(String),
    }
    let mut children: Vec<Child> = items(get("gdap/delegatedAdminRelationships"))
        .filter_map(|r| str_at(r, &["id"]))
        .map(|id| Child::Access(id.to_owned()))
        .collect();
    children.extend(pc_customers.iter().map(|c| Child::PcCustomer(c.clone())));
    let groups_of_assignments: Mutex<BTreeSet<String>> = Mutex::new(BTreeSet::new());
    par_each(&children, run.parallel, |c| match c {
        Child::Access(id) => {
            let path = format!(
                "/v1.0/tenantRelationships/delegatedAdminRelationships/{}/accessAssignments",
                seg(id)
            );
            if let Some(pages) = run.listing(
                Api::Graph,
                &path,
                &format!("gdap/accessAssignments-{}", slug(id)),
                false,
            ) {
                let mut g = lock(&groups_of_assignments);
                for a in items(&pages) {
                    if let Some(gid) =
                        str_at(a, &["accessContainer", "accessContainerId"]).and_then(Guid::parse)
                    {
                        g.insert(gid.to_string());
                    }
                }
            }
        }
        Child::PcCustomer(id) => {
            run.listing(
                Api::PartnerCenter,
                &format!("/v1/customers/{id}"),
                &format!("partner-center/customers/{id}"),
                true,
            );
            autopilot_devices(run, id);
        }
    });

    // Transitive members of every agent group and every GDAP group.
    let mut groups: BTreeSet<String> = groups_of_assignments
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    for g in items(get("groups")) {
        let name = str_at(g, &["displayName"]).unwrap_or_default();
        if ["AdminAgents", "HelpdeskAgents", "SalesAgents"]
            .iter()
            .any(|a| a.eq_ignore_ascii_case(name))
        {
            if let Some(id) = str_at(g, &["id"]).and_then(Guid::parse) {
                groups.insert(id.to_string());
            }
        }
    }
    let groups: Vec<String> = groups.into_iter().collect();
    par_each(&groups, run.parallel, |g| {
        let (tp, tf) = (
            format!("/v1.0/groups/{g}/transitiveMembers"),
            format!("groups/{g}/transitiveMembers"),
        );
        let (mp, mf) = (
            format!("/v1.0/groups/{g}/members"),
            format!("groups/{g}.members"),
        );
        run.listing_of_first(Api::Graph, &[(&tp, &tf), (&mp, &mf)], false);
    });
    found
}

/// Partner Center device batches of a customer, then each batch's devices.
fn autopilot_devices(run: &TenantRun<'_>, customer: &str) {
    if run.stopped() {
        return;
    }
    let batches = match run.fetch(
        Api::PartnerCenter,
        &format!("/v1/customers/{customer}/deviceBatches"),
    ) {
        Ok(p) => p.into_iter().map(|p| p.json).collect::<Vec<_>>(),
        Err(f) => return run.fail(f, true),
    };
    for b in items(&batches) {
        let Some(id) = str_at(b, &["id"]) else {
            continue;
        };
        let path = match str_at(b, &["devicesLink", "uri"]) {
            Some(uri) if uri.starts_with("/v1/") => uri.replace(' ', "%20"),
            Some(uri) if uri.starts_with('/') => format!("/v1{}", uri.replace(' ', "%20")),
            _ => format!("/v1/customers/{customer}/deviceBatches/{}/devices", seg(id)),
        };
        run.listing(
            Api::PartnerCenter,
            &path,
            &format!("autopilot/{customer}.{}.devices", slug(id)),
            false,
        );
    }
}

/// Collects a customer tenant (or the single tenant of the customer perspective).
pub fn customer(run: &TenantRun<'_>) {
    if !run.probe(false) {
        return;
    }
    type Job = (Api, &'static str, &'static str, bool);
    let jobs: [Job; 7] = [
        (
            Api::Graph,
            "/v1.0/roleManagement/directory/roleAssignments?$expand=principal",
            "roleAssignments",
            false,
        ),
        (
            Api::Graph,
            "/v1.0/roleManagement/directory/roleDefinitions",
            "roleDefinitions",
            true,
        ),
        (Api::Graph, "/v1.0/directoryRoles", "directoryRoles", false),
        (
            Api::Arm,
            "/subscriptions?api-version=2022-12-01",
            "arm/subscriptions",
            false,
        ),
        (
            Api::Graph,
            "/v1.0/deviceManagement/windowsAutopilotDeviceIdentities",
            "autopilot/windowsAutopilotDeviceIdentities",
            true,
        ),
        // Partner apps: who owns each app, and the permissions granted.
        (
            Api::Graph,
            "/v1.0/servicePrincipals?$select=id,appId,displayName,appOwnerOrganizationId,accountEnabled,servicePrincipalType,appRoles",
            "servicePrincipals",
            true,
        ),
        (
            Api::Graph,
            "/v1.0/oauth2PermissionGrants",
            "oauth2PermissionGrants",
            true,
        ),
    ];
    let results: Mutex<BTreeMap<&str, Vec<Value>>> = Mutex::new(BTreeMap::new());
    let profiles = [
        (
            "/beta/deviceManagement/windowsAutopilotDeploymentProfiles",
            "autopilot/profiles",
        ),
        (
            "/v1.0/deviceManagement/windowsAutopilotDeploymentProfiles",
            "autopilot/profiles",
        ),
    ];
    std::thread::scope(|s| {
        s.spawn(|| run.listing_of_first(Api::Graph, &profiles, true));
        par_each(&jobs, run.parallel, |(api, path, file, optional)| {
            if let Some(pages) = run.listing(*api, path, file, *optional) {
                lock(&results).insert(file, pages);
            }
        });
    });
    let results = results
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let get = |k: &str| results.get(k).map_or(&[][..], Vec::as_slice);

    enum Child {
        RoleMembers(String),
        Subscription(String),
        AppRoles(String),
    }
    let mut children: Vec<Child> = items(get("directoryRoles"))
        .filter_map(|r| str_at(r, &["id"]))
        .filter_map(Guid::parse)
        .map(|g| Child::RoleMembers(g.to_string()))
        .collect();
    children.extend(
        items(get("arm/subscriptions"))
            .filter_map(|s| {
                str_at(s, &["subscriptionId"])
                    .or_else(|| str_at(s, &["id"]).and_then(|i| i.rsplit('/').next()))
            })
            .filter_map(Guid::parse)
            .map(|g| Child::Subscription(g.to_string())),
    );
    // The application permissions of the apps another tenant owns.
    let tenant = run.tenant;
    children.extend(
        items(get("servicePrincipals"))
            .filter(|p| {
                str_at(p, &["appOwnerOrganizationId"])
                    .and_then(Guid::parse)
                    .is_some_and(|o| o != tenant)
            })
            .filter_map(|p| str_at(p, &["id"]))
            .filter_map(Guid::parse)
            .map(|g| Child::AppRoles(g.to_string())),
    );
    par_each(&children, run.parallel, |c| match c {
        Child::RoleMembers(id) => {
            run.listing(
                Api::Graph,
                &format!("/v1.0/directoryRoles/{id}/members"),
                &format!("directoryRoles/{id}.members"),
                false,
            );
        }
        Child::Subscription(sub) => {
            run.listing(
                Api::Arm,
                &format!("/subscriptions/{sub}/providers/Microsoft.Authorization/roleAssignments?api-version=2022-04-01"),
                &format!("arm/roleAssignments-{sub}"),
                false,
            );
            classic_administrators(run, sub);
            run.listing(
                Api::Arm,
                &format!("/subscriptions/{sub}/providers/Microsoft.ManagedServices/registrationAssignments?api-version=2022-10-01&$expandRegistrationDefinition=true"),
                &format!("lighthouse/registrationAssignments-{sub}"),
                true,
            );
        }
        Child::AppRoles(id) => {
            run.listing(
                Api::Graph,
                &format!("/v1.0/servicePrincipals/{id}/appRoleAssignments"),
                &format!("servicePrincipals/{id}.appRoleAssignments"),
                true,
            );
        }
    });
}

/// Classic administrators, written as `az role assignment list
/// --include-classic-administrators` writes them (the shape the importer
/// matches to users by e-mail).
fn classic_administrators(run: &TenantRun<'_>, sub: &str) {
    if run.stopped() {
        return;
    }
    let path = format!(
        "/subscriptions/{sub}/providers/Microsoft.Authorization/classicAdministrators?api-version=2015-07-01"
    );
    let pages = match run.fetch(Api::Arm, &path) {
        Ok(p) => p,
        Err(f) => return run.fail(f, true),
    };
    let json: Vec<Value> = pages.into_iter().map(|p| p.json).collect();
    let admins: Vec<Value> = items(&json)
        .filter_map(|a| {
            let props = a.get("properties").unwrap_or(a);
            let email = str_at(props, &["emailAddress"])?;
            let role = str_at(props, &["role"]).unwrap_or("CoAdministrator");
            Some(serde_json::json!({
                "id": "NA(classic admins)",
                "name": "NA(classic admins)",
                "principalName": email,
                "principalId": "",
                "roleDefinitionName": role,
                "roleDefinitionId": "NA(classic admin role)",
                "scope": format!("/subscriptions/{sub}"),
                "type": "Microsoft.Authorization/classicAdministrators",
            }))
        })
        .collect();
    if admins.is_empty() {
        return;
    }
    let mut body = serde_json::to_vec_pretty(&admins).unwrap_or_default();
    body.push(b'\n');
    let rel = format!("{}/arm/classicAdministrators-{sub}.json", run.tenant);
    match write_atomic(&run.out.join(&rel), &body) {
        Ok(()) => lock(&run.files).push(rel),
        Err(e) => lock(&run.problems).push(e),
    }
}

/// The folder of a tenant.
pub fn tenant_dir(out: &Path, tenant: Guid) -> PathBuf {
    out.join(tenant.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_gdap_hint_names_inactive_relationships() {
        let set = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<BTreeSet<_>>();
        assert_eq!(gdap_hint(Some(&set(&["expired", "active"]))), None);
        assert_eq!(gdap_hint(Some(&set(&["terminationRequested"]))), None);
        assert_eq!(
            gdap_hint(Some(&set(&["expired", "terminated"]))).as_deref(),
            Some("no active gdap relationship (`expired`, `terminated`)")
        );
        assert_eq!(gdap_hint(None).as_deref(), Some("no gdap relationship"));
    }

    #[test]
    fn names_are_made_safe() {
        assert_eq!(seg("Test batch"), "Test%20batch");
        assert_eq!(slug("Test batch/1"), "Test_batch_1");
        let pages = vec![
            serde_json::json!({"value": [1, 2]}),
            serde_json::json!({"items": [3]}),
        ];
        assert_eq!(items(&pages).count(), 3);
    }
}
