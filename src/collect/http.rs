//! HTTP with the habits of the Microsoft APIs: bounded concurrency (over the
//! run and per tenant), per-request timeouts, `Retry-After` on 429 and 503,
//! exponential back-off with jitter for other 5xx and transport errors, one
//! token refresh on 401, and the three paging styles (`@odata.nextLink`,
//! ARM `nextLink`, Partner Center `links.next` with a continuation header).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use rand::{Rng, SeedableRng};
use serde_json::Value;

use super::config::{Api, Cloud, Endpoints, Limits};

/// A counting semaphore (std only).
pub struct Semaphore {
    free: Mutex<usize>,
    cv: Condvar,
}

/// A held slot; released on drop.
pub struct Permit<'a>(&'a Semaphore);

impl Semaphore {
    pub fn new(n: usize) -> Semaphore {
        Semaphore {
            free: Mutex::new(n.max(1)),
            cv: Condvar::new(),
        }
    }

    pub fn acquire(&self) -> Permit<'_> {
        let mut free = self
            .free
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        while *free == 0 {
            free = self
                .cv
                .wait(free)
                .unwrap_or_else(std::sync::PoisonError::into_inner);
        }
        *free -= 1;
        Permit(self)
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        let mut free = self
            .0
            .free
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *free += 1;
        self.0.cv.notify_one();
    }
}

/// Counters shown by the progress line and the final summary.
#[derive(Default)]
pub struct Stats {
    pub requests: AtomicU64,
    pub retries: AtomicU64,
    pub throttled: AtomicU64,
    pub throttled_ms: AtomicU64,
}

/// Why a request (and so its listing) failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Failure {
    /// 401 after a fresh token, 403, or another refusal: access is missing.
    Refused(String),
    /// 400, 404, 405 or 410: the service does not offer this listing here.
    NotOffered(String),
    /// Still failing (5xx, throttling, network, malformed body) after every attempt.
    GaveUp(String),
    /// No token for this tenant and API.
    Token(String),
}

impl Failure {
    pub fn message(&self) -> &str {
        match self {
            Failure::Refused(m)
            | Failure::NotOffered(m)
            | Failure::GaveUp(m)
            | Failure::Token(m) => m,
        }
    }
}

/// Supplies bearer tokens; `stale` names a token the server refused, so a new one is fetched.
pub trait TokenSource: Sync {
    fn token(&self, api: Api, stale: Option<&str>) -> Result<String, Failure>;
}

/// The shared HTTP client.
pub struct Http {
    agent: ureq::Agent,
    global: Semaphore,
    pub limits: Limits,
    pub endpoints: Endpoints,
    pub cloud: Cloud,
    pub stats: Arc<Stats>,
    seed: AtomicU64,
}

/// The next page's URL and the headers it needs (Partner Center continuation).
pub type NextPage = (String, Vec<(String, String)>);

/// One fetched page.
pub struct Page {
    pub body: Vec<u8>,
    pub json: Value,
}

