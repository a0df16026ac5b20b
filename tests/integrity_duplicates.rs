//! Regression tests for issue #11 item 3: a row that repeats the key of an
//! earlier row of its table. One policy for every table (README "Duplicate
//! rows"): the first row wins; the later one is removed, counted as
//! rejected in `input.tables` and reported with both lines: a warning when
//! it repeats the first row exactly, an error (exit 2 unless
//! `--keep-going`) when its values differ.

mod common;

use common::snap::{guid, render, Snap};

use partner_audit::snapshot::load;

const P: &str = "8650add5-6877-40ac-a353-5f54fa779ed1";
const C: &str = "a24e022d-57ab-4419-aeae-2f3bc58a985d";
const C2: &str = "88effb8d-f0a2-4825-be43-f4148978d143";
const U1: &str = "5b0c8a4e-1f3d-4c2a-9e7b-000000000b01";
const G1: &str = "5b0c8a4e-1f3d-4c2a-9e7b-000000000a01";
const S1: &str = "b0ad68d5-aa0d-4585-9a60-9a16a895f3df";

/// Validates the "Evil Twin" case at load time: a second tenants row with
/// the id of a customer (in upper case) and another name does not replace
/// the first; it is an error naming both lines and the column, counted as
/// rejected.
#[test]
fn tenants_a_second_row_with_the_same_id_is_rejected() {
    let s = Snap::new(&[(
        "tenants.csv",
        &format!(
            "tenant_id,name,kind\n{P},Northwind,partner\n{C},Contoso,customer\n{},Evil Twin,customer\n",
            C.to_uppercase()
        ),
    )]);
    assert_eq!(
        s.rendered(),
        [format!(
            "error: snap/tenants.csv:4:1: field `tenant_id`: duplicate tenant_id `{C}`: first at line 3, this row ignored (expected each tenant_id once) (the rows differ in `name`: remove the row that is wrong)"
        )]
    );
    assert!(s.loaded.has_errors());
    let names: Vec<&str> = s.loaded.snapshot.tenants.iter().map(|t| &*t.name).collect();
    assert_eq!(names, ["Northwind", "Contoso"]);
    s.assert_counts("tenants", 3, 2);
}

/// Validates that a row repeated exactly is a warning (the run goes on),
/// still counted as rejected.
#[test]
fn tenants_an_identical_repeated_row_is_a_warning() {
    let row = format!("{C},Contoso,customer\n");
    let s = Snap::new(&[("tenants.csv", &format!("tenant_id,name,kind\n{row}{row}"))]);
    assert_eq!(
        s.rendered(),
        [format!(
            "warning: snap/tenants.csv:3:1: field `tenant_id`: duplicate tenant_id `{C}`: first at line 2, this row ignored (expected each tenant_id once) (the rows are the same)"
        )]
    );
    assert!(!s.loaded.has_errors());
    assert_eq!(s.loaded.snapshot.tenants.len(), 1);
    s.assert_counts("tenants", 2, 1);
}

/// Validates the policy across files and formats: the first row is the
/// first in file-name order; the second file's row names it by file and
/// line; JSON rows have no column.
#[test]
fn tenants_duplicates_across_files_name_the_first_file() {
    let s = Snap::new(&[
        (
            "tenants.csv",
            &format!("tenant_id,name,kind\n{C},Contoso,customer\n"),
        ),
        (
            "tenants.json",
            &format!(
                "[\n{{\"tenant_id\": \"{}\", \"name\": \"Evil Twin\", \"kind\": \"customer\"}}\n]\n",
                C.to_uppercase()
            ),
        ),
    ]);
    assert_eq!(
        s.rendered(),
        [format!(
            "error: snap/tenants.json:2: field `tenant_id`: duplicate tenant_id `{C}`: first at snap/tenants.csv:2, this row ignored (expected each tenant_id once) (the rows differ in `name`: remove the row that is wrong)"
        )]
    );
    s.assert_counts("tenants", 2, 1);
}

