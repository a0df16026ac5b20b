//! Regression tests for issue #11 item 18 (dates): the extreme but valid
//! dates exports use, `9999-12-31` for "never expires" above all, are
//! accepted in snapshots, waivers and on the command line, and shown as
//! written.

mod common;

const P: &str = "8650add5-6877-40ac-a353-5f54fa779ed1";
const C: &str = "a24e022d-57ab-4419-aeae-2f3bc58a985d";

/// Validates a snapshot whose dates are year 1 and 9999-12-31 (as a date
/// and as the last second of it), a waiver that expires 9999-12-31 and
/// `--as-of 0001-01-01`: the audit runs (no input error), the waiver is in
/// force and the evidence shows the dates as written.
#[test]
fn year_one_and_9999_12_31_are_valid_dates() {
    let dir = tempfile::tempdir().expect("tempdir");
    let files = [
        (
            "tenants.csv",
            format!("tenant_id,name,kind\n{P},Northwind,partner\n{C},Contoso,customer\n"),
        ),
        (
            "relationships.csv",
            format!(
                "partner_tenant_id,customer_tenant_id,kind,state,started_at,ended_at,relationship_id,roles,last_activity_at\n\
                 {P},{C},gdap,active,0001-01-01,9999-12-31T23:59:59Z,rel-1,Global Administrator,9999-12-31\n\
                 {P},{C},dap,active,0001-01-01T00:00:00Z,9999-12-31,,,9999-12-31T23:59:59.9999999Z\n"
            ),
        ),
        (
            "manifest.json",
            r#"{"format_version": 1, "captured_at": "9999-12-31T23:59:59Z"}"#.to_owned(),
        ),
        (
            "waivers.toml",
            "[[waiver]]\nrule = \"GDAP003\"\njustification = \"accepted\"\nowner = \"secops@contoso.example\"\nexpires = \"9999-12-31\"\n".to_owned(),
        ),
    ];
    for (name, text) in &files {
        std::fs::write(dir.path().join(name), text).expect("write");
    }
    let snap = dir.path().to_str().expect("utf-8 path");
    let waivers = dir.path().join("waivers.toml");
    for as_of in [None, Some("0001-01-01")] {
        let out = dir.path().join("out");
        let mut args = vec![
            "audit",
            snap,
            "--out",
            out.to_str().expect("utf-8 path"),
            "--waivers",
            waivers.to_str().expect("utf-8 path"),
            "--fail-on",
            "never",
        ];
        if let Some(d) = as_of {
            args.extend(["--as-of", d]);
        }
        let (code, _, stderr) = common::run(&args);
        assert_eq!(code, 0, "{stderr}");
        let doc: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(out.join("findings.json")).expect("findings.json"),
        )
        .expect("json");
        assert_eq!(doc["input"]["errors"].as_array().map(Vec::len), Some(0));
        assert_eq!(doc["summary"]["waived"], 1, "{}", doc["summary"]);
        let gdap001 = doc["findings"]
            .as_array()
            .expect("findings")
            .iter()
            .find(|f| f["rule"] == "GDAP001")
            .expect("GDAP001");
        let evidence: Vec<&str> = gdap001["evidence"]
            .as_array()
            .expect("evidence keys")
            .iter()
            .map(|k| {
                doc["evidence"][k.as_str().expect("key")]
                    .as_str()
                    .expect("line")
            })
            .collect();
        let evidence = evidence.join("\n");
        assert!(
            evidence.contains("started: 0001-01-01; ends: 9999-12-31;"),
            "{evidence}"
        );
    }
}
