//! Graph directory exports of any tenant: `organization`, `users`,
//! `groups`, `servicePrincipals`, group `members` / `transitiveMembers`,
//! `directoryRoles` and their `members`, and
//! `roleManagement/directory/roleAssignments` / `roleDefinitions`.
//!
//! Directory-object listings all look alike (a list of users, groups and
//! service principals); a listing is a *child listing* — members of a group
//! or of a directory role — when its `@odata.context` says
//! `directoryObjects` (Graph's context for `/members`) or its file names a
//! parent object, and a principal listing otherwise. Members of a parent
//! that a `directoryRoles` listing (or the role table) knows as a role
//! become directory role assignments; other parents are groups.
//! `transitiveMembers` lists become direct memberships of the group: the
//! nesting is flattened, effective access is the same.

use super::detect::Format;
use super::sink::{principal, Rank};
use super::source::{Item, Obj};
use super::{opt_guid, rank, req_guid, scope, Ctx, File, ParentKind};
use crate::snapshot::roles::RolePlane;
use crate::snapshot::{Diagnostic, Guid, Membership, PrincipalKind, RoleAssignment, Scope};

/// A principal listed by its own listing (`users`, `groups`, …).
const LISTED: Rank = 3;
/// A principal seen as a member or an expanded assignment principal.
const SEEN: Rank = 2;

/// Maps one directory file.
pub(super) fn read(ctx: &mut Ctx, f: &File) {
    match f.format {
        Format::Organization => organization(ctx, f),
        Format::DirectoryRoles => directory_roles(ctx, f),
        Format::RoleDefinitions => role_definitions(ctx, f),
        Format::DirectoryObjects => directory_objects(ctx, f),
        Format::DirectoryRoleAssignments => role_assignments(ctx, f),
        _ => {}
    }
}

fn organization(ctx: &mut Ctx, f: &File) {
    for item in &f.body.items {
        let id = match req_guid(f, item, "id") {
            Ok(id) => id,
            Err(d) => {
                ctx.sink.reject("tenants", d);
                continue;
            }
        };
        if let Some(t) = f.placed.tenant.filter(|&t| t != id) {
            ctx.sink.note(f.warning(
                item,
                format!("organization `{id}` is filed under tenant `{t}`: the organization's own id is used"),
            ));
        }
        let loc = f.loc(item.line);
        ctx.sink.tenant(id, loc);
        if let Some(n) = item.obj.str("displayName") {
            ctx.sink.tenant_name(id, loc, rank::OWN, n);
        }
        let domains: Vec<Obj> = item
            .obj
            .arr("verifiedDomains")
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_object().map(|m| Obj::new(m.clone())))
                    .collect()
            })
            .unwrap_or_default();
        let pick = domains
            .iter()
            .find(|d| d.bool("isDefault") == Some(true))
            .or_else(|| domains.iter().find(|d| d.bool("isInitial") == Some(true)))
            .or(domains.first());
        if let Some(d) = pick.and_then(|d| d.str("name")) {
            ctx.sink.tenant_domain(id, loc, rank::OWN, d);
        }
    }
}

fn directory_roles(ctx: &mut Ctx, f: &File) {
    let t = f.tenant();
    for item in &f.body.items {
        let id = match req_guid(f, item, "id") {
            Ok(id) => id,
            Err(d) => {
                ctx.sink.reject("role_assignments", d);
                continue;
            }
        };
        let template = match opt_guid(f, item, "roleTemplateId") {
            Ok(x) => x,
            Err(d) => {
                ctx.sink.reject("role_assignments", d);
                continue;
            }
        };
        let name = item.obj.str("displayName").map(str::to_owned);
        if let (Some(tpl), Some(n)) = (template, &name) {
            ctx.look.role_names.insert((t, tpl), n.clone());
        }
        ctx.look.dir_roles.insert((t, id), (template, name.clone()));
        // `GET /directoryRoles?$expand=members`.
        if let Some(members) = item.obj.arr("members") {
            let role_key = template.map_or_else(|| id.to_string(), |g| g.to_string());
            let Some(role) = ctx.role_by_id(t, &role_key, name.as_deref()) else {
                continue;
            };
            for m in members.iter().filter_map(|v| v.as_object()) {
                let member = Item {
                    line: item.line,
                    obj: Obj::new(m.clone()),
                };
                role_member(ctx, f, &member, t, role);
            }
        }
    }
}

