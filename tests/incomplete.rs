//! Incomplete tenants (issue #11 item 8): an export whose paging lost a page
//! stops `import` and `audit` unless `--keep-going`; then, and whenever a
//! manifest lists `incomplete` tenants, every report marks them so that a
//! tenant with no findings never looks clean.

mod common;

use std::path::Path;

use serde_json::Value;

const EXPORT: &str = "fixtures/exports/bad/incomplete-members";
const PARTNER: &str = "f408df09-d465-436f-a6fe-bf88ee3f43ea";
const CUSTOMER: &str = "1ccaa256-d985-44c4-9ffe-e8a78898c476";
const GROUP: &str = "ca014b42-6651-478a-b29f-6826cfa3230c";

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("read {}: {e}", p.display()))
}

/// Validates that a members listing missing its last page stops `import`
/// and `audit` with exit 2, naming the file, the tenant and the group, and
/// that nothing is written.
#[test]
fn a_missing_member_page_stops_the_run() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("snap").to_string_lossy().into_owned();
    let (code, _, err) = common::run(&["import", EXPORT, "--out", &out]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains(&format!("{GROUP}.members.page1.json: incomplete listing of tenant `{PARTNER}`: members of group `{GROUP}`: the page after")),
        "{err}"
    );
    assert!(!Path::new(&out).exists(), "nothing written on error");
    let (code, _, err) = common::run(&["audit", EXPORT]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("incomplete listing of tenant"), "{err}");
}

