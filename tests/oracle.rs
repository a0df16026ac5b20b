//! Differential test: the built binary against an independent reading of
//! SPEC §5 (DAP001–DAP006, SR001, GDAP001–GDAP003, INV001, INV002,
//! AZ001–AZ005, AP001–AP003) on random, messy but valid snapshots.
//!
//! `oracle/generate.rs` writes the snapshots without the crate's own
//! generator; `oracle/expect.rs` reads them back with the `csv` crate and
//! computes the expected findings without any code from `src/`. Each seed's
//! findings.json is compared with the expectation finding by finding, and
//! its access.csv (`--format csv`) with `oracle/access.rs`'s reading of
//! SPEC §4, effective access, row by row.
//!
//! `ORACLE_SEEDS=N` runs N seeds (default 50) from `ORACLE_SEED_START`
//! (default 0); `ORACLE_SEED=S` runs one. A failing seed's snapshot is kept
//! in `target/tmp/oracle/seed-S` (`access-seed-S` for access.csv) and named
//! in the failure message.

mod common;
#[path = "oracle/expect.rs"]
mod expect;
#[path = "oracle/generate.rs"]
mod generate;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;

use expect::access::{AccessKey, Expected, Via};
use expect::{Key, Value};

const SELECT: &str = "DAP001,DAP002,DAP003,DAP004,DAP005,DAP006,SR001,\
GDAP001,GDAP002,GDAP003,INV001,INV002,AZ001,AZ002,AZ003,AZ004,AZ005,\
AP001,AP002,AP003";

/// The AZ rules whose findings are about one role assignment.
fn per_assignment(rule: &str) -> bool {
    matches!(rule, "AZ001" | "AZ003" | "AZ004" | "AZ005")
}

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

/// The rules and Autopilot policy of one audit run.
#[derive(Clone, Copy)]
enum Run {
    /// Every rule of `SELECT`, the default (legacy) Autopilot policy.
    Default,
    /// The Autopilot rules under `--autopilot-policy strict`.
    StrictAutopilot,
}

