//! `partner-audit collect` against a fake of the Microsoft endpoints that
//! the test starts on 127.0.0.1 (an ephemeral port): a token endpoint,
//! Graph, ARM and Partner Center routes served from `fixtures/collect/server`
//! in the documented payload shapes, with several pages, a 429 with
//! `Retry-After`, a 503 then success, a malformed page, a token that
//! expires mid-run and a customer that refuses access (403). The collected
//! folder is then audited and compared finding by finding with the audit
//! of the hand-written canonical snapshot of the same tenants
//! (`fixtures/collect/expected-snapshot`).

mod common;

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};

use serde_json::Value;

const SECRET: &str = "s3cr3t-Zq8~collect-test-value";
const CLIENT_ID: &str = "6a1b2c3d-0000-4000-8000-00000000c11e";
const PARTNER: &str = "0f3c2a1b-7d4e-4c8a-9b21-5e6f7a8b9c0d";
const CUSTOMER_A: &str = "1a2b3c4d-5e6f-4a1b-8c2d-3e4f5a6b7c8d";
const CUSTOMER_B: &str = "2b3c4d5e-6f7a-4b2c-9d3e-4f5a6b7c8d9e";
const REFUSING: &str = "3c4d5e6f-7a8b-4c3d-8e4f-5a6b7c8d9e0f";
/// A customer whose only GDAP relationship expired: its sign-in is refused.
const EXPIRED: &str = "4d5e6f7a-8b9c-4d4e-9f5a-6b7c8d9e0f1a";
/// Requests a token serves before the server answers 401 (it "expires").
const TOKEN_USES: u32 = 6;

/// A scripted fault served instead of the file, once.
#[derive(Clone, Debug)]
enum Fault {
    Status(u16, Option<&'static str>),
    Malformed,
}

#[derive(Default)]
struct ServerState {
    /// token → (tenant, api, uses left)
    tokens: HashMap<String, (String, String, u32)>,
    minted: u32,
    /// "METHOD path" (query cut) → count
    hits: BTreeMap<String, u32>,
    /// (tenant, path, page) → faults to serve first
    faults: HashMap<(String, String, u32), VecDeque<Fault>>,
    /// A tenant whose every Graph request fails with 500 (for the resume test).
    broken: Option<String>,
    /// Every token request body, to check what was sent.
    token_forms: Vec<String>,
    /// Requests with an unknown or expired token.
    unauthorized: u32,
    /// (tenant, "METHOD path") → count, for requests with a valid token.
    tenant_hits: BTreeMap<(String, String), u32>,
    /// A token scope the sign-in refuses (e.g. Partner Center not set up).
    refused_scope: Option<String>,
    /// Serve as an older service would (see `handle`).
    older_service: bool,
    /// Device code token polls so far.
    device_polls: u32,
    /// Milliseconds each API answer takes (to observe concurrency).
    delay_ms: u64,
    in_flight: u32,
    max_in_flight: u32,
    tenant_in_flight: HashMap<String, u32>,
    max_tenant_in_flight: u32,
}

struct Fake {
    base: String,
    state: Arc<Mutex<ServerState>>,
}

impl Fake {
    fn start() -> Fake {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let state = Arc::new(Mutex::new(ServerState::default()));
        let (s2, b2) = (Arc::clone(&state), base.clone());
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { continue };
                let (s3, b3) = (Arc::clone(&s2), b2.clone());
                std::thread::spawn(move || handle(conn, &s3, &b3));
            }
        });
        Fake { base, state }
    }

    fn fault(&self, tenant: &str, path: &str, page: u32, faults: &[Fault]) {
        self.state.lock().expect("state").faults.insert(
            (tenant.into(), path.into(), page),
            faults.iter().cloned().collect(),
        );
    }

    fn hits(&self) -> BTreeMap<String, u32> {
        self.state.lock().expect("state").hits.clone()
    }

    fn collect(&self, out: &Path, extra: &[&str]) -> (i32, String, String) {
        let mut args: Vec<String> = [
            "collect",
            "--out",
            &out.display().to_string(),
            "--partner-tenant",
            PARTNER,
            "--client-id",
            CLIENT_ID,
            "--login-endpoint",
            &self.base,
            "--graph-endpoint",
            &self.base,
            "--arm-endpoint",
            &self.base,
            "--partner-center-endpoint",
            &self.base,
            "--max-attempts",
            "3",
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
        args.extend(extra.iter().map(|s| (*s).to_owned()));
        let o = Command::new(env!("CARGO_BIN_EXE_partner-audit"))
            .args(&args)
            .current_dir(common::root())
            .env("AZURE_CLIENT_SECRET", SECRET)
            .env("PARTNER_AUDIT_BACKOFF_BASE_MS", "20")
            .env_remove("AZURE_CLIENT_CERTIFICATE_PATH")
            .env_remove("AZURE_TENANT_ID")
            .env_remove("AZURE_CLIENT_ID")
            .output()
            .expect("run partner-audit collect");
        (
            o.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&o.stdout).into_owned(),
            String::from_utf8_lossy(&o.stderr).into_owned(),
        )
    }
}

