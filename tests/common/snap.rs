//! A snapshot folder written from literal files and loaded, for the loader
//! tests: its diagnostics rendered with the temporary folder shown as `snap`.

use std::path::Path;

use partner_audit::snapshot::{load, Diagnostic, Guid, Loaded, TableAccount};

/// A snapshot directory holding the files it was made from, and the result
/// of loading it.
pub struct Snap {
    pub dir: tempfile::TempDir,
    pub loaded: Loaded,
}

impl Snap {
    /// Writes `files` (name, content) into a new folder and loads it.
    pub fn new<C: AsRef<[u8]>>(files: &[(&str, C)]) -> Snap {
        let dir = tempfile::tempdir().expect("tempdir");
        for (name, content) in files {
            std::fs::write(dir.path().join(name), content).expect("write");
        }
        let loaded = load(dir.path());
        Snap { dir, loaded }
    }

    /// Every diagnostic as displayed.
    pub fn rendered(&self) -> Vec<String> {
        render(&self.loaded.diagnostics, self.dir.path())
    }

    /// The error diagnostics as displayed.
    pub fn errors(&self) -> Vec<String> {
        let errors: Vec<Diagnostic> = self.loaded.errors().cloned().collect();
        render(&errors, self.dir.path())
    }

    /// The row accounting of `table`.
    pub fn account(&self, table: &str) -> &TableAccount {
        &self.loaded.snapshot.accounting[table]
    }

    /// Asserts that loading produced no diagnostic at all.
    pub fn assert_clean(&self) {
        assert!(self.loaded.diagnostics.is_empty(), "{:#?}", self.rendered());
    }

    /// Asserts `table` read `read` rows, used `used` and rejected the rest.
    pub fn assert_counts(&self, table: &str, read: u64, used: u64) {
        let a = self.account(table);
        assert_eq!(
            (a.rows_read, a.rows_used, a.rows_rejected),
            (read, used, read - used),
            "{table}: {:#?}",
            self.rendered()
        );
    }
}

/// Diagnostics as displayed, the folder `dir` shown as `snap`.
pub fn render(diags: &[Diagnostic], dir: &Path) -> Vec<String> {
    let prefix = dir.display().to_string();
    diags
        .iter()
        .map(|d| d.to_string().replace(&prefix, "snap"))
        .collect()
}

/// A GUID from a test literal.
pub fn guid(s: &str) -> Guid {
    Guid::parse(s).expect("guid")
}
