//! Input integrity, files (issue #11): a table file that is no regular
//! file, a device or FIFO behind an export folder or `--waivers`, a file
//! over the size cap, a JSON key given twice, a manifest value nested past
//! serde_json's recursion limit, and a malformed baseline all stop the run
//! with exit status 2 and a message naming the file.
//!
//! Every case runs the binary as a child process killed after 20 s, so a
//! regression that blocks (on a FIFO, on `/dev/zero`) fails instead of
//! hanging the test suite.

#![cfg(unix)]

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

const DEMO: &str = "fixtures/demo";
const EXPORT: &str = "fixtures/exports/northwind";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Exit status, stdout and stderr of the binary run with `args` (and the
/// extra environment `env`); panics when it runs longer than 20 s.
fn run_env(args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_partner-audit"));
    cmd.args(args)
        .current_dir(root())
        .env("NO_COLOR", "1")
        .env_remove("PARTNER_AUDIT_MAX_FILE_SIZE")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("run partner-audit");
    // Drain the pipes on threads so that a chatty child cannot block.
    let mut out = child.stdout.take().expect("stdout");
    let mut err = child.stderr.take().expect("stderr");
    let out = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = out.read_to_string(&mut s);
        s
    });
    let err = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err.read_to_string(&mut s);
        s
    });
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if start.elapsed() > Duration::from_secs(20) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("partner-audit {args:?} still running after 20 s: killed");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    (
        status.code().unwrap_or(-1),
        out.join().expect("stdout thread"),
        err.join().expect("stderr thread"),
    )
}

fn run(args: &[&str]) -> (i32, String, String) {
    run_env(args, &[])
}

/// Copies a directory tree (regular files and folders).
fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for e in std::fs::read_dir(from).expect("read_dir") {
        let e = e.expect("entry");
        let target = to.join(e.file_name());
        if e.file_type().expect("type").is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), &target).expect("copy");
        }
    }
}

/// A copy of the demo snapshot in a temporary directory.
fn demo_copy() -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let snap = tmp.path().join("snap");
    copy_dir(&root().join(DEMO), &snap);
    (tmp, snap)
}

fn mkfifo(path: &Path) {
    let ok = Command::new("mkfifo")
        .arg(path)
        .status()
        .expect("run mkfifo")
        .success();
    assert!(ok, "mkfifo {}", path.display());
}

fn symlink(target: &Path, link: &Path) {
    std::os::unix::fs::symlink(target, link).expect("symlink");
}

