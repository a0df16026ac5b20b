//! Importing what users actually export — Microsoft Graph (REST and Graph
//! PowerShell), Azure Resource Manager and `az`, Partner Center, Autopilot —
//! into the canonical snapshot model, so that `audit` and `import` read an
//! export folder as it was saved.
//!
//! An export folder holds one folder per tenant (`layout`); each file's
//! format is recognised from its content (`detect`), unwrapped from its
//! paging (`source`) and mapped by the reader of its family (`graph_partner`,
//! `graph_directory`, `arm`, `partner_center`, `autopilot`, with Graph
//! PowerShell quirks in `powershell`) into an accumulator (`sink`) that
//! merges rows seen by several files. The result is the same [`Loaded`] the
//! canonical loader returns: rows cite the export files and lines they came
//! from, and every item that could not be mapped is counted and reported.
//! [`write`] turns it into a canonical v1 snapshot directory. The layout and
//! every mapping decision are documented in docs/exporting.md.

pub mod write;

mod arm;
mod autopilot;
mod channels;
mod detect;
mod graph_directory;
mod graph_partner;
mod layout;
mod partner_center;
mod powershell;
mod sink;
mod source;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fs;
use std::path::Path;

use jiff::Timestamp;
use rayon::prelude::*;

use crate::snapshot::{
    self, Diagnostic, Guid, IsoDuration, Loaded, Loc, Perspective, PrincipalKind, TenantKind,
    TABLES,
};
use detect::{Format, Shape};
use layout::Placed;
use sink::Sink;
use source::{Body, Item};

/// Loads `path`: a canonical snapshot (a `.json` file, or a directory of
/// table files) through [`snapshot::load`], an export folder through
/// [`load_export`].
pub fn load_any(path: &Path) -> Loaded {
    if is_export_folder(path) {
        load_export(path)
    } else {
        snapshot::load(path)
    }
}

/// True when `path` is an export folder rather than a canonical snapshot: a
/// directory whose `manifest.json` maps `tenants`, or that holds a tenant
/// folder (a sub-folder named by a GUID), or whose top-level data files are
/// not named after canonical tables. A canonical snapshot is flat; other
/// sub-folders (reports written next to it, say) do not make it an export.
pub fn is_export_folder(path: &Path) -> bool {
    if !path.is_dir() {
        return false;
    }
    if let Ok(text) = crate::input_file::read_to_string(&path.join("manifest.json")) {
        if let Ok(serde_json::Value::Object(m)) = serde_json::from_str(&text) {
            if m.contains_key("tenants") {
                return true;
            }
        }
    }
    let Ok(entries) = fs::read_dir(path) else {
        return false;
    };
    let mut table_files = 0;
    let mut other_files = 0;
    for e in entries.filter_map(Result::ok) {
        let name = e.file_name().to_string_lossy().to_ascii_lowercase();
        if name.starts_with('.') {
            continue;
        }
        if e.path().is_dir() {
            if layout::folder_guid(&name).is_some() {
                return true;
            }
            continue;
        }
        let Some((stem, ext)) = name.rsplit_once('.') else {
            continue;
        };
        if !matches!(ext, "csv" | "json" | "jsonl") || stem == "manifest" {
            continue;
        }
        if TABLES.contains(&stem) {
            table_files += 1;
        } else {
            other_files += 1;
        }
    }
    table_files == 0 && other_files > 0
}

/// One export file, parsed and recognised.
pub(crate) struct File {
    /// Index into `Snapshot::files`.
    pub idx: u16,
    pub placed: Placed,
    pub format: Format,
    pub body: Body,
    /// The parent object a listing's own URLs (`@odata.context`,
    /// `@odata.nextLink`) name, shared by every page file of the listing.
    pub url_parent: Option<(String, ParentKind)>,
}

/// What kind of parent a listing URL names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ParentKind {
    /// `/groups/{id}/members`.
    Group,
    /// `/directoryRoles/{id}/members`.
    DirectoryRole,
    /// `/delegatedAdminRelationships/{id}/accessAssignments`.
    Relationship,
}

