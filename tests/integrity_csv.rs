//! Input integrity of the CSV loader (issue #11: nothing lost, nothing
//! crashes): RFC 4180 quoting enforced, an unbalanced quote caught at the
//! line where it opened without swallowing the rows after it, blank rows
//! counted, a huge cell read in linear time, and files in another encoding
//! given their true diagnosis.

mod common;

use common::snap::{render, Snap};

use partner_audit::snapshot::TableAccount;

const T1: &str = "00000000-0000-0000-0000-000000000001";

// ------------------------------------------------------------- encodings

fn utf16(text: &str, le: bool) -> Vec<u8> {
    text.encode_utf16()
        .flat_map(|u| if le { u.to_le_bytes() } else { u.to_be_bytes() })
        .collect()
}

fn utf32(text: &str, le: bool) -> Vec<u8> {
    text.chars()
        .flat_map(|c| {
            let c = u32::from(c);
            if le {
                c.to_le_bytes()
            } else {
                c.to_be_bytes()
            }
        })
        .collect()
}

/// Validates that a UTF-32 file, with or without a byte-order mark, is
/// called UTF-32 (its BOM starts like UTF-16's), in CSV and JSON alike.
#[test]
fn utf32_is_named_utf32() {
    let csv = format!("tenant_id,name,kind\n{T1},A,customer\n");
    for le in [true, false] {
        let bom: &[u8] = if le {
            &[0xFF, 0xFE, 0, 0]
        } else {
            &[0, 0, 0xFE, 0xFF]
        };
        for (name, text) in [("tenants.csv", csv.as_str()), ("tenants.json", "[]")] {
            let s = Snap::new(&[(name, &[bom, &utf32(text, le)].concat())]);
            assert_eq!(
                s.errors(),
                [format!("error: snap/{name}: UTF-32 is not supported (the file starts with a UTF-32 byte-order mark) (expected UTF-8, with or without BOM)")]
            );
            let s = Snap::new(&[(name, &utf32(text, le))]);
            assert_eq!(
                s.errors(),
                [format!("error: snap/{name}: UTF-32 is not supported (the file looks like UTF-32 without a byte-order mark: three zero bytes with each ASCII character) (expected UTF-8, with or without BOM)")]
            );
        }
    }
}

/// Validates that UTF-16 without a byte-order mark is recognised as such,
/// not reported as a header without its columns.
#[test]
fn utf16_without_bom_is_named() {
    let csv = format!("tenant_id,name,kind\n{T1},A,customer\n");
    for le in [true, false] {
        for (name, text) in [("tenants.csv", csv.as_str()), ("tenants.jsonl", "{}\n")] {
            let s = Snap::new(&[(name, &utf16(text, le))]);
            assert_eq!(
                s.errors(),
                [format!("error: snap/{name}: file looks like UTF-16 without a byte-order mark (a zero byte with each ASCII character); UTF-16 is not supported (expected UTF-8, with or without BOM)")]
            );
        }
    }
}

/// Validates that invalid UTF-8 in a header name is reported as such, at
/// its column, instead of as the required columns it hides being missing;
/// in an unknown column it is an error too, but the rows are still read.
#[test]
fn invalid_utf8_in_the_header_is_named() {
    let mut latin1 = b"tenant_id,n\xe4me,kind\n".to_vec();
    latin1.extend(format!("{T1},A,customer\n").as_bytes());
    let s = Snap::new(&[("tenants.csv", &latin1)]);
    assert_eq!(
        s.errors(),
        ["error: snap/tenants.csv:1:2: invalid UTF-8 in the header at column 2 (expected UTF-8 text (the file may be in another encoding, such as Windows-1252)) (the header names no column `name`)"]
    );
    assert_eq!(s.account("tenants").rows_read, 0);

    let mut extra = b"tenant_id,name,kind,n\xf6tes\n".to_vec();
    extra.extend(format!("{T1},A,customer,x\n").as_bytes());
    let s = Snap::new(&[("tenants.csv", &extra)]);
    assert_eq!(
        s.errors(),
        ["error: snap/tenants.csv:1:4: invalid UTF-8 in the header at column 4 (expected UTF-8 text (the file may be in another encoding, such as Windows-1252))"]
    );
    assert_eq!(s.loaded.snapshot.tenants.len(), 1);
}