fn s(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

/// Asserts exit 2 and that one stderr line names `file` and says `what`.
#[track_caller]
fn assert_refused(result: &(i32, String, String), file: &Path, what: &str) {
    let (code, out, err) = result;
    assert_eq!(*code, 2, "stdout:\n{out}\nstderr:\n{err}");
    let file = s(file);
    assert!(
        err.lines()
            .any(|l| l.starts_with("error: ") && l.contains(&file) && l.contains(what)),
        "no error line naming `{file}` with `{what}`:\n{err}"
    );
}

/// Runs `audit` on a snapshot or export.
fn audit(path: &Path, extra: &[&str]) -> (i32, String, String) {
    let p = s(path);
    let mut args = vec!["audit", p.as_str(), "--fail-on", "never"];
    args.extend_from_slice(extra);
    run(&args)
}

// ---- item 4: a table file that is no regular file ----

/// Validates that a table file that is a FIFO is an error naming it, not an
/// absent table (and that the run does not block on it).
#[test]
fn a_fifo_table_file_is_an_error() {
    let (_tmp, snap) = demo_copy();
    let f = snap.join("relationships.csv");
    std::fs::remove_file(&f).expect("rm");
    mkfifo(&f);
    assert_refused(
        &audit(&snap, &[]),
        &f,
        "is a named pipe (FIFO), not a regular file",
    );
}

/// Validates that a directory named like a table file is an error.
#[test]
fn a_directory_table_file_is_an_error() {
    let (_tmp, snap) = demo_copy();
    let f = snap.join("relationships.csv");
    std::fs::remove_file(&f).expect("rm");
    std::fs::create_dir(&f).expect("mkdir");
    assert_refused(&audit(&snap, &[]), &f, "is a directory, not a regular file");
}

/// Validates that a dangling symbolic link is an error naming its target.
#[test]
fn a_dangling_symlink_table_file_is_an_error() {
    let (_tmp, snap) = demo_copy();
    let f = snap.join("relationships.csv");
    std::fs::remove_file(&f).expect("rm");
    symlink(Path::new("gone.csv"), &f);
    assert_refused(
        &audit(&snap, &[]),
        &f,
        "is a dangling symbolic link: its target `gone.csv` does not exist",
    );
}

/// Validates that a symbolic link loop is an error.
#[test]
fn a_looping_symlink_table_file_is_an_error() {
    let (_tmp, snap) = demo_copy();
    let f = snap.join("relationships.csv");
    std::fs::remove_file(&f).expect("rm");
    symlink(Path::new("relationships.csv"), &f);
    assert_refused(&audit(&snap, &[]), &f, "is a symbolic link loop");
}

/// Validates that a device behind a table file (here `/dev/null`, which
/// would read as an empty table) is an error.
#[test]
fn a_device_table_file_is_an_error() {
    let (_tmp, snap) = demo_copy();
    let f = snap.join("role_assignments.json");
    std::fs::remove_file(&f).expect("rm");
    symlink(Path::new("/dev/null"), &f);
    assert_refused(
        &audit(&snap, &[]),
        &f,
        "is a character device, not a regular file",
    );
}

/// Validates that a manifest that is no regular file is an error too, and
/// that a truly absent table is still fine (the control case).
#[test]
fn a_directory_manifest_is_an_error_and_an_absent_table_is_not() {
    let (_tmp, snap) = demo_copy();
    std::fs::remove_file(snap.join("invitations.csv")).expect("rm");
    assert_eq!(audit(&snap, &[]).0, 0, "an absent table is empty");
    let m = snap.join("manifest.json");
    std::fs::remove_file(&m).expect("rm");
    std::fs::create_dir(&m).expect("mkdir");
    assert_refused(
        &audit(&snap, &["--as-of", "2026-11-01"]),
        &m,
        "is a directory",
    );
}

// ---- item 10: devices and FIFOs elsewhere; the size cap ----

/// Validates that `/dev/zero` inside an export folder is refused at once
/// instead of being read forever.
#[test]
fn dev_zero_in_an_export_folder_is_refused() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let export = tmp.path().join("export");
    copy_dir(&root().join(EXPORT), &export);
    let f = export.join("contoso-dental/groups.json");
    symlink(Path::new("/dev/zero"), &f);
    assert_refused(&audit(&export, &[]), &f, "is a character device");
}

/// Validates that a FIFO inside an export folder is refused instead of
/// blocking the run.
#[test]
fn a_fifo_in_an_export_folder_is_refused() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let export = tmp.path().join("export");
    copy_dir(&root().join(EXPORT), &export);
    let f = export.join("contoso-dental/users.page2.json");
    mkfifo(&f);
    assert_refused(&audit(&export, &[]), &f, "is a named pipe (FIFO)");
    // The export's manifest goes through the same door.
    std::fs::remove_file(&f).expect("rm");
    let m = export.join("manifest.json");
    std::fs::remove_file(&m).expect("rm");
    mkfifo(&m);
    let export_s = s(&export);
    let out = s(&tmp.path().join("snap"));
    assert_refused(
        &run(&["import", &export_s, "--out", &out]),
        &m,
        "is a named pipe (FIFO)",
    );
}