impl Http {
    pub fn new(limits: Limits, endpoints: Endpoints, cloud: Cloud) -> Http {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(limits.timeout))
            .user_agent(concat!("partner-audit/", env!("CARGO_PKG_VERSION")))
            .build()
            .into();
        let seed = Instant::now().elapsed().as_nanos() as u64
            ^ u64::from(std::process::id()).rotate_left(32)
            ^ std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos() as u64);
        Http {
            agent,
            global: Semaphore::new(limits.max_requests),
            limits,
            endpoints,
            cloud,
            stats: Arc::new(Stats::default()),
            seed: AtomicU64::new(seed),
        }
    }

    pub fn agent(&self) -> &ureq::Agent {
        &self.agent
    }

    /// A back-off delay for `attempt` (1-based): base × 2^(attempt-1), capped
    /// at 60 s, with jitter drawn from its upper half.
    pub fn backoff(&self, attempt: u32) -> Duration {
        let base = self.limits.backoff_base.as_millis() as u64;
        let full = base
            .saturating_mul(1u64 << (attempt.saturating_sub(1)).min(16))
            .min(60_000);
        let seed = self
            .seed
            .fetch_add(0x9e37_79b9_7f4a_7c15, Ordering::Relaxed);
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let ms = if full == 0 {
            0
        } else {
            rng.random_range(full / 2..=full)
        };
        Duration::from_millis(ms)
    }

    fn wait(&self, d: Duration, throttled: bool) {
        if throttled {
            self.stats.throttled.fetch_add(1, Ordering::Relaxed);
            self.stats
                .throttled_ms
                .fetch_add(d.as_millis() as u64, Ordering::Relaxed);
        }
        self.stats.retries.fetch_add(1, Ordering::Relaxed);
        std::thread::sleep(d);
    }

    /// GET one page as JSON, with retries; `tenant_slots` bounds this tenant's requests.
    pub fn get(
        &self,
        api: Api,
        url: &str,
        headers: &[(String, String)],
        tokens: &dyn TokenSource,
        tenant_slots: &Semaphore,
    ) -> Result<Page, Failure> {
        let max = self.limits.max_attempts.max(1);
        let mut attempt = 0u32;
        let mut refreshed = false;
        let mut stale: Option<String> = None;
        loop {
            attempt += 1;
            let token = tokens.token(api, stale.as_deref())?;
            let result = {
                let _t = tenant_slots.acquire();
                let _g = self.global.acquire();
                self.stats.requests.fetch_add(1, Ordering::Relaxed);
                let mut req = self
                    .agent
                    .get(url)
                    .header("Authorization", &format!("Bearer {token}"))
                    .header("Accept", "application/json");
                for (k, v) in headers {
                    req = req.header(k.as_str(), v.as_str());
                }
                req.call().and_then(|mut r| {
                    let status = r.status().as_u16();
                    let retry_after = r
                        .headers()
                        .get("retry-after")
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_owned);
                    let body = r
                        .body_mut()
                        .with_config()
                        .limit(256 * 1024 * 1024)
                        .read_to_vec()?;
                    Ok((status, retry_after, body))
                })
            };
            let last = attempt >= max;
            let (status, retry_after, body) = match result {
                Ok(x) => x,
                Err(e) => {
                    let msg = format!("`{}`: {}", shown(url), transport_message(&e));
                    if last {
                        return Err(Failure::GaveUp(format!("{msg} (after {attempt} attempts)")));
                    }
                    self.wait(self.backoff(attempt), false);
                    continue;
                }
            };
            match status {
                200..=299 => match serde_json::from_slice::<Value>(strip_bom(&body)) {
                    Ok(json) if json.is_object() || json.is_array() => {
                        return Ok(Page { body, json })
                    }
                    Ok(_) | Err(_) => {
                        if last {
                            return Err(Failure::GaveUp(format!(
                                "`{}`: malformed response (not a JSON object) after {attempt} attempts",
                                shown(url)
                            )));
                        }
                        self.wait(self.backoff(attempt), false);
                    }
                },
                401 if !refreshed => {
                    // An expired or revoked token: fetch a new one once, without counting an attempt.
                    refreshed = true;
                    stale = Some(token);
                    attempt -= 1;
                }
                401 | 403 => {
                    return Err(Failure::Refused(format!(
                        "{} `{}`: {status} {}",
                        api.name(),
                        shown(url),
                        error_text(&body)
                    )))
                }
                400 | 404 | 405 | 410 => {
                    return Err(Failure::NotOffered(format!(
                        "{} `{}`: {status} {}",
                        api.name(),
                        shown(url),
                        error_text(&body)
                    )))
                }
                429 | 503 => {
                    if last {
                        return Err(Failure::GaveUp(format!(
                            "{} `{}`: still {status} after {attempt} attempts",
                            api.name(),
                            shown(url)
                        )));
                    }
                    let d = retry_after
                        .as_deref()
                        .and_then(parse_retry_after)
                        .map_or_else(
                            || self.backoff(attempt),
                            |d| d.min(self.limits.retry_after_cap),
                        );
                    self.wait(d, true);
                }
                408 | 500..=599 => {
                    if last {
                        return Err(Failure::GaveUp(format!(
                            "{} `{}`: still {status} after {attempt} attempts",
                            api.name(),
                            shown(url)
                        )));
                    }
                    self.wait(self.backoff(attempt), false);
                }
                _ => {
                    return Err(Failure::Refused(format!(
                        "{} `{}`: {status} {}",
                        api.name(),
                        shown(url),
                        error_text(&body)
                    )))
                }
            }
        }
    }

    /// The URL of the next page, if any, resolved against the API's endpoint.
    /// A link to another host is refused (it would receive the token),
    /// except the cloud's own host for this API, which maps to the configured endpoint.
    pub fn next_page(&self, api: Api, page: &Value) -> Result<Option<NextPage>, Failure> {
        let (link, headers) = match api {
            Api::Graph => (
                page.get("@odata.nextLink").and_then(Value::as_str),
                Vec::new(),
            ),
            Api::Arm => (page.get("nextLink").and_then(Value::as_str), Vec::new()),
            Api::PartnerCenter => {
                let next = page.get("links").and_then(|l| l.get("next"));
                let uri = next.and_then(|n| n.get("uri")).and_then(Value::as_str);
                let headers = next
                    .and_then(|n| n.get("headers"))
                    .and_then(Value::as_array)
                    .map(|hs| {
                        hs.iter()
                            .filter_map(|h| {
                                Some((
                                    h.get("key")?.as_str()?.to_owned(),
                                    h.get("value")?.as_str()?.to_owned(),
                                ))
                            })
                            .filter(|(k, _)| k.to_ascii_lowercase().starts_with("ms-"))
                            .collect()
                    })
                    .unwrap_or_default();
                (uri, headers)
            }
        };
        let Some(link) = link.filter(|l| !l.is_empty()) else {
            return Ok(None);
        };
        let base = self.endpoints.base(api);
        let own = self.cloud.endpoints();
        let canonical = own.base(api);
        let url = if let Some(path) = link.strip_prefix('/') {
            let path = if api == Api::PartnerCenter && !path.starts_with("v1/") {
                format!("v1/{path}")
            } else {
                path.to_owned()
            };
            format!("{base}/{path}")
        } else if same_origin(link, base) {
            link.to_owned()
        } else if same_origin(link, canonical) {
            format!("{base}{}", &link[origin_len(link)..])
        } else {
            return Err(Failure::GaveUp(format!(
                "{} next page link `{}` points to another host than `{base}`: not followed",
                api.name(),
                shown(link)
            )));
        };
        Ok(Some((url, headers)))
    }
}