// --------------------------------------------------------------- quoting

const U1: &str = "00000000-0000-0000-0000-0000000000a1";
const U2: &str = "00000000-0000-0000-0000-0000000000a2";
const U3: &str = "00000000-0000-0000-0000-0000000000a3";

const PRINCIPALS: &str = "tenant_id,principal_id,kind,display_name,upn,enabled,agent_group\n";

/// A principals file: the header, then `rows`.
fn principals(rows: &[String]) -> Vec<u8> {
    let mut s = PRINCIPALS.to_owned();
    for r in rows {
        s.push_str(r);
    }
    s.into_bytes()
}

/// The display names loaded, in file order.
fn names(s: &Snap) -> Vec<String> {
    s.loaded
        .snapshot
        .principals
        .iter()
        .map(|p| p.display_name.to_string())
        .collect()
}

/// (read, used, rejected, skipped) of a table.
fn counts(a: &TableAccount) -> (u64, u64, u64, u64) {
    (a.rows_read, a.rows_used, a.rows_rejected, a.rows_skipped)
}

/// Validates issue #11's example: an opening quote never closed took in
/// every row after it (read as one long value, exit 0). It is an error at
/// the line and column where the quote opened, and the rows after it are
/// read as rows again.
#[test]
fn unbalanced_quote_to_the_end_of_the_file() {
    let csv = principals(&[
        format!("{T1},{U1},user,\"Alice,a@x.example,true,\n"),
        format!("{T1},{U2},user,Bob,b@x.example,true,\n"),
        format!("{T1},{U3},user,Carol,c@x.example,true,\n"),
    ]);
    let s = Snap::new(&[("principals.csv", &csv)]);
    assert_eq!(
        s.errors(),
        ["error: snap/principals.csv:2:4: field `display_name`: unbalanced quote: the value this `\"` opens is never closed (it runs to the end of the file) (expected a closing `\"` for each quoted value) (the lines after this one are read again, as rows of their own)"]
    );
    assert_eq!(names(&s), ["Bob", "Carol"]);
    assert_eq!(s.loaded.snapshot.principals[0].loc.line, 3);
    assert_eq!(counts(s.account("principals")), (3, 2, 1, 0));
}

/// Validates that an unbalanced quote closed by the opening quote of a
/// later value (text then follows the "closing" quote) is caught where it
/// opened, and the rows in between are read again.
#[test]
fn unbalanced_quote_closed_by_a_later_value() {
    let csv = principals(&[
        format!("{T1},{U1},user,\"Alice,a@x.example,true,\n"),
        format!("{T1},{U2},user,Bob,b@x.example,true,\n"),
        format!("{T1},{U3},user,\"Carol\",c@x.example,true,\n"),
    ]);
    let s = Snap::new(&[("principals.csv", &csv)]);
    assert_eq!(
        s.errors(),
        ["error: snap/principals.csv:2:4: field `display_name`: unbalanced quote: the value this `\"` opens runs over 3 lines, and text follows its closing `\"` (expected `,` or the line end after a closing `\"`, each `\"` inside a quoted value doubled) (the lines after this one are read again, as rows of their own)"]
    );
    assert_eq!(names(&s), ["Bob", "Carol"]);
    assert_eq!(counts(s.account("principals")), (3, 2, 1, 0));
}

