//! partner-audit: audits Microsoft CSP partner access to customer tenants.
//!
//! Data flows one way: [`snapshot`] (load and normalise exported tables) →
//! [`graph`] (who can reach what, and why) → [`engine`] (declarative rules
//! over derived facts) → [`report`] (findings.json and friends).

pub mod app;
pub mod cli;
pub mod collect;
pub mod engine;
pub mod exposure;
/// Entry points for the fuzz targets and the bounded fuzz test (not a stable API).
#[doc(hidden)]
pub mod fuzzing;
pub mod generate;
pub mod graph;
pub mod import;
pub mod input_file;
pub mod json_strict;
pub mod report;
pub mod shard;
pub mod snapshot;
