//! Integration tests of snapshot loading (SPEC §3, §7): one test per
//! normalisation rule and one per class of bad input, each asserting the
//! exact diagnostic text a user would see.

mod common;

use common::snap::{guid, render, Snap};

use partner_audit::snapshot::roles::{builtin, RolePlane};
use partner_audit::snapshot::{
    load, AgentGroup, Level, Perspective, PrincipalKind, RelKind, RelState, TABLES,
};

const T1: &str = "00000000-0000-0000-0000-000000000001";
const T2: &str = "00000000-0000-0000-0000-000000000002";
const U1: &str = "00000000-0000-0000-0000-0000000000a1";
const G1: &str = "00000000-0000-0000-0000-0000000000b1";

fn principals_header() -> String {
    "tenant_id,principal_id,kind,display_name,upn,enabled,agent_group\n".to_owned()
}

// ---------------------------------------------------------------- normalisation

/// Validates that a UTF-8 BOM and CRLF line ends are transparent.
#[test]
fn csv_with_bom_and_crlf() {
    let csv = format!(
        "\u{feff}tenant_id,name,kind\r\n{T1},Contoso,customer\r\n{T2},Fabrikam,partner\r\n"
    );
    let s = Snap::new(&[("tenants.csv", csv.as_bytes())]);
    s.assert_clean();
    let t = &s.loaded.snapshot.tenants;
    assert_eq!(t.len(), 2);
    assert_eq!(t[0].tenant_id, guid(T1));
    assert_eq!(&*t[1].name, "Fabrikam");
    assert_eq!(t[1].loc.line, 3);
}

/// Validates quoted fields holding commas and newlines, and that line
/// numbers after such a record stay right.
#[test]
fn csv_quoted_comma_and_newline() {
    let csv = format!(
        "{}{T1},{U1},user,\"Doe, Jane\nsecond line\",,,\n{T1},not-a-guid,user,Bob,,,\n",
        principals_header()
    );
    let s = Snap::new(&[("principals.csv", csv.as_bytes())]);
    let p = &s.loaded.snapshot.principals;
    assert_eq!(p.len(), 1);
    assert_eq!(&*p[0].display_name, "Doe, Jane\nsecond line");
    assert_eq!(p[0].loc.line, 2);
    assert_eq!(
        s.errors(),
        ["error: snap/principals.csv:4:2: field `principal_id`: invalid GUID `not-a-guid` (expected a GUID such as 62e90394-69f5-4237-9190-012177145e10)"]
    );
}

/// Validates that columns may come in any order, with header names in any
/// case and padded with spaces.
#[test]
fn csv_any_column_order_and_header_case() {
    let csv = format!(" Kind ,Display_Name,PRINCIPAL_ID,tenant_id\ngroup,AdminAgents,{G1},{T1}\n");
    let s = Snap::new(&[("principals.csv", csv.as_bytes())]);
    s.assert_clean();
    let p = &s.loaded.snapshot.principals[0];
    assert_eq!(p.kind, PrincipalKind::Group);
    assert_eq!(p.principal_id, guid(G1));
    assert_eq!(p.tenant_id, guid(T1));
}

/// Validates that GUIDs compare case-insensitively (braces allowed) and are
/// written lower-case.
#[test]
fn mixed_case_guids() {
    let csv = "tenant_id,group_id,member_id\n\
               {00000000-0000-0000-0000-00000000000A},00000000-0000-0000-0000-0000000000BB,00000000-0000-0000-0000-0000000000cc\n\
               00000000-0000-0000-0000-00000000000a,00000000-0000-0000-0000-0000000000bb,00000000-0000-0000-0000-0000000000DD\n";
    let s = Snap::new(&[("memberships.csv", csv.as_bytes())]);
    s.assert_clean();
    let m = &s.loaded.snapshot.memberships;
    assert_eq!(m[0].tenant_id, m[1].tenant_id);
    assert_eq!(m[0].group_id, m[1].group_id);
    assert_eq!(
        m[1].member_id.to_string(),
        "00000000-0000-0000-0000-0000000000dd"
    );
    assert_eq!(
        m[0].tenant_id.to_string(),
        "00000000-0000-0000-0000-00000000000a"
    );
}

/// Validates every accepted boolean spelling, empty = unknown, and JSON booleans.
#[test]
fn booleans_in_every_spelling() {
    let mut csv = principals_header();
    for (i, cell) in [
        "true", "TRUE", "yes", "Yes", "1", "false", "False", "no", "NO", "0", "",
    ]
    .iter()
    .enumerate()
    {
        csv.push_str(&format!(
            "{T1},00000000-0000-0000-0000-{i:012},user,U{i},,{cell},\n"
        ));
    }
    let jsonl = format!(
        "{{\"tenant_id\":\"{T1}\",\"principal_id\":\"{U1}\",\"kind\":\"user\",\"display_name\":\"J\",\"enabled\":false}}\n"
    );
    let s = Snap::new(&[
        ("principals.csv", csv.as_bytes()),
        ("principals.jsonl", jsonl.as_bytes()),
    ]);
    s.assert_clean();
    let got: Vec<Option<bool>> = s
        .loaded
        .snapshot
        .principals
        .iter()
        .map(|p| p.enabled)
        .collect();
    let t = Some(true);
    let f = Some(false);
    assert_eq!(got, [t, t, t, t, t, f, f, f, f, f, None, f]);
}

