//! Shared helpers for the integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use partner_audit::app::{self, Audit};
use partner_audit::engine::rule::{self, Rule};
use partner_audit::report::{self, Report};

/// The crate root (tests run there, but be explicit).
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The built-in catalog.
pub fn catalog() -> Vec<Rule> {
    rule::load_catalog(None, true).expect("built-in catalog is valid")
}

/// Audits `path` (relative to the crate root) with `rules`.
pub fn audit_with(path: &str, rules: &[Rule]) -> Audit {
    let mut t = Vec::new();
    app::run_audit(Path::new(path), rules, &app::Settings::default(), &mut t)
        .unwrap_or_else(|e| panic!("audit of {path} failed:\n{e}"))
}

/// Audits `path` with the built-in catalog.
pub fn audit(path: &str) -> Audit {
    audit_with(path, &catalog())
}

/// What the reporters of an audit are given.
pub fn report_of(a: &Audit) -> Report<'_> {
    Report {
        snapshot: &a.snapshot,
        graph: &a.graph,
        as_of: a.as_of,
        as_of_origin: a.as_of_origin,
        findings: &a.findings,
        diagnostics: &a.diagnostics,
        shard: None,
    }
}

/// findings.json of an audit in format_version 1, as text: every finding
/// self-contained (title, remediation, principals and paths inline), the
/// view the rule and import snapshots are reviewed in.
pub fn findings_json(a: &Audit) -> String {
    let r = report_of(a);
    let mut buf = Vec::new();
    report::json::write_v1(&r, &mut buf).expect("write findings.json");
    String::from_utf8(buf).expect("utf-8")
}

/// findings.json of an audit in the default layout (format_version 2), as
/// text; `rules` is the catalog the audit ran with.
pub fn findings_json_v2(a: &Audit, rules: &[Rule]) -> String {
    let r = report_of(a);
    let mut buf = Vec::new();
    report::json::write(&r, rules, &mut buf).expect("write findings.json");
    String::from_utf8(buf).expect("utf-8")
}

/// Runs the binary from the crate root.
pub fn bin(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_partner-audit"))
        .args(args)
        .current_dir(root())
        .env("NO_COLOR", "1")
        .output()
        .expect("run partner-audit")
}

/// Exit code, stdout and stderr of a binary run.
pub fn run(args: &[&str]) -> (i32, String, String) {
    outcome(&bin(args))
}

/// Exit code, stdout and stderr of a binary run from `cwd` (a folder
/// outside the repository, as a user's).
pub fn run_in(cwd: &Path, args: &[&str]) -> (i32, String, String) {
    outcome(
        &Command::new(env!("CARGO_BIN_EXE_partner-audit"))
            .args(args)
            .current_dir(cwd)
            .env("NO_COLOR", "1")
            .output()
            .expect("run partner-audit"),
    )
}

fn outcome(o: &Output) -> (i32, String, String) {
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

pub mod snap;

/// A report as bytes: a file's content, or for a folder (the HTML review's
/// `html/`) every file under it in path order, each after a `==> path <==`
/// line, so that two folders compare as two files do.
pub fn read_report(path: &Path) -> Vec<u8> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<(String, PathBuf)>) {
        for e in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let p = e.expect("entry").path();
            if p.is_dir() {
                walk(root, &p, out);
            } else {
                let rel = p.strip_prefix(root).unwrap_or(&p).display().to_string();
                out.push((rel, p));
            }
        }
    }
    if !path.is_dir() {
        return std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    }
    let mut files = Vec::new();
    walk(path, path, &mut files);
    files.sort();
    let mut out = Vec::new();
    for (rel, p) in files {
        out.extend_from_slice(format!("==> {rel} <==\n").as_bytes());
        out.extend(std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display())));
    }
    out
}

