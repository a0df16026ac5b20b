//! Where `collect` talks to: the login, Graph, ARM and Partner Center
//! endpoints of a cloud, and the token scopes that go with them.
//!
//! The endpoints can be overridden one by one (sovereign clouds, proxies,
//! test servers); a token's scope always stays the cloud's resource, so an
//! overridden endpoint receives the same tokens the real one would.

use std::time::Duration;

/// A Microsoft cloud and its well-known endpoints.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cloud {
    /// The public cloud.
    Public,
    /// Microsoft Cloud for US Government (GCC High).
    UsGov,
    /// Microsoft Azure operated by 21Vianet.
    China,
}

/// The four services `collect` reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Api {
    Graph,
    Arm,
    PartnerCenter,
}

impl Api {
    /// Short name used in messages.
    pub fn name(self) -> &'static str {
        match self {
            Api::Graph => "graph",
            Api::Arm => "arm",
            Api::PartnerCenter => "partner center",
        }
    }
}

/// Base URLs (no trailing slash).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoints {
    pub login: String,
    pub graph: String,
    pub arm: String,
    pub partner_center: String,
}

impl Cloud {
    /// The cloud's own endpoints.
    pub fn endpoints(self) -> Endpoints {
        let (login, graph, arm, pc) = match self {
            Cloud::Public => (
                "https://login.microsoftonline.com",
                "https://graph.microsoft.com",
                "https://management.azure.com",
                "https://api.partnercenter.microsoft.com",
            ),
            Cloud::UsGov => (
                "https://login.microsoftonline.us",
                "https://graph.microsoft.us",
                "https://management.usgovcloudapi.net",
                "https://api.partnercenter.microsoft.com",
            ),
            Cloud::China => (
                "https://login.chinacloudapi.cn",
                "https://microsoftgraph.chinacloudapi.cn",
                "https://management.chinacloudapi.cn",
                "https://partner.partnercenterapi.microsoftonline.cn",
            ),
        };
        Endpoints {
            login: login.into(),
            graph: graph.into(),
            arm: arm.into(),
            partner_center: pc.into(),
        }
    }

    /// The OAuth scope of an API in this cloud: its resource plus `/.default`.
    pub fn scope(self, api: Api) -> String {
        let d = self.endpoints();
        let resource = match api {
            Api::Graph => d.graph,
            Api::Arm => d.arm,
            Api::PartnerCenter => d.partner_center,
        };
        format!("{resource}/.default")
    }
}

impl Endpoints {
    /// The base URL of an API.
    pub fn base(&self, api: Api) -> &str {
        match api {
            Api::Graph => &self.graph,
            Api::Arm => &self.arm,
            Api::PartnerCenter => &self.partner_center,
        }
    }
}

/// Normalises a user-given endpoint: an absolute http(s) URL, no trailing slash.
pub fn endpoint(flag: &str, value: &str) -> Result<String, String> {
    let v = value.trim().trim_end_matches('/');
    let rest = v
        .strip_prefix("https://")
        .or_else(|| v.strip_prefix("http://"));
    match rest {
        Some(host) if !host.is_empty() && !host.contains(char::is_whitespace) => Ok(v.to_owned()),
        _ => Err(format!(
            "`{flag}`: `{value}` is not an endpoint URL (expected e.g. `https://graph.microsoft.com`)"
        )),
    }
}

/// How hard to try and how much to run at once.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Requests in flight over the whole run.
    pub max_requests: usize,
    /// Requests in flight per tenant.
    pub per_tenant: usize,
    /// Per-request timeout.
    pub timeout: Duration,
    /// Attempts per request before the listing (and its tenant) fails.
    pub max_attempts: u32,
    /// First back-off step for 5xx and transport errors; doubles per attempt.
    pub backoff_base: Duration,
    /// Longest wait honoured from a `Retry-After` header.
    pub retry_after_cap: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_requests: 8,
            per_tenant: 4,
            timeout: Duration::from_secs(60),
            max_attempts: 6,
            backoff_base: Duration::from_secs(1),
            retry_after_cap: Duration::from_secs(120),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_stay_the_clouds_resource() {
        assert_eq!(
            Cloud::Public.scope(Api::PartnerCenter),
            "https://api.partnercenter.microsoft.com/.default"
        );
        assert_eq!(
            Cloud::UsGov.scope(Api::Graph),
            "https://graph.microsoft.us/.default"
        );
        assert_eq!(
            Cloud::China.scope(Api::Arm),
            "https://management.chinacloudapi.cn/.default"
        );
    }

    #[test]
    fn endpoints_are_checked_and_trimmed() {
        assert_eq!(
            endpoint("--graph-endpoint", "http://127.0.0.1:8080/").as_deref(),
            Ok("http://127.0.0.1:8080")
        );
        assert!(endpoint("--graph-endpoint", "graph.microsoft.com").is_err());
    }
}
