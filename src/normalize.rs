//! Normalize stage: raw items from a page become news-model items: dates
//! read, guids given, attachments typed, duplicates on one page merged.
//!
//! Pure. Problems with single items are warnings, never errors: one bad item
//! must not fail its source.

use std::collections::{HashMap, HashSet};

use chrono_tz::Tz;
use url::Url;

use crate::dates::parse_date;
use crate::extract::RawItem;
use crate::hygiene::{clean_item, is_web_url};
use crate::identity::{guid_from_fields, guid_from_link};
use crate::model::{Enclosure, Item};

/// What normalizing a page gave.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Normalized {
    pub items: Vec<Item>,
    pub warnings: Vec<String>,
}

/// Turns raw items into model items, in page order, merging duplicates
/// (same guid) into the first.
pub fn normalize(raw_items: &[RawItem], source_id: &str, page_url: &Url, tz: Tz) -> Normalized {
    let mut out = Normalized::default();
    let mut index_of_guid: HashMap<String, usize> = HashMap::with_capacity(raw_items.len());
    for (index, raw) in raw_items.iter().enumerate() {
        let Some(item) = to_item(raw, source_id, page_url, tz, &mut out.warnings, index) else {
            continue;
        };
        match index_of_guid.get(&item.guid) {
            Some(&kept) => merge_into(&mut out.items[kept], item),
            None => {
                index_of_guid.insert(item.guid.clone(), out.items.len());
                out.items.push(item);
            }
        }
    }
    out
}

fn to_item(
    raw: &RawItem,
    source_id: &str,
    page_url: &Url,
    tz: Tz,
    warnings: &mut Vec<String>,
    index: usize,
) -> Option<Item> {
    let Some(title) = raw.title.clone().filter(|title| !title.is_empty()) else {
        warnings.push(format!("{source_id}: item {} on {page_url} has no title: skipped", index + 1));
        return None;
    };
    let published = raw.date.as_deref().and_then(|text| {
        let parsed = parse_date(text, raw.date_format.as_deref(), tz);
        if parsed.is_none() {
            warnings.push(format!("{source_id}: cannot read the date \"{text}\" of \"{title}\""));
        }
        parsed
    });
    // A link that may not be published (a saved page's `file:` link) is no identity either.
    let (link, guid) = match raw.link.as_ref().filter(|link| is_web_url(link)) {
        Some(link) => (link.to_string(), guid_from_link(link)),
        None => {
            let guid = guid_from_fields(source_id, &title, raw.date.as_deref());
            (page_url.to_string(), guid)
        }
    };
    let mut item = Item {
        guid,
        link,
        title,
        summary: raw.summary.clone(),
        content: raw.content.clone(),
        published,
        revised: None,
        date_text: raw.date.clone(),
        location: raw.location.clone(),
        authors: dedup(&raw.authors),
        categories: dedup(&raw.categories),
        image: raw.image.as_ref().map(Url::to_string),
        enclosures: enclosures(&raw.enclosures),
    };
    warnings.extend(clean_item(&mut item).into_iter().map(|warning| format!("{source_id}: {warning}")));
    Some(item)
}

/// A second sighting of the same item (same guid) fills what the first lacked.
pub fn merge_into(kept: &mut Item, other: Item) {
    fn fill<T>(slot: &mut Option<T>, value: Option<T>) {
        if slot.is_none() {
            *slot = value;
        }
    }
    fill(&mut kept.summary, other.summary);
    fill(&mut kept.content, other.content);
    if kept.published.is_none() && other.published.is_some() {
        kept.published = other.published;
        kept.date_text = other.date_text;
    }
    fill(&mut kept.location, other.location);
    fill(&mut kept.image, other.image);
    for (mine, theirs) in [(&mut kept.authors, other.authors), (&mut kept.categories, other.categories)] {
        for value in theirs {
            if !mine.contains(&value) {
                mine.push(value);
            }
        }
    }
    for enclosure in other.enclosures {
        if !kept.enclosures.iter().any(|e| e.url == enclosure.url) {
            kept.enclosures.push(enclosure);
        }
    }
}

fn dedup(values: &[String]) -> Vec<String> {
    let mut seen: HashSet<&str> = HashSet::with_capacity(values.len());
    values.iter().filter(|value| seen.insert(value.as_str())).cloned().collect()
}

/// Attachments, each once, typed by their extension.
fn enclosures(found: &[(Url, String)]) -> Vec<Enclosure> {
    let mut out: Vec<Enclosure> = Vec::new();
    let mut seen: HashSet<&Url> = HashSet::with_capacity(found.len());
    for (url, text) in found {
        if !seen.insert(url) {
            continue;
        }
        out.push(Enclosure {
            url: url.to_string(),
            mime_type: mime_type(url),
            length: None,
            title: (!text.is_empty()).then(|| text.clone()),
        });
    }
    out
}

/// The media type an attachment's extension says; `application/octet-stream` when it says nothing.
/// A page link without an extension (a video or podcast page) is `text/html`.
pub fn mime_type(url: &Url) -> String {
    let last = url.path_segments().and_then(|mut segments| segments.next_back()).unwrap_or("");
    if !last.contains('.') {
        return "text/html".to_string();
    }
    mime_guess::from_path(last)
        .first()
        .map_or_else(|| "application/octet-stream".to_string(), |mime| mime.essence_str().to_string())
}