/// The findings of a findings.json document as format_version 1 shows them:
/// a format_version 2 document's references joined back into each finding
/// (title and remediation from `rules`, or the remediation from
/// `remediations`, evidence lines from `evidence`, principal ids from
/// `principal_sets`, path texts from `chains`, `chain_sets`, `principals`
/// and `tenants`; docs/findings-v2.md describes the texts), without the
/// names v2 adds; a format_version 1 document's findings as they are.
/// Paths come in v2's order (grouped by grant).
pub fn joined_findings(doc: &serde_json::Value) -> Vec<serde_json::Value> {
    use serde_json::{json, Value};
    let findings = doc["findings"].as_array().expect("findings array");
    if doc["format_version"] == 1 {
        return findings.clone();
    }
    assert_eq!(doc["format_version"], 2, "unknown format_version");
    let get = |table: &str, key: &Value| -> Value {
        let key = key
            .as_str()
            .unwrap_or_else(|| panic!("`{table}` key {key} is not a string"));
        doc[table]
            .get(key)
            .unwrap_or_else(|| panic!("`{table}` has no `{key}`"))
            .clone()
    };
    let tenant = |id: &Value| -> String {
        let id = id.as_str().expect("tenant id");
        match doc["tenants"][id]["name"].as_str() {
            Some(name) => name.to_owned(),
            None => format!("tenant {id}"),
        }
    };
    let hop = |h: &Value, last: bool| -> String {
        if let Some(k) = h.as_u64() {
            return format!("… {k} more group{} …", if k == 1 { "" } else { "s" });
        }
        let key = h.as_str().expect("hop");
        let p = get("principals", h);
        match p["type"].as_str().expect("type") {
            "unresolved" => match p["tenant_id"].is_null() {
                true => format!("unresolved principal {key}"),
                false => format!(
                    "unresolved principal {key} (home {})",
                    tenant(&p["tenant_id"])
                ),
            },
            "placeholder" => format!(
                "{} of {} (members unknown)",
                p["name"].as_str().expect("name"),
                tenant(&p["tenant_id"])
            ),
            _ if last => format!(
                "{} ({})",
                p["name"].as_str().expect("name"),
                tenant(&p["tenant_id"])
            ),
            _ => p["name"].as_str().expect("name").to_owned(),
        }
    };
    findings
        .iter()
        .map(|f| {
            let rule = get("rules", &f["rule"]);
            let mut paths = Vec::new();
            for group in f["paths"].as_array().expect("paths") {
                let tenant_id = match &group["tenant_id"] {
                    Value::Null => &f["customer_tenant_id"],
                    t => t,
                };
                let mut tail = format!(" ⇒ {}", group["role"].as_str().expect("role"));
                match group["scope"].as_str() {
                    Some("/") => tail += &format!(" in {}", tenant(tenant_id)),
                    Some(scope) => tail += &format!(" on {scope}"),
                    None => {}
                }
                tail += &match group["via"].as_str().expect("via") {
                    "assigned" => " (assigned)".to_owned(),
                    "dap" => " (DAP)".to_owned(),
                    "autopilot" => " (Autopilot, partner relationship)".to_owned(),
                    "app_role" => " (application permission)".to_owned(),
                    "delegated_permission" => " (delegated permission)".to_owned(),
                    lighthouse if lighthouse.starts_with("lighthouse_") => {
                        let kind = lighthouse.trim_start_matches("lighthouse_");
                        match group["offer"].as_str() {
                            Some(offer) => format!(" (Lighthouse {kind}, {offer})"),
                            None => format!(" (Lighthouse {kind})"),
                        }
                    }
                    "gdap" => format!(
                        " (GDAP {})",
                        group["relationship_id"].as_str().unwrap_or("?")
                    ),
                    other => panic!("unknown via `{other}`"),
                };
                for chain in get("chain_sets", &group["chains"])
                    .as_array()
                    .expect("chain set")
                {
                    let hops = get("chains", chain);
                    let hops = hops.as_array().expect("chain");
                    let text: Vec<String> = hops
                        .iter()
                        .enumerate()
                        .map(|(i, h)| hop(h, i + 1 == hops.len()))
                        .collect();
                    paths.push(Value::String(text.join(" → ") + &tail));
                }
            }
            let mut out = json!({
                "id": f["id"],
                "rule": f["rule"],
                "severity": f["severity"],
                "title": f.get("title").unwrap_or(&rule["title"]),
                "message": f["message"],
                "partner_tenant_id": f["partner_tenant_id"],
                "customer_tenant_id": f["customer_tenant_id"],
                "resource": f["resource"],
                "role": f["role"],
                "principals": get("principal_sets", &f["principals"]),
                "principals_known": f["principals_known"],
                "paths": paths,
                "evidence": f["evidence"]
                    .as_array()
                    .expect("evidence keys")
                    .iter()
                    .map(|k| get("evidence", k))
                    .collect::<Vec<_>>(),
                "remediation": match f.get("remediation") {
                    Some(k) => get("remediations", k),
                    None => rule["remediation"].clone(),
                },
            });
            for optional in ["status", "assignment", "reopened_by"] {
                if let Some(v) = f.get(optional) {
                    out[optional] = v.clone();
                }
            }
            out
        })
        .collect()
}

