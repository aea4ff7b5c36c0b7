//! Items a page declares in structured data: JSON-LD (`ItemList`, articles,
//! events, `@graph`), schema.org microdata, and h-entry microformats.
//!
//! JSON-LD items are read here (no selector reaches into a script); microdata
//! and h-entries are answered with selectors, so the source a user gets is
//! explicit. Pure: it reads a parsed page.

use std::collections::HashSet;
use std::sync::LazyLock;

use scraper::{ElementRef, Html, Selector};
use serde_json::Value;
use url::Url;

use super::{ProposedField, ProposedRules};
use crate::extract::RawItem;
use crate::text::clean_text;

static JSON_LD: LazyLock<Selector> =
    LazyLock::new(|| Selector::parse(r#"script[type="application/ld+json"]"#).expect("valid"));
static ITEMSCOPE: LazyLock<Selector> = LazyLock::new(|| Selector::parse("[itemscope][itemtype]").expect("valid"));
static H_ENTRY: LazyLock<Selector> = LazyLock::new(|| Selector::parse(".h-entry").expect("valid"));

/// schema.org types whose things are a listing's items.
fn is_item_type(name: &str) -> bool {
    let name = name.rsplit(['/', '#', ':']).next().unwrap_or(name);
    matches!(
        name,
        "Article"
            | "NewsArticle"
            | "BlogPosting"
            | "Report"
            | "ScholarlyArticle"
            | "TechArticle"
            | "AnalysisNewsArticle"
            | "ReportageNewsArticle"
            | "PressRelease"
            | "SocialMediaPosting"
            | "CreativeWork"
            | "Recipe"
            | "VideoObject"
            | "PodcastEpisode"
    ) || name.ends_with("Event")
}

/// The items of every JSON-LD block: the elements of an `ItemList`, and every
/// article or event (inside `@graph` and arrays too), in page order, one per link.
pub fn json_ld(document: &Html, base: &Url) -> Vec<RawItem> {
    let mut items = Vec::new();
    let mut seen = HashSet::new();
    for script in document.select(&JSON_LD) {
        let text: String = script.text().collect();
        let Ok(value) = serde_json::from_str::<Value>(text.trim().trim_end_matches(';')) else { continue };
        collect(&value, base, &mut items, &mut seen, 0);
    }
    items
}

/// Nesting deeper than this is not walked (a hostile page's JSON).
const MAX_JSON_DEPTH: usize = 8;

fn collect(value: &Value, base: &Url, items: &mut Vec<RawItem>, seen: &mut HashSet<Url>, depth: usize) {
    if depth > MAX_JSON_DEPTH {
        return;
    }
    match value {
        Value::Array(values) => values.iter().for_each(|v| collect(v, base, items, seen, depth + 1)),
        Value::Object(object) => {
            if let Some(graph) = object.get("@graph") {
                collect(graph, base, items, seen, depth + 1);
            }
            let types = types_of(value);
            if types.iter().any(|t| t.ends_with("ItemList")) {
                for element in object.get("itemListElement").map(as_list).unwrap_or_default() {
                    let thing = element.get("item").filter(|item| item.is_object()).unwrap_or(element);
                    if let Some(item) = thing_item(thing, base) {
                        push(item, items, seen);
                    }
                }
            } else if types.iter().any(|t| is_item_type(t))
                && let Some(item) = thing_item(value, base)
            {
                push(item, items, seen);
            }
        }
        _ => {}
    }
}

fn push(item: RawItem, items: &mut Vec<RawItem>, seen: &mut HashSet<Url>) {
    if let Some(link) = &item.link
        && seen.insert(link.clone())
    {
        items.push(item);
    }
}

fn types_of(value: &Value) -> Vec<&str> {
    match value.get("@type") {
        Some(Value::String(name)) => vec![name.as_str()],
        Some(Value::Array(names)) => names.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

fn as_list(value: &Value) -> Vec<&Value> {
    match value {
        Value::Array(values) => values.iter().collect(),
        other => vec![other],
    }
}

/// A string property, or the `name`/`url`/`@id` of an object property, or the first of a list.
fn text_of<'a>(value: &'a Value, key: &str) -> Option<&'a str> {
    let property = value.get(key)?;
    let first = match property {
        Value::Array(values) => values.first()?,
        other => other,
    };
    match first {
        Value::String(text) => Some(text.as_str()),
        Value::Object(_) => ["url", "name", "@id", "contentUrl"].iter().find_map(|k| first.get(*k)?.as_str()),
        _ => None,
    }
}

/// A thing with a name and a link as an item.
fn thing_item(thing: &Value, base: &Url) -> Option<RawItem> {
    let link = ["url", "@id", "mainEntityOfPage"]
        .iter()
        .filter_map(|key| text_of(thing, key))
        .filter_map(|href| base.join(href.trim()).ok())
        .find(crate::hygiene::is_web_url)?;
    let title = text_of(thing, "headline").or_else(|| text_of(thing, "name")).map(clean_text).filter(|t| !t.is_empty());
    let date = ["datePublished", "startDate", "dateCreated", "uploadDate", "dateModified"]
        .iter()
        .find_map(|key| text_of(thing, key))
        .map(clean_text);
    let location = thing.get("location").and_then(|place| match place {
        Value::String(text) => Some(clean_text(text)),
        _ => {
            let name = place.get("name").and_then(Value::as_str);
            let locality = place.get("address").and_then(|a| a.get("addressLocality")).and_then(Value::as_str);
            let parts: Vec<&str> = [name, locality].into_iter().flatten().collect();
            (!parts.is_empty()).then(|| clean_text(&parts.join(", ")))
        }
    });
    Some(RawItem {
        title,
        link: Some(link),
        date,
        location,
        summary: text_of(thing, "description").map(clean_text).filter(|s| !s.is_empty()),
        image: text_of(thing, "image").and_then(|src| base.join(src).ok()).filter(crate::hygiene::is_web_url),
        ..RawItem::default()
    })
}

/// Selectors for schema.org microdata items: the most frequent article or
/// event type among the outermost item scopes, when it occurs at least twice.
pub fn microdata(document: &Html) -> Option<ProposedRules> {
    let scopes: Vec<ElementRef> = document
        .select(&ITEMSCOPE)
        .filter(|scope| scope.value().attr("itemtype").is_some_and(|t| t.split_whitespace().any(is_item_type)))
        .collect();
    let mut counts: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    for scope in &scopes {
        *counts.entry(scope.value().attr("itemtype").unwrap_or_default()).or_default() += 1;
    }
    let (itemtype, count) = counts.into_iter().max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(a.0)))?;
    if count < 2 {
        return None;
    }
    let items: Vec<ElementRef> = scopes.into_iter().filter(|s| s.value().attr("itemtype") == Some(itemtype)).collect();
    let has = |css: &str| {
        let selector = Selector::parse(css).expect("valid");
        items.iter().filter(|item| item.select(&selector).next().is_some()).count() * 2 >= items.len()
    };
    let title = ["[itemprop=headline]", "[itemprop=name]"].into_iter().find(|css| has(css))?;
    let link = if has("a[itemprop=url]") { "a[itemprop=url]" } else { "a[href]" };
    let mut rules = ProposedRules::new(
        &format!("[itemtype={}]", crate::import::toml_string(itemtype)),
        ProposedField::css(title),
        ProposedField::css(link),
    );
    rules.date = ["[itemprop=datePublished]", "[itemprop=startDate]", "[itemprop=dateCreated]"]
        .into_iter()
        .find(|css| has(css))
        .map(|css| machine_readable(&items, css));
    if has("[itemprop=description]") {
        rules.summary = Some(ProposedField::css("[itemprop=description]"));
    }
    if has("img[itemprop=image]") {
        rules.image = Some(ProposedField::css("img[itemprop=image]"));
    }
    Some(rules)
}