/// The parent a listing's URLs name, e.g. `.../groups/{id}/members?$skiptoken=…`.
fn url_parent(body: &Body) -> Option<(String, ParentKind)> {
    for url in body.next_links.iter().chain(&body.contexts) {
        let lower = url.to_ascii_lowercase();
        for (key, kind) in [
            ("delegatedadminrelationships", ParentKind::Relationship),
            ("directoryroles", ParentKind::DirectoryRole),
            ("groups", ParentKind::Group),
        ] {
            if let Some(i) = lower.find(key) {
                if let Some(id) = layout::ids_in(&lower[i..]).into_iter().next() {
                    return Some((id, kind));
                }
            }
        }
    }
    None
}

/// A file's name without its page suffix (`members.page2.json` →
/// `members`), with its folder: page files of one listing share it.
fn page_stem(path: &Path) -> (Option<std::path::PathBuf>, String) {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    let stem = name.rsplit_once('.').map_or(name.as_str(), |(s, _)| s);
    let trimmed = stem.trim_end_matches(|c: char| c.is_ascii_digit());
    let stem = if trimmed.len() < stem.len() {
        let t = trimmed.strip_suffix("page").unwrap_or(trimmed);
        t.trim_end_matches(['.', '-', '_'])
    } else {
        stem
    };
    (path.parent().map(Path::to_path_buf), stem.to_owned())
}

/// Gives every page file of a listing the parent its sibling pages' URLs name.
fn share_url_parents(files: &mut [File]) {
    let mut known: BTreeMap<(Option<std::path::PathBuf>, String, Format), (String, ParentKind)> =
        BTreeMap::new();
    for f in files.iter() {
        if let Some(p) = &f.url_parent {
            let (dir, stem) = page_stem(&f.placed.path);
            known
                .entry((dir, stem, f.format))
                .or_insert_with(|| p.clone());
        }
    }
    for f in files.iter_mut() {
        if f.url_parent.is_none() {
            let (dir, stem) = page_stem(&f.placed.path);
            f.url_parent = known.get(&(dir, stem, f.format)).cloned();
        }
    }
}

impl File {
    /// The location of a line of this file.
    pub fn loc(&self, line: u32) -> Loc {
        Loc {
            file: self.idx,
            line,
        }
    }

    /// The display path.
    pub fn display(&self) -> &str {
        &self.placed.display
    }

    /// An error about `item`, field `field`.
    pub fn error(&self, item: &Item, field: &str, message: impl Into<String>) -> Diagnostic {
        Diagnostic::error(self.display(), message)
            .at_line(item.line)
            .with_field(field)
    }

    /// A warning about `item`.
    pub fn warning(&self, item: &Item, message: impl Into<String>) -> Diagnostic {
        Diagnostic::warning(self.display(), message).at_line(item.line)
    }

    /// The tenant the layout assigns (checked present before readers run).
    pub fn tenant(&self) -> Guid {
        self.placed.tenant.unwrap_or_default()
    }
}

/// Role facts of one tenant's directory, from `directoryRoles` and `roleDefinitions`.
#[derive(Default)]
pub(crate) struct Lookups {
    /// (tenant, directory role object id) → (role template id, display name).
    pub dir_roles: HashMap<(Guid, Guid), (Option<Guid>, Option<String>)>,
    /// (tenant, role definition or template id) → display name.
    pub role_names: HashMap<(Guid, Guid), String>,
    /// Subscription → provisioning partner, from the export manifest.
    pub provisioned_by: BTreeMap<Guid, Guid>,
    /// (resource service principal, app-role id) → the permission's value.
    pub app_roles: HashMap<(Guid, Guid), String>,
    /// (customer tenant, registration definition) → its header.
    pub lighthouse_definitions: HashMap<(Guid, Guid), DefinitionHeader>,
}

/// A Lighthouse registration definition's managing tenant, that tenant's
/// name and the offer's name.
pub(crate) type DefinitionHeader = (Guid, Option<String>, Option<String>);

/// The importer's state while readers run.
pub(crate) struct Ctx {
    pub sink: Sink,
    pub look: Lookups,
}

impl Ctx {
    /// True when `t` is known as a partner tenant.
    pub fn is_partner(&self, t: Guid) -> bool {
        self.sink
            .tenants
            .get(&t)
            .and_then(|d| d.kind)
            .is_some_and(|(_, k)| k == TenantKind::Partner)
    }

