//! Differential test: the built binary against an independent reading of
//! SPEC §5 (DAP001, DAP002, AZ001, AZ003, AZ004) on random, messy but valid
//! snapshots.
//!
//! `oracle/generate.rs` writes the snapshots without the crate's own
//! generator; `oracle/expect.rs` reads them back with the `csv` crate and
//! computes the expected findings without any code from `src/`. Each seed's
//! findings.json is compared with the expectation finding by finding.
//!
//! `ORACLE_SEEDS=N` runs N seeds (default 50) from `ORACLE_SEED_START`
//! (default 0); `ORACLE_SEED=S` runs one. A failing seed's snapshot is kept
//! in `target/tmp/oracle/seed-S` and named in the failure message.

#[path = "oracle/expect.rs"]
mod expect;
#[path = "oracle/generate.rs"]
mod generate;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;

use expect::{Key, Value};

const SELECT: &str = "DAP001,DAP002,AZ001,AZ003,AZ004";

fn env(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|s| s.parse().ok())
}

fn seeds() -> Vec<u64> {
    if let Some(s) = env("ORACLE_SEED") {
        return vec![s];
    }
    let start = env("ORACLE_SEED_START").unwrap_or(0);
    (start..start + env("ORACLE_SEEDS").unwrap_or(50)).collect()
}

/// Runs `audit` on `dir` and returns findings.json.
fn audit(dir: &Path) -> serde_json::Value {
    let out = dir.join("out");
    let o = Command::new(env!("CARGO_BIN_EXE_partner-audit"))
        .arg("audit")
        .arg(dir)
        .arg("--out")
        .arg(&out)
        .args(["--select", SELECT, "--fail-on", "never"])
        .env("NO_COLOR", "1")
        .output()
        .expect("run partner-audit");
    assert!(
        o.status.code() == Some(0),
        "audit of {} exited with {:?}\nstderr:\n{}",
        dir.display(),
        o.status.code(),
        String::from_utf8_lossy(&o.stderr)
    );
    let text = std::fs::read_to_string(out.join("findings.json")).expect("findings.json");
    serde_json::from_str(&text).expect("findings.json is JSON")
}

fn s(v: &serde_json::Value, path: &[&str]) -> String {
    let mut cur = v;
    for p in path {
        cur = &cur[*p];
    }
    cur.as_str().unwrap_or("").to_string()
}

/// Stands for the principal of an AZ finding that names no assignment.
const NO_ASSIGNMENT: &str = "<no assignment>";

/// The engine's findings in the oracle's key space; a key seen twice is an
/// error of its own.
fn actual(json: &serde_json::Value, problems: &mut Vec<String>) -> Vec<(Key, Value)> {
    let mut out = Vec::new();
    let findings = json["findings"].as_array().expect("findings array");
    for f in findings {
        let rule = s(f, &["rule"]);
        let az = rule.starts_with("AZ");
        let has_assignment = f["assignment"].is_object();
        if az && !has_assignment {
            // SPEC §6: a finding about one role assignment names it (the
            // thing to remove).
            problems.push(format!(
                "  {rule} finding {} has no `assignment` (resource {}, role {}): {}",
                s(f, &["id"]),
                s(f, &["resource", "scope"]),
                s(f, &["role"]),
                s(f, &["message"])
            ));
        }
        let key = Key {
            rule: rule.clone(),
            partner: s(f, &["partner_tenant_id"]),
            customer: s(f, &["customer_tenant_id"]),
            principal: match (az, has_assignment) {
                (false, _) => String::new(),
                (true, true) => s(f, &["assignment", "principal_id"]),
                (true, false) => NO_ASSIGNMENT.to_string(),
            },
            scope: match (az, has_assignment) {
                (false, _) => String::new(),
                (true, true) => s(f, &["assignment", "scope"]),
                (true, false) => s(f, &["resource", "scope"]),
            },
            role: match (az, has_assignment) {
                (false, _) => String::new(),
                (true, true) => expect::engine_role(&s(f, &["assignment", "role"])),
                (true, false) => expect::engine_role(&s(f, &["role"])),
            },
        };
        let principals = f["principals"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|x| x.as_str().unwrap_or("<not a string>").to_string())
                    .collect()
            })
            .unwrap_or_default();
        let value = Value {
            principals,
            principals_known: f["principals_known"].as_bool(),
        };
        out.push((key, value));
    }
    out
}

