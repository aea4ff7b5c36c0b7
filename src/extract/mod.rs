//! Extract stage: a listing or article page's HTML plus its URL and the
//! source's rules become raw items (field texts as the page gives them, links
//! made absolute).
//!
//! Pure: no fetching, no date parsing, no identity. `normalize` turns the raw
//! items into the news model.

use scraper::{ElementRef, Html, Selector};
use std::sync::LazyLock;
use url::Url;

use crate::config::{Css, FieldRule, FieldRules, SelectRules, Selection};

mod css;
pub mod stream;
use crate::detect::DetectError;
use crate::hygiene::{is_web_url, web_base};
use crate::interstitial::{self, Interstitial};
use crate::parse;
use crate::text::{element_text, is_placeholder_src, sanitize_html};

/// One item as found on the page, before normalization. Its JSON form is the
/// listing hash's input: stable across dependency upgrades, unlike `Debug`.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct RawItem {
    pub title: Option<String>,
    /// Absolute link, when the `link` rule matched an element with a usable URL.
    pub link: Option<Url>,
    pub date: Option<String>,
    /// The `format` of the date rule, if any.
    pub date_format: Option<String>,
    pub location: Option<String>,
    pub summary: Option<String>,
    /// Inner HTML of every `content` match, sanitized, links absolute.
    pub content: Option<String>,
    pub authors: Vec<String>,
    pub categories: Vec<String>,
    pub image: Option<Url>,
    /// Absolute URL and link text of each attachment.
    pub enclosures: Vec<(Url, String)>,
}

impl RawItem {
    /// This listing entry with what its article page gave laid over it: every
    /// field the article has wins, except the link, which keeps the item's identity.
    pub fn overlaid_with(self, article: RawItem) -> RawItem {
        fn pick<T>(listing: Option<T>, article: Option<T>) -> Option<T> {
            article.or(listing)
        }
        fn pick_all<T>(listing: Vec<T>, article: Vec<T>) -> Vec<T> {
            if article.is_empty() { listing } else { article }
        }
        let date_format = if article.date.is_some() { article.date_format } else { self.date_format };
        RawItem {
            title: pick(self.title, article.title),
            link: self.link,
            date: pick(self.date, article.date),
            date_format,
            location: pick(self.location, article.location),
            summary: pick(self.summary, article.summary),
            content: pick(self.content, article.content),
            authors: pick_all(self.authors, article.authors),
            categories: pick_all(self.categories, article.categories),
            image: pick(self.image, article.image),
            enclosures: pick_all(self.enclosures, article.enclosures),
        }
    }
}

/// What a listing page gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listing {
    pub items: Vec<RawItem>,
    /// The next listing page, when pagination is configured and the page links one.
    pub next_page: Option<Url>,
    /// What was wrong with the page but did not stop it (flattened nesting, items past the cap).
    pub warnings: Vec<String>,
    /// With `select = "auto"`: what detection chose, in one line ([`crate::detect::Found::describe`]).
    pub detected: Option<String>,
}

/// Why a page gave nothing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExtractError {
    #[error("the item selector `{selector}` matched nothing on {url}: the page layout may have changed")]
    NoItems { selector: String, url: Url },
    /// The page served was not the listing: a bot challenge, a captcha, a login form, an app shell.
    #[error("{url} served {what} instead of its content: no items could be read (the last good feeds are kept)")]
    NotContent { what: Interstitial, url: Url },
    /// `select = "auto"` found no list of items.
    #[error(
        "automatic detection found no list of items on {url}: the page layout may have changed (the last good feeds are kept)"
    )]
    NothingDetected { url: Url },
}

static BASE: LazyLock<Selector> = LazyLock::new(|| Selector::parse("base[href]").expect("valid selector"));
static ANCHOR: LazyLock<Selector> = LazyLock::new(|| Selector::parse("a[href]").expect("valid selector"));

/// Extracts the items of a listing page, at most `max_items` of them (the rest
/// are dropped with a warning), with the source's rules or by detection. Fails
/// when no item is found. Streams the page where the rules allow it
/// ([`stream`]), else reads it from the whole page's tree.
pub fn extract_listing(
    html: &str,
    page_url: &Url,
    select: &Selection,
    next: Option<&Css>,
    max_items: usize,
) -> Result<Listing, ExtractError> {
    if let Selection::Rules(rules) = select
        && let stream::Route::Stream(plan) = stream::route(rules, next)
    {
        match stream::extract(html, page_url, &plan, rules, max_items) {
            Ok(streamed) => {
                let warnings = too_many_items(page_url, streamed.found, max_items).into_iter().collect();
                return Ok(Listing { items: streamed.items, next_page: streamed.next_page, warnings, detected: None });
            }
            Err(why) => tracing::debug!("{page_url}: read from the whole page: {why}"),
        }
    }
    extract_listing_from_tree(html, page_url, select, next, max_items)
}

