//! Runs a parsed command line: load → graph → engine → reports.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use jiff::Timestamp;
use thiserror::Error;

use crate::cli::{AuditArgs, CatalogArgs, Cli, Command, FailOn, PolicyArg, RulesAction};
use crate::engine::config::{self, Config};
use crate::engine::rule::{self, Rule, Severity};
use crate::engine::{self, docs, ruletest, Overrides, RunOptions};
use crate::graph::{AccessGraph, AutopilotPolicy};
use crate::report::{self, AsOfOrigin, Report};
use crate::snapshot::{self, Diagnostic, Level};

/// A usage or input error: the run stops with exit status 2.
#[derive(Debug, Error)]
pub enum AppError {
    #[error("{}", render_diags(.0))]
    Diagnostics(Vec<Diagnostic>),
    #[error("error: {0}")]
    Usage(String),
    #[error("error: cannot write {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    /// The reports could not be published; the previous ones are in place.
    #[error("{0}")]
    Unpublished(report::emit::EmitError),
}

fn render_diags(d: &[Diagnostic]) -> String {
    let errors = d.iter().filter(|x| x.level == Level::Error).count();
    let mut folded = d.to_vec();
    snapshot::diag::fold_alike_warnings(&mut folded);
    let mut s = String::new();
    write_diagnostics(&mut s, &folded, false, "not shown");
    let _ = write!(s, "{errors} error(s)");
    s
}

/// Most warnings printed to the terminal; the rest are counted.
pub const MAX_TERMINAL_WARNINGS: usize = 20;

/// Appends `diags` for the terminal, one per line: every error, and the
/// first [`MAX_TERMINAL_WARNINGS`] warnings (none when `quiet`) followed by
/// `… and N more warning(s) (REST)`.
fn write_diagnostics(out: &mut String, diags: &[Diagnostic], quiet: bool, rest: &str) {
    let mut shown = 0usize;
    let mut hidden = 0usize;
    for d in diags {
        if d.level == Level::Warning {
            if quiet {
                continue;
            }
            if shown == MAX_TERMINAL_WARNINGS {
                hidden += 1;
                continue;
            }
            shown += 1;
        }
        let _ = writeln!(out, "{}", crate::report::summary::printable(&d.to_string()));
    }
    if hidden > 0 {
        let _ = writeln!(
            out,
            "… and {} more warning(s) ({rest})",
            snapshot::diag::thousands(hidden)
        );
    }
}

/// Prints [`write_diagnostics`] to stderr.
fn print_diagnostics(diags: &[Diagnostic], quiet: bool, rest: &str) {
    let mut s = String::new();
    write_diagnostics(&mut s, diags, quiet, rest);
    eprint!("{s}");
}

/// Runs the command; `Ok` carries the exit status (0 or 1).
pub fn run(cli: Cli) -> Result<u8, AppError> {
    if let Some(limit) = cli.max_file_size {
        crate::input_file::set_max_file_size(limit);
    }
    match cli.command {
        Command::Audit(a) => audit(&a),
        Command::Import(a) => import(&a),
        Command::Exposure(a) => exposure(&a),
        Command::Merge(a) => merge(&a),
        Command::Collect(a) => crate::collect::command::run(&a).map_err(AppError::Usage),
        Command::Rules(r) => match r.action {
            None => {
                let rules = catalog(&r.catalog)?;
                print!("{}", list_rules(&rules));
                Ok(0)
            }
            Some(RulesAction::Test { dir, select }) => rules_test(dir, &select, &r.catalog),
            Some(RulesAction::Doc) => {
                let rules = catalog(&r.catalog)?;
                print!("{}", docs::rules_reference(&rules));
                Ok(0)
            }
        },
        Command::Explain { id, catalog: c } => {
            let rules = catalog(&c)?;
            let rule = rules
                .iter()
                .find(|r| r.id.eq_ignore_ascii_case(id.trim()))
                .ok_or_else(|| {
                    AppError::Usage(format!(
                        "unknown rule `{id}`{} (see `partner-audit rules`)",
                        config::did_you_mean(&id, &rules, false)
                    ))
                })?;
            print!("{}", explain(rule));
            Ok(0)
        }
        Command::Generate {
            customers,
            partners,
            seed,
            out,
        } => {
            let stats = crate::generate::generate(
                &crate::generate::GenerateOptions {
                    customers,
                    seed,
                    partners,
                },
                &out,
            )
            .map_err(|source| AppError::Io {
                path: out.display().to_string(),
                source,
            })?;
            println!(
                "wrote {} rows, {} bytes into {}",
                stats.rows,
                stats.bytes,
                out.display()
            );
            Ok(0)
        }
        Command::Completions { shell } => {
            let mut cmd = <Cli as clap::CommandFactory>::command();
            // Into memory first: the generator panics on a failed write.
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut cmd, "partner-audit", &mut script);
            std::io::Write::write_all(&mut std::io::stdout().lock(), &script).map_err(
                |source| AppError::Io {
                    path: "standard output".into(),
                    source,
                },
            )?;
            Ok(0)
        }
        Command::Man { out } => man(out.as_deref()),
    }
}

