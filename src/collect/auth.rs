//! Tokens for every (tenant, API) pair `collect` reads, through the `oauth2`
//! crate (client credentials with a secret or a certificate assertion, the
//! device code flow, refresh tokens) or the Azure CLI.
//!
//! GDAP access for an app is a client-credentials token requested from the
//! customer tenant's own authority, `{login}/{customerTenantId}/oauth2/v2.0/token`;
//! a person signed in with the device code gets customer tokens by
//! redeeming their refresh token at the customer's authority. Tokens and
//! secrets live in memory only: never written, logged or reported.

use std::collections::HashMap;

use serde::Deserialize as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use oauth2::basic::{
    BasicErrorResponse, BasicRevocationErrorResponse, BasicTokenIntrospectionResponse,
    BasicTokenType,
};
use oauth2::{AccessToken, StandardRevocableToken};
use oauth2::{
    AuthType, ClientId, ClientSecret, DeviceAuthorizationUrl, RefreshToken, RequestTokenError,
    Scope, StandardDeviceAuthorizationResponse, TokenResponse, TokenUrl,
};

use super::config::Api;
use super::http::{Failure, Http, TokenSource};
use crate::snapshot::Guid;

/// A token response as the Microsoft identity platform sends it, read
/// leniently: `expires_in` as a number (v2.0 endpoint) or a string (v1.0,
/// and some proxies), and `token_type` optional (it is always `Bearer`).
#[derive(Debug, serde::Deserialize, serde::Serialize)]
pub struct EntraToken {
    access_token: AccessToken,
    #[serde(default = "bearer")]
    token_type: BasicTokenType,
    #[serde(default, deserialize_with = "seconds")]
    expires_in: Option<u64>,
    #[serde(default)]
    refresh_token: Option<RefreshToken>,
    #[serde(skip)]
    scopes: Option<Vec<Scope>>,
}

fn bearer() -> BasicTokenType {
    BasicTokenType::Bearer
}

fn seconds<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    let v = Option::<serde_json::Value>::deserialize(d)?;
    Ok(v.and_then(|v| {
        v.as_u64()
            .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
    }))
}

impl TokenResponse for EntraToken {
    type TokenType = BasicTokenType;
    fn access_token(&self) -> &AccessToken {
        &self.access_token
    }
    fn token_type(&self) -> &BasicTokenType {
        &self.token_type
    }
    fn expires_in(&self) -> Option<Duration> {
        self.expires_in.map(Duration::from_secs)
    }
    fn refresh_token(&self) -> Option<&RefreshToken> {
        self.refresh_token.as_ref()
    }
    fn scopes(&self) -> Option<&Vec<Scope>> {
        self.scopes.as_ref()
    }
}

/// The `oauth2` client with [`EntraToken`] responses.
type EntraClient = oauth2::Client<
    BasicErrorResponse,
    EntraToken,
    BasicTokenIntrospectionResponse,
    StandardRevocableToken,
    BasicRevocationErrorResponse,
>;

/// How `collect` signs in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    ClientSecret,
    ClientCertificate,
    DeviceCode,
    AzureCli,
}

/// The credential, loaded once. Holds secrets: no `Debug`.
pub enum Credential {
    Secret {
        client_id: String,
        secret: ClientSecret,
    },
    Certificate {
        client_id: String,
        key: jsonwebtoken::EncodingKey,
        x5t: String,
        x5t_s256: String,
    },
    DeviceCode {
        client_id: String,
    },
    AzureCli,
}

impl Credential {
    pub fn method(&self) -> Method {
        match self {
            Credential::Secret { .. } => Method::ClientSecret,
            Credential::Certificate { .. } => Method::ClientCertificate,
            Credential::DeviceCode { .. } => Method::DeviceCode,
            Credential::AzureCli => Method::AzureCli,
        }
    }
}

/// Reads a PEM file holding the certificate and its private key.
pub fn load_certificate(client_id: String, path: &Path) -> Result<Credential, String> {
    let shown = path.display();
    let bytes = std::fs::read(path)
        .map_err(|e| format!("cannot read certificate `{shown}`: {}", e.kind()))?;
    let blocks = pem::parse_many(&bytes).map_err(|_| {
        format!("`{shown}`: not a PEM file (expected the certificate and its private key)")
    })?;
    let cert = blocks
        .iter()
        .find(|b| b.tag() == "CERTIFICATE")
        .ok_or_else(|| format!("`{shown}`: no `CERTIFICATE` block (expected the certificate and its private key in one PEM file)"))?;
    let key = blocks
        .iter()
        .find(|b| b.tag() == "PRIVATE KEY" || b.tag() == "RSA PRIVATE KEY")
        .ok_or_else(|| format!("`{shown}`: no RSA `PRIVATE KEY` block (expected the certificate and its private key in one PEM file)"))?;
    let key = jsonwebtoken::EncodingKey::from_rsa_pem(pem::encode(key).as_bytes())
        .map_err(|_| format!("`{shown}`: the private key is not an RSA key"))?;
    let sha1 = ring::digest::digest(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY, cert.contents());
    let sha256 = ring::digest::digest(&ring::digest::SHA256, cert.contents());
    Ok(Credential::Certificate {
        client_id,
        key,
        x5t: b64url(sha1.as_ref()),
        x5t_s256: b64url(sha256.as_ref()),
    })
}