/// Validates principals: object ids are globally unique, so the same id
/// in another tenant is a conflict; the ignored row is not counted as
/// used (it was before), and the first row's tenant stands.
#[test]
fn principals_the_same_id_twice_keeps_the_first_and_counts_the_second_rejected() {
    let header = "tenant_id,principal_id,kind,display_name,upn,enabled\n";
    let s = Snap::new(&[(
        "principals.csv",
        &format!(
            "{header}{P},{U1},user,Ann,ann@northwind.example,true\n{C},{},user,Ann,ann@northwind.example,true\n",
            U1.to_uppercase()
        ),
    )]);
    assert_eq!(
        s.rendered(),
        [format!(
            "error: snap/principals.csv:3:2: field `principal_id`: duplicate principal_id `{U1}`: first at line 2, this row ignored (expected each principal_id once) (the rows differ in `tenant_id`: remove the row that is wrong)"
        )]
    );
    let p = &s.loaded.snapshot.principals;
    assert_eq!(p.len(), 1);
    assert_eq!(p[0].tenant_id, guid(P));
    s.assert_counts("principals", 2, 1);

    // The same row twice: a warning.
    let row = format!("{P},{U1},user,Ann,,\n");
    let s = Snap::new(&[("principals.csv", &format!("{header}{row}{row}"))]);
    assert!(!s.loaded.has_errors(), "{:#?}", s.rendered());
    assert_eq!(s.rendered().len(), 1);
    assert!(s.rendered()[0].starts_with("warning: snap/principals.csv:3:2: "));
    s.assert_counts("principals", 2, 1);
}

/// Validates subscriptions: keyed by `subscription_id`, whatever its tenant.
#[test]
fn subscriptions_the_same_id_twice_is_rejected() {
    let s = Snap::new(&[(
        "subscriptions.csv",
        &format!(
            "name,subscription_id,tenant_id\nProd,{S1},{C}\nProd,{},{C2}\n",
            S1.to_uppercase()
        ),
    )]);
    assert_eq!(
        s.rendered(),
        [format!(
            "error: snap/subscriptions.csv:3:2: field `subscription_id`: duplicate subscription_id `{S1}`: first at line 2, this row ignored (expected each subscription_id once) (the rows differ in `tenant_id`: remove the row that is wrong)"
        )]
    );
    assert_eq!(s.loaded.snapshot.subscriptions[0].tenant_id, guid(C));
    s.assert_counts("subscriptions", 2, 1);
}

/// Validates devices: keyed by tenant and device id (without case, as
/// device scopes compare); the same id in another tenant is another device.
#[test]
fn devices_the_same_id_in_a_tenant_twice_is_rejected() {
    let s = Snap::new(&[(
        "devices.csv",
        &format!(
            "tenant_id,device_id,added_by_tenant_id,added_via\n\
             {C},SER-001,{P},partner_center\n\
             {C2},SER-001,{P},partner_center\n\
             {C},ser-001,{C},intune\n\
             {C},SER-001,{P},partner_center\n"
        ),
    )]);
    assert_eq!(
        s.rendered(),
        [
            format!("error: snap/devices.csv:4:2: field `device_id`: duplicate tenant_id `{C}`, device_id `ser-001`: first at line 2, this row ignored (expected each tenant_id + device_id once) (the rows differ in `added_by_tenant_id`: remove the row that is wrong)"),
            format!("warning: snap/devices.csv:5:2: field `device_id`: duplicate tenant_id `{C}`, device_id `SER-001`: first at line 2, this row ignored (expected each tenant_id + device_id once) (the rows are the same)"),
        ]
    );
    let d = &s.loaded.snapshot.devices;
    assert_eq!(d.len(), 2);
    assert_eq!((d[0].tenant_id, d[1].tenant_id), (guid(C), guid(C2)));
    s.assert_counts("devices", 4, 2);
}

