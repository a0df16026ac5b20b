//! The `cross_tenant_access` table: a customer's cross-tenant access
//! settings (Graph `policies/crossTenantAccessPolicy/default` and
//! `/partners`), one row per entry.
//!
//! A row without `partner_tenant_id` is the customer's default entry; a row
//! with one is the entry for that partner tenant. In a partner entry an empty
//! cell is Graph's `null`: the value is inherited from the default entry
//! (resolved by [`CrossTenantAccess::resolve`], never here), so "empty" and
//! `false` stay apart.

use super::model::{Guid, InboundAccess, Loc};
use super::tables::{cross_tenant_access::*, Row};

/// One cross-tenant access settings entry of a customer.
#[derive(Clone, Debug, PartialEq)]
pub struct CrossTenantAccess {
    pub loc: Loc,
    /// The customer whose policy this is.
    pub tenant_id: Guid,
    /// The partner tenant the entry is for; `None` = the default entry.
    pub partner_tenant_id: Option<Guid>,
    /// `isServiceProvider` (partner entries only).
    pub is_service_provider: Option<bool>,
    /// `inboundTrust.isMfaAccepted`.
    pub inbound_mfa_accepted: Option<bool>,
    /// `inboundTrust.isCompliantDeviceAccepted`.
    pub inbound_compliant_device_accepted: Option<bool>,
    /// `inboundTrust.isHybridAzureADJoinedDeviceAccepted`.
    pub inbound_hybrid_joined_device_accepted: Option<bool>,
    /// `automaticUserConsentSettings.inboundAllowed`.
    pub automatic_redemption_inbound: Option<bool>,
    /// `b2bCollaborationInbound`, summarised.
    pub b2b_collaboration_inbound: Option<InboundAccess>,
    /// `b2bDirectConnectInbound`, summarised.
    pub b2b_direct_connect_inbound: Option<InboundAccess>,
    /// `identitySynchronization.userSyncInbound.isSyncAllowed`.
    pub user_sync_inbound: Option<bool>,
}

/// Where an effective setting comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// The partner's own entry.
    Partner,
    /// Inherited from the customer's default entry.
    Default,
    /// Neither entry sets it: Microsoft's service default.
    ServiceDefault,
}

impl Source {
    /// How evidence names it.
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Partner => "partner entry",
            Source::Default => "default entry",
            Source::ServiceDefault => "service default",
        }
    }
}

/// One effective setting and where it came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Effective<T> {
    pub value: T,
    pub source: Source,
}

/// A partner tenant's effective inbound settings in one customer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Resolved {
    pub mfa_accepted: Effective<bool>,
    pub compliant_device_accepted: Effective<bool>,
    pub hybrid_joined_device_accepted: Effective<bool>,
    pub automatic_redemption_inbound: Effective<bool>,
    pub b2b_collaboration_inbound: Effective<InboundAccess>,
    pub b2b_direct_connect_inbound: Effective<InboundAccess>,
    pub user_sync_inbound: Effective<bool>,
}

fn pick<T: Copy>(partner: Option<T>, default: Option<T>, service: T) -> Effective<T> {
    match (partner, default) {
        (Some(value), _) => Effective {
            value,
            source: Source::Partner,
        },
        (None, Some(value)) => Effective {
            value,
            source: Source::Default,
        },
        (None, None) => Effective {
            value: service,
            source: Source::ServiceDefault,
        },
    }
}

impl CrossTenantAccess {
    /// The effective settings for a partner tenant: its entry's values
    /// (`partner`, none when it has no entry), else the default entry's
    /// (`default`), else Microsoft's service defaults (no inbound trust, no
    /// automatic redemption, B2B collaboration allowed, B2B direct connect
    /// blocked, no inbound user synchronisation).
    pub fn resolve(
        partner: Option<&CrossTenantAccess>,
        default: Option<&CrossTenantAccess>,
    ) -> Resolved {
        let p = |f: fn(&CrossTenantAccess) -> Option<bool>| partner.and_then(f);
        let d = |f: fn(&CrossTenantAccess) -> Option<bool>| default.and_then(f);
        let both =
            |f: fn(&CrossTenantAccess) -> Option<bool>, service: bool| pick(p(f), d(f), service);
        let access = |f: fn(&CrossTenantAccess) -> Option<InboundAccess>, service| {
            pick(partner.and_then(f), default.and_then(f), service)
        };
        Resolved {
            mfa_accepted: both(|x| x.inbound_mfa_accepted, false),
            compliant_device_accepted: both(|x| x.inbound_compliant_device_accepted, false),
            hybrid_joined_device_accepted: both(|x| x.inbound_hybrid_joined_device_accepted, false),
            automatic_redemption_inbound: both(|x| x.automatic_redemption_inbound, false),
            b2b_collaboration_inbound: access(
                |x| x.b2b_collaboration_inbound,
                InboundAccess::Allowed,
            ),
            b2b_direct_connect_inbound: access(
                |x| x.b2b_direct_connect_inbound,
                InboundAccess::Blocked,
            ),
            user_sync_inbound: both(|x| x.user_sync_inbound, false),
        }
    }
}