/// Validates that `--waivers`, `--baseline` and `--config` refuse devices
/// and FIFOs instead of reading forever or blocking.
#[test]
fn waivers_baseline_and_config_refuse_devices_and_fifos() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let fifo = tmp.path().join("waivers.toml");
    mkfifo(&fifo);
    let demo = root().join(DEMO);
    let fifo_s = s(&fifo);
    for flag in ["--waivers", "--baseline", "--config"] {
        for dev in ["/dev/zero", "/dev/urandom"] {
            assert_refused(
                &audit(&demo, &[flag, dev]),
                Path::new(dev),
                "is a character device",
            );
        }
        assert_refused(
            &audit(&demo, &[flag, &fifo_s]),
            &fifo,
            "is a named pipe (FIFO)",
        );
    }
}

/// Validates that a rule file of `--rules DIR` that is a FIFO is refused.
#[test]
fn a_fifo_rule_file_is_refused() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let f = tmp.path().join("CUST001.toml");
    mkfifo(&f);
    let dir = s(tmp.path());
    assert_refused(
        &run(&["rules", "--rules", &dir]),
        &f,
        "is a named pipe (FIFO)",
    );
}

/// Validates the size cap: a file over `--max-file-size` (or the
/// environment variable) is an error naming it and the limit.
#[test]
fn files_over_the_size_cap_are_refused() {
    let (_tmp, snap) = demo_copy();
    // role_assignments.json (5141 bytes) is over 4 KiB, the others are not.
    let big = snap.join("role_assignments.json");
    let what = "file is larger than the input size limit of 4 KiB (4096 bytes)";
    assert_refused(&audit(&snap, &["--max-file-size", "4KiB"]), &big, what);
    let p = s(&snap);
    let via_env = run_env(
        &["audit", &p, "--fail-on", "never"],
        &[("PARTNER_AUDIT_MAX_FILE_SIZE", "4096")],
    );
    assert_refused(&via_env, &big, what);
    assert!(via_env.2.contains("--max-file-size"), "{}", via_env.2);
    // A CSV file is capped as well (principals.csv: 3578 bytes).
    let csv = snap.join("principals.csv");
    assert_refused(
        &audit(&snap, &["--max-file-size", "3000"]),
        &csv,
        "larger than",
    );
    // Within the cap, the run is as before.
    assert_eq!(audit(&snap, &["--max-file-size", "8K"]).0, 0);
    // An invalid size is a usage error.
    let (code, _, err) = audit(&snap, &["--max-file-size", "lots"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("invalid size `lots`"), "{err}");
}

/// Validates that the waivers file is capped too.
#[test]
fn a_waivers_file_over_the_cap_is_refused() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let w = tmp.path().join("w.toml");
    // Larger than any file of the demo (5645 bytes at most).
    std::fs::write(&w, format!("# {}\n", "x".repeat(9000))).expect("write");
    let w_s = s(&w);
    let demo = root().join(DEMO);
    assert_refused(
        &audit(&demo, &["--waivers", &w_s, "--max-file-size", "8KiB"]),
        &w,
        "larger than the input size limit",
    );
}

// ---- item 5: duplicate JSON keys ----

/// Validates that a JSON waiver with `expires` twice (the second one
/// overriding an expiry date) is rejected with line and column.
#[test]
fn a_json_waiver_with_a_key_twice_is_rejected() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let w = tmp.path().join("w.json");
    std::fs::write(
        &w,
        "{\"waivers\": [\n  {\"rule\": \"DAP001\", \"justification\": \"j\", \"owner\": \"o\",\n   \"expires\": \"2020-01-01\",\n   \"expires\": \"2099-01-01\"}\n]}\n",
    )
    .expect("write");
    let w_s = s(&w);
    let r = audit(&root().join(DEMO), &["--waivers", &w_s]);
    assert_refused(&r, &w, "duplicate key `expires`");
    assert!(
        r.2.contains(&format!("{w_s}:4:")),
        "line 4 expected:\n{}",
        r.2
    );
    // A repeated top-level key too.
    std::fs::write(&w, "{\"waivers\": [],\n \"waivers\": []}").expect("write");
    let r = audit(&root().join(DEMO), &["--waivers", &w_s]);
    assert_refused(&r, &w, "duplicate key `waivers`");
    assert!(r.2.contains(&format!("{w_s}:2:")), "{}", r.2);
}