/// Validates Autopilot profiles: keyed by tenant and profile id (a GUID
/// id in any case).
#[test]
fn autopilot_profiles_the_same_id_in_a_tenant_twice_is_rejected() {
    let id = "2d8d0c33-a9a3-4b6e-a0c3-4cc0d7e1c0f1";
    let s = Snap::new(&[(
        "autopilot_profiles.json",
        &format!(
            "[\n{{\"tenant_id\": \"{C}\", \"profile_id\": \"{id}\", \"name\": \"Standard\"}},\n\
             {{\"tenant_id\": \"{C2}\", \"profile_id\": \"{id}\", \"name\": \"Standard\"}},\n\
             {{\"tenant_id\": \"{C}\", \"profile_id\": \"{}\", \"name\": \"Kiosk\"}}\n]\n",
            id.to_uppercase()
        ),
    )]);
    assert_eq!(
        s.rendered(),
        [format!(
            "error: snap/autopilot_profiles.json:4: field `profile_id`: duplicate tenant_id `{C}`, profile_id `{id}`: first at line 2, this row ignored (expected each tenant_id + profile_id once) (the rows differ in `name`: remove the row that is wrong)"
        )]
    );
    let names: Vec<&str> = s
        .loaded
        .snapshot
        .autopilot_profiles
        .iter()
        .map(|p| &*p.name)
        .collect();
    assert_eq!(names, ["Standard", "Standard"]);
    s.assert_counts("autopilot_profiles", 3, 2);
}

/// Validates invitations: keyed by partner and invitation id; an identical
/// repeat is a warning, a changed one (accepted in the second row) an error.
#[test]
fn invitations_the_same_id_of_a_partner_twice_is_rejected() {
    let header = "partner_tenant_id,invitation_id,sent_by,sent_at,accepted_at\n";
    let row = format!("{P},inv-1,{U1},2026-01-01,\n");
    let s = Snap::new(&[(
        "invitations.csv",
        &format!(
            "{header}{row}{row}{P},inv-1,{U1},2026-01-01,2026-02-01\n{P},inv-2,{U1},2026-01-01,\n"
        ),
    )]);
    assert_eq!(
        s.rendered(),
        [
            format!("warning: snap/invitations.csv:3:2: field `invitation_id`: duplicate partner_tenant_id `{P}`, invitation_id `inv-1`: first at line 2, this row ignored (expected each partner_tenant_id + invitation_id once) (the rows are the same)"),
            format!("error: snap/invitations.csv:4:2: field `invitation_id`: duplicate partner_tenant_id `{P}`, invitation_id `inv-1`: first at line 2, this row ignored (expected each partner_tenant_id + invitation_id once) (the rows differ in `accepted_at`: remove the row that is wrong)"),
        ]
    );
    let inv = &s.loaded.snapshot.invitations;
    assert_eq!(inv.len(), 2);
    assert!(inv[0].accepted_at.is_none());
    s.assert_counts("invitations", 4, 2);
}

/// Validates memberships and role assignments: the key is the whole row
/// (role by identity, scope without case), so a repeat is always the same
/// row: a warning, counted as rejected. A row that differs anywhere is
/// another row.
#[test]
fn memberships_and_role_assignments_exact_repeats_are_warnings() {
    let m = format!("{P},{G1},{U1}\n");
    let s = Snap::new(&[
        (
            "memberships.csv",
            &format!("tenant_id,group_id,member_id\n{m}{m}{P},{G1},{G1}\n"),
        ),
        (
            "role_assignments.csv",
            &format!(
                "tenant_id,scope,role,principal_id,principal_tenant_id\n\
                 {C},/subscriptions/{S1}/resourceGroups/rg-App,Owner,{G1},{P}\n\
                 {C},/subscriptions/{S1}/resourcegroups/RG-APP,8e3af657-a8ff-443c-a75c-2fe8c4bcb635,{G1},{P}\n\
                 {C},/subscriptions/{S1}/resourceGroups/rg-App,Owner,{G1},\n"
            ),
        ),
    ]);
    assert_eq!(
        s.rendered(),
        [
            format!("warning: snap/memberships.csv:3:3: field `member_id`: duplicate tenant_id `{P}`, group_id `{G1}`, member_id `{U1}`: first at line 2, this row ignored (expected each tenant_id + group_id + member_id once) (the rows are the same)"),
            format!("warning: snap/role_assignments.csv:3:4: field `principal_id`: duplicate tenant_id `{C}`, scope `/subscriptions/{S1}/resource…`, role `Owner`, principal_id `{G1}`, principal_tenant_id `{P}`: first at line 2, this row ignored (expected each tenant_id + scope + role + principal_id + principal_tenant_id + created_at once) (the rows are the same)"),
        ]
    );
    assert!(!s.loaded.has_errors());
    s.assert_counts("memberships", 3, 2);
    s.assert_counts("role_assignments", 3, 2);
    assert_eq!(
        s.loaded.snapshot.role_assignments[0].scope.as_str(),
        format!("/subscriptions/{S1}/resourceGroups/rg-App")
    );
}