/// Validates that a quoted value spanning lines after which the record
/// has the wrong number of fields is reported as the unbalanced quote it
/// most likely is, at the quote, and the lines it took in are read again.
#[test]
fn unbalanced_quote_leading_to_a_wrong_field_count() {
    let csv = principals(&[
        format!("{T1},{U1},user,\"Alice,a@x.example,true,\n"),
        format!("{T1},{U2},user,Bob\",b@x.example\n"),
        format!("{T1},{U3},user,Carol,c@x.example,true,\n"),
    ]);
    let s = Snap::new(&[("principals.csv", &csv)]);
    assert_eq!(
        s.errors(),
        [
            "error: snap/principals.csv:2:4: field `display_name`: unbalanced quote: the value this `\"` opens runs over 2 lines, and the record then has 5 fields, the header 7 (expected 7 fields, one per header column, and a closing `\"` for each quoted value) (the lines after this one are read again, as rows of their own)",
            "error: snap/principals.csv:3:4: field `display_name`: `\"` in a value that does not start with one (expected a value holding `\"` quoted as a whole, each `\"` in it doubled (`\"a \"\"b\"\"\"`))",
        ]
    );
    assert_eq!(names(&s), ["Carol"]);
    assert_eq!(counts(s.account("principals")), (3, 1, 2, 0));
}

/// Validates issue #11's other quoting breaches, each an error at its
/// line and column that rejects its row alone: text after a closing quote
/// (`"Pa"rt"`), a lone trailing quote, a quote inside an unquoted value,
/// and an unclosed quote on the last line.
#[test]
fn quoting_breaches_are_errors() {
    let csv = principals(&[
        format!("{T1},{U1},user,\"Pa\"rt\",,,\n"),
        format!("{T1},{U2},user,Bob,b@x.example,true,\"\n"),
        format!("{T1},{U3},user,Carol,c@x.example,true,\n"),
        format!("{T1},{U1},user,Bob \"the builder\",,,\n"),
        format!("{T1},{U2},user,\"Dave,,,"),
    ]);
    let s = Snap::new(&[("principals.csv", &csv)]);
    assert_eq!(
        s.errors(),
        [
            "error: snap/principals.csv:2:4: field `display_name`: text after the closing `\"` of a quoted value (expected `,` or the line end after a closing `\"`, each `\"` inside a quoted value doubled)",
            "error: snap/principals.csv:3:7: field `agent_group`: unbalanced quote: the value this `\"` opens runs over 3 lines, and text follows its closing `\"` (expected `,` or the line end after a closing `\"`, each `\"` inside a quoted value doubled) (the lines after this one are read again, as rows of their own)",
            "error: snap/principals.csv:5:4: field `display_name`: `\"` in a value that does not start with one (expected a value holding `\"` quoted as a whole, each `\"` in it doubled (`\"a \"\"b\"\"\"`))",
            "error: snap/principals.csv:6:4: field `display_name`: unbalanced quote: the value this `\"` opens is never closed (it runs to the end of the file) (expected a closing `\"` for each quoted value)",
        ]
    );
    assert_eq!(names(&s), ["Carol"]);
    assert_eq!(counts(s.account("principals")), (5, 1, 4, 0));
}

/// Validates what RFC 4180 allows is still read as written: doubled
/// quotes, separators and line ends inside quotes, an empty quoted value,
/// a quoted value closed at the end of the file.
#[test]
fn valid_quoting_is_read_as_written() {
    let csv = principals(&[
        format!("{T1},{U1},user,\"say \"\"hi\"\", \"\"bye\"\"\",\"\",,\n"),
        format!("{T1},{U2},user,\"two\r\nlines, \"\"quoted\"\"\",,,\n"),
        format!("{T1},{U3},user,\"\"\"\",,,\"\""),
    ]);
    let s = Snap::new(&[("principals.csv", &csv)]);
    assert!(s.loaded.diagnostics.is_empty(), "{:?}", s.errors());
    assert_eq!(
        names(&s),
        ["say \"hi\", \"bye\"", "two\r\nlines, \"quoted\"", "\""]
    );
    assert_eq!(
        s.loaded
            .snapshot
            .principals
            .iter()
            .map(|p| p.loc.line)
            .collect::<Vec<_>>(),
        [2, 3, 5]
    );
    assert_eq!(counts(s.account("principals")), (3, 3, 0, 0));
}

