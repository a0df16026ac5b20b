//! Entry points for the fuzz targets (`fuzz/`) and the bounded fuzz test
//! (`tests/fuzz_bounded.rs`): each takes arbitrary bytes, feeds them to one
//! input path of the tool through its public API, and panics when an
//! invariant breaks, which is what a fuzzer reports as a crash.
//!
//! The invariants checked on every input:
//! - nothing panics, and the call returns (inputs are bounded by the caller);
//! - per table, rows read = rows used + rows rejected;
//! - a rejected row is reported: there are at least as many diagnostics as
//!   rejected rows, and for the canonical loader an error;
//! - for the canonical loader, rows used = the rows in the loaded snapshot;
//! - every diagnostic names a file.
//!
//! [`physical_rows`] adds the stricter one, "every physical row of the file
//! is accounted for, or the load fails": the fuzz targets check it when the
//! environment variable `PARTNER_AUDIT_FUZZ_ROWS` is set, the bounded test
//! always does.
//!
//! Loaders read files, so the bytes are written to a scratch directory (one
//! per process and thread, under the system temporary directory) first.
//! Not a stable API.

use std::fs;
use std::path::{Path, PathBuf};

use crate::snapshot::{self, Loaded, Snapshot, TABLES};

/// The largest input the entry points accept (bigger inputs are cut):
/// keeps every run short.
pub const MAX_INPUT: usize = 1 << 20;

/// Export file names [`export_detect`] chooses from (by the first input
/// byte): the layouts the importer recognises by name.
pub const EXPORT_NAMES: &[&str] = &[
    "users.json",
    "groups.json",
    "groups/ca014b42-6651-478a-b29f-6826cfa3230c.members.json",
    "groups/ca014b42-6651-478a-b29f-6826cfa3230c.members.page2.json",
    "directoryRoles.json",
    "directoryRoles/62e90394-69f5-4237-9190-012177145e10.members.json",
    "roleAssignments.json",
    "subscriptions.json",
    "delegatedAdminRelationships.json",
    "accessAssignments-0a3e5a61-ca45-4bd3-8c15-b5ee2a0a2f9c-1c51a3f3-c9b5-4b16-9b0b-bd6b14b9d3d8.json",
    "contracts.json",
    "customers.json",
    "devices.csv",
    "autopilot.csv",
    "organization.json",
    "roleDefinitions.json",
];

/// The tenant folder [`export_detect`] writes into.
pub const EXPORT_TENANT: &str = "contoso_1ccaa256-d985-44c4-9ffe-e8a78898c476";

/// A scratch directory for this process and thread, emptied.
fn scratch(kind: &str) -> PathBuf {
    let thread = format!("{:?}", std::thread::current().id())
        .chars()
        .filter(char::is_ascii_digit)
        .collect::<String>();
    let dir = std::env::temp_dir().join(format!(
        "partner-audit-fuzz-{}-{thread}-{kind}",
        std::process::id()
    ));
    let _ = fs::remove_dir_all(&dir);
    if let Err(e) = fs::create_dir_all(&dir) {
        panic!("cannot create {}: {e}", dir.display());
    }
    dir
}

fn write(path: &Path, bytes: &[u8]) {
    if let Some(parent) = path.parent() {
        if let Err(e) = fs::create_dir_all(parent) {
            panic!("cannot create {}: {e}", parent.display());
        }
    }
    if let Err(e) = fs::write(path, bytes) {
        panic!("cannot write {}: {e}", path.display());
    }
}

fn cut(data: &[u8]) -> &[u8] {
    &data[..data.len().min(MAX_INPUT)]
}

/// Rows of `table` in the loaded snapshot.
pub fn table_len(s: &Snapshot, table: &str) -> usize {
    match table {
        "tenants" => s.tenants.len(),
        "relationships" => s.relationships.len(),
        "principals" => s.principals.len(),
        "memberships" => s.memberships.len(),
        "role_assignments" => s.role_assignments.len(),
        "subscriptions" => s.subscriptions.len(),
        "devices" => s.devices.len(),
        "autopilot_profiles" => s.autopilot_profiles.len(),
        "invitations" => s.invitations.len(),
        "gdap_access_assignments" => s.gdap_access_assignments.len(),
        "lighthouse_delegations" => s.lighthouse_delegations.len(),
        "lighthouse_authorizations" => s.lighthouse_authorizations.len(),
        "service_principals" => s.service_principals.len(),
        "app_permissions" => s.app_permissions.len(),
        _ => 0,
    }
}

/// The invariants every load keeps (see the module docs); `canonical`
/// adds rows used = rows in the snapshot. `Err` says which broke.
pub fn check_accounting(l: &Loaded, canonical: bool) -> Result<(), String> {
    for d in &l.diagnostics {
        if d.file.is_empty() {
            return Err(format!("diagnostic without a file: {d}"));
        }
    }
    // Every rejected row is reported (an export item skipped on purpose,
    // such as a tenant-level account in `az account list`, by a warning).
    let rejected: u64 = l
        .snapshot
        .accounting
        .values()
        .map(|a| a.rows_rejected)
        .sum();
    if rejected > l.diagnostics.len() as u64 {
        return Err(format!(
            "{rejected} row(s) rejected, only {} diagnostic(s)",
            l.diagnostics.len()
        ));
    }
    for (table, a) in &l.snapshot.accounting {
        if a.rows_read != a.rows_used + a.rows_rejected + a.rows_skipped {
            return Err(format!(
                "{table}: rows read {} != used {} + rejected {} + skipped {}",
                a.rows_read, a.rows_used, a.rows_rejected, a.rows_skipped
            ));
        }
        if canonical && a.rows_rejected > 0 && !l.has_errors() {
            return Err(format!(
                "{table}: {} row(s) rejected without an error",
                a.rows_rejected
            ));
        }
        let rows = table_len(&l.snapshot, table) as u64;
        if canonical && a.rows_used != rows {
            return Err(format!(
                "{table}: rows used {} != rows in the snapshot {rows}",
                a.rows_used
            ));
        }
    }
    Ok(())
}