/// Validates dates: plain date = midnight UTC, no offset = UTC, offsets and
/// fractional seconds honoured.
#[test]
fn dates_with_offsets_and_fractional_seconds() {
    let csv = format!(
        "partner_tenant_id,customer_tenant_id,kind,state,started_at,ended_at,last_activity_at\n\
         {T2},{T1},dap,active,2026-11-01,2017-08-09T14:35:51.3126144-07:00,2022-02-10T11:24:42.3148266Z\n\
         {T2},{T1},reseller,active,2017-07-25T01:51:00,,\n"
    );
    let s = Snap::new(&[("relationships.csv", csv.as_bytes())]);
    s.assert_clean();
    let r = &s.loaded.snapshot.relationships;
    let ts = |t: Option<jiff::Timestamp>| t.expect("date").to_string();
    assert_eq!(ts(r[0].started_at), "2026-11-01T00:00:00Z");
    assert_eq!(ts(r[0].ended_at), "2017-08-09T21:35:51.3126144Z");
    assert_eq!(ts(r[0].last_activity_at), "2022-02-10T11:24:42.3148266Z");
    assert_eq!(ts(r[1].started_at), "2017-07-25T01:51:00Z");
    assert_eq!(r[1].ended_at, None);
}

/// Validates ISO 8601 durations, kept as written.
#[test]
fn durations() {
    let csv = format!(
        "partner_tenant_id,customer_tenant_id,kind,state,auto_extend,relationship_id\n\
         {T2},{T1},gdap,active,P730D,r1\n{T2},{T1},gdap,active,PT0S,r2\n{T2},{T1},gdap,active,,r3\n"
    );
    let s = Snap::new(&[("relationships.csv", csv.as_bytes())]);
    s.assert_clean();
    let r = &s.loaded.snapshot.relationships;
    let d = r[0].auto_extend.as_ref().expect("duration");
    assert_eq!((&*d.text, d.span.get_days()), ("P730D", 730));
    assert!(r[1].auto_extend.as_ref().expect("PT0S").span.is_zero());
    assert!(r[2].auto_extend.is_none());
}

/// Validates role cells by name (any case), alias, template GUID and ARM
/// role-definition path, in CSV lists and JSON arrays; unknown roles are
/// kept as custom roles.
#[test]
fn roles_by_name_alias_and_id() {
    let ra = format!(
        "tenant_id,scope,role,principal_id\n\
         {T1},/,global administrator,{U1}\n\
         {T1},/,Company Administrator,{G1}\n\
         {T1},/,62E90394-69F5-4237-9190-012177145E10,{T2}\n\
         {T1},/subscriptions/{T2},/subscriptions/{T2}/providers/Microsoft.Authorization/roleDefinitions/8e3af657-a8ff-443c-a75c-2fe8c4bcb635,{U1}\n\
         {T1},/subscriptions/{T2},Backup Operator (custom),{U1}\n"
    );
    let rel = format!(
        "partner_tenant_id,customer_tenant_id,kind,state,roles\n\
         {T2},{T1},gdap,active, Helpdesk Administrator ; 62e90394-69f5-4237-9190-012177145e10 ;\n"
    );
    let gdap = format!(
        "[{{\"relationship_id\":\"ABC-def\",\"group_id\":\"{G1}\",\"roles\":[\"Global Administrator\",\"helpdesk admin\"]}}]"
    );
    let s = Snap::new(&[
        ("role_assignments.csv", ra.as_bytes()),
        ("relationships.csv", rel.as_bytes()),
        ("gdap_access_assignments.json", gdap.as_bytes()),
    ]);
    s.assert_clean();
    let snap = &s.loaded.snapshot;
    let roles: Vec<_> = snap.role_assignments.iter().map(|a| a.role).collect();
    let ga = builtin::GLOBAL_ADMINISTRATOR;
    assert_eq!(&roles[..4], [ga, ga, ga, builtin::OWNER]);
    assert_eq!(snap.roles.info(roles[4]).plane, RolePlane::Custom);
    assert_eq!(snap.roles.name(roles[4]), "Backup Operator (custom)");
    assert_eq!(
        snap.relationships[0].roles,
        [builtin::HELPDESK_ADMINISTRATOR, ga]
    );
    let g = &snap.gdap_access_assignments[0];
    assert_eq!(g.roles, [ga, builtin::HELPDESK_ADMINISTRATOR]);
    assert_eq!(&*g.relationship_id, "abc-def");
}

/// Validates that custom role ids follow table, file and row order, not
/// thread scheduling, and that a rejected row interns no role.
#[test]
fn custom_role_ids_are_deterministic() {
    let csv =
        format!("tenant_id,scope,role,principal_id\n{T1},/,Custom A,{U1}\n{T1},/,Custom B,{U1}\n");
    let jsonl: String = ["Custom C", "Custom A"]
        .iter()
        .map(|r| format!("{{\"tenant_id\":\"{T1}\",\"scope\":\"/\",\"role\":\"{r}\",\"principal_id\":\"{G1}\"}}\n"))
        .collect();
    let rel = format!(
        "partner_tenant_id,customer_tenant_id,kind,state,roles\n\
         {T2},{T1},gdap,active,Custom Z\n{T2},bad,gdap,active,Custom Rejected\n"
    );
    let files: [(&str, &[u8]); 3] = [
        ("role_assignments.csv", csv.as_bytes()),
        ("role_assignments.jsonl", jsonl.as_bytes()),
        ("relationships.csv", rel.as_bytes()),
    ];
    let observe = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .expect("pool");
        let s = pool.install(|| Snap::new(&files));
        let snap = &s.loaded.snapshot;
        let mut seen: Vec<String> = snap
            .role_assignments
            .iter()
            .map(|r| snap.roles.name(r.role).to_owned())
            .collect();
        seen.extend(
            snap.relationships
                .iter()
                .flat_map(|r| r.roles.iter().map(|id| format!("{id:?}"))),
        );
        for name in ["Custom A", "Custom Z", "Custom Rejected"] {
            seen.push(format!("{:?}", snap.roles.lookup(name)));
        }
        (seen, s.rendered())
    };
    let one = observe(1);
    for threads in [2, 4, 8] {
        assert_eq!(observe(threads), one, "{threads} threads");
    }
    // relationships precede role_assignments in canonical order: Custom Z first.
    let z = builtin_count();
    assert_eq!(
        one.0,
        [
            "Custom A".to_owned(),
            "Custom B".to_owned(),
            "Custom C".to_owned(),
            "Custom A".to_owned(),
            format!("RoleId({z})"),
            format!("Some(RoleId({}))", z + 1),
            format!("Some(RoleId({z}))"),
            "None".to_owned(),
        ]
    );
}