/// `man`: the manual page on stdout, or one page per command in `out`.
fn man(out: Option<&Path>) -> Result<u8, AppError> {
    let cmd = <Cli as clap::CommandFactory>::command();
    let io = |path: &Path| {
        let path = path.display().to_string();
        move |source| AppError::Io { path, source }
    };
    match out {
        None => {
            let mut page = Vec::new();
            let stdout = Path::new("standard output");
            clap_mangen::Man::new(cmd)
                .render(&mut page)
                .map_err(io(stdout))?;
            std::io::Write::write_all(&mut std::io::stdout().lock(), &page).map_err(io(stdout))?;
        }
        Some(dir) => {
            std::fs::create_dir_all(dir).map_err(io(dir))?;
            clap_mangen::generate_to(cmd, dir).map_err(io(dir))?;
            println!("wrote the manual pages into {}", dir.display());
        }
    }
    Ok(0)
}

/// `rules test [DIR]`: a directory's rules with their fixtures on disk, or
/// the catalog (built-in rules with the fixtures built into the binary,
/// plus `--rules DIR` read from disk).
fn rules_test(dir: Option<PathBuf>, select: &[String], c: &CatalogArgs) -> Result<u8, AppError> {
    let (mut rules, own) = match &dir {
        Some(dir) => {
            let rules = rule::load_catalog(Some(dir), false).map_err(AppError::Diagnostics)?;
            if rules.is_empty() {
                return Err(AppError::Usage(no_rule_files(dir)));
            }
            let own = rules.iter().map(|r| r.id.clone()).collect();
            (rules, own)
        }
        None => {
            let rules = catalog(c)?;
            let own: std::collections::BTreeSet<String> = match &c.rules {
                Some(d) => rule::load_catalog(Some(d), false)
                    .map_err(AppError::Diagnostics)?
                    .into_iter()
                    .map(|r| r.id)
                    .collect(),
                None => Default::default(),
            };
            (rules, own)
        }
    };
    config::check_patterns(&rules, select, "--select").map_err(AppError::Usage)?;
    let prefix = |p: &str, id: &str| id.len() >= p.len() && id[..p.len()].eq_ignore_ascii_case(p);
    if !select.is_empty() {
        rules.retain(|r| select.iter().any(|p| prefix(p, &r.id)));
    }
    let outcomes = ruletest::run_tests_from(&rules, &|r| {
        if own.contains(&r.id) {
            ruletest::Fixtures::Disk
        } else {
            ruletest::Fixtures::Builtin
        }
    });
    if dir.is_none() && c.rules.is_none() {
        println!("the built-in catalog, with the fixtures built into the binary (`partner-audit rules test DIR` tests a directory of your own rules)");
    }
    print!("{}", ruletest::render(&rules, &outcomes));
    Ok(u8::from(outcomes.iter().any(|o| !o.passed)))
}

/// The error for a `rules test DIR` without rule files: it names a folder
/// below that holds some, or says what DIR should be.
fn no_rule_files(dir: &Path) -> String {
    let has_rules = |d: &Path| {
        std::fs::read_dir(d).is_ok_and(|rd| {
            rd.filter_map(Result::ok)
                .any(|e| e.path().extension().is_some_and(|x| x == "toml"))
        })
    };
    let mut below: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.is_dir() && has_rules(p))
                .collect()
        })
        .unwrap_or_default();
    below.sort();
    match below.first() {
        Some(d) => format!(
            "no rule files (*.toml) in `{}`; did you mean `partner-audit rules test {}`?",
            dir.display(),
            d.display()
        ),
        None => format!(
            "no rule files (*.toml) in `{}`: pass the folder that holds your rule files, `partner-audit rules test DIR` (without DIR, the built-in catalog is tested)",
            dir.display()
        ),
    }
}

