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

fn outputs_for_threads(snapshot: &str) -> Vec<Vec<u8>> {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut outputs = Vec::new();
    for threads in ["1", "4"] {
        let out = dir.path().join(threads);
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
        ]);
        assert_eq!(code, 0, "{err}");
        outputs.push(std::fs::read(out.join("findings.json")).expect("findings.json"));
    }
    outputs
}

/// Validates byte-identical findings.json for 1 and 4 threads on the demo.
#[test]
fn demo_findings_are_identical_for_any_thread_count() {
    let outputs = outputs_for_threads("fixtures/demo");
    assert!(!outputs[0].is_empty());
    assert_eq!(outputs[0], outputs[1]);
}

/// Validates byte-identical findings.json for 1 and 4 threads on a generated
/// snapshot large enough for rayon to split the work differently.
#[test]
fn generated_findings_are_identical_for_any_thread_count() {
    let dir = tempfile::tempdir().expect("tempdir");
    let snap = dir.path().join("snap");
    let snap_s = snap.to_string_lossy().into_owned();
    let (code, _, err) = common::run(&["generate", "--customers", "300", "--seed", "7", &snap_s]);
    assert_eq!(code, 0, "{err}");
    let outputs = outputs_for_threads(&snap_s);
    let doc: serde_json::Value = serde_json::from_slice(&outputs[0]).expect("json");
    assert!(
        doc["findings"].as_array().map_or(0, Vec::len) > 100,
        "the generated snapshot yields many findings"
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
