//! Fetch stage: gets a source's bytes over HTTP(S) or from a `file:` URL, politely
//! (global and per-host limits, robots.txt, retries within one timeout). It does not
//! parse HTML beyond finding a meta charset, and it stores nothing.
//!
//! Timing: a fetch first queues for a slot on its host (`per_host`) and then for a
//! global slot (`concurrency`); that queueing is not charged to the request. Once both
//! slots are held, `Request::timeout` covers everything else — robots.txt, the spacing
//! between starts to one host, every attempt and every wait between attempts — so a
//! fetch holds its slots for at most its timeout and a run ends within the sum of its
//! timeouts (plus host spacing).

mod decode;
mod error;
mod guard;
mod hosts;
mod http;
mod retry;
mod robots;
mod shared;
#[cfg(test)]
mod tests;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;
use tracing::{debug, warn};
use url::Url;

pub use decode::{decode_html, decode_with_bom_first};
pub use error::FetchError;
pub use guard::{PrivateAddress, is_public};
pub use shared::{HostClaim, HostLimits};

use guard::AddressPolicy;
use hosts::{Host, Hosts};
use retry::{Deadline, Failure};

/// How the fetcher behaves; one value for a whole run.
#[derive(Debug, Clone)]
pub struct FetchSettings {
    /// The `User-Agent` header; its first word (before `/` or a space) is the robots.txt agent.
    pub user_agent: String,
    /// Requests in flight at once, over all hosts (at least 1).
    pub concurrency: usize,
    /// Requests in flight at once to one origin (at least 1).
    pub per_host: usize,
    /// Minimum time between the starts of two requests to one origin.
    pub host_delay: Duration,
    /// Longest wait for a TCP/TLS connection.
    pub connect_timeout: Duration,
    /// Largest accepted body, after decompression, in bytes.
    pub max_body: u64,
    /// Redirects followed before giving up.
    pub max_redirects: usize,
    /// Extra attempts after a connection error, a 5xx or a 429.
    pub retries: u32,
    /// First backoff step; step `n` waits a random time up to `backoff_base * 2^n`.
    pub backoff_base: Duration,
    /// Longest wait honoured from a `Retry-After` header (and longest backoff).
    pub retry_after_cap: Duration,
    /// Let pages, feeds and redirects lead to loopback, private and link-local
    /// addresses anywhere; by default only hosts the config names may be such
    /// addresses (see `guard`).
    pub allow_private: bool,
}

impl Default for FetchSettings {
    fn default() -> Self {
        FetchSettings {
            user_agent: default_user_agent(),
            concurrency: 8,
            per_host: 2,
            host_delay: Duration::from_millis(500),
            connect_timeout: Duration::from_secs(10),
            max_body: 10 * 1024 * 1024,
            max_redirects: 10,
            retries: 2,
            backoff_base: Duration::from_secs(1),
            retry_after_cap: Duration::from_secs(60),
            allow_private: false,
        }
    }
}

/// The user agent used when the config names none.
pub fn default_user_agent() -> String {
    format!("octofeed/{} (+https://github.com/octofeed/octofeed)", env!("CARGO_PKG_VERSION"))
}

/// One thing to fetch.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    /// `http:`, `https:` or `file:` (with an absolute path).
    pub url: &'a Url,
    /// Sent as `If-None-Match` (HTTP only).
    pub etag: Option<&'a str>,
    /// Sent as `If-Modified-Since` (HTTP only).
    pub last_modified: Option<&'a str>,
    /// Total time for this fetch, retries and waits included (HTTP only).
    pub timeout: Duration,
    /// Whether to obey the origin's robots.txt (HTTP only).
    pub robots: bool,
    /// Who named the URL: the config, or a page or feed that was fetched.
    pub origin: Origin,
}

/// Who named a URL. Only the config may name `file:` URLs, and its hosts are
/// the only ones that may be non-public addresses; a URL a page or feed gave
/// (a link, an article page, a next page) must be `http(s)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// The config file: a source's `url`.
    Config,
    /// A fetched page or feed.
    Page,
}

/// What a fetch gives back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fetched {
    /// The server answered `304 Not Modified` to our conditional request.
    NotModified,
    /// A fresh copy of the page.
    Page(Page),
}

/// A fetched body with the headers later stages need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    /// The final URL, after redirects; resolve relative links against it.
    pub url: Url,
    /// The body, decompressed but not decoded.
    pub bytes: Vec<u8>,
    /// The `Content-Type` header; `None` for `file:` URLs.
    pub content_type: Option<String>,
    /// The `ETag` header, to send back next time.
    pub etag: Option<String>,
    /// The `Last-Modified` header, to send back next time.
    pub last_modified: Option<String>,
}