/// Validates that `import --keep-going` writes the tenant into the canonical
/// manifest's `incomplete`, next to the one the export manifest declares,
/// sorted by tenant id, and that the written snapshot reads back the same.
#[test]
fn keep_going_import_records_incomplete_tenants() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("snap");
    let (code, _, err) = common::run(&[
        "import",
        EXPORT,
        "--out",
        &out.to_string_lossy(),
        "--keep-going",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("incomplete listing of tenant"), "{err}");
    let m: Value = serde_json::from_str(&read(&out.join("manifest.json"))).expect("json");
    let list = m["incomplete"].as_array().expect("incomplete array");
    let ids: Vec<&str> = list
        .iter()
        .map(|x| x["tenant_id"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(ids, [CUSTOMER, PARTNER]);
    assert_eq!(
        list[0]["reason"],
        "role assignments: the collection was throttled"
    );
    assert_eq!(
        list[1]["reason"],
        format!("members of group `{GROUP}`: the page after `woodgrove_{PARTNER}/groups/{GROUP}.members.page1.json` is missing")
    );
    let back = partner_audit::snapshot::load(&out);
    assert!(!back.has_errors(), "{:?}", back.diagnostics);
    assert_eq!(back.snapshot.manifest.incomplete.len(), 2);
    assert_eq!(
        back.snapshot.manifest.incomplete[1].reason,
        list[1]["reason"].as_str().unwrap_or("")
    );
}

/// Validates that `audit --keep-going` marks both tenants in the terminal
/// summary, findings.json, the review (md, html: executive summary and the
/// customer's own section), SARIF and JUnit; and that the customer, which has
/// no finding, is not shown as clean.
#[test]
fn every_report_marks_incomplete_tenants() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path();
    let (code, stdout, err) = common::run(&[
        "audit",
        EXPORT,
        "--keep-going",
        "--out",
        &out.to_string_lossy(),
        "--format",
        "json,md,html,csv,sarif,junit",
    ]);
    assert!(code == 0 || code == 1, "{err}");
    assert!(
        stdout.contains("incomplete:  2 tenant(s), findings may be missing: Contoso Dental"),
        "{stdout}"
    );
    assert!(
        err.contains(&format!(
            "warning: {EXPORT}: field `incomplete`: tenant `Contoso Dental` (`{CUSTOMER}`) is incomplete"
        )),
        "{err}"
    );

    let json: Value = serde_json::from_str(&read(&out.join("findings.json"))).expect("json");
    let list = json["input"]["incomplete_tenants"]
        .as_array()
        .expect("incomplete_tenants");
    assert_eq!(list.len(), 2);
    assert_eq!(list[0]["tenant_id"], CUSTOMER);
    assert_eq!(list[0]["name"], "Contoso Dental");
    assert_eq!(
        list[0]["reason"],
        "role assignments: the collection was throttled"
    );
    assert_eq!(list[1]["tenant_id"], PARTNER);
    assert_eq!(list[1]["name"], "Woodgrove Cloud");
    assert!(json["input"]["warnings"]
        .as_array()
        .expect("warnings")
        .iter()
        .any(|w| w["message"]
            .as_str()
            .is_some_and(|m| m.contains(&format!("(`{PARTNER}`) is incomplete")))));

    let md = read(&out.join("report.md"));
    let summary = &md[md.find("## Executive summary").expect("summary")..];
    let summary = &summary[..summary.find("\n## ").unwrap_or(summary.len())];
    assert!(
        summary.contains("**incomplete input, findings may be missing** for 2 tenants"),
        "{summary}"
    );
    assert!(summary.contains(&format!("Woodgrove Cloud (`{PARTNER}`)")));
    let section = &md[md.find("## Contoso Dental").expect("customer section")..];
    assert!(
        section.starts_with(&format!("## Contoso Dental (`{CUSTOMER}`)\n\n> **incomplete:** role assignments: the collection was throttled, findings may be missing")),
        "{section}"
    );

    let html = read(&out.join("report.html"));
    let doc = scraper::Html::parse_document(&html);
    let sel = |s: &str| scraper::Selector::parse(s).expect("selector");
    let summary: String = doc
        .select(&sel("#summary .incomplete li"))
        .map(|e| e.text().collect::<String>())
        .collect::<Vec<_>>()
        .join("\n");
    assert!(summary.contains("Contoso Dental"), "{summary}");
    assert!(summary.contains(&format!("members of group `{GROUP}`")));
    let page = read(&out.join(format!("html/customers/{CUSTOMER}.html")));
    let page = scraper::Html::parse_document(&page);
    let customer = page
        .select(&sel(&format!("section#c-{CUSTOMER}")))
        .next()
        .expect("customer section");
    let text: String = customer.text().collect();
    assert!(
        text.contains(
            "incomplete: role assignments: the collection was throttled, findings may be missing"
        ),
        "{text}"
    );
    assert!(text.contains("incomplete input"), "{text}");
    assert!(!text.contains("no open findings"), "{text}");

    let sarif: Value = serde_json::from_str(&read(&out.join("findings.sarif"))).expect("json");
    let schema: Value =
        serde_json::from_str(include_str!("data/sarif-schema-2.1.0.json")).expect("schema json");
    let url = partner_audit::report::sarif::SCHEMA;
    let mut schemas = boon::Schemas::new();
    let mut compiler = boon::Compiler::new();
    compiler.enable_format_assertions();
    compiler.add_resource(url, schema).expect("add schema");
    let idx = compiler.compile(url, &mut schemas).expect("compile schema");
    if let Err(e) = schemas.validate(&sarif, idx) {
        panic!("findings.sarif breaks the SARIF 2.1.0 schema: {e:#}");
    }
    let notes = sarif["runs"][0]["invocations"][0]["toolExecutionNotifications"]
        .as_array()
        .expect("notifications");
    assert_eq!(notes.len(), 2);
    assert!(notes.iter().all(|n| n["level"] == "warning"));
    assert!(notes[0]["message"]["text"]
        .as_str()
        .is_some_and(|t| t.contains(CUSTOMER) && t.contains("findings may be missing")));

    let junit = read(&out.join("junit.xml"));
    assert!(
        junit.contains(&format!("<testcase classname=\"partner-audit.input\" name=\"Contoso Dental ({CUSTOMER}) complete\">\n      <failure type=\"incomplete\"")),
        "{junit}"
    );
    assert!(junit.contains("<testsuite name=\"input\" tests=\"2\" failures=\"2\""));
}

/// Validates the canonical manifest's `incomplete`: a tenant listed twice
/// has its reasons joined, and malformed items are errors with the line and
/// the field (an unknown key, a bad GUID, a missing reason).
#[test]
fn canonical_manifest_incomplete_is_validated() {
    let dir = tempfile::tempdir().expect("tempdir");
    let snap = dir.path();
    std::fs::write(
        snap.join("tenants.csv"),
        format!("tenant_id,name,kind\n{CUSTOMER},Contoso Dental,customer\n"),
    )
    .expect("write");
    let manifest = |incomplete: &str| {
        std::fs::write(
            snap.join("manifest.json"),
            format!("{{\n  \"format_version\": 1,\n  \"captured_at\": \"2026-11-01\",\n  \"incomplete\": {incomplete}\n}}\n"),
        )
        .expect("write");
    };
    manifest(&format!(
        "[{{\"tenant_id\": \"{CUSTOMER}\", \"reason\": \"users: page 3 missing\"}}, {{\"tenant_id\": \"{}\", \"reason\": \"groups: throttled\"}}]",
        CUSTOMER.to_uppercase()
    ));
    let l = partner_audit::snapshot::load(snap);
    assert!(!l.has_errors(), "{:?}", l.diagnostics);
    let m = &l.snapshot.manifest.incomplete;
    assert_eq!(m.len(), 1);
    assert_eq!(m[0].reason, "users: page 3 missing; groups: throttled");

    manifest(&format!(
        "[{{\"tenant_id\": \"{CUSTOMER}\", \"reason\": \"x\", \"why\": 1}}, {{\"tenant_id\": \"nope\", \"reason\": \"x\"}}, {{\"tenant_id\": \"{PARTNER}\"}}]"
    ));
    let l = partner_audit::snapshot::load(snap);
    let errors: Vec<(Option<u32>, Option<&str>)> =
        l.errors().map(|d| (d.line, d.field.as_deref())).collect();
    assert_eq!(
        errors,
        [
            (Some(4), Some("incomplete[0].why")),
            (Some(4), Some("incomplete[1].tenant_id")),
            (Some(4), Some("incomplete[2].reason")),
        ]
    );
    assert!(l.snapshot.manifest.incomplete.is_empty());
    let (code, _, err) = common::run(&["audit", &snap.to_string_lossy()]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("unknown key `why` in an incomplete tenant"),
        "{err}"
    );
}

/// Validates that an incomplete customer with no findings fails its JUnit
/// case and is marked in findings.json when read from a canonical snapshot
/// (what `collect` writes).
#[test]
fn a_clean_incomplete_customer_never_passes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let snap = dir.path().join("snap");
    std::fs::create_dir(&snap).expect("mkdir");
    std::fs::write(
        snap.join("tenants.csv"),
        format!("tenant_id,name,kind\n{CUSTOMER},Contoso Dental,customer\n"),
    )
    .expect("write");
    std::fs::write(
        snap.join("manifest.json"),
        format!("{{\"format_version\": 1, \"captured_at\": \"2026-11-01\", \"incomplete\": [{{\"tenant_id\": \"{CUSTOMER}\", \"reason\": \"role assignments: forbidden\"}}]}}"),
    )
    .expect("write");
    let out = dir.path().join("out");
    let (code, _, err) = common::run(&[
        "audit",
        &snap.to_string_lossy(),
        "--out",
        &out.to_string_lossy(),
        "--format",
        "json,junit",
    ]);
    assert_eq!(code, 0, "{err}");
    let junit = read(&out.join("junit.xml"));
    assert!(junit.contains("failures=\"1\""), "{junit}");
    assert!(
        junit.contains("role assignments: forbidden</failure>"),
        "{junit}"
    );
    let json: Value = serde_json::from_str(&read(&out.join("findings.json"))).expect("json");
    assert_eq!(
        json["input"]["incomplete_tenants"][0]["reason"],
        "role assignments: forbidden"
    );
}

