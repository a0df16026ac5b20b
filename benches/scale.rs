//! Scale benchmark (not part of CI): `cargo bench --bench scale`.
//!
//! In one run, on one deterministic synthetic snapshot (default 10,000
//! customers, `PA_BENCH_CUSTOMERS` to change), it times
//!   (a) the full audit — the release binary, load → graph → rules → findings.json;
//!   (b) a parse-only baseline: every CSV file read record by record with the
//!       csv crate (`StringRecord`, so UTF-8 is validated as the audit must);
//! and prints both, their ratio, the audit's own phase timings, and its peak
//! RSS against the input size. Targets: audit ≤ 3× parse-only, peak RSS ≤ 2×
//! input bytes, rule evaluation ≤ 20% of the audit.
//!
//! Then, with every report format (json, md, html, csv, sarif, junit,
//! opengraph): the audit in one process (target ≤ 3× parse-only, peak RSS
//! ≤ 1.5× input), and the same audit as `PA_BENCH_SHARDS` shards (default 4)
//! run one after the other, each shard's time, peak RSS and findings
//! assembled, and the `merge` of their folders; then both again with json,
//! csv, sarif and junit, with which shard 0 too keeps and audits only its
//! part of the snapshot. `PA_BENCH_RUNS` sets how many runs each
//! figure is the best of (default 3; the every-format runs once).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use partner_audit::generate::{generate, GenerateOptions};

/// How many runs each figure is the best of (`PA_BENCH_RUNS`, default 3).
fn runs() -> usize {
    std::env::var("PA_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&n| n > 0)
        .unwrap_or(3)
}

/// Every report format.
const EVERY_FORMAT: &str = "json,md,html,csv,sarif,junit,opengraph";

fn parse_only(dir: &Path) -> (f64, u64) {
    let start = Instant::now();
    let mut records = 0u64;
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("read bench dir")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "csv"))
        .collect();
    files.sort();
    for f in files {
        let mut rdr = csv::ReaderBuilder::new()
            .flexible(true)
            .from_path(&f)
            .expect("open csv");
        let mut rec = csv::StringRecord::new();
        while rdr.read_record(&mut rec).expect("parse csv") {
            records += 1;
        }
    }
    (start.elapsed().as_secs_f64(), records)
}

