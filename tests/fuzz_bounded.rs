//! Bounded fuzzing inside `cargo test` (issue #11 item 19): seeded
//! properties over the canonical CSV and JSON loaders, export detection and
//! the rule parser, so that a regression of any input-integrity class of
//! issue #11 fails CI. `tests/mutation.rs` covers seeded bad values through
//! the whole audit; this file covers what it does not: hostile CSV quoting
//! and blank rows with an exact row count, raw byte mutations of every
//! fixture kind (including exports and rule files), duplicate ids and keys,
//! deep nesting and non-regular files.
//!
//! Properties (checked through `partner_audit::fuzzing`, shared with the
//! cargo-fuzz targets in `fuzz/`):
//! - nothing panics, nothing hangs (every input is small);
//! - per table, rows read = used + rejected; a rejected row has an error;
//! - every physical row of a file is accounted for, or the load fails
//!   (exit status 2).
//!
//! Every case derives from a seed: a failure names it, and `FUZZ_SEED=N`
//! runs that case alone (`FUZZ_CASES=N` changes the number of cases).

use std::fmt::Write as _;
use std::fs;
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use partner_audit::fuzzing;
use partner_audit::snapshot::{self, Loaded};
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const CUSTOMER: &str = "1ccaa256-d985-44c4-9ffe-e8a78898c476";

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| v.parse().ok())
}