fn role_definitions(ctx: &mut Ctx, f: &File) {
    let t = f.tenant();
    for item in &f.body.items {
        let Some(name) = item.obj.str("displayName") else {
            continue;
        };
        for key in ["id", "templateId"] {
            if let Some(g) = item.obj.str(key).and_then(Guid::parse) {
                ctx.look.role_names.insert((t, g), name.to_owned());
            }
        }
    }
}

/// The principal kind an object's type or keys say, `Err(type)` for a
/// directory object that is no principal (device, contact, ...).
fn kind_of(o: &Obj) -> Option<Result<PrincipalKind, String>> {
    if let Some(t) = o.odata_type() {
        return Some(match t.as_str() {
            "user" => Ok(PrincipalKind::User),
            "group" => Ok(PrincipalKind::Group),
            "serviceprincipal" => Ok(PrincipalKind::ServicePrincipal),
            _ => Err(t),
        });
    }
    if o.get("userPrincipalName").is_some() {
        Some(Ok(PrincipalKind::User))
    } else if [
        "securityEnabled",
        "mailEnabled",
        "groupTypes",
        "mailNickname",
    ]
    .iter()
    .any(|k| o.get(k).is_some())
    {
        Some(Ok(PrincipalKind::Group))
    } else if ["appId", "servicePrincipalType", "servicePrincipalNames"]
        .iter()
        .any(|k| o.get(k).is_some())
    {
        Some(Ok(PrincipalKind::ServicePrincipal))
    } else if o.present("userPrincipalName") {
        // Graph PowerShell objects keep unselected properties as nulls: the
        // keys still tell the type.
        Some(Ok(PrincipalKind::User))
    } else if ["securityEnabled", "groupTypes", "mailEnabled"]
        .iter()
        .any(|k| o.present(k))
    {
        Some(Ok(PrincipalKind::Group))
    } else if ["appId", "servicePrincipalType"]
        .iter()
        .any(|k| o.present(k))
    {
        Some(Ok(PrincipalKind::ServicePrincipal))
    } else {
        None
    }
}

/// The kind a listing's `@odata.context` implies (`#users`, `#groups`, ...).
fn context_kind(f: &File) -> Option<PrincipalKind> {
    let c = f.body.contexts.first()?.to_ascii_lowercase();
    let frag = c.rsplit_once("$metadata#").map_or(c.as_str(), |(_, x)| x);
    let head = frag.split('(').next().unwrap_or(frag);
    match head.rsplit('/').next().unwrap_or(head) {
        "users" => Some(PrincipalKind::User),
        "groups" => Some(PrincipalKind::Group),
        "serviceprincipals" => Some(PrincipalKind::ServicePrincipal),
        _ => None,
    }
}

