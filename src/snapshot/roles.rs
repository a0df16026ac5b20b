//! Role vocabulary: Entra directory roles and Azure RBAC roles by display
//! name, alias, template id or role-definition id.
//!
//! Built-in roles come from the Entra permissions reference and the Azure
//! built-in roles list (see `shared/reference/export-formats.md` §2d, §3d).
//! A role cell that matches no built-in role is kept as a custom role
//! (interned by its text) rather than rejected: customers define their own
//! Azure roles, and an auditor must not drop an assignment it cannot name.

use std::collections::HashMap;
use std::fmt;

use super::model::Guid;

/// Which plane a role belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RolePlane {
    /// Entra ID (Azure AD) directory role.
    Directory,
    /// Azure resource manager (RBAC) role.
    Azure,
    /// A partner capability on Autopilot (not an Entra role).
    Autopilot,
    /// A role the built-in tables do not know.
    Custom,
}

/// An interned role; index into a [`RoleTable`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RoleId(pub u16);

/// One role's identity.
#[derive(Clone, Debug)]
pub struct RoleInfo {
    pub name: Box<str>,
    pub template_id: Option<Guid>,
    pub plane: RolePlane,
}

/// (display name, template / role-definition id, plane, aliases).
const BUILTIN: &[(&str, &str, RolePlane, &[&str])] = &[
    (
        "Global Administrator",
        "62e90394-69f5-4237-9190-012177145e10",
        RolePlane::Directory,
        &["Company Administrator", "TenantAdmins"],
    ),
    (
        "Helpdesk Administrator",
        "729827e3-9c14-49f7-bb1b-9608f156bbb8",
        RolePlane::Directory,
        &["Helpdesk Admin"],
    ),
    (
        "Global Reader",
        "f2ef992c-3afb-46b9-b7cf-a126ee74c451",
        RolePlane::Directory,
        &[],
    ),
    (
        "Privileged Role Administrator",
        "e8611ab8-c189-46e8-94e1-60213ab1f814",
        RolePlane::Directory,
        &[],
    ),
    (
        "Privileged Authentication Administrator",
        "7be44c8a-adaf-4e2a-84d6-ab2649e08a13",
        RolePlane::Directory,
        &[],
    ),
    (
        "Password Administrator",
        "966707d0-3269-4727-9be2-8c3a10f19b9d",
        RolePlane::Directory,
        &[],
    ),
    (
        "User Administrator",
        "fe930be7-5e62-47db-91af-98c3a49a38b1",
        RolePlane::Directory,
        &[],
    ),
    (
        "Authentication Administrator",
        "c4e39bd9-1100-46d3-8c65-fb160da0071f",
        RolePlane::Directory,
        &[],
    ),
    (
        "Security Administrator",
        "194ae4cb-b126-40b2-bd5b-6091b380977d",
        RolePlane::Directory,
        &[],
    ),
    (
        "Security Reader",
        "5d6b6bb7-de71-4623-b4af-96380a352509",
        RolePlane::Directory,
        &[],
    ),
    (
        "Security Operator",
        "5f2222b1-57c3-48ba-8ad5-d4759f1fde6f",
        RolePlane::Directory,
        &[],
    ),
    (
        "Conditional Access Administrator",
        "b1be1c3e-b65d-4f19-8427-f6fa0d97feb9",
        RolePlane::Directory,
        &[],
    ),
    (
        "Application Administrator",
        "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3",
        RolePlane::Directory,
        &[],
    ),
    (
        "Cloud Application Administrator",
        "158c047a-c907-4556-b7ef-446551a6b5f7",
        RolePlane::Directory,
        &[],
    ),
    (
        "Cloud Device Administrator",
        "7698a772-787b-4ac8-901f-60d6b08affd2",
        RolePlane::Directory,
        &[],
    ),
    (
        "Intune Administrator",
        "3a2c62db-5318-420d-8d74-23affee5d9d5",
        RolePlane::Directory,
        &[],
    ),
    (
        "Exchange Administrator",
        "29232cdf-9323-42fd-ade2-1d097af3e4de",
        RolePlane::Directory,
        &[],
    ),
    (
        "SharePoint Administrator",
        "f28a1f50-f6e7-4571-818b-6a12f2af6b6c",
        RolePlane::Directory,
        &[],
    ),
    (
        "Teams Administrator",
        "69091246-20e8-4a56-aa4d-066075b2a7a8",
        RolePlane::Directory,
        &[],
    ),
    (
        "Groups Administrator",
        "fdd7a751-b60b-444a-984c-02652fe8fa1c",
        RolePlane::Directory,
        &[],
    ),
    (
        "License Administrator",
        "4d6ac14f-3453-41d0-bef9-a3e0c569773a",
        RolePlane::Directory,
        &[],
    ),
    (
        "Billing Administrator",
        "b0f54661-2d74-4c50-afa3-1ec803f12efe",
        RolePlane::Directory,
        &[],
    ),
    (
        "Service Support Administrator",
        "f023fd81-a637-4b56-95fd-791ac0226033",
        RolePlane::Directory,
        &[],
    ),
    (
        "Directory Readers",
        "88d8e3e3-8f55-4a1e-953a-9b9898b8876b",
        RolePlane::Directory,
        &[],
    ),
    (
        "Directory Writers",
        "9360feb5-f418-4baa-8175-e2a00bac4301",
        RolePlane::Directory,
        &[],
    ),
    (
        "Directory Synchronization Accounts",
        "d29b2b05-8046-44ba-8758-1e26182fcf32",
        RolePlane::Directory,
        &[],
    ),
    (
        "Hybrid Identity Administrator",
        "8ac3fc64-6eca-42ea-9e69-59f4c7b60eb2",
        RolePlane::Directory,
        &[],
    ),
    (
        "Domain Name Administrator",
        "8329153b-31d0-4727-b945-745eb3bc5f31",
        RolePlane::Directory,
        &[],
    ),
    (
        "Reports Reader",
        "4a5d8f65-41da-4de4-8968-e035b65339cf",
        RolePlane::Directory,
        &[],
    ),
    (
        "Dynamics 365 Administrator",
        "44367163-eba1-44c3-98af-f5787879f96a",
        RolePlane::Directory,
        &[],
    ),
    (
        "Power Platform Administrator",
        "11648597-926c-4cf3-9c36-bcebb0ba8dcc",
        RolePlane::Directory,
        &[],
    ),
    (
        "Microsoft Entra Joined Device Local Administrator",
        "9f06204d-73c1-4d4c-880a-6edb90606fd8",
        RolePlane::Directory,
        &["Azure AD Joined Device Local Administrator"],
    ),
    (
        "Partner Tier1 Support",
        "4ba39ca4-527c-499a-b93d-d9b492c50246",
        RolePlane::Directory,
        &[],
    ),
    (
        "Partner Tier2 Support",
        "e00e864a-17c5-4a4b-9c06-f5b95a8d5bd8",
        RolePlane::Directory,
        &[],
    ),
    (
        "Owner",
        "8e3af657-a8ff-443c-a75c-2fe8c4bcb635",
        RolePlane::Azure,
        &[],
    ),
    (
        "Contributor",
        "b24988ac-6180-42a0-ab88-20f7382dd24c",
        RolePlane::Azure,
        &[],
    ),
    (
        "Reader",
        "acdd72a7-3385-48ef-bd42-f606fba81ae7",
        RolePlane::Azure,
        &[],
    ),
    (
        "User Access Administrator",
        "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9",
        RolePlane::Azure,
        &[],
    ),
    // Capabilities, not Entra roles: what Autopilot lets a partner do (F11, F12).
    ("Autopilot Profile Manager", "", RolePlane::Autopilot, &[]),
    ("Autopilot Device Manager", "", RolePlane::Autopilot, &[]),
];