/// Validates that a quoting breach in the header is a file error at its
/// column (its names are not what they look like) and no row is read.
#[test]
fn quoting_breach_in_the_header() {
    let csv = format!("tenant_id,\"name,kind\n{T1},A,customer\n");
    let s = Snap::new(&[("tenants.csv", csv.as_bytes())]);
    assert_eq!(
        s.errors(),
        ["error: snap/tenants.csv:1:2: unbalanced quote: the value this `\"` opens is never closed (it runs to the end of the file) (expected a closing `\"` for each quoted value)"]
    );
    assert_eq!(counts(s.account("tenants")), (0, 0, 0, 0));
}

/// Validates that the default run stops with exit status 2 on an
/// unbalanced quote, naming file, line and column, and that
/// `--keep-going` audits the rows after it.
#[test]
fn cli_stops_on_an_unbalanced_quote() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("tenants.csv"),
        format!("tenant_id,name,kind\n{T1},\"Contoso,customer\n{U1},Fabrikam,partner\n"),
    )
    .expect("write");
    let path = dir.path().display().to_string();
    let (code, _, err) = common::run(&["audit", &path, "--as-of", "2026-01-01"]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("tenants.csv:2:2: field `name`: unbalanced quote"),
        "{err}"
    );
    let out = dir.path().join("out");
    let out_s = out.display().to_string();
    let (code, _, err) = common::run(&[
        "audit",
        &path,
        "--as-of",
        "2026-01-01",
        "--keep-going",
        "--out",
        &out_s,
        "--fail-on",
        "never",
    ]);
    assert_eq!(code, 0, "{err}");
    let doc: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("findings.json")).expect("findings.json"))
            .expect("json");
    let t = &doc["input"]["tables"]["tenants"];
    assert_eq!(
        (
            &t["rows_read"],
            &t["rows_used"],
            &t["rows_rejected"],
            &t["rows_skipped"]
        ),
        (
            &serde_json::json!(2),
            &serde_json::json!(1),
            &serde_json::json!(1),
            &serde_json::json!(0)
        )
    );
}

// ------------------------------------------------------------ blank rows

/// Validates that blank rows (empty lines, lines of separators and white
/// space) are counted as skipped, so that read = used + rejected +
/// skipped holds and every line of the file is accounted for, in the
/// snapshot's accounting and in findings.json.
#[test]
fn blank_rows_are_counted() {
    let csv = principals(&[
        "\n".to_owned(),
        format!("{T1},{U1},user,Alice,,,\r\n"),
        ",,,,,,\n".to_owned(),
        "\r\n".to_owned(),
        " , ,\t,,,,\n".to_owned(),
        format!("{T1},{U2},user,Bob,,,\n"),
        format!("{T1},not-a-guid,user,Carol,,,\n"),
        "\"\",,,,,,\n".to_owned(),
        "\n".to_owned(),
    ]);
    let s = Snap::new(&[("principals.csv", &csv)]);
    assert_eq!(names(&s), ["Alice", "Bob"]);
    // 9 lines after the header: 2 used, 1 rejected, 6 blank (the last
    // line end ends the last line, it starts none).
    assert_eq!(counts(s.account("principals")), (9, 2, 1, 6));

    std::fs::write(
        s.dir.path().join("manifest.json"),
        r#"{"format_version": 1, "captured_at": "2026-01-01T00:00:00Z"}"#,
    )
    .expect("write");
    let settings = partner_audit::app::Settings {
        keep_going: true,
        ..Default::default()
    };
    let a =
        partner_audit::app::run_audit(s.dir.path(), &common::catalog(), &settings, &mut Vec::new())
            .expect("audit");
    let doc: serde_json::Value = serde_json::from_str(&common::findings_json(&a)).expect("json");
    let t = &doc["input"]["tables"]["principals"];
    assert_eq!(t["rows_read"], 9);
    assert_eq!(t["rows_skipped"], 6);
    assert_eq!(doc["input"]["tables"]["tenants"]["rows_skipped"], 0);
}

