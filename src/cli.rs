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
    /// Refuse any input file larger than this (bytes, or with a unit: K, M, G, T, KiB, MiB, GiB, KB, MB, GB, ...) [default: 4GiB].
    #[arg(long, global = true, value_name = "SIZE", env = crate::input_file::MAX_FILE_SIZE_ENV, value_parser = crate::input_file::parse_size)]
    pub max_file_size: Option<u64>,
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
    Audit(Box<AuditArgs>),
    /// List the rule catalog, test rules against their fixtures, or print the rule reference.
    Rules(RulesArgs),
    /// Print one rule's documentation.
    Explain {
        /// Rule id, e.g. DAP001.
        id: String,
        #[command(flatten)]
        catalog: CatalogArgs,
    },
    /// Collect live from Graph, Azure Resource Manager and Partner Center into an export folder that `audit` reads.
    Collect(Box<CollectArgs>),
    /// Read an export folder (Graph, az / ARM, Partner Center, Autopilot files in one folder per tenant) and write it as a canonical v1 snapshot.
    Import(ImportArgs),
    /// List everything a partner principal, group, app or tenant reaches (its blast radius if compromised), each with one shortest explaining path.
    Exposure(ExposureArgs),
    /// Combine the folders of `audit --shard I/N` runs into the reports of the unsharded run, byte for byte.
    Merge(MergeArgs),
    /// Write a deterministic synthetic snapshot (for benchmarks and experiments).
    Generate {
        /// Number of customer tenants, 1 to 1,000,000 (about 11.8 KB of CSV each: 1,000,000 write about 12 GB).
        #[arg(long, default_value_t = 1000, value_parser = customers_in_range)]
        customers: usize,
        /// Number of partner tenants, 0 to 10,000.
        #[arg(long, default_value_t = 20, value_parser = partners_in_range)]
        partners: usize,
        /// Random seed: the same seed gives byte-identical files.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Output directory (created if missing).
        out: PathBuf,
    },
    /// Print a shell completion script, e.g. `partner-audit completions bash > ~/.local/share/bash-completion/completions/partner-audit`.
    Completions {
        /// The shell to complete in.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff), or write one page per command into a folder with `--out`.
    Man {
        /// Write `partner-audit.1` and one `partner-audit-COMMAND.1` page per command into this folder (created if missing).
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
    },
}

/// Most worker threads `--threads` accepts.
pub const MAX_THREADS: usize = 1024;
/// Most customer tenants `generate --customers` writes (about 12 GB of CSV).
pub const MAX_CUSTOMERS: usize = 1_000_000;
/// Most partner tenants `generate --partners` writes.
pub const MAX_PARTNERS: usize = 10_000;

/// Parses a count and checks it lies in `lo..=hi`; `hi_text` is `hi` as
/// shown to the user, `why` what the upper bound protects.
fn count_in_range(
    s: &str,
    lo: usize,
    hi: usize,
    hi_text: &str,
    why: &str,
) -> Result<usize, String> {
    let n: usize = s
        .trim()
        .parse()
        .map_err(|_| format!("`{s}` is not a whole number from {lo} to {hi_text}"))?;
    if n < lo {
        Err(format!("must be at least {lo}"))
    } else if n > hi {
        Err(format!("must be at most {hi_text} ({why})"))
    } else {
        Ok(n)
    }
}

fn threads_in_range(s: &str) -> Result<usize, String> {
    count_in_range(
        s,
        1,
        MAX_THREADS,
        "1024",
        "each thread reserves its own stack; more threads than cores gain nothing",
    )
}

fn customers_in_range(s: &str) -> Result<usize, String> {
    count_in_range(
        s,
        1,
        MAX_CUSTOMERS,
        "1,000,000",
        "1,000,000 customers already write about 12 GB of CSV",
    )
}

fn partners_in_range(s: &str) -> Result<usize, String> {
    count_in_range(
        s,
        0,
        MAX_PARTNERS,
        "10,000",
        "a larger snapshot is no more realistic",
    )
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
    #[command(subcommand)]
    pub action: Option<RulesAction>,
    #[command(flatten)]
    pub catalog: CatalogArgs,
}

#[derive(Debug, Subcommand)]
pub enum RulesAction {
    /// Run each rule's `[[test]]` fixtures and compare the findings with the expected ones.
    Test {
        /// A directory of your own rules (`*.toml`), their fixtures read relative to each rule file; without it, the built-in catalog, whose fixtures are built into the binary (so it runs from any folder).
        dir: Option<PathBuf>,
        /// Only rules whose id starts with one of these (comma-separated).
        #[arg(long, value_delimiter = ',')]
        select: Vec<String>,
    },
    /// Print the rule reference (Markdown), as committed in docs/rules.md.
    Doc,
}

/// Autopilot policy: which partner actions need DAP.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum PolicyArg {
    /// Fact F11 (docs/facts.md): without DAP a reseller partner still manages profiles and devices other partners added.
    Legacy,
    /// Fact F12 (docs/facts.md): profile management and deleting others' devices require DAP.
    Strict,
}