/// Validates relationships: keyed by `relationship_id` (any case); a GDAP
/// relationship without one by its partner and customer. The first row
/// stands even when a later one is active: the rows conflict, which is an
/// error. A reseller or DAP row without an id is a state in the pair's
/// history (removed, then active again): only the same row repeated is a
/// duplicate.
#[test]
fn relationships_the_same_id_or_pair_twice_is_rejected() {
    let r = "A1000000-0000-4000-8000-0000000000A1-0C000000-0000-4000-8000-0000000000C1";
    let s = Snap::new(&[(
        "relationships.csv",
        &format!(
            "partner_tenant_id,customer_tenant_id,kind,state,relationship_id\n\
             {P},{C},gdap,expired,{r}\n\
             {P},{C},gdap,active,{}\n\
             {P},{C},dap,removed,\n\
             {P},{C},dap,removed,\n\
             {P},{C},dap,active,\n\
             {P},{C2},gdap,expired,\n\
             {P},{C2},gdap,active,\n",
            r.to_lowercase()
        ),
    )]);
    let low = r.to_lowercase();
    assert_eq!(
        s.rendered(),
        [
            format!("error: snap/relationships.csv:3:5: field `relationship_id`: duplicate relationship_id `{}…`: first at line 2, this row ignored (expected each relationship_id once) (the rows differ in `state`: remove the row that is wrong)", &low[..60]),
            format!("warning: snap/relationships.csv:5:2: field `customer_tenant_id`: duplicate kind `dap`, partner_tenant_id `{P}`, customer_tenant_id `{C}`: first at line 4, this row ignored (expected each row once) (the rows are the same)"),
            format!("error: snap/relationships.csv:8:2: field `customer_tenant_id`: duplicate kind `gdap`, partner_tenant_id `{P}`, customer_tenant_id `{C2}`: first at line 7, this row ignored (expected each kind + partner_tenant_id + customer_tenant_id once) (the rows differ in `state`: remove the row that is wrong)"),
        ]
    );
    let states: Vec<(&str, &str)> = s
        .loaded
        .snapshot
        .relationships
        .iter()
        .map(|r| (r.kind.as_str(), r.state.as_str()))
        .collect();
    assert_eq!(
        states,
        [
            ("gdap", "expired"),
            ("dap", "removed"),
            ("dap", "active"),
            ("gdap", "expired")
        ]
    );
    s.assert_counts("relationships", 7, 4);
}

/// Validates GDAP access assignments: keyed by relationship and group.
#[test]
fn gdap_access_assignments_the_same_group_twice_is_rejected() {
    let r = "rel-1";
    let s = Snap::new(&[(
        "gdap_access_assignments.csv",
        &format!(
            "relationship_id,group_id,roles\n{r},{G1},Global Reader\n{r},{G1},Global Administrator\n"
        ),
    )]);
    assert_eq!(
        s.rendered(),
        [format!("error: snap/gdap_access_assignments.csv:3:2: field `group_id`: duplicate relationship_id `{r}`, group_id `{G1}`: first at line 2, this row ignored (expected each relationship_id + group_id once) (the rows differ in `roles`: remove the row that is wrong)")]
    );
    s.assert_counts("gdap_access_assignments", 2, 1);
}