fn respond(mut conn: TcpStream, status: u16, headers: &[(&str, String)], body: &[u8]) {
    let mut head = format!(
        "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    let _ = conn.write_all(head.as_bytes());
    let _ = conn.write_all(body);
    let _ = conn.flush();
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn form_value(form: &str, key: &str) -> Option<String> {
    form.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=')?;
        (k == key).then(|| percent_decode(&v.replace('+', " ")))
    })
}

/// A certificate client assertion: a JWT signed RS256 whose header names the
/// certificate's thumbprints and whose claims name the app and the token URL.
fn assertion_ok(form: &str, token_url: &str) -> bool {
    use base64::Engine as _;
    if form_value(form, "client_assertion_type").as_deref()
        != Some("urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
    {
        return false;
    }
    let Some(jwt) = form_value(form, "client_assertion") else {
        return false;
    };
    let parts: Vec<&str> = jwt.split('.').collect();
    let decode = |p: &str| -> Option<Value> {
        let b = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(p)
            .ok()?;
        serde_json::from_slice(&b).ok()
    };
    let (Some(h), Some(c)) = (
        parts.first().and_then(|p| decode(p)),
        parts.get(1).and_then(|p| decode(p)),
    ) else {
        return false;
    };
    parts.len() == 3
        && parts[2].len() > 300
        && h["alg"] == "RS256"
        && h["x5t"].as_str().is_some_and(|t| t.len() == 27)
        && c["iss"] == CLIENT_ID
        && c["sub"] == CLIENT_ID
        && c["aud"] == token_url
}

fn handle(conn: TcpStream, state: &Mutex<ServerState>, base: &str) {
    let mut reader = BufReader::new(conn.try_clone().expect("clone"));
    let mut line = String::new();
    if reader.read_line(&mut line).is_err() {
        return;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or("").to_owned();
    let target = parts.next().unwrap_or("").to_owned();
    let mut headers = HashMap::new();
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).is_err() || h.trim().is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_owned());
        }
    }
    let len: usize = headers
        .get("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; len];
    if reader.read_exact(&mut body).is_err() {
        return;
    }
    let (path, query) = target.split_once('?').unwrap_or((&target, ""));
    let path = percent_decode(path);
    let mut st = state.lock().expect("state");
    *st.hits.entry(format!("{method} {path}")).or_default() += 1;

    // Device code endpoint: POST /{tenant}/oauth2/v2.0/devicecode
    if method == "POST" && path.ends_with("/oauth2/v2.0/devicecode") {
        drop(st);
        return respond(conn, 200, &[], br#"{"device_code":"fake-device-code","user_code":"FAKE-CODE","verification_uri":"https://microsoft.com/devicelogin","expires_in":900,"interval":1,"message":"To sign in, use a web browser to open the page https://microsoft.com/devicelogin and enter the code FAKE-CODE to authenticate."}"#);
    }
    // Token endpoint: POST /{tenant}/oauth2/v2.0/token
    if method == "POST" && path.ends_with("/oauth2/v2.0/token") {
        let form = String::from_utf8_lossy(&body).into_owned();
        st.token_forms.push(form.clone());
        let tenant = path
            .trim_start_matches('/')
            .split('/')
            .next()
            .unwrap_or("")
            .to_owned();
        let grant = form_value(&form, "grant_type").unwrap_or_default();
        if grant == "urn:ietf:params:oauth:grant-type:device_code" {
            st.device_polls += 1;
            let polls = st.device_polls;
            drop(st);
            if form_value(&form, "device_code").as_deref() != Some("fake-device-code") {
                return respond(conn, 400, &[], br#"{"error":"invalid_grant"}"#);
            }
            if polls == 1 {
                return respond(conn, 400, &[], br#"{"error":"authorization_pending","error_description":"AADSTS70016: pending"}"#);
            }
            return respond(conn, 200, &[], br#"{"token_type":"Bearer","expires_in":3599,"access_token":"fake-signin","refresh_token":"fake-refresh-1","scope":"https://graph.microsoft.com/.default offline_access"}"#);
        }
        if tenant == EXPIRED {
            drop(st);
            return respond(conn, 401, &[], br#"{"error":"unauthorized_client","error_description":"AADSTS700016: Application with identifier '6a1b2c3d-0000-4000-8000-00000000c11e' was not found in the directory 'Litware Legal'."}"#);
        }
        let ok = form_value(&form, "client_id").as_deref() == Some(CLIENT_ID)
            && ((grant == "client_credentials"
                && (form_value(&form, "client_secret").as_deref() == Some(SECRET)
                    || assertion_ok(&form, &format!("{base}{path}"))))
                || (grant == "refresh_token"
                    && form_value(&form, "refresh_token")
                        .is_some_and(|r| r.starts_with("fake-refresh-"))));
        if !ok {
            drop(st);
            return respond(conn, 401, &[], br#"{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided."}"#);
        }
        let scope = form_value(&form, "scope").unwrap_or_default();
        if st.refused_scope.as_deref() == Some(scope.as_str()) {
            drop(st);
            return respond(conn, 400, &[], br#"{"error":"invalid_grant","error_description":"AADSTS650052: The app needs access to a service that your organization has not subscribed to."}"#);
        }
        let api = match scope.as_str() {
            "https://graph.microsoft.com/.default" => "graph",
            "https://management.azure.com/.default" => "arm",
            "https://api.partnercenter.microsoft.com/.default" => "pc",
            _ => {
                drop(st);
                return respond(conn, 400, &[], br#"{"error":"invalid_scope","error_description":"AADSTS70011: The provided value for scope is not valid."}"#);
            }
        };
        st.minted += 1;
        let token = format!("fake-{api}-{}", st.minted);
        st.tokens
            .insert(token.clone(), (tenant, api.to_owned(), TOKEN_USES));
        drop(st);
        let body = format!(
            r#"{{"token_type":"Bearer","expires_in":3599,"ext_expires_in":3599,"access_token":"{token}"}}"#
        );
        return respond(conn, 200, &[], body.as_bytes());
    }

    let api = if path.starts_with("/v1.0/") || path.starts_with("/beta/") {
        "graph"
    } else if path.starts_with("/subscriptions") {
        "arm"
    } else if path.starts_with("/v1/") {
        "pc"
    } else {
        drop(st);
        return respond(
            conn,
            404,
            &[],
            br#"{"error":{"code":"NotFound","message":"no such route"}}"#,
        );
    };
    let token = headers
        .get("authorization")
        .and_then(|a| a.strip_prefix("Bearer "))
        .unwrap_or("")
        .to_owned();
    // Tokens of the fake `az` (see the Azure CLI test): `cli.{tenant}.{api}`.
    let cli = token
        .strip_prefix("cli.")
        .and_then(|t| t.split_once('.'))
        .filter(|(_, a)| *a == api)
        .map(|(t, _)| t.to_owned());
    let tenant = match st.tokens.get_mut(&token) {
        _ if cli.is_some() => cli.unwrap_or_default(),
        Some((t, a, uses)) if a == api && *uses > 0 => {
            *uses -= 1;
            t.clone()
        }
        _ => {
            st.unauthorized += 1;
            drop(st);
            return respond(conn, 401, &[], br#"{"error":{"code":"InvalidAuthenticationToken","message":"Access token has expired or is not yet valid."}}"#);
        }
    };
    *st.tenant_hits
        .entry((tenant.clone(), format!("{method} {path}")))
        .or_default() += 1;
    if tenant == REFUSING {
        drop(st);
        return respond(conn, 403, &[], br#"{"error":{"code":"Authorization_RequestDenied","message":"Insufficient privileges to complete the operation."}}"#);
    }
    if api == "graph" && st.broken.as_deref() == Some(tenant.as_str()) {
        drop(st);
        return respond(
            conn,
            500,
            &[],
            br#"{"error":{"code":"InternalServerError","message":"broken for the test"}}"#,
        );
    }
    let page: u32 = query
        .split('&')
        .find_map(|kv| {
            kv.strip_prefix("$skiptoken=")
                .or_else(|| kv.strip_prefix("%24skiptoken="))
        })
        .or_else(|| headers.get("ms-continuationtoken").map(String::as_str))
        .and_then(|p| p.parse().ok())
        .unwrap_or(1);
    if let Some(f) = st
        .faults
        .get_mut(&(tenant.clone(), path.clone(), page))
        .and_then(VecDeque::pop_front)
    {
        drop(st);
        return match f {
            Fault::Status(code, retry_after) => {
                let h: Vec<(&str, String)> = retry_after
                    .map(|r| ("Retry-After", r.to_owned()))
                    .into_iter()
                    .collect();
                respond(
                    conn,
                    code,
                    &h,
                    br#"{"error":{"code":"TooManyRequests","message":"try later"}}"#,
                )
            }
            Fault::Malformed => respond(conn, 200, &[], br#"{"value": [ {"id": "cut short"#),
        };
    }
    let delay = st.delay_ms;
    let older_service = st.older_service;
    st.in_flight += 1;
    st.max_in_flight = st.max_in_flight.max(st.in_flight);
    let t_now = {
        let n = st.tenant_in_flight.entry(tenant.clone()).or_default();
        *n += 1;
        *n
    };
    st.max_tenant_in_flight = st.max_tenant_in_flight.max(t_now);
    drop(st);
    std::thread::sleep(std::time::Duration::from_millis(delay));
    {
        let mut st = state.lock().expect("state");
        st.in_flight -= 1;
        if let Some(n) = st.tenant_in_flight.get_mut(&tenant) {
            *n -= 1;
        }
    }
    let dir = common::root()
        .join("fixtures/collect/server")
        .join(api)
        .join(&tenant);
    let mut rel = path.trim_start_matches('/').to_owned();
    if older_service {
        // An older service: no `/beta` Autopilot profiles (only `/v1.0`), no `transitiveMembers` (only `members`).
        if rel.starts_with("beta/") || rel.ends_with("/transitiveMembers") {
            rel = "not-offered".into();
        } else if rel == "v1.0/deviceManagement/windowsAutopilotDeploymentProfiles" {
            rel = "beta/deviceManagement/windowsAutopilotDeploymentProfiles".into();
        } else if rel.starts_with("v1.0/groups/") && rel.ends_with("/members") {
            rel = rel.replace("/members", "/transitiveMembers");
        }
    }
    let file = if page == 1 {
        dir.join(format!("{rel}.json"))
    } else {
        dir.join(format!("{rel}.page{page}.json"))
    };
    match std::fs::read_to_string(&file) {
        Ok(text) => respond(conn, 200, &[], text.replace("{base}", base).as_bytes()),
        Err(_) => respond(
            conn,
            404,
            &[],
            br#"{"error":{"code":"ResourceNotFound","message":"not found"}}"#,
        ),
    }
}

/// Each finding's identity: id, rule, partner, customer, resource, principals.
fn findings(dir: &Path, as_of: &str) -> BTreeSet<String> {
    let out = tempfile::tempdir().expect("tempdir");
    let (code, _, err) = common::run(&[
        "audit",
        &dir.display().to_string(),
        "--out",
        &out.path().display().to_string(),
        "--as-of",
        as_of,
        "--fail-on",
        "never",
    ]);
    assert_eq!(code, 0, "audit of {} failed:\n{err}", dir.display());
    let doc: Value = serde_json::from_str(
        &std::fs::read_to_string(out.path().join("findings.json")).expect("findings.json"),
    )
    .expect("json");
    common::joined_findings(&doc)
        .iter()
        .map(|f| {
            serde_json::json!({
                "id": f["id"], "rule": f["rule"], "partner": f["partner_tenant_id"],
                "customer": f["customer_tenant_id"], "resource": f["resource"],
                "principals": f["principals"], "role": f["role"],
            })
            .to_string()
        })
        .collect()
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("read_dir").flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

fn manifest(dir: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("manifest.json")).expect("manifest"))
        .expect("json")
}

/// Validates the two-command flow: `collect` against the fake (paging,
/// throttling, a 503, a malformed page, a token expiring mid-run, a
/// refusing customer), then `audit` on its folder with no other flag,
/// gives the findings of the canonical snapshot of the same tenants; the
/// refusing customer is listed as incomplete; no secret or token is written.
#[test]
fn collect_then_audit_matches_the_canonical_snapshot() {
    let fake = Fake::start();
    // users page 2: throttled once; B's role assignments: 503 once; A's directory roles: malformed once.
    fake.fault(PARTNER, "/v1.0/users", 2, &[Fault::Status(429, Some("1"))]);
    fake.fault(
        CUSTOMER_B,
        "/subscriptions/5b000000-0000-4000-8000-0000000000b1/providers/Microsoft.Authorization/roleAssignments",
        1,
        &[Fault::Status(503, None)],
    );
    fake.fault(CUSTOMER_A, "/v1.0/directoryRoles", 1, &[Fault::Malformed]);
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = tmp.path().join("export");
    let (code, stdout, stderr) = fake.collect(&out, &[]);
    assert_eq!(
        code, 0,
        "collect failed:\nstdout: {stdout}\nstderr: {stderr}"
    );

    // The refusing customer is incomplete, with the reason; the others are complete.
    let m = manifest(&out);
    let incomplete = m["incomplete"].as_array().expect("incomplete");
    assert_eq!(incomplete.len(), 2, "{m}");
    assert_eq!(incomplete[0]["tenant_id"], REFUSING);
    let reason = incomplete[0]["reason"].as_str().expect("reason");
    assert!(
        reason.contains("403") && reason.contains("Authorization_RequestDenied"),
        "{reason}"
    );
    assert_eq!(incomplete[1]["tenant_id"], EXPIRED);
    let reason = incomplete[1]["reason"].as_str().expect("reason");
    assert!(
        reason.starts_with("no active gdap relationship (`expired`)")
            && reason.contains("AADSTS700016"),
        "{reason}"
    );
    for t in [REFUSING, EXPIRED] {
        assert!(
            stderr.contains(t),
            "the summary names the incomplete tenant:\n{stderr}"
        );
        assert!(!out.join(t).exists(), "nothing was collected from {t}");
    }
    assert!(stdout.contains("collected 3 of 5 tenants"), "{stdout}");

    // Every fault was met and got past: the 429 waited, the token was refreshed.
    let hits = fake.hits();
    assert!(
        hits.get("GET /v1.0/users").is_some_and(|n| *n >= 3),
        "page 1, the 429 and page 2 (and any 401 of an expired token): {hits:?}"
    );
    {
        let st = fake.state.lock().expect("state");
        assert!(st.unauthorized > 0, "the tokens expired mid-run");
        assert!(
            st.faults.values().all(VecDeque::is_empty),
            "every scripted fault was served"
        );
    }
    assert!(
        stdout.contains("2 throttling waits"),
        "the 429 and the 503: {stdout}"
    );

    // Files are the documented layout, and no secret or token is in any of them.
    for rel in [
        format!("{PARTNER}/users.page1.json"),
        format!("{PARTNER}/users.page2.json"),
        format!("{PARTNER}/gdap/delegatedAdminRelationships.page2.json"),
        format!("{PARTNER}/partner-center/customers.page2.json"),
        format!("{PARTNER}/autopilot/{CUSTOMER_A}.Batch_1.devices.json"),
        format!("{CUSTOMER_A}/arm/roleAssignments-5b000000-0000-4000-8000-0000000000a1.page2.json"),
        format!("{CUSTOMER_A}/directoryRoles/9a000000-0000-4000-8000-0000000000a9.members.json"),
        format!("{CUSTOMER_A}/lighthouse/registrationAssignments-5b000000-0000-4000-8000-0000000000a1.json"),
        format!("{CUSTOMER_A}/servicePrincipals/5a000000-6666-4000-8000-000000000006.appRoleAssignments.json"),
        format!("{CUSTOMER_A}/oauth2PermissionGrants.json"),
    ] {
        assert!(out.join(&rel).is_file(), "missing {rel}");
    }
    for f in files_under(&out) {
        let text = std::fs::read_to_string(&f).expect("text");
        assert!(!text.contains(SECRET), "{} holds the secret", f.display());
        assert!(
            !text.contains("fake-graph-"),
            "{} holds a token",
            f.display()
        );
        let name = f.file_name().expect("name").to_string_lossy().into_owned();
        assert!(
            !name.ends_with(".tmp"),
            "temporary file left: {}",
            f.display()
        );
    }
    assert!(!stdout.contains(SECRET) && !stderr.contains(SECRET));

    // The audit of the collected folder: the same findings as the canonical snapshot.
    let as_of = m["captured_at"].as_str().expect("captured_at").to_owned();
    let got = findings(&out, &as_of);
    let want = findings(
        &common::root().join("fixtures/collect/expected-snapshot"),
        &as_of,
    );
    let rules: BTreeSet<String> = want
        .iter()
        .map(|f| {
            serde_json::from_str::<Value>(f).expect("json")["rule"]
                .as_str()
                .unwrap_or("")
                .to_owned()
        })
        .collect();
    for r in [
        "DAP001", "DAP003", "GDAP001", "AZ005", "AP003", "LH003", "APP002",
    ] {
        assert!(
            rules.contains(r),
            "the canonical snapshot exercises {r}: {rules:?}"
        );
    }
    let missing: Vec<_> = want.difference(&got).collect();
    let extra: Vec<_> = got.difference(&want).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "findings differ\nmissing from collect: {missing:#?}\nonly in collect: {extra:#?}"
    );

    // `audit` reports the incomplete tenant as a warning.
    let (_, audit_out, audit_err) =
        common::run(&["audit", &out.display().to_string(), "--fail-on", "never"]);
    assert!(
        format!("{audit_out}{audit_err}").contains(REFUSING),
        "audit names the incomplete tenant:\n{audit_out}\n{audit_err}"
    );
}

/// Validates resumption: a run that fails one customer (its Graph answers
/// 500 every time) records it as incomplete; `--since-resume` then collects
/// it without one request for the tenants already complete. Also: `--out`
/// that is not empty is refused without `--since-resume`.
#[test]
fn an_interrupted_collection_resumes_without_refetching_finished_tenants() {
    let fake = Fake::start();
    fake.state.lock().expect("state").broken = Some(CUSTOMER_B.into());
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = tmp.path().join("export");
    let (code, stdout, stderr) = fake.collect(&out, &[]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let m = manifest(&out);
    let incomplete: BTreeSet<&str> = m["incomplete"]
        .as_array()
        .expect("incomplete")
        .iter()
        .filter_map(|i| i["tenant_id"].as_str())
        .collect();
    assert_eq!(
        incomplete,
        BTreeSet::from([CUSTOMER_B, REFUSING, EXPIRED]),
        "{m}"
    );
    assert!(out.join(".collect-state.json").is_file());

    // Without --since-resume the folder is refused (exit 2), and left as it is.
    let (code, _, stderr) = fake.collect(&out, &[]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("--since-resume"), "{stderr}");

    let before = fake.state.lock().expect("state").tenant_hits.clone();
    fake.state.lock().expect("state").broken = None;
    let (code, stdout, stderr) = fake.collect(&out, &["--since-resume"]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let after = fake.state.lock().expect("state").tenant_hits.clone();
    let requests_of = |hits: &BTreeMap<(String, String), u32>, t: &str| -> u32 {
        hits.iter()
            .filter(|((tenant, _), _)| tenant == t)
            .map(|(_, n)| *n)
            .sum()
    };
    for t in [PARTNER, CUSTOMER_A] {
        assert_eq!(
            requests_of(&before, t),
            requests_of(&after, t),
            "tenant {t} was complete and must not be fetched again"
        );
    }
    assert!(requests_of(&after, CUSTOMER_B) > requests_of(&before, CUSTOMER_B));
    assert!(
        stdout.contains("2 kept from the interrupted run"),
        "{stdout}"
    );
    let m = manifest(&out);
    let incomplete: Vec<&str> = m["incomplete"]
        .as_array()
        .expect("incomplete")
        .iter()
        .filter_map(|i| i["tenant_id"].as_str())
        .collect();
    assert_eq!(incomplete, [REFUSING, EXPIRED], "{m}");
    assert!(out.join(CUSTOMER_B).join("organization.json").is_file());

    // The resumed folder audits like a folder collected in one go.
    let as_of = m["captured_at"].as_str().expect("captured_at").to_owned();
    assert_eq!(
        findings(&out, &as_of),
        findings(
            &common::root().join("fixtures/collect/expected-snapshot"),
            &as_of
        )
    );
}

/// Validates certificate credentials (a signed client assertion instead of
/// a secret), `--customers` and the customer perspective (one tenant, no
/// Partner Center request).
#[test]
fn certificate_sign_in_customer_selection_and_customer_perspective() {
    let fake = Fake::start();
    let tmp = tempfile::tempdir().expect("tempdir");
    let cert = common::root().join("fixtures/collect/test-certificate.pem");
    let out = tmp.path().join("one-customer");
    let o = Command::new(env!("CARGO_BIN_EXE_partner-audit"))
        .args([
            "collect",
            "--out",
            &out.display().to_string(),
            "--partner-tenant",
            PARTNER,
            "--client-id",
            CLIENT_ID,
            "--customers",
            CUSTOMER_A,
            "--auth",
            "client-certificate",
            "--login-endpoint",
            &fake.base,
            "--graph-endpoint",
            &fake.base,
            "--arm-endpoint",
            &fake.base,
            "--partner-center-endpoint",
            &fake.base,
        ])
        .env("AZURE_CLIENT_CERTIFICATE_PATH", &cert)
        .env_remove("AZURE_CLIENT_SECRET")
        .env("PARTNER_AUDIT_BACKOFF_BASE_MS", "20")
        .output()
        .expect("run");
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{stderr}");
    assert!(out.join(CUSTOMER_A).join("organization.json").is_file());
    assert!(
        !out.join(CUSTOMER_B).exists(),
        "--customers limits the customers"
    );
    let forms = fake.state.lock().expect("state").token_forms.clone();
    assert!(
        !forms.is_empty()
            && forms
                .iter()
                .all(|f| f.contains("client_assertion=") && !f.contains("client_secret"))
    );
    for f in files_under(&out) {
        let text = std::fs::read_to_string(&f).expect("text");
        assert!(
            !text.contains("PRIVATE KEY") && !text.contains("client_assertion"),
            "{}",
            f.display()
        );
    }

    // Customer perspective: only the tenant itself, through the customer plan.
    let out = tmp.path().join("customer-view");
    let before = fake.hits();
    let (code, stdout, stderr) = {
        let o = Command::new(env!("CARGO_BIN_EXE_partner-audit"))
            .args([
                "collect",
                "--out",
                &out.display().to_string(),
                "--tenant",
                CUSTOMER_B,
                "--perspective",
                "customer",
                "--client-id",
                CLIENT_ID,
                "--login-endpoint",
                &fake.base,
                "--graph-endpoint",
                &fake.base,
                "--arm-endpoint",
                &fake.base,
                "--partner-center-endpoint",
                &fake.base,
            ])
            .env("AZURE_CLIENT_SECRET", SECRET)
            .output()
            .expect("run");
        (
            o.status.code(),
            String::from_utf8_lossy(&o.stdout).into_owned(),
            String::from_utf8_lossy(&o.stderr).into_owned(),
        )
    };
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    let m = manifest(&out);
    assert_eq!(m["perspective"], "customer");
    assert_eq!(m["tenants"][CUSTOMER_B]["kind"], "customer");
    let new_pc: Vec<_> = fake
        .hits()
        .into_iter()
        .filter(|(k, n)| k.starts_with("GET /v1/") && before.get(k) != Some(n))
        .collect();
    assert!(
        new_pc.is_empty(),
        "no Partner Center request in the customer perspective: {new_pc:?}"
    );
    assert!(stdout.contains("collected 1 of 1 tenants"), "{stdout}");
}

/// Validates the concurrency bounds: never more requests in flight than
/// `--max-requests` over the run, nor than `--per-tenant` for one tenant.
#[test]
fn requests_in_flight_stay_within_the_limits() {
    let fake = Fake::start();
    fake.state.lock().expect("state").delay_ms = 30;
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = tmp.path().join("export");
    let (code, stdout, stderr) = fake.collect(&out, &["--max-requests", "3", "--per-tenant", "2"]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let st = fake.state.lock().expect("state");
    assert!(
        st.max_in_flight <= 3,
        "{} requests in flight",
        st.max_in_flight
    );
    assert!(
        st.max_tenant_in_flight <= 2,
        "{} requests in flight for one tenant",
        st.max_tenant_in_flight
    );
    assert!(
        st.max_in_flight >= 2,
        "requests do run concurrently ({})",
        st.max_in_flight
    );
}

/// Validates that an API whose sign-in is refused (Partner Center not set
/// up for the app) makes the tenant incomplete with the reason, asks the
/// token endpoint once, and does not stop the Graph listings.
#[test]
fn a_refused_api_leaves_the_rest_of_the_tenant_collected() {
    let fake = Fake::start();
    fake.state.lock().expect("state").refused_scope =
        Some("https://api.partnercenter.microsoft.com/.default".into());
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = tmp.path().join("export");
    let (code, stdout, stderr) = fake.collect(&out, &["--customers", CUSTOMER_A]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let m = manifest(&out);
    let partner = m["incomplete"]
        .as_array()
        .expect("incomplete")
        .iter()
        .find(|i| i["tenant_id"] == PARTNER)
        .unwrap_or_else(|| panic!("the partner is incomplete: {m}"));
    let reason = partner["reason"].as_str().expect("reason");
    assert!(
        reason.contains("partner center") && reason.contains("AADSTS650052"),
        "{reason}"
    );
    assert!(stderr.contains("AADSTS650052"), "{stderr}");
    for rel in [
        "users.page2.json",
        "gdap/delegatedAdminRelationships.page2.json",
        "groups/aa000000-0000-4000-8000-0000000000a1/transitiveMembers.json",
    ] {
        assert!(out.join(PARTNER).join(rel).is_file(), "missing {rel}");
    }
    let pc_token_requests = fake
        .state
        .lock()
        .expect("state")
        .token_forms
        .iter()
        .filter(|f| f.contains("partnercenter"))
        .count();
    assert_eq!(pc_token_requests, 1, "a refused sign-in is not repeated");
    assert!(out.join(CUSTOMER_A).join("organization.json").is_file());
}

/// Validates the device code sign-in for a person: the code is shown on
/// stderr, the token endpoint is polled until the sign-in completes, and
/// every tenant's token then comes from the refresh token.
#[test]
fn device_code_sign_in_collects_with_refresh_tokens() {
    let fake = Fake::start();
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = tmp.path().join("export");
    let o = Command::new(env!("CARGO_BIN_EXE_partner-audit"))
        .args([
            "collect",
            "--out",
            &out.display().to_string(),
            "--partner-tenant",
            PARTNER,
            "--client-id",
            CLIENT_ID,
            "--customers",
            CUSTOMER_A,
            "--auth",
            "device-code",
            "--login-endpoint",
            &fake.base,
            "--graph-endpoint",
            &fake.base,
            "--arm-endpoint",
            &fake.base,
            "--partner-center-endpoint",
            &fake.base,
        ])
        .env_remove("AZURE_CLIENT_SECRET")
        .output()
        .expect("run");
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("FAKE-CODE"),
        "the user code is shown: {stderr}"
    );
    let st = fake.state.lock().expect("state");
    assert_eq!(st.device_polls, 2, "polled while the sign-in was pending");
    assert!(st
        .token_forms
        .iter()
        .any(|f| f.contains("grant_type=refresh_token")));
    drop(st);
    assert!(out.join(CUSTOMER_A).join("organization.json").is_file());
    for f in files_under(&out) {
        let text = std::fs::read_to_string(&f).expect("text");
        assert!(
            !text.contains("fake-refresh-"),
            "{} holds a refresh token",
            f.display()
        );
    }
}

/// Validates the Azure CLI sign-in: each tenant's token comes from
/// `az account get-access-token --scope … --tenant …` (a fake `az` on `PATH`).
#[cfg(unix)]
#[test]
fn azure_cli_tokens_are_asked_per_tenant_and_scope() {
    use std::os::unix::fs::PermissionsExt as _;
    let fake = Fake::start();
    let tmp = tempfile::tempdir().expect("tempdir");
    let bin = tmp.path().join("bin");
    std::fs::create_dir_all(&bin).expect("bin");
    let log = tmp.path().join("az.log");
    let script = format!(
        r#"#!/bin/sh
echo "$@" >> "{log}"
scope=""; tenant=""
while [ $# -gt 0 ]; do
  case "$1" in
    --scope) scope="$2"; shift ;;
    --tenant) tenant="$2"; shift ;;
  esac
  shift
done
case "$scope" in
  https://graph.microsoft.com/.default) api=graph ;;
  https://management.azure.com/.default) api=arm ;;
  https://api.partnercenter.microsoft.com/.default) api=pc ;;
  *) echo "ERROR: bad scope $scope" >&2; exit 1 ;;
esac
echo "{{\"accessToken\": \"cli.$tenant.$api\", \"expires_on\": 4102444800, \"tokenType\": \"Bearer\"}}"
"#,
        log = log.display()
    );
    let az = bin.join("az");
    std::fs::write(&az, script).expect("write az");
    std::fs::set_permissions(&az, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = tmp.path().join("export");
    let o = Command::new(env!("CARGO_BIN_EXE_partner-audit"))
        .args([
            "collect",
            "--out",
            &out.display().to_string(),
            "--partner-tenant",
            PARTNER,
            "--customers",
            CUSTOMER_A,
            "--auth",
            "azure-cli",
            "--login-endpoint",
            &fake.base,
            "--graph-endpoint",
            &fake.base,
            "--arm-endpoint",
            &fake.base,
            "--partner-center-endpoint",
            &fake.base,
        ])
        .env("PATH", path)
        .env_remove("AZURE_CLIENT_SECRET")
        .output()
        .expect("run");
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{stderr}");
    assert!(out
        .join(CUSTOMER_A)
        .join("arm/subscriptions.json")
        .is_file());
    let calls = std::fs::read_to_string(&log).expect("az was called");
    assert!(calls.contains(&format!("account get-access-token --scope https://management.azure.com/.default --tenant {CUSTOMER_A} -o json")), "{calls}");
    assert_eq!(
        calls.lines().count(),
        4,
        "one call per tenant and API (partner: graph, pc; customer: graph, arm): {calls}"
    );
}

/// Validates the fallbacks for a service that lacks a listing: Autopilot
/// profiles from `/v1.0` when `/beta` is not offered, and group `members`
/// when `transitiveMembers` is not; the audit is unchanged.
#[test]
fn listings_fall_back_when_the_service_does_not_offer_them() {
    let fake = Fake::start();
    fake.state.lock().expect("state").older_service = true;
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = tmp.path().join("export");
    let (code, stdout, stderr) = fake.collect(&out, &[]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(out
        .join(CUSTOMER_A)
        .join("autopilot/profiles.json")
        .is_file());
    assert!(out
        .join(PARTNER)
        .join("groups/aa000000-0000-4000-8000-0000000000a1.members.json")
        .is_file());
    let m = manifest(&out);
    assert_eq!(
        m["incomplete"].as_array().map(Vec::len),
        Some(2),
        "only the two refusing customers: {m}"
    );
    let as_of = m["captured_at"].as_str().expect("captured_at").to_owned();
    assert_eq!(
        findings(&out, &as_of),
        findings(
            &common::root().join("fixtures/collect/expected-snapshot"),
            &as_of
        )
    );
}

/// Validates an interruption (the process is killed mid-run, as Ctrl-C
/// would): the folder holds only complete files, its manifest lists every
/// tenant not collected yet, and `--since-resume` finishes the job.
#[test]
fn a_killed_collection_leaves_an_honest_folder_and_resumes() {
    let fake = Fake::start();
    fake.state.lock().expect("state").delay_ms = 150;
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = tmp.path().join("export");
    let mut child = Command::new(env!("CARGO_BIN_EXE_partner-audit"))
        .args([
            "collect",
            "--out",
            &out.display().to_string(),
            "--partner-tenant",
            PARTNER,
            "--client-id",
            CLIENT_ID,
            "--max-requests",
            "2",
            "--per-tenant",
            "1",
            "--login-endpoint",
            &fake.base,
            "--graph-endpoint",
            &fake.base,
            "--arm-endpoint",
            &fake.base,
            "--partner-center-endpoint",
            &fake.base,
        ])
        .env("AZURE_CLIENT_SECRET", SECRET)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn");
    // Wait until the partner is complete, then kill the run among the customers.
    let state_file = out.join(".collect-state.json");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let done = std::fs::read_to_string(&state_file)
            .ok()
            .and_then(|t| serde_json::from_str::<Value>(&t).ok())
            .is_some_and(|v| v["complete"].get(PARTNER).is_some());
        if done || std::time::Instant::now() > deadline {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    child.kill().expect("kill");
    let _ = child.wait();
    let m = manifest(&out);
    let pending: BTreeSet<&str> = m["incomplete"]
        .as_array()
        .expect("incomplete")
        .iter()
        .filter(|i| {
            i["reason"]
                .as_str()
                .is_some_and(|r| r.contains("interrupted"))
        })
        .filter_map(|i| i["tenant_id"].as_str())
        .collect();
    assert!(
        pending.contains(CUSTOMER_A) && pending.contains(CUSTOMER_B),
        "{m}"
    );
    assert!(!pending.contains(PARTNER), "{m}");
    // The audit of the interrupted folder runs and names what is missing.
    let (_, o, e) = common::run(&["audit", &out.display().to_string(), "--fail-on", "never"]);
    assert!(format!("{o}{e}").contains(CUSTOMER_A), "{o}\n{e}");

    fake.state.lock().expect("state").delay_ms = 0;
    let (code, stdout, stderr) = fake.collect(&out, &["--since-resume"]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let m = manifest(&out);
    let left: Vec<&str> = m["incomplete"]
        .as_array()
        .expect("incomplete")
        .iter()
        .filter_map(|i| i["tenant_id"].as_str())
        .collect();
    assert_eq!(left, [REFUSING, EXPIRED], "{m}");
    let as_of = m["captured_at"].as_str().expect("captured_at").to_owned();
    assert_eq!(
        findings(&out, &as_of),
        findings(
            &common::root().join("fixtures/collect/expected-snapshot"),
            &as_of
        )
    );
}

/// Validates the errors a new user meets first: a wrong secret stops the
/// run with exit status 2 and the sign-in's message (never the secret), and
/// leaves the folder empty so the corrected command just runs; a missing
/// tenant is a usage error.
#[test]
fn a_wrong_secret_is_a_clear_error_and_leaves_no_trace() {
    let fake = Fake::start();
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = tmp.path().join("export");
    let wrong = "not-the-secret-7h3x";
    let o = Command::new(env!("CARGO_BIN_EXE_partner-audit"))
        .args([
            "collect",
            "--out",
            &out.display().to_string(),
            "--partner-tenant",
            PARTNER,
            "--client-id",
            CLIENT_ID,
            "--customers",
            CUSTOMER_A,
            "--login-endpoint",
            &fake.base,
            "--graph-endpoint",
            &fake.base,
            "--arm-endpoint",
            &fake.base,
            "--partner-center-endpoint",
            &fake.base,
        ])
        .env("AZURE_CLIENT_SECRET", wrong)
        .output()
        .expect("run");
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("AADSTS7000215") && stderr.contains(PARTNER),
        "{stderr}"
    );
    assert!(!stderr.contains(wrong) && !String::from_utf8_lossy(&o.stdout).contains(wrong));
    assert!(files_under(&out).is_empty(), "{:?}", files_under(&out));
    let (code, stdout, stderr) = fake.collect(&out, &["--customers", CUSTOMER_A]);
    assert_eq!(
        code, 0,
        "the corrected command runs in the same folder: {stdout}\n{stderr}"
    );

    let o = Command::new(env!("CARGO_BIN_EXE_partner-audit"))
        .args([
            "collect",
            "--out",
            &tmp.path().join("unused").display().to_string(),
            "--client-id",
            CLIENT_ID,
        ])
        .env_remove("AZURE_TENANT_ID")
        .output()
        .expect("run");
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("--partner-tenant"), "{stderr}");
}
