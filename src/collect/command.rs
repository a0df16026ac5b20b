//! From the `collect` command line to a run, and the run's summary.

use std::io::Read as _;
use std::time::Duration;

use super::auth::{self, Credential, Method};
use super::config::{self, Cloud, Limits};
use super::{CustomerSelection, Options, View};
use crate::cli::{AuthArg, CloudArg, CollectArgs, PerspectiveArg};
use crate::snapshot::Guid;

/// Runs `collect`; `Ok` is the exit status, `Err` a usage or setup error (exit 2).
pub fn run(a: &CollectArgs) -> Result<u8, String> {
    let options = options(a)?;
    let out = options.out.clone();
    let s = super::run(options)?;
    for n in &s.notes {
        eprintln!("note: {}", crate::report::summary::printable(n));
    }
    for i in &s.incomplete {
        eprintln!(
            "warning: tenant `{}` not fully collected: {}",
            i.tenant_id,
            crate::report::summary::printable(&i.reason)
        );
    }
    println!(
        "collected {} of {} tenants into {}{} ({} requests, {} throttling waits, {:.1}s waited)",
        s.collected,
        s.total,
        out.display(),
        if s.skipped_complete > 0 {
            format!(", {} kept from the interrupted run", s.skipped_complete)
        } else {
            String::new()
        },
        s.requests,
        s.throttled,
        s.throttled_secs
    );
    if !s.incomplete.is_empty() {
        println!(
            "{} tenant(s) incomplete (listed in {}/manifest.json; `audit` reports them): rerun with `--since-resume` to retry them",
            s.incomplete.len(),
            out.display()
        );
    }
    println!("next: partner-audit audit {} --out report", out.display());
    Ok(0)
}

fn options(a: &CollectArgs) -> Result<Options, String> {
    let tenant_text = a.partner_tenant.as_deref().ok_or_else(|| {
        "`collect` needs the tenant: pass `--partner-tenant ID` or set `AZURE_TENANT_ID`".to_owned()
    })?;
    let tenant = Guid::parse(tenant_text.trim()).ok_or_else(|| {
        format!("`--partner-tenant`: `{tenant_text}` is not a tenant id (expected a GUID)")
    })?;
    let customers = match a.customers.trim() {
        "" | "all" => CustomerSelection::All,
        list => CustomerSelection::Only(
            list.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| {
                    Guid::parse(s).ok_or_else(|| {
                        format!("`--customers`: `{s}` is not a tenant id (expected `all` or comma-separated GUIDs)")
                    })
                })
                .collect::<Result<_, _>>()?,
        ),
    };
    let cloud = match a.cloud {
        CloudArg::Public => Cloud::Public,
        CloudArg::Usgov => Cloud::UsGov,
        CloudArg::China => Cloud::China,
    };
    let mut endpoints = cloud.endpoints();
    for (flag, value, slot) in [
        ("--login-endpoint", &a.login_endpoint, &mut endpoints.login),
        ("--graph-endpoint", &a.graph_endpoint, &mut endpoints.graph),
        ("--arm-endpoint", &a.arm_endpoint, &mut endpoints.arm),
        (
            "--partner-center-endpoint",
            &a.partner_center_endpoint,
            &mut endpoints.partner_center,
        ),
    ] {
        if let Some(v) = value {
            *slot = config::endpoint(flag, v)?;
        }
    }
    if a.max_requests == 0 || a.per_tenant == 0 || a.max_attempts == 0 || a.timeout == 0 {
        return Err(
            "`--max-requests`, `--per-tenant`, `--max-attempts` and `--timeout` must be at least 1"
                .into(),
        );
    }
    let limits = Limits {
        max_requests: a.max_requests,
        per_tenant: a.per_tenant.min(a.max_requests),
        timeout: Duration::from_secs(a.timeout),
        max_attempts: a.max_attempts,
        backoff_base: Duration::from_millis(a.backoff_base_ms),
        retry_after_cap: Duration::from_secs(a.retry_after_cap),
    };
    Ok(Options {
        out: a.out.clone(),
        view: match a.perspective {
            PerspectiveArg::Partner => View::Partner,
            PerspectiveArg::Customer => View::Customer,
        },
        tenant,
        customers,
        since_resume: a.since_resume,
        cloud,
        endpoints,
        limits,
        credential: credential(a)?,
        progress: true,
    })
}

fn env_nonempty(k: &str) -> Option<String> {
    std::env::var(k).ok().filter(|v| !v.trim().is_empty())
}

/// The credential per `--auth` (or the environment). Secrets come from the
/// environment, a file or stdin, never from the command line.
fn credential(a: &CollectArgs) -> Result<Credential, String> {
    let secret_env = env_nonempty("AZURE_CLIENT_SECRET");
    let cert_env = env_nonempty("AZURE_CLIENT_CERTIFICATE_PATH");
    let method = match a.auth {
        Some(AuthArg::ClientSecret) => Method::ClientSecret,
        Some(AuthArg::ClientCertificate) => Method::ClientCertificate,
        Some(AuthArg::DeviceCode) => Method::DeviceCode,
        Some(AuthArg::AzureCli) => Method::AzureCli,
        None if secret_env.is_some() || a.client_secret_file.is_some() => Method::ClientSecret,
        None if cert_env.is_some() => Method::ClientCertificate,
        None => Method::AzureCli,
    };
    let client_id = || {
        a.client_id
            .as_deref()
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .map(str::to_owned)
            .ok_or_else(|| "this sign-in needs the app's client id: pass `--client-id ID` or set `AZURE_CLIENT_ID`".to_owned())
    };
    Ok(match method {
        Method::ClientSecret => {
            let secret = match &a.client_secret_file {
                Some(p) if p.as_os_str() == "-" => {
                    let mut s = String::new();
                    std::io::stdin()
                        .read_to_string(&mut s)
                        .map_err(|e| format!("cannot read the client secret from stdin: {}", e.kind()))?;
                    s
                }
                Some(p) => std::fs::read_to_string(p)
                    .map_err(|e| format!("cannot read the client secret file `{}`: {}", p.display(), e.kind()))?,
                None => secret_env.ok_or_else(|| {
                    "`--auth client-secret` needs the secret in `AZURE_CLIENT_SECRET` or `--client-secret-file PATH`".to_owned()
                })?,
            };
            let secret = secret.trim().to_owned();
            if secret.is_empty() {
                return Err("the client secret is empty".into());
            }
            Credential::Secret {
                client_id: client_id()?,
                secret: oauth2::ClientSecret::new(secret),
            }
        }
        Method::ClientCertificate => {
            let path = cert_env.ok_or_else(|| {
                "`--auth client-certificate` needs `AZURE_CLIENT_CERTIFICATE_PATH` (a PEM file with the certificate and its private key)".to_owned()
            })?;
            auth::load_certificate(client_id()?, std::path::Path::new(&path))?
        }
        Method::DeviceCode => Credential::DeviceCode {
            client_id: client_id()?,
        },
        Method::AzureCli => Credential::AzureCli,
    })
}