/// Number of built-in roles (the first custom role's id).
fn builtin_count() -> u16 {
    let mut t = partner_audit::snapshot::roles::RoleTable::default();
    t.intern("a role no built-in table has").expect("custom").0
}

/// Validates the four JSON shapes (array, Graph `value` wrapper with
/// `@odata` keys, JSONL, single file) load the same rows.
#[test]
fn json_shapes_load_the_same_rows() {
    let obj = |id: &str, line_extra: &str| {
        format!("{{\"tenant_id\": \"{id}\", \"name\": \"N{line_extra}\", \"kind\": \"customer\", \"@odata.etag\": \"W/x\"}}")
    };
    let array = format!("[\n  {},\n  {}\n]\n", obj(T1, "1"), obj(T2, "2"));
    let wrapped = format!(
        "{{\n\"@odata.context\": \"https://graph.microsoft.com/v1.0/$metadata#x\",\n\"value\": [\n{},\n{}\n]\n}}\n",
        obj(T1, "1"),
        obj(T2, "2")
    );
    let jsonl = format!("{}\n\n{}\n", obj(T1, "1"), obj(T2, "2"));
    let single = format!(
        "{{\n \"manifest\": {{\"format_version\": 1, \"perspective\": \"customer\"}},\n \"tenants\": [\n{},\n{}\n]\n}}\n",
        obj(T1, "1"),
        obj(T2, "2")
    );
    let shapes = [
        (Snap::new(&[("tenants.json", array.as_bytes())]), [2, 3]),
        (Snap::new(&[("tenants.json", wrapped.as_bytes())]), [4, 5]),
        (Snap::new(&[("tenants.jsonl", jsonl.as_bytes())]), [1, 3]),
    ];
    for (s, lines) in &shapes {
        s.assert_clean();
        let t = &s.loaded.snapshot.tenants;
        assert_eq!(
            t.iter().map(|t| t.tenant_id).collect::<Vec<_>>(),
            [guid(T1), guid(T2)]
        );
        assert_eq!(t.iter().map(|t| t.loc.line).collect::<Vec<_>>(), lines);
        assert_eq!(s.loaded.snapshot.accounting["tenants"].rows_used, 2);
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("snapshot.json");
    std::fs::write(&path, single).expect("write");
    let l = load(&path);
    assert!(l.diagnostics.is_empty(), "{:?}", l.diagnostics);
    assert_eq!(
        l.snapshot
            .tenants
            .iter()
            .map(|t| t.loc.line)
            .collect::<Vec<_>>(),
        [4, 5]
    );
    assert_eq!(l.snapshot.manifest.perspective, Some(Perspective::Customer));
    assert_eq!(l.snapshot.files, [path.display().to_string()]);
    assert_eq!(
        l.snapshot.accounting["tenants"].files,
        [path.display().to_string()]
    );
}

/// Validates that a paged Graph export warns that later pages are
/// missing, and that JSON list columns accept `;`-separated strings.
#[test]
fn graph_paging_and_json_lists() {
    let json = format!(
        "{{\"value\": [{{\"relationship_id\": \"R1\", \"group_id\": \"{G1}\", \"roles\": \"Global Reader; Helpdesk Administrator\"}}],\n\"@odata.nextLink\": \"https://graph.microsoft.com/next\"}}"
    );
    let s = Snap::new(&[("gdap_access_assignments.json", json.as_bytes())]);
    assert_eq!(
        s.rendered(),
        ["warning: snap/gdap_access_assignments.json:2: field `@odata.nextLink`: `@odata.nextLink` present: this is one page of a paged export, later pages are missing (expected every page, e.g. their `value` arrays concatenated)"]
    );
    let snap = &s.loaded.snapshot;
    let names: Vec<&str> = snap.gdap_access_assignments[0]
        .roles
        .iter()
        .map(|&r| snap.roles.name(r))
        .collect();
    assert_eq!(names, ["Global Reader", "Helpdesk Administrator"]);
}

/// Validates that CRLF line ends and quoted newlines together keep line
/// numbers right.
#[test]
fn crlf_with_quoted_newlines_keeps_lines() {
    let csv =
        format!("tenant_id,name,kind\r\n{T1},\"two\r\nlines\",customer\r\n\r\n{T2},B,nope\r\n");
    let s = Snap::new(&[("tenants.csv", csv.as_bytes())]);
    assert_eq!(&*s.loaded.snapshot.tenants[0].name, "two\r\nlines");
    assert_eq!(
        s.errors(),
        ["error: snap/tenants.csv:5:3: field `kind`: invalid value `nope` (expected one of partner, customer)"]
    );
}

/// Validates that line numbers stay right in a CSV file far larger than
/// the reader's buffer (it is streamed, not read whole): CRLF line ends,
/// quoted newlines and blank lines throughout, rows and errors alike.
#[test]
fn large_csv_keeps_lines() {
    let mut csv = String::from("tenant_id,name,kind\r\n");
    let mut line = 2;
    let mut expected = Vec::new();
    for i in 0..6000u32 {
        let id = format!("{i:08x}-0000-0000-0000-000000000000");
        let name = match i % 7 {
            0 => "\"three\r\nline\nname\"".to_owned(),
            3 => format!("\"{}\"", "x, ".repeat(40)),
            _ => format!("Tenant {i}"),
        };
        let kind = if i == 5999 { "nope" } else { "customer" };
        expected.push(line);
        csv.push_str(&format!("{id},{name},{kind}\r\n"));
        line += 1 + usize::from(i % 7 == 0) * 2;
        if i % 11 == 0 {
            csv.push_str("\r\n,,\r\n");
            line += 2;
        }
    }
    assert!(csv.len() > 4 * 64 * 1024);
    let s = Snap::new(&[("tenants.csv", csv.as_bytes())]);
    let last = expected.pop().expect("rows");
    assert_eq!(
        s.errors(),
        [format!("error: snap/tenants.csv:{last}:3: field `kind`: invalid value `nope` (expected one of partner, customer)")]
    );
    let lines: Vec<usize> = s
        .loaded
        .snapshot
        .tenants
        .iter()
        .map(|t| t.loc.line as usize)
        .collect();
    assert_eq!(lines, expected);
    assert_eq!(&*s.loaded.snapshot.tenants[0].name, "three\r\nline\nname");
}

/// Validates BOM handling at the very start of a streamed CSV file: a BOM
/// before a quoted header name, and a file holding only a BOM.
#[test]
fn csv_bom_edge_cases() {
    let csv = format!("\u{feff}\"tenant_id\",name,kind\n{T1},A,customer\n");
    let s = Snap::new(&[("tenants.csv", csv.as_bytes())]);
    s.assert_clean();
    assert_eq!(s.loaded.snapshot.tenants.len(), 1);

    let s = Snap::new(&[("tenants.csv", b"\xEF\xBB\xBF")]);
    assert_eq!(
        s.rendered(),
        ["warning: snap/tenants.csv: empty file without a header row, read as an empty table"]
    );
}

/// Validates that a UTF-16 CSV file is a file-level error.
#[test]
fn utf16_csv_is_a_file_error() {
    for bom in [b"\xFF\xFE", b"\xFE\xFF"] {
        let mut csv = bom.to_vec();
        csv.extend(
            "tenant_id,name,kind\n"
                .encode_utf16()
                .flat_map(u16::to_le_bytes),
        );
        let s = Snap::new(&[("tenants.csv", &csv)]);
        assert_eq!(
            s.errors(),
            ["error: snap/tenants.csv: file is UTF-16 encoded (expected UTF-8, with or without BOM)"]
        );
    }
}

/// Validates that unknown columns are counted per row carrying them and
/// warned about once per file, never an error.
#[test]
fn unknown_columns_are_counted() {
    let csv = format!("tenant_id,name,kind,notes\n{T1},A,customer,x\n{T2},B,customer,\n");
    let jsonl = "{\"tenant_id\":\"00000000-0000-0000-0000-000000000003\",\"name\":\"C\",\"kind\":\"partner\",\"Notes\":1,\"nme\":2}\n\
         {\"tenant_id\":\"00000000-0000-0000-0000-000000000004\",\"name\":\"D\",\"kind\":\"partner\",\"notes\":1}\n";
    let s = Snap::new(&[
        ("tenants.csv", csv.as_bytes()),
        ("tenants.jsonl", jsonl.as_bytes()),
    ]);
    assert!(!s.loaded.has_errors());
    let acc = &s.loaded.snapshot.accounting["tenants"];
    assert_eq!(acc.unknown_columns.get("notes"), Some(&4));
    assert_eq!(acc.unknown_columns.get("nme"), Some(&1));
    assert_eq!((acc.rows_read, acc.rows_used, acc.rows_rejected), (4, 4, 0));
    assert_eq!(
        s.rendered(),
        [
            "warning: snap/tenants.csv:1:4: field `notes`: unknown column `notes` ignored",
            "warning: snap/tenants.jsonl:1: field `Notes`: unknown key `Notes` ignored",
            "warning: snap/tenants.jsonl:1: field `nme`: unknown key `nme` ignored; did you mean `name`?",
        ]
    );
}

/// Validates that several files of one table are all read, in file-name
/// order, and that accounting covers every table.
#[test]
fn several_files_per_table_and_accounting() {
    let csv = format!("tenant_id,name,kind\n{T1},A,customer\n");
    let json = format!("[{{\"tenant_id\":\"{T2}\",\"name\":\"B\",\"kind\":\"partner\"}}]");
    let s = Snap::new(&[
        ("tenants.json", json.as_bytes()),
        ("tenants.csv", csv.as_bytes()),
        ("README.md", b"# notes"),
    ]);
    s.assert_clean();
    let snap = &s.loaded.snapshot;
    assert_eq!(
        snap.tenants.iter().map(|t| &*t.name).collect::<Vec<_>>(),
        ["A", "B"]
    );
    assert_eq!(snap.files.len(), 2);
    assert!(snap.cite(snap.tenants[1].loc).ends_with("tenants.json:1"));
    assert_eq!(snap.accounting.len(), TABLES.len());
    assert_eq!(snap.accounting["tenants"].files.len(), 2);
    assert_eq!(snap.accounting["devices"], Default::default());
}

/// Validates scope normalisation, agent-group derivation and text ids.
#[test]
fn scopes_agent_groups_and_text_ids() {
    let ra = format!(
        "tenant_id,scope,role,principal_id\n\
         {T1}, subscriptions/AAAAAAAA-0000-0000-0000-00000000000A/resourceGroups/RG-One/ ,Owner,{G1}\n\
         {T1},/,Owner,{G1}\n"
    );
    let mut pr = principals_header();
    pr.push_str(&format!("{T2},{G1},group,AdminAgents,,,\n"));
    pr.push_str(&format!(
        "{T2},00000000-0000-0000-0000-0000000000b2,group,adminagents,,,\n"
    ));
    pr.push_str(&format!(
        "{T2},00000000-0000-0000-0000-0000000000b3,group,Sales team,,,SALES_AGENTS\n"
    ));
    pr.push_str(&format!(
        "{T2},00000000-0000-0000-0000-0000000000b4,user,HelpdeskAgents,,,\n"
    ));
    let dev = format!("tenant_id,device_id,added_by_tenant_id,added_via,profile_id\n{T1}, SN-001 ,{T2},OEM,  p1 \n");
    let s = Snap::new(&[
        ("role_assignments.csv", ra.as_bytes()),
        ("principals.csv", pr.as_bytes()),
        ("devices.csv", dev.as_bytes()),
    ]);
    s.assert_clean();
    let snap = &s.loaded.snapshot;
    assert_eq!(
        snap.role_assignments[0].scope.as_str(),
        "/subscriptions/aaaaaaaa-0000-0000-0000-00000000000a/resourceGroups/RG-One"
    );
    assert!(snap.role_assignments[1].scope.is_directory());
    let groups: Vec<_> = snap.principals.iter().map(|p| p.agent_group).collect();
    assert_eq!(
        groups,
        [
            Some(AgentGroup::AdminAgents),
            None,
            Some(AgentGroup::SalesAgents),
            None
        ]
    );
    assert_eq!(
        (
            &*snap.devices[0].device_id,
            snap.devices[0].profile_id.as_deref()
        ),
        ("SN-001", Some("p1"))
    );
}

/// Validates the manifest: values parsed, unknown keys warned, a wrong
/// format_version is an error.
#[test]
fn manifest_values_and_problems() {
    let good = br#"{"format_version": 1, "captured_at": "2026-11-01", "perspective": "Partner", "source": "nightly", "note": "x"}"#;
    let s = Snap::new(&[("manifest.json", good)]);
    let m = &s.loaded.snapshot.manifest;
    assert_eq!(m.format_version, 1);
    assert_eq!(
        m.captured_at.map(|t| t.to_string()).as_deref(),
        Some("2026-11-01T00:00:00Z")
    );
    assert_eq!(m.perspective, Some(Perspective::Partner));
    assert_eq!(m.source.as_deref(), Some("nightly"));
    let manifest_diags: Vec<String> = s
        .rendered()
        .into_iter()
        .filter(|d| d.contains("manifest.json"))
        .collect();
    assert_eq!(
        manifest_diags,
        ["warning: snap/manifest.json:1: field `note`: unknown manifest key `note` ignored"]
    );

    let bad = b"{\n \"format_version\": 2,\n \"perspective\": \"vendor\"\n}\n";
    let s = Snap::new(&[("manifest.json", bad)]);
    assert_eq!(
        s.errors(),
        [
            "error: snap/manifest.json:2: field `format_version`: unsupported format_version `2` (expected 1)",
            "error: snap/manifest.json:3: field `perspective`: invalid value `vendor` (expected one of partner, customer)",
        ]
    );
}

// ---------------------------------------------------------------- bad input

/// Validates a record with too few or too many fields: reported, skipped,
/// and the rest of the file still loads.
#[test]
fn wrong_field_count() {
    let csv = format!("tenant_id,name,kind\n{T1},A\n{T2},B,customer\n{T2},C,customer,extra\n");
    let s = Snap::new(&[("tenants.csv", csv.as_bytes())]);
    assert_eq!(
        s.errors(),
        [
            "error: snap/tenants.csv:2:3: field `kind`: wrong number of fields: found 2, the header has 3 (expected 3 fields, one per header column)",
            "error: snap/tenants.csv:4:4: wrong number of fields: found 4, the header has 3 (expected 3 fields, one per header column)",
        ]
    );
    assert_eq!(s.loaded.snapshot.tenants.len(), 1);
    let acc = &s.loaded.snapshot.accounting["tenants"];
    assert_eq!((acc.rows_read, acc.rows_used, acc.rows_rejected), (3, 1, 2));
}

/// Validates a missing required column: a file-level error naming it and
/// listing the columns found; the file contributes no rows.
#[test]
fn missing_required_column() {
    let csv = format!("tenant_id,display_name,kind\n{T1},A,customer\n");
    let s = Snap::new(&[("tenants.csv", csv.as_bytes())]);
    assert_eq!(
        s.errors(),
        ["error: snap/tenants.csv:1: field `name`: missing required column `name`; columns found: `tenant_id`, `display_name`, `kind` (expected a header with the required columns tenant_id, name, kind)"]
    );
    assert!(s.loaded.snapshot.tenants.is_empty());
    assert_eq!(s.loaded.snapshot.accounting["tenants"].rows_read, 0);
}

/// Validates a bad enum value: the error lists every accepted value.
#[test]
fn bad_enum_value() {
    let csv = format!("partner_tenant_id,customer_tenant_id,kind,state\n{T2},{T1},dap,actve\n{T2},{T1},DAP,Active\n");
    let s = Snap::new(&[("relationships.csv", csv.as_bytes())]);
    assert_eq!(
        s.errors(),
        ["error: snap/relationships.csv:2:4: field `state`: invalid value `actve`; did you mean `active`? (expected one of pending, active, removed, expired, terminated)"]
    );
    let r = &s.loaded.snapshot.relationships;
    assert_eq!(
        (r.len(), r[0].kind, r[0].state),
        (1, RelKind::Dap, RelState::Active)
    );
}

/// Validates a bad date.
#[test]
fn bad_date() {
    let csv = format!("partner_tenant_id,customer_tenant_id,kind,state,started_at\n{T2},{T1},dap,active,01/11/2026\n");
    let s = Snap::new(&[("relationships.csv", csv.as_bytes())]);
    assert_eq!(
        s.errors(),
        ["error: snap/relationships.csv:2:5: field `started_at`: invalid date `01/11/2026` (expected an ISO 8601 date or date-time such as 2026-11-01 or 2026-11-01T09:30:00Z)"]
    );
}

/// Validates a bad duration and a bad boolean.
#[test]
fn bad_duration_and_boolean() {
    let csv = format!("partner_tenant_id,customer_tenant_id,kind,state,auto_extend\n{T2},{T1},gdap,active,2 years\n");
    let pr = format!("{}{T1},{U1},user,A,,maybe,\n", principals_header());
    let s = Snap::new(&[
        ("relationships.csv", csv.as_bytes()),
        ("principals.csv", pr.as_bytes()),
    ]);
    assert_eq!(
        s.errors(),
        [
            "error: snap/principals.csv:2:6: field `enabled`: invalid boolean `maybe` (expected true/false, yes/no, 1/0 or empty)",
            "error: snap/relationships.csv:2:5: field `auto_extend`: invalid duration `2 years` (expected an ISO 8601 duration such as P730D)",
        ]
    );
}

/// Validates invalid UTF-8 in a cell: the field is named, other rows load.
#[test]
fn invalid_utf8_cell() {
    let mut csv = format!("tenant_id,name,kind\n{T1},Caf").into_bytes();
    csv.extend_from_slice(b"\xe9,customer\n");
    csv.extend_from_slice(format!("{T2},B,customer\n").as_bytes());
    let s = Snap::new(&[("tenants.csv", &csv)]);
    assert_eq!(
        s.errors(),
        ["error: snap/tenants.csv:2:2: field `name`: invalid UTF-8 (expected UTF-8 text)"]
    );
    assert_eq!(s.loaded.snapshot.tenants.len(), 1);
}

/// Validates a bad GUID and a missing required value.
#[test]
fn bad_guid_and_missing_value() {
    let csv = format!("tenant_id,group_id,member_id\n{T1},{G1}x,\n");
    let s = Snap::new(&[("memberships.csv", csv.as_bytes())]);
    assert_eq!(
        s.errors(),
        [
            "error: snap/memberships.csv:2:2: field `group_id`: invalid GUID `00000000-0000-0000-0000-0000000000b1x` (expected a GUID such as 62e90394-69f5-4237-9190-012177145e10)",
            "error: snap/memberships.csv:2:3: field `member_id`: missing required value (expected a GUID such as 62e90394-69f5-4237-9190-012177145e10)",
        ]
    );
    assert_eq!(s.loaded.snapshot.accounting["memberships"].rows_rejected, 1);
}

/// Validates invalid JSON syntax: serde_json's line and column, no rows.
#[test]
fn invalid_json_syntax() {
    let json = format!("[\n  {{\"tenant_id\": \"{T1}\", \"name\": \"A\", \"kind\": \"customer\"}}\n  {{\"tenant_id\": \"{T2}\"}}\n]\n");
    let s = Snap::new(&[("tenants.json", json.as_bytes())]);
    assert_eq!(
        s.errors(),
        ["error: snap/tenants.json:3:3: invalid JSON: expected `,` or `]` (expected valid JSON)"]
    );
    assert!(s.loaded.snapshot.tenants.is_empty());
}

/// Validates JSON row errors: the object's line and the key, no column;
/// a bad JSONL line rejects that row only.
#[test]
fn json_row_errors() {
    let json = format!(
        "{{\"value\": [\n {{\"tenant_id\": \"{T1}\", \"name\": \"A\", \"kind\": \"customer\"}},\n {{\"tenant_id\": 42,\n  \"name\": {{\"x\": 1}}, \"kind\": true}},\n 7\n]}}\n"
    );
    let jsonl = format!("{{\"tenant_id\": \"{T2}\", \"name\": \"B\", \"kind\": \"partner\"}}\n  {{\"tenant_id\": \n");
    let s = Snap::new(&[
        ("tenants.json", json.as_bytes()),
        ("tenants.jsonl", jsonl.as_bytes()),
    ]);
    assert_eq!(
        s.errors(),
        [
            "error: snap/tenants.json:3: field `kind`: invalid value: found a JSON boolean (expected one of partner, customer)",
            "error: snap/tenants.json:3: field `name`: invalid value: found a JSON object (expected text)",
            "error: snap/tenants.json:3: field `tenant_id`: invalid GUID `42` (expected a GUID such as 62e90394-69f5-4237-9190-012177145e10)",
            "error: snap/tenants.json:5: row is a number (expected a JSON object per row)",
            "error: snap/tenants.jsonl:2:16: invalid JSON: EOF while parsing a value (expected valid JSON)",
        ]
    );
    assert_eq!(s.loaded.snapshot.tenants.len(), 2);
    let acc = &s.loaded.snapshot.accounting["tenants"];
    assert_eq!((acc.rows_read, acc.rows_used, acc.rows_rejected), (5, 2, 3));
}

/// Validates that every bad row of a file is reported, not just the first.
#[test]
fn every_bad_row_is_reported() {
    let mut csv = "tenant_id,name,kind\n".to_owned();
    for i in 0..50 {
        if i % 10 == 3 {
            csv.push_str(&format!("bad-{i},T{i},customer\n"));
        } else {
            csv.push_str(&format!("00000000-0000-0000-0000-{i:012},T{i},customer\n"));
        }
    }
    let s = Snap::new(&[("tenants.csv", csv.as_bytes())]);
    let lines: Vec<u32> = s.loaded.errors().filter_map(|d| d.line).collect();
    assert_eq!(lines, [5, 15, 25, 35, 45]);
    assert_eq!(s.loaded.snapshot.tenants.len(), 45);
    assert_eq!(s.loaded.snapshot.accounting["tenants"].rows_rejected, 5);
}

/// Validates that a file named after no table warns with a suggestion.
#[test]
fn unknown_table_file_suggests() {
    let s = Snap::new(&[("principal.csv", b"x\n"), ("notes.json", b"{}")]);
    assert!(!s.loaded.has_errors());
    let all = partner_audit::snapshot::TABLES.join(", ");
    assert_eq!(
        s.rendered(),
        [
            format!("warning: snap: no table files found (expected files named TABLE.csv, TABLE.json or TABLE.jsonl with TABLE one of {all})"),
            format!("warning: snap/notes.json: unknown table `notes`, file ignored (expected a file named after a table: {all})"),
            format!("warning: snap/principal.csv: unknown table `principal`, file ignored; did you mean `principals`? (expected a file named after a table: {all})"),
        ]
    );
}

/// Validates that a missing path, or a path that is neither a directory
/// nor a `.json` file, is one error.
#[test]
fn bad_snapshot_path() {
    let dir = tempfile::tempdir().expect("tempdir");
    let missing = load(&dir.path().join("nope"));
    assert_eq!(
        render(&missing.diagnostics, dir.path()),
        ["error: snap/nope: cannot read snapshot: no such file or directory (expected a snapshot directory or a single `.json` file)"]
    );
    let txt = dir.path().join("snap.txt");
    std::fs::write(&txt, "x").expect("write");
    let l = load(&txt);
    assert_eq!(l.diagnostics.len(), 1);
    assert_eq!(l.diagnostics[0].level, Level::Error);
    assert_eq!(l.diagnostics[0].message, "not a snapshot");
}

/// Validates the single-file snapshot's own problems: unknown keys warn with
/// a suggestion, a table that is not an array is an error.
#[test]
fn single_file_problems() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("s.json");
    std::fs::write(&path, "{\n\"tenant\": [],\n\"devices\": 3\n}\n").expect("write");
    let l = load(&path);
    assert_eq!(
        render(&l.diagnostics, dir.path()),
        [
            format!("warning: snap/s.json:2: field `tenant`: unknown table `tenant` ignored; did you mean `tenants`? (expected a table name: {})", partner_audit::snapshot::TABLES.join(", ")),
            "error: snap/s.json:3: table `devices` is a number (expected an array of objects, or an object with a `value` array)".to_string(),
        ]
    );
    assert_eq!(
        l.snapshot.accounting["devices"].files,
        [path.display().to_string()]
    );
}