/// `exposure`: loads the snapshot, builds the graph and prints what the
/// target reaches.
fn exposure(a: &crate::cli::ExposureArgs) -> Result<u8, AppError> {
    let loaded = crate::import::load_any(&a.snapshot);
    if loaded.has_errors() && !a.keep_going {
        return Err(AppError::Diagnostics(loaded.diagnostics));
    }
    let policy = match a.autopilot_policy {
        Some(PolicyArg::Strict) => AutopilotPolicy::Strict,
        Some(PolicyArg::Legacy) | None => AutopilotPolicy::Legacy,
    };
    let graph = AccessGraph::build_with(&loaded.snapshot, policy);
    let mut diagnostics = loaded.diagnostics.clone();
    diagnostics.extend(graph.warnings.iter().cloned());
    diagnostics.sort();
    snapshot::diag::fold_alike_warnings(&mut diagnostics);
    print_diagnostics(&diagnostics, a.quiet, "not shown");
    let s = &loaded.snapshot;
    let target = crate::exposure::resolve(s, &graph, &a.target)
        .map_err(|e| AppError::Usage(e.to_string()))?;
    let out = crate::exposure::exposure(s, &graph, target).to_out(s, &graph, &a.target);
    let write = |w: &mut dyn std::io::Write| match a.format {
        crate::cli::ExposureFormat::Text => {
            w.write_all(crate::exposure::render_text(&out).as_bytes())
        }
        crate::cli::ExposureFormat::Json => crate::exposure::write_json(&out, w),
        crate::cli::ExposureFormat::Html => crate::report::html::write_exposure(
            &out,
            &crate::exposure::summary_counts(&out.summary),
            s.manifest.captured_at.map(|t| t.to_string()),
            w,
        ),
    };
    if let Some(path) = &a.out {
        return crate::report::write_atomic(path, write)
            .map(|()| 0)
            .map_err(|source| AppError::Io {
                path: path.display().to_string(),
                source,
            });
    }
    let mut stdout = std::io::stdout().lock();
    let written = write(&mut stdout);
    match written.and_then(|()| std::io::Write::flush(&mut stdout)) {
        // A reader that stops early (`| head`) is not an error.
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(AppError::Io {
            path: "standard output".into(),
            source: e,
        }),
        _ => Ok(0),
    }
}

/// `import`: reads an export folder and writes the canonical snapshot.
fn merge(a: &crate::cli::MergeArgs) -> Result<u8, AppError> {
    use crate::shard::merge::MergeError;
    use std::io::Write as _;
    let start = Instant::now();
    let merged = crate::shard::merge::merge(&a.shards, &a.out).map_err(|e| match e {
        MergeError::Io { path, source } => AppError::Io { path, source },
        other => AppError::Usage(other.to_string()),
    })?;
    let mut stdout = anstream::stdout();
    let _ = writeln!(
        stdout,
        "merged {} shard(s): {} finding(s)",
        merged.shards,
        crate::snapshot::diag::thousands(merged.findings)
    );
    for path in &merged.written {
        let _ = writeln!(
            stdout,
            "wrote {}",
            report::summary::printable(&path.display().to_string())
        );
    }
    if a.stats {
        eprintln!(
            "{{\"total_s\":{:.4},\"findings\":{},\"peak_rss_bytes\":{}}}",
            start.elapsed().as_secs_f64(),
            merged.findings,
            peak_rss().unwrap_or(0)
        );
    }
    Ok(0)
}