#[derive(Debug, clap::Args)]
pub struct AuditArgs {
    /// Snapshot: a directory of `TABLE.csv|json|jsonl` files, one JSON file, or an export folder (see docs/exporting.md).
    pub snapshot: PathBuf,
    /// Write reports into this directory (`findings.json`); without it, print a summary only.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Evaluate time-based rules as of this date or date-time (ISO 8601); defaults to the manifest's `captured_at`.
    #[arg(long, value_name = "DATE")]
    pub as_of: Option<String>,
    #[command(flatten)]
    pub catalog: CatalogArgs,
    /// Run only rules whose id or id prefix is listed (comma-separated, e.g. `DAP,AZ001`).
    #[arg(long, value_delimiter = ',', value_name = "RULES")]
    pub select: Vec<String>,
    /// Skip rules whose id or id prefix is listed (comma-separated).
    #[arg(long, value_delimiter = ',', value_name = "RULES")]
    pub ignore: Vec<String>,
    /// Override a rule parameter for this run, e.g. `DAP004.stale_after_days=60` (repeatable).
    #[arg(long = "set", value_name = "RULE.PARAM=VALUE")]
    pub set: Vec<String>,
    /// Read select / ignore / autopilot_policy / [parameters.RULE] from a TOML file (the command line wins).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Autopilot policy: `legacy` (fact F11 of docs/facts.md, default: over- rather than under-reports) or `strict` (fact F12).
    #[arg(long, value_enum)]
    pub autopilot_policy: Option<PolicyArg>,
    /// Exit 1 when a finding at or above this severity exists.
    #[arg(long, value_enum, default_value_t = FailOn::Low)]
    pub fail_on: FailOn,
    /// Worker threads, 1 to 1024 (default: one per core). Output is identical for any value.
    #[arg(long, value_name = "N", value_parser = threads_in_range)]
    pub threads: Option<usize>,
    /// Report rejected input rows but audit the rest instead of stopping (the rejections are listed in findings.json).
    #[arg(long)]
    pub keep_going: bool,
    /// Print no input warnings, only the summary (errors are still printed; findings.json lists every warning).
    #[arg(long, short)]
    pub quiet: bool,
    #[command(flatten)]
    pub report: crate::report::emit::ReportArgs,
    /// Audit one shard of the customers, `I/N` (0-based), or `auto/N` to read I from JOB_COMPLETION_INDEX (Kubernetes Indexed Job) or SLURM_ARRAY_TASK_ID (Slurm job array); `partner-audit merge` combines the N folders. Writes json and csv only.
    #[arg(long, value_name = "I/N")]
    pub shard: Option<String>,
    /// Print per-phase timings and peak memory to stderr as one JSON line.
    #[arg(long, hide = true)]
    pub stats: bool,
}

#[derive(Debug, clap::Args)]
pub struct MergeArgs {
    /// The `--out` folders of every shard of one `audit --shard I/N` run, in any order.
    #[arg(required = true, value_name = "SHARD_DIR")]
    pub shards: Vec<PathBuf>,
    /// Write the merged reports into this directory: the bytes the unsharded audit writes.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Print the time taken and peak memory to stderr as one JSON line.
    #[arg(long, hide = true)]
    pub stats: bool,
}

/// Output of `exposure`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ExposureFormat {
    /// Readable, grouped by tenant.
    Text,
    /// The JSON document described in docs/exposure.md.
    Json,
    /// One self-contained HTML page, a table per tenant reached.
    Html,
}

#[derive(Debug, clap::Args)]
pub struct ExposureArgs {
    /// Whom to start from: a principal's object id or UPN, a group's or app's id or display name, or a tenant's id, name or domain (all of its principals).
    pub target: String,
    /// Snapshot: a directory of `TABLE.csv|json|jsonl` files, one JSON file, or an export folder.
    pub snapshot: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ExposureFormat::Text)]
    pub format: ExposureFormat,
    /// Write the output to this file (replaced whole) instead of standard output.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Autopilot policy: `legacy` (fact F11 of docs/facts.md, default) or `strict` (fact F12).
    #[arg(long, value_enum)]
    pub autopilot_policy: Option<PolicyArg>,
    /// Report rejected input rows but answer from the rest instead of stopping.
    #[arg(long)]
    pub keep_going: bool,
    /// Print no input warnings (errors are still printed).
    #[arg(long, short)]
    pub quiet: bool,
}

#[derive(Debug, clap::Args)]
pub struct ImportArgs {
    /// Export folder: one folder per tenant named by its GUID (see docs/exporting.md).
    pub export: PathBuf,
    /// Directory to write the canonical snapshot into (replaced if it holds a snapshot).
    #[arg(long, value_name = "SNAPSHOT_DIR")]
    pub out: PathBuf,
    /// Write the rows that could be mapped even when some could not (they are listed on stderr).
    #[arg(long)]
    pub keep_going: bool,
    /// Print no warnings, only the summary (errors are still printed).
    #[arg(long, short)]
    pub quiet: bool,
}