fn strip_bom(b: &[u8]) -> &[u8] {
    b.strip_prefix(b"\xef\xbb\xbf").unwrap_or(b)
}

/// The length of `scheme://host[:port]` in a URL.
fn origin_len(url: &str) -> usize {
    let after = url.find("://").map_or(0, |i| i + 3);
    url[after..].find('/').map_or(url.len(), |i| after + i)
}

fn same_origin(url: &str, base: &str) -> bool {
    let n = origin_len(base);
    url.len() >= n
        && url[..n].eq_ignore_ascii_case(&base[..n])
        && url[n..].chars().next().is_none_or(|c| c == '/' || c == '?')
}

/// A URL for messages: path only, query cut (it may hold skip tokens).
pub fn shown(url: &str) -> String {
    let path = &url[origin_len(url).min(url.len())..];
    let path = path.split('?').next().unwrap_or(path);
    if path.is_empty() {
        "/".into()
    } else {
        path.to_owned()
    }
}

fn transport_message(e: &ureq::Error) -> String {
    match e {
        ureq::Error::Timeout(_) => "timed out".into(),
        ureq::Error::Io(io) => format!("network error: {}", io.kind()),
        other => {
            let s = other.to_string();
            s.chars().take(200).collect()
        }
    }
}

/// The `error.code` / `error.message` (Graph, ARM) or `description` (Partner Center) of an error body.
fn error_text(body: &[u8]) -> String {
    let v: Value = serde_json::from_slice(strip_bom(body)).unwrap_or(Value::Null);
    let e = v.get("error").unwrap_or(&v);
    let code = e.get("code").and_then(Value::as_str);
    let msg = e
        .get("message")
        .or_else(|| e.get("description"))
        .or_else(|| e.get("error_description"))
        .and_then(Value::as_str);
    let text = match (code, msg) {
        (Some(c), Some(m)) => format!("{c}: {m}"),
        (Some(c), None) => c.to_owned(),
        (None, Some(m)) => m.to_owned(),
        (None, None) => String::new(),
    };
    let text: String = text.chars().filter(|c| !c.is_control()).take(300).collect();
    if text.is_empty() {
        String::new()
    } else {
        format!("({text})")
    }
}