/// Builds a `cross_tenant_access` row (every column read first, so that
/// every bad value is reported).
pub(crate) fn build(r: &mut Row<'_>) -> Option<CrossTenantAccess> {
    let tenant_id = r.guid(TENANT_ID);
    let partner_tenant_id = r.guid(PARTNER_TENANT_ID);
    let is_service_provider = r.boolean(IS_SERVICE_PROVIDER);
    let inbound_mfa_accepted = r.boolean(INBOUND_MFA_ACCEPTED);
    let inbound_compliant_device_accepted = r.boolean(INBOUND_COMPLIANT_DEVICE_ACCEPTED);
    let inbound_hybrid_joined_device_accepted = r.boolean(INBOUND_HYBRID_JOINED_DEVICE_ACCEPTED);
    let automatic_redemption_inbound = r.boolean(AUTOMATIC_REDEMPTION_INBOUND);
    let b2b_collaboration_inbound = r.vocab(
        B2B_COLLABORATION_INBOUND,
        InboundAccess::parse,
        InboundAccess::ALL,
    );
    let b2b_direct_connect_inbound = r.vocab(
        B2B_DIRECT_CONNECT_INBOUND,
        InboundAccess::parse,
        InboundAccess::ALL,
    );
    let user_sync_inbound = r.boolean(USER_SYNC_INBOUND);
    let tenant_id = tenant_id?;
    if partner_tenant_id == Some(tenant_id) {
        r.error(
            PARTNER_TENANT_ID,
            format!("partner_tenant_id `{tenant_id}` is the customer tenant itself"),
            Some("another tenant's id, or empty for the default entry".into()),
        );
        return None;
    }
    Some(CrossTenantAccess {
        loc: r.loc,
        tenant_id,
        partner_tenant_id,
        is_service_provider,
        inbound_mfa_accepted,
        inbound_compliant_device_accepted,
        inbound_hybrid_joined_device_accepted,
        automatic_redemption_inbound,
        b2b_collaboration_inbound,
        b2b_direct_connect_inbound,
        user_sync_inbound,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(partner: Option<u128>) -> CrossTenantAccess {
        CrossTenantAccess {
            loc: Loc::default(),
            tenant_id: Guid::from_u128(1),
            partner_tenant_id: partner.map(Guid::from_u128),
            is_service_provider: None,
            inbound_mfa_accepted: None,
            inbound_compliant_device_accepted: None,
            inbound_hybrid_joined_device_accepted: None,
            automatic_redemption_inbound: None,
            b2b_collaboration_inbound: None,
            b2b_direct_connect_inbound: None,
            user_sync_inbound: None,
        }
    }

    /// Validates that a null partner value inherits the default entry's, a
    /// set one (even `false`) wins, and service defaults fill the rest.
    #[test]
    fn null_inherits_the_default_and_false_does_not() {
        let mut default = entry(None);
        default.inbound_mfa_accepted = Some(true);
        default.automatic_redemption_inbound = Some(true);
        let mut partner = entry(Some(2));
        partner.automatic_redemption_inbound = Some(false);
        let r = CrossTenantAccess::resolve(Some(&partner), Some(&default));
        assert_eq!(
            r.mfa_accepted,
            Effective {
                value: true,
                source: Source::Default
            }
        );
        assert_eq!(
            r.automatic_redemption_inbound,
            Effective {
                value: false,
                source: Source::Partner
            }
        );
        assert_eq!(r.user_sync_inbound.source, Source::ServiceDefault);
        assert!(!r.user_sync_inbound.value);
        assert_eq!(r.b2b_direct_connect_inbound.value, InboundAccess::Blocked);
        let none = CrossTenantAccess::resolve(None, Some(&default));
        assert_eq!(none.mfa_accepted.source, Source::Default);
        assert!(none.mfa_accepted.value);
    }
}
