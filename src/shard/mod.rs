//! Shards: one audit split over several machines by customer tenant.
//!
//! `audit --shard I/N` reads the whole snapshot and builds the graph of
//! the whole (the input accounting and warnings must be the whole
//! snapshot's), then keeps the partner tenants' rows, its own customers'
//! and those of any tenant whose principals reach them ([`scope`]), and
//! audits that part, unless shard 0 writes a report about the whole run
//! ([`WHOLE_SNAPSHOT`]). It assembles the findings shard `I` owns (all of
//! them on shard 0 when it writes a report made from every finding,
//! [`FROM_EVERY_FINDING`]) and writes what it owns:
//!
//! - a finding belongs to the shard of its customer tenant; a finding
//!   without a customer (about a partner, or the snapshot as a whole) to
//!   shard 0: findings.json, findings.csv and findings.sarif hold the
//!   shard's findings;
//! - a junit.xml case belongs to the shard of its customer (a partner's
//!   and the whole snapshot's to shard 0);
//! - an access.csv row belongs to the shard of its tenant;
//! - a customer's HTML page, to its customer's shard;
//! - the reports about the whole run (report.md, opengraph.json,
//!   report.html and the HTML lists) are written by shard 0 alone.
//!
//! A tenant's shard is the first eight bytes of the SHA-256 of its id
//! (lower-case, hyphenated), read as a big-endian number, modulo `N`: the
//! same on every machine and in every release, whatever the snapshot's
//! row order.
//!
//! Next to its reports a shard writes [`INDEX_FILE`], which says which
//! shard it is, the sort key of each finding, of each tenant's access rows
//! and of each JUnit subject, and the byte length of each SARIF result and
//! JUnit case. [`merge`] reads the shards' folders and writes the bytes
//! the unsharded run writes.

pub mod merge;
pub mod scope;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::engine::rule::Severity;
use crate::engine::Finding;
use crate::report::emit::Format;
use crate::snapshot::Guid;

/// The file a shard writes next to its reports.
pub const INDEX_FILE: &str = "shard.json";

/// The version of [`INDEX_FILE`]'s layout.
pub const INDEX_VERSION: u32 = 2;

/// The report formats whose files a shard writes its part of: findings
/// (findings.json, findings.csv, SARIF results), JUnit cases, access rows
/// and customer pages. Shard 0 also writes the reports about the whole run
/// (report.md, opengraph.json, report.html and the HTML lists).
pub const SPLIT: [Format; 5] = [
    Format::Json,
    Format::Csv,
    Format::Sarif,
    Format::Junit,
    Format::Html,
];

/// The reports about the whole run that are made from every finding
/// (report.md, the HTML overview and lists): shard 0 writes them, and
/// assembles every finding when one is asked for. (OpenGraph, also about
/// the whole run, is made from the snapshot and graph alone, which every
/// shard holds whole.)
pub const FROM_EVERY_FINDING: [Format; 2] = [Format::Md, Format::Html];

/// The reports about the whole run (report.md, the HTML overview and lists,
/// opengraph.json): with one of them shard 0 keeps the whole snapshot.
pub const WHOLE_SNAPSHOT: [Format; 3] = [Format::Md, Format::Html, Format::Opengraph];

/// Environment variables `--shard auto/N` reads the shard index from, in
/// this order: a Kubernetes Indexed Job's, then a Slurm job array's.
pub const INDEX_VARS: [&str; 2] = ["JOB_COMPLETION_INDEX", "SLURM_ARRAY_TASK_ID"];

/// The most shards a run can be split into.
pub const MAX_SHARDS: u32 = 65_536;