/// Runs `case` for every seed (or `FUZZ_SEED` alone), catching panics, and
/// fails with every failing seed and its message.
fn for_seeds(name: &str, default_cases: u64, case: impl Fn(u64, &mut ChaCha8Rng)) {
    let seeds: Vec<u64> = match env_u64("FUZZ_SEED") {
        Some(s) => vec![s],
        None => (0..env_u64("FUZZ_CASES").unwrap_or(default_cases)).collect(),
    };
    let mut failures = Vec::new();
    for seed in seeds {
        let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x5eed_f022);
        if let Err(e) = panic::catch_unwind(AssertUnwindSafe(|| case(seed, &mut rng))) {
            let msg = e
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| e.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                .unwrap_or_default();
            failures.push(format!("seed {seed}: {msg}"));
            if failures.len() >= 5 {
                break;
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{name}: {} failing case(s) (rerun one with FUZZ_SEED=N):\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// A fresh snapshot directory holding `files`.
fn snapshot_dir(files: &[(&str, &[u8])]) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    let snap = dir.path().join("snap");
    fs::create_dir(&snap).expect("mkdir");
    for (name, bytes) in files {
        fs::write(snap.join(name), bytes).expect("write");
    }
    (dir, snap)
}

fn ok(r: Result<(), String>) {
    if let Err(e) = r {
        panic!("{e}");
    }
}

fn errors(l: &Loaded) -> String {
    l.errors().map(|d| format!("{d}\n")).collect()
}

// ------------------------------------------------------------ generated CSV

fn guid(rng: &mut ChaCha8Rng) -> String {
    let v: u128 = rng.random();
    let h = format!("{v:032x}");
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}

/// A tenant name full of CSV hazards, and the cell that writes it.
fn hazardous_name(rng: &mut ChaCha8Rng) -> (String, String) {
    const PARTS: &[&str] = &[
        "Contoso",
        ", Ltd",
        "\"Quoted\"",
        "line\nbreak",
        "crlf\r\nbreak",
        "Zoë",
        "日本",
        " ",
        ";",
        "'",
        "=1+1",
        "\t",
    ];
    let mut name = String::from("T");
    for _ in 0..rng.random_range(0..4) {
        name.push_str(PARTS.choose(rng).unwrap_or(&"x"));
    }
    name.push('z');
    let needs_quotes = name.contains([',', '"', '\n', '\r']) || rng.random_bool(0.3);
    let cell = if needs_quotes {
        format!("\"{}\"", name.replace('"', "\"\""))
    } else {
        name.clone()
    };
    (name, cell)
}

/// One generated tenants.csv: its bytes, the row names in order, the line
/// each row starts on.
struct GenCsv {
    bytes: Vec<u8>,
    names: Vec<String>,
    lines: Vec<u32>,
}

/// tenants.csv with shuffled columns, hazardous names, LF or CRLF, maybe a
/// BOM and an unknown column; every value valid.
fn tenants_csv(rng: &mut ChaCha8Rng, rows: usize) -> GenCsv {
    let mut cols = vec!["tenant_id", "name", "kind", "domain"];
    if rng.random_bool(0.3) {
        cols.push("notes");
    }
    for i in (1..cols.len()).rev() {
        cols.swap(i, rng.random_range(0..=i));
    }
    let eol = if rng.random_bool(0.5) { "\r\n" } else { "\n" };
    let mut out = String::new();
    if rng.random_bool(0.2) {
        out.push('\u{feff}');
    }
    let header: Vec<String> = cols
        .iter()
        .map(|c| {
            if rng.random_bool(0.2) {
                c.to_uppercase()
            } else {
                (*c).to_owned()
            }
        })
        .collect();
    out.push_str(&header.join(","));
    out.push_str(eol);
    let mut line = 2u32;
    let (mut names, mut lines) = (Vec::new(), Vec::new());
    for _ in 0..rows {
        let (name, cell) = hazardous_name(rng);
        let cells: Vec<String> = cols
            .iter()
            .map(|c| match *c {
                "tenant_id" => guid(rng),
                "name" => cell.clone(),
                "kind" => ["customer", "partner", "Customer"]
                    .choose(rng)
                    .map_or("customer", |k| k)
                    .to_owned(),
                "domain" => "x.example".to_owned(),
                _ => "\"a, \"\"b\"\"\"".to_owned(),
            })
            .collect();
        let record = cells.join(",");
        lines.push(line);
        line += u32::try_from(record.matches('\n').count()).unwrap_or(0) + 1;
        out.push_str(&record);
        out.push_str(eol);
        names.push(name);
    }
    if rng.random_bool(0.3) {
        // No line end after the last record.
        out.truncate(out.len() - eol.len());
    }
    GenCsv {
        bytes: out.into_bytes(),
        names,
        lines,
    }
}

/// Validates that quoted commas, quotes, line breaks (LF and CRLF), a BOM,
/// shuffled and upper-case columns and an unknown column lose no row and
/// change no name.
#[test]
fn csv_quoting_hazards_keep_every_row_and_value() {
    for_seeds("csv_quoting_hazards", 400, |_, rng| {
        let rows = rng.random_range(0..12);
        let g = tenants_csv(rng, rows);
        let (_d, snap) = snapshot_dir(&[("tenants.csv", &g.bytes)]);
        let l = snapshot::load(&snap);
        assert!(!l.has_errors(), "{}", errors(&l));
        ok(fuzzing::check_accounting(&l, true));
        ok(fuzzing::physical_rows(&l, "tenants", rows as u64));
        let got: Vec<&str> = l.snapshot.tenants.iter().map(|t| &*t.name).collect();
        let want: Vec<&str> = g.names.iter().map(|n| n.trim()).collect();
        assert_eq!(got, want);
        let lines: Vec<u32> = l.snapshot.tenants.iter().map(|t| t.loc.line).collect();
        assert_eq!(lines, g.lines);
    });
}

/// Validates that rows with invalid values are rejected one by one, each
/// reported at the line it starts on, and the others kept.
#[test]
fn csv_invalid_rows_are_rejected_at_their_line() {
    for_seeds("csv_invalid_rows", 300, |_, rng| {
        let rows = rng.random_range(1..10);
        let g = tenants_csv(rng, rows);
        let text = String::from_utf8(g.bytes).expect("utf-8");
        // Break the GUID of some rows (every GUID is unique and valid).
        let mut bad_lines = Vec::new();
        let mut text = text;
        let ids: Vec<String> = {
            let l = snapshot::load(&snapshot_dir(&[("tenants.csv", text.as_bytes())]).1);
            l.snapshot
                .tenants
                .iter()
                .map(|t| t.tenant_id.to_string())
                .collect()
        };
        assert_eq!(ids.len(), rows);
        for (i, id) in ids.iter().enumerate() {
            if rng.random_bool(0.4) {
                text = text.replacen(id.as_str(), &format!("{}x", &id[1..]), 1);
                bad_lines.push(g.lines[i]);
            }
        }
        let (_d, snap) = snapshot_dir(&[("tenants.csv", text.as_bytes())]);
        let l = snapshot::load(&snap);
        ok(fuzzing::check_accounting(&l, true));
        let a = &l.snapshot.accounting["tenants"];
        assert_eq!(a.rows_read, rows as u64);
        assert_eq!(a.rows_rejected, bad_lines.len() as u64);
        let error_lines: Vec<u32> = l.errors().filter_map(|d| d.line).collect();
        assert_eq!(error_lines, bad_lines, "{}", errors(&l));
        assert!(l
            .errors()
            .all(|d| d.field.as_deref() == Some("tenant_id") && d.column.is_some()));
    });
}

/// Validates that blank and whitespace-only rows (`,,,`) are counted: the
/// file's rows are all accounted for, or the load fails.
#[test]
fn csv_blank_rows_are_accounted_for() {
    for_seeds("csv_blank_rows", 100, |_, rng| {
        let rows = rng.random_range(1..8);
        let g = tenants_csv(rng, rows);
        let text = String::from_utf8(g.bytes).expect("utf-8");
        let eol = if text.contains("\r\n") { "\r\n" } else { "\n" };
        let blank = [",,,", " , , , ", ",,,,", "\t"]
            .choose(rng)
            .map_or(",,,", |b| b);
        let at = *g.lines.choose(rng).expect("a row") as usize;
        // Insert the blank row before the row starting at line `at`.
        let mut out = String::new();
        for (i, l) in text.split_inclusive('\n').enumerate() {
            if i + 1 == at {
                out.push_str(blank);
                out.push_str(eol);
            }
            out.push_str(l);
        }
        let (_d, snap) = snapshot_dir(&[("tenants.csv", out.as_bytes())]);
        let l = snapshot::load(&snap);
        ok(fuzzing::check_accounting(&l, true));
        ok(fuzzing::physical_rows(&l, "tenants", rows as u64 + 1));
    });
}

/// Validates that malformed quoting is an error with a line, never rows
/// swallowed into one field with exit 0: an unbalanced quote, text after a
/// closing quote, a lone trailing quote, an unclosed last field.
#[test]
fn csv_malformed_quotes_fail_the_load() {
    for_seeds("csv_malformed_quotes", 100, |_, rng| {
        let rows = rng.random_range(2..8);
        let mut out = String::from("tenant_id,name,kind\n");
        let bad = rng.random_range(0..rows);
        let kind = rng.random_range(0..4);
        for i in 0..rows {
            let id = guid(rng);
            let name = if i != bad {
                "Plain".to_owned()
            } else {
                match kind {
                    0 => "\"Alice,a@x.example".to_owned(),
                    1 => "\"Pa\"rt\"".to_owned(),
                    2 => "Part\"".to_owned(),
                    _ => "\"Unclosed".to_owned(),
                }
            };
            if kind == 3 && i == bad {
                // The unclosed field is the file's last.
                let _ = write!(out, "{id},customer,{name}");
                break;
            }
            let _ = writeln!(out, "{id},{name},customer");
        }
        let (_d, snap) = snapshot_dir(&[("tenants.csv", out.as_bytes())]);
        let l = snapshot::load(&snap);
        ok(fuzzing::check_accounting(&l, true));
        assert!(
            l.errors().any(|d| d.line.is_some()),
            "malformed quoting (kind {kind}) loaded without an error:\n{out}"
        );
    });
}

// ------------------------------------------------------- raw byte mutations

/// One random edit of `b`: flip a byte, insert a CSV/JSON metacharacter,
/// delete or duplicate a span, or truncate.
fn mutate(b: &mut Vec<u8>, rng: &mut ChaCha8Rng) {
    const META: &[&[u8]] = &[
        b"\"",
        b",",
        b"\n",
        b"\r",
        b"\r\n",
        b"{",
        b"}",
        b"[",
        b"]",
        b":",
        b"\\",
        b"\0",
        b"\xff",
        b"\xef\xbb\xbf",
        b"\"\"",
        b",,,\n",
        b"\n\n",
        b"null",
        b"-",
        b"(",
        b")",
        b"!",
        b"&&",
    ];
    let len = b.len();
    match rng.random_range(0..6) {
        0 if len > 0 => {
            let i = rng.random_range(0..len);
            b[i] ^= 1 << rng.random_range(0..8);
        }
        1 | 2 => {
            let i = rng.random_range(0..=len);
            let m = META.choose(rng).copied().unwrap_or(b"\"");
            b.splice(i..i, m.iter().copied());
        }
        3 if len > 0 => {
            let i = rng.random_range(0..len);
            let j = (i + rng.random_range(1..64)).min(len);
            b.drain(i..j);
        }
        4 if len > 0 => {
            let i = rng.random_range(0..len);
            let j = (i + rng.random_range(1..256)).min(len);
            let span: Vec<u8> = b[i..j].to_vec();
            b.splice(j..j, span);
        }
        _ => {
            let keep = rng.random_range(0..=len);
            b.truncate(keep);
        }
    }
}

fn files_under(dir: &str, exts: &[&str]) -> Vec<PathBuf> {
    fn walk(p: &Path, exts: &[&str], out: &mut Vec<PathBuf>) {
        let Ok(entries) = fs::read_dir(p) else { return };
        let mut entries: Vec<_> = entries.filter_map(Result::ok).map(|e| e.path()).collect();
        entries.sort();
        for e in entries {
            if e.is_dir() {
                walk(&e, exts, out);
            } else if e
                .extension()
                .and_then(|x| x.to_str())
                .is_some_and(|x| exts.contains(&x))
            {
                out.push(e);
            }
        }
    }
    let mut out = Vec::new();
    walk(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join(dir),
        exts,
        &mut out,
    );
    out
}

/// A fixture file, mutated one to four times, with the selector byte in front.
fn mutated(files: &[PathBuf], rng: &mut ChaCha8Rng) -> (PathBuf, Vec<u8>) {
    let f = files.choose(rng).expect("fixtures").clone();
    let mut b = fs::read(&f).expect("read fixture");
    b.truncate(16 * 1024);
    for _ in 0..rng.random_range(1..=4) {
        mutate(&mut b, rng);
    }
    (f, b)
}

fn table_selector(path: &Path) -> u8 {
    let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("");
    let i = snapshot::TABLES
        .iter()
        .position(|t| *t == stem)
        .unwrap_or(0);
    u8::try_from(i).unwrap_or(0)
}

/// Validates the loaders' invariants on mutated canonical CSV files.
#[test]
fn mutated_csv_files_keep_the_accounting() {
    let files = files_under("fixtures", &["csv"]);
    for_seeds("mutated_csv", 600, |_, rng| {
        let (f, b) = mutated(&files, rng);
        let mut data = vec![table_selector(&f)];
        data.extend(b);
        fuzzing::csv_loader(&data);
    });
}

/// Validates "every physical row is accounted for, or the load fails" on
/// mutated CSV files, against the `csv` crate's count of records.
#[test]
fn mutated_csv_files_account_for_every_physical_row() {
    let files = files_under("fixtures", &["csv"]);
    for_seeds("mutated_csv_rows", 600, |_, rng| {
        let (f, b) = mutated(&files, rng);
        let table = snapshot::TABLES[usize::from(table_selector(&f))];
        let (_d, snap) = snapshot_dir(&[(&format!("{table}.csv"), &b)]);
        let l = snapshot::load(&snap);
        ok(fuzzing::check_accounting(&l, true));
        if let Some(n) = fuzzing::csv_records(&b) {
            ok(fuzzing::physical_rows(&l, table, n));
        }
    });
}

/// Validates the loaders' invariants on mutated JSON table files, JSON
/// Lines, manifests and single-file snapshots, and that a valid JSON table
/// loads all its elements or fails.
#[test]
fn mutated_json_files_keep_the_accounting() {
    let files = files_under("fixtures", &["json", "jsonl"]);
    let files: Vec<PathBuf> = files
        .into_iter()
        .filter(|f| !f.to_string_lossy().contains("fixtures/exports/"))
        .collect();
    for_seeds("mutated_json", 400, |_, rng| {
        let (f, b) = mutated(&files, rng);
        let name = f.file_name().and_then(|s| s.to_str()).unwrap_or("");
        let selector = if name == "manifest.json" {
            2
        } else if name.ends_with(".jsonl") {
            table_selector(&f) * 4 + 1
        } else if f.to_string_lossy().contains("fixtures/rules/") {
            3
        } else {
            table_selector(&f) * 4
        };
        let mut data = vec![selector];
        data.extend(&b);
        fuzzing::json_loader(&data);
        if selector % 4 == 0 {
            let table = snapshot::TABLES[usize::from(selector / 4)];
            let (_d, snap) = snapshot_dir(&[(&format!("{table}.json"), &b)]);
            let l = snapshot::load(&snap);
            if let Some(n) = fuzzing::json_elements(&b) {
                ok(fuzzing::physical_rows(&l, table, n));
            }
        }
    });
}

/// Validates format detection and mapping of mutated export files (Graph,
/// ARM, Partner Center, Autopilot, Graph PowerShell) in a tenant folder.
#[test]
fn mutated_export_files_keep_the_accounting() {
    let files = files_under("fixtures/exports", &["json", "csv", "jsonl"]);
    let files: Vec<PathBuf> = files
        .into_iter()
        .filter(|f| f.file_name().is_some_and(|n| n != "manifest.json"))
        .collect();
    for_seeds("mutated_exports", 400, |_, rng| {
        let (_, b) = mutated(&files, rng);
        let mut data = vec![rng.random::<u8>()];
        data.extend(b);
        fuzzing::export_detect(&data);
    });
}

// ------------------------------------------------------------------- rules

/// Expression tokens spliced into a rule's `where`.
const TOKENS: &[&str] = &[
    "(",
    ")",
    "!",
    "&&",
    "||",
    "==",
    "!=",
    "<",
    ">=",
    "in",
    "[",
    "]",
    ",",
    "true",
    "false",
    "\"x\"",
    "'y'",
    "1",
    "-1",
    "2.5",
    "tenant_is_customer",
    "partner_dap_active",
    "role",
    "days_since(",
    "as_of",
    "principal_is_partner",
    "unknown_field",
    "\\",
    "\"",
    "`",
    " ",
];

/// Validates that mutated rule files (bytes, and random token sequences as
/// the `where` expression) give a rule or diagnostics, never a panic.
#[test]
fn mutated_rule_files_never_panic() {
    let files = files_under("rules", &["toml"]);
    for_seeds("mutated_rules", 600, |_, rng| {
        let f = files.choose(rng).expect("rules");
        let src = fs::read_to_string(f).expect("read rule");
        if rng.random_bool(0.5) {
            let mut b = src.into_bytes();
            for _ in 0..rng.random_range(1..=4) {
                mutate(&mut b, rng);
            }
            fuzzing::rule_parser(&b);
        } else {
            let n = rng.random_range(0..60);
            let expr: Vec<&str> = (0..n)
                .map(|_| *TOKENS.choose(rng).unwrap_or(&"("))
                .collect();
            let expr = expr.join(" ").replace('"', "\\\"");
            let out: String = src
                .lines()
                .map(|l| {
                    if l.starts_with("where") {
                        format!("where = \"{expr}\"\n")
                    } else {
                        format!("{l}\n")
                    }
                })
                .collect();
            fuzzing::rule_parser(out.as_bytes());
        }
    });
}

/// A rule whose `where` is `expr`.
fn rule_with_where(expr: &str) -> String {
    let src = fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("rules/AZ001.toml"))
        .expect("read rule");
    src.lines()
        .map(|l| {
            if l.starts_with("where") {
                format!("where = \"{expr}\"\n")
            } else {
                format!("{l}\n")
            }
        })
        .collect()
}

/// Validates that huge or deeply nested expressions are refused with a
/// clear error rather than overflowing the stack (which would abort the
/// whole test binary: run it alone when un-ignoring).
#[test]
fn deep_rule_expressions_are_errors() {
    let deep = [
        format!(
            "{}tenant_is_customer{}",
            "(".repeat(10_000),
            ")".repeat(10_000)
        ),
        format!("{}tenant_is_customer", "!".repeat(100_000)),
        vec!["tenant_is_customer"; 30_000].join(" && "),
    ];
    for expr in deep {
        let r = partner_audit::engine::rule::parse_rule("deep.toml", &rule_with_where(&expr));
        match r {
            Ok(_) => panic!("a too-deep expression was accepted"),
            Err(diags) => assert!(!diags.is_empty()),
        }
    }
}

// ----------------------------------------------------- duplicates, nesting

/// Validates one policy for duplicate ids: the first row wins, the
/// duplicate is counted as rejected and named in a diagnostic.
#[test]
fn duplicate_tenant_ids_keep_the_first_row() {
    for_seeds("duplicate_ids", 50, |_, rng| {
        let rows = rng.random_range(1..6);
        let mut out = String::from("tenant_id,name,kind\n");
        let ids: Vec<String> = (0..rows).map(|_| guid(rng)).collect();
        for (i, id) in ids.iter().enumerate() {
            let _ = writeln!(out, "{id},Name {i},customer");
        }
        let twin = rng.random_range(0..rows);
        let _ = writeln!(out, "{},Evil Twin,customer", ids[twin].to_uppercase());
        let (_d, snap) = snapshot_dir(&[("tenants.csv", out.as_bytes())]);
        let l = snapshot::load(&snap);
        ok(fuzzing::check_accounting(&l, true));
        ok(fuzzing::physical_rows(&l, "tenants", rows as u64 + 1));
        let a = &l.snapshot.accounting["tenants"];
        assert_eq!((a.rows_used, a.rows_rejected), (rows as u64, 1));
        assert!(l.snapshot.tenants.iter().all(|t| &*t.name != "Evil Twin"));
        assert!(l
            .diagnostics
            .iter()
            .any(|d| d.line == Some(u32::try_from(rows).unwrap_or(0) + 2)));
    });
}

/// Validates that a duplicate key in a manifest or a single-file snapshot
/// is an error with its line and column, never "last wins".
#[test]
fn duplicate_json_keys_are_errors() {
    let manifest = b"{\n  \"format_version\": 1,\n  \"captured_at\": \"2026-11-01\",\n  \"captured_at\": \"2030-01-01\"\n}\n";
    let (_d, snap) = snapshot_dir(&[("manifest.json", manifest)]);
    let l = snapshot::load(&snap);
    assert!(
        l.errors().any(|d| d.line == Some(4) && d.column.is_some()),
        "{:?}",
        l.diagnostics
    );
    let single = format!("{{\"tenants\": [{{\"tenant_id\": \"{CUSTOMER}\", \"name\": \"A\", \"name\": \"B\", \"kind\": \"customer\"}}]}}");
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("snapshot.json");
    fs::write(&path, single).expect("write");
    let l = snapshot::load(&path);
    assert!(l.has_errors(), "{:?}", l.diagnostics);
}

/// Validates that a manifest value nested 128 deep is an error, not null.
#[test]
fn deeply_nested_manifest_values_are_errors() {
    for depth in [128usize, 129, 4096] {
        let manifest = format!(
            "{{\"format_version\": 1, \"captured_at\": \"2026-11-01\", \"source\": {}\"x\"{}}}",
            "[".repeat(depth),
            "]".repeat(depth)
        );
        let (_d, snap) = snapshot_dir(&[("manifest.json", manifest.as_bytes())]);
        let l = snapshot::load(&snap);
        assert!(l.has_errors(), "depth {depth}: {:?}", l.diagnostics);
    }
}

/// Validates that a table file that is not a regular file (a directory, a
/// dangling symlink) is an error naming it, not an absent table.
#[test]
fn non_regular_table_files_are_errors() {
    let (_d, snap) = snapshot_dir(&[]);
    fs::create_dir(snap.join("tenants.csv")).expect("mkdir");
    let l = snapshot::load(&snap);
    assert!(
        l.errors().any(|d| d.file.ends_with("tenants.csv")),
        "{:?}",
        l.diagnostics
    );
    #[cfg(unix)]
    {
        let (_d, snap) = snapshot_dir(&[]);
        std::os::unix::fs::symlink(snap.join("nowhere"), snap.join("principals.csv"))
            .expect("symlink");
        let l = snapshot::load(&snap);
        assert!(
            l.errors().any(|d| d.file.ends_with("principals.csv")),
            "{:?}",
            l.diagnostics
        );
    }
}

// ------------------------------------------------------ fuzzer regressions

/// Runs a `fuzz/regressions/TARGET/FILE` input through its target.
fn replay(target: &str, file: &Path) {
    let data = fs::read(file).expect("read regression");
    match target {
        "csv_loader" => fuzzing::csv_loader(&data),
        "json_loader" => fuzzing::json_loader(&data),
        "export_detect" => fuzzing::export_detect(&data),
        "rule_parser" => fuzzing::rule_parser(&data),
        other => panic!("unknown fuzz target `{other}`"),
    }
}

/// Validates that every input a fuzz target once crashed on (and that is
/// fixed) still passes.
#[test]
fn fuzz_regressions_replay() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/regressions");
    let mut replayed = 0;
    for target in ["csv_loader", "json_loader", "export_detect", "rule_parser"] {
        let Ok(entries) = fs::read_dir(root.join(target)) else {
            continue;
        };
        let mut files: Vec<PathBuf> = entries.filter_map(Result::ok).map(|e| e.path()).collect();
        files.sort();
        for f in files {
            let pending = f
                .file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("pending-"));
            if !pending {
                replay(target, &f);
                replayed += 1;
            }
        }
    }
    eprintln!("replayed {replayed} fuzz regression(s)");
}

/// Validates that a CSV line cut by bare carriage returns has an error for
/// every row it is counted as (found by `csv_loader`: 4 rows rejected, 3
/// errors).
#[test]
fn fuzz_regression_bare_cr_rows_outnumber_errors() {
    replay(
        "csv_loader",
        &Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fuzz/regressions/csv_loader/pending-item1-bare-cr-rows-outnumber-errors"),
    );
}

/// Validates that a non-ASCII character right after an operator's first
/// byte (`!é`) in a `where` expression is a diagnostic, not a panic of the
/// lexer slicing inside the character (found by `rule_parser`; the panic
/// is in src/engine/expr.rs `lex`).
#[test]
fn fuzz_regression_expr_lexer_char_boundary() {
    replay(
        "rule_parser",
        &Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fuzz/regressions/rule_parser/pending-expr-lexer-char-boundary"),
    );
    let r = partner_audit::engine::rule::parse_rule("x.toml", &rule_with_where("!é"));
    assert!(r.is_err());
}