impl Page {
    /// The body as text, decoded as [`decode_html`] does.
    pub fn text(&self) -> std::borrow::Cow<'_, str> {
        decode_html(&self.bytes, self.content_type.as_deref())
    }
}

/// Fetches pages; clones share one client, one set of limits and one robots cache.
#[derive(Clone)]
pub struct Fetcher {
    inner: Arc<Inner>,
}

struct Inner {
    client: reqwest::Client,
    settings: FetchSettings,
    /// The product token of the user agent, matched against robots.txt groups.
    robots_agent: String,
    global: Semaphore,
    hosts: Hosts,
    addresses: Arc<AddressPolicy>,
    /// Slots and turns shared with other workers on one store, when there are any.
    shared: Option<Arc<dyn HostLimits>>,
}

/// The shortest time worth starting another attempt with.
const MIN_ATTEMPT_TIME: Duration = Duration::from_millis(200);

impl Fetcher {
    /// A fetcher with its own HTTP client; fails only when the client cannot be built
    /// (such as a user agent that is not a valid header value).
    pub fn new(settings: FetchSettings) -> Result<Fetcher, FetchError> {
        let addresses = AddressPolicy::new(settings.allow_private);
        let client = http::client(&settings, &addresses)?;
        let inner = Inner {
            client,
            addresses,
            robots_agent: robots::agent_token(&settings.user_agent).to_owned(),
            global: Semaphore::new(settings.concurrency.max(1)),
            hosts: Hosts::new(settings.per_host.max(1), settings.host_delay),
            shared: None,
            settings,
        };
        Ok(Fetcher { inner: Arc::new(inner) })
    }

    /// Fetches one URL. HTTP(S) goes through the address rule, the limits,
    /// robots.txt and retries; `file:` (from the config only) just reads the file.
    pub async fn fetch(&self, req: &Request<'_>) -> Result<Fetched, FetchError> {
        match self.admit(req)? {
            Admitted::Web => self.inner.fetch_http(req).await,
            Admitted::LocalFile => read_file(req.url, self.inner.settings.max_body).await,
        }
    }

    /// This fetcher, also taking each origin's slots and turns from `limits`,
    /// which other workers share.
    pub fn sharing_host_limits(self, limits: Arc<dyn HostLimits>) -> Fetcher {
        let mut inner = Arc::try_unwrap(self.inner).unwrap_or_else(|_| panic!("a fetcher is shared before it is used"));
        inner.shared = Some(limits);
        Fetcher { inner: Arc::new(inner) }
    }

    /// The `User-Agent` every request sends (and the browser too).
    pub fn user_agent(&self) -> &str {
        &self.inner.settings.user_agent
    }

    /// Fetches one page through `browser`, with the same address rule,
    /// robots.txt and per-host limits and delay as [`Fetcher::fetch`] (for the
    /// page itself: what its scripts load is the browser's business). `file:`
    /// pages (from the config only) are rendered as they are.
    pub async fn render(
        &self,
        req: &Request<'_>,
        browser: &crate::browser::BrowserPool,
        how: &crate::browser::RenderRequest<'_>,
    ) -> Result<Fetched, FetchError> {
        let html = match self.admit(req)? {
            Admitted::Web => {
                let host = self.inner.hosts.get(req.url);
                let _host_slot = host.acquire().await;
                let _global_slot = self.inner.global.acquire().await.expect("the global semaphore is never closed");
                let _shared_slot = self.inner.shared_slot(req).await?;
                let deadline = Deadline::after(req.timeout);
                if req.robots && !self.inner.robots_allow(req.url, &host, &deadline).await {
                    return Err(FetchError::RobotsDisallowed { url: req.url.clone() });
                }
                host.wait_turn().await;
                browser.render(how).await?
            }
            Admitted::LocalFile => browser.render(how).await?,
        };
        Ok(Fetched::Page(rendered(req.url, html)))
    }

    /// Where `req` may go, by its scheme and who named it: the web, once the
    /// address rule allows its host (a host the config names is trusted), or a
    /// local file the config named; anything else is refused.
    fn admit(&self, req: &Request<'_>) -> Result<Admitted, FetchError> {
        match (req.url.scheme(), req.origin) {
            ("http" | "https", origin) => {
                if origin == Origin::Config {
                    self.inner.addresses.trust(req.url);
                }
                self.inner
                    .addresses
                    .check_url(req.url)
                    .map_err(|refused| FetchError::from_private(req.url, refused))?;
                Ok(Admitted::Web)
            }
            ("file", Origin::Config) => Ok(Admitted::LocalFile),
            ("file", Origin::Page) => Err(FetchError::LocalFileRefused { url: req.url.clone() }),
            _ => Err(FetchError::UnsupportedScheme { url: req.url.clone() }),
        }
    }
}