/// `Retry-After`: delay seconds or an HTTP date.
pub fn parse_retry_after(v: &str) -> Option<Duration> {
    let v = v.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = jiff::fmt::rfc2822::parse(v).ok()?.timestamp();
    let now = jiff::Timestamp::now();
    let d = now.until(when).ok()?.total(jiff::Unit::Millisecond).ok()?;
    Some(Duration::from_millis(if d > 0.0 { d as u64 } else { 0 }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_takes_seconds_and_dates() {
        assert_eq!(parse_retry_after("7"), Some(Duration::from_secs(7)));
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"),
            Some(Duration::ZERO)
        );
        let later = jiff::Timestamp::now() + jiff::SignedDuration::from_secs(30);
        let text =
            jiff::fmt::rfc2822::to_string(&later.to_zoned(jiff::tz::TimeZone::UTC)).expect("date");
        let d = parse_retry_after(&text).expect("parsed");
        assert!(
            d > Duration::from_secs(25) && d <= Duration::from_secs(30),
            "{d:?}"
        );
        assert_eq!(parse_retry_after("soon"), None);
    }

    #[test]
    fn backoff_doubles_with_jitter_and_is_capped() {
        let limits = Limits {
            backoff_base: Duration::from_millis(100),
            ..Limits::default()
        };
        let h = Http::new(limits, Cloud::Public.endpoints(), Cloud::Public);
        for _ in 0..20 {
            let d1 = h.backoff(1).as_millis();
            let d3 = h.backoff(3).as_millis();
            assert!((50..=100).contains(&d1), "{d1}");
            assert!((200..=400).contains(&d3), "{d3}");
            assert!(h.backoff(30) <= Duration::from_secs(60));
        }
    }

    #[test]
    fn next_links_stay_on_the_configured_host() {
        let mut ep = Cloud::Public.endpoints();
        ep.graph = "http://127.0.0.1:9".into();
        ep.partner_center = "http://127.0.0.1:9".into();
        let h = Http::new(Limits::default(), ep, Cloud::Public);
        let page =
            serde_json::json!({"@odata.nextLink": "http://127.0.0.1:9/v1.0/users?$skiptoken=2"});
        assert_eq!(
            h.next_page(Api::Graph, &page)
                .expect("ok")
                .map(|x| x.0)
                .as_deref(),
            Some("http://127.0.0.1:9/v1.0/users?$skiptoken=2")
        );
        let page = serde_json::json!({"@odata.nextLink": "https://graph.microsoft.com/v1.0/users?$skiptoken=2"});
        assert_eq!(
            h.next_page(Api::Graph, &page)
                .expect("ok")
                .map(|x| x.0)
                .as_deref(),
            Some("http://127.0.0.1:9/v1.0/users?$skiptoken=2")
        );
        let page = serde_json::json!({"@odata.nextLink": "https://evil.example/v1.0/users"});
        assert!(h.next_page(Api::Graph, &page).is_err());
        let page = serde_json::json!({"links": {"next": {"uri": "/customers?size=500&seekOperation=Next",
            "headers": [{"key": "MS-ContinuationToken", "value": "abc"}]}}});
        let (url, headers) = h
            .next_page(Api::PartnerCenter, &page)
            .expect("ok")
            .expect("next");
        assert_eq!(
            url,
            "http://127.0.0.1:9/v1/customers?size=500&seekOperation=Next"
        );
        assert_eq!(
            headers,
            vec![("MS-ContinuationToken".to_owned(), "abc".to_owned())]
        );
        assert_eq!(
            h.next_page(Api::Arm, &serde_json::json!({"value": []}))
                .expect("ok"),
            None
        );
    }
}