/// Validates that no input makes the loader panic.
#[test]
fn never_panics_on_garbage() {
    let inputs: &[&[u8]] = &[
        b"",
        b"\xEF\xBB\xBF",
        b"\"",
        b"tenant_id,name,kind\n\"unterminated",
        b"\xff\xfe\x00t",
        b"null",
        b"[1, \"x\", null, [], {}]",
        b"{\"value\": 3}",
        b"{\"value\": [[[[[]]]]]}",
        b"[{\"tenant_id\": [1, {\"a\": 2}], \"name\": \"\\u00e9\\\"\", \"kind\": null}]",
        b"\n\n\n",
        b",,,,\n,,,\n",
    ];
    let deep = "[".repeat(100_000) + &"]".repeat(100_000);
    let deep_obj = format!("{{\"value\": {deep}}}");
    let inputs: Vec<&[u8]> = inputs
        .iter()
        .copied()
        .chain([deep.as_bytes(), deep_obj.as_bytes()])
        .collect();
    for (i, input) in inputs.iter().enumerate() {
        for name in [
            "tenants.csv",
            "tenants.json",
            "tenants.jsonl",
            "manifest.json",
        ] {
            let s = Snap::new(&[(name, input)]);
            // Whatever happened is reported or the table is simply empty.
            assert!(s.loaded.snapshot.tenants.is_empty(), "input {i} as {name}");
        }
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("s.json");
        std::fs::write(&path, input).expect("write");
        let _ = load(&path);
    }
}