/// What [`Fetcher::admit`] lets a request reach.
enum Admitted {
    Web,
    LocalFile,
}

/// A rendered page as a fetched one: the browser's serialization of the DOM, UTF-8.
fn rendered(url: &Url, html: String) -> Page {
    Page {
        url: url.clone(),
        bytes: html.into_bytes(),
        content_type: Some("text/html; charset=utf-8".to_string()),
        etag: None,
        last_modified: None,
    }
}

impl Inner {
    async fn fetch_http(&self, req: &Request<'_>) -> Result<Fetched, FetchError> {
        let host = self.hosts.get(req.url);
        let _host_slot = host.acquire().await;
        let _global_slot = self.global.acquire().await.expect("the global semaphore is never closed");
        let _shared_slot = self.shared_slot(req).await?;
        let deadline = Deadline::after(req.timeout);
        match tokio::time::timeout_at(deadline.at(), self.fetch_within(req, &host, &deadline)).await {
            Ok(outcome) => outcome,
            Err(_) => Err(deadline.expired(req.url)),
        }
    }

    /// The origin's slot shared with other workers, if any. It is freed when
    /// the request ends; if this process dies first, when its hold ends: twice
    /// the request's timeout, so a request that a starved process lets run past
    /// its deadline still holds its slot.
    async fn shared_slot(&self, req: &Request<'_>) -> Result<Option<shared::SharedSlot<'_>>, FetchError> {
        let Some(limits) = &self.shared else { return Ok(None) };
        let politeness = (self.settings.per_host.max(1), self.settings.host_delay);
        Ok(Some(shared::wait_for_slot(&**limits, req.url, politeness, req.timeout * 2).await?))
    }

    async fn fetch_within(&self, req: &Request<'_>, host: &Host, deadline: &Deadline) -> Result<Fetched, FetchError> {
        if req.robots && !self.robots_allow(req.url, host, deadline).await {
            return Err(FetchError::RobotsDisallowed { url: req.url.clone() });
        }
        let mut attempt = 0;
        loop {
            host.wait_turn().await;
            let failure = match self.attempt(req, deadline).await {
                Ok(fetched) => return Ok(fetched),
                Err(failure) => failure,
            };
            let Some(wait) = self.retry_wait(&failure, attempt, deadline) else {
                return Err(failure.error);
            };
            attempt += 1;
            warn!(url = %req.url, error = %failure.error, attempt, wait_ms = wait.as_millis(), "retrying");
            tokio::time::sleep(wait).await;
        }
    }

    /// How long to wait before the next attempt, or `None` to give up now: after the
    /// last retry, on a permanent error, or when the wait would leave too little time.
    fn retry_wait(&self, failure: &Failure, attempt: u32, deadline: &Deadline) -> Option<Duration> {
        let settings = &self.settings;
        if attempt >= settings.retries || !failure.error.is_transient() {
            return None;
        }
        let wait = match failure.retry_after {
            Some(asked) => asked.min(settings.retry_after_cap),
            None => retry::backoff(settings.backoff_base, attempt, settings.retry_after_cap),
        };
        (wait + MIN_ATTEMPT_TIME <= deadline.remaining()).then_some(wait)
    }
}

/// Reads a `file:` URL, at most `max_body` bytes of it (`file:/dev/zero` never
/// ends); no robots or headers apply.
async fn read_file(url: &Url, max_body: u64) -> Result<Fetched, FetchError> {
    use tokio::io::AsyncReadExt;
    let file_error = |path: PathBuf, error| FetchError::File { url: url.clone(), path, error };
    let path = url.to_file_path().map_err(|()| {
        let error = std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a local file path");
        file_error(PathBuf::from(url.path()), error)
    })?;
    let file = tokio::fs::File::open(&path).await.map_err(|error| file_error(path.clone(), error))?;
    let mut bytes = Vec::new();
    file.take(max_body + 1).read_to_end(&mut bytes).await.map_err(|error| file_error(path.clone(), error))?;
    if bytes.len() as u64 > max_body {
        return Err(FetchError::TooLarge { url: url.clone(), limit: max_body });
    }
    debug!(url = %url, bytes = bytes.len(), "read file");
    Ok(Fetched::Page(Page { url: url.clone(), bytes, content_type: None, etag: None, last_modified: None }))
}
