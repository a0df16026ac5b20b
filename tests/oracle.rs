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