/// Validates the export folder manifest's `incomplete`: a malformed item is
/// an error naming the manifest and the field, and stops the run.
#[test]
fn export_manifest_incomplete_is_validated() {
    let dir = tempfile::tempdir().expect("tempdir");
    let export = dir.path().join("export");
    let tenant = export.join(format!("contoso_{CUSTOMER}"));
    std::fs::create_dir_all(&tenant).expect("mkdir");
    std::fs::copy(
        Path::new(EXPORT).join(format!("contoso_{CUSTOMER}/organization.json")),
        tenant.join("organization.json"),
    )
    .expect("copy");
    std::fs::write(
        export.join("manifest.json"),
        format!("{{\"format_version\": 1, \"captured_at\": \"2026-11-01\", \"tenants\": {{}}, \"incomplete\": [{{\"tenant_id\": \"{CUSTOMER}\", \"reason\": \"x\", \"tenant\": \"y\"}}]}}"),
    )
    .expect("write");
    let l = partner_audit::import::load_export(&export);
    let e: Vec<_> = l.errors().collect();
    assert_eq!(e.len(), 1, "{e:?}");
    assert!(e[0].file.ends_with("manifest.json"), "{}", e[0].file);
    assert_eq!(e[0].field.as_deref(), Some("incomplete[0].tenant"));
    assert!(
        e[0].message
            .starts_with("unknown key `tenant` in an incomplete tenant"),
        "{}",
        e[0].message
    );
    assert!(l.snapshot.manifest.incomplete.is_empty());
}
