//! Fetch stage: one HTTP exchange — the client, conditional headers, status handling
//! and a size-limited body read; retries and politeness are decided elsewhere.

use std::sync::Arc;

use chrono::Utc;
use reqwest::header::{
    CONTENT_TYPE, ETAG, HeaderMap, HeaderName, HeaderValue, IF_MODIFIED_SINCE, IF_NONE_MATCH, LAST_MODIFIED,
    RETRY_AFTER,
};
use reqwest::{Response, StatusCode, redirect};
use tokio::time::Instant;
use tracing::debug;
use url::Url;

use super::error::{RedirectRefused, TooManyRedirects, root_cause};
use super::guard::{AddressPolicy, GuardedResolver};
use super::retry::{self, Deadline, Failure};
use super::{FetchError, FetchSettings, Fetched, Inner, Page, Request};

/// The shared client: user agent, redirect rule, address rule, connect timeout, decompression.
pub(super) fn client(settings: &FetchSettings, addresses: &Arc<AddressPolicy>) -> Result<reqwest::Client, FetchError> {
    reqwest::Client::builder()
        .user_agent(&settings.user_agent)
        .redirect(redirect_policy(settings.max_redirects, Arc::clone(addresses)))
        .dns_resolver(GuardedResolver(Arc::clone(addresses)))
        .connect_timeout(settings.connect_timeout)
        .gzip(true)
        .brotli(true)
        .deflate(true)
        .build()
        .map_err(|error| FetchError::Setup { reason: root_cause(&error) })
}

/// Follows at most `limit` redirects, each to `http(s)` and to an address the
/// [`AddressPolicy`] permits; anything else ends the fetch with an error saying why.
fn redirect_policy(limit: usize, addresses: Arc<AddressPolicy>) -> redirect::Policy {
    redirect::Policy::custom(move |attempt| {
        if attempt.previous().len() > limit {
            return attempt.error(TooManyRedirects);
        }
        let to = attempt.url();
        if !matches!(to.scheme(), "http" | "https") {
            let refused = RedirectRefused { to: to.to_string() };
            return attempt.error(refused);
        }
        match addresses.check_url(to) {
            Ok(()) => attempt.follow(),
            Err(refused) => attempt.error(refused),
        }
    })
}

impl Inner {
    /// One attempt at `req`: `304` is `NotModified`, `2xx` a page, anything else a failure.
    pub(super) async fn attempt(&self, req: &Request<'_>, deadline: &Deadline) -> Result<Fetched, Failure> {
        let started = Instant::now();
        let response = self.send(req.url, conditional_headers(req), deadline).await?;
        let status = response.status();
        if status == StatusCode::NOT_MODIFIED {
            log_response(req.url, status, 0, started);
            return Ok(Fetched::NotModified);
        }
        if !status.is_success() {
            log_response(req.url, status, 0, started);
            if let Some(to) = unfollowed_redirect(&response) {
                return Err(Failure {
                    error: FetchError::RedirectRefused { url: req.url.clone(), to },
                    retry_after: None,
                });
            }
            return Err(status_failure(&response));
        }
        let page = self.read_page(response, deadline).await?;
        log_response(req.url, status, page.bytes.len(), started);
        Ok(Fetched::Page(page))
    }

    /// Sends a GET with the time left as reqwest's total timeout.
    pub(super) async fn send(
        &self,
        url: &Url,
        headers: HeaderMap,
        deadline: &Deadline,
    ) -> Result<Response, FetchError> {
        self.client
            .get(url.clone())
            .headers(headers)
            .timeout(deadline.remaining())
            .send()
            .await
            .map_err(|error| self.send_error(url, &error, deadline))
    }

    fn send_error(&self, url: &Url, error: &reqwest::Error, deadline: &Deadline) -> FetchError {
        if let Some(classified) = FetchError::classify(url, error) {
            return classified;
        }
        let url = url.clone();
        if error.is_redirect() {
            FetchError::TooManyRedirects { url, limit: self.settings.max_redirects }
        } else if error.is_connect() {
            let reason = root_cause(error);
            FetchError::Connect { url, reason }
        } else if error.is_timeout() {
            deadline.expired(&url)
        } else {
            let reason = root_cause(error);
            FetchError::Network { url, reason }
        }
    }

    async fn read_page(&self, response: Response, deadline: &Deadline) -> Result<Page, FetchError> {
        let url = response.url().clone();
        let headers = response.headers();
        let content_type = header_text(headers, &CONTENT_TYPE);
        let etag = header_text(headers, &ETAG);
        let last_modified = header_text(headers, &LAST_MODIFIED);
        let bytes = self.read_body(response, deadline).await?;
        Ok(Page { url, bytes, content_type, etag, last_modified })
    }

    /// Reads the body chunk by chunk, failing as soon as it passes `max_body`.
    pub(super) async fn read_body(&self, mut response: Response, deadline: &Deadline) -> Result<Vec<u8>, FetchError> {
        let limit = self.settings.max_body;
        let url = response.url().clone();
        let too_large = || FetchError::TooLarge { url: url.clone(), limit };
        if response.content_length().is_some_and(|length| length > limit) {
            return Err(too_large());
        }
        // Sized up front when the length is known: growing by doubling would hold up to twice the page.
        let announced = response.content_length().map_or(0, |length| length.min(limit) as usize);
        let mut bytes = Vec::with_capacity(announced);
        while let Some(chunk) = response.chunk().await.map_err(|error| body_error(&url, &error, deadline))? {
            if (bytes.len() + chunk.len()) as u64 > limit {
                return Err(too_large());
            }
            bytes.extend_from_slice(&chunk);
        }
        Ok(bytes)
    }
}

/// `If-None-Match` and `If-Modified-Since` from the previous fetch; a stored value
/// that is not a valid header is left out (the page is then fetched in full).
fn conditional_headers(req: &Request<'_>) -> HeaderMap {
    let mut headers = HeaderMap::new();
    let pairs = [(IF_NONE_MATCH, req.etag), (IF_MODIFIED_SINCE, req.last_modified)];
    for (name, value) in pairs {
        if let Some(value) = value.and_then(|value| HeaderValue::from_str(value).ok()) {
            headers.insert(name, value);
        }
    }
    headers
}

/// Where a redirect that came back unfollowed pointed: one the client could not
/// follow (a `Location` such as `file:///etc/passwd` is no HTTP address at all).
fn unfollowed_redirect(response: &Response) -> Option<String> {
    if !response.status().is_redirection() || response.status() == StatusCode::NOT_MODIFIED {
        return None;
    }
    header_text(response.headers(), &reqwest::header::LOCATION)
}

/// A non-success status, named with the URL that gave it (after redirects).
fn status_failure(response: &Response) -> Failure {
    let retry_after =
        header_text(response.headers(), &RETRY_AFTER).and_then(|value| retry::parse_retry_after(&value, Utc::now()));
    Failure { error: FetchError::Status { url: response.url().clone(), code: response.status().as_u16() }, retry_after }
}

fn body_error(url: &Url, error: &reqwest::Error, deadline: &Deadline) -> FetchError {
    if error.is_timeout() {
        return deadline.expired(url);
    }
    FetchError::Body { url: url.clone(), reason: root_cause(error) }
}

fn header_text(headers: &HeaderMap, name: &HeaderName) -> Option<String> {
    let value = headers.get(name)?.to_str().ok()?;
    Some(value.to_owned())
}

fn log_response(url: &Url, status: StatusCode, bytes: usize, started: Instant) {
    let ms = started.elapsed().as_millis();
    debug!(url = %url, status = status.as_u16(), bytes, ms, "fetched");
}
