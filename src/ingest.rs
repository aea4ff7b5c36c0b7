//! Ingest stage for `kind = "feed"` sources: an RSS 0.9x/1.0/2.0, Atom or
//! JSON Feed document (read by feed-rs) becomes news-model items.
//!
//! Pure: bytes in, items out. Fetching and storing belong to `refresh`.

mod document;

use std::collections::HashSet;

use document::EntryHints;

use feed_rs::model::{Entry, FeedType, Link, Text};
use url::Url;

use crate::hygiene::{clean_item, web_base};
use crate::identity::{guid_from_fields, guid_from_link};
use crate::model::{Enclosure, Item};
use crate::normalize::mime_type;
use crate::text::{clean_text, element_text, sanitize_html, truncate_words};

/// Why a feed could not be read.
#[derive(Debug, thiserror::Error)]
#[error("{url} is not a readable RSS, Atom or JSON feed: {reason}")]
pub struct IngestError {
    pub url: Url,
    pub reason: String,
}

/// What a feed gave.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ingested {
    pub items: Vec<Item>,
    pub warnings: Vec<String>,
}

/// Marks entries that had no id of their own, so the contract's fallback applies.
const NO_ID: &str = "";

/// Where a feed is, for reading it: `feed_url` is what its relative references
/// resolve against (the address it was fetched from, or the `page_url` a saved
/// copy stands for); `identity` is the stable address its entries' non-URL ids
/// are made unique to: the configured one, so a redirect or the folder a saved
/// copy sits in never changes a guid.
#[derive(Debug, Clone, Copy)]
pub struct FeedAddress<'a> {
    pub feed_url: &'a Url,
    pub identity: &'a Url,
}