/// Adds the principal `o` describes (when its kind is known) at `rank`;
/// returns its id.
fn add_principal(
    ctx: &mut Ctx,
    f: &File,
    item: &Item,
    o: &Obj,
    tenant: Guid,
    default_kind: Option<PrincipalKind>,
    rank: Rank,
) -> Result<Option<Guid>, Diagnostic> {
    let probe = Item {
        line: item.line,
        obj: o.clone(),
    };
    let key = if o.get("id").is_some() {
        "id"
    } else {
        "objectId"
    };
    let id = req_guid(f, &probe, key)?;
    let kind = match kind_of(o) {
        Some(Ok(k)) => k,
        Some(Err(other)) => {
            ctx.sink.reject(
                "principals",
                f.warning(item, format!("`{id}` is a `{other}`, not a user, group or service principal: not imported")),
            );
            return Ok(None);
        }
        None => match default_kind {
            Some(k) => k,
            None if rank == LISTED => {
                return Err(f
                    .error(item, "@odata.type", format!("cannot tell whether `{id}` is a user, a group or a service principal"))
                    .with_expected("`@odata.type`, or `userPrincipalName` (users), `securityEnabled` (groups), `appId` (service principals)"));
            }
            None => return Ok(Some(id)),
        },
    };
    let upn = o.str("userPrincipalName");
    let name = o
        .str_any(&["displayName", "appDisplayName"])
        .or(upn)
        .or_else(|| o.str("mail"))
        .map_or_else(|| id.to_string(), str::to_owned);
    let enabled = if kind == PrincipalKind::Group {
        None
    } else {
        o.bool("accountEnabled")
    };
    let p = principal(f.loc(item.line), tenant, id, kind, &name, upn, enabled);
    ctx.sink.principal(p, rank);
    Ok(Some(id))
}

fn directory_objects(ctx: &mut Ctx, f: &File) {
    let t = f.tenant();
    let ctx_frag = f
        .body
        .contexts
        .first()
        .map(|c| c.to_ascii_lowercase())
        .unwrap_or_default();
    let default_kind = context_kind(f);
    let url_parent = f
        .url_parent
        .clone()
        .filter(|(_, k)| *k != ParentKind::Relationship)
        .map(|(p, k)| (p, k == ParentKind::DirectoryRole));
    let parent = f
        .placed
        .parent
        .clone()
        .map(|p| (p, false))
        .or(url_parent.clone());
    let child = default_kind.is_none()
        && (ctx_frag.contains("directoryobjects")
            || ctx_frag.contains("members")
            || parent.is_some());
    if !child {
        for item in &f.body.items {
            match add_principal(ctx, f, item, &item.obj, t, default_kind, LISTED) {
                Ok(Some(id)) => expanded_members(ctx, f, item, t, id),
                Ok(None) => {}
                Err(d) => ctx.sink.reject("principals", d),
            }
        }
        return;
    }
    let Some((parent, url_says_role)) = parent else {
        for item in &f.body.items {
            ctx.sink.reject(
                "memberships",
                f.error(item, "id", "cannot tell which group or directory role these members belong to")
                    .with_expected("the parent's GUID in the file name, e.g. `groups/<group-id>.members.json` or `directoryRoles/<role-id>.members.json`"),
            );
        }
        return;
    };
    let parent_guid = Guid::parse(&parent);
    let role_hint = url_says_role
        || url_parent.is_some_and(|(p, r)| p == parent && r)
        || f.placed.hint.contains("directoryrole")
        || f.placed.hint.starts_with("roles/")
        || f.placed.hint.contains("role-");
    let known_role =
        parent_guid.and_then(|g| {
            ctx.look.dir_roles.get(&(t, g)).cloned().or_else(|| {
                let builtin =
                    ctx.sink.snapshot.roles.lookup(&parent).is_some_and(|r| {
                        ctx.sink.snapshot.roles.info(r).plane == RolePlane::Directory
                    });
                builtin.then_some((Some(g), None))
            })
        });
    match (parent_guid, known_role) {
        (Some(_), Some((template, name))) => {
            let key = template.map_or_else(|| parent.clone(), |g| g.to_string());
            let Some(role) = ctx.role_by_id(t, &key, name.as_deref()) else {
                return;
            };
            for item in &f.body.items {
                role_member(ctx, f, item, t, role);
            }
        }
        (Some(g), None) if role_hint => {
            ctx.sink.note(
                Diagnostic::warning(
                    f.display(),
                    format!("directory role `{g}` is in no `directoryRoles` listing of this tenant: its members are imported under the role's id, its name is unknown"),
                )
                .with_help("export `directoryRoles` too (see docs/exporting.md)"),
            );
            let Some(role) = ctx.role_by_id(t, &parent, None) else {
                return;
            };
            for item in &f.body.items {
                role_member(ctx, f, item, t, role);
            }
        }
        (Some(group), _) => {
            if let Some(first) = f.body.items.first() {
                ctx.sink.known_group(t, group, f.loc(first.line));
            }
            for item in &f.body.items {
                match add_principal(ctx, f, item, &item.obj, t, None, SEEN) {
                    Ok(Some(member)) => ctx.sink.membership(Membership {
                        loc: f.loc(item.line),
                        tenant_id: t,
                        group_id: group,
                        member_id: member,
                    }),
                    Ok(None) => {}
                    Err(d) => ctx.sink.reject("memberships", d),
                }
            }
        }
        (None, _) => {
            for item in &f.body.items {
                ctx.sink.reject(
                    "memberships",
                    f.error(
                        item,
                        "id",
                        format!("the parent `{parent}` in the file name is not a GUID"),
                    )
                    .with_expected("a group or directory role GUID"),
                );
            }
        }
    }
}

