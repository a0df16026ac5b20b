//! `partner-audit collect`: reads the partner tenant and every customer
//! reached through GDAP live from Microsoft Graph, Azure Resource Manager
//! and Partner Center, and writes the export folder that `audit` and
//! `import` read (docs/exporting.md), with a root `manifest.json` that
//! records `captured_at` and every tenant not (fully) collected.
//!
//! - `config`: endpoints per cloud, token scopes, limits
//! - `auth`: tokens (client secret, certificate, device code, Azure CLI)
//! - `http`: retries, throttling, concurrency, paging
//! - `plan`: what to fetch per tenant and where it goes
//! - `writer`: atomic files, the manifest, the resume state
//! - `progress`: the progress line

pub mod auth;
pub mod command;
pub mod config;
pub mod http;
pub mod plan;
pub mod progress;
pub mod writer;

use std::path::PathBuf;
use std::sync::Mutex;

use crate::snapshot::Guid;
use config::{Cloud, Endpoints, Limits};
use writer::{Incomplete, State};

/// Which customers to collect.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CustomerSelection {
    /// Every customer the partner-side listings name.
    All,
    /// These customers only.
    Only(Vec<Guid>),
}

/// Whose view is collected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum View {
    Partner,
    Customer,
}

/// A collect run.
pub struct Options {
    pub out: PathBuf,
    pub view: View,
    pub tenant: Guid,
    pub customers: CustomerSelection,
    pub since_resume: bool,
    pub cloud: Cloud,
    pub endpoints: Endpoints,
    pub limits: Limits,
    pub credential: auth::Credential,
    pub progress: bool,
}

/// The result of a run.
pub struct Summary {
    pub collected: usize,
    pub total: usize,
    pub skipped_complete: usize,
    pub incomplete: Vec<Incomplete>,
    pub notes: Vec<String>,
    pub requests: u64,
    pub throttled: u64,
    pub throttled_secs: f64,
}

