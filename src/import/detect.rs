//! The export formats the importer knows, and how a file's format is
//! recognised from its content: item `@odata.type`, then the page's
//! `@odata.context`, then the keys the items carry. Never from the file
//! name — users name their files as they like.
//!
//! A file that matches nothing gets the formats it resembles most, ranked by
//! the overlap of its keys with each format's documented keys.

use std::collections::BTreeSet;

use super::source::Body;

/// One export format (see docs/exporting.md for the commands producing each).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Format {
    /// Graph `GET /organization`.
    Organization,
    /// Graph `GET /directoryRoles` (role objects, optionally `$expand=members`).
    DirectoryRoles,
    /// Graph `GET /roleManagement/directory/roleDefinitions`.
    RoleDefinitions,
    /// `az account list`, ARM `GET /subscriptions`.
    Subscriptions,
    /// Graph directory objects: `users`, `groups`, `servicePrincipals`,
    /// group `members` / `transitiveMembers`, directory role `members`.
    DirectoryObjects,
    /// Graph `GET /contracts`.
    Contracts,
    /// Partner Center `GET /v1/customers`.
    PcCustomers,
    /// Partner Center (DAP era) `delegatedAdminCustomers` with `dapEnabled`.
    PcDelegatedAdminCustomers,
    /// Graph `GET /tenantRelationships/delegatedAdminCustomers`.
    GraphDelegatedAdminCustomers,
    /// Graph `GET /tenantRelationships/delegatedAdminRelationships`.
    GdapRelationships,
    /// Graph `GET /tenantRelationships/delegatedAdminRelationships/{id}/accessAssignments`.
    GdapAccessAssignments,
    /// Graph `GET /roleManagement/directory/roleAssignments`.
    DirectoryRoleAssignments,
    /// ARM `roleAssignments` and `az role assignment list` (both shapes).
    ArmRoleAssignments,
    /// Graph `GET /deviceManagement/windowsAutopilotDeviceIdentities`.
    AutopilotDevices,
    /// Graph (beta) `GET /deviceManagement/windowsAutopilotDeploymentProfiles`.
    AutopilotProfiles,
    /// Partner Center `GET /v1/customers/{id}/deviceBatches/{batch}/devices`.
    PcDevices,
    /// The Intune / Partner Center Autopilot device CSV.
    AutopilotCsv,
    /// ARM `Microsoft.ManagedServices/registrationDefinitions`.
    LighthouseDefinitions,
    /// ARM `Microsoft.ManagedServices/registrationAssignments`.
    LighthouseAssignments,
    /// Graph `servicePrincipals/{id}/appRoleAssignments` or `appRoleAssignedTo`.
    AppRoleAssignments,
    /// Graph `oauth2PermissionGrants`.
    PermissionGrants,
}

/// What the importer documents about a format.
pub(crate) struct Spec {
    pub format: Format,
    /// Human name for messages.
    pub name: &'static str,
    /// The canonical table its rows mostly go to (for accounting).
    pub table: &'static str,
    /// The format's documented keys (camelCase as Graph writes them).
    pub keys: &'static [&'static str],
}