/// Keys the engine's findings: an AZ finding without `assignment` (already
/// reported) takes the key of the one expected finding it matches on
/// everything else, so that it is not reported twice more.
fn keyed(
    expected: &BTreeMap<Key, Value>,
    found: Vec<(Key, Value)>,
    problems: &mut Vec<String>,
) -> BTreeMap<Key, Value> {
    let named: std::collections::BTreeSet<Key> = found
        .iter()
        .filter(|(k, _)| k.principal != NO_ASSIGNMENT)
        .map(|(k, _)| k.clone())
        .collect();
    let mut out = BTreeMap::new();
    for (mut k, v) in found {
        if k.principal == NO_ASSIGNMENT {
            let candidate = expected.iter().find(|(e, ev)| {
                e.rule == k.rule
                    && e.partner == k.partner
                    && e.customer == k.customer
                    && e.scope == k.scope
                    && e.role == k.role
                    && **ev == v
                    && !named.contains(*e)
                    && !out.contains_key(*e)
            });
            if let Some((e, _)) = candidate {
                k = e.clone();
            }
        }
        if out.contains_key(&k) {
            problems.push(format!("  duplicate finding for {}", describe(&k)));
        }
        out.insert(k, v);
    }
    out
}

/// Rows read and rejected per table: the snapshot must load whole, its
/// unknown columns ignored and counted (SPEC §3).
fn check_input(
    json: &serde_json::Value,
    t: &expect::Tables,
    unknown: &BTreeMap<&str, Vec<String>>,
    problems: &mut Vec<String>,
) {
    for (name, rows) in &t.tables {
        let entry = &json["input"]["tables"][*name];
        let read = entry["rows_read"].as_u64().unwrap_or(0);
        let rejected = entry["rows_rejected"].as_u64().unwrap_or(0);
        if read != rows.len() as u64 || rejected != 0 {
            problems.push(format!(
                "  {name}: wrote {} rows, engine read {read}, rejected {rejected}",
                rows.len()
            ));
        }
        let want: BTreeMap<String, u64> = unknown
            .get(name)
            .into_iter()
            .flatten()
            .map(|c| (c.to_lowercase(), rows.len() as u64))
            .collect();
        let got: BTreeMap<String, u64> = entry["unknown_columns"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(c, n)| (c.to_lowercase(), n.as_u64().unwrap_or(0)))
            .collect();
        if want != got {
            problems.push(format!(
                "  {name}: unknown columns written {want:?}, counted {got:?}"
            ));
        }
    }
}

fn describe(k: &Key) -> String {
    if k.rule.starts_with("AZ") {
        format!(
            "{} partner={} customer={} principal={} scope={} role={}",
            k.rule, k.partner, k.customer, k.principal, k.scope, k.role
        )
    } else {
        format!("{} partner={} customer={}", k.rule, k.partner, k.customer)
    }
}

fn diff(
    t: &expect::Tables,
    expected: &BTreeMap<Key, Value>,
    actual: &BTreeMap<Key, Value>,
    problems: &mut Vec<String>,
) {
    for (k, e) in expected {
        match actual.get(k) {
            None => {
                problems.push(format!("  missing    {} {e:?}", describe(k)));
                problems.extend(expect::context(t, k));
            }
            Some(a) if a != e => {
                problems.push(format!(
                    "  differing  {}\n    expected {e:?}\n    engine   {a:?}",
                    describe(k)
                ));
                problems.extend(expect::context(t, k));
            }
            Some(_) => {}
        }
    }
    for (k, a) in actual {
        if !expected.contains_key(k) {
            problems.push(format!("  unexpected {} {a:?}", describe(k)));
            problems.extend(expect::context(t, k));
        }
    }
}

/// Audits `dir` and lists every way the engine's findings differ from
/// `expected`.
fn compare(
    dir: &Path,
    tables: &expect::Tables,
    unknown: &BTreeMap<&str, Vec<String>>,
    expected: &BTreeMap<Key, Value>,
) -> (BTreeMap<Key, Value>, Vec<String>) {
    let json = audit(dir);
    let mut problems = Vec::new();
    check_input(&json, tables, unknown, &mut problems);
    let found = actual(&json, &mut problems);
    let got = keyed(expected, found, &mut problems);
    diff(tables, expected, &got, &mut problems);
    (got, problems)
}