/// Shard `index` of `count` (0-based).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    pub index: u32,
    pub count: u32,
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl Shard {
    /// Parses `I/N` or `auto/N`; `auto` takes the index from the first of
    /// [`INDEX_VARS`] that `env` has.
    pub fn parse(spec: &str, env: impl Fn(&str) -> Option<String>) -> Result<Shard, String> {
        let bad =
            |why: &str| format!("--shard `{spec}`: {why} (expected I/N, e.g. 0/4, or auto/N)");
        let (index, count) = spec.split_once('/').ok_or_else(|| bad("no `/`"))?;
        let count: u32 = count
            .trim()
            .parse()
            .map_err(|_| bad("N is not a whole number"))?;
        if count == 0 || count > MAX_SHARDS {
            return Err(bad(&format!("N must be 1 to {MAX_SHARDS}")));
        }
        let index = if index.trim() == "auto" {
            let (var, value) = INDEX_VARS
                .iter()
                .find_map(|v| env(v).map(|x| (*v, x)))
                .ok_or_else(|| {
                    format!(
                        "--shard `{spec}`: neither {} is set; give the index as I/N, or run as a Kubernetes Indexed Job or a Slurm job array",
                        INDEX_VARS.join(" nor ")
                    )
                })?;
            let i: u32 = value
                .trim()
                .parse()
                .map_err(|_| format!("--shard `{spec}`: {var} is `{value}`, not a whole number"))?;
            if i >= count {
                return Err(format!(
                    "--shard `{spec}`: {var} is {i}, but shards are numbered 0 to {} (a Slurm array must be `--array=0-{}`)",
                    count - 1,
                    count - 1
                ));
            }
            i
        } else {
            index
                .trim()
                .parse()
                .map_err(|_| bad("I is neither a whole number nor `auto`"))?
        };
        if index >= count {
            return Err(bad(&format!("I must be 0 to {}", count - 1)));
        }
        Ok(Shard { index, count })
    }

    /// The shard (of `count`) a tenant belongs to.
    pub fn of_tenant(count: u32, tenant: Guid) -> u32 {
        let digest = Sha256::digest(tenant.encode());
        let mut first = [0u8; 8];
        first.copy_from_slice(&digest[..8]);
        (u64::from_be_bytes(first) % u64::from(count)) as u32
    }

    /// Whether a tenant's rows and findings are this shard's.
    pub fn owns_tenant(&self, tenant: Guid) -> bool {
        Shard::of_tenant(self.count, tenant) == self.index
    }

    /// Whether a finding is this shard's: its customer's shard, or shard 0
    /// for a finding without a customer.
    pub fn owns(&self, f: &Finding) -> bool {
        self.owns_customer(f.customer_tenant_id)
    }

    /// Whether the findings about `customer` (`None`: about no one
    /// customer) are this shard's.
    pub fn owns_customer(&self, customer: Option<Guid>) -> bool {
        match customer {
            Some(c) => self.owns_tenant(c),
            None => self.index == 0,
        }
    }

    /// Whether this shard keeps only its part of the snapshot
    /// ([`scope`]), given the formats it writes. Every shard but 0 does;
    /// shard 0 does too unless it writes a report about the whole run
    /// ([`WHOLE_SNAPSHOT`]).
    pub fn reads_own_only(&self, formats: &[Format]) -> bool {
        self.index != 0 || !formats.iter().any(|f| WHOLE_SNAPSHOT.contains(f))
    }

    /// Whether this shard evaluates only the findings it owns, given the
    /// formats it writes. Every shard but 0 does; shard 0 does too unless
    /// it writes a report made from every finding ([`FROM_EVERY_FINDING`]).
    pub fn evaluates_own_only(&self, formats: &[Format]) -> bool {
        self.index != 0 || !formats.iter().any(|f| FROM_EVERY_FINDING.contains(f))
    }
}

/// A finding's place in report order, as far as shards need it: findings
/// are sorted by severity (descending), rule, customer, then fields that
/// only differ within one customer, which is always in one shard.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FindingKey(pub Severity, pub String, pub Option<Guid>);

impl FindingKey {
    pub fn of(f: &Finding) -> FindingKey {
        FindingKey(f.severity, f.rule.to_string(), f.customer_tenant_id)
    }

    /// Compares in report order.
    pub fn order(&self, other: &FindingKey) -> std::cmp::Ordering {
        (std::cmp::Reverse(self.0), &self.1, self.2).cmp(&(
            std::cmp::Reverse(other.0),
            &other.1,
            other.2,
        ))
    }
}

/// One tenant's consecutive rows of access.csv: its name and id (the
/// file's sort key) and how many rows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessGroup(pub String, pub Guid, pub u64);

/// What a shard writes into [`INDEX_FILE`].
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Index {
    pub format_version: u32,
    /// The version of partner-audit that wrote the shard.
    pub tool_version: String,
    pub shard: u32,
    pub of: u32,
    /// The report files of the run, sorted (shards other than 0 write
    /// only their part of findings.json, the CSV files and html/).
    pub files: Vec<String>,
    /// The key of each finding of findings.json, findings.csv and
    /// findings.sarif, in order.
    pub findings: Vec<FindingKey>,
    /// access.csv's rows, tenant by tenant, in order (empty without it).
    pub access: Vec<AccessGroup>,
    /// The byte length of each result of findings.sarif, in order (empty
    /// without it): `merge` copies each whole. (Absent from an older
    /// index, which then fails the version check rather than the parse.)
    #[serde(default)]
    pub sarif_results: Vec<u64>,
    /// junit.xml's subjects, suite counts and case lengths (none without it).
    #[serde(default)]
    pub junit: Option<crate::report::junit::Layout>,
}

/// What the writers of a shard's files tell its index about their layout.
#[derive(Debug, Default)]
pub struct Layout {
    /// access.csv's rows, tenant by tenant.
    pub access: Vec<AccessGroup>,
    /// The byte length of each SARIF result.
    pub sarif_results: Vec<u64>,
    /// junit.xml's layout.
    pub junit: Option<crate::report::junit::Layout>,
}