/// The warning for a page with more items than are read.
fn too_many_items(page_url: &Url, found: usize, max_items: usize) -> Option<String> {
    (found > max_items).then(|| {
        format!(
            "{page_url} has {found} items: only the first {max_items} were read (raise `max_items_per_page` to read more)"
        )
    })
}

/// [`extract_listing`] from the whole page's tree, whatever the rules.
pub fn extract_listing_from_tree(
    html: &str,
    page_url: &Url,
    select: &Selection,
    next: Option<&Css>,
    max_items: usize,
) -> Result<Listing, ExtractError> {
    let parsed = parse::document(html);
    let mut warnings: Vec<String> = parsed.warning(&format!("{page_url}")).into_iter().collect();
    let document = parsed.html;
    let base = document_base(&document, page_url);
    let (items, detected) = match select {
        Selection::Rules(rules) => {
            let items = items_of(&document, &base, rules, max_items);
            if items.is_empty() {
                return Err(match interstitial::recognise(&document) {
                    Some(what) => ExtractError::NotContent { what, url: page_url.clone() },
                    None => ExtractError::NoItems { selector: rules.item.text.clone(), url: page_url.clone() },
                });
            }
            let found = document.select(&rules.item.selector).count();
            warnings.extend(too_many_items(page_url, found, max_items));
            (items, None)
        }
        Selection::Auto => match crate::detect::items_in(&document, &base, max_items) {
            Ok(detected) => (detected.items, Some(detected.found.describe())),
            Err(DetectError::NotContent { what, .. }) => {
                return Err(ExtractError::NotContent { what, url: page_url.clone() });
            }
            Err(DetectError::NothingFound { .. }) => {
                return Err(ExtractError::NothingDetected { url: page_url.clone() });
            }
        },
    };
    let next_page = next.and_then(|css| {
        let element = document.select(&css.selector).next()?;
        link_of(element, "href", &base)
    });
    Ok(Listing { items, next_page, warnings, detected })
}

/// The first `max_items` items of a parsed page, relative links resolved against `base`.
pub fn items_of(document: &Html, base: &Url, rules: &SelectRules, max_items: usize) -> Vec<RawItem> {
    document
        .select(&rules.item.selector)
        .take(max_items)
        .map(|element| extract_fields(element, base, &rules.fields))
        .collect()
}

/// Extracts the `detail` fields of an article page (the whole page is the item).
pub fn extract_detail(html: &str, page_url: &Url, rules: &FieldRules) -> RawItem {
    let parsed = parse::document(html);
    if let Some(warning) = parsed.warning(&format!("{page_url}")) {
        tracing::warn!("{warning}");
    }
    let document = parsed.html;
    let base = document_base(&document, page_url);
    let mut item = extract_fields(document.root_element(), &base, rules);
    if rules.fields().any(|rule| rule.auto) {
        match crate::article::read(html, &base) {
            Ok(article) => fill_automatic(&mut item, rules, article),
            Err(error) => tracing::warn!("{error}: its `auto` fields stay empty"),
        }
    }
    item
}

/// Sets the `"auto"` fields of `item` from what the article reader found.
fn fill_automatic(item: &mut RawItem, rules: &FieldRules, article: crate::article::Article) {
    let auto = |rule: &Option<FieldRule>| rule.as_ref().is_some_and(|rule| rule.auto);
    if auto(&rules.title) && !article.title.is_empty() {
        item.title = Some(article.title);
    }
    if auto(&rules.content) && !article.content_html.is_empty() {
        item.content = Some(article.content_html);
    }
    if auto(&rules.summary) {
        item.summary = article.excerpt;
    }
    if auto(&rules.date) {
        item.date = article.date;
        item.date_format = None;
    }
    if auto(&rules.author) {
        item.authors = article.author.into_iter().collect();
    }
    if auto(&rules.image) {
        item.image = article.image;
    }
}

/// The URL relative links resolve against: `<base href>` (itself relative to
/// the page) when it is `http(s)`, else the page.
pub fn document_base(document: &Html, page_url: &Url) -> Url {
    document
        .select(&BASE)
        .next()
        .and_then(|base| base.value().attr("href"))
        .and_then(|href| page_url.join(href.trim()).ok())
        .and_then(web_base)
        .unwrap_or_else(|| page_url.clone())
}