/// Every format, in the order files are mapped (lookups first, so that
/// later formats can resolve role, principal and subscription ids).
pub(crate) const SPECS: &[Spec] = &[
    Spec {
        format: Format::Organization,
        name: "Graph `organization`",
        table: "tenants",
        keys: &["id", "displayName", "verifiedDomains", "tenantType", "countryLetterCode", "createdDateTime", "onPremisesSyncEnabled"],
    },
    Spec {
        format: Format::DirectoryRoles,
        name: "Graph `directoryRoles`",
        table: "role_assignments",
        keys: &["id", "displayName", "description", "roleTemplateId", "deletedDateTime", "members"],
    },
    Spec {
        format: Format::RoleDefinitions,
        name: "Graph `roleManagement/directory/roleDefinitions`",
        table: "role_assignments",
        keys: &["id", "displayName", "description", "isBuiltIn", "isEnabled", "templateId", "version", "rolePermissions", "resourceScopes", "inheritsPermissionsFrom", "isPrivileged"],
    },
    Spec {
        format: Format::Subscriptions,
        name: "`az account list` / ARM `subscriptions`",
        table: "subscriptions",
        keys: &["id", "name", "tenantId", "homeTenantId", "managedByTenants", "isDefault", "state", "user", "cloudName", "environmentName", "tenantDefaultDomain", "tenantDisplayName", "subscriptionId", "displayName", "subscriptionPolicies", "authorizationSource"],
    },
    Spec {
        format: Format::DirectoryObjects,
        name: "Graph directory objects (`users`, `groups`, `servicePrincipals`, `members`, `transitiveMembers`)",
        table: "principals",
        keys: &["id", "objectId", "displayName", "userPrincipalName", "accountEnabled", "userType", "mail", "givenName", "surname", "jobTitle", "businessPhones", "mobilePhone", "officeLocation", "preferredLanguage", "securityEnabled", "mailEnabled", "mailNickname", "groupTypes", "description", "appId", "appDisplayName", "servicePrincipalType", "servicePrincipalNames", "deletedDateTime", "createdDateTime", "externalUserState", "onPremisesSyncEnabled", "signInActivity", "members", "organizationId", "proxyAddresses", "department", "usageLocation", "isAssignableToRole", "visibility", "renewedDateTime", "securityIdentifier", "accountEnabled"],
    },
    Spec {
        format: Format::Contracts,
        name: "Graph `contracts`",
        table: "relationships",
        keys: &["id", "contractType", "customerId", "defaultDomainName", "displayName", "deletedDateTime"],
    },
    Spec {
        format: Format::PcCustomers,
        name: "Partner Center `customers`",
        table: "relationships",
        keys: &["id", "commerceId", "companyProfile", "billingProfile", "relationshipToPartner", "allowDelegatedAccess", "userCredentials", "customDomains", "associatedPartnerId", "links", "attributes", "enableGDAPByDefault", "tags"],
    },
    Spec {
        format: Format::PcDelegatedAdminCustomers,
        name: "Partner Center `delegatedAdminCustomers` (DAP)",
        table: "relationships",
        keys: &["id", "customerTenantId", "organizationDisplayName", "partnerAgentCount", "partnerSignInCount", "globalAdminSignInCount", "dapEnabled", "startDateTime", "endDateTime", "lastSignInDateTime"],
    },
    Spec {
        format: Format::GraphDelegatedAdminCustomers,
        name: "Graph `delegatedAdminCustomers`",
        table: "tenants",
        keys: &["id", "tenantId", "displayName", "serviceManagementDetails"],
    },
    Spec {
        format: Format::GdapRelationships,
        name: "Graph `delegatedAdminRelationships`",
        table: "relationships",
        keys: &["id", "displayName", "duration", "customer", "accessDetails", "status", "autoExtendDuration", "createdDateTime", "lastModifiedDateTime", "activatedDateTime", "endDateTime", "indirectProviderTenantId", "isPartnerConsentPending", "partner", "operations", "requests", "accessAssignments"],
    },
    Spec {
        format: Format::GdapAccessAssignments,
        name: "Graph `accessAssignments`",
        table: "gdap_access_assignments",
        keys: &["id", "status", "accessContainer", "accessDetails", "createdDateTime", "lastModifiedDateTime"],
    },
    Spec {
        format: Format::DirectoryRoleAssignments,
        name: "Graph `roleManagement/directory/roleAssignments`",
        table: "role_assignments",
        keys: &["id", "principalId", "roleDefinitionId", "directoryScopeId", "appScopeId", "resourceScope", "condition", "principal", "roleDefinition", "directoryScope", "appScope", "principalOrganizationId"],
    },
    Spec {
        format: Format::ArmRoleAssignments,
        name: "ARM `roleAssignments` / `az role assignment list`",
        table: "role_assignments",
        keys: &["id", "name", "type", "properties", "scope", "roleDefinitionId", "principalId", "principalType", "description", "condition", "conditionVersion", "createdOn", "updatedOn", "createdBy", "updatedBy", "delegatedManagedIdentityResourceId", "principalName", "roleDefinitionName", "canDelegate", "resourceGroup"],
    },
    Spec {
        format: Format::AutopilotDevices,
        name: "Graph `windowsAutopilotDeviceIdentities`",
        table: "devices",
        keys: &["id", "groupTag", "purchaseOrderIdentifier", "serialNumber", "productKey", "manufacturer", "model", "enrollmentState", "lastContactedDateTime", "addressableUserName", "userPrincipalName", "resourceName", "skuNumber", "systemFamily", "azureActiveDirectoryDeviceId", "azureAdDeviceId", "managedDeviceId", "displayName", "deploymentProfileAssignmentStatus", "deploymentProfileAssignmentDetailedStatus", "deploymentProfileAssignedDateTime", "deploymentProfile", "intendedDeploymentProfile", "userlessEnrollmentStatus", "remediationState", "remediationStateLastModifiedDateTime"],
    },
    Spec {
        format: Format::AutopilotProfiles,
        name: "Graph `windowsAutopilotDeploymentProfiles`",
        table: "autopilot_profiles",
        keys: &["id", "displayName", "description", "language", "locale", "createdDateTime", "lastModifiedDateTime", "outOfBoxExperienceSettings", "outOfBoxExperienceSetting", "enrollmentStatusScreenSettings", "extractHardwareHash", "hardwareHashExtractionEnabled", "deviceNameTemplate", "deviceType", "enableWhiteGlove", "preprovisioningAllowed", "roleScopeTagIds", "managementServiceAppId", "hybridAzureADJoinSkipConnectivityCheck", "assignments"],
    },
    Spec {
        format: Format::PcDevices,
        name: "Partner Center Autopilot `devices`",
        table: "devices",
        keys: &["id", "serialNumber", "productKey", "hardwareHash", "modelName", "oemManufacturerName", "policies", "uploadedDate", "allowedOperations", "attributes", "createdBy", "links"],
    },
    Spec {
        format: Format::AutopilotCsv,
        name: "Autopilot device CSV (Intune / Partner Center upload)",
        table: "devices",
        keys: &["Device Serial Number", "Windows Product ID", "Hardware Hash", "Group Tag", "Assigned User", "Manufacturer name", "Device model"],
    },
    Spec {
        format: Format::LighthouseDefinitions,
        name: "ARM Lighthouse `registrationDefinitions`",
        table: "lighthouse_authorizations",
        keys: &["id", "name", "type", "plan", "systemData", "description", "registrationDefinitionName", "managedByTenantId", "managedByTenantName", "manageeTenantId", "manageeTenantName", "provisioningState", "authorizations", "eligibleAuthorizations"],
    },
    Spec {
        format: Format::LighthouseAssignments,
        name: "ARM Lighthouse `registrationAssignments`",
        table: "lighthouse_delegations",
        keys: &["id", "name", "type", "systemData", "registrationDefinitionId", "provisioningState", "registrationDefinition"],
    },
    Spec {
        format: Format::AppRoleAssignments,
        name: "Graph `appRoleAssignments`",
        table: "app_permissions",
        keys: &["id", "appRoleId", "createdDateTime", "deletedDateTime", "principalDisplayName", "principalId", "principalType", "resourceDisplayName", "resourceId"],
    },
    Spec {
        format: Format::PermissionGrants,
        name: "Graph `oauth2PermissionGrants`",
        table: "app_permissions",
        keys: &["id", "clientId", "consentType", "principalId", "resourceId", "scope", "startTime", "expiryTime"],
    },
];