fn stat(line: &str, key: &str) -> f64 {
    let pat = format!("\"{key}\":");
    line.split(&pat)
        .nth(1)
        .and_then(|rest| rest.split([',', '}']).next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(f64::NAN)
}

fn main() {
    // By default the full catalog and the core rules are measured;
    // PA_BENCH_SELECT measures one selection instead.
    let select = std::env::var("PA_BENCH_SELECT").ok();
    let customers: usize = std::env::var("PA_BENCH_CUSTOMERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/bench-data");
    let dir = root.join(format!("c{customers}-s1"));
    if !dir.join("manifest.json").exists() {
        let t = Instant::now();
        let s = generate(
            &GenerateOptions {
                customers,
                seed: 1,
                partners: 20,
            },
            &dir,
        )
        .expect("generate snapshot");
        println!(
            "generated {} rows, {} bytes in {:.2}s",
            s.rows,
            s.bytes,
            t.elapsed().as_secs_f64()
        );
    }
    let input_bytes: u64 = std::fs::read_dir(&dir)
        .expect("read bench dir")
        .filter_map(Result::ok)
        .filter_map(|e| e.metadata().ok())
        .map(|m| m.len())
        .sum();

    let mut best_parse = f64::INFINITY;
    let mut rows = 0;
    for _ in 0..runs() {
        let (t, r) = parse_only(&dir);
        best_parse = best_parse.min(t);
        rows = r;
    }

    let out = root.join("out");
    println!("scale benchmark: {customers} customers, {rows} data rows, {:.1} MB of CSV ({} runs, best of each)", input_bytes as f64 / 1e6, runs());
    println!("  parse-only (csv crate, StringRecord, 1 thread): {best_parse:.3} s");
    let catalogs: Vec<(String, Option<String>)> = match select {
        Some(sel) => vec![(sel.clone(), Some(sel))],
        None => vec![
            ("all rules".to_string(), None),
            (format!("core rules ({CORE})"), Some(CORE.to_string())),
        ],
    };
    for (name, select) in catalogs {
        audit_catalog(
            &dir,
            &out,
            &name,
            select.as_deref(),
            best_parse,
            input_bytes,
        );
    }
    every_format(&dir, &root, best_parse, input_bytes);
}

/// Runs the binary with `args`; returns the wall time and the `--stats`
/// line of its stderr.
fn timed(args: &[&str]) -> (f64, String) {
    let t = Instant::now();
    let o = Command::new(env!("CARGO_BIN_EXE_partner-audit"))
        .args(args)
        .output()
        .expect("run partner-audit");
    let wall = t.elapsed().as_secs_f64();
    assert!(
        o.status.success(),
        "{args:?} failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let stderr = String::from_utf8_lossy(&o.stderr);
    let line = stderr
        .lines()
        .rev()
        .find(|l| l.starts_with('{'))
        .unwrap_or_default()
        .to_string();
    (wall, line)
}

/// Bytes of the files under `path`.
fn size(path: &Path) -> u64 {
    if path.is_dir() {
        std::fs::read_dir(path)
            .map(|r| r.filter_map(Result::ok).map(|e| size(&e.path())).sum())
            .unwrap_or(0)
    } else {
        std::fs::metadata(path).map_or(0, |m| m.len())
    }
}

/// The audit with every report format, in one process and as shards;
/// then the same with json and csv, the formats a shard writes from its own
/// findings alone.
fn every_format(dir: &Path, root: &Path, best_parse: f64, input_bytes: u64) {
    let dir_s = dir.to_string_lossy().into_owned();
    for formats in [EVERY_FORMAT, OWN_ONLY_FORMATS] {
        one_process(&dir_s, root, formats, best_parse, input_bytes);
        sharded(&dir_s, root, formats, best_parse, input_bytes);
    }
}

/// The audit with `formats` in one process.
fn one_process(dir_s: &str, root: &Path, formats: &str, best_parse: f64, input_bytes: u64) {
    let out = root.join("out-every");
    let _ = std::fs::remove_dir_all(&out);
    let out_s = out.to_string_lossy().into_owned();
    let (wall, line) = timed(&[
        "audit",
        dir_s,
        "--format",
        formats,
        "--out",
        &out_s,
        "--stats",
        "--fail-on",
        "never",
        "--quiet",
    ]);
    let rss = stat(&line, "peak_rss_bytes");
    println!("formats {formats}, one process:");
    println!(
        "  full audit: {wall:.3} s = {:.2}x parse-only (target <= 3x); report phase {:.3} s",
        wall / best_parse,
        stat(&line, "report_s")
    );
    println!(
        "  peak RSS: {:.1} MB = {:.2}x input bytes (target <= 1.5x); output {:.1} MB",
        rss / 1e6,
        rss / input_bytes as f64,
        size(&out) as f64 / 1e6
    );
}

/// The formats with which every shard, shard 0 too, keeps and audits only
/// its part of the snapshot.
const OWN_ONLY_FORMATS: &str = "json,csv,sarif,junit";

/// The audit with `formats` as `PA_BENCH_SHARDS` shards (default 4), one
/// after the other, then their merge.
fn sharded(dir_s: &str, root: &Path, formats: &str, best_parse: f64, input_bytes: u64) {
    let shards: u32 = std::env::var("PA_BENCH_SHARDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&n| n > 0)
        .unwrap_or(4);
    let mut dirs = Vec::new();
    let mut slowest: f64 = 0.0;
    let mut widest: f64 = 0.0;
    println!("  as {shards} shards, one after the other:");
    for i in 0..shards {
        let d = root.join(format!("shard-{i}"));
        let _ = std::fs::remove_dir_all(&d);
        let d_s = d.to_string_lossy().into_owned();
        let spec = format!("{i}/{shards}");
        let (wall, line) = timed(&[
            "audit",
            dir_s,
            "--format",
            formats,
            "--shard",
            &spec,
            "--out",
            &d_s,
            "--stats",
            "--fail-on",
            "never",
            "--quiet",
        ]);
        let rss = stat(&line, "peak_rss_bytes");
        println!(
            "    shard {spec}: {wall:.3} s, peak RSS {:.1} MB, wrote {:.1} MB, {} finding(s) assembled",
            rss / 1e6,
            size(&d) as f64 / 1e6,
            stat(&line, "findings")
        );
        slowest = slowest.max(wall);
        widest = widest.max(rss);
        dirs.push(d_s);
    }
    let merged = root.join("merged");
    let _ = std::fs::remove_dir_all(&merged);
    let merged_s = merged.to_string_lossy().into_owned();
    let mut args = vec!["merge"];
    args.extend(dirs.iter().map(String::as_str));
    args.extend(["--out", &merged_s, "--stats"]);
    let (merge_wall, line) = timed(&args);
    println!(
        "    merge: {merge_wall:.3} s, peak RSS {:.1} MB",
        stat(&line, "peak_rss_bytes") / 1e6
    );
    println!(
        "  on {shards} machines: {:.3} s (slowest shard + merge) = {:.2}x parse-only; largest shard peak RSS {:.1} MB = {:.2}x input",
        slowest + merge_wall,
        (slowest + merge_wall) / best_parse,
        widest / 1e6,
        widest / input_bytes as f64
    );
}

/// The core rules: implicit DAP access and lingering Azure roles.
const CORE: &str = "DAP001,DAP002,DAP003,AZ001,AZ002,AZ003,AZ004";

/// Times the audit with one catalog (best of [`runs`]) and prints its figures.
fn audit_catalog(
    dir: &Path,
    out: &Path,
    name: &str,
    select: Option<&str>,
    best_parse: f64,
    input_bytes: u64,
) {
    let mut best: Option<(f64, String)> = None;
    let dir_s = dir.to_string_lossy().into_owned();
    let out_s = out.to_string_lossy().into_owned();
    let mut args = vec![
        "audit",
        &dir_s,
        "--out",
        &out_s,
        "--stats",
        "--fail-on",
        "never",
    ];
    if let Some(sel) = select {
        args.extend(["--select", sel]);
    }
    for _ in 0..runs() {
        let (wall, line) = timed(&args);
        if best.as_ref().is_none_or(|b| wall < b.0) {
            best = Some((wall, line));
        }
    }
    let (audit, line) = best.expect("at least one run");
    let rss = stat(&line, "peak_rss_bytes");
    let rules = stat(&line, "rules_s");
    let findings_bytes = std::fs::metadata(out.join("findings.json"))
        .map(|m| m.len())
        .unwrap_or(0);

    println!("catalog: {name}");
    println!("  full audit (release binary, wall clock):       {audit:.3} s");
    println!(
        "  ratio audit / parse-only:                      {:.2}x (target <= 3x)",
        audit / best_parse
    );
    println!(
        "  audit phases: load {:.3} s, graph {:.3} s, facts {:.3} s, rule evaluation {:.3} s ({:.1}% of audit, target <= 20%), report {:.3} s",
        stat(&line, "load_s"),
        stat(&line, "graph_s"),
        stat(&line, "facts_s"),
        rules,
        100.0 * rules / audit,
        stat(&line, "report_s")
    );
    println!(
        "  peak RSS after each phase: load {:.0} MB, graph {:.0} MB, rules {:.0} MB, report {:.0} MB",
        stat(&line, "load_peak_mb"),
        stat(&line, "graph_peak_mb"),
        stat(&line, "rules_peak_mb"),
        stat(&line, "report_peak_mb")
    );
    println!(
        "  findings: {} ({:.1} MB findings.json)",
        stat(&line, "findings"),
        findings_bytes as f64 / 1e6
    );
    println!(
        "  peak RSS: {:.1} MB = {:.2}x input bytes (target <= 2x)",
        rss / 1e6,
        rss / input_bytes as f64
    );
}