impl<'a> FeedAddress<'a> {
    /// A feed read where it is, with no other address standing for it.
    pub fn at(url: &'a Url) -> FeedAddress<'a> {
        FeedAddress { feed_url: url, identity: url }
    }
}

/// Reads `bytes` of the feed at `address` into items, in feed order; entries with
/// the same guid are one item (the first), entries without a title are skipped,
/// entries past `max_items` are dropped with a warning.
pub fn ingest(
    bytes: &[u8],
    address: FeedAddress<'_>,
    source_id: &str,
    max_items: usize,
) -> Result<Ingested, IngestError> {
    let feed_url = address.feed_url;
    let parser = feed_rs::parser::Builder::new()
        .base_uri(Some(feed_url.as_str()))
        .sanitize_content(false)
        .id_generator(|_, _, _| NO_ID.to_string())
        .build();
    let text = document::modernized(document::to_utf8(bytes));
    let feed = parser
        .parse(text.as_bytes())
        .map_err(|error| IngestError { url: feed_url.clone(), reason: error.to_string() })?;
    let site_page = site_page(&feed, feed_url);
    let document_base = document::document_base(&text, feed_url);
    let mut hints = document::entry_hints(&text, &document_base);
    if hints.len() != feed.entries.len() {
        hints = vec![EntryHints { base: document_base, image: None }; feed.entries.len()];
    }
    let mut out = Ingested::default();
    if feed.entries.len() > max_items {
        let count = feed.entries.len();
        out.warnings.push(format!(
            "{source_id}: {feed_url} has {count} entries: only the first {max_items} were read (raise `max_items_per_page` to read more)"
        ));
    }
    let mut guids: HashSet<String> = HashSet::new();
    let is_json = feed.feed_type == FeedType::JSON;
    for (index, (mut entry, hints)) in feed.entries.into_iter().zip(hints).take(max_items).enumerate() {
        if is_json {
            mark_attachments(&mut entry);
        }
        let item = to_item(entry, address, hints, site_page.as_ref(), source_id).map(|mut item| {
            out.warnings.extend(clean_item(&mut item).into_iter().map(|warning| format!("{source_id}: {warning}")));
            item
        });
        match item {
            Some(item) if !guids.insert(item.guid.clone()) => {
                out.warnings.push(format!("{source_id}: duplicate entry \"{}\" ignored", item.title));
            }
            Some(item) => out.items.push(item),
            None => out
                .warnings
                .push(format!("{source_id}: entry {} of {feed_url} has no title and no text: skipped", index + 1)),
        }
    }
    Ok(out)
}

/// The entry's content body when its media type is text a reader can show:
/// text, HTML, XHTML or other XML. Atom content of any other type
/// (`application/pdf`…) holds base64 bytes (RFC 4287 4.1.3.3): it is neither
/// shown nor made a title, never read as text.
fn readable_content(entry: &Entry) -> Option<&str> {
    let content = entry.content.as_ref()?;
    let kind = &content.content_type;
    let markup =
        kind.subty() == "xml" || kind.subty() == "xhtml" || kind.suffix().is_some_and(|suffix| suffix == "xml");
    (kind.ty() == "text" || markup).then_some(content.body.as_deref()).flatten()
}

/// How long a title made from an untitled entry's text may be.
const TITLE_FROM_TEXT_CHARS: usize = 80;

/// The item of one entry. `site_page` is the feed's own web page, the link of
/// an entry that has none (readers need a page to open; never the feed document).
fn to_item(
    entry: Entry,
    address: FeedAddress<'_>,
    hints: EntryHints,
    site_page: Option<&Url>,
    source_id: &str,
) -> Option<Item> {
    let feed_url = address.feed_url;
    let title =
        entry.title.as_ref().map(plain).filter(|title| !title.is_empty()).or_else(|| title_from_text(&entry))?;
    let link = alternate_link(&entry.links, feed_url);
    let published = entry.published.or(entry.updated);
    let date_text = published.map(|date| date.to_rfc3339());
    let guid = own_guid(&entry.id, address.identity)
        .or_else(|| link.as_ref().map(guid_from_link))
        .unwrap_or_else(|| guid_from_fields(source_id, &title, date_text.as_deref()));
    // feed-rs resolves links against `xml:base` but leaves content as written;
    // its `entry.base` is the `xml:base` of the Atom `<content>` element.
    let base = entry
        .base
        .as_deref()
        .and_then(|base| hints.base.join(base.trim()).ok())
        .and_then(web_base)
        .unwrap_or(hints.base);
    let content = readable_content(&entry).map(|body| sanitize_html(body, &base)).filter(|html| !html.is_empty());
    let summary = entry.summary.as_ref().map(plain).filter(|text| !text.is_empty());
    Some(Item {
        guid,
        // The guid above is made from the entry's own link only.
        link: link.as_ref().or(site_page).map(Url::to_string).unwrap_or_default(),
        title,
        summary,
        content,
        published,
        revised: entry.updated,
        date_text,
        location: None,
        authors: entry
            .authors
            .iter()
            .filter_map(|person| person.name.as_deref().or(person.email.as_deref()))
            .map(clean_text)
            .filter(|name| !name.is_empty())
            .collect(),
        categories: entry
            .categories
            .iter()
            .map(|category| clean_text(category.label.as_deref().unwrap_or(&category.term)))
            .filter(|term| !term.is_empty())
            .collect(),
        image: image(&entry, feed_url).or(hints.image.map(String::from)),
        enclosures: enclosures(&entry, feed_url),
    })
}

/// feed-rs gives JSON Feed attachments as plain links that carry a media type;
/// they are enclosures, not the item's page.
fn mark_attachments(entry: &mut Entry) {
    for link in entry.links.iter_mut().filter(|link| link.rel.is_none() && link.media_type.is_some()) {
        link.rel = Some("enclosure".to_owned());
    }
}

/// A title for an untitled entry (a Mastodon post, a microblog item): the start
/// of its summary or content text, cut at a word.
fn title_from_text(entry: &Entry) -> Option<String> {
    let summary = entry.summary.as_ref().map(plain);
    let content = readable_content(entry).map(|body| {
        let fragment = crate::parse::fragment(body);
        element_text(fragment.root_element())
    });
    let text = summary.into_iter().chain(content).find(|text| !text.is_empty())?;
    Some(truncate_words(&text, TITLE_FROM_TEXT_CHARS))
}

/// A feed's own id, kept as it is when it is a URL or URN; other ids (plain
/// numbers, `tag:`-less strings) are made unique to the feed's `identity` address.
fn own_guid(id: &str, identity: &Url) -> Option<String> {
    let id = id.trim();
    if id == NO_ID {
        return None;
    }
    match Url::parse(id) {
        Ok(url) if matches!(url.scheme(), "http" | "https") => Some(guid_from_link(&url)),
        Ok(_) => Some(id.to_string()),
        Err(_) => identity.join(&format!("#{id}")).ok().map(|url| url.to_string()),
    }
}

/// Text that may be HTML, as plain text.
fn plain(text: &Text) -> String {
    // RSS titles are often escaped twice ("Tom &amp; Jerry" after XML decoding):
    // text with markup or entities is read as HTML, as feed readers do.
    if text.content_type.to_string().contains("html") || text.content.contains(['<', '&']) {
        let fragment = crate::parse::fragment(&text.content);
        element_text(fragment.root_element())
    } else {
        clean_text(&text.content)
    }
}

/// The entry's web page: its `alternate` (or rel-less) link, made absolute.
/// The feed's own web page (its channel `<link>`, Atom alternate link, JSON
/// `home_page_url`) when it is an http(s) page other than the feed document.
fn site_page(feed: &feed_rs::model::Feed, feed_url: &Url) -> Option<Url> {
    alternate_link(&feed.links, feed_url).filter(|page| page != feed_url)
}

fn alternate_link(links: &[Link], feed_url: &Url) -> Option<Url> {
    links
        .iter()
        .find(|link| link.rel.as_deref().is_none_or(|rel| rel == "alternate"))
        .and_then(|link| feed_url.join(link.href.trim()).ok())
        .filter(|url| matches!(url.scheme(), "http" | "https"))
}

fn image(entry: &Entry, feed_url: &Url) -> Option<String> {
    entry
        .media
        .iter()
        .flat_map(|media| media.thumbnails.iter().map(|thumb| thumb.image.uri.as_str()))
        .chain(entry.media.iter().flat_map(|media| {
            media
                .content
                .iter()
                .filter(|content| content.content_type.as_ref().is_some_and(|t| t.ty() == "image"))
                .filter_map(|content| content.url.as_ref().map(|url| url.as_str()))
        }))
        .find_map(|uri| feed_url.join(uri).ok())
        .map(|url| url.to_string())
}

/// `rel="enclosure"` links and non-image media content, each once.
fn enclosures(entry: &Entry, feed_url: &Url) -> Vec<Enclosure> {
    let mut out: Vec<Enclosure> = Vec::new();
    let links = entry.links.iter().filter(|link| link.rel.as_deref() == Some("enclosure")).filter_map(|link| {
        let url = feed_url.join(link.href.trim()).ok()?;
        Some((url, link.media_type.clone(), link.length, link.title.clone()))
    });
    let media = entry.media.iter().flat_map(|media| media.content.iter()).filter_map(|content| {
        let url = feed_url.join(content.url.as_ref()?.as_str()).ok()?;
        let kind = content.content_type.as_ref().map(|t| t.to_string());
        if kind.as_deref().is_some_and(|k| k.starts_with("image/")) {
            return None;
        }
        Some((url, kind, content.size, None))
    });
    for (url, kind, length, title) in links.chain(media) {
        if out.iter().any(|enclosure| enclosure.url == url.as_str()) {
            continue;
        }
        out.push(Enclosure {
            mime_type: kind.filter(|k| !k.is_empty()).unwrap_or_else(|| mime_type(&url)),
            url: url.to_string(),
            length,
            title,
        });
    }
    out
}