    /// A role id for a role known by GUID and maybe by name: a built-in
    /// role by its id, else the name the tenant's role listings give it,
    /// else the GUID itself (a custom role).
    pub fn role_by_id(
        &mut self,
        tenant: Guid,
        id: &str,
        name: Option<&str>,
    ) -> Option<snapshot::roles::RoleId> {
        let tail = id.rsplit('/').next().unwrap_or(id);
        if self.sink.snapshot.roles.lookup(tail).is_some() {
            return self.sink.role(tail);
        }
        let known = Guid::parse(tail).and_then(|g| self.look.role_names.get(&(tenant, g)).cloned());
        match known.as_deref().or(name) {
            Some(n) if !n.trim().is_empty() => self.sink.role(n),
            _ => self.sink.role(tail),
        }
    }
}

/// Ranks of the sources of tenant facts (higher wins).
pub(crate) mod rank {
    use super::sink::Rank;
    /// Declared in the export manifest.
    pub const MANIFEST: Rank = 5;
    /// The tenant's own `organization` object.
    pub const OWN: Rank = 4;
    /// Partner Center's customer record.
    pub const PARTNER_CENTER: Rank = 3;
    /// A GDAP relationship or `delegatedAdminCustomers` entry.
    pub const GDAP: Rank = 2;
    /// A copy taken when the partnership was established (`contracts`).
    pub const COPY: Rank = 1;
}

/// Loads an export folder (see the module docs and docs/exporting.md).
///
/// Never panics and never stops at the first problem: unreadable files,
/// unknown formats and items that cannot be mapped are reported in
/// [`Loaded::diagnostics`] and counted in the snapshot's accounting.
pub fn load_export(dir: &Path) -> Loaded {
    let mut loaded = load_export_files(dir);
    loaded.snapshot.set_root(dir);
    loaded
}