/// The spec of `f`.
pub(crate) fn spec(f: Format) -> &'static Spec {
    SPECS.iter().find(|s| s.format == f).unwrap_or(&SPECS[0])
}

/// The keys, item types and context of a file, for detection.
pub(crate) struct Shape {
    /// Lower-case keys with a value in at least one item.
    pub keys: BTreeSet<String>,
    /// Lower-case keys present in at least one item, `null` or not (Graph
    /// PowerShell keeps unselected properties as nulls).
    pub present: BTreeSet<String>,
    /// Item `@odata.type`s, short and lower-case (`user`, `delegatedadminrelationship`).
    pub types: BTreeSet<String>,
    /// The first `@odata.context` fragment after `$metadata#`, lower-case.
    pub context: Option<String>,
}

impl Shape {
    /// The shape of a parsed file.
    pub fn of(body: &Body) -> Shape {
        let mut keys = BTreeSet::new();
        let mut present = BTreeSet::new();
        let mut types = BTreeSet::new();
        for item in &body.items {
            for (lower, _, has) in item.obj.keys() {
                if lower.starts_with("@odata.") {
                    continue;
                }
                if has {
                    keys.insert(lower.to_owned());
                }
                present.insert(lower.to_owned());
            }
            if let Some(t) = item.obj.odata_type() {
                types.insert(t);
            }
        }
        if let Some(h) = &body.csv_header {
            keys.extend(h.iter().map(|c| c.to_ascii_lowercase()));
        }
        let context = body.contexts.first().map(|c| {
            let frag = c.rsplit_once("$metadata#").map_or(c.as_str(), |(_, f)| f);
            frag.to_ascii_lowercase()
        });
        Shape {
            keys,
            present,
            types,
            context,
        }
    }

