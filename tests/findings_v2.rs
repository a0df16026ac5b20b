//! findings.json format_version 2: real outputs (the demo and a generated
//! snapshot) validate against docs/findings-v2.schema.json, every reference
//! resolves and joining them gives back the format_version 1 content, keys
//! are derived from content and tables are sorted, `--findings-format v1`
//! still works (with one warning), and the baseline reader takes both.

mod common;

use std::path::Path;

use partner_audit::app::Audit;
use partner_audit::report::baseline::Baseline;
use serde_json::Value;
use sha2::{Digest, Sha256};

const SCHEMA: &str = include_str!("../docs/findings-v2.schema.json");

/// Validates `doc` against the v2 schema (format assertions on).
fn validate(doc: &Value) -> Result<(), String> {
    let schema: Value = serde_json::from_str(SCHEMA).expect("schema is JSON");
    let url = "https://github.com/partner-audit/partner-audit/docs/findings-v2.schema.json";
    let mut schemas = boon::Schemas::new();
    let mut compiler = boon::Compiler::new();
    compiler.enable_format_assertions();
    compiler.add_resource(url, schema).expect("add schema");
    let idx = compiler.compile(url, &mut schemas).expect("compile schema");
    schemas.validate(doc, idx).map_err(|e| format!("{e:#}"))
}

fn parse(text: &str) -> Value {
    serde_json::from_str(text).expect("findings.json is JSON")
}

/// A generated snapshot of `customers` customers (seed 3) and its audit.
fn generated(customers: usize, dir: &Path) -> Audit {
    let snap = dir.join("snap");
    partner_audit::generate::generate(
        &partner_audit::generate::GenerateOptions::new(customers, 3),
        &snap,
    )
    .expect("generate");
    common::audit(&snap.display().to_string())
}

/// Both layouts of an audit, parsed.
fn both(a: &Audit) -> (Value, Value) {
    let v1 = parse(&common::findings_json(a));
    let v2 = parse(&common::findings_json_v2(a, &common::catalog()));
    (v1, v2)
}

/// Validates the demo's findings.json against the schema.
#[test]
fn demo_validates_against_the_schema() {
    let (_, v2) = both(&common::audit("fixtures/demo"));
    assert_eq!(v2["format_version"], 2);
    validate(&v2).unwrap_or_else(|e| panic!("{e}"));
}

/// Validates a generated snapshot's findings.json against the schema (every
/// rule, placeholders, unresolved principals and long chains occur there).
#[test]
fn generated_validates_against_the_schema() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (_, v2) = both(&generated(60, tmp.path()));
    assert!(v2["findings"].as_array().map_or(0, Vec::len) > 100);
    validate(&v2).unwrap_or_else(|e| panic!("{e}"));
}

/// Validates that the schema rejects what it must: a finding whose
/// `principals` is a list again, a chain key of the wrong shape, a rule
/// without its remediation.
#[test]
fn schema_rejects_broken_documents() {
    let (_, v2) = both(&common::audit("fixtures/demo"));
    let mut a = v2.clone();
    a["findings"][0]["principals"] = serde_json::json!([]);
    assert!(validate(&a).is_err(), "principals as a list");
    let mut b = v2.clone();
    let first = b["chains"]
        .as_object()
        .and_then(|m| m.keys().next().cloned())
        .expect("a chain");
    let hops = b["chains"][&first].clone();
    b["chains"]["chain-1"] = hops;
    assert!(validate(&b).is_err(), "chain key");
    let mut c = v2;
    c["rules"]["DAP001"]
        .as_object_mut()
        .expect("rule")
        .remove("remediation");
    assert!(validate(&c).is_err(), "rule without remediation");
}

/// The findings of a v1 document and the joined v2 findings, with each
/// finding's paths sorted (v1 lists them by member id, v2 by grant).
fn comparable(findings: Vec<Value>) -> Vec<Value> {
    findings
        .into_iter()
        .map(|mut f| {
            let mut paths: Vec<String> = f["paths"]
                .as_array()
                .expect("paths")
                .iter()
                .map(|p| p.as_str().expect("path text").to_owned())
                .collect();
            paths.sort();
            f["paths"] = serde_json::json!(paths);
            f
        })
        .collect()
}

/// The top-level tables of format_version 2, in the order they are written.
const TABLES: [&str; 8] = [
    "rules",
    "tenants",
    "principals",
    "principal_sets",
    "chains",
    "chain_sets",
    "evidence",
    "remediations",
];

/// Everything but the layout's own keys: equal in both versions.
fn head(doc: &Value) -> Value {
    let mut h = doc.clone();
    let m = h.as_object_mut().expect("object");
    for k in ["format_version", "findings"].iter().chain(&TABLES) {
        m.remove(*k);
    }
    h
}