fn load_export_files(dir: &Path) -> Loaded {
    let mut diags = Vec::new();
    let manifest = layout::read_manifest(dir, &mut diags);
    let placed = layout::walk(dir, &manifest, &mut diags);

    let mut displays: Vec<String> = manifest.display.iter().cloned().collect();
    let first = displays.len();
    if placed.len() + first > usize::from(u16::MAX) {
        diags.push(
            Diagnostic::error(dir.display().to_string(), "too many files in one export")
                .with_expected(format!("at most {} files", u16::MAX)),
        );
        let mut sink = Sink::new(displays);
        sink.diagnostics = diags;
        return sink.finish(manifest.manifest, &BTreeMap::new());
    }
    displays.extend(placed.iter().map(|p| p.display.clone()));

    // Parse and recognise every file (in parallel; order kept).
    let parsed: Vec<Result<File, Vec<Diagnostic>>> = placed
        .into_par_iter()
        .enumerate()
        .map(|(i, p)| parse_file(p, u16::try_from(i + first).unwrap_or(u16::MAX)))
        .collect();
    let mut files = Vec::new();
    for r in parsed {
        match r {
            Ok(f) => files.push(f),
            Err(mut d) => diags.append(&mut d),
        }
    }

    share_url_parents(&mut files);

    let mut ctx = Ctx {
        sink: Sink::new(displays),
        look: Lookups {
            provisioned_by: manifest.provisioned_by.clone(),
            ..Lookups::default()
        },
    };
    ctx.sink.diagnostics = diags;

    // Tenants: declared ones, each tenant folder, partner-side folders.
    let manifest_loc = Loc { file: 0, line: 1 };
    for decl in manifest.tenants.values() {
        let id = decl.tenant_id;
        ctx.sink.tenant(id, manifest_loc);
        if let Some(k) = decl.kind {
            ctx.sink.tenant_kind(id, manifest_loc, rank::MANIFEST, k);
        }
        if let Some(n) = &decl.name {
            ctx.sink.tenant_name(id, manifest_loc, rank::MANIFEST, n);
        }
        if let Some(d) = &decl.domain {
            ctx.sink.tenant_domain(id, manifest_loc, rank::MANIFEST, d);
        }
    }
    let mut folder_names = BTreeMap::new();
    for f in &files {
        if let Some(t) = f.placed.tenant {
            ctx.sink.tenant(t, f.loc(1));
            if let Some(name) = &f.placed.tenant_folder {
                folder_names.entry(t).or_insert_with(|| name.clone());
            }
            if matches!(
                f.format,
                Format::Contracts
                    | Format::PcCustomers
                    | Format::PcDelegatedAdminCustomers
                    | Format::GraphDelegatedAdminCustomers
                    | Format::GdapRelationships
                    | Format::GdapAccessAssignments
            ) {
                ctx.sink
                    .tenant_kind(t, f.loc(1), rank::PARTNER_CENTER, TenantKind::Partner);
            }
        }
    }

    item_problems(&mut ctx, &files);

    // Map, lookups first, in the order of `detect::SPECS`.
    for phase in 0..5 {
        for f in &files {
            if phase_of(f.format) != phase {
                continue;
            }
            let spec = detect::spec(f.format);
            let unknown: BTreeSet<&str> = f
                .body
                .items
                .iter()
                .flat_map(|i| i.obj.keys())
                .filter(|(lower, _, has)| {
                    *has && !lower.starts_with("@odata.")
                        && !matches!(*lower, "additionalproperties" | "properties")
                        && !spec.keys.iter().any(|k| k.eq_ignore_ascii_case(lower))
                })
                .map(|(_, k, _)| k)
                .collect();
            ctx.sink.unknown_columns(spec.table, unknown);
            match f.format {
                Format::Organization
                | Format::DirectoryRoles
                | Format::RoleDefinitions
                | Format::DirectoryObjects
                | Format::DirectoryRoleAssignments => graph_directory::read(&mut ctx, f),
                Format::Contracts
                | Format::GraphDelegatedAdminCustomers
                | Format::GdapRelationships
                | Format::GdapAccessAssignments => graph_partner::read(&mut ctx, f),
                Format::PcCustomers | Format::PcDelegatedAdminCustomers => {
                    partner_center::read(&mut ctx, f)
                }
                Format::Subscriptions | Format::ArmRoleAssignments => arm::read(&mut ctx, f),
                Format::AutopilotDevices
                | Format::AutopilotProfiles
                | Format::PcDevices
                | Format::AutopilotCsv => autopilot::read(&mut ctx, f),
                Format::LighthouseDefinitions
                | Format::LighthouseAssignments
                | Format::AppRoleAssignments
                | Format::PermissionGrants => channels::read(&mut ctx, f),
            }
            if f.format == Format::DirectoryObjects {
                channels::service_principals(&mut ctx, f);
            }
        }
        if phase == 1 {
            agent_group_tenants(&mut ctx);
        }
    }

    let mut m = manifest.manifest;
    // After mapping, so that subscriptions name the tenants of ARM listings.
    check_paging(&mut ctx, &files, dir, &mut m);
    if m.perspective.is_none() {
        let partner_side = files.iter().any(|f| {
            matches!(
                f.format,
                Format::Contracts
                    | Format::PcCustomers
                    | Format::PcDelegatedAdminCustomers
                    | Format::GdapRelationships
                    | Format::GraphDelegatedAdminCustomers
            )
        });
        m.perspective = Some(if partner_side {
            Perspective::Partner
        } else {
            Perspective::Customer
        });
    }
    if m.source.is_none() {
        // The folder's own name: the same whatever path led to it, and no
        // path of this machine in the reports.
        let name = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .or_else(|| {
                let full = std::fs::canonicalize(dir).ok()?;
                Some(full.file_name()?.to_string_lossy().into_owned())
            })
            .unwrap_or_else(|| ".".into());
        m.source = Some(format!("export folder `{name}`"));
    }
    ctx.sink.finish(m, &folder_names)
}

/// Which mapping pass a format belongs to: 0 lookups (roles, subscriptions,
/// organisation), 1 principals and memberships, 2 partner-side listings,
/// 3 role assignments, 4 Autopilot.
fn phase_of(f: Format) -> u8 {
    match f {
        Format::Organization
        | Format::DirectoryRoles
        | Format::RoleDefinitions
        | Format::Subscriptions => 0,
        Format::DirectoryObjects => 1,
        Format::Contracts
        | Format::PcCustomers
        | Format::PcDelegatedAdminCustomers
        | Format::GraphDelegatedAdminCustomers
        | Format::GdapRelationships
        | Format::GdapAccessAssignments => 2,
        Format::DirectoryRoleAssignments | Format::ArmRoleAssignments => 3,
        Format::AutopilotDevices
        | Format::AutopilotProfiles
        | Format::PcDevices
        | Format::AutopilotCsv => 4,
        // Definitions before their assignments; app permissions after the
        // service principals that name their app roles.
        Format::LighthouseDefinitions => 0,
        Format::LighthouseAssignments | Format::AppRoleAssignments | Format::PermissionGrants => 3,
    }
}

