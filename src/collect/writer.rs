//! The output folder: files appear under their final names only when
//! complete (written to a hidden temporary name, then renamed), the root
//! `manifest.json` that `audit` and `import` read, and the resume state
//! `.collect-state.json` (which tenants are complete and their files;
//! never a token or a secret).

use std::collections::BTreeMap;
use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The resume state's file name (hidden: the importer skips it).
pub const STATE_FILE: &str = ".collect-state.json";

/// Writes `bytes` to `path` atomically (temporary sibling, then rename).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), String> {
    let shown = path.display();
    let dir = path.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(dir).map_err(|e| format!("cannot create `{}`: {e}", dir.display()))?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let result = (|| -> std::io::Result<()> {
        let mut f = fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        fs::rename(&tmp, path)
    })();
    result.map_err(|e| {
        let _ = fs::remove_file(&tmp);
        format!("cannot write `{shown}`: {e}")
    })
}

/// A tenant recorded as not (fully) collected.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Incomplete {
    pub tenant_id: String,
    pub reason: String,
}

/// What a run knows so far; saved after every tenant.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct State {
    pub format_version: u32,
    pub captured_at: String,
    pub perspective: String,
    /// The partner tenant (partner perspective) or the single tenant.
    pub tenant: String,
    /// Customers named by the partner-side listings (partner perspective).
    #[serde(default)]
    pub customers: Vec<String>,
    /// Customer → how its GDAP stands when no relationship is active (for reasons).
    #[serde(default)]
    pub gdap_hints: BTreeMap<String, String>,
    /// Tenant → its files (relative to the output folder), for complete tenants.
    #[serde(default)]
    pub complete: BTreeMap<String, Vec<String>>,
    /// Tenant → kind (`partner` / `customer`) of every tenant with a folder.
    #[serde(default)]
    pub kinds: BTreeMap<String, String>,
    /// Tenants not (fully) collected, with the reason.
    #[serde(default)]
    pub incomplete: Vec<Incomplete>,
}

impl State {
    pub fn load(dir: &Path) -> Result<Option<State>, String> {
        let path = dir.join(STATE_FILE);
        let bytes = match fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(format!("cannot read `{}`: {e}", path.display())),
        };
        serde_json::from_slice(&bytes).map(Some).map_err(|e| {
            format!(
                "`{}`:{}:{}: invalid resume state: {e}",
                path.display(),
                e.line(),
                e.column()
            )
        })
    }

    /// Saves the manifest, then the state: the manifest is never older than
    /// the state a resumed run trusts.
    pub fn save(&self, dir: &Path) -> Result<(), String> {
        let mut text = serde_json::to_string_pretty(self).map_err(|e| e.to_string())?;
        text.push('\n');
        write_atomic(&dir.join("manifest.json"), self.manifest().as_bytes())?;
        write_atomic(&dir.join(STATE_FILE), text.as_bytes())
    }

    /// The export manifest: `tenants` maps each tenant folder to its GUID
    /// and kind; `incomplete` lists every tenant not (fully) collected.
    pub fn manifest(&self) -> String {
        let tenants: serde_json::Map<String, serde_json::Value> = self
            .kinds
            .iter()
            .map(|(t, kind)| {
                (
                    t.clone(),
                    serde_json::json!({ "tenant_id": t, "kind": kind }),
                )
            })
            .collect();
        let mut incomplete = self.incomplete.clone();
        incomplete.sort_by(|a, b| a.tenant_id.cmp(&b.tenant_id));
        let m = serde_json::json!({
            "format_version": 1,
            "captured_at": self.captured_at,
            "perspective": self.perspective,
            "source": "partner-audit collect",
            "tenants": tenants,
            "incomplete": incomplete,
        });
        let mut s = serde_json::to_string_pretty(&m).unwrap_or_default();
        s.push('\n');
        s
    }
}

/// Is `dir` missing or empty?
pub fn is_empty_dir(dir: &Path) -> bool {
    match fs::read_dir(dir) {
        Ok(mut it) => it.next().is_none(),
        Err(_) => !dir.exists(),
    }
}

/// Removes a tenant folder (before it is collected again).
pub fn clear_tenant(dir: &Path, tenant: &str) -> Result<(), String> {
    let path: PathBuf = dir.join(tenant);
    match fs::remove_dir_all(&path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(format!("cannot clear `{}`: {e}", path.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_writes_leave_no_temporary_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("a/b.json");
        write_atomic(&p, b"{}").expect("written");
        write_atomic(&p, b"[]").expect("replaced");
        assert_eq!(fs::read(&p).expect("read"), b"[]");
        let names: Vec<_> = fs::read_dir(dir.path().join("a"))
            .expect("dir")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert_eq!(names.len(), 1, "{names:?}");
    }

    #[test]
    fn the_manifest_lists_incomplete_tenants() {
        let s = State {
            format_version: 1,
            captured_at: "2026-12-01T00:00:00Z".into(),
            perspective: "partner".into(),
            tenant: "p".into(),
            kinds: [("p".to_owned(), "partner".to_owned())].into(),
            incomplete: vec![Incomplete {
                tenant_id: "c".into(),
                reason: "403".into(),
            }],
            ..State::default()
        };
        let m: serde_json::Value = serde_json::from_str(&s.manifest()).expect("json");
        assert_eq!(m["incomplete"][0]["tenant_id"], "c");
        assert_eq!(m["incomplete"][0]["reason"], "403");
        assert_eq!(m["tenants"]["p"]["kind"], "partner");
        assert_eq!(m["captured_at"], "2026-12-01T00:00:00Z");
    }
}