fn assert_v2_reproduces_v1(a: &Audit) {
    let (v1, v2) = both(a);
    assert_eq!(
        head(&v1),
        head(&v2),
        "the head is the same in both versions"
    );
    let want = comparable(common::joined_findings(&v1));
    let got = comparable(common::joined_findings(&v2));
    assert_eq!(want.len(), got.len());
    for (w, g) in want.iter().zip(&got) {
        assert_eq!(w, g, "finding {}", w["id"]);
    }
    // The names v2 adds are the tenants table's.
    for f in v2["findings"].as_array().expect("findings") {
        for (id, name) in [
            ("partner_tenant_id", "partner_name"),
            ("customer_tenant_id", "customer_name"),
        ] {
            match f[id].as_str() {
                Some(t) => assert_eq!(f[name], v2["tenants"][t]["name"], "{}", f["id"]),
                None => assert!(f[name].is_null()),
            }
        }
    }
}

/// Validates that joining every reference of the demo's v2 gives back the
/// v1 findings exactly (titles, remediation, principals, path texts,
/// evidence), and the same head: the contract loses nothing.
#[test]
fn demo_v2_reproduces_v1() {
    assert_v2_reproduces_v1(&common::audit("fixtures/demo"));
}

/// The same on a generated snapshot.
#[test]
fn generated_v2_reproduces_v1() {
    let tmp = tempfile::tempdir().expect("tempdir");
    assert_v2_reproduces_v1(&generated(60, tmp.path()));
}

/// The same on a chain of 30 nested groups, which v1 and v2 both show as
/// the first and last 8 principals and the count of the groups between
/// (in v2 a number among the chain's hops).
#[test]
fn long_chain_v2_reproduces_v1() {
    let dir = common::nested_groups_snapshot(30);
    let a = common::audit(&dir.path().display().to_string());
    assert_v2_reproduces_v1(&a);
    let (v1, v2) = both(&a);
    let elided: Vec<&Value> = v2["chains"]
        .as_object()
        .expect("chains")
        .values()
        .flat_map(|hops| hops.as_array().expect("hops"))
        .filter(|h| h.is_u64())
        .collect();
    // Deep Dana, 31 groups (30 down to AdminAgents): 32 principals, 8 shown at each end.
    assert_eq!(
        elided,
        [&serde_json::json!(32 - 16)],
        "one chain of 8 + 16 + 8"
    );
    assert!(v1.to_string().contains("… 16 more groups …"));
    validate(&v2).unwrap_or_else(|e| panic!("{e}"));
}

/// The first 16 hex digits of the SHA-256 of `parts` joined by U+001F.
fn key(prefix: &str, parts: &[String]) -> String {
    let mut h = Sha256::new();
    h.update(parts.join("\u{1f}").as_bytes());
    let d = h.finalize();
    let hex: String = d.iter().take(8).map(|b| format!("{b:02x}")).collect();
    format!("{prefix}{hex}")
}

fn texts(v: &Value) -> Vec<String> {
    v.as_array()
        .expect("array")
        .iter()
        .map(|x| match x {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        })
        .collect()
}

/// Validates that every key is derived from its content as documented, so
/// that the same content has the same key in any run or shard.
#[test]
fn keys_are_derived_from_content() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (_, v2) = both(&generated(30, tmp.path()));
    for (table, prefix) in [
        ("principal_sets", "ps-"),
        ("chains", "c-"),
        ("chain_sets", "cs-"),
    ] {
        let entries = v2[table].as_object().expect("table");
        assert!(!entries.is_empty(), "{table}");
        for (k, v) in entries {
            assert_eq!(*k, key(prefix, &texts(v)), "{table}");
        }
    }
    // Evidence lines and remediations are keyed by their text.
    for (table, prefix) in [("evidence", "e-"), ("remediations", "r-")] {
        let entries = v2[table].as_object().expect("table");
        assert!(!entries.is_empty(), "{table}");
        for (k, v) in entries {
            let text = v.as_str().expect("text").to_owned();
            assert_eq!(*k, key(prefix, &[text]), "{table}");
        }
    }
}