/// Formats whose items say which tenant they belong to: the file need not
/// sit in a tenant folder.
fn carries_tenant(f: Format) -> bool {
    matches!(
        f,
        Format::Subscriptions
            | Format::Organization
            | Format::ArmRoleAssignments
            | Format::LighthouseDefinitions
            | Format::LighthouseAssignments
    )
}

/// Reads, decodes, parses and recognises one file.
fn parse_file(placed: Placed, idx: u16) -> Result<File, Vec<Diagnostic>> {
    let display = placed.display.clone();
    let bytes = crate::input_file::read(&placed.path).map_err(|e| vec![e.diagnostic(&display)])?;
    let (text, encoding) = source::decode(&bytes).map_err(|message| {
        vec![Diagnostic::error(&display, message)
            .with_expected("UTF-8 (with or without BOM), UTF-16 or Windows-1252")]
    })?;
    let mut body = if source::looks_like_json(&text) {
        source::parse_json(&text, &display).map_err(|d| vec![d])?
    } else if text.trim().is_empty() {
        return Err(vec![Diagnostic::warning(
            &display,
            "empty file, nothing to import",
        )]);
    } else {
        source::parse_csv(&text, &display).map_err(|d| vec![d])?
    };
    body.encoding = encoding;
    if let Some(d) = powershell::truncated(&body, &display) {
        return Err(vec![d]);
    }
    let shape = Shape::of(&body);
    let csv = body.csv_header.is_some();
    let Some(format) = detect::detect(&shape, csv) else {
        if body.items.is_empty() {
            let mut d = body.diagnostics;
            d.push(Diagnostic::warning(
                &display,
                "no items in this file, nothing to import",
            ));
            return Err(d);
        }
        let mut d = body.diagnostics;
        d.push(unknown_format(&display, &shape, csv));
        return Err(d);
    };
    if placed.tenant.is_none() && !carries_tenant(format) {
        let mut d = body.diagnostics;
        d.push(
            Diagnostic::error(
                &display,
                format!("cannot tell which tenant this {} export describes", detect::spec(format).name),
            )
            .with_expected("the file inside a folder named by the tenant's GUID, or a folder mapped in the export's manifest.json `tenants`"),
        );
        return Err(d);
    }
    let mut file = File {
        idx,
        placed,
        format,
        url_parent: url_parent(&body),
        body,
    };
    if let Some(enc) = file.body.encoding {
        file.body.diagnostics.push(Diagnostic::warning(
            file.display(),
            format!("decoded as {enc}"),
        ));
    }
    Ok(file)
}

/// The error for a file no format matches.
fn unknown_format(display: &str, shape: &Shape, csv: bool) -> Diagnostic {
    let near = detect::resemblance(shape);
    let what = if csv { "CSV" } else { "JSON" };
    let mut d = Diagnostic::error(
        display,
        format!("unrecognised {what} export: its content matches no known format"),
    )
    .with_expected("one of the export formats listed in docs/exporting.md");
    if near.is_empty() {
        let keys: Vec<String> = shape
            .keys
            .iter()
            .take(6)
            .map(|k| format!("`{k}`"))
            .collect();
        d.help = Some(if keys.is_empty() {
            "it has no keys in common with any known format".to_owned()
        } else {
            format!("its keys ({}) match no known format", keys.join(", "))
        });
    } else {
        let list: Vec<String> = near
            .iter()
            .map(|(spec, keys)| {
                let shown: Vec<String> = keys.iter().take(4).map(|k| format!("`{k}`")).collect();
                format!("{} (shares {})", spec.name, shown.join(", "))
            })
            .collect();
        d.help = Some(format!("it most resembles {}", list.join("; ")));
    }
    d
}