/// Runs `audit` on `dir` and returns findings.json.
fn audit(dir: &Path, run: Run) -> serde_json::Value {
    let out = dir.join("out");
    let args: &[&str] = match run {
        Run::Default => &["--select", SELECT],
        Run::StrictAutopilot => &[
            "--select",
            "AP001,AP002,AP003",
            "--autopilot-policy",
            "strict",
        ],
    };
    let o = Command::new(env!("CARGO_BIN_EXE_partner-audit"))
        .arg("audit")
        .arg(dir)
        .arg("--out")
        .arg(&out)
        .args(args)
        .args(["--fail-on", "never"])
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

/// DAP003's evidence lines that state a role's counts
/// (`ROLE: listed L, effective E, hidden partner principals H`), in the
/// oracle's form.
fn listing_counts(f: &serde_json::Value) -> Vec<String> {
    let mut out: Vec<String> = f["evidence"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| {
            let line = e.as_str()?;
            let (role, counts) = line.rsplit_once(": listed ")?;
            let (listed, rest) = counts.split_once(", effective ")?;
            let (effective, hidden) = rest.split_once(", hidden partner principals ")?;
            Some(format!(
                "{}: listed {listed}, effective {effective}, hidden {hidden}",
                expect::engine_role(role)
            ))
        })
        .collect();
    out.sort();
    out
}

/// AP003's counts, from its message (`… can manage M of the N Autopilot
/// device(s) … and cannot manage U …`).
fn device_counts(f: &serde_json::Value) -> Vec<String> {
    let message = s(f, &["message"]);
    let parse = || -> Option<String> {
        let (_, rest) = message.split_once(" can manage ")?;
        let (managed, rest) = rest.split_once(" of the ")?;
        let (all, rest) = rest.split_once(" Autopilot device(s)")?;
        let (_, rest) = rest.split_once(" and cannot manage ")?;
        let not = rest.split(' ').next()?;
        Some(format!("manages {managed} of {all}, not {not}"))
    };
    parse().into_iter().collect()
}

/// GDAP003's unused roles, from the evidence line
/// `roles granted: …; unused: A, B; active access assignments: …`.
fn unused_roles(f: &serde_json::Value) -> Vec<String> {
    let mut out: Vec<String> = f["evidence"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| {
            let (_, rest) = e.as_str()?.split_once("; unused: ")?;
            let (list, _) = rest.split_once("; active access assignments")?;
            Some(
                list.split(", ")
                    .map(expect::engine_role)
                    .collect::<Vec<_>>(),
            )
        })
        .flatten()
        .collect();
    out.sort();
    out
}

/// The engine's findings in the oracle's key space; a key seen twice is an
/// error of its own.
fn actual(json: &serde_json::Value, problems: &mut Vec<String>) -> Vec<(Key, Value)> {
    let mut out = Vec::new();
    for f in &common::joined_findings(json) {
        let rule = s(f, &["rule"]);
        let az = per_assignment(&rule);
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
            resource: if rule == "AZ002" {
                s(f, &["resource", "subscription_id"])
            } else if rule.starts_with("GDAP") || rule.starts_with("INV") {
                s(f, &["resource", "id"])
            } else {
                String::new()
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
            detail: match rule.as_str() {
                "DAP003" => listing_counts(f),
                "GDAP003" => unused_roles(f),
                "AP003" => device_counts(f),
                _ => Vec::new(),
            },
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

/// Rows read and rejected per table: the snapshot must load whole but
/// for repeated rows (README "Duplicate rows"), its unknown columns
/// ignored and counted (SPEC §3).
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
        if read != rows.len() as u64 || rejected != expect::repeated_rows(t, name) {
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
    if per_assignment(&k.rule) {
        format!(
            "{} partner={} customer={} principal={} scope={} role={}",
            k.rule, k.partner, k.customer, k.principal, k.scope, k.role
        )
    } else if k.resource.is_empty() {
        format!("{} partner={} customer={}", k.rule, k.partner, k.customer)
    } else {
        format!(
            "{} partner={} customer={} resource={}",
            k.rule, k.partner, k.customer, k.resource
        )
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
    run: Run,
) -> (BTreeMap<Key, Value>, Vec<String>) {
    let json = audit(dir, run);
    let mut problems = Vec::new();
    check_input(&json, tables, unknown, &mut problems);
    let found = actual(&json, &mut problems);
    let got = keyed(expected, found, &mut problems);
    diff(tables, expected, &got, &mut problems);
    (got, problems)
}

/// How much of the interesting ground the seeds covered: findings per
/// rule, and the cases within them the test exists for.
#[derive(Default, Debug)]
struct Coverage {
    rules: BTreeMap<String, usize>,
    /// AP002 and AP003 under the strict Autopilot policy.
    strict: BTreeMap<String, usize>,
    dap_placeholder: usize,
    dap_with_principals: usize,
    az001_no_user: usize,
    customer_perspective: usize,
    /// DAP003 with some role listed explicitly, and with GDAP's roles.
    dap003_listed: usize,
    dap003_beyond_dap: usize,
    /// DAP004 on recorded (stale) activity, not only on none.
    dap004_recorded: usize,
    gdap_with_principals: usize,
    /// Active DAP activity, active GDAP ends and invitations dated within
    /// 3 days of a threshold (either side).
    near_threshold: usize,
}

impl Coverage {
    fn count(&mut self, t: &expect::Tables, expected: &BTreeMap<Key, Value>) {
        for (k, v) in expected {
            *self.rules.entry(k.rule.clone()).or_default() += 1;
            match k.rule.as_str() {
                "DAP001" | "DAP002" => {
                    if v.principals_known == Some(false) {
                        self.dap_placeholder += 1;
                    }
                    if !v.principals.is_empty() {
                        self.dap_with_principals += 1;
                    }
                }
                "AZ001" if v.principals.is_empty() => self.az001_no_user += 1,
                "DAP003" => {
                    if v.detail.iter().any(|d| !d.contains(": listed 0,")) {
                        self.dap003_listed += 1;
                    }
                    if v.detail.iter().any(|d| {
                        !d.starts_with("Global Administrator:")
                            && !d.starts_with("Helpdesk Administrator:")
                    }) {
                        self.dap003_beyond_dap += 1;
                    }
                }
                "DAP004" => {
                    let recorded = t.rows("relationships").iter().any(|r| {
                        r.cells
                            .get("last_activity_at")
                            .is_some_and(|c| !c.is_empty())
                            && r.cells.get("kind").is_some_and(|c| c == "dap")
                            && r.cells.get("state").is_some_and(|c| c == "active")
                            && expect::tenant(r, "partner_tenant_id") == k.partner
                            && expect::tenant(r, "customer_tenant_id") == k.customer
                    });
                    if recorded {
                        self.dap004_recorded += 1;
                    }
                }
                "GDAP001" | "GDAP002" | "GDAP003" if !v.principals.is_empty() => {
                    self.gdap_with_principals += 1;
                }
                _ => {}
            }
        }
        // Rows dated close to a threshold.
        let near = |cell: &str, days_from_as_of: i64| {
            expect::instant(cell).is_some_and(|at| {
                let d = (at - t.as_of).div_euclid(86_400) + days_from_as_of;
                (0..=3).contains(&d) || (-3..0).contains(&d)
            })
        };
        for r in t.rows("relationships") {
            let get = |c: &str| r.cells.get(c).map_or("", String::as_str);
            let active = get("state") == "active";
            if active && get("kind") == "dap" && near(get("last_activity_at"), 90) {
                self.near_threshold += 1;
            }
            let ended = get("ended_at");
            if active && get("kind") == "gdap" && (near(ended, 0) || near(ended, -30)) {
                self.near_threshold += 1;
            }
        }
        for r in t.rows("invitations") {
            if near(r.cells.get("sent_at").map_or("", String::as_str), 30) {
                self.near_threshold += 1;
            }
        }
    }

    fn rule(&self, rule: &str) -> usize {
        self.rules.get(rule).copied().unwrap_or(0)
    }
}

/// Validates every rule the oracle knows against it on every seed.
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
        cov.count(&tables, &expected);

        let (got, mut problems) = compare(&dir, &tables, &unknown, &expected, Run::Default);
        let strict = expect::strict_autopilot_findings(&tables);
        for k in strict.keys() {
            *cov.strict.entry(k.rule.clone()).or_default() += 1;
        }
        let (_, strict_problems) = compare(&dir, &tables, &unknown, &strict, Run::StrictAutopilot);
        problems.extend(strict_problems.into_iter().map(|p| format!("  strict:{p}")));
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
    eprintln!("coverage: {cov:?}");
    assert!(
        failures.is_empty(),
        "the engine disagrees with the oracle:\n{failures}"
    );
    if seeds().len() >= 20 {
        // The seeds must reach the cases the test exists for.
        for rule in SELECT.split(',') {
            assert!(cov.rule(rule) >= 20, "too few {rule} findings: {cov:?}");
        }
        for rule in ["AP002", "AP003"] {
            let n = cov.strict.get(rule).copied().unwrap_or(0);
            assert!(n >= 20, "too few strict {rule} findings: {cov:?}");
        }
        assert!(cov.dap_placeholder >= 3, "too few placeholders: {cov:?}");
        assert!(cov.dap_with_principals >= 10, "{cov:?}");
        assert!(cov.az001_no_user >= 3, "{cov:?}");
        assert!(cov.customer_perspective >= 3, "{cov:?}");
        assert!(cov.dap003_listed >= 5, "{cov:?}");
        assert!(cov.dap003_beyond_dap >= 5, "{cov:?}");
        assert!(cov.dap004_recorded >= 5, "{cov:?}");
        assert!(cov.gdap_with_principals >= 10, "{cov:?}");
        assert!(cov.near_threshold >= 50, "{cov:?}");
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
            ..Key::default()
        },
        Value {
            principals: principals.iter().map(|p| p.to_string()).collect(),
            principals_known: Some(known),
            detail: Vec::new(),
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
            ..Key::default()
        },
        Value {
            principals: principals.iter().map(|p| p.to_string()).collect(),
            principals_known: Some(known),
            detail: Vec::new(),
        },
    )
}

/// A finding about a resource other than a role assignment: a GDAP
/// relationship, an invitation, AZ002's subscription (`resource` empty for
/// a partner × customer or customer finding), with DAP003's counts or
/// GDAP003's unused roles in `detail`.
fn about(
    rule: &str,
    (partner, customer, resource): (&str, &str, &str),
    principals: &[&str],
    known: bool,
    detail: &[&str],
) -> (Key, Value) {
    (
        Key {
            rule: rule.into(),
            partner: partner.into(),
            customer: customer.into(),
            resource: resource.into(),
            ..Key::default()
        },
        Value {
            principals: principals.iter().map(|p| p.to_string()).collect(),
            principals_known: Some(known),
            detail: detail.iter().map(|d| d.to_string()).collect(),
        },
    )
}

/// Checks a hand-written snapshot: the oracle must give `want`, and so must
/// the engine.
fn check_hand_written(dir: &Path, unknown: &[(&str, &str)], want: Vec<(Key, Value)>) {
    check_hand_written_run(dir, unknown, want, Run::Default);
}

/// `check_hand_written` for one kind of audit run.
fn check_hand_written_run(dir: &Path, unknown: &[(&str, &str)], want: Vec<(Key, Value)>, run: Run) {
    let tables = expect::read(dir);
    let expected = match run {
        Run::Default => expect::findings(&tables),
        Run::StrictAutopilot => expect::strict_autopilot_findings(&tables),
    };
    let want: BTreeMap<Key, Value> = want.into_iter().collect();
    assert_eq!(
        expected, want,
        "the oracle disagrees with the hand-worked findings"
    );
    let unknown: BTreeMap<&str, Vec<String>> = unknown
        .iter()
        .map(|(t, c)| (*t, vec![(*c).to_string()]))
        .collect();
    let (_, problems) = compare(dir, &tables, &unknown, &expected, run);
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
            // P provisioned S1 and its AdminAgents hold Owner on it.
            about("AZ002", (P, C1, S1), &[U1, U3], true, &[]),
            // P works with C2 through GDAP only; its AdminAgents keep Owner.
            az(
                "AZ005",
                P,
                C2,
                AA,
                &format!("/subscriptions/{S2}"),
                "Owner",
                &[U1, U3],
                true,
            ),
            // C1 lists no directory role; P's AdminAgents (Ann, Cy) and
            // P2's placeholder hold Global Administrator, P's Tier1 (Cy)
            // and P2's placeholder Helpdesk Administrator.
            about(
                "DAP003",
                ("", C1, ""),
                &[U1, U3],
                false,
                &[
                    "Global Administrator: listed 0, effective 3, hidden 3",
                    "Helpdesk Administrator: listed 0, effective 2, hidden 2",
                ],
            ),
            // No activity recorded on either active DAP.
            dap("DAP004", P, C1, &[U1, U3], true),
            dap("DAP004", P2, C1, &[], false),
            about("DAP006", ("", C1, ""), &[U1, U3], false, &[]),
            // Reseller of C3 without DAP; C3 has no Autopilot profile or
            // device.
            dap("SR001", P, C3, &[], true),
            dap("AP001", P, C3, &[], true),
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
        vec![
            az(
                "AZ001",
                P,
                C1,
                AA,
                &format!("/subscriptions/{S1}"),
                "Owner",
                &[U1],
                true,
            ),
            // DAP was removed: AZ001 reports the Owner role, AZ002 does not.
        ],
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
        vec![
            az(
                "AZ001",
                P,
                P2,
                aa,
                &format!("/subscriptions/{S1}"),
                "Owner",
                &[U1],
                true,
            ),
            // DAP was removed: AZ001 reports the Owner role, AZ002 does not.
        ],
    );
}

/// Validates the oracle's GDAP, invitation, listing and threshold readings
/// on a snapshot whose findings were worked out by hand, and the engine
/// against it: an access assignment naming a role its relationship does
/// not grant, inactive and state-less assignments, an unknown assignment
/// group, relationship ids in another case, a partner agent listed
/// explicitly, dates on each side of the 90-, 30- and 30-day thresholds
/// (as-of 2026-11-01T08:00:00Z).
#[test]
fn oracle_matches_hand_worked_gdap_and_invitation_findings() {
    let g = "0e000000-0000-4000-8000-00000000000e";
    let sa = "5a000000-0000-4000-8000-00000000005a";
    let u2 = "02000000-0000-4000-8000-000000000002";
    let u4 = "04000000-0000-4000-8000-000000000004";
    let m = "0d000000-0000-4000-8000-0000000000d0";
    let x = "0e000000-0000-4000-8000-0000000000ff";
    let r1 = "a1000000-0000-4000-8000-0000000000a1-0c000000-0000-4000-8000-0000000000c1";
    let r2 = "a2000000-0000-4000-8000-0000000000a2-0c000000-0000-4000-8000-0000000000c2";
    let inv = |n: u8| format!("1{n}000000-0000-4000-8000-0000000000{n}{n}");
    let dir = hand_written(
        "hand-worked-gdap",
        &[
            (
                "tenants.csv",
                &format!(
                    "tenant_id,name,kind\n{P},Northwind,partner\n{C1},Contoso,customer\n\
                     {C2},Fabrikam,customer\n"
                ),
            ),
            (
                "principals.csv",
                &format!(
                    "tenant_id,principal_id,kind,display_name,enabled\n\
                     {P},{AA},group,AdminAgents,\n\
                     {P},{sa},group,SalesAgents,\n\
                     {P},{g},group,GDAP Admins,\n\
                     {P},{U1},user,Ann,true\n\
                     {P},{u2},user,Ben,yes\n\
                     {P},{U3},user,Cy,false\n\
                     {P},{u4},user,Di,\n\
                     {C1},{m},user,Mo,true\n"
                ),
            ),
            (
                "memberships.csv",
                &format!(
                    "tenant_id,group_id,member_id\n{P},{AA},{U1}\n{P},{g},{u2}\n\
                     {P},{g},{U3}\n{P},{sa},{u4}\n"
                ),
            ),
            (
                "relationships.csv",
                &format!(
                    "partner_tenant_id,customer_tenant_id,kind,state,relationship_id,roles,ended_at,auto_extend,last_activity_at\n\
                     {P},{C1},dap,active,,,,,2026-08-03\n\
                     {P},{C2},dap,active,,,,,2026-08-02T09:00:00+02:00\n\
                     {P},{C1},gdap,active,{},Global Administrator;User Administrator; Global Reader,2026-12-02T07:59:59Z,PT0S,\n\
                     {P},{C2},gdap,active,{r2},62E90394-69F5-4237-9190-012177145E10;Helpdesk Administrator,2026-11-01,P180D,\n\
                     {P},{C1},reseller,active,,,,,\n",
                    r1.to_uppercase()
                ),
            ),
            (
                "gdap_access_assignments.csv",
                &format!(
                    "relationship_id,group_id,roles,state\n\
                     {r1},{g},Company Administrator;Security Reader,Active\n\
                     {r1},{AA},Global Reader,deleted\n\
                     {r2},{x},helpdesk administrator,\n"
                ),
            ),
            (
                "role_assignments.csv",
                &format!(
                    "tenant_id,scope,role,principal_id,principal_tenant_id\n\
                     {C1},/,Global Administrator,{m},\n\
                     {C1},/,Company Administrator,{u2},{P}\n"
                ),
            ),
            (
                "invitations.csv",
                &format!(
                    "partner_tenant_id,invitation_id,sent_by,sent_at,customer_tenant_id,accepted_at\n\
                     {P},{},{u4},2026-09-01,,\n\
                     {P},{},{u2},2026-10-02,{C1},\n\
                     {P},{},{UNKNOWN_PRINCIPAL},2026-10-01,,\n\
                     {P},INV-0004,{U3},2026-01-01,{C2},2026-01-05\n\
                     {P},{},{U1},2026-10-01T08:00:00Z,,\n",
                    inv(1),
                    inv(2),
                    inv(3),
                    inv(5)
                ),
            ),
        ],
    );
    let ga_ha = &[
        // Ben is listed (explicitly Global Administrator), Ann is not; the
        // missing HelpdeskAgents group is a placeholder.
        "Global Administrator: listed 2, effective 3, hidden 1",
        "Helpdesk Administrator: listed 0, effective 1, hidden 1",
    ];
    check_hand_written(
        &dir,
        &[],
        vec![
            dap("DAP001", P, C1, &[U1], true),
            dap("DAP001", P, C2, &[U1], true),
            dap("DAP002", P, C1, &[], false),
            dap("DAP002", P, C2, &[], false),
            about("DAP003", ("", C1, ""), &[U1], false, ga_ha),
            // C2: Ann through DAP; the placeholder and the unknown group x
            // through GDAP hold Helpdesk Administrator.
            about(
                "DAP003",
                ("", C2, ""),
                &[U1],
                false,
                &[
                    "Global Administrator: listed 0, effective 1, hidden 1",
                    "Helpdesk Administrator: listed 0, effective 2, hidden 2",
                ],
            ),
            // 91 days and an hour since the last activity; C1's 90 days
            // and 8 hours are not "more than 90".
            dap("DAP004", P, C2, &[U1], false),
            dap("DAP005", P, C1, &[U1], false),
            dap("DAP005", P, C2, &[U1], false),
            // r1 grants Global Administrator, used by GDAP Admins (Ben; Cy
            // is disabled); Security Reader is not r1's to grant. It ends
            // in 30 days and 23:59:59; User Administrator and Global Reader
            // (its assignment is deleted) are unused.
            about("GDAP001", (P, C1, r1), &[u2], true, &[]),
            about("GDAP002", (P, C1, r1), &[u2], true, &[]),
            about(
                "GDAP003",
                (P, C1, r1),
                &[u2],
                true,
                &["Global Reader", "User Administrator"],
            ),
            // r2 (ended 8 hours ago) grants Global Administrator, which
            // nobody uses; x, an unknown group, uses Helpdesk Administrator.
            about("GDAP001", (P, C2, r2), &[], false, &[]),
            about(
                "GDAP003",
                (P, C2, r2),
                &[],
                false,
                &["Global Administrator"],
            ),
            // Di is a Sales agent (61 days pending); Ben is no agent (30 days
            // and 8 hours pending: not more than 30); the unknown sender is
            // not judged (31 days); Cy is no agent (accepted); Ann is an
            // Admin agent (exactly 31 days).
            about("INV002", (P, "", &inv(1)), &[], true, &[]),
            about("INV001", (P, C1, &inv(2)), &[], true, &[]),
            about("INV002", (P, "", &inv(3)), &[], true, &[]),
            about("INV001", (P, C2, "INV-0004"), &[], true, &[]),
            about("INV002", (P, "", &inv(5)), &[], true, &[]),
        ],
    );
}

/// Guards SPEC §3 ("GUIDs compare case-insensitively and are written
/// lower-case"): an invitation id that is a GUID names the invitation
/// lower-case, so that the same export in another case gives the same
/// findings (and the same finding ids for baselines and waivers).
#[test]
fn an_invitation_id_that_is_a_guid_is_written_lower_case() {
    let id = "4a499324-a4a5-4e91-9309-2020d41fe510";
    let dir = hand_written(
        "invitation-id-case",
        &[
            (
                "tenants.csv",
                &format!("tenant_id,name,kind\n{P},Northwind,partner\n"),
            ),
            (
                "principals.csv",
                &format!("tenant_id,principal_id,kind,display_name\n{P},{U1},user,Ann\n"),
            ),
            (
                "invitations.csv",
                &format!(
                    "partner_tenant_id,invitation_id,sent_by,sent_at\n{P},{},{U1},2026-01-01\n",
                    id.to_uppercase()
                ),
            ),
        ],
    );
    check_hand_written(
        &dir,
        &[],
        vec![
            about("INV001", (P, "", id), &[], true, &[]),
            about("INV002", (P, "", id), &[], true, &[]),
        ],
    );
}

/// Guards SPEC §5 GDAP001–GDAP003 ("finding per relationship"): two GDAP
/// relationships without a `relationship_id` (an optional column) with two
/// customers are two relationships, each its own finding with its
/// customer, as one such relationship is (`gdap:PARTNER:CUSTOMER`).
#[test]
fn gdap_relationships_without_an_id_are_one_finding_each() {
    let dir = hand_written(
        "gdap-without-id",
        &[
            (
                "tenants.csv",
                &format!(
                    "tenant_id,name,kind\n{P},Northwind,partner\n{C1},Contoso,customer\n\
                     {C2},Fabrikam,customer\n"
                ),
            ),
            (
                "relationships.csv",
                &format!(
                    "partner_tenant_id,customer_tenant_id,kind,state,roles\n\
                     {P},{C1},gdap,active,User Administrator\n\
                     {P},{C2},gdap,active,User Administrator\n"
                ),
            ),
        ],
    );
    let unused = &["User Administrator"];
    check_hand_written(
        &dir,
        &[],
        vec![
            about(
                "GDAP003",
                (P, C1, &format!("gdap:{P}:{C1}")),
                &[],
                true,
                unused,
            ),
            about(
                "GDAP003",
                (P, C2, &format!("gdap:{P}:{C2}")),
                &[],
                true,
                unused,
            ),
        ],
    );
}

/// Guards SPEC §5 GDAP001–GDAP003 ("finding per relationship") as
/// `a_role_assignment_listed_twice_is_one_finding_that_names_it` does for
/// assignments: a relationship the snapshot lists twice is one
/// relationship, and its findings name it (`resource`) and list its unused
/// roles once.
#[test]
fn a_gdap_relationship_listed_twice_is_one_finding_that_names_it() {
    let r = "a1000000-0000-4000-8000-0000000000a1-0c000000-0000-4000-8000-0000000000c1";
    let row = format!("{P},{C1},gdap,active,{r},Global Administrator\n");
    let dir = hand_written(
        "gdap-listed-twice",
        &[
            (
                "tenants.csv",
                &format!("tenant_id,name,kind\n{P},Northwind,partner\n{C1},Contoso,customer\n"),
            ),
            (
                "relationships.csv",
                &format!(
                    "partner_tenant_id,customer_tenant_id,kind,state,relationship_id,roles\n{row}{row}"
                ),
            ),
        ],
    );
    check_hand_written(
        &dir,
        &[],
        vec![
            about("GDAP001", (P, C1, r), &[], true, &[]),
            about("GDAP003", (P, C1, r), &[], true, &["Global Administrator"]),
        ],
    );
}

/// Validates the oracle's Autopilot readings under both policies on a
/// snapshot whose findings were worked out by hand, and the engine against
/// it: devices the partner, another partner, a tenant nobody knows and
/// the customer (through OEM and Intune) added; a reseller without DAP
/// and a DAP partner without reseller relationship or agent groups.
#[test]
fn oracle_matches_hand_worked_autopilot_findings() {
    let device = |serial: &str, by: &str, via: &str| format!("{C1},{serial},{by},{via}\n");
    let dir = hand_written(
        "hand-worked-autopilot",
        &[
            (
                "tenants.csv",
                &format!(
                    "tenant_id,name,kind\n{P},Northwind,partner\n{P2},Litware,partner\n\
                     {C1},Contoso,customer\n"
                ),
            ),
            (
                "principals.csv",
                &format!(
                    "tenant_id,principal_id,kind,display_name\n{P},{AA},group,AdminAgents\n\
                     {P},{U1},user,Ann\n"
                ),
            ),
            (
                "memberships.csv",
                &format!("tenant_id,group_id,member_id\n{P},{AA},{U1}\n"),
            ),
            (
                "relationships.csv",
                &format!(
                    "partner_tenant_id,customer_tenant_id,kind,state\n\
                     {P},{C1},reseller,active\n{P2},{C1},dap,active\n"
                ),
            ),
            (
                "autopilot_profiles.csv",
                &format!("tenant_id,profile_id,name\n{C1},{S1},Kiosk\n"),
            ),
            (
                "devices.csv",
                &format!(
                    "tenant_id,device_id,added_by_tenant_id,added_via\n{}{}{}{}{}",
                    device("SN-1", P, "partner_center"),
                    device("SN-2", P2, "partner_center"),
                    device("SN-3", C1, "OEM"),
                    device("SN-4", C1, "intune"),
                    device("SN-5", UNKNOWN_TENANT, "unknown"),
                ),
            ),
        ],
    );
    let p2_placeholder = [
        dap("DAP001", P2, C1, &[], false),
        dap("DAP002", P2, C1, &[], false),
        about(
            "DAP003",
            ("", C1, ""),
            &[],
            false,
            &[
                "Global Administrator: listed 0, effective 1, hidden 1",
                "Helpdesk Administrator: listed 0, effective 1, hidden 1",
            ],
        ),
        dap("DAP004", P2, C1, &[], false),
    ];
    // Legacy: both manage all but the customer's Intune device; P, as
    // reseller without DAP, also the profiles.
    let mut legacy = vec![
        dap("SR001", P, C1, &[], true),
        dap("AP001", P, C1, &[U1], true),
        dap("AP002", P, C1, &[U1], true),
        about(
            "AP003",
            (P, C1, ""),
            &[U1],
            true,
            &["manages 4 of 5, not 1"],
        ),
        dap("AP002", P2, C1, &[], false),
        about(
            "AP003",
            (P2, C1, ""),
            &[],
            false,
            &["manages 4 of 5, not 1"],
        ),
    ];
    legacy.extend(p2_placeholder);
    check_hand_written(&dir, &[], legacy);
    // Strict: P manages its own device only, P2 (DAP) every device.
    check_hand_written_run(
        &dir,
        &[],
        vec![
            about(
                "AP003",
                (P, C1, ""),
                &[U1],
                true,
                &["manages 1 of 5, not 4"],
            ),
            dap("AP002", P2, C1, &[], false),
            about(
                "AP003",
                (P2, C1, ""),
                &[],
                false,
                &["manages 5 of 5, not 0"],
            ),
        ],
        Run::StrictAutopilot,
    );
}

/// Guards the `principals` docs/rules.md gives AP001 ("the partner's
/// AdminAgents users when the customer has any Autopilot profiles or
/// devices") and AP003 ("the partner's AdminAgents users who hold that
/// access", the access to manage devices): C1 has a device (one the
/// partner cannot manage) and no profile, so AP001 names Ann; C2 has a
/// profile and a device the partner cannot manage, so AP003 names nobody.
#[test]
fn autopilot_principals_follow_the_rule_documentation() {
    let dir = hand_written(
        "autopilot-principals",
        &[
            (
                "tenants.csv",
                &format!(
                    "tenant_id,name,kind\n{P},Northwind,partner\n{C1},Contoso,customer\n\
                     {C2},Fabrikam,customer\n"
                ),
            ),
            (
                "principals.csv",
                &format!(
                    "tenant_id,principal_id,kind,display_name\n{P},{AA},group,AdminAgents\n\
                     {P},{U1},user,Ann\n"
                ),
            ),
            (
                "memberships.csv",
                &format!("tenant_id,group_id,member_id\n{P},{AA},{U1}\n"),
            ),
            (
                "relationships.csv",
                &format!(
                    "partner_tenant_id,customer_tenant_id,kind,state\n\
                     {P},{C1},reseller,active\n{P},{C2},reseller,active\n"
                ),
            ),
            (
                "autopilot_profiles.csv",
                &format!("tenant_id,profile_id,name\n{C2},{S2},Kiosk\n"),
            ),
            (
                "devices.csv",
                &format!(
                    "tenant_id,device_id,added_by_tenant_id,added_via\n\
                     {C1},SN-1,{C1},intune\n{C2},SN-2,{C2},store_for_business\n"
                ),
            ),
        ],
    );
    let none_managed = &["manages 0 of 1, not 1"];
    check_hand_written(
        &dir,
        &[],
        vec![
            dap("SR001", P, C1, &[], true),
            dap("SR001", P, C2, &[], true),
            dap("AP001", P, C1, &[U1], true),
            dap("AP001", P, C2, &[U1], true),
            about("AP003", (P, C1, ""), &[], true, none_managed),
            about("AP003", (P, C2, ""), &[], true, none_managed),
        ],
    );
}

// The effective-access table (access.csv) against the oracle's reading of
// SPEC §4 (`oracle/access.rs`).

/// One row of the engine's access.csv, its cells by column name with the
/// formula neutralisation (`'` before `=`, `+`, `-`, `@`, tab, CR) undone.
struct AccessRow {
    line: u64,
    cells: BTreeMap<String, String>,
}

impl AccessRow {
    fn get(&self, col: &str) -> &str {
        self.cells.get(col).map_or("", String::as_str)
    }
}

/// The columns access.csv must have.
const ACCESS_COLUMNS: &[&str] = &[
    "principal_id",
    "principal_kind",
    "display_name",
    "upn",
    "home_tenant_id",
    "home_tenant_name",
    "tenant_id",
    "tenant_name",
    "resource",
    "role",
    "access",
    "listed",
    "justifying_relationship",
    "path",
];

/// A snapshot string as access.csv shows it: characters that hide or
/// disguise text (C0 and C1 controls but tab and line breaks, DEL,
/// bidirectional controls) become U+FFFD.
fn shown_in_csv(s: &str) -> String {
    s.chars()
        .map(|c| {
            let hidden = (c.is_control() && !matches!(c, '\t' | '\r' | '\n'))
                || matches!(
                    c,
                    '\u{061c}'
                        | '\u{200e}'
                        | '\u{200f}'
                        | '\u{202a}'..='\u{202e}'
                        | '\u{2066}'..='\u{2069}'
                );
            if hidden {
                '\u{fffd}'
            } else {
                c
            }
        })
        .collect()
}

fn unneutralise(cell: &str) -> String {
    match cell.strip_prefix('\'') {
        Some(rest) if rest.starts_with(['=', '+', '-', '@', '\t', '\r']) => rest.to_string(),
        _ => cell.to_string(),
    }
}

/// Runs `audit --format csv` on `dir` and reads access.csv.
fn audit_access(dir: &Path) -> Vec<AccessRow> {
    let out = dir.join("out-access");
    let o = Command::new(env!("CARGO_BIN_EXE_partner-audit"))
        .arg("audit")
        .arg(dir)
        .arg("--out")
        .arg(&out)
        .args(["--format", "csv", "--fail-on", "never"])
        .env("NO_COLOR", "1")
        .output()
        .expect("run partner-audit");
    assert!(
        o.status.code() == Some(0),
        "audit --format csv of {} exited with {:?}\nstderr:\n{}",
        dir.display(),
        o.status.code(),
        String::from_utf8_lossy(&o.stderr)
    );
    let bytes = std::fs::read(out.join("access.csv")).expect("access.csv");
    let mut r = csv::ReaderBuilder::new().from_reader(bytes.as_slice());
    let headers: Vec<String> = r
        .headers()
        .expect("access.csv header")
        .iter()
        .map(str::to_string)
        .collect();
    for c in ACCESS_COLUMNS {
        assert!(
            headers.iter().any(|h| h == c),
            "access.csv of {} has no column {c}: {headers:?}",
            dir.display()
        );
    }
    let mut lines = expect::Lines::default();
    r.records()
        .map(|rec| {
            let rec = rec.expect("access.csv is CSV");
            AccessRow {
                line: lines.of(&bytes, &rec),
                cells: headers
                    .iter()
                    .cloned()
                    .zip(rec.iter().map(unneutralise))
                    .collect(),
            }
        })
        .collect()
}

/// A role of access.csv in the oracle's key space.
fn access_role(name: &str) -> String {
    if name == expect::access::PROFILE_MANAGER || name == expect::access::DEVICE_MANAGER {
        name.to_string()
    } else {
        expect::engine_role(name)
    }
}

fn access_key(row: &AccessRow) -> AccessKey {
    let principal = if row.get("principal_kind") == "placeholder" {
        // `AdminAgents (members unknown)`: the agent group, of the home
        // tenant.
        let group = row.get("display_name").split(' ').next().unwrap_or("");
        format!("placeholder {group} of {}", row.get("home_tenant_id"))
    } else {
        row.get("principal_id").to_string()
    };
    AccessKey {
        tenant: row.get("tenant_id").to_string(),
        resource: row.get("resource").to_lowercase(),
        role: access_role(row.get("role")),
        principal,
    }
}

/// The parts of a row's path and justification the comparison reads.
#[derive(Debug)]
struct Explained {
    hops: usize,
    /// The path's first and last principals (who holds the row, who holds
    /// the grant).
    first: String,
    last: String,
    /// The scope the grant is made at (`/` for `... in TENANT`).
    grant_scope: Option<String>,
    via: Option<Via>,
    /// The table and line the justification cites.
    cite: Option<(String, u64)>,
}

/// Reads `MEMBER → GROUP → ... → HOLDER (TENANT) ⇒ ROLE in TENANT (...)` or
/// `... ⇒ ROLE on SCOPE (...)`, and the justification's kind and the
/// `FILE.csv:LINE` it cites.
fn explained(row: &AccessRow) -> Explained {
    let path = row.get("path");
    let (chain, grant) = path.split_once(" ⇒ ").unwrap_or((path, ""));
    let members: Vec<&str> = chain.split(" → ").collect();
    let grant = grant.strip_prefix(row.get("role")).unwrap_or("");
    let grant_scope = if grant.starts_with(" in ") {
        Some("/".to_string())
    } else {
        grant
            .strip_prefix(" on ")
            .and_then(|s| s.rsplit_once(" (").map(|(scope, _)| scope.to_string()))
    };
    let j = row.get("justifying_relationship");
    let via = if j.starts_with("role assignment ") {
        Some(Via::Assigned)
    } else if j.starts_with("DAP ") {
        Some(Via::Dap)
    } else if j.starts_with("GDAP ") {
        Some(Via::Gdap)
    } else if j.starts_with("Autopilot ") {
        Some(Via::Autopilot)
    } else {
        None
    };
    let cite = j.rfind(".csv:").and_then(|i| {
        let file = &j[..i];
        // Citations are relative to the snapshot root: the file name may
        // follow a space or `(` rather than a folder.
        let table = file.rsplit(['/', '\\', ' ', '(']).next().unwrap_or(file);
        let digits: String = j[i + 5..]
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        Some((table.to_string(), digits.parse().ok()?))
    });
    Explained {
        hops: members.len() - 1,
        first: members.first().copied().unwrap_or("").to_string(),
        last: members.last().copied().unwrap_or("").to_string(),
        grant_scope,
        via,
        cite,
    }
}

fn describe_access(k: &AccessKey) -> String {
    format!(
        "tenant={} resource={} role={} principal={}",
        k.tenant, k.resource, k.role, k.principal
    )
}

/// Whether `way` explains the engine's row: same kind of grant, citing
/// the same snapshot row, held by the same holder at the same scope, the
/// GDAP relationship named.
fn explains(way: &expect::access::Way, x: &Explained, row: &AccessRow) -> bool {
    x.via == Some(way.via)
        && x.cite.as_ref() == Some(&(way.table.to_string(), way.line))
        && if way.holder_known {
            x.last.starts_with(&shown_in_csv(&way.holder))
        } else {
            x.last.contains(&shown_in_csv(&way.holder))
        }
        && x.grant_scope.as_deref().map(str::to_lowercase).as_deref()
            == Some(way.grant_scope.as_str())
        && (way.relationship.is_empty()
            || row
                .get("justifying_relationship")
                .to_ascii_lowercase()
                .contains(&way.relationship))
}

/// Every way one engine row differs from the oracle's. `tenant_names`:
/// the tenants table's names.
fn differences(
    e: &Expected,
    row: &AccessRow,
    tenant_names: &BTreeMap<String, String>,
) -> Vec<String> {
    let mut out = Vec::new();
    let x = explained(row);
    let field = |out: &mut Vec<String>, name: &str, want: String, got: &str| {
        let want = shown_in_csv(&want);
        if want != got {
            out.push(format!("{name}: expected {want:?}, engine {got:?}"));
        }
    };
    field(
        &mut out,
        "principal_kind",
        e.kind.to_string(),
        row.get("principal_kind"),
    );
    field(&mut out, "listed", e.listed.to_string(), row.get("listed"));
    field(&mut out, "upn", e.upn.clone(), row.get("upn"));
    if e.kind == "placeholder" {
        field(
            &mut out,
            "principal_id",
            String::new(),
            row.get("principal_id"),
        );
    }
    for (id, name) in [
        ("tenant_id", "tenant_name"),
        ("home_tenant_id", "home_tenant_name"),
    ] {
        if let Some(want) = tenant_names.get(row.get(id)) {
            field(&mut out, name, want.clone(), row.get(name));
        }
    }
    // SPEC §3: GUIDs are written lower-case.
    let resource = row.get("resource");
    if resource.split('/').any(|seg| {
        seg.len() == 36
            && seg.bytes().any(|b| b.is_ascii_uppercase())
            && seg.matches('-').count() == 4
    }) {
        out.push(format!("resource: a GUID not lower-case in {resource:?}"));
    }
    let implicit = e.ways.iter().all(|w| w.via.implicit());
    let explicit = e.ways.iter().all(|w| !w.via.implicit());
    let access = row.get("access");
    let possible = match access {
        "implicit" => !explicit,
        "explicit" => !implicit,
        _ => false,
    };
    if !possible {
        out.push(format!(
            "access: engine {access:?}, the shortest paths are {}",
            if implicit { "implicit" } else { "explicit" }
        ));
    }
    if !e.homes.contains(row.get("home_tenant_id")) {
        out.push(format!(
            "home_tenant_id: expected one of {:?}, engine {:?}",
            e.homes,
            row.get("home_tenant_id")
        ));
    }
    match e.kind {
        "user" => {
            field(
                &mut out,
                "display_name",
                e.name.clone(),
                row.get("display_name"),
            );
        }
        _ if !row.get("display_name").contains(&shown_in_csv(&e.name)) => out.push(format!(
            "display_name: expected one naming {:?}, engine {:?}",
            e.name,
            row.get("display_name")
        )),
        _ => {}
    }
    if x.hops != e.hops {
        out.push(format!(
            "path: {} membership hop(s), a shortest path has {} ({:?})",
            x.hops,
            e.hops,
            row.get("path")
        ));
    }
    let name = shown_in_csv(&e.name);
    let first_ok = match e.kind {
        "user" => x.first.starts_with(&name),
        _ => x.first.contains(&name),
    };
    if !first_ok {
        out.push(format!(
            "path: starts at {:?}, not at {:?}",
            x.first, e.name
        ));
    }
    if x.via
        .is_some_and(|v| v.implicit() != (access == "implicit"))
    {
        out.push(format!(
            "access {access:?} but justified by {:?}",
            row.get("justifying_relationship")
        ));
    }
    if x.hops == e.hops && !e.ways.iter().any(|w| explains(w, &x, row)) {
        out.push(format!(
            "explained by {:?} through {:?} at {:?} citing {:?}, none of the shortest ways: {:?}",
            x.via, x.last, x.grant_scope, x.cite, e.ways
        ));
    }
    out
}

/// Compares the engine's access.csv with the oracle's rows.
fn diff_access(
    t: &expect::Tables,
    expected: &BTreeMap<AccessKey, Expected>,
    rows: &[AccessRow],
    problems: &mut Vec<String>,
) {
    let mut tenant_names = BTreeMap::new();
    for r in t.rows("tenants") {
        tenant_names
            .entry(expect::tenant(r, "tenant_id"))
            .or_insert_with(|| r.cells.get("name").cloned().unwrap_or_default());
    }
    let mut seen: BTreeMap<AccessKey, u64> = BTreeMap::new();
    for row in rows {
        let k = access_key(row);
        if let Some(first) = seen.insert(k.clone(), row.line) {
            problems.push(format!(
                "  duplicate  {} (access.csv lines {first} and {})",
                describe_access(&k),
                row.line
            ));
            continue;
        }
        match expected.get(&k) {
            None => problems.push(format!(
                "  unexpected {} (access.csv line {}: {} {:?}, {:?}, {:?})",
                describe_access(&k),
                row.line,
                row.get("principal_kind"),
                row.get("display_name"),
                row.get("path"),
                row.get("justifying_relationship")
            )),
            Some(e) => {
                let d = differences(e, row, &tenant_names);
                if !d.is_empty() {
                    problems.push(format!(
                        "  differing  {} (access.csv line {})",
                        describe_access(&k),
                        row.line
                    ));
                    problems.extend(d.into_iter().map(|d| format!("    {d}")));
                }
            }
        }
    }
    for (k, e) in expected {
        if !seen.contains_key(k) {
            problems.push(format!(
                "  missing    {} ({} {:?}, {} hop(s), listed {}, by {:?})",
                describe_access(k),
                e.kind,
                e.name,
                e.hops,
                e.listed,
                e.ways
            ));
        }
    }
}

/// How many rows are missing, unexpected or duplicated, and which fields
/// differ how often, e.g. `2 missing, 40 differing (home_tenant_id 40)`.
fn tally(problems: &[String]) -> String {
    let mut rows: BTreeMap<&str, usize> = BTreeMap::new();
    let mut fields: BTreeMap<&str, usize> = BTreeMap::new();
    for p in problems {
        if let Some(kind) = p.strip_prefix("  ").and_then(|p| p.split(' ').next()) {
            if !kind.is_empty() {
                *rows.entry(kind).or_default() += 1;
            }
        }
        if let Some(detail) = p.strip_prefix("    ") {
            let field = detail.split([':', ' ']).next().unwrap_or("");
            *fields.entry(field).or_default() += 1;
        }
    }
    let mut out: Vec<String> = rows.iter().map(|(k, n)| format!("{n} {k}")).collect();
    if !fields.is_empty() {
        let f: Vec<String> = fields.iter().map(|(k, n)| format!("{k} {n}")).collect();
        out.push(format!("fields: {}", f.join(", ")));
    }
    out.join(", ")
}

/// The access rows of the interesting kinds the seeds produced.
#[derive(Default, Debug)]
struct AccessCoverage {
    rows: usize,
    directory_assigned: usize,
    subscription_assigned: usize,
    resource_group_assigned: usize,
    resource_assigned: usize,
    /// A narrower scope held through a grant above it only.
    covered_below: usize,
    dap: usize,
    gdap: usize,
    profiles: usize,
    devices: usize,
    placeholders: usize,
    unresolved: usize,
    /// Two or more membership hops on every shortest path.
    deep: usize,
    /// Held implicitly and listed too.
    listed_implicit: usize,
    /// Several grants of one kind or another explain it equally short.
    tied: usize,
}

impl AccessCoverage {
    fn count(&mut self, expected: &BTreeMap<AccessKey, Expected>) {
        for (k, e) in expected {
            self.rows += 1;
            let vias: std::collections::BTreeSet<Via> = e.ways.iter().map(|w| w.via).collect();
            let depth = k.resource.trim_end_matches('/').matches('/').count();
            if vias.contains(&Via::Assigned) {
                if e.ways.iter().all(|w| w.grant_scope != k.resource) {
                    self.covered_below += 1;
                } else if k.resource == "/" {
                    self.directory_assigned += 1;
                } else if depth == 2 {
                    self.subscription_assigned += 1;
                } else if depth == 4 {
                    self.resource_group_assigned += 1;
                } else if depth > 4 {
                    self.resource_assigned += 1;
                }
            }
            self.dap += usize::from(vias.contains(&Via::Dap));
            self.gdap += usize::from(vias.contains(&Via::Gdap));
            self.profiles += usize::from(k.role == expect::access::PROFILE_MANAGER);
            self.devices += usize::from(k.role == expect::access::DEVICE_MANAGER);
            self.placeholders += usize::from(e.kind == "placeholder");
            self.unresolved += usize::from(e.kind == "unresolved");
            self.deep += usize::from(e.hops >= 2);
            self.listed_implicit += usize::from(e.listed && vias.iter().any(|v| v.implicit()));
            self.tied += usize::from(e.ways.len() > 1);
        }
    }
}

/// Validates access.csv against the oracle's effective access on every
/// seed of `engine_findings_match_an_independent_oracle`.
#[test]
fn access_table_matches_an_independent_oracle() {
    let root = Path::new(env!("CARGO_TARGET_TMPDIR")).join("oracle");
    let mut failures = String::new();
    let mut cov = AccessCoverage::default();
    for seed in seeds() {
        let dir = root.join(format!("access-seed-{seed}"));
        if dir.exists() {
            std::fs::remove_dir_all(&dir).expect("remove an old snapshot");
        }
        std::fs::create_dir_all(&dir).expect("snapshot directory");
        let snapshot = generate::generate(seed);
        generate::write(&snapshot, seed, &dir);
        let tables = expect::read(&dir);
        let expected = expect::access::effective_access(&tables);
        cov.count(&expected);
        let rows = audit_access(&dir);
        let mut problems = Vec::new();
        diff_access(&tables, &expected, &rows, &mut problems);
        if problems.is_empty() {
            std::fs::remove_dir_all(&dir).expect("remove a passing snapshot");
            continue;
        }
        let _ = writeln!(
            failures,
            "seed {seed} ({} perspective; snapshot kept in {}; rerun with ORACLE_SEED={seed}): {} rows expected, {} in access.csv; {}",
            snapshot.perspective,
            dir.display(),
            expected.len(),
            rows.len(),
            tally(&problems)
        );
        const SHOWN: usize = 40;
        for p in problems.iter().take(SHOWN) {
            let _ = writeln!(failures, "{p}");
        }
        if problems.len() > SHOWN {
            let _ = writeln!(failures, "  ... {} more lines", problems.len() - SHOWN);
        }
    }
    eprintln!("access coverage: {cov:?}");
    assert!(
        failures.is_empty(),
        "access.csv disagrees with the oracle:\n{failures}"
    );
    if seeds().len() >= 20 {
        // The seeds must keep reaching every kind of grant.
        for (what, n, min) in [
            // About a quarter of what the default 50 seeds reach.
            ("rows", cov.rows, 5000),
            ("directory assignments", cov.directory_assigned, 500),
            ("subscription assignments", cov.subscription_assigned, 700),
            (
                "resource-group assignments",
                cov.resource_group_assigned,
                400,
            ),
            ("resource assignments", cov.resource_assigned, 200),
            ("covered narrower scopes", cov.covered_below, 900),
            ("DAP grants", cov.dap, 500),
            ("GDAP grants", cov.gdap, 350),
            ("Autopilot profiles", cov.profiles, 450),
            ("Autopilot devices", cov.devices, 850),
            ("placeholders", cov.placeholders, 300),
            ("unresolved principals", cov.unresolved, 1500),
            ("paths of 2+ hops", cov.deep, 2000),
            ("listed implicit access", cov.listed_implicit, 30),
            ("tied shortest paths", cov.tied, 1000),
        ] {
            assert!(n >= min, "too few {what} ({n} < {min}): {cov:?}");
        }
    }
}

/// A row of effective access worked out by hand: who (a principal id, or
/// `placeholder GROUP of PARTNER`), resource, role, kind, home tenant,
/// hops, listed, and the shortest ways as (kind, table, line, grant scope).
struct HandRow<'a> {
    who: &'a str,
    tenant: &'a str,
    resource: &'a str,
    role: &'a str,
    kind: &'a str,
    home: &'a str,
    hops: usize,
    listed: bool,
    ways: &'a [(Via, &'a str, u64, &'a str)],
}

/// The oracle's rows in the hand-written form.
type Projected = BTreeMap<AccessKey, (String, Vec<String>, usize, bool, Vec<String>)>;

fn project(expected: &BTreeMap<AccessKey, Expected>) -> Projected {
    expected
        .iter()
        .map(|(k, e)| {
            let ways = e
                .ways
                .iter()
                .map(|w| format!("{:?} {}:{} at {}", w.via, w.table, w.line, w.grant_scope))
                .collect();
            (
                k.clone(),
                (
                    e.kind.to_string(),
                    e.homes.iter().cloned().collect(),
                    e.hops,
                    e.listed,
                    ways,
                ),
            )
        })
        .collect()
}

/// Checks a hand-written snapshot's effective access: the oracle must give
/// `want`, and the engine's access.csv must agree with the oracle.
fn check_access_hand_written(dir: &Path, want: &[HandRow<'_>]) {
    let tables = expect::read(dir);
    let expected = expect::access::effective_access(&tables);
    let want: Projected = want
        .iter()
        .map(|r| {
            let mut ways: Vec<String> = r
                .ways
                .iter()
                .map(|(via, table, line, scope)| {
                    format!(
                        "{via:?} {table}:{line} at {}",
                        expect::access::resource(scope)
                    )
                })
                .collect();
            ways.sort();
            (
                AccessKey {
                    tenant: r.tenant.to_string(),
                    resource: expect::access::resource(r.resource),
                    role: r.role.to_string(),
                    principal: r.who.to_string(),
                },
                (
                    r.kind.to_string(),
                    vec![r.home.to_string()],
                    r.hops,
                    r.listed,
                    ways,
                ),
            )
        })
        .collect();
    let got = project(&expected);
    if got != want {
        let mut diff = String::new();
        for (k, v) in &want {
            if got.get(k) != Some(v) {
                let _ = writeln!(
                    diff,
                    "  {}\n    by hand {v:?}\n    oracle  {:?}",
                    describe_access(k),
                    got.get(k)
                );
            }
        }
        for (k, v) in &got {
            if !want.contains_key(k) {
                let _ = writeln!(diff, "  {} only in the oracle: {v:?}", describe_access(k));
            }
        }
        panic!("the oracle disagrees with the hand-worked access rows:\n{diff}");
    }
    let rows = audit_access(dir);
    let mut problems = Vec::new();
    diff_access(&tables, &expected, &rows, &mut problems);
    assert!(
        problems.is_empty(),
        "access.csv disagrees with the oracle on {}:\n{}",
        dir.display(),
        problems.join("\n")
    );
}

/// Validates the oracle's effective access on a snapshot worked out by
/// hand, and access.csv against it: groups nested in a cycle (AdminAgents
/// and Tier 2 contain each other), a disabled user, an unresolved member,
/// active DAP with no HelpdeskAgents group (a placeholder), an active GDAP
/// access assignment, a user listed explicitly as Global Administrator as
/// well as through DAP, and Owner on a subscription with a resource group
/// named below it.
#[test]
fn oracle_matches_hand_worked_access() {
    let tier2 = "92000000-0000-4000-8000-000000000092";
    let gdap_admins = "93000000-0000-4000-8000-000000000093";
    let (ann, ben, cy) = (U1, "02000000-0000-4000-8000-000000000002", U3);
    let dee = "04000000-0000-4000-8000-000000000004";
    let x = UNKNOWN_PRINCIPAL;
    let r = "a1000000-0000-4000-8000-0000000000a1-0c000000-0000-4000-8000-0000000000c1";
    let sub = format!("/subscriptions/{S1}");
    let rg = format!("{sub}/resourceGroups/rg-app");
    let dir = hand_written(
        "hand-worked-access",
        &[
            (
                "tenants.csv",
                &format!("tenant_id,name,kind\n{P},Northwind,partner\n{C1},Contoso,customer\n"),
            ),
            (
                "principals.csv",
                &format!(
                    "tenant_id,principal_id,kind,display_name,enabled\n\
                     {P},{AA},group,AdminAgents,\n\
                     {P},{tier2},group,Tier 2,\n\
                     {P},{gdap_admins},group,GDAP Admins,\n\
                     {P},{ann},user,Ann,true\n\
                     {P},{ben},user,Ben,false\n\
                     {P},{cy},user,Cy,\n\
                     {C1},{dee},user,Dee,yes\n"
                ),
            ),
            (
                "memberships.csv",
                &format!(
                    "tenant_id,group_id,member_id\n\
                     {P},{AA},{tier2}\n\
                     {P},{tier2},{AA}\n\
                     {P},{tier2},{ann}\n\
                     {P},{AA},{ben}\n\
                     {P},{tier2},{x}\n\
                     {P},{gdap_admins},{tier2}\n\
                     {P},{gdap_admins},{cy}\n"
                ),
            ),
            (
                "relationships.csv",
                &format!(
                    "partner_tenant_id,customer_tenant_id,kind,state,relationship_id,roles\n\
                     {P},{C1},dap,active,,\n\
                     {P},{C1},gdap,active,{r},User Administrator;Global Reader\n"
                ),
            ),
            (
                "gdap_access_assignments.csv",
                &format!("relationship_id,group_id,roles,state\n{r},{gdap_admins},User Administrator,active\n"),
            ),
            (
                "role_assignments.csv",
                &format!(
                    "tenant_id,scope,role,principal_id,principal_tenant_id\n\
                     {C1},/,Company Administrator,{ann},{P}\n\
                     {C1},/,Global Administrator,{dee},\n\
                     {C1},{sub},Owner,{AA},{P}\n\
                     {C1},{rg},Reader,{dee},\n"
                ),
            ),
        ],
    );
    let placeholder = format!("placeholder HelpdeskAgents of {P}");
    let row = |who, resource, role, kind, home, hops, listed, ways| HandRow {
        who,
        tenant: C1,
        resource,
        role,
        kind,
        home,
        hops,
        listed,
        ways,
    };
    let dap = &[(Via::Dap, "relationships", 2, "/")];
    let gdap = &[(Via::Gdap, "gdap_access_assignments", 2, "/")];
    let owner = &[(Via::Assigned, "role_assignments", 4, sub.as_str())];
    let (ga, ua) = ("Global Administrator", "User Administrator");
    check_access_hand_written(
        &dir,
        &[
            // Ann: listed as Company Administrator (0 hops) beats DAP
            // through AdminAgents → Tier 2 → Ann (2 hops). Ben is disabled
            // and holds nothing; x, unresolved, holds what Tier 2 holds.
            row(
                ann,
                "/",
                ga,
                "user",
                P,
                0,
                true,
                &[(Via::Assigned, "role_assignments", 2, "/")],
            ),
            row(x, "/", ga, "unresolved", P, 2, false, dap),
            row(
                dee,
                "/",
                ga,
                "user",
                C1,
                0,
                true,
                &[(Via::Assigned, "role_assignments", 3, "/")],
            ),
            // No HelpdeskAgents group: a placeholder holds its role.
            row(
                &placeholder,
                "/",
                "Helpdesk Administrator",
                "placeholder",
                P,
                0,
                false,
                dap,
            ),
            // GDAP: GDAP Admins → Cy; GDAP Admins → Tier 2 → Ann, x. Global
            // Reader is granted but assigned to nobody.
            row(cy, "/", ua, "user", P, 1, false, gdap),
            row(ann, "/", ua, "user", P, 2, false, gdap),
            row(x, "/", ua, "unresolved", P, 2, false, gdap),
            // Owner on the subscription covers the resource group below it.
            row(ann, &sub, "Owner", "user", P, 2, true, owner),
            row(x, &sub, "Owner", "unresolved", P, 2, true, owner),
            row(ann, &rg, "Owner", "user", P, 2, true, owner),
            row(x, &rg, "Owner", "unresolved", P, 2, true, owner),
            row(
                dee,
                &rg,
                "Reader",
                "user",
                C1,
                0,
                true,
                &[(Via::Assigned, "role_assignments", 5, rg.as_str())],
            ),
        ],
    );
}

/// Guards SPEC §4 ("a role on a subscription covers the scopes below it")
/// for a resource group named in two cases: Azure resource ids are
/// case-insensitive (a subscription cannot hold both `rg-app` and
/// `RG-APP`), so Owner on `rg-app` covers a virtual machine filed under
/// `RG-APP`, as it would under `rg-app`.
#[test]
fn a_resource_group_named_in_another_case_is_covered_by_its_assignments() {
    let ben = "02000000-0000-4000-8000-000000000002";
    let rg = format!("/subscriptions/{S1}/resourceGroups/rg-app");
    let vm = format!(
        "/subscriptions/{S1}/resourceGroups/RG-APP/providers/Microsoft.Compute/virtualMachines/vm-01"
    );
    let dir = hand_written(
        "resource-group-case",
        &[
            (
                "tenants.csv",
                &format!("tenant_id,name,kind\n{C1},Contoso,customer\n"),
            ),
            (
                "principals.csv",
                &format!(
                    "tenant_id,principal_id,kind,display_name\n{C1},{U1},user,Ann\n{C1},{ben},user,Ben\n"
                ),
            ),
            (
                "role_assignments.csv",
                &format!(
                    "tenant_id,scope,role,principal_id\n{C1},{rg},Owner,{U1}\n{C1},{vm},Reader,{ben}\n"
                ),
            ),
        ],
    );
    let by = |line, scope| [(Via::Assigned, "role_assignments", line, scope)];
    let (owner, reader) = (by(2, rg.as_str()), by(3, vm.as_str()));
    let row = |who, resource, role, ways| HandRow {
        who,
        tenant: C1,
        resource,
        role,
        kind: "user",
        home: C1,
        hops: 0,
        listed: true,
        ways,
    };
    check_access_hand_written(
        &dir,
        &[
            row(U1, &rg, "Owner", &owner),
            row(U1, &vm, "Owner", &owner),
            row(ben, &vm, "Reader", &reader),
        ],
    );
}

/// Guards SPEC §3 for a principal the snapshot does not list:
/// `principal_tenant_id` is the principal's home tenant, the scope's tenant
/// only a fallback when nothing tells (an empty cell). A partner's group,
/// absent from a customer-perspective export, is assigned twice: first
/// without `principal_tenant_id`, then with the partner's. Object ids are
/// globally unique, so it has one home, the partner the second row names;
/// its access.csv rows must not present it as the customer's own.
#[test]
fn an_unresolved_principal_s_home_is_the_tenant_a_row_names() {
    let sub = format!("/subscriptions/{S1}");
    let rg = format!("{sub}/resourceGroups/rg-app");
    let dir = hand_written(
        "unresolved-home",
        &[
            (
                "tenants.csv",
                &format!("tenant_id,name,kind\n{P},Northwind,partner\n{C1},Contoso,customer\n"),
            ),
            (
                "role_assignments.csv",
                &format!(
                    "tenant_id,scope,role,principal_id,principal_tenant_id\n\
                     {C1},{sub},Reader,{AA},\n\
                     {C1},{rg},Owner,{AA},{P}\n"
                ),
            ),
        ],
    );
    let reader = [(Via::Assigned, "role_assignments", 2, sub.as_str())];
    let owner = [(Via::Assigned, "role_assignments", 3, rg.as_str())];
    let row = |resource, role, ways| HandRow {
        who: AA,
        tenant: C1,
        resource,
        role,
        kind: "unresolved",
        home: P,
        hops: 0,
        listed: true,
        ways,
    };
    check_access_hand_written(
        &dir,
        &[
            row(&sub, "Reader", &reader),
            row(&rg, "Reader", &reader),
            row(&rg, "Owner", &owner),
        ],
    );
}