/// Validates the "Evil Twin" end to end: by default the run stops with
/// exit 2 and names the row; with `--keep-going` every report shows the
/// first name, and findings.json counts the row as rejected and lists it.
#[test]
fn evil_twin_stops_the_run_or_is_ignored_with_keep_going() {
    let fixture = "fixtures/bad/duplicates/evil_twin";
    let out = tempfile::tempdir().expect("tempdir");
    let out_s = out.path().to_str().expect("utf-8 path");
    let (code, _, stderr) = common::run(&["audit", fixture, "--out", out_s]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains(&format!("error: {fixture}/tenants.csv:4:1: field `tenant_id`: duplicate tenant_id `{C}`: first at line 3, this row ignored")),
        "{stderr}"
    );
    assert!(!out.path().join("findings.json").exists());

    let (code, _, stderr) = common::run(&[
        "audit",
        fixture,
        "--out",
        out_s,
        "--keep-going",
        "--format",
        "json,md,html,csv",
    ]);
    assert_eq!(code, 1, "{stderr}");
    for f in ["findings.json", "report.md", "report.html", "findings.csv"] {
        let text = std::fs::read_to_string(out.path().join(f)).expect(f);
        assert!(text.contains("Contoso Dental Group"), "{f}");
        assert!(
            !text.contains("Evil Twin") || f == "findings.json",
            "{f} names the twin"
        );
    }
    let doc: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(out.path().join("findings.json")).expect("findings.json"),
    )
    .expect("json");
    let tenants = &doc["input"]["tables"]["tenants"];
    assert_eq!(
        (
            &tenants["rows_read"],
            &tenants["rows_used"],
            &tenants["rows_rejected"]
        ),
        (&3.into(), &2.into(), &1.into())
    );
    let errors = doc["input"]["errors"].as_array().expect("errors");
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0]["line"], 4);
    assert_eq!(errors[0]["column"], 1);
    assert_eq!(errors[0]["field"], "tenant_id");
    for f in doc["findings"].as_array().expect("findings") {
        assert!(!f.to_string().contains("Evil Twin"), "{f}");
    }
}

/// Validates that an identical repeated row does not stop the run: the
/// audit of a snapshot whose only problem is such a row succeeds (exit 1
/// for its findings, not 2), and the warning is in findings.json.
#[test]
fn an_identical_repeat_does_not_stop_the_run() {
    let dir = tempfile::tempdir().expect("tempdir");
    for f in ["manifest.json", "relationships.csv", "principals.csv"] {
        std::fs::copy(
            common::root()
                .join("fixtures/bad/duplicates/evil_twin")
                .join(f),
            dir.path().join(f),
        )
        .expect("copy");
    }
    let m = format!("{P},{G1},{U1}\n");
    std::fs::write(
        dir.path().join("memberships.csv"),
        format!("tenant_id,group_id,member_id\n{m}{m}"),
    )
    .expect("write");
    std::fs::write(
        dir.path().join("tenants.csv"),
        format!("tenant_id,name,kind\n{P},Northwind,partner\n{C},Contoso,customer\n"),
    )
    .expect("write");
    let dir_s = dir.path().to_str().expect("utf-8 path");
    let out = dir.path().join("out");
    let (code, _, stderr) =
        common::run(&["audit", dir_s, "--out", out.to_str().expect("utf-8 path")]);
    assert_eq!(code, 1, "{stderr}");
    let doc: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(out.join("findings.json")).expect("findings.json"),
    )
    .expect("json");
    assert_eq!(doc["input"]["tables"]["memberships"]["rows_rejected"], 1);
    assert!(doc["input"]["warnings"]
        .as_array()
        .expect("warnings")
        .iter()
        .any(|w| w["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("duplicate tenant_id"))
            && w["line"] == 3));
}