/// Validates that a snapshot manifest with `captured_at` twice (either
/// spelling) is rejected with line, column and field.
#[test]
fn a_manifest_with_a_key_twice_is_rejected() {
    let (_tmp, snap) = demo_copy();
    let m = snap.join("manifest.json");
    std::fs::write(
        &m,
        "{\"format_version\": 1,\n \"captured_at\": \"2026-11-01\",\n   \"Captured_At\": \"2020-01-01\"}\n",
    )
    .expect("write");
    let r = audit(&snap, &[]);
    assert_refused(
        &r,
        &m,
        "duplicate manifest key `Captured_At` (first given on line 2)",
    );
    assert!(
        r.2.contains(&format!("{}:3:4: field `Captured_At`", s(&m))),
        "{}",
        r.2
    );
}

/// Validates that a single-file snapshot with its `manifest` or a table
/// twice is rejected.
#[test]
fn a_single_file_snapshot_with_a_key_twice_is_rejected() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let f = tmp.path().join("snap.json");
    std::fs::write(
        &f,
        "{\"manifest\": {\"captured_at\": \"2026-11-01\"},\n \"tenants\": [],\n \"manifest\": {\"captured_at\": \"2020-01-01\"}}\n",
    )
    .expect("write");
    let r = audit(&f, &[]);
    assert_refused(&r, &f, "duplicate key `manifest` (first given on line 1)");
    assert!(r.2.contains(&format!("{}:3:2:", s(&f))), "{}", r.2);
    std::fs::write(&f, "{\"tenants\": [],\n \"TENANTS\": []}").expect("write");
    assert_refused(
        &audit(&f, &["--as-of", "2026-11-01"]),
        &f,
        "duplicate key `TENANTS`",
    );
}

/// Validates that an export manifest mapping one folder twice is rejected.
#[test]
fn an_export_manifest_with_a_key_twice_is_rejected() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let export = tmp.path().join("export");
    copy_dir(&root().join(EXPORT), &export);
    let m = export.join("manifest.json");
    std::fs::write(
        &m,
        "{\"format_version\": 1, \"captured_at\": \"2026-11-01T08:00:00Z\",\n \"tenants\": {\n  \"contoso-dental\": \"093b6686-5095-4333-ac26-a942a344128b\",\n  \"contoso-dental\": \"0e094c1d-7ae1-4b00-90e2-f7162679cbde\"}}\n",
    )
    .expect("write");
    let r = audit(&export, &[]);
    assert_refused(&r, &m, "duplicate key `contoso-dental`");
    assert!(r.2.contains(&format!("{}:4:", s(&m))), "{}", r.2);
}

// ---- item 7: a manifest value nested past the recursion limit ----

/// Validates that a manifest value nested 128 deep is an error naming the
/// field, not a value silently read as null.
#[test]
fn a_deeply_nested_manifest_value_is_an_error() {
    let (_tmp, snap) = demo_copy();
    let m = snap.join("manifest.json");
    let deep = format!("{}{}", "[".repeat(128), "]".repeat(128));
    std::fs::write(
        &m,
        format!(
            "{{\"format_version\": 1, \"captured_at\": \"2026-11-01\",\n \"source\": {deep}}}\n"
        ),
    )
    .expect("write");
    let r = audit(&snap, &[]);
    assert_refused(&r, &m, "recursion limit exceeded");
    assert!(r.2.contains(&format!("{}:2:", s(&m))), "{}", r.2);
    assert!(r.2.contains("field `source`"), "{}", r.2);
    // The same manifest inside a single-file snapshot.
    let f = snap.join("../single.json");
    std::fs::write(
        &f,
        format!("{{\"tenants\": [],\n \"manifest\": {{\"captured_at\": \"2026-11-01\",\n  \"perspective\": {deep}}}}}\n"),
    )
    .expect("write");
    let r = audit(&f, &[]);
    assert_eq!(r.0, 2, "{}", r.2);
    assert!(r.2.contains("recursion limit exceeded"), "{}", r.2);
    assert!(r.2.contains("field `perspective`"), "{}", r.2);
}

