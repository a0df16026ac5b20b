//! The export-folder convention: which tenant a file describes and which
//! parent object (group, directory role, GDAP relationship, customer) a
//! child listing belongs to.
//!
//! - **Tenant**: the nearest enclosing folder whose name is a tenant GUID
//!   (alone or inside a longer name, e.g. `contoso_a24e022d-…`), or a folder
//!   the optional root `manifest.json` maps to a tenant (`"tenants":
//!   {"contoso": "<guid>"}`; the key `"."` maps the export root itself).
//! - **Parent object**: the GUID, or the GDAP relationship id (two GUIDs
//!   joined by `-`), in the file name, e.g. `groups/<groupId>.members.json`,
//!   `accessAssignments-<relationshipId>.json`. A GUID equal to the file's
//!   tenant is not a parent. A folder named by a GUID directly inside a
//!   collection folder (`groups`, `directoryRoles`, `roles`,
//!   `delegatedAdminRelationships`, `relationships`, `accessAssignments`,
//!   `customers`) is a parent object too, not a tenant:
//!   `groups/<groupId>/members.json`.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::snapshot::{Diagnostic, Guid, Manifest, Perspective, TenantKind};

/// Folder names whose GUID-named subfolders are parent objects.
const COLLECTIONS: &[&str] = &[
    "groups",
    "directoryroles",
    "roles",
    "delegatedadminrelationships",
    "relationships",
    "accessassignments",
    "customers",
];

/// How deep the importer looks for files below the export root.
const MAX_DEPTH: usize = 8;

/// A tenant declared in the export manifest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct TenantDecl {
    pub tenant_id: Guid,
    pub kind: Option<TenantKind>,
    pub name: Option<String>,
    pub domain: Option<String>,
}

/// The export root's optional `manifest.json`.
#[derive(Clone, Debug, Default)]
pub(crate) struct ExportManifest {
    /// `format_version`, `captured_at`, `perspective`, `source` as in a snapshot.
    pub manifest: Manifest,
    /// Folder name (or relative path) → tenant.
    pub tenants: BTreeMap<String, TenantDecl>,
    /// Subscription → partner that provisioned it (no export records this).
    pub provisioned_by: BTreeMap<Guid, Guid>,
    /// Display path of the manifest, when present.
    pub display: Option<String>,
}

/// One data file of the export and where it sits.
#[derive(Clone, Debug)]
pub(crate) struct Placed {
    pub path: PathBuf,
    pub display: String,
    /// The tenant the file describes, when the layout says.
    pub tenant: Option<Guid>,
    /// The tenant folder's name (a fallback tenant name).
    pub tenant_folder: Option<String>,
    /// The parent object id from the file name or a collection folder (lower-case).
    pub parent: Option<String>,
    /// The path below the tenant folder, lower-case (hints such as `directoryroles`).
    pub hint: String,
}

/// Ids in a name: GDAP relationship ids (`GUID-GUID`) and GUIDs, in order, lower-case.
pub(crate) fn ids_in(name: &str) -> Vec<String> {
    let b = name.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i + 36 <= b.len() {
        let guid_at = |j: usize| {
            b.get(j..j + 36)
                .and_then(|s| std::str::from_utf8(s).ok())
                .and_then(Guid::parse)
        };
        if guid_at(i).is_some() && (i == 0 || !b[i - 1].is_ascii_hexdigit()) {
            if b.get(i + 36) == Some(&b'-') && guid_at(i + 37).is_some() {
                out.push(name[i..i + 73].to_ascii_lowercase());
                i += 73;
            } else {
                out.push(name[i..i + 36].to_ascii_lowercase());
                i += 36;
            }
        } else {
            i += 1;
        }
    }
    out
}

/// The single GUID a folder name holds (a tenant folder), if exactly one.
pub(crate) fn folder_guid(name: &str) -> Option<Guid> {
    match ids_in(name).as_slice() {
        [one] => Guid::parse(one),
        _ => None,
    }
}