fn now_utc() -> String {
    let t = jiff::Timestamp::now();
    jiff::Timestamp::from_second(t.as_second())
        .unwrap_or(t)
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

/// Runs a collection; `Err` is a usage or setup problem (exit status 2).
pub fn run(o: Options) -> Result<Summary, String> {
    let perspective = match o.view {
        View::Partner => "partner",
        View::Customer => "customer",
    };
    let tenant_s = o.tenant.to_string();
    let previous = if o.out.exists() && !o.out.is_dir() {
        return Err(format!("`{}` exists and is not a folder", o.out.display()));
    } else if o.since_resume {
        match State::load(&o.out)? {
            Some(s) => {
                if s.tenant != tenant_s || s.perspective != perspective {
                    return Err(format!(
                        "`{}` holds a {} collection of tenant `{}`, not a {perspective} collection of `{tenant_s}`: resume it with the same `--perspective` and tenant",
                        o.out.display(),
                        s.perspective,
                        s.tenant
                    ));
                }
                Some(s)
            }
            None if writer::is_empty_dir(&o.out) => None,
            None => {
                return Err(format!(
                    "`{}` holds no interrupted collection (no `{}`): choose an empty or new folder",
                    o.out.display(),
                    writer::STATE_FILE
                ))
            }
        }
    } else if !writer::is_empty_dir(&o.out) {
        return Err(format!(
            "`{}` is not empty: pass `--since-resume` to continue an interrupted collection there, or choose an empty or new folder",
            o.out.display()
        ));
    } else {
        None
    };
    std::fs::create_dir_all(&o.out)
        .map_err(|e| format!("cannot create `{}`: {e}", o.out.display()))?;
    let fresh = previous.is_none();
    let mut state = previous.unwrap_or_else(|| State {
        format_version: 1,
        captured_at: now_utc(),
        perspective: perspective.into(),
        tenant: tenant_s.clone(),
        ..State::default()
    });
    let skipped_complete = state.complete.len();
    // Until a tenant is done, the manifest lists it as not collected: an
    // interrupted run leaves a folder whose audit says what is missing.
    if !state.complete.contains_key(&tenant_s) {
        mark_pending(&mut state, &tenant_s);
    }
    state.save(&o.out)?;

    let http = http::Http::new(o.limits.clone(), o.endpoints.clone(), o.cloud);
    let authority = auth::Authority::new(&http, o.credential, o.tenant);
    let progress = progress::Line::start(&http.stats, o.progress);
    let mut notes = Vec::new();

    // The partner (or the single) tenant first: it names the customers.
    let home_kind = match o.view {
        View::Partner => "partner",
        View::Customer => "customer",
    };
    if !state.complete.contains_key(&tenant_s) {
        writer::clear_tenant(&o.out, &tenant_s)?;
        let tokens = authority.for_tenant(o.tenant);
        let run = plan::TenantRun::new(&http, &tokens, &o.out, o.tenant, o.limits.per_tenant);
        let found = match o.view {
            View::Partner => plan::partner(&run),
            View::Customer => {
                plan::customer(&run);
                plan::Customers::default()
            }
        };
        let outcome = run.finish();
        if outcome.files.is_empty() {
            // Nothing could be read from the home tenant: a credential or permission problem.
            progress.finish();
            let _ = writer::clear_tenant(&o.out, &tenant_s);
            if fresh {
                // Leave the folder empty, so the same command can simply be run again.
                let _ = std::fs::remove_file(o.out.join(writer::STATE_FILE));
                let _ = std::fs::remove_file(o.out.join("manifest.json"));
            }
            return Err(format!(
                "cannot read tenant `{tenant_s}`: {}",
                outcome.problems.join("; ")
            ));
        }
        state.customers = found.ids.iter().map(Guid::to_string).collect();
        state.gdap_hints = found
            .ids
            .iter()
            .filter_map(|c| Some((c.to_string(), plan::gdap_hint(found.gdap.get(c))?)))
            .collect();
        state.kinds.insert(tenant_s.clone(), home_kind.into());
        notes.extend(outcome.notes.iter().map(|n| format!("{tenant_s}: {n}")));
        record(&mut state, &tenant_s, outcome);
        // Saved below, together with the customers still to collect.
    }
    progress.tenant_done();

    // Customers.
    let mut customers: Vec<String> = match (&o.view, &o.customers) {
        (View::Customer, _) => Vec::new(),
        (View::Partner, CustomerSelection::All) => state.customers.clone(),
        (View::Partner, CustomerSelection::Only(ids)) => ids.iter().map(Guid::to_string).collect(),
    };
    customers.sort();
    customers.dedup();
    let total = 1 + customers.len();
    progress.set_total(total);
    let todo: Vec<String> = customers
        .iter()
        .filter(|c| !state.complete.contains_key(*c))
        .cloned()
        .collect();
    for c in &todo {
        mark_pending(&mut state, c);
    }
    state.save(&o.out)?;
    for c in customers.iter().filter(|c| state.complete.contains_key(*c)) {
        let _ = c;
        progress.tenant_done();
    }
    let shared = Mutex::new((state, notes));
    let workers = (o.limits.max_requests / o.limits.per_tenant.max(1)).max(1);
    let save_error: Mutex<Option<String>> = Mutex::new(None);
    plan::par_each(&todo, workers, |c| {
        let Some(guid) = Guid::parse(c) else { return };
        let cleared = writer::clear_tenant(&o.out, c);
        let tokens = authority.for_tenant(guid);
        let run = plan::TenantRun::new(&http, &tokens, &o.out, guid, o.limits.per_tenant);
        if cleared.is_ok() {
            plan::customer(&run);
        }
        let outcome = run.finish();
        let mut g = shared
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let (state, notes) = &mut *g;
        if let Err(e) = cleared {
            state.incomplete.retain(|i| &i.tenant_id != c);
            state.incomplete.push(Incomplete {
                tenant_id: c.clone(),
                reason: e,
            });
        } else {
            if outcome.files.is_empty() {
                let _ = writer::clear_tenant(&o.out, c);
                state.kinds.remove(c);
            } else {
                state.kinds.insert(c.clone(), "customer".into());
            }
            notes.extend(outcome.notes.iter().map(|n| format!("{c}: {n}")));
            record(state, c, outcome);
        }
        if let Err(e) = state.save(&o.out) {
            *save_error
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(e);
        }
        drop(g);
        progress.tenant_done();
    });
    progress.finish();
    if let Some(e) = save_error
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
    {
        return Err(e);
    }
    let (mut state, notes) = shared
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    state
        .incomplete
        .sort_by(|a, b| a.tenant_id.cmp(&b.tenant_id));
    state.save(&o.out)?;
    let complete_now = std::iter::once(&tenant_s)
        .chain(customers.iter())
        .filter(|t| state.complete.contains_key(*t))
        .count();
    let stats = &http.stats;
    use std::sync::atomic::Ordering::Relaxed;
    Ok(Summary {
        collected: complete_now,
        total,
        skipped_complete,
        incomplete: state.incomplete.clone(),
        notes,
        requests: stats.requests.load(Relaxed),
        throttled: stats.throttled.load(Relaxed),
        throttled_secs: stats.throttled_ms.load(Relaxed) as f64 / 1000.0,
    })
}

/// The reason recorded for a tenant not collected yet.
pub const PENDING: &str =
    "not collected yet: the collection was interrupted (continue it with `collect --since-resume`)";

fn mark_pending(state: &mut State, tenant: &str) {
    state.incomplete.retain(|i| i.tenant_id != tenant);
    state.incomplete.push(Incomplete {
        tenant_id: tenant.to_owned(),
        reason: PENDING.into(),
    });
}

/// Records a tenant's outcome in the state.
fn record(state: &mut State, tenant: &str, outcome: plan::Outcome) {
    state.incomplete.retain(|i| i.tenant_id != tenant);
    if outcome.problems.is_empty() {
        state.complete.insert(tenant.to_owned(), outcome.files);
    } else {
        state.complete.remove(tenant);
        let problems = outcome.problems.join("; ");
        let reason = match state.gdap_hints.get(tenant) {
            Some(hint) => format!("{hint}: {problems}"),
            None => problems,
        };
        state.incomplete.push(Incomplete {
            tenant_id: tenant.to_owned(),
            reason,
        });
    }
}