// ------------------------------------------------- bad input found by mutation

/// Validates that a carriage return without a line feed, which the CSV
/// parser takes for a line end, rejects both parts of the line it cuts,
/// each with its own error, instead of loading a shortened value.
#[test]
fn bare_cr_cuts_a_line_and_both_parts_are_rejected() {
    let csv = format!(
        "{}{T1},{U1},user,J\ronas Berg,jonas@example.com,true,\n{T1},{G1},group,Ops,,,\n",
        principals_header()
    );
    let s = Snap::new(&[("principals.csv", csv.as_bytes())]);
    assert_eq!(
        s.errors(),
        [
            "error: snap/principals.csv:2:1: field `tenant_id`: this part of the line follows a carriage return without a line feed: line ends are LF or CRLF (expected a CR inside a value quoted (\"…\"), or no CR)",
            "error: snap/principals.csv:2:4: field `display_name`: a carriage return without a line feed cuts this line: line ends are LF or CRLF (expected a CR inside a value quoted (\"…\"), or no CR)",
        ]
    );
    // The line cut in two is one row, rejected.
    let account = &s.loaded.snapshot.accounting["principals"];
    assert_eq!(
        (account.rows_read, account.rows_used, account.rows_rejected),
        (2, 1, 1)
    );

    // Quoted, the CR is data.
    let csv = format!("{}{T1},{U1},user,\"J\ronas\",,true,\n", principals_header());
    let s = Snap::new(&[("principals.csv", csv.as_bytes())]);
    s.assert_clean();
    assert_eq!(&*s.loaded.snapshot.principals[0].display_name, "J\ronas");
}