/// Validates the layout: tables sorted by key with one entry a line,
/// findings one a line, and the same bytes for the same input.
#[test]
fn tables_are_sorted_and_one_entry_a_line() {
    let a = common::audit("fixtures/demo");
    let text = common::findings_json_v2(&a, &common::catalog());
    assert_eq!(text, common::findings_json_v2(&a, &common::catalog()));
    let doc = parse(&text);
    let lines: Vec<&str> = text.lines().collect();
    for table in TABLES {
        let start = lines
            .iter()
            .position(|l| *l == format!("  \"{table}\": {{"))
            .unwrap_or_else(|| panic!("table {table}"));
        let keys: Vec<String> = lines[start + 1..]
            .iter()
            .take_while(|l| l.starts_with("    \""))
            .map(|l| {
                let end = l[5..].find('"').expect("key end") + 5;
                l[5..end].to_owned()
            })
            .collect();
        assert_eq!(keys.len(), doc[table].as_object().map_or(0, |m| m.len()));
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(keys, sorted, "{table} is sorted by key");
    }
    let findings = doc["findings"].as_array().expect("findings");
    let start = lines
        .iter()
        .position(|l| *l == "  \"findings\": [")
        .expect("findings");
    for (i, f) in findings.iter().enumerate() {
        let line = lines[start + 1 + i].trim_end_matches(',').trim_start();
        assert_eq!(&parse(line), f, "finding {i} is on one line");
    }
}

/// Validates `--findings-format v1`: the format_version 1 bytes, one
/// deprecation warning; the default writes v2 without it.
#[test]
fn findings_format_v1_is_deprecated_but_works() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = tmp.path().join("v1");
    let out_s = out.display().to_string();
    let (code, _, err) = common::run(&[
        "audit",
        "fixtures/demo",
        "--out",
        &out_s,
        "--findings-format",
        "v1",
        "--fail-on",
        "never",
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(err.matches("deprecated").count(), 1, "{err}");
    assert!(err.contains("docs/findings-v2.md"), "{err}");
    let written = std::fs::read_to_string(out.join("findings.json")).expect("findings.json");
    assert_eq!(
        written,
        common::findings_json(&common::audit("fixtures/demo"))
    );
    let out2 = tmp.path().join("v2");
    let out2_s = out2.display().to_string();
    let (code, _, err) = common::run(&[
        "audit",
        "fixtures/demo",
        "--out",
        &out2_s,
        "--fail-on",
        "never",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(!err.contains("deprecated"), "{err}");
    assert_eq!(common::read_findings_json(&out2)["format_version"], 2);
}

/// Validates that a v1 and a v2 baseline of the same run read the same.
#[test]
fn baseline_reads_v1_and_v2_alike() {
    let a = common::audit("fixtures/demo");
    let tmp = tempfile::tempdir().expect("tempdir");
    let (p1, p2) = (tmp.path().join("v1.json"), tmp.path().join("v2.json"));
    std::fs::write(&p1, common::findings_json(&a)).expect("write");
    std::fs::write(&p2, common::findings_json_v2(&a, &common::catalog())).expect("write");
    let b1 = Baseline::load(&p1).expect("v1 baseline");
    let b2 = Baseline::load(&p2).expect("v2 baseline");
    assert_eq!(b1.findings.len(), a.findings.len());
    assert_eq!(b1.findings, b2.findings);
    assert!(b2.findings.iter().all(|p| !p.title.is_empty()));
}

/// The errors of loading `text` as a baseline.
fn baseline_errors(text: &str) -> String {
    let tmp = tempfile::tempdir().expect("tempdir");
    let p = tmp.path().join("findings.json");
    std::fs::write(&p, text).expect("write");
    match Baseline::load(&p) {
        Ok(_) => panic!("a malformed baseline loaded"),
        Err(d) => d
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("\n"),
    }
}

/// Validates that a malformed v2 baseline is refused with the field named:
/// a rule without a title, a finding whose rule is not in `rules`, no
/// `rules` at all.
#[test]
fn malformed_v2_baseline_names_the_field() {
    let a = common::audit("fixtures/demo");
    let v2 = parse(&common::findings_json_v2(&a, &common::catalog()));
    let mut doc = v2.clone();
    doc["rules"]["DAP001"]
        .as_object_mut()
        .expect("rule")
        .remove("title");
    let err = baseline_errors(&serde_json::to_string_pretty(&doc).expect("json"));
    assert!(err.contains("field `rules.DAP001.title`"), "{err}");
    assert_eq!(err.lines().count(), 1, "reported once: {err}");
    let mut doc = v2.clone();
    doc["rules"].as_object_mut().expect("rules").remove("AZ001");
    let err = baseline_errors(&serde_json::to_string_pretty(&doc).expect("json"));
    assert!(
        err.contains("field `rule`") && err.contains("rule `AZ001` is not in `rules`"),
        "{err}"
    );
    assert!(err.contains("findings.json:"), "names the file: {err}");
    let mut doc = v2;
    doc.as_object_mut().expect("doc").remove("rules");
    let err = baseline_errors(&serde_json::to_string(&doc).expect("json"));
    assert!(err.contains("field `rules`"), "{err}");
    let err = baseline_errors(r#"{"format_version": 3, "findings": []}"#);
    assert!(
        err.contains("unsupported baseline format_version `3`"),
        "{err}"
    );
}