/// Reads the export manifest; problems are diagnostics, never fatal to the rest.
pub(crate) fn read_manifest(root: &Path, diags: &mut Vec<Diagnostic>) -> ExportManifest {
    let path = root.join("manifest.json");
    let mut out = ExportManifest::default();
    // Absent is fine; present but no regular file (a directory, a FIFO, a
    // dangling link) is an error.
    if !crate::input_file::exists(&path) {
        return out;
    }
    let display = path.display().to_string();
    out.display = Some(display.clone());
    let (text, _) = match crate::input_file::read(&path).map(|b| super::source::decode(&b)) {
        Ok(Ok(decoded)) => decoded,
        Ok(Err(message)) => {
            diags.push(
                Diagnostic::error(&display, message).with_expected("UTF-8, with or without BOM"),
            );
            return out;
        }
        Err(e) => {
            diags.push(e.diagnostic(&display));
            return out;
        }
    };
    // A key given twice (a folder mapped to two tenants, `captured_at`
    // twice) would silently keep the last.
    let checked = crate::json_strict::check_unique_keys(&text);
    let v: Value = match checked.and_then(|()| serde_json::from_str(&text)) {
        Ok(v) => v,
        Err(e) => {
            let mut d = Diagnostic::error(
                &display,
                format!(
                    "invalid JSON in manifest: {}",
                    super::source::json_message(&e)
                ),
            )
            .with_expected(
                "a JSON object with format_version, captured_at, perspective, source, tenants",
            );
            d.line = u32::try_from(e.line()).ok();
            d.column = u32::try_from(e.column()).ok();
            diags.push(d);
            return out;
        }
    };
    let Some(m) = v.as_object() else {
        diags.push(Diagnostic::error(&display, "manifest is not a JSON object"));
        return out;
    };
    let field_err = |field: &str, msg: String, expected: &str| {
        Diagnostic::error(&display, msg)
            .with_field(field)
            .with_expected(expected)
    };
    for (k, v) in m {
        match k.as_str() {
            "format_version" => match v.as_u64() {
                Some(1) => out.manifest.format_version = 1,
                _ => diags.push(field_err(
                    k,
                    format!("unsupported format version `{v}`"),
                    "1",
                )),
            },
            "captured_at" => match v
                .as_str()
                .and_then(crate::snapshot::fields::parse_timestamp)
            {
                Some(t) => out.manifest.captured_at = Some(t),
                None => diags.push(field_err(
                    k,
                    format!("invalid date `{v}`"),
                    "an ISO 8601 date or date-time",
                )),
            },
            "perspective" => match v.as_str().and_then(Perspective::parse) {
                Some(p) => out.manifest.perspective = Some(p),
                None => diags.push(field_err(
                    k,
                    format!("invalid value `{v}`"),
                    "partner or customer",
                )),
            },
            "source" => out.manifest.source = v.as_str().map(str::to_owned),
            "tenants" => read_tenants(v, &display, &mut out, diags),
            "incomplete" => {
                let (items, problems) = crate::snapshot::json_in::incomplete_items(k, v);
                for (t, r) in items {
                    out.manifest.mark_incomplete(t, &r);
                }
                for (field, message, expected) in problems {
                    diags.push(field_err(&field, message, expected));
                }
            }
            "provisioned_by" => read_provisioned(v, &display, &mut out, diags),
            _ => diags.push(
                Diagnostic::warning(&display, format!("unknown manifest key `{k}`, ignored"))
                    .with_expected(
                        "format_version, captured_at, perspective, source, tenants, provisioned_by, incomplete",
                    ),
            ),
        }
    }
    out
}

fn read_tenants(v: &Value, display: &str, out: &mut ExportManifest, diags: &mut Vec<Diagnostic>) {
    let Some(map) = v.as_object() else {
        diags.push(
            Diagnostic::error(display, "`tenants` is not an object")
                .with_field("tenants")
                .with_expected("{\"folder name\": \"tenant GUID\" or {\"tenant_id\", \"kind\", \"name\", \"domain\"}}"),
        );
        return;
    };
    for (folder, decl) in map {
        let field = format!("tenants.{folder}");
        let (id, obj) = match decl {
            Value::String(s) => (Some(s.as_str()), None),
            Value::Object(o) => (o.get("tenant_id").and_then(Value::as_str), Some(o)),
            _ => (None, None),
        };
        let Some(tenant_id) = id.and_then(Guid::parse) else {
            diags.push(
                Diagnostic::error(display, format!("no valid tenant id for folder `{folder}`"))
                    .with_field(field)
                    .with_expected("a tenant GUID, or an object with `tenant_id`"),
            );
            continue;
        };
        let text = |k: &str| {
            obj.and_then(|o| o.get(k))
                .and_then(Value::as_str)
                .map(str::to_owned)
        };
        let kind = match text("kind") {
            None => None,
            Some(k) => match TenantKind::parse(&k) {
                Some(k) => Some(k),
                None => {
                    diags.push(
                        Diagnostic::error(display, format!("invalid tenant kind `{k}`"))
                            .with_field(format!("{field}.kind"))
                            .with_expected("partner or customer"),
                    );
                    None
                }
            },
        };
        out.tenants.insert(
            folder.trim_matches('/').to_owned(),
            TenantDecl {
                tenant_id,
                kind,
                name: text("name"),
                domain: text("domain"),
            },
        );
    }
}