/// Validates that invalid UTF-8 anywhere in a JSON document (here a
/// manifest value, which serde_json would skip unchecked) is an error at
/// the byte's line and column.
#[test]
fn invalid_utf8_in_json_is_located() {
    let s = Snap::new(&[(
        "manifest.json",
        b"{\"format_version\": 1,\n \"captured_at\": \"2026-11-0\xC31T00:00:00Z\"}",
    )]);
    assert_eq!(
        s.errors(),
        ["error: snap/manifest.json:2:27: invalid UTF-8 (expected UTF-8 text)"]
    );
}

/// Validates that a row-level JSON error is located in the file (the row
/// starts inside its line), that a JSONL line that is no JSON gets a
/// syntax error with its column, and that a number too large to keep its
/// digits is refused rather than rounded.
#[test]
fn json_row_errors_are_located_and_big_numbers_refused() {
    let json =
        format!("[\n  {{\"tenant_id\": \"{T1}\", \"name\": 1e400, \"kind\": \"partner\"}}\n]");
    let s = Snap::new(&[("tenants.json", json.as_bytes())]);
    assert_eq!(
        s.errors(),
        ["error: snap/tenants.json:2:69: invalid JSON: number out of range (expected valid JSON)"]
    );

    let jsonl = format!("{{\"tenant_id\": \"{T1}\", \"name\": \"A\", \"kind\": \"partner\"}}\n\u{feff}{{\"tenant_id\": \"{T2}\"}}\n");
    let s = Snap::new(&[("tenants.jsonl", jsonl.as_bytes())]);
    assert_eq!(
        s.errors(),
        ["error: snap/tenants.jsonl:2:1: invalid JSON: expected value (expected valid JSON)"]
    );

    let json = format!("[{{\"tenant_id\": \"{T1}\", \"name\": 123456789012345678901234567890, \"kind\": \"partner\"}}]");
    let s = Snap::new(&[("tenants.json", json.as_bytes())]);
    assert_eq!(s.loaded.snapshot.tenants.len(), 0);
    let errors = s.errors();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].contains("field `name`")
            && errors[0].contains("a number too large to keep exactly"),
        "{errors:?}"
    );
}