/// Well-known built-in roles, as constants for the graph and tests.
pub mod builtin {
    use super::RoleId;
    /// Global Administrator (alias Company Administrator).
    pub const GLOBAL_ADMINISTRATOR: RoleId = RoleId(0);
    /// Helpdesk Administrator.
    pub const HELPDESK_ADMINISTRATOR: RoleId = RoleId(1);
    /// Azure Owner.
    pub const OWNER: RoleId = RoleId(34);
    /// Managing a customer's Autopilot profiles (F11, F12).
    pub const AUTOPILOT_PROFILE_MANAGER: RoleId = RoleId(38);
    /// Managing or deleting a customer's Autopilot device (F11, F12).
    pub const AUTOPILOT_DEVICE_MANAGER: RoleId = RoleId(39);
}

/// Interned roles: the built-ins first, then custom roles in order of first
/// appearance (deterministic because tables load in a fixed order).
#[derive(Debug)]
pub struct RoleTable {
    roles: Vec<RoleInfo>,
    by_name: HashMap<String, RoleId>,
    by_id: HashMap<Guid, RoleId>,
}

impl Default for RoleTable {
    fn default() -> Self {
        let mut t = RoleTable {
            roles: Vec::new(),
            by_name: HashMap::new(),
            by_id: HashMap::new(),
        };
        for (i, (name, id, plane, aliases)) in BUILTIN.iter().enumerate() {
            let rid = RoleId(u16::try_from(i).unwrap_or(u16::MAX));
            let gid = Guid::parse(id);
            t.roles.push(RoleInfo {
                name: (*name).into(),
                template_id: gid,
                plane: *plane,
            });
            t.by_name.insert(name.to_ascii_lowercase(), rid);
            for a in *aliases {
                t.by_name.insert(a.to_ascii_lowercase(), rid);
            }
            if let Some(g) = gid {
                t.by_id.insert(g, rid);
            }
        }
        t
    }
}