fn read_provisioned(
    v: &Value,
    display: &str,
    out: &mut ExportManifest,
    diags: &mut Vec<Diagnostic>,
) {
    let Some(map) = v.as_object() else {
        diags.push(
            Diagnostic::error(display, "`provisioned_by` is not an object")
                .with_field("provisioned_by")
                .with_expected("{\"subscription GUID\": \"partner tenant GUID\"}"),
        );
        return;
    };
    for (sub, partner) in map {
        match (Guid::parse(sub), partner.as_str().and_then(Guid::parse)) {
            (Some(s), Some(p)) => {
                out.provisioned_by.insert(s, p);
            }
            _ => diags.push(
                Diagnostic::error(display, format!("invalid entry `{sub}`"))
                    .with_field(format!("provisioned_by.{sub}"))
                    .with_expected("a subscription GUID mapped to a partner tenant GUID"),
            ),
        }
    }
}

/// Lists the data files below `root` (sorted, deterministic) and places each.
///
/// Skipped: hidden files and folders, Markdown notes, the root `manifest.json`.
/// Other non-data files are reported as warnings.
pub(crate) fn walk(
    root: &Path,
    manifest: &ExportManifest,
    diags: &mut Vec<Diagnostic>,
) -> Vec<Placed> {
    let mut out = Vec::new();
    visit(root, root, 0, manifest, diags, &mut out);
    out
}

fn visit(
    root: &Path,
    dir: &Path,
    depth: usize,
    manifest: &ExportManifest,
    diags: &mut Vec<Diagnostic>,
    out: &mut Vec<Placed>,
) {
    let mut entries: Vec<(String, PathBuf)> = match fs::read_dir(dir) {
        Ok(rd) => rd
            .filter_map(Result::ok)
            .map(|e| (e.file_name().to_string_lossy().into_owned(), e.path()))
            .collect(),
        Err(e) => {
            diags.push(Diagnostic::error(
                dir.display().to_string(),
                format!("cannot read folder: {}", super::io_message(&e)),
            ));
            return;
        }
    };
    entries.sort();
    for (name, path) in entries {
        if name.starts_with('.') {
            continue;
        }
        if path.is_dir() {
            if depth + 1 > MAX_DEPTH {
                diags.push(
                    Diagnostic::warning(
                        path.display().to_string(),
                        "folder nested too deep, not read",
                    )
                    .with_expected(format!(
                        "at most {MAX_DEPTH} folder levels below the export root"
                    )),
                );
                continue;
            }
            visit(root, &path, depth + 1, manifest, diags, out);
            continue;
        }
        let lower = name.to_ascii_lowercase();
        if depth == 0 && lower == "manifest.json" {
            continue;
        }
        let ext = lower.rsplit_once('.').map_or("", |(_, e)| e);
        if matches!(ext, "md" | "markdown") {
            continue;
        }
        if !matches!(ext, "json" | "jsonl" | "csv" | "txt" | "") {
            diags.push(
                Diagnostic::warning(
                    path.display().to_string(),
                    "not a JSON or CSV export, file ignored",
                )
                .with_expected("`.json`, `.jsonl`, `.csv` or `.txt` files"),
            );
            continue;
        }
        out.push(place(root, &path, manifest));
    }
}