/// Which Microsoft cloud to talk to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum CloudArg {
    Public,
    /// Microsoft Cloud for US Government.
    Usgov,
    /// Azure operated by 21Vianet.
    China,
}

/// How `collect` signs in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum AuthArg {
    /// App registration with a client secret (`AZURE_CLIENT_SECRET` or `--client-secret-file`).
    ClientSecret,
    /// App registration with a certificate (`AZURE_CLIENT_CERTIFICATE_PATH`: PEM with the private key).
    ClientCertificate,
    /// A person signs in in a browser with a code (public client app `--client-id`).
    DeviceCode,
    /// The account signed in to the Azure CLI (`az login`).
    AzureCli,
}

/// Whose view is collected.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum PerspectiveArg {
    /// The partner tenant and every customer reached through GDAP.
    Partner,
    /// One tenant, without any partner API.
    Customer,
}

#[derive(Debug, clap::Args)]
pub struct CollectArgs {
    /// Export folder to write (new or empty; with `--since-resume`, the folder of the interrupted run).
    #[arg(long, value_name = "EXPORT_DIR")]
    pub out: PathBuf,
    /// The partner tenant (partner perspective) or the tenant to collect (customer perspective).
    #[arg(long, alias = "tenant", env = "AZURE_TENANT_ID", value_name = "ID")]
    pub partner_tenant: Option<String>,
    /// Customers to collect: `all` (every customer the partner-side listings name) or comma-separated tenant ids.
    #[arg(long, default_value = "all", value_name = "all|ID,...")]
    pub customers: String,
    /// `partner` (the partner tenant and its customers) or `customer` (one tenant, no partner API).
    #[arg(long, value_enum, default_value_t = PerspectiveArg::Partner)]
    pub perspective: PerspectiveArg,
    /// Continue an interrupted collection in `--out`: complete tenants are kept, the others are collected again.
    #[arg(long)]
    pub since_resume: bool,
    /// Sign-in method (default: client-secret when `AZURE_CLIENT_SECRET` is set, else client-certificate when `AZURE_CLIENT_CERTIFICATE_PATH` is set, else azure-cli).
    #[arg(long, value_enum)]
    pub auth: Option<AuthArg>,
    /// Application (client) id of the app registration.
    #[arg(long, env = "AZURE_CLIENT_ID", value_name = "ID")]
    pub client_id: Option<String>,
    /// Read the client secret from this file (`-` for stdin) instead of `AZURE_CLIENT_SECRET`.
    #[arg(long, value_name = "PATH")]
    pub client_secret_file: Option<PathBuf>,
    /// Cloud whose endpoints and token scopes are used.
    #[arg(long, value_enum, default_value_t = CloudArg::Public)]
    pub cloud: CloudArg,
    /// Sign-in endpoint (default: the cloud's, `https://login.microsoftonline.com`).
    #[arg(long, env = "PARTNER_AUDIT_LOGIN_ENDPOINT", value_name = "URL")]
    pub login_endpoint: Option<String>,
    /// Microsoft Graph endpoint (default: the cloud's, `https://graph.microsoft.com`).
    #[arg(long, env = "PARTNER_AUDIT_GRAPH_ENDPOINT", value_name = "URL")]
    pub graph_endpoint: Option<String>,
    /// Azure Resource Manager endpoint (default: the cloud's, `https://management.azure.com`).
    #[arg(long, env = "PARTNER_AUDIT_ARM_ENDPOINT", value_name = "URL")]
    pub arm_endpoint: Option<String>,
    /// Partner Center endpoint (default: the cloud's, `https://api.partnercenter.microsoft.com`).
    #[arg(
        long,
        env = "PARTNER_AUDIT_PARTNER_CENTER_ENDPOINT",
        value_name = "URL"
    )]
    pub partner_center_endpoint: Option<String>,
    /// Requests in flight over the whole run.
    #[arg(long, default_value_t = 8, value_name = "N")]
    pub max_requests: usize,
    /// Requests in flight per tenant.
    #[arg(long, default_value_t = 4, value_name = "N")]
    pub per_tenant: usize,
    /// Per-request timeout in seconds.
    #[arg(long, default_value_t = 60, value_name = "SECS")]
    pub timeout: u64,
    /// Attempts per request (throttling, 5xx, network errors) before the tenant is recorded as incomplete.
    #[arg(long, default_value_t = 6, value_name = "N")]
    pub max_attempts: u32,
    /// First back-off step in milliseconds (doubles per attempt).
    #[arg(
        long,
        hide = true,
        env = "PARTNER_AUDIT_BACKOFF_BASE_MS",
        default_value_t = 1000
    )]
    pub backoff_base_ms: u64,
    /// Longest `Retry-After` wait honoured, in seconds.
    #[arg(long, hide = true, default_value_t = 120)]
    pub retry_after_cap: u64,
}