// ---- item 6 and 18: baselines are validated ----

/// A baseline from a real run of the demo, then edited by `edit`.
fn baseline_with(edit: impl FnOnce(&mut Value)) -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = tmp.path().join("before");
    let out_s = s(&out);
    let demo = s(&root().join(DEMO));
    assert_eq!(audit(Path::new(&demo), &["--out", &out_s]).0, 0);
    let path = out.join("findings.json");
    let mut doc: Value =
        serde_json::from_slice(&std::fs::read(&path).expect("read")).expect("json");
    edit(&mut doc);
    std::fs::write(&path, serde_json::to_string_pretty(&doc).expect("json")).expect("write");
    (tmp, path)
}

/// Runs the demo against `baseline`; returns stderr after asserting exit 2.
#[track_caller]
fn refused_baseline(baseline: &Path) -> String {
    let b = s(baseline);
    let (code, out, err) = audit(&root().join(DEMO), &["--baseline", &b]);
    assert_eq!(code, 2, "stdout:\n{out}\nstderr:\n{err}");
    err
}

/// The `file:line:col: field `name`` prefix of an error about `baseline`.
#[track_caller]
fn assert_located(err: &str, baseline: &Path, field: &str, what: &str) {
    let b = s(baseline);
    let line = err
        .lines()
        .find(|l| l.contains(what))
        .unwrap_or_else(|| panic!("no `{what}` in:\n{err}"));
    let rest = line
        .strip_prefix(&format!("error: {b}:"))
        .unwrap_or_else(|| panic!("not about {b}: {line}"));
    let mut parts = rest.splitn(3, ':');
    let l = parts.next().unwrap_or("");
    let c = parts.next().unwrap_or("");
    assert!(
        l.parse::<u32>().is_ok() && c.parse::<u32>().is_ok(),
        "no line and column: {line}"
    );
    assert!(
        parts
            .next()
            .is_some_and(|r| r.starts_with(&format!(" field `{field}`: "))),
        "no field `{field}`: {line}"
    );
}

/// Validates that an unknown severity is refused, not copied into `resolved`.
#[test]
fn a_baseline_severity_is_validated() {
    let (_tmp, b) = baseline_with(|d| d["findings"][1]["severity"] = "catastrophic".into());
    let err = refused_baseline(&b);
    assert_located(&err, &b, "severity", "invalid severity `catastrophic`");
}

/// Validates rule ids, finding ids and GUIDs.
#[test]
fn baseline_ids_and_guids_are_validated() {
    let (_tmp, b) = baseline_with(|d| {
        d["findings"][0]["rule"] = "dap 001".into();
        d["findings"][1]["id"] = "whatever".into();
        d["findings"][2]["customer_tenant_id"] = "not-a-guid".into();
        d["findings"][3]["partner_tenant_id"] = 42.into();
    });
    let err = refused_baseline(&b);
    assert_located(&err, &b, "rule", "invalid rule id `dap 001`");
    assert_located(&err, &b, "id", "invalid finding id `whatever`");
    assert_located(
        &err,
        &b,
        "customer_tenant_id",
        "invalid tenant id `not-a-guid`",
    );
    assert_located(
        &err,
        &b,
        "partner_tenant_id",
        "`partner_tenant_id` is a number",
    );
}

