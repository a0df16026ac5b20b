//! Snapshots: the canonical model (SPEC §3), the role vocabulary, and the
//! loader that reads CSV / JSON exports into the model with diagnostics.

pub mod diag;
pub mod fields;
pub mod load;
pub mod model;
pub mod roles;

mod cross_tenant;
mod csv_in;
pub(crate) mod dedup;
pub(crate) mod json_in;
mod json_walk;
mod tables;

pub use cross_tenant::{CrossTenantAccess, Effective, Resolved, Source as SettingSource};
pub use diag::{Diagnostic, Level};
pub use load::{load, Loaded};
pub use model::*;

/// The canonical column names of `table` (SPEC §3), in canonical order; empty
/// for an unknown table. Writers of snapshots use this so that the schema is
/// stated once.
pub fn column_names(table: &str) -> Vec<&'static str> {
    tables::Table::from_name(table)
        .map_or_else(Vec::new, |t| t.columns().iter().map(|c| c.name).collect())
}