    fn has(&self, k: &str) -> bool {
        self.keys.contains(k)
    }

    fn any(&self, ks: &[&str]) -> bool {
        ks.iter().any(|k| self.has(k))
    }
}

/// Directory object types a principal listing may hold.
pub(crate) const DIRECTORY_TYPES: &[&str] = &[
    "user",
    "group",
    "serviceprincipal",
    "device",
    "orgcontact",
    "directoryobject",
];

/// Recognises a file's format from its shape, or `None`.
pub(crate) fn detect(s: &Shape, csv: bool) -> Option<Format> {
    if csv {
        if s.has("device serial number") {
            return Some(Format::AutopilotCsv);
        }
        if s.has("userprincipalname") && s.any(&["objectid", "id"]) {
            return Some(Format::DirectoryObjects);
        }
        return None;
    }
    by_type(s).or_else(|| by_context(s)).or_else(|| by_keys(s))
}

fn by_type(s: &Shape) -> Option<Format> {
    let f = s.types.iter().find_map(|t| {
        Some(match t.as_str() {
            "delegatedadminrelationship" | "resellerdelegatedadminrelationship" => {
                Format::GdapRelationships
            }
            "delegatedadminaccessassignment" => Format::GdapAccessAssignments,
            "delegatedadmincustomer" => Format::GraphDelegatedAdminCustomers,
            "contract" => Format::Contracts,
            "windowsautopilotdeviceidentity" => Format::AutopilotDevices,
            "directoryrole" => Format::DirectoryRoles,
            "unifiedroleassignment" => Format::DirectoryRoleAssignments,
            "unifiedroledefinition" => Format::RoleDefinitions,
            "organization" => Format::Organization,
            "approleassignment" => Format::AppRoleAssignments,
            "oauth2permissiongrant" => Format::PermissionGrants,
            t if t.contains("autopilotdeploymentprofile") => Format::AutopilotProfiles,
            t if DIRECTORY_TYPES.contains(&t) => Format::DirectoryObjects,
            _ => return None,
        })
    })?;
    // A `delegatedAdminCustomers` item of the DAP-era Partner Center API.
    if f == Format::GraphDelegatedAdminCustomers && s.any(&["dapenabled", "customertenantid"]) {
        return Some(Format::PcDelegatedAdminCustomers);
    }
    Some(f)
}

