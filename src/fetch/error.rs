//! Fetch stage: the ways a fetch can fail, each naming its URL; it does not decide
//! how long to wait before a retry.

use std::path::PathBuf;
use std::time::Duration;

use url::Url;

use super::guard::PrivateAddress;

/// Why a fetch failed. Messages are lowercase, name the URL and say what to do.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// A `fetch = "browser"` page could not be rendered.
    #[error(transparent)]
    Browser(Box<crate::browser::BrowserError>),
    /// No connection could be made (refused, DNS failure, connect timeout, TLS).
    #[error("could not connect to {url}: {reason}; check the URL and that the site is up")]
    Connect { url: Url, reason: String },
    /// The connection broke before a response came back.
    #[error("the request to {url} failed: {reason}; try again later")]
    Network { url: Url, reason: String },
    /// The whole fetch, retries included, took longer than the source's timeout.
    #[error("{url} did not answer within {after:?}; raise the source's `timeout` or try again later")]
    Timeout { url: Url, after: Duration },
    /// The server answered with an error status (after any retries).
    #[error("{url} answered with HTTP status {code}; check the URL (4xx) or try again later (5xx)")]
    Status { url: Url, code: u16 },
    /// The body passed `max_body` bytes.
    #[error(
        "the body of {url} is larger than the `max_body` limit of {limit} bytes; raise `site.max_body` or point the source at a smaller page"
    )]
    TooLarge { url: Url, limit: u64 },
    /// The server kept redirecting.
    #[error("{url} redirected more than {limit} times; check the URL for a redirect loop")]
    TooManyRedirects { url: Url, limit: usize },
    /// The site's robots.txt does not let our user agent read this URL.
    #[error("the robots.txt of {url} disallows it for octofeed; use a page the site lets crawlers read")]
    RobotsDisallowed { url: Url },
    /// The body could not be read to its end (connection cut, bad compression).
    #[error("could not read the body of {url}: {reason}; try again later")]
    Body { url: Url, reason: String },
    /// A `file:` URL could not be read.
    #[error("could not read {} (from {url}): {error}; check that the file exists", path.display())]
    File { url: Url, path: PathBuf, error: std::io::Error },
    /// The URL is neither `http:`, `https:` nor `file:`.
    #[error("{url} has an unsupported scheme; use http:, https: or file:")]
    UnsupportedScheme { url: Url },
    /// A page or feed named a `file:` URL; only the config may.
    #[error(
        "{url} was refused: a page or feed may not point octofeed at local files (only the config may name file: URLs)"
    )]
    LocalFileRefused { url: Url },
    /// A redirect led to a scheme octofeed does not follow.
    #[error("{url} redirected to {to}, which octofeed does not follow: redirects must stay on http or https")]
    RedirectRefused { url: Url, to: String },
    /// The URL, a redirect or a host's DNS answer led to a non-public address.
    #[error(
        "{url} was refused: {refused}, which only hosts named in the config may be; set `site.allow_private = true` to allow it"
    )]
    PrivateAddress { url: Url, refused: Box<PrivateAddress> },
    /// The TLS handshake failed (bad certificate, not TLS at all).
    #[error("the TLS connection to {url} failed: {reason}; check the URL's scheme and the site's certificate")]
    Tls { url: Url, reason: String },
    /// The response's header section passed the client's limit.
    #[error("{url} sent response headers larger than octofeed accepts; point the source at another page")]
    HeadTooLarge { url: Url },
    /// The request slots shared with other workers could not be claimed.
    #[error("{url}: cannot claim a request slot shared with the other workers: {reason}")]
    SharedLimits { url: Url, reason: String },
    /// The HTTP client could not be built; the only variant without a URL.
    #[error("could not set up the HTTP client: {reason}; check `site.user_agent`")]
    Setup { reason: String },
}

impl From<crate::browser::BrowserError> for FetchError {
    fn from(error: crate::browser::BrowserError) -> FetchError {
        FetchError::Browser(Box::new(error))
    }
}

impl FetchError {
    /// The URL the error is about (`None` only for [`FetchError::Setup`]).
    pub fn url(&self) -> Option<&Url> {
        match self {
            FetchError::Connect { url, .. }
            | FetchError::Network { url, .. }
            | FetchError::Timeout { url, .. }
            | FetchError::Status { url, .. }
            | FetchError::TooLarge { url, .. }
            | FetchError::TooManyRedirects { url, .. }
            | FetchError::RobotsDisallowed { url }
            | FetchError::Body { url, .. }
            | FetchError::File { url, .. }
            | FetchError::UnsupportedScheme { url }
            | FetchError::LocalFileRefused { url }
            | FetchError::RedirectRefused { url, .. }
            | FetchError::PrivateAddress { url, .. }
            | FetchError::Tls { url, .. }
            | FetchError::HeadTooLarge { url }
            | FetchError::SharedLimits { url, .. } => Some(url),
            FetchError::Browser(error) => Some(error.url()),
            FetchError::Setup { .. } => None,
        }
    }