/// How much of the interesting ground the seeds covered.
#[derive(Default, Debug)]
struct Coverage {
    dap: usize,
    dap_placeholder: usize,
    dap_with_principals: usize,
    az001: usize,
    az001_no_user: usize,
    az003: usize,
    az004: usize,
    customer_perspective: usize,
}

/// Validates DAP001, DAP002, AZ001, AZ003 and AZ004 against the oracle on
/// every seed.
#[test]
fn engine_findings_match_an_independent_oracle() {
    let root = Path::new(env!("CARGO_TARGET_TMPDIR")).join("oracle");
    let mut failures = String::new();
    let mut cov = Coverage::default();
    for seed in seeds() {
        let dir = root.join(format!("seed-{seed}"));
        if dir.exists() {
            std::fs::remove_dir_all(&dir).expect("remove an old snapshot");
        }
        std::fs::create_dir_all(&dir).expect("snapshot directory");
        let snapshot = generate::generate(seed);
        let unknown = generate::write(&snapshot, seed, &dir);
        let tables = expect::read(&dir);
        let expected = expect::findings(&tables);

        if snapshot.perspective == "customer" {
            cov.customer_perspective += 1;
        }
        for (k, v) in &expected {
            if k.rule.starts_with("DAP") {
                cov.dap += 1;
                if v.principals_known == Some(false) {
                    cov.dap_placeholder += 1;
                }
                if !v.principals.is_empty() {
                    cov.dap_with_principals += 1;
                }
            } else if k.rule == "AZ001" {
                cov.az001 += 1;
                if v.principals.is_empty() {
                    cov.az001_no_user += 1;
                }
            } else if k.rule == "AZ003" {
                cov.az003 += 1;
            } else {
                cov.az004 += 1;
            }
        }

        let (got, problems) = compare(&dir, &tables, &unknown, &expected);
        if problems.is_empty() {
            std::fs::remove_dir_all(&dir).expect("remove a passing snapshot");
            continue;
        }
        let _ = writeln!(
            failures,
            "seed {seed} ({} perspective; snapshot kept in {}; rerun with ORACLE_SEED={seed}): {} expected, {} from the engine",
            snapshot.perspective,
            dir.display(),
            expected.len(),
            got.len()
        );
        for p in problems {
            let _ = writeln!(failures, "{p}");
        }
    }
    assert!(
        failures.is_empty(),
        "the engine disagrees with the oracle:\n{failures}"
    );
    if seeds().len() >= 20 {
        // The seeds must reach the cases the test exists for.
        assert!(cov.dap >= 20, "too few DAP findings: {cov:?}");
        assert!(cov.dap_placeholder >= 3, "too few placeholders: {cov:?}");
        assert!(cov.dap_with_principals >= 10, "{cov:?}");
        assert!(cov.az001 >= 20, "too few AZ001 findings: {cov:?}");
        assert!(cov.az001_no_user >= 3, "{cov:?}");
        assert!(cov.az003 >= 20, "too few AZ003 findings: {cov:?}");
        assert!(cov.az004 >= 10, "too few AZ004 findings: {cov:?}");
        assert!(cov.customer_perspective >= 3, "{cov:?}");
    }
}

// Hand-written snapshots: the oracle checked against findings worked out by
// hand, and the smallest reproductions of disagreements the seeds found.

const P: &str = "0a000000-0000-4000-8000-00000000000a";
const P2: &str = "0b000000-0000-4000-8000-00000000000b";
const C1: &str = "0c000000-0000-4000-8000-0000000000c1";
const C2: &str = "0c000000-0000-4000-8000-0000000000c2";
const C3: &str = "0c000000-0000-4000-8000-0000000000c3";
const AA: &str = "aa000000-0000-4000-8000-0000000000aa";
const U1: &str = "01000000-0000-4000-8000-000000000001";
const U3: &str = "03000000-0000-4000-8000-000000000003";
const S1: &str = "51000000-0000-4000-8000-000000000051";
const S2: &str = "52000000-0000-4000-8000-000000000052";
const S3: &str = "53000000-0000-4000-8000-000000000053";
const UNKNOWN_TENANT: &str = "0f000000-0000-4000-8000-00000000000f";
const UNKNOWN_PRINCIPAL: &str = "99000000-0000-4000-8000-000000000099";