/// Writes a shard's [`INDEX_FILE`] to `path`: the shard, its report
/// files, and the keys and lengths `merge` orders and copies them by.
pub fn write_index(
    shard: Shard,
    formats: &[Format],
    outcome: &crate::report::Outcome<'_>,
    layout: Layout,
    path: &std::path::Path,
) -> std::io::Result<()> {
    let mut files: Vec<String> = formats
        .iter()
        .flat_map(|f| f.files().iter().map(|n| (*n).to_string()))
        .collect();
    files.sort();
    let index = Index {
        format_version: INDEX_VERSION,
        tool_version: env!("CARGO_PKG_VERSION").to_string(),
        shard: shard.index,
        of: shard.count,
        files,
        findings: outcome
            .open
            .iter()
            .map(|x| FindingKey::of(x.finding))
            .collect(),
        access: layout.access,
        sarif_results: layout.sarif_results,
        junit: layout.junit,
    };
    crate::report::write_atomic(path, |w| {
        serde_json::to_writer(&mut *w, &index).map_err(std::io::Error::other)?;
        w.write_all(b"\n")
    })
}

/// What `--shard` cannot be combined with, checked before the snapshot is
/// read: findings.json v1, a baseline or waivers (whose resolved and
/// unmatched lists are about the whole run), and no `--out`.
pub fn check_args(
    args: &crate::report::emit::ReportArgs,
    out: Option<&std::path::Path>,
) -> Result<(), String> {
    if out.is_none() {
        return Err(
            "--shard writes a shard's reports for `partner-audit merge`: pass `--out DIR` as well"
                .into(),
        );
    }
    if args.findings_format != crate::report::json::FindingsFormat::V2 {
        return Err("--shard writes findings.json format_version 2 only (`--findings-format v1` is deprecated)".into());
    }
    for (given, flag) in [
        (args.baseline.is_some(), "--baseline"),
        (args.waivers.is_some(), "--waivers"),
    ] {
        if given {
            return Err(format!(
                "{flag} cannot be combined with --shard: what it reports (resolved findings, unmatched waivers) is about the whole run; apply it in an unsharded run"
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    /// Validates `I/N` and `auto/N` with each variable.
    #[test]
    fn shard_specs_parse() {
        assert_eq!(
            Shard::parse("2/4", no_env),
            Ok(Shard { index: 2, count: 4 })
        );
        assert_eq!(
            Shard::parse("0/1", no_env),
            Ok(Shard { index: 0, count: 1 })
        );
        let k8s = |v: &str| (v == "JOB_COMPLETION_INDEX").then(|| "3".to_string());
        assert_eq!(
            Shard::parse("auto/4", k8s),
            Ok(Shard { index: 3, count: 4 })
        );
        let slurm = |v: &str| (v == "SLURM_ARRAY_TASK_ID").then(|| "1".to_string());
        assert_eq!(
            Shard::parse("auto/4", slurm),
            Ok(Shard { index: 1, count: 4 })
        );
        // Kubernetes' variable first when both are set.
        let both = |v: &str| {
            Some(
                if v == "JOB_COMPLETION_INDEX" {
                    "0"
                } else {
                    "2"
                }
                .to_string(),
            )
        };
        assert_eq!(
            Shard::parse("auto/4", both),
            Ok(Shard { index: 0, count: 4 })
        );
        for bad in ["4/4", "1", "a/4", "1/0", "1/x", "-1/4", "auto/65537"] {
            assert!(Shard::parse(bad, no_env).is_err(), "{bad}");
        }
    }

    /// Validates that a tenant's shard is the SHA-256 of its id, the same
    /// in every release (values computed with Python's hashlib).
    #[test]
    fn a_tenants_shard_is_stable() {
        let a = Guid::parse("11111111-1111-1111-1111-111111111111").expect("guid");
        let b = Guid::parse("C0FFEE00-0000-4000-8000-000000000001").expect("guid");
        assert_eq!(
            [
                Shard::of_tenant(4, a),
                Shard::of_tenant(7, a),
                Shard::of_tenant(1000, a)
            ],
            [2, 3, 190]
        );
        assert_eq!(
            [
                Shard::of_tenant(4, b),
                Shard::of_tenant(7, b),
                Shard::of_tenant(1000, b)
            ],
            [1, 2, 305]
        );
        assert_eq!(Shard::of_tenant(1, a), 0);
    }

    /// Validates report order of finding keys: severity first, then rule,
    /// then customer (none first).
    #[test]
    fn finding_keys_sort_in_report_order() {
        let c = Guid::parse("11111111-1111-1111-1111-111111111111");
        let k = |s, r: &str, c| FindingKey(s, r.into(), c);
        let mut keys = vec![
            k(Severity::Low, "AZ001", None),
            k(Severity::High, "DAP001", c),
            k(Severity::High, "DAP001", None),
            k(Severity::High, "AZ001", c),
        ];
        keys.sort_by(FindingKey::order);
        assert_eq!(
            keys,
            vec![
                k(Severity::High, "AZ001", c),
                k(Severity::High, "DAP001", None),
                k(Severity::High, "DAP001", c),
                k(Severity::Low, "AZ001", None),
            ]
        );
    }
}