/// Refuses a listing whose every page carries a next link: the last page
/// (and maybe more) was not saved, so rows that would grant access may be
/// missing. A listing is the page files of one folder sharing a name up to
/// their page suffix (see [`page_stem`]). Each such listing is an error
/// naming the file and the tenant (the run stops unless `--keep-going`), and
/// its tenants are recorded as incomplete in `manifest` with the reason, so
/// that every report marks them.
fn check_paging(ctx: &mut Ctx, files: &[File], root: &Path, manifest: &mut snapshot::Manifest) {
    /// One listing: folder, page stem, format.
    type Listing = (Option<std::path::PathBuf>, String, Format);
    // Pages, last pages, the files of the listing.
    let mut groups: BTreeMap<Listing, (usize, usize, Vec<&File>)> = BTreeMap::new();
    for f in files {
        let (dir, stem) = page_stem(&f.placed.path);
        let g = groups
            .entry((dir, stem, f.format))
            .or_insert((0, 0, Vec::new()));
        g.0 += f.body.pages;
        g.1 += f.body.last_pages;
        g.2.push(f);
    }
    for ((_, _, format), (pages, last, listing)) in groups {
        if pages == 0 || last > 0 {
            continue;
        }
        // The page saved last: the highest page number, else the last file.
        let Some(f) = listing
            .iter()
            .copied()
            .max_by_key(|f| (page_number(&f.placed.path), f.idx))
        else {
            continue;
        };
        let relative = f
            .placed
            .path
            .strip_prefix(root)
            .unwrap_or(&f.placed.path)
            .to_string_lossy()
            .replace('\\', "/");
        let reason = format!(
            "{}: the page after `{relative}` is missing",
            listing_name(f)
        );
        let tenants = listing_tenants(ctx, &listing);
        let named: Vec<String> = tenants.iter().map(|t| format!("`{t}`")).collect();
        let whose = if named.is_empty() {
            "of an unknown tenant".to_owned()
        } else {
            format!("of tenant {}", named.join(", "))
        };
        for &t in &tenants {
            manifest.mark_incomplete(t, &reason);
        }
        ctx.sink.note(
            Diagnostic::error(
                f.display(),
                format!("incomplete listing {whose}: {reason}"),
            )
            .with_expected(format!(
                "every page of this {} listing, the last one without `@odata.nextLink` / `nextLink`",
                detect::spec(format).name
            ))
            .with_help("follow the next links until none is returned (docs/exporting.md), or pass --keep-going to go on with the tenant marked incomplete in every report"),
        );
    }
}

/// The page number at the end of a file's stem (`users.page12.json` → 12).
fn page_number(path: &Path) -> u64 {
    let stem = path
        .file_stem()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let digits: String = stem
        .chars()
        .rev()
        .take_while(char::is_ascii_digit)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    digits.parse().unwrap_or(0)
}

/// What a listing lists, for an incomplete-listing reason: the members of
/// a group or directory role, the access assignments of a relationship, or
/// the listing named after its files (`the `users` listing`).
fn listing_name(f: &File) -> String {
    let parent = f
        .placed
        .parent
        .clone()
        .map(|p| (p, None))
        .or_else(|| f.url_parent.clone().map(|(p, k)| (p, Some(k))));
    match (f.format, parent) {
        (Format::DirectoryObjects, Some((id, kind))) => {
            let role = kind == Some(ParentKind::DirectoryRole)
                || f.placed.hint.contains("directoryrole")
                || f.placed.hint.starts_with("roles/");
            let what = if role { "directory role" } else { "group" };
            format!("members of {what} `{id}`")
        }
        (Format::GdapAccessAssignments, Some((id, _))) => {
            format!("access assignments of relationship `{id}`")
        }
        _ => format!("the `{}` listing", page_stem(&f.placed.path).1),
    }
}

/// The tenants a listing describes: its folder's tenant, else the tenants
/// its items name (`tenantId`, `homeTenantId`, or a subscription in their
/// `scope` whose tenant is known).
fn listing_tenants(ctx: &Ctx, listing: &[&File]) -> BTreeSet<Guid> {
    let mut out = BTreeSet::new();
    for f in listing {
        if let Some(t) = f.placed.tenant {
            out.insert(t);
            continue;
        }
        for item in &f.body.items {
            for key in ["tenantId", "homeTenantId"] {
                if let Some(t) = item.obj.str(key).and_then(Guid::parse) {
                    out.insert(t);
                }
            }
            if let Some(t) = item
                .obj
                .str("scope")
                .and_then(|s| scope(s).subscription())
                .and_then(|s| ctx.sink.subscription_tenant(s))
            {
                out.insert(t);
            }
        }
    }
    out
}

