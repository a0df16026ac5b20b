//! Snapshots: the canonical model (SPEC §3), the role vocabulary, and the
//! loader that reads CSV / JSON exports into the model with diagnostics.

pub mod diag;
pub mod fields;
pub mod load;
pub mod model;
pub mod roles;

mod csv_in;
mod json_in;
mod json_walk;
mod tables;

pub use diag::{Diagnostic, Level};
pub use load::{load, Loaded};
pub use model::*;