/// Validates the Lighthouse and partner-app tables' own checks: a scope that
/// is no subscription or resource group, an unknown access, a bad approver
/// GUID and an unknown permission kind are errors naming line, column and
/// field; a repeated authorization with another MFA provider is a conflict
/// that names both lines.
#[test]
fn lighthouse_and_app_tables_reject_bad_rows() {
    let t = "00000000-0000-0000-0000-0000000000c1";
    let m = "00000000-0000-0000-0000-0000000000d1";
    let d = "00000000-0000-0000-0000-0000000000e1";
    let p = "00000000-0000-0000-0000-0000000000f1";
    let delegations = format!(
        "tenant_id,scope,definition_id,managing_tenant_id\n\
         {t},/subscriptions/00000000-0000-0000-0000-0000000000a1,{d},{m}\n\
         {t},/,{d},{m}\n"
    );
    let authorizations = format!(
        "tenant_id,definition_id,principal_id,role,access,mfa_provider,approvers\n\
         {t},{d},{p},Contributor,eligible,Azure,{m}\n\
         {t},{d},{p},Reader,permanent,,\n\
         {t},{d},{p},Reader,eligible,,not-a-guid\n\
         {t},{d},{p},Contributor,eligible,None,{m}\n"
    );
    let permissions = format!(
        "tenant_id,client_id,permission,kind\n\
         {t},{p},Directory.ReadWrite.All,application\n\
         {t},{p},Mail.Read,sometimes\n"
    );
    let s = Snap::new(&[
        ("lighthouse_delegations.csv", delegations.as_bytes()),
        ("lighthouse_authorizations.csv", authorizations.as_bytes()),
        ("app_permissions.csv", permissions.as_bytes()),
    ]);
    let errors = s.errors();
    let has = |needle: &str| errors.iter().any(|e| e.contains(needle));
    assert!(
        has("lighthouse_delegations.csv:3:2: field `scope`: invalid Lighthouse scope `/`"),
        "{errors:#?}"
    );
    assert!(
        has("lighthouse_authorizations.csv:3:5: field `access`"),
        "{errors:#?}"
    );
    assert!(
        has("lighthouse_authorizations.csv:4:7: field `approvers`: invalid GUID `not-a-guid`"),
        "{errors:#?}"
    );
    assert!(
        errors.iter().any(|e| e
            .contains("lighthouse_authorizations.csv:5:3: field `principal_id`: duplicate")
            && e.contains("first at line 2")
            && e.contains("differ in `mfa_provider`")),
        "the conflicting repeat names both lines: {errors:#?}"
    );
    assert!(has("app_permissions.csv:3:4: field `kind`"), "{errors:#?}");
    let snap = &s.loaded.snapshot;
    assert_eq!(snap.lighthouse_delegations.len(), 1);
    assert_eq!(snap.lighthouse_authorizations.len(), 1);
    assert_eq!(snap.app_permissions.len(), 1);
    let acc = &snap.accounting["lighthouse_authorizations"];
    assert_eq!((acc.rows_read, acc.rows_used, acc.rows_rejected), (4, 1, 3));
}
