//! The complete export folder `fixtures/exports/northwind` (a partner and
//! three customers, as Graph, Graph PowerShell, Partner Center and `az`
//! save them): its audit is snapshot-tested, agrees with the same data in
//! canonical form (`fixtures/exports/northwind-canonical`), and agrees with
//! the canonical snapshot `partner-audit import` writes from it.

mod common;

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;

use serde_json::Value;

const EXPORT: &str = "fixtures/exports/northwind";
const TWIN: &str = "fixtures/exports/northwind-canonical";

/// Each finding's identity and content, without what cites source files
/// (`assignment.source`, `evidence`): the same data in another layout must
/// give exactly these.
fn keyed(findings_json: &str) -> Vec<String> {
    let doc: Value = serde_json::from_str(findings_json).expect("findings.json");
    let mut out: Vec<String> = doc["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| {
            let mut f = f.clone();
            if let Some(o) = f.as_object_mut() {
                o.remove("evidence");
                if let Some(a) = o.get_mut("assignment").and_then(Value::as_object_mut) {
                    a.remove("source");
                }
            }
            f.to_string()
        })
        .collect();
    out.sort();
    out
}

fn audit_json(path: &str) -> String {
    common::findings_json(&common::audit(path))
}

/// Validates the export folder's complete findings.json (insta snapshot).
#[test]
fn northwind_findings_snapshot() {
    insta::assert_snapshot!("northwind_findings_json", audit_json(EXPORT));
}

/// Validates that the export exercises DAP, GDAP with access assignments, a
/// lingering ForeignGroup Owner, `az` output and Autopilot: the findings
/// derived by hand in the fixture's design.
#[test]
fn northwind_fires_the_expected_rules() {
    let a = common::audit(EXPORT);
    let got: BTreeSet<(String, String)> = a
        .findings
        .iter()
        .map(|f| {
            let customer = f
                .customer_tenant_id
                .and_then(|c| a.snapshot.tenants.iter().find(|t| t.tenant_id == c))
                .map_or_else(String::new, |t| t.name.to_string());
            (f.rule.to_string(), customer)
        })
        .collect();
    let want: BTreeSet<(String, String)> = [
        ("DAP001", "Contoso Dental Group"),
        ("DAP002", "Contoso Dental Group"),
        ("DAP003", "Contoso Dental Group"),
        ("AZ002", "Contoso Dental Group"),
        ("SR001", "Fabrikam Logistics"),
        ("AZ001", "Fabrikam Logistics"),
        ("AZ003", "Fabrikam Logistics"),
        ("AP001", "Fabrikam Logistics"),
        ("AP002", "Fabrikam Logistics"),
        ("AP003", "Fabrikam Logistics"),
        ("DAP001", "Alpine Ski House"),
        ("DAP002", "Alpine Ski House"),
        ("DAP003", "Alpine Ski House"),
        ("DAP004", "Alpine Ski House"),
        ("DAP005", "Alpine Ski House"),
        ("AZ004", "Alpine Ski House"),
    ]
    .iter()
    .map(|(r, c)| ((*r).to_owned(), (*c).to_owned()))
    .collect();
    assert_eq!(got, want);
    assert_eq!(a.findings.len(), want.len());
    let lingering = a
        .findings
        .iter()
        .find(|f| &*f.rule == "AZ001")
        .and_then(|f| f.assignment.as_deref())
        .expect("AZ001 names the assignment to remove");
    assert_eq!(lingering.role, "Owner");
    assert!(
        lingering
            .source
            .contains("arm-role-assignments.page1.json:"),
        "{}",
        lingering.source
    );
}

/// Validates that the export and its hand-written canonical twin give the
/// same findings (ids, messages, resources, principals, paths).
#[test]
fn northwind_agrees_with_its_canonical_twin() {
    let export = keyed(&audit_json(EXPORT));
    let twin = keyed(&audit_json(TWIN));
    assert!(!export.is_empty());
    assert_eq!(export, twin);
}