/// findings.json of an `--out` folder, parsed.
pub fn read_findings_json(out: &Path) -> serde_json::Value {
    let path = out.join("findings.json");
    let text =
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The partner tenant of [`nested_groups_snapshot`].
pub const NESTED_PARTNER: &str = "11111111-0000-0000-0000-000000000001";
/// Its one customer.
pub const NESTED_CUSTOMER: &str = "22222222-0000-0000-0000-000000000002";

/// The object id of group `n` of [`nested_groups_snapshot`].
pub fn nested_group_id(n: u32) -> String {
    format!("aaaaaaaa-0000-0000-0000-{n:012}")
}

/// A snapshot where the partner's AdminAgents (group 0, DAP with one
/// customer) contains group 1, which contains group 2, … down to group
/// `depth`, which contains the user `Deep Dana` (id 999999999999).
pub fn nested_groups_snapshot(depth: u32) -> tempfile::TempDir {
    use std::fmt::Write as _;
    let dir = tempfile::tempdir().expect("tempdir");
    let w = |name: &str, text: &str| std::fs::write(dir.path().join(name), text).expect("write");
    w(
        "manifest.json",
        r#"{"format_version": 1, "captured_at": "2026-11-01T00:00:00Z"}"#,
    );
    w(
        "tenants.csv",
        &format!("tenant_id,name,kind\n{NESTED_PARTNER},Partner,partner\n{NESTED_CUSTOMER},Customer,customer\n"),
    );
    w(
        "relationships.csv",
        &format!(
            "partner_tenant_id,customer_tenant_id,kind,state\n{NESTED_PARTNER},{NESTED_CUSTOMER},dap,active\n"
        ),
    );
    let user = 999_999_999_999_u64;
    let mut principals = String::from("tenant_id,principal_id,kind,display_name,agent_group\n");
    let mut memberships = String::from("tenant_id,group_id,member_id\n");
    for g in 0..=depth {
        let agent = if g == 0 { "admin_agents" } else { "" };
        let _ = writeln!(
            principals,
            "{NESTED_PARTNER},{},group,Group {g},{agent}",
            nested_group_id(g)
        );
        if g > 0 {
            let _ = writeln!(
                memberships,
                "{NESTED_PARTNER},{},{}",
                nested_group_id(g - 1),
                nested_group_id(g)
            );
        }
    }
    let _ = writeln!(
        principals,
        "{NESTED_PARTNER},aaaaaaaa-0000-0000-0000-{user:012},user,Deep Dana,"
    );
    let _ = writeln!(
        memberships,
        "{NESTED_PARTNER},{},aaaaaaaa-0000-0000-0000-{user:012}",
        nested_group_id(depth)
    );
    w("principals.csv", &principals);
    w("memberships.csv", &memberships);
    dir
}