/// Writes `files` (name, content) as a snapshot directory under target/tmp.
fn hand_written(name: &str, files: &[(&str, &str)]) -> std::path::PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("oracle")
        .join(name);
    if dir.exists() {
        std::fs::remove_dir_all(&dir).expect("remove an old snapshot");
    }
    std::fs::create_dir_all(&dir).expect("snapshot directory");
    std::fs::write(
        dir.join("manifest.json"),
        format!(
            "{{\"format_version\": 1, \"captured_at\": \"{}\", \"perspective\": \"partner\"}}",
            generate::CAPTURED_AT
        ),
    )
    .expect("manifest");
    for (file, content) in files {
        std::fs::write(dir.join(file), content).expect("table");
    }
    dir
}

fn dap(
    rule: &str,
    partner: &str,
    customer: &str,
    principals: &[&str],
    known: bool,
) -> (Key, Value) {
    (
        Key {
            rule: rule.into(),
            partner: partner.into(),
            customer: customer.into(),
            principal: String::new(),
            scope: String::new(),
            role: String::new(),
        },
        Value {
            principals: principals.iter().map(|p| p.to_string()).collect(),
            principals_known: Some(known),
        },
    )
}

#[expect(
    clippy::too_many_arguments,
    reason = "one argument per field of the finding it writes"
)]
fn az(
    rule: &str,
    partner: &str,
    customer: &str,
    principal: &str,
    scope: &str,
    role: &str,
    principals: &[&str],
    known: bool,
) -> (Key, Value) {
    (
        Key {
            rule: rule.into(),
            partner: partner.into(),
            customer: customer.into(),
            principal: principal.into(),
            scope: scope.into(),
            role: role.into(),
        },
        Value {
            principals: principals.iter().map(|p| p.to_string()).collect(),
            principals_known: Some(known),
        },
    )
}

/// Checks a hand-written snapshot: the oracle must give `want`, and so must
/// the engine.
fn check_hand_written(dir: &Path, unknown: &[(&str, &str)], want: Vec<(Key, Value)>) {
    let tables = expect::read(dir);
    let expected = expect::findings(&tables);
    let want: BTreeMap<Key, Value> = want.into_iter().collect();
    assert_eq!(
        expected, want,
        "the oracle disagrees with the hand-worked findings"
    );
    let unknown: BTreeMap<&str, Vec<String>> = unknown
        .iter()
        .map(|(t, c)| (*t, vec![(*c).to_string()]))
        .collect();
    let (_, problems) = compare(dir, &tables, &unknown, &expected);
    assert!(
        problems.is_empty(),
        "the engine disagrees with the oracle on {}:\n{}",
        dir.display(),
        problems.join("\n")
    );
}