fn import(a: &crate::cli::ImportArgs) -> Result<u8, AppError> {
    if a.export.is_dir() && !crate::import::is_export_folder(&a.export) {
        return Err(AppError::Usage(format!(
            "`{}` is not an export folder (a canonical snapshot needs no import; see docs/exporting.md)",
            a.export.display()
        )));
    }
    let loaded = crate::import::load_export(&a.export);
    if loaded.has_errors() && !a.keep_going {
        return Err(AppError::Diagnostics(loaded.diagnostics));
    }
    let mut diagnostics = loaded.diagnostics.clone();
    snapshot::diag::fold_alike_warnings(&mut diagnostics);
    print_diagnostics(&diagnostics, a.quiet, "not shown");
    crate::import::write::write_snapshot(&loaded.snapshot, &a.out).map_err(|e| match e {
        crate::import::write::WriteError::Io { path, source } => AppError::Io { path, source },
        other => AppError::Usage(other.to_string()),
    })?;
    println!(
        "{}",
        crate::import::write::summary(&loaded.snapshot, &a.out)
    );
    Ok(0)
}

/// Loads the rule catalog per the command line.
pub fn catalog(c: &CatalogArgs) -> Result<Vec<Rule>, AppError> {
    rule::load_catalog(c.rules.as_deref(), !c.no_builtin_rules).map_err(AppError::Diagnostics)
}

fn list_rules(rules: &[Rule]) -> String {
    let mut s = String::new();
    for r in rules {
        let _ = writeln!(
            s,
            "{:<8} {:<7} {}{}",
            r.id,
            r.severity.as_str(),
            r.title,
            if r.enabled { "" } else { " (disabled)" }
        );
    }
    s
}

/// A rule's documentation as plain text.
pub fn explain(r: &Rule) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{} — {}\nseverity: {}\nsource: {}\n",
        r.id, r.title, r.severity, r.source
    );
    for (h, body) in [
        ("What it detects", r.summary.as_str()),
        ("Why it matters", r.rationale.as_str()),
        ("Example", r.example.as_str()),
        ("Remediation", &*r.remediation),
    ] {
        let _ = writeln!(s, "{h}\n{}\n", body.trim());
    }
    if !r.params.is_empty() {
        let _ = writeln!(s, "Parameters");
        for p in &r.params {
            let _ = writeln!(s, "  {} = {:?}  {}", p.name, p.value, p.doc);
        }
        s.push('\n');
    }
    let _ = writeln!(s, "Query\n  from:  {}\n  where: {}", r.from, r.where_src);
    if !r.references.is_empty() {
        let _ = writeln!(s, "\nReferences");
        for x in &r.references {
            let _ = writeln!(s, "  {x}");
        }
    }
    s
}

fn parse_as_of(s: &str) -> Result<Timestamp, AppError> {
    snapshot::fields::parse_timestamp(s).ok_or_else(|| {
        AppError::Usage(format!(
            "invalid --as-of `{s}` (expected an ISO 8601 date or date-time, e.g. 2026-11-01)"
        ))
    })
}

/// A memory figure of this process in bytes from `/proc/self/status`
/// (`VmHWM` = peak resident set, `VmRSS` = current), Linux only.
fn proc_status_bytes(key: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(key))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// Peak resident set size of this process in bytes (Linux), if known.
fn peak_rss() -> Option<u64> {
    proc_status_bytes("VmHWM:")
}

/// Records a phase's duration and the peak RSS reached so far.
fn phase(timings: &mut Vec<(String, f64)>, name: &str, start: Instant) {
    timings.push((format!("{name}_s"), start.elapsed().as_secs_f64()));
    timings.push((
        format!("{name}_peak_mb"),
        peak_rss().unwrap_or(0) as f64 / 1e6,
    ));
}

/// The result of an audit, before reporting.
pub struct Audit {
    pub snapshot: snapshot::Snapshot,
    pub graph: AccessGraph,
    pub findings: Vec<engine::Finding>,
    pub diagnostics: Vec<Diagnostic>,
    pub as_of: Timestamp,
    /// Where `as_of` came from.
    pub as_of_origin: AsOfOrigin,
}

/// What an audit run needs beyond the snapshot and the rules.
#[derive(Clone, Debug, Default)]
pub struct Settings {
    /// `--as-of` as given (default: the manifest's `captured_at`).
    pub as_of: Option<String>,
    /// Audit the valid rows when some are rejected.
    pub keep_going: bool,
    pub overrides: Overrides,
    pub policy: AutopilotPolicy,
    /// Under `audit --shard`, when the shard evaluates only its own
    /// findings ([`crate::shard::Shard::evaluates_own_only`]).
    pub only: Option<crate::shard::Shard>,
    /// Under `audit --shard`, when the shard keeps only its part of the
    /// snapshot ([`crate::shard::Shard::reads_own_only`]).
    pub part: Option<crate::shard::Shard>,
}

