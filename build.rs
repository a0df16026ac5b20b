//! Embeds the rule catalog (`rules/*.toml`) into the binary, so adding a rule
//! is adding a file: no Rust list to update. The catalog's test fixtures
//! (`fixtures/rules/**`) are embedded too, so that `partner-audit rules test`
//! checks the built-in catalog from any folder.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// Files under `dir` (recursively) whose name ends in one of `exts`,
/// sorted by path; every folder visited is watched for changes.
fn files(dir: &Path, exts: &[&str], out: &mut Vec<PathBuf>) {
    println!("cargo:rerun-if-changed={}", dir.display());
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<PathBuf> = rd.filter_map(Result::ok).map(|e| e.path()).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            files(&p, exts, out);
        } else if p
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| exts.iter().any(|x| n.ends_with(x)))
        {
            out.push(p);
        }
    }
}

/// Writes `&[(NAME, include_str!(PATH)), …]` into `OUT_DIR/dest`, NAME
/// being each file's path relative to `base` with `/` separators.
fn embed(base: &Path, found: &[PathBuf], dest: &str) {
    let mut out = String::from("&[\n");
    for path in found {
        println!("cargo:rerun-if-changed={}", path.display());
        let name = path
            .strip_prefix(base)
            .unwrap_or(path)
            .components()
            .map(|c| c.as_os_str().to_string_lossy())
            .collect::<Vec<_>>()
            .join("/");
        let _ = writeln!(
            out,
            "    ({name:?}, include_str!({:?})),",
            path.display().to_string()
        );
    }
    out.push(']');
    let dest = Path::new(&std::env::var("OUT_DIR").unwrap_or_else(|_| ".".into())).join(dest);
    if let Err(e) = std::fs::write(&dest, out) {
        println!("cargo:warning=cannot write {}: {e}", dest.display());
    }
}

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let rules = root.join("rules");
    // Rule files directly in `rules/`, named by file name.
    let mut found = Vec::new();
    files(&rules, &[".toml"], &mut found);
    found.retain(|p| p.parent() == Some(rules.as_path()));
    embed(&rules, &found, "builtin_rules.rs");
    // Fixtures, named by their path from the crate root
    // (`fixtures/rules/DAP001/fires.json`).
    let mut found = Vec::new();
    files(&root.join("fixtures").join("rules"), &[".json"], &mut found);
    embed(root, &found, "builtin_fixtures.rs");
}