    /// The error for a URL refused by the address rule.
    pub(super) fn from_private(url: &Url, refused: PrivateAddress) -> FetchError {
        FetchError::PrivateAddress { url: url.clone(), refused: Box::new(refused) }
    }

    /// The permanent failures a reqwest error may hide in its chain: a refused
    /// address or redirect, a TLS failure, an oversized header section. `None`
    /// for the rest, which the caller sorts by reqwest's own kinds.
    pub(super) fn classify(url: &Url, error: &reqwest::Error) -> Option<FetchError> {
        let url = url.clone();
        for candidate in chain(error) {
            if let Some(refused) = candidate.downcast_ref::<PrivateAddress>() {
                return Some(FetchError::from_private(&url, refused.clone()));
            }
            if let Some(refused) = candidate.downcast_ref::<RedirectRefused>() {
                return Some(FetchError::RedirectRefused { url, to: refused.to.clone() });
            }
            if let Some(tls) = candidate.downcast_ref::<rustls::Error>() {
                return Some(FetchError::Tls { url, reason: tls.to_string() });
            }
            if candidate.downcast_ref::<hyper::Error>().is_some_and(hyper::Error::is_parse_too_large) {
                return Some(FetchError::HeadTooLarge { url });
            }
        }
        None
    }

    /// Whether another attempt may succeed: network failures, 5xx and 429.
    pub(super) fn is_transient(&self) -> bool {
        match self {
            FetchError::Connect { .. } | FetchError::Network { .. } => true,
            FetchError::Status { code, .. } => *code == 429 || (500..600).contains(code),
            _ => false,
        }
    }
}

/// Why a redirect was not followed: the scheme it led to (inside reqwest's error).
#[derive(Debug, thiserror::Error)]
#[error("redirect to {to} refused")]
pub(super) struct RedirectRefused {
    pub to: String,
}

/// The redirect limit was reached (inside reqwest's error).
#[derive(Debug, thiserror::Error)]
#[error("too many redirects")]
pub(super) struct TooManyRedirects;

/// Every error in `error`'s chain, outermost first. An `io::Error`'s `source()`
/// skips the error it wraps, so wrapped errors are walked into as well.
fn chain<'e>(error: &'e (dyn std::error::Error + 'static)) -> Vec<&'e (dyn std::error::Error + 'static)> {
    let mut found = Vec::new();
    let mut current = Some(error);
    while let Some(error) = current {
        found.push(error);
        current = match error.downcast_ref::<std::io::Error>().and_then(std::io::Error::get_ref) {
            Some(wrapped) => Some(wrapped as &(dyn std::error::Error + 'static)),
            None => error.source(),
        };
    }
    found
}

/// The innermost message of an error chain, e.g. "Connection refused (os error 111)"
/// rather than reqwest's "error sending request for url (...)".
pub(super) fn root_cause(error: &(dyn std::error::Error + 'static)) -> String {
    let mut current = error;
    while let Some(next) = current.source() {
        current = next;
    }
    current.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url() -> Url {
        Url::parse("https://example.org/news").unwrap()
    }

    #[test]
    fn transient_errors_are_network_failures_5xx_and_429() {
        let status = |code| FetchError::Status { url: url(), code };
        assert!(status(500).is_transient());
        assert!(status(503).is_transient());
        assert!(status(429).is_transient());
        assert!(!status(404).is_transient());
        assert!(!status(403).is_transient());
        let connect = FetchError::Connect { url: url(), reason: "refused".into() };
        assert!(connect.is_transient());
        assert!(!FetchError::TooLarge { url: url(), limit: 1 }.is_transient());
    }

    #[test]
    fn messages_name_the_url_and_are_lowercase() {
        let error = FetchError::Timeout { url: url(), after: Duration::from_secs(30) };
        let message = error.to_string();
        assert!(message.contains("https://example.org/news"), "{message}");
        assert!(message.contains("30s"), "{message}");
        assert!(message.starts_with(|c: char| !c.is_uppercase()), "{message}");
        assert_eq!(error.url(), Some(&url()));
    }

    #[derive(Debug, thiserror::Error)]
    #[error("error sending request")]
    struct Outer(#[source] std::io::Error);

    #[test]
    fn root_cause_is_the_innermost_message() {
        let inner = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "connection refused");
        assert_eq!(root_cause(&Outer(inner)), "connection refused");
    }
}