/// The date field `css`: its `content` or `datetime` attribute when the first
/// match has one (`<meta itemprop content>`, `<time datetime>`), else its text.
fn machine_readable(items: &[ElementRef], css: &str) -> ProposedField {
    let selector = Selector::parse(css).expect("valid");
    let first = items.iter().find_map(|item| item.select(&selector).next());
    match first.map(|element| element.value()) {
        Some(value) if value.attr("content").is_some() => ProposedField::css_attr(css, "content"),
        Some(value) if value.attr("datetime").is_some() => ProposedField::css_attr(css, "datetime"),
        _ => ProposedField::css(css),
    }
}

/// Selectors for h-entry microformats, when the page has at least two.
pub fn h_entries(document: &Html) -> Option<ProposedRules> {
    let entries: Vec<ElementRef> = document.select(&H_ENTRY).collect();
    if entries.len() < 2 {
        return None;
    }
    let has = |css: &str| {
        let selector = Selector::parse(css).expect("valid");
        entries.iter().filter(|entry| entry.select(&selector).next().is_some()).count() * 2 >= entries.len()
    };
    let link = if has("a.u-url") { "a.u-url" } else { "a[href]" };
    let title = if has(".p-name") { ".p-name" } else { link };
    let mut rules = ProposedRules::new(".h-entry", ProposedField::css(title), ProposedField::css(link));
    if has(".dt-published") {
        rules.date = Some(machine_readable(&entries, ".dt-published"));
    }
    if has(".p-summary") {
        rules.summary = Some(ProposedField::css(".p-summary"));
    }
    Some(rules)
}