/// `GET /groups?$expand=members`: the members of a listed group.
fn expanded_members(ctx: &mut Ctx, f: &File, item: &Item, tenant: Guid, group: Guid) {
    let Some(members) = item.obj.arr("members") else {
        return;
    };
    for m in members.iter().filter_map(|v| v.as_object()) {
        let o = Obj::new(m.clone());
        match add_principal(ctx, f, item, &o, tenant, None, SEEN) {
            Ok(Some(member)) => ctx.sink.membership(Membership {
                loc: f.loc(item.line),
                tenant_id: tenant,
                group_id: group,
                member_id: member,
            }),
            Ok(None) => {}
            Err(d) => ctx.sink.reject("memberships", d),
        }
    }
}

/// A member of a directory role: a role assignment at the directory scope.
fn role_member(
    ctx: &mut Ctx,
    f: &File,
    item: &Item,
    tenant: Guid,
    role: crate::snapshot::roles::RoleId,
) {
    match add_principal(ctx, f, item, &item.obj, tenant, None, SEEN) {
        Ok(Some(id)) => ctx.sink.role_assignment(RoleAssignment {
            loc: f.loc(item.line),
            tenant_id: tenant,
            scope: Scope("/".into()),
            role,
            principal_id: id,
            principal_tenant_id: None,
            created_at: None,
        }),
        Ok(None) => {}
        Err(d) => ctx.sink.reject("role_assignments", d),
    }
}

fn role_assignments(ctx: &mut Ctx, f: &File) {
    let t = f.tenant();
    for item in &f.body.items {
        if let Err(d) = role_assignment(ctx, f, item, t) {
            ctx.sink.reject("role_assignments", d);
        }
    }
}

fn role_assignment(ctx: &mut Ctx, f: &File, item: &Item, t: Guid) -> Result<(), Diagnostic> {
    let principal_id = req_guid(f, item, "principalId")?;
    let Some(def) = item.obj.str("roleDefinitionId") else {
        return Err(f
            .error(item, "roleDefinitionId", "missing required value")
            .with_expected("a role definition id"));
    };
    let def_name = item
        .obj
        .obj("roleDefinition")
        .and_then(|d| d.str("displayName").map(str::to_owned));
    let role = ctx
        .role_by_id(t, def, def_name.as_deref())
        .ok_or_else(|| f.error(item, "roleDefinitionId", "too many distinct roles"))?;
    let scope = match item.obj.str("directoryScopeId") {
        None | Some("/") => Scope("/".into()),
        Some(s) => scope(s),
    };
    if let Some(p) = item.obj.obj("principal") {
        if let Err(d) = add_principal(ctx, f, item, &p, t, None, SEEN) {
            ctx.sink.note(d);
        }
    }
    ctx.sink.role_assignment(RoleAssignment {
        loc: f.loc(item.line),
        tenant_id: t,
        scope,
        role,
        principal_id,
        principal_tenant_id: None,
        created_at: None,
    });
    Ok(())
}
