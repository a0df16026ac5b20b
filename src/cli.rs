//! Command-line interface (clap derive): the doc comments are the help text.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

/// Audit Microsoft CSP partner access to customer tenants from exported
/// snapshots: implicit Azure AD access through DAP, lingering subscription
/// roles, and more.
#[derive(Debug, Parser)]
#[command(name = "partner-audit", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

/// Severity threshold for `--fail-on`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum FailOn {
    Info,
    Low,
    Medium,
    High,
    /// Never exit 1 because of findings.
    Never,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Audit a snapshot (a directory of tables, or one JSON file) and report findings.
    Audit(AuditArgs),
    /// List the rule catalog.
    Rules(RulesArgs),
    /// Print one rule's documentation.
    Explain {
        /// Rule id, e.g. DAP001.
        id: String,
        #[command(flatten)]
        catalog: CatalogArgs,
    },
    /// Write a deterministic synthetic snapshot (for benchmarks and experiments).
    Generate {
        /// Number of customer tenants.
        #[arg(long, default_value_t = 1000)]
        customers: usize,
        /// Number of partner tenants.
        #[arg(long, default_value_t = 20)]
        partners: usize,
        /// Random seed: the same seed gives byte-identical files.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Output directory (created if missing).
        out: PathBuf,
    },
}

/// Where rules come from.
#[derive(Debug, clap::Args)]
pub struct CatalogArgs {
    /// Directory of extra rule files (`*.toml`): a rule with a built-in id replaces it, a new id extends the catalog.
    #[arg(long, value_name = "DIR")]
    pub rules: Option<PathBuf>,
    /// Use only the rules of `--rules DIR`, not the built-in catalog.
    #[arg(long, requires = "rules")]
    pub no_builtin_rules: bool,
}

#[derive(Debug, clap::Args)]
pub struct RulesArgs {
    #[command(flatten)]
    pub catalog: CatalogArgs,
}

#[derive(Debug, clap::Args)]
pub struct AuditArgs {
    /// Snapshot: a directory of `TABLE.csv|json|jsonl` files, or one JSON file.
    pub snapshot: PathBuf,
    /// Write reports into this directory (`findings.json`); without it, print a summary only.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Evaluate time-based rules as of this date or date-time (ISO 8601); defaults to the manifest's `captured_at`.
    #[arg(long, value_name = "DATE")]
    pub as_of: Option<String>,
    #[command(flatten)]
    pub catalog: CatalogArgs,
    /// Exit 1 when a finding at or above this severity exists.
    #[arg(long, value_enum, default_value_t = FailOn::Low)]
    pub fail_on: FailOn,
    /// Worker threads (default: one per core). Output is identical for any value.
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
    /// Report rejected input rows but audit the rest instead of stopping (the rejections are listed in findings.json).
    #[arg(long)]
    pub keep_going: bool,
    #[command(flatten)]
    pub report: crate::report::emit::ReportArgs,
    /// Print per-phase timings and peak memory to stderr as one JSON line.
    #[arg(long, hide = true)]
    pub stats: bool,
}