impl RoleTable {
    /// Resolves a role cell: display name or alias (case-insensitive), a
    /// template GUID, or an ARM role-definition path ending in a GUID.
    /// Unknown roles are interned as custom roles. Returns `None` only for an
    /// empty cell or when the table is full.
    pub fn intern(&mut self, cell: &str) -> Option<RoleId> {
        let cell = cell.trim();
        if cell.is_empty() {
            return None;
        }
        let key = cell.to_ascii_lowercase();
        if let Some(&r) = self.by_name.get(&key) {
            return Some(r);
        }
        let tail = cell.rsplit('/').next().unwrap_or(cell);
        if let Some(g) = Guid::parse(tail) {
            if let Some(&r) = self.by_id.get(&g) {
                return Some(r);
            }
            let r = self.push(RoleInfo {
                name: format!("Custom role {g}").into(),
                template_id: Some(g),
                plane: RolePlane::Custom,
            })?;
            self.by_id.insert(g, r);
            return Some(r);
        }
        let r = self.push(RoleInfo {
            name: cell.into(),
            template_id: None,
            plane: RolePlane::Custom,
        })?;
        self.by_name.insert(key, r);
        Some(r)
    }

    /// Looks a role up without interning (used by rule parameters and tests).
    pub fn lookup(&self, cell: &str) -> Option<RoleId> {
        let cell = cell.trim();
        if let Some(&r) = self.by_name.get(&cell.to_ascii_lowercase()) {
            return Some(r);
        }
        let tail = cell.rsplit('/').next().unwrap_or(cell);
        Guid::parse(tail).and_then(|g| self.by_id.get(&g).copied())
    }

    fn push(&mut self, info: RoleInfo) -> Option<RoleId> {
        let id = RoleId(u16::try_from(self.roles.len()).ok()?);
        self.roles.push(info);
        Some(id)
    }

    /// The role's identity.
    pub fn info(&self, id: RoleId) -> &RoleInfo {
        &self.roles[usize::from(id.0)]
    }

    /// Every role, by id.
    pub fn ids(&self) -> impl Iterator<Item = RoleId> {
        (0..self.roles.len()).filter_map(|i| u16::try_from(i).ok().map(RoleId))
    }

    /// The role's display name.
    pub fn name(&self, id: RoleId) -> &str {
        &self.info(id).name
    }
}

impl fmt::Display for RolePlane {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RolePlane::Directory => "directory",
            RolePlane::Azure => "azure",
            RolePlane::Autopilot => "autopilot",
            RolePlane::Custom => "custom",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_names_aliases_and_ids() {
        let mut t = RoleTable::default();
        assert_eq!(
            t.intern("global administrator"),
            Some(builtin::GLOBAL_ADMINISTRATOR)
        );
        assert_eq!(
            t.intern("Company Administrator"),
            Some(builtin::GLOBAL_ADMINISTRATOR)
        );
        assert_eq!(
            t.intern("62E90394-69F5-4237-9190-012177145E10"),
            Some(builtin::GLOBAL_ADMINISTRATOR)
        );
        assert_eq!(
            t.intern("729827e3-9c14-49f7-bb1b-9608f156bbb8"),
            Some(builtin::HELPDESK_ADMINISTRATOR)
        );
        assert_eq!(
            t.intern("/subscriptions/x/providers/Microsoft.Authorization/roleDefinitions/8e3af657-a8ff-443c-a75c-2fe8c4bcb635"),
            Some(builtin::OWNER)
        );
        assert_eq!(t.name(builtin::OWNER), "Owner");
        assert_eq!(
            t.name(builtin::AUTOPILOT_DEVICE_MANAGER),
            "Autopilot Device Manager"
        );
        let c = t.intern("Backup Operator (custom)").expect("custom");
        assert_eq!(t.info(c).plane, RolePlane::Custom);
        assert_eq!(t.intern("backup operator (CUSTOM)"), Some(c));
    }
}