fn extract_fields(item: ElementRef, base: &Url, rules: &FieldRules) -> RawItem {
    let first_text = |rule: &Option<FieldRule>| rule.as_ref().and_then(|rule| texts(item, rule).into_iter().next());
    let all_texts = |rule: &Option<FieldRule>| rule.as_ref().map(|rule| texts(item, rule)).unwrap_or_default();
    RawItem {
        title: first_text(&rules.title),
        link: rules.link.as_ref().and_then(|rule| urls(item, rule, "href", base).into_iter().next()),
        date: rules.date.as_ref().and_then(|rule| date_texts(item, rule).into_iter().next()),
        date_format: rules.date.as_ref().and_then(|rule| rule.format.clone()),
        location: first_text(&rules.location),
        summary: first_text(&rules.summary),
        content: rules.content.as_ref().and_then(|rule| content_html(item, rule, base)),
        authors: all_texts(&rules.author),
        categories: all_texts(&rules.category),
        image: rules.image.as_ref().and_then(|rule| urls(item, rule, "src", base).into_iter().next()),
        enclosures: rules.enclosure.as_ref().map(|rule| enclosures(item, rule, base)).unwrap_or_default(),
    }
}

/// The elements a rule points at: its selector's matches inside `item`, or `item` itself.
fn matches<'a>(item: ElementRef<'a>, rule: &FieldRule) -> Vec<ElementRef<'a>> {
    if rule.auto {
        return Vec::new();
    }
    match &rule.css {
        Some(css) => item.select(&css.selector).collect(),
        None => vec![item],
    }
}

/// The non-empty texts (or `attr` values) of every match, after the rule's regex.
fn texts(item: ElementRef, rule: &FieldRule) -> Vec<String> {
    matches(item, rule)
        .into_iter()
        .filter_map(|element| match &rule.attr {
            Some(attr) => element.value().attr(attr).map(crate::text::clean_text),
            None => Some(element_text(element)),
        })
        .filter_map(|text| apply_regex(rule, text))
        .filter(|text| !text.is_empty())
        .collect()
}

/// Like [`texts`], but a `<time datetime>` gives its machine-readable value when no `attr` is set.
fn date_texts(item: ElementRef, rule: &FieldRule) -> Vec<String> {
    if rule.attr.is_some() {
        return texts(item, rule);
    }
    matches(item, rule)
        .into_iter()
        .map(|element| match (element.value().name(), element.value().attr("datetime")) {
            ("time", Some(datetime)) if !datetime.trim().is_empty() => crate::text::clean_text(datetime),
            _ => element_text(element),
        })
        .filter_map(|text| apply_regex(rule, text))
        .filter(|text| !text.is_empty())
        .collect()
}

/// Group 1 when the regex has groups, else the whole match; no match drops the value.
fn apply_regex(rule: &FieldRule, text: String) -> Option<String> {
    let Some(regex) = &rule.regex else {
        return Some(text);
    };
    let captures = regex.captures(&text)?;
    let found = captures.get(1).or_else(|| captures.get(0))?;
    Some(crate::text::clean_text(found.as_str()))
}

/// Absolute URLs of every match: its `attr` (or `default_attr`); a match without
/// it lends the first link inside it. A lazy image (an empty or `data:` `src` and
/// the real address in `data-src`) gives its `data-src`. `javascript:`, `mailto:`
/// and empty links are ignored.
fn urls(item: ElementRef, rule: &FieldRule, default_attr: &str, base: &Url) -> Vec<Url> {
    let attr = rule.attr.as_deref().unwrap_or(default_attr);
    matches(item, rule).into_iter().filter_map(|element| link_of(element, attr, base)).collect()
}

fn link_of(element: ElementRef, attr: &str, base: &Url) -> Option<Url> {
    let value = element.value();
    let raw = value
        .attr(attr)
        .filter(|raw| !(attr == "src" && is_placeholder_src(raw) && value.attr("data-src").is_some()))
        .or_else(|| (attr == "src").then(|| value.attr("data-src")).flatten())
        .or_else(|| {
            let inner = element.select(&ANCHOR).next()?;
            inner.value().attr("href")
        })?;
    let url = base.join(raw.trim()).ok()?;
    // Only a saved page (a `file:` base) may link to local files, and those are never published.
    let local = url.scheme() == "file" && base.scheme() == "file";
    (is_web_url(&url) || local).then_some(url)
}

fn enclosures(item: ElementRef, rule: &FieldRule, base: &Url) -> Vec<(Url, String)> {
    let attr = rule.attr.as_deref().unwrap_or("href");
    matches(item, rule)
        .into_iter()
        .filter_map(|element| Some((link_of(element, attr, base)?, element_text(element))))
        .collect()
}

/// The inner HTML of every `content` match, joined and sanitized; `None` when nothing visible remains.
fn content_html(item: ElementRef, rule: &FieldRule, base: &Url) -> Option<String> {
    let html: Vec<String> = matches(item, rule).into_iter().map(|element| element.inner_html()).collect();
    let clean = sanitize_html(&html.join("\n"), base);
    (!clean.is_empty()).then_some(clean)
}