/// Places one file: its tenant, parent object and hint path.
fn place(root: &Path, path: &Path, manifest: &ExportManifest) -> Placed {
    let rel: Vec<String> = path
        .strip_prefix(root)
        .unwrap_or(path)
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    let (dirs, file) = rel.split_at(rel.len().saturating_sub(1));
    let file = file.first().map_or("", String::as_str);
    let mut tenant = None;
    let mut tenant_at = None;
    let mut dir_parent = None;
    for i in (0..dirs.len()).rev() {
        let name = &dirs[i];
        let rel_path = dirs[..=i].join("/");
        if let Some(d) = manifest
            .tenants
            .get(&rel_path)
            .or_else(|| manifest.tenants.get(name.as_str()))
        {
            tenant = Some(d.tenant_id);
            tenant_at = Some(i);
            break;
        }
        let in_collection =
            i > 0 && COLLECTIONS.contains(&dirs[i - 1].to_ascii_lowercase().as_str());
        if in_collection {
            if dir_parent.is_none() {
                dir_parent = ids_in(name).into_iter().next();
            }
            continue;
        }
        if let Some(g) = folder_guid(name) {
            tenant = Some(g);
            tenant_at = Some(i);
            break;
        }
    }
    if tenant.is_none() {
        tenant = manifest.tenants.get(".").map(|d| d.tenant_id);
    }
    let tenant_text = tenant.map(|t| t.to_string());
    let stem = file.rsplit_once('.').map_or(file, |(s, _)| s);
    let parent = ids_in(stem)
        .into_iter()
        .find(|id| Some(id) != tenant_text.as_ref())
        .or(dir_parent);
    let below = tenant_at.map_or(0, |i| i + 1);
    let hint = rel[below..].join("/").to_ascii_lowercase();
    Placed {
        path: path.to_path_buf(),
        display: path.display().to_string(),
        tenant,
        tenant_folder: tenant_at.map(|i| dirs[i].clone()),
        parent,
        hint,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: &str = "a24e022d-57ab-4419-aeae-2f3bc58a985d";
    const G: &str = "3cdf1871-8608-43af-94db-d736ac1f80f5";

    #[test]
    fn ids_in_names() {
        assert_eq!(ids_in(&format!("groups-{G}.members")), [G]);
        let rel = format!("{G}-{T}");
        assert_eq!(ids_in(&format!("accessAssignments-{rel}")), [rel]);
        assert_eq!(ids_in(&G.to_uppercase()), [G]);
        assert!(ids_in("users.page1").is_empty());
    }

    fn placed(rel: &str, manifest: &ExportManifest) -> Placed {
        place(Path::new("/x"), &Path::new("/x").join(rel), manifest)
    }

    #[test]
    fn tenant_is_the_nearest_guid_folder_and_parent_is_in_the_name() {
        let m = ExportManifest::default();
        let p = placed(&format!("{T}/groups/{G}.members.json"), &m);
        assert_eq!(p.tenant.map(|t| t.to_string()).as_deref(), Some(T));
        assert_eq!(p.parent.as_deref(), Some(G));
        assert_eq!(p.hint, format!("groups/{g}.members.json", g = G));
        let p = placed(&format!("{T}/groups/{G}/transitiveMembers.json"), &m);
        assert_eq!(p.tenant.map(|t| t.to_string()).as_deref(), Some(T));
        assert_eq!(p.parent.as_deref(), Some(G));
        let p = placed(&format!("contoso_{T}/{T}-users.json"), &m);
        assert_eq!(p.tenant.map(|t| t.to_string()).as_deref(), Some(T));
        assert_eq!(p.parent, None);
        assert_eq!(p.tenant_folder.as_deref(), Some(&*format!("contoso_{T}")));
    }

    #[test]
    fn manifest_maps_folders_and_the_root() {
        let mut m = ExportManifest::default();
        let decl = TenantDecl {
            tenant_id: Guid::parse(T).expect("guid"),
            kind: None,
            name: None,
            domain: None,
        };
        m.tenants.insert("contoso".into(), decl.clone());
        assert_eq!(
            placed("contoso/users.json", &m).tenant,
            Some(decl.tenant_id)
        );
        assert_eq!(placed("users.json", &m).tenant, None);
        m.tenants.insert(".".into(), decl.clone());
        assert_eq!(placed("users.json", &m).tenant, Some(decl.tenant_id));
    }
}