/// The records of a CSV file after its header, as the `csv` crate reads
/// them (blank lines are no records). `None` when the file is not UTF-8
/// text, which the loader must refuse.
pub fn csv_records(bytes: &[u8]) -> Option<u64> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    std::str::from_utf8(bytes).ok()?;
    let mut r = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(bytes);
    let n = r.byte_records().filter_map(Result::ok).count() as u64;
    Some(n.saturating_sub(1))
}

/// "Every physical row is accounted for, or the load fails": when `l` has
/// no error, rows read of `table` equal `physical`, the rows the file holds.
pub fn physical_rows(l: &Loaded, table: &str, physical: u64) -> Result<(), String> {
    if l.has_errors() {
        return Ok(());
    }
    // The csv crate drops empty lines, which the loader reads and counts
    // as skipped (as it does separator-only rows, which the crate keeps):
    // every record the crate sees must be read, and nothing beyond the
    // skipped blank rows may be added.
    let (read, skipped) = l
        .snapshot
        .accounting
        .get(table)
        .map_or((0, 0), |a| (a.rows_read, a.rows_skipped));
    if physical > read || read - skipped > physical {
        return Err(format!(
            "{table}: the file holds {physical} row(s), {read} accounted for, and the load did not fail"
        ));
    }
    Ok(())
}

fn strict_rows() -> bool {
    std::env::var_os("PARTNER_AUDIT_FUZZ_ROWS").is_some()
}

fn check(result: Result<(), String>, what: &str) {
    if let Err(e) = result {
        panic!("{what}: {e}");
    }
}

/// The table named by `selector` (modulo the number of tables).
pub fn table_of(selector: u8) -> &'static str {
    TABLES[usize::from(selector) % TABLES.len()]
}

/// Loads `data[1..]` as the CSV file of the table `data[0]` selects, with
/// `fixtures/`-like siblings absent, and checks the invariants.
pub fn csv_loader(data: &[u8]) {
    let Some((&selector, body)) = cut(data).split_first() else {
        return;
    };
    let table = table_of(selector);
    let dir = scratch("csv");
    write(&dir.join(format!("{table}.csv")), body);
    let l = snapshot::load(&dir);
    let _ = fs::remove_dir_all(&dir);
    check(check_accounting(&l, true), "csv_loader");
    if strict_rows() {
        if let Some(n) = csv_records(body) {
            check(physical_rows(&l, table, n), "csv_loader");
        }
    }
}

/// Loads `data[1..]` as JSON: a table file (`.json` or `.jsonl`), the
/// manifest, or a single-file snapshot, chosen by `data[0]`; checks the
/// invariants.
pub fn json_loader(data: &[u8]) {
    let Some((&selector, body)) = cut(data).split_first() else {
        return;
    };
    let dir = scratch("json");
    let table = table_of(selector / 4);
    let (path, canonical_dir) = match selector % 4 {
        0 => (dir.join(format!("{table}.json")), true),
        1 => (dir.join(format!("{table}.jsonl")), true),
        2 => (dir.join("manifest.json"), true),
        _ => (dir.join("snapshot.json"), false),
    };
    write(&path, body);
    let l = snapshot::load(if canonical_dir { &dir } else { &path });
    let _ = fs::remove_dir_all(&dir);
    check(check_accounting(&l, true), "json_loader");
    if strict_rows() && selector % 4 == 0 {
        if let Some(n) = json_elements(body) {
            check(physical_rows(&l, table, n), "json_loader");
        }
    }
}

/// The elements of a JSON table file (an array, or an object's `value`
/// array), when it is valid JSON of that shape.
pub fn json_elements(bytes: &[u8]) -> Option<u64> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    match serde_json::from_slice::<serde_json::Value>(bytes).ok()? {
        serde_json::Value::Array(a) => Some(a.len() as u64),
        serde_json::Value::Object(o) => o.get("value")?.as_array().map(|a| a.len() as u64),
        _ => None,
    }
}

/// Writes `data[1..]` into an export folder's tenant folder under the name
/// `data[0]` selects from [`EXPORT_NAMES`], loads the folder (format
/// detection, unwrapping, mapping) and checks the invariants.
pub fn export_detect(data: &[u8]) {
    let Some((&selector, body)) = cut(data).split_first() else {
        return;
    };
    let dir = scratch("export");
    let name = EXPORT_NAMES[usize::from(selector) % EXPORT_NAMES.len()];
    write(&dir.join(EXPORT_TENANT).join(name), body);
    if !crate::import::is_export_folder(&dir) {
        panic!("export_detect: a tenant folder did not make an export folder");
    }
    let l = crate::import::load_export(&dir);
    let _ = fs::remove_dir_all(&dir);
    check(check_accounting(&l, false), "export_detect");
}

/// Parses `data` (lossily decoded) as a rule file: it must give a rule or
/// diagnostics, never panic.
pub fn rule_parser(data: &[u8]) {
    let text = String::from_utf8_lossy(cut(data));
    if let Err(diags) = crate::engine::rule::parse_rule("fuzz.toml", &text) {
        if diags.is_empty() {
            panic!("rule_parser: a rejected rule without a diagnostic");
        }
    }
}