/// Validates that `partner-audit import` writes a canonical snapshot whose
/// audit gives the same findings as auditing the export folder directly.
#[test]
fn imported_snapshot_audits_like_the_export() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("snapshot");
    let out_s = out.to_string_lossy().into_owned();
    let (code, stdout, stderr) = common::run(&["import", EXPORT, "--out", &out_s]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("4 tenants"), "{stdout}");
    assert!(
        stderr.contains("classic administrator `it-contractor@alpine-ext.ch`"),
        "warnings go to stderr: {stderr}"
    );
    assert!(!partner_audit::import::is_export_folder(&out));
    assert_eq!(keyed(&audit_json(&out_s)), keyed(&audit_json(EXPORT)));
}

/// Validates that `import` is deterministic (byte-identical files) and
/// replaces an earlier snapshot in place, but refuses to overwrite a
/// directory that is not a snapshot.
#[test]
fn import_is_deterministic_and_replaces_only_snapshots() {
    let dir = tempfile::tempdir().expect("tempdir");
    let read_all = |p: &Path| {
        let mut names: Vec<_> = fs::read_dir(p)
            .expect("read out")
            .map(|e| e.expect("entry").file_name())
            .collect();
        names.sort();
        names
            .into_iter()
            .map(|n| (n.clone(), fs::read(p.join(n)).expect("file")))
            .collect::<Vec<_>>()
    };
    let out = dir.path().join("snap");
    let out_s = out.to_string_lossy().into_owned();
    assert_eq!(common::run(&["import", EXPORT, "--out", &out_s]).0, 0);
    let first = read_all(&out);
    assert_eq!(
        first.len(),
        partner_audit::snapshot::TABLES.len() + 1,
        "every table and manifest.json"
    );
    assert_eq!(common::run(&["import", EXPORT, "--out", &out_s]).0, 0);
    assert_eq!(read_all(&out), first, "same bytes, replaced in place");
    let leftovers: Vec<_> = fs::read_dir(dir.path())
        .expect("read dir")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert_eq!(
        leftovers.len(),
        1,
        "no temporary directory left: {leftovers:?}"
    );

    let other = dir.path().join("notes");
    fs::create_dir(&other).expect("mkdir");
    fs::write(other.join("todo.txt"), "keep me").expect("write");
    let other_s = other.to_string_lossy().into_owned();
    let (code, _, stderr) = common::run(&["import", EXPORT, "--out", &other_s]);
    assert_eq!(code, 2);
    assert!(stderr.contains("refusing to overwrite"), "{stderr}");
    assert!(other.join("todo.txt").exists());
}

/// Validates per-table accounting of the export: rows read, merged and
/// rejected, with the unmatched classic administrator counted, not dropped.
#[test]
fn northwind_accounting() {
    let a = common::audit(EXPORT);
    let acc = &a.snapshot.accounting;
    let ra = &acc["role_assignments"];
    assert_eq!(ra.rows_rejected, 1, "the unmatched classic administrator");
    assert_eq!(ra.rows_read, ra.rows_used + ra.rows_rejected);
    assert_eq!(a.snapshot.role_assignments.len(), 14);
    let rel = &acc["relationships"];
    assert_eq!(
        rel.rows_used, 13,
        "contracts and Partner Center both list resellers"
    );
    assert_eq!(a.snapshot.relationships.len(), 10);
    assert!(acc["devices"]
        .files
        .iter()
        .any(|f| f.ends_with("AutopilotHWID.csv")));
}

/// Validates that `audit` of an export folder exits like any audit and that
/// its findings.json is identical for any thread count.
#[test]
fn audit_cli_reads_export_folders() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut outputs = Vec::new();
    for threads in ["1", "4"] {
        let out = dir.path().join(threads);
        let out_s = out.to_string_lossy().into_owned();
        let (code, stdout, _) =
            common::run(&["audit", EXPORT, "--out", &out_s, "--threads", threads]);
        assert_eq!(code, 1, "findings at or above low: {stdout}");
        outputs.push(fs::read(out.join("findings.json")).expect("findings.json"));
    }
    assert_eq!(outputs[0], outputs[1]);
}