/// Validates the oracle itself on a messy snapshot whose findings were
/// worked out by hand (BOM, CRLF, upper-case GUIDs, shuffled and unknown
/// columns, a membership cycle, disabled and unknown-enabled users, a
/// service principal, a placeholder, every role spelling), and the engine
/// against it.
#[test]
fn oracle_matches_hand_worked_findings() {
    let up = |s: &str| s.to_uppercase();
    let tenants = format!(
        "\u{feff}tenant_id,name,kind,domain\r\n\
         {P},\"Northwind, \"\"IT\"\"\",partner,\r\n\
         {P2},<script>alert(1)</script>,partner,\r\n\
         {},Contoso,customer,\r\n\
         {C2},\"=cmd|' /C calc'!A0\",customer,\r\n\
         {C3},Ünïcödé 日本語,customer,\r\n",
        up(C1)
    );
    let principals = format!(
        "display_name,kind,principal_id,tenant_id,enabled,agent_group,notes\n\
         AdminAgents,group,{},{},,,\"line\nbreak\"\n\
         \"Tier1, \"\"support\"\"\",group,bb000000-0000-4000-8000-0000000000bb,{P},,helpdesk_agents,\n\
         \"=cmd|' /C calc'!A0\",group,91000000-0000-4000-8000-000000000091,{P},,,\n\
         Ann,user,{U1},{P},TRUE,,\n\
         Ben,user,02000000-0000-4000-8000-000000000002,{P},no,,\n\
         Cy,user,{},{P},,,\n\
         Robot,service_principal,05000000-0000-4000-8000-000000000005,{P},true,,\n",
        up(AA),
        up(P),
        up(U3)
    );
    let g1 = "91000000-0000-4000-8000-000000000091";
    let memberships = format!(
        "tenant_id,group_id,member_id\n\
         {P},{AA},{g1}\n\
         {P},{g1},{AA}\n\
         {P},{g1},{U1}\n\
         {P},{AA},02000000-0000-4000-8000-000000000002\n\
         {P},{g1},{}\n\
         {P},{AA},05000000-0000-4000-8000-000000000005\n\
         {P},BB000000-0000-4000-8000-0000000000BB,{U3}\n",
        up(U3)
    );
    let relationships = format!(
        "partner_tenant_id,customer_tenant_id,kind,state,started_at,ended_at\n\
         {P},{C1},dap,active,2019-01-01,\n\
         {P},{C1},dap,removed,2018-01-01,2019-01-01\n\
         {P},{C2},dap,removed,2018-01-01,2022-01-01\n\
         {P},{C2},gdap,active,2023-01-01T00:00:00Z,2027-01-01T00:00:00Z\n\
         {P2},{C1},dap,active,,\n\
         {P},{C3},reseller,active,,\n"
    );
    let subscriptions = format!(
        "tenant_id,subscription_id,name,provisioned_by_tenant_id\n\
         {C1},{S1},Plan,{P}\n\
         {C2},{S2},Plan,\n\
         {C3},{},\"Plan, \"\"prod\"\"\",\n",
        up(S3)
    );
    let role_assignments = format!(
        "tenant_id,scope,role,principal_id,principal_tenant_id\r\n\
         {C1},/subscriptions/{S1},Owner,{AA},\r\n\
         {C2},/subscriptions/{S2},8E3AF657-A8FF-443C-A75C-2FE8C4BCB635,{AA},{P}\r\n\
         {C3},/subscriptions/{}/resourceGroups/RG-Erp,cOnTrIbUtOr,{},{}\r\n\
         {C3},/subscriptions/{S3},Reader,{UNKNOWN_PRINCIPAL},{UNKNOWN_TENANT}\r\n\
         {C3},/,Company Administrator,{AA},{P}\r\n",
        up(S3),
        up(AA),
        up(P)
    );
    let dir = hand_written(
        "hand-worked",
        &[
            ("tenants.csv", &tenants),
            ("principals.csv", &principals),
            ("memberships.csv", &memberships),
            ("relationships.csv", &relationships),
            ("subscriptions.csv", &subscriptions),
            ("role_assignments.csv", &role_assignments),
        ],
    );
    let rg = format!("/subscriptions/{S3}/resourceGroups/RG-Erp");
    check_hand_written(
        &dir,
        &[("principals", "notes")],
        vec![
            dap("DAP001", P, C1, &[U1, U3], true),
            dap("DAP002", P, C1, &[U3], true),
            dap("DAP001", P2, C1, &[], false),
            dap("DAP002", P2, C1, &[], false),
            az("AZ001", P, C3, AA, &rg, "Contributor", &[U1, U3], true),
            az("AZ003", P, C3, AA, &rg, "Contributor", &[U1, U3], true),
            az(
                "AZ003",
                P,
                C2,
                AA,
                &format!("/subscriptions/{S2}"),
                "Owner",
                &[U1, U3],
                true,
            ),
            az(
                "AZ004",
                UNKNOWN_TENANT,
                C3,
                UNKNOWN_PRINCIPAL,
                &format!("/subscriptions/{S3}"),
                "Reader",
                &[],
                false,
            ),
        ],
    );
}