/// Records the problems found while unwrapping single items (an item that
/// is not an object, a CSV record with too many fields): errors reject the
/// item in the table its file feeds.
fn item_problems(ctx: &mut Ctx, files: &[File]) {
    for f in files {
        for d in &f.body.skipped {
            ctx.sink.reject(detect::spec(f.format).table, d.clone());
        }
        for d in &f.body.diagnostics {
            if d.is_error() {
                ctx.sink.reject(detect::spec(f.format).table, d.clone());
            } else {
                ctx.sink.note(d.clone());
            }
        }
    }
}

/// A tenant with a group named AdminAgents / HelpdeskAgents / SalesAgents
/// is a partner unless something more authoritative says otherwise.
fn agent_group_tenants(ctx: &mut Ctx) {
    let found: Vec<(Guid, Loc)> = ctx
        .sink
        .snapshot
        .principals
        .iter()
        .filter(|p| p.kind == PrincipalKind::Group && p.agent_group.is_some())
        .map(|p| (p.tenant_id, p.loc))
        .collect();
    for (t, loc) in found {
        ctx.sink.tenant_kind(t, loc, 0, TenantKind::Partner);
    }
}

// ---- value helpers shared by the readers ----

/// The problems found in one item, so that every one is reported (the
/// item is still one rejected row).
#[derive(Default)]
pub(crate) struct Problems(Vec<Diagnostic>);

impl Problems {
    /// The value, or `None` with the problem kept.
    pub fn take<T>(&mut self, r: Result<T, Diagnostic>) -> Option<T> {
        r.map_err(|d| self.0.push(d)).ok()
    }

    /// `Err` with the first problem when there is any; the others are
    /// recorded as they are.
    pub fn check(self, ctx: &mut Ctx) -> Result<(), Diagnostic> {
        let mut all = self.0.into_iter();
        match all.next() {
            None => Ok(()),
            Some(first) => {
                for d in all {
                    ctx.sink.note(d);
                }
                Err(first)
            }
        }
    }
}

/// A required GUID from `key` of `item`.
pub(crate) fn req_guid(f: &File, item: &Item, key: &str) -> Result<Guid, Diagnostic> {
    match item.obj.str(key) {
        Some(s) => Guid::parse(s).ok_or_else(|| bad_guid(f, item, key, s)),
        None => Err(f
            .error(item, key, "missing required value")
            .with_expected("a GUID")),
    }
}

/// An optional GUID from `key` of `item`.
pub(crate) fn opt_guid(f: &File, item: &Item, key: &str) -> Result<Option<Guid>, Diagnostic> {
    item.obj
        .str(key)
        .map(|s| Guid::parse(s).ok_or_else(|| bad_guid(f, item, key, s)))
        .transpose()
}

fn bad_guid(f: &File, item: &Item, key: &str, s: &str) -> Diagnostic {
    f.error(item, key, format!("invalid GUID {}", quote(s)))
        .with_expected("a GUID such as 62e90394-69f5-4237-9190-012177145e10")
}

/// An optional date-time from `key`: ISO 8601 (any offset, or none = UTC)
/// or Windows PowerShell's `/Date(ms)/`.
pub(crate) fn opt_time(f: &File, item: &Item, key: &str) -> Result<Option<Timestamp>, Diagnostic> {
    let Some(s) = item.obj.str(key) else {
        return Ok(None);
    };
    if s.starts_with("0001-01-01") {
        // .NET's DateTime.MinValue: "not set".
        return Ok(None);
    }
    snapshot::fields::parse_timestamp(s)
        .or_else(|| powershell::date(s))
        .map(Some)
        .ok_or_else(|| {
            f.error(item, key, format!("invalid date {}", quote(s)))
                .with_expected("an ISO 8601 date-time such as 2026-11-01T09:30:00Z")
        })
}