fn by_context(s: &Shape) -> Option<Format> {
    let c = s.context.as_deref()?;
    // `servicePrincipals('id')/appRoleAssignments`: the navigation, not the entity set.
    if c.contains("/approleassign") {
        return Some(Format::AppRoleAssignments);
    }
    if c.contains("oauth2permissiongrants") {
        return Some(Format::PermissionGrants);
    }
    // `users(displayName,accountEnabled)`, `users/$entity`, `groups('id')/members`.
    let c = c
        .split('(')
        .next()
        .unwrap_or(c)
        .trim_end_matches("/$entity");
    let last = c.rsplit('/').next().unwrap_or(c);
    Some(match last {
        _ if c.contains("accessassignments") => Format::GdapAccessAssignments,
        "delegatedadminrelationships" => Format::GdapRelationships,
        "delegatedadmincustomers" if s.any(&["dapenabled", "customertenantid"]) => {
            Format::PcDelegatedAdminCustomers
        }
        "delegatedadmincustomers" => Format::GraphDelegatedAdminCustomers,
        "contracts" => Format::Contracts,
        "users" | "groups" | "serviceprincipals" | "directoryobjects" | "members"
        | "transitivemembers" => Format::DirectoryObjects,
        "directoryroles" => Format::DirectoryRoles,
        "roleassignments" if c.contains("rolemanagement") => Format::DirectoryRoleAssignments,
        "roledefinitions" => Format::RoleDefinitions,
        "organization" => Format::Organization,
        "windowsautopilotdeviceidentities" => Format::AutopilotDevices,
        "windowsautopilotdeploymentprofiles" => Format::AutopilotProfiles,
        "approleassignments" | "approleassignedto" => Format::AppRoleAssignments,
        "oauth2permissiongrants" => Format::PermissionGrants,
        _ => return None,
    })
}

fn by_keys(s: &Shape) -> Option<Format> {
    let f = if s.has("managedbytenantid") && s.any(&["authorizations", "eligibleauthorizations"]) {
        Format::LighthouseDefinitions
    } else if s.has("registrationdefinitionid") {
        Format::LighthouseAssignments
    } else if s.has("approleid") && s.has("resourceid") {
        Format::AppRoleAssignments
    } else if s.has("clientid") && s.has("consenttype") {
        Format::PermissionGrants
    } else if s.has("accesscontainer") {
        Format::GdapAccessAssignments
    } else if s.has("accessdetails") && s.any(&["customer", "duration", "autoextendduration"]) {
        Format::GdapRelationships
    } else if s.has("contracttype") && s.has("customerid") {
        Format::Contracts
    } else if s.has("customertenantid")
        && s.any(&["dapenabled", "partneragentcount", "organizationdisplayname"])
    {
        Format::PcDelegatedAdminCustomers
    } else if s.has("companyprofile") || s.has("relationshiptopartner") {
        Format::PcCustomers
    } else if s.has("verifieddomains") {
        Format::Organization
    } else if s.has("serialnumber")
        && s.any(&[
            "uploadeddate",
            "oemmanufacturername",
            "modelname",
            "hardwarehash",
            "policies",
            "allowedoperations",
        ])
    {
        Format::PcDevices
    } else if s.has("serialnumber") {
        Format::AutopilotDevices
    } else if s.any(&[
        "outofboxexperiencesettings",
        "devicenametemplate",
        "extracthardwarehash",
    ]) {
        Format::AutopilotProfiles
    } else if s.has("roletemplateid") && !s.has("principalid") {
        Format::DirectoryRoles
    } else if s.has("rolepermissions") || (s.has("isbuiltin") && s.has("templateid")) {
        Format::RoleDefinitions
    } else if (s.has("roledefinitionid") || s.has("roledefinitionname")) && s.has("scope") {
        Format::ArmRoleAssignments
    } else if s.has("principalid") && s.has("roledefinitionid") {
        Format::DirectoryRoleAssignments
    } else if s.has("subscriptionid") && s.has("displayname")
        || s.any(&["tenantid", "hometenantid"])
            && s.has("name")
            && s.any(&[
                "isdefault",
                "cloudname",
                "environmentname",
                "user",
                "state",
                "hometenantid",
            ])
    {
        Format::Subscriptions
    } else if s.has("tenantid") && s.has("displayname") && !s.has("userprincipalname") {
        Format::GraphDelegatedAdminCustomers
    } else if [
        "userprincipalname",
        "securityenabled",
        "mailenabled",
        "grouptypes",
        "mailnickname",
        "appid",
        "serviceprincipaltype",
    ]
    .iter()
    .any(|k| s.present.contains(*k))
        || (s.any(&["id", "objectid"])
            && s.any(&["displayname", "mail"])
            && s.keys.iter().all(|k| known(Format::DirectoryObjects, k)))
    {
        Format::DirectoryObjects
    } else {
        return None;
    };
    Some(f)
}

