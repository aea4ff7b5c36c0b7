//! Article stage: the main content of one article page, found without
//! selectors: its title, sanitized content HTML with absolute links, plain
//! text, publication date text, author and lead image.
//!
//! The content is found by `dom_smoothie`, a port of Mozilla's Readability.js
//! (chosen over `rs-trafilatura` and the older `readability` crate after
//! measuring the three on real article pages: see the commit that brought it).
//! What it misses is filled from the page with our own parse: a date from
//! `<time datetime>` or the first date text near the top of the article.
//!
//! Pure: no fetching. It does not decide which pages are articles, and a page
//! that is a bot challenge, captcha or login wall is named as such, not read.

use scraper::Selector;
use std::sync::LazyLock;
use url::Url;

use crate::interstitial::{self, Interstitial};
use crate::text::{clean_text, sanitize_html};

/// Pages with more elements than this are refused rather than scored for
/// minutes; real articles stay far below it.
const MAX_ELEMENTS: usize = 200_000;
/// An extraction with less text than this may be an interstitial page's text.
const THIN_TEXT_CHARS: usize = 500;
/// How far into the article text a date text is looked for when the page's
/// markup gives none.
const DATE_TEXT_WINDOW: usize = 400;

/// What an article page holds.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Article {
    pub title: String,
    /// Sanitized content HTML, links and images absolute.
    pub content_html: String,
    /// The content as plain text, paragraphs separated by blank lines.
    pub text: String,
    /// The publication date as the page gives it (read with `dates::parse_date`).
    pub date: Option<String>,
    pub author: Option<String>,
    pub image: Option<Url>,
    pub excerpt: Option<String>,
}

/// Why a page gave no article.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ArticleError {
    #[error("{url} served {what} instead of an article")]
    NotContent { what: Interstitial, url: Url },
    #[error("no article text was found on {url} ({reason})")]
    NoArticle { url: Url, reason: String },
}

static TIME: LazyLock<Selector> =
    LazyLock::new(|| Selector::parse("article time[datetime], main time[datetime], time[datetime]").expect("valid"));

/// Reads the main content of `html`, the page at `page_url` (links resolve against it).
pub fn read(html: &str, page_url: &Url) -> Result<Article, ArticleError> {
    let html = crate::parse::flattened_document(html);
    let config = dom_smoothie::Config { max_elements_to_parse: MAX_ELEMENTS, ..Default::default() };
    let parsed = dom_smoothie::Readability::new(html.as_ref(), Some(page_url.as_str()), Some(config))
        .and_then(|mut readability| readability.parse());
    let article = match parsed {
        Ok(article) => article,
        Err(error) => {
            return Err(not_content(&html, page_url)
                .unwrap_or_else(|| ArticleError::NoArticle { url: page_url.clone(), reason: error.to_string() }));
        }
    };
    let text = plain_text(&article.text_content);
    if text.chars().count() < THIN_TEXT_CHARS
        && let Some(error) = not_content(&html, page_url)
    {
        return Err(error);
    }
    if text.is_empty() {
        return Err(ArticleError::NoArticle { url: page_url.clone(), reason: "the page has no readable text".into() });
    }
    let date = article.published_time.clone().filter(|d| !d.trim().is_empty()).or_else(|| date_in_page(&html, &text));
    Ok(Article {
        title: clean_text(&article.title),
        content_html: sanitize_html(&article.content, page_url),
        text,
        date,
        author: article.byline.as_deref().map(clean_text).filter(|a| !a.is_empty()),
        image: article.image.as_deref().and_then(|src| page_url.join(src).ok()).filter(crate::hygiene::is_web_url),
        excerpt: article.excerpt.as_deref().map(clean_text).filter(|e| !e.is_empty()),
    })
}

/// The interstitial `html` is, if any, as an error.
fn not_content(html: &str, page_url: &Url) -> Option<ArticleError> {
    let document = crate::parse::document(html).html;
    interstitial::recognise(&document).map(|what| ArticleError::NotContent { what, url: page_url.clone() })
}

/// The first `<time datetime>` of the page (inside its article first), else a
/// date text near the start of the article's text.
fn date_in_page(html: &str, text: &str) -> Option<String> {
    let document = crate::parse::document(html).html;
    let from_markup = document
        .select(&TIME)
        .filter_map(|time| time.value().attr("datetime"))
        .map(str::trim)
        .find(|datetime| crate::dates::parse_date(datetime, None, chrono_tz::UTC).is_some());
    if let Some(datetime) = from_markup {
        return Some(datetime.to_string());
    }
    let head: String = text.chars().take(DATE_TEXT_WINDOW).collect();
    crate::dates::parse_date(&head, None, chrono_tz::UTC).is_some().then_some(head)
}

/// Readability's text with each line's spacing cleaned and runs of blank lines
/// made one.
fn plain_text(text: &str) -> String {
    let lines: Vec<String> = text.lines().map(clean_text).collect();
    let mut out = String::new();
    let mut blank = false;
    for line in lines {
        if line.is_empty() {
            blank = !out.is_empty();
            continue;
        }
        if !out.is_empty() {
            out.push_str(if blank { "\n\n" } else { "\n" });
        }
        out.push_str(&line);
        blank = false;
    }
    out
}