/// An optional ISO 8601 duration from `key` (or a .NET TimeSpan as Graph
/// PowerShell writes it), kept as written.
pub(crate) fn opt_duration(
    f: &File,
    item: &Item,
    key: &str,
) -> Result<Option<IsoDuration>, Diagnostic> {
    let Some(v) = item.obj.get(key) else {
        return Ok(None);
    };
    let text = match v {
        serde_json::Value::String(s) if s.trim().is_empty() => return Ok(None),
        serde_json::Value::String(s) if s.trim().starts_with('P') || s.trim().starts_with('p') => {
            s.trim().to_owned()
        }
        other => match powershell::timespan(other) {
            Some(t) => t,
            None => {
                return Err(f
                    .error(
                        item,
                        key,
                        format!("invalid duration {}", quote(&other.to_string())),
                    )
                    .with_expected("an ISO 8601 duration such as P730D"))
            }
        },
    };
    iso_duration(&text).map(Some).ok_or_else(|| {
        f.error(item, key, format!("invalid duration {}", quote(&text)))
            .with_expected("an ISO 8601 duration such as P730D")
    })
}

/// Parses an ISO 8601 duration, keeping its text.
pub(crate) fn iso_duration(text: &str) -> Option<IsoDuration> {
    static PARSER: jiff::fmt::temporal::SpanParser = jiff::fmt::temporal::SpanParser::new();
    PARSER.parse_span(text).ok().map(|span| IsoDuration {
        text: text.into(),
        span,
    })
}

/// A role-assignment scope as the canonical loader normalises it: leading
/// `/`, no trailing `/`, GUID segments lower-case.
pub(crate) fn scope(cell: &str) -> snapshot::Scope {
    let t = cell.trim().trim_end_matches('/');
    let mut out = String::with_capacity(t.len() + 1);
    if !t.starts_with('/') {
        out.push('/');
    }
    out.push_str(t);
    let segs: Vec<String> = out
        .split('/')
        .map(|seg| {
            if Guid::parse(seg).is_some() {
                seg.to_ascii_lowercase()
            } else {
                seg.to_owned()
            }
        })
        .collect();
    snapshot::Scope(segs.join("/").into_boxed_str())
}

/// An I/O error as a lower-case message without the OS error number.
pub(crate) fn io_message(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file or directory".to_owned(),
        std::io::ErrorKind::PermissionDenied => "permission denied".to_owned(),
        _ => {
            let text = e.to_string();
            let text = text
                .rfind(" (os error")
                .map_or(text.as_str(), |i| &text[..i]);
            text.to_lowercase()
        }
    }
}

/// User input quoted for a message (backticks, shortened).
pub(crate) fn quote(s: &str) -> String {
    let short: String = s.chars().take(60).collect();
    let dots = if s.chars().count() > 60 { "…" } else { "" };
    format!("`{}{dots}`", short.replace('`', "\\`"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_match_the_canonical_normalisation() {
        assert_eq!(scope("/").as_str(), "/");
        assert_eq!(
            scope("/subscriptions/AAAAAAAA-0000-0000-0000-00000000000A/resourceGroups/RG/")
                .as_str(),
            "/subscriptions/aaaaaaaa-0000-0000-0000-00000000000a/resourceGroups/RG"
        );
    }

    /// Validates that a report folder inside a snapshot keeps it canonical,
    /// and that a tenant folder makes a folder an export even next to a file
    /// named like a canonical table.
    #[test]
    fn export_folders_are_told_by_tenant_folders() {
        let dir = tempfile::tempdir().expect("tempdir");
        let snap = dir.path().join("snap");
        std::fs::create_dir_all(snap.join("report")).expect("mkdir");
        std::fs::write(snap.join("tenants.csv"), "tenant_id,name,kind\n").expect("write");
        assert!(!is_export_folder(&snap));
        let export = dir.path().join("export");
        std::fs::create_dir_all(export.join("contoso_093b6686-5095-4333-ac26-a942a344128b"))
            .expect("mkdir");
        std::fs::write(export.join("subscriptions.json"), "[]").expect("write");
        assert!(is_export_folder(&export));
    }

    #[test]
    fn canonical_snapshots_are_not_export_folders() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        assert!(!is_export_folder(&root.join("fixtures/demo")));
        assert!(!is_export_folder(&root.join("fixtures/messy")));
        assert!(!is_export_folder(
            &root.join("fixtures/rules/AZ001/fires.json")
        ));
    }
}