/// Loads, builds and evaluates: the whole pipeline without reporting.
pub fn run_audit(
    path: &Path,
    rules: &[Rule],
    settings: &Settings,
    timings: &mut Vec<(String, f64)>,
) -> Result<Audit, AppError> {
    run_audit_reporting(path, rules, settings, timings, &|_| {})
}

/// [`run_audit`], telling `on_phase` what it starts doing (for a progress line).
pub fn run_audit_reporting(
    path: &Path,
    rules: &[Rule],
    settings: &Settings,
    timings: &mut Vec<(String, f64)>,
    on_phase: &dyn Fn(&str),
) -> Result<Audit, AppError> {
    // A bad `--as-of` needs no input: it is reported before any is read.
    let flag = settings.as_of.as_deref().map(parse_as_of).transpose()?;
    on_phase("loading the snapshot");
    let t = Instant::now();
    let loaded = crate::import::load_any(path);
    phase(timings, "load", t);
    if loaded.has_errors() && !settings.keep_going {
        return Err(AppError::Diagnostics(loaded.diagnostics));
    }
    let (as_of, as_of_origin) = match (flag, loaded.snapshot.manifest.captured_at) {
        (Some(t), _) => (t, AsOfOrigin::Flag),
        (None, Some(t)) => (t, AsOfOrigin::Manifest),
        (None, None) => return Err(AppError::Usage(no_as_of(path))),
    };
    on_phase("building the access graph");
    let t = Instant::now();
    let snapshot::Loaded {
        snapshot: mut snap,
        diagnostics,
    } = loaded;
    let graph = match settings.part {
        None => AccessGraph::build_with(&snap, settings.policy),
        Some(shard) => {
            let total = snap.row_count();
            // The whole snapshot's graph, for its warnings and for what
            // reaches the shard's tenants: its members are not needed.
            let whole = AccessGraph::build_unexpanded(&snap, settings.policy);
            let graph;
            (snap, graph) = keep_part(path, snap, whole, shard, settings.policy);
            // What the shard kept of the snapshot's rows (`--stats`).
            timings.push(("rows_total".into(), total as f64));
            timings.push(("rows_kept".into(), snap.row_count() as f64));
            graph
        }
    };
    let loaded = snapshot::Loaded {
        snapshot: snap,
        diagnostics,
    };
    phase(timings, "graph", t);
    on_phase("evaluating the rules");
    let t = Instant::now();
    let (findings, facts_s) = engine::run_timed(
        rules,
        &loaded.snapshot,
        &graph,
        &RunOptions {
            as_of,
            overrides: settings.overrides.clone(),
            policy: settings.policy,
            only: settings.only,
        },
    );
    // Fact derivation and rule evaluation are reported apart.
    timings.push(("facts_s".into(), facts_s));
    timings.push(("rules_s".into(), t.elapsed().as_secs_f64() - facts_s));
    timings.push(("rules_peak_mb".into(), peak_rss().unwrap_or(0) as f64 / 1e6));
    let mut diagnostics = loaded.diagnostics;
    diagnostics.extend(graph.warnings.iter().cloned());
    diagnostics.extend(incomplete_warnings(path, &loaded.snapshot));
    diagnostics.sort();
    snapshot::diag::fold_alike_warnings(&mut diagnostics);
    Ok(Audit {
        snapshot: loaded.snapshot,
        graph,
        findings,
        diagnostics,
        as_of,
        as_of_origin,
    })
}

