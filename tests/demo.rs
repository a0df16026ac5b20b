//! The bundled demo: its findings.json is snapshot-tested, and identical for
//! any thread count.

mod common;

/// Validates the demo's complete findings.json (insta snapshot).
#[test]
fn demo_findings_snapshot() {
    let a = common::audit("fixtures/demo");
    insta::assert_snapshot!(
        "demo_findings_json",
        common::findings_json_v2(&a, &common::catalog())
    );
}

/// Validates that the demo exercises every core rule.
#[test]
fn demo_exercises_every_core_rule() {
    let a = common::audit("fixtures/demo");
    for id in [
        "DAP001", "DAP002", "DAP003", "AZ001", "AZ002", "AZ003", "AZ004",
    ] {
        assert!(
            a.findings.iter().any(|f| &*f.rule == id),
            "{id} does not fire on the demo"
        );
    }
}

/// Validates that the demo shows each cross-tenant and GDAP lifecycle rule
/// with a finding (fixtures/demo/NOTES.md says which row causes each).
#[test]
fn demo_shows_cross_tenant_settings_and_gdap_lifecycle() {
    let a = common::audit("fixtures/demo");
    for id in [
        "XT001", "XT002", "XT003", "GDAP004", "GDAP005", "GDAP006", "GDAP007", "GDAP008",
    ] {
        assert!(
            a.findings.iter().any(|f| &*f.rule == id),
            "{id} does not fire on the demo"
        );
    }
}

/// The reports of a run at 1 and at 4 threads, written under `dir`.
fn outputs_for_threads(snapshot: &str, dir: &std::path::Path) -> Vec<Vec<u8>> {
    let mut outputs = Vec::new();
    for threads in ["1", "4"] {
        let out = dir.join(threads);
        let out_s = out.to_string_lossy().into_owned();
        let (code, _, err) = common::run(&[
            "audit",
            snapshot,
            "--out",
            &out_s,
            "--threads",
            threads,
            "--fail-on",
            "never",
            "--format",
            "json,csv",
        ]);
        assert_eq!(code, 0, "{err}");
        let mut bytes = Vec::new();
        for name in ["findings.json", "findings.csv", "access.csv"] {
            bytes.extend(std::fs::read(out.join(name)).expect(name));
            bytes.extend(format!("\n==> end of {name} <==\n").as_bytes());
        }
        outputs.push(bytes);
    }
    outputs
}

/// Validates byte-identical findings.json, findings.csv and access.csv for
/// 1 and 4 threads on the demo.
#[test]
fn demo_findings_are_identical_for_any_thread_count() {
    let dir = tempfile::tempdir().expect("tempdir");
    let outputs = outputs_for_threads("fixtures/demo", dir.path());
    assert!(!outputs[0].is_empty());
    assert_eq!(outputs[0], outputs[1]);
}

/// Validates byte-identical findings.json, findings.csv and access.csv for
/// 1 and 4 threads on a generated snapshot large enough for rayon to split
/// the work differently, and for the CSV writers' batches (1,024 findings,
/// 64 tenants) to be several.
#[test]
fn generated_findings_are_identical_for_any_thread_count() {
    let dir = tempfile::tempdir().expect("tempdir");
    let snap = dir.path().join("snap");
    let snap_s = snap.to_string_lossy().into_owned();
    let (code, _, err) = common::run(&["generate", "--customers", "300", "--seed", "7", &snap_s]);
    assert_eq!(code, 0, "{err}");
    let outputs = outputs_for_threads(&snap_s, dir.path());
    let doc: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("1/findings.json")).expect("read"))
            .expect("json");
    assert!(
        doc["findings"].as_array().map_or(0, Vec::len) > 2 * 1024,
        "the generated snapshot yields several batches of findings"
    );
    assert!(
        doc["tenants"].as_object().map_or(0, serde_json::Map::len) > 2 * 64,
        "and of tenants"
    );
    // The batches are written in report order: findings.csv lists the
    // findings of findings.json in its order, and access.csv is sorted by
    // tenant name and id, each tenant's rows together.
    let ids: Vec<&str> = doc["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| f["id"].as_str().expect("id"))
        .collect();
    let mut rdr = csv::Reader::from_path(dir.path().join("1/findings.csv")).expect("findings.csv");
    let csv_ids: Vec<String> = rdr
        .records()
        .map(|r| r.expect("record")[0].to_string())
        .collect();
    assert_eq!(csv_ids, ids);
    let mut rdr = csv::Reader::from_path(dir.path().join("1/access.csv")).expect("access.csv");
    let keys: Vec<(String, String)> = rdr
        .records()
        .map(|r| {
            let r = r.expect("record");
            (r[7].to_string(), r[6].to_string())
        })
        .collect();
    assert!(keys.len() > 1000, "{} access rows", keys.len());
    assert!(
        keys.windows(2).all(|w| w[0] <= w[1]),
        "access.csv is sorted by tenant"
    );
    assert_eq!(outputs[0], outputs[1]);
}

/// Validates that findings with the same principal list share one
/// allocation of it (at scale, every DAP001 finding of a partner lists the
/// same AdminAgents members).
#[test]
fn equal_principal_lists_are_shared() {
    let a = common::audit("fixtures/demo");
    let mut pairs = 0;
    for (i, f) in a.findings.iter().enumerate() {
        for g in &a.findings[i + 1..] {
            if !f.principals.is_empty() && f.principals == g.principals {
                assert!(
                    std::sync::Arc::ptr_eq(&f.principals, &g.principals),
                    "{} and {} list the same principals in two allocations",
                    f.id,
                    g.id
                );
                pairs += 1;
            }
        }
    }
    assert!(
        pairs > 0,
        "the demo has no two findings with the same principals"
    );
}