/// Validates that a line cut by a carriage return is one row, rejected,
/// however many records the CR makes of it.
#[test]
fn a_line_cut_by_a_bare_cr_is_one_row() {
    let csv = principals(&[
        format!("{T1},{U1},user,A\rB\rC,,,\n"),
        format!("{T1},{U2},user,Bob,,,\n"),
    ]);
    let s = Snap::new(&[("principals.csv", &csv)]);
    assert_eq!(names(&s), ["Bob"]);
    assert_eq!(counts(s.account("principals")), (2, 1, 1, 0));
    assert_eq!(
        s.errors(),
        [
            "error: snap/principals.csv:2:1: field `tenant_id`: this part of the line follows a carriage return without a line feed: line ends are LF or CRLF (expected a CR inside a value quoted (\"…\"), or no CR)",
            "error: snap/principals.csv:2:4: field `display_name`: a carriage return without a line feed cuts this line: line ends are LF or CRLF (expected a CR inside a value quoted (\"…\"), or no CR)",
        ]
    );
}

// ------------------------------------------------------------ huge cells

/// Validates that one 64 MB cell is read whole and right, and the rows
/// around it keep their lines, unquoted and as a quoted value of many
/// lines. (Reading it took time quadratic in its size; that the reading
/// is linear is checked by counting the bytes read, in the loader's unit
/// tests: `snapshot::csv_in::tests::a_huge_cell_is_read_in_linear_time`.)
#[test]
fn a_64_mb_cell_is_read_whole() {
    const BIG: usize = 64 << 20;
    let mut csv = format!("tenant_id,name,kind\n{U1},before,customer\n{T1},").into_bytes();
    csv.reserve(BIG + 200);
    csv.resize(csv.len() + BIG, b'x');
    csv.extend(format!(",customer\n{U2},after,customer\n").as_bytes());
    let s = Snap::new(&[("tenants.csv", &csv)]);
    assert!(s.loaded.diagnostics.is_empty(), "{:?}", s.errors());
    let t = &s.loaded.snapshot.tenants;
    assert_eq!(t.len(), 3);
    assert_eq!(t[1].name.len(), BIG);
    assert!(t[1].name.bytes().all(|b| b == b'x'));
    assert_eq!((t[0].loc.line, t[1].loc.line, t[2].loc.line), (2, 3, 4));
    assert_eq!(&*t[2].name, "after");
    drop(s);

    // A quoted value of 16 MB over 160,000 lines: chunks start inside it.
    let line = format!("{}\n", "y".repeat(99));
    let value = line.repeat(160_000);
    let csv = format!("tenant_id,name,kind\n{T1},\"{value}\",customer\n{U2},after,customer\n");
    let s = Snap::new(&[("tenants.csv", csv.as_bytes())]);
    assert!(s.loaded.diagnostics.is_empty(), "{:?}", s.errors());
    let t = &s.loaded.snapshot.tenants;
    assert_eq!(t.len(), 2);
    assert!(*t[0].name == *value.trim_end());
    assert_eq!((t[0].loc.line, t[1].loc.line), (2, 160_003));
}

/// Validates that the export reader, which decodes UTF-16 (with or
/// without a byte-order mark), refuses UTF-32 by name instead of decoding
/// it as UTF-16.
#[test]
fn export_reader_names_utf32() {
    let dir = tempfile::tempdir().expect("tempdir");
    let tenant = dir.path().join(T1);
    std::fs::create_dir(&tenant).expect("mkdir");
    let json = r#"{"value": [{"id": "00000000-0000-0000-0000-0000000000a1", "displayName": "A", "userPrincipalName": "a@x.example"}]}"#;
    let bytes = [&[0xFF, 0xFE, 0, 0][..], &utf32(json, true)].concat();
    std::fs::write(tenant.join("users.json"), bytes).expect("write");
    let l = partner_audit::import::load_export(dir.path());
    let errors = render(&l.errors().cloned().collect::<Vec<_>>(), dir.path());
    assert_eq!(
        errors,
        [format!("error: snap/{T1}/users.json: UTF-32 is not supported (the file starts with a UTF-32 byte-order mark) (expected UTF-8 (with or without BOM), UTF-16 or Windows-1252)")]
    );
}