/// Validates that an export folder follows the same policy: what the
/// importer does not merge as one object (a GDAP relationship id listed
/// for two customers) is a conflicting duplicate, an error.
#[test]
fn export_folders_follow_the_same_policy() {
    let dir = tempfile::tempdir().expect("tempdir");
    let partner = dir.path().join(P);
    std::fs::create_dir(&partner).expect("mkdir");
    let id = "794835de-e395-4877-a074-26557d165988-1292cccf-af72-4ea2-97b7-ac618c1a623e";
    let rel = |customer: &str| {
        format!(
            "{{\"@odata.type\": \"#microsoft.graph.delegatedAdminRelationship\", \"id\": \"{id}\", \
             \"customer\": {{\"tenantId\": \"{customer}\"}}, \"status\": \"active\"}}"
        )
    };
    std::fs::write(
        partner.join("delegatedAdminRelationships.json"),
        format!("{{\"value\": [\n{},\n{}\n]}}\n", rel(C), rel(C2)),
    )
    .expect("write");
    let loaded = partner_audit::import::load_export(dir.path());
    let errors: Vec<String> = render(&loaded.errors().cloned().collect::<Vec<_>>(), dir.path());
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert!(
        errors[0].starts_with(&format!(
            "error: snap/{P}/delegatedAdminRelationships.json:3: field `relationship_id`: duplicate relationship_id `"
        )),
        "{errors:#?}"
    );
    assert!(
        errors[0].contains("the rows differ in `customer_tenant_id`"),
        "{errors:#?}"
    );
    let rels = &loaded.snapshot.relationships;
    assert_eq!(rels.len(), 1);
    assert_eq!(rels[0].customer_tenant_id, guid(C));
    assert_eq!(loaded.snapshot.accounting["relationships"].rows_rejected, 1);
}

/// Validates that the policy does not depend on the thread count: many
/// repeated keys spread over two files (CSV read in several chunks) keep
/// the same first rows and give the same diagnostics with 1, 2 and 8
/// threads.
#[test]
fn duplicates_are_found_the_same_whatever_the_thread_count() {
    let mut csv = String::from("tenant_id,principal_id,kind,display_name\n");
    let mut jsonl = String::new();
    for i in 0..6000u32 {
        let id = format!("00000000-0000-4000-8000-{:012x}", i % 2500);
        let name = if i % 7 == 0 {
            format!("twin {i}")
        } else {
            format!("user {}", i % 2500)
        };
        csv.push_str(&format!("{P},{id},user,{name}\n"));
        if i % 3 == 0 {
            jsonl.push_str(&format!(
                "{{\"tenant_id\":\"{P}\",\"principal_id\":\"{}\",\"kind\":\"user\",\"display_name\":\"user {}\"}}\n",
                id.to_uppercase(),
                i % 2500
            ));
        }
    }
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("principals.csv"), &csv).expect("write");
    std::fs::write(dir.path().join("principals.jsonl"), &jsonl).expect("write");
    let observe = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .expect("pool");
        let loaded = pool.install(|| load(dir.path()));
        let kept: Vec<(u32, String)> = loaded
            .snapshot
            .principals
            .iter()
            .map(|p| (p.loc.line, p.display_name.to_string()))
            .collect();
        let a = &loaded.snapshot.accounting["principals"];
        (
            kept,
            render(&loaded.diagnostics, dir.path()),
            (a.rows_read, a.rows_used, a.rows_rejected),
        )
    };
    let one = observe(1);
    assert_eq!(one.0.len(), 2500);
    assert_eq!(one.2, (8000, 2500, 5500));
    assert_eq!(one.1.len(), 5500);
    // The first row of each id is its first line in principals.csv.
    assert!(one
        .0
        .iter()
        .enumerate()
        .all(|(i, (line, _))| *line == i as u32 + 2));
    for threads in [2, 8] {
        assert_eq!(observe(threads), one, "{threads} threads");
    }
}