/// True when `key` (lower-case) is one of `f`'s documented keys.
fn known(f: Format, key: &str) -> bool {
    spec(f).keys.iter().any(|k| k.eq_ignore_ascii_case(key))
}

/// Keys too common to suggest a format by themselves.
const GENERIC: &[&str] = &[
    "id",
    "name",
    "displayName",
    "description",
    "type",
    "state",
    "status",
];

/// Up to three formats the shape resembles most, with the keys it shares
/// with each (Jaccard overlap of key sets, best first).
pub(crate) fn resemblance(s: &Shape) -> Vec<(&'static Spec, Vec<&'static str>)> {
    let mut scored: Vec<(f64, &'static Spec, Vec<&'static str>)> = SPECS
        .iter()
        .filter_map(|spec| {
            let shared: Vec<&'static str> = spec
                .keys
                .iter()
                .copied()
                .filter(|k| s.keys.contains(&k.to_ascii_lowercase()))
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect();
            if shared.iter().all(|k| GENERIC.contains(k)) {
                return None;
            }
            let union = spec.keys.len() + s.keys.len() - shared.len();
            let score = shared.len() as f64 / union.max(1) as f64;
            Some((score, spec, shared))
        })
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.name.cmp(b.1.name)));
    scored.into_iter().take(3).map(|(_, s, k)| (s, k)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::import::source::parse_json;

    fn fmt(json: &str) -> Option<Format> {
        let body = parse_json(json, "f").expect("json");
        detect(&Shape::of(&body), false)
    }

    #[test]
    fn recognises_by_type_context_and_keys() {
        assert_eq!(
            fmt(
                r##"[{"@odata.type":"#microsoft.graph.resellerDelegatedAdminRelationship","id":"x"}]"##
            ),
            Some(Format::GdapRelationships)
        );
        assert_eq!(
            fmt(
                r#"{"@odata.context":"https://graph.microsoft.com/v1.0/$metadata#users(displayName)","value":[]}"#
            ),
            Some(Format::DirectoryObjects)
        );
        assert_eq!(
            fmt(
                r#"[{"principalName":"","roleDefinitionName":"Owner","scope":"/subscriptions/x","principalId":"p","roleDefinitionId":"r"}]"#
            ),
            Some(Format::ArmRoleAssignments)
        );
        assert_eq!(
            fmt(r#"[{"id":"r","principalId":"p","roleDefinitionId":"d","directoryScopeId":"/"}]"#),
            Some(Format::DirectoryRoleAssignments)
        );
        assert_eq!(
            fmt(
                r#"[{"cloudName":"AzureCloud","id":"s","isDefault":true,"name":"n","state":"Enabled","tenantId":"t"}]"#
            ),
            Some(Format::Subscriptions)
        );
        assert_eq!(
            fmt(r#"{"value":[{"customerTenantId":"t","dapEnabled":true}]}"#),
            Some(Format::PcDelegatedAdminCustomers)
        );
        assert_eq!(fmt(r#"[{"colour":"red"}]"#), None);
    }

    #[test]
    fn resemblance_ranks_by_shared_keys() {
        let body = parse_json(
            r#"[{"principalId":"p","roleDefinitionId":"r","foo":1}]"#,
            "f",
        )
        .expect("json");
        let s = Shape::of(&body);
        let r = resemblance(&s);
        assert!(!r.is_empty());
        assert!(r.len() <= 3);
        assert!(r.iter().any(
            |(spec, keys)| spec.format == Format::DirectoryRoleAssignments
                && keys.contains(&"principalId")
        ));
    }
}