/// Validates that a finding id listed twice is refused.
#[test]
fn a_duplicate_baseline_id_is_refused() {
    let (_tmp, b) = baseline_with(|d| {
        let first = d["findings"][0].clone();
        d["findings"].as_array_mut().expect("findings").push(first);
    });
    let err = refused_baseline(&b);
    assert_located(&err, &b, "id", "duplicate finding id");
}

/// Validates that a key given twice in a baseline finding is refused.
#[test]
fn a_duplicate_key_in_a_baseline_finding_is_refused() {
    let (_tmp, b) = baseline_with(|_| {});
    let text = std::fs::read_to_string(&b).expect("read");
    let text = text.replacen(
        "\"severity\": ",
        "\"severity\": \"info\", \"severity\": ",
        1,
    );
    std::fs::write(&b, text).expect("write");
    let err = refused_baseline(&b);
    assert_located(&err, &b, "findings", "duplicate key `severity`");
}

/// Validates the top level: a key twice, `findings` not an array.
#[test]
fn a_baseline_top_level_is_validated() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let b = tmp.path().join("findings.json");
    std::fs::write(
        &b,
        "{\"format_version\": 1, \"findings\": [],\n \"findings\": []}",
    )
    .expect("write");
    let err = refused_baseline(&b);
    assert!(
        err.contains(&format!("{}:2:", s(&b))) && err.contains("duplicate key `findings`"),
        "{err}"
    );
    std::fs::write(&b, "{\"format_version\": 1, \"findings\": \"none\"}").expect("write");
    let err = refused_baseline(&b);
    assert_located(
        &err,
        &b,
        "findings",
        "invalid baseline: invalid type: string",
    );
    std::fs::write(&b, "{\"format_version\": \"1\", \"findings\": []}").expect("write");
    let err = refused_baseline(&b);
    assert_located(
        &err,
        &b,
        "format_version",
        "unsupported baseline format_version",
    );
}

/// Validates that `[]` says what a baseline is (item 18).
#[test]
fn an_array_baseline_says_what_a_baseline_is() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let b = tmp.path().join("findings.json");
    std::fs::write(&b, "[]").expect("write");
    let err = refused_baseline(&b);
    assert_located(
        &err,
        &b,
        "baseline",
        "a baseline is an object, found an array",
    );
    assert!(
        err.contains("a findings.json object with `format_version` and `findings`"),
        "{err}"
    );
    assert!(!err.contains("struct Doc"), "{err}");
    // A missing `findings` names the field.
    std::fs::write(&b, "{\"format_version\": 1}").expect("write");
    let err = refused_baseline(&b);
    assert_located(
        &err,
        &b,
        "findings",
        "invalid baseline: missing field `findings`",
    );
}

/// Validates that a valid baseline still works, its values normalised
/// before they reach `resolved`.
#[test]
fn a_valid_baseline_is_accepted() {
    let (tmp, b) = baseline_with(|d| {
        let f = &mut d["findings"][0];
        f["id"] = "DAP001-00000000000000ff".into();
        f["rule"] = "DAP001".into();
        f["severity"] = "HIGH".into();
        f["customer_tenant_id"] = "A24E022D-57AB-4419-AEAE-2F3BC58A985D".into();
    });
    let bs = s(&b);
    let out = tmp.path().join("after");
    let out_s = s(&out);
    let (code, _, err) = audit(&root().join(DEMO), &["--baseline", &bs, "--out", &out_s]);
    assert_eq!(code, 0, "{err}");
    let doc: Value =
        serde_json::from_slice(&std::fs::read(out.join("findings.json")).expect("read"))
            .expect("json");
    let resolved = doc["resolved"].as_array().expect("resolved");
    assert_eq!(resolved.len(), 1, "{resolved:?}");
    assert_eq!(resolved[0]["id"], "DAP001-00000000000000ff");
    assert_eq!(resolved[0]["severity"], "high");
    assert_eq!(
        resolved[0]["customer_tenant_id"],
        "a24e022d-57ab-4419-aeae-2f3bc58a985d"
    );
}
