//! Ingest stage for `kind = "feed"` sources: an RSS 0.9x/1.0/2.0, Atom or
//! JSON Feed document (read by feed-rs) becomes news-model items.
//!
//! Pure: bytes in, items out. Fetching and storing belong to `refresh`.

use std::sync::LazyLock;

use encoding_rs::{Encoding, UTF_8};
use feed_rs::model::{Entry, Link, Text};
use regex::Regex;
use scraper::Html;
use url::Url;

use crate::identity::{guid_from_fields, guid_from_link};
use crate::model::{Enclosure, Item};
use crate::normalize::mime_type;
use crate::text::{clean_text, element_text, sanitize_html};

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

/// How much of a document is searched for its XML declaration.
const HEAD_BYTES: usize = 8192;

/// Reads `bytes` fetched from `feed_url` into items, in feed order; entries with
/// the same guid are one item (the first), entries without a title are skipped.
pub fn ingest(bytes: &[u8], feed_url: &Url, source_id: &str) -> Result<Ingested, IngestError> {
    let parser = feed_rs::parser::Builder::new()
        .base_uri(Some(feed_url.as_str()))
        .sanitize_content(false)
        .id_generator(|_, _, _| NO_ID.to_string())
        .build();
    let text = modernized(to_utf8(bytes));
    let feed = parser
        .parse(text.as_bytes())
        .map_err(|error| IngestError { url: feed_url.clone(), reason: error.to_string() })?;
    let document_base = document_base(&text, feed_url);
    let mut out = Ingested::default();
    for (index, entry) in feed.entries.into_iter().enumerate() {
        match to_item(entry, feed_url, &document_base, source_id) {
            Some(item) if out.items.iter().any(|kept| kept.guid == item.guid) => {
                out.warnings.push(format!("{source_id}: duplicate entry \"{}\" ignored", item.title));
            }
            Some(item) => out.items.push(item),
            None => out.warnings.push(format!("{source_id}: entry {} of {feed_url} has no title: skipped", index + 1)),
        }
    }
    Ok(out)
}

fn to_item(entry: Entry, feed_url: &Url, document_base: &Url, source_id: &str) -> Option<Item> {
    let title = entry.title.as_ref().map(plain).filter(|title| !title.is_empty())?;
    let link = alternate_link(&entry.links, feed_url);
    let published = entry.published.or(entry.updated);
    let date_text = published.map(|date| date.to_rfc3339());
    let guid = own_guid(&entry.id, feed_url)
        .or_else(|| link.as_ref().map(guid_from_link))
        .unwrap_or_else(|| guid_from_fields(source_id, &title, date_text.as_deref()));
    // feed-rs resolves links against `xml:base` but leaves content as written.
    let base = entry.base.as_deref().and_then(|base| document_base.join(base.trim()).ok());
    let base = base.unwrap_or_else(|| document_base.clone());
    let content = entry
        .content
        .as_ref()
        .and_then(|content| content.body.as_deref())
        .map(|body| sanitize_html(body, &base))
        .filter(|html| !html.is_empty());
    let summary = entry.summary.as_ref().map(plain).filter(|text| !text.is_empty());
    Some(Item {
        guid,
        link: link.as_ref().unwrap_or(feed_url).to_string(),
        title,
        summary,
        content,
        published,
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
        image: image(&entry, feed_url),
        enclosures: enclosures(&entry, feed_url),
    })
}

/// A feed's own id, kept as it is when it is a URL or URN; other ids (plain
/// numbers, `tag:`-less strings) are made unique to the feed.
fn own_guid(id: &str, feed_url: &Url) -> Option<String> {
    let id = id.trim();
    if id == NO_ID {
        return None;
    }
    match Url::parse(id) {
        Ok(url) if matches!(url.scheme(), "http" | "https") => Some(guid_from_link(&url)),
        Ok(_) => Some(id.to_string()),
        Err(_) => feed_url.join(&format!("#{id}")).ok().map(|url| url.to_string()),
    }
}

