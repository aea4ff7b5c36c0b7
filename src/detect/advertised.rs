//! Feeds a page advertises: `<link rel="alternate">` of RSS, Atom and JSON
//! Feed types, and the RSS links of Liferay's Asset Publisher
//! (`p_p_resource_id=getRSS`, `/-/asset_publisher/…/rss`).
//!
//! Pure: it lists them; reading each to check it is the caller's.

use std::sync::LazyLock;

use scraper::{Html, Selector};
use url::Url;

static ALTERNATE: LazyLock<Selector> = LazyLock::new(|| Selector::parse("link[rel][href]").expect("valid"));
static ANCHORS: LazyLock<Selector> = LazyLock::new(|| Selector::parse("a[href]").expect("valid"));

/// One feed a page links to.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AdvertisedFeed {
    pub url: Url,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// `rss`, `atom`, `json`, or `unknown` for a Liferay RSS link.
    pub format: &'static str,
}

/// Every feed the page advertises, each once, in page order.
pub fn find(document: &Html, base: &Url) -> Vec<AdvertisedFeed> {
    let mut feeds: Vec<AdvertisedFeed> = Vec::new();
    let mut add = |url: Url, title: Option<String>, format: &'static str| {
        if crate::hygiene::is_web_url(&url) && !feeds.iter().any(|feed| feed.url == url) {
            feeds.push(AdvertisedFeed { url, title, format });
        }
    };
    for link in document.select(&ALTERNATE) {
        let value = link.value();
        let rel = value.attr("rel").unwrap_or_default().to_ascii_lowercase();
        if !rel.split_whitespace().any(|word| word == "alternate") {
            continue;
        }
        let format = match value.attr("type").map(|t| t.trim().to_ascii_lowercase()).as_deref() {
            Some("application/rss+xml") => "rss",
            Some("application/atom+xml") => "atom",
            Some("application/feed+json" | "application/json+feed") => "json",
            _ => continue,
        };
        let Some(url) = value.attr("href").and_then(|href| base.join(href.trim()).ok()) else { continue };
        let title = value.attr("title").map(crate::text::clean_text).filter(|t| !t.is_empty());
        add(url, title, format);
    }
    for anchor in document.select(&ANCHORS) {
        let href = anchor.value().attr("href").unwrap_or_default();
        if !is_liferay_rss(href) {
            continue;
        }
        let Ok(url) = base.join(href.trim()) else { continue };
        let title = Some(crate::text::element_text(anchor)).filter(|t| !t.is_empty());
        add(url, title, "unknown");
    }
    feeds
}

/// Liferay's Asset Publisher RSS links.
fn is_liferay_rss(href: &str) -> bool {
    href.contains("p_p_resource_id=getRSS") || (href.contains("/-/asset_publisher/") && href.contains("/rss"))
}