/// A shard's part of the snapshot ([`crate::shard::scope`]) and its graph,
/// which keeps the whole graph's warnings and unresolved counts (they are
/// about the whole snapshot in every shard). Should the part's graph
/// resolve a reference the whole graph resolves otherwise, the part is
/// given up: the whole snapshot is read again and audited as it is.
fn keep_part(
    path: &Path,
    mut snap: snapshot::Snapshot,
    mut whole: AccessGraph,
    shard: crate::shard::Shard,
    policy: AutopilotPolicy,
) -> (snapshot::Snapshot, AccessGraph) {
    use crate::shard::scope;
    let keep = scope::kept_tenants(&snap, &whole, shard);
    let warnings = std::mem::take(&mut whole.warnings);
    let unresolved = std::mem::take(&mut whole.unresolved);
    drop(whole);
    scope::retain(&mut snap, &keep);
    let mut part = AccessGraph::build_with(&snap, policy);
    if !scope::resolves_alike(&part.warnings, &warnings) {
        eprintln!(
            "warning: shard {shard}: its part of the snapshot resolves a reference otherwise than the whole snapshot; auditing the whole snapshot"
        );
        let again = crate::import::load_any(path);
        let graph = AccessGraph::build_with(&again.snapshot, policy);
        return (again.snapshot, graph);
    }
    part.warnings = warnings;
    part.unresolved = unresolved;
    (snap, part)
}

/// The error for a snapshot without `captured_at` and no `--as-of`: the
/// audit does not take the clock's date (the same snapshot would give other
/// findings tomorrow), so it says, once, the two ways to give the date,
/// with today's date filled in.
fn no_as_of(path: &Path) -> String {
    let today = jiff::Zoned::now()
        .with_time_zone(jiff::tz::TimeZone::UTC)
        .date();
    let stamp = format!("{today}T00:00:00Z");
    let shown = path.display();
    let manifest = if path.is_dir() {
        format!(
            "`{}` (`{{\"format_version\": 1, \"captured_at\": \"{stamp}\"}}`)",
            path.join("manifest.json").display()
        )
    } else {
        format!(
            "a top-level `\"manifest\": {{\"format_version\": 1, \"captured_at\": \"{stamp}\"}}` in `{shown}`"
        )
    };
    format!(
        "`{shown}` has no `captured_at` in its manifest, so the audit has no as-of date (it does not take the clock's, to stay reproducible)\n  \
         help: add `--as-of {stamp}` (today, or the day the data was exported), or record the export time in {manifest}"
    )
}

/// One warning per tenant the manifest lists as incomplete: its findings may be missing.
fn incomplete_warnings(path: &Path, s: &snapshot::Snapshot) -> Vec<Diagnostic> {
    s.manifest
        .incomplete
        .iter()
        .map(|x| {
            let name = s
                .tenants
                .iter()
                .find(|t| t.tenant_id == x.tenant_id)
                .map_or_else(|| x.tenant_id.to_string(), |t| t.name.to_string());
            Diagnostic::warning(
                path.display().to_string(),
                format!(
                    "tenant `{name}` (`{}`) is incomplete, findings may be missing: {}",
                    x.tenant_id, x.reason
                ),
            )
            .with_field("incomplete")
        })
        .collect()
}

/// The catalog and settings an `audit` command line asks for: config file
/// first, then the command line on top.
fn prepare(a: &AuditArgs) -> Result<(Vec<Rule>, Settings), AppError> {
    let mut rules = catalog(&a.catalog)?;
    let config = match &a.config {
        Some(p) => Config::load(p).map_err(AppError::Usage)?,
        None => Config::default(),
    };
    if let Some(p) = &a.config {
        // A mistake in the file is reported as the file's, not the command line's.
        for (list, key) in [(&config.select, "select"), (&config.ignore, "ignore")] {
            config::check_patterns(&rules, list, &format!("{}: `{key}`", p.display()))
                .map_err(AppError::Usage)?;
        }
    }
    let select = if a.select.is_empty() {
        &config.select
    } else {
        &a.select
    };
    let ignore: Vec<String> = config.ignore.iter().chain(&a.ignore).cloned().collect();
    config::apply_selection(&mut rules, select, &ignore).map_err(AppError::Usage)?;
    let settings_list: Vec<String> = config.set.iter().chain(&a.set).cloned().collect();
    let overrides = config::parse_overrides(&rules, &settings_list).map_err(AppError::Usage)?;
    let policy = match (a.autopilot_policy, config.autopilot_policy.as_deref()) {
        (Some(PolicyArg::Strict), _) | (None, Some("strict")) => AutopilotPolicy::Strict,
        (Some(PolicyArg::Legacy), _) | (None, Some("legacy") | None) => AutopilotPolicy::Legacy,
        (None, Some(other)) => {
            return Err(AppError::Usage(format!(
                "config: invalid autopilot_policy `{other}` (expected legacy or strict)"
            )))
        }
    };
    Ok((
        rules,
        Settings {
            as_of: a.as_of.clone(),
            keep_going: a.keep_going,
            overrides,
            policy,
            only: None,
            part: None,
        },
    ))
}