fn b64url(b: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}

enum Cached {
    Token {
        token: String,
        expires: Instant,
    },
    /// The sign-in failed: not asked again in this run (no hammering of the token endpoint).
    Refused(String),
}

type Slot = Arc<Mutex<Option<Cached>>>;

/// Issues and caches tokens for every tenant and API.
pub struct Authority<'h> {
    http: &'h Http,
    credential: Credential,
    /// The partner (or single) tenant the person signed in to.
    home: Guid,
    refresh: Mutex<Option<RefreshToken>>,
    cache: Mutex<HashMap<(Guid, Api), Slot>>,
}

/// Renewal margin before a token's expiry.
const MARGIN: Duration = Duration::from_secs(120);

impl<'h> Authority<'h> {
    pub fn new(http: &'h Http, credential: Credential, home: Guid) -> Authority<'h> {
        Authority {
            http,
            credential,
            home,
            refresh: Mutex::new(None),
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// Token source bound to one tenant.
    pub fn for_tenant(&self, tenant: Guid) -> TenantTokens<'_, 'h> {
        TenantTokens { auth: self, tenant }
    }

    /// A token for `tenant` and `api`; `stale` is a token the server just refused.
    pub fn token(&self, tenant: Guid, api: Api, stale: Option<&str>) -> Result<String, Failure> {
        let slot = {
            let mut c = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
            Arc::clone(c.entry((tenant, api)).or_default())
        };
        let mut slot = slot.lock().unwrap_or_else(PoisonError::into_inner);
        match slot.as_ref() {
            Some(Cached::Token { token, expires }) => {
                let refused = stale.is_some_and(|s| s == token);
                if !refused && *expires > Instant::now() + MARGIN {
                    return Ok(token.clone());
                }
            }
            Some(Cached::Refused(m)) => return Err(Failure::Token(m.clone())),
            None => {}
        }
        match self.fetch(tenant, api) {
            Ok((token, lifetime)) => {
                *slot = Some(Cached::Token {
                    token: token.clone(),
                    expires: Instant::now() + lifetime,
                });
                Ok(token)
            }
            Err(m) => {
                let m = format!("no {} token for tenant `{tenant}`: {m}", api.name());
                *slot = Some(Cached::Refused(m.clone()));
                Err(Failure::Token(m))
            }
        }
    }

    fn token_url(&self, tenant: Guid) -> String {
        format!("{}/{tenant}/oauth2/v2.0/token", self.http.endpoints.login)
    }

    fn fetch(&self, tenant: Guid, api: Api) -> Result<(String, Duration), String> {
        let scope = self.http.cloud.scope(api);
        let url = self.token_url(tenant);
        let token_url =
            TokenUrl::new(url.clone()).map_err(|_| format!("invalid token URL `{url}`"))?;
        let client = |req: oauth2::HttpRequest| self.call(req);
        let resp = match &self.credential {
            Credential::Secret { client_id, secret } => {
                EntraClient::new(ClientId::new(client_id.clone()))
                    .set_client_secret(secret.clone())
                    .set_auth_type(AuthType::RequestBody)
                    .set_token_uri(token_url)
                    .exchange_client_credentials()
                    .add_scope(Scope::new(scope))
                    .request(&client)
                    .map_err(token_error)?
            }
            Credential::Certificate {
                client_id,
                key,
                x5t,
                x5t_s256,
            } => {
                let assertion = client_assertion(client_id, &url, key, x5t, x5t_s256)?;
                EntraClient::new(ClientId::new(client_id.clone()))
                    .set_auth_type(AuthType::RequestBody)
                    .set_token_uri(token_url)
                    .exchange_client_credentials()
                    .add_scope(Scope::new(scope))
                    .add_extra_param(
                        "client_assertion_type",
                        "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                    )
                    .add_extra_param("client_assertion", assertion)
                    .request(&client)
                    .map_err(token_error)?
            }
            Credential::DeviceCode { client_id } => {
                let base = EntraClient::new(ClientId::new(client_id.clone()))
                    .set_auth_type(AuthType::RequestBody);
                let mut refresh = self.refresh.lock().unwrap_or_else(PoisonError::into_inner);
                if refresh.is_none() {
                    *refresh = Some(self.device_sign_in(client_id)?);
                }
                let Some(rt) = refresh.clone() else {
                    return Err("no refresh token from the device code sign-in".into());
                };
                let resp = base
                    .set_token_uri(token_url)
                    .exchange_refresh_token(&rt)
                    .add_scope(Scope::new(scope))
                    .request(&client)
                    .map_err(token_error)?;
                if let Some(new_rt) = resp.refresh_token() {
                    *refresh = Some(new_rt.clone());
                }
                resp
            }
            Credential::AzureCli => return azure_cli_token(&scope, tenant),
        };
        let lifetime = resp.expires_in().unwrap_or(Duration::from_secs(300));
        Ok((resp.access_token().secret().clone(), lifetime))
    }

    /// The device code flow against the home tenant; the person signs in in a browser.
    fn device_sign_in(&self, client_id: &str) -> Result<RefreshToken, String> {
        let login = &self.http.endpoints.login;
        let home = self.home;
        let device_url = format!("{login}/{home}/oauth2/v2.0/devicecode");
        let token_url = format!("{login}/{home}/oauth2/v2.0/token");
        let client = |req: oauth2::HttpRequest| self.call(req);
        let c = EntraClient::new(ClientId::new(client_id.to_owned()))
            .set_auth_type(AuthType::RequestBody)
            .set_device_authorization_url(
                DeviceAuthorizationUrl::new(device_url.clone())
                    .map_err(|_| format!("invalid device code URL `{device_url}`"))?,
            )
            .set_token_uri(
                TokenUrl::new(token_url.clone())
                    .map_err(|_| format!("invalid token URL `{token_url}`"))?,
            );
        let details: StandardDeviceAuthorizationResponse = c
            .exchange_device_code()
            .add_scope(Scope::new(self.http.cloud.scope(Api::Graph)))
            .add_scope(Scope::new("offline_access".into()))
            .request(&client)
            .map_err(token_error)?;
        eprintln!(
            "to sign in, open {} and enter the code {}",
            details.verification_uri().as_str(),
            details.user_code().secret()
        );
        let resp = c
            .exchange_device_access_token(&details)
            .request(&client, std::thread::sleep, Some(Duration::from_secs(900)))
            .map_err(token_error)?;
        resp.refresh_token().cloned().ok_or_else(|| {
            "the sign-in returned no refresh token (ask for `offline_access`)".into()
        })
    }

    /// The `oauth2` HTTP client: one request through the shared agent,
    /// retried on 429 and 5xx like every other request.
    fn call(&self, req: oauth2::HttpRequest) -> Result<oauth2::HttpResponse, AuthHttpError> {
        let max = self.http.limits.max_attempts.max(1);
        let mut attempt = 0;
        loop {
            attempt += 1;
            self.http
                .stats
                .requests
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let result = self.http.agent().run(req.clone()).and_then(|r| {
                let (parts, mut body) = r.into_parts();
                let bytes = body.with_config().limit(1024 * 1024).read_to_vec()?;
                Ok((parts, bytes))
            });
            let retry = match &result {
                Ok((parts, _)) => {
                    let s = parts.status.as_u16();
                    s == 429 || s >= 500
                }
                Err(_) => true,
            };
            if !retry || attempt >= max {
                let (parts, bytes) = result.map_err(|e| AuthHttpError(e.to_string()))?;
                return Ok(oauth2::HttpResponse::from_parts(parts, bytes));
            }
            std::thread::sleep(self.http.backoff(attempt));
        }
    }
}

/// The adapter's error: the transport's message (never a request body).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct AuthHttpError(String);

fn token_error<RE: std::error::Error + 'static, T: oauth2::ErrorResponse + 'static>(
    e: RequestTokenError<RE, T>,
) -> String {
    match e {
        RequestTokenError::ServerResponse(r) => {
            // Azure's errors are `{"error": "...", "error_description": "AADSTS…"}`.
            let v = serde_json::to_value(&r).unwrap_or_default();
            let code = v.get("error").and_then(|x| x.as_str()).unwrap_or("error");
            let desc = v
                .get("error_description")
                .and_then(|x| x.as_str())
                .map(|d| {
                    d.lines()
                        .next()
                        .unwrap_or(d)
                        .chars()
                        .take(300)
                        .collect::<String>()
                });
            match desc {
                Some(d) => format!("sign-in refused: {code}: {d}"),
                None => format!("sign-in refused: {code}"),
            }
        }
        RequestTokenError::Request(e) => format!("sign-in request failed: {e}"),
        RequestTokenError::Parse(_, _) => {
            "the token endpoint's answer is not a token response".into()
        }
        RequestTokenError::Other(m) => m,
    }
}

/// A signed client assertion (RFC 7523) for certificate credentials.
fn client_assertion(
    client_id: &str,
    audience: &str,
    key: &jsonwebtoken::EncodingKey,
    x5t: &str,
    x5t_s256: &str,
) -> Result<String, String> {
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
    header.x5t = Some(x5t.to_owned());
    header.x5t_s256 = Some(x5t_s256.to_owned());
    let now = jiff::Timestamp::now().as_second();
    let mut jti = [0u8; 16];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut jti)
        .map_err(|_| "no randomness for the client assertion".to_owned())?;
    let claims = serde_json::json!({
        "aud": audience,
        "iss": client_id,
        "sub": client_id,
        "jti": b64url(&jti),
        "nbf": now,
        "iat": now,
        "exp": now + 600,
    });
    jsonwebtoken::encode(&header, &claims, key)
        .map_err(|_| "cannot sign the client assertion".into())
}

/// A token from the Azure CLI (`az account get-access-token`), for a person already signed in with `az login`.
fn azure_cli_token(scope: &str, tenant: Guid) -> Result<(String, Duration), String> {
    let tenant = tenant.to_string();
    // On Windows the Azure CLI is a batch file.
    let program = if cfg!(windows) { "az.cmd" } else { "az" };
    let out = std::process::Command::new(program)
        .args([
            "account",
            "get-access-token",
            "--scope",
            scope,
            "--tenant",
            &tenant,
            "-o",
            "json",
        ])
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| {
            format!(
                "cannot run the Azure CLI `az`: {} (install it, or choose another `--auth`)",
                e.kind()
            )
        })?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        let line = err
            .lines()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("no message")
            .chars()
            .take(300)
            .collect::<String>();
        return Err(format!("`az account get-access-token` failed: {line}"));
    }
    let v: serde_json::Value = serde_json::from_slice(&out.stdout)
        .map_err(|_| "`az account get-access-token` did not print JSON".to_owned())?;
    let token = v
        .get("accessToken")
        .and_then(|t| t.as_str())
        .ok_or_else(|| "`az account get-access-token` printed no `accessToken`".to_owned())?;
    let now = jiff::Timestamp::now().as_second();
    let lifetime = v
        .get("expires_on")
        .and_then(|e| {
            e.as_i64()
                .or_else(|| e.as_str().and_then(|s| s.parse().ok()))
        })
        .map_or(300, |e| (e - now).max(0));
    Ok((
        token.to_owned(),
        Duration::from_secs(lifetime.unsigned_abs()),
    ))
}

/// Tokens of one tenant.
pub struct TenantTokens<'a, 'h> {
    auth: &'a Authority<'h>,
    pub tenant: Guid,
}

impl TokenSource for TenantTokens<'_, '_> {
    fn token(&self, api: Api, stale: Option<&str>) -> Result<String, Failure> {
        self.auth.token(self.tenant, api, stale)
    }
}

/// Where the credential comes from, for the summary line (never the secret).
pub fn describe(c: &Credential, cert_path: Option<&PathBuf>) -> String {
    match c {
        Credential::Secret { client_id, .. } => format!("client secret of app `{client_id}`"),
        Credential::Certificate { client_id, .. } => format!(
            "certificate{} of app `{client_id}`",
            cert_path
                .map(|p| format!(" `{}`", p.display()))
                .unwrap_or_default()
        ),
        Credential::DeviceCode { client_id } => {
            format!("device code sign-in with app `{client_id}`")
        }
        Credential::AzureCli => "the Azure CLI's signed-in account".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_responses_are_read_leniently() {
        let t: EntraToken =
            serde_json::from_str(r#"{"access_token": "x", "expires_in": "3599"}"#).expect("token");
        assert_eq!(t.expires_in(), Some(Duration::from_secs(3599)));
        assert_eq!(t.token_type(), &BasicTokenType::Bearer);
        let t: EntraToken = serde_json::from_str(
            r#"{"access_token": "x", "token_type": "bearer", "expires_in": 60, "refresh_token": "r"}"#,
        )
        .expect("token");
        assert_eq!(t.expires_in(), Some(Duration::from_secs(60)));
        assert_eq!(t.refresh_token().map(|r| r.secret().as_str()), Some("r"));
        assert!(serde_json::from_str::<EntraToken>(r#"{"expires_in": 60}"#).is_err());
    }
}