/// Guards SPEC §6: AZ rules find "per role assignment", and such a finding
/// names the assignment to remove. Two rows for the same assignment (the
/// role once by name, once by its role-definition GUID) are one assignment
/// and must still yield one finding with its `assignment`.
#[test]
fn a_role_assignment_listed_twice_is_one_finding_that_names_it() {
    let dir = hand_written(
        "repeated-assignment",
        &[
            (
                "tenants.csv",
                &format!("tenant_id,name,kind\n{P},Northwind,partner\n{C1},Contoso,customer\n"),
            ),
            (
                "principals.csv",
                &format!(
                    "tenant_id,principal_id,kind,display_name,enabled\n\
                     {P},{AA},group,AdminAgents,\n{P},{U1},user,Ann,true\n"
                ),
            ),
            (
                "memberships.csv",
                &format!("tenant_id,group_id,member_id\n{P},{AA},{U1}\n"),
            ),
            (
                "relationships.csv",
                &format!("partner_tenant_id,customer_tenant_id,kind,state\n{P},{C1},dap,removed\n"),
            ),
            (
                "subscriptions.csv",
                &format!(
                    "tenant_id,subscription_id,name,provisioned_by_tenant_id\n{C1},{S1},Plan,{P}\n"
                ),
            ),
            (
                "role_assignments.csv",
                &format!(
                    "tenant_id,scope,role,principal_id,principal_tenant_id\n\
                     {C1},/subscriptions/{S1},Owner,{AA},{P}\n\
                     {C1},/subscriptions/{S1},8e3af657-a8ff-443c-a75c-2fe8c4bcb635,{AA},{P}\n"
                ),
            ),
        ],
    );
    check_hand_written(
        &dir,
        &[],
        vec![az(
            "AZ001",
            P,
            C1,
            AA,
            &format!("/subscriptions/{S1}"),
            "Owner",
            &[U1],
            true,
        )],
    );
}

/// Guards SPEC §5 AZ001 ("a subscription of customer C"): another partner's
/// group holding a role on a partner's own subscription is an explicit
/// grant to verify (AZ003, which names no customer), not a lingering role
/// after delegated admin ended.
#[test]
fn az001_is_about_customer_subscriptions_only() {
    let ops = "0d000000-0000-4000-8000-00000000000d";
    let dir = hand_written(
        "partner-subscription",
        &[
            (
                "tenants.csv",
                &format!("tenant_id,name,kind\n{P},Northwind,partner\n{P2},Litware,partner\n"),
            ),
            (
                "principals.csv",
                &format!(
                    "tenant_id,principal_id,kind,display_name,enabled\n\
                     {P2},{ops},group,Ops,\n{P2},{U1},user,Ann,true\n"
                ),
            ),
            (
                "memberships.csv",
                &format!("tenant_id,group_id,member_id\n{P2},{ops},{U1}\n"),
            ),
            (
                "subscriptions.csv",
                &format!(
                    "tenant_id,subscription_id,name,provisioned_by_tenant_id\n{P},{S1},Internal,\n"
                ),
            ),
            (
                "role_assignments.csv",
                &format!(
                    "tenant_id,scope,role,principal_id,principal_tenant_id\n\
                     {P},/subscriptions/{S1},Contributor,{ops},{P2}\n"
                ),
            ),
        ],
    );
    check_hand_written(
        &dir,
        &[],
        vec![az(
            "AZ003",
            P2,
            P,
            ops,
            &format!("/subscriptions/{S1}"),
            "Contributor",
            &[U1],
            true,
        )],
    );
}

/// A partner can be another partner's customer: a role that partner P
/// still holds on a subscription of partner P2, whose DAP with P was
/// removed, is a lingering role (AZ001) like any customer's.
#[test]
fn az001_covers_a_partner_that_is_another_partners_customer() {
    let aa = "0a000000-0000-4000-8000-00000000000a";
    let dir = hand_written(
        "partner-as-customer",
        &[
            (
                "tenants.csv",
                &format!("tenant_id,name,kind\n{P},Northwind,partner\n{P2},Litware,partner\n"),
            ),
            (
                "principals.csv",
                &format!(
                    "tenant_id,principal_id,kind,display_name,enabled\n\
                     {P},{aa},group,AdminAgents,\n{P},{U1},user,Ann,true\n"
                ),
            ),
            (
                "memberships.csv",
                &format!("tenant_id,group_id,member_id\n{P},{aa},{U1}\n"),
            ),
            (
                "relationships.csv",
                &format!("partner_tenant_id,customer_tenant_id,kind,state\n{P},{P2},dap,removed\n"),
            ),
            (
                "subscriptions.csv",
                &format!(
                    "tenant_id,subscription_id,name,provisioned_by_tenant_id\n{P2},{S1},Labs,{P}\n"
                ),
            ),
            (
                "role_assignments.csv",
                &format!(
                    "tenant_id,scope,role,principal_id,principal_tenant_id\n\
                     {P2},/subscriptions/{S1},Owner,{aa},{P}\n"
                ),
            ),
        ],
    );
    check_hand_written(
        &dir,
        &[],
        vec![az(
            "AZ001",
            P,
            P2,
            aa,
            &format!("/subscriptions/{S1}"),
            "Owner",
            &[U1],
            true,
        )],
    );
}