/// The document decoded to UTF-8 as an XML parser would (byte order mark, else
/// the XML declaration's `encoding`, else UTF-8; WHATWG labels, so ISO-8859-1 is
/// read as windows-1252), without its XML declaration(s). feed-rs then always reads
/// UTF-8: its own switching of encodings panics on a UTF-16 BOM that contradicts
/// the declaration. Invalid bytes become U+FFFD, as in feed readers.
fn to_utf8(bytes: &[u8]) -> String {
    static DECLARATION: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"(?s)<\?xml\s.*?\?>").expect("a valid regex"));
    let (encoding, body) = match Encoding::for_bom(bytes) {
        Some((encoding, bom_length)) => (encoding, &bytes[bom_length..]),
        None => (declared_encoding(bytes), bytes),
    };
    let (text, _had_errors) = encoding.decode_without_bom_handling(body);
    DECLARATION.replace_all(&text, "").into_owned()
}

/// Atom 0.3 and RSS 0.90 written in the names of their successors, which feed-rs
/// reads: their namespaces become Atom 1.0's and RSS 1.0's, and Atom 0.3's
/// `issued`/`modified` dates become `published`/`updated`.
fn modernized(text: String) -> String {
    const ATOM_03: &str = "http://purl.org/atom/ns#";
    const RSS_090: &str = "http://my.netscape.com/rdf/simple/0.9/";
    if text.contains(ATOM_03) {
        let renames = [
            (ATOM_03, "http://www.w3.org/2005/Atom"),
            ("<issued>", "<published>"),
            ("</issued>", "</published>"),
            ("<modified>", "<updated>"),
            ("</modified>", "</updated>"),
        ];
        let renamed = renames.iter().fold(text, |text, (from, to)| text.replace(from, to));
        atom_03_text_types(&renamed)
    } else if text.contains(RSS_090) {
        text.replace(RSS_090, "http://purl.org/rss/1.0/")
    } else {
        text
    }
}

/// Atom 0.3 text constructs say `type="text/html" mode="escaped"` or
/// `type="application/xhtml+xml" mode="xml"`; Atom 1.0 says `html`, `xhtml` or `text`.
fn atom_03_text_types(text: &str) -> String {
    static CONSTRUCT: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r#"<(content|summary|title|tagline)((?:\s+[\w:-]+\s*=\s*(?:"[^"]*"|'[^']*'))*)\s*(/?)>"#)
            .expect("a valid regex")
    });
    CONSTRUCT
        .replace_all(text, |captures: &regex::Captures| {
            let attributes = &captures[2];
            let kind = if attributes.contains("mode=\"xml\"") || attributes.contains("mode='xml'") {
                "xhtml"
            } else if attributes.contains("html") {
                "html"
            } else {
                "text"
            };
            format!("<{} type=\"{kind}\"{}>", &captures[1], &captures[3])
        })
        .into_owned()
}

/// The `encoding` of an XML declaration at the start of ASCII-compatible bytes;
/// UTF-8 when there is none, or when it names UTF-16 (which such bytes cannot be).
fn declared_encoding(bytes: &[u8]) -> &'static Encoding {
    static ENCODING: LazyLock<regex::bytes::Regex> = LazyLock::new(|| {
        regex::bytes::Regex::new(r#"^\s*<\?xml\s[^>]*?encoding\s*=\s*["']([A-Za-z0-9._:-]+)["']"#)
            .expect("a valid regex")
    });
    ENCODING
        .captures(&bytes[..bytes.len().min(HEAD_BYTES)])
        .and_then(|captures| Encoding::for_label(&captures[1]))
        .filter(|encoding| encoding.is_ascii_compatible())
        .unwrap_or(UTF_8)
}

/// What relative references in the document resolve against: the `xml:base`
/// of its root (or RSS `<channel>`) element, itself resolved against the feed URL;
/// else the feed URL.
fn document_base(text: &str, feed_url: &Url) -> Url {
    static ROOT_BASE: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r#"<(?:feed|rss|channel|rdf:RDF)\b[^>]*?\sxml:base\s*=\s*["']([^"']*)["']"#).expect("a valid regex")
    });
    let before_entries = text.split("<item").next().unwrap_or_default().split("<entry").next().unwrap_or_default();
    ROOT_BASE
        .captures(before_entries)
        .and_then(|captures| feed_url.join(captures[1].trim()).ok())
        .unwrap_or_else(|| feed_url.clone())
}

/// Text that may be HTML, as plain text.
fn plain(text: &Text) -> String {
    if text.content_type.to_string().contains("html") || text.content.contains('<') {
        let fragment = Html::parse_fragment(&text.content);
        element_text(fragment.root_element())
    } else {
        clean_text(&text.content)
    }
}

/// The entry's web page: its `alternate` (or rel-less) link, made absolute.
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