fn emit_error(e: report::emit::EmitError) -> AppError {
    match e {
        report::emit::EmitError::Io { path, source } => AppError::Io { path, source },
        report::emit::EmitError::Usage(m) => AppError::Usage(m),
        report::emit::EmitError::Input(d) => AppError::Diagnostics(d),
        e @ report::emit::EmitError::Unpublished { .. } => AppError::Unpublished(e),
    }
}

fn audit(a: &AuditArgs) -> Result<u8, AppError> {
    let start = Instant::now();
    if let Some(n) = a.threads {
        if n == 0 {
            return Err(AppError::Usage("--threads must be at least 1".into()));
        }
        // Fails only if a pool already exists (tests); the count then stays as it was.
        let _ = rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build_global();
    }
    let (rules, mut settings) = prepare(a)?;
    // Mistakes in the command line are reported before the snapshot is read
    // (a bad `--as-of` too, by `run_audit_reporting`).
    let shard = a
        .shard
        .as_deref()
        .map(|spec| crate::shard::Shard::parse(spec, |v| std::env::var(v).ok()))
        .transpose()
        .map_err(AppError::Usage)?;
    if let Some(s) = shard {
        crate::shard::check_args(&a.report, a.out.as_deref()).map_err(AppError::Usage)?;
        let formats = report::emit::formats(&a.report);
        settings.only = s.evaluates_own_only(&formats).then_some(s);
        settings.part = s.reads_own_only(&formats).then_some(s);
    }
    report::emit::preflight(&a.report, a.out.as_deref(), &rules).map_err(emit_error)?;
    let mut timings = Vec::new();
    // A progress line on stderr, only on a terminal and only after a second.
    let progress = report::progress::Progress::start();
    let audit = run_audit_reporting(&a.snapshot, &rules, &settings, &mut timings, &|m| {
        progress.set(m.to_string());
    });
    progress.finish();
    // A shard that writes a whole-run report evaluated every customer: the
    // reports take the shard's part.
    let audit = audit?;
    let report = Report {
        snapshot: &audit.snapshot,
        graph: &audit.graph,
        as_of: audit.as_of,
        as_of_origin: audit.as_of_origin,
        findings: &audit.findings,
        diagnostics: &audit.diagnostics,
        shard,
    };
    let json_written = a.out.is_some()
        && a.report
            .format
            .as_ref()
            .is_none_or(|f| f.contains(&report::emit::Format::Json));
    print_diagnostics(
        &audit.diagnostics,
        a.quiet,
        if json_written {
            "all in findings.json"
        } else if a.out.is_some() {
            "add json to --format to list them all in findings.json"
        } else {
            "use --out DIR to list them all in findings.json"
        },
    );
    let fail_on = match a.fail_on {
        FailOn::Never => None,
        FailOn::Info => Some(Severity::Info),
        FailOn::Low => Some(Severity::Low),
        FailOn::Medium => Some(Severity::Medium),
        FailOn::High => Some(Severity::High),
    };
    let t = Instant::now();
    let code = report::emit::emit(
        &report,
        &rules,
        &a.report,
        a.out.as_deref(),
        fail_on,
        a.quiet,
    )
    .map_err(emit_error)?;
    phase(&mut timings, "report", t);
    if a.stats {
        let mut s = String::from("{");
        for (k, v) in &timings {
            let _ = write!(s, "\"{k}\":{v:.4},");
        }
        let _ = write!(
            s,
            "\"total_s\":{:.4},\"findings\":{},\"peak_rss_bytes\":{}}}",
            start.elapsed().as_secs_f64(),
            audit.findings.len(),
            peak_rss().unwrap_or(0)
        );
        eprintln!("{s}");
    }
    // The process ends right after: returning the snapshot, graph and
    // findings to the allocator one by one would only delay the exit
    // (about 0.15 s at 10,000 customers).
    std::mem::forget(audit);
    Ok(code)
}
